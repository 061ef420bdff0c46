// Conversation actions: resolve, reopen, snooze, assign, priority, resolve-and-next.
import { api, enc } from './api.js';
import { pending } from './compose.js';
import { applyConversation, closeConversation, openConversation } from './conversation.js';
import { $ } from './dom.js';
import { agentTime, displayName } from './format.js';
import { nextAfter, select } from './queue.js';
import { state } from './state.js';
import { announce, clearError, reportError } from './status.js';

// Actions run one after another, so quick key presses (a, then e) are all carried out in order.
let chain = Promise.resolve();
function serial(fn) {
  const p = chain.then(fn);
  chain = p.catch(() => {});
  return p;
}

async function patch(body) {
  const o = state.open;
  if (!o) return null;
  clearError();
  const d = await api(`/conversations/${enc(o.id)}`, { method: 'PATCH', body });
  if (d && d.conversation) applyConversation(d.conversation);
  return (d && d.conversation) || null;
}

function act(body, done, what = 'Could not update the conversation') {
  return serial(async () => {
    if (!state.open) return null;
    try {
      const c = await patch(typeof body === 'function' ? body() : body);
      announce(typeof done === 'function' ? done(c) : done);
      return c;
    } catch (e) {
      reportError(e, what);
      return null;
    }
  });
}

export const resolve = () => act({ status: 'resolved' }, 'Resolved');
export const reopen = () => act({ status: 'open' }, 'Reopened');

export function assignToMe() {
  const c = state.open && state.open.conv;
  if (c && c.assignee === state.agent) {
    announce('Already assigned to you');
    return null;
  }
  return act({ assignee: 'me' }, 'Assigned to you');
}

export function toggleUrgent() {
  if (!state.open) return null;
  // Decided when it runs, after any earlier action has landed.
  const urgent = () => state.open.conv && state.open.conv.priority === 'urgent';
  return act(() => ({ priority: urgent() ? 'normal' : 'urgent' }), () => (urgent() ? 'Marked urgent' : 'Marked normal'));
}

export const resolveAndNext = () => serial(resolveAndNextNow);

async function resolveAndNextNow() {
  const o = state.open;
  if (!o) {
    announce('Open a conversation first');
    return;
  }
  // A reply still in flight goes first; if it failed, stay here.
  if (!(await pending(o.id))) return;
  if (state.open !== o) return;
  const next = nextAfter(o.id);
  try {
    await patch({ status: 'resolved' });
  } catch (e) {
    reportError(e, 'Could not resolve');
    return;
  }
  if (state.open !== o) return;
  if (!next) {
    closeConversation(true);
    announce('Resolved — the queue is empty');
    return;
  }
  const n = state.queue.find((c) => c.id === next);
  select(next, false);
  openConversation(next, { focus: true });
  announce(`Resolved — next: ${n ? displayName(n) : 'the next conversation'}`);
}

// Snooze dialog.
function pad(n) {
  return String(n).padStart(2, '0');
}

function localInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function openSnooze() {
  if (!state.open) return;
  const dlg = $('snooze-dlg');
  if (dlg.open) return;
  const now = new Date();
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0);
  $('snooze-at').min = localInput(now);
  if (!$('snooze-at').value) $('snooze-at').value = localInput(tomorrow);
  dlg.showModal();
  $('sn-opening').focus();
}

async function snooze(until) {
  $('snooze-dlg').close();
  await act({ status: 'snoozed', snooze_until: until },
    (c) => (c && c.snooze_until ? `Snoozed until ${agentTime(c.snooze_until)}` : 'Snoozed'), 'Could not snooze');
}

export function initActions() {
  $('act-resolve').addEventListener('click', resolve);
  $('act-reopen').addEventListener('click', reopen);
  $('act-assign').addEventListener('click', assignToMe);
  $('act-urgent').addEventListener('click', toggleUrgent);
  $('act-next').addEventListener('click', resolveAndNext);
  $('act-snooze').addEventListener('click', openSnooze);
  $('snooze-cancel').addEventListener('click', () => $('snooze-dlg').close());
  $('sn-opening').addEventListener('click', () => snooze('next_opening'));
  $('sn-bday').addEventListener('click', () => snooze('next_business_day'));
  $('snooze-at').addEventListener('input', (e) => e.target.setCustomValidity(''));
  $('snooze-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('snooze-at');
    const d = new Date(input.value);
    if (Number.isNaN(d.getTime()) || d <= new Date()) {
      input.setCustomValidity('Choose a time in the future.');
      input.reportValidity();
      return;
    }
    snooze(d.toISOString());
  });
}
