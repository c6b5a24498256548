// Analysis tables: SQL WITHOUT aggregation whose rows never leave MPC, the input of every statistic
// (src/stats). The SELECT list names the table's columns; FROM, JOIN (also LEFT JOIN), EXISTS,
// date windows and WHERE work as in queries (join-plan.ts; every table is planned as a join on the
// person id; one register without a restriction runs without the join: its rows are the rows). The result is a secret-shared table: one 0/1 column `valid`
// (the row is in the table: the join's rows that pass WHERE) and one shared column per SELECT item.
// Nothing is revealed but what the join reveals (register sizes; join.ts).
//
// SELECT items (each becomes a column; types and bounds are public, from the schemas):
//   col                          a column of an inner table: int, decimal, date (days), bool (0/1),
//                                code (a factor: its levels are the code list, the value its index)
//   <condition>                  comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, EXISTS (…), IS [NOT]
//                                NULL (a LEFT JOIN's match): bool; over a LEFT JOIN miss a
//                                comparison is FALSE (SQL: NULL)
//   age(birth, 'YYYY-MM-DD')     completed years (as in WHERE): int, by bucketing the birth date
//                                among the birthdays' dates (src/mpc/bucket.ts)
//   age_band(birth, 'YYYY-MM-DD'[, width = 10[, top = 90]])  the lower bound of the age's band,
//                                as in GROUP BY: int (0, 10, …, 90), one bucketing
//   LEAST(a, b, …), GREATEST(…)  of dates or numbers (columns, literals); a LEFT JOINed column with
//                                no match is skipped, as PostgreSQL skips NULLs
//   COALESCE(a, b, …)            the first argument present (LEFT JOINed columns may be missing)
//   a - b                        a date difference in days (a, b dates or date literals), e.g.
//                                LEAST(d.death_date, e.emigration_date, DATE '2026-12-31') - DATE '2024-12-31'
import { AShare, add, addPublic, fromPublic, mul, mulPublic, sub, subFromPublic } from '../mpc/arith.js';
import { bucketIndex } from '../mpc/bucket.js';
import { lt } from '../mpc/compare.js';
import { bitInject } from '../mpc/convert.js';
import type { Party } from '../mpc/party.js';
import * as R from '../ring/ring64.js';
import { type CodeList, type DatasetSchema, valueBits } from '../ingest/schema.js';
import { rowConditions } from './execute.js';
import { joinedRows, type JoinRunOptions } from './join-execute.js';
import { HAS, type JoinPlan, planJoinQuery } from './join-plan.js';
import { type Expr, parseQuery, QueryError } from './parse.js';
import type { BoolExpr } from './plan.js';
import { hasAgg, type RowColumn, type RowPlan, type RowValue } from './row-plan.js';

export { levelsOf, planRowQuery, type RowColumn, type RowPlan, type RowType, type RowValue } from './row-plan.js';

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

/** Plans an analysis table. `datasets`: schema and code lists of every register the SQL reads. */
export function planAnalysis(sql: string, datasets: Map<string, { schema: DatasetSchema; codeLists: CodeList[] }>): AnalysisPlan {
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
  const join = planJoinQuery(q, schemas, lists, { personKey: true, rows: true });
  const plan = join.plan as RowPlan;
  const seen = new Set<string>();
  for (const c of plan.rows) {
    if (seen.has(c.name)) err(`two columns are named '${c.name}': give them different aliases (AS …)`);
    seen.add(c.name);
  }
  return { sql, join, plan, columns: plan.rows, codeLists: lists };
}

/** The analysis table at one party: `valid` (0/1) and one share per column (encoded as RowColumn). */
export interface AnalysisTable {
  n: number;
  valid: AShare;
  /** Every row is in the table (one register, no WHERE, no restriction: public): valid is all ones. */
  allValid: boolean;
  columns: Map<string, AShare>;
  meta: RowColumn[];
}

const bucketKey = (v: Extract<RowValue, { op: 'bucket' }>) => `${v.column}|${v.thresholds.join(',')}|${v.base}|${v.sign}|${v.step ?? 1}`;

/** Runs an analysis plan: the join, then every column. `tables`: alias → column → this party's share. */
export async function runAnalysis(p: Party, ap: AnalysisPlan, tables: Map<string, Map<string, AShare>>, opts: JoinRunOptions = {}): Promise<AnalysisTable> {
  const virtual = await joinedRows(p, ap.join, tables, opts);
  const plan = ap.plan;
  const n = virtual.get('__row')!.length;
  const filter = plan.filter ?? { kind: 'const', value: true } as BoolExpr<number>;
  const evaluated = await rowConditions(p, plan, virtual, n, [filter, ...plan.conds]);
  const valid = evaluated[0]!;
  const conds = evaluated.slice(1);
  const specOf = (c: string) => plan.dataset.columns.find((s) => s.name === c)!;
  // Buckets (age): one call per (column, thresholds).
  const bucketMemo = new Map<string, AShare>();
  const todo: Extract<RowValue, { op: 'bucket' }>[] = [];
  const collect = (v: RowValue): void => {
    if (v.op === 'bucket') todo.push(v);
    else if (v.op === 'least' || v.op === 'greatest' || v.op === 'coalesce') v.args.forEach(collect);
    else if (v.op === 'minus') (collect(v.a), collect(v.b));
  };
  plan.rows.forEach((c) => collect(c.value));
  for (const v of todo) {
    const key = bucketKey(v);
    if (bucketMemo.has(key)) continue;
    const idx = await bucketIndex(p, virtual.get(v.column)!, v.thresholds, valueBits(specOf(v.column), plan.codeLists));
    bucketMemo.set(key, addPublic(p, mulPublic(idx, BigInt(v.sign * (v.step ?? 1))), BigInt(v.base)));
  }
  const konst = (c: bigint) => fromPublic(p, R.constant(n, BigInt.asUintN(64, c)));
  const ev = async (v: RowValue): Promise<AShare> => {
    switch (v.op) {
      case 'column': return virtual.get(v.column)!;
      case 'literal': return konst(v.value);
      case 'cond': return conds[v.cond]!;
      case 'bucket': return bucketMemo.get(bucketKey(v))!;
      case 'minus': return sub(await ev(v.a), await ev(v.b));
      default: return extreme(p, v, ev, virtual, n);
    }
  };
  const columns = new Map<string, AShare>();
  for (const c of plan.rows) columns.set(c.name, await ev(c.value));
  const allValid = ap.join.tables.length === 1 && !ap.join.tables[0]!.filter && !ap.join.tables[0]!.window && !opts.restrict && !plan.filter;
  return { n, valid, columns, meta: plan.rows, allValid };
}

/**
 * LEAST/GREATEST/COALESCE over shared values: a missing LEFT JOINed value becomes +BIG (LEAST) or
 * −BIG (GREATEST) first (one product with its match flag), then a tree of lt + select. COALESCE
 * picks from the last argument backwards: v = has ? x : rest. Reveals nothing.
 */
async function extreme(p: Party, v: Extract<RowValue, { op: 'least' | 'greatest' | 'coalesce' }>, ev: (v: RowValue) => Promise<AShare>, virtual: Map<string, AShare>, n: number): Promise<AShare> {
  const BIG = 1n << BigInt(v.bits - 2);
  const vals: AShare[] = [];
  const flags: (AShare | null)[] = [];
  for (const a of v.args) {
    vals.push(await ev(a));
    flags.push(a.op === 'column' && a.nullable ? virtual.get(a.nullable)! : null);
  }
  if (v.op === 'coalesce') {
    let acc = vals[vals.length - 1]!;
    for (let k = vals.length - 2; k >= 0; k--) {
      const h = flags[k];
      acc = h ? add(acc, await mul(p, h, sub(vals[k]!, acc))) : vals[k]!;
    }
    return acc;
  }
  const fill = v.op === 'least' ? BIG : -BIG;
  // Missing → fill: x + (1 − h)·(fill − x).
  const filled: AShare[] = [];
  for (let k = 0; k < vals.length; k++) {
    const h = flags[k];
    filled.push(h ? add(vals[k]!, await mul(p, subFromPublic(p, 1n, h), subFromPublic(p, fill, vals[k]!))) : vals[k]!);
  }
  let level = filled;
  while (level.length > 1) {
    const next: AShare[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const [a, b] = [level[i]!, level[i + 1]!];
      // least: b + [a < b]·(a − b); greatest: b + [b < a]·(a − b)
      const c = v.op === 'least' ? await lt(p, a, b, { bits: v.bits }) : await lt(p, b, a, { bits: v.bits });
      const ci = await bitInject(p, c);
      next.push(add(b, await mul(p, ci, sub(a, b))));
    }
    if (level.length % 2) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}
