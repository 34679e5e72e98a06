#include <map>

#include <gtest/gtest.h>

#include "aftercare/checks.h"
#include "check_test_support.h"

namespace aftercare {
namespace {

using testing::HoursAfter;
using testing::TestPlan;

const MedicineLexicon& Lexicon() { return MedicineLexicon::Builtin(); }

// The product name a query matches; "" if none.
std::string Matched(std::string_view query) {
  auto match = Lexicon().Find(query);
  return match.product ? match.product->name : "";
}

std::vector<std::string> ClassIds(const MedicineAnswer& answer) {
  std::vector<std::string> ids;
  for (const auto& c : answer.classes) ids.push_back(c.cls->id);
  return ids;
}

TEST(MedicineLexiconTest, BuiltinHasAtLeastFortyProductsFromTheFile) {
  int from_file = 0;
  for (const auto& p : Lexicon().products()) from_file += p.kind != "ingredient";
  EXPECT_GE(from_file, 40);
}

TEST(MedicineLexiconTest, EveryClassActivityExistsInTheBuiltinProtocol) {
  EXPECT_TRUE(MissingActivities(Lexicon(), BuiltinProtocol()).empty());
}

TEST(MedicineLexiconTest, EveryProductHasAClass) {
  for (const auto& p : Lexicon().products()) EXPECT_FALSE(Lexicon().ClassesOf(p).empty()) << p.name;
}

TEST(MedicineLexiconTest, EveryIngredientHasAnRxNormName) {
  for (const auto& i : Lexicon().ingredients()) EXPECT_FALSE(i.rxnorm.empty()) << i.id;
}

// Each product of the file and the classes it must map to.
TEST(MedicineLexiconTest, EachProductMapsToTheRightClasses) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"Advil", {"nsaid"}},
      {"Motrin IB", {"nsaid"}},
      {"Nurofen", {"nsaid"}},
      {"Ibuprofen", {"nsaid"}},
      {"Aleve", {"nsaid"}},
      {"Naproxen", {"nsaid"}},
      {"Naprosyn", {"nsaid"}},
      {"Aspirin", {"nsaid"}},
      {"Bayer Aspirin", {"nsaid"}},
      {"Ecotrin", {"nsaid"}},
      {"Bufferin", {"nsaid"}},
      {"Celebrex", {"nsaid"}},
      {"Mobic", {"nsaid"}},
      {"Toradol", {"nsaid"}},
      {"Indocin", {"nsaid"}},
      {"Feldene", {"nsaid"}},
      {"Relafen", {"nsaid"}},
      {"Lodine", {"nsaid"}},
      {"Diclofenac", {"nsaid"}},
      {"Advil PM", {"nsaid", "antihistamine"}},
      {"Motrin PM", {"nsaid", "antihistamine"}},
      {"Advil Cold & Sinus", {"nsaid", "decongestant"}},
      {"Advil Dual Action", {"nsaid", "acetaminophen"}},
      {"Aleve PM", {"nsaid", "antihistamine"}},
      {"Aleve-D Sinus & Cold", {"nsaid", "decongestant"}},
      {"Excedrin Extra Strength", {"acetaminophen", "nsaid", "stimulant"}},
      {"Alka-Seltzer Original", {"nsaid", "antacid"}},
      {"Goody's Extra Strength Headache Powder", {"nsaid", "acetaminophen", "stimulant"}},
      {"BC Powder", {"nsaid", "stimulant"}},
      {"Voltaren Arthritis Pain Gel", {"topical_nsaid"}},
      {"Pennsaid", {"topical_nsaid"}},
      {"Flector Patch", {"topical_nsaid"}},
      {"Bayer Low Dose Aspirin 81 mg", {"low_dose_aspirin"}},
      {"Tylenol", {"acetaminophen"}},
      {"Panadol", {"acetaminophen"}},
      {"Acetaminophen", {"acetaminophen"}},
      {"Mapap", {"acetaminophen"}},
      {"Panadol Extra", {"acetaminophen", "stimulant"}},
      {"Tylenol PM", {"acetaminophen", "antihistamine"}},
      {"NyQuil Cold & Flu", {"acetaminophen", "cough_suppressant", "antihistamine"}},
      {"DayQuil Cold & Flu", {"acetaminophen", "cough_suppressant", "decongestant"}},
      {"Prednisone", {"systemic_corticosteroid"}},
      {"Medrol", {"systemic_corticosteroid"}},
      {"Prednisolone", {"systemic_corticosteroid"}},
      {"Dexamethasone", {"systemic_corticosteroid"}},
      {"Cortef", {"systemic_corticosteroid"}},
      {"Hydrocortisone cream", {"topical_corticosteroid"}},
      {"Benadryl", {"antihistamine"}},
      {"Claritin", {"antihistamine"}},
      {"Zyrtec", {"antihistamine"}},
      {"Sudafed", {"decongestant"}},
      {"Mucinex", {"expectorant"}},
  };
  std::size_t checked = 0;
  for (const auto& product : Lexicon().products()) {
    if (product.kind == "ingredient") continue;
    auto it = expected.find(product.name);
    ASSERT_NE(it, expected.end()) << "no expectation for " << product.name;
    std::vector<std::string> ids;
    for (const auto* c : Lexicon().ClassesOf(product)) ids.push_back(c->id);
    EXPECT_EQ(ids, it->second) << product.name;
    ++checked;
  }
  EXPECT_EQ(checked, expected.size());
}

TEST(MedicineLexiconTest, RejectsAProductWithAnUnknownIngredient) {
  auto parsed = MedicineLexicon::Parse(R"(format_version = 1
unknown_advice = "ask your clinic"
not_covered_advice = "ask your clinic"
[[classes]]
id = "nsaid"
label = "an NSAID"
[[products]]
name = "Advil"
kind = "brand"
ingredients = ["ibuprofenn"]
)", "test.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("unknown ingredient 'ibuprofenn'"), std::string::npos)
      << parsed.error().message;
}

TEST(MedicineLexiconTest, RejectsAnotherFormatVersion) {
  auto parsed = MedicineLexicon::Parse("format_version = 2\n", "test.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("format_version 2"), std::string::npos);
}

TEST(MedicineLexiconTest, ReportsATomlSyntaxErrorWithItsLine) {
  auto parsed = MedicineLexicon::Parse("format_version = 1\nname = \n", "bad.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("bad.toml: line 2"), std::string::npos) << parsed.error().message;
}

TEST(MedicineLexiconTest, RejectsANameClaimedByTwoProducts) {
  auto parsed = MedicineLexicon::Parse(R"(format_version = 1
unknown_advice = "a"
not_covered_advice = "b"
[[classes]]
id = "nsaid"
label = "an NSAID"
[[ingredients]]
id = "ibuprofen"
rxnorm = "ibuprofen"
classes = ["nsaid"]
[[products]]
name = "Advil"
kind = "brand"
ingredients = ["ibuprofen"]
[[products]]
name = "Motrin"
kind = "brand"
ingredients = ["ibuprofen"]
aliases = ["ADVIL"]
)", "test.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("claimed by both"), std::string::npos) << parsed.error().message;
}

TEST(MedicineFindTest, IgnoresCaseDoseAndFormWords) {
  auto match = Lexicon().Find("ADVIL 200mg tablets");
  ASSERT_NE(match.product, nullptr);
  EXPECT_EQ(match.product->name, "Advil");
  EXPECT_FALSE(match.corrected);
}

TEST(MedicineFindTest, IgnoresPunctuationAndPlural) {
  auto match = Lexicon().Find("advil-pm's!");
  ASSERT_NE(match.product, nullptr);
  EXPECT_EQ(match.product->name, "Advil PM");
  EXPECT_EQ(Matched("Tylenols"), "Tylenol");
}

TEST(MedicineFindTest, CorrectsASmallMisspellingAndSaysWhichNameItMatched) {
  auto match = Lexicon().Find("Excedirn");
  ASSERT_NE(match.product, nullptr);
  EXPECT_EQ(match.product->name, "Excedrin Extra Strength");
  EXPECT_TRUE(match.corrected);
  EXPECT_EQ(match.name, "excedrin");
}

TEST(MedicineFindTest, DoesNotCorrectAShortNameFarAway) {
  auto match = Lexicon().Find("zzz");
  EXPECT_EQ(match.product, nullptr);
}

TEST(MedicineFindTest, KeepsTheDoseThatMakesAspirinLowDose) {
  EXPECT_EQ(Matched("Aspirin 81mg tablets"), "Bayer Low Dose Aspirin 81 mg");
  EXPECT_EQ(Matched("81 mg aspirin"), "Bayer Low Dose Aspirin 81 mg");
  EXPECT_EQ(Matched("aspirin 325 mg"), "Aspirin");
}

TEST(MedicineFindTest, FindsAnIngredientByItsOwnName) {
  auto match = Lexicon().Find("paracetamol 500 mg");
  ASSERT_NE(match.product, nullptr);
  EXPECT_EQ(match.product->ingredients, std::vector<std::string>{"acetaminophen"});
  auto celecoxib = Lexicon().Find("celecoxib");
  ASSERT_NE(celecoxib.product, nullptr);
  EXPECT_EQ(celecoxib.product->kind, "ingredient");
}

TEST(CheckMedicineTest, AnNsaidIsAvoidWithTheSheetSentence) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Advil", HoursAfter(3));
  EXPECT_EQ(MedicineVerdictName(answer), "avoid");
  EXPECT_NE(std::find(answer.sources.begin(), answer.sources.end(), "intro.no_anti_inflammatories"),
            answer.sources.end());
}

TEST(CheckMedicineTest, OneNsaidInsideAColdProductIsEnoughToAvoidIt) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Advil Cold and Sinus", HoursAfter(100));
  EXPECT_EQ(MedicineVerdictName(answer), "avoid");
  EXPECT_EQ(ClassIds(answer), (std::vector<std::string>{"nsaid", "decongestant"}));
}

TEST(CheckMedicineTest, ExcedrinIsAvoidForItsAspirin) {
  Plan plan = TestPlan();
  EXPECT_EQ(MedicineVerdictName(CheckMedicine(Lexicon(), plan, "Excedrin", HoursAfter(1))), "avoid");
}

TEST(CheckMedicineTest, AcetaminophenIsAllowedAsNeeded) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Panadol", HoursAfter(1));
  EXPECT_EQ(MedicineVerdictName(answer), "allowed");
  EXPECT_NE(std::find(answer.sources.begin(), answer.sources.end(), "bullet.tylenol"), answer.sources.end());
}

TEST(CheckMedicineTest, AnIngredientTheSheetDoesNotMentionKeepsAProductFromAllowed) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Tylenol PM", HoursAfter(1));
  EXPECT_EQ(MedicineVerdictName(answer), "not_covered");
  ASSERT_FALSE(answer.advice.empty());
  EXPECT_NE(answer.advice.back().find("ask your clinic"), std::string::npos);
}

TEST(CheckMedicineTest, SystemicCorticosteroidIsCautionAskYourPrescriberNeverStop) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Medrol Dosepak", HoursAfter(1));
  EXPECT_EQ(MedicineVerdictName(answer), "caution");
  ASSERT_EQ(answer.classes.size(), 1u);
  EXPECT_TRUE(answer.classes[0].capped);
  std::string advice = answer.advice.front();
  EXPECT_NE(advice.find("ask your prescriber"), std::string::npos);
  EXPECT_EQ(advice.find("Stop "), std::string::npos);
}

TEST(CheckMedicineTest, PrescribedLowDoseAspirinIsCautionAskYourPrescriber) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Bayer low dose 81 mg", HoursAfter(1));
  EXPECT_EQ(MedicineVerdictName(answer), "caution");
  EXPECT_NE(answer.advice.front().find("ask your prescriber"), std::string::npos);
}

TEST(CheckMedicineTest, AnUnknownNameIsUnknownAskYourClinicNeverAllowed) {
  Plan plan = TestPlan();
  auto answer = CheckMedicine(Lexicon(), plan, "Frobnicol", HoursAfter(1));
  EXPECT_FALSE(answer.known());
  EXPECT_EQ(MedicineVerdictName(answer), "unknown");
  ASSERT_EQ(answer.advice.size(), 1u);
  EXPECT_NE(answer.advice[0].find("ask your clinic"), std::string::npos);
}

TEST(CheckMedicineTest, ATopicalNsaidIsAvoid) {
  Plan plan = TestPlan();
  EXPECT_EQ(MedicineVerdictName(CheckMedicine(Lexicon(), plan, "Voltaren gel", HoursAfter(1))), "avoid");
}

}  // namespace
}  // namespace aftercare
