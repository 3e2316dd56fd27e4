// Structured outputs drawn with plain DOM: tree (and generic JSON, both
// collapsible with <details>), diff, timeline, gantt, and the fallback
// for types without a native renderer.
import { el, clear, isObject, toNum, textOf, clip, listOf, bad, jsonOf, safeColour } from "./util.js";

const MAX_NODES = 5000;
const MAX_DEPTH = 64;

// A named tree node {name, meta?, children?}.
function isNamedNode(v) {
  return isObject(v) && (typeof v.name === "string" || typeof v.label === "string");
}

function namedTree(node, budget, depth) {
  budget.n++;
  const name = clip(textOf(node.name ?? node.label ?? ""), 2000);
  const label = [el("span", { class: "pxr-tree__name" }, name)];
  if (node.meta !== undefined && node.meta !== null) label.push(el("span", { class: "pxr-tree__meta" }, clip(textOf(node.meta), 2000)));
  else if (node.value !== undefined && node.value !== null) label.push(el("span", { class: "pxr-tree__meta" }, clip(textOf(node.value), 2000)));
  const kids = Array.isArray(node.children) ? node.children : [];
  if (!kids.length) return el("li", { class: "pxr-tree__leaf" }, label);
  const list = el("ul");
  for (const c of kids) {
    if (budget.n >= MAX_NODES || depth >= MAX_DEPTH) { list.appendChild(el("li", { class: "pxr-note" }, "… (more not shown)")); break; }
    list.appendChild(isNamedNode(c) ? namedTree(c, budget, depth + 1) : jsonNode(null, c, budget, depth + 1));
  }
  return el("li", null, el("details", { open: depth < 2 }, el("summary", null, label), list));
}

// Any JSON value as a collapsible tree; key is the property name or index.
function jsonNode(key, v, budget, depth) {
  budget.n++;
  const keyEl = key === null ? null : el("span", { class: "pxr-tree__key" }, clip(String(key), 500));
  if (v === null || typeof v !== "object") {
    const cls = v === null ? "null" : typeof v;
    const shown = typeof v === "string" ? JSON.stringify(clip(v, 20000)) : String(v);
    return el("li", { class: "pxr-tree__leaf" }, keyEl, el("span", { class: `pxr-tree__val pxr-tree__val--${cls}` }, shown));
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  const summary = el("summary", null, keyEl,
    el("span", { class: "pxr-tree__meta" }, Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`));
  const list = el("ul");
  for (const [k, x] of entries) {
    if (budget.n >= MAX_NODES || depth >= MAX_DEPTH) { list.appendChild(el("li", { class: "pxr-note" }, "… (more not shown)")); break; }
    list.appendChild(jsonNode(k, x, budget, depth + 1));
  }
  return el("li", null, el("details", { open: depth < 2 }, summary, list));
}

export function tree(root) {
  const box = el("div", { class: "pxr-tree" });
  const bar = el("div", { class: "pxr-tree__bar" });
  const expand = el("button", { type: "button", class: "pxr-btn" }, "Expand all");
  const collapse = el("button", { type: "button", class: "pxr-btn" }, "Collapse all");
  expand.addEventListener("click", () => box.querySelectorAll("details").forEach((d) => { d.open = true; }));
  collapse.addEventListener("click", () => box.querySelectorAll("details").forEach((d) => { d.open = false; }));
  bar.append(expand, collapse);
  root.append(bar, box);
  return {
    update(v) {
      const top = isObject(v) && "root" in v ? v.root : v;
      const budget = { n: 0 };
      const ul = el("ul", { class: "pxr-tree__root" });
      const nodes = Array.isArray(top) && top.every(isNamedNode) ? top : [top];
      for (const n of nodes) ul.appendChild(isNamedNode(n) ? namedTree(n, budget, 0) : jsonNode(null, n, budget, 0));
      box.replaceChildren(ul);
    },
  };
}

// Line diff: common prefix/suffix trimmed, then an LCS table when small
// enough, else the middle shown as removed then added.
function lineDiff(a, b) {
  const A = a.split("\n"), B = b.split("\n");
  let s = 0;
  while (s < A.length && s < B.length && A[s] === B[s]) s++;
  let ea = A.length, eb = B.length;
  while (ea > s && eb > s && A[ea - 1] === B[eb - 1]) { ea--; eb--; }
  const out = [];
  for (let i = 0; i < s; i++) out.push([" ", A[i]]);
  const ma = A.slice(s, ea), mb = B.slice(s, eb);
  if (ma.length * mb.length <= 4000000) {
    const n = ma.length, m = mb.length;
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) {
      L[i][j] = ma[i] === mb[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    }
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (ma[i] === mb[j]) { out.push([" ", ma[i]]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) out.push(["-", ma[i++]]);
      else out.push(["+", mb[j++]]);
    }
    while (i < n) out.push(["-", ma[i++]]);
    while (j < m) out.push(["+", mb[j++]]);
  } else {
    for (const x of ma) out.push(["-", x]);
    for (const x of mb) out.push(["+", x]);
  }
  for (let i = ea; i < A.length; i++) out.push([" ", A[i]]);
  return out;
}

const DIFF_CLASS = { "+": "pxr-diff__add", "-": "pxr-diff__del", " ": "pxr-diff__same", "@": "pxr-diff__hunk" };

export function diff(root) {
  const pre = el("pre", { class: "pxr-diff" });
  root.appendChild(pre);
  return {
    update(v) {
      let lines;
      if (typeof v === "string") {
        lines = clip(v).split("\n").map((l) => [l[0] === "+" || l[0] === "-" || l[0] === "@" ? l[0] : " ", l, true]);
      } else if (isObject(v)) {
        const before = v.before ?? v.old ?? v.a, after = v.after ?? v.new ?? v.b;
        if (typeof v.diff === "string" || typeof v.unified === "string") return this.update(v.diff ?? v.unified);
        if (typeof before !== "string" || typeof after !== "string") bad("expected {before, after} strings");
        lines = lineDiff(clip(before, 500000), clip(after, 500000));
      } else bad("expected {before, after}");
      const frag = document.createDocumentFragment();
      for (const [op, text, raw] of lines.slice(0, 20000)) {
        frag.appendChild(el("span", { class: DIFF_CLASS[op] }, raw ? text : `${op} ${text}`));
      }
      pre.replaceChildren(frag);
    },
  };
}

export function timeline(root) {
  const ol = el("ol", { class: "pxr-timeline" });
  root.appendChild(ol);
  return {
    update(v) {
      const events = listOf(v, "events", "items");
      if (!events) bad("expected {events: [...]}");
      clear(ol);
      for (const ev of events.slice(0, 5000)) {
        const e = isObject(ev) ? ev : { title: ev };
        const t = e.t ?? e.time ?? e.date ?? e.at ?? e.start ?? "";
        const title = e.title ?? e.label ?? e.name ?? "";
        const desc = e.description ?? e.desc ?? e.detail ?? "";
        ol.appendChild(el("li", { class: "pxr-timeline__event" },
          el("div", { class: "pxr-timeline__t" }, clip(textOf(t), 200)),
          el("div", { class: "pxr-timeline__title" }, clip(textOf(title), 2000)),
          desc !== "" && desc !== null ? el("div", { class: "pxr-timeline__desc" }, clip(textOf(desc), 20000)) : null));
      }
    },
  };
}

function timeOf(x) {
  const n = toNum(x);
  if (n !== null) return { t: n, date: false };
  if (typeof x === "string") {
    const d = Date.parse(x);
    if (!Number.isNaN(d)) return { t: d, date: true };
  }
  return null;
}

export function gantt(root) {
  const box = el("div", { class: "pxr-gantt" });
  root.appendChild(box);
  return {
    update(v) {
      const tasks = listOf(v, "tasks");
      if (!tasks) bad("expected {tasks: [...]}");
      const items = [];
      let dates = false;
      for (const task of tasks.slice(0, 2000)) {
        if (!isObject(task)) bad("expected tasks {name, start, end}");
        const s = timeOf(task.start), e = timeOf(task.end ?? task.finish);
        if (!s || !e) bad("expected tasks with start and end");
        dates = dates || s.date;
        items.push({ task, s: s.t, e: Math.max(s.t, e.t) });
      }
      clear(box);
      if (!items.length) { box.appendChild(el("div", { class: "pxr-empty" }, "No tasks")); return; }
      const min = Math.min(...items.map((i) => i.s)), max = Math.max(...items.map((i) => i.e));
      const span = Math.max(max - min, 1e-9);
      for (const { task, s, e } of items) {
        const name = clip(textOf(task.name ?? task.title ?? task.id ?? ""), 500);
        const bar = el("div", { class: "pxr-gantt__bar", title: `${name}: ${textOf(task.start)} – ${textOf(task.end ?? task.finish)}` },
          clip(textOf(task.label ?? ""), 200));
        bar.style.left = `${((s - min) / span) * 100}%`;
        bar.style.width = `${Math.max(0.5, ((e - s) / span) * 100)}%`;
        const colour = safeColour(task.colour ?? task.color, null);
        if (colour) bar.style.background = colour;
        box.appendChild(el("div", { class: "pxr-gantt__row" },
          el("div", { class: "pxr-gantt__name" }, name), el("div", { class: "pxr-gantt__track" }, bar)));
      }
      const fmt = (t) => (dates ? new Date(t).toISOString().slice(0, 10) : String(Math.round(t * 100) / 100));
      box.appendChild(el("div", { class: "pxr-gantt__row" }, el("div"),
        el("div", { class: "pxr-gantt__axis" }, el("span", null, fmt(min)), el("span", null, fmt(min + span / 2)), el("span", null, fmt(max)))));
    },
  };
}

// Types with no native renderer: the type named, arrays of objects as
// tables, the rest as formatted JSON.
function smallTable(caption, list) {
  const keys = [];
  for (const r of list.slice(0, 100)) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const t = el("table", { class: "pxr-table" }, el("caption", null, caption),
    el("thead", null, el("tr", null, keys.slice(0, 50).map((k) => el("th", { scope: "col" }, k)))));
  const body = el("tbody");
  for (const r of list.slice(0, 500)) body.appendChild(el("tr", null, keys.slice(0, 50).map((k) => el("td", null, clip(textOf(r[k]), 2000)))));
  t.appendChild(body);
  return el("div", { class: "pxr-table__scroll" }, t);
}

export function fallback(root, spec, type) {
  return {
    update(v) {
      clear(root);
      root.appendChild(el("p", { class: "pxr-note" }, `${type}: shown as data (no chart for this type here)`));
      const rest = {};
      let tables = 0;
      const entries = Array.isArray(v) ? [[type, v]] : isObject(v) ? Object.entries(v) : [];
      for (const [k, x] of entries) {
        if (Array.isArray(x) && x.length && x.every(isObject)) {
          root.appendChild(smallTable(k, x));
          tables++;
        } else rest[k] = x;
      }
      if (!tables) root.appendChild(el("pre", { class: "pxr-json" }, jsonOf(v)));
      else if (Object.keys(rest).length) root.appendChild(el("pre", { class: "pxr-json" }, jsonOf(rest)));
    },
  };
}
