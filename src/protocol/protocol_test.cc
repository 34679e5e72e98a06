#include "aftercare/protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace aftercare {
namespace {

// A minimal valid protocol, to which each test adds one defect.
const std::string kMinimal = R"(
format_version = 1
[protocol]
id = "t"
name = "test"
version = "1"
[[sentences]]
id = "s1"
text = "Avoid makeup for 24 hours."
[[activities]]
id = "makeup"
label = "Wear makeup"
[[rules]]
activity = "makeup"
verdict = "avoid"
from = "0h"
until = "24h"
sources = ["s1"]
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(BuiltinProtocol, ParsesAndHasTheCanonicalActivities) {
  const Protocol& p = BuiltinProtocol();
  EXPECT_EQ(p.id, "cit");
  for (const char* id : {"serums", "sunscreen", "sun_exposure", "sun_tanning", "anti_inflammatory_medication",
                         "acetaminophen", "strenuous_exercise", "makeup", "gentle_cleansing", "regular_skincare",
                         "moisturizer", "exfoliants_acids", "picking_scratching", "cool_compress"}) {
    EXPECT_NE(p.FindActivity(id), nullptr) << id;
  }
}

TEST(BuiltinProtocol, EveryRuleCitesTheSheet) {
  for (const auto& rule : BuiltinProtocol().rules) {
    ASSERT_FALSE(rule.sources.empty()) << rule.id;
    for (const auto& id : rule.sources) EXPECT_NE(BuiltinProtocol().FindSentence(id), nullptr) << id;
  }
}

TEST(BuiltinProtocol, SeriesIsThreeToFiveAtLeastFourWeeksApart) {
  const auto& series = BuiltinProtocol().series;
  ASSERT_TRUE(series.has_value());
  EXPECT_EQ(series->min_interval, (Offset{4, OffsetUnit::kWeeks}));
  EXPECT_EQ(series->min_count, 3);
  EXPECT_EQ(series->max_count, 5);
}

TEST(ParseProtocol, AcceptsAMinimalFile) {
  auto p = ParseProtocol(kMinimal, "t.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->rules[0].id, "makeup#1");
  EXPECT_EQ(p->rules[0].verdict, Verdict::kAvoid);
}

TEST(ParseProtocol, ReportsTomlSyntaxWithTheLine) {
  auto p = ParseProtocol(kMinimal + "\n[[rules]\n", "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("not valid TOML"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("t.toml:"), std::string::npos);
}

TEST(ParseProtocol, RefusesAnUnknownVerdict) {
  auto p = ParseProtocol(Replace(kMinimal, "\"avoid\"", "\"never\""), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("unknown verdict 'never'"), std::string::npos) << p.error().message;
}

TEST(ParseProtocol, RefusesABadDuration) {
  auto p = ParseProtocol(Replace(kMinimal, "\"24h\"", "\"24 hrs\""), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("bad duration"), std::string::npos) << p.error().message;
}

TEST(ParseProtocol, RefusesAWindowThatEndsBeforeItStarts) {
  auto p = ParseProtocol(Replace(kMinimal, "from = \"0h\"", "from = \"2d\""), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("before it starts"), std::string::npos) << p.error().message;
}

TEST(ParseProtocol, NamesTheClosestIdForAnUnknownActivity) {
  auto p = ParseProtocol(Replace(kMinimal, "activity = \"makeup\"", "activity = \"makup\""), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("unknown activity 'makup'; did you mean 'makeup'?"), std::string::npos)
      << p.error().message;
}

TEST(ParseProtocol, RefusesAnUnknownSentence) {
  auto p = ParseProtocol(Replace(kMinimal, "[\"s1\"]", "[\"s2\"]"), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("unknown sentence 's2'"), std::string::npos) << p.error().message;
}

TEST(ParseProtocol, SuggestsTheKeyForATypo) {
  auto p = ParseProtocol(Replace(kMinimal, "until = ", "untill = "), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("unknown key 'untill'"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find("did you mean 'until'?"), std::string::npos) << p.error().message;
}

TEST(ParseProtocol, RefusesAnotherFormatVersion) {
  auto p = ParseProtocol(Replace(kMinimal, "format_version = 1", "format_version = 2"), "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("format_version 2 is not supported"), std::string::npos) << p.error().message;
}

TEST(ParseProtocol, CountsTheOtherProblems) {
  std::string text = Replace(Replace(kMinimal, "\"avoid\"", "\"never\""), "\"24h\"", "\"x\"");
  auto p = ParseProtocol(text, "t.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("and 1 more problems"), std::string::npos) << p.error().message;
}

TEST(LoadProtocolFile, NamesAMissingFile) {
  auto p = LoadProtocolFile("/nonexistent/cit.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("cannot read '/nonexistent/cit.toml'"), std::string::npos);
}

TEST(LoadProtocolFile, ReadsTheShippedCitFile) {
  auto p = LoadProtocolFile(std::string(AFTERCARE_SOURCE_DIR) + "/protocols/cit.toml");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->rules.size(), BuiltinProtocol().rules.size());
}

}  // namespace
}  // namespace aftercare
