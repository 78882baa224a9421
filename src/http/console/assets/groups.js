// Consumer groups: the list with their lag; a group's page with state,
// protocol, members and assignments, committed/end offsets and lag per
// partition, a lag-over-time chart (sampled while the page is open) and an
// offset reset with a preview. Share groups show each share-partition's start
// offset where other groups show the committed offset (and no reset).

import { api, h, table, fmtNum, toast, every, consoleState, field } from './api.js';
import { LineChart } from './chart.js';

const enc = encodeURIComponent;
const totalLag = g => g.partitions.reduce((a, p) => a + p.lag, 0);

export async function renderList(main) {
  const body = h('div', {});
  main.append(h('h1', {}, 'Consumer groups'), body);
  return every(3000, async () => {
    const groups = await api('/api/groups');
    body.replaceChildren(table(`${groups.length} groups`, ['Group', 'Type', 'State', 'Members', 'Partitions', 'Total lag'],
      groups.map(g => [h('a', { href: `#/groups/${enc(g.group_id)}` }, g.group_id), g.group_type, g.state,
        String(g.members), String(g.partitions.length), fmtNum(totalLag(g))]), { numeric: [3, 4, 5] }));
  });
}

export async function renderGroup(main, id) {
  const head = h('div', {}), members = h('div', {}), offsets = h('div', {});
  const chart = new LineChart('Total lag (records)', ['lag'], { points: 150, format: v => fmtNum(v) });
  const reset = resetSection(id);
  main.append(h('h1', {}, `Group ${id}`), head,
    h('section', { 'aria-labelledby': 'off-h' }, h('h2', { id: 'off-h' }, 'Offsets and lag'), offsets),
    h('section', {}, chart.el),
    h('section', { 'aria-labelledby': 'mem-h' }, h('h2', { id: 'mem-h' }, 'Members'), members),
    reset.el);
  chart.draw();
  const stop = every(2000, async () => {
    const [g, d] = await Promise.all([api(`/api/groups/${enc(id)}`), api(`/api/groups/${enc(id)}/detail`)]);
    head.replaceChildren(h('dl', { class: 'facts card' },
      h('dt', {}, 'State'), h('dd', { 'data-testid': 'group-state' }, d.state),
      h('dt', {}, 'Type'), h('dd', {}, d.group_type),
      h('dt', {}, 'Protocol'), h('dd', {}, [d.protocol_type, d.protocol].filter(Boolean).join(' / ') || '–'),
      h('dt', {}, 'Total lag'), h('dd', { 'data-testid': 'total-lag' }, fmtNum(totalLag(g)))));
    const share = d.group_type === 'share';
    offsets.replaceChildren(table('Per partition', ['Topic', 'Partition', share ? 'Start offset' : 'Committed', 'End offset', 'Lag', 'Lag (s)'],
      g.partitions.map(p => [h('a', { href: `#/topics/${enc(p.topic)}` }, p.topic), String(p.partition),
        fmtNum(p.committed), fmtNum(p.log_end_offset), fmtNum(p.lag), fmtNum(p.lag_seconds, 1)]), { numeric: [1, 2, 3, 4, 5] }));
    members.replaceChildren(table(`${d.members.length} members`, ['Member', 'Client id', 'Host', 'Assignment'],
      d.members.map(m => [m.member_id, m.client_id, m.client_host,
        Object.entries(m.assignment).map(([t, ps]) => `${t}: ${ps.join(', ')}`).join('; ') || '–'])));
    chart.push([totalLag(g)]);
    reset.el.hidden = share;
    reset.update(d.state, g.partitions);
  });
  return stop;
}

function resetSection(id) {
  const topic = h('select', { name: 'topic' }, h('option', { value: '' }, 'every committed partition'));
  const to = h('select', { name: 'to' }, ['earliest', 'latest', 'timestamp', 'offset'].map(v => h('option', { value: v }, v)));
  const value = h('input', { name: 'value', inputmode: 'numeric', placeholder: 'offset or ms since epoch', disabled: true });
  const note = h('p', { class: 'muted' });
  const plan = h('div', { 'aria-live': 'polite' });
  const apply = h('button', { type: 'button', class: 'danger', disabled: true }, 'Reset offsets');
  let state = '', previewed = false;
  to.addEventListener('change', () => { value.disabled = !['timestamp', 'offset'].includes(to.value); previewed = false; apply.disabled = true; });
  const body = () => ({ topic: topic.value || null, to: to.value, value: value.value === '' ? null : Number(value.value) });
  const form = h('form', { 'aria-label': 'Reset offsets' },
    field('Topic', topic), field('To', to), field('Value', value),
    h('button', { type: 'submit', class: 'secondary' }, 'Preview'), apply);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    try {
      const r = await api(`/api/groups/${enc(id)}/reset`, { method: 'POST', body: { ...body(), dry_run: true } });
      plan.replaceChildren(table('Preview', ['Topic', 'Partition', 'Committed now', 'New offset'],
        r.partitions.map(p => [p.topic, String(p.partition), p.current == null ? '–' : fmtNum(p.current), fmtNum(p.target)]), { numeric: [1, 2, 3] }));
      previewed = true;
      apply.disabled = !(state === 'Empty' || state === 'Dead');
    } catch (e) { toast(e.message, true); }
  });
  apply.addEventListener('click', async () => {
    apply.disabled = true;
    try {
      const r = await api(`/api/groups/${enc(id)}/reset`, { method: 'POST', body: { ...body(), dry_run: false } });
      toast(`Reset ${r.partitions.length} partitions`);
      plan.replaceChildren();
      previewed = false;
    } catch (e) { toast(e.message, true); }
  });
  const el = h('section', { class: 'card', 'aria-labelledby': 'reset-h' },
    h('h2', { id: 'reset-h' }, 'Reset offsets'), note, consoleState.readOnly ? h('p', { class: 'muted' }, 'Read-only console.') : form, plan);
  return {
    el,
    update(newState, partitions) {
      state = newState;
      note.textContent = state === 'Empty' || state === 'Dead'
        ? 'The group is inactive: its offsets can be reset.'
        : `The group is ${state}: stop its consumers to reset offsets (preview works now).`;
      if (previewed) apply.disabled = !(state === 'Empty' || state === 'Dead');
      const known = new Set(Array.from(topic.options, o => o.value));
      for (const t of new Set(partitions.map(p => p.topic))) {
        if (!known.has(t)) topic.append(h('option', { value: t }, t));
      }
    },
  };
}
