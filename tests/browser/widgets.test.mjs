// The autocomplete and map input widgets (web/static/js/widgets/) against real
// fixture tools: `suggester` (autocomplete endpoints on its own server) and
// `mapper` (the four map inputs; both echo the inputs they receive).
// Autocomplete: typing asks the tool, the list is a listbox under a combobox
// (aria-expanded, aria-activedescendant), Down/Up/Enter choose with the
// keyboard without submitting the form, Escape closes, the chosen value is
// what the run receives; a failing endpoint gives a quiet message and the
// typed text stays the value. Maps: a click on the map (no tiles, a
// graticule) fills the coordinate fields for each type; typing in a field
// redraws the map; Undo and Clear; the run receives exactly the fields'
// values in the shapes lua/pixie/inputs.lua checks. No console error, page
// error or CSP violation.
import {
  check, checkEqual, launchBrowser, makeHome, run, screenshot, startPixie, test, waitFor,
} from './lib/harness.mjs';

let px;
let br;

test('setup: a home with the suggester and mapper fixtures', async () => {
  px = await startPixie({ home: makeHome(['suggester', 'mapper'], 'widgets') });
  br = await launchBrowser();
  for (const id of ['suggester', 'mapper']) {
    const tool = await px.apiOk('GET', `/api/tools/${id}`);
    checkEqual(tool.status, 'ok', `status of ${id} (errors: ${JSON.stringify(tool.errors)})`);
  }
});

// Clicks Run and returns the inputs the tool received (its echo).
async function runAndEcho(page, toolId) {
  const before = (await px.apiOk('GET', `/api/tools/${toolId}/runs`)).runs.length;
  await page.getByRole('button', { name: /^\s*run\b/i }).first().click();
  const runId = await waitFor(async () => {
    const runs = (await px.apiOk('GET', `/api/tools/${toolId}/runs`)).runs;
    return runs.length > before ? runs[0].id : null;
  }, 'Run recorded no run', 20000);
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'ok', `status of the ${toolId} run (${final.error_text})`);
  return JSON.parse(final.outputs.received);
}

test('autocomplete: type, choose a suggestion with the keyboard, run with it', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/suggester`);
  const box = page.getByRole('combobox', { name: 'City' });
  await box.waitFor({ timeout: 15000 });
  checkEqual(await box.getAttribute('aria-expanded'), 'false', 'aria-expanded before typing');
  const listId = await box.getAttribute('aria-controls');
  const list = page.locator(`#${listId}`);
  checkEqual(await list.getAttribute('role'), 'listbox', 'role of the suggestion list');

  await box.pressSequentially('pa');
  await waitFor(async () => (await box.getAttribute('aria-expanded')) === 'true', 'the suggestion list never opened');
  const options = list.getByRole('option');
  checkEqual(await options.allInnerTexts().then((t) => t.map((s) => s.split('\n')[0].trim())),
    ['Paris, France', 'Parma'], 'suggestions for "pa"');
  check(await list.isVisible(), 'the suggestion list is not visible');

  await box.press('ArrowDown');
  await box.press('ArrowDown');
  const second = await options.nth(1).getAttribute('id');
  checkEqual(await box.getAttribute('aria-activedescendant'), second, 'active option after Down, Down');
  checkEqual(await options.nth(1).getAttribute('aria-selected'), 'true', 'aria-selected of Parma');
  await screenshot(page, 'input-autocomplete');
  await box.press('ArrowUp');
  checkEqual(await box.getAttribute('aria-activedescendant'), await options.nth(0).getAttribute('id'),
    'active option after Up');
  await box.press('Enter');
  checkEqual(await box.inputValue(), 'Paris', 'the field after Enter (the value, not the label)');
  checkEqual(await box.getAttribute('aria-expanded'), 'false', 'aria-expanded after choosing');
  check(!(await list.isVisible()), 'the list is still shown after choosing');
  checkEqual((await px.apiOk('GET', '/api/tools/suggester/runs')).runs.length, 0,
    'runs after Enter in the list (Enter must choose, not submit)');

  // Escape closes the list and keeps the text.
  const lookup = page.getByRole('combobox', { name: 'Lookup' });
  await lookup.pressSequentially('ab');
  await waitFor(async () => (await lookup.getAttribute('aria-expanded')) === 'true', 'Lookup list never opened');
  await lookup.press('Escape');
  checkEqual(await lookup.getAttribute('aria-expanded'), 'false', 'aria-expanded after Escape');
  checkEqual(await lookup.inputValue(), 'ab', 'Lookup after Escape');

  // A failing endpoint: a quiet message, the typed text stays.
  const junk = page.getByRole('combobox', { name: 'Junk' });
  await junk.pressSequentially('shape');
  const field = page.locator('[data-testid="field-junk"]');
  await waitFor(async () => /Suggestions unavailable/.test(await field.innerText()),
    'no message for a failing endpoint');
  check(/not a list of suggestions/.test(await field.innerText()), 'the message does not say why');
  checkEqual(await junk.getAttribute('aria-expanded'), 'false', 'aria-expanded for a failing endpoint');
  checkEqual(await junk.getAttribute('aria-invalid'), null, 'aria-invalid for a failing endpoint');
  br.allowHttpErrors(/^502 GET .*\/autocomplete\/junk/);

  const got = await runAndEcho(page, 'suggester');
  checkEqual(got.city, 'Paris', 'city the tool received');
  checkEqual(got.lookup, 'ab', 'lookup the tool received');
  checkEqual(got.junk, 'shape', 'junk the tool received (free text)');
  await page.close();
});

test('autocomplete: a late answer for older text is not shown', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/suggester`);
  const box = page.getByRole('combobox', { name: 'City' });
  await box.waitFor({ timeout: 15000 });
  // Slow the answers for "p" down so the one for "l" arrives first.
  await page.route(/autocomplete\/city\?q=p$/, async (route) => {
    const res = await route.fetch();
    await new Promise((r) => setTimeout(r, 1500));
    await route.fulfill({ response: res });
  });
  await box.fill(''); // the form starts with the last run's inputs
  const asked = page.waitForRequest(/autocomplete\/city\?q=p$/);
  await box.pressSequentially('p');
  await asked;
  await box.fill('l');
  await waitFor(async () => (await box.getAttribute('aria-expanded')) === 'true', 'no list for "l"');
  const listId = await box.getAttribute('aria-controls');
  const first = async () => (await page.locator(`#${listId} [role=option]`).allInnerTexts()).map((s) => s.split('\n')[0].trim());
  checkEqual(await first(), ['Lisbon', 'London, UK', 'Lyon'], 'suggestions for "l"');
  await page.waitForTimeout(2000); // the answer for "p" arrives now, and must be dropped
  checkEqual(await first(), ['Lisbon', 'London, UK', 'Lyon'], 'suggestions after the late answer for "p"');
  await page.close();
});

// Centre of the map of field `key` and a click helper at an offset from it.
async function mapOf(page, key) {
  const map = page.locator(`[data-testid="field-${key}"] .map-input__map`);
  await waitFor(async () => (await map.getAttribute('class') || '').includes('leaflet-container'),
    `the ${key} map never drew`);
  const click = async (dx, dy) => {
    await map.scrollIntoViewIfNeeded();
    const b = await map.boundingBox();
    await page.mouse.click(b.x + b.width / 2 + dx, b.y + b.height / 2 + dy);
  };
  return { map, click };
}

async function numbers(page, key) {
  const els = page.locator(`[data-testid="field-${key}"] input[type=number]`);
  const vals = [];
  for (let i = 0; i < await els.count(); i++) vals.push(await els.nth(i).inputValue());
  return vals;
}

const near = (a, b, tol, what) => check(Math.abs(Number(a) - b) < tol, `${what}: ${a} is not near ${b}`);

test('map inputs: clicks fill the fields, fields redraw the map, the run gets the values', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/mapper`);

  // map_point: a click at the centre is the default centre.
  const point = await mapOf(page, 'point');
  await waitFor(async () => (await point.map.locator('.graticule-label').count()) > 2, 'no graticule labels on the map');
  checkEqual(await numbers(page, 'point'), ['', ''], 'point fields before a click');
  await point.click(0, 0);
  const [lat, lon] = await numbers(page, 'point');
  near(lat, 48.85, 0.5, 'point latitude'); near(lon, 2.35, 0.5, 'point longitude');
  check(await point.map.locator('path.leaflet-interactive').count() === 1, 'no marker for the point');
  await point.click(60, 0); // a second click moves it east
  const [lat2, lon2] = await numbers(page, 'point');
  near(lat2, Number(lat), 0.01, 'point latitude after a click east');
  check(Number(lon2) > Number(lon), 'a click east did not raise the longitude');

  // map_bbox: two opposite corners, in any order.
  const bbox = await mapOf(page, 'box');
  await bbox.click(80, -50);
  await bbox.click(-80, 50);
  const [s, w, n, e] = (await numbers(page, 'box')).map(Number);
  check(s < 48.85 && 48.85 < n && w < 2.35 && 2.35 < e, `the box ${[s, w, n, e]} is not around the centre`);
  check(await bbox.map.locator('path.leaflet-interactive').count() >= 1, 'no rectangle drawn');
  // Shift-drag draws a box too (and does not pan the map).
  const bb = await bbox.map.boundingBox();
  const [x0, y0] = [bb.x + bb.width / 2 - 40, bb.y + bb.height / 2 - 30];
  await page.keyboard.down('Shift');
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move(x0 + 40, y0 + 30, { steps: 4 });
  await page.mouse.move(x0 + 80, y0 + 60, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  const dragged = (await numbers(page, 'box')).map(Number);
  check(dragged[0] < dragged[2] && dragged[1] < dragged[3], `the dragged box ${dragged} is not a box`);
  check(dragged[0] > s && dragged[2] < n && dragged[1] > w && dragged[3] < e,
    `the dragged box ${dragged} is not inside the clicked one ${[s, w, n, e]}`);
  await page.getByRole('button', { name: 'Undo the last map edit of Area' }).click();
  checkEqual((await numbers(page, 'box')).map(Number), [s, w, n, e], 'the box after Undo');

  // map_polygon: three clicks, three corners.
  const poly = await mapOf(page, 'shape');
  await poly.click(-60, 40); await poly.click(60, 40); await poly.click(0, -60);
  const corners = await numbers(page, 'shape');
  checkEqual(corners.length, 6, 'polygon coordinate fields after 3 clicks');
  check(corners.every((v) => v !== ''), 'an empty polygon field after 3 clicks');

  // map_multipoint: two clicks, then Undo takes the second back.
  const multi = await mapOf(page, 'stops');
  await multi.click(-30, 0); await multi.click(30, 30);
  checkEqual((await numbers(page, 'stops')).length, 4, 'multipoint fields after 2 clicks');
  await page.getByRole('button', { name: 'Undo the last map edit of Stops' }).click();
  const stops = await numbers(page, 'stops');
  checkEqual(stops.length, 2, 'multipoint fields after Undo');

  // Fields -> map: the preset point (its default) is drawn; typing moves it.
  const preset = await mapOf(page, 'preset');
  checkEqual(await numbers(page, 'preset'), ['40', '-3.5'], 'the preset default');
  check(await preset.map.locator('path.leaflet-interactive').count() === 1, 'the default point is not drawn');
  await page.getByRole('button', { name: 'Clear Preset' }).click();
  checkEqual(await numbers(page, 'preset'), ['', ''], 'preset after Clear');
  check(await preset.map.locator('path.leaflet-interactive').count() === 0, 'a marker is left after Clear');
  await page.locator('[data-testid="field-preset"]').getByLabel('Latitude').fill('41.5');
  await page.locator('[data-testid="field-preset"]').getByLabel('Longitude').fill('-4.25');
  check(await preset.map.locator('path.leaflet-interactive').count() === 1, 'typed coordinates are not drawn');

  await page.locator('[data-testid="field-box"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'input-maps');
  const got = await runAndEcho(page, 'mapper');
  checkEqual(got.point, [Number(lat2), Number(lon2)], 'map_point the tool received ([lat, lon])');
  checkEqual(got.box, [s, w, n, e], 'map_bbox the tool received ([south, west, north, east])');
  checkEqual(got.shape, [[corners[0], corners[1]], [corners[2], corners[3]], [corners[4], corners[5]]].map((p) => p.map(Number)),
    'map_polygon the tool received ([[lat, lon]…])');
  checkEqual(got.stops, [[Number(stops[0]), Number(stops[1])]], 'map_multipoint the tool received');
  checkEqual(got.preset, [41.5, -4.25], 'the typed preset the tool received');
  await page.close();
});

test("map_bbox: a run with the original page's [[s, w], [n, e]] pre-fills the four fields", async () => {
  const inputs = { point: [1, 2], box: [[47.5, -1.25], [50.25, 5.75]], shape: [[1, 1], [2, 2], [1, 3]],
    stops: [[3, 4]] };
  const started = await px.apiOk('POST', '/api/tools/mapper/run', { inputs, wait: true });
  checkEqual(started.status, 'ok', `status of the API run (${started.error_text})`);
  checkEqual(JSON.parse(started.outputs.received).box, inputs.box, 'the nested box passed on unchanged');
  const page = await br.page();
  await page.goto(`${px.url}tool/mapper`);
  await mapOf(page, 'box');
  await waitFor(async () => (await numbers(page, 'box'))[0] !== '', 'the box fields were not pre-filled');
  checkEqual(await numbers(page, 'box'), ['47.5', '-1.25', '50.25', '5.75'], 'box fields from last_inputs');
  await page.close();
});

test('no console errors, page errors or CSP violations', async () => {
  check(br, 'no browser');
  br.checkClean('the suggester and mapper pages');
});

await run();
