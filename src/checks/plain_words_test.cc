#include <gtest/gtest.h>

#include "aftercare/checks.h"

namespace aftercare {
namespace {

Result<Understood> Resolve(std::string_view question) {
  return ResolvePlainWords(PhraseLexicon::Builtin(), MedicineLexicon::Builtin(), BuiltinProtocol(), question);
}

std::string ActivityOf(std::string_view question) {
  auto understood = Resolve(question);
  if (!understood.ok()) return "error: " + understood.error().message;
  if (understood->kind == Understood::Kind::kMedicine) return "medicine: " + understood->medicine;
  return understood->activity->id;
}

TEST(ResolvePlainWordsTest, ResolvesTheIssueExamples) {
  EXPECT_EQ(ActivityOf("go to the gym"), "strenuous_exercise");
  EXPECT_EQ(ActivityOf("sit in the sauna"), "strenuous_exercise");
  EXPECT_EQ(ActivityOf("wear foundation"), "makeup");
  EXPECT_EQ(ActivityOf("put on SPF"), "sunscreen");
  EXPECT_EQ(ActivityOf("use a tanning bed"), "sun_tanning");
}

TEST(ResolvePlainWordsTest, TakeAMedicineIsAMedicineCheck) {
  EXPECT_EQ(ActivityOf("take Advil"), "medicine: advil");
  EXPECT_EQ(ActivityOf("Can I take 2 Excedrin for the pain?"), "medicine: excedrin");
  EXPECT_EQ(ActivityOf("Aleve PM?"), "medicine: aleve pm");
}

TEST(ResolvePlainWordsTest, StripsTheQuestionAroundTheActivity) {
  EXPECT_EQ(ActivityOf("Can I go to the gym tonight?"), "strenuous_exercise");
  EXPECT_EQ(ActivityOf("is it ok to wear foundation today"), "makeup");
}

TEST(ResolvePlainWordsTest, FindsAPhraseInsideALongerQuestion) {
  auto understood = Resolve("can I do some cardio after work");
  ASSERT_TRUE(understood.ok());
  EXPECT_EQ(understood->activity->id, "strenuous_exercise");
  EXPECT_EQ(understood->phrase, "cardio");
}

TEST(ResolvePlainWordsTest, SaysWhatItUnderstood) {
  auto understood = Resolve("sit in the sauna");
  ASSERT_TRUE(understood.ok());
  EXPECT_EQ(understood->phrase, "sit in the sauna");
}

TEST(ResolvePlainWordsTest, NoMatchListsTheClosestActivities) {
  auto understood = Resolve("go to the gim");
  ASSERT_FALSE(understood.ok());
  EXPECT_NE(understood.error().message.find("did you mean 'strenuous_exercise'?"), std::string::npos)
      << understood.error().message;
}

TEST(ResolvePlainWordsTest, NothingCloseListsEveryActivity) {
  auto understood = Resolve("qwertyuiop zxcvbnm");
  ASSERT_FALSE(understood.ok());
  EXPECT_NE(understood.error().message.find("makeup"), std::string::npos);
}

TEST(ResolvePlainWordsTest, NoWordsIsAnError) { EXPECT_FALSE(Resolve("?!").ok()); }

TEST(PhraseLexiconTest, EveryActivityExistsInTheBuiltinProtocol) {
  for (const auto& [phrase, id] : PhraseLexicon::Builtin().phrases()) {
    EXPECT_NE(BuiltinProtocol().FindActivity(id), nullptr) << id;
  }
}

}  // namespace
}  // namespace aftercare
