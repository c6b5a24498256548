// One-hot indicators of small-domain columns (src/mpc/one-hot.ts) against the plaintext, and queries
// whose cells are formed from them (src/query/one-hot-cells.ts) against the same queries through
// comparisons and boolean indicators (the path test/query.test.ts checks against SQLite): equal
// results, cell by cell, with and without a WHERE, several keys, HAVING and noise-free averages. The
// nodes' cache of indicators (src/node/indicator-cache.ts) in process: made at the second query that
// could use them, used at the third, made again after a node lost them; the byte budget.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateNodeKey } from '../src/net/keys.js';
import { agreedIndicators, IndicatorCache } from '../src/node/indicator-cache.js';
import { shareColumns, ShareStore } from '../src/node/store.js';
import { type CodeList, type DatasetSchema, encodeValue, makeCodeList } from '../src/ingest/schema.js';
import { revealMany } from '../src/mpc/arith.js';
import { oneHot } from '../src/mpc/one-hot.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { runQuery } from '../src/query/execute.js';
import { oneHotDomain, type Indicators } from '../src/query/one-hot-cells.js';
import { planSql } from '../src/query/plan.js';
import { col, rng, run3 } from './harness.js';

describe('one-hot indicators', () => {
  for (const [lo, D] of [[0n, 1], [0n, 2], [-3n, 3], [5n, 5], [0n, 10], [-8n, 17], [100n, 64]] as [bigint, number][]) {
    for (const n of [0, 1, 33, 1000]) {
      it(`[x = lo + u] for ${D} values from ${lo}, ${n} rows: equal to the plaintext`, async () => {
        const r = rng(D * 1000 + n);
        // The edge values first, then random ones in the domain.
        const vals = Array.from({ length: n }, (_, i) => lo + BigInt(i === 0 ? 0 : i === 1 ? D - 1 : Math.floor(r() * D)));
        const sh = splitShares(col(vals));
        const [o0] = await run3(async (p) => {
          const cols = await oneHot(p, sh[p.id]!, lo, D);
          return revealMany(p, cols);
        });
        assert.equal(o0.length, D);
        for (let u = 0; u < D; u++) {
          const want = vals.map((v) => (v === lo + BigInt(u) ? 1n : 0n));
          assert.deepEqual(Array.from(o0[u]!), want, `value ${lo + BigInt(u)}`);
        }
      });
    }
  }

  it('domains: bool, code lists, bounded ints (with 0 when missing values are allowed); none for wide or unbounded columns', () => {
    const lists = new Map<string, CodeList>([['sex', makeCodeList('sex', [['F'], ['M']])]]);
    assert.deepEqual(oneHotDomain({ name: 'b', type: 'bool' }, lists), { lo: 0n, values: 2 });
    assert.deepEqual(oneHotDomain({ name: 's', type: 'code', codeList: 'sex' }, lists), { lo: 0n, values: 2 });
    assert.deepEqual(oneHotDomain({ name: 'k', type: 'int', min: -2, max: 7 }, lists), { lo: -2n, values: 10 });
    assert.deepEqual(oneHotDomain({ name: 'k', type: 'int', min: 3, max: 7, required: false }, lists), { lo: 0n, values: 8 });
    assert.equal(oneHotDomain({ name: 'k', type: 'int', min: 0, max: 64 }, lists), null);
    assert.equal(oneHotDomain({ name: 'k', type: 'int' }, lists), null);
    assert.equal(oneHotDomain({ name: 'c', type: 'decimal', min: 0, max: 3 }, lists), null);
    assert.equal(oneHotDomain({ name: 'c', type: 'code', codeList: 'unknown' }, lists), null);
  });
});

const lists = new Map<string, CodeList>([
  ['sex', makeCodeList('sex', [['F'], ['M']])],
  ['region', makeCodeList('region', [['DK01'], ['DK02'], ['DK03'], ['DK04'], ['DK05']])],
  ['icd10', makeCodeList('icd10', ['A09', 'E10', 'E11', 'E110', 'E119', 'E66', 'I10', 'I21', 'J44', 'Z00'].map((c) => [c] as [string]))],
]);
const schema: DatasetSchema = {
  name: 'patients',
  custodian: 'test',
  columns: [
    { name: 'sex', type: 'code', codeList: 'sex' },
    { name: 'region', type: 'code', codeList: 'region' },
    { name: 'diagnosis', type: 'code', codeList: 'icd10' },
    { name: 'children', type: 'int', min: 0, max: 5 },
    { name: 'band', type: 'int', min: -3, max: 3, required: false },
    { name: 'smoker', type: 'bool' },
    { name: 'los', type: 'int', min: 0, max: 365 },
    { name: 'cost', type: 'decimal', min: 0, max: 20000 },
  ],
};
const N = 1200;
const r = rng(7);
const rows = Array.from({ length: N }, () => ({
  sex: r() < 0.5 ? 'F' : 'M',
  region: `DK0${1 + Math.min(4, Math.floor(r() * r() * 6))}`,
  diagnosis: lists.get('icd10')!.codes[Math.floor(r() * 10)]!,
  children: String(Math.floor(r() * 6)),
  band: r() < 0.1 ? '' : String(Math.floor(r() * 7) - 3),
  smoker: r() < 0.25 ? 'true' : 'false',
  los: String(Math.floor(r() * r() * 120)),
  cost: (Math.round(r() * 1500000) / 100).toFixed(2),
})) as Record<string, string>[];
const shares = new Map(schema.columns.map((c) => [c.name, splitShares(BigUint64Array.from(rows.map((row) => encodeValue(c, row[c.name]!, lists))))]));
const colsOf = (id: number) => new Map<string, AShare>([...shares].map(([name, s]) => [name, s[id]!]));
const ONE_HOT_COLUMNS = ['sex', 'region', 'diagnosis', 'children', 'band', 'smoker'];

describe('queries from one-hot indicators equal the queries through comparisons', () => {
  const cases: { sql: string; oneHot: boolean }[] = [
    { sql: 'SELECT region, COUNT(*), SUM(cost) FROM patients GROUP BY region', oneHot: true },
    { sql: 'SELECT sex, region, COUNT(*), AVG(los) FROM patients GROUP BY sex, region', oneHot: true },
    { sql: 'SELECT region, COUNT(*), SUM(los) FROM patients WHERE children >= 2 GROUP BY region', oneHot: true },
    { sql: "SELECT sex, COUNT(*) FROM patients WHERE diagnosis LIKE 'E11%' GROUP BY sex", oneHot: true },
    { sql: "SELECT children, COUNT(*), AVG(cost) FROM patients WHERE smoker AND region IN ('DK01', 'DK02') GROUP BY children", oneHot: true },
    { sql: 'SELECT band, COUNT(*), VAR_POP(los) FROM patients WHERE band <> 0 OR band < -1 GROUP BY band', oneHot: true },
    { sql: "SELECT COUNT(*), SUM(los) FROM patients WHERE region = 'DK05' AND NOT smoker", oneHot: true },
    { sql: "SELECT diagnosis, COUNT(*) FROM patients WHERE diagnosis LIKE 'E%' GROUP BY diagnosis HAVING COUNT(*) >= 60", oneHot: true },
    { sql: 'SELECT region, COUNT(*) FROM patients WHERE children > 9 GROUP BY region', oneHot: true },
    { sql: 'SELECT region, SUM(los * 2) AS d, AVG(cost) FROM patients GROUP BY region', oneHot: true },
    { sql: 'SELECT diagnosis, COUNT(*) AS n FROM patients GROUP BY diagnosis ORDER BY n DESC LIMIT 3', oneHot: true },
    { sql: 'SELECT smoker, COUNT(*), STDDEV_SAMP(cost) FROM patients WHERE children BETWEEN 1 AND 3 GROUP BY smoker', oneHot: true },
    // Not from indicators: a condition on a wide column, across two columns, MIN/MAX.
    { sql: 'SELECT region, COUNT(*) FROM patients WHERE los > 10 GROUP BY region', oneHot: false },
    { sql: "SELECT region, COUNT(*) FROM patients WHERE smoker OR sex = 'F' GROUP BY region", oneHot: false },
    { sql: 'SELECT region, MIN(los) FROM patients GROUP BY region', oneHot: false },
  ];
  for (const c of cases) {
    it(`${c.sql}${c.oneHot ? '' : ' (not from indicators)'}`, async () => {
      const plan = planSql(c.sql, schema, lists);
      const phases: string[] = [];
      const [a, b] = await run3(async (p) => {
        const cols = colsOf(p.id);
        const indicators = new Map<string, Indicators>();
        for (const name of ONE_HOT_COLUMNS) {
          const d = oneHotDomain(schema.columns.find((x) => x.name === name)!, lists)!;
          indicators.set(name, { lo: d.lo, cols: await oneHot(p, cols.get(name)!, d.lo, d.values) });
        }
        const trace = (what: string) => void (p.id === 0 && phases.push(what));
        const plain = await runQuery(p, plan, cols, { minCellSize: 5 });
        const fromIndicators = await runQuery(p, plan, cols, { minCellSize: 5, indicators, trace });
        return [plain, fromIndicators];
      }).then((rs) => rs[0]);
      // Keys, counts and sums exact; fixed-point results (AVG, VARIANCE, STDDEV) each within their
      // documented error (execute.ts varianceErrorBound: here ≤ 0.3 for STDDEV_SAMP(cost) ≈ 4 500),
      // so two runs differ by at most twice that (the rounding is probabilistic).
      const { rows: ra, ...rest } = a;
      assert.deepEqual({ ...b, rows: null }, { ...rest, rows: null });
      assert.equal(b.rows!.length, ra!.length);
      const fixed = plan.outputs.map((o) => o.kind === 'agg' && plan.aggregates[o.agg]!.result === 'fixed');
      b.rows!.forEach((row, i) =>
        row.forEach((v, j) => {
          const w = ra![i]![j]!;
          if (fixed[j]) assert.ok(Math.abs(Number(v) - Number(w)) <= 1e-3 + 2e-4 * Math.abs(Number(w)), `row ${i}, column ${j}: ${v} vs ${w}`);
          else assert.equal(v, w, `row ${i}, column ${j}`);
        }),
      );
      assert.equal(phases.some((ph) => ph.startsWith('counts and sums from one-hot indicators')), c.oneHot, phases.join('; '));
      assert.ok(a.rows!.length > 0 || c.sql.includes('> 9'), 'a query with visible cells');
    });
  }
});

describe('the indicator cache in process', () => {
  const root = mkdtempSync(join(tmpdir(), 'mosaik-indicators-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const reg: DatasetSchema = { name: 'reg', custodian: 'hospital', columns: [{ name: 'k', type: 'int', min: 0, max: 4 }, { name: 'x', type: 'int', min: 0, max: 100 }] };
  const kv = [0n, 4n, 2n, 2n, 1n, 3n, 0n, 4n, 4n];
  const xv = kv.map((k) => 10n * k + 1n);

  it('made at the second query that could use them, used at the third, made again after a node lost them; same sums', async () => {
    const sh = [splitShares(col(kv)), splitShares(col(xv))];
    const stores = await Promise.all([0, 1, 2].map(async (party) => {
      const key = await generateNodeKey(`n${party}`);
      const st = new ShareStore(join(root, `n${party}`), key.keyPem, party);
      await st.write({ name: 'reg', version: 'v1', schema: reg, codeLists: [], rows: kv.length, columns: ['k', 'x'], party }, shareColumns(sh.map((s3) => s3[party]!)));
      return st;
    }));
    const caches = [0, 1, 2].map(() => new IndicatorCache({ bytes: 1 << 20 }));
    const plan = planSql('SELECT k, COUNT(*), SUM(x) FROM reg GROUP BY k', reg, new Map());
    const query = () =>
      run3(async (p) => {
        const cols = stores[p.id]!.load('reg', 'v1', ['k', 'x']);
        const indicators = await agreedIndicators(p, caches[p.id]!, stores[p.id]!, { dataset: 'reg', version: 'v1', plan, rows: kv.length, cols });
        const r = await runQuery(p, plan, cols, { minCellSize: 1, ...(indicators ? { indicators } : {}) });
        return { used: indicators !== null, rows: r.rows };
      });
    const want = [0, 1, 2, 3, 4].map((k) => [k, kv.filter((v) => v === BigInt(k)).length, Number(xv.filter((_, i) => kv[i] === BigInt(k)).reduce((a, b) => a + b, 0n))]);
    const step = async (used: boolean, made: number) => {
      const rs = await query();
      for (const r of rs) {
        assert.equal(r.used, used);
        assert.deepEqual(r.rows, want);
      }
      assert.deepEqual(caches.map((c) => c.made), [made, made, made]);
    };
    await step(false, 0); // first: comparisons, and noted
    await step(true, 1); // second: made by all three
    await step(true, 1); // third: the kept ones
    caches[2]!.clear(); // node 2 restarted: it neither holds nor remembers them
    await step(false, 1);
    await step(true, 2);
    assert.equal(caches[0]!.stats.entries, 1);
    assert.equal(caches[0]!.stats.bytes, 5 * kv.length * 16);
  });

  it('least recently used out beyond the byte budget; indicators larger than the budget are not kept', () => {
    const ind = (n: number) => ({ lo: 0n, cols: [splitShares(col(new Array<bigint>(n).fill(0n)))[0]!] });
    const c = new IndicatorCache({ bytes: 100 * 16 });
    c.put('a', 't', ind(40));
    c.put('b', 't', ind(40));
    assert.ok(c.find('a'));
    c.put('c', 't', ind(40)); // b is the least recently used
    assert.deepEqual(['a', 'b', 'c'].map((k) => c.find(k) !== undefined), [true, false, true]);
    c.put('d', 't', ind(101));
    assert.equal(c.find('d'), undefined);
    c.want('e');
    assert.ok(c.wasWanted('e'));
    c.clear();
    assert.equal(c.wasWanted('e'), false);
    assert.equal(c.stats.entries, 0);
  });
});
