// The logs page /tool/<id>/logs: a live tail of the tool's (masked) process
// output, polled from /api/tools/<id>/logs?after=<last id> every second.
import { get, api, toolIdFromPath } from "./api.js";
import { h, fmtTime } from "./dom.js";
import { loadTool, setTitle, pageError, hideContent } from "./common.js";

const toolId = toolIdFromPath();
const $ = (id) => document.getElementById(id);
const MAX_LINES = 5000;
let after = 0;
let paused = false;
let timer = null;

main().catch((e) => { console.error(e); pageError(`Something went wrong on this page: ${e.message}`); });

async function main() {
  if (!toolId) { pageError("This address names no tool."); hideContent(); return; }
  setTitle("Logs", toolId);
  const tool = await loadTool(toolId, "logs");
  if (!tool) return;
  setTitle("Logs", tool.name || toolId);
  const pause = $("logs-pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    pause.textContent = paused ? "Resume" : "Pause";
    $("logs-state").textContent = paused ? "Paused." : "";
    if (!paused) poll();
  });
  poll();
}

async function poll() {
  clearTimeout(timer);
  if (paused) return;
  let data;
  try {
    data = await get(`${api("tools", toolId, "logs")}?after=${encodeURIComponent(after)}&limit=500`);
  } catch (e) {
    $("logs-state").textContent = `Could not read the log: ${e.message}`;
    timer = setTimeout(poll, 3000);
    return;
  }
  const lines = Array.isArray(data.lines) ? data.lines : [];
  append(lines);
  if (data.last !== undefined && data.last !== null) after = data.last;
  else if (lines.length) after = lines[lines.length - 1].id;
  if (!paused) {
    const list = $("log-lines");
    $("logs-state").textContent = list.children.length ? "" : "No output yet.";
  }
  // more lines waiting: ask again at once
  timer = setTimeout(poll, lines.length >= 500 ? 0 : 1000);
}

function append(lines) {
  if (!lines.length) return;
  const list = $("log-lines");
  const follow = $("logs-follow").checked;
  const frag = document.createDocumentFragment();
  for (const l of lines) {
    const stream = l.stream || "out";
    frag.append(h("li", { class: ["log-line", `stream-${stream}`], "data-id": l.id, "data-stream": stream },
      h("span", { class: "log-meta" }, `${fmtTime(l.at)} ${stream}`), " ",
      h("span", { class: "log-text" }, String(l.text ?? "").replace(/\r?\n$/, ""))));
  }
  list.append(frag);
  while (list.children.length > MAX_LINES) list.firstElementChild.remove();
  if (follow) list.scrollTop = list.scrollHeight;
}
