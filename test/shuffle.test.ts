import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { applyShuffle, Shuffle, shuffle, unshuffle } from '../src/mpc/shuffle.js';
import { Prg } from '../src/ring/prg.js';
import { AShare } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { col, randomInts, run3, shareAll } from './harness.js';

/** A table whose rows can be recognised: column k of row i is rowKey(i)·(k+1) + k (mod 2^64). */
function table(n: number, c: number, keys: bigint[] = randomInts(n)): BigUint64Array[] {
  return Array.from({ length: c }, (_, k) => col(keys.map((v) => v * BigInt(k + 1) + BigInt(k))));
}

const rowsOf = (cols: BigUint64Array[], n: number): string[] =>
  Array.from({ length: n }, (_, i) => cols.map((c) => c[i]!.toString()).join(','));

async function shuffleReveal(cols: BigUint64Array[], n: number) {
  const shares = shareAll(...cols);
  return run3(async (p) => {
    const mine = shares.map((s) => s[p.id]!);
    const { cols: out, shuffle: sh } = await shuffle(p, mine);
    const back = await unshuffle(p, sh, out);
    return { out: await A.revealMany(p, out), back: await A.revealMany(p, back), n };
  });
}

describe('seeded stream', () => {
  it('xorInto XORs the same stream in as drawing it does, across blocks, and keeps holders of the seed in lockstep', () => {
    const seed = new Uint8Array(16).fill(5);
    const a = new Prg(seed), b = new Prg(seed);
    for (const words of [0, 1, 3, 16383, 16384, 16385, 50_000, 7]) {
      const data = Uint32Array.from({ length: words }, (_, i) => (i * 2654435761) >>> 0);
      const viaXor = data.slice();
      a.xorInto(viaXor);
      const drawn = b.raw(4 * words);
      const stream = new Uint32Array(drawn.buffer, drawn.byteOffset, words);
      assert.deepEqual(viaXor, data.map((x, i) => (x ^ stream[i]!) >>> 0), `${words} words`);
      // A draw between keeps both at the same place in the stream.
      assert.deepEqual(a.raw(5), b.raw(5));
      assert.equal(a.drawn, b.drawn);
    }
    // Into a view that does not start its buffer.
    const big = new Uint32Array(40), view = big.subarray(3, 30);
    a.xorInto(view);
    const r = b.raw(4 * view.length);
    assert.deepEqual(view, new Uint32Array(r.buffer, r.byteOffset, view.length));
    assert.deepEqual([...big.subarray(0, 3), ...big.subarray(30)], new Array(13).fill(0));
  });
});

describe('seeded random permutations', () => {
  it('are permutations, equal for equal seeds, at small and large sizes', () => {
    const seed = new Uint8Array(16).fill(7);
    for (const n of [0, 1, 2, 3, 1000, (1 << 21) + 5]) {
      const p1 = new Prg(seed).permutation(n);
      const p2 = new Prg(seed).permutation(n);
      assert.deepEqual(p1, p2);
      const seen = new Uint8Array(n);
      for (const v of p1) seen[v] = 1;
      assert.equal(seen.reduce((a, b) => a + b, 0), n);
    }
  });

  it('draw all 120 permutations of 5 uniformly', () => {
    const prg = Prg.fresh();
    const runs = 12000;
    const counts = new Map<string, number>();
    for (let r = 0; r < runs; r++) {
      const k = prg.permutation(5).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.equal(counts.size, 120);
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - runs / 120) ** 2 / (runs / 120);
    // 119 degrees of freedom: mean 119, sd 15.4; 230 is > 7 sd out.
    assert.ok(chi2 < 230, `chi-square ${chi2.toFixed(1)}`);
  });

  it('the bucketed draw for large sizes (Rao–Sandelius) is uniform too: all 120 permutations of 5 with 2 and 8 buckets', () => {
    const prg = Prg.fresh();
    for (const k of [1, 3]) {
      const runs = 12000;
      const counts = new Map<string, number>();
      for (let r = 0; r < runs; r++) {
        const key = prg.bucketPermutation(5, k).join('');
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      assert.equal(counts.size, 120);
      let chi2 = 0;
      for (const c of counts.values()) chi2 += (c - runs / 120) ** 2 / (runs / 120);
      assert.ok(chi2 < 230, `2^${k} buckets: chi-square ${chi2.toFixed(1)}`);
    }
    // And a large draw is a permutation, with every bucket's elements spread over the whole range.
    const big = new Prg(new Uint8Array(16).fill(9)).permutation(300_000);
    const seen = new Uint8Array(big.length);
    for (const v of big) seen[v] = 1;
    assert.equal(seen.reduce((a, b) => a + b, 0), big.length);
  });
});

describe('oblivious shuffle', () => {
  it('permutes whole rows and unshuffle restores the table', async () => {
    for (const n of [0, 1, 2, 33, 3000]) {
      for (const c of [1, 2, 4]) {
        const cols = table(n, c);
        const res = await shuffleReveal(cols, n);
        for (const r of res) {
          const out = r.out as BigUint64Array[];
          assert.equal(out.length, c);
          for (const o of out) assert.equal(o.length, n);
          assert.deepEqual(rowsOf(out, n).sort(), rowsOf(cols, n).sort());
          assert.deepEqual(r.back, cols);
        }
        // all parties reveal the same table
        assert.deepEqual(res[0].out, res[1].out);
        assert.deepEqual(res[0].out, res[2].out);
      }
    }
  });

  it('keeps duplicate rows and all-equal columns intact', async () => {
    const n = 65;
    const keys = Array.from({ length: n }, (_, i) => BigInt(i % 3) - 1n);
    const cols = table(n, 3, keys);
    const [r] = await shuffleReveal(cols, n);
    assert.deepEqual(rowsOf(r.out as BigUint64Array[], n).sort(), rowsOf(cols, n).sort());
  });

  it('applies one Shuffle identically to two tables, and the second application composes', async () => {
    const n = 200;
    const t1 = table(n, 2);
    const t2 = [col(Array.from({ length: n }, (_, i) => BigInt(i)))];
    const s1 = shareAll(...t1);
    const s2 = shareAll(...t2);
    const res = await run3(async (p) => {
      const sh = new Shuffle(n);
      const o1 = await applyShuffle(p, sh, s1.map((s) => s[p.id]!));
      const o2 = await applyShuffle(p, sh, s2.map((s) => s[p.id]!));
      const twice = await applyShuffle(p, sh, o2);
      const u = await unshuffle(p, sh, await unshuffle(p, sh, twice));
      return A.revealMany(p, [...o1, ...o2, ...twice, ...u]);
    });
    const [a, b, idx, twice, u] = res[0] as BigUint64Array[];
    // idx[i] is the original row now at position i: both tables moved the same way.
    for (let i = 0; i < n; i++) {
      const src = Number(idx![i]!);
      assert.equal(a![i], t1[0]![src]);
      assert.equal(b![i], t1[1]![src]);
      assert.equal(twice![i], idx![src]); // π(π(x))_i = π(x)_{π[i]}
    }
    assert.deepEqual(u, t2[0]);
  });

  it('a public reordering inside the first or last round equals it done apart (unshuffle before, applyShuffle after)', async () => {
    for (const [n, c] of [[1, 1], [2, 3], [33, 2], [3000, 2]] as const) {
      const cols = table(n, c);
      const shares = shareAll(...cols);
      const before = new Prg(new Uint8Array(16).fill(n & 255)).permutation(n); // row i to place before[i]
      const reorder = (x: BigUint64Array) => {
        const out = new BigUint64Array(n);
        for (let i = 0; i < n; i++) out[before[i]!] = x[i]!;
        return out;
      };
      const res = await run3(async (p) => {
        const sh = new Shuffle(n);
        const moved = await applyShuffle(p, sh, shares.map((s) => s[p.id]!));
        const fused = await unshuffle(p, sh, moved, before);
        const twoSteps = await unshuffle(p, sh, moved.map((x) => new AShare(reorder(x.a), reorder(x.b))));
        // And after a shuffle: the same Shuffle again with the reordering in its last round.
        const movedAfter = await applyShuffle(p, sh, shares.map((s) => s[p.id]!), before);
        return { fused: await A.revealMany(p, fused), twoSteps: await A.revealMany(p, twoSteps), moved: await A.revealMany(p, moved), movedAfter: await A.revealMany(p, movedAfter) };
      });
      for (const r of res) {
        assert.deepEqual(r.fused, r.twoSteps, `${n} rows × ${c} columns`);
        assert.deepEqual(rowsOf(r.fused as BigUint64Array[], n).sort(), rowsOf(cols, n).sort());
        assert.deepEqual(r.movedAfter, (r.moved as BigUint64Array[]).map(reorder), `after, ${n} rows × ${c} columns`);
      }
    }
    const [x] = shareAll(col(randomInts(3)));
    await assert.rejects(run3((p) => unshuffle(p, new Shuffle(3), [x![p.id]!], new Uint32Array(2))), /a reordering of 2 rows, expected 3/);
    await assert.rejects(run3((p) => applyShuffle(p, new Shuffle(3), [x![p.id]!], new Uint32Array(4))), /a reordering of 4 rows, expected 3/);
  });

  it('rejects columns of different lengths', async () => {
    const s = shareAll(col(randomInts(3)), col(randomInts(4)));
    await assert.rejects(run3((p) => shuffle(p, s.map((x) => x[p.id]!))));
  });

  it('draws every permutation of 4 rows about equally often', async () => {
    const runs = 1200;
    const counts = new Map<string, number>();
    const [s] = shareAll(col([0n, 1n, 2n, 3n]));
    for (let r = 0; r < runs; r++) {
      const [out] = await run3(async (p) => A.reveal(p, (await shuffle(p, [s![p.id]!])).cols[0]!));
      const key = Array.from(out!, String).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(counts.size, 24);
    const expect = runs / 24;
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - expect) ** 2 / expect;
    // 23 degrees of freedom: P[chi2 > 80] < 1e-7.
    assert.ok(chi2 < 80, `chi-square ${chi2.toFixed(1)} over 24 permutations`);
  });

  it('shows every receiver only uniformly random words, whatever the input', async () => {
    // Frames: round 0 party 0 → 2, round 1 party 1 → 0, round 2 parties 2 and 0 → 1. For an
    // all-zero table and for small distinct values, check that every bit position is balanced in
    // (a) every lane of every frame and of the sum of party 1's two frames (π(x) − R), and (b)
    // the permutation-invariant lane sums of each frame plus ±the receiver's own share sums: with
    // a mask missing, e.g. Σ frame(0 → 2) + Σ x_2 would equal Σ x.
    const n = 8;
    const c = 2;
    const runs = 300;
    const frameBytes = n * c * 8;
    const sumOf = (v: BigUint64Array) => v.reduce((s, x) => BigInt.asUintN(64, s + x), 0n);
    for (const keys of [Array<bigint>(n).fill(0n), Array.from({ length: n }, (_, i) => BigInt(i))]) {
      const cols = table(n, c, keys);
      const lanes = new Map<string, Float64Array>();
      const sums = new Map<string, Float64Array>();
      const count = (m: Map<string, Float64Array>, key: string, v: bigint) => {
        let o = m.get(key);
        if (!o) m.set(key, (o = new Float64Array(65)));
        o[64]! += 1;
        for (let bit = 0; bit < 64; bit++) o[bit]! += Number((v >> BigInt(bit)) & 1n);
      };
      for (let r = 0; r < runs; r++) {
        const got: [PartyId, PartyId, BigUint64Array][] = [];
        const shares = shareAll(...cols);
        await run3(
          async (p) => {
            await shuffle(p, shares.map((s) => s[p.id]!));
          },
          {
            tap: (from, to, data) => {
              if (data.byteLength === frameBytes) got.push([from, to, new BigUint64Array(data.slice().buffer)]);
              return data;
            },
          },
        );
        const seen = got.map(([f, t]) => `${f}>${t}`).sort();
        assert.deepEqual(seen, ['0>1', '0>2', '1>0', '2>1']);
        const frame = (f: PartyId, t: PartyId) => got.find(([a, b]) => a === f && b === t)![2];
        const to1a = frame(2, 1);
        const to1b = frame(0, 1);
        const views: [string, PartyId, BigUint64Array][] = [
          ['0>2', 2, frame(0, 2)],
          ['1>0', 0, frame(1, 0)],
          ['2>1', 1, to1a],
          ['0>1', 1, to1b],
          ['sum>1', 1, to1a.map((v, i) => BigInt.asUintN(64, v + to1b[i]!))],
        ];
        for (const [name, to, f] of views) {
          for (const v of f) count(lanes, name, v);
          const sa = shares.reduce((s, x) => s + sumOf(x[to]!.a), 0n);
          const sb = shares.reduce((s, x) => s + sumOf(x[to]!.b), 0n);
          const sf = sumOf(f);
          for (const [k, v] of [sf, sf + sa, sf + sb, sf + sa + sb, sf - sa, sf - sb, sf - sa - sb].entries()) count(sums, `${name}/${k}`, BigInt.asUintN(64, v));
        }
      }
      for (const [name, o] of [...lanes, ...sums]) {
        const total = o[64]!;
        const sd = Math.sqrt(total / 4);
        for (let bit = 0; bit < 64; bit++) assert.ok(Math.abs(o[bit]! - total / 2) < 6 * sd, `${name} bit ${bit}: ${o[bit]} ones of ${total}`);
      }
    }
  });
});

