// The citizen's side in the browser (issue 15), with the non-extractable key of ./keys.ts: signing
// in (the key's pseudonymous name at the nodes, the person id kept in this browser only), consent
// changes sealed to the consent custodian, grants for doctors and their revocation, the accesses
// found in the public log, and questionnaires split into shares and sealed per node here.
// What leaves this browser is described in src/governance/citizen-docs.ts and grant-format.ts.
import { del, get, set } from 'idb-keyval';
import { citizenName } from '../../../src/governance/citizens-format.js';
import { CONSENT_CHANGE_FORMAT, CONSENT_SEAL, consentCommitmentText, PRO_SUBMISSION_FORMAT, submissionSealVersion, type ConsentChangePlain, type SignedInboxKey } from '../../../src/governance/citizen-docs.js';
import { GRANT_FORMAT, REVOCATION_FORMAT, type GrantBody, type SignedGrant } from '../../../src/governance/grant-format.js';
import { eq5dRow, PRO_DATASET, type Eq5dAnswers } from '../../../src/governance/patient-reported.js';
import { findAccesses, pairBytes, type Access, type ListedGrant } from '../../../src/governance/record-format.js';
import { sealUpload } from '../../../src/ingest/sealed-upload.js';
import { splitSharesWith } from '../../../src/mpc/share-split.js';
import type { LedgerEntry } from '../../../src/ledger/entry.js';
import { call, cluster, governance, PARTIES } from './api.js';
import { buf, fromBase64, sha256Hex, toBase64Url, toHex, utf8 } from './bytes.js';
import { importKeyFile, type BrowserIdentity } from './keys.js';
import { fetchEntries } from './log-source.js';
import { canonicalJson, signDocument } from './sign.js';

const fill = (b: Uint8Array) => void crypto.getRandomValues(b);
const randomHex = (bytes: number) => toHex(crypto.getRandomValues(new Uint8Array(bytes)));
const hashText = (t: string) => sha256Hex(utf8(t));

/** A citizen key file as this browser's identity: the name is the key's pseudonymous name at the nodes. */
export async function citizenIdentity(pem: string): Promise<BrowserIdentity> {
  const id = await importKeyFile(pem, 'citizen');
  return { ...id, name: citizenName(id.keyId) };
}

// The person id stays in this browser (IndexedDB): it goes to the nodes only as shares.
const PERSON_KEY = 'mosaik-citizen-person';
export const savePerson = (person: number) => set(PERSON_KEY, person);
export const loadPerson = async (): Promise<number | undefined> => (await get(PERSON_KEY)) as number | undefined;
export const forgetPerson = () => del(PERSON_KEY);

export function parsePerson(s: string): number {
  const v = s.replace(/[\s-]/g, '');
  if (!/^\d{1,11}$/.test(v) || Number(v) >= 2 ** 34) throw new Error('Your person number is the ten digits of your CPR number (e.g. 0101901234).');
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// Consent

/** The consent custodian's inbox key, checked here: its signature, with the key the consortium registered for the custodian. */
async function inboxKey(): Promise<SignedInboxKey> {
  const g = await governance();
  const custodian = g.members?.find((m) => m.name === g.consent?.custodian);
  if (!custodian) throw new Error('This consortium keeps no consent register, so consent cannot be changed here.');
  const k = await call<SignedInboxKey>(0, '/v1/consent/inbox-key');
  const raw = fromBase64(k.key.custodianKey);
  const pub = await crypto.subtle.importKey('raw', buf(raw), { name: 'Ed25519' }, false, ['verify']);
  const ok = (await sha256Hex(raw)) === custodian.keyId && !!k.signature && (await crypto.subtle.verify({ name: 'Ed25519' }, pub, buf(fromBase64(k.signature.sig)), buf(utf8(`mosaik:inbox-key:v1\n${canonicalJson(k.key)}`))));
  if (!ok) throw new Error(`The consent register's key is not signed by its custodian '${custodian.name}': nothing was sent.`);
  return k;
}

/** A change made here, kept in this browser with the salt that finds it in the log. */
export interface MyConsentChange extends ConsentChangePlain {
  /** Log entry that published it (once found). */
  publishedIn?: number;
}

const CHANGES_KEY = 'mosaik-consent-changes';
export const myConsentChanges = async (): Promise<MyConsentChange[]> => ((await get(CHANGES_KEY)) as MyConsentChange[] | undefined) ?? [];

/** Seals a consent change to the consent custodian and sends it (src/governance/citizen-docs.ts). */
export async function changeConsent(id: BrowserIdentity, purpose: string, granted: boolean): Promise<MyConsentChange> {
  const key = await inboxKey();
  const info = await cluster();
  const plain: ConsentChangePlain = { citizen: id.name, nonce: crypto.randomUUID(), purpose, granted, time: new Date().toISOString(), salt: randomHex(32) };
  const sealed = await sealUpload(utf8(JSON.stringify(plain)), key.key.publicKey, { cluster: info.cluster, ...CONSENT_SEAL, version: plain.nonce });
  const change = { format: CONSENT_CHANGE_FORMAT, citizen: id.name, nonce: plain.nonce, time: plain.time, sealedSha256: await sha256Hex(sealed) };
  await call(0, '/v1/consent/changes', { body: { change, signature: await signDocument('consent-change', change, id), sealed: toBase64Url(sealed) }, as: id });
  await set(CHANGES_KEY, [...(await myConsentChanges()), plain]);
  return plain;
}

/** This browser's changes, each with the log entry that published it when the commitment is found there. */
export async function publishedChanges(person: number, entries: LedgerEntry[]): Promise<MyConsentChange[]> {
  const mine = await myConsentChanges();
  const commitments = new Map<string, number>();
  for (const e of entries) if (e.kind === 'consent-changed' && Array.isArray(e.body.commitments)) for (const c of e.body.commitments) commitments.set(String(c), e.seq);
  return Promise.all(mine.map(async (c) => {
    const h = await hashText(consentCommitmentText({ person, purpose: c.purpose, granted: c.granted, time: Math.floor(Date.parse(c.time) / 1000) }, c.salt));
    const seq = commitments.get(h);
    return seq === undefined ? c : { ...c, publishedIn: seq };
  }));
}

// ---------------------------------------------------------------------------------------------
// Grants and accesses

export const listGrants = (id: BrowserIdentity): Promise<ListedGrant[]> => call<ListedGrant[]>(0, '/v1/grants', { as: id });

/** Signs a grant for a doctor (valid from now for `days`) and registers it at every node with its salt. */
export async function grantDoctor(id: BrowserIdentity, doctor: string, days: number): Promise<SignedGrant> {
  const g = await governance();
  const d = g.members?.find((m) => m.name === doctor && m.role === 'doctor');
  if (!d) throw new Error(`${doctor} is not a doctor of this consortium.`);
  const salt = randomHex(32);
  const now = Date.now();
  const grant: GrantBody = {
    format: GRANT_FORMAT, id: crypto.randomUUID(), consortium: g.consortium!, citizen: id.name, citizenKeyId: id.keyId, doctor: d.name, doctorKeyId: d.keyId,
    validFrom: new Date(now).toISOString(), validUntil: new Date(now + days * 86_400_000).toISOString(), createdAt: new Date(now).toISOString(), saltSha256: await hashText(salt),
  };
  const signed = { grant, signature: await signDocument('grant', grant, id) };
  await call(0, '/v1/grants', { body: { grant: signed, salt }, as: id });
  return signed;
}

export async function revokeGrant(id: BrowserIdentity, grant: string): Promise<void> {
  const revocation = { format: REVOCATION_FORMAT, grant, citizen: id.name, time: new Date().toISOString() };
  await call(0, '/v1/grants/revocations', { body: { revocation, signature: await signDocument('grant-revocation', revocation, id) }, as: id });
}

/** The accesses to this citizen's record, found in node 0's log by the commitments only their grants open. */
export async function myAccesses(grants: ListedGrant[], entries?: LedgerEntry[]): Promise<Access[]> {
  return findAccesses(entries ?? (await fetchEntries(0)), grants, hashText);
}

// ---------------------------------------------------------------------------------------------
// Questionnaires

export interface Submitted {
  nonce: string;
  status: string;
  version?: string;
  error?: string;
}

/** EQ-5D-5L answers, split into shares here and each node's sealed to it; resolves with what the nodes did. */
export async function submitEq5d(id: BrowserIdentity, person: number, answers: Eq5dAnswers): Promise<Submitted> {
  const info = await cluster();
  const row = eq5dRow(person, answers);
  const shares = row.map((v) => splitSharesWith(BigUint64Array.of(v), fill));
  const nonce = crypto.randomUUID();
  const sealed = await Promise.all(PARTIES.map(async (p) => {
    const node = info.nodes[p]!;
    if (!node.uploadKey) throw new Error(`${node.name} has no upload key: this browser cannot seal your answers for it.`);
    const bytes = new Uint8Array(16 * row.length);
    shares.forEach((t, k) => bytes.set(pairBytes(t[p]!.a[0]!, t[p]!.b[0]!), 16 * k));
    return sealUpload(bytes, node.uploadKey, { cluster: info.cluster, node: node.name, party: p, dataset: PRO_DATASET, version: submissionSealVersion(nonce) });
  }));
  const submission = { format: PRO_SUBMISSION_FORMAT, citizen: id.name, nonce, time: new Date().toISOString(), dataset: PRO_DATASET, sealedSha256: (await Promise.all(sealed.map(sha256Hex))) as [string, string, string] };
  try {
    return await call<Submitted>(0, '/v1/pro/submissions', { body: { submission, signature: await signDocument('pro-submission', submission, id), sealed: sealed.map(toBase64Url) }, as: id });
  } catch (e) {
    const b = (e as { body?: Submitted }).body;
    if (b?.status === 'rejected') return b;
    throw e;
  }
}

export const mySubmissions = (id: BrowserIdentity) => call<(Submitted & { time: string })[]>(0, '/v1/pro/submissions', { as: id });
