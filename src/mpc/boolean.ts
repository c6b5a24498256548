// Boolean replicated shares over bit-sliced words (Araki et al. CCS 2016, §2 with XOR for +):
// x = x_0 ⊕ x_1 ⊕ x_2, party i holds (x_i, x_{i+1}); 32 lanes per word, one instruction per word.
// XOR and NOT are local; AND costs one round and one bit per lane per party.
import { recvSlices, type PartyId } from '../net/channel.js';
import { wordsFor } from '../ring/bits.js';
import { andLocal, asShared, bytesOf, isShared, sharedWords, uninitWords } from '../ring/ring64.js';
import type { Party } from './party.js';

/** Party i's share of `bits` planes of n lanes: plane k is words [k·W, (k+1)·W), W = ceil(n/32). */
export class BShare {
  constructor(readonly n: number, readonly bits: number, readonly a: Uint32Array, readonly b: Uint32Array) {
    const need = bits * wordsFor(n);
    if (a.length !== need || b.length !== need) throw new RangeError(`BShare(${n} lanes × ${bits} planes) needs ${need} words, got ${a.length}/${b.length}`);
  }
  get words(): number {
    return wordsFor(this.n);
  }
  /** Planes [from, to) as a view. */
  planes(from: number, to: number = from + 1): BShare {
    const W = this.words;
    return new BShare(this.n, to - from, this.a.subarray(from * W, to * W), this.b.subarray(from * W, to * W));
  }
}

const checkShape = (x: BShare, y: BShare, op: string) => {
  if (x.n !== y.n || x.bits !== y.bits) throw new RangeError(`${op}: shapes differ (${x.n}×${x.bits} vs ${y.n}×${y.bits})`);
};

/**
 * x ⊕ y word by word, two words at a time where both start on an 8-byte boundary: V8 keeps
 * BigUint64Array lanes in 64-bit registers, 1.3 against 2.4 ns per 32-bit word at 2^15 words and up.
 */
export function xorWords(x: Uint32Array, y: Uint32Array): Uint32Array {
  const n = x.length;
  const out = new Uint32Array(n);
  let i = 0;
  if (((x.byteOffset | y.byteOffset) & 7) === 0) {
    const h = n >>> 1;
    const a = new BigUint64Array(x.buffer, x.byteOffset, h), b = new BigUint64Array(y.buffer, y.byteOffset, h), o = new BigUint64Array(out.buffer, 0, h);
    for (let k = 0; k < h; k++) o[k] = a[k]! ^ b[k]!;
    i = 2 * h;
  }
  for (; i < n; i++) out[i] = x[i]! ^ y[i]!;
  return out;
}

export function xor(x: BShare, y: BShare): BShare {
  checkShape(x, y, 'xor');
  return new BShare(x.n, x.bits, xorWords(x.a, y.a), xorWords(x.b, y.b));
}

/** A public change f of x's x_0, held as the first half by party 0 and as the second by party 2; the other halves copied. */
function onX0(p: Party, x: BShare, f: (h: Uint32Array) => Uint32Array): BShare {
  if (p.id === 0) return new BShare(x.n, x.bits, f(x.a), x.b.slice());
  if (p.id === 2) return new BShare(x.n, x.bits, x.a.slice(), f(x.b));
  return new BShare(x.n, x.bits, x.a.slice(), x.b.slice());
}

/** x ⊕ c for public words c (same layout): c goes into x_0, held by parties 0 and 2. */
export function xorPublic(p: Party, x: BShare, c: Uint32Array): BShare {
  if (c.length !== x.a.length) throw new RangeError(`xorPublic: ${c.length} words for ${x.a.length}`);
  return onX0(p, x, (h) => xorWords(h, c));
}

/** ¬x: x ⊕ 1 in every lane (x_0 flipped, without a column of ones to XOR). */
export function not(p: Party, x: BShare): BShare {
  return onX0(p, x, (h) => {
    const out = new Uint32Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = ~h[i]!;
    return out;
  });
}

/** Public planes as a sharing (x_0 = c). */
export function fromPublicBits(p: Party, n: number, bits: number, c: Uint32Array): BShare {
  const z = () => new Uint32Array(bits * wordsFor(n));
  return xorPublic(p, new BShare(n, bits, z(), z()), c);
}

/** Planes known to parties j and j+1: x_{j+1} = v, the rest 0. No communication. */
export function fromPairBits(p: Party, j: PartyId, v: Uint32Array | null, n: number, bits: number): BShare {
  const len = bits * wordsFor(n);
  const z = () => new Uint32Array(len);
  if (p.id === j || p.id === (j + 1) % 3) {
    if (!v || v.length !== len) throw new RangeError(`party ${p.id} must supply ${len} words it knows`);
    return p.id === j ? new BShare(n, bits, z(), v) : new BShare(n, bits, v, z());
  }
  return new BShare(n, bits, z(), z());
}

/** Party `owner` inputs planes (one message to its successor, as arith.input). */
export async function inputBits(p: Party, owner: PartyId, v: Uint32Array | null, n: number, bits: number): Promise<BShare> {
  const len = bits * wordsFor(n);
  if (p.id === owner) {
    if (!v || v.length !== len) throw new RangeError(`inputBits owner must supply ${len} words`);
    const mine = p.prgPrev.words(len);
    const theirs = xorWords(v, mine);
    p.net.send(p.next, bytesOf(theirs));
    return new BShare(n, bits, mine, theirs);
  }
  if (p.id === (owner + 1) % 3) {
    const got = await recvWords(p, owner, len, 'inputBits');
    return new BShare(n, bits, got, new Uint32Array(len));
  }
  return new BShare(n, bits, new Uint32Array(len), p.prgNext.words(len));
}

async function recvWords(p: Party, from: PartyId, len: number, what: string): Promise<Uint32Array> {
  const bytes = await p.net.recv(from);
  if (bytes.byteLength !== 4 * len) throw new Error(`${what}: party ${from} sent ${bytes.byteLength} bytes, expected ${4 * len}`);
  return bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, len) : new Uint32Array(bytes.slice().buffer);
}

/** Words from which and() computes its local shares in WebAssembly (ring64 andLocal). */
const AND_KERNEL_WORDS = 256;

/**
 * x ∧ y lane by lane (Araki et al. CCS 2016, §2.2 over GF(2)): z_i = x_i y_i ⊕ x_i y_{i+1} ⊕
 * x_{i+1} y_i ⊕ β_i with a zero sharing β, sent to party i−1. One round.
 */
export async function and(p: Party, x: BShare, y: BShare): Promise<BShare> {
  checkShape(x, y, 'and');
  return andRound(p, x.n, x.bits, (z, off, end) => andWords(x, y, off, end, z, off));
}

/** z[at + k] = the local part of x ∧ y at word from + k, for words [from, to) of x and y. */
function andWords(x: BShare, y: BShare, from: number, to: number, z: Uint32Array, at: number): void {
  const xa = x.a, xb = x.b, ya = y.a, yb = y.b;
  // Short runs in JavaScript (a kernel call's copies cost more than a few words).
  if (to - from >= AND_KERNEL_WORDS) return andLocal(xa.subarray(from, to), xb.subarray(from, to), ya.subarray(from, to), yb.subarray(from, to), z.subarray(at, at + to - from));
  for (let i = from, o = at; i < to; i++, o++) z[o] = (xa[i]! & (ya[i]! ^ yb[i]!)) ^ (xb[i]! & ya[i]!);
}

/**
 * x_i ∧ y_j for every plane i of x and j of y, as plane i·|y| + j: the ANDs of and() on all pairs
 * of planes (one round, same messages), without copying the pairs first. With `into`, the peer's
 * half of the result (|x|·|y| planes of x's words) is received into it.
 */
export async function andOuter(p: Party, x: BShare, y: BShare, into?: Uint32Array): Promise<BShare> {
  if (x.n !== y.n) throw new RangeError(`andOuter: lane counts differ (${x.n} vs ${y.n})`);
  const W = wordsFor(x.n), Y = y.bits;
  const xa = x.a, xb = x.b, ya = y.a, yb = y.b;
  const local = (z: Uint32Array, off: number, end: number) => {
    for (let i = off; i < end; ) {
      const q = Math.floor(i / W), stop = Math.min(end, (q + 1) * W);
      const xo = (Math.floor(q / Y) - q) * W, yo = ((q % Y) - q) * W; // word i of plane q ↔ x word xo + i, y word yo + i
      if (stop - i >= AND_KERNEL_WORDS) {
        andLocal(xa.subarray(xo + i, xo + stop), xb.subarray(xo + i, xo + stop), ya.subarray(yo + i, yo + stop), yb.subarray(yo + i, yo + stop), z.subarray(i, stop));
        i = stop;
      }
      for (; i < stop; i++) z[i] = (xa[xo + i]! & (ya[yo + i]! ^ yb[yo + i]!)) ^ (xb[xo + i]! & ya[yo + i]!);
    }
  };
  return andRound(p, x.n, x.bits * Y, local, undefined, into);
}

/**
 * The round of an AND whose local products z_i = x_i y_i ⊕ x_i y_{i+1} ⊕ x_{i+1} y_i (as and()
 * computes them) the caller wrote into z itself, fused with its own local work: z is masked, sent
 * and must not be touched afterwards. Returns x ∧ y (z and the successor's part).
 */
export function andFinish(p: Party, n: number, bits: number, z: Uint32Array): Promise<BShare> {
  return andRound(p, n, bits, () => {}, z);
}

/**
 * One AND round: local shares of `bits` planes of n lanes from `local` (words [off, end)), masked
 * and exchanged; the peer's part lands in `into` when given.
 */
async function andRound(p: Party, n: number, bits: number, local: (z: Uint32Array, off: number, end: number) => void, z?: Uint32Array, into?: Uint32Array): Promise<BShare> {
  const len = bits * wordsFor(n);
  if ((z && z.length !== len) || (into && into.length !== len)) throw new RangeError(`and: ${z?.length ?? len}${into ? ` and ${into.length}` : ''} words for ${bits} planes of ${n} lanes`);
  if (p.cores && len >= p.cores.minLanes) {
    // The local products here; their masking, encryption and exchange split among the workers.
    const zs = z ? asShared(z) : sharedWords(len);
    local(zs, 0, len);
    const got = into && isShared(into) ? into : sharedWords(len);
    await p.cores.exchangeWords(zs, got);
    if (into && got !== into) into.set(got);
    return new BShare(n, bits, zs, into ?? got);
  }
  z ??= new Uint32Array(len);
  if (len <= STREAM_WORDS) {
    local(z, 0, len);
    p.maskWords(z);
    p.net.send(p.prev, bytesOf(z)); // always one frame, even for an empty layer
    const got = await recvWords(p, p.next, len, 'and');
    return new BShare(n, bits, z, into ? (into.set(got), into) : got);
  }
  // Large layers go out in slices as soon as each is computed (still one round), so local work,
  // encryption and the peers' work overlap. The receives are posted first, so the channel can
  // decode the peer's slices straight into place (a slice already arrived is copied and released).
  const got = into ?? uninitWords(len); // written whole below
  const received = recvSlices(p.net, p.next, bytesOf(got), STREAM_WORDS * 4, (bytes, want) => new Error(`and: party ${p.next} sent ${bytes} bytes, expected ${want}`));
  for (let off = 0; off < len; off += STREAM_WORDS) {
    const end = Math.min(len, off + STREAM_WORDS);
    local(z, off, end);
    const slice = z.subarray(off, end);
    p.maskWords(slice);
    p.net.send(p.prev, bytesOf(slice));
  }
  await received;
  return new BShare(n, bits, z, got);
}

/** Words per slice when an AND layer is streamed (4 MiB frames, as arith.STREAM_LANES). */
const STREAM_WORDS = 1 << 20;

/**
 * The exchange of an AND round whose local products are in z (a core worker's part of one, see
 * Party.cores): z masked and sent to the predecessor, the successor's part received into `into`.
 * Run on a party without a pool. Reveals nothing (z is masked by the zero sharing).
 */
export async function andExchange(p: Party, z: Uint32Array, into: Uint32Array): Promise<void> {
  await andRound(p, z.length * 32, 1, () => {}, z, into);
}

/** Several independent ANDs in one round (any shapes). */
export async function andMany(p: Party, pairs: [BShare, BShare][]): Promise<BShare[]> {
  if (pairs.length === 1) return [await and(p, pairs[0]![0], pairs[0]![1])];
  pairs.forEach(([x, y]) => checkShape(x, y, 'andMany'));
  // The pairs' words back to back, each pair's local products written in place (no copies of the operands).
  const starts: number[] = [];
  let total = 0;
  for (const [x] of pairs) {
    starts.push(total);
    total += x.a.length;
  }
  const Z = await andRound(p, total * 32, 1, (z, off, end) => {
    for (let k = 0; k < pairs.length; k++) {
      const s = starts[k]!, from = Math.max(off, s), to = Math.min(end, s + pairs[k]![0].a.length);
      if (from < to) andWords(pairs[k]![0], pairs[k]![1], from - s, to - s, z, from);
    }
  });
  const out: BShare[] = [];
  let off = 0;
  for (const [x] of pairs) {
    const len = x.a.length;
    out.push(new BShare(x.n, x.bits, Z.a.subarray(off, off + len), Z.b.subarray(off, off + len)));
    off += len;
  }
  return out;
}

export async function or(p: Party, x: BShare, y: BShare): Promise<BShare> {
  return xor(xor(x, y), await and(p, x, y));
}

/** Stacks shares of equal lane count plane-wise (one BShare with the planes of each in order). */
export function stackPlanes(xs: BShare[]): BShare {
  const n = xs[0]!.n;
  for (const x of xs) if (x.n !== n) throw new RangeError('stackPlanes: lane counts differ');
  const bits = xs.reduce((s, x) => s + x.bits, 0);
  const a = new Uint32Array(bits * wordsFor(n));
  const b = new Uint32Array(bits * wordsFor(n));
  let off = 0;
  for (const x of xs) {
    a.set(x.a, off);
    b.set(x.b, off);
    off += x.a.length;
  }
  return new BShare(n, bits, a, b);
}

/** Reveals the planes to all (or to one party); returns the plaintext words or null. */
export async function revealBits(p: Party, x: BShare, to: PartyId | 'all' = 'all'): Promise<Uint32Array | null> {
  if (to === 'all' || p.next === to) p.net.send(p.next, bytesOf(x.a));
  if (to !== 'all' && p.id !== to) return null;
  const missing = await recvWords(p, p.prev, x.a.length, 'revealBits');
  const out = new Uint32Array(x.a.length);
  for (let i = 0; i < out.length; i++) out[i] = x.a[i]! ^ x.b[i]! ^ missing[i]!;
  return out;
}

/** AND of all planes of x, lane by lane, as one plane (log-depth tree; one round per level). */
export async function andAllPlanes(p: Party, x: BShare): Promise<BShare> {
  let cur = x;
  while (cur.bits > 1) {
    const half = cur.bits >>> 1;
    const low = cur.planes(0, half);
    const high = cur.planes(half, 2 * half);
    const z = await and(p, low, high);
    cur = cur.bits % 2 ? stackPlanes([z, cur.planes(2 * half)]) : z;
  }
  return cur;
}
