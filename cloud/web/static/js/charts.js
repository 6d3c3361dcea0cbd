// Two small SVG charts (a line over time, bars per day), drawn here so that nothing is fetched
// from outside the intranet.
import { t } from './i18n.js';
import { h, svg } from './ui.js';

const W = 560;
const H = 160;
const PAD = { l: 40, r: 8, t: 8, b: 22 };

function axisMax(values) {
  const top = Math.max(1, ...values);
  const step = 10 ** Math.floor(Math.log10(top));
  return Math.ceil(top / step) * step;
}

export function lineChart(title, series) {
  const box = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  const points = series.flatMap((s) => s.points);
  if (!points.length) {
    box.append(h('p', { class: 'muted' }, t('no_data')));
    return box;
  }
  const times = points.map((p) => new Date(p.t).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1);
  const top = axisMax(points.map((p) => p.value));
  const x = (ms) => PAD.l + ((ms - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': title });
  chart.append(
    svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(0), y2: y(0), class: 'axis' }),
    svg('text', { x: PAD.l - 4, y: y(top) + 10, 'text-anchor': 'end', class: 'label' }, String(top)),
    svg('text', { x: PAD.l - 4, y: y(0), 'text-anchor': 'end', class: 'label' }, '0'),
  );
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${x(new Date(p.t).getTime()).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
    chart.append(svg('path', { d, class: `line c${i % 6}` }, svg('title', {}, s.name)));
    if (s.points.length < 60) { // few points: mark each, or a lone one would not show at all
      for (const p of s.points) chart.append(svg('circle', { cx: x(new Date(p.t).getTime()), cy: y(p.value), r: 3, class: `dotc c${i % 6}` }));
    }
  });
  const fmt = (ms) => new Date(ms).toTimeString().slice(0, 5);
  chart.append(
    svg('text', { x: PAD.l, y: H - 6, class: 'label' }, fmt(t0)),
    svg('text', { x: W - PAD.r, y: H - 6, 'text-anchor': 'end', class: 'label' }, fmt(t1)),
  );
  box.append(chart, h('div', { class: 'legend' }, series.map((s, i) => h('span', { class: `c${i % 6}` }, s.name))));
  return box;
}

// bars: [{label, value, part}] where `part` (e.g. false alarms) is drawn inside the bar;
// legend: the names of the whole and of the part.
export function barChart(title, bars, legend = []) {
  const box = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  if (!bars.length) {
    box.append(h('p', { class: 'muted' }, t('no_data')));
    return box;
  }
  const top = axisMax(bars.map((b) => b.value));
  const slot = (W - PAD.l - PAD.r) / bars.length;
  const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': title });
  chart.append(svg('text', { x: PAD.l - 4, y: y(top) + 10, 'text-anchor': 'end', class: 'label' }, String(top)));
  bars.forEach((b, i) => {
    const x = PAD.l + i * slot + slot * 0.15;
    chart.append(svg('rect', { x, y: y(b.value), width: slot * 0.7, height: y(0) - y(b.value), class: 'bar' },
      svg('title', {}, `${b.label}: ${b.value}`)));
    if (b.part) chart.append(svg('rect', { x, y: y(b.part), width: slot * 0.7, height: y(0) - y(b.part), class: 'bar part' }));
    if (i === 0 || i === bars.length - 1 || bars.length <= 10) {
      chart.append(svg('text', { x: x + slot * 0.35, y: H - 6, 'text-anchor': 'middle', class: 'label' }, b.label.slice(5)));
    }
  });
  box.append(chart, h('div', { class: 'legend' }, legend.map((name, i) => h('span', { class: i ? 'bar-part' : 'bar-whole' }, `■ ${name}`))));
  return box;
}
