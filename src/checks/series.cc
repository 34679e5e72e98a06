// The treatment series: planning sessions and checking a booking against the last one.
#include "aftercare/checks.h"

namespace aftercare {

namespace {
Result<const Series*> SeriesOf(const Protocol& protocol) {
  if (!protocol.series) return MakeError("the protocol '" + protocol.id + "' does not describe a treatment series");
  return &*protocol.series;
}
}  // namespace

Result<std::vector<Instant>> PlanSeries(const Protocol& protocol, Instant first, int count, Zone zone) {
  auto series = SeriesOf(protocol);
  if (!series) return series.error();
  const Series& s = **series;
  if (count < s.min_count || count > s.max_count) {
    return MakeError("the sheet recommends a series of " + std::to_string(s.min_count) + "-" +
                     std::to_string(s.max_count) + " treatments; " + std::to_string(count) +
                     " is outside that range");
  }
  std::vector<Instant> sessions = {first};
  for (int i = 1; i < count; ++i) sessions.push_back(AddOffset(sessions.back(), s.min_interval, zone));
  return sessions;
}

Result<BookingCheck> CheckBooking(const Protocol& protocol, Instant last, Instant proposed, Zone zone) {
  auto series = SeriesOf(protocol);
  if (!series) return series.error();
  if (proposed < last) return MakeError("the proposed session is before the last session");
  BookingCheck check;
  check.min_interval = (*series)->min_interval;
  check.earliest = AddOffset(last, check.min_interval, zone);
  check.ok = proposed >= check.earliest;
  return check;
}

}  // namespace aftercare
