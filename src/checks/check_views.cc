#include "aftercare/check_views.h"

#include <algorithm>

#include "aftercare/views.h"

namespace aftercare {
namespace {

using json = nlohmann::json;

json When(const CheckMoment& m, std::optional<Instant> t) {
  if (!t || m.assumed) return nullptr;
  return FormatInstant(*t, m.plan.procedure().zone);
}

void AddMoment(const CheckMoment& m, json* out) {
  (*out)["at"] = When(m, m.at);
  (*out)["assumed"] = m.assumed;
  (*out)["hours_since_procedure"] = (m.at - m.plan.procedure().end).count() / 3600.0;
}

std::vector<std::string> RuleSources(const Answer& answer) {
  std::vector<std::string> ids;
  for (const Rule* r : answer.segment->rules) {
    for (const auto& s : r->sources) {
      if (std::find(ids.begin(), ids.end(), s) == ids.end()) ids.push_back(s);
    }
  }
  return ids;
}

}  // namespace

json MedicineAnswerJson(const CheckMoment& m, const MedicineAnswer& a) {
  const MedicineProduct* p = a.match.product;
  json ingredients = json::array();
  if (p != nullptr) {
    for (const auto& id : p->ingredients) {
      const MedicineIngredient* ing = MedicineLexicon::Builtin().FindIngredient(id);
      if (ing == nullptr) continue;
      ingredients.push_back({{"id", ing->id}, {"rxnorm", ing->rxnorm}, {"atc", ing->atc}});
    }
  }
  json classes = json::array();
  for (const auto& f : a.classes) {
    json ids = json::array();
    for (const auto* ing : f.ingredients) ids.push_back(ing->id);
    classes.push_back({{"id", f.cls->id},
                       {"label", f.cls->label},
                       {"activity", f.cls->activity.empty() ? json(nullptr) : json(f.cls->activity)},
                       {"verdict", VerdictName(f.verdict)},
                       {"capped", f.capped},
                       {"ingredients", ids},
                       {"advice", f.advice},
                       {"answer", f.answer ? AnswerJson(m.plan, *f.answer) : json(nullptr)}});
  }
  json out = {{"query", a.query},
              {"known", a.known()},
              {"matched", p ? json(p->name) : json(nullptr)},
              {"matched_name", p ? json(a.match.name) : json(nullptr)},
              {"corrected", a.match.corrected},
              {"suggestions", a.match.suggestions},
              {"product", p ? json{{"name", p->name}, {"kind", p->kind}, {"rx", p->rx}} : json(nullptr)},
              {"kind", p ? json(p->kind) : json(nullptr)},
              {"prescription", p ? json(p->rx) : json(nullptr)},
              {"verdict", MedicineVerdictName(a)},
              {"ingredients", ingredients},
              {"classes", classes},
              {"advice", a.advice},
              {"sources", SourcesJson(m.plan.protocol(), a.sources)},
              {"changes_at", When(m, a.changes_at)}};
  AddMoment(m, &out);
  return out;
}

json IngredientsAnswerJson(const CheckMoment& m, const IngredientsAnswer& a) {
  json items = json::array();
  for (const auto& f : a.items) {
    items.push_back({{"printed", f.item.printed},
                     {"names", f.item.names},
                     {"may_contain", f.item.may_contain},
                     {"status", IngredientStatusName(f.status)},
                     {"ingredient", f.entry ? json(f.entry->name) : json(nullptr)},
                     {"category", f.category ? json(f.category->id) : json(nullptr)},
                     {"category_label", f.category ? json(f.category->label) : json(nullptr)},
                     {"note", f.entry && !f.entry->note.empty() ? json(f.entry->note) : json(nullptr)}});
  }
  const Answer* answer = a.answer ? &*a.answer : nullptr;
  json out = {{"verdict", a.verdict},
              {"activity", answer ? json(answer->activity().id) : json(nullptr)},
              {"activity_verdict", answer ? json(VerdictName(answer->verdict())) : json(nullptr)},
              {"changes_at", answer ? When(m, answer->changes_at()) : json(nullptr)},
              {"next_verdict", answer && answer->next ? json(VerdictName(answer->next->verdict)) : json(nullptr)},
              {"items", items},
              {"answer", answer ? AnswerJson(m.plan, *answer) : json(nullptr)},
              {"advice", a.advice},
              {"sources", answer ? SourcesJson(m.plan.protocol(), RuleSources(*answer)) : json::array()}};
  AddMoment(m, &out);
  return out;
}

json SymptomAnswerJson(const CheckMoment& m, const SymptomAnswer& a) {
  json findings = json::array();
  for (const auto& f : a.findings) {
    findings.push_back({{"text", f.text},
                        {"reaction", f.reaction ? json(f.reaction->id) : json(nullptr)},
                        {"label", f.reaction ? json(f.reaction->label) : json(nullptr)},
                        {"assessment", AssessmentName(f.assessment)},
                        {"expected_from", When(m, f.expected_from)},
                        {"expected_until", When(m, f.expected_until)},
                        {"unrecognised", f.unrecognised},
                        {"note", f.note}});
  }
  json out = {{"query", a.query},
              {"assessment", AssessmentName(a.assessment)},
              {"findings", findings},
              {"advice", a.advice},
              {"sources", SourcesJson(m.plan.protocol(), a.sources)}};
  AddMoment(m, &out);
  return out;
}

}  // namespace aftercare
