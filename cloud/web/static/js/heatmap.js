// Thrown-object origins per floor and unit of one building, for the property's campaign.
import { api } from './api.js';
import { t } from './i18n.js';
import { h } from './ui.js';

export async function render(main) {
  const params = new URLSearchParams(location.search);
  const days = Number(params.get('days')) || 90;
  const since = new Date(Date.now() - days * 86400e3).toISOString();
  const base = { type: 'thrown_object', since };
  const buildings = (await api(`/api/stats?${new URLSearchParams({ ...base, group_by: 'building' })}`)).counts
    .filter((c) => c.key !== null);
  const building = params.get('building') || buildings[0]?.key;
  const nav = h('form', { class: 'row', method: 'get' },
    h('label', {}, t('building_field'), ' ', h('select', { name: 'building', onchange: (e) => e.target.form.submit() },
      buildings.map((b) => h('option', { value: b.key, selected: b.key === building }, `${t('building', { b: b.key })} (${b.count})`)))),
    h('label', {}, ' ', h('select', { name: 'days', onchange: (e) => e.target.form.submit() },
      [30, 90, 365].map((n) => h('option', { value: n, selected: n === days }, t('days', { n }))))));
  main.append(h('h1', {}, t('heatmap_title')), h('p', { class: 'muted' }, t('heatmap_hint')), nav);
  if (!building) {
    main.append(h('p', { class: 'muted' }, t('no_data')));
    return;
  }
  const counts = (await api(`/api/stats?${new URLSearchParams({ ...base, group_by: 'floor_unit', building })}`)).counts
    .filter((c) => c.key !== null)
    .map((c) => {
      const [floor, unit] = c.key.split('/');
      return { floor: Number(floor), unit, count: c.count };
    });
  if (!counts.length) {
    main.append(h('p', { class: 'muted' }, t('no_data')));
    return;
  }
  const top = Math.max(...counts.map((c) => c.floor));
  const bottom = Math.min(1, ...counts.map((c) => c.floor));
  const units = [...new Set(counts.map((c) => c.unit))].sort();
  const max = Math.max(...counts.map((c) => c.count));
  const at = (f, u) => counts.find((c) => c.floor === f && c.unit === u)?.count || 0;
  const rows = [];
  for (let f = top; f >= bottom; f--) {
    rows.push(h('tr', {}, h('th', { scope: 'row' }, t('floor', { f })), units.map((u) => {
      const n = at(f, u);
      const heat = n / max;
      return h('td', {
        class: n ? 'heat' : 'heat zero', style: `--heat:${heat.toFixed(3)}`, title: `${t('floor', { f })} ${t('unit', { u })}: ${n}`,
        dataset: { floor: f, unit: u, count: n },
      }, n || '');
    })));
  }
  const total = counts.reduce((s, c) => s + c.count, 0);
  const ranked = [...counts].sort((a, b) => b.count - a.count).slice(0, 5);
  main.append(
    h('div', { class: 'heatmap-wrap' },
      h('table', { class: 'heatmap' },
        h('caption', {}, `${t('building', { b: building })} · ${t('total', { n: total })}`),
        h('thead', {}, h('tr', {}, h('th', {}), units.map((u) => h('th', { scope: 'col' }, u ? t('unit', { u }) : '—')))),
        h('tbody', {}, rows)),
      h('section', { class: 'panel' }, h('h2', {}, t('top_units')),
        h('ol', {}, ranked.map((c) => h('li', {}, `${t('floor', { f: c.floor })} ${c.unit ? t('unit', { u: c.unit }) : ''} — ${c.count}`))))),
  );
}
