// Chart.js 3.9 renderers: chart_line, chart_area, chart_bar, chart_scatter,
// chart_pie, chart_histogram (binned into bars), chart_radar.
// One Chart per output for its whole life: an update changes the data in
// place (a longer x appends only the new points) and calls chart.update().
import { el, isObject, toNum, textOf, clip, listOf, bad, safeColour, PALETTE } from "./util.js";
import { vendor } from "./loader.js";

const MAX_POINTS = 100000;

const num = (x) => { const n = toNum(x); return n === null ? null : n; };
const label = (x) => clip(textOf(x), 200);

function seriesValues(s) {
  // the longest of values / y / data (a streamed point is appended to y)
  let vals = null;
  for (const k of ["values", "y", "data"]) if (Array.isArray(s[k]) && (!vals || s[k].length > vals.length)) vals = s[k];
  if (!vals) bad("expected series of {name, values}");
  return vals.slice(0, MAX_POINTS).map(num);
}

// {x: [...], series: [{name, values}]} | {x, y} | {series} (x = 1..n).
function xySeries(v) {
  if (!isObject(v)) bad("expected {x, series}");
  let series = v.series;
  if (!Array.isArray(series)) {
    if (Array.isArray(v.y)) series = [{ name: v.name ?? "", values: v.y }];
    else if (isObject(series)) series = Object.entries(series).map(([name, values]) => ({ name, values }));
    else bad("expected {x, series}");
  }
  series = series.slice(0, 50).map((s, i) => {
    if (Array.isArray(s)) return { name: `series ${i + 1}`, values: s.slice(0, MAX_POINTS).map(num) };
    if (!isObject(s)) bad("expected series of {name, values}");
    return { name: label(s.name ?? s.label ?? `series ${i + 1}`), values: seriesValues(s), colour: s.colour ?? s.color };
  });
  const n = Math.max(0, ...series.map((s) => s.values.length));
  let x = Array.isArray(v.x) ? v.x.slice(0, MAX_POINTS) : Array.from({ length: n }, (_, i) => i + 1);
  x = x.map((t) => (typeof t === "number" ? t : label(t)));
  return { x, series };
}

function colour(i, c) {
  return safeColour(c, PALETTE[i % PALETTE.length]);
}

function withAlpha(hex, a) {
  return /^#[0-9a-f]{6}$/i.test(hex) ? hex + Math.round(a * 255).toString(16).padStart(2, "0") : hex;
}

function axisTitle(text) {
  return typeof text === "string" && text ? { display: true, text: clip(text, 200) } : { display: false };
}

// type -> value -> {type, data, options-extra}
function build(type, spec, v) {
  const multi = (n) => ({ legend: { display: n > 1 } });
  switch (type) {
    case "chart_line":
    case "chart_area":
    case "chart_bar": {
      const { x, series } = xySeries(v);
      const area = type === "chart_area", bar = type === "chart_bar";
      const logX = !bar && spec.log_x === true && x.every((t) => typeof t === "number" && t > 0);
      const datasets = series.map((s, i) => {
        const c = colour(i, s.colour);
        return {
          label: s.name, borderColor: c, backgroundColor: bar ? withAlpha(c, 0.7) : withAlpha(c, area ? 0.25 : 1),
          fill: area ? (i === 0 ? "origin" : "-1") : false, pointRadius: x.length > 200 ? 0 : 2, tension: 0.2,
          data: logX ? s.values.map((y, j) => ({ x: x[j], y })) : s.values,
        };
      });
      return {
        chartType: bar ? "bar" : "line", xy: true, logX,
        data: { labels: logX ? undefined : x, datasets },
        options: {
          plugins: multi(series.length),
          scales: {
            x: logX ? { type: "logarithmic", title: axisTitle(spec.x_label) } : { title: axisTitle(spec.x_label) },
            y: { type: !bar && spec.log_y === true ? "logarithmic" : "linear", title: axisTitle(spec.y_label) },
          },
        },
      };
    }
    case "chart_scatter": {
      let series = listOf(v, "series");
      if (!series) {
        const pts = listOf(v, "points");
        if (!pts) bad("expected {series: [{name, points}]}");
        series = [{ name: "", points: pts }];
      }
      const datasets = series.slice(0, 50).map((s, i) => {
        if (!isObject(s)) bad("expected series of {name, points}");
        const pts = Array.isArray(s.points) ? s.points
          : Array.isArray(s.x) && Array.isArray(s.y) ? s.x.map((x, j) => ({ x, y: s.y[j] })) : null;
        if (!pts) bad("expected series of {name, points}");
        const c = colour(i, s.colour ?? s.color);
        return {
          label: label(s.name ?? `series ${i + 1}`), borderColor: c, backgroundColor: withAlpha(c, 0.7),
          data: pts.slice(0, MAX_POINTS).map((p) => (Array.isArray(p) ? { x: num(p[0]), y: num(p[1]) } : isObject(p) ? { x: num(p.x), y: num(p.y) } : { x: null, y: null })),
        };
      });
      return {
        chartType: "scatter", data: { datasets },
        options: { plugins: multi(datasets.length), scales: { x: { type: "linear", title: axisTitle(spec.x_label) }, y: { title: axisTitle(spec.y_label) } } },
      };
    }
    case "chart_pie": {
      let slices = listOf(v, "slices");
      if (!slices && isObject(v) && Array.isArray(v.labels) && Array.isArray(v.values)) slices = v.labels.map((l, i) => ({ label: l, value: v.values[i] }));
      if (!slices) bad("expected {slices: [{label, value}]}");
      slices = slices.slice(0, 500).map((s) => (isObject(s) ? s : bad("expected slices of {label, value}")));
      return {
        chartType: isObject(v) && v.donut ? "doughnut" : "pie",
        data: {
          labels: slices.map((s) => label(s.label ?? s.name ?? "")),
          datasets: [{ data: slices.map((s) => num(s.value)), backgroundColor: slices.map((s, i) => colour(i, s.colour ?? s.color)) }],
        },
        options: { plugins: { legend: { display: true, position: "right" } } },
      };
    }
    case "chart_histogram": {
      const values = listOf(v, "values");
      if (!values) bad("expected {values: [...]}");
      const xs = values.slice(0, 1000000).map(num).filter((n) => n !== null);
      let bins = isObject(v) && Number.isInteger(v.bins) && v.bins > 0 ? Math.min(v.bins, 200) : Math.min(50, Math.max(1, Math.ceil(Math.log2(xs.length || 1) + 1)));
      let lo = Infinity, hi = -Infinity;
      for (const n of xs) { if (n < lo) lo = n; if (n > hi) hi = n; }
      if (!xs.length) { lo = 0; hi = 1; bins = 1; }
      const width = (hi - lo) / bins || 1;
      const counts = new Array(bins).fill(0);
      for (const n of xs) counts[Math.min(bins - 1, Math.floor((n - lo) / width))]++;
      const fmt = (n) => String(Math.round(n * 1000) / 1000);
      return {
        chartType: "bar",
        data: {
          labels: counts.map((_, i) => `${fmt(lo + i * width)}–${fmt(lo + (i + 1) * width)}`),
          datasets: [{ label: "count", data: counts, backgroundColor: withAlpha(PALETTE[0], 0.8), barPercentage: 1, categoryPercentage: 1 }],
        },
        options: { plugins: { legend: { display: false } }, scales: { x: { title: axisTitle(spec.x_label) }, y: { title: axisTitle(spec.y_label ?? "count") } } },
      };
    }
    case "chart_radar": {
      if (!isObject(v) || !Array.isArray(v.axes) || !Array.isArray(v.series)) bad("expected {axes, series}");
      const datasets = v.series.slice(0, 50).map((s, i) => {
        if (!isObject(s)) bad("expected series of {name, values}");
        const c = colour(i, s.colour ?? s.color);
        return { label: label(s.name ?? `series ${i + 1}`), data: seriesValues(s), borderColor: c, backgroundColor: withAlpha(c, 0.2) };
      });
      return { chartType: "radar", data: { labels: v.axes.slice(0, 200).map(label), datasets }, options: { plugins: multi(datasets.length) } };
    }
    default:
      bad("not a chart type");
  }
}

// True when next only extends cur (same series, x grown, old x unchanged).
function extendsData(cur, next) {
  const a = cur.data, b = next.data;
  if (!cur.xy || cur.chartType !== next.chartType || cur.logX !== next.logX) return false;
  if (a.datasets.length !== b.datasets.length) return false;
  if (a.datasets.some((d, i) => d.label !== b.datasets[i].label)) return false;
  const la = a.labels || a.datasets[0]?.data || [], lb = b.labels || b.datasets[0]?.data || [];
  if (lb.length < la.length) return false;
  const k = la.length - 1;
  return k < 0 || (a.labels ? a.labels[k] === b.labels[k] : true);
}

export function chart(root, spec, type) {
  const canvas = el("canvas", { role: "img", "aria-label": `${textOf(spec.label ?? type)} (${type.replace("chart_", "")} chart)` });
  root.appendChild(el("div", { class: "pxr-chart" }, canvas));
  let inst = null;
  let cur = null;
  let chain = Promise.resolve();
  return {
    update(v) {
      const next = build(type, spec, v); // a wrong shape throws here, synchronously
      const p = chain.then(async () => {
        const Chart = await vendor("chart");
        if (!inst) {
          inst = new Chart(canvas, {
            type: next.chartType, data: next.data,
            options: { responsive: true, maintainAspectRatio: false, animation: false, ...next.options },
          });
          cur = next;
          return;
        }
        if (extendsData(cur, next)) {
          const d = inst.data;
          const from = d.labels ? d.labels.length : d.datasets[0].data.length;
          if (d.labels) d.labels.push(...next.data.labels.slice(from));
          d.datasets.forEach((ds, i) => {
            const src = next.data.datasets[i].data;
            // earlier points may have been revised too: keep them in step
            for (let j = 0; j < Math.min(from, src.length); j++) if (ds.data[j] !== src[j] && !isObject(src[j])) ds.data[j] = src[j];
            ds.data.push(...src.slice(from));
          });
        } else {
          inst.config.type = next.chartType;
          inst.data.labels = next.data.labels;
          inst.data.datasets = next.data.datasets;
          inst.options.plugins = { ...inst.options.plugins, ...next.options.plugins };
        }
        cur = next;
        inst.update("none");
      });
      chain = p.catch(() => {});
      return p;
    },
  };
}
