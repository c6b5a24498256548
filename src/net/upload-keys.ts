// Each node's X25519 upload key: browsers seal every node's share body to it (HPKE,
// src/ingest/sealed-upload-format.ts), so a web server that relays the three bodies learns nothing.
// The private key is <keyDir>/<name>.upload.key.pem (PKCS#8, mode 0600), made with the node's other
// keys (`mosaik keygen`, `mosaik local-cluster`: ./keys.ts); it never leaves the node's directory.
// The public key goes into cluster.json as the node entry's "uploadKey": "x25519:<base64url>",
// which `mosaik web` passes to the browser with the rest of the public cluster information.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uploadKeyBase64url } from '../ingest/sealed-upload-format.js';
import type { PartyId } from './channel.js';
import { clusterFileField, writeNewKeyFile, type ClusterConfig } from './keys.js';

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

/**
 * The nodes' public upload keys from cluster.json (undefined for a node without one: a cluster
 * made before browser uploads). Read from the file itself, as apiPorts does: the validated
 * ClusterConfig keeps only what the MPC needs.
 */
export function clusterUploadKeys(config: ClusterConfig): (string | undefined)[] {
  const keys = clusterFileField(config, 'uploadKey');
  return config.nodes.map((n, i) => {
    const k = keys[i];
    if (k === undefined) return undefined;
    try {
      return `x25519:${uploadKeyBase64url(k as string)}`;
    } catch (e) {
      throw new Error(`cluster config node ${n.id} (${n.name}): ${(e as Error).message}`);
    }
  });
}

/**
 * This node's upload key, checked against the one cluster.json gives for it; null (with the reason)
 * when the cluster has none for this node, so the node serves everything but sealed uploads.
 */
export function loadUploadIdentity(config: ClusterConfig, party: PartyId, keyDir: string): { key: UploadKey | null; problem?: string } {
  const me = config.nodes[party];
  const published = clusterUploadKeys(config)[party];
  const path = uploadKeyPath(keyDir, me.name);
  const fix = `run \`mosaik keygen --out ${keyDir} --name ${me.name}\` (it adds the missing upload key) and put its "uploadKey" into every copy of cluster.json; a local cluster: \`mosaik local-cluster <dir>\``;
  if (!published) return { key: null, problem: `cluster.json gives no "uploadKey" for node ${party} (${me.name}): browsers cannot seal uploads for it; ${fix}` };
  if (!existsSync(path)) return { key: null, problem: `this node has no upload key ${path}: ${fix}` };
  const key = readUploadKey(keyDir, me.name);
  if (key.publicKey !== published) throw new Error(`this node's upload key (${key.publicKey}) is not the one cluster.json gives for party ${party} (${me.name}): ${published}`);
  return { key };
}
