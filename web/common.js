// Shared by the patient page and the clinic page: building the DOM without innerHTML (every text from the API goes
// in as text), calling the API, and writing times. Times from the API carry the patient's zone offset
// ("2026-11-28T14:00-05:00"): the wall-clock part is already the patient's local time, so it is shown as written.
'use strict';

const Aftercare = (() => {
  // h('p', {class: 'x'}, 'text', child...) → element. Attributes starting with "on" are listeners.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function clear(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return el;
  }

  // Calls the API: {ok, status, data (parsed JSON or text), message (the error's, for people)}.
  async function api(path, { method = 'GET', body, token } = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      return { ok: false, status: 0, data: null, message: 'The server cannot be reached. Check your connection.' };
    }
    const type = response.headers.get('Content-Type') || '';
    const data = type.startsWith('application/json') ? await response.json() : await response.text();
    const message = !response.ok && data && data.error ? data.error.message : '';
    return { ok: response.ok, status: response.status, data, message };
  }

  const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // "2026-11-28T14:00+00:00" → the wall-clock parts as written.
  function parts(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(iso || '');
    if (!m) return null;
    const [y, mo, d, hh, mm] = m.slice(1).map(Number);
    const weekday = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
    return { y, mo, d, hh, mm, weekday, key: m[0].replace(' ', 'T') };
  }

  const pad = (n) => String(n).padStart(2, '0');

  // "Sat 14:00" within the coming six days of `ref` (ms), else "Sat 12 Dec 14:00"; "Sat 12 Dec 2026 14:00" with year.
  function when(iso, ref, { withYear = false } = {}) {
    const p = parts(iso);
    if (!p) return '';
    const t = Date.parse(iso);
    const hm = pad(p.hh) + ':' + pad(p.mm);
    if (ref !== undefined && t >= ref && t - ref < 6 * 86400e3) return `${WEEKDAYS[p.weekday]} ${hm}`;
    return `${WEEKDAYS[p.weekday]} ${p.d} ${MONTHS[p.mo - 1]}${withYear ? ' ' + p.y : ''} ${hm}`;
  }

  // "5 h 20 min", "2 d 3 h", "45 min": whole minutes, rounded up, as a countdown reads.
  function span(ms) {
    let minutes = Math.ceil(ms / 60e3);
    if (minutes < 1) return '0 min';
    const d = Math.floor(minutes / 1440);
    minutes -= d * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    if (d > 0) return hours ? `${d} d ${hours} h` : `${d} d`;
    if (hours > 0) return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
    return `${minutes} min`;
  }

  // The wall-clock "YYYY-MM-DDTHH:MM" of `iso` moved by whole days (as the engine does for day offsets).
  function addDays(iso, days) {
    const p = parts(iso);
    const t = new Date(Date.UTC(p.y, p.mo - 1, p.d + days, p.hh, p.mm));
    return t.toISOString().slice(0, 16);
  }

  const VERDICT = {
    avoid: 'Avoid',
    caution: 'Be careful',
    recommended: 'Recommended',
    allowed: 'Allowed',
    not_covered: 'Not covered by the sheet',
    unknown: 'Not known to us — ask your clinic',
  };

  return { h, clear, api, parts, when, span, addDays, pad, VERDICT, WEEKDAYS, MONTHS };
})();
