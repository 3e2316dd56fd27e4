// table: {columns: [{key, label, type}], rows: [{key: value} | [values]]}
// or an array of row objects; spec.columns, when given, name the columns.
// Click a header to sort (again to reverse); "Download CSV" is a Blob link.
import { el, clear, isObject, toNum, textOf, clip, listOf, bad, downloadLink } from "./util.js";
import { formatNumber } from "./basic.js";

const MAX_ROWS = 1000; // rows put in the DOM (all are sorted and downloaded)
const MAX_COLS = 200;

function columnsOf(spec, v, rows) {
  let cols = Array.isArray(spec.columns) && spec.columns.length ? spec.columns
    : isObject(v) && Array.isArray(v.columns) && v.columns.length ? v.columns : null;
  if (cols) {
    cols = cols.map((c, i) => {
      if (typeof c === "string") return { key: c, label: c, type: "text", index: i };
      if (isObject(c)) {
        const key = typeof c.key === "string" || typeof c.key === "number" ? String(c.key) : String(i);
        return { key, label: textOf(c.label ?? c.name ?? key), type: typeof c.type === "string" ? c.type : "text", index: i };
      }
      bad("expected columns of {key, label}");
    });
  } else {
    const keys = [];
    const seen = new Set();
    for (const r of rows.slice(0, 100)) {
      if (Array.isArray(r)) {
        for (let i = keys.length; i < r.length; i++) keys.push(String(i));
      } else if (isObject(r)) {
        for (const k of Object.keys(r)) if (!seen.has(k)) { seen.add(k); keys.push(k); }
      }
    }
    cols = keys.map((k, i) => ({ key: k, label: k, type: "text", index: i }));
  }
  return cols.slice(0, MAX_COLS);
}

function cell(row, col) {
  if (Array.isArray(row)) return row[col.index];
  if (isObject(row)) return row[col.key];
  return col.index === 0 ? row : undefined;
}

function show(v, type) {
  if (v === null || v === undefined) return "";
  const n = toNum(v);
  if (n !== null && typeof v === "number") {
    if (type === "currency") return formatNumber(n, { format: "currency" });
    if (type === "percent") return formatNumber(n, { format: "percent" });
    return formatNumber(n, { format: "decimal" });
  }
  if (type === "date" && typeof v === "string") {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d.toLocaleDateString();
  }
  return clip(textOf(v), 10000);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  const na = toNum(a), nb = toNum(b);
  if (na !== null && nb !== null) return na - nb;
  return textOf(a).localeCompare(textOf(b), undefined, { numeric: true });
}

function csvField(v) {
  let s = v === null || v === undefined ? "" : textOf(v);
  if (/^[=+\-@\t\r]/.test(s) && toNum(s) === null) s = "'" + s; // no formulas in spreadsheets
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function table(root, spec) {
  const tableEl = el("table", { class: "pxr-table" });
  const bar = el("div", { class: "pxr-table__bar" });
  root.appendChild(el("div", { class: "pxr-table__scroll" }, tableEl));
  root.appendChild(bar);
  let sortKey = null;
  let sortDir = 1;
  let cols = [];
  let rows = [];
  let csvUrl = null;

  function draw() {
    const thead = el("thead");
    const tr = el("tr");
    for (const c of cols) {
      const dir = sortKey === c.key ? (sortDir > 0 ? "ascending" : "descending") : "none";
      const th = el("th", { scope: "col", "aria-sort": dir, tabindex: "0", "data-key": c.key }, c.label);
      const click = () => {
        sortDir = sortKey === c.key ? -sortDir : 1;
        sortKey = c.key;
        draw();
      };
      th.addEventListener("click", click);
      th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); click(); } });
      tr.appendChild(th);
    }
    thead.appendChild(tr);
    let order = rows;
    if (sortKey !== null) {
      const col = cols.find((c) => c.key === sortKey);
      if (col) order = rows.slice().sort((a, b) => sortDir * compare(cell(a, col), cell(b, col)));
    }
    const tbody = el("tbody");
    for (const r of order.slice(0, MAX_ROWS)) {
      const row = el("tr");
      for (const c of cols) {
        const v = cell(r, c);
        row.appendChild(el("td", { class: typeof v === "number" ? "pxr-num" : null }, show(v, c.type)));
      }
      tbody.appendChild(row);
    }
    tableEl.replaceChildren(thead, tbody);
  }

  function drawBar() {
    clear(bar);
    bar.appendChild(el("span", { class: "pxr-table__count" },
      rows.length > MAX_ROWS ? `showing ${MAX_ROWS} of ${rows.length} rows` : `${rows.length} row${rows.length === 1 ? "" : "s"}`));
    const lines = [cols.map((c) => csvField(c.label)).join(",")];
    for (const r of rows) lines.push(cols.map((c) => csvField(cell(r, c))).join(","));
    if (csvUrl) URL.revokeObjectURL(csvUrl);
    const name = (typeof spec.key === "string" && /^[A-Za-z0-9._-]{1,100}$/.test(spec.key) ? spec.key : "table") + ".csv";
    const a = downloadLink("Download CSV", name, [lines.join("\r\n") + "\r\n"], "text/csv;charset=utf-8");
    csvUrl = a.href;
    bar.appendChild(a);
  }

  return {
    update(v) {
      const list = listOf(v, "rows", "data");
      if (!list) bad("expected {columns, rows}");
      rows = list;
      cols = columnsOf(spec, v, rows);
      draw();
      drawBar();
    },
  };
}
