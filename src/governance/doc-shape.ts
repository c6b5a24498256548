// The envelope of a signed document {<field>: body, signature?} (grants, revocations, citizen keys,
// record requests, citizens' envelopes): its shape, its body's format and its signature field, checked
// once here so each document's check looks only at its own fields. Browser-safe.
import { refuse } from './errors.js';
import { isSignature } from './signature.js';

/** Checks the envelope; returns the document, its body and a refusal that names the document. */
export function docShape<D, B extends { format?: unknown }>(x: unknown, field: string, format: string, what: string): { doc: D; body: B; bad: (m: string) => never } {
  const bad = (m: string): never => refuse('malformed', `${what}: ${m}`);
  const o = x as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || !o[field] || typeof o[field] !== 'object') bad(`not a ${what} ({${field}, signature})`);
  const body = o![field] as B;
  if (body.format !== format) bad(`format must be '${format}'`);
  if (o!.signature !== undefined && !isSignature(o!.signature)) bad('the signature field is not a signature');
  return { doc: o as D, body, bad };
}
