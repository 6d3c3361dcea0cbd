// Calls to the cloud API with the session cookie; a 401 sends the user to the login page.
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function explain(body) {
  if (typeof body === 'string') return body.slice(0, 300);
  if (Array.isArray(body?.detail)) {
    return body.detail.map((d) => `${(d.loc || []).slice(1).join('.')}: ${d.msg}`).join('; ');
  }
  return body?.detail ?? '';
}

export async function api(path, { json, form, method, ...rest } = {}) {
  const init = { credentials: 'same-origin', method: method || 'GET', ...rest };
  if (json !== undefined) {
    init.method = method || 'POST';
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.method = method || 'POST';
    init.body = form;
  }
  const r = await fetch(path, init);
  if (r.status === 401 && !path.startsWith('/api/auth/')) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError('log in first', 401);
  }
  const type = r.headers.get('content-type') || '';
  const body = r.status === 204 ? null : type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(explain(body) || r.statusText, r.status);
  return body;
}

// One EventSource per page; handlers get the parsed `event` and `alarm` messages.
export function live({ onEvent, onAlarm }) {
  const source = new EventSource('/api/events-stream');
  if (onEvent) source.addEventListener('event', (m) => onEvent(JSON.parse(m.data)));
  if (onAlarm) source.addEventListener('alarm', (m) => onAlarm(JSON.parse(m.data)));
  return source;
}
