// Small dense symmetric positive definite systems H x = b in fixed point on shared values, for the
// Newton steps of model fits inside MPC (src/stats/glm.ts): an LDLᵀ factorisation column by column
// (one reciprocal per pivot, fixed.ts, Catrina–Saxena FC 2010), with the m right-hand sides
// carried as m more rows of it (the forward substitution and D⁻¹ come out of the factorisation), then
// back substitution for all m at once. Rounds: p·(≈ 43) for the factorisation, 3(p − 1) for the solve; the
// lanes are tiny (p² and p·m). Precision: each product is rounded to f bits (mulFixed), each pivot's
// reciprocal carries 2^−27 relative error; Newton's method corrects the inexact step (only the
// gradient must be exact). Contract: H symmetric positive definite, |every intermediate product| <
// 2^(62−2f) (fixed.ts); the caller keeps H and b scaled to O(1). Reveals nothing.
//
// Newton–Schulz (Schulz 1933; Pan–Schreiber, SIAM J. Sci. Stat. Comput. 12(5), 1991) refines an
// approximate inverse X of H by X ← X(2I − HX): the error E = I − HX squares at every step, and it
// converges whenever the eigenvalues of HX lie in (0, 2). Four rounds a step (two matrix products,
// each entry an inner product rounded once), against the factorisation's p·43: a model fit whose
// information matrix changes little from one iteration to the next (src/stats/glm.ts) refines the
// previous iteration's inverse instead of factorising again. Reveals nothing.
import { AShare, concatShares, dotMany, sub, subFromPublic } from './arith.js';
import { DEFAULT_F, mulFixedMany, reciprocal, truncRound } from './fixed.js';
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
  // The right-hand sides ride along as m more rows of the factorisation (the augmented matrix
  // [H b; b' ·]): their E entries are the forward substitution's z = L⁻¹b and their L entries
  // z_j/D_j = y, so the forward pass and the division by D cost no rounds of their own.
  const Lb: AShare[][] = Array.from({ length: m }, () => new Array<AShare>(P));
  const D: AShare[] = [];
  const R: AShare[] = [];
  for (let j = 0; j < P; j++) {
    // E_ij = H_ij − Σ_{k<j} L_ik·E_jk for i ≥ j (i = j: D_j); the same for each right-hand side r
    // with b_jr in place of H_ij.
    const rows = Array.from({ length: P - j }, (_, t) => j + t);
    let vals = rows.map((i) => at(i, j));
    let rhs = Array.from({ length: m }, (_, r) => lane(b, j * m + r));
    if (j > 0) {
      const left: AShare[] = [], right: AShare[] = [];
      for (const i of rows) for (let k = 0; k < j; k++) (left.push(L[i]![k]!), right.push(E[j]![k]!));
      for (let r = 0; r < m; r++) for (let k = 0; k < j; k++) (left.push(Lb[r]![k]!), right.push(E[j]![k]!));
      const prods = (await mulFixedMany(p, [[concatShares(left), concatShares(right)]], f))[0]!;
      const minus = (v: AShare, t: number) => {
        for (let k = 0; k < j; k++) v = sub(v, lane(prods, t * j + k));
        return v;
      };
      vals = rows.map((i, t) => minus(at(i, j), t));
      rhs = rhs.map((v, r) => minus(v, rows.length + r));
    }
    D[j] = vals[0]!;
    R[j] = await reciprocal(p, D[j]!, f);
    for (let t = 1; t < rows.length; t++) E[rows[t]!]![j] = vals[t]!;
    const below = [...vals.slice(1), ...rhs];
    if (below.length > 0) {
      const l = (await mulFixedMany(p, [[concatShares(below), concatShares(below.map(() => R[j]!))]], f))[0]!;
      for (let t = 1; t < rows.length; t++) L[rows[t]!]![j] = lane(l, t - 1);
      for (let r = 0; r < m; r++) Lb[r]![j] = lane(l, rows.length - 1 + r);
    }
  }
  // y = D⁻¹ L⁻¹ b: the right-hand sides' rows of L (row i, column r at y[i] lane r).
  const y = Array.from({ length: P }, (_, i) => concatShares(Array.from({ length: m }, (_, r) => Lb[r]![i]!)));
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

/**
 * A·B for a P×P row-major shared A and a P×Q row-major B (default Q = P) in fixed point: every
 * entry one inner product (dotMany), rounded once to f bits. Two rounds.
 */
async function matMul(p: Party, A: AShare, B: AShare, P: number, f: number, Q = P): Promise<AShare> {
  const rows = Array.from({ length: P }, (_, i) => A.slice(i * P, (i + 1) * P));
  const cols = Array.from({ length: Q }, (_, j) => concatShares(Array.from({ length: P }, (_, k) => lane(B, k * Q + j))));
  const pairs: [AShare, AShare][] = [];
  for (let i = 0; i < P; i++) for (let j = 0; j < Q; j++) pairs.push([rows[i]!, cols[j]!]);
  return (await truncRound(p, [[await dotMany(p, pairs), f]]))[0]!;
}

/**
 * X ← X(2I − HX), `steps` times, for P×P row-major H and X (see the module comment): X → H⁻¹
 * quadratically when the eigenvalues of HX are in (0, 2) (e.g. X an earlier H's inverse with H ≤ that
 * H in the Loewner order, or close to it). With `halve`, the iteration starts from X/2 instead (its
 * first step X(I − HX/4) costs no extra round): it then converges whenever the eigenvalues of HX are
 * in (0, 4), i.e. H may have grown to up to 4× the matrix X inverted, at the price of a contraction
 * of ½ instead of ≈ 0 where H did not change (one more step for the same error). Four rounds a
 * step; the products' contract is ldlSolve's.
 */
export async function newtonSchulz(p: Party, H: AShare, X: AShare, P: number, steps: number, f = DEFAULT_F, halve = false): Promise<AShare> {
  const diag = (c: bigint) => BigUint64Array.from({ length: P * P }, (_, q) => (q % (P + 1) === 0 ? c << BigInt(f) : 0n));
  for (let s = 0; s < steps; s++) {
    // (X/2)(2I − H·X/2) = X(I − HX/4): the quarter is taken in the product's own rounding.
    const first = halve && s === 0;
    X = await matMul(p, X, subFromPublic(p, diag(first ? 1n : 2n), await matMul(p, H, X, P, first ? f + 2 : f)), P, f);
  }
  return X;
}

/** X·b for a P×P row-major X and P lanes b in fixed point (each lane one inner product, rounded once). Two rounds. */
export function matVec(p: Party, X: AShare, b: AShare, P: number, f = DEFAULT_F): Promise<AShare> {
  return matMul(p, X, b, P, f, 1);
}
