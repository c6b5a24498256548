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
import { isSignature, type Signature } from './signature.js';
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

function common(what: string, b: { citizen?: unknown; nonce?: unknown; time?: unknown }, signature: unknown): void {
  const bad = (m: string): never => refuse('malformed', `${what}: ${m}`);
  if (typeof b.citizen !== 'string' || !b.citizen) bad('citizen is required');
  if (typeof b.nonce !== 'string' || !NONCE.test(b.nonce)) bad('nonce must be 8-64 letters, digits or -');
  parseTime(b.time, `${what}: time`);
  if (signature !== undefined && !isSignature(signature)) bad('the signature field is not a signature');
}

export function checkInboxKeyShape(x: unknown): SignedInboxKey {
  const o = x as SignedInboxKey;
  if (!o || typeof o !== 'object' || !o.key || o.key.format !== INBOX_KEY_FORMAT) refuse('malformed', `inbox key: not a ${INBOX_KEY_FORMAT} document ({key, signature})`);
  if (typeof o.key.publicKey !== 'string' || !/^x25519:[A-Za-z0-9_-]{43}$/.test(o.key.publicKey)) refuse('malformed', 'inbox key: publicKey must be "x25519:<base64url of 32 bytes>"');
  if (typeof o.key.custodianKey !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(o.key.custodianKey)) refuse('malformed', 'inbox key: custodianKey must be the raw Ed25519 key (base64url)');
  parseTime(o.key.time, 'inbox key: time');
  if (o.signature !== undefined && !isSignature(o.signature)) refuse('malformed', 'inbox key: the signature field is not a signature');
  return o;
}

export function checkConsentEnvelopeShape(x: unknown): ConsentEnvelope {
  const o = x as ConsentEnvelope;
  if (!o || typeof o !== 'object' || !o.change || o.change.format !== CONSENT_CHANGE_FORMAT) refuse('malformed', `consent change: not a ${CONSENT_CHANGE_FORMAT} envelope ({change, signature, sealed})`);
  common('consent change', o.change, o.signature);
  if (typeof o.change.sealedSha256 !== 'string' || !HEX64.test(o.change.sealedSha256)) refuse('malformed', 'consent change: sealedSha256 must be 64 hex digits');
  if (typeof o.sealed !== 'string' || !B64URL.test(o.sealed)) refuse('malformed', 'consent change: sealed must be base64url');
  return o;
}

export function checkProSubmissionShape(x: unknown): ProSubmission {
  const o = x as ProSubmission;
  if (!o || typeof o !== 'object' || !o.submission || o.submission.format !== PRO_SUBMISSION_FORMAT) refuse('malformed', `questionnaire: not a ${PRO_SUBMISSION_FORMAT} submission ({submission, signature, sealed})`);
  common('questionnaire', o.submission, o.signature);
  const s = o.submission;
  if (typeof s.dataset !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(s.dataset)) refuse('malformed', 'questionnaire: dataset must be a dataset name');
  if (!Array.isArray(s.sealedSha256) || s.sealedSha256.length !== 3 || !s.sealedSha256.every((h) => typeof h === 'string' && HEX64.test(h))) refuse('malformed', 'questionnaire: sealedSha256 must be three SHA-256 hashes');
  if (!Array.isArray(o.sealed) || o.sealed.length !== 3 || !o.sealed.every((b) => typeof b === 'string' && B64URL.test(b))) refuse('malformed', 'questionnaire: sealed must be three sealed parts (base64url)');
  return o;
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
