// REFERENCE COPY, for test/ledger-iso.test.ts only: src/ledger/verify.ts as it was before verification became
// isomorphic (commit 7480b02; node:crypto SHA-256 and Ed25519). Frozen: the new code must give the same answers.
// The auditor's checks of transparency-log replicas, from genesis (RFC 9162 §8.3 "auditing", done
// on the whole log instead of on proofs alone). Pure functions over the replica's text, used by a
// node opening its own log (src/ledger/log.ts) and by `mosaik audit verify` (src/cli/audit.ts).
//
// One replica (verifyReplica): every line a complete, canonical entry whose seq is its position
// (a removed entry shows as a gap, a reordered one as seq out of order); every stored head
// co-signed by all three nodes under the keys of cluster.json; heads in order; the Merkle root of
// the first `size` entries equal to each head's rootHash (a changed entry breaks it) and each head
// no larger than the log (else entries were cut off); successive heads consistent (§2.1.4).
// Across replicas (compareReplicas): each log a prefix of the others (else they diverge), no two
// co-signed heads of one size with different roots (a fork: someone got all three nodes to sign
// two histories), and no replica shorter than a head the nodes co-signed (it lost entries).
//
// Every finding is a sentence naming the node, the entry or head, and what is wrong. Problems make
// the audit fail; warnings (entries not yet co-signed, a replica lagging behind) do not.
import { canonicalJson, checkEntry, type LedgerEntry } from '../../../src/ledger/entry.js';
import { checkTreeHead, coSignatureProblems, type SignedHead } from './heads.js';
import { leafHash, MerkleTree, toHex, verifyConsistency, fromHex } from './merkle.js';

export interface ReplicaInput {
  /** How reports name this replica, e.g. "node-c". */
  label: string;
  /** Complete lines of entries.jsonl (without the newline). */
  entryLines: string[];
  /** Bytes after the last newline of entries.jsonl (a half-written append), if any. */
  entriesPartial?: string;
  /** Complete lines of heads.jsonl. */
  headLines: string[];
  headsPartial?: string;
}

export interface TrustAnchor {
  /**
   * Which heads' signatures to check: 'all' (default; the auditor) or 'latest' (a node reopening
   * its own replica: every head's root is still checked against the entries, so no entry can be
   * changed unnoticed, but 3 Ed25519 verifications per head would make opening 10^5 heads slow).
   */
  signatures?: 'all' | 'latest';
  cluster: string;
  /** Public Ed25519 keys of nodes 0, 1, 2 (cluster.json). */
  keys: readonly [string, string, string];
  /** Node names for messages. */
  names: readonly [string, string, string];
}

export interface ReplicaReport {
  label: string;
  problems: string[];
  warnings: string[];
  /** Entry lines (whatever they hold). */
  size: number;
  /** Merkle tree over the lines as stored. */
  tree: MerkleTree;
  /** Parsed entries (undefined where a line is not a valid entry). */
  entries: (LedgerEntry | undefined)[];
  /** Every head that parses, in file order. */
  heads: SignedHead[];
  /** Heads that are co-signed and match this replica's entries. */
  goodHeads: SignedHead[];
  /** Heads that are co-signed (whatever the entries say): what the three nodes vouched for. */
  cosigned: SignedHead[];
  latest?: SignedHead;
}

/** Splits a .jsonl file's text into complete lines and a partial tail. */
export function splitLines(text: string): { lines: string[]; partial?: string } {
  if (!text) return { lines: [] };
  const parts = text.split('\n');
  const last = parts.pop()!;
  return last ? { lines: parts, partial: last } : { lines: parts };
}

const short = (hex: string) => `${hex.slice(0, 12)}…`;
const range = (a: number, b: number) => (a === b ? `entry ${a}` : `entries ${a}..${b}`);

/** Caps a list of similar findings (the first few, then a count). */
function capped(out: string[], items: string[], max = 5): void {
  out.push(...items.slice(0, max));
  if (items.length > max) out.push(`… and ${items.length - max} more like the above`);
}

export function verifyReplica(r: ReplicaInput, anchor: TrustAnchor): ReplicaReport {
  const problems: string[] = [];
  const warnings: string[] = [];
  const P = (m: string) => problems.push(`${r.label}: ${m}`);
  const W = (m: string) => warnings.push(`${r.label}: ${m}`);
  const tree = new MerkleTree();
  const entries: (LedgerEntry | undefined)[] = [];

  if (r.entriesPartial !== undefined) {
    P(`entries.jsonl ends in a partial line (${Buffer.byteLength(r.entriesPartial)} bytes after the last newline): an append interrupted by a crash, or a cut-off file; it is not part of the log`);
  }
  // Entries: each line parses, is canonical and well-formed.
  const lineProblems: string[] = [];
  r.entryLines.forEach((line, i) => {
    tree.appendLeafHash(leafHash(line));
    let e: LedgerEntry | undefined;
    try {
      e = checkEntry(JSON.parse(line), `entry line ${i + 1}`);
      if (canonicalJson(e) !== line) lineProblems.push(`entry line ${i + 1} (seq ${e.seq}) is not in canonical form (edited outside the log?)`);
    } catch (err) {
      lineProblems.push(err instanceof SyntaxError ? `entry line ${i + 1} is not valid JSON (${err.message})` : (err as Error).message);
      e = undefined;
    }
    entries.push(e);
  });
  capped(problems, lineProblems.map((m) => `${r.label}: ${m}`));

  // Sequence numbers: with seqs strictly increasing, every gap is a removed entry; otherwise
  // entries were reordered (or duplicated).
  const seqProblems: string[] = [];
  const valid = entries.filter((e): e is LedgerEntry => !!e);
  const increasing = valid.every((e, k) => k === 0 || e.seq > valid[k - 1]!.seq);
  let prev = -1;
  entries.forEach((e, i) => {
    if (!e) return void prev++; // an unreadable line still takes its place
    if (increasing && e.seq !== prev + 1) seqProblems.push(`${range(prev + 1, e.seq - 1)} ${e.seq - prev - 1 === 1 ? 'is' : 'are'} missing (removed): line ${i + 1} holds seq ${e.seq}, expected ${prev + 1}`);
    if (!increasing && e.seq <= prev) seqProblems.push(`entries out of order (reordered or duplicated): line ${i + 1} holds seq ${e.seq} after seq ${prev}`);
    prev = e.seq;
  });
  if (!increasing && !seqProblems.length) seqProblems.push('entries out of order (reordered)');
  capped(problems, seqProblems.map((m) => `${r.label}: ${m}`));

  // Heads.
  if (r.headsPartial !== undefined) P(`heads.jsonl ends in a partial line (${Buffer.byteLength(r.headsPartial)} bytes after the last newline): a crash while storing a head, or a cut-off file`);
  const heads: SignedHead[] = [];
  const cosigned: SignedHead[] = [];
  const goodHeads: SignedHead[] = [];
  const headProblems: string[] = [];
  let lastGood: SignedHead | undefined;
  let prevHead: SignedHead | undefined;
  let rootFailures = 0;
  let firstRootFailure = '';
  r.headLines.forEach((line, j) => {
    const name = `head #${j + 1}`;
    let h: SignedHead;
    try {
      const raw = JSON.parse(line) as SignedHead;
      h = { ...checkTreeHead(raw, name), signatures: raw.signatures };
    } catch (err) {
      headProblems.push(err instanceof SyntaxError ? `${name} is not valid JSON` : (err as Error).message);
      return;
    }
    heads.push(h);
    const what = `${name} (size ${h.size}, ${h.timestamp})`;
    if (h.cluster !== anchor.cluster) headProblems.push(`${what} is for cluster '${h.cluster}', not '${anchor.cluster}'`);
    const sig = anchor.signatures === 'latest' && j < r.headLines.length - 1 ? [] : coSignatureProblems(h, anchor.keys, anchor.names);
    for (const s of sig) headProblems.push(`${what} ${s}`);
    if (sig.length || h.cluster !== anchor.cluster) return;
    cosigned.push(h);
    if (prevHead) {
      if (h.size < prevHead.size) headProblems.push(`heads out of order: ${what} is smaller than the head before it (size ${prevHead.size})`);
      if (h.timestamp < prevHead.timestamp) headProblems.push(`heads out of order: ${what} is older than the head before it (${prevHead.timestamp})`);
      if (h.size === prevHead.size && h.rootHash !== prevHead.rootHash) headProblems.push(`FORK within this replica: ${what} and the head before it both have size ${h.size} but different roots`);
    }
    prevHead = h;
    // The head against the entries.
    if (h.size > r.entryLines.length) {
      headProblems.push(`log truncated: ${what} covers ${h.size} entries, but the log holds only ${r.entryLines.length} (${range(r.entryLines.length, h.size - 1)} removed)`);
      return;
    }
    const root = toHex(tree.root(h.size));
    if (root !== h.rootHash) {
      rootFailures++;
      if (rootFailures === 1) {
        const from = lastGood ? lastGood.size : 0;
        firstRootFailure = `entries changed: the first ${h.size} entries hash to root ${short(root)}, but ${what} co-signs ${short(h.rootHash)}; ${lastGood ? `the first ${from} match the earlier head of size ${from}, so ` : ''}${range(from, h.size - 1)} ${h.size - from === 1 ? 'was' : 'were'} changed, removed or reordered`;
      }
      return;
    }
    lastGood = h;
    goodHeads.push(h);
  });
  // Successive heads whose roots both match these entries are consistent by construction (the
  // smaller tree is a prefix of the larger); check it once the RFC 9162 §2.1.4 way as well, from the
  // first good head to the latest.
  const [g0, gN] = [goodHeads[0], goodHeads[goodHeads.length - 1]];
  if (g0 && gN && g0 !== gN && !verifyConsistency(g0.size, gN.size, fromHex(g0.rootHash), fromHex(gN.rootHash), tree.consistencyProof(g0.size, gN.size))) {
    headProblems.push(`the head of size ${gN.size} is not consistent with the head of size ${g0.size}`);
  }
  if (firstRootFailure) headProblems.unshift(firstRootFailure + (rootFailures > 1 ? ` (${rootFailures - 1} later head${rootFailures > 2 ? 's' : ''} fail the same way)` : ''));
  capped(problems, headProblems.map((m) => `${r.label}: ${m}`), 8);

  const latest = goodHeads[goodHeads.length - 1];
  if (r.entryLines.length && !latest && !problems.length) W(`${r.entryLines.length} entries but no co-signed head yet`);
  else if (latest && latest.size < r.entryLines.length && !problems.length) W(`${range(latest.size, r.entryLines.length - 1)} not yet covered by a co-signed head (latest: size ${latest.size})`);
  return { label: r.label, problems, warnings, size: r.entryLines.length, tree, entries, heads, goodHeads, cosigned, ...(latest ? { latest } : {}) };
}

/** Cross-replica checks: prefixes, forks, replicas shorter than what all nodes co-signed. */
export function compareReplicas(reports: ReplicaReport[]): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  // 1. Each log a prefix of the other.
  for (let i = 0; i < reports.length; i++) {
    for (let j = i + 1; j < reports.length; j++) {
      const a = reports[i]!;
      const b = reports[j]!;
      const m = Math.min(a.size, b.size);
      for (let k = 0; k < m; k++) {
        if (!a.tree.leafHash(k).equals(b.tree.leafHash(k))) {
          problems.push(`replicas diverge: ${a.label} and ${b.label} hold different entries at seq ${k} (one of them was changed, or the log forked)`);
          break;
        }
      }
    }
  }
  // 2. Forks: two co-signed heads of one size with different roots.
  const bySize = new Map<number, { root: string; where: string }>();
  const forks = new Set<number>();
  for (const r of reports) {
    for (const h of r.cosigned) {
      const seen = bySize.get(h.size);
      if (!seen) bySize.set(h.size, { root: h.rootHash, where: r.label });
      else if (seen.root !== h.rootHash && !forks.has(h.size)) {
        forks.add(h.size);
        problems.push(`FORK: co-signed heads of size ${h.size} disagree: ${seen.where} holds root ${short(seen.root)}, ${r.label} holds root ${short(h.rootHash)} (all three nodes signed two different histories)`);
      }
    }
  }
  // 3. Nobody may hold less than a head all three nodes signed (they signed it only holding those entries).
  let top: { size: number; where: string } | undefined;
  for (const r of reports) for (const h of r.cosigned) if (!top || h.size > top.size) top = { size: h.size, where: r.label };
  if (top) {
    for (const r of reports) {
      if (r.size < top.size && top.where !== r.label) problems.push(`${r.label}'s log holds ${r.size} entries, but the nodes co-signed a head of size ${top.size} (seen at ${top.where}): ${r.label}'s replica lost ${range(r.size, top.size - 1)} (truncated)`);
      else if ((r.latest?.size ?? 0) < top.size && r.problems.length === 0) warnings.push(`${r.label} has not stored the latest co-signed head (size ${top.size}; its latest is ${r.latest?.size ?? 'none'})`);
    }
  }
  return { problems, warnings };
}
