// The installer's calibration: a current frame from the camera's node, the facade's corners
// dragged into place, floors and units, masks drawn as polygons; every change is checked by the
// edge's own config model on the server, which also draws the storey grid the detector will use.
import { api } from './api.js';
import { t } from './i18n.js';
import { h, localTime, showError } from './ui.js';

const CORNERS = ['corner_tl', 'corner_tr', 'corner_br', 'corner_bl'];
const HANDLE_PX = 14;

export async function render(main) {
  const nodes = await api('/api/nodes');
  const cams = nodes.flatMap((n) => n.cameras.map((c) => ({ node: n.id, site: n.site, online: c.online, ...c })));
  const state = {
    cam: cams[0] || null, image: null, width: 1280, height: 720,
    corners: null, selected: 0, masks: [], drawing: null, check: null, dragging: null,
  };

  const canvas = h('canvas', { class: 'calib', tabindex: 0, 'aria-label': t('corners') });
  const status = h('p', { class: 'muted', role: 'status' });
  const problems = h('div', { class: 'problems', 'aria-live': 'polite' });
  const yamlBox = h('textarea', { class: 'yaml', rows: 14, readonly: true, spellcheck: false, 'aria-label': 'YAML' });
  const field = (name, value, attrs = {}) => h('input', { name, value, ...attrs, oninput: schedule });
  const f = {
    name: field('name', state.cam?.name || 'cam1'),
    building: field('building', state.cam?.building || ''),
    source: field('source', '', { placeholder: 'rtsp://user:pass@192.168.1.64:554/Streaming/Channels/101' }),
    bottom: field('bottom', '1', { type: 'number', min: -20, max: 500 }),
    top: field('top', '18', { type: 'number', min: -20, max: 500 }),
    units: field('units', '01,02,03'),
  };
  const cornerButtons = CORNERS.map((key, i) => h('button', {
    type: 'button', class: 'corner', 'aria-pressed': String(i === 0),
    onclick: () => { state.selected = i; paint(); canvas.focus(); },
  }, t(key)));
  const maskList = h('ul', { class: 'masks' });
  const maskButton = h('button', { type: 'button', onclick: () => toggleMask() }, t('add_mask'));
  const select = h('select', { name: 'camera', onchange: (e) => chooseCamera(cams[Number(e.target.value)]) },
    cams.map((c, i) => h('option', { value: i }, `${c.node} / ${c.name}${c.online ? '' : ` (${t('offline')})`}`)));

  main.append(
    h('h1', {}, t('install_title')),
    h('div', { class: 'row' }, h('label', {}, t('choose_camera'), ' ', select),
      h('button', { type: 'button', class: 'primary', onclick: takeSnapshot }, t('take_snapshot')), status),
    h('div', { class: 'install-grid' },
      h('div', { class: 'panel' }, canvas, h('p', { class: 'muted' }, t('corner_help'))),
      h('form', { class: 'panel install-form', onsubmit: (e) => e.preventDefault() },
        h('label', {}, t('camera'), f.name),
        h('label', {}, t('building_field'), f.building),
        h('label', {}, t('source'), f.source),
        h('fieldset', {}, h('legend', {}, t('corners')), cornerButtons),
        h('label', {}, t('floors'), h('span', { class: 'row' }, f.bottom, '—', f.top)),
        h('label', {}, t('units'), f.units),
        h('fieldset', {}, h('legend', {}, t('masks')), maskList, maskButton, h('p', { class: 'muted' }, t('mask_help'))),
        problems,
        h('h3', {}, t('export_yaml')), h('p', { class: 'muted' }, t('yaml_help')), yamlBox,
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'primary', id: 'export', onclick: exportYaml }, t('export_yaml')),
          h('button', { type: 'button', onclick: copyYaml }, t('copy'))))),
  );

  // --- the picture ---------------------------------------------------------------------
  function defaultCorners() {
    const { width: w, height: hh } = state;
    return [[w * 0.15, hh * 0.1], [w * 0.85, hh * 0.1], [w * 0.85, hh * 0.95], [w * 0.15, hh * 0.95]].map((p) => p.map(Math.round));
  }

  async function loadImage(url) {
    const img = new Image();
    img.src = url;
    await img.decode();
    state.image = img;
    const resized = state.width !== img.naturalWidth || state.height !== img.naturalHeight;
    state.width = img.naturalWidth;
    state.height = img.naturalHeight;
    if (!state.corners || resized) state.corners = defaultCorners();
  }

  async function chooseCamera(cam) {
    state.cam = cam;
    state.image = null;
    f.name.value = cam?.name || '';
    f.building.value = cam?.building || '';
    status.textContent = '';
    if (cam) {
      try {
        const snap = await api(`/api/nodes/${encodeURIComponent(cam.node)}/cameras/${encodeURIComponent(cam.name)}/snapshot`);
        await loadImage(snap.url);
        status.textContent = t('snapshot_at', { t: localTime(snap.stored_at) });
      } catch (err) {
        if (err.status !== 404) throw err;
        status.textContent = t('no_snapshot');
      }
    }
    state.corners = state.corners || defaultCorners();
    paint();
    schedule();
  }

  async function takeSnapshot() {
    if (!state.cam) return;
    const base = `/api/nodes/${encodeURIComponent(state.cam.node)}/cameras/${encodeURIComponent(state.cam.name)}/snapshot`;
    status.textContent = t('snapshot_wait');
    try {
      const { cmd_id: cmd } = await api(base, { method: 'POST' });
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          const snap = await api(`${base}?cmd_id=${cmd}`);
          await loadImage(snap.url);
          status.textContent = t('snapshot_at', { t: localTime(snap.stored_at) });
          paint();
          schedule();
          return;
        } catch (err) {
          if (err.status !== 404) throw err;
        }
      }
      status.textContent = t('snapshot_none');
    } catch (err) {
      status.textContent = `${t('error')}: ${err.message}`;
    }
  }

  function paint() {
    canvas.width = state.width;
    canvas.height = state.height;
    const ctx = canvas.getContext('2d');
    const px = state.width / 800;
    if (state.image) ctx.drawImage(state.image, 0, 0);
    else {
      ctx.fillStyle = '#333';
      ctx.fillRect(0, 0, state.width, state.height);
    }
    for (const m of state.masks) polygon(ctx, m.points, m.kind === 'privacy' ? 'rgba(0,0,0,0.7)' : 'rgba(255,200,0,0.25)', '#ffc800', px);
    if (state.drawing) polygon(ctx, state.drawing.points, null, '#ffc800', px, false);
    ctx.strokeStyle = 'rgba(120,200,255,0.8)';
    ctx.lineWidth = 1 * px;
    for (const seg of state.check?.grid || []) {
      ctx.beginPath();
      ctx.moveTo(...seg.a);
      ctx.lineTo(...seg.b);
      ctx.stroke();
    }
    polygon(ctx, state.corners, null, '#00e0ff', px * 2);
    state.corners.forEach(([x, y], i) => {
      ctx.beginPath();
      ctx.arc(x, y, HANDLE_PX * px, 0, 2 * Math.PI);
      ctx.fillStyle = i === state.selected ? '#ff3b30' : '#00e0ff';
      ctx.fill();
      ctx.fillStyle = '#fff';
      ctx.font = `${14 * px}px sans-serif`;
      ctx.fillText(t(CORNERS[i]), x + HANDLE_PX * px * 1.2, y - HANDLE_PX * px * 0.5);
    });
    cornerButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(i === state.selected)));
    canvas.dataset.corners = JSON.stringify(state.corners);
  }

  function polygon(ctx, pts, fill, stroke, width, close = true) {
    if (!pts.length) return;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (close) ctx.closePath();
    if (fill) {
      ctx.fillStyle = fill;
      ctx.fill();
    }
    ctx.strokeStyle = stroke;
    ctx.lineWidth = width;
    ctx.stroke();
  }

  // --- pointer and keyboard --------------------------------------------------------------
  const toImage = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [Math.round(((ev.clientX - r.left) / r.width) * state.width), Math.round(((ev.clientY - r.top) / r.height) * state.height)];
  };
  canvas.addEventListener('pointerdown', (ev) => {
    const p = toImage(ev);
    if (state.drawing) {
      state.drawing.points.push(p);
      paint();
      return;
    }
    const reach = (HANDLE_PX * 2 * state.width) / 800;
    const hit = state.corners.findIndex(([x, y]) => Math.hypot(x - p[0], y - p[1]) <= reach);
    if (hit >= 0) {
      state.selected = hit;
      state.dragging = hit;
      canvas.setPointerCapture(ev.pointerId);
      paint();
    }
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (state.dragging === null) return;
    state.corners[state.dragging] = clamp(toImage(ev));
    paint();
  });
  const drop = () => {
    if (state.dragging === null) return;
    state.dragging = null;
    schedule();
  };
  canvas.addEventListener('pointerup', drop);
  canvas.addEventListener('pointercancel', drop);
  canvas.addEventListener('keydown', (ev) => {
    const step = ev.shiftKey ? 10 : 1;
    const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    if (ev.key === 'Tab' && !ev.shiftKey && state.selected < 3) {
      state.selected += 1;
      paint();
      ev.preventDefault();
      return;
    }
    if (ev.key === 'Enter' && state.drawing) {
      toggleMask();
      return;
    }
    if (!move) return;
    ev.preventDefault();
    const [x, y] = state.corners[state.selected];
    state.corners[state.selected] = clamp([x + move[0], y + move[1]]);
    paint();
    schedule();
  });
  const clamp = ([x, y]) => [Math.min(Math.max(x, 0), state.width), Math.min(Math.max(y, 0), state.height)];

  // --- masks ---------------------------------------------------------------------------
  function toggleMask() {
    if (!state.drawing) {
      state.drawing = { points: [], kind: 'ignore' };
      maskButton.textContent = t('finish_mask');
      canvas.focus();
      return;
    }
    if (state.drawing.points.length >= 3) state.masks.push(state.drawing);
    state.drawing = null;
    maskButton.textContent = t('add_mask');
    drawMasks();
    paint();
    schedule();
  }

  function drawMasks() {
    maskList.replaceChildren(...state.masks.map((m, i) => h('li', {},
      h('select', {
        'aria-label': t('masks'),
        onchange: (e) => { m.kind = e.target.value; paint(); schedule(); },
      }, ['ignore', 'privacy'].map((k) => h('option', { value: k, selected: k === m.kind }, t(`mask.${k}`)))),
      ` ${m.points.length} `,
      h('button', { type: 'button', onclick: () => { state.masks.splice(i, 1); drawMasks(); paint(); schedule(); } }, t('delete')))));
  }

  // --- validation and export --------------------------------------------------------------
  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(validate, 200);
  }

  function draft() {
    const units = f.units.value.split(/[,，\s]+/).map((u) => u.trim()).filter(Boolean);
    const d = {
      name: f.name.value.trim(),
      source: f.source.value.trim() || undefined, // required: the check says so rather than inventing one
      building: f.building.value.trim(),
      facade: { corners: state.corners, floors: [Number(f.bottom.value), Number(f.top.value)] },
    };
    if (units.length) d.facade.units = units;
    if (state.masks.length) d.masks = state.masks.map((m) => ({ kind: m.kind, points: m.points }));
    return d;
  }

  async function validate() {
    try {
      state.check = await api('/api/config/camera', { json: draft() });
    } catch (err) {
      problems.replaceChildren();
      showError(problems, err);
      return;
    }
    const c = state.check;
    problems.dataset.valid = String(c.valid);
    problems.replaceChildren(c.valid
      ? h('p', { class: 'ok' }, `✓ ${t('valid')}`)
      : h('div', { class: 'error', role: 'alert' }, h('strong', {}, t('invalid')),
        h('ul', {}, c.problems.map((p) => h('li', {}, h('code', {}, p.path), ` ${p.message}`)))));
    yamlBox.value = c.yaml || '';
    paint();
  }

  function exportYaml() {
    if (!state.check?.valid) return;
    const blob = new Blob([state.check.yaml], { type: 'application/yaml' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `${f.name.value || 'camera'}.yaml` });
    document.body.append(a);
    a.click();
    a.remove();
  }

  async function copyYaml(ev) {
    await navigator.clipboard?.writeText(yamlBox.value).catch(() => yamlBox.select());
    ev.target.textContent = t('copied');
  }

  await chooseCamera(state.cam);
}
