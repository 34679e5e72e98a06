// The outbox tables (store migration 2): writing a procedure's reminders, cancelling, unsubscribing and listing.
// soci_error is left to the store (Store::Transact and RegisterProcedure turn it into StoreUnavailable).
#include <sodium.h>

#include <algorithm>

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "aftercare/notify.h"
#include "outbox_sql.h"

namespace aftercare {
namespace notify_internal {

long long Seconds(Instant t) { return static_cast<long long>(t.time_since_epoch().count()); }
Instant FromSeconds(long long s) { return Instant(std::chrono::seconds(s)); }

long long NewRowId() {
  std::uint64_t raw = 0;
  randombytes_buf(&raw, sizeof raw);
  return static_cast<long long>((raw & ((std::uint64_t{1} << 53) - 1)) | 1);
}

const char* const kEntryColumns =
    "id, event_id, channel, clinic_id, procedure_id, kind, due_at, recipient, subject, body, payload, "
    "unsubscribe_url, state, attempts, next_attempt_at, last_error, sent_at";

std::vector<OutboxEntry> SelectEntries(soci::session& sql, const std::string& query,
                                       const std::function<void(soci::statement&)>& bind) {
  std::vector<OutboxEntry> out;
  long long id = 0, clinic_id = 0, procedure_id = 0, due = 0, attempts = 0, next = 0, sent = 0;
  std::string event_id, channel, kind, recipient, subject, body, payload, unsubscribe, state, last_error;
  soci::indicator sent_ind = soci::i_null;
  soci::statement st(sql);
  st.alloc();
  st.exchange(soci::into(id));
  st.exchange(soci::into(event_id));
  st.exchange(soci::into(channel));
  st.exchange(soci::into(clinic_id));
  st.exchange(soci::into(procedure_id));
  st.exchange(soci::into(kind));
  st.exchange(soci::into(due));
  st.exchange(soci::into(recipient));
  st.exchange(soci::into(subject));
  st.exchange(soci::into(body));
  st.exchange(soci::into(payload));
  st.exchange(soci::into(unsubscribe));
  st.exchange(soci::into(state));
  st.exchange(soci::into(attempts));
  st.exchange(soci::into(next));
  st.exchange(soci::into(last_error));
  st.exchange(soci::into(sent, sent_ind));
  bind(st);
  st.prepare(query);
  st.define_and_bind();
  st.execute();
  while (st.fetch()) {
    OutboxEntry e;
    e.id = id;
    e.event_id = event_id;
    e.channel = channel;
    e.clinic_id = clinic_id;
    e.procedure_id = procedure_id;
    e.kind = kind;
    e.due = FromSeconds(due);
    e.recipient = recipient;
    e.subject = subject;
    e.body = body;
    e.payload = payload;
    e.unsubscribe_url = unsubscribe;
    e.state = ParseOutboxState(state).value_or(OutboxState::kPending);
    e.attempts = static_cast<int>(attempts);
    e.next_attempt = FromSeconds(next);
    e.last_error = last_error;
    if (sent_ind == soci::i_ok) {
      e.sent_at = FromSeconds(sent);
    } else {
      e.sent_at.reset();
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace notify_internal

namespace {

using namespace notify_internal;
using nlohmann::json;

bool LooksLikeEmail(const std::string& contact) {
  auto at = contact.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= contact.size() || contact.size() > 254) return false;
  if (contact.find('@', at + 1) != std::string::npos) return false;
  if (contact.find('.', at) == std::string::npos) return false;
  return std::none_of(contact.begin(), contact.end(), [](unsigned char c) {
    return c <= ' ' || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == '\\' || c == 0x7f;
  });
}

std::string MailBody(const Reminder& r, const std::string& name, const std::string& unsubscribe_url) {
  std::string body = "Hello " + (name.empty() ? std::string("there") : name) + ",\n\n" + r.text + "\n";
  if (!r.sources.empty()) {
    body += "\nFrom your clinic's aftercare sheet:\n";
    for (const Sentence* s : r.sources) body += "  \"" + s->text + "\"\n";
  }
  body += "\nIf anything worries you, contact your clinic.\n";
  if (!unsubscribe_url.empty()) body += "\nTo stop these reminders: " + unsubscribe_url + "\n";
  return body;
}

bool PatientOptedOut(soci::session& sql, long long patient_id) {
  long long found = 0;
  sql << "SELECT patient_id FROM notify_optout WHERE patient_id = :p", soci::use(patient_id), soci::into(found);
  return sql.got_data();
}

long long PatientOf(soci::session& sql, long long procedure_id) {
  long long patient_id = 0;
  sql << "SELECT patient_id FROM procedure_record WHERE id = :i", soci::use(procedure_id), soci::into(patient_id);
  return sql.got_data() ? patient_id : 0;
}

int Affected(soci::session& sql, const std::string& query, const std::function<void(soci::statement&)>& bind) {
  soci::statement st(sql);
  st.alloc();
  bind(st);
  st.prepare(query);
  st.define_and_bind();
  st.execute(true);
  return static_cast<int>(st.get_affected_rows());
}

}  // namespace

std::string_view OutboxStateName(OutboxState state) {
  switch (state) {
    case OutboxState::kPending: return "pending";
    case OutboxState::kSent: return "sent";
    case OutboxState::kFailed: return "failed";
    case OutboxState::kCancelled: return "cancelled";
    case OutboxState::kUnsubscribed: return "unsubscribed";
  }
  return "pending";
}

std::optional<OutboxState> ParseOutboxState(std::string_view name) {
  for (auto s : {OutboxState::kPending, OutboxState::kSent, OutboxState::kFailed, OutboxState::kCancelled,
                 OutboxState::kUnsubscribed}) {
    if (OutboxStateName(s) == name) return s;
  }
  return std::nullopt;
}

int EnqueueReminders(soci::session& sql, const ProcedureRecord& procedure, const Plan& plan,
                     const ReminderSettings& settings, Instant now) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  long long patient_id = procedure.patient_id;
  if (PatientOptedOut(sql, patient_id)) return 0;
  const ReminderDefinitions& definitions =
      settings.definitions ? *settings.definitions : BuiltinReminderDefinitions();
  std::string name = procedure.display_name.value_or("");
  auto reminders = PlanReminders(plan, definitions, now, name);
  std::string contact = procedure.contact.value_or("");
  bool email = settings.email && LooksLikeEmail(contact);
  if (reminders.empty() || (!email && !settings.webhook)) return 0;

  // One unsubscribe token per registration; only its hash is kept in notify_unsubscribe.
  std::string token = NewToken();
  std::string token_hash = HashToken(token);
  long long t = Seconds(now);
  sql << "INSERT INTO notify_unsubscribe (token_hash, patient_id, created_at) VALUES (:h, :p, :t)",
      soci::use(token_hash), soci::use(patient_id), soci::use(t);
  std::string unsubscribe_url = settings.public_url + "/u/" + token;

  int written = 0;
  long long clinic_id = procedure.clinic_id, procedure_id = procedure.id;
  for (const Reminder& r : reminders) {
    std::string event_id = "rem-" + std::to_string(procedure.id) + "-" + r.key;
    json sources = json::array();
    for (const Sentence* s : r.sources) sources.push_back({{"id", s->id}, {"text", s->text}});
    json payload = {{"event_id", event_id},
                    {"type", "reminder"},
                    {"reminder", r.definition},
                    {"key", r.key},
                    {"clinic_id", procedure.clinic_id},
                    {"procedure_id", procedure.id},
                    {"patient_reference", procedure.reference},
                    {"contact", procedure.contact ? json(*procedure.contact) : json(nullptr)},
                    {"display_name", procedure.display_name ? json(*procedure.display_name) : json(nullptr)},
                    {"zone", procedure.zone},
                    {"milestone", FormatInstant(r.milestone, plan.procedure().zone)},
                    {"due", FormatInstant(r.due, plan.procedure().zone)},
                    {"subject", r.subject},
                    {"text", r.text},
                    {"sources", sources},
                    {"unsubscribe_url", unsubscribe_url}};
    std::string payload_text = payload.dump();
    std::string body = MailBody(r, name, unsubscribe_url);
    long long due = Seconds(r.due);
    std::string kind = r.key;
    std::string subject = r.subject;
    std::string state = "pending";
    std::string empty;
    long long zero = 0;
    for (const char* channel : {"email", "webhook"}) {
      bool wanted = std::string_view(channel) == "email" ? email : settings.webhook;
      if (!wanted) continue;
      std::string channel_name = channel;
      std::string recipient = channel_name == "email" ? contact : std::string();
      long long id = NewRowId();
      sql << "INSERT INTO notify_outbox (id, event_id, channel, clinic_id, procedure_id, patient_id, kind, due_at, "
             "recipient, subject, body, payload, unsubscribe_url, state, attempts, next_attempt_at, last_error, "
             "created_at) VALUES (:i, :e, :c, :cl, :p, :pa, :k, :d, :r, :s, :b, :pl, :u, :st, :a, :n, :le, :t)",
          soci::use(id), soci::use(event_id), soci::use(channel_name), soci::use(clinic_id), soci::use(procedure_id),
          soci::use(patient_id), soci::use(kind), soci::use(due), soci::use(recipient), soci::use(subject),
          soci::use(body), soci::use(payload_text), soci::use(unsubscribe_url), soci::use(state), soci::use(zero),
          soci::use(due), soci::use(empty), soci::use(t);
      ++written;
    }
  }
  return written;
}

RegistrationWork RemindersOnRegistration(const Plan& plan, const ReminderSettings& settings, Instant now) {
  return [&plan, &settings, now](soci::session& sql, const ProcedureRecord& procedure) {
    EnqueueReminders(sql, procedure, plan, settings, now);
  };
}

int CancelReminders(Store& store, Id clinic_id, Id procedure_id, Instant now) {
  int cancelled = 0;
  store.Transact([&](soci::session& sql) {
    long long clinic = clinic_id, procedure = procedure_id, t = Seconds(now);
    cancelled = Affected(sql,
                         "UPDATE notify_outbox SET state = 'cancelled', last_error = 'cancelled by staff', "
                         "next_attempt_at = :t WHERE procedure_id = :p AND clinic_id = :c AND state = 'pending'",
                         [&](soci::statement& st) {
                           st.exchange(soci::use(t));
                           st.exchange(soci::use(procedure));
                           st.exchange(soci::use(clinic));
                         });
  });
  return cancelled;
}

namespace {

int OptOut(soci::session& sql, long long patient_id, Instant now) {
  long long t = Seconds(now);
  if (!PatientOptedOut(sql, patient_id)) {
    sql << "INSERT INTO notify_optout (patient_id, at) VALUES (:p, :t)", soci::use(patient_id), soci::use(t);
  }
  return Affected(sql,
                  "UPDATE notify_outbox SET state = 'unsubscribed', last_error = 'the patient unsubscribed', "
                  "next_attempt_at = :t WHERE patient_id = :p AND state = 'pending'",
                  [&](soci::statement& st) {
                    st.exchange(soci::use(t));
                    st.exchange(soci::use(patient_id));
                  });
}

}  // namespace

int UnsubscribePatient(Store& store, Id procedure_id, Instant now) {
  int withdrawn = 0;
  store.Transact([&](soci::session& sql) {
    long long patient_id = PatientOf(sql, procedure_id);
    if (patient_id != 0) withdrawn = OptOut(sql, patient_id, now);
  });
  return withdrawn;
}

Result<int> UnsubscribeByToken(Store& store, std::string_view token, Instant now) {
  if (token.empty() || token.size() > 200) return MakeError("this unsubscribe link is not valid");
  std::string hash = HashToken(token);
  std::optional<int> withdrawn;
  store.Transact([&](soci::session& sql) {
    long long patient_id = 0;
    sql << "SELECT patient_id FROM notify_unsubscribe WHERE token_hash = :h", soci::use(hash),
        soci::into(patient_id);
    if (sql.got_data()) withdrawn = OptOut(sql, patient_id, now);
  });
  if (!withdrawn) return MakeError("this unsubscribe link is not valid");
  return *withdrawn;
}

bool UnsubscribeTokenKnown(Store& store, std::string_view token) {
  if (token.empty() || token.size() > 200) return false;
  std::string hash = HashToken(token);
  bool known = false;
  store.Transact([&](soci::session& sql) {
    long long patient_id = 0;
    sql << "SELECT patient_id FROM notify_unsubscribe WHERE token_hash = :h", soci::use(hash),
        soci::into(patient_id);
    known = sql.got_data();
  });
  return known;
}

std::vector<std::pair<OutboxState, std::int64_t>> CountOutbox(Store& store) {
  std::vector<std::pair<OutboxState, std::int64_t>> out;
  for (auto s : {OutboxState::kPending, OutboxState::kSent, OutboxState::kFailed, OutboxState::kCancelled,
                 OutboxState::kUnsubscribed}) {
    out.emplace_back(s, 0);
  }
  // On a reading session: a count of a large outbox takes a while and must not hold up the writer.
  store.Read([&](soci::session& sql) {
    std::string state;
    long long count = 0;
    soci::statement st = (sql.prepare << "SELECT state, COUNT(*) FROM notify_outbox GROUP BY state",
                          soci::into(state), soci::into(count));
    st.execute();
    while (st.fetch()) {
      if (auto parsed = ParseOutboxState(state)) {
        for (auto& [s, n] : out) {
          if (s == *parsed) n = count;
        }
      }
    }
  });
  return out;
}

std::vector<OutboxEntry> ListOutbox(Store& store, Id clinic_id, std::optional<Id> procedure_id,
                                    std::optional<OutboxState> state, int limit) {
  std::vector<OutboxEntry> out;
  store.Transact([&](soci::session& sql) {
    long long clinic = clinic_id, procedure = procedure_id.value_or(0);
    long long lim = std::clamp(limit, 1, 1000);
    std::string state_name(state ? OutboxStateName(*state) : "");
    std::string query = std::string("SELECT ") + kEntryColumns + " FROM notify_outbox WHERE clinic_id = :c";
    if (procedure_id) query += " AND procedure_id = :p";
    if (state) query += " AND state = :s";
    query += " ORDER BY due_at DESC, event_id, channel LIMIT :l";
    out = SelectEntries(sql, query, [&](soci::statement& st) {
      st.exchange(soci::use(clinic));
      if (procedure_id) st.exchange(soci::use(procedure));
      if (state) st.exchange(soci::use(state_name));
      st.exchange(soci::use(lim));
    });
  });
  return out;
}

}  // namespace aftercare
