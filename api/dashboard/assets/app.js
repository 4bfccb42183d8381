// Concord's shared dashboard: hash routing, sign-in and the five views.
// Every number comes from the query endpoints of CONTRACT.md via api.js.

import { api, ApiError, token, setToken, clearToken } from './api.js';
import { h, table, heatmap, chart, nodePicker, downloadTable, virtualRows, escapeHTML, amount, percent, probabilityColour, monthLabel } from './components.js';
import { timeKinds, pivotMeasures, timeColumns, aggregate, ratioOf } from './pivot.js';
import { Tree, Draft, cents } from './grid.js';

const view = document.getElementById('view');
const status = document.getElementById('status');
const ctx = { me: null, plans: [], planInfo: null };

// route parses location.hash as #/name?k=v&… .
function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, qs] = raw.split('?');
  return { name: name || 'overview', q: Object.fromEntries(new URLSearchParams(qs || '')) };
}

// go navigates to name with query q (merged over the shared keys).
function go(name, q) {
  const keep = {};
  const cur = route().q;
  for (const k of ['plan', 'metric', 'as_of']) if (cur[k]) keep[k] = cur[k];
  const params = new URLSearchParams(Object.entries({ ...keep, ...q }).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const target = `#/${name}${params.toString() ? `?${params}` : ''}`;
  if (location.hash === target) render(); else location.hash = target;
}
function link(name, q, text, attrs) {
  const cur = route().q;
  const keep = {};
  for (const k of ['plan', 'metric', 'as_of']) if (cur[k]) keep[k] = cur[k];
  const params = new URLSearchParams(Object.entries({ ...keep, ...q }).filter(([, v]) => v !== undefined && v !== ''));
  return h('a', { href: `#/${name}?${params}`, ...attrs }, text);
}

function say(msg, kind) {
  status.textContent = msg || '';
  status.className = `status ${kind || ''}`;
}

function can(...roles) {
  return !!ctx.me && ctx.me.roles.some((r) => roles.includes(r) || r === 'admin');
}

function select(id, label, options, value, onchange) {
  return h('label', { class: 'field', for: id }, label,
    h('select', { id, name: id, onchange: (e) => onchange(e.target.value) },
      options.map((o) => h('option', { value: o.value, selected: String(o.value) === String(value) }, o.label))));
}

function planQuery(q) {
  const plan = q.plan || (ctx.plans[0] && ctx.plans[0].id);
  const info = ctx.plans.find((p) => p.id === plan);
  const metric = q.metric || (info && info.metrics[0] && info.metrics[0].id);
  return { plan, info, metric, as_of: q.as_of };
}

async function loadPlan(plan, asOf) {
  ctx.planInfo = await api.plan(plan, { as_of: asOf });
  return ctx.planInfo;
}

function dims(info) { return Object.fromEntries(info.dimensions.map((d) => [d.id, d])); }
function memberName(info, dim, id) {
  const d = dims(info)[dim];
  const m = d && d.members.find((x) => x.id === id);
  return m ? m.name : id;
}
function nodeLabel(info, node) {
  if (!node) return 'Total';
  return node.split(';').map((c) => { const [d, m] = c.split('='); return memberName(info, d, m); }).join(' × ');
}

// metricsOf lists every metric a view may show: the plan's measured
// metrics, then its derived ones (computed by formula from two others,
// never set nor recorded), each {id, name, unit, derived?}.
function metricsOf(info) {
  return [...((info && info.metrics) || []),
    ...((info && info.derived_metrics) || []).map((d) => ({ id: d.id, name: d.name, unit: d.unit, derived: d }))];
}
function metricOf(info, id) { return metricsOf(info).find((x) => x.id === id); }

// metricName is a metric's display name ("Net revenue", "Gross margin %").
function metricName(info, id) {
  const m = metricOf(info, id);
  return m ? m.name : id;
}

// derivedOf answers the formula of a derived metric, or null.
function derivedOf(info, id) {
  const m = metricOf(info, id);
  return m && m.derived ? m.derived : null;
}

// isRatio tells whether metric id is a derived ratio: a percentage
// (100 × left / right, of each node's own sums), never summed.
function isRatio(info, id) {
  const d = derivedOf(info, id);
  return !!d && d.op === '/';
}

// formulaText writes a derived metric's formula in the operands' names
// ("Gross margin ÷ Net revenue").
function formulaText(info, d) {
  const ops = { '+': '+', '-': '−', '*': '×', '/': '÷' };
  return `${metricName(info, d.left)} ${ops[d.op] || d.op} ${metricName(info, d.right)}`;
}

// metricOptions are the choices of a metric control: the measured metrics,
// then the derived ones with their formula.
function metricOptions(info) {
  return metricsOf(info).map((m) => ({ value: m.id, label: m.derived ? `${m.name} (${formulaText(info, m.derived)})` : m.name }));
}

// metricLabel names a metric with its unit: "Net revenue (EUR)", and a
// ratio as a percentage: "Gross margin %", "Share (%)".
function metricLabel(info, id) {
  const name = metricName(info, id);
  const unit = unitOf(info, id);
  return !unit || (isRatio(info, id) && name.includes('%')) ? name : `${name} (${unit})`;
}

function unitOf(info, id) {
  if (isRatio(info, id)) return '%';
  const m = metricOf(info, id);
  return (m && m.unit) || (info && info.currency) || '';
}

// figure formats a figure of metric id: a ratio's as a percentage with
// one decimal ("38.2%"), anything else as an amount.
function figure(info, id) {
  if (!isRatio(info, id)) return amount;
  return (v) => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? '—' : `${Number(v).toFixed(1)}%`);
}

// difference formats a difference of two figures of metric id: a ratio's
// in percentage points ("+1.5 pp"), anything else as a signed amount.
function difference(info, id) {
  if (!isRatio(info, id)) return (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? '—' : `${Number(v) > 0 ? '+' : ''}${amount(v)}`);
  return (v) => {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
    const r = Math.round(Number(v) * 10) / 10; // no "+0.0" nor "-0.0"
    return r === 0 ? '0.0 pp' : `${r > 0 ? '+' : ''}${r.toFixed(1)} pp`;
  };
}

// derivedNote says above a derived metric's figures how they are made.
function derivedNote(info, id) {
  const d = derivedOf(info, id);
  if (!d) return null;
  return h('p', { class: 'asof-note', id: 'derived-note' }, `${metricName(info, id)} is derived: ${formulaText(info, d)} (${d.formula})`
    + `${d.op === '/' ? ', at every node the ratio of its own sums, as a percentage; gaps and differences are in percentage points, and a variance % of it is not shown' : d.op === '*' ? ', summed over the node\'s cells and months' : ''}`
    + '. It has no targets of its own (set its operands\'), and no forecast interval nor P(target).');
}

// typeName turns an event type ("plan.TargetRevised") into words
// ("Target revised").
export function typeName(t) {
  const name = t.includes('.') ? t.slice(t.indexOf('.') + 1) : t;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// readable puts thousands separators into the long numbers of a server
// sentence ("4800000.00" → "4,800,000"), leaving periods, positions and
// identifiers alone.
function readable(text) {
  return (text || '').replace(/(^|[\s(:=→])(-?\d{5,}(?:\.\d+)?)(?=$|[\s),;.](?!\d))/g, (_, pre, n) => pre + amount(n));
}

// targetsOf lists every target of the plan as known at the log position
// of info (its summary): GET …/targets?as_of=POSITION, all pages, kept
// per position. The position makes the query side answer (its state at
// that position, the live one at the head), as fast as the summary; the
// write side's answer without as_of loads the plan from its events on
// every page (on the Realistic company, 4,000 targets took 317 s).
async function targetsOf(plan, info) {
  const at = info.as_of.position;
  const key = `${plan}@${at}`;
  ctx.targets = ctx.targets || {};
  if (!ctx.targets[key]) {
    ctx.targets[key] = (async () => {
      const all = [];
      let cursor;
      do {
        const page = await api.targets(plan, { limit: 1000, cursor, as_of: at });
        all.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      return all;
    })();
    ctx.targets[key].catch(() => { if (ctx.targets) delete ctx.targets[key]; });
  }
  return ctx.targets[key];
}

// catalog lists the nodes a picker offers: the total, every member of every
// dimension and the nodes given (the one shown), at once; every crossing
// of members that has a target joins the list when the targets come (the
// picker searches the list as it is then), so that no view waits for them.
function catalog(plan, info, ...given) {
  const out = [{ node: '', label: 'Total' }];
  const seen = new Set(['']);
  const add = (node, entry) => { if (!seen.has(node)) { seen.add(node); out.push(entry); } };
  for (const d of info.dimensions) {
    for (const m of d.members) if (m.id !== d.root) add(`${d.id}=${m.id}`, { node: `${d.id}=${m.id}`, label: m.name, dim: d.name });
  }
  for (const n of given) if (n) add(n, { node: n, label: nodeLabel(info, n) });
  targetsOf(plan, info).then((ts) => { for (const t of ts) add(t.node, { node: t.node, label: nodeLabel(info, t.node) }); }).catch(() => {});
  return out;
}

function controls(children) { return h('div', { class: 'controls' }, children); }
function csvButton(plan, tableName, q, text) {
  return h('button', { type: 'button', class: 'secondary', onclick: () => api.csv(plan, tableName, q).catch(fail) }, text || 'Download CSV');
}
function asOfNote(a) {
  return h('p', { class: 'asof-note' }, a && a.position ? `As known at log position ${a.position}${a.time ? ` (${a.time.slice(0, 19).replace('T', ' ')} UTC)` : ''}.` : '');
}

// ---- Sign-in ---------------------------------------------------------------

function signIn() {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h('form', { class: 'card signin', id: 'signin-form' },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'token' }, 'Access token'), input,
    h('p', { id: 'token-help', class: 'help' }, 'Paste the token you were given. It is kept for this browser tab only.'),
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    try {
      await start();
      go('overview', {});
    } catch (err) {
      clearToken();
      say(err instanceof ApiError && err.status === 401 ? 'That token was not accepted.' : err.message, 'error');
    }
  });
  view.replaceChildren(form);
  input.focus();
}

async function start() {
  ctx.me = await api.me();
  ctx.plans = (await api.plans()).plans;
  document.getElementById('who').hidden = false;
  document.getElementById('who-name').textContent = `${ctx.me.subject} (${ctx.me.roles.join(', ')})`;
  document.getElementById('asof-form').hidden = false;
  document.querySelector('[data-route="replan"]').hidden = !can('sales', 'planner');
  document.querySelector('[data-route="grid"]').hidden = !can('planner');
}

// ---- Setup (a store without a plan) ---------------------------------------------

// setup is the view of a store that has no plan yet: what is there, what is
// missing, and the command (or request) that adds each.
async function setup() {
  const show = shower();
  const d = await api.dimensions();
  const step = (done, title, detail, cmd) => h('li', { class: done ? 'done' : 'todo', 'data-step': title },
    h('strong', {}, `${done ? '✓' : '○'} ${title}`), ' — ', detail,
    cmd ? h('pre', {}, h('code', {}, cmd)) : null);
  const dimText = d.dimensions.length
    ? `${d.dimensions.length} defined: ${d.dimensions.map((x) => `${x.name} (${x.members.length} members)`).join(', ')}.`
    : 'none yet. A file lists whole hierarchies: dimension,member,name,parent (the root has no parent).';
  show(
    h('h1', {}, 'Set up your company'),
    h('p', { id: 'setup-intro' }, 'This store has no plan yet, so there is nothing to compare. Add, in this order (each command runs where the store is, with --store or CONCORD_STORE; the README section "Your own company" walks through it with example files in cmd/concord/example/):'),
    h('ol', { class: 'setup', id: 'setup-steps' },
      step(d.dimensions.length > 0, 'Dimensions', dimText, 'concord import dimensions dimensions.csv --dry-run   # then without --dry-run'),
      step(false, 'A plan', 'none yet. One row per metric: plan,name,currency,fiscal_year_start,dimensions,horizon_start,metric,metric_name.', 'concord import plan plan.csv'),
      step(false, 'Targets', 'op,node,metric,span,amount,reason (op upsert sets or revises).', 'concord import targets targets.csv --plan PLAN'),
      step(false, 'Actuals', 'cell,metric,period,amount; a statistical forecast is made from them by itself.', 'concord import actuals actuals.csv --plan PLAN')),
    h('p', { class: 'help' }, 'Reload this page once the plan is imported. The same files can be sent to the API (POST /api/v1/dimensions/import, /api/v1/plans, …/targets/batch, …/actuals as text/csv).'));
}

// notices says, above a table, what is missing from the plan's answer and
// how to add it: targets, actuals, a published forecast.
function notices(plan, metric, v, rows) {
  const out = [];
  const info = ctx.planInfo;
  if (derivedOf(info, metric)) {
    out.push(derivedNote(info, metric));
    if (v.undefined && v.undefined.length) out.push(h('p', { class: 'warn', id: 'undefined' }, `Undefined (a denominator is zero): ${v.undefined.join('; ')}.`));
    return out;
  }
  const src = v.forecast_source;
  if (src) {
    out.push(h('p', { class: src.kind === 'stand-in' || src.beyond ? 'warn' : 'asof-note', id: 'forecast-source', 'data-kind': src.kind },
      src.kind === 'stand-in' ? `No statistical forecast yet: ${src.text}.` : `Forecast: ${src.text}.`));
  }
  if (rows && !rows.some((r) => r.target !== null)) {
    out.push(h('p', { class: 'warn', id: 'no-targets' }, `No targets of ${metric} in this year yet: concord import targets targets.csv --plan ${plan} (columns op,node,metric,span,amount,reason).`));
  }
  if (rows && !rows.some((r) => r.actual !== null && Number(r.actual) !== 0) && src && src.kind === 'stand-in') {
    out.push(h('p', { class: 'warn', id: 'no-actuals' }, `No actuals of ${metric} yet: concord import actuals actuals.csv --plan ${plan} (columns cell,metric,period,amount).`));
  }
  return out;
}

// ---- Overview ----------------------------------------------------------------

async function overview(q) {
  const show = shower();
  const { plan, metric, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const dimension = q.dimension || info.dimensions[0].id;
  const year = q.year || info.years[0];
  const params = { metric, year, dimension, parent: q.parent, node: q.node, as_of };
  const v = await api.variance(plan, params);
  const heat = heatmapOf(plan, info, metric, year, as_of, q);
  const fig = figure(info, metric);
  const diff = difference(info, metric);
  // A gap's colour: short of the target red, above it green; a ratio's
  // as shown (to a tenth of a point), so that "0.0 pp" is neither.
  const tone = (g) => {
    if (g === null || g === undefined) return null;
    const r = isRatio(info, metric) ? Math.round(g * 10) / 10 : g;
    return r > 0 ? 'neg' : r < 0 || !isRatio(info, metric) ? 'pos' : null;
  };

  const crumbs = [];
  const dim = dims(info)[dimension];
  let m = dim.members.find((x) => x.id === v.parent);
  while (m) { crumbs.unshift(m); m = dim.members.find((x) => x.id === m.parent); }
  const breadcrumb = h('nav', { 'aria-label': 'Drill-down path', class: 'crumbs' },
    h('ol', {}, crumbs.map((c, i) => h('li', {}, i === crumbs.length - 1
      ? h('span', { 'aria-current': 'page' }, c.name)
      : link('overview', { ...q, parent: c.id }, c.name)))));

  const columns = [
    { label: 'Node', render: (r) => r.parent_row ? h('span', { class: 'node parent' }, `${r.name} (all)`)
      : r.has_children ? link('overview', { ...q, dimension, parent: r.member }, r.name, { class: 'drill', 'data-member': r.member, title: `Drill into ${r.name}` })
        : h('span', { class: 'node' }, r.name) },
    { label: 'Target', numeric: true, render: (r) => fig(r.target) },
    { label: 'Actual to date', numeric: true, render: (r) => fig(r.actual) },
    { label: 'Latest estimate (actuals + forecast)', numeric: true, render: (r) => fig(r.latest_estimate) },
    { label: 'Sales commit', numeric: true, render: (r) => r.commit_source === 'rolled up' ? h('span', { title: 'rolled up from the commits below or within the year' }, fig(r.commit), h('small', {}, ' Σ')) : fig(r.commit) },
    { label: 'Statistical forecast', numeric: true, render: (r) => r.forecast ? h('span', {}, fig(r.forecast.mean),
      r.forecast.lo95 === null || r.forecast.lo95 === undefined ? null : [h('br'), h('small', {}, `95%: ${fig(r.forecast.lo95)} – ${fig(r.forecast.hi95)}`)]) : '—' },
    { label: 'Gap to target (target − LE)', numeric: true, render: (r) => h('span', { class: tone(r.gap) }, isRatio(info, metric) ? diff(r.gap) : amount(r.gap)) },
    { label: 'Gap to commit (commit − LE)', numeric: true, render: (r) => h('span', { class: tone(r.gap_to_commit) }, isRatio(info, metric) ? diff(r.gap_to_commit) : amount(r.gap_to_commit)) },
    { label: 'Plan to target', numeric: true, render: (r) => fig(r.plan_to_target) },
    { label: 'P(target)', numeric: true, render: (r) => h('span', { class: 'prob', style: `background:${probabilityColour(r.probability)}` }, percent(r.probability)) },
    { label: 'Detail', render: (r) => link('node', { node: r.node }, 'Chart', { 'aria-label': `Monthly chart of ${r.name}` }) },
  ];
  const tbl = table({ caption: `${info.name}: ${metricLabel(info, metric)}, ${v.span.label}, by ${dim.name}`, columns, rows: v.rows, rowClass: (r) => r.parent_row ? 'parent' : null });
  tbl.id = 'overview-table';

  const parts = [
    h('h1', {}, 'Overview'),
    controls([
      select('metric', 'Metric', metricOptions(info), metric, (x) => go('overview', { ...q, metric: x })),
      select('year', 'Fiscal year', info.years.map((y) => ({ value: y, label: `FY${y}` })), year, (x) => go('overview', { ...q, year: x })),
      select('dimension', 'Rows by', info.dimensions.map((d) => ({ value: d.id, label: d.name })), dimension, (x) => go('overview', { ...q, dimension: x, parent: '' })),
      heat.choice,
      csvButton(plan, 'variance', params),
    ]),
    asOfNote(v.as_of),
    ...notices(plan, metric, v, v.rows),
    v.conflicts && v.conflicts.length ? h('p', { class: 'warn', role: 'alert' }, `Targets conflict: ${v.conflicts.join('; ')}`) : null,
    breadcrumb, tbl, ...heat.parts,
  ];
  show(...parts.filter(Boolean));
}

// heatLayouts lists the heatmaps a plan may draw: rows a dimension at a
// depth, columns the top members of another dimension, from the plan's
// dimensions alone (reading every target to find the crossings that have
// one pages through all of them: minutes on a large plan).
function heatLayouts(info) {
  const out = [];
  for (const a of info.dimensions) {
    const depth = Math.max(...a.members.map((m) => m.depth));
    for (let level = 1; level <= depth; level++) {
      for (const b of info.dimensions) if (b.id !== a.id) out.push({ key: `${a.id}:${level}:${b.id}`, dim: a.id, level, cross: b.id });
    }
  }
  return out;
}

// heatTries is how many layouts the overview tries, in order, for one
// whose crossings have a target of the year (a heatmap of crossings
// without targets would be all "—").
const heatTries = 3;

// heatmapOf answers the overview's heatmap control at once and fills its
// place when the heatmap comes: the layout chosen (q.heat), or else the
// first of the first heatTries layouts with a probability in some cell.
// The overview's table does not wait for it.
function heatmapOf(plan, info, metric, year, as_of, q) {
  const layouts = heatLayouts(info);
  const ds = dims(info);
  const name = (l) => `${ds[l.dim].name}${l.level > 1 ? ` (level ${l.level})` : ''} × ${ds[l.cross].name}`;
  const asked = q.heat === '-' ? null : layouts.find((l) => l.key === q.heat);
  const choice = select('heat', 'Heatmap', [{ value: '', label: 'the first with targets' }, { value: '-', label: 'none' }, ...layouts.map((l) => ({ value: l.key, label: name(l) }))],
    q.heat || '', (x) => go('overview', { ...q, heat: x }));
  const place = h('div', { id: 'heatmap', 'aria-live': 'polite' });
  if (q.heat === '-') return { choice, parts: [] };
  if (derivedOf(info, metric)) {
    place.append(h('p', { class: 'help', id: 'heatmap-none' }, `${metricName(info, metric)} is derived: it has no P(target), so no heatmap.`));
    return { choice: null, parts: [place] };
  }
  const draw = (l, hv) => {
    const rows = hv.rows;
    place.replaceChildren(h('h2', {}, `Probability of reaching the ${hv.span.label} target: ${name(l)}`),
      heatmap({
        title: `Probability of reaching the ${hv.span.label} ${metricName(info, metric)} target by ${name(l)}`,
        rowLabels: rows.map((r) => r.name), colLabels: hv.columns.map((c) => c.name),
        value: (i, j) => rows[i].cells[j].probability,
        label: (i, j) => { const c = rows[i].cells[j]; return `${rows[i].name} × ${hv.columns[j].name}: target ${amount(c.target)}, gap ${amount(c.gap)}, P ${percent(c.probability)}`; },
      }));
    performance.mark('rendered:heatmap');
  };
  (async () => {
    for (const l of asked ? [asked] : layouts.slice(0, heatTries)) {
      const hv = await api.variance(plan, { metric, year, dimension: l.dim, level: l.level, cross: l.cross, as_of });
      if (asked || hv.rows.some((r) => r.cells.some((c) => c.probability !== null))) { draw(l, hv); return; }
    }
    place.replaceChildren(h('p', { class: 'help', id: 'heatmap-none' }, `None of the first ${heatTries} crossings of two dimensions has a target of FY${year}: choose one above.`));
  })().catch((err) => place.replaceChildren(h('p', { class: 'warn' }, `The heatmap could not be drawn: ${err.message}`)));
  return { choice, parts: [place] };
}

// ---- Node view ---------------------------------------------------------------

async function nodeView(q) {
  const show = shower();
  const { plan, metric, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const node = q.node || '';
  const r = await api.rolling(plan, { metric, node, as_of });
  const labels = r.periods.map((p) => p.period);
  const f = (k) => r.periods.map((p) => (p.forecast ? p.forecast[k] : null));
  const open = (vals) => vals.map((v, i) => (r.periods[i].closed ? null : v));
  const actual = r.periods.map((p) => (p.closed && p.actual !== null ? Number(p.actual) : null));
  // The forecast line starts from the last actual, so the two read as one path.
  const lastClosed = r.periods.findLastIndex((p) => p.closed);
  const forecastLine = open(f('mean'));
  if (lastClosed >= 0 && lastClosed < labels.length - 1) forecastLine[lastClosed] = actual[lastClosed];
  const picker = nodePicker({ id: 'node-input', label: 'Node', catalog: catalog(plan, info, node), value: node,
    onpick: (n) => go('node', { ...q, node: n }) });
  const monthly = chart({
    title: `${r.label}, ${metricLabel(info, metric)} by month: actuals of the closed months, statistical forecast with its 80% and 95% intervals for the open months, phased target and sales commit`,
    caption: `${r.label}: ${metricLabel(info, metric)} by month`, labels, closedThrough: r.closed_through,
    bands: [
      { lo: open(f('lo95')), hi: open(f('hi95')), cls: 'b95', label: '95% interval' },
      { lo: open(f('lo80')), hi: open(f('hi80')), cls: 'b80', label: '80% interval' },
    ],
    lines: [
      { values: open(r.periods.map((p) => p.plan_to_target)), cls: 'reconciled', label: 'Plan to target (run-rate to deliver)' },
      { values: forecastLine, cls: 'forecast', label: 'Statistical forecast', dots: true },
      { values: actual, cls: 'actual', label: 'Actual', dots: true },
      { values: r.periods.map((p) => p.commit), cls: 'commit', label: 'Sales commit (phased)' },
      { values: r.periods.map((p) => p.target), cls: 'target', label: 'Target (phased)' },
    ],
  });
  // A ratio's months do not add up: no year-to-date sum of them.
  const ytd = isRatio(info, metric) ? null : cumulativeChart(r, info, metric);
  const ex = r.explanation;
  const fig = figure(info, metric);
  const metricChoice = select('node-metric', 'Metric', metricOptions(info), metric, (x) => go('node', { ...q, metric: x }));
  show(
    h('h1', {}, `Node: ${r.label}`), h('div', { class: 'controls', id: 'node-form' }, picker, metricChoice), asOfNote(r.as_of), ...notices(plan, metric, r, null),
    h('div', { class: 'charts' }, monthly, ytd),
    h('section', { class: 'card explain', 'aria-labelledby': 'explain-h' },
      h('h2', { id: 'explain-h' }, 'How the plan was adjusted (open months)'),
      derivedOf(info, metric) ? null : h('dl', {},
        h('dt', {}, 'Statistical forecast'), h('dd', {}, amount(ex.forecast)),
        h('dt', {}, 'Coherence part (making levels add up)'), h('dd', {}, amount(ex.coherence)),
        h('dt', {}, 'Target part (closing the gap)'), h('dd', {}, amount(ex.target)),
        h('dt', {}, 'Plan to target'), h('dd', {}, amount(ex.plan_to_target))),
      h('p', {}, readable(ex.text))),
    controls([csvButton(plan, 'rolling', { metric, node, as_of })]),
    table({
      caption: `Monthly detail of ${r.label}: ${metricLabel(info, metric)}`,
      columns: [
        { label: 'Period', key: 'period' },
        { label: 'Status', render: (p) => (p.closed ? 'closed' : 'open') },
        { label: 'Actual', numeric: true, render: (p) => fig(p.actual) },
        { label: 'Target', numeric: true, render: (p) => fig(p.target) },
        { label: 'Forecast', numeric: true, render: (p) => fig(p.forecast && p.forecast.mean) },
        { label: 'Commit', numeric: true, render: (p) => fig(p.commit) },
        { label: 'Latest estimate', numeric: true, render: (p) => fig(p.latest_estimate) },
        { label: 'Plan to target', numeric: true, render: (p) => fig(p.plan_to_target) },
        // A derived metric's plan is its operands': it has no adjustments of its own.
        ...(derivedOf(info, metric) ? [] : [
          { label: 'Coherence adj.', numeric: true, render: (p) => amount(p.coherence_adjustment) },
          { label: 'Target adj.', numeric: true, render: (p) => amount(p.target_adjustment) }]),
      ],
      rows: r.periods,
    }));
}

// cumulativeChart draws the fiscal year to date of a node view: actuals
// summed month by month, then actuals plus the forecast of the open months
// (its 80% interval treating months as independent, as the query side
// does), against the phased target and commit summed the same way.
function cumulativeChart(r, info, metric) {
  const startMonth = (p) => Number(p.period.slice(5)) === info.fiscal_year_start;
  const end = r.periods.findIndex((p, i) => i > 0 && startMonth(p));
  const year = r.periods.slice(0, end < 0 ? r.periods.length : end);
  const labels = year.map((p) => p.period);
  const run = (get) => { let sum = 0; let any = true; return year.map((p) => { const v = get(p); if (v === null || v === undefined) any = false; sum += Number(v || 0); return any ? sum : null; }); };
  const actual = run((p) => (p.closed ? p.actual : null)).map((v, i) => (year[i].closed ? v : null));
  const estimate = run((p) => (p.closed ? p.actual : p.forecast && p.forecast.mean));
  let varSum = 0;
  const sd = year.map((p) => {
    if (!p.closed && p.forecast) { const s = (p.forecast.hi95 - p.forecast.lo95) / (2 * 1.959964); varSum += s * s; }
    return Math.sqrt(varSum);
  });
  const lo80 = estimate.map((v, i) => (year[i].closed || v === null ? null : v - 1.281552 * sd[i]));
  const hi80 = estimate.map((v, i) => (year[i].closed || v === null ? null : v + 1.281552 * sd[i]));
  const last = year.findLastIndex((p) => p.closed);
  if (last >= 0) { lo80[last] = estimate[last]; hi80[last] = estimate[last]; }
  const mname = metricName(info, metric);
  const target = run((p) => p.target);
  const commit = run((p) => p.commit);
  const atEnd = (vs) => vs[vs.length - 1];
  // The year end in words: the estimate against the target and commit.
  const gap = atEnd(target) !== null && atEnd(estimate) !== null ? atEnd(target) - atEnd(estimate) : null;
  const note = atEnd(estimate) === null ? null
    : `By ${monthLabel(labels[labels.length - 1])}: actuals + forecast ${amount(atEnd(estimate))}${atEnd(target) !== null ? `, ${amount(Math.abs(gap))} ${gap > 0 ? 'short of' : 'above'} the target of ${amount(atEnd(target))}` : ''}${atEnd(commit) !== null ? `; commit ${amount(atEnd(commit))}` : ''}.`;
  return chart({
    title: `${r.label}, ${mname}: fiscal year to date, cumulative actuals then actuals plus forecast, against the cumulative phased target and commit`,
    caption: `${r.label}: year to date, cumulative (${labels[0]} to ${labels[labels.length - 1]})`, labels, closedThrough: r.closed_through,
    // A derived metric's forecast has no interval (null, not zero width).
    bands: derivedOf(info, metric) ? [] : [{ lo: lo80, hi: hi80, cls: 'b80', label: '80% interval' }],
    lines: [
      { values: estimate.map((v, i) => (i >= last ? v : null)), cls: 'forecast', label: 'Actual + forecast', end: true },
      { values: actual, cls: 'actual', label: 'Actual to date', dots: true },
      { values: commit, cls: 'commit', label: 'Commit', end: true },
      { values: target, cls: 'target', label: 'Target', end: true },
    ],
    note,
  });
}

// ---- History -----------------------------------------------------------------

// planChanges are the event types a plan's history shows by default: the
// changes of targets and versions, not the monthly flow of actuals and
// forecasts.
const planChanges = ['plan.TargetSet', 'plan.TargetRevised', 'plan.TargetCleared', 'plan.ReallocationProposed', 'plan.ReallocationApproved', 'plan.ReallocationRejected', 'plan.VersionTagged', 'plan.VersionApproved'];
const otherTypes = ['ledger.ActualRecorded', 'ledger.ActualRestated', 'ledger.PeriodClosed', 'ledger.PeriodReopened', 'commit.Submitted', 'forecast.Published'];

async function history(q) {
  const show = shower();
  const { plan, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const typeChoice = q.type || 'changes';
  const types = typeChoice === 'changes' ? planChanges : typeChoice === 'any' ? undefined : typeChoice;
  const filters = { type: types, actor: q.actor, node: q.node, to: as_of };
  const nodeFilter = nodePicker({ id: 'f-node', label: 'Node (and below)', catalog: catalog(plan, info, q.node), value: q.node || '', placeholder: 'any node', blank: true });
  const form = h('form', { class: 'controls', id: 'history-form' },
    h('label', { class: 'field', for: 'f-type' }, 'Events', h('select', { id: 'f-type', name: 'type' },
      [{ value: 'changes', label: 'Plan changes (targets, reallocations, versions)' }, { value: 'any', label: 'Every event' },
        ...[...planChanges, ...otherTypes].map((t) => ({ value: t, label: typeName(t) }))]
        .map((o) => h('option', { value: o.value, selected: o.value === typeChoice }, o.label)))),
    h('label', { class: 'field', for: 'f-actor' }, 'Actor', h('input', { id: 'f-actor', name: 'actor', value: q.actor || '' })),
    nodeFilter,
    h('button', { type: 'submit' }, 'Filter'),
    csvButton(plan, 'history', filters));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    go('history', { ...q, type: fd.get('type'), actor: fd.get('actor'), node: form.querySelector('#f-node').resolveNode() });
  });
  const list = h('ol', { class: 'timeline', id: 'timeline' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'more' }, 'Older events');
  let cursor;
  async function page() {
    const res = await api.history(plan, { ...filters, cursor, limit: 25 });
    for (const it of res.items) {
      const change = it.from !== undefined && it.from !== null || it.to !== undefined && it.to !== null
        ? h('div', { class: 'change' }, `${it.node !== undefined ? `${nodeLabel(info, it.node)} · ` : ''}${it.metric ? `${metricName(info, it.metric)} · ` : ''}${it.span || ''}: ${amount(it.from)} → ${amount(it.to)}`)
        : null;
      list.append(h('li', { 'data-position': it.position, 'data-type': it.type },
        h('div', { class: 'when' }, h('time', { datetime: it.time }, it.time.slice(0, 16).replace('T', ' ')), ` · #${it.position}`),
        h('div', {}, h('strong', {}, typeName(it.type)), ' by ', h('span', { class: 'actor' }, it.actor || '—')),
        change || h('div', {}, readable(it.summary)),
        it.reason ? h('div', { class: 'help' }, `Reason: ${it.reason}`) : null));
    }
    if (!res.items.length && !list.children.length) list.append(h('li', {}, 'No events match.'));
    cursor = res.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => page().catch(fail));
  await page();

  // The default comparison is of the two latest tags.
  const tags = info.tags.slice().sort((a, b) => Number(a.position) - Number(b.position));
  const refs = tags.map((t) => ({ value: `tag:${t.tag}`, label: `${t.tag} (${t.time.slice(0, 10)}, ${t.by})` }));
  const byRef = Object.fromEntries(tags.map((t) => [`tag:${t.tag}`, t]));
  const diffOut = h('div', { id: 'diff-out' });
  const diffForm = h('form', { class: 'controls', id: 'diff-form' },
    h('label', { class: 'field', for: 'd-from' }, 'From', h('input', { id: 'd-from', name: 'from', list: 'refs', value: q.from || (refs[refs.length - 2] || {}).value || '' })),
    h('label', { class: 'field', for: 'd-to' }, 'To', h('input', { id: 'd-to', name: 'to', list: 'refs', value: q.to || (refs[refs.length - 1] || {}).value || '' })),
    h('datalist', { id: 'refs' }, refs.map((r) => h('option', { value: r.value }, r.label))),
    h('button', { type: 'submit' }, 'Compare'));
  const { metric } = planQuery(q);
  let diffs = 0; // only the latest comparison asked for is shown
  async function runDiff() {
    const mine = ++diffs;
    const fd = new FormData(diffForm);
    const d = await api.diff(plan, { from: fd.get('from'), to: fd.get('to') });
    if (mine !== diffs) return;
    const only = diffOut.dataset.metric === undefined ? metric : diffOut.dataset.metric;
    // A derived metric has no targets of its own: its operands' changes move it.
    const dm = derivedOf(info, only);
    const about = dm ? [dm.left, dm.right] : [only];
    const rows = d.changes.filter((c) => !only || about.includes(c.metric));
    const side = (x) => { const t = byRef[x.ref]; return `${x.ref.replace(/^tag:/, '')} (${t ? `tagged ${t.time.slice(0, 10)} by ${t.by}, ` : ''}position ${x.position})`; };
    const metricSel = select('d-metric', 'Metric', [{ value: '', label: 'every metric' }, ...metricOptions(info)], only,
      (x) => { diffOut.dataset.metric = x; runDiff().catch(fail); });
    diffOut.replaceChildren(
      h('p', {}, `${side(d.from)} → ${side(d.to)}: ${d.changes.length} change(s)${rows.length !== d.changes.length ? `, ${rows.length} of ${dm ? `${formulaText(info, dm)} (the operands of ${metricName(info, only)})` : metricName(info, only)} shown` : ''}.`),
      controls([metricSel, csvButton(plan, 'diff', { from: fd.get('from'), to: fd.get('to') })]),
      table({
        caption: `Target changes from ${d.from.ref.replace(/^tag:/, '')} to ${d.to.ref.replace(/^tag:/, '')}`,
        columns: [
          { label: 'Node', render: (c) => c.label },
          { label: 'Metric', render: (c) => metricName(info, c.metric) }, { label: 'Span', key: 'span' }, { label: 'Change', key: 'kind' },
          { label: 'From', numeric: true, render: (c) => amount(c.from) },
          { label: 'To', numeric: true, render: (c) => amount(c.to) },
          { label: 'Delta', numeric: true, render: (c) => (Number(c.delta) > 0 ? `+${amount(c.delta)}` : amount(c.delta)) },
          { label: 'Changed by', render: (c) => h('span', { class: 'by' }, c.changed_by, h('br'), h('small', {}, `${(c.changed_at || '').slice(0, 10)}, position ${c.changed_position}`)) },
          { label: 'Reason', render: (c) => h('span', { class: 'reason' }, c.reason || '—') },
        ],
        rows,
      }));
    diffOut.dataset.run = String(mine); // which comparison is shown (the first is the default one)
  }
  diffForm.addEventListener('submit', (e) => { e.preventDefault(); runDiff().catch(fail); });
  const integrity = h('p', { class: 'integrity', id: 'integrity', role: 'status' }, 'Verifying the event log…');
  api.audit().then((a) => {
    integrity.classList.add(a.status);
    integrity.replaceChildren(integrityLine(a));
  }).catch((err) => integrity.replaceChildren(`Log verification unavailable: ${err.message}`));
  show(
    h('h1', {}, 'History'),
    integrity,
    h('section', { 'aria-labelledby': 'tl-h' }, h('h2', { id: 'tl-h' }, 'Audit timeline'), form, list, more),
    h('section', { 'aria-labelledby': 'diff-h' }, h('h2', { id: 'diff-h' }, 'Compare versions'), diffForm, diffOut));
  if (refs.length >= 2) runDiff().catch(fail);
}

// integrityLine says in one sentence what GET /api/v1/audit/verify found.
function integrityLine(a) {
  const when = a.checked_at.slice(0, 16).replace('T', ' ');
  if (a.status !== 'intact') {
    return `Event log BROKEN: ${a.break_count} break(s) found at ${when} UTC — ${a.breaks[0] || ''}`;
  }
  let s = `Event log intact: ${a.events} events verified at ${when} UTC (hash chains${a.store_record ? ', stream heads' : ''})`;
  const cp = a.checkpoint;
  if (cp && cp.anchored) {
    s += `; anchored to the checkpoint signed ${cp.signed_at.slice(0, 16).replace('T', ' ')} UTC by key ${cp.key_id} at position ${cp.position}, ${cp.events_after} event(s) since.`;
  } else if (a.checkpoint_error) {
    s += `; the newest checkpoint could not be used: ${a.checkpoint_error}.`;
  } else {
    s += '; no signed checkpoint.';
  }
  return s;
}

// ---- Replan ------------------------------------------------------------------

// movable lists the nodes whose year target the caller may move: every
// node with a target of metric for the year, within the caller's scopes
// for a sales leader (a node is within a scope when its member of the
// scope's dimension is the scope's member or below it).
function movable(info, targets, metric, year) {
  const owned = can('planner') ? null : (ctx.me.owns || []);
  const ds = dims(info);
  const under = (dim, member, top) => {
    for (let m = member; m; m = (ds[dim].members.find((x) => x.id === m) || {}).parent) if (m === top) return true;
    return false;
  };
  const inScope = (node) => owned === null || owned.some((o) => {
    const [d, top] = o.split('=');
    const c = node.split(';').find((x) => x.startsWith(`${d}=`));
    return c && ds[d] && under(d, c.slice(d.length + 1), top);
  });
  return targets.filter((t) => t.metric === metric && t.span === `FY${year}` && inScope(t.node))
    .map((t) => ({ node: t.node, label: nodeLabel(info, t.node), target: t.amount }));
}

// nodeFigures answers a node's year target, forecast, gap and P(target) (the
// variance row of the node itself).
async function nodeFigures(plan, info, metric, year, node) {
  ctx.figures = ctx.figures || new Map();
  const key = `${plan}|${metric}|${year}|${node}`;
  if (!ctx.figures.has(key)) {
    const cs = node.split(';').filter(Boolean);
    const [dim, member] = cs.length ? cs[0].split('=') : [info.dimensions[0].id, info.dimensions[0].root];
    ctx.figures.set(key, api.variance(plan, { metric, year, dimension: dim, parent: member, node: cs.slice(1).join(';') }).then((v) => v.rows[0]));
  }
  return ctx.figures.get(key);
}

// conflictText makes a reconciler's conflict readable: node labels for
// target ids, amounts for floats.
function conflictText(info, c) {
  const m = /^\[(.*)\]: (.*)$/s.exec(c);
  const nums = (t) => t.replace(/-?\d+(?:\.\d+)?e[+-]\d+|-?\d{5,}(?:\.\d+)?/g, (n) => amount(Number(n)));
  if (!m) return nums(c);
  const nodes = m[1].split(' ').filter(Boolean).map((id) => nodeLabel(info, id.slice(0, id.lastIndexOf('@'))));
  return `${nodes.join(', ')}: ${nums(m[2])}`;
}

// previewTable shows a reallocation preview: each moved node's and the
// plan total's target, gap and P(target) before and after, and conflicts.
function previewTable(info, p, caption) {
  const signedAmount = (v) => (v === null || v === undefined ? '—' : `${Number(v) > 0 ? '+' : ''}${amount(v)}`);
  return [
    table({
      caption, columns: [
        { label: 'Node', render: (r) => r.label },
        { label: 'Target before', numeric: true, render: (r) => amount(r.target_before) },
        { label: 'Target after', numeric: true, render: (r) => amount(r.target_after) },
        { label: 'Forecast', numeric: true, render: (r) => amount(r.forecast) },
        { label: 'Gap before', numeric: true, render: (r) => signedAmount(r.gap_before) },
        { label: 'Gap after', numeric: true, render: (r) => signedAmount(r.gap_after) },
        { label: 'P before', numeric: true, render: (r) => percent(r.probability_before) },
        { label: 'P after', numeric: true, render: (r) => percent(r.probability_after) },
      ], rows: [...p.rows, { ...p.total, label: 'Plan total' }],
    }),
    p.conflicts && p.conflicts.length
      ? h('div', { class: 'conflicts', role: 'alert', id: 'preview-conflicts' },
        h('strong', {}, 'The moved targets conflict with the targets above or below them; move those too, so that every level still adds up:'),
        h('ul', {}, p.conflicts.map((c) => h('li', {}, conflictText(info, c)))))
      : null,
    ...(p.incoherent || []).map((c) => h('p', { class: 'warn', role: 'alert' }, c)),
  ].filter(Boolean);
}

async function replan(q) {
  const show = shower();
  ctx.figures = null; // the figures of this visit: targets move
  const { plan, metric, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const targets = await targetsOf(plan, info);
  const year = q.year || info.years[0];
  const mname = metricName(info, metric);
  const parts = [h('h1', {}, 'Replan')];
  if (can('sales', 'planner')) {
    const nodes = movable(info, targets, metric, year);
    const rows = h('div', { id: 'moves' });
    const submit = h('button', { type: 'button', id: 'submit-realloc', disabled: true }, 'Submit for approval');
    const preview = h('div', { id: 'preview', 'aria-live': 'polite' });
    const stale = () => { submit.disabled = true; if (preview.children.length) preview.prepend(h('p', { class: 'warn' }, 'Changed since the preview: preview again before submitting.')); };
    const resolve = (input) => input.resolveNode();
    const addRow = (node, delta) => {
      const i = rows.children.length;
      const fig = h('span', { class: 'figures', id: `mv-fig-${i}`, 'aria-live': 'polite' });
      const deltaIn = h('input', { id: `mv-delta-${i}`, name: 'delta', inputmode: 'decimal', value: delta || '', required: true, 'aria-describedby': fig.id });
      const row = h('div', { class: 'move' });
      const update = async () => {
        const input = row.querySelector('[role="combobox"]');
        if (!input.value.trim()) { fig.textContent = ''; return; }
        const n = resolve(input);
        if (!nodes.some((x) => x.node === n)) { fig.textContent = n ? 'No target of this node to move.' : ''; return; }
        const f = await nodeFigures(plan, info, metric, year, n);
        const d = Number(deltaIn.value.replace(/[,\s]/g, '')) || 0;
        const t = Number(f.target);
        fig.textContent = `Target ${amount(t)} · forecast ${amount(f.forecast && f.forecast.mean)} · gap ${amount(f.gap)} · P ${percent(f.probability)}`
          + (d ? ` → after: target ${amount(t + d)} · gap ${amount(f.gap + d)}` : '');
      };
      const picker = nodePicker({ id: `mv-node-${i}`, label: 'Node', catalog: nodes, value: node, placeholder: 'a node with a target',
        onpick: () => { stale(); update().catch(fail); } });
      deltaIn.addEventListener('input', () => { stale(); update().catch(fail); });
      row.append(picker, h('label', { class: 'field', for: deltaIn.id }, 'Change of target', deltaIn), fig);
      rows.append(row);
      update().catch(fail);
    };
    addRow(); addRow();
    const reason = h('input', { id: 'mv-reason', name: 'reason', required: true, size: 60 });
    const body = () => ({
      metric, year: Number(year),
      moves: [...rows.children].map((r) => ({ node: resolve(r.querySelector('[role="combobox"]')), delta: r.querySelector('input[name="delta"]').value.trim().replace(/[,\s]/g, '') })).filter((m) => m.delta),
    });
    const form = h('form', { class: 'card', id: 'replan-form' },
      h('h2', {}, `Reallocate the FY${year} ${mname} target`),
      h('p', { class: 'help' }, `${nodes.length} nodes with a target you may move. Changes must add up to zero, and a node's target moves with those above and below it. Preview shows the effect on gaps and probabilities; nothing is written before you submit.`),
      rows, h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add node'),
      h('div', { class: 'controls' }, h('label', { class: 'field', for: 'mv-reason' }, 'Reason (recorded with the change)', reason)),
      h('div', { class: 'controls' }, h('button', { type: 'submit', id: 'preview-btn' }, 'Preview'), submit), preview);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const p = await api.preview(plan, body());
        preview.replaceChildren(...previewTable(info, p, 'Preview of the reallocation'));
        submit.disabled = (p.conflicts && p.conflicts.length > 0) || (p.incoherent || []).length > 0;
        say(submit.disabled ? 'The preview shows a conflict: it cannot be submitted as it is.' : 'Preview ready.', submit.disabled ? 'error' : '');
      } catch (err) { submit.disabled = true; fail(err); }
    });
    submit.addEventListener('click', async () => {
      try {
        const b = body();
        const r = await api.propose(plan, { metric, span: `FY${year}`, moves: b.moves, reason: reason.value });
        ctx.targets = null; ctx.figures = null;
        say(`Reallocation ${r.id} submitted for approval.`, 'ok');
        go('replan', { ...q, submitted: r.id });
      } catch (err) { fail(err); }
    });
    parts.push(form);
  }
  const list = (await api.reallocations(plan, {})).reallocations;
  const approvePreview = h('div', { id: 'approve-preview', 'aria-live': 'polite' });
  // effect previews a proposed reallocation for the planner about to decide.
  const effect = async (r) => {
    const p = await api.preview(plan, { metric: r.metric, year: Number(r.span.label.replace(/\D/g, '')), moves: r.moves.map((m) => ({ node: m.node, delta: m.delta })) });
    approvePreview.replaceChildren(h('h3', {}, `Effect of ${r.id} if approved`), ...previewTable(info, p, `Preview of ${r.id}: ${r.reason}`));
    approvePreview.focus();
  };
  approvePreview.tabIndex = -1;
  parts.push(h('h2', {}, 'Reallocations'), table({
    caption: 'Proposed and decided reallocations',
    columns: [
      { label: 'Id', key: 'id' },
      { label: 'Span', render: (r) => r.span.label },
      { label: 'Moves', render: (r) => r.moves.map((m) => `${m.label} ${Number(m.delta) > 0 ? '+' : ''}${amount(m.delta)}`).join('; ') },
      { label: 'Reason', key: 'reason' }, { label: 'By', key: 'by' },
      { label: 'Status', render: (r) => h('span', { class: `st ${r.status}`, 'data-status': r.status }, r.status) },
      { label: 'Decision', render: (r) => (r.status === 'proposed' && can('planner') && r.by !== ctx.me.subject)
        ? h('span', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary effect', 'data-id': r.id, onclick: () => effect(r).catch(fail) }, `Preview ${r.id}`),
          h('button', { type: 'button', class: 'approve', 'data-id': r.id, onclick: () => decide(plan, r.id, true, q) }, `Approve ${r.id}`),
          h('button', { type: 'button', class: 'secondary', onclick: () => decide(plan, r.id, false, q) }, `Reject ${r.id}`))
        : (r.decided_by ? `${r.decided_by}${r.decision_reason ? `: ${r.decision_reason}` : ''}` : '—') },
    ],
    rows: list,
  }), approvePreview);
  show(...parts);
}

async function decide(plan, id, approve, q) {
  try {
    if (approve) await api.approve(plan, id);
    else {
      const reason = window.prompt('Why is it rejected?');
      if (!reason) return;
      await api.reject(plan, id, reason);
    }
    ctx.targets = null; ctx.figures = null;
    say(`Reallocation ${id} ${approve ? 'approved' : 'rejected'}.`, 'ok');
    go('replan', { ...q, decided: id });
  } catch (err) { fail(err); }
}

// ---- Scenarios: versions to choose, and opening one ---------------------------

// versionChoices lists the versions a view may show: the live plan, the
// tagged versions (oldest first) and the plan's open scenarios (and the
// one chosen, whatever its status), as {value, label}: '' (live),
// 'tag:NAME', 'scenario:ID'.
async function versionChoices(plan, info, chosen) {
  const tags = info.tags.slice().sort((a, b) => Number(a.position) - Number(b.position));
  const scenarios = (await api.scenarios(plan)).scenarios.filter((x) => x.status === 'open' || chosen === `scenario:${x.id}`);
  return [{ value: '', label: 'Live plan' },
    ...tags.map((t) => ({ value: `tag:${t.tag}`, label: `${t.tag} (tagged ${t.time.slice(0, 10)})` })),
    ...scenarios.map((x) => ({ value: `scenario:${x.id}`, label: `${x.name || x.id} (scenario${x.status === 'open' ? '' : `, ${x.status}`})` }))];
}

// versionParams are the query parameters that read version v: a scenario
// by scenario=ID (never with as_of: the API reads a scenario as it
// stands), a tag by as_of=tag:NAME, the live plan by the as-of chosen.
function versionParams(v, asOf) {
  if (v && v.startsWith('scenario:')) return { scenario: v.slice(9) };
  if (v && v.startsWith('tag:')) return { as_of: v };
  return { as_of: asOf };
}

// openScenarioForm lets a planner (or a sales leader, within their
// scopes) open a what-if scenario of the plan, branching now or at a
// tagged version (POST …/scenarios); opened(id) shows it. Null for a role
// that may not.
function openScenarioForm(plan, tags, opened) {
  if (!can('sales', 'planner')) return null;
  const name = h('input', { id: 'sc-name', name: 'name', required: true, size: 28, placeholder: 'e.g. UK push' });
  const from = h('select', { id: 'sc-from', name: 'from' },
    h('option', { value: '' }, 'the plan as it stands now'),
    tags.map((t) => h('option', { value: `tag:${t.tag}` }, `the version tagged ${t.tag}`)));
  const form = h('form', { class: 'card', id: 'scenario-form', 'aria-labelledby': 'sc-h' },
    h('h2', { id: 'sc-h' }, 'Open a scenario'),
    h('p', { class: 'help' }, 'A scenario is a what-if branch of the plan: its target changes and forecast assumptions stay in it until promoted. Change it with the API (…/scenarios/{id}/targets, /reallocations, /assumptions); compare it here.'),
    h('div', { class: 'controls' },
      h('label', { class: 'field', for: 'sc-name' }, 'Name', name),
      h('label', { class: 'field', for: 'sc-from' }, 'Branching from', from),
      h('button', { type: 'submit', id: 'sc-open' }, 'Open the scenario')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { say('Name the scenario.', 'error'); name.focus(); return; }
    try {
      const r = await api.openScenario(plan, { name: name.value.trim(), from: from.value });
      say(`Scenario "${name.value.trim()}" opened (${r.id}).`, 'ok');
      opened(r.id);
    } catch (err) { fail(err); }
  });
  return form;
}

// ---- Compare: versions side by side ------------------------------------------

// measures are what the comparison can show per row and version.
const measures = [
  { id: 'target', label: 'Target', get: (r) => (r.target === null ? null : Number(r.target)) },
  { id: 'actual', label: 'Actual to date', get: (r) => (r.actual === null ? null : Number(r.actual)) },
  { id: 'forecast', label: 'Forecast', get: (r) => (r.forecast ? r.forecast.mean : null) },
  { id: 'le', label: 'Latest estimate', get: (r) => r.latest_estimate },
  { id: 'gap', label: 'Gap to target', get: (r) => r.gap },
  { id: 'variance', label: 'Variance %', pct: true, get: (r) => (r.target && Number(r.target) && r.forecast ? ((r.forecast.mean - Number(r.target)) / Number(r.target)) * 100 : null) },
  { id: 'p', label: 'P(target)', prob: true, get: (r) => r.probability },
];

// compare shows the rows of a dimension level with one column per version
// (tags, the live plan, any as-of point) and measure, and the difference of
// the last version from the first: each version is the variance answer as
// known at that version's log position.
async function compare(q) {
  const show = shower();
  const { plan, metric } = planQuery(q);
  const info = await loadPlan(plan);
  const year = q.year || info.years[0];
  const dimension = q.dimension || info.dimensions[0].id;
  const dim = dims(info)[dimension];
  const depth = Math.max(...dim.members.map((m) => m.depth));
  const level = Math.min(depth, Math.max(0, Number(q.level || 1)));
  const tags = info.tags.slice().sort((a, b) => Number(a.position) - Number(b.position));
  const chosen = q.versions ? q.versions.split('|').filter(Boolean) : [...tags.slice(-2).map((t) => `tag:${t.tag}`), 'live'];
  const shown = measures.filter((m) => (q.measures ? q.measures.split(',') : ['target', 'forecast', 'variance']).includes(m.id));
  const tagOf = Object.fromEntries(tags.map((t) => [`tag:${t.tag}`, t]));
  // The plan's open scenarios (what-if branches) may be columns too.
  const scenarios = (await api.scenarios(plan)).scenarios.filter((x) => x.status === 'open' || chosen.includes(`scenario:${x.id}`));
  const scenarioOf = Object.fromEntries(scenarios.map((x) => [`scenario:${x.id}`, x]));
  const versionLabel = (v) => (v === 'live' ? 'Live' : v.startsWith('tag:') ? v.slice(4)
    : scenarioOf[v] ? `${scenarioOf[v].name} (scenario)` : v.startsWith('scenario:') ? `Scenario ${v.slice(9)}` : `As of ${v}`);
  // A version the API cannot answer for (a derived metric defined after
  // it, a date before the plan) is a column of "—", and says why; the
  // others are shown.
  const missing = [];
  const answers = await Promise.all(chosen.map((v) => api.variance(plan, v.startsWith('scenario:')
    ? { metric, year, dimension, level, scenario: v.slice(9) }
    : { metric, year, dimension, level, as_of: v === 'live' ? undefined : tagOf[v] ? tagOf[v].position : v })
    .catch((err) => {
      if (!(err instanceof ApiError) || err.status === 401 || err.status >= 500) throw err;
      missing.push(`${versionLabel(v)}: ${err.message}`);
      return { rows: [] };
    })));
  // Rows: every member any version has, in the order of the last version.
  const rows = [];
  const seen = new Set();
  for (const a of answers.slice().reverse()) for (const r of a.rows) if (!seen.has(r.member)) { seen.add(r.member); rows.push({ member: r.member, name: r.name }); }
  // A ratio's variance % would be a percentage of a percentage: not shown
  // (its gap, in percentage points, says the same).
  const ratio = isRatio(info, metric);
  const cell = (k, member, m) => { const r = answers[k].rows.find((x) => x.member === member); return r && !(ratio && m.pct) ? m.get(r) : null; };
  const fig = figure(info, metric);
  const fmt = (m, v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : m.prob ? percent(v) : m.pct ? `${v.toFixed(1)}%`
    : ratio && m.id === 'gap' ? difference(info, metric)(v) : fig(v));
  const columns = [];
  for (const m of shown) {
    chosen.forEach((v, k) => columns.push({ label: `${m.label} · ${versionLabel(v)}`, short: versionLabel(v), m, value: (row) => cell(k, row.member, m) }));
    if (chosen.length > 1) {
      columns.push({ label: `${m.label} · Δ ${versionLabel(chosen[chosen.length - 1])} − ${versionLabel(chosen[0])}`, short: `Δ ${versionLabel(chosen[chosen.length - 1])} − ${versionLabel(chosen[0])}`, m, diff: true,
        value: (row) => { const a = cell(0, row.member, m); const b = cell(chosen.length - 1, row.member, m); return a === null || b === null ? null : b - a; } });
    }
  }
  const sortBy = q.sort !== undefined && columns[Number(q.sort)] ? Number(q.sort) : null;
  if (sortBy !== null) rows.sort((a, b) => (columns[sortBy].value(b) ?? -Infinity) - (columns[sortBy].value(a) ?? -Infinity));

  const form = h('form', { class: 'controls', id: 'compare-form' },
    select('c-metric', 'Metric', metricOptions(info), metric, () => {}),
    select('c-year', 'Fiscal year', info.years.map((y) => ({ value: y, label: `FY${y}` })), year, () => {}),
    select('c-dimension', 'Rows by', info.dimensions.map((d) => ({ value: d.id, label: d.name })), dimension, () => {}),
    select('c-level', 'Level', Array.from({ length: depth + 1 }, (_, i) => ({ value: i, label: i === 0 ? 'total' : `level ${i}` })), level, () => {}),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Versions'),
      ...['live', ...tags.map((t) => `tag:${t.tag}`), ...scenarios.map((x) => `scenario:${x.id}`)].map((v, i) => h('label', { for: `c-v-${i}` },
        h('input', { type: 'checkbox', id: `c-v-${i}`, name: 'version', value: v, checked: chosen.includes(v) }), ` ${versionLabel(v)}`)),
      h('label', { for: 'c-asof' }, 'and as of ', h('input', { id: 'c-asof', name: 'asof', size: 10, placeholder: 'YYYY-MM-DD', value: chosen.find((v) => v !== 'live' && !tagOf[v] && !v.startsWith('scenario:')) || '' }))),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Measures'),
      ...measures.map((m) => h('label', { for: `c-m-${m.id}` },
        h('input', { type: 'checkbox', id: `c-m-${m.id}`, name: 'measure', value: m.id, checked: shown.includes(m) }), ` ${m.label}`))),
    h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const picked = fd.getAll('version');
    // Versions in log order: tags by position, an as-of point, live, then
    // the scenarios (so that Δ reads "scenario − plan").
    const order = (v) => (v.startsWith('scenario:') ? 3 * Number.MAX_SAFE_INTEGER : v === 'live' ? 2 * Number.MAX_SAFE_INTEGER : tagOf[v] ? Number(tagOf[v].position) : Number.MAX_SAFE_INTEGER);
    const vs = [...picked, ...(fd.get('asof').trim() ? [fd.get('asof').trim()] : [])].sort((a, b) => order(a) - order(b));
    go('compare', { metric: fd.get('c-metric'), year: fd.get('c-year'), dimension: fd.get('c-dimension'), level: fd.get('c-level'),
      versions: vs.join('|'), measures: fd.getAll('measure').join(',') });
  });
  const per = columns.length / Math.max(1, shown.length);
  const m0 = (c) => c.m.label;
  const groups = h('tr', {}, h('td', {}), shown.map((m) => h('th', { scope: 'colgroup', colspan: per, class: 'group' }, m.label)));
  const header = h('tr', {}, h('th', { scope: 'col' }, dim.name), columns.map((c, i) => h('th', { scope: 'col', class: 'num', 'aria-sort': sortBy === i ? 'descending' : null },
    link('compare', { ...q, sort: String(i) }, c.short, { 'aria-label': `${m0(c)}: ${c.short} (sort, largest first)` }))));
  const body = rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.name), columns.map((c) => {
    const v = c.value(r);
    if (!c.diff) return h('td', { class: 'num' }, fmt(c.m, v));
    // A difference: P(target) in percentage points; green where it helps
    // (a smaller gap, a larger estimate or P), a moved target uncoloured.
    const text = v === null || v === undefined || !Number.isFinite(v) ? '—' : c.m.prob ? `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)} pp`
      : ratio && !c.m.pct ? difference(info, metric)(v) : `${v > 0 ? '+' : ''}${fmt(c.m, v)}`;
    const good = c.m.id === 'gap' ? v < 0 : v > 0;
    return h('td', { class: `num${v && c.m.id !== 'target' ? (good ? ' delta-pos' : ' delta-neg') : ''}` }, text);
  })));
  const tbl = h('table', { class: 'data', id: 'compare-table' },
    h('caption', {}, `${metricLabel(info, metric)}, FY${year}, by ${dim.name}${level > 1 ? ` level ${level}` : ''}: ${chosen.map(versionLabel).join(' vs ')}`),
    h('thead', {}, groups, header), h('tbody', {}, body));
  const csv = h('button', { type: 'button', class: 'secondary', id: 'compare-csv', onclick: () => downloadTable(`${plan}-compare.csv`,
    [dim.name, ...columns.map((c) => c.label)], rows.map((r) => [r.name, ...columns.map((c) => { const v = c.value(r); return v === null || v === undefined ? '' : v; })])) }, 'Download this table (CSV)');
  show(h('h1', {}, 'Compare versions'), form, derivedNote(info, metric),
    missing.length ? h('div', { class: 'warn', id: 'compare-missing' }, h('strong', {}, 'Not shown (—) for:'), h('ul', {}, missing.map((m) => h('li', {}, m)))) : null,
    h('p', { class: 'help' }, 'Each version is the plan as known at its log position: its targets, the actuals and the forecast then; a scenario is the plan at its base with the scenario\'s own changes. Variance % is the forecast against the target. Click a column to sort by it.'),
    h('div', { class: 'scroll' }, tbl), controls([csv]),
    openScenarioForm(plan, tags, (id) => go('compare', { ...q, versions: ['live', `scenario:${id}`].join('|') })));
}

// ---- Pivot grid ----------------------------------------------------------------

// pivotCells is the "Rows by" choice of every cell (the leaf combination of
// the dimensions) as a row: a value no dimension id can take.
const pivotCells = ':cells';

// pivot shows the members of a dimension as rows (a member with children
// expands and collapses), or every cell of the plan under the total, and
// time as columns (months, quarters, QTD, YTD, the full year), with the
// measures chosen per column. One pivot answer holds every row's months
// (two for a derived ratio: its operands'); P(target) is the full year's,
// as the variance table has it. The CSV is the table shown, every row of
// it: the grid writes only the rows in view (virtualRows), so that every
// cell of a large plan (thousands of rows) shows at once.
async function pivot(q) {
  const show = shower();
  const { plan, metric, as_of } = planQuery(q);
  // The version shown: the live plan (as of the date chosen above), a
  // tagged version or a scenario (q.version).
  const version = q.version || '';
  const at = versionParams(version, as_of);
  const info = await api.plan(plan, at);
  ctx.planInfo = info;
  const versions = await versionChoices(plan, info, version);
  const cells = q.rows === 'cells';
  const dimension = q.dimension || info.dimensions[0].id;
  const dim = dims(info)[dimension];
  const kinds = q.cols ? q.cols.split(',').filter((k) => timeKinds.some((t) => t.id === k)) : ['quarter', 'ytd', 'fy'];
  const shown = pivotMeasures.filter((m) => (q.measures ? q.measures.split(',') : ['target', 'le', 'gap', 'variance']).includes(m.id));
  // open: the members expanded ("*": every one).
  const open = q.open === '*' ? new Set(dim.members.map((m) => m.id)) : new Set(q.open !== undefined ? q.open.split(',').filter(Boolean) : [dim.root]);
  const year = q.year || info.years[0];
  // A derived ratio's months are not summed: each column is the ratio of
  // its operands' sums over the column's months (ratioOf).
  const ratio = isRatio(info, metric) ? derivedOf(info, metric) : null;
  const pivotOf = (m) => api.pivot(plan, cells ? { metric: m, year, rows: 'cells', ...at } : { metric: m, year, dimension, open: q.open === '*' ? '*' : [...open].join(','), ...at });
  const answers = await Promise.all(ratio ? [pivotOf(ratio.left), pivotOf(ratio.right)] : [pivotOf(metric)]);
  const { months } = answers[0];
  const cols = timeColumns(months, kinds);
  // Rows in tree order, as the answer lists them. A row's figures are
  // summed when first read (a row written, the sort's column, the CSV),
  // once: a row never scrolled to nor sorted by costs nothing.
  const rows = answers[0].rows.map((r, i) => {
    const figures = ratio ? (c) => ratioOf(aggregate(months, r, c.months), aggregate(months, answers[1].rows[i], c.months)) : (c) => aggregate(months, r, c.months);
    let sums = null;
    return { member: r.member, node: r.node, parent: r.parent, depth: r.depth, kids: r.has_children,
      name: r.depth === 0 ? `${cells ? 'All cells' : r.name} (total)` : r.name,
      get cells() { sums ||= cols.map((c) => ({ ...figures(c), p: c.kind === 'fy' ? r.probability ?? null : null })); return sums; } };
  });
  const flat = [];
  // P(target) is the full year's only: no column of dashes elsewhere.
  cols.forEach((c, ci) => shown.forEach((m) => { if (!m.prob || c.kind === 'fy') flat.push({ c, ci, m }); }));
  const value = (r, k) => { const { ci, m } = flat[k]; const v = r.cells[ci][m.id]; return m.id === 'forecast' ? (v ? v.mean : null) : v; };
  // Sort: siblings by the column chosen, largest first; the tree stays.
  const sortBy = q.sort !== undefined && flat[Number(q.sort)] ? Number(q.sort) : null;
  let ordered = rows;
  if (sortBy !== null) {
    const under = Map.groupBy(rows.slice(1), (r) => r.parent);
    ordered = [];
    const place = (parent) => {
      (under.get(parent) || []).sort((a, b) => (value(b, sortBy) ?? -Infinity) - (value(a, sortBy) ?? -Infinity))
        .forEach((r) => { ordered.push(r); place(r.member); });
    };
    ordered.push(rows[0]);
    place(rows[0].member);
  }
  const fig = figure(info, metric);
  // fmt writes a figure as HTML: the rows in view are written as one
  // string (one parse, one layout), never node by node.
  const fmt = (m, v) => {
    if (v === null || v === undefined) return '—';
    // A span of closed months only has no interval: its forecast is its actuals.
    if (m.id === 'forecast') return v.hi80 - v.lo80 < 0.5 ? fig(v.mean) : `<span>${fig(v.mean)}<br><small>${fig(v.lo80)} – ${fig(v.hi80)}</small></span>`;
    if (m.prob) return percent(v);
    if (m.pct) { const r = Math.round(v * 10) / 10; return r === 0 ? '0.0%' : `${r > 0 ? '+' : ''}${r.toFixed(1)}%`; }
    if (m.id === 'gap' && ratio) return difference(info, metric)(v);
    return fig(v);
  };
  // A row's HTML; aria-rowindex counts the two header rows.
  const rowHTML = (i) => {
    const r = ordered[i];
    const expanded = open.has(r.member);
    const toggle = r.kids && !cells ? `<button type="button" class="toggle" aria-expanded="${expanded}" data-member="${escapeHTML(r.member)}" aria-label="${expanded ? 'Collapse' : 'Expand'} ${escapeHTML(r.name)}">${expanded ? '▾' : '▸'}</button>` : '';
    const figures = flat.map((f) => `<td class="num" data-col="${escapeHTML(f.c.id)}" data-measure="${f.m.id}">${fmt(f.m, r.cells[f.ci][f.m.id])}</td>`).join('');
    return `<tr aria-rowindex="${i + 3}" data-member="${escapeHTML(r.member)}" data-node="${escapeHTML(r.node)}"${r.depth === 0 ? ' class="parent"' : ''}><th scope="row" style="padding-left:${0.5 + r.depth * 1.25}rem">${toggle} ${escapeHTML(r.name)}</th>${figures}</tr>`;
  };
  const body = h('tbody', {});
  // A toggle expands or collapses its member (one listener for every row).
  body.addEventListener('click', (e) => {
    const b = e.target.closest('button.toggle');
    if (!b) return;
    const next = new Set(open);
    if (next.has(b.dataset.member)) next.delete(b.dataset.member); else next.add(b.dataset.member);
    go('pivot', { ...q, open: [...next].join(',') });
  });
  const rowsName = cells ? 'Cell' : dim.name;
  const caption = `${info.name}${version ? ` — ${(versions.find((x) => x.value === version) || { label: version }).label}` : ''}: ${metricLabel(info, metric)} by ${cells ? 'cell' : dim.name} and ${months.length ? `${months[0].period} to ${months[months.length - 1].period}` : 'month'}`;
  // The row header's width: at least the longest name's (bold letters
  // average about 0.8 of a digit's width) and its indent, however far down
  // the row is.
  const nameWidth = ordered.reduce((w, r) => Math.max(w, 0.8 * r.name.length + r.depth * 2.5 + (r.kids && !cells ? 4 : 0)), 0);
  const tbl = h('table', { class: `data${flat.some((f) => f.m.id === 'forecast') ? ' two-line' : ''}`, id: 'pivot-table', 'aria-rowcount': ordered.length + 2 },
    h('caption', {}, caption),
    h('thead', {},
      h('tr', { 'aria-rowindex': 1 }, h('td', {}), cols.map((c, ci) => h('th', { scope: 'colgroup', colspan: flat.filter((f) => f.ci === ci).length, class: 'group' }, c.label))),
      h('tr', { 'aria-rowindex': 2 }, h('th', { scope: 'col' }, rowsName), flat.map((f, k) => h('th', { scope: 'col', class: 'num', 'data-col': f.c.id, 'data-measure': f.m.id, 'aria-sort': sortBy === k ? 'descending' : null },
        link('pivot', { ...q, sort: String(k) }, f.m.label, { 'aria-label': `${f.c.label}: ${f.m.label} (sort, largest first)` }))))),
    body);
  // The grid scrolls in its own box (the header stays), which the keyboard
  // reaches with Tab and scrolls with the arrow, Page, Home and End keys.
  const scroller = h('div', { class: 'scroll pivot-scroll', id: 'pivot-scroll', tabindex: '0', role: 'region', 'aria-label': `${caption}: ${ordered.length} rows (scroll for more)` }, tbl);
  virtualRows({ scroller, body, count: ordered.length, rowHTML, columns: 1 + flat.length, minWidths: [`${Math.ceil(nameWidth) + 1}ch`] });
  // The CSV: every row in the order shown (written or not), one column per
  // figure shown (the forecast's interval as two more).
  const header = [rowsName];
  flat.forEach((f) => { header.push(`${f.m.label} · ${f.c.id}`); if (f.m.id === 'forecast') header.push(`Forecast 80% low · ${f.c.id}`, `Forecast 80% high · ${f.c.id}`); });
  const csvRows = () => ordered.map((r) => {
    const out = [r.name];
    flat.forEach((f) => {
      const v = r.cells[f.ci][f.m.id];
      if (f.m.id === 'forecast') out.push(v ? v.mean.toFixed(2) : '', v ? v.lo80.toFixed(2) : '', v ? v.hi80.toFixed(2) : '');
      else out.push(v === null || v === undefined ? '' : f.m.prob ? v.toFixed(4) : f.m.pct ? v.toFixed(1) : v.toFixed(2));
    });
    return out;
  });
  const form = h('form', { class: 'controls', id: 'pivot-form' },
    select('p-metric', 'Metric', metricOptions(info), metric, () => {}),
    select('p-version', 'Version or scenario', versions, version, () => {}),
    select('p-dimension', 'Rows by', [...info.dimensions.map((d) => ({ value: d.id, label: d.name })), { value: pivotCells, label: 'Every cell (each combination of the dimensions\' lowest members)' }], cells ? pivotCells : dimension, () => {}),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Columns'),
      ...timeKinds.map((k) => h('label', { for: `p-c-${k.id}` },
        h('input', { type: 'checkbox', id: `p-c-${k.id}`, name: 'col', value: k.id, checked: kinds.includes(k.id) }), ` ${k.label}`))),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Measures'),
      ...pivotMeasures.map((m) => h('label', { for: `p-m-${m.id}` },
        h('input', { type: 'checkbox', id: `p-m-${m.id}`, name: 'measure', value: m.id, checked: shown.includes(m) }), ` ${m.label}`))),
    h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const dimNext = fd.get('p-dimension');
    const byCell = dimNext === pivotCells;
    go('pivot', { metric: fd.get('p-metric'), version: fd.get('p-version'), dimension: byCell ? dimension : dimNext, rows: byCell ? 'cells' : undefined,
      cols: fd.getAll('col').join(','), measures: fd.getAll('measure').join(','), open: dimNext === dimension ? q.open : undefined });
  });
  const csv = h('button', { type: 'button', class: 'secondary', id: 'pivot-csv', onclick: () => downloadTable(`${plan}-pivot.csv`, header, csvRows()) }, 'Download this table (CSV)');
  show(h('h1', {}, 'Pivot'), form, asOfNote(answers[0].as_of), derivedNote(info, metric),
    version.startsWith('scenario:') && as_of ? h('p', { class: 'warn', id: 'scenario-asof' }, 'A scenario is read as it stands, from its own base: the as-of date above does not apply to it.') : null,
    h('p', { class: 'help' }, 'Each figure sums the months of the node\'s rolling plan: targets and commits phased by month, actuals of the closed months, the latest estimate (actuals, then the forecast). Gap = target − latest estimate; variance % = (latest estimate − target) / target. The forecast\'s 80% interval treats the open months as independent. P(target) is the full year\'s. A target set for a quarter or the year is phased with the actuals in its closed months (see COLUMNS.md), so to date it shows a gap only where monthly targets are set. Click a column to sort by it.'),
    cells ? null : controls([link('pivot', { ...q, open: '*' }, 'Expand all', { id: 'pivot-expand-all' }), link('pivot', { ...q, open: dim.root }, 'Collapse all', { id: 'pivot-collapse-all' })]),
    scroller, controls([csv]),
    openScenarioForm(plan, info.tags, (id) => go('pivot', { ...q, version: `scenario:${id}` })));
}

// ---- Plan grid: targets typed, spread, reviewed and submitted as one batch ------

// grid shows the targets of one fiscal year as rows (the members of a
// dimension, within a member of each other one) and spans (the year, its
// quarters, its months) as columns, every cell a field. A planner types
// a target into any cell: a parent's value spreads to its parts (in
// proportion to their targets, to their forecast, or evenly), a part's
// change rolls up to its parents, and every parent whose parts no longer
// add up says so. Nothing is written until the batch is reviewed (the
// server checks it, POST …/targets/batch?dry_run=true, and reports the
// sums it would break) and submitted with a reason, as one batch.
async function grid(q) {
  const show = shower();
  const { plan, metric: asked } = planQuery(q);
  const info = await loadPlan(plan);
  // Targets are set on measured metrics only: a derived one chosen in
  // another view gives way to the plan's first.
  const metric = derivedOf(info, asked) ? info.metrics[0].id : asked;
  const targets = await targetsOf(plan, info);
  const year = Number(q.year || info.years[0]);
  const dimension = q.dimension || info.dimensions[0].id;
  const dim = dims(info)[dimension];
  const tree = new Tree(info.dimensions, year, info.fiscal_year_start);
  const within = tree.with(q.within || '', dimension, dim.root); // the other dimensions' members
  const periods = q.spans !== undefined ? q.spans.split(',').filter(Boolean) : ['quarter'];
  const draftKey = `${plan}|${metric}|${year}`;
  if (!ctx.grid || ctx.grid.key !== draftKey) {
    const current = new Map();
    for (const t of targets) if (t.metric === metric) current.set(`${t.node}|${t.span}`, cents(t.amount));
    ctx.grid = { key: draftKey, draft: new Draft(tree, current), checked: false };
  }
  const { draft } = ctx.grid;
  draft.tree = tree;
  const editable = can('planner');

  // Columns: the year, then its quarters and months as chosen.
  const cols = [{ span: tree.cal.year, label: tree.cal.year }];
  if (periods.includes('quarter')) tree.cal.quarters.forEach((s) => cols.push({ span: s, label: s.slice(-2) }));
  if (periods.includes('month')) tree.cal.months.forEach((s) => cols.push({ span: s, label: monthLabel(s) }));
  // Rows: the dimension's tree, open members expanded.
  const open = q.open === '*' ? new Set(dim.members.map((m) => m.id)) : new Set(q.open !== undefined ? q.open.split(',').filter(Boolean) : [dim.root]);
  const rows = [];
  const walk = (m, depth) => {
    const kids = dim.members.filter((x) => x.parent === m.id && x.id !== m.id);
    const node = tree.with(within, dimension, m.id);
    rows.push({ member: m.id, name: m.id === dim.root ? (within ? nodeLabel(info, within) : `${m.name} (total)`) : m.name, depth, kids: kids.length, node });
    if (open.has(m.id)) kids.forEach((k) => walk(k, depth + 1));
  };
  walk(dim.members.find((m) => m.id === dim.root), 0);

  // Forecast weights: the latest estimate (actuals, then the forecast) of
  // a node over a span's months, from its rolling plan.
  const rolls = new Map();
  const monthsOf = (span) => (span === tree.cal.year ? tree.cal.months
    : tree.cal.quarters.includes(span) ? tree.cal.months.slice(tree.cal.quarters.indexOf(span) * 3, tree.cal.quarters.indexOf(span) * 3 + 3) : [span]);
  const estimate = async (key) => {
    const [node, span] = key.split('|');
    if (!rolls.has(node)) rolls.set(node, api.rolling(plan, { metric, node }));
    const r = await rolls.get(node);
    const want = new Set(monthsOf(span));
    const ps = r.periods.filter((p) => want.has(p.period));
    return ps.length === want.size && ps.every((p) => p.latest_estimate !== null) ? ps.reduce((a, p) => a + p.latest_estimate, 0) : null;
  };
  const weights = (keys) => Promise.all(keys.map(estimate));

  const kindName = (k) => (k === 'time' ? 'of its periods' : `of its ${dims(info)[k].name} parts`);
  const fmt = (c) => (c === null ? '' : amount(c / 100));
  const inputs = [];
  const cell = (r, c, i, j) => {
    const key = `${r.node}|${c.span}`;
    const input = h('input', { id: `g-${i}-${j}`, class: 'gcell', inputmode: 'decimal', size: 11, 'data-key': key, 'data-node': r.node, 'data-span': c.span,
      'aria-label': `${r.name}, ${c.span}: target`, 'aria-describedby': `g-${i}-${j}-note`, readonly: !editable });
    const note = h('small', { id: `g-${i}-${j}-note`, class: 'gnote' });
    input.addEventListener('change', () => enter(input).catch(fail));
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); enter(input).catch(fail); } });
    inputs.push({ input, note, key });
    return h('td', { class: 'num' }, input, note);
  };
  // paint shows the draft in every cell: the value, what it was, how it
  // came about, and the parts that no longer add up to it.
  const pending = h('p', { id: 'grid-pending', role: 'status' });
  const paint = () => {
    for (const { input, note, key } of inputs) {
      const v = draft.value(key);
      input.value = fmt(v);
      const ch = draft.changed.get(key);
      const sums = draft.partSums(key);
      input.closest('td').classList.toggle('changed', !!ch);
      input.closest('td').classList.toggle('conflict', sums.length > 0);
      note.replaceChildren(...[
        ch ? `${ch.how}; was ${draft.current.has(key) ? fmt(draft.current.get(key)) : 'none'}` : '',
        ...sums.map((s) => `Σ ${kindName(s.kind)} ${fmt(s.sum)}`),
      ].filter(Boolean).flatMap((t, k) => (k ? [h('br'), t] : [t])));
    }
    const n = draft.changed.size;
    pending.textContent = n ? `${n} target${n === 1 ? '' : 's'} changed, not yet written.` : 'No changes yet: type a target into any cell.';
  };
  const methodOf = () => (document.querySelector('input[name="g-spread"]:checked') || { value: 'targets' }).value;
  async function enter(input) {
    const key = input.dataset.key;
    const text = input.value.trim();
    if (text === '') {
      draft.changed.delete(key);
    } else {
      const c = cents(text);
      if (c === null) {
        input.setAttribute('aria-invalid', 'true');
        say(`${input.getAttribute('aria-label')}: "${text}" is not an amount (digits, at most two decimals).`, 'error');
        return;
      }
      input.removeAttribute('aria-invalid');
      if (c === draft.value(key)) return;
      await draft.type(key, c, { method: methodOf(), spreadDim: dimension, rollUp: document.getElementById('g-rollup').checked, weights });
    }
    stale();
    paint();
  }

  const toggle = (r) => {
    const next = new Set(open);
    if (next.has(r.member)) next.delete(r.member); else next.add(r.member);
    go('grid', { ...q, open: [...next].join(',') });
  };
  const tbl = h('table', { class: 'data', id: 'grid-table' },
    h('caption', {}, `${info.name}: ${metricName(info, metric)} targets (${unitOf(info, metric)}), FY${year}, by ${dim.name}${within ? ` within ${nodeLabel(info, within)}` : ''}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, dim.name), cols.map((c) => h('th', { scope: 'col', class: 'num' }, c.label)))),
    h('tbody', {}, rows.map((r, i) => h('tr', { 'data-node': r.node, class: r.depth === 0 ? 'parent' : null },
      h('th', { scope: 'row', style: `padding-left:${0.5 + r.depth * 1.25}rem` },
        r.kids ? h('button', { type: 'button', class: 'toggle', 'aria-expanded': String(open.has(r.member)), 'data-member': r.member,
          'aria-label': `${open.has(r.member) ? 'Collapse' : 'Expand'} ${r.name}`, onclick: () => toggle(r) }, open.has(r.member) ? '▾' : '▸') : null,
        ` ${r.name}`),
      cols.map((c, j) => cell(r, c, i, j))))));

  // The view's choices: metric, year, rows, the other dimensions' members,
  // the spans shown.
  const others = info.dimensions.filter((d) => d.id !== dimension);
  const form = h('form', { class: 'controls', id: 'grid-form' },
    select('g-metric', 'Metric', info.metrics.map((x) => ({ value: x.id, label: x.name })), metric, () => {}),
    select('g-year', 'Fiscal year', info.years.map((y) => ({ value: y, label: `FY${y}` })), year, () => {}),
    select('g-dimension', 'Rows by', info.dimensions.map((d) => ({ value: d.id, label: d.name })), dimension, () => {}),
    ...others.map((d) => select(`g-within-${d.id}`, `Within ${d.name}`, d.members.map((m) => ({ value: m.id, label: `${'· '.repeat(m.depth)}${m.name}` })), tree.member(within, d.id), () => {})),
    h('fieldset', { class: 'checks' }, h('legend', {}, 'Columns besides the year'),
      ...[['quarter', 'Quarters'], ['month', 'Months']].map(([id, label]) => h('label', { for: `g-s-${id}` },
        h('input', { type: 'checkbox', id: `g-s-${id}`, name: 'span', value: id, checked: periods.includes(id) }), ` ${label}`))),
    h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const dimNext = fd.get('g-dimension');
    const w = {};
    for (const d of info.dimensions) if (d.id !== dimNext && fd.get(`g-within-${d.id}`)) w[d.id] = fd.get(`g-within-${d.id}`);
    if (dimNext !== dimension && q.within) Object.assign(w, tree.coords(q.within)); // keep what was chosen
    delete w[dimNext];
    go('grid', { metric: fd.get('g-metric'), year: fd.get('g-year'), dimension: dimNext, within: tree.node(w), spans: fd.getAll('span').join(','),
      open: dimNext === dimension ? q.open : undefined });
  });
  const spreadChoice = h('fieldset', { class: 'checks', id: 'g-spread' }, h('legend', {}, 'A parent\'s value spreads to its parts'),
    ...[['targets', 'in proportion to their targets'], ['forecast', 'in proportion to their forecast'], ['even', 'evenly'], ['none', 'not at all']]
      .map(([v, label]) => h('label', { for: `g-spread-${v}` }, h('input', { type: 'radio', name: 'g-spread', id: `g-spread-${v}`, value: v, checked: (q.spread || 'targets') === v }), ` ${label}`)));
  const rollUp = h('label', { for: 'g-rollup', class: 'checks' }, h('input', { type: 'checkbox', id: 'g-rollup', checked: q.rollup !== 'no' }), ' A part\'s change rolls up to its parents');

  // Review: the changes, the server's check of them, then one batch.
  const reason = h('input', { id: 'g-reason', name: 'reason', size: 60, required: true });
  const submit = h('button', { type: 'button', id: 'grid-submit', disabled: true }, 'Submit the batch');
  const review = h('div', { id: 'grid-review', 'aria-live': 'polite' });
  const stale = () => {
    submit.disabled = true;
    ctx.grid.checked = false;
    if (review.children.length && !review.querySelector('.warn.stale')) review.prepend(h('p', { class: 'warn stale' }, 'Changed since the review: review again before submitting.'));
  };
  const batch = () => draft.rows(metric, reason.value.trim());
  const reviewButton = h('button', { type: 'button', id: 'grid-review-btn', class: 'secondary', onclick: () => check().catch(fail) }, 'Review the changes');
  async function check() {
    const rs = batch();
    if (!rs.length) { say('Nothing to review: no target was changed.', 'error'); return; }
    if (!reason.value.trim()) { say('Give the reason for the change: it is recorded with every target.', 'error'); reason.focus(); return; }
    const les = await Promise.all([...draft.changed.keys()].map(estimate));
    const changes = [...draft.changed.entries()].map(([key, ch], k) => {
      const [node, span] = key.split('|');
      const before = draft.current.has(key) ? draft.current.get(key) / 100 : null;
      return { node, span, label: nodeLabel(info, node), before, after: ch.cents / 100, how: ch.how, le: les[k] };
    }).sort((a, b) => a.span.localeCompare(b.span) || a.node.localeCompare(b.node));
    let verdict;
    try {
      const res = await api.checkTargets(plan, rs);
      verdict = h('p', { id: 'grid-check', class: 'ok' }, `The server checked the ${res.rows} changes: every sum still holds. Nothing is written until you submit.`);
      submit.disabled = false;
      ctx.grid.checked = true;
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status !== 409 && err.status !== 422)) throw err;
      // A row's problem names the row's node and span; a broken sum says its own.
      const where = (e) => (e.row && rs[e.row - 1] ? `${nodeLabel(info, rs[e.row - 1].node)} ${rs[e.row - 1].span}: ` : '');
      const reasons = (err.problem.errors || []).map((e) => `${where(e)}${e.reason}`);
      verdict = h('div', { class: 'conflicts', role: 'alert', id: 'grid-conflicts' },
        h('strong', {}, err.status === 409 ? 'The batch would leave targets that do not add up; change those too:' : 'The batch cannot be taken as it is:'),
        h('ul', {}, (reasons.length ? reasons : [err.message]).map((t) => h('li', {}, readable(t)))));
      submit.disabled = true;
    }
    const signed = (v) => (v === null ? '—' : `${v > 0 ? '+' : ''}${amount(v)}`);
    review.replaceChildren(table({
      caption: `The batch: ${changes.length} target change(s) of ${metricName(info, metric)}, FY${year}`,
      columns: [
        { label: 'Node', render: (c) => c.label },
        { label: 'Span', key: 'span' },
        { label: 'Target before', numeric: true, render: (c) => amount(c.before) },
        { label: 'Target after', numeric: true, render: (c) => amount(c.after) },
        { label: 'Change', numeric: true, render: (c) => signed(c.after - (c.before || 0)) },
        { label: 'How', key: 'how' },
        { label: 'Latest estimate', numeric: true, render: (c) => amount(c.le) },
        { label: 'Gap after (target − LE)', numeric: true, render: (c) => (c.le === null ? '—' : signed(c.after - c.le)) },
      ],
      rows: changes,
    }), verdict);
    review.querySelector('table').id = 'grid-review-table';
    say(submit.disabled ? 'The review found conflicts: the batch cannot be submitted as it is.' : 'Reviewed: ready to submit.', submit.disabled ? 'error' : '');
  }
  submit.addEventListener('click', async () => {
    if (!ctx.grid.checked) return;
    try {
      const rs = batch();
      const r = await api.changeTargets(plan, rs);
      ctx.targets = null; ctx.figures = null; ctx.grid = null;
      say(`${rs.length} targets written as one change at log position ${r.position}.`, 'ok');
      go('grid', { ...q, written: r.position });
    } catch (err) { fail(err); }
  });
  const discard = h('button', { type: 'button', class: 'secondary', id: 'grid-discard', onclick: () => { draft.changed.clear(); review.replaceChildren(); stale(); paint(); } }, 'Discard the changes');

  show(h('h1', {}, 'Plan grid'), form,
    h('p', { class: 'help' }, editable
      ? 'Type a target into any cell and press Enter. A parent\'s value spreads to its parts — its children in the rows (a target for each), and every other set of parts that all have targets (the sums the plan holds: children in the other dimensions, quarters and months) — and a part\'s change rolls up to the parents whose parts all have targets. A cell whose parts no longer add up shows their sum. An empty cell goes back to its target. Nothing is written until you review the batch and submit it.'
      : 'The targets of the year. Only a planner may change them.'),
    (info.derived_metrics || []).length ? h('p', { class: 'help', id: 'grid-derived' }, `Derived metrics have no targets of their own and are read only here: ${info.derived_metrics.map((d) => `${d.name} = ${formulaText(info, d)}`).join('; ')}. Set their operands' targets; the overview, node and pivot views show them.`) : null,
    editable ? h('div', { class: 'controls' }, spreadChoice, rollUp) : null,
    controls([link('grid', { ...q, open: '*' }, 'Expand all', { id: 'grid-expand-all' }), link('grid', { ...q, open: dim.root }, 'Collapse all', { id: 'grid-collapse-all' })]),
    h('div', { class: 'scroll' }, tbl),
    editable ? h('section', { class: 'card', 'aria-labelledby': 'grid-review-h' }, h('h2', { id: 'grid-review-h' }, 'Review and submit'), pending,
      h('div', { class: 'controls' }, h('label', { class: 'field', for: 'g-reason' }, 'Reason (recorded with every target)', reason)),
      h('div', { class: 'controls' }, reviewButton, submit, discard), review) : null);
  paint();
}

// ---- Forecast accuracy ---------------------------------------------------------

async function accuracy(q) {
  const show = shower();
  const { plan, metric, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const node = q.node || '';
  const [v, a] = await Promise.all([api.forecasts(plan, { metric, as_of }), api.accuracy(plan, { metric, node, as_of })]);
  const mname = metricName(info, metric);
  const acc = (x) => (x ? `${x.mape.toFixed(1)}%` : '—');
  const fva = a.fva;
  show(
    h('h1', {}, 'Forecast accuracy'),
    h('section', { class: 'card', 'aria-labelledby': 'fva-h' }, h('h2', { id: 'fva-h' }, 'Forecast value added (MAPE points)'),
      h('dl', { id: 'fva' },
        h('dt', {}, 'Sales commit over statistical forecast'), h('dd', {}, fva.commit_vs_statistical === null ? '—' : fva.commit_vs_statistical.toFixed(1)),
        h('dt', {}, 'Sales commit over naive forecast'), h('dd', {}, fva.commit_vs_naive === null ? '—' : fva.commit_vs_naive.toFixed(1)),
        h('dt', {}, 'Statistical over naive forecast'), h('dd', {}, fva.statistical_vs_naive === null ? '—' : fva.statistical_vs_naive.toFixed(1))),
      h('p', { class: 'help' }, `Over ${fva.n} forecast months with actuals. Positive: the first forecast was more accurate.`)),
    table({
      caption: `Forecast vintages of ${mname}`, columns: [
        { label: 'Run', key: 'run_id' }, { label: 'Published', render: (x) => x.time.slice(0, 10) },
        { label: 'Data position', key: 'data_position' }, { label: 'First period', key: 'first' },
        { label: 'Horizon', numeric: true, key: 'horizon' }, { label: 'Series', numeric: true, key: 'series' },
      ], rows: v.vintages,
    }),
    table({
      caption: `Accuracy of ${mname} forecasts against actuals (${nodeLabel(info, node)})`, columns: [
        { label: 'Run', key: 'run_id' }, { label: 'Months', numeric: true, key: 'n' },
        { label: 'Statistical MAPE', numeric: true, render: (x) => acc(x.statistical) },
        { label: 'Commit MAPE', numeric: true, render: (x) => acc(x.commit) },
        { label: 'Naive MAPE', numeric: true, render: (x) => acc(x.naive) },
      ], rows: a.vintages,
    }),
    controls([csvButton(plan, 'accuracy', { metric, node }, 'Download accuracy CSV')]));
}

// ---- Shell -----------------------------------------------------------------------

// ---- Alerts: the inbox ------------------------------------------------------

// alertKinds says in words what each kind of rule watches, and how its
// figures read.
const alertKinds = {
  probability_below: { text: 'P(target) below', fmt: (v) => percent(v) },
  gap_above: { text: 'Gap to target above', fmt: (v) => amount(v) },
  gap_share_above: { text: 'Gap above % of target', fmt: (v) => `${Number(v).toFixed(1)}%` },
  commit_divergence: { text: 'Commit away from forecast (sd) above', fmt: (v) => Number(v).toFixed(2) },
  forecast_move: { text: 'Forecast run moved the year by more than %', fmt: (v) => `${Number(v).toFixed(1)}%` },
  actual_outside_interval: { text: 'Closed month outside the forecast interval of %', fmt: (v) => `${Number(v).toFixed(1)}%` },
  close_overdue: { text: 'Month not closed after days', fmt: (v) => Number(v).toFixed(1) },
};
function alertFigure(kind, v) {
  if (v === null || v === undefined) return '—';
  const k = alertKinds[kind];
  return k ? k.fmt(v) : String(v);
}

// refreshBadge shows in the navigation how many alerts are open in the
// caller's scope (the API answers only those).
async function refreshBadge(plan) {
  const badge = document.getElementById('alert-badge');
  try {
    const open = await api.alerts(plan, { open: true });
    badge.textContent = String(open.length);
    badge.hidden = open.length === 0;
    document.getElementById('alerts-link').setAttribute('aria-label', `Alerts: ${open.length} open`);
  } catch {
    badge.hidden = true;
  }
}

// alerts lists the plan's alerts in the caller's scope, newest first: each
// links to the node's chart as of the log position that raised it, and an
// open one can be acknowledged with a comment.
async function alertsView(q) {
  const show = shower();
  const { plan } = planQuery(q);
  const info = await loadPlan(plan);
  const all = await api.alerts(plan, {});
  const which = q.show === 'all' ? 'all' : 'open';
  const rows = which === 'all' ? all : all.filter((a) => a.open);
  const ack = (a) => {
    if (a.acknowledged) return `seen by ${a.acknowledged.by}: ${a.acknowledged.comment}`;
    const id = `ack-${a.id}`;
    return h('form', { class: 'ack', onsubmit: async (e) => {
      e.preventDefault();
      const comment = e.target.elements.comment.value.trim();
      if (!comment) { say('Say what you make of it: a comment is required.', 'error'); return; }
      try {
        await api.acknowledge(plan, a.id, comment);
        say(`Alert ${a.id} acknowledged.`, 'ok');
        go('alerts', { ...q });
      } catch (err) { fail(err); }
    } },
    h('input', { id, name: 'comment', type: 'text', placeholder: 'comment', 'aria-label': `Comment on alert ${a.id}` }),
    h('button', { type: 'submit' }, 'Acknowledge'));
  };
  show(
    h('h1', {}, 'Alerts'),
    controls([select('alert-show', 'Show', [{ value: 'open', label: 'Open alerts' }, { value: 'all', label: 'All alerts' }], which,
      (v) => go('alerts', { ...q, show: v }))]),
    rows.length === 0
      ? h('p', { id: 'alerts-empty' }, which === 'open' ? 'No open alerts in your scope.' : 'No alerts in your scope.')
      : h('div', { id: 'alerts-table' }, table({
        caption: `${which === 'open' ? 'Open alerts' : 'Alerts'} of ${info.name}, newest first`,
        columns: [
          { label: 'Node', render: (a) => link('node', { node: a.node, metric: a.metric, as_of: a.position }, nodeLabel(info, a.node),
            { title: `The chart of ${nodeLabel(info, a.node)} as of log position ${a.position}, the state that raised the alert` }) },
          { label: 'Severity', render: (a) => h('span', { class: `sev-${a.severity}` }, a.severity) },
          { label: 'Rule', render: (a) => `${a.rule}: ${(alertKinds[a.kind] || { text: a.kind }).text} ${alertFigure(a.kind, a.threshold)} (${metricName(info, a.metric)}, FY${a.year})` },
          { label: 'Before → after', render: (a) => `${alertFigure(a.kind, a.before)} → ${alertFigure(a.kind, a.after)}` },
          { label: 'Raised', render: (a) => a.raised_at.slice(0, 16).replace('T', ' ') },
          { label: 'Status', render: (a) => (a.open ? 'open' : `resolved: ${a.resolved.reason}`) },
          { label: 'Acknowledgement', render: ack },
        ],
        rows,
      })));
}

function fail(err) {
  if (err instanceof ApiError && err.status === 401) {
    clearToken(); ctx.me = null; go('signin', {});
    say('Your session has ended; please sign in again.', 'error');
    return;
  }
  say(err.message || String(err), 'error');
}

const routes = { overview, node: nodeView, pivot, grid, compare, history, replan, accuracy, alerts: alertsView };

// renders counts the renders begun: a view shows what it built only if no
// render began after its own (a slow answer for an earlier route or filter
// must not replace a later one).
let renders = 0;
function shower() {
  const mine = renders;
  return (...nodes) => { if (mine === renders) view.replaceChildren(...nodes.filter(Boolean)); };
}

async function render() {
  const mine = ++renders;
  const { name, q } = route();
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  if (!token() || name === 'signin') {
    document.getElementById('who').hidden = true;
    document.getElementById('asof-form').hidden = true;
    signIn();
    return;
  }
  try {
    if (!ctx.me) await start();
    if (!ctx.plans.length) ctx.plans = (await api.plans()).plans;
    document.getElementById('asof').value = q.as_of || '';
    view.setAttribute('aria-busy', 'true');
    await (ctx.plans.length ? (routes[name] || overview) : setup)(q);
    // The badge comes when it comes: the view does not wait for it (the
    // alert inbox's first answer on a large store can take a minute).
    if (ctx.plans.length) refreshBadge(planQuery(q).plan);
    if (mine !== renders) return; // a later render owns the view
    view.setAttribute('aria-busy', 'false');
    view.dataset.view = name;
    view.dataset.rendered = String((Number(view.dataset.rendered) || 0) + 1);
    if (!status.classList.contains('ok')) say('');
    status.classList.remove('ok');
    performance.mark(`rendered:${name}`);
  } catch (err) {
    if (mine !== renders) return;
    view.setAttribute('aria-busy', 'false');
    fail(err);
  }
}

document.getElementById('asof-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const { name, q } = route();
  const d = document.getElementById('asof').value.trim();
  go(name, { ...q, as_of: d });
});
document.getElementById('asof-clear').addEventListener('click', () => {
  const { name, q } = route();
  delete q.as_of;
  location.hash = `#/${name}?${new URLSearchParams(q)}`;
});
document.getElementById('signout').addEventListener('click', () => { clearToken(); ctx.me = null; go('signin', {}); });
window.addEventListener('hashchange', render);
render();
