// Cross-site attacks on the dashboard (SPEC §5.3): a hostile page on another
// loopback port auto-submits forms and fetches at the secret and run routes;
// a DNS-rebinding page reaches the server under a foreign Host. Nothing may
// change: the tool's .env keeps its bytes and mtime, no run is recorded, no
// tool starts. The same attacks aimed at a naive server (no guard) land there,
// which proves they really leave the browser.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  canary, check, checkEqual, cleanup, launchBrowser, makeHome, rawHttp, rawRequest, run, startPixie, test, waitFor,
} from './lib/harness.mjs';

const home = makeHome(['leaky', 'refcalc'], 'attack');
const SECRET = canary('ATTACK');
const envFile = path.join(home, 'tools', 'leaky', '.env');
fs.writeFileSync(envFile, `LEAK_TOKEN=${SECRET}\n`, { mode: 0o600 });
const past = new Date(Date.now() - 3600 * 1000);
fs.utimesSync(envFile, past, past);
const before = { bytes: fs.readFileSync(envFile), mtimeMs: fs.statSync(envFile).mtimeMs };

let px;
let br;
let victim;
let hostile;

// A Node HTTP server on a free loopback port; handler(req, body, res).
function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    server.listen(0, '127.0.0.1', () => {
      cleanup(() => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }));
      resolve({ server, port: server.address().port });
    });
  });
}

// The naive server: takes anything, remembers it, answers 200 without CORS.
async function startVictim() {
  const seen = [];
  const v = await listen((req, body, res) => {
    seen.push({ method: req.method, url: req.url, type: req.headers['content-type'] || '', body });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });
  return { ...v, seen };
}

// The hostile page: every attack at each target, then POST /done with what
// the page could observe.
function hostilePage(targets) {
  return `<!doctype html><meta charset="utf-8"><title>hostile</title><body>
<script>
const targets = ${JSON.stringify(targets)};
const SECRET_PATH = '/api/tools/leaky/secrets/LEAK_TOKEN';
const RUN_PATH = '/api/tools/refcalc/run';
let n = 0;
function submitForm(action, enctype, fields) {
  return new Promise((resolve) => {
    const name = 'f' + (n++);
    const frame = document.createElement('iframe');
    frame.name = name;
    document.body.appendChild(frame);
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = action;
    form.enctype = enctype;
    form.target = name;
    for (const [k, v] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = k;
      input.value = v;
      form.appendChild(input);
    }
    document.body.appendChild(form);
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(enctype); } };
    frame.addEventListener('load', finish);
    setTimeout(finish, 2500);
    form.submit();
  });
}
let base = '';
async function attempt(what, fn) {
  try {
    const r = await fn();
    return base + ' ' + what + ': ' + (r && r.type === 'opaque' ? 'opaque' : 'READABLE ' + (r && r.status));
  } catch (e) {
    return base + ' ' + what + ': ' + e.name;
  }
}
(async () => {
  const out = [];
  for (base of targets) {
    const jsonish = { '{"value":"pwned-form","x":"': '"}' };
    await submitForm(base + SECRET_PATH, 'application/x-www-form-urlencoded', { value: 'pwned-urlencoded' });
    await submitForm(base + SECRET_PATH, 'multipart/form-data', { value: 'pwned-multipart' });
    await submitForm(base + SECRET_PATH, 'text/plain', jsonish);
    await submitForm(base + RUN_PATH, 'text/plain', { '{"inputs":{},"x":"': '"}' });
    await submitForm(base + RUN_PATH, 'application/x-www-form-urlencoded', { inputs: '{}' });
    const body = JSON.stringify({ value: 'pwned-fetch' });
    const runBody = JSON.stringify({ inputs: { principal: 1, rate: 1, years: 1 } });
    out.push(await attempt('no-cors secret', () => fetch(base + SECRET_PATH,
      { method: 'POST', mode: 'no-cors', credentials: 'include', body })));
    out.push(await attempt('no-cors secret json-type', () => fetch(base + SECRET_PATH,
      { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'application/json' }, body })));
    out.push(await attempt('no-cors run', () => fetch(base + RUN_PATH,
      { method: 'POST', mode: 'no-cors', credentials: 'include', body: runBody })));
    out.push(await attempt('no-cors run omit', () => fetch(base + RUN_PATH,
      { method: 'POST', mode: 'no-cors', credentials: 'omit', body: runBody })));
    for (const credentials of ['include', 'omit']) {
      const headers = { 'Content-Type': 'application/json', 'X-Pixie-Token': '0'.repeat(64) };
      out.push(await attempt('cors secret POST ' + credentials, () => fetch(base + SECRET_PATH,
        { method: 'POST', mode: 'cors', credentials, headers, body })));
      out.push(await attempt('cors secret DELETE ' + credentials, () => fetch(base + SECRET_PATH,
        { method: 'DELETE', mode: 'cors', credentials, headers })));
      out.push(await attempt('cors run ' + credentials, () => fetch(base + RUN_PATH,
        { method: 'POST', mode: 'cors', credentials, headers, body: runBody })));
      out.push(await attempt('cors read secrets ' + credentials, () => fetch(base + '/api/tools/leaky/secrets',
        { credentials })));
    }
    out.push(base + ' beacon: ' + navigator.sendBeacon(base + SECRET_PATH, new Blob([body], { type: 'text/plain' })));
  }
  await new Promise((r) => setTimeout(r, 500));
  await fetch('/done', { method: 'POST', body: JSON.stringify(out) });
})();
</script>`;
}

function tree(dir) {
  const out = {};
  const walk = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      const st = fs.lstatSync(p);
      if (ent.isDirectory()) {
        if (ent.name === '__pycache__') continue;
        walk(p);
      } else {
        out[path.relative(dir, p)] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${fs.readFileSync(p).toString('base64')}`;
      }
    }
  };
  walk(dir);
  return out;
}

function checkUntouched(what) {
  checkEqual(fs.readFileSync(envFile).toString('base64'), before.bytes.toString('base64'),
    `tools/leaky/.env bytes after ${what}`);
  checkEqual(fs.statSync(envFile).mtimeMs, before.mtimeMs, `tools/leaky/.env mtime after ${what}`);
}

async function checkNoRuns(what) {
  for (const id of ['leaky', 'refcalc']) {
    const runs = (await px.apiOk('GET', `/api/tools/${id}/runs`)).runs;
    checkEqual(runs.length, 0, `runs of ${id} recorded after ${what}`);
  }
  const state = await px.apiOk('GET', '/api/launcher/state');
  checkEqual(state.tools.length, 0, `tools started after ${what}`);
}

let toolsBefore;

test('setup: server, naive victim, hostile page, browser', async () => {
  px = await startPixie({ home });
  toolsBefore = tree(path.join(home, 'tools'));
  victim = await startVictim();
  let results = null;
  hostile = await listen((req, body, res) => {
    if (req.method === 'POST' && req.url === '/done') {
      results = JSON.parse(body);
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(hostilePage([`http://127.0.0.1:${victim.port}`, px.origin, `http://localhost:${px.port}`]));
  });
  hostile.results = () => results;
  hostile.reset = () => { results = null; };
  br = await launchBrowser({ args: ['--host-resolver-rules=MAP evil.test 127.0.0.1'] });
});

for (const host of ['127.0.0.1', 'localhost']) {
  test(`a hostile page at http://${host}:<other port>/ changes nothing`, async () => {
    hostile.reset();
    const seenBefore = victim.seen.length;
    const pixieResponses = [];
    const onResponse = (r) => {
      const u = new URL(r.url());
      if (u.port === String(px.port)) pixieResponses.push(`${r.request().method()} ${u.pathname} ${r.status()}`);
    };
    br.context.on('response', onResponse);
    const page = await br.page();
    await page.goto(`http://${host}:${hostile.port}/`);
    const results = await waitFor(() => hostile.results(), 'the hostile page did not finish its attacks', 60000);
    br.context.off('response', onResponse);
    await page.close();
    // The attacks left the browser: the naive server got every form and
    // every simple request.
    const got = victim.seen.slice(seenBefore);
    const posts = got.filter((r) => r.method === 'POST');
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']) {
      check(posts.some((r) => r.url.endsWith('/secrets/LEAK_TOKEN') && r.type.startsWith(type)),
        `the naive server got no ${type} form POST: the attack did not run (${JSON.stringify(got.map((r) => r.method + ' ' + r.url + ' ' + r.type))})`);
    }
    check(posts.filter((r) => r.url === '/api/tools/refcalc/run').length >= 4,
      'the naive server did not get the run attacks');
    // Pixie: nothing changed, nothing readable.
    checkUntouched('the hostile page');
    await checkNoRuns('the hostile page');
    checkEqual(tree(path.join(home, 'tools')), toolsBefore, 'the tools folder after the hostile page');
    const victimBase = `http://127.0.0.1:${victim.port}`;
    const pixieReadable = results.filter((r) => !r.startsWith(victimBase + ' ') && r.includes('READABLE'));
    checkEqual(pixieReadable, [], 'answers of Pixie the hostile page could read');
    check(results.filter((r) => !r.startsWith(victimBase + ' ')).length >= 2 * 13,
      () => `the hostile page did not make its fetches at Pixie: ${JSON.stringify(results)}`);
    check(pixieResponses.length > 0, 'no request of the hostile page reached Pixie');
    const answered = pixieResponses.filter((r) => !/ (403|405|415)$/.test(r));
    checkEqual(answered, [], 'Pixie answers to the hostile page other than 403/405/415');
  });
}

test('requests that lack one guard are refused with no side effect', async () => {
  const token = await px.token();
  const good = {
    Host: `127.0.0.1:${px.port}`,
    Origin: px.origin,
    'X-Pixie-Token': token,
    'Content-Type': 'application/json',
  };
  const body = JSON.stringify({ value: 'pwned-guard' });
  const other = `http://127.0.0.1:${px.port + 1 > 65535 ? px.port - 1 : px.port + 1}`;
  const cases = [
    ['no Origin', { Origin: undefined }, 403],
    ['foreign Origin', { Origin: 'http://evil.test' }, 403],
    ['other loopback port Origin', { Origin: other }, 403],
    ['Origin null', { Origin: 'null' }, 403],
    ['Sec-Fetch-Site same-site', { 'Sec-Fetch-Site': 'same-site' }, 403],
    ['Sec-Fetch-Site cross-site', { 'Sec-Fetch-Site': 'cross-site' }, 403],
    ['no token', { 'X-Pixie-Token': undefined }, 403],
    ['wrong token', { 'X-Pixie-Token': token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, 403],
    ['short token', { 'X-Pixie-Token': token.slice(0, 32) }, 403],
    ['text/plain body', { 'Content-Type': 'text/plain' }, 415],
    ['form body', { 'Content-Type': 'application/x-www-form-urlencoded' }, 415],
    ['foreign Host', { Host: `evil.test:${px.port}` }, 403],
  ];
  for (const [what, change, status] of cases) {
    const headers = { ...good, ...change };
    for (const k of Object.keys(headers)) if (headers[k] === undefined) delete headers[k];
    for (const [method, p] of [['POST', '/api/tools/leaky/secrets/LEAK_TOKEN'],
      ['DELETE', '/api/tools/leaky/secrets/LEAK_TOKEN'], ['POST', '/api/tools/refcalc/run']]) {
      const r = await rawRequest(px.port, method, p, {
        // (DELETE with a body too: a bodiless DELETE needs no content type.)
        headers, body: method === 'DELETE' ? '{}' : (p.endsWith('/run') ? '{"inputs":{}}' : body),
      });
      checkEqual(r.status, status, `${method} ${p} with ${what}`);
      check(!('access-control-allow-origin' in r.headers), `${what}: an Access-Control-Allow-Origin header`);
    }
    if (status === 403) {
      const r = await rawRequest(px.port, 'DELETE', '/api/tools/leaky/secrets/LEAK_TOKEN', { headers });
      checkEqual(r.status, 403, `DELETE (no body) with ${what}`);
    }
  }
  const r = await rawRequest(px.port, 'OPTIONS', '/api/tools/leaky/secrets/LEAK_TOKEN', {
    headers: { Host: `127.0.0.1:${px.port}`, Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' },
  });
  checkEqual(r.status, 405, 'OPTIONS (a CORS preflight)');
  check(!Object.keys(r.headers).some((h) => h.startsWith('access-control-')), 'Access-Control-* on a preflight answer');
  checkUntouched('the guard cases');
  await checkNoRuns('the guard cases');
});

test('DNS rebinding: a foreign Host gets 403, in the browser and raw', async () => {
  for (const p of ['/', '/tool/leaky/settings', '/api/tools', '/api/tools/leaky/secrets', '/static/nope.js']) {
    for (const host of [`evil.test:${px.port}`, 'evil.test', `127.0.0.1:${px.port + 1}`, `127.0.0.2:${px.port}`,
      `127.0.0.1.evil.test:${px.port}`, `localhost:${px.port}.evil.test`]) {
      const r = await rawRequest(px.port, 'GET', p, { headers: { Host: host } });
      checkEqual(r.status, 403, `GET ${p} with Host: ${host}`);
      check(!/pixie-token" content="[0-9a-f]/.test(r.text), `GET ${p} with Host ${host} returned the token`);
    }
    const none = await rawHttp(px.port, `GET ${p} HTTP/1.0\r\n\r\n`);
    checkEqual(none.status, 403, `GET ${p} HTTP/1.0 with no Host`);
    const none11 = await rawHttp(px.port, `GET ${p} HTTP/1.1\r\nConnection: close\r\n\r\n`);
    check(none11.status === 400 || none11.status === 403, `GET ${p} HTTP/1.1 with no Host answered ${none11.status}`);
    const two = await rawHttp(px.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${px.port}\r\n` +
      `Host: evil.test:${px.port}\r\nConnection: close\r\n\r\n`);
    check(two.status === 400 || two.status === 403, `GET ${p} with two Host headers answered ${two.status}`);
    const two2 = await rawHttp(px.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${px.port}\r\n` +
      `Host: 127.0.0.1:${px.port}\r\nConnection: close\r\n\r\n`);
    check(two2.status === 400 || two2.status === 403, `GET ${p} with a duplicate Host header answered ${two2.status}`);
  }
  // The browser, told that evil.test is 127.0.0.1 (a rebound name).
  const page = await br.page();
  const res = await page.goto(`http://evil.test:${px.port}/`);
  checkEqual(res.status(), 403, 'status of http://evil.test:PORT/ in the browser');
  check(!(await page.content()).includes('pixie-token" content="'), 'the rebound page got the token');
  const api = await page.evaluate(async () => {
    const r = await fetch('/api/tools/leaky/secrets');
    const p = await fetch('/api/tools/leaky/secrets/LEAK_TOKEN', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"value":"pwned-rebind"}',
    });
    return [r.status, p.status];
  });
  checkEqual(api, [403, 403], 'same-origin fetches from the rebound page (GET, POST)');
  await page.close();
  checkUntouched('DNS rebinding');
  await checkNoRuns('DNS rebinding');
});

test('control: the same routes work for the dashboard\'s own requests', async () => {
  // Proves the routes exist and the attacks above were refused, not missed.
  const r = await px.api('POST', '/api/tools/refcalc/run', { inputs: { principal: 100, rate: 10, years: 1 } });
  checkEqual(r.status, 200, `legitimate POST /api/tools/refcalc/run (${r.text.slice(0, 200)})`);
  const s = await px.api('POST', '/api/tools/leaky/secrets/LEAK_TOKEN', { value: `${SECRET}-new` });
  checkEqual(s.status, 204, 'legitimate POST /api/tools/leaky/secrets/LEAK_TOKEN');
  check(fs.readFileSync(envFile, 'utf8').includes(`${SECRET}-new`), 'the legitimate POST did not write .env');
});

test('no page of Pixie was shown in the attacks without its security headers', async () => {
  const r = await px.request('GET', '/tool/leaky/settings');
  checkEqual(r.headers['content-security-policy'],
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'", 'CSP header');
  checkEqual(r.headers['x-frame-options'], 'DENY', 'X-Frame-Options');
  checkEqual(r.headers['x-content-type-options'], 'nosniff', 'X-Content-Type-Options');
  checkEqual(r.headers['referrer-policy'], 'no-referrer', 'Referrer-Policy');
  checkEqual(r.headers['cross-origin-resource-policy'], 'same-origin', 'Cross-Origin-Resource-Policy');
  const f = await rawRequest(px.port, 'GET', '/', { headers: { Host: 'evil.test' } });
  checkEqual(f.headers['x-frame-options'], 'DENY', 'X-Frame-Options on a 403');
});

await run();
