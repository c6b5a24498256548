import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromPlanes, packBits, planeToCol, toPlanes, transpose32, unpackBits, wordsFor } from '../src/ring/bits.js';
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
  it('packs and unpacks planes', () => {
    const bits = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1];
    const p = packBits(bits);
    assert.deepEqual(Array.from(unpackBits(p, bits.length)), bits);
    assert.deepEqual(Array.from(planeToCol(p, bits.length)), bits.map(BigInt));
  });
});
