import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import * as F from '../src/mpc/fixed.js';
import { chiSquare, col, LENGTHS, run3, shareAll, signed } from './harness.js';

const f = 16;
const SCALE = 2 ** f;

/** Uniform doubles in [0, 1) from crypto bytes (reproducible enough; failures print the inputs). */
function uniform(n: number): number[] {
  const b = randomBytes(4 * Math.max(n, 1));
  const v = new Uint32Array(b.buffer, b.byteOffset, Math.max(n, 1));
  return Array.from({ length: n }, (_, i) => v[i]! / 2 ** 32);
}
/** n random 62-bit-range signed integers (|x| < 2^bits). */
function randomSigned(n: number, bits: number): bigint[] {
  const b = randomBytes(8 * Math.max(n, 1));
  const v = new BigInt64Array(b.buffer, b.byteOffset, Math.max(n, 1));
  return Array.from({ length: n }, (_, i) => BigInt.asIntN(bits, v[i]!));
}
/** Log-uniform integers in [2^lo, 2^hi), random sign if `signs`. */
function logUniform(n: number, lo: number, hi: number, signs: boolean): bigint[] {
  const u = uniform(2 * n);
  return Array.from({ length: n }, (_, i) => {
    let v = BigInt(Math.floor(2 ** (lo + (hi - lo) * u[2 * i]!)));
    if (v < 1n << BigInt(lo)) v = 1n << BigInt(lo);
    if (v >= 1n << BigInt(hi)) v = (1n << BigInt(hi)) - 1n;
    return signs && u[2 * i + 1]! < 0.5 ? -v : v;
  });
}
const floorDiv = (x: bigint, d: number): bigint => x >> BigInt(d); // BigInt >> is floor for negatives

/** Shares plaintext integers, runs fn on them, reveals; returns the signed results (checked equal at all parties). */
async function runOn(inputs: bigint[][], fn: (p: Parameters<Parameters<typeof run3>[0]>[0], xs: A.AShare[]) => Promise<A.AShare>): Promise<bigint[]> {
  const shares = shareAll(...inputs.map(col));
  const out = await run3(async (p) => A.reveal(p, await fn(p, shares.map((s) => s[p.id]!))));
  assert.deepEqual(out[0], out[1]);
  assert.deepEqual(out[1], out[2]);
  return signed(out[0]!);
}

/**
 * Asserts |got − exact| ≤ relTol·|exact| + absTol (in ulps) on every lane; returns the measured worst
 * absolute error where |exact| < 2^20 ulp and the worst relative error beyond the absTol term.
 */
function checkBound(what: string, inputs: bigint[][], got: bigint[], exact: number[], relTol: number, absTol: number): { rel: number; ulp: number } {
  let rel = 0, ulp = 0;
  got.forEach((g, i) => {
    const e = exact[i]!;
    const err = Math.abs(Number(g) - e);
    if (err > relTol * Math.abs(e) + absTol) {
      assert.fail(`${what}: lane ${i} inputs ${inputs.map((c) => c[i]).join(', ')}: got ${g}, want ${e} (err ${err} ulp)`);
    }
    if (Math.abs(e) < 2 ** 20) ulp = Math.max(ulp, err);
    if (e !== 0) rel = Math.max(rel, (err - absTol) / Math.abs(e));
  });
  return { rel, ulp };
}
const report = (name: string, m: { rel: number; ulp: number }) =>
  `${name}: max error ${m.ulp.toFixed(3)} ulp where |result| < 2^20 ulp; max (err − ulp term)/|result| ${m.rel.toExponential(2)} (2^${Math.log2(m.rel || 2 ** -99).toFixed(1)})`;

describe('fixed-point encoding', () => {
  it('rounds to nearest and decodes back', () => {
    const vals = [0, -0, 1, -1, 0.5 / SCALE, -0.5 / SCALE, 1.5 / SCALE, 3.14159, -2.71828, 2 ** 46, -(2 ** 47), 2 ** 47 - 1, 2 ** 30 + 2 ** -16, 123456.789, -1e-9];
    const rnd = uniform(1000).map((u, i) => (u - 0.5) * 2 ** ((i % 40) + 1));
    const all = [...vals, ...rnd];
    const c = F.encodeFixed(all, f);
    signed(c).forEach((v, i) => assert.equal(v, BigInt(Math.round(all[i]! * SCALE)), `value ${all[i]}`));
    const back = F.decodeFixed(c, f);
    back.forEach((v, i) => assert.ok(Math.abs(v - all[i]!) <= 0.5 / SCALE, `value ${all[i]} decoded as ${v}`));
    assert.deepEqual(F.decodeFixed(F.encodeFixed([], f), f), new Float64Array(0));
    assert.deepEqual(F.encodeFixed(new Float64Array([2.25]), 2), col([9n]));
  });

  it('rejects values outside the representable range |v| < 2^(63−f)', () => {
    for (const v of [NaN, Infinity, -Infinity, 2 ** 47, -(2 ** 47) - 1]) assert.throws(() => F.encodeFixed([v], f), RangeError);
    assert.throws(() => F.encodeFixed([1], 63), RangeError);
  });
});

describe('truncation (two rounds)', () => {
  const B62 = 1n << 62n;
  const edges = (d: number): bigint[] => {
    const p = 1n << BigInt(d);
    return [0n, 1n, -1n, p, -p, p - 1n, -p + 1n, p + 1n, -p - 1n, B62 - 1n, -(B62 - 1n), -B62, B62 - p, -B62 + p];
  };

  it('gives floor(x/2^d) or one less, for every lane, shift and length', async () => {
    for (const d of [1, 8, 16, 31, 40, 61, 62]) {
      for (const n of [...LENGTHS, 3000]) {
        const x = [...edges(d), ...randomSigned(n, 63).map((v) => v >> 1n), ...randomSigned(n, 40)].slice(0, Math.max(n, 0));
        const got = await runOn([x], (p, [s]) => F.truncate(p, s!, d));
        got.forEach((g, i) => {
          const diff = g - floorDiv(x[i]!, d);
          assert.ok(diff === 0n || diff === -1n, `d=${d} x=${x[i]}: got ${g}, floor ${floorDiv(x[i]!, d)}`);
        });
      }
    }
  });

  it('drops the carry sometimes; on exact multiples the rounding variant (mulFixed) is exact', async () => {
    const n = 2000;
    const x = randomSigned(n, 60);
    const got = await runOn([x], (p, [s]) => F.truncate(p, s!, 16));
    const diffs = new Set(got.map((g, i) => g - floorDiv(x[i]!, 16)));
    assert.deepEqual([...diffs].sort(), [-1n, 0n]);
    // mul re-randomises the shares, so on exact products (X·1.0) the carry is almost always 1 and
    // mulFixed = floor − c + 1 returns X except with probability 2^−16 per lane.
    const y = randomSigned(n, 40);
    const ones = new Array(n).fill(1n << 16n) as bigint[];
    const one = await runOn([y, ones], (p, [s, o]) => F.mulFixed(p, s!, o!));
    const exact = one.filter((g, i) => g === y[i]!).length;
    assert.ok(one.every((g, i) => g === y[i]! || g === y[i]! + 1n));
    assert.ok(exact >= n - 5, `only ${exact} of ${n} exact`);
    // Public integer factors are exact and local.
    assert.deepEqual(await runOn([y], (p, [s]) => F.mulPublicFixed(p, s!, -3)), y.map((v) => -3n * v));
  });

  it('truncates several columns by different shifts in one call', async () => {
    const x = randomSigned(50, 50), y = randomSigned(7, 62);
    const shares = shareAll(col(x), col(y));
    const out = await run3(async (p) => {
      const [tx, ty] = await F.truncateMany(p, [[shares[0]![p.id]!, 3], [shares[1]![p.id]!, 45]]);
      return A.revealMany(p, [tx!, ty!]);
    });
    for (const [rx, ry] of out) {
      signed(rx!).forEach((g, i) => assert.ok([0n, -1n].includes(g - floorDiv(x[i]!, 3))));
      signed(ry!).forEach((g, i) => assert.ok([0n, -1n].includes(g - floorDiv(y[i]!, 45))));
    }
  });

  it('is out of contract for |x| ≥ 2^62: large (wrap-around) errors do occur there', async () => {
    const n = 2000;
    const x = [...Array(n / 2).fill((1n << 63n) - 5n), ...Array(n / 2).fill(-(1n << 63n) + (1n << 61n))] as bigint[];
    const got = await runOn([x], (p, [s]) => F.truncate(p, s!, 16));
    const bad = got.filter((g, i) => g - floorDiv(x[i]!, 16) < -1n || g - floorDiv(x[i]!, 16) > 0n).length;
    assert.ok(bad > 0, 'expected some lanes to be off by 2^48');
    await assert.rejects(run3((p) => F.truncate(p, A.fromPublic(p, col([1n])), 63)), RangeError);
  });
});

describe('fixed-point multiplication', () => {
  it('mulFixed = floor(X·Y/2^f) + {0,1}, |x·y| < 2^(62−2f)', async () => {
    for (const n of LENGTHS) {
      // |X| < 2^bx, |Y| < 2^(61−bx) with bx random in 1..60, so |X·Y| < 2^61.
      const bx = uniform(n).map((u) => 1 + Math.floor(u * 60));
      const x = randomSigned(n, 64).map((v, i) => BigInt.asIntN(bx[i]!, v));
      const y = randomSigned(n, 64).map((v, i) => BigInt.asIntN(61 - bx[i]!, v));
      const got = await runOn([x, y], (p, [a, b]) => F.mulFixed(p, a!, b!, f));
      got.forEach((g, i) => {
        const prod = x[i]! * y[i]!;
        assert.ok(prod < 1n << 62n && prod >= -(1n << 62n), `test input out of range ${x[i]} ${y[i]}`);
        const d = g - floorDiv(prod, f);
        assert.ok(d === 0n || d === 1n, `${x[i]}·${y[i]}: got ${g}`);
      });
    }
  });

  it('matches plaintext reals within 1 ulp plus input rounding, batched over several pairs', async () => {
    const xs = uniform(300).map((u) => (u - 0.5) * 2000);
    const ys = uniform(300).map((u) => (u - 0.5) * 1000);
    const zs = uniform(17).map((u) => (u - 0.5) * 3);
    const [cx, cy, cz] = [F.encodeFixed(xs), F.encodeFixed(ys), F.encodeFixed(zs)];
    const sh = shareAll(cx, cy, cz);
    const out = await run3(async (p) => {
      const [x, y, z] = sh.map((s) => s[p.id]!);
      const [xy, zz] = await F.mulFixedMany(p, [[x!, y!], [z!, z!]]);
      return A.revealMany(p, [xy!, zz!]);
    });
    for (const [rxy, rzz] of out) {
      F.decodeFixed(rxy!).forEach((v, i) => assert.ok(Math.abs(v - xs[i]! * ys[i]!) <= (1 + 0.5 * (Math.abs(xs[i]!) + Math.abs(ys[i]!)) + 0.01) / SCALE, `${xs[i]}·${ys[i]} = ${v}`));
      F.decodeFixed(rzz!).forEach((v, i) => assert.ok(Math.abs(v - zs[i]! * zs[i]!) <= (1 + Math.abs(zs[i]!) + 0.01) / SCALE));
    }
    assert.deepEqual(await run3(async (p) => F.mulFixedMany(p, [])), [[], [], []]);
  });

  it('rounds without bias: the mean error of mulFixed over many lanes is ~0 (bare truncation: −1 ulp)', async () => {
    const n = 5000;
    const x = randomSigned(n, 40), y = randomSigned(n, 20);
    const [got, bare] = await Promise.all([0, 1].map(async (which) =>
      runOn([x, y], async (p, [a, b]) => (which === 0 ? F.mulFixed(p, a!, b!, f) : F.truncate(p, await A.mul(p, a!, b!), f)))));
    const mean = (g: bigint[]) => g.reduce((s, v, i) => s + (Number(v) - Number(x[i]! * y[i]!) / SCALE), 0) / n;
    assert.ok(Math.abs(mean(got!)) < 0.05, `mulFixed mean error ${mean(got!)}`);
    assert.ok(Math.abs(mean(bare!) + 1) < 0.05, `truncate mean error ${mean(bare!)}`);
  });

  it('multiplies by a public real', async () => {
    const x = randomSigned(100, 40);
    for (const c of [-2.5, 0.1, 1 / 3]) {
      const C = BigInt(Math.round(c * SCALE));
      const got = await runOn([x], (p, [s]) => F.mulPublicFixed(p, s!, c));
      got.forEach((g, i) => assert.ok([0n, 1n].includes(g - floorDiv(x[i]! * C, 16)), `${x[i]}·${c}`));
    }
  });
});

describe('reciprocal and division', () => {
  it('reciprocal: |err| ≤ 2^−27·|1/x| + 1 ulp for 2^−16 ≤ |x| < 2^44, signed', async (t) => {
    const edges = [1n, -1n, 2n, -2n, 3n, 1n << 16n, -(1n << 16n), (1n << 16n) + 1n, (1n << 16n) - 1n, 1n << 32n, -(1n << 40n), (1n << 60n) - 1n, -((1n << 60n) - 1n), -(1n << 59n), 12345n, 65535n * 65536n];
    const x = [...edges, ...logUniform(600, 0, 60, true)];
    const got = await runOn([x], (p, [s]) => F.reciprocal(p, s!, f));
    const exact = x.map((v) => SCALE ** 2 / Number(v));
    const m = checkBound('reciprocal', [x], got, exact, 2 ** -27, 1);
    t.diagnostic(report('reciprocal', m));
  });

  it('reciprocal on lengths 0, 1, 33 and the narrow range [2^−8, 2^20]', async () => {
    for (const n of [0, 1, 33]) {
      const x = logUniform(n, 8, 36, true);
      const got = await runOn([x], (p, [s]) => F.reciprocal(p, s!, f));
      checkBound('reciprocal', [x], got, x.map((v) => SCALE ** 2 / Number(v)), 2 ** -27, 1);
    }
  });

  it('div: |err| ≤ 2^−27·|x/y| + 4 ulp for |y| ≥ 2^−16, |x/y| < 2^30', async (t) => {
    const n = 500;
    const y = [1n, -1n, 1n << 16n, -(1n << 16n), 3n << 40n, ...logUniform(n, 0, 60, true)];
    const u = uniform(y.length);
    // x: random with |x/y| < 2^30 and |x| < 2^(62−16)·2^16
    const x = y.map((yv, i) => {
      const maxQ = 2 ** (30 + 16) * Math.abs(Number(yv)) / SCALE; // |X| < 2^30·|y|·2^f
      const lim = Math.min(maxQ, 2 ** 61);
      return BigInt(Math.floor((u[i]! - 0.5) * 2 * lim * uniform(1)[0]!));
    });
    x[0] = 0n;
    x[1] = 5n;
    const got = await runOn([x, y], (p, [a, b]) => F.div(p, a!, b!, f));
    const exact = x.map((xv, i) => (Number(xv) / Number(y[i]!)) * SCALE);
    const m = checkBound('div', [x, y], got, exact, 2 ** -27, 4);
    t.diagnostic(report('div', m));
  });

  it('div on means: sum/count for realistic aggregates', async () => {
    const sums = [1234567.25, -98765.5, 0.125, 3e8, -7];
    const counts = [1000, 7, 3, 1e6, 2];
    const got = await runOn([signed(F.encodeFixed(sums)), signed(F.encodeFixed(counts))], (p, [a, b]) => F.div(p, a!, b!));
    got.forEach((g, i) => assert.ok(Math.abs(Number(g) / SCALE - sums[i]! / counts[i]!) <= 4 / SCALE + 2 ** -27 * Math.abs(sums[i]! / counts[i]!), `${sums[i]}/${counts[i]}: ${Number(g) / SCALE}`));
  });
});

describe('reciprocal and division: shapes', () => {
  it('div and rsqrt on lengths 0, 1, 31, 33; length mismatch throws', async () => {
    for (const n of [0, 1, 31, 33]) {
      const y = logUniform(n, 4, 40, true);
      // |x/y| < 2^29 (the contract is 2^30), x signed, every other lane small.
      const x = randomSigned(n, 62).map((r, i) => (r % ((y[i]! < 0n ? -y[i]! : y[i]!) << 29n)) >> BigInt(i % 2 ? 20 : 0));
      const got = await runOn([x, y], (p, [a, b]) => F.div(p, a!, b!));
      checkBound('div', [x, y], got, x.map((v, i) => (Number(v) / Number(y[i]!)) * SCALE), 2 ** -27, 4);
      const yp = y.map((v) => (v < 0n ? -v : v));
      const gr = await runOn([yp], (p, [a]) => F.rsqrt(p, a!));
      checkBound('rsqrt', [yp], gr, yp.map((v) => SCALE / Math.sqrt(Number(v) / SCALE)), 2 ** -27, 1);
    }
    await assert.rejects(run3((p) => F.div(p, A.fromPublic(p, col([1n, 2n])), A.fromPublic(p, col([1n])))), RangeError);
  });
});

describe('square root', () => {
  it('sqrt: |err| ≤ 2^−27·√x + 1 ulp for 0 ≤ x < 2^44', async (t) => {
    const edges = [0n, 1n, 2n, 3n, 4n, 1n << 16n, 2n << 16n, 4n << 16n, 9n << 16n, (1n << 16n) - 1n, (1n << 60n) - 1n, 1n << 59n, 1n << 46n, 25n];
    const x = [...edges, ...logUniform(600, 0, 60, false)];
    const got = await runOn([x], (p, [s]) => F.sqrt(p, s!, f));
    const exact = x.map((v) => Math.sqrt(Number(v) / SCALE) * SCALE);
    const m = checkBound('sqrt', [x], got, exact, 2 ** -27, 1);
    t.diagnostic(report('sqrt', m));
  });

  it('rsqrt: |err| ≤ 2^−27·|1/√x| + 1 ulp for 2^−16 ≤ x < 2^44', async (t) => {
    const x = [1n, 2n, 3n, 1n << 16n, 4n << 16n, (1n << 60n) - 1n, ...logUniform(400, 0, 60, false)];
    const got = await runOn([x], (p, [s]) => F.rsqrt(p, s!, f));
    const exact = x.map((v) => SCALE / Math.sqrt(Number(v) / SCALE));
    const m = checkBound('rsqrt', [x], got, exact, 2 ** -27, 1);
    t.diagnostic(report('rsqrt', m));
  });

  it('sqrt on lengths 0, 1, 33, 65', async () => {
    for (const n of [0, 1, 33, 65]) {
      const x = logUniform(n, 0, 46, false);
      const got = await runOn([x], (p, [s]) => F.sqrt(p, s!, f));
      checkBound('sqrt', [x], got, x.map((v) => Math.sqrt(Number(v) / SCALE) * SCALE), 2 ** -27, 1);
    }
  });
});

describe('other precisions f', () => {
  for (const ff of [8, 24]) {
    it(`f = ${ff}: mulFixed, reciprocal, div, sqrt within their bounds`, async () => {
      const sc = 2 ** ff;
      const x = logUniform(80, 0, 60, true);
      const xp = x.map((v) => (v < 0n ? -v : v));
      const y = logUniform(80, 0, 60, true);
      const q = y.map((yv, i) => BigInt(Math.floor(Math.min(2 ** (46 - ff) * Math.abs(Number(yv)), 2 ** 61) * (uniform(1)[0]! - 0.5) * (i % 5 === 0 ? 1 : 2 ** -(i % 30)))));
      const shares = shareAll(col(x), col(xp), col(y), col(q));
      const out = await run3(async (p) => {
        const [sx, sxp, sy, sq] = shares.map((s) => s[p.id]!);
        const small = await F.truncate(p, sx!, 30); // |x| < 2^30 so x·x fits
        return A.revealMany(p, [small, await F.mulFixed(p, small, small, ff), await F.reciprocal(p, sx!, ff), await F.div(p, sq!, sy!, ff), await F.sqrt(p, sxp!, ff)]);
      });
      const [small, sq2, rec, dv, rt] = out[0]!.map((c) => signed(c!));
      sq2!.forEach((g, i) => assert.ok([0n, 1n].includes(g - floorDiv(small![i]! * small![i]!, ff))));
      checkBound(`reciprocal f=${ff}`, [x], rec!, x.map((v) => sc ** 2 / Number(v)), 2 ** -27, 1);
      checkBound(`div f=${ff}`, [q, y], dv!, q.map((v, i) => (Number(v) / Number(y[i]!)) * sc), 2 ** -27, 4);
      checkBound(`sqrt f=${ff}`, [xp], rt!, xp.map((v) => Math.sqrt(Number(v) / sc) * sc), 2 ** -27, 1);
    });
  }
});

describe('privacy: a single party’s received bytes do not depend on the input', () => {
  // Same method as test/privacy.test.ts (two-sample chi² over byte histograms, threshold for
  // p ≈ 1e-9 at 255 degrees of freedom), for the protocols of this file.
  const N = 64, RUNS = 12, LIMIT = 420;
  const gens: Record<string, () => bigint[]> = {
    zeros: () => new Array(N).fill(0n),
    ones: () => new Array(N).fill(1n << 16n),
    varied: () => Array.from({ length: N }, (_, i) => (BigInt(i) * 0x9e3779b97f4a7c15n) >> 24n),
  };

  const protos: Record<string, (p: Parameters<Parameters<typeof run3>[0]>[0], x: A.AShare) => Promise<unknown>> = {
    truncate: (p, x) => F.truncate(p, x, 16),
    mulFixed: (p, x) => F.mulFixed(p, x, x),
    reciprocal: (p, x) => F.reciprocal(p, x),
    sqrt: (p, x) => F.sqrt(p, x),
  };
  for (const [name, proto] of Object.entries(protos)) {
    it(name, async () => {
      for (const viewer of [0, 1, 2]) {
        const hists: Float64Array[] = [];
        for (const gen of Object.values(gens)) {
          const h = new Float64Array(256);
          for (let r = 0; r < RUNS; r++) {
            const [sx] = shareAll(col(gen()));
            let on = false;
            await run3(async (p) => { on = true; await proto(p, sx![p.id]!); }, {
              tap: (_from, to, data) => {
                if (on && to === viewer) for (const b of data) h[b]!++;
                return data;
              },
            });
          }
          hists.push(h);
        }
        const total = hists[0]!.reduce((s, v) => s + v, 0);
        const uni = new Float64Array(256).fill(total / 256);
        for (const [h1, h2] of [[hists[0]!, hists[1]!], [hists[0]!, hists[2]!], [hists[1]!, hists[2]!], [hists[0]!, uni]] as const) {
          const c = chiSquare(h1, h2);
          assert.ok(c < LIMIT, `${name}: party ${viewer}'s view depends on the input (chi² = ${c.toFixed(0)})`);
        }
      }
    });
  }
});
