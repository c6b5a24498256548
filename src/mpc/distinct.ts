// Distinct counts per group: COUNT(DISTINCT x) … GROUP BY, e.g. the persons (distinct person ids)
// among the hospital contacts of each diagnosis, over millions of rows and up to 65 536 groups.
//
// Sort-based distinct (Jónsson, Kreitz, Uddin, "Secure multi-party sorting and applications",
// ePrint 2011/122, §5; the DISTINCT operator of Secrecy, Liagouris et al., NSDI 2023): the rows are
// sorted obliviously by (group, value) (sort.ts), each row whose (group, value) differs from the
// row before is marked (one equality test per row), and the marks are summed per group like any
// column (group.ts sortedGroupTotals). Rows not to be counted are put in an extra group G by the
// caller; one dummy row per group 0..G (with a value above every real one, so it is its group's
// last row and always marked: 1 is subtracted) keeps every group present and group sizes hidden.
// The order (group, value) comes from ONE sort when the composite key and the sort's tie-break
// index fit in 64 bits, else from two stable sorts (by value, then by group: LSD radix order); when
// the counted rows already come in value order (after a join on the person id, whose sort lined the
// rows up by it), one stable sort by group alone, and without groups no sort at all: a counted row
// is new when the last counted row before it (carried forward by one segmented scan) has another value.
// Reveals nothing but n and G (sort.ts and group.ts reveal a random permutation and G group ends).
import { add, addPublic, concatShares, fromPublic, mulMany, mulPublic, sub, subFromPublic, sum } from './arith.js';
import { eq } from './compare.js';
import { bitInject } from './convert.js';
import { sortedGroupTotals } from './group.js';
import type { Party } from './party.js';
import { propagate, shiftDown } from './scan.js';
import { AShare } from './share.js';
import { indexBits, sort } from './sort.js';

export interface DistinctValues {
  /** The values counted; −2^(bits−1) ≤ value < 2^(bits−1) on every row (a promise: validated at ingest). */
  value: AShare;
  bits: number;
  /**
   * The rows to count (group < G) already come in nondecreasing order of value (e.g. a join's key
   * after the join): one stable sort by group suffices.
   */
  ordered: boolean;
}

/**
 * Per group g ∈ [0, G): Σ of every column of `sums` and the number of distinct values of every
 * `distinct` column over the rows with that group. `group` is in [0, G] on every row, G marking rows
 * not counted (filtered out); `sums` columns should be 0 on those rows. Returns G-lane shares.
 */
export async function groupDistinct(p: Party, group: AShare, G: number, sums: AShare[], distinct: DistinctValues[]): Promise<{ sums: AShare[]; distinct: AShare[] }> {
  const n = group.length;
  if (!Number.isInteger(G) || G < 1) throw new RangeError(`groupDistinct: G must be a positive integer, got ${G}`);
  if (distinct.length === 0) throw new RangeError('groupDistinct: no column to count the distinct values of');
  for (const c of [...sums, ...distinct.map((d) => d.value)]) if (c.length !== n) throw new RangeError('groupDistinct: columns and group lengths differ');
  if (G === 1 && distinct.every((d) => d.ordered)) return distinctInOrder(p, group, sums, distinct);
  const gb = indexBits(G + 1) + 1;
  const N = n + G + 1;
  const t = indexBits(N);
  const dummyG = BigUint64Array.from({ length: G + 1 }, (_, j) => BigInt(j));
  const gAll = concatShares([group, fromPublic(p, dummyG)]);
  const pad = (c: AShare) => concatShares([c, new AShare(new BigUint64Array(G + 1), new BigUint64Array(G + 1))]);
  let sumsOut: AShare[] = [];
  const counts: AShare[] = [];
  for (const [k, d] of distinct.entries()) {
    const vb = d.bits + 1;
    const cb = gb + vb;
    if (cb > 63) throw new RangeError(`groupDistinct: ${G} groups and ${d.bits}-bit values need ${cb} bits (at most 63)`);
    // c = g·2^vb + v + 2^(bits−1) ∈ [0, (G+1)·2^vb); a dummy's value is 2^vb − 1, above every real one.
    const top = (1n << BigInt(vb)) - 1n;
    const c = concatShares([
      addPublic(p, add(mulPublic(group, 1n << BigInt(vb)), d.value), 1n << BigInt(d.bits - 1)),
      fromPublic(p, BigUint64Array.from(dummyG, (j) => (j << BigInt(vb)) + top)),
    ]);
    const carried = k === 0 ? sums.map(pad) : [];
    let sortedG: AShare, sortedC: AShare, rest: AShare[];
    if (d.ordered) {
      const s = await sort(p, gAll, [c, ...carried], { keyBits: gb });
      [sortedG, sortedC, rest] = [s.key, s.payloads[0]!, s.payloads.slice(1)];
    } else if (cb + t <= 64) {
      const s = await sort(p, c, [gAll, ...carried], { keyBits: cb });
      [sortedG, sortedC, rest] = [s.payloads[0]!, s.key, s.payloads.slice(1)];
    } else {
      // Value first, then group, both stable: rows in (group, value) order.
      if (vb + 1 + t > 64) throw new RangeError(`groupDistinct: ${d.bits}-bit values and ${N} rows exceed the sort's 64-bit keys`);
      const v = concatShares([addPublic(p, d.value, 1n << BigInt(d.bits - 1)), fromPublic(p, new BigUint64Array(G + 1).fill(top))]);
      const s1 = await sort(p, v, [gAll, c, ...carried], { keyBits: vb + 1 });
      const s2 = await sort(p, s1.payloads[0]!, s1.payloads.slice(1), { keyBits: gb });
      [sortedG, sortedC, rest] = [s2.key, s2.payloads[0]!, s2.payloads.slice(1)];
    }
    // A row is the first of its (group, value) when c differs from the row before's.
    const same = await bitInject(p, await eq(p, sortedC, shiftDown(p, sortedC, -1n), { bits: Math.min(64, cb + 1) }));
    const marks = subFromPublic(p, 1n, same);
    const totals = await sortedGroupTotals(p, sortedG, gb, G + 1, [...rest, marks]);
    if (k === 0) sumsOut = totals.slice(0, -1).map((x) => x.slice(0, G));
    counts.push(addPublic(p, totals[totals.length - 1]!.slice(0, G), -1n)); // the dummy's mark
  }
  return { sums: sumsOut, distinct: counts };
}

/**
 * One group (G = 1), the counted rows (group 0) in nondecreasing value order, other rows anywhere:
 * a counted row is new unless the last counted row before it has its value (one scan carries it
 * forward, one equality test). Sums are local.
 */
async function distinctInOrder(p: Party, group: AShare, sums: AShare[], distinct: DistinctValues[]): Promise<{ sums: AShare[]; distinct: AShare[] }> {
  const counted = subFromPublic(p, 1n, group);
  const vv = await mulMany(p, distinct.map((d) => [counted, d.value] as [AShare, AShare]));
  const carried = await propagate(p, vv.map((x) => ({ flag: counted, values: [x] })));
  // Before row i: was there a counted row (in its run), and its value.
  const before = carried.map(([had, v]) => [shiftDown(p, had!, 0n), shiftDown(p, v!, 0n)] as const);
  const bits = Math.min(64, Math.max(...distinct.map((d) => d.bits)) + 1);
  const n = group.length;
  const same = await bitInject(p, await eq(p, concatShares(distinct.map((d, k) => sub(d.value, before[k]![1]))), 0n, { bits }));
  const dup = await mulMany(p, before.map(([had], k) => [had, same.slice(k * n, (k + 1) * n)] as [AShare, AShare]));
  const marks = await mulMany(p, dup.map((x) => [counted, subFromPublic(p, 1n, x)] as [AShare, AShare]));
  return { sums: sums.map(sum), distinct: marks.map(sum) };
}
