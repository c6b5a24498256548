// Segmented "copy last set" scan of one-bit values on boolean shares: at each row, the value of the
// last earlier-or-same row whose flag is set (scan.ts `propagate`, for values that are bits, e.g. a
// join's presence flags: "has this person any contact so far in their group").
//
// Hillis–Steele (Hillis, Steele, "Data parallel algorithms", CACM 1986): ⌈log2 n⌉ levels (or
// ⌈log2 window⌉ when every row's last set flag is at most window − 1 rows back), each combining
// every row with the row 2^s back by (f_L, v_L) ⊕ (f_R, v_R) = (f_L ∨ f_R, f_R ? v_R : v_L):
// f = f_L ⊕ f_R ⊕ f_L·f_R, v = v_L ⊕ f_R·(v_R ⊕ v_L), two ANDs in one round. Rows are lanes of
// bit-sliced words (32 a word), so "the row 2^s back" is a shift of each share's words and the two
// ANDs are 2 bits per row and party: 2n·log2 n bits in all, against ≈ 2n products of 8 bytes for
// the flag and as many for the value in the arithmetic Brent–Kung scan (scan.ts), in log2 n rounds
// instead of 2·log2 n. Several scans of the same rows (one per plane) share the rounds.
// Reveals nothing: the rounds and lanes depend only on n, the window and the number of planes.
import { and, BShare, stackPlanes } from './boolean.js';
import { wordsFor } from '../ring/bits.js';
import type { Party } from './party.js';

/** Every plane of h (planes of W words) shifted up by d lanes (lane i gets lane i − d, zeros below). */
function shiftLanes(h: Uint32Array, planes: number, W: number, d: number): Uint32Array {
  const out = new Uint32Array(h.length);
  const q = d >>> 5, r = d & 31;
  for (let k = 0; k < planes; k++) {
    const o = k * W;
    for (let w = q; w < W; w++) {
      const lo = h[o + w - q]!;
      out[o + w] = r === 0 ? lo : ((lo << r) | (w - q > 0 ? h[o + w - q - 1]! >>> (32 - r) : 0)) >>> 0;
    }
  }
  return out;
}

/**
 * For each plane j (one scan each): the value v_j of the last row at or before each row whose flag
 * f_j is set, or 0 where there is none. f and v have the same lanes and planes. With `window`, every
 * row's last set flag is promised to be at most window − 1 rows back, and only ⌈log2 window⌉ levels
 * run (the result is then the value of the last set flag within the window).
 */
export async function propagateBits(p: Party, f: BShare, v: BShare, window = f.n): Promise<BShare> {
  if (f.n !== v.n || f.bits !== v.bits) throw new RangeError(`propagateBits: flags ${f.n}×${f.bits} and values ${v.n}×${v.bits} differ`);
  const n = f.n, P = f.bits, W = wordsFor(n);
  let fa = f.a, fb = f.b, va = v.a, vb = v.b;
  for (let d = 1; d < Math.min(n, window); d *= 2) {
    const last = 2 * d >= Math.min(n, window);
    const L = { fa: shiftLanes(fa, P, W, d), fb: shiftLanes(fb, P, W, d), va: shiftLanes(va, P, W, d), vb: shiftLanes(vb, P, W, d) };
    // v_R ⊕ v_L, and the AND's operands: f_R·(v_R ⊕ v_L) always, f_L·f_R unless this is the last level.
    const dva = new Uint32Array(va.length), dvb = new Uint32Array(vb.length);
    for (let i = 0; i < va.length; i++) (dva[i] = va[i]! ^ L.va[i]!), (dvb[i] = vb[i]! ^ L.vb[i]!);
    const fR = new BShare(n, P, fa, fb);
    const x = last ? fR : stackPlanes([fR, fR]);
    const y = last ? new BShare(n, P, dva, dvb) : stackPlanes([new BShare(n, P, dva, dvb), new BShare(n, P, L.fa, L.fb)]);
    const z = await and(p, x, y);
    const half = P * W;
    for (let i = 0; i < half; i++) {
      // v = v_L ⊕ f_R·(v_R ⊕ v_L) (into the AND's own result: its buffers are this level's).
      dva[i] = L.va[i]! ^ z.a[i]!;
      dvb[i] = L.vb[i]! ^ z.b[i]!;
    }
    va = dva;
    vb = dvb;
    if (!last) {
      // f = f_L ⊕ f_R ⊕ f_L·f_R.
      const na = new Uint32Array(half), nb = new Uint32Array(half);
      for (let i = 0; i < half; i++) (na[i] = L.fa[i]! ^ fa[i]! ^ z.a[half + i]!), (nb[i] = L.fb[i]! ^ fb[i]! ^ z.b[half + i]!);
      fa = na;
      fb = nb;
    }
  }
  return new BShare(n, P, va, vb);
}
