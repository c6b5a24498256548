// The noise tables src/mpc/noise.ts samples from by inverse CDF, as public data: the realised
// (truncated, quantised) distribution, its exact pmf, calibration (Laplace, Gaussian) and exact
// privacy accounting (see that module's header). Pure arithmetic, no MPC: the nodes plan the noise
// with it and a requester (a browser too) derives the error it added.

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
