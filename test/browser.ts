// Browser tests' harness: a real cluster (three node daemons in this process, real TLS, real
// stores), the web app served by `mosaik web`'s server (src/cli/web.ts) on a free port, and
// Debian's Chromium driven by playwright-core (no browser is ever downloaded; npm test installs
// the chromium package where missing: scripts/test-tools.sh). Screenshots go to
// dist/test-screenshots/<test>/ and their paths are printed in the test output.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import type { PrivacySettings } from '../src/node/privacy.js';
import { startWebServer, type WebServer } from '../src/cli/web.js';
import { localSigners, type LocalSigners } from './identities.js';
import { publishConsent } from '../src/cli/governance-remote.js';
import type { Consortium, ConsortiumConfig } from '../src/governance/consortium.js';
import type { Signer } from '../src/governance/identity.js';
import type { LocalIdentity } from '../src/governance/identities.js';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container, without Chromium's background traffic (the machine has no network).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface WebCluster {
  lc: LocalCluster;
  daemons: Daemon[];
  web: WebServer;
  url: string;
  ids: LocalSigners;
  /** Every line the web server logged (what it saw: method, node, path, status). */
  relayLog: string[];
  close(): Promise<void>;
}

export interface WebClusterOptions {
  privacy?: Partial<PrivacySettings>;
  consortium?: string;
  identities?: LocalIdentity[];
  /** Runs on the cluster's directories before the daemons start (e.g. writes a ledger into them). */
  prepare?: (lc: LocalCluster) => void | Promise<void>;
}

export async function webCluster(dir: string, o: WebClusterOptions = {}): Promise<WebCluster> {
  const lc = await createLocalCluster(dir);
  await o.prepare?.(lc);
  await writeApiPorts(lc.dir);
  const ids = localSigners(lc.dir, o.identities ?? []);
  const daemons: Daemon[] = [];
  for (const p of [0, 1, 2] as PartyId[]) daemons.push(await startDaemon({ dir: lc.dir, party: p, log: () => {}, ...(o.privacy ? { privacy: o.privacy } : {}), ...(o.consortium ? { consortium: o.consortium } : {}) }));
  const relayLog: string[] = [];
  const web = await startWebServer({ dir: lc.dir, port: 0, log: (l) => relayLog.push(l) });
  return {
    lc, daemons, web, url: web.url, ids, relayLog,
    close: async () => {
      await web.close();
      for (const d of daemons) await d.close();
    },
  };
}

/** A cluster governed by `f`'s consortium (written to <root>/consortium.json) whose consent register is in force, empty: every default applies. */
export async function webClusterWithConsent(root: string, f: { config: ConsortiumConfig; consortium: Consortium }, custodian: Signer): Promise<WebCluster> {
  const consortium = join(root, 'consortium.json');
  writeFileSync(consortium, JSON.stringify(f.config));
  const c = await webCluster(join(root, 'c'), { consortium });
  await publishConsent({ config: c.lc.config, consortium: f.consortium, events: [], changes: [], signer: custodian, version: 'consent-v0' });
  return c;
}

/** A page in a fresh browser context (its own IndexedDB), with console errors collected. */
export async function newPage(browser: Browser, o: { phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext(o.phone ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { context, page, errors };
}

/** Saves a screenshot of the page under dist/test-screenshots/<group>/<name>.png and prints its path. */
export async function screenshot(page: Page, group: string, name: string): Promise<string> {
  const dir = resolve('dist', 'test-screenshots', group);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  writeFileSync(path, await page.screenshot({ fullPage: true }));
  console.log(`# screenshot: ${path}`);
  return path;
}

/** Signs in with a key file of the cluster's identities (as a person would: the file picker). */
export async function signInWithKey(page: Page, url: string, keyFile: string, name?: string): Promise<void> {
  await page.goto(new URL('/signin', url).href);
  await page.locator('input[type=file]').setInputFiles(keyFile);
  if (name) await page.getByLabel('Your name at the nodes').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Signed in once the app shows "Sign out" on the role's first page. A refusal shows an alert on the
  // sign-in page instead: fail with its words (these waits have no time limit, so waiting for a page
  // that will not come would hang the test).
  await page.getByText('Sign out').or(page.getByRole('alert')).first().waitFor();
  if (!(await page.getByText('Sign out').count())) throw new Error(`sign-in refused: ${await page.getByRole('alert').first().textContent()}`);
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
}

/** What has the keyboard focus: a link's or button's text, a form field's id (or label). */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return '';
    return /^(SELECT|INPUT|TEXTAREA)$/.test(el.tagName) || el.isContentEditable ? el.id || el.getAttribute('aria-label') || el.tagName : el.innerText.trim();
  });
}

/** Presses Tab until `what` has the focus (at most `max` times), as a keyboard user moves through a page. */
export async function tabTo(page: Page, what: string, max = 40): Promise<void> {
  for (let i = 0; i < max && (await focused(page)) !== what; i++) await page.keyboard.press('Tab');
  if ((await focused(page)) !== what) throw new Error(`${max} presses of Tab did not reach ${what} (the focus is on ${await focused(page)})`);
}

/** Signs in with the keyboard: the file picker is the one step a person does with the system dialog. */
export async function signInByKeyboard(page: Page, url: string, keyFile: string): Promise<void> {
  await page.goto(new URL('/signin', url).href);
  await page.locator('input[type=file]').setInputFiles(keyFile);
  await page.locator('input[type=file]').focus();
  await page.keyboard.press('Tab'); // the name (filled from the file name)
  await page.keyboard.press('Tab'); // Sign in
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
}
