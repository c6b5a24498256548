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
import { AShare, recvStreamed, STREAM_LANES } from './arith.js';
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
  const n = b.n, W = wordsFor(n), k = b.bits, G = groups.length;
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
    const m32 = new Uint32Array(m.buffer, m.byteOffset, 2 * k * n);
    for (let q = 0; q < k; q++) eachLane(b.a, b.b, q * W, n, (j, e) => {
      const at = 2 * (q * n + j);
      negate(m32, at);
      if (e) (addTo(m32, at, wLo[q]!, wHi[q]!), addTo(t32, 2 * (group[q]! * n + j), wLo[q]!, wHi[q]!));
    });
    p.net.send(p.next, R.bytesOf(m));
  } else if (p.id === 1) {
    // s = x_2 (its second half): Σ s_j (w_j − 2 m_j).
    const m = R.colOf(await p.net.recv(0));
    if (m.length !== k * n) throw new Error(`bitsToValues: got ${m.length} values from party 0, expected ${k * n}`);
    const m32 = new Uint32Array(m.buffer, m.byteOffset, 2 * k * n);
    for (let q = 0; q < k; q++) eachLane(b.b, null, q * W, n, (j, s) => {
      if (!s) return;
      const at = 2 * (group[q]! * n + j), mi = 2 * (q * n + j);
      addTo(t32, at, wLo[q]!, wHi[q]!);
      subFrom(t32, at, m32[mi]!, m32[mi + 1]!);
      subFrom(t32, at, m32[mi]!, m32[mi + 1]!);
    });
  } else {
    // s = x_2 (its first half), r as party 0 drew it: −2 Σ r_j s_j.
    const r = p.prgNext.ring(k * n);
    const r32 = new Uint32Array(r.buffer, r.byteOffset, 2 * k * n);
    for (let q = 0; q < k; q++) eachLane(b.a, null, q * W, n, (j, s) => {
      if (!s) return;
      const at = 2 * (group[q]! * n + j), ri = 2 * (q * n + j);
      subFrom(t32, at, r32[ri]!, r32[ri + 1]!);
      subFrom(t32, at, r32[ri]!, r32[ri + 1]!);
    });
  }
  // The terms reshared under a zero-sharing (each party's next stream minus its previous one), as
  // a product's: z_i to party i − 1, z_{i+1} from party i + 1.
  // Long columns go in STREAM_LANES slices, as a product's (arith.ts mul), decoded straight into place.
  const total = G * n;
  const got = total > STREAM_LANES ? recvStreamed(p, p.next, total, 'bitsToValues') : null;
  for (let off = 0; off < total; off += STREAM_LANES) {
    const end = Math.min(total, off + STREAM_LANES);
    const z = t.subarray(off, end);
    R.add(z, p.prgNext.ring(end - off), z);
    R.sub(z, p.prgPrev.ring(end - off), z);
    if (got) p.net.send(p.prev, R.bytesOf(z));
  }
  if (got) return new AShare(t, await got);
  p.net.send(p.prev, R.bytesOf(t));
  const whole = R.colOf(await p.net.recv(p.next));
  if (whole.length !== total) throw new Error(`bitsToValues: got ${whole.length} values from party ${p.next}, expected ${total}`);
  return new AShare(t, whole);
}

/** Calls f(lane, bit) for the n lanes of the plane at word `from` of x (⊕ y when given). */
function eachLane(x: Uint32Array, y: Uint32Array | null, from: number, n: number, f: (j: number, bit: number) => void): void {
  for (let w = 0, j = 0; j < n; w++) {
    const word = y ? (x[from + w]! ^ y[from + w]!) >>> 0 : x[from + w]!;
    const end = Math.min(n, j + 32);
    for (let i = 0; j < end; i++, j++) f(j, (word >>> i) & 1);
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
