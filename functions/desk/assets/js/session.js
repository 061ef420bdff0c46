// Sign in / sign out. The agent key goes to POST /session once and is never stored.
import { api } from './api.js';
import { $ } from './dom.js';
import { announce, clearError, reportError, showError } from './status.js';

export async function currentSession() {
  try {
    return await api('/session', { allow401: true });
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export function showSignIn(message) {
  $('desk').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('help-btn').hidden = true;
  $('agent').textContent = '';
  if (message) showError(message);
  $('key').focus();
}

export function showDesk(session) {
  $('signin').hidden = true;
  $('desk').hidden = false;
  $('signout').hidden = false;
  $('help-btn').hidden = false;
  $('agent').textContent = `Signed in as ${session.agent}${session.admin ? ' (admin)' : ''}`;
}

export function initSession({ signedIn, signedOut }) {
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('key');
    const key = input.value;
    if (!key) return;
    const btn = e.submitter || $('signin-form').querySelector('button');
    btn.disabled = true;
    clearError();
    try {
      const s = await api('/session', { method: 'POST', body: { key }, allow401: true });
      input.value = '';
      signedIn(s);
    } catch (err) {
      if (err.status === 401) showError('That agent key is not valid. Check it and try again.');
      else reportError(err, 'Could not sign in');
      input.select();
    } finally {
      btn.disabled = false;
    }
  });
  $('signout').addEventListener('click', async () => {
    try {
      await api('/session', { method: 'DELETE', allow401: true });
    } catch (e) {
      if (e.status !== 401) {
        reportError(e, 'Could not sign out');
        return;
      }
    }
    signedOut();
    announce('Signed out');
  });
}
