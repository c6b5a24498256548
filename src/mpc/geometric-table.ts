// The distribution src/mpc/geometric-noise.ts samples, as public data: the biased coins of the
// discrete Laplace from binary digits, its exact pmf, spread and certified privacy loss (see that
// module's header for the method and the bounds). Pure arithmetic on public numbers, no MPC: the
// nodes plan the noise with it and a requester (a browser too) derives the error it added.

export interface GeometricOptions {
  /** Truncation: G < 2^L with α^{2^L} ≤ 2^−tailBits. Default 64. */
  tailBits?: number;
  /** Relative precision of each coin's probability: w_k ≥ 2^(precisionBits − 1). Default 60. */
  precisionBits?: number;
}

/** A biased coin: [U < threshold] for U uniform on `width` bits, P(1) = threshold / 2^width exactly. */
export interface Coin {
  width: number;
  threshold: bigint;
  /** threshold / 2^width as a double. */
  probability: number;
}

/** The public description of the sampler for one scale (see the module comment). */
export interface GeometricTable {
  kind: 'geometric';
  /** s: the discrete Laplace scale, in noise units; α = e^{−1/s}. */
  scale: number;
  /** N = [Z ≠ 0], P = 2α/(1 + α). */
  nonzero: Coin;
  /** L: G = Σ_{k<L} 2^k·B_k < 2^L. */
  digits: number;
  /** B_k, P = α^{2^k}/(1 + α^{2^k}). */
  coins: Coin[];
  /** Bounds on ln(P̃(z)/P_t(z)) (γ₊) and ln(P_t(z)/P̃(z)) (γ₋) over the support. */
  gammaPlus: number;
  gammaMinus: number;
  /** T = α^{2^L} (an upper bound): P(G ≥ 2^L) for the untruncated geometric. */
  tailMass: number;
}

// ---------------------------------------------------------------------------------------------
// The coins' probabilities in high precision (BigInt fixed point).

/** Fractional bits of the fixed-point computation of α^{2^k} and p_k. */
const FIX = 256;
const ONE = 1n << BigInt(FIX);

const bitLength = (x: bigint): number => (x <= 0n ? 0 : x.toString(2).length);

/** The double s as an exact fraction num/den (den a power of two). */
function fraction(s: number): [bigint, bigint] {
  let e = 0;
  let m = s;
  while (!Number.isInteger(m)) {
    m *= 2;
    e++;
  }
  return [BigInt(m), 1n << BigInt(e)];
}

/**
 * exp(−num/den)·2^FIX, to within a few units in the last place: halve the argument h times to
 * below 2^−12, Taylor series with 64 guard bits, then square h times.
 */
function expNeg(num: bigint, den: bigint): bigint {
  const G = 64n, F = BigInt(FIX) + G;
  const h = Math.max(0, bitLength(num) - bitLength(den) + 12);
  const y = (num << F) / (den << BigInt(h)); // y/2^F = x/2^h < 2^-11
  let term = 1n << F, sum = 1n << F;
  for (let i = 1n; term !== 0n; i++) {
    term = (term * y) >> F;
    term /= i;
    sum += i % 2n === 1n ? -term : term;
  }
  for (let i = 0; i < h; i++) sum = (sum * sum) >> F;
  return sum >> G;
}

/** The coin for probability P·2^−FIX (P > 0) at `precision` significant bits, and its ratio bounds. */
function coinFor(P: bigint, precision: number): { coin: Coin; up: number; down: number } {
  // min(p, 1 − p) ∈ [2^(−e−1), 2^−e): both p̃ and 1 − p̃ keep `precision` significant bits.
  const e = FIX - bitLength(P < ONE - P ? P : ONE - P);
  const b = precision + e;
  const shift = BigInt(FIX - b);
  const w = (P + (1n << (shift - 1n))) >> shift; // round(p·2^b): min(w, 2^b − w) ∈ [2^(precision−1), 2^precision]
  // Relative errors of p̃ and 1 − p̃ (exact up to the ~2^−200 of the fixed-point computation).
  const diff = (w << shift) - P; // (p̃ − p)·2^FIX
  const r1 = Number(diff) / Number(P), r2 = -Number(diff) / Number(ONE - P);
  const slack = 1e-40;
  return {
    coin: { width: b, threshold: w, probability: Number(w) / 2 ** b },
    up: Math.max(0, r1, r2) + slack, // ln(1 + r) ≤ r
    down: Math.max(0, -r1 / (1 + r1), -r2 / (1 + r2)) + slack, // −ln(1 + r) ≤ −r/(1 + r)
  };
}

/**
 * The public sampler description for the discrete Laplace of scale s (noise units): the coins'
 * widths and thresholds, and the certified bounds the privacy accounting uses.
 */
export function geometricTable(scale: number, opts: GeometricOptions = {}): GeometricTable {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`discrete Laplace: scale must be a positive number, got ${scale}`);
  const tailBits = opts.tailBits ?? 64;
  const precision = opts.precisionBits ?? 60;
  if (!Number.isInteger(tailBits) || tailBits < 8 || tailBits > 200) throw new RangeError(`discrete Laplace: tailBits must be an integer in 8..200, got ${tailBits}`);
  if (!Number.isInteger(precision) || precision < 8 || precision > 120) throw new RangeError(`discrete Laplace: precisionBits must be an integer in 8..120, got ${precision}`);
  // 2^L / s ≥ tailBits·ln 2  ⇔  α^{2^L} ≤ 2^−tailBits.
  const L = Math.max(1, Math.ceil(Math.log2(tailBits * Math.LN2 * scale)));
  if (L > 52) throw new RangeError(`discrete Laplace: scale ${scale} is too large (noise beyond 2^52)`);
  const [num, den] = fraction(scale);
  const odds = (k: number) => expNeg(den << BigInt(k), num); // α^{2^k}·2^FIX = exp(−2^k/s)
  const tiny = (what: string) => new RangeError(`discrete Laplace: scale ${scale} is too small to sample (${what} has probability below 2^-${FIX})`);
  const a = odds(0);
  const pN = (2n * a << BigInt(FIX)) / (ONE + a); // 2α/(1 + α)
  if (pN <= 0n) throw tiny('Z ≠ 0');
  const n = coinFor(pN, precision);
  const coins: Coin[] = [];
  let gammaPlus = n.up, gammaMinus = n.down;
  for (let k = 0; k < L; k++) {
    const o = odds(k);
    const P = (o << BigInt(FIX)) / (ONE + o); // p_k
    if (P <= 0n) throw tiny(`digit ${k}`);
    const c = coinFor(P, precision);
    coins.push(c.coin);
    gammaPlus += c.up;
    gammaMinus += c.down;
  }
  const tail = Number(odds(L)) / 2 ** FIX;
  return { kind: 'geometric', scale, nonzero: n.coin, digits: L, coins, gammaPlus, gammaMinus, tailMass: tail * (1 + 1e-9) + 1e-300 };
}

// ---------------------------------------------------------------------------------------------
// Plaintext references and accuracy.

/** Realised P̃(G = g) (product of the coins' probabilities), as a double. */
export function geometricPmf(t: GeometricTable, g: number): number {
  if (!Number.isInteger(g) || g < 0 || g >= 2 ** t.digits) return 0;
  let p = 1;
  for (let k = 0; k < t.digits; k++) {
    const q = t.coins[k]!.probability;
    p *= Math.floor(g / 2 ** k) % 2 === 1 ? q : 1 - q;
  }
  return p;
}

/** Realised P̃(Z = z): 1 − p̃_N at 0, p̃_N/2·P̃(G = |z| − 1) elsewhere. */
export function discreteLaplacePmf(t: GeometricTable, z: number): number {
  return z === 0 ? 1 - t.nonzero.probability : (t.nonzero.probability / 2) * geometricPmf(t, Math.abs(z) - 1);
}

/** The noise from given coin outcomes (N, S, digits of G): what the circuit computes. */
export function laplaceFromCoins(nonzero: boolean, sign: boolean, digits: boolean[]): number {
  const g = digits.reduce((s, d, k) => s + (d ? 2 ** k : 0), 0);
  return nonzero ? (sign ? -(1 + g) : 1 + g) : 0;
}

/** Exact standard deviation of the realised Z (noise units): Var Z = p̃_N·(Var G̃ + (1 + E G̃)²). */
export function geometricSd(t: GeometricTable): number {
  let v = 0, m = 0;
  t.coins.forEach((c, k) => {
    v += 4 ** k * c.probability * (1 - c.probability);
    m += 2 ** k * c.probability;
  });
  return Math.sqrt(t.nonzero.probability * (v + (1 + m) ** 2));
}

/**
 * Smallest h with P(|Z| ≤ h) ≥ level for the ideal discrete Laplace, P(|Z| > h) = 2α^{h+1}/(1+α)
 * (the realised distribution differs from it by a factor e^{±γ} and the truncated tail T).
 */
export function geometricHalfWidth(t: GeometricTable, level = 0.95): number {
  const a = Math.exp(-1 / t.scale);
  return Math.max(0, Math.ceil(Math.log(((1 - level) * (1 + a)) / 2) / Math.log(a) - 1));
}

/**
 * δ(ε′) of the realised sampler for one value shifted by d lattice units, ε′ = d/s ≤ `epsilon`
 * (the certified bound of the module comment, at the largest ε′).
 */
export function geometricLoss(t: GeometricTable, epsilon: number): number {
  const e = Math.exp(epsilon), T = t.tailMass;
  return e * Math.expm1(t.gammaPlus + t.gammaMinus) + Math.exp(t.gammaPlus) * e * T / (1 - T);
}
