// A citizen's consent as the register holds it, on two devices (issue 15), in Debian's Chromium at
// a phone's size against three real node daemons, with the consent custodian's consent-state
// service served by the web app (src/cli/citizen-consent-state.ts). On the first device the citizen
// signs in and sees what the register says (the default), withdraws a consent: "sent, takes effect
// at the next publication". A second device (a fresh browser context: nothing of the first in its
// storage) signed in with the same key file sees that change waiting in the custodian's inbox; the
// custodian publishes (processConsentInbox, as the demo's loop does every 5 s); the second device
// then reads the withdrawal in force from the register. Without the service the page says so and
// still works. Screenshots in dist/test-screenshots/citizen-devices/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { processConsentInbox, publishInboxKey, registerCitizen } from '../src/cli/citizen.js';
import { citizenConsentState, type CitizenConsentState } from '../src/cli/citizen-consent-state.js';
import { launchBrowser, newPage, screenshot, webClusterWithConsent, type WebCluster } from './browser.js';
import { consentCustodianFiles, fixture, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-web-devices-'));
const F = fixture();
const PERSON = 1504851234;
const custodian = signer(F.consentCustodian);
const { table, register, inboxKey: inboxKeyFile } = consentCustodianFiles(root);
type Device = { context: BrowserContext; page: Page; errors: string[] };
let keyFile = '';
let browser: Browser;
let c: WebCluster;
let service: CitizenConsentState;
let first: Device, second: Device;

before(async () => {
  browser = await launchBrowser();
  c = await webClusterWithConsent(root, F, custodian);
  writeFileSync(register, 'person_id,purpose,granted,time,until\n');
  keyFile = (await registerCitizen({ config: c.lc.config, consortium: F.consortium, signer: custodian, person: PERSON, outDir: join(root, 'wallet'), table })).keyPath!;
  await publishInboxKey({ config: c.lc.config, signer: custodian, out: inboxKeyFile });
  service = citizenConsentState({ config: c.lc.config, consortium: F.consortium, signer: custodian, table, register, inboxKeyPem: readFileSync(inboxKeyFile, 'utf8') });
  c.web.setCitizenConsentState(service);
  first = await newPage(browser, { phone: true });
  second = await newPage(browser, { phone: true });
});

after(async () => {
  await first?.context.close();
  await second?.context.close();
  await browser?.close();
  await c?.close();
  rmSync(root, { recursive: true, force: true });
});

async function signIn(page: Page): Promise<void> {
  await page.goto(new URL('/citizen/signin', c.url).href);
  await page.getByLabel('Your key file').setInputFiles(keyFile);
  await page.getByLabel('Your person number (CPR)').fill(String(PERSON).padStart(10, '0'));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/citizen');
  await page.getByRole('heading', { name: 'Your health data' }).waitFor();
}

/** The card of a purpose on the consent tab. */
const card = (page: Page, label: string) => page.locator('li.card').filter({ has: page.getByRole('heading', { name: label, exact: true }) });

describe('web app: a citizen sees their consent as the register holds it, on any device', () => {
  it('first device: the register says the default; a withdrawal is sent and waits for the next publication', async () => {
    const { page, errors } = first;
    await signIn(page);
    const ph = card(page, 'public-health research');
    await ph.getByText('The register says: your data may be used (the default: used unless you say no).').waitFor();
    await card(page, 'commercial pharma research').getByText('The register says: your data is not used (the default: used only if you say yes).').waitFor();
    await screenshot(page, 'citizen-devices', '01-first-device-default');
    await page.getByRole('button', { name: 'Withdraw my consent for public-health research' }).click();
    await page.getByText(/sealed for the consent register and sent/).waitFor();
    await ph.getByText(/waiting for the consent register to publish it: it takes effect at the next publication/).waitFor();
    await ph.getByText('Your data is not used', { exact: true }).waitFor();
    // The register has not published it: it still says the default.
    await ph.getByText('The register says: your data may be used (the default: used unless you say no).').waitFor();
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'no horizontal scrolling at 390 px');
    await screenshot(page, 'citizen-devices', '02-first-device-sent');
    assert.deepEqual(errors, []);
  });

  it('second device, same key: sees the change waiting at the register, then in force once the custodian publishes', async () => {
    const { page, errors } = second;
    await signIn(page);
    const ph = card(page, 'public-health research');
    await ph.getByText(/A change withdrawing your consent, sent .* \(from another device\), is waiting for the register to publish it\./).waitFor();
    await ph.getByText('Your data is not used', { exact: true }).waitFor();
    await screenshot(page, 'citizen-devices', '03-second-device-waiting');
    const r = await processConsentInbox({ config: c.lc.config, consortium: F.consortium, signer: custodian, inboxKeyPem: readFileSync(inboxKeyFile, 'utf8'), table, register, version: 'consent-v1' });
    assert.equal(r.changes.length, 1);
    await page.reload();
    await ph.getByText(/^The register says: your data is not used \(your withdrawal of .*\)\.$/).waitFor();
    await ph.getByText('Your choice in the register (made on this or another of your devices).').waitFor();
    await page.getByRole('button', { name: 'Give my consent for public-health research' }).waitFor();
    assert.equal(await ph.getByText(/from another device/).count(), 0, 'nothing waiting any more');
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'no horizontal scrolling at 390 px');
    await screenshot(page, 'citizen-devices', '04-second-device-published');
    assert.deepEqual(errors, []);
  });

  it('first device: the register now says withdrawn, and the change made there is in force', async () => {
    const { page } = first;
    await page.reload();
    const ph = card(page, 'public-health research');
    await ph.getByText(/^The register says: your data is not used \(your withdrawal of .*\)\.$/).waitFor();
    await ph.getByText(/In force: published in the consent register \(log entry \d+\)\./).waitFor();
  });

  it('without the consent-state service the page says so and shows this browser’s choices', async () => {
    const { page, errors } = second;
    c.web.setCitizenConsentState(undefined);
    await page.reload();
    await page.getByText(/The consent register does not answer here/).waitFor();
    await page.getByRole('button', { name: 'Withdraw my consent for public-health research' }).waitFor();
    await screenshot(page, 'citizen-devices', '05-no-service');
    assert.deepEqual(errors, [], 'no failed request in the console');
    c.web.setCitizenConsentState(service);
  });
});
