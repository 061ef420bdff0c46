/* asyncdesk website chat widget. One classic script: no modules, no dependencies,
 * no eval, no inline style or handlers, so it runs under a strict host CSP.
 *
 *   <script src="https://API/widget.js" async data-launcher-text="..."
 *           data-user-id="..." data-user-hash="..."></script>
 *
 * The UI lives in an open shadow root styled by a constructed stylesheet; host CSS
 * does not reach it. Server and visitor text is only ever set as textContent. */
(function () {
  'use strict';

  // Capture our own <script> now: currentScript is null after the first await.
  const script = document.currentScript || Array.prototype.find.call(
    document.getElementsByTagName('script'),
    (s) => (s.src || '').split(/[?#]/)[0].endsWith('/widget.js'));
  const ONCE = typeof Symbol === 'function' ? Symbol.for('asyncdesk.widget') : '__asyncdeskWidget';
  if (!script || !script.src || window[ONCE]) return;
  window[ONCE] = true;

  const API = new URL(script.src, location.href).origin;
  const DATA = script.dataset || {};
  const NS = 'asyncdesk:' + API + ':';
  const ZONE = (() => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
  })();
  const USER = DATA.userId || '';
  const CLOSED_POLL = 10000;   // closed dialog, conversation active (see RECENT)
  const IDLE_POLL = 5 * 60000; // closed dialog, quiet conversation
  const HIDDEN_POLL = 30000;   // hidden tab, conversation active; quiet: none until visible
  const RECENT = 30 * 60000;
  const CONFIG_EVERY = 5 * 60000;

  /* ---------- storage: localStorage, else memory (private mode, blocked storage) */
  const mem = {};
  let ls = null;
  try { ls = window.localStorage; ls.getItem(NS + 'token'); } catch (e) { ls = null; }

  function load(k) {
    if (ls) {
      try { return ls.getItem(NS + k); } catch (e) { ls = null; }
    }
    return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null;
  }
  function save(k, v) {
    if (v == null) delete mem[k]; else mem[k] = String(v);
    if (!ls) return;
    try {
      if (v == null) ls.removeItem(NS + k); else ls.setItem(NS + k, String(v));
    } catch (e) { ls = null; }
  }

  // Tokens are "v1.kind.subject....": kind "u" a signed-in user, "a" an anonymous visitor.
  const kindOf = (t) => String(t || '').split('.')[1];
  const visitorOf = (t) => String(t || '').split('.').slice(0, 3).join('.');
  // The user id a token was minted for: '' anonymous, null unknown.
  const ownerOf = (t) => (kindOf(t) === 'u' ? load('user') || null : '');
  // Shared browser: a signed-in user's token (and queue, marker, email) never serves
  // another person's page. An anonymous token goes on (with user fields, if any).
  const stored = load('token');
  if (stored && ownerOf(stored) !== '' && ownerOf(stored) !== USER) {
    ['token', 'user', 'outbox', 'seen', 'email'].forEach((k) => save(k, null));
  }

  /* ---------- state */
  let cfg = null;              // GET /widget/config
  let token = load('token');
  let sessionOk = false;       // token confirmed by POST /widget/session on this page
  let conversationId = null;
  let contactKnown = false;
  let hashRefused = false;     // user_hash refused or no identity secret: continue anonymously
  let needContact = false;     // a send got contact_required: the queue waits for an email
  let lastAt = 0;              // newest message or send: RECENT polling after it
  let cursor = null;           // X-Widget-Since for the next poll
  let isOpen = false;
  let unread = 0;
  let seen = Number(load('seen')) || 0;   // newest message time the visitor has seen
  let outbox = readOutbox();   // messages not yet stored by the server
  const items = [];            // rendered messages, sorted by time (stable)
  const byId = new Map();
  const byCmid = new Map();

  /* ---------- DOM helpers */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v != null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c != null && c !== false) el.append(c);
    }
    return el;
  }

  function safeUrl(u) {
    try {
      const x = new URL(u, API);
      return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : null;
    } catch (e) { return null; }
  }

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const dayFmt = new Intl.DateTimeFormat(undefined,
    { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  function when(t) {
    const d = new Date(t);
    if (Number.isNaN(d.getTime())) return '';
    return (d.toDateString() === new Date().toDateString() ? timeFmt : dayFmt).format(d);
  }

  /* ---------- styles (a constructed sheet: allowed by CSP, scoped to the shadow root) */
  const CSS = `
:host { all: initial !important; }
.w { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; text-align: left; color-scheme: light; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
h2, p, ul { margin: 0; padding: 0; }
ul { list-style: none; }
button, input, textarea { font: inherit; color: inherit; margin: 0; }
.vh { position: absolute !important; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; margin: -1px; padding: 0; border: 0; }
button:focus-visible, input:focus-visible, textarea:focus-visible, a:focus-visible, .log:focus-visible {
  outline: 2px solid transparent; box-shadow: 0 0 0 2px #fff, 0 0 0 5px #0b57d0; }
.launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  display: inline-flex; align-items: center; gap: 8px; min-height: 48px; padding: 10px 18px;
  border: 2px solid #fff; border-radius: 999px; background: #0b57d0; color: #fff;
  font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(0, 0, 0, .25); }
.launcher:hover { background: #0842a0; }
.badge { min-width: 20px; height: 20px; padding: 0 6px; border-radius: 10px; background: #b3261e;
  color: #fff; font-size: 12px; line-height: 20px; text-align: center; }
.dialog { position: fixed; right: 16px; bottom: 80px; z-index: 2147483000;
  width: min(380px, calc(100vw - 32px)); height: min(580px, calc(100vh - 100px));
  height: min(580px, calc(100dvh - 100px)); display: flex; flex-direction: column;
  background: #fff; border: 1px solid #8c959f; border-radius: 12px; overflow: hidden;
  box-shadow: 0 8px 30px rgba(0, 0, 0, .25); }
.head { display: flex; align-items: flex-start; gap: 8px; padding: 12px 12px 10px 16px;
  border-bottom: 1px solid #d0d7de; }
.titles { flex: 1; min-width: 0; }
h2 { font-size: 17px; line-height: 1.3; font-weight: 700; overflow-wrap: anywhere; }
.status { margin-top: 2px; font-size: 13px; color: #57606a; overflow-wrap: anywhere; }
.close { flex: none; width: 36px; height: 36px; border: 0; border-radius: 8px;
  background: transparent; font-size: 24px; line-height: 1; cursor: pointer; }
.close:hover { background: #eef1f4; }
.log { flex: 1; min-height: 0; overflow-y: auto; padding: 12px; background: #f6f8fa; }
.empty { color: #57606a; font-size: 14px; text-align: center; padding: 24px 8px; }
.list { display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; overflow-wrap: anywhere; }
.them { align-self: flex-start; background: #fff; border: 1px solid #d0d7de; border-bottom-left-radius: 4px; }
.me { align-self: flex-end; background: #0b57d0; color: #fff; border-bottom-right-radius: 4px; }
.me.failed { background: #fde7e7; color: #5c1410; border: 1px solid #b3261e; }
.text { white-space: pre-wrap; }
.meta { margin-top: 2px; font-size: 12px; color: #57606a; }
.me .meta { color: #e3ecfc; }
.me.failed .meta, .err { color: #8c1d18; }
.err { font-size: 13px; }
.files { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 4px; }
.files a { color: inherit; text-decoration: underline; }
.files img { display: block; max-width: 100%; max-height: 200px; border-radius: 8px; }
.form { padding: 10px 12px 12px; border-top: 1px solid #d0d7de; }
.email { margin-bottom: 8px; }
.email label { display: block; font-size: 13px; font-weight: 600; margin-bottom: 2px; }
.email input { width: 100%; }
.hint { font-size: 12px; color: #57606a; margin-top: 2px; }
.row { display: flex; gap: 8px; align-items: flex-end; }
input, textarea { border: 1px solid #6e7781; border-radius: 8px; background: #fff; padding: 8px 10px; }
textarea { flex: 1; min-width: 0; min-height: 44px; max-height: 140px; resize: vertical; }
.send { min-height: 44px; padding: 0 16px; border: 0; border-radius: 8px; background: #0b57d0;
  color: #fff; font-weight: 600; cursor: pointer; }
.send:hover { background: #0842a0; }
@media (prefers-reduced-motion: no-preference) {
  .dialog:not([hidden]) { animation: ad-in .15s ease-out; }
  @keyframes ad-in { from { opacity: 0; transform: translateY(8px); } }
}
@media (max-width: 480px) { .dialog { right: 8px; width: calc(100vw - 16px); } }
@media print { .w { display: none; } }
`;

  /* ---------- the UI, built once */
  const host = h('div', { 'data-asyncdesk-widget': '' });
  const shadow = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    shadow.append(h('style', null, CSS)); // old browsers; blocked by a strict CSP, still usable
  }

  const label = h('span');
  const badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
  const badgeText = h('span', { class: 'vh' });
  const launcher = h('button', {
    type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'ad-dialog',
  }, label, badge, badgeText);

  const title = h('h2', { id: 'ad-title' });
  const statusEl = h('p', { id: 'ad-status', class: 'status' });
  const closeBtn = h('button', { type: 'button', class: 'close', 'aria-label': 'Close chat' },
    h('span', { 'aria-hidden': 'true' }, '\u00d7'));
  const empty = h('p', { class: 'empty' }, 'Send us a message and we\'ll reply here.');
  const list = h('ul', { class: 'list', role: 'list' });
  const logEl = h('div', {
    class: 'log', role: 'log', 'aria-label': 'Messages', 'aria-live': 'polite', tabindex: '0',
  }, empty, list);
  const emailInput = h('input', {
    id: 'ad-email', type: 'email', autocomplete: 'email', 'aria-describedby': 'ad-email-hint',
    spellcheck: 'false',
  });
  const needHint = h('p', { id: 'ad-email-need', class: 'err', hidden: true },
    'Please leave your email so we can answer.');
  const emailBox = h('div', { class: 'email', hidden: true },
    h('label', { for: 'ad-email' }, 'Your email'), emailInput, needHint,
    h('p', { id: 'ad-email-hint', class: 'hint' }, 'We\'ll reply here if you leave'));
  const textarea = h('textarea', {
    id: 'ad-text', maxlength: '4000', rows: '2', placeholder: 'Write a message\u2026',
  });
  const form = h('form', { class: 'form' }, emailBox,
    h('label', { for: 'ad-text', class: 'vh' }, 'Message'),
    h('div', { class: 'row' }, textarea, h('button', { type: 'submit', class: 'send' }, 'Send')));
  const dialog = h('div', {
    id: 'ad-dialog', class: 'dialog', role: 'dialog', 'aria-labelledby': 'ad-title',
    'aria-describedby': 'ad-status', hidden: true,
  }, h('div', { class: 'head' }, h('div', { class: 'titles' }, title, statusEl), closeBtn), logEl, form);
  shadow.append(h('div', { class: 'w' }, dialog, launcher));
  emailInput.value = load('email') || '';

  /* ---------- network */
  async function req(method, path, body, headers, auth) {
    const hs = Object.assign({ Accept: 'application/json' }, headers || {});
    if (auth !== false && token) hs.Authorization = 'Bearer ' + token;
    if (body !== undefined) hs['Content-Type'] = 'application/json';
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = ctrl && setTimeout(() => ctrl.abort(), 15000);
    try {
      const res = await fetch(API + path, {
        method, mode: 'cors', credentials: 'omit', cache: 'no-store', headers: hs,
        body: body === undefined ? undefined : JSON.stringify(body), signal: ctrl ? ctrl.signal : undefined,
      });
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      return { status: res.status, ok: res.ok, data, headers: res.headers };
    } catch (e) {
      return { status: 0, ok: false, data: null, headers: null };
    } finally {
      clearTimeout(timer);
    }
  }
  // Errors are {"error": {"code", "message", ...}}.
  const errText = (r) => {
    const e = r.data && r.data.error;
    return (e && typeof e.message === 'string' && e.message) || 'The message was refused.';
  };
  const errCode = (r) => (r.data && r.data.error && r.data.error.code) || '';
  const backoff = (n) => Math.min(15000, 1000 * 2 ** Math.max(0, n));

  /* ---------- config: open or closed, texts; shown verbatim */
  let configTimer = 0;
  let configFails = 0;
  async function loadConfig() {
    clearTimeout(configTimer);
    const r = await req('GET', '/widget/config' + (ZONE ? '?zone=' + encodeURIComponent(ZONE) : ''),
      undefined, null, false);
    if (r.ok && r.data) {
      configFails = 0;
      cfg = r.data;
      applyConfig();
      configTimer = setTimeout(loadConfig, CONFIG_EVERY);
    } else {
      configTimer = setTimeout(loadConfig, cfg ? CONFIG_EVERY : Math.min(60000, 2000 * 2 ** configFails++));
    }
  }

  function applyConfig() {
    if (!cfg) return;
    // Closed with when_closed "hide": nothing, unless the visitor already has a conversation.
    const show = cfg.open || cfg.when_closed !== 'hide' || !!token || outbox.length > 0 || isOpen;
    if (!show) { host.remove(); return; }
    label.textContent = DATA.launcherText || cfg.launcher_text || 'Chat with us';
    title.textContent = cfg.business_name || 'Support';
    const status = cfg.open ? cfg.typical_reply : cfg.notice;
    statusEl.textContent = status || '';
    statusEl.hidden = !status;
    showEmail();
    if (!host.isConnected) document.body.appendChild(host);
  }

  function showEmail() {
    const wc = cfg && cfg.when_closed;
    const show = needContact
      || (!!cfg && !cfg.open && (wc === 'show' || wc === 'require_contact') && !contactKnown);
    emailBox.hidden = !show;
    emailInput.required = needContact || (show && wc === 'require_contact');
    needHint.hidden = !needContact;
    emailInput.setAttribute('aria-describedby', (needContact ? 'ad-email-need ' : '') + 'ad-email-hint');
  }

  /* ---------- session: one in flight; the token is stored */
  let sessionP = null;
  let authFails = 0;
  // The owner first: another tab reads it when the token's storage event arrives.
  function setToken(v, user) {
    token = v || null;
    save('user', token ? user || '' : null);
    save('token', token);
  }
  function ensureSession() {
    if (token && sessionOk) return Promise.resolve(true);
    if (!sessionP) sessionP = startSession().finally(() => { sessionP = null; });
    return sessionP;
  }
  async function startSession() {
    for (let i = 0; i < 3; i++) {
      const body = {};
      const user = hashRefused ? '' : USER;
      // A signed-in user's token is renewed only with the user's id and hash.
      if (token && kindOf(token) === 'u' && !user) { setToken(null); resetThread(); }
      if (token) body.token = token;
      if (user) {
        body.user_id = user;
        if (DATA.userHash) body.user_hash = DATA.userHash;
      }
      const r = await req('POST', '/widget/session', body, null, false);
      const d = r.data;
      if (r.ok && d && d.token) {
        if (conversationId && d.conversation_id !== conversationId) resetThread();
        conversationId = d.conversation_id || null;
        setToken(d.token, user);
        sessionOk = true;
        contactKnown = !!d.contact_known;
        showEmail();
        return true;
      }
      if (r.status === 401 && token) { setToken(null); resetThread(); continue; }
      const noId = errCode(r) === 'identity_not_configured';
      if (user && (r.status === 403 || noId)) {
        if (!hashRefused) {
          console.warn('asyncdesk widget: ' + (noId ? 'no identity secret is configured'
            : 'user_hash does not match') + '; continuing anonymously');
        }
        hashRefused = true;
        continue;
      }
      return false;
    }
    return false;
  }
  // A 401 on messages: ask the session again; twice in a row, start a new conversation.
  function authFailed() {
    sessionOk = false;
    if (++authFails >= 2) { setToken(null); resetThread(); }
    return authFails < 4 ? 0 : backoff(authFails - 3);
  }

  /* ---------- messages: dedupe by id, reconcile pending ones by client_message_id */
  function drawBody(it) {
    const m = it.m;
    const mine = m.author === 'visitor';
    it.body.replaceChildren(h('span', { class: 'vh' },
      mine ? 'You: ' : ((cfg && cfg.business_name) || 'Support') + ': '));
    if (m.text) it.body.append(h('p', { class: 'text' }, m.text));
    const files = (Array.isArray(m.attachments) ? m.attachments : []).map((a) => {
      const url = a && safeUrl(a.url);
      if (!url) return null;
      const name = a.name || 'Attachment';
      const image = typeof a.type === 'string' && a.type.startsWith('image/');
      return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' },
        image ? h('img', { src: url, alt: name, loading: 'lazy' }) : name);
    }).filter(Boolean);
    if (files.length) it.body.append(h('div', { class: 'files' }, ...files));
  }
  function drawMeta(it) {
    const st = it.state === 'sending' ? 'Sending\u2026'
      : it.state === 'retry' ? 'Not sent yet, will retry'
        : it.state === 'hold' ? 'Not sent yet, waiting for your email'
          : it.state === 'failed' ? 'Not sent' : '';
    it.el.className = 'msg ' + (it.m.author === 'visitor' ? 'me' : 'them') + (it.state === 'failed' ? ' failed' : '');
    it.meta.replaceChildren(h('time', { datetime: it.m.at }, when(it.t)), st ? ' \u00b7 ' + st : '');
    it.err.textContent = it.state === 'failed' ? it.error || '' : '';
    it.err.hidden = it.state !== 'failed' || !it.error;
  }
  function newItem(m, state) {
    const it = { id: null, m, t: Date.parse(m.at) || Date.now(), state, error: null };
    it.body = h('div');
    it.meta = h('p', { class: 'meta' });
    it.err = h('p', { class: 'err', hidden: true });
    it.el = h('li', { 'data-author': m.author || 'business' }, it.body, it.meta, it.err);
    drawBody(it);
    drawMeta(it);
    return it;
  }
  // Insert keeping items sorted by time; equal times keep arrival order.
  function place(it) {
    let i = items.length;
    while (i > 0 && items[i - 1].t > it.t) i--;
    items.splice(i, 0, it);
    list.insertBefore(it.el, items[i + 1] ? items[i + 1].el : null);
    empty.hidden = true;
    if (it.t > lastAt) lastAt = it.t;
  }
  function unplace(it) {
    const i = items.indexOf(it);
    if (i >= 0) items.splice(i, 1);
    it.el.remove();
  }
  const atBottom = () => logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 40;
  const toBottom = () => { logEl.scrollTop = logEl.scrollHeight; };

  function upsert(m) {
    if (!m || m.id == null) return;
    const cmid = m.client_message_id;
    if (cmid) dropOutbox(cmid);
    const t = Date.parse(m.at) || Date.now();
    let it = byId.get(m.id) || (cmid && byCmid.get(cmid));
    if (it) {
      const same = it.m.text === m.text
        && JSON.stringify(it.m.attachments || []) === JSON.stringify(m.attachments || []);
      if (same && it.id === m.id && t === it.t && !it.state) return; // the poll's overlap: unchanged
      it.id = m.id;
      byId.set(m.id, it);
      it.m = m;
      it.state = null;
      if (!same) drawBody(it);
      if (t !== it.t) {
        // Move it only when the server's time puts it out of order.
        it.t = t;
        const i = items.indexOf(it);
        if ((i > 0 && items[i - 1].t > t) || (i >= 0 && i < items.length - 1 && items[i + 1].t < t)) {
          unplace(it);
          place(it);
        }
      }
      drawMeta(it);
      return;
    }
    it = newItem(m, null);
    it.id = m.id;
    byId.set(m.id, it);
    if (cmid) byCmid.set(cmid, it);
    place(it);
    if (m.author !== 'visitor' && t > seen) {
      if (isOpen) markSeen(); else unread++;
    }
  }
  function merge(msgs) {
    if (!Array.isArray(msgs) || !msgs.length) return;
    const stick = atBottom();
    msgs.forEach(upsert);
    if (stick) toBottom();
    drawBadge();
  }
  function resetThread() {
    for (const it of items.slice()) if (it.id != null) unplace(it);
    byId.clear();
    for (const [k, it] of byCmid) if (it.id != null) byCmid.delete(k);
    cursor = null;
    unread = 0;
    empty.hidden = items.length > 0;
    drawBadge();
  }
  function markSeen() {
    for (const it of items) if (it.id != null && it.t > seen) seen = it.t;
    save('seen', seen || null);
    unread = 0;
    drawBadge();
  }
  function drawBadge() {
    badge.hidden = !unread;
    badge.textContent = unread ? String(unread) : '';
    badgeText.textContent = unread ? ' (' + unread + ' new)' : '';
  }

  /* ---------- outbox: survives reloads, re-sent with the same client_message_id */
  function readOutbox() {
    try {
      const a = JSON.parse(load('outbox') || '[]');
      return Array.isArray(a) ? a.filter((e) => e && e.client_message_id && typeof e.text === 'string') : [];
    } catch (e) { return []; }
  }
  // Read-modify-write: another tab may keep its own entries in the same key.
  function writeOutbox(fn) {
    const next = fn(readOutbox());
    save('outbox', next.length ? JSON.stringify(next) : null);
  }
  function addOutbox(e) {
    outbox.push(e);
    writeOutbox((l) => l.filter((x) => x.client_message_id !== e.client_message_id).concat([e]));
  }
  function dropOutbox(cmid) {
    if (!outbox.some((e) => e.client_message_id === cmid)) return;
    outbox = outbox.filter((e) => e.client_message_id !== cmid);
    writeOutbox((l) => l.filter((x) => x.client_message_id !== cmid));
  }
  function addPending(e, state) {
    const it = newItem({ author: 'visitor', text: e.text, at: e.at, attachments: [] }, state);
    byCmid.set(e.client_message_id, it);
    place(it);
  }
  function setState(cmid, state, error) {
    const it = byCmid.get(cmid);
    if (!it || it.id != null) return;
    it.state = state;
    it.error = error || null;
    drawMeta(it);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) {
      try { return crypto.randomUUID(); } catch (e) { /* not a secure context */ }
    }
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const x = Array.from(b, (v) => (v + 256).toString(16).slice(1)).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }

  // One sender at a time, oldest first, so messages arrive in order.
  let flushing = false;
  let flushAgain = false;
  let sendTimer = 0;
  let sendAt = 0;              // not before (Retry-After, backoff)
  let sendFails = 0;
  async function flush() {
    if (flushing) { flushAgain = true; return; }
    if (Date.now() < sendAt) return; // a timer is set
    clearTimeout(sendTimer);
    flushing = true;
    let wait = -1;
    try {
      while (outbox.length) {
        const e = outbox[0];
        if (needContact && !e.email) break; // until the visitor submits an email
        if (!(await ensureSession())) { wait = backoff(sendFails++); break; }
        const body = { client_message_id: e.client_message_id, text: e.text };
        if (ZONE) body.zone = ZONE;
        if (e.email) body.email = e.email;
        const r = await req('POST', '/widget/messages', body);
        if (r.ok) {
          sendFails = 0;
          authFails = 0;
          dropOutbox(e.client_message_id);
          if (r.data && r.data.message) merge([r.data.message]); else poll();
          if (e.email) { needContact = false; contactKnown = true; showEmail(); }
          continue;
        }
        if (!outbox.includes(e)) continue; // a poll reconciled it meanwhile
        if (r.status === 401) {
          const w = authFailed();
          if (w) { wait = w; break; }
          continue;
        }
        if (r.status === 429) {
          // Seconds or an HTTP date; unreadable (not exposed by CORS) means back off.
          const ra = (r.headers && r.headers.get('Retry-After')) || '';
          const d = /^\d+$/.test(ra.trim()) ? Number(ra) * 1000 : Date.parse(ra) - Date.now();
          wait = d >= 0 ? Math.min(Math.max(d, 500), 3600000) : backoff(sendFails++);
          break;
        }
        if (r.status === 422 && errCode(r) === 'contact_required') {
          // Closed, and the business needs an email: keep the queue, ask for one.
          needContact = true;
          contactKnown = false;
          showEmail();
          loadConfig();
          if (isOpen) emailInput.focus();
          break;
        }
        if (r.status >= 400 && r.status < 500) {
          dropOutbox(e.client_message_id);
          setState(e.client_message_id, 'failed', errText(r));
          continue;
        }
        wait = backoff(sendFails++); // network or 5xx
        break;
      }
    } finally {
      flushing = false;
    }
    if (wait >= 0) {
      outbox.forEach((e) => setState(e.client_message_id, 'retry'));
      sendAt = Date.now() + wait;
      sendTimer = setTimeout(() => { sendAt = 0; flush(); }, wait);
    } else if (needContact) outbox.forEach((e) => setState(e.client_message_id, 'hold'));
    if (flushAgain) { flushAgain = false; flush(); }
  }

  /* ---------- polling: at most one in flight */
  let polling = false;
  let pollAgain = false;
  let pollTimer = 0;
  let pollFails = 0;
  // -1: no poll until the tab is visible again (visibilitychange polls).
  function interval() {
    const recent = Date.now() - lastAt < RECENT;
    if (document.hidden) return recent ? HIDDEN_POLL : -1;
    if (isOpen) return Math.max(500, Number(cfg && cfg.poll_ms) || 1000);
    return recent ? CLOSED_POLL : IDLE_POLL;
  }
  async function poll() {
    clearTimeout(pollTimer);
    if (polling) { pollAgain = true; return; }
    if (!token && !isOpen && !outbox.length) return; // no conversation yet
    polling = true;
    let next;
    try {
      if (!(await ensureSession())) throw new Error('session');
      const r = await req('GET', '/widget/messages', undefined,
        cursor == null ? null : { 'X-Widget-Since': String(cursor) });
      if (r.status === 401) {
        next = authFailed();
      } else if (!r.ok || !r.data) {
        throw new Error('poll');
      } else {
        pollFails = 0;
        authFails = 0;
        merge(r.data.messages);
        const c = Number(r.data.cursor);
        if (r.data.cursor != null && Number.isFinite(c)) cursor = Math.floor(c);
        next = r.data.more ? 0 : interval();
      }
    } catch (e) {
      const iv = interval();
      next = iv < 0 ? iv : Math.max(iv, backoff(++pollFails));
    } finally {
      polling = false;
    }
    if (pollAgain) { pollAgain = false; next = 0; }
    if (next >= 0 && (token || isOpen || outbox.length)) pollTimer = setTimeout(poll, next);
  }

  /* ---------- open, close, send */
  function openDialog() {
    isOpen = true;
    dialog.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    markSeen();
    toBottom();
    (needContact && !emailInput.value ? emailInput : textarea).focus();
    loadConfig();
    poll(); // creates the session on the first open
  }
  function closeDialog() {
    isOpen = false;
    dialog.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  function submit(ev) {
    ev.preventDefault();
    const text = textarea.value.trim().slice(0, 4000);
    const email = emailBox.hidden ? '' : emailInput.value.trim();
    if (needContact) {
      // The queue held by contact_required goes now, with the email.
      if (!email) { emailInput.focus(); return; }
      needContact = false;
      showEmail();
      const ids = new Set(outbox.map((e) => e.client_message_id));
      outbox.forEach((e) => { e.email = email; setState(e.client_message_id, 'sending'); });
      writeOutbox((l) => l.map((x) => (ids.has(x.client_message_id) ? Object.assign(x, { email }) : x)));
      flush();
    }
    if (!text) { textarea.focus(); return; }
    const e = { client_message_id: uuid(), text, at: new Date().toISOString() };
    if (email) e.email = email;
    addOutbox(e);
    addPending(e, navigator.onLine === false || Date.now() < sendAt ? 'retry' : 'sending');
    textarea.value = '';
    markSeen();
    toBottom();
    flush();
  }

  launcher.addEventListener('click', () => (isOpen ? closeDialog() : openDialog()));
  closeBtn.addEventListener('click', closeDialog);
  dialog.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !ev.defaultPrevented) { ev.preventDefault(); closeDialog(); }
  });
  form.addEventListener('submit', submit);
  textarea.addEventListener('keydown', (ev) => {
    // Enter sends, Shift+Enter is a new line; never while an IME is composing.
    if (ev.key !== 'Enter' || ev.shiftKey || ev.altKey || ev.isComposing || ev.keyCode === 229) return;
    ev.preventDefault();
    if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event('submit', { cancelable: true }));
  });
  emailInput.addEventListener('input', () => save('email', emailInput.value.trim() || null));

  document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
  window.addEventListener('focus', () => poll());
  window.addEventListener('online', () => {
    sendFails = 0;
    pollFails = 0;
    sendAt = 0;
    flush();
    poll();
  });
  // Another tab renewed, started or replaced the conversation.
  window.addEventListener('storage', (ev) => {
    const v = ev.newValue;
    if (ev.key !== NS + 'token' || !v || v === token) return;
    if (visitorOf(v) === visitorOf(token)) { token = v; return; } // renewed: same thread
    // Not for this page's user (shared browser), nor anonymous over a signed-in token.
    const o = ownerOf(v);
    if (o !== USER && (o !== '' || kindOf(token) !== 'a')) return;
    token = v;
    sessionOk = false;
    resetThread();
    applyConfig();
    poll();
  });

  /* ---------- start */
  function start() {
    outbox.forEach((e) => addPending(e, 'sending'));
    loadConfig();
    if (token || outbox.length) {
      poll();
      flush();
    }
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
