// One event: the evidence clip with the trajectory drawn in step with playback, the facade with
// the origin floor and unit, the facts a report needs, and the alarm's actions and audit trail.
import { api, live } from './api.js';
import { t } from './i18n.js';
import { alarmPanel } from './alarm_actions.js';
import { facadeDiagram } from './facade.js';
import { h, localTime, pairs, place, showError, typeName } from './ui.js';

// Seconds into the clip at which the event started: the clip's own first-frame time when the
// node sent it, else its pre-roll.
function clipOffset(ev) {
  const clip = ev.clip;
  if (clip?.start_at) return (new Date(ev.started_at) - new Date(clip.start_at)) / 1000;
  return clip?.pre_s ?? 0;
}

function overlay(video, canvas, ev) {
  const ctx = canvas.getContext('2d');
  const offset = clipOffset(ev);
  const path = (ev.thrown?.trajectory || []).map(([s, x, y]) => ({ at: offset + s, x, y }));
  const corners = ev.thrown?.facade?.corners;
  const box = ev.region?.bbox;
  const draw = () => {
    if (!video.videoWidth) return;
    if (canvas.width !== video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
    }
    const now = video.currentTime;
    const px = video.videoWidth / 1000; // line widths that read the same at any resolution
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (corners) {
      ctx.strokeStyle = 'rgba(120, 200, 255, 0.6)';
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      corners.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.stroke();
    }
    if (box && now >= offset) {
      ctx.strokeStyle = '#ff5a36';
      ctx.lineWidth = 3 * px;
      ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
    }
    const seen = path.filter((p) => p.at <= now);
    canvas.dataset.drawnPoints = String(seen.length);
    if (!seen.length) return;
    ctx.strokeStyle = '#ff3b30';
    ctx.lineWidth = 3 * px;
    ctx.beginPath();
    seen.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
    ctx.stroke();
    const o = ev.thrown.origin;
    ctx.fillStyle = '#ffd60a';
    ctx.beginPath();
    ctx.arc(o.x, o.y, 9 * px, 0, 2 * Math.PI);
    ctx.fill();
    const last = seen[seen.length - 1];
    if (last === path[path.length - 1] && now - last.at > 0.5) return; // the object has left the picture
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 2 * px;
    ctx.beginPath();
    ctx.arc(last.x, last.y, 14 * px, 0, 2 * Math.PI);
    ctx.stroke();
  };
  const loop = () => {
    draw();
    if (!video.paused && !video.ended) requestAnimationFrame(loop);
  };
  video.addEventListener('play', loop);
  for (const name of ['seeked', 'loadeddata', 'timeupdate', 'pause']) video.addEventListener(name, draw);
}

function player(detail) {
  const ev = detail.event;
  if (!detail.clip_url) {
    return h('div', { class: 'player pending' },
      detail.snapshot_url ? h('img', { src: detail.snapshot_url, alt: t('snapshot') }) : null,
      h('p', { class: 'muted' }, t('clip_pending')));
  }
  const video = h('video', {
    src: detail.clip_url, controls: true, muted: true, autoplay: true, playsInline: true, preload: 'auto',
    poster: detail.snapshot_url || null, id: 'clip',
  });
  const canvas = h('canvas', { class: 'overlay', 'aria-hidden': 'true' });
  overlay(video, canvas, ev);
  return h('div', { class: 'player' }, video, canvas);
}

function facts(detail) {
  const ev = detail.event;
  const clip = detail.media.find((m) => m.kind === 'clip');
  const rows = [
    [t('time'), localTime(detail.started_at) + (detail.ended_at ? ` – ${localTime(detail.ended_at, false)}` : '')],
    [t('place'), place(detail)],
    [t('camera'), `${detail.camera || ''} (${t('node')} ${detail.node})`],
    [t('confidence'), `${Math.round(detail.confidence * 100)}%`],
    ev.thrown?.fall_floors ? [t('trajectory'), t('fall_floors', { n: ev.thrown.fall_floors })] : null,
    [t('event_id'), `${detail.event_id} r${detail.revision}`],
    clip ? [`${t('clip')} ${t('sha256')}`, h('code', {}, clip.sha256)] : null,
  ];
  return pairs(rows);
}

function evidenceToggle(detail, me) {
  const may = ['admin', 'operator'].includes(me.role);
  const box = h('p', { class: 'evidence' });
  const show = () => {
    const held = detail.evidence;
    box.replaceChildren(held ? h('strong', {}, t('evidence_on')) : '', ' ', may ? h('button', {
      type: 'button',
      onclick: async () => {
        Object.assign(detail, await api(`/api/events/${detail.event_id}/evidence`,
          { method: 'PUT', json: { evidence: !held, reason: 'console' } }));
        show();
      },
    }, held ? t('evidence_unset') : t('evidence_set')) : '');
  };
  show();
  return box;
}

export async function render(main, me, eventId) {
  let detail = await api(`/api/events/${eventId}`);
  document.title = `${typeName(detail.type)} · ${place(detail)} — ${t('app')}`;
  const stage = h('div', {}, player(detail));
  const factList = h('div', {}, facts(detail));
  const side = h('aside', { class: 'side' }, facadeDiagram(detail.event));
  main.append(
    h('h1', {}, typeName(detail.type), ' · ', place(detail)),
    h('div', { class: 'event-grid' },
      h('section', { class: 'panel' }, stage, factList, evidenceToggle(detail, me)),
      side),
  );
  let panel = null;
  const attachAlarm = async () => {
    if (panel || !detail.alarm_id) return;
    try {
      panel = await alarmPanel(detail.alarm_id, me);
      side.append(panel);
    } catch (err) {
      showError(side, err);
    }
  };
  const noAlarm = h('p', { class: 'muted' }, t('no_alarm'));
  if (detail.alarm_id) await attachAlarm();
  else side.append(noAlarm);

  // A new revision may bring the clip (uploaded after the post-roll), the end, or the alarm:
  // redraw those parts only, so a clip being watched keeps playing.
  const opened = Date.now();
  const waiting = () => !detail.clip_url || (!detail.alarm_id && Date.now() - opened < 120_000);
  let stale = waiting();
  const refresh = async () => {
    const fresh = await api(`/api/events/${eventId}`);
    if (fresh.clip_url && !detail.clip_url) stage.replaceChildren(player(fresh));
    factList.replaceChildren(facts(fresh));
    detail = fresh;
    if (detail.alarm_id && !panel) {
      noAlarm.remove();
      await attachAlarm();
    }
    stale = waiting();
  };
  live({
    onEvent: (e) => {
      if (e.event_id === eventId) stale = true;
    },
    onAlarm: (a) => {
      if (panel && a.id === detail.alarm_id) panel.refresh();
    },
  });
  setInterval(() => stale && refresh(), 3000);
}
