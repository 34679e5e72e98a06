#include <gtest/gtest.h>

#include "aftercare/checks.h"
#include "check_test_support.h"

namespace aftercare {
namespace {

using testing::HoursAfter;
using testing::TestPlan;

const IngredientLexicon& Lexicon() { return IngredientLexicon::Builtin(); }

std::vector<std::string> Printed(const std::vector<InciItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.printed);
  return out;
}

const IngredientFinding* FindingFor(const IngredientsAnswer& answer, const std::string& printed) {
  for (const auto& f : answer.items) {
    if (f.item.printed == printed) return &f;
  }
  return nullptr;
}

TEST(ParseInciListTest, SplitsOnCommasAndTrimsTheFinalPeriod) {
  EXPECT_EQ(Printed(ParseInciList("Aqua, Glycerin, Glycolic Acid.")),
            (std::vector<std::string>{"Aqua", "Glycerin", "Glycolic Acid"}));
}

TEST(ParseInciListTest, ReadsParenthesesAsAnotherName) {
  auto items = ParseInciList("Aqua (Water), Parfum (Fragrance)");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].printed, "Aqua (Water)");
  EXPECT_EQ(items[0].names, (std::vector<std::string>{"Aqua", "Water"}));
}

TEST(ParseInciListTest, KeepsCommasInsideParenthesesInOneItem) {
  auto items = ParseInciList("Parfum (Fragrance, Limonene), Glycerin");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].names, (std::vector<std::string>{"Parfum", "Fragrance", "Limonene"}));
}

TEST(ParseInciListTest, ReadsAParenthesisInsideANameAsPartOfIt) {
  auto items = ParseInciList("Citrus Aurantium Dulcis (Orange) Peel Oil");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].names, (std::vector<std::string>{"Citrus Aurantium Dulcis Peel Oil", "Orange",
                                                       "Citrus Aurantium Dulcis Orange Peel Oil"}));
}

TEST(ParseInciListTest, ReadsSlashesAsNamesOfOneIngredient) {
  auto items = ParseInciList("Water/Aqua/Eau, Glycerin");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].names, (std::vector<std::string>{"Water/Aqua/Eau", "Water", "Aqua", "Eau"}));
}

TEST(ParseInciListTest, DropsPercentages) {
  auto items = ParseInciList("Salicylic Acid 2%, Niacinamide (10 %), Zinc PCA 0.5%");
  EXPECT_EQ(Printed(items), (std::vector<std::string>{"Salicylic Acid", "Niacinamide ()", "Zinc PCA"}));
  EXPECT_EQ(items[1].names, (std::vector<std::string>{"Niacinamide"}));
}

TEST(ParseInciListTest, MarksWhatFollowsMayContain) {
  auto items = ParseInciList("Talc, Mica. May Contain: CI 77491, CI 77492");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_FALSE(items[1].may_contain);
  EXPECT_TRUE(items[2].may_contain);
  EXPECT_EQ(items[2].printed, "CI 77491");
  EXPECT_TRUE(items[3].may_contain);
}

TEST(ParseInciListTest, MarksWhatFollowsPlusMinusInBrackets) {
  auto items = ParseInciList("Talc, Mica [+/- CI 77491, CI 77492]");
  EXPECT_EQ(Printed(items), (std::vector<std::string>{"Talc", "Mica", "CI 77491", "CI 77492"}));
  EXPECT_FALSE(items[1].may_contain);
  EXPECT_TRUE(items[2].may_contain);
}

TEST(ParseInciListTest, JoinsWrappedLinesWhenTheListHasCommas) {
  EXPECT_EQ(Printed(ParseInciList("Aqua, Sodium\nHyaluronate, Lactic\r\nAcid")),
            (std::vector<std::string>{"Aqua", "Sodium Hyaluronate", "Lactic Acid"}));
}

TEST(ParseInciListTest, ReadsOneIngredientPerLineWithoutCommas) {
  EXPECT_EQ(Printed(ParseInciList("Aqua\nGlycerin\nMandelic Acid\n")),
            (std::vector<std::string>{"Aqua", "Glycerin", "Mandelic Acid"}));
}

TEST(ParseInciListTest, DropsHeadingsLikeActiveIngredients) {
  EXPECT_EQ(Printed(ParseInciList("Active Ingredient: Salicylic Acid 2%. Inactive Ingredients: Water, Glycerin")),
            (std::vector<std::string>{"Salicylic Acid", "Water", "Glycerin"}));
}

TEST(ParseInciListTest, AnEmptyListHasNoItems) { EXPECT_TRUE(ParseInciList(" , ;\n").empty()); }

TEST(IngredientLexiconTest, FlagsEveryExfoliantFamilyTheSheetWarnsAbout) {
  for (const char* name : {"Glycolic Acid", "lactic acid", "Mandelic Acid", "Citric Acid", "Malic Acid",
                           "Tartaric Acid", "Salicylic Acid", "Betaine Salicylate", "Gluconolactone",
                           "Lactobionic Acid", "Retinol", "Retinal", "Retinyl Palmitate", "Tretinoin", "Adapalene",
                           "Benzoyl Peroxide", "Papain", "Bromelain", "Juglans Regia Shell Powder", "Jojoba Beads",
                           "Pumice", "L-Ascorbic Acid", "Ascorbic Acid"}) {
    const SkinIngredient* entry = Lexicon().Find(name);
    ASSERT_NE(entry, nullptr) << name;
    EXPECT_TRUE(Lexicon().FindCategory(entry->category)->flagged) << name;
  }
}

TEST(IngredientLexiconTest, DoesNotFlagAcidsThatDoNotExfoliate) {
  for (const char* name : {"Hyaluronic Acid", "Sodium Hyaluronate", "Stearic Acid", "Linoleic Acid", "Oleic Acid",
                           "Palmitic Acid", "Amino Acids", "Ethylhexyl Salicylate", "Homosalate"}) {
    const SkinIngredient* entry = Lexicon().Find(name);
    ASSERT_NE(entry, nullptr) << name;
    EXPECT_FALSE(Lexicon().FindCategory(entry->category)->flagged) << name;
  }
}

TEST(IngredientLexiconTest, SuspiciousWordsMatchTheStartOfAWordOnly) {
  EXPECT_TRUE(Lexicon().LooksLikeAcidOrExfoliant("Azelaic Acid"));
  EXPECT_TRUE(Lexicon().LooksLikeAcidOrExfoliant("Tridecyl Salicylate"));
  EXPECT_FALSE(Lexicon().LooksLikeAcidOrExfoliant("Ubiquinone (Coenzyme Q10)"));
  EXPECT_FALSE(Lexicon().LooksLikeAcidOrExfoliant("Hydroxyethylcellulose"));
}

TEST(IngredientLexiconTest, RejectsAnUnknownCategory) {
  auto parsed = IngredientLexicon::Parse(R"(format_version = 1
flagged_activity = "exfoliants_acids"
unknown_advice = "ask your clinic"
[[ingredients]]
name = "Glycolic Acid"
category = "ahaa"
)", "test.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("unknown category 'ahaa'"), std::string::npos);
}

TEST(CheckIngredientsTest, AFlaggedIngredientIsAvoidBefore48Hours) {
  Plan plan = TestPlan();
  auto answer = CheckIngredients(Lexicon(), plan, "Aqua, Glycolic Acid, Glycerin", HoursAfter(30));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict, "avoid");
  EXPECT_EQ(FindingFor(*answer, "Glycolic Acid")->status, IngredientStatus::kFlagged);
  EXPECT_EQ(FindingFor(*answer, "Aqua")->status, IngredientStatus::kNotListed);
}

TEST(CheckIngredientsTest, AFlaggedIngredientIsCautionFrom48Hours) {
  Plan plan = TestPlan();
  auto answer = CheckIngredients(Lexicon(), plan, "Aqua, Salicylic Acid 2%", HoursAfter(48));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict, "caution");
}

TEST(CheckIngredientsTest, HyaluronicAcidAloneFlagsNothing) {
  Plan plan = TestPlan();
  auto answer = CheckIngredients(Lexicon(), plan, "Aqua, Sodium Hyaluronate, Hyaluronic Acid, Stearic Acid",
                                 HoursAfter(1));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict, "none_flagged");
  EXPECT_EQ(FindingFor(*answer, "Hyaluronic Acid")->status, IngredientStatus::kNotFlagged);
}

TEST(CheckIngredientsTest, AnUnlistedAcidIsUnknownAskYourClinic) {
  Plan plan = TestPlan();
  auto answer = CheckIngredients(Lexicon(), plan, "Aqua, Azelaic Acid", HoursAfter(1));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict, "unknown");
  ASSERT_FALSE(answer->advice.empty());
  EXPECT_NE(answer->advice.back().find("ask your clinic"), std::string::npos);
}

TEST(CheckIngredientsTest, AFlaggedIngredientAfterMayContainStillCounts) {
  Plan plan = TestPlan();
  auto answer = CheckIngredients(Lexicon(), plan, "Aqua, Glycerin. May contain: Lactic Acid", HoursAfter(1));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->verdict, "avoid");
}

TEST(CheckIngredientsTest, AnEmptyListIsAnError) {
  Plan plan = TestPlan();
  EXPECT_FALSE(CheckIngredients(Lexicon(), plan, "  ,, ", HoursAfter(1)).ok());
}

}  // namespace
}  // namespace aftercare
