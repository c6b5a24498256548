// The web app, as an auditor (anyone, signed out) uses it, in Debian's Chromium against real node
// daemons of a governed cluster whose log holds real entries: policies, a consent register update,
// a study with two custodians' approvals, two runs of the study and their releases (made through the
// same library functions as the CLI). The timeline shows them in plain language with filters; the
// verification in the browser passes and its report equals `mosaik audit verify`'s (auditVerify, the
// same library function); an inclusion proof of a chosen result; then one node's log tampered on disk
// (a changed entry; a forged signature; a forked history co-signed with the nodes' keys): the page
// flags it, naming the node and the entry, and still equals the CLI's report. A keyboard-only pass
// and a phone viewport; screenshots in dist/test-screenshots/auditor/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { generateRegisters } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { auditVerify } from '../src/cli/audit.js';
import { publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import { approveStudy, signStudy, type SignedStudy } from '../src/governance/study.js';
import type { ConsentEvent } from '../src/governance/consent.js';
import { canonicalJson, type LedgerEntry } from '../src/ledger/entry.js';
import type { SignedHead, TreeHead } from '../src/ledger/heads.js';
import { signHead } from '../src/ledger/heads-sign.js';
import { MerkleTree, toHex } from '../src/ledger/merkle.js';
import { readSigningKey } from '../src/net/keys.js';
import { launchBrowser, newPage, screenshot, webCluster, type WebCluster } from './browser.js';
import { fixture, POP_SQL, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-a-'));
const F = fixture();
const regs = generateRegisters({ citizens: 400, seed: 17 });
const DAY = 86_400_000;
const NOW = Date.now();
const iso = (t: number) => new Date(t).toISOString();
let browser: Browser;
let c: WebCluster;
let study: SignedStudy;
const jobs: string[] = [];
let entries: LedgerEntry[] = [];

const ledgerFile = (party: number, f: 'entries.jsonl' | 'heads.jsonl') => join(c.lc.nodeDirs[party as 0 | 1 | 2], 'ledger', f);

before(async () => {
  browser = await launchBrowser();
  const consortiumFile = join(root, 'consortium.json');
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  c = await webCluster(join(root, 'c'), { consortium: consortiumFile, privacy: { exact: true } });
  const config = c.lc.config;
  for (const reg of [regs.population, regs.contacts]) {
    const custodian = reg.schema.custodian === F.cpr.name ? F.cpr : F.sds;
    await uploadDataset({ config, dataset: { schema: reg.schema, codeLists: regs.codeLists, rows: reg.length, columns: reg.columns }, version: 'v1', signer: signer(custodian) });
  }
  for (const sp of F.policies) await submitDocument(config, 'policy', sp, signer(F.cpr));
  const ids = Array.from(regs.population.columns.get('person_id')!.slice(0, 6), Number);
  const events: ConsentEvent[] = ids.slice(0, 3).map((person, k) => ({ person, purpose: 'public-health', granted: false, time: 1_680_000_000 + k }));
  await publishConsent({ config, consortium: F.consortium, events, changes: events, signer: signer(F.consentCustodian), version: 'consent-v1' });
  study = signStudy(F.study({ validFrom: iso(NOW - DAY), validUntil: iso(NOW + 30 * DAY), createdAt: iso(NOW - DAY) }), signer(F.alice));
  await submitDocument(config, 'study', study, signer(F.alice));
  for (const custodian of [F.sds, F.cpr]) await submitDocument(config, 'approval', approveStudy(study, F.consortium, signer(custodian), { time: iso(Date.now() - 1000) }), signer(custodian));
  for (let i = 0; i < 2; i++) jobs.push((await runRemoteQuery({ config, sql: POP_SQL, signer: signer(F.alice), study, queryId: 'population' })).job);
  const r = await fetch(`${c.url}api/nodes/1/v1/ledger/entries`);
  entries = ((await r.json()) as { entries: LedgerEntry[] }).entries;
});

after(async () => {
  await browser?.close();
  await c?.close();
  rmSync(root, { recursive: true, force: true });
});

async function openLog(page: Page): Promise<void> {
  await page.goto(new URL('/log', c.url).href);
  await page.locator('ol.timeline li.entry').first().waitFor();
}

/** Runs `f` on a fresh page at /log (phone-sized if asked), then checks that the page logged no error. */
async function onLogPage(f: (page: Page) => Promise<void>, o: { phone?: boolean } = {}): Promise<void> {
  const { page, errors, context } = await newPage(browser, o);
  try {
    await openLog(page);
    await f(page);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
}

/** Runs the verification on the page; returns its exact report and whether it says the log verifies. */
async function verifyOnPage(page: Page): Promise<{ ok: boolean; problems: string[]; warnings: string[] }> {
  await page.getByRole('button', { name: /^Verify (the log|again)$/ }).click();
  const verdict = page.locator('.verdict[data-ok]');
  await verdict.waitFor({ timeout: 120_000 });
  return {
    ok: (await verdict.getAttribute('data-ok')) === 'yes',
    problems: await page.locator('.exact-problems li').allTextContents(),
    warnings: await page.locator('.exact-warnings li').allTextContents(),
  };
}

/** The page's report equals `mosaik audit verify`'s on the same cluster. */
async function sameAsCli(shown: { ok: boolean; problems: string[]; warnings: string[] }): Promise<void> {
  const cli = await auditVerify({ dir: c.lc.dir });
  assert.equal(shown.ok, cli.ok, cli.lines.join('\n'));
  assert.deepEqual(shown.problems, cli.problems);
  assert.deepEqual(shown.warnings, cli.warnings);
}

/** Changes a file for the length of `f`, then restores it (the node re-reads and re-verifies it). */
async function tampered(path: string, change: (text: string) => string, f: () => Promise<void>): Promise<void> {
  const orig = readFileSync(path, 'utf8');
  const changed = change(orig);
  assert.notEqual(changed, orig, `the change to ${path} changed nothing`);
  writeFileSync(path, changed);
  try {
    await f();
  } finally {
    writeFileSync(path, orig);
  }
}

describe('web app: auditor (signed out)', () => {
  it('shows the log as a timeline in plain language, with filters by kind, study and date', async () => {
    await onLogPage(async (page) => {
      await page.getByRole('link', { name: 'Sign in' }).waitFor(); // nobody is signed in
      const items = page.locator('ol.timeline li.entry');
      assert.equal(await items.count(), entries.length);
      const kinds = new Set(entries.map((e) => e.kind));
      for (const k of ['policy-published', 'consent-changed', 'study-submitted', 'study-approved', 'job-run', 'result-released']) assert.ok(kinds.has(k as LedgerEntry['kind']), `${k} is in the log`);
      const text = (await page.locator('ol.timeline').textContent()) ?? '';
      assert.match(text, /alice registered study “t2d-2024” for public-health research on contacts and population/);
      assert.match(text, /sundhedsdatastyrelsen approved study “t2d-2024”/);
      assert.match(text, /cpr approved study “t2d-2024”/);
      assert.match(text, /published its data policy for/);
      assert.match(text, /Consent register consent moved to version consent-v1: 3 withdrawn/);
      assert.match(text, /alice ran study “t2d-2024” \(query population\) on .*population \(v1\).*without output protection/);
      assert.match(text, new RegExp(`The result of job ${jobs[0]!.slice(0, 8)} was released to its requester \\(run in entry \\d+\\)`));
      assert.ok(!/[{}]"/.test(text), 'no raw JSON in the timeline');
      await screenshot(page, 'auditor', '01-timeline');
      // Filters: kind, study, date.
      await page.locator('#f-kind').selectOption('job-run');
      assert.equal(await items.count(), 2);
      await page.locator('#f-kind').selectOption('');
      await page.locator('#f-study').selectOption('t2d-2024');
      assert.equal(await items.count(), entries.filter((e) => e.body.study === 't2d-2024' || (e.kind === 'result-released' && jobs.includes(String(e.body.job)))).length);
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.locator('#f-to').fill(iso(NOW - 2 * DAY).slice(0, 10));
      assert.equal(await items.count(), 0);
      await page.locator('#f-to').fill('');
      await page.locator('#f-from').fill(iso(NOW - 2 * DAY).slice(0, 10));
      assert.equal(await items.count(), entries.length);
      // Details on demand: a readable field list, not JSON.
      const run = entries.find((e) => e.kind === 'job-run')!;
      await page.locator(`li.entry[data-seq="${run.seq}"] button.entry-line`).click();
      const detail = page.locator(`#entry-${run.seq}-detail`);
      await detail.getByText('Query text (SHA-256)').waitFor();
      assert.match((await detail.textContent()) ?? '', new RegExp(String(run.body.sqlSha256)));
      assert.match((await detail.textContent()) ?? '', /Output protection\s*none \(exact results\)/);
      await screenshot(page, 'auditor', '02-detail');
    });
  });

  it('verifies the honest cluster in the browser, with the same report as `mosaik audit verify`', async () => {
    await onLogPage(async (page) => {
      // The steps the page shows while it runs, and the worker it runs in.
      await page.evaluate(() => {
        const seen: string[] = ((window as unknown as { seen: string[] }).seen = []);
        new MutationObserver(() => {
          const t = document.querySelector('.verify .progress')?.textContent?.replace(/[\d,]+ of [\d,]+.*/, '');
          if (t && !seen.includes(t)) seen.push(t);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      const worker = page.waitForEvent('worker');
      const shown = await verifyOnPage(page);
      assert.match((await worker).url(), /audit-worker/);
      const steps = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      for (const step of [/^Fetching node-a’s copy/, /^Checking the three nodes’ signatures on each tree head \(\d threads\)/, /^Checking node-c’s tree heads/]) assert.ok(steps.some((x) => step.test(x)), `${step} in ${steps.join(' | ')}`);
      assert.equal(shown.ok, true, shown.problems.join('\n'));
      await page.getByText('✓ The log verifies.').waitFor();
      await page.getByText(new RegExp(`Latest tree head signed by all three nodes: head ${entries.length}`)).waitFor();
      await sameAsCli(shown);
      assert.ok(shown.warnings.some((w) => /ran without output protection/.test(w)), 'exact results are a warning, as in the CLI');
      await screenshot(page, 'auditor', '03-verified');
    });
  });

  it('proves a chosen result is in the log: included in head N, signed by all three nodes', async () => {
    await onLogPage(async (page) => {
      await page.getByLabel('Job id of the result').fill(jobs[1]!.slice(0, 13));
      await page.getByRole('button', { name: 'Find and prove' }).click();
      const release = entries.find((e) => e.kind === 'result-released' && e.body.job === jobs[1])!;
      await page.getByText(`✓ Entry ${release.seq} is included in head ${entries.length}, signed by all three nodes.`).waitFor({ timeout: 30_000 });
      for (const name of ['node-a', 'node-b', 'node-c']) {
        await page.getByText(`✓ ${name}’s signature on head ${entries.length} verifies`).waitFor();
        await page.getByText(new RegExp(`✓ ${name}’s proof \\(\\d+ hash(es)?\\) verifies`)).waitFor();
      }
      await screenshot(page, 'auditor', '04-inclusion');
    });
  });

  it("flags a changed entry in one node's log, naming the node and the entry", async () => {
    const target = entries.find((e) => e.kind === 'consent-changed')!;
    await tampered(ledgerFile(1, 'entries.jsonl'), (t) => t.replace(canonicalJson(target), canonicalJson({ ...target, body: { ...target.body, withdrawn: 0 } })), async () => {
      await onLogPage(async (page) => {
        const shown = await verifyOnPage(page);
        assert.equal(shown.ok, false);
        await sameAsCli(shown);
        await page.getByText('✗ The log does not verify').waitFor();
        await page.getByText(`node-b’s copy of entry ${target.seq} differs from node-a’s and node-c’s`).first().waitFor();
        await page.getByText(new RegExp(`node-b’s copy of (entry ${target.seq}|entries \\d+ to \\d+) is not what all three nodes signed in tree head #\\d+`)).waitFor();
        await page.locator('li.finding.check-root').getByText('Node: node-b').waitFor();
        await screenshot(page, 'auditor', '05-changed-entry');
        // The timeline, read from node-b, marks the entry; its detail shows the field that differs.
        await page.locator('#f-source').selectOption('1');
        await page.locator(`li.entry.marked[data-seq="${target.seq}"]`).waitFor();
        await page.locator('ul.diffs').getByRole('button', { name: `Show entry ${target.seq}` }).click();
        const detail = page.locator(`#entry-${target.seq}-detail`);
        await detail.getByText('Consents withdrawn').first().waitFor();
        assert.match((await detail.locator('.diff').textContent()) ?? '', /node-a, node-c: 3.*node-b: 0/s);
        // Its inclusion proof fails for node-b's copy.
        await detail.getByRole('button', { name: 'Prove this entry is in the signed log' }).click();
        await detail.getByText(`✗ Entry ${target.seq}, as node-b holds it, is not proved to be in the signed log.`).waitFor({ timeout: 30_000 });
        await screenshot(page, 'auditor', '06-changed-entry-detail');
      });
    });
  });

  it("flags a forged signature and a forked history in one node's log, naming the node, head and entry", async () => {
    // A forged signature: node-a's signature on node-c's head #3 altered.
    await tampered(
      ledgerFile(2, 'heads.jsonl'),
      (t) => {
        const lines = t.split('\n');
        const h = JSON.parse(lines[2]!) as SignedHead;
        const s = Buffer.from(h.signatures[0]!.signature, 'base64');
        s[7]! ^= 1;
        h.signatures[0]!.signature = s.toString('base64');
        lines[2] = JSON.stringify(h);
        return lines.join('\n');
      },
      async () => {
        await onLogPage(async (page) => {
          const shown = await verifyOnPage(page);
          assert.equal(shown.ok, false);
          await sameAsCli(shown);
          const card = page.locator('li.finding.check-signature');
          await card.getByText(/Tree head #3 \(the first \d+ entries\) at node-c: node-a’s signature does not verify/).waitFor();
          await card.getByText('Node: node-c').waitFor();
          await card.getByText('Signature of: node-a').waitFor();
          await screenshot(page, 'auditor', '07-bad-signature');
        });
      },
    );
    // A fork: node-c's last entry rewritten and a head over that history co-signed with all three
    // nodes' keys (as if the three operators had signed two histories).
    const last = entries[entries.length - 1]!;
    const forkedLast = { ...last, body: { ...last.body, resultMeta: 'ab'.repeat(32) } };
    const entriesText = readFileSync(ledgerFile(2, 'entries.jsonl'), 'utf8');
    const lines = entriesText.split('\n').slice(0, -1);
    lines[lines.length - 1] = canonicalJson(forkedLast);
    const tree = new MerkleTree();
    for (const l of lines) tree.append(l);
    const head: TreeHead = { cluster: c.lc.config.cluster, size: lines.length, rootHash: toHex(tree.root()), timestamp: new Date().toISOString() };
    const keys = c.lc.config.nodes.map((n, p) => readSigningKey(c.lc.nodeDirs[p as 0 | 1 | 2], n.name).privateKeyPem);
    const forkHead: SignedHead = { ...head, signatures: ([0, 1, 2] as const).map((p) => signHead(head, p, keys[p]!)) };
    const headsPath = ledgerFile(2, 'heads.jsonl');
    const headsOrig = readFileSync(headsPath, 'utf8');
    try {
      writeFileSync(headsPath, headsOrig + JSON.stringify(forkHead) + '\n');
      await tampered(ledgerFile(2, 'entries.jsonl'), () => lines.join('\n') + '\n', async () => {
        await onLogPage(async (page) => {
          const shown = await verifyOnPage(page);
          assert.equal(shown.ok, false);
          await sameAsCli(shown);
          assert.ok(shown.problems.some((p) => new RegExp(`^FORK: co-signed heads of size ${lines.length} disagree: node-a holds root`).test(p)), shown.problems.join('\n'));
          await page.locator('li.finding.check-fork').first().getByText('The log forked: the nodes signed two different histories').waitFor();
          await page.getByText(`node-c’s copy of entry ${last.seq} differs from node-a’s and node-b’s`).first().waitFor();
          await screenshot(page, 'auditor', '08-fork');
        });
      });
    } finally {
      writeFileSync(headsPath, headsOrig);
    }
    // Restored: the page (and the CLI) verify again.
    await onLogPage(async (page) => {
      const again = await verifyOnPage(page);
      assert.equal(again.ok, true, again.problems.join('\n'));
    });
  });

  it('keyboard only: verify, open an entry, prove it', async () => {
    await onLogPage(async (page) => {
      const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
      await page.keyboard.press('Tab');
      for (let i = 0; i < 40 && (await focused()) !== 'Verify the log'; i++) await page.keyboard.press('Tab');
      assert.equal(await focused(), 'Verify the log');
      await page.keyboard.press('Enter');
      await page.locator('.verdict[data-ok="yes"]').waitFor({ timeout: 120_000 });
      // On to the first entry of the timeline (newest first).
      const newest = entries[entries.length - 1]!;
      for (let i = 0; i < 80 && !(await focused()).startsWith(`#${newest.seq}`); i++) await page.keyboard.press('Tab');
      assert.match(await focused(), new RegExp(`^#${newest.seq}`));
      await page.keyboard.press('Enter');
      await page.locator(`#entry-${newest.seq}-detail`).waitFor();
      for (let i = 0; i < 40 && (await focused()) !== 'Prove this entry is in the signed log'; i++) await page.keyboard.press('Tab');
      assert.equal(await focused(), 'Prove this entry is in the signed log');
      await page.keyboard.press('Enter');
      await page.getByText(`✓ Entry ${newest.seq} is included in head ${entries.length}, signed by all three nodes.`).waitFor({ timeout: 30_000 });
      await screenshot(page, 'auditor', '09-keyboard');
    });
  });

  it('on a phone: the timeline, the verdict and a proof fit the screen', async () => {
    await onLogPage(async (page) => {
      const shown = await verifyOnPage(page);
      assert.equal(shown.ok, true);
      const release = entries.find((e) => e.kind === 'result-released')!;
      await page.locator(`li.entry[data-seq="${release.seq}"] button.entry-line`).click();
      await page.getByRole('button', { name: 'Prove this entry is in the signed log' }).click();
      await page.getByText(`✓ Entry ${release.seq} is included in head ${entries.length}, signed by all three nodes.`).waitFor({ timeout: 30_000 });
      await page.locator('.inclusion details summary').click(); // the long hashes, too
      await screenshot(page, 'auditor', '10-phone');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390 + 1, `the page is ${width} px wide on a 390 px screen`);
    }, { phone: true });
  });
});
