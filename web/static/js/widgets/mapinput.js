// The map inputs map_point, map_bbox, map_polygon and map_multipoint: a
// Leaflet map (the vendored one the map renderers use, render/loader.js)
// next to the numeric coordinate fields, kept in step both ways — a click
// on the map writes the fields, typing in the fields redraws the map. The
// fields are the accessible way to enter and read the value; the map is a
// pointer convenience. Pixie runs offline, so there are no tiles: a light
// graticule (latitude/longitude lines with their degrees) is drawn instead.
//
// Values (as lua/pixie/inputs.lua checks them and the validator's samples
// send them): map_point [lat, lon]; map_bbox [south, west, north, east];
// map_polygon and map_multipoint [[lat, lon], ...].
//
// Map gestures: point — click sets it; bbox — click two opposite corners
// (or Shift-drag); polygon — each click adds a corner; multipoint — each
// click adds a point. Undo steps back over map edits and Clear; Clear
// empties the value. The view starts at the value (fitted), else the
// input's default_center / default_zoom, else the whole world.
//
// mapWidget(kind) -> (input, id) -> the form's widget interface (form.js).
import { h, readNumber } from "../dom.js";
import { vendor } from "../render/loader.js";
import { latLng } from "../render/maps.js";

const isEmpty = (v) => v === undefined || v === null;
const WORLD = { center: [20, 0], zoom: 2 };
const POINT_ZOOM = 8;
const ACCENT = "#3f37c9";
const GRID_STEPS = [90, 45, 30, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001,
  0.0005, 0.0002, 0.0001];

// ---------------------------------------------------------------------------
// Coordinate fields

function coordInput(id, kind, placeholder) {
  const lat = kind === "lat";
  return h("input", { id, type: "number", step: "any", min: lat ? -90 : -180, max: lat ? 90 : 180,
    inputmode: "decimal", placeholder: isEmpty(placeholder) ? null : String(placeholder) });
}

// {empty} | {error} | {vals: numbers} for a row of coordinate fields.
function coordCheck(els) {
  const vals = els.map(readNumber);
  if (vals.every((v) => v === undefined)) return { empty: true };
  if (vals.some((v) => v === undefined)) return { error: "Fill in every coordinate." };
  if (vals.some((v) => Number.isNaN(v))) return { error: "Coordinates must be numbers." };
  for (let i = 0; i < els.length; i++) {
    const lim = Number(els[i].max);
    if (Math.abs(vals[i]) > lim) return { error: lim === 90 ? "Latitude must be within -90 and 90." : "Longitude must be within -180 and 180." };
  }
  return { vals };
}

// A coordinate as the fields show it after a map click: 6 decimals (~0.1 m).
const round6 = (x) => Math.round(x * 1e6) / 1e6;
// A longitude from the map (which may have wrapped) within [-180, 180].
const wrapLon = (x) => (x >= -180 && x <= 180 ? x : ((((x + 180) % 360) + 360) % 360) - 180);

const fill = (el, v) => { el.value = isEmpty(v) ? "" : String(v); };

// Editors: the fields of one kind. Each has control, focus, get(), set(v),
// check(), raw() / restore(raw) (the fields' text, for Undo), shapes() (the
// valid coordinates now, for drawing) and click(ll) for a map click.

function pointEditor(input, id) {
  const c = latLng(input.default_center) || [];
  const lat = coordInput(`${id}-lat`, "lat", c[0]);
  const lon = coordInput(`${id}-lon`, "lon", c[1]);
  const els = [lat, lon];
  return {
    control: h("div", { class: "pair" },
      h("div", { class: "sub" }, h("label", { for: lat.id }, "Latitude"), lat),
      h("div", { class: "sub" }, h("label", { for: lon.id }, "Longitude"), lon)),
    focus: lat,
    get: () => coordCheck(els).vals,
    set: (v) => { const [a, b] = Array.isArray(v) ? v : []; fill(lat, a); fill(lon, b); },
    check: () => coordCheck(els).error || null,
    raw: () => els.map((e) => e.value),
    restore: (r) => els.forEach((e, i) => { e.value = r[i]; }),
    shapes: () => { const v = coordCheck(els).vals; return v ? [v] : []; },
    click: (ll) => { fill(lat, ll[0]); fill(lon, ll[1]); },
  };
}

function bboxEditor(input, id) {
  const parts = [["south", "lat", "South latitude"], ["west", "lon", "West longitude"],
    ["north", "lat", "North latitude"], ["east", "lon", "East longitude"]];
  const els = parts.map(([k, kind]) => coordInput(`${id}-${k}`, kind));
  const valid = () => {
    const r = coordCheck(els);
    if (r.error) return r;
    if (r.vals && r.vals[0] > r.vals[2]) return { error: "South must not be north of North." };
    if (r.vals && r.vals[1] > r.vals[3]) return { error: "West must not be east of East." };
    return r;
  };
  return {
    control: h("div", { class: "quad" }, parts.map((p, i) =>
      h("div", { class: "sub" }, h("label", { for: els[i].id }, p[2]), els[i]))),
    focus: els[0],
    get: () => coordCheck(els).vals,
    set: (v) => {
      let list = Array.isArray(v) ? v : [];
      // a run started through the API may have used the original page's [[s, w], [n, e]]
      if (list.length === 2 && list.every(Array.isArray)) list = list.flat();
      els.forEach((el, i) => fill(el, list[i]));
    },
    check: () => valid().error || null,
    raw: () => els.map((e) => e.value),
    restore: (r) => els.forEach((e, i) => { e.value = r[i]; }),
    shapes: () => { const v = valid().vals; return v ? [[v[0], v[1]], [v[2], v[3]]] : []; },
    // Two corners in any order -> [south, west, north, east].
    corners: (a, b) => {
      const v = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
      els.forEach((el, i) => fill(el, v[i]));
    },
  };
}

function pointsEditor(kind) {
  return (input, id) => {
    const list = h("ol", { class: "point-list" });
    const add = h("button", { type: "button", class: "secondary small", id: `${id}-add` }, "Add point");
    const points = []; // [{li, lat, lon, del, latLabel, lonLabel}]
    let n = 0;
    const renumber = () => points.forEach((p, i) => {
      p.latLabel.textContent = `Point ${i + 1} latitude`;
      p.lonLabel.textContent = `Point ${i + 1} longitude`;
      p.del.setAttribute("aria-label", `Remove point ${i + 1}`);
    });
    const addPoint = (v) => {
      n += 1;
      const lat = coordInput(`${id}-p${n}-lat`, "lat");
      const lon = coordInput(`${id}-p${n}-lon`, "lon");
      const latLabel = h("label", { for: lat.id });
      const lonLabel = h("label", { for: lon.id });
      const del = h("button", { type: "button", class: "icon-button" }, "×");
      if (Array.isArray(v)) { fill(lat, v[0]); fill(lon, v[1]); }
      const li = h("li", { class: "point" }, h("div", { class: "sub" }, latLabel, lat),
        h("div", { class: "sub" }, lonLabel, lon), del);
      const p = { li, lat, lon, del, latLabel, lonLabel };
      del.addEventListener("click", () => {
        points.splice(points.indexOf(p), 1);
        li.remove();
        renumber();
        add.focus();
        add.dispatchEvent(new Event("input", { bubbles: true }));
      });
      points.push(p);
      list.append(li);
      renumber();
      return p;
    };
    add.addEventListener("click", () => addPoint(null).lat.focus());
    const read = () => {
      const out = [];
      for (const p of points) {
        const r = coordCheck([p.lat, p.lon]);
        if (r.error) return { error: r.error };
        if (r.vals) out.push(r.vals);
      }
      return { vals: out };
    };
    const setAll = (rows) => {
      points.splice(0).forEach((p) => p.li.remove());
      rows.forEach((pt) => addPoint(pt));
      if (!points.length) addPoint(null);
    };
    return {
      control: h("div", { class: "points-field" }, list, add),
      focus: add,
      get: () => { const r = read(); return r.vals && r.vals.length ? r.vals : undefined; },
      set: (v) => setAll(Array.isArray(v) ? v : []),
      check: () => {
        const r = read();
        if (r.error) return r.error;
        if (kind === "polygon" && r.vals.length > 0 && r.vals.length < 3) return "A polygon needs at least 3 points.";
        return null;
      },
      raw: () => points.map((p) => [p.lat.value, p.lon.value]),
      restore: (r) => setAll(r),
      shapes: () => points.map((p) => coordCheck([p.lat, p.lon]).vals).filter(Boolean),
      click: (ll) => {
        // The first empty row takes the point, else a new row.
        const empty = points.find((p) => p.lat.value === "" && p.lon.value === "");
        if (empty) { fill(empty.lat, ll[0]); fill(empty.lon, ll[1]); } else addPoint(ll);
      },
    };
  };
}

const EDITORS = {
  point: pointEditor,
  bbox: bboxEditor,
  polygon: pointsEditor("polygon"),
  multipoint: pointsEditor("multipoint"),
};

const HINTS = {
  point: "Click the map to set the point, or type its coordinates.",
  bbox: "Click two opposite corners on the map (or Shift-drag a box), or type the edges.",
  polygon: "Click the map to add the polygon's corners in order (at least 3), or type them.",
  multipoint: "Click the map to add points, or type them.",
};

// ---------------------------------------------------------------------------
// Graticule: latitude/longitude lines for the visible area, about 4–8 across,
// each labelled with its degrees at the map's right and bottom edges (the
// zoom buttons are at the top left).

function degreeText(x, step, pos, neg) {
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  const v = Math.abs(x).toFixed(decimals);
  if (Number(v) === 0) return "0°";
  return `${v}°${x > 0 ? pos : neg}`;
}

function addGraticule(L, map) {
  const layer = L.layerGroup().addTo(map);
  const label = (ll, text, cls) => L.marker(ll, {
    interactive: false, keyboard: false,
    icon: L.divIcon({ className: "graticule-label", iconSize: null,
      html: h("span", { class: cls }, text) }),
  }).addTo(layer);
  const draw = () => {
    layer.clearLayers();
    const b = map.getBounds();
    const south = Math.max(b.getSouth(), -85);
    const north = Math.min(b.getNorth(), 85);
    const west = b.getWest();
    const east = b.getEast();
    const span = Math.max(east - west, 1e-6);
    const step = GRID_STEPS.find((s) => span / s >= 4) || GRID_STEPS[GRID_STEPS.length - 1];
    const line = (pts, strong) => L.polyline(pts, { color: strong ? "#6b717c" : "#9aa0aa",
      weight: strong ? 1.4 : 0.8, opacity: 0.8, interactive: false }).addTo(layer);
    for (let i = Math.ceil(south / step), k = 0; i * step <= north && k < 200; i++, k++) {
      const lat = i * step;
      line([[lat, west], [lat, east]], i === 0);
      label([lat, east], degreeText(lat, step, "N", "S"), "graticule-lat");
    }
    for (let i = Math.ceil(west / step), k = 0; i * step <= east && k < 200; i++, k++) {
      const lon = i * step;
      line([[south, lon], [north, lon]], wrapLon(lon) === 0);
      label([b.getSouth(), lon], degreeText(wrapLon(lon), step, "E", "W"), "graticule-lon");
    }
  };
  map.on("moveend zoomend resize", draw);
  draw();
}

// ---------------------------------------------------------------------------

export function mapWidget(kind) {
  return (input, id) => {
    const ed = EDITORS[kind](input, id);
    const name = input.label || input.key;
    const mapDiv = h("div", { class: "map-input__map", id: `${id}-map`,
      "aria-label": `Map for ${name}: ${HINTS[kind]}` });
    const undo = h("button", { type: "button", class: "secondary small", disabled: true,
      "aria-label": `Undo the last map edit of ${name}` }, "Undo");
    const clear = h("button", { type: "button", class: "secondary small",
      "aria-label": `Clear ${name}` }, "Clear");
    const note = h("p", { class: "map-input__note hint", "aria-live": "polite" });
    const control = h("div", { class: ["map-input", `map-input--${kind}`] },
      mapDiv, h("div", { class: "map-input__tools" }, undo, clear, note), ed.control);

    const history = [];
    let L = null;
    let map = null;
    let shapes = null;
    let corner = null; // bbox: the first corner clicked

    const redraw = () => {
      if (!map) return;
      shapes.clearLayers();
      const pts = ed.shapes();
      const style = { color: ACCENT, weight: 2, fillColor: ACCENT, fillOpacity: 0.15 };
      const dot = (ll, n) => {
        const m = L.circleMarker(ll, { radius: 6, color: ACCENT, fillColor: ACCENT, fillOpacity: 0.8, weight: 2 });
        if (n) m.bindTooltip(String(n), { permanent: kind === "multipoint", direction: "top" });
        return m.addTo(shapes);
      };
      if (kind === "bbox") {
        if (pts.length === 2) L.rectangle(pts, style).addTo(shapes);
      } else if (kind === "polygon") {
        if (pts.length >= 3) L.polygon(pts, style).addTo(shapes);
        else if (pts.length === 2) L.polyline(pts, style).addTo(shapes);
        pts.forEach((p) => dot(p));
      } else {
        pts.forEach((p, i) => dot(p, kind === "multipoint" ? i + 1 : 0));
      }
      if (corner) dot(corner);
    };

    const fit = () => {
      if (!map) return;
      const pts = ed.shapes();
      const zoom = Number.isFinite(input.default_zoom) ? input.default_zoom : null;
      if (pts.length === 1) map.setView(pts[0], zoom ?? POINT_ZOOM);
      else if (pts.length > 1) map.fitBounds(L.latLngBounds(pts), { padding: [24, 24], maxZoom: 16 });
      else {
        const c = latLng(input.default_center);
        map.setView(c || WORLD.center, zoom ?? (c ? 6 : WORLD.zoom));
      }
    };

    // The form listens for input events: a map edit is one.
    const changed = () => {
      undo.disabled = history.length === 0;
      redraw();
      control.dispatchEvent(new Event("input", { bubbles: true }));
    };
    const remember = () => { history.push(ed.raw()); if (history.length > 100) history.shift(); };

    const place = (ll) => {
      const p = [round6(ll.lat), round6(wrapLon(ll.lng))];
      if (Math.abs(p[0]) > 90) return;
      if (kind === "bbox") {
        if (!corner) {
          corner = p;
          note.textContent = "Now click the opposite corner.";
          redraw();
          return;
        }
        remember();
        ed.corners(corner, p);
        corner = null;
        note.textContent = "";
      } else {
        remember();
        ed.click(p);
      }
      changed();
    };

    undo.addEventListener("click", () => {
      corner = null;
      note.textContent = "";
      if (history.length) ed.restore(history.pop());
      changed();
    });
    clear.addEventListener("click", () => {
      remember();
      corner = null;
      note.textContent = "";
      ed.set(undefined);
      changed();
    });
    // Typed coordinates: drawn, and brought into view when outside it.
    const typed = () => {
      redraw();
      if (!map) return;
      const view = map.getBounds();
      if (ed.shapes().some((p) => !view.contains(p))) fit();
    };
    ed.control.addEventListener("input", typed);
    ed.control.addEventListener("change", typed);

    vendor("leaflet").then((lib) => {
      L = lib;
      map = L.map(mapDiv, { attributionControl: false, minZoom: 1, maxZoom: 18, doubleClickZoom: false,
        boxZoom: kind !== "bbox", worldCopyJump: false });
      shapes = L.featureGroup().addTo(map);
      fit();
      addGraticule(L, map);
      redraw();
      let dragEnd = 0; // a finished Shift-drag: the click the browser sends after it is not a corner
      map.on("click", (e) => { if (Date.now() - dragEnd > 300) place(e.latlng); });
      if (kind === "bbox") {
        let start = null;
        let box = null;
        map.on("mousedown", (e) => {
          if (!e.originalEvent.shiftKey) return;
          start = e.latlng;
          map.dragging.disable();
        });
        map.on("mousemove", (e) => {
          if (!start) return;
          if (box) box.remove();
          box = L.rectangle([start, e.latlng], { color: ACCENT, weight: 1, dashArray: "4 4", fill: false }).addTo(map);
        });
        map.on("mouseup", (e) => {
          if (!start) return;
          const a = start;
          start = null;
          map.dragging.enable();
          if (box) { box.remove(); box = null; }
          if (a.equals(e.latlng)) return; // a shift-click: the click handler takes it
          corner = [round6(a.lat), round6(wrapLon(a.lng))];
          place(e.latlng);
          dragEnd = Date.now();
        });
      }
      // A map made while its field was hidden (show_if, a collapsed group)
      // had no size: fitted again once it has one.
      let sized = mapDiv.clientWidth > 0;
      if (typeof ResizeObserver === "function") {
        new ResizeObserver(() => {
          map.invalidateSize();
          if (!sized && mapDiv.clientWidth > 0) { sized = true; fit(); }
        }).observe(mapDiv);
      }
    }, () => {
      note.textContent = "The map could not be loaded; type the coordinates instead.";
      mapDiv.hidden = true;
    });

    return {
      compound: true,
      control,
      focus: ed.focus,
      hint: HINTS[kind],
      get: ed.get,
      set: (v) => {
        history.length = 0;
        corner = null;
        note.textContent = "";
        undo.disabled = true;
        ed.set(v);
        redraw();
        fit();
      },
      check: ed.check,
    };
  };
}
