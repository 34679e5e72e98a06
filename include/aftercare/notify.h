// Reminders that arrive once. When a procedure is registered, the reminders of its plan are written into an outbox
// in the same transaction (EnqueueReminders, through Store::RegisterProcedure's hook). A Dispatcher claims due rows
// with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers share one outbox), sends them by email
// (SMTP through libcurl) and/or a signed webhook, and records the outcome: sent, retried later with exponential
// backoff up to a cap, or failed for good (kept, visible to staff). Delivery is at-least-once; every reminder has a
// stable id (the mail's Message-ID, the webhook's event id) so a receiver sees it once.
//
// Which moments become reminders and their wording are data (lexicons/reminders.toml, docs/reminders.md); the
// instants come from the engine. Time is always a parameter or an injected Clock.
#ifndef AFTERCARE_NOTIFY_H_
#define AFTERCARE_NOTIFY_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aftercare/engine.h"
#include "aftercare/result.h"
#include "aftercare/store.h"
#include "aftercare/time.h"

namespace aftercare {

using Clock = std::function<Instant()>;

// ---------------------------------------------------------------------------------------------------------------
// Reminder definitions (lexicons/reminders.toml)
// ---------------------------------------------------------------------------------------------------------------

inline constexpr int kRemindersFormatVersion = 1;

enum class ReminderTrigger { kAvoidEnds, kDailyWhileAvoided, kSeriesNext };

struct ReminderDefinition {
  std::string id;  // part of every event id: keep it stable
  ReminderTrigger trigger = ReminderTrigger::kAvoidEnds;
  std::vector<std::string> activities;  // activity ids of the protocol
  std::vector<std::string> after;       // daily: start once these activities' avoid windows have ended
  std::string subject;                  // templates: {name} {when} {until} {min_count} {max_count}
  std::string text;
};

struct ReminderDefinitions {
  std::chrono::minutes morning{8 * 60 + 30};  // local time of daily reminders
  std::chrono::minutes quiet_from{21 * 60};   // no message from here ...
  std::chrono::minutes quiet_until{8 * 60};   // ... until here (may wrap midnight); equal: no quiet hours
  std::vector<ReminderDefinition> reminders;
};

// Parses and validates a reminders file; `origin` names it in messages.
Result<ReminderDefinitions> ParseReminderDefinitions(std::string_view toml_text, std::string_view origin);
// lexicons/reminders.toml, compiled in.
const ReminderDefinitions& BuiltinReminderDefinitions();

// `at` if it is outside the quiet hours in `zone`, else the instant the quiet hours end.
Instant OutOfQuietHours(Instant at, Zone zone, const ReminderDefinitions& definitions);

// One reminder of a plan.
struct Reminder {
  std::string key;         // unique within a procedure: "sunscreen_allowed", "sun_protection_morning.2026-11-30"
  std::string definition;  // ReminderDefinition::id
  Instant milestone;       // the moment of the plan it is about
  Instant due;             // when it may be sent: the milestone out of quiet hours
  std::string subject;
  std::string text;
  std::vector<const Sentence*> sources;  // the sheet's sentences it rests on
};

// The reminders of a plan, ascending by due instant; `display_name` fills {name}. Reminders due before
// `not_before` are left out. A definition naming an activity the protocol lacks gives no reminder.
std::vector<Reminder> PlanReminders(const Plan& plan, const ReminderDefinitions& definitions, Instant not_before,
                                    const std::string& display_name = "");

// ---------------------------------------------------------------------------------------------------------------
// The outbox
// ---------------------------------------------------------------------------------------------------------------

struct ReminderSettings {
  const ReminderDefinitions* definitions = nullptr;  // nullptr: the built-in ones
  std::string public_url;  // base of unsubscribe links: <public_url>/u/<token>
  bool email = true;       // a row per reminder for a contact that is an email address
  bool webhook = false;    // a row per reminder for the clinic's webhook
};

// Writes the reminders of `plan` (the compiled plan of `procedure`) into the outbox on `sql`, the session of the
// caller's transaction. Nothing for a patient who unsubscribed; reminders already due before `now` are skipped.
// Returns how many rows were written. Throws soci_error (rolling the caller's transaction back).
int EnqueueReminders(soci::session& sql, const ProcedureRecord& procedure, const Plan& plan,
                     const ReminderSettings& settings, Instant now);
// The hook for Store::RegisterProcedure that calls EnqueueReminders; `plan` and `settings` must outlive the call.
RegistrationWork RemindersOnRegistration(const Plan& plan, const ReminderSettings& settings, Instant now);

enum class OutboxState { kPending, kSent, kFailed, kCancelled, kUnsubscribed };
std::string_view OutboxStateName(OutboxState state);  // "pending", "sent", "failed", "cancelled", "unsubscribed"
std::optional<OutboxState> ParseOutboxState(std::string_view name);

// One row of the outbox: one reminder on one channel.
struct OutboxEntry {
  Id id = 0;
  std::string event_id;  // stable per reminder: "rem-<procedure id>-<key>"
  std::string channel;   // "email" or "webhook"
  Id clinic_id = 0;
  Id procedure_id = 0;
  std::string kind;  // the reminder key
  Instant due;
  std::string recipient;  // the email address; empty for webhooks
  std::string subject;
  std::string body;     // the mail's text
  std::string payload;  // the webhook's JSON body
  std::string unsubscribe_url;
  OutboxState state = OutboxState::kPending;
  int attempts = 0;
  Instant next_attempt;
  std::string last_error;
  std::optional<Instant> sent_at;
};

// Staff: cancels the pending reminders of a procedure of the clinic. Returns how many were cancelled.
int CancelReminders(Store& store, Id clinic_id, Id procedure_id, Instant now);
// Patient (from their page): no more reminders for the patient of this procedure, now or for later procedures.
// Returns how many pending rows were withdrawn.
int UnsubscribePatient(Store& store, Id procedure_id, Instant now);
// The link in each mail. Error: an unknown token.
Result<int> UnsubscribeByToken(Store& store, std::string_view token, Instant now);
// Whether an unsubscribe link's token is one the outbox issued (changes nothing; for a confirmation page).
bool UnsubscribeTokenKnown(Store& store, std::string_view token);
// Rows of the whole outbox in each state (every state present, 0 if none), e.g. for /metrics.
std::vector<std::pair<OutboxState, std::int64_t>> CountOutbox(Store& store);
// The clinic's outbox rows, newest due first; only a procedure's or only one state if given. limit 1..1000.
std::vector<OutboxEntry> ListOutbox(Store& store, Id clinic_id, std::optional<Id> procedure_id,
                                    std::optional<OutboxState> state, int limit);

// ---------------------------------------------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------------------------------------------

struct SendOutcome {
  enum Kind { kSent, kRetry, kPermanent };
  Kind kind = kSent;
  std::string detail;  // why it failed; never a secret
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual std::string name() const = 0;  // OutboxEntry::channel it sends
  // Sends one entry; never throws.
  virtual SendOutcome Send(const OutboxEntry& entry) = 0;
};

struct SmtpSettings {
  std::string url;          // smtp://host:587 (STARTTLS) or smtps://host:465 (TLS from the start)
  std::string tls = "starttls";  // "starttls" (required), "tls" (smtps://) or "none" (a local relay only)
  std::string username;     // empty: no AUTH
  std::string password;
  std::string from;         // "Glow Skin Clinic <reminders@glow.example>"
  std::string ca_file;      // extra CA bundle; empty: the system's
  int timeout_seconds = 30;
};

struct WebhookSettings {
  std::string url;
  std::string secret;  // HMAC-SHA256 key
  std::string ca_file;
  int timeout_seconds = 10;
};

struct RetryPolicy {
  int max_attempts = 10;                      // then the entry fails for good
  std::chrono::seconds first_delay{60};       // after the first failure; doubled after each
  std::chrono::seconds max_delay{6 * 3600};   // the cap
};
// The wait after `attempts` failed attempts (1 = the first): first_delay * 2^(attempts-1), at most max_delay.
std::chrono::seconds RetryDelay(const RetryPolicy& policy, int attempts);

// What a deployment configures (docs/reminders.md): TOML with format_version = 1, [smtp], [webhook], [retry];
// secrets may come from password_file / secret_file. Error: a missing or bad file, an unknown key.
struct DeliverySettings {
  std::optional<SmtpSettings> smtp;
  std::optional<WebhookSettings> webhook;
  RetryPolicy retry;
};
Result<DeliverySettings> ParseDeliverySettings(std::string_view toml_text, std::string_view origin);
Result<DeliverySettings> LoadDeliverySettings(const std::string& path);

// The complete message (headers and body, CRLF) sent for an entry: Message-ID <event_id@from-domain>,
// List-Unsubscribe, Date = the due instant, so a resent reminder is the same message.
std::string ComposeMail(const OutboxEntry& entry, const std::string& from);
// "sha256=<hex HMAC-SHA256 of '<timestamp>.<body>'>", the X-Aftercare-Signature header.
std::string WebhookSignature(const std::string& secret, long long timestamp, const std::string& body);

// SMTP and webhook channels through libcurl. `clock` stamps webhook signatures.
std::unique_ptr<Channel> MakeSmtpChannel(SmtpSettings settings);
std::unique_ptr<Channel> MakeWebhookChannel(WebhookSettings settings, Clock clock);
// The channels a deployment configured (mail, webhook or both), for a Dispatcher.
std::vector<std::unique_ptr<Channel>> MakeChannels(const DeliverySettings& settings, Clock clock);
// What EnqueueReminders should write for this deployment: email rows if mail is configured, webhook rows if a
// webhook is; unsubscribe links under `public_url`.
ReminderSettings ReminderSettingsFor(const DeliverySettings& settings, std::string public_url);

// ---------------------------------------------------------------------------------------------------------------
// The dispatcher
// ---------------------------------------------------------------------------------------------------------------

struct DispatcherOptions {
  std::string worker_id = "worker";  // stable per worker: a restarted worker takes back its own leases
  int batch = 20;
  std::chrono::seconds lease{300};   // another worker may take a claimed row after this (the owner died)
  RetryPolicy retry;
  Clock clock;                       // required
  std::chrono::milliseconds idle_wait{1000};  // real time between polls when nothing is due
  std::function<void(const std::string& event, const std::string& detail)> log;  // optional; no patient data
};

struct DispatchCounts {
  int sent = 0;
  int retried = 0;
  int failed = 0;
  int attempted() const { return sent + retried + failed; }
};

class Dispatcher {
 public:
  Dispatcher(Store& store, std::vector<std::unique_ptr<Channel>> channels, DispatcherOptions options);
  ~Dispatcher();  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Releases the leases this worker id still holds from an earlier run that died; returns how many.
  int RecoverLeases();
  // One round: claims up to `batch` due rows of the configured channels, sends each and records the outcome
  // before the next. Throws StoreUnavailable.
  DispatchCounts RunOnce();
  // RecoverLeases, then RunOnce in a background thread until Stop (waiting idle_wait when nothing was due;
  // a failing database is logged and retried).
  void Start();
  // Finishes the entry in flight and joins the thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aftercare

#endif  // AFTERCARE_NOTIFY_H_
