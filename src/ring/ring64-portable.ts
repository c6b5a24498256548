// Addition and subtraction of columns of Z_2^64 in plain JavaScript, for code that cannot load the
// WebAssembly kernels of ./ring64.ts (which reads kernels.wasm with node:fs): the browser app splits
// a custodian's upload into shares with these. Each element is handled as its two 32-bit halves
// (little-endian, as every browser and Node platform stores them), with the borrow or carry
// between them; no BigInt per element. Same results as ./ring64.ts add/sub (test/sealed-upload.test.ts).
// Reveals nothing: pure arithmetic on the caller's arrays.
import type { Col } from './ring64.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const halves = (c: Col): Uint32Array => new Uint32Array(c.buffer, c.byteOffset, 2 * c.length);

function check(a: Col, b: Col, out: Col): void {
  if (a.length !== b.length) throw new RangeError(`column lengths differ: ${a.length} vs ${b.length}`);
  if (out.length !== a.length) throw new RangeError(`output length ${out.length} vs ${a.length}`);
}

/** out = a − b mod 2^64, element-wise. */
export function subPortable(a: Col, b: Col, out: Col = new BigUint64Array(a.length)): Col {
  check(a, b, out);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < a.length; i++) out[i] = BigInt.asUintN(64, a[i]! - b[i]!);
    return out;
  }
  const A = halves(a), B = halves(b), O = halves(out);
  for (let i = 0; i < A.length; i += 2) {
    const lo = A[i]! - B[i]!;
    O[i] = lo;
    O[i + 1] = A[i + 1]! - B[i + 1]! - (lo < 0 ? 1 : 0);
  }
  return out;
}

/** out = a + b mod 2^64, element-wise. */
export function addPortable(a: Col, b: Col, out: Col = new BigUint64Array(a.length)): Col {
  check(a, b, out);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < a.length; i++) out[i] = BigInt.asUintN(64, a[i]! + b[i]!);
    return out;
  }
  const A = halves(a), B = halves(b), O = halves(out);
  for (let i = 0; i < A.length; i += 2) {
    const lo = A[i]! + B[i]!;
    O[i] = lo;
    O[i + 1] = A[i + 1]! + B[i + 1]! + (lo > 0xffffffff ? 1 : 0);
  }
  return out;
}
