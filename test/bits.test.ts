import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromPlanes, packBits, planeToCol, toPlanes, transpose32, unpackBits, wordsFor } from '../src/ring/bits.js';
import { andLocal, planesInto, rippleStep, searchLevel } from '../src/ring/ring64.js';
import { col, LENGTHS, randomInts } from './harness.js';

describe('bit slicing', () => {
  it('transposes a 32x32 bit matrix', () => {
    const m = new Uint32Array(32).map(() => (Math.random() * 2 ** 32) >>> 0);
    const t = m.slice();
    transpose32(t);
    for (let i = 0; i < 32; i++) for (let k = 0; k < 32; k++) assert.equal((t[k]! >>> i) & 1, (m[i]! >>> k) & 1);
  });
  it('round-trips columns through planes at every length', () => {
    for (const n of LENGTHS) {
      const x = col(randomInts(n));
      const planes = toPlanes(x, 64);
      assert.equal(planes.length, 64 * wordsFor(n));
      for (let j = 0; j < n; j++)
        for (const k of [0, 1, 31, 32, 63]) assert.equal((planes[k * wordsFor(n) + (j >>> 5)]! >>> (j & 31)) & 1, Number((x[j]! >> BigInt(k)) & 1n));
      assert.deepEqual(fromPlanes(planes, n, 64), x);
      const low = toPlanes(x, 20);
      assert.deepEqual(fromPlanes(low, n, 20), x.map((v) => v & 0xfffffn));
    }
  });
  it('takes every plane of every width exactly, across the kernel calls of 8192 lanes (4096 beyond 32 planes)', () => {
    for (const n of [1, 15, 16, 17, 33, 4095, 4096, 4097, 8191, 8192, 8193, 16416 + 5]) {
      const x = col(randomInts(n));
      if (n >= 3) (x[0] = 0n), (x[1] = (1n << 64n) - 1n), (x[2] = 1n << 63n);
      const half = new Uint32Array(x.buffer, x.byteOffset, 2 * n);
      const W = wordsFor(n);
      for (const bits of [1, 8, 9, 34, 53, 63, 64]) {
        const planes = toPlanes(x, bits);
        assert.equal(planes.length, bits * W);
        for (let k = 0; k < bits; k++)
          for (let w = 0; w < W; w++) {
            let want = 0;
            for (let i = 0; i < 32 && 32 * w + i < n; i++) want |= ((half[2 * (32 * w + i) + (k >>> 5)]! >>> (k & 31)) & 1) << i;
            if (planes[k * W + w] !== want >>> 0) assert.fail(`n ${n}, ${bits} bits: plane ${k} word ${w} is ${planes[k * W + w]}, expected ${want >>> 0}`);
          }
      }
    }
  });
  it('writes planes among a longer column\'s (planesInto), leaving the other words alone', () => {
    const x = col(randomInts(8193 + 70));
    const W = 400, off = 123, bits = 37, w = wordsFor(x.length);
    const out = new Uint32Array(bits * W).fill(0xdeadbeef);
    planesInto(x, bits, out, W, off);
    const want = toPlanes(x, bits);
    for (let k = 0; k < bits; k++) {
      assert.deepEqual(out.subarray(k * W + off, k * W + off + w), want.subarray(k * w, (k + 1) * w));
      assert.ok(out.subarray(k * W, k * W + off).every((v) => v === 0xdeadbeef) && out.subarray(k * W + off + w, (k + 1) * W).every((v) => v === 0xdeadbeef));
    }
    assert.throws(() => planesInto(x, bits, out, W, W - w + 1), RangeError);
  });
  it('packs and unpacks planes', () => {
    const bits = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1];
    const p = packBits(bits);
    assert.deepEqual(Array.from(unpackBits(p, bits.length)), bits);
    assert.deepEqual(Array.from(planeToCol(p, bits.length)), bits.map(BigInt));
  });
  it('takes a ripple-carry step (rippleStep) as the same loop in JavaScript does, across its chunks of 16384 words', () => {
    const words = () => (Math.random() * 2 ** 32) >>> 0;
    for (const W of [1, 3, 4, 5, 127, 16383, 16384, 16385, 40_001]) {
      for (const withSum of [false, true]) {
        const planes = Array.from({ length: 10 }, () => Uint32Array.from({ length: W }, words));
        const [ca, cb, ta, tb, aa, ab, ba, bb, sa, sb] = planes as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
        // The reference: the loop convert.ts rippleCarry ran before the kernel.
        const want = { ca: ca.slice(), cb: cb.slice(), sa: sa.slice(), sb: sb.slice(), z: new Uint32Array(W) };
        for (let w = 0; w < W; w++) {
          const c0 = (want.ca[w]! ^= ta[w]!), c1 = (want.cb[w]! ^= tb[w]!);
          if (withSum) (want.sa[w]! ^= c0), (want.sb[w]! ^= c1);
          const xa = aa[w]! ^ c0, xb = ab[w]! ^ c1, ya = ba[w]! ^ c0, yb = bb[w]! ^ c1;
          want.z[w] = (xa & (ya ^ yb)) ^ (xb & ya);
        }
        // Planes as views into longer arrays (as rippleCarry passes them), with guard words around z.
        const zBuf = new Uint32Array(W + 2).fill(0xdeadbeef);
        const z = zBuf.subarray(1, W + 1);
        rippleStep([ca, cb], [ta, tb], [aa, ab], [ba, bb], z, withSum ? [sa, sb] : undefined);
        const same = (a: Uint32Array, b: Uint32Array, what: string) => assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${what}, ${W} words${withSum ? ', with sum' : ''}`);
        same(ca, want.ca, 'carry a');
        same(cb, want.cb, 'carry b');
        same(z, want.z, 'z');
        same(sa, want.sa, 'sum a');
        same(sb, want.sb, 'sum b');
        assert.equal(zBuf[0], 0xdeadbeef);
        assert.equal(zBuf[W + 1], 0xdeadbeef);
      }
    }
  });
  it('takes a level of the sort\'s splitter search (searchLevel) as the same loop in JavaScript does, across its calls of 16384 rows', () => {
    const word = () => (Math.random() * 2 ** 32) >>> 0;
    for (const [m, s] of [[1, 1], [33, 2], [16384, 5], [16385, 7], [40_000, 15]] as const) {
      const k = 2 ** s - 1;
      const sa = col(randomInts(k)), sb = col(randomInts(k));
      const gap = new Uint32Array(m), want = new Uint32Array(m);
      const ya = new BigUint64Array(m), yb = new BigUint64Array(m);
      let less: Uint32Array | null = null;
      for (let level = 0; level <= s; level++) {
        const sh = s - level - 1;
        const wa = new BigUint64Array(m), wb = new BigUint64Array(m);
        // The reference: the loop sort.ts ran before the kernel.
        for (let q = 0; q < m; q++) {
          if (less) want[q] = (want[q]! << 1) | (((less[q >>> 5]! >>> (q & 31)) & 1) ^ 1);
          if (sh < 0) continue;
          const i = (((want[q]! << 1) | 1) << sh) - 1;
          wa[q] = sa[i]!;
          wb[q] = sb[i]!;
        }
        searchLevel(gap, less, sh, sa, sb, ya, yb);
        assert.deepEqual(gap, want, `gaps, ${m} rows, level ${level} of ${s}`);
        if (sh >= 0) {
          assert.deepEqual(ya, wa, `first halves, ${m} rows, level ${level} of ${s}`);
          assert.deepEqual(yb, wb, `second halves, ${m} rows, level ${level} of ${s}`);
        }
        less = Uint32Array.from({ length: (m + 31) >>> 5 }, word);
      }
      for (let q = 0; q < m; q++) assert.ok(gap[q]! <= k, 'every row ends in one of the k + 1 gaps');
    }
  });
  it('computes an AND\'s local shares (andLocal) as the loop in JavaScript does, across its chunks of 16384 words', () => {
    const word = () => (Math.random() * 2 ** 32) >>> 0;
    for (const W of [1, 2, 4, 7, 16384, 16387, 50_000]) {
      const [xa, xb, ya, yb] = Array.from({ length: 4 }, () => Uint32Array.from({ length: W }, word)) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
      const want = xa.map((_, i) => (xa[i]! & (ya[i]! ^ yb[i]!)) ^ (xb[i]! & ya[i]!));
      const zBuf = new Uint32Array(W + 2).fill(0xdeadbeef);
      andLocal(xa, xb, ya, yb, zBuf.subarray(1, W + 1));
      assert.deepEqual(zBuf.subarray(1, W + 1), want, `${W} words`);
      assert.equal(zBuf[0], 0xdeadbeef);
      assert.equal(zBuf[W + 1], 0xdeadbeef);
    }
  });
});
