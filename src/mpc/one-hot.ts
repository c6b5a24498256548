// Arithmetic one-hot indicators of a small-domain column: for x with values in [lo, lo + D), the
// D shared 0/1 columns [x = lo + u], u = 0..D−1. The bits of x − lo come from one bit
// decomposition (ABY3, Mohassel–Rindal CCS 2018, §5.3), the D minterms of those w = ⌈log2 D⌉ bits
// from a tree of ANDs (⌈log2 w⌉ rounds, all minterms of one level in one round; NOT is free), and
// the arithmetic 0/1 columns by bit injection of D − 1 planes (ABY3 §5.4.1, convert.ts; two rounds
// per 2^20 lanes); the last indicator is 1 minus the others (local), exact because every value
// lies in the domain. The injections cost most: ≈ 1 s per 2^22-row plane on this machine.
// Made once per stored register version and column and kept by the nodes (src/node/indicator-cache.ts),
// they turn every later WHERE or GROUP BY on the column into sums of indicators (local) and a
// grouped SUM into inner products (one round for all cells, src/query/one-hot-cells.ts).
// Reveals nothing: no value is opened.
import { AShare, addPublic, fromPublic, splitShare, sub } from './arith.js';
import { andMany, BShare, not, stackPlanes } from './boolean.js';
import { bitDecompose, bitInject } from './convert.js';
import type { Party } from './party.js';
import * as R from '../ring/ring64.js';

/** The largest domain one-hot indicators are made for (D columns of n rows are kept per column). */
export const ONE_HOT_MAX_VALUES = 64;
/** Lanes per bit-injection call at most. */
const INJECT_LANES = 1 << 20;

/**
 * [x = lo + u] for u = 0..D−1 as arithmetic 0/1 shares, one column each. Every value of x must lie in [lo, lo + D) (ingest validates declared bounds); a value
 * outside is counted under the value of its low ⌈log2 D⌉ bits, or under none.
 */
export async function oneHot(p: Party, x: AShare, lo: bigint, D: number): Promise<AShare[]> {
  if (!Number.isInteger(D) || D < 1 || D > ONE_HOT_MAX_VALUES) throw new RangeError(`oneHot: ${D} values (1..${ONE_HOT_MAX_VALUES})`);
  const n = x.length;
  const one = () => fromPublic(p, R.constant(n, 1n));
  if (D === 1) return [one()];
  const w = Math.ceil(Math.log2(D));
  const bits = await bitDecompose(p, addPublic(p, x, -lo), w);
  // Groups of consecutive bits with all their minterms (index = the group's bits as a number,
  // low bit first); neighbouring groups merge level by level, one AND round per level.
  let groups: { width: number; terms: BShare[] }[] = [];
  for (let j = 0; j < w; j++) groups.push({ width: 1, terms: [not(p, bits.planes(j)), bits.planes(j)] });
  while (groups.length > 1) {
    const pairs: [BShare, BShare][] = [];
    const merges: { width: number; count: number }[] = [];
    for (let g = 0; g + 1 < groups.length; g += 2) {
      const lowG = groups[g]!, high = groups[g + 1]!;
      const width = lowG.width + high.width;
      // The last level only needs the D minterms of the domain.
      const count = groups.length === 2 ? D : 1 << width;
      for (let t = 0; t < count; t++) pairs.push([lowG.terms[t & ((1 << lowG.width) - 1)]!, high.terms[t >>> lowG.width]!]);
      merges.push({ width, count });
    }
    const made = await andMany(p, pairs);
    const next: { width: number; terms: BShare[] }[] = [];
    let at = 0;
    for (const m of merges) next.push({ width: m.width, terms: made.slice(at, (at += m.count)) });
    if (groups.length % 2) next.push(groups[groups.length - 1]!);
    groups = next;
  }
  const terms = groups[0]!.terms.slice(0, D);
  // Injected a few planes at a time (≤ INJECT_LANES lanes): the injection's temporaries, six
  // columns of that size, are then reused from one call to the next instead of fresh memory.
  const per = Math.max(1, Math.floor(INJECT_LANES / Math.max(1, n)));
  const cols: AShare[] = [];
  for (let u = 0; u < D - 1; u += per) {
    const upto = Math.min(D - 1, u + per);
    cols.push(...splitShare(await bitInject(p, stackPlanes(terms.slice(u, upto))), new Array<number>(upto - u).fill(n)));
  }
  // The last value's indicator: 1 − Σ the others (every row is in exactly one).
  let last = one();
  for (const c of cols) last = sub(last, c);
  return [...cols, last];
}
