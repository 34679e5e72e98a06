#include <algorithm>

#include "aftercare/engine.h"
#include "aftercare/text.h"

namespace aftercare {
namespace {

struct PlacedRule {
  const Rule* rule;
  Instant from;
  std::optional<Instant> until;
  bool Covers(Instant t) const { return from <= t && (!until || t < *until); }
};

bool SameReasons(const Segment& a, const Segment& b) {
  return a.verdict == b.verdict && a.rules == b.rules && a.overridden == b.overridden;
}

}  // namespace

Answer AnswerAt(const ActivityTimeline& timeline, Instant at) {
  const auto& segments = timeline.segments;
  // The last segment whose start is at or before `at`; segments are contiguous, so it contains `at`.
  auto it = std::upper_bound(segments.begin(), segments.end(), at,
                             [](Instant t, const Segment& s) { return t < s.from; });
  Answer answer;
  answer.timeline = &timeline;
  answer.segment = it == segments.begin() ? &segments.front() : &*(it - 1);
  for (auto next = it; next != segments.end(); ++next) {
    if (next->verdict != answer.segment->verdict) {
      answer.next = &*next;
      break;
    }
  }
  return answer;
}

bool Plan::AreaTreated(std::string_view area) const {
  return std::find(procedure_.areas.begin(), procedure_.areas.end(), area) != procedure_.areas.end();
}

bool Plan::AppliesToAreas(const std::vector<std::string>& areas) const {
  if (areas.empty()) return true;
  return std::any_of(areas.begin(), areas.end(), [&](const std::string& a) { return AreaTreated(a); });
}

Result<Plan> Plan::Compile(const Protocol& protocol, Procedure procedure) {
  if (procedure.zone == nullptr) return MakeError("missing time zone: give an IANA zone such as America/New_York");
  for (const auto& area : procedure.areas) {
    if (protocol.FindArea(area) == nullptr) {
      std::vector<std::string> known;
      for (const auto& a : protocol.areas) known.push_back(a.id);
      std::string message = "unknown treated area '" + area + "'";
      auto close = ClosestNames(area, known, 1);
      if (!close.empty()) message += "; did you mean '" + close[0] + "'?";
      return MakeError(message + " Known areas: " + JoinOr(known));
    }
  }
  Plan plan(protocol, std::move(procedure));

  // Every rule's window as instants, once.
  std::vector<PlacedRule> placed;
  for (const auto& rule : protocol.rules) {
    if (!plan.AppliesToAreas(rule.areas)) continue;
    PlacedRule p{&rule, plan.At(rule.from), std::nullopt};
    if (rule.until) p.until = plan.At(*rule.until);
    placed.push_back(p);
  }

  // The placed rules of each activity, in protocol order, so each timeline below looks only at its own.
  std::vector<std::vector<const PlacedRule*>> by_activity(protocol.activities.size());
  for (const auto& p : placed) {
    for (std::size_t a = 0; a < protocol.activities.size(); ++a) {
      if (p.rule->activity == protocol.activities[a].id) {
        by_activity[a].push_back(&p);
        break;
      }
    }
  }

  auto build = [&](std::size_t activity_index, const std::string& context) {
    const Activity& activity = protocol.activities[activity_index];
    ActivityTimeline timeline;
    timeline.activity = &activity;
    timeline.context = context;
    std::vector<const PlacedRule*> mine;
    for (const PlacedRule* rule : by_activity[activity_index]) {
      const PlacedRule& p = *rule;
      if (p.rule->context.empty() || p.rule->context == context) mine.push_back(&p);
      if (context.empty() && !p.rule->context.empty()) timeline.conditional.push_back(p.rule);
    }
    std::vector<Instant> bounds{plan.procedure_.end};
    for (const auto* p : mine) {
      bounds.push_back(p->from);
      if (p->until) bounds.push_back(*p->until);
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      Segment segment;
      segment.from = bounds[i];
      if (i + 1 < bounds.size()) segment.until = bounds[i + 1];
      for (const auto* p : mine) {
        if (!p->Covers(segment.from)) continue;
        if (Restrictiveness(p->rule->verdict) < Restrictiveness(segment.verdict)) segment.verdict = p->rule->verdict;
      }
      for (const auto* p : mine) {
        if (!p->Covers(segment.from)) continue;
        (p->rule->verdict == segment.verdict ? segment.rules : segment.overridden).push_back(p->rule);
      }
      for (const auto& resolution : protocol.resolutions) {
        bool names_overridden = std::any_of(segment.overridden.begin(), segment.overridden.end(), [&](const Rule* r) {
          return std::find(resolution.rules.begin(), resolution.rules.end(), r->id) != resolution.rules.end();
        });
        if (names_overridden) segment.resolutions.push_back(&resolution);
      }
      if (!timeline.segments.empty() && SameReasons(timeline.segments.back(), segment)) {
        timeline.segments.back().until = segment.until;
      } else {
        timeline.segments.push_back(std::move(segment));
      }
    }
    return timeline;
  };

  for (std::size_t a = 0; a < protocol.activities.size(); ++a) plan.base_.push_back(build(a, ""));
  for (const auto& context : protocol.contexts) {
    std::vector<ActivityTimeline> timelines;
    for (std::size_t a = 0; a < protocol.activities.size(); ++a) timelines.push_back(build(a, context.id));
    plan.by_context_.push_back(std::move(timelines));
  }
  return plan;
}

const ActivityTimeline* Plan::Lookup(const std::vector<ActivityTimeline>& timelines, std::string_view id) const {
  for (const auto& t : timelines) {
    if (t.activity->id == id) return &t;
  }
  return nullptr;
}

const ActivityTimeline* Plan::FindTimeline(std::string_view activity_id, std::string_view context) const {
  if (context.empty()) return Lookup(base_, activity_id);
  for (std::size_t i = 0; i < protocol_->contexts.size(); ++i) {
    if (protocol_->contexts[i].id == context) return Lookup(by_context_[i], activity_id);
  }
  return nullptr;
}

Result<Answer> Plan::Can(std::string_view activity, Instant at, std::string_view context) const {
  const Activity* found = protocol_->FindActivity(activity);
  if (found == nullptr) {
    std::string wanted = NormalizeWords(activity);
    for (const auto& a : protocol_->activities) {
      if (NormalizeWords(a.label) == wanted) found = &a;
      for (const auto& s : a.synonyms) {
        if (NormalizeWords(s) == wanted) found = &a;
      }
      if (found) break;
    }
  }
  if (found == nullptr) {
    std::vector<std::string> ids, names;
    for (const auto& a : protocol_->activities) {
      ids.push_back(a.id);
      names.push_back(a.id);
      names.insert(names.end(), a.synonyms.begin(), a.synonyms.end());
    }
    std::string message = "unknown activity '" + std::string(activity) + "'";
    std::vector<std::string> close;
    for (const auto& name : ClosestNames(activity, names, 6)) {
      // Report the canonical id of each close synonym, once.
      for (const auto& a : protocol_->activities) {
        bool hit = a.id == name || std::find(a.synonyms.begin(), a.synonyms.end(), name) != a.synonyms.end();
        if (hit && std::find(close.begin(), close.end(), a.id) == close.end()) close.push_back(a.id);
      }
    }
    if (close.size() > 3) close.resize(3);
    if (!close.empty()) message += "; did you mean " + JoinOr(close) + "?";
    return MakeError(message + " Known activities: " + JoinOr(ids, false));
  }
  if (at < procedure_.end) {
    return MakeError("the time asked about (" + FormatInstant(at, procedure_.zone) +
                     ") is before the procedure ended (" + FormatInstant(procedure_.end, procedure_.zone) +
                     "); the plan starts when the procedure ends");
  }
  if (!context.empty() && protocol_->FindContext(context) == nullptr) {
    std::vector<std::string> known;
    for (const auto& c : protocol_->contexts) known.push_back(c.id);
    return MakeError("unknown context '" + std::string(context) + "'; known contexts: " + JoinOr(known));
  }
  return AnswerAt(*FindTimeline(found->id, context), at);
}

void Plan::StatusInto(Instant at, std::vector<Answer>* out) const {
  out->clear();
  for (const auto& timeline : base_) out->push_back(AnswerAt(timeline, at));
}

Result<std::vector<Answer>> Plan::Status(Instant at) const {
  if (at < procedure_.end) {
    return MakeError("the time asked about (" + FormatInstant(at, procedure_.zone) +
                     ") is before the procedure ended (" + FormatInstant(procedure_.end, procedure_.zone) + ")");
  }
  std::vector<Answer> answers;
  answers.reserve(base_.size());
  StatusInto(at, &answers);
  return answers;
}

std::vector<Milestone> Plan::Milestones() const {
  std::vector<Milestone> out;
  for (const auto& timeline : base_) {
    for (std::size_t i = 1; i < timeline.segments.size(); ++i) {
      if (timeline.segments[i].verdict != timeline.segments[i - 1].verdict) {
        out.push_back({timeline.segments[i].from, &timeline, &timeline.segments[i]});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Milestone& a, const Milestone& b) { return a.at < b.at; });
  return out;
}

}  // namespace aftercare
