// The web app's studies, in Debian's Chromium against real node daemons of a governed cluster: a
// researcher composes a study in the browser (title, purpose, a query checked against the
// registers, the columns it reads declared from the check), signs it with the key that stays in the
// browser and submits it; the study waits for its custodian; once approved, the researcher runs
// its query from the study page and the table equals the CLI's run of the same study. A study the
// researcher did not declare the columns of is refused before signing; one the custodian rejected
// shows the reason and offers no run. Screenshots in dist/test-screenshots/studies/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { generateRegisters } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { approveStudy, parseSignedStudy } from '../src/governance/study.js';
import { publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { apiRequest } from '../src/node/api.js';
import { fixture, POP_SQL, signer, type Party } from './governance-fixture.js';
import { launchBrowser, newPage, screenshot, signInWithKey, webCluster, type WebCluster } from './browser.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-s-'));
const F = fixture();
const regs = generateRegisters({ citizens: 1500, seed: 17 });
let browser: Browser;
let c: WebCluster;

function keyFile(p: Party): string {
  const f = join(root, `${p.name}.ed25519.key.pem`);
  writeFileSync(f, p.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  return f;
}

before(async () => {
  browser = await launchBrowser();
  const consortium = join(root, 'consortium.json');
  writeFileSync(consortium, JSON.stringify(F.config, null, 2));
  c = await webCluster(join(root, 'c'), { consortium, privacy: { exact: true } });
  await uploadDataset({ config: c.lc.config, dataset: { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns }, version: 'v1', signer: signer(F.cpr) });
  await submitDocument(c.lc.config, 'policy', F.policies.find((p) => p.policy.custodian === 'cpr')!, signer(F.cpr));
  await publishConsent({ config: c.lc.config, consortium: F.consortium, events: [], changes: [], signer: signer(F.consentCustodian), version: 'consent-v1' });
});

after(async () => {
  await browser?.close();
  await c?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The registered study document, as the nodes hold it. */
async function registered(id: string) {
  const r = await apiRequest<{ versions: { document: unknown }[] }>(c.lc.config, 0, `/v1/studies/${id}`, { signer: signer(F.alice) });
  assert.equal(r.status, 200);
  return parseSignedStudy(r.body.versions.at(-1)!.document);
}

describe('web app: studies', () => {
  it('a researcher composes, signs and submits a study; once approved, runs its query: the table equals the CLI\'s', async () => {
    const { page, errors, context } = await newPage(browser);
    await signInWithKey(page, c.url, keyFile(F.alice), 'alice');
    await page.getByRole('link', { name: 'Studies' }).click();
    await page.getByRole('link', { name: 'New study' }).click();
    await page.getByLabel('Title').fill('Population by region and sex');
    assert.equal(await page.getByLabel(/^Identifier/).inputValue(), 'population-by-region-and-sex');
    await page.getByLabel('Purpose', { exact: true }).selectOption('public-health');
    await page.locator('.cm-content').first().click();
    await page.keyboard.insertText(POP_SQL);
    await page.keyboard.press('Escape');
    // Nothing declared yet: the check names what the query reads and that the study lacks it.
    await page.getByRole('button', { name: 'Check the queries' }).click();
    await page.getByText(/which the study does not list/).first().waitFor();
    await page.getByRole('button', { name: 'Declare what the queries read' }).click();
    await page.getByText('✓ The query plans against the registers').waitFor();
    assert.ok(await page.getByRole('checkbox', { name: /region/ }).first().isChecked());
    await screenshot(page, 'studies', '01-compose');
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await page.waitForURL('**/studies/population-by-region-and-sex');
    await page.locator('.badge', { hasText: 'waiting for cpr' }).waitFor();
    await screenshot(page, 'studies', '02-waiting');
    // What the nodes registered is what was composed, signed by alice's key in the browser.
    const study = await registered('population-by-region-and-sex');
    assert.equal(study.signature?.signer, 'alice');
    assert.deepEqual(study.study.datasets, [{ name: 'population', columns: ['sex', 'region'] }]);
    assert.equal(study.study.queries[0]!.sql, POP_SQL);
    assert.equal(await page.getByRole('button', { name: /^Run/ }).count(), 0, 'no run before the approval');

    // The custodian approves (the custodian's pages have their own test); the study can run.
    await submitDocument(c.lc.config, 'approval', approveStudy(study, F.consortium, signer(F.cpr), { reason: 'fits the purpose' }), signer(F.cpr));
    await page.reload();
    await page.locator('.badge', { hasText: 'approved by cpr' }).waitFor();
    await page.getByRole('button', { name: 'Run q1' }).click();
    await page.locator('.result').waitFor({ timeout: 120_000 });
    await screenshot(page, 'studies', '03-run');
    const shown = await page.locator('.result table.grid tbody tr:not(.withheld)').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (x) => (x.firstChild?.textContent ?? '').trim())));
    const cli = await runRemoteQuery({ config: c.lc.config, sql: POP_SQL, signer: signer(F.alice), study, queryId: 'q1' });
    assert.deepEqual(shown, cli.rows.map((r) => r.map((v) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v)))));
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('refused before signing: a query reading a column the custodian forbids, and a rejected study offers no run', async () => {
    const { page, errors, context } = await newPage(browser, { phone: true });
    await signInWithKey(page, c.url, keyFile(F.alice), 'alice');
    await page.goto(new URL('/studies/new', c.url).href);
    await page.getByLabel('Title').fill('Municipalities');
    await page.locator('.cm-content').first().click();
    await page.keyboard.insertText('SELECT municipality, COUNT(*) FROM population GROUP BY municipality');
    await page.keyboard.press('Escape');
    await page.locator('summary', { hasText: 'population' }).click();
    assert.ok(await page.getByRole('checkbox', { name: /municipality/ }).isDisabled(), 'a forbidden column cannot be chosen');
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await page.getByRole('alert').getByText(/Choose the columns the study reads/).waitFor();
    await screenshot(page, 'studies', '04-refused');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 391, `the page is ${width} px wide on a 390 px screen`);
    const r = await apiRequest<unknown[]>(c.lc.config, 0, '/v1/studies', { signer: signer(F.alice) });
    assert.ok(!JSON.stringify(r.body).includes('municipalities'), 'nothing was submitted');

    // A rejected study: the reason is shown, no run is offered.
    const { createStudy, signStudy } = await import('../src/governance/study.js');
    const day = 86_400_000;
    const s = signStudy(createStudy({ ...F.baseStudy, id: 'rejected-one', datasets: [{ name: 'population', columns: ['region', 'sex'] }], queries: [{ id: 'population', sql: POP_SQL }], validFrom: new Date(Date.now() - day).toISOString(), validUntil: new Date(Date.now() + day).toISOString() }), signer(F.alice));
    await submitDocument(c.lc.config, 'study', s, signer(F.alice));
    await submitDocument(c.lc.config, 'approval', approveStudy(s, F.consortium, signer(F.cpr), { decision: 'reject', reason: 'the purpose does not cover this' }), signer(F.cpr));
    await page.goto(new URL('/studies/rejected-one', c.url).href);
    await page.locator('.badge', { hasText: 'rejected by cpr' }).waitFor();
    await page.getByText('the purpose does not cover this').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Run/ }).count(), 0);
    await screenshot(page, 'studies', '05-rejected');

    // The Query page on a governed cluster: checks SQL, runs none, carries it into a new study.
    await page.goto(new URL('/query', c.url).href);
    await page.getByText(/governed by consortium/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Run', exact: true }).count(), 0, 'no ad-hoc run on a governed cluster');
    await page.locator('.cm-content').first().click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText('SELECT sex, COUNT(*) AS n FROM population GROUP BY sex');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByText(/The nodes can run this: 2 cells/).waitFor();
    await page.getByRole('button', { name: 'Propose as a study' }).click();
    await page.waitForURL('**/studies/new');
    await page.locator('.cm-content', { hasText: 'GROUP BY sex' }).waitFor();
    await screenshot(page, 'studies', '06-proposed-from-query');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
