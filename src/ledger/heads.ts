// Signed tree heads of the transparency log, in the manner of RFC 9162 §4.10 (signed tree head):
// a head {cluster, size, rootHash, timestamp} commits to the log's first `size` entries through
// its Merkle root (src/ledger/merkle.ts). Each of the three nodes signs it with its Ed25519 key
// (RFC 8032); the head is *co-signed* when the signatures of all three nodes, whose public keys
// cluster.json pins, verify. A node signs a head only after recomputing the root from its own
// replica, so a co-signed head means: all three nodes held exactly these entries.
//
// Signed message: "mosaik-tree-head-v1\n" followed by the canonical JSON (src/ledger/entry.ts) of
// {cluster, rootHash, size, timestamp}; the prefix keeps these signatures from meaning anything else.
//
// This module is the verifying side and runs unchanged in the browser (src/ledger/ed25519.ts);
// signing needs the node's private key and lives in src/ledger/heads-sign.ts (Node only).
import { fromBase64, utf8 } from './bytes.js';
import { verifyEd25519 } from './ed25519.js';
import { canonicalJson, ISO_TIME, LedgerError } from './entry.js';

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

export const HEAD_DOMAIN = 'mosaik-tree-head-v1\n';

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
export function headMessage(h: TreeHead): Uint8Array {
  const { cluster, size, rootHash, timestamp } = h;
  return utf8(HEAD_DOMAIN + canonicalJson({ cluster, size, rootHash, timestamp }));
}

/** Whether `signature` (base64 of 64 bytes) is the Ed25519 signature of the head under the cluster.json-form key. */
export function verifyHeadSignature(h: TreeHead, signature: string, publicKeyText: string): boolean {
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  const sig = fromBase64(signature);
  if (!sig) return false;
  try {
    return verifyEd25519(publicKeyText, headMessage(h), sig);
  } catch {
    return false;
  }
}

/** One problem with a head's co-signature: whose signature (when it is one node's), and the sentence. */
export interface SignatureProblem {
  party?: 0 | 1 | 2;
  message: string;
}

/**
 * Problems with a head's co-signature under the cluster's three public keys (empty: co-signed),
 * each with the party it concerns. Reports every missing, duplicate, foreign and bad signature.
 */
export function coSignatureFindings(h: SignedHead, keys: readonly [string, string, string], names: readonly string[] = ['node 0', 'node 1', 'node 2']): SignatureProblem[] {
  const out: SignatureProblem[] = [];
  const label = (p: number) => `${names[p] ?? `node ${p}`} (party ${p})`;
  if (!Array.isArray(h.signatures)) return [{ message: 'has no signatures array' }];
  const seen = new Set<number>();
  for (const s of h.signatures) {
    const p = (s as HeadSignature | null)?.party;
    if (p !== 0 && p !== 1 && p !== 2) {
      out.push({ message: `carries a signature of an unknown party ${JSON.stringify(p)}` });
      continue;
    }
    if (seen.has(p)) {
      out.push({ party: p, message: `carries two signatures of ${label(p)}` });
      continue;
    }
    seen.add(p);
    if (!verifyHeadSignature(h, s.signature, keys[p])) out.push({ party: p, message: `the signature of ${label(p)} does not verify (forged signature or altered head)` });
  }
  for (const p of [0, 1, 2] as const) if (!seen.has(p)) out.push({ party: p, message: `is missing the signature of ${label(p)}` });
  return out;
}

/**
 * Problems with a head's co-signature under the cluster's three public keys (empty: co-signed).
 * `names` label the nodes in messages. Reports every missing, duplicate, foreign and bad signature.
 */
export function coSignatureProblems(h: SignedHead, keys: readonly [string, string, string], names: readonly string[] = ['node 0', 'node 1', 'node 2']): string[] {
  return coSignatureFindings(h, keys, names).map((f) => f.message);
}
