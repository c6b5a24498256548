// Statistics for the node daemons and the CLI: the statistics call as text (the signed request's
// `statistic`, a study's `statistic` query), its plan at a node, its noise under the node's
// protection, the party-local run, and the requester's finishing. The one seam src/node uses.
// Reveals nothing itself: what each function releases is in functions.ts and glm.ts.
import type { AShare } from '../mpc/share.js';
import type { Party } from '../mpc/party.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import type { RowRestriction } from '../query/join-execute.js';
import { finishStat, noiseFor, planStat, STAT_NAMES, type StatNoise, type StatPlan, type StatRequest, type StatResult } from './functions.js';
import { errorsOf } from './errors.js';
import { fail } from './model.js';
import { runStat } from './run.js';
import { finishModel, modelJob, modelNoise } from './glm.js';

/** The statistics call as the text that is signed and matched against studies (canonical JSON). */
export function statisticText(req: StatRequest): string {
  const keys = ['fn', 'data', 'formula', 'family', 'bin', 'breaks', 'probs'] as const;
  return JSON.stringify(Object.fromEntries(keys.filter((k) => req[k] !== undefined).map((k) => [k, req[k]])));
}

export function parseStatistic(text: string): StatRequest {
  let r: StatRequest;
  try {
    r = JSON.parse(text) as StatRequest;
  } catch {
    return fail(`a statistic is a JSON call {"fn", "data", "formula", …}; got ${text.slice(0, 80)}`);
  }
  if (!r || typeof r !== 'object' || !(STAT_NAMES as readonly string[]).includes(r.fn)) fail(`unknown statistic '${String(r?.fn)}' (${STAT_NAMES.join(', ')})`);
  if (typeof r.data !== 'string' || typeof r.formula !== 'string') fail('a statistic needs data (the analysis table\'s SQL) and a formula');
  return r;
}

/** Plans a statistic at a node (or the requester) on the registers' public schemas. */
export function planStatistic(text: string, datasets: Map<string, { schema: DatasetSchema; codeLists: CodeList[] }>, minCellSize: number): StatPlan {
  const plan = planStat(parseStatistic(text), datasets);
  if (plan.job.kind === 'model') plan.job = { kind: 'model', model: { ...modelJob(plan), minCellSize } };
  return plan;
}

/** The noise of a protected run (the discrete Laplace; the Gaussian is not offered for statistics). */
export function statisticNoise(plan: StatPlan, mechanism: 'laplace' | 'gaussian', epsilon: number): StatNoise {
  if (mechanism !== 'laplace') fail('statistics run under the Laplace (geometric) mechanism; the nodes\' Gaussian setting does not apply to them');
  if (plan.job.kind === 'model') return modelNoise(plan, epsilon);
  return noiseFor(plan, epsilon);
}

/** This party's share of the released lanes. */
export function runStatistic(p: Party, plan: StatPlan, tables: Map<string, Map<string, AShare>>, noise: StatNoise | null, restrict?: RowRestriction): Promise<AShare> {
  return runStat(p, plan, tables, { statNoise: noise, ...(restrict ? { restrict } : {}) });
}

/** The requester's result from the combined lanes. */
export function finishStatistic(plan: StatPlan, lanes: bigint[], minCellSize: number, noise: StatNoise | null): StatResult {
  const o = { minCellSize, protectedRun: !!noise };
  const signed = lanes.map((v) => BigInt.asIntN(64, v));
  if (plan.job.kind === 'model') return finishModel(plan, signed, o, noise);
  const values = signed.map(Number);
  const r = finishStat(plan, values, o);
  if (noise) r.errors = errorsOf(plan, values, noise, o);
  return r;
}
