/**
 * @module The dashboard's API client: JSON calls to /v1 with the bearer token the user pasted
 * (kept in localStorage; none is needed when the server does not require auth).
 */
/* global fetch, localStorage */

const TOKEN_KEY = 'homeostat.token';
const authListeners = new Set();

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) ?? '',
  set(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** Calls `fn(message)` whenever the server answers 401 or 403; returns the unsubscribe function. */
export function onAuthProblem(fn) {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function authHeaders() {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** A JSON request; resolves with the parsed body (or the text with `text: true`), throws ApiError. */
export async function api(path, { method = 'GET', body, text = false, signal } = {}) {
  const headers = authHeaders();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const raw = await res.text();
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = raw || res.statusText;
    try {
      const err = JSON.parse(raw).error;
      if (err) ({ code, message } = err);
    } catch {
      // not JSON: keep the text
    }
    if (res.status === 401 || res.status === 403) for (const fn of authListeners) fn(message);
    throw new ApiError(res.status, code, message);
  }
  if (text) return raw;
  return raw ? JSON.parse(raw) : undefined;
}

export const get = (path, options) => api(path, options);
export const post = (path, body) => api(path, { method: 'POST', body });

/** A query string from an object, leaving out empty values; arrays repeat the key. */
export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
