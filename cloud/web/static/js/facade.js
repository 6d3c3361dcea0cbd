// The facade as a grid of floors and units, the origin's cell lit: what a grid worker needs to
// knock on the right door. Floors and units come from the calibration the event carries.
import { t } from './i18n.js';
import { h, svg } from './ui.js';

export function facadeDiagram(ev) {
  const origin = ev.thrown?.origin;
  const cal = ev.thrown?.facade;
  const box = h('section', { class: 'panel facade' }, h('h2', {}, t('facade')));
  if (!cal) {
    box.append(h('p', { class: 'muted' }, ev.building ? t('building', { b: ev.building }) : ''));
    return box;
  }
  const [bottom, top] = cal.floors;
  const units = cal.units?.length ? cal.units : [''];
  const floors = top - bottom + 1;
  const cellW = 64;
  const cellH = Math.max(12, Math.min(28, 560 / floors));
  const left = 44;
  const width = left + units.length * cellW + 4;
  const height = floors * cellH + 26;
  const drawing = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'facade-svg',
    'aria-label': origin?.floor != null ? `${t('origin')}: ${t('floor', { f: origin.floor })} ${origin.unit ? t('unit', { u: origin.unit }) : ''}` : t('facade'),
  });
  for (let k = 0; k < floors; k++) {
    const floor = top - k;
    const y = k * cellH;
    const labelEvery = Math.ceil(floors / 20);
    if (floor % labelEvery === 0 || floor === origin?.floor) {
      drawing.append(svg('text', { x: left - 6, y: y + cellH * 0.7, 'text-anchor': 'end', class: 'label' }, `${floor}`));
    }
    units.forEach((u, i) => {
      const hit = origin?.floor === floor && (origin.unit ?? '') === (u || (origin.unit ?? ''));
      drawing.append(svg('rect', {
        x: left + i * cellW, y, width: cellW - 2, height: cellH - 2,
        class: hit ? 'cell origin' : 'cell', 'data-floor': floor, 'data-unit': u || null,
      }));
    });
  }
  units.forEach((u, i) => {
    if (u) drawing.append(svg('text', { x: left + i * cellW + cellW / 2, y: height - 8, 'text-anchor': 'middle', class: 'label' }, u));
  });
  box.append(drawing);
  if (origin?.floor != null) {
    box.append(h('p', { class: 'origin-text' }, `${t('origin')}: `,
      h('strong', {}, [ev.building ? t('building', { b: ev.building }) : '', t('floor', { f: origin.floor }),
        origin.unit ? t('unit', { u: origin.unit }) : ''].filter(Boolean).join(' '))));
  }
  return box;
}
