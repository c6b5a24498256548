// Comparisons and selection on shared columns. Results are boolean shares (one plane); turn them
// into arithmetic 0/1 with bitInject (convert.ts) to count or to multiply.
//
// lt: the sign of x − y from a carry circuit on its two-term split (ABY3 §5.3; Mohassel–Rindal
// CCS 2018), exact over the full signed 64-bit range; with `bits` declared (inputs known to be
// signed `bits`-bit integers) the circuit shrinks to bits+1 planes. eq: x − y = 0 ⇔ a = −b for the
// two terms, i.e. all bits of a ⊕ (−b) are zero (an AND tree, no adder). Reveals nothing.
import { AShare, add, addPublic, fromPublic, mul, sub, subFromPublic } from './arith.js';
import { and, andAllPlanes, BShare, not, xor, xorPublic } from './boolean.js';
import { bitInject, msb, twoTermBits } from './convert.js';
import type { Party } from './party.js';
import { wordsFor } from '../ring/bits.js';

export interface CompareOptions {
  /** Both inputs are signed integers of this many bits (1..63); default 64 = any value. */
  bits?: number;
}

type Operand = AShare | bigint;

function difference(p: Party, x: Operand, y: Operand): AShare {
  if (typeof x === 'bigint' && typeof y === 'bigint') throw new TypeError('compare: at least one operand must be shared');
  if (typeof x === 'bigint') return subFromPublic(p, x, y as AShare);
  if (typeof y === 'bigint') return addPublic(p, x, -y);
  return sub(x, y);
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 64) throw new RangeError(`compare: bits must be an integer in 1..64, got ${bits}`);
}

/** Shared column from an operand and a length (public constants are broadcast). */
function asShare(p: Party, v: Operand, n: number): AShare {
  if (typeof v !== 'bigint') return v;
  return fromPublic(p, new BigUint64Array(n).fill(BigInt.asUintN(64, v)));
}

function lengthOf(x: Operand, y: Operand): number {
  if (typeof x !== 'bigint' && typeof y !== 'bigint' && x.length !== y.length) throw new RangeError(`compare: lengths differ (${x.length} vs ${y.length})`);
  return typeof x !== 'bigint' ? x.length : (y as AShare).length;
}

/** [x < y] lane by lane, signed. */
export async function lt(p: Party, x: Operand, y: Operand, opts: CompareOptions = {}): Promise<BShare> {
  const bits = opts.bits ?? 64;
  checkBits(bits);
  const n = lengthOf(x, y);
  const d = difference(p, x, y);
  // Signed `bits`-bit inputs: x − y fits in bits+1 signed bits, so its sign is bit `bits` of d.
  if (bits < 64) return msb(p, d, bits + 1);
  // Full range: x − y may overflow. x < y ⇔ d63 ⊕ [(x63 ⊕ y63) ∧ (d63 ⊕ x63)] (overflow iff the
  // operands' signs differ and d's sign differs from x's). All sign bits in one batched circuit.
  const shared = [d, ...[x, y].filter((v): v is AShare => typeof v !== 'bigint')];
  const signs = await msb(p, concat(shared), 64);
  const part = (k: number) => sliceLanes(signs, k * n, n);
  const d63 = part(0);
  const sx = typeof x === 'bigint' ? publicBit(p, n, x < 0n) : part(1);
  const sy = typeof y === 'bigint' ? publicBit(p, n, y < 0n) : part(typeof x === 'bigint' ? 1 : 2);
  return xor(d63, await and(p, xor(sx, sy), xor(d63, sx)));
}

export async function gt(p: Party, x: Operand, y: Operand, opts: CompareOptions = {}): Promise<BShare> {
  return lt(p, y, x, opts);
}
export async function le(p: Party, x: Operand, y: Operand, opts: CompareOptions = {}): Promise<BShare> {
  return not(p, await lt(p, y, x, opts));
}
export async function ge(p: Party, x: Operand, y: Operand, opts: CompareOptions = {}): Promise<BShare> {
  return not(p, await lt(p, x, y, opts));
}

/** [x = y] lane by lane. With `bits`, only bits+1 planes are compared (|x − y| < 2^bits). */
export async function eq(p: Party, x: Operand, y: Operand, opts: CompareOptions = {}): Promise<BShare> {
  const bits = opts.bits ?? 64;
  checkBits(bits);
  const width = Math.min(64, bits + 1);
  const d = difference(p, x, y);
  const [A, NB] = await twoTermBits(p, d, width, true);
  return andAllPlanes(p, not(p, xor(A, NB)));
}
export async function ne(p: Party, x: Operand, y: Operand, opts: CompareOptions = {}): Promise<BShare> {
  return not(p, await eq(p, x, y, opts));
}

/** c ? x : y lane by lane, for a one-plane condition c: y + [c]·(x − y). Three rounds. */
export async function select(p: Party, c: BShare, x: Operand, y: Operand): Promise<AShare> {
  if (c.bits !== 1) throw new RangeError(`select: condition must be one plane, got ${c.bits}`);
  const n = c.n;
  const xs = asShare(p, x, n), ys = asShare(p, y, n);
  if (xs.length !== n || ys.length !== n) throw new RangeError(`select: ${n} conditions for ${xs.length}/${ys.length} values`);
  const cA = await bitInject(p, c);
  const t = await mul(p, cA, sub(xs, ys));
  return add(ys, t);
}

function concat(xs: AShare[]): AShare {
  const n = xs.reduce((s, x) => s + x.length, 0);
  const a = new BigUint64Array(n), b = new BigUint64Array(n);
  let off = 0;
  for (const x of xs) {
    a.set(x.a, off);
    b.set(x.b, off);
    off += x.length;
  }
  return new AShare(a, b);
}

/** Lanes [start, start+n) of a one-plane share, re-packed to start at lane 0. */
function sliceLanes(x: BShare, start: number, n: number): BShare {
  return new BShare(n, 1, shiftPlane(x.a, start, n), shiftPlane(x.b, start, n));
}
function shiftPlane(w: Uint32Array, start: number, n: number): Uint32Array {
  const W = wordsFor(n);
  const out = new Uint32Array(W);
  const q = start >>> 5, r = start & 31;
  if (r === 0) out.set(w.subarray(q, q + W));
  else for (let i = 0; i < W; i++) out[i] = (w[q + i]! >>> r) | ((w[q + i + 1] ?? 0) << (32 - r));
  return out;
}

/** The public bit `value` in every lane of n, as a sharing (pad lanes too). */
export function publicBit(p: Party, n: number, value: boolean): BShare {
  const W = wordsFor(n);
  const zero = new BShare(n, 1, new Uint32Array(W), new Uint32Array(W));
  return value ? xorPublic(p, zero, new Uint32Array(W).fill(0xffffffff)) : zero;
}
