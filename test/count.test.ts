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
import { cellSums, COUNT_PLANES } from '../src/stats/secure.js';
import { cellCounts } from '../src/stats/cell-counts.js';
import type { CellKey } from '../src/stats/cells.js';
import type { AnalysisTable, RowColumn } from '../src/query/rows.js';
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
  it('matches the plaintext counts per cell, across chunk boundaries', async () => {
    const r = rng(17);
    for (const n of [0, 1, 31, 32, 33, 100, 1000]) {
      for (const G of [1, 2, 5, 12]) {
        for (const chunkRows of [undefined, 32, 64, 96]) {
          const cell = Array.from({ length: n }, () => Math.floor(r() * G));
          const w = Array.from({ length: n }, () => +(r() < 0.3));
          const shares = [splitShares(BigUint64Array.from(cell, BigInt)), splitShares(BigUint64Array.from(w, BigInt))];
          const out = await run3(async (p) => {
            const ones = fromPublic(p, new BigUint64Array(n).fill(1n));
            return revealMany(p, await cellSums(p, shares[0]![p.id]!, G, [ones, shares[1]![p.id]!], true, chunkRows));
          });
          const want = (wt: (i: number) => number) => Array.from({ length: G }, (_, g) => BigInt(cell.reduce((s, c, i) => s + (c === g ? wt(i) : 0), 0)));
          const [exits, events] = out[0]!.map((x) => Array.from(x!));
          const ctx = `n=${n} G=${G} chunk=${chunkRows}`;
          assert.deepEqual(exits, want(() => 1), ctx);
          assert.deepEqual(events, want((i) => w[i]!), ctx);
        }
      }
    }
  });
});

describe('count: cellCounts (cells of keys straight from their bits)', () => {
  // Keys: a factor (sizes 1, 2 with an odd and an even or negative minimum, 4), bins with
  // thresholds inside and outside the bounds; weights: the rows (public ones, or valid ANDed) and
  // events on valid rows only (rows outside the table hold out-of-range keys).
  const factor = (column: string, min: number, size: number): CellKey => ({ column, kind: 'factor', min, size });
  const cases: { what: string; keys: CellKey[]; bounds: Record<string, [number, number]> }[] = [
    { what: 'two-level factor × bins', keys: [factor('g', 0, 2), { column: 't', kind: 'bins', thresholds: [5, 10, 30, 31, 90] }], bounds: { g: [0, 1], t: [0, 40] } },
    { what: 'bins × odd two-level factor', keys: [{ column: 't', kind: 'bins', thresholds: [-3, 0, 7] }, factor('g', -1, 2)], bounds: { g: [-1, 0], t: [-5, 12] } },
    { what: 'factor of 4 × even two-level factor × one level', keys: [factor('q', 2, 4), factor('g', 4, 2), factor('h', 3, 1)], bounds: { q: [2, 5], g: [4, 5], h: [3, 3] } },
    { what: 'one factor', keys: [factor('q', -2, 3)], bounds: { q: [-2, 0] } },
  ];
  /** cellCounts against the plaintext counts for one case, n, chunk size and validity. */
  async function check(r: () => number, c: (typeof cases)[number], n: number, chunkRows: number | undefined, allValid: boolean): Promise<void> {
    const cols = Object.keys(c.bounds);
    const plain = new Map(cols.map((name) => [name, Array.from({ length: n }, () => c.bounds[name]![0] + Math.floor(r() * (c.bounds[name]![1] - c.bounds[name]![0] + 1)))]));
    const valid = Array.from({ length: n }, () => (allValid ? 1 : +(r() < 0.7)));
    for (const v of plain.values()) v.forEach((_, i) => valid[i] || (v[i] = 1000 + Math.floor(r() * 1e6))); // garbage outside the table
    const died = Array.from({ length: n }, (_, i) => valid[i]! & +(r() < 0.4));
    const enc = (v: number[]) => splitShares(BigUint64Array.from(v, (x) => BigInt.asUintN(64, BigInt(x))));
    const sh = new Map([...plain].map(([k, v]) => [k, enc(v)]));
    const [vs, ds] = [enc(valid), enc(died)];
    const meta = cols.map((name) => ({ name, text: name, type: 'int', min: c.bounds[name]![0], max: c.bounds[name]![1] }) as unknown as RowColumn);
    const out = await run3(async (p) => {
      const t: AnalysisTable = { n, valid: vs[p.id]!, allValid, columns: new Map([...sh].map(([k, s]) => [k, s[p.id]!])), meta } as AnalysisTable;
      return revealMany(p, await cellCounts(p, t, c.keys, [t.valid, ds[p.id]!], { ones: [allValid, false], ...(chunkRows ? { chunkRows } : {}) }));
    });
    // Plaintext cell numbers (last key fastest).
    const idx = (k: CellKey, x: number) => (k.kind === 'factor' ? x - k.min : k.thresholds.filter((th) => x >= th).length);
    const size = (k: CellKey) => (k.kind === 'factor' ? k.size : k.thresholds.length + 1);
    const G = c.keys.reduce((m, k) => m * size(k), 1);
    const cell = Array.from({ length: n }, (_, i) => c.keys.reduce((g, k) => g * size(k) + idx(k, plain.get(k.column)![i]!), 0));
    const want = (w: number[]) => Array.from({ length: G }, (_, g) => BigInt(cell.reduce((s, x, i) => s + (x === g ? w[i]! : 0), 0)));
    const ctx = `${c.what} n=${n} chunk=${chunkRows} allValid=${allValid}`;
    assert.deepEqual(Array.from(out[0]![0]!), want(valid), ctx);
    assert.deepEqual(Array.from(out[0]![1]!), want(died), ctx);
  }
  it('matches the plaintext counts per cell, in chunks, with and without a public all-ones weight', async () => {
    const r = rng(23);
    for (const c of cases) {
      for (const n of [0, 1, 33, 200]) {
        for (const chunkRows of [undefined, 32, 96]) {
          for (const allValid of [true, false]) await check(r, c, n, chunkRows, allValid);
        }
      }
    }
  });
  it('past COUNT_PLANES: the cell number and a sort by it, the same counts', async () => {
    // (COUNT_PLANES / 4 + 1) × 2 cells and two weights: just over COUNT_PLANES planes.
    const L = COUNT_PLANES / 4 + 1;
    const c = { what: `factor of ${L} × two-level factor`, keys: [factor('q', -7, L), factor('g', 0, 2)], bounds: { q: [-7, L - 8], g: [0, 1] } as Record<string, [number, number]> };
    const r = rng(29);
    for (const allValid of [true, false]) await check(r, c, 300, undefined, allValid);
  });
});
