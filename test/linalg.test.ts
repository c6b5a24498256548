// ldlSolve (src/mpc/linalg.ts) against a plaintext solve in double precision: random symmetric
// positive definite systems scaled to O(1) as the model fits keep them (p = 1..8, one and several
// right-hand sides), an ill-conditioned one, and the pivots' signs on a singular matrix. The bound:
// each product is rounded to f = 24 bits and each reciprocal carries ≤ 2^−27 relative error, so the
// solution's error is a few hundred ulps times the condition number (stated per case below).
// newtonSchulz and matVec: the previous inverse of a model fit's information refined for the
// current one (a change by up to e in one direction, as in a separated fit), against the plaintext,
// on matrices whose change has a known spectrum (so each bound below holds for every random draw).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { revealMany } from '../src/mpc/arith.js';
import { decodeFixed, encodeFixed } from '../src/mpc/fixed.js';
import { ldlSolve, matVec, newtonSchulz } from '../src/mpc/linalg.js';
import { splitShares } from '../src/mpc/share.js';
import { run3 } from './harness.js';

const F = 24;

function uniform(n: number): number[] {
  const b = randomBytes(4 * n);
  const v = new Uint32Array(b.buffer, b.byteOffset, n);
  return Array.from(v, (x) => x / 2 ** 32);
}

/** H = (AᵀA/k + δ·I)/s: symmetric positive definite, largest entry ≈ 1/4 (as a binomial fit's information). */
function spd(p: number, delta: number): number[][] {
  const k = 3 * p + 5;
  const a = uniform(k * p).map((u) => 2 * u - 1);
  const H = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => {
    let s = 0;
    for (let r = 0; r < k; r++) s += a[r * p + i]! * a[r * p + j]!;
    return s / k + (i === j ? delta : 0);
  }));
  const s = 4 * Math.max(...H.map((r, i) => r[i]!));
  return H.map((r) => r.map((v) => v / s));
}

/** x = H⁻¹B in double precision (Gaussian elimination with partial pivoting); B is p × m. */
function solve(H: number[][], B: number[][]): number[][] {
  const p = H.length, m = B[0]!.length;
  const M = H.map((r, i) => [...r, ...B[i]!]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const g = M[r]![c]! / M[c]![c]!;
      for (let k = c; k < p + m; k++) M[r]![k]! -= g * M[c]![k]!;
    }
  }
  return M.map((r, i) => r.slice(p).map((v) => v / M[i]![i]!));
}

/** Condition number (∞-norm) from the plaintext inverse. */
function cond(H: number[][]): number {
  const inv = solve(H, H.map((_, i) => H.map((__, j) => (i === j ? 1 : 0))));
  const norm = (X: number[][]) => Math.max(...X.map((r) => r.reduce((s, v) => s + Math.abs(v), 0)));
  return norm(H) * norm(inv);
}

async function mpcSolve(H: number[][], B: number[][]): Promise<{ x: number[][]; D: Float64Array }> {
  const p = H.length, m = B[0]!.length;
  const h = splitShares(encodeFixed(H.flat(), F));
  const b = splitShares(encodeFixed(B.flat(), F));
  const [res] = await run3(async (q) => {
    const { x, D } = await ldlSolve(q, h[q.id]!, b[q.id]!, p, m, F);
    const [xv, dv] = await revealMany(q, [x, D]);
    return { x: decodeFixed(xv!, F), D: decodeFixed(dv!, F) };
  });
  return { x: Array.from({ length: p }, (_, i) => Array.from(res.x.slice(i * m, (i + 1) * m))), D: res.D };
}

describe('ldlSolve: H x = b inside MPC against the plaintext', () => {
  it('random positive definite systems, p = 1..8, one and three right-hand sides', async () => {
    for (const p of [1, 2, 3, 5, 7, 8]) {
      for (const m of [1, 3]) {
        const H = spd(p, 0.2);
        const B = Array.from({ length: p }, () => uniform(m).map((u) => u - 0.5));
        const want = solve(H, B);
        const { x } = await mpcSolve(H, B);
        const k = cond(H);
        const scale = Math.max(1, ...want.flat().map(Math.abs));
        // Bound: 2^−24 · 200 · κ relative to the solution's size (measured ≤ 2^−24 · 5 · κ).
        const tol = 2 ** -F * 200 * k * scale;
        for (let i = 0; i < p; i++) for (let r = 0; r < m; r++) assert.ok(Math.abs(x[i]![r]! - want[i]![r]!) <= tol, `p ${p} m ${m} x[${i}][${r}] ${x[i]![r]} vs ${want[i]![r]} (κ ${k.toFixed(1)}, tol ${tol.toExponential(2)})`);
      }
    }
  });

  it('an ill-conditioned system (κ ≈ 10^3) still within its bound', async () => {
    const H = spd(6, 1e-3);
    const B = uniform(6).map((u) => [u - 0.5]);
    const want = solve(H, B);
    const { x } = await mpcSolve(H, B);
    const k = cond(H);
    const scale = Math.max(1, ...want.flat().map(Math.abs));
    const tol = 2 ** -F * 200 * k * scale;
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(x[i]![0]! - want[i]![0]!) <= tol, `x[${i}] ${x[i]![0]} vs ${want[i]![0]} (κ ${k.toFixed(0)}, tol ${tol.toExponential(2)})`);
  });

  it('the pivots: positive for a positive definite matrix, ≈ 0 where a column repeats another', async () => {
    const H0 = spd(4, 0.2);
    const { D } = await mpcSolve(H0, H0.map(() => [0.1]));
    assert.ok([...D].every((d) => d > 0), `pivots ${[...D]}`);
    // Column 3 = column 1: H singular, its pivot 0 up to the rounding.
    const H = spd(4, 0.2).map((r) => [r[0]!, r[1]!, r[2]!, r[1]!]);
    H[3] = [...H[1]!];
    const { D: Ds } = await mpcSolve(H, H.map(() => [0.1]));
    assert.ok(Math.abs(Ds[3]!) < 1e-5 && [0, 1, 2].every((j) => Ds[j]! > 1e-3), `pivots ${[...Ds]}`);
  });
});

describe('newtonSchulz: the previous inverse refined for a changed matrix, against the plaintext', () => {
  const eye = (p: number) => Array.from({ length: p }, (_, i) => Array.from({ length: p }, (__, j) => (i === j ? 1 : 0)));
  /**
   * H0 = Q·diag(d)·Qᵀ and H = Q·diag(d·g)·Qᵀ for a random orthonormal Q and eigenvalues d in
   * [0.05, 0.25], smallest first: H·H0⁻¹ has exactly the eigenvalues g, so the contraction of the
   * refinement (max |1 − g|, or |1 − g/2| from half the start) is what the test says it is.
   */
  function changed(g: number[]): { H0: number[][]; H: number[][] } {
    const p = g.length;
    const Q: number[][] = [];
    while (Q.length < p) {
      let v = uniform(p).map((u) => 2 * u - 1);
      for (const q of Q) {
        const dot = v.reduce((t, x, i) => t + x * q[i]!, 0);
        v = v.map((x, i) => x - dot * q[i]!);
      }
      const norm = Math.hypot(...v);
      if (norm > 1e-3) Q.push(v.map((x) => x / norm));
    }
    const d = uniform(p).map((u) => 0.05 + 0.2 * u).sort((a, b) => a - b);
    const of = (e: number[]) => Array.from({ length: p }, (_, i) => Array.from({ length: p }, (__, j) => e.reduce((t, ek, k) => t + Q[k]![i]! * ek * Q[k]![j]!, 0)));
    return { H0: of(d), H: of(d.map((x, k) => x * g[k]!)) };
  }
  /** X = NS(H, X0, steps) and X·b revealed. */
  async function refine(H: number[][], X0: number[][], b: number[], steps: number, halve = false): Promise<{ X: number[][]; x: number[] }> {
    const p = H.length;
    const h = splitShares(encodeFixed(H.flat(), F));
    const x0 = splitShares(encodeFixed(X0.flat(), F));
    const bb = splitShares(encodeFixed(b, F));
    const [res] = await run3(async (q) => {
      const X = await newtonSchulz(q, h[q.id]!, x0[q.id]!, p, steps, F, halve);
      const [Xv, xv] = await revealMany(q, [X, await matVec(q, X, bb[q.id]!, p, F)]);
      return { X: decodeFixed(Xv!, F), x: decodeFixed(xv!, F) };
    });
    return { X: Array.from({ length: p }, (_, i) => Array.from(res.X.slice(i * p, (i + 1) * p))), x: Array.from(res.x) };
  }

  it('four steps from the inverse of a matrix that differs by a factor up to e in one direction give the new inverse and step', async () => {
    for (const p of [1, 3, 7]) {
      // The information in one direction shrunk to 0.36 (≈ e⁻¹, a separated level's from one
      // iteration to the next), in the others moved by up to 44 % (0.64..1.44).
      const { H0, H } = changed(uniform(p).map((u, i) => (i === 0 ? 0.36 : 0.64 + 0.8 * u)));
      const X0 = solve(H0, eye(p));
      const b = uniform(p).map((u) => u - 0.5);
      const want = solve(H, eye(p));
      const wantX = solve(H, b.map((v) => [v])).map((r) => r[0]!);
      const { X, x } = await refine(H, X0, b, 4);
      const k = cond(H);
      const scale = Math.max(1, ...want.flat().map(Math.abs));
      // (I − H X0)^16 ≤ 0.64^16 ≈ 8·10⁻⁴ of the start's error, plus the rounding: ≤ 1e−3·|X| + 2^−24·200·κ.
      const tol = 1e-3 * scale + 2 ** -F * 200 * k * scale;
      for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) assert.ok(Math.abs(X[i]![j]! - want[i]![j]!) <= tol, `p ${p} X[${i}][${j}] ${X[i]![j]} vs ${want[i]![j]} (tol ${tol.toExponential(2)})`);
      const xs = Math.max(1, ...wantX.map(Math.abs));
      for (let i = 0; i < p; i++) assert.ok(Math.abs(x[i]! - wantX[i]!) <= tol * xs * p, `p ${p} x[${i}] ${x[i]} vs ${wantX[i]}`);
    }
  });

  it('from half the start, a matrix that grew up to 3× in one direction (where plain steps diverge) still gives its inverse', async () => {
    const { H0, H } = changed([3, 1, 0.64, 1.21]);
    const X0 = solve(H0, eye(4));
    const want = solve(H, eye(4));
    const scale = Math.max(1, ...want.flat().map(Math.abs));
    const err = (X: number[][]) => Math.max(...X.flatMap((r, i) => r.map((v, j) => Math.abs(v - want[i]![j]!))));
    const halved = err((await refine(H, X0, [0, 0, 0, 0], 5, true)).X);
    assert.ok(halved <= 1e-3 * scale + 2 ** -F * 200 * cond(H) * scale, `halved start: error ${halved}`);
    const plain = err((await refine(H, X0, [0, 0, 0, 0], 3)).X);
    assert.ok(plain > 10 * halved, `plain steps from an inverse of a 3× smaller matrix do not converge (error ${plain} against ${halved})`);
  });

  it('the error squares with each step: one step leaves it, four remove it', async () => {
    const { H0, H } = changed([0.36, 1, 1, 1, 1]);
    const X0 = solve(H0, eye(5));
    const want = solve(H, eye(5));
    const err = (X: number[][]) => Math.max(...X.flatMap((r, i) => r.map((v, j) => Math.abs(v - want[i]![j]!))));
    const e1 = err((await refine(H, X0, [0, 0, 0, 0, 0], 1)).X);
    const e4 = err((await refine(H, X0, [0, 0, 0, 0, 0], 4)).X);
    assert.ok(e1 > 0.05 * Math.max(...want.flat().map(Math.abs)), `one step: error ${e1}`);
    assert.ok(e4 < e1 / 100, `four steps: error ${e4} against ${e1} after one`);
  });
});
