// Seeded pseudo-random generator: AES-128-CTR over a zero buffer (node:crypto), drawn in large
// blocks. Two parties holding the same seed draw the same stream, which is how replicated secret
// sharing gets its correlated randomness without a dealer (Araki et al. CCS 2016, §2.1).
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Col } from './ring64.js';

/** Output is drawn through OpenSSL in blocks of this size (larger blocks measured slower: page faults). */
const BLOCK = 1 << 16;
const ZEROS = new Uint8Array(BLOCK);

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

  /** XORs the next out.length·4 bytes of the stream into `out`, block by block (no large temporaries). */
  xorInto(out: Uint32Array): void {
    const step = BLOCK / 4;
    for (let off = 0; off < out.length; off += step) {
      const len = Math.min(step, out.length - off);
      const r = this.raw(len * 4);
      const w = new Uint32Array(r.buffer, r.byteOffset, len);
      for (let i = 0; i < len; i++) out[off + i]! ^= w[i]!;
    }
  }

  /** n uniformly random ring elements of Z_2^64. */
  ring(n: number): Col {
    const out = new BigUint64Array(n);
    this.fill(new Uint8Array(out.buffer));
    return out;
  }

  /** n uniformly random 32-bit words (bit-sliced boolean shares). */
  words(n: number): Uint32Array {
    const out = new Uint32Array(n);
    this.fill(new Uint8Array(out.buffer));
    return out;
  }

  /**
   * A uniformly random permutation of 0..n−1: Fisher–Yates on block-drawn words with Lemire's
   * multiply-shift bounded sampling (rejection keeps every index unbiased; no float modulo per
   * step). Both holders of the seed draw the same permutation.
   */
  permutation(n: number): Uint32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`permutation size ${n} out of range`);
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
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
    return perm;
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
