// The engine: a protocol and one procedure compiled into per-activity timelines, and the questions a patient asks of
// them. Pure: no I/O, no clock; every instant is a parameter. A Plan refers to its Protocol, which must outlive it;
// Answers refer into their Plan. A compiled Plan is immutable and safe to query from several threads.
#ifndef AFTERCARE_ENGINE_H_
#define AFTERCARE_ENGINE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aftercare/protocol.h"
#include "aftercare/result.h"
#include "aftercare/time.h"

namespace aftercare {

struct Procedure {
  Instant end;                     // when the procedure ended
  Zone zone = nullptr;             // the patient's IANA zone
  std::vector<std::string> areas;  // treated areas, ids of Protocol::areas
};

// A stretch [from, until) over which one activity's verdict and reasons stay the same.
struct Segment {
  Instant from;
  std::optional<Instant> until;  // none: to the end of the plan (the sheet gives no end)
  Verdict verdict = Verdict::kNotCovered;
  std::vector<const Rule*> rules;         // the rules giving this verdict: the why
  std::vector<const Rule*> overridden;    // rules in force here with a less restrictive verdict
  std::vector<const Resolution*> resolutions;  // the stated resolutions of that overlap

  bool Contains(Instant t) const { return t >= from && (!until || t < *until); }
};

// One activity's whole timeline in one context ("" = no particular context), from the end of the procedure on.
struct ActivityTimeline {
  const Activity* activity = nullptr;
  std::string context;
  std::vector<Segment> segments;  // contiguous, ascending; the first starts at the procedure end
  std::vector<const Rule*> conditional;  // context-bound rules of this activity, listed as "if outdoors: ..."
};

// The verdict of one activity at one instant, and when and how it next changes.
struct Answer {
  const ActivityTimeline* timeline = nullptr;
  const Segment* segment = nullptr;  // in force at the instant
  const Segment* next = nullptr;     // the next segment with a different verdict; nullptr if none

  const Activity& activity() const { return *timeline->activity; }
  Verdict verdict() const { return segment->verdict; }
  std::optional<Instant> changes_at() const {
    return next ? std::optional<Instant>(next->from) : std::nullopt;
  }
  std::optional<Verdict> next_verdict() const {
    return next ? std::optional<Verdict>(next->verdict) : std::nullopt;
  }
};

// A moment at which some activity's verdict changes, for plans, calendars and reminders.
struct Milestone {
  Instant at;
  const ActivityTimeline* timeline = nullptr;
  const Segment* segment = nullptr;  // the segment that starts at `at`
};

class Plan {
 public:
  // Fails if the zone is missing or an area is not one the protocol knows (the message lists the known ones).
  static Result<Plan> Compile(const Protocol& protocol, Procedure procedure);

  const Protocol& protocol() const { return *protocol_; }
  const Procedure& procedure() const { return procedure_; }

  // The verdict of `activity` (id, label or synonym) at `at`, in `context` if given. Errors: unknown activity (with
  // the closest names), unknown context, `at` before the procedure ended.
  Result<Answer> Can(std::string_view activity, Instant at, std::string_view context = {}) const;

  // Every activity's answer at `at`, in protocol order. Error: `at` before the procedure ended.
  Result<std::vector<Answer>> Status(Instant at) const;
  // The same without allocating when `out` has capacity. Precondition: at >= procedure().end.
  void StatusInto(Instant at, std::vector<Answer>* out) const;

  // The timeline of every activity without a context, in protocol order.
  const std::vector<ActivityTimeline>& Timelines() const { return base_; }
  // The timeline of an activity in a context; nullptr if the activity or context is unknown.
  const ActivityTimeline* FindTimeline(std::string_view activity_id, std::string_view context = {}) const;

  // Each change of verdict after the procedure end, ascending by instant, then protocol order.
  std::vector<Milestone> Milestones() const;

  // The instant `offset` after the procedure ended (days and weeks at the same wall-clock time).
  Instant At(const Offset& offset) const { return AddOffset(procedure_.end, offset, procedure_.zone); }
  bool AreaTreated(std::string_view area) const;
  // True if `areas` is empty or shares an area with the procedure.
  bool AppliesToAreas(const std::vector<std::string>& areas) const;

 private:
  Plan(const Protocol& protocol, Procedure procedure) : protocol_(&protocol), procedure_(std::move(procedure)) {}
  const ActivityTimeline* Lookup(const std::vector<ActivityTimeline>& timelines, std::string_view id) const;

  const Protocol* protocol_;
  Procedure procedure_;
  std::vector<ActivityTimeline> base_;
  // One set of timelines per protocol context, in Protocol::contexts order.
  std::vector<std::vector<ActivityTimeline>> by_context_;
};

// Answer::timeline->segments[...] lookup used by Plan; exposed for tests of the boundary rule [from, until).
Answer AnswerAt(const ActivityTimeline& timeline, Instant at);

}  // namespace aftercare

#endif  // AFTERCARE_ENGINE_H_
