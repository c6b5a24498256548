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
import { valueBits } from '../ingest/schema.js';
import { rowConditions } from './execute.js';
import { joinedRows, type JoinRunOptions } from './join-execute.js';
import type { BoolExpr } from './plan.js';
import type { AnalysisPlan } from './analysis-plan.js';
import type { RowColumn, RowValue } from './row-plan.js';

export { levelsOf, planRowQuery, type RowColumn, type RowPlan, type RowType, type RowValue } from './row-plan.js';
export { planAnalysis, type AnalysisPlan } from './analysis-plan.js';

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
  // One row per FROM row where the join allows (JoinRunOptions.fromRows): the columns below, and the
  // statistics' every iteration, then run over those rows only, not over every joined row.
  const virtual = await joinedRows(p, ap.join, tables, { ...opts, fromRows: true });
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
