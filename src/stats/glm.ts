// Generalised linear models (logistic and Poisson with an offset) and Cox regression, fitted by
// Newton's method INSIDE MPC: no iterate, score, information matrix or table leaves MPC; only the
// final estimates are revealed (DataSHIELD's ds.glm reveals X'WX and the score at every iteration).
// References: Newton–Raphson / Fisher scoring for GLMs (McCullagh & Nelder, Generalized Linear
// Models, 2nd ed. 1989, §2.5); Cox's partial likelihood (Cox, JRSS B 1972) with Breslow's
// handling of ties (Breslow, Biometrics 1974), as R's coxph(ties = "breslow"); secure fixed point
// and LDLᵀ from src/mpc (Catrina–Saxena FC 2010).
//
// Method: the covariates are discrete (bool, factors, ints with a declared range such as age), so
// the likelihood depends on the data only through a table of COVARIATE PATTERNS g (every
// combination of the model's columns; their design rows x_g are public): for logistic regression
// n_g (persons) and y_g (events), for Poisson y_g and T_g (exposure, the offset's column summed),
// for Cox with Breslow ties the exits and events per pattern and time interval. The nodes build
// this table by sums per cell (src/stats/secure.ts), keep it secret-shared, and run Newton on it:
// η_g = x̃_g'β̃ is local (x̃ public), μ_g by the sigmoid / exp of src/mpc/elementary.ts, score and
// information are sums with public weights, the step solves H δ = s by LDLᵀ (src/mpc/linalg.ts).
// Covariates are scaled to [−1, 1] by public centres and half-ranges (x̃ = (x − c)/s), counts by a
// public 2^k ≥ the table's rows, so every quantity is O(1) in 24-bit fixed point; the requester maps
// the estimates back (β = A β̃, V = A Ṽ A'). Identical estimates to R's individual-level fits
// (the grouped likelihood equals the ungrouped one up to a constant; Cox: Breslow's partial
// likelihood on the binned times), within the fixed-point error (coefficients a few 1e−6 absolute in
// scaled units; tested against R: 1e−3 relative or 1e−3 of the standard error).
//
// REVEALED to the requester (nothing to any node): β̂, the information matrix at β̂ (equivalent to
// R's vcov), the log-likelihood, N and the number of events (R prints them: null deviance and its
// degrees of freedom), the last Newton step (convergence), one bit per factor level: whether it
// has at least the smallest cell of persons (the disclosure rule), and one bit per column: whether
// it is a linear combination of the others in the data (R's NA; the fit is then refused, naming
// it). Separation (an estimate that runs to the box |β̃_j| ≤ 20 on the scaled covariates) is
// reported, not returned as a number. Protected Cox fits also release the noise's effect on the
// score (two P×P matrices computed from the noisy table), for the stated error.
//
// PROTECTION under the default node settings (differential privacy, ε per run): noisy sufficient
// statistics. The pattern counts n_g (or exposures T_g, or Cox's exits per pattern and interval:
// one person changes one cell, by at most R, its rows) get discrete Laplace noise with ε/2, and
// the p sums X'y (Cox: Σ over events of x) ε/(2p) each, all drawn inside MPC BEFORE the fit; the
// fit is then post-processing, so everything revealed is ε-differentially private whatever the
// iterations do. The estimating equations stay unbiased (noise enters them linearly); the
// information uses max(n_g, 0). Stated error: the delta method, Cov(β̂) += H⁻¹ (Σ_g x_g x_g' μ_g²·
// Var Z_n + Var Z_xy) H⁻¹, computed by the requester from the released β̂ and information.
//
// The public side: ./model-job.ts (the job and its noise, planned by nodes and requester alike) and
// ./model-finish.ts (the requester turns the released lanes into R's table).
import type { Party } from '../mpc/party.js';
import { fromInts } from '../ring/ring64.js';
import { AShare, addPublic, add, concatShares, dotMany, fromPublic, mulMany, mulPublic, sub, subFromPublic, sum } from '../mpc/arith.js';
import { lt } from '../mpc/compare.js';
import { bitInject } from '../mpc/convert.js';
import { ln, lnAndReciprocal, sigmoidClamped, sigmoidSoftplus, exp } from '../mpc/elementary.js';
import { linComb, mulFixedMany, normalise, truncRound } from '../mpc/fixed.js';
import { geometricTable } from '../mpc/geometric-noise.js';
import { ldlSolve, matVec, newtonSchulz } from '../mpc/linalg.js';
import type { AnalysisTable } from '../query/rows.js';
import { cellCounts } from './cell-counts.js';
import { addLaplace, cellIndex, cellSums, masked } from './secure.js';
import type { StatNoise, StatPlan } from './functions.js';
import { BOX, F, type ModelJob } from './model-job.js';

const laneOf = (x: AShare, i: number) => x.slice(i, i + 1);
/** One lane repeated n times (local). */
const bcast = (x: AShare, n: number): AShare => new AShare(new BigUint64Array(n).fill(x.a[0]!), new BigUint64Array(n).fill(x.b[0]!));
const zeros = (n: number) => new AShare(new BigUint64Array(n), new BigUint64Array(n));
const encF = (v: number, f = F): bigint => BigInt(Math.round(v * 2 ** f));
type PublicColumns = { z: { col: BigUint64Array; e: number }[]; zz: { col: BigUint64Array; e: number }[] };
/** Made once per fit (read only): G·(P + P²) values. */
const PUBLIC_COLUMNS = new WeakMap<ModelJob, PublicColumns>();

/** The integer columns z_j and z_i·z_j of the patterns, with their exponents (x̃ = z/2^e). */
function publicColumns(mj: ModelJob): PublicColumns {
  const known = PUBLIC_COLUMNS.get(mj);
  if (known) return known;
  const P = mj.names.length;
  const z = Array.from({ length: P }, (_, j) => ({ col: fromInts(mj.Z.map((r) => r[j]!)), e: mj.e[j]! }));
  const zz: { col: BigUint64Array; e: number }[] = [];
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) zz.push({ col: fromInts(mj.Z.map((r) => r[i]! * r[j]!)), e: mj.e[i]! + mj.e[j]! });
  const cols = { z, zz };
  PUBLIC_COLUMNS.set(mj, cols);
  return cols;
}

/**
 * η_g = Σ_j z_gj·β̃_j/2^e_j for every pattern g and every candidate β̃ (G lanes each, candidate-
 * major): public integers times the secret coefficients (local), one rounding for all. The shifted
 * integer columns are made once per fit.
 */
function linearPredictor(p: Party, mj: ModelJob, cols: ReturnType<typeof publicColumns>): (bs: AShare[]) => Promise<AShare> {
  const E = Math.max(0, ...mj.e), G = mj.G;
  const shifted = cols.z.map((c, j) => BigUint64Array.from(c.col, (v) => BigInt.asUintN(64, v << BigInt(E - mj.e[j]!))));
  return async (bs) => {
    const acc = concatShares(bs.map((b) => {
      let x = zeros(G);
      shifted.forEach((col, j) => (x = add(x, mulPublic(bcast(laneOf(b, j), G), col))));
      return x;
    }));
    return E > 0 ? (await truncRound(p, [[acc, E]]))[0]! : acc;
  };
}

/**
 * By how much (in the scaled log-likelihood, F fractional bits) the quarter step must beat the full
 * step to be chosen: 2^−14, far above the two candidates' rounding (each log-likelihood a sum of
 * terms rounded to 2^−24; near the optimum the measured differences were within ±6·2^−24). Without
 * it the choice near the optimum was decided by the rounding, and a run of quarter steps there
 * stalled a Cox fit in CI 2·10^−5 from the optimum (age10, ~10^3 times the usual spread). A full step
 * that lowers the scaled log-likelihood by less than the margin is taken; the next iteration goes on
 * from there (R's fits would halve it).
 */
export const STEP_MARGIN = 1n << BigInt(F - 14);

/**
 * One Newton iteration's choice (candidate-major values): the full step unless a quarter of it has
 * a larger log-likelihood by STEP_MARGIN, compared inside MPC and selected obliviously (R's glm
 * and coxph halve a step that lowers the likelihood; this keeps a fixed schedule, so nothing about
 * the data is revealed by the number of evaluations). Returns the chosen candidate's values.
 */
export async function pickBetter(p: Party, ll: [AShare, AShare], values: [AShare, AShare]): Promise<AShare> {
  const second = await bitInject(p, await lt(p, addPublic(p, ll[0], STEP_MARGIN), ll[1], { bits: 48 }));
  const n = values[0].length;
  const d = (await mulMany(p, [[bcast(second, n), sub(values[1], values[0])]]))[0]!;
  return add(values[0], d);
}

/** Σ_g w_g·z_g/2^e for each public integer column (w with F bits): exact sums, one rounding each. */
async function scaledDots(p: Party, w: AShare, cols: { col: BigUint64Array; e: number }[], extra = 0, blocks = 1): Promise<AShare> {
  const G = w.length / blocks;
  const raw: AShare[] = [], d: number[] = [];
  for (let c = 0; c < blocks; c++) for (const x of cols) (raw.push(sum(mulPublic(w.slice(c * G, (c + 1) * G), x.col))), d.push(x.e + extra));
  return roundEach(p, raw, d);
}

/** x_i / 2^{d_i} for one-lane values (d_i = 0: unchanged; d_i < 0: multiplied), rounded once each. */
async function roundEach(p: Party, xs: AShare[], d: number[]): Promise<AShare> {
  return concatShares(await roundMany(p, xs.map((x, i) => [x, d[i]!])));
}

/**
 * Iterations that factorise the information matrix (LDLᵀ: ≈ 43 rounds per coefficient, one after
 * the other); every later one refines the previous iteration's inverse by SCHULZ_STEPS Newton–Schulz
 * steps from half of it (src/mpc/linalg.ts; with the product by the score 22 rounds, against 334 for
 * 7 coefficients). Starting from half the previous inverse, the steps converge wherever the
 * information grew less than 4× since the previous iteration (a Cox fit's risk-set variance q(1 − q)
 * of a rare binary covariate can more than double in one step); where it did not change, the error
 * ½ is raised to the 32nd power by five steps, below the fixed point's. Where it changes most the
 * other way, a level without events (separation: the information in its direction shrinks by ≈ e each
 * iteration), five steps give the Newton step within 0.2 % (test/stats.test.ts "a factor level with
 * no events"; with two plain steps from the factorised third iteration on, 83 %, and the separation
 * was no longer recognised). A poorer inverse only slows Newton's convergence (the score is exact,
 * and the fit's fixed point is where it is 0); the released last step says whether the fit
 * converged. The schedule is public.
 */
const FACTORISED_ITERATIONS = 2;
const SCHULZ_STEPS = 5;

/**
 * Logistic regression factorises once. Its start (intercept logit(Y/N), the rest 0) gives every
 * pattern the same weight w₀ = μ̄(1 − μ̄), so H₀ = w₀·Σ ñ_g x̃_g x̃_g', and every later weight μ(1 − μ)
 * is at most ¼: H₁ ≤ H₀/(4w₀) in the Loewner order. Starting the next iteration from c·H₀⁻¹ with
 * c = 4w₀ ≤ 1 puts the eigenvalues of c·H₀⁻¹H₁ in (0, 1]: Newton–Schulz converges whatever the
 * first step did. Where H did not change the error starts at 1 − 4w₀ (0.81 for μ̄ = 5 %, 0.96
 * for 1 %), hence more steps than later (0.96^1024 < 10⁻¹⁸); the iterations after it refine from half
 * the previous inverse as above. 334 rounds of a factorisation become ≈ 43 for 7 coefficients.
 */
const BINOMIAL_FIRST_SCHULZ_STEPS = 10;

/**
 * The Newton step H⁻¹·score of iteration `it`, the pivots of the factorisation (factorised
 * iterations), and the inverse for the next iteration to refine (from the last factorised one on;
 * its identity columns ride along in the factorisation as more right-hand sides: no extra rounds).
 * `firstScale`: the binomial schedule (one factorisation; c, the scale of the next iteration's start).
 */
async function newtonStep(p: Party, it: number, H: AShare, score: AShare, P: number, inv: AShare | null, firstScale: AShare | null = null): Promise<{ x: AShare; D: AShare | null; inv: AShare | null }> {
  const factorised = firstScale ? 1 : FACTORISED_ITERATIONS;
  if (it >= factorised) {
    const X = firstScale && it === factorised
      ? await newtonSchulz(p, H, (await mulFixedMany(p, [[inv!, bcast(firstScale, P * P)]], F))[0]!, P, BINOMIAL_FIRST_SCHULZ_STEPS, F)
      : await newtonSchulz(p, H, inv!, P, SCHULZ_STEPS, F, true);
    return { x: await matVec(p, X, score, P, F), D: null, inv: X };
  }
  if (it < factorised - 1) return { ...(await ldlSolve(p, H, score, P, 1, F)), inv: null };
  const m = P + 1;
  const unit = (i: number) => BigUint64Array.from({ length: P }, (_, j) => (i === j ? 1n << BigInt(F) : 0n));
  const b = concatShares(Array.from({ length: P }, (_, i) => concatShares([fromPublic(p, unit(i)), laneOf(score, i)])));
  const { x, D } = await ldlSolve(p, H, b, P, m, F);
  return {
    x: concatShares(Array.from({ length: P }, (_, i) => laneOf(x, i * m + P))),
    D,
    inv: concatShares(Array.from({ length: P }, (_, i) => x.slice(i * m, i * m + P))),
  };
}

/**
 * Aliasing in the data, as R's fits detect it: [D_j < 10⁻⁴·H_jj] for the LDLᵀ pivots D of the
 * information at the start (a column explained by the others with R² > 0.9999). One bit per column,
 * released with the estimates (R prints NA for such columns). One comparison.
 */
async function aliasBits(p: Party, H: AShare, D: AShare, P: number): Promise<AShare> {
  const diag = concatShares(Array.from({ length: P }, (_, j) => laneOf(H, j * P + j)));
  return bitInject(p, await lt(p, mulPublic(D, 10_000n), diag, { bits: 62 }));
}

/** max(x, 0) lane by lane (one comparison, one product). */
async function relu(p: Party, x: AShare, bits = 62): Promise<AShare> {
  const neg = await bitInject(p, await lt(p, x, 0n, { bits }));
  return (await mulMany(p, [[x, subFromPublic(p, 1n, neg)]]))[0]!;
}

/** Clamps every lane to [−b, b] (F bits). */
async function clampBox(p: Party, x: AShare, b: number): Promise<AShare> {
  return clampRange(p, x, -b, b);
}

/** Clamps every lane to [lo, hi] (F bits; |x| < 2^16). */
async function clampRange(p: Party, x: AShare, lo: number, hi: number): Promise<AShare> {
  const H = encF(hi), L = encF(lo);
  // [H < x] and [x < L] as the signs of H − x and x − L, both in one comparison (one circuit's rounds).
  const n = x.length;
  const both = await bitInject(p, await lt(p, concatShares([subFromPublic(p, H, x), addPublic(p, x, -L)]), 0n, { bits: 41 }));
  const above = both.slice(0, n), below = both.slice(n, 2 * n);
  const [a, c] = await mulMany(p, [[above, subFromPublic(p, H, x)], [below, subFromPublic(p, L, x)]]);
  return add(add(x, a!), c!);
}

/**
 * Runs the fit at this party; returns this party's share of the released lanes:
 * [β̃ (p), information upper triangle (p(p+1)/2), loglik (scaled), N, Y, last step (p), level bits (L)],
 * all fixed point with F bits except N, Y (integers) and the level bits.
 */
export async function fitModel(p: Party, plan: StatPlan, t: AnalysisTable, noise: StatNoise | null, lap: (phase: string) => void = () => {}): Promise<AShare> {
  const mj = (plan.job as { model: ModelJob }).model;
  const P = mj.names.length;
  const cells = mj.G * mj.T;
  const k = Math.ceil(Math.log2(t.n * (mj.y ? Math.max(1, plan.column(mj.y).max) : 1) + 2));
  // 1. The pattern table.
  let weightRefs: { column: string }[];
  if (mj.family === 'binomial') weightRefs = [{ column: '' }, { column: mj.y! }];
  else if (mj.family === 'poisson') weightRefs = [{ column: mj.y! }, { column: mj.offset ?? '' }];
  else weightRefs = [{ column: '' }, { column: mj.event! }];
  const refs = weightRefs.filter((w) => w.column !== '');
  const m = refs.length ? await masked(p, t, refs) : [];
  let mk = 0;
  const weights = weightRefs.map((w) => (w.column === '' ? t.valid : m[mk++]!));
  // Logistic and Cox weights are 0/1 (rows, bool outcomes and events): counted from the keys' own
  // one-hot planes (cell-counts.ts: no cell number decomposed again into G planes), or, past what
  // counting does cheaper, summed after a sort by cell number (secure.ts COUNT_PLANES). Poisson's
  // are counts and exposures: cell number, then sums per cell.
  const [w0, w1] = mj.family === 'poisson'
    ? await cellSums(p, await cellIndex(p, t, mj.keys), cells, weights)
    : await cellCounts(p, t, mj.keys, weights, { ones: weightRefs.map((w) => w.column === '' && t.allValid) });
  lap(`pattern table (${cells} cells)`);
  // Cox: w0 = exits, w1 = events per (pattern, interval); glm binomial: n_g, y_g; poisson: y_g, T_g.
  let nTab = mj.family === 'poisson' ? w1! : w0!; // persons / exposure / exits per cell (integers)
  const yTab = mj.family === 'poisson' ? w0! : w1!; // events per cell (integers)
  // Events per pattern (Cox: summed over intervals), and X'y = Σ_g y_g x̃_g (F bits × count).
  const yPat = mj.family === 'cox' ? sumOver(yTab, mj.G, mj.T, 'time') : yTab;
  const { z: zCols } = publicColumns(mj);
  let Xy = concatShares(zCols.map((c) => sum(mulPublic(yPat, c.col)))); // raw: Σ_g y_g·z_g (integers)
  let dT = mj.family === 'cox' ? sumOver(yTab, mj.G, mj.T, 'patterns') : null; // events per interval
  // 2. Protection: noise on the table and on X'y, before anything depends on them.
  if (noise) {
    const tab = (s: number) => geometricTable(s * (1 + 1e-12));
    const b = noise.blocks;
    nTab = await addLaplace(p, nTab, [{ table: tab(b[0]!.scale), n: cells }]);
    let off = 1;
    if (mj.family === 'cox') {
      dT = await addLaplace(p, dT!, [{ table: tab(b[1]!.scale), n: mj.T }]);
      off = 2;
    }
    Xy = await addLaplace(p, Xy, b.slice(off).map((x) => ({ table: tab(x.scale), n: 1 })));
  }
  // N (persons; Poisson: rows, exact mode only) and Y (events), integers.
  const Y = mj.family === 'cox' ? sum(dT!) : noise ? laneOf(Xy, 0) : sum(yPat);
  const N = mj.family === 'poisson' ? (noise ? zeros(1) : sum(t.valid)) : sum(nTab);
  // 3. Scaling to O(1). The information is about the number of events (logistic: the rarer
  // outcome), not of rows: counts, X'y and events are scaled by a SECRET power of two 2^ℓ with
  // 2^(ℓ−1) ≤ m < 2^ℓ (m = min(Y, N − Y) for logistic regression, Y for Poisson and Cox), an exact
  // integer product, so the information is O(1) however rare the outcome; ℓ is released with the
  // estimates (the requester needs it to unscale; it is a function of the released event count).
  // Cox's risk sets keep the public scale 2^k ≥ the table's rows (only ratios of them matter).
  const mEv = mj.family === 'binomial' ? await minOf(p, Y, sub(N, Y)) : Y;
  const { factor, ell, up } = await eventScale(p, mEv);
  const rowScale = async (x: AShare): Promise<AShare> => (k <= F ? mulPublic(x, 1n << BigInt(F - k)) : (await truncRound(p, [[x, k - F]]))[0]!);
  // X̃'ỹ in F bits: Σ y z·2^(F−ℓ) / 2^e_j.
  const XyF = (await mulMany(p, [[Xy, bcast(factor, P)]]))[0]!;
  const XyS = await roundEach(p, zCols.map((_, j) => laneOf(XyF, j)), zCols.map((c) => c.e));
  const levelBits = await levelCheck(p, mj, nTab);
  lap('noise, scales and disclosure bits');
  let out: AShare; // [β̃ (P), information (upper), log-likelihood, last step (P)]
  let extra = zeros(0); // protected Cox: the noise's effect on the score (finishModel's delta method)
  if (mj.family === 'poisson') out = await fitPoisson(p, mj, nTab, XyS, Y, ell);
  else if (mj.family === 'cox') {
    const nS = await rowScale(nTab);
    const nH = noise ? await relu(p, nS) : nS; // the information uses max(n, 0)
    const dS = (await mulMany(p, [[dT!, bcast(factor, mj.T)]]))[0]!; // events per interval / 2^ℓ, F bits
    ({ out, extra } = await fitCox(p, mj, nS, noise ? nH : null, XyS, dS, noise ? { up, k } : null));
  } else {
    const nS = (await mulMany(p, [[nTab, bcast(factor, cells)]]))[0]!; // n_g / 2^ℓ, F bits, exact
    const nH = noise ? await relu(p, nS) : nS;
    out = await fitGlm(p, mj, nS, nH, XyS, N, Y);
  }
  lap(`Newton (${mj.iterations} iterations)`);
  // ℓ (secret until released) and k (public: the analysis table's length) for decoding.
  const h = P + (P * (P + 1)) / 2 + 1;
  const head = out.slice(0, h), step = out.slice(h, h + P), aliased = out.slice(h + P, h + 2 * P);
  return concatShares([head, N, Y, step, levelBits, extra, aliased, ell, fromPublic(p, new BigUint64Array([BigInt(k)]))]);
}

/** min(x, y) lane by lane (one comparison, one product). */
async function minOf(p: Party, x: AShare, y: AShare): Promise<AShare> {
  const b = await bitInject(p, await lt(p, x, y, { bits: 48 }));
  return add(y, (await mulMany(p, [[b, sub(x, y)]]))[0]!);
}

/** For an integer m ≥ 0 (one lane): ℓ = bit length of m (≥ 1, at most F) and 2^(F−ℓ), both secret. */
async function eventScale(p: Party, m: AShare): Promise<{ factor: AShare; ell: AShare; up: AShare }> {
  const K = 48;
  const nz = await normalise(p, await relu(p, m), K, false);
  return {
    factor: linComb(nz.onehot, 1, K, (j) => 1n << BigInt(Math.max(0, F - j - 1))),
    ell: linComb(nz.onehot, 1, K, (j) => BigInt(Math.min(j + 1, F))),
    up: linComb(nz.onehot, 1, K, (j) => 1n << BigInt(Math.min(j + 1, F))),
  };
}

/** Sums of a pattern-major G × T table over its intervals (G lanes) or over its patterns (T lanes); local. */
function sumOver(x: AShare, G: number, T: number, over: 'time' | 'patterns'): AShare {
  const n = over === 'time' ? G : T;
  const a = new BigUint64Array(n), b = new BigUint64Array(n);
  for (let g = 0; g < G; g++) for (let t = 0; t < T; t++) {
    const i = over === 'time' ? g : t;
    a[i] = BigInt.asUintN(64, a[i]! + x.a[g * T + t]!);
    b[i] = BigInt.asUintN(64, b[i]! + x.b[g * T + t]!);
  }
  return new AShare(a, b);
}

/** One bit per factor level: [persons with the level < smallest cell] (revealed with the estimates). */
async function levelCheck(p: Party, mj: ModelJob, nTab: AShare): Promise<AShare> {
  if (mj.levels.length === 0) return zeros(0);
  const kMin = BigInt(mj.minCellSize);
  const counts = mj.levels.map((l) => {
    let s = zeros(1);
    for (const g of l.patterns) for (let t = 0; t < mj.T; t++) s = add(s, laneOf(nTab, g * mj.T + t));
    return s;
  });
  return bitInject(p, await lt(p, addPublic(p, concatShares(counts), -kMin), 0n, { bits: 48 }));
}

/** Newton for logistic regression on the scaled pattern table. */
async function fitGlm(p: Party, mj: ModelJob, nS: AShare, nH: AShare, XyS: AShare, N: AShare, Y: AShare): Promise<AShare> {
  const P = mj.names.length;
  const cols = publicColumns(mj);
  const Yf = mulPublic(Y, 1n << BigInt(F)), Nf = mulPublic(N, 1n << BigInt(F));
  // Start: intercept = logit(Y/N), the other coefficients 0.
  const l = await ln(p, concatShares([await atLeastOne(p, Yf), await atLeastOne(p, sub(Nf, Yf))]), F);
  const beta = concatShares([sub(laneOf(l, 0), laneOf(l, 1)), zeros(P - 1)]);
  const res = await newton(p, mj, cols, nS, nH, XyS, beta, null);
  return concatShares([res.beta, res.info, res.ll, res.step, res.aliased]);
}

/** max(x, 1) in F bits (guards a logarithm). */
async function atLeastOne(p: Party, x: AShare): Promise<AShare> {
  const below = await bitInject(p, await lt(p, x, encF(1), { bits: 62 }));
  return add(x, (await mulMany(p, [[below, subFromPublic(p, encF(1), x)]]))[0]!);
}

/**
 * Poisson with the exposure T_g in the offset: μ̃_g = exp(o_g + x̃_g'δ) with o_g = ln T_g − ln T +
 * ln(Y/2^ℓ) (the crude rate as the starting intercept; events scaled by 2^ℓ), β̃ = δ + ln(Y/T)·e_0.
 * Patterns without exposure (T_g < 1) get o_g = −30 (μ̃ ≈ 0).
 */
async function fitPoisson(p: Party, mj: ModelJob, Tg: AShare, XyS: AShare, Y: AShare, ell: AShare): Promise<AShare> {
  const P = mj.names.length, G = mj.G;
  const cols = publicColumns(mj);
  const TgF = mulPublic(Tg, 1n << BigInt(F)); // exposure (integers) in F bits
  const empty = await bitInject(p, await lt(p, TgF, encF(1), { bits: 62 }));
  const Tsafe = add(TgF, (await mulMany(p, [[empty, subFromPublic(p, encF(1), TgF)]]))[0]!);
  const Ttot = await atLeastOne(p, sum(TgF));
  const l = await ln(p, concatShares([Tsafe, Ttot, await atLeastOne(p, mulPublic(Y, 1n << BigInt(F)))]), F);
  const lnT = laneOf(l, G), lnY = laneOf(l, G + 1);
  const shift = sub(sub(lnY, lnT), mulPublic(ell, encF(Math.LN2)));
  const off = add(add(l.slice(0, G), bcast(shift, G)), mulPublic(empty, -encF(30)));
  const res = await newton(p, mj, cols, zeros(G), zeros(G), XyS, zeros(P), off);
  const b0 = sub(lnY, lnT);
  const final = concatShares([add(laneOf(res.beta, 0), b0), res.beta.slice(1, P)]);
  return concatShares([final, res.info, res.ll, res.step, res.aliased]);
}

/**
 * The Newton iterations and the final information and log-likelihood (see fitGlm). Poisson fits
 * choose between the full and a quarter step each iteration by their log-likelihoods (pickBetter:
 * exp overshoots from a poor start); logistic fits take the full step (the sigmoid saturates).
 */
async function newton(p: Party, mj: ModelJob, cols: ReturnType<typeof publicColumns>, nS: AShare, nH: AShare, XyS: AShare, beta0: AShare, off: AShare | null): Promise<{ beta: AShare; info: AShare; ll: AShare; step: AShare; aliased: AShare }> {
  const P = mj.names.length, G = mj.G;
  const lp = linearPredictor(p, mj, cols);
  const binomial = mj.family === 'binomial';
  // Binomial: the weights ñ_g·x̃_gj and ñ_g·x̃_gi·x̃_gj are fixed: rounded to F bits once, so that
  // every iteration's sums are inner products with ONE rounding each (dotMany), not one per pattern.
  const A = binomial ? cols.z.map((c) => mulPublic(nS, c.col)) : null; // exact
  const B = binomial ? cols.zz.map((c) => mulPublic(nH, c.col)) : null;
  /** Fitted X'μ, information (P² lanes), and (withLl) the log-likelihood at each candidate. */
  const moments = async (bs: AShare[], withLl: boolean) => {
    const C = bs.length;
    let e = await lp(bs);
    if (off) e = add(e, concatShares(bs.map(() => off)));
    const block = (x: AShare, c: number) => x.slice(c * G, (c + 1) * G);
    /** w: candidate c's weight μ(1 − μ) at its first pattern (binomial). */
    const out: { fitted: AShare; H: AShare; ll: AShare | null; w?: AShare }[] = [];
    if (binomial) {
      // The log-likelihood (last evaluation only) needs the clamped predictor itself; the other
      // evaluations clamp inside the sigmoid's own comparison.
      const ec = withLl ? await clampBox(p, e, 30) : null;
      const both = ec ? await sigmoidSoftplus(p, ec, F) : null; // σ and softplus from one e^{−|η|}
      const mu = both ? both.sigmoid : await sigmoidClamped(p, e, 30, F);
      const v = (await mulFixedMany(p, [[mu, subFromPublic(p, encF(1), mu)]], F))[0]!;
      const pairs: [AShare, AShare][] = [];
      for (let c = 0; c < C; c++) pairs.push(...A!.map((a) => [a, block(mu, c)] as [AShare, AShare]), ...B!.map((b2) => [b2, block(v, c)] as [AShare, AShare]));
      const raw = await dotMany(p, pairs);
      const shifts = [...cols.z.map((x) => x.e + F), ...cols.zz.map((x) => x.e + F)];
      const t = await roundEach(p, Array.from({ length: C * (P + P * P) }, (_, i) => laneOf(raw, i)), bs.flatMap(() => shifts));
      let ll: AShare | null = null;
      if (withLl) {
        // β̃'X'ỹ − Σ_g ñ_g·softplus(η_g), the sum as one inner product rounded once (ñ_g may exceed 1).
        const sp = both!.softplus;
        const bxy = (await mulFixedMany(p, [[bs[0]!, XyS]], F))[0]!;
        const dot = (await truncRound(p, [[await dotMany(p, [[nS, block(sp, 0)]]), F]]))[0]!;
        ll = sub(sum(bxy), dot);
      }
      for (let c = 0; c < C; c++) out.push({ fitted: t.slice(c * (P + P * P), c * (P + P * P) + P), H: t.slice(c * (P + P * P) + P, (c + 1) * (P + P * P)), ll: c === 0 ? ll : null, w: laneOf(v, c * G) });
      return out;
    }
    // Poisson: μ̃ = exp(η̃) (the exposure is in the offset); η̃ clamped to [−30, 10].
    const mu = await exp(p, await clampRange(p, e, -30, 10), F);
    const dots = await scaledDots(p, mu, [...cols.z, ...cols.zz], 0, C);
    const bxy = (await mulFixedMany(p, [[concatShares(bs), concatShares(bs.map(() => XyS))]], F))[0]!;
    for (let c = 0; c < C; c++) {
      const d = dots.slice(c * (P + P * P), (c + 1) * (P + P * P));
      out.push({ fitted: d.slice(0, P), H: d.slice(P, P + P * P), ll: sub(sum(bxy.slice(c * P, (c + 1) * P)), sum(block(mu, c))) });
    }
    return out;
  };
  let beta = beta0;
  let step = zeros(P);
  let cur = (await moments([beta], false))[0]!;
  // Binomial: at the start every pattern has the same weight w₀ (BINOMIAL_FIRST_SCHULZ_STEPS).
  const firstScale = binomial ? mulPublic(cur.w!, 4n) : null;
  let aliased = zeros(P);
  let inv: AShare | null = null;
  for (let it = 0; it < mj.iterations; it++) {
    const score = sub(XyS, cur.fitted);
    const st = await newtonStep(p, it, cur.H, score, P, inv, firstScale);
    const x = st.x;
    inv = st.inv;
    if (it === 0) aliased = await aliasBits(p, cur.H, st.D!, P);
    const full = await clampBox(p, x, BOX);
    if (binomial) {
      step = full;
      beta = await clampBox(p, add(beta, step), BOX);
      cur = (await moments([beta], false))[0]!;
      continue;
    }
    const quarter = (await truncRound(p, [[full, 2]]))[0]!;
    const cand = await clampBox(p, concatShares([add(beta, full), add(beta, quarter)]), BOX);
    const [m1, m2] = await moments([cand.slice(0, P), cand.slice(P, 2 * P)], false);
    const pack = (b: AShare, st: AShare, m: typeof m1) => concatShares([b, st, m.fitted, m.H, m.ll!]);
    const chosen = await pickBetter(p, [m1!.ll!, m2!.ll!], [pack(cand.slice(0, P), full, m1!), pack(cand.slice(P, 2 * P), quarter, m2!)]);
    let o = 0;
    const take = (n: number) => chosen.slice(o, (o += n));
    beta = take(P);
    step = take(P);
    cur = { fitted: take(P), H: take(P * P), ll: take(1) };
  }
  const final = binomial ? (await moments([beta], true))[0]! : cur;
  const upper: AShare[] = [];
  for (let i = 0; i < P; i++) for (let j = i; j < P; j++) upper.push(laneOf(final.H, i * P + j));
  return { beta, info: concatShares(upper), ll: final.ll!, step, aliased };
}

/**
 * Cox (Breslow) Newton on the scaled pattern × interval table, choosing between the full and a
 * quarter Newton step each iteration by the partial log-likelihood (pickBetter). `nH` is non-null
 * under protection (then the risk sets, suffix sums of noisy exits, are clamped at 0).
 */
async function fitCox(p: Party, mj: ModelJob, nS: AShare, nH: AShare | null, XyS: AShare, dS: AShare, noisy: { up: AShare; k: number } | null): Promise<{ out: AShare; extra: AShare }> {
  const P = mj.names.length, G = mj.G, T = mj.T;
  // At risk at the start of interval t: suffix sums over t of exits (local).
  const atRisk = (x: AShare): AShare => {
    const a = new BigUint64Array(G * T), b = new BigUint64Array(G * T);
    for (let g = 0; g < G; g++) {
      let sa = 0n, sb = 0n;
      for (let t = T - 1; t >= 0; t--) {
        sa += x.a[g * T + t]!;
        sb += x.b[g * T + t]!;
        a[g * T + t] = BigInt.asUintN(64, sa);
        b[g * T + t] = BigInt.asUintN(64, sb);
      }
    }
    return new AShare(a, b);
  };
  // Under protection the noisy risk sets are clamped at 0 (a risk set is a count): the partial
  // likelihood stays a likelihood, so the step choice below stays meaningful.
  const R = nH ? await relu(p, atRisk(nS)) : atRisk(nS), RH = null as AShare | null;
  const cols = publicColumns(mj);
  const lp = linearPredictor(p, mj, cols);
  const ZZ = mj.Z.map((row) => { const o: number[] = []; for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) o.push(row[i]! * row[j]!); return o; });
  const wz = Array.from({ length: P }, (_, j) => mj.Z.map((r) => BigInt.asUintN(64, BigInt(r[j]!))));
  const wzz = Array.from({ length: P * P }, (_, q) => ZZ.map((r) => BigInt.asUintN(64, BigInt(r[q]!))));
  /** Σ_g x_gt·c_g for each t → T lanes (c public integers per pattern, or 1). */
  const byT = (x: AShare, c: bigint[][] | null, j = 0): AShare => {
    const a = new BigUint64Array(T), bb = new BigUint64Array(T);
    for (let g = 0; g < G; g++) {
      const w = c ? c[j]![g]! : 1n;
      if (w === 0n) continue;
      for (let t = 0; t < T; t++) {
        a[t] = BigInt.asUintN(64, a[t]! + x.a[g * T + t]! * w);
        bb[t] = BigInt.asUintN(64, bb[t]! + x.b[g * T + t]! * w);
      }
    }
    return new AShare(a, bb);
  };
  const cat = concatShares;
  /** Score, information (P² lanes) and partial log-likelihood at each candidate (scaled by 2^ℓ). */
  const evalMany = async (bs: AShare[]) => {
    const C = bs.length;
    const e = await clampRange(p, await lp(bs), -30, 10);
    const r = await exp(p, e, F); // e^{η_g}, candidate-major
    // Per interval t: S0_t = Σ_g R_gt r_g, S1_tj = Σ_g R_gt r_g x_gj, S2_tjk likewise (public x).
    const rr = (c: number) => new AShare(
      BigUint64Array.from({ length: G * T }, (_, i) => r.a[c * G + Math.floor(i / T)]!),
      BigUint64Array.from({ length: G * T }, (_, i) => r.b[c * G + Math.floor(i / T)]!),
    );
    const rrs = bs.map((_, c) => rr(c));
    const prods = await mulFixedMany(p, [...rrs.map((x) => [R, x] as [AShare, AShare]), ...(RH ? rrs.map((x) => [RH, x] as [AShare, AShare]) : [])], F);
    const Rr = prods.slice(0, C), RHr = RH ? prods.slice(C) : Rr;
    // One rounding for every S1 and S2 column of every candidate.
    const toShift: [AShare, number][] = [];
    const S0: AShare[] = [], S0H: AShare[] = [];
    for (let c = 0; c < C; c++) {
      S0.push(byT(Rr[c]!, null));
      S0H.push(byT(RHr[c]!, null));
      for (let j = 0; j < P; j++) toShift.push([byT(Rr[c]!, wz, j), mj.e[j]!]);
      for (let j = 0; j < P; j++) toShift.push([byT(RHr[c]!, wz, j), mj.e[j]!]);
      for (let q = 0; q < P * P; q++) toShift.push([byT(RHr[c]!, wzz, q), cols.zz[q]!.e]);
    }
    const shifted = await roundMany(p, toShift);
    const w = 2 * P + P * P;
    const S1 = (c: number) => cat(shifted.slice(c * w, c * w + P));
    const S1H = (c: number) => cat(shifted.slice(c * w + P, c * w + 2 * P));
    const S2 = (c: number) => cat(shifted.slice(c * w + 2 * P, (c + 1) * w));
    // Guard intervals with nobody at risk (S0 = 0): add 1 where S0 < 2^−20 (d_t is 0 there).
    const all = cat([...S0, ...S0H]);
    const tiny = await bitInject(p, await lt(p, all, encF(2 ** -20), { bits: 62 }));
    const safe = add(all, mulPublic(tiny, encF(1)));
    // 1/S0 and ln S0 from one normalisation of S0 (the noisy S0H's lanes take the logarithm along, unused).
    const both = await lnAndReciprocal(p, safe, F);
    const inv = both.inv, lS0 = both.ln.slice(0, C * T);
    const iS0 = (c: number) => inv.slice(c * T, (c + 1) * T), iS0H = (c: number) => inv.slice((C + c) * T, (C + c + 1) * T);
    // a_t = d_t / S0_t; score_j = X'd_j − Σ_t a_t S1_tj; info_jk = Σ_t d_t (S2/S0 − S1 S1'/S0²)_jk
    const aa = await mulFixedMany(p, bs.flatMap((_, c) => [[dS, iS0(c)], [dS, iS0H(c)]] as [AShare, AShare][]), F);
    const a = (c: number) => aa[2 * c]!, aH = (c: number) => aa[2 * c + 1]!;
    const rep = (x: AShare, k: number) => cat(Array.from({ length: k }, () => x));
    const step2 = await mulFixedMany(p, bs.flatMap((_, c) => [[rep(a(c), P), S1(c)], [S1H(c), rep(iS0H(c), P)]] as [AShare, AShare][]), F);
    const as1 = (c: number) => step2[2 * c]!, mt = (c: number) => step2[2 * c + 1]!;
    const mm = bs.map((_, c) => {
      const mi: AShare[] = [], mk: AShare[] = [];
      for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) (mi.push(mt(c).slice(i * T, (i + 1) * T)), mk.push(mt(c).slice(j * T, (j + 1) * T)));
      return [cat(mi), cat(mk)] as [AShare, AShare];
    });
    const step3 = await mulFixedMany(p, bs.flatMap((_, c) => [[rep(aH(c), P * P), S2(c)], mm[c]!] as [AShare, AShare][]), F);
    const step4 = await mulFixedMany(p, [...bs.map((_, c) => [rep(dS, P * P), step3[2 * c + 1]!] as [AShare, AShare]), ...bs.map((_, c) => [dS, lS0.slice(c * T, (c + 1) * T)] as [AShare, AShare]), [cat(bs), rep(XyS, C)]], F);
    const bxy = step4[2 * C]!;
    const per = bs.map((_, c) => {
      const s2a = step3[2 * c]!, dm = step4[c]!, dl = step4[C + c]!;
      const score = sub(XyS, cat(Array.from({ length: P }, (_, j) => sum(as1(c).slice(j * T, (j + 1) * T)))));
      const H = cat(Array.from({ length: P * P }, (_, q) => sub(sum(s2a.slice(q * T, (q + 1) * T)), sum(dm.slice(q * T, (q + 1) * T)))));
      // Partial log-likelihood (up to the constant Σ_t d_t·k ln 2 of the risk sets' scale): β̃'X'd − Σ_t d_t ln S0_t.
      const ll = sub(sum(bxy.slice(c * P, (c + 1) * P)), sum(dl));
      return { score, H, ll };
    });
    // Candidate 0's risk scores, d_t/S0_t and mean covariates (the protected run's delta method).
    return { per, r: r.slice(0, G), a: a(0), mt: mt(0) };
  };
  let beta = zeros(P);
  let step = zeros(P);
  let cur = (await evalMany([beta])).per[0]!;
  let aliased = zeros(P);
  let inv: AShare | null = null;
  for (let it = 0; it < mj.iterations; it++) {
    const st = await newtonStep(p, it, cur.H, cur.score, P, inv);
    const x = st.x;
    inv = st.inv;
    if (it === 0) aliased = await aliasBits(p, cur.H, st.D!, P);
    const full = await clampBox(p, x, BOX);
    const quarter = (await truncRound(p, [[full, 2]]))[0]!;
    const cand = await clampBox(p, cat([add(beta, full), add(beta, quarter)]), BOX);
    const [m1, m2] = (await evalMany([cand.slice(0, P), cand.slice(P, 2 * P)])).per;
    const pack = (b: AShare, st: AShare, m: typeof m1) => cat([b, st, m!.score, m!.H, m!.ll]);
    const chosen = await pickBetter(p, [m1!.ll, m2!.ll], [pack(cand.slice(0, P), full, m1), pack(cand.slice(P, 2 * P), quarter, m2)]);
    let o = 0;
    const take = (n: number) => chosen.slice(o, (o += n));
    beta = take(P);
    step = take(P);
    cur = { score: take(P), H: take(P * P), ll: take(1) };
  }
  const upper: AShare[] = [];
  for (let i = 0; i < P; i++) for (let j = i; j < P; j++) upper.push(laneOf(cur.H, i * P + j));
  const out = cat([beta, cat(upper), cur.ll, step, aliased]);
  if (!noisy) return { out, extra: zeros(0) };
  // Protected runs: how the noise moves the score (true units), for the requester's delta method.
  // Exits noise Z_gt shifts the risk sets R_gt' (t' ≤ t): ∂score/∂Z_gt = −r_g (x̃_g A_t − B_t) with
  // A_t = Σ_{t'≤t} d_t'/S0_t', B_t = Σ_{t'≤t} d_t' m_t'/S0_t' (m: mean covariate at risk); events
  // noise on d_t: ∂score/∂d_t = −m_t. Released: M̃ = Σ_gt u u' (u = r_g (x̃_g A_t − B_t)) and
  // M_d = Σ_t m_t m_t' (upper triangles), computed from the noisy table: post-processing, no
  // further privacy cost. u is formed as r·A·2^(ℓ−k) (ℓ: the events' secret scale) at F bits and
  // kept at 12 fractional bits for the sums (Σ u² may reach G·T).
  const { r, a, mt } = await evalMany([beta]);
  const prefix = (x: AShare): AShare => {
    const pa = new BigUint64Array(T), pb = new BigUint64Array(T);
    let sa = 0n, sb = 0n;
    for (let t = 0; t < T; t++) ((sa += x.a[t]!), (sb += x.b[t]!), (pa[t] = BigInt.asUintN(64, sa)), (pb[t] = BigInt.asUintN(64, sb)));
    return new AShare(pa, pb);
  };
  const am = (await mulFixedMany(p, [[cat(Array.from({ length: P }, () => a)), mt]], F))[0]!;
  const At = prefix(a), Bt = Array.from({ length: P }, (_, j) => prefix(am.slice(j * T, (j + 1) * T)));
  const rG = new AShare(BigUint64Array.from({ length: G * T }, (_, i) => r.a[Math.floor(i / T)]!), BigUint64Array.from({ length: G * T }, (_, i) => r.b[Math.floor(i / T)]!));
  const tile = (x: AShare) => cat(Array.from({ length: G }, () => x));
  const vw = await mulFixedMany(p, [[rG, tile(At)], ...Bt.map((b) => [rG, tile(b)] as [AShare, AShare])], F);
  const scaled = (await mulMany(p, [[cat(vw), bcast(noisy.up, (P + 1) * G * T)]]))[0]!;
  const U = (await truncRound(p, [[scaled, noisy.k + F - 12]]))[0]!; // r·A·2^(ℓ−k), 12 fractional bits
  const v = U.slice(0, G * T);
  const zGT = (j: number) => fromInts(Array.from({ length: G * T }, (_, i) => mj.Z[Math.floor(i / T)]![j]!));
  const xv = await roundMany(p, Array.from({ length: P }, (_, j) => [mulPublic(v, zGT(j)), mj.e[j]!] as [AShare, number]));
  const u = xv.map((x, j) => sub(x, U.slice((j + 1) * G * T, (j + 2) * G * T)));
  const pairs: [AShare, AShare][] = [];
  for (let i = 0; i < P; i++) for (let j = i; j < P; j++) pairs.push([u[i]!, u[j]!]);
  for (let i = 0; i < P; i++) for (let j = i; j < P; j++) pairs.push([mt.slice(i * T, (i + 1) * T), mt.slice(j * T, (j + 1) * T)]);
  const raw = await dotMany(p, pairs);
  const half = (P * (P + 1)) / 2;
  // u·u at 2·12 = F bits already; m·m at 2F bits, rounded to F.
  const [Md] = await truncRound(p, [[raw.slice(half, 2 * half), F]]);
  return { out, extra: cat([raw.slice(0, half), Md!]) };
}

/** x_i / 2^{d_i} for several shares at once (d_i = 0: unchanged; d_i < 0: multiplied), one truncation call. */
async function roundMany(p: Party, items: [AShare, number][]): Promise<AShare[]> {
  const idx = items.flatMap(([, d], i) => (d > 0 ? [i] : []));
  const t = idx.length ? await truncRound(p, idx.map((i) => items[i]!)) : [];
  const out = items.map(([x, d]) => (d < 0 ? mulPublic(x, 1n << BigInt(-d)) : x));
  idx.forEach((i, k) => (out[i] = t[k]!));
  return out;
}
