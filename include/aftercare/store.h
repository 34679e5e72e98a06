// The clinic store: clinics, staff, API tokens, patients, procedures, symptom reports and an audit log, in SQLite
// (one file, the default) or PostgreSQL (shared by several server instances), through SOCI with one schema for both.
// Secrets are stored only as hashes: staff passwords with argon2id, API and patient tokens with BLAKE2b of a
// 256-bit random token. Times are parameters. A Store is safe to use from several threads.
//
// Errors a user can cause (an unknown reference, a duplicate) are Result values. A database that fails underneath
// (unreachable, disk full) throws StoreUnavailable, which the server turns into 503 and the CLI into one line.
#ifndef AFTERCARE_STORE_H_
#define AFTERCARE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aftercare/result.h"
#include "aftercare/time.h"

namespace soci {
class session;
}

namespace aftercare {

using Id = std::int64_t;

// The database failed underneath us; the message names the back end and the reason, never a secret.
struct StoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The default database when none is given.
inline constexpr const char* kDefaultDatabase = "sqlite:var/aftercare.db";

// The schema version this build migrates to.
int LatestSchemaVersion();

// A new random token of 256 bits, URL-safe base64 without padding (43 characters).
std::string NewToken();
// The hex BLAKE2b-256 of a token: what the store keeps.
std::string HashToken(std::string_view token);

struct ClinicCredentials {
  Id clinic_id = 0;
  std::string clinic_name;
  std::string login;      // the first staff login
  std::string password;   // shown once, stored hashed
  std::string api_token;  // shown once, stored hashed
};

// Who a staff API token belongs to.
struct StaffIdentity {
  Id staff_id = 0;
  Id clinic_id = 0;
  std::string login;
};

struct NewProcedure {
  std::string reference;     // the clinic's pseudonymous patient reference
  std::optional<std::string> display_name;
  std::optional<std::string> contact;
  Instant end;
  std::string zone;          // IANA name
  std::vector<std::string> areas;
  std::string protocol_id;
  std::string protocol_version;
  Instant active_until;      // the plan's last milestone: after it the procedure is "finished"
  std::optional<Id> follows; // the earlier procedure of the series this one follows
};

struct ProcedureRecord {
  Id id = 0;
  Id clinic_id = 0;
  Id patient_id = 0;
  std::string reference;
  std::optional<std::string> display_name;
  std::optional<std::string> contact;
  Instant end;
  std::string zone;
  std::vector<std::string> areas;
  std::string protocol_id;
  std::string protocol_version;
  Instant active_until;
  std::optional<Id> follows;
  int series_number = 1;  // 1 for a first treatment, 2 for its follow-up...
  Instant created_at;
  bool reminders_stopped = false;  // the patient asked for no more reminders (unsubscribe)
};

struct RegisteredProcedure {
  ProcedureRecord procedure;
  std::string patient_token;  // shown once, stored hashed
};

enum class ProcedureFilter { kAll, kActive, kFinished };

struct ProcedurePage {
  std::vector<ProcedureRecord> items;
  std::int64_t total = 0;  // matching the filter, over all pages
};

struct SymptomReport {
  Id procedure_id = 0;
  Instant reported_at;
  std::string words;
  std::string assessment;
  std::string answer_json;
};

struct AuditEntry {
  Id clinic_id = 0;
  std::string actor;   // "staff:<id>", "patient:<procedure id>", "admin"
  std::string action;  // "procedure.register", "procedure.read", ...
  std::string object;  // "procedure:<id>"
  Instant at;
};

// Work another module adds to a store transaction (the notify outbox keeps its tables in this database): it runs on
// the transaction's session; a soci_error it throws rolls the whole transaction back and becomes StoreUnavailable.
using StoreWork = std::function<void(soci::session& sql)>;
// The same, run inside RegisterProcedure after the procedure is written, with the new record.
using RegistrationWork = std::function<void(soci::session& sql, const ProcedureRecord& procedure)>;

class Store {
 public:
  // Opens "sqlite:PATH" (the directory is created), "postgresql://..." or "postgresql:<libpq key=value string>",
  // and applies every pending migration. Errors: an unknown scheme, an unreachable database (one line).
  static Result<std::unique_ptr<Store>> Open(const std::string& url);
  virtual ~Store() = default;

  virtual std::string backend() const = 0;  // "sqlite3" or "postgresql"
  // The applied schema version; throws StoreUnavailable when the database is gone.
  virtual int SchemaVersion() = 0;

  // Keeps the text of a protocol version the first time it is seen, so plans registered under it can be compiled
  // again after the protocol file changes. Returns the stored text (the earlier one if it was already there).
  virtual std::string KeepProtocol(const std::string& id, const std::string& version, const std::string& text) = 0;
  virtual std::optional<std::string> ProtocolText(const std::string& id, const std::string& version) = 0;

  // A clinic with a first staff member (login "<slug>-admin") and an API token. Error: an empty or too long name.
  virtual Result<ClinicCredentials> CreateClinic(const std::string& name, Instant now) = 0;
  // The staff member a bearer API token belongs to; nullopt for an unknown or revoked token.
  virtual std::optional<StaffIdentity> AuthenticateApiToken(std::string_view token) = 0;
  // A new API token for a staff login and password. Error: wrong login or password (one message for both).
  virtual Result<std::string> Login(const std::string& login, const std::string& password, Instant now) = 0;

  // Registers a procedure for a patient reference of the clinic (the patient is created on first use, display
  // name and contact updated when given) and issues its private patient token.
  // Errors: `follows` is not a procedure of the same clinic. `also` (if given) runs in the same transaction, e.g.
  // notify's EnqueueReminders, so the procedure and its reminders are written together or not at all.
  virtual Result<RegisteredProcedure> RegisterProcedure(Id clinic_id, Id staff_id, const NewProcedure& procedure,
                                                        Instant now, const RegistrationWork& also = {}) = 0;
  // A procedure of the clinic; nullopt if none or another clinic's.
  virtual std::optional<ProcedureRecord> FindProcedure(Id clinic_id, Id procedure_id) = 0;
  // The procedure a patient token reaches; nullopt for an unknown token.
  virtual std::optional<ProcedureRecord> FindProcedureByPatientToken(std::string_view token) = 0;
  // The clinic's procedures, newest end first; active: now < active_until.
  virtual ProcedurePage ListProcedures(Id clinic_id, ProcedureFilter filter, Instant now, int limit,
                                       std::int64_t offset) = 0;
  // The latest procedure of a patient's series that `procedure_id` belongs to (itself if none follows it).
  virtual ProcedureRecord LatestInSeries(const ProcedureRecord& procedure) = 0;

  virtual void AddSymptomReport(const SymptomReport& report) = 0;
  virtual std::vector<SymptomReport> SymptomReports(Id procedure_id) = 0;

  // Runs `work` in one transaction on one of the store's sessions and commits it. Throws StoreUnavailable.
  virtual void Transact(const StoreWork& work) = 0;
  // Runs read-only `work` on a reading session, outside any transaction (each statement sees the latest commit).
  // Throws StoreUnavailable.
  virtual void Read(const StoreWork& work) = 0;

  virtual void Audit(const AuditEntry& entry) = 0;
  virtual std::vector<AuditEntry> AuditLog(Id clinic_id, int limit) = 0;
};

// A consistent copy of a live SQLite database ("sqlite:PATH" or a path) into `destination`, through SQLite's
// online backup API. Errors: not an SQLite URL, the source cannot be opened, the destination cannot be written.
Result<std::string> BackupSqlite(const std::string& url, const std::string& destination);

}  // namespace aftercare

#endif  // AFTERCARE_STORE_H_
