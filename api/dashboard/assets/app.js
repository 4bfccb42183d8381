// Concord's shared dashboard: hash routing, sign-in and the five views.
// Every number comes from the query endpoints of CONTRACT.md via api.js.

import { api, ApiError, token, setToken, clearToken } from './api.js';
import { h, table, heatmap, chart, amount, percent, probabilityColour } from './components.js';

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

function controls(children) { return h('div', { class: 'controls' }, children); }
function csvButton(plan, tableName, q) {
  return h('button', { type: 'button', class: 'secondary', onclick: () => api.csv(plan, tableName, q).catch(fail) }, 'Download CSV');
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
  const src = v.forecast_source;
  if (src) {
    out.push(h('p', { class: src.kind === 'stand-in' ? 'warn' : 'asof-note', id: 'forecast-source', 'data-kind': src.kind },
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
  const cross = q.cross === undefined ? (info.dimensions.find((d) => d.id !== dimension) || {}).id : q.cross;
  const year = q.year || info.years[0];
  const params = { metric, year, dimension, parent: q.parent, node: q.node, cross, as_of };
  const v = await api.variance(plan, params);
  const unit = (info.metrics.find((m) => m.id === metric) || {}).unit || info.currency;

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
    { label: 'Target', numeric: true, render: (r) => amount(r.target) },
    { label: 'Actual to date', numeric: true, render: (r) => amount(r.actual) },
    { label: 'Latest estimate', numeric: true, render: (r) => amount(r.latest_estimate) },
    { label: 'Sales commit', numeric: true, render: (r) => amount(r.commit) },
    { label: 'Statistical forecast', numeric: true, render: (r) => r.forecast ? h('span', {}, amount(r.forecast.mean), h('br'), h('small', {}, `95%: ${amount(r.forecast.lo95)} – ${amount(r.forecast.hi95)}`)) : '—' },
    { label: 'Gap', numeric: true, render: (r) => h('span', { class: r.gap > 0 ? 'neg' : 'pos' }, amount(r.gap)) },
    { label: 'P(target)', numeric: true, render: (r) => h('span', { class: 'prob', style: `background:${probabilityColour(r.probability)}` }, percent(r.probability)) },
    { label: 'Detail', render: (r) => link('node', { node: r.node }, 'Chart', { 'aria-label': `Monthly chart of ${r.name}` }) },
  ];
  const tbl = table({ caption: `${info.name}: ${metric} (${unit}), ${v.span.label}, by ${dim.name}`, columns, rows: v.rows, rowClass: (r) => r.parent_row ? 'parent' : null });
  tbl.id = 'overview-table';

  const parts = [
    h('h1', {}, 'Overview'),
    controls([
      select('metric', 'Metric', info.metrics.map((x) => ({ value: x.id, label: x.name })), metric, (x) => go('overview', { ...q, metric: x })),
      select('year', 'Fiscal year', info.years.map((y) => ({ value: y, label: `FY${y}` })), year, (x) => go('overview', { ...q, year: x })),
      select('dimension', 'Rows by', info.dimensions.map((d) => ({ value: d.id, label: d.name })), dimension, (x) => go('overview', { ...q, dimension: x, parent: '', cross: '' })),
      select('cross', 'Heatmap columns', [{ value: '-', label: 'none' }, ...info.dimensions.filter((d) => d.id !== dimension).map((d) => ({ value: d.id, label: d.name }))], cross || '-', (x) => go('overview', { ...q, cross: x })),
      csvButton(plan, 'variance', params),
    ]),
    asOfNote(v.as_of),
    ...notices(plan, metric, v, v.rows),
    v.conflicts && v.conflicts.length ? h('p', { class: 'warn', role: 'alert' }, `Targets conflict: ${v.conflicts.join('; ')}`) : null,
    breadcrumb, tbl,
  ];
  if (v.columns && v.columns.length) {
    const rows = v.rows.filter((r) => !r.parent_row);
    parts.push(h('h2', {}, `Probability of reaching the target: ${dim.name} × ${dims(info)[cross].name}`),
      heatmap({
        title: `Probability of reaching the ${v.span.label} target by ${dim.name} and ${dims(info)[cross].name}`,
        rowLabels: rows.map((r) => r.name), colLabels: v.columns.map((c) => c.name),
        value: (i, j) => rows[i].cells[j].probability,
        label: (i, j) => { const c = rows[i].cells[j]; return `${rows[i].name} × ${v.columns[j].name}: target ${amount(c.target)}, gap ${amount(c.gap)}, P ${percent(c.probability)}`; },
      }));
  }
  show(...parts.filter(Boolean));
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
  const picker = h('form', { class: 'controls', id: 'node-form' },
    h('label', { class: 'field', for: 'node-input' }, 'Node', h('input', { id: 'node-input', name: 'node', value: node, placeholder: 'e.g. region=emea' })),
    h('button', { type: 'submit' }, 'Show'));
  picker.addEventListener('submit', (e) => { e.preventDefault(); go('node', { ...q, node: e.target.node.value.trim() }); });
  const ex = r.explanation;
  show(
    h('h1', {}, `Node: ${r.label}`), picker, asOfNote(r.as_of), ...notices(plan, metric, r, null),
    chart({
      title: `${r.label}, ${metric}: ${r.window.first} to ${r.window.last}`, labels, closedThrough: r.closed_through,
      bands: [
        { lo: open(f('lo95')), hi: open(f('hi95')), cls: 'b95', label: '95% interval' },
        { lo: open(f('lo80')), hi: open(f('hi80')), cls: 'b80', label: '80% interval' },
      ],
      lines: [
        { values: r.periods.map((p) => (p.actual === null ? null : Number(p.actual))), cls: 'actual', label: 'Actual' },
        { values: r.periods.map((p) => p.target), cls: 'target', label: 'Target (phased)' },
        { values: open(f('mean')), cls: 'forecast', label: 'Statistical forecast' },
        { values: r.periods.map((p) => p.commit), cls: 'commit', label: 'Sales commit (phased)' },
        { values: r.periods.map((p) => p.reconciled), cls: 'reconciled', label: 'Reconciled plan' },
      ],
    }),
    h('section', { class: 'card explain', 'aria-labelledby': 'explain-h' },
      h('h2', { id: 'explain-h' }, 'How the plan was adjusted (open months)'),
      h('dl', {},
        h('dt', {}, 'Statistical forecast'), h('dd', {}, amount(ex.forecast)),
        h('dt', {}, 'Coherence part (making levels add up)'), h('dd', {}, amount(ex.coherence)),
        h('dt', {}, 'Target part (closing the gap)'), h('dd', {}, amount(ex.target)),
        h('dt', {}, 'Reconciled plan'), h('dd', {}, amount(ex.reconciled))),
      h('p', {}, ex.text)),
    controls([csvButton(plan, 'rolling', { metric, node, as_of })]),
    table({
      caption: `Monthly detail of ${r.label}`,
      columns: [
        { label: 'Period', key: 'period' },
        { label: 'Status', render: (p) => (p.closed ? 'closed' : 'open') },
        { label: 'Actual', numeric: true, render: (p) => amount(p.actual) },
        { label: 'Target', numeric: true, render: (p) => amount(p.target) },
        { label: 'Forecast', numeric: true, render: (p) => amount(p.forecast && p.forecast.mean) },
        { label: 'Commit', numeric: true, render: (p) => amount(p.commit) },
        { label: 'Reconciled', numeric: true, render: (p) => amount(p.reconciled) },
        { label: 'Coherence adj.', numeric: true, render: (p) => amount(p.coherence_adjustment) },
        { label: 'Target adj.', numeric: true, render: (p) => amount(p.target_adjustment) },
      ],
      rows: r.periods,
    }));
}

// ---- History -----------------------------------------------------------------

async function history(q) {
  const show = shower();
  const { plan, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const filters = { type: q.type, actor: q.actor, node: q.node, to: as_of };
  const form = h('form', { class: 'controls', id: 'history-form' },
    h('label', { class: 'field', for: 'f-type' }, 'Event type', h('select', { id: 'f-type', name: 'type' },
      ['', 'plan.TargetSet', 'plan.TargetRevised', 'plan.TargetCleared', 'plan.ReallocationProposed', 'plan.ReallocationApproved', 'plan.ReallocationRejected', 'plan.VersionTagged', 'plan.VersionApproved', 'ledger.ActualRecorded', 'ledger.ActualRestated', 'ledger.PeriodClosed', 'ledger.PeriodReopened', 'commit.Submitted', 'forecast.Published']
        .map((t) => h('option', { value: t, selected: t === (q.type || '') }, t || 'any')))),
    h('label', { class: 'field', for: 'f-actor' }, 'Actor', h('input', { id: 'f-actor', name: 'actor', value: q.actor || '' })),
    h('label', { class: 'field', for: 'f-node' }, 'Node', h('input', { id: 'f-node', name: 'node', value: q.node || '', placeholder: 'region=emea' })),
    h('button', { type: 'submit' }, 'Filter'),
    csvButton(plan, 'history', filters));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    go('history', { ...q, type: fd.get('type'), actor: fd.get('actor'), node: fd.get('node') });
  });
  const list = h('ol', { class: 'timeline', id: 'timeline' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'more' }, 'Older events');
  let cursor;
  async function page() {
    const res = await api.history(plan, { ...filters, cursor, limit: 25 });
    for (const it of res.items) {
      list.append(h('li', { 'data-position': it.position },
        h('div', { class: 'when' }, h('time', { datetime: it.time }, it.time.slice(0, 16).replace('T', ' ')), ` · #${it.position}`),
        h('div', {}, h('strong', {}, it.type), ' by ', h('span', { class: 'actor' }, it.actor || '—')),
        h('div', {}, it.summary)));
    }
    if (!res.items.length && !list.children.length) list.append(h('li', {}, 'No events match.'));
    cursor = res.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => page().catch(fail));
  await page();

  const refs = [{ value: '', label: 'choose…' }, ...info.tags.map((t) => ({ value: `tag:${t.tag}`, label: t.tag }))];
  const diffOut = h('div', { id: 'diff-out' });
  const diffForm = h('form', { class: 'controls', id: 'diff-form' },
    h('label', { class: 'field', for: 'd-from' }, 'From', h('input', { id: 'd-from', name: 'from', list: 'refs', value: q.from || (refs[1] || {}).value || '' })),
    h('label', { class: 'field', for: 'd-to' }, 'To', h('input', { id: 'd-to', name: 'to', list: 'refs', value: q.to || (refs[refs.length - 1] || {}).value || '' })),
    h('datalist', { id: 'refs' }, refs.slice(1).map((r) => h('option', { value: r.value }, r.label))),
    h('button', { type: 'submit' }, 'Compare'));
  async function runDiff() {
    const fd = new FormData(diffForm);
    const d = await api.diff(plan, { from: fd.get('from'), to: fd.get('to') });
    diffOut.replaceChildren(
      h('p', {}, `${d.from.ref} (position ${d.from.position}) → ${d.to.ref} (position ${d.to.position}): ${d.changes.length} change(s).`),
      table({
        caption: 'Target changes between the two versions',
        columns: [
          { label: 'Node', render: (c) => c.label },
          { label: 'Metric', key: 'metric' }, { label: 'Span', key: 'span' }, { label: 'Change', key: 'kind' },
          { label: 'From', numeric: true, render: (c) => amount(c.from) },
          { label: 'To', numeric: true, render: (c) => amount(c.to) },
          { label: 'Delta', numeric: true, render: (c) => amount(c.delta) },
        ],
        rows: d.changes,
      }),
      csvButton(plan, 'diff', { from: fd.get('from'), to: fd.get('to') }));
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

async function replan(q) {
  const show = shower();
  const { plan, metric, as_of } = planQuery(q);
  const info = await loadPlan(plan, as_of);
  const year = q.year || info.years[0];
  const parts = [h('h1', {}, 'Replan')];
  if (can('sales')) {
    const owned = ctx.me.owns || [];
    const nodes = [];
    for (const o of owned) {
      const [d, m] = o.split('=');
      const dim = dims(info)[d];
      if (!dim) continue;
      const below = (id) => [id, ...dim.members.filter((x) => x.parent === id).flatMap((x) => below(x.id))];
      below(m).forEach((id) => nodes.push({ value: `${d}=${id}`, label: memberName(info, d, id) }));
    }
    const rows = h('div', { id: 'moves' });
    const addRow = (node, delta) => {
      const i = rows.children.length;
      rows.append(h('div', { class: 'move' },
        h('label', { class: 'field', for: `mv-node-${i}` }, 'Node', h('select', { id: `mv-node-${i}`, name: 'node' }, nodes.map((n) => h('option', { value: n.value, selected: n.value === node }, n.label)))),
        h('label', { class: 'field', for: `mv-delta-${i}` }, 'Change of target', h('input', { id: `mv-delta-${i}`, name: 'delta', inputmode: 'decimal', value: delta || '', required: true }))));
    };
    addRow(nodes[0] && nodes[0].value); addRow(nodes[1] && nodes[1].value);
    const reason = h('input', { id: 'mv-reason', name: 'reason', required: true });
    const preview = h('div', { id: 'preview', 'aria-live': 'polite' });
    const submit = h('button', { type: 'button', id: 'submit-realloc', disabled: true }, 'Submit for approval');
    const body = () => ({
      metric, year: Number(year),
      moves: [...rows.children].map((r) => ({ node: r.querySelector('select').value, delta: r.querySelector('input').value.trim() })).filter((m) => m.delta),
    });
    const form = h('form', { class: 'card', id: 'replan-form' },
      h('h2', {}, `Reallocate the FY${year} ${metric} target between your nodes`),
      h('p', { class: 'help' }, 'Changes must add up to zero. Preview shows the effect on gaps and probabilities before anything is submitted.'),
      rows, h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add node'),
      h('label', { for: 'mv-reason' }, 'Reason'), reason,
      h('div', { class: 'controls' }, h('button', { type: 'submit', id: 'preview-btn' }, 'Preview'), submit), preview);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const p = await api.preview(plan, body());
        preview.replaceChildren(table({
          caption: 'Preview of the reallocation', columns: [
            { label: 'Node', render: (r) => r.label },
            { label: 'Target before', numeric: true, render: (r) => amount(r.target_before) },
            { label: 'Target after', numeric: true, render: (r) => amount(r.target_after) },
            { label: 'Gap before', numeric: true, render: (r) => amount(r.gap_before) },
            { label: 'Gap after', numeric: true, render: (r) => amount(r.gap_after) },
            { label: 'P before', numeric: true, render: (r) => percent(r.probability_before) },
            { label: 'P after', numeric: true, render: (r) => percent(r.probability_after) },
          ], rows: [...p.rows, { ...p.total, label: 'Plan total' }],
        }), ...(p.incoherent || []).map((c) => h('p', { class: 'warn', role: 'alert' }, c)));
        // A move that breaks a sum of targets would be refused: no submit.
        submit.disabled = (p.incoherent || []).length > 0;
        say(submit.disabled ? 'The reallocation conflicts with other targets; see the preview.' : 'Preview ready.');
      } catch (err) { fail(err); }
    });
    submit.addEventListener('click', async () => {
      try {
        const b = body();
        const r = await api.propose(plan, { metric, span: `FY${year}`, moves: b.moves, reason: reason.value });
        say(`Reallocation ${r.id} submitted for approval.`, 'ok');
        go('replan', { ...q, submitted: r.id });
      } catch (err) { fail(err); }
    });
    parts.push(form);
  }
  const list = (await api.reallocations(plan, {})).reallocations;
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
          h('button', { type: 'button', class: 'approve', 'data-id': r.id, onclick: () => decide(plan, r.id, true, q) }, `Approve ${r.id}`),
          h('button', { type: 'button', class: 'secondary', onclick: () => decide(plan, r.id, false, q) }, `Reject ${r.id}`))
        : (r.decided_by ? `${r.decided_by}${r.decision_reason ? `: ${r.decision_reason}` : ''}` : '—') },
    ],
    rows: list,
  }));
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
    say(`Reallocation ${id} ${approve ? 'approved' : 'rejected'}.`, 'ok');
    go('replan', { ...q, decided: id });
  } catch (err) { fail(err); }
}

// ---- Forecast accuracy ---------------------------------------------------------

async function accuracy(q) {
  const show = shower();
  const { plan, metric, as_of } = planQuery(q);
  await loadPlan(plan, as_of);
  const node = q.node || '';
  const [v, a] = await Promise.all([api.forecasts(plan, { metric, as_of }), api.accuracy(plan, { metric, node, as_of })]);
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
      caption: `Forecast vintages of ${metric}`, columns: [
        { label: 'Run', key: 'run_id' }, { label: 'Published', render: (x) => x.time.slice(0, 10) },
        { label: 'Data position', key: 'data_position' }, { label: 'First period', key: 'first' },
        { label: 'Horizon', numeric: true, key: 'horizon' }, { label: 'Series', numeric: true, key: 'series' },
      ], rows: v.vintages,
    }),
    table({
      caption: `Accuracy against actuals (${node || 'total'})`, columns: [
        { label: 'Run', key: 'run_id' }, { label: 'Months', numeric: true, key: 'n' },
        { label: 'Statistical MAPE', numeric: true, render: (x) => acc(x.statistical) },
        { label: 'Commit MAPE', numeric: true, render: (x) => acc(x.commit) },
        { label: 'Naive MAPE', numeric: true, render: (x) => acc(x.naive) },
      ], rows: a.vintages,
    }),
    controls([csvButton(plan, 'accuracy', { metric, node }), csvButton(plan, 'forecasts', { metric })]));
}

// ---- Shell -----------------------------------------------------------------------

function fail(err) {
  if (err instanceof ApiError && err.status === 401) {
    clearToken(); ctx.me = null; go('signin', {});
    say('Your session has ended; please sign in again.', 'error');
    return;
  }
  say(err.message || String(err), 'error');
}

const routes = { overview, node: nodeView, history, replan, accuracy };

// renders counts the renders begun: a view shows what it built only if no
// render began after its own (a slow answer for an earlier route or filter
// must not replace a later one).
let renders = 0;
function shower() {
  const mine = renders;
  return (...nodes) => { if (mine === renders) view.replaceChildren(...nodes); };
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
