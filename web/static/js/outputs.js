// Output panels for a run: one section per declared output, each drawn by
// renderOutput from /static/js/render/index.js (docs/dashboard-api.md §5). When the
// renderer module cannot be loaded, values are shown as formatted JSON.
// And the run's live events: follow(runId, handlers) over EventSource.
import { h } from "./dom.js";

let rendererPromise = null;

// The renderOutput function (loaded once), or a plain JSON fallback.
export function loadRenderer() {
  if (!rendererPromise) {
    rendererPromise = import("/static/js/render/index.js")
      .then((m) => m.renderOutput)
      .catch((e) => {
        console.warn("output renderers unavailable, showing JSON:", e && e.message);
        return fallbackRender;
      });
  }
  return rendererPromise;
}

function fallbackRender(container, spec, value) {
  const pre = h("pre", { class: "json-fallback" });
  container.append(pre);
  const update = (v) => {
    pre.textContent = v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v, null, 2);
  };
  update(value);
  return { update };
}

// buildOutputs(container, specs) -> Promise<{set(outputs), reset()}>
// set(outputs) updates each declared output from an outputs object (keys
// absent stay as they are); reset() empties every panel.
export async function buildOutputs(container, specs) {
  const renderOutput = await loadRenderer();
  const panels = new Map();
  const make = () => {
    container.replaceChildren();
    panels.clear();
    for (const spec of specs || []) {
      if (!spec || typeof spec.key !== "string") continue;
      const body = h("div", { class: "output-body" });
      const section = h("section", { class: ["output", `output-${spec.layout || "panel"}`],
        "data-testid": `output-${spec.key}`, "data-output-key": spec.key, "data-output-type": spec.type },
      h("h3", null, spec.label || spec.key), spec.description ? h("p", { class: "hint" }, spec.description) : null,
      body, spec.caption ? h("p", { class: "caption" }, spec.caption) : null);
      container.append(section);
      let r;
      try {
        r = renderOutput(body, spec, undefined);
      } catch (e) {
        console.error("renderer failed for", spec.key, e);
        r = fallbackRender(body, spec, undefined);
      }
      panels.set(spec.key, { spec, body, r, section, has: false });
    }
  };
  make();
  return {
    set(outputs) {
      if (!outputs || typeof outputs !== "object") return;
      for (const [key, p] of panels) {
        if (!Object.prototype.hasOwnProperty.call(outputs, key)) continue;
        try {
          p.r.update(outputs[key]);
        } catch (e) {
          console.error("renderer update failed for", key, e);
        }
        p.has = true;
      }
    },
    reset: make,
  };
}

// follow(runId, {update(data), final(run), error(msg)}) -> close()
// Streams /api/runs/<id>/events. `final` fires once; after it the stream is
// closed. If the stream breaks before `final`, the run record is fetched.
export function follow(runId, handlers, fetchRun) {
  const es = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events`);
  let done = false;
  const finish = (run) => {
    if (done) return;
    done = true;
    es.close();
    handlers.final(run);
  };
  es.addEventListener("update", (e) => {
    let data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (!done && handlers.update) handlers.update(data);
  });
  es.addEventListener("final", (e) => {
    let run = null;
    try { run = JSON.parse(e.data); } catch (err) { run = null; }
    if (run) finish(run);
    else if (fetchRun) fetchRun(runId).then(finish, (err) => { done = true; es.close(); handlers.error(err.message); });
  });
  es.addEventListener("error", () => {
    if (done) return;
    // A closed stream without `final` (server restarted, 404): ask for the record.
    if (es.readyState === EventSource.CLOSED || es.readyState === EventSource.CONNECTING) {
      es.close();
      if (!fetchRun) { done = true; handlers.error("lost the run's event stream"); return; }
      fetchRun(runId).then((run) => {
        if (run && run.status && run.status !== "running") finish(run);
        else if (!done) {
          // still running: follow again from the start (events are replayed)
          done = true;
          const timer = setTimeout(() => { closeFn = follow(runId, handlers, fetchRun); }, 1000);
          closeFn = () => clearTimeout(timer);
        }
      }, (err) => { done = true; handlers.error(err.message); });
    }
  });
  let closeFn = () => { done = true; es.close(); };
  return () => closeFn();
}
