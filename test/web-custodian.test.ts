// The web app, as a data custodian uses it, in Debian's Chromium against three real node daemons of
// a governed cluster (a consortium: the CPR register's custodian 'cpr' owns population; 'alice' is a
// researcher). The custodian signs in with its key file (the key stays in the browser) and sees its
// dataset's versions; uploads a small CSV from the browser (checked, split into shares, signed and
// sealed per node in the browser), and the CLI's query over the new version gives the plaintext
// answer; a CSV with a bad line shows the line-numbered problem and nothing reaches any node; edits
// and signs its policy; reviews a study the researcher submitted (each query's column uses and the
// policy's verdict), approves it with licence terms using the keyboard only, after which the study's
// query runs; the usage page shows the run with the terms and exports a CSV; rejects a second study
// (a reason is required), after which the nodes refuse it and the researcher's page shows the reason. What the web relay
// logged and relayed holds no plaintext value of the CSV, no share in the clear (sealed bodies
// only) and no private key. A phone viewport too; screenshots in dist/test-screenshots/custodian/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateRegisters } from '../src/demo/registers.js';
import { decodeValue } from '../src/ingest/schema.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { runRemoteQuery, QueryFailed } from '../src/cli/query.js';
import { submitDocument } from '../src/cli/governance-remote.js';
import { createStudy, signStudy, type SignedStudy } from '../src/governance/study.js';
import type { SignedPolicy } from '../src/governance/policy.js';
import { keyId } from '../src/governance/identity.js';
import { apiRequest } from '../src/node/api.js';
import type { PartyId } from '../src/net/channel.js';
import { launchBrowser, newPage, screenshot, signInWithKey, webCluster, type WebCluster } from './browser.js';
import { fixture, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-c-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();
const TERMS = 'Licensed for public-health research, until the study ends; cite the CPR register; 500 DKK per query run.';
const REASON = 'Birth dates are not released for this purpose; ask for age bands instead.';
const BY_SEX = 'SELECT sex, COUNT(*) AS persons FROM population GROUP BY sex';
const BY_REGION = "SELECT region, COUNT(*) AS persons FROM population WHERE birth_date >= '1970-01-01' GROUP BY region";

// The registers: version v1 uploaded by the CLI's library; the CSV the custodian uploads in the browser.
const first = generateRegisters({ citizens: 200, seed: 23 }).population;
const regs = generateRegisters({ citizens: 80, seed: 41 });
const pop = regs.population;
const specs = pop.schema.columns;
const cell = (c: number, r: number) => String(decodeValue(specs[c]!, pop.columns.get(specs[c]!.name)![r]!, regs.codeLists));
const rows = Array.from({ length: pop.length }, (_, r) => specs.map((_s, c) => cell(c, r)));
const csvText = [specs.map((s) => s.name).join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
const csvFile = join(root, 'population-2025.csv');
const badFile = join(root, 'population-bad.csv');
// Line 5 (the header is line 1) names a sex that is not in the code list.
const badRows = rows.slice(0, 8).map((r) => [...r]);
badRows[3]![specs.findIndex((s) => s.name === 'sex')] = 'X';
writeFileSync(csvFile, csvText);
writeFileSync(badFile, [specs.map((s) => s.name).join(','), ...badRows.map((r) => r.join(','))].join('\n') + '\n');
const bySexPlain = new Map<string, number>();
for (const r of rows) bySexPlain.set(r[specs.findIndex((s) => s.name === 'sex')]!, (bySexPlain.get(r[specs.findIndex((s) => s.name === 'sex')]!) ?? 0) + 1);

const keyFile = join(root, 'cpr.ed25519.key.pem');
const cprPem = F.cpr.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const aliceKey = join(root, 'alice.ed25519.key.pem');
let browser: Browser;
let c: WebCluster;
let context: BrowserContext;
let page: Page;
let errors: string[];
let study: SignedStudy;

/** Every call the browser made to the relay: method, path, body; and every answer it got. */
const relayed: { method: string; url: string; body: Buffer | null; headers: Record<string, string> }[] = [];
const answers: string[] = [];

async function tabTo(p: Page, pred: () => boolean | Promise<boolean>, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await pred()) return;
    await p.keyboard.press('Tab');
  }
  throw new Error('the keyboard never reached the expected element');
}
const focused = (p: Page) => p.evaluate(() => ({ tag: document.activeElement?.tagName ?? '', text: document.activeElement?.textContent?.trim() ?? '', placeholder: (document.activeElement as HTMLTextAreaElement | null)?.placeholder ?? '' }));

before(async () => {
  writeFileSync(keyFile, cprPem, { mode: 0o600 });
  writeFileSync(aliceKey, F.alice.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  const consortium = join(root, 'consortium.json');
  // No consent register: the study's runs are checked against policies and approvals only.
  writeFileSync(consortium, JSON.stringify({ ...F.config, consent: undefined }));
  browser = await launchBrowser();
  c = await webCluster(join(root, 'c'), { consortium, privacy: { exact: true } });
  await uploadDataset({ config: c.lc.config, dataset: { schema: first.schema, codeLists: regs.codeLists, rows: first.length, columns: first.columns }, version: 'v1', signer: signer(F.cpr) });
  ({ context, page, errors } = await newPage(browser));
  page.on('request', (r) => {
    if (r.url().includes('/api/nodes/')) relayed.push({ method: r.method(), url: r.url(), body: r.postDataBuffer(), headers: r.headers() });
  });
  page.on('response', async (r) => {
    if (r.url().includes('/api/nodes/')) answers.push(await r.text().catch(() => ''));
  });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await c?.close();
  rmSync(root, { recursive: true, force: true });
});

const versionsAt = async (p: PartyId) => ((await apiRequest<{ versions: { version: string; rows: number }[] }>(c.lc.config, p, '/v1/datasets/population')).body.versions ?? []).map((v) => v.version);

describe('web app: custodian', () => {
  it('signs in with the key file and sees its dataset and versions', async () => {
    await signInWithKey(page, c.url, keyFile);
    await page.waitForURL('**/custodian');
    await page.getByRole('heading', { name: 'population' }).waitFor();
    await page.getByRole('table', { name: /Versions of population/ }).getByRole('rowheader', { name: 'v1' }).waitFor();
    assert.match((await page.locator('article.dataset').textContent()) ?? '', new RegExp(`${first.length} rows`));
    await screenshot(page, 'custodian', '01-datasets');
  });

  it('uploads a small CSV from the browser: stored at every node, and the CLI reads it back', async () => {
    const before = relayed.length;
    await page.getByRole('link', { name: 'Upload', exact: true }).click();
    await page.waitForURL('**/custodian/upload');
    await page.getByText(/Checked against the schema of the latest version/).waitFor();
    await page.getByLabel('File', { exact: true }).setInputFiles(csvFile);
    await page.getByLabel('Version name').fill('v2');
    await page.getByRole('button', { name: 'Check and upload' }).click();
    await page.getByText(new RegExp(`Stored version v2 of population: ${pop.length} rows`)).waitFor({ timeout: 60_000 });
    await screenshot(page, 'custodian', '02-uploaded');
    for (const p of P) assert.ok((await versionsAt(p)).includes('v2'), `node ${p} stores v2`);
    // What crossed the relay for the upload: three PUTs of sealed bodies, nothing of the data in the clear.
    const puts = relayed.slice(before).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 3);
    const stored0 = c.daemons[0]!.store.load('population', 'v2');
    const shareSamples = [...stored0.values()].flatMap((s) => [s.a, s.b]).map((col) => Buffer.from(col.buffer, col.byteOffset, Math.min(col.byteLength, 64)));
    const plainSamples = [
      ...rows.slice(0, 20).map((r) => Buffer.from(r[0]!)), // person ids as text
      ...rows.slice(0, 20).map((r) => Buffer.from(`${r[0]},${r[1]},${r[2]}`)),
      ...Array.from(pop.columns.get('person_id')!.slice(0, 20), (x) => Buffer.from(new BigUint64Array([x]).buffer)), // encoded values
      Buffer.from('"custodian"'), Buffer.from('"person_id"'), Buffer.from('"schema"'),
    ];
    for (const r of puts) {
      assert.match(r.url, /\/api\/nodes\/[012]\/v1\/datasets\/population\/versions\/v2\/sealed$/);
      assert.ok(r.body && r.body.subarray(0, 4).toString() === 'MKSU', 'a sealed body');
      assert.ok(r.body.length > pop.length * specs.length * 16, 'it carries the shares (sealed)');
      for (const s of [...plainSamples, ...shareSamples]) assert.equal(r.body.indexOf(s), -1, `the relayed body holds ${s.toString('hex').slice(0, 32)} in the clear`);
      assert.doesNotMatch(JSON.stringify(r.headers), new RegExp(cprPem.split('\n')[1]!.slice(0, 24).replace(/[+/]/g, '.')));
    }
    // The CLI's library reads the version back: its latest-version query needs a study (governed), below.
    assert.deepEqual(errors, []);
  });

  it('a CSV with a bad line shows the line-numbered problem, and nothing reaches any node', async () => {
    const before = relayed.length;
    await page.getByLabel('File', { exact: true }).setInputFiles(badFile);
    await page.getByLabel('Version name').fill('v3');
    await page.getByRole('button', { name: 'Check and upload' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('Nothing was uploaded.').waitFor();
    assert.match((await alert.textContent()) ?? '', /Line 5: .*X/);
    await screenshot(page, 'custodian', '03-bad-line');
    assert.equal(relayed.slice(before).filter((r) => r.method === 'PUT').length, 0, 'no upload call was made');
    for (const p of P) assert.ok(!(await versionsAt(p)).includes('v3'), `node ${p} stores nothing of v3`);
  });

  it('edits its policy in forms and signs it in the browser; every node holds it', async () => {
    await page.getByRole('link', { name: 'Policy', exact: true }).click();
    await page.getByText(/You have no policy yet/).waitFor();
    const ds = page.locator('fieldset.policy-dataset').first();
    await ds.getByLabel(/public-health research/).check();
    await ds.getByLabel('Smallest cell (rows) a result may show').fill('10');
    const col = (name: string) => ds.locator('fieldset.column-rule').filter({ has: page.locator(`legend code:text-is("${name}")`) });
    await col('sex').getByLabel('group results by it').check();
    await col('region').getByLabel('group results by it').check();
    await col('person_id').getByLabel(/link rows/).check();
    await screenshot(page, 'custodian', '04-policy');
    await page.getByRole('button', { name: 'Sign and publish this policy' }).click();
    await page.getByText(/Your policy was signed in this browser and published/).waitFor();
    const policies = (await apiRequest<SignedPolicy[]>(c.lc.config, 2, '/v1/policies', { signer: signer(F.alice) })).body;
    const mine = policies.filter((p) => p.policy.custodian === 'cpr');
    assert.equal(mine.length, 1);
    const d = mine[0]!.policy.datasets[0]!;
    assert.deepEqual([d.dataset, d.purposes, d.minCellSize], ['population', ['public-health'], 10]);
    assert.deepEqual(d.columns.sex, { roles: ['group'] });
    assert.equal(d.columns.birth_date, 'forbidden');
    assert.equal(mine[0]!.signature!.keyId, keyId(F.cpr.publicKey));
  });

  it("a researcher's study appears pending with each query's use of the custodian's columns", async () => {
    study = signStudy(
      createStudy({
        id: 'pop-by-sex',
        title: 'Residents by sex and region',
        researcher: 'alice',
        purpose: 'public-health',
        datasets: [{ name: 'population', columns: ['sex', 'region', 'birth_date'] }],
        queries: [
          { id: 'by-sex', sql: BY_SEX },
          { id: 'by-region', sql: BY_REGION },
        ],
        validFrom: iso(Date.now() - DAY),
        validUntil: iso(Date.now() + 30 * DAY),
      }),
      signer(F.alice),
    );
    await submitDocument(c.lc.config, 'study', study, signer(F.alice));
    // Not approved yet: the nodes refuse to run it.
    await assert.rejects(runRemoteQuery({ config: c.lc.config, sql: BY_SEX, signer: signer(F.alice), study, queryId: 'by-sex' }), (e: unknown) => e instanceof QueryFailed && /lacks the approval of custodian 'cpr'/.test(e.message));
    await page.getByRole('link', { name: 'Studies to review' }).click();
    await page.getByRole('heading', { name: 'Waiting for your decision (1)' }).waitFor();
    await page.getByRole('button', { name: 'Residents by sex and region' }).click();
    const bySex = page.getByRole('table', { name: 'Your columns query by-sex reads' });
    await bySex.waitFor();
    assert.deepEqual(await bySex.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (x) => x.textContent?.trim()))), [['population', 'sex', 'group results by it', '✓ allowed']]);
    const byRegion = await page.getByRole('table', { name: 'Your columns query by-region reads' }).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (x) => x.textContent?.trim())));
    assert.deepEqual(byRegion.map((r) => r.slice(0, 3)), [['population', 'birth_date', 'compare in WHERE'], ['population', 'region', 'group results by it']]);
    assert.match(byRegion[0]![3]!, /✗ not allowed: .*forbids it/);
    assert.equal(byRegion[1]![3], '✓ allowed');
    await screenshot(page, 'custodian', '05-review');
  });

  it('keyboard only: approves the study with licence terms, signed in the browser; then the study runs', async () => {
    await page.goto(new URL('/custodian', c.url).href);
    await page.getByRole('heading', { name: 'population' }).waitFor();
    await page.keyboard.press('Tab');
    await tabTo(page, async () => (await focused(page)).text === 'Studies to review');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/custodian/studies');
    await page.getByRole('heading', { name: 'Waiting for your decision (1)' }).waitFor();
    await tabTo(page, async () => (await focused(page)).text === 'Residents by sex and region');
    await page.keyboard.press('Enter');
    await page.getByRole('table', { name: 'Your columns query by-sex reads' }).waitFor();
    await tabTo(page, async () => (await focused(page)).placeholder.startsWith('e.g. Licensed'));
    await page.keyboard.type(TERMS);
    await tabTo(page, async () => (await focused(page)).text === 'Sign and approve');
    await page.keyboard.press('Enter');
    await page.getByText(/You approved this version of pop-by-sex with your licence terms/).waitFor();
    // The confirmation stays, and the keyboard lands on it (the study has moved to "Decided").
    await page.getByRole('heading', { name: 'Decided (1)' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent?.startsWith('You approved this version of pop-by-sex'), undefined, { timeout: 5000 });
    await page.getByText(`Licence terms: ${TERMS}`).waitFor();
    await screenshot(page, 'custodian', '06-approved-keyboard');
    // Every node holds the signed approval with the terms.
    const held = (await apiRequest<{ versions: { approvals: { approval: { custodian: string; decision: string; terms?: string } }[] }[] }>(c.lc.config, 1, '/v1/studies/pop-by-sex', { signer: signer(F.alice) })).body;
    assert.deepEqual(held.versions[0]!.approvals.map((a) => [a.approval.custodian, a.approval.decision, a.approval.terms]), [['cpr', 'approve', TERMS]]);
    // The approval lets the study run; over the version uploaded from the browser, the CLI gets the plaintext answer.
    const r = await runRemoteQuery({ config: c.lc.config, sql: BY_SEX, signer: signer(F.alice), study, queryId: 'by-sex' });
    assert.equal(r.versions.population, 'v2');
    assert.deepEqual(new Map(r.rows.map((row) => [String(row[0]), Number(row[1])])), bySexPlain);
    assert.deepEqual(errors, []);
  });

  it('the usage page shows the run with the licence terms and exports it as CSV', async () => {
    await page.getByRole('link', { name: 'Usage and licences' }).click();
    const table = page.getByRole('table', { name: 'Use of your data per study' });
    await table.waitFor();
    const row = (await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (x) => x.textContent?.trim() ?? ''))))[0]!;
    assert.match(row[0]!, /^Residents by sex and region/);
    assert.deepEqual([row[1], row[2]], ['1', String(pop.length)]);
    assert.equal(row[5], TERMS);
    await screenshot(page, 'custodian', '07-usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download as CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trim().split('\r\n');
    assert.equal(lines[0], 'study,title,researcher,purpose,queries_run,rows_touched,datasets,epsilon_spent,study_budget_epsilon,first_use,last_use,approved_at,licence_terms');
    assert.ok(lines[1]!.startsWith(`pop-by-sex,Residents by sex and region,alice,public-health,1,${pop.length},population,0,,`), lines[1]);
    assert.ok(lines[1]!.endsWith(`"${TERMS}"`), lines[1]);
    assert.deepEqual(errors, []);
  });

  it('rejects a study with a signed reason (required); the nodes refuse it and the researcher sees why', async () => {
    const births = signStudy(
      createStudy({
        id: 'births-by-region',
        title: 'Births by region',
        researcher: 'alice',
        purpose: 'public-health',
        datasets: [{ name: 'population', columns: ['region', 'birth_date'] }],
        queries: [{ id: 'by-region', sql: BY_REGION }],
        validFrom: iso(Date.now() - DAY),
        validUntil: iso(Date.now() + 30 * DAY),
      }),
      signer(F.alice),
    );
    await submitDocument(c.lc.config, 'study', births, signer(F.alice));
    await page.getByRole('link', { name: 'Studies to review' }).click();
    await page.getByRole('heading', { name: 'Waiting for your decision (1)' }).waitFor();
    await page.getByRole('button', { name: 'Births by region' }).click();
    await page.getByRole('table', { name: 'Your columns query by-region reads' }).waitFor();
    await page.getByRole('radio', { name: 'Reject' }).check();
    // Without a reason: a clear error, and nothing reaches the nodes.
    const before = relayed.length;
    await page.getByRole('button', { name: 'Sign and reject' }).click();
    await page.getByRole('alert').getByText(/Give a reason for the rejection/).waitFor();
    assert.equal(relayed.slice(before).filter((r) => r.method === 'POST').length, 0, 'no decision was sent');
    await page.getByLabel(/Reason \(required/).fill(REASON);
    await page.getByRole('button', { name: 'Sign and reject' }).click();
    await page.getByText(/You rejected births-by-region, with your reason/).waitFor();
    await page.getByRole('heading', { name: 'Decided (2)' }).waitFor();
    await screenshot(page, 'custodian', '08-rejected');
    for (const p of P) {
      const held = (await apiRequest<{ versions: { approvals: { approval: { custodian: string; decision: string; reason?: string }; signature?: { keyId: string } }[] }[] }>(c.lc.config, p, '/v1/studies/births-by-region', { signer: signer(F.alice) })).body;
      const a = held.versions[0]!.approvals;
      assert.deepEqual(a.map((x) => [x.approval.custodian, x.approval.decision, x.approval.reason, x.signature?.keyId]), [['cpr', 'reject', REASON, keyId(F.cpr.publicKey)]], `node ${p} holds the signed rejection`);
    }
    await assert.rejects(runRemoteQuery({ config: c.lc.config, sql: BY_REGION, signer: signer(F.alice), study: births, queryId: 'by-region' }), (e: unknown) => e instanceof QueryFailed && e.message.includes(`rejected by custodian 'cpr': ${REASON}`));
    // The researcher's page of the study shows the decision and its reason.
    const alice = await newPage(browser);
    await signInWithKey(alice.page, c.url, aliceKey, 'alice');
    await alice.page.goto(new URL('/studies/births-by-region', c.url).href);
    await alice.page.locator('.badge', { hasText: 'rejected by cpr' }).waitFor();
    await alice.page.getByText(REASON).waitFor();
    assert.deepEqual(alice.errors, []);
    await alice.context.close();
    assert.deepEqual(errors, []);
  });

  it('on a phone: the custodian pages fit the screen', async () => {
    const phone = await newPage(browser, { phone: true });
    await signInWithKey(phone.page, c.url, keyFile);
    for (const [path, name] of [['/custodian', '09-phone-datasets'], ['/custodian/policy', '10-phone-policy'], ['/custodian/studies', '11-phone-studies'], ['/custodian/usage', '12-phone-usage']] as const) {
      await phone.page.goto(new URL(path, c.url).href);
      await phone.page.locator('.custodian h2').waitFor();
      await phone.page.waitForLoadState('networkidle');
      await screenshot(phone.page, 'custodian', name);
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390 + 1, `${path} is ${width} px wide on a 390 px screen`);
    }
    assert.deepEqual(phone.errors, []);
    await phone.context.close();
  });

  it('the web relay logged and relayed no private key, no plaintext and no share in the clear', () => {
    const key = cprPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const log = c.relayLog.join('\n');
    assert.ok(c.relayLog.some((l) => /^relay PUT node [012] \/v1\/datasets\/population\/versions\/v2\/sealed → 201/.test(l)));
    for (const l of c.relayLog) assert.match(l, /^relay (GET|POST|PUT) node [012] \/v1\/[\w/.%-]* → \d{3} \(\d+ bytes\)$/);
    assert.ok(!log.includes(key.slice(0, 20)) && !log.includes(key.slice(-20)));
    for (const r of relayed) {
      const text = `${r.url} ${JSON.stringify(r.headers)} ${r.body?.toString('latin1') ?? ''}`;
      assert.ok(!text.includes(key.slice(0, 20)) && !text.includes(key.slice(-20)), `a call to ${r.url} carries the private key`);
      for (const person of rows.slice(0, 20).map((x) => x[0]!)) assert.ok(!text.includes(person), `a call to ${r.url} carries a person id of the CSV`);
    }
    for (const a of answers) for (const person of rows.slice(0, 20).map((x) => x[0]!)) assert.ok(!a.includes(person), 'an answer carries a person id');
  });
});
