// EXISTS flags of two registers in person order, by the merge network alone: for every row of a
// register A with one row per person (population), whether the person has a row of register S
// (contacts) meeting a condition, as a shared bit in A's stored order. Scale: 100 k × 450 k in the
// main job, 6 M × 38 M nationally.
//
// A semi-join in the line of the sort-merge joins of Secrecy (Liagouris et al., NSDI 2023) on
// Batcher's bitonic merger (merge-network.ts). merge.ts lines the two runs up and then moves
// columns by a secret permutation (the merged places injected and multiplied, a shuffle revealed,
// each column gathered and shuffled, and back to A's order: ≈ 8 ring elements per row and column);
// here the condition's bit rides through the network as one more plane (one AND per pair, not
// compared), the flag is a segmented OR over each person's group in boolean shares
// (scan-bits.ts), and the network, recorded, takes that bit back to its row's place (one AND per
// pair and layer): no permutation, no injection but A's flags at the end.
//
// Ties go to S (run 0 below run 1), so a person's A row is the last of their group: its OR is the
// OR of the person's S rows. Reveals: the two registers' sizes, as the merge does; nothing else (the
// network's pairs depend on the sizes only, its swap bits and every value stay shared). If a run is
// not sorted (a custodian's mistake), flags are wrong but nothing more is revealed.
//
// carryMerged takes several planes through the same way: a presence bit and the bits of S's values,
// 0 on S's rows that are not present. Where S has at most one present row per person, the OR over a
// person's group is that row's values, so A's row gets the person's S row (a LEFT JOIN's columns and
// its match flag) without a permutation; with at most r rows of S per person the OR looks back r rows
// only (⌈log2(r + 1)⌉ rounds).
import { BShare, not } from './boolean.js';
import { lastWordLanes, wordsFor } from '../ring/bits.js';
import { concatShares } from './arith.js';
import { paddedKey, runsOf, samePlanes, DECOMPOSE_ROWS, type Planes } from './merge.js';
import { indexBits } from './sort.js';
import { applyNetwork, inputLanes, inputLayout, mergeTwo, planeWords, type NetworkRecord, type Run } from './merge-network.js';
import type { Party } from './party.js';
import { presenceInGroups } from './scan-bits.js';
import type { AShare } from './share.js';

export interface SemiMergeOptions {
  /** Keys are unsigned, below 2^keyBits (1..63): person ids. */
  keyBits: number;
  /** Called after each layer of the network (forward and back) with the fraction done, 0..1. */
  onProgress?: (fraction: number) => void;
  /** As MergeOptions.arenaBytes (tests take the JavaScript moves with 0). */
  arenaBytes?: number;
  /** As MergeOptions.decomposeRows. */
  decomposeRows?: number;
}

/**
 * A semi-join's line-up, kept for the next EXISTS over the same two registers with another
 * condition (semiJoinAgain): the recorded network and the group starts in merged order. Depends on
 * the registers' keys only. ≈ 2 bits per compared pair and 2 per row, besides the layers' ranges.
 */
export interface SemiLineup {
  kind: 'semi-merge';
  /** S's and A's rows. */
  rows: [number, number];
  network: NetworkRecord;
  /** 1 at the first row of each key's group, merged order (n = S + A lanes). */
  first: BShare;
}

/** Bytes of a kept semi-join line-up at one node. */
export function semiLineupBytes(l: SemiLineup): number {
  const words = (x: BShare | null) => (x ? 8 * x.a.length : 0);
  return words(l.first) + l.network.layers.reduce((s, L) => s + words(L.swap) + 4 * (L.rStart.length + L.rLen.length + L.padMoves.length), 0);
}

/**
 * For each of A's rows (keys ascending, one row per key), 1 where S (keys ascending, any rows per
 * key) has a row of the same key whose `present` bit is 1 (every row when null): one boolean plane
 * of aKey.length lanes, and the line-up for semiJoinAgain (null where a side has no rows). See the
 * module comment.
 */
export function semiJoinMerged(p: Party, s: { key: AShare; present: BShare | null }, aKey: AShare, opts: SemiMergeOptions): Promise<{ flags: BShare; lineup: SemiLineup | null }> {
  const present = s.present;
  if (present && (present.n !== s.key.length || present.bits !== 1)) return Promise.reject(new RangeError(`semiJoinMerged: a condition of ${present.n} lanes × ${present.bits} planes for ${s.key.length} rows`));
  return carryMerged(p, { key: s.key, carried: present }, aKey, opts).then(({ planes, lineup }) => ({ flags: planes, lineup }));
}

/**
 * For each of A's rows (keys ascending, one row per key), the OR over the rows of S (keys ascending)
 * with the same key of each plane of `carried` (S's lanes, 0 on rows that do not count; null: one
 * plane of ones, every row): `carried.bits` planes of aKey.length lanes, and the line-up for
 * carryAgain (null where a side has no rows). `window`: S has at most window − 1 rows per key (the
 * OR looks back that far only); default: any number. See the module comment.
 */
export function carryMerged(p: Party, s: { key: AShare; carried: BShare | null }, aKey: AShare, opts: SemiMergeOptions & { window?: number }): Promise<{ planes: BShare; lineup: SemiLineup | null }> {
  return carryMergedMany(p, [s], aKey, opts);
}

/**
 * carryMerged for several registers S_1 … S_m at once, each keys ascending: their runs merged with
 * each other first, then with A (one network over A's rows instead of m). The planes of S_i come
 * after those of S_1 … S_(i−1) (zeros on the other registers' rows); `window`: all of them together
 * have at most window − 1 rows per key. The line-up is kept only for one register (null otherwise).
 * Reveals the registers' sizes.
 */
export function carryMergedMany(p: Party, ss: { key: AShare; carried: BShare | null }[], aKey: AShare, opts: SemiMergeOptions & { window?: number }): Promise<{ planes: BShare; lineup: SemiLineup | null }> {
  // Not an async function: V8 keeps an async function's arguments until it returns, and the keys
  // (and their padded copy) are needed only to make the runs' planes.
  const sizes = ss.map((x) => x.key.length), nA = aKey.length;
  const nS = sizes.reduce((t, l) => t + l, 0);
  const { keyBits } = opts;
  if (!Number.isInteger(keyBits) || keyBits < 1 || keyBits > 63) return Promise.reject(new RangeError(`carryMerged: keyBits must be an integer in 1..63, got ${keyBits}`));
  if (!ss.length) return Promise.reject(new RangeError('carryMerged: no register to carry from'));
  const bad = ss.find((x) => x.carried && x.carried.n !== x.key.length);
  if (bad) return Promise.reject(new RangeError(`carryMerged: ${bad.carried!.n} lanes of carried planes for ${bad.key.length} rows`));
  const cs = ss.map((x) => x.carried?.bits ?? 1);
  const c = cs.reduce((t, k) => t + k, 0);
  if (nA === 0 || nS === 0) return Promise.resolve({ planes: noFlags(nA, c), lineup: null });
  // Planes, low to high: the run's number (S_i i − 1, A m: A's row ends its key's group), the key,
  // the pad flag; then the carried planes.
  const rb = indexBits(ss.length + 1);
  const planes = { rb, P: rb + keyBits + 1 };
  const runs = [...sizes, nA];
  let at = 0;
  const offsets = cs.map((k) => ((at += k), at - k));
  return runsOf(p, paddedKey(concatShares([...ss.map((x) => x.key), aKey]), runs), runs, planes, opts.decomposeRows ?? DECOMPOSE_ROWS, { keyBits, unsigned: true })
    .then((rs) => flagsOf(p, rs.map((r, i) => withCarried(p, r, planes.P, c, i < ss.length ? { at: offsets[i]!, planes: ss[i]!.carried } : undefined)), planes, c, opts));
}

/**
 * semiJoinMerged for another condition on S's rows (`present`, one plane of S's lanes, or null: every
 * row), from the line-up of an earlier one over the same keys: the condition through the recorded
 * network forward, the scan, the network back (no comparisons). Reveals nothing.
 */
export function semiJoinAgain(p: Party, lineup: SemiLineup, present: BShare | null, opts: Pick<SemiMergeOptions, 'arenaBytes' | 'onProgress'> = {}): Promise<BShare> {
  if (present && (present.n !== lineup.rows[0] || present.bits !== 1)) return Promise.reject(new RangeError(`semiJoinAgain: a condition of ${present.n} lanes × ${present.bits} planes for the line-up's ${lineup.rows[0]} rows`));
  return carryAgain(p, lineup, present, opts);
}

/** carryMerged from the line-up of an earlier merge over the same keys (no comparisons). Reveals nothing. */
export async function carryAgain(p: Party, lineup: SemiLineup, carried: BShare | null, opts: Pick<SemiMergeOptions, 'arenaBytes' | 'onProgress'> & { window?: number } = {}): Promise<BShare> {
  const [nS, nA] = lineup.rows, rec = lineup.network;
  if (carried && carried.n !== nS) throw new RangeError(`carryAgain: ${carried.n} lanes of carried planes for the line-up's ${nS} rows`);
  const c = carried?.bits ?? 1;
  // S's planes as a run of c planes, placed as the network was fed (A's lanes 0).
  const run = withCarried(p, { a: new Uint32Array(0), b: new Uint32Array(0), words: wordsFor(nS), rows: nS }, 0, c, { at: 0, planes: carried });
  const fed = (h: Uint32Array) => (aIsLo(nS, nA) ? inputLayout(rec, c, null, h) : inputLayout(rec, c, h, null));
  const merged = await applyNetwork(p, rec, { a: fed(run.a), b: fed(run.b) }, c, 'forward', opts.arenaBytes ?? Infinity);
  opts.onProgress?.(0.5);
  const n = nS + nA;
  const W = wordsFor(n);
  const here = new BShare(n, c, planeWords(merged.a, c, rec.WN, 0, W), planeWords(merged.b, c, rec.WN, 0, W));
  return flagsFrom(p, lineup, here, opts);
}

/**
 * The network with the c planes carried (the S runs merged with each other first, A's run, the
 * last, merged with them by the recorded network), then flagsFrom (see the module comment).
 */
async function flagsOf(p: Party, runs: Run[], { rb, P }: Planes, c: number, opts: SemiMergeOptions & { window?: number }): Promise<{ planes: BShare; lineup: SemiLineup | null }> {
  const a = runs.pop()!;
  const nA = a.rows, nS = runs.reduce((t, r) => t + r.rows, 0);
  let rec: NetworkRecord | null = null;
  const layers = 2 * Math.ceil(Math.log2(32 * (runs.reduce((t, r) => t + r.words, 0) + a.words))) + (runs.length - 1) * Math.ceil(Math.log2(32 * Math.max(1, ...runs.map((r) => r.words))));
  let done = 0;
  const step = () => opts.onProgress?.(Math.min(1, ++done / layers));
  const arena = opts.arenaBytes ?? Infinity;
  while (runs.length > 1) runs.push(await mergeTwo(p, runs, P, arena, step, { carried: c }));
  const merged = await mergeTwo(p, [runs.pop()!, a], P, arena, step, { carried: c, record: (r) => (rec = r) });
  if (!rec) throw new Error('carryMerged: the merge recorded no network');
  const n = nS + nA;
  const lineup: SemiLineup = { kind: 'semi-merge', rows: [nS, nA], network: rec, first: not(p, await samePlanes(p, merged, n, rb, P - rb - 1)) };
  const top = (h: Uint32Array) => planeWords(h.subarray(P * merged.words), c, merged.words, 0, wordsFor(n));
  const here = new BShare(n, c, top(merged.a), top(merged.b));
  return { planes: await flagsFrom(p, lineup, here, opts), lineup: rb === 1 ? lineup : null };
}

/** From the planes in merged order (`here`): the OR per person (over `window` rows), the network back, A's lanes. */
async function flagsFrom(p: Party, lineup: SemiLineup, here: BShare, opts: Pick<SemiMergeOptions, 'arenaBytes' | 'onProgress'> & { window?: number }): Promise<BShare> {
  const { first, network: r } = lineup;
  const [nS, nA] = lineup.rows;
  const c = here.bits;
  // At a person's A row (the group's last): the OR of each plane over the group's rows.
  const has = await presenceInGroups(p, first, here, opts.window ?? here.n);
  const W = wordsFor(nS + nA);
  const planes = (h: Uint32Array) => {
    const out = new Uint32Array(c * r.WN);
    for (let k = 0; k < c; k++) out.set(h.subarray(k * W, (k + 1) * W), k * r.WN);
    return out;
  };
  const back = await applyNetwork(p, r, { a: planes(has.a), b: planes(has.b) }, c, 'back', opts.arenaBytes ?? Infinity);
  opts.onProgress?.(1);
  const WA = wordsFor(nA);
  const tail = lastWordLanes(nA);
  // A's run has its own words (WA per plane), so its planes are A's lanes as they are.
  const lanes = (h: Uint32Array) => {
    const run = inputLanes(r, h, c, aIsLo(nS, nA) ? 'lo' : 'hi');
    for (let k = 0; k < c; k++) run[k * WA + WA - 1]! &= tail; // A's pad lanes: 0 in every share half
    return run;
  };
  return new BShare(nA, c, lanes(back.a), lanes(back.b));
}

/** Whether mergeTwo placed A's run low: it puts the shorter run low, of two of equal length (a stable sort) the first, S. */
const aIsLo = (nS: number, nA: number): boolean => nA < nS;

const noFlags = (nA: number, c = 1) => new BShare(nA, c, new Uint32Array(c * wordsFor(nA)), new Uint32Array(c * wordsFor(nA)));

/**
 * A run with c more planes on top: `carried.planes` at planes at … of them in its rows' lanes (null:
 * one plane of ones; 0 in pad lanes), the other carried planes 0; or 0 everywhere (`carried`
 * undefined: the A run).
 */
function withCarried(p: Party, r: Run, P: number, c: number, carried: { at: number; planes: BShare | null } | undefined): Run {
  const w = r.words;
  const grow = (h: Uint32Array) => {
    const out = new Uint32Array((P + c) * w);
    out.set(h);
    return out;
  };
  const a = grow(r.a), b = grow(r.b);
  if (carried !== undefined) {
    const tail = lastWordLanes(r.rows);
    const from = carried.planes;
    if (from) {
      for (let k = 0; k < from.bits; k++) {
        const top = (P + carried.at + k) * w;
        a.set(from.a.subarray(k * w, (k + 1) * w), top);
        b.set(from.b.subarray(k * w, (k + 1) * w), top);
        // Pad lanes of the last word: 0 in every share half, so 0 whatever the carried planes held there.
        a[top + w - 1]! &= tail;
        b[top + w - 1]! &= tail;
      }
    } else if (p.id !== 1) {
      // Public ones in x_0 (party 0's first half, party 2's second).
      const x0 = p.id === 0 ? a : b;
      const top = (P + carried.at) * w;
      x0.fill(0xffffffff, top, top + w);
      x0[top + w - 1] = tail;
    }
  }
  return { a, b, words: w, rows: r.rows };
}
