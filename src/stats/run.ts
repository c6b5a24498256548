// Party-local (SPMD) execution of a planned statistic: the analysis table (src/query/rows.ts), then
// the function's job (src/stats/functions.ts: masked sums or cell sums; glm.ts: model fits), with
// the differential-privacy noise drawn inside MPC when the run is protected. The result stays
// secret-shared: the caller reveals it to the requester only (nodes: sealed share pairs; the
// in-process engine: reveal to one party). Reveals nothing itself beyond what the join reveals.
import { AShare, concatShares } from '../mpc/arith.js';
import { geometricTable } from '../mpc/geometric-noise.js';
import type { Party } from '../mpc/party.js';
import { runAnalysis, type AnalysisTable } from '../query/rows.js';
import type { JoinRunOptions } from '../query/join-execute.js';
import { lapTimer } from '../query/execute.js';
import type { StatNoise, StatPlan } from './functions.js';
import { keySize } from './cells.js';
import { cellCounts } from './cell-counts.js';
import { addLaplace, masked } from './secure.js';
import { maskedSums } from './sums.js';

export interface StatRunOptions extends JoinRunOptions {
  /** Protected run: the noise of functions.noiseFor (sums/cells) or glm.modelNoise (models). */
  statNoise?: StatNoise | null;
}

/** This party's share of the released vector of a statistic (what the requester combines). */
export async function runStat(p: Party, plan: StatPlan, tables: Map<string, Map<string, AShare>>, opts: StatRunOptions = {}): Promise<AShare> {
  const lap = lapTimer(opts.trace);
  const t = await runAnalysis(p, plan.analysis, tables, opts);
  lap('analysis table');
  return runOnTable(p, plan, t, opts);
}

/**
 * `t`, built with at least the plan's columns (a wider table a node kept, src/node/analysis-cache.ts),
 * as the plan's own table: its rows and validity, only the plan's columns.
 */
export function tableFor(plan: StatPlan, t: AnalysisTable): AnalysisTable {
  const columns = new Map(plan.analysis.columns.map((c) => {
    const x = t.columns.get(c.name);
    if (!x) throw new Error(`the analysis table given has no column '${c.name}'`);
    return [c.name, x] as const;
  }));
  return { ...t, columns, meta: plan.analysis.columns };
}

export async function runOnTable(p: Party, plan: StatPlan, t: AnalysisTable, opts: StatRunOptions = {}): Promise<AShare> {
  const j = plan.job;
  const lap = lapTimer(opts.trace);
  let out: AShare;
  if (j.kind === 'sums') out = await maskedSums(p, t, j.monomials);
  else if (j.kind === 'cells') {
    const G = j.keys.reduce((m, k) => m * keySize(k), 1);
    const refs = j.weights.filter((w) => w.column !== '');
    const m = refs.length ? await masked(p, t, refs) : [];
    let k = 0;
    const weights = j.weights.map((w) => (w.column === '' ? t.valid : m[k++]!));
    // Every cells job's weights are 0/1 (valid rows, and bool events: functions.ts planStat); the
    // valid rows are every row (public) when the table is neither joined nor filtered.
    const ones = j.weights.map((w) => w.column === '' && t.allValid);
    out = concatShares(await cellCounts(p, t, j.keys, weights, { ones }));
    lap(`sums over ${G} cells`);
  } else {
    const { fitModel } = await import('./glm.js');
    return fitModel(p, plan, t, opts.statNoise ?? null, lap);
  }
  const noise = opts.statNoise;
  if (noise) out = await addLaplace(p, out, noise.blocks.map((b) => ({ table: geometricTable(b.scale * (1 + 1e-12)), n: b.lanes })));
  return out;
}
