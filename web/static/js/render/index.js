// Output renderers (docs/dashboard-api.md §5).
//
// renderOutput(container, spec, value) -> {update(value)}
//   container: the element the page gives this output (its children are
//   replaced); spec: one entry of the tool's `outputs`; value: its current
//   value, possibly null/undefined while a run streams (an empty
//   placeholder is shown). update(value) shows a newer value of the same
//   output, cheaply where the type allows (stream_text appends the new tail,
//   log appends lines, charts add points to the same chart). It returns a
//   promise that resolves once the value is drawn (renderers that load a
//   library draw asynchronously); it never rejects.
// A value that does not fit its type shows "cannot show this value as
// <type>" with the value as JSON: no renderer throws or injects markup,
// whatever the value. Unknown types show the data as tables or JSON with
// the type named. Libraries load on demand from /vendor/ (loader.js).
import { el, clear, jsonOf, placeholder, BadValue } from "./util.js";
import { loadCss } from "./loader.js";
import * as basic from "./basic.js";
import * as table from "./table.js";
import * as rich from "./rich.js";
import * as structure from "./structure.js";
import * as media from "./media.js";
import * as charts from "./charts.js";
import * as maps from "./maps.js";

// type -> factory(root, spec) -> {update(value)}; update may return a
// promise (libraries loading) and may throw BadValue for a wrong shape.
const RENDERERS = {
  text: basic.text,
  markdown: rich.markdown,
  number: basic.number,
  boolean: basic.boolean,
  kv: basic.kv,
  progress: basic.progress,
  stream_text: basic.streamText,
  log: basic.log,
  file: basic.file,
  table: table.table,
  code: rich.code,
  latex: rich.latex,
  tree: structure.tree,
  json: structure.tree,
  diff: structure.diff,
  timeline: structure.timeline,
  gantt: structure.gantt,
  image: media.image,
  image_grid: media.imageGrid,
  image_compare: media.imageCompare,
  audio: media.audio,
  video: media.video,
  chart_line: charts.chart,
  chart_area: charts.chart,
  chart_bar: charts.chart,
  chart_scatter: charts.chart,
  chart_pie: charts.chart,
  chart_histogram: charts.chart,
  chart_radar: charts.chart,
  map_points: maps.map,
  map_route: maps.map,
  map_polygons: maps.map,
};

export const NATIVE_TYPES = Object.keys(RENDERERS);

function typeName(spec) {
  const t = spec && typeof spec.type === "string" ? spec.type : "";
  return /^[A-Za-z0-9_-]{1,64}$/.test(t) ? t : "unknown";
}

// The box shown for a value its renderer cannot show.
function cannotShow(root, type, value, err) {
  const box = el("div", { class: "pxr-cannot", role: "note" },
    el("p", { class: "pxr-cannot__msg" }, `cannot show this value as ${type}`));
  if (err && !(err instanceof BadValue) && err.message) {
    box.appendChild(el("p", { class: "pxr-cannot__why" }, String(err.message).slice(0, 300)));
  } else if (err && err.message && err.message !== "wrong shape") {
    box.appendChild(el("p", { class: "pxr-cannot__why" }, String(err.message).slice(0, 300)));
  }
  box.appendChild(el("pre", { class: "pxr-json" }, jsonOf(value)));
  clear(root).appendChild(box);
}

let cssLoaded = false;

export function renderOutput(container, spec, value) {
  if (!cssLoaded) {
    cssLoaded = true;
    loadCss("/static/css/render.css").catch(() => { cssLoaded = false; });
  }
  spec = spec && typeof spec === "object" ? spec : {};
  const type = typeName(spec);
  const factory = Object.prototype.hasOwnProperty.call(RENDERERS, type) ? RENDERERS[type] : structure.fallback;
  const root = el("div", { class: `pxr pxr--${type}`, "data-type": type });
  container.replaceChildren(root);

  let impl = null;
  let broken = false;
  let seq = 0;

  function fail(v, err) {
    broken = true;
    impl = null;
    try {
      cannotShow(root, type, v, err);
    } catch (e) {
      root.textContent = `cannot show this value as ${type}`;
    }
  }

  function update(v) {
    const mine = ++seq;
    if (v === undefined || v === null) {
      impl = null;
      broken = false;
      clear(root).appendChild(placeholder());
      return Promise.resolve();
    }
    try {
      if (!impl || broken) {
        broken = false;
        clear(root);
        impl = factory(root, spec, type);
      }
      const r = impl.update(v);
      if (r && typeof r.then === "function") {
        return r.then(() => {}, (err) => { if (mine === seq) fail(v, err); });
      }
    } catch (err) {
      fail(v, err);
    }
    return Promise.resolve();
  }

  update(value);
  return { update };
}
