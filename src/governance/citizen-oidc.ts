// The production seam for signing in citizens: an OpenID Connect identity provider (a national e-ID
// broker, e.g. MitID through a broker in Denmark, or any OIDC provider of an eIDAS scheme) proves
// whose key a browser made; Mosaik keeps no password database of its own.
//
//   1. The citizen's browser makes an Ed25519 key pair (WebCrypto, non-extractable private half:
//      web/src/lib/keys.ts newIdentity) and starts the OIDC authorization code flow (with PKCE) at
//      the broker, with nonce = keyBindingNonce(public key): the login is bound to that key
//      (web/src/lib/eid-login.ts; the nonce's code is shared: ./key-binding.ts).
//   2. The broker returns an ID token (a JWS signed with one of its keys, published as a JWKS). The
//      browser sends {id_token, public key} to the consent custodian's enrolment service (the
//      custodian's, not a compute node: only the custodian may see the person id).
//   3. The enrolment service calls enrolFromIdToken: the token's signature against the broker's
//      JWKS, its issuer, audience (the service's client id), expiry, issue time and nonce (= the key
//      sent along); the person id from the broker's claim (for the Danish broker the CPR claim).
//   4. It registers the key as any citizen key (src/cli/citizen.ts registerCitizen): the signed
//      citizen-key document to every node (the key under a pseudonymous name and ref), and one more
//      row (ref, person) in the secret-shared key→person table.
// The enrolment service (src/cli/citizen-enrolment.ts, served by `mosaik web --citizen-login` and
// the demo) runs 3–4 for browsers; `mosaik citizen enrol --id-token … --jwks … --issuer …
// --audience … --public-key …` runs them by hand; test/citizens.test.ts runs it against a stand-in
// broker (its own RSA and EC keys), test/web-citizen-eid.test.ts the whole flow in Chromium.
// What the broker learns: that this person logged in to enrol a key (the nonce is a hash). What
// the custodian learns: the person and their public key (it registers them). The nodes: the key,
// its pseudonymous name and ref.
import { createPublicKey, verify as verifySig, type JsonWebKey, type KeyObject } from 'node:crypto';
import { PERSON_ID_LIMIT } from '../ingest/schema.js';
import { refuse } from './errors.js';
import { publicKeyFromPem, rawPublicKey } from './identity.js';
import { keyBindingNonceOfRaw } from './key-binding.js';

/** The claim of the Danish e-ID broker that carries the CPR number (others: pass their claim name). */
export const CPR_CLAIM = 'dk:gov:saml:attribute:CprNumberIdentifier';
/** Largest difference between a token's issue time and this clock. */
const SKEW_S = 300;

/** The OIDC nonce that binds a login to a public key (./key-binding.ts, shared with the browser). */
export function keyBindingNonce(publicKeyPem: string): string {
  return keyBindingNonceOfRaw(new Uint8Array(rawPublicKey(publicKeyFromPem(publicKeyPem, 'citizen public key'))));
}

export interface IdTokenCheck {
  issuer: string;
  /** The enrolment service's client id. */
  audience: string;
  /** The broker's published keys ({keys: [JWK…]}, as at its jwks_uri). */
  jwks: { keys: (JsonWebKey & { kid?: string })[] };
  nonce: string;
  now?: Date;
}

const ALGS: Record<string, { hash: string | null; ec?: boolean }> = { RS256: { hash: 'sha256' }, ES256: { hash: 'sha256', ec: true }, EdDSA: { hash: null } };

/** Verifies an OIDC ID token (compact JWS); returns its claims or refuses with what is wrong. */
export function verifyIdToken(token: string, o: IdTokenCheck): Record<string, unknown> {
  const bad = (m: string): never => refuse('malformed', `ID token: ${m}`);
  const parts = token.trim().split('.');
  if (parts.length !== 3) bad('not a compact JWS (header.payload.signature)');
  const json = (s: string, what: string): Record<string, unknown> => {
    try {
      return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return bad(`its ${what} is not base64url JSON`);
    }
  };
  const header = json(parts[0]!, 'header');
  const claims = json(parts[1]!, 'payload');
  const alg = ALGS[String(header.alg)];
  if (!alg) bad(`algorithm ${JSON.stringify(header.alg)} is not accepted (RS256, ES256, EdDSA)`);
  const jwk = o.jwks.keys.find((k) => (header.kid === undefined ? o.jwks.keys.length === 1 : k.kid === header.kid));
  if (!jwk) bad(`no key ${JSON.stringify(header.kid)} in the broker's JWKS`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (e) {
    return bad(`the JWKS key ${JSON.stringify(header.kid)} is not usable (${(e as Error).message})`);
  }
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2]!, 'base64url');
  const ok = alg.ec ? verifySig(alg.hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig) : verifySig(alg.hash, data, key, sig);
  if (!ok) bad('the signature does not verify with the broker\'s key');
  const now = Math.floor((o.now ?? new Date()).getTime() / 1000);
  if (claims.iss !== o.issuer) bad(`issuer ${JSON.stringify(claims.iss)} is not ${o.issuer}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(o.audience)) bad(`it is not for ${o.audience} (aud ${JSON.stringify(claims.aud)})`);
  if (typeof claims.exp !== 'number' || claims.exp <= now) bad('it has expired');
  if (typeof claims.iat !== 'number' || claims.iat > now + SKEW_S) bad('it was issued in the future');
  if (claims.nonce !== o.nonce) bad('its nonce does not bind it to this public key (log in again from the browser that made the key)');
  return claims;
}

/** The person id in a verified token's claim (digits, below 2^34). */
export function personFromClaims(claims: Record<string, unknown>, claim = CPR_CLAIM): number {
  const v = String(claims[claim] ?? '').replace(/-/g, '');
  if (!/^\d{1,11}$/.test(v) || BigInt(v) >= PERSON_ID_LIMIT) refuse('malformed', `ID token: claim ${claim} holds no person id`);
  return Number(v);
}

/** Steps 3 of the module comment: whose key this is, proven by the broker. */
export function enrolFromIdToken(idToken: string, publicKeyPem: string, o: Omit<IdTokenCheck, 'nonce'> & { claim?: string }): { person: number; subject: string } {
  const claims = verifyIdToken(idToken, { ...o, nonce: keyBindingNonce(publicKeyPem) });
  return { person: personFromClaims(claims, o.claim), subject: String(claims.sub ?? '') };
}
