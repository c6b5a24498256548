// Arithmetic ↔ boolean conversions on whole columns.
//
// Bit decomposition follows ABY3 (Mohassel–Rindal CCS 2018, §5.3): x = x_0 + x_1 + x_2 is
// rewritten as the sum of two terms a = x_0 + x_1 (known to party 0) and b = x_2 (known to
// parties 1 and 2). Party 0 inputs a's bits (one message), b's bits are shared for free, and
// an adder adds them inside MPC. Nothing is revealed. Long columns take the terms by thirds of the
// lanes, x_j + x_{j+1} and x_{j+2} in third j, so that each party inputs a third of the bits.
//
// Two adders, chosen by the lane count (public): below RIPPLE_LANES a log-depth parallel-prefix
// adder (Sklansky 1960), whose rounds are few but whose ANDs are ≈ 3m per lane for a carry over m
// planes (≈ 6 m for every sum bit of 34); from RIPPLE_LANES on a ripple-carry adder, one AND per
// plane (the carry out of each plane is the majority of its three inputs:
// c' = c ⊕ ((a ⊕ c) ∧ (b ⊕ c))) and one round each. Large columns are bound by the ANDs' work and
// bytes, not by rounds, so the ripple is 3–6× fewer ANDs for m rounds instead of log2 m + 1
// (the trade-off of ABY3 §5.3 between its ripple-carry and parallel-prefix adders). Both give the
// same bits.
import { toPlanes, wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import { AShare } from './arith.js';
import { and, andFinish, andMany, BShare, fromPairBits, inputBits, stackPlanes, xor } from './boolean.js';
import type { Party } from './party.js';
import { bitsToValuesFlat } from './bits-to-values.js';

/**
 * Lanes from which the party that inputs the first term changes by thirds of the lanes (a public
 * choice by the lane count): each party then sends a third of the input bits instead of party 0
 * sending them all besides its share of the adder's ANDs. Between institutions that makes a 63-bit
 * comparison of 2^20 lanes 24 % faster; below 2^18 lanes the work there is bound by rounds, and on
 * one machine the wait for every party's input costs more than the balance gains (bench/RESULTS.md,
 * "each party inputs a third").
 */
export const SPLIT_INPUT_LANES = 1 << 18;

/**
 * Boolean sharings of the two terms a = x_j + x_{j+1} (known to party j) and b = x_{j+2} (known to
 * parties j+1 and j+2) of x, planes 0..bits−1 (one round). j = 0 for short columns; from
 * SPLIT_INPUT_LANES on, j = 0, 1, 2 for the three thirds of the lanes (each a whole number of words).
 */
export async function twoTermBits(p: Party, x: AShare, bits: number, negateB = false, byThirds = x.length >= SPLIT_INPUT_LANES): Promise<[BShare, BShare]> {
  const n = x.length;
  if (byThirds && n > 64) return twoTermsByThirds(p, x, bits, negateB);
  // Party 0 holds (x_0, x_1); party 1 holds (x_1, x_2); party 2 holds (x_2, x_0).
  const a = p.id === 0 ? toPlanes(R.add(x.a, x.b), bits) : null;
  const bcol = p.id === 1 ? x.b : p.id === 2 ? x.a : null;
  const b = bcol ? toPlanes(negateB ? R.neg(bcol) : bcol, bits) : null;
  const A = await inputBits(p, 0, a, n, bits);
  const B = fromPairBits(p, 1, b, n, bits);
  return [A, B];
}

/** out[o + t] = a[o + t] ⊕ b[t] for t < len: a loop of its own, so that TurboFan compiles it and not its caller. */
function xorAt(out: Uint32Array, a: Uint32Array, o: number, b: Uint32Array, len: number): void {
  for (let t = 0; t < len; t++) out[o + t] = a[o + t]! ^ b[t]!;
}

/**
 * twoTermBits by thirds of the lanes (each a whole number of words): in third j, party j inputs
 * the planes of x_j + x_{j+1} as inputBits does (one message to its successor) and x_{j+2} is shared
 * by parties j+1 and j+2 as fromPairBits does. Written straight into the planes of all n lanes.
 */
async function twoTermsByThirds(p: Party, x: AShare, bits: number, negateB: boolean): Promise<[BShare, BShare]> {
  const n = x.length, W = wordsFor(n), i = p.id, next = p.next, prev = p.prev;
  const third = 32 * Math.floor(W / 3); // words of the first two thirds; the last has the rest (W ≥ 3)
  const start = [0, third, 2 * third, n];
  const at = (j: number) => start[j]! >>> 5, len = (j: number) => wordsFor(start[j + 1]! - start[j]!);
  const lanes = (c: Col, j: number) => c.subarray(start[j]!, start[j + 1]!);
  const region = (h: Uint32Array, j: number, k: number) => h.subarray(k * W + at(j), k * W + at(j) + len(j));
  const zero = (h: Uint32Array, j: number) => {
    for (let k = 0; k < bits; k++) region(h, j, k).fill(0);
  };
  // Every word of the four halves is written below.
  const words = () => R.uninitWords(bits * W);
  const [Aa, Ab, Ba, Bb] = [words(), words(), words(), words()];
  // b: x_{j+2}. This party is j+1 of third `prev` (x_{i+1} = x.b) and j+2 of third `next` (x_i = x.a).
  const term = (c: Col) => (negateB ? R.neg(c) : c);
  R.planesInto(term(lanes(x.b, prev)), bits, Bb, W, at(prev));
  R.planesInto(term(lanes(x.a, next)), bits, Ba, W, at(next));
  zero(Bb, i), zero(Bb, next), zero(Ba, i), zero(Ba, prev);
  // a in its own third: held as (mine, theirs), mine from the stream shared with the predecessor,
  // theirs = a ⊕ mine sent to the successor.
  const v = toPlanes(R.add(lanes(x.a, i), lanes(x.b, i)), bits);
  const L = len(i), theirs = new Uint32Array(bits * L);
  for (let k = 0; k < bits; k++) {
    const mine = region(Aa, i, k);
    p.prgPrev.fill(new Uint8Array(mine.buffer, mine.byteOffset, mine.byteLength));
    xorAt(theirs, v, k * L, mine, L);
    region(Ab, i, k).set(theirs.subarray(k * L, (k + 1) * L));
  }
  p.net.send(next, R.bytesOf(theirs));
  // Third `next` (its owner's predecessor's part): (0, the stream shared with the successor).
  zero(Aa, next);
  for (let k = 0; k < bits; k++) {
    const r = region(Ab, next, k);
    p.prgNext.fill(new Uint8Array(r.buffer, r.byteOffset, r.byteLength));
  }
  // Third `prev` (its owner's successor): (what the owner sent, 0).
  zero(Ab, prev);
  const got = await p.net.recv(prev);
  const Lp = len(prev);
  if (got.byteLength !== 4 * bits * Lp) throw new Error(`twoTermBits: party ${prev} sent ${got.byteLength} bytes, expected ${4 * bits * Lp}`);
  const g = got.byteOffset % 4 === 0 ? new Uint32Array(got.buffer, got.byteOffset, bits * Lp) : new Uint32Array(got.slice().buffer);
  for (let k = 0; k < bits; k++) region(Aa, prev, k).set(g.subarray(k * Lp, (k + 1) * Lp));
  return [new BShare(n, bits, Aa, Ab), new BShare(n, bits, Ba, Bb)];
}

/**
 * Carry into bit m of A + B (the carry out of planes 0..m−1), m ≥ 1, for several operand pairs
 * at once: generate/propagate pairs combined in a balanced tree, ⌈log2 m⌉ + 1 rounds,
 * about 3m ANDs per lane ((G,P)∘(G',P') = (G ⊕ P·G', P·P'); XOR replaces OR because G and
 * P·G' are never both 1), or rippled (rippleCarry): m rounds, m ANDs per lane. `adder` defaults
 * by the lane count (adderFor).
 */
export async function carryInto(p: Party, A: BShare, B: BShare, m: number, adder: Adder = adderFor(A.n)): Promise<BShare> {
  if (m < 1 || m > A.bits) throw new RangeError(`carryInto: m = ${m} outside 1..${A.bits}`);
  if (adder === 'ripple') return rippleCarry(p, A, B, m);
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

/** Which adder a circuit uses: 'tree' (few rounds) or 'ripple' (few ANDs). */
export type Adder = 'tree' | 'ripple';

/**
 * Lanes from which the adders ripple. Per lane, the tree costs ≈ 2m ANDs more than the ripple and
 * the ripple ≈ m − log2 m more rounds: the ripple wins once a round costs less than 2·lanes ANDs
 * do. Measured: from 2^16–2^18 lanes on one machine's loopback; between hosts 10 ms apart a
 * 63-bit comparison of 2^20 lanes and a 1 M × 1 M merge gain, a join over 0.55 M rows neither
 * gains nor loses (bench/RESULTS.md, "Ripple-carry adders for large columns").
 */
export const RIPPLE_LANES = 1 << 18;

/** The adder for a column of n lanes (a public choice: the lane count is public). */
export const adderFor = (n: number): Adder => (n >= RIPPLE_LANES ? 'ripple' : 'tree');

/**
 * The carry out of planes 0..m−1 of A + B (carry into plane 0 is 0), one plane after the other:
 * c_1 = a_0 b_0, c_{k+1} = c_k ⊕ ((a_k ⊕ c_k) ∧ (b_k ⊕ c_k)), one AND and one round per plane.
 * With `sum`, each carry out of plane k is XORed into its plane k + 1 (below sum.bits) as it is made.
 */
async function rippleCarry(p: Party, A: BShare, B: BShare, m: number, sum?: BShare): Promise<BShare> {
  const n = A.n, W = A.words;
  // The running carry in buffers of its own (an AND's result holds a received frame's view): 0 until
  // the first AND's result is folded in.
  const ca = new Uint32Array(W), cb = new Uint32Array(W);
  // Plane to receive the carry out of plane k (below sum.bits), or −1.
  const into = (k: number) => (sum && k + 1 < sum.bits ? (k + 1) * W : -1);
  // The last AND's result: the carry out of the plane before is the carry ⊕ it.
  let t = await and(p, A.planes(0), B.planes(0));
  const plane = (x: Uint32Array, k: number) => x.subarray(k * W, (k + 1) * W);
  for (let k = 1; k < m; k++) {
    // One pass (a WebAssembly kernel): finish the carry out of plane k − 1 (and put it into its sum
    // plane), then the local shares of (a ⊕ c) ∧ (b ⊕ c) for plane k, as and() computes them.
    const z = R.uninitWords(W);
    const o = into(k - 1);
    R.rippleStep([ca, cb], [t.a, t.b], [plane(A.a, k), plane(A.b, k)], [plane(B.a, k), plane(B.b, k)], z, o >= 0 ? [sum!.a.subarray(o, o + W), sum!.b.subarray(o, o + W)] : undefined);
    t = await andFinish(p, n, 1, z);
  }
  // The carry out of plane m − 1.
  const o = into(m - 1);
  foldCarry(ca, cb, t.a, t.b, o >= 0 ? sum!.a.subarray(o, o + W) : null, o >= 0 ? sum!.b.subarray(o, o + W) : null);
  return new BShare(n, 1, ca, cb);
}

/** c ⊕= t on both halves, and the new c XORed into a sum plane when one is given: a loop of its own, so that TurboFan compiles it and not rippleCarry. */
function foldCarry(ca: Uint32Array, cb: Uint32Array, ta: Uint32Array, tb: Uint32Array, sa: Uint32Array | null, sb: Uint32Array | null): void {
  const W = ca.length;
  for (let w = 0; w < W; w++) {
    ca[w]! ^= ta[w]!;
    cb[w]! ^= tb[w]!;
  }
  if (sa && sb) {
    for (let w = 0; w < W; w++) {
      sa[w]! ^= ca[w]!;
      sb[w]! ^= cb[w]!;
    }
  }
}

function splitPlanes(x: BShare): BShare[] {
  return Array.from({ length: x.bits }, (_, k) => x.planes(k));
}

/**
 * All sum bits of A + B mod 2^bits: a Sklansky parallel-prefix adder, ⌈log2 bits⌉ + 1 rounds and
 * (bits/2)·log2(bits)·2 + bits ANDs per lane, or a ripple-carry adder, bits − 1 rounds and ANDs.
 */
export async function addBits(p: Party, A: BShare, B: BShare, adder: Adder = adderFor(A.n)): Promise<BShare> {
  const bits = A.bits;
  if (adder === 'ripple') {
    // sum_k = A_k ⊕ B_k ⊕ the carry into k (0 into plane 0).
    const sum = xor(A, B);
    if (bits > 1) await rippleCarry(p, A, B, bits - 1, sum);
    return sum;
  }
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
export async function bitDecompose(p: Party, x: AShare, bits = 64, adder: Adder = adderFor(x.length)): Promise<BShare> {
  const [A, B] = await twoTermBits(p, x, bits);
  return addBits(p, A, B, adder);
}

/** Bit bits−1 of x mod 2^bits (the sign bit of x read as a `bits`-bit integer). */
export async function msb(p: Party, x: AShare, bits = 64, adder: Adder = adderFor(x.length)): Promise<BShare> {
  const [A, B] = await twoTermBits(p, x, bits);
  return msbOfSum(p, A, B, adder);
}

/** The top plane of A + B (boolean-shared addends of equal width, the sum read mod 2^width): its sign bit. */
export async function msbOfSum(p: Party, A: BShare, B: BShare, adder: Adder = adderFor(A.n)): Promise<BShare> {
  const top = A.bits - 1;
  const s = xor(A.planes(top), B.planes(top));
  return top === 0 ? s : xor(s, await carryInto(p, A, B, top, adder));
}

/**
 * Boolean → arithmetic for single bits ("bit injection", ABY3 §5.4.1): every plane of `b` injected,
 * plane-major (lane k·n + j is bit k of lane j), by bits-to-values.ts with a group per plane: two
 * rounds, one ring element per bit from party 0 to party 1 and one per bit from every party (it
 * was party 0's input of e = s_0 ⊕ s_1 and a product with s_2: two per bit from party 0; 5–8× the
 * CPU, bench/RESULTS.md).
 */
export function bitInject(p: Party, b: BShare): Promise<AShare> {
  return bitsToValuesFlat(p, b, new Array<number>(b.bits).fill(1));
}

/** Boolean → arithmetic for whole values: x = Σ_k 2^k·b_k (bits-to-values.ts, one group). */
export function b2a(p: Party, b: BShare): Promise<AShare> {
  return bitsToValuesFlat(p, b, [b.bits]);
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
