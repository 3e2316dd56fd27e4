// Files from the form (the run route is an upload route, docs/dashboard.md
// Limits): a 3 MiB file (over the old 1 MiB body cap once base64-encoded)
// reaches the tool whole; a file over its field's max_size_mb is refused
// before sending, the message naming the limit, and no run is made.
import crypto from 'node:crypto';
import {
  check, checkEqual, labelRe, launchBrowser, run, startPixie, test, waitFor,
} from './lib/harness.mjs';

let px;
let br;
const MIB = 1024 * 1024;
const bodyText = (page) => page.evaluate(() => document.body.innerText);
const runButton = (page) => page.getByRole('button', { name: /^\s*run\b/i }).first();

async function runsOf(id) {
  return (await px.apiOk('GET', `/api/tools/${id}/runs`)).runs;
}

test('setup: server and browser', async () => {
  px = await startPixie({ tools: ['filesize'], prefix: 'upload' });
  br = await launchBrowser();
});

test('a 3 MiB file is sent whole and the tool gets every byte', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/filesize`);
  const field = page.getByLabel(labelRe('Document')).first();
  await field.waitFor({ state: 'attached', timeout: 10000 });
  const bytes = crypto.randomBytes(3 * MIB);
  await field.setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await runButton(page).click();
  const hash = crypto.createHash('sha256').update(bytes).digest('hex');
  await waitFor(async () => (await bodyText(page)).includes(hash),
    'the SHA-256 of the 3 MiB file the tool received is not shown').catch(async (err) => {
    err.message += `\npage text: ${(await bodyText(page)).slice(0, 1500)}`;
    throw err;
  });
  const runs = await runsOf('filesize');
  checkEqual(runs.length, 1, 'runs after one Run');
  checkEqual(runs[0].status, 'ok', 'status of the run');
  checkEqual(runs[0].outputs.size, 3 * MIB, 'the size the tool received');
  await page.close();
});

test('a file over its max_size_mb is refused before sending, naming the limit', async () => {
  const page = await br.page();
  await page.goto(`${px.url}tool/filesize`);
  const field = page.getByLabel(labelRe('Document')).first();
  await field.waitFor({ state: 'attached', timeout: 10000 });
  await field.setInputFiles({ name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(8 * MIB + 1) });
  await runButton(page).click();
  await waitFor(async () => /huge\.bin is larger than the limit of this field \(8 MB\)/.test(await bodyText(page)),
    'no message naming the file and the 8 MB limit');
  checkEqual((await runsOf('filesize')).length, 1, 'runs after the refused Run (no new one)');
  await page.close();
});

test('no console errors, page errors or CSP violations', async () => {
  check(br, 'no browser');
  br.checkClean('the upload pages');
});

await run();
