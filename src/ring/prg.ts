// Seeded pseudo-random generator: AES-128-CTR over a zero buffer (node:crypto), drawn in large
// blocks. Two parties holding the same seed draw the same stream, which is how replicated secret
// sharing gets its correlated randomness without a dealer (Araki et al. CCS 2016, §2.1).
import { createCipheriv, randomBytes } from 'node:crypto';
import { uninit, uninitWords, type Col } from './ring64.js';

/** Output is drawn through OpenSSL in blocks of this size (larger blocks measured slower: page faults). */
const BLOCK = 1 << 16;
const ZEROS = new Uint8Array(BLOCK);
/** Elements per bucket of a large permutation (fits the CPU's L2 cache as 32-bit words). */
const PERMUTATION_BUCKET = 1 << 14;

export class Prg {
  private readonly cipher;
  /** Bytes drawn so far (both holders of a seed must stay in lockstep). */
  drawn = 0;

  constructor(seed: Uint8Array) {
    if (seed.length !== 16) throw new RangeError('PRG seed must be 16 bytes');
    this.cipher = createCipheriv('aes-128-ctr', seed, new Uint8Array(16));
  }

  static fresh(): Prg {
    return new Prg(randomBytes(16));
  }

  /** Fills `out` with the next out.length bytes of the stream. */
  fill(out: Uint8Array): Uint8Array {
    for (let off = 0; off < out.length; off += BLOCK) {
      const len = Math.min(BLOCK, out.length - off);
      out.set(this.cipher.update(len === BLOCK ? ZEROS : ZEROS.subarray(0, len)), off);
    }
    this.drawn += out.length;
    return out;
  }

  /**
   * The next len bytes as a buffer OpenSSL just wrote (no extra copy). Use for len up to a few
   * hundred KiB, where the allocator reuses already-touched memory: first writes to fresh pages
   * cost more than the AES itself on this machine.
   */
  raw(len: number): Uint8Array {
    this.drawn += len;
    return len <= BLOCK ? this.cipher.update(ZEROS.subarray(0, len)) : this.cipher.update(new Uint8Array(len));
  }

  /**
   * XORs the next out.length·4 bytes of the stream into `out`, block by block (no large
   * temporaries). CTR mode encrypts a block as the block XOR the stream, so OpenSSL does the XOR
   * with the AES and the block is copied back: the same bytes as XORing the drawn stream in.
   */
  xorInto(out: Uint32Array): void {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let off = 0; off < bytes.length; off += BLOCK) {
      const block = bytes.subarray(off, Math.min(bytes.length, off + BLOCK));
      block.set(this.cipher.update(block));
    }
    this.drawn += bytes.length;
  }

  /** n uniformly random ring elements of Z_2^64. */
  ring(n: number): Col {
    const out = uninit(n); // written whole below
    this.fill(new Uint8Array(out.buffer));
    return out;
  }

  /** n uniformly random 32-bit words (bit-sliced boolean shares). */
  words(n: number): Uint32Array {
    const out = uninitWords(n); // written whole below
    this.fill(new Uint8Array(out.buffer));
    return out;
  }

  /**
   * A uniformly random permutation of 0..n−1. Small n: Fisher–Yates. Large n: Rao–Sandelius
   * (Sandelius, "A simple randomization procedure", J. R. Stat. Soc. B 24, 1962): every element goes
   * to one of 2^k buckets by the top bits of a random word, then each bucket (≈ 16 Ki elements, in
   * the CPU's cache) is shuffled by Fisher–Yates; concatenated, the result is uniform (every
   * permutation has probability Σ_sizes 2^{−kn}·Π 1/n_j!, the same for all). Fisher–Yates over
   * millions of elements spends its time on cache misses (one random access per element). Both
   * holders of the seed draw the same permutation.
   */
  permutation(n: number): Uint32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`permutation size ${n} out of range`);
    if (n <= PERMUTATION_BUCKET * 4) {
      const perm = new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      this.shuffleInPlace(perm);
      return perm;
    }
    return this.bucketPermutation(n, Math.min(16, Math.ceil(Math.log2(n / PERMUTATION_BUCKET))));
  }

  /** Rao–Sandelius with 2^k buckets (k ≤ 16); exposed for the uniformity test at small n. */
  bucketPermutation(n: number, k: number): Uint32Array {
    if (!Number.isInteger(k) || k < 0 || k > 16) throw new RangeError(`bucketPermutation: 2^${k} buckets`);
    const K = 1 << k, shift = 32 - k;
    const tag = this.words(n);
    const start = new Uint32Array(K + 1);
    if (k > 0) for (let i = 0; i < n; i++) start[(tag[i]! >>> shift) + 1]!++;
    else start[1] = n;
    for (let b = 0; b < K; b++) start[b + 1]! += start[b]!;
    const perm = new Uint32Array(n);
    const at = start.slice(0, K);
    if (k > 0) for (let i = 0; i < n; i++) perm[at[tag[i]! >>> shift]!++] = i;
    else for (let i = 0; i < n; i++) perm[i] = i;
    for (let b = 0; b < K; b++) this.shuffleInPlace(perm.subarray(start[b]!, start[b + 1]!));
    return perm;
  }

  /**
   * Fisher–Yates in place on block-drawn words with Lemire's multiply-shift bounded sampling
   * (rejection keeps every index unbiased; no float modulo per step).
   */
  private shuffleInPlace(perm: Uint32Array): void {
    const n = perm.length;
    if (n < 2) return;
    let pool = this.words(Math.max(n, 16));
    let p = 0;
    const TWO32 = 0x1_0000_0000;
    for (let i = n - 1; i > 0; i--) {
      const bound = i + 1;
      let j: number;
      if (bound <= 0x20_0000) {
        // r·bound < 2^53 is exact; j = floor(r·bound / 2^32), reject when the low part < 2^32 mod bound.
        for (;;) {
          if (p === pool.length) {
            pool = this.words(pool.length);
            p = 0;
          }
          const m = pool[p++]! * bound;
          j = Math.floor(m / TWO32);
          const lo = m - j * TWO32;
          if (lo >= bound || lo >= TWO32 % bound) break;
        }
      } else {
        const lim = Math.floor(TWO32 / bound) * bound;
        let r: number;
        do {
          if (p === pool.length) {
            pool = this.words(pool.length);
            p = 0;
          }
          r = pool[p++]!;
        } while (r >= lim);
        j = r % bound;
      }
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
  }

  /** A uniformly random integer in [0, bound) for bound <= 2^32 (rejection sampling, no bias). */
  below(bound: number): number {
    const lim = Math.floor(0x1_0000_0000 / bound) * bound;
    const w = new Uint32Array(1);
    for (;;) {
      this.fill(new Uint8Array(w.buffer));
      if (w[0]! < lim) return w[0]! % bound;
    }
  }
}
