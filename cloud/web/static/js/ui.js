// Small DOM helpers and the ways the console says what and where.
import { t } from './i18n.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  return append(el, children);
}

// Children may be nested arrays; null, undefined and false are left out (unlike DOM's own append).
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export const typeName = (type) => t(`type.${type}`);

export function place(x) {
  const parts = [];
  if (x.building) parts.push(t('building', { b: x.building }));
  if (x.floor !== null && x.floor !== undefined) parts.push(t('floor', { f: x.floor }));
  if (x.unit) parts.push(t('unit', { u: x.unit }));
  return parts.join(' ') || x.site || '';
}

export function localTime(iso, withDate = true) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withDate ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
}

export function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 90) return t('ago_s', { n: Math.round(s) });
  if (s < 5400) return t('ago_m', { n: Math.round(s / 60) });
  return t('ago_h', { n: Math.round(s / 3600) });
}

function badge(kind, text) {
  return h('span', { class: `badge ${kind}` }, text);
}

// Label/value pairs as a definition list; null rows are left out.
export function pairs(rows) {
  return h('dl', { class: 'facts' }, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function severityBadge(severity) {
  return badge(`sev-${severity}`, t(severity));
}

export function stateBadge(state) {
  return badge(`state-${state}`, t(`state.${state}`));
}

export function showError(container, err) {
  container.append(h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${err.message || err}`));
}
