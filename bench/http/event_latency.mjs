// Event latency benchmark (issue 11): from a tool writing a streamed event
// to the dashboard page's EventSource handler receiving it — through the
// launcher's SSE reader, masking, merging, the board, the suspended
// /api/runs/<id>/events response and Chromium. The tool (bench/stream/tool)
// stamps each event with the wall clock in ms just before it writes it; the
// page subtracts that from performance.timeOrigin + performance.now() on
// the same machine. Prints median, p90 and p99 over EVENTS events (default
// 500) written PACE_US apart (default 2000). Target: <= 5 ms median.
// Run: node bench/http/event_latency.mjs (after building pixie; uses the
// browser tests' harness and their playwright-core in tests/browser/).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeHome, startPixie, launchBrowser, run, test, check } from '../../tests/browser/lib/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EVENTS = Number(process.env.EVENTS || 500);
const PACE_US = Number(process.env.PACE_US || 2000);

// Runs the bench tool from a page of the dashboard; returns the latencies (ms).
function measureInPage({ n, pace }) {
  const token = document.querySelector('meta[name=pixie-token]').content;
  return fetch('/api/tools/stream-bench/run', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Pixie-Token': token },
    body: JSON.stringify({ inputs: { n, pace_us: pace }, wait: false }),
  }).then((r) => r.json()).then(({ run_id: id }) => new Promise((resolve, reject) => {
    const lat = [];
    let last = null;
    const es = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
    es.addEventListener('update', (e) => {
      const now = performance.timeOrigin + performance.now();
      const wall = JSON.parse(e.data).outputs.wall;
      if (typeof wall === 'number' && wall !== last) { lat.push(now - wall); last = wall; }
    });
    es.addEventListener('final', (e) => {
      es.close();
      const status = JSON.parse(e.data).status;
      if (status !== 'ok') reject(new Error(`the run ended ${status}`));
      else resolve(lat);
    });
    es.onerror = () => { es.close(); reject(new Error('the event stream failed')); };
  }));
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

test('event latency: tool write -> EventSource message in the page', async () => {
  const home = makeHome([]);
  fs.cpSync(path.join(HERE, '..', 'stream', 'tool'), path.join(home, 'tools', 'stream-bench'), { recursive: true });
  const px = await startPixie({ home });
  const browser = await launchBrowser();
  const page = await browser.page();
  await page.goto(px.url);
  await page.evaluate(measureInPage, { n: 20, pace: PACE_US }); // warm: the tool starts, states load
  const lat = (await page.evaluate(measureInPage, { n: EVENTS, pace: PACE_US })).sort((a, b) => a - b);
  check(lat.length > EVENTS / 2, `only ${lat.length} of ${EVENTS} events arrived as their own update`);
  const f = (x) => x.toFixed(2).padStart(7);
  console.log(`== event latency (${EVENTS} events, ${PACE_US} us apart; ${lat.length} seen) ==`);
  console.log(`tool -> browser EventSource  median ${f(quantile(lat, 0.5))} ms  p90 ${f(quantile(lat, 0.9))} ms` +
    `  p99 ${f(quantile(lat, 0.99))} ms   (target: median <= 5 ms)`);
});

await run();
