// The OIDC nonce that binds an e-ID login to a citizen's public key, the same in Node (the consent
// custodian's enrolment service: ./citizen-oidc.ts) and in a browser (web/src/lib/eid-login.ts):
// base64url(SHA-256("mosaik:citizen-key:v1\n" ‖ raw Ed25519 public key)). It reveals to the
// identity broker, which sees the nonce, only a hash of a public key.
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../ledger/bytes.js';

const CONTEXT = 'mosaik:citizen-key:v1\n';

/** The nonce for a raw (32-byte) Ed25519 public key. */
export function keyBindingNonceOfRaw(raw: Uint8Array): string {
  const prefix = utf8(CONTEXT);
  const input = new Uint8Array(prefix.length + raw.length);
  input.set(prefix);
  input.set(raw, prefix.length);
  const digest = sha256(input);
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
