// Small DOM helpers shared by the pages. Text always goes in as text nodes
// (never innerHTML), so tool-supplied strings cannot become markup.

// h(tag, attrs?, ...children): attrs keys are attributes, except `class`,
// `text` (textContent), `on<event>` (listeners) and `dataset`; children are
// nodes, strings or arrays of them (null/false skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    else if (k === "text") el.textContent = String(v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

// Appends children (nodes, strings, nested arrays; null/false skipped).
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces every child of el.
export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// A unique id for a generated element: prefix + a sanitised key.
const used = new Set();
export function uid(prefix, key) {
  const base = `${prefix}-${String(key).replace(/[^A-Za-z0-9_-]/g, "_")}`;
  let id = base;
  for (let n = 2; used.has(id) || document.getElementById(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

// "1.2 KB"
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

// A time stamp (seconds or ms since the epoch, or ISO text) as local text.
export function fmtTime(t) {
  if (t === null || t === undefined || t === "") return "";
  let d;
  if (typeof t === "number") d = new Date(t < 1e12 ? t * 1000 : t);
  else d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

// "850 ms" / "2.4 s"
export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return "";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// A number input element's value: undefined when empty, NaN when unreadable.
export function readNumber(el) {
  if (el.value === "") return el.validity && el.validity.badInput ? NaN : undefined;
  return Number(el.value);
}
