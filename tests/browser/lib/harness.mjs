// Harness of the browser tests (tests/browser/*.test.mjs, run by ctest with node).
//
// A test file declares named tests with test(name, fn) and ends with `await run()`:
// tests run one after another, each failure is printed with its message, the last
// line is "N passed, N failed" and the exit status is non-zero when any failed.
//
// startPixie({tools}) makes a temp home (fixtures copied from tests/fixtures/tools),
// starts `$PIXIE_BIN --home HOME serve --port 0`, reads the printed URL from its
// stdout and returns a Pixie object (url, port, home, token(), api(), stop()).
// launchBrowser() starts /usr/bin/chromium through playwright-core in a fresh
// profile; browser.page() opens a 1280x800 page whose console errors, page errors,
// CSP violations and every network response (with its body) are recorded.
// Everything started is stopped at the end of run(), also after a failure.
//
// Environment (set by ctest): PIXIE_BIN, PIXIE_SOURCE_DIR, PIXIE_TEST_TMP.
// PIXIE_CHROMIUM overrides /usr/bin/chromium. PIXIE_SCREENSHOTS=1 lets
// screenshot() write docs/img/*.png. PIXIE_TEST_FILTER runs only the tests whose
// name contains it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.PIXIE_SOURCE_DIR || path.resolve(HERE, '..', '..', '..');
export const FIXTURES = path.join(SOURCE_DIR, 'tests', 'fixtures', 'tools');
export const PIXIE_BIN = process.env.PIXIE_BIN || path.join(SOURCE_DIR, 'build', 'pixie');
export const TMP_BASE = process.env.PIXIE_TEST_TMP || os.tmpdir();
export const CHROMIUM = process.env.PIXIE_CHROMIUM || '/usr/bin/chromium';
const INSTALL_HINT = 'install the browser test dependencies with `bash scripts/install-deps.sh` ' +
  '(Debian package chromium, then `npm ci` in tests/browser)';

// ---------------------------------------------------------------- runner

const tests = [];
const cleanups = [];
const secretsToHide = new Set();

// Registers a named test; fn is an async function that throws on failure.
// A test whose name starts with "setup" always runs (whatever the filter),
// and when it fails the tests after it are failed without running.
export function test(name, fn) {
  tests.push({ name, fn });
}

// Registers fn to run at the end of run() (last registered runs first), even
// after failures. A cleanup that throws counts as a failure of the file.
export function cleanup(fn) {
  cleanups.push(fn);
}

// Values never to be printed by the harness (canaries): replaced by *** in
// every message and server log the harness prints.
export function hide(value) {
  if (value) secretsToHide.add(String(value));
}

// text with every hidden value replaced by ***.
export function redact(text) {
  let out = String(text);
  for (const s of secretsToHide) out = out.split(s).join('***');
  return out;
}

export function log(...parts) {
  console.log(redact(parts.join(' ')));
}

// Runs the registered tests in order, then the cleanups; prints a summary
// line and exits with status 1 when any test or cleanup failed.
export async function run() {
  const filter = process.env.PIXIE_TEST_FILTER || '';
  let passed = 0;
  let failed = 0;
  let setupFailed = false;
  const t0 = Date.now();
  for (const t of tests) {
    if (filter && !t.name.includes(filter) && !t.name.startsWith('setup')) continue;
    const started = Date.now();
    if (setupFailed) {
      failed++;
      log(`FAIL - ${t.name} (not run: a setup test failed)`);
      continue;
    }
    try {
      await withTimeout(t.fn(), 180000, `test "${t.name}" did not finish in 180 s`);
      passed++;
      log(`ok   - ${t.name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      log(`FAIL - ${t.name} (${Date.now() - started} ms)\n${indent(describeError(err))}`);
      if (t.name.startsWith('setup')) setupFailed = true;
    }
  }
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await withTimeout(fn(), 30000, 'cleanup did not finish in 30 s');
    } catch (err) {
      failed++;
      log(`FAIL - cleanup\n${indent(describeError(err))}`);
    }
  }
  log(`browser tests: ${passed} passed, ${failed} failed (${Date.now() - t0} ms)`);
  process.exit(failed ? 1 : 0);
}

function describeError(err) {
  if (err instanceof AssertionError) return err.message;
  return (err && err.stack) || String(err);
}

function indent(text) {
  return String(text).split('\n').map((l) => '    ' + l).join('\n');
}

export class AssertionError extends Error {}

// Throws an AssertionError with message unless cond is truthy.
export function check(cond, message) {
  if (!cond) throw new AssertionError(typeof message === 'function' ? message() : message);
}

// JSON with object keys sorted: equal values give equal text.
function canonical(v) {
  return JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
}

// Throws unless actual and expected are deep-equal (object key order aside).
export function checkEqual(actual, expected, what) {
  const a = canonical(actual);
  const e = canonical(expected);
  check(a === e, () => `${what}: expected ${e}, got ${a}`);
}

// Resolves with promise's value, or rejects with message after ms.
export function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new AssertionError(message)), ms);
    }),
  ]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn (sync or async) every 100 ms until it returns a truthy value
// (returned) or ms pass (AssertionError with message, plus the last value or
// error seen).
export async function waitFor(fn, message, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new AssertionError(`${message} (waited ${ms} ms; last: ${detail})`);
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------- homes

// A fresh temp folder under the test tmp base.
export function tempDir(prefix) {
  fs.mkdirSync(TMP_BASE, { recursive: true });
  return fs.mkdtempSync(path.join(TMP_BASE, `browser-${prefix}-`));
}

// A fresh Pixie home with home/tools/<name> copied from the fixtures for each
// name in tools (an entry {from, id} copies fixture `from` under the new id and
// rewrites tool.json's id), plus fixturelib.py the fixtures import.
export function makeHome(tools = [], prefix = 'home') {
  const home = tempDir(prefix);
  const toolsDir = path.join(home, 'tools');
  fs.mkdirSync(toolsDir);
  fs.copyFileSync(path.join(FIXTURES, 'fixturelib.py'), path.join(toolsDir, 'fixturelib.py'));
  for (const t of tools) addTool(home, t);
  return home;
}

// Copies one fixture (name, or {from, id}) into home/tools.
export function addTool(home, t) {
  const from = typeof t === 'string' ? t : t.from;
  const id = typeof t === 'string' ? t : t.id;
  const src = path.join(FIXTURES, from);
  if (!fs.existsSync(path.join(src, 'tool.json'))) {
    throw new AssertionError(`fixture tool ${from} is missing: ${src}/tool.json`);
  }
  const dest = path.join(home, 'tools', id);
  fs.cpSync(src, dest, { recursive: true });
  if (id !== from) {
    const file = path.join(dest, 'tool.json');
    const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
    spec.id = id;
    fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  }
  return dest;
}

// Pids of live processes whose working directory is inside dir.
export function processesInside(dir) {
  const found = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if ((cwd === dir || cwd.startsWith(dir + '/')) && state !== 'Z') found.push(Number(pid));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

// Every regular file under dir: [{rel, bytes}], symlinks not followed.
export function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) out.push({ rel: path.relative(dir, p), bytes: fs.readFileSync(p) });
    }
  };
  walk(dir);
  return out;
}

// ---------------------------------------------------------------- server

// Starts `pixie --home HOME serve --port 0` on a fresh home holding the given
// fixture tools (or on opts.home); resolves when the URL is printed.
export async function startPixie(opts = {}) {
  const home = opts.home || makeHome(opts.tools || [], opts.prefix || 'home');
  if (!fs.existsSync(PIXIE_BIN)) {
    throw new AssertionError(`PIXIE_BIN ${PIXIE_BIN} does not exist: build pixie first`);
  }
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(TMP_BASE, 'no-xdg-config') };
  delete env.PIXIE_HOME;
  const child = spawn(PIXIE_BIN, ['--home', home, 'serve', '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const px = new Pixie(child, home);
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  cleanup(() => px.stop());
  const url = await withTimeout(
    new Promise((resolve, reject) => {
      const look = () => {
        const m = px.stdout.match(/http:\/\/127\.0\.0\.1:(\d+)\/?/);
        if (m) resolve(`http://127.0.0.1:${m[1]}/`);
      };
      child.stdout.on('data', look);
      child.on('exit', (code, signal) =>
        reject(new AssertionError(`pixie serve exited (${code ?? signal}) before printing its URL\n` +
          `stdout: ${redact(px.stdout)}\nstderr: ${redact(px.stderr)}`)));
      child.on('error', (err) => reject(new AssertionError(`cannot start ${PIXIE_BIN}: ${err.message}`)));
    }),
    30000,
    'pixie serve printed no http://127.0.0.1:PORT/ URL on stdout within 30 s',
  ).catch((err) => {
    err.message += `\nstdout: ${redact(px.stdout)}\nstderr: ${redact(px.stderr)}`;
    throw err;
  });
  px.url = url;
  px.port = Number(new URL(url).port);
  px.origin = `http://127.0.0.1:${px.port}`;
  return px;
}

export class Pixie {
  constructor(child, home) {
    this.child = child;
    this.home = home;
    this.stdout = '';
    this.stderr = '';
    this.exit = null;
    this._token = null;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.stdout += d; });
    child.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  // Raw HTTP request to the server: {status, headers, body (Buffer), text,
  // json()}. headers default to a good Host; pass host: null to send none.
  request(method, urlPath, { headers = {}, body, host } = {}) {
    return rawRequest(this.port, method, urlPath, {
      headers: { Host: host === undefined ? `127.0.0.1:${this.port}` : host, ...headers },
      body,
      omitHost: host === null,
    });
  }

  // The per-launch token, read from the dashboard page's meta tag.
  async token() {
    if (this._token) return this._token;
    const r = await this.request('GET', '/');
    check(r.status === 200, `GET / answered ${r.status}: ${r.text.slice(0, 300)}`);
    const m = r.text.match(/<meta\s+name="pixie-token"\s+content="([0-9a-f]{64})"/);
    check(m, `GET / has no <meta name="pixie-token" content="<64 hex>">: ${r.text.slice(0, 500)}`);
    this._token = m[1];
    return this._token;
  }

  // A request as the pages send it (JSON, Origin, token). Returns the response
  // with .json() parsed.
  async api(method, urlPath, body) {
    const headers = {};
    if (method !== 'GET' && method !== 'HEAD') {
      headers.Origin = this.origin;
      headers['X-Pixie-Token'] = await this.token();
    }
    let data;
    if (body !== undefined) {
      data = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    return this.request(method, urlPath, { headers, body: data });
  }

  // api() that must answer with status (a number or list); returns parsed JSON
  // (null for an empty body).
  async apiOk(method, urlPath, body, status = [200, 201, 202, 204]) {
    const r = await this.api(method, urlPath, body);
    const ok = Array.isArray(status) ? status.includes(r.status) : r.status === status;
    check(ok, () => `${method} ${urlPath} answered ${r.status} (wanted ${status}): ${redact(r.text.slice(0, 500))}`);
    return r.text ? r.json() : null;
  }

  // Waits for the run to leave "running"; returns the final Run.
  async waitRun(runId, ms = 30000) {
    return waitFor(async () => {
      const r = await this.apiOk('GET', `/api/runs/${runId}`);
      return r.status !== 'running' ? r : null;
    }, `run ${runId} did not finish`, ms);
  }

  // SIGTERM, wait for exit (SIGKILL after 15 s). Throws when the server did
  // not exit 0 on SIGTERM or left a tool process behind.
  async stop() {
    if (this.exit === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15000);
      await this.exited;
      clearTimeout(timer);
    }
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    if (this.stopped) return;
    this.stopped = true;
    const { code, signal } = this.exit;
    check(code === 0, () => `pixie serve exited with ${code ?? signal} after SIGTERM (wanted 0)\n` +
      `stderr (last 3000 chars): ${redact(this.stderr.slice(-3000))}`);
    const left = await waitFor(() => processesInside(this.home).length === 0, 'tool processes left', 5000)
      .then(() => [], () => processesInside(this.home));
    for (const pid of left) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    check(left.length === 0, `pixie serve left tool processes running after SIGTERM: ${left}`);
  }
}

// A raw HTTP/1.1 request to 127.0.0.1:port with exactly the headers given
// (no Host added when omitHost).
export function rawRequest(port, method, urlPath, { headers = {}, body, omitHost = false } = {}) {
  return new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    if (body !== undefined && !Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-length')) {
      hdrs['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({
      host: '127.0.0.1', port, method, path: urlPath, headers: hdrs, setHost: !omitHost && !('Host' in hdrs),
      agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body: buf,
          text,
          json() {
            try {
              return JSON.parse(text);
            } catch {
              throw new AssertionError(`${method} ${urlPath}: body is not JSON: ${redact(text.slice(0, 300))}`);
            }
          },
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${urlPath}: no answer in 30 s`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Sends text as is on a new connection to 127.0.0.1:port; resolves with
// {status, head, text} of the answer (read until the server closes, or 10 s).
export function rawHttp(port, text) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
    const chunks = [];
    sock.on('data', (c) => chunks.push(c));
    sock.setTimeout(10000, () => sock.destroy());
    sock.on('error', reject);
    sock.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const m = all.match(/^HTTP\/1\.[01] (\d{3})/);
      resolve({ status: m ? Number(m[1]) : null, head: all.split('\r\n\r\n')[0], text: all });
    });
  });
}

// ---------------------------------------------------------------- browser

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (err) {
    throw new AssertionError(`playwright-core is not installed in tests/browser/node_modules (${err.message}); ` +
      INSTALL_HINT);
  }
}

// Runs in every page before its scripts: reports CSP violations on the console
// (the harness records console messages).
const CSP_PROBE = `document.addEventListener('securitypolicyviolation', (e) => {
  console.error('[pixie-csp-violation] ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') +
    ' at ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0));
}, true);`;

// Launches Chromium (fresh profile) through playwright-core; opts.args adds
// command line flags. Resolves with a Browser.
export async function launchBrowser(opts = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new AssertionError(`no Chromium at ${CHROMIUM}: ${INSTALL_HINT}`);
  }
  const { chromium } = await loadPlaywright();
  const profile = tempDir('profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...LAUNCH_ARGS, ...(opts.args || [])],
    viewport: { width: 1280, height: 800 },
    ignoreDefaultArgs: false,
  });
  const b = new Browser(context, profile);
  cleanup(() => b.close());
  return b;
}

export class Browser {
  constructor(context, profile) {
    this.context = context;
    this.profile = profile;
    this.consoleErrors = [];
    this.pageErrors = [];
    this.cspViolations = [];
    this.responses = []; // {url, status, headers, method, body: Promise<Buffer|null>, type}
    this.requestFailures = [];
    this.httpErrors = [];
    context.addInitScript({ content: CSP_PROBE });
    context.on('response', (res) => this._record(res));
    context.on('requestfailed', (req) => {
      this.requestFailures.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
    });
    for (const p of context.pages()) this._watch(p);
    context.on('page', (p) => this._watch(p));
  }

  _watch(page) {
    page.on('console', (msg) => {
      const text = msg.text();
      const where = `${page.url()}: ${text}`;
      if (text.startsWith('[pixie-csp-violation]') || /Content Security Policy/i.test(text)) {
        this.cspViolations.push(where);
      } else if (msg.type() === 'error') {
        this.consoleErrors.push(where);
      }
    });
    page.on('pageerror', (err) => this.pageErrors.push(`${page.url()}: ${err.stack || err.message}`));
  }

  _record(res) {
    const req = res.request();
    const entry = {
      url: res.url(),
      status: res.status(),
      method: req.method(),
      headers: res.headers(),
      type: req.resourceType(),
    };
    entry.body = res.body().catch(() => null);
    this.responses.push(entry);
    if (entry.status >= 400) this.httpErrors.push(`${entry.status} ${entry.method} ${entry.url}`);
  }

  // A new page (1280x800) in the browser's context.
  async page() {
    return this.context.newPage();
  }

  // Every response body recorded so far: [{url, status, type, body: Buffer|null}]
  // (null when the browser could not give it, e.g. a stream still open after
  // ms).
  async bodies(ms = 5000) {
    const out = [];
    for (const r of this.responses) {
      const body = await withTimeout(r.body, ms, 'slow').catch(() => null);
      out.push({ url: r.url, status: r.status, type: r.type, method: r.method, headers: r.headers, body });
    }
    return out;
  }

  // Throws when any page logged a console error, threw, or hit a CSP violation.
  checkClean(what = 'the pages') {
    const problems = [
      ...this.cspViolations.map((m) => `CSP violation: ${m}`),
      ...this.pageErrors.map((m) => `page error: ${m}`),
      ...this.consoleErrors.map((m) => `console error: ${m}`),
    ];
    check(problems.length === 0, () => `${what} had ${problems.length} problem(s):\n${problems.join('\n')}` +
      (this.httpErrors.length ? `\n(HTTP errors seen: ${this.httpErrors.join('; ')})` : ''));
  }

  // Forgets the failed responses whose "STATUS METHOD URL" matches re, and
  // for each the browser's own "Failed to load resource" console error (a
  // test that provoked them on purpose). Returns how many were forgotten.
  allowHttpErrors(re) {
    const hits = this.httpErrors.filter((e) => re.test(e));
    this.httpErrors = this.httpErrors.filter((e) => !re.test(e));
    for (const e of hits) {
      const status = e.split(' ')[0];
      const i = this.consoleErrors.findIndex((m) => m.includes(`Failed to load resource`) && m.includes(`status of ${status}`));
      if (i >= 0) this.consoleErrors.splice(i, 1);
    }
    return hits.length;
  }

  // Forgets the recorded errors (after a test that expected some).
  resetErrors() {
    this.httpErrors.length = 0;
    this.consoleErrors.length = 0;
    this.pageErrors.length = 0;
    this.cspViolations.length = 0;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.context.close().catch(() => {});
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

// Saves a 1280x800 screenshot of page to docs/img/<name>.png, only when
// PIXIE_SCREENSHOTS=1 (a normal test run never rewrites committed files).
export async function screenshot(page, name) {
  if (process.env.PIXIE_SCREENSHOTS !== '1') return;
  const dir = path.join(SOURCE_DIR, 'docs', 'img');
  fs.mkdirSync(dir, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
  log(`     screenshot docs/img/${name}.png`);
}

// The computed CSS colour of the first element matching locator, as [r,g,b].
export async function rgbOf(locator, prop = 'background-color') {
  const css = await locator.first().evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), prop);
  const m = css.match(/rgba?\(([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)(?:[ ,/]+([\d.]+))?/);
  check(m, `cannot read ${prop} "${css}"`);
  return { rgb: [Number(m[1]), Number(m[2]), Number(m[3])], alpha: m[4] === undefined ? 1 : Number(m[4]), css };
}

function hueChroma([r, g, b]) {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const c = max - min;
  let h = 0;
  if (c > 0) {
    if (max === r) h = 60 * (((g - b) / c) % 6);
    else if (max === g) h = 60 * ((b - r) / c + 2);
    else h = 60 * ((r - g) / c + 4);
  }
  return { hue: (h + 360) % 360, chroma: c };
}

// True when [r,g,b] is a green (a hue between yellow-green and teal, not a
// near-grey), pastel or dark.
export function isGreenish(rgb) {
  const { hue, chroma } = hueChroma(rgb);
  return chroma >= 15 && hue >= 75 && hue <= 165;
}

// True when [r,g,b] is a grey (channels close together).
export function isGreyish(rgb) {
  return hueChroma(rgb).chroma <= 24;
}

// A RegExp matching a form field's label as pages show it: the label, maybe
// followed by a required marker (" *", "(required)").
export function labelRe(label) {
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\s*${esc}(\\s*\\*)?(\\s*\\(required\\))?\\s*$`);
}

// Makes a unique canary value (never a real secret).
export function canary(label = 'CANARY') {
  const rand = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  const v = `pxc-${label}-${rand}`;
  hide(v);
  return v;
}

// A server still running when node exits (a crash, ctest's timeout) is killed.
const liveChildren = new Set();
process.on('exit', () => {
  for (const c of liveChildren) try { c.kill('SIGKILL'); } catch { /* gone */ }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of liveChildren) try { c.kill('SIGTERM'); } catch { /* gone */ }
    process.exit(1);
  });
}

process.on('unhandledRejection', (err) => {
  log(`unhandled rejection: ${describeError(err)}`);
});
