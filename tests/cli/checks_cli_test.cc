// The checks' subcommands (med, ingredients, symptom, series, can in plain words) through the real binary.
#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_binary.h"

namespace aftercare::testing {
namespace {

using nlohmann::json;

const std::vector<std::string> kProcedure = {"--procedure-end", "2026-03-02T10:00", "--tz", "America/New_York"};

std::vector<std::string> Args(std::vector<std::string> head, const std::vector<std::string>& tail = kProcedure) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

json Json(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

void ExpectBadInput(const RunResult& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliMed, JsonHasTheAgreedFields) {
  json a = Json(RunAftercare(Args({"med", "Advil PM", "--at", "2026-03-02T20:00", "--json"})));
  EXPECT_EQ(a["query"], "Advil PM");
  EXPECT_EQ(a["matched"], "Advil PM");
  EXPECT_EQ(a["verdict"], "avoid");
  EXPECT_EQ(a["ingredients"].size(), 2u);
  EXPECT_EQ(a["classes"][0]["id"], "nsaid");
  EXPECT_EQ(a["sources"][0]["id"], "intro.no_anti_inflammatories");
}

TEST(CliMed, SeveralNamesGiveAJsonArray) {
  json a = Json(RunAftercare({"med", "Tylenol", "Aleve", "--json"}));
  ASSERT_TRUE(a.is_array());
  EXPECT_EQ(a[0]["verdict"], "allowed");
  EXPECT_EQ(a[1]["verdict"], "avoid");
  EXPECT_EQ(a[0]["assumed"], true);
}

TEST(CliMed, TextSaysWhichNameACorrectionMatched) {
  RunResult r = RunAftercare({"med", "Excedirn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Excedrin Extra Strength (you typed 'Excedirn'; matched the name 'excedrin'): AVOID"),
            std::string::npos)
      << r.out;
}

TEST(CliMed, UnknownIsAskYourClinic) {
  json a = Json(RunAftercare({"med", "Frobnicol", "--json"}));
  EXPECT_EQ(a["verdict"], "unknown");
  EXPECT_EQ(a["matched"], nullptr);
  EXPECT_NE(a["advice"][0].get<std::string>().find("ask your clinic"), std::string::npos);
}

TEST(CliMed, PrednisoneIsCautionAskYourPrescriber) {
  RunResult r = RunAftercare({"med", "prednisone 20mg"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CAUTION"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ask your prescriber"), std::string::npos) << r.out;
}

TEST(CliMed, AtWithoutProcedureEndIsBadInput) {
  ExpectBadInput(RunAftercare({"med", "Advil", "--at", "2026-03-02T20:00"}), "--at needs --procedure-end");
}

TEST(CliIngredients, FlagsAnAcidBefore48HoursAndNotHyaluronicAcid) {
  json a = Json(RunAftercare(Args({"ingredients", "Aqua, Glycolic Acid, Sodium Hyaluronate", "--at",
                                   "2026-03-03T10:00", "--json"})));
  EXPECT_EQ(a["verdict"], "avoid");
  EXPECT_EQ(a["items"][1]["status"], "flagged");
  EXPECT_EQ(a["items"][2]["status"], "not_flagged");
  EXPECT_EQ(a["changes_at"], "2026-03-04T10:00-05:00");
}

TEST(CliIngredients, ReadsTheListFromStdin) {
  RunResult r = RunAftercare(Args({"ingredients", "-", "--at", "2026-03-05T10:00"}), "Aqua\nSalicylic Acid 2%\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Exfoliants or acids: CAUTION"), std::string::npos) << r.out;
}

TEST(CliIngredients, AnEmptyListIsBadInput) {
  ExpectBadInput(RunAftercare({"ingredients", " , "}), "no ingredient names");
}

TEST(CliSymptom, RedOnDayFiveIsLongerThanExpected) {
  json a = Json(RunAftercare(Args({"symptom", "still", "red", "--at", "2026-03-07T10:00", "--json"})));
  EXPECT_EQ(a["assessment"], "longer_than_expected");
  EXPECT_NE(std::find(a["advice"].begin(), a["advice"].end(), "Contact your CIT professional."), a["advice"].end());
}

TEST(CliSymptom, FeverIsNotDescribed) {
  RunResult r = RunAftercare(Args({"symptom", "fever", "--at", "2026-03-03T10:00"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("NOT DESCRIBED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Contact your CIT professional."), std::string::npos) << r.out;
}

TEST(CliSymptom, NeedsTheProcedure) {
  RunResult r = RunAftercare({"symptom", "red"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliSeries, PlansFourSessionsFourWeeksApart) {
  json a = Json(RunAftercare({"series", "plan", "--first", "2026-03-02", "--count", "4", "--tz", "America/New_York",
                              "--json"}));
  ASSERT_EQ(a["sessions"].size(), 4u);
  EXPECT_EQ(a["sessions"][1]["at"], "2026-03-30");
  EXPECT_EQ(a["sessions"][3]["at"], "2026-05-25");
}

TEST(CliSeries, TooManySessionsIsBadInput) {
  ExpectBadInput(RunAftercare({"series", "plan", "--first", "2026-03-02", "--count", "9", "--tz", "UTC"}), "3-5");
}

TEST(CliSeries, TooEarlyBookingGivesTheEarliestDateAndExitsOne) {
  RunResult r = RunAftercare({"series", "check", "--last", "2026-03-02", "--proposed", "2026-03-20", "--tz",
                              "America/New_York", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  json a = json::parse(r.out);
  EXPECT_EQ(a["ok"], false);
  EXPECT_EQ(a["earliest"], "2026-03-30");
}

TEST(CliCanPlainWords, GoToTheGymSaysWhatWasUnderstood) {
  RunResult r = RunAftercare(Args({"can", "go to the gym", "--at", "2026-03-02T20:00"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Understood 'go to the gym' as: Exercise hard or sweat", 0), 0u) << r.out;
}

TEST(CliCanPlainWords, TakeAdvilIsAMedicineCheck) {
  json a = Json(RunAftercare(Args({"can", "take Advil", "--at", "2026-03-02T20:00", "--json"})));
  EXPECT_EQ(a["matched"], "Advil");
  EXPECT_EQ(a["verdict"], "avoid");
  EXPECT_EQ(a["understood"]["medicine"], "advil");
}

TEST(CliCanPlainWords, EachIssueExampleResolves) {
  const std::vector<std::pair<std::string, std::string>> cases = {{"sit in the sauna", "strenuous_exercise"},
                                                                  {"wear foundation", "makeup"},
                                                                  {"put on SPF", "sunscreen"},
                                                                  {"use a tanning bed", "sun_tanning"}};
  for (const auto& [question, activity] : cases) {
    json a = Json(RunAftercare(Args({"can", question, "--at", "2026-03-02T20:00", "--json"})));
    EXPECT_EQ(a["activity"], activity) << question;
    EXPECT_EQ(a["understood"]["activity"], activity) << question;
  }
}

TEST(CliCanPlainWords, NoMatchListsTheClosestActivities) {
  ExpectBadInput(RunAftercare(Args({"can", "go to the gim", "--at", "2026-03-02T20:00"})),
                 "did you mean 'strenuous_exercise'?");
}

}  // namespace
}  // namespace aftercare::testing
