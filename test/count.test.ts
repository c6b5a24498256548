// countOnes (src/mpc/count.ts) and the binary path of cellSums (src/stats/secure.ts) against the
// plaintext: random and edge inputs (n = 0, 1, 31, 32, 33, non-multiples of 32, all ones, all
// zeros, garbage in the lanes past n), and chunk boundaries of cellSums.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromPublic, revealMany } from '../src/mpc/arith.js';
import { inputBits } from '../src/mpc/boolean.js';
import { countOnes } from '../src/mpc/count.js';
import { splitShares } from '../src/mpc/share.js';
import { wordsFor } from '../src/ring/bits.js';
import { cellSums } from '../src/stats/secure.js';
import { rng, run3 } from './harness.js';

/** K planes of n lanes: plane k's bits, and its words with random bits past lane n. */
function planes(r: () => number, n: number, K: number, fill: (k: number, i: number) => number) {
  const W = wordsFor(n);
  const bits = Array.from({ length: K }, (_, k) => Array.from({ length: n }, (_, i) => fill(k, i)));
  const words = new Uint32Array(K * W);
  bits.forEach((b, k) => {
    for (let w = 0; w < W; w++) words[k * W + w] = Math.floor(r() * 2 ** 32); // garbage past n
    b.forEach((v, i) => {
      const at = k * W + (i >>> 5);
      words[at] = v ? words[at]! | (1 << (i & 31)) : words[at]! & ~(1 << (i & 31));
    });
  });
  return { bits, words };
}

async function counted(n: number, K: number, words: Uint32Array): Promise<bigint[]> {
  const out = await run3(async (p) => {
    const b = await inputBits(p, 1, p.id === 1 ? words : null, n, K);
    return (await revealMany(p, [await countOnes(p, b)]))[0]!;
  });
  return Array.from(out[0]!);
}

describe('count: countOnes (carry-save tree of full adders)', () => {
  it('counts the ones of every plane exactly, ignoring the lanes past n', async () => {
    const r = rng(13);
    for (const n of [0, 1, 2, 31, 32, 33, 63, 64, 65, 95, 96, 97, 1000, 3 * 32 * 7 + 5, 20_011]) {
      const kinds: [string, (k: number, i: number) => number][] = [
        ['random', () => +(r() < 0.5)],
        ['sparse', () => +(r() < 0.02)],
        ['all ones', () => 1],
        ['all zeros', () => 0],
        ['per plane', (k) => +(k % 2 === 0)],
      ];
      for (const [kind, fill] of kinds) {
        const K = 1 + Math.floor(r() * 6);
        const { bits, words } = planes(r, n, K, fill);
        const got = await counted(n, K, words);
        assert.deepEqual(got, bits.map((b) => BigInt(b.reduce((s, v) => s + v, 0))), `n=${n} K=${K} ${kind}`);
      }
    }
  });

  it('handles no planes', async () => {
    assert.deepEqual(await counted(100, 0, new Uint32Array(0)), []);
  });
});

describe('count: cellSums with 0/1 weights (one-hot planes and countOnes, in chunks)', () => {
  it('matches the plaintext counts per cell, across chunk boundaries and with a public all-ones weight', async () => {
    const r = rng(17);
    for (const n of [0, 1, 31, 32, 33, 100, 1000]) {
      for (const G of [1, 2, 5, 12]) {
        for (const chunkRows of [undefined, 32, 64, 96]) {
          const cell = Array.from({ length: n }, () => Math.floor(r() * G));
          const w = Array.from({ length: n }, () => +(r() < 0.3));
          const shares = [splitShares(BigUint64Array.from(cell, BigInt)), splitShares(BigUint64Array.from(w, BigInt))];
          const out = await run3(async (p) => {
            const ones = fromPublic(p, new BigUint64Array(n).fill(1n));
            const s = await cellSums(p, shares[0]![p.id]!, G, [ones, shares[1]![p.id]!, ones], true, { ones: [true, false, false], ...(chunkRows ? { chunkRows } : {}) });
            return revealMany(p, s);
          });
          const want = (wt: (i: number) => number) => Array.from({ length: G }, (_, g) => BigInt(cell.reduce((s, c, i) => s + (c === g ? wt(i) : 0), 0)));
          const [exits, events, again] = out[0]!.map((x) => Array.from(x!));
          const ctx = `n=${n} G=${G} chunk=${chunkRows}`;
          assert.deepEqual(exits, want(() => 1), ctx);
          assert.deepEqual(events, want((i) => w[i]!), ctx);
          assert.deepEqual(again, want(() => 1), `${ctx} (the ones ANDed)`);
        }
      }
    }
  });
});
