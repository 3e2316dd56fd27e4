// The dashboard /: every tool grouped by category, each with a status dot
// and its text (validation pass / warn / fail, warm, running, broken),
// a broken tool's errors and a note when a required secret is not set.
// Refreshes every 5 s; the DOM is redrawn only when something changed.
import { get, api } from "./api.js";
import { h, clear } from "./dom.js";
import { pageError } from "./common.js";

const $ = (id) => document.getElementById(id);
let lastText = "";

// The tool's state: {key, text} for the dot; key is the CSS/test hook.
export function toolState(t) {
  if (t.status === "broken") return { key: "broken", text: "Broken" };
  if (t.busy > 0) return { key: "running", text: t.busy > 1 ? `Running (${t.busy} runs)` : "Running" };
  const v = { pass: "Validation passed", warn: "Validation warnings", fail: "Validation failed" }[t.validation];
  const warm = t.warm ? "warm" : null;
  if (v) return { key: t.validation, text: warm ? `${v} · warm` : v };
  if (warm) return { key: "warm", text: "Warm (not validated)" };
  return { key: "none", text: "Not validated" };
}

async function load() {
  let data;
  try {
    data = await get(api("tools"));
  } catch (e) {
    pageError(`Could not load the tools: ${e.message}`);
    return;
  }
  pageError(null);
  const tools = Array.isArray(data.tools) ? data.tools : [];
  const text = JSON.stringify(tools);
  if (text === lastText) return;
  lastText = text;
  draw(tools);
}

function draw(tools) {
  const loading = $("loading");
  if (loading) loading.remove();
  const box = $("tools");
  if (!tools.length) {
    clear(box, h("p", { class: "muted", "data-testid": "no-tools" },
      "No tools yet. Tools are added with skills (for example `pixie run-skill new-tool`), then they appear here."));
    return;
  }
  const groups = new Map();
  for (const t of tools) {
    const cat = t.status === "broken" ? (t.category || "Broken") : (t.category || "Uncategorised");
    if (!groups.has(cat)) groups.set(cat, []);
    groups.get(cat).push(t);
  }
  const names = Array.from(groups.keys()).sort((a, b) => a.localeCompare(b));
  clear(box, names.map((cat, i) => {
    const hid = `cat-${i}`;
    const list = groups.get(cat).sort((a, b) => String(a.name || a.id).localeCompare(String(b.name || b.id)));
    return h("section", { class: "category", "aria-labelledby": hid, "data-testid": "category", "data-category": cat },
      h("h2", { id: hid }, cat),
      h("ul", { class: "tool-grid" }, list.map(card)));
  }));
}

function card(t) {
  const st = toolState(t);
  const href = `/tool/${encodeURIComponent(t.id)}`;
  const parts = [
    h("div", { class: "card-head" },
      h("span", { class: ["dot", `dot-${st.key}`], "aria-hidden": "true" }),
      h("h3", null, h("a", { href, "data-testid": "tool-link" }, t.name || t.id))),
    h("p", { class: "status-text", "data-testid": "tool-status" }, h("span", { class: "visually-hidden" }, "Status: "), st.text),
  ];
  if (t.description) parts.push(h("p", { class: "card-desc" }, t.description));
  if (t.status === "broken") {
    parts.push(h("ul", { class: "errors", "data-testid": "tool-errors", "aria-label": `Errors of ${t.id}` },
      (t.errors || []).map((e) => h("li", { class: "mono" }, String(e)))));
  }
  const missing = t.secrets_missing || [];
  if (missing.length) {
    parts.push(h("p", { class: "warning", "data-testid": "secret-missing" },
      h("span", { "aria-hidden": "true" }, "⚠ "),
      missing.length === 1 ? "Needs secret " : "Needs secrets ",
      missing.map((k, i) => [i ? ", " : "", h("code", null, k)]), " — ",
      h("a", { href: `${href}/settings` }, "set it in Settings"), "."));
  }
  const meta = [t.version ? `v${t.version}` : null, t.layout === "chat" ? "chat" : null].filter(Boolean);
  if (meta.length) parts.push(h("p", { class: "card-meta muted" }, meta.join(" · ")));
  if (t.layout === "chat" && t.status !== "broken") {
    parts.push(h("p", { class: "card-links" }, h("a", { href: `${href}/chat` }, "Open chat")));
  }
  return h("li", { class: ["tool-card", `state-${st.key}`], "data-testid": "tool-card", "data-tool-id": t.id,
    "data-status": st.key }, parts);
}

load();
setInterval(() => { if (!document.hidden) load(); }, 5000);
