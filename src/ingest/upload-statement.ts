// What a custodian signs for one node's upload (./upload-auth.ts signs and verifies it in Node; the
// browser app signs the same statement with WebCrypto): its shape and how it is built from a
// header, importable from anywhere (the upload header of ./schema.ts carries it; the header is
// described here by the fields it reads, so the two modules do not import each other). The hashes of
// the schema and code lists (SHA-256 of their canonical JSON) are given by the caller, who computes
// them with node:crypto or WebCrypto.
import type { Signature } from '../governance/signature.js';

/** Version 2 adds `sortedBy`: the order the nodes rely on is signed like the rest. */
export const UPLOAD_AUTH_FORMAT = 'mosaik-upload/2';

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
  /**
   * The person-id column the rows are in ascending order of, as the header declares (null: no
   * order declared). The nodes merge such registers instead of sorting them (src/mpc/merge.ts): a
   * false claim would give wrong joins, so it is signed.
   */
  sortedBy: string | null;
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
  h: { schema: { name: string; custodian: string }; party: 0 | 1 | 2; rows: number; columns: readonly string[]; sortedBy?: string | undefined },
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
    sortedBy: h.sortedBy ?? null,
    sharesSha256: o.sharesSha256,
    time: o.time,
  };
}
