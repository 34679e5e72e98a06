// Checks: the questions patients actually ask, answered from the protocol through curated lexicons.
//   medicines   "can I take Excedrin?"          -> products -> ingredients -> classes -> a protocol activity
//   ingredients "is this cleanser OK?"          -> an INCI list -> exfoliants and acids the sheet warns about
//   symptoms    "still red on day 5, normal?"   -> the protocol's expected reactions and their windows
//   series      "when can I book the next one?" -> the protocol's treatment series
//   plain words "can I go to the gym?"          -> an activity or a medicine check
// The lexicons are data (lexicons/*.toml, format in docs/lexicon-format.md), compiled in and loadable from files.
// Lexicon objects are immutable once loaded and safe to share between threads; every answer refers into the
// lexicon and the Plan it came from, which must outlive it. Nothing here reads the clock or does I/O except the
// Load*File functions.
#ifndef AFTERCARE_CHECKS_H_
#define AFTERCARE_CHECKS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aftercare/engine.h"
#include "aftercare/protocol.h"
#include "aftercare/result.h"
#include "aftercare/time.h"

namespace aftercare {

inline constexpr int kLexiconFormatVersion = 1;

// ---------------------------------------------------------------------------------------------------------------
// Medicines
// ---------------------------------------------------------------------------------------------------------------

struct MedicineClass {
  std::string id;                  // "nsaid"
  std::string label;               // "an NSAID (non-steroidal anti-inflammatory medicine)"
  std::string activity;            // protocol Activity::id; empty: the sheet does not mention the class
  std::optional<Verdict> at_most;  // a protocol `avoid` becomes this (prescribed medicines: never "stop")
  std::string advice;
};

struct MedicineIngredient {
  std::string id;       // "acetaminophen"
  std::string rxnorm;   // RxNorm ingredient name
  std::vector<std::string> atc;  // WHO ATC codes; may be empty
  std::vector<std::string> classes;
  std::vector<std::string> aliases;
};

struct MedicineProduct {
  std::string name;  // as shown: "Advil PM"
  std::string kind;  // "brand", "generic", or "ingredient" for an entry made from an ingredient's own names
  bool rx = false;
  std::vector<std::string> ingredients;  // MedicineIngredient ids
  std::vector<std::string> classes;      // replaces the ingredients' classes when not empty
  std::vector<std::string> aliases;
};

class MedicineLexicon {
 public:
  // Parses and validates TOML text (format_version, unknown ids, names claimed by two products).
  static Result<MedicineLexicon> Parse(std::string_view toml_text, std::string_view origin);
  static Result<MedicineLexicon> LoadFile(const std::string& path);
  // lexicons/medicines.toml, compiled in.
  static const MedicineLexicon& Builtin();

  // Products from the file, then one entry per ingredient name not already a product name (kind "ingredient").
  const std::vector<MedicineProduct>& products() const { return products_; }
  const std::vector<MedicineIngredient>& ingredients() const { return ingredients_; }
  const std::vector<MedicineClass>& classes() const { return classes_; }
  const std::string& unknown_advice() const { return unknown_advice_; }
  // "{label}" replaced by the class label.
  std::string NotCoveredAdvice(const MedicineClass& cls) const;

  const MedicineClass* FindClass(std::string_view id) const;
  const MedicineIngredient* FindIngredient(std::string_view id) const;
  // The classes a product belongs to: its own list, else its ingredients' classes, in order, without repeats.
  std::vector<const MedicineClass*> ClassesOf(const MedicineProduct& product) const;

  struct Match {
    const MedicineProduct* product = nullptr;  // nullptr: no product matches
    std::string name;                          // the lexicon name it matched, normalised ("advil pm")
    bool corrected = false;                    // matched a misspelling
    std::vector<std::string> suggestions;      // closest names when nothing matched
  };
  // Finds what a person typed: case, punctuation, dose and form words ("Advil 200mg tablets"), plurals and small
  // misspellings (a correction only when one name is clearly closest).
  Match Find(std::string_view query) const;

  // Every name a product answers to, normalised, with its product (for tests and suggestions).
  const std::vector<std::pair<std::string, std::size_t>>& names() const { return names_; }

 private:
  std::string unknown_advice_;
  std::string not_covered_advice_;
  std::vector<MedicineClass> classes_;
  std::vector<MedicineIngredient> ingredients_;
  std::vector<MedicineProduct> products_;
  std::vector<std::pair<std::string, std::size_t>> names_;  // (MedicineKey(name), product index)
  // For each of names_, worked out once by Parse for Find: its words sorted and joined; whether it holds a dose.
  std::vector<std::string> sorted_names_;
  std::vector<bool> dosed_names_;
};

// One class of a medicine and what the protocol says about it at the instant asked.
struct MedicineClassFinding {
  const MedicineClass* cls = nullptr;
  std::vector<const MedicineIngredient*> ingredients;  // the product's ingredients in this class
  Verdict verdict = Verdict::kNotCovered;
  bool capped = false;             // the protocol said avoid; at_most applied
  std::optional<Answer> answer;    // the protocol's answer, when the class maps to an activity
  std::string advice;              // class advice, or the "not mentioned: ask your clinic" text
};

struct MedicineAnswer {
  std::string query;
  MedicineLexicon::Match match;
  bool known() const { return match.product != nullptr; }
  // Overall: the most restrictive class verdict (avoid < caution < not_covered < recommended < allowed), so a
  // product is allowed only if all of its classes are. Meaningless when !known(): the answer is "unknown".
  Verdict verdict = Verdict::kNotCovered;
  std::vector<MedicineClassFinding> classes;
  std::vector<std::string> sources;  // Sentence ids behind the verdict, without repeats
  std::vector<std::string> advice;   // in order, without repeats; "ask your clinic" when unknown
  std::optional<Instant> changes_at;  // when the overall verdict may next change, if the sheet says
};

// "unknown" when the medicine is not known, else VerdictName(verdict).
std::string MedicineVerdictName(const MedicineAnswer& answer);

// What the protocol says about taking `query` at `at`. Precondition: at >= plan.procedure().end.
MedicineAnswer CheckMedicine(const MedicineLexicon& lexicon, const Plan& plan, std::string_view query, Instant at);

// The medicine lexicon's activities that `protocol` does not define (empty: consistent).
std::vector<std::string> MissingActivities(const MedicineLexicon& lexicon, const Protocol& protocol);

// ---------------------------------------------------------------------------------------------------------------
// Skincare ingredients
// ---------------------------------------------------------------------------------------------------------------

struct SkinCategory {
  std::string id;     // "aha"
  std::string label;
  bool flagged = false;  // an exfoliant or acid the sheet warns about
};

struct SkinIngredient {
  std::string name;  // INCI name: "Glycolic Acid"
  std::vector<std::string> aliases;
  std::string category;  // SkinCategory::id
  std::string note;
};

class IngredientLexicon {
 public:
  static Result<IngredientLexicon> Parse(std::string_view toml_text, std::string_view origin);
  static Result<IngredientLexicon> LoadFile(const std::string& path);
  static const IngredientLexicon& Builtin();  // lexicons/ingredients.toml, compiled in

  const std::string& flagged_activity() const { return flagged_activity_; }
  const std::string& unknown_advice() const { return unknown_advice_; }
  const std::vector<SkinCategory>& categories() const { return categories_; }
  const std::vector<SkinIngredient>& ingredients() const { return ingredients_; }
  const SkinCategory* FindCategory(std::string_view id) const;
  // The entry for one printed ingredient name (case, punctuation and plurals ignored); nullptr if none.
  const SkinIngredient* Find(std::string_view name) const;
  // True if a word of the name starts with a suspicious word ("salicyl" -> "salicylate"; words of 3 letters or
  // fewer, like "aha", must be the whole word).
  bool LooksLikeAcidOrExfoliant(std::string_view name) const;

 private:
  std::string flagged_activity_;
  std::string unknown_advice_;
  std::vector<std::string> suspicious_words_;
  std::vector<SkinCategory> categories_;
  std::vector<SkinIngredient> ingredients_;
  std::vector<std::pair<std::string, std::size_t>> names_;
};

// Splits an INCI list as printed: commas, semicolons, bullets and line breaks separate ingredients; text in
// parentheses is an alias of the ingredient before it ("Aqua (Water)") unless it holds several names; "A/B" names
// one ingredient two ways; percentages, "May Contain", "+/-" and trailing periods are dropped. Empty: no names.
struct InciItem {
  std::string printed;                // as printed, trimmed: "Aqua (Water)"
  std::vector<std::string> names;     // the names to look up: "Aqua", "Water"
  bool may_contain = false;           // listed after "May Contain" or "+/-"
};
std::vector<InciItem> ParseInciList(std::string_view text);

enum class IngredientStatus {
  kFlagged,     // an exfoliant or acid the sheet warns about
  kNotFlagged,  // in the lexicon, and not an exfoliant ("hyaluronic acid")
  kUnknown,     // not in the lexicon, but its name suggests an acid or exfoliant: ask your clinic
  kNotListed,   // not in the lexicon and nothing suggests an exfoliant (water, glycerin...)
};
std::string_view IngredientStatusName(IngredientStatus status);  // "flagged", "not_flagged", "unknown", "not_listed"

struct IngredientFinding {
  InciItem item;
  IngredientStatus status = IngredientStatus::kNotListed;
  const SkinIngredient* entry = nullptr;
  const SkinCategory* category = nullptr;
};

struct IngredientsAnswer {
  std::vector<IngredientFinding> items;
  // "avoid"/"caution" (the protocol's verdict for the flagged activity) when anything is flagged, else "unknown"
  // when something looks like an acid, else "none_flagged".
  std::string verdict;
  std::optional<Answer> answer;  // the flagged activity's answer at the instant (always set if the protocol has it)
  std::vector<std::string> advice;
};

// Checks an INCI list at `at`. Error: the list holds no ingredient names. Precondition: at >= procedure end.
Result<IngredientsAnswer> CheckIngredients(const IngredientLexicon& lexicon, const Plan& plan, std::string_view inci,
                                           Instant at);

// ---------------------------------------------------------------------------------------------------------------
// Symptoms
// ---------------------------------------------------------------------------------------------------------------

class SymptomLexicon {
 public:
  static Result<SymptomLexicon> Parse(std::string_view toml_text, std::string_view origin);
  static Result<SymptomLexicon> LoadFile(const std::string& path);
  static const SymptomLexicon& Builtin();  // lexicons/symptoms.toml, compiled in

  const std::string& contact_advice() const { return contact_advice_; }
  const std::string& not_described_advice() const { return not_described_advice_; }
  const std::vector<std::string>& warning_words() const { return warning_words_; }
  const std::vector<std::string>& filler_words() const { return filler_words_; }
  // Extra words per protocol reaction id, beyond the protocol's own synonyms.
  const std::vector<std::pair<std::string, std::string>>& reaction_words() const { return reaction_words_; }

 private:
  std::string contact_advice_;
  std::string not_described_advice_;
  std::vector<std::string> warning_words_;
  std::vector<std::string> filler_words_;
  std::vector<std::pair<std::string, std::string>> reaction_words_;  // (word, reaction id)
};

enum class Assessment { kExpected, kLongerThanExpected, kEarlierThanExpected, kNotDescribed };
// "expected", "longer_than_expected", "earlier_than_expected", "not_described".
std::string_view AssessmentName(Assessment assessment);

struct SymptomFinding {
  std::string text;                     // the part of the question it came from: "still red"
  const Reaction* reaction = nullptr;   // nullptr: nothing the sheet describes
  Assessment assessment = Assessment::kNotDescribed;
  std::optional<Instant> expected_from;   // the reaction's window, when there is one
  std::optional<Instant> expected_until;
  std::vector<std::string> unrecognised;  // words that are neither a reaction nor filler, or warning words
  std::string note;                       // why: "the sheet describes micro-bruising only around the eyes"
};

struct SymptomAnswer {
  std::string query;
  Assessment assessment = Assessment::kNotDescribed;  // the most concerning of the findings
  std::vector<SymptomFinding> findings;
  std::vector<std::string> advice;   // the sheet's advice; "contact your CIT professional" unless expected
  std::vector<std::string> sources;  // Sentence ids
};

// Assesses symptoms in a patient's words at `at`. Never `expected` for words the sheet does not describe, nor with a
// warning word anywhere. Error: no words. Precondition: at >= plan.procedure().end.
Result<SymptomAnswer> AssessSymptoms(const SymptomLexicon& lexicon, const Plan& plan, std::string_view words,
                                     Instant at);

// ---------------------------------------------------------------------------------------------------------------
// Treatment series
// ---------------------------------------------------------------------------------------------------------------

// `count` sessions, the first at `first`, each `min_interval` after the last (same wall-clock time in `zone`).
// Errors: the protocol has no series; count outside [min_count, max_count].
Result<std::vector<Instant>> PlanSeries(const Protocol& protocol, Instant first, int count, Zone zone);

struct BookingCheck {
  bool ok = false;
  Instant earliest;  // last + min_interval in `zone`
  Offset min_interval;
};
// Whether `proposed` is at least the series interval after `last`. Errors: no series; proposed before last.
Result<BookingCheck> CheckBooking(const Protocol& protocol, Instant last, Instant proposed, Zone zone);

// ---------------------------------------------------------------------------------------------------------------
// Plain words
// ---------------------------------------------------------------------------------------------------------------

class PhraseLexicon {
 public:
  static Result<PhraseLexicon> Parse(std::string_view toml_text, std::string_view origin);
  static Result<PhraseLexicon> LoadFile(const std::string& path);
  static const PhraseLexicon& Builtin();  // lexicons/phrases.toml, compiled in

  const std::vector<std::string>& leading() const { return leading_; }
  const std::vector<std::string>& trailing() const { return trailing_; }
  const std::vector<std::string>& ignored() const { return ignored_; }
  const std::vector<std::string>& medicine_verbs() const { return medicine_verbs_; }
  // (phrase, activity id): extra words for the protocol's activities.
  const std::vector<std::pair<std::string, std::string>>& phrases() const { return phrases_; }

 private:
  std::vector<std::string> leading_;
  std::vector<std::string> trailing_;
  std::vector<std::string> ignored_;
  std::vector<std::string> medicine_verbs_;
  std::vector<std::pair<std::string, std::string>> phrases_;
};

struct Understood {
  enum class Kind { kActivity, kMedicine };
  Kind kind = Kind::kActivity;
  const Activity* activity = nullptr;  // kActivity
  std::string medicine;                // kMedicine: the medicine words, as typed ("Advil")
  std::string phrase;                  // the words that decided it: "gym", "take advil"
  std::string normalized;              // the question after normalisation
};

// What a question in plain words asks about: an activity of the protocol or a medicine of the lexicon. Errors: no
// words; nothing matches ("did you mean" the closest activity ids); two activities match equally.
Result<Understood> ResolvePlainWords(const PhraseLexicon& phrases, const MedicineLexicon& medicines,
                                     const Protocol& protocol, std::string_view question);

}  // namespace aftercare

#endif  // AFTERCARE_CHECKS_H_
