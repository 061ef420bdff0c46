// Same-origin JSON API client. Every request carries the desk's CSRF header and the
// session cookie; a 401 hands control back to the sign-in form.
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

let unauthorized = () => {};
export function onUnauthorized(fn) {
  unauthorized = fn;
}

// One request: the response and its body as text. Network failures and timeouts
// become ApiErrors with status 0.
async function request(path, { method, body, headers, timeout, accept }) {
  const h = { 'X-Asyncdesk-Desk': '1', Accept: accept, ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  try {
    const res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
    });
    const text = res.status === 204 ? '' : await res.text();
    return { res, text };
  } catch (e) {
    const timedOut = e && e.name === 'AbortError';
    throw new ApiError(0, timedOut ? 'timeout' : 'network',
      timedOut ? 'The server took too long to answer.' : 'Could not reach asyncdesk. Check the connection.');
  } finally {
    clearTimeout(timer);
  }
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// A failed answer as an ApiError (errors are JSON: {"error": {code, message, details}}).
function failure(res, text, allow401) {
  const data = parse(text);
  const err = (data && data.error) || {};
  const e = new ApiError(res.status, err.code || `http_${res.status}`,
    err.message || `The server answered ${res.status}.`, err.details);
  if (res.status === 401 && !allow401) unauthorized(e);
  return e;
}

export async function api(path, { method = 'GET', body, headers = {}, timeout = 20000, allow401 = false } = {}) {
  const { res, text } = await request(path, { method, body, headers, timeout, accept: 'application/json' });
  if (res.ok) return parse(text);
  throw failure(res, text, allow401);
}

// A GET whose answer is not JSON (a CSV export): { text, type, headers }.
export async function apiText(path, { accept = 'text/csv', headers = {}, timeout = 60000 } = {}) {
  const { res, text } = await request(path, { method: 'GET', headers, timeout, accept });
  if (res.ok) return { text, type: res.headers.get('content-type') || 'text/plain', headers: res.headers };
  throw failure(res, text, false);
}

export const enc = encodeURIComponent;

// The request may or may not have been carried out: retrying with the same idempotency key is safe.
export const uncertain = (e) => e.status === 0 || e.status >= 500 || e.status === 408 || e.status === 429
  || e.code === 'idempotency_in_progress';
