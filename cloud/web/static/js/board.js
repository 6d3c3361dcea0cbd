// Node and camera health at a glance, CPU and frame-rate trends, alarms per day.
import { api } from './api.js';
import { barChart, lineChart } from './charts.js';
import { t } from './i18n.js';
import { ago, h } from './ui.js';

const gb = (bytes) => `${(bytes / 2 ** 30).toFixed(1)} GB`;

function nodeCard(n) {
  const health = n.health || {};
  return h('article', { class: `node ${n.online ? 'up' : 'down'}`, dataset: { node: n.id } },
    h('h3', {}, h('span', { class: 'dot', 'aria-hidden': 'true' }), ` ${n.id} `,
      h('span', { class: 'muted' }, n.online ? t('online') : t('offline'))),
    h('p', { class: 'muted' }, `${n.site} · ${t('version')} ${n.version || '?'} · ${t('last_seen')} ${n.last_seen_at ? ago(n.last_seen_at) : '—'}`),
    n.health ? h('p', {}, `${t('cpu')} ${health.cpu_percent?.toFixed(0)}% · ${t('mem')} ${health.mem_percent?.toFixed(0)}% · ${t('disk_free')} ${gb(health.disk_free_bytes || 0)}`) : null,
    n.problems.length ? h('p', { class: 'error' }, `${t('problems')}: ${n.problems.join('; ')}`) : null,
    h('table', { class: 'cams' },
      h('tr', {}, [t('camera'), '', t('fps'), t('dropped')].map((x) => h('th', {}, x))),
      n.cameras.map((c) => h('tr', { class: c.online ? 'up' : 'down' },
        h('td', {}, c.name, c.building ? ` (${t('building', { b: c.building })})` : ''),
        h('td', {}, h('span', { class: 'dot', 'aria-hidden': 'true' }), ' ', c.online ? t('online') : t('offline')),
        h('td', {}, c.health?.processed_fps ?? '—'),
        h('td', {}, c.health?.dropped_frames ?? '—')))));
}

export async function render(main) {
  const nodes = await api('/api/nodes');
  main.append(h('h1', {}, t('nodes')), h('div', { class: 'nodes' }, nodes.map(nodeCard)));
  const charts = h('div', { class: 'charts' });
  main.append(charts);
  const series = async (measurement, field, tags) => {
    const q = new URLSearchParams({ measurement, field, every_s: '600', agg: 'mean', ...tags });
    return (await api(`/api/telemetry?${q}`)).points;
  };
  const cpu = await Promise.all(nodes.map(async (n) => ({ name: n.id, points: await series('node_health', 'cpu_percent', { node: n.id }) })));
  const cams = nodes.flatMap((n) => n.cameras.map((c) => [n.id, c.name]));
  const fps = await Promise.all(cams.map(async ([node, camera]) => ({
    name: `${node}/${camera}`, points: await series('camera_health', 'processed_fps', { node, camera }),
  })));
  charts.append(lineChart(t('cpu_24h'), cpu), lineChart(t('fps_24h'), fps));
  try {
    const since = new Date(Date.now() - 30 * 86400e3).toISOString();
    const stats = await api(`/api/alarms/stats?since=${encodeURIComponent(since)}`);
    const bars = Object.entries(stats.by_day).map(([day, s]) => ({ label: day, value: s.alarms, part: s.false_alarms }));
    charts.append(barChart(t('alarms_per_day'), bars, [t('alarms_word'), t('false_alarms')]));
  } catch (err) {
    if (err.status !== 403) throw err;
  }
}
