// The privacy budget of each study, tracked and enforced at each node across queries.
//
// A study declares a total (ε, δ) (./study.ts, capped by the custodians' policies in ./policy.ts);
// each run of a query with differential privacy spends the (ε, δ) its noise really costs
// (src/mpc/noise.ts runCost: the nominal ε and the realised δ(ε) of the truncated, quantised
// mechanism). Runs compose sequentially (basic composition: ε and δ add up; Dwork–Roth, "The
// Algorithmic Foundations of Differential Privacy", Thm 3.16), so a run is allowed only while
// spent + cost ≤ total. Cells of one query's histogram are disjoint (one person's rows fall in one
// cell), so their noise is charged once (parallel composition); several noisy aggregates in one
// query are several charges (or one with their summed cost).
//
// The node charges BEFORE it opens a noisy result, and a charged run stays charged even if the job
// fails afterwards (conservative: a partial run may have released something). A job id is charged
// at most once, so a retried or replayed charge does not spend twice. The budget is keyed by the
// study id, not its version: a new version of a study (new hash, new approvals) continues to spend
// the same budget, under the new version's total. Every node keeps its own ledger file and refuses
// on its own, so one node cannot overspend (the MPC needs all three). Jobs run one at a time per
// node (src/node/jobs.ts), so the file needs no locking; it is replaced atomically (write, rename).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { refuse } from './errors.js';
import type { Authorization } from './policy.js';

export const BUDGET_FILE = join('governance', 'budget.json');

export interface BudgetCharge {
  job: string;
  query: string;
  epsilon: number;
  delta: number;
  time: string;
}

export interface StudyBudget {
  study: string;
  /** Hash of the study version whose total applied at the last charge. */
  studyHash: string;
  total: { epsilon: number; delta: number };
  spent: { epsilon: number; delta: number };
  charges: BudgetCharge[];
}

interface BudgetFile {
  format: 'mosaik-budget/1';
  studies: Record<string, StudyBudget>;
}

/** Relative slack for floating-point sums (0.1 + 0.2 must fit a budget of 0.3). */
const SLACK = 1e-9;
/** What is left of a total, 0 when only floating-point dust remains. */
const left = (total: number, spent: number) => (total - spent <= total * SLACK ? 0 : total - spent);
const fits = (spent: number, cost: number, total: number) => spent + cost <= total * (1 + SLACK) + 1e-300;

export class PrivacyBudget {
  private data: BudgetFile;

  private constructor(readonly path: string) {
    this.data = existsSync(path) ? PrivacyBudget.read(path) : { format: 'mosaik-budget/1', studies: {} };
  }

  /** The budget ledger of the node whose directory is `nodeDir` (<nodeDir>/governance/budget.json). */
  static open(nodeDir: string): PrivacyBudget {
    return new PrivacyBudget(join(nodeDir, BUDGET_FILE));
  }

  /** A ledger at an explicit file path. */
  static at(path: string): PrivacyBudget {
    return new PrivacyBudget(path);
  }

  private static read(path: string): BudgetFile {
    let f: BudgetFile;
    try {
      f = JSON.parse(readFileSync(path, 'utf8')) as BudgetFile;
    } catch (e) {
      return refuse('malformed', `privacy budget ledger ${path} cannot be read (${(e as Error).message}); refusing to run noisy queries without it`);
    }
    if (f?.format !== 'mosaik-budget/1' || typeof f.studies !== 'object') refuse('malformed', `privacy budget ledger ${path} is not a mosaik-budget/1 file`);
    return f;
  }

  /** The study's state, or undefined if nothing was charged yet. */
  state(study: string): StudyBudget | undefined {
    const s = this.data.studies[study];
    return s ? structuredClone(s) : undefined;
  }

  /**
   * Refuses ('budget-exceeded') unless `cost` fits the study's remaining budget; changes nothing
   * (a node checks before it accepts a job, and charges before it runs it). A job already charged fits.
   */
  check(auth: Pick<Authorization, 'study' | 'studyHash' | 'budget' | 'query'>, cost: { epsilon: number; delta: number }, jobId?: string): StudyBudget {
    return structuredClone(checkFits(this.data, auth, cost, jobId));
  }

  /** What remains of a study's budget under `total` (the authorization's budget). */
  remaining(study: string, total: { epsilon: number; delta: number }): { epsilon: number; delta: number } {
    const s = this.data.studies[study];
    const spent = s?.spent ?? { epsilon: 0, delta: 0 };
    return { epsilon: left(total.epsilon, spent.epsilon), delta: left(total.delta, spent.delta) };
  }

  /**
   * Charges one run's cost to the authorized study; refuses ('budget-exceeded') if it does not fit
   * the remaining budget, and then changes nothing. Idempotent per job id. Persists before returning.
   */
  charge(auth: Pick<Authorization, 'study' | 'studyHash' | 'budget' | 'query'>, cost: { epsilon: number; delta: number }, job: { id: string; time?: string }): StudyBudget {
    if (typeof job.id !== 'string' || !job.id) refuse('malformed', 'a budget charge needs a job id');
    const cur = this.check(auth, cost, job.id);
    if (cur.charges.some((c) => c.job === job.id)) return structuredClone(cur);
    const total = auth.budget!;
    const next: StudyBudget = {
      study: auth.study,
      studyHash: auth.studyHash,
      total: { ...total },
      spent: { epsilon: cur.spent.epsilon + cost.epsilon, delta: cur.spent.delta + cost.delta },
      charges: [...cur.charges, { job: job.id, query: auth.query.id, epsilon: cost.epsilon, delta: cost.delta, time: job.time ?? new Date().toISOString() }],
    };
    const data: BudgetFile = { ...this.data, studies: { ...this.data.studies, [auth.study]: next } };
    writeAtomic(this.path, data);
    this.data = data;
    return structuredClone(next);
  }
}

/** PrivacyBudget.check: refuses ('budget-exceeded') unless the cost fits what remains. */
function checkFits(data: BudgetFile, auth: Pick<Authorization, 'study' | 'studyHash' | 'budget' | 'query'>, cost: { epsilon: number; delta: number }, jobId?: string): StudyBudget {
  if (!auth.budget) refuse('budget-exceeded', `study '${auth.study}' declares no privacy budget, so it cannot run queries with differential privacy`);
  if (!(cost.epsilon >= 0) || !(cost.delta >= 0) || !Number.isFinite(cost.epsilon) || !Number.isFinite(cost.delta)) refuse('malformed', `privacy cost must be non-negative numbers, got ε = ${cost.epsilon}, δ = ${cost.delta}`);
  const total = auth.budget;
  const cur = data.studies[auth.study] ?? { study: auth.study, studyHash: auth.studyHash, total, spent: { epsilon: 0, delta: 0 }, charges: [] };
  if (jobId !== undefined && cur.charges.some((c) => c.job === jobId)) return cur;
  if (!fits(cur.spent.epsilon, cost.epsilon, total.epsilon)) {
    refuse('budget-exceeded', `study '${auth.study}': query '${auth.query.id}' needs epsilon ${fmt(cost.epsilon)}, but only ${fmt(left(total.epsilon, cur.spent.epsilon))} of the study's ${fmt(total.epsilon)} remain (${cur.charges.length} noisy run${cur.charges.length === 1 ? '' : 's'} so far)`);
  }
  if (!fits(cur.spent.delta, cost.delta, total.delta)) {
    refuse('budget-exceeded', `study '${auth.study}': query '${auth.query.id}' needs delta ${fmt(cost.delta)}, but only ${fmt(left(total.delta, cur.spent.delta))} of the study's ${fmt(total.delta)} remain`);
  }
  return cur;
}

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e-3 ? String(Number(x.toPrecision(6))) : x.toExponential(3));

/** Writes JSON to `path` via a temporary file and a rename (readers never see half a file). */
export function writeAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}
