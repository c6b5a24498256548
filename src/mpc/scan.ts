// Segmented scans over shared columns: at each row, the values of the last earlier-or-same row
// whose flag is set ("copy the last set value forward"). With a flag at every segment start this
// is the building block of joins and group-by over sorted data (join.ts, group.ts): copying a
// person's population row onto all of their hospital contacts, a running OR ("any E11 so far"),
// a running count, or the prefix sum at a segment's start (segmented sums = prefix-sum differences).
//
// The operator (f_L, v_L) ⊕ (f_R, v_R) = (f_L ∨ f_R, f_R ? v_R : v_L) is associative, so the scan is
// a parallel prefix: Brent–Kung (Brent, Kung, "A regular layout for parallel adders", IEEE ToC
// 1982; Blelloch, "Prefix sums and their applications", 1990): an up-sweep and a down-sweep,
// 2·log2 n rounds and about 2n applications of ⊕ in all, instead of n·log2 n for the log-depth
// Hillis–Steele scan. Each application costs one multiplication per value column plus one for the
// flags (f_L ∨ f_R = f_L + f_R − f_L·f_R, f_R ? v_R : v_L = v_L + f_R·(v_R − v_L)), all of one
// round in ONE mulMany. Many independent scans (different flags) share those rounds.
// Reveals nothing: the rounds and lanes depend only on n and the number of columns.
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { mulMany } from './arith.js';
import type { Party } from './party.js';
import { AShare } from './share.js';

/** One scan: 0/1 arithmetic flags and the value columns they select. */
export interface ScanGroup {
  flag: AShare;
  values: AShare[];
}

const u32 = (c: Col): Uint32Array => new Uint32Array(c.buffer, c.byteOffset, c.length * 2);

/** Lanes start, start + step, ... (count of them) of src, packed into dst (32-bit words: no BigInt per lane). */
function gather(src: Col, start: number, step: number, count: number, dst: Col): void {
  const s = u32(src), d = u32(dst);
  for (let k = 0, i = 2 * start; k < 2 * count; k += 2, i += 2 * step) {
    d[k] = s[i]!;
    d[k + 1] = s[i + 1]!;
  }
}
function scatter(src: Col, dst: Col, start: number, step: number, count: number): void {
  const s = u32(src), d = u32(dst);
  for (let k = 0, i = 2 * start; k < 2 * count; k += 2, i += 2 * step) {
    d[i] = s[k]!;
    d[i + 1] = s[k + 1]!;
  }
}

/**
 * Segmented "copy last set" scan: for every group and row i, the values of the last row j ≤ i with
 * flag[j] = 1, or 0 where no such row exists (rows whose flag is 0 must carry value 0 for that;
 * with a flag at row 0 it does not matter). Returns per group: [scanned flag (OR of flags up to
 * i), ...scanned values]. All groups must have the same length.
 */
export async function propagate(p: Party, groups: ScanGroup[]): Promise<AShare[][]> {
  if (groups.length === 0) return [];
  const n = groups[0]!.flag.length;
  for (const g of groups) {
    if (g.flag.length !== n || g.values.some((v) => v.length !== n)) throw new RangeError('propagate: all columns of all groups must have the same length');
  }
  // Working copies (the scan runs in place).
  const cols = groups.map((g) => [g.flag, ...g.values].map((c) => new AShare(c.a.slice(), c.b.slice())));
  const scratch = (m: number) => ({ a: new BigUint64Array(m), b: new BigUint64Array(m) });

  // One application of ⊕ at lanes i = start + k·step (k < count), its left operand at i − s.
  const step = async (start: number, stride: number, s: number, count: number): Promise<void> => {
    if (count <= 0) return;
    const left = cols.map((g) => g.map(() => scratch(count)));
    const right = cols.map((g) => g.map(() => scratch(count)));
    cols.forEach((g, gi) =>
      g.forEach((c, ci) => {
        gather(c.a, start - s, stride, count, left[gi]![ci]!.a);
        gather(c.b, start - s, stride, count, left[gi]![ci]!.b);
        gather(c.a, start, stride, count, right[gi]![ci]!.a);
        gather(c.b, start, stride, count, right[gi]![ci]!.b);
      }),
    );
    const pairs: [AShare, AShare][] = [];
    cols.forEach((g, gi) => {
      const fL = new AShare(left[gi]![0]!.a, left[gi]![0]!.b);
      const fR = new AShare(right[gi]![0]!.a, right[gi]![0]!.b);
      pairs.push([fL, fR]);
      for (let ci = 1; ci < g.length; ci++) {
        const vL = left[gi]![ci]!, vR = right[gi]![ci]!;
        pairs.push([fR, new AShare(R.sub(vR.a, vL.a), R.sub(vR.b, vL.b))]);
      }
    });
    const prods = await mulMany(p, pairs);
    let k = 0;
    cols.forEach((g, gi) => {
      // f = f_L + f_R − f_L·f_R
      const fL = left[gi]![0]!, fR = right[gi]![0]!, ff = prods[k++]!;
      const fa = R.sub(R.add(fL.a, fR.a), ff.a), fb = R.sub(R.add(fL.b, fR.b), ff.b);
      scatter(fa, g[0]!.a, start, stride, count);
      scatter(fb, g[0]!.b, start, stride, count);
      for (let ci = 1; ci < g.length; ci++) {
        // v = v_L + f_R·(v_R − v_L)
        const vL = left[gi]![ci]!, d = prods[k++]!;
        scatter(R.add(vL.a, d.a), g[ci]!.a, start, stride, count);
        scatter(R.add(vL.b, d.b), g[ci]!.b, start, stride, count);
      }
    });
  };

  const lanes = (start: number, stride: number) => (start < n ? Math.floor((n - 1 - start) / stride) + 1 : 0);
  // Up-sweep: lane i = k·2s + 2s − 1 takes in lane i − s (s = 1, 2, 4, …).
  let s = 1;
  for (; s < n; s *= 2) await step(2 * s - 1, 2 * s, s, lanes(2 * s - 1, 2 * s));
  // Down-sweep: lane i = k·2s + 3s − 1 takes in lane i − s (s halving down to 1).
  for (s >>>= 1; s >= 1; s >>>= 1) await step(3 * s - 1, 2 * s, s, lanes(3 * s - 1, 2 * s));
  return cols;
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

/** Inclusive prefix sums mod 2^64 on 32-bit halves (no BigInt per lane). */
function prefixSumCol(c: Col): Col {
  const out = new BigUint64Array(c.length);
  const s = u32(c), d = u32(out);
  let lo = 0, hi = 0;
  for (let k = 0; k < s.length; k += 2) {
    const l = lo + s[k]!;
    lo = l >>> 0;
    hi = (hi + s[k + 1]! + (l > 0xffffffff ? 1 : 0)) >>> 0;
    d[k] = lo;
    d[k + 1] = hi;
  }
  return out;
}
