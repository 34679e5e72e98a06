// The outbox and the dispatcher against SQLite, and against PostgreSQL when AFTERCARE_TEST_DATABASE names one
// (tests/api/with_postgres.py starts a throw-away server). Channels are fakes; the clock is a variable.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <soci/soci.h>

#include "aftercare/notify.h"

namespace aftercare {
namespace {

Instant T(long long s) { return Instant(std::chrono::seconds(s)); }

// Records what it is asked to send; answers from a script (default: sent).
class FakeChannel : public Channel {
 public:
  explicit FakeChannel(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  SendOutcome Send(const OutboxEntry& entry) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(entry);
    if (!script_.empty()) {
      SendOutcome out = script_.front();
      script_.erase(script_.begin());
      return out;
    }
    return {SendOutcome::kSent, ""};
  }
  void Script(std::vector<SendOutcome> outcomes) {
    std::lock_guard lock(mutex_);
    script_ = std::move(outcomes);
  }
  std::vector<OutboxEntry> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  std::string name_;
  std::mutex mutex_;
  std::vector<OutboxEntry> sent_;
  std::vector<SendOutcome> script_;
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* url = std::getenv("AFTERCARE_TEST_DATABASE"); url && *url) {
      url_ = url;
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             ("aftercare_outbox_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
      std::filesystem::remove_all(dir_);
      url_ = "sqlite:" + (dir_ / "test.db").string();
    }
    auto opened = Store::Open(url_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
    // PostgreSQL keeps one database for the whole run: start each test with an empty outbox.
    store_->Transact([](soci::session& sql) { sql << "DELETE FROM notify_outbox"; });
    auto clinic = store_->CreateClinic("Outbox Clinic", T(1000));
    ASSERT_TRUE(clinic.ok());
    clinic_ = *clinic;
    staff_ = *store_->AuthenticateApiToken(clinic_.api_token);
    settings_.public_url = "https://clinic.example";
    settings_.webhook = true;
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Registers a procedure ending at `end` (New York) with its reminders, as the server's handler does.
  Result<RegisteredProcedure> Register(const std::string& reference, Instant end, Instant now,
                                       std::optional<std::string> contact = "ana@example.org") {
    Zone zone = *FindZone("America/New_York");
    auto plan = Plan::Compile(BuiltinProtocol(), Procedure{end, zone, {"face"}});
    EXPECT_TRUE(plan.ok());
    plans_.push_back(std::make_unique<Plan>(std::move(plan).value()));
    NewProcedure p;
    p.reference = reference;
    p.display_name = "Ana";
    p.contact = contact;
    p.end = end;
    p.zone = "America/New_York";
    p.areas = {"face"};
    p.protocol_id = "cit";
    p.protocol_version = BuiltinProtocol().version;
    p.active_until = end + std::chrono::hours(24 * 60);
    return store_->RegisterProcedure(clinic_.clinic_id, staff_.staff_id, p, now,
                                     RemindersOnRegistration(*plans_.back(), settings_, now));
  }

  std::unique_ptr<Dispatcher> MakeDispatcher(std::vector<FakeChannel*>* fakes, std::string worker = "w1",
                                             Store* store = nullptr) {
    std::vector<std::unique_ptr<Channel>> channels;
    auto email = std::make_unique<FakeChannel>("email");
    auto webhook = std::make_unique<FakeChannel>("webhook");
    fakes->push_back(email.get());
    fakes->push_back(webhook.get());
    channels.push_back(std::move(email));
    channels.push_back(std::move(webhook));
    DispatcherOptions o;
    o.worker_id = std::move(worker);
    o.clock = [this] { return now_.load(); };
    o.retry.max_attempts = 4;
    o.retry.first_delay = std::chrono::seconds(60);
    o.retry.max_delay = std::chrono::seconds(150);
    o.batch = 7;
    return std::make_unique<Dispatcher>(store ? *store : *store_, std::move(channels), o);
  }

  // Runs rounds until nothing is due at the current fake time.
  DispatchCounts Drain(Dispatcher& d) {
    DispatchCounts total;
    for (int i = 0; i < 1000; ++i) {
      auto c = d.RunOnce();
      if (c.attempted() == 0) break;
      total.sent += c.sent;
      total.retried += c.retried;
      total.failed += c.failed;
    }
    return total;
  }

  std::string url_;
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  ClinicCredentials clinic_;
  StaffIdentity staff_;
  ReminderSettings settings_;
  std::vector<std::unique_ptr<Plan>> plans_;
  std::atomic<Instant> now_{T(0)};
};

const Instant kEnd = T(1'793'646'000);  // 2026-11-02T14:00-05:00

TEST_F(OutboxTest, RegistrationWritesEveryReminderOnBothChannels) {
  auto r = Register("P1", kEnd, kEnd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto rows = ListOutbox(*store_, clinic_.clinic_id, r->procedure.id, std::nullopt, 1000);
  auto expected = PlanReminders(*plans_.back(), BuiltinReminderDefinitions(), kEnd, "Ana");
  EXPECT_EQ(rows.size(), 2 * expected.size());
  std::set<std::string> ids;
  for (const auto& row : rows) {
    EXPECT_EQ(row.state, OutboxState::kPending);
    EXPECT_EQ(row.event_id.rfind("rem-" + std::to_string(r->procedure.id) + "-", 0), 0u);
    if (row.channel == "email") {
      EXPECT_EQ(row.recipient, "ana@example.org");
      EXPECT_NE(row.body.find("From your clinic's aftercare sheet"), std::string::npos);
      EXPECT_EQ(row.unsubscribe_url.rfind("https://clinic.example/u/", 0), 0u);
    } else {
      EXPECT_NE(row.payload.find("\"event_id\":\"" + row.event_id + "\""), std::string::npos);
    }
    ids.insert(row.event_id);
  }
  EXPECT_EQ(ids.size(), expected.size());
}

TEST_F(OutboxTest, NoEmailRowsWithoutAnAddress) {
  auto r = Register("P2", kEnd, kEnd, "+1 555 0100");
  ASSERT_TRUE(r.ok());
  for (const auto& row : ListOutbox(*store_, clinic_.clinic_id, r->procedure.id, std::nullopt, 1000)) {
    EXPECT_EQ(row.channel, "webhook");
  }
}

TEST_F(OutboxTest, AFailingHookRollsTheRegistrationBack) {
  NewProcedure p;
  p.reference = "P3";
  p.end = kEnd;
  p.zone = "America/New_York";
  p.areas = {"face"};
  p.protocol_id = "cit";
  p.protocol_version = "1";
  p.active_until = kEnd;
  EXPECT_THROW(store_->RegisterProcedure(clinic_.clinic_id, staff_.staff_id, p, kEnd,
                                         [](soci::session&, const ProcedureRecord&) {
                                           throw std::runtime_error("outbox full");
                                         }),
               std::runtime_error);
  EXPECT_EQ(store_->ListProcedures(clinic_.clinic_id, ProcedureFilter::kAll, kEnd, 10, 0).total, 0);
}

TEST_F(OutboxTest, NothingIsSentBeforeItIsDueAndEverythingOnceAfter) {
  auto r = Register("P4", kEnd, kEnd);
  ASSERT_TRUE(r.ok());
  std::vector<FakeChannel*> fakes;
  auto d = MakeDispatcher(&fakes);
  now_ = kEnd + std::chrono::hours(1);
  EXPECT_EQ(Drain(*d).attempted(), 0);
  auto reminders = PlanReminders(*plans_.back(), BuiltinReminderDefinitions(), kEnd);
  // Step the fake clock to each due instant: exactly the reminders due by then have gone, each once.
  std::size_t sent = 0;
  for (const auto& reminder : reminders) {
    now_ = reminder.due;
    Drain(*d);
    ++sent;
    std::size_t due_by_now = 0;
    for (const auto& x : reminders) due_by_now += x.due <= reminder.due;
    EXPECT_EQ(fakes[0]->sent().size(), due_by_now) << reminder.key;
    EXPECT_EQ(fakes[1]->sent().size(), due_by_now) << reminder.key;
  }
  now_ = kEnd + std::chrono::hours(24 * 365);
  EXPECT_EQ(Drain(*d).attempted(), 0);
  std::set<std::string> ids;
  for (const auto& e : fakes[0]->sent()) EXPECT_TRUE(ids.insert(e.event_id).second) << e.event_id;
  EXPECT_EQ(ids.size(), reminders.size());
  for (const auto& row : ListOutbox(*store_, clinic_.clinic_id, r->procedure.id, std::nullopt, 1000)) {
    EXPECT_EQ(row.state, OutboxState::kSent);
    EXPECT_EQ(row.attempts, 1);
    ASSERT_TRUE(row.sent_at.has_value());
    EXPECT_GE(*row.sent_at, row.due);
  }
}

TEST_F(OutboxTest, RetriesBackOffExponentiallyUpToTheCapThenFailForGood) {
  auto r = Register("P5", kEnd, kEnd);
  ASSERT_TRUE(r.ok());
  std::vector<FakeChannel*> fakes;
  auto d = MakeDispatcher(&fakes);
  auto first = PlanReminders(*plans_.back(), BuiltinReminderDefinitions(), kEnd).front();
  fakes[0]->Script({{SendOutcome::kRetry, "421 try later"},
                    {SendOutcome::kRetry, "421 try later"},
                    {SendOutcome::kRetry, "421 try later"},
                    {SendOutcome::kRetry, "421 try later"}});
  Instant t = first.due;
  now_ = t;
  Drain(*d);
  auto email_row = [&] {
    for (const auto& row : ListOutbox(*store_, clinic_.clinic_id, r->procedure.id, std::nullopt, 1000)) {
      if (row.channel == "email" && row.kind == first.key) return row;
    }
    return OutboxEntry{};
  };
  EXPECT_EQ(email_row().state, OutboxState::kPending);
  EXPECT_EQ(email_row().next_attempt, t + std::chrono::seconds(60));
  EXPECT_EQ(email_row().last_error, "421 try later");
  now_ = t + std::chrono::seconds(59);
  Drain(*d);
  EXPECT_EQ(email_row().attempts, 1);
  t += std::chrono::seconds(60);
  now_ = t;
  Drain(*d);
  EXPECT_EQ(email_row().next_attempt, t + std::chrono::seconds(120));
  t += std::chrono::seconds(120);
  now_ = t;
  Drain(*d);
  EXPECT_EQ(email_row().next_attempt, t + std::chrono::seconds(150));  // capped
  t += std::chrono::seconds(150);
  now_ = t;
  Drain(*d);
  auto row = email_row();
  EXPECT_EQ(row.state, OutboxState::kFailed);
  EXPECT_EQ(row.attempts, 4);
  EXPECT_NE(row.last_error.find("gave up after 4 attempts"), std::string::npos) << row.last_error;
  auto failed = ListOutbox(*store_, clinic_.clinic_id, std::nullopt, OutboxState::kFailed, 100);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].event_id, first.key == row.kind ? row.event_id : "");
}

TEST_F(OutboxTest, PermanentFailuresAreRecordedAtOnce) {
  auto r = Register("P6", kEnd, kEnd);
  ASSERT_TRUE(r.ok());
  std::vector<FakeChannel*> fakes;
  auto d = MakeDispatcher(&fakes);
  fakes[1]->Script({{SendOutcome::kPermanent, "webhook: HTTP 410"}});
  now_ = PlanReminders(*plans_.back(), BuiltinReminderDefinitions(), kEnd).front().due;
  Drain(*d);
  auto failed = ListOutbox(*store_, clinic_.clinic_id, r->procedure.id, OutboxState::kFailed, 100);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].channel, "webhook");
  EXPECT_EQ(failed[0].attempts, 1);
  EXPECT_EQ(failed[0].last_error, "webhook: HTTP 410");
}

TEST_F(OutboxTest, StaffCancelAndPatientUnsubscribeWithdrawPendingReminders) {
  auto a = Register("P7", kEnd, kEnd);
  auto b = Register("P8", kEnd, kEnd);
  ASSERT_TRUE(a.ok() && b.ok());
  int cancelled = CancelReminders(*store_, clinic_.clinic_id, a->procedure.id, kEnd);
  EXPECT_GT(cancelled, 0);
  EXPECT_EQ(CancelReminders(*store_, clinic_.clinic_id + 1, b->procedure.id, kEnd), 0);  // another clinic's

  // The unsubscribe link of b's mails.
  auto rows = ListOutbox(*store_, clinic_.clinic_id, b->procedure.id, std::nullopt, 1000);
  ASSERT_FALSE(rows.empty());
  std::string token = rows[0].unsubscribe_url.substr(rows[0].unsubscribe_url.rfind('/') + 1);
  EXPECT_FALSE(UnsubscribeByToken(*store_, "not-a-token", kEnd).ok());
  auto withdrawn = UnsubscribeByToken(*store_, token, kEnd);
  ASSERT_TRUE(withdrawn.ok());
  EXPECT_EQ(*withdrawn, static_cast<int>(rows.size()));
  EXPECT_TRUE(store_->FindProcedure(b->procedure.clinic_id, b->procedure.id)->reminders_stopped);

  std::vector<FakeChannel*> fakes;
  auto d = MakeDispatcher(&fakes);
  now_ = kEnd + std::chrono::hours(24 * 365);
  EXPECT_EQ(Drain(*d).attempted(), 0);
  EXPECT_EQ(ListOutbox(*store_, clinic_.clinic_id, a->procedure.id, OutboxState::kCancelled, 1000).size(),
            static_cast<std::size_t>(cancelled));
  auto counts = CountOutbox(*store_);
  ASSERT_EQ(counts.size(), 5u);
  EXPECT_EQ(counts[0].first, OutboxState::kPending);
  EXPECT_EQ(counts[0].second, 0);
  EXPECT_EQ(counts[3].first, OutboxState::kCancelled);
  EXPECT_EQ(counts[3].second, cancelled);
  EXPECT_EQ(counts[4].second, *withdrawn);

  // Later procedures of an unsubscribed patient get no reminders.
  auto later = Register("P8", kEnd + std::chrono::hours(24 * 30), kEnd + std::chrono::hours(24 * 30));
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(ListOutbox(*store_, clinic_.clinic_id, later->procedure.id, std::nullopt, 10).empty());
  // From the patient's page.
  auto c = Register("P9", kEnd, kEnd);
  EXPECT_GT(UnsubscribePatient(*store_, c->procedure.id, kEnd), 0);
}

TEST_F(OutboxTest, ARestartedWorkerTakesBackItsLeasesAndOthersWaitForTheLease) {
  auto r = Register("P10", kEnd, kEnd);
  ASSERT_TRUE(r.ok());
  now_ = kEnd + std::chrono::hours(24 * 365);
  std::vector<FakeChannel*> fakes1, fakes2;
  auto w1 = MakeDispatcher(&fakes1, "w1");
  auto w2 = MakeDispatcher(&fakes2, "w2");
  // Worker w1 claims every email row and dies in its first send, before recording anything.
  class Dying : public Channel {
   public:
    std::string name() const override { return "email"; }
    SendOutcome Send(const OutboxEntry&) override { throw std::runtime_error("killed"); }
  };
  std::vector<std::unique_ptr<Channel>> dying;
  dying.push_back(std::make_unique<Dying>());
  DispatcherOptions o;
  o.worker_id = "w1";
  o.clock = [this] { return now_.load(); };
  o.batch = 1000;
  Dispatcher dead(*store_, std::move(dying), o);
  EXPECT_THROW(dead.RunOnce(), std::runtime_error);
  // w2 sees the email rows leased (not expired) and sends only the webhooks.
  Drain(*w2);
  EXPECT_TRUE(fakes2[0]->sent().empty());
  EXPECT_FALSE(fakes2[1]->sent().empty());
  // w1 restarts: takes back its leases and sends them.
  EXPECT_GT(w1->RecoverLeases(), 0);
  Drain(*w1);
  EXPECT_EQ(fakes1[0]->sent().size(), fakes2[1]->sent().size());
}

TEST_F(OutboxTest, TwoWorkersNeverSendTheSameRowTwice) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Register("Q" + std::to_string(i), kEnd, kEnd).ok());
  now_ = kEnd + std::chrono::hours(24 * 365);
  // PostgreSQL: each worker has its own connection pool (as separate processes would); SQLite: one store.
  std::unique_ptr<Store> second;
  if (store_->backend() == "postgresql") second = std::move(Store::Open(url_)).value();
  std::vector<FakeChannel*> fakes1, fakes2;
  auto w1 = MakeDispatcher(&fakes1, "w1");
  auto w2 = MakeDispatcher(&fakes2, "w2", second ? second.get() : nullptr);
  std::thread t1([&] { Drain(*w1); });
  std::thread t2([&] { Drain(*w2); });
  t1.join();
  t2.join();
  std::multiset<std::string> ids;
  for (auto* f : {fakes1[0], fakes2[0]}) {
    for (const auto& e : f->sent()) ids.insert(e.event_id);
  }
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), distinct.size());
  EXPECT_EQ(distinct.size() * 2, ListOutbox(*store_, clinic_.clinic_id, std::nullopt, OutboxState::kSent, 1000).size());
}

TEST_F(OutboxTest, StartAndStopRunInTheBackground) {
  auto r = Register("P11", kEnd, kEnd);
  ASSERT_TRUE(r.ok());
  std::vector<FakeChannel*> fakes;
  auto d = MakeDispatcher(&fakes);
  now_ = kEnd + std::chrono::hours(24 * 365);
  d->Start();
  auto rows = ListOutbox(*store_, clinic_.clinic_id, r->procedure.id, std::nullopt, 1000).size();
  for (int i = 0; i < 200 && fakes[0]->sent().size() + fakes[1]->sent().size() < rows; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  d->Stop();
  d->Stop();
  EXPECT_EQ(fakes[0]->sent().size() + fakes[1]->sent().size(), rows);
}

}  // namespace
}  // namespace aftercare
