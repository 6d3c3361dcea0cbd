// An alarm's state, its actions (acknowledge, assign, resolve, false alarm) and its audit
// trail; shared by the event page and the phone page.
import { api } from './api.js';
import { t } from './i18n.js';
import { fill, h, localTime, pairs, severityBadge, showError, stateBadge } from './ui.js';

const HANDLERS = ['admin', 'operator', 'grid_worker'];
let people = null;
const personName = (key) => people?.find((p) => p.key === key)?.name || key;

// The acknowledge button of a card: one tap; an error shows in `errors`, the button comes back.
export function ackButton(alarm, errors, onDone) {
  return h('button', {
    type: 'button', class: 'primary',
    onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        onDone(await api(`/api/alarms/${alarm.id}/ack`, { method: 'POST' }));
      } catch (err) {
        ev.target.disabled = false;
        showError(errors, err);
      }
    },
  }, t('ack'));
}

// The resolve form: outcome, a required note, an optional photo from the phone's camera.
export function resolveForm(alarm, outcome, onDone) {
  const note = h('textarea', { name: 'note', rows: 3, required: true, maxlength: 2000, placeholder: t('note_needed') });
  const photo = h('input', { name: 'photo', type: 'file', accept: 'image/jpeg,image/png', capture: 'environment' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'resolve',
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (!note.value.trim()) {
        error.textContent = t('note_needed');
        return;
      }
      const body = new FormData();
      body.append('outcome', outcome);
      body.append('note', note.value);
      if (photo.files[0]) body.append('photo', photo.files[0]);
      form.querySelector('button[type=submit]').disabled = true;
      try {
        onDone(await api(`/api/alarms/${alarm.id}/resolve`, { form: body }));
      } catch (err) {
        error.textContent = err.message;
        form.querySelector('button[type=submit]').disabled = false;
      }
    },
  },
  h('strong', {}, t(`outcome.${outcome}`)),
  h('label', {}, t('note'), note),
  h('label', {}, t('photo'), photo),
  h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'primary' }, t('submit')),
    h('button', { type: 'button', onclick: () => form.remove() }, t('cancel'))),
  error);
  return form;
}

function actions(alarm, me, refresh) {
  if (!HANDLERS.includes(me.role) || alarm.state === 'resolved') return null;
  const row = h('div', { class: 'row actions' });
  const forms = h('div');
  const run = async (button, call) => {
    button.disabled = true;
    try {
      await call();
      await refresh();
    } catch (err) {
      button.disabled = false;
      showError(forms, err);
    }
  };
  if (alarm.state !== 'acknowledged') {
    row.append(h('button', {
      type: 'button', class: 'primary', accesskey: 'a',
      onclick: (ev) => run(ev.target, () => api(`/api/alarms/${alarm.id}/ack`, { method: 'POST' })),
    }, t('ack')));
  }
  if (['admin', 'operator'].includes(me.role) && people?.length) {
    const select = h('select', { name: 'person', 'aria-label': t('assign') },
      people.map((p) => h('option', { value: p.key, selected: p.key === alarm.assigned_to }, p.name)));
    row.append(select, h('button', {
      type: 'button',
      onclick: (ev) => run(ev.target, () => api(`/api/alarms/${alarm.id}/assign`, { json: { person: select.value } })),
    }, t('assign')));
  }
  for (const outcome of ['handled', 'false_alarm']) {
    row.append(h('button', {
      type: 'button', class: outcome === 'handled' ? 'good' : null,
      onclick: () => forms.replaceChildren(resolveForm(alarm, outcome, refresh)),
    }, outcome === 'handled' ? t('resolve') : t('false_alarm')));
  }
  return [row, forms];
}

function trail(entries) {
  return h('ol', { class: 'trail' }, entries.map((e) => h('li', {},
    h('time', {}, localTime(e.at)), ' ',
    h('strong', {}, t(`action.${e.action}`)), ' ',
    h('span', { class: 'muted' }, e.actor),
    e.detail?.note ? h('div', {}, e.detail.note) : null,
    e.detail?.person && e.action === 'alarm.assigned' ? h('div', {}, `${t('assigned_to')} ${personName(e.detail.person)}`) : null,
  )));
}

export async function alarmPanel(alarmId, me) {
  if (people === null && ['admin', 'operator'].includes(me.role)) {
    people = await api('/api/alerting/people').catch(() => []);
  }
  const box = h('section', { class: 'panel alarm-panel', dataset: { alarmId } });
  const refresh = async () => {
    const a = await api(`/api/alarms/${alarmId}`);
    box.dataset.state = a.state;
    const who = [
      a.assigned_to ? [t('assigned_to'), personName(a.assigned_to)] : null,
      a.acked_by ? [t('acked_by'), `${a.acked_by} ${localTime(a.acked_at)}`] : null,
      a.resolved_by ? [t('resolved_by'), `${a.resolved_by} ${localTime(a.resolved_at)} · ${t(`outcome.${a.outcome}`)}`] : null,
      a.note ? [t('note'), a.note] : null,
    ];
    fill(box,
      h('h2', {}, t('alarm'), ` #${a.id} `, severityBadge(a.severity), ' ', stateBadge(a.state)),
      pairs(who),
      a.photo_url ? h('img', { src: a.photo_url, class: 'photo', alt: t('photo') }) : null,
      actions(a, me, refresh),
      h('h3', {}, t('audit')),
      trail(a.audit),
      a.deliveries.length ? h('details', {}, h('summary', {}, `${t('deliveries')} (${a.deliveries.length})`),
        h('table', {}, a.deliveries.map((d) => h('tr', {},
          h('td', {}, d.channel), h('td', {}, d.kind), h('td', {}, d.status), h('td', {}, d.error || ''))))) : null,
    );
  };
  box.refresh = refresh;
  await refresh();
  return box;
}
