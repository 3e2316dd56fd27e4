// The dashboard (/) and broken tools, in headless Chromium (SPEC §5).
import fs from 'node:fs';
import path from 'node:path';
import {
  check, checkEqual, labelRe, launchBrowser, makeHome, run, screenshot, startPixie, test, waitFor,
} from './lib/harness.mjs';

const home = makeHome(['refcalc', 'stream-agent', 'leaky', 'chatbot', 'stream-cancel', 'refbroken'], 'dashboard');
// Categories, so the dashboard has groups to show.
const setCategory = (id, category) => {
  const file = path.join(home, 'tools', id, 'tool.json');
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  spec.category = category;
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
};
setCategory('refcalc', 'Finance');
setCategory('stream-agent', 'Agents');
setCategory('leaky', 'Agents');
// A broken tool: an unknown input type and a secret declared with the old `label`.
const brokenDir = path.join(home, 'tools', 'broken-tool');
fs.mkdirSync(brokenDir);
fs.writeFileSync(path.join(brokenDir, 'tool.json'), JSON.stringify({
  id: 'broken-tool',
  name: 'Broken tool',
  description: 'Fixture: invalid on purpose.',
  inputs: [{ key: 'x', label: 'X', type: 'no-such-type' }],
  outputs: [{ key: 'y', label: 'Y', type: 'text' }],
}));
fs.writeFileSync(path.join(brokenDir, 'main.py'), 'print("never runs")\n');

let px;
let br;
let tools;

test('setup: server starts and lists the tools', async () => {
  px = await startPixie({ home });
  br = await launchBrowser();
  tools = (await px.apiOk('GET', '/api/tools')).tools;
  const ids = tools.map((t) => t.id).sort();
  checkEqual(ids, ['broken-tool', 'chatbot', 'leaky', 'refbroken', 'refcalc', 'stream-agent', 'stream-cancel'],
    'GET /api/tools ids');
  const broken = tools.find((t) => t.id === 'broken-tool');
  checkEqual(broken.status, 'broken', 'status of broken-tool');
  check(Array.isArray(broken.errors) && broken.errors.length > 0, 'broken-tool has no errors in /api/tools');
});

test('the dashboard shows every tool by name, grouped by category', async () => {
  const page = await br.page();
  const res = await page.goto(px.url);
  checkEqual(res.status(), 200, 'status of GET /');
  for (const name of ['Reference calculator', 'Stream agent', 'Leaky']) {
    await page.getByText(name, { exact: true }).first().waitFor({ state: 'visible', timeout: 10000 })
      .catch(() => check(false, `the dashboard does not show the tool name "${name}"`));
  }
  for (const category of ['Finance', 'Agents']) {
    check(await page.getByText(category, { exact: true }).first().isVisible(),
      `the dashboard shows no category heading "${category}"`);
  }
  // Grouping: each tool comes after its category's heading, with no other
  // category heading in between (document order, CSS text-transform ignored).
  const pos = await page.evaluate(() => {
    const text = document.body.textContent;
    const at = (s) => text.indexOf(s);
    return { Finance: at('Finance'), Agents: at('Agents'), refcalc: at('Reference calculator'),
      'stream-agent': at('Stream agent'), leaky: at('Leaky') };
  });
  const groups = { refcalc: 'Finance', 'stream-agent': 'Agents', leaky: 'Agents' };
  for (const [tool, cat] of Object.entries(groups)) {
    const other = cat === 'Finance' ? 'Agents' : 'Finance';
    const ok = pos[cat] < pos[tool] && !(pos[other] > pos[cat] && pos[other] < pos[tool]);
    check(ok, `tool ${tool} is not under its category heading "${cat}" (text positions ${JSON.stringify(pos)})`);
  }
  // No "install tool" button ever (SPEC §5.3).
  const install = await page.getByRole('button', { name: /install/i }).count() +
    await page.getByRole('link', { name: /install/i }).count();
  checkEqual(install, 0, 'install buttons or links on the dashboard');
  await screenshot(page, 'dashboard');
  await page.close();
});

test('a broken tool is listed with its errors', async () => {
  const page = await br.page();
  await page.goto(px.url);
  await page.getByText('broken-tool').first().waitFor({ timeout: 10000 })
    .catch(() => check(false, 'the dashboard does not show the broken tool\'s id "broken-tool"'));
  const broken = tools.find((t) => t.id === 'broken-tool');
  const text = await page.evaluate(() => document.body.innerText);
  for (const err of broken.errors) {
    const msg = typeof err === 'string' ? err : err.message || JSON.stringify(err);
    check(text.includes(msg), `the dashboard does not show the broken tool's error "${msg}"`);
  }
  await page.close();
});

test('a broken tool\'s page shows its errors and offers no run', async () => {
  const page = await br.page();
  const res = await page.goto(`${px.url}tool/broken-tool`);
  checkEqual(res.status(), 200, 'status of GET /tool/broken-tool');
  const broken = tools.find((t) => t.id === 'broken-tool');
  const first = broken.errors[0];
  const msg = typeof first === 'string' ? first : first.message || JSON.stringify(first);
  await page.getByText(msg, { exact: false }).first().waitFor({ timeout: 10000 })
    .catch(() => check(false, `/tool/broken-tool does not show the error "${msg}"`));
  const runButtons = page.getByRole('button', { name: /^\s*run\s*$/i });
  const n = await runButtons.count();
  for (let i = 0; i < n; i++) {
    const b = runButtons.nth(i);
    check(!(await b.isVisible()) || (await b.isDisabled()), '/tool/broken-tool has an enabled Run button');
  }
  await page.close();
});

test('a tool\'s card links to its page', async () => {
  const page = await br.page();
  await page.goto(px.url);
  await page.getByText('Reference calculator', { exact: true }).first().click();
  await waitFor(() => new URL(page.url()).pathname === '/tool/refcalc',
    'clicking "Reference calculator" did not open /tool/refcalc');
  await page.getByText(labelRe('Principal')).first().waitFor({ timeout: 10000 })
    .catch(() => check(false, '/tool/refcalc does not show the input label "Principal"'));
  await page.close();
});

test('an unknown tool\'s page says so', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/no-such-tool`);
  await page.getByText(/not found|unknown tool|no such tool|no tool/i).first().waitFor({ timeout: 10000 })
    .catch(() => check(false, '/tool/no-such-tool does not say the tool is not found'));
  // The page's own API calls for the tool 404 (and the browser logs each);
  // nothing else fails.
  await page.waitForTimeout(500);
  br.allowHttpErrors(/^404 GET \S+\/api\/tools\/no-such-tool(\/|\?|$)/);
  checkEqual(br.httpErrors, [], 'failed requests of /tool/no-such-tool other than its API 404s');
  await page.close();
});

// The element holding `name` and `status` but no other tool's name: its card.
function card(page, name, status, others) {
  let loc = page.locator('*').filter({ hasText: name }).filter({ hasText: status });
  for (const o of others) loc = loc.filter({ hasNotText: o });
  return loc;
}
const NAMES = ['Reference calculator', 'Reference calculator, biased', 'Stream cancel', 'Leaky', 'Stream agent'];

test('the status dots follow runs and validation', async () => {
  const started = await px.apiOk('POST', '/api/tools/stream-cancel/run', { inputs: {}, wait: false }, 202);
  const page = await br.page();
  await page.goto(px.url);
  const others = NAMES.filter((n) => n !== 'Stream cancel');
  await waitFor(async () => (await card(page, 'Stream cancel', /running/i, others).count()) > 0,
    'the dashboard does not show Stream cancel as running while its run goes on');
  await px.apiOk('POST', `/api/runs/${started.run_id}/cancel`, undefined, 202);
  await px.waitRun(started.run_id);
  for (const id of ['refcalc', 'refbroken']) await px.apiOk('POST', `/api/tools/${id}/validate`, undefined, 202);
  for (const id of ['refcalc', 'refbroken']) {
    await waitFor(async () => {
      const v = await px.apiOk('GET', `/api/tools/${id}/validation`);
      return !v.running && v.report;
    }, `the validation of ${id} did not finish`, 60000);
  }
  await page.reload();
  await waitFor(async () => (await card(page, 'Reference calculator, biased', /fail/i,
    NAMES.filter((n) => !n.startsWith('Reference calculator'))).count()) > 0,
  'the dashboard does not show the biased calculator\'s failed validation');
  await waitFor(async () => (await card(page, /^Reference calculator$|Reference calculator(?!,)/, /pass/i,
    NAMES.filter((n) => !n.startsWith('Reference calculator'))).filter({ hasNotText: 'biased' }).count()) > 0,
  'the dashboard does not show the calculator\'s passed validation');
  await page.close();
});

test('the chat page holds a conversation', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/chatbot/chat`);
  const box = page.getByRole('textbox').last();
  await box.waitFor({ state: 'visible', timeout: 10000 })
    .catch(() => check(false, '/tool/chatbot/chat has no text box'));
  for (const [i, words] of ['first words', 'second words'].entries()) {
    await box.fill(words);
    await page.getByRole('button', { name: /send/i }).first().click();
    await waitFor(async () => (await page.evaluate(() => document.body.innerText)).includes(`you said: ${words}`),
      `the chat page does not show the reply to "${words}"`);
    const runs = (await px.apiOk('GET', '/api/tools/chatbot/runs')).runs;
    checkEqual(runs.length, i + 1, 'chat runs');
    const last = runs[0];
    checkEqual(last.status, 'ok', 'status of the chat run');
    checkEqual(last.inputs.messages.length, 2 * i + 1, 'messages sent (every turn plus the new one)');
    checkEqual(last.inputs.history.length, 2 * i, 'history sent (the turns before the new message)');
    checkEqual(last.inputs.messages.at(-1), { role: 'user', content: words }, 'the last message sent');
  }
  await page.close();
});

test('every page loads with its token and security headers', async () => {
  const page = await br.page();
  for (const p of ['', 'tool/refcalc', 'tool/refcalc/settings', 'tool/refcalc/logs', 'tool/chatbot/chat']) {
    const res = await page.goto(`${px.url}${p}`);
    checkEqual(res.status(), 200, `status of /${p}`);
    const h = res.headers();
    checkEqual(h['content-security-policy'],
      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'", `CSP of /${p}`);
    checkEqual(h['cache-control'], 'no-store', `Cache-Control of /${p}`);
    check(!('access-control-allow-origin' in h), `/${p} has an Access-Control-Allow-Origin header`);
    const html = await px.request('GET', `/${p}`);
    check(/<meta name="pixie-token" content="[0-9a-f]{64}">/.test(html.text), `/${p} has no token meta tag`);
    check(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html.text), `/${p} has an inline script`);
    check(!/\sstyle\s*=|<style/i.test(html.text), `/${p} has an inline style`);
    check(!/\son[a-z]+\s*=/i.test(html.text), `/${p} has an inline event handler`);
    await page.waitForLoadState('networkidle').catch(() => {});
  }
  // A chat tool's own page sends chat tools to their chat page.
  await page.goto(`${px.url}tool/chatbot`);
  await waitFor(() => new URL(page.url()).pathname === '/tool/chatbot/chat' ||
    page.locator('a[href$="/tool/chatbot/chat"]').count(), '/tool/chatbot neither opens nor links /tool/chatbot/chat');
  await page.close();
});

test('no console errors, page errors or CSP violations on the dashboard pages', async () => {
  check(br, 'no browser');
  br.checkClean('the dashboard pages');
});

await run();
