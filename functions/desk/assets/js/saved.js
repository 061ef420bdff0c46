// Saved replies: pick one into the Reply box (placeholders filled), and manage them.
import { api, enc } from './api.js';
import { customerZone } from './conversation.js';
import { $, h } from './dom.js';
import { agentTime, channelLabel, displayName, zoneTime } from './format.js';
import { state } from './state.js';
import { announce, reportError } from './status.js';

let snippets = [];
let caret = null;
let editing = null; // id of the snippet in the form
let ids = 0;

async function load() {
  try {
    const d = await api('/saved-replies');
    snippets = (d && d.saved_replies) || [];
    snippets.sort((a, b) => (a.title || '').localeCompare(b.title || ''));
  } catch (e) {
    reportError(e, 'Could not load saved replies');
    $('saved-empty').textContent = 'Saved replies could not be loaded.';
    $('saved-empty').hidden = false;
    return;
  }
  list();
}

function list() {
  const q = $('saved-q').value.trim().toLowerCase();
  const shown = snippets.filter((s) => !q || `${s.title}\n${s.text}`.toLowerCase().includes(q));
  const canInsert = !!state.open && !$('reply-form').hidden;
  $('saved-list').replaceChildren(...shown.map((s) => {
    const tid = `snip${++ids}`;
    return h('li', { class: 'snip' },
      canInsert
        ? h('button', { type: 'button', class: 'snip-insert', 'aria-describedby': tid, onclick: () => insert(s) }, s.title)
        : h('strong', null, s.title),
      h('p', { id: tid, class: 'snip-text' }, s.text),
      h('div', { class: 'snip-tools' },
        h('button', { type: 'button', class: 'quiet', onclick: () => edit(s) }, 'Edit', h('span', { class: 'vh' }, ` ${s.title}`)),
        h('button', { type: 'button', class: 'quiet danger', onclick: () => remove(s) }, 'Delete', h('span', { class: 'vh' }, ` ${s.title}`))));
  }));
  const empty = $('saved-empty');
  empty.hidden = shown.length > 0;
  empty.textContent = snippets.length ? 'No saved reply matches the search.' : 'No saved replies yet: add one below.';
}

export function fill(text, c) {
  const zone = customerZone(c);
  const due = c && c.reply_due;
  const vals = {
    customer_name: c ? displayName(c) : null,
    agent_name: state.agent,
    reply_by: due ? agentTime(due) : null,
    reply_by_local: due ? (zoneTime(due, zone, true) || agentTime(due)) : null,
    channel: c ? channelLabel(c.channel) : null,
  };
  // Unknown values stay as placeholders so the agent sees what to fill in.
  return text.replace(/\{(customer_name|agent_name|reply_by_local|reply_by|channel)\}/g, (m, k) => vals[k] || m);
}

function insert(s) {
  const ta = $('reply');
  const c = state.open && state.open.conv;
  const text = fill(s.text || '', c);
  const at = caret || { start: ta.value.length, end: ta.value.length };
  $('saved-dlg').close();
  ta.focus();
  ta.setRangeText(text, at.start, at.end, 'end');
  ta.dispatchEvent(new Event('input', { bubbles: true }));
  announce(`Inserted saved reply ${s.title}`);
}

export function openSaved() {
  const dlg = $('saved-dlg');
  if (dlg.open) return;
  const ta = $('reply');
  caret = { start: ta.selectionStart, end: ta.selectionEnd };
  $('saved-q').value = '';
  resetForm();
  list();
  dlg.showModal();
  $('saved-q').focus();
  load();
}

function resetForm() {
  editing = null;
  $('saved-title').value = '';
  $('saved-text').value = '';
  $('saved-form-h').textContent = 'New saved reply';
  $('saved-cancel-edit').hidden = true;
}

function edit(s) {
  editing = s.id;
  $('saved-title').value = s.title || '';
  $('saved-text').value = s.text || '';
  $('saved-form-h').textContent = `Edit saved reply: ${s.title}`;
  $('saved-cancel-edit').hidden = false;
  $('saved-title').focus();
}

async function remove(s) {
  try {
    await api(`/saved-replies/${enc(s.id)}`, { method: 'DELETE' });
    snippets = snippets.filter((x) => x.id !== s.id);
    if (editing === s.id) resetForm();
    list();
    announce(`Deleted saved reply ${s.title}`);
    $('saved-q').focus();
  } catch (e) {
    reportError(e, 'Could not delete the saved reply');
  }
}

async function save(e) {
  e.preventDefault();
  const title = $('saved-title').value.trim();
  const text = $('saved-text').value;
  if (!title || !text.trim()) return;
  const btn = e.submitter || $('saved-form').querySelector('[type=submit]');
  btn.disabled = true;
  try {
    const body = { title, text };
    if (editing) await api(`/saved-replies/${enc(editing)}`, { method: 'PUT', body });
    else await api('/saved-replies', { method: 'POST', body });
    announce(editing ? `Saved reply ${title} updated` : `Saved reply ${title} added`);
    resetForm();
    await load();
  } catch (err) {
    reportError(err, 'Could not save the saved reply');
  } finally {
    btn.disabled = false;
  }
}

export function initSaved() {
  $('saved-btn').addEventListener('click', openSaved);
  $('saved-close').addEventListener('click', () => $('saved-dlg').close());
  $('saved-q').addEventListener('input', list);
  $('saved-form').addEventListener('submit', save);
  $('saved-cancel-edit').addEventListener('click', () => { resetForm(); $('saved-q').focus(); });
  // "/" as the first character of an empty Reply box opens the picker.
  $('reply').addEventListener('keydown', (e) => {
    if (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !e.isComposing && $('reply').value === '') {
      e.preventDefault();
      openSaved();
    }
  });
}
