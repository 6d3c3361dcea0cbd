// The control room's wall: open alarms (newest critical first) and the latest events, both
// live over the event stream; a new critical alarm flashes and sounds.
import { api, live } from './api.js';
import { ackButton } from './alarm_actions.js';
import { t } from './i18n.js';
import { alarmTone, soundToggle } from './sound.js';
import { ago, h, localTime, place, severityBadge, stateBadge, typeName } from './ui.js';

const SEVERITY_ORDER = { critical: 3, major: 2, minor: 1, info: 0 };

export async function render(main, me) {
  const alarms = new Map();
  const events = new Map();
  const alarmList = h('ol', { class: 'alarms', 'aria-live': 'polite' });
  const eventRows = h('tbody');
  const counts = h('span', { class: 'counts' });
  main.classList.add('wall');
  main.append(
    h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, t('open_alarms')), counts, soundToggle()),
      alarmList),
    h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, t('recent_events'))),
      h('table', { class: 'events' },
        h('thead', {}, h('tr', {}, [t('time'), '', t('place'), t('camera'), t('confidence'), ''].map((x) => h('th', {}, x)))),
        eventRows)),
  );

  const drawAlarms = () => {
    const open = [...alarms.values()].sort((a, b) =>
      SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] || b.opened_at.localeCompare(a.opened_at));
    const n = (s) => open.filter((a) => a.severity === s).length;
    counts.replaceChildren(...['critical', 'major', 'minor'].filter(n).map((s) => h('span', { class: `count sev-${s}` }, `${t(s)} ${n(s)}`)));
    alarmList.replaceChildren(...(open.length ? open.map((a) => h('li', {
      class: `alarm sev-${a.severity}${a._fresh ? ' fresh' : ''}`, dataset: { alarmId: a.id, state: a.state },
    },
      h('a', { href: `/events/${a.event_id}`, class: 'what' }, severityBadge(a.severity), ' ', typeName(a.type)),
      h('div', { class: 'where' }, place(a)),
      h('div', { class: 'meta' },
        `${a.camera || a.node} · ${localTime(a.started_at)} · ${ago(a.opened_at)}`,
        a.event_count > 1 ? ` · ${t('count', { n: a.event_count })}` : '',
        a.muted ? ` · ${t('muted')}` : ''),
      h('div', { class: 'actions' },
        stateBadge(a.state),
        a.acked_by ? h('span', { class: 'muted' }, ` ${t('acked_by')} ${a.acked_by}`) : null,
        a.state === 'triggered' || a.state === 'notified'
          ? ackButton(a, alarmList, upsertAlarm) : null,
        h('a', { href: `/events/${a.event_id}`, class: 'button' }, t('details'))),
    )) : [h('li', { class: 'empty' }, t('no_open_alarms'))]));
  };

  const drawEvents = () => {
    const rows = [...events.values()].sort((a, b) => b.started_at.localeCompare(a.started_at)).slice(0, 50);
    eventRows.replaceChildren(...(rows.length ? rows.map((e) => h('tr', { dataset: { eventId: e.event_id } },
      h('td', {}, localTime(e.started_at)),
      h('td', {}, typeName(e.type)),
      h('td', {}, place(e)),
      h('td', {}, e.camera || ''),
      h('td', {}, `${Math.round(e.confidence * 100)}%`),
      h('td', {}, h('a', { href: `/events/${e.event_id}` }, t('details'))),
    )) : [h('tr', {}, h('td', { colspan: 6, class: 'empty' }, t('no_events')))]));
  };

  function upsertAlarm(a, fromStream = false) {
    if (a.state === 'resolved') alarms.delete(a.id);
    else {
      const isNew = fromStream && !alarms.has(a.id);
      alarms.set(a.id, { ...a, _fresh: isNew });
      if (isNew && a.severity === 'critical' && !a.muted) alarmTone();
    }
    drawAlarms();
  }

  const [openAlarms, page] = await Promise.all([api('/api/alarms?state=open&limit=200'), api('/api/events?limit=50')]);
  openAlarms.forEach((a) => alarms.set(a.id, a));
  page.items.forEach((e) => events.set(e.event_id, e));
  drawAlarms();
  drawEvents();
  live({
    onAlarm: (a) => upsertAlarm(a, true),
    onEvent: (e) => { events.set(e.event_id, { ...events.get(e.event_id), ...e }); drawEvents(); },
  });
  setInterval(drawAlarms, 30_000); // keeps "n minutes ago" true on a wall that nobody touches
}
