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
import type { GeometricTable } from './geometric-table.js';
// The public side (tables, pmf, spread, privacy loss) lives in ./geometric-table.ts (no MPC: browsers use it too).
export { geometricTable, geometricPmf, discreteLaplacePmf, laplaceFromCoins, geometricSd, geometricHalfWidth, geometricLoss, type Coin, type GeometricOptions, type GeometricTable } from './geometric-table.js';

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
