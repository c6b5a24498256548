// Bit-sliced words: a column of n values becomes `bits` planes of ceil(n/32) words, plane k holding
// bit k of 32 consecutive lanes per word. Boolean circuits then run one instruction per 32 lanes.
import { planesOf, type Col } from './ring64.js';

/** Words per plane for n lanes. */
export const wordsFor = (n: number): number => (n + 31) >>> 5;

/** The lanes of n's last word that are lanes (low n mod 32 bits; all 32 when n is a multiple of 32), unsigned. */
export const lastWordLanes = (n: number): number => (n & 31 ? ((1 << (n & 31)) - 1) >>> 0 : 0xffffffff);

/**
 * In-place transpose of a 32×32 bit matrix: afterwards bit i of m[k] is what bit k of m[i] was.
 * (Warren, Hacker's Delight 2nd ed. §7-3, recursive block swap; LSB-first indexing.)
 */
export function transpose32(m: Uint32Array, base = 0): void {
  let mask = 0x0000ffff;
  for (let j = 16; j !== 0; j >>>= 1, mask = (mask ^ (mask << j)) >>> 0) {
    for (let k = 0; k < 32; k = ((k | j) + 1) & ~j) {
      const t = ((m[base + k]! >>> j) ^ m[base + (k | j)]!) & mask;
      m[base + (k | j)]! ^= t;
      m[base + k]! ^= t << j;
    }
  }
}

/** Planes 0..bits−1 of a column (two's complement), plane-major (a WebAssembly kernel: ring64.ts planesOf). */
export function toPlanes(x: Col, bits: number): Uint32Array {
  return planesOf(x, bits);
}

/** Inverse of toPlanes: lanes from `bits` planes (higher bits zero, no sign extension). */
export function fromPlanes(planes: Uint32Array, n: number, bits: number): Col {
  const W = wordsFor(n);
  if (planes.length < bits * W) throw new RangeError(`need ${bits * W} words, got ${planes.length}`);
  const out = new BigUint64Array(n);
  const v = new Uint32Array(out.buffer);
  const lo = new Uint32Array(32);
  const hi = new Uint32Array(32);
  for (let w = 0; w < W; w++) {
    lo.fill(0);
    hi.fill(0);
    for (let k = 0; k < Math.min(bits, 32); k++) lo[k] = planes[k * W + w]!;
    for (let k = 32; k < bits; k++) hi[k - 32] = planes[k * W + w]!;
    transpose32(lo);
    if (bits > 32) transpose32(hi);
    const base = w * 32;
    const cnt = Math.min(32, n - base);
    for (let i = 0; i < cnt; i++) {
      v[2 * (base + i)] = lo[i]!;
      v[2 * (base + i) + 1] = hi[i]!;
    }
  }
  return out;
}

/** Lanes of one plane as 0/1 ring elements (for bit injection). */
export function planeToCol(plane: Uint32Array, n: number, out: Col = new BigUint64Array(n)): Col {
  const v = new Uint32Array(out.buffer, out.byteOffset, 2 * n);
  for (let j = 0; j < n; j++) {
    v[2 * j] = (plane[j >>> 5]! >>> (j & 31)) & 1;
    v[2 * j + 1] = 0;
  }
  return out;
}

/** Bit j of a plane. */
export const bitAt = (plane: Uint32Array, j: number): number => (plane[j >>> 5]! >>> (j & 31)) & 1;

/** A plane from 0/1 values. */
export function packBits(bits: ArrayLike<number | boolean>): Uint32Array {
  const out = new Uint32Array(wordsFor(bits.length));
  for (let j = 0; j < bits.length; j++) if (bits[j]) out[j >>> 5]! |= 1 << (j & 31);
  return out;
}
/** 0/1 values of the first n lanes of a plane. */
export function unpackBits(plane: Uint32Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let j = 0; j < n; j++) out[j] = bitAt(plane, j);
  return out;
}
