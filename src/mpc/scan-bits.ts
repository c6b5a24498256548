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
import { and, BShare, stackPlanes, xor } from './boolean.js';
import { wordsFor } from '../ring/bits.js';
import type { Party } from './party.js';

/** Every plane of x shifted up by d lanes (lane i gets lane i − d, zeros below), both halves. */
function shiftLanes(x: BShare, d: number): BShare {
  const W = wordsFor(x.n), q = d >>> 5, r = d & 31;
  const shift = (h: Uint32Array) => {
    const out = new Uint32Array(h.length);
    for (let k = 0; k < x.bits; k++) {
      const o = k * W;
      for (let w = q; w < W; w++) {
        const lo = h[o + w - q]!;
        out[o + w] = r === 0 ? lo : ((lo << r) | (w - q > 0 ? h[o + w - q - 1]! >>> (32 - r) : 0)) >>> 0;
      }
    }
    return out;
  };
  return new BShare(x.n, x.bits, shift(x.a), shift(x.b));
}

/**
 * Presence within key groups: for each plane j of `here`, at each row, whether the row's group has
 * a row with here_j set at or before it, where `first` (one plane) marks each group's first row.
 * The scan's flag is first ∨ here_j (one AND round for every plane at once), its value here_j.
 * `window`: as propagateBits. Reveals nothing.
 */
export async function presenceInGroups(p: Party, first: BShare, here: BShare, window = here.n): Promise<BShare> {
  if (first.n !== here.n || first.bits !== 1) throw new RangeError(`presenceInGroups: group starts ${first.n}×${first.bits} for ${here.n} rows`);
  // first ∨ here = first ⊕ here ⊕ first·here.
  const fs = here.bits === 1 ? first : stackPlanes(Array.from({ length: here.bits }, () => first));
  const f = xor(xor(fs, here), await and(p, fs, here));
  return propagateBits(p, f, here, window);
}

/**
 * For each plane j (one scan each): the value v_j of the last row at or before each row whose flag
 * f_j is set, or 0 where there is none. f and v have the same lanes and planes. With `window`, every
 * row's last set flag is promised to be at most window − 1 rows back, and only ⌈log2 window⌉ levels
 * run (the result is then the value of the last set flag within the window).
 */
export async function propagateBits(p: Party, f: BShare, v: BShare, window = f.n): Promise<BShare> {
  if (f.n !== v.n || f.bits !== v.bits) throw new RangeError(`propagateBits: flags ${f.n}×${f.bits} and values ${v.n}×${v.bits} differ`);
  const n = f.n, P = f.bits, span = Math.min(n, window);
  for (let d = 1; d < span; d *= 2) {
    const last = 2 * d >= span;
    // Each row (R) with the row d back (L): f_R·(v_R ⊕ v_L) always, f_L·f_R unless this is the last level.
    const fL = shiftLanes(f, d), vL = shiftLanes(v, d);
    const dv = xor(v, vL);
    const z = await and(p, last ? f : stackPlanes([f, f]), last ? dv : stackPlanes([dv, fL]));
    v = xor(vL, z.planes(0, P));
    if (!last) f = xor(xor(fL, f), z.planes(P, 2 * P));
  }
  return v;
}
