// Verifying a citizen's grant for a doctor and its revocation (issue 15; shapes in ./grant-format.ts).
// A node verifies, on its own: the citizen's signature with the key registered for that citizen
// (./citizens.ts), that the doctor is a consortium member with role doctor and that key, the period,
// and that no revocation of the grant is registered. Every refusal is a GovernanceError 'grant'
// whose message says which check failed (the doctor sees the same reason from every node).
import type { KeyObject } from 'node:crypto';
import { sha256Hex } from './canonical.js';
import type { Consortium } from './consortium.js';
import { refuse } from './errors.js';
import { accessCommitmentText, checkGrantShape, checkRegistrationShape, checkRevocationShape, type GrantBody, type GrantRegistration, type RevocationBody, type SignedGrant } from './grant-format.js';
import { signDocument, verifyDocument, type Signer } from './identity.js';
import { parseTime } from './times.js';

export * from './grant-format.js';

/** The registered key of a citizen (name → key), as a node or the citizen's custodian knows it. */
export type CitizenKeyOf = (name: string) => { keyId: string; publicKey: KeyObject } | undefined;

export function signGrant(body: GrantBody, signer: Signer): SignedGrant {
  checkGrantShape({ grant: body });
  if (signer.name !== body.citizen) refuse('wrong-signer', `a grant is signed by its citizen '${body.citizen}', not '${signer.name}'`);
  return { grant: body, signature: signDocument('grant', body, signer) };
}

export function signRevocation(body: RevocationBody, signer: Signer) {
  checkRevocationShape({ revocation: body });
  return { revocation: body, signature: signDocument('grant-revocation', body, signer) };
}

/** The citizen's signature on a document, with the citizen's registered key; 'grant' refusals. */
function citizenSigned(kind: 'grant' | 'grant-revocation', body: { citizen: string }, sig: SignedGrant['signature'], keyOf: CitizenKeyOf, what: string): void {
  const key = keyOf(body.citizen);
  if (!key) refuse('grant', `${what}: '${body.citizen}' is not a citizen registered at this node`);
  if (!sig || sig.signer !== body.citizen || sig.keyId !== key.keyId || !verifyDocument(kind, body, sig, key.publicKey)) refuse('grant', `${what} is forged: it is not signed with the registered key of citizen '${body.citizen}'`);
}

/** A grant's signatures and parties (not its period or revocation: grantInForce). Returns the body. */
export function verifyGrant(raw: unknown, c: Consortium, keyOf: CitizenKeyOf): GrantBody {
  const sg = checkGrantShape(raw);
  const g = sg.grant;
  if (g.consortium !== c.name) refuse('grant', `grant ${g.id} is for consortium '${g.consortium}', not '${c.name}'`);
  citizenSigned('grant', g, sg.signature, keyOf, `grant ${g.id}`);
  const d = c.member(g.doctor);
  if (!d || d.role !== 'doctor') refuse('grant', `grant ${g.id} names '${g.doctor}', who is not a doctor of consortium '${c.name}'`);
  if (d.keyId !== g.doctorKeyId) refuse('grant', `grant ${g.id} names doctor '${g.doctor}' with key ${g.doctorKeyId.slice(0, 16)}…, which is not the doctor's registered key`);
  return g;
}

/** A registration's grant and salt (the salt must be the one the grant commits to). */
export function verifyRegistration(raw: unknown, c: Consortium, keyOf: CitizenKeyOf): { grant: GrantBody; reg: GrantRegistration } {
  const reg = checkRegistrationShape(raw);
  const grant = verifyGrant(reg.grant, c, keyOf);
  if (sha256Hex(reg.salt) !== grant.saltSha256) refuse('grant', `grant ${grant.id}: the salt is not the one the grant commits to`);
  return { grant, reg };
}

export function verifyRevocation(raw: unknown, keyOf: CitizenKeyOf): RevocationBody {
  const sr = checkRevocationShape(raw);
  citizenSigned('grant-revocation', sr.revocation, sr.signature, keyOf, `the revocation of grant ${sr.revocation.grant}`);
  return sr.revocation;
}

/** Refuses a grant outside its period at `now`, or revoked at or before `now`. */
export function grantInForce(g: GrantBody, revocations: readonly RevocationBody[], now = Date.now()): void {
  const r = revocations.find((x) => x.grant === g.id && x.citizen === g.citizen && parseTime(x.time, 'revocation time') <= now);
  if (r) refuse('grant', `grant ${g.id} was revoked by its citizen at ${r.time}`);
  if (now < parseTime(g.validFrom, 'validFrom')) refuse('grant', `grant ${g.id} is valid from ${g.validFrom} only`);
  if (now >= parseTime(g.validUntil, 'validUntil')) refuse('grant', `grant ${g.id} expired at ${g.validUntil}`);
}

/** The commitment an access under a grant is logged as (see ./grant-format.ts). */
export const accessCommitment = (salt: string, grant: string, job: string): string => sha256Hex(accessCommitmentText(salt, grant, job));
