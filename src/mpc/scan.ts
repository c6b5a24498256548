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
// Reveals nothing: the rounds and lanes depend only on n and the number of columns.
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { mul } from './arith.js';
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
  // Down-sweep: inclusive prefixes of level l from those of level l+1: odd lanes 2k+1 copy
  // prefix k, lane 0 is itself, even lanes 2k (k ≥ 1) combine prefix k−1 with their own value.
  let pre = levels[levels.length - 1]!;
  for (let l = levels.length - 2; l >= 0; l--) {
    const cur = levels[l]!;
    const L = cur[0]![0]!.length;
    const evens = Math.ceil(L / 2) - 1;
    const comb = await combine(p, widths, pre, 0, 1, cur, 2, 2, evens);
    pre = cur.map((g, gi) =>
      g.map((c, ci) => {
        const out = new AShare(new BigUint64Array(L), new BigUint64Array(L));
        interleave(out.a, c.a, pre[gi]![ci]!.a, comb[gi]![ci]!.a, L);
        interleave(out.b, c.b, pre[gi]![ci]!.b, comb[gi]![ci]!.b, L);
        return out;
      }),
    );
  }
  return pre;
}

/** out[0] = self[0], out[2k+1] = odd[k], out[2k] = even[k−1] (k ≥ 1), on 32-bit words. */
function interleave(out: Col, self: Col, odd: Col, even: Col, L: number): void {
  const o = u32(out), s = u32(self), od = u32(odd), ev = u32(even);
  if (L > 0) ((o[0] = s[0]!), (o[1] = s[1]!));
  for (let k = 0, i = 2; i < 2 * L; k++, i += 4) ((o[i] = od[2 * k]!), (o[i + 1] = od[2 * k + 1]!));
  for (let k = 0, i = 4; i < 2 * L; k++, i += 4) ((o[i] = ev[2 * k]!), (o[i + 1] = ev[2 * k + 1]!));
}

/**
 * m applications of ⊕ in one round: left operands at lanes lStart + k·lStep of `left`, right
 * operands at rStart + k·rStep of `right` (per group, per column). Both factors of every product
 * are gathered straight into one pair of columns for a single mul.
 */
async function combine(p: Party, widths: number[], left: AShare[][], lStart: number, lStep: number, right: AShare[][], rStart: number, rStep: number, m: number): Promise<AShare[][]> {
  const total = widths.reduce((s, w) => s + w, 0);
  const X = new AShare(new BigUint64Array(m * total), new BigUint64Array(m * total));
  const Y = new AShare(new BigUint64Array(m * total), new BigUint64Array(m * total));
  const Lv: AShare[][] = [], Rf: AShare[] = [], Lf: AShare[] = [];
  let off = 0;
  const lanesAt = (x: AShare, k: number) => x.slice(k * m, (k + 1) * m);
  widths.forEach((w, gi) => {
    const fL = lanesAt(X, off), fR = lanesAt(Y, off);
    for (const h of ['a', 'b'] as const) {
      gather(left[gi]![0]![h], lStart, lStep, m, fL[h]);
      gather(right[gi]![0]![h], rStart, rStep, m, fR[h]);
    }
    Lf.push(fL);
    Rf.push(fR);
    const vls: AShare[] = [];
    for (let ci = 1; ci < w; ci++) {
      // X lane: f_R; Y lane: v_R − v_L (v_L kept for the sum afterwards).
      const x = lanesAt(X, off + ci), y = lanesAt(Y, off + ci);
      const vL = new AShare(new BigUint64Array(m), new BigUint64Array(m));
      for (const h of ['a', 'b'] as const) {
        x[h].set(fR[h]);
        gather(left[gi]![ci]![h], lStart, lStep, m, vL[h]);
        gather(right[gi]![ci]![h], rStart, rStep, m, y[h]);
        subInPlace(y[h], vL[h]);
      }
      vls.push(vL);
    }
    Lv.push(vls);
    off += w;
  });
  // mul leaves its operands as they are, so the flags are still there for the OR below.
  const Z = await mul(p, X, Y);
  off = 0;
  return widths.map((w, gi) => {
    const z = lanesAt(Z, off);
    // f = f_L + f_R − f_L·f_R; v = v_L + f_R·(v_R − v_L)
    const f = new AShare(R.sub(R.add(Lf[gi]!.a, Rf[gi]!.a), z.a), R.sub(R.add(Lf[gi]!.b, Rf[gi]!.b), z.b));
    const vs = Lv[gi]!.map((vL, k) => {
      const d = lanesAt(Z, off + 1 + k);
      return new AShare(R.add(vL.a, d.a), R.add(vL.b, d.b));
    });
    off += w;
    return [f, ...vs];
  });
}

/** a −= b lane by lane mod 2^64, on 32-bit halves. */
function subInPlace(a: Col, b: Col): void {
  const x = u32(a), y = u32(b);
  for (let i = 0; i < x.length; i += 2) {
    const lo = x[i]! - y[i]!;
    x[i] = lo >>> 0;
    x[i + 1] = (x[i + 1]! - y[i + 1]! - (lo < 0 ? 1 : 0)) >>> 0;
  }
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
