// A citizen's grant of access to their own record for a named doctor, and its revocation (issue 15):
// the shapes, shared by the nodes (./grants.ts verifies them) and the citizen's browser (which
// signs them). Browser-safe: no Node built-in.
//
//   grant        {format, id, consortium, citizen, citizenKeyId, doctor, doctorKeyId, validFrom,
//                 validUntil, createdAt, saltSha256}, signed by the citizen (kind 'grant')
//   revocation   {format, grant, citizen, time}, signed by the citizen (kind 'grant-revocation')
//   registration {grant: <signed grant>, salt}: the citizen registers the grant at the nodes with
//                the salt its saltSha256 commits to. Each access under the grant is logged as
//                SHA-256(accessCommitmentText(salt, grant id, job)): the citizen (who chose the
//                salt) finds their accesses in the public log; the doctor holds the signed grant
//                but not the salt, and a reader of the log can link an access neither to a citizen
//                nor to a grant, nor two accesses to each other.
import { refuse } from './errors.js';
import type { Signature } from './signature.js';
import { docShape } from './doc-shape.js';
import { parseTime } from './times.js';

export const GRANT_FORMAT = 'mosaik-grant/1';
export const REVOCATION_FORMAT = 'mosaik-grant-revocation/1';
/** Longest period a grant may cover (a citizen renews it). */
export const MAX_GRANT_DAYS = 366;

export interface GrantBody {
  format: typeof GRANT_FORMAT;
  /** A UUID the citizen draws. */
  id: string;
  consortium: string;
  /** The citizen's pseudonymous name at the nodes and key id. */
  citizen: string;
  citizenKeyId: string;
  /** The doctor: a consortium member with role doctor, and its key id. */
  doctor: string;
  doctorKeyId: string;
  validFrom: string;
  validUntil: string;
  createdAt: string;
  /** SHA-256 (hex) of the salt the citizen registers with the grant. */
  saltSha256: string;
}

export interface SignedGrant {
  grant: GrantBody;
  signature?: Signature;
}

export interface RevocationBody {
  format: typeof REVOCATION_FORMAT;
  grant: string;
  citizen: string;
  time: string;
}

export interface SignedRevocation {
  revocation: RevocationBody;
  signature?: Signature;
}

/** What the citizen posts to register a grant (POST /v1/grants). */
export interface GrantRegistration {
  grant: SignedGrant;
  salt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function checkGrantShape(x: unknown): SignedGrant {
  const { doc: o, body: g, bad } = docShape<SignedGrant, GrantBody>(x, 'grant', GRANT_FORMAT, 'grant');
  if (typeof g.id !== 'string' || !UUID.test(g.id)) bad('id must be a UUID');
  for (const k of ['consortium', 'citizen', 'doctor'] as const) if (typeof g[k] !== 'string' || !g[k]) bad(`${k} is required`);
  for (const k of ['citizenKeyId', 'doctorKeyId', 'saltSha256'] as const) if (typeof g[k] !== 'string' || !HEX64.test(g[k])) bad(`${k} must be 64 hex digits`);
  const from = parseTime(g.validFrom, 'grant: validFrom');
  const until = parseTime(g.validUntil, 'grant: validUntil');
  parseTime(g.createdAt, 'grant: createdAt');
  if (until <= from) bad('validUntil must be after validFrom');
  if (until - from > MAX_GRANT_DAYS * 86_400_000) bad(`a grant covers at most ${MAX_GRANT_DAYS} days`);
  return o;
}

export function checkRevocationShape(x: unknown): SignedRevocation {
  const { doc: o, body: r, bad } = docShape<SignedRevocation, RevocationBody>(x, 'revocation', REVOCATION_FORMAT, 'revocation');
  if (typeof r.grant !== 'string' || !UUID.test(r.grant)) bad('grant must be the grant id (a UUID)');
  if (typeof r.citizen !== 'string' || !r.citizen) bad('citizen is required');
  parseTime(r.time, 'revocation: time');
  return o;
}

export function checkRegistrationShape(x: unknown): GrantRegistration {
  const o = x as GrantRegistration;
  if (!o || typeof o !== 'object') refuse('malformed', 'grant registration: not a JSON object ({grant, salt})');
  checkGrantShape(o.grant);
  if (typeof o.salt !== 'string' || !HEX64.test(o.salt)) refuse('malformed', 'grant registration: salt must be 64 hex digits');
  return o;
}

/** The text whose SHA-256 is an access's commitment in the log. */
export const accessCommitmentText = (salt: string, grant: string, job: string): string => `mosaik:record-access:v1\n${salt}\n${grant}\n${job}`;
