// JSON of the checks' answers (medicines, ingredients, symptoms), printed alike by the CLI and the server. Pure; times
// in the plan's zone, as the engine's views (views.h) do.
#ifndef AFTERCARE_CHECK_VIEWS_H_
#define AFTERCARE_CHECK_VIEWS_H_

#include <nlohmann/json.hpp>

#include "aftercare/checks.h"

namespace aftercare {

// The moment a check answers for. `assumed`: no procedure end was given, so the answer is for the moment the
// procedure ends and instants are not shown (null).
struct CheckMoment {
  const Plan& plan;
  Instant at;
  bool assumed = false;
};

// {"query", "known", "matched", "matched_name", "corrected", "suggestions", "product", "kind", "prescription",
//  "verdict", "ingredients": [{"id", "rxnorm", "atc"}], "classes": [{"id", "label", "activity", "verdict", "capped",
//  "ingredients", "advice", "answer"}], "advice", "sources", "changes_at", "at", "assumed", "hours_since_procedure"}.
nlohmann::json MedicineAnswerJson(const CheckMoment& moment, const MedicineAnswer& answer);
// {"verdict", "activity", "activity_verdict", "changes_at", "next_verdict", "items": [{"printed", "names",
//  "may_contain", "status", "ingredient", "category", "category_label", "note"}], "answer", "advice", "sources", ...}.
nlohmann::json IngredientsAnswerJson(const CheckMoment& moment, const IngredientsAnswer& answer);
// {"query", "assessment", "findings": [{"text", "reaction", "label", "assessment", "expected_from",
//  "expected_until", "unrecognised", "note"}], "advice", "sources", ...}.
nlohmann::json SymptomAnswerJson(const CheckMoment& moment, const SymptomAnswer& answer);

}  // namespace aftercare

#endif  // AFTERCARE_CHECK_VIEWS_H_
