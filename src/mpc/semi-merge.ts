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
import { BShare, not } from './boolean.js';
import { lastWordLanes, wordsFor } from '../ring/bits.js';
import { concatShares } from './arith.js';
import { paddedKey, runsOf, samePlanes, DECOMPOSE_ROWS } from './merge.js';
import { applyNetwork, inputLanes, inputLayout, mergeTwo, type NetworkRecord, type Run } from './merge-network.js';
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
  // Not an async function: V8 keeps an async function's arguments until it returns, and the keys
  // (and their padded copy) are needed only to make the runs' planes.
  const nS = s.key.length, nA = aKey.length;
  const { keyBits } = opts;
  if (!Number.isInteger(keyBits) || keyBits < 1 || keyBits > 63) return Promise.reject(new RangeError(`semiJoinMerged: keyBits must be an integer in 1..63, got ${keyBits}`));
  const present = s.present;
  if (present && (present.n !== nS || present.bits !== 1)) return Promise.reject(new RangeError(`semiJoinMerged: a condition of ${present.n} lanes × ${present.bits} planes for ${nS} rows`));
  if (nA === 0 || nS === 0) return Promise.resolve({ flags: noFlags(nA), lineup: null });
  // Planes, low to high: the run's number (S 0, A 1), the key, the pad flag; then the condition, carried.
  const planes = { rb: 1, P: keyBits + 2 };
  return runsOf(p, paddedKey(concatShares([s.key, aKey]), [nS, nA]), [nS, nA], planes, opts.decomposeRows ?? DECOMPOSE_ROWS, { keyBits, unsigned: true })
    .then((runs) => flagsOf(p, runs.map((r, i) => withCarried(p, r, planes.P, i === 0 ? present : undefined)) as [Run, Run], planes.P, opts));
}

/**
 * semiJoinMerged for another condition on S's rows (`present`, one plane of S's lanes, or null: every
 * row), from the line-up of an earlier one over the same keys: the condition through the recorded
 * network forward, the scan, the network back (no comparisons). Reveals nothing.
 */
export async function semiJoinAgain(p: Party, lineup: SemiLineup, present: BShare | null, opts: Pick<SemiMergeOptions, 'arenaBytes' | 'onProgress'> = {}): Promise<BShare> {
  const [nS, nA] = lineup.rows, rec = lineup.network;
  if (present && (present.n !== nS || present.bits !== 1)) throw new RangeError(`semiJoinAgain: a condition of ${present.n} lanes × ${present.bits} planes for the line-up's ${nS} rows`);
  // S's condition as a one-plane run, placed as the network was fed (A's lanes 0).
  const run = withCarried(p, { a: new Uint32Array(0), b: new Uint32Array(0), words: wordsFor(nS), rows: nS }, 0, present);
  const fed = (h: Uint32Array) => (aIsLo(nS, nA) ? inputLayout(rec, 1, null, h) : inputLayout(rec, 1, h, null));
  const merged = await applyNetwork(p, rec, { a: fed(run.a), b: fed(run.b) }, 1, 'forward', opts.arenaBytes ?? Infinity);
  opts.onProgress?.(0.5);
  const W = wordsFor(nS + nA);
  const here = new BShare(nS + nA, 1, merged.a.slice(0, W), merged.b.slice(0, W));
  return flagsFrom(p, lineup, here, opts);
}

/** The network with the condition carried, then flagsFrom (see the module comment). */
async function flagsOf(p: Party, runs: [Run, Run], P: number, opts: SemiMergeOptions): Promise<{ flags: BShare; lineup: SemiLineup }> {
  const [nS, nA] = runs.map((r) => r.rows) as [number, number];
  let rec: NetworkRecord | null = null;
  const layers = 2 * Math.ceil(Math.log2(32 * (runs[0].words + runs[1].words)));
  let done = 0;
  const step = () => opts.onProgress?.(Math.min(1, ++done / layers));
  const merged = await mergeTwo(p, runs, P, opts.arenaBytes ?? Infinity, step, { carried: 1, record: (r) => (rec = r) });
  if (!rec) throw new Error('semiJoinMerged: the merge recorded no network');
  const n = nS + nA, W = wordsFor(n);
  const lineup: SemiLineup = { kind: 'semi-merge', rows: [nS, nA], network: rec, first: not(p, await samePlanes(p, merged, n, 1, P - 2)) };
  const top = (h: Uint32Array) => h.slice(P * merged.words, P * merged.words + W);
  return { flags: await flagsFrom(p, lineup, new BShare(n, 1, top(merged.a), top(merged.b)), opts), lineup };
}

/** From the condition in merged order (`here`): the OR per person, the network back, A's lanes. */
async function flagsFrom(p: Party, lineup: SemiLineup, here: BShare, opts: Pick<SemiMergeOptions, 'arenaBytes' | 'onProgress'>): Promise<BShare> {
  const { first, network: r } = lineup;
  const [nS, nA] = lineup.rows;
  // At a person's A row (the group's last): whether any of the group's rows meets the condition.
  const has = await presenceInGroups(p, first, here);
  const plane = (h: Uint32Array) => {
    const out = new Uint32Array(r.WN);
    out.set(h.subarray(0, wordsFor(nS + nA)));
    return out;
  };
  const back = await applyNetwork(p, r, { a: plane(has.a), b: plane(has.b) }, 1, 'back', opts.arenaBytes ?? Infinity);
  opts.onProgress?.(1);
  const WA = wordsFor(nA);
  const tail = lastWordLanes(nA);
  const lanes = (h: Uint32Array) => {
    const out = inputLanes(r, h, 1, aIsLo(nS, nA) ? 'lo' : 'hi').slice(0, WA);
    out[WA - 1]! &= tail; // A's pad lanes: 0 in every share half
    return out;
  };
  return new BShare(nA, 1, lanes(back.a), lanes(back.b));
}

/** Whether mergeTwo placed A's run low: it puts the shorter run low, of two of equal length (a stable sort) the first, S. */
const aIsLo = (nS: number, nA: number): boolean => nA < nS;

const noFlags = (nA: number) => new BShare(nA, 1, new Uint32Array(wordsFor(nA)), new Uint32Array(wordsFor(nA)));

/**
 * A run with one more plane on top: the condition's bit in its rows' lanes (all 1 where `present`
 * is null; 0 in pad lanes), or 0 everywhere (`present` undefined: the A run).
 */
function withCarried(p: Party, r: Run, P: number, present: BShare | null | undefined): Run {
  const w = r.words;
  const grow = (h: Uint32Array) => {
    const out = new Uint32Array((P + 1) * w);
    out.set(h);
    return out;
  };
  const a = grow(r.a), b = grow(r.b);
  if (present !== undefined) {
    const top = P * w;
    const tail = lastWordLanes(r.rows);
    if (present) {
      a.set(present.a, top);
      b.set(present.b, top);
      // Pad lanes of the last word: 0 in every share half, so 0 whatever the condition's planes held there.
      a[top + w - 1]! &= tail;
      b[top + w - 1]! &= tail;
    } else if (p.id !== 1) {
      // Public ones in x_0 (party 0's first half, party 2's second).
      const x0 = p.id === 0 ? a : b;
      x0.fill(0xffffffff, top, top + w);
      x0[top + w - 1] = tail;
    }
  }
  return { a, b, words: w, rows: r.rows };
}
