// The plan grid's arithmetic: a draft of target changes over nodes and
// spans, with a parent's value spread to its parts and a part's change
// rolled up to its parents. Nothing here talks to the server; the grid
// view (app.js) reviews the draft with POST …/targets/batch?dry_run=true,
// which applies the domain's coherence rule, and submits it as one batch.
//
// Amounts are kept in integer cents, so that spread parts add up exactly.

// cents reads an amount ("1,234,000.5", "1234000", 12.3) as integer cents,
// or null when it is not a number.
export function cents(v) {
  if (v === null || v === undefined) return null;
  const t = String(v).replace(/[,\s]/g, '');
  if (!/^-?\d+(\.\d{0,2})?$/.test(t)) return null;
  const [i, f = ''] = t.replace('-', '').split('.');
  const c = Number(i) * 100 + Number((f + '00').slice(0, 2));
  return t.startsWith('-') ? -c : c;
}

// decimalText writes cents as the API's decimal text ("1234000.50").
export function decimalText(c) {
  const sign = c < 0 ? '-' : '';
  const a = Math.abs(c);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

// spread divides total (cents) over weights: in proportion to them, or
// evenly when they are all zero (or absent). The parts are rounded to the
// cent and add up to total exactly: the rounding difference goes to the
// part with the largest weight (the first, when weights are even).
export function spread(total, weights) {
  const w = weights.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const sum = w.reduce((a, b) => a + b, 0);
  const share = sum > 0 ? w.map((x) => x / sum) : w.map(() => 1 / w.length);
  const parts = share.map((s) => Math.round(total * s));
  const diff = total - parts.reduce((a, b) => a + b, 0);
  let big = 0;
  share.forEach((s, i) => { if (s > share[big]) big = i; });
  parts[big] += diff;
  return parts;
}

// Calendar: the spans of a fiscal year and how they nest.
// yearMonths lists the months (YYYY-MM) of fiscal year y starting in month
// start (1–12); a year is named by the year in which it ends.
export function yearMonths(y, start) {
  const out = [];
  let year = start === 1 ? y : y - 1;
  let m = start;
  for (let k = 0; k < 12; k++) {
    out.push(`${year}-${String(m).padStart(2, '0')}`);
    m += 1;
    if (m > 12) { m = 1; year += 1; }
  }
  return out;
}

// spansOf lists the spans of fiscal year y: the year, its quarters and
// its months, as the API writes them (FY2028, FY2028-Q1, 2027-04).
export function spansOf(y, start) {
  const months = yearMonths(y, start);
  return { year: `FY${y}`, quarters: [1, 2, 3, 4].map((q) => `FY${y}-Q${q}`), months };
}

// Tree describes the nodes and spans a draft may touch: the plan's
// dimensions (members with parents), and the fiscal year's spans.
export class Tree {
  constructor(dimensions, year, fyStart) {
    this.dims = dimensions.map((d) => ({ id: d.id, root: d.root, members: d.members }));
    this.byDim = Object.fromEntries(this.dims.map((d) => [d.id, d]));
    this.kids = {};
    this.parent = {};
    for (const d of this.dims) {
      for (const m of d.members) {
        this.parent[`${d.id}=${m.id}`] = m.parent;
        if (m.parent && m.id !== m.parent) (this.kids[`${d.id}=${m.parent}`] ||= []).push(m.id);
      }
    }
    this.cal = spansOf(year, fyStart);
  }

  // coords parses a node ("product=pumps;region=emea") into {dim: member}.
  coords(node) {
    const out = {};
    for (const c of node.split(';').filter(Boolean)) { const [d, m] = c.split('='); out[d] = m; }
    return out;
  }

  // node writes coords canonically: by dimension id, roots left out.
  node(coords) {
    return Object.keys(coords).sort()
      .filter((d) => coords[d] && coords[d] !== (this.byDim[d] || {}).root)
      .map((d) => `${d}=${coords[d]}`).join(';');
  }

  // with answers node with dimension dim's member replaced.
  with(node, dim, member) { return this.node({ ...this.coords(node), [dim]: member }); }

  // member answers node's member of dim (its root when absent).
  member(node, dim) { return this.coords(node)[dim] || this.byDim[dim].root; }

  // partsOf lists the groups of parts of a target key "node|span": per
  // dimension, the node with each child member; in time, a year's quarters
  // and its months, a quarter's months.
  partsOf(key) {
    const [node, span] = key.split('|');
    const groups = [];
    for (const d of this.dims) {
      const kids = this.kids[`${d.id}=${this.member(node, d.id)}`] || [];
      if (kids.length) groups.push({ kind: d.id, keys: kids.map((k) => `${this.with(node, d.id, k)}|${span}`) });
    }
    const { year, quarters, months } = this.cal;
    if (span === year) {
      groups.push({ kind: 'time', keys: quarters.map((q) => `${node}|${q}`) });
      groups.push({ kind: 'time', keys: months.map((m) => `${node}|${m}`) });
    }
    const q = quarters.indexOf(span);
    if (q >= 0) groups.push({ kind: 'time', keys: months.slice(q * 3, q * 3 + 3).map((m) => `${node}|${m}`) });
    return groups;
  }

  // parentsOf lists the keys key is a part of: per dimension, the node with
  // the parent member; in time, a month's quarter and year, a quarter's year.
  parentsOf(key) {
    const [node, span] = key.split('|');
    const out = [];
    for (const d of this.dims) {
      const m = this.member(node, d.id);
      if (m === d.root) continue;
      out.push(`${this.with(node, d.id, this.parent[`${d.id}=${m}`])}|${span}`);
    }
    const { year, quarters, months } = this.cal;
    const mi = months.indexOf(span);
    if (mi >= 0) out.push(`${node}|${quarters[Math.floor(mi / 3)]}`, `${node}|${year}`);
    if (quarters.includes(span)) out.push(`${node}|${year}`);
    return out;
  }
}

// Draft holds the changes typed into the grid over the current targets
// (a Map of "node|span" to cents). Each change remembers how it came
// about: typed, spread from a parent, or rolled up from a part.
export class Draft {
  constructor(tree, current) {
    this.tree = tree;
    this.current = current;
    this.changed = new Map(); // key → {cents, how}
  }

  value(key) {
    if (this.changed.has(key)) return this.changed.get(key).cents;
    return this.current.has(key) ? this.current.get(key) : null;
  }

  has(key) { return this.value(key) !== null; }

  put(key, c, how) {
    if (this.current.get(key) === c) this.changed.delete(key);
    else this.changed.set(key, { cents: c, how });
  }

  // binding tells whether every part of a group has a target: then the
  // coherence rule holds the parent to their sum.
  binding(group) { return group.keys.every((k) => this.has(k)); }

  // type records amount c typed into key, spreads it to its parts and
  // rolls the change up to its parents (when rollUp). spreadDim is the
  // dimension the grid's rows are in: the typed cell spreads to its
  // children there even when they have no target yet (they get one);
  // elsewhere, and further down, a value spreads only into groups of parts
  // that all have targets (the sums the rule holds). method is 'targets'
  // (in proportion to the parts' targets), 'forecast' (to weights(keys),
  // a promise of the parts' forecasts), 'even' or 'none'.
  async type(key, c, { method, spreadDim, rollUp, weights }) {
    const touched = [key];
    this.put(key, c, 'typed');
    if (method !== 'none') await this.spreadDown(key, method, spreadDim, weights, touched, true);
    if (rollUp) for (const k of touched) this.rollUp(k, new Set(touched));
  }

  async spreadDown(key, method, spreadDim, weights, touched, top) {
    const total = this.value(key);
    for (const g of this.tree.partsOf(key)) {
      if (!(this.binding(g) || (top && g.kind === spreadDim))) continue;
      let w;
      if (method === 'targets') w = g.keys.map((k) => this.value(k) || 0);
      else if (method === 'forecast') w = await weights(g.keys);
      else w = g.keys.map(() => 1);
      const parts = spread(total, w);
      for (let i = 0; i < g.keys.length; i++) {
        this.put(g.keys[i], parts[i], 'spread');
        touched.push(g.keys[i]);
        await this.spreadDown(g.keys[i], method, spreadDim, weights, touched, false);
      }
    }
  }

  // rollUp makes every parent that has a target and whose parts all have
  // targets the sum of those parts, and so on up.
  rollUp(key, skip) {
    for (const p of this.tree.parentsOf(key)) {
      if (!this.has(p) || skip.has(p)) continue;
      const g = this.tree.partsOf(p).find((x) => x.keys.includes(key));
      if (!g || !this.binding(g)) continue;
      const sum = g.keys.reduce((a, k) => a + this.value(k), 0);
      if (sum === this.value(p)) continue;
      this.put(p, sum, 'rolled up');
      this.rollUp(p, skip);
    }
  }

  // partSums answers, for a key whose parts in a group all have targets,
  // the groups whose sum differs from the key's value: {kind, sum}.
  partSums(key) {
    const v = this.value(key);
    if (v === null) return [];
    return this.tree.partsOf(key).filter((g) => this.binding(g))
      .map((g) => ({ kind: g.kind, sum: g.keys.reduce((a, k) => a + this.value(k), 0) }))
      .filter((x) => x.sum !== v);
  }

  // rows lists the changes as the batch's rows (upsert: set or revise).
  rows(metric, reason) {
    return [...this.changed.entries()].map(([key, ch]) => {
      const [node, span] = key.split('|');
      return { op: 'upsert', node, metric, span, amount: decimalText(ch.cents), reason };
    });
  }
}
