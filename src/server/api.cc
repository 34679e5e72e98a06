// The API: routing, authentication, strict input validation, and the answers, each from the same library call the
// CLI makes. Inside this file a 4xx travels as a Refusal exception to Handle, which turns it into a response; no
// exception leaves Api.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#if AFTERCARE_HAVE_CALENDAR
#include "aftercare/calendar.h"
#endif
#include "aftercare/checks.h"
#include "aftercare/engine.h"
#include "aftercare/notify.h"
#include "aftercare/server.h"
#include "aftercare/text.h"
#include "aftercare/views.h"
#include "aftercare/check_views.h"
#include "static_files.h"

namespace aftercare {
namespace {

using json = nlohmann::json;

// A 4xx answer on its way to Handle.
struct Refusal {
  int status;
  std::string code;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

[[noreturn]] void Refuse(int status, std::string code, std::string message) {
  throw Refusal{status, std::move(code), std::move(message)};
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);  // user text may not be UTF-8
  return r;
}

// An answer already written as JSON text.
HttpResponse TextJsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}


HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message) {
  return JsonResponse(status, json{{"error", {{"code", code}, {"message", OneLine(message)}}}});
}

std::string IsoUtc(Instant t) { return date::format("%FT%TZ", t); }

// The unsubscribe pages: no scripts or styles, one form posting back to the same address.
constexpr const char* kUnsubscribePagePolicy = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";

// ------------------------------------------------------------------------------------------------------------------
// Query strings and bodies
// ------------------------------------------------------------------------------------------------------------------

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) Refuse(400, "invalid_query", "a '%' escape is cut short");
      int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) Refuse(400, "invalid_query", "a '%' escape is not two hex digits");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  for (unsigned char c : out) {
    if (c < 0x20 && c != '\t') Refuse(400, "invalid_query", "the query holds a control character");
  }
  try {
    (void)json(out).dump();  // nlohmann's strict UTF-8 check (overlong forms, surrogates, cut-short sequences)
  } catch (const json::type_error&) {
    Refuse(400, "invalid_query", "the query is not valid UTF-8");
  }
  return out;
}

// The query's parameters; a parameter not in `allowed`, or given twice, is refused.
std::map<std::string, std::string> ParseQuery(const std::string& query, std::initializer_list<const char*> allowed) {
  std::map<std::string, std::string> out;
  if (query.empty()) return out;
  for (const auto& part : SplitList(query, '&')) {
    auto eq = part.find('=');
    std::string key = PercentDecode(std::string_view(part).substr(0, eq));
    std::string value = eq == std::string::npos ? "" : PercentDecode(std::string_view(part).substr(eq + 1));
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      Refuse(400, "unknown_parameter",
             "unknown query parameter '" + key.substr(0, 40) + "'" +
                 (names.empty() ? std::string("; this endpoint takes none") : "; this endpoint takes " + JoinOr(names)));
    }
    if (!out.emplace(key, value).second) Refuse(400, "invalid_query", "the parameter '" + key + "' is given twice");
  }
  return out;
}

// The JSON object of a request body: application/json, valid, an object, only the `allowed` members.
json ParseBody(const HttpRequest& request, std::size_t max_bytes, std::initializer_list<const char*> allowed) {
  if (request.body.size() > max_bytes) {
    Refuse(413, "payload_too_large", "the body is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string type = NormalizeWords(request.content_type.substr(0, request.content_type.find(';')));
  if (type != "application json") {
    Refuse(415, "unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'");
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) Refuse(400, "invalid_json", "the body is not valid JSON");
  if (!body.is_object()) Refuse(400, "invalid_json", "the body must be a JSON object");
  for (const auto& item : body.items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture those
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      Refuse(400, "unknown_field", "unknown field '" + key.substr(0, 40) + "'; expected " + JoinOr(names));
    }
  }
  return body;
}

bool ValidUtf8Text(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;
  }
  return true;
}

std::optional<std::string> StringField(const json& body, const char* key, bool required, std::size_t max_len) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) Refuse(400, "missing_field", std::string("the field '") + key + "' is required");
    return std::nullopt;
  }
  if (!it->is_string()) Refuse(400, "invalid_field", std::string("the field '") + key + "' must be a string");
  std::string value = it->get<std::string>();
  if (value.size() > max_len) {
    Refuse(400, "invalid_field", std::string("the field '") + key + "' is longer than " + std::to_string(max_len) +
                                     " characters");
  }
  if (!ValidUtf8Text(value)) Refuse(400, "invalid_field", std::string("the field '") + key + "' holds control characters");
  if (required && value.empty()) Refuse(400, "invalid_field", std::string("the field '") + key + "' is empty");
  return value;
}

std::optional<std::vector<std::string>> ListField(const json& body, const char* key, bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) Refuse(400, "missing_field", std::string("the field '") + key + "' is required");
    return std::nullopt;
  }
  if (!it->is_array()) Refuse(400, "invalid_field", std::string("the field '") + key + "' must be a list of strings");
  if (it->size() > 50) Refuse(400, "invalid_field", std::string("the field '") + key + "' has more than 50 entries");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 100) {
      Refuse(400, "invalid_field", std::string("the field '") + key + "' must be a list of non-empty strings");
    }
    out.push_back(v.get<std::string>());
  }
  if (required && out.empty()) Refuse(400, "invalid_field", std::string("the field '") + key + "' is empty");
  return out;
}

bool ValidReference(const std::string& s) {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
         });
}

bool LooksLikeToken(std::string_view s) {
  return s.size() >= 20 && s.size() <= 100 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_';
         });
}

// ------------------------------------------------------------------------------------------------------------------
// Rate limits and metrics
// ------------------------------------------------------------------------------------------------------------------

class RateLimiter {
 public:
  explicit RateLimiter(int per_minute) : per_minute_(per_minute) {}

  // Seconds to wait, or 0 if the request may go ahead.
  int Take(const std::string& client) {
    if (per_minute_ <= 0) return 0;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (buckets_.size() > 100000) buckets_.clear();
    auto [it, fresh] = buckets_.try_emplace(client, Bucket{static_cast<double>(per_minute_), now});
    Bucket& b = it->second;
    double rate = per_minute_ / 60.0;
    if (!fresh) {
      double elapsed = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min<double>(per_minute_, b.tokens + elapsed * rate);
      b.last = now;
    }
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
      return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate)));
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  int per_minute_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

constexpr std::array<double, 11> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1.0,  2.5};

// A compiled plan with the text of its last status answers: a patient page asks again and again, and the answers
// change only at the plan's boundaries, so the same text serves until one activity's segment changes.
class CachedPlan {
 public:
  explicit CachedPlan(Plan plan) : plan_(std::move(plan)) {}
  const Plan& plan() const { return plan_; }

  // AnswersJsonText(plan, answers), written again only when some answer's segment differs from the last call's.
  std::string AnswersText(const std::vector<Answer>& answers) const {
    std::vector<const Segment*> key;
    key.reserve(answers.size());
    for (const auto& a : answers) key.push_back(a.segment);
    std::lock_guard lock(mutex_);
    if (key != key_) {
      text_ = AnswersJsonText(plan_, answers);
      key_ = std::move(key);
    }
    return text_;
  }

 private:
  Plan plan_;
  mutable std::mutex mutex_;
  mutable std::vector<const Segment*> key_;
  mutable std::string text_;
};

// Compiled plans of recently asked-about procedures, least recently used dropped first. A plan depends only on
// what the key holds (the procedure's end, zone, areas and protocol version), so a cached one is never stale.
class PlanCache {
 public:
  explicit PlanCache(std::size_t capacity) : capacity_(capacity) {}

  template <typename Compile>
  std::shared_ptr<const CachedPlan> Get(const std::string& key, Compile&& compile) {
    if (capacity_ == 0) return std::make_shared<const CachedPlan>(compile());
    {
      std::lock_guard lock(mutex_);
      if (auto it = index_.find(key); it != index_.end()) {
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
      }
    }
    auto plan = std::make_shared<const CachedPlan>(compile());
    std::lock_guard lock(mutex_);
    if (index_.count(key) == 0) {
      order_.emplace_front(key, plan);
      index_[key] = order_.begin();
      if (order_.size() > capacity_) {
        index_.erase(order_.back().first);
        order_.pop_back();
      }
    }
    return plan;
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CachedPlan>>;
  std::size_t capacity_;
  std::mutex mutex_;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

class Metrics {
 public:
  void Observe(const std::string& route, const std::string& method, int status, double seconds) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, method, status}];
    auto& h = latency_[route];
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
    }
    ++h.count;
    h.sum += seconds;
  }

  std::string Text() {
    std::lock_guard lock(mutex_);
    std::ostringstream out;
    out << "# HELP aftercare_http_requests_total HTTP requests answered, by route template, method and status.\n"
        << "# TYPE aftercare_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      const auto& [route, method, status] = key;
      out << "aftercare_http_requests_total{route=\"" << route << "\",method=\"" << method << "\",status=\""
          << status << "\"} " << count << "\n";
    }
    out << "# HELP aftercare_http_request_duration_seconds Time to answer a request, by route template.\n"
        << "# TYPE aftercare_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        out << "aftercare_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << kLatencyBuckets[i]
            << "\"} " << h.buckets[i] << "\n";
      }
      out << "aftercare_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count
          << "\n";
      out << "aftercare_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n";
      out << "aftercare_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
    }
    return out.str();
  }

 private:
  struct Histogram {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

std::string JsonEscape(const std::string& s) {
  // Route templates, methods and numbers (most of what is logged) need no escaping: skip the library for them.
  bool plain =
      std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (plain) return '"' + s + '"';
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Instant SystemNow() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen) {
  std::string host;
  std::string port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return MakeError("--listen '" + listen + "': write [ADDRESS]:PORT, e.g. [::1]:8080");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return MakeError("--listen '" + listen + "': write HOST:PORT, e.g. 127.0.0.1:8080");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host.empty()) return MakeError("--listen '" + listen + "': the address is empty, e.g. 127.0.0.1:8080");
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return MakeError("--listen '" + listen + "': the port must be a number from 1 to 65535");
  }
  return std::pair(host, static_cast<std::uint16_t>(std::stoi(port)));
}

const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const std::vector<std::pair<std::string, std::string>> kHeaders = {
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},  // patient links carry their token in the path
      {"Cache-Control", "no-store"},
      {"X-Frame-Options", "DENY"},
      {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  };
  return kHeaders;
}

struct Api::Impl {
  Impl(Store& s, const Protocol& p, std::string text, ServerOptions o)
      : store(s), current(&p), options(std::move(o)), limiter(options.rate_limit_per_minute) {
    if (options.public_url.empty()) {
      bool v6 = options.host.find(':') != std::string::npos;
      options.public_url = "http://" + (v6 ? "[" + options.host + "]" : options.host) + ":" +
                           std::to_string(options.port);
    }
    while (!options.public_url.empty() && options.public_url.back() == '/') options.public_url.pop_back();
    std::string kept = store.KeepProtocol(p.id, p.version, text);
    if (kept != text) {
      mismatch = true;  // the file changed without a new version: keep answering from the first text
    }
  }

  Store& store;
  const Protocol* current;
  bool mismatch = false;
  ServerOptions options;
  RateLimiter limiter;
  Metrics metrics;
  std::mutex log_mutex;
  std::mutex protocols_mutex;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Protocol>> protocols;
  PlanCache plans{options.plan_cache_size};

  Instant Now() const { return options.clock(); }

  // The protocol a procedure was registered under.
  const Protocol& ProtocolFor(const std::string& id, const std::string& version) {
    if (!mismatch && id == current->id && version == current->version) return *current;
    std::lock_guard lock(protocols_mutex);
    auto key = std::pair(id, version);
    if (auto it = protocols.find(key); it != protocols.end()) return *it->second;
    auto text = store.ProtocolText(id, version);
    if (!text) throw std::runtime_error("protocol " + id + " " + version + " is not in the store");
    auto parsed = ParseProtocol(*text, "stored protocol " + id + " " + version);
    if (!parsed) throw std::runtime_error(parsed.error().message);
    return *(protocols[key] = std::make_unique<Protocol>(std::move(parsed).value()));
  }

  Plan PlanOf(const ProcedureRecord& record) {
    const Protocol& protocol = ProtocolFor(record.protocol_id, record.protocol_version);
    auto zone = FindZone(record.zone);
    if (!zone) throw std::runtime_error("stored zone: " + zone.error().message);
    auto plan = Plan::Compile(protocol, Procedure{record.end, *zone, record.areas});
    if (!plan) throw std::runtime_error("stored procedure: " + plan.error().message);
    return std::move(plan).value();
  }

  // The procedure's plan from the cache, compiled on a miss.
  std::shared_ptr<const CachedPlan> CachedPlanOf(const ProcedureRecord& record) {
    std::string key = std::to_string(record.id) + '|' + record.protocol_id + '|' + record.protocol_version + '|' +
                      std::to_string(record.end.time_since_epoch().count()) + '|' + record.zone;
    for (const auto& area : record.areas) key += '|' + area;
    return plans.Get(key, [&] { return PlanOf(record); });
  }

  static Instant ActiveUntil(const Plan& plan) {
    auto milestones = plan.Milestones();
    return milestones.empty() ? plan.procedure().end : milestones.back().at;
  }

  json ProcedureView(const ProcedureRecord& r) {
    Zone zone = FindZone(r.zone).ok() ? *FindZone(r.zone) : date::locate_zone("UTC");
    json out = {{"id", r.id},
                {"reference", r.reference},
                {"display_name", r.display_name ? json(*r.display_name) : json(nullptr)},
                {"contact", r.contact ? json(*r.contact) : json(nullptr)},
                {"procedure_end", FormatInstant(r.end, zone)},
                {"zone", r.zone},
                {"areas", r.areas},
                {"protocol", {{"id", r.protocol_id}, {"version", r.protocol_version}}},
                {"series_number", r.series_number},
                {"follows", r.follows ? json(*r.follows) : json(nullptr)},
                {"state", Now() < r.active_until ? "active" : "finished"},
                {"active_until", FormatInstant(r.active_until, zone)},
                {"registered_at", IsoUtc(r.created_at)},
                {"links", {{"self", "/api/v1/procedures/" + std::to_string(r.id)}}}};
    return out;
  }

  // --------------------------------------------------------------------------------------------------------------
  // Authentication
  // --------------------------------------------------------------------------------------------------------------

  StaffIdentity Staff(const HttpRequest& request) {
    std::string_view auth = request.authorization;
    std::string scheme = NormalizeWords(auth.substr(0, auth.find(' ')));
    if (auth.empty() || scheme != "bearer" || auth.find(' ') == std::string_view::npos) {
      throw Refusal{401, "unauthorized", "send the clinic's API token as 'Authorization: Bearer TOKEN'",
                    {{"WWW-Authenticate", "Bearer realm=\"aftercare\""}}};
    }
    std::string_view token = auth.substr(auth.find(' ') + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    std::optional<StaffIdentity> who;
    if (LooksLikeToken(token)) who = store.AuthenticateApiToken(token);
    if (!who) {
      throw Refusal{401, "unauthorized", "the API token is not valid",
                    {{"WWW-Authenticate", "Bearer realm=\"aftercare\", error=\"invalid_token\""}}};
    }
    return *who;
  }

  ProcedureRecord Patient(const std::string& token) {
    std::optional<ProcedureRecord> record;
    if (LooksLikeToken(token)) record = store.FindProcedureByPatientToken(token);
    if (!record) Refuse(404, "not_found", "this link is not valid; ask your clinic for your aftercare link");
    return *record;
  }

  Id ParseId(const std::string& text) {
    if (text.empty() || text.size() > 16 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
      Refuse(404, "not_found", "no procedure '" + text.substr(0, 40) + "' in this clinic");
    }
    return std::stoll(text);
  }

  Instant ParseAt(const std::map<std::string, std::string>& query, const Plan& plan) {
    auto it = query.find("at");
    if (it == query.end() || it->second.empty() || it->second == "now") {
      Instant now = Now();
      return std::max(now, plan.procedure().end);
    }
    if (it->second.size() > 64) Refuse(400, "invalid_time", "at: too long for a time");
    auto at = ParseTime(it->second, plan.procedure().zone);
    if (!at) Refuse(400, "invalid_time", "at: " + at.error().message);
    if (*at < plan.procedure().end) {
      Refuse(400, "before_procedure", "at: " + it->second + " is before the procedure ended (" +
                                          FormatInstant(plan.procedure().end, plan.procedure().zone) + ")");
    }
    return *at;
  }

  std::string Question(const std::map<std::string, std::string>& query, const char* key) {
    auto it = query.find(key);
    if (it == query.end() || NormalizeWords(it->second).empty()) {
      Refuse(400, "missing_parameter", std::string("ask with ?") + key + "=... in plain words");
    }
    if (it->second.size() > 200) Refuse(400, "invalid_parameter", std::string(key) + ": longer than 200 characters");
    return it->second;
  }

  // --------------------------------------------------------------------------------------------------------------
  // Staff endpoints
  // --------------------------------------------------------------------------------------------------------------

  HttpResponse Login(const HttpRequest& request) {
    json body = ParseBody(request, options.max_body_bytes, {"login", "password"});
    auto login = StringField(body, "login", true, 100);
    auto password = StringField(body, "password", true, 1000);
    auto token = store.Login(*login, *password, Now());
    if (!token) Refuse(401, "unauthorized", token.error().message);
    return JsonResponse(200, {{"token", *token}, {"token_type", "Bearer"}});
  }

  // The plan of a new procedure, validated by the engine; the second is the zone's canonical name.
  std::pair<Plan, std::string> CompileNew(const std::string& end_text, const std::string& zone_name,
                                          const std::vector<std::string>& areas_in) {
    auto zone = FindZone(zone_name);
    if (!zone) Refuse(400, "invalid_field", "zone: " + zone.error().message);
    auto end = ParseTime(end_text, *zone);
    if (!end) Refuse(400, "invalid_field", "procedure_end: " + end.error().message);
    if (*end > Now() + std::chrono::hours(24 * 366)) {
      Refuse(400, "invalid_field", "procedure_end: more than a year from now");
    }
    std::vector<std::string> areas;
    for (const auto& a : areas_in) areas.push_back(NormalizeWords(a));
    auto plan = Plan::Compile(*current, Procedure{*end, *zone, areas});
    if (!plan) Refuse(400, "invalid_field", plan.error().message);
    return {std::move(plan).value(), std::string((*zone)->name())};
  }

  HttpResponse Registered(const RegisteredProcedure& r) {
    json out = ProcedureView(r.procedure);
    std::string link = options.public_url + "/p/" + r.patient_token;
    json body = {{"procedure", out},
                 {"patient_link", link},
                 {"patient_token", r.patient_token},
                 {"patient_api", options.public_url + "/api/v1/p/" + r.patient_token}};
    HttpResponse response = JsonResponse(201, body);
    response.headers.emplace_back("Location", "/api/v1/procedures/" + std::to_string(r.procedure.id));
    return response;
  }

  HttpResponse RegisterProcedure(const HttpRequest& request) {
    StaffIdentity who = Staff(request);
    json body = ParseBody(request, options.max_body_bytes,
                          {"reference", "display_name", "contact", "procedure_end", "zone", "areas"});
    NewProcedure p;
    p.reference = *StringField(body, "reference", true, 100);
    if (!ValidReference(p.reference)) {
      Refuse(400, "invalid_field",
             "reference: letters, digits and . _ - : / only (a pseudonymous reference, not the patient's name)");
    }
    p.display_name = StringField(body, "display_name", false, 200);
    p.contact = StringField(body, "contact", false, 320);
    auto end_text = *StringField(body, "procedure_end", true, 64);
    auto zone_name = *StringField(body, "zone", true, 64);
    auto areas = *ListField(body, "areas", true);
    auto [plan, zone] = CompileNew(end_text, zone_name, areas);
    p.end = plan.procedure().end;
    p.zone = zone;
    p.areas = plan.procedure().areas;
    p.protocol_id = current->id;
    p.protocol_version = current->version;
    p.active_until = ActiveUntil(plan);
    RegistrationWork also;
    if (options.registration_work) also = options.registration_work(plan, Now());
    auto registered = store.RegisterProcedure(who.clinic_id, who.staff_id, p, Now(), also);
    if (!registered) Refuse(400, "invalid_field", registered.error().message);
    return Registered(*registered);
  }

  HttpResponse ListProcedures(const HttpRequest& request) {
    StaffIdentity who = Staff(request);
    auto query = ParseQuery(request.query, {"state", "limit", "offset"});
    ProcedureFilter filter = ProcedureFilter::kAll;
    if (auto it = query.find("state"); it != query.end()) {
      if (it->second == "active") {
        filter = ProcedureFilter::kActive;
      } else if (it->second == "finished") {
        filter = ProcedureFilter::kFinished;
      } else if (it->second != "all") {
        Refuse(400, "invalid_parameter", "state: 'active', 'finished' or 'all'");
      }
    }
    auto number = [&](const char* key, long long fallback, long long lo, long long hi) {
      auto it = query.find(key);
      if (it == query.end()) return fallback;
      const std::string& v = it->second;
      if (v.empty() || v.size() > 12 || !std::all_of(v.begin(), v.end(), ::isdigit) || std::stoll(v) < lo ||
          std::stoll(v) > hi) {
        Refuse(400, "invalid_parameter",
               std::string(key) + ": a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
      }
      return std::stoll(v);
    };
    int limit = static_cast<int>(number("limit", 20, 1, 100));
    long long offset = number("offset", 0, 0, 1'000'000'000);
    auto page = store.ListProcedures(who.clinic_id, filter, Now(), limit, offset);
    json items = json::array();
    for (const auto& r : page.items) {
      json item = ProcedureView(r);
      // For the clinic page: the day since the procedure (Day 1 starts 24 h after it) and the symptom reports
      // whose assessment is not "expected" (longer or earlier than the sheet says, or not described by it).
      auto hours = std::chrono::duration_cast<std::chrono::hours>(Now() - r.end).count();
      item["day"] = hours >= 0 ? hours / 24 : -((-hours + 23) / 24);
      json alerts = json::array();
      for (const auto& s : store.SymptomReports(r.id)) {
        if (s.assessment == "expected") continue;
        alerts.push_back({{"reported_at", IsoUtc(s.reported_at)}, {"words", s.words}, {"assessment", s.assessment}});
      }
      item["symptom_alerts"] = alerts;
      items.push_back(item);
    }
    json out = {{"items", items}, {"total", page.total}, {"limit", limit}, {"offset", offset}};
    out["next_offset"] = offset + static_cast<long long>(page.items.size()) < page.total
                             ? json(offset + static_cast<long long>(page.items.size()))
                             : json(nullptr);
    store.Audit(AuditEntry{who.clinic_id, "staff:" + std::to_string(who.staff_id), "procedure.list", "", Now()});
    return JsonResponse(200, out);
  }

  ProcedureRecord StaffProcedure(const StaffIdentity& who, const std::string& id_text) {
    Id id = ParseId(id_text);
    auto record = store.FindProcedure(who.clinic_id, id);
    if (!record) Refuse(404, "not_found", "no procedure " + id_text + " in this clinic");
    return *record;
  }

  HttpResponse ReadProcedure(const HttpRequest& request, const std::string& id_text) {
    StaffIdentity who = Staff(request);
    ParseQuery(request.query, {});
    ProcedureRecord record = StaffProcedure(who, id_text);
    Plan plan = PlanOf(record);
    Instant at = std::max(Now(), record.end);
    json out = ProcedureView(record);
    auto answers = plan.Status(at);
    if (answers) out["status"] = StatusJson(plan, at, *answers);
    json reports = json::array();
    for (const auto& s : store.SymptomReports(record.id)) {
      reports.push_back({{"reported_at", IsoUtc(s.reported_at)},
                         {"words", s.words},
                         {"assessment", s.assessment},
                         {"answer", json::parse(s.answer_json, nullptr, false)}});
    }
    out["symptom_reports"] = reports;
    ProcedureRecord latest = store.LatestInSeries(record);
    out["latest_in_series"] = latest.id;
    store.Audit(AuditEntry{who.clinic_id, "staff:" + std::to_string(who.staff_id), "procedure.read",
                           "procedure:" + std::to_string(record.id), Now()});
    return JsonResponse(200, out);
  }

  // The protocol new procedures are registered under: its treated areas and series, for the clinic page's form.
  HttpResponse ProtocolInfo(const HttpRequest& request) {
    Staff(request);
    ParseQuery(request.query, {});
    json areas = json::array();
    for (const auto& a : current->areas) areas.push_back({{"id", a.id}, {"label", a.label}});
    json out = {{"id", current->id}, {"name", current->name}, {"version", current->version}, {"areas", areas},
                {"series", nullptr}};
    if (current->series) {
      out["series"] = {{"min_interval", current->series->min_interval.ToString()},
                       {"min_count", current->series->min_count},
                       {"max_count", current->series->max_count}};
    }
    return JsonResponse(200, out);
  }

  // The treatments of the series a procedure belongs to, first to latest, and the earliest date of the next one.
  HttpResponse SeriesView(const HttpRequest& request, const std::string& id_text) {
    StaffIdentity who = Staff(request);
    ParseQuery(request.query, {});
    ProcedureRecord latest = store.LatestInSeries(StaffProcedure(who, id_text));
    std::vector<ProcedureRecord> chain{latest};
    while (chain.back().follows && chain.size() < 100) {
      auto earlier = store.FindProcedure(who.clinic_id, *chain.back().follows);
      if (!earlier) break;
      chain.push_back(*earlier);
    }
    std::reverse(chain.begin(), chain.end());
    json treatments = json::array();
    for (const auto& r : chain) treatments.push_back(ProcedureView(r));
    json out = {{"treatments", treatments}, {"count", latest.series_number}, {"latest", latest.id},
                {"min_count", nullptr}, {"max_count", nullptr}, {"next_earliest", nullptr}, {"complete", false}};
    const Protocol& protocol = ProtocolFor(latest.protocol_id, latest.protocol_version);
    if (protocol.series) {
      auto zone = FindZone(latest.zone);
      if (!zone) throw std::runtime_error("stored zone: " + zone.error().message);
      out["min_count"] = protocol.series->min_count;
      out["max_count"] = protocol.series->max_count;
      out["min_interval"] = protocol.series->min_interval.ToString();
      out["complete"] = latest.series_number >= protocol.series->max_count;
      if (!out["complete"].get<bool>()) {
        out["next_earliest"] = FormatInstant(AddOffset(latest.end, protocol.series->min_interval, *zone), *zone);
      }
    }
    store.Audit(AuditEntry{who.clinic_id, "staff:" + std::to_string(who.staff_id), "procedure.read",
                           "procedure:" + std::to_string(latest.id), Now()});
    return JsonResponse(200, out);
  }

  HttpResponse FollowUp(const HttpRequest& request, const std::string& id_text) {
    StaffIdentity who = Staff(request);
    json body = ParseBody(request, options.max_body_bytes, {"procedure_end", "zone", "areas"});
    ProcedureRecord earlier = StaffProcedure(who, id_text);
    ProcedureRecord latest = store.LatestInSeries(earlier);
    auto end_text = *StringField(body, "procedure_end", true, 64);
    auto zone_name = StringField(body, "zone", false, 64).value_or(latest.zone);
    auto areas = ListField(body, "areas", false).value_or(latest.areas);
    auto [plan, zone] = CompileNew(end_text, zone_name, areas);
    const Protocol& protocol = ProtocolFor(latest.protocol_id, latest.protocol_version);
    if (protocol.series && latest.series_number >= protocol.series->max_count) {
      Refuse(409, "series_complete", "this series already has " + std::to_string(latest.series_number) +
                                         " treatments, the most the protocol allows (" +
                                         std::to_string(protocol.series->max_count) + ")");
    }
    auto check = CheckBooking(protocol, latest.end, plan.procedure().end, plan.procedure().zone);
    if (!check) Refuse(409, "invalid_booking", check.error().message);
    if (!check->ok) {
      Refuse(409, "too_early",
             "the next treatment may be at the earliest " + FormatInstant(check->earliest, plan.procedure().zone) +
                 " (" + check->min_interval.ToString() + " after the last one)");
    }
    NewProcedure p;
    p.reference = latest.reference;
    p.end = plan.procedure().end;
    p.zone = zone;
    p.areas = plan.procedure().areas;
    p.protocol_id = current->id;
    p.protocol_version = current->version;
    p.active_until = ActiveUntil(plan);
    p.follows = latest.id;
    RegistrationWork also;
    if (options.registration_work) also = options.registration_work(plan, Now());
    auto registered = store.RegisterProcedure(who.clinic_id, who.staff_id, p, Now(), also);
    if (!registered) Refuse(400, "invalid_field", registered.error().message);
    return Registered(*registered);
  }

  // --------------------------------------------------------------------------------------------------------------
  // Patient endpoints
  // --------------------------------------------------------------------------------------------------------------

  HttpResponse PatientIndex(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    ProcedureRecord record = Patient(token);
    Plan plan = PlanOf(record);
    json out = ProcedureJson(plan);
    if (record.display_name) out["display_name"] = *record.display_name;
    std::string base = "/api/v1/p/" + token;
    out["links"] = {{"status", base + "/status"}, {"can", base + "/can?q="}, {"plan", base + "/plan"},
                    {"med", base + "/med?q="},    {"ingredients", base + "/ingredients"},
                    {"symptom", base + "/symptom"}, {"calendar", base + "/plan.ics"},
                    {"unsubscribe", base + "/unsubscribe"}};
    out["reminders"] = RemindersJson(record);
    return JsonResponse(200, out);
  }

  HttpResponse PatientStatus(const HttpRequest& request, const std::string& token) {
    auto query = ParseQuery(request.query, {"at"});
    ProcedureRecord record = Patient(token);
    std::shared_ptr<const CachedPlan> cached = CachedPlanOf(record);
    const Plan& plan = cached->plan();
    Instant at = ParseAt(query, plan);
    auto answers = plan.Status(at);
    if (!answers) Refuse(400, "invalid_time", answers.error().message);
    // Written as text, not as a document: this is the endpoint every open patient page polls.
    std::string body = StatusJsonText(plan, at, *answers, cached->AnswersText(*answers));
    body.pop_back();  // the closing brace: "reminders" sorts after every member written
    body += ",\"reminders\":" + RemindersJson(record).dump() + "}";
    return TextJsonResponse(200, std::move(body));
  }

  // Whether the patient page offers "Stop reminders": the procedure has a contact to remind, and the patient has
  // not unsubscribed.
  json RemindersJson(const ProcedureRecord& record) {
    bool contact = record.contact && !record.contact->empty();
    return {{"contact", contact}, {"subscribed", !record.reminders_stopped}};
  }

  HttpResponse PatientPlan(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    ProcedureRecord record = Patient(token);
    Plan plan = PlanOf(record);
    return TextJsonResponse(200, PlanJsonText(plan));
  }

  HttpResponse PatientCan(const HttpRequest& request, const std::string& token) {
    auto query = ParseQuery(request.query, {"q", "at", "context"});
    ProcedureRecord record = Patient(token);
    std::string question = Question(query, "q");
    Plan plan = PlanOf(record);
    Instant at = ParseAt(query, plan);
    auto understood =
        ResolvePlainWords(PhraseLexicon::Builtin(), MedicineLexicon::Builtin(), plan.protocol(), question);
    if (!understood) Refuse(422, "not_understood", understood.error().message);
    json out = {{"question", question}, {"understood", {{"phrase", understood->phrase}}}};
    if (understood->kind == Understood::Kind::kMedicine) {
      out["understood"]["kind"] = "medicine";
      out["understood"]["medicine"] = understood->medicine;
      out["medicine"] = MedicineAnswerJson({plan, at}, CheckMedicine(MedicineLexicon::Builtin(), plan, understood->medicine, at));
      return JsonResponse(200, out);
    }
    out["understood"]["kind"] = "activity";
    out["understood"]["activity"] = understood->activity->id;
    std::string context;
    if (auto it = query.find("context"); it != query.end()) context = it->second;
    auto answer = plan.Can(understood->activity->id, at, context);
    if (!answer) Refuse(400, "invalid_parameter", answer.error().message);
    out["answer"] = AnswerJson(plan, *answer);
    return JsonResponse(200, out);
  }

  HttpResponse PatientMedicine(const HttpRequest& request, const std::string& token) {
    auto query = ParseQuery(request.query, {"q", "at"});
    ProcedureRecord record = Patient(token);
    std::string question = Question(query, "q");
    Plan plan = PlanOf(record);
    Instant at = ParseAt(query, plan);
    return JsonResponse(200, MedicineAnswerJson({plan, at}, CheckMedicine(MedicineLexicon::Builtin(), plan, question, at)));
  }

  HttpResponse PatientIngredients(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    ProcedureRecord record = Patient(token);
    json body = ParseBody(request, options.max_body_bytes, {"ingredients", "at"});
    std::string inci;
    auto it = body.find("ingredients");
    if (it == body.end()) Refuse(400, "missing_field", "the field 'ingredients' is required: the list as printed");
    if (it->is_string()) {
      inci = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& v : *it) {
        if (!v.is_string()) Refuse(400, "invalid_field", "ingredients: a string or a list of strings");
        if (!inci.empty()) inci += ", ";
        inci += v.get<std::string>();
      }
    } else {
      Refuse(400, "invalid_field", "ingredients: a string or a list of strings");
    }
    if (inci.size() > 20000) Refuse(400, "invalid_field", "ingredients: longer than 20000 characters");
    Plan plan = PlanOf(record);
    std::map<std::string, std::string> at_query;
    if (auto at = StringField(body, "at", false, 64)) at_query["at"] = *at;
    Instant at = ParseAt(at_query, plan);
    auto answer = CheckIngredients(IngredientLexicon::Builtin(), plan, inci, at);
    if (!answer) Refuse(400, "invalid_field", "ingredients: " + answer.error().message);
    return JsonResponse(200, IngredientsAnswerJson({plan, at}, *answer));
  }

  HttpResponse PatientSymptom(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    ProcedureRecord record = Patient(token);
    json body = ParseBody(request, options.max_body_bytes, {"words", "at"});
    std::string words = *StringField(body, "words", true, 1000);
    Plan plan = PlanOf(record);
    std::map<std::string, std::string> at_query;
    if (auto at = StringField(body, "at", false, 64)) at_query["at"] = *at;
    Instant at = ParseAt(at_query, plan);
    auto answer = AssessSymptoms(SymptomLexicon::Builtin(), plan, words, at);
    if (!answer) Refuse(400, "invalid_field", "words: " + answer.error().message);
    json out = SymptomAnswerJson({plan, at}, *answer);
    store.AddSymptomReport(
        SymptomReport{record.id, at, words, std::string(AssessmentName(answer->assessment)), out.dump()});
    return JsonResponse(201, out);
  }

  HttpResponse PatientCalendar(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    ProcedureRecord record = Patient(token);
#if AFTERCARE_HAVE_CALENDAR
    Plan plan = PlanOf(record);
    CalendarOptions calendar;
    calendar.procedure_id = "p-" + std::to_string(record.id);
    calendar.now = Now();
    auto ics = CalendarIcs(plan, calendar);
    if (!ics) Refuse(422, "calendar_unavailable", ics.error().message);
    HttpResponse r;
    r.content_type = "text/calendar; charset=utf-8";
    r.body = *ics;
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"aftercare.ics\"");
    return r;
#else
    Refuse(404, "not_found", "this server was built without the calendar library");
#endif
  }

  // The private link as a QR code to scan at checkout (the clinic page shows it).
  HttpResponse PatientQr(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    Patient(token);
    HttpResponse r;
    r.content_type = "image/svg+xml";
    r.body = QrSvg(options.public_url + "/p/" + token);
    if (r.body.empty()) throw std::runtime_error("libqrencode could not encode the link");
    return r;
  }

  // --------------------------------------------------------------------------------------------------------------
  // Reminders (the notify module's outbox)
  // --------------------------------------------------------------------------------------------------------------

  // Patient, from their page: no more reminders for this patient, now or for later procedures.
  HttpResponse PatientUnsubscribe(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    ProcedureRecord record = Patient(token);
    if (!request.body.empty()) ParseBody(request, options.max_body_bytes, {});
    int withdrawn = UnsubscribePatient(store, record.id, Now());
    store.Audit(AuditEntry{record.clinic_id, "patient:" + std::to_string(record.id), "reminders.unsubscribe",
                           "procedure:" + std::to_string(record.id), Now()});
    return JsonResponse(200, {{"reminders", {{"subscribed", false}}}, {"withdrawn", withdrawn}});
  }

  // The two small pages of the mail's unsubscribe link: a title and the inside of <main>.
  static HttpResponse UnsubscribePage(const std::string& title, const std::string& main_html) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.headers.emplace_back("Content-Security-Policy", kUnsubscribePagePolicy);
    r.body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
             "content=\"width=device-width, initial-scale=1\"><title>" + title + "</title></head><body><main>" +
             main_html + "</main></body></html>";
    return r;
  }

  // The link in each mail. GET changes nothing (mail scanners follow links): a page, or JSON, offering the POST.
  // POST unsubscribes: the page's button, and mail clients' one-click List-Unsubscribe (a form body, ignored).
  HttpResponse UnsubscribeLink(const HttpRequest& request, const std::string& token) {
    ParseQuery(request.query, {});
    if (request.body.size() > options.max_body_bytes) {
      Refuse(413, "payload_too_large", "the body is larger than " + std::to_string(options.max_body_bytes) + " bytes");
    }
    const char* invalid = "this unsubscribe link is not valid; ask your clinic to stop the reminders";
    if (!LooksLikeToken(token)) Refuse(404, "not_found", invalid);
    if (request.method == "GET") {
      if (!UnsubscribeTokenKnown(store, token)) Refuse(404, "not_found", invalid);
      if (!WantsHtml(request)) {
        return JsonResponse(200, {{"unsubscribe", {{"method", "POST"}, {"url", "/u/" + token}}}});
      }
      return UnsubscribePage("Stop reminders",
                             "<h1>Stop aftercare reminders?</h1><p>You will get no more reminder emails or messages "
                             "from your clinic about your aftercare.</p><form method=\"post\"><button "
                             "type=\"submit\">Stop reminders</button></form>");
    }
    auto withdrawn = UnsubscribeByToken(store, token, Now());
    if (!withdrawn) Refuse(404, "not_found", invalid);
    if (WantsHtml(request)) {
      return UnsubscribePage("Reminders stopped",
                             "<h1>Reminders stopped</h1><p>You will get no more aftercare reminders. Your aftercare "
                             "link still works.</p>");
    }
    return JsonResponse(200, {{"reminders", {{"subscribed", false}}}, {"withdrawn", *withdrawn}});
  }

  // Staff: withdraws a procedure's pending reminders.
  HttpResponse CancelProcedureReminders(const HttpRequest& request, const std::string& id_text) {
    StaffIdentity who = Staff(request);
    ParseQuery(request.query, {});
    ProcedureRecord record = StaffProcedure(who, id_text);
    if (!request.body.empty()) ParseBody(request, options.max_body_bytes, {});
    int cancelled = CancelReminders(store, who.clinic_id, record.id, Now());
    store.Audit(AuditEntry{who.clinic_id, "staff:" + std::to_string(who.staff_id), "reminders.cancel",
                           "procedure:" + std::to_string(record.id), Now()});
    return JsonResponse(200, {{"procedure_id", record.id}, {"cancelled", cancelled}});
  }

  // Staff: the clinic's reminders and their delivery state (what failed and why), newest due first.
  HttpResponse Outbox(const HttpRequest& request) {
    StaffIdentity who = Staff(request);
    auto query = ParseQuery(request.query, {"state", "procedure", "limit"});
    std::optional<OutboxState> state;
    if (auto it = query.find("state"); it != query.end()) {
      state = ParseOutboxState(it->second);
      if (!state) Refuse(400, "invalid_parameter", "state: pending, sent, failed, cancelled or unsubscribed");
    }
    std::optional<Id> procedure;
    if (auto it = query.find("procedure"); it != query.end()) procedure = StaffProcedure(who, it->second).id;
    int limit = 100;
    if (auto it = query.find("limit"); it != query.end()) {
      const std::string& v = it->second;
      if (v.empty() || v.size() > 4 || !std::all_of(v.begin(), v.end(), ::isdigit) || std::stoi(v) < 1 ||
          std::stoi(v) > 1000) {
        Refuse(400, "invalid_parameter", "limit: a whole number from 1 to 1000");
      }
      limit = std::stoi(v);
    }
    json items = json::array();
    for (const auto& e : ListOutbox(store, who.clinic_id, procedure, state, limit)) {
      items.push_back({{"event_id", e.event_id},
                       {"channel", e.channel},
                       {"procedure_id", e.procedure_id},
                       {"kind", e.kind},
                       {"due", IsoUtc(e.due)},
                       {"state", OutboxStateName(e.state)},
                       {"attempts", e.attempts},
                       {"next_attempt", IsoUtc(e.next_attempt)},
                       {"sent_at", e.sent_at ? json(IsoUtc(*e.sent_at)) : json(nullptr)},
                       {"last_error", e.last_error}});
    }
    store.Audit(AuditEntry{who.clinic_id, "staff:" + std::to_string(who.staff_id), "outbox.list",
                           procedure ? "procedure:" + std::to_string(*procedure) : "", Now()});
    return JsonResponse(200, {{"items", items}, {"limit", limit}});
  }

  // --------------------------------------------------------------------------------------------------------------
  // Routing
  // --------------------------------------------------------------------------------------------------------------

  HttpResponse Ready() {
    int version = store.SchemaVersion();
    json out = {{"database", store.backend()}, {"schema_version", version}};
    if (version < LatestSchemaVersion()) {
      out["status"] = "migrations pending";
      return JsonResponse(503, out);
    }
    out["status"] = "ready";
    return JsonResponse(200, out);
  }

  HttpResponse Route(const HttpRequest& request, std::string* route) {
    const std::string& path = request.path;
    const std::string& method = request.method;
    std::vector<std::string> seg;
    if (path.empty() || path[0] != '/') Refuse(404, "not_found", "no such endpoint");
    {
      std::size_t start = 1;
      while (true) {
        auto slash = path.find('/', start);
        seg.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
    }
    auto allow = [&](std::initializer_list<const char*> methods) {
      for (const char* m : methods) {
        if (method == m) return;
      }
      std::string list;
      for (const char* m : methods) list += (list.empty() ? "" : ", ") + std::string(m);
      throw Refusal{405, "method_not_allowed", "use " + list + " here", {{"Allow", list}}};
    };
    auto limited = [&] {
      if (int wait = limiter.Take(request.client); wait > 0) {
        throw Refusal{429, "rate_limited", "too many requests; try again in " + std::to_string(wait) + " s",
                      {{"Retry-After", std::to_string(wait)}}};
      }
    };

    if (auto page = ServeStatic(options.web_root, request)) {  // the web pages: static_files.cc
      *route = page->route;
      return *page;
    }
    if (seg.size() == 1 && seg[0] == "healthz") {
      *route = "/healthz";
      allow({"GET"});
      return JsonResponse(200, {{"status", "ok"}});
    }
    if (seg.size() == 1 && seg[0] == "readyz") {
      *route = "/readyz";
      allow({"GET"});
      return Ready();
    }
    if (seg.size() == 1 && seg[0] == "metrics") {
      *route = "/metrics";
      allow({"GET"});
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics.Text();
      if (options.extra_metrics) r.body += options.extra_metrics();
      return r;
    }
    if (seg.size() == 2 && seg[0] == "p") {
      *route = "/p/{token}";
      limited();
      allow({"GET"});
      if (WantsHtml(request)) return PatientPage(options.web_root);  // a browser: the patient page
      return PatientIndex(request, seg[1]);
    }
    if (seg.size() == 2 && seg[0] == "u") {
      *route = "/u/{token}";
      limited();
      allow({"GET", "POST"});
      return UnsubscribeLink(request, seg[1]);
    }
    if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1") {
      *route = "unmatched";
      Refuse(404, "not_found", "no such endpoint; the API is under /api/v1 (see docs/openapi.yaml)");
    }
    limited();
    if (seg.size() == 3 && seg[2] == "login") {
      *route = "/api/v1/login";
      allow({"POST"});
      return Login(request);
    }
    if (seg.size() == 3 && seg[2] == "protocol") {
      *route = "/api/v1/protocol";
      allow({"GET"});
      return ProtocolInfo(request);
    }
    if (seg[2] == "procedures") {
      if (seg.size() == 3) {
        *route = "/api/v1/procedures";
        allow({"GET", "POST"});
        return method == "POST" ? RegisterProcedure(request) : ListProcedures(request);
      }
      if (seg.size() == 4) {
        *route = "/api/v1/procedures/{id}";
        allow({"GET"});
        return ReadProcedure(request, seg[3]);
      }
      if (seg.size() == 5 && seg[4] == "series") {
        *route = "/api/v1/procedures/{id}/series";
        allow({"GET"});
        return SeriesView(request, seg[3]);
      }
      if (seg.size() == 6 && seg[4] == "reminders" && seg[5] == "cancel") {
        *route = "/api/v1/procedures/{id}/reminders/cancel";
        allow({"POST"});
        return CancelProcedureReminders(request, seg[3]);
      }
      if (seg.size() == 5 && seg[4] == "follow-ups") {
        *route = "/api/v1/procedures/{id}/follow-ups";
        allow({"POST"});
        return FollowUp(request, seg[3]);
      }
    }
    if (seg.size() == 3 && seg[2] == "outbox") {
      *route = "/api/v1/outbox";
      allow({"GET"});
      return Outbox(request);
    }
    if (seg[2] == "p" && seg.size() == 4) {
      *route = "/api/v1/p/{token}";
      allow({"GET"});
      return PatientIndex(request, seg[3]);
    }
    if (seg[2] == "p" && seg.size() == 5) {
      const std::string& what = seg[4];
      const std::string& token = seg[3];
      *route = "/api/v1/p/{token}/" + what;
      if (what == "status") return allow({"GET"}), PatientStatus(request, token);
      if (what == "plan") return allow({"GET"}), PatientPlan(request, token);
      if (what == "can") return allow({"GET"}), PatientCan(request, token);
      if (what == "med") return allow({"GET"}), PatientMedicine(request, token);
      if (what == "ingredients") return allow({"POST"}), PatientIngredients(request, token);
      if (what == "symptom") return allow({"POST"}), PatientSymptom(request, token);
      if (what == "plan.ics") return allow({"GET"}), PatientCalendar(request, token);
      if (what == "qr.svg") return allow({"GET"}), PatientQr(request, token);
      if (what == "unsubscribe") return allow({"POST"}), PatientUnsubscribe(request, token);
      *route = "/api/v1/p/{token}/{unknown}";  // never a user's text in a metric label or a log line
    }
    *route = "unmatched";
    Refuse(404, "not_found", "no such endpoint; see docs/openapi.yaml");
  }
};

Api::Api(Store& store, const Protocol& protocol, std::string protocol_text, ServerOptions options)
    : impl_(std::make_unique<Impl>(store, protocol, std::move(protocol_text), std::move(options))) {
  if (impl_->mismatch) {
    Log("warn", "protocol_changed_without_new_version",
        {{"protocol", protocol.id}, {"version", protocol.version},
         {"reading", "answering from the text first stored under this version; give the file a new version"}});
  }
}

Api::~Api() = default;

HttpResponse Api::Handle(const HttpRequest& request) {
  std::string route = "unmatched";
  HttpResponse response;
  try {
    response = impl_->Route(request, &route);
  } catch (const Refusal& r) {
    response = ErrorResponse(r.status, r.code, r.message);
    response.headers = r.headers;
  } catch (const StoreUnavailable& e) {
    Log("error", "database_unavailable", {{"reason", e.what()}});
    response = ErrorResponse(503, "unavailable",
                             "the database is unavailable (unreachable or out of space); try again shortly");
    response.headers.emplace_back("Retry-After", "5");
  } catch (const std::exception& e) {
    Log("error", "internal_error", {{"route", route}, {"reason", e.what()}});
    response = ErrorResponse(500, "internal", "something went wrong on our side; it has been logged");
  } catch (...) {
    Log("error", "internal_error", {{"route", route}});
    response = ErrorResponse(500, "internal", "something went wrong on our side; it has been logged");
  }
  response.route = route;
  return response;
}

void Api::Observe(const HttpRequest& request, const HttpResponse& response, double seconds) {
  impl_->metrics.Observe(response.route, request.method, response.status, seconds);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000);
  Log(response.status >= 500 ? "error" : "info", "request",
      {{"method", request.method.substr(0, 10)},
       {"route", response.route},
       {"status", std::to_string(response.status)},
       {"duration_ms", ms}});
}

void Api::Log(const std::string& level, const std::string& event,
              const std::vector<std::pair<std::string, std::string>>& fields) {
  auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto day = date::floor<date::days>(now);
  date::year_month_day ymd(day);
  date::hh_mm_ss<std::chrono::milliseconds> tod(now - day);
  char ts[48];
  std::snprintf(ts, sizeof ts, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()), static_cast<int>(tod.subseconds().count()));
  std::string line = "{\"ts\":\"" + std::string(ts) + "\",\"level\":" + JsonEscape(level) +
                     ",\"event\":" + JsonEscape(event);
  for (const auto& [key, value] : fields) line += "," + JsonEscape(key) + ":" + JsonEscape(value);
  line += "}\n";
  std::ostream& out = impl_->options.log ? *impl_->options.log : std::clog;
  std::lock_guard lock(impl_->log_mutex);
  out << line << std::flush;
}

}  // namespace aftercare
