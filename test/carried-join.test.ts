// Joined columns carried onto FROM's rows by the merge network (src/query/carried-join.ts): a query
// whose LEFT and INNER JOINs of registers with one row per person are carried equals the same query
// joined as written and SQLite; an analysis table with them equals the one joined as written; which
// joins qualify; the network's planes (src/mpc/semi-merge.ts carryMerged) against the plaintext.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { ANALYSIS_SQL } from '../src/demo/analyses.js';
import { fromPublicBits, inputBits, revealBits, stackPlanes } from '../src/mpc/boolean.js';
import { bitsToValues } from '../src/mpc/bits-to-values.js';
import { packBits } from '../src/ring/bits.js';
import { bitDecompose } from '../src/mpc/convert.js';
import { carryAgain, carryMerged, carryMergedMany } from '../src/mpc/semi-merge.js';
import { reveal } from '../src/mpc/arith.js';
import type { AShare } from '../src/mpc/share.js';
import { carriedJoinsOf, withCarriedColumns } from '../src/query/carried-join.js';
import { withExistsFlags } from '../src/query/exists-flags.js';
import { planAnalysis } from '../src/query/analysis-plan.js';
import { joinedRows } from '../src/query/join-execute.js';
import { planJoinSql, runJoinQuery } from '../src/query/index.js';
import { PlainDatabase } from '../src/query/plaintext.js';
import { col, rng, run3, shareAll } from './harness.js';
import { inPersonOrderRegisters, RegisterShares } from './register-shares.js';
import { assertVisibleCellsEqual } from './sqlite-cells.js';

const K = 5;
let regs: Registers;
let ordered: Registers;
let db: PlainDatabase;
const shares = new RegisterShares(() => regs);
const orderedShares = new RegisterShares(() => ordered);
const sortedBy = new Map<string, string>();

before(async () => {
  regs = generateRegisters({ citizens: 1500, seed: 29, incomeYears: [2022, 2023] });
  ordered = inPersonOrderRegisters(regs, sortedBy);
  db = await PlainDatabase.create(regs.all, regs.codeLists);
});

function assertRowsClose(got: unknown[][], want: unknown[][]): void {
  assert.equal(got.length, want.length);
  got.forEach((row, i) =>
    row.forEach((x, j) => {
      const y = want[i]![j];
      if (typeof x === 'number' && typeof y === 'number' && !Number.isInteger(y)) assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y)), `row ${i} column ${j}: ${x} against ${y}`);
      else assert.deepEqual(x, y, `row ${i} column ${j}`);
    }),
  );
}

const datasets = () => new Map(regs.all.map((r) => [r.schema.name, r.schema]));

describe('joined columns carried onto FROM rows', () => {
  const queries: [sql: string, carried: number][] = [
    // The main job's income studies: an inner join with one row per person and year, the year fixed.
    ['SELECT i.income_quintile, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY i.income_quintile', 1],
    // Income's 26 bits and the education's code: 31 planes.
    ['SELECT i.education, COUNT(*) AS n, AVG(LEAST(i.income, 2000000)) AS mean_income FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY i.education', 1],
    // Beside a kept EXISTS flag.
    ["SELECT i.income_quintile, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2022 WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY i.income_quintile", 1],
    // LEFT JOINs: IS NULL on the key, a date and a code of the joined row, a condition in ON.
    ['SELECT p.region, COUNT(*) AS n FROM population p LEFT JOIN deaths d ON d.person_id = p.person_id WHERE d.person_id IS NULL GROUP BY p.region', 1],
    ["SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN deaths d ON d.person_id = p.person_id LEFT JOIN emigrations e ON e.person_id = p.person_id WHERE d.death_date < '2026-01-01' OR e.emigration_date >= '2025-07-01' GROUP BY p.sex", 2],
    ["SELECT p.region, COUNT(*) AS n FROM population p LEFT JOIN deaths d ON d.person_id = p.person_id AND d.cause LIKE 'I%' WHERE d.person_id IS NOT NULL OR p.sex = 'M' GROUP BY p.region", 1],
    ['SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE i.person_id IS NULL GROUP BY p.sex', 1],
    // Beside the many side, joined as before: the carried columns reach its rows.
    ["SELECT c.hospital, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id LEFT JOIN deaths d ON d.person_id = p.person_id WHERE d.person_id IS NULL AND c.diagnosis LIKE 'I%' GROUP BY c.hospital", 1],
    // Both kinds at once, FROM's own condition.
    ["SELECT i.income_quintile, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 LEFT JOIN deaths d ON d.person_id = p.person_id WHERE p.birth_date < '1960-01-01' AND d.person_id IS NULL GROUP BY i.income_quintile", 2],
  ];
  for (const [sql, count] of queries) {
    it(`equals the join as written and SQLite: ${sql.slice(0, 120)}…`, async () => {
      const jp = planJoinSql(sql, datasets(), regs.codeLists);
      const inOrder = planJoinSql(sql, datasets(), regs.codeLists, { sortedBy });
      assert.equal(carriedJoinsOf(inOrder).length, count, 'joins carried');
      const steps: string[] = [];
      const out = await run3(async (p) => {
        const asWritten = await runJoinQuery(p, jp, shares.tables(jp, p.id), { minCellSize: K });
        const flags = await withExistsFlags(p, inOrder, orderedShares.tables(inOrder, p.id));
        const kept = await withCarriedColumns(p, flags.jp, flags.tables, { trace: (what) => p.id === 0 && steps.push(what) });
        return { asWritten, carried: await runJoinQuery(p, kept.jp, kept.tables, { minCellSize: K }), tables: kept.jp.tables.length };
      });
      assert.equal(steps.some((s) => s.endsWith('carried by the merge network')), count > 0, steps.join('; '));
      for (const o of out) {
        assert.equal(o.tables, inOrder.tables.filter((t) => t.kind !== 'semi').length - count, 'the carried registers are no longer joined');
        // Averages are divided in fixed point with probabilistic truncation: equal within 10^-6.
        assertRowsClose(o.carried.rows!, out[0].asWritten.rows!);
        assert.deepEqual(o.carried.suppressed, out[0].asWritten.suppressed);
      }
      assertVisibleCellsEqual(sql, jp.plan.keys.length, out[0].carried.rows!, db.query(sql), 'n', K);
    });
  }

  it("the statistics' analysis table: deaths and emigrations carried, every column equal to the table joined as written", async () => {
    const registers = new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }]));
    const ap = planAnalysis(ANALYSIS_SQL, registers);
    const inOrder = planAnalysis(ANALYSIS_SQL, new Map([...registers].map(([n, r]) => [n, { ...r, sortedBy: sortedBy.get(n)! }])));
    assert.equal(carriedJoinsOf(inOrder.join).length, 3, 'income, deaths and emigrations');
    const out = await run3(async (p) => {
      const asWritten = await joinedRows(p, ap.join, shares.tables(ap.join, p.id), { fromRows: true });
      const flags = await withExistsFlags(p, inOrder.join, orderedShares.tables(inOrder.join, p.id));
      const kept = await withCarriedColumns(p, flags.jp, flags.tables);
      assert.equal(kept.jp.tables.length, 1, 'population alone');
      const carried = await joinedRows(p, kept.jp, kept.tables, { fromRows: true });
      const cols = [...asWritten.keys()].sort();
      assert.deepEqual([...carried.keys()].sort(), cols);
      const rows = async (m: Map<string, AShare>) => {
        const v = await Promise.all(cols.map(async (c) => (await reveal(p, m.get(c)!))!));
        return Array.from({ length: v[0]!.length }, (_, r) => v.map((x) => x[r]!.toString()).join(',')).sort();
      };
      return { a: await rows(asWritten), b: await rows(carried), cols };
    });
    // Population's rows in their stored order differ between the two uploads: compared as sorted rows.
    assert.deepEqual(out[0].b, out[0].a, out[0].cols.join(', '));
    assert.equal(out[0].a.length, regs.population.length, 'one row per citizen');
  });

  it('only a LEFT or INNER JOIN with one row per person, in person order, of bounded columns', () => {
    const plan = (sql: string) => planJoinSql(sql, datasets(), regs.codeLists, { sortedBy });
    const one = carriedJoinsOf(plan('SELECT COUNT(*) FROM population p LEFT JOIN deaths d ON d.person_id = p.person_id WHERE d.death_date > \'2025-06-01\''));
    assert.equal(one.length, 1);
    assert.equal(one[0]!.rows, 1);
    assert.deepEqual(one[0]!.columns.map((c) => [c.name, c.bits]), [['death_date', 10]]);
    assert.match(one[0]!.signature, /^population\.person_id ⟕ deaths\.person_id ON TRUE$/);
    assert.equal(carriedJoinsOf(plan('SELECT COUNT(*) FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023'))[0]!.rows, 3);
    // The many side, FROM with many rows per person, registers not in person order.
    assert.equal(carriedJoinsOf(plan('SELECT COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id')).length, 0);
    assert.equal(carriedJoinsOf(plan('SELECT COUNT(*) FROM contacts c LEFT JOIN deaths d ON d.person_id = c.person_id')).length, 0);
    assert.equal(carriedJoinsOf(planJoinSql('SELECT COUNT(*) FROM population p LEFT JOIN deaths d ON d.person_id = p.person_id', datasets(), regs.codeLists)).length, 0);
  });
});

describe('carryMerged: planes of S carried to the rows of A', () => {
  for (const [nA, nS, rows] of [[300, 90, 1], [200, 500, 3], [1, 40, 2], [64, 0, 1], [0, 10, 1], [1000, 1000, 1]] as const) {
    it(`A ${nA} × S ${nS}, at most ${rows} S row(s) per key, one present: the present row's value or 0, again by the kept network`, async () => {
      const r = rng(nA * 31 + nS);
      const a = [...new Set(Array.from({ length: 3 * nA }, () => Math.floor(r() * 4 * (nA + nS + 1)) * 7))].slice(0, nA).sort((x, y) => x - y);
      // S: up to `rows` rows per key, keys from A half the time.
      const keys = [...new Set(Array.from({ length: nS }, () => (a.length && r() < 0.6 ? a[Math.floor(r() * a.length)]! : Math.floor(r() * 4 * (nA + nS + 1)) * 7)))].sort((x, y) => x - y);
      const s: { key: number; present: number; v: number }[] = [];
      for (const k of keys) {
        const m = 1 + Math.floor(r() * rows), hit = Math.floor(r() * (m + 1)); // hit = m: no present row
        for (let j = 0; j < m && s.length < nS; j++) s.push({ key: k, present: j === hit ? 1 : 0, v: Math.floor(r() * 1024) });
      }
      while (s.length < nS) s.push({ key: 2 ** 33 + s.length, present: 1, v: 5 });
      const [sk, sv, ak] = shareAll(col(s.map((x) => BigInt(x.key))), col(s.map((x) => BigInt(x.present ? x.v : 0))), col(a.map(BigInt)));
      const pres = s.map((x) => x.present);
      const res = await run3(async (p) => {
        const bits = await bitDecompose(p, sv![p.id]!, 10);
        const carried = stackPlanes([fromPublicBits(p, s.length, 1, packBits(pres)), bits]);
        const { planes, lineup } = await carryMerged(p, { key: sk![p.id]!, carried }, ak![p.id]!, { keyBits: 34, window: rows + 1 });
        const again = lineup ? await carryAgain(p, lineup, carried, { window: rows + 1 }) : null;
        return [await revealBits(p, planes), again && (await revealBits(p, again))];
      });
      const W = Math.ceil(nA / 32);
      const at = (words: Uint32Array, plane: number, i: number) => (words[plane * W + (i >>> 5)]! >>> (i & 31)) & 1;
      for (const [got, again] of res) {
        for (const words of again ? [got!, again] : [got!]) {
          a.forEach((k, i) => {
            const row = s.find((x) => x.key === k && x.present);
            assert.equal(at(words, 0, i), row ? 1 : 0, `flag of key ${k}`);
            let v = 0;
            for (let b = 0; b < 10; b++) v |= at(words, 1 + b, i) << b;
            assert.equal(v, row ? row.v : 0, `value of key ${k}`);
          });
        }
      }
    });
  }
});

describe('carryMergedMany: several registers through one network', () => {
  for (const [nA, n1, n2] of [[500, 40, 120], [64, 0, 30], [100, 100, 100], [33, 1, 0]] as const) {
    it(`A ${nA}, S₁ ${n1}, S₂ ${n2} (one row per key each): each register's planes where its row is`, async () => {
      const r = rng(nA * 7 + n1 * 3 + n2);
      const a = [...new Set(Array.from({ length: 3 * nA + 3 }, () => 5 * Math.floor(r() * 8 * (nA + 1))))].slice(0, nA).sort((x, y) => x - y);
      const draw = (m: number) => [...new Set(Array.from({ length: 4 * m + 4 }, () => (a.length && r() < 0.7 ? a[Math.floor(r() * a.length)]! : 5 * Math.floor(r() * 8 * (nA + 1)) + 1)))].slice(0, m).sort((x, y) => x - y);
      const k1 = draw(n1), k2 = draw(n2);
      const v1 = k1.map(() => Math.floor(r() * 32)), v2 = k2.map(() => Math.floor(r() * 8));
      const [s1k, s1v, s2k, s2v, ak] = shareAll(col(k1.map(BigInt)), col(v1.map(BigInt)), col(k2.map(BigInt)), col(v2.map(BigInt)), col(a.map(BigInt)));
      const ones = (n: number) => new Uint32Array(Math.ceil(n / 32)).map((_, w) => (w === Math.ceil(n / 32) - 1 && n % 32 ? (1 << n % 32) - 1 : 0xffffffff));
      const res = await run3(async (p) => {
        const c1 = stackPlanes([fromPublicBits(p, k1.length, 1, ones(k1.length)), await bitDecompose(p, s1v![p.id]!, 5)]);
        const c2 = stackPlanes([fromPublicBits(p, k2.length, 1, ones(k2.length)), await bitDecompose(p, s2v![p.id]!, 3)]);
        const { planes } = await carryMergedMany(p, [{ key: s1k![p.id]!, carried: c1 }, { key: s2k![p.id]!, carried: c2 }], ak![p.id]!, { keyBits: 34, window: 3 });
        assert.equal(planes.bits, 10);
        return revealBits(p, planes);
      });
      const W = Math.ceil(nA / 32);
      const at = (words: Uint32Array, plane: number, i: number) => (words[plane * W + (i >>> 5)]! >>> (i & 31)) & 1;
      const num = (words: Uint32Array, from: number, bits: number, i: number) => Array.from({ length: bits }, (_, b) => at(words, from + b, i) << b).reduce((s, x) => s | x, 0);
      for (const words of res) {
        a.forEach((key, i) => {
          const j1 = k1.indexOf(key), j2 = k2.indexOf(key);
          assert.equal(at(words!, 0, i), j1 >= 0 ? 1 : 0, `S₁ flag of ${key}`);
          assert.equal(num(words!, 1, 5, i), j1 >= 0 ? v1[j1] : 0, `S₁ value of ${key}`);
          assert.equal(at(words!, 6, i), j2 >= 0 ? 1 : 0, `S₂ flag of ${key}`);
          assert.equal(num(words!, 7, 3, i), j2 >= 0 ? v2[j2] : 0, `S₂ value of ${key}`);
        });
      }
    });
  }
});

describe('bitsToValues: groups of bit planes to arithmetic values', () => {
  for (const [n, groups] of [[1000, [1, 10, 3]], [33, [64, 1]], [5, [0, 2]], [0, [1, 3]], [70000, [1, 11, 1, 10]]] as [number, number[]][]) {
    it(`${n} lanes, groups of ${groups.join(', ')} planes: each value Σ 2^j·bit_j, as the plaintext`, async () => {
      const r = rng(n + groups.length);
      const k = groups.reduce((s, g) => s + g, 0);
      const bits = Array.from({ length: k }, () => Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)));
      const planes = bits.map((b) => packBits(b));
      const out = await run3(async (p) => {
        const b = stackPlanes(await Promise.all(planes.map((pl) => inputBits(p, 1, p.id === 1 ? pl : null, n, 1))));
        const vals = await bitsToValues(p, b, groups);
        return Promise.all(vals.map(async (v) => (await reveal(p, v))!));
      });
      let q = 0;
      groups.forEach((g, gi) => {
        const want = Array.from({ length: n }, (_, j) => bits.slice(q, q + g).reduce((s, b, i) => s + (BigInt(b[j]!) << BigInt(i)), 0n));
        q += g;
        for (const o of out) assert.deepEqual([...o[gi]!], want, `group ${gi}`);
      });
    });
  }
});
