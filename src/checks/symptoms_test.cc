#include <gtest/gtest.h>

#include "aftercare/checks.h"
#include "check_test_support.h"

namespace aftercare {
namespace {

using testing::HoursAfter;
using testing::TestPlan;

SymptomAnswer Assess(const Plan& plan, std::string_view words, int hours) {
  auto answer = AssessSymptoms(SymptomLexicon::Builtin(), plan, words, HoursAfter(hours));
  EXPECT_TRUE(answer.ok()) << words;
  return answer.ok() ? *answer : SymptomAnswer{};
}

bool SaysContact(const SymptomAnswer& answer) {
  for (const auto& a : answer.advice) {
    if (a.find("Contact your CIT professional") != std::string::npos) return true;
  }
  return false;
}

//  0h            96h (4 days)
//  |--redness----|
//  ^ day 1: expected
TEST(AssessSymptomsTest, RednessOnDayOneIsExpected) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "my face is still red", 24);
  EXPECT_EQ(answer.assessment, Assessment::kExpected);
  ASSERT_EQ(answer.findings.size(), 1u);
  EXPECT_EQ(answer.findings[0].reaction->id, "redness");
  EXPECT_FALSE(SaysContact(answer));
}

//  0h            96h
//  |--redness----|      ^ day 5: longer than expected
TEST(AssessSymptomsTest, RednessOnDayFiveIsLongerThanExpectedAndSaysContact) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "I\xE2\x80\x99m still red on day 5 \xE2\x80\x94 is that normal?", 5 * 24);
  EXPECT_EQ(answer.assessment, Assessment::kLongerThanExpected);
  EXPECT_TRUE(SaysContact(answer));
}

TEST(AssessSymptomsTest, TheWindowEndsExactlyAtItsUntil) {
  Plan plan = TestPlan();
  EXPECT_EQ(Assess(plan, "redness", 96 - 1).assessment, Assessment::kExpected);
  EXPECT_EQ(Assess(plan, "redness", 96).assessment, Assessment::kLongerThanExpected);
}

//  0h     48h             168h
//         |--flaking------|
//  ^ 12h: earlier than expected
TEST(AssessSymptomsTest, FlakingInTheFirstHoursIsEarlierThanExpected) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "flaky", 12);
  EXPECT_EQ(answer.assessment, Assessment::kEarlierThanExpected);
  EXPECT_TRUE(SaysContact(answer));
}

TEST(AssessSymptomsTest, FlakingOnDayThreeIsExpectedWithTheSheetsAdvice) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "peeling and flakes", 72);
  EXPECT_EQ(answer.assessment, Assessment::kExpected);
  ASSERT_FALSE(answer.advice.empty());
  EXPECT_NE(answer.advice[0].find("Do not pick"), std::string::npos);
}

TEST(AssessSymptomsTest, FeverIsNotDescribedNeverExpected) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "fever", 24);
  EXPECT_EQ(answer.assessment, Assessment::kNotDescribed);
  EXPECT_TRUE(SaysContact(answer));
}

TEST(AssessSymptomsTest, AWarningWordBesideAnExpectedReactionIsNotDescribed) {
  Plan plan = TestPlan();
  EXPECT_EQ(Assess(plan, "spreading redness", 24).assessment, Assessment::kNotDescribed);
  EXPECT_EQ(Assess(plan, "spreading pain", 24).assessment, Assessment::kNotDescribed);
  EXPECT_EQ(Assess(plan, "red with pus", 24).assessment, Assessment::kNotDescribed);
  EXPECT_EQ(Assess(plan, "blisters", 24).assessment, Assessment::kNotDescribed);
  EXPECT_EQ(Assess(plan, "feverish and sore", 24).assessment, Assessment::kNotDescribed);
}

TEST(AssessSymptomsTest, AnUnknownWordNextToAReactionIsNotDescribed) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "red bumps", 24);
  EXPECT_EQ(answer.assessment, Assessment::kNotDescribed);
  ASSERT_EQ(answer.findings.size(), 2u);
  EXPECT_EQ(answer.findings[1].unrecognised, std::vector<std::string>{"bump"});
}

TEST(AssessSymptomsTest, MicroBruisingIsExpectedOnlyWhenTheEyeAreaWasTreated) {
  Plan eyes = TestPlan({"face", "periorbital"});
  EXPECT_EQ(Assess(eyes, "bruising around my eyes", 48).assessment, Assessment::kExpected);
  Plan face = TestPlan({"face"});
  auto answer = Assess(face, "bruising", 48);
  EXPECT_EQ(answer.assessment, Assessment::kNotDescribed);
  EXPECT_NE(answer.findings[0].note.find("around the eyes"), std::string::npos);
}

TEST(AssessSymptomsTest, SeveralSymptomsTakeTheMostConcerning) {
  Plan plan = TestPlan();
  auto answer = Assess(plan, "dry, red and flaky", 5 * 24);
  EXPECT_EQ(answer.findings.size(), 3u);
  EXPECT_EQ(answer.assessment, Assessment::kLongerThanExpected);
}

TEST(AssessSymptomsTest, OnlyFillerWordsIsNotDescribed) {
  Plan plan = TestPlan();
  EXPECT_EQ(Assess(plan, "is this normal?", 24).assessment, Assessment::kNotDescribed);
}

TEST(AssessSymptomsTest, NoWordsIsAnError) {
  Plan plan = TestPlan();
  EXPECT_FALSE(AssessSymptoms(SymptomLexicon::Builtin(), plan, " ?! ", HoursAfter(1)).ok());
}

TEST(SymptomLexiconTest, EveryReactionIdExistsInTheBuiltinProtocol) {
  for (const auto& [word, id] : SymptomLexicon::Builtin().reaction_words()) {
    EXPECT_NE(BuiltinProtocol().FindReaction(id), nullptr) << id;
  }
}

TEST(SymptomLexiconTest, NoWarningWordIsAlsoAReactionSynonym) {
  for (const auto& reaction : BuiltinProtocol().reactions) {
    for (const auto& synonym : reaction.synonyms) {
      for (const auto& warning : SymptomLexicon::Builtin().warning_words()) EXPECT_NE(synonym, warning);
    }
  }
}

}  // namespace
}  // namespace aftercare
