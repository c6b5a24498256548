// Replicated shares and the custodian-side split (Araki et al. CCS 2016; ABY3, Mohassel–Rindal
// CCS 2018 §2): x ∈ Z_2^64 is split x = x_0 + x_1 + x_2 with x_0, x_1 uniformly random; party i
// holds the pair (x_i, x_{i+1}). Any one pair is uniformly random and independent of x; any two
// determine x. Platform-free: the caller gives the randomness (node:crypto in ./share.ts,
// crypto.getRandomValues in the browser app) and the subtraction (the WebAssembly kernel of
// ../ring/ring64.ts in Node, ../ring/ring64-portable.ts in the browser). Reveals nothing by itself;
// the security of the split is that of the randomness source.
import type { Col } from '../ring/ring64.js';
import { subPortable } from '../ring/ring64-portable.js';

/** Party i's arithmetic share of a column: a = x_i, b = x_{i+1}. */
export class AShare {
  constructor(readonly a: Col, readonly b: Col) {
    if (a.length !== b.length) throw new RangeError(`share halves differ in length: ${a.length} vs ${b.length}`);
  }
  get length(): number {
    return this.a.length;
  }
  /** Lanes [start, end) as a view. */
  slice(start: number, end: number): AShare {
    return new AShare(this.a.subarray(start, end), this.b.subarray(start, end));
  }
}

/** The three parties' shares of a column, as produced on a custodian's machine. */
export type ShareTriple = [AShare, AShare, AShare];

/** Fills a buffer with cryptographically secure random bytes (called with at most 65 536 bytes at a time). */
export type RandomFill = (bytes: Uint8Array) => void;

/** A column of n uniformly random ring elements. */
export function randomColumn(n: number, fill: RandomFill): Col {
  const c = new BigUint64Array(n);
  const bytes = new Uint8Array(c.buffer);
  for (let off = 0; off < bytes.length; off += 65536) fill(bytes.subarray(off, Math.min(bytes.length, off + 65536)));
  return c;
}

/** Splits a plaintext column into three replicated shares with fresh randomness from `fill`. */
export function splitSharesWith(x: Col, fill: RandomFill, subtract: (a: Col, b: Col) => Col = subPortable): ShareTriple {
  return sharesOf(x, randomColumn(x.length, fill), randomColumn(x.length, fill), subtract);
}

/** The three parties' shares of x given its first two shares x_0 and x_1 (x_2 = x − x_0 − x_1). */
export function sharesOf(x: Col, x0: Col, x1: Col, subtract: (a: Col, b: Col) => Col = subPortable): ShareTriple {
  const x2 = subtract(subtract(x, x0), x1);
  return [new AShare(x0, x1), new AShare(x1, x2), new AShare(x2, x0)];
}
