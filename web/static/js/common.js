// What every page shares: the tool navigation, the page error banner and
// the polite live region used to announce results to screen readers.
import { h, clear } from "./dom.js";
import { get, api } from "./api.js";

// Fills <nav id="tool-nav"> with the tool's pages; `current` is one of
// "tool", "chat", "settings", "logs". tool may be null (unknown yet).
export function toolNav(toolId, tool, current) {
  const nav = document.getElementById("tool-nav");
  if (!nav) return;
  const base = `/tool/${encodeURIComponent(toolId)}`;
  const links = [["tool", base, "Run"]];
  if (tool && tool.layout === "chat") links.push(["chat", `${base}/chat`, "Chat"]);
  links.push(["settings", `${base}/settings`, "Settings"], ["logs", `${base}/logs`, "Logs"]);
  clear(nav, h("ul", null, links.map(([key, href, text]) =>
    h("li", null, h("a", {
      href, "data-testid": `nav-${key}`, "aria-current": key === current ? "page" : null,
    }, text)))));
}

// Sets the page heading (and the document title).
export function setTitle(text, sub) {
  const el = document.getElementById("page-title");
  if (el) clear(el, text, sub ? h("span", { class: "subtitle" }, ` — ${sub}`) : null);
  document.title = `${text}${sub ? ` — ${sub}` : ""} · Pixie`;
}

// Shows a page-level error (role=alert) or clears it when msg is empty.
export function pageError(msg) {
  const el = document.getElementById("page-error");
  if (!el) return;
  if (!msg) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  el.hidden = false;
  clear(el, ...(Array.isArray(msg) ? msg : [msg]));
}

// Announces a short message in the page's polite live region.
export function announce(msg) {
  const el = document.getElementById("live");
  if (!el) return;
  el.textContent = "";
  // a new text node after a tick makes screen readers repeat equal messages
  setTimeout(() => { el.textContent = msg; }, 30);
}

// The message for a failed load of a tool: 404 gets a friendly line with
// a link home. Returns nodes/strings for pageError.
export function loadFailure(toolId, err) {
  if (err && err.status === 404) {
    return [`There is no tool “${toolId}”. `, h("a", { href: "/", "data-testid": "home-link" }, "Back to the dashboard"), "."];
  }
  return `Could not load the tool: ${err && err.message ? err.message : err}`;
}

// Hides everything in <main> but the heading and the error banner (a page
// whose tool could not be loaded has nothing else to offer).
export function hideContent() {
  const main = document.getElementById("main");
  if (!main) return;
  for (const el of main.children) {
    if (el.id !== "page-title" && el.id !== "page-error") el.hidden = true;
  }
}

// Loads the tool a page is about (GET /api/tools/<id>), drawing the tool
// navigation before (bare) and after (with the tool's pages). Returns the
// tool, or null after showing why (404: a link home) with the content hidden.
export async function loadTool(toolId, section) {
  toolNav(toolId, null, section);
  let tool;
  try {
    tool = await get(api("tools", toolId));
  } catch (e) {
    pageError(loadFailure(toolId, e));
    hideContent();
    return null;
  }
  toolNav(toolId, tool, section);
  return tool;
}
