// Shared by the Node interop checks: runs the aftercare binary and reads the scenarios.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const scenarios = JSON.parse(readFileSync(join(here, 'scenarios.json'), 'utf8'));
export const kNow = '2026-01-15T09:30:00Z';

export function run(binary, args) {
  return execFileSync(binary, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
}

export function procedureArgs(s) {
  const args = ['--procedure-end', s.end, '--tz', s.tz];
  if (s.areas) args.push('--areas', s.areas);
  return args;
}

let failures = 0;
let checks = 0;
export function check(condition, message) {
  checks += 1;
  if (!condition) {
    failures += 1;
    console.error('FAIL: ' + message);
  }
}

// Prints the closing line and sets the exit code.
export function finish(what) {
  console.log(`${what}: ${checks - failures} passed, ${failures} failed`);
  process.exitCode = failures === 0 && checks > 0 ? 0 : 1;
}

// The UTC offset of `zone` at epoch milliseconds `ms`, in minutes, from the ICU data Node ships (not libical's).
const formatters = new Map();
export function icuOffsetMinutes(zone, ms) {
  if (!formatters.has(zone)) {
    formatters.set(zone, new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    }));
  }
  const parts = formatters.get(zone).formatToParts(new Date(ms));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

// Epoch ms of a local wall-clock time in `zone`; where it exists twice the later, where not at all the end of the gap
// (the engine's rule for days and weeks).
export function localToEpoch(zone, y, mo, d, h, mi) {
  const naive = Date.UTC(y, mo - 1, d, h, mi);
  const candidates = new Set();
  for (const probe of [naive - 36 * 3600e3, naive, naive + 36 * 3600e3]) {
    candidates.add(naive - icuOffsetMinutes(zone, probe) * 60000);
  }
  const exact = [...candidates].filter((t) => t + icuOffsetMinutes(zone, t) * 60000 === naive).sort((a, b) => a - b);
  if (exact.length) return exact[exact.length - 1];
  // In a gap: the instant the gap ends, i.e. the transition, found by bisection to the minute.
  let lo = naive - 36 * 3600e3;
  let hi = naive + 36 * 3600e3;
  const before = icuOffsetMinutes(zone, lo);
  while (hi - lo > 60000) {
    const mid = lo + Math.floor((hi - lo) / 120000) * 60000;
    if (icuOffsetMinutes(zone, mid) === before) lo = mid; else hi = mid;
  }
  return hi;
}

// "2026-11-28T14:00-05:00" -> epoch ms.
export function isoToEpoch(text) {
  return Date.parse(text);
}
