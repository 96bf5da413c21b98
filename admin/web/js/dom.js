// DOM building without innerHTML: every piece of data becomes a text node,
// so a display name such as "<script>" renders as text.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let fieldSeq = 0;
// A labelled input: <label for=id>text</label><input id=id …>.
export function field(labelText, attrs = {}) {
  const id = attrs.id || `f${++fieldSeq}`;
  const tag = attrs.tag || 'input';
  const a = { ...attrs, id };
  delete a.tag;
  const options = a.options;
  delete a.options;
  const input = h(tag, a, ...(options || []).map(([v, t]) => h('option', { value: v }, t)));
  if (options && attrs.value !== undefined) input.value = attrs.value;
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, labelText), input), input };
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function parseSize(s) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(s || '');
  if (!m) return null;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * mult);
}
