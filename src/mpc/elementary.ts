// Elementary functions in fixed point on shared columns, for model fitting inside MPC (src/stats/
// glm.ts): exp, ln, the logistic sigmoid and softplus. Internally 30 fractional bits (values ≤ 2
// in magnitude there), results in the caller's f (default 24).
//   exp(−a), a ∈ [0, 32]: e^{−a/32} by its Taylor polynomial of degree 12 on [0, 1] (error
//     ≤ 1/13! ≈ 1.6·10⁻¹⁰), then 5 squarings (error ×32, plus a rounding each): |err| ≤ 2·10⁻⁸
//   exp(a), a ∈ [0, 10]: e^{a/32} likewise, squared 5 times at falling precision; relative ≤ 4·10⁻⁷
//     (measured: at most 2.9·10⁻⁷ beyond the result's rounding over 10⁶ random a; once in ≈ 4 000
//     above 2·10⁻⁷, the bound stated before)
//   exp(x), x ∈ [−32, 10]: both on |x|, chosen by the sign bit (msb)
//   ln(x), x > 0: x = v·2^{e} with v ∈ [½, 1] by the normalisation of fixed.ts (Catrina–Saxena
//     FC 2010: bit decomposition, leading one), ln v = ln ¾ + ln(1 + w), w = (4v − 3)/3 ∈ [−⅓, ⅓],
//     by its Taylor polynomial of degree 20 (error ≤ 3^{−21}/21 ≈ 5·10⁻¹²); |err| ≤ 10⁻⁸
//   sigmoid(x) = 1/(1 + e^{−|x|}) for x ≥ 0, its complement otherwise (|x| clamped at 32 by the
//     caller's promise): |err| ≤ 3·10⁻⁸;  softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^{−|x|})
// Each bound is before the result's rounding to f bits (up to 1.5·2^−f more: test/elementary.test.ts).
// Polynomials by Estrin's scheme (2 rounds per doubling of the degree). Messages per party: exp 48
// (both branches in one pass), ln 38 (its normalisation ≈ 1 KB per lane, fixed.ts), sigmoid 59,
// softplus 62 (ln(1 + e^{−|x|}) = ln 2 + ln h, h = (1 + e^{−|x|})/2 ∈ [½, 1]: ln's series without a
// normalisation), both of one x 78 (sigmoidSoftplus: one e^{−|x|}). Meant for aggregates
// (thousands of lanes: covariate patterns), not per-row use on millions. Reveals nothing (built
// from mul, truncation, comparison, fixed.ts).
import { AShare, add, addPublic, concatShares, mul, mulMany, mulPublic, neg, sub, subFromPublic } from './arith.js';
import { msb, bitInject } from './convert.js';
import { lt } from './compare.js';
import { DEFAULT_F, K_MAX, linComb, mulFixedMany, normalise, normalisedValue, reciprocalNormalised, reciprocalOf, truncRound, type Normalised } from './fixed.js';
import type { Party } from './party.js';

/** Internal fractional bits. */
const FI = 30;
const enc = (c: number, f = FI): bigint => BigInt(Math.round(c * 2 ** f));

/**
 * Σ c_i x^i by Estrin's scheme (Estrin 1960; Knuth TAOCP vol. 2, §4.6.4): the terms are paired as
 * c_2i + c_2i+1·x, then those as A_2i + A_2i+1·x², then with x⁴, …, while the next power is squared
 * in the same round: 2·⌈log2 n⌉ rounds for n coefficients (13: 8, 21: 10) where Horner's rule takes
 * 2(n − 1), at about the same number of products. x and the result with FI bits; every product
 * (|A·x^(2^k)| and the powers) must stay below 2 in magnitude (|x| ≤ 1 and the partial sums of the
 * series below are).
 */
async function poly(p: Party, x: AShare, coeffs: number[]): Promise<AShare> {
  const n = x.length;
  const konst = (c: number) => addPublic(p, new AShare(new BigUint64Array(n), new BigUint64Array(n)), enc(c));
  if (coeffs.length === 1) return konst(coeffs[0]!);
  // Level 1: c_2i + c_2i+1·x (public × secret: local, then one rounding), x² beside it.
  const pairs = Math.floor(coeffs.length / 2);
  const more = coeffs.length > 2;
  const first = concatShares([...Array.from({ length: pairs }, (_, i) => mulPublic(x, enc(coeffs[2 * i + 1]!))), ...(more ? [await mul(p, x, x)] : [])]);
  const r1 = (await truncRound(p, [[first, FI]]))[0]!;
  let terms = Array.from({ length: pairs }, (_, i) => addPublic(p, r1.slice(i * n, (i + 1) * n), enc(coeffs[2 * i]!)));
  if (coeffs.length % 2) terms.push(konst(coeffs[coeffs.length - 1]!));
  let y = more ? r1.slice(pairs * n, (pairs + 1) * n) : x;
  while (terms.length > 1) {
    const k = Math.floor(terms.length / 2);
    const square = terms.length > 2;
    const prods = await mulFixedMany(p, [...Array.from({ length: k }, (_, i): [AShare, AShare] => [terms[2 * i + 1]!, y]), ...(square ? [[y, y] as [AShare, AShare]] : [])], FI);
    const next = Array.from({ length: k }, (_, i) => add(terms[2 * i]!, prods[i]!));
    if (terms.length % 2) next.push(terms[terms.length - 1]!);
    terms = next;
    if (square) y = prods[k]!;
  }
  return terms[0]!;
}

const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
const EXP_POS = Array.from({ length: 13 }, (_, i) => 1 / fact(i));
const SQUARINGS = 5;

/** Converts between FI and f fractional bits. */
async function toF(p: Party, x: AShare, f: number): Promise<AShare> {
  return f === FI ? x : f < FI ? (await truncRound(p, [[x, FI - f]]))[0]! : mulPublic(x, 1n << BigInt(f - FI));
}
const fromF = (x: AShare, f: number): AShare => mulPublic(x, 1n << BigInt(FI - f));

/** a/32 with FI bits, for a given with f bits. */
async function overSquarings(p: Party, a: AShare, f: number): Promise<AShare> {
  return FI - f - SQUARINGS >= 0 ? mulPublic(a, 1n << BigInt(FI - f - SQUARINGS)) : (await truncRound(p, [[a, f + SQUARINGS - FI]]))[0]!;
}

/** e^{−a} for a ∈ [0, 32] given with f bits; result with f bits. */
export async function expNeg(p: Party, a: AShare, f = DEFAULT_F): Promise<AShare> {
  return (await expBoth(p, a, null, f)).neg!;
}

/** Largest argument of expPos (and positive argument of exp). */
export const EXP_POS_MAX = 10;

/**
 * The precision of each squaring of e^{a/32} (a ≤ 10): the highest g_i whose product bound
 * e^{2·10·2^i/32} < 2^(62 − 2g_i) allows (30, 30, 29, 27, 23 bits).
 */
const POS_BITS = ((): number[] => {
  const out: number[] = [];
  let g = FI;
  for (let i = 1; i <= SQUARINGS; i++) {
    const bound = Math.exp((EXP_POS_MAX * 2 ** i) / 2 ** SQUARINGS);
    while (bound >= 2 ** (62 - 2 * g)) g--;
    out.push(g);
  }
  return out;
})();

/**
 * e^{−a} (a ∈ [0, 32]) and e^{b} (b ∈ [0, 10]), either may be null, in one pass: both series on
 * one column (e^{−a/32} is the series of e^z at z = −a/32), every squaring of both in the same
 * rounds. The positive branch squares at falling precision (POS_BITS): relative error ≤ 4·10⁻⁷;
 * the negative one at FI bits: absolute ≤ 2·10⁻⁸. Results with f bits.
 */
async function expBoth(p: Party, a: AShare | null, b: AShare | null, f: number): Promise<{ neg: AShare | null; pos: AShare | null }> {
  const na = a?.length ?? 0, nb = b?.length ?? 0;
  const z = concatShares([...(a ? [neg(await overSquarings(p, a, f))] : []), ...(b ? [await overSquarings(p, b, f)] : [])]);
  const u0 = await poly(p, z, EXP_POS); // e^{−a/32} ∈ [e^{−1}, 1] and e^{b/32} ∈ [1, e^{10/32}], FI bits
  let un = a ? u0.slice(0, na) : null, up = b ? u0.slice(na, na + nb) : null;
  let g = FI;
  for (let i = 0; i < SQUARINGS; i++) {
    const gi = POS_BITS[i]!;
    if (up && gi < g) up = (await truncRound(p, [[up, g - gi]]))[0]!;
    g = gi;
    const sq = await mulMany(p, [...(un ? [[un, un] as [AShare, AShare]] : []), ...(up ? [[up, up] as [AShare, AShare]] : [])]);
    const t = await truncRound(p, [...(un ? [[sq[0]!, FI] as [AShare, number]] : []), ...(up ? [[sq[un ? 1 : 0]!, g] as [AShare, number]] : [])]);
    if (un) un = t[0]!;
    if (up) up = t[un ? 1 : 0]!;
  }
  // To f bits, both in one rounding where needed.
  const items: [AShare, number][] = [];
  if (un && FI > f) items.push([un, FI - f]);
  if (up && g > f) items.push([up, g - f]);
  const r = items.length ? await truncRound(p, items) : [];
  let k = 0;
  const nOut = un ? (FI > f ? r[k++]! : mulPublic(un, 1n << BigInt(f - FI))) : null;
  const pOut = up ? (g > f ? r[k++]! : g === f ? up : mulPublic(up, 1n << BigInt(f - g))) : null;
  return { neg: nOut, pos: pOut };
}

/** e^{a} for a ∈ [0, 10] given with f bits; result with f bits: relative error ≤ 4·10⁻⁷. */
export async function expPos(p: Party, a: AShare, f = DEFAULT_F): Promise<AShare> {
  return (await expBoth(p, null, a, f)).pos!;
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
 * e^x for x ∈ [−32, 10] (f bits; a promise of the caller, who clamps). Relative error ≤ 4·10⁻⁷ for
 * x ≥ 0, absolute ≤ 2·10⁻⁸ below. Both branches are computed on |x| (for x < 0, |x| may exceed 10:
 * the positive branch is then out of range and discarded by the select).
 */
export async function exp(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const { abs, s } = await absSign(p, x);
  // The positive branch on |x|·(1 − s) keeps it in range whatever x is; both branches in one pass.
  const both = await expBoth(p, abs, await mul(p, abs, subFromPublic(p, 1n, s)), f);
  const neg = both.neg!, pos = both.pos!;
  return add(pos, await mul(p, s, sub(neg, pos)));
}

/** The logistic function 1/(1 + e^{−x}) for |x| ≤ 32 (f bits). */
export async function sigmoid(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const { abs, s } = await absSign(p, x);
  return sigmoidOf(p, abs, s, f);
}

/**
 * σ(clamp(x, −b, b)) for |x| < 2^16 (f bits) and b ≤ 32: the clamp's two comparisons and the sign
 * in one comparison circuit, |clamp(x)| in one round of products (|x| + [x > b](b − x) +
 * [x < −b](b + x), as x·(1 − 2s) = |x|): ≈ 12 messages fewer than clamping, then sigmoid.
 */
export async function sigmoidClamped(p: Party, x: AShare, b: number, f = DEFAULT_F): Promise<AShare> {
  if (!(b > 0 && b <= 32)) throw new RangeError(`sigmoidClamped: bound ${b} outside (0, 32]`);
  const n = x.length;
  const B = enc(b, f);
  const bits = await bitInject(p, await lt(p, concatShares([subFromPublic(p, B, x), addPublic(p, x, B), x]), 0n, { bits: f + 17 }));
  const above = bits.slice(0, n), below = bits.slice(n, 2 * n), s = bits.slice(2 * n, 3 * n);
  const [xs, a, c] = await mulMany(p, [[x, s], [above, subFromPublic(p, B, x)], [below, addPublic(p, x, B)]]);
  // |clamp(x)| = x − 2·x·s + [x > b](b − x) + [x < −b](b + x)
  const abs = add(add(sub(x, mulPublic(xs!, 2n)), a!), c!);
  return sigmoidOf(p, abs, s, f);
}

/** h = (1 + e^{−|x|})/2 ∈ [½, 1] with FI bits, from |x| (f bits). */
async function halfOnePlusExpNeg(p: Party, abs: AShare, f: number): Promise<AShare> {
  const u = await expNeg(p, abs, FI < f ? f : Math.min(f, FI));
  const uFI = f === FI ? u : fromF(u, f);
  return (await truncRound(p, [[addPublic(p, uFI, 1n << BigInt(FI)), 1]]))[0]!;
}

/** σ(|x|) = 1/(1 + u) = 1/(2h) with f bits: Goldschmidt without normalisation (h ∈ [½, 1]), W = 2^FI/h. */
async function sigmoidAbsOf(p: Party, half: AShare, f: number): Promise<AShare> {
  const W = await reciprocalNormalised(p, half, null);
  return (await truncRound(p, [[W, FI - f + 1]]))[0]!;
}

/** σ from |x| and the sign bit s of x (both f bits / 0-1). */
async function sigmoidOf(p: Party, abs: AShare, s: AShare, f: number): Promise<AShare> {
  const sig = await sigmoidAbsOf(p, await halfOnePlusExpNeg(p, abs, f), f);
  return add(sig, await mul(p, s, flipOf(p, sig, f)));
}

/** σ(x) = s ? 1 − σ(|x|) : σ(|x|) = σ(|x|) + s·(1 − 2σ(|x|)): the factor that s multiplies (f bits). */
const flipOf = (p: Party, sig: AShare, f: number): AShare => subFromPublic(p, 1n << BigInt(f), mulPublic(sig, 2n));

/**
 * σ(x) and softplus(x) = ln(1 + e^x) for |x| ≤ 32 (f bits) from one e^{−|x|}: with
 * h = (1 + e^{−|x|})/2 ∈ [½, 1], σ(|x|) = 1/(2h) as in sigmoid, and ln(1 + e^{−|x|}) = ln 2 + ln h by
 * ln's series on [½, 1] without a normalisation (h is already in range). Each within its own
 * function's bound: 78 messages, where sigmoid and softplus take 59 + 62.
 * Reveals nothing.
 */
export async function sigmoidSoftplus(p: Party, x: AShare, f = DEFAULT_F): Promise<{ sigmoid: AShare; softplus: AShare }> {
  const { abs, s } = await absSign(p, x);
  const half = await halfOnePlusExpNeg(p, abs, f);
  const sig = await sigmoidAbsOf(p, half, f);
  const lnHalf = await lnUnit(p, half, f);
  // σ(x) from σ(|x|) (flipOf), and max(x, 0) = x·(1 − s), in one round.
  const [d, pos] = await mulMany(p, [[s, flipOf(p, sig, f)], [x, subFromPublic(p, 1n, s)]]);
  return { sigmoid: add(sig, d!), softplus: softplusOf(p, pos!, lnHalf, f) };
}

const LN34 = Math.log(0.75);
const LN1P = Array.from({ length: 21 }, (_, i) => (i === 0 ? 0 : (i % 2 ? 1 : -1) / i));

/** ln x for x > 0 with f bits (2^−f ≤ x < 2^(60−f)); |err| ≤ 10⁻⁸ + rounding to f bits. */
export async function ln(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const nz = await normalise(p, x, K_MAX, false);
  return lnOf(p, nz, await normalisedValue(p, nz), f);
}

/** ln v for v ∈ [½, 1] given with FI bits; result with f bits: ln ¾ + ln(1 + w), w = (4v − 3)/3. */
async function lnUnit(p: Party, V: AShare, f: number): Promise<AShare> {
  const w = (await truncRound(p, [[mulPublic(subFromPublic(p, enc(0.75), V), -enc(4 / 3)), FI]]))[0]!;
  const lnv = addPublic(p, await poly(p, w, LN1P), enc(LN34));
  return toF(p, lnv, f);
}

/** ln x from x's normalisation (K_MAX planes) and normalised value V ∈ [½, 1] (FI bits; x = v·2^(k+1−f)). */
async function lnOf(p: Party, nz: Normalised, V: AShare, f: number): Promise<AShare> {
  const ex = linComb(nz.onehot, nz.n, nz.K, (k) => enc((k + 1 - f) * Math.LN2, f));
  return add(await lnUnit(p, V, f), ex);
}

/**
 * ln x and 1/x for x > 0 (2^−f ≤ x < 2^(60−f)), normalising x once for both (the bit decomposition
 * and leading one, ≈ 20 of either's rounds): 55 messages per party instead of 38 + 37, each with
 * its own error bound (ln: above; 1/x: fixed.ts reciprocal). Reveals nothing.
 */
export async function lnAndReciprocal(p: Party, x: AShare, f = DEFAULT_F): Promise<{ ln: AShare; inv: AShare }> {
  const nz = await normalise(p, x, K_MAX, false);
  const V = await normalisedValue(p, nz);
  const inv = await reciprocalOf(p, nz, V, f);
  return { ln: await lnOf(p, nz, V, f), inv };
}

/** ln(1 + e^x) for |x| ≤ 32 (f bits), as sigmoidSoftplus takes it. */
export async function softplus(p: Party, x: AShare, f = DEFAULT_F): Promise<AShare> {
  const { abs, s } = await absSign(p, x);
  const lnHalf = await lnUnit(p, await halfOnePlusExpNeg(p, abs, f), f);
  // max(x, 0) = x·(1 − s)
  return softplusOf(p, await mul(p, x, subFromPublic(p, 1n, s)), lnHalf, f);
}

/** softplus(x) = max(x, 0) + ln 2 + ln h from max(x, 0) and ln h, h = (1 + e^{−|x|})/2 (f bits). */
const softplusOf = (p: Party, pos: AShare, lnHalf: AShare, f: number): AShare => addPublic(p, add(pos, lnHalf), enc(Math.LN2, f));
