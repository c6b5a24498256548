// Replicated secret shares (Araki et al. CCS 2016; ABY3, Mohassel–Rindal CCS 2018 §2).
// A value x in Z_2^64 is split x = x_0 + x_1 + x_2; party i holds the pair (x_i, x_{i+1}).
// Any one pair is uniformly random and independent of x; any two pairs determine x.
import { randomBytes } from 'node:crypto';
import { add, Col, sub } from '../ring/ring64.js';

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

function randomCol(n: number): Col {
  const c = new BigUint64Array(n);
  if (n > 0) {
    const bytes = new Uint8Array(c.buffer);
    for (let off = 0; off < bytes.length; off += 65536) bytes.set(randomBytes(Math.min(65536, bytes.length - off)), off);
  }
  return c;
}

/** Splits a plaintext column into three replicated shares (the custodian side of `share`). */
export function splitShares(x: Col): ShareTriple {
  const x0 = randomCol(x.length);
  const x1 = randomCol(x.length);
  const x2 = sub(sub(x, x0), x1);
  return [new AShare(x0, x1), new AShare(x1, x2), new AShare(x2, x0)];
}

/** Reconstructs from the shares of party i and party i+1 (for custodian-side checks and tests). */
export function combineShares(si: AShare, sNext: AShare): Col {
  // party i holds (x_i, x_{i+1}); party i+1 holds (x_{i+1}, x_{i+2}).
  return add(add(si.a, si.b), sNext.b);
}
