// The clinic server: the JSON API under /api/v1 for staff (bearer API token, scoped to their clinic) and patients
// (the private link's token, scoped to its procedure), plus /healthz, /readyz and /metrics. Api answers one request
// at a time without any HTTP library, so it is testable on its own; RunServer puts it behind RESTinio. Answers come
// from the same engine, checks, views and calendar functions the CLI uses. Time comes from an injectable clock.
// Every bad input is a 4xx with {"error": {"code", "message"}}; a failing database is a 503; never a crash.
#ifndef AFTERCARE_SERVER_H_
#define AFTERCARE_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "aftercare/engine.h"
#include "aftercare/protocol.h"
#include "aftercare/result.h"
#include "aftercare/store.h"
#include "aftercare/time.h"

namespace aftercare {

using Clock = std::function<Instant()>;
// The system clock, to the second.
Instant SystemNow();

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string public_url;        // base of patient links; empty: http://host:port
  int threads = 4;
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 8 * 1024;  // per header value; the URL is limited to the same
  int request_timeout_seconds = 30;
  int max_connections = 4096;    // open client connections at once; lowered to fit the descriptor limit (http.cc)
  std::size_t plan_cache_size = 1024;  // compiled plans kept for the patient status endpoint; 0: compile each time
  int rate_limit_per_minute = 300;  // per client address, on every token endpoint; 0: no limit
  std::string web_root;          // serve the web pages from this folder; empty: the copies built in (web/)
  Clock clock = SystemNow;
  // Work to add to the registration transaction of each new procedure (the notify module's reminders:
  // RemindersOnRegistration), given the procedure's compiled plan; empty: none. Keeps server free of notify.
  std::function<RegistrationWork(const Plan& plan, Instant now)> registration_work;
  // Extra Prometheus text appended to /metrics (e.g. the reminder outbox depth); empty: none.
  std::function<std::string()> extra_metrics;
  std::ostream* log = nullptr;      // JSON lines; nullptr: std::clog
};

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80" → host and port. Error: no port, or a port outside 1..65535.
Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen);

struct HttpRequest {
  std::string method;         // "GET"
  std::string path;           // "/api/v1/procedures/12", without the query
  std::string query;          // "at=2026-11-29T10:00&q=gym", still percent-encoded
  std::string body;
  std::string authorization;  // the Authorization header, if any
  std::string content_type;
  std::string accept;         // the Accept header: a browser asking for HTML gets the page at /p/{token}
  std::string client;         // the client address, for rate limits only (never logged)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type and the security headers
  std::string route;  // the route template matched ("/api/v1/p/{token}/status"), for metrics and logs
};

// The security headers every response carries (nosniff, no-referrer, no-store, frame and content policies).
const std::vector<std::pair<std::string, std::string>>& SecurityHeaders();

class Api {
 public:
  // `protocol` is the protocol new procedures are registered under; it is kept in the store by id and version, and
  // procedures registered under other versions are answered from the text stored for them. Throws
  // StoreUnavailable if the store fails while keeping it.
  Api(Store& store, const Protocol& protocol, std::string protocol_text, ServerOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Answers one request. Thread-safe; never throws.
  HttpResponse Handle(const HttpRequest& request);

  // Records one answered request for /metrics and writes its log line.
  void Observe(const HttpRequest& request, const HttpResponse& response, double seconds);
  // Writes one structured log line: {"ts", "level", "event", ...fields}. Fields must never hold patient data.
  void Log(const std::string& level, const std::string& event,
           const std::vector<std::pair<std::string, std::string>>& fields = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Serves `api` on options.host:port until SIGTERM or SIGINT, then stops accepting, lets requests in flight finish
// and returns 0. Error: the address cannot be bound (one line).
Result<int> RunServer(Api& api, const ServerOptions& options);

}  // namespace aftercare

#endif  // AFTERCARE_SERVER_H_
