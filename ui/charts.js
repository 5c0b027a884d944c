// charts.js - small inline SVG charts drawn by hand (no library): horizontal stacked bars
// and a sparkline. Each chart carries a text alternative (role="img" and aria-label) and the
// numbers are also printed next to the bars.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// rows: [{label, parts: [{name, value}]}]; series: [{name, cls}] in stacking order.
export function stackedBars(rows, series, { title, width = 460, fmt = String } = {}) {
  const rowH = 22;
  const labelW = 110;
  const valueW = 70;
  const barW = width - labelW - valueW;
  const legendH = 22;
  const height = rows.length * (rowH + 6) + legendH + 4;
  const max = Math.max(1, ...rows.map((r) => r.parts.reduce((a, p) => a + p.value, 0)));
  const desc = rows.map((r) => `${r.label}: ${r.parts.map((p) => `${p.value} ${p.name}`).join(', ')}`).join('; ');
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `${title}. ${desc}`, class: 'chart',
  });
  let x = labelW;
  series.forEach((se) => {
    svg.append(s('rect', { x, y: 4, width: 12, height: 12, class: se.cls }));
    svg.append(s('text', { x: x + 16, y: 14, class: 'chart-legend' }, se.name));
    x += 16 + se.name.length * 7 + 18;
  });
  rows.forEach((r, i) => {
    const y = legendH + i * (rowH + 6);
    svg.append(s('text', { x: labelW - 8, y: y + rowH * 0.7, 'text-anchor': 'end', class: 'chart-label' }, r.label));
    let bx = labelW;
    let total = 0;
    r.parts.forEach((p) => {
      const w = (p.value / max) * barW;
      const se = series.find((q) => q.name === p.name) || { cls: 'c0' };
      if (w > 0) {
        svg.append(s('rect', { x: bx, y, width: Math.max(w, 1), height: rowH, class: se.cls },
          s('title', {}, `${r.label}, ${p.name}: ${fmt(p.value)}`)));
      }
      bx += w;
      total += p.value;
    });
    svg.append(s('text', { x: bx + 6, y: y + rowH * 0.7, class: 'chart-value' }, fmt(total)));
  });
  return svg;
}

// A line over the last values with the current value printed; null values are gaps.
export function sparkline(values, { title, width = 220, height = 48, fmt = String, unit = '' } = {}) {
  const pad = 3;
  const nums = values.filter((v) => Number.isFinite(v));
  const max = Math.max(1e-9, ...nums);
  const last = nums.length ? nums[nums.length - 1] : null;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'chart spark',
    'aria-label': `${title}: ${last === null ? 'no data yet' : `${fmt(last)}${unit} now, at most ${fmt(max)}${unit} in the last ${nums.length} samples`}`,
  });
  svg.append(s('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'spark-axis' }));
  if (values.length > 1) {
    const step = (width - 2 * pad) / (values.length - 1);
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      const x = pad + i * step;
      const y = height - pad - (v / max) * (height - 2 * pad);
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)} `;
      pen = true;
    });
    if (d) svg.append(s('path', { d, class: 'spark-line' }));
  } else if (last !== null) {
    svg.append(s('circle', { cx: width - pad, cy: height - pad - (last / max) * (height - 2 * pad), r: 2.5, class: 'spark-dot' }));
  }
  return svg;
}
