// Boolean → arithmetic for values of a few bits: each group of planes (bits 0, 1, … of a value) to
// one arithmetic share per lane, Σ_j 2^j·x_j, without injecting every bit on its own.
//
// In the line of ABY3's bit injection (Mohassel–Rindal, CCS 2018, §5.4.1: P0 the sender, P1 the
// receiver, P2 the helper, masks from the seed P0 and P2 share). With x_j = e_j ⊕ s_j, e = x_0 ⊕ x_1
// known to party 0 and s = x_2 known to parties 1 and 2:
//   Σ w_j x_j = Σ w_j e_j + Σ w_j s_j − 2·Σ w_j e_j s_j,
// and the last sum is split between parties 1 and 2 by one message from party 0: party 0 sends party
// 1 m_j = w_j e_j − r_j, r_j drawn from the stream party 0 shares with party 2; party 1 adds m_j
// where s_j = 1, party 2 adds r_j where s_j = 1. The three parties' additive terms (Σ w e at 0,
// Σ s_j (w_j − 2 m_j) at 1, −2 Σ r_j s_j at 2) become a replicated sharing by one resharing under a
// zero-sharing, as a product's terms do. Two rounds; party 0 sends one ring element per bit and
// lane, every party one per value and lane (convert.ts bitInject: two per bit from party 0 and one
// per bit from the others, then a local weighting).
// Reveals nothing: m_j is masked by a stream party 1 does not hold, the resharing by a zero-sharing.
import { wordsFor } from '../ring/bits.js';
import * as R from '../ring/ring64.js';
import { AShare, recvStreamed, recvWhole, STREAM_LANES } from './arith.js';
import type { BShare } from './boolean.js';
import type { Party } from './party.js';

/**
 * For each group (its number of planes, consecutive planes of `b` from the first), the value
 * Σ_j 2^j·b_j (j = the plane's place in its group, 0 ≤ j < 64) of every lane, as arithmetic shares.
 * A group of 0 planes is 0. See the module comment.
 */
export async function bitsToValues(p: Party, b: BShare, groups: number[]): Promise<AShare[]> {
  const n = b.n;
  const all = await bitsToValuesFlat(p, b, groups);
  return groups.map((_, g) => all.slice(g * n, (g + 1) * n));
}

/** bitsToValues as one column of groups.length · n lanes, group-major (lane g·n + j: group g of lane j). */
export async function bitsToValuesFlat(p: Party, b: BShare, groups: number[]): Promise<AShare> {
  const n = b.n, k = b.bits, G = groups.length;
  if (groups.reduce((s, g) => s + g, 0) !== k || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 64)) throw new RangeError(`bitsToValues: groups of ${groups.join(', ')} planes for ${k}`);
  // Per plane: its group and the weight's 32-bit halves.
  const group = new Uint32Array(k), wLo = new Uint32Array(k), wHi = new Uint32Array(k);
  for (let g = 0, q = 0; g < G; g++) for (let j = 0; j < groups[g]!; j++, q++) (group[q] = g, wLo[q] = j < 32 ? 2 ** j : 0, wHi[q] = j >= 32 ? 2 ** (j - 32) : 0);
  // This party's additive term of every value (32-bit halves of G·n ring elements).
  const t = new BigUint64Array(G * n);
  const t32 = new Uint32Array(t.buffer);
  if (p.id === 0) {
    // e = x_0 ⊕ x_1; m = w·e − r with r from the stream shared with party 2 (its prgNext).
    const m = p.prgPrev.ring(k * n);
    senderTerms(new Uint32Array(m.buffer, m.byteOffset, 2 * k * n), t32, b.a, b.b, n, group, wLo, wHi);
    p.net.send(p.next, R.bytesOf(m));
  } else if (p.id === 1) {
    // s = x_2 (its second half): Σ s_j (w_j − 2 m_j).
    const m = await recvWhole(p, 0, k * n, 'bitsToValues');
    maskedTerms(new Uint32Array(m.buffer, m.byteOffset, 2 * k * n), t32, b.b, n, group, wLo, wHi, true);
  } else {
    // s = x_2 (its first half), r as party 0 drew it: −2 Σ r_j s_j.
    const r = p.prgNext.ring(k * n);
    maskedTerms(new Uint32Array(r.buffer, r.byteOffset, 2 * k * n), t32, b.a, n, group, wLo, wHi, false);
  }
  // The terms reshared under a zero-sharing (Party.zeroShare), as a product's: long columns go in
  // STREAM_LANES slices (arith.ts mul), decoded straight into place.
  const total = G * n;
  const got = total > STREAM_LANES ? recvStreamed(p, p.next, total, 'bitsToValues') : null;
  for (let off = 0; off < total; off += STREAM_LANES) {
    const end = Math.min(total, off + STREAM_LANES);
    const z = t.subarray(off, end);
    R.add(z, p.zeroShare(end - off), z);
    if (got) p.net.send(p.prev, R.bytesOf(z));
  }
  if (got) return new AShare(t, await got);
  p.net.send(p.prev, R.bytesOf(t));
  return new AShare(t, await recvWhole(p, p.next, total, 'bitsToValues'));
}

/**
 * Party 0's part, plane by plane (k = group.length planes of the words of n lanes in x ⊕ y): the
 * stream's r in m becomes m = w·e − r, and t (its additive term per group and lane) gains w·e.
 * Plain loops in a function of their own, so that V8 compiles them at once (not inside the caller).
 */
function senderTerms(m32: Uint32Array, t32: Uint32Array, x: Uint32Array, y: Uint32Array, n: number, group: Uint32Array, wLo: Uint32Array, wHi: Uint32Array): void {
  const W = wordsFor(n);
  for (let q = 0; q < group.length; q++) {
    const lo = wLo[q]!, hi = wHi[q]!, tg = 2 * group[q]! * n, mq = 2 * q * n;
    for (let w = 0; w < W; w++) {
      const word = (x[q * W + w]! ^ y[q * W + w]!) >>> 0;
      const end = Math.min(32, n - 32 * w);
      for (let i = 0; i < end; i++) {
        const j = 32 * w + i;
        negate(m32, mq + 2 * j);
        if ((word >>> i) & 1) {
          addTo(m32, mq + 2 * j, lo, hi);
          addTo(t32, tg + 2 * j, lo, hi);
        }
      }
    }
  }
}

/**
 * Party 1's part (`withWeight`: t += s·(w − 2m), m from party 0) or party 2's (t −= 2·s·r, r from the
 * stream shared with party 0), s the plane bits in x.
 */
function maskedTerms(v32: Uint32Array, t32: Uint32Array, x: Uint32Array, n: number, group: Uint32Array, wLo: Uint32Array, wHi: Uint32Array, withWeight: boolean): void {
  const W = wordsFor(n);
  for (let q = 0; q < group.length; q++) {
    const lo = wLo[q]!, hi = wHi[q]!, tg = 2 * group[q]! * n, vq = 2 * q * n;
    for (let w = 0; w < W; w++) {
      let word = x[q * W + w]!;
      if (32 * w + 32 > n) word &= n - 32 * w === 32 ? 0xffffffff : (1 << (n - 32 * w)) - 1;
      while (word !== 0) {
        const i = 31 - Math.clz32(word & -word);
        word &= word - 1;
        const at = tg + 2 * (32 * w + i), vi = vq + 2 * (32 * w + i);
        if (withWeight) addTo(t32, at, lo, hi);
        subFrom(t32, at, v32[vi]!, v32[vi + 1]!);
        subFrom(t32, at, v32[vi]!, v32[vi + 1]!);
      }
    }
  }
}

/** h[at..at+1] (a ring element's 32-bit halves) += (lo, hi), mod 2^64. */
function addTo(h: Uint32Array, at: number, lo: number, hi: number): void {
  const s = h[at]! + lo;
  h[at] = s >>> 0;
  h[at + 1] = (h[at + 1]! + hi + (s > 0xffffffff ? 1 : 0)) >>> 0;
}

/** h[at..at+1] −= (lo, hi), mod 2^64. */
function subFrom(h: Uint32Array, at: number, lo: number, hi: number): void {
  const d = h[at]! - lo;
  h[at] = d >>> 0;
  h[at + 1] = (h[at + 1]! - hi - (d < 0 ? 1 : 0)) >>> 0;
}

/** h[at..at+1] = −h[at..at+1], mod 2^64. */
function negate(h: Uint32Array, at: number): void {
  const lo = h[at]!, hi = h[at + 1]!;
  h[at] = (0x100000000 - lo) >>> 0;
  h[at + 1] = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
}
