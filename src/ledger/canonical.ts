// Canonical JSON (RFC 8785 style, for the values Mosaik signs and logs: strings, finite numbers,
// booleans, null, arrays, plain objects): object keys sorted by UTF-16 code units, no whitespace,
// strings and numbers as JSON.stringify writes them. One encoding for the transparency log's
// entries and the governance documents (studies, approvals, policies), so a value hashes to the
// same bytes at every node, signer and verifier whatever key order or indentation it had on disk.

export interface CanonicalOptions {
  /** What the error messages call the top-level value ("value", "document"). */
  root: string;
  /** An undefined field is left out, as JSON.stringify does (true), or refused (false). */
  skipUndefined: boolean;
  /** Throws the caller's error type. */
  fail: (message: string) => never;
  /** Verb for the "only plain objects can be …" message. */
  verb: string;
}

export function canonicalJsonWith(v: unknown, o: CanonicalOptions): string {
  const walk = (x: unknown, at: string): string => {
    if (x === null) return 'null';
    switch (typeof x) {
      case 'boolean':
        return x ? 'true' : 'false';
      case 'string':
        return JSON.stringify(x);
      case 'number':
        if (!Number.isFinite(x)) o.fail(`${at}: ${x} cannot be encoded in JSON`);
        return JSON.stringify(x);
      case 'object': {
        if (Array.isArray(x)) return `[${x.map((y, i) => walk(y, `${at}[${i}]`)).join(',')}]`;
        const proto = Object.getPrototypeOf(x);
        if (proto !== Object.prototype && proto !== null) o.fail(`${at}: only plain objects can be ${o.verb}`);
        const parts: string[] = [];
        for (const k of Object.keys(x).sort()) {
          const y = (x as Record<string, unknown>)[k];
          if (y === undefined) {
            if (o.skipUndefined) continue;
            o.fail(`${at}.${k} is undefined`);
          }
          parts.push(`${JSON.stringify(k)}:${walk(y, `${at}.${k}`)}`);
        }
        return `{${parts.join(',')}}`;
      }
      default:
        return o.fail(`${at}: a ${typeof x} cannot be ${o.verb}`);
    }
  };
  return walk(v, o.root);
}
