// The clinic page: staff log in (POST /api/v1/login), register a procedure, hand over the patient's link with its
// QR code, follow active patients (day count, symptoms outside the expected window) and treatment series. Only the
// staff API is used; the API token lives in this tab's sessionStorage and goes away with the tab or "Log out".
'use strict';

(() => {
  const { h, clear, api, when, pad } = Aftercare;
  const $ = (id) => document.getElementById(id);
  const KEY = 'aftercare.staff';
  const ZONE_KEY = 'aftercare.zone';
  let token = sessionStorage.getItem(KEY) || '';

  function showError(message) {
    $('error').textContent = message || '';
    $('error').hidden = !message;
  }

  async function staffApi(path, options = {}) {
    const r = await api(path, { ...options, token });
    if (r.status === 401) {
      logout();
      showError('Your session has ended; please log in again.');
    }
    return r;
  }

  function logout() {
    token = '';
    sessionStorage.removeItem(KEY);
    $('staff').hidden = true;
    $('login').hidden = false;
    $('logout').hidden = true;
    $('who').textContent = 'Staff only.';
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Log in
  // ---------------------------------------------------------------------------------------------------------------

  async function login(event) {
    event.preventDefault();
    showError('');
    const r = await api('/api/v1/login', {
      method: 'POST', body: { login: $('login-name').value.trim(), password: $('login-password').value },
    });
    if (!r.ok) {
      showError(r.message || 'The login or password is not right.');
      return;
    }
    token = r.data.token;
    sessionStorage.setItem(KEY, token);
    $('login-password').value = '';
    $('who').textContent = 'Logged in as ' + $('login-name').value.trim() + '.';
    await showStaff();
  }

  async function useToken(event) {
    event.preventDefault();
    token = $('api-token').value.trim();
    sessionStorage.setItem(KEY, token);
    $('api-token').value = '';
    await showStaff();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Register
  // ---------------------------------------------------------------------------------------------------------------

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch (e) {
      return 'UTC';
    }
  }

  // The wall-clock time now in `zone`, as a datetime-local value.
  function localNow(zone) {
    try {
      const f = new Intl.DateTimeFormat('en-GB', {
        timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
        hourCycle: 'h23',
      });
      const p = Object.fromEntries(f.formatToParts(new Date()).map((x) => [x.type, x.value]));
      return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
    } catch (e) {
      const d = new Date();
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    }
  }

  function fillZones() {
    const zone = localStorage.getItem(ZONE_KEY) || browserZone();
    $('zone').value = zone;
    if (typeof Intl.supportedValuesOf === 'function') {
      clear($('zones'), Intl.supportedValuesOf('timeZone').map((z) => h('option', { value: z })));
    }
    if (!$('procedure-end').value) $('procedure-end').value = localNow(zone);
  }

  async function loadProtocol() {
    const r = await staffApi('/api/v1/protocol');
    if (!r.ok) return false;
    const fieldset = $('areas');
    clear(fieldset, h('legend', {}, 'Treated areas'),
      r.data.areas.map((a, i) => h('div', { class: 'check' },
        h('input', { type: 'checkbox', id: 'area-' + a.id, name: 'areas', value: a.id, checked: i === 0 }),
        h('label', { for: 'area-' + a.id }, a.label[0].toUpperCase() + a.label.slice(1)))));
    return true;
  }

  function linkCard(title, registered) {
    const link = registered.patient_link;
    const token = registered.patient_token;
    const copy = h('button', { type: 'button', onclick: async () => {
      try {
        await navigator.clipboard.writeText(link);
        copy.textContent = 'Copied';
      } catch (e) {
        const field = document.getElementById('patient-link-text');
        field.focus();
        field.select();
      }
    } }, 'Copy the link');
    return [
      h('h3', {}, title),
      h('p', {}, 'Give this link to the patient now — scan the code with their phone, or copy it. ',
        h('strong', {}, 'It is shown only once.')),
      h('img', { class: 'qr', src: '/api/v1/p/' + encodeURIComponent(token) + '/qr.svg', width: 220, height: 220,
                 alt: 'QR code of the patient’s private link' }),
      h('label', { for: 'patient-link-text' }, 'Patient link'),
      h('input', { id: 'patient-link-text', type: 'text', readonly: true, value: link }),
      h('p', { class: 'actions' }, copy, ' ',
        h('a', { id: 'patient-link', class: 'button', href: link, target: '_blank', rel: 'noopener' },
          'Open the patient’s page')),
    ];
  }

  async function register(event) {
    event.preventDefault();
    showError('');
    const areas = [...document.querySelectorAll('#areas input:checked')].map((i) => i.value);
    if (!areas.length) {
      showError('Tick at least one treated area.');
      return;
    }
    const body = {
      reference: $('reference').value.trim(),
      procedure_end: $('procedure-end').value,
      zone: $('zone').value.trim(),
      areas,
    };
    if ($('display-name').value.trim()) body.display_name = $('display-name').value.trim();
    if ($('contact').value.trim()) body.contact = $('contact').value.trim();
    const r = await staffApi('/api/v1/procedures', { method: 'POST', body });
    if (!r.ok) {
      showError(r.message || 'The procedure could not be registered.');
      return;
    }
    localStorage.setItem(ZONE_KEY, body.zone);
    const card = $('registered');
    clear(card, linkCard('Registered: ' + r.data.procedure.reference, r.data));
    card.hidden = false;
    $('reference').value = '';
    $('display-name').value = '';
    $('contact').value = '';
    await loadPatients();
    card.querySelector('h3').setAttribute('tabindex', '-1');
    card.querySelector('h3').focus();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Active patients
  // ---------------------------------------------------------------------------------------------------------------

  const ASSESSMENT = {
    longer_than_expected: 'lasting longer than expected',
    earlier_than_expected: 'earlier than expected',
    not_described: 'not described by the sheet',
  };

  async function loadPatients() {
    const r = await staffApi('/api/v1/procedures?state=active&limit=100');
    if (!r.ok) {
      showError(r.message || 'The list could not be loaded.');
      return;
    }
    const body = $('patients-table').querySelector('tbody');
    clear(body, r.data.items.map((p) => {
      const alerts = p.symptom_alerts || [];
      return h('tr', { class: alerts.length ? 'alert' : null, dataset: { id: p.id } },
        h('th', { scope: 'row' }, p.reference, p.display_name ? h('span', { class: 'muted' }, ' ' + p.display_name) : null,
          p.series_number > 1 ? h('span', { class: 'tag' }, 'treatment ' + p.series_number) : null),
        h('td', {}, p.day >= 0 ? 'Day ' + p.day : 'starts ' + when(p.procedure_end)),
        h('td', {}, p.areas.join(', ')),
        h('td', {}, alerts.length
          ? [h('strong', { class: 'flag' }, 'Check'), ' ', alerts.map((a) => `“${a.words}”: ${ASSESSMENT[a.assessment] ||
              a.assessment}`).join('; ')]
          : 'as expected'),
        h('td', {}, h('button', { type: 'button', class: 'small', onclick: () => showSeries(p.id, p.reference),
                                  'aria-label': 'Series of ' + p.reference }, 'Series')));
    }));
    $('patients-empty').hidden = r.data.items.length > 0;
    $('patients-table').hidden = r.data.items.length === 0;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Series
  // ---------------------------------------------------------------------------------------------------------------

  async function showSeries(id, reference) {
    const r = await staffApi(`/api/v1/procedures/${id}/series`);
    if (!r.ok) {
      showError(r.message || 'The series could not be loaded.');
      return;
    }
    const s = r.data;
    const out = $('series-body');
    const latest = s.treatments[s.treatments.length - 1];
    const next = s.next_earliest;
    const form = next ? h('form', { id: 'follow-up-form', onsubmit: (e) => followUp(e, s.latest, reference) },
      h('label', { for: 'follow-up-end' }, 'Next treatment ended at (local time, ' + latest.zone + ')'),
      h('input', { id: 'follow-up-end', type: 'datetime-local', required: true, value: next.slice(0, 16),
                   min: next.slice(0, 16) }),
      h('button', { type: 'submit' }, 'Register the next treatment')) : null;
    clear(out,
      h('p', {}, `${reference}: treatment ${s.count}` + (s.max_count ? ` of ${s.min_count}–${s.max_count}` : '') + '.'),
      h('ol', { class: 'series' }, s.treatments.map((t) => h('li', {},
        when(t.procedure_end, undefined, { withYear: true }) + ' — ' + t.areas.join(', ')))),
      next ? h('p', { class: 'next' }, 'Next treatment from ', h('strong', { id: 'next-earliest' },
        when(next, undefined, { withYear: true })), ` (${s.min_interval} after the last).`)
        : h('p', { class: 'next' }, s.complete ? 'The series is complete.' : 'The protocol has no series.'),
      form,
      h('div', { id: 'follow-up-result', 'aria-live': 'polite' }));
    $('series').hidden = false;
    $('series-title').focus();
  }

  async function followUp(event, latestId, reference) {
    event.preventDefault();
    showError('');
    const r = await staffApi(`/api/v1/procedures/${latestId}/follow-ups`, {
      method: 'POST', body: { procedure_end: $('follow-up-end').value },
    });
    if (!r.ok) {
      showError(r.message || 'The treatment could not be registered.');
      return;
    }
    clear($('follow-up-result'), h('div', { class: 'card' }, linkCard('Next treatment registered: ' + reference, r.data)));
    await loadPatients();
  }

  // ---------------------------------------------------------------------------------------------------------------

  async function showStaff() {
    showError('');
    if (!(await loadProtocol())) {
      if (token) showError('That token is not valid.');
      logout();
      return;
    }
    $('login').hidden = true;
    $('staff').hidden = false;
    $('logout').hidden = false;
    fillZones();
    await loadPatients();
    document.body.classList.add('ready');
  }

  $('login-form').addEventListener('submit', login);
  $('token-form').addEventListener('submit', useToken);
  $('register-form').addEventListener('submit', register);
  $('refresh').addEventListener('click', loadPatients);
  $('logout').addEventListener('click', logout);
  if (token) showStaff();
  else document.body.classList.add('ready');
})();
