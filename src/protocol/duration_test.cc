#include "aftercare/duration.h"

#include <gtest/gtest.h>

namespace aftercare {
namespace {

TEST(ParseOffset, ReadsEveryUnit) {
  EXPECT_EQ(ParseOffset("0h")->NominalMinutes(), 0);
  EXPECT_EQ(ParseOffset("90m")->NominalMinutes(), 90);
  EXPECT_EQ(ParseOffset("12h")->NominalMinutes(), 12 * 60);
  EXPECT_EQ(ParseOffset("14d")->unit, OffsetUnit::kDays);
  EXPECT_EQ(ParseOffset("4w")->unit, OffsetUnit::kWeeks);
  EXPECT_EQ(ParseOffset("4 weeks")->amount, 4);
}

TEST(ParseOffset, HoursAreElapsedDaysAreCalendar) {
  EXPECT_TRUE(ParseOffset("48h")->IsElapsed());
  EXPECT_FALSE(ParseOffset("2d")->IsElapsed());
}

TEST(ParseOffset, RoundTripsThroughToString) {
  for (const char* text : {"0h", "12h", "90m", "14d", "4w"}) EXPECT_EQ(ParseOffset(text)->ToString(), text);
}

TEST(ParseOffset, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "h", "12", "12x", "-1h", "1.5h", "99999999999999999999h", "1000000w"}) {
    auto parsed = ParseOffset(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find("e.g. 0h, 12h"), std::string::npos) << parsed.error().message;
  }
}

}  // namespace
}  // namespace aftercare
