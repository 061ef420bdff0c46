// Times, sizes and labels. Agent times use the browser's zone; customer times the
// conversation's zone (an IANA name or an offset such as "+09:00").
const cache = new Map();
const OFFSET = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/;
const OPTS = {
  wt: { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  t: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  dt: { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  full: { dateStyle: 'full', timeStyle: 'short', hourCycle: 'h23' },
  day: { year: 'numeric', month: '2-digit', day: '2-digit' },
};

function formatter(zone, kind) {
  const key = `${zone || ''}|${kind}`;
  if (cache.has(key)) return cache.get(key);
  let f = null;
  try {
    const m = zone ? OFFSET.exec(zone.trim()) : null;
    if (m) {
      const off = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] || 0));
      const base = new Intl.DateTimeFormat(undefined, { ...OPTS[kind], timeZone: 'UTC' });
      f = (d) => base.format(new Date(d.getTime() + off * 60000));
    } else {
      const base = new Intl.DateTimeFormat(undefined, zone ? { ...OPTS[kind], timeZone: zone } : OPTS[kind]);
      f = (d) => base.format(d);
    }
  } catch {
    f = null;
  }
  cache.set(key, f);
  return f;
}

export function toDate(v) {
  if (!v) return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export const validZone = (zone) => !!(zone && formatter(zone, 't'));

// "Thu 14:00" in the agent's zone ("12 Mar 14:00" when more than six days away).
export function agentTime(v) {
  const d = toDate(v);
  if (!d) return '';
  const far = Math.abs(d - Date.now()) > 6 * 864e5;
  return formatter(null, far ? 'dt' : 'wt')(d);
}

export function fullTime(v) {
  const d = toDate(v);
  return d ? formatter(null, 'full')(d) : '';
}

// Time in a zone; the weekday is added when asked or when it differs from the agent's day.
export function zoneTime(v, zone, withDay = false) {
  const d = toDate(v);
  const t = d && validZone(zone) && formatter(zone, 't');
  if (!t) return null;
  const other = formatter(zone, 'day')(d) !== formatter(null, 'day')(d);
  return withDay || other ? formatter(zone, 'wt')(d) : t(d);
}

export const nowIn = (zone) => zoneTime(new Date(), zone, true);

export function customerTime(v, zone) {
  const s = zoneTime(v, zone);
  return s ? `${s} customer time` : null;
}

export function relative(v, now = Date.now()) {
  const d = toDate(v);
  if (!d) return '';
  const s = (d - now) / 1000;
  const a = Math.abs(s);
  if (a < 60) return 'now';
  let n;
  if (a < 3600) n = `${Math.round(a / 60)} min`;
  else if (a < 48 * 3600) n = `${Math.round(a / 3600)} h`;
  else n = `${Math.round(a / 86400)} d`;
  return s > 0 ? `in ${n}` : `${n} ago`;
}

export function windowClosed(c) {
  const rw = c && c.reply_window;
  if (!rw) return false;
  if (rw.open === false) return true;
  const u = toDate(rw.until);
  return !!u && u <= Date.now();
}

// WhatsApp's customer-service window: "window 3 h left" / "window closed".
export function windowText(c) {
  const rw = c && c.reply_window;
  if (!rw) return null;
  if (windowClosed(c)) return 'window closed';
  const u = toDate(rw.until);
  if (!u) return 'window open';
  const mins = Math.floor((u - Date.now()) / 60000);
  return mins < 60 ? `window ${Math.max(mins, 1)} min left` : `window ${Math.floor(mins / 60)} h left`;
}

export function dueText(c) {
  if (!c || !c.reply_due) return 'No reply due';
  let s = `Reply by ${agentTime(c.reply_due)} (${relative(c.reply_due)})`;
  const ct = customerTime(c.reply_due, c.customer_zone);
  if (ct) s += ` · ${ct}`;
  return s;
}

export function isOverdue(c) {
  if (!c) return false;
  if (c.overdue) return true;
  const d = toDate(c.reply_due);
  return !!d && c.status === 'open' && d < Date.now();
}

export function fileSize(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const displayName = (c) => (c && (c.customer_name || c.customer_id)) || 'Unknown customer';

const CHANNELS = { whatsapp: 'WhatsApp', telegram: 'Telegram', email: 'Email', web: 'Website chat' };
export const channelLabel = (ch) => CHANNELS[ch] || ch || '';

// A kept rate as a whole percent that never rounds a miss to 100% (or a keep to 0%).
export function percent(rate) {
  if (typeof rate !== 'number' || !Number.isFinite(rate)) return null;
  let p = Math.round(rate * 100);
  if (p === 100 && rate < 1) p = 99;
  if (p === 0 && rate > 0) p = 1;
  return `${p}%`;
}

// Report minutes: "under 1 min", "42 min", "3 h 5 min", "2 d 4 h".
export function minutes(m) {
  if (typeof m !== 'number' || !Number.isFinite(m)) return 'no data';
  if (m < 1) return 'under 1 min';
  const t = Math.round(m);
  if (t < 60) return `${t} min`;
  const hrs = Math.floor(t / 60);
  if (hrs < 48) return t % 60 ? `${hrs} h ${t % 60} min` : `${hrs} h`;
  return hrs % 24 ? `${Math.floor(hrs / 24)} d ${hrs % 24} h` : `${hrs / 24} d`;
}
