import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { AShare, combineShares, splitShares } from '../src/mpc/share.js';
import * as R from '../src/ring/ring64.js';
import { col, EDGES, LENGTHS, randomInts, run3, shareAll, signed, u64 } from './harness.js';

describe('replicated sharing over Z_2^64', () => {
  it('makes columns from safe integers exactly as from their BigInt values', () => {
    const vals = [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32, -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53 - 1), 123456789012, -987654321098];
    for (let i = 0; i < 1000; i++) vals.push(Math.round((Math.random() - 0.5) * 2 ** (1 + Math.floor(Math.random() * 53))));
    assert.deepEqual(R.fromInts(vals), R.fromValues(vals));
    assert.deepEqual(R.fromInts(new Int32Array([-5, 7])), R.fromValues([-5, 7]));
    for (const bad of [0.5, NaN, 2 ** 53, Infinity]) assert.throws(() => R.fromInts([bad]), RangeError);
  });
  it('splits and recombines at every pair of parties', () => {
    for (const n of LENGTHS) {
      const x = col(randomInts(n));
      const s = splitShares(x);
      for (const i of [0, 1, 2]) assert.deepEqual(combineShares(s[i]!, s[(i + 1) % 3]!), x);
    }
  });

  it('reveals to all and to one party only', async () => {
    for (const n of LENGTHS) {
      const x = col(randomInts(n));
      const [sx] = shareAll(x);
      const all = await run3((p) => A.reveal(p, sx![p.id]!));
      for (const r of all) assert.deepEqual(r, x);
      for (const to of [0, 1, 2] as const) {
        const one = await run3((p) => A.reveal(p, sx![p.id]!, to));
        one.forEach((r, i) => (i === to ? assert.deepEqual(r, x) : assert.equal(r, null)));
      }
    }
  });

  it('lets each party input a column', async () => {
    for (const owner of [0, 1, 2] as const) {
      for (const n of [0, 1, 33]) {
        const x = col(randomInts(n));
        const out = await run3(async (p) => A.reveal(p, await A.input(p, owner, p.id === owner ? x : null, n)));
        for (const r of out) assert.deepEqual(r, x);
        // consume: the owner's column becomes the share it sends (the same value is input).
        const tmp = x.slice();
        const consumed = await run3(async (p) => A.reveal(p, await A.input(p, owner, p.id === owner ? tmp : null, n, { consume: true })));
        for (const r of consumed) assert.deepEqual(r, x);
      }
    }
  });

  it('adds, subtracts, negates and applies public constants locally', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n);
      const yv = randomInts(n).reverse();
      const [sx, sy] = shareAll(col(xv), col(yv));
      const c = -(1n << 40n) + 7n;
      const pubCol = col(yv);
      const out = await run3(async (p) => {
        const x = sx![p.id]!;
        const y = sy![p.id]!;
        return A.revealMany(p, [A.add(x, y), A.sub(x, y), A.neg(x), A.addPublic(p, x, c), A.mulPublic(x, c), A.mulPublic(x, pubCol), A.addPublic(p, x, pubCol), A.subFromPublic(p, c, x)]);
      });
      const expect = [
        xv.map((v, i) => v + yv[i]!),
        xv.map((v, i) => v - yv[i]!),
        xv.map((v) => -v),
        xv.map((v) => v + c),
        xv.map((v) => v * c),
        xv.map((v, i) => v * yv[i]!),
        xv.map((v, i) => v + yv[i]!),
        xv.map((v) => c - v),
      ];
      for (const r of out) expect.forEach((e, k) => assert.deepEqual(r[k], col(e.map(u64))));
    }
  });

  it('ring kernel xorLift computes a + b − 2c mod 2^64 (edges near the wrap, every length)', () => {
    for (const n of LENGTHS) {
      const [a, b, c] = [randomInts(n), randomInts(n).reverse(), randomInts(n)];
      assert.deepEqual(R.xorLift(col(a), col(b), col(c)), col(a.map((x, i) => x + b[i]! - 2n * c[i]!)));
    }
    const bit = col([0n, 1n, 0n, 1n]), bit2 = col([0n, 0n, 1n, 1n]);
    assert.deepEqual(R.xorLift(bit, bit2, R.mul(bit, bit2)), col([0n, 1n, 1n, 0n]));
    assert.throws(() => R.xorLift(col([1n]), col([1n, 2n]), col([1n])), RangeError);
  });

  it('multiplies shares (one round) and matches plaintext mod 2^64', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n);
      const yv = randomInts(n).reverse();
      const [sx, sy] = shareAll(col(xv), col(yv));
      const out = await run3(async (p) => A.reveal(p, await A.mul(p, sx![p.id]!, sy![p.id]!)));
      const want = col(xv.map((v, i) => v * yv[i]!));
      for (const r of out) assert.deepEqual(r, want);
    }
  });

  it('computes dot products and sums', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n);
      const yv = randomInts(n).reverse();
      const [sx, sy] = shareAll(col(xv), col(yv));
      const out = await run3(async (p) => A.revealMany(p, [await A.dot(p, sx![p.id]!, sy![p.id]!), A.sum(sx![p.id]!), await A.dot(p, sx![p.id]!, sx![p.id]!)]));
      const dot = xv.reduce((s, v, i) => s + v * yv[i]!, 0n);
      const sum = xv.reduce((s, v) => s + v, 0n);
      const squares = xv.reduce((s, v) => s + v * v, 0n); // x·x: the aliased path (each half copied once)
      for (const [d, s, q] of out) {
        assert.deepEqual(signed(d!), [BigInt.asIntN(64, dot)]);
        assert.deepEqual(signed(s!), [BigInt.asIntN(64, sum)]);
        assert.deepEqual(signed(q!), [BigInt.asIntN(64, squares)]);
      }
    }
  });

  it('takes sums in the same pass as inner products (columns in pairs, and one that is only summed)', async () => {
    for (const n of [...LENGTHS, (1 << 18) + 3]) {
      // random values, and the ring's edges (wrapping sums and products)
      const xv = n > 1000 ? randomInts(n) : randomInts(n).map((v, i) => (i % 3 ? v : EDGES[i % EDGES.length]!));
      const yv = randomInts(n).reverse();
      const wv = randomInts(n, 20);
      const [sx, sy, sw] = shareAll(col(xv), col(yv), col(wv));
      const out = await run3(async (p) => {
        const [x, y, w] = [sx![p.id]!, sy![p.id]!, sw![p.id]!];
        const { dots, sums } = await A.dotManyAndSums(p, [[x, x], [x, y]], [x, w, y]);
        // A Gram matrix: x's sums ride with x·y, y's with y·y (a square with its sums), x·x after them (a square alone).
        const gram = await A.dotManyAndSums(p, [[x, y], [y, y], [x, x]], [y, x]);
        return A.revealMany(p, [dots, ...sums, gram.dots, ...gram.sums]);
      });
      const total = (v: bigint[]) => BigInt.asIntN(64, v.reduce((s, a) => s + a, 0n));
      const [xx, xy, yy] = [total(xv.map((v) => v * v)), total(xv.map((v, i) => v * yv[i]!)), total(yv.map((v) => v * v))];
      const want = [[xx, xy], [total(xv)], [total(wv)], [total(yv)], [xy, yy, xx], [total(yv)], [total(xv)]];
      for (const got of out) assert.deepEqual(got.map((c) => signed(c!)), want);
    }
  });

  it('streams long columns in slices and still multiplies exactly', async () => {
    const n = 2 * A.STREAM_LANES + 3;
    const x = new BigUint64Array(n).map((_, i) => BigInt(i) * 0x9e3779b97f4a7c15n);
    const y = new BigUint64Array(n).map((_, i) => BigInt(n - i) * 0x7f4a7c159e3779b9n + 1n);
    const [sx, sy] = shareAll(x, y);
    const out = await run3(async (p) => A.reveal(p, await A.mul(p, sx![p.id]!, sy![p.id]!)));
    const want = R.mul(x, y);
    for (const r of out) assert.deepEqual(r, want);
  });

  it('writes a product into a given output, round after round, at short and streamed lengths', async () => {
    for (const n of [0, 1, 37, 2 * A.STREAM_LANES + 3]) {
      const xv = n > 1000 ? null : randomInts(n);
      const x = xv ? col(xv) : new BigUint64Array(n).map((_, i) => BigInt(i) * 0x9e3779b97f4a7c15n);
      const y = new BigUint64Array(n).map((_, i) => BigInt(n - i) * 0x7f4a7c159e3779b9n + 1n);
      const z = new BigUint64Array(n).map((_, i) => (BigInt(i) << 20n) + 5n);
      const [sx, sy, sz] = shareAll(x, y, z);
      const out = await run3(async (p) => {
        const o = new AShare(new BigUint64Array(n).fill(0xdeadn), new BigUint64Array(n).fill(0xbeefn));
        const xy = await A.mul(p, sx![p.id]!, sy![p.id]!, o);
        assert.equal(xy, o, 'the output given is returned');
        const first = await A.reveal(p, xy);
        // The same output again: the earlier product is overwritten, not added to.
        const again = await A.mul(p, sz![p.id]!, sy![p.id]!, o);
        return [first, await A.reveal(p, again)];
      });
      for (const [first, second] of out) {
        assert.deepEqual(first, R.mul(x, y));
        assert.deepEqual(second, R.mul(z, y));
      }
    }
  });

  it('refuses an output of the wrong length or one that shares memory with an input', async () => {
    const [sx, sy] = shareAll(col(randomInts(8)), col(randomInts(8)));
    await run3(async (p) => {
      const x = sx![p.id]!, y = sy![p.id]!;
      await assert.rejects(A.mul(p, x, y, new AShare(R.uninit(7), R.uninit(7))), /output has 7 lanes, expected 8/);
      const both = R.uninit(16);
      const y16 = new BigUint64Array(16);
      for (const bad of [
        new AShare(x.a, R.uninit(8)), // x's own half
        new AShare(R.uninit(8), y.b),
        new AShare(both.subarray(0, 8), both.subarray(4, 12)), // the halves overlap each other
      ])
        await assert.rejects(A.mul(p, x, y, bad), /share memory/);
      // Overlapping by one lane counts; adjacent does not.
      y16.set(y.a, 0);
      const yOver = new AShare(y16.subarray(0, 8), y.b);
      await assert.rejects(A.mul(p, x, yOver, new AShare(y16.subarray(7, 15), R.uninit(8))), /share memory/);
      // Refused before anything was sent: a product with a proper output still works.
      const ok = await A.mul(p, x, y, new AShare(both.subarray(0, 8), both.subarray(8, 16)));
      return A.reveal(p, ok);
    });
  });

  it('batches several products into one round', async () => {
    const xv = randomInts(50);
    const [sx] = shareAll(col(xv));
    let frames = 0;
    const out = await run3(async (p) => {
      const x = sx![p.id]!;
      const before = p.net.stats.frames;
      const [sq, cube] = await A.mulMany(p, [[x, x], [x, x]]);
      frames = p.net.stats.frames - before;
      return A.revealMany(p, [sq!, cube!]);
    });
    assert.equal(frames, 1);
    for (const [a] of out) assert.deepEqual(a, col(xv.map((v) => v * v)));
  });

  it('batches products of columns of different lengths, across the streaming slices, without concatenating them', async () => {
    // Lengths 0, odd, and pairs that straddle the STREAM_LANES slice boundaries of the one message.
    const lens = [0, 3, A.STREAM_LANES - 1, 0, 2, A.STREAM_LANES + 5, 1];
    const xs = lens.map((n) => randomInts(n)), ys = lens.map((n) => randomInts(n));
    const sx = xs.map((v) => shareAll(col(v))[0]!), sy = ys.map((v) => shareAll(col(v))[0]!);
    const out = await run3(async (p) => {
      const before = p.net.stats.frames;
      const z = await A.mulMany(p, lens.map((_, k) => [sx[k]![p.id]!, sy[k]![p.id]!] as [A.AShare, A.AShare]));
      const frames = p.net.stats.frames - before;
      return { frames, z: await A.revealMany(p, z) };
    });
    const total = lens.reduce((s, n) => s + n, 0);
    for (const { frames, z } of out) {
      assert.equal(frames, Math.ceil(total / A.STREAM_LANES));
      lens.forEach((_, k) => assert.deepEqual(z[k], col(xs[k]!.map((v, i) => v * ys[k]![i]!)), `pair ${k}`));
    }
    const empty = await run3((p) => A.mulMany(p, [[sx[0]![p.id]!, sy[0]![p.id]!]]));
    for (const [z] of empty) assert.equal(z!.length, 0);
  });
});
