// The channels against real receivers: an SMTP server (aiosmtpd, STARTTLS + AUTH) and a webhook receiver that checks
// signatures, both started by tests/notify/sinks.py. End to end: a registered procedure's reminders go through the
// dispatcher to both, each exactly once. Runs on SQLite, and on PostgreSQL when AFTERCARE_TEST_DATABASE is set.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "aftercare/notify.h"

namespace aftercare {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kSecret = "a-webhook-secret-of-some-length";
constexpr const char* kSystemPython = "/usr/bin/python3";

// tests/notify/sinks.py as a child process; stopped (stdin closed, then SIGTERM) when destroyed.
class Sinks {
 public:
  Sinks(const fs::path& dir, std::vector<std::string> extra) : dir_(dir) {
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0) return;
    std::vector<std::string> args = {kSystemPython, std::string(AFTERCARE_SOURCE_DIR) + "/tests/notify/sinks.py",
                                     dir.string(), "--tls", "--auth", "clinic:s3cret", "--secret", kSecret};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string log = (dir / "sinks.log").string();
    fs::create_directories(dir);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      int err = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) dup2(err, 2);
      close(in[1]);
      close(out[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    auto info = json::parse(line, nullptr, false);
    if (info.is_object()) {
      smtp_port = info["smtp"].get<int>();
      webhook_port = info["webhook"].get<int>();
      cert = info["cert"].get<std::string>();
    }
  }
  ~Sinks() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      int status = 0;
      for (int i = 0; i < 50 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  bool ok() const { return smtp_port > 0; }
  std::vector<json> Read(const char* file) const {
    std::vector<json> out;
    std::ifstream in(dir_ / file);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  int smtp_port = 0;
  int webhook_port = 0;
  std::string cert;

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
};

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aftercare_delivery_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  SmtpSettings Smtp(const Sinks& sinks) {
    SmtpSettings s;
    s.url = "smtp://127.0.0.1:" + std::to_string(sinks.smtp_port);
    s.username = "clinic";
    s.password = "s3cret";
    s.from = "Glow Skin Clinic <reminders@glow.example>";
    s.ca_file = sinks.cert;
    s.timeout_seconds = 20;
    return s;
  }
  WebhookSettings Webhook(const Sinks& sinks) {
    WebhookSettings w;
    w.url = "http://127.0.0.1:" + std::to_string(sinks.webhook_port) + "/hook";
    w.secret = kSecret;
    return w;
  }
  static OutboxEntry Entry(const std::string& event_id, const std::string& recipient) {
    OutboxEntry e;
    e.event_id = event_id;
    e.channel = "email";
    e.recipient = recipient;
    e.subject = "Sun protection today";
    e.body = "Hello Zoë,\n\n.A line starting with a dot.\n";
    e.payload = json{{"event_id", event_id}, {"text", "hello"}}.dump();
    e.due = Instant(std::chrono::seconds(1'800'000'000));
    e.unsubscribe_url = "https://clinic.example/u/tok";
    return e;
  }

  fs::path dir_;
};

TEST_F(DeliveryTest, MailGoesThroughStarttlsWithAuthAndKeepsItsId) {
  Sinks sinks(dir_ / "sinks", {"--reject-rcpt", "nobody@example.org"});
  ASSERT_TRUE(sinks.ok());
  auto smtp = MakeSmtpChannel(Smtp(sinks));
  auto outcome = smtp->Send(Entry("rem-1-a", "zoe@example.org"));
  ASSERT_EQ(outcome.kind, SendOutcome::kSent) << outcome.detail;
  auto mails = sinks.Read("mail.jsonl");
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["message_id"], "<rem-1-a@glow.example>");
  EXPECT_EQ(mails[0]["to"], json::array({"zoe@example.org"}));
  EXPECT_EQ(mails[0]["from"], "reminders@glow.example");
  EXPECT_TRUE(mails[0]["tls"].get<bool>());
  EXPECT_TRUE(mails[0]["authenticated"].get<bool>());
  EXPECT_EQ(mails[0]["list_unsubscribe"], "<https://clinic.example/u/tok>");
  std::string text = mails[0]["text"];
  EXPECT_NE(text.find("Zoë"), std::string::npos);
  EXPECT_NE(text.find("\n.A line starting with a dot."), std::string::npos) << text;

  // A recipient the server refuses (5xx): permanent.
  auto refused = smtp->Send(Entry("rem-1-b", "nobody@example.org"));
  EXPECT_EQ(refused.kind, SendOutcome::kPermanent) << refused.detail;
  // A wrong password: the clinic's configuration, retried.
  SmtpSettings wrong = Smtp(sinks);
  wrong.password = "nope";
  auto denied = MakeSmtpChannel(wrong)->Send(Entry("rem-1-c", "zoe@example.org"));
  EXPECT_EQ(denied.kind, SendOutcome::kRetry) << denied.detail;
  EXPECT_EQ(denied.detail.find("nope"), std::string::npos);
  // An untrusted certificate: refused, retried.
  SmtpSettings untrusted = Smtp(sinks);
  untrusted.ca_file.clear();
  EXPECT_EQ(MakeSmtpChannel(untrusted)->Send(Entry("rem-1-d", "zoe@example.org")).kind, SendOutcome::kRetry);
  // No server: retried.
  SmtpSettings down = Smtp(sinks);
  down.url = "smtp://127.0.0.1:1";
  EXPECT_EQ(MakeSmtpChannel(down)->Send(Entry("rem-1-e", "zoe@example.org")).kind, SendOutcome::kRetry);
  EXPECT_EQ(sinks.Read("mail.jsonl").size(), 1u);
}

TEST_F(DeliveryTest, WebhooksAreSignedAndCarryTheEventId) {
  Sinks sinks(dir_ / "sinks", {"--webhook-fail", "1"});
  ASSERT_TRUE(sinks.ok());
  Instant now(std::chrono::seconds(1'800'000'123));
  auto hook = MakeWebhookChannel(Webhook(sinks), [now] { return now; });
  auto entry = Entry("rem-2-a", "");
  entry.channel = "webhook";
  auto first = hook->Send(entry);
  EXPECT_EQ(first.kind, SendOutcome::kRetry) << first.detail;  // the receiver's 503
  auto second = hook->Send(entry);
  ASSERT_EQ(second.kind, SendOutcome::kSent) << second.detail;
  auto hooks = sinks.Read("webhook.jsonl");
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0]["event_id"], "rem-2-a");
  EXPECT_EQ(hooks[0]["timestamp"], "1800000123");
  EXPECT_EQ(hooks[0]["content_type"], "application/json");
  EXPECT_EQ(hooks[0]["body"]["text"], "hello");
  // A wrong secret: the receiver answers 401, which the clinic fixes, so it is retried.
  WebhookSettings wrong = Webhook(sinks);
  wrong.secret = "another-secret-entirely";
  EXPECT_EQ(MakeWebhookChannel(wrong, [now] { return now; })->Send(entry).kind, SendOutcome::kRetry);
  EXPECT_EQ(sinks.Read("webhook.jsonl").size(), 1u);
}

TEST_F(DeliveryTest, RegisteredRemindersArriveOnceOnBothChannels) {
  Sinks sinks(dir_ / "sinks", {"--webhook-fail", "3"});
  ASSERT_TRUE(sinks.ok());
  std::string url;
  if (const char* env = std::getenv("AFTERCARE_TEST_DATABASE"); env && *env) {
    url = env;
  } else {
    url = "sqlite:" + (dir_ / "db" / "test.db").string();
  }
  auto store = std::move(Store::Open(url)).value();
  store->Transact([](soci::session& sql) { sql << "DELETE FROM notify_outbox"; });
  auto clinic = *store->CreateClinic("Delivery Clinic", Instant(std::chrono::seconds(1000)));
  auto staff = *store->AuthenticateApiToken(clinic.api_token);

  Zone zone = *FindZone("Europe/London");
  Instant end = *ParseTime("2026-06-01T11:00", zone);
  auto plan = std::move(Plan::Compile(BuiltinProtocol(), Procedure{end, zone, {"face", "periorbital"}})).value();
  ReminderSettings settings;
  settings.public_url = "https://glow.example";
  settings.webhook = true;
  NewProcedure p;
  p.reference = "D1";
  p.display_name = "Zoë";
  p.contact = "zoe@example.org";
  p.end = end;
  p.zone = "Europe/London";
  p.areas = {"face", "periorbital"};
  p.protocol_id = "cit";
  p.protocol_version = BuiltinProtocol().version;
  p.active_until = end + std::chrono::hours(24 * 60);
  auto registered = store->RegisterProcedure(clinic.clinic_id, staff.staff_id, p, end,
                                             RemindersOnRegistration(plan, settings, end));
  ASSERT_TRUE(registered.ok());
  auto expected = PlanReminders(plan, BuiltinReminderDefinitions(), end, "Zoë");

  Instant now = end + std::chrono::hours(24 * 365);  // the fake clock: every reminder is due
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(MakeSmtpChannel(Smtp(sinks)));
  channels.push_back(MakeWebhookChannel(Webhook(sinks), [&now] { return now; }));
  DispatcherOptions o;
  o.clock = [&now] { return now; };
  o.retry.first_delay = std::chrono::seconds(30);
  Dispatcher dispatcher(*store, std::move(channels), o);
  for (int round = 0; round < 10; ++round) {
    while (dispatcher.RunOnce().attempted() > 0) {
    }
    now += std::chrono::hours(1);  // past any backoff
  }

  std::set<std::string> want;
  for (const auto& r : expected) want.insert("rem-" + std::to_string(registered->procedure.id) + "-" + r.key);
  std::multiset<std::string> mail_ids, hook_ids;
  for (const auto& m : sinks.Read("mail.jsonl")) mail_ids.insert(m["event_id"].get<std::string>());
  for (const auto& h : sinks.Read("webhook.jsonl")) hook_ids.insert(h["event_id"].get<std::string>());
  EXPECT_EQ(std::set<std::string>(mail_ids.begin(), mail_ids.end()), want);
  EXPECT_EQ(std::set<std::string>(hook_ids.begin(), hook_ids.end()), want);
  EXPECT_EQ(mail_ids.size(), want.size());
  EXPECT_EQ(hook_ids.size(), want.size());
  for (const auto& m : sinks.Read("mail.jsonl")) {
    std::string text = m["text"];
    EXPECT_NE(text.find("From your clinic's aftercare sheet:"), std::string::npos);
    EXPECT_NE(text.find("https://glow.example/u/"), std::string::npos);
  }
  auto sent = ListOutbox(*store, clinic.clinic_id, registered->procedure.id, OutboxState::kSent, 1000);
  EXPECT_EQ(sent.size(), 2 * want.size());
  int retried = 0;
  for (const auto& row : sent) retried += row.attempts > 1;
  EXPECT_EQ(retried, 3);  // the receiver's three 503s
}

}  // namespace
}  // namespace aftercare
