// Identities of the people and organisations who sign governance documents: researchers (who
// sign studies and query requests), custodians (who sign approvals and their data policies) and
// compute nodes (who attest that they authorized a job). Each has an Ed25519 key pair (RFC 8032,
// via node:crypto): the private key stays in a PEM file (PKCS#8, mode 0600) on the owner's machine;
// the public key (SPKI PEM) goes into the consortium configuration (./consortium.ts).
//
// A signature covers `mosaik:<kind>:v1\n` followed by the canonical JSON of the document
// (./canonical.ts). The kind prefix separates domains: an approval's signature can never be
// replayed as a study's or a policy's. A key is named by its key id: SHA-256 (hex) of the raw
// 32-byte public key. Signatures travel as { signer, keyId, alg: 'ed25519', sig: base64 }.
//
// Node keys: the TLS keys of the nodes are ECDSA P-256 (src/net/keys.ts); nodes that attest
// authorizations use an Ed25519 key of their own, given to the functions here as a KeyObject.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from './canonical.js';
import { refuse } from './errors.js';

/**
 * Roles of identities (consortium members, or a cluster's identities.json): researchers sign
 * studies and query requests; custodians own datasets, sign uploads, approvals and policies;
 * auditors read usage and budgets; citizens and doctors (issue 15) act on a citizen's own record.
 * Nodes are listed apart (ConsortiumConfig.nodes).
 */
export type MemberRole = 'researcher' | 'custodian' | 'auditor' | 'citizen' | 'doctor';
export const MEMBER_ROLES: readonly MemberRole[] = ['researcher', 'custodian', 'auditor', 'citizen', 'doctor'];

/** Kinds of signed documents (the domain-separation prefix of every signature). */
export type SignedKind = 'study' | 'approval' | 'policy' | 'query-request' | 'authorization' | 'consent-update' | 'upload' | 'http-request'
  // issue 15: citizens and doctors (src/governance/citizens.ts, grants.ts, record-request.ts, citizen-inbox.ts)
  | 'citizen-key' | 'grant' | 'grant-revocation' | 'record-request' | 'consent-change' | 'pro-submission' | 'inbox-key'
  | 'consent-state-request';

import type { Signature } from './signature.js';
export { isSignature, type Signature } from './signature.js';

/** A private key together with the name it signs as. */
export interface Signer {
  name: string;
  privateKey: KeyObject;
}

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(name: string, what = 'name'): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) refuse('malformed', `${what} '${name}' must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
}

/** A fresh Ed25519 key pair as PEM text (private: PKCS#8, public: SPKI). */
export function generateKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** Parses an Ed25519 public key from SPKI PEM; throws a clear error for anything else. */
export function publicKeyFromPem(pem: string, what = 'public key'): KeyObject {
  let k: KeyObject;
  try {
    k = createPublicKey(pem);
  } catch (e) {
    return refuse('malformed', `${what} is not a PEM public key (${(e as Error).message})`);
  }
  if (k.asymmetricKeyType !== 'ed25519') refuse('malformed', `${what} is a ${k.asymmetricKeyType} key, expected Ed25519`);
  return k;
}

/** Parses an Ed25519 private key from PKCS#8 PEM. */
export function privateKeyFromPem(pem: string, what = 'private key'): KeyObject {
  let k: KeyObject;
  try {
    k = createPrivateKey(pem);
  } catch (e) {
    return refuse('malformed', `${what} is not a PEM private key (${(e as Error).message})`);
  }
  if (k.asymmetricKeyType !== 'ed25519') refuse('malformed', `${what} is a ${k.asymmetricKeyType} key, expected Ed25519`);
  return k;
}

export function loadPrivateKey(path: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    return refuse('malformed', `cannot read private key ${path}: ${(e as Error).message}`);
  }
  return privateKeyFromPem(pem, `private key ${path}`);
}

export function loadPublicKey(path: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    return refuse('malformed', `cannot read public key ${path}: ${(e as Error).message}`);
  }
  return publicKeyFromPem(pem, `public key ${path}`);
}

/** The raw 32 bytes of an Ed25519 public (or private: its public half) key. */
export function rawPublicKey(k: KeyObject): Buffer {
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  const jwk = pub.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) refuse('malformed', 'not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

/** Key id: SHA-256 (hex) of the raw public key. */
export function keyId(k: KeyObject): string {
  return sha256Hex(rawPublicKey(k));
}

export function publicKeyPem(k: KeyObject): string {
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  return pub.export({ format: 'pem', type: 'spki' }).toString();
}

/** The exact bytes a signature of `kind` over `body` covers. */
export function signedBytes(kind: SignedKind, body: unknown): Buffer {
  return Buffer.from(`mosaik:${kind}:v1\n${canonicalJson(body)}`, 'utf8');
}

export function signDocument(kind: SignedKind, body: unknown, signer: Signer): Signature {
  const sig = sign(null, signedBytes(kind, body), signer.privateKey);
  return { signer: signer.name, keyId: keyId(signer.privateKey), alg: 'ed25519', sig: sig.toString('base64') };
}

/** True iff `s` is a valid Ed25519 signature by `publicKey` over (kind, body). Never throws on bad input. */
export function verifyDocument(kind: SignedKind, body: unknown, s: Signature, publicKey: KeyObject): boolean {
  if (!s || s.alg !== 'ed25519' || typeof s.sig !== 'string') return false;
  const sig = Buffer.from(s.sig, 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, signedBytes(kind, body), publicKey, sig);
  } catch {
    return false;
  }
}

/** Files written by writeIdentity. */
export interface IdentityFiles {
  name: string;
  role: MemberRole | 'node';
  keyPath: string;
  publicKeyPath: string;
  /** <name>.member.json: the entry to add to the consortium configuration. */
  memberPath: string;
  publicKeyPem: string;
  keyId: string;
}

export const identityPaths = (dir: string, name: string) => ({
  keyPath: join(dir, `${name}.ed25519.key.pem`),
  publicKeyPath: join(dir, `${name}.ed25519.pub.pem`),
  memberPath: join(dir, `${name}.member.json`),
});

/**
 * Creates an Ed25519 identity in `dir`: <name>.ed25519.key.pem (mode 0600), <name>.ed25519.pub.pem
 * and <name>.member.json ({name, role, publicKey}) for the consortium configuration. Refuses to
 * replace an existing key unless overwrite is set.
 */
export function writeIdentity(dir: string, name: string, role: MemberRole | 'node', opts: { overwrite?: boolean } = {}): IdentityFiles {
  checkName(name);
  if (role !== 'node' && !MEMBER_ROLES.includes(role)) refuse('malformed', `role '${role}' must be one of ${[...MEMBER_ROLES, 'node'].join(', ')}`);
  const paths = identityPaths(dir, name);
  if (existsSync(paths.keyPath) && !opts.overwrite) refuse('malformed', `${paths.keyPath} exists; pass overwrite (--force) to replace it`);
  mkdirSync(dir, { recursive: true });
  const { privateKeyPem, publicKeyPem: pub } = generateKeyPair();
  writeFileSync(paths.keyPath, privateKeyPem, { mode: 0o600 });
  chmodSync(paths.keyPath, 0o600); // also when the file existed with other permissions
  writeFileSync(paths.publicKeyPath, pub);
  const id = keyId(publicKeyFromPem(pub));
  writeFileSync(paths.memberPath, JSON.stringify({ name, role, publicKey: pub, keyId: id }, null, 2) + '\n');
  return { name, role, ...paths, publicKeyPem: pub, keyId: id };
}
