// Any bytes as the JSON body and the query string of each API endpoint that reads them, answered by Api (no HTTP
// library) over a temporary SQLite store with one clinic and one registered procedure. Handle must never throw and
// never answer 5xx (the store does not fail here); every JSON answer parses, and every 4xx is
// {"error": {"code", "message"}} with a one-line message.
//
// Input: byte 0 picks the endpoint, byte 1 the Content-Type, byte 2 the length of the query string that follows;
// the rest is the body.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aftercare/notify.h"
#include "aftercare/server.h"

namespace aftercare {
namespace {

using json = nlohmann::json;

enum class Auth { kNone, kStaff, kPatient };

struct Endpoint {
  const char* method;
  const char* path;  // {id}: the procedure's id, {token}: its patient token
  Auth auth;
};

constexpr Endpoint kEndpoints[] = {
    // Bodies (src/server/api.cc: every ParseBody).
    {"POST", "/api/v1/login", Auth::kNone},
    {"POST", "/api/v1/procedures", Auth::kStaff},
    {"POST", "/api/v1/procedures/{id}/follow-ups", Auth::kStaff},
    {"POST", "/api/v1/procedures/{id}/reminders/cancel", Auth::kStaff},
    {"POST", "/api/v1/p/{token}/ingredients", Auth::kNone},
    {"POST", "/api/v1/p/{token}/symptom", Auth::kNone},
    {"POST", "/api/v1/p/{token}/unsubscribe", Auth::kNone},
    {"POST", "/u/{token}", Auth::kNone},
    // Query strings.
    {"GET", "/api/v1/procedures", Auth::kStaff},
    {"GET", "/api/v1/procedures/{id}", Auth::kStaff},
    {"GET", "/api/v1/procedures/{id}/series", Auth::kStaff},
    {"GET", "/api/v1/outbox", Auth::kStaff},
    {"GET", "/api/v1/protocol", Auth::kStaff},
    {"GET", "/api/v1/p/{token}", Auth::kNone},
    {"GET", "/api/v1/p/{token}/status", Auth::kNone},
    {"GET", "/api/v1/p/{token}/plan", Auth::kNone},
    {"GET", "/api/v1/p/{token}/can", Auth::kNone},
    {"GET", "/api/v1/p/{token}/med", Auth::kNone},
};
constexpr std::size_t kEndpointCount = sizeof kEndpoints / sizeof kEndpoints[0];

constexpr const char* kContentTypes[] = {"application/json", "application/json; charset=utf-8", "text/plain", ""};

// Runs between fresh databases: writes (procedures, symptom reports, audit rows) stay bounded in a long run.
constexpr int kRunsPerDatabase = 4096;

class Fixture {
 public:
  Fixture() : dir_(ScratchRoot() / (kScratchPrefix + std::to_string(::getpid()))) {
    reminders_.public_url = "http://fuzz.example";
    RemoveStaleScratch();
    Reset();
  }
  ~Fixture() {
    api_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void Reset() {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
    auto opened = Store::Open("sqlite:" + (dir_ / "fuzz.db").string());
    if (!opened) Die("cannot open the store: " + opened.error().message);
    store_ = std::move(opened).value();
    ServerOptions options;
    options.clock = [] { return Instant(std::chrono::seconds(1'800'000'000)); };  // 2027-01-15T08:00Z
    options.rate_limit_per_minute = 0;
    options.log = &log_;
    options.registration_work = [this](const Plan& plan, Instant now) {
      return RemindersOnRegistration(plan, reminders_, now);
    };
    api_ = std::make_unique<Api>(*store_, BuiltinProtocol(), std::string(BuiltinProtocolText()), options);
    auto clinic = store_->CreateClinic("Fuzz", Instant(std::chrono::seconds(1)));
    if (!clinic) Die("cannot create the clinic: " + clinic.error().message);
    staff_token_ = clinic->api_token;
    HttpRequest request;
    request.method = "POST";
    request.path = "/api/v1/procedures";
    request.content_type = "application/json";
    request.authorization = "Bearer " + staff_token_;
    request.body = R"({"reference":"P-1","contact":"p@example.org","procedure_end":"2027-01-14T14:00",)"
                   R"("zone":"Europe/London","areas":["face","periorbital"]})";
    HttpResponse created = api_->Handle(request);
    if (created.status != 201) Die("cannot register the procedure: " + created.body);
    json body = json::parse(created.body);
    patient_token_ = body["patient_token"].get<std::string>();
    procedure_id_ = std::to_string(body["procedure"]["id"].get<Id>());
    runs_ = 0;
  }

  void Run(const std::uint8_t* data, std::size_t size) {
    if (++runs_ > kRunsPerDatabase) Reset();
    log_.str("");
    if (size < 3) return;
    const Endpoint& endpoint = kEndpoints[data[0] % kEndpointCount];
    HttpRequest request;
    request.method = endpoint.method;
    request.path = Fill(endpoint.path);
    request.content_type = kContentTypes[data[1] % 4];
    if (endpoint.auth == Auth::kStaff) request.authorization = "Bearer " + staff_token_;
    request.client = "127.0.0.1";
    std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
    std::size_t query_size = std::min<std::size_t>(data[2], rest.size());
    request.query = std::string(rest.substr(0, query_size));
    request.body = std::string(rest.substr(query_size));

    HttpResponse response;
    try {
      response = api_->Handle(request);
    } catch (...) {
      Fail(request, response, "Handle threw");
    }
    Check(request, response);
  }

 private:
  std::string Fill(std::string path) const {
    if (auto at = path.find("{id}"); at != std::string::npos) path.replace(at, 4, procedure_id_);
    if (auto at = path.find("{token}"); at != std::string::npos) path.replace(at, 7, patient_token_);
    return path;
  }

  void Check(const HttpRequest& request, const HttpResponse& response) {
    if (response.status < 200 || response.status > 599) Fail(request, response, "not an HTTP status");
    if (response.status >= 500) Fail(request, response, "a 5xx for a request (the store did not fail)");
    bool is_json = response.content_type.rfind("application/json", 0) == 0;
    json body;
    if (is_json) {
      body = json::parse(response.body, nullptr, false);
      if (body.is_discarded()) Fail(request, response, "the JSON answer does not parse");
    }
    if (response.status < 400) return;
    if (!is_json) Fail(request, response, "a 4xx that is not JSON");
    if (!body.is_object() || body.size() != 1 || !body.contains("error")) {
      Fail(request, response, "a 4xx body that is not {\"error\": ...}");
    }
    const json& error = body["error"];
    if (!error.is_object() || error.size() != 2 || !error.contains("code") || !error.contains("message") ||
        !error["code"].is_string() || !error["message"].is_string()) {
      Fail(request, response, "a 4xx error that is not {\"code\", \"message\"} with two strings");
    }
    const std::string code = error["code"].get<std::string>();
    const std::string message = error["message"].get<std::string>();
    if (code.empty() || message.empty()) Fail(request, response, "an empty error code or message");
    if (message.find_first_of("\r\n") != std::string::npos) Fail(request, response, "a message of more than one line");
  }

  [[noreturn]] void Fail(const HttpRequest& request, const HttpResponse& response, const std::string& what) {
    std::fprintf(stderr, "http_json_fuzz: %s\n  %s %s?%s\n  content-type: %s\n  body: %s\n  -> %d %s\n  log: %s\n",
                 what.c_str(), request.method.c_str(), request.path.c_str(), request.query.c_str(),
                 request.content_type.c_str(), request.body.c_str(), response.status, response.body.c_str(),
                 log_.str().c_str());
    std::abort();
  }

  static constexpr const char* kScratchPrefix = "aftercare_http_json_fuzz_";

  // libFuzzer ends a run without running destructors: remove the folders of earlier runs whose process is gone.
  static void RemoveStaleScratch() {
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(ScratchRoot(), ignored)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(kScratchPrefix, 0) != 0) continue;
      std::string pid = name.substr(std::string_view(kScratchPrefix).size());
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
      if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) {
        std::filesystem::remove_all(entry.path(), ignored);
      }
    }
  }

  // In memory when the system has /dev/shm: SQLite's checkpoints then cost no disk writes.
  static std::filesystem::path ScratchRoot() {
    std::error_code ignored;
    if (std::filesystem::is_directory("/dev/shm", ignored)) return "/dev/shm";
    return std::filesystem::temp_directory_path();
  }

  [[noreturn]] static void Die(const std::string& what) {
    std::fprintf(stderr, "http_json_fuzz: %s\n", what.c_str());
    std::abort();
  }

  std::filesystem::path dir_;
  ReminderSettings reminders_;
  std::ostringstream log_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
  std::string staff_token_;
  std::string patient_token_;
  std::string procedure_id_;
  int runs_ = 0;
};

Fixture* fixture = nullptr;

}  // namespace
}  // namespace aftercare

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static aftercare::Fixture fixture;
  aftercare::fixture = &fixture;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  aftercare::fixture->Run(data, size);
  return 0;
}
