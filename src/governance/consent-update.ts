// A consent update: the consent custodian's signed announcement that a new version of the consent
// register (./consent.ts) is at the nodes, with one salted commitment per citizen change it
// carries (./consent.ts consentReceipt; the salt goes to the citizen as a receipt). The nodes
// never see a person identifier in the clear: a citizen's change reaches them only as shares of
// the new register version (uploaded like any dataset: src/ingest/upload.ts) and as this document,
// which holds purposes, counts and commitments only. Each node checks the custodian's signature and
// that it stores that version with that many rows, and node 0 logs it in the transparency log as a
// 'consent-changed' entry (counts and commitments: src/ledger/entry.ts checks that no person
// identifier is in the body).
import type { Consortium } from './consortium.js';
import { refuse } from './errors.js';
import { isDatasetName } from '../ingest/schema.js';
import { isSignature, signDocument, verifyDocument, type Signature, type Signer } from './identity.js';
import { isoTime, parseTime } from './study.js';

export const CONSENT_UPDATE_FORMAT = 'mosaik-consent-update/1';

/** A label the log accepts (starts with a letter: never an identifier-like digit string). */
const LABEL = /^[A-Za-z][A-Za-z0-9._:/-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export interface ConsentUpdateBody {
  format: typeof CONSENT_UPDATE_FORMAT;
  custodian: string;
  /** The consent register's dataset and the new version (a label, e.g. consent-20261123T171958Z). */
  dataset: string;
  version: string;
  /** Rows of the new version (public, like every dataset's size). */
  rows: number;
  /** The citizens' changes since the previous version: purpose, choice, commitment. */
  changes: { purpose: string; granted: boolean; commitment: string }[];
  time: string;
}

export interface ConsentUpdate {
  update: ConsentUpdateBody;
  signature?: Signature;
}

/** A version id the transparency log accepts for a consent register (starts with a letter). */
export function consentVersion(at = new Date()): string {
  return `consent-${at.toISOString().replace(/[-:]/g, '')}`;
}

export function checkConsentUpdateShape(x: unknown): ConsentUpdate {
  const o = x as ConsentUpdate;
  const bad = (m: string): never => refuse('malformed', `consent update: ${m}`);
  if (!o || typeof o !== 'object' || !o.update || typeof o.update !== 'object') bad('not a consent update ({update, signature})');
  const u = o.update;
  if (u.format !== CONSENT_UPDATE_FORMAT) bad(`format must be '${CONSENT_UPDATE_FORMAT}'`);
  if (typeof u.custodian !== 'string' || !u.custodian) bad('custodian is required');
  if (!isDatasetName(u.dataset)) bad('dataset must be a dataset name');
  if (typeof u.version !== 'string' || !LABEL.test(u.version)) bad(`version ${JSON.stringify(u.version)} must start with a letter (the transparency log takes no digit strings), e.g. ${consentVersion()}`);
  if (!Number.isSafeInteger(u.rows) || u.rows < 0) bad('rows must be a non-negative integer');
  if (!Array.isArray(u.changes)) bad('changes must be a list');
  for (const c of u.changes) {
    if (!c || typeof c.purpose !== 'string' || !LABEL.test(c.purpose) || typeof c.granted !== 'boolean' || typeof c.commitment !== 'string' || !HEX64.test(c.commitment)) bad('every change must be {purpose, granted, commitment: 64 hex digits}');
  }
  parseTime(u.time, 'consent update: time');
  if (o.signature !== undefined && !isSignature(o.signature)) bad('the signature field is not a signature');
  return o;
}

/** The consent custodian signs an update. */
export function signConsentUpdate(body: ConsentUpdateBody, consortium: Consortium, signer: Signer): ConsentUpdate {
  checkConsentUpdateShape({ update: body });
  if (!consortium.consent) refuse('consent', `consortium '${consortium.name}' names no consent register`);
  if (signer.name !== consortium.consent.custodian || body.custodian !== signer.name) refuse('wrong-signer', `only the consent custodian '${consortium.consent.custodian}' signs consent updates, not '${signer.name}'`);
  return { update: body, signature: signDocument('consent-update', body, signer) };
}

/** Checks the custodian's signature, that it is the consortium's consent custodian and register. */
export function verifyConsentUpdate(cu: ConsentUpdate, consortium: Consortium): ConsentUpdateBody {
  const u = checkConsentUpdateShape(cu).update;
  const reg = consortium.consent;
  if (!reg) refuse('consent', `consortium '${consortium.name}' names no consent register; consent updates cannot be accepted`);
  if (u.custodian !== reg.custodian) refuse('wrong-signer', `consent updates come from the consent custodian '${reg.custodian}', not '${u.custodian}'`);
  if (u.dataset !== reg.dataset) refuse('consent', `the consent register is dataset '${reg.dataset}', not '${u.dataset}'`);
  for (const c of u.changes) if (!consortium.purpose(c.purpose)) refuse('unknown-purpose', `consent update: purpose '${c.purpose}' is not declared`);
  const m = consortium.member(reg.custodian)!;
  const sig = cu.signature;
  if (!sig) refuse('unsigned', `consent update ${u.dataset}@${u.version} is not signed`);
  if (sig.signer !== reg.custodian || sig.keyId !== m.keyId) refuse('wrong-signer', `consent update ${u.dataset}@${u.version} is not signed with the consent custodian's registered key`);
  if (!verifyDocument('consent-update', u, sig, m.publicKey)) refuse('bad-signature', `consent update ${u.dataset}@${u.version}: the signature does not verify`);
  return u;
}

/**
 * The 'consent-changed' transparency-log body: counts, purposes, commitments (no person in it), and
 * the update's signed time as ISO 8601 UTC: the nodes take the version of the newest update signed
 * at or before a job's submission (NodeGovernance.consentInForce), and the auditor checks the same
 * from the log (src/ledger/rules.ts).
 */
export function consentUpdateLedgerBody(cu: ConsentUpdate): { [k: string]: string | number | string[] } {
  const u = cu.update;
  return {
    custodian: u.custodian,
    dataset: u.dataset,
    version: u.version,
    rows: u.rows,
    changes: u.changes.length,
    granted: u.changes.filter((c) => c.granted).length,
    withdrawn: u.changes.filter((c) => !c.granted).length,
    purposes: [...new Set(u.changes.map((c) => c.purpose))].sort(),
    commitments: u.changes.map((c) => c.commitment),
    signatureKeyId: cu.signature?.keyId ?? '',
    time: isoTime(parseTime(u.time, 'consent update: time')),
  };
}
