// RESTinio glue: turns each HTTP request into an HttpRequest for Api, writes its answer with the security headers,
// and stops gracefully on SIGTERM/SIGINT. RESTinio and asio exceptions stop here.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include <restinio/all.hpp>

#include "aftercare/server.h"

namespace aftercare {
namespace {

HttpRequest ToRequest(const restinio::request_handle_t& req) {
  HttpRequest r;
  const auto& h = req->header();
  r.method = std::string(h.method().c_str());
  r.path = std::string(h.path());
  r.query = std::string(h.query());
  r.body = req->body();
  r.authorization = std::string(h.get_field_or(restinio::http_field::authorization, ""));
  r.content_type = std::string(h.get_field_or(restinio::http_field::content_type, ""));
  r.accept = std::string(h.get_field_or(restinio::http_field::accept, ""));
  r.client = req->remote_endpoint().address().to_string();
  return r;
}

std::string Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// RESTinio with its connection count limiter, so `max_parallel_connections` applies.
struct Traits : restinio::default_traits_t {
  static constexpr bool use_connection_count_limiter = true;
};

// File descriptors kept for everything but client connections: the database's files or sockets, the dispatcher's
// sockets, web-root files, the listening socket, asio's own.
constexpr std::size_t kReservedDescriptors = 64;

// Raises the soft RLIMIT_NOFILE to the hard limit and returns how many connections fit under it. An accept that
// fails with EMFILE stops RESTinio's acceptor for good (it does not retry), so connections are capped below the
// descriptor limit instead: beyond the cap, new clients wait in the listen backlog until a connection closes.
std::size_t ConnectionCap(std::size_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::min<std::size_t>(wanted, 1024 - kReservedDescriptors);
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return wanted;
  std::size_t usable = limit.rlim_cur > kReservedDescriptors + 16 ? limit.rlim_cur - kReservedDescriptors : 16;
  return std::min(wanted, usable);
}

}  // namespace

Result<int> RunServer(Api& api, const ServerOptions& options) {
  // Block the stop signals here so every server thread inherits the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto handler = [&api](const restinio::request_handle_t& req) {
    auto started = std::chrono::steady_clock::now();
    HttpRequest request = ToRequest(req);
    HttpResponse response = api.Handle(request);
    auto out = req->create_response(
        restinio::http_status_line_t{restinio::http_status_code_t{static_cast<std::uint16_t>(response.status)},
                                     Reason(response.status)});
    out.append_header(restinio::http_field::content_type, response.content_type);
    for (const auto& [name, value] : SecurityHeaders()) {
      // A response may set its own (the web pages' Content-Security-Policy allows their own scripts).
      bool own = std::any_of(response.headers.begin(), response.headers.end(),
                             [&name = name](const auto& h) { return h.first == name; });
      if (!own) out.append_header(name, value);
    }
    for (const auto& [name, value] : response.headers) out.append_header(name, value);
    out.set_body(std::move(response.body));
    out.done();
    api.Observe(request, response,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return restinio::request_accepted();
  };

  std::size_t max_connections = ConnectionCap(static_cast<std::size_t>(std::max(1, options.max_connections)));
  // Bodies up to the hard cap reach Api, which answers 413 above max_body_bytes; beyond it RESTinio closes the
  // connection without reading more.
  auto settings = restinio::server_settings_t<Traits>{};
  settings.address(options.host)
      .port(options.port)
      .request_handler(std::move(handler))
      .max_parallel_connections(max_connections)
      .read_next_http_message_timelimit(std::chrono::seconds(options.request_timeout_seconds))
      .write_http_response_timelimit(std::chrono::seconds(options.request_timeout_seconds))
      .handle_request_timeout(std::chrono::seconds(options.request_timeout_seconds))
      .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                    .max_url_size(options.max_header_bytes)
                                    .max_field_name_size(256)
                                    .max_field_value_size(options.max_header_bytes)
                                    .max_field_count(100)
                                    .max_body_size(std::max<std::size_t>(options.max_body_bytes * 4, 1 << 20)));
  try {
    auto server = restinio::run_async<Traits>(restinio::own_io_context(), std::move(settings),
                                              static_cast<std::size_t>(std::max(1, options.threads)));
    api.Log("info", "listening", {{"address", options.host},
                                  {"port", std::to_string(options.port)},
                                  {"max_connections", std::to_string(max_connections)}});
    int signal = 0;
    sigwait(&stop_signals, &signal);
    api.Log("info", "stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server->stop();  // stops accepting; the pool finishes the handlers that are running
    server->wait();
    api.Log("info", "stopped");
    return 0;
  } catch (const std::exception& e) {
    return MakeError("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + e.what());
  }
}

}  // namespace aftercare
