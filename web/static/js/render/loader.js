// On-demand loading of the vendored browser libraries (docs/dashboard-api.md §6).
//
// loadScript(url) -> Promise: inserts <script src=url> into <head> once per
// URL (later calls share the first promise); resolves when the script has
// run, rejects (and forgets the URL, so a later call retries) when it fails.
// loadCss(url) -> Promise: the same with <link rel="stylesheet">.
// vendor(name) -> Promise of the library's global (Chart, L, katex, hljs,
// marked, DOMPurify), loading its script and stylesheet first.
// Only same-origin URLs are used: the page's CSP is default-src 'self'.

const loaded = new Map();

function load(url, make) {
  let p = loaded.get(url);
  if (p) return p;
  p = new Promise((resolve, reject) => {
    const node = make();
    node.addEventListener("load", () => resolve(node), { once: true });
    node.addEventListener("error", () => {
      loaded.delete(url);
      node.remove();
      reject(new Error("could not load " + url));
    }, { once: true });
    document.head.appendChild(node);
  });
  loaded.set(url, p);
  return p;
}

export function loadScript(url) {
  return load(url, () => {
    const s = document.createElement("script");
    s.src = url;
    s.async = false;
    return s;
  });
}

export function loadCss(url) {
  // A page may link the stylesheet itself.
  for (const l of document.querySelectorAll('link[rel="stylesheet"]')) {
    if (l.getAttribute("href") === url) return Promise.resolve(l);
  }
  return load(url, () => {
    const l = document.createElement("link");
    l.rel = "stylesheet";
    l.href = url;
    return l;
  });
}

const LIBS = {
  chart: { js: ["/vendor/chart.js/chart.min.js"], global: "Chart" },
  leaflet: { js: ["/vendor/leaflet/leaflet.min.js"], css: ["/vendor/leaflet/leaflet.css"], global: "L" },
  katex: { js: ["/vendor/katex/katex.min.js"], css: ["/vendor/katex/katex.min.css"], global: "katex" },
  hljs: { js: ["/vendor/highlight.js/highlight.min.js"], css: ["/vendor/highlight.js/styles/github.css"], global: "hljs" },
  marked: { js: ["/vendor/marked/marked.min.js"], global: "marked" },
  purify: { js: ["/vendor/dompurify/purify.min.js"], global: "DOMPurify" },
};

const globals = new Map();

export function vendor(name) {
  const lib = LIBS[name];
  if (!lib) return Promise.reject(new Error("unknown library " + name));
  let p = globals.get(name);
  if (p) return p;
  p = Promise.all([...(lib.css || []).map(loadCss), ...lib.js.map(loadScript)]).then(() => {
    const g = window[lib.global];
    if (!g) throw new Error(name + " did not define " + lib.global);
    return g;
  });
  p.catch(() => globals.delete(name));
  globals.set(name, p);
  return p;
}
