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

export async function api(path, { method = 'GET', body, headers = {}, timeout = 20000, allow401 = false } = {}) {
  const h = { 'X-Asyncdesk-Desk': '1', Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  let res;
  let data = null;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
    });
    if (res.status !== 204) {
      const text = await res.text();
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = null;
        }
      }
    }
  } catch (e) {
    const timedOut = e && e.name === 'AbortError';
    throw new ApiError(0, timedOut ? 'timeout' : 'network',
      timedOut ? 'The server took too long to answer.' : 'Could not reach asyncdesk. Check the connection.');
  } finally {
    clearTimeout(timer);
  }
  if (res.ok) return data;
  const err = (data && data.error) || {};
  const e = new ApiError(res.status, err.code || `http_${res.status}`,
    err.message || `The server answered ${res.status}.`, err.details);
  if (res.status === 401 && !allow401) unauthorized(e);
  throw e;
}

export const enc = encodeURIComponent;

// The request may or may not have been carried out: retrying with the same idempotency key is safe.
export const uncertain = (e) => e.status === 0 || e.status >= 500 || e.status === 408 || e.status === 429
  || e.code === 'idempotency_in_progress';
