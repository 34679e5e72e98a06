// JSON of the checks' answers (medicines, ingredients, symptoms) as the server returns them. Pure; times in the plan's
// zone; sources as {"id", "text"} via SourcesJson, activity answers via AnswerJson, like the engine's own views.
#ifndef AFTERCARE_SERVER_CHECK_JSON_H_
#define AFTERCARE_SERVER_CHECK_JSON_H_

#include <nlohmann/json.hpp>

#include "aftercare/checks.h"

namespace aftercare {

nlohmann::json MedicineAnswerJson(const Plan& plan, const MedicineAnswer& answer);
nlohmann::json IngredientsAnswerJson(const Plan& plan, const IngredientsAnswer& answer);
nlohmann::json SymptomAnswerJson(const Plan& plan, const SymptomAnswer& answer);

}  // namespace aftercare

#endif  // AFTERCARE_SERVER_CHECK_JSON_H_
