// Statistics for the node daemons and the CLI: the statistics call's public side (./statistic.ts:
// its text, plan, noise and the requester's finishing, browser-safe) and the party-local run. The
// one seam src/node uses. Reveals nothing itself: what each function releases is in functions.ts
// and glm.ts.
import type { AShare } from '../mpc/share.js';
import type { Party } from '../mpc/party.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import type { JoinRunOptions, RowRestriction } from '../query/join-execute.js';
import { planAnalysis, runAnalysis, type AnalysisPlan, type AnalysisTable } from '../query/rows.js';
import { planStat, type StatNoise, type StatPlan } from './functions.js';
import { parseStatistic } from './statistic.js';
import { runOnTable, tableFor } from './run.js';

export type { AnalysisPlan, AnalysisTable };
export { finishStatistic, parseStatistic, planStatistic, statisticNoise, statisticText } from './statistic.js';

/**
 * The analysis table to build for `plan` when other statistics over the same SQL may read it
 * afterwards: with `also` (call texts, e.g. the other statistics of the job's study) the columns of
 * every one of them (a call that does not plan adds none); without, every column of the SQL as
 * written. Joins and filters are the SQL's either way, so the rows are the plan's own.
 */
export function sharedAnalysis(plan: StatPlan, also: readonly string[] | null, datasets: Map<string, { schema: DatasetSchema; codeLists: CodeList[] }>): AnalysisPlan {
  if (!also) return planAnalysis(plan.request.data, datasets);
  const keep = new Set(plan.analysis.columns.map((c) => c.name));
  for (const text of also) {
    try {
      const req = parseStatistic(text);
      if (req.data === plan.request.data) for (const c of planStat(req, datasets).analysis.columns) keep.add(c.name);
    } catch {
      /* not a statistic this node can plan: it adds no column */
    }
  }
  return keep.size === plan.analysis.columns.length ? plan.analysis : planAnalysis(plan.request.data, datasets, keep);
}

/**
 * This party's share of an analysis table (every column of `ap`), rows restricted by `restrict` (e.g.
 * the consent filter); `lineup`: the join's sort by person kept from an earlier join (or where to hand
 * the one made now), src/node/lineup-cache.ts.
 */
export function buildAnalysis(p: Party, ap: AnalysisPlan, tables: Map<string, Map<string, AShare>>, restrict?: RowRestriction, lineup: Pick<JoinRunOptions, 'lineup' | 'onLineup'> = {}): Promise<AnalysisTable> {
  return runAnalysis(p, ap, tables, { ...(restrict ? { restrict } : {}), ...lineup });
}

/** This party's share of the released lanes, on a table built before with at least the plan's columns. */
export function runStatisticOn(p: Party, plan: StatPlan, table: AnalysisTable, noise: StatNoise | null): Promise<AShare> {
  return runOnTable(p, plan, tableFor(plan, table), { statNoise: noise });
}
