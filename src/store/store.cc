// The SOCI store: one schema, one set of statements for SQLite and PostgreSQL. soci_error never leaves this file:
// it becomes StoreUnavailable (the database failed) or, at Open, an Error.
#include "aftercare/store.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "aftercare/text.h"

namespace aftercare {
namespace {

// Each migration: statements applied in one transaction, then recorded in schema_migrations. Portable SQL only:
// BIGINT ids chosen by the application, times as Unix seconds, no backend-specific types.
struct Migration {
  int version;
  std::vector<const char*> statements;
};

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       {
           "CREATE TABLE protocol_text (protocol_id VARCHAR(100) NOT NULL, version VARCHAR(100) NOT NULL, "
           "body TEXT NOT NULL, kept_at BIGINT NOT NULL, PRIMARY KEY (protocol_id, version))",
           "CREATE TABLE clinic (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE TABLE staff (id BIGINT PRIMARY KEY, clinic_id BIGINT NOT NULL REFERENCES clinic(id), "
           "login VARCHAR(100) NOT NULL UNIQUE, password_hash VARCHAR(255) NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE TABLE api_token (token_hash CHAR(64) PRIMARY KEY, staff_id BIGINT NOT NULL REFERENCES staff(id), "
           "created_at BIGINT NOT NULL, revoked_at BIGINT)",
           "CREATE TABLE patient (id BIGINT PRIMARY KEY, clinic_id BIGINT NOT NULL REFERENCES clinic(id), "
           "reference VARCHAR(100) NOT NULL, display_name VARCHAR(200), contact VARCHAR(320), "
           "created_at BIGINT NOT NULL, UNIQUE (clinic_id, reference))",
           "CREATE TABLE procedure_record (id BIGINT PRIMARY KEY, clinic_id BIGINT NOT NULL REFERENCES clinic(id), "
           "patient_id BIGINT NOT NULL REFERENCES patient(id), ended_at BIGINT NOT NULL, zone VARCHAR(64) NOT NULL, "
           "areas VARCHAR(1000) NOT NULL, protocol_id VARCHAR(100) NOT NULL, protocol_version VARCHAR(100) NOT NULL, "
           "active_until BIGINT NOT NULL, follows_id BIGINT REFERENCES procedure_record(id), "
           "series_number INTEGER NOT NULL, patient_token_hash CHAR(64) NOT NULL UNIQUE, "
           "created_by BIGINT NOT NULL REFERENCES staff(id), created_at BIGINT NOT NULL)",
           "CREATE INDEX procedure_by_clinic ON procedure_record (clinic_id, ended_at)",
           "CREATE INDEX procedure_by_follows ON procedure_record (follows_id)",
           "CREATE TABLE symptom_report (id BIGINT PRIMARY KEY, "
           "procedure_id BIGINT NOT NULL REFERENCES procedure_record(id), reported_at BIGINT NOT NULL, "
           "words TEXT NOT NULL, assessment VARCHAR(40) NOT NULL, answer_json TEXT NOT NULL)",
           "CREATE INDEX symptom_by_procedure ON symptom_report (procedure_id, reported_at)",
           "CREATE TABLE audit_log (id BIGINT PRIMARY KEY, clinic_id BIGINT NOT NULL, at BIGINT NOT NULL, "
           "actor VARCHAR(100) NOT NULL, action VARCHAR(100) NOT NULL, object VARCHAR(100) NOT NULL)",
           "CREATE INDEX audit_by_clinic ON audit_log (clinic_id, at)",
       }},
      // The notify outbox (src/notify): one row per reminder and channel, written with its procedure; the
      // dispatcher claims due rows with a lease, sends them and records the outcome.
      {2,
       {
           "CREATE TABLE notify_outbox (id BIGINT PRIMARY KEY, event_id VARCHAR(200) NOT NULL, "
           "channel VARCHAR(20) NOT NULL, clinic_id BIGINT NOT NULL REFERENCES clinic(id), "
           "procedure_id BIGINT NOT NULL REFERENCES procedure_record(id), patient_id BIGINT NOT NULL, "
           "kind VARCHAR(100) NOT NULL, due_at BIGINT NOT NULL, recipient VARCHAR(320) NOT NULL, "
           "subject VARCHAR(500) NOT NULL, body TEXT NOT NULL, payload TEXT NOT NULL, "
           "unsubscribe_url VARCHAR(1000) NOT NULL, state VARCHAR(20) NOT NULL, attempts BIGINT NOT NULL, "
           "next_attempt_at BIGINT NOT NULL, lease_owner VARCHAR(100), claim VARCHAR(100), lease_until BIGINT, "
           "last_error VARCHAR(1000) NOT NULL, sent_at BIGINT, created_at BIGINT NOT NULL, "
           "UNIQUE (event_id, channel))",
           "CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at)",
           "CREATE INDEX notify_outbox_by_procedure ON notify_outbox (procedure_id)",
           "CREATE INDEX notify_outbox_by_claim ON notify_outbox (claim)",
           "CREATE TABLE notify_unsubscribe (token_hash CHAR(64) PRIMARY KEY, "
           "patient_id BIGINT NOT NULL REFERENCES patient(id), created_at BIGINT NOT NULL)",
           "CREATE TABLE notify_optout (patient_id BIGINT PRIMARY KEY REFERENCES patient(id), at BIGINT NOT NULL)",
       }},
      // A dispatcher's start (RecoverLeases: WHERE lease_owner = ...) without a full pass over the pending rows;
      // partial, so it holds only the rows leased at the moment (bench/scale_bench.cc, docs/performance.md).
      {3,
       {
           "CREATE INDEX notify_outbox_by_lease ON notify_outbox (lease_owner, state) WHERE lease_owner IS NOT NULL",
       }},
  };
  return kMigrations;
}

constexpr long long kMigrationLock = 0x61667465;  // PostgreSQL advisory lock held while migrating ("afte")
constexpr int kPasswordBytes = 15;                 // 120 bits, 20 characters

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::string Base64Url(const unsigned char* bytes, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string RandomText(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return Base64Url(raw.data(), raw.size());
}

// Random positive ids below 2^53, so JavaScript clients read them exactly; they reveal neither order nor count.
long long NewId() {
  std::uint64_t raw = 0;
  randombytes_buf(&raw, sizeof raw);
  return static_cast<long long>((raw & ((std::uint64_t{1} << 53) - 1)) | 1);
}

long long Seconds(Instant t) { return static_cast<long long>(t.time_since_epoch().count()); }
Instant FromSeconds(long long s) { return Instant(std::chrono::seconds(s)); }

std::string JoinAreas(const std::vector<std::string>& areas) {
  std::string out;
  for (const auto& a : areas) {
    if (!out.empty()) out += ',';
    out += a;
  }
  return out;
}

std::string Slug(std::string_view name) {
  std::string slug;
  for (char c : NormalizeWords(name)) {
    if (slug.size() >= 40) break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      slug += c;
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug.empty() ? "clinic" : slug;
}

// Sessions handed out one at a time: a writer set for everything that changes data, and a reader set for
// single-statement reads. SQLite gets one writer (writes serialise anyway) and several readers (WAL lets them read
// while the writer writes); PostgreSQL one set of several sessions that serves both.
class SessionPool {
 public:
  class Set {
   public:
    explicit Set(std::vector<std::unique_ptr<soci::session>> sessions) : sessions_(std::move(sessions)) {
      for (auto& s : sessions_) free_.push_back(s.get());
    }
    bool empty() const { return sessions_.empty(); }

    soci::session* Take() {
      std::unique_lock lock(mutex_);
      available_.wait(lock, [this] { return !free_.empty(); });
      soci::session* s = free_.back();
      free_.pop_back();
      return s;
    }
    void Give(soci::session* s) {
      {
        std::lock_guard lock(mutex_);
        free_.push_back(s);
      }
      available_.notify_one();
    }

   private:
    std::vector<std::unique_ptr<soci::session>> sessions_;
    std::vector<soci::session*> free_;
    std::mutex mutex_;
    std::condition_variable available_;
  };

  class Lease {
   public:
    Lease(Set* set, soci::session* session) : set_(set), session_(session) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { set_->Give(session_); }
    soci::session& operator*() { return *session_; }
    soci::session* operator->() { return session_; }

   private:
    Set* set_;
    soci::session* session_;
  };

  explicit SessionPool(std::vector<std::unique_ptr<soci::session>> writers) : writers_(std::move(writers)) {}

  // Adds sessions that serve AcquireRead (SQLite's extra connections, opened once the schema is in place).
  void AddReaders(std::vector<std::unique_ptr<soci::session>> readers) {
    readers_ = std::make_unique<Set>(std::move(readers));
  }

  Lease Acquire() { return Ready(&writers_); }
  // A session for reads that need no transaction; the writer set when there are no readers.
  Lease AcquireRead() { return Ready(readers_ && !readers_->empty() ? readers_.get() : &writers_); }

 private:
  // A connection the server dropped (PostgreSQL restarted, failed over) is opened again before it is used; if
  // that fails, the statement fails and the caller sees StoreUnavailable (503) until the database is back.
  static Lease Ready(Set* set) {
    soci::session* s = set->Take();
    if (!s->is_connected()) {
      try {
        s->reconnect();
      } catch (const soci::soci_error&) {
      }
    }
    return Lease(set, s);
  }

  Set writers_;
  std::unique_ptr<Set> readers_;
};

struct Target {
  std::string backend;  // "sqlite3" or "postgresql"
  std::string connect;  // SOCI connect string
  std::string path;     // SQLite file
};

Result<Target> ParseUrl(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0 || url.rfind("sqlite3:", 0) == 0) {
    std::string path = url.substr(url.find(':') + 1);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
    if (path.empty()) return MakeError("the database 'sqlite:' needs a file path, e.g. sqlite:var/aftercare.db");
    if (path.find_first_of(" \"'") != std::string::npos) {
      return MakeError("the SQLite path '" + path + "' must not contain spaces or quotes");
    }
    return Target{"sqlite3", "db=" + path + " timeout=10", path};
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return Target{"postgresql", url, ""};
  }
  if (url.rfind("postgresql:", 0) == 0) return Target{"postgresql", url.substr(11), ""};
  return MakeError("unknown database '" + url +
                   "': write sqlite:PATH or postgresql://USER@HOST/DBNAME (or postgresql:<libpq options>)");
}

// The reason of a SOCI error without the connect string (which may hold a password).
std::string Reason(const soci::soci_error& e) {
  std::string message = e.get_error_message();
  if (message.empty()) message = e.what();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

// One row of procedure_record with its patient, bound to a SOCI statement; Record() converts it.
struct ProcedureRow {
  static constexpr const char* kSelect =
      "SELECT p.id, p.clinic_id, p.patient_id, pa.reference, pa.display_name, pa.contact, p.ended_at, p.zone, "
      "p.areas, p.protocol_id, p.protocol_version, p.active_until, p.follows_id, p.series_number, p.created_at, "
      "CASE WHEN EXISTS (SELECT 1 FROM notify_optout o WHERE o.patient_id = p.patient_id) THEN 1 ELSE 0 END "
      "FROM procedure_record p JOIN patient pa ON pa.id = p.patient_id WHERE ";

  long long id = 0, clinic_id = 0, patient_id = 0, ended = 0, active_until = 0, follows = 0, created = 0;
  int series_number = 1;
  int opted_out = 0;
  std::string reference, display_name, contact, zone, areas, protocol_id, protocol_version;
  soci::indicator name_ind = soci::i_null, contact_ind = soci::i_null, follows_ind = soci::i_null;

  // Binds the columns of kSelect, in order, to this row's members (which must outlive the statement's runs).
  void Bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(clinic_id));
    st.exchange(soci::into(patient_id));
    st.exchange(soci::into(reference));
    st.exchange(soci::into(display_name, name_ind));
    st.exchange(soci::into(contact, contact_ind));
    st.exchange(soci::into(ended));
    st.exchange(soci::into(zone));
    st.exchange(soci::into(areas));
    st.exchange(soci::into(protocol_id));
    st.exchange(soci::into(protocol_version));
    st.exchange(soci::into(active_until));
    st.exchange(soci::into(follows, follows_ind));
    st.exchange(soci::into(series_number));
    st.exchange(soci::into(created));
    st.exchange(soci::into(opted_out));
  }

  ProcedureRecord Record() const {
    ProcedureRecord r;
    r.id = id;
    r.clinic_id = clinic_id;
    r.patient_id = patient_id;
    r.reference = reference;
    if (name_ind == soci::i_ok) r.display_name = display_name;
    if (contact_ind == soci::i_ok) r.contact = contact;
    r.end = FromSeconds(ended);
    r.zone = zone;
    r.areas = SplitList(areas);
    r.protocol_id = protocol_id;
    r.protocol_version = protocol_version;
    r.active_until = FromSeconds(active_until);
    if (follows_ind == soci::i_ok) r.follows = follows;
    r.series_number = series_number;
    r.created_at = FromSeconds(created);
    r.reminders_stopped = opted_out != 0;
    return r;
  }
};

class SociStore final : public Store {
 public:
  SociStore(Target target, std::unique_ptr<SessionPool> pool) : target_(std::move(target)), pool_(std::move(pool)) {}

  std::string backend() const override { return target_.backend; }

  void Migrate() {
    auto sql = pool_->Acquire();
    bool pg = target_.backend == "postgresql";
    if (pg) {
      *sql << "SELECT pg_advisory_lock(" << kMigrationLock << ")";
    }
    try {
      *sql << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";
      for (const auto& migration : Migrations()) {
        soci::transaction tx(*sql);
        int applied = 0;
        *sql << "SELECT COUNT(*) FROM schema_migrations WHERE version = :v", soci::use(migration.version),
            soci::into(applied);
        if (applied > 0) continue;
        for (const char* statement : migration.statements) *sql << statement;
        long long now = Seconds(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
        *sql << "INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :t)", soci::use(migration.version),
            soci::use(now);
        tx.commit();
      }
    } catch (...) {
      if (pg) *sql << "SELECT pg_advisory_unlock(" << kMigrationLock << ")";
      throw;
    }
    if (pg) *sql << "SELECT pg_advisory_unlock(" << kMigrationLock << ")";
  }

  int SchemaVersion() override {
    return Guard([&] {
      auto sql = pool_->AcquireRead();
      int version = 0;
      soci::indicator ind = soci::i_ok;
      *sql << "SELECT MAX(version) FROM schema_migrations", soci::into(version, ind);
      return ind == soci::i_null ? 0 : version;
    });
  }

  std::string KeepProtocol(const std::string& id, const std::string& version, const std::string& text) override {
    return Guard([&] {
      auto sql = pool_->Acquire();
      soci::transaction tx(*sql);
      std::string existing;
      soci::indicator ind = soci::i_null;
      *sql << "SELECT body FROM protocol_text WHERE protocol_id = :i AND version = :v", soci::use(id),
          soci::use(version), soci::into(existing, ind);
      if (sql->got_data() && ind == soci::i_ok) {
        tx.commit();
        return existing;
      }
      long long now = NowSeconds();
      *sql << "INSERT INTO protocol_text (protocol_id, version, body, kept_at) VALUES (:i, :v, :b, :t)",
          soci::use(id), soci::use(version), soci::use(text), soci::use(now);
      tx.commit();
      return text;
    });
  }

  std::optional<std::string> ProtocolText(const std::string& id, const std::string& version) override {
    return Guard([&]() -> std::optional<std::string> {
      auto sql = pool_->AcquireRead();
      std::string body;
      soci::indicator ind = soci::i_null;
      *sql << "SELECT body FROM protocol_text WHERE protocol_id = :i AND version = :v", soci::use(id),
          soci::use(version), soci::into(body, ind);
      if (!sql->got_data() || ind != soci::i_ok) return std::nullopt;
      return body;
    });
  }

  Result<ClinicCredentials> CreateClinic(const std::string& name, Instant now) override {
    std::string trimmed = name;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.erase(0, 1);
    if (trimmed.empty()) return MakeError("the clinic name is empty");
    if (trimmed.size() > 200) return MakeError("the clinic name is longer than 200 characters");
    ClinicCredentials out;
    out.clinic_name = trimmed;
    out.password = RandomText(kPasswordBytes);
    out.api_token = NewToken();
    std::string password_hash = HashPassword(out.password);
    return Guard([&]() -> Result<ClinicCredentials> {
      auto sql = pool_->Acquire();
      soci::transaction tx(*sql);
      long long clinic_id = NewId();
      long long staff_id = NewId();
      long long t = Seconds(now);
      std::string login = Slug(trimmed) + "-admin";
      int taken = 0;
      *sql << "SELECT COUNT(*) FROM staff WHERE login = :l", soci::use(login), soci::into(taken);
      if (taken > 0) login += "-" + RandomText(3);
      std::string token_hash = HashToken(out.api_token);
      *sql << "INSERT INTO clinic (id, name, created_at) VALUES (:i, :n, :t)", soci::use(clinic_id),
          soci::use(trimmed), soci::use(t);
      *sql << "INSERT INTO staff (id, clinic_id, login, password_hash, created_at) VALUES (:i, :c, :l, :p, :t)",
          soci::use(staff_id), soci::use(clinic_id), soci::use(login), soci::use(password_hash), soci::use(t);
      *sql << "INSERT INTO api_token (token_hash, staff_id, created_at) VALUES (:h, :s, :t)", soci::use(token_hash),
          soci::use(staff_id), soci::use(t);
      InsertAudit(*sql, AuditEntry{clinic_id, "admin", "clinic.create", "clinic:" + std::to_string(clinic_id), now});
      tx.commit();
      out.clinic_id = clinic_id;
      out.login = login;
      return out;
    });
  }

  std::optional<StaffIdentity> AuthenticateApiToken(std::string_view token) override {
    if (token.empty() || token.size() > 200) return std::nullopt;
    std::string hash = HashToken(token);
    return Guard([&]() -> std::optional<StaffIdentity> {
      auto sql = pool_->AcquireRead();
      std::string stored;
      long long staff_id = 0, clinic_id = 0;
      std::string login;
      *sql << "SELECT t.token_hash, s.id, s.clinic_id, s.login FROM api_token t JOIN staff s ON s.id = t.staff_id "
              "WHERE t.token_hash = :h AND t.revoked_at IS NULL",
          soci::use(hash), soci::into(stored), soci::into(staff_id), soci::into(clinic_id), soci::into(login);
      if (!sql->got_data() || !SameHash(stored, hash)) return std::nullopt;
      return StaffIdentity{staff_id, clinic_id, login};
    });
  }

  Result<std::string> Login(const std::string& login, const std::string& password, Instant now) override {
    const Error wrong = MakeError("wrong login or password");
    if (login.empty() || login.size() > 100 || password.empty() || password.size() > 1000) return wrong;
    std::optional<std::pair<long long, std::string>> staff = Guard([&]() {
      auto sql = pool_->Acquire();
      long long staff_id = 0;
      std::string hash;
      *sql << "SELECT id, password_hash FROM staff WHERE login = :l", soci::use(login), soci::into(staff_id),
          soci::into(hash);
      return sql->got_data() ? std::optional(std::pair(staff_id, hash)) : std::nullopt;
    });
    if (!staff) {
      // Spend the same work as a real check so the response time does not tell which logins exist.
      HashPassword(password);
      return wrong;
    }
    if (crypto_pwhash_str_verify(staff->second.c_str(), password.c_str(), password.size()) != 0) return wrong;
    std::string token = NewToken();
    Guard([&] {
      auto sql = pool_->Acquire();
      soci::transaction tx(*sql);
      std::string hash = HashToken(token);
      long long t = Seconds(now);
      long long clinic_id = 0;
      *sql << "SELECT clinic_id FROM staff WHERE id = :s", soci::use(staff->first), soci::into(clinic_id);
      *sql << "INSERT INTO api_token (token_hash, staff_id, created_at) VALUES (:h, :s, :t)", soci::use(hash),
          soci::use(staff->first), soci::use(t);
      InsertAudit(*sql, AuditEntry{clinic_id, "staff:" + std::to_string(staff->first), "staff.login", "", now});
      tx.commit();
      return 0;
    });
    return token;
  }

  Result<RegisteredProcedure> RegisterProcedure(Id clinic_id, Id staff_id, const NewProcedure& p, Instant now,
                                                const RegistrationWork& also) override {
    return Guard([&]() -> Result<RegisteredProcedure> {
      auto sql = pool_->Acquire();
      soci::transaction tx(*sql);
      long long clinic = clinic_id;
      long long staff = staff_id;
      long long t = Seconds(now);
      int series_number = 1;
      long long follows = 0;
      soci::indicator follows_ind = soci::i_null;
      long long patient_id = 0;
      if (p.follows) {
        follows = *p.follows;
        follows_ind = soci::i_ok;
        long long earlier_patient = 0;
        int earlier_number = 0;
        *sql << "SELECT patient_id, series_number FROM procedure_record WHERE id = :i AND clinic_id = :c",
            soci::use(follows), soci::use(clinic), soci::into(earlier_patient), soci::into(earlier_number);
        if (!sql->got_data()) return MakeError("the procedure this one follows is not one of this clinic's");
        patient_id = earlier_patient;
        series_number = earlier_number + 1;
        if (p.display_name || p.contact) UpdatePatient(*sql, patient_id, p);
      } else {
        *sql << "SELECT id FROM patient WHERE clinic_id = :c AND reference = :r", soci::use(clinic),
            soci::use(p.reference), soci::into(patient_id);
        if (sql->got_data()) {
          if (p.display_name || p.contact) UpdatePatient(*sql, patient_id, p);
        } else {
          patient_id = NewId();
          std::string display_name = p.display_name.value_or("");
          std::string contact = p.contact.value_or("");
          soci::indicator name_ind = p.display_name ? soci::i_ok : soci::i_null;
          soci::indicator contact_ind = p.contact ? soci::i_ok : soci::i_null;
          *sql << "INSERT INTO patient (id, clinic_id, reference, display_name, contact, created_at) "
                  "VALUES (:i, :c, :r, :n, :k, :t)",
              soci::use(patient_id), soci::use(clinic), soci::use(p.reference), soci::use(display_name, name_ind),
              soci::use(contact, contact_ind), soci::use(t);
        }
      }
      RegisteredProcedure out;
      out.patient_token = NewToken();
      std::string token_hash = HashToken(out.patient_token);
      long long id = NewId();
      long long ended = Seconds(p.end);
      long long active_until = Seconds(p.active_until);
      std::string areas = JoinAreas(p.areas);
      *sql << "INSERT INTO procedure_record (id, clinic_id, patient_id, ended_at, zone, areas, protocol_id, "
              "protocol_version, active_until, follows_id, series_number, patient_token_hash, created_by, created_at) "
              "VALUES (:i, :c, :p, :e, :z, :a, :pi, :pv, :u, :f, :n, :h, :s, :t)",
          soci::use(id), soci::use(clinic), soci::use(patient_id), soci::use(ended), soci::use(p.zone),
          soci::use(areas), soci::use(p.protocol_id), soci::use(p.protocol_version), soci::use(active_until),
          soci::use(follows, follows_ind), soci::use(series_number), soci::use(token_hash), soci::use(staff),
          soci::use(t);
      InsertAudit(*sql, AuditEntry{clinic_id, "staff:" + std::to_string(staff_id),
                                   p.follows ? "procedure.follow_up" : "procedure.register",
                                   "procedure:" + std::to_string(id), now});
      auto record = SelectProcedure(*sql, "p.id = :k1 AND p.clinic_id = :k2", id, clinic);
      if (also) also(*sql, *record);
      tx.commit();
      out.procedure = std::move(*record);
      return out;
    });
  }

  std::optional<ProcedureRecord> FindProcedure(Id clinic_id, Id procedure_id) override {
    return Guard([&] {
      auto sql = pool_->AcquireRead();
      return SelectProcedure(*sql, "p.id = :k1 AND p.clinic_id = :k2", procedure_id, clinic_id);
    });
  }

  std::optional<ProcedureRecord> FindProcedureByPatientToken(std::string_view token) override {
    if (token.empty() || token.size() > 200) return std::nullopt;
    std::string hash = HashToken(token);
    return Guard([&]() -> std::optional<ProcedureRecord> {
      auto sql = pool_->AcquireRead();
      return LookUpToken(*sql, hash);
    });
  }

  ProcedurePage ListProcedures(Id clinic_id, ProcedureFilter filter, Instant now, int limit,
                               std::int64_t offset) override {
    return Guard([&] {
      auto sql = pool_->AcquireRead();
      std::string where = "p.clinic_id = :c";
      if (filter == ProcedureFilter::kActive) where += " AND p.active_until > :n";
      if (filter == ProcedureFilter::kFinished) where += " AND p.active_until <= :n";
      long long clinic = clinic_id;
      long long t = Seconds(now);
      ProcedurePage page;
      long long total = 0;
      {
        std::string q = "SELECT COUNT(*) FROM procedure_record p WHERE " + where;
        if (filter == ProcedureFilter::kAll) {
          *sql << q, soci::use(clinic), soci::into(total);
        } else {
          *sql << q, soci::use(clinic), soci::use(t), soci::into(total);
        }
      }
      page.total = total;
      std::vector<long long> ids;
      long long id = 0;
      long long lim = std::clamp(limit, 1, 100);
      long long off = std::max<std::int64_t>(offset, 0);
      std::string q = "SELECT p.id FROM procedure_record p WHERE " + where +
                      " ORDER BY p.ended_at DESC, p.id DESC LIMIT :l OFFSET :o";
      soci::statement st = filter == ProcedureFilter::kAll
                               ? (sql->prepare << q, soci::use(clinic), soci::use(lim), soci::use(off), soci::into(id))
                               : (sql->prepare << q, soci::use(clinic), soci::use(t), soci::use(lim),
                                  soci::use(off), soci::into(id));
      st.execute();
      while (st.fetch()) ids.push_back(id);
      for (long long each : ids) {
        if (auto record = SelectProcedure(*sql, "p.id = :k1 AND p.clinic_id = :k2", each, clinic)) {
          page.items.push_back(std::move(*record));
        }
      }
      return page;
    });
  }

  ProcedureRecord LatestInSeries(const ProcedureRecord& procedure) override {
    return Guard([&] {
      auto sql = pool_->AcquireRead();
      ProcedureRecord latest = procedure;
      for (int i = 0; i < 1000; ++i) {
        long long next = 0;
        long long current = latest.id;
        *sql << "SELECT id FROM procedure_record WHERE follows_id = :i ORDER BY ended_at DESC, id DESC LIMIT 1",
            soci::use(current), soci::into(next);
        if (!sql->got_data()) break;
        auto record = SelectProcedure(*sql, "p.id = :k1 AND p.clinic_id = :k2", next, latest.clinic_id);
        if (!record) break;
        latest = std::move(*record);
      }
      return latest;
    });
  }

  void AddSymptomReport(const SymptomReport& r) override {
    Guard([&] {
      auto sql = pool_->Acquire();
      soci::transaction tx(*sql);
      long long id = NewId();
      long long procedure_id = r.procedure_id;
      long long at = Seconds(r.reported_at);
      *sql << "INSERT INTO symptom_report (id, procedure_id, reported_at, words, assessment, answer_json) "
              "VALUES (:i, :p, :t, :w, :a, :j)",
          soci::use(id), soci::use(procedure_id), soci::use(at), soci::use(r.words), soci::use(r.assessment),
          soci::use(r.answer_json);
      long long clinic_id = 0;
      *sql << "SELECT clinic_id FROM procedure_record WHERE id = :p", soci::use(procedure_id), soci::into(clinic_id);
      InsertAudit(*sql, AuditEntry{clinic_id, "patient:" + std::to_string(procedure_id), "symptom.report",
                                   "procedure:" + std::to_string(procedure_id), r.reported_at});
      tx.commit();
      return 0;
    });
  }

  std::vector<SymptomReport> SymptomReports(Id procedure_id) override {
    return Guard([&] {
      auto sql = pool_->AcquireRead();
      std::vector<SymptomReport> out;
      long long pid = procedure_id;
      long long at = 0;
      std::string words, assessment, answer;
      soci::statement st = (sql->prepare << "SELECT reported_at, words, assessment, answer_json FROM symptom_report "
                                            "WHERE procedure_id = :p ORDER BY reported_at, id",
                            soci::use(pid), soci::into(at), soci::into(words), soci::into(assessment),
                            soci::into(answer));
      st.execute();
      while (st.fetch()) out.push_back(SymptomReport{procedure_id, FromSeconds(at), words, assessment, answer});
      return out;
    });
  }

  void Transact(const StoreWork& work) override {
    Guard([&] {
      auto sql = pool_->Acquire();
      soci::transaction tx(*sql);
      work(*sql);
      tx.commit();
      return 0;
    });
  }

  void Read(const StoreWork& work) override {
    Guard([&] {
      auto sql = pool_->AcquireRead();
      work(*sql);
      return 0;
    });
  }

  void Audit(const AuditEntry& entry) override {
    Guard([&] {
      auto sql = pool_->Acquire();
      InsertAudit(*sql, entry);
      return 0;
    });
  }

  std::vector<AuditEntry> AuditLog(Id clinic_id, int limit) override {
    return Guard([&] {
      auto sql = pool_->AcquireRead();
      std::vector<AuditEntry> out;
      long long clinic = clinic_id;
      long long lim = std::clamp(limit, 1, 1000);
      long long at = 0;
      std::string actor, action, object;
      soci::statement st = (sql->prepare << "SELECT at, actor, action, object FROM audit_log WHERE clinic_id = :c "
                                            "ORDER BY at DESC, id DESC LIMIT :l",
                            soci::use(clinic), soci::use(lim), soci::into(at), soci::into(actor), soci::into(action),
                            soci::into(object));
      st.execute();
      while (st.fetch()) out.push_back(AuditEntry{clinic_id, actor, action, object, FromSeconds(at)});
      return out;
    });
  }

 private:
  template <typename F>
  auto Guard(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const soci::soci_error& e) {
      throw StoreUnavailable(target_.backend + ": " + Reason(e));
    }
  }

  static long long NowSeconds() {
    return Seconds(std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  }

  static bool SameHash(const std::string& a, const std::string& b) {
    return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
  }

  static std::string HashPassword(const std::string& password) {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
      throw StoreUnavailable("out of memory hashing a password");
    }
    return out;
  }

  static void UpdatePatient(soci::session& sql, long long patient_id, const NewProcedure& p) {
    if (p.display_name) {
      sql << "UPDATE patient SET display_name = :n WHERE id = :i", soci::use(*p.display_name), soci::use(patient_id);
    }
    if (p.contact) {
      sql << "UPDATE patient SET contact = :k WHERE id = :i", soci::use(*p.contact), soci::use(patient_id);
    }
  }

  static void InsertAudit(soci::session& sql, const AuditEntry& e) {
    long long id = NewId();
    long long clinic = e.clinic_id;
    long long at = Seconds(e.at);
    sql << "INSERT INTO audit_log (id, clinic_id, at, actor, action, object) VALUES (:i, :c, :t, :a, :x, :o)",
        soci::use(id), soci::use(clinic), soci::use(at), soci::use(e.actor), soci::use(e.action),
        soci::use(e.object);
  }

  // One procedure with its patient; `where` binds :k1 and :k2.
  template <typename Key1, typename Key2>
  static std::optional<ProcedureRecord> SelectProcedure(soci::session& sql, const std::string& where, const Key1& k1,
                                                        const Key2& k2) {
    ProcedureRow row;
    soci::statement st(sql);
    st.alloc();
    st.exchange(soci::use(k1));
    st.exchange(soci::use(k2));
    row.Bind(st);
    st.prepare(std::string(ProcedureRow::kSelect) + where);
    st.define_and_bind();
    if (!st.execute(true)) return std::nullopt;
    return row.Record();
  }

  // The patient link's lookup, on every patient request. On SQLite it is prepared once per session and kept, since
  // preparing it costs more than running it (SQLite connections are never reopened under it). PostgreSQL
  // sessions are reopened after a lost connection, which would leave a kept statement dangling: there it is
  // prepared each time.
  struct TokenLookup {
    explicit TokenLookup(soci::session& sql) : st(sql) {
      st.alloc();
      st.exchange(soci::use(hash));
      row.Bind(st);
      st.prepare(std::string(ProcedureRow::kSelect) + "p.patient_token_hash = :h");
      st.define_and_bind();
    }
    std::string hash;
    ProcedureRow row;
    soci::statement st;
  };

  std::optional<ProcedureRecord> LookUpToken(soci::session& sql, const std::string& hash) {
    if (target_.backend != "sqlite3") {
      return SelectProcedure(sql, "p.patient_token_hash = :k1 AND p.patient_token_hash = :k2", hash, hash);
    }
    TokenLookup* lookup = nullptr;
    {
      std::lock_guard lock(token_lookups_mutex_);
      auto& slot = token_lookups_[&sql];
      if (!slot) slot = std::make_unique<TokenLookup>(sql);
      lookup = slot.get();
    }
    lookup->hash = hash;
    lookup->row = ProcedureRow{};
    bool found = lookup->st.execute(true);
    // An SQLite statement left unfinished holds its read snapshot: later reads on this connection would not see
    // newer commits.
    sqlite_api::sqlite3_reset(static_cast<soci::sqlite3_statement_backend*>(lookup->st.get_backend())->stmt_);
    if (!found) return std::nullopt;
    return lookup->row.Record();
  }

  Target target_;
  std::unique_ptr<SessionPool> pool_;
  std::mutex token_lookups_mutex_;
  std::map<soci::session*, std::unique_ptr<TokenLookup>> token_lookups_;
};

}  // namespace

int LatestSchemaVersion() { return Migrations().back().version; }

std::string NewToken() {
  SodiumReady();
  return RandomText(32);
}

std::string HashToken(std::string_view token) {
  SodiumReady();
  unsigned char hash[32];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr,
                     0);
  char hex[sizeof hash * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return hex;
}

// Enough readers for the server's default worker threads to read at once.
constexpr int kSqliteReaders = 4;

Result<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  if (!SodiumReady()) return MakeError("libsodium could not be initialised");
  auto target = ParseUrl(url);
  if (!target) return target.error();
  std::vector<std::unique_ptr<soci::session>> sessions;
  try {
    if (target->backend == "sqlite3") {
      std::filesystem::path parent = std::filesystem::path(target->path).parent_path();
      std::error_code ec;
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) return MakeError("cannot create the database directory '" + parent.string() + "': " + ec.message());
      auto session = std::make_unique<soci::session>(soci::sqlite3, target->connect);
      *session << "PRAGMA foreign_keys = ON";
      *session << "PRAGMA journal_mode = WAL";
      *session << "PRAGMA synchronous = NORMAL";
      sessions.push_back(std::move(session));
    } else {
      for (int i = 0; i < 4; ++i) {
        auto session = std::make_unique<soci::session>(soci::postgresql, target->connect);
        *session << "SET client_min_messages = WARNING";  // no NOTICE lines from libpq in the JSON log
        sessions.push_back(std::move(session));
      }
    }
    auto pool = std::make_unique<SessionPool>(std::move(sessions));
    SessionPool* sessions_of_store = pool.get();
    auto store = std::make_unique<SociStore>(*target, std::move(pool));
    store->Migrate();
    // An in-memory SQLite database exists only on the writer's connection; a file has readers beside it.
    bool in_memory = target->path == ":memory:" || target->path.rfind("file::memory:", 0) == 0 ||
                     target->path.find("mode=memory") != std::string::npos;
    if (target->backend == "sqlite3" && !in_memory) {
      std::vector<std::unique_ptr<soci::session>> readers;
      for (int i = 0; i < kSqliteReaders; ++i) {
        auto reader = std::make_unique<soci::session>(soci::sqlite3, target->connect);
        *reader << "PRAGMA query_only = ON";
        readers.push_back(std::move(reader));
      }
      sessions_of_store->AddReaders(std::move(readers));
    }
    return std::unique_ptr<Store>(std::move(store));
  } catch (const soci::soci_error& e) {
    return MakeError("cannot open the " + target->backend + " database: " + Reason(e));
  } catch (const std::exception& e) {
    return MakeError("cannot open the " + target->backend + " database: " + e.what());
  }
}

}  // namespace aftercare
