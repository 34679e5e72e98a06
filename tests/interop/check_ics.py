#!/usr/bin/python3
"""Parses `aftercare ics` output with python3-icalendar (Debian) and checks every event against the engine.

A second parser independent of libical and ical.js: icalendar reads a TZID by its IANA name (through pytz), not
through the file's VTIMEZONE, so an event's instant here comes from Python's own zone data. The daily reminder's
RRULE is expanded with dateutil. Usage: /usr/bin/python3 check_ics.py path/to/aftercare
"""
import datetime as dt
import json
import os
import subprocess
import sys

import icalendar
import pytz
from dateutil import rrule

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = "2026-01-15T09:30:00Z"
UTC = dt.timezone.utc

checks = 0
failures = 0


def check(condition, message):
    global checks, failures
    checks += 1
    if not condition:
        failures += 1
        print("FAIL: " + message, file=sys.stderr)


def run(binary, args):
    return subprocess.run([binary] + args, check=True, capture_output=True, text=True).stdout


def procedure_args(s):
    args = ["--procedure-end", s["end"], "--tz", s["tz"]]
    if s.get("areas"):
        args += ["--areas", s["areas"]]
    return args


def iso(text):
    """'2026-11-28T14:00-05:00' -> aware datetime."""
    return dt.datetime.fromisoformat(text)


def instant(value):
    """A DTSTART/DTSTAMP value as an aware UTC datetime; a naive (floating) one is a failure."""
    if value.tzinfo is None:
        raise ValueError("floating time %s" % value)
    return value.astimezone(UTC)


def local_to_instant(zone, naive):
    """A wall-clock time in `zone`: where it occurs twice the later, where not at all the end of the gap."""
    try:
        return zone.localize(naive, is_dst=None).astimezone(UTC)
    except pytz.AmbiguousTimeError:
        return zone.localize(naive, is_dst=False).astimezone(UTC)
    except pytz.NonExistentTimeError:
        return _gap_end(zone, naive)


def _gap_end(zone, naive):
    """The instant a DST gap containing the wall-clock time `naive` ends."""
    before = zone.localize(naive - dt.timedelta(hours=3), is_dst=None).astimezone(UTC)
    t = before
    offset = before.astimezone(zone).utcoffset()
    while t.astimezone(zone).utcoffset() == offset:
        t += dt.timedelta(minutes=1)
    return t


def check_scenario(binary, s):
    name = s["name"]
    args = procedure_args(s)
    plan = json.loads(run(binary, ["plan"] + args + ["--json"]))
    text = run(binary, ["ics"] + args + ["--now", NOW, "--sequence", "3"])
    cal = icalendar.Calendar.from_ical(text)
    zone = pytz.timezone(s["tz"])

    check(cal.name == "VCALENDAR", name + ": a VCALENDAR")
    check(str(cal.get("VERSION")) == "2.0", name + ": VERSION 2.0")
    check(bool(cal.get("PRODID")), name + ": PRODID")
    tzs = [c for c in cal.walk("VTIMEZONE")]
    check(len(tzs) == 1 and str(tzs[0].get("TZID")) == s["tz"], name + ": one VTIMEZONE named " + s["tz"])

    events = list(cal.walk("VEVENT"))
    uids = [str(e.get("UID")) for e in events]
    check(len(set(uids)) == len(uids), name + ": unique UIDs")
    now = dt.datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    for e in events:
        uid = str(e.get("UID"))
        check(instant(e.decoded("DTSTAMP")) == now, name + ": " + uid + ": DTSTAMP is --now")
        check(int(e.get("SEQUENCE")) == 3, name + ": " + uid + ": SEQUENCE 3")
        check(bool(e.get("DURATION")) and not e.get("DTEND"), name + ": " + uid + ": DURATION, no DTEND")
        for alarm in e.walk("VALARM"):
            check(str(alarm.get("ACTION")) == "DISPLAY" and alarm.get("TRIGGER") is not None and
                  bool(alarm.get("DESCRIPTION")), name + ": " + uid + ": VALARM complete")

    # Each milestone of the engine: one event at the same instant, quoting the sheet.
    milestone_events = [e for e in events if e.get("X-AFTERCARE-VERDICT")]
    check(len(milestone_events) == len(plan["milestones"]),
          "%s: %d milestone events for %d milestones" % (name, len(milestone_events), len(plan["milestones"])))
    unmatched = list(milestone_events)
    for m in plan["milestones"]:
        match = [e for e in unmatched if str(e.get("X-AFTERCARE-ACTIVITY")) == m["activity"] and
                 str(e.get("X-AFTERCARE-VERDICT")) == m["verdict"]]
        check(bool(match), "%s: an event for %s -> %s" % (name, m["activity"], m["verdict"]))
        if not match:
            continue
        event = match[0]
        unmatched.remove(event)
        at = instant(event.decoded("DTSTART"))
        check(at == iso(m["at"]).astimezone(UTC),
              "%s: %s event at %s, engine says %s" % (name, m["activity"], at.isoformat(), m["at"]))
        description = str(event.get("DESCRIPTION"))
        activity = next(a for a in plan["activities"] if a["activity"] == m["activity"])
        segment = next(x for x in activity["segments"] if iso(x["from"]) == iso(m["at"]))
        for source in segment["sources"]:
            check(source["text"] in description, "%s: %s quotes %r" % (name, m["activity"], source["text"]))

    # The earliest next treatment: 28 calendar days later at the same wall-clock time.
    nexts = [e for e in events if str(e.get("X-AFTERCARE-ACTIVITY")) == "next_treatment"]
    check(len(nexts) == 1, name + ": one next-treatment event")
    end_local = iso(plan["procedure"]["end"]).replace(tzinfo=None)
    if nexts:
        expected = local_to_instant(zone, end_local + dt.timedelta(days=28))
        at = instant(nexts[0].decoded("DTSTART"))
        check(at == expected, "%s: next treatment at %s, expected %s" % (name, at, expected))

    # The daily reminder, expanded by dateutil in the patient's zone.
    dailies = [e for e in events if e.get("RRULE")]
    check(len(dailies) == 1, name + ": one recurring event")
    if dailies:
        daily = dailies[0]
        start = daily.decoded("DTSTART")
        check(start.tzinfo is not None and start.utcoffset() is not None, name + ": reminder DTSTART has a zone")
        local_start = start.astimezone(zone).replace(tzinfo=None)
        rule = rrule.rrulestr(daily.get("RRULE").to_ical().decode(), dtstart=local_start)
        got = [local_to_instant(zone, t) for t in rule]
        sunscreen = next(a for a in plan["activities"] if a["activity"] == "sunscreen")
        sun = next(a for a in plan["activities"] if a["activity"] == "sun_exposure")
        allowed = iso(next(x for x in sunscreen["segments"] if x["verdict"] != "avoid")["from"])
        sun_end = iso(sun["segments"][0]["until"])
        expected = []
        for i in range(20):
            t = local_to_instant(zone, dt.datetime.combine(end_local.date() + dt.timedelta(days=i), dt.time(8, 0)))
            if allowed <= t < sun_end:
                expected.append(t)
        check(got == expected, "%s: reminders %s, expected %s" % (name, [str(t) for t in got],
                                                                     [str(t) for t in expected]))
        check(all(t.astimezone(zone).strftime("%H:%M") == "08:00" for t in got), name + ": reminders at 08:00")

    # Stable UIDs.
    again = icalendar.Calendar.from_ical(run(binary, ["ics"] + args + ["--now", "2026-02-01T00:00:00Z"]))
    check(sorted(str(e.get("UID")) for e in again.walk("VEVENT")) == sorted(uids), name + ": UIDs are stable")


def main():
    if len(sys.argv) != 2:
        print("usage: check_ics.py path/to/aftercare", file=sys.stderr)
        return 2
    with open(os.path.join(HERE, "scenarios.json")) as f:
        scenarios = json.load(f)
    for s in scenarios:
        check_scenario(sys.argv[1], s)
    print("python3-icalendar %s: %d passed, %d failed" % (icalendar.__version__, checks - failures, failures))
    return 0 if failures == 0 and checks > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
