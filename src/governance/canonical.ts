// Canonical JSON for signed governance documents: object keys sorted by UTF-16 code units, no
// whitespace, strings and numbers as JSON.stringify writes them. For the values these documents
// hold (strings, finite numbers, booleans, null, arrays, plain objects) this is the JSON
// Canonicalization Scheme of RFC 8785, the same encoding as the transparency log's entries
// (one implementation: src/ledger/canonical.ts), so a document hashes to the same bytes at every node, at the signer and
// at any verifier, whatever key order or indentation the file on disk has.
import { createHash } from 'node:crypto';
import { canonicalJsonWith } from '../ledger/canonical.js';
import { refuse } from './errors.js';

export function canonicalJson(v: unknown): string {
  return canonicalJsonWith(v, { root: 'document', skipUndefined: true, verb: 'signed', fail: (m) => refuse('malformed', m) });
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 (hex) of a value's canonical JSON. */
export function hashJson(v: unknown): string {
  return sha256Hex(canonicalJson(v));
}
