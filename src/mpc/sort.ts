// Oblivious sort of a shared signed key column carrying payload columns, e.g. to line up records
// by person id or date before a join, a group-by or a survival analysis. Scale: 1 M rows.
//
// Shuffle-then-sort (Hamada, Kikuchi, Ikarashi, Chida, "Practically efficient multi-party sorting
// protocols from comparison sort algorithms", ICISC 2012): keys are made distinct as
// composite = key·2^t + original index (t = ceil(log2 n), a local step: the index is public), the
// table is obliviously shuffled (shuffle.ts), then a quicksort runs on the composites and reveals
// every comparison outcome. Because the shuffled composites are distinct and in uniformly random
// order, the outcomes (and so the recursion shape and the final public reordering) are a function
// of a uniformly random permutation only: the protocol reveals n, the number of payload columns
// and the declared key width, nothing about the data.
//
// Quicksort is breadth-first: at each level every open segment takes its first element as pivot
// and all other elements of all segments are compared with their pivot in ONE batched lt call
// (~2 n ln n comparisons, ~24.5 per row and ~50 levels at 1 M rows). From 4096 rows on, a
// sample-sort front end cuts that to ~20 per row (near the log2 n minimum): the first 2^s − 1
// shuffled rows, a uniform sample, are quicksorted, all other rows find their gap between those
// splitters by a lockstep binary search (s levels of one comparison per row), and the gaps are
// quicksorted (~68 levels at 1 M rows, the extra ones tiny). The composites are signed
// (keyBits + t)-bit integers, which lt is told, so its circuit has keyBits + t + 1 planes.
// Partitioning is a public reordering: each party moves its composite shares locally, and key and
// payloads move once, at the end, by one local permutation. Ties in the key keep their original
// order (the sort is stable).
import { MoveArena } from '../ring/moves.js';
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { fromPlanes, lastWordLanes, toPlanes } from '../ring/bits.js';
import { addPublic, mulPublic, sub, subFromPublic } from './arith.js';
import { andAllPlanes, BShare, not, revealBits, xorPublic } from './boolean.js';
import { lt } from './compare.js';
import { bitDecompose, msbOfSum } from './convert.js';
import type { Party } from './party.js';
import { AShare } from './share.js';
import { applyShuffle, invertPermutation, scatterRows, Shuffle, shuffle, unshuffle } from './shuffle.js';

export interface SortOptions {
  /**
   * Keys are signed integers of this many bits (default 32): −2^(keyBits−1) ≤ key < 2^(keyBits−1).
   * This is a promise about secret data that is not checked (a range check would cost two more
   * comparisons per row): keys outside it make composites collide or wrap, so the output order
   * is wrong AND the revealed outcomes are no longer independent of the data. Validate ranges at
   * input (ingest) time. keyBits + ceil(log2 n) ≤ 64.
   */
  keyBits?: number;
  /** Largest key first (ties still keep their original order). */
  descending?: boolean;
  /**
   * The keys are distinct (a promise, e.g. (person id, table) pairs of tables whose person id is
   * validated unique at ingest): no row index is appended, so each comparison is ceil(log2 n)
   * bits narrower. Equal keys would make the revealed outcomes depend on the data. Not with
   * withIndex.
   */
  distinct?: boolean;
  /** Also return each output row's original (0-based) row index. */
  withIndex?: boolean;
  /**
   * Called with each level's revealed comparison outcomes (m lanes, bit-packed), i.e. exactly
   * what every party learns; for tests, audits and progress reporting.
   */
  onReveal?: (less: Uint32Array, m: number) => void;
  /**
   * Check the keyBits promise first (a 64-bit bit decomposition per row, then an AND over all
   * rows): the parties learn one bit, whether every key is in range, and reject with a
   * RangeError if not. Adds ~12-15% to the sort (measured at 2^18 rows, in memory).
   */
  checkRange?: boolean;
  /**
   * Splitter search depth s: first sort a sample of 2^s − 1 rows, binary-search the others into
   * its gaps, then quicksort the gaps. Default from n (0 below 4096 rows: plain quicksort); at
   * most log2(n/4 + 1). A tuning knob; the result and what is revealed do not depend on it.
   */
  sampleLevels?: number;
}

export interface SortResult {
  /** The keys in ascending (signed) order. */
  key: AShare;
  /** The payload columns, rows following their keys. */
  payloads: AShare[];
  /** Original row index of each output row (if withIndex). */
  index?: AShare;
  /** The secret row permutation, to apply to or undo on other columns (applySortPermutation). */
  permutation: SortPermutation;
}

/**
 * A sort's row permutation at this party: the oblivious shuffle (secret, see shuffle.ts) and
 * then the public reordering rank (shuffled row i went to position rank[i]).
 */
export interface SortPermutation {
  shuffle: Shuffle;
  rank: Uint32Array;
  /**
   * The other way round (merge.ts): output = unshuffle(rows gathered by rank), i.e. the rows are
   * first reordered publicly (place i takes row rank[i]), then the shuffle is undone.
   */
  gather?: boolean;
}

/** Bits needed for indices 0..n−1. */
export const indexBits = (n: number): number => (n <= 1 ? 0 : 32 - Math.clz32(n - 1));

const u32 = (c: Col): Uint32Array => new Uint32Array(c.buffer, c.byteOffset, c.length * 2);

/** The public column 0, 1, ..., n−1, or n−1−i with `reverse` (through 32-bit words, no BigInt per lane). */
export function iota(n: number, reverse = false): Col {
  const out = new BigUint64Array(n);
  const w = u32(out);
  for (let i = 0; i < n; i++) w[2 * i] = reverse ? n - 1 - i : i;
  return out;
}

/**
 * Open segments [start, end) of the order array, with more than one element each, as typed
 * arrays: seg[2s] = start, seg[2s+1] = end; `count` segments.
 */
interface Segments {
  seg: Uint32Array;
  count: number;
}

/**
 * The composites' shares, kept in the current order (lane i belongs to row order[i]), so a level
 * reads and writes them sequentially instead of gathering at random: 64-bit views for block
 * copies, 32-bit word views for lane-by-lane moves.
 */
interface Lanes {
  a: BigUint64Array;
  b: BigUint64Array;
  a32: Uint32Array;
  b32: Uint32Array;
}
const lanesOf = (a: BigUint64Array, b: BigUint64Array): Lanes => ({ a, b, a32: u32(a), b32: u32(b) });

/** Segments at least this long are copied with native set/fill (one BigInt per segment, not per lane). */
const BLOCK = 32;

/**
 * Lists every non-pivot element (its row in xIdx, its shares in x) with its segment's pivot's
 * shares (in y); returns how many.
 */
function operands(order: Uint32Array, segs: Segments, c: Lanes, xIdx: Uint32Array, x: Lanes, y: Lanes): number {
  const seg = segs.seg;
  const { a32: ca, b32: cb } = c;
  const { a32: xa, b32: xb } = x;
  const { a32: ya, b32: yb } = y;
  let m = 0;
  for (let s = 0; s < segs.count; s++) {
    const st = seg[2 * s]!;
    const e = seg[2 * s + 1]!;
    if (e - st >= BLOCK) {
      const len = e - st - 1;
      xIdx.set(order.subarray(st + 1, e), m);
      x.a.set(c.a.subarray(st + 1, e), m);
      x.b.set(c.b.subarray(st + 1, e), m);
      y.a.fill(c.a[st]!, m, m + len);
      y.b.fill(c.b[st]!, m, m + len);
      m += len;
      continue;
    }
    const a0 = ca[2 * st]!;
    const a1 = ca[2 * st + 1]!;
    const b0 = cb[2 * st]!;
    const b1 = cb[2 * st + 1]!;
    for (let k = st + 1; k < e; k++, m++) {
      xIdx[m] = order[k]!;
      const i = 2 * k;
      const o = 2 * m;
      xa[o] = ca[i]!;
      xa[o + 1] = ca[i + 1]!;
      xb[o] = cb[i]!;
      xb[o + 1] = cb[i + 1]!;
      ya[o] = a0;
      ya[o + 1] = a1;
      yb[o] = b0;
      yb[o + 1] = b1;
    }
  }
  return m;
}

/**
 * Partitions each segment in place by the revealed outcome bits: smaller elements from the left,
 * larger from the right (their relative order is irrelevant, they are sorted further), the pivot
 * in between; rows and their composite shares move together. Writes the next level's open
 * segments into `out`.
 */
function partition(order: Uint32Array, segs: Segments, c: Lanes, xIdx: Uint32Array, x: Lanes, less: Uint32Array, out: Segments): void {
  const seg = segs.seg;
  const nseg = out.seg;
  const { a32: ca, b32: cb } = c;
  const { a32: xa, b32: xb } = x;
  let cnt = 0;
  let q = 0;
  for (let s = 0; s < segs.count; s++) {
    const st = seg[2 * s]!;
    const e = seg[2 * s + 1]!;
    const piv = order[st]!;
    const a0 = ca[2 * st]!;
    const a1 = ca[2 * st + 1]!;
    const b0 = cb[2 * st]!;
    const b1 = cb[2 * st + 1]!;
    let lo = st;
    let hi = e - 1;
    for (let k = st + 1; k < e; k++, q++) {
      const bit = (less[q >>> 5]! >>> (q & 31)) & 1; // branch-free: the outcomes are random
      const d = bit ? lo : hi;
      lo += bit;
      hi -= bit ^ 1;
      order[d] = xIdx[q]!;
      const i = 2 * q;
      const o = 2 * d;
      ca[o] = xa[i]!;
      ca[o + 1] = xa[i + 1]!;
      cb[o] = xb[i]!;
      cb[o + 1] = xb[i + 1]!;
    }
    order[lo] = piv;
    ca[2 * lo] = a0;
    ca[2 * lo + 1] = a1;
    cb[2 * lo] = b0;
    cb[2 * lo + 1] = b1;
    if (lo - st > 1) {
      nseg[2 * cnt] = st;
      nseg[2 * cnt + 1] = lo;
      cnt++;
    }
    if (e - lo - 1 > 1) {
      nseg[2 * cnt] = lo + 1;
      nseg[2 * cnt + 1] = e;
      cnt++;
    }
  }
  out.count = cnt;
}

/** Comparison outcomes (one plane), revealed to all and reported to onReveal. */
async function revealOutcomes(p: Party, b: BShare, onReveal?: SortOptions['onReveal']): Promise<Uint32Array> {
  const less = (await revealBits(p, b))!;
  onReveal?.(less, b.n);
  return less;
}

/** "x goes before y" for the sort direction, revealed to all: one batched comparison. */
async function before(p: Party, x: AShare, y: AShare, bits: number, descending: boolean, onReveal?: SortOptions['onReveal']): Promise<Uint32Array> {
  return revealOutcomes(p, await (descending ? lt(p, y, x, { bits }) : lt(p, x, y, { bits })), onReveal);
}

/** The sign plane of A + B (bits of two addends, sum read mod 2^bits), revealed to all: the outcome of lt on their difference. */
async function signOfSum(p: Party, A: BShare, B: BShare, onReveal?: SortOptions['onReveal']): Promise<Uint32Array> {
  return revealOutcomes(p, await msbOfSum(p, A, B), onReveal);
}

/** out lanes q = src lanes idx[q] (both halves), through 32-bit words. */
function gatherShare(src: AShare, idx: Uint32Array): AShare {
  const out = new AShare(new BigUint64Array(idx.length), new BigUint64Array(idx.length));
  for (const [s, d] of [
    [u32(src.a), u32(out.a)],
    [u32(src.b), u32(out.b)],
  ] as const) {
    for (let q = 0, o = 0; q < idx.length; q++, o += 2) {
      const k = 2 * idx[q]!;
      d[o] = s[k]!;
      d[o + 1] = s[k + 1]!;
    }
  }
  return out;
}

/**
 * Breadth-first quicksort of the composites from a starting arrangement: `order` lists rows,
 * `cur` the open segments of it (all else is final). Returns the sorted order: position i of the
 * output is row order[i]. One batched comparison and one reveal per level.
 */
async function quicksortLevels(p: Party, comp: AShare, bits: number, descending: boolean, onReveal: SortOptions['onReveal'], order: Uint32Array, cur: Segments): Promise<Uint32Array> {
  const n = order.length;
  if (n >= MOVES_ROWS) {
    const arena = MoveArena.take(movesBytes(n, cur.seg.length));
    if (arena) {
      try {
        return await quicksortInArena(p, arena, comp, bits, descending, onReveal, order, cur);
      } finally {
        arena.release();
      }
    }
  }
  let nxt: Segments = { seg: new Uint32Array(cur.seg.length), count: 0 };
  const c0 = gatherShare(comp, order);
  const c = lanesOf(c0.a, c0.b);
  const m0 = Math.max(n - 1, 0);
  const xIdx = new Uint32Array(m0);
  const xa = new BigUint64Array(m0);
  const xb = new BigUint64Array(m0);
  const ya = new BigUint64Array(m0);
  const yb = new BigUint64Array(m0);
  const x = lanesOf(xa, xb);
  const y = lanesOf(ya, yb);
  while (cur.count > 0) {
    const m = operands(order, cur, c, xIdx, x, y);
    const X = new AShare(xa.subarray(0, m), xb.subarray(0, m));
    const Y = new AShare(ya.subarray(0, m), yb.subarray(0, m));
    const less = await before(p, X, Y, bits, descending, onReveal);
    partition(order, cur, c, xIdx, x, less, nxt);
    [cur, nxt] = [nxt, cur];
  }
  return order;
}

/** Rows from which quicksortLevels moves rows in WebAssembly (src/ring/moves.ts). */
const MOVES_ROWS = 1 << 12;

/** Bytes of quicksortInArena's arrays for n rows and segment stores of `seg` words. */
const movesBytes = (n: number, seg: number): number => 56 * n + 8 * seg + 4 * ((n >>> 5) + 1) + 128;

/**
 * quicksortLevels with its arrays in a MoveArena and its moves (gather, operands, partition) in
 * WebAssembly; the same steps, outcomes and result as the loops in JavaScript.
 */
async function quicksortInArena(p: Party, A: MoveArena, comp: AShare, bits: number, descending: boolean, onReveal: SortOptions['onReveal'], order: Uint32Array, first: Segments): Promise<Uint32Array> {
  const n = order.length, m0 = n - 1;
  const ord = A.u32(n);
  ord.set(order);
  const segs = [A.u32(first.seg.length), A.u32(first.seg.length)] as const;
  segs[0].set(first.seg.subarray(0, 2 * first.count));
  let count = first.count, c = 0;
  const ca = A.u64(n), cb = A.u64(n);
  const xIdx = A.u32(m0), xa = A.u64(m0), xb = A.u64(m0);
  // y holds n lanes: first the composites in row order, gathered into c by the starting order.
  const ya = A.u64(n), yb = A.u64(n);
  ya.set(comp.a);
  yb.set(comp.b);
  A.k.gather(A.at(ya), A.at(yb), A.at(ord), n, A.at(ca), A.at(cb));
  const less = A.u32((m0 >>> 5) + 1);
  while (count > 0) {
    const m = A.k.operands(A.at(ord), A.at(segs[c]), count, A.at(ca), A.at(cb), A.at(xIdx), A.at(xa), A.at(xb), A.at(ya), A.at(yb));
    const X = new AShare(xa.subarray(0, m), xb.subarray(0, m));
    const Y = new AShare(ya.subarray(0, m), yb.subarray(0, m));
    less.set((await before(p, X, Y, bits, descending, onReveal)).subarray(0, (m + 31) >>> 5));
    count = A.k.partition(A.at(ord), A.at(segs[c]), count, A.at(ca), A.at(cb), A.at(xIdx), A.at(xa), A.at(xb), A.at(less), A.at(segs[1 - c]));
    c = 1 - c;
  }
  order.set(ord);
  return order;
}

/** Segments store for up to n/2 open segments (each has two or more elements). */
const segmentsFor = (n: number): Segments => ({ seg: new Uint32Array(2 * Math.max(1, n >>> 1)), count: 0 });

/** Plain quicksort of rows 0..n−1 of comp. */
function quicksortOrder(p: Party, comp: AShare, bits: number, descending: boolean, onReveal?: SortOptions['onReveal']): Promise<Uint32Array> {
  const n = comp.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const cur = segmentsFor(n);
  if (n > 1) {
    cur.seg[0] = 0;
    cur.seg[1] = n;
    cur.count = 1;
  }
  return quicksortLevels(p, comp, bits, descending, onReveal, order, cur);
}

/** Default splitter-search depth s (sample of 2^s − 1 rows) for n rows; 0 = plain quicksort. */
export function defaultSampleLevels(n: number): number {
  if (n < 1 << 12) return 0;
  return Math.min(15, Math.floor(Math.log2(n)) - 5);
}

/**
 * Sample-then-split, then quicksort: the first k = 2^s − 1 shuffled rows (a uniformly random
 * sample) are sorted by quicksort; every other row finds its gap among them by binary search,
 * s levels of one comparison each, all rows in lockstep; then the gaps are quicksorted. The
 * balanced splitters save ~15% of the comparisons at 1 M rows (~20.4 instead of ~24.4 per row, in
 * simulation) for ~25 more, mostly tiny, levels. Still only a function of the random order.
 */
async function sampleSortOrder(p: Party, comp: AShare, bits: number, descending: boolean, s: number, onReveal?: SortOptions['onReveal']): Promise<Uint32Array> {
  const n = comp.length;
  const k = 2 ** s - 1;
  const sampleOrder = await quicksortOrder(p, comp.slice(0, k), bits, descending, onReveal);
  const m = n - k;
  // The rows and the sorted splitters are bit-decomposed once, the splitters negated first (for
  // descending: the rows), so that each level's comparison is the adder alone: the sign of
  // x + (−s) over bits + 1 planes, as lt(x, s, { bits }) takes it, without a subtraction and a
  // conversion per level. The splitters' planes go back to XOR-shared words, gathered per row
  // like arithmetic shares (each party moves its own halves), then into planes again.
  const W = bits + 1;
  const neg = (v: AShare) => subFromPublic(p, 0n, v);
  const splitters = gatherShare(comp, sampleOrder); // sorted sample
  const XB = await bitDecompose(p, descending ? neg(comp.slice(k, n)) : comp.slice(k, n), W);
  const SB = await bitDecompose(p, descending ? splitters : neg(splitters), W);
  const sa = fromPlanes(SB.a, k, W);
  const sb = fromPlanes(SB.b, k, W);
  // After `level` levels a row's remaining gaps are g·2^(s−level) .. (g+1)·2^(s−level) − 1, where
  // g collects its outcomes as bits (1 = after the splitter); it is compared with the splitter
  // in the middle, rank (2g+1)·2^(s−level−1) − 1. After s levels g is its gap.
  const gap = new Uint32Array(m);
  const ya = R.uninit(m);
  const yb = R.uninit(m);
  let less: Uint32Array | null = null;
  for (let level = 0; level <= s; level++) {
    // Each row's gap takes the last outcome, then its next splitter is gathered (a WebAssembly
    // kernel; the last level only updates the gaps).
    const sh = s - level - 1;
    R.searchLevel(gap, less, sh, sa, sb, ya, yb);
    if (sh >= 0) less = await signOfSum(p, XB, new BShare(m, W, toPlanes(ya, W), toPlanes(yb, W)), onReveal);
  }
  // Lay out gap 0, splitter 0, gap 1, splitter 1, ..., gap k (a counting sort by gap); gaps of
  // two or more rows are the open segments.
  const start = new Uint32Array(k + 2);
  for (let q = 0; q < m; q++) start[gap[q]! + 1]!++;
  for (let g = 0; g <= k; g++) start[g + 1]! += start[g]! + 1; // +1: the splitter after gap g
  const order = new Uint32Array(n);
  const fill = start.slice(0, k + 1);
  for (let q = 0; q < m; q++) order[fill[gap[q]!]!++] = k + q;
  const cur = segmentsFor(n);
  for (let g = 0; g <= k; g++) {
    const st = start[g]!;
    const e = g < k ? start[g + 1]! - 1 : n; // the splitter sits at start[g+1] − 1
    if (g < k) order[e] = sampleOrder[g]!;
    if (e - st > 1) {
      cur.seg[2 * cur.count] = st;
      cur.seg[2 * cur.count + 1] = e;
      cur.count++;
    }
  }
  return quicksortLevels(p, comp, bits, descending, onReveal, order, cur);
}

/** Lanes forced to 1 where the public mask c is set: x ∨ c = x ⊕ c ⊕ (x ∧ c), all local. */
function orPublic(p: Party, x: BShare, c: Uint32Array): BShare {
  const a = x.a.map((w, i) => w ^ (w & c[i]!));
  const b = x.b.map((w, i) => w ^ (w & c[i]!));
  return xorPublic(p, new BShare(x.n, x.bits, a, b), c);
}

/**
 * Whether every key is a signed keyBits-bit integer, −2^(keyBits−1) ≤ key < 2^(keyBits−1).
 * Reveals that one bit only: per-row outcomes are ANDed inside MPC (log-depth tree over words,
 * then over the 32 bit positions).
 */
export async function keysInRange(p: Party, key: AShare, keyBits: number): Promise<boolean> {
  const n = key.length;
  if (n === 0) return true;
  // key + 2^(keyBits−1) must lie in [0, 2^keyBits): its bits keyBits..63 must all be zero.
  const v = addPublic(p, key, 1n << BigInt(keyBits - 1));
  const bitsOf = await bitDecompose(p, v, 64);
  const zeroHigh = await andAllPlanes(p, not(p, bitsOf.planes(keyBits, 64)));
  // Padding lanes of the last word count as in range.
  const W = zeroHigh.words;
  const pad = new Uint32Array(W);
  if (n & 31) pad[W - 1] = ~lastWordLanes(n) >>> 0;
  const ok = orPublic(p, zeroHigh, pad);
  // The W words as W planes of 32 lanes: AND them; then the 32 lanes as 32 planes of one lane.
  const perBit = await andAllPlanes(p, new BShare(32, W, ok.a, ok.b));
  const spread = (w: number) => Uint32Array.from({ length: 32 }, (_, k) => (w >>> k) & 1);
  const all = await andAllPlanes(p, new BShare(1, 32, spread(perBit.a[0]!), spread(perBit.b[0]!)));
  return ((await revealBits(p, all))![0]! & 1) === 1;
}

/**
 * Sorts rows by a shared signed key (ascending unless opts.descending; stable); payload columns
 * follow their key.
 * Reveals n, the number of payload columns and keyBits only (see the module comment).
 */
export async function sort(p: Party, key: AShare, payloads: AShare[] = [], opts: SortOptions = {}): Promise<SortResult> {
  const n = key.length;
  const keyBits = opts.keyBits ?? 32;
  if (!Number.isInteger(keyBits) || keyBits < 1 || keyBits > 63) throw new RangeError(`sort: keyBits must be an integer in 1..63, got ${keyBits}`);
  for (const c of payloads) if (c.length !== n) throw new RangeError(`sort: payload of ${c.length} rows, key has ${n}`);
  if (opts.sampleLevels !== undefined && (!Number.isInteger(opts.sampleLevels) || opts.sampleLevels < 0)) throw new RangeError(`sort: sampleLevels must be a non-negative integer, got ${opts.sampleLevels}`);
  if (opts.distinct && opts.withIndex) throw new RangeError('sort: withIndex needs the index tie-break, not distinct');
  const t = opts.distinct ? 0 : indexBits(n);
  const bits = keyBits + t;
  if (bits > 64) throw new RangeError(`sort: keyBits ${keyBits} + index bits ${t} exceed 64`);
  if (opts.checkRange && !(await keysInRange(p, key, keyBits))) throw new RangeError(`sort: some key is outside the declared ${keyBits}-bit range`);
  if (n === 0) {
    const empty = () => new AShare(new BigUint64Array(0), new BigUint64Array(0));
    return { key: empty(), payloads: payloads.map(empty), ...(opts.withIndex ? { index: empty() } : {}), permutation: { shuffle: new Shuffle(0), rank: new Uint32Array(0) } };
  }

  const scale = 1n << BigInt(t);
  // Descending: ties broken by n−1−index, so that equal keys still come out in original order.
  const desc = opts.descending ?? false;
  const composite = opts.distinct ? key : addPublic(p, mulPublic(key, scale), iota(n, desc));
  const { cols, shuffle: sh } = await shuffle(p, [composite, key, ...payloads]);
  const comp = cols[0]!;
  const rest = cols.slice(1);
  if (opts.withIndex) {
    const tie = sub(comp, mulPublic(rest[0]!, scale));
    rest.push(desc ? subFromPublic(p, BigInt(n - 1), tie) : tie);
  }

  const levels = Math.min(opts.sampleLevels ?? defaultSampleLevels(n), Math.floor(Math.log2(n / 4 + 1)));
  const order = levels > 0 ? await sampleSortOrder(p, comp, bits, desc, levels, opts.onReveal) : await quicksortOrder(p, comp, bits, desc, opts.onReveal);
  // Output position of shuffled row order[i] is i.
  const rank = new Uint32Array(n);
  for (let i = 0; i < n; i++) rank[order[i]!] = i;
  const out = permuteLocal(rest, rank);
  return {
    key: out[0]!,
    payloads: out.slice(1, 1 + payloads.length),
    ...(opts.withIndex ? { index: out[rest.length - 1]! } : {}),
    permutation: { shuffle: sh, rank },
  };
}

/** Moves row i of every column to position perm[i], locally: one scatter per share half. */
function permuteLocal(cols: AShare[], perm: Uint32Array): AShare[] {
  const n = perm.length;
  const c = cols.length;
  // Every lane is written (perm is a permutation).
  const outA = R.uninit(n * c);
  const outB = R.uninit(n * c);
  scatterRows(cols.map((x) => x.a), outA, perm, n);
  scatterRows(cols.map((x) => x.b), outB, perm, n);
  return R.split(outA, cols.map(() => n)).map((a, k) => new AShare(a, outB.subarray(k * n, (k + 1) * n)));
}

/**
 * Applies a sort's secret row permutation to other columns of the same n rows (3 rounds: the
 * sort's shuffle again, with fresh masks, then its public reordering), e.g. to carry columns
 * along that were not sorted with the key. Reveals nothing new.
 */
export function applySortPermutation(p: Party, perm: SortPermutation, cols: AShare[]): Promise<AShare[]> {
  // Not an async function: it would hold `cols` until the shuffle's rounds end.
  if (cols.length === 0) return Promise.resolve([]);
  if (perm.gather) return unshuffle(p, perm.shuffle, cols, invertPermutation(perm.rank));
  return applyShuffle(p, perm.shuffle, cols, perm.rank);
}

/** Undoes a sort's permutation: sorted-order columns back to the original row order (3 rounds). */
export function unsortPermutation(p: Party, perm: SortPermutation, cols: AShare[]): Promise<AShare[]> {
  // Not an async function (see applySortPermutation).
  if (cols.length === 0) return Promise.resolve([]);
  const n = perm.rank.length;
  for (const c of cols) if (c.length !== n) return Promise.reject(new RangeError(`unsort: column of ${c.length} rows, expected ${n}`));
  if (perm.gather) return applyShuffle(p, perm.shuffle, cols, perm.rank);
  // Sorted position i came from shuffled row invertPermutation(rank)[i].
  return unshuffle(p, perm.shuffle, cols, invertPermutation(perm.rank));
}
