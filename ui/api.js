// api.js - the REST calls of the inspector, on the page's own origin, with the API key from
// this tab's session storage. Failures become ApiError with a kind the page can explain:
// auth (wrong key), revoked (revoked or expired key), server (5xx), network, client (4xx).

const KEY = 'mnemo.key';

export function getKey() {
  return sessionStorage.getItem(KEY);
}
export function setKey(k) {
  sessionStorage.setItem(KEY, k);
}
export function clearKey() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(kind, status, code, message, hint) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.hint = hint || '';
  }
}

function classify(status, body) {
  const e = (body && body.error) || {};
  const msg = e.message || `HTTP ${status}`;
  if (status === 401) {
    const revoked = /revoked|expired/i.test(msg);
    return new ApiError(revoked ? 'revoked' : 'auth', status, e.code || 'unauthorized', msg, e.hint);
  }
  if (status >= 500) return new ApiError('server', status, e.code || 'server_error', msg, e.hint);
  return new ApiError('client', status, e.code || 'error', msg, e.hint);
}

// Sends one request; resolves with the parsed JSON (or text for non-JSON replies).
export async function call(method, path, body) {
  const headers = {};
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError('network', 0, 'network', `Cannot reach the mnemo server at ${location.origin}: ${err.message}`,
      'check that `mnemo serve` is running and reload the page');
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = undefined;
  }
  if (!res.ok) throw classify(res.status, json);
  return json === undefined ? text : json;
}

const u = (user) => `/v1/users/${encodeURIComponent(user)}`;

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  users: (limit, after) => call('GET', `/v1/users${qs({ limit, after })}`),
  memories: (user, filters) => call('GET', `${u(user)}/memories${qs(filters)}`),
  search: (user, params) => call('GET', `${u(user)}/memories${qs(params)}`),
  memory: (user, id) => call('GET', `${u(user)}/memories/${id}`),
  patch: (user, id, body) => call('PATCH', `${u(user)}/memories/${id}`, body),
  remove: (user, id) => call('DELETE', `${u(user)}/memories/${id}`),
  forget: (user) => call('DELETE', u(user)),
  compact: (user, body) => call('POST', `${u(user)}/compact`, body),
  context: (user, body) => call('POST', `${u(user)}/context`, body),
  metrics: () => call('GET', '/metrics'),
};
