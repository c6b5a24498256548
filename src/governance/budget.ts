// The privacy budgets, tracked and enforced at each node across queries: one per study and one
// per researcher (every identity that runs queries, governed or ad hoc), so that neither a study's
// runs nor one person's runs across all their studies and ad-hoc queries can add up past a total.
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

/**
 * A budget account: a study ('study:<id>', total from the study, capped by the custodians'
 * policies) or a researcher ('researcher:<name>', total from the node's privacy settings: what one
 * identity may spend over all its studies and ad-hoc queries together).
 */
export interface BudgetAccount {
  key: string;
  /** For messages: "study 't2d'", "researcher 'alice'". */
  label: string;
  total: { epsilon: number; delta: number };
  /** Study accounts: the version whose total applies. */
  studyHash?: string;
}

export interface AccountState {
  account: string;
  label: string;
  /** Study accounts: the study id and the hash of the version whose total applied at the last charge. */
  study?: string;
  studyHash?: string;
  total: { epsilon: number; delta: number };
  spent: { epsilon: number; delta: number };
  charges: BudgetCharge[];
}

/** A study's state (the account 'study:<id>'), as GET /v1/studies/:id/budget shows it. */
export type StudyBudget = AccountState & { study: string; studyHash: string };

interface BudgetFile {
  format: 'mosaik-budget/2';
  accounts: Record<string, AccountState>;
}

/** Relative slack for floating-point sums (0.1 + 0.2 must fit a budget of 0.3). */
const SLACK = 1e-9;
/** What is left of a total, 0 when only floating-point dust remains. */
const left = (total: number, spent: number) => (total - spent <= total * SLACK ? 0 : total - spent);
const fits = (spent: number, cost: number, total: number) => spent + cost <= total * (1 + SLACK) + 1e-300;

export const studyAccountKey = (study: string) => `study:${study}`;
export const researcherAccountKey = (name: string) => `researcher:${name}`;

/** The study account of an authorization (refused when the study declares no budget). */
export function studyAccount(auth: Pick<Authorization, 'study' | 'studyHash' | 'budget'>): BudgetAccount {
  if (!auth.budget) refuse('budget-exceeded', `study '${auth.study}' declares no privacy budget, so it cannot run queries with differential privacy`);
  return { key: studyAccountKey(auth.study), label: `study '${auth.study}'`, total: { ...auth.budget }, studyHash: auth.studyHash };
}

/** A researcher's account with the node's total for one identity. */
export function researcherAccount(name: string, total: { epsilon: number; delta: number }): BudgetAccount {
  return { key: researcherAccountKey(name), label: `researcher '${name}'`, total: { ...total } };
}

export class PrivacyBudget {
  private data: BudgetFile;

  private constructor(readonly path: string) {
    this.data = existsSync(path) ? PrivacyBudget.read(path) : { format: 'mosaik-budget/2', accounts: {} };
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
    let f: BudgetFile & { studies?: Record<string, AccountState & { study: string }> };
    try {
      f = JSON.parse(readFileSync(path, 'utf8')) as typeof f;
    } catch (e) {
      return refuse('malformed', `privacy budget ledger ${path} cannot be read (${(e as Error).message}); refusing to run noisy queries without it`);
    }
    // Version 1 kept study budgets only.
    if ((f as { format?: string })?.format === 'mosaik-budget/1' && f.studies && typeof f.studies === 'object') {
      return { format: 'mosaik-budget/2', accounts: Object.fromEntries(Object.entries(f.studies).map(([id, st]) => [studyAccountKey(id), { ...st, account: studyAccountKey(id), label: `study '${id}'`, study: id }])) };
    }
    if (f?.format !== 'mosaik-budget/2' || typeof f.accounts !== 'object') refuse('malformed', `privacy budget ledger ${path} is not a mosaik-budget/2 file`);
    return f;
  }

  /** An account's state, or undefined if nothing was charged to it yet. */
  account(key: string): AccountState | undefined {
    const s = this.data.accounts[key];
    return s ? structuredClone(s) : undefined;
  }

  /** The study's state, or undefined if nothing was charged yet. */
  state(study: string): StudyBudget | undefined {
    return this.account(studyAccountKey(study)) as StudyBudget | undefined;
  }

  /** What remains of an account under `total`. */
  remainingIn(key: string, total: { epsilon: number; delta: number }): { epsilon: number; delta: number } {
    const spent = this.data.accounts[key]?.spent ?? { epsilon: 0, delta: 0 };
    return { epsilon: left(total.epsilon, spent.epsilon), delta: left(total.delta, spent.delta) };
  }

  /** What remains of a study's budget under `total` (the authorization's budget). */
  remaining(study: string, total: { epsilon: number; delta: number }): { epsilon: number; delta: number } {
    return this.remainingIn(studyAccountKey(study), total);
  }

  /**
   * Refuses ('budget-exceeded') unless `cost` fits every account's remaining budget; changes
   * nothing. A job already charged fits.
   */
  checkAll(accounts: BudgetAccount[], cost: { epsilon: number; delta: number }, query: string, jobId?: string): void {
    for (const a of accounts) checkFits(this.data, a, cost, query, jobId);
  }

  /**
   * Charges one run's cost to every account at once (all or none); refuses ('budget-exceeded') if
   * it does not fit one of them. Idempotent per job id. Persists before returning.
   */
  chargeAll(accounts: BudgetAccount[], cost: { epsilon: number; delta: number }, job: { id: string; query: string; time?: string }): AccountState[] {
    if (typeof job.id !== 'string' || !job.id) refuse('malformed', 'a budget charge needs a job id');
    const next = { ...this.data.accounts };
    for (const a of accounts) {
      const cur = checkFits(this.data, a, cost, job.query, job.id);
      if (cur.charges.some((c) => c.job === job.id)) continue;
      next[a.key] = {
        ...cur,
        total: { ...a.total },
        ...(a.studyHash ? { studyHash: a.studyHash } : {}),
        spent: { epsilon: cur.spent.epsilon + cost.epsilon, delta: cur.spent.delta + cost.delta },
        charges: [...cur.charges, { job: job.id, query: job.query, epsilon: cost.epsilon, delta: cost.delta, time: job.time ?? new Date().toISOString() }],
      };
    }
    const data: BudgetFile = { ...this.data, accounts: next };
    writeAtomic(this.path, data);
    this.data = data;
    return accounts.map((a) => structuredClone(next[a.key]!));
  }

  /** The study-only form of checkAll. */
  check(auth: Pick<Authorization, 'study' | 'studyHash' | 'budget' | 'query'>, cost: { epsilon: number; delta: number }, jobId?: string): StudyBudget {
    const a = studyAccount(auth);
    checkFits(this.data, a, cost, auth.query.id, jobId);
    return (this.state(auth.study) ?? emptyState(a)) as StudyBudget;
  }

  /** The study-only form of chargeAll. */
  charge(auth: Pick<Authorization, 'study' | 'studyHash' | 'budget' | 'query'>, cost: { epsilon: number; delta: number }, job: { id: string; time?: string }): StudyBudget {
    return this.chargeAll([studyAccount(auth)], cost, { ...job, query: auth.query.id })[0] as StudyBudget;
  }
}

function emptyState(a: BudgetAccount): AccountState {
  const study = a.key.startsWith('study:') ? a.key.slice('study:'.length) : undefined;
  return { account: a.key, label: a.label, ...(study ? { study } : {}), ...(a.studyHash ? { studyHash: a.studyHash } : {}), total: { ...a.total }, spent: { epsilon: 0, delta: 0 }, charges: [] };
}

/** Refuses ('budget-exceeded') unless the cost fits what remains of the account. */
function checkFits(data: BudgetFile, a: BudgetAccount, cost: { epsilon: number; delta: number }, query: string, jobId?: string): AccountState {
  if (!(cost.epsilon >= 0) || !(cost.delta >= 0) || !Number.isFinite(cost.epsilon) || !Number.isFinite(cost.delta)) refuse('malformed', `privacy cost must be non-negative numbers, got ε = ${cost.epsilon}, δ = ${cost.delta}`);
  const total = a.total;
  const cur = data.accounts[a.key] ?? emptyState(a);
  if (jobId !== undefined && cur.charges.some((c) => c.job === jobId)) return cur;
  const whose = a.key.startsWith('study:') ? "the study's" : `${a.label}'s`;
  const runs = `${cur.charges.length} noisy run${cur.charges.length === 1 ? '' : 's'} so far`;
  if (!fits(cur.spent.epsilon, cost.epsilon, total.epsilon)) {
    refuse('budget-exceeded', `${a.label}: query '${query}' needs epsilon ${fmt(cost.epsilon)}, but only ${fmt(left(total.epsilon, cur.spent.epsilon))} of ${whose} ${fmt(total.epsilon)} remain (${runs})`);
  }
  if (!fits(cur.spent.delta, cost.delta, total.delta)) {
    refuse('budget-exceeded', `${a.label}: query '${query}' needs delta ${fmt(cost.delta)}, but only ${fmt(left(total.delta, cur.spent.delta))} of ${whose} ${fmt(total.delta)} remain`);
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
