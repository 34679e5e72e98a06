// The patient and clinic pages in a real browser: Debian's Chromium driven by playwright-core, against the real
// `aftercare serve` on a loopback port with its clock fixed (--now), a fresh SQLite database and a clinic made with
// `aftercare admin create-clinic`. Only what a person does: log in, register, open the link, ask, check, download,
// print. axe-core runs in the same browser on each page. Screenshots go to artifacts/browser/ (or
// $AFTERCARE_ARTIFACTS). Run: node tests/browser/pages.test.mjs (CTest sets AFTERCARE_BINARY).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BINARY = path.resolve(process.env.AFTERCARE_BINARY || path.join(ROOT, 'build', 'tools', 'aftercare', 'aftercare'));
const ARTIFACTS = process.env.AFTERCARE_ARTIFACTS || path.join(ROOT, 'artifacts', 'browser');
const CHROMIUM = process.env.AFTERCARE_CHROMIUM || '/usr/bin/chromium';
const { chromium } = await import(path.join(ROOT, 'node_modules', 'playwright-core', 'index.mjs'));
const AXE = fs.readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// The treatment ended Fri 27 Nov 2026 14:00 in New York (19:00Z); the server's clock says Sat 08:40 there, so
// makeup (after 24 hours) is allowed in 5 h 20 min, at Sat 14:00.
const END_LOCAL = '2026-11-27T14:00';
const ZONE = 'America/New_York';
const NOW = '2026-11-28T13:40Z';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'aftercare-browser-'));
let server;
let base;
let browser;
let clinic;
let patientLink;
const pageErrors = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitForServer(url, proc, log) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error('aftercare serve exited: ' + fs.readFileSync(log, 'utf8'));
    try {
      if ((await fetch(url + '/healthz')).ok) return;
    } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('aftercare serve did not start');
}

function watch(page, name) {
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${name}: console: ${m.text()}`); });
}

// axe-core in the page (evaluated over the DevTools protocol, so the page's CSP stays as served).
async function axe(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  fs.writeFileSync(path.join(ARTIFACTS, `axe-${name}.json`), JSON.stringify(result, null, 2));
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: axe-core found serious or critical violations`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name + '.png'), fullPage: true });
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const db = 'sqlite:' + path.join(folder, 'db', 'aftercare.db');
  clinic = JSON.parse(execFileSync(BINARY, ['--json', 'admin', 'create-clinic', 'Browser Test Clinic', '--db', db],
                                   { cwd: folder, encoding: 'utf8' }));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const log = path.join(folder, 'serve.log');
  // AFTERCARE_WEB_ROOT=web tries edited pages without a rebuild; by default the built-in copies are tested.
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('AFTERCARE_') || k === 'AFTERCARE_WEB_ROOT'));
  env.AFTERCARE_RATE_LIMIT = '0';
  server = spawn(BINARY, ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--now', NOW],
                 { cwd: folder, env, stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
  await waitForServer(base, server, log);
  // Playwright gives each launch a fresh temporary --user-data-dir of its own; TMPDIR keeps it in our folder.
  process.env.TMPDIR = folder;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  fs.rmSync(folder, { recursive: true, force: true });
});

test('the clinic page: staff log in, register a procedure and get the link with its QR code', async () => {
  // Staff in New York: the zone defaults to the browser's.
  const context = await browser.newContext({ timezoneId: ZONE, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  watch(page, 'clinic');
  await page.goto(base + '/');
  await axe(page, 'clinic-login');
  await page.getByLabel('Login').fill(clinic.login);
  await page.getByLabel('Password').fill(clinic.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#staff').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#zone').inputValue(), ZONE);
  assert.ok(await page.getByLabel('The face').isChecked(), 'the first area is ticked by default');

  await page.getByLabel(/Patient reference/).fill('T-100');
  await page.getByLabel(/First name/).fill('Ann');
  await page.getByLabel(/Contact for reminders/).fill('ann@example.org');
  await page.getByLabel(/Treatment ended at/).fill(END_LOCAL);
  await page.getByLabel('Around the eyes').check();
  await page.getByRole('button', { name: /Register/ }).click();
  await page.locator('#registered').waitFor({ state: 'visible' });
  patientLink = await page.locator('#patient-link-text').inputValue();
  assert.match(patientLink, new RegExp(`^${base}/p/[A-Za-z0-9_-]{43}$`));

  // The QR code is an SVG the server drew, and the image loaded.
  const qr = page.locator('img.qr');
  await qr.waitFor();
  await page.waitForFunction(() => document.querySelector('img.qr').complete);
  assert.ok(await qr.evaluate((img) => img.naturalWidth > 0), 'the QR code image loads');
  const svg = await fetch(await qr.evaluate((img) => img.src));
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  assert.match(await svg.text(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 (\d+) \1"/);

  // The list of active patients: day 0 (Day 1 starts 24 h after the treatment), no symptom yet.
  const row = page.locator('#patients-table tbody tr', { hasText: 'T-100' });
  await row.waitFor();
  assert.match(await row.innerText(), /Day 0/);
  assert.match(await row.innerText(), /face, periorbital/);
  assert.equal(await row.getAttribute('class'), null);
  await shot(page, 'clinic');
  await axe(page, 'clinic');
  await context.close();
});

test('the patient page: right now, countdowns, timeline, ask box, checks, .ics and the print sheet', async () => {
  assert.ok(patientLink, 'the clinic test made a link');
  // The patient's phone is set to Tokyo: the page still speaks in the treatment's zone (New York).
  const context = await browser.newContext({
    timezoneId: 'Asia/Tokyo', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    deviceScaleFactor: 2, acceptDownloads: true,
  });
  const page = await context.newPage();
  watch(page, 'patient');
  await page.goto(patientLink);
  await page.waitForSelector('body.ready');
  assert.match(await page.locator('#summary').innerText(), /Ann, your treatment \(face, periorbital\) ended Fri 27 Nov 2026 14:00/);

  // Right now, at the fixed clock (Sat 08:40 in New York).
  const group = (key) => page.locator(`.group-${key}`);
  const item = (activity) => page.locator(`.item[data-activity="${activity}"]`);
  assert.match(await page.locator('#as-of').innerText(), /Sat 28 Nov 08:40/);
  assert.equal(await group('avoid').locator('.item[data-activity="makeup"]').count(), 1);
  assert.equal(await item('makeup').locator('.change').innerText(), 'Allowed in 5 h 20 min — Sat 14:00');
  assert.equal(await item('strenuous_exercise').locator('.change').innerText(), 'Allowed in 5 h 20 min — Sat 14:00');
  assert.equal(await item('regular_skincare').locator('.change').innerText(), 'Allowed in 1 d 5 h — Sun 14:00');
  assert.match(await item('sun_exposure').locator('.change').innerText(), /^With care in 13 d 5 h — Fri 11 Dec 14:00$/);
  assert.equal(await item('anti_inflammatory_medication').locator('.change').innerText(), 'No change ahead in your plan');
  assert.equal(await group('allowed').locator('.item[data-activity="serums"]').count(), 1);
  assert.equal(await group('allowed').locator('.item[data-activity="sunscreen"]').count(), 1);
  // The sheet's sentence is one tap away.
  const why = item('makeup').locator('.why');
  assert.equal(await why.isVisible(), false);
  await item('makeup').locator('summary').tap();
  assert.ok(await why.isVisible());
  assert.match(await why.innerText(), /May use makeup after 24 hours/);

  // The timeline: six phases, today is the current one, Day 1 at Sat 14:00 lists makeup.
  const phases = page.locator('#timeline-list > li');
  assert.equal(await phases.count(), 6);
  assert.deepEqual(await page.locator('#timeline-list > li h3').allInnerTexts(),
                   ['Today — Fri 27 Nov 14:00', 'Day 1 — Sat 28 Nov 14:00', 'Days 2–7 — Sun 29 Nov 14:00',
                    'Days 7+ — Fri 4 Dec 14:00', '14 days — Fri 11 Dec 14:00', '4 weeks — Fri 25 Dec 14:00']);
  assert.equal(await phases.nth(0).getAttribute('aria-current'), 'step');
  assert.match(await phases.nth(1).innerText(), /Wear makeup — allowed/);
  assert.match(await phases.nth(4).innerText(), /Be out in the sun — be careful/);
  await shot(page, 'patient');
  await axe(page, 'patient');

  // The ask box, in plain words.
  await page.getByLabel('Can I…').fill('can I go to the gym?');
  await page.getByRole('button', { name: 'Ask', exact: true }).click();
  const answer = page.locator('#ask-answer');
  await answer.locator('.verdict').waitFor();
  assert.match(await answer.innerText(), /Avoid — Exercise hard or sweat/);
  assert.match(await answer.innerText(), /Allowed from Sat 14:00 \(in 5 h 20 min\)/);
  assert.match(await answer.innerText(), /Avoid strenuous exercise or sweating for 24 hours/);
  await page.getByLabel('Can I…').fill('Advil?');
  await page.getByRole('button', { name: 'Ask', exact: true }).click();
  await page.waitForFunction(() => /Advil/.test(document.querySelector('#ask-answer .verdict')?.textContent || ''));
  assert.match(await answer.locator('.verdict').innerText(), /^Avoid/);
  assert.match(await answer.innerText(), /ibuprofen, Motrin or Advil/);

  // An ingredient list with an acid the sheet warns about.
  await page.getByLabel(/ingredient list/).fill('Aqua, Glycerin, Glycolic Acid, Niacinamide');
  await page.getByRole('button', { name: 'Check ingredients' }).click();
  const ingredients = page.locator('#ingredients-answer');
  await ingredients.locator('.flagged, .verdict').first().waitFor();
  assert.match(await ingredients.innerText(), /Glycolic Acid/);
  assert.match(await ingredients.locator('.verdict').innerText(), /^Avoid/);

  // Symptoms: redness on the first day is expected; flaking is not expected before day 2.
  const symptom = page.locator('#symptom-answer');
  await page.getByLabel('Describe it in your words').fill('still red');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.waitForFunction(() => /Expected at this point/.test(document.querySelector('#symptom-answer')?.textContent || ''));
  await page.getByLabel('Describe it in your words').fill('my skin is flaking');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.waitForFunction(() => /Earlier than expected/.test(document.querySelector('#symptom-answer .verdict')?.textContent || ''));
  assert.match(await symptom.innerText(), /Flaking/);
  await shot(page, 'patient-answers');
  await axe(page, 'patient-answers');

  // The calendar file downloads.
  const ics = await fetch(new URL(await page.locator('#ics').getAttribute('href'), patientLink));
  if (ics.status === 404) {
    console.log('# skipped .ics: this build has no calendar library');
  } else {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#ics').click()]);
    assert.equal(download.suggestedFilename(), 'aftercare.ics');
    const saved = path.join(ARTIFACTS, 'aftercare.ics');
    await download.saveAs(saved);
    const text = fs.readFileSync(saved, 'utf8');
    assert.match(text, /^BEGIN:VCALENDAR\r?\n/);
    assert.match(text, /BEGIN:VEVENT/);
  }

  // Ann gave a contact, so the page offers to stop reminders; after a tap it says they stopped.
  assert.ok(await page.locator('#reminders').isVisible());
  await page.getByRole('button', { name: 'Stop reminders' }).tap();
  await page.waitForFunction(() => /Reminders stopped/.test(document.querySelector('#reminders-result')?.textContent || ''));
  assert.equal(await page.locator('#stop-reminders').isVisible(), false);
  await axe(page, 'patient-reminders-stopped');

  // The print view: only the personal sheet, on one A4 page.
  await page.emulateMedia({ media: 'print' });
  assert.ok(await page.locator('#sheet').isVisible());
  assert.equal(await page.locator('main').isVisible(), false);
  assert.match(await page.locator('#sheet').innerText(), /My aftercare — Ann/);
  await shot(page, 'patient-print');
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'patient-sheet.pdf'), pdf);
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.equal(pages, 1, 'the printed sheet fits on one page');
  await context.close();
});

test('the clinic page: the symptom outside its window is highlighted, and the series shows the next date', async () => {
  const context = await browser.newContext({ timezoneId: ZONE, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  watch(page, 'clinic-series');
  await page.goto(base + '/clinic');
  await page.getByLabel('Login').fill(clinic.login);
  await page.getByLabel('Password').fill(clinic.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  const row = page.locator('#patients-table tbody tr', { hasText: 'T-100' });
  await row.waitFor();
  assert.equal(await row.getAttribute('class'), 'alert');
  assert.match(await row.innerText(), /Check\s+“my skin is flaking”: earlier than expected/);
  await row.getByRole('button', { name: 'Series of T-100' }).click();
  await page.locator('#series').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#next-earliest').innerText(), 'Fri 25 Dec 2026 14:00');
  assert.match(await page.locator('#series-body').innerText(), /treatment 1 of 3–5/);
  await shot(page, 'clinic-series');
  await axe(page, 'clinic-series');

  // An unknown link and path traversal get nothing.
  for (const p of ['/static/..%2f..%2fCMakeLists.txt', '/static/%2e%2e/%2e%2e/etc/passwd', '/static/nope.js']) {
    assert.equal((await fetch(base + p)).status, 404, p);
  }
  const bad = await context.newPage();
  await bad.goto(base + '/p/' + 'A'.repeat(43));
  await bad.waitForSelector('#error:not([hidden])');
  assert.match(await bad.locator('#error').innerText(), /not valid/);
  await context.close();
});

test('no script errors and no CSP violations on any page', () => {
  assert.deepEqual(pageErrors, []);
});
