import { startPixie, launchBrowser, test, run, makeHome, sleep } from './lib/harness.mjs';
const tool = process.argv[2] || 'refcalc';
test('dbg', async () => {
  const px = await startPixie({ tools: [tool] });
  const br = await launchBrowser();
  const p = await br.page();
  await p.goto(`${px.url}${process.argv[3] || 'tool/' + tool}`);
  await sleep(2000);
  console.log(await p.evaluate(() => document.body.innerText));
  console.log(br.consoleErrors, br.pageErrors, br.cspViolations, br.requestFailures);
  console.log((await br.bodies()).map(b => b.status + ' ' + b.url).join('\n'));
});
await run();
