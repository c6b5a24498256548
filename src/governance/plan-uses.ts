// The column uses of a planned query, for `authorize` (./policy.ts): which dataset and column the
// plan reads and in what role. Derived from the plan the node itself built from the SQL (never from
// what the scheduler claims), so the check covers exactly what will run.
//
// For a single-register plan (src/query/plan.ts):
//   WHERE atoms              → 'filter'     (the columns of the atoms the filter formula refers to)
//   GROUP BY keys            → 'group'      (age_band(birth_date, …) groups by birth_date)
//   aggregates over a column → 'aggregate'  with the function (VAR_*/STDDEV_* as variance/stddev)
//   COUNT(*)                 → no column
// A join planner adds 'join-key' uses for the ON columns of each side and reports the other
// columns with their datasets. The types below are structural (the fields of QueryPlan this
// module reads), so the query module can evolve without this file depending on its internals.
import { refuse } from './errors.js';
import type { AggregateFn, ColumnUse, QueryUse } from './policy.js';

type Formula = { kind: string; leaf?: unknown; arg?: Formula; args?: Formula[] };

/** The fields of a single-register QueryPlan (src/query/plan.ts) that determine column uses. */
export interface PlanLike {
  sql: string;
  dataset: { name: string };
  atoms: { column: string }[];
  filter: Formula | null;
  keys: { column: string }[];
  aggregates: { fn: string; column: string | null }[];
}

const AGG: Record<string, AggregateFn> = {
  count: 'count', sum: 'sum', avg: 'avg', min: 'min', max: 'max',
  var_samp: 'variance', var_pop: 'variance', stddev_samp: 'stddev', stddev_pop: 'stddev',
};

function leaves(f: Formula | null, out: number[]): number[] {
  if (!f) return out;
  if (f.kind === 'leaf' && typeof f.leaf === 'number') out.push(f.leaf);
  if (f.arg) leaves(f.arg, out);
  for (const a of f.args ?? []) leaves(a, out);
  return out;
}

/** Column uses of a single-register plan, de-duplicated, in a stable order. */
export function usesOfPlan(plan: PlanLike): ColumnUse[] {
  const ds = plan.dataset.name;
  const out: ColumnUse[] = [];
  const seen = new Set<string>();
  const add = (u: ColumnUse) => {
    const k = `${u.column}\u0000${u.role}\u0000${u.aggregate ?? ''}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(u);
    }
  };
  for (const i of leaves(plan.filter, [])) {
    const a = plan.atoms[i];
    if (a) add({ dataset: ds, column: a.column, role: 'filter' });
  }
  for (const k of plan.keys) add({ dataset: ds, column: k.column, role: 'group' });
  for (const a of plan.aggregates) {
    if (a.column === null) continue;
    const fn = AGG[a.fn];
    // An aggregate without a policy name would slip past a custodian's list of allowed functions.
    if (!fn) refuse('malformed', `aggregate ${a.fn.toUpperCase()}(${a.column}) has no policy name (add it to src/governance/plan-uses.ts and AggregateFn)`);
    add({ dataset: ds, column: a.column, role: 'aggregate', aggregate: fn });
  }
  return out;
}

/** The `query` argument of authorize() for a single-register plan. */
export function queryUseOfPlan(plan: PlanLike, minCellSize?: number): QueryUse {
  return { sql: plan.sql, datasets: [plan.dataset.name], uses: usesOfPlan(plan), ...(minCellSize !== undefined ? { minCellSize } : {}) };
}
