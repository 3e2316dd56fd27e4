// Small DOM and value helpers shared by the renderers. Nothing here ever
// parses a string as HTML: text goes in through textContent / text nodes.

export const MAX_TEXT = 1 << 20; // characters shown of one string value
export const MAX_JSON = 100000; // characters shown of a value as JSON

// el("div", {class: "x", title: "t"}, child, "text", ...) -> Element.
// Attributes are set with setAttribute (never `style`, never on*); children
// are nodes or strings (strings become text nodes); null/false are skipped.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "style" || k.startsWith("on")) continue;
      node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function isNum(v) {
  return typeof v === "number" && Number.isFinite(v);
}

// A number from a number or a numeric string, else null.
export function toNum(v) {
  if (isNum(v)) return v;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return null;
}

// A string cut to at most max characters, with a note of what was cut.
export function clip(s, max = MAX_TEXT) {
  if (s.length <= max) return s;
  return s.slice(0, max) + `\n… (${s.length - max} more characters not shown)`;
}

// Readable text of any value: strings as they are, the rest as JSON.
export function textOf(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return jsonOf(v, 0);
}

// JSON of any value (cycles, BigInt and huge values survive), indented.
export function jsonOf(v, indent = 2) {
  let s;
  try {
    const seen = new WeakSet();
    s = JSON.stringify(v, (k, x) => {
      if (typeof x === "bigint") return x.toString();
      if (x && typeof x === "object") {
        if (seen.has(x)) return "[cycle]";
        seen.add(x);
      }
      return x;
    }, indent);
  } catch (e) {
    s = undefined;
  }
  if (s === undefined) s = String(v);
  return clip(s, MAX_JSON);
}

// The value under "value" for outputs a tool may wrap as {"value": …}.
export function unwrap(v) {
  return isObject(v) && "value" in v ? v.value : v;
}

// The array under one of keys of an object value, or the value itself when
// it is an array; null otherwise.
export function listOf(v, ...keys) {
  if (Array.isArray(v)) return v;
  if (isObject(v)) {
    for (const k of keys) if (Array.isArray(v[k])) return v[k];
  }
  return null;
}

// Thrown by a renderer when the value does not have its type's shape.
export class BadValue extends Error {}

export function bad(why) {
  throw new BadValue(why || "wrong shape");
}

// A CSS colour safe to hand to element.style / a library (no url(), no ;).
const COLOUR = /^(#[0-9a-f]{3,8}|[a-z]{3,20}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/a-z-]{1,60}\))$/i;
export function safeColour(c, fallback) {
  return typeof c === "string" && COLOUR.test(c.trim()) ? c.trim() : fallback;
}

export const PALETTE = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

// URL kinds a renderer may use: "same" (this origin: load it), "data"
// (a data: URL: decode it ourselves, the CSP blocks loading it), "remote"
// (http(s) elsewhere: the CSP blocks it; offer a link), null (anything
// else: javascript:, blob:, garbage — never used).
export function urlKind(s) {
  if (typeof s !== "string" || s.length === 0) return null;
  if (/^data:/i.test(s)) return "data";
  // Only absolute http(s) URLs or root-relative paths: a bare word, an HTML
  // string or anything with spaces is no URL here (it would be fetched as
  // a relative path).
  if (s.length > 4096 || /[\s<>"'`\\]/.test(s)) return null;
  if (!/^https?:\/\//i.test(s) && !/^\/(?!\/)/.test(s)) return null;
  let u;
  try {
    u = new URL(s, location.href);
  } catch (e) {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  if (u.origin !== location.origin) return "remote";
  // Never make a media element request the API.
  return u.pathname.startsWith("/api/") ? null : "same";
}

// {mime, bytes} of a base64 (or percent-encoded) data: URL; null if malformed.
export function decodeDataUrl(s) {
  const m = /^data:([^,;]*)((?:;[^,;]*)*),(.*)$/is.exec(s);
  if (!m) return null;
  const mime = (m[1] || "text/plain").toLowerCase();
  try {
    if (/;base64/i.test(m[2])) {
      const bin = atob(m[3].replace(/\s+/g, ""));
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return { mime, bytes };
    }
    return { mime, bytes: new TextEncoder().encode(decodeURIComponent(m[3])) };
  } catch (e) {
    return null;
  }
}

// An <a download> for bytes/text made into a Blob URL (a download is not
// subject to the CSP; the URL is revoked when the link is dropped or reused).
export function downloadLink(label, filename, parts, mime) {
  const a = el("a", { class: "pxr-download", download: filename || "download" }, label);
  const blob = new Blob(parts, { type: mime || "application/octet-stream" });
  a.href = URL.createObjectURL(blob);
  return a;
}

// A placeholder shown while an output has no value yet.
export function placeholder() {
  return el("div", { class: "pxr-empty", "aria-live": "polite" }, "No value yet");
}
