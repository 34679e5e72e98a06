// The server's own cost for one patient status request: Api::Handle on a temporary SQLite store, without HTTP.
// With bench/peers/http_peer.sh (the same request through RESTinio and the kernel) it shows where the time goes.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "aftercare/server.h"

namespace aftercare {
namespace {

class StatusFixture {
 public:
  StatusFixture() {
    dir_ = std::filesystem::temp_directory_path() / ("aftercare_server_bench_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    store_ = std::move(Store::Open("sqlite:" + (dir_ / "a.db").string())).value();
    ServerOptions options;
    options.clock = [] { return Instant(std::chrono::seconds(1'800'000'000)); };
    options.log = &log_;
    options.rate_limit_per_minute = 0;
    api_ = std::make_unique<Api>(*store_, BuiltinProtocol(), std::string(BuiltinProtocolText()), options);
    auto clinic = *store_->CreateClinic("Bench", Instant(std::chrono::seconds(1)));
    HttpRequest r;
    r.method = "POST";
    r.path = "/api/v1/procedures";
    r.content_type = "application/json";
    r.authorization = "Bearer " + clinic.api_token;
    r.body = R"({"reference": "B-1", "procedure_end": "2027-01-14T09:00Z", "zone": "America/New_York",
                 "areas": ["face"]})";
    auto created = api_->Handle(r);
    if (created.status != 201) throw std::runtime_error("register: " + created.body);
    std::string link = nlohmann::json::parse(created.body)["patient_link"];
    while (!link.empty() && link.back() == '/') link.pop_back();
    status_.method = "GET";
    status_.path = "/api/v1/p/" + link.substr(link.rfind('/') + 1) + "/status";
    status_.client = "127.0.0.1";
  }
  ~StatusFixture() {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResponse Status() {
    HttpResponse response = api_->Handle(status_);
    api_->Observe(status_, response, 0.0001);  // the log line and metrics, as RunServer writes them
    log_.str("");
    return response;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
  std::ostringstream log_;
  HttpRequest status_;
};

void BM_PatientStatusRequest(benchmark::State& state) {
  StatusFixture fixture;
  if (fixture.Status().status != 200) state.SkipWithError("status did not answer 200");
  for (auto _ : state) benchmark::DoNotOptimize(fixture.Status());
}
BENCHMARK(BM_PatientStatusRequest);

}  // namespace
}  // namespace aftercare
