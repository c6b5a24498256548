// Cohort definitions over two registers with a time window, per person: "a row of A (e.g. an E11
// diagnosis) followed by a row of B (e.g. an A10 prescription) within lo..hi days" — the EXISTS
// of SQL cohort filters, inside MPC.
//
// The rows of both registers are stacked into one event table, each event's time being its date
// (B) or its date + lo (A), and sorted by time (sort.ts; on equal times A first). Joined on the
// person id (join.ts), whose sort is stable, each person's events stay in time order. For every
// B event the latest A event at or before it is copied forward by a segmented scan (scan.ts); the
// person matches when some B event has one no more than hi − lo days back: one comparison per
// event, then a running OR (a second scan). This is exact: if any A event lies in
// [b − hi, b − lo], the latest A event at or before b − lo lies there too.
// Reveals nothing beyond the sizes of the two registers (sort, shuffle and scans as in join.ts).
import { add, addPublic, concatShares, fromPublic, mulMany, sub } from './arith.js';
import { lt } from './compare.js';
import { bitInject } from './convert.js';
import type { JoinedTable, JoinInput } from './join.js';
import type { Party } from './party.js';
import { propagate } from './scan.js';
import { AShare } from './share.js';
import { sort } from './sort.js';

export interface EventSource {
  key: AShare;
  /** Dates (days), |date| < 2^(timeBits − 2). */
  time: AShare;
  /** 0/1: the row counts (its register's filter). Default every row. */
  present?: AShare;
}

const ones = (p: Party, n: number) => fromPublic(p, new BigUint64Array(n).fill(1n));

/**
 * The event table of A and B (times of A shifted by lo), sorted by time, as a join input: columns
 * [time, isA]; present = the row counts. Its sort reveals nothing (distinct composites, sort.ts).
 */
export async function eventTable(p: Party, a: EventSource, b: EventSource, lo: number, timeBits: number): Promise<JoinInput> {
  const na = a.key.length, nb = b.key.length;
  const pa = a.present ?? ones(p, na), pb = b.present ?? ones(p, nb);
  const zeros = (n: number) => new AShare(new BigUint64Array(n), new BigUint64Array(n));
  const time = concatShares([addPublic(p, a.time, BigInt(lo)), b.time]);
  // Sort key 2·time + [row of B]: on equal times A's events come first.
  const isBRow = fromPublic(p, BigUint64Array.from({ length: na + nb }, (_, i) => (i < na ? 0n : 1n)));
  const sortKey = add(add(time, time), isBRow);
  const s = await sort(p, sortKey, [concatShares([a.key, b.key]), time, concatShares([pa, zeros(nb)]), concatShares([pa, pb])], { keyBits: timeBits + 1 });
  const [key, t, isA, present] = s.payloads as [AShare, AShare, AShare, AShare];
  return { key, columns: [t, isA], present, unique: false, name: 'events' };
}

/**
 * Per row of the joined table: 1 where the row's person has, up to this row, a B event whose
 * latest earlier A event is at most `within` (= hi − lo) days before it. Complete at the person's
 * last row (join.ts `last`). `events` is the event table's entry of the join.
 */
export async function followedWithin(p: Party, events: JoinedTable, first: AShare, within: number | null, timeBits: number): Promise<AShare> {
  const [time, isA] = events.columns as [AShare, AShare];
  const isB = sub(events.here, isA);
  const [fa, at] = await mulMany(p, [[first, isA], [isA, time]]);
  // Latest A event so far in the person's group (flag: group start or an A event).
  const [scanA] = await propagate(p, [{ flag: sub(add(first, isA), fa!), values: [isA, at!] }]);
  const hasA = scanA![1]!, lastA = scanA![2]!;
  const [bh] = await mulMany(p, [[isB, hasA]]);
  let ok = bh!;
  if (within !== null) {
    const close = await bitInject(p, await lt(p, sub(time, lastA), BigInt(within) + 1n, { bits: timeBits + 1 }));
    [ok] = await mulMany(p, [[bh!, close]]);
  }
  // Running OR of ok within the group.
  const [fo] = await mulMany(p, [[first, ok!]]);
  const [anyOk] = await propagate(p, [{ flag: sub(add(first, ok!), fo!), values: [ok!] }]);
  return anyOk![1]!;
}
