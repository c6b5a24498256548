// maskedSums (src/stats/sums.ts) against plaintext: shifted columns, indicators of many-level,
// two-level, one-level and bool columns, levels outside the bounds, monomials of 0–3 factors,
// values that wrap mod 2^64, invalid rows holding out-of-bounds values, and n = 0, 1, odd.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AShare, reveal } from '../src/mpc/arith.js';
import type { AnalysisTable } from '../src/query/rows.js';
import type { RowColumn } from '../src/query/row-plan.js';
import type { ColRef } from '../src/stats/cells.js';
import { maskedSums } from '../src/stats/sums.js';
import { col, randomInts, rng, run3, shareAll, u64 } from './harness.js';

const META: [string, RowColumn['type'], number, number][] = [
  ['x', 'int', -50, 50],
  ['w', 'int', -(2 ** 53), 2 ** 53], // bare only: random 64-bit values, products wrap
  ['f', 'int', 1, 5],
  ['g', 'code', 0, 1],
  ['h', 'int', 3, 4],
  ['b', 'bool', 0, 1],
  ['c', 'int', 7, 7],
];

function table(n: number, allValid: boolean, seed: number) {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const valid = Array.from({ length: n }, () => (allValid || r() < 0.7 ? 1n : 0n));
  const w = randomInts(n);
  const plain = new Map<string, bigint[]>();
  for (const [name, , lo, hi] of META) {
    // Rows outside the table hold anything (join misses): out of bounds here.
    plain.set(name, name === 'w' ? w : valid.map((v) => BigInt(v ? int(lo, hi) : int(lo - 9, hi + 9))));
  }
  const meta = META.map(([name, type, min, max]) => ({ name, text: name, type, min, max, value: { op: 'column', column: name } }) as RowColumn);
  return { n, valid, plain, meta, allValid };
}

function expected(t: ReturnType<typeof table>, m: ColRef[]): bigint {
  let s = 0n;
  for (let i = 0; i < t.n; i++) {
    let v = t.valid[i]!;
    for (const r of m) {
      const x = t.plain.get(r.column)![i]!;
      v *= r.level === undefined ? x - BigInt(r.shift ?? 0) : x === BigInt(r.level) ? 1n : 0n;
    }
    s += v;
  }
  return u64(s);
}

async function run(t: ReturnType<typeof table>, monomials: ColRef[][]): Promise<bigint[]> {
  const [sv, ...cols] = shareAll(col(t.valid), ...META.map(([name]) => col(t.plain.get(name)!)));
  const out = await run3(async (p) => {
    const at: AnalysisTable = { n: t.n, valid: sv![p.id]!, columns: new Map(META.map(([name], k) => [name, cols[k]![p.id]!])), meta: t.meta, allValid: t.allValid };
    const s: AShare = await maskedSums(p, at, monomials);
    return reveal(p, s);
  });
  return [...out[0]!];
}

const REFS: ColRef[] = [
  { column: 'x' }, { column: 'x', shift: 12 }, { column: 'w' }, { column: 'w', shift: -3 },
  { column: 'f', level: 1 }, { column: 'f', level: 3 }, { column: 'f', level: 5 }, { column: 'f', level: 6 }, { column: 'f', level: 0 },
  { column: 'g', level: 0 }, { column: 'g', level: 1 }, { column: 'h', level: 3 }, { column: 'h', level: 4 }, { column: 'h', level: 9 },
  { column: 'b', level: 1 }, { column: 'b', level: 0 }, { column: 'c', level: 7 }, { column: 'c', level: 8 },
];

/** Every monomial of 0 and 1 factors, the lm-style Gram over a design, and random 2- and 3-factor ones. */
function monomials(seed: number): ColRef[][] {
  const r = rng(seed);
  const pick = () => REFS[Math.floor(r() * REFS.length)]!;
  const D: ColRef[][] = [[], [{ column: 'x', shift: 1 }], [{ column: 'g', level: 1 }], [{ column: 'b', level: 1 }], [{ column: 'f', level: 2 }], [{ column: 'f', level: 3 }], [{ column: 'f', level: 5 }], [{ column: 'w', shift: 5 }]];
  const out: ColRef[][] = [[], ...REFS.map((x) => [x])];
  for (let i = 0; i < D.length; i++) for (let j = i; j < D.length; j++) out.push([...D[i]!, ...D[j]!]);
  for (let k = 0; k < 40; k++) out.push([pick(), pick()]);
  for (let k = 0; k < 40; k++) out.push([pick(), pick(), pick()]);
  return out;
}

describe('masked sums of products (sums.ts) equal plaintext', () => {
  for (const allValid of [false, true]) {
    it(`n = 0, 1, 2, 33, 1000 (${allValid ? 'every row valid' : 'some rows outside the table'})`, async () => {
      for (const [k, n] of [0, 1, 2, 33, 1000].entries()) {
        const t = table(n, allValid, 11 + k);
        const ms = monomials(5 + k);
        const got = await run(t, ms);
        ms.forEach((m, i) => assert.equal(got[i], expected(t, m), `n = ${n}, monomial ${JSON.stringify(m)}`));
      }
    });
  }

  it('refuses monomials of more than three factors', async () => {
    const t = table(3, true, 1);
    await assert.rejects(run(t, [[{ column: 'x' }, { column: 'x' }, { column: 'x' }, { column: 'x' }]]), /at most three factors/);
  });
});
