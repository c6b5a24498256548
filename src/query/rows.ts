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
import { type CodeList, type ColumnSpec, type DatasetSchema, parseDate, valueBits } from '../ingest/schema.js';
import { rowConditions } from './execute.js';
import { joinedRows, type JoinRunOptions } from './join-execute.js';
import { HAS, type JoinPlan, planJoinQuery } from './join-plan.js';
import { type Expr, parseQuery, type ParsedQuery, QueryError, show } from './parse.js';
import { type BoolExpr, Builder, FRAC, planQuery, type QueryPlan, simplify as simplifyFilter, yearsBefore } from './plan.js';

export type RowType = 'int' | 'decimal' | 'date' | 'bool' | 'code';

/** How a column of the analysis table is computed from the joined rows. */
export type RowValue =
  | { op: 'column'; column: string; nullable: string | null }
  | { op: 'literal'; value: bigint }
  | { op: 'cond'; cond: number }
  /** base + sign·step·#{k : column ≥ thresholds_k} (step 1 unless given) */
  | { op: 'bucket'; column: string; thresholds: bigint[]; base: number; sign: 1 | -1; step?: number }
  /** bits: every argument (and the fill of a missing one, ±2^(bits−2)) is a signed bits-bit value. */
  | { op: 'least' | 'greatest' | 'coalesce'; args: RowValue[]; bits: number }
  | { op: 'minus'; a: RowValue; b: RowValue };

export interface RowColumn {
  /** The SELECT item's alias, or its SQL text. */
  name: string;
  text: string;
  type: RowType;
  /** Bounds of the ENCODED value (decimals ·2^FRAC, dates in days, codes as index, bools 0/1). */
  min: number;
  max: number;
  /** Code columns: the code list (its codes are the factor's levels, in order). */
  codeList?: string;
  value: RowValue;
}

/** A QueryPlan over the joined rows (filter = the table's rows) plus the columns of the table. */
export interface RowPlan extends QueryPlan {
  rows: RowColumn[];
  /** Conditions the columns read (RowValue cond indexes this). */
  conds: BoolExpr<number>[];
}

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

function hasAgg(e: Expr): boolean {
  switch (e.kind) {
    case 'agg': return true;
    case 'cmp': case 'and': case 'or': return hasAgg(e.left) || hasAgg(e.right);
    case 'not': return hasAgg(e.arg);
    case 'call': return e.args.some(hasAgg);
    default: return false;
  }
}

/**
 * The plan over the joined rows of an analysis table (join-plan.ts calls it with the virtual
 * register): WHERE as the filter, and the SELECT items as RowColumns. `nullable`: aliases of LEFT
 * JOINed tables (their columns may be missing; `alias.__has` says where they are not).
 */
export function planRowQuery(q: ParsedQuery, dataset: DatasetSchema, codeLists: Map<string, CodeList>, nullable: Set<string>): RowPlan {
  // The filter (and the atoms' bookkeeping) from an aggregate plan of the same WHERE.
  const base = planQuery({ ...q, select: [{ expr: { kind: 'agg', fn: 'count', arg: null, text: 'count(*)' }, alias: null }], groupBy: [], having: null, orderBy: [], limit: null }, dataset, codeLists);
  const b = new Builder(dataset, codeLists);
  // Re-plan the filter in the same builder so that atoms are shared with the columns' conditions.
  const filter = q.where ? b.predicate(q.where) : null;
  const conds: BoolExpr<number>[] = [];
  const spec = (name: string): ColumnSpec => b.spec(name);
  const aliasOf = (col: string) => (col.includes('.') ? col.slice(0, col.indexOf('.')) : '');
  const hasCol = (alias: string) => `${alias}.${HAS}`;
  const bounds = (s: ColumnSpec): [number, number] => {
    const [lo, hi] = b.bounds(s);
    if (lo === null || hi === null) return err(`column '${s.name}' has no declared min and max: an analysis table needs bounded columns (clamp it with LEAST/GREATEST)`);
    return [Number(lo), Number(hi)];
  };
  type V = { type: RowType; min: number; max: number; value: RowValue; codeList?: string; nullable: boolean };
  const value = (e: Expr, inside: string | null): V => {
    if (e.kind === 'column') {
      const s = spec(e.name);
      if (s.type === 'person_id') err(`${e.name} is a person identifier: it cannot be a column of an analysis table (persons are linked inside MPC)`);
      const a = aliasOf(e.name);
      const isNull = nullable.has(a);
      if (isNull && inside === null) err(`${e.name} is a column of a LEFT JOINed table and may be missing (NULL): use it inside LEAST/GREATEST/COALESCE, or test ${a}.person_id IS NOT NULL`);
      b.use(s.name);
      const [min, max] = bounds(s);
      return { type: s.type as RowType, min, max, value: { op: 'column', column: s.name, nullable: isNull ? hasCol(a) : null }, ...(s.codeList ? { codeList: s.codeList } : {}), nullable: isNull };
    }
    if (e.kind === 'string' || e.kind === 'number') return err(`${show(e)}: a literal alone is not a column`);
    if (e.kind === 'call' && (e.name === 'age' || e.name === 'age_band')) {
      const band = e.name === 'age_band';
      const nums = e.args.slice(2);
      if (e.args.length < 2 || e.args[0]!.kind !== 'column' || e.args[1]!.kind !== 'string' || (band ? nums.length > 2 || nums.some((x) => x.kind !== 'number') : nums.length > 0)) err(`${show(e)}: ${band ? "age_band(birth_date, 'YYYY-MM-DD'[, width[, top]])" : "age(birth_date, 'YYYY-MM-DD')"}`);
      const s = spec((e.args[0] as { name: string }).name);
      if (s.type !== 'date') err(`${show(e)}: ${s.name} is ${s.type}, not a date`);
      if (nullable.has(aliasOf(s.name))) err(`${show(e)}: ${s.name} may be missing (LEFT JOIN)`);
      const ref = parseDate((e.args[1] as { value: string }).value) ?? err(`${show(e)}: not a date`);
      b.use(s.name);
      const [bmin, bmax] = bounds(s);
      // age ≥ a ⇔ birth < yearsBefore(ref, a) + 1 =: T_a (T_a falls with a).
      const ageOf = (birth: number) => {
        let a = 0;
        while (birth < yearsBefore(ref, a + 1) + 1) a++;
        while (birth >= yearsBefore(ref, a) + 1) a--;
        return a;
      };
      const aMin = ageOf(bmax), aMax = ageOf(bmin);
      if (band) {
        // age_band: the lower bound of the age's band of `width` years, 0 below 0, `top` at and above it
        // (src/query/plaintext.ts defines it the same): width·#{k ∈ 1..top/width : age ≥ k·width}.
        const w = nums[0] ? (nums[0] as { value: number }).value : 10, top = nums[1] ? (nums[1] as { value: number }).value : 90;
        if (!Number.isInteger(w) || w < 1 || !Number.isInteger(top) || top < w || top % w) err(`${show(e)}: width and top must be positive integers, top a multiple of width`);
        const K = top / w;
        const bandOf = (a: number) => (a < 0 ? 0 : Math.min(top, Math.floor(a / w) * w));
        // age ≥ k·w ⇔ birth < yearsBefore(ref, k·w) + 1 =: T_k (T_k falls with k): band = top − w·#{k : birth ≥ T_k}.
        const th: bigint[] = [];
        for (let k = K; k >= 1; k--) th.push(BigInt(yearsBefore(ref, k * w) + 1));
        return { type: 'int', min: bandOf(aMin), max: bandOf(aMax), value: { op: 'bucket', column: s.name, thresholds: th, base: top, sign: -1, step: w }, nullable: false };
      }
      // age = aMax − #{a ∈ (aMin, aMax] : birth ≥ T_a}
      const th: bigint[] = [];
      for (let a = aMax; a > aMin; a--) th.push(BigInt(yearsBefore(ref, a) + 1));
      return { type: 'int', min: aMin, max: aMax, value: { op: 'bucket', column: s.name, thresholds: th, base: aMax, sign: -1 }, nullable: false };
    }
    if (e.kind === 'call' && (e.name === 'least' || e.name === 'greatest' || e.name === 'coalesce')) {
      if (e.args.length < 2) err(`${show(e)} needs at least two arguments`);
      const cols = e.args.filter((x) => x.kind !== 'string' && x.kind !== 'number').map((x) => value(x, e.name));
      if (cols.length === 0) err(`${show(e)}: at least one argument must be a column`);
      const t = cols[0]!.type;
      if (t !== 'date' && t !== 'int' && t !== 'decimal') err(`${show(e)}: arguments must be dates or numbers`);
      for (const c of cols) if (c.type !== t) err(`${show(e)}: arguments must have one type (${t} and ${c.type})`);
      const scale = t === 'decimal' ? 2 ** FRAC : 1;
      const lits = e.args.filter((x) => x.kind === 'string' || x.kind === 'number').map((x): V => {
        let v: number;
        if (t === 'date') {
          if (x.kind !== 'string') return err(`${show(e)}: ${show(x)} is not a date literal`);
          v = parseDate(x.value) ?? err(`${show(e)}: ${x.value} is not a date`);
        } else {
          if (x.kind !== 'number') return err(`${show(e)}: ${show(x)} is not a number`);
          v = Math.round(x.value * scale);
        }
        return { type: t, min: v, max: v, value: { op: 'literal', value: BigInt(v) }, nullable: false };
      });
      // Keep the SQL order for COALESCE (first present wins); LEAST/GREATEST are symmetric.
      const args = e.name === 'coalesce' ? e.args.map((x) => (x.kind === 'string' || x.kind === 'number' ? lits.shift()! : cols.shift()!)) : [...cols, ...lits];
      if (args.every((a) => a.nullable)) err(`${show(e)}: every argument may be missing; add a literal (e.g. the end of follow-up) or a column that is always present`);
      if (e.name === 'coalesce') {
        const firstSure = args.findIndex((a) => !a.nullable);
        const used = args.slice(0, firstSure + 1);
        return { type: t, min: Math.min(...used.map((a) => a.min)), max: Math.max(...used.map((a) => a.max)), value: { op: 'coalesce', args: used.map((a) => a.value), bits: 0 }, nullable: false };
      }
      const sure = args.filter((a) => !a.nullable);
      const min = e.name === 'least' ? Math.min(...args.map((a) => a.min)) : Math.max(...sure.map((a) => a.min));
      const max = e.name === 'least' ? Math.min(...sure.map((a) => a.max)) : Math.max(...args.map((a) => a.max));
      const maxAbs = Math.max(...args.map((a) => Math.max(Math.abs(a.min), Math.abs(a.max))));
      const bits = Math.ceil(Math.log2(maxAbs + 1)) + 3;
      if (bits > 62) err(`${show(e)}: values too wide to compare`);
      return { type: t, min, max, value: { op: e.name, args: args.map((a) => a.value), bits }, nullable: false };
    }
    if (e.kind === 'call' && e.name === 'minus') {
      const [x, y] = e.args as [Expr, Expr];
      const A = value(x, null);
      const B = y.kind === 'string' ? ((): V => {
        const d = parseDate(y.value) ?? err(`${show(e)}: '${y.value}' is not a date`);
        return { type: 'date', min: d, max: d, value: { op: 'literal', value: BigInt(d) }, nullable: false };
      })() : value(y, null);
      if (A.type !== 'date' || B.type !== 'date') err(`${show(e)}: only differences of dates (in days) are supported`);
      return { type: 'int', min: A.min - B.max, max: A.max - B.min, value: { op: 'minus', a: A.value, b: B.value }, nullable: false };
    }
    if (['cmp', 'and', 'or', 'not', 'in', 'between', 'like', 'bool'].includes(e.kind)) {
      const c = conds.push(b.predicate(e)) - 1;
      return { type: 'bool', min: 0, max: 1, value: { op: 'cond', cond: c }, nullable: false };
    }
    if (e.kind === 'call') return err(`${show(e)}: not supported in an analysis table (columns, conditions, EXISTS, age(), LEAST/GREATEST/COALESCE and date differences are)`);
    return err(`${show(e)}: not supported in an analysis table`);
  };
  const rows: RowColumn[] = q.select.map((s) => {
    const v = value(s.expr, null);
    const text = show(s.expr);
    const name = s.alias ?? (s.expr.kind === 'column' ? s.expr.name.slice(s.expr.name.indexOf('.') + 1) : text);
    return { name, text, type: v.type, min: v.min, max: v.max, value: v.value, ...(v.codeList ? { codeList: v.codeList } : {}) };
  });
  if (rows.length === 0) err('an analysis table needs at least one column');
  // Columns read: the builder's (filter, conditions, values) plus the base plan's.
  const columns = [...new Set([...base.columns, ...b.used])];
  return { ...base, columns, atoms: b.atoms, filter: filter ? simplifyFilter(filter) : null, rows, conds };
}

// ---------------------------------------------------------------------------------------------
// Execution

/** The analysis table at one party: `valid` (0/1) and one share per column (encoded as RowColumn). */
export interface AnalysisTable {
  n: number;
  valid: AShare;
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
  return { n, valid, columns, meta: plan.rows };
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

/** Plaintext (for tests and references): the analysis table's column types for R (factor levels). */
export function levelsOf(c: RowColumn, codeLists: Map<string, CodeList>): string[] | null {
  if (c.type !== 'code') return null;
  return codeLists.get(c.codeList ?? '')?.codes.slice() ?? null;
}
