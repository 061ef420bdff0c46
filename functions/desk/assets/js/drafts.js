// Per-conversation drafts {reply, note, template}, each {text, key}, kept in
// sessionStorage so a reload keeps them. The key is the send's Idempotency-Key:
// minted when the draft starts, replaced only once the server has answered for it.
const PREFIX = 'asyncdesk.draft.';
const memory = new Map();

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// held: a send with this key may have reached the server, so the key must survive a
// reload; body: the exact body sent with it (based_on included), sent again unchanged
// so that the server answers the first attempt's result instead of sending twice.
const part = (p) => ({
  text: (p && typeof p.text === 'string') ? p.text : '',
  key: (p && p.key) || uuid(),
  held: !!(p && p.held),
  body: (p && p.held && p.body && typeof p.body === 'object') ? p.body : null,
});
const kept = (p) => p.text || p.held;

export function getDraft(id) {
  let d = memory.get(id);
  if (!d) {
    let raw = null;
    try {
      raw = JSON.parse(sessionStorage.getItem(PREFIX + id) || 'null');
    } catch {
      raw = null;
    }
    d = { reply: part(raw && raw.reply), note: part(raw && raw.note), template: part(raw && raw.template) };
    memory.set(id, d);
  }
  return d;
}

export function saveDraft(id) {
  const d = memory.get(id);
  if (!d) return;
  try {
    if (!kept(d.reply) && !kept(d.note) && !kept(d.template)) sessionStorage.removeItem(PREFIX + id);
    else sessionStorage.setItem(PREFIX + id, JSON.stringify(d));
  } catch {
    // storage full or disabled: the in-memory draft still works
  }
}

// Drafts (and the keys they hold) belong to the agent who wrote them: another agent
// signing in on this tab starts with none. Answers whether the owner changed.
const OWNER = 'asyncdesk.drafts-owner';
export function claimDrafts(agent) {
  let owner = null;
  try {
    owner = sessionStorage.getItem(OWNER);
  } catch {
    owner = null;
  }
  const other = !!owner && owner !== agent;
  if (other) clearAllDrafts();
  try {
    sessionStorage.setItem(OWNER, agent);
  } catch {
    // storage disabled: drafts live in memory only
  }
  return other;
}

export function clearAllDrafts() {
  memory.clear();
  try {
    for (const k of Object.keys(sessionStorage)) if (k.startsWith(PREFIX)) sessionStorage.removeItem(k);
  } catch {
    // ignore
  }
}
