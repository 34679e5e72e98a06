#include "aftercare/engine.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace aftercare {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Zone Z(const char* name) { return FindZone(name).value(); }

Plan MakePlan(const char* end, const char* zone, std::vector<std::string> areas = {}) {
  Procedure procedure;
  procedure.zone = Z(zone);
  procedure.end = ParseTime(end, procedure.zone).value();
  procedure.areas = std::move(areas);
  auto plan = Plan::Compile(BuiltinProtocol(), procedure);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return std::move(plan).value();
}

// The verdict of `activity` `offset` after the procedure ended.
Verdict At(const Plan& plan, const char* activity, std::chrono::seconds offset) {
  auto answer = plan.Can(activity, plan.procedure().end + offset);
  EXPECT_TRUE(answer.ok()) << answer.error().message;
  return answer->verdict();
}

std::string Changes(const Plan& plan, const char* activity, std::chrono::seconds offset) {
  auto answer = plan.Can(activity, plan.procedure().end + offset);
  auto at = answer->changes_at();
  return at ? FormatInstant(*at, plan.procedure().zone) : "never";
}

// Every boundary of the CIT sheet, one minute either side:
//
//   0h         12h          24h            48h                         14d
//   |-----------|------------|--------------|---------------------------|--------->
//   sunscreen:  avoid        | recommended ...
//   makeup, exercise:        avoid          | allowed ...
//   regular skincare, exfoliants:           avoid | allowed / caution ...
//   sun exposure:                                 avoid                  | caution
struct Boundary {
  const char* activity;
  std::chrono::seconds at;
  Verdict before;
  Verdict after;
};

class CitBoundaries : public ::testing::TestWithParam<Boundary> {};

TEST_P(CitBoundaries, ChangesExactlyAtTheBoundary) {
  Plan plan = MakePlan("2026-06-10T14:00", "America/New_York");
  const Boundary& b = GetParam();
  EXPECT_EQ(At(plan, b.activity, b.at - minutes(1)), b.before) << b.activity;
  EXPECT_EQ(At(plan, b.activity, b.at), b.after) << b.activity;  // windows are [from, until)
  EXPECT_EQ(At(plan, b.activity, b.at + minutes(1)), b.after) << b.activity;
}

INSTANTIATE_TEST_SUITE_P(
    Cit, CitBoundaries,
    ::testing::Values(Boundary{"sunscreen", hours(12), Verdict::kAvoid, Verdict::kRecommended},
                      Boundary{"makeup", hours(24), Verdict::kAvoid, Verdict::kAllowed},
                      Boundary{"strenuous_exercise", hours(24), Verdict::kAvoid, Verdict::kAllowed},
                      Boundary{"moisturizer", hours(24), Verdict::kAvoid, Verdict::kAllowed},
                      Boundary{"moisturizer", hours(48), Verdict::kAllowed, Verdict::kRecommended},
                      Boundary{"regular_skincare", hours(48), Verdict::kAvoid, Verdict::kAllowed},
                      Boundary{"exfoliants_acids", hours(48), Verdict::kAvoid, Verdict::kCaution},
                      Boundary{"cool_compress", hours(48), Verdict::kNotCovered, Verdict::kAllowed},
                      Boundary{"sun_exposure", hours(14 * 24), Verdict::kAvoid, Verdict::kCaution}));

TEST(SunscreenTimeline, ForbiddenForFirstTwelveHours) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  EXPECT_EQ(At(plan, "sunscreen", hours(0)), Verdict::kAvoid);
  EXPECT_EQ(At(plan, "sunscreen", hours(11) + minutes(59)), Verdict::kAvoid);
  EXPECT_EQ(Changes(plan, "sunscreen", hours(0)), "2026-11-29T02:00-05:00");
}

TEST(SunscreenTimeline, OutdoorsItIsReappliedEveryTwoHours) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answer = plan.Can("sunscreen", plan.procedure().end + hours(13), "outdoors");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict(), Verdict::kRecommended);
  bool repeats = std::any_of(answer->segment->rules.begin(), answer->segment->rules.end(), [](const Rule* r) {
    return r->repeat_every && *r->repeat_every == Offset{2, OffsetUnit::kHours};
  });
  EXPECT_TRUE(repeats);
}

TEST(SunscreenTimeline, OutdoorsRuleIsListedAsConditional) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  const ActivityTimeline* timeline = plan.FindTimeline("sunscreen");
  ASSERT_EQ(timeline->conditional.size(), 1u);
  EXPECT_EQ(timeline->conditional[0]->context, "outdoors");
}

TEST(MakeupTimeline, DoneWhenExample) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answer = plan.Can("makeup", ParseTime("2026-11-29T13:59", Z("America/New_York")).value());
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict(), Verdict::kAvoid);
  EXPECT_EQ(FormatInstant(*answer->changes_at(), Z("America/New_York")), "2026-11-29T14:00-05:00");
  EXPECT_EQ(answer->next_verdict(), Verdict::kAllowed);
  EXPECT_EQ(answer->segment->rules[0]->sources[0], "bullet.makeup_24h");
}

TEST(MakeupTimeline, EyeAreaAddsTheBruisingSentence) {
  auto sources_at_day_2 = [](const Plan& plan) {
    std::vector<std::string> ids;
    for (const Rule* r : plan.Can("makeup", plan.procedure().end + hours(30))->segment->rules) ids.push_back(r->id);
    return ids;
  };
  Plan face = MakePlan("2026-11-28T14:00", "America/New_York", {"face"});
  Plan eyes = MakePlan("2026-11-28T14:00", "America/New_York", {"face", "periorbital"});
  EXPECT_EQ(sources_at_day_2(face), (std::vector<std::string>{"makeup.after_24h"}));
  EXPECT_EQ(sources_at_day_2(eyes), (std::vector<std::string>{"makeup.after_24h", "makeup.covers_bruising"}));
}

TEST(NoEndGiven, AntiInflammatoriesTanningAndPickingStayAvoided) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  for (const char* activity : {"anti_inflammatory_medication", "sun_tanning", "picking_scratching"}) {
    EXPECT_EQ(At(plan, activity, hours(24 * 365)), Verdict::kAvoid) << activity;
    EXPECT_EQ(Changes(plan, activity, hours(0)), "never") << activity;
  }
}

TEST(AllowedFromTheStart, SerumsCleansingAndTylenol) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  for (const char* activity : {"serums", "gentle_cleansing", "acetaminophen"}) {
    EXPECT_EQ(At(plan, activity, hours(0)), Verdict::kAllowed) << activity;
  }
}

// regular skincare:  0h        24h             48h
//   none_48h         |avoid-----------------------|
//   day1_as_usual               |allowed---------------------->
//   after_48h                                     |allowed----->
//   verdict          |avoid-----------------------|allowed----->   (the more restrictive wins)
TEST(RegularSkincare, DayOnePermissionIsOverriddenUntilFortyEightHours) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answer = plan.Can("regular_skincare", plan.procedure().end + hours(30));
  EXPECT_EQ(answer->verdict(), Verdict::kAvoid);
  ASSERT_EQ(answer->segment->overridden.size(), 1u);
  EXPECT_EQ(answer->segment->overridden[0]->id, "regular_skincare.day1_as_usual");
  ASSERT_EQ(answer->segment->resolutions.size(), 1u);
  EXPECT_EQ(answer->segment->resolutions[0]->id, "regular_skincare_24h_or_48h");
  // The change is reported as the next different verdict, skipping the 24 h change of reasons.
  EXPECT_EQ(Changes(plan, "regular_skincare", hours(1)), "2026-11-30T14:00-05:00");
}

// Sun exposure is 14 calendar days: across the November change in New York that is 337 hours.
TEST(SunExposure, FourteenDaysAcrossDstAreCalendarDays) {
  Plan plan = MakePlan("2026-10-25T14:00", "America/New_York");
  EXPECT_EQ(Changes(plan, "sun_exposure", hours(0)), "2026-11-08T14:00-05:00");
  EXPECT_EQ(At(plan, "sun_exposure", hours(337) - minutes(1)), Verdict::kAvoid);
  EXPECT_EQ(At(plan, "sun_exposure", hours(337)), Verdict::kCaution);
}

TEST(SunExposure, FourteenDaysAcrossTheLondonSpringChange) {
  Plan plan = MakePlan("2026-03-20T10:00", "Europe/London");
  EXPECT_EQ(Changes(plan, "sun_exposure", hours(0)), "2026-04-03T10:00+01:00");
  EXPECT_EQ(At(plan, "sun_exposure", hours(335) - minutes(1)), Verdict::kAvoid);
  EXPECT_EQ(At(plan, "sun_exposure", hours(335)), Verdict::kCaution);
}

TEST(SunExposure, FourteenDaysAcrossTheHalfHourLordHoweChange) {
  Plan plan = MakePlan("2026-09-27T10:00", "Australia/Lord_Howe");
  EXPECT_EQ(Changes(plan, "sun_exposure", hours(0)), "2026-10-11T10:00+11:00");
  EXPECT_EQ(At(plan, "sun_exposure", hours(336) - minutes(31)), Verdict::kAvoid);
  EXPECT_EQ(At(plan, "sun_exposure", hours(336) - minutes(30)), Verdict::kCaution);
}

// Hours stay elapsed across a change: 12 h after 20:00 EST the day before spring forward is 09:00 EDT.
TEST(SunscreenTimeline, TwelveHoursAreElapsedAcrossTheSpringGap) {
  Plan plan = MakePlan("2026-03-07T20:00", "America/New_York");
  EXPECT_EQ(Changes(plan, "sunscreen", hours(0)), "2026-03-08T09:00-04:00");
}

TEST(Kathmandu, ChangesAreShownWithTheQuarterHourOffset) {
  Plan plan = MakePlan("2026-11-28T14:00", "Asia/Kathmandu");
  EXPECT_EQ(Changes(plan, "makeup", hours(0)), "2026-11-29T14:00+05:45");
  EXPECT_EQ(Changes(plan, "sun_exposure", hours(0)), "2026-12-12T14:00+05:45");
}

TEST(Plan, StatusAnswersEveryActivityInProtocolOrder) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answers = plan.Status(plan.procedure().end + hours(5));
  ASSERT_TRUE(answers.ok());
  ASSERT_EQ(answers->size(), BuiltinProtocol().activities.size());
  for (std::size_t i = 0; i < answers->size(); ++i) {
    EXPECT_EQ((*answers)[i].activity().id, BuiltinProtocol().activities[i].id);
  }
}

TEST(Plan, RefusesAMomentBeforeTheProcedureEnded) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answer = plan.Can("makeup", plan.procedure().end - minutes(1));
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("before the procedure ended"), std::string::npos);
  EXPECT_FALSE(plan.Status(plan.procedure().end - minutes(1)).ok());
}

TEST(Plan, SuggestsTheClosestActivity) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answer = plan.Can("makup", plan.procedure().end);
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("did you mean 'makeup'?"), std::string::npos) << answer.error().message;
}

TEST(Plan, FindsAnActivityByLabelOrSynonym) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  EXPECT_EQ(plan.Can("Foundation", plan.procedure().end)->activity().id, "makeup");
  EXPECT_EQ(plan.Can("wear makeup", plan.procedure().end)->activity().id, "makeup");
  EXPECT_EQ(plan.Can("SPF", plan.procedure().end)->activity().id, "sunscreen");
}

TEST(Plan, RefusesAnUnknownContext) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto answer = plan.Can("sunscreen", plan.procedure().end, "underwater");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("unknown context 'underwater'"), std::string::npos);
}

TEST(Plan, RefusesAnUnknownAreaListingTheKnownOnes) {
  Procedure procedure{ParseTime("2026-11-28T14:00Z", nullptr).value(), Z("UTC"), {"eyez"}};
  auto plan = Plan::Compile(BuiltinProtocol(), procedure);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("unknown treated area 'eyez'"), std::string::npos);
  EXPECT_NE(plan.error().message.find("'periorbital'"), std::string::npos) << plan.error().message;
}

TEST(Plan, MilestonesAreAscendingAndStartAfterTheEnd) {
  Plan plan = MakePlan("2026-11-28T14:00", "America/New_York");
  auto milestones = plan.Milestones();
  ASSERT_FALSE(milestones.empty());
  EXPECT_EQ(milestones.front().at, plan.procedure().end + hours(12));
  EXPECT_TRUE(std::is_sorted(milestones.begin(), milestones.end(),
                             [](const Milestone& a, const Milestone& b) { return a.at < b.at; }));
}

TEST(Plan, SegmentsAreContiguous) {
  Plan plan = MakePlan("2026-11-28T14:00", "Europe/London", {"face", "periorbital"});
  for (const auto& timeline : plan.Timelines()) {
    ASSERT_FALSE(timeline.segments.empty());
    EXPECT_EQ(timeline.segments.front().from, plan.procedure().end);
    for (std::size_t i = 1; i < timeline.segments.size(); ++i) {
      EXPECT_EQ(*timeline.segments[i - 1].until, timeline.segments[i].from) << timeline.activity->id;
    }
    EXPECT_FALSE(timeline.segments.back().until.has_value()) << timeline.activity->id;
  }
}

}  // namespace
}  // namespace aftercare
