// Party-local (SPMD) execution of a QueryPlan over secret-shared columns of one register, for
// tables of up to millions of rows: the same function runs at each node on its own shares.
//
// Pipeline (every step works on whole columns; independent work is batched into one round):
//   −1. computed values (arithmetic between columns: plan.ts Computed, ./computed.ts);
//   0. clamped columns (LEAST/GREATEST inside an aggregate): [x < lo] and [x > hi] per row, one
//      comparison batch, then x + [x < lo]·(lo − x) + [x > hi]·(hi − x) (one injection, one product);
//   1. comparisons: every column that WHERE or GROUP BY compares is bit-decomposed ONCE (ABY3 §5.3;
//      all columns of one width in one call, width = valueBits from the schema); each [x < v] and
//      [x = v] against a public v is then a log-depth bit tree, free per bit because v is public;
//   2. one boolean circuit (bit-sliced, 32 rows per word) combines atoms, filter and GROUP BY key
//      values into one indicator per cell; XOR/NOT are free, all ANDs of one depth share a round;
//      without a WHERE the last cell is the total minus the others, so G − 1 cells are computed;
//   3. aggregates per cell: COUNT = Σ indicator and SUM = Σ indicator·x straight from the boolean
//      indicators (count.ts: two rounds for all cells and columns, no bit injection), Σx² from
//      fixed-point squares, MIN/MAX by a boolean log-depth tournament, and
//      COUNT(DISTINCT x) by sorting the rows by (cell, x) (src/mpc/distinct.ts; then every aggregate
//      is formed by that sort), AVG/VARIANCE/STDDEV finished inside MPC with fixed-point div/sqrt (fixed.ts): only the final
//      aggregate is ever revealed, never a SUM or COUNT that was not asked for;
//      with protection (RunOptions.noise, dp.ts), the base sums COUNT, SUM(x) and SUM(x²) are
//      rounded to their lattice and noised first (one batched sampler call for all cells and
//      sums), and everything else is computed from the noisy sums;
//   4. disclosure control: s = [COUNT < minCellSize] per cell (COUNT(*), or the count of persons
//      when the query asks COUNT(DISTINCT <person id>)) and the HAVING bit h are computed in
//      MPC; revealed to all nodes: s and h ∧ ¬s per cell (nothing about a suppressed cell but that
//      it is small or empty); then the SELECTed aggregates of the visible cells only, to `revealTo`.
// What is revealed: those two bits per cell, and the SELECTed aggregates of visible cells. Never
// per-row values or per-row filter bits. The table size n is public (DESIGN.md).
//
// Numeric bounds (64-bit ring, FRAC = 16 fractional bits for decimals and results):
//   SUM of int     exact mod 2^64 (wraps if |Σ| ≥ 2^63)
//   AVG            |SUM| < 2^46 and |AVG| < 2^30 (fixed.ts div contract); error ≤ 2^−26·|avg| + 4·2^−16
//   VARIANCE/STD   decimals |x| < 2^15, int columns |x| < 2^27 (checked at plan time from the
//                  declared bounds; an int column of |x| ≥ 2^15 is computed as x/2^k with
//                  |x/2^k| < 2^11, plan.ts varianceShift), n·max|x/2^k|² < 2^46 (checked before
//                  MPC); computed as (Σx²/N − (Σx/N)²)·N/(N−1) from two divisions (each ≤ 4 ulp
//                  + 2^−27 relative), so the error is dominated by the mean's 4-ulp error times
//                  2·|mean| (and by N/(N−1)'s times the variance): varianceErrorBound below, in
//                  units of x/2^k: 2^−27·(3m² + v) + (8|m| + 7)·2^−16 for VAR_POP, r = N/(N−1)
//                  times that + v·(4·2^−16 + 2^−27·r) + 2^−16 for VAR_SAMP (m the mean, v the
//                  population variance); asserted by test/variance.test.ts; cells of one row are
//                  always suppressed when VAR_SAMP/STDDEV_SAMP is asked for
//   MIN/MAX        exact
//   comparisons    exact for values within the column's declared width (ingest validates them)
import { lastWordLanes, wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import type { PartyId } from '../net/channel.js';
import { AShare, add, addPublic, concatShares, fromPublic, mulMany, mulPublic, revealMany, sub, subFromPublic } from '../mpc/arith.js';
import { andMany, BShare, fromPublicBits, not, revealBits, stackPlanes, xor } from '../mpc/boolean.js';
import { eq, lt, select } from '../mpc/compare.js';
import { b2a, bitDecompose, bitInject } from '../mpc/convert.js';
import { div, mulFixedMany, sqrt, truncateMany } from '../mpc/fixed.js';
import type { Party } from '../mpc/party.js';
import { valueBits } from '../ingest/schema.js';
import { computeColumns } from './computed.js';
import { cellLabels, resultRows } from './result.js';
import { rankCells, topKOf } from './top-k.js';
import { rankedCells } from './top-k-cells.js';
import { oneHotCellPlan, oneHotSums, type IndicatorMap, type OneHotCells } from './one-hot-cells.js';
import { CellSums, type CellSumSlots } from './cell-sums.js';
export { cellLabels, resultRows } from './result.js';
import { countAndSum } from '../mpc/count.js';
import { groupDistinct } from '../mpc/distinct.js';
import { groupSums } from '../mpc/group.js';
import { sampleDiscreteLaplace, type GeometricTable } from '../mpc/geometric-noise.js';
import { addNoise, type NoiseTable } from '../mpc/noise.js';
import type { PlanNoise } from './dp.js';
import { type BoolExpr, type Clamp, type Display, FRAC, type HavingAtom, MAX_CELLS, QueryError, type QueryPlan, SORT_CELLS_FROM, distinctValues, summedValues, VAR_SUMSQ_BITS, valueOf, valueSpec, varianceShift } from './plan.js';

export interface RunOptions {
  /** Cells counting fewer rows are suppressed (node policy; default 5, at least 1; the same at every node). */
  minCellSize?: number;
  /**
   * Who receives the aggregates (default 'all'); the suppression bits always go to all nodes.
   * 'none': nothing is revealed; the result carries this party's shares of the output aggregates
   * instead (QueryResult.shared), for a requester outside the three nodes to combine.
   */
  revealTo?: PartyId | 'all' | 'none';
  /** Largest number of cell·row lanes counted/summed at once (memory bound; default 2^23). */
  maxChunkLanes?: number;
  /** Called with the wall time (ms) of each phase, for benchmarks. */
  trace?: (phase: string, ms: number) => void;
  /**
   * Called as the run goes on with the fraction done (0..1, increasing; by the run's steps, and
   * inside a join's sort by the comparisons done) and the step just done, for progress reports.
   */
  progress?: (fraction: number, phase: string) => void;
  /**
   * Differential privacy (dp.ts noiseForPlan): the noise for every base sum (COUNT, SUM(x),
   * SUM(x²)), drawn jointly in MPC and added before anything depends on them, so AVG, VARIANCE
   * and STDDEV are computed from the noisy sums and small-cell suppression and HAVING compare
   * noisy values. Without it every result is exact.
   */
  noise?: PlanNoise;
  /**
   * Columns whose values come in nondecreasing order over the rows the filter keeps (a join's
   * person-id keys after the join, join-execute.ts): COUNT(DISTINCT) of them needs no sort by value.
   */
  ordered?: ReadonlySet<string>;
  /**
   * Arithmetic one-hot indicators of small-domain columns (src/mpc/one-hot.ts; a node keeps them
   * per register version, src/node/indicator-cache.ts): a query whose WHERE conjuncts and GROUP BY
   * keys each read one such column forms its cells from them (./one-hot-cells.ts) instead of
   * comparisons and boolean indicators. Same results.
   */
  indicators?: IndicatorMap;
}

export interface QueryResult {
  columns: string[];
  /** Rows of visible cells (after ORDER BY / LIMIT); null at parties that did not receive them. */
  rows: Display[][] | null;
  /** Group-key values of the cells suppressed by the small-cell rule (known to every node). */
  suppressed: Record<string, Display>[];
  /** Number of cells, of cells suppressed, and of cells hidden by HAVING. */
  cells: number;
  suppressedCount: number;
  havingHidden: number;
  minCellSize: number;
  /**
   * ORDER BY COUNT/SUM LIMIT k inside MPC (./top-k.ts): k, the number of lanes released; then no
   * cell beyond them is known to anyone (suppressed is empty, suppressedCount 0, not counted).
   */
  ranked?: number;
  /** With revealTo 'none': indices of the visible cells and of the output aggregates, and this party's
   *  share of them (lane = output-aggregate-major, then visible cell); `ranked`: the top-k lanes
   *  instead (vis, cell·vis, aggregates·vis; no visible cells known). */
  shared?: { visibleCells: number[]; outAggs: number[]; shares: AShare; ranked?: number };
}

const ONE_F = 1n << BigInt(FRAC);

/** Many cells, or distinct counts: cells are formed by sorting on the cell number (one sort) instead of one indicator per cell. */
export function groupsBySorting(plan: QueryPlan): boolean {
  const G = plan.keys.reduce((m, key) => m * key.labels.length, 1);
  return G >= SORT_CELLS_FROM || G > MAX_CELLS || distinctValues(plan).length > 0;
}

/**
 * Runs a planned query at this party. `columns` maps every column the plan reads (plan.columns)
 * to this party's share; all must have the same length. Checks happen before any message is sent.
 */
export async function runQuery(p: Party, plan: QueryPlan, columns: Map<string, AShare>, opts: RunOptions = {}): Promise<QueryResult> {
  const k = opts.minCellSize ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new QueryError(`minCellSize must be a positive integer, got ${k}`);
  const revealTo = opts.revealTo ?? 'all';
  let n = -1;
  for (const c of plan.columns) {
    const s = columns.get(c);
    if (!s) throw new QueryError(`column '${c}' of ${plan.dataset.name} has no shares at this node`);
    if (n >= 0 && s.length !== n) throw new QueryError(`column '${c}' has ${s.length} rows, others ${n}`);
    n = s.length;
  }
  if (n < 0) n = columns.values().next().value?.length ?? 0;
  for (const a of plan.aggregates) {
    if (a.fn === 'avg' && a.column) {
      const s = valueSpec(plan, valueOf(a)!);
      const m = s.type === 'bool' ? 1 : Math.max(Math.abs(Number(s.min)), Math.abs(Number(s.max)));
      // Unbounded columns (no declared min/max) are not checked: |SUM| < 2^46 is then the caller's promise.
      if (Number.isFinite(m) && Math.log2(n * m + 1) >= 46) throw new QueryError(`${a.text}: ${n} rows × ${m} may exceed the fixed-point range of the sum (2^46)`);
    }
    if ((a.fn.startsWith('var') || a.fn.startsWith('stddev')) && a.column) {
      const s = valueSpec(plan, valueOf(a)!);
      const m = (s.type === 'bool' ? 1 : Math.max(Math.abs(Number(s.min)), Math.abs(Number(s.max)))) / 2 ** varianceShift(s);
      if (Math.log2(n * m * m + 1) >= VAR_SUMSQ_BITS) throw new QueryError(`${a.text}: ${n} rows × ${m}² may exceed the fixed-point range of Σx² (2^${VAR_SUMSQ_BITS})`);
    }
  }
  if (opts.noise) checkNoise(plan, opts.noise);
  columns = await withComputed(p, plan, columns, n);
  // The steps below, for progress: clamping, the cells' bits and circuit (unless sorted), counts
  // and sums, noise, the aggregates, disclosure control.
  const G = plan.keys.reduce((m, key) => m * key.labels.length, 1);
  const sorted = groupsBySorting(plan);
  // Cells as sums and products of one-hot indicators where the node holds them for every column the
  // conditions read (./one-hot-cells.ts): no comparison, no boolean circuit.
  const oneHot = !sorted && opts.indicators ? oneHotCellPlan(plan, opts.indicators) : null;
  const steps = (plan.clamps.length ? 1 : 0) + (sorted || oneHot ? 0 : 2) + 1 + (opts.noise ? 1 : 0) + 2;
  const lap = lapTimer(opts.trace, opts.progress, steps);
  // 0. Clamped columns.
  if (plan.clamps.length) {
    columns = new Map([...columns, ...(await clampColumns(p, plan, columns, n))]);
    lap(`clamping ${plan.clamps.length} column(s)`);
  }
  const col = (name: string) => columns.get(name)!;

  // 1–2. Cell indicators.
  const cells = sorted || oneHot ? null : await cellIndicators(p, plan, col, n, G, lap);

  // 3. Aggregates (one G-lane share per aggregate), from noisy base sums when protected.
  const byOneHot = oneHot ? { cells: oneHot, indicators: opts.indicators! } : null;
  const aggs = await aggregates(p, plan, col, cells, n, G, lap, opts.maxChunkLanes ?? CHUNK_LANES, opts.noise, opts.ordered ?? new Set(), byOneHot);
  lap('aggregates');

  // 4. Disclosure control and HAVING in MPC.
  // The small-cell rule counts rows (COUNT(*)), or persons where the query counts them (COUNT(DISTINCT person_id)).
  const persons = plan.aggregates.findIndex((a) => a.persons);
  const countIdx = persons >= 0 ? persons : plan.aggregates.findIndex((a) => a.fn === 'count');
  const hatoms: HavingAtom[] = [];
  if (plan.having) collectLeaves(plan.having, hatoms);
  // A sample variance needs two rows: with minCellSize 1, single-row cells are suppressed too.
  const kEff = plan.aggregates.some((a) => a.fn === 'var_samp' || a.fn === 'stddev_samp') ? Math.max(k, 2) : k;
  const ltItems: AShare[] = [addPublic(p, aggs[countIdx]!, -BigInt(kEff))];
  const eqItems: AShare[] = [];
  const leafOf = new Map<HavingAtom, [0 | 1, number]>();
  for (const h of hatoms) {
    const d = addPublic(p, aggs[h.agg]!, -h.value);
    if (h.op === 'lt') leafOf.set(h, [0, ltItems.push(d) - 1]);
    else leafOf.set(h, [1, eqItems.push(d) - 1]);
  }
  const ltBits = await batchedCompare(p, 'lt', ltItems, 64, G);
  const eqBits = eqItems.length ? await batchedCompare(p, 'eq', eqItems, 64, G) : [];
  const small = ltBits[0]!;
  let visible: BShare;
  if (plan.having) {
    const circ = new Circuit(G);
    const root = circ.build(plan.having, (h) => {
      const [kind, i] = leafOf.get(h)!;
      return circ.input(kind === 0 ? ltBits[i]! : eqBits[i]!);
    });
    const notSmall = circ.not(circ.input(small));
    const out = circ.and(root, notSmall);
    visible = (await circ.evaluate(p, [out]))[0]!;
  } else visible = not(p, small);
  const outAggs = [...new Set(plan.outputs.flatMap((o) => (o.kind === 'agg' ? [o.agg] : [])))];
  // ORDER BY COUNT/SUM LIMIT k: only the first k cells leave MPC (./top-k.ts); nothing about the others.
  const top = topKOf(plan, G);
  if (top) {
    const r = await rankCells(p, top, aggs, outAggs, visible, G, revealTo);
    lap(`top ${r.k} of ${G} cells by an oblivious sort`);
    const ranked = r.opened ? rankedCells(r.k, outAggs, r.opened) : null;
    return {
      columns: plan.outputs.map((o) => o.name),
      rows: ranked ? resultRows(plan, ranked.cells, outAggs, ranked.value) : null,
      suppressed: [],
      cells: G,
      suppressedCount: 0,
      havingHidden: 0,
      minCellSize: kEff,
      ranked: r.k,
      ...(revealTo === 'none' ? { shared: { visibleCells: [], outAggs, shares: r.lanes, ranked: r.k } } : {}),
    };
  }
  const bits = await revealBits(p, stackPlanes([small, visible]), 'all');
  const W = wordsFor(G);
  const bitAt = (plane: number, j: number) => (bits![plane * W + (j >>> 5)]! >>> (j & 31)) & 1;
  const isSmall = Array.from({ length: G }, (_, j) => bitAt(0, j) === 1);
  const isVisible = Array.from({ length: G }, (_, j) => bitAt(1, j) === 1);
  const visibleCells = isVisible.flatMap((v, j) => (v ? [j] : []));

  // Reveal the output aggregates of visible cells only.
  const picked = outAggs.map((a) => pickLanes(aggs[a]!, visibleCells));
  const opened = revealTo === 'none' ? picked.map(() => null) : await revealMany(p, picked, revealTo);
  lap('disclosure control and reveal');

  const suppressed = isSmall.flatMap((s, j) => (s ? [Object.fromEntries(plan.keys.map((key, i) => [key.name, cellLabels(plan, j)[i]!]))] : []));
  const rows = opened[0] !== null || outAggs.length === 0 ? resultRows(plan, visibleCells, outAggs, (k, v) => opened[k]![v]!) : null;
  return {
    columns: plan.outputs.map((o) => o.name),
    rows,
    suppressed,
    cells: G,
    suppressedCount: isSmall.filter(Boolean).length,
    havingHidden: isSmall.filter((s, j) => !s && !isVisible[j]).length,
    minCellSize: kEff,
    ...(revealTo === 'none' ? { shared: { visibleCells, outAggs, shares: picked.length ? concatShares(picked) : new AShare(new BigUint64Array(0), new BigUint64Array(0)) } } : {}),
  };
}

/** A function that reports the wall time since its previous call (or creation) to `trace`, named. */
export function lapTimer(trace?: (phase: string, ms: number) => void, progress?: (fraction: number, phase: string) => void, steps = 0): (what: string) => void {
  let t0 = performance.now();
  let done = 0;
  return (what) => {
    const t = performance.now();
    trace?.(what, t - t0);
    t0 = t;
    if (steps > 0) progress?.(Math.min(1, ++done / steps), what);
  };
}

/** The part [from, to] of a run's progress: what a step inside it reports as 0..1, increasing only. */
export function progressPart(report: ((fraction: number, phase: string) => void) | undefined, from: number, to: number): ((fraction: number, phase: string) => void) | undefined {
  if (!report) return undefined;
  let last = -1;
  return (f, phase) => {
    const x = from + (to - from) * Math.min(1, Math.max(0, f));
    if (x < last) return;
    last = x;
    report(x, phase);
  };
}

/**
 * A plan's WHERE clause as a 0/1 arithmetic column (1 = the row passes), e.g. to filter a table
 * before a join; null when the filter is constant true. Reveals nothing.
 */
export async function rowFilter(p: Party, plan: QueryPlan, columns: Map<string, AShare>, n: number): Promise<AShare | null> {
  if (!plan.filter) return null;
  const filter = plan.filter;
  if (n <= FILTER_ROWS) return rowFilterOf(p, plan, filter, columns, n);
  // Row by row, so FILTER_ROWS rows at a time: the comparisons' planes of a register of tens of
  // millions of rows (a national patient register) are not held at once; a few more rounds per chunk.
  const out = new AShare(R.uninit(n), R.uninit(n));
  for (let off = 0; off < n; off += FILTER_ROWS) {
    const len = Math.min(FILTER_ROWS, n - off);
    const f = await rowFilterOf(p, plan, filter, new Map([...columns].map(([c, x]) => [c, x.slice(off, off + len)])), len);
    if (!f) return null; // always true (decided by the plan, not the rows)
    out.a.set(f.a, off);
    out.b.set(f.b, off);
  }
  return out;
}

/** Rows of a filter evaluated at once (rowFilter). */
export const FILTER_ROWS = 1 << 21;

async function rowFilterOf(p: Party, plan: QueryPlan, filter: NonNullable<QueryPlan['filter']>, columns: Map<string, AShare>, n: number): Promise<AShare | null> {
  columns = await withComputed(p, plan, columns, n);
  const circ = new Circuit(n);
  const atomNode = await atomCircuit(p, plan, (name) => columns.get(name)!, n, circ);
  const root = circ.build(filter, (i) => atomNode[i]!);
  const c = circ.isConst(root);
  if (c === true) return null;
  if (c === false) return new AShare(new BigUint64Array(n), new BigUint64Array(n));
  const [bits] = await circ.evaluate(p, [root]);
  return bitInject(p, bits!);
}

/**
 * Several conditions over the plan's atoms (e.g. the filter and the boolean columns of an
 * analysis table, src/query/rows.ts) as 0/1 arithmetic columns, in one circuit: every compared
 * column bit-decomposed once, all ANDs of one depth in one round, one bit injection for all.
 * Reveals nothing.
 */
export async function rowConditions(p: Party, plan: QueryPlan, columns: Map<string, AShare>, n: number, exprs: BoolExpr<number>[]): Promise<AShare[]> {
  if (exprs.length === 0) return [];
  columns = await withComputed(p, plan, columns, n);
  const circ = new Circuit(n);
  const atomNode = await atomCircuit(p, plan, (name) => columns.get(name)!, n, circ);
  const roots = exprs.map((e) => circ.build(e, (i) => atomNode[i]!));
  const secret = [...new Set(roots.filter((r) => circ.isConst(r) === null))];
  const inj = secret.length ? await bitInject(p, stackPlanes(await circ.evaluate(p, secret))) : null;
  const constant = (v: boolean) => (v ? fromPublic(p, R.constant(n, 1n)) : new AShare(new BigUint64Array(n), new BigUint64Array(n)));
  return roots.map((r) => {
    const c = circ.isConst(r);
    if (c !== null) return constant(c);
    const k = secret.indexOf(r);
    return inj!.slice(k * n, (k + 1) * n);
  });
}

/** The columns with the plan's computed values (arithmetic, plan.ts Computed) added. */
async function withComputed(p: Party, plan: QueryPlan, columns: Map<string, AShare>, n: number): Promise<Map<string, AShare>> {
  if (!plan.computed?.length) return columns;
  return new Map([...columns, ...(await computeColumns(p, plan.computed, (c) => columns.get(c)!, n))]);
}

function collectLeaves<L>(e: BoolExpr<L>, out: L[]): void {
  if (e.kind === 'leaf') out.push(e.leaf);
  else if (e.kind === 'not') collectLeaves(e.arg, out);
  else if (e.kind !== 'const') for (const a of e.args) collectLeaves(a, out);
}

/** Lanes `idx` of a short share (aggregates per cell; never per-row data). */
function pickLanes(x: AShare, idx: number[]): AShare {
  const a = new BigUint64Array(idx.length), b = new BigUint64Array(idx.length);
  idx.forEach((j, t) => {
    a[t] = x.a[j]!;
    b[t] = x.b[j]!;
  });
  return new AShare(a, b);
}

// ---------------------------------------------------------------------------------------------
// Comparisons, batched

/**
 * [d_k < 0] or [d_k = 0] for several n-lane shared columns d_k in ONE comparison call. Each column
 * is padded to a multiple of 32 lanes so the result planes split on word boundaries (views).
 */
async function batchedCompare(p: Party, op: 'lt' | 'eq', ds: AShare[], bits: number, n: number): Promise<BShare[]> {
  if (ds.length === 0) return [];
  const W = wordsFor(n);
  const padded = W * 32;
  let all: AShare;
  if (padded === n || ds.length === 1) all = ds.length === 1 ? ds[0]! : concatShares(ds);
  else {
    const a = new BigUint64Array(padded * ds.length), b = new BigUint64Array(padded * ds.length);
    ds.forEach((d, i) => {
      a.set(d.a, i * padded);
      b.set(d.b, i * padded);
    });
    all = new AShare(a, b);
  }
  const res = op === 'lt' ? await lt(p, all, 0n, { bits }) : await eq(p, all, 0n, { bits });
  if (ds.length === 1) return [res];
  const stride = padded === n ? n : padded;
  // With padding every segment starts on a word boundary; without it n is a multiple of 32.
  return ds.map((_, i) => {
    const from = (i * stride) >>> 5;
    return new BShare(n, 1, res.a.subarray(from, from + W), res.b.subarray(from, from + W));
  });
}

// ---------------------------------------------------------------------------------------------
// Boolean circuits over one-plane shares: XOR/NOT free, all ANDs of one depth in one round.

type Gate =
  | { op: 'in'; share: BShare }
  | { op: 'const'; value: boolean }
  | { op: 'not'; a: number }
  | { op: 'xor'; args: number[] }
  | { op: 'and' | 'or'; a: number; b: number };

class Circuit {
  private readonly gates: Gate[] = [];
  private readonly depth: number[] = [];
  private readonly memo = new Map<string, number>();
  private readonly inputs = new Map<BShare, number>();
  private readonly values = new Map<number, BShare>();

  constructor(readonly n: number) {}

  private add(g: Gate, key: string | null, d: number): number {
    if (key !== null) {
      const m = this.memo.get(key);
      if (m !== undefined) return m;
      this.memo.set(key, this.gates.length);
    }
    this.gates.push(g);
    this.depth.push(d);
    return this.gates.length - 1;
  }
  input(s: BShare): number {
    let i = this.inputs.get(s);
    if (i === undefined) {
      i = this.add({ op: 'in', share: s }, null, 0);
      this.inputs.set(s, i);
    }
    return i;
  }
  isConst(i: number): boolean | null {
    const g = this.gates[i]!;
    return g.op === 'const' ? g.value : null;
  }
  const(v: boolean): number {
    return this.add({ op: 'const', value: v }, `c${v}`, 0);
  }
  not(a: number): number {
    const c = this.isConst(a);
    if (c !== null) return this.const(!c);
    const g = this.gates[a]!;
    if (g.op === 'not') return g.a;
    return this.add({ op: 'not', a }, `n${a}`, this.depth[a]!);
  }
  xor(args: number[]): number {
    let flip = false;
    const rest = args.filter((a) => {
      const c = this.isConst(a);
      if (c !== null) flip = flip !== c;
      return c === null;
    });
    let out = rest.length === 0 ? this.const(false) : rest.length === 1 ? rest[0]! : this.add({ op: 'xor', args: rest }, `x${rest.join(',')}`, Math.max(...rest.map((a) => this.depth[a]!)));
    if (flip) out = this.not(out);
    return out;
  }
  and(a: number, b: number): number {
    return this.binary('and', a, b);
  }
  or(a: number, b: number): number {
    return this.binary('or', a, b);
  }
  private binary(op: 'and' | 'or', a: number, b: number): number {
    const ca = this.isConst(a), cb = this.isConst(b);
    const absorb = op === 'and' ? false : true;
    if (ca === absorb || cb === absorb) return this.const(absorb);
    if (ca !== null) return b;
    if (cb !== null) return a;
    if (a === b) return a;
    const [x, y] = a < b ? [a, b] : [b, a];
    return this.add({ op, a: x, b: y }, `${op}${x},${y}`, Math.max(this.depth[x]!, this.depth[y]!) + 1);
  }
  /** Balanced tree of a binary gate over several inputs. */
  private tree(op: 'and' | 'or', xs: number[]): number {
    if (xs.length === 0) return this.const(op === 'and');
    if (xs.length === 1) return xs[0]!;
    const h = xs.length >>> 1;
    return this.binary(op, this.tree(op, xs.slice(0, h)), this.tree(op, xs.slice(h)));
  }
  build<L>(e: BoolExpr<L>, leaf: (l: L) => number): number {
    switch (e.kind) {
      case 'leaf':
        return leaf(e.leaf);
      case 'const':
        return this.const(e.value);
      case 'not':
        return this.not(this.build(e.arg, leaf));
      case 'xor':
        return this.xor(e.args.map((a) => this.build(a, leaf)));
      default:
        return this.tree(e.kind, e.args.map((a) => this.build(a, leaf)));
    }
  }

  /** Evaluates the gates the outputs need, depth by depth. */
  async evaluate(p: Party, outputs: number[]): Promise<BShare[]> {
    const need = new Set<number>();
    const mark = (i: number) => {
      if (need.has(i)) return;
      need.add(i);
      const g = this.gates[i]!;
      if (g.op === 'not') mark(g.a);
      else if (g.op === 'xor') g.args.forEach(mark);
      else if (g.op === 'and' || g.op === 'or') {
        mark(g.a);
        mark(g.b);
      }
    };
    outputs.forEach(mark);
    const order = [...need].sort((a, b) => a - b);
    const val = this.values; // kept across calls: gates already evaluated are not recomputed
    const W = wordsFor(this.n);
    const maxDepth = Math.max(0, ...order.map((i) => this.depth[i]!));
    for (let d = 0; d <= maxDepth; d++) {
      const binaries = order.filter((i) => this.depth[i] === d && !val.has(i) && (this.gates[i]!.op === 'and' || this.gates[i]!.op === 'or'));
      if (binaries.length) {
        const prods = await andMany(p, binaries.map((i) => {
          const g = this.gates[i] as { a: number; b: number };
          return [val.get(g.a)!, val.get(g.b)!] as [BShare, BShare];
        }));
        binaries.forEach((i, t) => {
          const g = this.gates[i] as { op: 'and' | 'or'; a: number; b: number };
          val.set(i, g.op === 'and' ? prods[t]! : xor(xor(val.get(g.a)!, val.get(g.b)!), prods[t]!));
        });
      }
      for (const i of order) {
        if (this.depth[i] !== d || val.has(i)) continue;
        const g = this.gates[i]!;
        switch (g.op) {
          case 'in':
            val.set(i, g.share);
            break;
          case 'const':
            val.set(i, fromPublicBits(p, this.n, 1, new Uint32Array(W).fill(g.value ? 0xffffffff : 0)));
            break;
          case 'not':
            val.set(i, not(p, val.get(g.a)!));
            break;
          case 'xor':
            val.set(i, g.args.slice(1).reduce((acc, a) => xor(acc, val.get(a)!), val.get(g.args[0]!)!));
            break;
          default:
            break;
        }
      }
    }
    return outputs.map((o) => val.get(o)!);
  }
}

/**
 * Arithmetic 0/1 indicator of every cell (plane-major: lanes [j·n, (j+1)·n) are cell j), from the
 * filter and the group keys. Cells are ordered like the cartesian product of the keys (last key
 * fastest).
 */
/** The cells of a query as boolean indicators, before injection. */
interface Cells {
  /** Per cell: a public constant (true = every row, false = none) or null when secret. */
  consts: (boolean | null)[];
  /** A secret cell whose aggregates are derived from the totals minus the other cells, or −1. */
  complement: number;
  /** The other secret cells, in order, with their boolean indicator planes. */
  secret: number[];
  planes: BShare[];
  /** Boolean indicators of every cell (for MIN/MAX); evaluated on demand, gates are memoised. */
  cellBits: () => Promise<BShare[]>;
}

/**
 * Boolean indicator of every cell (filter ∧ key values), ordered like the cartesian product of the
 * keys (last key fastest), from one circuit over the comparison atoms.
 */
async function cellIndicators(p: Party, plan: QueryPlan, col: (name: string) => AShare, n: number, G: number, lap: (what: string) => void): Promise<Cells> {
  const circ = new Circuit(n);
  const atomNode = await atomCircuit(p, plan, col, n, circ);
  lap(`bit decomposition of ${new Set(plan.atoms.map((a) => a.column)).size} column(s) for ${plan.atoms.length} comparison(s) over ${n} rows`);
  const leaf = (i: number) => atomNode[i]!;
  const filter = plan.filter ? circ.build(plan.filter, leaf) : circ.const(true);
  let cells = [filter];
  for (const key of plan.keys) {
    const inds = key.indicators.map((e) => circ.build(e, leaf));
    cells = cells.flatMap((c) => inds.map((k) => circ.and(c, k)));
  }
  if (cells.length !== G) throw new Error(`internal: ${cells.length} cells, expected ${G}`);
  // Constant cells (a filter that folds to a constant, no keys) need no MPC. Without a filter the
  // cells partition the rows (every key covers its whole validated domain), so the last secret
  // cell's aggregates are the totals minus the others': one column fewer to inject.
  const consts = cells.map((c) => circ.isConst(c));
  const secret = cells.flatMap((_, j) => (consts[j] === null ? [j] : []));
  const complement = circ.isConst(filter) === true && secret.length > 1 ? secret.pop()! : -1;
  const planes = secret.length ? await circ.evaluate(p, secret.map((j) => cells[j]!)) : [];
  lap('boolean circuit');
  return { consts, complement, secret, planes, cellBits: () => circ.evaluate(p, cells) };
}

/**
 * Bit planes of columns (ABY3 bit decomposition, convert.ts), every column of one width in ONE
 * call over the concatenated columns (each padded to whole words). Returns per column its planes
 * 0..w−1 as one-plane n-lane shares (views).
 */
async function decompose(p: Party, col: (name: string) => AShare, width: Map<string, number>, n: number): Promise<Map<string, BShare[]>> {
  const W = wordsFor(n);
  const padded = W * 32;
  const out = new Map<string, BShare[]>();
  for (const w of [...new Set(width.values())]) {
    const group = [...width.keys()].filter((c) => width.get(c) === w);
    let x: AShare;
    if (group.length === 1) x = col(group[0]!);
    else {
      const a = new BigUint64Array(padded * group.length), b = new BigUint64Array(padded * group.length);
      group.forEach((c, i) => {
        a.set(col(c).a, i * padded);
        b.set(col(c).b, i * padded);
      });
      x = new AShare(a, b);
    }
    const dec = await bitDecompose(p, x, w);
    const TW = wordsFor(x.length);
    group.forEach((c, i) => {
      const planes: BShare[] = [];
      for (let k = 0; k < w; k++) {
        const from = k * TW + i * W;
        planes.push(new BShare(n, 1, dec.a.subarray(from, from + W), dec.b.subarray(from, from + W)));
      }
      out.set(c, planes);
    });
  }
  return out;
}

/**
 * Circuit nodes for every comparison atom. Each column compared is bit-decomposed ONCE (ABY3 §5.3,
 * convert.ts; all columns of one width in one call), then [x < v] and [x = v] against public v are
 * a log-depth tree over its bits: per bit the pair (L, E) = ([u_k < v_k], [u_k = v_k]) is free
 * because v is public, and (L, E)_hi ∘ (L, E)_lo = (L_hi ⊕ E_hi·L_lo, E_hi·E_lo). Signed values
 * are compared as unsigned after flipping the sign bit. Subtrees shared between atoms are computed
 * once; every AND of one depth, across all atoms and the filter, goes in one round.
 */
async function atomCircuit(p: Party, plan: QueryPlan, col: (name: string) => AShare, n: number, circ: Circuit): Promise<number[]> {
  // Computed values (two columns compared, arithmetic) are columns by now (withComputed).
  const specOf = (c: string) => valueSpec(plan, c);
  const colOf = col;
  const cols = [...new Set(plan.atoms.map((a) => a.column))];
  const width = new Map(cols.map((c) => [c, valueBits(specOf(c), plan.codeLists)]));
  const planes = await decompose(p, colOf, width, n);
  const planeOf = new Map<string, number[]>(); // column → input node of each bit plane
  for (const [c, ps] of planes) {
    const nodes = ps.map((x) => circ.input(x));
    // Unsigned view u = x + 2^(w−1): flip the sign plane.
    nodes[nodes.length - 1] = circ.not(nodes[nodes.length - 1]!);
    planeOf.set(c, nodes);
  }
  return plan.atoms.map((a) => {
    const w = width.get(a.column)!;
    const half = 1n << BigInt(w - 1);
    if (a.op === 'lt') {
      if (a.value <= -half) return circ.const(false);
      if (a.value >= half) return circ.const(true);
    } else if (a.value < -half || a.value >= half) return circ.const(false);
    const v = a.value + half; // in [0, 2^w)
    const u = planeOf.get(a.column)!;
    const bit = (k: number) => ((v >> BigInt(k)) & 1n) === 1n;
    const node = (lo: number, hi: number): [number, number] => {
      if (lo === hi) {
        const vk = bit(lo);
        return [vk ? circ.not(u[lo]!) : circ.const(false), vk ? u[lo]! : circ.not(u[lo]!)];
      }
      const mid = (lo + hi + 1) >>> 1;
      const [Ll, El] = node(lo, mid - 1);
      const [Lh, Eh] = node(mid, hi);
      return [circ.xor([Lh, circ.and(Eh, Ll)]), circ.and(Eh, El)];
    };
    const [L, E] = node(0, w - 1);
    return a.op === 'lt' ? L : E;
  });
}

// ---------------------------------------------------------------------------------------------
// Aggregates

/**
 * The largest error the fixed-point arithmetic adds to a released VAR_POP, VAR_SAMP, STDDEV_POP or
 * STDDEV_SAMP of a cell of `n` rows whose exact mean and population variance (in the column's real
 * units) are `mean` and `variance`, for a value scaled by 2^`shift` (plan.ts varianceShift; 0 for
 * most columns). Without output protection; with it, the same bound holds around the value the
 * noisy sums give. From fixed.ts's contracts (u = 2^−16, div ≤ 4u + 2^−27 relative, mulFixed ≤ 1u,
 * sqrt ≤ 1u + 2^−27 relative); see the module comment.
 */
export function varianceErrorBound(o: { fn: 'var_pop' | 'var_samp' | 'stddev_pop' | 'stddev_samp'; mean: number; variance: number; n: number; shift?: number }): number {
  const u = 2 ** -FRAC, e = 2 ** -27, k = o.shift ?? 0;
  const m = Math.abs(o.mean) / 2 ** k, v = o.variance / 4 ** k;
  const em = e * m + 4 * u; // the mean's error (div)
  // Σx²/N (div, and ≤ 1u from the per-row squares), minus mean² (2|m|·em + em², and 1u for the product).
  const pop = e * (m * m + v) + 5 * u + 2 * m * em + em * em + 2 * u;
  const r = o.n / (o.n - 1);
  const samp = r * pop + v * (4 * u + e * r) + u; // ·N/(N−1): its own div error times v, 1u for the product
  const ev = o.fn.endsWith('samp') ? samp : pop;
  if (o.fn.startsWith('var')) return ev * 4 ** k;
  const vv = o.fn === 'stddev_samp' ? v * r : v;
  const sd = Math.sqrt(vv);
  return (Math.min(Math.sqrt(ev), sd > 0 ? ev / sd : Infinity) + e * (sd + Math.sqrt(ev)) + u) * 2 ** k;
}

const laneCat = (xs: AShare[]) => (xs.length === 1 ? xs[0]! : concatShares(xs));

/** Largest number of cell·row lanes handled at once by countAndSum (bounds memory; two rounds per chunk). */
const CHUNK_LANES = 1 << 23;

async function aggregates(p: Party, plan: QueryPlan, col: (name: string) => AShare, cells: Cells | null, n: number, G: number, lap: (what: string) => void, maxLanes: number, noise: PlanNoise | undefined, ordered: ReadonlySet<string>, oneHot: { cells: OneHotCells; indicators: IndicatorMap } | null): Promise<AShare[]> {
  const specOf = (c: string) => valueSpec(plan, c);
  const out: AShare[] = new Array(plan.aggregates.length);
  const isVar = (f: string) => f.startsWith('var') || f.startsWith('stddev');
  const { sums: sumCols, squares: varCols } = summedValues(plan);
  // x in fixed point (int/bool: exact shift by FRAC, local).
  // x² per row: exact integer squares for int/bool columns (scaled by 2^FRAC after summing, on
  // G values), fixed-point products (with truncation) for decimals and for wide int columns, which
  // are squared as x/2^k (exact in fixed point: plan.ts varianceShift); all in one round each.
  const shift = new Map(varCols.map((c) => [c, varianceShift(specOf(c))]));
  const isFix = (c: string) => specOf(c).type === 'decimal' || shift.get(c)! > 0;
  const scaled = (c: string) => (shift.get(c)! > 0 ? mulPublic(col(c), 1n << BigInt(FRAC - shift.get(c)!)) : col(c));
  const intSq = varCols.filter((c) => !isFix(c)), fixSq = varCols.filter(isFix);
  const sqInt = intSq.length ? await mulMany(p, intSq.map((c) => [col(c), col(c)] as [AShare, AShare])) : [];
  const sqFix = fixSq.length ? await mulFixedMany(p, fixSq.map((c) => [scaled(c), scaled(c)] as [AShare, AShare])) : [];
  const squares = varCols.map((c) => (isFix(c) ? sqFix[fixSq.indexOf(c)]! : sqInt[intSq.indexOf(c)]!));

  // Per cell: COUNT = Σ indicator (local) and Σ indicator·v for every v in vecs (sum columns, then
  // squares), all cells of a chunk in two rounds (countAndSum). Results go to lane j of G-lane shares.
  const vecs = [...sumCols.map(col), ...squares];
  const V = vecs.length;
  const distinct = distinctValues(plan);
  const acc = oneHot ? await oneHotSums(p, oneHot.cells, oneHot.indicators, vecs, n) : cells ? await indicatorSums(p, cells, vecs, n, G, maxLanes) : await sortedSums(p, plan, col, vecs, n, G, distinct, ordered);
  lap(
    oneHot
      ? `counts and sums from one-hot indicators (${G} cells × ${n} rows × ${V} columns)`
      : cells
        ? `counts and sums (${cells.planes.length} cells × ${n} rows × ${V} columns)`
        : `counts and sums by sorting ${n} rows into ${G} cells (${V} columns${distinct.length ? `, ${distinct.length} distinct count(s)` : ''})`,
  );
  // The base sums in dp.ts's order: COUNT, SUM(x) per value, SUM(x²) per value, COUNT(DISTINCT x) per
  // value; noised when protected.
  let base = acc.map((x) => new AShare(x.a, x.b));
  if (noise) {
    base = await protect(p, noise, base, G);
    lap(`differential-privacy noise on ${base.length} sum(s) × ${G} cell(s)`);
  }
  const counts = base[0]!;
  const perCol = (v: number) => base[v + 1]!;
  const sums = new Map(sumCols.map((c, v) => [c, perCol(v)]));
  const sumSq = new Map(varCols.map((c, v) => [c, isFix(c) ? perCol(sumCols.length + v) : mulPublic(perCol(sumCols.length + v), ONE_F)]));

  // Fixed-point finishing: one div call for every mean, Σx²/N and N/(N−1). A wide int column's
  // variance is computed on x/2^k throughout (its mean too: Σx·2^(FRAC−k), exact).
  const nF = mulPublic(counts, ONE_F);
  const sumF = (c: string) => (specOf(c).type === 'decimal' ? sums.get(c)! : mulPublic(sums.get(c)!, ONE_F));
  const meanCols = [...new Set(plan.aggregates.filter((a) => a.column && (a.fn === 'avg' || isVar(a.fn))).map((a) => valueOf(a)!))];
  const scaledMeans = varCols.filter((c) => shift.get(c)! > 0);
  const needR = plan.aggregates.some((a) => a.fn === 'var_samp' || a.fn === 'stddev_samp');
  const num: AShare[] = [...meanCols.map(sumF), ...scaledMeans.map((c) => mulPublic(sums.get(c)!, 1n << BigInt(FRAC - shift.get(c)!))), ...varCols.map((c) => sumSq.get(c)!), ...(needR ? [nF] : [])];
  const den: AShare[] = [...meanCols.map(() => nF), ...scaledMeans.map(() => nF), ...varCols.map(() => nF), ...(needR ? [addPublic(p, nF, -ONE_F)] : [])];
  const means = new Map<string, AShare>(), varMeans = new Map<string, AShare>(), m2 = new Map<string, AShare>();
  let ratio: AShare | null = null;
  if (num.length) {
    const q = await div(p, laneCat(num), laneCat(den));
    let off = 0;
    for (const c of meanCols) means.set(c, q.slice(off * G, (off += 1) * G));
    for (const c of scaledMeans) varMeans.set(c, q.slice(off * G, (off += 1) * G));
    for (const c of varCols) m2.set(c, q.slice(off * G, (off += 1) * G));
    if (needR) ratio = q.slice(off * G, (off += 1) * G);
  }
  for (const c of varCols) if (!varMeans.has(c)) varMeans.set(c, means.get(c)!);
  const varPop = new Map<string, AShare>(), varSamp = new Map<string, AShare>();
  if (varCols.length) {
    const sq = await mulFixedMany(p, varCols.map((c) => [varMeans.get(c)!, varMeans.get(c)!] as [AShare, AShare]));
    varCols.forEach((c, i) => varPop.set(c, sub(m2.get(c)!, sq[i]!)));
    // Noisy sums can make Σx²/N − mean² negative: clamp at 0 (also before the square root).
    if (noise) {
      const v = laneCat(varCols.map((c) => varPop.get(c)!));
      const clamped = await select(p, await lt(p, v, 0n, { bits: 63 }), 0n, v);
      varCols.forEach((c, i) => varPop.set(c, clamped.slice(i * G, (i + 1) * G)));
    }
    if (needR) {
      const vs = await mulFixedMany(p, varCols.map((c) => [varPop.get(c)!, ratio!] as [AShare, AShare]));
      varCols.forEach((c, i) => varSamp.set(c, vs[i]!));
    }
  }
  const sdCols = plan.aggregates.filter((a) => a.fn.startsWith('stddev')).map((a) => [a.fn, valueOf(a)!] as const);
  const sds = new Map<string, AShare>();
  if (sdCols.length) {
    const r = await sqrt(p, laneCat(sdCols.map(([f, c]) => (f === 'stddev_samp' ? varSamp : varPop).get(c)!)));
    sdCols.forEach(([f, c], i) => sds.set(`${f}|${c}`, r.slice(i * G, (i + 1) * G)));
  }

  // MIN/MAX: masked columns and one tournament for all (cell, aggregate) pairs.
  const mm = plan.aggregates.map((a, i) => [a, i] as const).filter(([a]) => a.fn === 'min' || a.fn === 'max');
  if (mm.length && !cells) throw new QueryError(`MIN/MAX need one indicator per cell (at most ${MAX_CELLS} cells)`);
  const mins = mm.length ? await minMax(p, plan, col, await cells!.cellBits(), n, mm.map(([a, i]) => ({ column: a.column!, max: a.fn === 'max', index: i }))) : new Map<number, AShare>();

  plan.aggregates.forEach((a, i) => {
    switch (a.fn) {
      case 'count': out[i] = counts; break;
      case 'count_distinct': out[i] = base[1 + V + distinct.indexOf(a.column!)]!; break;
      case 'sum': out[i] = sums.get(valueOf(a)!)!; break;
      case 'avg': out[i] = means.get(valueOf(a)!)!; break;
      case 'var_pop': out[i] = varPop.get(valueOf(a)!)!; break;
      case 'var_samp': out[i] = varSamp.get(valueOf(a)!)!; break;
      case 'stddev_pop':
      case 'stddev_samp': out[i] = sds.get(`${a.fn}|${valueOf(a)}`)!; break;
      case 'min':
      case 'max': out[i] = mins.get(i)!; break;
    }
  });
  return out;
}

/** The noise description must be the one of this plan: same base sums in the same order. */
function checkNoise(plan: QueryPlan, noise: PlanNoise): void {
  const { sums, squares } = summedValues(plan);
  const want = ['count(*)', ...sums.map((v) => `sum(${v})`), ...squares.map((v) => `sum(${v}²)`), ...distinctValues(plan).map((v) => `count(distinct ${v})`)];
  const got = noise.sums.map((s) => s.text);
  if (want.join('\n') !== got.join('\n')) throw new QueryError(`noise: the noise description is for the sums ${got.join(', ')}, but this query has ${want.join(', ')} (call noiseForPlan with this plan)`);
  if (plan.aggregates.some((a) => a.fn === 'min' || a.fn === 'max')) throw new QueryError('noise: MIN and MAX cannot run protected (noiseForPlan refuses them)');
}

/**
 * The base sums (G lanes each, in noise.sums order), protected: each rounded to its lattice
 * (t = ⌊x/2^j⌋ or ⌊x/2^j⌋ + 1, fixed.ts truncation, one call for all), noise Z added on the
 * integers, released as (t + Z)·2^j. The discrete Laplace of every sum and cell in one sampler
 * call (geometric-noise.ts); the Gaussian by inverse CDF (noise.ts), one call per table.
 */
async function protect(p: Party, noise: PlanNoise, base: AShare[], G: number): Promise<AShare[]> {
  const rounded = noise.sums.flatMap((s, k) => (s.latticeBits > 0 ? [k] : []));
  const out = base.slice();
  if (rounded.length) {
    const t = await truncateMany(p, rounded.map((k) => [base[k]!, noise.sums[k]!.latticeBits] as [AShare, number]));
    rounded.forEach((k, i) => (out[k] = addPublic(p, t[i]!, 1n)));
  }
  let z: AShare[];
  if (noise.mechanism === 'laplace') {
    const all = await sampleDiscreteLaplace(p, noise.sums.map((s) => ({ table: s.sampler as GeometricTable, n: G })));
    z = noise.sums.map((_, k) => all.slice(k * G, (k + 1) * G));
  } else {
    z = [];
    for (const s of noise.sums) z.push(await addNoise(p, new AShare(new BigUint64Array(G), new BigUint64Array(G)), s.sampler as NoiseTable));
  }
  return out.map((x, k) => mulPublic(add(x, z[k]!), 1n << BigInt(noise.sums[k]!.latticeBits)));
}

/**
 * Clamped columns min(max(x, lo), hi) (plan.clamps): the comparisons [x < lo] and [hi < x] of all
 * clamps in one batch per width (a bound outside the column's declared range is constant and
 * skipped), one bit injection, one multiplication round: x + [x < lo]·(lo − x) + [hi < x]·(hi − x).
 * Exact. Reveals nothing.
 */
async function clampColumns(p: Party, plan: QueryPlan, columns: Map<string, AShare>, n: number): Promise<Map<string, AShare>> {
  const items: { clamp: Clamp; below: boolean; d: AShare; bound: bigint; bits: number }[] = [];
  for (const c of plan.clamps) {
    const s = valueSpec(plan, c.column);
    const x = columns.get(c.column)!;
    const w = valueBits(s, plan.codeLists);
    const half = 1n << BigInt(w - 1);
    const width = (v: bigint) => Math.max(w, (v < 0n ? -v : v).toString(2).length + 1) + 1;
    // [x < lo] = [x − lo < 0]; [hi < x] = [hi − x < 0]; skipped where the column's width decides.
    if (c.lo !== null && c.lo > -half) items.push({ clamp: c, below: true, d: addPublic(p, x, -c.lo), bound: c.lo, bits: width(c.lo) });
    if (c.hi !== null && c.hi < half - 1n) items.push({ clamp: c, below: false, d: subFromPublic(p, c.hi, x), bound: c.hi, bits: width(c.hi) });
  }
  const bits: BShare[] = new Array(items.length);
  // Differences that fit in 64 bits: one comparison batch at the widest; differences of a
  // full-width column may wrap: those compare x with the bound over the full signed range.
  const narrow = items.flatMap((it, i) => (it.bits <= 64 ? [i] : []));
  if (narrow.length) {
    const res = await batchedCompare(p, 'lt', narrow.map((i) => items[i]!.d), Math.max(...narrow.map((i) => items[i]!.bits)) - 1, n);
    narrow.forEach((i, k) => (bits[i] = res[k]!));
  }
  for (const [i, it] of items.entries()) {
    if (it.bits <= 64) continue;
    const x = columns.get(it.clamp.column)!;
    bits[i] = it.below ? await lt(p, x, it.bound) : await lt(p, it.bound, x);
  }
  const out = new Map<string, AShare>();
  const inj = items.length ? await bitInject(p, stackPlanes(bits)) : null;
  const prods = items.length ? await mulMany(p, items.map((it, i) => [inj!.slice(i * n, (i + 1) * n), subFromPublic(p, it.bound, columns.get(it.clamp.column)!)] as [AShare, AShare])) : [];
  for (const c of plan.clamps) {
    let v = columns.get(c.column)!;
    items.forEach((it, i) => {
      if (it.clamp === c) v = add(v, prods[i]!);
    });
    out.set(c.name, v);
  }
  return out;
}

/**
 * Cell sums from one boolean indicator per cell: COUNT = Σ indicator (local) and Σ indicator·v for
 * every v (countAndSum), all cells of a chunk in two rounds.
 */
async function indicatorSums(p: Party, cells: Cells, vecs: AShare[], n: number, G: number, maxLanes: number): Promise<CellSumSlots> {
  const V = vecs.length;
  const acc = new CellSums(p, G, vecs, n);
  cells.consts.forEach((c, j) => {
    if (c !== null) acc.constant(j, c);
  });
  const per = Math.max(1, Math.floor(maxLanes / Math.max(1, n)));
  for (let s0 = 0; s0 < cells.secret.length; s0 += per) {
    const idx = cells.secret.slice(s0, s0 + per);
    // Counts and sums straight from the boolean indicators (count.ts): two rounds per chunk.
    const r = await countAndSum(p, stackPlanes(cells.planes.slice(s0, s0 + per)), vecs);
    idx.forEach((j, t) => {
      for (let slot = 0; slot <= V; slot++) acc.put(j, slot, r, t * (1 + V) + slot);
    });
  }
  if (cells.complement >= 0) {
    // The cells partition the rows: complement = totals − Σ other cells (local).
    const j0 = cells.complement;
    for (let slot = 0; slot <= V; slot++) {
      const column = acc.slots[slot]!;
      let rest = slot === 0 ? acc.rows() : acc.total(slot - 1);
      for (let j = 0; j < G; j++) if (j !== j0) rest = sub(rest, new AShare(column.a.subarray(j, j + 1), column.b.subarray(j, j + 1)));
      acc.put(j0, slot, rest);
    }
  }
  return acc.slots;
}

/**
 * Cell sums by sorting (src/mpc/group.ts) when there are many cells: each row's cell number
 * g = Σ_k index_k · stride_k (a column's code index minus an offset, or an age band as the number
 * of band thresholds passed), weights f (the filter, 0/1) and f·v, then one sort-based group-by.
 * Rows the filter drops go to cell 0 with weight 0 (their key values may be anything, e.g. a
 * LEFT JOIN miss). With COUNT(DISTINCT x) (src/mpc/distinct.ts) they go to an extra cell G instead,
 * and the rows are sorted by (cell, x): the distinct counts follow the sums (slots after vecs).
 */
async function sortedSums(p: Party, plan: QueryPlan, col: (name: string) => AShare, vecs: AShare[], n: number, G: number, distinct: string[], ordered: ReadonlySet<string>): Promise<CellSumSlots> {
  const circ = new Circuit(n);
  const atomNode = await atomCircuit(p, plan, col, n, circ);
  const leaf = (i: number) => atomNode[i]!;
  const filter = plan.filter ? circ.build(plan.filter, leaf) : circ.const(true);
  const thresholds = plan.keys.map((k) => ('thresholds' in k.index ? k.index.thresholds.map((t) => circ.build(t, leaf)) : []));
  const nodes = [filter, ...thresholds.flat()];
  const secret = [...new Set(nodes.filter((x) => circ.isConst(x) === null))];
  const bits = secret.length ? await bitInject(p, stackPlanes(await circ.evaluate(p, secret))) : null;
  const one = fromPublic(p, R.constant(n, 1n));
  const zero = new AShare(new BigUint64Array(n), new BigUint64Array(n));
  const value = (x: number): AShare => {
    const c = circ.isConst(x);
    if (c !== null) return c ? one : zero;
    const k = secret.indexOf(x);
    return bits!.slice(k * n, (k + 1) * n);
  };
  let g = zero;
  let stride = 1n;
  for (let k = plan.keys.length - 1; k >= 0; k--) {
    const key = plan.keys[k]!;
    const idx = 'offset' in key.index ? addPublic(p, col(key.column), -key.index.offset) : thresholds[k]!.reduce((acc, t) => add(acc, value(t)), zero);
    g = add(g, mulPublic(idx, stride));
    stride *= BigInt(key.labels.length);
  }
  const f = circ.isConst(filter) === true ? null : value(filter);
  const weighted = f ? await mulMany(p, [g, ...vecs].map((v) => [f, v] as [AShare, AShare])) : [g, ...vecs];
  const cols = [f ?? one, ...weighted.slice(1)];
  if (!distinct.length) return (await groupSums(p, weighted[0]!, G, cols)).map((x) => ({ a: x.a, b: x.b }));
  // Filtered rows in cell G: f·g + (1 − f)·G.
  const gAll = f ? add(weighted[0]!, mulPublic(subFromPublic(p, 1n, f), BigInt(G))) : g;
  const counted = distinct.map((c) => ({ value: col(c), bits: valueBits(valueSpec(plan, c), plan.codeLists), ordered: ordered.has(c) }));
  const r = await groupDistinct(p, gAll, G, cols, counted);
  return [...r.sums, ...r.distinct].map((x) => ({ a: x.a, b: x.b }));
}

/**
 * MIN/MAX per cell, entirely in the boolean domain (bit-sliced): the column is bit-decomposed once,
 * each cell's rows are kept by an AND with the cell's indicator bit (other rows and padding become
 * the sentinel "all ones" of the unsigned view u = x + 2^(w−1); MAX runs on ¬u, which reverses the
 * order), then a log-depth tournament over all (cell, aggregate) segments at once: each level
 * compares two halves with a bit-tree comparator (1 + ⌈log2 w⌉ rounds) and keeps the smaller with
 * a bitwise multiplexer (1 round). Halving goes word by word, then inside the last word by shifts
 * (local on XOR shares). The G·items winners are converted to arithmetic (b2a). Reveals nothing.
 */
async function minMax(p: Party, plan: QueryPlan, col: (name: string) => AShare, cellBits: BShare[], n: number,
  items: { column: string; max: boolean; index: number }[]): Promise<Map<number, AShare>> {
  const widthOf = (c: string) => valueBits(plan.dataset.columns.find((s) => s.name === c)!, plan.codeLists);
  const out = new Map<number, AShare>();
  // One tournament per column width (a 64-bit column does not widen the others).
  for (const w of [...new Set(items.map((it) => widthOf(it.column)))]) {
    const group = items.filter((it) => widthOf(it.column) === w);
    const planes = await decompose(p, col, new Map(group.map((it) => [it.column, w])), n);
    // Cells in chunks so that the masked planes stay below MINMAX_BITS bits per party.
    const per = Math.max(1, Math.floor(MINMAX_BITS / (group.length * w * Math.max(32, n))));
    const parts: Map<number, AShare>[] = [];
    for (let j = 0; j < cellBits.length; j += per) parts.push(await minMaxChunk(p, planes, w, cellBits.slice(j, j + per), n, group));
    for (const it of group) out.set(it.index, laneCat(parts.map((m) => m.get(it.index)!)));
  }
  return out;
}

/** Largest number of masked bits (cells × aggregates × width × rows) in one MIN/MAX tournament. */
const MINMAX_BITS = 2 ** 30;

async function minMaxChunk(p: Party, planes: Map<string, BShare[]>, w: number, cellBits: BShare[], n: number,
  items: { column: string; max: boolean; index: number }[]): Promise<Map<number, AShare>> {
  const G = cellBits.length;
  const W = wordsFor(n);
  const tail = lastWordLanes(n);
  // Cell bits with the padding lanes cleared (AND with a public mask is local).
  const cells = cellBits.map((c) => {
    const a = c.a.slice(), b = c.b.slice();
    if (W) {
      a[W - 1]! &= tail;
      b[W - 1]! &= tail;
    }
    return new BShare(n, 1, a, b);
  });
  // masked = ¬(cell ∧ ¬v) with v = u or ¬u per plane; u's sign plane is ¬x's.
  const notV = items.map((it) => {
    const ps = planes.get(it.column)!;
    return Array.from({ length: w }, (_, k) => {
      const uk = k === w - 1 ? not(p, ps[k]!) : ps[k]!;
      return it.max ? uk : not(p, uk); // ¬v, v = u (MIN) or ¬u (MAX)
    });
  });
  const pairs: [BShare, BShare][] = [];
  for (const cell of cells) for (let t = 0; t < items.length; t++) for (let k = 0; k < w; k++) pairs.push([cell, notV[t]![k]!]);
  const T = G * items.length;
  let S = Math.max(1, W);
  // State: plane-major, then segment, then word: index (k·T + t)·S + q.
  let a = new Uint32Array(w * T * S), b = new Uint32Array(w * T * S);
  if (W > 0) {
    const masked = await andMany(p, pairs);
    masked.forEach((m, idx) => {
      const t = Math.floor(idx / w), k = idx % w;
      const at = (k * T + t) * S;
      const nm = not(p, m);
      a.set(nm.a, at);
      b.set(nm.b, at);
    });
  } else {
    const pub = fromPublicBits(p, T * 32, w, new Uint32Array(w * T).fill(0xffffffff));
    a = pub.a.slice();
    b = pub.b.slice();
  }
  const allOnesA = p.id === 0 ? 0xffffffff : 0, allOnesB = p.id === 2 ? 0xffffffff : 0;
  const step = async (A: BShare, B: BShare): Promise<BShare> => {
    const X = xor(A, B);
    const Lk = await andMany(p, [[not(p, A), B]]);
    let Ls = Array.from({ length: w }, (_, k) => Lk[0]!.planes(k));
    let Es = Array.from({ length: w }, (_, k) => not(p, X.planes(k)));
    while (Ls.length > 1) {
      const half = Ls.length >>> 1;
      const prs: [BShare, BShare][] = [];
      for (let i = 0; i < half; i++) {
        prs.push([Es[2 * i + 1]!, Ls[2 * i]!]);
        prs.push([Es[2 * i + 1]!, Es[2 * i]!]);
      }
      const r = await andMany(p, prs);
      const nL: BShare[] = [], nE: BShare[] = [];
      for (let i = 0; i < half; i++) {
        nL.push(xor(Ls[2 * i + 1]!, r[2 * i]!));
        nE.push(r[2 * i + 1]!);
      }
      if (Ls.length % 2) {
        nL.push(Ls[Ls.length - 1]!);
        nE.push(Es[Es.length - 1]!);
      }
      Ls = nL;
      Es = nE;
    }
    const sel = stackPlanes(Array.from({ length: w }, () => Ls[0]!));
    const [m] = await andMany(p, [[sel, X]]);
    return xor(B, m!); // sel ? A : B
  };
  // Word-level halving.
  while (S > 1) {
    const S2 = Math.ceil(S / 2);
    const lanes = T * S2 * 32;
    const Aa = new Uint32Array(w * T * S2), Ab = new Uint32Array(w * T * S2);
    const Ba = new Uint32Array(w * T * S2).fill(allOnesA), Bb = new Uint32Array(w * T * S2).fill(allOnesB);
    for (let r = 0; r < w * T; r++) {
      Aa.set(a.subarray(r * S, r * S + S2), r * S2);
      Ab.set(b.subarray(r * S, r * S + S2), r * S2);
      Ba.set(a.subarray(r * S + S2, (r + 1) * S), r * S2);
      Bb.set(b.subarray(r * S + S2, (r + 1) * S), r * S2);
    }
    const R = await step(new BShare(lanes, w, Aa, Ab), new BShare(lanes, w, Ba, Bb));
    a = R.a.slice();
    b = R.b.slice();
    S = S2;
  }
  // Inside the last word: pair lane i with lane i + s.
  for (let s = 16; s >= 1; s >>= 1) {
    const sh = (x: Uint32Array) => x.map((v) => v >>> s);
    const R = await step(new BShare(T * 32, w, a, b), new BShare(T * 32, w, sh(a), sh(b)));
    a = R.a.slice();
    b = R.b.slice();
  }
  // Lane 0 of each segment: w planes of T values → arithmetic.
  const TW = wordsFor(T);
  const ra = new Uint32Array(w * TW), rb = new Uint32Array(w * TW);
  for (let k = 0; k < w; k++) {
    for (let t = 0; t < T; t++) {
      ra[k * TW + (t >>> 5)]! |= (a[k * T + t]! & 1) << (t & 31);
      rb[k * TW + (t >>> 5)]! |= (b[k * T + t]! & 1) << (t & 31);
    }
  }
  const r = new BShare(T, w, ra, rb);
  const u = await b2a(p, r); // min of u (or of ¬u for MAX)
  const out = new Map<number, AShare>();
  const bias = 1n << BigInt(w - 1);
  const top = (1n << BigInt(w)) - 1n;
  items.forEach((it, t) => {
    const v = pickLanes(u, Array.from({ length: G }, (_, j) => j * items.length + t));
    // x = u − 2^(w−1); for MAX, u = (2^w − 1) − result.
    out.set(it.index, it.max ? subFromPublic(p, top - bias, v) : addPublic(p, v, -bias));
  });
  return out;
}
