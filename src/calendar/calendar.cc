// The plan as iCalendar, built with libical. libical keeps global state (its built-in zone cache) that is not safe
// to touch from several threads at once, so every call into it here runs under one mutex.
#include "aftercare/calendar.h"

#include <libical/ical.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "aftercare/text.h"

namespace aftercare {
namespace {

using std::chrono::seconds;

constexpr const char* kProductId = "-//aftercare//aftercare care-plan engine 0.1.0//EN";
constexpr const char* kUidDomain = "aftercare";
constexpr int kMilestoneMinutes = 30;
constexpr int kReminderMinutes = 15;
constexpr int kBookAheadDays = 7;  // the next-treatment alarm fires this long before, to book the appointment

std::mutex& LibicalMutex() {
  static std::mutex mutex;
  return mutex;
}

struct ComponentFree {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using ComponentPtr = std::unique_ptr<icalcomponent, ComponentFree>;

struct TimezoneFree {
  void operator()(icaltimezone* z) const { icaltimezone_free(z, 1); }
};
using TimezonePtr = std::unique_ptr<icaltimezone, TimezoneFree>;

std::int64_t Seconds(Instant t) { return t.time_since_epoch().count(); }

icaltimetype UtcTime(Instant t) {
  return icaltime_from_timet_with_zone(static_cast<time_t>(Seconds(t)), 0, icaltimezone_get_utc_timezone());
}

icaltimetype FromLocal(date::local_seconds local) {
  auto day = date::floor<date::days>(local);
  date::year_month_day ymd(day);
  date::hh_mm_ss<seconds> tod(local - day);
  icaltimetype t = icaltime_null_time();
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(tod.hours().count());
  t.minute = static_cast<int>(tod.minutes().count());
  t.second = static_cast<int>(tod.seconds().count());
  t.is_date = 0;
  return t;
}

std::string Hex64(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

// The patient's zone as libical sees it: its VTIMEZONE (TZID = the IANA name) and an icaltimezone over it.
struct PatientZone {
  TimezonePtr zone;  // owns the VTIMEZONE it was built from
  std::string tzid;
};

// True if the zone has had the same offset since `from` and keeps it for good (UTC, Etc/GMT+5).
bool IsFixedOffset(Zone zone, Instant from) {
  date::sys_info info = zone->get_info(from);
  return info.end >= Instant(date::sys_days(date::year(2200) / 1 / 1));
}

// A VTIMEZONE with one observance at the zone's fixed offset, for zones libical has no transitions for (UTC).
ComponentPtr FixedOffsetVtimezone(Zone zone, Instant from) {
  date::sys_info info = zone->get_info(from);
  int offset = static_cast<int>(info.offset.count());
  ComponentPtr vtz(icalcomponent_new(ICAL_VTIMEZONE_COMPONENT));
  icalcomponent_add_property(vtz.get(), icalproperty_new_tzid(zone->name().c_str()));
  icalcomponent* standard = icalcomponent_new(ICAL_XSTANDARD_COMPONENT);
  icaltimetype start = icaltime_null_time();
  start.year = 1970;
  start.month = 1;
  start.day = 1;
  start.is_date = 0;
  icalcomponent_add_property(standard, icalproperty_new_dtstart(start));
  icalcomponent_add_property(standard, icalproperty_new_tzoffsetfrom(offset));
  icalcomponent_add_property(standard, icalproperty_new_tzoffsetto(offset));
  icalcomponent_add_property(standard, icalproperty_new_tzname(info.abbrev.c_str()));
  icalcomponent_add_component(vtz.get(), standard);
  return vtz;
}

// Builds the zone from the system tzdata through libical, named by its IANA name, with its history cut to what
// the calendar needs. Caller holds LibicalMutex().
Result<PatientZone> LoadZone(Zone zone, Instant from) {
  const std::string& name = zone->name();
  icaltimezone* builtin = icaltimezone_get_builtin_timezone(name.c_str());
  icalcomponent* source = builtin ? icaltimezone_get_component(builtin) : nullptr;
  ComponentPtr vtz;
  if (source && icalcomponent_get_first_component(source, ICAL_ANY_COMPONENT)) {
    vtz.reset(icalcomponent_new_clone(source));
    icaltimezone_truncate_vtimezone(vtz.get(), UtcTime(from), icaltime_null_time(), 0);
  } else if (IsFixedOffset(zone, from)) {
    vtz = FixedOffsetVtimezone(zone, from);
  }
  if (!vtz || !icalcomponent_get_first_component(vtz.get(), ICAL_ANY_COMPONENT)) {
    return MakeError("cannot describe the time zone '" + name + "' in iCalendar from the system tzdata");
  }
  // libical names zones "/freeassociation.sourceforge.net/<name>"; clients recognise the plain IANA name.
  icalproperty* tzid = icalcomponent_get_first_property(vtz.get(), ICAL_TZID_PROPERTY);
  if (!tzid) {
    tzid = icalproperty_new_tzid(name.c_str());
    icalcomponent_add_property(vtz.get(), tzid);
  }
  icalproperty_set_tzid(tzid, name.c_str());

  PatientZone out;
  out.zone.reset(icaltimezone_new());
  if (!icaltimezone_set_component(out.zone.get(), vtz.get())) {
    return MakeError("libical refused the VTIMEZONE of '" + name + "'");
  }
  vtz.release();  // now owned by out.zone
  out.tzid = name;
  return out;
}

// The zone's VTIMEZONE from the start of the year that holds `from` on, kept across calls: building it and letting
// libical work out its changes costs far more than the rest of a calendar, and a zone's history does not change
// while the process runs. At most one entry per zone and year. Caller holds LibicalMutex().
Result<const PatientZone*> KeptZone(Zone zone, Instant from) {
  static std::map<std::pair<std::string, int>, std::unique_ptr<PatientZone>> kept;
  date::year_month_day ymd(date::floor<date::days>(from));
  auto key = std::pair(zone->name(), static_cast<int>(ymd.year()));
  if (auto it = kept.find(key); it != kept.end()) return it->second.get();
  Instant year_start{date::sys_days(ymd.year() / date::January / 1).time_since_epoch()};
  auto loaded = LoadZone(zone, year_start);
  if (!loaded) return loaded.error();
  if (kept.size() >= 1024) kept.clear();
  return (kept[key] = std::make_unique<PatientZone>(std::move(loaded).value())).get();
}

// One event's start: local time with TZID where that wall-clock time is unambiguous in the zone, else UTC (RFC 5545
// reads an ambiguous local time as its first occurrence, which may not be the instant meant). Checks that libical's
// reading of the VTIMEZONE gives back the very instant; an error names the instant if it does not.
Result<icalproperty*> StartProperty(Instant t, Zone zone, const PatientZone& pz) {
  date::local_seconds local = date::zoned_seconds(zone, t).get_local_time();
  date::local_info info = zone->get_info(local);
  if (info.result != date::local_info::unique) return icalproperty_new_dtstart(UtcTime(t));
  icaltimetype tt = FromLocal(local);
  tt = icaltime_set_timezone(&tt, pz.zone.get());
  if (static_cast<std::int64_t>(icaltime_as_timet_with_zone(tt, pz.zone.get())) != Seconds(t)) {
    return MakeError("libical's VTIMEZONE for " + pz.tzid + " disagrees with the tzdata at " +
                     FormatInstant(t, zone));
  }
  icalproperty* p = icalproperty_new_dtstart(tt);
  icalproperty_add_parameter(p, icalparameter_new_tzid(pz.tzid.c_str()));
  return p;
}

icalproperty* XProperty(const char* name, const std::string& value) {
  icalproperty* p = icalproperty_new_x(value.c_str());
  icalproperty_set_x_name(p, name);
  return p;
}

icalcomponent* DisplayAlarm(int trigger_seconds, const std::string& text) {
  icalcomponent* alarm = icalcomponent_new(ICAL_VALARM_COMPONENT);
  icalcomponent_add_property(alarm, icalproperty_new_action(ICAL_ACTION_DISPLAY));
  icaltriggertype trigger = icaltriggertype_from_int(trigger_seconds);
  icalcomponent_add_property(alarm, icalproperty_new_trigger(trigger));
  icalcomponent_add_property(alarm, icalproperty_new_description(text.c_str()));
  return alarm;
}

// The event skeleton every component shares.
icalcomponent* NewEvent(const std::string& uid, const CalendarOptions& options, icalproperty* start,
                        int duration_minutes, const std::string& summary, const std::string& description) {
  icalcomponent* event = icalcomponent_new(ICAL_VEVENT_COMPONENT);
  icalcomponent_add_property(event, icalproperty_new_uid(uid.c_str()));
  icalcomponent_add_property(event, icalproperty_new_dtstamp(UtcTime(options.now)));
  icalcomponent_add_property(event, icalproperty_new_sequence(options.sequence));
  icalcomponent_add_property(event, start);
  icalcomponent_add_property(event, icalproperty_new_duration(icaldurationtype_from_int(duration_minutes * 60)));
  icalcomponent_add_property(event, icalproperty_new_summary(summary.c_str()));
  icalcomponent_add_property(event, icalproperty_new_description(description.c_str()));
  icalcomponent_add_property(event, icalproperty_new_class(ICAL_CLASS_PRIVATE));
  icalcomponent_add_property(event, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
  icalcomponent_add_property(event, icalproperty_new_categories("Aftercare"));
  return event;
}

std::string Uid(const CalendarOptions& options, const std::string& key) {
  return options.procedure_id + "." + key + "@" + kUidDomain;
}

// "12 hours", "1 day", "4 weeks".
std::string OffsetWords(const Offset& offset) {
  const char* unit = "hour";
  switch (offset.unit) {
    case OffsetUnit::kMinutes: unit = "minute"; break;
    case OffsetUnit::kHours: unit = "hour"; break;
    case OffsetUnit::kDays: unit = "day"; break;
    case OffsetUnit::kWeeks: unit = "week"; break;
  }
  return std::to_string(offset.amount) + " " + unit + (offset.amount == 1 ? "" : "s");
}

// The offset from the protocol that puts a verdict change at `at`: the end of a rule of the segment before, or
// the start of a rule of the segment that begins. Empty if none matches (then the text gives no span).
std::string ChangeOffsetWords(const Plan& plan, const Segment* before, const Segment& after, Instant at) {
  for (const Rule* r : before ? before->rules : std::vector<const Rule*>{}) {
    if (r->until && plan.At(*r->until) == at) return OffsetWords(*r->until);
  }
  for (const Rule* r : after.rules) {
    if (plan.At(r->from) == at) return OffsetWords(r->from);
  }
  return {};
}

std::string VerdictPhrase(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAvoid: return "avoid";
    case Verdict::kCaution: return "with caution";
    case Verdict::kRecommended: return "recommended";
    case Verdict::kAllowed: return "allowed";
    case Verdict::kNotCovered: return "not covered by the sheet, ask your clinic";
  }
  return "";
}

void AppendSourceIds(const std::vector<const Rule*>& rules, std::vector<std::string>* ids) {
  for (const Rule* r : rules) ids->insert(ids->end(), r->sources.begin(), r->sources.end());
}

// The sheet's sentences, verbatim, one per line in quotes, without repeats.
std::string Quotes(const Protocol& protocol, const std::vector<std::string>& ids) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) continue;
    if (const Sentence* s = protocol.FindSentence(id)) out += "\"" + s->text + "\"\n";
  }
  return out;
}

std::vector<std::string> Notes(const std::vector<const Rule*>& rules) {
  std::vector<std::string> notes;
  for (const Rule* r : rules) {
    if (!r->note.empty() && std::find(notes.begin(), notes.end(), r->note) == notes.end()) notes.push_back(r->note);
  }
  return notes;
}

constexpr const char* kFooter =
    "\nThis calendar repeats what your clinic's aftercare sheet says; if anything worries you, call your clinic.";

struct Reminder {
  Instant first;
  int count = 0;
  Instant sun_avoidance_ends;
  const Segment* sunscreen = nullptr;  // the segment in force at the first reminder
  const Segment* sun = nullptr;        // the avoidance segment
};

// Mornings at `reminder_time` local from the first one on which sunscreen is no longer to be avoided until sun
// avoidance ends. Empty if the protocol has neither activity or never avoids the sun for a bounded time.
std::optional<Reminder> PlanReminder(const Plan& plan, std::chrono::minutes reminder_time) {
  const ActivityTimeline* sunscreen = plan.FindTimeline(kReminderActivity);
  const ActivityTimeline* sun = plan.FindTimeline(kReminderWhileAvoiding);
  if (!sunscreen || !sun || sun->segments.empty() || sun->segments.front().verdict != Verdict::kAvoid) return {};
  std::optional<Instant> avoid_end;
  for (const auto& s : sun->segments) {
    if (s.verdict != Verdict::kAvoid) break;
    avoid_end = s.until;
  }
  if (!avoid_end) return {};
  std::optional<Instant> allowed_from;
  for (const auto& s : sunscreen->segments) {
    if (s.verdict != Verdict::kAvoid && s.verdict != Verdict::kNotCovered) {
      allowed_from = s.from;
      break;
    }
  }
  if (!allowed_from) return {};

  Zone zone = plan.procedure().zone;
  auto local_at = [&](date::local_days day) {
    return date::zoned_seconds(zone, day + reminder_time, date::choose::latest).get_sys_time();
  };
  date::local_days day = date::floor<date::days>(date::zoned_seconds(zone, *allowed_from).get_local_time());
  while (local_at(day) < *allowed_from) day += date::days(1);
  Reminder out;
  out.first = local_at(day);
  out.sun_avoidance_ends = *avoid_end;
  for (date::local_days d = day; local_at(d) < *avoid_end; d += date::days(1)) ++out.count;
  if (out.count == 0) return {};
  out.sunscreen = AnswerAt(*sunscreen, out.first).segment;
  out.sun = &sun->segments.front();
  return out;
}

Result<ComponentPtr> BuildCalendar(const Plan& plan, const CalendarOptions& options) {
  const Protocol& protocol = plan.protocol();
  const Procedure& procedure = plan.procedure();
  Zone zone = procedure.zone;
  // The VTIMEZONE covers a year before the procedure on, so clients showing it in another zone still agree.
  auto zone_result = KeptZone(zone, procedure.end - date::days(366));
  if (!zone_result) return zone_result.error();
  const PatientZone& pz = **zone_result;

  ComponentPtr calendar(icalcomponent_new(ICAL_VCALENDAR_COMPONENT));
  icalcomponent* cal = calendar.get();
  icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
  icalcomponent_add_property(cal, icalproperty_new_prodid(kProductId));
  icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
  icalcomponent_add_property(cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
  icalcomponent_add_property(cal, XProperty("X-WR-CALNAME", options.calendar_name));
  icalcomponent_add_property(cal, XProperty("X-WR-TIMEZONE", pz.tzid));
  icalcomponent_add_component(cal, icalcomponent_new_clone(icaltimezone_get_component(pz.zone.get())));

  std::string ended = FormatLocalShort(procedure.end, zone) + " " + ZoneAbbreviation(procedure.end, zone);

  // One event per change of verdict.
  std::set<std::string> keys;
  for (const Milestone& m : plan.Milestones()) {
    const ActivityTimeline& timeline = *m.timeline;
    const Segment& segment = *m.segment;
    const Segment* before = &segment == &timeline.segments.front() ? nullptr : &segment - 1;
    std::string key = timeline.activity->id + "." + std::string(VerdictName(segment.verdict));
    for (int n = 2; !keys.insert(key).second; ++n) {
      key = timeline.activity->id + "." + std::string(VerdictName(segment.verdict)) + "." + std::to_string(n);
    }
    std::string span = ChangeOffsetWords(plan, before, segment, m.at);
    std::string summary = "Aftercare: " + timeline.activity->label + " - " + VerdictPhrase(segment.verdict) +
                          " from now";
    std::string description = timeline.activity->label + ": " + VerdictPhrase(segment.verdict) + " from now" +
                              (span.empty() ? "" : ", " + span + " after your procedure ended (" + ended + ")") +
                              ".\n";
    if (before) description += "Until now: " + std::string(VerdictPhrase(before->verdict)) + ".\n";
    for (const auto& note : Notes(segment.rules)) description += note + ".\n";
    std::vector<std::string> ids;
    if (before) AppendSourceIds(before->rules, &ids);
    AppendSourceIds(segment.rules, &ids);
    std::string quotes = Quotes(protocol, ids);
    if (!quotes.empty()) description += "\nYour aftercare sheet says:\n" + quotes;
    description += kFooter;
    auto start = StartProperty(m.at, zone, pz);
    if (!start) return start.error();
    icalcomponent* event = NewEvent(Uid(options, key), options, *start, kMilestoneMinutes, summary, description);
    icalcomponent_add_property(event, XProperty("X-AFTERCARE-ACTIVITY", timeline.activity->id));
    icalcomponent_add_property(event, XProperty("X-AFTERCARE-VERDICT", std::string(VerdictName(segment.verdict))));
    icalcomponent_add_component(cal, event);
  }

  // The earliest next treatment of the series, with an alarm a week ahead to book it.
  if (protocol.series) {
    const Series& series = *protocol.series;
    Instant at = plan.At(series.min_interval);
    std::string description = "Your next treatment can be as early as today, " + OffsetWords(series.min_interval) +
                              " after your procedure ended (" + ended + ").\n";
    if (series.max_count > 1) {
      description += "For best results the sheet recommends a series of " + std::to_string(series.min_count) +
                     (series.max_count != series.min_count ? "-" + std::to_string(series.max_count) : "") +
                     " treatments.\n";
    }
    std::string quotes = Quotes(protocol, series.sources);
    if (!quotes.empty()) description += "\nYour aftercare sheet says:\n" + quotes;
    description += kFooter;
    auto start = StartProperty(at, zone, pz);
    if (!start) return start.error();
    icalcomponent* event = NewEvent(Uid(options, "next_treatment"), options, *start, kMilestoneMinutes,
                                    "Aftercare: earliest next treatment", description);
    icalcomponent_add_property(event, XProperty("X-AFTERCARE-ACTIVITY", "next_treatment"));
    icalcomponent_add_component(
        event, DisplayAlarm(-kBookAheadDays * 86400,
                            "Book your next treatment: it can be from " + FormatLocalShort(at, zone) + "."));
    icalcomponent_add_component(cal, event);
  }

  // The daily morning sunscreen reminder while sun avoidance lasts.
  if (auto reminder = PlanReminder(plan, options.reminder_time)) {
    const Activity* activity = protocol.FindActivity(kReminderActivity);
    std::string until = FormatLocalShort(reminder->sun_avoidance_ends, zone) + " " +
                        ZoneAbbreviation(reminder->sun_avoidance_ends, zone);
    std::string description = "Every morning until sun avoidance ends (" + until + "): " + activity->label +
                              " before you go out, and stay out of the sun.\n";
    for (const auto& note : Notes(reminder->sunscreen->rules)) description += note + ".\n";
    std::vector<std::string> ids;
    AppendSourceIds(reminder->sunscreen->rules, &ids);
    AppendSourceIds(reminder->sun->rules, &ids);
    description += "\nYour aftercare sheet says:\n" + Quotes(protocol, ids) + kFooter;
    // Every occurrence must be a wall-clock time libical and the tzdata agree on.
    for (int i = 0; i < reminder->count; ++i) {
      Instant t = date::zoned_seconds(zone,
                                      date::floor<date::days>(
                                          date::zoned_seconds(zone, reminder->first).get_local_time()) +
                                          date::days(i) + options.reminder_time,
                                      date::choose::latest)
                      .get_sys_time();
      auto check = StartProperty(t, zone, pz);
      if (!check) return check.error();
      icalproperty_free(*check);
    }
    auto start = StartProperty(reminder->first, zone, pz);
    if (!start) return start.error();
    icalcomponent* event = NewEvent(Uid(options, std::string(kReminderActivity) + ".daily"), options, *start,
                                    kReminderMinutes, "Aftercare: " + activity->label + " (SPF 30+)", description);
    icalrecurrencetype rule;
    icalrecurrencetype_clear(&rule);
    rule.freq = ICAL_DAILY_RECURRENCE;
    rule.count = reminder->count;
    icalcomponent_add_property(event, icalproperty_new_rrule(rule));
    icalcomponent_add_property(event, XProperty("X-AFTERCARE-ACTIVITY", std::string(kReminderActivity)));
    icalcomponent_add_component(event, DisplayAlarm(0, activity->label + " (SPF 30 or above) and stay out of the sun."));
    icalcomponent_add_component(cal, event);
  }
  return calendar;
}

}  // namespace

std::string DeriveProcedureId(const Procedure& procedure) {
  std::vector<std::string> areas;
  for (const auto& a : procedure.areas) areas.push_back(NormalizeWords(a));
  std::sort(areas.begin(), areas.end());
  areas.erase(std::unique(areas.begin(), areas.end()), areas.end());
  std::string key = std::to_string(Seconds(procedure.end)) + "|" + (procedure.zone ? procedure.zone->name() : "");
  for (const auto& a : areas) key += "|" + a;
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return "p-" + Hex64(hash);
}

Result<bool> CheckProcedureId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') ok = false;
  }
  if (!ok) {
    return MakeError("invalid procedure id '" + std::string(id) +
                     "': use 1-64 letters, digits, '.', '_' or '-'");
  }
  return true;
}

Result<std::string> CalendarIcs(const Plan& plan, const CalendarOptions& options) {
  if (auto check = CheckProcedureId(options.procedure_id); !check) return check.error();
  if (options.sequence < 0) return MakeError("the SEQUENCE of a calendar cannot be negative");
  if (options.reminder_time < std::chrono::minutes(0) || options.reminder_time >= std::chrono::hours(24)) {
    return MakeError("the reminder time must be a time of day between 00:00 and 23:59");
  }
  std::lock_guard<std::mutex> lock(LibicalMutex());
  try {
    auto calendar = BuildCalendar(plan, options);
    if (!calendar) return calendar.error();
    char* text = icalcomponent_as_ical_string_r(calendar->get());
    if (!text) return MakeError("libical could not write the calendar");
    std::string out(text);
    std::free(text);
    return out;
  } catch (const std::exception& e) {
    return MakeError(std::string("could not build the calendar: ") + e.what());
  }
}

}  // namespace aftercare
