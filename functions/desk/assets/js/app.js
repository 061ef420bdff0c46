// asyncdesk: the agents' desk. Wires the modules together.
import { initActions } from './actions.js';
import { onUnauthorized } from './api.js';
import { initChanges, startChanges, stopChanges } from './changes.js';
import { initCompose, onSent, renderMode } from './compose.js';
import { closeConversation, hashConversation, initConversation, openConversation, renderHeader } from './conversation.js';
import { $ } from './dom.js';
import { claimDrafts, clearAllDrafts } from './drafts.js';
import { initKeys } from './keys.js';
import { focusSelected, initQueue, loadQueue, refreshTimes, resetQueue } from './queue.js';
import { initReports, refreshSoon, startReports, stopReports } from './reports.js';
import { initSaved } from './saved.js';
import { currentSession, initSession, showDesk, showSignIn } from './session.js';
import { state } from './state.js';
import { clearError, initStatus, reportError } from './status.js';
import { initThread, refreshTimes as refreshMessageTimes } from './thread.js';

let reopen = null; // the conversation to reopen after signing in again

async function signedIn(session) {
  if (claimDrafts(session.agent)) reopen = null; // another agent: a fresh desk
  const again = state.agent === null && reopen;
  state.agent = session.agent;
  state.admin = !!session.admin;
  clearError();
  showDesk(session);
  startChanges();
  startReports();
  await loadQueue({ keepSelection: !!again });
  if (!state.agent) return;
  const id = reopen || hashConversation();
  reopen = null;
  if (id) openConversation(id, { focus: false });
  if (document.activeElement === document.body || document.activeElement === $('key') || !document.activeElement) {
    if (id) $('conv-title').focus();
    else focusSelected();
  }
}

function signedOut() {
  stopChanges();
  stopReports();
  state.agent = null;
  reopen = null;
  clearAllDrafts();
  closeConversation(false);
  resetQueue();
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  showSignIn();
}

// Any 401: back to the sign-in form. Drafts stay (in sessionStorage and in the boxes).
onUnauthorized(() => {
  if (!state.agent) return;
  reopen = state.open && state.open.id;
  stopChanges();
  stopReports();
  state.agent = null;
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  showSignIn('Your session has ended. Sign in again to continue — your drafts are kept.');
});

function tick() {
  if (!state.agent) return;
  refreshTimes();
  if (state.open) {
    renderHeader();
    renderMode();
    refreshMessageTimes();
  }
}

async function boot() {
  initStatus();
  initSession({ signedIn, signedOut });
  initQueue((id) => openConversation(id, { focus: true }));
  initConversation();
  initThread();
  initCompose();
  initActions();
  initSaved();
  initKeys();
  initChanges();
  initReports();
  // A reply or template ends a wait: the header's figures follow.
  onSent((kind) => { if (kind !== 'note') refreshSoon(); });
  setInterval(tick, 30000);
  try {
    const s = await currentSession();
    if (s) signedIn(s);
    else showSignIn();
  } catch (e) {
    showSignIn();
    reportError(e, 'Could not check the session');
  }
}

boot();
