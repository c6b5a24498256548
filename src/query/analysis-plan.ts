// The plan of an analysis table (./rows.ts): SQL without aggregation planned as a join on the person
// id over the registers' public schemas, its columns typed and bounded. Browser-safe (imports no
// MPC): the nodes plan with it and so does a requester (CLI or browser) that decodes a statistic
// (src/stats). Reveals nothing; computes nothing on data.
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { type JoinPlan, planJoinQuery, sortedByOf } from './join-plan.js';
import { type Expr, parseQuery, QueryError } from './parse.js';
import { hasAgg, type RowColumn, type RowPlan } from './row-plan.js';

export interface AnalysisPlan {
  sql: string;
  join: JoinPlan;
  plan: RowPlan;
  columns: RowColumn[];
  codeLists: Map<string, CodeList>;
}

const err = (m: string): never => {
  throw new QueryError(m);
};

/**
 * Plans an analysis table. `datasets`: schema and code lists of every register the SQL reads.
 * `keep`: only these output columns (those a statistic uses; joins and filters stay as written), so
 * that the nodes read, decrypt and compute no column the statistic does not use.
 */
export function planAnalysis(sql: string, datasets: Map<string, { schema: DatasetSchema; codeLists: CodeList[]; sortedBy?: string }>, keep?: ReadonlySet<string>): AnalysisPlan {
  const q = parseQuery(sql);
  if (q.groupBy.length || q.having) err('an analysis table has no GROUP BY or HAVING: its rows go into the statistic, never out of MPC');
  if (q.orderBy.length || q.limit !== null) err('an analysis table has no ORDER BY or LIMIT (its rows are never revealed)');
  if (q.select.some((s) => hasAgg(s.expr))) err('an analysis table is SQL without aggregation: the statistic aggregates (drop COUNT/SUM/AVG… from the SELECT list)');
  const lists = new Map<string, CodeList>();
  const names = new Set<string>([q.table, ...q.joins.map((j) => j.table)]);
  const walk = (e: Expr | null): void => {
    if (!e) return;
    if (e.kind === 'exists') (names.add(e.table), e.join && names.add(e.join.table));
    else if (e.kind === 'and' || e.kind === 'or') (walk(e.left), walk(e.right));
    else if (e.kind === 'not') walk(e.arg);
    else if (e.kind === 'call') e.args.forEach(walk);
  };
  walk(q.where);
  q.select.forEach((s) => walk(s.expr));
  for (const name of names) {
    const d = datasets.get(name) ?? err(`unknown table '${name}' (known: ${[...datasets.keys()].join(', ')})`);
    for (const l of d.codeLists) {
      const had = lists.get(l.name);
      if (had && had.codes.join('\n') !== l.codes.join('\n')) err(`code list '${l.name}' differs between the registers this table reads`);
      lists.set(l.name, l);
    }
  }
  const schemas = new Map([...datasets].filter(([n]) => names.has(n)).map(([n, d]) => [n, d.schema]));
  const sortedBy = sortedByOf(datasets);
  let join = planJoinQuery(q, schemas, lists, { personKey: true, rows: true, sortedBy });
  let plan = join.plan as RowPlan;
  const seen = new Set<string>();
  for (const c of plan.rows) {
    if (seen.has(c.name)) err(`two columns are named '${c.name}': give them different aliases (AS …)`);
    seen.add(c.name);
  }
  if (keep && plan.rows.length === q.select.length && plan.rows.some((c) => !keep.has(c.name))) {
    const select = q.select.filter((_, i) => keep.has(plan.rows[i]!.name));
    if (select.length) {
      join = planJoinQuery({ ...q, select }, schemas, lists, { personKey: true, rows: true, sortedBy });
      plan = join.plan as RowPlan;
    }
  }
  return { sql, join, plan, columns: plan.rows, codeLists: lists };
}
