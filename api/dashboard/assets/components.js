// Components: DOM helpers, number formats, an accessible table, an SVG
// heatmap and an SVG monthly chart with interval bands. No dependencies.

const SVG = 'http://www.w3.org/2000/svg';

// h builds an element: h('a', {href: '#'}, 'text', child, ...).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

const num = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

// amount formats a decimal string or number for display ('—' when absent).
export function amount(v) {
  if (v === null || v === undefined || v === '') return '—';
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? num.format(n) : '—';
}
export function short(v) {
  if (v === null || v === undefined) return '—';
  return compact.format(Number(v));
}
export function percent(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  return `${(p * 100).toFixed(p > 0.995 || p < 0.005 ? 1 : 0)}%`;
}

// probabilityColour maps a probability to a fill with AA contrast for the
// text drawn on it (dark text on light fills only).
export function probabilityColour(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return '#e8e8e8';
  // red (low) → amber → green (high), light tints.
  const stops = [[0, [244, 180, 170]], [0.5, [250, 224, 150]], [1, [170, 220, 180]]];
  let i = 0;
  while (i < stops.length - 2 && p > stops[i + 1][0]) i++;
  const [p0, c0] = stops[i];
  const [p1, c1] = stops[i + 1];
  const t = Math.min(1, Math.max(0, (p - p0) / (p1 - p0)));
  const c = c0.map((x, k) => Math.round(x + (c1[k] - x) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

// table renders columns [{key, label, render?, numeric?}] over rows; the
// first column is the row header. caption is required (accessibility).
export function table({ caption, columns, rows, rowClass }) {
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)));
  const body = rows.map((r) => h('tr', { class: rowClass ? rowClass(r) : null },
    columns.map((c, i) => {
      const content = c.render ? c.render(r) : r[c.key];
      return i === 0
        ? h('th', { scope: 'row' }, content)
        : h('td', { class: c.numeric ? 'num' : null }, content);
    })));
  return h('table', { class: 'data' }, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, body));
}

// heatmap draws rows × columns of probabilities as an SVG grid with a
// text label per cell and a title per cell for the exact figures.
export function heatmap({ title, rowLabels, colLabels, value, label }) {
  const cw = 104; const ch = 34; const left = 150; const top = 44;
  const width = left + cw * colLabels.length + 8;
  const height = top + ch * rowLabels.length + 8;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': title, class: 'heatmap' });
  svg.append(s('title', {}, title));
  colLabels.forEach((c, j) => svg.append(s('text', { x: left + cw * j + cw / 2, y: top - 12, 'text-anchor': 'middle', class: 'axis' }, c)));
  rowLabels.forEach((r, i) => {
    svg.append(s('text', { x: left - 8, y: top + ch * i + ch / 2 + 4, 'text-anchor': 'end', class: 'axis' }, r));
    colLabels.forEach((_, j) => {
      const v = value(i, j);
      const g = s('g', { class: 'cell' });
      g.append(s('rect', { x: left + cw * j + 1, y: top + ch * i + 1, width: cw - 2, height: ch - 2, rx: 3, fill: probabilityColour(v) }));
      g.append(s('text', { x: left + cw * j + cw / 2, y: top + ch * i + ch / 2 + 4, 'text-anchor': 'middle', class: 'value' }, percent(v)));
      g.append(s('title', {}, label(i, j)));
      svg.append(g);
    });
  });
  return svg;
}

// chart draws monthly series: bands [{lo, hi, cls, label}] and lines
// [{values, cls, label, dashed}] over labels (periods). Values may be null.
export function chart({ title, labels, bands, lines, closedThrough }) {
  const W = 760; const H = 320; const L = 64; const R = 16; const T = 16; const B = 40;
  const all = [];
  bands.forEach((b) => { b.lo.forEach((v) => v !== null && all.push(v)); b.hi.forEach((v) => v !== null && all.push(v)); });
  lines.forEach((l) => l.values.forEach((v) => v !== null && v !== undefined && all.push(Number(v))));
  let lo = Math.min(0, ...all); let hi = Math.max(1, ...all);
  hi += (hi - lo) * 0.05;
  const x = (i) => L + (labels.length === 1 ? 0 : (i * (W - L - R)) / (labels.length - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(s('title', {}, title));
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, short(v)));
  }
  labels.forEach((p, i) => svg.append(s('text', { x: x(i), y: H - B + 18, 'text-anchor': 'middle', class: 'axis' }, p.slice(2))));
  if (closedThrough) {
    const i = labels.indexOf(closedThrough);
    if (i >= 0 && i < labels.length - 1) {
      const xm = (x(i) + x(i + 1)) / 2;
      svg.append(s('line', { x1: xm, x2: xm, y1: T, y2: H - B, class: 'closed-line' }));
      svg.append(s('text', { x: xm + 4, y: T + 12, class: 'axis' }, 'closed | open'));
    }
  }
  for (const b of bands) {
    const idx = labels.map((_, i) => i).filter((i) => b.lo[i] !== null && b.hi[i] !== null);
    if (!idx.length) continue;
    const d = idx.map((i, k) => `${k ? 'L' : 'M'}${x(i)},${y(b.hi[i])}`).join('')
      + idx.slice().reverse().map((i) => `L${x(i)},${y(b.lo[i])}`).join('') + 'Z';
    svg.append(s('path', { d, class: `band ${b.cls}` }));
  }
  for (const l of lines) {
    let d = ''; let pen = false;
    l.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i)},${y(Number(v))}`; pen = true;
    });
    svg.append(s('path', { d, class: `line ${l.cls}` }));
    l.values.forEach((v, i) => { if (v !== null && v !== undefined) svg.append(s('circle', { cx: x(i), cy: y(Number(v)), r: 2.5, class: `dot ${l.cls}` })); });
  }
  const legend = h('ul', { class: 'legend' },
    bands.map((b) => h('li', {}, h('span', { class: `swatch band ${b.cls}`, 'aria-hidden': 'true' }), b.label)),
    lines.map((l) => h('li', {}, h('span', { class: `swatch line ${l.cls}`, 'aria-hidden': 'true' }), l.label)));
  return h('figure', { class: 'chart' }, svg, h('figcaption', {}, title), legend);
}
