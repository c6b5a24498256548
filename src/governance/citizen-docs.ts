// What a citizen sends the nodes besides grants (issue 15), sealed so that no node or relay sees
// more than it must. Browser-safe shapes (the citizen's browser builds them; ./citizen-inbox.ts
// checks them at the nodes and opens consent changes at the consent custodian).
//
// Consent changes. The consent register is the consent custodian's (./consent.ts): only it may
// learn whose choice a change is. The citizen's browser seals the change {purpose, granted, time,
// salt} to the custodian's X25519 inbox key (HPKE, the sealed-upload format bound to
// '<cluster>/consent-inbox/0/~consent-change/<nonce>'; the key is published in a document the
// custodian signs, which the browser checks against the custodian's key id in the consortium), and
// signs an envelope {citizen, nonce, time, SHA-256 of the sealed bytes}. Every node checks the
// citizen's signature and keeps the envelope; the custodian fetches the inbox, opens each change,
// maps the citizen's key to the person in its own table, and publishes the new register version
// as `mosaik consent set` does, the change's commitment made with the citizen's salt, so the
// citizen finds it in the public log. A node and the relay learn: that this pseudonymous citizen
// sent a consent change, when, and its size; not the purpose, not the choice.
//
// Patient-reported data. A questionnaire's row (./patient-reported.ts) is split into shares in the
// browser; each node's share pairs are sealed to that node's upload key (bound to the dataset and
// '~submission-<nonce>'); the envelope {citizen, nonce, time, dataset, SHA-256 of each sealed part}
// is signed. A node learns: that this pseudonymous citizen submitted a questionnaire of this kind,
// when; its own share pairs (uniformly random); never an answer.
import { refuse } from './errors.js';
import type { Signature } from './signature.js';
import { docShape } from './doc-shape.js';
import { parseTime } from './times.js';

export const INBOX_KEY_FORMAT = 'mosaik-inbox-key/1';
export const CONSENT_CHANGE_FORMAT = 'mosaik-consent-change/1';
export const PRO_SUBMISSION_FORMAT = 'mosaik-pro-submission/1';
/** The sealed-upload binding of a consent change (the inbox is not a node; party 0 by convention). */
export const CONSENT_SEAL = { node: 'consent-inbox', party: 0, dataset: '~consent-change' } as const;
/** The sealed-upload version of a questionnaire's shares for one node. */
export const submissionSealVersion = (nonce: string): string => `~submission-${nonce}`;

/** The consent custodian's X25519 key for sealed consent changes, signed with its Ed25519 key. */
export interface InboxKeyBody {
  format: typeof INBOX_KEY_FORMAT;
  custodian: string;
  /** "x25519:<base64url>" (the format of the nodes' upload keys). */
  publicKey: string;
  /** The custodian's raw Ed25519 public key (base64url): a browser checks it hashes to the custodian's key id. */
  custodianKey: string;
  time: string;
}

export interface SignedInboxKey {
  key: InboxKeyBody;
  signature?: Signature;
}

export interface ConsentEnvelopeBody {
  format: typeof CONSENT_CHANGE_FORMAT;
  citizen: string;
  nonce: string;
  time: string;
  /** SHA-256 (hex) of the sealed change. */
  sealedSha256: string;
}

export interface ConsentEnvelope {
  change: ConsentEnvelopeBody;
  signature?: Signature;
  /** The sealed change (base64url). */
  sealed: string;
}

/** What the sealed bytes of a consent change hold (the custodian alone reads it). */
export interface ConsentChangePlain {
  citizen: string;
  nonce: string;
  purpose: string;
  granted: boolean;
  /** When the choice takes effect (ISO 8601). */
  time: string;
  /** The salt of the change's commitment in the log (./consent.ts consentCommitment): the citizen's receipt. */
  salt: string;
}

export interface ProEnvelopeBody {
  format: typeof PRO_SUBMISSION_FORMAT;
  citizen: string;
  nonce: string;
  time: string;
  dataset: string;
  /** SHA-256 (hex) of each node's sealed part. */
  sealedSha256: [string, string, string];
}

export interface ProSubmission {
  submission: ProEnvelopeBody;
  signature?: Signature;
  /** Per node, its share pairs of the row sealed to its upload key (base64url). */
  sealed: [string, string, string];
}

const HEX64 = /^[0-9a-f]{64}$/;
const NONCE = /^[A-Za-z0-9-]{8,64}$/;
const B64URL = /^[A-Za-z0-9_-]{20,20000}$/;

/** The fields every citizen's envelope has: who, a nonce, when. */
function envelope<D, B extends { format?: unknown; citizen?: unknown; nonce?: unknown; time?: unknown }>(x: unknown, field: string, format: string, what: string) {
  const r = docShape<D, B>(x, field, format, what);
  if (typeof r.body.citizen !== 'string' || !r.body.citizen) r.bad('citizen is required');
  if (typeof r.body.nonce !== 'string' || !NONCE.test(r.body.nonce)) r.bad('nonce must be 8-64 letters, digits or -');
  parseTime(r.body.time, `${what}: time`);
  return r;
}

export function checkInboxKeyShape(x: unknown): SignedInboxKey {
  const { doc, body: k, bad } = docShape<SignedInboxKey, InboxKeyBody>(x, 'key', INBOX_KEY_FORMAT, 'inbox key');
  if (typeof k.publicKey !== 'string' || !/^x25519:[A-Za-z0-9_-]{43}$/.test(k.publicKey)) bad('publicKey must be "x25519:<base64url of 32 bytes>"');
  if (typeof k.custodianKey !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(k.custodianKey)) bad('custodianKey must be the raw Ed25519 key (base64url)');
  parseTime(k.time, 'inbox key: time');
  return doc;
}

export function checkConsentEnvelopeShape(x: unknown): ConsentEnvelope {
  const { doc, body, bad } = envelope<ConsentEnvelope, ConsentEnvelopeBody>(x, 'change', CONSENT_CHANGE_FORMAT, 'consent change');
  if (typeof body.sealedSha256 !== 'string' || !HEX64.test(body.sealedSha256)) bad('sealedSha256 must be 64 hex digits');
  if (typeof doc.sealed !== 'string' || !B64URL.test(doc.sealed)) bad('sealed must be base64url');
  return doc;
}

export function checkProSubmissionShape(x: unknown): ProSubmission {
  const { doc, body: s, bad } = envelope<ProSubmission, ProEnvelopeBody>(x, 'submission', PRO_SUBMISSION_FORMAT, 'questionnaire');
  if (typeof s.dataset !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(s.dataset)) bad('dataset must be a dataset name');
  if (!Array.isArray(s.sealedSha256) || s.sealedSha256.length !== 3 || !s.sealedSha256.every((h) => typeof h === 'string' && HEX64.test(h))) bad('sealedSha256 must be three SHA-256 hashes');
  if (!Array.isArray(doc.sealed) || doc.sealed.length !== 3 || !doc.sealed.every((b) => typeof b === 'string' && B64URL.test(b))) bad('sealed must be three sealed parts (base64url)');
  return doc;
}

/** The text whose SHA-256 commits to one consent event in the log (./consent.ts consentCommitment; a citizen's browser checks its receipt with it). */
export const consentCommitmentText = (e: { person: number; purpose: string; granted: boolean; time: number }, salt: string): string => `mosaik:consent:v1\n${salt}\n${e.person}\n${e.purpose}\n${e.granted ? 1 : 0}\n${e.time}`;

/** The consent change's plaintext, checked against its envelope (the custodian's side). */
export function checkConsentPlain(x: unknown, env: ConsentEnvelopeBody): ConsentChangePlain {
  const o = x as ConsentChangePlain;
  if (!o || typeof o !== 'object' || o.citizen !== env.citizen || o.nonce !== env.nonce) refuse('malformed', `consent change ${env.nonce}: the sealed change is not this envelope's`);
  if (typeof o.purpose !== 'string' || typeof o.granted !== 'boolean' || typeof o.salt !== 'string' || !HEX64.test(o.salt)) refuse('malformed', `consent change ${env.nonce}: {purpose, granted, time, salt} expected`);
  parseTime(o.time, 'consent change: time');
  return o;
}
