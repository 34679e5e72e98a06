#include "aftercare/views.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace aftercare {
namespace {

using nlohmann::json;

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

// Compact JSON written straight into a string, members in the order nlohmann::json sorts them (by key), so the
// text and the parsed views print the same.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, std::string_view key) { w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size())); }
void String(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

template <typename F>
std::string Written(F&& write) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

template <typename F>
json Parsed(F&& write) {
  return json::parse(Written(std::forward<F>(write)));
}

void WriteOptionalInstant(JsonWriter& w, const Plan& plan, const std::optional<Instant>& instant) {
  if (instant) {
    String(w, FormatInstant(*instant, plan.procedure().zone));
  } else {
    w.Null();
  }
}

void WriteStrings(JsonWriter& w, const std::vector<std::string>& list) {
  w.StartArray();
  for (const auto& item : list) String(w, item);
  w.EndArray();
}

// [{"id", "text"}] of each sentence id, in order, without repeats.
void WriteSources(JsonWriter& w, const Protocol& protocol, const std::vector<std::string>& sentence_ids) {
  w.StartArray();
  std::vector<std::string_view> seen;
  for (const auto& id : sentence_ids) {
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    if (const Sentence* s = protocol.FindSentence(id)) {
      w.StartObject();
      Key(w, "id");
      String(w, s->id);
      Key(w, "text");
      String(w, s->text);
      w.EndObject();
    }
  }
  w.EndArray();
}

void WriteResolutions(JsonWriter& w, const std::vector<const Resolution*>& resolutions) {
  w.StartArray();
  for (const Resolution* r : resolutions) {
    w.StartObject();
    Key(w, "id");
    String(w, r->id);
    Key(w, "reading");
    String(w, r->reading);
    w.EndObject();
  }
  w.EndArray();
}

void WriteConditional(JsonWriter& w, const Plan& plan, const std::vector<const Rule*>& rules) {
  w.StartArray();
  for (const Rule* r : rules) {
    w.StartObject();
    Key(w, "context");
    String(w, r->context);
    Key(w, "from");
    String(w, FormatInstant(plan.At(r->from), plan.procedure().zone));
    Key(w, "note");
    String(w, r->note);
    Key(w, "repeat_every");
    if (r->repeat_every) {
      String(w, r->repeat_every->ToString());
    } else {
      w.Null();
    }
    Key(w, "sources");
    WriteSources(w, plan.protocol(), r->sources);
    Key(w, "until");
    WriteOptionalInstant(w, plan, r->until ? std::optional<Instant>(plan.At(*r->until)) : std::nullopt);
    Key(w, "verdict");
    String(w, VerdictName(r->verdict));
    w.EndObject();
  }
  w.EndArray();
}

void WriteAnswer(JsonWriter& w, const Plan& plan, const Answer& answer) {
  const Segment& s = *answer.segment;
  w.StartObject();
  Key(w, "activity");
  String(w, answer.activity().id);
  Key(w, "changes_at");
  WriteOptionalInstant(w, plan, answer.changes_at());
  Key(w, "conditional");
  WriteConditional(w, plan, answer.timeline->conditional);
  Key(w, "label");
  String(w, answer.activity().label);
  if (s.verdict == Verdict::kNotCovered) {
    Key(w, "message");
    String(w, kNotCoveredMessage);
  }
  Key(w, "next_verdict");
  if (answer.next) {
    String(w, VerdictName(answer.next->verdict));
  } else {
    w.Null();
  }
  Key(w, "notes");
  WriteStrings(w, Notes(s.rules));
  Key(w, "resolutions");
  WriteResolutions(w, s.resolutions);
  Key(w, "since");
  String(w, FormatInstant(s.from, plan.procedure().zone));
  Key(w, "sources");
  WriteSources(w, plan.protocol(), SourceIds(s.rules));
  Key(w, "verdict");
  String(w, VerdictName(s.verdict));
  w.EndObject();
}

// "procedure": {"areas", "end", "zone"}, "protocol": {"id", "version"}: the header of every plan view.
void WriteProcedureMembers(JsonWriter& w, const Plan& plan) {
  const Procedure& p = plan.procedure();
  Key(w, "procedure");
  w.StartObject();
  Key(w, "areas");
  WriteStrings(w, p.areas);
  Key(w, "end");
  String(w, FormatInstant(p.end, p.zone));
  Key(w, "zone");
  String(w, p.zone->name());
  w.EndObject();
  Key(w, "protocol");
  w.StartObject();
  Key(w, "id");
  String(w, plan.protocol().id);
  Key(w, "version");
  String(w, plan.protocol().version);
  w.EndObject();
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
  return Parsed([&](JsonWriter& w) { WriteSources(w, protocol, sentence_ids); });
}

json AnswerJson(const Plan& plan, const Answer& answer) {
  return Parsed([&](JsonWriter& w) { WriteAnswer(w, plan, answer); });
}

json ProcedureJson(const Plan& plan) {
  return Parsed([&](JsonWriter& w) {
    w.StartObject();
    WriteProcedureMembers(w, plan);
    w.EndObject();
  });
}

std::string AnswersJsonText(const Plan& plan, const std::vector<Answer>& answers) {
  return Written([&](JsonWriter& w) {
    w.StartArray();
    for (const auto& answer : answers) WriteAnswer(w, plan, answer);
    w.EndArray();
  });
}

std::string StatusJsonText(const Plan& plan, Instant at, const std::vector<Answer>& answers,
                           std::string_view answers_text) {
  std::string answers_written;
  if (answers_text.empty()) {
    answers_written = AnswersJsonText(plan, answers);
    answers_text = answers_written;
  }
  // The members after "activities", as an object of their own, spliced after the answers' text.
  std::string rest = Written([&](JsonWriter& w) {
    w.StartObject();
    Key(w, "at");
    String(w, FormatInstant(at, plan.procedure().zone));
    Key(w, "hours_since_procedure");
    w.Double(std::chrono::duration_cast<std::chrono::minutes>(at - plan.procedure().end).count() / 60.0);
    WriteProcedureMembers(w, plan);
    w.EndObject();
  });
  std::string out;
  out.reserve(answers_text.size() + rest.size() + 16);
  out += "{\"activities\":";
  out += answers_text;
  out += ',';
  out.append(rest, 1, std::string::npos);
  return out;
}

json StatusJson(const Plan& plan, Instant at, const std::vector<Answer>& answers) {
  return json::parse(StatusJsonText(plan, at, answers));
}

std::string PlanJsonText(const Plan& plan) {
  const Zone& zone = plan.procedure().zone;
  return Written([&](JsonWriter& w) {
    w.StartObject();
    Key(w, "activities");
    w.StartArray();
    for (const auto& timeline : plan.Timelines()) {
      w.StartObject();
      Key(w, "activity");
      String(w, timeline.activity->id);
      Key(w, "conditional");
      WriteConditional(w, plan, timeline.conditional);
      Key(w, "label");
      String(w, timeline.activity->label);
      Key(w, "segments");
      w.StartArray();
      for (const auto& s : timeline.segments) {
        w.StartObject();
        Key(w, "from");
        String(w, FormatInstant(s.from, zone));
        if (s.verdict == Verdict::kNotCovered) {
          Key(w, "message");
          String(w, kNotCoveredMessage);
        }
        Key(w, "notes");
        WriteStrings(w, Notes(s.rules));
        Key(w, "resolutions");
        WriteResolutions(w, s.resolutions);
        Key(w, "sources");
        WriteSources(w, plan.protocol(), SourceIds(s.rules));
        Key(w, "until");
        WriteOptionalInstant(w, plan, s.until);
        Key(w, "verdict");
        String(w, VerdictName(s.verdict));
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    Key(w, "milestones");
    w.StartArray();
    for (const auto& m : plan.Milestones()) {
      w.StartObject();
      Key(w, "activity");
      String(w, m.timeline->activity->id);
      Key(w, "at");
      String(w, FormatInstant(m.at, zone));
      Key(w, "verdict");
      String(w, VerdictName(m.segment->verdict));
      w.EndObject();
    }
    w.EndArray();
    WriteProcedureMembers(w, plan);
    w.EndObject();
  });
}

json PlanJson(const Plan& plan) { return json::parse(PlanJsonText(plan)); }

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
