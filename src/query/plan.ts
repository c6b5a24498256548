// Logical plan for a query over ONE register: the parsed SQL (parse.ts) checked against the
// dataset's public schema and code lists, with every literal encoded the way the column is stored
// (schema.ts) so that execution needs no strings and no per-row plaintext. Printable with
// explainPlan() for users (an EXPLAIN).
//
// Predicates are normalised to two kinds of comparison atoms on one shared column against a public
// constant: [x < v] and [x = v]. Everything else is built from them with free XORs where the atoms
// are monotone or mutually exclusive:
//   x >= v          NOT [x < v]
//   lo <= x <= hi   [x < hi+1] XOR [x < lo]          (BETWEEN, LIKE 'E11%' as an index range)
//   x IN (a, b, c)  [x = a] XOR [x = b] XOR [x = c]  (runs of ≥ 3 consecutive values become ranges)
//   age(b, ref) ≥ a [b < t_a + 1], t_a = ref minus a calendar years (Feb 29 → Feb 28)
// GROUP BY keys are lists of public values, each with an indicator built from the same atoms;
// cells are the cartesian product of the keys.
// SUM, AVG, VARIANCE and STDDEV also take a clamped column, LEAST(GREATEST(x, lo), hi) in any
// nesting and order (one or both sides; literal bounds): a Clamp, computed per row inside MPC by
// execute.ts (two comparisons and a multiplication) and named by its SQL text. Its bounds bound
// what one row adds to a sum (src/query/dp.ts).
import {
  type CodeList, type ColumnSpec, type DatasetSchema, DECIMAL_FRAC_BITS, decodeValue, formatDate, parseDate, prefixRange, valueBits,
} from '../ingest/schema.js';
import { type AggName, type CmpOp, type Expr, parseQuery, type ParsedQuery, QueryError, show } from './parse.js';

export { QueryError };

/** Fixed-point fractional bits of AVG/VARIANCE/STDDEV results and of decimal columns. */
export const FRAC = DECIMAL_FRAC_BITS;
/** Largest number of cells (product of the GROUP BY keys' value counts) with one indicator per cell. */
export const MAX_CELLS = 1024;
/** From this many cells on, groups are formed by an oblivious sort on the cell number instead (execute.ts). */
export const SORT_CELLS_FROM = 256;
/** Largest number of cells of the sort-based grouping (e.g. 98 municipalities × 20 age bands × 2 sexes). */
export const MAX_SORTED_CELLS = 1 << 16;
/** Largest number of values of one GROUP BY key. */
export const MAX_GROUP_VALUES = 256;
/** VARIANCE/STDDEV need |x| < 2^VAR_VALUE_BITS (real units) so that x² stays in fixed-point range. */
export const VAR_VALUE_BITS = 15;
/** …and Σx² over a cell < 2^VAR_SUMSQ_BITS (checked against the table size at run time). */
export const VAR_SUMSQ_BITS = 46;
/**
 * Wider int columns (income: up to 2^(VAR_WIDE_BITS + FRAC)) are scaled for VARIANCE/STDDEV to
 * x/2^k with |x/2^k| < 2^VAR_WIDE_BITS (exact in FRAC fractional bits, since k ≤ FRAC), so that
 * Σ(x/2^k)² fits for tables of up to 2^(VAR_SUMSQ_BITS − 2·VAR_WIDE_BITS) = 2^24 rows; the
 * variance is released in those units (agg.scale says so) and decoded as 4^k times it.
 */
export const VAR_WIDE_BITS = 11;

/** k of the scaling x/2^k for VARIANCE/STDDEV of a value (0: none; see VAR_WIDE_BITS). */
export function varianceShift(s: Pick<ColumnSpec, 'type' | 'min' | 'max'>): number {
  if (s.type !== 'int' || typeof s.min !== 'number' || typeof s.max !== 'number') return 0;
  const m = Math.max(Math.abs(s.min), Math.abs(s.max));
  return m < 2 ** VAR_VALUE_BITS ? 0 : Math.ceil(Math.log2(m + 1)) - VAR_WIDE_BITS;
}

/** [x − value < 0] (lt) or [x − value = 0] (eq) for a shared column x and public value. */
export interface Atom {
  op: 'lt' | 'eq';
  /** A dataset column, or a Computed value's name (plan.computed). */
  column: string;
  value: bigint;
  /** Signed width that holds x − value (for a direct lt/eq; execution compares x's own bits, see execute.ts). */
  bits: number;
  /** For a Computed value: the columns it reads (what a policy checks). */
  sources?: string[];
}

/**
 * A value computed per row inside MPC from columns (issue 17): + − × between columns and numbers,
 * in one register or across joined ones: c.admission_date − p.birth_date (days), r.amount * 2,
 * c.length_of_stay − i.income_quintile, and two columns compared (a + 30 <= b is [a − b < −29]).
 * Sums, differences and products with whole numbers are local; a product of two columns is one
 * multiplication round; a product with a fractional result (decimal × decimal, × 0.5) is truncated
 * to FRAC fractional bits (fixed.ts truncRound: two rounds, error at most 2^−16 per product, mean
 * about 0). Ranges follow from the declared min and max by interval arithmetic (ints, decimals
 * ·2^FRAC and dates in days are exact integers): a product needs both factors bounded and every
 * intermediate value within ±2^62 (refused otherwise); a sum of unbounded columns wraps mod 2^64,
 * like SUM. Reveals nothing: no value leaves MPC.
 */
export type Arith =
  | { op: 'col'; column: string }
  | { op: 'const'; value: bigint }
  | { op: 'add' | 'sub'; a: Arith; b: Arith }
  /** (a·b) / 2^shift: shift = FRAC for a product of two fixed-point values, else 0 (exact). */
  | { op: 'mul'; a: Arith; b: Arith; shift: number };

export interface Computed {
  /** Its SQL text (for two columns compared: (a − b)); atoms and aggregates read it by this name. */
  name: string;
  expr: Arith;
  /** Its type and range (real units; a difference of two compared columns: int in encoded units). */
  spec: ColumnSpec;
  /** The dataset columns it reads (what a policy checks). */
  sources: string[];
}

/** A numeric expression's value with its type and encoded bounds (null: unbounded). */
interface Num {
  expr: Arith;
  type: 'int' | 'decimal' | 'date';
  lo: bigint | null;
  hi: bigint | null;
  sources: string[];
}

/** Whether an expression is arithmetic (a Computed value), not a column, literal or condition. */
export const isArithmetic = (e: Expr): boolean => e.kind === 'arith' || e.kind === 'shift' || (e.kind === 'call' && e.name === 'minus');

/** A boolean formula over leaves (atom indices, or HAVING atoms). */
export type BoolExpr<L> =
  | { kind: 'leaf'; leaf: L }
  | { kind: 'const'; value: boolean }
  | { kind: 'not'; arg: BoolExpr<L> }
  | { kind: 'and' | 'or' | 'xor'; args: BoolExpr<L>[] };

export type Display = string | number | boolean;

export interface GroupKey {
  /** Output name (alias or SQL text). */
  name: string;
  /** SQL text (for EXPLAIN and matching). */
  text: string;
  column: string;
  source: 'column' | 'age_band';
  /** Public values of the key, in output order. */
  labels: Display[];
  /** Indicator of each value as a formula over plan.atoms. */
  indicators: BoolExpr<number>[];
  /**
   * The value's position as arithmetic (for grouping by sort): the column minus an offset, or the
   * number of threshold formulas that hold (age bands: [age ≥ w] + [age ≥ 2w] + …).
   */
  index: { offset: bigint } | { thresholds: BoolExpr<number>[] };
}

export type ResultType = 'count' | 'int' | 'fixed' | 'value';

export interface AggSpec {
  fn: AggName;
  /** null for COUNT(*); the dataset column read (also under a clamp: what a policy checks). */
  column: string | null;
  /** The Clamp (plan.clamps, by name) the aggregate reads instead of the raw column. */
  clamp?: string;
  /** The Computed value (plan.computed, by name) it reads: SUM(a.x − b.y); column is then its first source. */
  computed?: string;
  /** Every dataset column it reads, when more than `column` (arithmetic: what a policy checks). */
  sources?: string[];
  text: string;
  /** How the revealed ring value is decoded: count/int as integers, fixed with FRAC bits, value as the column. */
  result: ResultType;
  /** Scale of the revealed ring value relative to its real value (1 or 2^FRAC; a scaled variance: 2^FRAC/4^k, see VAR_WIDE_BITS). */
  scale: number;
  /**
   * COUNT(DISTINCT <the person id>): counts persons, the privacy unit (one person adds at most 1 to
   * a cell: dp.ts), and drives the small-cell rule instead of COUNT(*) (execute.ts).
   */
  persons?: boolean;
}

/** [agg − value < 0] or [= 0] on the aggregate's ring encoding. */
export interface HavingAtom {
  agg: number;
  op: 'lt' | 'eq';
  value: bigint;
}

export type Output = { name: string; kind: 'key'; key: number } | { name: string; kind: 'agg'; agg: number };

/** A column clamped to [lo, hi] inside an aggregate: min(max(x, lo), hi), as LEAST/GREATEST. */
export interface Clamp {
  /** The clamped value's name, its SQL text (e.g. least(greatest(income, 0), 2000000)); AggSpec.clamp. */
  name: string;
  /** The dataset column clamped. */
  column: string;
  /** Bounds in the column's encoding (decimals scaled by 2^FRAC), lo ≤ hi; null: that side is open. */
  lo: bigint | null;
  hi: bigint | null;
  /** The clamped value as a column: the source's type, min and max narrowed to the clamp. */
  spec: ColumnSpec;
}

export interface QueryPlan {
  sql: string;
  dataset: DatasetSchema;
  codeLists: Map<string, CodeList>;
  /** Columns the execution reads (shares needed). */
  columns: string[];
  atoms: Atom[];
  filter: BoolExpr<number> | null;
  filterText: string | null;
  keys: GroupKey[];
  aggregates: AggSpec[];
  /** Clamped columns the aggregates read (computed per row before the aggregates). */
  clamps: Clamp[];
  /** Values computed per row (arithmetic in comparisons and aggregates), before anything else. */
  computed: Computed[];
  outputs: Output[];
  having: BoolExpr<HavingAtom> | null;
  havingText: string | null;
  orderBy: { output: number; desc: boolean }[];
  limit: number | null;
}

const err = (m: string): never => {
  throw new QueryError(m);
};

/** Parses and plans in one step. */
export function planSql(sql: string, dataset: DatasetSchema, codeLists: Map<string, CodeList>): QueryPlan {
  return planQuery(parseQuery(sql), dataset, codeLists);
}

/** Checks a parsed query against the schema and builds its plan. Throws QueryError. */
export function planQuery(q: ParsedQuery, dataset: DatasetSchema, codeLists: Map<string, CodeList>): QueryPlan {
  if (q.joins.length) err('unsupported SQL: JOIN in a query over one register (joins across registers are planned by planJoinQuery, join-plan.ts)');
  if (q.table !== dataset.name) err(`unknown table '${q.table}' (this register is '${dataset.name}')`);
  for (const c of dataset.columns) {
    if (c.type === 'code' && !codeLists.has(c.codeList ?? '')) err(`column '${c.name}': code list '${c.codeList}' is not known to this node`);
  }
  const b = new Builder(dataset, codeLists);
  // WHERE first: a group key's cells are planned from what the filter leaves of its column
  // (GROUP BY diagnosis … WHERE diagnosis LIKE 'E11%' has the E11 codes as its cells).
  const filter = q.where ? b.predicate(q.where) : null;

  // SELECT DISTINCT a, b: GROUP BY a, b whose cells (those at or above the small-cell threshold) are the output.
  if (q.distinct) {
    if (q.groupBy.length || q.select.some((s) => containsAgg(s.expr))) err('SELECT DISTINCT with GROUP BY or aggregates: write GROUP BY alone (its rows are already distinct)');
    q = { ...q, groupBy: q.select.map((s) => s.expr) };
  }
  // SELECT items: group keys (columns / age_band) or aggregates.
  const aliases = new Map<string, Expr>();
  for (const s of q.select) if (s.alias) aliases.set(s.alias, s.expr);
  const keyOf = new Map<string, number>(); // show(expr) → key index
  const keys: GroupKey[] = [];
  for (const g0 of q.groupBy) {
    let g = g0;
    if (g.kind === 'number') {
      const i = g.value;
      if (!Number.isInteger(i) || i < 1 || i > q.select.length) err(`GROUP BY ${g.text}: there is no output column ${g.text}`);
      g = q.select[i - 1]!.expr;
    } else if (g.kind === 'column' && !b.spec(g.name, false) && aliases.has(g.name)) g = aliases.get(g.name)!;
    const text = show(g);
    if (keyOf.has(text)) continue;
    const alias = q.select.find((s) => s.alias && show(s.expr) === text)?.alias ?? null;
    keyOf.set(text, keys.length);
    keys.push(b.groupKey(g, alias ?? (g.kind === 'column' ? g.name : text), filter ? simplify(filter) : null));
  }
  const cells = keys.reduce((m, k) => m * k.labels.length, 1);
  if (cells > MAX_SORTED_CELLS) err(`GROUP BY makes ${cells} cells; at most ${MAX_SORTED_CELLS} are allowed`);

  const outputs: Output[] = [];
  for (const s of q.select) {
    const e = s.expr;
    if (e.kind === 'agg') {
      outputs.push({ name: s.alias ?? e.text, kind: 'agg', agg: b.aggregate(e) });
      continue;
    }
    const k = keyOf.get(show(e));
    if (k === undefined) {
      if (containsAgg(e)) err(`${show(e)}: expressions over aggregates are not supported in SELECT`);
      if (e.kind === 'column') b.spec(e.name); // unknown column error first
      err(`${show(e)} must appear in GROUP BY or be inside an aggregate`);
    }
    outputs.push({ name: s.alias ?? keys[k!]!.name, kind: 'key', key: k! });
  }
  if (!q.distinct && !outputs.some((o) => o.kind === 'agg')) err('SELECT needs at least one aggregate (only aggregates are revealed), or SELECT DISTINCT');
  // COUNT(*) always runs: it drives small-cell suppression.
  b.aggregate({ kind: 'agg', fn: 'count', arg: null, text: 'count(*)' });
  const minMax = b.aggs.find((a) => a.fn === 'min' || a.fn === 'max');
  if (minMax && b.aggs.some((a) => a.fn === 'count_distinct')) err(`${minMax.text} with COUNT(DISTINCT …): not in one query (distinct counts are formed by sorting, MIN/MAX by one indicator per cell)`);
  const pid = personColumn(dataset);
  for (const a of b.aggs) if (a.fn === 'count_distinct' && pid && a.column === pid.name) a.persons = true;
  if (cells >= SORT_CELLS_FROM && b.aggs.some((a) => a.fn === 'min' || a.fn === 'max')) err(`MIN/MAX over ${cells} cells: at most ${SORT_CELLS_FROM - 1} cells with MIN or MAX (more groups are formed by sorting, which computes counts, sums, means and variances)`);

  const having = q.having ? b.havingPred(q.having) : null;

  const orderBy = q.orderBy.map(({ expr, desc }) => {
    let idx = -1;
    if (expr.kind === 'number') {
      if (!Number.isInteger(expr.value) || expr.value < 1 || expr.value > outputs.length) err(`ORDER BY ${expr.text}: there is no output column ${expr.text}`);
      idx = expr.value - 1;
    } else {
      const text = show(expr);
      idx = outputs.findIndex((o) => o.name === text);
      if (idx < 0) idx = q.select.findIndex((s) => show(s.expr) === text);
      if (idx < 0) err(`ORDER BY ${text}: only output columns can be ordered by (results are sorted after reveal)`);
    }
    return { output: idx, desc };
  });

  return {
    sql: q.sql,
    dataset,
    codeLists,
    columns: [...b.used],
    atoms: b.atoms,
    filter: filter ? simplify(filter) : null,
    filterText: q.where ? show(q.where) : null,
    keys,
    aggregates: b.aggs,
    clamps: b.clamps,
    computed: b.computed,
    outputs,
    having: having ? simplify(having) : null,
    havingText: q.having ? show(q.having) : null,
    orderBy,
    limit: q.limit,
  };
}

/**
 * The test a value of `column` must pass by the top-level conjuncts of `filter` that read only
 * that column (a LIKE prefix, IN, =, BETWEEN, comparisons), or null when none does. Public: it
 * says which values the WHERE clause lets through, nothing about the data.
 */
export function columnTest(filter: BoolExpr<number>, atoms: readonly Atom[], column: string): ((v: bigint) => boolean) | null {
  const conjuncts = filter.kind === 'and' ? filter.args : [filter];
  const only = (e: BoolExpr<number>): boolean => (e.kind === 'leaf' ? atoms[e.leaf]!.column === column : e.kind === 'const' ? true : e.kind === 'not' ? only(e.arg) : e.args.every(only));
  const mine = conjuncts.filter((c) => c.kind !== 'const' && only(c));
  if (!mine.length) return null;
  const holds = (e: BoolExpr<number>, v: bigint): boolean => {
    switch (e.kind) {
      case 'leaf': {
        const a = atoms[e.leaf]!;
        return a.op === 'lt' ? v < a.value : v === a.value;
      }
      case 'const': return e.value;
      case 'not': return !holds(e.arg, v);
      case 'and': return e.args.every((x) => holds(x, v));
      case 'or': return e.args.some((x) => holds(x, v));
      case 'xor': return e.args.reduce((acc, x) => acc !== holds(x, v), false);
    }
  };
  return (v) => mine.every((c) => holds(c, v));
}

/**
 * The smallest and largest value in [lo, hi] of `column` that `filter` can let through
 * (columnTest, evaluated on each value: code lists and int ranges are at most a few thousand
 * values), or [lo, hi] if nothing constrains it. Empty: lo > hi.
 */
export function valuesLeft(filter: BoolExpr<number>, atoms: readonly Atom[], column: string, [lo, hi]: [bigint, bigint]): [bigint, bigint] {
  const test = columnTest(filter, atoms, column);
  if (!test || hi - lo > BigInt(4 * MAX_SORTED_CELLS)) return [lo, hi];
  let first = 0n, found = false, last = 0n;
  for (let v = lo; v <= hi; v++) {
    if (!test(v)) continue;
    if (!found) first = v;
    found = true;
    last = v;
  }
  return found ? [first, last] : [1n, 0n];
}

/**
 * Whether the WHERE clause alone excludes every row of a cell (one of its key values fails the
 * filter's test on that column: IN ('E10', 'E11') makes the codes between them such cells). Saying
 * so reveals nothing; a cell that is merely small or empty by the data is never told apart.
 */
export function emptyByFilter(plan: Pick<QueryPlan, 'filter' | 'atoms' | 'keys' | 'dataset' | 'codeLists'>, cell: Record<string, Display>): boolean {
  if (!plan.filter) return false;
  return plan.keys.some((k) => {
    if (k.source !== 'column' || !(k.name in cell)) return false;
    const test = columnTest(plan.filter!, plan.atoms, k.column);
    const i = k.labels.findIndex((l) => String(l) === String(cell[k.name]));
    return !!test && i >= 0 && 'offset' in k.index && !test(k.index.offset + BigInt(i));
  });
}

function containsAgg(e: Expr): boolean {
  switch (e.kind) {
    case 'agg':
      return true;
    case 'cmp':
    case 'and':
    case 'or':
    case 'arith':
      return containsAgg(e.left) || containsAgg(e.right);
    case 'not':
      return containsAgg(e.arg);
    case 'call':
      return e.args.some(containsAgg);
    default:
      return false;
  }
}

/** Constant folding; keeps the formula small. */
export function simplify<L>(e: BoolExpr<L>): BoolExpr<L> {
  switch (e.kind) {
    case 'leaf':
    case 'const':
      return e;
    case 'not': {
      const a = simplify(e.arg);
      if (a.kind === 'const') return { kind: 'const', value: !a.value };
      if (a.kind === 'not') return a.arg;
      return { kind: 'not', arg: a };
    }
    default: {
      const args = e.args.map(simplify);
      const rest: BoolExpr<L>[] = [];
      let flip = false;
      for (const a of args) {
        if (a.kind !== 'const') {
          rest.push(a);
          continue;
        }
        if (e.kind === 'and' && !a.value) return { kind: 'const', value: false };
        if (e.kind === 'or' && a.value) return { kind: 'const', value: true };
        if (e.kind === 'xor' && a.value) flip = !flip;
      }
      let out: BoolExpr<L>;
      if (rest.length === 0) out = { kind: 'const', value: e.kind === 'and' };
      else if (rest.length === 1) out = rest[0]!;
      else out = { kind: e.kind, args: rest };
      if (e.kind === 'xor' && rest.length === 0) out = { kind: 'const', value: false };
      return flip ? simplify({ kind: 'not', arg: out }) : out;
    }
  }
}

const leaf = (i: number): BoolExpr<number> => ({ kind: 'leaf', leaf: i });
const not = <L>(a: BoolExpr<L>): BoolExpr<L> => ({ kind: 'not', arg: a });
const K = (v: boolean): BoolExpr<never> => ({ kind: 'const', value: v });

/** A numeric view of something a predicate compares: a column's encoding, or age in years. */
interface Operand {
  text: string;
  /** Encoding scale relative to real numbers (1, or 2^FRAC for decimals). */
  scale: number;
  type: ColumnSpec['type'] | 'age';
  spec: ColumnSpec;
  /** [value < v], v an integer in the encoding. */
  lessThan(v: bigint): BoolExpr<number>;
  /** [value = v]. */
  equals(v: bigint): BoolExpr<number>;
}

const bitLen = (v: bigint): number => (v < 0n ? -v : v).toString(2).length;
const floorB = (x: number): bigint => BigInt(Math.floor(x));
const ceilB = (x: number): bigint => BigInt(Math.ceil(x));

/** Date a calendar years before ref (days since epoch); Feb 29 → Feb 28 in non-leap years. */
export function yearsBefore(refDays: number, a: number): number {
  const d = new Date(refDays * 86_400_000);
  const y = d.getUTCFullYear() - a, m = d.getUTCMonth(), day = d.getUTCDate();
  let t = Date.UTC(y, m, day);
  if (new Date(t).getUTCMonth() !== m) t = Date.UTC(y, m + 1, 0); // last day of month m
  return Math.round(t / 86_400_000);
}

export class Builder {
  readonly atoms: Atom[] = [];
  private readonly atomIndex = new Map<string, number>();
  readonly aggs: AggSpec[] = [];
  readonly clamps: Clamp[] = [];
  readonly computed: Computed[] = [];
  readonly used = new Set<string>();

  constructor(readonly dataset: DatasetSchema, readonly codeLists: Map<string, CodeList>) {}

  spec(name: string, must = true): ColumnSpec {
    const s = this.dataset.columns.find((c) => c.name === name);
    if (!s) {
      if (!must) return undefined as unknown as ColumnSpec;
      const known = this.dataset.columns.map((c) => c.name).join(', ');
      return err(`unknown column '${name}' in ${this.dataset.name} (columns: ${known})`);
    }
    return s;
  }

  use(name: string): ColumnSpec {
    const s = this.spec(name);
    this.used.add(name);
    return s;
  }

  /** Encoded inclusive bounds of a column, where the schema or the type gives them. */
  bounds(s: ColumnSpec): [bigint | null, bigint | null] {
    const scale = s.type === 'decimal' ? 2 ** FRAC : 1;
    const conv = (v: number | string | undefined, up: boolean): bigint | null => {
      if (v === undefined) return null;
      if (typeof v === 'string') {
        const d = parseDate(v);
        return d === null ? null : BigInt(d);
      }
      return up ? floorB(v * scale) : ceilB(v * scale);
    };
    switch (s.type) {
      case 'bool':
        return [0n, 1n];
      case 'code':
        return [0n, BigInt((this.codeLists.get(s.codeList ?? '')?.codes.length ?? 1) - 1)];
      case 'person_id':
        return [0n, 2n ** 34n - 1n];
      default:
        return [conv(s.min, false), conv(s.max, true)];
    }
  }

  private atom(op: 'lt' | 'eq', column: string, value: bigint): BoolExpr<number> {
    const d = this.computed.find((x) => x.name === column);
    const s = d ? d.spec : this.use(column);
    const [lo, hi] = this.bounds(s);
    // Constant results where the declared domain decides (values were validated at ingest).
    if (op === 'lt') {
      if (lo !== null && value <= lo) return K(false);
      if (hi !== null && value > hi) return K(true);
    } else if ((lo !== null && value < lo) || (hi !== null && value > hi)) return K(false);
    const bits = Math.min(64, Math.max(valueBits(s, this.codeLists), bitLen(value) + 1) + 1);
    const key = `${op}|${column}|${value}`;
    let i = this.atomIndex.get(key);
    if (i === undefined) {
      i = this.atoms.length;
      this.atoms.push({ op, column, value, bits, ...(d ? { sources: d.sources } : {}) });
      this.atomIndex.set(key, i);
    }
    return leaf(i);
  }

  operand(e: Expr): Operand {
    if (isArithmetic(e)) {
      const c = this.computedOf(e, show(e));
      const t = c.spec.type;
      return { text: c.name, scale: t === 'decimal' ? 2 ** FRAC : 1, type: t, spec: c.spec, lessThan: (v) => this.atom('lt', c.name, v), equals: (v) => this.atom('eq', c.name, v) };
    }
    if (e.kind === 'column') {
      const s = this.spec(e.name);
      if (s.type === 'person_id') err(`column '${s.name}' is a person identifier and cannot be used in a predicate or group`);
      return {
        text: e.name,
        scale: s.type === 'decimal' ? 2 ** FRAC : 1,
        type: s.type,
        spec: s,
        lessThan: (v) => this.atom('lt', s.name, v),
        equals: (v) => this.atom('eq', s.name, v),
      };
    }
    if (e.kind === 'call' && e.name === 'age') {
      const [col, ref] = this.ageArgs(e, 2, 2);
      const s = this.spec(col);
      // [age < a] = NOT [age ≥ a] = NOT [birth ≤ t_a] = NOT [birth < t_a + 1]
      const lessThan = (a: bigint): BoolExpr<number> => not(this.atom('lt', s.name, BigInt(yearsBefore(ref, Number(a)) + 1)));
      return { text: show(e), scale: 1, type: 'age', spec: s, lessThan, equals: (a) => ({ kind: 'xor', args: [lessThan(a + 1n), lessThan(a)] }) };
    }
    if (e.kind === 'call') return err(`${e.name}() can only be used in GROUP BY`);
    if (e.kind === 'agg') return err(`aggregate ${e.text} is not allowed in WHERE (use HAVING)`);
    return err(`expected a column, found ${show(e)}`);
  }

  /** (column, refDays) of age(col, ref) / age_band(col, ref, …); validates the arguments. */
  private ageArgs(e: Extract<Expr, { kind: 'call' }>, min: number, max: number): [string, number] {
    const a = e.args;
    if (a.length < min || a.length > max) err(`${e.name}() takes ${min === max ? min : `${min} to ${max}`} arguments: ${e.name}(birth_date, 'YYYY-MM-DD'${max > 2 ? ', width, top' : ''})`);
    if (a[0]!.kind !== 'column') err(`${e.name}(): the first argument must be a date column`);
    const s = this.spec((a[0] as { name: string }).name);
    if (s.type !== 'date') err(`${e.name}(): column '${s.name}' is ${s.type}, not a date`);
    const r = a[1]!;
    if (r.kind !== 'string') err(`${e.name}(): the reference date must be a literal 'YYYY-MM-DD'`);
    const ref = parseDate((r as { value: string }).value);
    if (ref === null) err(`${e.name}(): '${(r as { value: string }).value}' is not a date (YYYY-MM-DD)`);
    return [s.name, ref!];
  }

  /** Encodes a literal for an operand; returns the real value in the operand's units (before scale). */
  private literal(op: Operand, e: Expr, ctx: string): number {
    const t = op.type;
    if (t === 'date') {
      if (e.kind !== 'string') err(`${ctx}: '${op.text}' is a date; compare it with a date literal 'YYYY-MM-DD', not ${show(e)}`);
      const d = parseDate((e as { value: string }).value);
      if (d === null) err(`${ctx}: '${(e as { value: string }).value}' is not a date (YYYY-MM-DD)`);
      return d!;
    }
    if (t === 'code') {
      if (e.kind !== 'string' || e.date) err(`${ctx}: '${op.text}' is a code column; compare it with a code literal such as 'E11', not ${show(e)}`);
      const list = this.codeLists.get(op.spec.codeList ?? '')!;
      const v = (e as { value: string }).value;
      const i = list.codes.indexOf(v);
      if (i < 0) err(`${ctx}: '${v}' is not in code list ${list.name} of column '${op.text}'`);
      return i;
    }
    if (t === 'bool') {
      if (e.kind === 'bool') return e.value ? 1 : 0;
      if (e.kind === 'number' && (e.value === 0 || e.value === 1)) return e.value;
      return err(`${ctx}: '${op.text}' is a boolean; compare it with TRUE or FALSE, not ${show(e)}`);
    }
    // int, decimal, age
    if (e.kind !== 'number') err(`${ctx}: '${op.text}' is ${t === 'age' ? 'an age in years' : `an ${t} column`}; compare it with a number, not ${show(e)}`);
    return (e as { value: number }).value;
  }

  private compare(op: Operand, cmp: CmpOp, real: number): BoolExpr<number> {
    if ((op.type === 'code' || op.type === 'bool') && cmp !== '=' && cmp !== '<>') err(`'${op.text}' is a ${op.type} column: only =, <>, IN${op.type === 'code' ? ' and LIKE' : ''} apply, not ${cmp}`);
    const x = real * op.scale;
    const up = ceilB(x); // smallest encoding ≥ x
    const dn = floorB(x) + 1n; // smallest encoding > x
    switch (cmp) {
      case '<':
        return op.lessThan(up);
      case '<=':
        return op.lessThan(dn);
      case '>':
        return not(op.lessThan(dn));
      case '>=':
        return not(op.lessThan(up));
      case '=':
        return Number.isInteger(x) ? op.equals(BigInt(x)) : K(false);
      case '<>':
        return Number.isInteger(x) ? not(op.equals(BigInt(x))) : K(true);
    }
  }

  /**
   * `a [± k] op b [± m]` for two columns of one type: the difference a − b (a Computed value)
   * against m − k. Other expressions on either side: their difference, computed per row, against 0.
   */
  private compareColumns(e: Expr, left: Expr, op: CmpOp, right: Expr): BoolExpr<number> {
    const side = (x: Expr): { col: string; by: number } | null => {
      if (x.kind === 'column') return { col: x.name, by: 0 };
      if (x.kind === 'shift' && x.arg.kind === 'column') return { col: x.arg.name, by: x.by };
      return null;
    };
    const L = side(left), R = side(right);
    if (!L || !R) {
      for (const x of [left, right]) if (!isArithmetic(x) && x.kind !== 'column') err(`${show(e)}: comparisons are between columns, arithmetic over them (+ − ×) or a column and a literal; ${show(x)} is none of these`);
      const [A, B] = [this.numeric(left, show(e)), this.numeric(right, show(e))];
      if ((A.type === 'date') !== (B.type === 'date')) err(`${show(e)}: ${show(A.type === 'date' ? left : right)} is a date and ${show(A.type === 'date' ? right : left)} a number: compare dates with dates (a date ± days)`);
      return this.compare(this.operand({ kind: 'arith', op: '-', left, right }), op, 0);
    }
    const ls = this.spec(L.col), rs = this.spec(R.col);
    for (const s of [ls, rs]) if (s.type === 'person_id') err(`${show(e)}: person identifiers are compared only to link registers (JOIN … ON, EXISTS)`);
    const same = ls.type === rs.type && (ls.type !== 'code' || ls.codeList === rs.codeList);
    if (!same) err(`${show(e)}: '${L.col}' is ${ls.type}${ls.type === 'code' ? ` (${ls.codeList})` : ''} and '${R.col}' is ${rs.type}${rs.type === 'code' ? ` (${rs.codeList})` : ''}: only columns of one type compare`);
    if ((ls.type === 'code' || ls.type === 'bool') && ((op !== '=' && op !== '<>') || L.by || R.by)) err(`${show(e)}: ${ls.type} columns compare with = and <> only`);
    const scale = ls.type === 'decimal' ? 2 ** FRAC : 1;
    const name = `(${L.col} − ${R.col})`;
    if (!this.computed.some((d) => d.name === name)) {
      const [llo, lhi] = this.bounds(ls), [rlo, rhi] = this.bounds(rs);
      const wide = 2 ** Math.max(valueBits(ls, this.codeLists), valueBits(rs, this.codeLists));
      const lo = llo !== null && rhi !== null ? Number(llo - rhi) : -wide, hi = lhi !== null && rlo !== null ? Number(lhi - rlo) : wide;
      this.use(L.col);
      this.use(R.col);
      const expr: Arith = { op: 'sub', a: { op: 'col', column: L.col }, b: { op: 'col', column: R.col } };
      this.computed.push({ name, expr, spec: { name, type: 'int', min: lo, max: hi }, sources: [L.col, R.col] });
    }
    const o: Operand = { text: name, scale, type: 'int', spec: this.computed.find((d) => d.name === name)!.spec, lessThan: (v) => this.atom('lt', name, v), equals: (v) => this.atom('eq', name, v) };
    // a + k op b + m  ⇔  a − b op m − k
    return this.compare(o, op, R.by - L.by);
  }

  /** The Computed value of an arithmetic expression (registered once, by its SQL text). */
  computedOf(e: Expr, ctx: string): Computed {
    const name = show(e);
    const had = this.computed.find((c) => c.name === name);
    if (had) return had;
    const v = this.numeric(e, ctx);
    if (v.expr.op === 'const') err(`${ctx}: ${name} is a constant; arithmetic needs a column`);
    const scale = v.type === 'decimal' ? 2 ** FRAC : 1;
    const real = (x: bigint | null) => (x === null ? undefined : v.type === 'date' ? formatDate(Number(x)) : Number(x) / scale);
    const [min, max] = [real(v.lo), real(v.hi)];
    const c: Computed = { name, expr: v.expr, spec: { name, type: v.type, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), description: `computed: ${name}` }, sources: v.sources };
    this.computed.push(c);
    return c;
  }

  /** A numeric expression over columns: its Arith tree, type and encoded bounds (see Computed). */
  numeric(e: Expr, ctx: string): Num {
    const bad = (why: string): never => err(`${ctx}: ${why}`);
    switch (e.kind) {
      case 'column': {
        const s = this.use(e.name);
        if (s.type !== 'int' && s.type !== 'decimal' && s.type !== 'date' && s.type !== 'bool') return bad(`'${e.name}' is ${s.type === 'person_id' ? 'a person identifier' : s.type}: arithmetic applies to numbers and dates (a date ± days, date − date)`);
        const [lo, hi] = this.bounds(s);
        return { expr: { op: 'col', column: s.name }, type: s.type === 'bool' ? 'int' : s.type, lo, hi, sources: [s.name] };
      }
      case 'number': {
        const dec = !Number.isInteger(e.value);
        const v = BigInt(Math.round(dec ? e.value * 2 ** FRAC : e.value));
        return { expr: { op: 'const', value: v }, type: dec ? 'decimal' : 'int', lo: v, hi: v, sources: [] };
      }
      case 'string': {
        const d = parseDate(e.value) ?? bad(`'${e.value}' is not a date (YYYY-MM-DD)`);
        return { expr: { op: 'const', value: BigInt(d) }, type: 'date', lo: BigInt(d), hi: BigInt(d), sources: [] };
      }
      case 'shift':
        return this.combine('+', this.numeric(e.arg, ctx), this.numeric({ kind: 'number', value: e.by, text: String(e.by) }, ctx), show(e), bad);
      case 'arith':
        return this.combine(e.op, this.numeric(e.left, ctx), this.numeric(e.right, ctx), show(e), bad);
      case 'call':
        if (e.name === 'minus') return this.combine('-', this.numeric(e.args[0]!, ctx), this.numeric(e.args[1]!, ctx), show(e), bad);
        return bad(`${show(e)}: arithmetic applies to columns and numbers (not to ${e.name}())`);
      default:
        return bad(`${show(e)}: arithmetic applies to columns and numbers`);
    }
  }

  /** a op b with types (date ± days, date − date, decimals aligned to FRAC bits) and interval bounds. */
  private combine(op: '+' | '-' | '*', a0: Num, b0: Num, text: string, bad: (why: string) => never): Num {
    const LIMIT = 1n << 62n;
    const check = (x: bigint | null) => {
      if (x !== null && (x >= LIMIT || x <= -LIMIT)) bad(`${text} may reach ${x} (encoded), beyond ±2^62: narrow the columns' declared ranges`);
      return x;
    };
    const sources = [...new Set([...a0.sources, ...b0.sources])];
    const constant = (v: bigint, type: Num['type']): Num => ({ expr: { op: 'const', value: v }, type, lo: v, hi: v, sources });
    if (op === '*') {
      if (a0.type === 'date' || b0.type === 'date') bad(`${text}: a date cannot be multiplied (dates take ± days, and date − date gives days)`);
      const type = a0.type === 'decimal' || b0.type === 'decimal' ? 'decimal' : 'int';
      const shift = a0.type === 'decimal' && b0.type === 'decimal' ? FRAC : 0;
      if (a0.lo === null || a0.hi === null || b0.lo === null || b0.hi === null) bad(`${text}: a product needs declared min and max on both sides (to keep it within the ring)`);
      const ps = [a0.lo! * b0.lo!, a0.lo! * b0.hi!, a0.hi! * b0.lo!, a0.hi! * b0.hi!].map(check);
      const floorShift = (x: bigint) => (shift ? x >> BigInt(shift) : x);
      if (a0.expr.op === 'const' && b0.expr.op === 'const') return constant(floorShift(a0.expr.value * b0.expr.value), type);
      const lo = ps.reduce((m, x) => (x! < m! ? x : m))!, hi = ps.reduce((m, x) => (x! > m! ? x : m))!;
      return { expr: { op: 'mul', a: a0.expr, b: b0.expr, shift }, type, lo: floorShift(lo), hi: floorShift(hi) + (shift ? 1n : 0n), sources };
    }
    let [a, b] = [a0, b0];
    if (a.type === 'date' || b.type === 'date') {
      if (a.type === 'decimal' || b.type === 'decimal') bad(`${text}: dates take whole days`);
      if (op === '+' && a.type === 'date' && b.type === 'date') bad(`${text}: two dates cannot be added`);
      if (op === '-' && a.type !== 'date') bad(`${text}: a number minus a date`);
    }
    // A decimal and an int: the int in fixed point (·2^FRAC, exact).
    const toFixed = (x: Num): Num => ({ ...x, type: 'decimal', expr: x.expr.op === 'const' ? { op: 'const', value: x.expr.value << BigInt(FRAC) } : { op: 'mul', a: x.expr, b: { op: 'const', value: 1n << BigInt(FRAC) }, shift: 0 }, lo: x.lo === null ? null : x.lo << BigInt(FRAC), hi: x.hi === null ? null : x.hi << BigInt(FRAC) });
    if (a.type === 'decimal' && b.type === 'int') b = toFixed(b);
    if (b.type === 'decimal' && a.type === 'int') a = toFixed(a);
    const type: Num['type'] = a.type === 'date' && b.type === 'date' ? 'int' : a.type === 'date' || b.type === 'date' ? 'date' : a.type;
    const both = (x: bigint | null, y: bigint | null, f: (x: bigint, y: bigint) => bigint) => (x === null || y === null ? null : check(f(x, y)));
    const [lo, hi] = op === '+' ? [both(a.lo, b.lo, (x, y) => x + y), both(a.hi, b.hi, (x, y) => x + y)] : [both(a.lo, b.hi, (x, y) => x - y), both(a.hi, b.lo, (x, y) => x - y)];
    if (type === 'date' && (lo === null || hi === null || lo <= -(1n << 23n) || hi >= 1n << 23n)) bad(`${text}: the date may leave the range of dates (±2^23 days)`);
    if (a.expr.op === 'const' && b.expr.op === 'const') return constant(op === '+' ? a.expr.value + b.expr.value : a.expr.value - b.expr.value, type);
    return { expr: { op: op === '+' ? 'add' : 'sub', a: a.expr, b: b.expr }, type, lo, hi, sources };
  }

  /** [lo ≤ value < hi) on encodings, lo ≤ hi: two monotone atoms and a XOR. */
  private range(op: Operand, lo: bigint, hi: bigint): BoolExpr<number> {
    if (hi <= lo) return K(false);
    if (hi === lo + 1n) return op.equals(lo);
    return { kind: 'xor', args: [op.lessThan(hi), op.lessThan(lo)] };
  }

  predicate(e: Expr): BoolExpr<number> {
    switch (e.kind) {
      case 'and':
      case 'or':
        return { kind: e.kind, args: [this.predicate(e.left), this.predicate(e.right)] };
      case 'not':
        return not(this.predicate(e.arg));
      case 'bool':
        return K(e.value);
      case 'column': {
        const s = this.spec(e.name);
        if (s.type !== 'bool') err(`WHERE ${e.name}: column '${e.name}' is ${s.type}, not a boolean condition`);
        return this.operand(e).equals(1n);
      }
      case 'cmp': {
        let { left, right, op } = e;
        const isLit = (x: Expr) => x.kind === 'number' || x.kind === 'string' || x.kind === 'bool';
        if (isLit(left) && !isLit(right)) {
          [left, right] = [right, left];
          op = ({ '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=', '<>': '<>' } as const)[op];
        }
        if (isLit(left)) err(`${show(e)}: a comparison needs a column (or age(...)) on one side`);
        if (!isLit(right)) {
          if (left.kind === 'agg' || right.kind === 'agg') err(`aggregate in WHERE (${show(e)}): use HAVING`);
          return this.compareColumns(e, left, op, right);
        }
        const o = this.operand(left);
        return this.compare(o, op, this.literal(o, right, show(e)));
      }
      case 'between': {
        // Bounds that are columns or arithmetic (r.date BETWEEN c.admission_date AND c.admission_date + 90): two comparisons.
        if (![e.lo, e.hi].every((x) => x.kind === 'number' || x.kind === 'string')) {
          const r: Expr = { kind: 'and', left: { kind: 'cmp', op: '>=', left: e.arg, right: e.lo }, right: { kind: 'cmp', op: '<=', left: e.arg, right: e.hi } };
          return this.predicate(e.negated ? { kind: 'not', arg: r } : r);
        }
        const o = this.operand(e.arg);
        if (o.type === 'code' || o.type === 'bool') err(`${show(e)}: BETWEEN does not apply to ${o.type} column '${o.text}'`);
        const lo = this.literal(o, e.lo, show(e)) * o.scale, hi = this.literal(o, e.hi, show(e)) * o.scale;
        const r = this.range(o, ceilB(lo), floorB(hi) + 1n);
        return e.negated ? not(r) : r;
      }
      case 'in': {
        const o = this.operand(e.arg);
        const enc = new Set<bigint>();
        for (const x of e.list) {
          const v = this.literal(o, x, show(e)) * o.scale;
          if (Number.isInteger(v)) enc.add(BigInt(v));
        }
        const vals = [...enc].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const parts: BoolExpr<number>[] = [];
        for (let i = 0; i < vals.length; ) {
          let j = i;
          while (j + 1 < vals.length && vals[j + 1] === vals[j]! + 1n) j++;
          if (j - i >= 2) parts.push(this.range(o, vals[i]!, vals[j]! + 1n));
          else for (let k = i; k <= j; k++) parts.push(o.equals(vals[k]!));
          i = j + 1;
        }
        const r: BoolExpr<number> = { kind: 'xor', args: parts };
        return e.negated ? not(r) : r;
      }
      case 'like': {
        const o = this.operand(e.arg);
        if (o.type !== 'code') err(`${show(e)}: LIKE applies to code columns only; '${o.text}' is ${o.type}`);
        const pat = e.pattern;
        const body = pat.endsWith('%') ? pat.slice(0, -1) : pat;
        if (/[%_]/.test(body)) err(`${show(e)}: only prefix patterns such as 'E11%' are supported (no inner % or _)`);
        const list = this.codeLists.get(o.spec.codeList ?? '')!;
        let r: BoolExpr<number>;
        if (body === pat) {
          const i = list.codes.indexOf(body);
          r = i < 0 ? K(false) : o.equals(BigInt(i));
        } else {
          const [lo, hi] = prefixRange(list, body);
          r = this.range(o, BigInt(lo), BigInt(hi));
        }
        return e.negated ? not(r) : r;
      }
      case 'agg':
        return err(`aggregate ${e.text} in WHERE: use HAVING`);
      case 'isnull':
        return err(`${show(e)}: stored registers have no NULLs; IS NULL applies to columns of a LEFT JOINed table`);
      case 'exists':
        return err(`${show(e)}: EXISTS is planned by planJoinQuery (join-plan.ts)`);
      default:
        return err(`${show(e)} is not a condition`);
    }
  }

  /**
   * A GROUP BY key. A column's cells are its values (consecutive encodings) that the WHERE
   * `filter` can let through: the top-level conjuncts that read only this column bound them (a
   * LIKE prefix, IN, =, BETWEEN, comparisons), so cells the filter empties for everyone are not
   * planned (nothing about the data: the filter is public). More than MAX_GROUP_VALUES values need
   * the sort-based grouping (execute.ts), whose cells need no indicator each.
   */
  groupKey(e: Expr, name: string, filter: BoolExpr<number> | null = null): GroupKey {
    if (e.kind === 'column') {
      const s = this.use(e.name);
      const o = this.operand(e);
      let labelOf: (v: bigint) => Display;
      let domain: [bigint, bigint];
      // values are consecutive encodings in every branch below
      if (s.type === 'bool') {
        labelOf = (v) => v === 1n;
        domain = [0n, 1n];
      } else if (s.type === 'code') {
        const list = this.codeLists.get(s.codeList ?? '')!;
        labelOf = (v) => list.codes[Number(v)]!;
        domain = [0n, BigInt(list.codes.length - 1)];
      } else if (s.type === 'int' && typeof s.min === 'number' && typeof s.max === 'number' && s.max - s.min < MAX_SORTED_CELLS) {
        labelOf = (v) => Number(v);
        domain = [BigInt(Math.ceil(s.min)), BigInt(Math.floor(s.max))];
      } else {
        return err(`GROUP BY ${s.name}: ${s.type} column is not low-cardinality (group by bool, code columns, int columns with a declared range of ≤ ${MAX_SORTED_CELLS} values, or age_band(...))`);
      }
      const [lo, hi] = filter ? valuesLeft(filter, this.atoms, s.name, domain) : domain;
      if (lo > hi) err(`GROUP BY ${s.name}: the WHERE clause leaves no value of ${s.name}, so there is no cell`);
      const values: bigint[] = [];
      for (let v = lo; v <= hi; v++) values.push(v);
      if (values.length > MAX_SORTED_CELLS) err(`GROUP BY ${s.name}: ${values.length} values; at most ${MAX_SORTED_CELLS} cells (filter ${s.name} with LIKE, IN or a range)`);
      const labels = values.map(labelOf);
      // Every row the filter keeps has one of the values, so the last indicator is NOT(any other):
      // free. Beyond MAX_GROUP_VALUES values, cells are formed by sorting only: no indicators.
      const eqs = values.length > MAX_GROUP_VALUES ? [] : values.slice(0, -1).map((v) => o.equals(v));
      const indicators = values.length > MAX_GROUP_VALUES ? [] : [...eqs, not<number>({ kind: 'xor', args: eqs })];
      return { name, text: s.name, column: s.name, source: 'column', labels, indicators, index: { offset: values[0]! } };
    }
    if (e.kind === 'call' && e.name === 'age_band') {
      const [col, ref] = this.ageArgs(e, 2, 4);
      const num = (x: Expr | undefined, d: number, what: string): number => {
        if (x === undefined) return d;
        if (x.kind !== 'number' || !Number.isInteger(x.value) || x.value < 1) return err(`age_band(): ${what} must be a positive integer, not ${show(x)}`);
        return x.value;
      };
      const width = num(e.args[2], 10, 'width');
      const top = num(e.args[3], 90, 'top');
      if (top % width !== 0) err(`age_band(): top (${top}) must be a multiple of width (${width})`);
      if (top / width + 1 > MAX_GROUP_VALUES) err(`age_band(): ${top / width + 1} bands; at most ${MAX_GROUP_VALUES}`);
      this.use(col);
      // ge(a) = [age ≥ a] = [birth < t_a + 1]; band [L, L+w) = ge(L) XOR ge(L+w); ages < 0 fall in band 0.
      const ge = (a: number): BoolExpr<number> => (a <= 0 ? K(true) : this.atom('lt', col, BigInt(yearsBefore(ref, a) + 1)));
      const labels: number[] = [];
      const indicators: BoolExpr<number>[] = [];
      for (let L = 0; L < top; L += width) {
        labels.push(L);
        indicators.push({ kind: 'xor', args: [ge(L), ge(L + width)] });
      }
      labels.push(top);
      indicators.push(ge(top));
      const thresholds: BoolExpr<number>[] = [];
      for (let L = width; L <= top; L += width) thresholds.push(ge(L));
      return { name, text: show(e), column: col, source: 'age_band', labels, indicators, index: { thresholds } };
    }
    if (e.kind === 'agg') return err(`GROUP BY ${e.text}: cannot group by an aggregate`);
    if (e.kind === 'call') return err(`GROUP BY ${show(e)}: only age_band(birth_date, 'YYYY-MM-DD' [, width [, top]]) is supported`);
    return err(`GROUP BY ${show(e)}: group by a column, age_band(...), an output alias or an ordinal`);
  }

  /** The column an aggregate reads: a dataset column, arithmetic (this.computed), or a clamped one (this.clamps). */
  private value(e: Expr, agg: Extract<Expr, { kind: 'agg' }>): ColumnSpec {
    if (e.kind === 'column') return this.spec(e.name);
    if (isArithmetic(e)) return this.computedOf(e, agg.text).spec;
    if (e.kind !== 'call' || (e.name !== 'least' && e.name !== 'greatest')) return err(`${agg.text}: aggregates take a column, arithmetic over columns (+ − ×), or either clamped with LEAST/GREATEST (other expressions are not supported)`);
    const name = show(e);
    const had = this.clamps.find((c) => c.name === name);
    if (had) return had.spec;
    // Any nesting of min(·, c) and max(·, c) is one clamp min(max(x, lo), hi), lo ≤ hi:
    // min(clamp(x, lo, hi), c) = clamp(x, min(lo, c), min(hi, c)); max likewise.
    const walk = (x: Expr): { s: ColumnSpec; lo: bigint | null; hi: bigint | null } => {
      if (x.kind === 'column' || isArithmetic(x)) {
        const s = x.kind === 'column' ? this.spec(x.name) : this.computedOf(x, agg.text).spec;
        if (s.type !== 'int' && s.type !== 'decimal' && s.type !== 'bool') err(`${agg.text}: LEAST/GREATEST clamp numeric columns; '${s.name}' is ${s.type}`);
        return { s, lo: null, hi: null };
      }
      if (x.kind !== 'call' || (x.name !== 'least' && x.name !== 'greatest') || x.args.length !== 2) return err(`${agg.text}: clamp with LEAST(x, hi) and GREATEST(x, lo): two arguments, a column (or another LEAST/GREATEST) and a number`);
      const [a, b] = x.args as [Expr, Expr];
      const lit = a.kind === 'number' ? a : b.kind === 'number' ? b : null;
      if (!lit || (a.kind === 'number') === (b.kind === 'number')) return err(`${agg.text}: ${show(x)} needs a number literal on one side and the column on the other`);
      const inner = walk(lit === a ? b : a);
      const scale = inner.s.type === 'decimal' ? 2 ** FRAC : 1;
      const v = (lit as { value: number }).value * scale;
      if (inner.s.type !== 'decimal' && !Number.isInteger(v)) err(`${agg.text}: '${inner.s.name}' is ${inner.s.type}, so its clamp bounds must be integers, not ${(lit as { text: string }).text}`);
      const c = BigInt(Math.round(v));
      const pick = x.name === 'least' ? (u: bigint | null) => (u === null || c < u ? c : u) : (u: bigint | null) => (u === null || c > u ? c : u);
      return x.name === 'least' ? { s: inner.s, lo: inner.lo === null ? null : pick(inner.lo), hi: pick(inner.hi) } : { s: inner.s, lo: pick(inner.lo), hi: inner.hi === null ? null : pick(inner.hi) };
    };
    const { s, lo, hi } = walk(e);
    const spec = clampedSpec(s, name, lo, hi);
    this.clamps.push({ name, column: s.name, lo, hi, spec });
    return spec;
  }

  aggregate(e: Extract<Expr, { kind: 'agg' }>): number {
    let column: string | null = null;
    let clampName: string | undefined;
    let computedName: string | undefined;
    let sources: string[] | undefined;
    let result: ResultType = 'count';
    let scale = 1;
    if (e.arg) {
      const s = this.value(e.arg, e);
      const t = s.type;
      const numeric = t === 'int' || t === 'decimal' || t === 'bool';
      switch (e.fn) {
        case 'count':
          if (e.arg.kind !== 'column') err(`${e.text}: COUNT counts rows; LEAST and GREATEST apply inside SUM, AVG, VARIANCE and STDDEV`);
          break; // no NULLs: COUNT(col) = COUNT(*)
        case 'count_distinct':
          if (e.arg.kind !== 'column') err(`${e.text}: COUNT(DISTINCT …) counts the values of a column`);
          // Sorted by (cell, value) in MPC: the value's declared width must leave room for the cell and row numbers.
          if (valueBits(s, this.codeLists) > 40) err(`${e.text}: '${s.name}' needs a declared min and max within ±2^39 (values are sorted inside MPC)`);
          column = s.name;
          break;
        case 'sum':
          if (!numeric) err(`${e.text}: SUM needs a numeric column; '${s.name}' is ${t}`);
          result = t === 'decimal' ? 'fixed' : 'int';
          scale = t === 'decimal' ? 2 ** FRAC : 1;
          column = s.name;
          break;
        case 'min':
        case 'max':
          if (e.arg.kind !== 'column') err(`${e.text}: ${e.fn.toUpperCase()} of LEAST/GREATEST is not supported (clamping applies inside SUM, AVG, VARIANCE and STDDEV)`);
          if (t === 'person_id') err(`${e.text}: '${s.name}' is a person identifier; only COUNT applies`);
          result = 'value';
          scale = t === 'decimal' ? 2 ** FRAC : 1;
          column = s.name;
          break;
        default: {
          if (!numeric) err(`${e.text}: ${e.fn.toUpperCase()} needs a numeric column; '${s.name}' is ${t}`);
          let k = 0;
          if (e.fn !== 'avg') {
            // int columns up to 2^(VAR_WIDE_BITS + FRAC) scaled (varianceShift); decimals up to 2^VAR_VALUE_BITS.
            const lim = t === 'int' ? 2 ** (VAR_WIDE_BITS + FRAC) : 2 ** VAR_VALUE_BITS;
            const m = t === 'bool' ? 1 : typeof s.min === 'number' && typeof s.max === 'number' ? Math.max(Math.abs(s.min), Math.abs(s.max)) : Infinity;
            if (!(m < lim)) err(`${e.text}: variance needs column '${s.name}' to declare min and max with |value| < ${lim}${t === 'int' ? '' : ' (fixed-point range of x²; int columns may be wider)'}`);
            k = varianceShift(s);
          }
          result = 'fixed';
          // A scaled variance is released in units of (x/2^k)², a standard deviation in x/2^k.
          scale = 2 ** FRAC / 2 ** (e.fn.startsWith('stddev') ? k : e.fn === 'avg' ? 0 : 2 * k);
          column = s.name;
        }
      }
      const clamp = this.clamps.find((c) => c.name === s.name);
      if (clamp) {
        clampName = clamp.name;
        column = clamp.column;
      }
      // Arithmetic (directly or clamped): the value is computed; column is its first source.
      const comp = this.computed.find((c) => c.name === (clamp ? clamp.column : s.name));
      if (comp && e.fn !== 'count') {
        if (!clamp) computedName = comp.name;
        sources = comp.sources;
        column = comp.sources[0] ?? null;
      } else this.used.add(column ?? s.name);
      if (e.fn === 'count') column = null;
    }
    const text = e.fn === 'count' ? 'count(*)' : e.text;
    const i = this.aggs.findIndex((a) => a.fn === e.fn && a.column === column && a.clamp === clampName && a.computed === computedName);
    if (i >= 0) return i;
    this.aggs.push({ fn: e.fn, column, ...(clampName !== undefined ? { clamp: clampName } : {}), ...(computedName !== undefined ? { computed: computedName, sources: sources! } : clampName !== undefined && sources ? { sources } : {}), text, result, scale });
    return this.aggs.length - 1;
  }

  havingPred(e: Expr): BoolExpr<HavingAtom> {
    switch (e.kind) {
      case 'and':
      case 'or':
        return { kind: e.kind, args: [this.havingPred(e.left), this.havingPred(e.right)] };
      case 'not':
        return not(this.havingPred(e.arg));
      case 'bool':
        return K(e.value);
      case 'cmp': {
        let { left, right, op } = e;
        if (left.kind === 'number' && right.kind === 'agg') {
          [left, right] = [right, left];
          op = ({ '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=', '<>': '<>' } as const)[op];
        }
        if (left.kind !== 'agg') err(`HAVING ${show(e)}: compare an aggregate with a number`);
        if (right.kind !== 'number') err(`HAVING ${show(e)}: compare an aggregate with a number, not ${show(right)}`);
        const agg = this.aggregate(left as Extract<Expr, { kind: 'agg' }>);
        const spec = this.aggs[agg]!;
        if (spec.result === 'value' && spec.column && !['int', 'decimal', 'bool'].includes(this.spec(spec.column).type)) err(`HAVING ${show(e)}: only numeric aggregates can be compared`);
        const x = (right as { value: number }).value * spec.scale;
        const lt = (v: bigint): BoolExpr<HavingAtom> => ({ kind: 'leaf', leaf: { agg, op: 'lt', value: v } });
        const up = ceilB(x), dn = floorB(x) + 1n;
        switch (op) {
          case '<': return lt(up);
          case '<=': return lt(dn);
          case '>': return not(lt(dn));
          case '>=': return not(lt(up));
          case '=': return Number.isInteger(x) ? { kind: 'leaf', leaf: { agg, op: 'eq', value: BigInt(x) } } : K(false);
          case '<>': return Number.isInteger(x) ? not({ kind: 'leaf', leaf: { agg, op: 'eq', value: BigInt(x) } }) : K(true);
        }
        break;
      }
      default:
        return err(`HAVING ${show(e)}: HAVING supports comparisons of aggregates with numbers, AND, OR, NOT`);
    }
    return err('unreachable');
  }
}

/** Human-readable plan (EXPLAIN). */
export function explainPlan(plan: QueryPlan, rows?: number): string {
  const lines: string[] = [];
  const cells = plan.keys.reduce((m, k) => m * k.labels.length, 1);
  lines.push(`Query on ${plan.dataset.name}${rows !== undefined ? ` (${rows} rows)` : ''}: ${plan.sql.trim().replace(/\s+/g, ' ')}`);
  const atomText = (a: Atom): string => {
    const s = valueSpec(plan, a.column);
    const v = s.type === 'decimal' ? String(Number(a.value) / 2 ** FRAC) : s.type === 'date' ? formatDate(Number(a.value)) : String(decodeValue(s, BigInt.asUintN(64, a.value), plan.codeLists));
    const shown = s.type === 'code' ? `#${a.value} (${v})` : v;
    return `${a.column} ${a.op === 'lt' ? '<' : '='} ${shown}`;
  };
  const boolText = <L>(e: BoolExpr<L>, lf: (l: L) => string): string => {
    switch (e.kind) {
      case 'leaf': return lf(e.leaf);
      case 'const': return e.value ? 'TRUE' : 'FALSE';
      case 'not': return `NOT ${boolText(e.arg, lf)}`;
      default: return `(${e.args.map((a) => boolText(a, lf)).join(` ${e.kind.toUpperCase()} `)})`;
    }
  };
  if (plan.filter) {
    lines.push(`  Filter (in MPC, one secret bit per row): ${plan.filterText}`);
    lines.push(`    as comparisons: ${boolText(plan.filter, (i) => `[${atomText(plan.atoms[i]!)}]`)}`);
  } else lines.push('  Filter: none (all rows)');
  const lts = plan.atoms.filter((a) => a.op === 'lt'), eqs = plan.atoms.filter((a) => a.op === 'eq');
  const cols = [...new Set(plan.atoms.map((a) => a.column))];
  if (cols.length) {
    const w = cols.map((c) => `${c} (${valueBits(valueSpec(plan, c), plan.codeLists)} bits)`);
    lines.push(`  Comparisons: ${w.join(', ')} bit-decomposed once; ${lts.length} less-than and ${eqs.length} equality tests against public constants as log-depth bit trees`);
  }
  if (plan.keys.length) {
    for (const k of plan.keys) lines.push(`  Group by ${k.text} AS ${k.name}: ${k.labels.length} public values (${k.labels.slice(0, 12).join(', ')}${k.labels.length > 12 ? ', …' : ''})`);
  }
  lines.push(`  Cells: ${cells}`);
  for (const c of plan.computed) lines.push(`  Computed per row (in MPC: + − ×, products one round each): ${c.name} from ${c.sources.join(', ')}, range [${c.spec.min ?? '−∞'}, ${c.spec.max ?? '∞'}]`);
  for (const c of plan.clamps) lines.push(`  Clamp per row (in MPC: two comparisons and a product): ${c.name} = ${c.column} limited to [${c.spec.min ?? '−∞'}, ${c.spec.max ?? '∞'}]`);
  lines.push(`  Aggregates per cell (in MPC): ${plan.aggregates.map((a) => a.text).join(', ')}`);
  if (plan.having) lines.push(`  Having (in MPC, on the aggregates): ${plan.havingText}`);
  lines.push('  Disclosure: per cell [count < minCellSize] is computed in MPC; revealed are that bit per cell');
  lines.push(`    ${plan.having ? 'and the HAVING bit of unsuppressed cells, ' : ''}then only the output aggregates of visible cells: ${plan.outputs.filter((o) => o.kind === 'agg').map((o) => o.name).join(', ')}`);
  if (plan.orderBy.length || plan.limit !== null) {
    lines.push(`  After reveal (plaintext): ${plan.orderBy.length ? `ORDER BY ${plan.orderBy.map((o) => `${plan.outputs[o.output]!.name}${o.desc ? ' DESC' : ''}`).join(', ')}` : ''}${plan.limit !== null ? ` LIMIT ${plan.limit}` : ''}`);
  }
  return lines.join('\n');
}

/** The clamped value min(max(x, lo), hi) as a column spec: x's type, its range narrowed (in real units). */
function clampedSpec(s: ColumnSpec, name: string, lo: bigint | null, hi: bigint | null): ColumnSpec {
  const scale = s.type === 'decimal' ? 2 ** FRAC : 1;
  const f = (x: number): number => {
    let y = x;
    if (lo !== null) y = Math.max(y, Number(lo) / scale);
    if (hi !== null) y = Math.min(y, Number(hi) / scale);
    return y;
  };
  const [min0, max0] = s.type === 'bool' ? [0, 1] : [typeof s.min === 'number' ? s.min : -Infinity, typeof s.max === 'number' ? s.max : Infinity];
  const [min, max] = [f(min0), f(max0)];
  return { name, type: s.type, ...(Number.isFinite(min) ? { min } : {}), ...(Number.isFinite(max) ? { max } : {}), description: `${s.name} clamped` };
}

/** The person-id column of a register: `person_id`, else its only person_id-typed column; null if none. */
export function personColumn(d: DatasetSchema): ColumnSpec | null {
  const pids = d.columns.filter((c) => c.type === 'person_id');
  return pids.find((c) => c.name === 'person_id') ?? (pids.length === 1 ? pids[0]! : null);
}

/** The columns whose distinct values are counted per cell (COUNT(DISTINCT x)), in aggregate order. */
export function distinctValues(plan: Pick<QueryPlan, 'aggregates'>): string[] {
  return [...new Set(plan.aggregates.flatMap((a) => (a.fn === 'count_distinct' ? [a.column!] : [])))];
}

/** The value an aggregate reads: its clamp's name, or its column (null for COUNT(*)). */
export const valueOf = (a: AggSpec): string | null => a.clamp ?? a.computed ?? a.column;

const isVariance = (fn: AggName) => fn.startsWith('var') || fn.startsWith('stddev');

/**
 * The base sums a plan needs per cell besides COUNT: SUM(x) for every value x that SUM, AVG,
 * VARIANCE or STDDEV reads, and SUM(x²) for VARIANCE/STDDEV, in this order (execute.ts computes
 * them, dp.ts noises them).
 */
export function summedValues(plan: QueryPlan): { sums: string[]; squares: string[] } {
  const sums = [...new Set(plan.aggregates.filter((a) => a.column && (a.fn === 'sum' || a.fn === 'avg' || isVariance(a.fn))).map((a) => valueOf(a)!))];
  const squares = [...new Set(plan.aggregates.filter((a) => a.column && isVariance(a.fn)).map((a) => valueOf(a)!))];
  return { sums, squares };
}

/** The column spec of a value an aggregate reads: a dataset column, or a clamp of the plan. */
export function valueSpec(plan: QueryPlan, name: string): ColumnSpec {
  const s = plan.dataset.columns.find((c) => c.name === name) ?? plan.clamps.find((c) => c.name === name)?.spec ?? plan.computed.find((c) => c.name === name)?.spec;
  if (!s) throw new QueryError(`internal: the plan reads no column or clamp named '${name}'`);
  return s;
}

/**
 * Columns the plan's filter fixes to one value: a top-level conjunct [x = v] (`x = literal`, or a
 * bool column alone). Every row the filter keeps has that value, so a key of the register
 * minus these columns identifies its rows (src/query/contribution.ts).
 */
export function fixedColumns(plan: QueryPlan): Set<string> {
  const out = new Set<string>();
  const walk = (e: BoolExpr<number>): void => {
    if (e.kind === 'and') e.args.forEach(walk);
    else if (e.kind === 'leaf' && plan.atoms[e.leaf]!.op === 'eq') out.add(plan.atoms[e.leaf]!.column);
  };
  if (plan.filter) walk(plan.filter);
  return out;
}
