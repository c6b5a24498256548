// Small dense symmetric positive definite systems H x = b in fixed point on shared values, for the
// Newton steps of model fits inside MPC (src/stats/glm.ts): an LDLᵀ factorisation column by column
// (one reciprocal per pivot, fixed.ts, Catrina–Saxena FC 2010), then forward and back substitution
// for m right-hand sides at once. Rounds: p·(≈ 43) for the factorisation, 6p + 3 for the solve; the
// lanes are tiny (p² and p·m). Precision: each product is rounded to f bits (mulFixed), each pivot's
// reciprocal carries 2^−27 relative error; Newton's method corrects the inexact step (only the
// gradient must be exact). Contract: H symmetric positive definite, |every intermediate product| <
// 2^(62−2f) (fixed.ts); the caller keeps H and b scaled to O(1). Reveals nothing.
import { AShare, concatShares, sub } from './arith.js';
import { DEFAULT_F, mulFixedMany, reciprocal } from './fixed.js';
import type { Party } from './party.js';

const lane = (x: AShare, i: number): AShare => x.slice(i, i + 1);

/**
 * x = H⁻¹ b for H given as p² lanes (row-major, symmetric) and b as p·m lanes (row i, column r at
 * i·m + r). Also returns the pivots D (p lanes), whose revealed signs tell whether H was positive
 * definite (callers may reveal [D_j < tol·H_jj] to drop aliased columns, as R's fits do).
 */
export async function ldlSolve(p: Party, H: AShare, b: AShare, dim: number, m: number, f = DEFAULT_F): Promise<{ x: AShare; D: AShare }> {
  const P = dim;
  const at = (i: number, j: number) => lane(H, i * P + j);
  const L: AShare[][] = Array.from({ length: P }, () => new Array<AShare>(P));
  const E: AShare[][] = Array.from({ length: P }, () => new Array<AShare>(P)); // E_ij = L_ij·D_j
  const D: AShare[] = [];
  const R: AShare[] = [];
  for (let j = 0; j < P; j++) {
    // E_ij = H_ij − Σ_{k<j} L_ik·E_jk for i ≥ j (i = j: D_j).
    const rows = Array.from({ length: P - j }, (_, t) => j + t);
    let vals = rows.map((i) => at(i, j));
    if (j > 0) {
      const pairs: [AShare, AShare][] = [];
      for (const i of rows) for (let k = 0; k < j; k++) pairs.push([L[i]![k]!, E[j]![k]!]);
      const prods = await mulFixedMany(p, [[concatShares(pairs.map((q) => q[0])), concatShares(pairs.map((q) => q[1]))]], f);
      vals = rows.map((i, t) => {
        let v = at(i, j);
        for (let k = 0; k < j; k++) v = sub(v, lane(prods[0]!, t * j + k));
        return v;
      });
    }
    D[j] = vals[0]!;
    R[j] = await reciprocal(p, D[j]!, f);
    for (let t = 1; t < rows.length; t++) E[rows[t]!]![j] = vals[t]!;
    if (rows.length > 1) {
      const l = await mulFixedMany(p, [[concatShares(vals.slice(1)), concatShares(vals.slice(1).map(() => R[j]!))]], f);
      for (let t = 1; t < rows.length; t++) L[rows[t]!]![j] = lane(l[0]!, t - 1);
    }
  }
  // Forward: z_i = b_i − Σ_{k<i} L_ik z_k (unit lower), m right-hand sides per step.
  const z: AShare[] = [];
  for (let i = 0; i < P; i++) {
    let zi = b.slice(i * m, (i + 1) * m);
    if (i > 0) {
      const xs: AShare[] = [], ys: AShare[] = [];
      for (let k = 0; k < i; k++) {
        xs.push(concatShares(Array.from({ length: m }, () => L[i]![k]!)));
        ys.push(z[k]!);
      }
      const pr = (await mulFixedMany(p, [[concatShares(xs), concatShares(ys)]], f))[0]!;
      for (let k = 0; k < i; k++) zi = sub(zi, pr.slice(k * m, (k + 1) * m));
    }
    z.push(zi);
  }
  // y = z / D
  const yAll = (await mulFixedMany(p, [[concatShares(z), concatShares(R.map((r) => concatShares(Array.from({ length: m }, () => r))))]], f))[0]!;
  const y = Array.from({ length: P }, (_, i) => yAll.slice(i * m, (i + 1) * m));
  // Back: x_i = y_i − Σ_{k>i} L_ki x_k
  const x: AShare[] = new Array(P);
  for (let i = P - 1; i >= 0; i--) {
    let xi = y[i]!;
    if (i < P - 1) {
      const xs: AShare[] = [], ys: AShare[] = [];
      for (let k = i + 1; k < P; k++) {
        xs.push(concatShares(Array.from({ length: m }, () => L[k]![i]!)));
        ys.push(x[k]!);
      }
      const pr = (await mulFixedMany(p, [[concatShares(xs), concatShares(ys)]], f))[0]!;
      for (let k = 0; k < P - 1 - i; k++) xi = sub(xi, pr.slice(k * m, (k + 1) * m));
    }
    x[i] = xi;
  }
  return { x: concatShares(x), D: concatShares(D) };
}
