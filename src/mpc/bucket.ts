// Bucket index of a shared value among public thresholds, on whole columns: for ascending public
// t_1 < … < t_K, idx = #{k : x ≥ t_k} ∈ [0, K]. Used for age in completed years from a birth date
// (thresholds: the birth dates of each birthday), calendar months between dates, and binning of
// survival times (src/query/rows.ts, src/stats).
//
// x is bit-decomposed once (ABY3 §5.3, convert.ts); each [x ≥ t_k] against a public t_k is a
// log-depth tree over its bits, free per bit because t_k is public (the comparison trees of
// src/query/execute.ts; subtrees shared by several thresholds are computed once, every AND of one
// depth in one round). The K monotone bits c_1 ≥ c_2 ≥ … ≥ c_K form a thermometer code, whose
// binary value is LINEAR over GF(2): with o_k = c_k ⊕ c_{k+1} (one-hot of the index), bit j of
// idx is the XOR of o_k over the k with bit j set: free. Only ⌈log2(K + 1)⌉ planes are injected
// into the ring (convert.bitInject), not K. Reveals nothing.
// Cost: one bit decomposition of `bits` bits, ≤ 2·bits ANDs per threshold (fewer when shared),
// ⌈log2 bits⌉ + 1 AND rounds, ⌈log2(K + 1)⌉ bit injections.
import { wordsFor } from '../ring/bits.js';
import { AShare, add, mulPublic } from './arith.js';
import { andMany, BShare, fromPublicBits, not, stackPlanes, xor } from './boolean.js';
import { bitDecompose, bitInject } from './convert.js';
import type { Party } from './party.js';

/**
 * #{k : x_i ≥ t_k} per lane i, as an arithmetic share. x holds signed `bits`-bit integers
 * (−2^(bits−1) ≤ x < 2^(bits−1): a promise, as for comparisons); thresholds ascending, distinct.
 */
export async function bucketIndex(p: Party, x: AShare, thresholds: bigint[], bits: number): Promise<AShare> {
  const n = x.length;
  for (let k = 1; k < thresholds.length; k++) if (!(thresholds[k]! > thresholds[k - 1]!)) throw new RangeError('bucketIndex: thresholds must be strictly ascending');
  if (!Number.isInteger(bits) || bits < 1 || bits > 64) throw new RangeError(`bucketIndex: bits must be in 1..64, got ${bits}`);
  const K = thresholds.length;
  if (K === 0 || n === 0) return new AShare(new BigUint64Array(n), new BigUint64Array(n));
  const ge = await geThresholds(p, x, thresholds, bits);
  // One-hot o_k of idx = k, k = 0..K: o_0 = ¬c_1, o_k = c_k ⊕ c_{k+1}, o_K = c_K.
  const W = wordsFor(n);
  const zero = fromPublicBits(p, n, 1, new Uint32Array(W));
  const c = (k: number): BShare => (k === 0 ? not(p, zero) : k > K ? zero : ge[k - 1]!);
  const D = Math.max(1, Math.ceil(Math.log2(K + 1)));
  const digits: BShare[] = [];
  for (let j = 0; j < D; j++) {
    let acc = zero;
    for (let k = 1; k <= K; k++) if ((k >> j) & 1) acc = xor(acc, xor(c(k), c(k + 1)));
    digits.push(acc);
  }
  const inj = await bitInject(p, stackPlanes(digits));
  let out = new AShare(new BigUint64Array(n), new BigUint64Array(n));
  for (let j = 0; j < D; j++) out = add(out, mulPublic(inj.slice(j * n, (j + 1) * n), 1n << BigInt(j)));
  return out;
}

/**
 * The one-hot planes o_l = [idx = l], l = 0..K, of a thermometer c_1 ≥ … ≥ c_K of n lanes (as
 * geThresholds returns it), by free XORs: o_0 = ¬c_1, o_l = c_l ⊕ c_{l+1}, o_K = c_K. Reveals nothing.
 */
export function oneHot(p: Party, ge: BShare[], n: number): BShare {
  const K = ge.length;
  if (K === 0) return not(p, fromPublicBits(p, n, 1, new Uint32Array(wordsFor(n))));
  const planes: BShare[] = [];
  for (let l = 0; l <= K; l++) planes.push(l === 0 ? not(p, ge[0]!) : l === K ? ge[K - 1]! : xor(ge[l - 1]!, ge[l]!));
  return stackPlanes(planes);
}

/**
 * [x ≥ t_k] for every public threshold t_k, as one-plane boolean shares (k order). x signed
 * `bits`-bit. Thresholds outside the range give constant planes. Reveals nothing.
 */
export async function geThresholds(p: Party, x: AShare, thresholds: bigint[], bits: number): Promise<BShare[]> {
  const n = x.length;
  const W = wordsFor(n);
  const zero = fromPublicBits(p, n, 1, new Uint32Array(W));
  const one = not(p, zero);
  const dec = await bitDecompose(p, x, bits);
  // Unsigned view u = x + 2^(bits−1): the sign plane flipped.
  const u: BShare[] = Array.from({ length: bits }, (_, k) => (k === bits - 1 ? not(p, dec.planes(k)) : dec.planes(k)));
  const half = 1n << BigInt(bits - 1);
  // Node (lo, hi, v's bits lo..hi) → pair (L, E) = ([u < v], [u = v]) on those bits, as gate ids.
  type Gate = { kind: 'leaf'; b: BShare } | { kind: 'and'; a: number; b: number } | { kind: 'xor'; a: number; b: number } | { kind: 'not'; a: number } | { kind: 'const'; v: boolean };
  const gates: Gate[] = [];
  const depth: number[] = [];
  const memo = new Map<string, [number, number]>();
  const mk = (g: Gate, d: number) => (gates.push(g), depth.push(d), gates.length - 1);
  const leaf = u.map((b) => mk({ kind: 'leaf', b }, 0));
  const notLeaf = u.map((_, k) => mk({ kind: 'not', a: leaf[k]! }, 0));
  const F = mk({ kind: 'const', v: false }, 0);
  const node = (lo: number, hi: number, v: bigint): [number, number] => {
    const key = `${lo}:${hi}:${(v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n)}`;
    const m = memo.get(key);
    if (m) return m;
    let r: [number, number];
    if (lo === hi) {
      const vk = ((v >> BigInt(lo)) & 1n) === 1n;
      r = vk ? [notLeaf[lo]!, leaf[lo]!] : [F, notLeaf[lo]!];
    } else {
      const mid = (lo + hi + 1) >>> 1;
      const [Ll, El] = node(lo, mid - 1, v);
      const [Lh, Eh] = node(mid, hi, v);
      const d = Math.max(depth[Ll]!, depth[El]!, depth[Lh]!, depth[Eh]!) + 1;
      const t = Ll === F ? F : mk({ kind: 'and', a: Eh, b: Ll }, d);
      const L = t === F ? Lh : Lh === F ? t : mk({ kind: 'xor', a: Lh, b: t }, d);
      r = [L, mk({ kind: 'and', a: Eh, b: El }, d)];
    }
    memo.set(key, r);
    return r;
  };
  const outs: (number | boolean)[] = thresholds.map((t) => {
    if (t <= -half) return true;
    if (t > half - 1n) return false;
    return node(0, bits - 1, t + half)[0]; // [u < v] = [x < t]; ≥ is its negation
  });
  // Evaluate gates needed, depth by depth (XOR/NOT free; ANDs of one depth in one round).
  const val = new Map<number, BShare>();
  const need = new Set<number>();
  const mark = (i: number): void => {
    if (need.has(i)) return;
    need.add(i);
    const g = gates[i]!;
    if (g.kind === 'and' || g.kind === 'xor') (mark(g.a), mark(g.b));
    else if (g.kind === 'not') mark(g.a);
  };
  for (const o of outs) if (typeof o === 'number') mark(o);
  const order = [...need].sort((a, b) => a - b);
  const maxD = Math.max(0, ...order.map((i) => depth[i]!));
  const local = (i: number): void => {
    const g = gates[i]!;
    if (g.kind === 'leaf') val.set(i, g.b);
    else if (g.kind === 'const') val.set(i, g.v ? one : zero);
    else if (g.kind === 'not') val.set(i, not(p, val.get(g.a)!));
    else if (g.kind === 'xor') val.set(i, xor(val.get(g.a)!, val.get(g.b)!));
  };
  for (let d = 0; d <= maxD; d++) {
    const ands = order.filter((i) => depth[i] === d && gates[i]!.kind === 'and');
    // Within one depth, local gates may feed ANDs only through lower depths (operands are from d − 1).
    if (ands.length) {
      const res = await andMany(p, ands.map((i) => {
        const g = gates[i] as { a: number; b: number };
        return [val.get(g.a)!, val.get(g.b)!] as [BShare, BShare];
      }));
      ands.forEach((i, k) => val.set(i, res[k]!));
    }
    for (const i of order) if (depth[i] === d && gates[i]!.kind !== 'and') local(i);
  }
  return outs.map((o) => (typeof o === 'boolean' ? (o ? one : zero) : not(p, val.get(o)!)));
}
