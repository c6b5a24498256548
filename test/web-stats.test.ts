// The web app's statistics, in Debian's Chromium against real node daemons: a researcher runs a
// logistic regression and Kaplan–Meier curves ad hoc on an un-governed cluster (exact nodes) and
// the numbers downloaded from the page equal the CLI's (runRemoteStat) on the same data; calls the
// nodes would refuse are refused on the page before anything is signed; on a governed cluster
// (protected nodes) the page proposes the call as a study, the study is composed with the
// statistic, approved, and run from its page, with each estimate's noise margin, and agrees with
// the CLI's run of the same study within the stated error. The relay never sees a key, a share or
// a released number. A keyboard-only pass and a phone-sized pass; screenshots in
// dist/test-screenshots/stats/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { generateRegisters } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { runRemoteStat } from '../src/cli/stats.js';
import { approveStudy, parseSignedStudy } from '../src/governance/study.js';
import { POLICY_FORMAT, signPolicy, type CustodianPolicy } from '../src/governance/policy.js';
import { publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import { apiRequest } from '../src/node/api.js';
import type { StatRequest, StatResult } from '../src/stats/shapes.js';
import { fixture, signer, type Party } from './governance-fixture.js';
import { EXAMPLE_SQL } from './stats-fixture.js';
import { launchBrowser, newPage, screenshot, signInByKeyboard, signInWithKey, tabTo, webCluster, type WebCluster } from './browser.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-stats-'));
const regs = generateRegisters({ citizens: 2000, seed: 23 });
const F = fixture();
let browser: Browser;
let exact: WebCluster;
let governed: WebCluster;

const LOGIT = { fn: 'glm', data: EXAMPLE_SQL, formula: 't2d ~ age + sex + factor(q)', family: 'binomial' } as const satisfies StatRequest;
const KM = { fn: 'survfit', data: EXAMPLE_SQL, formula: 'Surv(days, died) ~ t2d', bin: 30 } as const satisfies StatRequest;
/** The governed study's analysis table: population and contacts, the registers of the fixture's custodians. */
const GOV_SQL = "SELECT EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') AS t2d, age_band(p.birth_date, '2024-12-31') AS ab, p.sex FROM population p";
const GOV_FORMULA = 't2d ~ sex + ab';

/** Policies that let statistics model the columns the governed study reads. */
function modelPolicies() {
  const cpr: CustodianPolicy = {
    format: POLICY_FORMAT, custodian: 'cpr', issuedAt: '2024-01-01T00:00:00Z',
    datasets: [{ dataset: 'population', purposes: ['public-health'], minCellSize: 5, columns: { person_id: { roles: ['join-key'] }, sex: { roles: ['group', 'filter', 'model'] }, birth_date: { roles: ['filter', 'group', 'model'] }, region: { roles: ['group'] }, municipality: 'forbidden' }, dp: { maxEpsilon: 5 } }],
  };
  const sds: CustodianPolicy = {
    format: POLICY_FORMAT, custodian: 'sundhedsdatastyrelsen', issuedAt: '2024-01-01T00:00:00Z',
    datasets: [{ dataset: 'contacts', purposes: ['public-health'], minCellSize: 5, columns: { person_id: { roles: ['join-key'] }, diagnosis: { roles: ['filter', 'model'] }, hospital: 'forbidden' }, dp: { maxEpsilon: 5 } }],
  };
  return [signPolicy(cpr, F.consortium, signer(F.cpr)), signPolicy(sds, F.consortium, signer(F.sds))];
}

function keyFileOf(p: Party): string {
  const f = join(root, `${p.name}.ed25519.key.pem`);
  writeFileSync(f, p.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  return f;
}
const clusterKey = (c: WebCluster, name: string) => join(c.lc.dir, 'identities', `${name}.ed25519.key.pem`);

before(async () => {
  browser = await launchBrowser();
  exact = await webCluster(join(root, 'exact'), { privacy: { exact: true } });
  for (const r of regs.all) await uploadDataset({ config: exact.lc.config, dataset: { schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns }, version: 'v1', signer: exact.ids.custodian });
  const consortium = join(root, 'consortium.json');
  writeFileSync(consortium, JSON.stringify(F.config, null, 2));
  governed = await webCluster(join(root, 'governed'), { consortium, privacy: { researcherEpsilon: 5 } });
  await uploadDataset({ config: governed.lc.config, dataset: { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns }, version: 'v1', signer: signer(F.cpr) });
  await uploadDataset({ config: governed.lc.config, dataset: { schema: regs.contacts.schema, codeLists: regs.codeLists, rows: regs.contacts.length, columns: regs.contacts.columns }, version: 'v1', signer: signer(F.sds) });
  for (const p of modelPolicies()) await submitDocument(governed.lc.config, 'policy', p, signer(p.policy.custodian === 'cpr' ? F.cpr : F.sds));
  await publishConsent({ config: governed.lc.config, consortium: F.consortium, events: [], changes: [], signer: signer(F.consentCustodian), version: 'consent-v1' });
});

after(async () => {
  await browser?.close();
  await exact?.close();
  await governed?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh page that waits as long as the nodes compute (no wall-clock limit; MOSAIK_DEBUG_WAIT_MS sets one to debug a hang). */
async function openPage(o: { phone?: boolean } = {}) {
  const p = await newPage(browser, o);
  p.context.setDefaultTimeout(Number(process.env.MOSAIK_DEBUG_WAIT_MS ?? 0));
  return p;
}

/** Waits for `what`, or fails with the page's problem if it shows one instead. */
async function settle(page: Page, what: Locator): Promise<void> {
  await what.or(page.getByRole('alert')).first().waitFor().catch(async (e: unknown) => {
    await screenshot(page, 'stats', 'failed');
    throw e;
  });
  const alert = page.getByRole('alert');
  if (await alert.count()) throw new Error(`the page says: ${await alert.first().textContent()}`);
}

/**
 * Waits for the page's refusal of a call and checks its words. If the page shows anything else
 * instead (a check passed, a run started, a result), fails at once with what it shows, rather
 * than waiting for an alert that will not come.
 */
async function refused(page: Page, words: RegExp): Promise<void> {
  const answer = page.locator('section.stats').locator('.problem, .checked, .progress, .stat-result').first();
  await answer.waitFor();
  const shown = (await answer.textContent()) ?? '';
  if (!(await answer.evaluate((e) => e.classList.contains('problem'))) || !words.test(shown)) {
    await screenshot(page, 'stats', 'failed');
    assert.fail(`expected the page to refuse with ${words}; it shows: ${shown}`);
  }
}

/** The researcher of an un-governed cluster on the Statistics page. */
async function statsPage(c: WebCluster) {
  const p = await openPage();
  await signInWithKey(p.page, c.url, clusterKey(c, 'researcher'));
  await p.page.goto(new URL('/stats', c.url).href);
  return p;
}

/** Replaces the analysis table's SQL in the (first) editor. */
async function typeSql(page: Page, sql: string): Promise<void> {
  await page.locator('.cm-content').first().click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
  await page.keyboard.press('Escape'); // closes the completion list
}

async function setFields(page: Page, r: StatRequest): Promise<void> {
  await page.getByLabel('Function').selectOption(r.fn);
  await typeSql(page, r.data);
  const surv = /^Surv\((\w+), (\w+)\) ~ (\w+)$/.exec(r.formula);
  if (r.fn === 'survfit' && surv) {
    await page.getByLabel(/^Time \(/).fill(surv[1]!);
    await page.getByLabel(/^Event/).fill(surv[2]!);
    await page.getByLabel(/^Group/).fill(surv[3]!);
  } else await page.getByLabel(/^Formula/).fill(r.formula);
  if (r.family) await page.getByLabel('Family').selectOption(r.family);
  if (r.bin) await page.getByLabel(/^Time interval/).fill(String(r.bin));
}

/** Runs the call on the page and waits for its result (or the page's problem). */
async function runOnPage(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await settle(page, page.locator('.stat-result'));
  return page.locator('.stat-result').first();
}

/** Clicks a download button and returns the file's text. */
async function downloaded(page: Page, button: Locator): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), button.click()]);
  return readFileSync((await dl.path())!, 'utf8');
}

/** The CSV as rows of cells (no cell of these results holds a comma or a quote). */
const csvRows = (text: string) => text.trim().split(/\r?\n/).map((l) => l.split(','));

const close = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: page ${got}, CLI ${want}`);

describe('web app: statistics on an un-governed cluster', () => {
  it('a logistic regression run from the page equals the CLI\'s, shown as summary() prints it; nothing readable crosses the relay', async () => {
    const { page, errors, context } = await openPage();
    const traffic: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/')) traffic.push(r.postData() ?? '');
    });
    page.on('response', async (r) => {
      if (r.url().includes('/api/nodes/')) traffic.push(await r.text().catch(() => ''));
    });
    await signInWithKey(page, exact.url, clusterKey(exact, 'researcher'));
    await page.getByRole('link', { name: 'Statistics' }).click();
    await page.waitForURL('**/stats');
    await setFields(page, LOGIT);
    // The table's columns, planned here from the public schemas, as R's str() lists them.
    await page.getByRole('button', { name: 'Add age to the formula' }).waitFor();
    await page.getByRole('button', { name: 'Check' }).click();
    await settle(page, page.getByText(/The nodes can run this\. Logistic regression with 7 parameters/));
    await screenshot(page, 'stats', '01-checked');
    const view = await runOnPage(page);
    await screenshot(page, 'stats', '02-logistic');
    // R's summary(): Estimate, Std. Error, z value, Pr(>|z|), stars; the odds ratios with their CIs.
    const head = await view.locator('table.coefficients thead th').allTextContents();
    assert.deepEqual(head.slice(0, 5), ['Term', 'Estimate', 'Std. Error', 'z value', 'Pr(>|z|)']);
    assert.ok(head.includes('Odds ratio'));
    assert.deepEqual(await view.locator('table.coefficients tbody th').allTextContents(), ['(Intercept)', 'age', 'sexM', 'factor(q)2', 'factor(q)3', 'factor(q)4', 'factor(q)5']);
    await view.locator('figure.stat-plot svg').waitFor();
    const csv = csvRows(await downloaded(page, view.getByRole('button', { name: 'Download as CSV' })));
    const json = JSON.parse(await downloaded(page, view.getByRole('button', { name: 'Download as JSON' }))) as { result: StatResult; protection: { kind: string } };
    const svg = await downloaded(page, view.getByRole('button', { name: 'Download the plot as SVG' }));
    assert.match(svg, /^<svg[\s\S]*odds ratio \(95 % CI\)/);
    assert.equal(json.protection.kind, 'none');

    const cli = await runRemoteStat({ config: exact.lc.config, signer: exact.ids.researcher, request: LOGIT });
    assert.deepEqual(csv[0], ['term', 'estimate', 'std.error', 'statistic', 'p.value', 'conf.low', 'conf.high']);
    const coefs = cli.result.series!.coefficients!;
    assert.equal(csv.length - 1, coefs.length);
    coefs.forEach((c, i) => {
      const row = csv[i + 1]!;
      assert.equal(row[0], c.name);
      // The fit's fixed point rounds randomly inside MPC: two runs agree to ~1e-6 (README: 1e-3 of R's).
      close(Number(row[1]), c.estimate, 1e-4, `${c.name} estimate`);
      close(Number(row[2]), c.se, 1e-4, `${c.name} SE`);
      close(Number(row[4]), c.p, 1e-4, `${c.name} p`);
    });
    for (const k of ['deviance', 'N', 'events']) close(json.result.values[k]!, cli.result.values[k]!, 1e-4, k);
    // What the page shows is what it downloads: the estimate of age to R's 4 digits.
    const age = coefs.find((c) => c.name === 'age')!;
    const shownAge = (await view.locator('table.coefficients tbody tr', { hasText: 'age' }).locator('td').first().textContent())!.trim();
    close(Number(shownAge), age.estimate, 2e-3, 'age as shown');

    // The relay saw signed calls, public metadata and sealed parts: no share, no salt, no estimate.
    assert.ok(traffic.some((t) => t.includes('"sealed"')));
    const secret = readFileSync(clusterKey(exact, 'researcher'), 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    for (const t of traffic) {
      assert.ok(!/"shares"|"salt"|"values"|"coefficients"/.test(t), `a relayed message holds result fields: ${t.slice(0, 200)}`);
      for (const c of coefs) assert.ok(!t.includes(String(c.estimate).slice(0, 10)), `a relayed message holds the estimate of ${c.name}`);
    }
    const log = exact.relayLog.join('\n');
    assert.ok(!log.includes(secret.slice(0, 20)));
    for (const l of exact.relayLog) assert.match(l, /^relay (GET|POST|PUT) node [012] \/v1\/[\w/.%-]* → \d{3} \(\d+ bytes\)$/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('Kaplan–Meier curves with the numbers at risk and the log-rank test: the curves equal the CLI\'s', async () => {
    const { page, errors, context } = await statsPage(exact);
    await setFields(page, KM);
    const view = await runOnPage(page);
    await view.locator('figure.stat-plot svg').waitFor();
    await view.getByRole('heading', { name: 'Log-rank test' }).waitFor();
    await screenshot(page, 'stats', '03-kaplan-meier');
    const svg = await downloaded(page, view.getByRole('button', { name: 'Download the plot as SVG' }));
    assert.match(svg, /survival probability[\s\S]*Number at risk/);
    const csv = csvRows(await downloaded(page, view.getByRole('button', { name: 'Download as CSV' })));
    const cli = await runRemoteStat({ config: exact.lc.config, signer: exact.ids.researcher, request: KM });
    // Integer life tables: the same counts exactly, the same probabilities (Chromium's Math.exp may differ from Node's in the last bit).
    const want = cli.result.series!.curves!.flatMap((c) => c.points.map((p) => [c.label, p.time, p.nRisk, p.nEvent, p.surv, p.lower, p.upper]));
    assert.equal(csv.length - 1, want.length);
    want.forEach((w, i) => {
      const row = csv[i + 1]!;
      assert.deepEqual(row.slice(0, 4), w.slice(0, 4).map(String));
      w.slice(4).forEach((v, k) => close(Number(row[4 + k]), v as number, 1e-12, `${w[0]} at ${w[1]}`));
    });
    assert.equal(cli.result.series!.curves!.length, 2);
    // The numbers at risk under the plot, also as a table.
    await view.getByText('Numbers at risk as a table').click();
    const atRisk = await view.locator('details[open] table tbody tr').first().locator('td').first().textContent();
    assert.equal(Number(atRisk), cli.result.series!.curves![0]!.points[0]!.nRisk);
    // Kept in this browser with the researcher's other results.
    await page.getByRole('link', { name: 'Your results' }).click();
    await page.getByRole('button', { name: /survfit\(Surv\(days, died\) ~ t2d\)/ }).first().waitFor();
    await page.locator('.history .stat-result figure.stat-plot svg').first().waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('calls the nodes would refuse are refused on the page, clearly, and nothing is signed', async () => {
    const { page, errors, context } = await statsPage(exact);
    const submitted = () => exact.relayLog.filter((l) => l.startsWith('relay POST node 0 /v1/queries')).length;
    const before = submitted();
    await setFields(page, { ...LOGIT, formula: 't2d ~ age + nosuch' });
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await refused(page, /no column 'nosuch' in the analysis table \(columns: t2d, age, sex, region, q, days, died\)/);
    await screenshot(page, 'stats', '04-refused-column');
    await page.getByLabel(/^Formula/).fill('t2d ~ age * sex');
    await page.getByRole('button', { name: 'Check' }).click();
    await refused(page, /interactions .* are not supported; add the product as a column/);
    // Too many covariate patterns for a fit inside MPC: 100 ages × 730 days × 2 sexes.
    await page.getByLabel(/^Formula/).fill('t2d ~ age + days + sex');
    await page.getByRole('button', { name: 'Check' }).click();
    await refused(page, /146000 cells; at most 65536 \(use coarser covariates/);
    await typeSql(page, 'SELECT p.sex, COUNT(*) AS n FROM population p GROUP BY p.sex');
    await page.getByRole('button', { name: 'Check' }).click();
    await refused(page, /no GROUP BY or HAVING/);
    assert.equal(submitted(), before, 'nothing was submitted');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('keyboard only: sign in, to the Statistics page, choose Kaplan–Meier, run, read the result', async () => {
    const { page, errors, context } = await openPage();
    await signInByKeyboard(page, exact.url, clusterKey(exact, 'researcher'));
    await page.getByRole('link', { name: 'Statistics' }).waitFor();
    await tabTo(page, 'Statistics');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/stats');
    await tabTo(page, 'stat-fn');
    await page.keyboard.press('ArrowDown'); // glm → coxph
    await page.keyboard.press('ArrowDown'); // → survfit
    assert.equal(await page.getByLabel('Function').inputValue(), 'survfit');
    await tabTo(page, 'Run');
    await page.keyboard.press('Enter');
    await page.locator('.stat-result figure.stat-plot svg').waitFor();
    await screenshot(page, 'stats', '05-keyboard');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('web app: statistics on a governed cluster', () => {
  it('the page proposes the call as a study; composed with the statistic, approved, run from its page with noise margins; agrees with the CLI', async () => {
    const { page, errors, context } = await openPage({ phone: true });
    await signInWithKey(page, governed.url, keyFileOf(F.alice), 'alice');
    await page.goto(new URL('/stats', governed.url).href);
    await page.getByText(/governed by consortium/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Run', exact: true }).count(), 0, 'no ad-hoc run on a governed cluster');
    await setFields(page, { fn: 'glm', data: GOV_SQL, formula: GOV_FORMULA, family: 'binomial' });
    await page.getByRole('button', { name: 'Check' }).click();
    await settle(page, page.getByText(/The nodes can run this\. Logistic regression with 3 parameters/));
    await screenshot(page, 'stats', '06-governed-check');
    await page.getByRole('button', { name: 'Propose as a study' }).click();
    await page.waitForURL('**/studies/new');
    // The study's first query is the statistic, its fields carried over.
    assert.equal(await page.getByLabel(/^Formula/).inputValue(), GOV_FORMULA);
    await page.getByLabel('Title').fill('Type-2 diabetes by sex and age');
    await page.getByLabel('Purpose', { exact: true }).selectOption('public-health');
    // Epsilon 2 per run: at 1, this small table's fit (2 000 persons, ≈ 100 events) separated in the
    // noise once in ≈ 900 runs (a CI run, and a loop of the CLI's), and then no estimate is reported.
    await page.getByLabel('Epsilon per run').fill('2');
    await page.getByLabel('Privacy budget (total epsilon)').fill('4');
    await page.getByRole('button', { name: 'Check the queries' }).click();
    await page.getByText(/which the study does not list/).first().waitFor();
    await page.getByRole('button', { name: 'Declare what the queries read' }).click();
    await page.getByText('✓ The query plans against the registers').waitFor();
    await page.getByText('models').first().waitFor();
    await screenshot(page, 'stats', '07-study-with-statistic');
    await page.getByRole('button', { name: 'Sign and submit' }).click();
    await settle(page, page.getByRole('heading', { name: 'Type-2 diabetes by sex and age' }));
    await page.locator('.badge', { hasText: 'waiting for' }).waitFor();
    const r = await apiRequest<{ versions: { document: unknown }[] }>(governed.lc.config, 0, '/v1/studies/type-2-diabetes-by-sex-and-age', { signer: signer(F.alice) });
    const study = parseSignedStudy(r.body.versions.at(-1)!.document);
    const q = study.study.queries[0]!;
    assert.deepEqual(JSON.parse(q.statistic!), { fn: 'glm', data: GOV_SQL, formula: GOV_FORMULA, family: 'binomial' });
    assert.deepEqual(study.study.datasets.map((d) => `${d.name}: ${[...d.columns].sort().join(', ')}`).sort(), ['contacts: diagnosis, person_id', 'population: birth_date, person_id, sex']);

    for (const c of [F.cpr, F.sds]) await submitDocument(governed.lc.config, 'approval', approveStudy(study, F.consortium, signer(c), { reason: 'fits the purpose' }), signer(c));
    await page.reload();
    await page.locator('.badge', { hasText: 'approved by' }).waitFor();
    await page.getByRole('button', { name: 'Run q1' }).click();
    await settle(page, page.locator('.stat-result'));
    const view = page.locator('.stat-result');
    const margins = await view.locator('table.coefficients td .margin').allTextContents();
    assert.ok(margins.some((t) => /^± \d/.test(t)), `noise margins shown: ${margins.join(' | ')}; the page: ${await view.innerText()}`);
    await view.getByText(/differential privacy at epsilon 2/).waitFor();
    await screenshot(page, 'stats', '08-governed-run-phone');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 391, `the page is ${width} px wide on a 390 px screen`);
    const csv = csvRows(await downloaded(page, view.getByRole('button', { name: 'Download as CSV' })));
    assert.equal(csv[0]!.at(-1), '95 % noise margin');

    // The CLI's run of the same study: independent noise, so the two agree within the stated error.
    const cli = await runRemoteStat({ config: governed.lc.config, signer: signer(F.alice), study, queryId: 'q1' });
    assert.equal(cli.protection.kind, 'dp');
    for (const c of cli.result.series!.coefficients!) {
      const row = csv.find((x) => x[0] === c.name)!;
      const [page_, half] = [Number(row[1]), Number(row.at(-1))];
      const cliHalf = cli.result.errors![`coef:${c.name}`]!.half95;
      if (!Number.isFinite(page_) || !Number.isFinite(c.estimate)) continue; // withheld (noted) in one run
      // 10 sd each (README: the stated error), plus the fixed point's.
      assert.ok(Math.abs(page_ - c.estimate) <= (10 / 1.96) * (half + cliHalf) + 1e-3, `${c.name}: page ${page_} ± ${half}, CLI ${c.estimate} ± ${cliHalf}`);
    }
    assert.ok(!governed.relayLog.join('\n').includes(String(cli.result.series!.coefficients![1]!.estimate).slice(0, 10)));
    assert.deepEqual(errors, []);
    await context.close();
  });
});

// The statistics' browser code is the CLI's: src/stats/statistic.ts and what it imports use nothing of Node.
describe('browser-safe statistics', () => {
  it('statistic.ts, plot-spec.ts, plot-svg.ts and assemble.ts import no node: module and no MPC code', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(src, file), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        assert.ok(!spec.startsWith('node:'), `${file} imports ${spec}`);
        if (spec.startsWith('.')) walk(join(dirname(file), spec).replace(/\.js$/, '.ts'));
      }
    };
    for (const f of ['stats/statistic.ts', 'stats/plot-spec.ts', 'stats/plot-svg.ts', 'query/assemble.ts']) walk(f);
    const mpc = [...seen].filter((f) => /^(mpc|ring|net)\//.test(f));
    assert.deepEqual(mpc, [], 'the browser side of statistics reaches MPC code');
  });
});
