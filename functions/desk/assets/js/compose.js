// Reply, note and template sending, with per-conversation drafts and idempotency keys.
import { api, enc, uncertain } from './api.js';
import { refreshOpen, renderHeader } from './conversation.js';
import { $ } from './dom.js';
import { getDraft, saveDraft, uuid } from './drafts.js';
import { windowClosed } from './format.js';
import { state } from './state.js';
import { announce, clearError, reportError, showError } from './status.js';
import { focusTemplate, renderTemplates, resetTemplateParams, templateValue } from './templates.js';
import { mergeMessages } from './thread.js';

let current = null; // the conversation the boxes belong to
const flights = new Map(); // "id|kind" -> Promise<boolean>
let sentHook = () => {};

// Called with the kind ('reply', 'note', 'template') after each successful send.
export function onSent(fn) {
  sentHook = fn;
}

const WHAT = { reply: 'The reply', note: 'The note', template: 'The template' };
// A send waits longer than the server's send budget (20 s) and its wait for a
// first attempt still in flight (10 s): a timeout here is a real unknown.
const SEND_TIMEOUT_MS = 35000;
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

export function bindCompose(id) {
  current = id;
  const d = id ? getDraft(id) : null;
  $('reply').value = d ? d.reply.text : '';
  $('note').value = d ? d.note.text : '';
  sync();
  renderMode();
}

function sync() {
  for (const [kind, btn, box] of [['reply', 'send', 'reply'], ['note', 'note-send', 'note'], ['template', 'tpl-send', null]]) {
    const busy = !!current && flights.has(`${current}|${kind}`);
    $(btn).disabled = busy;
    if (box) {
      $(box).readOnly = busy;
      if (busy) $(box).setAttribute('aria-busy', 'true');
      else $(box).removeAttribute('aria-busy');
    }
  }
}

// Reply box, or the template picker outside WhatsApp's reply window.
export function renderMode() {
  const o = state.open;
  const closed = !!(o && o.conv && windowClosed(o.conv));
  const hadFocus = $('reply-form').contains(document.activeElement);
  $('reply-form').hidden = closed;
  $('tpl-form').hidden = !closed;
  if (closed && current) {
    renderTemplates(current).then(() => { if (hadFocus) focusTemplate(); });
  }
}

// Settles with true when every send in flight for the conversation succeeded.
export function pending(id) {
  const ps = [...flights].filter(([k]) => k.startsWith(`${id}|`)).map(([, p]) => p);
  return Promise.all(ps).then((rs) => rs.every(Boolean));
}

export function send(kind) {
  const id = current;
  if (!id) return Promise.resolve(false);
  const fk = `${id}|${kind}`;
  if (flights.has(fk)) return flights.get(fk); // double click: one request
  const d = getDraft(id);
  const part = d[kind];
  let body;
  if (kind === 'template') {
    const t = templateValue();
    if (!t.ok) {
      showError(t.error);
      if (t.focus) $(t.focus).focus();
      return Promise.resolve(false);
    }
    body = { template: t.template };
  } else {
    part.text = $(kind).value;
    if (!part.text.trim()) {
      showError(kind === 'note' ? 'Write the note first.' : 'Write the reply first.');
      return Promise.resolve(false);
    }
    body = { text: part.text };
  }
  // The same draft after an attempt whose outcome is unknown: the same body again.
  const again = part.held && part.body && (kind === 'template' || part.body.text === part.text);
  if (again) body = part.body;
  part.held = true;
  saveDraft(id);
  clearError();
  const path = `/conversations/${enc(id)}/${kind === 'note' ? 'notes' : 'messages'}`;
  const p = (async () => {
    try {
      // based_on names the newest message shown, so wait until the thread is there.
      const o = state.open && state.open.id === id ? state.open : null;
      if (!again) {
        if (o && !o.loaded) await o.ready;
        const b = o && o.loaded && kind !== 'note' && o.messages.length ? o.messages[o.messages.length - 1].id : null;
        if (b) body.based_on = b;
        part.body = body;
        saveDraft(id);
      }
      let r;
      for (let attempt = 0; ; attempt++) {
        try {
          r = await api(path, { method: 'POST', body, headers: { 'Idempotency-Key': part.key }, timeout: SEND_TIMEOUT_MS });
          break;
        } catch (e) {
          // The first attempt with this key is still running: ask again shortly.
          if (e.code !== 'idempotency_in_progress' || attempt >= 4) throw e;
          await sleep(2000);
        }
      }
      part.key = uuid();
      part.held = false;
      part.body = null;
      part.text = '';
      saveDraft(id);
      if (current === id) {
        if (kind === 'template') resetTemplateParams();
        else $(kind).value = '';
      }
      if (state.open && state.open.id === id && r) {
        mergeMessages([...(r.messages || []), r.message, r.note].filter(Boolean));
      }
      announce(kind === 'note' ? 'Note added' : kind === 'template' ? 'Template sent' : 'Reply sent');
      sentHook(kind);
      return true;
    } catch (e) {
      failed(e, id, kind, part);
      return false;
    } finally {
      flights.delete(fk);
      if (current === id) sync();
    }
  })();
  flights.set(fk, p);
  sync();
  return p;
}

function failed(e, id, kind, part) {
  if (e.status === 401) return; // nothing was done; the draft and key wait for sign-in
  if (uncertain(e)) {
    // Keep the key: sending again is answered by the server's idempotency, so it goes out once.
    saveDraft(id);
    showError(`${WHAT[kind]} may not have gone out: ${e.message} Check the thread, then send again — it will only be delivered once.`);
    return;
  }
  // A definite answer: the next attempt is a new request, with a fresh key.
  part.key = uuid();
  part.held = false;
  part.body = null;
  saveDraft(id);
  const here = state.open && state.open.id === id;
  if (e.code === 'idempotency_unresolved') {
    // The first attempt stopped mid-way and may have gone out: show the thread as it
    // is; sending again is a new message.
    if (here) refreshOpen().catch(() => {});
    showError(`${WHAT[kind]} may already have gone out (the first attempt did not finish). Check the thread: sending again sends it as a new message.`);
  } else if (e.code === 'conversation_changed') {
    if (here) mergeMessages(e.details.new_messages || []);
    showError('The customer wrote again — read the new message(s) before sending. Your draft is kept.');
  } else if (e.code === 'whatsapp_window_closed') {
    if (here && state.open.conv) {
      state.open.conv = { ...state.open.conv, reply_window: { ...(state.open.conv.reply_window || {}), open: false } };
      renderHeader();
      renderMode();
    }
    showError("WhatsApp's 24-hour reply window has closed: send an approved template instead. Your draft is kept.");
  } else if (e.code === 'idempotency_key_reused') {
    showError('This draft was already sent once with different content. Check the thread before sending again.');
  } else {
    reportError(e, kind === 'note' ? 'Note not added' : 'Not sent');
  }
}

// Ctrl/Cmd+Enter: send, and leave the box so single-key shortcuts work next.
export function sendFromKeyboard(kind) {
  $('conv-title').focus();
  return send(kind);
}

export function focusReply() {
  if (!state.open) return;
  if ($('reply-form').hidden) focusTemplate();
  else $('reply').focus();
}

export function focusNote() {
  if (state.open) $('note').focus();
}

function remember(kind) {
  if (!current) return;
  const d = getDraft(current);
  d[kind].text = $(kind).value;
  saveDraft(current);
}

export function initCompose() {
  $('reply').addEventListener('input', () => remember('reply'));
  $('note').addEventListener('input', () => remember('note'));
  $('reply-form').addEventListener('submit', (e) => { e.preventDefault(); send('reply'); });
  $('note-form').addEventListener('submit', (e) => { e.preventDefault(); send('note'); });
  $('tpl-form').addEventListener('submit', (e) => { e.preventDefault(); send('template'); });
}
