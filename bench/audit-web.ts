// How long the auditor's page takes to verify a large transparency log in the browser: the log of
// bench/audit-log.ts written into the three nodes of a local cluster, real node daemons and
// `mosaik web`'s relay (test/browser.ts), Debian's Chromium driven by playwright-core; the page's
// timeline is read, then "Verify the log" runs the whole audit in its Web Worker (fetch three
// replicas through the relay, hash every entry, three Ed25519 signatures per head, compare,
// consistency proofs, content rules) until the verdict shows. For comparison, `mosaik audit verify`
// online (the same src/ledger/audit.ts in Node, over pinned TLS) on the same cluster.
//
//   npm run bench:audit-web [-- --entries 100000 --head-every 1]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchBrowser, newPage, webCluster } from '../test/browser.js';
import { arg, writeBenchLog } from './audit-log.js';

const N = arg('entries', 100_000);
const EVERY = arg('head-every', 1);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-audit-web-'));
const browser = await launchBrowser();
try {
  let heads = 0;
  let t = performance.now();
  const c = await webCluster(join(root, 'c'), { prepare: (lc) => void (heads = writeBenchLog(lc, N, EVERY)) });
  console.log(`generated ${N} entries and ${heads} co-signed heads, started the nodes and the web server: ${secs(performance.now() - t)}`);
  try {
    const { page, errors, context } = await newPage(browser);
    t = performance.now();
    await page.goto(new URL('/log', c.url).href);
    await page.locator('ol.timeline li.entry').first().waitFor({ timeout: 600_000 });
    console.log(`timeline shown (all ${N} entries read from one node through the relay): ${secs(performance.now() - t)}`);

    t = performance.now();
    await page.getByRole('button', { name: 'Verify the log' }).click();
    const verdict = page.locator('.verdict[data-ok]');
    let end = 0;
    const shown = verdict.waitFor({ timeout: 3_600_000 }).then(() => void (end = performance.now()));
    // The steps as the page shows them, each when it starts.
    let seen = '';
    while (!end) {
      const p = await page.evaluate(() => document.querySelector('.verify .progress')?.textContent?.trim() ?? '');
      const step = p.replace(/[\d,]+ of [\d,]+.*/, '');
      if (step && step !== seen) {
        console.log(`  ${secs(performance.now() - t).padStart(8)}  ${p}`);
        seen = step;
      }
      await Promise.race([shown, page.waitForTimeout(200)]);
    }
    const ok = (await verdict.getAttribute('data-ok')) === 'yes';
    const took = (await page.getByText(/Checked in/).textContent())?.match(/Checked in ([\d.]+ m?s)/)?.[1];
    console.log(`verified in the browser: ${secs(end - t)} from the click to the verdict (the worker's own count: ${took}); ${ok ? 'the log verifies' : 'PROBLEMS'}${errors.length ? `; page errors: ${errors.join('; ')}` : ''}`);
    await context.close();

    // The CLI in a process of its own, as an auditor runs it (the daemons live in this one).
    t = performance.now();
    const cli = await new Promise<{ code: number | null; out: string }>((ok) => {
      const child = spawn(process.execPath, [resolve('dist/src/cli/main.js'), 'audit', 'verify', '--dir', c.lc.dir]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
      child.on('close', (code) => ok({ code, out }));
    });
    console.log(`mosaik audit verify (online, Node, its own process): ${secs(performance.now() - t)}; exit code ${cli.code}${cli.code ? `: ${cli.out.split('\n').slice(0, 5).join(' / ')}` : ''}`);
  } finally {
    await c.close();
  }
} finally {
  await browser.close();
  rmSync(root, { recursive: true, force: true });
}
