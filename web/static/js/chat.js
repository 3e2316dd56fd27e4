// The chat page /tool/<id>/chat (layout: chat tools): a conversation kept
// for this page session only. Each Send starts a run with inputs
// {messages: [...every turn, the new user message], history: [...turns
// before it]} (docs/dashboard-api.md §4, as `pixie chat`) plus the tool's other inputs
// from the Options form; the reply streams in from the run's events.
import { get, post, api, toolIdFromPath } from "./api.js";
import { h } from "./dom.js";
import { loadTool, setTitle, pageError, announce, hideContent } from "./common.js";
import { buildForm } from "./form.js";
import { loadRenderer, follow } from "./outputs.js";

const toolId = toolIdFromPath();
const $ = (id) => document.getElementById(id);
const ENVELOPE = ["messages", "history"];

let tool = null;
let replySpec = null;
let options = null;
let history = []; // [{role, content}] — this page session only
let current = null; // {runId, close}

main().catch((e) => { console.error(e); pageError(`Something went wrong on this page: ${e.message}`); });

async function main() {
  if (!toolId) { pageError("This address names no tool."); hideContent(); return; }
  setTitle("Chat", toolId);
  tool = await loadTool(toolId, "chat");
  if (!tool) {
    $("chat-form").hidden = true;
    return;
  }
  setTitle(tool.name || toolId, "Chat");
  $("tool-description").textContent = tool.description || "";
  const notes = $("tool-notices");
  const base = `/tool/${encodeURIComponent(toolId)}`;
  if (tool.status === "broken" || !tool.spec) {
    notes.append(h("div", { class: "banner banner-error", role: "alert", "data-testid": "broken-errors" },
      h("p", null, "This tool is broken: ", h("a", { href: base }, "see its errors"), "."),
      h("ul", null, (tool.errors || []).map((e) => h("li", { class: "mono" }, String(e))))));
    $("chat-form").hidden = true;
    return;
  }
  if (tool.layout !== "chat") {
    notes.append(h("div", { class: "banner banner-info", "data-testid": "not-chat" },
      h("p", null, "This tool is not a chat tool; it may not understand a conversation. ",
        h("a", { href: base }, "Use its form"), " instead.")));
  }
  const missing = tool.secrets_missing || [];
  if (missing.length) {
    notes.append(h("div", { class: "banner banner-warn", role: "status", "data-testid": "secret-warning" },
      h("p", null, `Required secret${missing.length > 1 ? "s" : ""} not set: `,
        missing.map((k, i) => [i ? ", " : "", h("code", null, k)]), ". ",
        h("a", { href: `${base}/settings`, "data-testid": "settings-link" }, "Set it in Settings"), ".")));
  }
  const outs = tool.spec.outputs || [];
  replySpec = outs.find((o) => o.type === "stream_text")
    || outs.find((o) => ["reply", "response", "answer", "message", "content"].includes(o.key))
    || outs.find((o) => ["markdown", "text"].includes(o.type)) || outs[0] || null;
  const extra = (tool.spec.inputs || []).filter((i) => !ENVELOPE.includes(i.key));
  if (extra.length) {
    options = buildForm($("chat-options-form"), extra, tool.last_inputs || {}, {});
    $("chat-options").hidden = false;
  }
  await loadRenderer();
  $("chat-form").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("chat-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $("chat-cancel").addEventListener("click", cancel);
  $("chat-clear").addEventListener("click", () => {
    if (current) return;
    history = [];
    $("chat-log").replaceChildren();
    $("chat-empty").hidden = false;
    announce("Conversation cleared.");
    $("chat-input").focus();
  });
}

function showError(msg) {
  const el = $("chat-error");
  el.hidden = !msg;
  el.textContent = msg || "";
}

function bubble(role, text) {
  const body = h("div", { class: "bubble-body" });
  if (text !== undefined) body.textContent = text;
  const li = h("li", { class: ["bubble", `bubble-${role}`], "data-role": role, "data-testid": `chat-${role}` },
    h("span", { class: "bubble-who" }, role === "user" ? "You" : tool.name || "Assistant"), body);
  $("chat-log").append(li);
  $("chat-empty").hidden = true;
  li.scrollIntoView({ block: "nearest" });
  return { li, body };
}

// The reply text of a run's outputs (a string, or the value of {value}).
function replyText(outputs) {
  if (!outputs || !replySpec) return "";
  let v = outputs[replySpec.key];
  if (v && typeof v === "object" && !Array.isArray(v) && "value" in v) v = v.value;
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function setBusy(on) {
  $("chat-send").disabled = on;
  $("chat-cancel").hidden = !on;
  $("chat-cancel").disabled = !on;
  $("chat-clear").disabled = on;
  $("chat-log").setAttribute("aria-busy", on ? "true" : "false");
}

async function send() {
  if (current) return;
  showError(null);
  const box = $("chat-input");
  const content = box.value;
  if (content.trim() === "") { showError("Type a message first."); box.focus(); return; }
  let extra = {};
  if (options) {
    const r = await options.collect();
    if (!r.ok) { $("chat-options").open = true; showError("Some options need attention."); return; }
    extra = r.values;
  }
  const turn = { role: "user", content };
  const inputs = { ...extra, messages: [...history, turn], history: [...history] };
  current = { runId: null, close: null };
  setBusy(true);
  box.value = "";
  const mine = bubble("user", content);
  const reply = bubble("assistant");
  reply.li.dataset.state = "running";
  reply.body.append(h("span", { class: "typing" }, "…"));
  const renderOutput = await loadRenderer();
  let r = null;
  const ensureRenderer = () => {
    if (!r) {
      reply.body.replaceChildren();
      r = replySpec ? renderOutput(reply.body, replySpec, undefined) : null;
    }
    return r;
  };
  const fail = (msg) => {
    current = null;
    setBusy(false);
    reply.li.dataset.state = "error";
    reply.body.replaceChildren(h("span", { class: "field-error" }, msg));
    mine.li.dataset.state = "unsent";
    box.value = box.value || content;
    showError(msg);
    box.focus();
  };
  let answer;
  try {
    answer = await post(api("tools", toolId, "run"), { inputs, wait: false });
  } catch (e) {
    const fields = Object.entries(e.fields || {}).map(([k, m]) => `${k}: ${m}`);
    fail(fields.length ? `${e.message} (${fields.join("; ")})` : e.message);
    if (options && e.fields) options.showServerErrors(e.fields);
    return;
  }
  current.runId = answer.run_id;
  reply.li.dataset.runId = answer.run_id;
  current.close = follow(answer.run_id, {
    update: (d) => {
      if (!d || !d.outputs || !replySpec || !(replySpec.key in d.outputs)) return;
      const rr = ensureRenderer();
      if (rr) rr.update(d.outputs[replySpec.key]);
    },
    final: (run) => {
      if (run.status !== "ok") {
        const word = { cancelled: "Cancelled", timeout: "Timed out", error: "Failed" }[run.status] || run.status;
        fail(`${word}${run.error_text ? `: ${run.error_text}` : "."}`);
        return;
      }
      current = null;
      setBusy(false);
      const rr = ensureRenderer();
      if (rr && replySpec) rr.update(run.outputs ? run.outputs[replySpec.key] : undefined);
      else reply.body.textContent = replyText(run.outputs);
      reply.li.dataset.state = "done";
      history.push(turn, { role: "assistant", content: replyText(run.outputs) });
      announce("Reply received.");
      box.focus();
    },
    error: (msg) => fail(`Lost track of the reply: ${msg}`),
  }, (id) => get(api("runs", id)));
}

async function cancel() {
  if (!current || !current.runId) return;
  $("chat-cancel").disabled = true;
  try {
    await post(api("runs", current.runId, "cancel"));
  } catch (e) {
    if (e.status !== 409) showError(`Could not cancel: ${e.message}`);
  }
}
