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

// escapeHTML makes text safe to write into HTML, in text or in a quoted
// attribute value.
export function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
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

// niceTicks returns about n round values (1, 2, 2.5 or 5 × 10^k apart)
// spanning lo..hi.
export function niceTicks(lo, hi, n) {
  const raw = (hi - lo) / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((st) => st >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// monthLabel turns '2027-04' into 'Apr 27'.
export function monthLabel(p) {
  const [y, m] = p.split('-');
  return `${monthNames[Number(m) - 1]} ${y.slice(2)}`;
}

// chart draws monthly series on one time axis: bands [{lo, hi, cls,
// label}] and lines [{values, cls, label}] over labels (periods); values
// may be null. Months up to closedThrough are shaded as closed. The y-axis
// is fitted to the data (not from zero), lines are drawn in the order
// given (the last on top), and only lines marked dots get point markers.
// Lines marked end carry their last value at the right edge (labels kept
// apart), and note, when given, is a sentence under the legend.
export function chart({ title, caption, labels, bands: givenBands, lines: given, closedThrough, note }) {
  const some = (vs) => vs.some((v) => v !== null && v !== undefined);
  const lines = given.filter((l) => some(l.values)); // a series without values has no legend either
  const bands = givenBands.filter((b) => some(b.lo) && some(b.hi)); // nor a band (a derived metric has none)
  const ends = lines.some((l) => l.end);
  const W = 960; const H = 300; const L = 76; const R = ends ? 84 : 12; const T = 12; const B = 34;
  const all = [];
  const push = (v) => { if (v !== null && v !== undefined && Number.isFinite(Number(v))) all.push(Number(v)); };
  bands.forEach((b) => { b.lo.forEach(push); b.hi.forEach(push); });
  lines.forEach((l) => l.values.forEach(push));
  let lo = all.length ? Math.min(...all) : 0; let hi = all.length ? Math.max(...all) : 1;
  if (hi === lo) { hi += 1; lo -= 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const ticks = niceTicks(lo, hi, 5);
  lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
  const step = (W - L - R) / Math.max(1, labels.length);
  const x = (i) => L + step * (i + 0.5);
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(s('title', {}, title));
  const closed = closedThrough ? labels.filter((p) => p <= closedThrough).length : 0;
  if (closed > 0) {
    svg.append(s('rect', { x: L, y: T, width: step * closed, height: H - T - B, class: 'closed-area' }));
    svg.append(s('text', { x: L + 6, y: H - B - 6, class: 'axis' }, 'closed: actuals'));
    if (closed < labels.length) svg.append(s('text', { x: L + step * closed + 6, y: H - B - 6, class: 'axis' }, 'open: forecast'));
  }
  for (const v of ticks) {
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, short(Math.abs(v) < 1e-9 * (hi - lo) ? 0 : v)));
  }
  const every = Math.ceil(labels.length / 13); // at most about 13 month labels
  labels.forEach((p, i) => { if (i % every === 0) svg.append(s('text', { x: x(i), y: H - B + 18, 'text-anchor': 'middle', class: 'axis' }, monthLabel(p))); });
  for (const b of bands) {
    const idx = labels.map((_, i) => i).filter((i) => b.lo[i] !== null && b.lo[i] !== undefined && b.hi[i] !== null && b.hi[i] !== undefined);
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
    if (l.dots) l.values.forEach((v, i) => { if (v !== null && v !== undefined) svg.append(s('circle', { cx: x(i), cy: y(Number(v)), r: 3, class: `dot ${l.cls}` })); });
  }
  // End labels: each line's last value, nudged apart (14 px) from the top.
  const tags = lines.filter((l) => l.end).map((l) => {
    const i = l.values.findLastIndex((v) => v !== null && v !== undefined);
    return { l, v: Number(l.values[i]), x: x(i), y: y(Number(l.values[i])) };
  }).sort((a, b) => a.y - b.y);
  tags.forEach((t, k) => { if (k && t.y < tags[k - 1].y + 14) t.y = tags[k - 1].y + 14; });
  for (const t of tags) svg.append(s('text', { x: t.x + 8, y: t.y + 4, class: `end ${t.l.cls}`, 'data-series': t.l.cls }, amount(t.v)));
  const legend = h('ul', { class: 'legend' },
    bands.map((b) => h('li', {}, h('span', { class: `swatch band ${b.cls}`, 'aria-hidden': 'true' }), b.label)),
    lines.map((l) => h('li', {}, h('span', { class: `swatch line ${l.cls}`, 'aria-hidden': 'true' }), l.label)));
  return h('figure', { class: 'chart' }, h('figcaption', {}, caption || title), svg, legend, note ? h('p', { class: 'chart-note' }, note) : null);
}

// nodePicker is a combobox that finds a node by the names of its members
// in any dimension ("industrial dach" finds Industrial × DACH): catalog is
// [{node, label}]. Arrow keys move through the matches, Enter picks one.
export function nodePicker({ id, label, catalog, value, onpick, placeholder, blank }) {
  const list = h('ul', { id: `${id}-list`, role: 'listbox', class: 'picker-list', 'aria-label': `${label}: matches` });
  const current = catalog.find((c) => c.node === value);
  const input = h('input', {
    id, type: 'text', role: 'combobox', autocomplete: 'off', 'aria-autocomplete': 'list', 'aria-expanded': 'false',
    'aria-controls': list.id, value: blank && !value ? '' : current ? current.label : (value || ''), placeholder: placeholder || 'type a name, e.g. industrial dach',
  });
  input.dataset.node = value || '';
  // resolveNode answers the node picked, or the one whose name or text was
  // typed in full, or else the text itself (for the server to judge).
  input.resolveNode = () => {
    const t = input.value.trim();
    const hit = catalog.find((c) => c.node === input.dataset.node && c.label === t)
      || catalog.find((c) => c.node === t || c.label.toLowerCase() === t.toLowerCase());
    return hit ? hit.node : t;
  };
  let matches = []; let active = -1;
  const close = () => { list.replaceChildren(); list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; };
  const pick = (m) => { input.value = m.label; input.dataset.node = m.node; close(); if (onpick) onpick(m.node, m); };
  const mark = () => [...list.children].forEach((li, k) => {
    li.setAttribute('aria-selected', String(k === active));
    if (k === active) { input.setAttribute('aria-activedescendant', li.id); li.scrollIntoView({ block: 'nearest' }); }
  });
  const search = () => {
    const words = input.value.toLowerCase().split(/[\s×,;=]+/).filter(Boolean);
    matches = catalog.filter((c) => words.every((w) => c.label.toLowerCase().includes(w) || c.node.toLowerCase().includes(w)))
      .sort((a, b) => a.label.split('×').length - b.label.split('×').length || a.label.localeCompare(b.label)).slice(0, 12);
    list.replaceChildren(...matches.map((m, k) => h('li', { id: `${id}-opt-${k}`, role: 'option', 'aria-selected': 'false', 'data-node': m.node,
      onmousedown: (e) => { e.preventDefault(); pick(m); } }, m.label)));
    list.hidden = !matches.length; active = -1;
    input.setAttribute('aria-expanded', String(matches.length > 0));
  };
  input.addEventListener('input', () => { input.dataset.node = ''; search(); });
  input.addEventListener('focus', () => { input.select(); if (!input.dataset.node) search(); });
  input.addEventListener('blur', () => setTimeout(close, 0));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (list.hidden) search();
      if (!matches.length) return;
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : -1) + matches.length) % matches.length;
      mark();
    } else if (e.key === 'Enter' && !list.hidden && matches.length) {
      e.preventDefault();
      pick(matches[Math.max(0, active)]);
    } else if (e.key === 'Escape') close();
  });
  list.hidden = true;
  return h('div', { class: 'field picker' }, h('label', { for: id }, label), input, list);
}

// virtualRows writes into body (a tbody) only the rows of a long table that
// are in view in scroller (the table's scrolling box, whose header is
// sticky) and overscan more above and below; two empty spacer rows stand
// for the height of the others, so a table of thousands of rows costs the
// browser the parse and layout of a screenful. Every row has one height
// (rows do not wrap); it is measured from the rows written. count is the
// number of rows, rowHTML(i) the HTML of the i-th (one <tr>, which should
// carry aria-rowindex), columns the cells a row spans. The rows are
// rewritten on scroll and resize, at most once an animation frame, and
// only at the ends: a row still in view is kept, with the focus in it; a
// focused row scrolled out gives the focus to scroller (focusable, so
// arrow and Page keys scroll it). The columns keep the widths the browser
// gives them with the first rows written (table-layout: fixed from then
// on, at least minWidths[k], a CSS length, for column k): they do not
// change as rows scroll into view.
export function virtualRows({ scroller, body, count, rowHTML, columns, overscan = 10, initial = 40, minWidths = [] }) {
  const spacer = () => h('tr', { class: 'spacer', 'aria-hidden': 'true', hidden: true }, h('td', { colspan: columns }));
  const above = spacer();
  const below = spacer();
  body.replaceChildren(above, below);
  let first = 0; let last = 0; // the rows written: [first, last)
  let pitch = 0; // a row's height, measured
  const html = (a, b) => { let t = ''; for (let i = a; i < b; i++) t += rowHTML(i); return t; };
  const drop = (n, from) => {
    for (let k = 0; k < n; k++) {
      const r = from === 'start' ? above.nextElementSibling : below.previousElementSibling;
      if (r.contains(document.activeElement)) scroller.focus({ preventScroll: true });
      r.remove();
    }
  };
  const write = (a, b) => {
    if (b <= first || a >= last) {
      drop(last - first, 'start');
      below.insertAdjacentHTML('beforebegin', html(a, b));
    } else {
      if (a > first) drop(a - first, 'start');
      if (b < last) drop(last - b, 'end');
      if (a < first) above.insertAdjacentHTML('afterend', html(a, first));
      if (b > last) below.insertAdjacentHTML('beforebegin', html(last, b));
    }
    first = a; last = b;
    spaced();
  };
  const spaced = () => {
    above.hidden = first === 0 || !pitch;
    below.hidden = last === count || !pitch;
    above.firstChild.style.height = `${first * pitch}px`;
    below.firstChild.style.height = `${(count - last) * pitch}px`;
  };
  const table = body.parentElement;
  let fixed = false;
  const fix = () => {
    fixed = true;
    if (!table.tHead) return;
    const head = table.tHead.rows[table.tHead.rows.length - 1];
    const widths = [...head.cells].map((c) => c.getBoundingClientRect().width);
    table.querySelector(':scope > colgroup')?.remove();
    table.tHead.before(h('colgroup', {}, widths.map((w, k) => h('col', { style: `width:${minWidths[k] ? `max(${w}px, ${minWidths[k]})` : `${w}px`}` }))));
    table.style.tableLayout = 'fixed';
  };
  const update = () => {
    if (!scroller.isConnected) { resized.disconnect(); return; } // the view was replaced
    if (!scroller.clientHeight || last <= first) return;
    if (!fixed) fix();
    const a = above.nextElementSibling.getBoundingClientRect();
    const b = below.previousElementSibling.getBoundingClientRect();
    const measured = (b.bottom - a.top) / (last - first);
    if (measured > 0 && Math.abs(measured - pitch) > 0.01) { pitch = measured; spaced(); }
    if (!pitch) return;
    const box = scroller.getBoundingClientRect();
    const top = body.getBoundingClientRect().top - box.top + scroller.scrollTop; // the first row's place in the scrolled content
    const head = table.tHead ? table.tHead.offsetHeight : 0; // under the sticky header: not in view
    const from = Math.max(0, Math.floor((scroller.scrollTop + head - top) / pitch));
    const to = Math.ceil((scroller.scrollTop + scroller.clientHeight - top) / pitch);
    const lo = Math.min(count, Math.max(0, from - overscan));
    const hi = Math.min(count, Math.max(lo + 1, to + overscan));
    if (lo !== first || hi !== last) write(lo, hi);
  };
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; update(); });
  };
  const resized = new ResizeObserver(schedule);
  write(0, Math.min(count, initial));
  scroller.addEventListener('scroll', schedule, { passive: true });
  resized.observe(scroller);
}

// downloadTable saves exactly the rows and columns shown as RFC 4180 CSV.
export function downloadTable(filename, header, rows) {
  const cell = (v) => { const t = v === null || v === undefined ? '' : String(v); return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t; };
  const text = [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  a.download = filename;
  document.body.append(a); a.click(); a.remove();
  URL.revokeObjectURL(a.href);
}
