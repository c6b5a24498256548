// The statistics: for each function, what the nodes compute inside MPC on the analysis table
// (a "job": masked sums, cell sums, or a model fit), what is revealed to the requester, how it is
// protected, and how the requester turns the revealed numbers into R's table.
//
// Functions, with what each REVEALS to the requester (nothing to any node) and its protection
// under the default node settings (differential privacy; privacy unit: a person, R rows per
// person from the schemas, src/query/contribution.ts; each sum's ε share = ε / number of noised
// blocks, discrete Laplace with scale Δ/ε_share drawn inside MPC, src/mpc/geometric-noise.ts):
//   t.test(y ~ g)       Welch, two groups (Welch 1947). Reveals n, Σy, Σy² per group: 6 noisy sums,
//                       Δ = R·(1, B, B²) with B = max|y|. R: t.test(y ~ g). Protected: t, df, p and
//                       the CI are withheld (with a note) when a group's variance is noise-dominated.
//   cor(~ x + y)        Pearson with cor.test's t, p and Fisher-z 95 % CI. Reveals n, Σx, Σy, Σx²,
//                       Σy², Σxy: 6 noisy sums. R: cor(x, y), cor.test(x, y)
//   lm(y ~ …)           least squares from the noisy cross-product matrix [X y]'[X y] (sufficient
//                       statistics perturbation; Vu–Slavković 2009): (p+1)(p+2)/2 noisy sums,
//                       Δ_jk = R·B_j·B_k. Coefficients, SE, t, p, R², adjusted R², residual SE,
//                       F; aliased (collinear) columns reported as NA like R. R: summary(lm(…))
//   chisq.test(~ a + b) Pearson's X² (Yates' correction on 2×2, as R) from the noisy contingency
//                       table (one histogram, Δ = R). R: chisq.test(table(a, b))
//   oddsratio(y ~ x [+ strata(s)])  odds ratio and risk ratio with Wald 95 % CIs per 2×2 table,
//                       Mantel–Haenszel across strata (Robins–Breslow–Greenland CI for the OR,
//                       Greenland–Robins for the RR, MH χ² with continuity correction) from the
//                       noisy 2×2(×K) counts. R: mantelhaen.test(); the Wald formulas in base R
//   quantile / median / hist(~ x)   from the noisy histogram of x over its public domain (unit
//                       bins, or the breaks given); exact mode: the exact histogram, so type-7
//                       quantiles equal R's quantile(). Reveals the histogram.
//   survfit / survdiff(Surv(t, e) ~ g)  Kaplan–Meier (log CI, Greenwood) and the log-rank test from
//                       the noisy life table: exits and events per group and time bin (one person:
//                       one exit, at most one event), numbers at risk as suffix sums. Reveals the
//                       life table at the bin width chosen (--bin). R: survfit, survdiff
//   glm, coxph          see src/stats/glm.ts (fits inside MPC; only the estimates are revealed)
// Disclosure rules (DataSHIELD-style, applied to what is revealed, i.e. to noisy values under
// protection): models need every factor level to have ≥ minCellSize persons, at most 0.33·N
// parameters and N > parameters (no saturated model); tables show cells < minCellSize as
// suppressed; survival curves end where fewer than minCellSize are at risk.
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { contributionBound } from '../query/contribution.js';
import { planAnalysis, type AnalysisPlan } from '../query/analysis-plan.js';
import type { RowColumn } from '../query/row-plan.js';
import { pchisq, pnorm, pt, qnorm, qt } from './distributions.js';
import { cholesky, cholInverse, cholSolve, fromUpper } from './linalg.js';
import { designOf, fail, parseFormula, type Design, type DesignColumn, type ParsedFormula } from './model.js';
import { keySize, type CellKey, type ColRef } from './cells.js';
import { ratiosOf, STAT_NAMES, type CoefficientRow, type StatRequest, type StatResult, type SurvivalCurve } from './shapes.js';

export { STAT_NAMES, type StatName, type StatRequest, type StatResult } from './shapes.js';

export type Job =
  | { kind: 'sums'; monomials: ColRef[][] }
  | { kind: 'cells'; keys: CellKey[]; weights: ColRef[] }
  | { kind: 'model'; model: import('./model-job.js').ModelJob };

export interface StatPlan {
  request: StatRequest;
  analysis: AnalysisPlan;
  formula: ParsedFormula;
  design: Design | null;
  job: Job;
  /** R: rows of the analysis table one person has at most (privacy unit). */
  rowsPerPerson: number;
  /** The table's column metadata by name. */
  column: (name: string) => RowColumn;
}

/** Noise of one block of released lanes: discrete Laplace of scale sensitivity/epsilon. */
export interface NoiseBlock {
  label: string;
  lanes: number;
  sensitivity: number;
  epsilon: number;
  scale: number;
}

export interface StatNoise {
  epsilon: number;
  blocks: NoiseBlock[];
}


export function planStat(req: StatRequest, datasets: Map<string, { schema: DatasetSchema; codeLists: CodeList[] }>): StatPlan {
  if (!(STAT_NAMES as readonly string[]).includes(req.fn)) fail(`unknown statistic '${req.fn}' (${STAT_NAMES.join(', ')})`);
  const full = planAnalysis(req.data, datasets);
  const parsed = parseFormula(req.formula, full.columns, full.codeLists);
  // The table as the statistic uses it: only the formula's columns (the nodes plan the same).
  const used = new Set([...parsed.terms.map((t) => t.column), ...(parsed.offset ? [parsed.offset] : [])]);
  if (parsed.response?.kind === 'column') used.add(parsed.response.column);
  if (parsed.response?.kind === 'surv') (used.add(parsed.response.time), used.add(parsed.response.event));
  const analysis = used.size && used.size < full.columns.length ? planAnalysis(req.data, datasets, used) : full;
  const cols = analysis.columns;
  const formula = analysis === full ? parsed : parseFormula(req.formula, cols, analysis.codeLists);
  const column = (name: string) => cols.find((c) => c.name === name) ?? fail(`no column ${name}`);
  const rowsPerPerson = (() => {
    try {
      return contributionBound(analysis.join.plan, analysis.join);
    } catch {
      return Infinity; // only protected runs need it (noiseFor refuses then)
    }
  })();
  const base = { request: req, analysis, formula, rowsPerPerson, column };
  const ref = (d: DesignColumn): ColRef[] => (d.kind === 'intercept' ? [] : d.kind === 'numeric' ? [{ column: d.column }] : [{ column: d.column, level: d.level }]);
  const needResponse = () => (formula.response?.kind === 'column' ? formula.response.column : fail(`${req.fn} needs a response: y ~ …`));
  const numeric = (name: string) => {
    const c = column(name);
    if (c.type === 'code') fail(`${name} is a code column (a factor); ${req.fn} needs a number`);
    if (c.type === 'decimal') fail(`${name} is a decimal column; ${req.fn} supports integers, dates and bools so far`);
    return c;
  };
  const factorKey = (name: string): CellKey => {
    const c = column(name);
    if (c.type === 'decimal' || c.type === 'date') fail(`${name} (${c.type}) is not discrete: use a bool, code or int column`);
    if (c.max - c.min + 1 > 4096) fail(`${name} has ${c.max - c.min + 1} values; at most 4096 cells per key`);
    return { column: name, kind: 'factor', min: c.min, size: c.max - c.min + 1 };
  };
  const two = (name: string, what: string) => {
    const k = factorKey(name);
    if (k.kind !== 'factor' || k.size !== 2) fail(`${what} ${name} must have exactly 2 levels (a bool, or a code/int column with two values); it has ${keySize(k)}`);
    return k;
  };
  switch (req.fn) {
    case 't.test': {
      const y = needResponse();
      numeric(y);
      if (formula.terms.length !== 1) fail('t.test: write y ~ g (one grouping column with two levels)');
      const g = two(formula.terms[0]!.column, 'the grouping column') as Extract<CellKey, { kind: 'factor' }>;
      const hi = { column: g.column, level: g.min + 1 };
      return { ...base, design: null, job: { kind: 'sums', monomials: [[], [hi], [{ column: y }], [hi, { column: y }], [{ column: y }, { column: y }], [hi, { column: y }, { column: y }]] } };
    }
    case 'cor': {
      if (formula.response || formula.terms.length !== 2 || formula.terms.some((t) => t.factor)) fail('cor: write ~ x + y (two numeric columns)');
      const [x, y] = formula.terms.map((t) => t.column) as [string, string];
      numeric(x);
      numeric(y);
      const X = { column: x }, Y = { column: y };
      return { ...base, design: null, job: { kind: 'sums', monomials: [[], [X], [Y], [X, X], [Y, Y], [X, Y]] } };
    }
    case 'lm': {
      const y = needResponse();
      numeric(y);
      if (formula.offset) fail('lm: offset() is for glm');
      const design = designOf(formula, cols);
      if (design.columns.length === 0) fail('lm: the model has no columns');
      // Numeric columns and y centred at public midpoints of their domains (with an intercept): the
      // same fit, smaller sums (exact arithmetic needs fewer bits; noise scales with |x − c|).
      const mid = (c: { min: number; max: number }) => (formula.intercept ? Math.round((c.min + c.max) / 2) : 0);
      const cref = (d: DesignColumn): ColRef[] => (d.kind === 'numeric' ? [{ column: d.column, shift: mid(d) }] : ref(d));
      const D = [...design.columns.map(cref), [{ column: y, shift: mid(column(y)) }]];
      const monomials: ColRef[][] = [];
      if (!formula.intercept) monomials.push([]); // n
      for (let i = 0; i < D.length; i++) for (let j = i; j < D.length; j++) monomials.push([...D[i]!, ...D[j]!]);
      return { ...base, design, job: { kind: 'sums', monomials } };
    }
    case 'chisq.test': {
      if (formula.response || formula.terms.length !== 2) fail('chisq.test: write ~ a + b (two discrete columns)');
      return { ...base, design: null, job: { kind: 'cells', keys: formula.terms.map((t) => factorKey(t.column)), weights: [{ column: '' }] } };
    }
    case 'oddsratio': {
      const y = needResponse();
      const strata = formula.terms.filter((t) => t.strata);
      if (formula.terms.length - strata.length !== 1) fail('oddsratio: write outcome ~ exposure [+ strata(s)]');
      const x = formula.terms.find((t) => !t.strata)!.column;
      const keys: CellKey[] = [...strata.map((s) => factorKey(s.column)), two(x, 'the exposure'), two(y, 'the outcome')];
      return { ...base, design: null, job: { kind: 'cells', keys, weights: [{ column: '' }] } };
    }
    case 'quantile':
    case 'median':
    case 'hist': {
      if (formula.response || formula.terms.length !== 1) fail(`${req.fn}: write ~ x (one numeric column)`);
      const x = formula.terms[0]!.column;
      const c = numeric(x);
      let key: CellKey;
      if (req.breaks) {
        const b = req.breaks;
        if (b.length < 2 || b.some((v, i) => i > 0 && !(v > b[i - 1]!))) fail('breaks must be at least two ascending numbers');
        if (b[0]! > c.min || b[b.length - 1]! < c.max) fail(`breaks must cover the domain of ${x}, [${c.min}, ${c.max}] (public bounds)`);
        key = { column: x, kind: 'bins', thresholds: b.slice(1, -1) };
      } else {
        if (c.max - c.min + 1 > 1 << 16) fail(`${x} has ${c.max - c.min + 1} possible values; give --breaks`);
        key = { column: x, kind: 'factor', min: c.min, size: c.max - c.min + 1 };
      }
      if (req.fn !== 'hist' && key.kind !== 'factor') fail(`${req.fn} needs unit bins over the domain of ${x} (omit --breaks)`);
      return { ...base, design: null, job: { kind: 'cells', keys: [key], weights: [{ column: '' }] } };
    }
    case 'survfit':
    case 'survdiff': {
      const r = formula.response;
      if (r?.kind !== 'surv') fail(`${req.fn}: write Surv(time, event) ~ group (or ~ 1)`);
      const { time, event } = r as { time: string; event: string };
      const tc = numeric(time);
      if (column(event).type !== 'bool') fail(`${event}: the event column must be a bool (TRUE = the event happened)`);
      if (tc.min < 0) fail(`${time}: survival times must be ≥ 0 (bounds [${tc.min}, ${tc.max}])`);
      if (formula.terms.length > 1) fail(`${req.fn}: at most one grouping column`);
      if (req.fn === 'survdiff' && formula.terms.length !== 1) fail('survdiff: write Surv(time, event) ~ group');
      const w = req.bin ?? 1;
      if (!Number.isInteger(w) || w < 1) fail('bin must be a positive integer (time units per interval)');
      const T = Math.floor((tc.max - tc.min) / w) + 1;
      if (T > 4096) fail(`${T} time intervals: at most 4096 (use a wider --bin)`);
      const tkey: CellKey = w === 1 ? { column: time, kind: 'factor', min: tc.min, size: T } : { column: time, kind: 'bins', thresholds: Array.from({ length: T - 1 }, (_, k) => tc.min + (k + 1) * w) };
      const keys = [...formula.terms.map((t) => factorKey(t.column)), tkey];
      return { ...base, design: null, job: { kind: 'cells', keys, weights: [{ column: '' }, { column: event }] } };
    }
    case 'glm':
    case 'coxph': {
      // Lazily: model-job.ts builds the model job (statistic.ts planStatistic).
      return { ...base, design: designOf(formula, cols), job: { kind: 'model', model: null as never } };
    }
  }
}

/** Number of released lanes of a sums/cells job. */
export function laneCount(plan: StatPlan): number {
  const j = plan.job;
  if (j.kind === 'sums') return j.monomials.length;
  if (j.kind === 'cells') return j.keys.reduce((m, k) => m * keySize(k), 1) * j.weights.length;
  throw new Error('laneCount: model jobs release their estimates');
}

/** Largest |value| a ColRef contributes per row (indicators and `valid` 1). */
function refBound(plan: StatPlan, r: ColRef): number {
  if (r.column === '' || r.level !== undefined) return 1;
  const c = plan.column(r.column);
  const s = r.shift ?? 0;
  return Math.max(Math.abs(c.min - s), Math.abs(c.max - s));
}

/**
 * The noise a protected run adds to a sums/cells job at `epsilon` (split evenly over the blocks):
 * per monomial Δ = R·Π bounds; per cell weight Δ = R·bound (a person's rows fall in ≤ R cells).
 */
export function noiseFor(plan: StatPlan, epsilon: number): StatNoise {
  if (!(epsilon > 0)) fail(`epsilon must be positive, got ${epsilon}`);
  const R = plan.rowsPerPerson;
  if (!Number.isFinite(R)) {
    contributionBound(plan.analysis.join.plan, plan.analysis.join); // throws the reason
  }
  const j = plan.job;
  const blocks: Omit<NoiseBlock, 'epsilon' | 'scale'>[] = [];
  if (j.kind === 'sums') j.monomials.forEach((m, i) => blocks.push({ label: `sum ${i}`, lanes: 1, sensitivity: R * m.reduce((s, r) => s * refBound(plan, r), 1) }));
  else if (j.kind === 'cells') {
    const G = j.keys.reduce((m, k) => m * keySize(k), 1);
    j.weights.forEach((w) => blocks.push({ label: w.column || 'count', lanes: G, sensitivity: R * refBound(plan, w) }));
  } else fail('noiseFor: model jobs plan their noise in model-job.ts');
  const eps = epsilon / blocks.length;
  return { epsilon, blocks: blocks.map((b) => ({ ...b, epsilon: eps, scale: b.sensitivity / eps })) };
}

/** Variance of each released lane's noise (discrete Laplace of scale s: 2α/(1−α)², α = e^{−1/s}). */
export function laneVariances(noise: StatNoise): number[] {
  const out: number[] = [];
  for (const b of noise.blocks) {
    const a = Math.exp(-1 / b.scale);
    const v = (2 * a) / (1 - a) ** 2;
    for (let i = 0; i < b.lanes; i++) out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Finishing: the requester's plaintext from the released lanes.

const fmt = (x: number, d = 4): string => (Number.isInteger(x) && Math.abs(x) < 1e9 ? String(x) : Number.isNaN(x) ? 'NA' : !Number.isFinite(x) ? (x > 0 ? 'Inf' : '-Inf') : Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-4 && x !== 0) ? x.toExponential(d - 1) : x.toPrecision(d));
const fmtP = (p: number): string => (p < 2.2e-16 ? '< 2.2e-16' : p < 1e-4 ? p.toExponential(2) : p.toPrecision(4));
const stars = (p: number) => (p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : p < 0.1 ? '.' : ' ');

/** A table with right-aligned numeric columns, like R's print of a matrix. */
export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** Values of the cells of a cells job (weight-major), as counts per cell. */
function cellValues(plan: StatPlan, values: number[]): { G: number; w: number[][] } {
  const j = plan.job as Extract<Job, { kind: 'cells' }>;
  const G = j.keys.reduce((m, k) => m * keySize(k), 1);
  return { G, w: j.weights.map((_, k) => values.slice(k * G, (k + 1) * G)) };
}

/** Labels of a factor key's levels. */
function keyLabels(plan: StatPlan, k: CellKey): string[] {
  const c = plan.column(k.column);
  if (k.kind === 'bins') return [`<${k.thresholds[0]}`, ...k.thresholds.map((t, i) => `[${t}, ${k.thresholds[i + 1] ?? '∞'})`)];
  return Array.from({ length: k.size }, (_, i) => {
    const v = k.min + i;
    if (c.type === 'bool') return v ? 'TRUE' : 'FALSE';
    if (c.type === 'code') return plan.analysis.codeLists.get(c.codeList!)!.codes[v]!;
    return String(v);
  });
}

export interface FinishOptions {
  minCellSize: number;
  /** Protected runs: noisy values are clamped where a count cannot be negative. */
  protectedRun: boolean;
  /** Protected runs: the noise's variance on each released lane (laneVariances). */
  laneVar?: number[];
}

/**
 * A group's variance estimate (Q − S²/n)/(n − 1) under the noise is too uncertain for a first-order
 * error when the noise's sd on it exceeds a quarter of it (then a 4-sd draw of the noise reaches 0,
 * the estimate is clamped there, and a statistic divided by it runs away while its stated error,
 * taken at the clamp, shrinks). Delta method on the group's lanes' noise variances vn, vS, vQ.
 */
function varianceNoiseDominated(n: number, S: number, Q: number, vn: number, vS: number, vQ: number): boolean {
  const m = S / n, v = (Q - n * m * m) / (n - 1);
  const sd = Math.sqrt(vQ + 4 * m * m * vS + m ** 4 * vn) / (n - 1);
  return !(v > 4 * sd);
}

/** The R-like result from the released lanes (values as numbers, integers for sums/cells). */
export function finishStat(plan: StatPlan, values: number[], o: FinishOptions): StatResult {
  const req = plan.request;
  const f = plan.formula;
  const notes: string[] = [];
  const call = `${req.fn}(${f.text}${req.family ? `, family = ${req.family}` : ''})`;
  const k = o.minCellSize;
  switch (req.fn) {
    case 't.test': {
      const [n, n2, S, S2, Q, Q2] = values as [number, number, number, number, number, number];
      const n1 = n - n2, S1 = S - S2, Q1 = Q - Q2;
      if (n1 < 2 || n2 < 2) fail(`t.test: each group needs at least 2 observations (${Math.round(n1)} and ${Math.round(n2)})`);
      if (n1 < k || n2 < k) fail(`t.test: a group has fewer than ${k} persons (the smallest cell released)`);
      const m1 = S1 / n1, m2 = S2 / n2;
      const v1 = Math.max(0, (Q1 - n1 * m1 * m1) / (n1 - 1)), v2 = Math.max(0, (Q2 - n2 * m2 * m2) / (n2 - 1));
      const g = plan.formula.terms[0]!;
      const labels = keyLabels(plan, { column: g.column, kind: 'factor', min: plan.column(g.column).min, size: 2 });
      // Lanes n, n2, S, S2, Q, Q2: group 1's values are differences of two noisy lanes.
      const lv = o.laneVar;
      const noisy = lv
        ? [varianceNoiseDominated(n1, S1, Q1, lv[0]! + lv[1]!, lv[2]! + lv[3]!, lv[4]! + lv[5]!), varianceNoiseDominated(n2, S2, Q2, lv[1]!, lv[3]!, lv[5]!)]
        : [false, false];
      const se = Math.sqrt(v1 / n1 + v2 / n2);
      let t = (m1 - m2) / se;
      let df = (v1 / n1 + v2 / n2) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1));
      if (noisy[0] || noisy[1]) {
        t = df = NaN;
        const which = labels.filter((_, i) => noisy[i]).map((l) => `group ${l}`).join(' and ');
        notes.push(`${which}: the variance is dominated by the protection's noise (its noise sd is more than a quarter of it); t, df, the p-value and the confidence interval are not reported (more persons or a larger epsilon would give them)`);
      }
      const p = 2 * pt(-Math.abs(t), df);
      const q = Number.isNaN(df) ? NaN : qt(0.975, df);
      const text = [
        '\tWelch Two Sample t-test', '', `data:  ${f.text.replace('~', 'by').replace(/\s+/g, ' ')}`,
        `t = ${fmt(t)}, df = ${fmt(df)}, p-value = ${Number.isNaN(p) ? 'NA' : fmtP(p)}`,
        `alternative hypothesis: true difference in means between group ${labels[0]} and group ${labels[1]} is not equal to 0`,
        '95 percent confidence interval:', ` ${fmt(m1 - m2 - q * se)} ${fmt(m1 - m2 + q * se)}`, 'sample estimates:',
        textTable([`mean in group ${labels[0]}`, `mean in group ${labels[1]}`], [[fmt(m1), fmt(m2)]]),
      ].join('\n');
      return { fn: req.fn, call, text, values: { t, df, 'p.value': p, 'conf.low': m1 - m2 - q * se, 'conf.high': m1 - m2 + q * se, mean1: m1, mean2: m2 }, notes };
    }
    case 'cor': {
      const [n, Sx, Sy, Sxx, Syy, Sxy] = values as [number, number, number, number, number, number];
      const cxx = Sxx - (Sx * Sx) / n, cyy = Syy - (Sy * Sy) / n, cxy = Sxy - (Sx * Sy) / n;
      const r = Math.max(-1, Math.min(1, cxy / Math.sqrt(cxx * cyy)));
      const df = n - 2;
      const t = (r * Math.sqrt(df)) / Math.sqrt(1 - r * r);
      const p = 2 * pt(-Math.abs(t), df);
      const z = Math.atanh(r), h = qnorm(0.975) / Math.sqrt(n - 3);
      const [x, y] = f.terms.map((t) => t.column);
      const text = [
        `\tPearson's product-moment correlation`, '', `data:  ${x} and ${y}`, `t = ${fmt(t)}, df = ${Math.round(df)}, p-value = ${fmtP(p)}`,
        'alternative hypothesis: true correlation is not equal to 0', '95 percent confidence interval:', ` ${fmt(Math.tanh(z - h))} ${fmt(Math.tanh(z + h))}`,
        'sample estimates:', '      cor ', ` ${fmt(r, 7)}`,
      ].join('\n');
      return { fn: req.fn, call, text, values: { cor: r, t, df, 'p.value': p, 'conf.low': Math.tanh(z - h), 'conf.high': Math.tanh(z + h), n }, notes };
    }
    case 'lm':
      return finishLm(plan, values, o, call);
    case 'chisq.test': {
      const j = plan.job as Extract<Job, { kind: 'cells' }>;
      const [A, B] = j.keys as [CellKey, CellKey];
      const ra = keySize(A), cb = keySize(B);
      const cnt = cellValues(plan, values).w[0]!.map((v) => (o.protectedRun ? Math.max(0, v) : v));
      const tab = Array.from({ length: ra }, (_, i) => cnt.slice(i * cb, (i + 1) * cb));
      // As R's table(): only values that occur (rows/columns with a positive total).
      const rows = tab.map((r, i) => i).filter((i) => tab[i]!.reduce((s, v) => s + v, 0) > (o.protectedRun ? k - 1 : 0));
      const colsK = Array.from({ length: cb }, (_, c) => c).filter((c) => tab.reduce((s, r) => s + r[c]!, 0) > (o.protectedRun ? k - 1 : 0));
      const T = rows.map((i) => colsK.map((c) => tab[i]![c]!));
      const small = T.flat().filter((v) => v > 0 && v < k).length;
      if (small && !o.protectedRun) fail(`chisq.test: ${small} cell(s) of the table count fewer than ${k} persons (the smallest cell released); merge levels or filter`);
      const N = T.flat().reduce((s, v) => s + v, 0);
      const rs = T.map((r) => r.reduce((s, v) => s + v, 0)), cs = colsK.map((_, c) => T.reduce((s, r) => s + r[c]!, 0));
      const yates = T.length === 2 && colsK.length === 2;
      let X2 = 0;
      T.forEach((r, i) => r.forEach((v, c) => {
        const E = (rs[i]! * cs[c]!) / N;
        const d = yates ? Math.max(0, Math.abs(v - E) - Math.min(0.5, Math.abs(v - E))) : Math.abs(v - E);
        X2 += (d * d) / E;
      }));
      const df = (T.length - 1) * (colsK.length - 1);
      const p = pchisq(X2, df, false);
      const text = [`\t${yates ? "Pearson's Chi-squared test with Yates' continuity correction" : "Pearson's Chi-squared test"}`, '', `data:  table(${f.terms.map((t) => t.column).join(', ')})`, `X-squared = ${fmt(X2)}, df = ${df}, p-value = ${fmtP(p)}`].join('\n');
      return { fn: req.fn, call, text, values: { statistic: X2, df, 'p.value': p }, notes };
    }
    case 'oddsratio':
      return finishOdds(plan, values, o, call);
    case 'quantile':
    case 'median':
    case 'hist':
      return finishDistribution(plan, values, o, call);
    case 'survfit':
    case 'survdiff':
      return finishSurvival(plan, values, o, call);
    default:
      return fail(`${req.fn}: finished by model-finish.ts`);
  }
}

function finishLm(plan: StatPlan, values: number[], o: FinishOptions, call: string): StatResult {
  const d = plan.design!;
  const p = d.columns.length;
  const intercept = plan.formula.intercept;
  const q = p + 1;
  let off = 0;
  let n = NaN;
  if (!intercept) n = values[off++]!;
  const M = fromUpper(q, values.slice(off));
  if (intercept) n = M[0]![0]!;
  const XtX = M.slice(0, p).map((r) => r.slice(0, p));
  const Xty = M.slice(0, p).map((r) => r[p]!);
  const yty = M[p]![p]!;
  const notes: string[] = [];
  // Disclosure rules: levels with fewer than minCellSize persons, too many parameters.
  d.columns.forEach((c, j) => {
    if (c.kind === 'level' && XtX[j]![j]! < o.minCellSize && XtX[j]![j]! > 0.5) fail(`lm: ${c.name} has fewer than ${o.minCellSize} persons (the smallest cell released); merge levels or filter`);
  });
  if (p > 0.33 * n) fail(`lm: ${p} parameters for ${Math.round(n)} rows: at most 0.33·N parameters (disclosure rule)`);
  // Centring (see planStat): shifts of the numeric columns and of y.
  const mids = d.columns.map((c) => (c.kind === 'numeric' && intercept ? Math.round((c.min + c.max) / 2) : 0));
  const yMid = intercept ? Math.round((plan.column((plan.formula.response as { column: string }).column).min + plan.column((plan.formula.response as { column: string }).column).max) / 2) : 0;
  const { L, kept } = cholesky(XtX);
  if (o.protectedRun && kept.some((x) => !x)) fail(`lm: at this epsilon the noise makes X'X singular (${d.columns.filter((_, j) => !kept[j]).map((c) => c.name).join(', ')}): use a larger epsilon, fewer columns or more rows`);
  const beta = cholSolve(L, kept, Xty);
  const pk = kept.filter(Boolean).length;
  const XtXi = cholInverse(L, kept);
  let bXy = 0;
  beta.forEach((b, j) => kept[j] && (bXy += b * Xty[j]!));
  const rss = yty - bXy;
  if (!(rss > 0)) fail(`lm: the residual sum of squares is ${rss <= 0 ? 'not positive' : 'undefined'}${o.protectedRun ? ' after the noise: use a larger epsilon or more rows' : ' (a perfect fit)'}`);
  const dfr = n - pk;
  if (dfr <= 0) fail(`lm: the model is saturated (${pk} parameters for ${Math.round(n)} rows)`);
  const sigma2 = rss / dfr;
  const se = beta.map((_, j) => (kept[j] ? Math.sqrt(sigma2 * XtXi[j]![j]!) : NaN));
  const tv = beta.map((b, j) => b / se[j]!);
  void 0;
  const pv = tv.map((t) => 2 * pt(-Math.abs(t), dfr));
  // Back from the centred fit: β0 = β̃0 + c_y − Σ c_j β̃_j, Var(β0) = a'Va with a = (1, −c).
  if (intercept && kept[0]) {
    const a = mids.map((c, j) => (j === 0 ? 1 : kept[j] ? -c : 0));
    let v = 0;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) if (a[i] && a[j]) v += a[i]! * a[j]! * XtXi[i]![j]!;
    beta[0] = beta[0]! + yMid + mids.reduce((s2, c, j) => s2 - (j > 0 && kept[j] ? c * beta[j]! : 0), 0);
    se[0] = Math.sqrt(sigma2 * v);
    tv[0] = beta[0]! / se[0]!;
    pv[0] = 2 * pt(-Math.abs(tv[0]!), dfr);
  }
  const ybar = intercept ? Xty[0]! / n : 0;
  const tss = intercept ? yty - n * ybar * ybar : yty;
  const r2 = 1 - rss / tss;
  const adj = 1 - (1 - r2) * ((n - (intercept ? 1 : 0)) / dfr);
  const dfm = pk - (intercept ? 1 : 0);
  const F = ((tss - rss) / dfm) / sigma2;
  const pF = pchisqF(F, dfm, dfr);
  const values2: Record<string, number> = { sigma: Math.sqrt(sigma2), 'r.squared': r2, 'adj.r.squared': adj, fstatistic: F, df: dfr, n };
  const rows = d.columns.map((c, j) => {
    values2[`coef:${c.name}`] = beta[j]!;
    values2[`se:${c.name}`] = se[j]!;
    values2[`t:${c.name}`] = tv[j]!;
    values2[`p:${c.name}`] = pv[j]!;
    return kept[j] ? [c.name, fmt(beta[j]!), fmt(se[j]!), fmt(tv[j]!, 3), fmtP(pv[j]!), stars(pv[j]!)] : [c.name, 'NA', 'NA', 'NA', 'NA', ''];
  });
  const aliased = kept.filter((x) => !x).length;
  if (aliased) notes.push(`${aliased} coefficient(s) not defined because of singularities (collinear columns; as R's lm)`);
  const text = [
    `Call:\nlm(formula = ${plan.formula.text})`, '', `Coefficients:${aliased ? ` (${aliased} not defined because of singularities)` : ''}`,
    textTable(['', 'Estimate', 'Std. Error', 't value', 'Pr(>|t|)', ''], rows), '---',
    "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", '',
    `Residual standard error: ${fmt(Math.sqrt(sigma2))} on ${Math.round(dfr)} degrees of freedom`,
    `Multiple R-squared:  ${fmt(r2)},\tAdjusted R-squared:  ${fmt(adj)}`,
    dfm > 0 ? `F-statistic: ${fmt(F)} on ${dfm} and ${Math.round(dfr)} DF,  p-value: ${fmtP(pF)}` : '',
  ].join('\n');
  const tq = qt(0.975, dfr);
  const coefficients: CoefficientRow[] = d.columns.map((c, j) => (kept[j] ? { name: c.name, estimate: beta[j]!, se: se[j]!, statistic: tv[j]!, p: pv[j]!, lower: beta[j]! - tq * se[j]!, upper: beta[j]! + tq * se[j]! } : { name: c.name, estimate: NaN, se: NaN, statistic: NaN, p: NaN, lower: NaN, upper: NaN }));
  return { fn: 'lm', call, text, values: values2, series: { coefficients, ratios: ratiosOf(coefficients, 'coefficient') }, notes };
}

/** Upper tail of the F distribution via the incomplete beta. */
function pchisqF(F: number, d1: number, d2: number): number {
  if (!(F > 0)) return 1;
  // P(F > f) = I_{d2/(d2 + d1 f)}(d2/2, d1/2)
  return betaIx(d2 / (d2 + d1 * F), d2 / 2, d1 / 2);
}
import { betaI as betaIx } from './distributions.js';

function finishOdds(plan: StatPlan, values: number[], o: FinishOptions, call: string): StatResult {
  const j = plan.job as Extract<Job, { kind: 'cells' }>;
  const K = j.keys.length === 3 ? keySize(j.keys[0]!) : 1;
  const cnt = values.map((v) => (o.protectedRun ? Math.max(0, v) : v));
  const notes: string[] = [];
  const z = qnorm(0.975);
  // Cells: [stratum][exposure 0/1][outcome 0/1], outcome fastest.
  const tabs = Array.from({ length: K }, (_, s) => {
    const c = (x: number, y: number) => cnt[s * 4 + x * 2 + y]!;
    return { a: c(1, 1), b: c(1, 0), c: c(0, 1), d: c(0, 0) };
  });
  const small = tabs.flatMap((t) => [t.a, t.b, t.c, t.d]).filter((v) => v > 0 && v < o.minCellSize).length;
  if (small && !o.protectedRun) fail(`oddsratio: ${small} cell(s) count fewer than ${o.minCellSize} persons (the smallest cell released)`);
  const one = (t: { a: number; b: number; c: number; d: number }) => {
    const or = (t.a * t.d) / (t.b * t.c);
    const seOr = Math.sqrt(1 / t.a + 1 / t.b + 1 / t.c + 1 / t.d);
    const rr = t.a / (t.a + t.b) / (t.c / (t.c + t.d));
    const seRr = Math.sqrt(1 / t.a - 1 / (t.a + t.b) + 1 / t.c - 1 / (t.c + t.d));
    return { or, orLo: Math.exp(Math.log(or) - z * seOr), orHi: Math.exp(Math.log(or) + z * seOr), rr, rrLo: Math.exp(Math.log(rr) - z * seRr), rrHi: Math.exp(Math.log(rr) + z * seRr) };
  };
  const values2: Record<string, number> = {};
  const lines: string[] = [];
  const [xName, yName] = [j.keys[j.keys.length - 2]!.column, j.keys[j.keys.length - 1]!.column];
  const strataLabels = K > 1 ? keyLabels(plan, j.keys[0]!) : [''];
  const rows = tabs.map((t, s) => {
    const r = one(t);
    const tag = K > 1 ? `:${strataLabels[s]}` : '';
    for (const [k2, v] of Object.entries(r)) values2[`${k2}${tag}`] = v;
    return [K > 1 ? `${j.keys[0]!.column} = ${strataLabels[s]}` : 'crude', fmt(r.or), `${fmt(r.orLo)}–${fmt(r.orHi)}`, fmt(r.rr), `${fmt(r.rrLo)}–${fmt(r.rrHi)}`];
  });
  if (K > 1) {
    // Mantel–Haenszel OR (RGB variance), RR (Greenland–Robins), and the MH test (continuity corrected).
    let R = 0, S = 0, P = 0, Q = 0, PR = 0, PS = 0, QS = 0, QR = 0, rrN = 0, rrD = 0, rrV = 0, sumA = 0, sumE = 0, sumV = 0;
    for (const t of tabs) {
      const n = t.a + t.b + t.c + t.d;
      if (n < 2) continue;
      const r = (t.a * t.d) / n, s = (t.b * t.c) / n, pp = (t.a + t.d) / n, qq = (t.b + t.c) / n;
      R += r; S += s; PR += pp * r; PS += pp * s; QR += qq * r; QS += qq * s;
      const n1 = t.a + t.b, n0 = t.c + t.d, m1 = t.a + t.c, m0 = t.b + t.d;
      rrN += (t.a * n0) / n; rrD += (t.c * n1) / n; rrV += (n1 * n0 * m1 - t.a * t.c * n) / (n * n);
      sumA += t.a; sumE += (n1 * m1) / n; sumV += (n1 * n0 * m1 * m0) / (n * n * (n - 1));
      void P; void Q;
    }
    const orMH = R / S;
    const seMH = Math.sqrt(PR / (2 * R * R) + (PS + QR) / (2 * R * S) + QS / (2 * S * S));
    const rrMH = rrN / rrD, seRR = Math.sqrt(rrV / (rrN * rrD));
    const X2 = (Math.max(0, Math.abs(sumA - sumE) - 0.5)) ** 2 / sumV;
    const p = pchisq(X2, 1, false);
    Object.assign(values2, { or: orMH, orLo: Math.exp(Math.log(orMH) - z * seMH), orHi: Math.exp(Math.log(orMH) + z * seMH), rr: rrMH, rrLo: Math.exp(Math.log(rrMH) - z * seRR), rrHi: Math.exp(Math.log(rrMH) + z * seRR), statistic: X2, 'p.value': p });
    rows.push(['Mantel-Haenszel', fmt(orMH), `${fmt(values2.orLo!)}–${fmt(values2.orHi!)}`, fmt(rrMH), `${fmt(values2.rrLo!)}–${fmt(values2.rrHi!)}`]);
    lines.push(`Mantel-Haenszel X-squared = ${fmt(X2)}, df = 1, p-value = ${fmtP(p)}`);
  }
  const text = [`Odds and risk ratios of ${yName} by ${xName} (95 % Wald CIs${K > 1 ? '; Mantel-Haenszel across strata' : ''})`, '', textTable(['', 'odds ratio', '95 % CI', 'risk ratio', '95 % CI'], rows), ...lines].join('\n');
  return { fn: 'oddsratio', call, text, values: values2, series: { ratios: { measure: 'odds ratio', log: true, rows: rows.map((r, i) => ({ label: r[0]!, ratio: i < tabs.length ? one(tabs[i]!).or : values2.or!, lower: i < tabs.length ? one(tabs[i]!).orLo : values2.orLo!, upper: i < tabs.length ? one(tabs[i]!).orHi : values2.orHi! })) } }, notes };
}

function finishDistribution(plan: StatPlan, values: number[], o: FinishOptions, call: string): StatResult {
  const req = plan.request;
  const j = plan.job as Extract<Job, { kind: 'cells' }>;
  const key = j.keys[0]!;
  const cnt = values.map((v) => (o.protectedRun ? Math.max(0, v) : v));
  const x = key.column;
  const notes: string[] = [];
  if (req.fn === 'hist') {
    const c = plan.column(x);
    const edges = req.breaks ?? Array.from({ length: keySize(key) + 1 }, (_, i) => c.min + i);
    const rows = cnt.map((v, i) => [`[${edges[i]}, ${edges[i + 1]})`, fmt(v, 6)]);
    const suppressed = cnt.filter((v) => v > 0 && v < o.minCellSize).length;
    if (suppressed) notes.push(`${suppressed} bin(s) with fewer than ${o.minCellSize} persons shown as <${o.minCellSize}`);
    const shown = cnt.map((v) => (v > 0 && v < o.minCellSize ? NaN : v));
    const vals: Record<string, number> = {};
    shown.forEach((v, i) => (vals[`count:${i}`] = v));
    const text = [`Histogram of ${x} (bins [a, b), right = FALSE)`, textTable(['bin', 'count'], rows.map((r, i) => [r[0]!, Number.isNaN(shown[i]!) ? `<${o.minCellSize}` : r[1]!]))].join('\n');
    return { fn: 'hist', call, text, values: vals, series: { histogram: { breaks: edges, counts: shown.map((v) => (Number.isNaN(v) ? null : v)) } }, notes };
  }
  const kf = key as Extract<CellKey, { kind: 'factor' }>;
  const probs = req.fn === 'median' ? [0.5] : req.probs ?? [0, 0.25, 0.5, 0.75, 1];
  const n = cnt.reduce((s, v) => s + v, 0);
  if (n < 1) fail(`${req.fn}: no rows`);
  const cum: number[] = [];
  cnt.reduce((s, v, i) => (cum[i] = s + v), 0);
  // x_(r) for 0-based rank r: the smallest value whose cumulative count exceeds r.
  const orderStat = (r: number): number => {
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return kf.min + lo;
  };
  const q = probs.map((pp) => {
    const h = (n - 1) * pp;
    const lo = Math.floor(h);
    const a = orderStat(lo), b = orderStat(Math.min(n - 1, lo + 1));
    return a + (h - lo) * (b - a);
  });
  const vals: Record<string, number> = {};
  probs.forEach((pp, i) => (vals[`${+(pp * 100).toFixed(6)}%`] = q[i]!));
  notes.push(o.protectedRun ? 'quantiles from the noisy histogram of the column over its public domain (order statistics of one person are never released exactly)' : 'exact mode: quantiles from the exact histogram (an order statistic is one person\'s value)');
  const text = req.fn === 'median' ? `[1] ${fmt(q[0]!, 7)}` : textTable(probs.map((pp) => `${+(pp * 100).toFixed(4)}%`), [q.map((v) => fmt(v, 7))]);
  return { fn: req.fn, call, text, values: vals, notes };
}

/** Life table per group: times, at risk, events, censored (exact or noisy counts). */
interface LifeTable {
  label: string;
  /** The group's index among the grouping key's levels (its cells are g·T … g·T + T − 1). */
  g: number;
  time: number[];
  nrisk: number[];
  nevent: number[];
  ncensor: number[];
}

function lifeTables(plan: StatPlan, values: number[], o: FinishOptions): { groups: LifeTable[]; tvals: number[] } {
  const j = plan.job as Extract<Job, { kind: 'cells' }>;
  const tkey = j.keys[j.keys.length - 1]!;
  const T = keySize(tkey);
  const gkey = j.keys.length > 1 ? j.keys[0]! : null;
  const Gs = gkey ? keySize(gkey) : 1;
  const labels = gkey ? keyLabels(plan, gkey).map((l) => `${gkey.column}=${l}`) : ['all'];
  const { w } = cellValues(plan, values);
  const tmin = plan.column(tkey.column).min;
  const width = plan.request.bin ?? 1;
  const tvals = Array.from({ length: T }, (_, i) => tmin + i * width);
  const groups: LifeTable[] = [];
  for (let g = 0; g < Gs; g++) {
    let exits = w[0]!.slice(g * T, (g + 1) * T);
    let events = w[1]!.slice(g * T, (g + 1) * T);
    if (o.protectedRun) {
      exits = exits.map((v) => Math.max(0, v));
      events = events.map((v, i) => Math.min(Math.max(0, v), exits[i]!));
    }
    const nrisk: number[] = new Array(T);
    let acc = 0;
    for (let t = T - 1; t >= 0; t--) nrisk[t] = acc += exits[t]!;
    const lt: LifeTable = { label: labels[g]!, g, time: [], nrisk: [], nevent: [], ncensor: [] };
    for (let t = 0; t < T; t++) {
      if (!(exits[t]! > 0)) continue;
      lt.time.push(tvals[t]!);
      lt.nrisk.push(nrisk[t]!);
      lt.nevent.push(events[t]!);
      lt.ncensor.push(exits[t]! - events[t]!);
    }
    groups.push(lt);
  }
  return { groups: groups.filter((g) => g.nrisk.length > 0), tvals };
}

/**
 * The groups (labels) whose observed events, summed over the life table, are at most 4 times the
 * noise's sd on that sum (the events block's lanes of the group's T cells, released lane l ↔ laneVar[l]).
 */
function eventsNoiseDominated(plan: StatPlan, values: number[], laneVar: number[], groups: LifeTable[], T: number): string[] {
  const { G } = cellValues(plan, values);
  return groups
    .filter((lt) => {
      let v = 0;
      for (let t = 0; t < T; t++) v += laneVar[G + lt.g * T + t]!;
      return !(lt.nevent.reduce((s, d) => s + d, 0) > 4 * Math.sqrt(v));
    })
    .map((lt) => lt.label);
}

function finishSurvival(plan: StatPlan, values: number[], o: FinishOptions, call: string): StatResult {
  const { groups, tvals } = lifeTables(plan, values, o);
  const k = o.minCellSize;
  const notes: string[] = [];
  const z = qnorm(0.975);
  const vals: Record<string, number> = {};
  if (plan.request.fn === 'survfit') {
    const blocks: string[] = [];
    const curves: SurvivalCurve[] = [];
    for (const g of groups) {
      let S = 1, gw = 0;
      const rows: string[][] = [];
      const curve: SurvivalCurve['points'] = [];
      for (let i = 0; i < g.time.length; i++) {
        const n = g.nrisk[i]!, d = g.nevent[i]!;
        if (n < k) {
          notes.push(`${g.label}: the curve ends at time ${g.time[i]} (fewer than ${k} at risk)`);
          break;
        }
        if (d <= 0) continue;
        S *= 1 - d / n;
        gw += n > d ? d / (n * (n - d)) : Infinity;
        const se = Math.sqrt(gw);
        const lo = S * Math.exp(-z * se), hi = Math.min(1, S * Math.exp(z * se));
        rows.push([fmt(g.time[i]!, 6), fmt(n, 6), fmt(d, 6), fmt(S), fmt(S * se), fmt(lo), fmt(hi)]);
        curve.push({ time: g.time[i]!, nRisk: n, nEvent: d, surv: S, lower: lo, upper: hi });
        vals[`surv:${g.label}:${g.time[i]}`] = S;
        vals[`lower:${g.label}:${g.time[i]}`] = lo;
        vals[`upper:${g.label}:${g.time[i]}`] = hi;
        vals[`nrisk:${g.label}:${g.time[i]}`] = n;
      }
      blocks.push(`                ${g.label}\n${textTable(['time', 'n.risk', 'n.event', 'survival', 'std.err', 'lower 95% CI', 'upper 95% CI'], rows)}`);
      curves.push({ label: g.label, points: curve });
    }
    const text = [`Call: survfit(formula = ${plan.formula.text})`, '', ...blocks].join('\n');
    return { fn: 'survfit', call, text, values: vals, series: { curves }, notes };
  }
  // survdiff: log-rank over the union of times.
  const times = [...new Set(groups.flatMap((g) => g.time))].sort((a, b) => a - b);
  const G = groups.length;
  if (G < 2 && !o.protectedRun) fail('survdiff: needs at least two groups with rows');
  // A group of fewer than the smallest cell of persons (after the noise, in a protected run): the test
  // is not reported, as survfit ends a curve where fewer are at risk. Under the noise such a group's
  // counts are mostly noise, and the test's stated error (first order in the noise) does not hold.
  const small = groups.filter((g) => g.nrisk[0]! < k).map((g) => g.label);
  if (G < 2) small.push('a group without rows');
  // Under the noise, a group whose observed events are within 4 noise sd of 0: its event counts,
  // clamped at 0, are mostly noise (the statistic then collapses towards 0 while its stated error,
  // taken at the clamps, shrinks: χ² 0.09 ± 11 against R's 62 in the main-job test at 3 000 citizens).
  const noisy = o.laneVar ? eventsNoiseDominated(plan, values, o.laneVar, groups, tvals.length) : [];
  if (small.length || noisy.length) {
    notes.push(small.length
      ? `${small.join(', ')}: fewer than ${k} persons${o.protectedRun ? ' after the noise' : ''}; the log-rank test is not reported`
      : `${noisy.join(', ')}: the events are dominated by the protection's noise (fewer than 4 noise sd); the log-rank test is not reported (more persons or a larger epsilon would give it)`);
    Object.assign(vals, { chisq: NaN, df: Math.max(1, G - 1), 'p.value': NaN });
    return { fn: 'survdiff', call, text: [`Call:\nsurvdiff(formula = ${plan.formula.text})`, '', ` not reported: ${notes[notes.length - 1]}`].join('\n'), values: vals, notes };
  }
  const at = (g: LifeTable, t: number) => {
    // number at risk at t: the first row at or after t (rows only where exits > 0)
    let n = 0, d = 0;
    for (let i = 0; i < g.time.length; i++) {
      if (g.time[i]! >= t) {
        n = g.nrisk[i]!;
        if (g.time[i] === t) d = g.nevent[i]!;
        break;
      }
    }
    return { n, d };
  };
  const O = new Array<number>(G).fill(0), E = new Array<number>(G).fill(0);
  const V = Array.from({ length: G }, () => new Array<number>(G).fill(0));
  for (const t of times) {
    const rs = groups.map((g) => at(g, t));
    const n = rs.reduce((s, r) => s + r.n, 0), d = rs.reduce((s, r) => s + r.d, 0);
    if (d <= 0 || n <= 0) continue;
    rs.forEach((r, g) => {
      O[g]! += r.d;
      E[g]! += (r.n * d) / n;
    });
    if (n > 1) {
      const f = (d * (n - d)) / (n * n * (n - 1));
      for (let a = 0; a < G; a++) for (let b = 0; b < G; b++) V[a]![b]! += f * rs[a]!.n * ((a === b ? n : 0) - rs[b]!.n);
    }
  }
  const dO = O.map((x, i) => x - E[i]!).slice(0, G - 1);
  const Vs = V.slice(0, G - 1).map((r) => r.slice(0, G - 1));
  const Vi = G - 1 === 1 ? [[1 / Vs[0]![0]!]] : (() => { const { L, kept } = cholesky(Vs); return cholInverse(L, kept); })();
  let chisq = 0;
  for (let a = 0; a < G - 1; a++) for (let b = 0; b < G - 1; b++) chisq += dO[a]! * Vi[a]![b]! * dO[b]!;
  const df = G - 1;
  const p = pchisq(chisq, df, false);
  const rows = groups.map((g, i) => [g.label, fmt(g.nrisk[0]!, 6), fmt(O[i]!, 6), fmt(E[i]!, 6), fmt((O[i]! - E[i]!) ** 2 / E[i]!, 3), fmt((O[i]! - E[i]!) ** 2 / V[i]![i]!, 3)]);
  groups.forEach((g, i) => ((vals[`obs:${g.label}`] = O[i]!), (vals[`exp:${g.label}`] = E[i]!)));
  Object.assign(vals, { chisq, df, 'p.value': p });
  const text = [`Call:\nsurvdiff(formula = ${plan.formula.text})`, '', textTable(['', 'N', 'Observed', 'Expected', '(O-E)^2/E', '(O-E)^2/V'], rows), '', ` Chisq= ${fmt(chisq, 3)}  on ${df} degrees of freedom, p= ${fmtP(p)}`].join('\n');
  return { fn: 'survdiff', call, text, values: vals, notes };
}

export { pnorm };
