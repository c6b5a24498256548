// COUNT and SUM per cell straight from boolean-shared cell indicators, for tables of millions of
// rows (countAndSum; countOnes below counts the ones of 0/1 planes by a boolean adder tree): Σ_i b_i and Σ_i b_i·x_i without converting the bits b to arithmetic shares first.
//
// Write b = b_0 ⊕ b_1 ⊕ b_2 as e ⊕ s with e = b_0 ⊕ b_1 (known to party 0) and s = b_2 (known to
// parties 1 and 2), as in ABY3's bit injection (Mohassel–Rindal CCS 2018, §5.4.1). As integers
// b = e + s − 2es = s + e·w with w = 1 − 2s, so for a shared column x = x_0 + x_1 + x_2
//   Σ b   = Σ e + Σ s − 2⟨e, s⟩
//   Σ b·x = ⟨s, x⟩ + ⟨w, e⊙(x_0 + x_1)⟩ + ⟨e, w⊙x_2⟩.
// ⟨s, x⟩ is local to parties 1 and 2 (party 1 holds x_1, x_2; party 2 holds x_2, x_0). The other
// inner products pair a vector only party 0 knows (e, or v = e⊙(x_0 + x_1)) with one parties 1 and
// 2 both know (s, w, w⊙x_2): party 0 sends u = e − r and v − r′ to party 2, with r, r′ drawn from
// the PRG party 0 shares with party 1, so ⟨e, y⟩ = ⟨u, y⟩ (party 2) + ⟨r, y⟩ (party 1). The
// additive pieces are re-shared with a zero sharing, as in arith.dot. The roles rotate over the
// cells (cell k is led by node k mod 3), which spreads the traffic over the three links.
// Cost: two rounds; (1 + #columns) ring elements per row and cell from the cell's "party 0" to its
// "party 2"; local inner products otherwise. No multiplication and no arithmetic indicator column (bitInject costs
// an input and a multiplication per bit, then a product per column). Reveals nothing: party 2 sees
// only values masked by r, r′, which it does not know; the re-sharing is masked by the zero sharing.
import { planeToCol, wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import { AShare, add, mulPublic } from './arith.js';
import { and, BShare } from './boolean.js';
import { bitInject } from './convert.js';
import type { Party } from './party.js';

/**
 * For every plane k of b (a cell indicator over n rows) and every column x_v (n rows): Σ b_k and
 * Σ b_k·x_v. Returns shares of G·(1 + V) values: lane k·(1 + V) is the count of cell k, lane
 * k·(1 + V) + 1 + v its sum of column v.
 */
export async function countAndSum(p: Party, b: BShare, xs: AShare[]): Promise<AShare> {
  const n = b.n, G = b.bits, W = wordsFor(n), V = xs.length;
  for (const x of xs) if (x.length !== n) throw new RangeError(`countAndSum: column has ${x.length} rows, indicators ${n}`);
  const plane = (words: Uint32Array, k: number) => planeToCol(words.subarray(k * W, (k + 1) * W), n);
  const pieces = new BigUint64Array(G * (1 + V));
  const at = (k: number, v: number) => k * (1 + V) + 1 + v; // v = −1: the count
  // The three roles rotate over the cells (cell k: "party 0" is node k mod 3), so every node sends
  // a third of the masked vectors. A node is role 0 for its own cells, role 1 for its
  // predecessor's, role 2 for its successor's; it sends to its predecessor, which is role 2 there.
  const cellsOf = (rho: number) => Array.from({ length: G }, (_, k) => k).filter((k) => k % 3 === rho);
  // Role 0 holds (x_ρ, x_ρ+1) and (b_ρ, b_ρ+1): e = b_ρ ⊕ b_ρ+1.
  {
    const mine = cellsOf(p.id);
    const e = new Uint32Array(b.a.length);
    for (let i = 0; i < e.length; i++) e[i] = b.a[i]! ^ b.b[i]!;
    const x01 = mine.length ? xs.map((x) => R.add(x.a, x.b)) : [];
    const msg = new BigUint64Array(n * mine.length * (1 + V));
    let off = 0;
    for (const k of mine) {
      const ek = plane(e, k);
      pieces[at(k, -1)] = R.sum(ek);
      R.sub(ek, p.prgNext.ring(n), msg.subarray(off, (off += n)));
      for (let v = 0; v < V; v++) R.sub(R.mul(ek, x01[v]!), p.prgNext.ring(n), msg.subarray(off, (off += n)));
    }
    p.net.send(p.prev, R.bytesOf(msg));
  }
  // Roles 1 and 2 both know s = b_ρ+2 and x_ρ+2: role 1 holds (x_ρ+1, x_ρ+2), (b_ρ+1, b_ρ+2) as
  // (a, b); role 2 holds (x_ρ+2, x_ρ), (b_ρ+2, b_ρ). Role 1 draws r, r′; role 2 got e − r, v − r′.
  const partner = async (role: 1 | 2) => {
    const cells = cellsOf(role === 1 ? p.prev : p.next);
    const sWords = role === 1 ? b.b : b.a;
    const x2 = xs.map((x) => (role === 1 ? x.b : x.a));
    const own = cells.length ? xs.map((x) => (role === 1 ? R.add(x.a, x.b) : x.b)) : []; // x_ρ+1 + x_ρ+2, or x_ρ
    let got: R.Col | null = null;
    if (role === 2) {
      got = R.colOf(await p.net.recv(p.next));
      if (got.length !== n * cells.length * (1 + V)) throw new Error(`countAndSum: party ${p.next} sent ${got.length} values, expected ${n * cells.length * (1 + V)}`);
    }
    let off = 0;
    const next = (): R.Col => (role === 1 ? p.prgPrev.ring(n) : got!.subarray(off, (off += n)));
    for (const k of cells) {
      const s = plane(sWords, k);
      const w = R.addConst(R.mulConst(s, BigInt.asUintN(64, -2n)), 1n); // 1 − 2s
      const u = next(); // r at role 1, e − r at role 2
      pieces[at(k, -1)] = BigInt.asUintN(64, (role === 1 ? R.sum(s) : 0n) - 2n * dotPlain(u, s));
      for (let v = 0; v < V; v++) {
        const m = next(); // r′ at role 1, v − r′ at role 2
        pieces[at(k, v)] = BigInt.asUintN(64, dotPlain(s, own[v]!) + dotPlain(m, w) + dotPlain(u, R.mul(w, x2[v]!)));
      }
    }
  };
  await partner(1);
  await partner(2);
  // Re-share the additive pieces (one element per value to the predecessor).
  const z = p.zeroShare(pieces.length);
  for (let i = 0; i < z.length; i++) z[i] = BigInt.asUintN(64, z[i]! + pieces[i]!);
  p.net.send(p.prev, R.bytesOf(z));
  const other = R.colOf(await p.net.recv(p.next));
  if (other.length !== z.length) throw new Error(`countAndSum: party ${p.next} sent ${other.length} values, expected ${z.length}`);
  return new AShare(z, other);
}

/** Σ x_k·y_k mod 2^64 over plaintext columns (the local dot kernel with zero second halves). */
let zeros = new BigUint64Array(0);
function dotPlain(x: R.Col, y: R.Col): bigint {
  if (zeros.length < x.length) zeros = new BigUint64Array(x.length);
  const zero = zeros.subarray(0, x.length);
  // rssDotLocal(x0, x1, y0, y1) = Σ x0·(y0 + y1) + x1·y0; with x1 = y1 = 0 it is Σ x0·y0.
  return R.rssDotLocal(x, zero, y, zero);
}

/**
 * Σ_i x_k[i] over the n lanes of every plane k (K planes), as K arithmetic lanes: a bit-sliced
 * adder tree over the lanes (a Wallace-style reduction of ripple-carry adders, on XOR shares: the
 * ANDs of Araki et al. CCS 2016; bit slicing as in ABY3, Mohassel–Rindal CCS 2018). Each level adds the lower half of every plane's
 * counters to its upper half (whole words while a plane has more than one; then within the word,
 * by local shifts), with a ripple-carry adder (one AND per digit, Araki et al. CCS 2016 §2.2 over
 * GF(2)); the final w-digit counters are injected into the ring (convert.bitInject). For 0/1
 * weights this is far cheaper than countAndSum's ring elements or a sort: about 2 AND bits per
 * input bit (≈ n/4 bytes sent per plane and party), Σ_levels (level + 1) ≈ log2²(n)/2 rounds,
 * all planes in the same rounds. Reveals nothing.
 */
export async function countOnes(p: Party, x: BShare): Promise<AShare> {
  const K = x.bits, n = x.n;
  if (K === 0) return new AShare(new BigUint64Array(0), new BigUint64Array(0));
  type Words = { a: Uint32Array; b: Uint32Array };
  // Counters plane-major (plane k's words at [k·W, (k + 1)·W)); W padded with zero words to at
  // most five significant bits, so that it halves evenly for all but the last few levels. At each
  // level word 2i + 1 is added to word 2i (W even: these pair words of the same plane).
  const Wx = wordsFor(n);
  let W = Math.max(1, Wx);
  if (W > 32) {
    const drop = Math.max(0, Math.floor(Math.log2(W)) - 4);
    W = Math.ceil(W / 2 ** drop) * 2 ** drop;
  }
  const tail = n % 32 === 0 ? 0xffffffff : (1 << (n % 32)) - 1;
  const widen = (src: Words, from: number, to: number): Words => {
    const out: Words = { a: new Uint32Array(K * to), b: new Uint32Array(K * to) };
    for (let k = 0; k < K; k++) ((out.a.set(src.a.subarray(k * from, (k + 1) * from), k * to)), out.b.set(src.b.subarray(k * from, (k + 1) * from), k * to));
    return out;
  };
  const first = widen({ a: x.a, b: x.b }, Wx, W);
  if (Wx > 0) for (let k = 0; k < K; k++) ((first.a[k * W + Wx - 1]! &= tail), (first.b[k * W + Wx - 1]! &= tail));
  let digits: Words[] = [first];
  let lanesPerWord = 32;
  while (W > 1 || lanesPerWord > 1) {
    if (W > 1 && W & 1) {
      digits = digits.map((d) => widen(d, W, W + 1));
      W++;
    }
    const L = W > 1 ? (K * W) / 2 : K;
    const bh = lanesPerWord / 2, mask = bh === 16 ? 0xffff : (1 << bh) - 1;
    // Ripple-carry: s_j = a_j ⊕ b_j ⊕ c_j, c_{j+1} = ((a_j ⊕ c_j) ∧ (b_j ⊕ c_j)) ⊕ c_j, c_0 = 0.
    const out: Words[] = [];
    let carry: Words | null = null;
    for (const d of digits) {
      const sum: Words = { a: new Uint32Array(L), b: new Uint32Array(L) };
      const xa: Words = { a: new Uint32Array(L), b: new Uint32Array(L) }, xb: Words = { a: new Uint32Array(L), b: new Uint32Array(L) };
      if (W > 1) {
        pairWords(d.a, carry?.a ?? null, xa.a, xb.a, sum.a, L);
        pairWords(d.b, carry?.b ?? null, xa.b, xb.b, sum.b, L);
      } else {
        pairBits(d.a, carry?.a ?? null, xa.a, xb.a, sum.a, L, bh, mask);
        pairBits(d.b, carry?.b ?? null, xa.b, xb.b, sum.b, L, bh, mask);
      }
      out.push(sum);
      const z = await and(p, new BShare(L * 32, 1, xa.a, xa.b), new BShare(L * 32, 1, xb.a, xb.b));
      // c_{j+1} = z ⊕ c_j (into fresh arrays: z's halves may be views of sent or received buffers).
      const next: Words = { a: new Uint32Array(L), b: new Uint32Array(L) };
      for (let i = 0; i < L; i++) ((next.a[i] = z.a[i]! ^ (carry ? carry.a[i]! : 0)), (next.b[i] = z.b[i]! ^ (carry ? carry.b[i]! : 0)));
      carry = next;
    }
    out.push(carry!);
    digits = out;
    if (W > 1) W /= 2;
    else lanesPerWord = bh;
  }
  // digits[j]: K words, bit 0 = digit j of plane k's count. Inject all digits at once.
  const D = digits.length, WK = wordsFor(K);
  const pa = new Uint32Array(D * WK), pb = new Uint32Array(D * WK);
  digits.forEach((d, j) => {
    for (let k = 0; k < K; k++) {
      pa[j * WK + (k >>> 5)]! |= (d.a[k]! & 1) << (k & 31);
      pb[j * WK + (k >>> 5)]! |= (d.b[k]! & 1) << (k & 31);
    }
  });
  const inj = await bitInject(p, new BShare(K, D, pa, pb));
  let acc = new AShare(new BigUint64Array(K), new BigUint64Array(K));
  for (let j = 0; j < D; j++) acc = add(acc, mulPublic(inj.slice(j * K, (j + 1) * K), 1n << BigInt(j)));
  return acc;
}

/** Adder inputs of words 2i and 2i + 1 of d (one share half): a ⊕ c, b ⊕ c and a ⊕ b ⊕ c. */
function pairWords(d: Uint32Array, c: Uint32Array | null, xa: Uint32Array, xb: Uint32Array, s: Uint32Array, L: number): void {
  if (c) {
    for (let i = 0; i < L; i++) {
      const a = d[2 * i]!, b = d[2 * i + 1]!, ci = c[i]!;
      xa[i] = a ^ ci;
      xb[i] = b ^ ci;
      s[i] = a ^ b ^ ci;
    }
  } else {
    for (let i = 0; i < L; i++) {
      const a = d[2 * i]!, b = d[2 * i + 1]!;
      xa[i] = a;
      xb[i] = b;
      s[i] = a ^ b;
    }
  }
}

/** The same within each word: its low `bh` lanes and its high ones. */
function pairBits(d: Uint32Array, c: Uint32Array | null, xa: Uint32Array, xb: Uint32Array, s: Uint32Array, L: number, bh: number, mask: number): void {
  for (let i = 0; i < L; i++) {
    const a = d[i]! & mask, b = (d[i]! >>> bh) & mask, ci = c ? c[i]! : 0;
    xa[i] = a ^ ci;
    xb[i] = b ^ ci;
    s[i] = a ^ b ^ ci;
  }
}
