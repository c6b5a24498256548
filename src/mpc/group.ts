// Group-by with many groups: per group g ∈ [0, G), the sums of some columns over the rows in it,
// e.g. counts and sums per municipality × age band × sex (98 × 20 × 2 cells) over a million rows,
// where one indicator column per cell (count.ts) would cost G·n.
//
// Sort-based grouping (oblivious sort, then segmented aggregation: e.g. Jónsson, Kreitz, Uddin,
// ePrint 2011/122, §5; Secrecy, Liagouris et al., NSDI 2023): one dummy row per group is added
// (so every group is present and group sizes stay hidden), the rows are sorted by g (sort.ts),
// group starts found by one equality test with the row before, and each group's sum is the
// difference of prefix sums (local) at its last row and before its first row, the latter copied
// forward by one segmented scan (scan.ts). The rows are then shuffled (shuffle.ts) and the
// "last row of its group" flags revealed: exactly G ones at random places, so the parties can
// pick the G totals out, and g is revealed at those rows only: a random permutation of 0..G−1.
// Reveals nothing but n and G. Cost: a sort of n + G rows with 1 + columns payloads, ~2 muls per
// row per column in the scan, a shuffle.
import { concatShares, fromPublic, reveal, sub, subFromPublic } from './arith.js';
import { eq } from './compare.js';
import { bitInject } from './convert.js';
import type { Party } from './party.js';
import { prefixSum, propagate, shiftDown, shiftUp } from './scan.js';
import { AShare } from './share.js';
import { shuffle } from './shuffle.js';
import { indexBits, sort } from './sort.js';

/**
 * Σ of each column over the rows of every group: `group` holds 0 ≤ g < G per row (a promise: a
 * row outside it is lost, or lands in a wrong group). Returns per column a G-lane share, lane g.
 */
export async function groupSums(p: Party, group: AShare, G: number, cols: AShare[]): Promise<AShare[]> {
  const n = group.length;
  if (cols.some((c) => c.length !== n)) throw new RangeError('groupSums: columns and group lengths differ');
  if (!Number.isInteger(G) || G < 1) throw new RangeError(`groupSums: G must be a positive integer, got ${G}`);
  const dummyG = fromPublic(p, BigUint64Array.from({ length: G }, (_, j) => BigInt(j)));
  const zerosG = () => new AShare(new BigUint64Array(G), new BigUint64Array(G));
  const g = concatShares([group, dummyG]);
  const gb = indexBits(G) + 1;
  const s = await sort(p, g, cols.map((c) => concatShares([c, zerosG()])), { keyBits: gb });
  return sortedGroupTotals(p, s.key, gb, G, s.payloads);
}

/**
 * The second half of groupSums, for rows already sorted by their group g (every g in [0, G) on at
 * least one row, e.g. a dummy row; g a signed gb-bit value): Σ of each column per group, by prefix
 * sums, one segmented scan, a shuffle and the reveal of the G group ends (a random permutation of
 * 0..G−1). Reveals nothing but the number of rows and G.
 */
export async function sortedGroupTotals(p: Party, sortedG: AShare, gb: number, G: number, cols: AShare[]): Promise<AShare[]> {
  const N = sortedG.length;
  const sameAsBefore = await bitInject(p, await eq(p, sortedG, shiftDown(p, sortedG, -1n), { bits: gb }));
  const first = subFromPublic(p, 1n, sameAsBefore);
  const last = shiftUp(p, first, 1n);
  // Prefix sums before each group's first row, copied to its other rows; total = P(last) − that.
  const P = cols.map(prefixSum);
  const [carried] = await propagate(p, [{ flag: first, values: P.map((x) => shiftDown(p, x, 0n)) }]);
  const totals = P.map((x, k) => sub(x, carried![k + 1]!));
  // Pick the G last rows out, in random order, and put each total in its group's lane.
  const mixed = (await shuffle(p, [last, sortedG, ...totals])).cols;
  const isLast = (await reveal(p, mixed[0]!))!;
  const lanes: number[] = [];
  for (let i = 0; i < N; i++) if (isLast[i] === 1n) lanes.push(i);
  if (lanes.length !== G) throw new Error(`groupSums: ${lanes.length} group ends, expected ${G} (group values outside 0..${G - 1}?)`);
  const pick = (x: AShare) => {
    const a = new BigUint64Array(G), b = new BigUint64Array(G);
    lanes.forEach((l, j) => ((a[j] = x.a[l]!), (b[j] = x.b[l]!)));
    return new AShare(a, b);
  };
  const gs = (await reveal(p, pick(mixed[1]!)))!;
  const out = mixed.slice(2).map(() => ({ a: new BigUint64Array(G), b: new BigUint64Array(G) }));
  mixed.slice(2).forEach((x, k) => {
    const t = pick(x);
    for (let j = 0; j < G; j++) {
      const lane = Number(gs[j]!);
      out[k]!.a[lane] = t.a[j]!;
      out[k]!.b[lane] = t.b[j]!;
    }
  });
  return out.map((o) => new AShare(o.a, o.b));
}
