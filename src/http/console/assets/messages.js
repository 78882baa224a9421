// A topic's messages: one partition from an offset or a timestamp, oldest or
// newest first, paged; key, value and headers as text, pretty JSON or hex
// (detected per field unless chosen); a form to produce a test record.

import { api, h, toast, fmtTime, field } from './api.js';

const enc = encodeURIComponent;

function bytesOf(field) {
  const bin = atob(field.base64);
  return Uint8Array.from(bin, c => c.charCodeAt(0));
}

function hex(field) {
  const b = bytesOf(field), lines = [];
  for (let i = 0; i < b.length; i += 16) {
    lines.push(Array.from(b.slice(i, i + 16), x => x.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n');
}

function printable(s) {
  return !/[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/.test(s);
}

/** The format `auto` picks for a field: json, text or hex. */
export function detect(field) {
  if (field.text == null || !printable(field.text)) return 'hex';
  const t = field.text.trim();
  if ((t.startsWith('{') || t.startsWith('[')) && !field.truncated) {
    try { JSON.parse(t); return 'json'; } catch { /* text */ }
  }
  return 'text';
}

function show(field, mode) {
  if (!field) return h('span', { class: 'null' }, 'null');
  const m = mode === 'auto' ? detect(field) : mode;
  let text;
  if (m === 'json') {
    try { text = JSON.stringify(JSON.parse(field.text), null, 2); } catch { text = field.text ?? hex(field); }
  } else if (m === 'text') {
    text = field.text ?? new TextDecoder().decode(bytesOf(field));
  } else {
    text = hex(field);
  }
  const more = field.truncated ? ` … (${field.size} bytes)` : '';
  return h('pre', { 'data-format': m, title: `${m}, ${field.size} bytes` }, text + more);
}

const formatSelect = label => field(label,
  h('select', {}, ['auto', 'text', 'json', 'hex'].map(v => h('option', { value: v }, v === 'auto' ? 'detect' : v))));

export async function render(main, name) {
  const topic = await api(`/api/topics/${enc(name)}`);
  const partition = h('select', { name: 'partition' }, topic.partitions.map(p => h('option', { value: p.partition }, String(p.partition))));
  const from = h('select', { name: 'from' },
    h('option', { value: 'oldest' }, 'Oldest first'), h('option', { value: 'newest' }, 'Newest first'),
    h('option', { value: 'offset' }, 'From offset'), h('option', { value: 'timestamp' }, 'From time'));
  const offset = h('input', { name: 'offset', type: 'number', min: 0, placeholder: 'offset' });
  const time = h('input', { name: 'timestamp', type: 'datetime-local', step: 1 });
  const limit = h('select', { name: 'limit' }, [20, 50, 100, 500].map(n => h('option', { value: n, selected: n === 50 }, String(n))));
  const formats = { key: formatSelect('Key as'), value: formatSelect('Value as'), headers: formatSelect('Headers as') };
  const results = h('div', { 'aria-live': 'polite' });
  const pager = h('div', { class: 'actions' });
  const query = h('form', { class: 'card', 'aria-label': 'Which messages' },
    field('Partition', partition), field('Start', from),
    field('Offset', offset), field('Time (UTC)', time), field('Page size', limit),
    h('button', { type: 'submit' }, 'Show messages'));
  const sync = () => { offset.disabled = from.value !== 'offset'; time.disabled = from.value !== 'timestamp'; };
  from.addEventListener('change', sync); sync();

  let page = null, history = [];
  const draw = () => {
    if (!page) return;
    const fk = formats.key.querySelector('select').value, fv = formats.value.querySelector('select').value;
    const fh = formats.headers.querySelector('select').value;
    const rows = page.messages.map(m => h('tr', {},
      h('th', { scope: 'row', class: 'num' }, String(m.offset)),
      h('td', {}, fmtTime(m.timestamp)),
      h('td', {}, show(m.key, fk)),
      h('td', {}, show(m.value, fv)),
      h('td', {}, m.headers.length ? h('dl', { class: 'facts' }, m.headers.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, show(v, fh))])) : '')));
    results.replaceChildren(h('div', { class: 'scroll' }, h('table', {},
      h('caption', {}, `Partition ${page.partition}: offsets ${page.log_start_offset} to ${page.high_watermark}, ${page.messages.length} shown, ${page.order} first`),
      h('thead', {}, h('tr', {}, ['Offset', 'Timestamp', 'Key', 'Value', 'Headers'].map(c => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No messages.'))))));
  };
  Object.values(formats).forEach(f => f.addEventListener('change', draw));

  const load = async (params) => {
    const q = new URLSearchParams({ partition: partition.value, limit: limit.value, ...params });
    page = await api(`/api/topics/${enc(name)}/messages?${q}`);
    draw();
    pager.replaceChildren(
      h('button', { type: 'button', class: 'secondary', disabled: history.length < 2, onclick: () => { history.pop(); load(history[history.length - 1]).catch(e => toast(e.message, true)); } }, 'Previous page'),
      h('button', { type: 'button', class: 'secondary', disabled: page.next_offset == null, onclick: () => {
        const next = { order: page.order, offset: page.next_offset };
        history.push(next); load(next).catch(e => toast(e.message, true));
      } }, 'Next page'));
  };
  const first = () => {
    const p = { order: from.value === 'newest' ? 'newest' : 'oldest' };
    if (from.value === 'offset' && offset.value !== '') p.offset = offset.value;
    if (from.value === 'timestamp' && time.value) p.timestamp = Date.parse(time.value + 'Z');
    history = [p];
    return load(p);
  };
  query.addEventListener('submit', ev => { ev.preventDefault(); first().catch(e => toast(e.message, true)); });

  main.append(
    h('h1', {}, `Messages of ${name}`),
    h('p', {}, h('a', { href: `#/topics/${enc(name)}` }, `Back to topic ${name}`)),
    query,
    h('div', { class: 'actions', style: 'margin:.75rem 0' }, Object.values(formats)),
    results, pager,
    produceForm(name, topic.partitions.length, first));
  await first();
}

function produceForm(name, partitions, reload) {
  const partition = h('select', { name: 'partition' }, h('option', { value: '' }, 'by key'),
    Array.from({ length: partitions }, (_, i) => h('option', { value: i }, String(i))));
  const key = h('input', { name: 'key', autocomplete: 'off' });
  const value = h('textarea', { name: 'value', rows: 3 });
  const headers = h('textarea', { name: 'headers', rows: 2, placeholder: 'name=value, one per line' });
  const form = h('form', { class: 'card action', 'aria-labelledby': 'produce-h' },
    h('h2', { id: 'produce-h', style: 'width:100%;margin:0' }, 'Produce a record'),
    field('Partition', partition), field('Key (empty = null)', key),
    field('Value', value, { style: 'flex:1 1 16rem' }), field('Headers', headers),
    h('button', { type: 'submit' }, 'Produce'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const hs = headers.value.split('\n').filter(l => l.trim()).map(l => {
      const i = l.indexOf('=');
      return i < 0 ? [l.trim(), ''] : [l.slice(0, i).trim(), l.slice(i + 1)];
    });
    try {
      const r = await api(`/api/topics/${enc(name)}/messages`, { method: 'POST', body: {
        partition: partition.value === '' ? null : Number(partition.value),
        key: key.value === '' ? null : key.value, value: value.value, headers: hs } });
      toast(`Produced to partition ${r.partition} at offset ${r.offset}`);
      await reload();
    } catch (e) { toast(e.message, true); }
  });
  return form;
}
