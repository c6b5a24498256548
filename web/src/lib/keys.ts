// Identities in the browser. A key stays here: Ed25519 private keys are WebCrypto keys that cannot
// be exported (non-extractable), kept in this browser's IndexedDB; the app signs with them and
// sends signatures, never keys. A key comes from a key file of the mosaik CLI (PKCS#8 PEM, e.g.
// .mosaik/demo/identities/researcher.ed25519.key.pem), imported once, or is made here (then an
// operator registers its public key with the nodes: `mosaik identity keygen`'s member entry, or
// identities.json). The key id is SHA-256 of the raw public key, as the nodes compute it.
import { del, get, set } from 'idb-keyval';
import { buf, fromBase64, sha256Hex, toBase64Url } from './bytes.js';

export interface BrowserIdentity {
  name: string;
  /** The non-extractable Ed25519 private key. */
  privateKey: CryptoKey;
  /** Raw public key, base64url (32 bytes). */
  publicKey: string;
  keyId: string;
  /** What the nodes say this identity is (GET /v1/whoami), once checked. */
  role?: string;
  datasets?: string[];
}

const STORE_KEY = 'mosaik-identity';

function pemBody(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem);
  if (!m) throw new Error(`not a PEM ${label.toLowerCase()} (a file that starts with -----BEGIN ${label}-----)`);
  return fromBase64(m[1]!.replace(/\s+/g, ''));
}

/** Imports an Ed25519 private key file (PKCS#8 PEM); the name is the identity the nodes know it as. */
export async function importKeyFile(pem: string, name: string): Promise<BrowserIdentity> {
  if (!name.trim()) throw new Error('give the name of the identity (as the nodes know it, e.g. researcher)');
  const der = pemBody(pem, 'PRIVATE KEY');
  let jwk: JsonWebKey;
  try {
    // Once extractable, only to read the public half; the key kept is imported again, non-extractable.
    const tmp = await crypto.subtle.importKey('pkcs8', buf(der), { name: 'Ed25519' }, true, ['sign']);
    jwk = await crypto.subtle.exportKey('jwk', tmp);
  } catch (e) {
    throw new Error(`this is not an Ed25519 private key (${(e as Error).message}); use a key file made by mosaik (…ed25519.key.pem)`);
  }
  const privateKey = await crypto.subtle.importKey('pkcs8', buf(der), { name: 'Ed25519' }, false, ['sign']);
  const raw = fromBase64(jwk.x!);
  return { name: name.trim(), privateKey, publicKey: toBase64Url(raw), keyId: await sha256Hex(raw) };
}

/** A new identity made in this browser (its public key must then be registered by an operator). */
export async function newIdentity(name: string): Promise<BrowserIdentity & { publicKeyPem: string }> {
  const kp = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey));
  const b64 = btoa(String.fromCharCode(...spki)).replace(/(.{64})/g, '$1\n');
  return { name, privateKey: kp.privateKey, publicKey: toBase64Url(raw), keyId: await sha256Hex(raw), publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n` };
}

export async function saveIdentity(id: BrowserIdentity): Promise<void> {
  await set(STORE_KEY, id);
}

export async function loadIdentity(): Promise<BrowserIdentity | undefined> {
  return (await get(STORE_KEY)) as BrowserIdentity | undefined;
}

export async function forgetIdentity(): Promise<void> {
  await del(STORE_KEY);
}
