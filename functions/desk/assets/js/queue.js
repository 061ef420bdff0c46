// The queue: filters, paging, rows, selection and live updates from /changes.
import { api } from './api.js';
import { $, h, joined } from './dom.js';
import { channelLabel, displayName, dueText, isOverdue, agentTime, windowText } from './format.js';
import { state } from './state.js';
import { reportError } from './status.js';

const rows = new Map(); // conversation id -> <li>
let seq = 0;
let rowIds = 0;
let openHandler = () => {};

export function initQueue(onOpen) {
  openHandler = onOpen;
  const sel = { show: 'f-show', channel: 'f-channel', status: 'f-status' };
  for (const [k, id] of Object.entries(sel)) {
    $(id).addEventListener('change', (e) => {
      state.filters[k] = e.target.value;
      loadQueue();
    });
  }
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('queue-more').addEventListener('click', loadMore);
  $('queue').addEventListener('keydown', (e) => {
    const moves = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity };
    if (!(e.key in moves) || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey) return;
    e.preventDefault();
    moveSelection(moves[e.key]);
  });
  $('queue').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-conversation-id]');
    if (!b) return;
    select(b.dataset.conversationId, false);
    openHandler(b.dataset.conversationId);
  });
}

function url(cursor) {
  const f = state.filters;
  const p = new URLSearchParams({ status: f.status });
  if (f.status === 'open') p.set('order', 'due');
  p.set('limit', '50');
  if (f.show === 'mine') p.set('assignee', 'me');
  if (f.show === 'unassigned') p.set('assignee', 'none');
  if (f.channel !== 'all') p.set('channel', f.channel);
  if (cursor) p.set('cursor', cursor);
  return `/conversations?${p}`;
}

export async function loadQueue({ keepSelection = false } = {}) {
  const mine = ++seq;
  $('queue').setAttribute('aria-busy', 'true');
  try {
    const d = await api(url());
    if (mine !== seq) return;
    state.queue = d.conversations || [];
    state.nextCursor = d.next_cursor || null;
    state.extraPages = 0;
    state.queueLoadedAt = Date.now();
    if (!keepSelection || !state.queue.some((c) => c.id === state.selectedId)) {
      state.selectedId = state.queue.length ? state.queue[0].id : null;
    }
    render();
  } catch (e) {
    if (mine === seq) reportError(e, 'Could not load the queue');
  } finally {
    if (mine === seq) $('queue').removeAttribute('aria-busy');
  }
}

async function loadMore() {
  const btn = $('queue-more');
  if (!state.nextCursor) return;
  const mine = seq;
  btn.disabled = true;
  try {
    const d = await api(url(state.nextCursor));
    if (mine !== seq) return;
    const known = new Set(state.queue.map((c) => c.id));
    const first = (d.conversations || []).find((c) => !known.has(c.id));
    for (const c of d.conversations || []) if (!known.has(c.id)) state.queue.push(c);
    state.nextCursor = d.next_cursor || null;
    state.extraPages++;
    render();
    if (first) select(first.id, true);
  } catch (e) {
    reportError(e, 'Could not load more conversations');
  } finally {
    btn.disabled = false;
  }
}

function matches(c) {
  const f = state.filters;
  if (c.status !== f.status) return false;
  if (f.channel !== 'all' && c.channel !== f.channel) return false;
  if (f.show === 'mine' && c.assignee !== state.agent) return false;
  if (f.show === 'unassigned' && c.assignee) return false;
  return true;
}

const ts = (v) => {
  const n = v ? Date.parse(v) : NaN;
  return Number.isNaN(n) ? Infinity : n;
};

// Due order: reply_due (none last), then waiting_since, then id.
function byDue(a, b) {
  const da = ts(a.reply_due);
  const db = ts(b.reply_due);
  if (da !== db) return da < db ? -1 : 1;
  const wa = ts(a.waiting_since);
  const wb = ts(b.waiting_since);
  if (wa !== wb) return wa < wb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// Apply /changes entries (and our own PATCH answers) to the loaded queue.
const seen = new Map(); // conversation id -> the newest updated_at applied (ms)

export function applyChanges(list) {
  const sorted = state.filters.status === 'open';
  let changed = false;
  const oldIndex = state.queue.findIndex((c) => c.id === state.selectedId);
  for (const ch of list) {
    if (!ch || !ch.id) continue;
    // An answer that was already on its way when a newer one arrived (a poll that
    // started before this agent's change) must not put the older state back.
    const at = Date.parse(ch.updated_at || '') || 0;
    if (at && (seen.get(ch.id) || 0) > at) continue;
    if (at) seen.set(ch.id, at);
    const i = state.queue.findIndex((c) => c.id === ch.id);
    if (ch.removed || !matches(ch)) {
      if (i >= 0) {
        state.queue.splice(i, 1);
        changed = true;
      }
      continue;
    }
    if (i >= 0) {
      state.queue[i] = ch;
    } else {
      const last = state.queue[state.queue.length - 1];
      // Past the end of a partly loaded list: it will come with "Load more".
      if (state.nextCursor && last && (!sorted || byDue(ch, last) > 0)) continue;
      if (sorted) state.queue.push(ch);
      else state.queue.unshift(ch);
    }
    changed = true;
  }
  if (!changed) return;
  if (sorted) state.queue.sort(byDue);
  if (!state.queue.some((c) => c.id === state.selectedId)) {
    const n = state.queue.length;
    state.selectedId = n ? state.queue[Math.min(Math.max(oldIndex, 0), n - 1)].id : null;
  }
  render();
}

export function render() {
  const list = $('queue');
  const active = document.activeElement;
  const hadFocus = list.contains(active);
  const keep = new Set(state.queue.map((c) => c.id));
  for (const [id, li] of rows) {
    if (!keep.has(id)) {
      li.remove();
      rows.delete(id);
    }
  }
  state.queue.forEach((c, i) => {
    let li = rows.get(c.id);
    if (!li) {
      const btn = h('button', { type: 'button', class: 'row-btn', id: `q${++rowIds}`, 'data-conversation-id': c.id });
      li = h('li', { class: 'row', 'aria-labelledby': btn.id }, btn);
      rows.set(c.id, li);
    }
    fill(li, c);
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  marks();
  if (hadFocus && !list.contains(document.activeElement)) {
    const target = rows.get(active.dataset && active.dataset.conversationId) || rows.get(state.selectedId);
    if (target) target.firstChild.focus({ preventScroll: true });
  }
  $('queue-empty').hidden = state.queue.length > 0;
  $('queue-more').hidden = !state.nextCursor;
  const n = state.queue.length;
  $('queue-count').textContent = n ? `${n}${state.nextCursor ? '+' : ''} conversation${n === 1 ? '' : 's'}` : '';
}

function fill(li, c) {
  const overdue = isOverdue(c);
  const urgent = c.priority === 'urgent';
  li.classList.toggle('overdue', overdue);
  li.classList.toggle('urgent', urgent);
  const mine = c.assignee && c.assignee === state.agent;
  const who = c.assignee ? `Assigned to ${mine ? 'you' : c.assignee}` : 'Unassigned';
  const snoozed = c.status === 'snoozed' && c.snooze_until ? `Snoozed until ${agentTime(c.snooze_until)}` : null;
  const win = c.channel === 'whatsapp' ? windowText(c) : null;
  li.firstChild.replaceChildren(
    h('span', { class: 'r1' },
      h('span', { class: 'name' }, displayName(c)), ' ',
      urgent && h('span', { class: 'badge b-urgent' }, 'Urgent'), urgent && ' ',
      overdue && h('span', { class: 'badge b-overdue' }, 'Overdue'), overdue && ' ',
      h('span', { class: `chan ch-${c.channel}` }, channelLabel(c.channel))),
    ' ',
    h('span', { class: 'preview' }, c.preview || 'No preview'),
    ' ',
    h('span', { class: 'r3' }, joined([
      h('span', { class: c.unanswered ? 'count' : null }, `${c.unanswered || 0} unanswered`),
      who,
      snoozed,
      h('span', { class: overdue ? 'due late' : 'due' }, dueText(c)),
      win && h('span', { class: win === 'window closed' ? 'win closed' : 'win' }, win),
    ])),
  );
}

// Roving tabindex: Tab reaches the selected row only; j/k and the arrow keys move within the list.
function marks() {
  const openId = state.open && state.open.id;
  const tabId = rows.has(state.selectedId) ? state.selectedId : (state.queue[0] && state.queue[0].id);
  for (const [id, li] of rows) {
    li.classList.toggle('selected', id === state.selectedId);
    li.firstChild.tabIndex = id === tabId ? 0 : -1;
    if (id === openId) li.firstChild.setAttribute('aria-current', 'true');
    else li.firstChild.removeAttribute('aria-current');
  }
}

export const refreshTimes = () => { for (const c of state.queue) { const li = rows.get(c.id); if (li) fill(li, c); } };
export const markOpen = marks;

export function select(id, focus = true) {
  if (!id || !rows.has(id)) return;
  state.selectedId = id;
  marks();
  const btn = rows.get(id).firstChild;
  if (focus) btn.focus();
  btn.scrollIntoView({ block: 'nearest' });
}

export function moveSelection(delta) {
  if (!state.queue.length) return;
  let i = state.queue.findIndex((c) => c.id === state.selectedId);
  i = i < 0 ? 0 : Math.min(Math.max(i + delta, 0), state.queue.length - 1) || 0;
  select(state.queue[i].id, true);
}

export function focusSelected() {
  const li = rows.get(state.selectedId);
  if (li) li.firstChild.focus();
}

// The conversation to open after `id` is done: the one after it in queue order, else the first.
export function nextAfter(id) {
  const q = state.queue;
  const i = q.findIndex((c) => c.id === id);
  if (i >= 0 && i + 1 < q.length) return q[i + 1].id;
  const other = q.find((c) => c.id !== id);
  return other ? other.id : null;
}

export function resetQueue() {
  seq++;
  state.queue = [];
  state.nextCursor = null;
  state.selectedId = null;
  rows.clear();
  $('queue').replaceChildren();
  $('queue-empty').hidden = true;
  $('queue-more').hidden = true;
  $('queue-count').textContent = '';
}
