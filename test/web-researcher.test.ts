// The web app, as a researcher uses it, in Debian's Chromium against real node daemons: sign in
// with a key file (the key stays in the browser), browse the registers, write a query, run it, read
// the result as a table and a chart. The result equals the CLI's on the same cluster (exact nodes);
// on protected nodes every value carries its margin and the budget goes down. The web server sees
// only signed calls, public metadata and sealed parts: checked on everything it logged and relayed.
// A keyboard-only pass and a phone viewport too; screenshots in dist/test-screenshots/researcher/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { generateRegisters } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { launchBrowser, newPage, screenshot, signInByKeyboard, signInWithKey, webCluster, type WebCluster } from './browser.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-r-'));
const regs = generateRegisters({ citizens: 2000, seed: 31 });
const SQL = 'SELECT region, sex, COUNT(*) AS persons FROM population GROUP BY region, sex';
let browser: Browser;
let exact: WebCluster;
let guarded: WebCluster;

async function load(c: WebCluster): Promise<void> {
  for (const r of [regs.population, regs.contacts]) {
    await uploadDataset({ config: c.lc.config, dataset: { schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns }, version: 'v1', signer: c.ids.custodian });
  }
}

const keyFile = (c: WebCluster, name: string) => join(c.lc.dir, 'identities', `${name}.ed25519.key.pem`);

/** Types the SQL into the editor as text (no completion popups in the way), then runs it. */
async function runSql(page: Page, sql: string): Promise<void> {
  await page.getByRole('link', { name: 'Query' }).click();
  await page.waitForURL('**/query');
  await page.getByRole('button', { name: 'Run' }).waitFor();
  const editor = page.locator('.cm-content');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
  await page.keyboard.press('Escape'); // closes the completion list
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('.result, [role=alert]').first().waitFor({ timeout: 120_000 });
  const alert = page.getByRole('alert');
  if (await alert.count()) throw new Error(`the page says: ${await alert.first().textContent()}`);
}

/** The result table's rows as text cells (values without their margins). */
async function tableRows(page: Page): Promise<string[][]> {
  return page.locator('.result table.grid tbody tr:not(.withheld)').evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (c) => (c.firstChild?.textContent ?? c.textContent ?? '').trim())),
  );
}

before(async () => {
  browser = await launchBrowser();
  exact = await webCluster(join(root, 'exact'), { privacy: { exact: true } });
  guarded = await webCluster(join(root, 'guarded'));
  await load(exact);
  await load(guarded);
});

after(async () => {
  await browser?.close();
  await exact?.close();
  await guarded?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('web app: researcher', () => {
  it('signs in with a key file, browses the registers, runs a query: the table equals the CLI\'s result', async () => {
    const { page, errors, context } = await newPage(browser);
    await page.goto(exact.url);
    await screenshot(page, 'researcher', '01-home');
    await signInWithKey(page, exact.url, keyFile(exact, 'researcher'));
    await page.waitForURL('**/registers');
    await page.getByRole('button', { name: 'population' }).click();
    await page.getByText(/^Code list region \(/).click();
    await page.locator('details[open]').getByLabel('Search codes or labels').fill('Hoved');
    await screenshot(page, 'researcher', '02-registers');
    await runSql(page, SQL);
    await screenshot(page, 'researcher', '03-result');
    const shown = await tableRows(page);
    const cli = await runRemoteQuery({ config: exact.lc.config, sql: SQL, signer: exact.ids.researcher });
    const want = cli.rows.map((r) => r.map((v) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v))));
    assert.deepEqual(shown, want);
    assert.ok(await page.locator('figure.chart svg').count(), 'a chart is drawn');
    // History keeps it in this browser.
    await page.getByRole('link', { name: 'Your results' }).click();
    await page.getByText(/SELECT region, sex/).first().waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('on protected nodes: each value with its margin, the budget going down, MAX refused before anything runs', async () => {
    const { page, errors, context } = await newPage(browser);
    const responses: string[] = [];
    page.on('response', async (r) => {
      if (r.url().includes('/api/nodes/')) responses.push(await r.text().catch(() => ''));
    });
    await signInWithKey(page, guarded.url, keyFile(guarded, 'researcher'));
    await runSql(page, SQL);
    const cells = await page.locator('.result td.num .margin').allTextContents();
    assert.ok(cells.length > 0 && cells.every((t) => /^± \d+/.test(t)), cells.join(' '));
    await page.getByText(/Your privacy budget left: epsilon 0\.9/).waitFor();
    await screenshot(page, 'researcher', '04-protected');
    // A query that cannot be protected is refused by the check, before anything is signed.
    await page.getByRole('link', { name: 'Query' }).click();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('SELECT MAX(birth_date) FROM population');
    await page.getByRole('button', { name: 'Check' }).click();
    await page.getByRole('alert').getByText(/releases one person's exact value/).waitFor();
    await screenshot(page, 'researcher', '05-refused');
    // What crossed the web server: sealed parts and public metadata, never shares or a result.
    const jobBodies = responses.filter((t) => t.includes('"status"'));
    assert.ok(jobBodies.some((t) => t.includes('"sealed"')));
    for (const t of responses) {
      assert.ok(!/"shares"|"salt"|"result"\s*:/.test(t), `a relayed answer holds plaintext result fields: ${t.slice(0, 200)}`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('the web server never sees a private key or a plaintext result', async () => {
    const secrets = ['researcher', 'custodian'].map((n) => readFileSync(keyFile(guarded, n), 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join(''));
    const log = guarded.relayLog.join('\n');
    assert.ok(guarded.relayLog.length > 5, 'the relay logged its calls');
    for (const s of secrets) assert.ok(!log.includes(s.slice(0, 20)));
    // Each relayed line names method, node, path and status only.
    for (const l of guarded.relayLog) assert.match(l, /^relay (GET|POST|PUT) node [012] \/v1\/[\w/.%-]* → \d{3} \(\d+ bytes\)$/);
  });

  it('keyboard only: sign in, go to the query page, run, read the result', async () => {
    const { page, errors, context } = await newPage(browser);
    await signInByKeyboard(page, exact.url, keyFile(exact, 'researcher'));
    await page.waitForURL('**/registers');
    // From the skip link through the navigation to Query.
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    for (let i = 0; i < 20 && (await focused()) !== 'Query'; i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Query');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/query');
    for (let i = 0; i < 30 && (await focused()) !== 'Run'; i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Run');
    await page.keyboard.press('Enter');
    await page.locator('.result').waitFor({ timeout: 120_000 });
    await screenshot(page, 'researcher', '06-keyboard');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('on a phone: the query page and its result fit the screen', async () => {
    const { page, errors, context } = await newPage(browser, { phone: true });
    await signInWithKey(page, exact.url, keyFile(exact, 'researcher'));
    await runSql(page, SQL);
    await screenshot(page, 'researcher', '07-phone');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390 + 1, `the page is ${width} px wide on a 390 px screen`);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
