// Overview: the broker's identity, uptime, listeners, data dir usage, and
// produce/fetch throughput live from the /api/stream event stream.

import { api, h, table, fmtBytes, fmtNum, fmtDuration, consoleState } from './api.js';
import { LineChart } from './chart.js';

export async function render(main) {
  const b = await api('/api/broker');
  const info = consoleState.info || (await api('/api/console'));
  const uptime = h('dd', {}, fmtDuration(b.uptime_seconds));
  const started = Date.now() - b.uptime_seconds * 1000;
  const total = b.data_dir_total_bytes, free = b.data_dir_free_bytes;
  const used = total != null && free != null ? total - free : null;
  const bytes = new LineChart('Bytes per second', ['produce', 'fetch'], { format: v => fmtBytes(v) + '/s' });
  const records = new LineChart('Records per second', ['produce', 'fetch'], { format: v => fmtNum(v, 1) + '/s' });
  main.append(
    h('h1', {}, 'Overview'),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'broker-h' },
        h('h2', { id: 'broker-h' }, 'Broker'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Node id'), h('dd', { 'data-testid': 'node-id' }, b.node_id),
          h('dt', {}, 'Cluster id'), h('dd', {}, b.cluster_id),
          h('dt', {}, 'Version'), h('dd', {}, b.version),
          h('dt', {}, 'Uptime'), uptime)),
      h('section', { class: 'card', 'aria-labelledby': 'disk-h' },
        h('h2', { id: 'disk-h' }, 'Data directory'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Path'), h('dd', {}, info.data_dir),
          h('dt', {}, 'Used'), h('dd', {}, used == null ? '–' : `${fmtBytes(used)} of ${fmtBytes(total)}`),
          h('dt', {}, 'Free'), h('dd', {}, fmtBytes(free))),
        used == null ? null : h('meter', { min: 0, max: total, value: used, 'aria-label': 'Data directory usage' }))),
    h('section', {}, table('Listeners', ['Name', 'Host', 'Port'],
      info.listeners.map(l => [l.name, l.host, String(l.port)]))),
    h('section', { 'aria-labelledby': 'tp-h' },
      h('h2', { id: 'tp-h' }, 'Throughput'),
      h('div', { class: 'grid' }, bytes.el, records.el)));
  bytes.draw(); records.draw();
  const es = new EventSource('/api/stream');
  es.addEventListener('rates', ev => {
    const r = JSON.parse(ev.data);
    bytes.push([r.produce_bytes_per_sec, r.fetch_bytes_per_sec]);
    records.push([r.produce_records_per_sec, r.fetch_records_per_sec]);
    uptime.textContent = fmtDuration((Date.now() - started) / 1000);
  });
  const redraw = () => { bytes.draw(); records.draw(); };
  window.addEventListener('resize', redraw);
  return () => { es.close(); window.removeEventListener('resize', redraw); };
}
