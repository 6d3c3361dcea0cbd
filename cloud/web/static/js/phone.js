// The grid worker's phone: my open alarms, the address to go to in big type, one-tap
// acknowledge, resolve with a note and a photo. Updates itself over the event stream.
import { api, live } from './api.js';
import { ackButton, resolveForm } from './alarm_actions.js';
import { t } from './i18n.js';
import { ago, h, localTime, place, severityBadge, stateBadge, typeName } from './ui.js';

export async function render(main, me) {
  document.body.classList.add('phone');
  const list = h('div', { class: 'my-alarms', 'aria-live': 'polite' });
  main.append(h('h1', {}, t('my_alarms')), list);
  const alarms = new Map((await api('/api/alarms?state=open&limit=100')).map((a) => [a.id, a]));

  const card = (a) => {
    const forms = h('div');
    return h('article', { class: `mobile-alarm sev-${a.severity}`, dataset: { alarmId: a.id, state: a.state } },
      h('div', { class: 'row' }, severityBadge(a.severity), stateBadge(a.state)),
      h('h2', {}, typeName(a.type)),
      h('p', { class: 'address' }, `${t('go_to')} ${place(a)}`),
      h('p', { class: 'muted' }, `${localTime(a.started_at)} · ${ago(a.opened_at)} · ${a.camera || a.node}`),
      h('div', { class: 'big-actions' },
        a.state !== 'acknowledged' ? ackButton(a, forms, upsert) : null,
        h('button', { type: 'button', class: 'good', onclick: () => forms.replaceChildren(resolveForm(a, 'handled', upsert)) }, t('resolve')),
        h('button', { type: 'button', onclick: () => forms.replaceChildren(resolveForm(a, 'false_alarm', upsert)) }, t('false_alarm')),
        h('a', { class: 'button', href: `/events/${a.event_id}` }, t('details'))),
      forms);
  };

  const draw = () => {
    const open = [...alarms.values()].sort((x, y) => y.opened_at.localeCompare(x.opened_at));
    list.replaceChildren(...(open.length ? open.map(card) : [h('p', { class: 'empty' }, t('no_my_alarms'))]));
  };
  function upsert(a) {
    if (a.state === 'resolved') alarms.delete(a.id);
    else alarms.set(a.id, a);
    draw();
  }
  draw();
  live({
    onAlarm: (a) => {
      // Nothing is redrawn under the worker's thumb while a form is open; the next change shows it.
      if (list.querySelector('form')) {
        if (a.state === 'resolved') alarms.delete(a.id);
        else alarms.set(a.id, a);
        return;
      }
      upsert(a);
    },
  });
}
