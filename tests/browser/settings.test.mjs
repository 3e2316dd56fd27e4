// Secrets in the browser (SPEC §5.1, issue 11): the required-secret warning,
// the settings page's pill, the write-only password field, Replace, clearing;
// a saved value is never anywhere the browser can see.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  canary, check, checkEqual, hide, labelRe, filesUnder, isGreenish, isGreyish, launchBrowser, makeHome, redact, rgbOf, run,
  screenshot, startPixie, test, waitFor,
} from './lib/harness.mjs';

const home = makeHome(['leaky', 'refcalc', { from: 'leaky', id: 'leaky-stray' }], 'settings');
// An undeclared key in a tool's .env: listed by name, its value never shown.
const STRAY = canary('STRAY');
fs.writeFileSync(path.join(home, 'tools', 'leaky-stray', '.env'), `OTHER_KEY=${STRAY}\n`, { mode: 0o600 });
const envFile = path.join(home, 'tools', 'leaky', '.env');
const FIRST = canary('FIRST');
const SECOND = canary('SECOND');
// The replacement is typed with characters a .env must quote or escape; the
// tool must read back exactly what was typed (python-dotenv judges).
const TRICKY = `${SECOND} "dq" 'sq' #hash $HOME \\back é\ttab`;
hide(TRICKY);

// What python-dotenv reads from the .env (a map), never printed.
function dotenvValues(file) {
  const r = spawnSync('python3', ['-c',
    'import json, sys\nfrom dotenv import dotenv_values\nsys.stdout.write(json.dumps(dotenv_values(sys.argv[1])))', file],
  { encoding: 'utf8' });
  check(r.status === 0, () => `python-dotenv could not read ${file}: ${redact(r.stderr)}`);
  return JSON.parse(r.stdout);
}

let px;
let br;
let page;

// The visible element whose whole text is the pill's word.
const pill = (p, word) => p.getByText(new RegExp(`^\\s*${word}\\s*$`, 'i'));

// The pill's colours: its background (null when transparent) and text.
async function pillColours(locator) {
  const bg = await rgbOf(locator, 'background-color');
  const fg = await rgbOf(locator, 'color');
  return { bg: bg.alpha > 0.1 ? bg.rgb : null, fg: fg.rgb, css: `background ${bg.css}, text ${fg.css}` };
}

// Green: its background or its text is green. Grey: neither is green and
// both are greys.
const pillIsGreen = (c) => (c.bg && isGreenish(c.bg)) || isGreenish(c.fg);
const pillIsGrey = (c) => !pillIsGreen(c) && (!c.bg || isGreyish(c.bg)) && isGreyish(c.fg);

// Every place the browser could hold a value: the DOM, every input's value,
// the page source, every network response body (and each GET again, outside
// the browser), cookies, local and session storage, the URL; plus the
// server's output and every file of the home but the tool's .env.
async function checkNowhere(value, what) {
  const where = [];
  const html = await page.content();
  if (html.includes(value)) where.push('page.content() (the DOM)');
  const values = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select')]
    .map((el) => el.value));
  if (values.some((v) => v.includes(value))) where.push('an input\'s value');
  if (page.url().includes(value)) where.push('the page URL');
  const storage = await page.evaluate(() => JSON.stringify([Object.entries(localStorage),
    Object.entries(sessionStorage)]));
  if (storage.includes(value)) where.push('localStorage/sessionStorage');
  const cookies = JSON.stringify(await br.context.cookies());
  if (cookies.includes(value)) where.push('cookies');
  const bodies = await br.bodies();
  for (const b of bodies) {
    if (b.body && b.body.includes(value)) where.push(`the response body of ${b.method} ${b.url}`);
  }
  // A body the browser no longer has (its page navigated away) is checked
  // by fetching it again below when it was a GET; any other must be readable.
  const unreadable = bodies.filter((b) => b.body === null && b.status !== 204 && b.status < 300 &&
    b.method !== 'HEAD' && b.method !== 'GET' && !/event-stream/.test(b.headers['content-type'] || ''));
  check(unreadable.length === 0, () => `cannot check the bodies of ${unreadable.map((b) => b.url).join(', ')}`);
  const gets = new Set(bodies.filter((b) => b.method === 'GET' && b.url.startsWith(px.origin))
    .map((b) => new URL(b.url).pathname + new URL(b.url).search));
  for (const p of ['/', '/tool/leaky', '/tool/leaky/settings', '/api/tools', '/api/tools/leaky',
    '/api/tools/leaky/secrets', '/api/tools/leaky-stray/secrets', '/api/tools/leaky/runs']) gets.add(p);
  for (const p of gets) {
    if (/\/events$/.test(p)) continue;
    const r = await px.request('GET', p);
    if (r.body.includes(value)) where.push(`GET ${p} (fetched again)`);
  }
  if (px.stdout.includes(value) || px.stderr.includes(value)) where.push('the server\'s stdout/stderr');
  for (const f of filesUnder(home)) {
    if (f.rel.endsWith('/.env') || f.rel === 'tools/leaky/.env') continue;
    if (f.bytes.includes(value)) where.push(`the file ${f.rel}`);
  }
  check(where.length === 0, () => `${what} found in: ${where.join('; ')}`);
}

function envText() {
  return fs.existsSync(envFile) ? fs.readFileSync(envFile, 'utf8') : null;
}

test('setup: server and browser', async () => {
  px = await startPixie({ home });
  br = await launchBrowser();
  const s = await px.apiOk('GET', '/api/tools/leaky/secrets');
  checkEqual(s.secrets.map((r) => [r.key, r.required, r.set]), [['LEAK_TOKEN', true, false]],
    'GET /api/tools/leaky/secrets rows');
});

test('the tool page warns that the required secret is not set', async () => {
  page = await br.page();
  const res = await page.goto(`${px.url}tool/leaky`);
  checkEqual(res.status(), 200, 'status of GET /tool/leaky');
  await page.getByText(/LEAK_TOKEN/).first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, '/tool/leaky does not name the missing required secret LEAK_TOKEN'));
  const text = await page.evaluate(() => document.body.innerText);
  check(/not set|missing|required/i.test(text),
    '/tool/leaky names LEAK_TOKEN but does not say it is not set / missing / required');
  // It leads to the settings page.
  const link = page.locator('a[href$="/tool/leaky/settings"]');
  check(await link.count() > 0, '/tool/leaky has no link to /tool/leaky/settings');
  // Running it anyway ends in an error that names the secret (as the CLI).
  await page.getByRole('button', { name: /^\s*run\b/i }).first().click();
  const run = await waitFor(async () => (await px.apiOk('GET', '/api/tools/leaky/runs')).runs[0],
    'Run on a tool missing its required secret recorded no run');
  const final = await px.waitRun(run.id);
  checkEqual(final.status, 'error', 'status of a run missing its required secret');
  check(/LEAK_TOKEN/.test(final.error_text || ''), `the run's error does not name LEAK_TOKEN: ${final.error_text}`);
  await waitFor(async () => (await page.evaluate(() => document.body.innerText)).split('LEAK_TOKEN').length > 2,
    'the page does not show the run\'s error naming LEAK_TOKEN');
  // A tool with no secrets has no such warning.
  await page.goto(`${px.url}tool/refcalc`);
  await page.getByText(labelRe('Principal')).first().waitFor({ timeout: 10000 });
  const calc = await page.evaluate(() => document.body.innerText);
  check(!/secret[^\n]*(not set|missing)/i.test(calc), '/tool/refcalc warns about a secret it does not declare');
});

test('the settings page shows key, description, a grey "not set" pill and a password field', async () => {
  const res = await page.goto(`${px.url}tool/leaky/settings`);
  checkEqual(res.status(), 200, 'status of GET /tool/leaky/settings');
  checkEqual(res.headers()['cache-control'], 'no-store', 'Cache-Control of the settings page');
  await page.getByText('LEAK_TOKEN', { exact: true }).first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'the settings page does not show the key LEAK_TOKEN as its own element'));
  check(await page.getByText('A secret the tool leaks').first().isVisible(),
    'the settings page does not show the description "A secret the tool leaks"');
  const notSet = pill(page, 'not set').first();
  check(await notSet.isVisible(), 'the settings page shows no "not set" pill');
  check(await pill(page, 'set').count() === 0, 'a "set" pill is shown for a secret that is not set');
  const grey = await pillColours(notSet);
  check(pillIsGrey(grey), `the "not set" pill is not grey: ${grey.css}`);
  const pw = page.locator('input[type="password"]');
  checkEqual(await pw.count(), 1, 'password inputs on the settings page');
  checkEqual(await pw.getAttribute('autocomplete'), 'off', 'autocomplete of the password input');
  checkEqual(await pw.inputValue(), '', 'value of the password input');
  checkEqual(await page.locator('input[type="text"], textarea').count(), 0,
    'text inputs on the settings page (a secret goes in a password field only)');
  const text = await page.evaluate(() => document.body.innerText);
  check(/required/i.test(text), 'the settings page does not warn that the required LEAK_TOKEN is not set');
});

test('saving a secret turns the pill green "set"; the value is never shown back', async () => {
  check(envText() === null, 'tools/leaky/.env exists before saving');
  const pw = page.locator('input[type="password"]');
  await pw.fill(FIRST);
  await page.getByRole('button', { name: /save/i }).first().click();
  const set = pill(page, 'set').first();
  await set.waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'after Save the pill does not say "set"'));
  check(await pill(page, 'not set').count() === 0, 'after Save a "not set" pill is still shown');
  const green = await pillColours(set);
  check(pillIsGreen(green), `the "set" pill is not green: ${green.css}`);
  // The value went to the tool's .env (0600), and nowhere else.
  await waitFor(() => (envText() || '').includes(FIRST), 'tools/leaky/.env does not hold the saved value');
  checkEqual((fs.statSync(envFile).mode & 0o777).toString(8), '600', 'mode of tools/leaky/.env');
  const api = await px.apiOk('GET', '/api/tools/leaky/secrets');
  checkEqual(api.secrets[0].set, true, 'GET /api/tools/leaky/secrets set');
  await checkNowhere(FIRST, 'the saved secret');
  // After a reload the page still says "set", and still shows nothing of it.
  await page.reload();
  await pill(page, 'set').first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'after a reload the pill does not say "set"'));
  await checkNowhere(FIRST, 'the saved secret (after a reload)');
  await screenshot(page, 'settings');
});

test('"Replace" opens an empty password input and replaces the value', async () => {
  const replace = page.getByRole('button', { name: /replace/i }).first();
  check(await replace.isVisible(), 'a set secret has no visible "Replace" button');
  await replace.click();
  const pw = page.locator('input[type="password"]');
  await pw.first().waitFor({ state: 'visible', timeout: 5000 })
    .catch(() => check(false, '"Replace" did not show a password input'));
  checkEqual(await pw.count(), 1, 'password inputs after "Replace"');
  checkEqual(await pw.inputValue(), '', 'value of the password input "Replace" opened');
  checkEqual(await pw.getAttribute('autocomplete'), 'off', 'autocomplete of the Replace input');
  const before = envText();
  await pw.fill(TRICKY);
  await page.getByRole('button', { name: /save/i }).first().click();
  await waitFor(() => (envText() || '').includes(SECOND), 'Replace + Save did not write the new value to .env');
  check(!envText().includes(FIRST), 'the old value is still in .env after Replace');
  check(dotenvValues(envFile).LEAK_TOKEN === TRICKY,
    'python-dotenv does not read back exactly the value typed (quotes, #, $, backslash, é, tab)');
  check(before !== envText(), '.env did not change');
  await pill(page, 'set').first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'after Replace + Save the pill does not say "set"'));
  checkEqual(await page.locator('input[type="password"]').evaluateAll((els) => els.map((e) => e.value)
    .filter(Boolean)), [], 'non-empty password inputs after saving');
  await checkNowhere(SECOND, 'the replaced secret');
  await checkNowhere(FIRST, 'the old secret');
});

test('a value over 64 KiB is refused with a message and changes nothing', async () => {
  const before = envText();
  const replace = page.getByRole('button', { name: /replace/i }).first();
  await replace.click();
  const pw = page.locator('input[type="password"]');
  await pw.first().waitFor({ state: 'visible', timeout: 5000 });
  await pw.fill('x'.repeat(64 * 1024 + 1));
  await page.getByRole('button', { name: /save/i }).first().click();
  await waitFor(async () => /too large|64 KiB|too long/i.test(await page.evaluate(() => document.body.innerText)),
    'saving a 64 KiB + 1 value shows no "too large" message');
  checkEqual(envText(), before, '.env after a refused value');
  checkEqual(br.allowHttpErrors(/^413 POST \S+\/api\/tools\/leaky\/secrets\/LEAK_TOKEN$/), 1,
    '413 answers to the too-large value');
  await page.reload();
  await pill(page, 'set').first().waitFor({ state: 'visible', timeout: 10000 });
});

test('clearing a secret is a separate, confirmed action', async () => {
  const clear = page.getByRole('button', { name: /clear|delete|remove/i }).first();
  check(await clear.isVisible(), 'a set secret has no visible Clear/Delete button');
  let dialogs = 0;
  const dismiss = (d) => { dialogs++; d.dismiss(); };
  page.on('dialog', dismiss);
  await clear.click();
  await page.waitForTimeout(1000);
  page.off('dialog', dismiss);
  check((envText() || '').includes(SECOND), 'one click on Clear (not confirmed) removed the secret');
  if (dialogs > 0) {
    page.once('dialog', (d) => d.accept());
    await clear.click();
  } else {
    const confirm = page.getByRole('button', { name: /confirm|yes|clear|delete|remove/i });
    const n = await confirm.count();
    let clicked = false;
    for (let i = n - 1; i >= 0; i--) {
      const b = confirm.nth(i);
      if (await b.isVisible()) {
        await b.click();
        clicked = true;
        break;
      }
    }
    check(clicked, 'Clear shows neither a confirm dialog nor a confirm button');
  }
  await waitFor(() => !(envText() || '').includes(SECOND), 'confirming Clear did not remove the secret from .env');
  await pill(page, 'not set').first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'after Clear the pill does not say "not set"'));
  const api = await px.apiOk('GET', '/api/tools/leaky/secrets');
  checkEqual(api.secrets[0].set, false, 'GET /api/tools/leaky/secrets set after Clear');
});

test('undeclared keys in .env are listed by name only', async () => {
  const p = await br.page();
  await p.goto(`${px.url}tool/leaky-stray/settings`);
  await p.getByText('OTHER_KEY').first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'the settings page does not list the undeclared key OTHER_KEY'));
  const html = await p.content();
  check(!html.includes(STRAY), 'the undeclared key\'s value is in the settings page');
  await p.close();
});

test('the settings page works when opened as http://localhost:PORT', async () => {
  const THIRD = canary('LOCALHOST');
  const file = path.join(home, 'tools', 'leaky-stray', '.env');
  const p = await br.page();
  await p.goto(`http://localhost:${px.port}/tool/leaky-stray/settings`);
  const pw = p.locator('input[type="password"]');
  await pw.first().waitFor({ state: 'visible', timeout: 10000 });
  await pw.fill(THIRD);
  await p.getByRole('button', { name: /save/i }).first().click();
  await pill(p, 'set').first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, 'saving from http://localhost:PORT did not turn the pill "set"'));
  const env = fs.readFileSync(file, 'utf8');
  check(env.includes(THIRD) && env.includes(STRAY), '.env of leaky-stray lacks the new value or lost OTHER_KEY');
  check(!(await p.content()).includes(THIRD), 'the value saved from localhost is in the page');
  await p.close();
});

test('a tool that declares no secrets says so', async () => {
  const p = await br.page();
  await p.goto(`${px.url}tool/refcalc/settings`);
  await p.getByText(/no secrets/i).first().waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, '/tool/refcalc/settings does not say the tool declares no secrets'));
  checkEqual(await p.locator('input[type="password"]').count(), 0, 'password inputs for a tool without secrets');
  await p.close();
});

test('no console errors, page errors or CSP violations on the settings pages', async () => {
  check(br, 'no browser');
  await checkNowhere(STRAY, 'the undeclared key\'s value');
  br.checkClean('the settings pages');
});

await run();
