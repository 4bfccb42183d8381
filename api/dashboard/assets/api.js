// The dashboard's data layer: a thin fetch wrapper over the query and write
// endpoints described in CONTRACT.md. It holds the bearer token (in
// sessionStorage, never in localStorage or a cookie) and turns problem+json
// answers into ApiError.

const TOKEN_KEY = 'concord.token';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(t) { sessionStorage.setItem(TOKEN_KEY, t); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

function url(path, params) {
  const u = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
    else u.searchParams.set(k, v);
  }
  return u;
}

async function request(method, path, params, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url(path, params), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!res.ok) throw new ApiError(res.status, data || {});
  return data;
}

export const get = (path, params) => request('GET', path, params);
export const post = (path, body, params) => request('POST', path, params, body);

// csvLink returns the address of the CSV export of a table endpoint. The
// dashboard downloads it with fetch (the token is a header, not a cookie).
export async function downloadCSV(path, params, filename) {
  const headers = { Accept: 'text/csv' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const res = await fetch(url(path, params), { headers });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(a.href);
}

const base = (plan) => `/api/v1/plans/${encodeURIComponent(plan)}`;

export const api = {
  me: () => get('/api/v1/me'),
  audit: () => get('/api/v1/audit/verify'),
  plans: () => get('/api/v1/plans'),
  dimensions: () => get('/api/v1/dimensions'),
  plan: (plan, q) => get(`${base(plan)}/summary`, q),
  variance: (plan, q) => get(`${base(plan)}/variance`, q),
  rolling: (plan, q) => get(`${base(plan)}/rolling`, q),
  pivot: (plan, q) => get(`${base(plan)}/pivot`, q),
  history: (plan, q) => get(`${base(plan)}/history`, q),
  diff: (plan, q) => get(`${base(plan)}/diff`, q),
  forecasts: (plan, q) => get(`${base(plan)}/forecasts`, q),
  accuracy: (plan, q) => get(`${base(plan)}/accuracy`, q),
  reallocations: (plan, q) => get(`${base(plan)}/reallocations`, q),
  targets: (plan, q) => get(`${base(plan)}/targets`, q),
  checkTargets: (plan, rows) => post(`${base(plan)}/targets/batch`, { rows }, { dry_run: 'true' }),
  changeTargets: (plan, rows) => post(`${base(plan)}/targets/batch`, { rows }),
  preview: (plan, body) => post(`${base(plan)}/reallocations/preview`, body),
  propose: (plan, body) => post(`${base(plan)}/reallocations`, body),
  approve: (plan, id) => post(`${base(plan)}/reallocations/${encodeURIComponent(id)}/approve`, {}),
  reject: (plan, id, reason) => post(`${base(plan)}/reallocations/${encodeURIComponent(id)}/reject`, { reason }),
  scenarios: (plan) => get(`${base(plan)}/scenarios`),
  openScenario: (plan, body) => post(`${base(plan)}/scenarios`, body),
  alerts: (plan, q) => get(`${base(plan)}/alerts`, q),
  acknowledge: (plan, id, comment) => post(`${base(plan)}/alerts/${encodeURIComponent(id)}/acknowledge`, { comment }),
  csv: (plan, table, q) => downloadCSV(`${base(plan)}/${table}`, q, `${plan}-${table}.csv`),
};
