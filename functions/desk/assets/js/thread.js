// The message thread: oldest at top, newest at bottom, paged from the newest.
import { api, enc } from './api.js';
import { $, h, safeUrl, wide } from './dom.js';
import { agentTime, displayName, fileSize, fullTime, relative } from './format.js';
import { state } from './state.js';
import { announce, reportError } from './status.js';

let rendered = new Map(); // message id -> { json, el }
let renderedFor = null;

const order = (m) => m.stored_at || m.sent_at || '';
export function sortMessages(list) {
  return list.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    if (x !== y) return Date.parse(x) - Date.parse(y) || (x < y ? -1 : 1);
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

// The customer's zone as the newest customer message reported it.
export function senderZone() {
  const m = (state.open && state.open.messages) || [];
  for (let i = m.length - 1; i >= 0; i--) {
    if (m[i].author === 'customer' && m[i].sender && m[i].sender.zone) return m[i].sender.zone;
  }
  return null;
}

// Merge messages by id (a newer copy replaces an older one, e.g. a delivery update).
export function mergeMessages(list) {
  const o = state.open;
  if (!o) return 0;
  const byId = new Map(o.messages.map((m) => [m.id, m]));
  let added = 0;
  for (const m of list || []) {
    if (!m || !m.id || (m.conversation_id && m.conversation_id !== o.id)) continue;
    if (!byId.has(m.id)) added++;
    byId.set(m.id, m);
  }
  o.messages = sortMessages([...byId.values()]);
  renderThread();
  return added;
}

function scroller() {
  return wide() ? $('thread') : document.scrollingElement;
}

export function renderThread({ toBottom = false, keepFromBottom = false } = {}) {
  const o = state.open;
  const box = $('messages');
  if (!o) {
    box.replaceChildren();
    rendered = new Map();
    renderedFor = null;
    return;
  }
  if (renderedFor !== o.id) {
    rendered = new Map();
    renderedFor = o.id;
    box.replaceChildren();
  }
  const sc = scroller();
  const fromBottom = sc.scrollHeight - sc.scrollTop;
  const atBottom = fromBottom - sc.clientHeight < 48;
  $('older').hidden = !o.nextCursor;
  if (!o.loaded || !o.messages.length) {
    box.replaceChildren(h('p', { class: 'empty' }, o.loaded ? 'No messages yet.' : 'Loading conversation…'));
    rendered = new Map();
    return;
  }
  if (box.firstChild && !box.firstChild.dataset.id) box.replaceChildren();
  const keep = new Set();
  o.messages.forEach((m, i) => {
    keep.add(m.id);
    const json = JSON.stringify(m);
    let r = rendered.get(m.id);
    if (!r || r.json !== json) {
      const el = message(m, o.conv);
      if (r) r.el.replaceWith(el);
      r = { json, el };
      rendered.set(m.id, r);
    }
    if (box.children[i] !== r.el) box.insertBefore(r.el, box.children[i] || null);
  });
  for (const [id, r] of rendered) {
    if (!keep.has(id)) {
      r.el.remove();
      rendered.delete(id);
    }
  }
  if (toBottom || (atBottom && !keepFromBottom)) {
    if (wide()) sc.scrollTop = sc.scrollHeight;
    else if (toBottom) box.lastChild.scrollIntoView({ block: 'nearest' });
  } else if (keepFromBottom) {
    sc.scrollTop = sc.scrollHeight - fromBottom;
  }
}

function authorName(m, conv) {
  const a = m.author;
  if (a === 'customer') return displayName(conv);
  if (a === 'auto_reply') return 'Auto-reply';
  if (a && typeof a === 'object' && a.agent) return a.agent;
  return 'Unknown sender';
}

function deliveryError(err) {
  if (!err) return '';
  if (typeof err === 'string') return err;
  return err.message || err.code || '';
}

function message(m, conv) {
  const note = m.kind === 'note';
  const inbound = m.author === 'customer';
  const kind = note ? 'note' : inbound ? 'in' : m.author === 'auto_reply' ? 'auto' : 'out';
  const d = !note && !inbound && m.delivery;
  const dState = d && d.state;
  const err = d && deliveryError(d.error);
  const text = m.text || (m.kind === 'template' && m.template && m.template.name ? `Template: ${m.template.name}` : '');
  const atts = Array.isArray(m.attachments) ? m.attachments : [];
  return h('article', { class: `msg msg-${kind}`, 'data-id': m.id },
    h('header', { class: 'msg-head' },
      note && h('span', { class: 'note-label' }, 'Internal note'), note && ' ',
      h('span', { class: 'author' }, authorName(m, conv)), ' ',
      h('time', { datetime: m.sent_at, title: fullTime(m.sent_at) }, `${agentTime(m.sent_at)} (${relative(m.sent_at)})`),
      dState && ' ',
      dState && h('span', { class: `delivery d-${dState}` }, dState)),
    m.subject && h('p', { class: 'subject' }, m.subject),
    text && h('p', { class: 'msg-text' }, text),
    !text && !atts.length && h('p', { class: 'msg-text muted' }, `(${m.kind || 'message'})`),
    atts.length > 0 && h('ul', { class: 'atts', role: 'list' }, atts.map(attachment)),
    err && h('p', { class: 'delivery-error' }, `Not delivered: ${err}`));
}

const STATES = { pending: 'pending', failed: 'failed', too_large: 'too large', blocked: 'blocked by the virus check' };

function attachment(a) {
  const name = a.filename || a.media_kind || 'file';
  const size = fileSize(a.size);
  const href = safeUrl(a.url);
  const prev = safeUrl(a.preview_url);
  if (a.state === 'stored' || (!a.state && href)) {
    if (href && prev) {
      return h('li', { class: 'att att-img' },
        h('a', { href, rel: 'noopener noreferrer' }, h('img', { src: prev, alt: name, loading: 'lazy' })));
    }
    if (href) {
      return h('li', { class: 'att' }, h('a', { href, rel: 'noopener noreferrer', download: '' }, size ? `${name} (${size})` : name));
    }
  }
  const st = STATES[a.state] || a.state || 'not available';
  const why = a.state === 'failed' && a.reason ? `: ${a.reason}` : '';
  return h('li', { class: `att att-${a.state || 'none'}` }, `${name}${size ? ` (${size})` : ''} — ${st}${why}`);
}

export async function loadOlder() {
  const o = state.open;
  if (!o || !o.nextCursor) return;
  const btn = $('older');
  btn.disabled = true;
  try {
    const d = await api(`/conversations/${enc(o.id)}?limit=30&cursor=${enc(o.nextCursor)}`);
    if (state.open !== o) return;
    const known = new Set(o.messages.map((m) => m.id));
    const older = (d.messages || []).filter((m) => !known.has(m.id));
    o.messages = sortMessages([...older, ...o.messages]);
    o.nextCursor = d.next_cursor || null;
    renderThread({ keepFromBottom: true });
    announce(older.length ? `Loaded ${older.length} older message${older.length === 1 ? '' : 's'}` : 'No older messages');
    if (btn.hidden) $('thread').focus();
  } catch (e) {
    reportError(e, 'Could not load older messages');
  } finally {
    btn.disabled = false;
  }
}

// Keep "(3 h ago)" current without re-rendering the messages.
export function refreshTimes() {
  for (const t of document.querySelectorAll('#messages time[datetime]')) {
    const v = t.getAttribute('datetime');
    t.textContent = `${agentTime(v)} (${relative(v)})`;
  }
}

export function initThread() {
  $('older').addEventListener('click', loadOlder);
}
