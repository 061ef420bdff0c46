// The open conversation: loading, header, layout, and updates from /changes.
import { api, enc } from './api.js';
import { bindCompose, renderMode } from './compose.js';
import { $, h, joined } from './dom.js';
import { agentTime, channelLabel, displayName, dueText, isOverdue, nowIn, validZone, windowText } from './format.js';
import { applyChanges, markOpen } from './queue.js';
import { state } from './state.js';
import { announce, reportError, showError } from './status.js';
import { mergeMessages, renderThread, senderZone, sortMessages } from './thread.js';

let seq = 0;

function setHash(id) {
  const want = id ? `#c=${enc(id)}` : ' ';
  history.replaceState(null, '', want === ' ' ? location.pathname + location.search : want);
}

export function hashConversation() {
  const m = /^#c=(.+)$/.exec(location.hash);
  try {
    return m ? decodeURIComponent(m[1]) : null;
  } catch {
    return null;
  }
}

function layout() {
  const has = !!state.open;
  $('desk').classList.toggle('has-conv', has);
  $('conv-empty').hidden = has;
  $('conv-body').hidden = !has;
}

export async function openConversation(id, { focus = true } = {}) {
  const mine = ++seq;
  const known = state.queue.find((c) => c.id === id) || (state.open && state.open.id === id ? state.open.conv : null);
  let ready;
  state.open = { id, conv: known, messages: [], nextCursor: null, loaded: false, fetchedLast: null, fetchedUpdated: null };
  state.open.ready = new Promise((r) => { ready = r; });
  setHash(id);
  layout();
  markOpen();
  renderHeader();
  renderThread();
  bindCompose(id);
  if (focus) $('conv-title').focus();
  try {
    const d = await api(`/conversations/${enc(id)}?limit=30`);
    if (mine !== seq) return;
    const o = state.open;
    o.conv = d.conversation;
    o.messages = sortMessages(d.messages || []);
    o.nextCursor = d.next_cursor || null;
    o.loaded = true;
    o.fetchedLast = o.conv.last_message_at || null;
    o.fetchedUpdated = o.conv.updated_at || null;
    o.fetchedCount = o.conv.message_count;
    renderHeader();
    renderThread({ toBottom: true });
    renderMode();
    ready();
  } catch (e) {
    ready();
    if (mine !== seq) return;
    if (e.status === 404) {
      closeConversation(false);
      showError('That conversation no longer exists.');
    } else {
      reportError(e, 'Could not open the conversation');
    }
  }
}

export function closeConversation(focusQueue = true) {
  seq++;
  const was = state.open && state.open.id;
  state.open = null;
  setHash(null);
  layout();
  markOpen();
  renderThread();
  bindCompose(null);
  if (focusQueue && was) {
    const btn = document.querySelector(`#queue button[data-conversation-id="${CSS.escape(was)}"]`);
    if (btn) btn.focus();
    else $('queue-h').focus();
  }
}

export function customerZone(c) {
  if (c && validZone(c.customer_zone)) return c.customer_zone;
  const z = senderZone();
  return validZone(z) ? z : null;
}

export function renderHeader() {
  const o = state.open;
  if (!o) return;
  const c = o.conv;
  $('conv-title').textContent = c ? displayName(c) : 'Loading…';
  if (!c) {
    for (const id of ['conv-meta', 'conv-local', 'conv-due']) $(id).replaceChildren();
    return;
  }
  const urgent = c.priority === 'urgent';
  const status = c.status === 'snoozed' && c.snooze_until ? `Snoozed until ${agentTime(c.snooze_until)}` : `Status: ${c.status}`;
  const who = c.assignee ? `Assigned to ${c.assignee === state.agent ? `you (${c.assignee})` : c.assignee}` : 'Unassigned';
  $('conv-meta').replaceChildren(...joined([
    h('span', { class: `chan ch-${c.channel}` }, channelLabel(c.channel)),
    status,
    who,
    urgent && h('span', { class: 'badge b-urgent' }, 'Urgent'),
  ]));
  const zone = customerZone(c);
  $('conv-local').textContent = zone
    ? `Customer's local time: ${nowIn(zone)} (${zone})`
    : "Customer's local time unknown";
  const overdue = isOverdue(c);
  const win = c.channel === 'whatsapp' || c.reply_window ? windowText(c) : null;
  const dueC = { ...c, customer_zone: zone };
  const due = dueText(dueC);
  const winLeft = win && win.replace(/^window /, '');
  $('conv-due').replaceChildren(...joined([
    h('span', { class: overdue ? 'late' : null }, overdue ? due.replace(/^Reply by/, 'Reply was due') : due),
    win && h('span', { class: winLeft === 'closed' ? 'win closed' : 'win' }, `WhatsApp reply window: ${winLeft}`),
  ]));
  const resolved = c.status === 'resolved';
  $('act-resolve').hidden = resolved;
  $('act-reopen').hidden = !resolved;
  $('act-next').hidden = resolved;
  $('act-assign').disabled = c.assignee === state.agent;
  $('act-urgent').textContent = urgent ? 'Mark normal' : 'Mark urgent';
}

// A conversation object from a PATCH answer or /changes.
export function applyConversation(c) {
  applyChanges([c]);
  const o = state.open;
  if (!o || o.id !== c.id) return;
  if (c.removed) {
    announce('This conversation was removed from the desk.');
    return;
  }
  o.conv = { ...(o.conv || {}), ...c };
  renderHeader();
  renderMode();
  if (o.loaded && needsRefresh(o, c)) refreshOpen().catch(() => {});
}

const PENDING = new Set(['sending', 'unconfirmed', 'accepted', 'sent', 'delivered']);

// Re-read when a message arrived since our last read (whatever the clocks say), or a
// note by someone else changed the count.
function needsRefresh(o, c) {
  if (c.last_message_at && c.last_message_at !== o.fetchedLast) return true;
  if (typeof c.message_count === 'number' && c.message_count !== o.fetchedCount) return true;
  // Delivery updates do not move last_message_at: re-read while an outbound message is in flight.
  const waiting = o.messages.some((m) => m.delivery && PENDING.has(m.delivery.state));
  return !!(waiting && c.updated_at && c.updated_at !== o.fetchedUpdated);
}

// Re-read the newest page of the open conversation and merge it in.
export async function refreshOpen() {
  const o = state.open;
  if (!o || !o.loaded) return;
  const d = await api(`/conversations/${enc(o.id)}?limit=30`);
  if (state.open !== o) return;
  o.conv = d.conversation;
  o.fetchedLast = o.conv.last_message_at || null;
  o.fetchedUpdated = o.conv.updated_at || null;
  o.fetchedCount = o.conv.message_count;
  const page = d.messages || [];
  const known = new Set(o.messages.map((m) => m.id));
  if (d.next_cursor && page.length && !page.some((m) => known.has(m.id))) {
    o.messages = [];
    o.nextCursor = d.next_cursor; // more arrived than a page: start again from the newest
  }
  const added = mergeMessages(page);
  renderHeader();
  renderMode();
  if (added) announce(`${added} new message${added === 1 ? '' : 's'} in this conversation`);
}

export function initConversation() {
  $('back').addEventListener('click', () => closeConversation(true));
}
