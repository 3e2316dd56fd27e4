// Leaflet 1.7 renderers: map_points, map_route, map_polygons.
// No tile layer (Pixie runs offline): shapes on a grey background, the
// view fitted to the data. Labels go into popups as text nodes, never HTML.
import { el, isObject, toNum, textOf, clip, listOf, bad, safeColour, PALETTE } from "./util.js";
import { vendor } from "./loader.js";

const MAX_SHAPES = 20000;

// [lat, lng] of {lat, lng|lon|long} or [lat, lng]; null when not a point.
// Also used by the map inputs (widgets/mapinput.js).
export function latLng(p) {
  let lat, lng;
  if (Array.isArray(p)) [lat, lng] = p;
  else if (isObject(p)) { lat = p.lat ?? p.latitude; lng = p.lng ?? p.lon ?? p.long ?? p.longitude; }
  lat = toNum(lat); lng = toNum(lng);
  if (lat === null || lng === null || Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
  return [lat, lng];
}

function points(v) {
  const list = listOf(v, "points", "coords", "coordinates");
  if (!list) bad("expected {points: [{lat, lng}]}");
  const out = [];
  for (const p of list.slice(0, MAX_SHAPES)) {
    const ll = latLng(p);
    if (!ll) bad("expected points of {lat, lng}");
    out.push({ ll, p: isObject(p) ? p : {} });
  }
  return out;
}

function popupText(s) {
  return el("span", { class: "pxr-map__label" }, clip(textOf(s), 2000));
}

function draw(L, layer, type, v) {
  const bounds = [];
  if (type === "map_points") {
    for (const { ll, p } of points(v)) {
      const c = safeColour(p.colour ?? p.color, PALETTE[0]);
      const size = toNum(p.size);
      const m = L.circleMarker(ll, { radius: size && size > 0 && size < 50 ? size : 6, color: c, fillColor: c, fillOpacity: 0.65, weight: 2 });
      const lab = p.label ?? p.name ?? p.title;
      if (lab !== undefined && lab !== null && lab !== "") m.bindPopup(popupText(lab)).bindTooltip(popupText(lab));
      m.addTo(layer);
      bounds.push(ll);
    }
  } else if (type === "map_route") {
    const pts = points(v).map((x) => x.ll);
    if (pts.length) {
      const c = safeColour(isObject(v) ? v.colour ?? v.color : null, PALETTE[0]);
      L.polyline(pts, { color: c, weight: 3, opacity: 0.85 }).addTo(layer);
      L.circleMarker(pts[0], { radius: 6, color: PALETTE[4], fillColor: PALETTE[4], fillOpacity: 1 }).bindTooltip(popupText("Start")).addTo(layer);
      L.circleMarker(pts[pts.length - 1], { radius: 6, color: PALETTE[2], fillColor: PALETTE[2], fillOpacity: 1 }).bindTooltip(popupText("End")).addTo(layer);
      bounds.push(...pts);
    }
  } else {
    const polys = listOf(v, "polygons");
    if (!polys) bad("expected {polygons: [{coords: [[lat, lng]…]}]}");
    polys.slice(0, MAX_SHAPES).forEach((poly, i) => {
      const coords = Array.isArray(poly) ? poly : isObject(poly) ? poly.coords ?? poly.points ?? poly.coordinates : null;
      if (!Array.isArray(coords)) bad("expected polygons of {coords}");
      const ring = coords.slice(0, MAX_SHAPES).map((p) => latLng(p) || bad("expected [lat, lng] coordinates"));
      const c = safeColour(isObject(poly) ? poly.colour ?? poly.color : null, PALETTE[i % PALETTE.length]);
      const shape = L.polygon(ring, { color: c, fillColor: c, fillOpacity: 0.25, weight: 2 });
      const lab = isObject(poly) ? poly.label ?? poly.name : null;
      if (lab !== undefined && lab !== null && lab !== "") shape.bindPopup(popupText(lab)).bindTooltip(popupText(lab));
      shape.addTo(layer);
      bounds.push(...ring);
    });
  }
  return bounds;
}

export function map(root, spec, type) {
  const div = el("div", { class: "pxr-map", role: "region", "aria-label": `${textOf(spec.label ?? type)} map` });
  root.appendChild(div);
  let leaflet = null;
  let layer = null;
  let chain = Promise.resolve();
  const center = latLng(spec.default_center) || [20, 0];
  const zoom = toNum(spec.default_zoom);
  return {
    update(v) {
      const p = chain.then(async () => {
        const L = await vendor("leaflet");
        if (!leaflet) {
          leaflet = L.map(div, { attributionControl: false, maxZoom: 18, minZoom: 1, worldCopyJump: false });
          leaflet.setView(center, zoom ?? 2);
          layer = L.featureGroup().addTo(leaflet);
          if (typeof ResizeObserver === "function") new ResizeObserver(() => leaflet.invalidateSize()).observe(div);
        }
        layer.clearLayers();
        const bounds = draw(L, layer, type, v);
        if (bounds.length === 1) leaflet.setView(bounds[0], zoom ?? 10);
        else if (bounds.length > 1) leaflet.fitBounds(L.latLngBounds(bounds), { padding: [24, 24], maxZoom: 16 });
      });
      chain = p.catch(() => {});
      return p;
    },
  };
}
