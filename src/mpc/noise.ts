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

export type NoiseSpec = { kind: 'laplace'; scale: number } | { kind: 'gaussian'; sigma: number };

export interface NoiseTableOptions {
  /** b: the pmf is quantised to multiples of 2^-b and U uses b+1 random bits (8..63). Default 62. */
  precisionBits?: number;
  /** Cut the support where the exact tail mass falls below 2^-tailBits. Default 40. */
  tailBits?: number;
  /** Largest K accepted (cost guard: K+1 comparisons per value). Default 65536. */
  maxK?: number;
}

export interface NoiseTable {
  spec: NoiseSpec;
  precisionBits: number;
  /** Support [−K, K]. */
  K: number;
  /** w[z] for z = 0..K: q(±z) = w[z]/2^b; w[0] + 2·Σ_{z≥1} w[z] = 2^b. */
  weights: bigint[];
  /** T_0 = 0 (the sign test) and T_m = w_0 + 2·Σ_{0<k<m} w_k for m = 1..K. */
  thresholds: bigint[];
  /** Exact P(|Z| > K) of the untruncated distribution (moved to 0). */
  tailMass: number;
  /** max_z |q(z) − p(z)|. */
  maxError: number;
}

/** The exact (untruncated) pmf, in double precision. */
export function exactPmf(spec: NoiseSpec): (z: number) => number {
  checkSpec(spec);
  if (spec.kind === 'laplace') {
    const s = spec.scale, c = Math.tanh(1 / (2 * s));
    return (z) => c * Math.exp(-Math.abs(z) / s);
  }
  const sg = spec.sigma, M = Math.ceil(12 * sg + 10);
  let norm = 0;
  for (let z = M; z >= 1; z--) norm += 2 * Math.exp(-(z * z) / (2 * sg * sg));
  norm += 1;
  return (z) => Math.exp(-(z * z) / (2 * sg * sg)) / norm;
}

function checkSpec(spec: NoiseSpec): void {
  const v = spec.kind === 'laplace' ? spec.scale : spec.kind === 'gaussian' ? spec.sigma : NaN;
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`noise: ${spec.kind === 'laplace' ? 'scale' : 'sigma'} must be a positive number, got ${v}`);
}

/** Exact P(|Z| > K) for each K = 0..upTo (Laplace in closed form, Gaussian by summation). */
function tailFn(spec: NoiseSpec, pmf: (z: number) => number): (K: number) => number {
  if (spec.kind === 'laplace') {
    const s = spec.scale;
    // 2·Σ_{z>K} c·α^z = 2c·α^{K+1}/(1−α) = 2α^{K+1}/(1+α), α = e^{−1/s}.
    return (K) => (2 * Math.exp(-(K + 1) / s)) / (1 + Math.exp(-1 / s));
  }
  const M = Math.ceil(12 * spec.sigma + 10);
  const suffix = new Float64Array(M + 2);
  for (let z = M; z >= 0; z--) suffix[z] = suffix[z + 1]! + pmf(z);
  return (K) => (K + 1 > M ? 0 : 2 * suffix[K + 1]!);
}

/** The quantised, truncated distribution the MPC samples (public; see the module comment). */
export function noiseTable(spec: NoiseSpec, opts: NoiseTableOptions = {}): NoiseTable {
  const b = opts.precisionBits ?? 62;
  const tailBits = opts.tailBits ?? 40;
  const maxK = opts.maxK ?? 65536;
  if (!Number.isInteger(b) || b < 8 || b > 63) throw new RangeError(`noise: precisionBits must be an integer in 8..63, got ${b}`);
  if (!(tailBits > 0) || tailBits > b) throw new RangeError(`noise: tailBits must be in (0, precisionBits], got ${tailBits}`);
  const pmf = exactPmf(spec);
  const tail = tailFn(spec, pmf);
  const target = 2 ** -tailBits;
  let K = 1;
  while (tail(K) >= target) {
    if (++K > maxK) throw new RangeError(`noise: ${spec.kind} ${JSON.stringify(spec)} needs more than ${maxK} thresholds per value for a 2^-${tailBits} tail; use a coarser noise unit (a larger epsilon per unit of the query)`);
  }
  const one = 2 ** b;
  const w: bigint[] = [0n];
  for (let z = 1; z <= K; z++) w.push(BigInt(Math.round(pmf(z) * one)));
  while (K > 1 && w[K] === 0n) {
    w.pop();
    K--;
  }
  const total = 1n << BigInt(b);
  const rest = w.slice(1).reduce((s, x) => s + x, 0n);
  w[0] = total - 2n * rest;
  if (w[0]! <= 0n) throw new RangeError('noise: quantisation failed (precisionBits too small for this distribution)');
  const thresholds: bigint[] = [0n];
  let acc = w[0]!;
  for (let m = 1; m <= K; m++) {
    thresholds.push(acc);
    acc += 2n * w[m]!;
  }
  if (acc !== total) throw new Error('noise: internal error, weights do not sum to 2^b');
  let maxError = 0;
  for (let z = 0; z <= K; z++) maxError = Math.max(maxError, Math.abs(Number(w[z]!) / one - pmf(z)));
  return { spec, precisionBits: b, K, weights: w, thresholds, tailMass: tail(K), maxError };
}

/** q(z) of the table, as a double. */
export function tablePmf(t: NoiseTable, z: number): number {
  const a = Math.abs(z);
  return a > t.K ? 0 : Number(t.weights[a]!) / 2 ** t.precisionBits;
}

/** The sample the circuit computes from a ring element U (plaintext reference of noiseFromUniform). */
export function sampleFromUniform(t: NoiseTable, u: bigint): number {
  const b = BigInt(t.precisionBits);
  const mask = (1n << (b + 1n)) - 1n;
  let s = 0;
  let c0 = 0;
  t.thresholds.forEach((T, m) => {
    const c = Number((((u - T) & mask) >> b) & 1n);
    if (m === 0) c0 = c;
    else s += c;
  });
  return t.K - s - t.K * c0;
}

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

// ---------------------------------------------------------------------------------------------
// Calibration and accounting.

/** Discrete Laplace for ε-DP at integer sensitivity Δ (in noise units): scale Δ/ε. */
export function laplaceFor(epsilon: number, sensitivity: number): NoiseSpec {
  checkEpsilon(epsilon, sensitivity);
  return { kind: 'laplace', scale: sensitivity / epsilon };
}

/**
 * Discrete Gaussian for (ε, δ)-DP at sensitivity Δ via ρ-zCDP: ρ = (√(ln 1/δ + ε) − √(ln 1/δ))²
 * (the largest ρ with ρ + 2√(ρ ln 1/δ) ≤ ε), σ = Δ/√(2ρ).
 */
export function gaussianFor(epsilon: number, delta: number, sensitivity: number): NoiseSpec {
  checkEpsilon(epsilon, sensitivity);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
  const L = Math.log(1 / delta);
  const rho = (Math.sqrt(L + epsilon) - Math.sqrt(L)) ** 2;
  return { kind: 'gaussian', sigma: sensitivity / Math.sqrt(2 * rho) };
}

function checkEpsilon(epsilon: number, sensitivity: number): void {
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError(`epsilon must be a positive number, got ${epsilon}`);
  if (!(sensitivity > 0) || !Number.isFinite(sensitivity)) throw new RangeError(`sensitivity must be a positive number, got ${sensitivity}`);
}

/**
 * δ(ε) of the realised (truncated, quantised) mechanism for a query of integer sensitivity Δ:
 * max over shifts d = 1..Δ of Σ_z max(0, q(z) − e^ε q(z − d)) (the hockey-stick divergence; by
 * symmetry of q, shifts −d give the same). A run of the mechanism is (ε, δ(ε))-DP.
 */
export function privacyLoss(t: NoiseTable, sensitivity: number, epsilon: number): number {
  if (!Number.isInteger(sensitivity) || sensitivity < 1) throw new RangeError(`privacyLoss: sensitivity must be a positive integer (in noise units), got ${sensitivity}`);
  if (!(epsilon >= 0)) throw new RangeError('privacyLoss: epsilon must be ≥ 0');
  const K = t.K, e = Math.exp(epsilon);
  const q = new Float64Array(2 * K + 1);
  for (let z = -K; z <= K; z++) q[z + K] = tablePmf(t, z);
  const at = (z: number) => (z < -K || z > K ? 0 : q[z + K]!);
  let worst = 0;
  for (let d = 1; d <= Math.min(sensitivity, 2 * K + 1); d++) {
    let s = 0;
    for (let z = -K; z <= K; z++) {
      const v = at(z) - e * at(z - d);
      if (v > 0) s += v;
    }
    worst = Math.max(worst, s);
  }
  if (sensitivity > 2 * K + 1) worst = 1; // disjoint supports
  return worst;
}

/** What one run with `spec` costs in (ε, δ): the nominal ε and the realised δ(ε). */
export function runCost(t: NoiseTable, sensitivity: number, epsilon: number): { epsilon: number; delta: number } {
  return { epsilon, delta: privacyLoss(t, sensitivity, epsilon) };
}
