// The citizens' and doctors' side of `mosaik demo` (issue 15), set up after the studies, before the
// web app is served: the consent register's first version (the synthetic citizens' choices; the
// demo's studies ran before it existed), a few citizens registered by the consent custodian (key
// files and cards in <dir>/citizens/, persons with hospital contacts and prescriptions and no
// synthetic consent event), the custodian's inbox key for consent changes made in browsers, and a
// custodian loop that publishes those changes every few seconds while the app runs. Two doctors
// are identities of the consortium: dr-hansen (Copenhagen) and dr-weber (Hamburg). Once the app is
// served, the e-ID login: a stand-in broker (src/demo/eid-broker.ts) whose accounts are those
// citizens and two more with no key file yet, and the consent custodian's enrolment service
// (./citizen-enrolment.ts) served by the web app on the custodian's behalf, with its consent-state
// service (./citizen-consent-state.ts: a citizen reads their consent as the register holds it).
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CITIZEN_KEYS_DATASET } from '../governance/citizens.js';
import { rowsInForce, unixSeconds, withUntil, writeConsentFile } from '../governance/consent.js';
import type { Consortium } from '../governance/consortium.js';
import type { LocalIdentity } from '../governance/identities.js';
import type { Signer } from '../governance/identity.js';
import { PRO_DATASET } from '../governance/patient-reported.js';
import type { ClusterConfig } from '../net/keys.js';
import { generateConsentEvents } from '../demo/consent-events.js';
import type { generateRegisters } from '../demo/registers.js';
import { startStandInBroker } from '../demo/eid-broker.js';
import { processConsentInbox, publishInboxKey, registerCitizen } from './citizen.js';
import { citizenConsentState } from './citizen-consent-state.js';
import { citizenEnrolment } from './citizen-enrolment.js';
import type { WebServer } from './web.js';
import { publishConsent } from './governance-remote.js';

/** Identities of the citizens' side, besides the demo's custodians and researchers. */
export const CITIZEN_SIDE: LocalIdentity[] = [
  { name: 'patient-reported', role: 'custodian', datasets: [PRO_DATASET] },
  { name: 'dr-hansen', role: 'doctor' },
  { name: 'dr-weber', role: 'doctor' },
];
/** What the consent register's custodian also owns: the key→person table of registered citizens. */
export const CONSENT_CUSTODIAN_DATASETS = [CITIZEN_KEYS_DATASET];

export interface DemoCitizens {
  /** Lines telling how to sign in as each citizen and doctor. */
  lines: string[];
  /** Starts the stand-in e-ID broker for the app at `web` and serves the custodian's enrolment and consent-state services there; returns lines to print. */
  serveEidLogin(web: WebServer): Promise<string[]>;
  stop(): Promise<void>;
}

export async function setUpCitizens(o: {
  dir: string;
  config: ClusterConfig;
  consortium: Consortium;
  regs: ReturnType<typeof generateRegisters>;
  custodian: Signer;
  /** The consent register is already published (mosaik demo --consent). */
  consentPublished: boolean;
  seed: number;
  count?: number;
  log: (l: string) => void;
}): Promise<DemoCitizens> {
  const cdir = join(o.dir, 'custodians', o.custodian.name);
  const wallet = join(o.dir, 'citizens');
  rmSync(wallet, { recursive: true, force: true }); // fresh nodes every run: fresh registrations
  mkdirSync(cdir, { recursive: true });
  const table = join(cdir, 'citizen-keys.csv');
  const register = join(cdir, 'consent.csv');
  rmSync(table, { force: true });
  rmSync(`${register}.inbox-done.json`, { force: true });
  const persons = o.regs.people.id.subarray(0, o.regs.people.count);
  const events = generateConsentEvents(persons, o.consortium.purposes, { seed: o.seed });
  if (!o.consentPublished) await publishConsent({ config: o.config, consortium: o.consortium, events, changes: [], signer: o.custodian, version: 'consent-demo' });
  writeConsentFile(register, events);
  // Citizens with a record worth reading: the most hospital contacts and prescriptions, no synthetic consent event.
  const withEvents = new Set(events.map((e) => e.person));
  const count = new Map<number, number>();
  for (const reg of [o.regs.contacts, o.regs.prescriptions]) for (const p of reg.columns.get('person_id')!) count.set(Number(p), (count.get(Number(p)) ?? 0) + 1);
  const candidates = [...count].filter(([p]) => !withEvents.has(p)).sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([p]) => p);
  const chosen = candidates.slice(0, o.count ?? 3);
  const eidOnly = candidates.slice(chosen.length, chosen.length + 2); // citizens who enrol with the e-ID first
  const lines: string[] = [];
  for (const person of chosen) {
    const r = await registerCitizen({ config: o.config, consortium: o.consortium, signer: o.custodian, person, outDir: wallet, table });
    lines.push(`  citizen ${r.name}: key file ${r.keyPath}, person number ${String(person).padStart(10, '0')}`);
  }
  const inboxKey = join(cdir, 'consent-inbox.key.pem');
  await publishInboxKey({ config: o.config, signer: o.custodian, out: inboxKey });
  const excluded = rowsInForce(withUntil(events), 'public-health', unixSeconds(new Date())).filter((r) => !r.granted).length;
  o.log(`• citizens: the consent register is in force (${events.length} synthetic choices; ${excluded} citizens withdrew from public-health research); ${chosen.length} citizens registered by '${o.custodian.name}' (keys at every node under pseudonymous names, the key→person table secret-shared)`);
  // The consent custodian's side while the app runs: publish citizens' sealed changes every few seconds.
  let stopped = false;
  let busy: Promise<unknown> = Promise.resolve();
  const tick = () => {
    busy = processConsentInbox({ config: o.config, consortium: o.consortium, signer: o.custodian, inboxKeyPem: readFileSync(inboxKey, 'utf8'), table, register }).then(
      (r) => r.version && o.log(`• consent register: ${r.changes.length} citizen change(s) published as version ${r.version}; the next study run applies them`),
      (e: Error) => o.log(`• consent register: ${e.message}`),
    );
  };
  const timer = setInterval(() => !stopped && tick(), 5000);
  let closeBroker = async () => {};
  return {
    lines: [
      `  citizens (phone-sized pages at /citizen/signin; the person number stays in the browser):`,
      ...lines,
      `  doctors (sign in at /signin): ${join(o.dir, 'identities', 'dr-hansen.ed25519.key.pem')} (Copenhagen), dr-weber.ed25519.key.pem (Hamburg)`,
      `  a citizen's consent changes are published by the consent custodian every 5 s while the app runs`,
    ],
    serveEidLogin: async (web) => {
      const base = new URL(web.url);
      const returns = [...new Set([base.hostname, 'localhost', '127.0.0.1'])].map((h) => `${base.protocol}//${h}:${base.port}/citizen/signin`);
      const broker = await startStandInBroker({ persons: [...chosen, ...eidOnly], redirectUris: returns, log: o.log });
      closeBroker = broker.close;
      web.setCitizenConsentState(citizenConsentState({ config: o.config, consortium: o.consortium, signer: o.custodian, table, register, inboxKeyPem: readFileSync(inboxKey, 'utf8') }));
      web.setCitizenEnrolment(citizenEnrolment({ config: o.config, consortium: o.consortium, signer: o.custodian, table, login: { issuer: broker.issuer, clientId: broker.clientId, label: "the demo's stand-in e-ID broker" }, log: o.log }));
      const cprs = (ps: number[]) => ps.map((p) => String(p).padStart(10, '0')).join(', ');
      return [
        `  e-ID login ("Sign in with e-ID" at /citizen/signin): a STAND-IN broker at ${broker.issuer} (not MitID; CPR number, no password)`,
        `    for the citizens above (${cprs(chosen)}: a second key each) and ${cprs(eidOnly)} (no key file yet)`,
      ];
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await busy;
      await closeBroker();
    },
  };
}
