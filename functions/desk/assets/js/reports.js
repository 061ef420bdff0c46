// Promise reports. The header shows the week's kept rate and what is overdue now,
// read every 60 s, a moment after a reply and whenever the Reports dialog opens.
// The dialog shows the kept rate by day, waits started by hour of week, reply
// times, and downloads the waits as CSV. Reads GET /reports/summary and /reports/waits.
import { api, apiText, enc } from './api.js';
import { hourGrid, hourHeat, keptByDay, lastDays } from './charts.js';
import { $, h } from './dom.js';
import { minutes, percent } from './format.js';
import { announce, reportError, showError } from './status.js';

const DAY = 864e5;
const EVERY_MS = 60000;
const AFTER_SEND_MS = 3000; // a reply's wait is recorded from the table's stream a moment later
const CSV_PAGES = 25; // of 10,000 waits: more than a report reads
const PARTS = ['kept-chart', 'heat-chart', 'reply-times'];

let running = false;
let timer = 0;
let soon = 0;
let seq = 0;
let dialogSeq = 0;
let loadedAt = 0;

const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

// The summary of the last `days` days up to now.
function summary(days, groupBy) {
  const now = Date.now();
  const p = new URLSearchParams({ from: iso(now - days * DAY), to: iso(now) });
  if (groupBy) p.set('group_by', groupBy);
  return api(`/reports/summary?${p}`);
}

function header(d, pending = false) {
  const none = pending ? '…' : 'not available';
  const rate = d ? percent(d.totals && d.totals.kept_rate) || 'no promise due yet' : none;
  const late = d ? d.overdue_now : null;
  $('promise-kept').textContent = `Promises kept this week: ${rate}`;
  $('promise-overdue').textContent = `Overdue now: ${late == null ? none : late}`;
  $('promise-overdue').classList.toggle('late', late > 0);
}

export async function refresh() {
  if (!running) return;
  clearTimeout(soon);
  const mine = ++seq;
  try {
    const d = await summary(7);
    if (mine !== seq || !running) return;
    header(d);
    loadedAt = Date.now();
  } catch (e) {
    if (mine === seq && running && e.status !== 401) header(null);
  }
}

// After a reply: once its wait has been recorded.
export function refreshSoon() {
  clearTimeout(soon);
  if (running) soon = setTimeout(refresh, AFTER_SEND_MS);
}

export function startReports() {
  running = true;
  header(null, true);
  $('promise').hidden = false;
  $('reports-btn').hidden = false;
  clearInterval(timer);
  timer = setInterval(() => { if (document.visibilityState === 'visible') refresh(); }, EVERY_MS);
  refresh();
}

export function stopReports() {
  running = false;
  seq++;
  dialogSeq++;
  loadedAt = 0;
  clearInterval(timer);
  clearTimeout(soon);
  $('promise').hidden = true;
  $('reports-btn').hidden = true;
}

function times(d) {
  const t = d.totals || {};
  const kept = t.promises_due ? `${t.promises_kept} of ${t.promises_due} promises kept (${percent(t.kept_rate)})` : 'no promise due';
  $('reports-totals').textContent = `Last 28 days: ${t.waits || 0} customer waits, ${t.answered || 0} answered; ${kept}.`;
  const pairs = [];
  for (const [name, r] of [['First reply', t.first_reply], ['Next reply', t.next_reply]]) {
    if (!r || !r.count) {
      pairs.push(h('dt', null, name), h('dd', null, 'No replies in the last 28 days'));
      continue;
    }
    const b = r.business_minutes || {};
    const w = r.wall_minutes || {};
    pairs.push(
      h('dt', null, `${name}, median (${r.count} ${r.count === 1 ? 'reply' : 'replies'})`),
      h('dd', null, `${minutes(b.median)} business time · ${minutes(w.median)} wall-clock time`),
      h('dt', null, `${name}, 90th percentile`),
      h('dd', null, `${minutes(b.p90)} business time · ${minutes(w.p90)} wall-clock time`));
  }
  $('reply-times').replaceChildren(...pairs);
  // The CSV covers the same 28 days.
  const link = $('waits-csv');
  link.href = `/reports/waits?${new URLSearchParams({ from: d.from, to: d.to, format: 'csv' })}`;
  link.setAttribute('download', `asyncdesk-waits-${d.from.slice(0, 10)}-to-${d.to.slice(0, 10)}.csv`);
}

async function load() {
  const mine = ++dialogSeq;
  $('reports-dlg').querySelector('.dlg-alert').textContent = '';
  for (const id of PARTS) $(id).setAttribute('aria-busy', 'true');
  try {
    // 15 days of instants hold the 14 whole business days up to today, whatever the zone.
    const [byDay, byHour] = await Promise.all([summary(15, 'day'), summary(28, 'hour_of_week')]);
    if (mine !== dialogSeq) return;
    const zone = byDay.timezone || byHour.timezone || 'business time';
    $('reports-zone').textContent = `Days and hours in ${zone}, the business hours' time zone.`;
    $('kept-chart').replaceChildren(...keptByDay(lastDays(byDay, 14), zone));
    $('heat-chart').replaceChildren(...hourHeat(hourGrid(byHour), zone, 28));
    times(byHour);
  } catch (e) {
    if (mine !== dialogSeq) return;
    reportError(e, 'Could not load the reports');
    for (const id of PARTS.slice(0, 2)) $(id).replaceChildren(h('p', { class: 'empty' }, 'Not available right now.'));
  } finally {
    if (mine === dialogSeq) for (const id of PARTS) $(id).removeAttribute('aria-busy');
  }
}

export function openReports() {
  const dlg = $('reports-dlg');
  if (!running || dlg.open) return;
  dlg.showModal();
  $('reports-close').focus();
  refresh();
  load();
}

// The CSV through the API client (the desk's header does not go along with a plain
// link), every page of it, saved from a Blob.
async function download(e) {
  e.preventDefault();
  const link = $('waits-csv');
  if (link.getAttribute('aria-disabled') === 'true') return;
  link.setAttribute('aria-disabled', 'true');
  try {
    const path = link.getAttribute('href');
    const parts = [];
    let cursor = null;
    for (let i = 0; i < CSV_PAGES && (i === 0 || cursor); i++) {
      const r = await apiText(cursor ? `${path}&cursor=${enc(cursor)}` : path);
      parts.push(i ? r.text.slice(r.text.indexOf('\n') + 1) : r.text); // one header line
      cursor = r.headers.get('x-next-cursor');
    }
    const url = URL.createObjectURL(new Blob(parts, { type: 'text/csv;charset=utf-8' }));
    const save = h('a', { href: url, download: link.getAttribute('download') || 'asyncdesk-waits.csv', hidden: true });
    link.after(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    if (cursor) showError(`The file holds the first ${CSV_PAGES * 10000} waits: ask for a shorter period for the rest.`);
    else announce('Waits downloaded');
  } catch (err) {
    reportError(err, 'Could not download the waits');
  } finally {
    link.removeAttribute('aria-disabled');
  }
}

export function initReports() {
  $('reports-btn').addEventListener('click', openReports);
  $('reports-close').addEventListener('click', () => $('reports-dlg').close());
  $('waits-csv').addEventListener('click', download);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && running && Date.now() - loadedAt > EVERY_MS) refresh();
  });
}
