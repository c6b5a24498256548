// Differential privacy for a planned query: which aggregates get noise, calibrated to what
// sensitivity, and what one run costs. The noise itself is drawn jointly inside MPC
// (src/mpc/noise.ts) and added by execute.ts before suppression, HAVING and release.
//
// What can be noised as it stands: integer aggregates only, COUNT and SUM over int or bool
// columns (a noise unit of 1 on an integer lattice; AVG, VARIANCE, MIN, MAX are refused: release
// noisy SUM and COUNT and divide). Every aggregate of the plan is noised, also the hidden COUNT the
// small-cell rule compares (its outcome is released). Sensitivity per aggregate, assuming each
// person contributes at most ONE row (refused otherwise: a register without a unique person id,
// or a join with a many side such as hospital contacts; count persons through a person-level
// table with EXISTS instead): COUNT Δ = 1, SUM(x) Δ = max(|min x|, |max x|) from the column's
// declared bounds (bool: 1). Cells are disjoint, so one person changes one cell of each aggregate
// (parallel composition across cells); the query's epsilon is split evenly over its m aggregates
// (sequential composition), each drawn with scale Δ_k / (ε/m). The cost of a run is the sum over
// the aggregates of runCost (nominal ε/m and the realised δ of the truncated, quantised table).
import { gaussianFor, laplaceFor, noiseTable, runCost, type NoiseTable } from '../mpc/noise.js';
import type { JoinPlan } from './join-plan.js';
import { QueryError, type QueryPlan } from './plan.js';

export interface PlanNoise {
  /** Per plan aggregate (all of them noised). */
  tables: NoiseTable[];
  sensitivities: number[];
  /** What one run spends: Σ of the aggregates' (ε_k, δ_k). */
  cost: { epsilon: number; delta: number };
}

export interface DpRequest {
  mechanism: 'laplace' | 'gaussian';
  /** Epsilon of one run of the query. */
  epsilon: number;
  /** Gaussian: delta of one run. */
  delta?: number;
}

const err = (m: string): never => {
  throw new QueryError(`differential privacy: ${m}`);
};

/** Noise tables and cost for `plan` (the plan run; `join` when it runs over joined registers). */
export function noiseForPlan(plan: QueryPlan, join: JoinPlan | null, dp: DpRequest): PlanNoise {
  if (!(dp.epsilon > 0) || !Number.isFinite(dp.epsilon)) err(`epsilon must be a positive number, got ${dp.epsilon}`);
  // One row per person.
  if (join) {
    const many = join.tables.find((t) => t.unique === false && (t.kind === 'from' || t.kind === 'inner' || t.kind === 'left'));
    if (many) err(`${many.dataset.name} may have several rows per person, so one person could change a count by more than 1; count persons over a register with one row per person (e.g. population … WHERE EXISTS (…))`);
  } else if (!plan.dataset.columns.some((c) => c.type === 'person_id' && c.unique === true)) {
    err(`${plan.dataset.name} has no unique person id, so one person could contribute several rows; query a register with one row per person`);
  }
  const m = plan.aggregates.length;
  const eps = dp.epsilon / m;
  const spec = (name: string) => plan.dataset.columns.find((c) => c.name === name);
  const sensitivities = plan.aggregates.map((a) => {
    if (a.fn === 'count') return 1;
    if (a.fn === 'sum' && a.result === 'int' && a.column) {
      const c = spec(a.column)!;
      if (c.type === 'bool') return 1;
      const lo = Number(c.min), hi = Number(c.max);
      if (c.type !== 'int' || !Number.isFinite(lo) || !Number.isFinite(hi)) return err(`${a.text}: the column needs declared integer bounds (min, max) to bound one person's contribution`);
      return Math.max(1, Math.abs(lo), Math.abs(hi));
    }
    return err(`${a.text} cannot be released with noise (only COUNT and SUM of int columns can; release SUM and COUNT and divide)`);
  });
  const cache = new Map<number, NoiseTable>();
  const tables = sensitivities.map((d) => {
    let t = cache.get(d);
    if (!t) {
      try {
        t = noiseTable(dp.mechanism === 'gaussian' ? gaussianFor(eps, dp.delta ?? err('the discrete Gaussian needs a per-query delta'), d) : laplaceFor(eps, d));
      } catch (e) {
        return err(`noise for sensitivity ${d} at epsilon ${eps}: ${(e as Error).message}`);
      }
      cache.set(d, t);
    }
    return t;
  });
  const cost = { epsilon: 0, delta: 0 };
  tables.forEach((t, k) => {
    const c = runCost(t, sensitivities[k]!, eps);
    cost.epsilon += c.epsilon;
    cost.delta += c.delta;
  });
  return { tables, sensitivities, cost };
}
