// A statistics call's public side, for the nodes and every requester (the CLI, the browser): the
// call as text (the signed request's `statistic`, a study's `statistic` query), its plan on the
// registers' public schemas, its noise under the nodes' protection, and the requester's finishing
// of the combined lanes into R's table. Browser-safe (no MPC, no Node built-ins): the web app
// decodes with exactly this code. The party-local run is ./service.ts. Reveals nothing itself:
// what each function releases is in functions.ts and glm.ts.
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { finishStat, laneVariances, noiseFor, planStat, STAT_NAMES, type StatNoise, type StatPlan, type StatRequest, type StatResult } from './functions.js';
import { errorsOf } from './errors.js';
import { fail } from './model.js';
import { finishModel } from './model-finish.js';
import { modelJob, modelNoise } from './model-job.js';

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
export function planStatistic(text: string, datasets: Registers, minCellSize: number): StatPlan {
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

/** The requester's result from the combined lanes. */
export function finishStatistic(plan: StatPlan, lanes: bigint[], minCellSize: number, noise: StatNoise | null): StatResult {
  const o = { minCellSize, protectedRun: !!noise, ...(noise ? { laneVar: laneVariances(noise) } : {}) };
  const signed = lanes.map((v) => BigInt.asIntN(64, v));
  if (plan.job.kind === 'model') return finishModel(plan, signed, o, noise);
  const values = signed.map(Number);
  const r = finishStat(plan, values, o);
  if (noise) r.errors = errorsOf(plan, values, noise, o);
  return r;
}

type Registers = Map<string, { schema: DatasetSchema; codeLists: CodeList[]; sortedBy?: string }>;
/** The output protection a run was released under (the nodes' decision, in each node's part). */
export type ReleasedUnder = { mechanism: 'laplace' | 'gaussian'; epsilon: number } | null;

/**
 * The requester's decoding of a run: the call planned on the register versions the nodes read (as
 * every node planned it), its noise under the protection the nodes applied, and R's table from
 * the combined lanes (src/query/assemble.ts combineLanes).
 */
export function decodeStatistic(text: string, datasets: Registers, minCellSize: number, lanes: bigint[], protection: ReleasedUnder): StatResult {
  const plan = planStatistic(text, datasets, minCellSize);
  return finishStatistic(plan, lanes, minCellSize, protection ? statisticNoise(plan, protection.mechanism, protection.epsilon) : null);
}

/**
 * The same released lanes read as another function whose job is identical (survdiff from a
 * survfit's life table): no second run, no further privacy cost. Refused when the jobs differ.
 */
export function rereadStatistic(text: string, fn: StatRequest['fn'], datasets: Registers, minCellSize: number, lanes: bigint[], protection: ReleasedUnder): StatResult {
  const other = statisticText({ ...parseStatistic(text), fn });
  const a = planStatistic(text, datasets, minCellSize), b = planStatistic(other, datasets, minCellSize);
  if (JSON.stringify(a.job) !== JSON.stringify(b.job)) fail(`${fn} needs another computation than ${a.request.fn}`);
  return decodeStatistic(other, datasets, minCellSize, lanes, protection);
}
