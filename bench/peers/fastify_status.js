// The HTTP peer: the patient status endpoint as a developer might write it with fastify + better-sqlite3, reading the
// same SQLite file `aftercare serve` uses and answering the same body. Per request: hash the token (BLAKE2b-256,
// as the store does), find the procedure with its contact and opt-out state, pick every activity's segment at now,
// answer JSON. The segments (with their sentences, notes and resolutions) come precomputed from `aftercare plan
// --json` for the benchmark's procedure, so the peer does no rule evaluation across zones; only `at` needs the
// zone's offset (Intl, as a JavaScript developer would). That favours the peer.
// Usage: node fastify_status.js DB_FILE PORT PLAN_JSON_FILE
'use strict';
const fs = require('fs');
const Fastify = require('fastify');
const Database = require('better-sqlite3');
const blake = require('blakejs');

const [dbFile, port, planFile] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
const activities = plan.activities.map((a) => ({
  ...a,
  segments: a.segments.map((s) => ({ ...s, from_ms: Date.parse(s.from) })),
}));
const db = new Database(dbFile, { readonly: true, fileMustExist: true });
const byToken = db.prepare(
  'SELECT p.id, p.ended_at, p.zone, pa.contact, ' +
    'EXISTS (SELECT 1 FROM notify_optout o WHERE o.patient_id = p.patient_id) AS opted_out ' +
    'FROM procedure_record p JOIN patient pa ON pa.id = p.patient_id WHERE p.patient_token_hash = ?');

const formatters = new Map();
// "2026-11-28T05:30-05:00": the instant in the zone, to the minute, with its offset (seconds only when not zero).
function formatInstant(ms, zone) {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(zone, f);
  }
  const p = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  const localMs = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const offsetMin = Math.round((localMs - Math.floor(ms / 1000) * 1000) / 60000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const pad = (n) => String(n).padStart(2, '0');
  const seconds = p.second === '00' ? '' : `:${p.second}`;
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}${seconds}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const app = Fastify({ logger: false });
app.get('/api/v1/p/:token/status', (request, reply) => {
  const hash = blake.blake2bHex(request.params.token, null, 32);
  const procedure = byToken.get(hash);
  if (!procedure) {
    return reply.code(404).send({ error: { code: 'not_found',
      message: 'this link is not valid; ask your clinic for your aftercare link' } });
  }
  const endMs = Number(procedure.ended_at) * 1000;
  const atMs = Math.max(Math.floor(Date.now() / 1000) * 1000, endMs);
  const answers = activities.map((a) => {
    let i = 0;
    while (i + 1 < a.segments.length && a.segments[i + 1].from_ms <= atMs) ++i;
    const s = a.segments[i];
    let next = null;
    for (let j = i + 1; j < a.segments.length; ++j) {
      if (a.segments[j].verdict !== s.verdict) {
        next = a.segments[j];
        break;
      }
    }
    const answer = { activity: a.activity, changes_at: next ? next.from : null, conditional: a.conditional,
      label: a.label };
    if (s.message !== undefined) answer.message = s.message;
    answer.next_verdict = next ? next.verdict : null;
    answer.notes = s.notes;
    answer.resolutions = s.resolutions;
    answer.since = s.from;
    answer.sources = s.sources;
    answer.verdict = s.verdict;
    return answer;
  });
  return {
    activities: answers,
    at: formatInstant(atMs, procedure.zone),
    hours_since_procedure: Math.floor((atMs - endMs) / 60000) / 60,
    procedure: plan.procedure,
    protocol: plan.protocol,
    reminders: { contact: procedure.contact !== null && procedure.contact !== '', subscribed: !procedure.opted_out },
  };
});
app.listen({ port: Number(port), host: '127.0.0.1' }).catch((e) => {
  console.error(e);
  process.exit(1);
});
