// The page's two live regions: role=status for confirmations, role=alert for errors.
import { $ } from './dom.js';

let clearTimer = 0;
let setTimer = 0;

export function announce(msg) {
  const el = $('status');
  clearTimeout(clearTimer);
  clearTimeout(setTimer);
  el.textContent = '';
  // A short gap makes screen readers announce a repeated message again.
  setTimer = setTimeout(() => {
    el.textContent = msg;
    clearTimer = setTimeout(() => { el.textContent = ''; }, 8000);
  }, 40);
}

// While a modal dialog is open the page behind it is inert: errors go into the dialog.
export function showError(msg) {
  const dlg = document.querySelector('dialog[open] .dlg-alert');
  if (dlg) {
    dlg.textContent = msg;
    return;
  }
  $('alert').textContent = msg;
  $('alert-close').hidden = false;
}

export function clearError() {
  $('alert').textContent = '';
  $('alert-close').hidden = true;
  for (const el of document.querySelectorAll('.dlg-alert')) el.textContent = '';
}

export function reportError(e, what) {
  if (e && e.status === 401) return; // the sign-in form takes over
  const msg = (e && e.message) || 'Something went wrong.';
  showError(what ? `${what}: ${msg}` : msg);
}

export function initStatus() {
  $('alert-close').addEventListener('click', () => {
    clearError();
    $('main').focus();
  });
}
