// COUNT and SUM per cell straight from boolean-shared cell indicators, for tables of millions of
// rows (countAndSum; countOnes below counts the ones of 0/1 planes by a carry-save tree of boolean full adders): Σ_i b_i and Σ_i b_i·x_i without converting the bits b to arithmetic shares first.
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
import { lastWordLanes, planeToCol, wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import { AShare, add, mulPublic } from './arith.js';
import { andFinish, BShare, xorWords } from './boolean.js';
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
    const e = xorWords(b.a, b.b);
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
 * Σ_i x_k[i] over the n lanes of every plane k (K planes), as K arithmetic lanes: a carry-save
 * (Wallace) tree of full adders over bit-sliced words (Wallace, "A suggestion for a fast
 * multiplier", IEEE Trans. Electron. Comput. 1964; the word-parallel carry-save popcount of
 * Harley–Seal, as in Muła, Kurz and Lemire, "Faster population counts using AVX2
 * instructions", Comput. J. 2018), on XOR shares with the ANDs of Araki et al. CCS 2016 §2.2.
 * Every plane's counters are words of equal weight 2^j; each round replaces three words of one
 * weight by their sum (weight 2^j, free XORs) and majority (weight 2^(j+1): one AND,
 * maj(a, b, c) = ((a ⊕ c) ∧ (b ⊕ c)) ⊕ c), all weights and planes in one AND round; when no weight
 * has three words left, the words are split into their low and high lanes and the tree goes on,
 * down to one lane per word. The last ≤ 2 bits per weight are injected into the ring
 * (convert.bitInject) and weighted. Cost: about one AND bit per input bit (≈ n/8 bytes sent per
 * plane and party), ≈ log_1.5(n/32) + 2·5 rounds, all planes in the same rounds. Reveals nothing.
 */
export async function countOnes(p: Party, x: BShare): Promise<AShare> {
  const K = x.bits, n = x.n;
  if (K === 0) return new AShare(new BigUint64Array(0), new BigUint64Array(0));
  const Wx = wordsFor(n);
  // cols[j]: the words of weight 2^j, m per plane, plane-major (plane k's at [k·m, (k + 1)·m)).
  type Col = { m: number; a: Uint32Array; b: Uint32Array };
  // The lanes past n may hold anything (e.g. after a NOT): cleared in a copy (x is only read).
  const tail = lastWordLanes(n);
  const first: Col = tail === 0xffffffff ? { m: Wx, a: x.a, b: x.b } : { m: Wx, a: x.a.slice(), b: x.b.slice() };
  if (Wx > 0 && tail !== 0xffffffff) for (let k = 0; k < K; k++) ((first.a[k * Wx + Wx - 1]! &= tail), (first.b[k * Wx + Wx - 1]! &= tail));
  let cols: Col[] = [first];
  // The columns of a round are written into one of two buffers per share half (ping-pong), as
  // views: no fresh pages per round. Their total only shrinks in a round (lane splits excepted).
  const pool = [0, 1].map(() => ({ a: new Uint32Array(K * Wx), b: new Uint32Array(K * Wx) }));
  let lanes = 32; // lanes per word
  for (let round = 0; ; round++) {
    const t = cols.map((c) => Math.floor(c.m / 3));
    if (t.every((v) => v === 0)) {
      if (lanes === 1) break;
      lanes /= 2;
      cols = cols.map((c) => splitLanes(c, K, lanes));
      continue;
    }
    // AND operands of every triple (weight j's at offset off[j], plane-major) and the sums.
    const off: number[] = [];
    let total = 0;
    for (const tj of t) (off.push(total), (total += K * tj));
    const m2 = cols.map((c, j) => c.m - 2 * t[j]! + (j > 0 ? t[j - 1]! : 0));
    if (t[t.length - 1]! > 0) m2.push(t[t.length - 1]!);
    const size = m2.reduce((s, m) => s + K * m, 0), buf = pool[round & 1]!;
    const fits = size <= buf.a.length;
    let at = 0;
    const next: Col[] = m2.map((m) => {
      const view = (b: Uint32Array) => (fits ? b.subarray(at, at + K * m) : new Uint32Array(K * m));
      const c = { m, a: view(buf.a), b: view(buf.b) };
      at += K * m;
      return c;
    });
    const z = new Uint32Array(total);
    cols.forEach((c, j) => fullAdders(c, t[j]!, K, z, off[j]!, next[j]!));
    const zz = await andFinish(p, total * 32, 1, z);
    // Majorities z ⊕ c go after the sums and the remainder of weight j + 1.
    cols.forEach((c, j) => {
      const tj = t[j]!;
      if (tj === 0) return;
      const d = next[j + 1]!, at = d.m - tj;
      carries(c.a, c.m, tj, K, zz.a, off[j]!, d.a, d.m, at);
      carries(c.b, c.m, tj, K, zz.b, off[j]!, d.b, d.m, at);
    });
    cols = next;
  }
  // At most two one-lane words per weight and plane: inject them all (plane (j, s) = slot s of
  // weight j, K lanes), then Σ_j 2^j·bit.
  const slots: [number, number][] = [];
  cols.forEach((c, j) => {
    for (let s = 0; s < c.m; s++) slots.push([j, s]);
  });
  if (slots.length === 0) return new AShare(new BigUint64Array(K), new BigUint64Array(K));
  const WK = wordsFor(K);
  const pa = new Uint32Array(slots.length * WK), pb = new Uint32Array(slots.length * WK);
  slots.forEach(([j, s], q) => {
    const c = cols[j]!;
    for (let k = 0; k < K; k++) {
      pa[q * WK + (k >>> 5)]! |= (c.a[k * c.m + s]! & 1) << (k & 31);
      pb[q * WK + (k >>> 5)]! |= (c.b[k * c.m + s]! & 1) << (k & 31);
    }
  });
  const inj = await bitInject(p, new BShare(K, slots.length, pa, pb));
  let acc = new AShare(new BigUint64Array(K), new BigUint64Array(K));
  slots.forEach(([j], q) => (acc = add(acc, mulPublic(inj.slice(q * K, (q + 1) * K), 1n << BigInt(j)))));
  return acc;
}

/**
 * One weight: for the t triples (a, b, c) = words 3i, 3i + 1, 3i + 2 of every plane, the sum
 * a ⊕ b ⊕ c (word i of the plane in `out`, both share halves; the m − 3t words left over follow
 * the sums) and this party's local product of the AND (a ⊕ c) ∧ (b ⊕ c) (and()'s formula) at
 * zOff + k·t + i.
 */
function fullAdders(src: { m: number; a: Uint32Array; b: Uint32Array }, t: number, K: number, z: Uint32Array, zOff: number, out: { m: number; a: Uint32Array; b: Uint32Array }): void {
  const m = src.m, m2 = out.m, r = m - 3 * t, sa = src.a, sb = src.b, oa = out.a, ob = out.b;
  for (let k = 0; k < K; k++) {
    const s = k * m, o = k * m2, zo = zOff + k * t;
    for (let i = 0, w = s; i < t; i++, w += 3) {
      const a0 = sa[w]!, b0 = sa[w + 1]!, c0 = sa[w + 2]!, a1 = sb[w]!, b1 = sb[w + 1]!, c1 = sb[w + 2]!;
      const xa = a0 ^ c0, xb = a1 ^ c1, ya = b0 ^ c0, yb = b1 ^ c1;
      oa[o + i] = xa ^ b0;
      ob[o + i] = xb ^ b1;
      z[zo + i] = (xa & (ya ^ yb)) ^ (xb & ya);
    }
    for (let i = 0; i < r; i++) ((oa[o + t + i] = sa[s + 3 * t + i]!), (ob[o + t + i] = sb[s + 3 * t + i]!));
  }
}

/** Majorities z ⊕ c of one weight's t triples into words [at, at + t) of every plane of `out`. */
function carries(src: Uint32Array, m: number, t: number, K: number, z: Uint32Array, zOff: number, out: Uint32Array, m2: number, at: number): void {
  for (let k = 0; k < K; k++) {
    const s = k * m, o = k * m2 + at, zo = zOff + k * t;
    for (let i = 0; i < t; i++) out[o + i] = z[zo + i]! ^ src[s + 3 * i + 2]!;
  }
}

/** Every word's low and high `lanes` lanes as two words of the same weight (m doubles). */
function splitLanes(c: { m: number; a: Uint32Array; b: Uint32Array }, K: number, lanes: number): { m: number; a: Uint32Array; b: Uint32Array } {
  const mask = lanes === 16 ? 0xffff : (1 << lanes) - 1;
  const split = (src: Uint32Array) => {
    const out = new Uint32Array(2 * src.length);
    for (let i = 0; i < src.length; i++) ((out[2 * i] = src[i]! & mask), (out[2 * i + 1] = (src[i]! >>> lanes) & mask));
    return out;
  };
  return { m: 2 * c.m, a: split(c.a), b: split(c.b) };
}
