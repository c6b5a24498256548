// Replicated secret shares (Araki et al. CCS 2016; ABY3, Mohassel–Rindal CCS 2018 §2).
// A value x in Z_2^64 is split x = x_0 + x_1 + x_2; party i holds the pair (x_i, x_{i+1}).
// Any one pair is uniformly random and independent of x; any two pairs determine x.
// The split itself is ./share-split.ts (platform-free, also used by the browser app); here it runs
// with the OS CSPRNG and the WebAssembly ring kernels.
import { randomFillSync } from 'node:crypto';
import { add, type Col, sub } from '../ring/ring64.js';
import { AShare, splitSharesWith, type ShareTriple } from './share-split.js';

export { AShare, sharesOf, type ShareTriple } from './share-split.js';

/** Splits a plaintext column into three replicated shares (the custodian side of `share`). */
export function splitShares(x: Col): ShareTriple {
  return splitSharesWith(x, (b) => void randomFillSync(b), sub);
}

/** Reconstructs from the shares of party i and party i+1 (for custodian-side checks and tests). */
export function combineShares(si: AShare, sNext: AShare): Col {
  // party i holds (x_i, x_{i+1}); party i+1 holds (x_{i+1}, x_{i+2}).
  return add(add(si.a, si.b), sNext.b);
}
