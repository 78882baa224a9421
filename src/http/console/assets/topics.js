// Topics: the list (partitions, records, size, record rate, cleanup policy,
// retention) with a create form; a topic's page with its partitions, its
// configs (edited through IncrementalAlterConfigs' validation) and delete.

import { api, h, table, fmtBytes, fmtNum, toast, actionButton, every, field } from './api.js';

const enc = encodeURIComponent;
const link = t => h('a', { href: `#/topics/${enc(t)}` }, t);
const sum = (ps, f) => ps.reduce((a, p) => a + f(p), 0);

export async function renderList(main) {
  const body = h('div', {});
  const form = createForm();
  main.append(h('h1', {}, 'Topics'), body, form);
  let last = null;
  const configs = new Map();
  const stop = every(5000, async () => {
    const topics = await api('/api/topics');
    const now = Date.now();
    for (const t of topics.filter(t => !configs.has(t.name)).slice(0, 50)) {
      configs.set(t.name, await api(`/api/topics/${enc(t.name)}/configs`).catch(() => []));
    }
    const cfg = (t, k) => (configs.get(t) || []).find(c => c.name === k)?.value ?? '–';
    const rows = topics.map(t => {
      const end = sum(t.partitions, p => p.log_end_offset);
      const prev = last && last.ends.get(t.name);
      const rate = prev != null ? (end - prev) / ((now - last.at) / 1000) : null;
      return [link(t.name), String(t.partitions.length), fmtNum(sum(t.partitions, p => p.log_end_offset - p.log_start_offset)),
        fmtBytes(sum(t.partitions, p => p.size_bytes)), rate == null ? '–' : fmtNum(rate, 1),
        cfg(t.name, 'cleanup.policy'), cfg(t.name, 'retention.ms')];
    });
    last = { at: now, ends: new Map(topics.map(t => [t.name, sum(t.partitions, p => p.log_end_offset)])) };
    body.replaceChildren(table(`${topics.length} topics`,
      ['Topic', 'Partitions', 'Records', 'Size', 'Records/s', 'cleanup.policy', 'retention.ms'], rows,
      { numeric: [1, 2, 3, 4] }));
  });
  return stop;
}

function createForm() {
  const name = h('input', { name: 'name', required: true, pattern: '[a-zA-Z0-9._\\-]+', maxlength: 249, autocomplete: 'off' });
  const parts = h('input', { name: 'partitions', type: 'number', min: 1, placeholder: 'broker default' });
  const policy = h('select', { name: 'cleanup.policy' }, ['', 'delete', 'compact', 'compact,delete'].map(v => h('option', { value: v }, v || 'broker default')));
  const retention = h('input', { name: 'retention.ms', inputmode: 'numeric', placeholder: 'broker default' });
  const form = h('form', { class: 'card action', 'aria-labelledby': 'create-h' },
    h('h2', { id: 'create-h', style: 'width:100%;margin:0' }, 'Create a topic'),
    field('Name', name), field('Partitions', parts),
    field('cleanup.policy', policy), field('retention.ms', retention),
    h('button', { type: 'submit' }, 'Create topic'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const configs = {};
    if (policy.value) configs['cleanup.policy'] = policy.value;
    if (retention.value) configs['retention.ms'] = retention.value;
    try {
      await api('/api/topics', { method: 'POST', body: { name: name.value, partitions: parts.value ? Number(parts.value) : null, configs } });
      toast(`Created ${name.value}`);
      location.hash = `#/topics/${enc(name.value)}`;
    } catch (e) { toast(e.message, true); }
  });
  return form;
}

export async function renderTopic(main, name) {
  const t = await api(`/api/topics/${enc(name)}`);
  const configsBox = h('div', {});
  main.append(
    h('h1', {}, `Topic ${name}`),
    h('p', { class: 'actions' },
      h('a', { href: `#/topics/${enc(name)}/messages` }, 'Browse messages'),
      h('span', { class: 'muted' }, `id ${t.topic_id}${t.internal ? ' · internal' : ''}`)),
    h('section', {}, table('Partitions', ['Partition', 'Start offset', 'End offset', 'Records', 'Size', 'Segments'],
      t.partitions.map(p => [String(p.partition), fmtNum(p.log_start_offset), fmtNum(p.log_end_offset),
        fmtNum(p.log_end_offset - p.log_start_offset), fmtBytes(p.size_bytes), String(p.segments)]),
      { numeric: [1, 2, 3, 4, 5] })),
    h('section', { 'aria-labelledby': 'cfg-h' }, h('h2', { id: 'cfg-h' }, 'Configs'), configsBox),
    deleteSection(name));
  const load = async () => {
    const configs = await api(`/api/topics/${enc(name)}/configs`);
    configsBox.replaceChildren(editForm(name, configs, load), table('Effective configs (set on the topic in bold)',
      ['Key', 'Value', 'Source', ''], configs.map(c => [
        c.source === 'DYNAMIC_TOPIC_CONFIG' ? h('strong', {}, c.name) : c.name,
        c.sensitive ? '(sensitive)' : (c.value ?? 'null'), c.source,
        c.source === 'DYNAMIC_TOPIC_CONFIG' && !c.read_only
          ? actionButton('Reset to default', async () => {
            await api(`/api/topics/${enc(name)}/configs`, { method: 'POST', body: { delete: [c.name] } });
            toast(`${c.name} reset`); await load();
          }, 'secondary') : ''])));
  };
  await load();
}

function editForm(name, configs, reload) {
  const key = h('select', { name: 'key' }, configs.filter(c => !c.read_only).map(c => h('option', { value: c.name }, c.name)));
  const value = h('input', { name: 'value', autocomplete: 'off' });
  const fill = () => { value.value = configs.find(c => c.name === key.value)?.value ?? ''; };
  key.addEventListener('change', fill); fill();
  const form = h('form', { class: 'card action', 'aria-label': 'Edit a config' },
    field('Config', key), field('Value', value),
    h('button', { type: 'submit' }, 'Save config'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    try {
      await api(`/api/topics/${enc(name)}/configs`, { method: 'POST', body: { set: { [key.value]: value.value } } });
      toast(`${key.value} = ${value.value}`);
      await reload();
    } catch (e) { toast(e.message, true); }
  });
  return form;
}

function deleteSection(name) {
  const confirmInput = h('input', { autocomplete: 'off', 'aria-describedby': 'del-help' });
  const yes = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Delete');
  confirmInput.addEventListener('input', () => { yes.disabled = confirmInput.value !== name; });
  const dialog = h('dialog', { 'aria-labelledby': 'del-h' },
    h('form', { method: 'dialog', class: 'stack' },
      h('h2', { id: 'del-h' }, `Delete topic ${name}?`),
      h('p', { id: 'del-help' }, 'All its messages are removed. Type the topic name to confirm.'),
      field('Topic name', confirmInput),
      h('div', { class: 'actions' }, yes, h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'))));
  dialog.querySelector('form').addEventListener('submit', async ev => {
    ev.preventDefault();
    try {
      await api(`/api/topics/${enc(name)}`, { method: 'DELETE' });
      dialog.close();
      toast(`Deleted ${name}`);
      location.hash = '#/topics';
    } catch (e) { toast(e.message, true); }
  });
  return h('section', { class: 'action' }, dialog,
    h('button', { type: 'button', class: 'danger', onclick: () => { confirmInput.value = ''; yes.disabled = true; dialog.showModal(); } }, 'Delete topic…'));
}
