// COUNT(DISTINCT …) and SELECT DISTINCT (issue 17) in MPC against SQLite on generated registers,
// with the edges (an empty register, one row, ties, persons in one register only), the cohort
// comorbidity top 10, and their output protection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noiseForPlan, QueryError } from '../src/query/index.js';
import { sqlCheck, sqlFixture, subset } from './sql-check.js';

const K = 5;
const f = sqlFixture({ citizens: 1500, seed: 31, incomeYears: [2023] }, K);

const COHORT = "SELECT person_id FROM contacts WHERE diagnosis LIKE 'E11%'";

describe('COUNT(DISTINCT …) in MPC equals SQLite', () => {
  it('persons per cell over one register (sorted by cell and person id), the small-cell rule on persons', async () => {
    const r = await f.check.same('SELECT region, COUNT(DISTINCT person_id) AS persons, COUNT(*) AS n FROM contacts GROUP BY region', 'persons');
    assert.ok(r.rows!.every((row) => Number(row[1]) <= Number(row[2])));
    // Cells of at least K contacts but fewer than K persons are suppressed.
    await f.check.same("SELECT hospital, COUNT(DISTINCT person_id) AS persons, COUNT(*) AS n FROM contacts WHERE diagnosis LIKE 'E1%' GROUP BY hospital", 'persons');
  });

  it('over a join, the rows already in person order; distinct codes of a joined table; no GROUP BY', async () => {
    await f.check.same('SELECT p.sex, COUNT(DISTINCT c.person_id) AS persons, COUNT(DISTINCT c.diagnosis) AS codes FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex', 'persons');
    await f.check.same("SELECT COUNT(DISTINCT r.person_id) AS persons, COUNT(DISTINCT r.atc) AS drugs, SUM(r.amount) AS ddd FROM prescriptions r WHERE r.atc LIKE 'A10%'", 'persons');
    await f.check.same('SELECT i.education, COUNT(DISTINCT p.person_id) AS persons, AVG(i.income_quintile) AS q FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY i.education', 'persons');
  });

  it('the cohort comorbidity top 10: persons with type-2 diabetes by their other diagnoses, ranked inside MPC', async () => {
    const sql = `WITH cohort AS (${COHORT})
      SELECT c.diagnosis, COUNT(DISTINCT c.person_id) AS persons FROM contacts c
      WHERE c.person_id IN (SELECT person_id FROM cohort) AND c.diagnosis NOT LIKE 'E11%'
      GROUP BY c.diagnosis ORDER BY persons DESC LIMIT 10`;
    // The cohort is the same register on the same person id: its condition is evaluated on c's own
    // rows (OR-ed per person), not joined a second time.
    const jp = f.check.plan(sql);
    assert.equal(jp.tables.find((t) => t.alias === 'cohort')!.fold, true);
    assert.deepEqual(jp.order, [jp.tables.findIndex((t) => t.alias === 'c')]);
    const r = await f.check.run(sql);
    assert.equal(r.ranked, 10);
    const want = f.check.plain(sql.replace('ORDER BY', `HAVING COUNT(DISTINCT c.person_id) >= ${K} ORDER BY`));
    assert.deepEqual(r.rows!.map((x) => x[1]), want.rows.map((x) => x[1]), 'the same counts in the same order');
    const all = new Map(f.check.plain(sql.replace(/ORDER BY[\s\S]*$/, '')).rows.map((x) => [String(x[0]), x[1]]));
    for (const row of r.rows!) assert.equal(row[1], all.get(String(row[0])), `${row[0]}`);
  });

  it('persons in one register only (LEFT JOIN misses), ties and many cells (the whole ICD-10 list)', async () => {
    await f.check.same('SELECT c.region, COUNT(DISTINCT c.person_id) AS persons FROM contacts c LEFT JOIN population p ON p.person_id = c.person_id WHERE p.person_id IS NULL GROUP BY c.region', 'persons');
    await f.check.same('SELECT diagnosis, COUNT(DISTINCT person_id) AS persons, COUNT(*) AS n FROM contacts GROUP BY diagnosis', 'persons');
  });

  it('an empty register and a register of one row', async () => {
    const contacts = f.regs.all.findIndex((r) => r.schema.name === 'contacts');
    for (const rows of [[], [0]]) {
      const regs1 = f.regs.all.map((r, i) => (i === contacts ? subset(r, rows) : r));
      const c = await sqlCheck(regs1, f.regs.codeLists, 1);
      const r = await c.run('SELECT COUNT(DISTINCT person_id) AS persons, COUNT(*) AS n FROM contacts', { minCellSize: 1 });
      assert.deepEqual(r.rows, rows.length ? [[1, 1]] : []);
      const s = await c.run('SELECT DISTINCT region FROM contacts', { minCellSize: 1 });
      assert.deepEqual(s.rows, c.plain('SELECT DISTINCT region FROM contacts').rows);
      c.db.close();
    }
  });
});

describe('SELECT DISTINCT: the cells of at least K rows', () => {
  it('releases the key combinations present in at least K rows, as SQLite lists them', async () => {
    for (const sql of ["SELECT DISTINCT region, sex FROM contacts WHERE diagnosis LIKE 'E11%'", 'SELECT DISTINCT p.region, i.education FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 ORDER BY 1, 2']) {
      const r = await f.check.run(sql);
      const keys = sql.includes('p.region') ? 'p.region, i.education' : 'region, sex';
      const want = f.check.plain(`${sql.replace(/ORDER BY.*$/, '').replace('SELECT DISTINCT', 'SELECT')} GROUP BY ${keys} HAVING COUNT(*) >= ${K} `);
      const sorted = (rows: unknown[][]) => rows.map((x) => x.map(String).join('|')).sort();
      assert.deepEqual(sorted(r.rows!), sorted(want.rows), sql);
      assert.equal(r.columns.length, 2);
    }
  });
});

describe('output protection and refusals', () => {
  it('COUNT(DISTINCT person_id) is noised with sensitivity 1 per cell a person reaches; other distinct counts with R', () => {
    const jp = f.check.plan('SELECT region, COUNT(DISTINCT person_id) AS persons, COUNT(DISTINCT diagnosis) AS codes FROM contacts GROUP BY region');
    const noise = noiseForPlan(jp.plan, jp, { mechanism: 'laplace', epsilon: 1 });
    const persons = noise.sums.find((s) => s.text === 'count(distinct contacts.person_id)')!;
    const codes = noise.sums.find((s) => s.text === 'count(distinct contacts.diagnosis)')!;
    assert.equal(persons.sensitivity, noise.cellsPerPerson);
    assert.equal(codes.sensitivity, noise.rowsPerPerson);
    assert.equal(noise.sums[0]!.sensitivity, noise.rowsPerPerson);
  });

  it('runs protected: noisy persons near the exact ones', async () => {
    const sql = 'SELECT sex, COUNT(DISTINCT person_id) AS persons FROM contacts GROUP BY sex';
    const jp = f.check.plan(sql);
    const noise = noiseForPlan(jp.plan, jp, { mechanism: 'laplace', epsilon: 2 });
    const r = await f.check.run(sql, { noise });
    const exact = new Map(f.check.plain(sql).rows.map((x) => [String(x[0]), Number(x[1])]));
    for (const row of r.rows!) assert.ok(Math.abs(Number(row[1]) - exact.get(String(row[0]))!) < 40, `${row}`);
  });

  it('a count of distinct persons uses the person id as a join key; other distinct counts are counts', async () => {
    const { usesOfJoinPlan } = await import('../src/governance/plan-uses.js');
    const uses = usesOfJoinPlan(f.check.plan('SELECT p.sex, COUNT(DISTINCT c.person_id) AS persons, COUNT(DISTINCT c.diagnosis) AS codes FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex'));
    const got = uses.map((u) => `${u.dataset}.${u.column}:${u.role}${u.aggregate ? `:${u.aggregate}` : ''}`);
    for (const u of ['contacts.person_id:join-key', 'contacts.diagnosis:aggregate:count', 'population.sex:group']) assert.ok(got.includes(u), `${u} in ${got.join(', ')}`);
    assert.ok(!got.some((u) => u.startsWith('contacts.person_id:aggregate')));
  });

  it('refusals name the construct', () => {
    const refused = (sql: string, re: RegExp) => assert.throws(() => f.check.plan(sql), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
    refused('SELECT DISTINCT region, COUNT(*) FROM contacts GROUP BY region', /SELECT DISTINCT with GROUP BY or aggregates/);
    refused('SELECT COUNT(DISTINCT LEAST(length_of_stay, 3)) FROM contacts', /COUNT\(DISTINCT …\) counts the values of a column/);
    refused('SELECT region, MAX(length_of_stay), COUNT(DISTINCT person_id) FROM contacts GROUP BY region', /with COUNT\(DISTINCT …\): not in one query/);
    refused('SELECT region FROM contacts', /contacts.region must appear in GROUP BY or be inside an aggregate/);
  });
});
