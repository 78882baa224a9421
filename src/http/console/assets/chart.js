// A small line chart on <canvas>: a window of the latest points of a few
// series, redrawn on each push. The legend and the latest values are text
// beside it (what a screen reader reads).

import { h } from './api.js';

/** An axis top of three ticks, each 1, 2 or 5 times a power of ten, at least `v`. */
function niceMax(v) {
  const t = Math.max(v / 3, 1);
  const p = 10 ** Math.floor(Math.log10(t));
  return [1, 2, 5, 10].map(m => m * p).find(m => m >= t) * 3;
}

const COLORS = ['#1d4ed8', '#d97706', '#059669', '#db2777'];

export class LineChart {
  constructor(title, labels, { points = 120, format = v => v.toFixed(0) } = {}) {
    this.labels = labels;
    this.points = points;
    this.format = format;
    this.data = labels.map(() => []);
    this.canvas = h('canvas', { class: 'chart', role: 'img', 'aria-label': title });
    this.values = labels.map(() => h('span', {}, '–'));
    this.el = h('figure', { class: 'card', style: 'margin:0' },
      h('figcaption', {}, h('strong', {}, title)),
      this.canvas,
      h('div', { class: 'legend' }, labels.map((l, i) =>
        h('span', {}, h('span', { class: 'swatch', style: `background:${COLORS[i]}` }), `${l}: `, this.values[i]))));
  }

  push(values) {
    values.forEach((v, i) => {
      const d = this.data[i];
      d.push(v);
      if (d.length > this.points) d.shift();
      this.values[i].textContent = this.format(v);
    });
    this.draw();
  }

  draw() {
    const c = this.canvas, ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth, hgt = c.clientHeight;
    if (!w || !hgt) return;
    c.width = w * ratio; c.height = hgt * ratio;
    const g = c.getContext('2d');
    g.scale(ratio, ratio);
    const style = getComputedStyle(document.documentElement);
    const fg = style.getPropertyValue('--muted') || '#666', line = style.getPropertyValue('--line') || '#ddd';
    const max = niceMax(Math.max(...this.data.flat(), 0));
    const left = 60, bottom = hgt - 16, top = 8, right = w - 8;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = fg; g.strokeStyle = line; g.lineWidth = 1;
    for (let k = 0; k <= 3; k++) {
      const y = bottom - (bottom - top) * k / 3;
      g.beginPath(); g.moveTo(left, y); g.lineTo(right, y); g.stroke();
      g.fillText(this.format(max * k / 3), 2, y + 4);
    }
    g.fillText(`last ${this.points} s`, left, hgt - 2);
    const step = (right - left) / (this.points - 1);
    this.data.forEach((d, i) => {
      g.strokeStyle = COLORS[i]; g.lineWidth = 2; g.beginPath();
      d.forEach((v, j) => {
        const x = right - (d.length - 1 - j) * step, y = bottom - (bottom - top) * v / max;
        j ? g.lineTo(x, y) : g.moveTo(x, y);
      });
      g.stroke();
    });
  }
}
