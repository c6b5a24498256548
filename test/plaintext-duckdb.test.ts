// The main job's plaintext reference in DuckDB (src/query/plaintext-duckdb.ts) against the SQLite
// one (src/query/plaintext.ts) on the same generated registers: the main job's studies and their
// denominators, Mosaik's functions (age, age_band in all three arities), LEAST/GREATEST, averages
// and variances, DATE literals, columns chosen with `only`, and persons excluded (consent).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { STUDIES } from '../src/demo/studies.js';
import { PlainDatabase, type PlainResult } from '../src/query/plaintext.js';
import { DuckReference } from '../src/query/plaintext-duckdb.js';
import { openPlainReference } from '../src/query/plaintext-reference.js';

let regs: Registers;
let sqlite: PlainDatabase;
let duck: DuckReference;

before(async () => {
  regs = generateRegisters({ citizens: 4000, seed: 11 });
  sqlite = await PlainDatabase.create(regs.all, regs.codeLists);
  duck = await DuckReference.create(regs.all, regs.codeLists);
});
after(() => {
  sqlite.close();
  duck.close();
});

/** Rows as a sorted multiset; non-integers compared to 1e-9 relative. */
function assertSameRows(got: PlainResult, want: PlainResult, sql: string): void {
  const text = (r: unknown[]) => JSON.stringify(r.map((v) => (typeof v === 'number' && !Number.isInteger(v) ? 'x' : v)));
  const sorted = (rows: unknown[][]) => [...rows].sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
  const [g, w] = [sorted(got.rows), sorted(want.rows)];
  assert.equal(g.length, w.length, `${sql}: ${g.length} rows, SQLite ${w.length}`);
  assert.ok(w.length > 0, `${sql}: SQLite gives no rows (a test that checks nothing)`);
  g.forEach((row, i) =>
    row.forEach((v, k) => {
      const x = w[i]![k];
      if (typeof x === 'number' && !Number.isInteger(x)) assert.ok(Math.abs(Number(v) - x) <= 1e-9 * Math.max(1, Math.abs(x)), `${sql}: row ${i} col ${k}: ${v} vs ${x}`);
      else assert.equal(v, x, `${sql}: row ${i} col ${k}`);
    }),
  );
}

const EXTRA = [
  "SELECT sex, age(birth_date, '2024-12-31') AS a, COUNT(*) AS n FROM population GROUP BY sex, age(birth_date, '2024-12-31')",
  "SELECT age_band(birth_date, '2024-12-31') AS b, COUNT(*) AS n FROM population GROUP BY age_band(birth_date, '2024-12-31')",
  "SELECT age_band(birth_date, DATE '2020-06-30', 5) AS b, COUNT(*) AS n FROM population GROUP BY age_band(birth_date, DATE '2020-06-30', 5)",
  "SELECT age_band(birth_date, '2024-12-31', 20, 60) AS b, COUNT(*) AS n FROM population GROUP BY age_band(birth_date, '2024-12-31', 20, 60)",
  'SELECT education, AVG(LEAST(income, 500000)) AS m, SUM(GREATEST(income, 100000)) AS s, VARIANCE(income) AS v, VAR_POP(income) AS vp, STDDEV_SAMP(income) AS sd FROM income GROUP BY education',
  "SELECT region, COUNT(*) AS n FROM contacts WHERE admission_date >= DATE '2022-01-01' AND diagnosis LIKE 'J%' GROUP BY region",
  "SELECT sex, region = 'Hovedstaden' AS capital, COUNT(*) AS n FROM population GROUP BY sex, region = 'Hovedstaden'",
  "SELECT COUNT(*) AS n FROM population p WHERE NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'C10%')",
];

describe('the DuckDB reference gives the SQLite reference\'s answers', () => {
  it('on every study of the main job and its denominator', async () => {
    for (const s of STUDIES) for (const sql of [s.sql, ...(s.denominator ? [s.denominator.sql] : [])]) assertSameRows(await duck.query(sql), sqlite.query(sql), sql);
  });

  it("on Mosaik's functions, LEAST/GREATEST, variances, DATE literals and NOT EXISTS", async () => {
    for (const sql of EXTRA) assertSameRows(await duck.query(sql), sqlite.query(sql), sql);
  });

  it('with only some columns loaded, and with persons excluded', async () => {
    const only = new Map([
      ['population', new Set(['person_id', 'region', 'sex'])],
      ['contacts', new Set(['person_id', 'diagnosis'])],
    ]);
    const [a, b] = [await PlainDatabase.create(regs.all, regs.codeLists, only), await DuckReference.create(regs.all, regs.codeLists, only)];
    try {
      const sql = STUDIES[0]!.sql;
      assertSameRows(await b.query(sql), a.query(sql), sql);
      await assert.rejects(b.query('SELECT COUNT(*) FROM income'), /income/); // not loaded
      const ids = regs.people.id.subarray(0, regs.people.count);
      const excluded = [...ids.filter((_, i) => i % 3 === 0), ids[0]!]; // a duplicate too
      const before = (await b.query('SELECT COUNT(*) AS n FROM population')).rows[0]![0];
      a.excludePersons(excluded);
      await b.excludePersons(excluded);
      for (const q of [sql, 'SELECT COUNT(*) AS n FROM population', 'SELECT COUNT(*) AS n FROM contacts']) assertSameRows(await b.query(q), a.query(q), q);
      assert.ok(Number((await b.query('SELECT COUNT(*) AS n FROM population')).rows[0]![0]) < Number(before) * 0.7, 'a third of the persons gone');
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('the main job opens its reference in DuckDB, else in SQLite', () => {
  const sql = STUDIES[0]!.sql;

  it('uses DuckDB by default and SQLite when asked', async () => {
    const d = await openPlainReference(regs.all, regs.codeLists, undefined, { prefer: 'duckdb' });
    assert.equal(d.ref.engine, 'DuckDB');
    assert.equal(d.fallback, undefined);
    const s = await openPlainReference(regs.all, regs.codeLists, undefined, { prefer: 'SQLite' });
    assert.equal(s.ref.engine, 'SQLite');
    assert.equal(s.fallback, undefined);
    assertSameRows(await d.ref.query(sql), await s.ref.query(sql), sql);
    d.ref.close();
    s.ref.close();
    await assert.rejects(openPlainReference(regs.all, regs.codeLists, undefined, { prefer: 'postgres' }), /MOSAIK_REFERENCE is 'postgres': use duckdb \(the default\) or sqlite/);
  });

  it('falls back to SQLite, saying why, when DuckDB cannot be loaded', async () => {
    const broken = async (): Promise<never> => {
      throw new Error("Cannot find module '@duckdb/node-bindings-linux-riscv64/duckdb.node'\nRequire stack: …");
    };
    const { ref, fallback } = await openPlainReference(regs.all, regs.codeLists, undefined, { prefer: 'duckdb', duck: broken });
    assert.equal(ref.engine, 'SQLite');
    assert.equal(fallback, "DuckDB could not be loaded (Cannot find module '@duckdb/node-bindings-linux-riscv64/duckdb.node'); the plaintext reference runs in SQLite (sql.js) instead");
    assertSameRows(await ref.query(sql), sqlite.query(sql), sql);
    await ref.excludePersons([regs.people.id[0]!, regs.people.id[1]!]);
    const n = (r: { rows: unknown[][] }) => r.rows.reduce((a, row) => a + Number(row[row.length - 1]), 0);
    const count = 'SELECT sex, COUNT(*) AS n FROM population GROUP BY sex';
    assert.equal(n(await ref.query(count)), n(sqlite.query(count)) - 2);
    ref.close();
  });
});
