// ORDER BY an aggregate LIMIT k inside MPC (issue 17): only the k first cells are released.
//
// The cells' released aggregates stay secret; each cell gets the sort key "its value" (negated for
// DESC) when it is visible (not suppressed, HAVING true) and a key after every value when not:
//   key = vis·(±v − B) + B,  B = 2^46 > |v|,
// one multiplication. The cells are sorted obliviously by that key (src/mpc/sort.ts: shuffle, then a
// comparison sort whose outcomes are independent of the data; stable, so ties keep cell order)
// carrying the cell number, vis and the output aggregates, and the first k lanes are kept with the
// cell number and aggregates multiplied by vis (a suppressed cell among them shows nothing).
// Reveals to the nodes: G and k only (no suppression bit, no cell number, no value); to the
// requester: the k lanes, i.e. the first k visible cells in order and how many of the k are visible.
// With output protection the sorted values are the noisy ones (post-processing of a released noisy
// statistic); this stays within the study's epsilon.
import { addPublic, concatShares, fromPublic, mulMany, revealMany, subFromPublic } from '../mpc/arith.js';
import type { BShare } from '../mpc/boolean.js';
import { bitInject } from '../mpc/convert.js';
import type { PartyId } from '../net/channel.js';
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import { sort } from '../mpc/sort.js';
import type { QueryPlan } from './plan.js';

/** Values ordered inside MPC are below this in absolute value (the plan's sum bound, 2^46). */
const B = 1n << 46n;
/** Signed key width: keys lie in (−2^47, 2^46]; with the cell index (≤ 16 bits) within 64. */
const KEY_BITS = 48;

export interface TopK {
  /** The aggregate ordered by (plan.aggregates index). */
  agg: number;
  desc: boolean;
  k: number;
}

/**
 * Whether `plan` orders by one COUNT or SUM output and keeps fewer than its G cells: then only the
 * top k are released. Other orders (AVG, several keys, group keys) are applied after the reveal.
 */
export function topKOf(plan: QueryPlan, G: number): TopK | null {
  if (plan.limit === null || plan.limit >= G || plan.orderBy.length !== 1) return null;
  const o = plan.outputs[plan.orderBy[0]!.output]!;
  if (o.kind !== 'agg') return null;
  const fn = plan.aggregates[o.agg]!.fn;
  if (fn !== 'count' && fn !== 'count_distinct' && fn !== 'sum') return null;
  return { agg: o.agg, desc: plan.orderBy[0]!.desc, k: plan.limit };
}

/**
 * Lanes of the ranked release, each of length k: vis, cell·vis, then every output aggregate·vis
 * (outAggs order). Shares when `revealTo` is 'none', else the opened values.
 */
export async function rankCells(p: Party, top: TopK, aggs: AShare[], outAggs: number[], visible: BShare, G: number, revealTo: PartyId | 'all' | 'none'): Promise<{ k: number; lanes: AShare; opened: bigint[] | null }> {
  const vis = await bitInject(p, visible);
  const v = aggs[top.agg]!;
  const off = top.desc ? subFromPublic(p, -B, v) : addPublic(p, v, -B); // ±v − B
  const [m] = await mulMany(p, [[vis, off]]);
  const key = addPublic(p, m!, B);
  const cellNo = fromPublic(p, BigUint64Array.from({ length: G }, (_, j) => BigInt(j)));
  const { payloads } = await sort(p, key, [vis, cellNo, ...outAggs.map((a) => aggs[a]!)], { keyBits: KEY_BITS });
  const k = Math.min(top.k, G);
  const first = payloads.map((c) => c.slice(0, k));
  const masked = await mulMany(p, first.slice(1).map((c) => [c, first[0]!] as [AShare, AShare]));
  const lanes = concatShares([first[0]!, ...masked]);
  if (revealTo === 'none') return { k, lanes, opened: null };
  const [o] = await revealMany(p, [lanes], revealTo);
  return { k, lanes, opened: o ? Array.from(o) : null };
}
