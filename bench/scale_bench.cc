// Scale benchmark (issue #8, "Scale"): a store filled with N registered procedures, through the real Store API and
// with the reminders' outbox rows written as `aftercare serve` writes them. Measures, at each checkpoint size:
//   - registration throughput (Plan::Compile + Store::RegisterProcedure with notify's EnqueueReminders hook);
//   - status latency for random patient tokens (token lookup with the opt-out state, Plan::Compile, Status), as
//     the status endpoint does it minus the JSON;
//   - one dispatcher round (Dispatcher::RunOnce, batch 20, a channel that accepts at once) with a fixed number of
//     reminders due, and an idle poll (nothing due), with the query plan of the claim (must use an index);
// and, once, the heap taken by a compiled Plan (what a server caching plans would keep per procedure).
//
// Time is a parameter throughout: the dispatcher's clock is fixed at T0 = 2026-12-01T00:00Z. The table holds
//   - a "due set" (registered first, ending two days before T0): the only pending rows due at T0;
//   - past procedures (ended 30-365 days before T0, registered then) whose reminders up to T0 are marked sent, as a
//     dispatcher would have left them;
//   - future procedures (ending within a year after T0), all their reminders pending and not yet due.
//
// Usage: scale_bench --db URL [--n N] [--checkpoints 10000,100000,1000000] [--samples 10000] [--plans 10000]
//                    [--rounds 30] [--due-procedures 200] [--json FILE]
// The database must be new (no procedures). Exit: 0 done; 1 a check failed (e.g. the claim does not use an index);
// 2 bad arguments.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "aftercare/engine.h"
#include "aftercare/notify.h"
#include "aftercare/protocol.h"
#include "aftercare/store.h"

namespace aftercare {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

constexpr long kDay = 24 * 3600;

struct Options {
  std::string db;
  long n = 100000;
  std::vector<long> checkpoints = {10000, 100000, 1000000};
  int samples = 10000;
  int plans = 10000;
  int rounds = 30;
  int due_procedures = 200;
  long api_n = 10000;  // registered through the API before the table is grown by cloning
  long probe = 1000;   // registered through the API at each checkpoint, timed
  std::string json_path;
};

[[noreturn]] void Usage(const std::string& message) {
  std::cerr << "scale_bench: " << message
            << " (usage: scale_bench --db URL [--n N] [--api-n A] [--probe P] [--checkpoints A,B,...] "
               "[--samples S] [--plans P] [--rounds R] [--due-procedures D] [--json FILE])\n";
  std::exit(2);
}

long PositiveNumber(const std::string& flag, const std::string& text, long max) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > max) {
    Usage(flag + " '" + text + "': a whole number from 1 to " + std::to_string(max));
  }
  return value;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) Usage(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--db") {
      o.db = value;
    } else if (flag == "--n") {
      o.n = PositiveNumber(flag, value, 100'000'000);
    } else if (flag == "--checkpoints") {
      o.checkpoints.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        o.checkpoints.push_back(PositiveNumber(flag, item, 100'000'000));
      }
    } else if (flag == "--samples") {
      o.samples = static_cast<int>(PositiveNumber(flag, value, 1'000'000));
    } else if (flag == "--plans") {
      o.plans = static_cast<int>(PositiveNumber(flag, value, 1'000'000));
    } else if (flag == "--rounds") {
      o.rounds = static_cast<int>(PositiveNumber(flag, value, 100'000));
    } else if (flag == "--due-procedures") {
      o.due_procedures = static_cast<int>(PositiveNumber(flag, value, 100'000));
    } else if (flag == "--api-n") {
      o.api_n = PositiveNumber(flag, value, 100'000'000);
    } else if (flag == "--probe") {
      o.probe = PositiveNumber(flag, value, 1'000'000);
    } else if (flag == "--json") {
      o.json_path = value;
    } else {
      Usage("unknown option '" + flag + "'");
    }
  }
  if (o.db.empty()) Usage("--db is required, e.g. --db sqlite:/tmp/scale.db");
  if (o.n < o.due_procedures + o.probe + 1000) Usage("--n must be at least --due-procedures + --probe + 1000");
  // Checkpoints above N or too small to hold the due set and a probe are dropped; N itself is always one.
  std::vector<long> kept;
  for (long c : o.checkpoints) {
    if (c >= o.due_procedures + o.probe + 1000 && c < o.n) kept.push_back(c);
  }
  kept.push_back(o.n);
  std::sort(kept.begin(), kept.end());
  kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  o.checkpoints = kept;
  return o;
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Summary {
  double median = 0, p99 = 0, mean = 0;
};

Summary Summarise(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, static_cast<std::size_t>(v.size() * 0.99))];
  double total = 0;
  for (double x : v) total += x;
  s.mean = total / static_cast<double>(v.size());
  return s;
}

std::string Fixed(double x, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

// A small JSON writer for flat records; the values here are numbers and plain strings only.
class JsonRecord {
 public:
  JsonRecord& Add(const std::string& key, double value) {
    Key(key);
    text_ += Fixed(value, 3);
    return *this;
  }
  JsonRecord& Add(const std::string& key, long value) {
    Key(key);
    text_ += std::to_string(value);
    return *this;
  }
  JsonRecord& Add(const std::string& key, const std::string& value) {
    Key(key);
    text_ += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') text_ += '\\';
      if (c == '\n') {
        text_ += "\\n";
        continue;
      }
      text_ += c;
    }
    text_ += '"';
    return *this;
  }
  std::string Text() const { return "{" + text_ + "}"; }

 private:
  void Key(const std::string& key) {
    if (!text_.empty()) text_ += ", ";
    text_ += "\"" + key + "\": ";
  }
  std::string text_;
};

// The zones and treated areas procedures are drawn from.
const std::vector<std::string>& ZoneNames() {
  static const std::vector<std::string> kZones = {"America/New_York", "America/Los_Angeles", "Europe/London",
                                                  "Europe/Berlin",    "Australia/Sydney",    "Asia/Tokyo"};
  return kZones;
}

std::vector<std::string> RandomAreas(std::mt19937_64& rng) {
  static const std::vector<std::string> kOptional = {"periorbital", "neck", "decolletage", "hands", "body"};
  std::vector<std::string> areas = {"face"};
  for (const auto& a : kOptional) {
    if (rng() % 4 == 0) areas.push_back(a);
  }
  return areas;
}

Instant ActiveUntil(const Plan& plan) {
  auto milestones = plan.Milestones();
  return milestones.empty() ? plan.procedure().end : milestones.back().at;
}

// A channel that accepts every entry at once and remembers which rows it was given.
class AcceptingChannel final : public Channel {
 public:
  explicit AcceptingChannel(std::vector<long long>* sent) : sent_(sent) {}
  std::string name() const override { return "email"; }
  SendOutcome Send(const OutboxEntry& entry) override {
    sent_->push_back(entry.id);
    return SendOutcome{SendOutcome::kSent, ""};
  }

 private:
  std::vector<long long>* sent_;
};

// The dispatcher's claim (src/notify/dispatcher.cc, Dispatcher::Impl::Claim) with its parameters written in, for
// EXPLAIN. Keep in step with the dispatcher.
std::string ClaimQuery(bool pg, long long now) {
  std::string n = std::to_string(now);
  return "UPDATE notify_outbox SET lease_owner = 'scale-bench', claim = 'x', lease_until = " + std::to_string(now + 300) +
         " WHERE id IN (SELECT id FROM notify_outbox WHERE state = 'pending' AND next_attempt_at <= " + n +
         " AND (lease_until IS NULL OR lease_until <= " + n + ") AND channel IN ('email') ORDER BY next_attempt_at, "
         "id LIMIT 20" + (pg ? " FOR UPDATE SKIP LOCKED" : "") + ")";
}

// The query plan of `query`: SQLite's EXPLAIN QUERY PLAN details, or PostgreSQL's EXPLAIN lines.
std::vector<std::string> QueryPlan(Store& store, bool pg, const std::string& query) {
  std::vector<std::string> lines;
  store.Transact([&](soci::session& sql) {
    soci::rowset<soci::row> rows = (sql.prepare << (pg ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + query);
    for (const auto& row : rows) {
      std::size_t last = row.size() - 1;
      lines.push_back(row.get<std::string>(last));
    }
  });
  return lines;
}

// Whether a plan reads notify_outbox through an index (no full scan of the table).
bool UsesIndexOnOutbox(const std::vector<std::string>& plan, bool pg) {
  bool index = false;
  for (const auto& line : plan) {
    if (pg) {
      if (line.find("Seq Scan on notify_outbox") != std::string::npos) return false;
      if (line.find("Index") != std::string::npos && line.find("notify_outbox") != std::string::npos) index = true;
    } else {
      if (line.find("SCAN notify_outbox") != std::string::npos &&
          line.find("USING") == std::string::npos) {
        return false;
      }
      if (line.find("notify_outbox USING") != std::string::npos) index = true;
    }
  }
  return index;
}

long long CountRows(Store& store, const std::string& query) {
  long long count = 0;
  store.Transact([&](soci::session& sql) { sql << query, soci::into(count); });
  return count;
}

long long DatabaseBytes(Store& store, bool pg, const std::string& url) {
  if (pg) return CountRows(store, "SELECT pg_database_size(current_database())");
  long long pages = CountRows(store, "PRAGMA page_count");
  long long size = CountRows(store, "PRAGMA page_size");
  (void)url;
  return pages * size;
}

std::size_t HeapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

long RssKiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

class ScaleBench {
 public:
  ScaleBench(Options options, Store& store) : o_(std::move(options)), store_(store), rng_(20261128) {
    pg_ = store_.backend() == "postgresql";
    t0_ = Instant(seconds(1796083200));  // 2026-12-01T00:00:00Z
    for (const auto& name : ZoneNames()) zones_.push_back(FindZone(name).value());
    reminder_settings_.email = true;
    reminder_settings_.webhook = false;
    reminder_settings_.public_url = "https://clinic.example";
  }

  int Run() {
    std::cout << "backend " << store_.backend() << ", N = " << o_.n << " (" << o_.api_n
              << " through the API, the rest cloned from them), checkpoints";
    for (long c : o_.checkpoints) std::cout << " " << c;
    std::cout << "\n";
    MeasurePlanMemory();
    Setup();
    int failures = 0;
    Clock::time_point start = Clock::now();
    double api_rate = 0;
    for (long checkpoint : o_.checkpoints) {
      long fill_to = checkpoint - o_.probe;
      if (registered_ < o_.api_n) {
        // Through the API: the registration throughput of a growing table.
        long target = std::min(fill_to, o_.api_n);
        long before = registered_;
        Clock::duration spent{};
        while (registered_ < target) {
          spent += RegisterBatch(std::min<long>(1000, target - registered_));
          if (registered_ % 10000 == 0 || registered_ == target) Progress(start);
        }
        double s = std::chrono::duration<double>(spent).count();
        if (registered_ > before) api_rate = (registered_ - before) / s;
        api_registered_ = registered_;
        api_database_bytes_ = DatabaseBytes(store_, pg_, o_.db);
      }
      if (registered_ < fill_to) {
        CloneUpTo(fill_to);
        Progress(start);
      }
      // A timed probe through the API at this size.
      long before = registered_;
      Clock::duration spent{};
      while (registered_ < checkpoint) spent += RegisterBatch(std::min<long>(1000, checkpoint - registered_));
      double probe_rate = (registered_ - before) / std::chrono::duration<double>(spent).count();
      failures += MeasureAt(registered_, probe_rate, api_rate);
    }
    WriteJson();
    return failures == 0 ? 0 : 1;
  }

  void Progress(Clock::time_point start) {
    std::cerr << "scale_bench: " << registered_ << " procedures, "
              << Fixed(std::chrono::duration<double>(Clock::now() - start).count(), 0) << " s\n";
  }

 private:
  // Heap taken by compiled plans kept in memory: what a server caching one Plan per procedure would hold.
  void MeasurePlanMemory() {
    std::vector<Plan> plans;
    plans.reserve(o_.plans);
    std::vector<std::pair<Instant, int>> inputs;
    std::mt19937_64 rng(7);
    std::vector<std::vector<std::string>> areas;
    for (int i = 0; i < o_.plans; ++i) areas.push_back(RandomAreas(rng));
    malloc_trim(0);
    std::size_t heap_before = HeapInUse();
    long rss_before = RssKiB();
    std::size_t total_areas = 0;
    for (int i = 0; i < o_.plans; ++i) {
      Instant end = t0_ + seconds(static_cast<long>(rng() % (365 * kDay)));
      auto plan = Plan::Compile(BuiltinProtocol(), Procedure{end, zones_[i % zones_.size()], areas[i]});
      if (!plan) {
        std::cerr << "scale_bench: cannot compile a plan: " << plan.error().message << "\n";
        std::exit(1);
      }
      total_areas += areas[i].size();
      plans.push_back(std::move(plan).value());
    }
    std::size_t heap_after = HeapInUse();
    long rss_after = RssKiB();
    double per_plan = static_cast<double>(heap_after - heap_before) / plans.size();
    double rss_per_plan = (rss_after - rss_before) * 1024.0 / plans.size();
    std::cout << "memory per compiled plan: " << Fixed(per_plan / 1024.0, 1) << " KiB heap (mallinfo2), "
              << Fixed(rss_per_plan / 1024.0, 1) << " KiB RSS, over " << plans.size() << " plans ("
              << Fixed(static_cast<double>(total_areas) / plans.size(), 2) << " areas each on average)\n";
    records_.push_back(JsonRecord()
                           .Add("kind", std::string("plan_memory"))
                           .Add("plans", static_cast<long>(plans.size()))
                           .Add("heap_bytes_per_plan", per_plan)
                           .Add("rss_bytes_per_plan", rss_per_plan)
                           .Text());
  }

  void Setup() {
    if (CountRows(store_, "SELECT COUNT(*) FROM procedure_record") != 0) {
      std::cerr << "scale_bench: the database already holds procedures; give it a new one\n";
      std::exit(2);
    }
    std::string text(BuiltinProtocolText());
    store_.KeepProtocol(BuiltinProtocol().id, BuiltinProtocol().version, text);
    // A few clinics (each creation hashes a password with argon2id, so not many).
    for (int i = 0; i < 4; ++i) {
      auto clinic = store_.CreateClinic("Scale clinic " + std::to_string(i + 1), t0_ - seconds(400 * kDay));
      if (!clinic) {
        std::cerr << "scale_bench: " << clinic.error().message << "\n";
        std::exit(1);
      }
      auto who = store_.AuthenticateApiToken(clinic->api_token);
      clinics_.push_back(*who);
    }
    // The due set: ended two days before T0 and registered then, so reminders from then up to T0 are due at T0.
    for (int i = 0; i < o_.due_procedures; ++i) {
      Instant end = t0_ - seconds(2 * kDay) + seconds(static_cast<long>(rng_() % 3600));
      Register(end, end, /*past=*/false);
    }
    due_rows_ = CountRows(store_, "SELECT COUNT(*) FROM notify_outbox WHERE state = 'pending' AND next_attempt_at <= " +
                                      std::to_string(t0_.time_since_epoch().count()));
    std::cout << "due set: " << o_.due_procedures << " procedures, " << due_rows_ << " outbox rows due at T0\n";
  }

  // Registers one procedure as the API does (compile, then RegisterProcedure with the reminders' hook). Returns
  // the new procedure's id.
  Id Register(Instant end, Instant now, bool past) {
    Zone zone = zones_[rng_() % zones_.size()];
    std::vector<std::string> areas = RandomAreas(rng_);
    auto plan = Plan::Compile(BuiltinProtocol(), Procedure{end, zone, areas});
    if (!plan) {
      std::cerr << "scale_bench: cannot compile a plan: " << plan.error().message << "\n";
      std::exit(1);
    }
    const StaffIdentity& who = clinics_[registered_ % clinics_.size()];
    NewProcedure p;
    p.reference = "S-" + std::to_string(registered_ + 1);
    p.display_name = "Patient " + std::to_string(registered_ + 1);
    p.contact = "patient" + std::to_string(registered_ + 1) + "@example.org";
    p.end = end;
    p.zone = zone->name();
    p.areas = plan->procedure().areas;
    p.protocol_id = BuiltinProtocol().id;
    p.protocol_version = BuiltinProtocol().version;
    p.active_until = ActiveUntil(*plan);
    auto registered = store_.RegisterProcedure(who.clinic_id, who.staff_id, p, now,
                                               RemindersOnRegistration(*plan, reminder_settings_, now));
    if (!registered) {
      std::cerr << "scale_bench: registration refused: " << registered.error().message << "\n";
      std::exit(1);
    }
    ++registered_;
    // Reservoir sample of the patient tokens (the store keeps only their hashes).
    if (static_cast<int>(tokens_.size()) < o_.samples) {
      tokens_.push_back(registered->patient_token);
    } else {
      std::uniform_int_distribution<long> pick(0, registered_ - 1);
      long slot = pick(rng_);
      if (slot < o_.samples) tokens_[slot] = registered->patient_token;
    }
    (void)past;
    return registered->procedure.id;
  }

  // A batch of bulk procedures: half ended in the past year (their reminders up to T0 then marked sent, untimed),
  // half ending within the next year. Returns the time spent registering.
  Clock::duration RegisterBatch(long count) {
    std::vector<Id> past_ids;
    Clock::time_point start = Clock::now();
    for (long i = 0; i < count; ++i) {
      if (rng_() % 2 == 0) {
        Instant end = t0_ - seconds(30 * kDay + static_cast<long>(rng_() % (335 * kDay)));
        past_ids.push_back(Register(end, end, true));
      } else {
        Instant end = t0_ + seconds(static_cast<long>(rng_() % (364 * kDay)));
        Register(end, t0_, false);
      }
    }
    Clock::duration spent = Clock::now() - start;
    long long t0 = t0_.time_since_epoch().count();
    store_.Transact([&](soci::session& sql) {
      long long id = 0;
      soci::statement st = (sql.prepare << "UPDATE notify_outbox SET state = 'sent', attempts = 1, sent_at = "
                                           "next_attempt_at WHERE procedure_id = :p AND next_attempt_at <= :t",
                            soci::use(id), soci::use(t0));
      for (Id each : past_ids) {
        id = each;
        st.execute(true);
      }
    });
    return spent;
  }

  // Grows the table to `target` procedures with copies of the bulk procedures registered through the API (not the
  // due set): the same rows with new ids (+ k * 2^53), references, token and unsubscribe hashes and event ids.
  // Their patient tokens are unknown (only hashes are kept), so status is sampled over the API-registered ones.
  // The copies' outbox rows leave out the mail text and webhook payload (about 2 KB a row, 40 KB a procedure):
  // 1 M procedures in full would be about 40 GB per back end, more than a bench run should write. The indexes and
  // every other column are as written by the API; the full size per procedure is reported from the API rows.
  void CloneUpTo(long target) {
    long long t0 = t0_.time_since_epoch().count();
    if (clone_sources_ == 0) {
      // Templates: the rows of the source procedures, numbered (seq), copied once into small side tables so that
      // each copy reads them without touching the growing tables.
      store_.Transact([&](soci::session& sql) {
        std::vector<long long> ids;
        long long id = 0;
        long long a = t0 - 3 * kDay, b = t0;
        soci::statement st = (sql.prepare << "SELECT id FROM procedure_record WHERE id < 9007199254740992 AND "
                                             "(ended_at < :a OR ended_at >= :b) ORDER BY id",
                              soci::use(a), soci::use(b), soci::into(id));
        st.execute();
        while (st.fetch()) ids.push_back(id);
        sql << "CREATE TABLE scale_clone_source (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL)";
        long long seq = 0;
        soci::statement insert = (sql.prepare << "INSERT INTO scale_clone_source (id, seq) VALUES (:i, :s)",
                                  soci::use(id), soci::use(seq));
        for (std::size_t i = 0; i < ids.size(); ++i) {
          id = ids[i];
          seq = static_cast<long long>(i);
          insert.execute(true);
        }
        sql << "CREATE TABLE scale_tpl_procedure AS SELECT p.*, c.seq AS seq FROM procedure_record p "
               "JOIN scale_clone_source c ON c.id = p.id";
        sql << "CREATE TABLE scale_tpl_patient AS SELECT pa.*, c.seq AS seq FROM patient pa "
               "JOIN procedure_record p ON p.patient_id = pa.id JOIN scale_clone_source c ON c.id = p.id";
        sql << "CREATE TABLE scale_tpl_unsubscribe AS SELECT u.*, c.seq AS seq FROM notify_unsubscribe u "
               "JOIN procedure_record p ON p.patient_id = u.patient_id JOIN scale_clone_source c ON c.id = p.id";
        sql << "CREATE TABLE scale_tpl_outbox AS SELECT o.*, c.seq AS seq FROM notify_outbox o "
               "JOIN scale_clone_source c ON c.id = o.procedure_id";
        sql << "CREATE TABLE scale_tpl_audit AS SELECT a.* FROM audit_log a WHERE a.id IN (SELECT id FROM audit_log "
               "WHERE id < 9007199254740992 ORDER BY id LIMIT " + std::to_string(ids.size()) + ")";
        clone_sources_ = static_cast<long>(ids.size());
      });
    }
    // A larger page cache while copying (SQLite's default is 2 MB), then the store's own setting again.
    if (!pg_) store_.Transact([](soci::session& sql) { sql << "PRAGMA cache_size = -262144"; });
    while (registered_ < target) {
      if (++clone_round_ > 1000) {
        std::cerr << "scale_bench: more than 1000 copies needed: raise --api-n\n";
        std::exit(2);
      }
      long m = std::min<long>(clone_sources_, target - registered_);
      std::string offset = std::to_string(static_cast<long long>(clone_round_) << 53);
      char suffix[16];
      std::snprintf(suffix, sizeof suffix, "k%07d", clone_round_);
      std::string s = suffix;
      std::string chosen = " WHERE seq < " + std::to_string(m);
      store_.Transact([&](soci::session& sql) {
        sql << "INSERT INTO patient (id, clinic_id, reference, display_name, contact, created_at) SELECT id + " +
                   offset + ", clinic_id, reference || '#" + s + "', display_name, contact, created_at FROM "
                   "scale_tpl_patient" + chosen;
        sql << "INSERT INTO procedure_record (id, clinic_id, patient_id, ended_at, zone, areas, protocol_id, "
               "protocol_version, active_until, follows_id, series_number, patient_token_hash, created_by, "
               "created_at) SELECT id + " + offset + ", clinic_id, patient_id + " + offset +
                   ", ended_at, zone, areas, protocol_id, protocol_version, active_until, follows_id, series_number, "
                   "substr(patient_token_hash, 1, 56) || '" + s + "', created_by, created_at FROM scale_tpl_procedure" +
                   chosen;
        sql << "INSERT INTO notify_unsubscribe (token_hash, patient_id, created_at) SELECT "
               "substr(token_hash, 1, 56) || '" + s + "', patient_id + " + offset +
                   ", created_at FROM scale_tpl_unsubscribe" + chosen;
        sql << "INSERT INTO notify_outbox (id, event_id, channel, clinic_id, procedure_id, patient_id, kind, due_at, "
               "recipient, subject, body, payload, unsubscribe_url, state, attempts, next_attempt_at, lease_owner, "
               "claim, lease_until, last_error, sent_at, created_at) SELECT id + " + offset + ", event_id || '#" + s +
                   "', channel, clinic_id, procedure_id + " + offset + ", patient_id + " + offset +
                   ", kind, due_at, recipient, subject, '', '', unsubscribe_url, state, attempts, "
                   "next_attempt_at, lease_owner, claim, lease_until, last_error, sent_at, created_at FROM "
                   "scale_tpl_outbox" + chosen;
        sql << "INSERT INTO audit_log (id, clinic_id, at, actor, action, object) SELECT id + " + offset +
                   ", clinic_id, at, actor, action, object FROM scale_tpl_audit WHERE id IN (SELECT id FROM "
                   "scale_tpl_audit ORDER BY id LIMIT " + std::to_string(m) + ")";
      });
      registered_ += m;
      if (clone_round_ % 10 == 0) std::cerr << "scale_bench: " << registered_ << " procedures (copies)\n";
    }
    // The templates go (they would count in the database size); the next growth makes them again.
    store_.Transact([](soci::session& sql) {
      for (const char* table : {"scale_clone_source", "scale_tpl_procedure", "scale_tpl_patient",
                                "scale_tpl_unsubscribe", "scale_tpl_outbox", "scale_tpl_audit"}) {
        sql << std::string("DROP TABLE ") + table;
      }
    });
    clone_sources_ = 0;
    if (!pg_) store_.Transact([](soci::session& sql) { sql << "PRAGMA cache_size = -2000"; });
  }

  int MeasureAt(long size, double probe_rate, double api_rate) {
    int failures = 0;
    if (pg_) {
      // Fresh statistics, as autovacuum keeps them on a server that has run a while.
      store_.Transact([](soci::session& sql) { sql << "ANALYZE"; });
    }
    long long outbox = CountRows(store_, "SELECT COUNT(*) FROM notify_outbox");
    long long pending = CountRows(store_, "SELECT COUNT(*) FROM notify_outbox WHERE state = 'pending'");
    long long bytes = DatabaseBytes(store_, pg_, o_.db);
    std::cout << "\n== " << size << " procedures (" << outbox << " outbox rows, " << pending << " pending; database "
              << Fixed(bytes / 1048576.0, 0) << " MiB)\n";
    std::cout << "registration through the API: " << Fixed(probe_rate, 0) << "/s for the last " << o_.probe
              << " at this size; " << Fixed(api_rate, 0) << "/s for the first " << api_registered_ << "\n";

    Summary lookup, unsubscribed, compile, status, total;
    MeasureStatus(&lookup, &unsubscribed, &compile, &status, &total);
    std::cout << "status (µs, median / p99 over " << tokens_.size() << " random tokens): lookup "
              << Fixed(lookup.median) << " / " << Fixed(lookup.p99) << ", compile " << Fixed(compile.median) << " / "
              << Fixed(compile.p99) << ", status " << Fixed(status.median, 2) << " / " << Fixed(status.p99, 2)
              << ", total " << Fixed(total.median) << " / " << Fixed(total.p99) << "\n";

    Summary round, idle;
    long long due_now = 0;
    MeasureDispatch(&round, &idle, &due_now);
    std::cout << "dispatch (µs, median / p99 over " << o_.rounds << " rounds): round with " << due_now
              << " due (claims 20, sends, records) " << Fixed(round.median) << " / " << Fixed(round.p99)
              << "; idle poll (nothing due) " << Fixed(idle.median) << " / " << Fixed(idle.p99) << "\n";

    // Two whole-outbox operations outside the dispatch round, for the record: the /metrics count by state and a
    // dispatcher's start (RecoverLeases), each once.
    Clock::time_point ca = Clock::now();
    CountOutbox(store_);
    Clock::time_point cb = Clock::now();
    double count_us = Micros(cb - ca);
    std::vector<long long> none;
    std::vector<std::unique_ptr<Channel>> idle_channels;
    idle_channels.push_back(std::make_unique<AcceptingChannel>(&none));
    DispatcherOptions recover_options;
    recover_options.worker_id = "scale-bench";
    recover_options.clock = [this] { return t0_; };
    Dispatcher recovering(store_, std::move(idle_channels), recover_options);
    Clock::time_point ra = Clock::now();
    recovering.RecoverLeases();
    Clock::time_point rb = Clock::now();
    double recover_us = Micros(rb - ra);
    std::cout << "whole-outbox: CountOutbox (/metrics) " << Fixed(count_us / 1000, 1) << " ms, RecoverLeases (dispatcher "
              << "start) " << Fixed(recover_us / 1000, 1) << " ms\n";

    auto claim_plan = QueryPlan(store_, pg_, ClaimQuery(pg_, t0_.time_since_epoch().count()));
    bool indexed = UsesIndexOnOutbox(claim_plan, pg_);
    std::cout << "claim query plan (" << (indexed ? "uses an index" : "NO INDEX: full scan") << "):\n";
    std::string plan_text;
    for (const auto& line : claim_plan) {
      std::cout << "    " << line << "\n";
      plan_text += line + "\n";
    }
    if (!indexed) ++failures;
    auto token_plan = QueryPlan(store_, pg_,
                                "SELECT patient_token_hash, id FROM procedure_record WHERE patient_token_hash = '" +
                                    HashToken("x") + "'");
    std::string token_plan_text;
    for (const auto& line : token_plan) token_plan_text += line + "\n";
    std::cout << "token lookup plan:\n";
    for (const auto& line : token_plan) std::cout << "    " << line << "\n";

    records_.push_back(JsonRecord()
                           .Add("kind", std::string("checkpoint"))
                           .Add("backend", store_.backend())
                           .Add("procedures", size)
                           .Add("outbox_rows", static_cast<long>(outbox))
                           .Add("pending_rows", static_cast<long>(pending))
                           .Add("database_bytes", static_cast<long>(bytes))
                           .Add("registration_per_second", probe_rate)
                           .Add("registration_first_per_second", api_rate)
                           .Add("api_registered", api_registered_)
                           .Add("api_database_bytes", static_cast<long>(api_database_bytes_))
                           .Add("status_samples", static_cast<long>(tokens_.size()))
                           .Add("lookup_us_median", lookup.median)
                           .Add("lookup_us_p99", lookup.p99)
                           .Add("compile_us_median", compile.median)
                           .Add("compile_us_p99", compile.p99)
                           .Add("status_us_median", status.median)
                           .Add("status_us_p99", status.p99)
                           .Add("total_us_median", total.median)
                           .Add("total_us_p99", total.p99)
                           .Add("due_rows", static_cast<long>(due_now))
                           .Add("round_us_median", round.median)
                           .Add("round_us_p99", round.p99)
                           .Add("idle_poll_us_median", idle.median)
                           .Add("idle_poll_us_p99", idle.p99)
                           .Add("count_outbox_us", count_us)
                           .Add("recover_leases_us", recover_us)
                           .Add("claim_uses_index", static_cast<long>(indexed ? 1 : 0))
                           .Add("claim_plan", plan_text)
                           .Add("token_plan", token_plan_text)
                           .Text());
    return failures;
  }

  void MeasureStatus(Summary* lookup, Summary* unsubscribed, Summary* compile, Summary* status, Summary* total) {
    std::vector<std::string> order = tokens_;
    std::shuffle(order.begin(), order.end(), rng_);
    std::vector<double> l, u, c, s, t;
    std::vector<Answer> answers;
    for (const auto& token : order) {
      Clock::time_point a = Clock::now();
      auto record = store_.FindProcedureByPatientToken(token);
      Clock::time_point b = Clock::now();
      if (!record) {
        std::cerr << "scale_bench: a registered token was not found\n";
        std::exit(1);
      }
      // The opt-out comes with the record (ProcedureRecord::reminders_stopped), as the status endpoint reads it.
      bool out = record->reminders_stopped;
      Clock::time_point d = Clock::now();
      auto zone = FindZone(record->zone);
      auto plan = Plan::Compile(BuiltinProtocol(), Procedure{record->end, *zone, record->areas});
      Clock::time_point e = Clock::now();
      auto answer = plan->Status(std::max(t0_, record->end));
      Clock::time_point f = Clock::now();
      if (out || !answer || answer->empty()) {
        std::cerr << "scale_bench: unexpected status answer\n";
        std::exit(1);
      }
      l.push_back(Micros(b - a));
      u.push_back(Micros(d - b));
      c.push_back(Micros(e - d));
      s.push_back(Micros(f - e));
      t.push_back(Micros(f - a));
    }
    *lookup = Summarise(l);
    *unsubscribed = Summarise(u);
    *compile = Summarise(c);
    *status = Summarise(s);
    *total = Summarise(t);
  }

  void MeasureDispatch(Summary* round, Summary* idle, long long* due_now) {
    long long t0 = t0_.time_since_epoch().count();
    *due_now = CountRows(store_, "SELECT COUNT(*) FROM notify_outbox WHERE state = 'pending' AND next_attempt_at <= " +
                                     std::to_string(t0));
    std::vector<long long> sent;
    Instant now = t0_;
    std::vector<std::unique_ptr<Channel>> channels;
    channels.push_back(std::make_unique<AcceptingChannel>(&sent));
    DispatcherOptions options;
    options.worker_id = "scale-bench";
    options.batch = 20;
    options.clock = [&now] { return now; };
    Dispatcher dispatcher(store_, std::move(channels), options);
    std::vector<double> rounds, idles;
    for (int i = 0; i < o_.rounds; ++i) {
      now = t0_;
      sent.clear();
      Clock::time_point a = Clock::now();
      DispatchCounts counts = dispatcher.RunOnce();
      Clock::time_point b = Clock::now();
      if (counts.sent != 20) {
        std::cerr << "scale_bench: a round sent " << counts.sent << " reminders, expected 20\n";
        std::exit(1);
      }
      rounds.push_back(Micros(b - a));
      // Put the round's rows back, so every round sees the same number due (untimed).
      store_.Transact([&](soci::session& sql) {
        long long id = 0;
        soci::statement st = (sql.prepare << "UPDATE notify_outbox SET state = 'pending', attempts = 0, "
                                             "sent_at = NULL WHERE id = :i",
                              soci::use(id));
        for (long long each : sent) {
          id = each;
          st.execute(true);
        }
      });
      // An idle poll: three days before T0 nothing is due.
      now = t0_ - seconds(3 * kDay);
      Clock::time_point c = Clock::now();
      DispatchCounts none = dispatcher.RunOnce();
      Clock::time_point d = Clock::now();
      if (none.attempted() != 0) {
        std::cerr << "scale_bench: an idle poll found something due\n";
        std::exit(1);
      }
      idles.push_back(Micros(d - c));
    }
    *round = Summarise(rounds);
    *idle = Summarise(idles);
  }

  void WriteJson() {
    if (o_.json_path.empty()) return;
    std::ofstream out(o_.json_path);
    out << "[\n";
    for (std::size_t i = 0; i < records_.size(); ++i) out << "  " << records_[i] << (i + 1 < records_.size() ? ",\n" : "\n");
    out << "]\n";
    if (!out) {
      std::cerr << "scale_bench: cannot write " << o_.json_path << "\n";
      std::exit(1);
    }
  }

  Options o_;
  Store& store_;
  std::mt19937_64 rng_;
  bool pg_ = false;
  Instant t0_;
  std::vector<Zone> zones_;
  ReminderSettings reminder_settings_;
  std::vector<StaffIdentity> clinics_;
  long registered_ = 0;
  long api_registered_ = 0;
  long long api_database_bytes_ = 0;  // after the API registrations, before any copies
  long clone_sources_ = 0;  // procedures in the copy templates
  int clone_round_ = 0;
  long long due_rows_ = 0;
  std::vector<std::string> tokens_;
  std::vector<std::string> records_;
};

}  // namespace
}  // namespace aftercare

int main(int argc, char** argv) {
  aftercare::Options options = aftercare::ParseOptions(argc, argv);
  auto store = aftercare::Store::Open(options.db);
  if (!store) {
    std::cerr << "scale_bench: " << store.error().message << "\n";
    return 2;
  }
  try {
    return aftercare::ScaleBench(options, **store).Run();
  } catch (const std::exception& e) {
    std::cerr << "scale_bench: " << e.what() << "\n";
    return 1;
  }
}
