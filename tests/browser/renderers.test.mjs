// Output renderers (issue 11, web/static/js/render/, docs/dashboard-api.md §5) in headless
// Chromium under the real server's CSP:
// * the every-output fixture (one output of each natively rendered type,
//   HTML-looking strings in many of them) run from its tool page: each type
//   shows visible content of its kind (canvas for charts, table rows, MathML
//   for latex, highlighted spans for code, a Leaflet container with shapes
//   for maps, …), the HTML-looking strings stay text (no element, no script
//   run, no dialog);
// * renderOutput called directly on a served page with hostile values of
//   every type (wrong shapes, huge strings, HTML, deep nesting): nothing
//   throws, nothing is injected, a wrong shape says "cannot show this value
//   as <type>"; updates are cheap (stream_text appends to one text node, log
//   appends lines, a chart keeps its Chart and gains points);
// * no console error, page error or CSP violation anywhere.
import fs from 'node:fs';
import path from 'node:path';
import {
  FIXTURES, SOURCE_DIR, check, checkEqual, launchBrowser, makeHome, run, screenshot, startPixie, test, waitFor,
} from './lib/harness.mjs';

const spec = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'every-output', 'tool.json'), 'utf8'));
const home = makeHome(['every-output'], 'renderers');
for (const ex of ['savings-plan', 'slow-story']) {
  fs.cpSync(path.join(SOURCE_DIR, 'examples', 'tools', ex), path.join(home, 'tools', ex), { recursive: true });
}

let px;
let br;
let page;
const dialogs = [];

const section = (key) => page.locator(`[data-output-key="${key}"]`);
const count = (key, css) => section(key).locator(css).count();
const textOf = async (key) => (await section(key).innerText()).replace(/\s+/g, ' ');

test('the every-output run renders each output type natively', async () => {
  px = await startPixie({ home });
  br = await launchBrowser();
  page = await br.page();
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(`${px.url}tool/every-output`);
  const button = page.getByRole('button', { name: /^\s*run\b/i }).first();
  await button.waitFor({ state: 'visible', timeout: 15000 });
  await button.click();
  const runId = await waitFor(async () => (await px.apiOk('GET', '/api/tools/every-output/runs')).runs[0]?.id,
    'Run recorded no run', 20000);
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'ok', `status of the every-output run (${final.error_text})`);

  const has = async (key, css, what, n = 1) => waitFor(async () => (await count(key, css)) >= n,
    `${key}: ${what} (${css}) not shown`);
  const shows = async (key, re, what) => waitFor(async () => re.test(await textOf(key)),
    `${key}: ${what} not shown`);

  await shows('text', /Plain text keeps its line breaks/, 'the text');
  await has('markdown', 'h1', 'the markdown heading');
  await has('markdown', 'strong', 'bold text');
  await shows('number', /1,234\.57 kg/, 'the number with precision 2 and unit kg');
  await shows('boolean', /Passed/, 'the true_label');
  await has('table', 'tbody tr', 'three table rows', 3);
  await has('kv', 'dt', 'three keys', 3);
  await has('code', '[class^="hljs-"]', 'highlighted spans');
  await has('tree', 'details', 'collapsible tree nodes');
  await has('diff', '.pxr-diff__add', 'added lines');
  await has('diff', '.pxr-diff__del', 'removed lines');
  await has('latex', 'math', 'MathML');
  await has('image', 'canvas, img', 'the image');
  await waitFor(async () => section('image').locator('canvas').evaluate((c) => c.width === 64 && c.height === 40),
    'image: the PNG was not drawn at its size (64x40)');
  await has('image_grid', 'figure', 'two images', 2);
  await has('image_compare', 'input[type="range"]', 'the compare slider');
  await has('audio', 'button', 'a play button');
  await has('video', 'a[download]', 'a download link');
  await has('file', 'a[download="report.csv"]', 'the download link');
  await shows('stream_text', /Once upon a time, there was a renderer for every output\./, 'the whole streamed text');
  await has('log', '.pxr-log__line', 'log lines (3 returned + 3 streamed)', 6);
  await waitFor(async () => (await section('progress').locator('progress').evaluate((p) => p.value)) === 100,
    'progress: the <progress> does not show the final 100%');
  await has('timeline', 'li', 'two events', 2);
  await has('gantt', '.pxr-gantt__bar', 'three bars', 3);
  for (const key of ['chart_line', 'chart_area', 'chart_bar', 'chart_scatter', 'chart_pie', 'chart_histogram', 'chart_radar']) {
    await has(key, 'canvas', 'a chart canvas');
    await waitFor(async () => section(key).locator('canvas').evaluate((c) => {
      const chart = window.Chart && window.Chart.getChart(c);
      return chart && chart.data.datasets.length > 0 && chart.data.datasets[0].data.length > 0;
    }), `${key}: no Chart.js chart with data on the canvas`);
  }
  for (const key of ['map_points', 'map_route', 'map_polygons']) {
    await has(key, '.leaflet-container', 'a Leaflet map');
    await has(key, 'path.leaflet-interactive', 'shapes on the map');
  }
  await shows('sankey', /chart_sankey/, 'the type name of a type shown as data');
  await has('sankey', 'table tbody tr', 'its data as table rows');
  await screenshot(page, 'outputs');
});

test('the table sorts by a clicked header and offers a CSV download', async () => {
  const firstCity = () => section('table').locator('tbody tr').first().locator('td').first().innerText();
  await section('table').locator('th', { hasText: 'Population' }).click();
  checkEqual(await firstCity(), 'Porto', 'first row after sorting by Population');
  await section('table').locator('th', { hasText: 'Population' }).click();
  checkEqual(await firstCity(), 'Madrid', 'first row after sorting by Population again (descending)');
  const href = await section('table').locator('a[download]').getAttribute('href');
  check(href && href.startsWith('blob:'), `the CSV link is not a Blob URL: ${href}`);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 10000 }),
    section('table').locator('a[download]').click(),
  ]);
  checkEqual(download.suggestedFilename(), 'table.csv', 'name of the CSV download');
  const csv = fs.readFileSync(await download.path(), 'utf8');
  check(csv.startsWith('City,Population,Note'), `CSV header: ${csv.slice(0, 80)}`);
  check(csv.includes("'=1+1"), 'a formula-looking cell is not neutralised in the CSV');
});

test('HTML in output values stays text: no element made, no script run', async () => {
  const found = await page.evaluate(() => {
    const outputs = document.querySelectorAll('[data-output-key]');
    const bad = [];
    for (const s of outputs) {
      for (const e of s.querySelectorAll('*')) {
        for (const a of e.getAttributeNames()) if (/^on/i.test(a)) bad.push(`${e.tagName}[${a}]`);
        if (e.tagName === 'SCRIPT' || e.tagName === 'IFRAME') bad.push(e.tagName);
        if (e.tagName === 'IMG' && e.getAttribute('src') === 'x') bad.push('img src=x');
        if (e.tagName === 'A' && /^\s*javascript:/i.test(e.getAttribute('href') || '')) bad.push('javascript: link');
      }
    }
    return { bad, xss: window.__pxr_xss };
  });
  checkEqual(found.bad, [], 'injected elements or attributes in the outputs');
  checkEqual(found.xss, undefined, 'window.__pxr_xss (set only by the injected scripts)');
  checkEqual(dialogs, [], 'dialogs opened');
  for (const key of ['text', 'table', 'kv', 'tree', 'log', 'timeline']) {
    check((await textOf(key)).includes('<img src=x onerror='), `${key}: the HTML-looking string is not shown as text`);
  }
});

// Hostile and streaming values through renderOutput itself, on a served page
// (the module is imported by the page: the server's CSP applies).
test('renderers survive hostile values and update cheaply', async () => {
  const types = [...new Set([...spec.outputs.map((o) => o.type), 'chart_boxplot', 'map_heatmap', 'no_such_type'])];
  const result = await page.evaluate(async (typeList) => {
    const { renderOutput } = await import('/static/js/render/index.js');
    const host = document.createElement('div');
    host.id = 'hostile';
    document.body.append(host);
    const deep = [];
    let d = deep;
    for (let i = 0; i < 5000; i++) { const n = []; d.push(n); d = n; }
    const html = '<img src=x onerror="window.__pxr_xss=2"><script>window.__pxr_xss=2</script>';
    const values = [
      'plain', html, 'x'.repeat(3_000_000), 42, -1e308, true, [], {}, [1, 'two', null], { a: html },
      { value: html }, { rows: 'nope' }, { x: 'abc', series: 'abc' }, { series: [{ name: html, values: [1, html] }] },
      { points: [{ lat: 'a', lng: 2 }] }, { points: [{ lat: 10, lng: 20, label: html }] }, { polygons: [[[0, 0], [1, 1], [0, 1]]] },
      { lines: [html, { level: html, message: html }] }, { images: [html, 'javascript:alert(1)'] },
      { before: html, after: 'data:text/html,' + html }, { root: { name: html, children: [{ name: 'c' }] } },
      { filename: '../../' + html, data: 'javascript:alert(1)' }, { tasks: [{ name: html, start: 'x', end: 'y' }] },
      { events: [html] }, { slices: [{ label: html, value: 'x' }] }, { axes: [html], series: [{ values: [1] }] },
      deep, null, undefined,
    ];
    const thrown = [];
    const fortyTwo = {};
    for (const type of typeList) {
      for (let i = 0; i < values.length; i++) {
        const box = document.createElement('div');
        host.append(box);
        try {
          const r = renderOutput(box, { key: 'k', label: html, type, language: html, x_label: html }, values[i]);
          r.update(values[(i + 1) % values.length]);
          r.update(values[i]);
        } catch (e) {
          thrown.push(`${type} #${i}: ${e && e.message}`);
        }
        if (values[i] === 42) fortyTwo[type] = box;
      }
    }
    // Live updates.
    const live = {};
    const mk = (type, extra) => {
      const box = document.createElement('div');
      host.append(box);
      return [box, renderOutput(box, { key: type, label: type, type, ...extra }, null)];
    };
    const [sBox, s] = mk('stream_text');
    live.placeholder = sBox.textContent.trim();
    s.update('Hello');
    const node = sBox.querySelector('.pxr-stream').firstChild;
    s.update('Hello, world');
    s.update('Hello, world!');
    live.streamSameNode = sBox.querySelector('.pxr-stream').firstChild === node;
    live.streamText = node.data;
    const [lBox, l] = mk('log');
    l.update({ lines: ['one'] });
    const firstLine = lBox.querySelector('.pxr-log__line');
    l.update({ lines: ['one', 'two', 'three'] });
    live.logKept = lBox.querySelector('.pxr-log__line') === firstLine;
    live.logLines = lBox.querySelectorAll('.pxr-log__line').length;
    const [cBox, c] = mk('chart_line');
    await c.update({ x: [1, 2], series: [{ name: 'loss', y: [0.9, 0.5] }] });
    const canvas = cBox.querySelector('canvas');
    const chart = window.Chart.getChart(canvas);
    await c.update({ x: [1, 2, 3], series: [{ name: 'loss', y: [0.9, 0.5, 0.3] }] });
    await c.update({ x: [1, 2, 3, 4], series: [{ name: 'loss', y: [0.9, 0.5, 0.3, 0.2] }, { name: 'validation', y: [1, 0.8, 0.6, 0.5] }] });
    live.chartSame = cBox.querySelector('canvas') === canvas && window.Chart.getChart(canvas) === chart;
    live.chartPoints = chart.data.labels.length;
    live.chartSeries = chart.data.datasets.length;
    const [pBox, p] = mk('progress');
    p.update(0.25);
    const bar = pBox.querySelector('progress');
    p.update({ value: 0.75, label: 'three quarters' });
    live.progress = [bar === pBox.querySelector('progress'), bar.value, pBox.textContent.includes('three quarters')];
    await new Promise((r) => setTimeout(r, 1500)); // async renderers (charts, maps, markdown) settle
    const cannot = {};
    for (const [type, box] of Object.entries(fortyTwo)) cannot[type] = box.textContent.includes(`cannot show this value as ${type}`);
    const injected = [];
    for (const e of host.querySelectorAll('*')) {
      for (const a of e.getAttributeNames()) if (/^on/i.test(a)) injected.push(`${e.tagName}[${a}]`);
      if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED'].includes(e.tagName)) injected.push(e.tagName);
      if (['IMG', 'AUDIO', 'VIDEO', 'SOURCE'].includes(e.tagName) && e.hasAttribute('src')) injected.push(`${e.tagName} ${String(e.getAttribute('src')).slice(0, 80)}`);
      if (e.tagName === 'A' && /^\s*(javascript|data):/i.test(e.getAttribute('href') || '')) injected.push('bad link');
    }
    host.remove();
    return { thrown, cannot, live, injected, xss: window.__pxr_xss };
  }, types);
  checkEqual(result.thrown, [], 'exceptions thrown by renderOutput / update');
  checkEqual(result.injected, [], 'elements injected by hostile values');
  checkEqual(result.xss, undefined, 'window.__pxr_xss');
  // 42 is a fine text/number/progress value, and a wrong shape for these:
  for (const t of ['boolean', 'table', 'kv', 'diff', 'image', 'image_grid', 'file', 'timeline', 'gantt', 'chart_line',
    'chart_pie', 'chart_radar', 'chart_histogram', 'map_points', 'map_route', 'map_polygons', 'audio', 'video']) {
    checkEqual(result.cannot[t], true, `${t} given 42 says "cannot show this value as ${t}"`);
  }
  checkEqual(result.live.placeholder, 'No value yet', 'stream_text before any value');
  checkEqual(result.live.streamSameNode, true, 'stream_text kept its text node (appended the tail)');
  checkEqual(result.live.streamText, 'Hello, world!', 'stream_text after three updates');
  checkEqual(result.live.logKept, true, 'log kept its first line element (appended the new lines)');
  checkEqual(result.live.logLines, 3, 'log lines after the update');
  checkEqual(result.live.chartSame, true, 'chart_line kept its canvas and Chart instance');
  checkEqual(result.live.chartPoints, 4, 'chart_line points after two appends');
  checkEqual(result.live.chartSeries, 2, 'chart_line series after a validation series arrived');
  checkEqual(result.live.progress, [true, 75, true], 'progress after {value: 0.75, label}');
  checkEqual(dialogs, [], 'dialogs opened');
});

test('the example tools (README quick start) render charts, a table and a growing stream', async () => {
  const p = await br.page();
  await p.goto(`${px.url}tool/savings-plan`);
  await p.getByRole('button', { name: /^\s*run\b/i }).first().click();
  const sec = (key) => p.locator(`[data-output-key="${key}"]`);
  await waitFor(async () => (await sec('schedule').locator('tbody tr').count()) === 10, 'savings-plan: no 10-row schedule');
  for (const key of ['growth', 'split', 'yearly']) {
    await waitFor(async () => sec(key).locator('canvas').evaluate((c) => !!(window.Chart && window.Chart.getChart(c)))
      .catch(() => false), `savings-plan: ${key} has no chart`);
  }
  await waitFor(async () => /30,940\.79/.test(await sec('final_balance').innerText()), 'savings-plan: final balance 30,940.79');
  await screenshot(p, 'example-savings-plan');
  await p.goto(`${px.url}tool/slow-story`);
  await p.getByRole('button', { name: /^\s*run\b/i }).first().click();
  const words = async () => (await sec('story').innerText()).split(/\s+/).filter(Boolean).length;
  const first = await waitFor(async () => { const n = await words(); return n > 0 && n < 40 ? n : 0; },
    'slow-story: no partial story while it streams', 20000);
  await waitFor(async () => (await words()) > first, 'slow-story: the story did not grow', 20000);
  await waitFor(async () => /The end\./.test(await sec('story').innerText()), 'slow-story: the story did not finish', 30000);
  await waitFor(async () => (await sec('progress').locator('progress').evaluate((e) => e.value)) === 100,
    'slow-story: progress did not reach 100%');
  await p.close();
});

test('no console errors, page errors or CSP violations', async () => {
  check(br, 'no browser');
  br.checkClean('the every-output page and the hostile values');
});

await run();
