// The patient page at the private link /p/{token}: "Right now" with live countdowns, the timeline, the ask box,
// the ingredient and symptom checks, the .ics download and a printable one-page sheet. Only the patient API
// (/api/v1/p/{token}/...) is used. The server's clock is the reference: the page counts on from the time the
// server answered for, so a page left open stays right, and so do tests that fix the server's clock.
'use strict';

(() => {
  const { h, clear, api, parts, when, span, addDays, VERDICT } = Aftercare;
  const token = decodeURIComponent(location.pathname.split('/')[2] || '');
  const base = '/api/v1/p/' + encodeURIComponent(token);
  const $ = (id) => document.getElementById(id);

  // The server's "now" when it answered, and the browser's at that moment.
  const clock = { server: 0, local: 0 };
  const now = () => clock.server + (Date.now() - clock.local);
  const isoUtc = (ms) => new Date(ms).toISOString().slice(0, 19) + 'Z';

  let plan = null;
  let status = null;
  let refreshing = false;

  function showError(message) {
    const el = $('error');
    el.textContent = message;
    el.hidden = !message;
  }

  // --------------------------------------------------------------------------------------------------------------
  // Right now
  // --------------------------------------------------------------------------------------------------------------

  const GROUPS = [
    { key: 'avoid', title: 'Avoid', verdicts: ['avoid'] },
    { key: 'caution', title: 'Be careful', verdicts: ['caution'] },
    { key: 'allowed', title: 'Allowed', verdicts: ['recommended', 'allowed'] },
    { key: 'not_covered', title: 'Ask your clinic', verdicts: ['not_covered'] },
  ];
  const NEXT = {
    avoid: 'Avoid again',
    caution: 'With care',
    recommended: 'Recommended',
    allowed: 'Allowed',
    not_covered: 'No longer covered',
  };

  function countdownText(a) {
    if (!a.changes_at || !a.next_verdict) return 'No change ahead in your plan';
    const left = Date.parse(a.changes_at) - now();
    const word = NEXT[a.next_verdict] || a.next_verdict;
    if (left <= 0) return `${word} now`;
    return `${word} in ${span(left)} — ${when(a.changes_at, now())}`;
  }

  function sourcesBlock(sources) {
    return (sources || []).map((s) => h('blockquote', { class: 'sheet-words', cite: '#' + s.id }, '“' + s.text + '”'));
  }

  function whyBlock(a) {
    return h('div', { class: 'why' },
      (a.notes || []).map((n) => h('p', { class: 'note' }, n)),
      a.message ? h('p', { class: 'note' }, a.message) : null,
      (a.conditional || []).map((c) => h('p', { class: 'note' },
        `${c.context === 'outdoors' ? 'Outdoors' : 'When ' + c.context}: ${c.note || VERDICT[c.verdict] || ''}`)),
      h('p', { class: 'from-sheet' }, 'Your clinic’s sheet says:'),
      sourcesBlock(a.sources),
      (a.resolutions || []).map((r) => h('p', { class: 'reading' }, 'Where the sheet is unclear, we read it as: ' +
                                                                     r.reading)));
  }

  function renderNow() {
    const groups = $('now-groups');
    clear(groups);
    $('as-of').textContent = 'As of ' + when(status.at, undefined) + ' (your time).';
    for (const g of GROUPS) {
      const items = status.activities.filter((a) => g.verdicts.includes(a.verdict));
      if (!items.length) continue;
      items.sort((x, y) => (x.changes_at ? Date.parse(x.changes_at) : Infinity) -
                           (y.changes_at ? Date.parse(y.changes_at) : Infinity));
      const headingId = 'group-' + g.key;
      groups.append(h('section', { class: 'group group-' + g.key, 'aria-labelledby': headingId },
        h('h3', { id: headingId }, g.title),
        h('ul', { class: 'items' }, items.map((a) =>
          h('li', { class: 'item verdict-' + a.verdict, dataset: { activity: a.activity } },
            h('details', {},
              h('summary', {},
                h('span', { class: 'label' }, a.label),
                a.verdict === 'recommended' ? h('span', { class: 'tag' }, 'recommended') : null,
                h('span', { class: 'change', dataset: { at: a.changes_at || '' } }, countdownText(a))),
              whyBlock(a)))))));
    }
  }

  // Every 15 s: the countdowns go on; when one reaches its change, ask the server again for that moment.
  function tick() {
    if (!status) return;
    for (const el of document.querySelectorAll('#now-groups .change')) {
      const a = status.activities.find((x) => x.activity === el.closest('.item').dataset.activity);
      if (a) el.textContent = countdownText(a);
    }
    const due = status.activities.some((a) => a.changes_at && Date.parse(a.changes_at) <= now());
    if (due && !refreshing) loadStatus(isoUtc(now()));
  }

  async function loadStatus(at) {
    refreshing = true;
    const r = await api(base + '/status' + (at ? '?at=' + encodeURIComponent(at) : ''));
    refreshing = false;
    if (!r.ok) {
      showError(r.message || 'Your plan could not be loaded.');
      return;
    }
    status = r.data;
    clock.server = Date.parse(status.at);
    clock.local = Date.now();
    renderNow();
    if (plan) renderTimeline();
  }

  // --------------------------------------------------------------------------------------------------------------
  // Timeline
  // --------------------------------------------------------------------------------------------------------------

  // The sheet's own sections, from the procedure's end; sentences are placed by the section in their id.
  const PHASES = [
    { key: 'today', title: 'Today', days: 0, sections: ['intro', 'bullet', 'bullets'] },
    { key: 'day1', title: 'Day 1', days: 1, sections: ['day1'] },
    { key: 'days2_7', title: 'Days 2–7', days: 2, sections: ['days2_7', 'days2'] },
    { key: 'days7', title: 'Days 7+', days: 7, sections: ['days7'] },
    { key: 'days14', title: '14 days', days: 14, sections: [] },
    { key: 'weeks4', title: '4 weeks', days: 28, sections: ['series'],
      extra: 'The earliest date for a follow-up treatment, if your clinic plans a series.' },
  ];

  function renderTimeline() {
    const end = plan.procedure.end;
    $('timeline-zone').textContent = `Times are in your time zone, ${plan.procedure.zone.replace(/_/g, ' ')}.`;
    const starts = PHASES.map((p) => addDays(end, p.days));
    const phaseOf = (iso) => {
      const key = parts(iso).key;
      let i = 0;
      while (i + 1 < starts.length && key >= starts[i + 1]) ++i;
      return i;
    };
    const changes = PHASES.map(() => []);
    const sentences = PHASES.map(() => new Map());
    for (const a of plan.activities) {
      a.segments.forEach((s, index) => {
        if (index > 0 && s.verdict !== a.segments[index - 1].verdict) {
          changes[phaseOf(s.from)].push({ at: s.from, label: a.label, verdict: s.verdict, notes: s.notes });
        }
        for (const src of s.sources || []) {
          const section = src.id.split('.')[0];
          const i = PHASES.findIndex((p) => p.sections.includes(section));
          sentences[i < 0 ? 0 : i].set(src.id, src.text);
        }
      });
    }
    const current = status ? phaseOf(status.at) : -1;
    const list = clear($('timeline-list'));
    PHASES.forEach((p, i) => {
      const startIso = starts[i] + end.slice(16);  // the wall-clock time, with the end's offset for the weekday only
      const first = i === 0 ? plan.activities
        .map((a) => ({ label: a.label, verdict: a.segments[0] && a.segments[0].verdict }))
        .filter((x) => x.verdict === 'avoid') : [];
      changes[i].sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
      const titleId = 'phase-' + p.key;
      list.append(h('li', { class: 'phase' + (i === current ? ' current' : ''), 'aria-current': i === current ? 'step' : null,
                            'aria-labelledby': titleId },
        h('h3', { id: titleId }, p.title, h('span', { class: 'phase-date' }, ' — ' + when(i === 0 ? end : startIso))),
        i === current ? h('p', { class: 'here' }, 'You are here') : null,
        first.length ? h('p', {}, 'From the end of your treatment, avoid:') : null,
        first.length ? h('ul', { class: 'changes' }, first.map((x) => h('li', { class: 'verdict-avoid' }, x.label))) : null,
        changes[i].length ? h('ul', { class: 'changes' }, changes[i].map((c) =>
          h('li', { class: 'verdict-' + c.verdict },
            h('span', { class: 'when' }, when(c.at) + ': '),
            `${c.label} — ${(VERDICT[c.verdict] || c.verdict).toLowerCase()}`,
            c.notes && c.notes.length ? ` (${c.notes.join('; ')})` : ''))) : null,
        p.extra ? h('p', {}, p.extra) : null,
        sentences[i].size ? h('details', { class: 'phase-sheet' },
          h('summary', {}, 'What the sheet says'),
          [...sentences[i].entries()].map(([id, text]) => h('blockquote', { class: 'sheet-words', cite: '#' + id },
                                                            '“' + text + '”'))) : null));
    });
    renderSheet(starts);
  }

  // --------------------------------------------------------------------------------------------------------------
  // The one-page sheet for printing
  // --------------------------------------------------------------------------------------------------------------

  function renderSheet(starts) {
    const sheet = clear($('sheet'));
    const p = plan.procedure;
    sheet.append(
      h('h2', {}, 'My aftercare' + (plan.display_name ? ' — ' + plan.display_name : '')),
      h('p', {}, `Treatment ended ${when(p.end, undefined, { withYear: true })} (${p.zone.replace(/_/g, ' ')}); ` +
                 `treated: ${p.areas.join(', ')}.`),
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'What'), h('th', { scope: 'col' }, 'From the treatment'),
                         h('th', { scope: 'col' }, 'Then'))),
        h('tbody', {}, plan.activities.map((a) => h('tr', {},
          h('th', { scope: 'row' }, a.label),
          h('td', {}, VERDICT[a.segments[0].verdict] || a.segments[0].verdict),
          h('td', {}, a.segments.filter((s, i) => i > 0 && s.verdict !== a.segments[i - 1].verdict).map((s) => `${when(s.from)}: ${(VERDICT[s.verdict] || s.verdict).toLowerCase()}`)
            .join('; ') || '—'))))),
      h('p', { class: 'muted' }, 'Days: ' + PHASES.map((ph, i) => `${ph.title} ${when(i === 0 ? p.end : starts[i] +
                                                                                   p.end.slice(16))}`).join(' · ')),
      h('p', { class: 'muted' }, 'From your clinic’s aftercare sheet. If something worries you, call your clinic.'));
  }

  // --------------------------------------------------------------------------------------------------------------
  // Ask, ingredients, symptoms
  // --------------------------------------------------------------------------------------------------------------

  function verdictLine(verdict, text) {
    return h('p', { class: 'verdict verdict-' + verdict },
      h('strong', {}, VERDICT[verdict] || verdict), text ? ' — ' + text : '');
  }

  function renderActivityAnswer(a) {
    const change = a.changes_at && a.next_verdict
      ? `${NEXT[a.next_verdict] || a.next_verdict} from ${when(a.changes_at, now())} (in ${span(Date.parse(a.changes_at) - now())})`
      : '';
    return [verdictLine(a.verdict, a.label), change ? h('p', {}, change) : null, whyBlock(a)];
  }

  async function ask(event) {
    event.preventDefault();
    const out = $('ask-answer');
    const q = $('ask-q').value.trim();
    if (!q) return;
    clear(out, h('p', { class: 'muted' }, 'Checking…'));
    const r = await api(`${base}/can?q=${encodeURIComponent(q)}&at=${encodeURIComponent(isoUtc(now()))}`);
    if (!r.ok) {
      clear(out, h('p', { class: 'error' }, r.message || 'That could not be answered.'));
      return;
    }
    const d = r.data;
    if (d.medicine) {
      const m = d.medicine;
      const name = m.product ? m.product.name : (m.matched || d.understood.medicine);
      clear(out,
        verdictLine(m.verdict, name),
        m.corrected ? h('p', { class: 'muted' }, `We read “${m.query}” as ${name}.`) : null,
        (m.classes || []).filter((c) => c.label).map((c) => h('p', {}, `${name} is ${c.label}.`)),
        (m.advice || []).map((t) => h('p', {}, t)),
        (m.classes || []).filter((c) => c.answer).map((c) => whyBlock(c.answer)),
        sourcesBlock(m.sources));
    } else {
      clear(out, h('p', { class: 'muted' }, `We understood: ${d.understood.phrase}.`), renderActivityAnswer(d.answer));
    }
  }

  async function checkIngredients(event) {
    event.preventDefault();
    const out = $('ingredients-answer');
    clear(out, h('p', { class: 'muted' }, 'Checking…'));
    const r = await api(base + '/ingredients', { method: 'POST', body: { ingredients: $('inci').value, at: isoUtc(now()) } });
    if (!r.ok) {
      clear(out, h('p', { class: 'error' }, r.message || 'That list could not be checked.'));
      return;
    }
    const d = r.data;
    const flagged = d.items.filter((i) => i.status !== 'not_flagged');
    clear(out,
      d.answer ? verdictLine(d.answer.verdict, d.answer.label) : h('p', { class: 'verdict' }, h('strong', {}, d.verdict)),
      (d.advice || []).map((t) => h('p', {}, t)),
      flagged.length ? h('ul', { class: 'flagged' }, flagged.map((i) => h('li', { class: 'status-' + i.status },
        h('strong', {}, i.printed), ' — ',
        i.status === 'flagged' ? (i.category_label || 'an exfoliant or acid') : 'unknown: ask your clinic',
        i.note ? ` (${i.note})` : ''))) : h('p', {}, 'Nothing on this list is an exfoliant or acid the sheet warns about.'),
      d.answer ? whyBlock(d.answer) : null);
  }

  const ASSESSMENT = {
    expected: 'Expected at this point',
    longer_than_expected: 'Lasting longer than expected',
    earlier_than_expected: 'Earlier than expected',
    not_described: 'Not described by the sheet',
  };

  async function checkSymptom(event) {
    event.preventDefault();
    const out = $('symptom-answer');
    clear(out, h('p', { class: 'muted' }, 'Checking…'));
    const r = await api(base + '/symptom', { method: 'POST', body: { words: $('symptom-words').value, at: isoUtc(now()) } });
    if (!r.ok) {
      clear(out, h('p', { class: 'error' }, r.message || 'That could not be checked.'));
      return;
    }
    const d = r.data;
    clear(out,
      h('p', { class: 'verdict assessment-' + d.assessment }, h('strong', {}, ASSESSMENT[d.assessment] || d.assessment)),
      h('ul', {}, d.findings.map((f) => h('li', {},
        h('strong', {}, f.label || f.text), ': ', (ASSESSMENT[f.assessment] || f.assessment).toLowerCase(),
        f.expected_until ? ` (the sheet expects it until ${when(f.expected_until)})` : '',
        f.note ? ' — ' + f.note : ''))),
      (d.advice || []).map((t) => h('p', { class: 'advice' }, t)),
      sourcesBlock(d.sources));
  }

  // --------------------------------------------------------------------------------------------------------------
  // Reminders: "Stop reminders" when the clinic has a contact to remind and the patient has not unsubscribed
  // --------------------------------------------------------------------------------------------------------------

  function showReminders(reminders) {
    if (!reminders || !reminders.contact) return;
    $('reminders').hidden = false;
    if (!reminders.subscribed) {
      $('stop-reminders').hidden = true;
      $('reminders-text').textContent = 'You asked for no reminders. This page still shows your plan.';
    }
  }

  async function stopReminders() {
    const button = $('stop-reminders');
    button.disabled = true;
    const r = await api(base + '/unsubscribe', { method: 'POST' });
    if (!r.ok) {
      button.disabled = false;
      $('reminders-result').textContent = r.message || 'The reminders could not be stopped. Please try again.';
      return;
    }
    button.hidden = true;
    $('reminders-text').textContent = 'You asked for no reminders. This page still shows your plan.';
    $('reminders-result').textContent = 'Reminders stopped. You will get no more reminders from your clinic.';
  }

  // --------------------------------------------------------------------------------------------------------------

  async function start() {
    $('ics').href = base + '/plan.ics';
    $('ask-form').addEventListener('submit', ask);
    $('ingredients-form').addEventListener('submit', checkIngredients);
    $('symptom-form').addEventListener('submit', checkSymptom);
    $('print').addEventListener('click', () => window.print());
    $('stop-reminders').addEventListener('click', stopReminders);
    const [index, planned] = await Promise.all([api(base), api(base + '/plan')]);
    if (!index.ok || !planned.ok) {
      showError((index.message || planned.message) || 'Your plan could not be loaded.');
      $('summary').textContent = 'This link does not open a plan.';
      return;
    }
    plan = planned.data;
    plan.display_name = index.data.display_name || '';
    showReminders(index.data.reminders);
    const p = plan.procedure;
    $('summary').textContent = (plan.display_name ? plan.display_name + ', your ' : 'Your ') +
      `treatment (${p.areas.join(', ')}) ended ${when(p.end, undefined, { withYear: true })}.`;
    await loadStatus();
    setInterval(tick, 15000);
    document.body.classList.add('ready');
  }

  start();
})();
