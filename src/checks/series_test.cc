#include <gtest/gtest.h>

#include "aftercare/checks.h"
#include "check_test_support.h"

namespace aftercare {
namespace {

using testing::Local;
using testing::TestZone;

TEST(PlanSeriesTest, PlansSessionsFourWeeksApartAtTheSameLocalTime) {
  // 2026-03-02 is before the US DST change (2026-03-08): the later sessions stay at 10:00 local time.
  auto sessions = PlanSeries(BuiltinProtocol(), Local("2026-03-02T10:00"), 3, TestZone());
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 3u);
  EXPECT_EQ(FormatInstant((*sessions)[0], TestZone()), "2026-03-02T10:00-05:00");
  EXPECT_EQ(FormatInstant((*sessions)[1], TestZone()), "2026-03-30T10:00-04:00");
  EXPECT_EQ(FormatInstant((*sessions)[2], TestZone()), "2026-04-27T10:00-04:00");
}

TEST(PlanSeriesTest, RefusesACountOutsideThreeToFive) {
  auto two = PlanSeries(BuiltinProtocol(), Local("2026-03-02T10:00"), 2, TestZone());
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("3-5"), std::string::npos);
  EXPECT_FALSE(PlanSeries(BuiltinProtocol(), Local("2026-03-02T10:00"), 6, TestZone()).ok());
  EXPECT_TRUE(PlanSeries(BuiltinProtocol(), Local("2026-03-02T10:00"), 5, TestZone()).ok());
}

TEST(PlanSeriesTest, AProtocolWithoutASeriesIsAnError) {
  Protocol protocol;
  protocol.id = "none";
  EXPECT_FALSE(PlanSeries(protocol, Local("2026-03-02T10:00"), 3, TestZone()).ok());
}

TEST(CheckBookingTest, TooEarlyGivesTheEarliestAllowedDate) {
  auto check = CheckBooking(BuiltinProtocol(), Local("2026-03-02T10:00"), Local("2026-03-20T10:00"), TestZone());
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(FormatInstant(check->earliest, TestZone()), "2026-03-30T10:00-04:00");
}

TEST(CheckBookingTest, ExactlyFourWeeksLaterIsAllowed) {
  auto check = CheckBooking(BuiltinProtocol(), Local("2026-03-02T10:00"), Local("2026-03-30T10:00"), TestZone());
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok);
}

TEST(CheckBookingTest, ABookingBeforeTheLastSessionIsAnError) {
  EXPECT_FALSE(CheckBooking(BuiltinProtocol(), Local("2026-03-02T10:00"), Local("2026-03-01T10:00"), TestZone()).ok());
}

}  // namespace
}  // namespace aftercare
