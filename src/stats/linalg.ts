// Small dense linear algebra in plaintext (double precision), for the requester's side: solving
// X'X β = X'y from released sufficient statistics (lm), inverting information matrices. Symmetric
// positive (semi)definite systems by a Cholesky factorisation that, like R's pivoting QR in lm
// (tolerance 1e-7), sets aside columns that are linear combinations of earlier ones ("aliased":
// R reports their coefficients as NA). Reveals nothing.

/** Cholesky of a symmetric matrix with aliasing: L (lower, rows/cols of dropped columns zero) and the kept columns. */
export function cholesky(A: number[][], tol = 1e-7): { L: number[][]; kept: boolean[] } {
  const p = A.length;
  const L = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const kept = new Array<boolean>(p).fill(true);
  for (let j = 0; j < p; j++) {
    let d = A[j]![j]!;
    for (let k = 0; k < j; k++) d -= L[j]![k]! ** 2;
    // Relative to the column's own squared norm (as QR's tolerance on R's diagonal).
    if (!(d > tol * tol * Math.max(A[j]![j]!, 1e-300)) || !(A[j]![j]! > 0)) {
      kept[j] = false;
      continue;
    }
    const ljj = Math.sqrt(d);
    L[j]![j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = A[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = s / ljj;
    }
  }
  return { L, kept };
}

/** Solves A x = b for symmetric positive definite A restricted to `kept` (others NaN). */
export function cholSolve(L: number[][], kept: boolean[], b: number[]): number[] {
  const p = b.length;
  const y = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) {
    if (!kept[i]) continue;
    let s = b[i]!;
    for (let k = 0; k < i; k++) if (kept[k]) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(p).fill(NaN);
  for (let i = p - 1; i >= 0; i--) {
    if (!kept[i]) continue;
    let s = y[i]!;
    for (let k = i + 1; k < p; k++) if (kept[k]) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}

/** Inverse of A from its Cholesky factor (NaN rows/columns for dropped columns). */
export function cholInverse(L: number[][], kept: boolean[]): number[][] {
  const p = L.length;
  const out = Array.from({ length: p }, () => new Array<number>(p).fill(NaN));
  for (let j = 0; j < p; j++) {
    if (!kept[j]) continue;
    const e = new Array<number>(p).fill(0);
    e[j] = 1;
    const col = cholSolve(L, kept, e);
    for (let i = 0; i < p; i++) out[i]![j] = kept[i] ? col[i]! : NaN;
  }
  return out;
}

/** Symmetric matrix from its upper triangle, row-major (i ≤ j). */
export function fromUpper(p: number, upper: number[]): number[][] {
  const A = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  let k = 0;
  for (let i = 0; i < p; i++) for (let j = i; j < p; j++) A[i]![j] = A[j]![i] = upper[k++]!;
  return A;
}

/** Inverse of a (small) general matrix by Gauss–Jordan with partial pivoting; null if singular. */
export function invert(A: number[][]): number[][] | null {
  const p = A.length;
  const M = A.map((r, i) => [...r, ...Array.from({ length: p }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    if (Math.abs(M[piv]![c]!) < 1e-300) return null;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    const d = M[c]![c]!;
    for (let j = 0; j < 2 * p; j++) M[c]![j]! /= d;
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = M[r]![c]!;
      if (f !== 0) for (let j = 0; j < 2 * p; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  return M.map((r) => r.slice(p));
}
