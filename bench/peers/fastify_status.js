// The HTTP peer: the patient status endpoint as a developer might write it with fastify + better-sqlite3, reading the
// same SQLite file `aftercare serve` uses. Per request: hash the token (BLAKE2b-256, as the store does), find the
// procedure, evaluate every activity's rules at now, answer JSON. The rules' windows are taken, relative to the
// procedure end, from `engine_verdicts rules` for the benchmark's procedure (so both sides decide identically;
// the peer does no time-zone arithmetic, which favours it).
// Usage: node fastify_status.js DB_FILE PORT RULES_JSON_FILE
'use strict';
const fs = require('fs');
const Fastify = require('fastify');
const Database = require('better-sqlite3');
const blake = require('blakejs');

const [dbFile, port, rulesFile] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(rulesFile, 'utf8'));
const rules = spec.rules.map((r) => ({ ...r, from: r.from - spec.end, until: r.until === null ? null : r.until - spec.end }));
const db = new Database(dbFile, { readonly: true, fileMustExist: true });
const byToken = db.prepare('SELECT id, ended_at, zone, areas FROM procedure_record WHERE patient_token_hash = ?');

const app = Fastify({ logger: false });
app.get('/api/v1/p/:token/status', (request, reply) => {
  const hash = blake.blake2bHex(request.params.token, null, 32);
  const procedure = byToken.get(hash);
  if (!procedure) return reply.code(404).send({ error: { code: 'not_found', message: 'unknown link' } });
  const now = Math.floor(Date.now() / 1000);
  const t = now - Number(procedure.ended_at);
  const activities = spec.activities.map((activity) => {
    let best = null;
    let next = null;
    for (const r of rules) {
      if (r.activity !== activity) continue;
      if (r.from <= t && (r.until === null || t < r.until)) {
        if (best === null || r.rank < best.rank) best = r;
      }
      for (const edge of [r.from, r.until]) if (edge !== null && edge > t && (next === null || edge < next)) next = edge;
    }
    return {
      activity,
      verdict: best ? best.verdict : 'not_covered',
      changes_at: next === null ? null : new Date((Number(procedure.ended_at) + next) * 1000).toISOString(),
    };
  });
  return { at: new Date(now * 1000).toISOString(), zone: procedure.zone, activities };
});
app.listen({ port: Number(port), host: '127.0.0.1' }).catch((e) => {
  console.error(e);
  process.exit(1);
});
