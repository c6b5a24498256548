// Checking what citizens send besides grants (shapes and what each party learns: ./citizen-docs.ts):
// the consent custodian's inbox key, citizens' sealed consent changes and their questionnaires. A
// node verifies the citizen's signature over the envelope with the citizen's registered key and the
// hashes of the sealed parts; it cannot open a consent change (sealed to the custodian) and opens
// only its own share pairs of a questionnaire.
import { createHash } from 'node:crypto';
import { sha256Hex } from './canonical.js';
import { checkConsentEnvelopeShape, checkInboxKeyShape, checkProSubmissionShape, type ConsentEnvelope, type InboxKeyBody, type ProSubmission } from './citizen-docs.js';
import type { Consortium } from './consortium.js';
import { refuse } from './errors.js';
import type { CitizenKeyOf } from './grants.js';
import { signDocument, verifyDocument, type Signer } from './identity.js';

export * from './citizen-docs.js';

const bytesOf = (b64url: string) => Buffer.from(b64url, 'base64url');

export function signInboxKey(body: InboxKeyBody, signer: Signer) {
  checkInboxKeyShape({ key: body });
  return { key: body, signature: signDocument('inbox-key', body, signer) };
}

/** The consent custodian's signature on its inbox key, and that custodianKey is its registered key. */
export function verifyInboxKey(raw: unknown, c: Consortium): InboxKeyBody {
  const o = checkInboxKeyShape(raw);
  const reg = c.consent;
  if (!reg) refuse('consent', `consortium '${c.name}' names no consent register: it has no inbox`);
  const m = c.member(reg.custodian)!;
  if (o.key.custodian !== reg.custodian) refuse('wrong-signer', `the inbox key is the consent custodian's ('${reg.custodian}'), not '${o.key.custodian}'`);
  if (createHash('sha256').update(bytesOf(o.key.custodianKey)).digest('hex') !== m.keyId) refuse('wrong-signer', "the inbox key's custodianKey is not the consent custodian's registered key");
  if (!o.signature || o.signature.signer !== reg.custodian || o.signature.keyId !== m.keyId || !verifyDocument('inbox-key', o.key, o.signature, m.publicKey)) refuse('bad-signature', 'the inbox key is not signed with the consent custodian\'s registered key');
  return o.key;
}

/** A citizen's signature on an envelope (kind `kind`), with the citizen's registered key. */
export function citizenEnvelope(kind: 'consent-change' | 'pro-submission' | 'consent-state-request', body: { citizen: string }, sig: ConsentEnvelope['signature'], keyOf: CitizenKeyOf, what: string): void {
  const k = keyOf(body.citizen);
  if (!k) refuse('wrong-signer', `${what}: '${body.citizen}' is not a citizen registered here`);
  if (!sig || sig.signer !== body.citizen || sig.keyId !== k.keyId || !verifyDocument(kind, body, sig, k.publicKey)) refuse('bad-signature', `${what} is not signed with the registered key of '${body.citizen}'`);
}

export function signConsentEnvelope(change: ConsentEnvelope['change'], sealed: string, signer: Signer): ConsentEnvelope {
  return { change, signature: signDocument('consent-change', change, signer), sealed };
}

export function verifyConsentEnvelope(raw: unknown, keyOf: CitizenKeyOf): ConsentEnvelope {
  const o = checkConsentEnvelopeShape(raw);
  citizenEnvelope('consent-change', o.change, o.signature, keyOf, `consent change ${o.change.nonce}`);
  if (sha256Hex(bytesOf(o.sealed)) !== o.change.sealedSha256) refuse('bad-signature', `consent change ${o.change.nonce}: the sealed change is not the one signed`);
  return o;
}

export function signProSubmission(submission: ProSubmission['submission'], sealed: ProSubmission['sealed'], signer: Signer): ProSubmission {
  return { submission, signature: signDocument('pro-submission', submission, signer), sealed };
}

export function verifyProSubmission(raw: unknown, keyOf: CitizenKeyOf): ProSubmission {
  const o = checkProSubmissionShape(raw);
  citizenEnvelope('pro-submission', o.submission, o.signature, keyOf, `questionnaire ${o.submission.nonce}`);
  o.sealed.forEach((s, i) => {
    if (sha256Hex(bytesOf(s)) !== o.submission.sealedSha256[i]) refuse('bad-signature', `questionnaire ${o.submission.nonce}: node ${i}'s sealed part is not the one signed`);
  });
  return o;
}
