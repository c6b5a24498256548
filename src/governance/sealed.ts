// Results sealed to their requester: each node encrypts its part of a result (its share pair, the
// result's metadata, its commitment salt) to the X25519 public key in the requester's signed
// request, with HPKE (RFC 9180, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM;
// the @hpke/core implementation, which runs on WebCrypto in Node and in browsers alike). Only the
// holder of the private key combines the three parts: not the scheduling node, not a reader of the
// API, not a network observer, not a web server that relays the ciphertexts.
//
// The additional data binds a ciphertext to its cluster, job and node, so a part cannot be passed
// off as another job's or another node's.
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

import { RESULT_INFO, resultAad, SEALED_ALG, type Sealed } from './sealed-format.js';

export type { Sealed } from './sealed-format.js';

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
const INFO = RESULT_INFO;
const aadOf = resultAad;
const b64 = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('base64url');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

/** Encrypts a JSON value to a raw X25519 public key (base64url). */
export async function sealJson(value: unknown, recipientKey: string, bind: { cluster: string; job: string; party: number }): Promise<Sealed> {
  const pk = await suite.kem.deserializePublicKey(unb64(recipientKey));
  const sender = await suite.createSenderContext({ recipientPublicKey: pk, info: INFO });
  const ct = await sender.seal(new TextEncoder().encode(JSON.stringify(value)), aadOf(bind.cluster, bind.job, bind.party));
  return { alg: SEALED_ALG, enc: b64(sender.enc), ct: b64(ct) };
}

/** A requester's result key pair: the public half goes into the signed request, the private half stays here. */
export interface ResultKeyPair {
  publicKey: string;
  privateKey: KeyObject;
}

export function newResultKeyPair(): ResultKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: publicKey.export({ format: 'jwk' }).x!, privateKey };
}

/** Decrypts a sealed part with the requester's private key; throws when it was not sealed for this job and node. */
export async function openJson<T>(sealed: Sealed, privateKey: KeyObject, bind: { cluster: string; job: string; party: number }): Promise<T> {
  if (!sealed || sealed.alg !== SEALED_ALG) throw new Error('not a sealed result part');
  const key = await suite.kem.importKey('jwk', privateKey.export({ format: 'jwk' }) as JsonWebKey, false);
  const recipient = await suite.createRecipientContext({ recipientKey: key, enc: unb64(sealed.enc), info: INFO });
  let pt: ArrayBuffer;
  try {
    pt = await recipient.open(unb64(sealed.ct), aadOf(bind.cluster, bind.job, bind.party));
  } catch {
    throw new Error(`node ${bind.party}'s result part for job ${bind.job} does not open with this key (sealed for someone else, or altered)`);
  }
  return JSON.parse(new TextDecoder().decode(pt)) as T;
}
