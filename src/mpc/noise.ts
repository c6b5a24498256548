// Differential-privacy noise generated jointly inside MPC: the nodes obtain secret shares of a
// sample Z that none of them knows, add it to a secret aggregate, and only the noisy value is ever
// opened. For whole columns of cells at once (one noise value per cell).
//
// Distributions (integer-valued, for integer-valued queries such as COUNT and SUM of int columns):
//   discrete Laplace (two-sided geometric), scale s:  p(z) = tanh(1/2s)·e^{−|z|/s}
//     the geometric mechanism of Ghosh, Roughgarden, Sundararajan (STOC 2009): with s = Δ/ε it
//     is ε-differentially private for a query of sensitivity Δ;
//   discrete Gaussian, parameter σ:  p(z) ∝ e^{−z²/2σ²}  (Canonne, Kamath, Steinke, "The Discrete
//     Gaussian for Differential Privacy", NeurIPS 2020): Δ²/(2σ²)-zCDP, hence (ε, δ)-DP with
//     ε = ρ + 2√(ρ ln 1/δ) (Bun–Steinke, TCC 2016, Prop. 1.3).
//
// Sampling by inverse CDF with one batched comparison (the comparisons are ABY3's, compare.ts /
// convert.ts; nothing is revealed):
//   1. U: a uniformly random shared ring element, no communication (arith.random: each party's
//      two terms come from the PRGs it shares with its neighbours; no party knows U).
//   2. Let b = precisionBits, t = bit b of U, u′ = U mod 2^b (independent, uniform). The folded
//      magnitude M = |Z| has P(M = 0) = q(0), P(M = m) = 2q(m); with public thresholds
//      T_m = 2^b·P(M < m), m = 1..K, M = #{m : u′ ≥ T_m}, and Z = ±M with sign t.
//   3. One msb call over (K+1)·n lanes computes c_m = bit b of (U − T_m) mod 2^{b+1} for
//      m = 0..K (T_0 = 0). For T_m ∈ [0, 2^b]: c_m = [u′ < T_m] if t = 0 and [u′ ≥ T_m] if t = 1,
//      and c_0 = t. Hence, with S = Σ_{m≥1} c_m:  t = 0 → M = K − S;  t = 1 → M = S, and
//         Z = (1 − 2t)·M = K − S − K·c_0,
//      a linear function of the bits: one bit injection (convert.bitInject), then local sums.
//   Cost per noise value: K+1 comparisons of (b+1)-bit values (about 9 rounds in all, for all
//   cells together) and K+1 bit injections (2 rounds). K ≈ 27.7·s for the Laplace (b = 62, 2^-40
//   tail), ≈ 7.5σ for the Gaussian; s = 1/ε for a count: K = 28 at ε = 1, 278 at ε = 0.1.
//
// Truncation and precision (noiseTable; the realised distribution q is exact and public):
//   - support cut at ±K, the smallest K with exact tail mass P(|Z| > K) < 2^-tailBits (default
//     2^-40); the cut mass goes to z = 0;
//   - q(z) = w_|z| / 2^b with integer weights, w_z = round(2^b·p(z)) for z ≥ 1 (p computed in
//     double precision, relative error ≈ 2^-52) and w_0 = 2^b − 2Σ w_z, so q sums to 1 exactly;
//     |q(z) − p(z)| ≤ 2^-(b+1) + 2^-52·p(z) for z ≠ 0, and ≤ tail + K·2^-b at 0 (reported as
//     maxError). Default b = 62 (U needs b+1 ≤ 64 bits);
//   - the circuit samples q EXACTLY (no further approximation): test/noise.test.ts checks it by
//     running every u ∈ [0, 2^{b+1}) through the MPC at small b.
//   Privacy of the realised q is computed, not assumed: privacyLoss(table, Δ, ε) is the exact
//   hockey-stick divergence δ(ε) = max_{1≤d≤Δ} Σ_z max(0, q(z) − e^ε·q(z − d)) of the discrete
//   mechanism (truncation and rounding included), so (ε, δ(ε)) is what a run really spends; the
//   privacy budget (src/governance/budget.ts) charges exactly that. For the Laplace at
//   s = Δ/ε, δ(ε) is of the order of the tail (≈ 1e-12); for the Gaussian it is at most the
//   zCDP bound's δ.
//
// Use: noise lives on the integers; a query value must itself be an integer multiple of the noise
// unit (addNoise's `unit`) — adding unit·Z to a value off that lattice would reveal its residue.
// COUNT and SUM over int columns qualify with unit 1; fixed-point values must first be rounded to
// the lattice inside MPC, and an AVG is best released as noisy SUM / noisy COUNT (post-processing).
// Sensitivity is the caller's to state: COUNT has Δ = 1 only if each person contributes at most
// one row (e.g. count persons, not contacts); SUM has Δ = the column's largest |value| per person.
// With noise, small-cell suppression must compare the NOISY count with the threshold (a test on
// the true count reveals one bit of it outside the DP guarantee).
import * as R from '../ring/ring64.js';
import { addPublic, AShare, fromPublic, mulPublic, random, sub } from './arith.js';
import { bitInject, msb } from './convert.js';
import type { Party } from './party.js';

import { noiseTable, type NoiseSpec, type NoiseTableOptions, type NoiseTable } from './noise-table.js';
// The public side (tables, calibration, accounting) lives in ./noise-table.ts (no MPC: browsers use it too).
export { exactPmf, noiseTable, tablePmf, sampleFromUniform, laplaceFor, gaussianFor, privacyLoss, runCost, type NoiseSpec, type NoiseTableOptions, type NoiseTable } from './noise-table.js';

/**
 * Shares of the noise values determined by shared ring elements U (one per lane): the circuit of
 * the module comment. Uniform U (arith.random) gives samples of the table's distribution.
 */
export async function noiseFromUniform(p: Party, u: AShare, t: NoiseTable): Promise<AShare> {
  const n = u.length, L = t.K + 1;
  if (n === 0) return new AShare(new BigUint64Array(0), new BigUint64Array(0));
  // Lanes m·n + i hold U_i − T_m.
  const a = new BigUint64Array(n * L), bb = new BigUint64Array(n * L), minusT = new BigUint64Array(n * L);
  for (let m = 0; m < L; m++) {
    a.set(u.a, m * n);
    bb.set(u.b, m * n);
    minusT.fill(BigInt.asUintN(64, -t.thresholds[m]!), m * n, (m + 1) * n);
  }
  const d = addPublic(p, new AShare(a, bb), minusT);
  const c = await bitInject(p, await msb(p, d, t.precisionBits + 1));
  // Z = K − Σ_{m≥1} c_m − K·c_0.
  const sa = new BigUint64Array(n), sb = new BigUint64Array(n);
  for (let m = 1; m < L; m++) {
    R.add(sa, c.a.subarray(m * n, (m + 1) * n), sa);
    R.add(sb, c.b.subarray(m * n, (m + 1) * n), sb);
  }
  const signPart = mulPublic(c.slice(0, n), BigInt(t.K));
  const z = sub(fromPublic(p, new BigUint64Array(n).fill(BigInt(t.K))), new AShare(R.add(sa, signPart.a), R.add(sb, signPart.b)));
  return z;
}

export interface SampleOptions extends NoiseTableOptions {
  /** Largest number of comparison lanes per batch (memory bound); default 2^20. */
  maxLanes?: number;
}

/** n independent noise values, secret-shared; no party learns any of them. */
export async function sampleNoise(p: Party, n: number, dist: NoiseSpec | NoiseTable, opts: SampleOptions = {}): Promise<AShare> {
  const t = 'weights' in dist ? dist : noiseTable(dist, opts);
  const per = Math.max(1, Math.floor((opts.maxLanes ?? 1 << 20) / (t.K + 1)));
  if (n <= per) return noiseFromUniform(p, random(p, n), t);
  const out = new AShare(new BigUint64Array(n), new BigUint64Array(n));
  for (let off = 0; off < n; off += per) {
    const len = Math.min(per, n - off);
    const z = await noiseFromUniform(p, random(p, len), t);
    out.a.set(z.a, off);
    out.b.set(z.b, off);
  }
  return out;
}

/** x + unit·Z per lane, Z fresh noise from `dist` (x must lie on the unit lattice: see the module comment). */
export async function addNoise(p: Party, x: AShare, dist: NoiseSpec | NoiseTable, unit: bigint = 1n, opts: SampleOptions = {}): Promise<AShare> {
  const z = await sampleNoise(p, x.length, dist, opts);
  const scaled = unit === 1n ? z : mulPublic(z, unit);
  return new AShare(R.add(x.a, scaled.a), R.add(x.b, scaled.b));
}
