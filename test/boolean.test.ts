import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import * as B from '../src/mpc/boolean.js';
import * as C from '../src/mpc/compare.js';
import { adderFor, b2a, bitDecompose, bitInject, carryInto, msb, RIPPLE_LANES, SPLIT_INPUT_LANES, twoTermBits } from '../src/mpc/convert.js';
import { fromPlanes, toPlanes, unpackBits } from '../src/ring/bits.js';
import { col, EDGES, LENGTHS, randomInts, run3, shareAll, signed, u64 } from './harness.js';

const bitsOf = (w: Uint32Array | null, n: number) => Array.from(unpackBits(w!, n));

describe('boolean shares (bit-sliced)', () => {
  it('AND, XOR, NOT, OR match plaintext on every lane and plane', async () => {
    for (const n of LENGTHS) {
      const x = col(randomInts(n)), y = col(randomInts(n).reverse());
      const px = toPlanes(x, 64), py = toPlanes(y, 64);
      const out = await run3(async (p) => {
        const sx = await B.inputBits(p, 1, p.id === 1 ? px : null, n, 64);
        const sy = await B.inputBits(p, 2, p.id === 2 ? py : null, n, 64);
        const [a, o] = [await B.and(p, sx, sy), await B.or(p, sx, sy)];
        return Promise.all([a, B.xor(sx, sy), B.not(p, sx), o].map((s) => B.revealBits(p, s)));
      });
      for (const [a, x2, nx, o] of out) {
        assert.deepEqual(fromPlanes(a!, n, 64), x.map((v, i) => v & y[i]!));
        assert.deepEqual(fromPlanes(x2!, n, 64), x.map((v, i) => v ^ y[i]!));
        assert.deepEqual(fromPlanes(nx!, n, 64), x.map((v) => ~v & ((1n << 64n) - 1n)));
        assert.deepEqual(fromPlanes(o!, n, 64), x.map((v, i) => v | y[i]!));
      }
    }
  });
});

describe('long boolean layers', () => {
  it('streams an AND layer longer than one 4 MiB slice and still matches plaintext', async () => {
    const words = (1 << 20) + 37;
    const n = 32 * words - 5;
    const xw = new Uint32Array(words).map((_, i) => Math.imul(i, 0x9e3779b9) >>> 0);
    const yw = new Uint32Array(words).map((_, i) => Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0);
    const out = await run3(async (p) => {
      const sx = await B.inputBits(p, 0, p.id === 0 ? xw : null, n, 1);
      const sy = await B.inputBits(p, 1, p.id === 1 ? yw : null, n, 1);
      return B.revealBits(p, await B.and(p, sx, sy));
    });
    const want = xw.map((v, i) => v & yw[i]!);
    for (const r of out) assert.deepEqual(r, want);
  });

  it('ANDs many pairs of any shapes in one round (andMany), short and kernel-sized runs, across slice boundaries', async () => {
    // Shapes (lanes × planes): one word, a run just under and over the kernel's 256 words, several
    // planes, and a pair long enough that the round's first 4 MiB slice ends inside it.
    const shapes: [number, number][] = [[5, 1], [32 * 255 + 7, 1], [32 * 257, 3], [100, 64], [32 * ((1 << 20) - 300) + 1, 1], [32 * 900, 2], [1, 1]];
    const words = (n: number, bits: number) => bits * Math.ceil(n / 32);
    const mk = (n: number, bits: number, seed: number) => new Uint32Array(words(n, bits)).map((_, i) => Math.imul(i ^ seed, 0x9e3779b9) >>> 0);
    const xs = shapes.map(([n, b], k) => mk(n, b, 17 * k + 1)), ys = shapes.map(([n, b], k) => mk(n, b, 31 * k + 5));
    const out = await run3(async (p) => {
      const pairs: [B.BShare, B.BShare][] = [];
      for (let k = 0; k < shapes.length; k++) {
        const [n, b] = shapes[k]!;
        pairs.push([await B.inputBits(p, 0, p.id === 0 ? xs[k]! : null, n, b), await B.inputBits(p, 2, p.id === 2 ? ys[k]! : null, n, b)]);
      }
      const sent = p.net.stats.frames;
      const zs = await B.andMany(p, pairs);
      const frames = p.net.stats.frames - sent;
      return { frames, got: await Promise.all(zs.map((z) => B.revealBits(p, z))) };
    });
    for (const r of out) {
      assert.equal(r.frames, 2, 'one round: the layer in two 4 MiB slices to one peer');
      shapes.forEach(([n, b], k) => {
        const got = r.got[k]!;
        assert.equal(got.length, words(n, b));
        // Words past n lanes in a plane are padding; compare the lanes that exist.
        const want = xs[k]!.map((v, i) => v & ys[k]![i]!);
        assert.deepEqual(fromPlanes(got, n, b), fromPlanes(want, n, b), `pair ${k} (${n} lanes × ${b})`);
      });
    }
  });
});

describe('AND of every pair of planes (andOuter)', () => {
  it('matches the plaintext plane (i, j) = x_i ∧ y_j, also when streamed in slices', async () => {
    // From 256 words a plane the local shares come from the andl kernel; 32·50 000 − 3 lanes × 24
    // planes is streamed in slices that cut planes.
    for (const [n, X, Y] of [[0, 2, 3], [1, 1, 1], [33, 3, 5], [1000, 2, 7], [32 * 300 + 5, 1, 4], [32 * 50_000 - 3, 3, 8]] as const) {
      const W = Math.ceil(n / 32);
      const xw = new Uint32Array(X * W).map((_, i) => Math.imul(i + 1, 0x9e3779b9) >>> 0);
      const yw = new Uint32Array(Y * W).map((_, i) => Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0);
      const out = await run3(async (p) => {
        const sx = await B.inputBits(p, 0, p.id === 0 ? xw : null, n, X);
        const sy = await B.inputBits(p, 1, p.id === 1 ? yw : null, n, Y);
        // The peer's half received into a given array (as merge.ts does), for the shapes with one x plane.
        const into = X === 1 ? new Uint32Array(X * Y * W).fill(0xdeadbeef) : undefined;
        const z = await B.andOuter(p, sx, sy, into);
        if (into) assert.equal(z.b, into);
        return B.revealBits(p, z);
      });
      const want = new Uint32Array(X * Y * W);
      for (let i = 0; i < X; i++) for (let j = 0; j < Y; j++) for (let w = 0; w < W; w++) want[(i * Y + j) * W + w] = xw[i * W + w]! & yw[j * W + w]!;
      for (const r of out) assert.deepEqual(r, want, `n=${n} ${X}×${Y}`);
    }
  });
});

describe('arithmetic ↔ boolean', () => {
  it('bit-decomposes (ABY3 adder) at 64 and fewer bits', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n);
      const [sx] = shareAll(col(xv));
      const out = await run3(async (p) => [await B.revealBits(p, await bitDecompose(p, sx![p.id]!, 64)), await B.revealBits(p, await bitDecompose(p, sx![p.id]!, 13))]);
      for (const [full, low] of out) {
        assert.deepEqual(fromPlanes(full!, n, 64), col(xv));
        assert.deepEqual(fromPlanes(low!, n, 13), col(xv.map((v) => v & 0x1fffn)));
      }
    }
  });

  it('extracts the sign bit at several widths', async () => {
    const xv = randomInts(300);
    const [sx] = shareAll(col(xv));
    for (const bits of [1, 2, 17, 33, 63, 64]) {
      const out = await run3(async (p) => B.revealBits(p, await msb(p, sx![p.id]!, bits)));
      for (const r of out) assert.deepEqual(bitsOf(r, 300), xv.map((v) => Number((u64(v) >> BigInt(bits - 1)) & 1n)));
    }
  });

  it('the ripple-carry and the tree adders give the same bits (decomposition, sign, carry), edges included', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n), yv = randomInts(n).reverse();
      const [sx, sy] = shareAll(col(xv), col(yv));
      for (const adder of ['tree', 'ripple'] as const) {
        const out = await run3(async (p) => {
          const x = sx![p.id]!, y = sy![p.id]!;
          const [X, Y] = [await bitDecompose(p, x, 64, adder), await bitDecompose(p, y, 64, adder)];
          return [
            await B.revealBits(p, await bitDecompose(p, x, 64, adder)),
            await B.revealBits(p, await bitDecompose(p, x, 1, adder)),
            await B.revealBits(p, await bitDecompose(p, x, 34, adder)),
            await B.revealBits(p, await msb(p, x, 64, adder)),
            await B.revealBits(p, await msb(p, x, 35, adder)),
            await B.revealBits(p, await carryInto(p, X, Y, 64, adder)),
            await B.revealBits(p, await carryInto(p, X, Y, 1, adder)),
            await B.revealBits(p, await carryInto(p, X, Y, 37, adder)),
          ];
        });
        const carry = (m: number) => xv.map((v, i) => Number((((u64(v) & ((1n << BigInt(m)) - 1n)) + (u64(yv[i]!) & ((1n << BigInt(m)) - 1n))) >> BigInt(m)) & 1n));
        for (const [full, one, id, sign, sign35, c64, c1, c37] of out) {
          assert.deepEqual(fromPlanes(full!, n, 64), col(xv), `${adder} n=${n}`);
          assert.deepEqual(fromPlanes(one!, n, 1), col(xv.map((v) => v & 1n)));
          assert.deepEqual(fromPlanes(id!, n, 34), col(xv.map((v) => v & ((1n << 34n) - 1n))));
          assert.deepEqual(bitsOf(sign, n), xv.map((v) => Number(u64(v) >> 63n)));
          assert.deepEqual(bitsOf(sign35, n), xv.map((v) => Number((u64(v) >> 34n) & 1n)));
          assert.deepEqual(bitsOf(c64, n), carry(64), `${adder} carry out of 64, n=${n}`);
          assert.deepEqual(bitsOf(c1, n), carry(1));
          assert.deepEqual(bitsOf(c37, n), carry(37));
        }
      }
    }
  });

  it('picks the ripple-carry adder from RIPPLE_LANES lanes on', () => {
    assert.equal(adderFor(RIPPLE_LANES - 1), 'tree');
    assert.equal(adderFor(RIPPLE_LANES), 'ripple');
  });

  it('injects bits into arithmetic shares and converts whole values back', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n);
      const planes = toPlanes(col(xv), 64);
      const out = await run3(async (p) => {
        const sb = await B.inputBits(p, 0, p.id === 0 ? planes : null, n, 64);
        return A.revealMany(p, [await bitInject(p, sb.planes(5, 7)), await b2a(p, sb)]);
      });
      for (const [inj, back] of out) {
        assert.deepEqual(Array.from(inj!), [...xv.map((v) => (u64(v) >> 5n) & 1n), ...xv.map((v) => (u64(v) >> 6n) & 1n)]);
        assert.deepEqual(back, col(xv));
      }
    }
  });
});

describe('comparison and selection', () => {
  const cases = (n: number): [bigint[], bigint[]] => {
    const xs = randomInts(n);
    const ys = randomInts(n).map((v, i) => (i % 5 === 0 ? xs[i]! : v)); // some ties
    // every pair of edge values
    for (const a of EDGES) for (const b of EDGES) { xs.push(a); ys.push(b); }
    return [xs, ys];
  };

  it('lt, le, gt, ge, eq, ne on shared operands over the full signed range', async () => {
    for (const n of [0, 1, 33, 200]) {
      const [xv, yv] = cases(n);
      const m = xv.length;
      const [sx, sy] = shareAll(col(xv), col(yv));
      const out = await run3(async (p) => {
        const x = sx![p.id]!, y = sy![p.id]!;
        const rs = [await C.lt(p, x, y), await C.le(p, x, y), await C.gt(p, x, y), await C.ge(p, x, y), await C.eq(p, x, y), await C.ne(p, x, y)];
        return Promise.all(rs.map((r) => B.revealBits(p, r)));
      });
      const want = [
        xv.map((v, i) => +(v < yv[i]!)), xv.map((v, i) => +(v <= yv[i]!)), xv.map((v, i) => +(v > yv[i]!)),
        xv.map((v, i) => +(v >= yv[i]!)), xv.map((v, i) => +(v === yv[i]!)), xv.map((v, i) => +(v !== yv[i]!)),
      ];
      for (const r of out) want.forEach((w, k) => assert.deepEqual(bitsOf(r[k]!, m), w, `op ${k}`));
    }
  });

  it('the two terms by thirds of the lanes add up to x (and x with b negated), each party sending a third of the input', async () => {
    for (const n of [65, 96, 100, 191, 4096 + 33]) {
      const xv = randomInts(n);
      const [sx] = shareAll(col(xv));
      for (const [bits, negateB] of [[64, false], [35, true]] as const) {
        const sent: number[] = [];
        const out = await run3(async (p) => {
          const before = p.net.stats.sent;
          const [A, B2] = await twoTermBits(p, sx![p.id]!, bits, negateB, true);
          sent[p.id] = p.net.stats.sent - before;
          return [await B.revealBits(p, A), await B.revealBits(p, B2)];
        });
        const mask = (1n << BigInt(bits)) - 1n;
        for (const [a, b] of out) {
          const [av, bv] = [fromPlanes(a!, n, bits), fromPlanes(b!, n, bits)];
          assert.deepEqual(col(xv.map((_, i) => (negateB ? av[i]! - bv[i]! : av[i]! + bv[i]!) & mask)), col(xv.map((v) => v & mask)), `n=${n}, ${bits} bits`);
        }
        assert.ok(Math.max(...sent) - Math.min(...sent) <= 2 * 4 * bits && Math.min(...sent) > 0, `bytes sent per party ${sent.join(', ')}`);
      }
    }
  });

  it('from SPLIT_INPUT_LANES lanes on, signs and comparisons take the terms by thirds', async () => {
    const n = SPLIT_INPUT_LANES + 33;
    const xv = randomInts(n), yv = randomInts(n).map((v, i) => (i % 7 ? v : xv[i]!));
    const [sx, sy] = shareAll(col(xv), col(yv));
    const sent: number[] = [];
    const out = await run3(async (p) => {
      const before = p.net.stats.sent;
      const s = await B.revealBits(p, await msb(p, sx![p.id]!, 35));
      sent[p.id] = p.net.stats.sent - before;
      return [s, await B.revealBits(p, await C.lt(p, sx![p.id]!, sy![p.id]!))];
    });
    for (const [sign35, less] of out) {
      assert.deepEqual(bitsOf(sign35, n), xv.map((v) => Number((u64(v) >> 34n) & 1n)));
      assert.deepEqual(bitsOf(less, n), xv.map((v, i) => +(v < yv[i]!)));
    }
    assert.ok(Math.max(...sent) / Math.min(...sent) < 1.05, `bytes sent per party ${sent.join(', ')}`);
  });

  it('compares against public values on both sides', async () => {
    const xv = [...randomInts(100), ...EDGES];
    const [sx] = shareAll(col(xv));
    for (const c of [0n, -1n, 1000n, (1n << 63n) - 1n, -(1n << 63n)]) {
      const out = await run3(async (p) => {
        const x = sx![p.id]!;
        return Promise.all([await C.lt(p, x, c), await C.lt(p, c, x), await C.eq(p, x, c)].map((r) => B.revealBits(p, r)));
      });
      for (const [l, g, e] of out) {
        assert.deepEqual(bitsOf(l, xv.length), xv.map((v) => +(v < c)));
        assert.deepEqual(bitsOf(g, xv.length), xv.map((v) => +(c < v)));
        assert.deepEqual(bitsOf(e, xv.length), xv.map((v) => +(v === c)));
      }
    }
  });

  it('bounded comparisons are exact for inputs within the declared width', async () => {
    for (const bits of [1, 8, 32, 53, 63]) {
      const lim = 1n << BigInt(bits - 1);
      const clamp = (v: bigint) => ((v % lim) + lim) % (2n * lim) - lim; // into [-2^(bits-1), 2^(bits-1))
      const xv = [...randomInts(150, bits), lim - 1n, -lim, 0n, -1n].map(clamp);
      const yv = [...randomInts(150, bits), -lim, lim - 1n, 0n, -1n].map(clamp);
      const [sx, sy] = shareAll(col(xv), col(yv));
      const out = await run3(async (p) => Promise.all([await C.lt(p, sx![p.id]!, sy![p.id]!, { bits }), await C.eq(p, sx![p.id]!, sy![p.id]!, { bits })].map((r) => B.revealBits(p, r))));
      for (const [l, e] of out) {
        assert.deepEqual(bitsOf(l, xv.length), xv.map((v, i) => +(v < yv[i]!)), `lt bits=${bits}`);
        assert.deepEqual(bitsOf(e, xv.length), xv.map((v, i) => +(v === yv[i]!)), `eq bits=${bits}`);
      }
    }
  });

  it('selects lane by lane', async () => {
    for (const n of LENGTHS) {
      const xv = randomInts(n), yv = randomInts(n).reverse();
      const [sx, sy] = shareAll(col(xv), col(yv));
      const out = await run3(async (p) => {
        const x = sx![p.id]!, y = sy![p.id]!;
        const c = await C.lt(p, x, y);
        return A.revealMany(p, [await C.select(p, c, x, y), await C.select(p, c, 7n, y)]);
      });
      for (const [mn, sel] of out) {
        assert.deepEqual(signed(mn!), xv.map((v, i) => (v < yv[i]! ? v : yv[i]!)));
        assert.deepEqual(signed(sel!), xv.map((v, i) => (v < yv[i]! ? 7n : yv[i]!)));
      }
    }
  });
});
