// The public side of a model fit (glm binomial/poisson, coxph; ./glm.ts fits it inside MPC): the
// model job planned from the formula and the analysis table's public metadata (covariate
// patterns, their scaled design rows, the fixed-point scales) and the noise of a protected fit.
// Browser-safe: the nodes and the requester (CLI or browser) plan the same job. Reveals nothing.
import { fail, type DesignColumn } from './model.js';
import { cholesky } from './linalg.js';
import { keySize, type CellKey } from './cells.js';
import type { StatNoise, StatPlan } from './functions.js';

/** Fractional bits of the fit's fixed point. */
export const F = 24;
/** Box on the scaled coefficients (|η| ≤ Σ|β̃_j| stays inside the sigmoid's range). */
export const BOX = 20;
const ITERATIONS = 8;
const MAX_PATTERNS = 1 << 16;

export interface ModelJob {
  kind: 'glm' | 'cox';
  family: 'binomial' | 'poisson' | 'cox';
  /** Pattern keys (one per distinct term column), then (Cox) the time key. */
  keys: CellKey[];
  G: number;
  T: number;
  names: string[];
  /** Scaled design row of every pattern (x̃ = (x − c)/s), G × p. */
  X: number[][];
  /** The same as integers z = x − c (x̃ = z/2^e exactly: s = 2^e), and the exponents e. */
  Z: number[][];
  e: number[];
  center: number[];
  scale: number[];
  y: string | null;
  offset: string | null;
  event: string | null;
  /** Counts are scaled by 2^k (≥ the table's rows · largest y). */
  k: number;
  iterations: number;
  /** Factor-level indicator columns: which patterns have the level (for the disclosure bits). */
  levels: { name: string; patterns: number[] }[];
  /** The smallest cell released (the nodes' policy; set before the run). */
  minCellSize: number;
}

/** The model job of a glm / coxph plan (public: from the formula and the table's metadata). */
export function modelJob(plan: StatPlan): ModelJob {
  const req = plan.request;
  const f = plan.formula;
  const design = plan.design!;
  if (f.terms.length === 0 && req.fn === 'coxph') fail('coxph: the model needs at least one covariate');
  const keys: CellKey[] = f.terms.map((t) => {
    const c = plan.column(t.column);
    if (c.type === 'decimal' || c.type === 'date') fail(`${req.fn}: ${t.column} is ${c.type}; model covariates must be discrete (bool, code, or int with a declared range) — the fit runs on the table of covariate patterns`);
    // A column of every step-th value (age_band's bands) has (max − min)/step + 1 patterns, not max − min + 1.
    const step = c.step ?? 1;
    return { column: t.column, kind: 'factor', min: c.min, size: Math.floor((c.max - c.min) / step) + 1, ...(step > 1 ? { step } : {}) };
  });
  const G = keys.reduce((m, k) => m * keySize(k), 1);
  const cols = design.columns;
  // Pattern values (last key fastest) and design rows.
  const valueOf = (g: number): Map<string, number> => {
    const m = new Map<string, number>();
    let r = g;
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i] as Extract<CellKey, { kind: 'factor' }>;
      m.set(k.column, k.min + (r % k.size) * (k.step ?? 1));
      r = Math.floor(r / k.size);
    }
    return m;
  };
  const center = cols.map((c) => (c.kind === 'numeric' ? Math.round((c.min + c.max) / 2) : 0));
  // Scales are powers of two, so x̃ = (x − c)/2^e is exact in binary and every sum over patterns is
  // an exact integer combination, rounded once.
  const e = cols.map((c, j) => (c.kind === 'numeric' ? Math.ceil(Math.log2(Math.max(1, Math.abs(c.max - center[j]!), Math.abs(c.min - center[j]!)))) : 0));
  const scale = e.map((x) => 2 ** x);
  const raw = (c: DesignColumn, v: Map<string, number>): number => (c.kind === 'intercept' ? 1 : c.kind === 'numeric' ? v.get(c.column)! : v.get(c.column) === c.level ? 1 : 0);
  const X: number[][] = [], Z: number[][] = [];
  for (let g = 0; g < G; g++) {
    const v = valueOf(g);
    Z.push(cols.map((c, j) => raw(c, v) - center[j]!));
    X.push(Z[g]!.map((z, j) => z / scale[j]!));
  }
  // Aliasing of the design itself (public): as R, columns that are combinations of earlier ones.
  const XtX = cols.map((_, i) => cols.map((_, j) => X.reduce((s, r) => s + r[i]! * r[j]!, 0)));
  const { kept } = cholesky(XtX, 1e-7);
  if (kept.some((x) => !x)) fail(`${req.fn}: ${cols.filter((_, j) => !kept[j]).map((c) => c.name).join(', ')} ${kept.filter((x) => !x).length > 1 ? 'are' : 'is a'} linear combination${kept.filter((x) => !x).length > 1 ? 's' : ''} of other columns (collinear): drop ${kept.filter((x) => !x).length > 1 ? 'them' : 'it'} (R would report NA)`);
  const n = plan.analysis.join.tables.reduce((m, t) => Math.max(m, 1), 1);
  void n;
  const levels = cols.flatMap((c, j) => (c.kind === 'level' ? [{ name: c.name, patterns: X.flatMap((r, g) => (r[j] === 1 ? [g] : [])) }] : []));
  let family: ModelJob['family'], y: string | null = null, offset: string | null = null, event: string | null = null, T = 1;
  if (req.fn === 'glm') {
    family = req.family ?? 'binomial';
    if (family !== 'binomial' && family !== 'poisson') fail(`glm: family must be binomial or poisson`);
    if (f.response?.kind !== 'column') fail('glm: write y ~ x1 + x2');
    y = (f.response as { column: string }).column;
    const yc = plan.column(y);
    if (family === 'binomial' && !(yc.type === 'bool' || (yc.type === 'int' && yc.min >= 0 && yc.max <= 1))) fail(`glm binomial: ${y} must be a bool (or 0/1)`);
    if (family === 'poisson' && !(yc.type === 'int' || yc.type === 'bool') || yc.min < 0) fail(`glm poisson: ${y} must be a non-negative count`);
    if (family === 'binomial' && f.offset) fail('glm binomial: offset() is for poisson rates');
    offset = f.offset;
    if (!f.intercept) fail('glm: models without an intercept are not supported');
  } else {
    family = 'cox';
    if (f.response?.kind !== 'surv') fail('coxph: write Surv(time, event) ~ x1 + x2');
    const { time, event: ev } = f.response as { time: string; event: string };
    event = ev;
    if (plan.column(ev).type !== 'bool') fail(`coxph: ${ev} must be a bool`);
    const tc = plan.column(time);
    const w = req.bin ?? 1;
    T = Math.floor((tc.max - tc.min) / w) + 1;
    keys.push(w === 1 ? { column: time, kind: 'factor', min: tc.min, size: T } : { column: time, kind: 'bins', thresholds: Array.from({ length: T - 1 }, (_, i) => tc.min + (i + 1) * w) });
    // Cox has no intercept: drop it from the design (R's coxph).
    if (cols[0]?.kind === 'intercept') {
      cols.shift();
      X.forEach((r) => r.shift());
      Z.forEach((r) => r.shift());
      center.shift();
      scale.shift();
      e.shift();
    }
  }
  if (cols.length > G) fail(`${req.fn}: ${cols.length} parameters for ${G} covariate pattern${G > 1 ? 's' : ''}: not estimable; drop a term`);
  if (G * T > MAX_PATTERNS) fail(`${req.fn}: ${G} covariate patterns${T > 1 ? ` × ${T} time intervals` : ''} = ${G * T} cells; at most ${MAX_PATTERNS} (use coarser covariates, e.g. age bands, or a wider --bin)`);
  const rows = 1 << 30; // replaced at run time by the table's size (public)
  void rows;
  return { kind: req.fn === 'glm' ? 'glm' : 'cox', family, keys, G, T, names: cols.map((c) => c.name), X, Z, e, center, scale, y, offset, event, k: 0, iterations: ITERATIONS, levels: family === 'poisson' ? [] : levels, minCellSize: 5 };
}

/** The noise of a protected model fit (see the module comment). */
export function modelNoise(plan: StatPlan, epsilon: number): StatNoise {
  const mj = plan.job.kind === 'model' ? plan.job.model : fail('not a model');
  const R = plan.rowsPerPerson;
  if (!Number.isFinite(R)) fail('this analysis table has no bound on the rows one person has (declare it in the schemas)');
  const p = mj.names.length;
  const cells = mj.G * mj.T;
  const tBound = mj.offset ? Math.max(Math.abs(plan.column(mj.offset).min), Math.abs(plan.column(mj.offset).max)) : 1;
  const yBound = mj.y ? Math.max(1, plan.column(mj.y).max) : 1;
  const e1 = epsilon / 2, e2 = epsilon / (2 * p);
  const blocks = [
    { label: mj.family === 'poisson' ? 'exposure per pattern' : mj.family === 'cox' ? 'exits per pattern and interval' : 'persons per pattern', lanes: cells, sensitivity: R * (mj.family === 'poisson' ? tBound : 1), epsilon: e1, scale: 0 },
    ...mj.names.map((n, j) => ({ label: `X'y ${n}`, lanes: 1, sensitivity: R * yBound * Math.max(1, ...mj.Z.map((z) => Math.abs(z[j]!))), epsilon: e2, scale: 0 })),
  ];
  if (mj.family === 'cox') blocks.splice(1, 0, { label: 'events per interval', lanes: mj.T, sensitivity: R, epsilon: 0, scale: 0 });
  // Cox: split the first half between exits and events per interval.
  if (mj.family === 'cox') {
    blocks[0]!.epsilon = epsilon / 4;
    blocks[1]!.epsilon = epsilon / 4;
  }
  return { epsilon, blocks: blocks.map((b) => ({ ...b, scale: b.sensitivity / b.epsilon })) };
}
