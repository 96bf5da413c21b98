// Mail-flow charts as inline SVG built with DOM calls (no library, no inline
// script or style: the CSP forbids both, and colours come from app.css
// classes). One group of bars per time bucket, one bar per series.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// A rounded-up axis maximum with 4 even steps.
function niceMax(v) {
  if (v <= 4) return 4;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return Math.ceil((m * mag) / 4) * 4;
  return v;
}

// buckets: [{start_ms, <series>: n}], series: [[key, label]], label(start_ms)
// gives the x-axis text. Returns a <figure> holding the <svg> and a legend.
export function barChart({ id, title, buckets, series, label, every = 1 }) {
  const W = 720, H = 240, left = 44, right = 8, top = 12, bottom = 36;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = niceMax(Math.max(0, ...buckets.flatMap((b) => series.map(([k]) => b[k] || 0))));
  const groupW = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, (groupW * 0.8) / series.length);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', 'aria-labelledby': `${id}-title` },
    svg('title', { id: `${id}-title` }, title));
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    root.append(svg('line', { x1: left, x2: W - right, y1: y, y2: y, class: 'grid' }),
      svg('text', { x: left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, (max * i) / 4));
  }
  buckets.forEach((b, i) => {
    const x0 = left + i * groupW + groupW * 0.1;
    series.forEach(([k, name], j) => {
      const v = b[k] || 0;
      const hgt = (plotH * v) / max;
      const rect = svg('rect', { x: x0 + j * barW, y: top + plotH - hgt, width: barW, height: hgt, class: `bar s-${k}` },
        svg('title', {}, `${label(b.start_ms)} — ${name}: ${v}`));
      root.append(rect);
    });
    if (i % every === 0) {
      root.append(svg('text', { x: left + i * groupW + groupW / 2, y: H - bottom + 16, class: 'axis', 'text-anchor': 'middle' },
        label(b.start_ms)));
    }
  });
  const legend = document.createElement('ul');
  legend.className = 'legend';
  for (const [k, name] of series) {
    const li = document.createElement('li');
    const sw = svg('svg', { viewBox: '0 0 10 10', class: 'swatch', 'aria-hidden': 'true' }, svg('rect', { width: 10, height: 10, class: `bar s-${k}` }));
    li.append(sw, ` ${name}: ${buckets.reduce((n, b) => n + (b[k] || 0), 0)}`);
    legend.append(li);
  }
  const fig = document.createElement('figure');
  fig.id = id;
  fig.className = 'chart-figure';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap, root, legend);
  return fig;
}
