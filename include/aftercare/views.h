// Views: engine results turned into the JSON and text that the CLI and the server both print, so the two never
// disagree. Pure functions; times are shown in the plan's zone.
#ifndef AFTERCARE_VIEWS_H_
#define AFTERCARE_VIEWS_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aftercare/engine.h"
#include "aftercare/lint.h"

namespace aftercare {

// Said whenever the sheet has nothing to say about something.
inline constexpr const char* kNotCoveredMessage =
    "The aftercare sheet does not cover this at this time; ask your clinic.";

// {"id", "text"} of each sentence id, in order, without repeats.
nlohmann::json SourcesJson(const Protocol& protocol, const std::vector<std::string>& sentence_ids);

// {"activity", "label", "verdict", "since", "changes_at", "next_verdict", "notes", "sources", "resolutions",
//  "conditional", "message"?}.
nlohmann::json AnswerJson(const Plan& plan, const Answer& answer);
// {"procedure", "at", "hours_since_procedure", "activities": [AnswerJson...]}.
nlohmann::json StatusJson(const Plan& plan, Instant at, const std::vector<Answer>& answers);
// The same as compact JSON text, written without building a document (what the server sends). `answers_text`, if
// given, is AnswersJsonText of the same answers, kept from an earlier call: the answers change only at boundaries.
std::string StatusJsonText(const Plan& plan, Instant at, const std::vector<Answer>& answers,
                           std::string_view answers_text = {});
// The "activities" array of StatusJsonText alone.
std::string AnswersJsonText(const Plan& plan, const std::vector<Answer>& answers);
// {"protocol", "procedure", "activities": [{"activity", "label", "segments", "conditional"}], "milestones"}.
nlohmann::json PlanJson(const Plan& plan);
// The same as compact JSON text.
std::string PlanJsonText(const Plan& plan);
// {"protocol", "procedure"} header shared by the three above.
nlohmann::json ProcedureJson(const Plan& plan);
// {"ok", "errors", "warnings", "contradictions": [{"id", "subject", "conflict", "reading", "sentences"}]}.
nlohmann::json LintJson(const LintReport& report);

// Text for people.
std::string AnswerText(const Plan& plan, const Answer& answer, Instant at);
std::string StatusText(const Plan& plan, Instant at, const std::vector<Answer>& answers);
std::string PlanText(const Plan& plan);
std::string LintText(const LintReport& report, const std::string& origin);

// "2 d 3 h 5 min", "45 min", "0 min".
std::string FormatSpan(std::chrono::seconds span);

}  // namespace aftercare

#endif  // AFTERCARE_VIEWS_H_
