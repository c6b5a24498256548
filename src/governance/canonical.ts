// Canonical JSON for signed governance documents: object keys sorted by UTF-16 code units, no
// whitespace, strings and numbers as JSON.stringify writes them. For the values these documents
// hold (strings, finite numbers, booleans, null, arrays, plain objects) this is the JSON
// Canonicalization Scheme of RFC 8785, the same encoding as the transparency log's entries
// (src/ledger/entry.ts), so a document hashes to the same bytes at every node, at the signer and
// at any verifier, whatever key order or indentation the file on disk has.
import { createHash } from 'node:crypto';
import { refuse } from './errors.js';

export function canonicalJson(v: unknown): string {
  const walk = (x: unknown, at: string): string => {
    if (x === null) return 'null';
    switch (typeof x) {
      case 'boolean':
        return x ? 'true' : 'false';
      case 'string':
        return JSON.stringify(x);
      case 'number':
        if (!Number.isFinite(x)) refuse('malformed', `${at}: ${x} cannot be encoded in JSON`);
        return JSON.stringify(x);
      case 'object': {
        if (Array.isArray(x)) return `[${x.map((y, i) => walk(y, `${at}[${i}]`)).join(',')}]`;
        const proto = Object.getPrototypeOf(x);
        if (proto !== Object.prototype && proto !== null) refuse('malformed', `${at}: only plain JSON objects can be signed`);
        const parts: string[] = [];
        for (const k of Object.keys(x).sort()) {
          const y = (x as Record<string, unknown>)[k];
          if (y === undefined) continue; // as JSON.stringify: an undefined field is absent
          parts.push(`${JSON.stringify(k)}:${walk(y, `${at}.${k}`)}`);
        }
        return `{${parts.join(',')}}`;
      }
      default:
        return refuse('malformed', `${at}: a ${typeof x} cannot be encoded in JSON`);
    }
  };
  return walk(v, 'document');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 (hex) of a value's canonical JSON. */
export function hashJson(v: unknown): string {
  return sha256Hex(canonicalJson(v));
}
