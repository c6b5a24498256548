// Result keys and sealed parts in the browser: an X25519 key pair per query (HPKE, RFC 9180, the
// suite of src/governance/sealed-format.ts, with @hpke/core on WebCrypto). The public half goes
// into the signed request; the private half never leaves this browser (kept in IndexedDB with the
// result history, as a non-extractable key where the browser allows).
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { RESULT_INFO, resultAad, SEALED_ALG, type Sealed } from '../../../src/governance/sealed-format.js';
import { buf, fromBase64, toBase64Url } from './bytes.js';

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

export interface ResultKeys {
  publicKey: string;
  privateKey: CryptoKey;
}

export async function newResultKeys(): Promise<ResultKeys> {
  const kp = await suite.kem.generateKeyPair();
  return { publicKey: toBase64Url(new Uint8Array(await suite.kem.serializePublicKey(kp.publicKey))), privateKey: kp.privateKey };
}

export async function openSealed<T>(sealed: Sealed, key: CryptoKey, bind: { cluster: string; job: string; party: number }): Promise<T> {
  if (!sealed || sealed.alg !== SEALED_ALG) throw new Error('not a sealed result part');
  const recipient = await suite.createRecipientContext({ recipientKey: key, enc: buf(fromBase64(sealed.enc)).buffer, info: buf(RESULT_INFO).buffer });
  let pt: ArrayBuffer;
  try {
    pt = await recipient.open(buf(fromBase64(sealed.ct)).buffer, buf(resultAad(bind.cluster, bind.job, bind.party)).buffer);
  } catch {
    throw new Error(`node ${bind.party}'s part of job ${bind.job} does not open with this browser's key (sealed for someone else, or altered)`);
  }
  return JSON.parse(new TextDecoder().decode(pt)) as T;
}
