// Instants, IANA zones and the two ways a person writes a time. Built on Howard Hinnant's date/tz over the system
// tzdata. Nothing here reads the clock.
#ifndef AFTERCARE_TIME_H_
#define AFTERCARE_TIME_H_

#include <chrono>
#include <string>
#include <string_view>

#include <date/tz.h>

#include "aftercare/duration.h"
#include "aftercare/result.h"

namespace aftercare {

using Instant = date::sys_seconds;
using Zone = const date::time_zone*;

// Looks up an IANA zone ("America/New_York"); an unknown name gives an error naming close matches.
Result<Zone> FindZone(std::string_view name);

// Parses a time written either as local wall-clock time in `zone` ("2026-11-28T14:00", seconds optional, a space
// may replace the T) or as an instant with an offset ("2026-11-28T14:00-05:00", "...Z"). A local time that falls
// in a DST gap or, without an offset, in a DST overlap is refused with a message saying how to write it.
Result<Instant> ParseTime(std::string_view text, Zone zone);

// end + offset: elapsed units add exactly; days and weeks land on the same wall-clock time in `zone` that many
// calendar days later. If that wall-clock time does not exist (DST gap) the result is the instant the gap ends;
// if it exists twice (DST overlap) it is the later of the two, so a window measured in days never ends early.
Instant AddOffset(Instant end, const Offset& offset, Zone zone);

// ISO 8601 with the zone's offset at that instant, minutes precision unless seconds are non-zero:
// "2026-11-29T14:00-05:00" ("+05:45" for Kathmandu).
std::string FormatInstant(Instant instant, Zone zone);

// A short local form for people: "Sun 29 Nov 14:00".
std::string FormatLocalShort(Instant instant, Zone zone);

// The zone's abbreviation at an instant ("EST", "+0545").
std::string ZoneAbbreviation(Instant instant, Zone zone);

}  // namespace aftercare

#endif  // AFTERCARE_TIME_H_
