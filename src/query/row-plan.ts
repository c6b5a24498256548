// The plan of an analysis table's rows (src/query/rows.ts): the SELECT items as typed, bounded
// columns computed from the joined rows, and WHERE as the filter. Plaintext planning over public
// schemas (join-plan.ts calls planRowQuery for the virtual register of the join); reveals nothing.
import { type CodeList, type ColumnSpec, type DatasetSchema, parseDate } from '../ingest/schema.js';
import { type Expr, type ParsedQuery, QueryError, show } from './parse.js';
import { type BoolExpr, Builder, FRAC, planQuery, type QueryPlan, simplify as simplifyFilter, yearsBefore } from './plan.js';

/** `ROW` marks rows of a join's result; `alias.__has` marks rows with a match in a LEFT JOINed table (join-plan.ts). */
export const ROW = '__row';
export const HAS = '__has';

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
  /** The values are min + k·step only (age_band's bands of `step` years); absent: every integer in [min, max]. */
  step?: number;
  value: RowValue;
}

/** A QueryPlan over the joined rows (filter = the table's rows) plus the columns of the table. */
export interface RowPlan extends QueryPlan {
  rows: RowColumn[];
  /** Conditions the columns read (RowValue cond indexes this). */
  conds: BoolExpr<number>[];
}

const err = (m: string): never => {
  throw new QueryError(m);
};

export function hasAgg(e: Expr): boolean {
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
  type V = { type: RowType; min: number; max: number; value: RowValue; codeList?: string; step?: number; nullable: boolean };
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
        return { type: 'int', min: bandOf(aMin), max: bandOf(aMax), ...(w > 1 ? { step: w } : {}), value: { op: 'bucket', column: s.name, thresholds: th, base: top, sign: -1, step: w }, nullable: false };
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
    return { name, text, type: v.type, min: v.min, max: v.max, value: v.value, ...(v.codeList ? { codeList: v.codeList } : {}), ...(v.step ? { step: v.step } : {}) };
  });
  if (rows.length === 0) err('an analysis table needs at least one column');
  // Columns read: the builder's (filter, conditions, values) plus the base plan's.
  const columns = [...new Set([...base.columns, ...b.used])];
  // The atoms (and the values they compare: columns compared, arithmetic) are this builder's.
  return { ...base, columns, atoms: b.atoms, computed: b.computed, filter: filter ? simplifyFilter(filter) : null, rows, conds };
}

// ---------------------------------------------------------------------------------------------
// Execution

/** Plaintext (for tests and references): the analysis table's column types for R (factor levels). */
export function levelsOf(c: RowColumn, codeLists: Map<string, CodeList>): string[] | null {
  if (c.type !== 'code') return null;
  return codeLists.get(c.codeList ?? '')?.codes.slice() ?? null;
}
