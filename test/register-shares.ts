// Custodian-style shares of generated registers' columns for in-process query tests: each column
// split into three parties' shares once (splitShares), then handed out per party and join plan.
import type { Registers } from '../src/demo/registers.js';
import { inPersonOrder } from '../src/ingest/person-order.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import type { JoinPlan } from '../src/query/index.js';

export class RegisterShares {
  private readonly cache = new Map<string, [AShare, AShare, AShare]>();

  /** `regs` is read when a column is first asked for (tests generate the registers in before()). */
  constructor(private readonly regs: () => Registers) {}

  /** The three parties' shares of one column. */
  of(table: string, col: string): [AShare, AShare, AShare] {
    const k = `${table}.${col}`;
    if (!this.cache.has(k)) this.cache.set(k, splitShares(this.regs().all.find((r) => r.schema.name === table)!.columns.get(col)!));
    return this.cache.get(k)!;
  }

  /** Party `party`'s shares of every column each table of a join plan reads, by alias. */
  tables(jp: JoinPlan, party: number): Map<string, Map<string, AShare>> {
    return new Map(jp.tables.map((t) => [t.alias, new Map(t.reads.map((c) => [c, this.of(t.dataset.name, c)[party]!]))]));
  }
}

/** The registers as their custodians upload them (`mosaik ingest`): rows in person-id order; `sortedBy` gets each one's sort column. */
export function inPersonOrderRegisters(regs: Registers, sortedBy: Map<string, string>): Registers {
  const all = regs.all.map((r) => {
    const o = inPersonOrder({ schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns });
    if (o.sortedBy) sortedBy.set(r.schema.name, o.sortedBy);
    return { ...r, columns: o.columns };
  });
  return { ...regs, all };
}
