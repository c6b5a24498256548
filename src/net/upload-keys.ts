// Each node's X25519 upload key: browsers seal every node's share body to it (HPKE,
// src/ingest/sealed-upload-format.ts), so a web server that relays the three bodies learns nothing.
// The private key is <keyDir>/<name>.upload.key.pem (PKCS#8, mode 0600), made with the node's other
// keys (`mosaik keygen`, `mosaik local-cluster`: ./keys.ts); it never leaves the node's directory.
// The public key goes into cluster.json as the node entry's "uploadKey": "x25519:<base64url>",
// which `mosaik web` passes to the browser with the rest of the public cluster information.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewKeyFile } from './key-file.js';

export interface UploadKey {
  /** PKCS#8 PEM of the X25519 private key. */
  privateKeyPem: string;
  /** "x25519:<base64url of the 32-byte public key>", as cluster.json carries it. */
  publicKey: string;
}

export function uploadKeyPath(outDir: string, name: string): string {
  return join(outDir, `${name}.upload.key.pem`);
}

/** The cluster.json form of an X25519 public key. */
export function uploadPublicKeyOf(key: KeyObject | string): string {
  const pub = typeof key === 'string' ? createPublicKey(createPrivateKey(key)) : key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'x25519') throw new Error(`an upload key must be X25519, got ${pub.asymmetricKeyType}`);
  return `x25519:${pub.export({ format: 'jwk' }).x}`;
}

export function generateUploadKey(): UploadKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, publicKey: uploadPublicKeyOf(publicKey) };
}

/** Writes <outDir>/<name>.upload.key.pem (mode 0600); refuses to replace an existing one unless asked. */
export function writeUploadKey(outDir: string, name: string, opts: { overwrite?: boolean } = {}): UploadKey & { path: string } {
  return writeNewKeyFile(uploadKeyPath(outDir, name), generateUploadKey, opts.overwrite);
}

export function readUploadKey(outDir: string, name: string): UploadKey {
  const privateKeyPem = readFileSync(uploadKeyPath(outDir, name), 'utf8');
  return { privateKeyPem, publicKey: uploadPublicKeyOf(privateKeyPem) };
}
