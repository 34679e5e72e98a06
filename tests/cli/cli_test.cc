// The aftercare binary, run for real: output, exit codes, and one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_binary.h"

namespace aftercare {
namespace {

using testing::RunAftercare;
using testing::RunResult;
using nlohmann::json;

const std::vector<std::string> kProcedure = {"--procedure-end", "2026-11-28T14:00", "--tz", "America/New_York"};

std::vector<std::string> Args(std::vector<std::string> head, const std::vector<std::string>& tail = kProcedure) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// Exit 2 and exactly one line on stderr containing `part`.
void ExpectBadInput(const RunResult& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliCan, DoneWhenExampleSaysAvoidUntilTwoPm) {
  RunResult r = RunAftercare(Args({"can", "makeup", "--at", "2026-11-29T13:59", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json answer = json::parse(r.out);
  EXPECT_EQ(answer["activity"], "makeup");
  EXPECT_EQ(answer["verdict"], "avoid");
  EXPECT_EQ(answer["changes_at"], "2026-11-29T14:00-05:00");
  EXPECT_EQ(answer["next_verdict"], "allowed");
  EXPECT_EQ(answer["sources"][0]["id"], "bullet.makeup_24h");
  EXPECT_EQ(answer["sources"][0]["text"], "May use makeup after 24 hours");
}

TEST(CliCan, ChangesAtIsNullWhenTheSheetGivesNoEnd) {
  RunResult r = RunAftercare(Args({"can", "anti_inflammatory_medication", "--at", "2026-12-28T10:00", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json answer = json::parse(r.out);
  EXPECT_EQ(answer["verdict"], "avoid");
  EXPECT_TRUE(answer["changes_at"].is_null());
  EXPECT_TRUE(answer["next_verdict"].is_null());
}

TEST(CliCan, JsonFlagMayComeFirst) {
  RunResult r = RunAftercare(Args({"--json", "can", "sunscreen", "--at", "2026-11-29T02:00"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["verdict"], "recommended");
}

TEST(CliCan, TextNamesTheChangeAndQuotesTheSheet) {
  RunResult r = RunAftercare(Args({"can", "makeup", "--at", "2026-11-29T13:59"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("AVOID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Changes to allowed at Sun 29 Nov 14:00 EST"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"May use makeup after 24 hours\""), std::string::npos) << r.out;
}

TEST(CliCan, NotCoveredRefersToTheClinic) {
  RunResult r = RunAftercare(Args({"can", "cool_compress", "--at", "2026-11-28T15:00", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json answer = json::parse(r.out);
  EXPECT_EQ(answer["verdict"], "not_covered");
  EXPECT_NE(answer["message"].get<std::string>().find("ask your clinic"), std::string::npos);
}

TEST(CliCan, OutdoorsContextAddsTheReapplyRule) {
  RunResult r = RunAftercare(Args({"can", "sunscreen", "--context", "outdoors", "--at", "2026-11-30T10:00", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reapply every 2 hours"), std::string::npos) << r.out;
}

TEST(CliStatus, ListsEveryActivity) {
  RunResult r = RunAftercare(Args({"status", "--at", "2026-11-29T15:00", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json status = json::parse(r.out);
  EXPECT_EQ(status["activities"].size(), 14u);
  EXPECT_EQ(status["at"], "2026-11-29T15:00-05:00");
  EXPECT_EQ(status["procedure"]["zone"], "America/New_York");
}

TEST(CliStatus, TextGroupsByVerdict) {
  RunResult r = RunAftercare(Args({"status", "--at", "2026-11-29T15:00"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("AVOID"), std::string::npos);
  EXPECT_NE(r.out.find("ALLOWED"), std::string::npos);
}

TEST(CliPlan, TextListsTheMomentsInOrder) {
  RunResult r = RunAftercare(Args({"plan", "--areas", "face,periorbital"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto p12 = r.out.find("After 12 h"), p24 = r.out.find("After 1 d"), p14d = r.out.find("After 14 d");
  ASSERT_NE(p12, std::string::npos) << r.out;
  EXPECT_LT(p12, p24);
  EXPECT_LT(p24, p14d);
}

TEST(CliPlan, JsonHasSegmentsAndMilestones) {
  RunResult r = RunAftercare(Args({"plan", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json plan = json::parse(r.out);
  EXPECT_EQ(plan["activities"].size(), 14u);
  EXPECT_FALSE(plan["milestones"].empty());
  EXPECT_EQ(plan["protocol"]["id"], "cit");
}

TEST(CliLint, BuiltinProtocolExitsZeroAndListsContradictions) {
  RunResult r = RunAftercare({"lint"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Contradictions and gaps of the sheet"), std::string::npos);
  EXPECT_NE(r.out.find("regular_skincare_24h_or_48h"), std::string::npos);
  EXPECT_NE(r.out.find("OK: 0 errors"), std::string::npos);
}

TEST(CliLint, ShippedCitFileExitsZero) {
  RunResult r = RunAftercare({"lint", std::string(AFTERCARE_SOURCE_DIR) + "/protocols/cit.toml", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json report = json::parse(r.out);
  EXPECT_TRUE(report["ok"]);
  EXPECT_GE(report["contradictions"].size(), 5u);
}

TEST(CliLint, BrokenFileExitsOneWithEveryProblem) {
  std::string path = ::testing::TempDir() + "broken.toml";
  std::ofstream(path) << "format_version = 1\n[protocol]\nid = \"x\"\nname = \"x\"\nversion = \"1\"\n"
                         "[[rules]]\nactivity = \"nothing\"\nverdict = \"maybe\"\nfrom = \"soon\"\nsources = []\n";
  RunResult r = RunAftercare({"lint", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown verdict 'maybe'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad duration 'soon'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown activity 'nothing'"), std::string::npos) << r.out;
}

TEST(CliProtocol, AnotherProtocolFileIsUsed) {
  RunResult r = RunAftercare(Args({"--protocol", std::string(AFTERCARE_SOURCE_DIR) + "/protocols/cit.toml", "can",
                                   "makeup", "--at", "2026-11-29T14:00", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["verdict"], "allowed");
}

TEST(CliErrors, UnknownActivitySaysDidYouMean) {
  ExpectBadInput(RunAftercare(Args({"can", "makup", "--at", "2026-11-29T13:59"})), "did you mean 'makeup'?");
}

TEST(CliErrors, UnknownZone) {
  ExpectBadInput(RunAftercare({"plan", "--procedure-end", "2026-11-28T14:00", "--tz", "Mars/Olympus"}),
                 "unknown time zone 'Mars/Olympus'");
}

TEST(CliErrors, MalformedTime) {
  ExpectBadInput(RunAftercare({"plan", "--procedure-end", "28/11/2026", "--tz", "UTC"}), "malformed time");
}

TEST(CliErrors, AtBeforeTheProcedure) {
  ExpectBadInput(RunAftercare(Args({"status", "--at", "2026-11-28T13:59"})), "before the procedure ended");
}

TEST(CliErrors, LocalTimeInTheGap) {
  ExpectBadInput(RunAftercare({"plan", "--procedure-end", "2026-03-08T02:30", "--tz", "America/New_York"}),
                 "DST gap");
}

TEST(CliErrors, AmbiguousLocalTime) {
  ExpectBadInput(RunAftercare({"plan", "--procedure-end", "2026-11-01T01:30", "--tz", "America/New_York"}),
                 "happens twice");
}

TEST(CliErrors, UnknownArea) {
  ExpectBadInput(RunAftercare(Args({"plan", "--areas", "face,eyez"})), "unknown treated area 'eyez'");
}

TEST(CliErrors, MissingOption) { ExpectBadInput(RunAftercare({"plan", "--tz", "UTC"}), "--procedure-end is required"); }

TEST(CliErrors, NoSubcommand) { ExpectBadInput(RunAftercare({}), "subcommand"); }

TEST(CliErrors, MissingProtocolFile) {
  ExpectBadInput(RunAftercare(Args({"--protocol", "/nonexistent.toml", "plan"})), "cannot read '/nonexistent.toml'");
}

TEST(CliHelp, ExitsZero) {
  RunResult r = RunAftercare({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("plan"), std::string::npos);
}

TEST(CliErrors, ALineBreakInWhatWasTypedStaysOnOneLine) {
  RunResult r = RunAftercare({"status", "--procedure-end", "2026-11-28T14:00", "--tz", "Europe/\nLondon"});
  ExpectBadInput(r, "Europe/\\nLondon");
}

}  // namespace
}  // namespace aftercare
