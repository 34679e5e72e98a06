// The reminders of a plan: which milestones, when (quiet hours, daily mornings, DST), what they cite.
// Expected instants come from the protocol's rules, never from numbers written here.
#include <gtest/gtest.h>

#include <map>

#include "aftercare/notify.h"

namespace aftercare {
namespace {

Instant Local(const char* text, Zone zone) {
  auto t = ParseTime(text, zone);
  EXPECT_TRUE(t.ok()) << text;
  return *t;
}

class RemindersTest : public ::testing::Test {
 protected:
  const Protocol& protocol_ = BuiltinProtocol();
  const ReminderDefinitions& defs_ = BuiltinReminderDefinitions();

  Plan Compile(const char* end, const char* zone_name, std::vector<std::string> areas = {"face"}) {
    Zone zone = *FindZone(zone_name);
    auto plan = Plan::Compile(protocol_, Procedure{Local(end, zone), zone, std::move(areas)});
    EXPECT_TRUE(plan.ok());
    return std::move(plan).value();
  }
  Instant RuleEnd(const Plan& plan, const char* rule) { return plan.At(*protocol_.FindRule(rule)->until); }
  static std::map<std::string, Reminder> ByKey(const std::vector<Reminder>& list) {
    std::map<std::string, Reminder> out;
    for (const auto& r : list) out.emplace(r.key, r);
    return out;
  }
};

TEST_F(RemindersTest, BuiltinDefinitionsParse) {
  EXPECT_GE(defs_.reminders.size(), 6u);
  EXPECT_LT(defs_.quiet_until, defs_.morning);
  EXPECT_GT(defs_.quiet_from, defs_.morning);
}

TEST_F(RemindersTest, EveryMilestoneOfTheIssueBecomesAReminder) {
  Plan plan = Compile("2026-11-02T14:00", "America/New_York");
  auto reminders = ByKey(PlanReminders(plan, defs_, plan.procedure().end, "Ana"));
  ASSERT_TRUE(reminders.count("sunscreen_allowed"));
  ASSERT_TRUE(reminders.count("makeup_exercise_allowed"));
  ASSERT_TRUE(reminders.count("skincare_back"));
  ASSERT_TRUE(reminders.count("sun_avoidance_over"));
  ASSERT_TRUE(reminders.count("book_next_treatment"));

  EXPECT_EQ(reminders["sunscreen_allowed"].milestone, RuleEnd(plan, "sunscreen.not_first_12h"));
  EXPECT_EQ(reminders["makeup_exercise_allowed"].milestone,
            std::max(RuleEnd(plan, "makeup.none_24h"), RuleEnd(plan, "exercise.none_24h")));
  EXPECT_EQ(reminders["skincare_back"].milestone, RuleEnd(plan, "regular_skincare.none_48h"));
  EXPECT_EQ(reminders["sun_avoidance_over"].milestone, RuleEnd(plan, "sun_exposure.none_14d"));
  EXPECT_EQ(reminders["book_next_treatment"].milestone, plan.At(protocol_.series->min_interval));

  // 14:00 + the sunscreen window is 02:00 at night: quiet hours move it to the morning.
  Zone zone = plan.procedure().zone;
  EXPECT_EQ(reminders["sunscreen_allowed"].due, Local("2026-11-03T08:00", zone));
  EXPECT_EQ(reminders["makeup_exercise_allowed"].due, reminders["makeup_exercise_allowed"].milestone);

  EXPECT_NE(reminders["makeup_exercise_allowed"].text.find("makeup"), std::string::npos);
  EXPECT_EQ(reminders["book_next_treatment"].text.find("{"), std::string::npos);
}

TEST_F(RemindersTest, EachReminderCitesTheSheet) {
  Plan plan = Compile("2026-11-02T14:00", "America/New_York");
  for (const auto& r : PlanReminders(plan, defs_, plan.procedure().end)) {
    EXPECT_FALSE(r.sources.empty()) << r.key;
  }
  auto reminders = ByKey(PlanReminders(plan, defs_, plan.procedure().end));
  bool cites_12h = false;
  for (const Sentence* s : reminders["sunscreen_allowed"].sources) cites_12h |= s->id == "intro.no_sunscreen_12h";
  EXPECT_TRUE(cites_12h);
}

TEST_F(RemindersTest, DailyMorningWhileSunIsAvoided) {
  Plan plan = Compile("2026-11-02T14:00", "America/New_York");
  Zone zone = plan.procedure().zone;
  Instant avoid_end = RuleEnd(plan, "sun_exposure.none_14d");
  Instant sunscreen = RuleEnd(plan, "sunscreen.not_first_12h");
  std::vector<Reminder> mornings;
  for (auto& r : PlanReminders(plan, defs_, plan.procedure().end)) {
    if (r.definition == "sun_protection_morning") mornings.push_back(r);
  }
  ASSERT_FALSE(mornings.empty());
  EXPECT_EQ(mornings.front().key, "sun_protection_morning.2026-11-03");
  for (const auto& r : mornings) {
    EXPECT_GE(r.due, sunscreen);
    EXPECT_LT(r.due, avoid_end);
    auto local = zone->to_local(r.due);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::minutes>(local - std::chrono::floor<date::days>(local)),
              defs_.morning)
        << r.key;
  }
  // One a day, every day, from the first morning to the last before the window ends (which ends at 14:00 local).
  EXPECT_EQ(mornings.back().key, "sun_protection_morning.2026-11-16");
  EXPECT_EQ(mornings.size(), 14u);
}

TEST_F(RemindersTest, LateEveningProcedureStartsMorningsAfterSunscreenIsAllowed) {
  Plan plan = Compile("2026-11-02T22:30", "America/New_York");
  std::vector<std::string> keys;
  for (auto& r : PlanReminders(plan, defs_, plan.procedure().end)) {
    if (r.definition == "sun_protection_morning") keys.push_back(r.key);
  }
  ASSERT_FALSE(keys.empty());
  // Sunscreen is allowed at 10:30 on the 3rd, so the first morning reminder is the 4th.
  EXPECT_EQ(keys.front(), "sun_protection_morning.2026-11-04");
}

TEST_F(RemindersTest, QuietHoursFollowThePatientsZoneAcrossDst) {
  // London, the night the clocks go back (26 Oct 2025): 01:30 exists twice; quiet until 08:00 local.
  Zone london = *FindZone("Europe/London");
  Instant night = Local("2025-10-26T00:30", london);
  EXPECT_EQ(OutOfQuietHours(night, london, defs_), Local("2025-10-26T08:00", london));
  Instant late = Local("2025-10-25T23:10", london);
  EXPECT_EQ(OutOfQuietHours(late, london, defs_), Local("2025-10-26T08:00", london));
  Instant day = Local("2025-10-26T12:00", london);
  EXPECT_EQ(OutOfQuietHours(day, london, defs_), day);
  // Kathmandu's +05:45.
  Zone kathmandu = *FindZone("Asia/Kathmandu");
  EXPECT_EQ(OutOfQuietHours(Local("2026-03-01T21:00", kathmandu), kathmandu, defs_),
            Local("2026-03-02T08:00", kathmandu));
  EXPECT_EQ(OutOfQuietHours(Local("2026-03-01T20:59", kathmandu), kathmandu, defs_),
            Local("2026-03-01T20:59", kathmandu));
}

TEST_F(RemindersTest, RemindersAlreadyDueAreLeftOut) {
  Plan plan = Compile("2026-11-02T14:00", "America/New_York");
  Instant later = plan.At(Offset{3, OffsetUnit::kDays});
  for (const auto& r : PlanReminders(plan, defs_, later)) EXPECT_GE(r.due, later) << r.key;
  auto keys = ByKey(PlanReminders(plan, defs_, later));
  EXPECT_FALSE(keys.count("sunscreen_allowed"));
  EXPECT_TRUE(keys.count("sun_avoidance_over"));
}

TEST_F(RemindersTest, BadDefinitionsAreRefusedWithTheReason) {
  auto bad = ParseReminderDefinitions("format_version = 1\nmorning = \"8:30\"\n", "x.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("x.toml: morning"), std::string::npos) << bad.error().message;
  auto unknown = ParseReminderDefinitions(
      "format_version = 1\nmorning = \"08:30\"\n[[reminders]]\nid = \"a\"\ntrigger = \"hourly\"\n"
      "activities = [\"makeup\"]\nsubject = \"s\"\ntext = \"t\"\n",
      "y.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("trigger"), std::string::npos) << unknown.error().message;
  auto version = ParseReminderDefinitions("format_version = 2\n", "z.toml");
  EXPECT_FALSE(version.ok());
}

TEST_F(RemindersTest, MailAndSignatureAreStable) {
  OutboxEntry e;
  e.event_id = "rem-7-sunscreen_allowed";
  e.recipient = "ana@example.org";
  e.subject = "You can use sunscreen now";
  e.body = "Hello Ana,\n\nText.\n";
  e.due = Instant(std::chrono::seconds(1'800'000'000));
  e.unsubscribe_url = "https://clinic.example/u/abc";
  std::string mail = ComposeMail(e, "Glow <reminders@glow.example>");
  EXPECT_NE(mail.find("Message-ID: <rem-7-sunscreen_allowed@glow.example>\r\n"), std::string::npos);
  EXPECT_NE(mail.find("List-Unsubscribe: <https://clinic.example/u/abc>\r\n"), std::string::npos);
  EXPECT_EQ(mail, ComposeMail(e, "Glow <reminders@glow.example>"));
  e.subject = "Café\r\nBcc: x@evil.example";
  std::string injected = ComposeMail(e, "Glow <reminders@glow.example>");
  EXPECT_EQ(injected.find("\r\nBcc:"), std::string::npos);
  // Python: hmac.new(b"key", b"1.{}", hashlib.sha256).hexdigest()
  EXPECT_EQ(WebhookSignature("key", 1, "{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224");
  EXPECT_NE(WebhookSignature("key", 1, "{}"), WebhookSignature("key", 2, "{}"));
}

TEST(RetryDelayTest, DoublesUpToTheCap) {
  RetryPolicy p;
  p.first_delay = std::chrono::seconds(60);
  p.max_delay = std::chrono::seconds(300);
  EXPECT_EQ(RetryDelay(p, 1).count(), 60);
  EXPECT_EQ(RetryDelay(p, 2).count(), 120);
  EXPECT_EQ(RetryDelay(p, 3).count(), 240);
  EXPECT_EQ(RetryDelay(p, 4).count(), 300);
  EXPECT_EQ(RetryDelay(p, 40).count(), 300);
}

TEST(DeliverySettingsTest, ParsesAndRefuses) {
  auto ok = ParseDeliverySettings(
      "format_version = 1\n[smtp]\nurl = \"smtp://mail.example:587\"\nusername = \"u\"\npassword = \"p\"\n"
      "from = \"Glow <r@glow.example>\"\n[webhook]\nurl = \"https://hook.example/x\"\n"
      "secret = \"0123456789abcdef\"\n[retry]\nmax_attempts = 5\nfirst_delay = \"2m\"\nmax_delay = \"1h\"\n",
      "n.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->smtp->tls, "starttls");
  EXPECT_EQ(ok->retry.first_delay.count(), 120);
  EXPECT_EQ(ok->retry.max_delay.count(), 3600);
  EXPECT_EQ(MakeChannels(*ok, [] { return Instant(); }).size(), 2u);
  ReminderSettings rs = ReminderSettingsFor(*ok, "https://clinic.example");
  EXPECT_TRUE(rs.email && rs.webhook);
  DeliverySettings mail_only = *ok;
  mail_only.webhook.reset();
  EXPECT_FALSE(ReminderSettingsFor(mail_only, "").webhook);
  auto clear = ParseDeliverySettings(
      "format_version = 1\n[smtp]\nurl = \"smtp://mail.example:25\"\ntls = \"none\"\nusername = \"u\"\n"
      "from = \"r@glow.example\"\n",
      "n.toml");
  ASSERT_FALSE(clear.ok());
  EXPECT_NE(clear.error().message.find("in the clear"), std::string::npos);
  EXPECT_FALSE(ParseDeliverySettings("format_version = 1\n", "n.toml").ok());
}

}  // namespace
}  // namespace aftercare
