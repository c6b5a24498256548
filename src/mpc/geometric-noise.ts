// Discrete Laplace noise of any scale, drawn jointly inside MPC at a cost that grows with the
// LOGARITHM of the scale. The discrete Laplace (two-sided geometric; Inusah–Kozubowski, J. Stat.
// Plan. Inference 2006; the geometric mechanism of Ghosh–Roughgarden–Sundararajan, STOC 2009),
// p(z) = (1 − α)/(1 + α)·α^|z|, α = e^{−1/s}, is sampled as
//     Z = (1 − 2S)·N·(1 + G),   N ~ Bernoulli(2α/(1 + α)) = [Z ≠ 0],  S a fair sign,  G ~ Geometric(α)
// (given Z ≠ 0, |Z| − 1 is geometric), and G from its binary digits, which are INDEPENDENT
// Bernoulli bits (Dwork–Kenthapadi–McSherry–Mironov–Naor, "Our Data, Ourselves", Eurocrypt 2006):
//     G = Σ_{k<L} 2^k·B_k,   B_k ~ Bernoulli(p_k),   p_k = α^{2^k} / (1 + α^{2^k}).
// Each biased coin (N and the B_k) is the comparison [U < w] of fresh uniformly random bits U with
// a public threshold w (the folklore biased-coin circuit, as in Champion–shelat–Ullman, "Securely
// Sampling Biased Coins with Applications to Differential Privacy", CCS 2019). U and S are boolean
// shares drawn from the pairwise PRGs (no communication; no party knows them); the comparisons
// with public constants are log-depth AND trees (bit-sliced, every coin of every value and every
// scale in the same rounds). The sign is applied for free in the boolean domain: with
// W_k = B_k ⊕ S, A = Σ_k 2^k·W_k − 2^L·S + 1 − S equals 1 + G (S = 0) or −(1 + G) (S = 1); the
// bits N, S, W_k are injected into the ring (convert.bitInject) and Z = N·A is one multiplication.
// Reveals nothing.
//
// Cost per noise value: L + 1 coins, L = ⌈log2(tailBits·ln2·s)⌉ (G < 2^L); a coin of width b costs
// about 2b ANDs (b = precisionBits + ⌊−log2 p⌋: 61 for the low digits, up to precisionBits +
// tailBits/2 for the top one); L + 2 injected bits (16–24 bytes each) and one product. For
// s = 10^4 lattice units (L = 20): ≈ 2 700 ANDs ≈ 340 bytes and 22 injections ≈ 450 bytes per party
// per value; ⌈log2 b_max⌉ + 3 ≈ 10 rounds for ALL values together. Against the inverse-CDF sampler
// of noise.ts (K + 1 ≈ 27.7·s comparisons of 63-bit values per value): logarithmic instead of
// linear in s.
//
// What is sampled, exactly (public; geometricTable): G TRUNCATED to [0, 2^L) (conditioned on
// G < 2^L: the digits are independent, so dropping the higher ones is exactly conditioning, and
// Z is then the ideal Z conditioned on the event E = {G < 2^L}, P(Eᶜ) = T = α^{2^L} ≤ 2^−tailBits);
// each coin probability QUANTISED to p̃ = w/2^b (relative error ≤ 2^−precisionBits; the ideal
// p are computed in 256-bit fixed point, so the quantisation error is known to ~2^−200).
// Accuracy: Var Z = p̃_N·(Var G̃ + (1 + E G̃)²), exactly, from the realised coins.
// Privacy of the REALISED distribution (certified bound, geometricLoss): ln(P̃(z)/P_t(z)) ∈
// [−γ₋, γ₊] for every z (P_t the ideal conditioned on E; γ± summed over the coins from their
// exact quantisation errors). For a shift of the query value by d lattice units and ε′ = d/s (the
// ideal mechanism is exactly ε′-DP for it):
//   truncation    P_t(A) ≤ P(A)/(1 − T) ≤ e^{ε′}·(P_t(A − d) + T)/(1 − T)  ⇒  δ_t ≤ e^{ε′}·T/(1 − T);
//   quantisation  P̃ ≤ e^{γ₊}·P_t and P_t ≤ e^{γ₋}·P̃:
//   δ(ε′) ≤ e^{ε′}·(e^{γ₊+γ₋} − 1) + e^{γ₊}·e^{ε′}·T/(1 − T).
// At the defaults (tailBits 64, precisionBits 60) this is ≈ e^{ε′}·1e−18·(L + 1): a run of GROUP BY
// over many cells spends δ of the order 1e−15 or less (dp.ts sums it over the cells one person can
// reach and over the aggregates).
import { wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import { AShare, addPublic, mul } from './arith.js';
import { andMany, BShare, not, xor } from './boolean.js';
import { bitInject } from './convert.js';
import type { Party } from './party.js';

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
 * groups' values concatenated in order. Every coin of every group in one comparison batch, one
 * bit injection and one product (see the module comment for the rounds).
 */
export async function sampleDiscreteLaplace(p: Party, groups: { table: GeometricTable; n: number }[]): Promise<AShare> {
  const live = groups.filter((g) => g.n > 0);
  const total = live.reduce((s, g) => s + g.n, 0);
  if (total === 0) return new AShare(new BigUint64Array(0), new BigUint64Array(0));
  // One comparison item per (group, coin), lanes padded to whole words so that all the bits
  // stack into one injection: per group N, then the digits of G.
  const items: { lanes: number; width: number; threshold: bigint }[] = [];
  for (const g of live) {
    const lanes = 32 * wordsFor(g.n);
    for (const c of [g.table.nonzero, ...g.table.coins]) items.push({ lanes, width: c.width, threshold: c.threshold });
  }
  const coins = await coinsBelow(p, items);
  // Per group: N, S, W_k = B_k ⊕ S (local).
  const bits: BShare[] = [];
  let item = 0;
  for (const g of live) {
    const lanes = 32 * wordsFor(g.n);
    const S = randomBits(p, lanes, 1);
    bits.push(coins[item++]!, S);
    for (let k = 0; k < g.table.digits; k++) bits.push(xor(coins[item++]!, S));
  }
  const inj = await bitInject(p, concatLanes(bits));
  // A = Σ_k 2^k·W_k − 2^L·S + 1 − S and N, per group (local); then Z = N·A, one product for all.
  const nA = new AShare(new BigUint64Array(total), new BigUint64Array(total));
  const aA = new AShare(new BigUint64Array(total), new BigUint64Array(total));
  let lane = 0, out = 0;
  for (const g of live) {
    const lanes = 32 * wordsFor(g.n);
    const at = (j: number, side: 'a' | 'b') => inj[side].subarray(lane + j * lanes, lane + j * lanes + g.n);
    for (const side of ['a', 'b'] as const) {
      nA[side].set(at(0, side), out);
      const acc = aA[side].subarray(out, out + g.n);
      R.sub(acc, R.mulConst(at(1, side), (1n << BigInt(g.table.digits)) + 1n), acc); // −(2^L + 1)·S
      for (let k = 0; k < g.table.digits; k++) R.add(acc, R.mulConst(at(2 + k, side), 1n << BigInt(k)), acc);
    }
    const one = addPublic(p, new AShare(aA.a.subarray(out, out + g.n), aA.b.subarray(out, out + g.n)), 1n);
    aA.a.set(one.a, out);
    aA.b.set(one.b, out);
    lane += lanes * (2 + g.table.digits);
    out += g.n;
  }
  return mul(p, nA, aA);
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
