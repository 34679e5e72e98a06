#include "aftercare/fhir.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "aftercare/calendar.h"

namespace aftercare {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// FHIR ids allow letters, digits, '-' and '.', at most 64.
std::string FhirId(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  }
  if (out.size() > 64) out.resize(64);
  return out.empty() ? "x" : out;
}

// "AftercareCit": a name usable as an identifier (FHIR's pattern [A-Z][A-Za-z0-9_]*).
std::string ComputableName(std::string_view id) {
  std::string out = "Aftercare";
  bool upper = true;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

// A UCUM duration: {"value": 12, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"}.
json DurationJson(std::int64_t amount, OffsetUnit unit) {
  const char* code = "h";
  const char* words = "hours";
  switch (unit) {
    case OffsetUnit::kMinutes: code = "min"; words = "minutes"; break;
    case OffsetUnit::kHours: code = "h"; words = "hours"; break;
    case OffsetUnit::kDays: code = "d"; words = "days"; break;
    case OffsetUnit::kWeeks: code = "wk"; words = "weeks"; break;
  }
  return {{"value", amount}, {"unit", words}, {"system", "http://unitsofmeasure.org"}, {"code", code}};
}

json DurationJson(const Offset& offset) { return DurationJson(offset.amount, offset.unit); }

// until - from: `until` itself from the start, else in the unit both share; calendar and elapsed units mixed are
// measured in nominal hours.
json WindowJson(const Offset& from, const Offset& until) {
  if (from.amount == 0) return DurationJson(until);
  if (from.unit == until.unit) return DurationJson(until.amount - from.amount, until.unit);
  if (from.IsElapsed() && until.IsElapsed()) {
    std::int64_t minutes = until.NominalMinutes() - from.NominalMinutes();
    return minutes % 60 == 0 ? DurationJson(minutes / 60, OffsetUnit::kHours)
                             : DurationJson(minutes, OffsetUnit::kMinutes);
  }
  if (!from.IsElapsed() && !until.IsElapsed()) {
    return DurationJson((until.NominalMinutes() - from.NominalMinutes()) / 1440, OffsetUnit::kDays);
  }
  return DurationJson((until.NominalMinutes() - from.NominalMinutes()) / 60, OffsetUnit::kHours);
}

const char* PeriodUnit(OffsetUnit unit) {
  switch (unit) {
    case OffsetUnit::kMinutes: return "min";
    case OffsetUnit::kHours: return "h";
    case OffsetUnit::kDays: return "d";
    case OffsetUnit::kWeeks: return "wk";
  }
  return "h";
}

json VerdictExtension(Verdict verdict) {
  return json::array({{{"url", kFhirVerdictExtension}, {"valueCode", VerdictName(verdict)}}});
}

json ActivityCode(const Activity& activity) {
  return {{"coding", json::array({{{"system", kFhirActivitySystem}, {"code", activity.id}, {"display", activity.label}}})},
          {"text", activity.label}};
}

// The sheet's sentences, verbatim, joined by spaces, without repeats.
std::string SentencesText(const Protocol& protocol, const std::vector<std::string>& ids) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) continue;
    if (const Sentence* s = protocol.FindSentence(id)) out += (out.empty() ? "" : " ") + s->text;
  }
  return out;
}

std::string VerdictWord(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAvoid: return "Avoid";
    case Verdict::kCaution: return "With caution";
    case Verdict::kRecommended: return "Recommended";
    case Verdict::kAllowed: return "Allowed";
    case Verdict::kNotCovered: return "Not covered by the sheet";
  }
  return "";
}

std::string RuleActionId(const Rule& rule) { return FhirId("rule." + rule.id); }
constexpr const char* kProcedureActionId = "procedure-end";
constexpr const char* kNextTreatmentActionId = "next-treatment";

json RuleAction(const Protocol& protocol, const Rule& rule) {
  const Activity* activity = protocol.FindActivity(rule.activity);
  std::string label = activity ? activity->label : rule.activity;
  json action = {{"id", RuleActionId(rule)},
                 {"extension", VerdictExtension(rule.verdict)},
                 {"title", label + ": " + VerdictWord(rule.verdict)}};
  std::string description = SentencesText(protocol, rule.sources);
  if (!description.empty()) action["description"] = description;
  if (!rule.note.empty()) action["textEquivalent"] = rule.note;
  if (activity) action["code"] = json::array({ActivityCode(*activity)});

  // Applicability as FHIRPath over two inputs the consumer supplies: %treatedAreas (area ids) and %context.
  json conditions = json::array();
  if (!rule.areas.empty()) {
    std::string areas, expression;
    for (const auto& a : rule.areas) {
      const Area* area = protocol.FindArea(a);
      areas += (areas.empty() ? "" : " or ") + (area ? area->label : a);
      expression += (expression.empty() ? "" : " or ") + ("%treatedAreas contains '" + a + "'");
    }
    conditions.push_back({{"kind", "applicability"},
                          {"expression", {{"description", "Only if the treated areas include " + areas},
                                          {"language", "text/fhirpath"},
                                          {"expression", expression}}}});
  }
  if (!rule.context.empty()) {
    const Context* context = protocol.FindContext(rule.context);
    conditions.push_back({{"kind", "applicability"},
                          {"expression", {{"description", "Only when " + (context ? context->label : rule.context)},
                                          {"language", "text/fhirpath"},
                                          {"expression", "%context = '" + rule.context + "'"}}}});
  }
  if (!conditions.empty()) action["condition"] = conditions;

  action["relatedAction"] = json::array(
      {{{"actionId", kProcedureActionId}, {"relationship", "after-end"}, {"offsetDuration", DurationJson(rule.from)}}});
  if (rule.repeat_every) {
    json repeat = {{"frequency", 1}, {"period", rule.repeat_every->amount},
                   {"periodUnit", PeriodUnit(rule.repeat_every->unit)}};
    if (rule.until) repeat["boundsDuration"] = WindowJson(rule.from, *rule.until);
    action["timingTiming"] = {{"repeat", repeat}};
  } else if (rule.until) {
    action["timingDuration"] = WindowJson(rule.from, *rule.until);
  }
  return action;
}

std::string Offset2(seconds offset) {
  char sign = offset < seconds(0) ? '-' : '+';
  long long total = offset < seconds(0) ? -offset.count() : offset.count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%c%02lld:%02lld", sign, total / 3600, (total % 3600) / 60);
  return buf;
}

const char* DetailStatus(Instant now, Instant from, const std::optional<Instant>& until) {
  if (now < from) return "not-started";
  if (until && now >= *until) return "completed";
  return "in-progress";
}

}  // namespace

std::string FhirInstant(Instant instant, Zone zone) {
  date::zoned_seconds zoned(zone, instant);
  date::local_seconds local = zoned.get_local_time();
  auto day = date::floor<date::days>(local);
  date::year_month_day ymd(day);
  date::hh_mm_ss<seconds> tod(local - day);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(tod.hours().count()), static_cast<long long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()));
  return buf + Offset2(zoned.get_info().offset);
}

std::string PlanDefinitionUrl(const Protocol& protocol) { return "urn:aftercare:plandefinition:" + FhirId(protocol.id); }

json PlanDefinitionJson(const Protocol& protocol) {
  json actions = json::array();
  actions.push_back({{"id", kProcedureActionId},
                     {"title", "End of the procedure"},
                     {"description", "Every other action is timed from the moment the procedure ended. Hours are "
                                     "elapsed time; days and weeks are calendar days in the patient's time zone, "
                                     "at the same wall-clock time."}});
  for (const Rule& rule : protocol.rules) actions.push_back(RuleAction(protocol, rule));
  if (protocol.series) {
    const Series& series = *protocol.series;
    json action = {{"id", kNextTreatmentActionId},
                   {"title", "Earliest next treatment"},
                   {"relatedAction", json::array({{{"actionId", kProcedureActionId},
                                                   {"relationship", "after-end"},
                                                   {"offsetDuration", DurationJson(series.min_interval)}}})}};
    std::string description = SentencesText(protocol, series.sources);
    if (!description.empty()) action["description"] = description;
    action["textEquivalent"] = "A series of " + std::to_string(series.min_count) +
                               (series.max_count != series.min_count ? "-" + std::to_string(series.max_count) : "") +
                               " treatments, at least " + series.min_interval.ToString() + " apart";
    actions.push_back(std::move(action));
  }

  std::string usage = "Where two rules of an activity overlap, the more restrictive verdict applies "
                      "(avoid, then with caution, then recommended, then allowed).";
  for (const Resolution& r : protocol.resolutions) usage += "\n\n- " + r.conflict + " Reading: " + r.reading;

  json out = {{"resourceType", "PlanDefinition"},
              {"id", FhirId(protocol.id)},
              {"url", PlanDefinitionUrl(protocol)},
              {"version", protocol.version},
              {"name", ComputableName(protocol.id)},
              {"title", protocol.name},
              {"type", {{"coding", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/plan-definition-type"},
                                                 {"code", "clinical-protocol"},
                                                 {"display", "Clinical Protocol"}}})}}},
              {"status", "active"},
              {"description", "The clinic's aftercare sheet, as data: what a patient should avoid, may do and is "
                              "recommended to do, timed from the end of the procedure, each action quoting the "
                              "sheet's own sentences."},
              {"usage", usage},
              {"action", std::move(actions)}};
  return out;
}

Result<json> CarePlanJson(const Plan& plan, const CarePlanOptions& options) {
  if (auto check = CheckProcedureId(options.procedure_id); !check) return check.error();
  const Protocol& protocol = plan.protocol();
  const Procedure& procedure = plan.procedure();
  Zone zone = procedure.zone;

  json activities = json::array();
  Instant last = procedure.end;
  for (const ActivityTimeline& timeline : plan.Timelines()) {
    for (const Segment& s : timeline.segments) {
      if (s.verdict == Verdict::kNotCovered) continue;
      json period = {{"start", FhirInstant(s.from, zone)}};
      if (s.until) {
        period["end"] = FhirInstant(*s.until, zone);
        last = std::max(last, *s.until);
      }
      std::vector<std::string> ids;
      std::string notes;
      for (const Rule* r : s.rules) {
        ids.insert(ids.end(), r->sources.begin(), r->sources.end());
        if (!r->note.empty() && notes.find(r->note) == std::string::npos) notes += " " + r->note + ".";
      }
      std::string description = VerdictWord(s.verdict) + ": " + timeline.activity->label + "." + notes;
      std::string sentences = SentencesText(protocol, ids);
      if (!sentences.empty()) description += " The sheet says: " + sentences;
      json detail = {{"extension", VerdictExtension(s.verdict)},
                     {"code", ActivityCode(*timeline.activity)},
                     {"status", DetailStatus(options.now, s.from, s.until)},
                     {"doNotPerform", s.verdict == Verdict::kAvoid},
                     {"scheduledPeriod", period},
                     {"description", description}};
      activities.push_back({{"detail", detail}});
    }
    // Context-bound rules ("if outdoors: reapply every 2 hours") as repeating activities.
    for (const Rule* r : timeline.conditional) {
      const Context* context = protocol.FindContext(r->context);
      Instant from = plan.At(r->from);
      std::optional<Instant> until;
      if (r->until) until = plan.At(*r->until);
      json repeat = {{"boundsPeriod", {{"start", FhirInstant(from, zone)}}}};
      if (until) repeat["boundsPeriod"]["end"] = FhirInstant(*until, zone);
      if (r->repeat_every) {
        repeat["frequency"] = 1;
        repeat["period"] = r->repeat_every->amount;
        repeat["periodUnit"] = PeriodUnit(r->repeat_every->unit);
      }
      std::string description = VerdictWord(r->verdict) + " when " + (context ? context->label : r->context) + ": " +
                                 timeline.activity->label + "." + (r->note.empty() ? "" : " " + r->note + ".");
      std::string sentences = SentencesText(protocol, r->sources);
      if (!sentences.empty()) description += " The sheet says: " + sentences;
      json detail = {{"extension", VerdictExtension(r->verdict)},
                     {"code", ActivityCode(*timeline.activity)},
                     {"status", DetailStatus(options.now, from, until)},
                     {"doNotPerform", r->verdict == Verdict::kAvoid},
                     {"scheduledTiming", {{"repeat", repeat}}},
                     {"description", description}};
      activities.push_back({{"detail", detail}});
    }
  }
  if (protocol.series) {
    const Series& series = *protocol.series;
    Instant next = plan.At(series.min_interval);
    last = std::max(last, next);
    std::string description = "Earliest next treatment: " + series.min_interval.ToString() +
                              " after the procedure ended.";
    std::string sentences = SentencesText(protocol, series.sources);
    if (!sentences.empty()) description += " The sheet says: " + sentences;
    json detail = {{"kind", "Appointment"},
                   {"code", {{"text", "Next treatment"}}},
                   {"status", options.now < next ? "not-started" : "in-progress"},
                   {"doNotPerform", false},
                   {"scheduledPeriod", {{"start", FhirInstant(next, zone)}}},
                   {"description", description}};
    activities.push_back({{"detail", detail}});
  }

  json subject = options.patient_reference.empty() ? json{{"display", "The patient"}}
                                                   : json{{"reference", options.patient_reference}};
  std::string areas;
  for (const auto& a : procedure.areas) {
    const Area* area = protocol.FindArea(a);
    areas += (areas.empty() ? "" : ", ") + (area ? area->label : a);
  }
  json out = {{"resourceType", "CarePlan"},
              {"id", FhirId(options.procedure_id)},
              {"identifier", json::array({{{"system", kFhirProcedureSystem}, {"value", options.procedure_id}}})},
              {"instantiatesCanonical", json::array({PlanDefinitionUrl(protocol) + "|" + protocol.version})},
              {"status", options.now < last ? "active" : "completed"},
              {"intent", "plan"},
              {"title", protocol.name},
              {"description", "Aftercare after the procedure that ended " + FhirInstant(procedure.end, zone) + " (" +
                                  zone->name() + ")" + (areas.empty() ? "" : "; treated: " + areas) + "."},
              {"subject", subject},
              {"period", {{"start", FhirInstant(procedure.end, zone)}, {"end", FhirInstant(last, zone)}}},
              {"created", FhirInstant(options.now, zone)},
              {"activity", std::move(activities)}};
  return out;
}

}  // namespace aftercare
