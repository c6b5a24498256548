// The demo's party-local job (runs at each of the three nodes over TLS): descriptive statistics
// on a custodian's shared columns age, sbp (systolic blood pressure) and bmi.
//
// Every node reads its own share files, computes on shares, and returns its *result shares* to
// the requester (the demo process), which combines them. Nodes never reveal anything to each
// other: the only messages between nodes are the PRG seed exchange, the re-sharing in the dot
// products and the comparison circuit, all of them uniformly random to their receiver.
// Reveals to the requester: the sums, sums of products and the count below; the row count is
// public anyway (dataset sizes are public, see DESIGN.md).
import { join } from 'node:path';
import * as A from '../mpc/arith.js';
import { ge } from '../mpc/compare.js';
import { bitInject } from '../mpc/convert.js';
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import type { JobContext } from '../node/worker.js';
import { readShareFile } from '../node/shares.js';

export interface DemoArgs {
  columns: string[];
  /** Count rows with age ≥ this (secure comparison). */
  ageAtLeast?: number;
}

/** Result shares per named quantity: this node's (x_i, x_{i+1}). */
export interface DemoResult {
  rows: number;
  shares: Record<string, AShare>;
}

export async function demo(p: Party, args: DemoArgs, ctx: JobContext): Promise<DemoResult> {
  const col: Record<string, AShare> = {};
  for (const c of args.columns) col[c] = readShareFile(join(ctx.nodeDir, 'shares', `${c}.share`));
  const rows = col.age!.length;
  for (const c of args.columns) if (col[c]!.length !== rows) throw new Error(`column ${c} has ${col[c]!.length} rows, age has ${rows}`);
  ctx.progress(`loaded shares of ${args.columns.length} columns × ${rows} rows`);

  const shares: Record<string, AShare> = {};
  // Every column's sum (local) and the two inner products (one round, one element each per party),
  // each column read once.
  const { dots, sums } = await A.dotManyAndSums(p, [[col.age!, col.bmi!], [col.sbp!, col.sbp!]], args.columns.map((c) => col[c]!));
  args.columns.forEach((c, i) => (shares[`sum_${c}`] = sums[i]!));
  const lane = (k: number) => new A.AShare(dots.a.slice(k, k + 1), dots.b.slice(k, k + 1));
  shares.sum_age_bmi = lane(0);
  shares.sum_sbp_sq = lane(1);
  ctx.progress('sums and sums of products done');

  if (args.ageAtLeast !== undefined) {
    // [age ≥ t] as a boolean share (ages fit in 16 signed bits), injected into Z_2^64, summed.
    const older = await bitInject(p, await ge(p, col.age!, BigInt(args.ageAtLeast), { bits: 16 }));
    shares.count_age_ge = A.sum(older);
    ctx.progress(`count of age ≥ ${args.ageAtLeast} done (secure comparison on ${rows} rows)`);
  }
  return { rows, shares };
}
