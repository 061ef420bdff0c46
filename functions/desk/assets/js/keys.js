// Keyboard shortcuts. Single keys are ignored while typing, except Esc and Ctrl/Cmd+Enter.
import { assignToMe, openSnooze, resolveAndNext } from './actions.js';
import { focusNote, focusReply, sendFromKeyboard } from './compose.js';
import { closeConversation, openConversation } from './conversation.js';
import { $, wide } from './dom.js';
import { focusSelected, moveSelection } from './queue.js';
import { state } from './state.js';

const TYPING = 'input, textarea, select, [contenteditable]:not([contenteditable="false"])';

export function openHelp() {
  const dlg = $('help-dlg');
  if (!dlg.open) dlg.showModal();
  $('help-close').focus();
}

function onKey(e) {
  if (e.defaultPrevented || e.isComposing || !state.agent) return;
  const t = e.target instanceof Element ? e.target : document.body;
  const typing = t.matches(TYPING);
  const dialog = document.querySelector('dialog[open]');
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    if (dialog) return;
    let kind = null;
    if (t.id === 'reply') kind = 'reply';
    else if (t.id === 'note') kind = 'note';
    else if (t.closest('#tpl-form')) kind = 'template';
    if (kind) {
      e.preventDefault();
      sendFromKeyboard(kind);
    }
    return;
  }
  if (e.key === 'Escape' && typing && !dialog) {
    if (t.closest('.compose')) {
      e.preventDefault();
      $('conv-title').focus();
    }
    return;
  }
  if (typing || dialog || e.ctrlKey || e.metaKey || e.altKey) return;
  const onControl = t.matches('button, a[href], summary, [role=button]');
  switch (e.key) {
    case 'j':
    case 'k':
      if (!wide() && state.open) closeConversation(false);
      moveSelection(e.key === 'j' ? 1 : -1);
      break;
    case 'Enter':
      if (onControl) return; // the focused control handles Enter itself
      if (!state.selectedId) return;
      if (state.open && state.open.id === state.selectedId && $('desk').classList.contains('has-conv')) {
        $('conv-title').focus();
      } else {
        openConversation(state.selectedId, { focus: true });
      }
      break;
    case 'r':
      if (!state.open) return;
      focusReply();
      break;
    case 'n':
      if (!state.open) return;
      focusNote();
      break;
    case 'e':
      resolveAndNext();
      break;
    case 'a':
      if (!state.open) return;
      assignToMe();
      break;
    case 's':
      if (!state.open) return;
      openSnooze();
      break;
    case '?':
      openHelp();
      break;
    case 'Escape':
      if (!wide() && state.open) closeConversation(true);
      else if (state.open) focusSelected();
      else return;
      break;
    default:
      return;
  }
  e.preventDefault();
}

export function initKeys() {
  document.addEventListener('keydown', onKey);
  $('help-btn').addEventListener('click', openHelp);
  $('help-close').addEventListener('click', () => $('help-dlg').close());
}
