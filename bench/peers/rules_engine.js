// The CIT rules in json-rules-engine, against aftercare's engine: same rules, same instants, same verdicts first,
// then throughput. One engine run per activity per instant, as a developer using json-rules-engine would write it.
// Usage: node rules_engine.js ENGINE_VERDICTS_BINARY [INSTANTS]
'use strict';
const { Engine } = require('json-rules-engine');
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const binary = process.argv[2];
const count = Number(process.argv[3] || 2000);
const end = '2026-11-28T14:00';
const zone = 'America/New_York';

// The protocol's rules for one procedure, their windows already placed in time by the protocol's own arithmetic
// (days in the zone), so both sides decide on identical windows.
const spec = JSON.parse(execFileSync(binary, ['rules', end, zone]).toString());

function engineFor(activity) {
  const engine = new Engine([], { allowUndefinedFacts: false });
  for (const r of spec.rules.filter((rule) => rule.activity === activity)) {
    const all = [{ fact: 't', operator: 'greaterThanInclusive', value: r.from }];
    if (r.until !== null) all.push({ fact: 't', operator: 'lessThan', value: r.until });
    engine.addRule({ conditions: { all }, event: { type: 'verdict', params: { verdict: r.verdict, rank: r.rank } } });
  }
  return engine;
}
const engines = new Map(spec.activities.map((a) => [a, engineFor(a)]));

// Deterministic instants over the first 30 days.
let seed = 42;
function next() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const instants = [];
for (let i = 0; i < count; i++) instants.push(spec.end + Math.floor(next() * 30 * 86400));
const file = path.join(os.tmpdir(), `aftercare-instants-${process.pid}.txt`);
fs.writeFileSync(file, instants.join('\n') + '\n');

async function main() {
  const theirs = [];
  const start = process.hrtime.bigint();
  for (const t of instants) {
    for (const activity of spec.activities) {
      const { events } = await engines.get(activity).run({ t });
      let best = null;
      for (const e of events) if (best === null || e.params.rank < best.rank) best = e.params;
      theirs.push(best === null ? 'not_covered' : best.verdict);
    }
  }
  const theirNs = Number(process.hrtime.bigint() - start);

  const run = require('child_process').spawnSync(binary, ['verdicts', end, zone, file], { maxBuffer: 1 << 28 });
  fs.unlinkSync(file);
  const ours = run.stdout.toString().trim().split('\n').map((line) => line.split(' ')[2]);
  const timing = JSON.parse(run.stderr.toString().trim().split('\n').pop());

  let mismatches = 0;
  for (let i = 0; i < theirs.length; i++) if (theirs[i] !== ours[i]) mismatches++;
  const evaluations = theirs.length;
  const oursPer = timing.ns / timing.evaluations;
  const theirsPer = theirNs / evaluations;
  const result = {
    instants: count,
    evaluations,
    mismatches,
    aftercare_ns_per_evaluation: Number(oursPer.toFixed(1)),
    json_rules_engine_ns_per_evaluation: Math.round(theirsPer),
    ratio: Math.round(theirsPer / oursPer),
  };
  console.log(JSON.stringify(result));
  if (mismatches > 0) {
    console.error(`verdicts differ in ${mismatches} of ${evaluations} evaluations`);
    process.exit(1);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
