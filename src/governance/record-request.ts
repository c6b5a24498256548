// Signing and checking a doctor's request for a patient's record (shapes: ./record-format.ts). A
// node checks, on its own: the request is the doctor's (a consortium member with role doctor; its
// registered key signed it), for this cluster, fresh; then the grant it carries (./grants.ts): the
// citizen's signature, that it names this doctor, its period, that it is not revoked. The person id
// is checked against the grant's citizen inside MPC (src/node/records.ts).
import { randomUUID } from 'node:crypto';
import type { Consortium } from './consortium.js';
import { refuse } from './errors.js';
import type { GrantBody } from './grant-format.js';
import { signDocument, verifyDocument, type Signer } from './identity.js';
import { checkRecordRequestShape, RECORD_REQUEST_FORMAT, type RecordRequestBody, type SignedRecordRequest } from './record-format.js';
import { MAX_SKEW_MS } from './request-auth.js';

export function signRecordRequest(body: Omit<RecordRequestBody, 'format' | 'time' | 'nonce'> & { time?: string; nonce?: string }, signer: Signer): SignedRecordRequest {
  const request: RecordRequestBody = { format: RECORD_REQUEST_FORMAT, ...body, time: body.time ?? new Date().toISOString(), nonce: body.nonce ?? randomUUID() };
  checkRecordRequestShape({ request });
  return { request, signature: signDocument('record-request', request, signer) };
}

/** The request's doctor and signature, cluster and freshness at `now`; returns the body. */
export function verifyRecordRequest(raw: unknown, c: Consortium, cluster: string, now = Date.now()): RecordRequestBody {
  const sr = checkRecordRequestShape(raw);
  const r = sr.request;
  const d = c.member(r.doctor);
  if (!d || d.role !== 'doctor') refuse('grant', `'${r.doctor}' is not a doctor of consortium '${c.name}'`);
  const sig = sr.signature;
  if (!sig || sig.signer !== r.doctor || sig.keyId !== d.keyId || !verifyDocument('record-request', r, sig, d.publicKey)) refuse('grant', `the record request is not signed with doctor '${r.doctor}'s registered key`);
  if (r.cluster !== cluster) refuse('grant', `the record request is for cluster '${r.cluster}', this is '${cluster}'`);
  if (Math.abs(Date.parse(r.time) - now) > MAX_SKEW_MS) refuse('grant', `the record request's time ${r.time} is more than ${MAX_SKEW_MS / 60_000} minutes from this node's clock; sign a new one`);
  return r;
}

/** The grant must name the doctor who asks (and its key). */
export function grantForDoctor(g: GrantBody, r: RecordRequestBody, c: Consortium): void {
  if (g.doctor !== r.doctor || g.doctorKeyId !== c.member(r.doctor)?.keyId) refuse('grant', `grant ${g.id} is for doctor '${g.doctor}', not for '${r.doctor}'`);
}
