#include "aftercare/lint.h"

#include <gtest/gtest.h>

#include <string>

namespace aftercare {
namespace {

const std::string kSheet = "Avoid makeup for 24 hours. Makeup is fine after that.\n";

const std::string kProtocol = R"(
format_version = 1
[protocol]
id = "t"
name = "test"
version = "1"
[[sentences]]
id = "s1"
text = "Avoid makeup for 24 hours."
[[sentences]]
id = "s2"
text = "Makeup is fine after that."
[[activities]]
id = "makeup"
label = "Wear makeup"
[[rules]]
id = "a"
activity = "makeup"
verdict = "avoid"
from = "0h"
until = "24h"
sources = ["s1"]
[[rules]]
id = "b"
activity = "makeup"
verdict = "allowed"
from = "24h"
sources = ["s2"]
)";

bool HasMessage(const std::vector<Finding>& findings, const std::string& part) {
  for (const auto& f : findings) {
    if ((f.where + ": " + f.message).find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(Lint, BuiltinCitProtocolIsCleanAgainstTheSheet) {
  LintReport report = LintProtocolText(BuiltinProtocolText(), "cit.toml", BuiltinSheetText());
  for (const auto& f : report.errors) ADD_FAILURE() << f.where << ": " << f.message;
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_GE(report.protocol->resolutions.size(), 5u);
}

TEST(Lint, ShippedFileFindsItsSheet) {
  LintReport report = LintProtocolFile(std::string(AFTERCARE_SOURCE_DIR) + "/protocols/cit.toml");
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front().message;
}

TEST(Lint, AcceptsAConsistentFile) {
  LintReport report = LintProtocolText(kProtocol, "t.toml", kSheet);
  EXPECT_TRUE(report.ok()) << report.errors.front().message;
}

TEST(Lint, FlagsOverlappingVerdictsWithoutResolution) {
  std::string text = kProtocol;
  text.replace(text.find("from = \"24h\""), 12, "from = \"12h\"");
  LintReport report = LintProtocolText(text, "t.toml", kSheet);
  EXPECT_TRUE(HasMessage(report.errors, "rules 'a' and 'b': overlapping windows with different verdicts"));
}

TEST(Lint, AcceptsAnOverlapWithAStatedResolution) {
  std::string text = kProtocol;
  text.replace(text.find("from = \"24h\""), 12, "from = \"12h\"");
  text += "[[resolutions]]\nid = \"r\"\nrules = [\"a\", \"b\"]\nsentences = [\"s1\", \"s2\"]\n"
          "conflict = \"c\"\nreading = \"the more restrictive\"\n";
  EXPECT_TRUE(LintProtocolText(text, "t.toml", kSheet).ok());
}

TEST(Lint, FlagsASentenceNoRuleUses) {
  std::string text = kProtocol + "[[sentences]]\nid = \"s3\"\ntext = \"Makeup\"\n";
  LintReport report = LintProtocolText(text, "t.toml", kSheet);
  EXPECT_TRUE(HasMessage(report.errors, "sentence 's3': used by no rule"));
}

TEST(Lint, AcceptsAnInformationalSentence) {
  std::string text = kProtocol + "[[sentences]]\nid = \"s3\"\ntext = \"Makeup\"\ninformational = true\n";
  EXPECT_TRUE(LintProtocolText(text, "t.toml", kSheet).ok());
}

TEST(Lint, FlagsASentenceNotVerbatimInTheSheet) {
  std::string text = kProtocol;
  text.replace(text.find("Makeup is fine"), 14, "Makeup is okay");
  LintReport report = LintProtocolText(text, "t.toml", kSheet);
  EXPECT_TRUE(HasMessage(report.errors, "sentence 's2': not found verbatim"));
}

TEST(Lint, FlagsAStatementOfTheSheetTheFileLeftOut) {
  LintReport report = LintProtocolText(kProtocol, "t.toml", kSheet + "\xE2\x80\xA2 Never pick.\n");
  EXPECT_TRUE(HasMessage(report.errors, "the sheet says \"Never pick.\""));
}

TEST(Lint, ReportsEveryProblemAtOnce) {
  std::string text = kProtocol;
  text.replace(text.find("\"avoid\""), 7, "\"nope\"");
  text.replace(text.find("\"24h\""), 5, "\"soon\"");
  LintReport report = LintProtocolText(text, "t.toml", std::nullopt);
  EXPECT_GE(report.errors.size(), 2u);
}

}  // namespace
}  // namespace aftercare
