#include "aftercare/views.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace aftercare {
namespace {

using nlohmann::json;

json OptionalInstant(const Plan& plan, const std::optional<Instant>& instant) {
  return instant ? json(FormatInstant(*instant, plan.procedure().zone)) : json(nullptr);
}

std::vector<std::string> SourceIds(const std::vector<const Rule*>& rules) {
  std::vector<std::string> ids;
  for (const Rule* r : rules) ids.insert(ids.end(), r->sources.begin(), r->sources.end());
  return ids;
}

std::vector<std::string> Notes(const std::vector<const Rule*>& rules) {
  std::vector<std::string> notes;
  for (const Rule* r : rules) {
    if (!r->note.empty() && std::find(notes.begin(), notes.end(), r->note) == notes.end()) notes.push_back(r->note);
  }
  return notes;
}

json ConditionalJson(const Plan& plan, const std::vector<const Rule*>& rules) {
  json out = json::array();
  for (const Rule* r : rules) {
    json item = {{"context", r->context},
                 {"verdict", VerdictName(r->verdict)},
                 {"from", FormatInstant(plan.At(r->from), plan.procedure().zone)},
                 {"until", r->until ? json(FormatInstant(plan.At(*r->until), plan.procedure().zone)) : json(nullptr)},
                 {"repeat_every", r->repeat_every ? json(r->repeat_every->ToString()) : json(nullptr)},
                 {"note", r->note},
                 {"sources", SourcesJson(plan.protocol(), r->sources)}};
    out.push_back(std::move(item));
  }
  return out;
}

json ResolutionsJson(const std::vector<const Resolution*>& resolutions) {
  json out = json::array();
  for (const Resolution* r : resolutions) out.push_back({{"id", r->id}, {"reading", r->reading}});
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (char& c : out) if (c == '_') c = ' ';
  return out;
}

std::string Local(const Plan& plan, Instant t) {
  return FormatLocalShort(t, plan.procedure().zone) + " " + ZoneAbbreviation(t, plan.procedure().zone);
}

std::string Quote(const Protocol& protocol, const std::vector<std::string>& ids, const std::string& indent) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) continue;
    if (const Sentence* s = protocol.FindSentence(id)) out += indent + "\"" + s->text + "\"\n";
  }
  return out;
}

}  // namespace

std::string FormatSpan(std::chrono::seconds span) {
  long long total = span.count() < 0 ? 0 : span.count();
  long long days = total / 86400, hours = (total % 86400) / 3600, minutes = (total % 3600) / 60;
  std::string out;
  if (days) out += std::to_string(days) + " d";
  if (hours) out += (out.empty() ? "" : " ") + std::to_string(hours) + " h";
  if (minutes || out.empty()) out += (out.empty() ? "" : " ") + std::to_string(minutes) + " min";
  return out;
}

json SourcesJson(const Protocol& protocol, const std::vector<std::string>& sentence_ids) {
  json out = json::array();
  std::set<std::string> seen;
  for (const auto& id : sentence_ids) {
    if (!seen.insert(id).second) continue;
    if (const Sentence* s = protocol.FindSentence(id)) out.push_back({{"id", s->id}, {"text", s->text}});
  }
  return out;
}

json AnswerJson(const Plan& plan, const Answer& answer) {
  const Segment& s = *answer.segment;
  json out = {{"activity", answer.activity().id},
              {"label", answer.activity().label},
              {"verdict", VerdictName(s.verdict)},
              {"since", FormatInstant(s.from, plan.procedure().zone)},
              {"changes_at", OptionalInstant(plan, answer.changes_at())},
              {"next_verdict", answer.next ? json(VerdictName(answer.next->verdict)) : json(nullptr)},
              {"notes", Notes(s.rules)},
              {"sources", SourcesJson(plan.protocol(), SourceIds(s.rules))},
              {"resolutions", ResolutionsJson(s.resolutions)},
              {"conditional", ConditionalJson(plan, answer.timeline->conditional)}};
  if (s.verdict == Verdict::kNotCovered) out["message"] = kNotCoveredMessage;
  return out;
}

json ProcedureJson(const Plan& plan) {
  const Procedure& p = plan.procedure();
  return {{"protocol", {{"id", plan.protocol().id}, {"version", plan.protocol().version}}},
          {"procedure", {{"end", FormatInstant(p.end, p.zone)}, {"zone", p.zone->name()}, {"areas", p.areas}}}};
}

json StatusJson(const Plan& plan, Instant at, const std::vector<Answer>& answers) {
  json out = ProcedureJson(plan);
  out["at"] = FormatInstant(at, plan.procedure().zone);
  out["hours_since_procedure"] =
      std::chrono::duration_cast<std::chrono::minutes>(at - plan.procedure().end).count() / 60.0;
  json list = json::array();
  for (const auto& answer : answers) list.push_back(AnswerJson(plan, answer));
  out["activities"] = std::move(list);
  return out;
}

json PlanJson(const Plan& plan) {
  json out = ProcedureJson(plan);
  json activities = json::array();
  for (const auto& timeline : plan.Timelines()) {
    json segments = json::array();
    for (const auto& s : timeline.segments) {
      json item = {{"from", FormatInstant(s.from, plan.procedure().zone)},
                   {"until", OptionalInstant(plan, s.until)},
                   {"verdict", VerdictName(s.verdict)},
                   {"notes", Notes(s.rules)},
                   {"sources", SourcesJson(plan.protocol(), SourceIds(s.rules))},
                   {"resolutions", ResolutionsJson(s.resolutions)}};
      if (s.verdict == Verdict::kNotCovered) item["message"] = kNotCoveredMessage;
      segments.push_back(std::move(item));
    }
    activities.push_back({{"activity", timeline.activity->id},
                          {"label", timeline.activity->label},
                          {"segments", std::move(segments)},
                          {"conditional", ConditionalJson(plan, timeline.conditional)}});
  }
  out["activities"] = std::move(activities);
  json milestones = json::array();
  for (const auto& m : plan.Milestones()) {
    milestones.push_back({{"at", FormatInstant(m.at, plan.procedure().zone)},
                          {"activity", m.timeline->activity->id},
                          {"verdict", VerdictName(m.segment->verdict)}});
  }
  out["milestones"] = std::move(milestones);
  return out;
}

json LintJson(const LintReport& report) {
  auto findings = [](const std::vector<Finding>& list) {
    json out = json::array();
    for (const auto& f : list) out.push_back({{"where", f.where}, {"message", f.message}});
    return out;
  };
  json contradictions = json::array();
  if (report.protocol) {
    for (const auto& r : report.protocol->resolutions) {
      contradictions.push_back({{"id", r.id},
                                {"subject", r.subject},
                                {"rules", r.rules},
                                {"conflict", r.conflict},
                                {"reading", r.reading},
                                {"sentences", SourcesJson(*report.protocol, r.sentences)}});
    }
  }
  return {{"ok", report.ok()},
          {"errors", findings(report.errors)},
          {"warnings", findings(report.warnings)},
          {"contradictions", std::move(contradictions)}};
}

std::string AnswerText(const Plan& plan, const Answer& answer, Instant at) {
  const Segment& s = *answer.segment;
  std::string out = answer.activity().label + " (" + answer.activity().id + "): " + Upper(VerdictName(s.verdict)) +
                    " at " + Local(plan, at) + "\n";
  for (const auto& note : Notes(s.rules)) out += "  " + note + "\n";
  if (s.verdict == Verdict::kNotCovered) out += "  " + std::string(kNotCoveredMessage) + "\n";
  if (answer.next) {
    out += "  Changes to " + std::string(VerdictName(answer.next->verdict)) + " at " + Local(plan, answer.next->from) +
           " (" + FormatInstant(answer.next->from, plan.procedure().zone) + "), in " +
           FormatSpan(answer.next->from - at) + ".\n";
  } else {
    out += "  No change after this: the sheet gives no end.\n";
  }
  std::vector<std::string> ids = SourceIds(s.rules);
  if (!ids.empty()) out += "  The sheet says:\n" + Quote(plan.protocol(), ids, "    ");
  for (const Resolution* r : s.resolutions) out += "  Where the sheet disagrees with itself: " + r->reading + "\n";
  for (const Rule* r : answer.timeline->conditional) {
    auto& contexts = plan.protocol().contexts;
    auto it = std::find_if(contexts.begin(), contexts.end(), [&](const Context& c) { return c.id == r->context; });
    out += "  If " + (it != contexts.end() ? it->label : r->context) + ": " + std::string(VerdictName(r->verdict)) +
           (r->note.empty() ? "" : " - " + r->note) + " (from " + Local(plan, plan.At(r->from)) + ")\n";
  }
  return out;
}

std::string StatusText(const Plan& plan, Instant at, const std::vector<Answer>& answers) {
  std::string out = "At " + Local(plan, at) + ", " + FormatSpan(at - plan.procedure().end) +
                    " after the procedure ended (" + Local(plan, plan.procedure().end) + "):\n";
  for (Verdict v : {Verdict::kAvoid, Verdict::kCaution, Verdict::kRecommended, Verdict::kAllowed,
                    Verdict::kNotCovered}) {
    bool header = false;
    for (const auto& a : answers) {
      if (a.verdict() != v) continue;
      if (!header) {
        out += "\n" + Upper(VerdictName(v)) + (v == Verdict::kNotCovered ? " (ask your clinic)" : "") + "\n";
        header = true;
      }
      std::string line = "  " + a.activity().label;
      if (line.size() < 50) line.resize(50, ' ');
      if (a.next) {
        line += " " + std::string(VerdictName(a.next->verdict)) + " from " + Local(plan, a.next->from) + " (in " +
                FormatSpan(a.next->from - at) + ")";
      }
      std::vector<std::string> notes = Notes(a.segment->rules);
      out += line + "\n";
      for (const auto& note : notes) out += "      " + note + "\n";
    }
  }
  return out;
}

std::string PlanText(const Plan& plan) {
  const Procedure& p = plan.procedure();
  std::string areas;
  for (const auto& a : p.areas) areas += (areas.empty() ? "" : ", ") + a;
  std::string out = "Aftercare plan: " + plan.protocol().name + " (protocol " + plan.protocol().id + " " +
                    plan.protocol().version + ")\n";
  out += "Procedure ended " + Local(plan, p.end) + " (" + FormatInstant(p.end, p.zone) + ", " + p.zone->name() + ")";
  out += areas.empty() ? "\n" : "; treated: " + areas + "\n";

  // Group every segment start by instant: the plan reads as a list of moments.
  std::vector<std::pair<Instant, std::pair<const ActivityTimeline*, const Segment*>>> starts;
  for (const auto& t : plan.Timelines()) {
    for (std::size_t i = 0; i < t.segments.size(); ++i) {
      if (i > 0 && t.segments[i].verdict == t.segments[i - 1].verdict) continue;
      starts.push_back({t.segments[i].from, {&t, &t.segments[i]}});
    }
  }
  std::stable_sort(starts.begin(), starts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::optional<Instant> current;
  for (const auto& [at, item] : starts) {
    if (!current || *current != at) {
      current = at;
      out += "\n" + (at == p.end ? std::string("From the end of the procedure")
                                 : "After " + FormatSpan(at - p.end)) +
             " - " + Local(plan, at) + "\n";
    }
    const auto* timeline = item.first;
    const Segment* s = item.second;
    std::string verdict(VerdictName(s->verdict));
    verdict.resize(12, ' ');
    const Segment* next = AnswerAt(*timeline, s->from).next;
    std::string line = "  " + verdict + timeline->activity->label;
    if (next) line += " (until " + Local(plan, next->from) + ")";
    out += line + "\n";
    for (const auto& note : Notes(s->rules)) out += "              " + note + "\n";
  }
  return out;
}

std::string LintText(const LintReport& report, const std::string& origin) {
  std::string out;
  for (const auto& f : report.errors) out += origin + ": error: " + f.where + ": " + f.message + "\n";
  for (const auto& f : report.warnings) out += origin + ": warning: " + f.where + ": " + f.message + "\n";
  if (report.protocol) {
    const Protocol& p = *report.protocol;
    out += "\n" + origin + ": protocol " + p.id + " " + p.version + ": " + std::to_string(p.sentences.size()) +
           " sentences, " + std::to_string(p.activities.size()) + " activities, " + std::to_string(p.rules.size()) +
           " rules, " + std::to_string(p.reactions.size()) + " reactions\n";
    out += "\nContradictions and gaps of the sheet, and the reading taken (" + std::to_string(p.resolutions.size()) +
           "):\n";
    for (const auto& r : p.resolutions) {
      out += "\n- " + r.id + (r.subject.empty() ? "" : " [" + r.subject + "]") + "\n";
      out += "  Conflict: " + r.conflict + "\n";
      out += "  Reading:  " + r.reading + "\n";
      out += "  Sentences:\n" + Quote(p, r.sentences, "    ");
    }
  }
  out += "\n" + std::string(report.ok() ? "OK" : "FAILED") + ": " + std::to_string(report.errors.size()) +
         " errors, " + std::to_string(report.warnings.size()) + " warnings\n";
  return out;
}

}  // namespace aftercare
