// What a custodian signs for one node's upload (./upload-auth.ts signs and verifies it): its
// shape only, importable from anywhere (the upload header of ./schema.ts carries it).
import type { Signature } from '../governance/signature.js';

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
