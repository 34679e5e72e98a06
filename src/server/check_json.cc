#include "check_json.h"

#include "aftercare/views.h"

namespace aftercare {
namespace {

using json = nlohmann::json;

json OptionalInstant(const Plan& plan, const std::optional<Instant>& t) {
  return t ? json(FormatInstant(*t, plan.procedure().zone)) : json(nullptr);
}

}  // namespace

json MedicineAnswerJson(const Plan& plan, const MedicineAnswer& a) {
  json out = {{"query", a.query},
              {"known", a.known()},
              {"verdict", MedicineVerdictName(a)},
              {"matched", a.match.name},
              {"corrected", a.match.corrected},
              {"suggestions", a.match.suggestions},
              {"advice", a.advice},
              {"sources", SourcesJson(plan.protocol(), a.sources)},
              {"changes_at", OptionalInstant(plan, a.changes_at)}};
  if (a.match.product) {
    out["product"] = {{"name", a.match.product->name}, {"kind", a.match.product->kind}, {"rx", a.match.product->rx}};
  } else {
    out["product"] = nullptr;
  }
  json classes = json::array();
  for (const auto& c : a.classes) {
    json ingredients = json::array();
    for (const auto* i : c.ingredients) ingredients.push_back(i->id);
    classes.push_back({{"class", c.cls ? c.cls->id : ""},
                       {"label", c.cls ? c.cls->label : ""},
                       {"ingredients", ingredients},
                       {"verdict", VerdictName(c.verdict)},
                       {"capped", c.capped},
                       {"advice", c.advice},
                       {"answer", c.answer ? AnswerJson(plan, *c.answer) : json(nullptr)}});
  }
  out["classes"] = classes;
  return out;
}

json IngredientsAnswerJson(const Plan& plan, const IngredientsAnswer& a) {
  json items = json::array();
  for (const auto& f : a.items) {
    items.push_back({{"printed", f.item.printed},
                     {"names", f.item.names},
                     {"may_contain", f.item.may_contain},
                     {"status", IngredientStatusName(f.status)},
                     {"ingredient", f.entry ? json(f.entry->name) : json(nullptr)},
                     {"category", f.category ? json(f.category->id) : json(nullptr)},
                     {"category_label", f.category ? json(f.category->label) : json(nullptr)},
                     {"note", f.entry ? json(f.entry->note) : json(nullptr)}});
  }
  return {{"verdict", a.verdict},
          {"items", items},
          {"answer", a.answer ? AnswerJson(plan, *a.answer) : json(nullptr)},
          {"advice", a.advice}};
}

json SymptomAnswerJson(const Plan& plan, const SymptomAnswer& a) {
  json findings = json::array();
  for (const auto& f : a.findings) {
    findings.push_back({{"text", f.text},
                        {"reaction", f.reaction ? json(f.reaction->id) : json(nullptr)},
                        {"label", f.reaction ? json(f.reaction->label) : json(nullptr)},
                        {"assessment", AssessmentName(f.assessment)},
                        {"expected_from", OptionalInstant(plan, f.expected_from)},
                        {"expected_until", OptionalInstant(plan, f.expected_until)},
                        {"unrecognised", f.unrecognised},
                        {"note", f.note}});
  }
  return {{"query", a.query},
          {"assessment", AssessmentName(a.assessment)},
          {"findings", findings},
          {"advice", a.advice},
          {"sources", SourcesJson(plan.protocol(), a.sources)}};
}

}  // namespace aftercare
