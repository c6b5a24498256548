// Discrete Laplace noise of any scale, drawn jointly inside MPC at a cost that grows with the
// LOGARITHM of the scale: Z = G₁ − G₂ for two independent geometric variables (the two-sided
// geometric / discrete Laplace distribution, p(z) ∝ α^|z|, α = e^{−1/s}; Inusah–Kozubowski 2006;
// the geometric mechanism of Ghosh–Roughgarden–Sundararajan, STOC 2009), each assembled from its
// binary digits, which are INDEPENDENT Bernoulli bits (Dwork–Kenthapadi–McSherry–Mironov–Naor,
// "Our Data, Ourselves", Eurocrypt 2006, §5):
//     P(G = g) = (1 − α)·α^g  ⇔  G = Σ_k 2^k·B_k,  B_k ~ Bernoulli(p_k),  p_k = α^{2^k} / (1 + α^{2^k}).
// Each biased coin B_k is the comparison [U_k < w_k] of b_k fresh uniformly random bits U_k with a
// public b_k-bit threshold w_k (the folklore biased-coin circuit, as in Champion–shelat–Ullman,
// "Securely Sampling Biased Coins with Applications to Differential Privacy", CCS 2019). The
// random bits are boolean shares drawn from the pairwise PRGs (no communication, no party knows
// them); the comparison with a public constant is a log-depth tree of ANDs (bit-sliced, all
// coins of all values and all scales in the same rounds); the digits are injected into the
// arithmetic ring (convert.bitInject) and Z = Σ_k 2^k·(B¹_k − B²_k) is local. Reveals nothing.
//
// Cost per noise value: 2·L coins, L = ⌈log2(tailBits·ln2·s)⌉ digits (G < 2^L); a coin of width
// b_k costs about 2·b_k ANDs (b_k = precisionBits + ⌊−log2 p_k⌋: ≈ 61 for the low digits, up to
// precisionBits + tailBits/2 for the top one) and one bit injection (16–24 bytes). For s = 10^4
// lattice units (L = 20): ≈ 2 600 AND gates ≈ 330 bytes and 40 injected bits ≈ 800 bytes per party
// per value; ⌈log2 b_max⌉ + 2 ≈ 9 rounds for ALL values. Against the inverse-CDF sampler of
// noise.ts (K + 1 ≈ 27.7·s comparisons of 63-bit values per value): logarithmic instead of linear
// in s, so the lattice of a sum needs no coarsening to keep the sampler cheap.
//
// What is sampled, exactly (public; geometricTable): digits k = 0..L−1 only, i.e. the geometric
// TRUNCATED to [0, 2^L) (conditioned on G < 2^L: the digits of a geometric are independent, so
// dropping the higher ones is exactly conditioning); each p_k QUANTISED to p̃_k = w_k/2^{b_k}
// (relative error ≤ 2^−precisionBits; the ideal p_k are computed in 256-bit fixed point, so the
// quantisation error is known to ~2^−200). Accuracy: Var Z = 2·Σ_k 4^k·p̃_k(1 − p̃_k), exactly.
// Privacy of the REALISED distribution (certified bound, geometricLoss): with P_t the ideal
// geometric truncated to 2^L and P̃ the realised one, ln(P̃(g)/P_t(g)) ∈ [−γ₋, γ₊] for every g, with
// γ± summed over the digits from the exact quantisation errors. For a shift of the query value by
// d lattice units and ε′ = d/s (the ideal mechanism's loss; untruncated it is exactly ε′-DP):
//   truncation    conditioning on E = {G₁, G₂ < 2^L}:  P_t(A) ≤ e^{ε′}·P_t(A − d) + e^{ε′}·P(Eᶜ)/P(E),
//                 P(Eᶜ) ≤ 2T, T = α^{2^L} ≤ 2^−tailBits;
//   quantisation  P̃(Z ∈ A) ≤ e^{2γ₊}·P_t(Z ∈ A) and P_t ≤ e^{2γ₋}·P̃ (Z is a difference of two):
//   δ(ε′) ≤ e^{ε′}·(e^{2(γ₊+γ₋)} − 1) + e^{2γ₊}·e^{ε′}·2T/(1 − T)².
// At the defaults (tailBits 64, precisionBits 60) this is ≈ e^{ε′}·(1e−16·L + 1e−19): a run of
// GROUP BY over many cells spends δ of the order 1e−14 or less (dp.ts sums it over the cells one
// person can reach and over the aggregates).
import { wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import { AShare } from './arith.js';
import { andMany, BShare, not, xor } from './boolean.js';
import { bitInject } from './convert.js';
import type { Party } from './party.js';

export interface GeometricOptions {
  /** Truncation: G < 2^L with α^{2^L} ≤ 2^−tailBits. Default 64. */
  tailBits?: number;
  /** Relative precision of each coin's probability: w_k ≥ 2^(precisionBits − 1). Default 60. */
  precisionBits?: number;
}

/** The public description of the sampler for one scale (see the module comment). */
export interface GeometricTable {
  kind: 'geometric';
  /** s: the discrete Laplace scale, in noise units; α = e^{−1/s}. */
  scale: number;
  /** L: G = Σ_{k<L} 2^k·B_k < 2^L. */
  digits: number;
  /** b_k and w_k: B_k = [U < w_k] for U uniform on b_k bits, so P(B_k = 1) = w_k / 2^{b_k} exactly. */
  widths: number[];
  thresholds: bigint[];
  /** p̃_k = w_k / 2^{b_k}, as doubles. */
  probabilities: number[];
  /** Bounds on ln(P̃(g)/P_t(g)) (γ₊) and ln(P_t(g)/P̃(g)) (γ₋) over 0 ≤ g < 2^L. */
  gammaPlus: number;
  gammaMinus: number;
  /** T = α^{2^L} (an upper bound): the untruncated geometric's mass at 2^L and beyond. */
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

/**
 * The public sampler description for the discrete Laplace of scale s (noise units): digits,
 * coin widths and thresholds, and the certified bounds the privacy accounting uses.
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
  const widths: number[] = [], thresholds: bigint[] = [], probabilities: number[] = [];
  let gammaPlus = 0, gammaMinus = 0;
  for (let k = 0; k < L; k++) {
    const odds = expNeg(den << BigInt(k), num); // α^{2^k} = exp(−2^k/s) = exp(−2^k·den/num)
    const P = (odds << BigInt(FIX)) / (ONE + odds); // p_k·2^FIX
    if (P <= 0n) throw new RangeError(`discrete Laplace: scale ${scale} is too small to sample (digit ${k} has probability below 2^-${FIX})`);
    const e = FIX - bitLength(P); // p_k ∈ [2^(−e−1), 2^−e)
    const b = precision + e;
    const shift = BigInt(FIX - b);
    const w = (P + (1n << (shift - 1n))) >> shift; // round(p_k·2^b) ∈ [2^(precision−1), 2^precision]
    widths.push(b);
    thresholds.push(w);
    probabilities.push(Number(w) / 2 ** b);
    // Relative errors of p̃ and 1 − p̃ (exact up to the ~2^−200 of the fixed-point computation).
    const diff = (w << shift) - P; // (p̃ − p)·2^FIX
    const r1 = Number(diff) / Number(P), r2 = -Number(diff) / Number(ONE - P);
    const slack = 1e-40;
    gammaPlus += Math.max(0, r1, r2) + slack; // ln(1 + r) ≤ r
    gammaMinus += Math.max(0, -r1 / (1 + r1), -r2 / (1 + r2)) + slack; // −ln(1 + r) ≤ −r/(1 + r)
  }
  const tail = Number(expNeg(den << BigInt(L), num)) / 2 ** FIX;
  return { kind: 'geometric', scale, digits: L, widths, thresholds, probabilities, gammaPlus, gammaMinus, tailMass: tail * (1 + 1e-9) + 1e-300 };
}

// ---------------------------------------------------------------------------------------------
// Plaintext references and accuracy.

/** Realised P̃(G = g) (product of the coins' probabilities), as a double. */
export function geometricPmf(t: GeometricTable, g: number): number {
  if (!Number.isInteger(g) || g < 0 || g >= 2 ** t.digits) return 0;
  let p = 1;
  for (let k = 0; k < t.digits; k++) {
    const q = t.probabilities[k]!;
    p *= Math.floor(g / 2 ** k) % 2 === 1 ? q : 1 - q;
  }
  return p;
}

/** Realised P̃(Z = z) for every z in (−2^L, 2^L), by convolution (small L only: tests). */
export function discreteLaplacePmf(t: GeometricTable): { offset: number; pmf: Float64Array } {
  const M = 2 ** t.digits;
  if (M > 1 << 16) throw new RangeError('discreteLaplacePmf: for tables of at most 16 digits');
  const g = Float64Array.from({ length: M }, (_, i) => geometricPmf(t, i));
  const pmf = new Float64Array(2 * M - 1);
  for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) pmf[a - b + M - 1]! += g[a]! * g[b]!;
  return { offset: M - 1, pmf };
}

/** The noise from given coin outcomes (bits[k] of G₁ and G₂): what the circuit computes. */
export function laplaceFromCoins(c1: boolean[], c2: boolean[]): number {
  let z = 0;
  for (let k = 0; k < c1.length; k++) z += 2 ** k * ((c1[k] ? 1 : 0) - (c2[k] ? 1 : 0));
  return z;
}

/** Exact standard deviation of the realised Z (noise units): Var Z = 2·Σ_k 4^k·p̃_k(1 − p̃_k). */
export function geometricSd(t: GeometricTable): number {
  let v = 0;
  for (let k = 0; k < t.digits; k++) v += 4 ** k * t.probabilities[k]! * (1 - t.probabilities[k]!);
  return Math.sqrt(2 * v);
}

/**
 * Smallest h with P(|Z| ≤ h) ≥ level for the ideal discrete Laplace, P(|Z| > h) = 2α^{h+1}/(1+α)
 * (the realised distribution differs from it by a factor e^{±2γ} and the truncated tail T).
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
  return e * Math.expm1(2 * (t.gammaPlus + t.gammaMinus)) + Math.exp(2 * t.gammaPlus) * e * (2 * T) / (1 - T) ** 2;
}

// ---------------------------------------------------------------------------------------------
// The circuit.

/** Random boolean shares of `bits` planes over n lanes, from the pairwise PRGs (no communication). */
function randomBits(p: Party, n: number, bits: number): BShare {
  const len = bits * wordsFor(n);
  return new BShare(n, bits, p.prgPrev.words(len), p.prgNext.words(len));
}

/** A node of the comparison tree: ([U < w], [U = w]) over a run of digits; L null = constant 0. */
interface Cmp {
  L: BShare | null;
  E: BShare;
}

/**
 * [U_i < w_i] for fresh uniform U_i of widths[i] bits and public thresholds w_i, on n_i lanes each,
 * all in the same ⌈log2 max width⌉ AND rounds. With U's bits u_j (LSB first) and w's bits v_j, a
 * leaf is (L, E) = (¬u_j, u_j) where v_j = 1 and (0, ¬u_j) where v_j = 0; uniform u_j make ¬u_j a
 * uniform plane too, so leaves are fresh random planes ρ: (ρ, ¬ρ) or (0, ρ). Pairs combine as
 * (L, E)_hi ∘ (L, E)_lo = (L_hi ⊕ E_hi·L_lo, E_hi·E_lo); the root's E is not computed.
 */
export async function coinsBelow(p: Party, items: { lanes: number; width: number; threshold: bigint }[], complements?: BShare[]): Promise<BShare[]> {
  // `complements` (tests only): the planes ρ = ¬U to use instead of fresh random ones.
  let levels: Cmp[][] = items.map((it, i) => {
    const r = complements?.[i] ?? randomBits(p, it.lanes, it.width);
    return Array.from({ length: it.width }, (_, j) => {
      const rho = r.planes(j);
      return ((it.threshold >> BigInt(j)) & 1n) === 1n ? { L: rho, E: not(p, rho) } : { L: null, E: rho };
    });
  });
  while (levels.some((l) => l.length > 1)) {
    const pairs: [BShare, BShare][] = [];
    const plan = levels.map((nodes) => {
      const out: { hi: Cmp; lo: Cmp; l: number; e: number }[] = [];
      const root = nodes.length === 2;
      for (let i = 0; i + 1 < nodes.length; i += 2) {
        const lo = nodes[i]!, hi = nodes[i + 1]!;
        const l = lo.L ? pairs.push([hi.E, lo.L]) - 1 : -1;
        const e = root ? -1 : pairs.push([hi.E, lo.E]) - 1;
        out.push({ hi, lo, l, e });
      }
      return out;
    });
    const prods = pairs.length ? await andMany(p, pairs) : [];
    levels = levels.map((nodes, k) => {
      const next: Cmp[] = plan[k]!.map(({ hi, l, e }) => {
        const L = l < 0 ? hi.L : hi.L ? xor(hi.L, prods[l]!) : prods[l]!;
        return { L, E: e < 0 ? hi.E : prods[e]! };
      });
      if (nodes.length % 2) next.push(nodes[nodes.length - 1]!);
      return next;
    });
  }
  return levels.map(([root], k) => {
    if (root!.L) return root!.L;
    const n = items[k]!.lanes, W = wordsFor(n);
    return new BShare(n, 1, new Uint32Array(W), new Uint32Array(W)); // threshold 0: never below
  });
}

/**
 * Discrete Laplace noise, secret-shared: for each group, n values drawn from its table; the
 * groups' values concatenated in order. Every coin of every group in one comparison batch and one
 * bit injection (see the module comment for the rounds).
 */
export async function sampleDiscreteLaplace(p: Party, groups: { table: GeometricTable; n: number }[]): Promise<AShare> {
  const total = groups.reduce((s, g) => s + g.n, 0);
  if (total === 0) return new AShare(new BigUint64Array(0), new BigUint64Array(0));
  // One comparison item per (group, digit): lanes [0, n) draw G₁'s digit, [n, 2n) G₂'s, padded to
  // whole words so that the digits of all items stack into one bit injection.
  const items: { lanes: number; width: number; threshold: bigint }[] = [];
  for (const g of groups) {
    if (g.n === 0) continue;
    const lanes = 32 * wordsFor(2 * g.n);
    for (let k = 0; k < g.table.digits; k++) items.push({ lanes, width: g.table.widths[k]!, threshold: g.table.thresholds[k]! });
  }
  const coins = await coinsBelow(p, items);
  const stacked = coins.length === 1 ? coins[0]! : concatLanes(coins);
  const inj = await bitInject(p, stacked);
  // Z = Σ_k 2^k·(B¹_k − B²_k), per group, from the injected lanes (local).
  const za = new BigUint64Array(total), zb = new BigUint64Array(total);
  let lane = 0, out = 0, item = 0;
  for (const g of groups) {
    if (g.n === 0) continue;
    const lanes = items[item]!.lanes;
    for (let k = 0; k < g.table.digits; k++, item++) {
      const w = 1n << BigInt(k);
      for (const [src, dst] of [[inj.a, za], [inj.b, zb]] as const) {
        const d = R.mulConst(R.sub(src.subarray(lane, lane + g.n), src.subarray(lane + g.n, lane + 2 * g.n)), w);
        const acc = dst.subarray(out, out + g.n);
        R.add(acc, d, acc);
      }
      lane += lanes;
    }
    out += g.n;
  }
  return new AShare(za, zb);
}

/** One-plane shares whose lane counts are multiples of 32, concatenated lane-wise (word copies). */
function concatLanes(xs: BShare[]): BShare {
  const n = xs.reduce((s, x) => s + x.n, 0);
  const a = new Uint32Array(wordsFor(n)), b = new Uint32Array(wordsFor(n));
  let off = 0;
  for (const x of xs) {
    a.set(x.a, off);
    b.set(x.b, off);
    off += x.a.length;
  }
  return new BShare(n, 1, a, b);
}
