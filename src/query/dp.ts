// Output protection for a planned query: differential privacy on every released aggregate, for the
// whole SQL subset (one register, joins, EXISTS, GROUP BY up to 65 536 cells, HAVING), with the
// noise drawn jointly inside MPC. Reveals nothing itself (public planning); what a protected run
// reveals is differentially private in the person, add/remove one person's rows in every register.
//
// API (everything a node and a requester need):
//   noiseForPlan(plan, join, { mechanism: 'laplace' | 'gaussian', epsilon, delta? }) → PlanNoise
//       what to noise, how, and what one run costs; throws QueryError saying why a query cannot
//       run protected and what to change (declare a bound, clamp, drop MIN/MAX, filter on a key).
//   runQuery / runJoinQuery(…, { noise: PlanNoise })         execute.ts adds the noise in MPC
//   protectionErrors(plan, noise, row) → { sd, half95 }[]     per output column of a released row
//   protectionText(plan, noise) → string                      what was added and why, for users
//
// What is noised (references: Dwork–Roth, "The Algorithmic Foundations of Differential Privacy",
// 2014, Thm 3.6 (Laplace mechanism), 3.16 (composition), Prop. 2.1 (post-processing);
// Ghosh–Roughgarden–Sundararajan, STOC 2009 (the geometric mechanism, discrete Laplace);
// Canonne–Kamath–Steinke, NeurIPS 2020 (discrete Gaussian), Bun–Steinke TCC 2016 (zCDP)):
//   - base sums per cell, computed in MPC: COUNT, SUM(x) for every x that SUM, AVG, VARIANCE or
//     STDDEV reads, SUM(x²) for VARIANCE/STDDEV, and COUNT(DISTINCT x) (Δ = m for the person id:
//     one person is one of a cell's persons, in at most m cells; Δ = R for other columns). Only these are noised; AVG = SUM/COUNT,
//     VAR_POP = SUM(x²)/N − AVG², VAR_SAMP = VAR_POP·N/(N−1) and STDDEV = √max(VAR, 0) are
//     computed inside MPC FROM THE NOISY SUMS (post-processing: no further privacy cost). The
//     small-cell rule and HAVING compare noisy values. MIN and MAX release one person's value
//     and are refused (a noisy histogram, COUNT(*) … GROUP BY a value range, answers instead).
//   - privacy unit: a person. R = at most how many rows of the query's input one person has
//     (contribution.ts: unique person id → 1; maxRowsPerPerson; keys fixed by the filter; joins:
//     the many side's R, EXISTS tables add nothing). A person's rows fall into at most
//     m = min(R, cells) cells; over ALL cells together they change COUNT by ≤ Δ = R, SUM(x) by
//     ≤ Δ = R·B with B = max(|lo|, |hi|) of x (declared bounds, or LEAST/GREATEST clamps in the
//     query; bool: 1) and SUM(x²) by ≤ R·B². A SUM without bounds is refused (clamp it).
//   - ε of a run is split evenly over the k noised base sums, ε_k = ε/k (δ likewise for the
//     Gaussian); the run's cost is the sum of the realised costs (Dwork–Roth Thm 3.16).
//   - lattice: a base sum s (ring units; decimals carry FRAC = 16 fractional bits) is rounded to
//     t ∈ {⌊s/2^j⌋, ⌊s/2^j⌋ + 1} inside MPC (fixed.ts truncation), noise Z of scale Δ′/ε_k is added
//     on the integers and (t + Z)·2^j is released. The rounding moves each cell by < 1 lattice
//     unit, so Δ′ = ⌈Δ/2^j⌉ + 2m − 1 lattice units (m = 1: ⌈Δ/2^j⌉ + 1); j = 0: no rounding,
//     Δ′ = Δ. Laplace: j keeps Δ/2^j ≥ 64·(2m − 1), so rounding adds ≤ 1/64 to the noise scale;
//     Gaussian: j is the smallest that keeps the inverse-CDF sampler at K ≤ 1 024 thresholds.
//   - samplers: the discrete Laplace from the binary digits of a geometric variable
//     (src/mpc/geometric-noise.ts; L + 1 biased coins per value, L ≈ log2(44·scale): cost
//     logarithmic in the scale; certified δ ≈ 1e−18·(L + 1)·e^ε per cell); the discrete Gaussian
//     by inverse CDF (src/mpc/noise.ts; cost K + 1 ≈ 7.5σ comparisons per value).
//   - cost per base sum: Laplace (ε_k, m·δ̃) with δ̃ geometric-noise.ts's bound for one cell (basic
//     composition over the ≤ m cells one person reaches, whose shifts add up to ≤ Δ′); Gaussian
//     m = 1: (ε_k, δ(ε_k)) of the realised table (noise.ts privacyLoss, exact); m > 1: the zCDP
//     target δ_k (L2 ≤ L1 = Δ′) plus the table's total-variation distance from the exact discrete
//     Gaussian, m·τ·(1 + e^{ε_k}).
// Accuracy for readers (protectionErrors): COUNT and SUM exactly (sd of the sampled noise, times
// 2^j, plus at most 2^j/2 of rounding sd); AVG, VARIANCE and STDDEV by the delta method from the
// released noisy values of the same row (they need the row's COUNT(*), and for VARIANCE/STDDEV
// its AVG(x) or SUM(x): SELECT them too; otherwise NaN).
import { geometricHalfWidth, geometricLoss, geometricSd, geometricTable, type GeometricTable } from '../mpc/geometric-table.js';
import { exactPmf, gaussianFor, noiseTable, privacyLoss, tablePmf, type NoiseTable } from '../mpc/noise-table.js';
import { contributionBound } from './contribution.js';
import type { JoinPlan } from './join-plan.js';
import { distinctValues, FRAC, QueryError, type QueryPlan, summedValues, valueOf, valueSpec, varianceShift } from './plan.js';
import type { Display } from './plan.js';

export interface DpRequest {
  mechanism: 'laplace' | 'gaussian';
  /** Epsilon of one run of the query. */
  epsilon: number;
  /** Gaussian: delta of one run. */
  delta?: number;
}

/** One base sum per cell, noised. */
export interface NoisySum {
  /** What is summed per row: 1 (COUNT), the value x (SUM), x² (VARIANCE, STDDEV), or 1 per distinct x (COUNT(DISTINCT x)). */
  kind: 'count' | 'sum' | 'sumsq' | 'distinct';
  /** The value (a column or clamp of the plan, valueSpec); null for COUNT. */
  value: string | null;
  /** count(*), sum(x) or sum(x²), for messages. */
  text: string;
  /** B: largest |x| (or x²) of one row, in the sum's ring units (decimals: ·2^FRAC). */
  rowBound: number;
  /** Δ: what one person changes this sum by, over all cells together (ring units). */
  sensitivity: number;
  /** j: the sum is rounded to multiples of 2^j before the noise (0: not rounded). */
  latticeBits: number;
  /** Δ′: the sensitivity in lattice units, the ±1 of rounding included. */
  latticeSensitivity: number;
  epsilon: number;
  delta?: number;
  /** The distribution sampled, in lattice units. */
  sampler: GeometricTable | NoiseTable;
  /** What this sum's noise costs. */
  cost: { epsilon: number; delta: number };
  /** Standard deviation and 95 % half-width of the error added to this sum (ring units). */
  sd: number;
  half95: number;
}

export interface PlanNoise {
  mechanism: 'laplace' | 'gaussian';
  epsilon: number;
  delta?: number;
  /** R: rows of the query's input one person has at most. */
  rowsPerPerson: number;
  /** m = min(R, cells): cells one person's rows can fall into. */
  cellsPerPerson: number;
  /** sums[0] is COUNT(*); then SUM(x) per value, SUM(x²) per value, COUNT(DISTINCT x) per value (execute.ts's order). */
  sums: NoisySum[];
  /** What one run spends: Σ of the sums' costs. */
  cost: { epsilon: number; delta: number };
}

const err = (m: string): never => {
  throw new QueryError(`differential privacy: ${m}`);
};

/** Largest K (thresholds per value) the Gaussian's lattice is chosen to keep below. */
const GAUSS_K = 1024;
/** Laplace: Δ/2^j ≥ LAPLACE_UNITS·(2m − 1), so rounding adds ≤ 1/LAPLACE_UNITS to the scale. */
const LAPLACE_UNITS = 64;

const isVar = (fn: string) => fn.startsWith('var') || fn.startsWith('stddev');

/** Noise, lattice and cost for every base sum of `plan` (the plan run; `join` when over joined registers). */
export function noiseForPlan(plan: QueryPlan, join: JoinPlan | null, dp: DpRequest): PlanNoise {
  if (!(dp.epsilon > 0) || !Number.isFinite(dp.epsilon)) err(`epsilon must be a positive number, got ${dp.epsilon}`);
  if (dp.mechanism !== 'laplace' && dp.mechanism !== 'gaussian') err(`unknown mechanism '${String(dp.mechanism)}' (laplace or gaussian)`);
  if (dp.mechanism === 'gaussian' && !(dp.delta! > 0 && dp.delta! < 1)) err('the discrete Gaussian needs a per-query delta in (0, 1)');
  for (const a of plan.aggregates) {
    if (a.fn === 'min' || a.fn === 'max') {
      err(`${a.text} releases one person's exact value (the smallest or largest), which no amount of noise on it protects; ask for a noisy histogram instead, e.g. COUNT(*) … GROUP BY a range of ${a.column} (an int column with a declared range of ≤ 256 values, or age_band(...)), or a clamped SUM/AVG`);
    }
  }
  const R = contributionBound(plan, join);
  const G = plan.keys.reduce((n, k) => n * k.labels.length, 1);
  const m = Math.min(R, G);
  const { sums: sumVals, squares } = summedValues(plan);
  const bound = (v: string): number => {
    const s = valueSpec(plan, v);
    if (s.type === 'bool') return 1;
    const lo = Number(s.min), hi = Number(s.max);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      const src = plan.clamps.find((c) => c.name === v)?.column ?? v;
      return err(`SUM, AVG, VARIANCE and STDDEV of ${src} need bounds on what one row adds, and ${src} has ${s.min === undefined && s.max === undefined ? 'no declared min and max' : `no declared ${s.min === undefined ? 'min' : 'max'}`}: clamp it in the query, e.g. SUM(LEAST(GREATEST(${src}, 0), 1000000)) or AVG(LEAST(${src}, 1000000)) (bounds of your choice; they define the noise)`);
    }
    const scale = s.type === 'decimal' ? 2 ** FRAC : 1;
    return Math.ceil(Math.max(Math.abs(lo), Math.abs(hi)) * scale);
  };
  const specs: { kind: NoisySum['kind']; value: string | null; text: string; rowBound: number }[] = [
    { kind: 'count', value: null, text: 'count(*)', rowBound: 1 },
    ...sumVals.map((v) => ({ kind: 'sum' as const, value: v, text: `sum(${v})`, rowBound: bound(v) })),
    ...squares.map((v) => {
      const spec = valueSpec(plan, v), k = varianceShift(spec);
      // Decimal squares, and those of a wide int column (x/2^k: execute.ts), are fixed-point
      // products, each rounded up by at most one unit.
      const B = k > 0 ? bound(v) * 2 ** (FRAC - k) : bound(v), fix = k > 0 || spec.type === 'decimal';
      return { kind: 'sumsq' as const, value: v, text: `sum(${v}²)`, rowBound: fix ? Math.ceil((B * B) / 2 ** FRAC) + 1 : B * B };
    }),
    ...distinctValues(plan).map((v) => ({ kind: 'distinct' as const, value: v, text: `count(distinct ${v})`, rowBound: 1 })),
  ];
  const k = specs.length;
  const eps = dp.epsilon / k;
  const delta = dp.mechanism === 'gaussian' ? dp.delta! / k : undefined;
  // A count of distinct persons moves by at most 1 in each of the m cells one person reaches; other
  // distinct counts by at most R over all cells (one new value per row), like COUNT.
  const persons = (v: string | null) => plan.aggregates.some((a) => a.fn === 'count_distinct' && a.column === v && a.persons);
  const sums = specs.map((s) => noisySum(s, s.kind === 'distinct' && persons(s.value) ? m : R, m, eps, delta, dp.mechanism));
  const cost = sums.reduce((c, s) => ({ epsilon: c.epsilon + s.cost.epsilon, delta: c.delta + s.cost.delta }), { epsilon: 0, delta: 0 });
  return { mechanism: dp.mechanism, epsilon: dp.epsilon, ...(delta !== undefined ? { delta: dp.delta } : {}), rowsPerPerson: R, cellsPerPerson: m, sums, cost };
}

/** Lattice, sampler and cost of one base sum (see the module comment). */
function noisySum(s: { kind: NoisySum['kind']; value: string | null; text: string; rowBound: number }, R: number, m: number, eps: number, delta: number | undefined, mechanism: 'laplace' | 'gaussian'): NoisySum {
  const sensitivity = R * s.rowBound;
  if (!Number.isSafeInteger(sensitivity)) err(`${s.text}: one person can change it by ${sensitivity}, beyond what the noise can be calibrated to (2^53); clamp the value to narrower bounds`);
  const latticeOf = (j: number) => (j === 0 ? sensitivity : Math.ceil(sensitivity / 2 ** j) + 2 * m - 1);
  let j = 0, sampler: GeometricTable | NoiseTable, cost: { epsilon: number; delta: number };
  if (mechanism === 'laplace') {
    j = Math.max(0, Math.floor(Math.log2(sensitivity / (LAPLACE_UNITS * (2 * m - 1)))));
    const d = latticeOf(j);
    // s slightly above Δ′/ε_k so that Δ′/s ≤ ε_k holds in floating point.
    let t: GeometricTable;
    try {
      t = geometricTable((d / eps) * (1 + 1e-12));
    } catch (e) {
      return err(`${s.text}: noise of scale ${d / eps} (sensitivity ${d} at epsilon ${eps}) cannot be sampled (${(e as Error).message}); use a larger epsilon or narrower bounds`);
    }
    sampler = t;
    cost = { epsilon: eps, delta: m * geometricLoss(t, eps) };
  } else {
    // The smallest j whose table stays below GAUSS_K thresholds, else the j with the fewest.
    const sigma1 = (gaussianFor(eps, delta!, 1) as { sigma: number }).sigma;
    if (s.kind !== 'count') {
      for (let i = 1; 7.5 * latticeOf(j) * sigma1 > GAUSS_K && 2 ** (i - 1) < sensitivity; i++) if (latticeOf(i) < latticeOf(j)) j = i;
    }
    const d = latticeOf(j);
    let t: NoiseTable;
    try {
      t = noiseTable(gaussianFor(eps, delta!, d));
    } catch (e) {
      return err(`${s.text}: the discrete Gaussian for sensitivity ${d} at epsilon ${eps} is too wide to sample (${(e as Error).message}); use the Laplace mechanism, a larger epsilon or a smaller contribution bound`);
    }
    sampler = t;
    cost = { epsilon: eps, delta: m === 1 ? privacyLoss(t, d, eps) : delta! + m * totalVariation(t) * (1 + Math.exp(eps)) };
  }
  const unit = 2 ** j;
  const [zsd, zh] = 'weights' in sampler ? tableSpread(sampler) : [geometricSd(sampler), geometricHalfWidth(sampler)];
  const sd = unit * Math.sqrt(zsd * zsd + (j > 0 ? 0.25 : 0));
  const half95 = unit * (zh + (j > 0 ? 1 : 0));
  return { ...s, sensitivity, latticeBits: j, latticeSensitivity: latticeOf(j), epsilon: eps, ...(delta !== undefined ? { delta } : {}), sampler, cost, sd, half95 };
}

/** Σ_z |q(z) − p(z)| plus the truncated tail: the table's distance from the exact distribution. */
function totalVariation(t: NoiseTable): number {
  const p = exactPmf(t.spec);
  let tv = t.tailMass;
  for (let z = -t.K; z <= t.K; z++) tv += Math.abs(tablePmf(t, z) - p(z));
  return tv;
}

/** sd and 95 % half-width of an inverse-CDF table's distribution. */
function tableSpread(t: NoiseTable): [number, number] {
  let v = 0, mass = tablePmf(t, 0), h = 0;
  for (let z = 1; z <= t.K; z++) v += 2 * z * z * tablePmf(t, z);
  while (mass < 0.95 && h < t.K) mass += 2 * tablePmf(t, ++h);
  return [Math.sqrt(v), h];
}

// ---------------------------------------------------------------------------------------------
// For the requester: the error the protection added, per released value.

export interface ProtectionError {
  /** Standard deviation of the error (0 for group keys), in the output's own units. */
  sd: number;
  /** Half-width of a 95 % interval around the released value. */
  half95: number;
}

/**
 * Per output column of a released `row` (plan.outputs order): the error the protection added.
 * COUNT and SUM: the sampled noise's own sd (times the lattice unit, plus rounding) and exact 95 %
 * half-width. AVG, VARIANCE, STDDEV: delta method at the released noisy values, reading the row's
 * COUNT(*) (N̂) and AVG(x) or SUM(x) (the mean) when the query SELECTs them; NaN otherwise.
 * Pure: needs only the plan, the noise description and the row.
 */
export function protectionErrors(plan: QueryPlan, noise: PlanNoise, row: Display[]): ProtectionError[] {
  const sumOf = (kind: NoisySum['kind'], value: string | null) => noise.sums.find((s) => s.kind === kind && s.value === value);
  const scaleOf = (v: string) => (valueSpec(plan, v).type === 'decimal' ? 2 ** FRAC : 1);
  // Variances of the noisy base sums in real units (SUM(x²) of decimals and wide ints is fixed point too).
  const varOf = (kind: NoisySum['kind'], v: string | null) => {
    const s = sumOf(kind, v);
    if (!s) return NaN;
    const sc = v === null ? 1 : kind === 'sumsq' ? squareScale(plan, v) : scaleOf(v);
    return (s.sd / sc) ** 2;
  };
  const outputOf = (fn: string, v: string | null): number => {
    const i = plan.outputs.findIndex((o) => o.kind === 'agg' && plan.aggregates[o.agg]!.fn === fn && valueOf(plan.aggregates[o.agg]!) === v);
    return i < 0 ? NaN : Number(row[i]);
  };
  const N = outputOf('count', null);
  const meanOf = (v: string) => {
    const avg = outputOf('avg', v);
    return Number.isFinite(avg) ? avg : outputOf('sum', v) / N;
  };
  const countOf = (v: string, value: number) => (Number.isFinite(N) ? N : outputOf('sum', v) / value);
  return plan.outputs.map((o, i) => {
    if (o.kind === 'key') return { sd: 0, half95: 0 };
    const a = plan.aggregates[o.agg]!;
    const v = valueOf(a);
    if (a.fn === 'count' || a.fn === 'sum' || a.fn === 'count_distinct') {
      const s = a.fn === 'count_distinct' ? sumOf('distinct', a.column) : sumOf(a.fn, a.fn === 'count' ? null : v);
      if (!s) return { sd: NaN, half95: NaN };
      const sc = a.fn === 'sum' ? scaleOf(v!) : 1;
      return { sd: s.sd / sc, half95: s.half95 / sc };
    }
    if (a.fn === 'min' || a.fn === 'max') return { sd: NaN, half95: NaN }; // never released with noise
    const x = Number(row[i]);
    const vN = varOf('count', null), vS = varOf('sum', v);
    let sd: number;
    if (a.fn === 'avg') {
      const n = countOf(v!, x);
      sd = Math.sqrt(vS + x * x * vN) / n;
    } else {
      const vQ = varOf('sumsq', v), n = N, mean = meanOf(v!);
      const samp = a.fn === 'var_samp' || a.fn === 'stddev_samp';
      const variance = a.fn.startsWith('stddev') ? x * x : x;
      const varV = (vQ + 4 * mean * mean * vS + (mean * mean - variance) ** 2 * vN) / (samp ? n - 1 : n) ** 2;
      sd = a.fn.startsWith('stddev') ? (x > 0 ? Math.sqrt(varV) / (2 * x) : Math.sqrt(Math.sqrt(varV))) : Math.sqrt(varV);
    }
    return { sd, half95: 1.96 * sd };
  });
}

/** Ring units of SUM(x²) per real unit of x²: 2^FRAC for decimals, 2^FRAC/4^k for a wide int (x/2^k), else 1. */
function squareScale(plan: QueryPlan, v: string): number {
  const s = valueSpec(plan, v), k = varianceShift(s);
  return k > 0 ? 2 ** FRAC / 4 ** k : s.type === 'decimal' ? 2 ** FRAC : 1;
}

/** Rounds for display: 3 significant digits. */
const fmt = (x: number) => (x >= 100 ? String(Math.round(Number(x.toPrecision(3)))) : String(Number(x.toPrecision(3))));

/** A short text for users: what the protection added and why. */
export function protectionText(plan: QueryPlan, noise: PlanNoise): string {
  const what = noise.mechanism === 'laplace' ? 'discrete Laplace' : 'discrete Gaussian';
  const parts = noise.sums.map((s) => {
    const sc = s.value === null || s.kind === 'distinct' ? 1 : s.kind === 'sumsq' ? squareScale(plan, s.value) : valueSpec(plan, s.value).type === 'decimal' ? 2 ** FRAC : 1;
    const name = s.kind === 'count' ? 'each count' : s.kind === 'sum' ? `each SUM(${s.value})` : s.kind === 'distinct' ? `each COUNT(DISTINCT ${s.value})` : `each SUM(${s.value}²) (inside VARIANCE/STDDEV)`;
    return `${name} ± ${fmt(s.half95 / sc)}`;
  });
  const derived = plan.aggregates.some((a) => a.fn === 'avg' || isVar(a.fn));
  const dp = `differential privacy ε = ${noise.epsilon}${noise.delta !== undefined ? `, δ = ${noise.delta}` : ''}`;
  return [
    `Protected result (${dp}): ${parts.join('; ')} (95 %).`,
    `${what[0]!.toUpperCase()}${what.slice(1)} noise was drawn jointly by the three nodes inside MPC and added to every count and sum before anything was released; each person counts with up to ${noise.rowsPerPerson} row${noise.rowsPerPerson > 1 ? 's' : ''}.`,
    ...(derived ? ['Averages, variances and standard deviations are computed from the noisy sums; their error per cell depends on the cell size (protectionErrors).'] : []),
    'Why: so that no query, and no combination of queries (for example two counts that differ by one person), reveals anything about one person.',
  ].join(' ');
}
