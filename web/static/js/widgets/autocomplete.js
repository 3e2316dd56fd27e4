// The autocomplete input (`{type: "autocomplete", endpoint}`): a text field
// with a suggestion list from the tool (GET /api/tools/<id>/autocomplete/<key>?q=,
// docs/dashboard-api.md §4), following the WAI-ARIA combobox pattern: the
// input has role=combobox, aria-expanded, aria-controls and
// aria-activedescendant; the list is a listbox of options. Keys: Down/Up move
// (Down also opens), Enter chooses, Escape closes (a second Escape leaves
// the text alone), Tab closes. Requests wait for a pause in typing
// (DEBOUNCE_MS); an answer to an older text is dropped. When suggestions
// cannot be had, a quiet line under the field says why; whatever is typed
// is still the value.
//
// autocompleteWidget(input, id) -> the form's widget interface (form.js):
// {control, focus, get, set}.
import { h } from "../dom.js";
import { get as apiGet, api, toolIdFromPath } from "../api.js";

export const DEBOUNCE_MS = 200;

// {value, label} of one suggestion of the API (a string or {value, label}).
function normalise(s) {
  if (s && typeof s === "object") {
    const value = String(s.value ?? "");
    return { value, label: s.label === undefined || s.label === null ? value : String(s.label) };
  }
  return { value: String(s), label: String(s) };
}

export function autocompleteWidget(input, id) {
  const listId = `${id}-suggestions`;
  const statusId = `${id}-status`;
  const el = h("input", { id, type: "text", role: "combobox", autocomplete: "off", autocapitalize: "off",
    spellcheck: "false", "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId });
  if (input.placeholder) el.setAttribute("placeholder", String(input.placeholder));
  if (input.max_length) el.setAttribute("maxlength", String(input.max_length));
  const list = h("ul", { id: listId, role: "listbox", class: "ac-list", hidden: true,
    "aria-label": `Suggestions for ${input.label || input.key}` });
  const status = h("p", { id: statusId, class: "ac-status hint", "aria-live": "polite" });
  const toolId = toolIdFromPath();

  let items = [];       // [{value, label, li}]
  let active = -1;
  let timer = null;
  let seq = 0;          // the number of the latest request; older answers are dropped
  let answeredFor = null; // the text the shown items answer

  let counting = false; // the status line holds a suggestion count (cleared when the list closes)
  const setStatus = (text, count = false) => { status.textContent = text || ""; counting = count; };

  const close = () => {
    if (counting) setStatus("");
    list.hidden = true;
    el.setAttribute("aria-expanded", "false");
    el.removeAttribute("aria-activedescendant");
    active = -1;
    for (const it of items) it.li.setAttribute("aria-selected", "false");
  };

  const open = () => {
    if (!items.length) { // nothing to list: "No suggestions." stays said
      list.hidden = true;
      el.setAttribute("aria-expanded", "false");
      return;
    }
    list.hidden = false;
    el.setAttribute("aria-expanded", "true");
  };

  const highlight = (i) => {
    if (!items.length) return;
    active = (i + items.length) % items.length;
    items.forEach((it, n) => it.li.setAttribute("aria-selected", n === active ? "true" : "false"));
    const li = items[active].li;
    el.setAttribute("aria-activedescendant", li.id);
    if (li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  };

  const choose = (i) => {
    const it = items[i];
    if (!it) return;
    el.value = it.value;
    answeredFor = null;
    close();
    setStatus("");
    el.dispatchEvent(new Event("change", { bubbles: true }));
  };

  const show = (suggestions, text) => {
    items = suggestions.map((s, n) => {
      const { value, label } = normalise(s);
      const li = h("li", { id: `${id}-opt-${n}`, role: "option", class: "ac-option", "aria-selected": "false",
        dataset: { value } }, label);
      if (label !== value) li.append(h("span", { class: "ac-value" }, value));
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(n); });
      return { value, label, li };
    });
    list.replaceChildren(...items.map((it) => it.li));
    answeredFor = text;
    active = -1;
    setStatus(items.length ? `${items.length} suggestion${items.length === 1 ? "" : "s"}.` : "No suggestions.", true);
    if (document.activeElement === el) open(); else close();
  };

  const fetchFor = async (text) => {
    const mine = ++seq;
    if (!toolId) return;
    const url = `${api("tools", toolId, "autocomplete", input.key)}?q=${encodeURIComponent(text)}`;
    try {
      const data = await apiGet(url);
      if (mine !== seq) return; // a newer text was asked for
      const got = data && Array.isArray(data.suggestions) ? data.suggestions : [];
      show(got, text);
    } catch (e) {
      if (mine !== seq) return;
      items = [];
      list.replaceChildren();
      close();
      setStatus(`Suggestions unavailable: ${e.message}`);
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    const text = el.value;
    if (text === "") {
      seq++; // drops any answer still on its way
      items = [];
      list.replaceChildren();
      close();
      setStatus("");
      return;
    }
    timer = setTimeout(() => fetchFor(text), DEBOUNCE_MS);
  };

  el.addEventListener("input", schedule);
  el.addEventListener("keydown", (e) => {
    const isOpen = !list.hidden;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!isOpen) {
        if (items.length && answeredFor === el.value) open();
        else { clearTimeout(timer); fetchFor(el.value); return; }
      }
      highlight(active < 0 ? (e.key === "ArrowDown" ? 0 : items.length - 1) : active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter") {
      if (isOpen && active >= 0) { e.preventDefault(); choose(active); }
    } else if (e.key === "Escape") {
      if (isOpen) { e.preventDefault(); e.stopPropagation(); close(); }
    } else if (e.key === "Tab") {
      close();
    }
  });
  el.addEventListener("blur", close);

  return {
    control: h("div", { class: "ac-field" }, el, list, status),
    focus: el,
    get: () => (el.value === "" ? undefined : el.value),
    set: (v) => {
      el.value = v === undefined || v === null ? "" : String(v);
      seq++;
      items = [];
      list.replaceChildren();
      close();
      setStatus("");
    },
  };
}
