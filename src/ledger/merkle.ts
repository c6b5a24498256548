// Merkle tree hash, inclusion proofs and consistency proofs of the transparency log, exactly as
// Certificate Transparency defines them: RFC 9162 §2.1 (the same tree as RFC 6962 §2.1), SHA-256.
//
//   MTH({})        = SHA-256()                                    (§2.1.1)
//   MTH({d(0)})    = SHA-256(0x00 || d(0))                        leaf hash
//   MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  k = largest power of two < n
//
// Scale: the tree keeps every leaf hash and every complete, aligned power-of-two subtree hash
// (about 2n hashes of 32 bytes; appends cost O(1) amortised). Every subtree the RFC's recursion
// visits starting from D[0:n] is either such a complete aligned subtree (one lookup) or the
// right-hand rest of a range, so a root, an inclusion proof or a consistency proof over any
// earlier tree size costs O(log n) hashes: nothing is rebuilt per proof. 10^5–10^6 entries are fine.
//
// The same code runs in the CLI, at the nodes and in the browser (the auditor's page): SHA-256 from
// @noble/hashes, hashes as Uint8Array (no Buffer, no node:crypto).
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, hexBytes, toHex as bytesToHex } from './bytes.js';

export const HASH_BYTES = 32;

/** MTH({}) — the hash of an empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

const encoder = new TextEncoder();
/** Scratch space for 0x00 || UTF-8 of an entry (grown as needed; sha256 keeps no reference to its input). */
let leafScratch = new Uint8Array(4096);

/** Leaf hash of an entry: SHA-256(0x00 || entry) (RFC 9162 §2.1.1); a string is hashed as its UTF-8. */
export function leafHash(entry: Uint8Array | string): Uint8Array {
  if (typeof entry === 'string') {
    if (leafScratch.length < 1 + entry.length * 3) leafScratch = new Uint8Array(2 * (1 + entry.length * 3));
    leafScratch[0] = 0x00;
    const { written } = encoder.encodeInto(entry, leafScratch.subarray(1));
    return sha256(leafScratch.subarray(0, 1 + written));
  }
  const buf = new Uint8Array(1 + entry.length);
  buf[0] = 0x00;
  buf.set(entry, 1);
  return sha256(buf);
}

const nodeScratch = new Uint8Array(1 + 2 * HASH_BYTES);

/** Interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = left.length === HASH_BYTES && right.length === HASH_BYTES ? nodeScratch : new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** Largest power of two strictly smaller than n (n ≥ 2): the split point k of RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPow2 = (n: number) => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** An append-only Merkle tree over leaf hashes, with proofs for any earlier tree size. */
export class MerkleTree {
  /** levels[h][i] = hash of the complete subtree of 2^h leaves starting at leaf i·2^h. */
  private readonly levels: Uint8Array[][] = [[]];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const h of leafHashes) this.appendLeafHash(h);
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends an entry (hashed as a leaf). Returns its index. */
  append(entry: Uint8Array | string): number {
    return this.appendLeafHash(leafHash(entry));
  }

  /** Appends an already computed leaf hash. Returns its index. */
  appendLeafHash(h: Uint8Array): number {
    if (h.length !== HASH_BYTES) throw new Error(`a leaf hash has ${HASH_BYTES} bytes, got ${h.length}`);
    const index = this.levels[0]!.length;
    let node: Uint8Array = h.slice();
    this.levels[0]!.push(node);
    // Complete every aligned subtree this leaf closes.
    for (let level = 0, i = index; i % 2 === 1; level++, i >>= 1) {
      const left = this.levels[level]![i - 1]!;
      node = nodeHash(left, node);
      (this.levels[level + 1] ??= []).push(node);
    }
    return index;
  }

  leafHash(index: number): Uint8Array {
    this.checkIndex(index, this.size, 'leaf index');
    return this.levels[0]![index]!;
  }

  /** MTH(D[start:end]) (RFC 9162 §2.1.1), from the stored complete subtrees where possible. */
  subtreeHash(start: number, end: number): Uint8Array {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= this.size)) {
      throw new RangeError(`subtree [${start}, ${end}) is not inside a tree of ${this.size} leaves`);
    }
    const n = end - start;
    if (n === 0) return EMPTY_ROOT;
    if (isPow2(n) && start % n === 0) {
      const level = Math.log2(n);
      const h = this.levels[level]?.[start / n];
      if (h) return h;
    }
    if (n === 1) return this.levels[0]![start]!;
    const k = splitPoint(n);
    return nodeHash(this.subtreeHash(start, start + k), this.subtreeHash(start + k, end));
  }

  /** The root hash of the tree as it was at `size` leaves (default: now). */
  root(size = this.size): Uint8Array {
    this.checkSize(size);
    return this.subtreeHash(0, size);
  }

  /**
   * Inclusion proof (audit path) of leaf `index` in the tree of `size` leaves: PATH(m, D[n]) of
   * RFC 9162 §2.1.3.1, ordered from the leaf's sibling up to the root's child.
   */
  inclusionProof(index: number, size = this.size): Uint8Array[] {
    this.checkSize(size);
    this.checkIndex(index, size, 'leaf index');
    const out: Uint8Array[] = [];
    const path = (m: number, start: number, end: number): void => {
      const n = end - start;
      if (n <= 1) return; // PATH(0, {d(0)}) = {}
      const k = splitPoint(n);
      if (m < k) {
        path(m, start, start + k);
        out.push(this.subtreeHash(start + k, end));
      } else {
        path(m - k, start + k, end);
        out.push(this.subtreeHash(start, start + k));
      }
    };
    path(index, 0, size);
    return out;
  }

  /**
   * Consistency proof between the trees of `first` and `second` leaves: PROOF(m, D[n]) =
   * SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1. Empty when first is 0 or first = second.
   */
  consistencyProof(first: number, second = this.size): Uint8Array[] {
    this.checkSize(second);
    if (!Number.isSafeInteger(first) || first < 0 || first > second) throw new RangeError(`consistency proof from ${first} to ${second}: need 0 ≤ first ≤ second`);
    const out: Uint8Array[] = [];
    if (first === 0 || first === second) return out;
    const sub = (m: number, start: number, end: number, whole: boolean): void => {
      const n = end - start;
      if (m === n) {
        if (!whole) out.push(this.subtreeHash(start, end));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, start, start + k, whole);
        out.push(this.subtreeHash(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        out.push(this.subtreeHash(start, start + k));
      }
    };
    sub(first, 0, second, true);
    return out;
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`tree size ${size} is not in 0..${this.size}`);
  }
  private checkIndex(index: number, size: number, what: string): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`${what} ${index} is not in 0..${size - 1}`);
  }
}

const eq = equalBytes;
const lsb = (x: number) => x % 2 === 1;
// Tree sizes stay below 2^53; halve with Math.floor instead of >> (which is 32-bit).
const half = (x: number) => Math.floor(x / 2);

/**
 * Verifies an inclusion proof (RFC 9162 §2.1.3.2): that the leaf with hash `leaf` is at `index`
 * in the tree of `size` leaves whose root is `root`.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false; // step 1
  let fn = index; // step 2
  let sn = size - 1;
  let r: Uint8Array = leaf; // step 3
  for (const p of proof) {
    // step 4
    if (sn === 0) return false; // 4a
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r); // 4b.i
      if (!lsb(fn)) {
        // 4b.ii
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p); // 4b "otherwise"
    }
    fn = half(fn); // 4c
    sn = half(sn);
  }
  return sn === 0 && eq(r, root); // step 5
}

/**
 * Verifies a consistency proof (RFC 9162 §2.1.4.2): that the tree of `first` leaves with root
 * `firstRoot` is a prefix of the tree of `second` leaves with root `secondRoot`. first = 0 is
 * consistent with anything (and needs an empty proof); first = second needs an empty proof and
 * equal roots.
 */
export function verifyConsistency(first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (first === 0) return proof.length === 0 && eq(firstRoot, EMPTY_ROOT);
  if (first === second) return proof.length === 0 && eq(firstRoot, secondRoot);
  if (proof.length === 0) return false; // step 1
  const path = isPow2(first) ? [firstRoot, ...proof] : [...proof]; // step 2
  let fn = first - 1; // step 3
  let sn = second - 1;
  while (lsb(fn)) {
    // step 4
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0]!; // step 5
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    // step 6
    if (sn === 0) return false; // 6a
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr); // 6b.i
      sr = nodeHash(c, sr); // 6b.ii
      if (!lsb(fn)) {
        // 6b.iii
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c); // 6b "otherwise"
    }
    fn = half(fn); // 6c
    sn = half(sn);
  }
  return eq(fr, firstRoot) && eq(sr, secondRoot) && sn === 0; // step 7
}

/** Hex helpers for proofs carried in JSON. */
export const toHex = (b: Uint8Array): string => bytesToHex(b);
export function fromHex(s: unknown, what = 'hash'): Uint8Array {
  if (typeof s !== 'string' || !/^[0-9a-f]{64}$/.test(s)) throw new Error(`${what} must be 64 lower-case hex digits, got ${JSON.stringify(s)?.slice(0, 80)}`);
  return hexBytes(s);
}
