// The pivot grid's arithmetic: time columns (months, quarters, QTD, YTD,
// full year) over one fiscal year, and the measures of each column summed
// from a row's months. Every figure is a sum of the monthly figures of the
// pivot answer (GET …/pivot: every row's months as its rolling plan has
// them, COLUMNS.md), so a full-year column ties back to the node's target,
// actuals and estimate.

// timeKinds are the kinds of time column a pivot may show, in order.
export const timeKinds = [
  { id: 'month', label: 'Months' },
  { id: 'quarter', label: 'Quarters' },
  { id: 'qtd', label: 'Quarter to date' },
  { id: 'ytd', label: 'Year to date' },
  { id: 'fy', label: 'Full year' },
];

// pivotMeasures are the measures a pivot may show per time column.
// P(target) is the server's, of the full year only.
export const pivotMeasures = [
  { id: 'target', label: 'Target' },
  { id: 'actual', label: 'Actual' },
  { id: 'le', label: 'Latest estimate' },
  { id: 'forecast', label: 'Forecast (80% interval)' },
  { id: 'commit', label: 'Commit' },
  { id: 'gap', label: 'Gap to target' },
  { id: 'variance', label: 'Variance %', pct: true },
  { id: 'p', label: 'P(target)', prob: true },
];

const z80 = 1.281552;

// timeColumns lists the time columns of the kinds chosen over the months of
// one fiscal year: {id, label, kind, months: [indices]}. Quarter to date is
// the quarter of the last closed month up to it; year to date the closed
// months. Neither is shown before any month is closed.
export function timeColumns(months, kinds) {
  const label = (p) => p.period;
  const lastClosed = months.findLastIndex((p) => p.closed);
  const out = [];
  const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  for (const k of kinds) {
    if (k === 'month') months.forEach((p, i) => out.push({ id: p.period, label: label(p), kind: k, months: [i] }));
    if (k === 'quarter') {
      for (let q = 0; q * 3 < months.length; q++) {
        const idx = range(q * 3, Math.min(months.length, q * 3 + 3) - 1);
        out.push({ id: `Q${q + 1}`, label: `Q${q + 1} (${months[idx[0]].period} to ${months[idx[idx.length - 1]].period})`, kind: k, months: idx });
      }
    }
    if (k === 'qtd' && lastClosed >= 0) {
      const first = Math.floor(lastClosed / 3) * 3;
      out.push({ id: 'QTD', label: `QTD (Q${first / 3 + 1} to ${months[lastClosed].period})`, kind: k, months: range(first, lastClosed) });
    }
    if (k === 'ytd' && lastClosed >= 0) out.push({ id: 'YTD', label: `YTD (to ${months[lastClosed].period})`, kind: k, months: range(0, lastClosed) });
    if (k === 'fy' && months.length) out.push({ id: 'FY', label: `Full year (${months[0].period} to ${months[months.length - 1].period})`, kind: k, months: range(0, months.length - 1) });
  }
  return out;
}

const n = (v) => (v === null || v === undefined || v === '' ? null : Number(v));
function sum(values) {
  let s = 0;
  for (const v of values) { if (v === null) return null; s += v; }
  return s;
}

// aggregate sums the months idx of a pivot row (its figure lists, one
// entry per month of months) into the measures of one column. The
// forecast is the actuals of the closed months plus the forecast of the
// open ones; its 80% interval treats the open months as independent
// (variances add), as the node view's year-to-date chart does; a month
// without a standard deviation (a derived metric's) adds none. A measure
// any month lacks is null ("—"), never a partial sum.
export function aggregate(months, row, idx) {
  const at = (list) => idx.map((i) => n(list[i]));
  const target = sum(at(row.target));
  const closed = idx.filter((i) => months[i].closed);
  const actual = closed.length ? sum(closed.map((i) => n(row.actual[i]))) : null;
  const le = sum(at(row.latest_estimate));
  const commit = sum(at(row.commit));
  let forecast = null;
  const mean = sum(idx.map((i) => n(months[i].closed ? row.actual[i] : row.forecast[i])));
  if (mean !== null) {
    let variance = 0;
    for (const i of idx) {
      const sd = months[i].closed ? null : n(row.std_dev[i]);
      if (sd !== null) variance += sd * sd;
    }
    const sd = Math.sqrt(variance);
    forecast = { mean, lo80: mean - z80 * sd, hi80: mean + z80 * sd };
  }
  const gap = target !== null && le !== null ? target - le : null;
  const varPct = target && le !== null ? ((le - target) / target) * 100 : null;
  return { target, actual, le, forecast, commit, gap, variance: varPct, p: null };
}

// ratioOf evaluates a derived ratio (100 × left / right) over one column
// from its operands' sums over that column (l and r, as aggregate answers
// them): the ratio of the sums, never a sum of the months' ratios. A
// figure whose denominator is zero or absent is null. The gap is in
// percentage points; variance % and P(target) are not defined (null).
export function ratioOf(l, r) {
  const q = (a, b) => (a === null || b === null || b === 0 ? null : (100 * a) / b);
  const target = q(l.target, r.target);
  const le = q(l.le, r.le);
  const mean = l.forecast && r.forecast ? q(l.forecast.mean, r.forecast.mean) : null;
  return {
    target, actual: q(l.actual, r.actual), le, commit: q(l.commit, r.commit),
    forecast: mean === null ? null : { mean, lo80: mean, hi80: mean },
    gap: target !== null && le !== null ? target - le : null, variance: null, p: null,
  };
}
