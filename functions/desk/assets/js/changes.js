// Live updates: poll /changes every 3 s while visible, every 30 s while hidden, and
// at once when the page comes back (focus, visible, online).
import { api, enc } from './api.js';
import { applyConversation, refreshOpen } from './conversation.js';
import { $ } from './dom.js';
import { applyChanges, loadQueue } from './queue.js';
import { state } from './state.js';
import { announce } from './status.js';

let since = null;
let running = false;
let inflight = false;
let again = false;
let lost = false; // an error happened: reload everything once the server answers again
let timer = 0;

const IN_FLIGHT = new Set(['sending', 'accepted', 'sent']);

function settling(m) {
  const age = Date.now() - Date.parse(m.stored_at || m.sent_at || 0);
  if ((m.attachments || []).some((a) => a.state === 'pending')) return age < 600000;
  return !!(m.delivery && IN_FLIGHT.has(m.delivery.state)) && age < 120000;
}

export function startChanges() {
  since = null;
  lost = false;
  running = true;
  poll();
}

export function stopChanges() {
  running = false;
  clearTimeout(timer);
  since = null;
  setConn('');
}

function setConn(text) {
  $('conn').textContent = text;
}

function schedule() {
  clearTimeout(timer);
  if (running) timer = setTimeout(poll, document.visibilityState === 'visible' ? 3000 : 30000);
}

function kick() {
  if (running) poll();
}

async function poll() {
  if (!running) return;
  if (inflight) {
    again = true;
    return;
  }
  clearTimeout(timer);
  inflight = true;
  try {
    const d = await api(`/changes${since ? `?since=${enc(since)}` : ''}`, { timeout: 15000 });
    if (!running) return;
    since = (d && d.since) || null;
    if ((d && d.resync) || lost) {
      const back = lost;
      lost = false;
      setConn('');
      await loadQueue({ keepSelection: true });
      if (state.open) await refreshOpen().catch(() => {});
      if (back) announce('Back online: the queue is up to date');
    } else {
      const list = (d && d.changes) || [];
      applyChanges(list);
      const o = state.open;
      const mine = o && list.filter((c) => c && c.id === o.id).pop();
      if (mine) applyConversation(mine);
      // A customer's file is copied off the platform after the message arrives, and a
      // delivery status changes only its message: re-read while the thread shows a
      // recent one still on its way (a file for 10 minutes, a send for 2).
      else if (o && o.loaded && o.messages.some(settling)) {
        await refreshOpen().catch(() => {});
      }
      // Re-read the queue every minute too (removals, a lagging index), unless the
      // agent paged further with "Load more".
      if (Date.now() - state.queueLoadedAt > 60000 && !state.extraPages) loadQueue({ keepSelection: true });
    }
  } catch (e) {
    if (e.status === 401) {
      running = false; // the sign-in form takes over and restarts polling
      return;
    }
    if (e.status >= 400 && e.status < 500) since = null; // a stale token: start over
    if (!lost) setConn(navigator.onLine === false ? 'Offline — retrying' : 'Connection problem — retrying');
    lost = true;
  } finally {
    inflight = false;
    if (running) {
      if (again) {
        again = false;
        poll();
      } else {
        schedule();
      }
    }
  }
}

export function initChanges() {
  window.addEventListener('focus', kick);
  window.addEventListener('online', kick);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') kick();
    else schedule();
  });
}
