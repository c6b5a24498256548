// Authenticated uploads (governed mode). The custodian signs each node's upload header with its
// Ed25519 key (src/governance/identity.ts, kind 'upload'); a governed node (src/node/api.ts)
// stores a dataset version only when the signature verifies against the consortium member whose
// role is custodian and whose name is the schema's custodian, that custodian owns the dataset in
// the consortium configuration, and the signed statement matches the upload exactly:
//
//   {format, cluster, dataset, version, party, custodian, rows, columns,
//    schemaSha256, codeListsSha256, sortedBy, sharesSha256, time}
//
// schemaSha256 / codeListsSha256 are hashJson (SHA-256 of canonical JSON) of the header's schema
// and code lists; sharesSha256 is SHA-256 of exactly the share bytes this party receives (every
// column, half a then half b, as streamed after the header), so the signature binds the content
// too. The node hashes the bytes while it stores them and discards the version if the digest
// differs. `time` must be within ±15 minutes of the node's clock. The signature is per party
// (each node gets its own statement), and it does not enter the store's content hash, so an
// identical re-upload with a fresh signature is still "already stored" (HTTP 200).
//
// Un-governed nodes have no consortium to check a key against: they ignore the signature.
import { createHash } from 'node:crypto';
import { hashJson } from '../governance/canonical.js';
import type { Consortium } from '../governance/consortium.js';
import { isSignature, signDocument, verifyDocument, type Signer } from '../governance/identity.js';
import type { UploadHeader } from './schema.js';

import { uploadStatementOf, type UploadSignature, type UploadStatement } from './upload-statement.js';
export { UPLOAD_AUTH_FORMAT, type UploadSignature, type UploadStatement } from './upload-statement.js';

/** How far the signed time may be from the node's clock. */
export const UPLOAD_FRESH_MS = 15 * 60_000;

/** The statement for a header (without its signature) as the custodian signs it. */
export function uploadStatement(h: UploadHeader, o: { cluster: string; version: string; sharesSha256: string; time: string }): UploadStatement {
  return uploadStatementOf(h, o, { schemaSha256: hashJson(h.schema), codeListsSha256: hashJson(h.codeLists) });
}

/** Signs a header's statement (returns the value of header.signature). */
export function signUploadHeader(h: UploadHeader, o: { cluster: string; version: string; sharesSha256: string; time?: string }, signer: Signer): UploadSignature {
  const statement = uploadStatement(h, { ...o, time: o.time ?? new Date().toISOString() });
  return { ...signDocument('upload', statement, signer), statement };
}

/** Raised when a governed node refuses an upload's authentication (HTTP 403). */
export class UploadAuthError extends Error {
  readonly status = 403;
  constructor(message: string) {
    super(`upload refused: ${message}`);
    this.name = 'UploadAuthError';
  }
}

export interface UploadAuthContext {
  consortium: Consortium;
  /** This node's cluster name, the dataset and version of the URL, this node's party. */
  cluster: string;
  dataset: string;
  version: string;
  party: number;
  now?: number;
}

/**
 * A governed node's check of an (already shape-checked) upload header: returns the signed
 * statement (its sharesSha256 is checked after the bytes arrive); throws UploadAuthError naming
 * what failed.
 */
export function verifyUploadHeader(h: UploadHeader, c: UploadAuthContext): UploadStatement {
  function refuse(m: string): never {
    throw new UploadAuthError(m);
  }
  const what = `${c.dataset}@${c.version}`;
  const custodian = h.schema.custodian;
  const raw = h.signature as UploadSignature | undefined;
  if (raw === undefined || raw === null) refuse(`this node is governed (consortium '${c.consortium.name}'): the upload of ${what} must be signed by its custodian '${custodian}' (mosaik ingest --sign-key <custodian Ed25519 key>)`);
  if (!isSignature(raw) || !raw.statement || typeof raw.statement !== 'object') refuse(`the signature of ${what} is not an upload signature ({signer, keyId, alg, sig, statement})`);
  const sig = raw as UploadSignature;
  const member = c.consortium.member(custodian);
  if (!member) refuse(`the schema's custodian '${custodian}' is not a member of consortium '${c.consortium.name}'`);
  if (member.role !== 'custodian') refuse(`the schema names '${custodian}' as custodian, but '${custodian}' is a ${member.role} in consortium '${c.consortium.name}'`);
  const owner = c.consortium.custodianOf(c.dataset);
  if (owner === undefined) refuse(`no custodian of consortium '${c.consortium.name}' owns dataset '${c.dataset}' (add it to a custodian's datasets)`);
  if (owner !== custodian) refuse(`dataset '${c.dataset}' is owned by custodian '${owner}', not by '${custodian}'`);
  if (sig.signer !== custodian) refuse(`${what} is signed by '${sig.signer}', but only its custodian '${custodian}' may upload it`);
  if (sig.keyId !== member.keyId) refuse(`${what} is signed with key ${String(sig.keyId).slice(0, 16)}…, not with custodian '${custodian}'s registered key ${member.keyId.slice(0, 16)}…`);
  const s = sig.statement;
  if (!verifyDocument('upload', s, sig, member.publicKey)) refuse(`${what}: the custodian's signature does not verify (the signed statement was altered, or signed with another key)`);
  // The signature is good: now the statement must describe exactly this upload.
  const want = uploadStatement(h, { cluster: c.cluster, version: c.version, sharesSha256: s.sharesSha256, time: s.time });
  const mismatch: string[] = [];
  const show = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? `${v.slice(0, 16)}…` : JSON.stringify(v));
  for (const k of ['format', 'cluster', 'dataset', 'version', 'party', 'custodian', 'rows', 'columns', 'schemaSha256', 'codeListsSha256', 'sortedBy'] as const) {
    if (JSON.stringify(s[k]) !== JSON.stringify(want[k])) mismatch.push(`${k} (signed ${show(s[k])}, this upload ${show(want[k])})`);
  }
  if (mismatch.length) refuse(`the custodian's signed statement does not match this upload of ${what}: ${mismatch.join('; ')}`);
  if (typeof s.sharesSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sharesSha256)) refuse(`${what}: the signed statement has no sharesSha256 (64 hex digits)`);
  const t = typeof s.time === 'string' ? Date.parse(s.time) : NaN;
  if (!Number.isFinite(t)) refuse(`${what}: the signed time ${JSON.stringify(s.time)} is not an ISO 8601 time`);
  const now = c.now ?? Date.now();
  if (Math.abs(now - t) > UPLOAD_FRESH_MS) refuse(`${what}: signed at ${s.time}, more than ${UPLOAD_FRESH_MS / 60_000} minutes from this node's clock (${new Date(now).toISOString()}); sign the upload again`);
  return s;
}

/** Incremental SHA-256 of share bytes (custodian and node compute it the same way). */
export function sharesHasher(): { update(b: Uint8Array): void; digest(): string } {
  const h = createHash('sha256');
  return {
    update: (b) => void h.update(b),
    digest: () => h.digest('hex'),
  };
}
