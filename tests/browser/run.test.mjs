// Running tools from the tool page (issue 11): outputs rendered, a stream
// growing before its run ends, cancel, history.
import fs from 'node:fs';
import path from 'node:path';
import {
  canary, check, checkEqual, labelRe, launchBrowser, makeHome, run, screenshot, sleep, startPixie, test, waitFor,
} from './lib/harness.mjs';

const home = makeHome(['refcalc', 'stream-cancel', 'stream-agent', 'stream-trainer', 'leaky'], 'run');
// leaky prints, raises and returns its secret: the pages must show it masked.
const LEAK = canary('LEAK');
fs.writeFileSync(path.join(home, 'tools', 'leaky', '.env'), `LEAK_TOKEN=${LEAK}\n`, { mode: 0o600 });

let px;
let br;

const runButton = (page) => page.getByRole('button', { name: /^\s*run\b/i }).first();
const bodyText = (page) => page.evaluate(() => document.body.innerText);

async function runsOf(id) {
  return (await px.apiOk('GET', `/api/tools/${id}/runs`)).runs;
}

test('setup: server and browser', async () => {
  px = await startPixie({ home });
  br = await launchBrowser();
});

test('the form is built from the inputs, with their defaults', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/refcalc`);
  for (const [label, value] of [['Principal', '1000'], ['Rate (%)', '5'], ['Years', '3']]) {
    const field = page.getByLabel(labelRe(label));
    await field.first().waitFor({ state: 'visible', timeout: 10000 })
      .catch(() => check(false, `/tool/refcalc has no field labelled "${label}"`));
    checkEqual(await field.first().inputValue(), value, `default of "${label}"`);
  }
  await page.close();
});

test('running a tool renders its outputs', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/refcalc`);
  const years = page.getByLabel(labelRe('Years')).first();
  await years.waitFor({ state: 'visible', timeout: 10000 });
  await years.fill('4');
  await runButton(page).click();
  // 1000 * 1.05^4 = 1215.50625
  await waitFor(async () => /1,?215\.5/.test(await bodyText(page)), 'the Total output (1215.5…) is not shown');
  const runs = await runsOf('refcalc');
  checkEqual(runs.length, 1, 'runs of refcalc after one Run');
  checkEqual(runs[0].status, 'ok', 'status of the run');
  checkEqual(runs[0].inputs.years, 4, 'the years input the run got');
  // table: 4 data rows under a Balance header
  await waitFor(async () => (await page.locator('table').filter({ hasText: 'Balance' }).locator('tbody tr').count()) === 4,
    'the Schedule output is not a table with a Balance column and 4 rows');
  // markdown: the bold total is a <strong>
  const strong = await page.locator('strong').allInnerTexts();
  check(strong.some((t) => t.includes('1215.51')), `the Summary markdown's **1215.51** is not bold: ${JSON.stringify(strong)}`);
  check(!(await bodyText(page)).includes('**1215.51**'), 'the Summary markdown is shown raw (with **)');
  // kv: its value shows
  check((await bodyText(page)).includes('yearly compounding'), 'the Facts key/value output is not shown');
  // chart: a canvas (or svg) drawn for Growth
  await waitFor(async () => (await page.locator('canvas').count()) > 0 || (await page.locator('svg').count()) > 1,
    'the Growth chart output draws no canvas');
  await screenshot(page, 'tool');
  await page.close();
});

test('a streaming tool\'s text grows before the run ends, and Cancel stops it', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/stream-cancel`);
  await runButton(page).waitFor({ state: 'visible', timeout: 10000 });
  await runButton(page).click();
  const ticks = async () => ((await bodyText(page)).match(/tick/g) || []).length;
  const first = await waitFor(ticks, 'no streamed "tick" text appeared on the page', 20000).catch(async (err) => {
    const runs = await runsOf('stream-cancel');
    const events = br.responses.filter((r) => r.url.includes('/events')).map((r) => `${r.status} ${r.url}`);
    err.message += `\nruns: ${JSON.stringify(runs.map((r) => [r.id, r.status, r.error_text]))}` +
      `\nevents requests: ${JSON.stringify(events)}\npage text: ${(await bodyText(page)).slice(0, 1500)}`;
    throw err;
  });
  const runId = await waitFor(async () => (await runsOf('stream-cancel'))[0]?.id, 'no run recorded');
  let r = await px.apiOk('GET', `/api/runs/${runId}`);
  checkEqual(r.status, 'running', 'status of the streaming run while ticks arrive');
  const later = await waitFor(async () => {
    const n = await ticks();
    return n >= first + 3 ? n : 0;
  }, `the streamed text did not grow past ${first} ticks`, 20000);
  r = await px.apiOk('GET', `/api/runs/${runId}`);
  checkEqual(r.status, 'running', `status of the run after the page showed ${later} ticks`);
  // Cancel
  const cancel = page.getByRole('button', { name: /cancel|stop/i }).first();
  check(await cancel.isVisible(), 'no visible Cancel button while the run streams');
  await cancel.click();
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'cancelled', 'status of the run after Cancel');
  check(fs.existsSync(path.join(home, 'tools', 'stream-cancel', `cancelled-${runId}`)),
    'Cancel did not reach the tool (POST /cancel?run_id= leaves cancelled-<run_id>)');
  await waitFor(async () => /cancel/i.test(await bodyText(page)), 'the page does not say the run was cancelled');
  const n = await ticks();
  await sleep(1000);
  checkEqual(await ticks(), n, 'ticks shown after the run was cancelled (the text still grows)');
  await page.close();
});

test('a streaming agent\'s reply and tool-call log are rendered', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/stream-agent`);
  const q = page.getByLabel(labelRe('Question')).first();
  await q.waitFor({ state: 'visible', timeout: 10000 });
  await q.fill('6 * 7');
  await runButton(page).click();
  await waitFor(async () => (await bodyText(page)).includes('6 * 7 = '), 'the streamed reply "6 * 7 = …" is not shown');
  await waitFor(async () => (await bodyText(page)).includes('42.0'), 'the streamed reply does not end in 42.0');
  await waitFor(async () => /calculator/.test(await bodyText(page)) && /result/.test(await bodyText(page)),
    'the tool_calls log lines are not shown');
  const runs = await runsOf('stream-agent');
  checkEqual(runs[0].status, 'ok', 'status of the stream-agent run');
  await page.close();
});

test('a streamed chart gains its points', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/stream-trainer`);
  await runButton(page).waitFor({ state: 'visible', timeout: 10000 });
  await runButton(page).click();
  const runId = await waitFor(async () => (await runsOf('stream-trainer'))[0]?.id, 'no run recorded');
  const final = await px.waitRun(runId);
  checkEqual(final.status, 'ok', 'status of the stream-trainer run');
  await waitFor(async () => (await page.locator('canvas').count()) > 0, 'the Loss chart draws no canvas');
  await waitFor(async () => (await page.locator('table tbody tr').count()) >= 3,
    'the Epochs table does not show 3 rows');
  await page.close();
});

test('the run history replays a past run and stars it', async () => {
  for (const years of [2, 5]) {
    const r = await px.apiOk('POST', '/api/tools/refcalc/run', { inputs: { principal: 1000, rate: 5, years } });
    checkEqual(r.status, 'ok', `status of the API run with years ${years}`);
  }
  const runs = await runsOf('refcalc');
  checkEqual(runs.map((r) => r.inputs.years), [5, 2, 4], 'years of the runs, newest first');
  const page = await br.page();
  await page.goto(`${px.url}tool/refcalc`);
  const replays = page.getByRole('button', { name: /replay/i });
  await waitFor(async () => (await replays.count()) === 3, 'the run history does not offer Replay for each of 3 runs');
  await replays.nth(1).click(); // the years = 2 run
  await waitFor(async () => (await page.getByLabel(labelRe('Years')).first().inputValue()) === '2',
    'Replay did not put the run\'s inputs (years 2) back in the form');
  await waitFor(async () => /1,?102\.5/.test(await bodyText(page)), 'Replay did not show the run\'s Total (1102.5)');
  check(!/1,?276\.28/.test(await bodyText(page)), 'the newest run\'s outputs are still shown after Replay');
  const stars = page.getByRole('button', { name: /star/i });
  await stars.nth(1).click();
  await waitFor(async () => (await px.apiOk('GET', `/api/runs/${runs[1].id}`)).starred === true,
    'clicking the star did not star the run');
  await page.close();
});

test('a tool that leaks its secret shows it masked on the tool and logs pages', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/leaky`);
  const mode = page.getByLabel(labelRe('Mode')).first();
  await mode.waitFor({ state: 'visible', timeout: 10000 });
  await runButton(page).click();
  const okRun = await waitFor(async () => (await runsOf('leaky'))[0], 'no leaky run recorded');
  const done = await px.waitRun(okRun.id);
  checkEqual(done.status, 'ok', 'status of the leaky run (mode return)');
  await waitFor(async () => (await bodyText(page)).includes('***'), 'the masked echo output (***) is not shown');
  await mode.fill('raise');
  await runButton(page).click();
  const bad = await waitFor(async () => {
    const runs = await runsOf('leaky');
    return runs.length === 2 && runs[0].status !== 'running' ? runs[0] : null;
  }, 'the leaky run in mode raise did not finish');
  checkEqual(bad.status, 'error', 'status of the leaky run (mode raise)');
  await waitFor(async () => /error/i.test(await bodyText(page)), 'the failed run shows no error');
  await page.goto(`${px.url}tool/leaky/logs`);
  await waitFor(async () => (await bodyText(page)).includes('run stdout ***'),
    'the logs page does not show the masked line "run stdout ***"');
  // Live tail: a new run's lines appear without a reload.
  const count = async () => (await bodyText(page)).split('run stdout ***').length - 1;
  const seen = await count();
  const third = await px.apiOk('POST', '/api/tools/leaky/run', { inputs: { mode: 'return' } });
  checkEqual(third.status, 'ok', 'status of a third leaky run');
  await waitFor(async () => (await count()) > seen, `the logs page did not tail the new run's lines (still ${seen})`);
  const where = [];
  if ((await page.content()).includes(LEAK)) where.push('the logs page DOM');
  for (const b of await br.bodies()) if (b.body && b.body.includes(LEAK)) where.push(`${b.method} ${b.url}`);
  for (const id of [okRun.id, bad.id, third.id]) {
    for (const p of [`/api/runs/${id}`, `/api/runs/${id}/events`]) {
      if ((await px.request('GET', p)).body.includes(LEAK)) where.push(`GET ${p}`);
    }
  }
  for (const p of ['/api/tools/leaky/runs', '/api/tools/leaky/logs', '/api/tools/leaky']) {
    if ((await px.request('GET', p)).body.includes(LEAK)) where.push(`GET ${p}`);
  }
  checkEqual(where, [], 'places the leaked secret showed unmasked');
  await page.close();
});

test('no console errors, page errors or CSP violations on the tool pages', async () => {
  check(br, 'no browser');
  br.checkClean('the tool pages');
});

await run();
