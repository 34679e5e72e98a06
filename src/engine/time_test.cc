#include "aftercare/time.h"

#include <gtest/gtest.h>

namespace aftercare {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Zone Z(const char* name) { return FindZone(name).value(); }
Instant T(const char* text, const char* zone) {
  auto parsed = ParseTime(text, Z(zone));
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : Instant{};
}

TEST(FindZone, KnowsIanaNames) { EXPECT_EQ(Z("Europe/London")->name(), "Europe/London"); }

TEST(FindZone, SuggestsTheClosestName) {
  auto zone = FindZone("America/New_Yrok");
  ASSERT_FALSE(zone.ok());
  EXPECT_NE(zone.error().message.find("did you mean 'America/New_York'"), std::string::npos) << zone.error().message;
}

TEST(ParseTime, ReadsLocalTimeInTheZone) {
  EXPECT_EQ(FormatInstant(T("2026-11-28T14:00", "America/New_York"), Z("UTC")), "2026-11-28T19:00+00:00");
}

TEST(ParseTime, ReadsAnOffsetOrZ) {
  Instant a = T("2026-11-28T14:00-05:00", "Europe/London");
  EXPECT_EQ(a, T("2026-11-28T19:00Z", "Asia/Kathmandu"));
  EXPECT_EQ(a, T("2026-11-28T14:00-0500", "UTC"));
  EXPECT_EQ(a, T("2026-11-28 14:00:00-05:00", "UTC"));
}

TEST(ParseTime, RefusesMalformedText) {
  for (const char* text : {"", "tomorrow", "2026-11-28", "2026-13-01T10:00", "2026-02-30T10:00", "2026-11-28T25:00",
                           "2026-11-28T14:00+5", "2026-11-28T14:00 EST", "2026-11-28T14:00-25:00"}) {
    auto parsed = ParseTime(text, Z("UTC"));
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("2026-11-28T14:00"), std::string::npos) << parsed.error().message;
  }
}

// America/New_York, 8 March 2026: 01:59 EST -> 03:00 EDT. 02:30 never happens.
TEST(ParseTime, RefusesALocalTimeInTheSpringGapNamingIt) {
  auto parsed = ParseTime("2026-03-08T02:30", Z("America/New_York"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("does not exist in America/New_York"), std::string::npos);
  EXPECT_NE(parsed.error().message.find("DST gap"), std::string::npos);
  EXPECT_NE(parsed.error().message.find("02:00 EST to 03:00 EDT"), std::string::npos) << parsed.error().message;
}

// America/New_York, 1 November 2026: 01:00-01:59 happens in EDT, then again in EST.
TEST(ParseTime, RefusesAnAmbiguousLocalTimeAndShowsBothOffsets) {
  auto parsed = ParseTime("2026-11-01T01:30", Z("America/New_York"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("happens twice"), std::string::npos);
  EXPECT_NE(parsed.error().message.find("2026-11-01T01:30-04:00"), std::string::npos);
  EXPECT_NE(parsed.error().message.find("2026-11-01T01:30-05:00"), std::string::npos) << parsed.error().message;
}

TEST(ParseTime, AcceptsAnAmbiguousLocalTimeWithItsOffset) {
  EXPECT_EQ(T("2026-11-01T01:30-05:00", "America/New_York") - T("2026-11-01T01:30-04:00", "America/New_York"),
            hours(1));
}

// Europe/London, 29 March 2026: 00:59 GMT -> 02:00 BST.
TEST(ParseTime, RefusesTheLondonSpringGap) {
  EXPECT_FALSE(ParseTime("2026-03-29T01:15", Z("Europe/London")).ok());
  EXPECT_TRUE(ParseTime("2026-03-29T02:15", Z("Europe/London")).ok());
}

// Europe/London, 25 October 2026: 01:00-01:59 twice.
TEST(ParseTime, RefusesTheLondonAutumnOverlap) {
  EXPECT_FALSE(ParseTime("2026-10-25T01:30", Z("Europe/London")).ok());
}

// Australia/Lord_Howe, 4 October 2026: 02:00 -> 02:30 (a 30-minute shift).
TEST(ParseTime, RefusesTheHalfHourLordHoweGap) {
  EXPECT_FALSE(ParseTime("2026-10-04T02:15", Z("Australia/Lord_Howe")).ok());
  EXPECT_TRUE(ParseTime("2026-10-04T02:30", Z("Australia/Lord_Howe")).ok());
}

TEST(FormatInstant, ShowsNonHourOffsets) {
  EXPECT_EQ(FormatInstant(T("2026-11-28T14:00", "Asia/Kathmandu"), Z("Asia/Kathmandu")), "2026-11-28T14:00+05:45");
  EXPECT_EQ(FormatInstant(T("2026-11-28T14:00", "Australia/Lord_Howe"), Z("Australia/Lord_Howe")),
            "2026-11-28T14:00+11:00");
}

TEST(FormatInstant, ShowsSecondsOnlyWhenThereAreSome) {
  EXPECT_EQ(FormatInstant(T("2026-11-28T14:00:05Z", "UTC"), Z("UTC")), "2026-11-28T14:00:05+00:00");
}

// Hours are elapsed: 12 h after 20:00 EST on 7 March is 09:00 EDT, not 08:00.
TEST(AddOffset, HoursAreElapsedAcrossTheSpringGap) {
  Instant end = T("2026-03-07T20:00", "America/New_York");
  EXPECT_EQ(FormatInstant(AddOffset(end, *ParseOffset("12h"), Z("America/New_York")), Z("America/New_York")),
            "2026-03-08T09:00-04:00");
}

// Days are calendar days: 14 d after 25 Oct 14:00 EDT is 8 Nov 14:00 EST, which is 337 hours.
TEST(AddOffset, DaysKeepTheWallClockAcrossTheAutumnChange) {
  Instant end = T("2026-10-25T14:00", "America/New_York");
  Instant later = AddOffset(end, *ParseOffset("14d"), Z("America/New_York"));
  EXPECT_EQ(FormatInstant(later, Z("America/New_York")), "2026-11-08T14:00-05:00");
  EXPECT_EQ(later - end, hours(337));
}

TEST(AddOffset, WeeksAreSevenCalendarDays) {
  Instant end = T("2026-03-01T10:00", "Europe/London");
  Instant later = AddOffset(end, *ParseOffset("4w"), Z("Europe/London"));
  EXPECT_EQ(FormatInstant(later, Z("Europe/London")), "2026-03-29T10:00+01:00");
  EXPECT_EQ(later - end, hours(28 * 24 - 1));
}

TEST(AddOffset, DaysAcrossTheHalfHourLordHoweShift) {
  Instant end = T("2026-09-27T10:00", "Australia/Lord_Howe");
  Instant later = AddOffset(end, *ParseOffset("14d"), Z("Australia/Lord_Howe"));
  EXPECT_EQ(FormatInstant(later, Z("Australia/Lord_Howe")), "2026-10-11T10:00+11:00");
  EXPECT_EQ(later - end, hours(14 * 24) - minutes(30));
}

// A day boundary that lands in the gap moves to the instant the gap ends.
TEST(AddOffset, DayLandingInAGapMovesToTheGapEnd) {
  Instant end = T("2026-03-07T02:30", "America/New_York");
  EXPECT_EQ(FormatInstant(AddOffset(end, *ParseOffset("1d"), Z("America/New_York")), Z("America/New_York")),
            "2026-03-08T03:00-04:00");
}

// A day boundary that lands in the overlap takes the later instant, so the window never ends early.
TEST(AddOffset, DayLandingInAnOverlapTakesTheLaterInstant) {
  Instant end = T("2026-10-31T01:30", "America/New_York");
  EXPECT_EQ(FormatInstant(AddOffset(end, *ParseOffset("1d"), Z("America/New_York")), Z("America/New_York")),
            "2026-11-01T01:30-05:00");
}

}  // namespace
}  // namespace aftercare
