// Row moves in WebAssembly: the quicksort's (src/mpc/sort.ts quicksortLevels: listing each open
// segment's rows with its pivot, partitioning the segments by the revealed outcomes, gathering rows
// by a permutation) and the bitonic merger's (src/mpc/merge.ts bitonicMerge: gathering a layer's
// pairs of words, scattering them back with their swaps, moving real words onto pads). These are
// accesses all over the rows, which the column kernels' small scratch area (ring64.ts) cannot hold,
// so the arrays live in a memory of their own for the whole sort or merge (an arena), handed to
// moves.wasm. Written in JavaScript they took ≈ 10 % of a node's CPU in a sort of 1 M keys and the
// largest JavaScript function of a merge (bench/RESULTS.md).
//
// A sort or merge takes an arena, lays its arrays out in it, and releases it when done; memories up
// to KEEP_BYTES go back to a pool for the next one of the process (their pages are then already
// mapped). The rows, shares and outcomes are this party's own, as in the JavaScript version:
// nothing is sent or revealed here.
import { readFileSync } from 'node:fs';

interface MoveKernels {
  gather(sa: number, sb: number, idx: number, n: number, oa: number, ob: number): void;
  operands(order: number, seg: number, count: number, ca: number, cb: number, xidx: number, xa: number, xb: number, ya: number, yb: number): number;
  partition(order: number, seg: number, count: number, ca: number, cb: number, xidx: number, xa: number, xb: number, less: number, nseg: number): number;
  wgather(h: number, stride: number, P: number, rs: number, rl: number, ranges: number, D: number, xs: number, ys: number, G: number): void;
  wscatter(h: number, stride: number, P: number, rs: number, rl: number, ranges: number, D: number, xs: number, ys: number, ds: number, G: number): void;
  bgather(h: number, stride: number, P: number, rs: number, rl: number, ranges: number, d: number, lo: number, xs: number, ys: number, G: number): void;
  bscatter(h: number, stride: number, P: number, rs: number, rl: number, ranges: number, d: number, lo: number, ds: number, G: number): void;
  padmoves(h: number, stride: number, P: number, list: number, count: number): void;
}

const MODULE = new WebAssembly.Module(readFileSync(new URL('./moves.wasm', import.meta.url)));
const PAGE = 1 << 16;
/** A 32-bit WebAssembly memory's size limit (V8: 65 536 pages). */
const MAX_BYTES = 2 ** 32;
/** Arenas up to this size are kept for the process's next sort or merge. */
const KEEP_BYTES = 256 << 20;
const pool: WebAssembly.Memory[] = [];

type Typed = Uint32Array | BigUint64Array;

/** Memory for one sort's or merge's arrays; allocate with u32 / u64, read kernels' pointers with at(), then release(). */
export class MoveArena {
  readonly k: MoveKernels;
  private top = 0;
  private released = false;

  private constructor(private readonly mem: WebAssembly.Memory) {
    this.k = new WebAssembly.Instance(MODULE, { env: { mem } }).exports as unknown as MoveKernels;
  }

  /** An arena of at least `bytes` (from the pool when one is large enough), or null above the 4 GiB a memory can have. */
  static take(bytes: number): MoveArena | null {
    if (bytes >= MAX_BYTES) return null;
    const pages = Math.ceil(bytes / PAGE);
    let i = pool.findIndex((m) => m.buffer.byteLength >= bytes);
    if (i < 0 && pool.length) i = 0; // grow a kept one rather than map a second
    const mem = i >= 0 ? pool.splice(i, 1)[0]! : new WebAssembly.Memory({ initial: pages });
    const have = mem.buffer.byteLength / PAGE;
    if (have < pages) mem.grow(pages - have);
    return new MoveArena(mem);
  }

  /** An uninitialised array of n 32-bit words (8-byte aligned). */
  u32(n: number): Uint32Array {
    return new Uint32Array(this.mem.buffer, this.alloc(4 * n), n);
  }

  /** An uninitialised array of n 64-bit lanes. */
  u64(n: number): BigUint64Array {
    return new BigUint64Array(this.mem.buffer, this.alloc(8 * n), n);
  }

  /** The byte offset of an array of this arena, as the kernels take it. */
  at(a: Typed): number {
    return a.byteOffset;
  }

  /** Back to the pool (or dropped, if large). No array of it may be used afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.mem.buffer.byteLength <= KEEP_BYTES) pool.push(this.mem);
  }

  private alloc(bytes: number): number {
    const at = this.top;
    this.top = at + ((bytes + 7) & ~7);
    if (this.top > this.mem.buffer.byteLength) throw new RangeError(`MoveArena: ${this.top} bytes laid out in an arena of ${this.mem.buffer.byteLength}`);
    return at;
  }
}
