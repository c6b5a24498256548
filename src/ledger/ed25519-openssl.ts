// Ed25519 verification (RFC 8032 §5.1.7) through node:crypto, for Node processes only: the node
// daemons and the CLI install it over src/ledger/ed25519.ts's @noble/curves arithmetic, which stays
// what the browser runs. ed25519.ts still decodes and checks the key (canonical, not of small order)
// and S < L; OpenSSL then checks the cofactorless equation, the same one (test/ledger-iso.test.ts).
// Reveals nothing: public keys, messages and signatures only.
import { verify, type KeyObject } from 'node:crypto';
import { signingPublicKey } from '../net/keys.js';
import { setPlatformEd25519 } from './ed25519.js';

const keys = new Map<string, KeyObject>();

/** OpenSSL's verdict on an Ed25519 signature under a raw 32-byte public key (KeyObjects cached). */
export function verifyWithOpenSsl(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const id = `ed25519:${Buffer.from(publicKey).toString('base64url')}`; // cluster.json's form
  let key = keys.get(id);
  if (!key) {
    key = signingPublicKey(id);
    if (keys.size >= 64) keys.clear(); // a handful of node keys in practice
    keys.set(id, key);
  }
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** From now on, this process verifies Ed25519 signatures (tree heads) with OpenSSL. */
export function useOpenSslEd25519(): void {
  setPlatformEd25519(verifyWithOpenSsl);
}
