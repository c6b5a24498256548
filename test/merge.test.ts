import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { mergeRuns } from '../src/mpc/merge.js';
import { applySortPermutation, unsortPermutation } from '../src/mpc/sort.js';
import { col, randomInts, run3, shareAll, signed } from './harness.js';

/** Random ascending runs of signed `bits`-bit keys (duplicates within and across runs when `spread` is small). */
function runsOf(lengths: number[], bits: number, spread?: bigint): bigint[] {
  return lengths.flatMap((l) => {
    const r = spread === undefined ? randomInts(l, bits) : randomInts(l, 32).map((v) => ((v % spread) + spread) % spread);
    return r.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  });
}

/**
 * Merges the runs in MPC and checks against the plaintext: keys ascending and the same multiset,
 * each payload row still beside its key (payload = original row number), the permutation applied
 * to another column and undone.
 */
async function check(lengths: number[], bits = 32, spread?: bigint, decomposeRows?: number, arenaBytes?: number): Promise<void> {
  const keys = runsOf(lengths, bits, spread);
  const n = keys.length;
  const rowNo = keys.map((_, i) => BigInt(i));
  const other = randomInts(n);
  const [sk, sr, so] = shareAll(col(keys), col(rowNo), col(other));
  const res = await run3(async (p) => {
    const r = await mergeRuns(p, sk![p.id]!, lengths, [sk![p.id]!, sr![p.id]!], { keyBits: bits, ...(decomposeRows ? { decomposeRows } : {}), ...(arenaBytes !== undefined ? { arenaBytes } : {}) });
    const [moved] = await applySortPermutation(p, r.permutation, [so![p.id]!]);
    const [back] = await unsortPermutation(p, r.permutation, [moved!]);
    return A.revealMany(p, [r.payloads[0]!, r.payloads[1]!, moved!, back!, r.same]);
  });
  const want = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [k, rows, moved, back, same] of res as BigUint64Array[][]) {
    const label = `runs ${lengths.join(' + ')}`;
    assert.deepEqual(signed(k!), want, `keys, ${label}`);
    assert.deepEqual(Array.from(same!, Number), want.map((v, j) => (j > 0 && want[j - 1] === v ? 1 : 0)), `same key as the place before, ${label}`);
    // Stable: equal keys in their original order (runs in order, each run's own order).
    const stable = keys.map((_, i) => i).sort((i, j) => (keys[i]! < keys[j]! ? -1 : keys[i]! > keys[j]! ? 1 : i - j));
    const from = Array.from(rows!, Number);
    assert.deepEqual(from, stable, `each row beside its key, ties in original order, ${label}`);
    assert.deepEqual(signed(moved!), from.map((i) => other[i]!), `permutation applied, ${label}`);
    assert.deepEqual(signed(back!), other, `permutation undone, ${label}`);
  }
}

describe('merging sorted runs (bitonic merger on bit-sliced keys; custodian-sorted registers)', () => {
  it('merges two runs of edge and unequal lengths', async () => {
    for (const l of [[0], [1], [5], [0, 0], [0, 3], [3, 0], [1, 1], [1, 2], [31, 33], [32, 32], [100, 450], [450, 100], [1, 1000]]) await check(l);
  });

  it('decomposes the key a chunk of rows at a time (chunks across runs and pads)', async () => {
    for (const l of [[100, 450], [31, 33, 70], [0, 200]]) await check(l, 32, undefined, 64);
    await check([300, 200], 32, 7n, 32);
  });

  it('merges runs of thousands of rows: the network\'s moves in WebAssembly over long ranges, many pad words, a reused arena', async () => {
    // 20 000 + 3 000 rows: 719 words in a network of 1 024, so 305 pad words move down; ranges of
    // up to 512 words (the kernels' 4-word steps and their tails). Twice: the second merge runs in
    // the arena the first gave back, whose pad words are not cleared.
    for (const l of [[20_000, 3_000], [3_001, 19_999]]) await check(l, 32, 1000n);
  });

  it('runs a network no arena holds on typed arrays, its moves in JavaScript: the same merge', async () => {
    for (const l of [[1, 2], [31, 33], [100, 450], [20_000, 3_000], [7, 9, 1, 20]]) await check(l, 32, 1000n, undefined, 0);
  });

  it('merges three and more runs, shortest first', async () => {
    for (const l of [[7, 9, 1, 20], [0, 5, 0, 5], [64, 1, 63, 2, 200]]) await check(l);
  });

  it('handles duplicates within and across runs, equal runs, and the declared width\'s extremes', async () => {
    await check([300, 200], 32, 5n);
    await check([128, 128, 3], 32, 1n); // every key equal
    await check([500, 257], 63);
    const lo = -(1n << 31n), hi = (1n << 31n) - 1n;
    const keys = [lo, lo, -1n, 0n, hi, lo, 0n, hi, hi];
    const [sk, sr] = shareAll(col(keys), col(keys.map((_, i) => BigInt(i))));
    const res = await run3(async (p) => A.reveal(p, (await mergeRuns(p, sk![p.id]!, [5, 4], [sk![p.id]!, sr![p.id]!], { keyBits: 32 })).payloads[0]!));
    assert.deepEqual(signed(res[0]!), [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('reveals two uniformly random permutations only: the same data gives different revealed ranks', async () => {
    const keys = runsOf([40, 60], 32);
    const [sk] = shareAll(col(keys));
    const ranks = await Promise.all([0, 1].map(() => run3(async (p) => Array.from((await mergeRuns(p, sk![p.id]!, [40, 60], [], { keyBits: 32 })).permutation.rank))));
    assert.notDeepEqual(ranks[0]![0], ranks[1]![0]);
  });

  it('merges unsigned keys of the full declared width', async () => {
    const keys = [[0n, 5n, (1n << 34n) - 1n], [0n, 0n, 7n, (1n << 34n) - 1n, (1n << 34n) - 1n]];
    const flat = keys.flat();
    const [sk, sr] = shareAll(col(flat), col(flat.map((_, i) => BigInt(i))));
    const res = await run3(async (p) => {
      const r = await mergeRuns(p, sk![p.id]!, [3, 5], [sk![p.id]!, sr![p.id]!], { keyBits: 34, unsigned: true });
      return A.revealMany(p, [...r.payloads, r.same]);
    });
    const order = flat.map((_, i) => i).sort((i, j) => (flat[i]! < flat[j]! ? -1 : flat[i]! > flat[j]! ? 1 : i - j));
    assert.deepEqual(Array.from(res[0]![0]!), order.map((i) => flat[i]!));
    assert.deepEqual(Array.from(res[0]![1]!, Number), order);
    assert.deepEqual(Array.from(res[0]![2]!, Number), [0, 1, 1, 0, 0, 0, 1, 1]);
  });

  it('runs that are not sorted (a false sortedBy): a wrong order, but every row once and a permutation revealed', async () => {
    const keys = randomInts(300, 32); // unsorted "runs" of 120 and 180
    const [sk, sr] = shareAll(col(keys), col(keys.map((_, i) => BigInt(i))));
    const res = await run3(async (p) => {
      const r = await mergeRuns(p, sk![p.id]!, [120, 180], [sk![p.id]!, sr![p.id]!], { keyBits: 32 });
      return { rank: Array.from(r.permutation.rank), out: await A.revealMany(p, r.payloads) };
    });
    for (const { rank, out } of res) {
      assert.deepEqual([...rank].sort((a, b) => a - b), keys.map((_, i) => i), 'the revealed ranks are a permutation');
      const rows = Array.from(out[1]!, Number);
      assert.deepEqual([...rows].sort((a, b) => a - b), keys.map((_, i) => i), 'every row once');
      rows.forEach((i, j) => assert.equal(signed(out[0]!)[j], keys[i], 'each key beside its row'));
    }
  });

  it('rejects run lengths that do not add up', async () => {
    const [sk] = shareAll(col([1n, 2n, 3n]));
    await assert.rejects(run3((p) => mergeRuns(p, sk![p.id]!, [1, 1], [], { keyBits: 32 })), /do not add up/);
  });
});
