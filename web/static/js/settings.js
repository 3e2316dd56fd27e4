// The settings page /tool/<id>/settings, exactly SPEC §5.1: per declared
// secret its key, description and a "set" / "not set" pill; not set → a
// password input with Save; set → Replace (opens an empty password input)
// and Clear (confirmed in the page). Values go out in one POST and are
// never read back, displayed, or kept anywhere (no storage, no cookies):
// the input is emptied as soon as the request has been sent and answered.
import { get, post, del, api, toolIdFromPath } from "./api.js";
import { h, clear } from "./dom.js";
import { loadTool, setTitle, pageError, announce, loadFailure, hideContent } from "./common.js";

const toolId = toolIdFromPath();
const $ = (id) => document.getElementById(id);
const base = () => api("tools", toolId, "secrets");

main().catch((e) => { console.error(e); pageError(`Something went wrong on this page: ${e.message}`); });

async function main() {
  if (!toolId) { pageError("This address names no tool."); hideContent(); return; }
  setTitle("Settings", toolId);
  const tool = await loadTool(toolId, "settings");
  if (!tool) return;
  setTitle("Settings", tool.name || toolId);
  await refresh();
}

// Re-reads the status rows and redraws; focusKey/focusWhat restore focus.
async function refresh(focus) {
  let data;
  try {
    data = await get(base());
  } catch (e) {
    pageError(e.status === 404 ? loadFailure(toolId, e) : `Could not read the secrets' status: ${e.message}`);
    return;
  }
  pageError(null);
  draw(data, focus);
}

function draw(data, focus) {
  const secrets = Array.isArray(data.secrets) ? data.secrets : [];
  const box = $("secrets");
  const parts = [h("h2", { id: "secrets-heading" }, "Secrets")];
  if (data.env_error) {
    parts.push(h("div", { class: "banner banner-warn", role: "alert", "data-testid": "env-error" },
      "The tool's .env file could not be read: ", data.env_error));
  }
  if (!secrets.length) {
    parts.push(h("p", { class: "muted", "data-testid": "no-secrets", id: "no-secrets" },
      "This tool declares no secrets."));
  } else {
    parts.push(h("ul", { class: "secret-list", id: "secret-list", "aria-labelledby": "secrets-heading" },
      secrets.map(secretRow)));
  }
  clear(box, parts);
  drawUndeclared(Array.isArray(data.undeclared) ? data.undeclared : []);
  if (focus) {
    const row = box.querySelector(`[data-key="${CSS.escape(focus.key)}"]`);
    const target = row && (row.querySelector(focus.selector) || row.querySelector("button, input"));
    if (target) target.focus();
  }
}

function drawUndeclared(keys) {
  const box = $("undeclared");
  if (!keys.length) { box.replaceChildren(); return; }
  clear(box,
    h("h2", null, "Other keys in .env"),
    h("p", { class: "hint", "data-testid": "undeclared-hint" },
      "These keys are in the tool's .env file but tool.json does not declare them, so Pixie does not manage them here. "
      + "The tool can still read them. To manage one here, add it to the tool's \"secrets\" list; if it is not needed, remove it from .env."),
    h("ul", { class: "undeclared-list", "data-testid": "undeclared-list" },
      keys.map((k) => h("li", { "data-testid": "undeclared-key" }, h("code", null, String(k))))));
}

function secretRow(s) {
  const key = String(s.key);
  const set = s.set === true;
  const pill = h("span", { class: ["pill", set ? "pill-set" : "pill-unset"], "data-testid": "secret-status" },
    set ? "set" : "not set");
  const head = h("div", { class: "secret-head" },
    h("code", { class: "secret-key", "data-testid": "secret-key" }, key),
    h("span", { class: "visually-hidden" }, " status: "), pill,
    s.required ? h("span", { class: "tag-required" }, "required") : null);
  const row = h("li", { class: "secret", "data-testid": "secret-row", "data-key": key,
    "data-set": set ? "true" : "false", "aria-label": `${key}: ${set ? "set" : "not set"}` },
  head,
  h("p", { class: "secret-desc", "data-testid": "secret-description" }, s.description || "No description."));
  if (s.required && !set) {
    row.append(h("p", { class: "warning", "data-testid": "secret-required-warning" },
      h("span", { "aria-hidden": "true" }, "⚠ "),
      `Required: the tool cannot run until ${key} is set.`));
  }
  const area = h("div", { class: "secret-actions" });
  row.append(area);
  if (set) showSetActions(area, key);
  else area.append(valueForm(key, false, area));
  return row;
}

// The actions of a secret that is set: Replace and Clear.
function showSetActions(area, key) {
  const replace = h("button", { type: "button", class: "secondary", "data-testid": "replace-button" }, "Replace");
  const clearBtn = h("button", { type: "button", class: "danger-outline", "data-testid": "clear-button" }, "Clear");
  replace.addEventListener("click", () => {
    const form = valueForm(key, true, area);
    clear(area, form);
    form.querySelector("input").focus();
  });
  clearBtn.addEventListener("click", () => {
    const confirmBox = confirmClear(key, area);
    clear(area, confirmBox);
    confirmBox.querySelector("button").focus();
  });
  clear(area, replace, clearBtn);
}

// An in-page confirmation for clearing a secret.
function confirmClear(key, area) {
  const msgId = `clear-msg-${key}`;
  const yes = h("button", { type: "button", class: "danger", "data-testid": "confirm-clear-button" }, `Clear ${key}`);
  const no = h("button", { type: "button", class: "secondary", "data-testid": "cancel-clear-button" }, "Keep it");
  const err = h("p", { class: "field-error", role: "alert", hidden: true });
  const box = h("div", { class: "confirm", role: "group", "aria-labelledby": msgId, "data-testid": "clear-confirm" },
    h("p", { id: msgId }, `Remove ${key} from the tool's .env? The tool will no longer see it.`), yes, no, err);
  no.addEventListener("click", () => {
    showSetActions(area, key);
    area.querySelector("[data-testid=clear-button]").focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    no.disabled = true;
    try {
      await del(`${base()}/${encodeURIComponent(key)}`);
    } catch (e) {
      err.hidden = false;
      err.textContent = `Could not clear ${key}: ${e.message}`;
      yes.disabled = false;
      no.disabled = false;
      return;
    }
    announce(`${key} cleared.`);
    await refresh({ key, selector: "input" });
  });
  return box;
}

// The value form: a password input (never pre-filled) and Save. When
// `replacing`, also a Cancel that goes back to Replace / Clear.
function valueForm(key, replacing, area) {
  const id = `secret-${key}`;
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const input = h("input", { id, type: "password", autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", "data-testid": "secret-input", "aria-describedby": `${hintId} ${errId}`,
    "data-1p-ignore": "true", "data-lpignore": "true" });
  const save = h("button", { type: "submit", "data-testid": "save-button" }, "Save");
  const err = h("p", { class: "field-error", id: errId, role: "alert", hidden: true, "data-testid": "secret-error" });
  const form = h("form", { class: "secret-form", autocomplete: "off", novalidate: true, "data-testid": "secret-form" },
    h("label", { for: id }, replacing ? `New value for ${key}` : `Value for ${key}`),
    h("div", { class: "inline-row" }, input, save,
      replacing ? h("button", { type: "button", class: "secondary", "data-testid": "cancel-replace-button",
        onclick: () => { input.value = ""; showSetActions(area, key); area.querySelector("button").focus(); } }, "Cancel") : null),
    h("p", { class: "hint", id: hintId }, replacing
      ? "The current value stays hidden; what you type replaces it."
      : "Saved to the tool's .env file; it will not be shown again."),
    err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.hidden = true;
    err.textContent = "";
    input.removeAttribute("aria-invalid");
    if (input.value === "") {
      err.hidden = false;
      err.textContent = "Enter a value first.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    save.disabled = true;
    const body = { value: input.value };
    let failed = null;
    try {
      await post(`${base()}/${encodeURIComponent(key)}`, body);
    } catch (ex) {
      failed = ex;
    } finally {
      body.value = "";
    }
    save.disabled = false;
    if (failed) {
      err.hidden = false;
      err.textContent = failed.status === 413
        ? `Not saved: the value is too large (at most 64 KiB).`
        : `Not saved: ${failed.message}`;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    input.value = "";
    announce(`${key} saved.`);
    await refresh({ key, selector: "[data-testid=replace-button]" });
  });
  return form;
}
