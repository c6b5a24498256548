// The web app as a citizen (on a phone-sized screen) and as a doctor use it, in Debian's Chromium
// against three real node daemons of a governed cluster (exact results, so that a study's cells can
// be compared with the plaintext). The citizen signs in with the key file the consent custodian
// issued and their person number; withdraws consent for public-health research (sealed in the
// browser to the consent custodian, who publishes it): the next run of a study leaves them out
// exactly as the plaintext rule says, and the page finds the change in the log; sees the studies
// and whether their consent covers them; grants a doctor access; answers the weekly questionnaire
// (split and sealed per node in the browser). The doctor signs in, reads the patient's record under
// the grant and sees it as a timeline (contacts with diagnoses, prescriptions, the questionnaire).
// The citizen then sees the read in "Who read my record". What the web relay carried holds no
// answer, no person number and no key. Screenshots in dist/test-screenshots/citizen/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { decodeValue } from '../src/ingest/schema.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { consentDecision, unixSeconds, type ConsentEvent } from '../src/governance/consent.js';
import { approveStudy, signStudy, type SignedStudy } from '../src/governance/study.js';
import { PRO_DATASET } from '../src/governance/patient-reported.js';
import { apiRequest } from '../src/node/http.js';
import { processConsentInbox, publishInboxKey, registerCitizen } from '../src/cli/citizen.js';
import { publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { launchBrowser, newPage, screenshot, signInWithKey, webCluster, type WebCluster } from './browser.js';
import { fixture, POP_SQL, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-cit-'));
const F = fixture();
const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();
const regs = generateRegisters({ citizens: 300, seed: 17 });
const pop = regs.population;
const pid = (r: Register) => r.columns.get('person_id')!;
const rowsOf = (r: Register, p: bigint) => pid(r).filter((x) => x === p).length;
const PERSON = Array.from(pid(pop)).reduce((best, p) => (rowsOf(regs.contacts, p) + rowsOf(regs.prescriptions, p) > rowsOf(regs.contacts, best) + rowsOf(regs.prescriptions, best) ? p : best));
const PERSON_TEXT = String(PERSON).padStart(10, '0');
const custodian = signer(F.consentCustodian);
const table = join(root, 'citizen-keys.csv');
const register = join(root, 'consent.csv');
const inboxKeyFile = join(root, 'inbox.key.pem');
const doctorKey = join(root, 'dr-hansen.ed25519.key.pem');
let citizenKey = '';
let browser: Browser;
let c: WebCluster;
let study: SignedStudy;
let phone: { context: BrowserContext; page: Page; errors: string[] };
const relayed: { method: string; url: string; body: Buffer | null; headers: Record<string, string> }[] = [];

before(async () => {
  const consortium = join(root, 'consortium.json');
  writeFileSync(consortium, JSON.stringify(F.config));
  writeFileSync(doctorKey, F.doctor.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  browser = await launchBrowser();
  c = await webCluster(join(root, 'c'), { consortium, privacy: { exact: true } });
  for (const reg of [regs.population, regs.contacts, regs.prescriptions]) {
    await uploadDataset({ config: c.lc.config, dataset: { schema: reg.schema, codeLists: regs.codeLists, rows: reg.length, columns: reg.columns }, version: 'v1', signer: signer(reg.schema.custodian === 'cpr' ? F.cpr : F.sds) });
  }
  await publishConsent({ config: c.lc.config, consortium: F.consortium, events: [], changes: [], signer: custodian, version: 'consent-v0' });
  writeFileSync(register, 'person_id,purpose,granted,time,until\n');
  citizenKey = (await registerCitizen({ config: c.lc.config, consortium: F.consortium, signer: custodian, person: Number(PERSON), outDir: join(root, 'wallet'), table })).keyPath!;
  await publishInboxKey({ config: c.lc.config, signer: custodian, out: inboxKeyFile });
  await submitDocument(c.lc.config, 'policy', F.policies.find((p) => p.policy.custodian === 'cpr')!, signer(F.cpr));
  study = signStudy(F.study({ id: 'residents', title: 'Residents by region and sex', datasets: [{ name: 'population', columns: ['region', 'sex'] }], queries: [{ id: 'population', sql: POP_SQL }], validFrom: iso(Date.now() - DAY), validUntil: iso(Date.now() + DAY), createdAt: iso(Date.now() - DAY) }), signer(F.alice));
  await submitDocument(c.lc.config, 'study', study, signer(F.alice));
  await submitDocument(c.lc.config, 'approval', approveStudy(study, F.consortium, signer(F.cpr)), signer(F.cpr));
  phone = await newPage(browser, { phone: true });
  phone.page.on('request', (r) => {
    if (r.url().includes('/api/nodes/')) relayed.push({ method: r.method(), url: r.url(), body: r.postDataBuffer(), headers: r.headers() });
  });
});

after(async () => {
  await phone?.context.close();
  await browser?.close();
  await c?.close();
  rmSync(root, { recursive: true, force: true });
});

/** POP_SQL's cells over the residents usable for public-health research at T, as the nodes show them (cells under 10 suppressed). */
function reference(events: ConsentEvent[], T: number): Map<string, number> {
  const spec = (col: string) => pop.schema.columns.find((s) => s.name === col)!;
  const out = new Map<string, number>();
  pid(pop).forEach((id, i) => {
    if (!consentDecision(events, Number(id), 'public-health', T, 'opt-out').usable) return;
    const k = `${decodeValue(spec('region'), pop.columns.get('region')![i]!, regs.codeLists)}|${decodeValue(spec('sex'), pop.columns.get('sex')![i]!, regs.codeLists)}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  });
  return new Map([...out].filter(([, n]) => n >= 10));
}

async function run(): Promise<{ cells: Map<string, number>; T: number }> {
  const r = await runRemoteQuery({ config: c.lc.config, sql: POP_SQL, signer: signer(F.alice), study, queryId: 'population' });
  const job = (await apiRequest<{ submittedAt: string }>(c.lc.config, 0, `/v1/jobs/${r.job}`, { signer: signer(F.alice) })).body;
  return { cells: new Map(r.rows.map((row) => [`${row[0]}|${row[1]}`, Number(row[2])])), T: unixSeconds(job.submittedAt) };
}

describe('web app: a citizen on a phone, and their doctor', () => {
  it('the citizen signs in with their key file and person number', async () => {
    const { page } = phone;
    await page.goto(new URL('/citizen/signin', c.url).href);
    await page.getByLabel('Your key file').setInputFiles(citizenKey);
    await page.getByLabel('Your person number (CPR)').fill(PERSON_TEXT);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL('**/citizen');
    await page.getByRole('heading', { name: 'Your health data' }).waitFor();
    await page.getByRole('button', { name: 'Withdraw my consent for public-health research' }).waitFor();
    await screenshot(page, 'citizen', '01-consent');
    // A phone-sized page: nothing wider than the screen.
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'no horizontal scrolling at 390 px');
  });

  it('withdraws consent in the browser; once published, the next run leaves them out exactly as the plaintext rule says', async () => {
    const { page } = phone;
    const before = await run();
    assert.deepEqual(before.cells, reference([], before.T));
    // Opt-out purpose: allowed by default, so the button withdraws.
    await page.getByRole('button', { name: 'Withdraw my consent for public-health research' }).click();
    await page.getByText(/sealed for the consent register and sent/).waitFor();
    await page.getByText(/waiting for the consent register to publish it/).first().waitFor();
    // The consent custodian opens its inbox and publishes the next register version.
    const r = await processConsentInbox({ config: c.lc.config, consortium: F.consortium, signer: custodian, inboxKeyPem: readFileSync(inboxKeyFile, 'utf8'), table, register, version: 'consent-v1' });
    assert.equal(r.changes.length, 1);
    const after = await run();
    const want = reference([{ person: Number(PERSON), purpose: 'public-health', granted: false, time: r.changes[0]!.time }], after.T);
    assert.deepEqual(after.cells, want, 'exactly the plaintext rule');
    assert.equal([...want].filter(([k, n]) => before.cells.get(k) !== n).length, 1, 'one cell lost the citizen');
    await page.reload();
    await page.getByText(/In force: published in the consent register \(log entry \d+\)/).waitFor();
    await page.getByRole('button', { name: 'Give my consent for public-health research' }).waitFor();
    await screenshot(page, 'citizen', '02-consent-published');
  });

  it('sees the studies, whether their consent covers them, and that they ran', async () => {
    const { page } = phone;
    await page.getByRole('link', { name: 'Studies', exact: true }).click();
    const card = page.locator('li.study').filter({ hasText: 'Residents by region and sex' });
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /Your consent does not cover it/);
    assert.match((await card.textContent()) ?? '', /Run 2 times/);
    await screenshot(page, 'citizen', '03-studies');
  });

  it('grants a doctor access and answers the weekly questionnaire (split and sealed here)', async () => {
    const { page } = phone;
    await page.getByRole('link', { name: 'Doctors', exact: true }).click();
    await page.getByLabel('Doctor').selectOption('dr-hansen');
    await page.getByRole('button', { name: 'Sign and give access' }).click();
    await page.getByText(/dr-hansen may read your record until/).waitFor();
    await page.getByText('active', { exact: true }).waitFor();
    await screenshot(page, 'citizen', '04-doctors');
    await page.getByRole('link', { name: 'Questionnaire', exact: true }).click();
    await page.getByRole('button', { name: 'Send my answers' }).click();
    await page.getByText(/Please check/).waitFor(); // nothing chosen yet: checked here, nothing sent
    for (const [dim, text] of [['Mobility', 'I have slight problems in walking about'], ['Self-care', 'I have no problems washing or dressing myself'], ['Usual activities', 'I have moderate problems doing my usual activities'], ['Pain / discomfort', 'I have severe pain or discomfort'], ['Anxiety / depression', 'I am slightly anxious or depressed']] as const) {
      await page.getByRole('group', { name: dim }).getByLabel(text).check();
    }
    await page.getByLabel(/Your health today/).fill('73');
    await page.getByLabel('Date').fill('2025-03-03');
    const sentBefore = relayed.length;
    await page.getByRole('button', { name: 'Send my answers' }).click();
    await page.getByText(/your answers were added to the patient-reported register/).waitFor({ timeout: 60_000 });
    await screenshot(page, 'citizen', '05-questionnaire');
    for (const p of [0, 1, 2] as const) assert.equal((await apiRequest<{ rows: number }>(c.lc.config, p, `/v1/datasets/${PRO_DATASET}`)).body.rows, 1);
    // What the relay carried: sealed parts, no answer, no person number.
    const posts = relayed.slice(sentBefore).filter((r) => r.method === 'POST');
    assert.ok(posts.some((r) => r.url.endsWith('/v1/pro/submissions')));
    const u64s = (xs: number[]) => Buffer.concat(xs.map((x) => Buffer.from(new BigUint64Array([BigInt(x)]).buffer)));
    for (const r of relayed) {
      const body = r.body ?? Buffer.alloc(0);
      for (const needle of [Buffer.from(PERSON_TEXT), Buffer.from(String(PERSON)), u64s([Number(PERSON)]), u64s([2, 1, 3, 4, 2, 73]), Buffer.from('"vas"'), Buffer.from('public-health'), Buffer.from('PRIVATE KEY')]) {
        assert.equal(body.indexOf(needle), -1, `${r.method} ${r.url} carries ${needle.toString('latin1').slice(0, 20)}`);
      }
      assert.ok(!r.url.includes(PERSON_TEXT) && !r.url.includes(String(PERSON)));
    }
    assert.ok(!c.relayLog.join('\n').includes(String(PERSON)));
  });

  it('the doctor reads the record under the grant and sees it as a timeline', async () => {
    const doc = await newPage(browser);
    await signInWithKey(doc.page, c.url, doctorKey);
    await doc.page.waitForURL('**/doctor');
    await doc.page.getByText(/until .* · active/).waitFor();
    await doc.page.getByLabel("The patient's person number").fill(PERSON_TEXT);
    await doc.page.getByRole('button', { name: 'Read the record' }).click();
    const timeline = doc.page.getByRole('list', { name: 'Timeline, newest first' });
    await timeline.waitFor({ timeout: 60_000 });
    const text = (await timeline.textContent()) ?? '';
    assert.match(text, /Hospital contact.*diagnosis: [A-Z]\d\d/s);
    assert.match(text, /Prescription dispensed.*atc: [A-Z]\d\d/s);
    assert.match(text, /Patient-reported.*instrument: EQ-5D-5L.*mobility: 2.*vas: 73/s);
    const contacts = rowsOf(regs.contacts, PERSON), rx = rowsOf(regs.prescriptions, PERSON);
    assert.equal(await timeline.locator('li.ev-contacts').count(), contacts);
    assert.equal(await timeline.locator('li.ev-prescriptions').count(), rx);
    await screenshot(doc.page, 'citizen', '06-doctor-record');
    assert.deepEqual(doc.errors, []);
    await doc.context.close();
  });

  it('the citizen sees the read in "Who read my record"', async () => {
    const { page, errors } = phone;
    await page.getByRole('link', { name: 'Who read my record' }).click();
    const rows = page.getByRole('table', { name: /Reads of your record/ }).locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? '', /dr-hansen/);
    await screenshot(page, 'citizen', '07-accesses');
    assert.deepEqual(errors, []);
  });
});
