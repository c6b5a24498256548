// The per-cell base sums a query's aggregates start from (execute.ts): COUNT and Σ v for every
// summed column v, one G-lane share each (slot 0 the counts, slot 1 + v the sums of vecs[v]; lane
// g is cell g), filled cell by cell by whichever way the cells were formed (boolean indicators,
// one-hot indicators). Cells known to hold every row or none need no MPC. Local; reveals nothing.
import { AShare, fromPublic, sum } from '../mpc/arith.js';
import type { Party } from '../mpc/party.js';
import * as R from '../ring/ring64.js';

export type CellSumSlots = { a: BigUint64Array; b: BigUint64Array }[];

export class CellSums {
  readonly slots: CellSumSlots;
  private totals: AShare[] | null = null;

  constructor(private readonly p: Party, G: number, private readonly vecs: AShare[], private readonly n: number) {
    this.slots = Array.from({ length: vecs.length + 1 }, () => ({ a: new BigUint64Array(G), b: new BigUint64Array(G) }));
  }

  /** Slot `slot` of cell g from lane `lane` of x. */
  put(g: number, slot: number, x: AShare, lane = 0): void {
    this.slots[slot]!.a[g] = x.a[lane]!;
    this.slots[slot]!.b[g] = x.b[lane]!;
  }

  /** Σ v over all rows for every summed column (computed once; local). */
  total(v: number): AShare {
    this.totals ??= this.vecs.map(sum);
    return this.totals[v]!;
  }

  /** The number of rows n as a one-lane share (public). */
  rows(): AShare {
    return fromPublic(this.p, R.constant(1, BigInt(this.n)));
  }

  /** Every row (count n, the column totals) or none (zeros) in cell g. */
  constant(g: number, all: boolean): void {
    const zero = new AShare(new BigUint64Array(1), new BigUint64Array(1));
    this.put(g, 0, all ? this.rows() : zero);
    for (let v = 0; v < this.vecs.length; v++) this.put(g, v + 1, all ? this.total(v) : zero);
  }
}
