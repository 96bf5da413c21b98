// The console's only way to the server: the REST API it documents for
// scripts too. The CSRF token comes from sign-in (or /me) and goes with
// every state-changing request.
let csrf = '';
export function setCsrf(v) { csrf = v || ''; }

export class ApiError extends Error {
  constructor(status, message, field, body) {
    super(message);
    this.status = status;
    this.field = field;
    this.body = body && typeof body === 'object' ? body : {};
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  let payload;
  if (body !== undefined) {
    if (opts.csv) {
      headers['Content-Type'] = 'text/csv; charset=utf-8';
      payload = body;
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const res = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const msg = (data && data.error) || `HTTP ${res.status}`;
    throw new ApiError(res.status, msg, data && data.field, data);
  }
  return data;
}
