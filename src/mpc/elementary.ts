// Elementary functions in fixed point on shared columns, for model fitting inside MPC (src/stats/
// glm.ts): exp, ln, the logistic sigmoid and softplus. Internally 30 fractional bits (values ≤ 2
// in magnitude there), results in the caller's f (default 24).
//   exp(−a), a ∈ [0, 32]: e^{−a/32} by its Taylor polynomial of degree 12 on [0, 1] (error
//     ≤ 1/13! ≈ 1.6·10⁻¹⁰), then 5 squarings (error ×32, plus a rounding each): |err| ≤ 2·10⁻⁸
//   exp(a), a ∈ [0, 10]: e^{a/32} likewise, squared 5 times at falling precision; relative ≤ 2·10⁻⁷
//   exp(x), x ∈ [−32, 10]: both on |x|, chosen by the sign bit (msb)
//   ln(x), x > 0: x = v·2^{e} with v ∈ [½, 1] by the normalisation of fixed.ts (Catrina–Saxena
//     FC 2010: bit decomposition, leading one), ln v = ln ¾ + ln(1 + w), w = (4v − 3)/3 ∈ [−⅓, ⅓],
//     by its Taylor polynomial of degree 20 (error ≤ 3^{−21}/21 ≈ 5·10⁻¹²); |err| ≤ 10⁻⁸
//   sigmoid(x) = 1/(1 + e^{−|x|}) for x ≥ 0, its complement otherwise (|x| clamped at 32 by the
//     caller's promise): |err| ≤ 3·10⁻⁸;  softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^{−|x|})
// Cost per lane: exp ≈ 55 rounds (one Horner step = 3 rounds), ln ≈ 100 rounds (its normalisation
// ≈ 1 KB per lane, fixed.ts). Meant for aggregates (thousands of lanes: covariate patterns), not
// per-row use on millions. Reveals nothing (built from mul, truncation, comparison, fixed.ts).
import { AShare, add, addPublic, mul, mulPublic, sub, subFromPublic } from './arith.js';
import { msb, bitInject } from './convert.js';
import { DEFAULT_F, linComb, mulFixed, normalise, normalisedValue, reciprocalNormalised, truncRound } from './fixed.js';
import type { Party } from './party.js';

/** Internal fractional bits. */
const FI = 30;
const enc = (c: number, f = FI): bigint => BigInt(Math.round(c * 2 ** f));

/** Σ c_i x^i by Horner's rule, x and the result with FI bits (|partial sums·x| < 2). */
async function horner(p: Party, x: AShare, coeffs: number[]): Promise<AShare> {
  let acc = addPublic(p, new AShare(new BigUint64Array(x.length), new BigUint64Array(x.length)), enc(coeffs[coeffs.length - 1]!));
  for (let i = coeffs.length - 2; i >= 0; i--) acc = addPublic(p, await mulFixed(p, acc, x, FI), enc(coeffs[i]!));
  return acc;
}

const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
const EXP_POS = Array.from({ length: 13 }, (_, i) => 1 / fact(i));
const EXP_NEG = EXP_POS.map((c, i) => (i % 2 ? -c : c));
const SQUARINGS = 5;

/** Converts between FI and f fractional bits. */
async function toF(p: Party, x: AShare, f: number): Promise<AShare> {
  return f === FI ? x : f < FI ? (await truncRound(p, [[x, FI - f]]))[0]! : mulPublic(x, 1n << BigInt(f - FI));
}
const fromF = (x: AShare, f: number): AShare => mulPublic(x, 1n << BigInt(FI - f));

/** e^{−a} for a ∈ [0, 32] given with f bits; result with f bits. */
export async function expNeg(p: Party, a: AShare, f = DEFAULT_F): Promise<AShare> {
  // z = a/32 with FI bits = a·2^(FI − f − 5)
  const z = FI - f - SQUARINGS >= 0 ? mulPublic(a, 1n << BigInt(FI - f - SQUARINGS)) : (await truncRound(p, [[a, f + SQUARINGS - FI]]))[0]!;
  let u = await horner(p, z, EXP_NEG);
  for (let i = 0; i < SQUARINGS; i++) u = await mulFixed(p, u, u, FI);
  return toF(p, u, f);
}

/** Largest argument of expPos (and positive argument of exp). */
export const EXP_POS_MAX = 10;

/**
 * e^{a} for a ∈ [0, 10] given with f bits; result with f bits. The squarings run at the highest
 * precision g_i whose product bound e^{2·10·2^i/32} < 2^(62 − 2g_i) allows (30, 30, 29, 27, 23 bits):
 * relative error ≤ 2·10⁻⁷.
 */
export async function expPos(p: Party, a: AShare, f = DEFAULT_F): Promise<AShare> {
  const z = FI - f - SQUARINGS >= 0 ? mulPublic(a, 1n << BigInt(FI - f - SQUARINGS)) : (await truncRound(p, [[a, f + SQUARINGS - FI]]))[0]!;
  let u = await horner(p, z, EXP_POS); // e^{a/32} ∈ [1, e^{10/32}], FI bits
  let g = FI;
  for (let i = 1; i <= SQUARINGS; i++) {
    const bound = Math.exp((EXP_POS_MAX * 2 ** i) / 2 ** SQUARINGS);
    let gi = g;
    while (bound >= 2 ** (62 - 2 * gi)) gi--;
    if (gi < g) {
      u = (await truncRound(p, [[u, g - gi]]))[0]!;
      g = gi;
    }
    u = (await truncRound(p, [[await mul(p, u, u), g]]))[0]!;
  }
  return g === f ? u : g > f ? (await truncRound(p, [[u, g - f]]))[0]! : mulPublic(u, 1n << BigInt(f - g));
}

/** sign bit of x (1 when negative) as an arithmetic 0/1 share. */
async function negBit(p: Party, x: AShare): Promise<AShare> {
  return bitInject(p, await msb(p, x, 64));
}

/** |x| and the sign bit s (x < 0), arithmetic. */
async function absSign(p: Party, x: AShare): Promise<{ abs: AShare; s: AShare }> {
  const s = await negBit(p, x);
  const abs = await mul(p, x, subFromPublic(p, 1n, mulPublic(s, 2n)));
  return { abs, s };
}

/**
 * e^x for x ∈ [−32, 10] (f bits; a promise of the caller, who clamps). Relative error ≤ 2·10⁻⁷ for
 * x ≥ 0, absolute ≤ 2·10⁻⁸ below. Both branches are computed on |x| (for x < 0, |x| may exceed 10:
 * the positive branch is then out of range and discarded by the select).
 */
export async function exp(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const { abs, s } = await absSign(p, x);
  const neg = await expNeg(p, abs, f);
  // The positive branch on min(|x|, 10)·(1 − s) keeps it in range whatever x is.
  const pos = await expPos(p, await mul(p, abs, subFromPublic(p, 1n, s)), f);
  return add(pos, await mul(p, s, sub(neg, pos)));
}

/** The logistic function 1/(1 + e^{−x}) for |x| ≤ 32 (f bits). */
export async function sigmoid(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const { abs, s } = await absSign(p, x);
  const u = await expNeg(p, abs, FI < f ? f : Math.min(f, FI));
  const uFI = f === FI ? u : fromF(u, f);
  // σ(|x|) = 1/(1 + u) with (1 + u)/2 ∈ [0.5, 1]: Goldschmidt without normalisation, W = 2^FI·2/(1 + u).
  const half = (await truncRound(p, [[addPublic(p, uFI, 1n << BigInt(FI)), 1]]))[0]!;
  const W = await reciprocalNormalised(p, half, null);
  const sig = (await truncRound(p, [[W, FI - f + 1]]))[0]!;
  // σ(x) = s ? 1 − σ(|x|) : σ(|x|)
  const one = 1n << BigInt(f);
  return add(sig, await mul(p, s, subFromPublic(p, one, mulPublic(sig, 2n))));
}

const LN34 = Math.log(0.75);
const LN1P = Array.from({ length: 21 }, (_, i) => (i === 0 ? 0 : (i % 2 ? 1 : -1) / i));

/** ln x for x > 0 with f bits (2^−f ≤ x < 2^(60−f)); |err| ≤ 10⁻⁸ + rounding to f bits. */
export async function ln(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const K = 60;
  const nz = await normalise(p, x, K, false);
  const V = await normalisedValue(p, nz); // v ∈ [½, 1] with FI bits; x = v·2^(k+1−f)
  // w = (4v − 3)/3
  const w = (await truncRound(p, [[mulPublic(subFromPublic(p, enc(0.75), V), -enc(4 / 3)), FI]]))[0]!;
  const lnv = addPublic(p, await horner(p, w, LN1P), enc(LN34));
  const lnvF = await toF(p, lnv, f);
  const ex = linComb(nz.onehot, x.length, K, (k) => enc((k + 1 - f) * Math.LN2, f));
  return add(lnvF, ex);
}

/** ln(1 + e^x) for |x| ≤ 32 (f bits). */
export async function softplus(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const { abs, s } = await absSign(p, x);
  const u = await expNeg(p, abs, f);
  const l = await ln(p, addPublic(p, u, 1n << BigInt(f)), f);
  // max(x, 0) = x·(1 − s)
  const pos = await mul(p, x, subFromPublic(p, 1n, s));
  return add(pos, l);
}
