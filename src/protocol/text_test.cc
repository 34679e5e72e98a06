#include <gtest/gtest.h>

#include <random>
#include <string>

#include "aftercare/text.h"

namespace aftercare {
namespace {

TEST(OneLineTest, EscapesLineBreaksAndControlCharactersButKeepsTabs) {
  EXPECT_EQ(OneLine("a\nb\rc\x1b[31m\td"), "a\\nb\\rc\\x1b[31m\td");
  EXPECT_EQ(OneLine("Zürich"), "Zürich");
}

TEST(EditDistanceWithinTest, IsTheDistanceUpToTheLimit) {
  EXPECT_EQ(EditDistanceWithin("gym", "gim", 2), 1u);
  EXPECT_EQ(EditDistanceWithin("Sauna", "sauna", 0), 0u);
  EXPECT_EQ(EditDistanceWithin("", "abc", 3), 3u);
  EXPECT_EQ(EditDistanceWithin("kitten", "sitting", 2), 3u);  // 3 is more than 2: limit + 1
  EXPECT_EQ(EditDistanceWithin("a", "a very long candidate", 2), 3u);
}

TEST(EditDistanceWithinTest, AgreesWithEditDistanceOnRandomText) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> letter('a', 'd');
  std::uniform_int_distribution<int> length(0, 12);
  auto text = [&] {
    std::string s(static_cast<std::size_t>(length(rng)), ' ');
    for (char& c : s) c = static_cast<char>(letter(rng));
    return s;
  };
  for (int n = 0; n < 2000; ++n) {
    std::string a = text(), b = text();
    std::size_t exact = EditDistance(a, b);
    for (std::size_t limit = 0; limit <= 13; ++limit) {
      std::size_t expected = exact <= limit ? exact : limit + 1;
      ASSERT_EQ(EditDistanceWithin(a, b, limit), expected)
          << a << " / " << b << " within " << limit;
    }
  }
}

TEST(ClosestNamesTest, NearestFirstAndContainedNamesAreClose) {
  EXPECT_EQ(ClosestNames("gim", {"sauna", "gym", "swim"}), (std::vector<std::string>{"gym", "swim"}));
  EXPECT_EQ(ClosestNames("tanning", {"sun tanning", "makeup"}), std::vector<std::string>{"sun tanning"});
  EXPECT_TRUE(ClosestNames(std::string(5000, 'x'), {"gym", "sauna"}).empty());
}

}  // namespace
}  // namespace aftercare
