// WhatsApp template picker, shown when the 24-hour reply window is closed.
import { api } from './api.js';
import { $, h } from './dom.js';
import { reportError } from './status.js';

let list = null;
let loading = null;
let renderedFor = null;
let options = []; // [{ value, t }]

function load() {
  if (list) return Promise.resolve(list);
  if (!loading) {
    loading = api('/templates')
      .then((d) => { list = Array.isArray(d && d.templates) ? d.templates : []; return list; })
      .catch((e) => { loading = null; throw e; });
  }
  return loading;
}

const paramCount = (t) => (Array.isArray(t.parameters) ? t.parameters.length : Math.max(0, Number(t.parameters) || 0));

export async function renderTemplates(id) {
  if (renderedFor === id) return;
  renderedFor = id;
  const box = $('tpl-fields');
  box.replaceChildren(h('p', { class: 'muted' }, 'Loading templates…'));
  let ts;
  try {
    ts = await load();
  } catch (e) {
    if (renderedFor === id) renderedFor = null;
    box.replaceChildren(h('p', null, 'The templates could not be loaded.'));
    reportError(e, 'Could not load templates');
    return;
  }
  if (renderedFor !== id) return;
  $('tpl-send').hidden = !ts.length;
  if (!ts.length) {
    box.replaceChildren(h('p', { class: 'tpl-none' },
      'No approved templates are configured (WHATSAPP_TEMPLATES), so nothing can be sent until the customer writes again.'));
    return;
  }
  const names = new Map();
  for (const t of ts) names.set(t.name, (names.get(t.name) || 0) + 1);
  options = ts.map((t) => {
    const dup = names.get(t.name) > 1;
    return { value: dup ? `${t.name}|${t.language}` : t.name, label: dup ? `${t.name} (${t.language})` : t.name, t };
  });
  const sel = h('select', { id: 'tpl-name' }, options.map((o) => h('option', { value: o.value }, o.label)));
  sel.addEventListener('change', params);
  box.replaceChildren(
    h('div', { class: 'field' }, h('label', { for: 'tpl-name' }, 'Template'), sel),
    h('div', { id: 'tpl-params', class: 'stack' }),
    h('div', { class: 'tpl-preview' }, h('span', { class: 'hint' }, 'Preview'), h('p', { id: 'tpl-text' })),
  );
  params();
}

function selected() {
  const sel = $('tpl-name');
  const o = sel && options.find((x) => x.value === sel.value);
  return o ? o.t : null;
}

function params() {
  const t = selected();
  const box = $('tpl-params');
  if (!t || !box) return;
  const n = paramCount(t);
  const kids = [];
  for (let i = 1; i <= n; i++) {
    const input = h('input', { id: `tpl-p${i}`, type: 'text', required: true, autocomplete: 'off' });
    input.addEventListener('input', preview);
    kids.push(h('div', { class: 'field' }, h('label', { for: `tpl-p${i}` }, `Parameter ${i}`), input));
  }
  box.replaceChildren(...kids);
  preview();
}

function values() {
  const t = selected();
  const out = [];
  for (let i = 1; t && i <= paramCount(t); i++) out.push(($(`tpl-p${i}`) || {}).value || '');
  return out;
}

function preview() {
  const t = selected();
  const el = $('tpl-text');
  if (!t || !el) return;
  const v = values();
  el.textContent = (t.text || `Template ${t.name}`).replace(/\{\{(\d+)\}\}/g, (m, n) => v[n - 1] || `[Parameter ${n}]`);
}

export function templateValue() {
  const t = selected();
  if (!t) return { ok: false, error: 'Choose a template first.' };
  const parameters = values();
  const missing = parameters.findIndex((p) => !p.trim());
  if (missing >= 0) return { ok: false, error: `Fill in Parameter ${missing + 1}.`, focus: `tpl-p${missing + 1}` };
  return { ok: true, template: { name: t.name, language: t.language, parameters } };
}

export function resetTemplateParams() {
  for (let i = 1; $(`tpl-p${i}`); i++) $(`tpl-p${i}`).value = '';
  preview();
}

export function focusTemplate() {
  const el = $('tpl-name') || $('tpl-send');
  if (el) el.focus();
}
