// Fetch helpers, a tiny DOM builder and formatters shared by the pages.

export const consoleState = { readOnly: false };

/** JSON from the broker; throws an Error with the broker's message. */
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text.trim() }; }
  if (!res.ok) {
    // No session (it expired, or the user logged out elsewhere): the app shows the login.
    if (res.status === 401 && path !== '/api/login') window.dispatchEvent(new Event('weir-login-needed'));
    const e = new Error(data && data.message ? `${data.error ? data.error + ': ' : ''}${data.message}` : `HTTP ${res.status}`);
    e.status = res.status;
    throw e;
  }
  return data;
}

/** h('tag', {attr: value, onclick: fn}, child, ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A table with a caption, column headers and rows of cells. */
export function table(caption, headers, rows, { numeric = [] } = {}) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((c, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, c)))),
    h('tbody', {}, rows.length
      ? rows.map(r => h('tr', {}, r.map((c, i) => i === 0
        ? h('th', { scope: 'row' }, c)
        : h('td', { class: numeric.includes(i) ? 'num' : null }, c))))
      : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'None.')))));
}

export function fmtBytes(n) {
  if (n == null || isNaN(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

export function fmtNum(n, digits = 0) {
  if (n == null || isNaN(n)) return '–';
  return Number(n).toLocaleString('en', { maximumFractionDigits: digits });
}

export function fmtDuration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return [d && `${d}d`, (d || hh) && `${hh}h`, `${m}m`, `${s % 60}s`].filter(Boolean).join(' ');
}

export function fmtTime(ms) {
  return ms >= 0 ? new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC') : '–';
}

export function toast(message, error = false) {
  const box = document.getElementById('toast');
  const el = h('div', { class: error ? 'error' : null }, message);
  box.append(el);
  setTimeout(() => el.remove(), error ? 8000 : 4000);
}

/** A button that runs an async action, disabled meanwhile; errors become toasts. */
export function actionButton(label, action, cls = '') {
  const b = h('button', { type: 'button', class: `action ${cls}` }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await action(); } catch (e) { toast(e.message, true); } finally { b.disabled = false; }
  });
  return b;
}

/** Run `fn` now and every `ms` while the page is shown; returns a stop function. */
export function every(ms, fn) {
  let stopped = false, timer = null;
  const tick = async () => {
    try { await fn(); } catch (e) { /* shown by the page */ }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

let fieldIds = 0;
/** A labelled form control: <label for> beside the control (not around it, so
 * the control's accessible name is the label alone). */
export function field(text, control, attrs = {}) {
  if (!control.id) control.id = `f${++fieldIds}`;
  return h('div', { class: 'field', ...attrs }, h('label', { for: control.id }, text), control);
}
