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
// Every finding is a sentence naming the node, the entry or head, and what is wrong, and also a
// Finding record (which check, which replica, which entries, head or party) for the browser's
// auditor page. Problems make the audit fail; warnings (entries not yet co-signed, a replica
// lagging behind) do not. Pure functions without Node built-ins: `mosaik audit verify` and the
// browser (web/src/lib/audit-worker.ts) run this same code.
import { canonicalJson, checkEntry, type LedgerEntry } from './entry.js';
import { checkTreeHead, coSignatureFindings, type SignatureProblem, type SignedHead } from './heads.js';
import { leafHash, MerkleTree, toHex, verifyConsistency, fromHex } from './merkle.js';
import { equalBytes, utf8Length } from './bytes.js';

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

/** Which check a finding comes from. */
export type Check =
  | 'partial' // a half-written last line
  | 'entry' // a line that is not a well-formed, canonical entry
  | 'sequence' // entries missing (removed) or out of order
  | 'head' // a head line that does not parse
  | 'cluster' // a head of another cluster
  | 'signature' // a missing, duplicate, foreign or bad signature on a head
  | 'head-order' // heads out of order
  | 'root' // entries that do not hash to a co-signed root (changed, removed or reordered)
  | 'truncated' // entries cut off below a co-signed head
  | 'consistency' // heads (or a node's proof) not consistent (RFC 9162 §2.1.4)
  | 'fork' // two co-signed heads of one size with different roots
  | 'diverge' // two replicas hold different entries at one seq
  | 'fetch' // a replica that could not be read
  | 'rules' // the log's content rules (src/ledger/rules.ts)
  | 'more'; // "… and N more like the above"

/** A problem, with where it is: what the auditor's page shows next to the sentence. */
export interface Finding {
  check: Check;
  /** The sentence, exactly as in the problems list. */
  message: string;
  /** The replica it is about (its label: the node's name). */
  replica?: string;
  /** Replicas it is about (divergence). */
  replicas?: string[];
  /** The entries concerned: seq, or seq..seqTo. */
  seq?: number;
  seqTo?: number;
  /** The head concerned, 1-based line of heads.jsonl, and its size. */
  head?: number;
  size?: number;
  /** Whose signature (signature problems). */
  party?: 0 | 1 | 2;
}

export interface ReplicaReport {
  label: string;
  problems: string[];
  /** The problems with where they are (same order and length as problems). */
  findings: Finding[];
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

/** Progress of verifyReplica: entries hashed and parsed, then heads checked (signatures: the slow part). */
export interface ReplicaProgress {
  label: string;
  phase: 'entries' | 'heads';
  done: number;
  total: number;
}

export interface VerifyOptions {
  /**
   * Signature checks already done, by head line: replicas of one log hold the same heads, so an
   * audit of three replicas verifies each head's signatures once (the result depends only on the
   * line and the trust anchor; use one memo per anchor).
   */
  memo?: Map<string, SignatureProblem[]>;
  /** Called every `progressEvery` entries or heads (default 2000) and at the end of each phase. */
  onProgress?: (p: ReplicaProgress) => void;
  progressEvery?: number;
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

type Item = Omit<Finding, 'message' | 'replica'> & { text: string };

/** Adds a capped list of similar findings (the first few, then a count) under the replica's label. */
function capped(out: Finding[], label: string | undefined, items: Item[], max = 5): void {
  const prefix = label === undefined ? '' : `${label}: `;
  for (const { text, ...where } of items.slice(0, max)) out.push({ ...where, message: prefix + text, ...(label !== undefined ? { replica: label } : {}) });
  if (items.length > max) out.push({ check: 'more', message: `… and ${items.length - max} more like the above`, ...(label !== undefined ? { replica: label } : {}) });
}

/** A line of heads.jsonl as a head (its shape checked, not its signatures); throws when it is not one. */
export function parseHeadLine(line: string, name = 'tree head'): SignedHead {
  const raw = JSON.parse(line) as SignedHead;
  return { ...checkTreeHead(raw, name), signatures: raw.signatures };
}

/**
 * The signature checks of verifyReplica for these head lines, as entries of its memo (lines that are
 * not heads are left out: verifyReplica reports them). Lets a caller check the heads' signatures
 * ahead, e.g. spread over several threads (web/src/lib/audit-worker.ts), and hand them to auditLog.
 */
export function headSignatureChecks(lines: readonly string[], anchor: TrustAnchor): [string, SignatureProblem[]][] {
  const out: [string, SignatureProblem[]][] = [];
  for (const line of lines) {
    let h: SignedHead;
    try {
      h = parseHeadLine(line);
    } catch {
      continue;
    }
    out.push([line, coSignatureFindings(h, anchor.keys, anchor.names)]);
  }
  return out;
}

export function verifyReplica(r: ReplicaInput, anchor: TrustAnchor, o: VerifyOptions = {}): ReplicaReport {
  const findings: Finding[] = [];
  const warnings: string[] = [];
  const P = (f: Item) => capped(findings, r.label, [f]);
  const W = (m: string) => warnings.push(`${r.label}: ${m}`);
  const every = o.progressEvery ?? 2000;
  const progress = (phase: ReplicaProgress['phase'], done: number, total: number) => o.onProgress?.({ label: r.label, phase, done, total });
  const tree = new MerkleTree();
  const entries: (LedgerEntry | undefined)[] = [];

  if (r.entriesPartial !== undefined) {
    P({ check: 'partial', seq: r.entryLines.length, text: `entries.jsonl ends in a partial line (${utf8Length(r.entriesPartial)} bytes after the last newline): an append interrupted by a crash, or a cut-off file; it is not part of the log` });
  }
  // Entries: each line parses, is canonical and well-formed.
  const lineProblems: Item[] = [];
  const n = r.entryLines.length;
  for (let i = 0; i < n; i++) {
    const line = r.entryLines[i]!;
    tree.appendLeafHash(leafHash(line));
    let e: LedgerEntry | undefined;
    try {
      e = checkEntry(JSON.parse(line), `entry line ${i + 1}`);
      if (canonicalJson(e) !== line) lineProblems.push({ check: 'entry', seq: i, text: `entry line ${i + 1} (seq ${e.seq}) is not in canonical form (edited outside the log?)` });
    } catch (err) {
      lineProblems.push({ check: 'entry', seq: i, text: err instanceof SyntaxError ? `entry line ${i + 1} is not valid JSON (${err.message})` : (err as Error).message });
      e = undefined;
    }
    entries.push(e);
    if ((i + 1) % every === 0) progress('entries', i + 1, n);
  }
  progress('entries', n, n);
  capped(findings, r.label, lineProblems);

  // Sequence numbers: with seqs strictly increasing, every gap is a removed entry; otherwise
  // entries were reordered (or duplicated).
  const seqProblems: Item[] = [];
  const valid = entries.filter((e): e is LedgerEntry => !!e);
  const increasing = valid.every((e, k) => k === 0 || e.seq > valid[k - 1]!.seq);
  let prev = -1;
  entries.forEach((e, i) => {
    if (!e) return void prev++; // an unreadable line still takes its place
    if (increasing && e.seq !== prev + 1) seqProblems.push({ check: 'sequence', seq: prev + 1, seqTo: e.seq - 1, text: `${range(prev + 1, e.seq - 1)} ${e.seq - prev - 1 === 1 ? 'is' : 'are'} missing (removed): line ${i + 1} holds seq ${e.seq}, expected ${prev + 1}` });
    if (!increasing && e.seq <= prev) seqProblems.push({ check: 'sequence', seq: i, text: `entries out of order (reordered or duplicated): line ${i + 1} holds seq ${e.seq} after seq ${prev}` });
    prev = e.seq;
  });
  if (!increasing && !seqProblems.length) seqProblems.push({ check: 'sequence', text: 'entries out of order (reordered)' });
  capped(findings, r.label, seqProblems);

  // Heads.
  if (r.headsPartial !== undefined) P({ check: 'partial', text: `heads.jsonl ends in a partial line (${utf8Length(r.headsPartial)} bytes after the last newline): a crash while storing a head, or a cut-off file` });
  const heads: SignedHead[] = [];
  const cosigned: SignedHead[] = [];
  const goodHeads: SignedHead[] = [];
  const headProblems: Item[] = [];
  let lastGood: SignedHead | undefined;
  let prevHead: SignedHead | undefined;
  let rootFailures = 0;
  let firstRootFailure: Item | undefined;
  const m = r.headLines.length;
  r.headLines.forEach((line, j) => {
    if ((j + 1) % every === 0) progress('heads', j + 1, m);
    const name = `head #${j + 1}`;
    let h: SignedHead;
    try {
      h = parseHeadLine(line, name);
    } catch (err) {
      headProblems.push({ check: 'head', head: j + 1, text: err instanceof SyntaxError ? `${name} is not valid JSON` : (err as Error).message });
      return;
    }
    heads.push(h);
    const what = `${name} (size ${h.size}, ${h.timestamp})`;
    const at = { head: j + 1, size: h.size };
    if (h.cluster !== anchor.cluster) headProblems.push({ check: 'cluster', ...at, text: `${what} is for cluster '${h.cluster}', not '${anchor.cluster}'` });
    let sig: SignatureProblem[] = [];
    if (anchor.signatures !== 'latest' || j === m - 1) {
      const known = o.memo?.get(line);
      sig = known ?? coSignatureFindings(h, anchor.keys, anchor.names);
      if (!known) o.memo?.set(line, sig);
    }
    for (const s of sig) headProblems.push({ check: 'signature', ...at, ...(s.party !== undefined ? { party: s.party } : {}), text: `${what} ${s.message}` });
    if (sig.length || h.cluster !== anchor.cluster) return;
    cosigned.push(h);
    if (prevHead) {
      if (h.size < prevHead.size) headProblems.push({ check: 'head-order', ...at, text: `heads out of order: ${what} is smaller than the head before it (size ${prevHead.size})` });
      if (h.timestamp < prevHead.timestamp) headProblems.push({ check: 'head-order', ...at, text: `heads out of order: ${what} is older than the head before it (${prevHead.timestamp})` });
      if (h.size === prevHead.size && h.rootHash !== prevHead.rootHash) headProblems.push({ check: 'fork', ...at, text: `FORK within this replica: ${what} and the head before it both have size ${h.size} but different roots` });
    }
    prevHead = h;
    // The head against the entries.
    if (h.size > n) {
      headProblems.push({ check: 'truncated', ...at, seq: n, seqTo: h.size - 1, text: `log truncated: ${what} covers ${h.size} entries, but the log holds only ${n} (${range(n, h.size - 1)} removed)` });
      return;
    }
    const root = toHex(tree.root(h.size));
    if (root !== h.rootHash) {
      rootFailures++;
      if (rootFailures === 1) {
        const from = lastGood ? lastGood.size : 0;
        firstRootFailure = {
          check: 'root', ...at, seq: from, seqTo: h.size - 1,
          text: `entries changed: the first ${h.size} entries hash to root ${short(root)}, but ${what} co-signs ${short(h.rootHash)}; ${lastGood ? `the first ${from} match the earlier head of size ${from}, so ` : ''}${range(from, h.size - 1)} ${h.size - from === 1 ? 'was' : 'were'} changed, removed or reordered`,
        };
      }
      return;
    }
    lastGood = h;
    goodHeads.push(h);
  });
  progress('heads', m, m);
  // Successive heads whose roots both match these entries are consistent by construction (the
  // smaller tree is a prefix of the larger); check it once the RFC 9162 §2.1.4 way as well, from the
  // smallest good head to the largest (the first and the latest, unless heads are out of order,
  // which is reported above: the verifier before this one threw a RangeError there).
  const bySize = [...goodHeads].sort((a, b) => a.size - b.size);
  const [g0, gN] = [bySize[0], bySize[bySize.length - 1]];
  if (g0 && gN && g0 !== gN && !verifyConsistency(g0.size, gN.size, fromHex(g0.rootHash), fromHex(gN.rootHash), tree.consistencyProof(g0.size, gN.size))) {
    headProblems.push({ check: 'consistency', size: gN.size, text: `the head of size ${gN.size} is not consistent with the head of size ${g0.size}` });
  }
  if (firstRootFailure) headProblems.unshift({ ...firstRootFailure, text: firstRootFailure.text + (rootFailures > 1 ? ` (${rootFailures - 1} later head${rootFailures > 2 ? 's' : ''} fail the same way)` : '') });
  capped(findings, r.label, headProblems, 8);

  const problems = findings.map((f) => f.message);
  const latest = goodHeads[goodHeads.length - 1];
  if (n && !latest && !problems.length) W(`${n} entries but no co-signed head yet`);
  else if (latest && latest.size < n && !problems.length) W(`${range(latest.size, n - 1)} not yet covered by a co-signed head (latest: size ${latest.size})`);
  return { label: r.label, problems, findings, warnings, size: n, tree, entries, heads, goodHeads, cosigned, ...(latest ? { latest } : {}) };
}

/** Cross-replica checks: prefixes, forks, replicas shorter than what all nodes co-signed. */
export function compareReplicas(reports: ReplicaReport[]): { problems: string[]; findings: Finding[]; warnings: string[] } {
  const findings: Finding[] = [];
  const warnings: string[] = [];
  // 1. Each log a prefix of the other.
  for (let i = 0; i < reports.length; i++) {
    for (let j = i + 1; j < reports.length; j++) {
      const a = reports[i]!;
      const b = reports[j]!;
      const m = Math.min(a.size, b.size);
      for (let k = 0; k < m; k++) {
        if (!equalBytes(a.tree.leafHash(k), b.tree.leafHash(k))) {
          findings.push({ check: 'diverge', replicas: [a.label, b.label], seq: k, message: `replicas diverge: ${a.label} and ${b.label} hold different entries at seq ${k} (one of them was changed, or the log forked)` });
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
        findings.push({ check: 'fork', replicas: [seen.where, r.label], size: h.size, message: `FORK: co-signed heads of size ${h.size} disagree: ${seen.where} holds root ${short(seen.root)}, ${r.label} holds root ${short(h.rootHash)} (all three nodes signed two different histories)` });
      }
    }
  }
  // 3. Nobody may hold less than a head all three nodes signed (they signed it only holding those entries).
  let top: { size: number; where: string } | undefined;
  for (const r of reports) for (const h of r.cosigned) if (!top || h.size > top.size) top = { size: h.size, where: r.label };
  if (top) {
    for (const r of reports) {
      if (r.size < top.size && top.where !== r.label) findings.push({ check: 'truncated', replica: r.label, seq: r.size, seqTo: top.size - 1, size: top.size, message: `${r.label}'s log holds ${r.size} entries, but the nodes co-signed a head of size ${top.size} (seen at ${top.where}): ${r.label}'s replica lost ${range(r.size, top.size - 1)} (truncated)` });
      else if ((r.latest?.size ?? 0) < top.size && r.problems.length === 0) warnings.push(`${r.label} has not stored the latest co-signed head (size ${top.size}; its latest is ${r.latest?.size ?? 'none'})`);
    }
  }
  return { problems: findings.map((f) => f.message), findings, warnings };
}
