// Many-to-many joins on the person id with a declared bound: beside every row of a person's key
// group, the person's first b rows of table B (e.g. each hospital contact with the person's first 8
// prescriptions by date), as b slots with a 0/1 "slot filled" flag: the output has b times the rows
// of the join, whatever the true multiplicities, and B's rows beyond the b-th are never copied.
//
// Bounded-multiplicity expansion over sorted data (a padded variant of the oblivious
// many-to-many joins of Krastnikov, Kerschbaum, Stebila, "Efficient oblivious database joins",
// VLDB 2020, whose output size is revealed; here it is public by declaration): B's rows are
// contiguous in each group, in B's order (a sort by that order before the join's stable sort by
// key); at the group's first B row, the k-th row after it is one local shift away, and it is the
// group's (k+1)-th B row when every row in between continues the group's B rows (a running product,
// one multiplication round per slot); those values are copied onto the group's other rows by one
// segmented scan (scan.ts). Reveals nothing: rounds and lanes depend on n and b only; how many B
// rows a person has, and how many were dropped, stays secret.
import { add, mulMany, sub, subFromPublic } from './arith.js';
import type { Party } from './party.js';
import { propagate, shiftDown, shiftUp } from './scan.js';
import type { AShare } from './share.js';

/** `x` shifted up k rows (row i gets row i + k; the last k rows get 0). Local. */
function shiftUpBy(p: Party, x: AShare, k: number): AShare {
  let y = x;
  for (let s = 0; s < k; s++) y = shiftUp(p, y, 0n);
  return y;
}

/**
 * At every row: for slot k < `slots`, whether the row's group has a (k+1)-th row of B (`has[k]`)
 * and that row's `cols` (`cols[k][c]`, 0 where it has none). `here` = 1 at B's rows, which are
 * contiguous and in B's order within each group; `first` = 1 at every group's first row.
 */
export async function firstRowsBeside(p: Party, here: AShare, first: AShare, cols: AShare[], slots: number): Promise<{ has: AShare[]; cols: AShare[][] }> {
  const same = subFromPublic(p, 1n, first);
  // Round 1: this row is B's and continues its group's B rows (hs); the row before is B's and of the
  // same group (prev); first·here (= first·firstB, as prev is 0 at a group's first row).
  const [hs, prev, both] = (await mulMany(p, [[here, same], [shiftDown(p, here, 0n), same], [first, here]])) as [AShare, AShare, AShare];
  // Round 2: the group's first B row (B's, the row before is not); flag = first ∨ that.
  const firstB = sub(here, (await mulMany(p, [[here, prev]]))[0]!);
  const flag = sub(add(first, firstB), both);
  // Slot k is filled at firstB when rows 1..k after it all continue the group's B rows.
  const filled: AShare[] = [firstB];
  for (let k = 1; k < slots; k++) filled.push((await mulMany(p, [[filled[k - 1]!, shiftUpBy(p, hs, k)]]))[0]!);
  const vals = await mulMany(p, filled.flatMap((f, k) => cols.map((c) => [f, shiftUpBy(p, c, k)] as [AShare, AShare])));
  // Copy them from each group's first B row to its other rows (0 where the group has none).
  const [scanned] = await propagate(p, [{ flag, values: [...filled, ...vals] }]);
  const out = scanned!.slice(1);
  return {
    has: out.slice(0, slots),
    cols: Array.from({ length: slots }, (_, k) => out.slice(slots + k * cols.length, slots + (k + 1) * cols.length)),
  };
}
