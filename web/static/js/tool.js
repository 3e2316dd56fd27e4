// The tool page /tool/<id>: the form, Run (live progress over SSE, Cancel),
// outputs, run history with replay and star, and the validation panel.
import { get, post, api, toolIdFromPath } from "./api.js";
import { h, clear, fmtTime, fmtDuration } from "./dom.js";
import { loadTool, setTitle, pageError, announce, hideContent } from "./common.js";
import { buildForm } from "./form.js";
import { buildOutputs, follow } from "./outputs.js";

const toolId = toolIdFromPath();
const $ = (id) => document.getElementById(id);

const STATUS_TEXT = {
  running: "Running…", ok: "Finished", error: "Failed", timeout: "Timed out", cancelled: "Cancelled",
};

let tool = null;
let formCtl = null;
let outputs = null;
let current = null; // {runId, close}

main().catch((e) => { console.error(e); pageError(`Something went wrong on this page: ${e.message}`); });

async function main() {
  if (!toolId) { pageError("This address names no tool."); hideContent(); return; }
  tool = await loadTool(toolId, "tool");
  if (!tool) {
    for (const id of ["run-panel", "outputs-panel", "history-panel", "validation-panel"]) $(id).hidden = true;
    setTitle(toolId);
    return;
  }
  setTitle(tool.name || tool.id || toolId);
  $("tool-description").textContent = tool.description || "";
  notices();
  const runnable = tool.status !== "broken" && tool.spec;
  if (runnable) {
    // the form shows once the page's first requests are answered (no
    // layout shift, and nothing still loading when the user moves on)
    $("run-panel").hidden = true;
    await Promise.all([setupForm(), loadHistory(), setupValidation()]);
    $("run-panel").hidden = false;
  } else {
    for (const id of ["run-panel", "outputs-panel", "history-panel"]) $(id).hidden = true;
    await setupValidation();
  }
}

// Broken errors, a missing required secret, the chat page link.
function notices() {
  const box = $("tool-notices");
  box.replaceChildren();
  const base = `/tool/${encodeURIComponent(toolId)}`;
  if (tool.status === "broken") {
    box.append(h("div", { class: "banner banner-error", role: "alert", "data-testid": "broken-errors" },
      h("p", null, h("strong", null, "This tool is broken"), " — Pixie cannot load its tool.json:"),
      h("ul", null, (tool.errors || []).map((e) => h("li", { class: "mono" }, String(e))))));
  }
  const missing = tool.secrets_missing || [];
  if (missing.length) {
    box.append(h("div", { class: "banner banner-warn", role: "status", "data-testid": "secret-warning" },
      h("p", null, missing.length === 1
        ? ["Required secret ", h("code", null, missing[0]), " is not set, so a run will fail. "]
        : ["Required secrets not set: ", missing.map((k, i) => [i ? ", " : "", h("code", null, k)]), ". A run will fail. "],
      h("a", { href: `${base}/settings`, "data-testid": "settings-link" }, "Set it in Settings"), ".")));
  }
  if (tool.layout === "chat") {
    box.append(h("div", { class: "banner banner-info", "data-testid": "chat-notice" },
      h("p", null, "This is a chat tool. ", h("a", { href: `${base}/chat`, "data-testid": "chat-link" },
        "Open the chat"), " to talk to it; the form below sends one raw run.")));
  }
}

function status(text, kind, extra) {
  const el = $("run-status");
  el.dataset.status = kind || "";
  clear(el, text, extra || null);
}

async function setupForm() {
  const spec = tool.spec;
  const form = $("run-form");
  formCtl = buildForm(form, spec.inputs || [], tool.last_inputs || {}, {});
  if (!(spec.inputs || []).length) form.prepend(h("p", { class: "muted" }, "This tool takes no inputs."));
  const run = h("button", { type: "submit", id: "run-button", "data-testid": "run-button" }, "Run");
  const cancel = h("button", { type: "button", id: "cancel-button", class: "danger", "data-testid": "cancel-button", hidden: true }, "Cancel");
  const reset = h("button", { type: "button", id: "reset-button", class: "secondary", "data-testid": "reset-button" }, "Reset to defaults");
  form.append(h("div", { class: "form-actions" }, run, cancel, reset));
  outputs = await buildOutputs($("outputs"), spec.outputs || []);
  if (!(spec.outputs || []).length) $("outputs").append(h("p", { class: "muted" }, "This tool declares no outputs."));
  status("Ready to run.", "idle");

  form.addEventListener("submit", (e) => { e.preventDefault(); startRun(); });
  cancel.addEventListener("click", cancelRun);
  reset.addEventListener("click", () => { formCtl.setValues({}); announce("Inputs reset to their defaults."); });
}

function setRunning(on) {
  const wasFocused = document.activeElement === $("run-button") || document.activeElement === $("cancel-button");
  $("run-button").disabled = on;
  $("run-button").setAttribute("aria-busy", on ? "true" : "false");
  $("cancel-button").hidden = !on;
  $("cancel-button").disabled = !on;
  $("outputs-panel").setAttribute("aria-busy", on ? "true" : "false");
  // a disabled or hidden button loses focus: keep it on the live control
  if (wasFocused || document.activeElement === document.body) $(on ? "run-status" : "run-button").focus();
}

async function startRun() {
  if (current) return;
  const { values, ok } = await formCtl.collect();
  if (!ok) { status("Some inputs need attention (see the messages next to the fields).", "invalid"); return; }
  current = { runId: null, close: null };
  setRunning(true);
  status("Starting…", "running");
  outputs.reset();
  let answer;
  try {
    answer = await post(api("tools", toolId, "run"), { inputs: values, wait: false });
  } catch (e) {
    current = null;
    setRunning(false);
    if (e.status === 400) {
      const unplaced = formCtl.showServerErrors(e.fields);
      const lines = unplaced.length ? unplaced : (Object.keys(e.fields).length ? [] : e.errors);
      status(e.message, "invalid", lines.length ? h("ul", null, lines.map((l) => h("li", null, l))) : null);
    } else {
      status(`Could not start the run: ${e.message}`, "error");
    }
    return;
  }
  const runId = answer && answer.run_id;
  if (!runId) { current = null; setRunning(false); status("The server did not return a run id.", "error"); return; }
  current.runId = runId;
  $("run-status").dataset.runId = runId;
  status("Running…", "running");
  current.close = follow(runId, {
    update: (d) => {
      if (d && d.outputs) outputs.set(d.outputs);
    },
    final: (run) => {
      current = null;
      setRunning(false);
      showRun(run, false);
      loadHistory();
    },
    error: (msg) => {
      current = null;
      setRunning(false);
      status(`Lost track of the run: ${msg}`, "error");
    },
  }, (id) => get(api("runs", id)));
}

async function cancelRun() {
  if (!current || !current.runId) return;
  $("cancel-button").disabled = true;
  status("Cancelling…", "running");
  try {
    await post(api("runs", current.runId, "cancel"));
  } catch (e) {
    if (e.status !== 409) status(`Could not cancel: ${e.message}`, "error");
  }
}

// Shows a finished (or replayed) run: its outputs and its status line.
function showRun(run, replay) {
  if (replay) outputs.reset();
  outputs.set(run.outputs || {});
  const word = STATUS_TEXT[run.status] || run.status || "?";
  const parts = [replay ? `Replaying run from ${fmtTime(run.started_at)}: ${word}` : word];
  if (Number.isFinite(run.duration_ms)) parts.push(` in ${fmtDuration(run.duration_ms)}`);
  parts.push(".");
  const detail = run.error_text ? h("pre", { class: "error-text", "data-testid": "run-error" }, run.error_text) : null;
  status(parts.join(""), run.status, detail);
  $("run-status").dataset.runId = run.id || "";
  announce(parts.join(""));
}

// ---------------------------------------------------------------------------
// History

async function loadHistory() {
  const box = $("history");
  let runs;
  try {
    runs = (await get(`${api("tools", toolId, "runs")}?limit=20`)).runs || [];
  } catch (e) {
    clear(box, h("p", { class: "field-error" }, `Could not load the run history: ${e.message}`));
    return;
  }
  if (!runs.length) { clear(box, h("p", { class: "muted" }, "No runs yet.")); return; }
  clear(box, h("ol", { class: "history-list" }, runs.map(historyRow)));
}

function historyRow(run) {
  const when = fmtTime(run.started_at);
  const star = h("button", { type: "button", class: "star", "data-testid": "star-button",
    "aria-pressed": run.starred ? "true" : "false", "aria-label": `Star the run from ${when}` },
  h("span", { "aria-hidden": "true" }, run.starred ? "★" : "☆"));
  const replay = h("button", { type: "button", class: "secondary small", "data-testid": "replay-button",
    "aria-label": `Replay the run from ${when}` }, "Replay");
  star.addEventListener("click", async () => {
    const want = star.getAttribute("aria-pressed") !== "true";
    star.disabled = true;
    try {
      const r = await post(api("runs", run.id, "star"), { starred: want });
      const on = r && typeof r.starred !== "undefined" ? Boolean(r.starred) : want;
      star.setAttribute("aria-pressed", on ? "true" : "false");
      star.firstChild.textContent = on ? "★" : "☆";
      announce(on ? "Run starred." : "Run unstarred.");
    } catch (e) {
      announce(`Could not star the run: ${e.message}`);
    } finally {
      star.disabled = false;
    }
  });
  replay.addEventListener("click", async () => {
    if (current) { announce("Wait for the current run to finish."); return; }
    let full = run;
    if (full.inputs === undefined || full.outputs === undefined) {
      try { full = await get(api("runs", run.id)); } catch (e) { announce(`Could not load the run: ${e.message}`); return; }
    }
    formCtl.setValues(full.inputs || {});
    showRun(full, true);
    $("outputs-heading").scrollIntoView({ block: "start" });
  });
  return h("li", { class: "history-row", "data-testid": "history-row", "data-run-id": run.id, "data-status": run.status },
    h("span", { class: ["badge", `status-${run.status}`] }, run.status),
    h("span", { class: "when" }, when),
    h("span", { class: "muted" }, Number.isFinite(run.duration_ms) ? fmtDuration(run.duration_ms) : ""),
    run.label ? h("span", { class: "label" }, run.label) : null,
    run.source && run.source !== "web" ? h("span", { class: "muted" }, run.source) : null,
    h("span", { class: "row-actions" }, replay, star));
}

// ---------------------------------------------------------------------------
// Validation

let pollTimer = null;

function setupValidation() {
  const box = $("validation");
  const button = h("button", { type: "button", id: "validate-button", "data-testid": "validate-button" }, "Validate now");
  const state = h("p", { id: "validation-state", role: "status", "data-testid": "validation-state" });
  const report = h("div", { id: "validation-report", "data-testid": "validation-report" });
  clear(box, h("div", { class: "toolbar" }, button, state), report);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await post(api("tools", toolId, "validate"));
    } catch (e) {
      if (e.status !== 409) { state.textContent = `Could not start validation: ${e.message}`; button.disabled = false; return; }
    }
    state.textContent = "Validating…";
    pollValidation();
  });
  return pollValidation();
}

async function pollValidation() {
  clearTimeout(pollTimer);
  const button = $("validate-button");
  const state = $("validation-state");
  let v;
  try {
    v = await get(api("tools", toolId, "validation"));
  } catch (e) {
    state.textContent = `Could not read the validation report: ${e.message}`;
    button.disabled = false;
    return;
  }
  showReport(v.report);
  if (v.running) {
    button.disabled = true;
    state.textContent = "Validating…";
    pollTimer = setTimeout(pollValidation, 1000);
  } else {
    button.disabled = false;
    state.textContent = v.report ? `Last validated ${fmtTime(v.report.timestamp)}.` : "Not validated yet.";
  }
}

function showReport(report) {
  const box = $("validation-report");
  if (!report) { box.replaceChildren(); return; }
  const checks = Array.isArray(report.checks) ? report.checks : [];
  clear(box,
    h("p", null, "Overall: ", h("span", { class: ["badge", `status-${report.overall}`], "data-testid": "validation-overall" }, report.overall || "?")),
    h("ol", { class: "checks" }, checks.map((c) => h("li", { class: "check-row", "data-check": c.name, "data-status": c.status },
      h("span", { class: ["badge", `status-${c.status}`] }, c.status),
      h("span", { class: "mono" }, c.name),
      c.message ? h("span", { class: "check-message" }, c.message) : null,
      c.details !== undefined && c.details !== null && c.details !== ""
        ? h("details", null, h("summary", null, "Details"),
          h("pre", null, typeof c.details === "string" ? c.details : JSON.stringify(c.details, null, 2)))
        : null))));
}
