// The column uses of a planned query, for `authorize` (./policy.ts): which dataset and column the
// plan reads and in what role. Derived from the plan the node itself built from the SQL (never from
// what the scheduler claims), so the check covers exactly what will run.
//
// For a single-register plan (src/query/plan.ts):
//   WHERE atoms              → 'filter'     (the columns of the atoms the filter formula refers to)
//   GROUP BY keys            → 'group'      (age_band(birth_date, …) groups by birth_date)
//   aggregates over a column → 'aggregate'  with the function (VAR_*/STDDEV_* as variance/stddev,
//                               COUNT(DISTINCT x) as count; of the person id: 'join-key')
//   COUNT(*)                 → no column
// A statistic's analysis table (src/query/rows.ts): every column its rows read → 'model'.
// For a plan over several registers (usesOfJoinPlan): each table's person-id key as 'join-key',
// its own conditions and date-window columns as 'filter', and the joined plan's uses on the tables
// their `alias.column` names point to. The types below are structural (the fields of QueryPlan this
// module reads), so the query module can evolve without this file depending on its internals.
import { refuse } from './errors.js';
import type { AggregateFn, ColumnUse, QueryUse } from './column-use.js';

type Formula = { kind: string; leaf?: unknown; arg?: Formula; args?: Formula[] };

/** The fields of a single-register QueryPlan (src/query/plan.ts) that determine column uses. */
export interface PlanLike {
  sql: string;
  dataset: { name: string };
  /** `sources`: the columns a comparison of columns, or of arithmetic over them, reads. */
  atoms: { column: string; sources?: readonly string[] }[];
  filter: Formula | null;
  keys: { column: string }[];
  /**
   * `persons`: COUNT(DISTINCT) of the person id, which tells persons apart as a join does;
   * `sources`: every column an aggregate of arithmetic (SUM(a.x − b.y)) reads.
   */
  aggregates: { fn: string; column: string | null; persons?: boolean; sources?: readonly string[] }[];
}

const AGG: Record<string, AggregateFn> = {
  count: 'count', count_distinct: 'count', sum: 'sum', avg: 'avg', min: 'min', max: 'max',
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
    if (a) for (const column of a.sources ?? [a.column]) add({ dataset: ds, column, role: 'filter' });
  }
  for (const k of plan.keys) add({ dataset: ds, column: k.column, role: 'group' });
  for (const a of plan.aggregates) {
    if (a.column === null) continue;
    if (a.persons) {
      add({ dataset: ds, column: a.column, role: 'join-key' });
      continue;
    }
    const fn = AGG[a.fn];
    // An aggregate without a policy name would slip past a custodian's list of allowed functions.
    if (!fn) refuse('malformed', `aggregate ${a.fn.toUpperCase()}(${a.column}) has no policy name (add it to src/governance/plan-uses.ts and AggregateFn)`);
    for (const column of a.sources ?? [a.column]) add({ dataset: ds, column, role: 'aggregate', aggregate: fn });
  }
  return out;
}

/** The `query` argument of authorize() for a single-register plan. */
export function queryUseOfPlan(plan: PlanLike, minCellSize?: number): QueryUse {
  return { sql: plan.sql, datasets: [plan.dataset.name], uses: usesOfPlan(plan), ...(minCellSize !== undefined ? { minCellSize } : {}) };
}

/** The fields of a JoinPlan (src/query/join-plan.ts) that determine column uses. */
export interface JoinPlanLike {
  sql: string;
  tables: {
    alias: string;
    dataset: { name: string };
    key: string;
    /** Conditions on this table alone (a plan over the table; its filter atoms are its columns). */
    filter: Pick<PlanLike, 'atoms' | 'filter'> | null;
    window?: { partner: number; aDate: string; bDate: string };
    /** Window functions (a subquery with OVER): the columns each window column reads. */
    over?: { sources: Record<string, readonly string[]> };
  }[];
  /** The plan over the joined rows: columns are `alias.column` (and `__row`, `alias.__has`). */
  plan: PlanLike;
}

/**
 * Column uses of a plan over several registers joined on the person id: every table's key as
 * 'join-key', its own conditions and date-window columns as 'filter', and the joined plan's
 * filter, group keys and aggregates on the table their `alias.` names.
 */
export function usesOfJoinPlan(jp: JoinPlanLike): ColumnUse[] {
  const out: ColumnUse[] = [];
  const seen = new Set<string>();
  const add = (u: ColumnUse) => {
    const k = `${u.dataset}\u0000${u.column}\u0000${u.role}\u0000${u.aggregate ?? ''}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(u);
    }
  };
  const byAlias = new Map(jp.tables.map((t) => [t.alias, t.dataset.name]));
  const overOf = new Map(jp.tables.map((t) => [t.alias, t.over?.sources ?? {}]));
  for (const t of jp.tables) {
    add({ dataset: t.dataset.name, column: t.key, role: 'join-key' });
    if (t.filter) for (const i of leaves(t.filter.filter as Formula | null, [])) {
      const a = t.filter.atoms[i];
      if (a) for (const column of a.sources ?? [a.column]) add({ dataset: t.dataset.name, column, role: 'filter' });
    }
    if (t.window) {
      add({ dataset: t.dataset.name, column: t.window.aDate, role: 'filter' });
      add({ dataset: jp.tables[t.window.partner]!.dataset.name, column: t.window.bDate, role: 'filter' });
    }
  }
  // The joined plan's columns are alias.column; the bookkeeping columns (__row, alias.__has) are no data.
  for (const u of usesOfPlan(jp.plan)) {
    const dot = u.column.indexOf('.');
    if (dot < 0 || u.column.endsWith('.__has')) continue;
    const ds = byAlias.get(u.column.slice(0, dot));
    if (!ds) refuse('malformed', `column ${u.column} of the joined plan names no table of the query`);
    // A window column (LAG(x) OVER (PARTITION BY person_id ORDER BY d)) is a use of what it reads.
    const col = u.column.slice(dot + 1);
    for (const column of overOf.get(u.column.slice(0, dot))![col] ?? [col]) add({ ...u, dataset: ds, column });
  }
  return out;
}

/** The `query` argument of authorize() for a plan over several registers. */
export function queryUseOfJoinPlan(jp: JoinPlanLike, minCellSize?: number): QueryUse {
  return { sql: jp.sql, datasets: [...new Set(jp.tables.map((t) => t.dataset.name))], uses: [...usesOfJoinPlan(jp), ...modelUses(jp)], ...(minCellSize !== undefined ? { minCellSize } : {}) };
}

/** A column of a statistic's analysis table (src/query/rows.ts RowValue), structurally. */
type RowValueLike = { op: string; column?: string; cond?: number; args?: RowValueLike[]; a?: RowValueLike; b?: RowValueLike };

/**
 * A statistic's analysis table (src/query/rows.ts: a join plan whose plan has `rows`): every
 * register column a row value reads, directly or through a condition, as 'model' (its values enter
 * the statistic inside MPC; only the statistic's estimates are released).
 */
function modelUses(jp: JoinPlanLike): ColumnUse[] {
  const plan = jp.plan as PlanLike & { rows?: { value: RowValueLike }[]; conds?: Formula[] };
  if (!plan.rows) return [];
  const byAlias = new Map(jp.tables.map((t) => [t.alias, t.dataset.name]));
  const cols = new Set<string>();
  const walk = (v: RowValueLike): void => {
    if (v.column !== undefined) cols.add(v.column);
    if (v.op === 'cond' && v.cond !== undefined) for (const i of leaves(plan.conds?.[v.cond] ?? null, [])) if (plan.atoms[i]) cols.add(plan.atoms[i]!.column);
    v.args?.forEach(walk);
    if (v.a) walk(v.a);
    if (v.b) walk(v.b);
  };
  plan.rows.forEach((r) => walk(r.value));
  const out: ColumnUse[] = [];
  for (const c of cols) {
    const dot = c.indexOf('.');
    if (dot < 0 || c.endsWith('.__has')) continue; // bookkeeping (a LEFT JOIN's or EXISTS's match): the join key's use
    const ds = byAlias.get(c.slice(0, dot));
    if (!ds) refuse('malformed', `column ${c} of the analysis table names no table of the query`);
    out.push({ dataset: ds, column: c.slice(dot + 1), role: 'model' });
  }
  return out;
}
