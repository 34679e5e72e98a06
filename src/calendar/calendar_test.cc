#include "aftercare/calendar.h"

#include <libical/ical.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace aftercare {
namespace {

using namespace std::chrono_literals;

struct ComponentFree {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using ComponentPtr = std::unique_ptr<icalcomponent, ComponentFree>;

Zone MustZone(const char* name) { return *FindZone(name); }

Plan MustPlan(const char* end, const char* zone_name, std::vector<std::string> areas = {}) {
  Zone zone = MustZone(zone_name);
  Procedure procedure{*ParseTime(end, zone), zone, std::move(areas)};
  auto plan = Plan::Compile(BuiltinProtocol(), procedure);
  EXPECT_TRUE(plan.ok()) << (plan ? "" : plan.error().message);
  return std::move(plan).value();
}

CalendarOptions Options(const Plan& plan) {
  CalendarOptions options;
  options.procedure_id = DeriveProcedureId(plan.procedure());
  options.now = *ParseTime("2026-01-15T09:30:00Z", plan.procedure().zone);
  options.sequence = 2;
  return options;
}

std::string MustIcs(const Plan& plan, const CalendarOptions& options) {
  auto ics = CalendarIcs(plan, options);
  EXPECT_TRUE(ics.ok()) << (ics ? "" : ics.error().message);
  return ics ? *ics : std::string();
}

ComponentPtr Parse(const std::string& text) {
  ComponentPtr c(icalparser_parse_string(text.c_str()));
  EXPECT_NE(c, nullptr);
  return c;
}

std::vector<icalcomponent*> Events(icalcomponent* calendar) {
  std::vector<icalcomponent*> out;
  for (icalcomponent* e = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
    out.push_back(e);
  }
  return out;
}

std::string XValue(icalcomponent* event, const char* name) {
  for (icalproperty* p = icalcomponent_get_first_property(event, ICAL_X_PROPERTY); p;
       p = icalcomponent_get_next_property(event, ICAL_X_PROPERTY)) {
    if (std::string(icalproperty_get_x_name(p)) == name) return icalproperty_get_x(p);
  }
  return "";
}

// An event's DTSTART as an instant, read through the file's own VTIMEZONE.
Instant StartInstant(icalcomponent* calendar, icalcomponent* event) {
  icalproperty* p = icalcomponent_get_first_property(event, ICAL_DTSTART_PROPERTY);
  icaltimetype t = icalproperty_get_dtstart(p);
  icaltimezone* zone = nullptr;
  if (icalparameter* tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER)) {
    zone = icalcomponent_get_timezone(calendar, icalparameter_get_tzid(tzid));
    EXPECT_NE(zone, nullptr);
  } else {
    EXPECT_TRUE(icaltime_is_utc(t));
    zone = icaltimezone_get_utc_timezone();
  }
  return Instant(std::chrono::seconds(icaltime_as_timet_with_zone(t, zone)));
}

TEST(Calendar, OneEventPerMilestoneAtTheEngineInstantPlusNextTreatmentAndReminder) {
  Plan plan = MustPlan("2026-11-28T14:00", "America/New_York");
  ComponentPtr calendar = Parse(MustIcs(plan, Options(plan)));
  auto milestones = plan.Milestones();
  auto events = Events(calendar.get());
  ASSERT_EQ(events.size(), milestones.size() + 2);
  for (std::size_t i = 0; i < milestones.size(); ++i) {
    EXPECT_EQ(XValue(events[i], "X-AFTERCARE-ACTIVITY"), milestones[i].timeline->activity->id);
    EXPECT_EQ(XValue(events[i], "X-AFTERCARE-VERDICT"), VerdictName(milestones[i].segment->verdict));
    EXPECT_EQ(StartInstant(calendar.get(), events[i]), milestones[i].at) << i;
  }
}

TEST(Calendar, TheFaithfulReadingsOfTheSheet) {
  Plan plan = MustPlan("2026-11-28T14:00", "America/New_York");
  Instant end = plan.procedure().end;
  ComponentPtr calendar = Parse(MustIcs(plan, Options(plan)));
  std::map<std::string, Instant> at;
  std::map<std::string, std::string> description;
  for (icalcomponent* e : Events(calendar.get())) {
    std::string key = XValue(e, "X-AFTERCARE-ACTIVITY") + "/" + XValue(e, "X-AFTERCARE-VERDICT");
    if (icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY)) key += "daily";
    at[key] = StartInstant(calendar.get(), e);
    description[key] = icalcomponent_get_description(e);
  }
  EXPECT_EQ(at["sunscreen/recommended"], end + 12h);
  EXPECT_EQ(at["makeup/allowed"], end + 24h);
  EXPECT_EQ(at["strenuous_exercise/allowed"], end + 24h);
  EXPECT_EQ(at["regular_skincare/allowed"], end + 48h);
  EXPECT_EQ(at["sun_exposure/caution"], end + date::days(14));  // no DST change in this window
  EXPECT_EQ(at["next_treatment/"], end + date::days(28));
  EXPECT_NE(description["makeup/allowed"].find("May use makeup after 24 hours"), std::string::npos);
  EXPECT_NE(description["sunscreen/recommended"].find("(Do not apply for the 1st 12 hours after procedure.)"),
            std::string::npos);
  EXPECT_NE(description["sun_exposure/caution"].find("Avoid sun exposure for 14 days"), std::string::npos);
  EXPECT_NE(description["next_treatment/"].find("as early as 4 weeks"), std::string::npos);
}

TEST(Calendar, DailySunscreenReminderWhileSunAvoidanceLasts) {
  Plan plan = MustPlan("2026-11-28T14:00", "America/New_York");
  ComponentPtr calendar = Parse(MustIcs(plan, Options(plan)));
  icalcomponent* daily = nullptr;
  for (icalcomponent* e : Events(calendar.get())) {
    if (icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY)) daily = e;
  }
  ASSERT_NE(daily, nullptr);
  // 12 h after 14:00 is 02:00 on the 29th: the first morning is the 29th at 08:00; sun avoidance ends on 12 Dec at
  // 14:00, so the last is 12 Dec at 08:00: 14 mornings.
  icalrecurrencetype rule = icalproperty_get_rrule(icalcomponent_get_first_property(daily, ICAL_RRULE_PROPERTY));
  EXPECT_EQ(rule.freq, ICAL_DAILY_RECURRENCE);
  EXPECT_EQ(rule.count, 14);
  EXPECT_EQ(StartInstant(calendar.get(), daily), *ParseTime("2026-11-29T08:00", plan.procedure().zone));
  EXPECT_NE(icalcomponent_get_first_component(daily, ICAL_VALARM_COMPONENT), nullptr);
}

TEST(Calendar, DeterministicWithStableUidsDtstampAndSequence) {
  Plan plan = MustPlan("2026-11-28T14:00", "America/New_York", {"face"});
  CalendarOptions options = Options(plan);
  std::string first = MustIcs(plan, options);
  EXPECT_EQ(first, MustIcs(plan, options));
  EXPECT_NE(first.find("\r\n"), std::string::npos);

  CalendarOptions later = options;
  later.now += 24h;
  later.sequence = 3;
  ComponentPtr a = Parse(first);
  ComponentPtr b = Parse(MustIcs(plan, later));
  std::set<std::string> uids_a, uids_b;
  for (icalcomponent* e : Events(a.get())) {
    uids_a.insert(icalcomponent_get_uid(e));
    EXPECT_EQ(icalproperty_get_sequence(icalcomponent_get_first_property(e, ICAL_SEQUENCE_PROPERTY)), 2);
    icaltimetype stamp = icalcomponent_get_dtstamp(e);
    EXPECT_TRUE(icaltime_is_utc(stamp));
    EXPECT_EQ(icaltime_as_timet(stamp), options.now.time_since_epoch().count());
  }
  for (icalcomponent* e : Events(b.get())) uids_b.insert(icalcomponent_get_uid(e));
  EXPECT_EQ(uids_a.size(), Events(a.get()).size());
  EXPECT_EQ(uids_a, uids_b);
  for (const auto& uid : uids_a) EXPECT_EQ(uid.rfind(options.procedure_id + ".", 0), 0u) << uid;

  CalendarOptions other = options;
  other.procedure_id = "clinic-7.procedure-1234";
  ComponentPtr c = Parse(MustIcs(plan, other));
  for (icalcomponent* e : Events(c.get())) EXPECT_EQ(uids_a.count(icalcomponent_get_uid(e)), 0u);
}

TEST(Calendar, ProcedureIdDerivedFromEndZoneAndAreas) {
  Zone ny = MustZone("America/New_York");
  Procedure p{*ParseTime("2026-11-28T14:00", ny), ny, {"face", "neck"}};
  Procedure same_areas_reordered{p.end, ny, {"Neck", "face"}};
  Procedure other_end{p.end + 1min, ny, {"face", "neck"}};
  Procedure other_areas{p.end, ny, {"face"}};
  EXPECT_EQ(DeriveProcedureId(p), DeriveProcedureId(same_areas_reordered));
  EXPECT_NE(DeriveProcedureId(p), DeriveProcedureId(other_end));
  EXPECT_NE(DeriveProcedureId(p), DeriveProcedureId(other_areas));
  EXPECT_TRUE(CheckProcedureId(DeriveProcedureId(p)).ok());
}

TEST(Calendar, BadOptionsAreErrors) {
  Plan plan = MustPlan("2026-11-28T14:00", "America/New_York");
  CalendarOptions options = Options(plan);
  options.procedure_id = "has space";
  EXPECT_FALSE(CalendarIcs(plan, options).ok());
  options.procedure_id = "";
  EXPECT_FALSE(CalendarIcs(plan, options).ok());
  options.procedure_id = std::string(65, 'a');
  EXPECT_FALSE(CalendarIcs(plan, options).ok());
  options = Options(plan);
  options.sequence = -1;
  EXPECT_FALSE(CalendarIcs(plan, options).ok());
  options = Options(plan);
  options.reminder_time = 24h;
  EXPECT_FALSE(CalendarIcs(plan, options).ok());
}

// 12 h after 14:00 EDT on 31 Oct 2026 is 01:00 EST on 1 Nov, the second 01:00 of that night: as local time it
// would read as the first (RFC 5545), so it is written in UTC; the rest stay local with TZID.
TEST(Calendar, AmbiguousLocalTimeWrittenInUtcAcrossTheFallBack) {
  Plan plan = MustPlan("2026-10-31T14:00", "America/New_York");
  std::string text = MustIcs(plan, Options(plan));
  EXPECT_NE(text.find("DTSTART:20261101T060000Z"), std::string::npos);
  EXPECT_NE(text.find("DTSTART;TZID=America/New_York:20261101T130000"), std::string::npos);  // 24 h, now EST
  EXPECT_NE(text.find("DTSTART;TZID=America/New_York:20261114T140000"), std::string::npos);  // 14 days
  ComponentPtr calendar = Parse(text);
  auto milestones = plan.Milestones();
  auto events = Events(calendar.get());
  for (std::size_t i = 0; i < milestones.size(); ++i) {
    EXPECT_EQ(StartInstant(calendar.get(), events[i]), milestones[i].at) << i;
  }
}

// libical's VTIMEZONE, generated from the system tzdata, gives the same offset as the engine's tzdata on both
// sides of every transition of the next ten years, for every zone of the tzdb.
TEST(Calendar, VtimezoneMatchesTzdataForEveryZone) {
  int zones = 0;
  for (const auto& tz : date::get_tzdb().zones) {
    Zone zone = &tz;
    Procedure procedure{Instant(date::sys_days(date::year(2026) / 3 / 1)) + 12h, zone, {}};
    auto plan = Plan::Compile(BuiltinProtocol(), procedure);
    ASSERT_TRUE(plan.ok());
    CalendarOptions options = Options(*plan);
    auto ics = CalendarIcs(*plan, options);
    ASSERT_TRUE(ics.ok()) << tz.name() << ": " << ics.error().message;
    ComponentPtr calendar = Parse(*ics);
    icalcomponent* vtz = icalcomponent_get_first_component(calendar.get(), ICAL_VTIMEZONE_COMPONENT);
    ASSERT_NE(vtz, nullptr) << tz.name();
    icaltimezone* ical_zone = icalcomponent_get_timezone(calendar.get(), tz.name().c_str());
    ASSERT_NE(ical_zone, nullptr) << tz.name();
    auto offset_at = [&](Instant t) {
      icaltimetype utc = icaltime_from_timet_with_zone(t.time_since_epoch().count(), 0,
                                                      icaltimezone_get_utc_timezone());
      int is_daylight = 0;
      return icaltimezone_get_utc_offset_of_utc_time(ical_zone, &utc, &is_daylight);
    };
    Instant t = procedure.end;
    Instant stop = Instant(date::sys_days(date::year(2036) / 1 / 1));
    int checked = 0;
    while (t < stop) {
      date::sys_info info = tz.get_info(t);
      EXPECT_EQ(offset_at(t), info.offset.count()) << tz.name() << " at " << FormatInstant(t, zone);
      if (info.end >= stop) break;
      t = info.end;
      EXPECT_EQ(offset_at(t - 1s), info.offset.count()) << tz.name() << " before " << FormatInstant(t, zone);
      ++checked;
    }
    ++zones;
    (void)checked;
  }
  EXPECT_GT(zones, 300);
}

TEST(Calendar, FixedOffsetZones) {
  for (const char* name : {"UTC", "Etc/GMT+5", "Asia/Kathmandu"}) {
    Plan plan = MustPlan("2026-11-28T14:00", name);
    ComponentPtr calendar = Parse(MustIcs(plan, Options(plan)));
    auto milestones = plan.Milestones();
    auto events = Events(calendar.get());
    for (std::size_t i = 0; i < milestones.size(); ++i) {
      EXPECT_EQ(StartInstant(calendar.get(), events[i]), milestones[i].at) << name << " " << i;
    }
  }
}

}  // namespace
}  // namespace aftercare
