// Window functions over each person's rows in time order (SQL's ROW_NUMBER, LAG, LEAD and
// COUNT(*) OVER (PARTITION BY person ORDER BY time)), e.g. "the next contact of the same person",
// over millions of rows already sorted by (person, time) (a join on the person id after a sort by
// time keeps both: join.ts, sort.ts).
//
// Segmented prefix operations on sorted data (Blelloch, "Prefix sums and their applications",
// 1990, §1.4 segmented scans; the oblivious window operators of Orq, SOSP 2025, and Secrecy,
// NSDI 2023): a row's number within its person is a prefix sum minus the prefix sum before the
// person's first row (one segmented scan, scan.ts); LAG/LEAD read the row before/after (a local
// shift) where that row is one of the person's rows of the same table (two multiplication rounds);
// a running COUNT(*) with SQL's default frame counts the rows up to the row's last peer (equal
// ORDER BY value: one equality test per row) by a backward scan of the row numbers from each
// peer group's last row. Every round and lane depends on n only: reveals nothing.
import { add, addPublic, concatShares, mulMany, mulPublic, sub, subFromPublic } from './arith.js';
import { eq } from './compare.js';
import { bitInject } from './convert.js';
import type { Party } from './party.js';
import { prefixSum, propagate, shiftDown, shiftUp } from './scan.js';
import { AShare } from './share.js';

/** One window function of a table whose rows (`here`) are contiguous in each person's group, in window order. */
export type WindowFn =
  | { fn: 'row_number' }
  /** Rows of the person up to this row's last peer (equal `order`); `order` null: all the person's rows. */
  | { fn: 'count'; order: AShare | null; bits: number }
  /** The value of the row before (lag) or after (lead) within the person; `fallback` where there is none (else 0, with has = 0). */
  | { fn: 'lag' | 'lead'; value: AShare; fallback: bigint | null };

export interface WindowValue {
  value: AShare;
  /** LAG/LEAD: 1 where the row before/after exists. */
  has?: AShare;
}

/** The rows reversed (local): a backward scan is a forward scan of the reversed column. */
function reverse(x: AShare): AShare {
  return new AShare(x.a.slice().reverse(), x.b.slice().reverse());
}

/**
 * For each 0/1 column x: 1 at every row of a group (person) where x = 1 on some row of the group, 0
 * elsewhere (EXISTS over the person's own rows): a running OR forward, then the group's last value
 * carried backward. Two scans, one product per column.
 */
export async function anyInGroup(p: Party, xs: AShare[], first: AShare): Promise<AShare[]> {
  if (!xs.length) return [];
  const both = await mulMany(p, xs.map((x) => [first, x] as [AShare, AShare]));
  const fwd = await propagate(p, xs.map((x, k) => ({ flag: sub(add(first, x), both[k]!), values: [x] })));
  const last = reverse(shiftUp(p, first, 1n));
  const back = await propagate(p, fwd.map((f) => ({ flag: last, values: [reverse(f[1]!)] })));
  return back.map((b) => reverse(b[1]!));
}

/**
 * The values of `fns` at every row of the table (`here` = 1 at its rows, contiguous and in window
 * order within each person's group; `first` = 1 at every group's first row). Values at other rows
 * are unspecified.
 */
export async function windowValues(p: Party, here: AShare, first: AShare, fns: WindowFn[]): Promise<WindowValue[]> {
  const n = here.length;
  const same = subFromPublic(p, 1n, first); // the row before is of the same person
  const last = shiftUp(p, first, 1n); // the person's last row
  // Peers: the next row has the same ORDER BY value; one equality test per row and ordered count.
  const peers = fns.flatMap((f) => (f.fn === 'count' && f.order ? [f] : []));
  let peerNext: AShare[] = [];
  if (peers.length) {
    const d = concatShares(peers.map((f) => sub(f.order!, shiftUp(p, f.order!, 0n))));
    const e = await bitInject(p, await eq(p, d, 0n, { bits: Math.max(...peers.map((f) => f.bits)) + 1 }));
    peerNext = peers.map((_, k) => e.slice(k * n, (k + 1) * n));
  }
  // Round 1: this row is ours and not the person's first; the row before is ours and of the same person.
  const [hs, prevOurs] = (await mulMany(p, [[here, same], [shiftDown(p, here, 0n), same]])) as [AShare, AShare];
  const nextOurs = shiftUp(p, hs, 0n);
  // Row numbers: prefix sums of here, minus the prefix sum before the person's first row (one scan).
  let rn: AShare | null = null;
  if (fns.some((f) => f.fn === 'row_number' || f.fn === 'count')) {
    const P = prefixSum(here);
    const [start] = await propagate(p, [{ flag: first, values: [shiftDown(p, P, 0n)] }]);
    rn = sub(P, start![1]!);
  }
  // Round 2: LAG/LEAD exist here; the next row continues this row's peer group.
  const r2 = await mulMany(p, [[here, prevOurs], [here, nextOurs], ...peerNext.map((e) => [nextOurs, e] as [AShare, AShare])]);
  const [hasPrev, hasNext] = [r2[0]!, r2[1]!];
  // Round 3: LAG/LEAD values; the last row of each peer group.
  const lags = fns.flatMap((f) => (f.fn === 'lag' || f.fn === 'lead' ? [f] : []));
  const r3 = await mulMany(p, [
    ...lags.map((f) => (f.fn === 'lag' ? [hasPrev, shiftDown(p, f.value, 0n)] : [hasNext, shiftUp(p, f.value, 0n)]) as [AShare, AShare]),
    ...peers.map((_, k) => [here, subFromPublic(p, 1n, r2[2 + k]!)] as [AShare, AShare]),
  ]);
  // Counts: the row number at the end of the row's peer group (or of the person), carried backward.
  const counts = fns.flatMap((f) => (f.fn === 'count' ? [f] : []));
  const ends = counts.map((f) => (f.order ? r3[lags.length + peers.indexOf(f)]! : last));
  const back = counts.length ? await propagate(p, ends.map((e) => ({ flag: reverse(e), values: [reverse(rn!)] }))) : [];
  return fns.map((f) => {
    if (f.fn === 'row_number') return { value: rn! };
    if (f.fn === 'count') return { value: reverse(back[counts.indexOf(f)]![1]!) };
    const has = f.fn === 'lag' ? hasPrev : hasNext;
    const v = r3[lags.indexOf(f)]!;
    // The default where there is none: v + d·(1 − has), local.
    return f.fallback === null ? { value: v, has } : { value: add(v, addPublic(p, mulPublic(has, BigInt.asUintN(64, -f.fallback)), f.fallback)) };
  });
}
