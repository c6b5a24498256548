import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { applySortPermutation, keysInRange, sort, unsortPermutation, type SortOptions } from '../src/mpc/sort.js';
import { col, randomInts, run3, shareAll, signed } from './harness.js';

/** Plaintext stable sort: the original indices in output order. */
function stableOrder(keys: bigint[], descending = false): number[] {
  const s = descending ? -1 : 1;
  return keys.map((_, i) => i).sort((i, j) => (keys[i]! < keys[j]! ? -s : keys[i]! > keys[j]! ? s : i - j));
}

async function check(keys: bigint[], payloadCount = 1, opts: SortOptions = {}): Promise<void> {
  const n = keys.length;
  const payloads = Array.from({ length: payloadCount }, () => randomInts(n));
  const [sk, ...sp] = shareAll(col(keys), ...payloads.map(col));
  const res = await run3(async (p) => {
    const r = await sort(p, sk![p.id]!, sp.map((s) => s[p.id]!), { withIndex: true, ...opts });
    assert.equal(r.payloads.length, payloadCount);
    return A.revealMany(p, [r.key, r.index!, ...r.payloads]);
  });
  const want = stableOrder(keys, opts.descending);
  for (const [k, idx, ...ps] of res as BigUint64Array[][]) {
    assert.deepEqual(signed(k!), want.map((i) => keys[i]!), `keys, n = ${n}`);
    assert.deepEqual(Array.from(idx!, Number), want, `original indices, n = ${n}`);
    ps.forEach((pc, c) => assert.deepEqual(signed(pc), want.map((i) => payloads[c]![i]!), `payload ${c}`));
  }
}

const range = (n: number, f: (i: number) => bigint): bigint[] => Array.from({ length: n }, (_, i) => f(i));

describe('oblivious sort (shuffle, then quicksort with revealed comparisons)', () => {
  it('sorts random 32-bit keys with payloads, at edge lengths', async () => {
    for (const n of [0, 1, 2, 3, 33, 100]) await check(randomInts(n, 32), 2);
    await check(randomInts(3000, 32), 1);
  });

  it('handles negatives, extremes of the declared width, duplicates and all-equal keys', async () => {
    const lo = -(1n << 31n);
    const hi = (1n << 31n) - 1n;
    await check([hi, lo, 0n, -1n, 1n, lo, hi, -2n, 2n, 0n], 1);
    await check(range(500, (i) => BigInt((i * 7919) % 13) - 6n), 2); // many duplicates
    await check(range(257, () => -5n), 1); // all equal: original order kept
    await check(range(64, () => 0n), 0);
  });

  it('moves rows in WebAssembly from 4096 rows on (duplicates, all equal, descending, plain quicksort and after a search)', async () => {
    await check(range(4096, (i) => BigInt(i % 7) - 3n), 2, { sampleLevels: 0 });
    await check(range(5000, () => 5n), 1, { sampleLevels: 0 });
    await check(randomInts(6000, 20), 1, { sampleLevels: 0, descending: true });
    await check(range(9000, (i) => BigInt((i * 7919) % 1000)), 1, { sampleLevels: 6, descending: true });
  });

  it('handles already sorted and reverse sorted input', async () => {
    await check(range(1000, (i) => BigInt(i) - 500n), 1);
    await check(range(1000, (i) => 500n - BigInt(i)), 1);
    await check(range(300, (i) => BigInt(i >> 3)), 1); // sorted with runs of duplicates
  });

  it('sorts descending, keeping ties in original order', async () => {
    for (const n of [0, 1, 2, 33]) await check(randomInts(n, 32), 1, { descending: true });
    await check(range(700, (i) => BigInt((i * 31) % 17) - 8n), 2, { descending: true });
    await check([(1n << 31n) - 1n, -(1n << 31n), 0n, -(1n << 31n), (1n << 31n) - 1n], 1, { descending: true });
  });

  it('sorts with a sorted sample as splitters (sample, binary search, quicksort of the gaps)', async () => {
    for (const sampleLevels of [1, 3, 6, 9]) await check(randomInts(3000, 32), 1, { sampleLevels });
    await check(randomInts(20_000, 32), 1, { sampleLevels: 4 }); // the search kernel's calls of 16384 rows
    await check(range(2000, (i) => BigInt((i * 7919) % 5) - 2n), 1, { sampleLevels: 5 }); // duplicates
    await check(range(1000, () => 3n), 1, { sampleLevels: 4 }); // all equal
    await check(range(1000, (i) => BigInt(i)), 1, { sampleLevels: 4 }); // sorted
    await check(range(1000, (i) => -BigInt(i)), 1, { sampleLevels: 8 }); // reverse sorted; clamped to log2(n/4 + 1)
    await check(range(1500, (i) => BigInt((i * 13) % 40)), 2, { sampleLevels: 6, descending: true });
    await check(randomInts(5000, 32), 1); // default: 7 levels at 5000 rows
  });

  it('honours a declared key width', async () => {
    await check([127n, -128n, 0n, -1n, 5n, 127n, -128n], 1, { keyBits: 8 });
    await check(randomInts(200, 40), 1, { keyBits: 40 });
    await check(range(100, (i) => (i % 2 ? 1n : -1n) * ((1n << 53n) - BigInt(i))), 1, { keyBits: 55 });
  });

  it('reveals comparison outcomes whose distribution does not depend on the keys', async () => {
    // n = 4: level 0 compares the 3 non-pivots with a uniformly random pivot, so the revealed
    // 3-bit pattern is 000 or 111 with probability 1/4 each and each other pattern 1/12, whatever
    // the input (sorted, reverse sorted, all equal). Also count levels and comparisons.
    const runs = 240;
    const prob = [3, 1, 1, 1, 1, 1, 1, 3].map((w) => w / 12);
    for (const keys of [[1n, 2n, 3n, 4n], [4n, 3n, 2n, 1n], [7n, 7n, 7n, 7n]]) {
      const counts = new Array<number>(8).fill(0);
      const [sk] = shareAll(col(keys));
      for (let r = 0; r < runs; r++) {
        const seen: number[][] = [[], [], []];
        await run3((p) => sort(p, sk![p.id]!, [], { onReveal: (less, m) => seen[p.id]!.push(less[0]! & ((1 << m) - 1), m) }));
        assert.deepEqual(seen[0], seen[1]);
        assert.deepEqual(seen[0], seen[2]);
        assert.equal(seen[0]![1], 3);
        counts[seen[0]![0]!]!++;
      }
      let chi2 = 0;
      counts.forEach((c, k) => (chi2 += (c - runs * prob[k]!) ** 2 / (runs * prob[k]!)));
      // 7 degrees of freedom: P[chi2 > 40] < 1e-5.
      assert.ok(chi2 < 40, `chi-square ${chi2.toFixed(1)} for ${keys}: ${counts}`);
    }
  });

  it('returns no index column unless asked, and leaves its inputs untouched', async () => {
    const keys = randomInts(50, 32);
    const [sk, sp] = shareAll(col(keys), col(randomInts(50)));
    const before = [sk!, sp!].map((s) => s.map((x) => [x.a.slice(), x.b.slice()]));
    const res = await run3(async (p) => {
      const r = await sort(p, sk![p.id]!, [sp![p.id]!]);
      assert.equal(r.index, undefined);
      return A.reveal(p, r.key);
    });
    assert.deepEqual(signed(res[0]!), [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    assert.deepEqual([sk!, sp!].map((s) => s.map((x) => [x.a, x.b])), before);
  });

  it('reveals splitter-search outcomes whose distribution does not depend on the keys', async () => {
    // n = 8, one splitter (a uniformly random row): its first reveal compares the 7 others with
    // it, and the number of rows before it is uniform on 0..7 whatever the input.
    const runs = 160;
    for (const keys of [range(8, (i) => BigInt(i)), range(8, (i) => -BigInt(i)), range(8, () => 5n)]) {
      const counts = new Array<number>(8).fill(0);
      const [sk] = shareAll(col(keys));
      for (let r = 0; r < runs; r++) {
        let first = -1;
        await run3((p) =>
          sort(p, sk![p.id]!, [], {
            sampleLevels: 1,
            onReveal: (less, m) => {
              if (p.id === 0 && first < 0) {
                assert.equal(m, 7);
                first = 0;
                for (let q = 0; q < m; q++) first += (less[0]! >>> q) & 1;
              }
            },
          }),
        );
        counts[first]!++;
      }
      let chi2 = 0;
      for (const c of counts) chi2 += (c - runs / 8) ** 2 / (runs / 8);
      assert.ok(chi2 < 40, `chi-square ${chi2.toFixed(1)} for ${keys}: ${counts}`);
    }
  });

  it('applies and undoes the sort permutation on other columns', async () => {
    for (const n of [0, 1, 40, 2000]) {
      const keys = randomInts(n, 32);
      const extra = randomInts(n);
      const [sk, se] = shareAll(col(keys), col(extra));
      const res = await run3(async (p) => {
        const r = await sort(p, sk![p.id]!, [], { sampleLevels: n > 1000 ? 4 : 0 });
        const [moved] = await applySortPermutation(p, r.permutation, [se![p.id]!]);
        const [back, keyBack] = await unsortPermutation(p, r.permutation, [moved!, r.key]);
        return A.revealMany(p, [moved!, back!, keyBack!]);
      });
      const want = stableOrder(keys);
      for (const [moved, back, keyBack] of res as BigUint64Array[][]) {
        assert.deepEqual(signed(moved!), want.map((i) => extra[i]!));
        assert.deepEqual(signed(back!), extra);
        assert.deepEqual(signed(keyBack!), keys);
      }
    }
  });

  it('checks the declared key range on request, revealing one bit', async () => {
    const lo = -(1n << 31n);
    const hi = (1n << 31n) - 1n;
    for (const n of [1, 2, 31, 32, 33, 100]) {
      const good = randomInts(n, 32);
      good[0] = lo;
      good[n - 1] = hi;
      for (const [keys, want] of [
        [good, true],
        [good.map((v, i) => (i === n - 1 ? hi + 1n : v)), false],
        [good.map((v, i) => (i === 0 ? lo - 1n : v)), false],
        [good.map((v, i) => (i === n >> 1 ? 1n << 62n : v)), false],
      ] as [bigint[], boolean][]) {
        const [sk] = shareAll(col(keys));
        const res = await run3((p) => keysInRange(p, sk![p.id]!, 32));
        assert.deepEqual(res, [want, want, want], `n = ${n}`);
      }
    }
    await check(randomInts(300, 32), 1, { checkRange: true });
    const [bad] = shareAll(col([1n, 2n, 1n << 40n]));
    await assert.rejects(run3((p) => sort(p, bad![p.id]!, [], { checkRange: true })), /outside the declared 32-bit range/);
  });

  it('sorts distinct keys without tie-break bits (distinct), including descending and the width bounds', async () => {
    for (const [n, desc] of [[0, false], [1, false], [5000, false], [700, true]] as const) {
      const keys = [...new Set(randomInts(n, 40))];
      if (n > 1) keys.push((1n << 39n) - 1n, -(1n << 39n));
      const uniq = [...new Set(keys)];
      const [sk, sp] = shareAll(col(uniq), col(uniq.map((k) => k * 3n)));
      const out = await run3(async (p) => {
        const r = await sort(p, sk![p.id]!, [sp![p.id]!], { keyBits: 40, distinct: true, descending: desc });
        return A.revealMany(p, [r.key, r.payloads[0]!]);
      });
      const want = [...uniq].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (desc) want.reverse();
      for (const [k, pl] of out) {
        assert.deepEqual(signed(k!), want);
        assert.deepEqual(signed(pl!), want.map((x) => x * 3n));
      }
    }
    await assert.rejects(() => run3((p) => sort(p, A.random(p, 4), [], { keyBits: 40, distinct: true, withIndex: true })), /withIndex/);
  });

  it('rejects bad widths and mismatched payloads', async () => {
    const [k, p3] = shareAll(col(randomInts(5, 32)), col(randomInts(3)));
    await assert.rejects(run3((p) => sort(p, k![p.id]!, [], { keyBits: 0 })), RangeError);
    await assert.rejects(run3((p) => sort(p, k![p.id]!, [], { keyBits: 63 })), RangeError); // 63 + 3 index bits > 64
    await assert.rejects(run3((p) => sort(p, k![p.id]!, [p3![p.id]!])), RangeError);
    await assert.rejects(run3((p) => sort(p, k![p.id]!, [], { sampleLevels: 1.5 })), RangeError);
  });
});
