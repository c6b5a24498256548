import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { revealBits } from '../src/mpc/boolean.js';
import { lowBit } from '../src/mpc/convert.js';
import { semiJoinAgain, semiJoinMerged } from '../src/mpc/semi-merge.js';
import { col, rng, run3, shareAll } from './harness.js';

/**
 * A (one row per key, ascending) and S (any rows per key, ascending) drawn from `spread` keys,
 * S's condition random (or every row where `all`); the flags in MPC against the plaintext.
 */
async function check(nA: number, nS: number, o: { spread?: number; all?: boolean; seed?: number; arenaBytes?: number; keyBits?: number } = {}): Promise<void> {
  const r = rng(o.seed ?? nA * 7919 + nS);
  const keyBits = o.keyBits ?? 34;
  const spread = o.spread ?? Math.max(4, 2 * (nA + nS));
  // Keys drawn as doubles below 2^53; wider keys get their top bit set as well (order kept).
  const top = Math.min(2 ** keyBits - 1, 2 ** 53);
  const offset = keyBits > 53 ? 1n << BigInt(keyBits - 1) : 0n;
  const key = () => Math.min(top, Math.floor(r() * spread) * Math.max(1, Math.floor(top / spread)));
  const aSet = new Set<number>();
  while (aSet.size < nA) aSet.add(key());
  const a = [...aSet].sort((x, y) => x - y);
  // Half of S's keys are A's (so that groups meet), the others anywhere.
  const s = Array.from({ length: nS }, () => (nA && r() < 0.5 ? a[Math.floor(r() * nA)]! : key())).sort((x, y) => x - y);
  const cond = s.map(() => (o.all || r() < 0.4 ? 1 : 0));
  // A second condition for the kept line-up (semiJoinAgain): every S row in the all case, else another draw.
  const cond2 = s.map(() => (r() < 0.2 ? 1 : 0));
  const wantOf = (c: number[] | null) => a.map((k) => (s.some((x, i) => x === k && (!c || c[i] === 1)) ? 1 : 0));
  const [sk, sc, sc2, ak] = shareAll(col(s.map((x) => BigInt(x) + offset)), col(cond.map(BigInt)), col(cond2.map(BigInt)), col(a.map((x) => BigInt(x) + offset)));
  const arena = o.arenaBytes !== undefined ? { arenaBytes: o.arenaBytes } : {};
  const res = await run3(async (p) => {
    const { flags, lineup } = await semiJoinMerged(p, { key: sk![p.id]!, present: o.all ? null : lowBit(sc![p.id]!) }, ak![p.id]!, { keyBits, ...arena });
    assert.equal(flags.n, nA);
    assert.equal(lineup === null, nA === 0 || nS === 0, 'a line-up where both sides have rows');
    const again = lineup ? await semiJoinAgain(p, lineup, o.all ? lowBit(sc2![p.id]!) : null, arena) : null;
    return [await revealBits(p, flags), again && (await revealBits(p, again))];
  });
  const bitsOf = (words: Uint32Array) => a.map((_, i) => (words[i >>> 5]! >>> (i & 31)) & 1);
  for (const [words, again] of res) {
    assert.deepEqual(bitsOf(words!), wantOf(o.all ? null : cond), `A ${nA} × S ${nS}${o.all ? ', every S row' : ''}`);
    // Lanes past A's rows are 0.
    if (nA & 31) assert.equal(words![words!.length - 1]! >>> (nA & 31), 0);
    if (again) assert.deepEqual(bitsOf(again), wantOf(o.all ? cond2 : null), `again with the kept line-up, A ${nA} × S ${nS}`);
  }
}

describe('EXISTS flags by the merge network (semi-merge.ts: the condition carried, the flag taken back)', () => {
  it('small and edge sizes: empty sides, one row, word edges, equal lengths, A longer and shorter', async () => {
    for (const [nA, nS] of [[0, 5], [5, 0], [1, 1], [1, 40], [40, 1], [31, 33], [32, 32], [33, 31], [64, 64], [100, 450], [450, 100]] as [number, number][]) await check(nA, nS);
  });

  it('every S row counting (no condition), duplicates of every key, and the widest keys', async () => {
    await check(100, 450, { all: true });
    await check(50, 500, { spread: 60 });
    await check(20, 300, { spread: 20, all: true });
    await check(70, 90, { keyBits: 63, spread: 1000 });
    await check(2, 90, { keyBits: 1, spread: 2 });
  });

  it('thousands of rows, in WebAssembly moves and in JavaScript (no arena)', async () => {
    await check(3_000, 20_000, { seed: 3 });
    await check(20_000, 3_000, { seed: 4 });
    await check(1_000, 4_500, { seed: 5, arenaBytes: 0 });
  });
});
