// What a custodian signs for one node's upload (./upload-auth.ts signs and verifies it in Node; the
// browser app signs the same statement with WebCrypto): its shape and how it is built from a
// header, importable from anywhere (the upload header of ./schema.ts carries it). The hashes of
// the schema and code lists (SHA-256 of their canonical JSON) are given by the caller, who computes
// them with node:crypto or WebCrypto.
import type { Signature } from '../governance/signature.js';
import type { UploadHeader } from './schema.js';

export const UPLOAD_AUTH_FORMAT = 'mosaik-upload/1';

/** What the custodian signs for one party's upload. */
export interface UploadStatement {
  format: typeof UPLOAD_AUTH_FORMAT;
  cluster: string;
  dataset: string;
  version: string;
  party: 0 | 1 | 2;
  custodian: string;
  rows: number;
  columns: string[];
  schemaSha256: string;
  codeListsSha256: string;
  /** SHA-256 (hex) of this party's share bytes, in body order. */
  sharesSha256: string;
  /** ISO 8601 time of signing. */
  time: string;
}

/** The header's `signature` field: the signed statement and the Ed25519 signature over it. */
export interface UploadSignature extends Signature {
  statement: UploadStatement;
}

/** The statement for a header (without its signature), given the hashes of its schema and code lists. */
export function uploadStatementOf(
  h: UploadHeader,
  o: { cluster: string; version: string; sharesSha256: string; time: string },
  hashes: { schemaSha256: string; codeListsSha256: string },
): UploadStatement {
  return {
    format: UPLOAD_AUTH_FORMAT,
    cluster: o.cluster,
    dataset: h.schema.name,
    version: o.version,
    party: h.party,
    custodian: h.schema.custodian,
    rows: h.rows,
    columns: [...h.columns],
    schemaSha256: hashes.schemaSha256,
    codeListsSha256: hashes.codeListsSha256,
    sharesSha256: o.sharesSha256,
    time: o.time,
  };
}
