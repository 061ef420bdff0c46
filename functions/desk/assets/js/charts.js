// The report charts, drawn as SVG: geometry in attributes, colours from classes in
// reports.css (the CSP allows no inline style). Every value is also in a <title> and
// in a table under the chart ("Show as table").
import { h, svg } from './dom.js';
import { percent } from './format.js';

export const TARGET = 0.9; // the kept rate the day chart marks
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']; // hour_of_week keys
let ids = 0;

// Calendar dates ("2026-12-01", business-local) are formatted as UTC: no zone shift.
const utcFmt = (opts) => new Intl.DateTimeFormat(undefined, { ...opts, timeZone: 'UTC' });
const F = {
  wd: utcFmt({ weekday: 'short' }),
  day: utcFmt({ day: 'numeric' }),
  long: utcFmt({ weekday: 'short', day: 'numeric', month: 'short' }),
};
const utc = (date) => {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
};
const addDays = (date, n) => new Date(utc(date).getTime() + n * 864e5).toISOString().slice(0, 10);
const DAYS = WEEK.map((_, i) => F.wd.format(new Date(Date.UTC(2024, 0, 1 + i)))); // 1 Jan 2024: a Monday
const hh = (n) => String(n).padStart(2, '0');

// Today's date in the business zone (the browser's if the zone is unknown).
function today(zone) {
  let f;
  try {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone || undefined, year: 'numeric', month: '2-digit', day: '2-digit' });
  } catch {
    f = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: '2-digit', day: '2-digit' });
  }
  const p = Object.fromEntries(f.formatToParts(new Date()).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}

// The last n business days up to today, a day without waits included (nothing due).
export function lastDays(answer, n) {
  const by = new Map((answer.groups || []).map((g) => [g.key, g]));
  const end = today(answer.timezone);
  return Array.from({ length: n }, (_, i) => {
    const date = addDays(end, i - n + 1);
    const g = by.get(date);
    return { date, due: g ? g.promises_due : 0, kept: g ? g.promises_kept : 0, rate: g ? g.kept_rate : null };
  });
}

// Waits started per weekday (Monday first) and hour: 7 rows of 24, empty hours 0.
export function hourGrid(answer) {
  const grid = WEEK.map(() => Array(24).fill(0));
  for (const g of answer.groups || []) {
    const m = /^([a-z]{3}) (\d{2})$/.exec(g.key || '');
    const d = m ? WEEK.indexOf(m[1]) : -1;
    const hr = m ? Number(m[2]) : -1;
    if (d >= 0 && hr >= 0 && hr < 24) grid[d][hr] += g.waits || 0;
  }
  return grid;
}

function table(caption, head, rows) {
  const cid = `rt${++ids}`;
  return h('details', { class: 'as-table' },
    h('summary', null, 'Show as table'),
    h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': cid },
      h('table', null,
        h('caption', { id: cid }, caption),
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, rows.map(([th, ...cells]) => h('tr', null,
          h('th', { scope: 'row' }, th), cells.map((c) => h('td', null, String(c)))))))));
}

const text = (cls, x, y, s, anchor = 'middle') => svg('text', { class: cls, x, y, 'text-anchor': anchor }, s);

// Kept rate per day: a bar per day with its value on top; a day with nothing due
// gets a grey dash, not a 0% bar.
export function keptByDay(days, zone) {
  const W = 640, H = 220, L = 56, R = 8, T = 18, B = 38;
  const pw = W - L - R, ph = H - T - B, slot = pw / days.length, bw = Math.min(28, slot * 0.62);
  const y = (r) => T + ph * (1 - r);
  const due = days.filter((d) => d.rate != null);
  const good = due.filter((d) => d.rate >= TARGET).length;
  const label = `Promises kept by day, last ${days.length} days: ${due.length
    ? `${good} of ${due.length} days with promises due at or above ${percent(TARGET)}`
    : 'no promise was due'}`;
  const lines = [0, 0.5, 1].map((r) => [
    svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(r), y2: y(r) }),
    text('axis', L - 6, y(r) + 4, percent(r), 'end'),
  ]);
  const target = [
    svg('line', { class: 'target', x1: L, x2: W - R, y1: y(TARGET), y2: y(TARGET) }),
    text('axis target-label', L - 6, y(TARGET) + 4, percent(TARGET), 'end'),
  ];
  const bars = days.map((d, i) => {
    const cx = L + slot * (i + 0.5);
    const x = cx - bw / 2;
    const name = F.long.format(utc(d.date));
    const none = d.rate == null;
    const top = none ? y(0) - 3 : y(d.rate);
    return svg('g', null,
      svg('title', null, none ? `${name}: no promise due` : `${name}: ${percent(d.rate)} kept (${d.kept} of ${d.due})`),
      none
        ? svg('rect', { class: 'bar-none', x, y: top, width: bw, height: 3 })
        : svg('rect', { class: d.rate >= TARGET ? 'bar' : 'bar bar-low', x, y: top, width: bw, height: Math.max(y(0) - top, 1) }),
      text(none ? 'axis value' : 'value', cx, top - 4, none ? '–' : percent(d.rate)),
      text('axis weekday', cx, H - 22, F.wd.format(utc(d.date))),
      text('axis', cx, H - 8, F.day.format(utc(d.date))));
  });
  return [
    svg('svg', { class: 'chart', role: 'img', 'aria-label': label, viewBox: `0 0 ${W} ${H}` }, lines, target, bars),
    table(`Promises kept by day, last ${days.length} days (dates in ${zone})`,
      ['Day', 'Promises due', 'Kept', 'Kept rate'],
      days.map((d) => [F.long.format(utc(d.date)), d.due, d.kept, percent(d.rate) || 'no promise due'])),
  ];
}

// Customer messages (waits started) per hour of the week: 7 rows of 24 cells, in
// five shades; the legend names each shade's range.
export function hourHeat(grid, zone, days) {
  const CELL = 22, S = 24, L = 52, T = 22;
  const W = L + 24 * S, H = T + 7 * S;
  let max = 0;
  let total = 0;
  let busiest = null;
  grid.forEach((row, d) => row.forEach((v, hr) => {
    total += v;
    if (v > max) [max, busiest] = [v, [d, hr]];
  }));
  const shade = (v) => (v ? Math.max(1, Math.ceil((v / max) * 4)) : 0);
  const when = (d, hr) => `${DAYS[d]} ${hh(hr)}:00–${hh((hr + 1) % 24)}:00`;
  const label = `Waits started by hour of week, last ${days} days: ${total
    ? `${total} in all, the busiest hour ${when(...busiest)} with ${max}`
    : 'none'}`;
  const hours = Array.from({ length: 8 }, (_, i) => text('axis', L + i * 3 * S + CELL / 2, T - 6, hh(i * 3)));
  const rows = grid.map((row, d) => [
    text('axis', L - 6, T + d * S + CELL / 2 + 4, DAYS[d], 'end'),
    row.map((v, hr) => svg('g', null,
      svg('title', null, `${when(d, hr)}: ${v} customer message${v === 1 ? '' : 's'}`),
      svg('rect', { class: `heat heat-${shade(v)}`, x: L + hr * S, y: T + d * S, width: CELL, height: CELL, rx: 3 }))),
  ]);
  const ranges = [[0, 0, 0]];
  for (let b = 1; b <= 4; b++) {
    const lo = Math.floor(((b - 1) * max) / 4) + 1;
    const hi = Math.floor((b * max) / 4);
    if (lo <= hi) ranges.push([b, lo, hi]);
  }
  return [
    svg('svg', { class: 'chart', role: 'img', 'aria-label': label, viewBox: `0 0 ${W} ${H}` }, hours, rows),
    h('p', { class: 'heat-legend' }, 'Waits started per hour:',
      ranges.map(([b, lo, hi]) => [' ', h('span', { class: 'legend-item' },
        h('span', { class: `swatch heat-${b}` }), lo === hi ? String(lo) : `${lo}–${hi}`)])),
    table(`Waits started by hour of week, last ${days} days (hours in ${zone})`,
      ['Hour', ...DAYS],
      Array.from({ length: 24 }, (_, hr) => [`${hh(hr)}:00`, ...grid.map((row) => row[hr])])),
  ];
}
