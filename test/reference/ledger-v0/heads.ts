// REFERENCE COPY, for test/ledger-iso.test.ts only: src/ledger/heads.ts as it was before verification became
// isomorphic (commit 7480b02; node:crypto SHA-256 and Ed25519). Frozen: the new code must give the same answers.
// Signed tree heads of the transparency log, in the manner of RFC 9162 §4.10 (signed tree head):
// a head {cluster, size, rootHash, timestamp} commits to the log's first `size` entries through
// its Merkle root (src/ledger/merkle.ts). Each of the three nodes signs it with its Ed25519 key
// (RFC 8032, node:crypto); the head is *co-signed* when the signatures of all three nodes, whose
// public keys cluster.json pins, verify. A node signs a head only after recomputing the root from
// its own replica, so a co-signed head means: all three nodes held exactly these entries.
//
// Signed message: "mosaik-tree-head-v1\n" followed by the canonical JSON (src/ledger/entry.ts) of
// {cluster, rootHash, size, timestamp}; the prefix keeps these signatures from meaning anything else.
import { sign, verify, createPrivateKey, type KeyObject } from 'node:crypto';
import { signingPublicKey } from '../../../src/net/keys.js';
import { canonicalJson, ISO_TIME, LedgerError } from '../../../src/ledger/entry.js';

export interface TreeHead {
  cluster: string;
  size: number;
  /** Merkle root of the first `size` entries, 64 lower-case hex digits. */
  rootHash: string;
  /** ISO 8601 UTC time at which the scheduler proposed the head. */
  timestamp: string;
}

export interface HeadSignature {
  party: 0 | 1 | 2;
  /** Ed25519 signature of headMessage(head), base64. */
  signature: string;
}

export interface SignedHead extends TreeHead {
  signatures: HeadSignature[];
}

const DOMAIN = 'mosaik-tree-head-v1\n';

/** Checks the shape of a head (not its signatures). */
export function checkTreeHead(h: unknown, where = 'tree head'): TreeHead {
  const bad = (m: string): never => {
    throw new LedgerError(`${where}: ${m}`);
  };
  if (!h || typeof h !== 'object') bad('not a JSON object');
  const x = h as Record<string, unknown>;
  if (typeof x.cluster !== 'string' || !x.cluster) bad('cluster must be a non-empty string');
  if (!Number.isSafeInteger(x.size) || (x.size as number) < 0) bad(`size must be a non-negative integer, got ${JSON.stringify(x.size)}`);
  if (typeof x.rootHash !== 'string' || !/^[0-9a-f]{64}$/.test(x.rootHash)) bad(`rootHash must be 64 lower-case hex digits, got ${JSON.stringify(x.rootHash)}`);
  if (typeof x.timestamp !== 'string' || !ISO_TIME.test(x.timestamp) || Number.isNaN(Date.parse(x.timestamp))) bad(`timestamp must be an ISO 8601 UTC time, got ${JSON.stringify(x.timestamp)}`);
  return { cluster: x.cluster as string, size: x.size as number, rootHash: x.rootHash as string, timestamp: x.timestamp as string };
}

/** The bytes each node signs for a head. */
export function headMessage(h: TreeHead): Buffer {
  const { cluster, size, rootHash, timestamp } = h;
  return Buffer.from(DOMAIN + canonicalJson({ cluster, size, rootHash, timestamp }), 'utf8');
}

/** This node's signature of a head (Ed25519 over headMessage). */
export function signHead(h: TreeHead, party: 0 | 1 | 2, privateKey: string | KeyObject): HeadSignature {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return { party, signature: sign(null, headMessage(h), key).toString('base64') };
}

const keyCache = new Map<string, KeyObject>();
function publicKey(s: string): KeyObject {
  let k = keyCache.get(s);
  if (!k) keyCache.set(s, (k = signingPublicKey(s)));
  return k;
}

export function verifyHeadSignature(h: TreeHead, signature: string, publicKeyText: string): boolean {
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  try {
    return verify(null, headMessage(h), publicKey(publicKeyText), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Problems with a head's co-signature under the cluster's three public keys (empty: co-signed).
 * `names` label the nodes in messages. Reports every missing, duplicate, foreign and bad signature.
 */
export function coSignatureProblems(h: SignedHead, keys: readonly [string, string, string], names: readonly string[] = ['node 0', 'node 1', 'node 2']): string[] {
  const out: string[] = [];
  const label = (p: number) => `${names[p] ?? `node ${p}`} (party ${p})`;
  if (!Array.isArray(h.signatures)) return ['has no signatures array'];
  const seen = new Set<number>();
  for (const s of h.signatures) {
    const p = (s as HeadSignature | null)?.party;
    if (p !== 0 && p !== 1 && p !== 2) {
      out.push(`carries a signature of an unknown party ${JSON.stringify(p)}`);
      continue;
    }
    if (seen.has(p)) {
      out.push(`carries two signatures of ${label(p)}`);
      continue;
    }
    seen.add(p);
    if (!verifyHeadSignature(h, s.signature, keys[p])) out.push(`the signature of ${label(p)} does not verify (forged signature or altered head)`);
  }
  for (const p of [0, 1, 2]) if (!seen.has(p)) out.push(`is missing the signature of ${label(p)}`);
  return out;
}
