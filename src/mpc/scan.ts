// Segmented scans over shared columns: at each row, the values of the last earlier-or-same row
// whose flag is set ("copy the last set value forward"). With a flag at every segment start this
// is the building block of joins and group-by over sorted data (join.ts, group.ts): copying a
// person's population row onto all of their hospital contacts, a running OR ("any E11 so far"),
// a running count, or the prefix sum at a segment's start (segmented sums = prefix-sum differences).
//
// The operator (f_L, v_L) ⊕ (f_R, v_R) = (f_L ∨ f_R, f_R ? v_R : v_L) is associative, so the scan is
// a parallel prefix: Brent–Kung (Brent, Kung, "A regular layout for parallel adders", IEEE ToC
// 1982; Blelloch, "Prefix sums and their applications", 1990), by recursive pairing: an up-sweep
// that halves the column at each level and a down-sweep back, 2·log2 n rounds and about 2n
// applications of ⊕ in all, instead of n·log2 n for the log-depth Hillis–Steele scan. Each application costs one multiplication per value column plus one for the
// flags (f_L ∨ f_R = f_L + f_R − f_L·f_R, f_R ? v_R : v_L = v_L + f_R·(v_R − v_L)), all of one
// round in ONE multiplication. Many independent scans (different flags) share those rounds.
// Where every row's last set flag is at most w − 1 rows back (a join's groups of at most w rows),
// Hillis–Steele over that window only: ⌈log2 w⌉ rounds of n applications (propagateWithin).
// Reveals nothing: the rounds and lanes depend only on n and the number of columns.
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { recvStreamed, STREAM_LANES } from './arith.js';
import type { Party } from './party.js';
import { AShare } from './share.js';

/** One scan: 0/1 arithmetic flags and the value columns they select. */
export interface ScanGroup {
  flag: AShare;
  values: AShare[];
  /**
   * Indices of value columns the caller gives up: propagate may write its output over them (in
   * place of a new column each; the caller must not read them afterwards).
   */
  consume?: readonly number[];
}

const u32 = (c: Col): Uint32Array => new Uint32Array(c.buffer, c.byteOffset, c.length * 2);

/** The groups' common length (every flag and value column of every group; `fn` names the caller in the error). */
function rowsOf(groups: ScanGroup[], fn: string): number {
  const n = groups[0]!.flag.length;
  for (const g of groups) {
    if (g.flag.length !== n || g.values.some((v) => v.length !== n)) throw new RangeError(`${fn}: all columns of all groups must have the same length`);
  }
  return n;
}

/**
 * Segmented "copy last set" scan: for every group and row i, the values of the last row j ≤ i with
 * flag[j] = 1, or 0 where no such row exists (rows whose flag is 0 must carry value 0 for that;
 * with a flag at row 0 it does not matter). Returns per group: [scanned flag (OR of flags up to
 * i), ...scanned values]. All groups must have the same length. With `flags: false` the scanned
 * flags are not made in the last level (the input flags are returned in their place): n/2 products
 * and one column per group less.
 */
export async function propagate(p: Party, groups: ScanGroup[], opts: { flags?: boolean } = {}): Promise<AShare[][]> {
  if (groups.length === 0) return [];
  rowsOf(groups, 'propagate'); // every column of every group has the same length
  // Columns per group: [flag, ...values]. Level 0 is the input; level l+1 combines the pairs
  // (2k, 2k+1) of level l (up-sweep). Every level is a compact array, so each step reads two
  // interleaved halves sequentially instead of striding across the whole column.
  const widths = groups.map((g) => 1 + g.values.length);
  const levels: AShare[][][] = [groups.map((g) => [g.flag, ...g.values])];
  while (levels[levels.length - 1]![0]![0]!.length > 1) {
    const cur = levels[levels.length - 1]!;
    const m = cur[0]![0]!.length >>> 1;
    levels.push(await combine(p, widths, cur, 0, 2, cur, 1, 2, m));
  }
  // Down-sweep: inclusive prefixes of level l from those of level l+1: lane 0 is itself, odd lanes
  // 2k+1 copy prefix k, even lanes 2k (k ≥ 1) combine prefix k−1 with their own value, written by
  // the round straight into place. Level l is overwritten where it is ours (every level but the
  // input, and the input's columns the caller gave up): a lane is read before it is written, and
  // odd lanes are not read at this level. Elsewhere a new column per output column.
  const consumed = groups.map((g) => new Set((g.consume ?? []).map((v) => v + 1)));
  let pre = levels.pop()!;
  for (let l = levels.length - 1; l >= 0; l--) {
    const cur = levels[l]!;
    const L = cur[0]![0]!.length;
    const evens = Math.ceil(L / 2) - 1;
    const flags = l > 0 || opts.flags !== false;
    const outs = cur.map((g, gi) => g.map((x, ci) => ((ci === 0 && !flags) || l > 0 || consumed[gi]!.has(ci) ? x : firstLaneOf(x, L))));
    await combine(p, widths, pre, 0, 1, cur, 2, 2, evens, flags, { cols: outs, start: 2, step: 2 });
    outs.forEach((g, gi) =>
      g.forEach((o, ci) => {
        if (ci === 0 && !flags) return;
        const x = pre[gi]![ci]!;
        oddLanesFrom(o.a, x.a);
        oddLanesFrom(o.b, x.b);
      }),
    );
    pre = outs;
    levels.pop(); // level l is in pre now: its memory can go once the next level is made
  }
  return pre;
}

/** A new column of L lanes whose lane 0 is x's (the rest is written by the caller). */
function firstLaneOf(x: AShare, L: number): AShare {
  const out = new AShare(R.uninit(L), R.uninit(L));
  if (L > 0) ((out.a[0] = x.a[0]!), (out.b[0] = x.b[0]!));
  return out;
}

/** o[2k+1] = x[k] for every k < x.length, on 32-bit words. */
function oddLanesFrom(o: Col, x: Col): void {
  const d = u32(o), s = u32(x);
  for (let k = 0, i = 2; k < s.length; k += 2, i += 4) ((d[i] = s[k]!), (d[i + 1] = s[k + 1]!));
}

/**
 * The same scan where every row's last set flag is at most `window` − 1 rows back (e.g. segments
 * of at most `window` rows, each starting with a set flag: a join's key groups when every table
 * has at most one row per key). Hillis–Steele (Hillis, Steele, "Data parallel algorithms", CACM
 * 1986): ⌈log2 window⌉ rounds of n applications of ⊕ each, each round combining every row with the
 * row 2^s back, instead of 2·log2 n rounds. Outputs equal propagate's under that promise (the last
 * set flag at or before a row is in the window); the scanned flags are the OR over the window only,
 * and with `flags: false` not made in the last round (the flags it was given, the inputs' for a
 * window of 2, stay in their place: one product less per row).
 * Reveals nothing: the rounds and lanes depend only on n, the window and the number of columns.
 */
export async function propagateWithin(p: Party, groups: ScanGroup[], window: number, opts: { flags?: boolean } = {}): Promise<AShare[][]> {
  if (groups.length === 0) return [];
  const n = rowsOf(groups, 'propagateWithin');
  if (!Number.isInteger(window) || window < 1) throw new RangeError('propagateWithin: the window must be a positive integer');
  const widths = groups.map((g) => 1 + g.values.length);
  let cur = groups.map((g) => [g.flag, ...g.values]);
  // Columns this scan may write over: those the caller gave up, then every column a round made.
  const mine = groups.map((g) => new Set((g.consume ?? []).map((v) => v + 1)));
  for (let d = 1; d < window && d < n; d *= 2) {
    // Row i ≥ d becomes row (i − d) ⊕ row i; rows below d stay. The last round makes no flags
    // unless asked (`flags: false`: the flags it was given stay in their place). Each result is
    // written straight into its column: in place where the column is ours (combine writes from the
    // last row down, so row i − d is read before it is written), else into a new column whose rows
    // below d are copied. A round then holds its products and one new column per column not ours,
    // not a second copy of every column.
    const flags = opts.flags !== false || (2 * d < window && 2 * d < n);
    const outs = cur.map((g, gi) =>
      g.map((x, ci) => {
        if ((ci === 0 && !flags) || mine[gi]!.has(ci)) return x;
        const out = new AShare(R.uninit(n), R.uninit(n)); // rows from d on written by combine
        out.a.set(x.a.subarray(0, d));
        out.b.set(x.b.subarray(0, d));
        return out;
      }),
    );
    await combine(p, widths, cur, 0, 1, cur, d, 1, n - d, flags, { cols: outs, start: d, step: 1 });
    outs.forEach((g, gi) => g.forEach((_, ci) => (ci > 0 || flags) && mine[gi]!.add(ci)));
    cur = outs;
  }
  return cur;
}

/**
 * m applications of ⊕ in one round: left operands at lanes lStart + k·lStep of `left`, right
 * operands at rStart + k·rStep of `right` (per group, per column). The products' factors are
 * gathered a message slice at a time into reused buffers (STREAM_LANES lanes, as `mul` streams a
 * long column), each slice multiplied and sent at once; the results are made over the product columns.
 * So a level costs about 1.5 times its output's memory, plus four slices.
 */
async function combine(p: Party, widths: number[], left: AShare[][], lStart: number, lStep: number, right: AShare[][], rStart: number, rStep: number, m: number, withFlags = true, into?: Into): Promise<AShare[][]> {
  // Product c·m + k of the flattened columns c = (group, column): for a flag column f_L·f_R, for a
  // value column f_R·(v_R − v_L).
  const cols = widths.flatMap((w, gi) => Array.from({ length: w }, (_, ci) => ({ gi, ci }))).filter((c) => withFlags || c.ci > 0);
  const n = m * cols.length;
  const got = recvStreamed(p, p.next, n, 'scan');
  const z = R.uninit(n);
  const S = Math.min(n, STREAM_LANES);
  const [xa, xb, ya, yb] = [R.uninit(S), R.uninit(S), R.uninit(S), R.uninit(S)];
  for (let off = 0; off < n; off += S) {
    const end = Math.min(n, off + S);
    for (let c = Math.floor(off / m); c * m < end; c++) {
      const k0 = Math.max(off, c * m) - c * m, count = Math.min(end, (c + 1) * m) - c * m - k0, at = c * m + k0 - off;
      const { gi, ci } = cols[c]!;
      const l0 = lStart + k0 * lStep, r0 = rStart + k0 * rStep;
      const fL = left[gi]![0]!, fR = right[gi]![0]!;
      const x = ci === 0 ? { c: fL, s: l0, step: lStep } : { c: fR, s: r0, step: rStep };
      gatherInto(xa, at, x.c.a, x.s, x.step, count);
      gatherInto(xb, at, x.c.b, x.s, x.step, count);
      if (ci === 0) {
        gatherInto(ya, at, fR.a, r0, rStep, count);
        gatherInto(yb, at, fR.b, r0, rStep, count);
      } else {
        const vL = left[gi]![ci]!, vR = right[gi]![ci]!;
        gatherDiff(ya, at, vR.a, r0, rStep, vL.a, l0, lStep, count);
        gatherDiff(yb, at, vR.b, r0, rStep, vL.b, l0, lStep, count);
      }
    }
    const len = end - off;
    const zs = z.subarray(off, end);
    R.rssMulZero(xa.subarray(0, len), xb.subarray(0, len), ya.subarray(0, len), yb.subarray(0, len), (b) => p.prgNext.raw(b), (b) => p.prgPrev.raw(b), zs);
    p.net.send(p.prev, R.bytesOf(zs));
  }
  const zb = await got;
  // f = f_L + f_R − f_L·f_R; v = v_L + f_R·(v_R − v_L): into `into` where given; else the received
  // half in place, this node's half in a new block (a socket may still be reading z: a sent buffer
  // is not changed).
  const za = into ? null : R.uninit(n);
  const [os, oStep] = into ? [into.start, into.step] : [0, 1];
  const out = cols.map(({ gi, ci }, c) => {
    const o = into ? into.cols[gi]![ci]! : new AShare(za!.subarray(c * m, (c + 1) * m), zb.subarray(c * m, (c + 1) * m));
    const zs = { a: z.subarray(c * m, (c + 1) * m), b: zb.subarray(c * m, (c + 1) * m) };
    for (const h of ['a', 'b'] as const) {
      if (ci === 0) flagFrom(o[h], os, oStep, zs[h], left[gi]![0]![h], lStart, lStep, right[gi]![0]![h], rStart, rStep, m);
      else addGathered(o[h], os, oStep, zs[h], left[gi]![ci]![h], lStart, lStep, m);
    }
    return o;
  });
  if (into) return into.cols;
  // Without flags a group's flag slot holds its right operand's flag column (unchanged, unused).
  let c = 0;
  return widths.map((w, gi) => [...(withFlags ? [] : [right[gi]![0]!]), ...out.slice(c, (c += withFlags ? w : w - 1))]);
}

/**
 * Where combine writes lane k of its result: lane start + k·step of cols[group][column] (per group,
 * per column, as its operands; a column combine does not make is left as it is).
 */
interface Into {
  cols: AShare[][];
  start: number;
  step: number;
}

// Lane loops over the 64-bit lanes; lane k of a strided operand is src[start + k·step]. V8's optimising
// compiler keeps BigUint64Array loads and BigInt.asUintN(64, ·) sums and differences in 64-bit registers
// (no BigInt allocated per lane): 1.9–2.6 ns per lane against 10–16 ns for the same sums carried across
// 32-bit halves, whose intermediate values exceed 32 bits and make V8 compute in doubles
// (bench/RESULTS.md, "A daemon starts from one bundled file; 64-bit lanes").

/** dst[at + k] = src[start + k·step], k < count. */
function gatherInto(dst: Col, at: number, src: Col, start: number, step: number, count: number): void {
  if (step === 1) {
    dst.set(src.subarray(start, start + count), at);
    return;
  }
  for (let k = at, i = start, e = at + count; k < e; k++, i += step) dst[k] = src[i]!;
}

/** dst[at + k] = x[xs + k·xStep] − y[ys + k·yStep] mod 2^64, k < count. */
function gatherDiff(dst: Col, at: number, x: Col, xs: number, xStep: number, y: Col, ys: number, yStep: number, count: number): void {
  for (let k = at, i = xs, j = ys, e = at + count; k < e; k++, i += xStep, j += yStep) dst[k] = BigInt.asUintN(64, x[i]! - y[j]!);
}

// The two loops below that write a column run from the last lane down, so that the window scan can
// write row i from row i − d in place: row i − d is read before it is written (propagateWithin).

/** o[os + k·oStep] = z[k] + x[xs + k·xStep] mod 2^64, k from m − 1 down to 0 (o may be z with os = 0, oStep = 1, or x with os > xs). */
function addGathered(o: Col, os: number, oStep: number, z: Col, x: Col, xs: number, xStep: number, m: number): void {
  for (let k = m - 1, q = os + k * oStep, i = xs + k * xStep; k >= 0; k--, q -= oStep, i -= xStep) o[q] = BigInt.asUintN(64, z[k]! + x[i]!);
}

/**
 * o[os + k·oStep] = x[xs + k·xStep] + y[ys + k·yStep] − z[k] mod 2^64, k from m − 1 down to 0 (o may
 * be z with os = 0, oStep = 1, or y where its lane is the one written, or x with os > xs).
 */
function flagFrom(o: Col, os: number, oStep: number, z: Col, x: Col, xs: number, xStep: number, y: Col, ys: number, yStep: number, m: number): void {
  for (let k = m - 1, q = os + k * oStep, i = xs + k * xStep, j = ys + k * yStep; k >= 0; k--, q -= oStep, i -= xStep, j -= yStep) o[q] = BigInt.asUintN(64, x[i]! + y[j]! - z[k]!);
}

/** The column shifted down one row: row i gets row i − 1's value, row 0 gets `first` (public). Local. */
export function shiftDown(p: Party, x: AShare, first = 0n): AShare {
  const n = x.length;
  const a = new BigUint64Array(n), b = new BigUint64Array(n);
  if (n > 0) {
    a.set(x.a.subarray(0, n - 1), 1);
    b.set(x.b.subarray(0, n - 1), 1);
    // A public constant enters party 0's a and party 2's b (fromPublic's convention).
    if (p.id === 0) a[0] = BigInt.asUintN(64, first);
    if (p.id === 2) b[0] = BigInt.asUintN(64, first);
  }
  return new AShare(a, b);
}

/** The column shifted up one row: row i gets row i + 1's value, the last row gets `last` (public). Local. */
export function shiftUp(p: Party, x: AShare, last = 0n): AShare {
  const n = x.length;
  const a = new BigUint64Array(n), b = new BigUint64Array(n);
  if (n > 0) {
    a.set(x.a.subarray(1), 0);
    b.set(x.b.subarray(1), 0);
    if (p.id === 0) a[n - 1] = BigInt.asUintN(64, last);
    if (p.id === 2) b[n - 1] = BigInt.asUintN(64, last);
  }
  return new AShare(a, b);
}

/** Inclusive prefix sums of a shared column. Local (sharing is linear). */
export function prefixSum(x: AShare): AShare {
  return new AShare(prefixSumCol(x.a), prefixSumCol(x.b));
}

/** Inclusive prefix sums mod 2^64 (each lane from the lane before it: see the lane loops above). */
function prefixSumCol(c: Col): Col {
  const out = R.uninit(c.length); // every lane written below
  if (c.length > 0) out[0] = c[0]!;
  for (let k = 1; k < c.length; k++) out[k] = BigInt.asUintN(64, out[k - 1]! + c[k]!);
  return out;
}
