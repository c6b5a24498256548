// The requester's side of a model fit (./glm.ts): the released lanes (β̂ on the scaled covariates,
// the information at β̂, log-likelihood, N, events, last Newton step, the disclosure and aliasing
// bits) turned into R's summary(glm(...)) or coxph table, with separation, non-convergence and
// withheld estimates as notes, and under protection each estimate's error from the noise (delta
// method). Browser-safe: the CLI and the browser finish with it. Computes on released numbers only.
import { pnorm, pchisq, qnorm } from './distributions.js';
import { fail } from './model.js';
import { cholesky, cholInverse } from './linalg.js';
import { textTable, type FinishOptions, type StatNoise, type StatPlan, type StatResult } from './functions.js';
import { BOX, F, type ModelJob } from './model-job.js';
import { ratiosOf, type CoefficientRow } from './shapes.js';

/**
 * Separation: a coefficient at the box, or still climbing by Newton steps of order one (the
 * likelihood has no maximum: each step adds about one to the linear predictor).
 */
const separation = (bt: number[], lastStep: number[]): boolean[] => bt.map((b, j) => Math.abs(b) > BOX * 0.95 || (Math.abs(b) > 8 && Math.abs(lastStep[j]!) > 0.3));
const separatedAny = (bt: number[], lastStep: number[]) => separation(bt, lastStep).some(Boolean);

const fmt = (x: number, d = 4): string => (Number.isNaN(x) ? 'NA' : Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-4 && x !== 0) ? x.toExponential(d - 1) : x.toPrecision(d));
const fmtP = (p: number): string => (p < 2e-16 ? '<2e-16' : p < 1e-4 ? p.toExponential(2) : p.toPrecision(4));
const stars = (p: number) => (p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : p < 0.1 ? '.' : ' ');
const dec = (v: bigint, f = F) => Number(v) / 2 ** f;

export function finishModel(plan: StatPlan, released: bigint[], o: FinishOptions, noise: StatNoise | null): StatResult {
  const mj = (plan.job as { model: ModelJob }).model;
  const P = mj.names.length;
  let off = 0;
  const take = (n: number) => released.slice(off, (off += n));
  const bt = take(P).map((v) => dec(v));
  const infoU = take((P * (P + 1)) / 2).map((v) => dec(v));
  const llS = dec(take(1)[0]!);
  const isCox = mj.family === 'cox';
  const [Nraw, Yraw] = take(2);
  const N = Number(BigInt.asIntN(64, Nraw!)), Y = Number(BigInt.asIntN(64, Yraw!));
  const lastStep = take(P).map((v) => dec(v));
  const levelSmall = take(mj.levels.length).map((v) => v === 1n);
  // Protected Cox fits: the noise's effect on the score, M̃ and M_d (upper triangles, F bits).
  const coxNoise = noise && mj.family === 'cox' ? take(P * (P + 1)).map((v) => dec(v)) : [];
  const aliasedBits = take(P).map((v) => v === 1n);
  const notes: string[] = [];
  const small = mj.levels.filter((_, i) => levelSmall[i]);
  if (small.length && !o.protectedRun) fail(`${plan.request.fn}: ${small.map((l) => l.name).join(', ')} ${small.length > 1 ? 'have' : 'has'} fewer than ${o.minCellSize} persons (the smallest cell released): merge levels or filter`);
  if (small.length) notes.push(`${small.map((l) => l.name).join(', ')}: fewer than ${o.minCellSize} persons after the noise`);
  // DataSHIELD's limit on the parameters of a model: at most 0.33·N (N persons; protected Poisson runs release no N).
  if (N > 0 && P > 0.33 * N) fail(`${plan.request.fn}: ${P} parameters for ${Math.round(N)} persons: at most 0.33·N parameters (disclosure rule)`);
  // Scale back: information in true units I = 2^ℓ·Ĩ (ℓ: the events' scale, released; k public:
  // the analysis table's length, the scale of Cox's risk sets).
  const ell = Number(released[released.length - 2]!), k = Number(released[released.length - 1]!);
  const Ht = Array.from({ length: P }, () => new Array<number>(P).fill(0));
  let q = 0;
  for (let i = 0; i < P; i++) for (let j = i; j < P; j++) Ht[i]![j] = Ht[j]![i] = infoU[q++]! * 2 ** ell;
  // Aliased columns (the pivots of the information at the start, compared inside MPC: aliasBits) or
  // a singular information at the estimate (relative pivot < 10⁻⁴, i.e. a column explained by the
  // others with R² > 0.9999) mean
  // columns that are linear combinations of others IN THE DATA (the design's patterns were checked
  // when planning): reported with their names, as R reports NA, never fitted into numbers.
  let { L, kept } = cholesky(Ht, 1e-2);
  const aliased = mj.names.filter((_, j) => aliasedBits[j] || (!kept[j] && !separatedAny(bt, lastStep)));
  // Exact runs: the data's collinearity, refused with the columns' names. Protected runs: the
  // information comes from the noisy table, so a column may look collinear because of the noise
  // alone (small N, small epsilon): its estimate is withheld with a note, the others fitted without it.
  if (aliased.length && !o.protectedRun) fail(`${plan.request.fn}: ${aliased.join(', ')} ${aliased.length > 1 ? 'are linear combinations' : 'is a linear combination'} of other columns in the data (collinear; R reports NA): drop ${aliased.length > 1 ? 'them' : 'it'} and run again`);
  const dropped = mj.names.map((n) => aliased.includes(n));
  if (aliased.length) {
    notes.push(`${aliased.join(', ')}: collinear with other columns in the noisy table (too few persons for the noise at this epsilon); ${aliased.length > 1 ? 'their estimates are' : 'its estimate is'} not reported`);
    for (let j = 0; j < P; j++) if (dropped[j]) for (let i = 0; i < P; i++) Ht[i]![j] = Ht[j]![i] = 0;
    ({ L, kept } = cholesky(Ht, 1e-2));
  }
  const Vt = cholInverse(L, kept);
  // β = A β̃: β_j = β̃_j/s_j (j ≥ 1 or all for Cox), intercept β_0 = β̃_0 − Σ_j β̃_j c_j/s_j.
  const A = Array.from({ length: P }, (_, i) => new Array<number>(P).fill(0));
  for (let j = 0; j < P; j++) A[j]![j] = 1 / mj.scale[j]!;
  if (!isCox) for (let j = 1; j < P; j++) A[0]![j] = -mj.center[j]! / mj.scale[j]!;
  const beta = A.map((r) => r.reduce((s, a, j) => s + a * bt[j]!, 0));
  const V = A.map((ri) => A.map((rj) => ri.reduce((s, a, i2) => s + a * rj.reduce((t, b, j2) => t + b * Vt[i2]![j2]!, 0), 0)));
  const se = beta.map((_, j) => Math.sqrt(V[j]![j]!));
  const z = beta.map((b, j) => b / se[j]!);
  const pv = z.map((x) => 2 * pnorm(-Math.abs(x)));
  const zq = qnorm(0.975);
  const separated = separation(bt, lastStep);
  // The intercept itself diverging (the outcome is all 0 or all 1 as far as the fit can tell; under
  // protection, the noise on a rare outcome at this epsilon) leaves no other estimate meaningful.
  const interceptOut = mj.names[0] === '(Intercept)' && separated[0]!;
  /** Not reported: diverging (separation) or collinear in the noisy table; everything when the intercept diverges. */
  const withheld = separated.map((x, j) => interceptOut || x || dropped[j]!);
  // Converged: the last Newton step is at the fixed-point noise floor (scaled covariates).
  const converged = lastStep.every((s) => Math.abs(s) < 2e-3) && !separated.some(Boolean);
  if (separated.some(Boolean)) notes.push(`separation: the maximum-likelihood estimate does not exist — ${mj.names.filter((_, j) => separated[j]).join(', ')} diverge${separated.filter(Boolean).length > 1 ? '' : 's'} (a level or value that perfectly predicts the outcome, e.g. a level with no events${o.protectedRun ? ', or so it looks through the noise at this epsilon' : ''}); ${interceptOut ? 'as the intercept diverges, no estimate is reported' : 'their estimates are not reported'}`);
  if (!converged && !separated.some(Boolean)) notes.push(`the fit did not converge in ${mj.iterations} Newton iterations (last step ${Math.max(...lastStep.map(Math.abs)).toExponential(1)} on the scaled scale)`);
  const values: Record<string, number> = { converged: converged ? 1 : 0, iterations: mj.iterations, N, events: Y };
  mj.names.forEach((n, j) => {
    const ok = !withheld[j];
    values[`coef:${n}`] = ok ? beta[j]! : NaN;
    values[`se:${n}`] = ok ? se[j]! : NaN;
    values[`z:${n}`] = ok ? z[j]! : NaN;
    values[`p:${n}`] = ok ? pv[j]! : NaN;
    values[`lower:${n}`] = ok ? beta[j]! - zq * se[j]! : NaN;
    values[`upper:${n}`] = ok ? beta[j]! + zq * se[j]! : NaN;
    if (isCox) values[`hr:${n}`] = ok ? Math.exp(beta[j]!) : NaN;
  });
  const lines: string[] = [];
  if (!isCox) {
    const ll = llS * 2 ** ell;
    let dev = NaN, nullDev = NaN;
    if (mj.family === 'binomial') {
      dev = -2 * ll;
      nullDev = -2 * (Y * Math.log(Y / N) + (N - Y) * Math.log(1 - Y / N));
    }
    Object.assign(values, { deviance: dev, 'null.deviance': nullDev, 'df.residual': N - P, 'df.null': N - 1, aic: dev + 2 * P });
    const rows = mj.names.map((n, j) => (withheld[j] ? [n, 'NA', 'NA', 'NA', 'NA', ''] : [n, fmt(beta[j]!), fmt(se[j]!), fmt(z[j]!, 3), fmtP(pv[j]!), stars(pv[j]!)]));
    lines.push(`Call:\nglm(formula = ${plan.formula.text}, family = ${mj.family})`, '', 'Coefficients:', textTable(['', 'Estimate', 'Std. Error', 'z value', 'Pr(>|z|)', ''], rows), '---', "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", '');
    if (mj.family === 'binomial') lines.push(`    Null deviance: ${fmt(nullDev, 7)}  on ${Math.round(N - 1)}  degrees of freedom`, `Residual deviance: ${fmt(dev, 7)}  on ${Math.round(N - P)}  degrees of freedom`, `AIC: ${fmt(dev + 2 * P, 7)}`);
    else lines.push('(deviance: not computed for Poisson fits yet)');
    lines.push('', `Number of Newton iterations in MPC: ${mj.iterations}${converged ? ' (converged)' : ' (NOT converged)'}`);
    lines.push('', textTable(['', 'exp(coef)', '2.5 %', '97.5 %'], mj.names.map((n, j) => (withheld[j] ? [n, 'NA', 'NA', 'NA'] : [n, fmt(Math.exp(beta[j]!)), fmt(Math.exp(beta[j]! - zq * se[j]!)), fmt(Math.exp(beta[j]! + zq * se[j]!))]))));
  } else {
    const rows = mj.names.map((n, j) => (withheld[j] ? [n, 'NA', 'NA', 'NA', 'NA', 'NA', ''] : [n, fmt(beta[j]!), fmt(Math.exp(beta[j]!)), fmt(se[j]!), fmt(z[j]!, 3), fmtP(pv[j]!), stars(pv[j]!)]));
    // Wald test of all coefficients.
    const Vi = cholInverse(cholesky(V).L, cholesky(V).kept);
    let wald = 0;
    for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) wald += beta[i]! * Vi[i]![j]! * beta[j]!;
    Object.assign(values, { wald, 'wald.p': pchisq(wald, P, false), loglik: llS * 2 ** ell - Y * k * Math.LN2 });
    lines.push(`Call:\ncoxph(formula = ${plan.formula.text}, ties = "breslow")`, '', textTable(['', 'coef', 'exp(coef)', 'se(coef)', 'z', 'p', ''], rows), '',
      textTable(['', 'exp(coef)', 'lower .95', 'upper .95'], mj.names.map((n, j) => (withheld[j] ? [n, 'NA', 'NA', 'NA'] : [n, fmt(Math.exp(beta[j]!)), fmt(Math.exp(beta[j]! - zq * se[j]!)), fmt(Math.exp(beta[j]! + zq * se[j]!))]))), '',
      `n= ${Math.round(N)}, number of events= ${Math.round(Y)}`, `Wald test = ${fmt(wald)}  on ${P} df,   p=${fmtP(pchisq(wald, P, false))}`, `Newton iterations in MPC: ${mj.iterations}${converged ? ' (converged)' : ' (NOT converged)'}`);
  }
  let errors: StatResult['errors'];
  if (noise) {
    // Delta method (true units, scaled covariates): Cov_noise(β̃) = I⁻¹ M I⁻¹ with M the covariance
    // of the score the noise adds; then β = A β̃. M: X'y noise diag(Var Z_xy); logistic, persons
    // per pattern Σ_g x̃x̃'·μ_g²·Var Z_n; Poisson, exposure per pattern Σ_g x̃x̃'·rate_g²·Var Z_T;
    // Cox, from the released noise terms (fitCox): Var Z_exits·M̃ + Var Z_events·M_d.
    const varOf = (s: number) => { const a = Math.exp(-1 / s); return (2 * a) / (1 - a) ** 2; };
    const b = noise.blocks;
    const vn = varOf(b[0]!.scale);
    const vxy = b.slice(isCox ? 2 : 1).map((x, j) => varOf(x.scale) / 2 ** (2 * mj.e[j]!));
    const M = Array.from({ length: P }, () => new Array<number>(P).fill(0));
    if (isCox) {
      const vd = varOf(b[1]!.scale);
      let q = 0;
      for (let i = 0; i < P; i++) for (let j = i; j < P; j++, q++) M[i]![j] = M[j]![i] = vn * coxNoise[q]! + vd * coxNoise[(P * (P + 1)) / 2 + q]!;
    } else {
      mj.X.forEach((x) => {
        const eta = x.reduce((s, v, j) => s + v * bt[j]!, 0);
        const w = mj.family === 'binomial' ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta);
        for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) M[i]![j]! += x[i]! * x[j]! * w * w * vn;
      });
    }
    for (let j = 0; j < P; j++) M[j]![j]! += vxy[j]!;
    const VM = Vt.map((ri) => M[0]!.map((_, j) => ri.reduce((s, v, i2) => s + v * M[i2]![j]!, 0)));
    const VMV = VM.map((ri) => Vt[0]!.map((_, j) => ri.reduce((s, v, i2) => s + v * Vt[i2]![j]!, 0)));
    const Cb = A.map((ri) => A.map((rj) => ri.reduce((s, a, i2) => s + a * rj.reduce((t, bb, j2) => t + bb * VMV[i2]![j2]!, 0), 0)));
    errors = {};
    mj.names.forEach((n, j) => {
      const sd = Math.sqrt(Math.max(0, Cb[j]![j]!));
      errors![`coef:${n}`] = { sd, half95: 1.96 * sd };
      if (isCox) errors![`hr:${n}`] = { sd: Math.exp(beta[j]!) * sd, half95: 1.96 * Math.exp(beta[j]!) * sd };
    });
  }
  const coefficients: CoefficientRow[] = mj.names.map((n, j) => ({ name: n, estimate: values[`coef:${n}`]!, se: values[`se:${n}`]!, statistic: values[`z:${n}`]!, p: values[`p:${n}`]!, lower: values[`lower:${n}`]!, upper: values[`upper:${n}`]! }));
  return { fn: plan.request.fn, call: `${plan.request.fn}(${plan.formula.text})`, text: lines.join('\n'), values, ...(errors ? { errors } : {}), series: { coefficients, ratios: ratiosOf(coefficients, isCox ? 'hazard ratio' : mj.family === 'poisson' ? 'rate ratio' : 'odds ratio') }, notes };
}
