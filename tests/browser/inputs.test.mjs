// Every input type renders a labelled widget (issue 11), from the fixture
// tests/fixtures/tools/every-input (one input of each type in
// lua/pixie/toolspec.lua's INPUT_TYPES); the every-output fixture's page
// renders without errors. A widget is "labelled" when the browser gives it
// the input's label as its accessible name (label[for], a wrapping label,
// aria-labelledby / aria-label, or a fieldset's legend).
import fs from 'node:fs';
import path from 'node:path';
import {
  FIXTURES, SOURCE_DIR, check, checkEqual, labelRe, launchBrowser, makeHome, run, screenshot, startPixie, test, waitFor,
} from './lib/harness.mjs';

const spec = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'every-input', 'tool.json'), 'utf8'));
const toolspec = fs.readFileSync(path.join(SOURCE_DIR, 'lua', 'pixie', 'toolspec.lua'), 'utf8');
const INPUT_TYPES = [...toolspec.match(/M\.INPUT_TYPES = \{([^}]*)\}/)[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
const hasOutputs = fs.existsSync(path.join(FIXTURES, 'every-output', 'tool.json'));

const home = makeHome(['every-input', ...(hasOutputs ? ['every-output'] : [])], 'inputs');
// An example tool with charts, for the documentation's screenshot.
const EXAMPLE = path.join(SOURCE_DIR, 'examples', 'tools', 'savings-plan');
if (fs.existsSync(EXAMPLE)) fs.cpSync(EXAMPLE, path.join(home, 'tools', 'savings-plan'), { recursive: true });

let px;
let br;

test('setup: the every-input fixture has one input of each type', async () => {
  check(INPUT_TYPES.length >= 28, `cannot read INPUT_TYPES from toolspec.lua (${INPUT_TYPES.length})`);
  checkEqual([...new Set(spec.inputs.map((i) => i.type))].sort(), [...INPUT_TYPES].sort(),
    'input types of every-input');
  px = await startPixie({ home });
  br = await launchBrowser();
  const tool = await px.apiOk('GET', '/api/tools/every-input');
  checkEqual(tool.status, 'ok', `status of every-input (errors: ${JSON.stringify(tool.errors)})`);
});

test('every input type renders a widget labelled with its label', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/every-input`);
  const first = spec.inputs.find((i) => i.type !== 'hidden');
  await page.getByText(labelRe(first.label)).first().waitFor({ timeout: 15000 })
    .catch(() => check(false, `the form shows no label "${first.label}"`));
  const missing = [];
  for (const input of spec.inputs) {
    if (input.type === 'hidden') continue;
    const candidates = [
      page.getByLabel(labelRe(input.label)),
      page.getByRole('group', { name: labelRe(input.label) }),
      page.getByRole('radiogroup', { name: labelRe(input.label) }),
    ];
    let visible = false;
    for (const c of candidates) {
      const n = await c.count();
      for (let i = 0; i < n && !visible; i++) visible = await c.nth(i).isVisible();
      if (visible) break;
    }
    if (!visible) missing.push(`${input.type} ("${input.label}")`);
  }
  checkEqual(missing, [], 'input types without a visible widget labelled with their label');
  // The hidden input shows nothing.
  const hidden = spec.inputs.find((i) => i.type === 'hidden');
  if (hidden) {
    const shown = await page.getByText(hidden.label, { exact: true }).count();
    for (let i = 0; i < shown; i++) {
      check(!(await page.getByText(hidden.label, { exact: true }).nth(i).isVisible()),
        `the hidden input's label "${hidden.label}" is visible`);
    }
  }
  await screenshot(page, 'tool-inputs');
  await page.close();
});

test('the every-input form runs with its defaults', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/every-input`);
  const button = page.getByRole('button', { name: /^\s*run\b/i }).first();
  await button.waitFor({ state: 'visible', timeout: 15000 });
  await button.click();
  const runId = await waitFor(async () => (await px.apiOk('GET', '/api/tools/every-input/runs')).runs[0]?.id,
    'Run recorded no run (the form did not submit with its defaults)', 20000);
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'ok', `status of the every-input run (${final.error_text})`);
  await page.close();
});

test('the every-output page renders', async () => {
  check(hasOutputs, 'tests/fixtures/tools/every-output is missing');
  const page = await br.page();
  await page.goto(`${px.url}tool/every-output`);
  const button = page.getByRole('button', { name: /^\s*run\b/i }).first();
  await button.waitFor({ state: 'visible', timeout: 15000 });
  await button.click();
  const runId = await waitFor(async () => (await px.apiOk('GET', '/api/tools/every-output/runs')).runs[0]?.id,
    'Run recorded no run', 20000);
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'ok', `status of the every-output run (${final.error_text})`);
  await waitFor(async () => (await page.locator('canvas').count()) > 0, 'no chart canvas on the every-output page');
  await page.waitForTimeout(1500); // let the renderers load their libraries
  // The fixture's HTML-looking strings set window.__pxr_xss if ever run.
  checkEqual(await page.evaluate(() => window.__pxr_xss ?? null), null, 'window.__pxr_xss (markup in outputs ran)');
  const outSpec = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'every-output', 'tool.json'), 'utf8'));
  const text = await page.evaluate(() => document.body.innerText);
  const unlabelled = outSpec.outputs.filter((o) => !text.includes(o.label)).map((o) => o.label);
  checkEqual(unlabelled, [], 'outputs whose label the page does not show');
  const charts = outSpec.outputs.filter((o) => /^chart_(line|area|bar|scatter|pie|histogram|radar)$/.test(o.type));
  await waitFor(async () => (await page.locator('canvas').count()) >= charts.length,
    `fewer canvases than the ${charts.length} Chart.js outputs`);
  await page.close();
});

test('an example tool draws its charts (savings-plan)', async () => {
  check(fs.existsSync(EXAMPLE), 'examples/tools/savings-plan is missing');
  const page = await br.page();
  await page.goto(`${px.url}tool/savings-plan`);
  const button = page.getByRole('button', { name: /^\s*run\b/i }).first();
  await button.waitFor({ state: 'visible', timeout: 15000 });
  await button.click();
  const runId = await waitFor(async () => (await px.apiOk('GET', '/api/tools/savings-plan/runs')).runs[0]?.id,
    'Run recorded no run', 20000);
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'ok', `status of the savings-plan run (${final.error_text})`);
  await waitFor(async () => (await page.locator('canvas').count()) >= 3, 'savings-plan does not draw its 3 charts');
  await page.waitForTimeout(800); // chart animations
  await screenshot(page, 'tool-charts');
  await page.close();
});

test('no console errors, page errors or CSP violations on the input and output pages', async () => {
  check(br, 'no browser');
  br.checkClean('the every-input and every-output pages');
});

await run();
