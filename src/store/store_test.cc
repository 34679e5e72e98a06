// The store against SQLite, and against PostgreSQL when AFTERCARE_TEST_DATABASE names one (tests/api/with_postgres.py
// starts a throw-away server and sets it).
#include "aftercare/store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

namespace aftercare {
namespace {

Instant T(long long s) { return Instant(std::chrono::seconds(s)); }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* url = std::getenv("AFTERCARE_TEST_DATABASE"); url && *url) {
      url_ = url;
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             ("aftercare_store_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
      std::filesystem::remove_all(dir_);
      url_ = "sqlite:" + (dir_ / "sub" / "test.db").string();
    }
    auto opened = Store::Open(url_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  NewProcedure Sample(const std::string& reference) {
    NewProcedure p;
    p.reference = reference;
    p.end = T(1'800'000'000);
    p.zone = "America/New_York";
    p.areas = {"face", "neck"};
    p.protocol_id = "cit";
    p.protocol_version = "1";
    p.active_until = T(1'800'000'000 + 86400 * 30);
    return p;
  }

  std::string url_;
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, MigratesOnceAndReopens) {
  EXPECT_EQ(store_->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(store_->backend(), url_.rfind("sqlite:", 0) == 0 ? "sqlite3" : "postgresql");
  auto again = Store::Open(url_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->SchemaVersion(), LatestSchemaVersion());
}

TEST_F(StoreTest, TokensAreLongRandomAndHashed) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = NewToken();
    EXPECT_EQ(t.size(), 43u);
    EXPECT_TRUE(seen.insert(t).second);
  }
  EXPECT_EQ(HashToken("abc").size(), 64u);
  EXPECT_NE(HashToken("abc"), HashToken("abd"));
}

TEST_F(StoreTest, ClinicCredentialsAuthenticate) {
  auto clinic = store_->CreateClinic("  Glow Skin Clinic ", T(1000));
  ASSERT_TRUE(clinic.ok()) << clinic.error().message;
  EXPECT_EQ(clinic->clinic_name, "Glow Skin Clinic");
  EXPECT_EQ(clinic->login.rfind("glow-skin-clinic-admin", 0), 0u);
  auto who = store_->AuthenticateApiToken(clinic->api_token);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->clinic_id, clinic->clinic_id);
  EXPECT_FALSE(store_->AuthenticateApiToken(clinic->api_token + "x"));
  EXPECT_FALSE(store_->AuthenticateApiToken(""));

  auto token = store_->Login(clinic->login, clinic->password, T(2000));
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(store_->AuthenticateApiToken(*token)->clinic_id, clinic->clinic_id);
  auto wrong = store_->Login(clinic->login, "nope", T(2000));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message, "wrong login or password");
  EXPECT_FALSE(store_->Login("nobody", "x", T(2000)).ok());

  // A second clinic of the same name gets its own login.
  auto twin = store_->CreateClinic("Glow Skin Clinic", T(1000));
  ASSERT_TRUE(twin.ok());
  EXPECT_NE(twin->login, clinic->login);
  EXPECT_FALSE(store_->CreateClinic("   ", T(1)).ok());
}

TEST_F(StoreTest, ProceduresStayInTheirClinic) {
  auto a = *store_->CreateClinic("A", T(1));
  auto b = *store_->CreateClinic("B", T(1));
  auto staff_a = *store_->AuthenticateApiToken(a.api_token);
  auto p = Sample("P-001");
  p.display_name = "Ann";
  p.contact = "ann@example.org";
  auto registered = store_->RegisterProcedure(a.clinic_id, staff_a.staff_id, p, T(5));
  ASSERT_TRUE(registered.ok()) << registered.error().message;
  const auto& r = registered->procedure;
  EXPECT_EQ(r.reference, "P-001");
  EXPECT_EQ(r.display_name.value_or(""), "Ann");
  EXPECT_EQ(r.areas, (std::vector<std::string>{"face", "neck"}));
  EXPECT_EQ(r.end, p.end);
  EXPECT_EQ(r.series_number, 1);

  EXPECT_TRUE(store_->FindProcedure(a.clinic_id, r.id));
  EXPECT_FALSE(store_->FindProcedure(b.clinic_id, r.id));
  auto by_token = store_->FindProcedureByPatientToken(registered->patient_token);
  ASSERT_TRUE(by_token);
  EXPECT_EQ(by_token->id, r.id);
  EXPECT_FALSE(store_->FindProcedureByPatientToken(a.api_token));

  // A follow-up keeps the patient and counts the series; another clinic cannot follow up on it.
  auto follow = Sample("ignored");
  follow.follows = r.id;
  follow.end = T(1'800'000'000 + 86400 * 42);
  follow.active_until = T(1'800'000'000 + 86400 * 72);
  auto second = store_->RegisterProcedure(a.clinic_id, staff_a.staff_id, follow, T(6));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->procedure.patient_id, r.patient_id);
  EXPECT_EQ(second->procedure.series_number, 2);
  EXPECT_EQ(second->procedure.follows.value_or(0), r.id);
  EXPECT_EQ(store_->LatestInSeries(r).id, second->procedure.id);
  auto staff_b = *store_->AuthenticateApiToken(b.api_token);
  EXPECT_FALSE(store_->RegisterProcedure(b.clinic_id, staff_b.staff_id, follow, T(7)).ok());

  auto page = store_->ListProcedures(a.clinic_id, ProcedureFilter::kAll, T(1'800'000'000), 1, 0);
  EXPECT_EQ(page.total, 2);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].id, second->procedure.id);  // newest end first
  EXPECT_EQ(store_->ListProcedures(b.clinic_id, ProcedureFilter::kAll, T(0), 10, 0).total, 0);
  Instant later = T(1'800'000'000 + 86400 * 40);
  EXPECT_EQ(store_->ListProcedures(a.clinic_id, ProcedureFilter::kActive, later, 10, 0).total, 1);
  EXPECT_EQ(store_->ListProcedures(a.clinic_id, ProcedureFilter::kFinished, later, 10, 0).total, 1);
}

TEST_F(StoreTest, SymptomReportsAuditAndProtocols) {
  auto a = *store_->CreateClinic("A", T(1));
  auto staff = *store_->AuthenticateApiToken(a.api_token);
  auto r = *store_->RegisterProcedure(a.clinic_id, staff.staff_id, Sample("X"), T(5));
  store_->AddSymptomReport(SymptomReport{r.procedure.id, T(10), "still red", "expected", "{}"});
  auto reports = store_->SymptomReports(r.procedure.id);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].words, "still red");
  auto log = store_->AuditLog(a.clinic_id, 10);
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[0].action, "symptom.report");

  EXPECT_EQ(store_->KeepProtocol("cit", "1", "text one"), "text one");
  EXPECT_EQ(store_->KeepProtocol("cit", "1", "text two"), "text one");
  EXPECT_EQ(store_->ProtocolText("cit", "1").value_or(""), "text one");
  EXPECT_FALSE(store_->ProtocolText("cit", "2"));
}

TEST(StoreOpenTest, BadUrlsAreOneLineErrors) {
  auto bad = Store::Open("mysql://x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("sqlite:PATH"), std::string::npos);
  auto down = Store::Open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().message.find('\n'), std::string::npos) << down.error().message;
}

TEST(StoreBackupTest, CopiesALiveDatabase) {
  auto dir = std::filesystem::temp_directory_path() / ("aftercare_backup_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string url = "sqlite:" + (dir / "live.db").string();
  auto store = std::move(Store::Open(url)).value();
  auto clinic = *store->CreateClinic("Kept", T(1));
  auto copy = BackupSqlite(url, (dir / "copy.db").string());
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  auto restored = std::move(Store::Open("sqlite:" + (dir / "copy.db").string())).value();
  EXPECT_TRUE(restored->AuthenticateApiToken(clinic.api_token));
  EXPECT_FALSE(BackupSqlite(url, (dir / "copy.db").string()).ok());  // never overwrites
  EXPECT_FALSE(BackupSqlite("postgresql://x/y", "z").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aftercare
