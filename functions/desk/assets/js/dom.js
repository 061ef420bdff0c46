// DOM helpers. Text is always added as text nodes: never parse untrusted strings as HTML.
export const $ = (id) => document.getElementById(id);

export const h = (tag, props, ...kids) => build(document.createElement(tag), props, kids);

// SVG elements (the report charts): geometry as attributes, colours by class.
export const svg = (tag, props, ...kids) => build(document.createElementNS('http://www.w3.org/2000/svg', tag), props, kids);

function build(el, props, kids) {
  if (props) {
    for (const k of Object.keys(props)) {
      const v = props[k];
      if (v == null || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'style') throw new Error('inline styles are not allowed (CSP)');
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const k of kids) {
    if (k == null || k === false) continue;
    if (Array.isArray(k)) add(el, k);
    else el.append(k instanceof Node ? k : String(k));
  }
}

// Interleave items with a visible separator (spaces keep accessible names readable).
export function joined(items, sep = ' · ') {
  const out = [];
  for (const it of items) {
    if (it == null || it === false || it === '') continue;
    if (out.length) out.push(sep);
    out.push(it);
  }
  return out;
}

// Only http(s) and blob URLs may become links or images.
export function safeUrl(u) {
  if (typeof u !== 'string' || !u) return null;
  try {
    const x = new URL(u, location.href);
    return ['https:', 'http:', 'blob:'].includes(x.protocol) ? x.href : null;
  } catch {
    return null;
  }
}

export const wide = () => window.matchMedia('(min-width: 800px)').matches;
