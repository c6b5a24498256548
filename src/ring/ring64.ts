// Arithmetic on whole columns of Z_2^64 (BigUint64Array), the ring every arithmetic share lives in,
// and the transposition of a column into bit planes (planesOf, behind bits.ts toPlanes).
//
// The multiplying kernels run in WebAssembly (i64.mul is one instruction; the same loop written on
// 32-bit halves with Math.imul measured ~7x slower on this machine, see bench/RESULTS.md). Columns
// stay in ordinary typed arrays owned by the JS heap; each call copies them through a fixed scratch
// area of the module's memory in chunks, so there is no allocator to manage and memory never grows.
import { readFileSync } from 'node:fs';

/** A column of ring elements. Signed values are stored in two's complement. */
export type Col = BigUint64Array;

interface Kernels {
  mem: WebAssembly.Memory;
  add(a: number, b: number, o: number, n: number): void;
  sub(a: number, b: number, o: number, n: number): void;
  mul(a: number, b: number, o: number, n: number): void;
  neg(a: number, o: number, n: number): void;
  addc(a: number, c: bigint, o: number, n: number): void;
  mulc(a: number, c: bigint, o: number, n: number): void;
  shrs(a: number, c: bigint, o: number, n: number): void;
  shru(a: number, c: bigint, o: number, n: number): void;
  rssmul(x0: number, x1: number, y0: number, y1: number, r: number, o: number, n: number): void;
  rssmulz(x0: number, x1: number, y0: number, y1: number, r: number, s: number, o: number, n: number): void;
  xorlift(a: number, b: number, c: number, o: number, n: number): void;
  sum(a: number, n: number): bigint;
  rssdot(x0: number, x1: number, y0: number, y1: number, n: number): bigint;
  rssdotsum(x0: number, x1: number, y0: number, y1: number, o: number, n: number): bigint;
  rsssq(x0: number, x1: number, n: number): bigint;
  rsssqsum(x0: number, x1: number, o: number, n: number): bigint;
  planes(x: number, o: number, groups: number, bytes: number, stride: number): void;
  ripple(ca: number, cb: number, ta: number, tb: number, aa: number, ab: number, ba: number, bb: number, z: number, n: number): void;
  andl(xa: number, xb: number, ya: number, yb: number, z: number, n: number): void;
  search(gap: number, less: number, has: number, sh: number, sa: number, sb: number, ya: number, yb: number, n: number): void;
  ripplesum(ca: number, cb: number, ta: number, tb: number, aa: number, ab: number, ba: number, bb: number, sa: number, sb: number, z: number, n: number): void;
}

const K = new WebAssembly.Instance(
  new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url))),
).exports as unknown as Kernels;
const MEM = new BigUint64Array(K.mem.buffer);
const MEM8 = new Uint8Array(K.mem.buffer);
const MEM32 = new Uint32Array(K.mem.buffer);
/** Lanes per chunk; 7 scratch slots of this size fit in the module's 4 MiB memory. */
const CHUNK = 1 << 13;
const slot = (i: number): number => i * CHUNK * 8;
const slotLane = (i: number): number => i * CHUNK;

export const MASK64 = (1n << 64n) - 1n;

/** Runs `kernel` over columns `ins` (plus an optional output) chunk by chunk. */
function lanes(ins: Col[], out: Col | null, kernel: (n: number) => void): void {
  const n = ins[0]!.length;
  for (const c of ins) if (c.length !== n) throw new RangeError(`column lengths differ: ${c.length} vs ${n}`);
  if (out && out.length !== n) throw new RangeError(`output length ${out.length} vs ${n}`);
  for (let off = 0; off < n; off += CHUNK) {
    const len = Math.min(CHUNK, n - off);
    for (let k = 0; k < ins.length; k++) MEM.set(ins[k]!.subarray(off, off + len), slotLane(k));
    kernel(len);
    if (out) out.set(MEM.subarray(slotLane(6), slotLane(6) + len), off);
  }
}

/**
 * A column whose every lane the caller overwrites before reading: taken from the allocator without
 * zero-filling (kernel outputs, received columns). Never hand one out before it is written.
 * Every output below is written whole.
 */
export function uninit(n: number): Col {
  return n === 0 ? new BigUint64Array(0) : new BigUint64Array(Buffer.allocUnsafeSlow(n * 8).buffer, 0, n);
}
/** uninit for 32-bit words (bit planes): every word must be written before it is read. */
export function uninitWords(n: number): Uint32Array {
  return n === 0 ? new Uint32Array(0) : new Uint32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
}
/** A column in a SharedArrayBuffer of its own (zeroed), which worker threads read and write in place (src/mpc/core-pool.ts). */
export function sharedCol(n: number): Col {
  return new BigUint64Array(new SharedArrayBuffer(n * 8));
}
/** Words in a SharedArrayBuffer of their own (zeroed), as sharedCol. */
export function sharedWords(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(n * 4));
}
/** Whether a column or words live in shared memory. */
export function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}
/** `v` itself when it lives in shared memory, else a shared copy of it (sharedCol / sharedWords). */
export function asShared<T extends Col | Uint32Array>(v: T): T {
  if (isShared(v)) return v;
  const s = v instanceof BigUint64Array ? sharedCol(v.length) : sharedWords(v.length);
  s.set(v as never);
  return s as T;
}
const alloc = uninit;
const OUT = slot(6);

export function add(a: Col, b: Col, out: Col = alloc(a.length)): Col {
  lanes([a, b], out, (n) => K.add(slot(0), slot(1), OUT, n));
  return out;
}
export function sub(a: Col, b: Col, out: Col = alloc(a.length)): Col {
  lanes([a, b], out, (n) => K.sub(slot(0), slot(1), OUT, n));
  return out;
}
export function mul(a: Col, b: Col, out: Col = alloc(a.length)): Col {
  lanes([a, b], out, (n) => K.mul(slot(0), slot(1), OUT, n));
  return out;
}
export function neg(a: Col, out: Col = alloc(a.length)): Col {
  lanes([a], out, (n) => K.neg(slot(0), OUT, n));
  return out;
}
/** a + c for a public constant c (any bigint; reduced mod 2^64). */
export function addConst(a: Col, c: bigint, out: Col = alloc(a.length)): Col {
  const cc = BigInt.asIntN(64, c);
  lanes([a], out, (n) => K.addc(slot(0), cc, OUT, n));
  return out;
}
export function mulConst(a: Col, c: bigint, out: Col = alloc(a.length)): Col {
  const cc = BigInt.asIntN(64, c);
  lanes([a], out, (n) => K.mulc(slot(0), cc, OUT, n));
  return out;
}
/** Arithmetic (sign-extending) shift right by k bits, 0 <= k < 64. */
export function shiftRightSigned(a: Col, k: number, out: Col = alloc(a.length)): Col {
  lanes([a], out, (n) => K.shrs(slot(0), BigInt(k), OUT, n));
  return out;
}
/** Logical shift right by k bits, 0 <= k < 64. */
export function shiftRightUnsigned(a: Col, k: number, out: Col = alloc(a.length)): Col {
  lanes([a], out, (n) => K.shru(slot(0), BigInt(k), OUT, n));
  return out;
}
/** a + b − 2c lane by lane (one pass): e + s − 2·e·s is e ⊕ s for bits e, s (bit injection). */
export function xorLift(a: Col, b: Col, c: Col, out: Col = alloc(a.length)): Col {
  lanes([a, b, c], out, (n) => K.xorlift(slot(0), slot(1), slot(2), OUT, n));
  return out;
}
/** x0*(y0+y1) + x1*y0 + r lane by lane: the local step of a replicated-share product. */
export function rssMulLocal(x0: Col, x1: Col, y0: Col, y1: Col, r: Col, out: Col = alloc(x0.length)): Col {
  lanes([x0, x1, y0, y1, r], out, (n) => K.rssmul(slot(0), slot(1), slot(2), slot(3), slot(4), OUT, n));
  return out;
}
/** Byte sources for two random streams (a PRG's `raw`), consumed chunk by chunk. */
export type ByteSource = (len: number) => Uint8Array;

/**
 * x0*(y0+y1) + x1*y0 + r − s lane by lane, with r and s drawn chunk by chunk from two random
 * streams straight into the kernel's scratch memory (no full-column temporaries).
 */
export function rssMulZero(x0: Col, x1: Col, y0: Col, y1: Col, r: ByteSource, s: ByteSource, out: Col = uninit(x0.length)): Col {
  lanes([x0, x1, y0, y1], out, (n) => {
    MEM8.set(r(n * 8), slot(4));
    MEM8.set(s(n * 8), slot(5));
    K.rssmulz(slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), OUT, n);
  });
  return out;
}

/** Σ x0*(y0+y1) + x1*y0 over all lanes, mod 2^64. */
export function rssDotLocal(x0: Col, x1: Col, y0: Col, y1: Col): bigint {
  let acc = 0n;
  // Σ x·x (a sum of squares): rssDotMany copies each half into the module's memory once, not twice.
  if (x0 === y0 && x1 === y1) return rssDotMany([[x0, x1]], [[0, 0]])[0]!;
  lanes([x0, x1, y0, y1], null, (n) => {
    acc += K.rssdot(slot(0), slot(1), slot(2), slot(3), n);
  });
  return BigInt.asUintN(64, acc);
}
/** Lanes per chunk of rssDotMany at most. */
const DOT_CHUNK = 1 << 14;

/**
 * Σ x0*(y0+y1) + x1*y0 for many pairs of columns drawn from a few: each column's two halves are
 * copied into the module's memory once per chunk and every pair read from there (a Gram matrix
 * over m columns costs 2m copies per chunk instead of 4 per pair). cols[i] = [half0, half1].
 * With `sums` (one entry per column), Σ half0 and Σ half1 of every column are taken from the same
 * chunks as well, so a column's sum and its products cost one copy.
 */
export function rssDotMany(cols: [Col, Col][], pairs: [number, number][], sums?: [bigint, bigint][]): bigint[] {
  const m = cols.length;
  const acc = new Array<bigint>(pairs.length).fill(0n);
  if (sums) for (let i = 0; i < m; i++) sums[i] = [0n, 0n];
  if (m === 0 || (pairs.length === 0 && !sums)) return acc.map(() => 0n);
  const n = cols[0]![0].length;
  for (const [a, b] of cols) if (a.length !== n || b.length !== n) throw new RangeError('rssDotMany: column lengths differ');
  // 2m chunk slots, then (with sums) 2m lanes of running sums. A chunk of at most 2^14 lanes
  // (128 KiB per half) is still in the core's cache when the kernels read it back.
  const chunk = Math.max(1, Math.min(DOT_CHUNK, Math.floor((MEM.length - (sums ? 2 * m : 0)) / (2 * m))));
  const at = (i: number, h: number) => (2 * i + h) * chunk;
  const sumAt = (i: number) => 2 * m * chunk + 2 * i;
  if (sums) MEM.fill(0n, sumAt(0), sumAt(m));
  const summed = new Uint8Array(m);
  for (let off = 0; off < n; off += chunk) {
    const len = Math.min(chunk, n - off);
    cols.forEach(([a, b], i) => (MEM.set(a.subarray(off, off + len), at(i, 0)), MEM.set(b.subarray(off, off + len), at(i, 1))));
    summed.fill(0);
    pairs.forEach(([i, j], k) => {
      const x0 = at(i, 0) * 8, x1 = at(i, 1) * 8, y0 = at(j, 0) * 8, y1 = at(j, 1) * 8;
      // A column's sums ride along with the first product that reads it (one pass), added at byte
      // offset o; a column with itself (Σx²) takes one multiplication per lane: x0·(x0 + 2·x1).
      const o = sums && !summed[i] ? ((summed[i] = 1), sumAt(i) * 8) : -1;
      let d: bigint;
      if (i === j) d = o < 0 ? K.rsssq(x0, x1, len) : K.rsssqsum(x0, x1, o, len);
      else d = o < 0 ? K.rssdot(x0, x1, y0, y1, len) : K.rssdotsum(x0, x1, y0, y1, o, len);
      acc[k] = acc[k]! + d;
    });
    if (sums) for (let i = 0; i < m; i++) if (!summed[i]) (MEM[sumAt(i)] = MEM[sumAt(i)]! + K.sum(at(i, 0) * 8, len)), (MEM[sumAt(i) + 1] = MEM[sumAt(i) + 1]! + K.sum(at(i, 1) * 8, len));
  }
  if (sums) for (let i = 0; i < m; i++) sums[i] = [MEM[sumAt(i)]!, MEM[sumAt(i) + 1]!];
  return acc.map((v) => BigInt.asUintN(64, v));
}

/**
 * Bit planes 0..bits−1 of a column (two's complement), plane-major, ceil(n/32) words per plane:
 * bit i of word w of plane k is bit k of lane 32w + i (the layout of bits.ts; the transposition of
 * toPlanes). A chunk's lanes are padded with zeros to whole words; the kernel writes 8 planes per
 * byte of the lanes, of which the first `bits` are copied out.
 */
export function planesOf(x: Col, bits: number): Uint32Array {
  const W = (x.length + 31) >>> 5;
  return planesInto(x, bits, new Uint32Array(bits * W), W, 0);
}

/**
 * planesOf written into `out`: plane k at words k·stride + offset … (x's ceil(n/32) words each), the
 * rest of `out` untouched (a column's lanes placed among a longer column's, from a whole word on).
 */
export function planesInto(x: Col, bits: number, out: Uint32Array, stride: number, offset: number): Uint32Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 64) throw new RangeError(`bits must be 1..64, got ${bits}`);
  const n = x.length, W = (n + 31) >>> 5;
  if (offset + W > stride || (bits - 1) * stride + offset + W > out.length) throw new RangeError(`planesInto: ${bits} planes of ${W} words do not fit at word ${offset} of planes of ${stride}`);
  // Lanes per kernel call: the planes one call writes (bits × step/8 bytes, two bytes at a time to
  // every plane) stay within a 32 KiB L1 data cache. Beyond it each store went further out: 53 and
  // 64 planes of 2^20 lanes took 6.7 and 12.9 ms at 8192 lanes per call, 3.4 and 3.9 ms at 4096.
  const step = bits > 32 ? CHUNK >>> 1 : CHUNK;
  const planeBytes = step / 8; // bytes per plane and call in the scratch area: 2 per group of 16 lanes
  for (let off = 0; off < n; off += step) {
    const len = Math.min(step, n - off);
    const padded = (len + 31) & ~31;
    MEM.set(x.subarray(off, off + len), slotLane(0));
    if (padded > len) MEM.fill(0n, slotLane(0) + len, slotLane(0) + padded);
    K.planes(slot(0), slot(1), padded >>> 4, (bits + 7) >>> 3, planeBytes);
    const words = padded >>> 5, w0 = off >>> 5;
    for (let k = 0; k < bits; k++) {
      const at = (slot(1) + k * planeBytes) >>> 2;
      out.set(MEM32.subarray(at, at + words), k * stride + offset + w0);
    }
  }
  return out;
}

/** Σ a mod 2^64. */
export function sum(a: Col): bigint {
  let acc = 0n;
  lanes([a], null, (n) => {
    acc += K.sum(slot(0), n);
  });
  return BigInt.asUintN(64, acc);
}

/** Column from signed or unsigned bigints/numbers (reduced mod 2^64). */
export function fromValues(values: ArrayLike<bigint | number>): Col {
  const out = alloc(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt.asUintN(64, BigInt(values[i]!));
  return out;
}
/** Signed view of a column: the same bytes read as two's complement. */
export function toSigned(a: Col): BigInt64Array {
  return new BigInt64Array(a.buffer, a.byteOffset, a.length);
}
/**
 * Column from integers of magnitude below 2^53 (two's complement), through 32-bit halves: no
 * BigInt per value, unlike fromValues.
 */
export function fromInts(values: ArrayLike<number>): Col {
  const out = alloc(values.length);
  const w = new Uint32Array(out.buffer, out.byteOffset, 2 * values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isSafeInteger(v)) throw new RangeError(`fromInts: ${v} is not an integer below 2^53 in magnitude`);
    w[2 * i] = v >>> 0;
    w[2 * i + 1] = Math.floor(v / 0x1_0000_0000);
  }
  return out;
}
/** A column filled with c. */
export function constant(n: number, c: bigint): Col {
  return alloc(n).fill(BigInt.asUintN(64, c));
}
/** Concatenate columns (used to batch several protocol inputs into one round). */
export function concat(cols: Col[]): Col {
  const out = alloc(cols.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of cols) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
/** Split a column into pieces of the given lengths (views, no copy). */
export function split(a: Col, lengths: number[]): Col[] {
  const out: Col[] = [];
  let off = 0;
  for (const len of lengths) {
    out.push(a.subarray(off, off + len));
    off += len;
  }
  if (off !== a.length) throw new RangeError(`split lengths sum to ${off}, column has ${a.length}`);
  return out;
}
/** Whether two arrays are views of overlapping bytes of one buffer. */
export function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteLength > 0 && b.byteLength > 0 && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
/** Byte view of a column, for sending. */
export function bytesOf(a: BigUint64Array | BigInt64Array | Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
/** Column view over received bytes (copies if unaligned). */
export function colOf(bytes: Uint8Array): Col {
  if (bytes.byteLength % 8 !== 0) throw new RangeError(`frame of ${bytes.byteLength} bytes is not a whole number of 64-bit lanes`);
  if (bytes.byteOffset % 8 === 0) return new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return new BigUint64Array(bytes.slice().buffer);
}

/** The two halves of an XOR-shared bit plane (words of 32 lanes). */
export type WordPair = readonly [Uint32Array, Uint32Array];

/** Words per scratch slot (a slot holds CHUNK lanes of 64 bits), and where slot k starts, in words (slot(k) in bytes). */
const SLOT_WORDS = CHUNK * 2;
const wordSlot = (k: number): number => k * SLOT_WORDS;

/**
 * One step of a ripple-carry adder on XOR-shared bit planes (the `ripple` kernel; convert.ts
 * rippleCarry): c ^= t, c's halves updated in place; with `sum`, sum ^= c; then z gets the local
 * share of (a ⊕ c) ∧ (b ⊕ c), as boolean.ts and() computes it. All planes have z.length words.
 * Local: nothing is sent. In WebAssembly, 4 words per vector (3× the same loop in JavaScript).
 */
export function rippleStep(c: WordPair, t: WordPair, a: WordPair, b: WordPair, z: Uint32Array, sum?: WordPair): void {
  const W = z.length;
  const ins = sum ? [c[0], c[1], t[0], t[1], a[0], a[1], b[0], b[1], sum[0], sum[1]] : [c[0], c[1], t[0], t[1], a[0], a[1], b[0], b[1]];
  for (const x of ins) if (x.length < W) throw new RangeError(`rippleStep: a plane of ${x.length} words, expected ${W}`);
  const zs = ins.length;
  for (let off = 0; off < W; off += SLOT_WORDS) {
    const len = Math.min(SLOT_WORDS, W - off);
    for (let k = 0; k < ins.length; k++) MEM32.set(ins[k]!.subarray(off, off + len), wordSlot(k));
    if (sum) K.ripplesum(slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), slot(6), slot(7), slot(8), slot(9), slot(zs), len);
    else K.ripple(slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), slot(6), slot(7), slot(zs), len);
    // Back: the carry's halves, the sum planes' (their words in place), z.
    for (let k = 0; k < 2; k++) c[k]!.set(MEM32.subarray(wordSlot(k), wordSlot(k) + len), off);
    if (sum) for (let k = 0; k < 2; k++) sum[k]!.set(MEM32.subarray(wordSlot(8 + k), wordSlot(8 + k) + len), off);
    z.set(MEM32.subarray(wordSlot(zs), wordSlot(zs) + len), off);
  }
}

/** Splitters the search kernel holds (each half, 8 bytes apiece, in the scratch area). */
const SEARCH_SPLITTERS = 1 << 15;
/** Rows per search kernel call (a multiple of 32: the outcome bits are read by word). */
const SEARCH_ROWS = 1 << 14;

/**
 * The local share of x ∧ y on XOR-shared words (boolean.ts and()): z = (xa ∧ (ya ⊕ yb)) ⊕ (xb ∧ ya),
 * word by word, in WebAssembly. All arrays have z.length words. Local: nothing is sent.
 */
export function andLocal(xa: Uint32Array, xb: Uint32Array, ya: Uint32Array, yb: Uint32Array, z: Uint32Array): void {
  const W = z.length;
  if (xa.length !== W || xb.length !== W || ya.length !== W || yb.length !== W) throw new RangeError(`andLocal: operands of ${xa.length}, ${xb.length}, ${ya.length}, ${yb.length} words for ${W}`);
  for (let off = 0; off < W; off += SLOT_WORDS) {
    const len = Math.min(SLOT_WORDS, W - off);
    MEM32.set(xa.subarray(off, off + len), wordSlot(0));
    MEM32.set(xb.subarray(off, off + len), wordSlot(1));
    MEM32.set(ya.subarray(off, off + len), wordSlot(2));
    MEM32.set(yb.subarray(off, off + len), wordSlot(3));
    K.andl(slot(0), slot(1), slot(2), slot(3), slot(4), len);
    z.set(MEM32.subarray(wordSlot(4), wordSlot(4) + len), off);
  }
}

/**
 * One level of the sort's splitter search (sort.ts sampleSortOrder), in WebAssembly. Each row's
 * gap index g (in `gap`, updated in place) takes the last level's outcome first when `less` is
 * given (bit q = 1: before the splitter, g = 2g; else 2g + 1). With sh ≥ 0, row q of `ya`/`yb`
 * becomes the splitter of rank (2g + 1)·2^sh − 1 of `sa`/`sb` (each party's two halves). Local.
 */
export function searchLevel(gap: Uint32Array, less: Uint32Array | null, sh: number, sa: Col, sb: Col, ya: Col, yb: Col): void {
  const m = gap.length, k = sa.length;
  if (k > SEARCH_SPLITTERS || sb.length !== k) throw new RangeError(`searchLevel: ${k} and ${sb.length} splitters (at most ${SEARCH_SPLITTERS})`);
  if (ya.length < m || yb.length < m || (less && less.length < (m + 31) >>> 5)) throw new RangeError('searchLevel: outputs or outcomes shorter than the rows');
  // Scratch: the splitters' halves, then per call the rows' gaps, outcome words and the two outputs.
  const SA = 0, SB = SA + SEARCH_SPLITTERS * 8, GAP = SB + SEARCH_SPLITTERS * 8, LESS = GAP + SEARCH_ROWS * 4, YA = LESS + SEARCH_ROWS / 8, YB = YA + SEARCH_ROWS * 8;
  if (sh >= 0) {
    MEM.set(sa, SA / 8);
    MEM.set(sb, SB / 8);
  }
  for (let off = 0; off < m; off += SEARCH_ROWS) {
    const len = Math.min(SEARCH_ROWS, m - off);
    MEM32.set(gap.subarray(off, off + len), GAP / 4);
    if (less) MEM32.set(less.subarray(off >>> 5, (off + len + 31) >>> 5), LESS / 4);
    K.search(GAP, LESS, less ? 1 : 0, sh, SA, SB, YA, YB, len);
    if (less) gap.set(MEM32.subarray(GAP / 4, GAP / 4 + len), off);
    if (sh >= 0) {
      ya.set(MEM.subarray(YA / 8, YA / 8 + len), off);
      yb.set(MEM.subarray(YB / 8, YB / 8 + len), off);
    }
  }
}
