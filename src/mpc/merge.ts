// Sorting rows that arrive as sorted runs, e.g. registers whose custodians sorted their own rows by
// person id in the clear before sharing them (src/ingest): the runs are merged by a comparison
// network instead of sorted from scratch. Scale: 1 M + 5 M rows.
//
// Batcher's bitonic merger (K. E. Batcher, "Sorting networks and their applications", AFIPS SJCC
// 1968, §2): the first run ascending, then the second run reversed, is a bitonic sequence; log2 N
// layers of compare-exchanges (i with i + d in every block of 2d, d = N/2, …, 1) sort it. Runs of
// any lengths: the sequence is padded to N = 2^⌈log2(m+n)⌉ with +∞ between the runs, and a
// compare-exchange with a pad has a public outcome (the real row goes to the lower place), so only
// pairs of real rows are compared: ≈ 9.5–11 comparisons per row (in simulation: 100 k + 450 k 9.4,
// 1 M + 1 M 10.4, 1 M + 5 M 11.1) against the sort's ≈ 20, each on the key and the run's number
// (no row index: no outcome is revealed, so ties need no breaking). More runs are merged two at a
// time, shortest first.
//
// The network (merge-network.ts) runs on boolean shares, bit-sliced (32 rows a word): a row's
// planes are, low to high, its run's number, its key's bits (bit-decomposed once, ABY3 §5.3) and a
// pad flag; nothing else moves. A compare-exchange takes [y < x] as the carry out of x + ¬y (convert.ts carryInto: ≈ 3
// ANDs per plane, ⌈log2 planes⌉ + 1 rounds) and swaps the two rows by one AND per plane:
// x ⊕= b·(x ⊕ y), y ⊕= b·(x ⊕ y). From d = 32 down the pairs lie inside words; two words make one
// word of 32 pairs (the first word's pairs where their lower lanes are, the second's where their
// upper lanes are), so no AND is spent on idle lanes. The run number
// breaks ties by run, so each run's rows leave in their own order: the row at sorted place j is
// s(j) = start of its run + the rows of that run before j (one injected indicator per run, a prefix
// sum, one multiplication).
//
// One shuffle turns s into the sort's kind of permutation (sort.ts SortPermutation, `gather`)
// without revealing it: shuffle the column s (sorted places) and reveal it — a uniformly random
// permutation — then every column's rows are gathered by it locally and the shuffle is undone.
// Reveals: n, the runs' lengths and the number of payload columns; the revealed permutation is
// uniform and independent of the data. If a run is not sorted (a custodian's mistake), the output
// is not sorted either but nothing more is revealed: the network only swaps rows, so s is a
// permutation whatever the keys.
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { addPublic, concatShares, fromPublic, mulMany, neg, reveal } from './arith.js';
import { andAllPlanes, BShare, not, stackPlanes } from './boolean.js';
import { bitDecompose, bitInject } from './convert.js';
import { mergeTwo, type Run } from './merge-network.js';
import type { Party } from './party.js';
import { AShare } from './share.js';
import { prefixSum } from './scan.js';
import { Shuffle, shuffle } from './shuffle.js';
import { applySortPermutation, indexBits, iota, type SortPermutation } from './sort.js';

export interface MergeOptions {
  /** Keys are signed integers of this many bits (1..63), as in sort.ts; not checked. */
  keyBits: number;
  /** Keys are unsigned instead: 0 ≤ key < 2^keyBits (e.g. person ids), one bit fewer to compare. */
  unsigned?: boolean;
  /** Called after each layer of compare-exchanges with the fraction of them done, 0..1. */
  onProgress?: (fraction: number) => void;
  /** Rows of the key bit-decomposed at once, a multiple of 32 (default DECOMPOSE_ROWS). */
  decomposeRows?: number;
  /** Networks of more bytes run their moves in JavaScript (default: any that fits a WebAssembly memory; see networkOf). */
  arenaBytes?: number;
}

export interface MergeResult {
  /** The payload columns in sorted order (pass the key as one to have it sorted too). */
  payloads: AShare[];
  /** The secret row permutation (sort.ts applySortPermutation applies it to other columns). */
  permutation: SortPermutation;
  /** 1 where the key equals the key at the place before (0 at the first place), arithmetic 0/1. */
  same: AShare;
}

const u32 = (c: Col): Uint32Array => new Uint32Array(c.buffer, c.byteOffset, c.length * 2);

/** The low 32 bits of each revealed lane (indices below 2^31). */
function indices(c: Col): Uint32Array {
  const w = u32(c);
  const out = new Uint32Array(c.length);
  for (let i = 0; i < out.length; i++) out[i] = w[2 * i]!;
  return out;
}

/**
 * The row index at each of the first n places of a merged run, from its run-number planes: one
 * indicator e_r per run but the first (an AND tree over the number's bits), injected, counted by a
 * prefix sum and weighted by one multiplication each (one round). With P_r(j) the rows of run r at
 * or before place j (P_0 = j + 1 − Σ P_r) and w_r = P_r + start_r − 1 the row of run r a place of
 * run r holds: s = w_0 + Σ e_r·(w_r − w_0), w_0 = j − Σ P_r, w_r − w_0 = P_r − w_0 + start_r − 1,
 * made in place: k + 1 columns of n at once besides the products (k runs).
 */
async function placesOf(p: Party, merged: Run, n: number, runs: number[], rb: number): Promise<AShare> {
  const W = Math.ceil(n / 32);
  const plane = (c: number) => new BShare(n, 1, merged.a.slice(c * merged.words, c * merged.words + W), merged.b.slice(c * merged.words, c * merged.words + W));
  const bitsOf = Array.from({ length: rb }, (_, c) => plane(c));
  const is: BShare[] = [];
  for (let r = 1; r < runs.length; r++) {
    const literals = bitsOf.map((b, c) => ((r >>> c) & 1 ? b : not(p, b)));
    is.push(literals.length === 1 ? literals[0]! : await andAllPlanes(p, stackPlanes(literals)));
  }
  const inj = await bitInject(p, stackPlanes(is));
  const e = is.map((_, q) => inj.slice(q * n, (q + 1) * n));
  const P = e.map(prefixSum);
  // Public values enter x_0 (held as a by party 0, as b by party 2).
  const x0 = (x: AShare): Col | null => (p.id === 0 ? x.a : p.id === 2 ? x.b : null);
  // w_0 = j − Σ P_r.
  const w0 = neg(P[0]!);
  for (const x of P.slice(1)) (R.sub(w0.a, x.a, w0.a), R.sub(w0.b, x.b, w0.b));
  const w0x = x0(w0);
  if (w0x) R.add(w0x, iota(n), w0x);
  let start = runs[0]!;
  const diffs = P.map((x, q) => {
    const d = start - 1;
    start += runs[q + 1]!;
    R.sub(x.a, w0.a, x.a);
    R.sub(x.b, w0.b, x.b);
    const xx = x0(x);
    if (xx) R.addConst(xx, BigInt(d), xx);
    return x;
  });
  const parts = await mulMany(p, e.map((x, q) => [x, diffs[q]!] as [AShare, AShare]));
  for (const x of parts) (R.add(w0.a, x.a, w0.a), R.add(w0.b, x.b, w0.b));
  return w0;
}

/**
 * [key at place j = key at place j − 1] for the first n places of a merged run, as one boolean
 * plane, from its key planes (planes rb .. rb + keyBits − 1): each plane against itself one lane
 * later, an AND tree over the planes. No decomposition of the sorted key is needed.
 */
export function samePlanes(p: Party, merged: Run, n: number, rb: number, keyBits: number): Promise<BShare> {
  const W = Math.ceil(n / 32);
  const eqPlanes = (h: Uint32Array, negate: boolean) => {
    const out = new Uint32Array(keyBits * W);
    for (let c = 0; c < keyBits; c++) {
      const src = (rb + c) * merged.words;
      for (let w = 0; w < W; w++) {
        const x = h[src + w]!;
        const before = ((x << 1) | (w > 0 ? h[src + w - 1]! >>> 31 : 0)) >>> 0;
        // ¬(x ⊕ x_before) in XOR shares: the NOT goes into x_0 only (parties 0 and 2).
        out[c * W + w] = (negate ? ~(x ^ before) : x ^ before) >>> 0;
      }
      out[c * W] = (out[c * W]! & ~1) >>> 0; // place 0 has no place before: not equal (0 in every share)
    }
    return out;
  };
  const eqBits = new BShare(n, keyBits, eqPlanes(merged.a, p.id === 0), eqPlanes(merged.b, p.id === 2));
  return andAllPlanes(p, eqBits);
}

/** samePlanes injected: arithmetic 0/1. */
async function sameAsBefore(p: Party, merged: Run, n: number, rb: number, keyBits: number): Promise<AShare> {
  return bitInject(p, await samePlanes(p, merged, n, rb, keyBits));
}

/**
 * Sorts `key` (ascending; signed keyBits-bit, or unsigned with opts.unsigned) whose rows are
 * `runs` consecutive runs, each already ascending (lengths summing to key.length); payload columns
 * follow their keys (the key itself is not moved unless passed as one). Stable: equal keys keep
 * their original order. The permutation is of sort.ts's kind, so a join can reuse it. Reveals the
 * runs' lengths and the number of payload columns only (see the module comment).
 */
export function mergeRuns(p: Party, key: AShare, runs: number[], payloads: AShare[], opts: MergeOptions): Promise<MergeResult> {
  const n = key.length;
  const { keyBits } = opts;
  if (!Number.isInteger(keyBits) || keyBits < 1 || keyBits > 63) return Promise.reject(new RangeError(`mergeRuns: keyBits must be an integer in 1..63, got ${keyBits}`));
  if (runs.some((l) => !Number.isInteger(l) || l < 0) || runs.reduce((s, l) => s + l, 0) !== n) return Promise.reject(new RangeError(`mergeRuns: run lengths ${runs.join(', ')} do not add up to the ${n} rows`));
  for (const c of payloads) if (c.length !== n) return Promise.reject(new RangeError(`mergeRuns: payload of ${c.length} rows, key has ${n}`));
  const chunk = opts.decomposeRows ?? DECOMPOSE_ROWS;
  if (!Number.isInteger(chunk) || chunk < 32 || chunk % 32) return Promise.reject(new RangeError(`mergeRuns: decomposeRows must be a positive multiple of 32, got ${chunk}`));
  if (n === 0) {
    const empty = () => new AShare(new BigUint64Array(0), new BigUint64Array(0));
    return Promise.resolve({ payloads: payloads.map(empty), permutation: { shuffle: new Shuffle(0), rank: new Uint32Array(0) }, same: empty() });
  }
  // Not an async function: V8 keeps an async function's locals and arguments across its awaits until
  // it returns, and the key, its padded copy and planes are needed only to make the runs.
  // Planes per row: the run's number (rb bits), the key, the pad flag.
  const rb = indexBits(runs.length);
  const planes = { rb, P: rb + keyBits + 1 };
  // The payloads are held by the last step's closure only, not while the runs are made and merged.
  return runsOf(p, paddedKey(key, runs), runs, planes, chunk, opts)
    .then((pending) => mergeAndPlace(p, pending, n, runs, planes, opts))
    .then(({ permutation, same }) => applySortPermutation(p, permutation, payloads).then((moved) => ({ payloads: moved, permutation, same })));
}

/** Every run of the key padded with zeros to whole words of 32 lanes. */
export function paddedKey(key: AShare, runs: number[]): AShare {
  let off = 0;
  return concatShares(runs.flatMap((l) => {
    const part = key.slice(off, off + l);
    off += l;
    const pad = 32 * Math.ceil(l / 32) - l;
    return pad ? [part, new AShare(new BigUint64Array(pad), new BigUint64Array(pad))] : [part];
  }));
}

/** A merge's planes per row: rb for the run's number, P in all. */
export interface Planes {
  rb: number;
  P: number;
}

/** Rows of the key bit-decomposed at once by default (a multiple of 32). */
export const DECOMPOSE_ROWS = 1 << 21;

/**
 * Every run (the key padded to whole words of each run: paddedKey) bit-decomposed (a signed key
 * offset to 0 ≤ key < 2^keyBits), as bit-sliced runs. Compared planes, low to high: the run's
 * number (ties go to the earlier run), the key, the pad flag (pads are +∞). Nothing else moves
 * through the network.
 */
export async function runsOf(p: Party, padded: AShare, runs: number[], { rb, P }: Planes, chunk: number, opts: Pick<MergeOptions, 'keyBits' | 'unsigned'>): Promise<Run[]> {
  const { keyBits } = opts;
  const wordsOf = runs.map((l) => Math.ceil(l / 32));
  const total = padded.length;
  // Run r's planes: P planes of wordsOf[r] words each (plane-major); its words start at word w0s[r] of the padded key.
  const out: Run[] = runs.map((l, r) => ({ a: new Uint32Array(P * wordsOf[r]!), b: new Uint32Array(P * wordsOf[r]!), words: wordsOf[r]!, rows: l }));
  const w0s = wordsOf.map((_, r) => wordsOf.slice(0, r).reduce((s, w) => s + w, 0));
  // Decomposed `chunk` rows at a time (whole words): the adder's planes of a chunk are a few
  // times its key's size, so a chunk at a time bounds that memory; a few more rounds (≈ 8 a chunk).
  for (let c0 = 0; c0 < total; c0 += chunk) {
    const c1 = Math.min(total, c0 + chunk);
    const part = padded.slice(c0, c1);
    const planes = await bitDecompose(p, opts.unsigned ? part : addPublic(p, part, 1n << BigInt(keyBits - 1)), keyBits);
    const w = part.length >>> 5, cw0 = c0 >>> 5, cw1 = c1 >>> 5;
    out.forEach((run, r) => {
      // The words of run r inside this chunk: [from, to) of the padded key's words.
      const from = Math.max(cw0, w0s[r]!), to = Math.min(cw1, w0s[r]! + run.words);
      for (let k = 0; k < keyBits && from < to; k++) {
        run.a.set(planes.a.subarray(k * w + from - cw0, k * w + to - cw0), (rb + k) * run.words + from - w0s[r]!);
        run.b.set(planes.b.subarray(k * w + from - cw0, k * w + to - cw0), (rb + k) * run.words + from - w0s[r]!);
      }
    });
  }
  // Public planes (run number, pad flag) XORed into x_0, held by parties 0 and 2.
  if (p.id !== 1) {
    out.forEach((run, r) => {
      const x0 = p.id === 0 ? run.a : run.b;
      for (let i = 0; i < 32 * run.words; i++) {
        const w = i >>> 5, bit = 1 << (i & 31);
        if (i >= run.rows) x0[(P - 1) * run.words + w]! |= bit;
        for (let c = 0; c < rb; c++) if ((r >>> c) & 1) x0[c * run.words + w]! |= bit;
      }
    });
  }
  return out;
}

/** Merges the runs (the two shortest until one is left), then finds the rows' places and the group starts. */
async function mergeAndPlace(p: Party, pending: Run[], n: number, runs: number[], { rb, P }: Planes, opts: MergeOptions): Promise<Omit<MergeResult, 'payloads'>> {
  const { keyBits } = opts;
  const k = runs.length;
  let layers = 0, done = 0;
  {
    const ws = pending.map((r) => r.words);
    while (ws.length > 1) {
      ws.sort((a, b) => a - b);
      const [a, b] = ws.splice(0, 2) as [number, number];
      if (a && b) layers += Math.ceil(Math.log2(a + b)) + 5;
      ws.push(a + b);
    }
  }
  const step = () => opts.onProgress?.(Math.min(1, ++done / Math.max(1, layers)));
  while (pending.length > 1) pending.push(await mergeTwo(p, pending, P, opts.arenaBytes ?? Infinity, step));
  let merged: Run | null = pending.pop()!;

  // s(j), the row at sorted place j: the i-th row of run r in the merged order has the i-th
  // smallest key of run r, i.e. row i of the (ascending) run; so s(j) = start of r + (rows of r
  // before j) for the run r of place j. Equal keys of one run thereby keep their order (stable).
  let s: AShare | null = k <= 1 ? fromPublic(p, iota(n)) : await placesOf(p, merged, n, runs, rb);
  const same = await sameAsBefore(p, merged, n, rb, keyBits);
  merged = null;
  // The rows to their places without revealing s: shuffle the sorted places' s and reveal it (a
  // uniformly random permutation), gather every column's rows by it locally, undo the shuffle.
  const { cols, shuffle: sh } = await shuffle(p, [s]);
  s = null;
  const rank = indices((await reveal(p, cols.pop()!))!);
  return { permutation: { shuffle: sh, rank, gather: true }, same };
}
