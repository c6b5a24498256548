// Person ids as boolean shares of their bits, for the equality of a record read (issue 15). A node
// keeps each register version's id bits (src/node/record-cache.ts), so that [x_i = p] over every
// row is a local XOR with the target's bits and the AND tree of 35 planes: no per-read split of
// 6 M differences into bit planes. The bits are computed once per version (idBits) with the bit
// decomposition of ABY3 (Mohassel–Rindal CCS 2018, §5.3; src/mpc/convert.ts bitDecompose).
// Nothing here reveals anything: the decompositions are fresh boolean sharings, the rest is local.
import { bitDecompose } from './convert.js';
import { AShare } from './arith.js';
import { andAllPlanes, BShare, not, stackPlanes } from './boolean.js';
import { wordsFor } from '../ring/bits.js';
import type { Party } from './party.js';

/** Bits of a person id or key ref (both < 2^34, src/ingest/schema.ts); planes 0..33. */
export const ID_BITS = 34;

/** Lanes rounded up to whole 32-lane words, so that every segment of a batched sharing starts on a word. */
export const padded = (n: number): number => (n + 31) & ~31;

/** Copies lanes [from, from + n) of src to lanes [to, to + n) of dst, every plane (both starts multiples of 32). */
export function placeLanes(dst: BShare, to: number, src: BShare, from: number, n: number): void {
  if ((to | from) & 31 || dst.bits !== src.bits) throw new RangeError('placeLanes: starts on words, planes alike');
  const Wd = dst.words, Ws = src.words, w = wordsFor(n), d = to >>> 5, s = from >>> 5;
  for (let j = 0; j < src.bits; j++) {
    dst.a.set(src.a.subarray(j * Ws + s, j * Ws + s + w), j * Wd + d);
    dst.b.set(src.b.subarray(j * Ws + s, j * Ws + s + w), j * Wd + d);
  }
}

/** Lanes [start, start + n) of x as a sharing of its own (a copy). */
export function sliceLanes(x: BShare, start: number, n: number): BShare {
  const out = new BShare(n, x.bits, new Uint32Array(x.bits * wordsFor(n)), new Uint32Array(x.bits * wordsFor(n)));
  placeLanes(out, 0, x, start, n);
  return out;
}

/**
 * Bits 0..ID_BITS−1 of every lane of every column, as boolean shares (one batched decomposition:
 * 1 + ⌈log2 34⌉ + 1 rounds, about 240 ANDs per lane). Reveals nothing. Only meaningful for values
 * below 2^ID_BITS (person ids and key refs are validated so at ingest).
 */
export async function idBits(p: Party, cols: AShare[]): Promise<BShare[]> {
  const starts: number[] = [];
  let total = 0;
  for (const c of cols) (starts.push(total), (total += padded(c.length)));
  const x = new AShare(new BigUint64Array(total), new BigUint64Array(total));
  cols.forEach((c, k) => (x.a.set(c.a, starts[k]), x.b.set(c.b, starts[k])));
  const bits = await bitDecompose(p, x, ID_BITS);
  return cols.map((c, k) => sliceLanes(bits, starts[k]!, c.length));
}

/**
 * The target of an equality (one lane): its bits 0..ID_BITS−1, and as plane ID_BITS the bit
 * [t < 2^ID_BITS] (all higher bits zero), so that a target out of the ids' range equals no row.
 * 64-bit decomposition and an AND tree on one lane (≈ 13 small rounds). Reveals nothing.
 */
export async function targetBits(p: Party, t: AShare): Promise<BShare> {
  if (t.length !== 1) throw new RangeError('targetBits: one lane');
  const all = await bitDecompose(p, t, 64);
  const inRange = await andAllPlanes(p, not(p, all.planes(ID_BITS, 64)));
  return stackPlanes([all.planes(0, ID_BITS), inRange]);
}

/** The other side of one segment's equality: a shared target (targetBits) or a public constant. */
export type EqTarget = BShare | bigint;

/**
 * The ID_BITS + 1 planes whose AND is [x_i = t] for every lane of every segment, segments at
 * `starts` (multiples of 32) of `total` lanes: plane j < ID_BITS is ¬(x_j ⊕ t_j), plane ID_BITS
 * is [t < 2^ID_BITS]. Local (no communication); lanes between segments are left 0.
 */
export function eqPlanes(p: Party, segs: { bits: BShare; target: EqTarget }[], starts: number[], total: number): BShare {
  const W = wordsFor(total), P = ID_BITS + 1;
  const a = new Uint32Array(P * W), b = new Uint32Array(P * W);
  // Masks are int32 (−1 for all ones) so the loops stay on small integers.
  const mask = (bit: number | bigint) => (Number(bit) & 1 ? -1 : 0);
  // A public bit c is in share x_0: party 0's first half, party 2's second.
  const pa = p.id === 0 ? -1 : 0, pb = p.id === 2 ? -1 : 0;
  segs.forEach(({ bits: x, target: t }, k) => {
    if (x.bits !== ID_BITS) throw new RangeError(`eqPlanes: ${x.bits} planes of id bits, expected ${ID_BITS}`);
    const s = starts[k]! >>> 5, w = x.words;
    for (let j = 0; j < P; j++) {
      // This party's halves of the plane's constant: ¬t_j (the ¬ is the public 1 in x_0), or [t in range].
      let ma: number, mb: number;
      if (typeof t === 'bigint') {
        const c = j < ID_BITS ? ~mask(t >> BigInt(j)) : t >= 0n && t < 1n << BigInt(ID_BITS) ? -1 : 0;
        [ma, mb] = [pa & c, pb & c];
      } else [ma, mb] = j < ID_BITS ? [mask(t.a[j]!) ^ pa, mask(t.b[j]!) ^ pb] : [mask(t.a[j]!), mask(t.b[j]!)];
      const o = j * W + s;
      if (j === ID_BITS) {
        a.fill(ma, o, o + w);
        b.fill(mb, o, o + w);
      } else {
        xorConst(x.a, j * w, a, o, w, ma);
        xorConst(x.b, j * w, b, o, w, mb);
      }
    }
  });
  return new BShare(total, P, a, b);
}

/** dst[o..o+w) = src[from..from+w) ⊕ m. */
function xorConst(src: Uint32Array, from: number, dst: Uint32Array, o: number, w: number, m: number): void {
  for (let i = 0; i < w; i++) dst[o + i] = src[from + i]! ^ m;
}
