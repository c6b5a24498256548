// Authenticated requests to a node's API: every route that accepts work or returns anything
// derived from data needs an identity with a key (researcher, custodian, auditor, citizen, doctor).
// In the spirit of RFC 9421 (HTTP Message Signatures) with Ed25519, simplified to one header:
//
//   Authorization: Mosaik-Ed25519 <base64url of the JSON {signer, keyId, time, nonce, bodySha256, sig}>
//
// `sig` is the signer's Ed25519 signature (./identity.ts signDocument, kind 'http-request') over
// {method, path, audience, signer, keyId, time, nonce, bodySha256}:
//   path        the request target as sent, query string included (GET /v1/jobs/<id>)
//   audience    '<cluster>/<node name>': a request signed for one node is refused by every other,
//               so a node that receives it cannot replay it elsewhere
//   bodySha256  SHA-256 (hex) of the exact body bytes, or 'unsigned' for a streamed upload (whose
//               header carries its own signature over the share bytes: src/ingest/upload-auth.ts)
//   time/nonce  fresh within ±MAX_SKEW_MS; a node refuses a nonce it has seen (RequestNonces)
// The transport is TLS with the node's pinned certificate, so nobody else sees the header; the
// signature binds the request to its sender, its node and its body. Keys stay with their owners
// (a CLI key file, a browser's non-extractable WebCrypto key): the node holds public keys only.
import { createHash, randomUUID } from 'node:crypto';
import { isSignature, keyId, signDocument, verifyDocument, type Signature, type Signer } from './identity.js';

export const AUTH_SCHEME = 'Mosaik-Ed25519';
/** Largest difference between a request's time and the node's clock. */
export const MAX_SKEW_MS = 5 * 60_000;
/** The body hash of a streamed upload, whose header is signed on its own. */
export const UNSIGNED_BODY = 'unsigned';

/** What a request signature covers besides the claims. */
export interface RequestTarget {
  method: string;
  /** Path with query string, as sent. */
  path: string;
  /** '<cluster>/<node name>' of the node it is for. */
  audience: string;
}

export interface RequestClaims {
  signer: string;
  keyId: string;
  time: string;
  nonce: string;
  bodySha256: string;
}

/** Why a request is not authenticated: 401 (no or bad credentials) or 403 (known, but not allowed). */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: 401 | 403,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

export const audienceOf = (cluster: string, node: string) => `${cluster}/${node}`;

export function bodyHash(body: Uint8Array | undefined | typeof UNSIGNED_BODY): string {
  if (body === UNSIGNED_BODY) return UNSIGNED_BODY;
  return createHash('sha256').update(body ?? new Uint8Array(0)).digest('hex');
}

const signedBody = (t: RequestTarget, c: RequestClaims) => ({ method: t.method.toUpperCase(), path: t.path, audience: t.audience, signer: c.signer, keyId: c.keyId, time: c.time, nonce: c.nonce, bodySha256: c.bodySha256 });

/** The Authorization header value for a request. */
export function signRequest(t: RequestTarget, body: Uint8Array | undefined | typeof UNSIGNED_BODY, signer: Signer, now = new Date()): string {
  const claims: RequestClaims = { signer: signer.name, keyId: keyId(signer.privateKey), time: now.toISOString(), nonce: randomUUID(), bodySha256: bodyHash(body) };
  const s = signDocument('http-request', signedBody(t, claims), signer);
  return `${AUTH_SCHEME} ${Buffer.from(JSON.stringify({ ...claims, sig: s.sig })).toString('base64url')}`;
}

/** The claims and signature of an Authorization header; AuthError(401) when it is not one. */
export function parseAuthorization(header: string | undefined): { claims: RequestClaims; signature: Signature } {
  if (!header) throw new AuthError(`this route needs an identity: sign the request (header "Authorization: ${AUTH_SCHEME} …"; the mosaik CLI does it with --key <your Ed25519 key>)`, 401);
  const [scheme, token, extra] = header.trim().split(/\s+/);
  if (scheme !== AUTH_SCHEME || !token || extra !== undefined) throw new AuthError(`Authorization must be "${AUTH_SCHEME} <token>"`, 401);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new AuthError('the Authorization token is not base64url JSON', 401);
  }
  for (const k of ['signer', 'keyId', 'time', 'nonce', 'bodySha256', 'sig']) if (typeof o[k] !== 'string' || !o[k]) throw new AuthError(`the Authorization token has no ${k}`, 401);
  const claims = { signer: o.signer, keyId: o.keyId, time: o.time, nonce: o.nonce, bodySha256: o.bodySha256 } as RequestClaims;
  const signature = { signer: claims.signer, keyId: claims.keyId, alg: 'ed25519' as const, sig: o.sig as string };
  if (!isSignature(signature)) throw new AuthError('malformed signature', 401);
  return { claims, signature };
}

/** A public key the verifier trusts for a name, with what it may do. */
export interface KnownKey<R extends string = string> {
  name: string;
  role: R;
  keyId: string;
  publicKey: import('node:crypto').KeyObject;
}

/** Nonces seen in the last 2·MAX_SKEW_MS (a replayed request is refused). */
export class RequestNonces {
  private readonly seen = new Map<string, number>();
  use(nonce: string, now: number): boolean {
    if (this.seen.size > 10_000 || Math.random() < 0.01) for (const [n, t] of this.seen) if (now - t > 2 * MAX_SKEW_MS) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, now);
    return true;
  }
}

/**
 * Checks a request's Authorization header: a known signer, its registered key, a valid signature
 * over this method, path, audience and body, a fresh time and an unused nonce. Returns the signer.
 * Throws AuthError(401).
 */
export function verifyRequest<R extends string>(header: string | undefined, t: RequestTarget, body: Uint8Array | undefined | typeof UNSIGNED_BODY, lookup: (name: string) => KnownKey<R> | undefined, nonces: RequestNonces, now = Date.now()): KnownKey<R> {
  const { claims, signature } = parseAuthorization(header);
  const who = lookup(claims.signer);
  if (!who) throw new AuthError(`'${claims.signer}' is not an identity this node knows (an operator registers identities: identities.json of the cluster, or the consortium configuration)`, 401);
  if (who.keyId !== claims.keyId) throw new AuthError(`the request is signed with key ${claims.keyId.slice(0, 16)}…, which is not ${claims.signer}'s registered key`, 401);
  const at = Date.parse(claims.time);
  if (!Number.isFinite(at) || Math.abs(at - now) > MAX_SKEW_MS) throw new AuthError(`the request's time ${claims.time} is more than ${MAX_SKEW_MS / 60_000} minutes from this node's clock (${new Date(now).toISOString()}); check the clock`, 401);
  const want = bodyHash(body);
  if (claims.bodySha256 !== want) throw new AuthError(claims.bodySha256 === UNSIGNED_BODY || want === UNSIGNED_BODY ? 'only streamed uploads may leave the body unsigned' : 'the body is not the one the request signature covers', 401);
  if (!verifyDocument('http-request', signedBody(t, claims), signature, who.publicKey)) throw new AuthError(`the request signature of '${claims.signer}' does not verify (signed for another node, path or body, or with another key)`, 401);
  if (!nonces.use(claims.nonce, now)) throw new AuthError('this request was already received (replayed nonce)', 401);
  return who;
}
