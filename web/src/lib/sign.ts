// Signatures made in the browser, byte for byte as the nodes verify them (src/governance/identity.ts
// signedBytes, src/governance/request-auth.ts): Ed25519 over "mosaik:<kind>:v1\n" + the canonical
// JSON of the body (src/ledger/canonical.ts, the same encoder the nodes use).
import { canonicalJsonWith } from '../../../src/ledger/canonical.js';
import { buf, sha256Hex, toBase64, toBase64Url, utf8 } from './bytes.js';
import type { BrowserIdentity } from './keys.js';

export type SignedKind = 'study' | 'approval' | 'policy' | 'query-request' | 'consent-update' | 'upload' | 'http-request' | 'grant' | 'grant-revocation' | 'record-request' | 'consent-change' | 'pro-submission' | 'consent-state-request';

export interface Signature {
  signer: string;
  keyId: string;
  alg: 'ed25519';
  sig: string;
}

export const canonicalJson = (v: unknown): string =>
  canonicalJsonWith(v, { root: 'document', skipUndefined: true, verb: 'signed', fail: (m) => { throw new Error(m); } });

async function sign(id: BrowserIdentity, bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, id.privateKey, buf(bytes)));
}

/** A document's signature (studies, approvals, policies, query requests…). */
export async function signDocument(kind: SignedKind, body: unknown, id: BrowserIdentity): Promise<Signature> {
  const s = await sign(id, utf8(`mosaik:${kind}:v1\n${canonicalJson(body)}`));
  return { signer: id.name, keyId: id.keyId, alg: 'ed25519', sig: toBase64(s) };
}

/** The Authorization header of one call to one node (audience '<cluster>/<node name>'). */
export async function authorization(id: BrowserIdentity, t: { method: string; path: string; audience: string }, body: Uint8Array | undefined | 'unsigned'): Promise<string> {
  const bodySha256 = body === 'unsigned' ? 'unsigned' : await sha256Hex(body ?? new Uint8Array(0));
  const claims = { signer: id.name, keyId: id.keyId, time: new Date().toISOString(), nonce: crypto.randomUUID(), bodySha256 };
  const signed = { method: t.method.toUpperCase(), path: t.path, audience: t.audience, ...claims };
  const s = await sign(id, utf8(`mosaik:http-request:v1\n${canonicalJson(signed)}`));
  return `Mosaik-Ed25519 ${toBase64Url(utf8(JSON.stringify({ ...claims, sig: toBase64(s) })))}`;
}
