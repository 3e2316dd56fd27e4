// Renderers that use a vendored library: markdown (marked, then DOMPurify),
// code (highlight.js 9.18 highlightBlock), latex (KaTeX, MathML output).
// Library output enters the page only as DOM built by the library or
// sanitised by DOMPurify; raw text always as text nodes.
import { el, clear, clip, unwrap, bad, urlKind } from "./util.js";
import { vendor } from "./loader.js";

function stringValue(v) {
  v = unwrap(v);
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  bad("expected a string");
}

// Runs each update after the previous one (libraries load once, asynchronously).
function serial() {
  let chain = Promise.resolve();
  return (fn) => {
    const p = chain.then(fn);
    chain = p.catch(() => {});
    return p;
  };
}

let purifyReady = null;

// DOMPurify configured once: no style/forms/media, no image fetched (the
// alt text stays), links open in a new tab without
// referrer.
function purifier() {
  if (purifyReady) return purifyReady;
  purifyReady = vendor("purify").then((DOMPurify) => {
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "IMG") {
        // Images in markdown are never fetched: the CSP blocks other
        // origins and data:, and a tool's text should not make requests
        // to this server. The alt text stays.
        node.removeAttribute("src");
        node.removeAttribute("srcset");
        node.setAttribute("class", "pxr-blocked-img");
        if (!node.getAttribute("alt")) node.setAttribute("alt", "(image not shown)");
      } else if (node.tagName === "A" && node.hasAttribute("href")) {
        const kind = urlKind(node.getAttribute("href"));
        if (kind === null && !/^(#|mailto:)/i.test(node.getAttribute("href"))) node.removeAttribute("href");
        if (kind === "remote") {
          node.setAttribute("target", "_blank");
          node.setAttribute("rel", "noopener noreferrer");
        }
      }
    });
    return DOMPurify;
  });
  purifyReady.catch(() => { purifyReady = null; });
  return purifyReady;
}

// Raw HTML inside markdown: event-handler attributes are renamed before
// anything parses it (DOMPurify removes them anyway, but the browser
// would report each one as a CSP violation while DOMPurify parses).
function markedRenderer(marked) {
  const r = new marked.Renderer();
  r.html = (html) => String(html).replace(/\bon([a-z]+\s*=)/gi, "data-x-on$1");
  return r;
}

const PURIFY_CONFIG = {
  ALLOW_DATA_ATTR: false,
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "video", "audio", "source", "track", "picture", "iframe", "object", "embed"],
  FORBID_ATTR: ["style", "srcset", "formaction", "action"],
  RETURN_DOM_FRAGMENT: true,
};

export function markdown(root) {
  const box = el("div", { class: "pxr-markdown" });
  root.appendChild(box);
  const run = serial();
  return {
    update(v) {
      const md = clip(stringValue(v), 500000);
      return run(async () => {
        const [marked, DOMPurify] = await Promise.all([vendor("marked"), purifier()]);
        const html = marked.parse(md, { headerIds: false, mangle: false, renderer: markedRenderer(marked) });
        const frag = DOMPurify.sanitize(html, PURIFY_CONFIG);
        box.replaceChildren(frag);
      });
    },
  };
}

const HIGHLIGHT_MAX = 200000; // characters highlighted with a known language
const AUTODETECT_MAX = 20000; // characters auto-detected

export function code(root, spec) {
  const codeEl = el("code");
  const pre = el("pre", { class: "pxr-code" }, codeEl);
  root.appendChild(pre);
  const run = serial();
  const lang = typeof spec.language === "string" && /^[A-Za-z0-9_+#.-]{1,40}$/.test(spec.language) ? spec.language.toLowerCase() : null;
  return {
    update(v) {
      const src = clip(stringValue(v));
      codeEl.className = "";
      codeEl.textContent = src; // readable at once; highlighted when hljs is there
      if (src.length > HIGHLIGHT_MAX || (!lang && src.length > AUTODETECT_MAX)) return undefined;
      return run(async () => {
        const hljs = await vendor("hljs");
        if (codeEl.textContent !== src) return;
        if (lang && hljs.getLanguage(lang)) codeEl.className = "language-" + lang;
        else if (lang) codeEl.className = "nohighlight";
        if (codeEl.className !== "nohighlight") hljs.highlightBlock(codeEl);
      });
    },
  };
}

// Splits text with $$…$$, \[…\], \(…\) or $…$ into text and math parts;
// text with no delimiter at all is one display formula.
function latexParts(s) {
  const re = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$\n]+?)\$/g;
  const parts = [];
  let last = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    if (m.index > last) parts.push({ text: s.slice(last, m.index) });
    const display = m[1] !== undefined || m[2] !== undefined;
    parts.push({ tex: m[1] ?? m[2] ?? m[3] ?? m[4], display });
    last = re.lastIndex;
  }
  if (parts.length === 0) return [{ tex: s, display: true }];
  if (last < s.length) parts.push({ text: s.slice(last) });
  return parts;
}

const LATEX_MAX = 4000; // characters of one formula typeset

export function latex(root) {
  const box = el("div", { class: "pxr-latex" });
  root.appendChild(box);
  const run = serial();
  return {
    update(v) {
      const s = clip(stringValue(v), 100000);
      return run(async () => {
        const katex = await vendor("katex");
        const frag = document.createDocumentFragment();
        for (const p of latexParts(s)) {
          if (p.text !== undefined) {
            frag.appendChild(document.createTextNode(p.text));
            continue;
          }
          const span = el(p.display ? "div" : "span", { class: "pxr-latex__math" });
          if (p.tex.length > LATEX_MAX) {
            // KaTeX takes seconds on very long input: shown as source.
            span.appendChild(el("code", { class: "pxr-latex__error", title: "formula too long to typeset" }, clip(p.tex, 20000)));
            frag.appendChild(span);
            continue;
          }
          try {
            katex.render(p.tex, span, {
              output: "mathml", displayMode: p.display, throwOnError: true, trust: false, maxExpand: 1000, maxSize: 50,
            });
          } catch (e) {
            clear(span).appendChild(el("code", { class: "pxr-latex__error", title: String(e && e.message || e).slice(0, 300) }, p.tex));
          }
          frag.appendChild(span);
        }
        box.replaceChildren(frag);
      });
    },
  };
}
