// Cells of a query from arithmetic one-hot indicators of its small-domain columns
// (src/mpc/one-hot.ts): any condition on one column c is true exactly for a public set S of its
// values, so on rows whose values lie in the column's domain (ingest validates them) its 0/1
// indicator is Σ_{u ∈ S} [c = u] — local, whatever comparisons, ranges, IN lists or LIKE patterns
// the SQL wrote. A cell (the filter's conjuncts ∧ one value of each GROUP BY key) is the product of
// one such sum per column it constrains (one multiplication round per doubling of the columns),
// its COUNT the sum of its indicator (local) and its SUM(x) the inner product ⟨cell, x⟩: all cells
// and columns in one round (Araki et al. CCS 2016 §2.2, arith.dotMany), one ring element per cell
// and column, against two rounds and (1 + columns) elements per row and cell from boolean indicators
// (src/mpc/count.ts). Follows no paper beyond those; the plan (which values each cell keeps) is
// computed in the clear from the SQL and the schema. Reveals nothing: only the sums the query
// itself goes on to protect and release are formed.
import { AShare, add, dotManyAndSums, fromPublic, mulMany, sub } from '../mpc/arith.js';
import { CellSums, type CellSumSlots } from './cell-sums.js';
import type { Party } from '../mpc/party.js';
import { ONE_HOT_MAX_VALUES } from '../mpc/one-hot.js';
import { parseDate, type CodeList, type ColumnSpec } from '../ingest/schema.js';
import * as R from '../ring/ring64.js';
import type { BoolExpr, QueryPlan } from './plan.js';

/** [x = lo + u] for u = 0..cols.length − 1, as arithmetic 0/1 shares of one column's rows. */
export interface Indicators {
  lo: bigint;
  cols: AShare[];
}

/** One-hot indicators by column name (what a node holds for the register a query reads). */
export type IndicatorMap = ReadonlyMap<string, Indicators>;

/**
 * The values a column's stored encoding can take, when there are few enough for one-hot
 * indicators: bool 0..1, a code list's indices, an int column's declared range (with 0, what a
 * missing value is stored as when the column is not required). Else null.
 */
export function oneHotDomain(spec: ColumnSpec, codeLists: ReadonlyMap<string, CodeList>): { lo: bigint; values: number } | null {
  const fit = (lo: number, hi: number) => (Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && hi >= lo && hi - lo + 1 <= ONE_HOT_MAX_VALUES ? { lo: BigInt(lo), values: hi - lo + 1 } : null);
  const missing = spec.required === false ? [0] : [];
  switch (spec.type) {
    case 'bool':
      return fit(0, 1);
    case 'code': {
      const codes = codeLists.get(spec.codeList ?? '')?.codes.length ?? 0;
      return codes ? fit(0, codes - 1) : null;
    }
    case 'int':
    case 'date': {
      const num = (v: number | string | undefined) => (typeof v === 'number' ? v : typeof v === 'string' ? parseDate(v) : null);
      const lo = num(spec.min), hi = num(spec.max);
      if (lo === null || hi === null) return null;
      return fit(Math.min(lo, ...missing), Math.max(hi, ...missing));
    }
    default:
      return null;
  }
}

/** Per cell: null when no row can be in it, else per column constrained the indicator values summed. */
export type OneHotCells = ({ column: string; values: number[] }[] | null)[];

/**
 * Which indicator values make up each cell (cells ordered as execute.ts orders them: the cartesian
 * product of the keys, last key fastest), or null when the plan does not fit: a condition that
 * reads two columns or one without indicators, MIN/MAX (they need boolean cell bits), or nothing to
 * gain (no filter and no key).
 */
export function oneHotCellPlan(plan: QueryPlan, ind: IndicatorMap): OneHotCells | null {
  if (!plan.filter && !plan.keys.length) return null;
  if (plan.aggregates.some((a) => a.fn === 'min' || a.fn === 'max')) return null;
  const columnOf = (e: BoolExpr<number>): string | null | undefined => {
    // undefined: reads no atom; null: reads two columns.
    const cols = new Set<string>();
    const walk = (x: BoolExpr<number>): void => {
      if (x.kind === 'leaf') cols.add(plan.atoms[x.leaf]!.column);
      else if (x.kind === 'not') walk(x.arg);
      else if (x.kind !== 'const') x.args.forEach(walk);
    };
    walk(e);
    return cols.size === 0 ? undefined : cols.size === 1 ? [...cols][0]! : null;
  };
  const conjuncts = (e: BoolExpr<number>): BoolExpr<number>[] => (e.kind === 'and' ? e.args.flatMap(conjuncts) : [e]);
  // Every condition with the column it reads (undefined: none); null when one cannot be used.
  type Cond = { column: string | undefined; expr: BoolExpr<number> };
  const usable = (es: BoolExpr<number>[]): Cond[] | null => {
    const out: Cond[] = [];
    for (const expr of es) {
      const column = columnOf(expr);
      if (column === null || (column !== undefined && !ind.has(column))) return null;
      out.push({ column, expr });
    }
    return out;
  };
  const filter = usable(plan.filter ? conjuncts(plan.filter) : []);
  if (!filter) return null;
  let cells: Cond[][] = [filter];
  for (const key of plan.keys) {
    const k = key.indicators.length ? usable(key.indicators) : null;
    if (!k) return null;
    cells = cells.flatMap((c) => k.map((e) => [...c, e]));
  }
  return cells.map((conds) => {
    const byColumn = new Map<string, BoolExpr<number>[]>();
    for (const { column, expr } of conds) {
      if (column === undefined) {
        if (!holds(expr, () => false)) return null; // a constant condition (no atom) that is false
        continue;
      }
      byColumn.set(column, [...(byColumn.get(column) ?? []), expr]);
    }
    const factors: { column: string; values: number[] }[] = [];
    for (const [column, exprs] of byColumn) {
      const { lo, cols } = ind.get(column)!;
      const values: number[] = [];
      for (let u = 0; u < cols.length; u++) {
        const v = lo + BigInt(u);
        if (exprs.every((e) => holds(e, (i) => atomAt(plan, i, v)))) values.push(u);
      }
      if (!values.length) return null;
      if (values.length < cols.length) factors.push({ column, values });
    }
    return factors;
  });
}

/** An atom of the plan at a column value v (exact: v and the atom's value are both in range). */
function atomAt(plan: QueryPlan, i: number, v: bigint): boolean {
  const a = plan.atoms[i]!;
  return a.op === 'lt' ? v < a.value : v === a.value;
}

function holds(e: BoolExpr<number>, leaf: (i: number) => boolean): boolean {
  switch (e.kind) {
    case 'leaf':
      return leaf(e.leaf);
    case 'const':
      return e.value;
    case 'not':
      return !holds(e.arg, leaf);
    case 'and':
      return e.args.every((a) => holds(a, leaf));
    case 'or':
      return e.args.some((a) => holds(a, leaf));
    case 'xor':
      return e.args.reduce((acc, a) => acc !== holds(a, leaf), false);
  }
}

/**
 * COUNT and Σ v of every cell for every column v in vecs, in the layout execute.ts's aggregates
 * take (slot 0 the counts, slot 1 + v the sums of vecs[v]; lane g is cell g).
 */
export async function oneHotSums(p: Party, cells: OneHotCells, ind: IndicatorMap, vecs: AShare[], n: number): Promise<CellSumSlots> {
  const V = vecs.length;
  const acc = new CellSums(p, cells.length, vecs, n);
  // Each column's sum of indicators, built once per (column, values) (a WHERE shared by all cells).
  const built = new Map<string, AShare>();
  const factor = ({ column, values }: { column: string; values: number[] }): AShare => {
    const key = `${column}\u0000${values.join(',')}`;
    let f = built.get(key);
    if (!f) {
      const { cols } = ind.get(column)!;
      if (values.length === 1) f = cols[values[0]!]!;
      else if (values.length <= cols.length / 2) f = values.slice(1).reduce((s, u) => add(s, cols[u]!), cols[values[0]!]!);
      else {
        // Fewer columns to add as 1 − Σ the values left out.
        const keep = new Set(values);
        f = fromPublic(p, R.constant(n, 1n));
        for (let u = 0; u < cols.length; u++) if (!keep.has(u)) f = sub(f, cols[u]!);
      }
      built.set(key, f);
    }
    return f;
  };
  // Products of each cell's factors, all cells' products of one level in one round.
  let pending = cells.map((c) => (c && c.length ? c.map(factor) : []));
  while (pending.some((fs) => fs.length > 1)) {
    const pairs: [AShare, AShare][] = [];
    for (const fs of pending) for (let i = 0; i + 1 < fs.length; i += 2) pairs.push([fs[i]!, fs[i + 1]!]);
    const made = await mulMany(p, pairs);
    let at = 0;
    pending = pending.map((fs) => {
      const next: AShare[] = [];
      for (let i = 0; i + 1 < fs.length; i += 2) next.push(made[at++]!);
      if (fs.length % 2) next.push(fs[fs.length - 1]!);
      return next;
    });
  }
  const secret: number[] = [];
  cells.forEach((c, g) => {
    if (c === null || c.length === 0) acc.constant(g, c !== null);
    else secret.push(g);
  });
  if (secret.length) {
    const pairs = secret.flatMap((g) => vecs.map((v): [AShare, AShare] => [pending[g]![0]!, v]));
    const { dots, sums } = await dotManyAndSums(p, pairs, secret.map((g) => pending[g]![0]!));
    secret.forEach((g, k) => {
      acc.put(g, 0, sums[k]!);
      for (let v = 0; v < V; v++) acc.put(g, v + 1, dots, k * V + v);
    });
  }
  return acc.slots;
}
