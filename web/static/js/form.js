// The run form: one labelled, accessible widget for each of the 28 input
// types of lua/pixie/toolspec.lua (INPUT_TYPES), with `group` fieldsets,
// `show_if`, defaults / last_inputs pre-fill and validation messages next
// to each field (the client's own and the server's 400 `fields`).
//
// buildForm(formEl, inputs, initial, opts) -> controller:
//   collect()            -> Promise<{values, ok}>: validates every visible
//                           field, shows the messages, focuses the first bad one
//   setValues(values)    fills the fields (replay), missing keys get defaults
//   showServerErrors(fields) -> keys it could not place (not a visible field)
//   clearErrors()
// Value shapes follow lua/pixie/inputs.lua: strings for text-like, date,
// time, colour and file types (files as base64 data URLs, like the
// original's sample value), numbers, booleans, arrays for multiselect,
// tags, table (rows as {column_key: value}), date_range [start, end],
// map_point [lat, lon], map_bbox [south, west, north, east], map_polygon /
// map_multipoint [[lat, lon], ...]; json any JSON value. The autocomplete
// and map widgets live in widgets/ (autocomplete.js, mapinput.js).
import { h, uid, fmtBytes, readNumber } from "./dom.js";
import { autocompleteWidget } from "./widgets/autocomplete.js";
import { mapWidget } from "./widgets/mapinput.js";

// A run's JSON body may be 64 MiB (the run route is an upload route,
// docs/dashboard-api.md §2); files travel base64-encoded inside it (4 bytes per 3).
const BODY_LIMIT = 64 * 1024 * 1024;
const MB = 1024 * 1024;

const isEmpty = (v) => v === undefined || v === null;

// Loose equality used by show_if (the server compares values or their text).
function sameValue(a, b) {
  if (a === b) return true;
  if (isEmpty(a) || isEmpty(b)) return false;
  if (typeof a === "object" || typeof b === "object") return JSON.stringify(a) === JSON.stringify(b);
  return String(a) === String(b);
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  return el;
}

// ---------------------------------------------------------------------------
// Widgets. Each builder gets (input, id) and returns
//   {control, focus, get() -> value | undefined, set(value), check?() -> msg | null,
//    compound?: true (rendered in a fieldset whose legend is the label),
//    pending?() -> Promise (async reads, e.g. files)}

function textLike(tag, type) {
  return (input, id) => {
    const el = tag === "textarea" ? h("textarea", { id, rows: 4 }) : h("input", { id, type });
    setAttrs(el, { placeholder: input.placeholder, maxlength: input.max_length });
    if (input.monospace || tag === "code") el.classList.add("mono");
    return {
      control: el,
      focus: el,
      get: () => (el.value === "" ? undefined : el.value),
      set: (v) => { el.value = isEmpty(v) ? "" : String(v); },
    };
  };
}

function codeArea(input, id) {
  const el = h("textarea", { id, rows: 8, class: "mono", spellcheck: "false", autocapitalize: "off",
    "data-language": input.language || null });
  return {
    control: el, focus: el,
    get: () => (el.value === "" ? undefined : el.value),
    set: (v) => { el.value = isEmpty(v) ? "" : String(v); },
  };
}

function numberWidget(input, id) {
  const el = h("input", { id, type: "number", inputmode: "decimal" });
  setAttrs(el, { min: input.min, max: input.max, step: input.step || "any" });
  const control = input.unit
    ? h("div", { class: "with-unit" }, el, h("span", { class: "unit", id: `${id}-unit` }, input.unit))
    : el;
  return {
    control, focus: el, unitId: input.unit ? `${id}-unit` : null,
    get: () => readNumber(el),
    set: (v) => { el.value = typeof v === "number" ? String(v) : isEmpty(v) ? "" : String(v); },
    check: () => {
      const v = readNumber(el);
      if (v === undefined) return null;
      if (Number.isNaN(v) || !Number.isFinite(v)) return "Enter a number.";
      if (!isEmpty(input.min) && v < input.min) return `Must be at least ${input.min}.`;
      if (!isEmpty(input.max) && v > input.max) return `Must be at most ${input.max}.`;
      return null;
    },
  };
}

function sliderStep(input) {
  if (input.step) return input.step;
  return Number.isInteger(input.min) && Number.isInteger(input.max) ? 1 : "any";
}

function oneRange(id, input, labelText) {
  const el = h("input", { id, type: "range" });
  setAttrs(el, { min: input.min, max: input.max, step: sliderStep(input) });
  const out = h("output", { for: id, class: "range-value", "aria-hidden": "true" });
  const sync = () => {
    out.textContent = el.value + (input.unit ? ` ${input.unit}` : "");
    el.setAttribute("aria-valuetext", out.textContent);
  };
  el.addEventListener("input", sync);
  const row = h("div", { class: "range-row" },
    labelText ? h("label", { for: id }, labelText) : null, el, out);
  return { el, row, sync };
}

function sliderWidget(input, id) {
  if (input.range) {
    const lo = oneRange(`${id}-from`, input, "From");
    const hi = oneRange(`${id}-to`, input, "To");
    return {
      compound: true,
      control: h("div", { class: "range-pair" }, lo.row, hi.row),
      focus: lo.el,
      get: () => [Number(lo.el.value), Number(hi.el.value)],
      set: (v) => {
        const [a, b] = Array.isArray(v) ? v : [input.min, input.max];
        lo.el.value = String(isEmpty(a) ? input.min : a);
        hi.el.value = String(isEmpty(b) ? input.max : b);
        lo.sync(); hi.sync();
      },
      check: () => (Number(lo.el.value) > Number(hi.el.value) ? "“From” must not be greater than “To”." : null),
    };
  }
  const r = oneRange(id, input, null);
  return {
    control: r.row, focus: r.el,
    get: () => Number(r.el.value),
    set: (v) => {
      r.el.value = String(typeof v === "number" ? v : (input.min + input.max) / 2);
      r.sync();
    },
  };
}

function selectWidget(input, id) {
  const options = input.options || [];
  const el = h("select", { id });
  const placeholder = h("option", { value: "" }, input.required === false ? "(none)" : "Choose…");
  el.append(placeholder);
  options.forEach((o, i) => el.append(h("option", { value: String(i) }, o.label)));
  return {
    control: el, focus: el,
    get: () => (el.value === "" ? undefined : options[Number(el.value)].value),
    set: (v) => {
      const i = options.findIndex((o) => sameValue(o.value, v));
      el.value = i >= 0 ? String(i) : "";
    },
  };
}

function choiceGroup(kind) {
  return (input, id) => {
    const options = input.options || [];
    const boxes = options.map((o, i) => {
      const oid = `${id}-${i}`;
      const box = h("input", { id: oid, type: kind, name: id, value: String(i) });
      return { box, row: h("div", { class: "check" }, box, h("label", { for: oid }, o.label)) };
    });
    return {
      compound: true,
      control: h("div", { class: "choices" }, boxes.map((b) => b.row)),
      focus: boxes.length ? boxes[0].box : null,
      get: () => {
        const picked = boxes.map((b, i) => (b.box.checked ? options[i].value : undefined))
          .filter((v) => v !== undefined);
        if (kind === "radio") return picked.length ? picked[0] : undefined;
        return picked;
      },
      set: (v) => {
        const list = kind === "radio" ? [v] : Array.isArray(v) ? v : [];
        boxes.forEach((b, i) => { b.box.checked = list.some((x) => sameValue(x, options[i].value)); });
      },
      check: () => (kind === "checkbox" && input.required !== false
        && !boxes.some((b) => b.box.checked) ? "Choose at least one." : null),
    };
  };
}

function checkWidget(isSwitch) {
  return (input, id) => {
    const el = h("input", { id, type: "checkbox", role: isSwitch ? "switch" : null,
      class: isSwitch ? "switch" : null });
    return {
      inlineLabel: true,
      control: el, focus: el,
      get: () => el.checked,
      set: (v) => { el.checked = v === true || v === "true"; },
    };
  };
}

function dateLike(type) {
  return (input, id) => {
    const el = h("input", { id, type });
    setAttrs(el, { min: input.min, max: input.max });
    return {
      control: el, focus: el,
      get: () => (el.value === "" ? undefined : el.value),
      set: (v) => {
        let s = isEmpty(v) ? "" : String(v);
        if (type === "datetime-local") s = s.replace(" ", "T");
        if ((type === "time" && /^\d\d:\d\d:\d\d/.test(s)) || (type === "datetime-local" && /T\d\d:\d\d:\d\d/.test(s))) {
          el.step = "1";
        }
        el.value = s;
      },
      check: () => {
        if (el.validity.badInput) return "Enter a complete value.";
        if (el.validity.rangeUnderflow) return `Must be on or after ${input.min}.`;
        if (el.validity.rangeOverflow) return `Must be on or before ${input.max}.`;
        return null;
      },
    };
  };
}

function dateRangeWidget(input, id) {
  const a = h("input", { id: `${id}-start`, type: "date" });
  const b = h("input", { id: `${id}-end`, type: "date" });
  for (const el of [a, b]) setAttrs(el, { min: input.min, max: input.max });
  return {
    compound: true,
    control: h("div", { class: "pair" },
      h("div", { class: "sub" }, h("label", { for: a.id }, "Start"), a),
      h("div", { class: "sub" }, h("label", { for: b.id }, "End"), b)),
    focus: a,
    get: () => (a.value === "" && b.value === "" ? undefined : [a.value, b.value]),
    set: (v) => {
      const [x, y] = Array.isArray(v) ? v : [];
      a.value = isEmpty(x) ? "" : String(x);
      b.value = isEmpty(y) ? "" : String(y);
    },
    check: () => {
      if (a.value === "" && b.value === "") return null;
      if (a.value === "" || b.value === "") return "Enter both the start and the end date.";
      if (a.value > b.value) return "The start must not be after the end.";
      return null;
    },
  };
}

// What a data URL is, for the "previous file" line: "image/png, 1.2 KB".
function describeDataUrl(s) {
  const m = /^data:([^;,]*)(;base64)?,/.exec(s || "");
  if (!m) return `${fmtBytes((s || "").length)} of text`;
  const payload = s.length - m[0].length;
  const bytes = m[2] ? Math.floor(payload * 3 / 4) : payload;
  return `${m[1] || "data"}, ${fmtBytes(bytes)}`;
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error || new Error("could not read the file"));
    r.readAsDataURL(file);
  });
}

function fileWidget(kind) {
  return (input, id) => {
    const multiple = kind !== "audio" && input.multiple === true;
    let accept = input.accept;
    if (Array.isArray(accept)) accept = accept.join(",");
    if (kind === "image") accept = "image/*";
    if (kind === "audio") accept = "audio/*";
    const el = h("input", { id, type: "file", accept: accept || null, multiple });
    const info = h("ul", { class: "file-info", "aria-live": "polite" });
    const remove = h("button", { type: "button", class: "secondary small", hidden: true }, "Remove");
    let value; // string | string[] | undefined
    let problem = null;
    let pending = Promise.resolve();
    const show = (lines) => {
      info.replaceChildren(...lines.map((t) => h("li", null, t)));
      remove.hidden = isEmpty(value);
    };
    const limits = [];
    if (accept) limits.push(`Accepts ${accept}.`);
    if (input.max_size_mb) limits.push(`At most ${input.max_size_mb} MB${multiple ? " each" : ""}.`);
    el.addEventListener("change", () => {
      const files = Array.from(el.files || []);
      problem = null;
      if (!files.length) { value = undefined; show([]); return; }
      const max = input.max_size_mb ? input.max_size_mb * MB : Infinity;
      const big = files.find((f) => f.size > max);
      if (big) problem = `${big.name} is larger than the limit of this field (${input.max_size_mb} MB).`;
      show(files.map((f) => `${f.name} (${fmtBytes(f.size)})`));
      pending = Promise.all(files.map(readAsDataUrl)).then((urls) => {
        value = multiple ? urls : urls[0];
        const total = urls.reduce((n, u) => n + u.length, 0);
        if (!problem && total > BODY_LIMIT - 4096) {
          problem = `Too large to send from the dashboard: a run carries at most ${BODY_LIMIT / MB} MiB, ` +
            `so about ${Math.floor((BODY_LIMIT / MB) * 3 / 4)} MiB of files (they travel base64-encoded).`;
        }
        remove.hidden = false;
      }, (e) => { value = undefined; problem = `Could not read the file: ${e.message}`; });
    });
    remove.addEventListener("click", () => {
      el.value = "";
      value = undefined;
      problem = null;
      show([]);
      el.focus();
    });
    return {
      control: h("div", { class: "file-field" }, el, info, remove,
        limits.length ? h("p", { class: "hint" }, limits.join(" ")) : null),
      focus: el,
      pending: () => pending,
      get: () => value,
      set: (v) => {
        el.value = "";
        problem = null;
        value = isEmpty(v) || (Array.isArray(v) && !v.length) ? undefined : v;
        const list = isEmpty(value) ? [] : Array.isArray(value) ? value : [value];
        show(list.map((s) => `Previous file: ${describeDataUrl(String(s))}`));
      },
      check: () => problem,
    };
  };
}

function colourWidget(input, id) {
  const el = h("input", { id, type: "color" });
  return {
    control: el, focus: el,
    get: () => el.value,
    set: (v) => {
      let s = typeof v === "string" ? v.trim().toLowerCase() : "";
      if (/^#[0-9a-f]{3}$/.test(s)) s = `#${s[1]}${s[1]}${s[2]}${s[2]}${s[3]}${s[3]}`;
      el.value = /^#[0-9a-f]{6}$/.test(s) ? s : "#000000";
    },
  };
}

function jsonWidget(input, id) {
  const el = h("textarea", { id, rows: 6, class: "mono", spellcheck: "false", autocapitalize: "off" });
  const parse = () => {
    if (el.value.trim() === "") return { value: undefined };
    try {
      return { value: JSON.parse(el.value) };
    } catch (e) {
      return { error: `Not valid JSON: ${e.message}` };
    }
  };
  return {
    control: el, focus: el,
    get: () => parse().value,
    set: (v) => { el.value = v === undefined || v === null ? "" : JSON.stringify(v, null, 2); },
    check: () => parse().error || null,
  };
}

function tagsWidget(input, id) {
  const listId = `${id}-suggestions`;
  const el = h("input", { id, type: "text", list: input.suggestions && input.suggestions.length ? listId : null,
    placeholder: "tag one, tag two", autocapitalize: "off" });
  const chips = h("ul", { class: "chips", "aria-hidden": "true" });
  const split = () => el.value.split(",").map((s) => s.trim()).filter(Boolean);
  const draw = () => chips.replaceChildren(...split().map((t) => h("li", { class: "chip" }, t)));
  el.addEventListener("input", draw);
  const datalist = input.suggestions && input.suggestions.length
    ? h("datalist", { id: listId }, input.suggestions.map((s) => h("option", { value: s })))
    : null;
  return {
    control: h("div", { class: "tags-field" }, el, datalist, chips),
    focus: el,
    hint: "Separate tags with commas.",
    get: () => split(),
    set: (v) => { el.value = Array.isArray(v) ? v.join(", ") : ""; draw(); },
    check: () => (input.required !== false && split().length === 0 ? "Add at least one tag." : null),
  };
}

function cellInput(col, labelText) {
  const t = col.type;
  if (t === "checkbox" || t === "boolean") return h("input", { type: "checkbox", "aria-label": labelText });
  const type = t === "number" || t === "integer" ? "number" : t === "date" ? "date" : "text";
  return h("input", { type, "aria-label": labelText, step: type === "number" ? "any" : null });
}

function tableWidget(input, id) {
  const cols = input.columns || [];
  const body = h("tbody");
  const add = h("button", { type: "button", class: "secondary small", id: `${id}-add` }, "Add row");
  const rows = []; // [{tr, cells: [{col, el}]}]
  const renumber = () => {
    rows.forEach((r, i) => {
      r.cells.forEach((c) => c.el.setAttribute("aria-label", `${c.col.label}, row ${i + 1}`));
      r.del.setAttribute("aria-label", `Remove row ${i + 1}`);
      r.del.disabled = !isEmpty(input.min_rows) && rows.length <= input.min_rows;
    });
    add.disabled = !isEmpty(input.max_rows) && input.max_rows > 0 && rows.length >= input.max_rows;
  };
  const addRow = (values) => {
    const cells = cols.map((col) => {
      const el = cellInput(col, col.label);
      const v = values ? values[col.key] : undefined;
      if (el.type === "checkbox") el.checked = v === true;
      else el.value = isEmpty(v) ? "" : String(v);
      return { col, el };
    });
    const del = h("button", { type: "button", class: "icon-button" }, "×");
    const tr = h("tr", null, cells.map((c) => h("td", null, c.el)), h("td", null, del));
    const row = { tr, cells, del };
    del.addEventListener("click", () => {
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      tr.remove();
      renumber();
      (rows[Math.min(i, rows.length - 1)]?.cells[0]?.el || add).focus();
      add.dispatchEvent(new Event("input", { bubbles: true }));
    });
    rows.push(row);
    body.append(tr);
    renumber();
    return row;
  };
  add.addEventListener("click", () => {
    const r = addRow(null);
    if (r.cells[0]) r.cells[0].el.focus();
  });
  const rowValue = (r) => {
    const o = {};
    let any = false;
    for (const { col, el } of r.cells) {
      if (el.type === "checkbox") { o[col.key] = el.checked; any = any || el.checked; continue; }
      if (el.value === "") { o[col.key] = null; continue; }
      any = true;
      o[col.key] = el.type === "number" ? Number(el.value) : el.value;
    }
    return any ? o : null;
  };
  const table = h("table", { class: "input-table", id: `${id}-table` },
    h("thead", null, h("tr", null, cols.map((c) => h("th", { scope: "col" }, c.label)),
      h("th", null, h("span", { class: "visually-hidden" }, "Actions")))),
    body);
  return {
    compound: true,
    control: h("div", { class: "table-field" }, h("div", { class: "table-scroll" }, table), add),
    focus: add,
    get: () => rows.map(rowValue).filter(Boolean),
    set: (v) => {
      rows.splice(0).forEach((r) => r.tr.remove());
      const list = Array.isArray(v) ? v : [];
      list.forEach((r) => addRow(r && typeof r === "object" ? r : null));
      const min = Math.max(input.min_rows || 0, list.length ? 0 : 1);
      while (rows.length < min) addRow(null);
      renumber();
    },
    check: () => {
      const n = rows.map(rowValue).filter(Boolean).length;
      if (rows.some((r) => r.cells.some((c) => c.el.validity && c.el.validity.badInput))) return "A number cell holds something that is not a number.";
      if (!isEmpty(input.min_rows) && n < input.min_rows) return `Enter at least ${input.min_rows} row${input.min_rows === 1 ? "" : "s"}.`;
      if (!isEmpty(input.max_rows) && input.max_rows > 0 && n > input.max_rows) return `Enter at most ${input.max_rows} rows.`;
      return null;
    },
  };
}

function hiddenWidget(input, id) {
  const el = h("input", { id, type: "hidden" });
  let value;
  return {
    hidden: true,
    control: el, focus: null,
    get: () => (isEmpty(value) ? undefined : value),
    set: (v) => { value = v; el.value = isEmpty(v) ? "" : typeof v === "string" ? v : JSON.stringify(v); },
  };
}

export const WIDGETS = {
  text: textLike("input", "text"),
  textarea: textLike("textarea"),
  number: numberWidget,
  slider: sliderWidget,
  select: selectWidget,
  multiselect: choiceGroup("checkbox"),
  checkbox: checkWidget(false),
  toggle: checkWidget(true),
  radio: choiceGroup("radio"),
  date: dateLike("date"),
  time: dateLike("time"),
  datetime: dateLike("datetime-local"),
  date_range: dateRangeWidget,
  file: fileWidget("file"),
  image: fileWidget("image"),
  audio: fileWidget("audio"),
  colour: colourWidget,
  json: jsonWidget,
  code: codeArea,
  markdown: codeArea,
  tags: tagsWidget,
  autocomplete: autocompleteWidget,
  table: tableWidget,
  map_point: mapWidget("point"),
  map_bbox: mapWidget("bbox"),
  map_polygon: mapWidget("polygon"),
  map_multipoint: mapWidget("multipoint"),
  hidden: hiddenWidget,
};

// A widget for a type this page does not know: edit its value as JSON.
function fallbackWidget(input, id) {
  const w = jsonWidget(input, id);
  w.hint = `Unknown input type “${input.type}”: enter its value as JSON.`;
  return w;
}

// ---------------------------------------------------------------------------
// Fields

function makeField(input) {
  const id = uid("in", input.key);
  const make = WIDGETS[input.type] || fallbackWidget;
  const w = make(input, id);
  const required = input.required !== false && !["checkbox", "toggle", "hidden"].includes(input.type);
  const descId = `${id}-desc`;
  const errId = `${id}-err`;
  const hints = [input.description, w.hint, input.type === "code" && input.language ? `Language: ${input.language}.` : null,
    input.type === "markdown" ? "Markdown." : null].filter(Boolean);
  const desc = hints.length ? h("p", { class: "hint", id: descId }, hints.join(" ")) : null;
  const err = h("p", { class: "field-error", id: errId, hidden: true });
  const describedBy = [desc ? descId : null, errId].filter(Boolean);
  // Labels and legends hold exactly the input's label (their accessible
  // name); the required mark is a sibling, aria-required / the description
  // say it to assistive technology.
  const reqMark = () => (required ? h("span", { class: "req", "aria-hidden": "true", title: "required" }, "*") : null);
  if (w.unitId) describedBy.unshift(w.unitId);
  const describedByText = describedBy.join(" ");

  let wrap;
  let invalidTargets;
  if (w.compound) {
    if (required && desc) desc.prepend(h("span", { class: "visually-hidden" }, "Required. "));
    const reqNote = required && !desc ? h("p", { class: "visually-hidden", id: descId }, "Required.") : null;
    wrap = h("fieldset", { class: ["field", "compound", required ? "required" : null],
      "aria-describedby": [reqNote ? descId : null, describedByText].filter(Boolean).join(" ") },
    h("legend", null, input.label), w.control, desc || reqNote, err);
    invalidTargets = Array.from(w.control.querySelectorAll("input, select, textarea"));
  } else if (w.inlineLabel) {
    w.control.setAttribute("aria-describedby", describedByText);
    wrap = h("div", { class: "field inline" },
      h("div", { class: "check" }, w.control, h("label", { for: id }, input.label)), desc, err);
    invalidTargets = [w.control];
  } else {
    if (w.focus) w.focus.setAttribute("aria-describedby", describedByText);
    if (required && w.focus) w.focus.setAttribute("aria-required", "true");
    wrap = h("div", { class: "field" },
      h("div", { class: "label-row" }, h("label", { for: id }, input.label), reqMark()), w.control, desc, err);
    invalidTargets = w.focus ? [w.focus] : [];
  }
  wrap.dataset.testid = `field-${input.key}`;
  wrap.dataset.key = input.key;
  wrap.dataset.inputType = input.type;
  if (w.hidden) wrap.hidden = true;

  const field = {
    input, id, wrap, widget: w, required, shown: !w.hidden,
    setError(msg) {
      err.hidden = !msg;
      err.textContent = msg || "";
      for (const t of invalidTargets) {
        if (msg) t.setAttribute("aria-invalid", "true");
        else t.removeAttribute("aria-invalid");
      }
      if (w.compound) {
        if (msg) wrap.classList.add("invalid"); else wrap.classList.remove("invalid");
      }
    },
    // The message for this field now, or null.
    problem() {
      const own = w.check ? w.check() : null;
      if (own) return own;
      const v = w.get();
      if (required && (v === undefined || (Array.isArray(v) && v.length === 0 && input.type !== "tags" && input.type !== "multiselect"))) {
        return "This field is required.";
      }
      if (required && typeof v === "string" && v.trim() === "" && input.type !== "hidden") return "This field is required.";
      return null;
    },
  };
  return field;
}

export function buildForm(form, inputs, initial, opts = {}) {
  const fields = new Map();
  const groups = new Map();
  form.replaceChildren();
  const body = h("div", { class: "fields" });
  form.append(body);
  for (const input of inputs || []) {
    if (!input || typeof input.key !== "string") continue;
    if (opts.skip && opts.skip.includes(input.key)) continue;
    const field = makeField(input);
    fields.set(input.key, field);
    if (input.group) {
      let g = groups.get(input.group);
      if (!g) {
        g = h("fieldset", { class: "group", "data-group": input.group }, h("legend", null, input.group));
        groups.set(input.group, g);
        body.append(g);
      }
      g.append(field.wrap);
    } else {
      body.append(field.wrap);
    }
  }

  const currentRaw = (key) => {
    const f = fields.get(key);
    if (!f) return undefined;
    try { return f.widget.get(); } catch (e) { return undefined; }
  };

  // show_if: hides fields whose condition does not hold (and empty groups).
  const applyShowIf = () => {
    for (const f of fields.values()) {
      const cond = f.input.show_if;
      if (!cond || typeof cond.key !== "string" || f.widget.hidden) continue;
      const visible = sameValue(currentRaw(cond.key), cond.equals);
      f.shown = visible;
      f.wrap.hidden = !visible;
    }
    for (const g of groups.values()) {
      g.hidden = !Array.from(g.querySelectorAll(":scope > .field")).some((el) => !el.hidden);
    }
  };

  const setValues = (values) => {
    const v = values || {};
    for (const f of fields.values()) {
      const given = Object.prototype.hasOwnProperty.call(v, f.input.key) ? v[f.input.key] : undefined;
      f.widget.set(given === undefined || given === null ? f.input.default : given);
      f.setError(null);
    }
    applyShowIf();
  };

  const clearErrors = () => { for (const f of fields.values()) f.setError(null); };

  // Clear a field's message as soon as it is edited; re-evaluate show_if.
  const onEdit = (e) => {
    const wrap = e.target.closest && e.target.closest(".field");
    const f = wrap && fields.get(wrap.dataset.key);
    if (f) f.setError(null);
    applyShowIf();
  };
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);

  const collect = async () => {
    await Promise.all(Array.from(fields.values()).map((f) => (f.widget.pending ? f.widget.pending() : null)));
    const values = {};
    let first = null;
    for (const f of fields.values()) {
      if (!f.shown && !f.widget.hidden) { f.setError(null); continue; }
      const msg = f.problem();
      f.setError(msg);
      if (msg) { if (!first) first = f; continue; }
      const v = f.widget.get();
      if (v !== undefined) values[f.input.key] = v;
    }
    if (first && first.widget.focus) first.widget.focus.focus();
    return { values, ok: !first };
  };

  const showServerErrors = (fieldErrors) => {
    const unplaced = [];
    let first = null;
    for (const [key, msg] of Object.entries(fieldErrors || {})) {
      const f = fields.get(key);
      if (f && f.shown) {
        f.setError(String(msg));
        if (!first) first = f;
      } else {
        unplaced.push(`${key}: ${msg}`);
      }
    }
    if (first && first.widget.focus) first.widget.focus.focus();
    return unplaced;
  };

  setValues(initial);
  return { fields, collect, setValues, clearErrors, showServerErrors, applyShowIf };
}
