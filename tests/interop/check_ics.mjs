// Parses `aftercare ics` output with ical.js (Thunderbird's parser) and checks every event against the engine's
// `plan --json`, the VTIMEZONE against the ICU time zone data Node ships, and the daily reminder's expansion.
// Usage: node check_ics.mjs path/to/aftercare
import ICAL from 'ical.js';

import {
  check, finish, icuOffsetMinutes, isoToEpoch, kNow, localToEpoch, procedureArgs, run, scenarios,
} from './common.mjs';

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node check_ics.mjs path/to/aftercare');
  process.exit(2);
}

const kHour = 3600e3;
const kDay = 24 * kHour;

function parse(text) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  // Register the file's own VTIMEZONE so TZID times are read through it (not through any zone data of ical.js).
  ICAL.TimezoneService.reset();
  for (const vtz of calendar.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(vtz);
  return calendar;
}

function epochOf(time) {
  return time.toUnixTime() * 1000;
}

// "2026-11-28T14:00-05:00" -> [2026, 11, 28, 14, 0], the wall-clock time as written.
function wallClock(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
  return m.slice(1).map(Number);
}

function addDays([y, mo, d, h, mi], days) {
  const t = new Date(Date.UTC(y, mo - 1, d + days));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), h, mi];
}

function localHourMinute(zone, ms) {
  const local = new Date(ms + icuOffsetMinutes(zone, ms) * 60000);
  return [local.getUTCHours(), local.getUTCMinutes()];
}

function checkRawText(name, text) {
  const lines = text.split('\r\n');
  check(lines[lines.length - 1] === '', `${name}: the file ends with CRLF`);
  check(!/[^\r]\n/.test(text), `${name}: every line ends with CRLF`);
  for (const line of lines) {
    check(Buffer.byteLength(line, 'utf8') <= 75, `${name}: line longer than 75 octets: ${line}`);
  }
}

function checkVtimezone(name, scenario, calendar, endMs) {
  const vtzs = calendar.getAllSubcomponents('vtimezone');
  check(vtzs.length === 1, `${name}: exactly one VTIMEZONE`);
  const tzid = vtzs[0].getFirstPropertyValue('tzid');
  check(tzid === scenario.tz, `${name}: VTIMEZONE TZID is the IANA name (${tzid})`);
  const zone = new ICAL.Timezone(vtzs[0]);
  // Every 20 minutes from a day before the procedure to 90 days after: the wall-clock time ICU gives for the instant,
  // read back through the VTIMEZONE by ical.js, is that instant again. (ical.js converts local to UTC exactly; its
  // UTC-to-local conversion is approximate near a change, so that direction is not used.) A wall-clock time that
  // occurs twice may be read as either: RFC 5545 (3.3.5) says the first, ical.js takes the second; that is why the
  // calendar writes such instants in UTC, which the event checks below confirm.
  let mismatches = 0;
  for (let t = endMs - kDay; t <= endMs + 90 * kDay; t += 20 * 60000) {
    const offset = icuOffsetMinutes(scenario.tz, t);
    const wall = t + offset * 60000;
    const readings = [...new Set([offset, icuOffsetMinutes(scenario.tz, t - kDay), icuOffsetMinutes(scenario.tz, t + kDay)])]
      .map((o) => wall - o * 60000)
      .filter((c) => c + icuOffsetMinutes(scenario.tz, c) * 60000 === wall)
      .sort((a, b) => a - b);
    const w = new Date(wall);
    const local = new ICAL.Time({
      year: w.getUTCFullYear(), month: w.getUTCMonth() + 1, day: w.getUTCDate(),
      hour: w.getUTCHours(), minute: w.getUTCMinutes(), second: 0, isDate: false,
    }, zone);
    const got = local.toUnixTime() * 1000;
    if (!readings.includes(got)) {
      if (mismatches++ < 3) {
        check(false, `${name}: VTIMEZONE reads ${w.toISOString().slice(0, 16)} local as ${new Date(got).toISOString()}, ` +
              `ICU as ${new Date(readings[0]).toISOString()}`);
      }
    }
  }
  check(mismatches === 0, `${name}: VTIMEZONE agrees with ICU for 90 days (${mismatches} mismatches)`);
}

function checkScenario(scenario) {
  const name = scenario.name;
  const args = procedureArgs(scenario);
  const plan = JSON.parse(run(binary, ['plan', ...args, '--json']));
  const text = run(binary, ['ics', ...args, '--now', kNow, '--sequence', '3']);
  checkRawText(name, text);
  const calendar = parse(text);
  const endMs = isoToEpoch(plan.procedure.end);

  check(calendar.name === 'vcalendar', `${name}: a VCALENDAR`);
  check(calendar.getFirstPropertyValue('version') === '2.0', `${name}: VERSION 2.0`);
  check(!!calendar.getFirstPropertyValue('prodid'), `${name}: PRODID`);
  checkVtimezone(name, scenario, calendar, endMs);

  const events = calendar.getAllSubcomponents('vevent');
  const uids = events.map((e) => e.getFirstPropertyValue('uid'));
  check(new Set(uids).size === uids.length, `${name}: UIDs are unique`);
  for (const e of events) {
    const uid = e.getFirstPropertyValue('uid');
    const stamp = e.getFirstPropertyValue('dtstamp');
    check(stamp && stamp.zone === ICAL.Timezone.utcTimezone && epochOf(stamp) === Date.parse(kNow),
          `${name}: ${uid}: DTSTAMP is --now in UTC`);
    check(e.getFirstPropertyValue('sequence') === 3, `${name}: ${uid}: SEQUENCE 3`);
    check(!!e.getFirstPropertyValue('summary'), `${name}: ${uid}: SUMMARY`);
    const start = e.getFirstPropertyValue('dtstart');
    const tzidParam = e.getFirstProperty('dtstart').getParameter('tzid');
    check(start.zone === ICAL.Timezone.utcTimezone || tzidParam === scenario.tz,
          `${name}: ${uid}: DTSTART is UTC or in the patient's zone`);
    for (const alarm of e.getAllSubcomponents('valarm')) {
      check(alarm.getFirstPropertyValue('action') === 'DISPLAY' && !!alarm.getFirstPropertyValue('trigger') &&
            !!alarm.getFirstPropertyValue('description'), `${name}: ${uid}: VALARM has ACTION, TRIGGER, DESCRIPTION`);
    }
  }

  // Every milestone of the engine is one event at the very same instant, quoting the sheet's sentences.
  const milestoneEvents = events.filter((e) => e.hasProperty('x-aftercare-verdict'));
  check(milestoneEvents.length === plan.milestones.length,
        `${name}: ${milestoneEvents.length} milestone events for ${plan.milestones.length} milestones`);
  const unmatched = [...milestoneEvents];
  for (const m of plan.milestones) {
    const i = unmatched.findIndex((e) => e.getFirstPropertyValue('x-aftercare-activity') === m.activity &&
                                         e.getFirstPropertyValue('x-aftercare-verdict') === m.verdict);
    check(i >= 0, `${name}: an event for ${m.activity} -> ${m.verdict}`);
    if (i < 0) continue;
    const [event] = unmatched.splice(i, 1);
    const at = epochOf(event.getFirstPropertyValue('dtstart'));
    check(at === isoToEpoch(m.at),
          `${name}: ${m.activity} event at ${new Date(at).toISOString()}, engine says ${m.at}`);
    const description = event.getFirstPropertyValue('description');
    const activity = plan.activities.find((a) => a.activity === m.activity);
    const segment = activity.segments.find((s) => isoToEpoch(s.from) === isoToEpoch(m.at));
    for (const source of segment.sources) {
      check(description.includes(source.text), `${name}: ${m.activity} description quotes "${source.text}"`);
    }
  }

  // The earliest next treatment: 4 weeks later at the same wall-clock time, computed here from ICU data.
  const next = events.find((e) => e.getFirstPropertyValue('x-aftercare-activity') === 'next_treatment');
  check(!!next, `${name}: a next-treatment event`);
  if (next) {
    const expected = localToEpoch(scenario.tz, ...addDays(wallClock(plan.procedure.end), 28));
    const at = epochOf(next.getFirstPropertyValue('dtstart'));
    check(at === expected, `${name}: next treatment at ${new Date(at).toISOString()}, expected ` +
          `${new Date(expected).toISOString()}`);
    check(next.getFirstPropertyValue('description').includes('as early as 4 weeks'),
          `${name}: next treatment quotes the sheet`);
    check(next.getAllSubcomponents('valarm').length === 1, `${name}: next treatment has a booking alarm`);
  }

  // The daily sunscreen reminder: every morning at 08:00 local from the first one sunscreen is allowed until sun
  // avoidance ends, expanded by ical.js from the RRULE.
  const daily = events.find((e) => e.getFirstPropertyValue('x-aftercare-activity') === 'sunscreen' &&
                                   e.hasProperty('rrule'));
  check(!!daily, `${name}: a daily sunscreen reminder`);
  if (daily) {
    const sunscreen = plan.activities.find((a) => a.activity === 'sunscreen');
    const sun = plan.activities.find((a) => a.activity === 'sun_exposure');
    const allowed = isoToEpoch(sunscreen.segments.find((s) => s.verdict !== 'avoid').from);
    const sunEnd = isoToEpoch(sun.segments[0].until);
    const expected = [];
    const [y, mo, d] = wallClock(plan.procedure.end);
    for (let i = 0; i < 20; ++i) {
      const t = localToEpoch(scenario.tz, ...addDays([y, mo, d, 8, 0], i));
      if (t >= allowed && t < sunEnd) expected.push(t);
    }
    const iterator = new ICAL.Event(daily).iterator();
    const got = [];
    for (let next = iterator.next(); next && got.length < 100; next = iterator.next()) got.push(epochOf(next));
    check(got.length === expected.length, `${name}: ${got.length} reminders, expected ${expected.length}`);
    check(got.every((t, i) => t === expected[i]), `${name}: reminders at 08:00 local every day: ` +
          got.map((t) => new Date(t).toISOString()).join(' '));
    check(got.every((t) => localHourMinute(scenario.tz, t).join(':') === '8:0'), `${name}: reminders at 08:00`);
    check(daily.getAllSubcomponents('valarm').length === 1, `${name}: the reminder has an alarm`);
  }

  // Stable UIDs: issued again later the same procedure keeps them; another procedure shares none.
  const again = parse(run(binary, ['ics', ...args, '--now', '2026-02-01T00:00:00Z', '--sequence', '4']));
  const againUids = again.getAllSubcomponents('vevent').map((e) => e.getFirstPropertyValue('uid'));
  check(JSON.stringify([...againUids].sort()) === JSON.stringify([...uids].sort()), `${name}: UIDs are stable`);
  const otherEnd = new Date(endMs + kHour).toISOString().replace('.000Z', 'Z');
  const other = parse(run(binary, ['ics', '--procedure-end', otherEnd, '--tz', scenario.tz, '--now', kNow]));
  const otherUids = other.getAllSubcomponents('vevent').map((e) => e.getFirstPropertyValue('uid'));
  check(otherUids.every((u) => !uids.includes(u)), `${name}: another procedure has other UIDs`);
}

for (const scenario of scenarios) checkScenario(scenario);
finish('ical.js');
