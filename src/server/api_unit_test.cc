// Api without HTTP: routing, strict input and scoping, on a temporary SQLite store and a fixed clock.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "aftercare/server.h"
#include "aftercare/views.h"

namespace aftercare {
namespace {

using json = nlohmann::json;

TEST(ParseListenTest, HostsAndPorts) {
  EXPECT_EQ(ParseListen("127.0.0.1:8080")->second, 8080);
  EXPECT_EQ(ParseListen("[::1]:9000")->first, "::1");
  EXPECT_FALSE(ParseListen("127.0.0.1").ok());
  EXPECT_FALSE(ParseListen("127.0.0.1:0").ok());
  EXPECT_FALSE(ParseListen("127.0.0.1:70000").ok());
  EXPECT_FALSE(ParseListen(":80").ok());
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("aftercare_api_unit_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    store_ = std::move(Store::Open("sqlite:" + (dir_ / "a.db").string())).value();
    ServerOptions options;
    options.clock = [] { return Instant(std::chrono::seconds(1'800'000'000)); };
    options.log = &log_;
    options.registration_work = [this](const Plan& plan, Instant) -> RegistrationWork {
      planned_areas_ = plan.procedure().areas;
      return [this](soci::session&, const ProcedureRecord& record) { hooked_ = record.id; };
    };
    options.extra_metrics = [] { return std::string("aftercare_outbox_pending 0\n"); };
    api_ = std::make_unique<Api>(*store_, BuiltinProtocol(), std::string(BuiltinProtocolText()), options);
    clinic_ = *store_->CreateClinic("Unit", Instant(std::chrono::seconds(1)));
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  HttpResponse Call(std::string method, std::string path, std::string body = "", std::string token = "") {
    HttpRequest r;
    r.method = std::move(method);
    auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) r.query = path.substr(q + 1);
    r.body = std::move(body);
    r.content_type = "application/json";
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.client = "127.0.0.1";
    return api_->Handle(r);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Api> api_;
  std::ostringstream log_;
  ClinicCredentials clinic_;
  std::vector<std::string> planned_areas_;
  Id hooked_ = 0;
};

TEST_F(ApiTest, RegistersAndAnswersThePatient) {
  auto created = Call("POST", "/api/v1/procedures",
                      R"({"reference":"P-1","procedure_end":"2027-01-14T14:00","zone":"Europe/London",)"
                      R"("areas":["face"]})",
                      clinic_.api_token);
  ASSERT_EQ(created.status, 201) << created.body;
  auto body = json::parse(created.body);
  std::string token = body["patient_token"];
  EXPECT_NE(body["patient_link"].get<std::string>().find("/p/" + token), std::string::npos);
  auto status = Call("GET", "/api/v1/p/" + token + "/status?at=2027-01-15T10:00");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_TRUE(json::parse(status.body).contains("activities"));
  EXPECT_EQ(status.route, "/api/v1/p/{token}/status");
  EXPECT_EQ(log_.str().find(token), std::string::npos);
  // The registration hook (notify's reminders) saw the plan and ran in the transaction with the new record.
  EXPECT_EQ(planned_areas_, std::vector<std::string>{"face"});
  EXPECT_EQ(hooked_, body["procedure"]["id"].get<Id>());
  EXPECT_NE(Call("GET", "/metrics").body.find("aftercare_outbox_pending 0"), std::string::npos);
}

// The status endpoint keeps each plan and the text of its last answers; asking on both sides of a boundary, and
// back again, must answer exactly what the engine says at each moment (procedure end 14:00, sunscreen from 02:00).
//   14:00 end      23:00 ask          02:00 sunscreen allowed      10:00 ask
//     |--------------- * ---------------|------------------------------ * ---->
TEST_F(ApiTest, StatusAnswersFollowTheBoundariesOfAKeptPlan) {
  auto created = Call("POST", "/api/v1/procedures",
                      R"({"reference":"C-1","procedure_end":"2027-01-14T14:00","zone":"Europe/London",)"
                      R"("areas":["face"]})",
                      clinic_.api_token);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string token = json::parse(created.body)["patient_token"];
  Zone london = *FindZone("Europe/London");
  auto plan = Plan::Compile(BuiltinProtocol(), Procedure{*ParseTime("2027-01-14T14:00", london), london, {"face"}});
  ASSERT_TRUE(plan.ok());
  for (const std::string at : {"2027-01-14T23:00", "2027-01-15T10:00", "2027-01-14T23:00", "2027-01-21T10:00"}) {
    auto answer = Call("GET", "/api/v1/p/" + token + "/status?at=" + at);
    ASSERT_EQ(answer.status, 200) << answer.body;
    Instant instant = *ParseTime(at, london);
    json got = json::parse(answer.body);
    got.erase("reminders");
    EXPECT_EQ(got, StatusJson(*plan, instant, *plan->Status(instant))) << "at " << at;
  }
}

TEST_F(ApiTest, BadInputIsA4xxWithAnErrorBody) {
  for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/api/v1/procedures", "{"},
           {"POST", "/api/v1/procedures", "[]"},
           {"POST", "/api/v1/procedures", R"({"reference":"x","extra":1})"},
           {"POST", "/api/v1/procedures", R"({"reference":"P","procedure_end":"x","zone":"Europe/London","areas":["face"]})"},
           {"GET", "/api/v1/procedures?limit=0", ""},
           {"GET", "/api/v1/procedures?state=%zz", ""},
           {"GET", "/api/v1/procedures/abc", ""},
           {"DELETE", "/api/v1/procedures", ""},
           {"GET", "/nope", ""},
       }) {
    auto r = Call(method, path, body, clinic_.api_token);
    EXPECT_GE(r.status, 400) << path << " " << body;
    EXPECT_LT(r.status, 500) << path << " " << body << " " << r.body;
    auto parsed = json::parse(r.body);
    EXPECT_TRUE(parsed["error"]["code"].is_string()) << r.body;
    EXPECT_TRUE(parsed["error"]["message"].is_string()) << r.body;
  }
  EXPECT_EQ(Call("GET", "/api/v1/procedures").status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/status").status, 404);
}

// Found by tests/fuzz/http_json_fuzz.cc: messages quote the user's text, and a line break in it (valid inside a JSON
// string) split the message over two lines.
TEST_F(ApiTest, ErrorMessagesStayOnOneLine) {
  auto registration = [](const std::string& end, const std::string& zone) {
    return R"({"reference":"P","procedure_end":")" + end + R"(","zone":")" + zone + R"(","areas":["face"]})";
  };
  for (const auto& [end, zone] : std::vector<std::pair<std::string, std::string>>{
           {"2027-01-14T14:00", R"(Europe/Lon\ndon)"}, {R"(2027-01-14\r\nT14:00)", "UTC"}, {R"(2027\u0001)", "UTC"}}) {
    auto r = Call("POST", "/api/v1/procedures", registration(end, zone), clinic_.api_token);
    ASSERT_EQ(r.status, 400) << r.body;
    std::string message = json::parse(r.body)["error"]["message"];
    EXPECT_EQ(message.find_first_of("\r\n\x01"), std::string::npos) << message;
  }
  // The line break is still there to see, escaped.
  auto r = Call("POST", "/api/v1/procedures", registration("2027-01-14T14:00", R"(Europe/Lon\ndon)"),
                clinic_.api_token);
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("'Europe/Lon\\ndon'"), std::string::npos)
      << r.body;
}

}  // namespace
}  // namespace aftercare
