// Arithmetic ↔ boolean conversions on whole columns.
//
// Bit decomposition follows ABY3 (Mohassel–Rindal CCS 2018, §5.3): x = x_0 + x_1 + x_2 is
// rewritten as the sum of two terms a = x_0 + x_1 (known to party 0) and b = x_2 (known to
// parties 1 and 2). Party 0 inputs a's bits (one message), b's bits are shared for free, and a
// log-depth parallel-prefix adder (Sklansky 1960) adds them inside MPC. Nothing is revealed.
import { planeToCol, toPlanes, wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { AShare, add, fromPair, input, mul, mulPublic } from './arith.js';
import { and, andMany, BShare, fromPairBits, inputBits, stackPlanes, xor } from './boolean.js';
import type { Party } from './party.js';

/** Boolean sharings of the two terms a = x_0 + x_1 and b = x_2 of x, planes 0..bits−1 (one round). */
export async function twoTermBits(p: Party, x: AShare, bits: number, negateB = false): Promise<[BShare, BShare]> {
  const n = x.length;
  // Party 0 holds (x_0, x_1); party 1 holds (x_1, x_2); party 2 holds (x_2, x_0).
  const a = p.id === 0 ? toPlanes(R.add(x.a, x.b), bits) : null;
  const bcol = p.id === 1 ? x.b : p.id === 2 ? x.a : null;
  const b = bcol ? toPlanes(negateB ? R.neg(bcol) : bcol, bits) : null;
  const A = await inputBits(p, 0, a, n, bits);
  const B = fromPairBits(p, 1, b, n, bits);
  return [A, B];
}

/**
 * Carry into bit m of A + B (the carry out of planes 0..m−1), m ≥ 1, for several operand pairs
 * at once: generate/propagate pairs combined in a balanced tree, ⌈log2 m⌉ + 1 rounds,
 * about 3m ANDs per lane. (G,P)∘(G',P') = (G ⊕ P·G', P·P'); XOR replaces OR because G and
 * P·G' are never both 1.
 */
export async function carryInto(p: Party, A: BShare, B: BShare, m: number): Promise<BShare> {
  if (m < 1 || m > A.bits) throw new RangeError(`carryInto: m = ${m} outside 1..${A.bits}`);
  const Am = A.planes(0, m);
  const Bm = B.planes(0, m);
  let G: BShare[] = splitPlanes(await and(p, Am, Bm));
  let P: BShare[] = splitPlanes(xor(Am, Bm));
  // Groups are listed low to high; the lowest group's P is never needed (carry-in is 0).
  while (G.length > 1) {
    const pairs: [BShare, BShare][] = [];
    const half = G.length >>> 1;
    for (let k = 0; k < half; k++) {
      const lo = 2 * k, hi = 2 * k + 1;
      pairs.push([P[hi]!, G[lo]!]);
      if (k > 0) pairs.push([P[hi]!, P[lo]!]);
    }
    const prods = await andMany(p, pairs);
    const nG: BShare[] = [], nP: BShare[] = [];
    let q = 0;
    for (let k = 0; k < half; k++) {
      nG.push(xor(G[2 * k + 1]!, prods[q++]!));
      nP.push(k > 0 ? prods[q++]! : P[2 * k + 1]!);
    }
    if (G.length % 2) {
      nG.push(G[G.length - 1]!);
      nP.push(P[P.length - 1]!);
    }
    G = nG;
    P = nP;
  }
  return G[0]!;
}

function splitPlanes(x: BShare): BShare[] {
  return Array.from({ length: x.bits }, (_, k) => x.planes(k));
}

/**
 * All sum bits of A + B mod 2^bits with a Sklansky parallel-prefix adder: ⌈log2 bits⌉ + 1 rounds,
 * (bits/2)·log2(bits)·2 + bits ANDs per lane.
 */
export async function addBits(p: Party, A: BShare, B: BShare): Promise<BShare> {
  const bits = A.bits;
  const Gs = splitPlanes(await and(p, A, B));
  const Ps = splitPlanes(xor(A, B));
  const S0 = Ps.slice();
  for (let d = 1; d < bits; d <<= 1) {
    const pairs: [BShare, BShare][] = [];
    const targets: number[] = [];
    for (let k = 0; k < bits; k++) {
      if (!(k & d)) continue;
      const j = (k & ~(d - 1)) - 1; // top of the block below k's block
      targets.push(k);
      pairs.push([Ps[k]!, Gs[j]!]);
      pairs.push([Ps[k]!, Ps[j]!]);
    }
    const prods = await andMany(p, pairs);
    targets.forEach((k, t) => {
      Gs[k] = xor(Gs[k]!, prods[2 * t]!);
      Ps[k] = prods[2 * t + 1]!;
    });
  }
  // sum_k = A_k ⊕ B_k ⊕ carry_into_k, carry_into_k = G over 0..k−1.
  const out = S0.map((s, k) => (k === 0 ? s : xor(s, Gs[k - 1]!)));
  return stackPlanes(out);
}

/** Bits 0..bits−1 of x (two's complement), as boolean shares. ABY3 §5.3. */
export async function bitDecompose(p: Party, x: AShare, bits = 64): Promise<BShare> {
  const [A, B] = await twoTermBits(p, x, bits);
  return addBits(p, A, B);
}

/** Bit bits−1 of x mod 2^bits (the sign bit of x read as a `bits`-bit integer). */
export async function msb(p: Party, x: AShare, bits = 64): Promise<BShare> {
  const [A, B] = await twoTermBits(p, x, bits);
  const top = bits - 1;
  const s = xor(A.planes(top), B.planes(top));
  return top === 0 ? s : xor(s, await carryInto(p, A, B, top));
}

/**
 * Boolean → arithmetic for single bits ("bit injection", ABY3 §5.4.1 in its simplest form):
 * b = s_0 ⊕ s_1 ⊕ s_2; party 0 inputs e = s_0 ⊕ s_1, parties 1 and 2 hold s_2, and
 * b = e + s_2 − 2·e·s_2. Two rounds, two ring elements per bit from party 0, one from the others.
 * Every plane of `b` is injected; the result is plane-major: lane k·n + j is bit k of lane j.
 */
export async function bitInject(p: Party, b: BShare): Promise<AShare> {
  const n = b.n;
  const W = wordsFor(n);
  const total = n * b.bits;
  const lanes = (words: Uint32Array): Col => {
    const out = new BigUint64Array(total);
    for (let k = 0; k < b.bits; k++) planeToCol(words.subarray(k * W, (k + 1) * W), n, out.subarray(k * n, (k + 1) * n));
    return out;
  };
  let e: Col | null = null;
  if (p.id === 0) {
    const w = new Uint32Array(b.a.length);
    for (let i = 0; i < w.length; i++) w[i] = b.a[i]! ^ b.b[i]!;
    e = lanes(w);
  }
  const s2 = p.id === 1 ? lanes(b.b) : p.id === 2 ? lanes(b.a) : null;
  const E = await input(p, 0, e, total);
  const S = fromPair(p, 1, s2, total);
  const ES = await mul(p, E, S);
  return new AShare(R.xorLift(E.a, S.a, ES.a), R.xorLift(E.b, S.b, ES.b));
}

/** Boolean → arithmetic for whole values: x = Σ_k 2^k·b_k (bits injected, then a public weighting). */
export async function b2a(p: Party, b: BShare): Promise<AShare> {
  const inj = await bitInject(p, b);
  const n = b.n;
  const acc = new AShare(new BigUint64Array(n), new BigUint64Array(n));
  let out = acc;
  for (let k = 0; k < b.bits; k++) out = add(out, mulPublic(inj.slice(k * n, (k + 1) * n), 1n << BigInt(k)));
  return out;
}

/**
 * The lowest bit of every lane as a boolean share, locally: bit 0 of x_0 + x_1 + x_2 is the XOR of
 * the three shares' bits 0 (no carry reaches bit 0). For 0/1 columns this is their boolean sharing
 * for free. Reveals nothing (no communication).
 */
export function lowBit(x: AShare): BShare {
  const bit0 = (c: Col): Uint32Array => {
    const v = new Uint32Array(c.buffer, c.byteOffset, 2 * c.length); // little-endian: low word first
    const out = new Uint32Array(wordsFor(c.length));
    for (let i = 0; i < c.length; i++) out[i >>> 5]! |= (v[2 * i]! & 1) << (i & 31);
    return out;
  };
  return new BShare(x.length, 1, bit0(x.a), bit0(x.b));
}
