// The consent filter inside MPC (the rule and the register layout: ./consent.ts). Which persons a
// study excludes is never revealed: every step works on secret shares, and only the study's
// aggregates over the usable rows are opened later.
//
// Three steps, the middle one being the join engine's (src/mpc/join.ts):
//   1. consentJoinInput: per consent row, the 0/1 flag "this row is its person's state for
//      purpose P at run time T":  [purpose = P] ∧ [time ≤ T] ∧ [T < until]  — comparisons with
//      public constants only (one batched lt over 4n lanes, 35-bit; one bit injection; two
//      multiplication rounds). [purpose = P] is [purpose ≤ P] − [purpose < P] (linear, exact).
//      The result is a JoinInput keyed by person_id with `present` = that flag and one payload
//      column, `granted`. For a well-formed register (./consent.ts withUntil) at most one row per
//      person is present, so the consent rows are a unique side of the join (declare it, or let
//      the join check it: that reveals one bit, whether some person has two rows in force).
//   2. joinOnKey([population, consent, …, data]) with the study's data last (many rows per
//      person): for every data row the join yields has = "the person has a consent row in force
//      for P" and granted (0 where the person has none). NOTE: the consent table has several rows
//      per person of which at most one is present; join.ts (since ca5f11a) takes the FIRST table's
//      scan flag to be the group start, which is right only for a table with one row per key
//      whatever `present` says. So the consent table must not be the join's first table (put a
//      truly unique table such as population first), or join.ts must use `first ∨ here` for a
//      first table that has a `present` filter (the same holds for any filtered first table, e.g.
//      income restricted to one year).
//   3. consentUsable: usable = granted for an opt-in purpose; 1 − has + granted for an opt-out
//      purpose (no row in force = the default). Local: no communication. Multiply it into the
//      query's row filter (the query's data-row flag `here` times usable).
// The run time T and the purpose index are public constants of the circuit: all three nodes must
// use the same ones (take T from the job spec's submission time, e.g. unixSeconds(spec.submittedAt),
// not from each node's clock), and the purpose from the authorization (authorization.consent).
// Reveals nothing (with unique: 'check', one bit about the register's well-formedness).
import { add, addPublic, concatShares, fromPublic, mulMany, splitShare, sub, subFromPublic } from '../mpc/arith.js';
import { lt } from '../mpc/compare.js';
import { bitInject } from '../mpc/convert.js';
import type { JoinedTable, JoinInput } from '../mpc/join.js';
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import type { ConsentDefault } from './consortium.js';
import { CONSENT_TIME_BITS, OPEN_UNTIL } from './consent.js';

/** This party's shares of the consent register's columns (same length each). */
export interface ConsentShares {
  person: AShare;
  purpose: AShare;
  granted: AShare;
  time: AShare;
  until: AShare;
}

/**
 * 0/1 per consent row: the row is in force for purpose index `purposeCode` (index in the purpose
 * code list: consent.ts purposeIndex) at `at` (Unix seconds). Batched: one comparison call.
 */
export async function consentInForce(p: Party, c: Omit<ConsentShares, 'person' | 'granted'>, purposeCode: number, at: number): Promise<AShare> {
  const n = c.purpose.length;
  if (c.time.length !== n || c.until.length !== n) throw new RangeError('consentInForce: columns differ in length');
  if (!Number.isSafeInteger(at) || at < 0 || at >= OPEN_UNTIL) throw new RangeError(`consentInForce: run time ${at} must be Unix seconds in 0..${OPEN_UNTIL - 1}`);
  if (!Number.isInteger(purposeCode) || purposeCode < 0 || purposeCode > 1 << 20) throw new RangeError(`consentInForce: purpose index ${purposeCode} out of range`);
  const P = BigInt(purposeCode), T = BigInt(at);
  // Four differences whose sign is the atom: x < 0 ⇔ atom. All fit in 35-bit signed integers
  // (times and until are below 2^33, validated at ingest; purposes are small).
  const d = concatShares([
    addPublic(p, c.purpose, -(P + 1n)), // [purpose ≤ P]
    addPublic(p, c.purpose, -P), //        [purpose < P]
    addPublic(p, c.time, -(T + 1n)), //    [time ≤ T]
    subFromPublic(p, T, c.until), //       [T < until]
  ]);
  const bits = await bitInject(p, await lt(p, d, 0n, { bits: CONSENT_TIME_BITS }));
  const [le, ltP, started, notEnded] = splitShare(bits, [n, n, n, n]) as [AShare, AShare, AShare, AShare];
  const isP = sub(le, ltP); // purpose < P implies purpose ≤ P, so this is exactly [purpose = P]
  const [inTime] = await mulMany(p, [[started, notEnded]]);
  const [present] = await mulMany(p, [[isP, inTime!]]);
  return present!;
}

/**
 * The consent register as the unique side of a join on person_id, for purpose index
 * `purposeCode` at run time `at`: key = person, present = in force, columns = [granted].
 * `unique`: true when the register is known to be well-formed (built with withUntil), 'check'
 * to have the join verify it in MPC (reveals whether some person has two rows in force).
 */
export async function consentJoinInput(p: Party, c: ConsentShares, purposeCode: number, at: number, unique: true | 'check' = true): Promise<JoinInput> {
  const present = await consentInForce(p, c, purposeCode, at);
  return { key: c.person, columns: [c.granted], present, unique, name: 'consent register' };
}

/**
 * Per joined row: 1 if the person's data may be used (see the module comment), from the consent
 * table's joined view (`has`, and its column 0 = granted). Valid at the rows of tables after the
 * consent table in the join (where `has` is complete), e.g. the data rows. Local.
 */
export function consentUsable(p: Party, consent: JoinedTable, dflt: ConsentDefault): AShare {
  const granted = consent.columns[0];
  if (!granted) throw new RangeError('consentUsable: the consent table was joined without its granted column');
  if (dflt === 'opt-in') return granted;
  // Opt-out: usable unless a row in force says withdrawn: 1 − has + has·granted, and the join's
  // granted is already has·granted (0 where the person has no row in force).
  return add(subFromPublic(p, 1n, consent.has), granted);
}

/** Public 0/1 column as shares (e.g. a data table's present flags in tests). */
export function publicFlags(p: Party, flags: ArrayLike<number>): AShare {
  return fromPublic(p, BigUint64Array.from(Array.from(flags, (f) => BigInt(f))));
}
