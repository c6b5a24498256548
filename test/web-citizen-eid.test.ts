// The citizen's e-ID login in the browser (issue 15), on a phone-sized page in Debian's Chromium
// against three real node daemons: "Sign in with e-ID" makes the key in the browser, goes to the
// demo's stand-in broker (oidc-provider: src/demo/eid-broker.ts), logs in with a CPR number, comes
// back, exchanges the code (PKCE), and the consent custodian's enrolment service (served by the web
// app: src/cli/citizen-enrolment.ts) registers the key; the citizen lands in the portal and
// withdraws a consent. Refused: an unknown CPR number at the broker, an answer whose state this
// browser did not make, a token sent with another key (its nonce binds it to the first), a token
// for another client, a malformed token; nothing is registered then. A second device adds a key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateKeyPairSync } from 'node:crypto';
import { publishConsent } from '../src/cli/governance-remote.js';
import { publishInboxKey } from '../src/cli/citizen.js';
import { citizenEnrolment, type CitizenEnrolment } from '../src/cli/citizen-enrolment.js';
import { readCitizenKeys } from '../src/governance/citizens.js';
import { startStandInBroker, type StandInBroker } from '../src/demo/eid-broker.js';
import { launchBrowser, newPage, screenshot, webCluster, type WebCluster } from './browser.js';
import { fixture, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-eid-'));
const F = fixture();
const PERSON = 1504851234;
const PERSON_TEXT = String(PERSON).padStart(10, '0');
const custodian = signer(F.consentCustodian);
const table = join(root, 'citizen-keys.csv');
let browser: Browser;
let c: WebCluster;
let broker: StandInBroker;
let service: CitizenEnrolment;
let phone: { context: BrowserContext; page: Page; errors: string[] };
const enrolled: { idToken: string; publicKey: string }[] = [];

before(async () => {
  const consortium = join(root, 'consortium.json');
  writeFileSync(consortium, JSON.stringify(F.config));
  browser = await launchBrowser();
  c = await webCluster(join(root, 'c'), { consortium });
  await publishConsent({ config: c.lc.config, consortium: F.consortium, events: [], changes: [], signer: custodian, version: 'consent-v0' });
  await publishInboxKey({ config: c.lc.config, signer: custodian, out: join(root, 'inbox.key.pem') });
  broker = await startStandInBroker({ persons: [PERSON], redirectUris: [new URL('/citizen/signin', c.url).href] });
  service = citizenEnrolment({ config: c.lc.config, consortium: F.consortium, signer: custodian, table, login: { issuer: broker.issuer, clientId: broker.clientId, label: 'the stand-in e-ID broker' } });
  c.web.setCitizenEnrolment(service);
  phone = await newPage(browser, { phone: true });
  phone.page.on('request', (r) => {
    if (r.url().endsWith('/api/citizen-enrol')) enrolled.push(JSON.parse(r.postData() ?? '{}') as { idToken: string; publicKey: string });
  });
});

after(async () => {
  await phone?.context.close();
  await browser?.close();
  await broker?.close();
  await c?.close();
  rmSync(root, { recursive: true, force: true });
});

/** From the sign-in page to the broker's login page. */
async function toBroker(page: Page): Promise<void> {
  await page.goto(new URL('/citizen/signin', c.url).href);
  await page.getByRole('button', { name: 'Sign in with e-ID' }).click();
  await page.waitForURL(`${broker.issuer}/interaction/**`);
  await page.getByText('Stand-in e-ID broker for the Mosaik demo').waitFor();
}

const post = (body: unknown) => fetch(new URL('/api/citizen-enrol', c.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('web app: a citizen signs in with the (stand-in) e-ID', () => {
  it('logs in at the broker; the key made in the browser is registered; the portal opens as that citizen', async () => {
    const { page, errors } = phone;
    await toBroker(page);
    await screenshot(page, 'citizen-eid', '01-broker');
    await page.getByLabel('CPR number').fill('0101900000');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('No demo citizen has CPR number 0101900000').waitFor();
    await page.getByLabel('CPR number').fill(PERSON_TEXT);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/citizen', { timeout: 60_000 });
    await page.getByRole('heading', { name: 'Your health data' }).waitFor();
    assert.equal(enrolled.length, 1);
    const rows = readCitizenKeys(table);
    assert.deepEqual(rows.map((r) => r.person), [PERSON], 'one key registered, for the person the broker vouched for');
    // The browser holds the person number and the identity the nodes registered.
    const stored = await page.evaluate(() => new Promise<unknown>((ok) => {
      const open = indexedDB.open('keyval-store');
      open.onsuccess = () => {
        const get = open.result.transaction('keyval').objectStore('keyval').get('mosaik-citizen-person');
        get.onsuccess = () => ok(get.result);
      };
    }));
    assert.equal(stored, PERSON);
    assert.ok(!page.url().includes('code='), 'the code is not left in the address bar');
    await page.getByRole('button', { name: 'Withdraw my consent for public-health research' }).click();
    await page.getByText(/sealed for the consent register and sent/).waitFor();
    await screenshot(page, 'citizen-eid', '02-portal');
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'no horizontal scrolling at 390 px');
    assert.deepEqual(errors, []);
  });

  it('refuses a token sent with another key, for another client, or malformed: nothing registered', async () => {
    const { idToken } = enrolled[0]!;
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const r = await post({ idToken, publicKey: other });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /nonce does not bind it to this public key/);
    const bad = await post({ idToken: 'not-a-token', publicKey: other });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /not a compact JWS/);
    const elsewhere = citizenEnrolment({ config: c.lc.config, consortium: F.consortium, signer: custodian, table, login: { issuer: broker.issuer, clientId: 'another-client' } });
    await assert.rejects(elsewhere.enrol(idToken, enrolled[0]!.publicKey), /not for another-client/);
    assert.equal(readCitizenKeys(table).length, 1, 'nothing more registered');
  });

  it('refuses an answer whose state this browser did not make; a second device then adds its own key', async () => {
    const second = await newPage(browser, { phone: true });
    try {
      const { page } = second;
      await toBroker(page);
      // Someone else's answer (or a forged one) arrives instead of the broker's for this login.
      await page.goto(new URL(`/citizen/signin?code=stolen&state=tampered&iss=${encodeURIComponent(broker.issuer)}`, c.url).href);
      await page.getByText(/its state does not match\)\. Nothing was registered/).waitFor();
      await screenshot(page, 'citizen-eid', '03-state-refused');
      // And one that does not name the broker (RFC 9207: the broker sends its issuer with the code).
      await toBroker(page);
      await page.goto(new URL('/citizen/signin?code=stolen&state=tampered', c.url).href);
      await page.getByText(/does not come from the e-ID broker this browser went to/).waitFor();
      assert.equal(readCitizenKeys(table).length, 1);
      await toBroker(page);
      await page.getByLabel('CPR number').fill(PERSON_TEXT);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL('**/citizen', { timeout: 60_000 });
      await page.getByRole('heading', { name: 'Your health data' }).waitFor();
      const rows = readCitizenKeys(table);
      assert.deepEqual(rows.map((r) => r.person), [PERSON, PERSON], 'a key per device, for the same person');
      assert.notEqual(rows[0]!.name, rows[1]!.name);
    } finally {
      await second.context.close();
    }
  });
});
