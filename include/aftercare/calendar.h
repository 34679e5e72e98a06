// The plan as an iCalendar file (RFC 5545) that a patient imports into their own calendar: one event per milestone
// of the plan, the earliest next treatment, and a daily morning sunscreen reminder while sun avoidance lasts. Built
// with libical; the VTIMEZONE of the patient's zone is generated from the system tzdata. Deterministic: DTSTAMP and
// every other instant come from the arguments, never the clock. Safe to call from several threads.
#ifndef AFTERCARE_CALENDAR_H_
#define AFTERCARE_CALENDAR_H_

#include <chrono>
#include <string>
#include <string_view>

#include "aftercare/engine.h"
#include "aftercare/result.h"
#include "aftercare/time.h"

namespace aftercare {

// The activity the daily reminder is about, and the activity whose avoidance it lasts for.
inline constexpr std::string_view kReminderActivity = "sunscreen";
inline constexpr std::string_view kReminderWhileAvoiding = "sun_exposure";

struct CalendarOptions {
  // Identifies the procedure; every UID is derived from it, so a re-import replaces the events instead of adding
  // copies. Letters, digits, '.', '_' and '-', at most 64 characters. The server passes its own id.
  std::string procedure_id;
  Instant now;       // DTSTAMP of every component
  int sequence = 0;  // SEQUENCE: raise it whenever the same procedure's calendar is issued again with changes
  // Local time of day of the daily sunscreen reminder.
  std::chrono::minutes reminder_time = std::chrono::hours(8);
  std::string calendar_name = "Aftercare";  // X-WR-CALNAME, shown by Apple, Google and Outlook
};

// A stable procedure id from what the CLI knows: the end instant, the zone and the treated areas (order and
// case ignored). "p-" followed by 16 hex digits.
std::string DeriveProcedureId(const Procedure& procedure);

// Error unless `id` is usable as a procedure id (see CalendarOptions::procedure_id).
Result<bool> CheckProcedureId(std::string_view id);

// The whole VCALENDAR as text with CRLF line endings. Errors: a bad procedure id or sequence, a zone libical cannot
// describe, or a VTIMEZONE that disagrees with the engine's tzdata about an offset the plan uses.
Result<std::string> CalendarIcs(const Plan& plan, const CalendarOptions& options);

}  // namespace aftercare

#endif  // AFTERCARE_CALENDAR_H_
