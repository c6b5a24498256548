// Distinct counts per group (src/mpc/distinct.ts) in each of its three orders (one sort by the
// composite key, two stable sorts when that key is too wide, rows already in value order), against a
// plaintext count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { groupDistinct } from '../src/mpc/distinct.js';
import { col, rng, run3, shareAll, signed } from './harness.js';

/** Per group < G: Σ s and the number of distinct v (rows with group G are not counted). */
function plain(group: number[], v: bigint[], s: bigint[], G: number): { sums: bigint[]; distinct: bigint[] } {
  const sets = Array.from({ length: G }, () => new Set<bigint>());
  const sums = new Array<bigint>(G).fill(0n);
  group.forEach((g, i) => {
    if (g === G) return;
    sets[g]!.add(v[i]!);
    sums[g]! += s[i]!;
  });
  return { sums, distinct: sets.map((x) => BigInt(x.size)) };
}

async function check(group: number[], v: bigint[], G: number, bits: number, mode: 'ordered' | 'sorted'): Promise<void> {
  const n = group.length;
  const s = group.map((g, i) => (g === G ? 0n : BigInt(i % 7)));
  const [sg, sv, ss] = shareAll(col(group.map(BigInt)), col(v), col(s));
  const [r] = await run3(async (p) => {
    const out = await groupDistinct(p, sg![p.id]!, G, [ss![p.id]!], [{ value: sv![p.id]!, bits, ordered: mode === 'ordered' }]);
    return A.revealMany(p, [...out.sums, ...out.distinct]);
  });
  const want = plain(group, v, s, G);
  assert.deepEqual(signed(r[0]!), want.sums, `sums, ${mode}, n = ${n}`);
  assert.deepEqual(signed(r[1]!), want.distinct, `distinct counts, ${mode}, n = ${n}`);
}

describe('COUNT(DISTINCT) per group by sorting (src/mpc/distinct.ts)', () => {
  it('equals a plaintext count in every order, with ties, filtered rows and empty groups', async () => {
    const rand = rng(5);
    for (const n of [0, 1, 2, 40, 700]) {
      const G = 1 + Math.floor(rand() * 6);
      // Few distinct values (many ties), some rows not counted (group G), negative values.
      const group = Array.from({ length: n }, () => Math.floor(rand() * (G + 1)));
      const v = Array.from({ length: n }, () => BigInt(Math.floor(rand() * 9) - 4));
      await check(group, v, G, 5, 'sorted');
      // Ordered: the counted rows in nondecreasing value order (as after a join on the value).
      const order = v.map((_, i) => i).sort((i, j) => (v[i]! < v[j]! ? -1 : v[i]! > v[j]! ? 1 : 0));
      await check(order.map((i) => group[i]!), order.map((i) => v[i]!), G, 5, 'ordered');
    }
  });

  it('one group, counted rows in value order and others anywhere between them (no sort): a scan', async () => {
    const rand = rng(7);
    for (const n of [0, 1, 3, 500]) {
      // Counted rows (group 0) carry nondecreasing values; the others (group 1) any value, e.g. 0.
      let v = 0n;
      const group = Array.from({ length: n }, () => (rand() < 0.3 ? 1 : 0));
      const vals = group.map((g) => (g === 1 ? BigInt(Math.floor(rand() * 3)) : (v += rand() < 0.4 ? 1n : 0n)));
      await check(group, vals, 1, 36, 'ordered');
    }
  });

  it('counts person ids (36-bit values) over one group and one row', async () => {
    await check([0], [(1n << 34n) - 1n], 1, 36, 'sorted');
    await check([0, 0, 0, 1], [17n, 17n, 17n, 5n], 1, 36, 'sorted');
    await check([1, 1], [3n, 4n], 1, 36, 'ordered');
  });

  it('orders by two stable sorts when the composite key and the sort index exceed 64 bits', async () => {
    // 8192 groups (15 bits) and person ids (37 bits with the dummies' value) leave no room for 14 index bits.
    const rand = rng(9);
    const G = 8192;
    const group = Array.from({ length: 300 }, () => Math.floor(rand() * 40) * 200);
    const v = group.map(() => BigInt(Math.floor(rand() * 5)) * 1_000_000_007n);
    await check(group, v, G, 36, 'sorted');
  });
});
