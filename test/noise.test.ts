// Differential-privacy noise generated inside MPC (src/mpc/noise.ts):
//   - the public table: weights sum to 2^b exactly, symmetric, truncation where the tail first
//     falls below 2^-40, quantisation error as documented;
//   - the circuit samples the table EXACTLY: at a small precision every U in [0, 2^{b+1}) is run
//     through the real 3-party MPC and the histogram must equal the weights;
//   - end to end (uniform U from the PRGs, default precision): several thousand samples per
//     distribution, chi-square goodness of fit against the exact pmf;
//   - privacy accounting: the realised δ(ε) is tiny at the nominal ε and large below it;
//   - a single party's view is independent of the noise it helps to generate: per received frame,
//     nibble histograms conditioned on the noise value (of the frame's bytes, and of its ring values
//     combined with the party's own output shares, as in test/privacy.test.ts) are compared by a
//     two-sample chi-square test, and no received value reconstructs the noise; a leaky variant
//     (the noise opened by the protocol) shows that the test would notice. As there, what a
//     histogram cannot see (non-linear leaks) is covered by the protocols' security arguments.
// The discrete Laplace from binary digits (src/mpc/geometric-noise.ts) gets the same treatment:
// the coins' thresholds and the certified bounds of the table, the comparison circuit exactly on
// every U at a small width, the realised pmf (convolution) against the ideal one and its exact
// hockey-stick divergence against the certified bound, chi-square fits of the 3-party samples
// (small and large scales), a constant number of messages whatever the number of values, and the
// single-party view test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import {
  addNoise, exactPmf, gaussianFor, laplaceFor, noiseFromUniform, noiseTable, privacyLoss, runCost, sampleFromUniform, sampleNoise, tablePmf, type NoiseSpec,
} from '../src/mpc/noise.js';
import type { Party } from '../src/mpc/party.js';
import {
  coinsBelow, discreteLaplacePmf, geometricHalfWidth, geometricLoss, geometricPmf, geometricSd, geometricTable, laplaceFromCoins, sampleDiscreteLaplace,
} from '../src/mpc/geometric-noise.js';
import { BShare } from '../src/mpc/boolean.js';
import { packBits } from '../src/ring/bits.js';
import { AShare } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import * as R from '../src/ring/ring64.js';
import { col, run3, shareAll, signed } from './harness.js';

/** Upper quantile of chi-square with df degrees of freedom at tail probability given by z (Wilson–Hilferty). */
function chiQuantile(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}
const Z_1E6 = 4.753; // one-sided normal quantile for p = 1e-6
const Z_1E9 = 5.998; // p = 1e-9

/** Chi-square goodness of fit of integer samples against a pmf; bins merged until expected ≥ 8. */
function goodnessOfFit(samples: number[], pmf: (z: number) => number, K: number): { chi: number; df: number } {
  const n = samples.length;
  const counts = new Map<number, number>();
  for (const s of samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  // Bins from the centre outwards: each |z| tail beyond the last bin with expected ≥ 8 is one bin.
  const bins: { lo: number; hi: number }[] = [];
  let z = 0;
  bins.push({ lo: 0, hi: 0 });
  while (z < K) {
    let hi = z + 1;
    let e = n * pmf(hi);
    while (e < 8 && hi < K) e += n * pmf(++hi);
    if (e < 8) {
      bins[bins.length - 1]!.hi = K; // merge the remaining tail into the last bin
      break;
    }
    bins.push({ lo: z + 1, hi });
    z = hi;
  }
  let chi = 0, cells = 0;
  for (const sign of [1, -1]) {
    for (const b of bins) {
      if (sign === -1 && b.lo === 0) continue;
      let exp = 0, obs = 0;
      for (let v = b.lo; v <= b.hi; v++) {
        const x = sign * v;
        exp += n * pmf(x);
        obs += counts.get(x) ?? 0;
      }
      // The outermost bins also take everything beyond K (the truncated tail: expected ≈ 0).
      if (b.hi === bins.at(-1)!.hi) for (const [x, c] of counts) if (Math.sign(x) === sign && Math.abs(x) > b.hi) obs += c;
      chi += (obs - exp) ** 2 / exp;
      cells++;
    }
  }
  return { chi, df: cells - 1 };
}

describe('noise table (truncation and quantisation)', () => {
  const specs: NoiseSpec[] = [
    { kind: 'laplace', scale: 0.3 }, { kind: 'laplace', scale: 1 }, { kind: 'laplace', scale: 10 }, { kind: 'laplace', scale: 137.5 },
    { kind: 'gaussian', sigma: 0.4 }, { kind: 'gaussian', sigma: 3 }, { kind: 'gaussian', sigma: 50 },
  ];
  for (const spec of specs) {
    it(`${spec.kind} ${JSON.stringify(spec)}`, () => {
      const t = noiseTable(spec);
      const b = t.precisionBits;
      assert.equal(b, 62);
      assert.equal(t.weights[0]! + 2n * t.weights.slice(1).reduce((s, w) => s + w, 0n), 1n << 62n, 'weights sum to 2^b');
      assert.ok(t.weights.every((w) => w > 0n), 'every point of the support has mass');
      assert.ok(t.tailMass < 2 ** -40, `tail ${t.tailMass} < 2^-40`);
      // K is the smallest such support (a smaller one would leave more than 2^-40 outside).
      const pmf = exactPmf(spec);
      let tailBelow = 0;
      for (let z = t.K; z < t.K + 100_000 && (z === t.K || pmf(z) > 0); z++) tailBelow += 2 * pmf(z);
      assert.ok(tailBelow >= 2 ** -40 * 0.999, `K = ${t.K} is minimal (tail at K−1: ${tailBelow})`);
      // Thresholds increase, T_1 = w_0, all below 2^b.
      assert.equal(t.thresholds[0], 0n);
      assert.equal(t.thresholds[1], t.weights[0]);
      for (let m = 1; m < t.thresholds.length; m++) assert.ok(t.thresholds[m]! > t.thresholds[m - 1]! && t.thresholds[m]! < 1n << 62n);
      // Quantisation error as documented.
      for (let z = 1; z <= t.K; z++) assert.ok(Math.abs(tablePmf(t, z) - pmf(z)) <= 2 ** -63 + 2 ** -52 * pmf(z), `|q − p| at ${z}`);
      assert.ok(Math.abs(tablePmf(t, 0) - pmf(0)) <= t.tailMass + t.K * 2 ** -62 + 2 ** -52);
      assert.ok(t.maxError <= t.tailMass + t.K * 2 ** -62 + 2 ** -52);
      assert.equal(tablePmf(t, t.K + 1), 0);
    });
  }

  it('refuses nonsense and tables too large to compute', () => {
    assert.throws(() => noiseTable({ kind: 'laplace', scale: 0 }), /scale must be a positive number/);
    assert.throws(() => noiseTable({ kind: 'gaussian', sigma: Number.NaN }), /sigma must be a positive number/);
    assert.throws(() => noiseTable({ kind: 'laplace', scale: 1 }, { precisionBits: 64 }), /precisionBits/);
    assert.throws(() => noiseTable({ kind: 'laplace', scale: 1e5 }), /needs more than 65536 thresholds/);
  });

  it('the plaintext reference of the circuit samples the table exactly (every U, small precision)', () => {
    for (const spec of [{ kind: 'laplace', scale: 1.7 }, { kind: 'gaussian', sigma: 2.2 }] as NoiseSpec[]) {
      const t = noiseTable(spec, { precisionBits: 12, tailBits: 10 });
      const counts = new Map<number, number>();
      const high = 0xdeadbeefn << 13n; // bits above b+1 must not matter
      for (let u = 0n; u < 1n << 13n; u++) {
        const z = sampleFromUniform(t, high + u);
        counts.set(z, (counts.get(z) ?? 0) + 1);
      }
      for (let z = -t.K; z <= t.K; z++) assert.equal(counts.get(z) ?? 0, 2 * Number(t.weights[Math.abs(z)]!), `${spec.kind}: count of ${z}`);
      assert.equal([...counts.values()].reduce((s, c) => s + c, 0), 1 << 13);
    }
  });
});

describe('noise in MPC', () => {
  it('the MPC circuit gives exactly the table: all 2^{b+1} values of U at b = 9', async () => {
    for (const spec of [{ kind: 'laplace', scale: 1.3 }, { kind: 'gaussian', sigma: 1.6 }] as NoiseSpec[]) {
      const t = noiseTable(spec, { precisionBits: 9, tailBits: 7 });
      const us = Array.from({ length: 1 << 10 }, (_, i) => (BigInt(i) | (BigInt(i * 2654435761) << 10n)) & R.MASK64);
      const [sh] = shareAll(col(us));
      const [z] = await run3(async (p) => A.reveal(p, await noiseFromUniform(p, sh![p.id]!, t)));
      const got = signed(z!).map(Number);
      got.forEach((v, i) => assert.equal(v, sampleFromUniform(t, us[i]!), `lane ${i}`));
      const counts = new Map<number, number>();
      for (const v of got) counts.set(v, (counts.get(v) ?? 0) + 1);
      for (let v = -t.K; v <= t.K; v++) assert.equal(counts.get(v) ?? 0, 2 * Number(t.weights[Math.abs(v)]!), `${spec.kind}: count of ${v}`);
    }
  });

  const N = 6000;
  const cases: [string, NoiseSpec][] = [
    ['discrete Laplace, scale 2.5', { kind: 'laplace', scale: 2.5 }],
    ['discrete Laplace, scale 0.7', { kind: 'laplace', scale: 0.7 }],
    ['discrete Gaussian, sigma 3', { kind: 'gaussian', sigma: 3 }],
  ];
  for (const [name, spec] of cases) {
    it(`${name}: ${N} samples from the 3-party protocol fit the exact pmf (chi-square, p = 1e-6)`, async () => {
      const t = noiseTable(spec);
      const [z] = await run3(async (p) => A.reveal(p, await sampleNoise(p, N, t, { maxLanes: 50_000 })));
      const xs = signed(z!).map(Number);
      assert.ok(xs.every((x) => Math.abs(x) <= t.K), 'inside the support');
      const { chi, df } = goodnessOfFit(xs, exactPmf(spec), t.K);
      const limit = chiQuantile(df, Z_1E6);
      assert.ok(chi < limit, `chi² = ${chi.toFixed(1)} ≥ ${limit.toFixed(1)} (df ${df})`);
      // And the test would notice a wrong scale.
      const wrong: NoiseSpec = spec.kind === 'laplace' ? { kind: 'laplace', scale: spec.scale * 1.25 } : { kind: 'gaussian', sigma: spec.sigma * 1.25 };
      const off = goodnessOfFit(xs, exactPmf(wrong), noiseTable(wrong).K);
      assert.ok(off.chi > chiQuantile(off.df, Z_1E6), `a 25 % wrong scale passed (chi² = ${off.chi.toFixed(1)})`);
    });
  }

  it('every party holds shares of the same values; values differ across lanes and runs', async () => {
    const t = noiseTable({ kind: 'laplace', scale: 4 });
    const runs = await Promise.all([0, 1].map(() => run3(async (p) => A.reveal(p, await sampleNoise(p, 200, t)))));
    for (const r of runs) assert.deepEqual(r[0], r[1]);
    const a = signed(runs[0]![0]!), b = signed(runs[1]![0]!);
    assert.ok(new Set(a).size > 5 && a.some((v, i) => v !== b[i]));
  });

  it('addNoise adds unit·Z to a shared aggregate (chunked over many cells)', async () => {
    const t = noiseTable({ kind: 'laplace', scale: 1.5 });
    const x = Array.from({ length: 3000 }, (_, i) => BigInt(i * 1000));
    const [sx] = shareAll(col(x));
    const [y] = await run3(async (p) => A.reveal(p, await addNoise(p, sx![p.id]!, t, 16n, { maxLanes: 20_000 })));
    const d = signed(y!).map((v, i) => v - x[i]!);
    assert.ok(d.every((v) => v % 16n === 0n && v / 16n >= BigInt(-t.K) && v / 16n <= BigInt(t.K)));
    const { chi, df } = goodnessOfFit(d.map((v) => Number(v / 16n)), exactPmf(t.spec), t.K);
    assert.ok(chi < chiQuantile(df, Z_1E6), `chi² = ${chi.toFixed(1)}`);
  });

  it('vectorised: the number of messages does not depend on the number of cells (one batched comparison)', async () => {
    const t = noiseTable({ kind: 'laplace', scale: 3 });
    const frames = async (n: number) => {
      let started = false, count = 0;
      await run3(async (p) => {
        started = true;
        await sampleNoise(p, n, t);
      }, { tap: (_f, _t, d) => ((count += started ? 1 : 0), d) });
      return count;
    };
    const [small, large] = [await frames(3), await frames(3000)];
    assert.equal(small, large);
    assert.ok(small <= 3 * 12, `${small} frames in all (about 11 rounds)`);
  });

  it('n = 0 and n = 1', async () => {
    const t = noiseTable({ kind: 'gaussian', sigma: 1 });
    const [r] = await run3(async (p) => {
      const e = await sampleNoise(p, 0, t);
      const one = await sampleNoise(p, 1, t);
      return [e.length, Number(BigInt.asIntN(64, (await A.reveal(p, one))![0]!))];
    });
    assert.equal(r[0], 0);
    assert.ok(Math.abs(r[1]!) <= t.K);
  });
});

describe('privacy accounting of the realised mechanism', () => {
  it('discrete Laplace at scale Δ/ε: δ(ε) of the order of the truncated tail; a smaller ε does not hold', () => {
    for (const [eps, sens] of [[1, 1], [0.1, 1], [0.5, 3], [2, 7]] as const) {
      const t = noiseTable(laplaceFor(eps, sens));
      const d = privacyLoss(t, sens, eps);
      assert.ok(d < 1e-11, `ε = ${eps}, Δ = ${sens}: δ = ${d}`);
      assert.ok(privacyLoss(t, sens, eps * 0.95) > 1e-4, 'the divergence test has power');
      assert.deepEqual(runCost(t, sens, eps), { epsilon: eps, delta: d });
    }
  });
  it('discrete Gaussian calibrated through zCDP meets its (ε, δ) target', () => {
    for (const [eps, delta, sens] of [[1, 1e-6, 1], [0.5, 1e-9, 2], [3, 1e-5, 1]] as const) {
      const spec = gaussianFor(eps, delta, sens);
      const t = noiseTable(spec);
      const d = privacyLoss(t, sens, eps);
      assert.ok(d <= delta, `ε = ${eps}: realised δ ${d} > target ${delta} (σ = ${(spec as { sigma: number }).sigma})`);
    }
  });
  it('refuses a non-integer sensitivity (noise lives on the integers)', () => {
    assert.throws(() => privacyLoss(noiseTable({ kind: 'laplace', scale: 1 }), 1.5, 1), /positive integer/);
  });
});

// ---------------------------------------------------------------------------------------------
// The discrete Laplace from binary digits.

/** Ideal discrete Laplace pmf of scale s. */
const laplacePmf = (s: number) => exactPmf({ kind: 'laplace', scale: s });

describe('discrete Laplace from binary digits (geometric-noise.ts)', () => {
  it('the coins: P(Z ≠ 0) = 2α/(1 + α), P(digit k) = α^{2^k}/(1 + α^{2^k}) to the stated precision; support and tail as documented', () => {
    for (const s of [0.3, 1, 2.5, 137.5, 1e4, 3e6]) {
      const t = geometricTable(s);
      const a = Math.exp(-1 / s);
      assert.ok(2 ** t.digits / s >= 64 * Math.LN2 && 2 ** (t.digits - 1) / s < 64 * Math.LN2 || t.digits === 1, `L = ${t.digits} is the smallest with α^{2^L} ≤ 2^-64`);
      assert.ok(t.tailMass <= 2 ** -64 * 1.001, `tail ${t.tailMass}`);
      const check = (c: { width: number; threshold: bigint; probability: number }, p: number, what: string) => {
        assert.ok(Math.abs(c.probability - p) <= 1e-14 * p + 1e-300, `${what}: ${c.probability} vs ${p}`);
        const least = c.threshold < (1n << BigInt(c.width)) - c.threshold ? c.threshold : (1n << BigInt(c.width)) - c.threshold;
        assert.ok(least >= 1n << 59n && least <= 1n << 60n, 'w and 2^b − w have 60 significant bits');
        assert.equal(Number(c.threshold) / 2 ** c.width, c.probability);
      };
      check(t.nonzero, (2 * a) / (1 + a), 'Z ≠ 0');
      t.coins.forEach((c, k) => {
        const o = Math.exp(-(2 ** k) / s);
        check(c, o / (1 + o), `digit ${k}`);
      });
      assert.ok(t.gammaPlus < 1e-16 && t.gammaMinus < 1e-16 && t.gammaPlus > 0, `γ ${t.gammaPlus} ${t.gammaMinus}`);
      // Exact variance against the ideal 2α/(1 − α)² (the truncated and quantised parts are negligible).
      assert.ok(Math.abs(geometricSd(t) ** 2 / ((2 * a) / (1 - a) ** 2) - 1) < 1e-9, `variance at s = ${s}`);
      // 95 %: P(|Z| > h) ≤ 0.05 < P(|Z| > h − 1) for the ideal distribution.
      const h = geometricHalfWidth(t), tailAbove = (x: number) => (2 * a ** (x + 1)) / (1 + a);
      assert.ok(tailAbove(h) <= 0.05 + 1e-12 && (h === 0 || tailAbove(h - 1) > 0.05));
      assert.ok(geometricLoss(t, 1) < 1e-16, `δ ${geometricLoss(t, 1)}`);
    }
    assert.throws(() => geometricTable(0), /scale must be a positive number/);
    assert.throws(() => geometricTable(1e16), /too large/);
    assert.equal(laplaceFromCoins(false, true, [true]), 0);
    assert.equal(laplaceFromCoins(true, true, [true, false, true]), -6);
  });

  it('the realised distribution is the discrete Laplace up to the truncated tail; the certified δ bounds its exact hockey-stick divergence', () => {
    for (const [s, tailBits] of [[1.5, 20], [4, 16], [0.6, 24]] as const) {
      const t = geometricTable(s, { tailBits, precisionBits: 20 });
      const M = 2 ** t.digits;
      const g = Array.from({ length: M }, (_, i) => geometricPmf(t, i));
      assert.ok(Math.abs(g.reduce((x, y) => x + y, 0) - 1) < 1e-12, 'P̃(G) sums to 1');
      const pmf = (z: number) => discreteLaplacePmf(t, z);
      let total = 0;
      for (let z = -M; z <= M; z++) total += pmf(z);
      assert.ok(Math.abs(total - 1) < 1e-12, 'P̃(Z) sums to 1');
      const ideal = laplacePmf(s);
      for (let z = -M; z <= M; z++) {
        // Truncation reweights by 1/(1 − T) at most; quantisation by e^{±γ}.
        assert.ok(pmf(z) <= ideal(z) * Math.exp(t.gammaPlus) / (1 - t.tailMass) * (1 + 1e-12), `upper at ${z}`);
      }
      // Exact δ(ε) of the realised mechanism for shifts d = 1..3 at ε = d/s, against the certified bound.
      for (const d of [1, 2, 3]) {
        const eps = d / s, e = Math.exp(eps);
        let delta = 0;
        for (let z = -M; z <= M + d; z++) delta += Math.max(0, pmf(z) - e * pmf(z - d));
        const bound = geometricLoss(t, eps);
        assert.ok(delta <= bound * (1 + 1e-6) + 1e-15, `s = ${s}, d = ${d}: exact δ ${delta} > certified ${bound}`);
        assert.ok(delta > bound * 1e-4 || delta < 1e-15, `the bound is not loose by orders of magnitude (δ ${delta}, bound ${bound})`);
      }
    }
  });

  it('the comparison circuit gives [U < w] exactly for every U of a 9-bit width (3-party MPC)', async () => {
    const width = 9, lanes = 1 << width;
    const thresholds = [0n, 1n, 77n, 256n, 300n, 511n];
    // ρ = ¬U, plane by plane (what coinsBelow reads as its random input), shared among the parties.
    const planes = new Uint32Array(width * (lanes / 32));
    for (let j = 0; j < width; j++) {
      planes.set(packBits(Array.from({ length: lanes }, (_, u) => ((u >> j) & 1) === 0)), j * (lanes / 32));
    }
    const shares = [0, 1, 2].map(() => crypto.getRandomValues(new Uint32Array(planes.length)));
    shares[2] = planes.map((w, i) => w ^ shares[0]![i]! ^ shares[1]![i]!);
    const [res] = await run3(async (p) => {
      const mine = new BShare(lanes, width, shares[p.id]!.slice(), shares[(p.id + 1) % 3]!.slice());
      const coins = await coinsBelow(p, thresholds.map((threshold) => ({ lanes, width, threshold })), thresholds.map(() => mine));
      const { revealBits } = await import('../src/mpc/boolean.js');
      return Promise.all(coins.map((c) => revealBits(p, c, 'all')));
    });
    thresholds.forEach((w, i) => {
      const bits = res[i]!;
      for (let u = 0; u < lanes; u++) assert.equal((bits![u >>> 5]! >>> (u & 31)) & 1, BigInt(u) < w ? 1 : 0, `w = ${w}, U = ${u}`);
    });
  });

  const cases: [string, number, number][] = [['scale 2.5', 2.5, 30_000], ['scale 0.7', 0.7, 20_000], ['scale 40', 40, 30_000]];
  for (const [name, scale, N] of cases) {
    it(`${name}: ${N} samples from the 3-party protocol fit the pmf (chi-square, p = 1e-6); a 25 % wrong scale does not`, async () => {
      const t = geometricTable(scale);
      const [z] = await run3(async (p) => A.reveal(p, await sampleDiscreteLaplace(p, [{ table: t, n: N }])));
      const xs = signed(z!).map(Number);
      const K = Math.max(...xs.map(Math.abs)) + 1;
      const { chi, df } = goodnessOfFit(xs, laplacePmf(scale), K);
      assert.ok(chi < chiQuantile(df, Z_1E6), `chi² = ${chi.toFixed(1)} (df ${df})`);
      const off = goodnessOfFit(xs, laplacePmf(scale * 1.25), K);
      assert.ok(off.chi > chiQuantile(off.df, Z_1E6), `a wrong scale passed (chi² = ${off.chi.toFixed(1)})`);
    });
  }

  it('several scales in one call: each group has its own distribution; large scales keep their spread', async () => {
    const groups = [{ table: geometricTable(3), n: 4000 }, { table: geometricTable(2e5), n: 4000 }, { table: geometricTable(0.5), n: 0 }, { table: geometricTable(9), n: 33 }];
    const [z] = await run3(async (p) => A.reveal(p, await sampleDiscreteLaplace(p, groups)));
    const xs = signed(z!).map(Number);
    assert.equal(xs.length, 8033);
    const sd = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    const [a, b] = [xs.slice(0, 4000), xs.slice(4000, 8000)];
    for (const [v, t] of [[a, groups[0]!.table], [b, groups[1]!.table]] as const) {
      assert.ok(Math.abs(sd(v) / geometricSd(t) - 1) < 0.08, `sd ${sd(v)} vs ${geometricSd(t)}`);
      assert.ok(Math.abs(v.reduce((s, x) => s + x, 0) / v.length) < 5 * geometricSd(t) / Math.sqrt(v.length), 'mean 0');
    }
  });

  it('vectorised: the number of messages does not depend on the number of values or scales', async () => {
    const frames = async (groups: { n: number; s: number }[]) => {
      let started = false, count = 0;
      await run3(async (p) => {
        started = true;
        await sampleDiscreteLaplace(p, groups.map((g) => ({ table: geometricTable(g.s), n: g.n })));
      }, { tap: (_f, _t, d) => ((count += started ? 1 : 0), d) });
      return count;
    };
    const small = await frames([{ n: 3, s: 2 }]);
    const large = await frames([{ n: 3000, s: 2 }, { n: 5000, s: 1e6 }]);
    assert.equal(small, large);
    assert.ok(small <= 3 * 2 * 12, `${small} frames in all (about ten rounds)`);
  });
});

// ---------------------------------------------------------------------------------------------
// What one party sees.

type Variant = (p: Party) => Promise<AShare>;
const viewTable = noiseTable({ kind: 'laplace', scale: 1 }); // P(Z = 0) ≈ 0.46, K = 28
const honest: Variant = (p) => sampleNoise(p, 1, viewTable);
/** A buggy variant that opens the noise itself at the end. */
const leakValue: Variant = async (p) => {
  const z = await sampleNoise(p, 1, viewTable);
  await A.reveal(p, z);
  return z;
};
const geometricView = geometricTable(1); // the same distribution, from binary digits
const honestDigits: Variant = (p) => sampleDiscreteLaplace(p, [{ table: geometricView, n: 1 }]);
const leakDigits: Variant = async (p) => {
  const z = await honestDigits(p);
  await A.reveal(p, z);
  return z;
};

interface Run {
  z: number;
  /** Frames each party received during the protocol, keyed "from:index". */
  frames: { key: string; data: Uint8Array }[][];
  /** Each party's output share pair. */
  own: AShare[];
}

/** One run of a variant at n = 1, recording every party's received frames (the seed exchange excluded). */
async function recordRun(variant: Variant): Promise<Run> {
  let started = false;
  const done = [false, false, false];
  const frames: Run['frames'] = [[], [], []];
  const counters = new Map<string, number>();
  const res = await run3(
    async (p) => {
      started = true;
      const z = await variant(p);
      done[p.id] = true; // frames this party sends from now on are the harness's, not the protocol's
      const plain = await A.reveal(p, z); // test harness only: learn Z to classify the run
      return { own: z, z: Number(BigInt.asIntN(64, plain![0]!)) };
    },
    {
      tap: (from, to, data) => {
        if (started && !done[from]) {
          const ck = `${from}>${to}`;
          const k = counters.get(ck) ?? 0;
          counters.set(ck, k + 1);
          frames[to]!.push({ key: `${from}:${k}`, data: data.slice() });
        }
        return data;
      },
    },
  );
  return { z: res[0].z, frames, own: res.map((r) => r.own) };
}

const LIMIT15 = chiQuantile(15, Z_1E9); // ≈ 76: p ≈ 1e-9 at 15 degrees of freedom

function twoSampleChi(h1: Float64Array, h2: Float64Array): number {
  const n1 = h1.reduce((s, v) => s + v, 0), n2 = h2.reduce((s, v) => s + v, 0);
  let chi = 0;
  for (let i = 0; i < h1.length; i++) {
    const a = h1[i]!, b = h2[i]!;
    if (a + b === 0) continue;
    const x = Math.sqrt(n2 / n1) * a - Math.sqrt(n1 / n2) * b;
    chi += (x * x) / (a + b);
  }
  return chi;
}

/**
 * Worst two-sample chi-square over viewers, received frames (by sender and position) and two
 * splits of the runs by the noise value, on nibble histograms; and the number of (run, viewer)
 * pairs where a received ring value equals the noise or the viewer's missing share of it.
 */
async function worstView(variant: Variant, runs = 300): Promise<{ chi: number; where: string; reconstructions: number }> {
  const recorded: Run[] = [];
  for (let r = 0; r < runs; r++) recorded.push(await recordRun(variant));
  const classifiers: [string, (z: number) => 0 | 1 | null][] = [
    ['Z = 0 vs Z ≠ 0', (z) => (z === 0 ? 0 : 1)],
    ['Z > 0 vs Z < 0', (z) => (z > 0 ? 0 : z < 0 ? 1 : null)],
  ];
  let worst = { chi: 0, where: '', reconstructions: 0 };
  for (const viewer of [0, 1, 2] as PartyId[]) {
    for (const run of recorded) {
      const zU = BigInt.asUintN(64, BigInt(run.z));
      const own = run.own[viewer]!;
      const missing = BigInt.asUintN(64, zU - own.a[0]! - own.b[0]!);
      const hit = run.frames[viewer]!.some((f) => f.data.byteLength % 8 === 0 && R.colOf(f.data.slice()).some((m) => m === zU || m === missing));
      if (hit) worst.reconstructions++;
    }
    for (const [label, classify] of classifiers) {
      const hist: [Map<string, Float64Array>, Map<string, Float64Array>] = [new Map(), new Map()];
      for (const run of recorded) {
        const cls = classify(run.z);
        if (cls === null) continue;
        const own = run.own[viewer]!;
        const count = (key: string, bytes: Uint8Array) => {
          let h = hist[cls].get(key);
          if (!h) hist[cls].set(key, (h = new Float64Array(16)));
          for (const byte of bytes) {
            h[byte & 15]!++;
            h[byte >>> 4]!++;
          }
        };
        for (const f of run.frames[viewer]!) {
          count(f.key, f.data);
          if (f.data.byteLength % 8) continue;
          // Ring values combined with the viewer's own output shares: a forgotten mask or an
          // opened share shows up here as a value that depends on Z.
          const m = R.colOf(f.data.slice());
          const fill = (v: bigint) => new BigUint64Array(m.length).fill(v);
          count(`${f.key} + a + b`, R.bytesOf(R.add(m, fill(BigInt.asUintN(64, own.a[0]! + own.b[0]!)))));
          count(`${f.key} − a`, R.bytesOf(R.sub(m, fill(own.a[0]!))));
          count(`${f.key} − b`, R.bytesOf(R.sub(m, fill(own.b[0]!))));
        }
      }
      for (const [key, h0] of hist[0]) {
        const h1 = hist[1].get(key);
        if (!h1) continue;
        const chi = twoSampleChi(h0, h1);
        if (chi > worst.chi) worst = { ...worst, chi, where: `party ${viewer}, frame ${key}, ${label}` };
      }
    }
  }
  return worst;
}

describe('privacy: a single party’s view does not depend on the noise', () => {
  for (const [name, good, bad] of [['inverse CDF', honest, leakValue], ['binary digits', honestDigits, leakDigits]] as const) {
    it(`${name}, honest protocol: per-frame byte distributions equal across noise classes; no received value opens the noise`, async (t) => {
      const w = await worstView(good);
      t.diagnostic(`worst chi² ${w.chi.toFixed(1)} (limit ${LIMIT15.toFixed(1)}) at ${w.where}`);
      assert.ok(w.chi < LIMIT15, `view depends on the noise (${w.where}: chi² = ${w.chi.toFixed(1)}, limit ${LIMIT15.toFixed(1)})`);
      assert.equal(w.reconstructions, 0, 'a received value reconstructs the noise');
    });
    it(`${name}: the test has power: an opened noise value is flagged (chi-square and reconstruction)`, async (t) => {
      const w = await worstView(bad);
      t.diagnostic(`worst chi² ${w.chi.toFixed(1)} at ${w.where}; ${w.reconstructions} reconstructions`);
      assert.ok(w.chi > LIMIT15, `opened noise went undetected (chi² = ${w.chi.toFixed(1)})`);
      assert.ok(w.reconstructions > 0);
    });
  }
});
