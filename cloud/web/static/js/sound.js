// The alarm tone, made with WebAudio (no sound file to ship). Browsers only let a page make
// sound after the user has touched it, so the control room switches it on once per screen.
import { t } from './i18n.js';
import { h } from './ui.js';

let ctx = null;

function soundWanted() {
  return localStorage.getItem('gw.sound') !== 'off';
}

function unlock() {
  if (!soundWanted()) return;
  ctx = ctx || new AudioContext();
  if (ctx.state === 'suspended') ctx.resume();
}

// Three rising beeps; counted on <body data-alarm-sounds> so a wall display's state is inspectable.
export function alarmTone() {
  document.body.dataset.alarmSounds = String(Number(document.body.dataset.alarmSounds || 0) + 1);
  if (!soundWanted() || !ctx || ctx.state !== 'running') return;
  [0, 0.35, 0.7].forEach((at, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 740 + i * 140;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime + at);
    gain.gain.exponentialRampToValueAtTime(0.4, ctx.currentTime + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + at + 0.3);
    osc.connect(gain).connect(ctx.destination);
    osc.start(ctx.currentTime + at);
    osc.stop(ctx.currentTime + at + 0.32);
  });
}

export function soundToggle() {
  const button = h('button', { type: 'button', class: 'sound' });
  const show = () => {
    const on = soundWanted();
    button.textContent = on ? t('sound_on') : t('sound_off');
    button.title = on && (!ctx || ctx.state !== 'running') ? t('sound_hint') : '';
  };
  button.addEventListener('click', () => {
    const running = ctx && ctx.state === 'running';
    if (soundWanted() && running) localStorage.setItem('gw.sound', 'off');
    else localStorage.setItem('gw.sound', 'on');
    unlock();
    setTimeout(show, 50);
  });
  document.addEventListener('pointerdown', () => { unlock(); setTimeout(show, 50); }, { once: true });
  show();
  return button;
}
