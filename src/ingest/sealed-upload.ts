// Sealing one node's upload body to that node's X25519 upload key (HPKE with @hpke/core, which runs
// on WebCrypto in browsers and in Node alike): the browser app seals every body it uploads with
// this (web/src/lib/custodian-upload.ts), tests seal bodies with it to attack the node's route.
// Layout, suite and binding: ./sealed-upload-format.ts. A fresh ephemeral key per body; only the
// node holding the private key opens it, and only under the cluster, node, dataset and version
// it was sealed for. Reveals to whoever carries it: the body's length.
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { encodeSealedUpload, sealedUploadAad, UPLOAD_SEAL_INFO, uploadKeyBase64url } from './sealed-upload-format.js';

/** The HPKE suite of sealed uploads (./sealed-upload-format.ts); the node opens bodies with it (src/node/sealed-upload.ts). */
export const UPLOAD_SUITE = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

function fromBase64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '='));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The bytes as an ArrayBuffer of exactly their length (a copy unless they fill theirs; Buffer.slice would not copy). */
export const arrayBufferOf = (b: Uint8Array): ArrayBuffer => {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c.buffer;
};

/** Seals `body` for the node whose upload key is `uploadKey` ("x25519:<base64url>"), bound to cluster, node, dataset and version. */
export async function sealUpload(body: Uint8Array, uploadKey: string, bind: { cluster: string; node: string; party: number; dataset: string; version: string }): Promise<Uint8Array> {
  const pk = await UPLOAD_SUITE.kem.deserializePublicKey(arrayBufferOf(fromBase64url(uploadKeyBase64url(uploadKey))));
  const sender = await UPLOAD_SUITE.createSenderContext({ recipientPublicKey: pk, info: arrayBufferOf(UPLOAD_SEAL_INFO) });
  const ct = await sender.seal(arrayBufferOf(body), arrayBufferOf(sealedUploadAad(bind)));
  return encodeSealedUpload(new Uint8Array(sender.enc), new Uint8Array(ct));
}
