// Renderers of the simple output types: text, number, boolean, kv,
// progress, stream_text, log, file. Each factory(root, spec) returns
// {update(value)} and throws BadValue for a value of the wrong shape.
import {
  el, append, clear, isObject, toNum, clip, textOf, unwrap, listOf, bad,
  MAX_TEXT, decodeDataUrl, downloadLink, urlKind,
} from "./util.js";

function scalarText(v) {
  v = unwrap(v);
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  bad("expected a string");
}

export function text(root) {
  const pre = el("div", { class: "pxr-text" });
  root.appendChild(pre);
  return {
    update(v) {
      pre.textContent = clip(scalarText(v));
    },
  };
}

// Formats n by the output's format / precision / unit (SPEC §2 number).
export function formatNumber(n, spec) {
  const p = Number.isInteger(spec.precision) && spec.precision >= 0 ? Math.min(spec.precision, 20) : null;
  const unit = typeof spec.unit === "string" ? spec.unit : "";
  let s;
  switch (spec.format) {
    case "currency": {
      const code = /^[A-Za-z]{3}$/.test(unit) ? unit.toUpperCase() : "GBP";
      const digits = p === null ? 2 : p;
      s = new Intl.NumberFormat(undefined, {
        style: "currency", currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits,
      }).format(n);
      if (unit && !/^[A-Za-z]{3}$/.test(unit)) s = s + " " + unit;
      return s;
    }
    case "percent":
      s = new Intl.NumberFormat(undefined, {
        style: "percent", maximumFractionDigits: p === null ? 1 : p, minimumFractionDigits: p === null ? 0 : p,
      }).format(n);
      break;
    case "scientific":
      s = new Intl.NumberFormat(undefined, {
        notation: "scientific", maximumFractionDigits: p === null ? 3 : p, minimumFractionDigits: p === null ? 0 : p,
      }).format(n);
      break;
    default:
      s = new Intl.NumberFormat(undefined, {
        maximumFractionDigits: p === null ? 6 : p, minimumFractionDigits: p === null ? 0 : p,
      }).format(n);
  }
  return unit ? `${s} ${unit}` : s;
}

export function number(root, spec) {
  const out = el("div", { class: "pxr-number" });
  root.appendChild(out);
  return {
    update(v) {
      v = unwrap(v);
      const n = toNum(v);
      if (n === null) bad("expected a number");
      out.textContent = formatNumber(n, spec);
      out.title = String(n);
    },
  };
}

export function boolean(root, spec) {
  const out = el("div", { class: "pxr-boolean" });
  root.appendChild(out);
  return {
    update(v) {
      v = unwrap(v);
      let b;
      if (typeof v === "boolean") b = v;
      else if (v === 0 || v === 1) b = v === 1;
      else if (v === "true" || v === "false") b = v === "true";
      else bad("expected true or false");
      const label = b ? (typeof spec.true_label === "string" ? spec.true_label : "Yes")
        : (typeof spec.false_label === "string" ? spec.false_label : "No");
      out.className = "pxr-boolean " + (b ? "pxr-boolean--true" : "pxr-boolean--false");
      out.textContent = label;
    },
  };
}

// Pairs of a kv value: {pairs: {k: v}} | {pairs: [[k, v]] | [{key, value}]} | {k: v}.
function pairsOf(v) {
  const p = isObject(v) && "pairs" in v ? v.pairs : v;
  if (Array.isArray(p)) {
    return p.map((x) => {
      if (Array.isArray(x) && x.length === 2) return [x[0], x[1]];
      if (isObject(x) && ("key" in x || "label" in x)) return ["key" in x ? x.key : x.label, x.value];
      bad("expected pairs");
    });
  }
  if (isObject(p)) return Object.entries(p);
  bad("expected {pairs: {...}}");
}

export function kv(root) {
  const dl = el("dl", { class: "pxr-kv" });
  root.appendChild(dl);
  return {
    update(v) {
      const pairs = pairsOf(v).slice(0, 5000);
      clear(dl);
      for (const [k, x] of pairs) {
        dl.appendChild(el("dt", null, clip(textOf(k), 1000)));
        dl.appendChild(el("dd", null, clip(textOf(x), 100000)));
      }
    },
  };
}

// progress: a fraction (0..1) or a percentage (> 1), or {value, label} /
// {current, total}.
export function progress(root, spec) {
  const bar = el("progress", { class: "pxr-progress__bar", max: "100" });
  const label = el("span", { class: "pxr-progress__label" });
  const pct = el("span", { class: "pxr-progress__pct" });
  root.appendChild(el("div", { class: "pxr-progress" }, el("div", { class: "pxr-progress__head" }, label, pct), bar));
  return {
    update(v) {
      let n = null;
      let text = null;
      if (isObject(v)) {
        if ("current" in v && "total" in v) {
          const c = toNum(v.current), t = toNum(v.total);
          if (c === null || t === null || t <= 0) bad("expected {current, total}");
          n = (c / t) * 100;
        } else {
          n = toNum(v.value);
          if (n !== null) n = n <= 1 ? n * 100 : n;
        }
        const l = v.label ?? v.message ?? v.status;
        if (typeof l === "string") text = l;
        if (n === null && text === null) bad("expected a number or {value, label}");
      } else {
        n = toNum(v);
        if (n === null) bad("expected a number");
        n = n <= 1 ? n * 100 : n;
      }
      label.textContent = clip(text ?? (typeof spec.label === "string" ? spec.label : ""), 1000);
      if (n === null) {
        bar.removeAttribute("value");
        pct.textContent = "";
      } else {
        n = Math.max(0, Math.min(100, n));
        bar.value = n;
        pct.textContent = `${Math.round(n)}%`;
      }
    },
  };
}

// stream_text: a string that grows while the run streams; an update that
// extends what is shown appends only the new tail to the same text node.
export function streamText(root) {
  const box = el("div", { class: "pxr-text pxr-stream", "aria-live": "polite" });
  const node = document.createTextNode("");
  box.appendChild(node);
  root.appendChild(box);
  let shown = "";
  let clipped = false;
  return {
    update(v) {
      const s = scalarText(v);
      if (!clipped && s.length >= shown.length && s.startsWith(shown)) {
        let tail = s.slice(shown.length);
        if (s.length > MAX_TEXT) {
          tail = tail.slice(0, Math.max(0, MAX_TEXT - shown.length));
          clipped = true;
          box.appendChild(el("span", { class: "pxr-note" }, "\n… (more text not shown)"));
        }
        if (tail) node.appendData(tail);
        shown += tail;
      } else if (s !== shown) {
        box.replaceChildren(node);
        clipped = s.length > MAX_TEXT;
        shown = s.slice(0, MAX_TEXT);
        node.data = shown;
        if (clipped) box.appendChild(el("span", { class: "pxr-note" }, "\n… (more text not shown)"));
      }
      box.scrollTop = box.scrollHeight;
    },
  };
}

const MAX_LOG_LINES = 5000;

function logLine(x) {
  let t = "", level = "", msg;
  if (isObject(x)) {
    t = x.t ?? x.time ?? x.at ?? x.ts ?? "";
    level = x.level ?? x.stream ?? "";
    msg = x.message ?? x.msg ?? x.text ?? x.line;
    if (msg === undefined) msg = textOf(x);
  } else {
    msg = x;
  }
  level = typeof level === "string" ? level.toLowerCase().slice(0, 16) : "";
  const row = el("div", { class: "pxr-log__line", "data-level": /^[a-z]+$/.test(level) ? level : null });
  if (t !== "" && t !== null) row.appendChild(el("span", { class: "pxr-log__t" }, clip(textOf(t), 64)));
  if (level) row.appendChild(el("span", { class: "pxr-log__lvl" }, level.toUpperCase()));
  row.appendChild(el("span", { class: "pxr-log__msg" }, clip(textOf(msg), 20000)));
  return row;
}

// log: {lines: [...]} or an array or one string; lines are strings or
// {t, level, message}. A longer list than shown appends only its new lines.
export function log(root) {
  const box = el("div", { class: "pxr-log", role: "log", tabindex: "0" });
  root.appendChild(box);
  let count = 0;
  let first = null;
  return {
    update(v) {
      let lines = listOf(v, "lines");
      if (!lines) {
        if (typeof v === "string") lines = v.split(/\r?\n/);
        else bad("expected {lines: [...]}");
      }
      const follow = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
      if (lines.length < count || (lines.length && lines[0] !== first && textOf(lines[0]) !== textOf(first))) {
        clear(box);
        count = 0;
      }
      const start = Math.max(count, lines.length - MAX_LOG_LINES);
      const frag = document.createDocumentFragment();
      for (let i = start; i < lines.length; i++) frag.appendChild(logLine(lines[i]));
      box.appendChild(frag);
      while (box.childElementCount > MAX_LOG_LINES) box.firstElementChild.remove();
      count = lines.length;
      first = lines[0];
      if (follow) box.scrollTop = box.scrollHeight;
    },
  };
}

// file: {filename, data (data: URL or base64 or text), mime, size} or
// {filename, url} (same origin) or a data: URL string.
export function file(root) {
  const box = el("div", { class: "pxr-file" });
  root.appendChild(box);
  let url = null;
  return {
    update(v) {
      if (typeof v === "string") v = { data: v };
      if (!isObject(v)) bad("expected {filename, data}");
      const name = typeof v.filename === "string" && v.filename ? v.filename.slice(0, 255)
        : typeof v.name === "string" && v.name ? v.name.slice(0, 255) : "download";
      const mime = typeof v.mime === "string" ? v.mime : typeof v.mime_type === "string" ? v.mime_type : "";
      let link;
      const src = typeof v.url === "string" ? v.url : v.data;
      if (typeof src !== "string") bad("expected a string data or url");
      const kind = urlKind(src);
      if (kind === "same" && typeof v.url === "string") {
        link = el("a", { class: "pxr-download", href: src, download: name }, `Download ${name}`);
      } else if (kind === "data") {
        const d = decodeDataUrl(src);
        if (!d) bad("malformed data: URL");
        link = downloadLink(`Download ${name}`, name, [d.bytes], mime || d.mime);
      } else if (kind === "remote" && typeof v.url === "string") {
        link = el("a", { class: "pxr-download", href: src, rel: "noopener noreferrer", target: "_blank" }, `Open ${name}`);
      } else {
        // Base64 when it decodes as such and looks like it, else the text itself.
        let bytes = null;
        if (/^[A-Za-z0-9+/=\s]+$/.test(src) && src.replace(/\s+/g, "").length % 4 === 0 && src.length >= 4) {
          try {
            const bin = atob(src.replace(/\s+/g, ""));
            bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
          } catch (e) {
            bytes = null;
          }
        }
        link = downloadLink(`Download ${name}`, name, [bytes || src], mime || (bytes ? "application/octet-stream" : "text/plain"));
      }
      if (url) URL.revokeObjectURL(url);
      url = link.href.startsWith("blob:") ? link.href : null;
      const size = toNum(v.size);
      const meta = [mime, size !== null ? `${(size / 1024).toFixed(1)} KB` : ""].filter(Boolean).join(" · ");
      clear(box);
      append(box, [el("span", { class: "pxr-file__name" }, name), meta ? el("span", { class: "pxr-file__meta" }, meta) : null, link]);
    },
  };
}
