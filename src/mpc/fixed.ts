// Signed fixed-point arithmetic on shared columns: a real v is stored as the ring element
// round(v·2^f) (two's complement in Z_2^64), f fractional bits, f = 16 unless stated. Used for
// means, variances and regressions over columns of up to millions of rows; the iterative
// functions (reciprocal, div, sqrt, rsqrt) are meant for aggregates and cost ~40 rounds each.
//
// Ranges (f = 16 shown in brackets):
//   storage            |v| < 2^(63−f)              [2^47]
//   truncate input     −2^62 ≤ X < 2^62 (X = ring value before the shift; out of contract otherwise)
//   mulFixed           |x·y| < 2^(62−2f)          [2^30]; each input |v| < 2^(63−f)
//   reciprocal         2^−f ≤ |y| < 2^(60−f)      [2^44]; f ≤ 30
//   div                y as reciprocal; |x| < 2^(62−f), |x/y| < 2^(46−f) [2^30]
//   sqrt, rsqrt        0 ≤ x < 2^(60−f)           [2^44] (rsqrt: x ≥ 2^−f)
// Precision (ulp = 2^−f; asserted by test/fixed.test.ts; measured maxima over 30 000 random
// inputs per function, f = 16, in brackets):
//   truncate           floor(X/2^d) or floor(X/2^d) − 1, never anything else inside the contract
//   mulFixed           ⌊X·Y/2^f⌋ or ⌊X·Y/2^f⌋ + 1: |err| ≤ 1 ulp from the product of the encoded
//                      inputs, mean error 2^−f ulp; against the reals add the input rounding
//                      (|x|+|y|)/2 ulp
//   reciprocal         |err| ≤ 2^−27·|1/x| + 1 ulp    [0.99 ulp + 2^−28.5·|1/x|]
//   div                |err| ≤ 2^−27·|x/y| + 4 ulp    [2.92 ulp + 2^−27.8·|x/y|]
//   sqrt, rsqrt        |err| ≤ 2^−27·|result| + 1 ulp [0.99 ulp + 2^−27.9·√x]
//   (f = 8, 24 and 30 measured the same within 2^−0.5.)
// Cost per lane (f = 16, bytes sent by party 0 / by each other party): truncate 2 rounds, 24/8 B;
// mulFixed 3 rounds, 32/16 B; reciprocal 37 rounds, 1.6/0.7 KB; div 42 rounds, 1.8/0.8 KB;
// sqrt, rsqrt 45 rounds, 1.6/0.8 KB (about 1 KB of it the injection of 60 one-hot planes).
// Nothing is revealed by any protocol here: every message is a fresh sharing or a masked value.
import { endianness } from 'node:os';
import type { PartyId } from '../net/channel.js';
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { AShare, add, addPublic, concatShares, fromPair, input, mul, mulMany, mulPublic, splitShare, sub, subFromPublic } from './arith.js';
import { and, BShare, not, stackPlanes, xor } from './boolean.js';
import { bitDecompose, bitInject } from './convert.js';
import type { Party } from './party.js';

export { AShare };

/** Default number of fractional bits. */
export const DEFAULT_F = 16;

const LE = endianness() === 'LE';
const TWO32 = 2 ** 32;
const TWO63 = 2 ** 63;

function checkF(f: number, max = 62): void {
  if (!Number.isInteger(f) || f < 0 || f > max) throw new RangeError(`fixed point: f must be an integer in 0..${max}, got ${f}`);
}

// ---------------------------------------------------------------------------------------------
// Encoding (plaintext side)

/**
 * Fixed-point encoding: round(v·2^f) in two's complement, rounding to nearest (ties toward +∞).
 * Representable: |v·2^f| < 2^63, i.e. |v| < 2^(63−f); NaN, ±∞ and larger values throw.
 */
export function encodeFixed(values: ArrayLike<number>, f: number = DEFAULT_F): Col {
  checkF(f);
  const n = values.length;
  const out = new BigUint64Array(n);
  const scale = 2 ** f;
  if (!LE) {
    for (let i = 0; i < n; i++) out[i] = BigInt.asUintN(64, BigInt(encodeOne(values[i]!, scale)));
    return out;
  }
  const w = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const r = encodeOne(values[i]!, scale);
    const hi = Math.floor(r / TWO32); // exact: r is an integer-valued double
    w[2 * i] = r - hi * TWO32;
    w[2 * i + 1] = hi; // ToUint32 wraps negatives into two's complement
  }
  return out;
}

function encodeOne(v: number, scale: number): number {
  const r = Math.round(v * scale);
  if (!(r >= -TWO63 && r < TWO63)) throw new RangeError(`encodeFixed: ${v} is not representable with ${Math.log2(scale)} fractional bits`);
  return r;
}

/** Fixed-point decoding: the signed ring value / 2^f as a double (rounded to 53 bits). */
export function decodeFixed(c: Col, f: number = DEFAULT_F): Float64Array {
  checkF(f);
  const n = c.length;
  const out = new Float64Array(n);
  const scale = 2 ** -f;
  if (!LE) {
    for (let i = 0; i < n; i++) out[i] = Number(BigInt.asIntN(64, c[i]!)) * scale;
    return out;
  }
  const w = new Uint32Array(c.buffer, c.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) out[i] = ((w[2 * i + 1]! | 0) * TWO32 + w[2 * i]!) * scale;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Truncation

/** The bias B = 2^62 that moves every in-contract value into [0, 2^63). */
const BIAS = 1n << 62n;

/**
 * floor(x / 2^d) − c, c ∈ {0, 1}, for each (x, d) in `items`, all in the same two rounds.
 * A variant of SecureML's local truncation (Mohassel–Zhang S&P 2017, §4.1) with the wrap-around
 * computed from the top bits of the two-term split (cf. ABY3 §5.1). Reveals nothing.
 *
 * Contract: −2^62 ≤ x < 2^62 (as a signed ring value) and 1 ≤ d ≤ 62. Outside it the result can
 * be off by a multiple of 2^(64−d) (tested).
 *
 * Why it is exact: write x = a + b with a = x_0 + x_1 (party 0) and b = x_2 (parties 1, 2), and
 * a' = a + B mod 2^64 (party 0). Then u = x + B = a' + b mod 2^64 lies in [0, 2^63), and as
 * integers a' + b = u + w·2^64 with w ∈ {0,1}. Let α, β be the top bits of a', b:
 *   α = β = 0: a' + b < 2^64, so w = 0.
 *   α = β = 1: a' + b ≥ 2^64, so w = 1.
 *   exactly one set: a' + b ≥ 2^63; if w were 0 then u = a' + b ≥ 2^63, impossible; so w = 1.
 * Hence w = α ∨ β = α + β − αβ. Splitting a' = A_h·2^d + a_l and b = B_h·2^d + b_l,
 *   floor(u/2^d) = A_h + B_h + c − w·2^(64−d), c = [a_l + b_l ≥ 2^d] (dropped),
 * and floor(x/2^d) = floor(u/2^d) − 2^(62−d). Party 0 inputs A = A_h − α·2^(64−d) (= a' shifted
 * right arithmetically) and α in one frame; parties 1, 2 share Bv = B_h − β·2^(64−d) and β for
 * free; one multiplication gives αβ; result = A + Bv + αβ·2^(64−d) − 2^(62−d) (mod 2^64).
 */
export async function truncateMany(p: Party, items: [AShare, number][]): Promise<AShare[]> {
  for (const [, d] of items) if (!Number.isInteger(d) || d < 1 || d > 62) throw new RangeError(`truncate: shift must be an integer in 1..62, got ${d}`);
  const lens = items.map(([x]) => x.length);
  const n = lens.reduce((s, l) => s + l, 0);
  const x = items.length === 1 ? items[0]![0] : concatShares(items.map(([s]) => s));
  // Per-lane shift, applied segment by segment with the WASM kernels.
  const shiftSeg = (src: Col, out: Col): void => {
    let off = 0;
    for (const [s, d] of items) {
      R.shiftRightSigned(src.subarray(off, off + s.length), d, out.subarray(off, off + s.length));
      off += s.length;
    }
  };
  // Party 0 holds (x_0, x_1); party 1 holds (x_1, x_2); party 2 holds (x_2, x_0).
  let mine: Col | null = null;
  if (p.id === 0) {
    const a1 = R.addConst(R.add(x.a, x.b), BIAS);
    mine = new BigUint64Array(2 * n);
    shiftSeg(a1, mine.subarray(0, n));
    R.shiftRightUnsigned(a1, 63, mine.subarray(n));
  }
  const bcol = p.id === 1 ? x.b : p.id === 2 ? x.a : null;
  let Bv: Col | null = null;
  let beta: Col | null = null;
  if (bcol) {
    Bv = new BigUint64Array(n);
    shiftSeg(bcol, Bv);
    beta = R.shiftRightUnsigned(bcol, 63);
  }
  const [A, alpha] = splitShare(await input(p, 0, mine, 2 * n, { consume: true }), [n, n]);
  const sB = fromPair(p, 1 as PartyId, Bv, n);
  const sBeta = fromPair(p, 1 as PartyId, beta, n);
  const ab = await mul(p, alpha!, sBeta);
  // Per-lane public constants 2^(64−d) and −2^(62−d).
  const wrap = new BigUint64Array(n);
  const unbias = new BigUint64Array(n);
  let off = 0;
  for (const [s, d] of items) {
    wrap.subarray(off, off + s.length).fill(BigInt.asUintN(64, 1n << BigInt(64 - d)));
    unbias.subarray(off, off + s.length).fill(BigInt.asUintN(64, -(1n << BigInt(62 - d))));
    off += s.length;
  }
  const out = addPublic(p, add(add(A!, sB), mulPublic(ab, wrap)), unbias);
  return items.length === 1 ? [out] : splitShare(out, lens);
}

/** floor(x / 2^d) − {0,1}; see truncateMany. Two rounds. Reveals nothing. */
export async function truncate(p: Party, x: AShare, d: number = DEFAULT_F): Promise<AShare> {
  return (await truncateMany(p, [[x, d]]))[0]!;
}

// ---------------------------------------------------------------------------------------------
// Multiplication

/**
 * floor(x/2^d) − c + 1 with the dropped carry c ∈ {0,1}: one of the two integers around x/2^d
 * (|err| ≤ 1, and < 1 unless x is a multiple of 2^d). When the share x_2 is uniform in its low d
 * bits (true for the output of mul, input and splitShares) E[c] = 1 − frac(x/2^d) − 2^−d, so the
 * mean error is 2^−d instead of the bare floor's −1. Same two rounds as truncate. Reveals nothing.
 */
export async function truncRound(p: Party, items: [AShare, number][]): Promise<AShare[]> {
  return (await truncateMany(p, items)).map((t) => addPublic(p, t, 1n));
}

/**
 * x·y in fixed point: truncate(mul(x, y), f) + 1. Araki et al. CCS 2016 §2.2 + truncateMany above.
 * Three rounds. Result = ⌊X·Y/2^f⌋ or ⌊X·Y/2^f⌋ + 1 (X, Y the encoded inputs: |err| ≤ 1 ulp,
 * mean error 2^−f ulp since mul re-randomises the shares), if |x·y| < 2^(62−2f). Reveals nothing.
 */
export async function mulFixed(p: Party, x: AShare, y: AShare, f: number = DEFAULT_F): Promise<AShare> {
  return (await truncRound(p, [[await mul(p, x, y), f]]))[0]!;
}

/** Several fixed-point products in the same three rounds (as mulFixed). Reveals nothing. */
export async function mulFixedMany(p: Party, pairs: [AShare, AShare][], f: number = DEFAULT_F): Promise<AShare[]> {
  if (pairs.length === 0) return [];
  const lens = pairs.map(([x]) => x.length);
  const prod = concatShares(await mulMany(p, pairs));
  return splitShare((await truncRound(p, [[prod, f]]))[0]!, lens);
}

/**
 * x·c for a public real c, C = round(c·2^f). Integer c: exact and local. Otherwise two rounds
 * (one truncation): ⌊X·C/2^f⌋ or one more, |err| ≤ 1 ulp; the mean error is at most 2^(t−f) ulp
 * for C with t trailing zero bits (the local product leaves the shares' low t bits zero).
 * Reveals nothing.
 */
export async function mulPublicFixed(p: Party, x: AShare, c: number, f: number = DEFAULT_F): Promise<AShare> {
  const cc = BigInt.asIntN(64, encodeFixed([c], f)[0]!);
  if (f === 0 || cc % (1n << BigInt(f)) === 0n) return mulPublic(x, cc >> BigInt(f));
  return (await truncRound(p, [[mulPublic(x, cc), f]]))[0]!;
}

// ---------------------------------------------------------------------------------------------
// Normalisation helpers (leading-one position of a shared value)

/** Σ_k planes_k · coef(k) for plane-major 0/1 shares (lane k·n + j). Local. */
export function linComb(planes: AShare, n: number, K: number, coef: (k: number) => bigint): AShare {
  const a = new BigUint64Array(n);
  const b = new BigUint64Array(n);
  for (let k = 0; k < K; k++) {
    const c = BigInt.asUintN(64, coef(k));
    if (c === 0n) continue;
    const pa = planes.a.subarray(k * n, (k + 1) * n);
    const pb = planes.b.subarray(k * n, (k + 1) * n);
    if (c === 1n) {
      R.add(a, pa, a);
      R.add(b, pb, b);
    } else {
      R.add(a, R.mulConst(pa, c), a);
      R.add(b, R.mulConst(pb, c), b);
    }
  }
  return new AShare(a, b);
}

/** The one-plane share x repeated `bits` times. */
function broadcastPlane(x: BShare, bits: number): BShare {
  return stackPlanes(Array.from({ length: bits }, () => x));
}

export interface Normalised {
  n: number;
  /** Planes 0..K−1: one-hot of the leading one of |x| (lane with |x| ≤ 1: plane 0), arithmetic 0/1. */
  onehot: AShare;
  K: number;
  /** |x| (only when signed). */
  abs: AShare;
  /** 1 − 2·sign (only when signed), else null. */
  sigma: AShare | null;
}

/**
 * One-hot of the leading-one position k of |x| (2^k ≤ |x| < 2^(k+1)), planes 0..K−1, injected to
 * arithmetic 0/1. Catrina–Saxena FC 2010 (normalisation in AppRcr), with the position found by a bit
 * decomposition (ABY3 §5.3) and a log-depth prefix-OR from the top bit down. Reveals nothing.
 *
 * Signed: the sign s is bit 63; the bits of z = x ⊕ s (= x, or |x| − 1 when negative) give the
 * leading one; for |x| a power of two, z's leading one is one lower and the normalised value is
 * exactly 1 (the iterations below accept [0.5, 1]). Lanes with z = 0 (x = 0 or −1) get k = 0.
 */
export async function normalise(p: Party, x: AShare, K: number, signed: boolean): Promise<Normalised> {
  const n = x.length;
  const bits = await bitDecompose(p, x, 64);
  let z = bits.planes(0, K + 1);
  if (signed) z = xor(z, broadcastPlane(bits.planes(63), K + 1));
  // Prefix OR from the top: P_k = OR_{j ≥ k} z_j, one AND round per doubling.
  let P = z;
  const L = K + 1;
  for (let s = 1; s < L; s <<= 1) {
    const lo = P.planes(0, L - s);
    const hi = P.planes(s, L);
    const orred = xor(xor(lo, hi), await and(p, lo, hi));
    P = stackPlanes([orred, P.planes(L - s, L)]);
  }
  // onehot_k = P_k ⊕ P_{k+1} for 1 ≤ k < K; onehot_0 = ¬P_1 (so z ∈ {0, 1} both give k = 0).
  // Lanes with a leading one at K or above are out of contract (no plane set).
  const oh = stackPlanes([not(p, P.planes(1)), xor(P.planes(1, K), P.planes(2, K + 1))]);
  const toInject = signed ? stackPlanes([oh, bits.planes(63)]) : oh;
  const inj = await bitInject(p, toInject);
  const onehot = inj.slice(0, K * n);
  if (!signed) return { n, onehot, K, abs: x, sigma: null };
  const s = inj.slice(K * n, (K + 1) * n);
  const sigma = subFromPublic(p, 1n, mulPublic(s, 2n));
  const abs = await mul(p, x, sigma);
  return { n, onehot, K, abs, sigma };
}

/**
 * Σ_t x_t·y_t lane by lane as one product: the local cross terms of every pair are summed before
 * the re-sharing, so it costs one ring element per lane like a single mul (Araki et al. CCS 2016
 * §2.2; the delayed re-sharing of inner products as in ABY3, per lane). One round. Reveals nothing.
 */
async function mulSum(p: Party, pairs: [AShare, AShare][]): Promise<AShare> {
  const n = pairs[0]![0].length;
  const z = p.zeroShare(n);
  for (const [x, y] of pairs) R.rssMulLocal(x.a, x.b, y.a, y.b, z, z);
  p.net.send(p.prev, R.bytesOf(z));
  const got = R.colOf(await p.net.recv(p.next));
  if (got.length !== n) throw new Error(`mulSum: party ${p.next} sent ${got.length} values, expected ${n}`);
  return new AShare(z, got);
}

/**
 * Σ_k onehot_k · x·2^shift(k): a shift by a secret amount, exact up to rounding (|err| < 1) for
 * right shifts, exact for left shifts. Right shifts d > maxRight contribute 0 (for |x| < 2^maxRight).
 * The truncation of truncateMany for all candidate d at once, sharing its wrap bits: party 0
 * inputs ⌊a'/2^d⌋ for every d and α (one frame), one product αβ, then one summed product
 * x·L + Σ_d sel_d·(A_d + B_d) + αβ·Σ_d sel_d·2^(64−d) (L the left-shift multiplier, sel_d the
 * one-hot lanes of shift d). Three rounds; party 0 sends D + 3 ring elements per lane (D = number
 * of distinct right shifts), the others 2. Reveals nothing.
 */
async function shiftBySecret(p: Party, x: AShare, nz: Normalised, shift: (k: number) => number, maxRight = 62): Promise<AShare> {
  const { n, onehot, K } = nz;
  const groups = new Map<number, number[]>();
  for (let k = 0; k < K; k++) {
    const s = shift(k);
    if (s >= 0 || -s > maxRight) continue;
    const g = groups.get(-s) ?? [];
    g.push(k);
    groups.set(-s, g);
  }
  const left = linComb(onehot, n, K, (k) => {
    const s = shift(k);
    return s >= 0 ? 1n << BigInt(s) : 0n;
  });
  const ds = [...groups.keys()];
  if (ds.length === 0) return mul(p, x, left);
  for (const d of ds) if (d > 62) throw new RangeError(`shiftBySecret: right shift ${d} > 62`);
  const D = ds.length;
  const dOf = new Map<number, number>(); // k → d
  for (const [d, ks] of groups) for (const k of ks) dOf.set(k, d);
  // Two-term split as in truncateMany: a' = x_0 + x_1 + 2^62 (party 0), b = x_2 (parties 1, 2).
  let mine: Col | null = null;
  if (p.id === 0) {
    const a1 = R.addConst(R.add(x.a, x.b), BIAS);
    mine = new BigUint64Array((D + 1) * n);
    ds.forEach((d, i) => R.shiftRightSigned(a1, d, mine!.subarray(i * n, (i + 1) * n)));
    R.shiftRightUnsigned(a1, 63, mine.subarray(D * n));
  }
  const bcol = p.id === 1 ? x.b : p.id === 2 ? x.a : null;
  let Bv: Col | null = null;
  let beta: Col | null = null;
  if (bcol) {
    Bv = new BigUint64Array(D * n);
    ds.forEach((d, i) => R.shiftRightSigned(bcol, d, Bv!.subarray(i * n, (i + 1) * n)));
    beta = R.shiftRightUnsigned(bcol, 63);
  }
  const In = await input(p, 0, mine, (D + 1) * n, { consume: true });
  const T = add(In.slice(0, D * n), fromPair(p, 1 as PartyId, Bv, D * n));
  const alpha = In.slice(D * n, (D + 1) * n);
  const ab = await mul(p, alpha, fromPair(p, 1 as PartyId, beta, n));
  const sel = ds.map((d) => linComb(onehot, n, K, (k) => (dOf.get(k) === d ? 1n : 0n)));
  const wrap = linComb(onehot, n, K, (k) => (dOf.has(k) ? 1n << BigInt(64 - dOf.get(k)!) : 0n));
  // −2^(62−d) removes the bias; +1 turns floor − c into a rounding (see truncRound).
  const konst = linComb(onehot, n, K, (k) => (dOf.has(k) ? 1n - (1n << BigInt(62 - dOf.get(k)!)) : 0n));
  const z = await mulSum(p, [[x, left], ...sel.map((s, i) => [s, T.slice(i * n, (i + 1) * n)] as [AShare, AShare]), [ab, wrap]]);
  return add(z, konst);
}

// ---------------------------------------------------------------------------------------------
// Reciprocal and division (Catrina–Saxena FC 2010: normalise to [0.5, 1), Goldschmidt iterations)

/** Internal precision of the iterations (fractional bits of the normalised values). */
const F_IT = 30;
/** Highest leading-bit position supported: |X| < 2^60 keeps every product below 2^62. */
export const K_MAX = 60;

/** Truncate where needed (d = 0: identity). */
const truncIf = async (p: Party, x: AShare, d: number): Promise<AShare> => (d > 0 ? (await truncRound(p, [[x, d]]))[0]! : x);

/** v ∈ [0.5, 1] scaled to F_IT bits: V = |X|·2^(F_IT−1−k). Three rounds (one mul, one truncation). */
export async function normalisedValue(p: Party, nz: Normalised, extra: (k: number) => number = () => 0): Promise<AShare> {
  const { n, onehot, K } = nz;
  // |X|·2^(T+F−1−k−extra) < 2^(T+F) since |X| ≤ 2^(k+1); T chosen so every exponent is ≥ 0.
  let T = 0;
  for (let k = 0; k < K; k++) T = Math.max(T, k + 1 + extra(k) - F_IT);
  const m = linComb(onehot, n, K, (k) => 1n << BigInt(T + F_IT - 1 - k - extra(k)));
  return truncIf(p, await mul(p, nz.abs, m), T);
}

/**
 * W ≈ σ·2^F/v for V = v·2^F, v ∈ [0.5, 1] (F = 30 bits): w0 = 48/17 − 32/17·v (|e0| = |1 − v·w0| ≤ 1/17), then
 * Goldschmidt y ← y(1 + e), e ← e² three times: e0^8 < 2^−32, so rounding dominates (≤ 2^−27).
 * Exported for callers whose value is in [0.5, 1] by construction (no normalisation: 11 rounds,
 * ~150 B per lane instead of reciprocal's 37 rounds and 1.6 KB). Reveals nothing.
 */
export async function reciprocalNormalised(p: Party, V: AShare, sigma: AShare | null): Promise<AShare> {
  const one = 1n << BigInt(F_IT);
  const enc = (c: number) => BigInt(Math.round(c * 2 ** F_IT));
  const [cv] = await truncRound(p, [[mulPublic(V, enc(32 / 17)), F_IT]]);
  const W0 = subFromPublic(p, enc(48 / 17), cv!);
  const first = await mulMany(p, sigma ? [[V, W0], [sigma, W0]] : [[V, W0]]);
  let E = subFromPublic(p, one, (await truncRound(p, [[first[0]!, F_IT]]))[0]!);
  let Y = sigma ? first[1]! : W0;
  for (let it = 0; it < 3; it++) {
    const last = it === 2;
    const onePlusE = addPublic(p, E, one);
    const pr = await mulFixedMany(p, last ? [[Y, onePlusE]] : [[Y, onePlusE], [E, E]], F_IT);
    Y = pr[0]!;
    if (!last) E = pr[1]!;
  }
  return Y;
}

/**
 * 1/x in fixed point for 2^−f ≤ |x| < 2^(60−f), signed. Catrina–Saxena FC 2010 (AppRcr
 * normalisation + Goldschmidt iteration, as in their Div; cf. Aly–Smart ACNS 2019). ~37 rounds.
 * |err| ≤ 2^−27·|1/x| + 1 ulp. x = 0 gives an unspecified value. Reveals nothing.
 */
export async function reciprocal(p: Party, x: AShare, f: number = DEFAULT_F): Promise<AShare> {
  checkF(f, 30);
  if (x.length === 0) return x;
  const nz = await normalise(p, x, K_MAX, true);
  return reciprocalOf(p, nz, await normalisedValue(p, nz), f);
}

/**
 * 1/x from x's normalisation (K_MAX planes, signed or not) and normalised value V (normalisedValue):
 * reciprocal's last steps (14 rounds), for callers that normalise x once for several functions of
 * it (elementary.ts lnAndReciprocal). Reveals nothing.
 */
export async function reciprocalOf(p: Party, nz: Normalised, V: AShare, f: number = DEFAULT_F): Promise<AShare> {
  checkF(f, 30);
  const W = await reciprocalNormalised(p, V, nz.sigma);
  // 1/x·2^f = w·2^(2f−1−k) = W·2^(2f−1−F−k).
  return shiftBySecret(p, W, nz, (k) => 2 * f - 1 - F_IT - k, F_IT + 2);
}

/**
 * x/y in fixed point, y signed with 2^−f ≤ |y| < 2^(60−f), |x| < 2^(62−f) and |x/y| < 2^(46−f).
 * Catrina–Saxena FC 2010, Div (x·(1/y) with x pre-scaled by the same normalisation, so no
 * precision is lost for large y). ~42 rounds. |err| ≤ 2^−27·|x/y| + 4 ulp. y = 0 gives an unspecified value. Reveals nothing.
 */
export async function div(p: Party, x: AShare, y: AShare, f: number = DEFAULT_F): Promise<AShare> {
  checkF(f, 30);
  if (x.length !== y.length) throw new RangeError(`div: lengths differ (${x.length} vs ${y.length})`);
  if (x.length === 0) return x;
  const nz = await normalise(p, y, K_MAX, true);
  const V = await normalisedValue(p, nz);
  const W = await reciprocalNormalised(p, V, nz.sigma);
  // x/y·2^f = X·2^(f−1−k)·w: Xs = X·2^(f−1−k) (≈ (x/y)·v·2^f, secret shift), then Xs·W/2^F.
  const Xs = await shiftBySecret(p, x, nz, (k) => f - 1 - k);
  return mulWide(p, Xs, W, F_IT);
}

/**
 * trunc(a·W, F) for |a| < 2^46 and |W| ≤ 2^(F+1), F ≤ 30, without a 2^62 overflow: W = Wh·2^15 + Wl
 * with Wh = trunc(W, 15), Wl ∈ [0, 2^16), so a·W/2^F = a·Wh/2^(F−15) + a·Wl/2^F. Five rounds.
 * |err| < 2 (two rounding truncations). Reveals nothing.
 */
async function mulWide(p: Party, a: AShare, W: AShare, F: number): Promise<AShare> {
  const h = 15;
  const Wh = await truncate(p, W, h);
  const Wl = sub(W, mulPublic(Wh, 1n << BigInt(h)));
  const [ph, pl] = await mulMany(p, [[a, Wh], [a, Wl]]);
  const [th, tl] = await truncRound(p, [[ph!, F - h], [pl!, F]]);
  return add(th!, tl!);
}

// ---------------------------------------------------------------------------------------------
// Square root (Aly–Smart ACNS 2019: normalise to [0.25, 1) with an even exponent, Goldschmidt)

/** Minimax linear approximations of 1/√v, relative error ≤ 0.0224 on each half. */
const RSQRT_EVEN = [1.7883974336, 0.81075] as const; // v ∈ [0.5, 1): a − b·v
const RSQRT_ODD = [2.5283431188, 2.29125] as const; // v ∈ [0.25, 0.5)

async function sqrtCore(p: Party, x: AShare, f: number, which: 'sqrt' | 'rsqrt'): Promise<AShare> {
  checkF(f, 30);
  if (x.length === 0) return x;
  const K = K_MAX;
  const nz = await normalise(p, x, K, false);
  const { n, onehot } = nz;
  // x = v·2^e with e = k+1−f rounded up to even, v ∈ [0.25, 1): odd_k = (k+1−f) mod 2.
  const odd = (k: number): number => (((k + 1 - f) % 2) + 2) % 2;
  const e = (k: number): number => k + 1 - f + odd(k);
  // V = X·2^(F−1−k−odd) and OV = odd·V in the same mul + truncation.
  let T = 0;
  for (let k = 0; k < K; k++) T = Math.max(T, k + 2 - F_IT);
  const mV = linComb(onehot, n, K, (k) => 1n << BigInt(T + F_IT - 1 - k - odd(k)));
  const mOV = linComb(onehot, n, K, (k) => (odd(k) ? 1n << BigInt(T + F_IT - 1 - k - 1) : 0n));
  const [pv, pov] = await mulMany(p, [[x, mV], [x, mOV]]);
  const [V, OV] = T > 0 ? await truncRound(p, [[pv!, T], [pov!, T]]) : [pv!, pov!];
  // y0 ≈ 1/√v: a(k) − b(k)·v, with a, b by parity.
  const enc = (c: number) => BigInt(Math.round(c * 2 ** F_IT));
  const aK = linComb(onehot, n, K, (k) => (odd(k) ? enc(RSQRT_ODD[0]) : enc(RSQRT_EVEN[0])));
  const bV = add(mulPublic(V!, enc(RSQRT_EVEN[1])), mulPublic(OV!, enc(RSQRT_ODD[1] - RSQRT_EVEN[1])));
  const Y0 = sub(aK, (await truncRound(p, [[bV, F_IT]]))[0]!);
  // Goldschmidt: g → √v, H = 2h → 1/√v; r = 1/2 − g·h; g ← g(1+r), h ← h(1+r).
  let G = await mulFixed(p, V!, Y0, F_IT);
  let H = Y0;
  const one = 1n << BigInt(F_IT);
  for (let it = 0; it < 3; it++) {
    const r = subFromPublic(p, one >> 1n, (await truncRound(p, [[await mul(p, G, H), F_IT + 1]]))[0]!);
    const onePlusR = addPublic(p, r, one);
    const last = it === 2;
    if (last) {
      if (which === 'sqrt') G = await mulFixed(p, G, onePlusR, F_IT);
      else H = await mulFixed(p, H, onePlusR, F_IT);
    } else {
      [G, H] = (await mulFixedMany(p, [[G, onePlusR], [H, onePlusR]], F_IT)) as [AShare, AShare];
    }
  }
  // √x·2^f = √v·2^(e/2)·2^f = G·2^(f−F+e/2); 1/√x·2^f = H·2^(f−F−e/2).
  if (which === 'sqrt') return shiftBySecret(p, G, nz, (k) => f - F_IT + e(k) / 2, F_IT + 2);
  return shiftBySecret(p, H, nz, (k) => f - F_IT - e(k) / 2, F_IT + 2);
}

/**
 * √x in fixed point for 0 ≤ x < 2^(60−f). Aly–Smart ACNS 2019 (Goldschmidt square root after
 * normalisation to [0.25, 1)). ~45 rounds. |err| ≤ 2^−27·√x + 1 ulp. Negative x: unspecified.
 * Reveals nothing.
 */
export function sqrt(p: Party, x: AShare, f: number = DEFAULT_F): Promise<AShare> {
  return sqrtCore(p, x, f, 'sqrt');
}

/** 1/√x for 2^−f ≤ x < 2^(60−f), as sqrt (~45 rounds). |err| ≤ 2^−27·|1/√x| + 1 ulp. Reveals nothing. */
export function rsqrt(p: Party, x: AShare, f: number = DEFAULT_F): Promise<AShare> {
  return sqrtCore(p, x, f, 'rsqrt');
}
