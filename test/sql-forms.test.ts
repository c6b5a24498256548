// SQL forms rewritten before planning (src/query/desugar.ts, issue 17): IN and NOT IN with a
// subquery, common table expressions, subqueries over one table in FROM. Each runs in MPC and equals
// SQLite running the same text; refusals name the construct.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery, planJoinSql, QueryError, show } from '../src/query/index.js';
import { sqlFixture } from './sql-check.js';

const K = 5;
const f = sqlFixture({ citizens: 1500, seed: 23, incomeYears: [2022, 2023] }, K);

/** MPC (every query through the join path on the person id) equals SQLite on every cell of at least K rows. */
const same = async (sql: string, countCol = 'n', plainSql = sql): Promise<void> => void (await f.check.same(sql, countCol, plainSql));

const T2D = "SELECT person_id FROM contacts WHERE diagnosis LIKE 'E11%'";

describe('SQL forms rewritten before planning: MPC equals SQLite', () => {
  it('IN (subquery) on the person id', () => same(`SELECT region, COUNT(*) AS n FROM population WHERE person_id IN (${T2D}) GROUP BY region`));

  it('NOT IN (subquery), with the same table name inside and outside', () =>
    same("SELECT region, COUNT(*) AS n FROM contacts WHERE person_id NOT IN (SELECT person_id FROM contacts WHERE diagnosis LIKE 'I%') GROUP BY region"));

  it('a common table expression used by IN, and one CTE built on another', async () => {
    await same(`WITH t2d AS (${T2D}) SELECT p.sex, COUNT(*) AS n FROM population p WHERE p.person_id IN (SELECT person_id FROM t2d) GROUP BY p.sex`);
    await same(`WITH women AS (SELECT person_id, region FROM population WHERE sex = 'F'), north AS (SELECT person_id FROM women WHERE region = 'Nordjylland')
                SELECT atc, COUNT(*) AS n FROM prescriptions WHERE person_id IN (SELECT person_id FROM north) AND atc LIKE 'C10%' GROUP BY atc`);
  });

  it('a subquery over one table in FROM, renamed columns, joined and left-joined', async () => {
    await same("SELECT x.region, COUNT(*) AS n FROM (SELECT region, person_id FROM population p WHERE p.sex = 'F') x GROUP BY x.region");
    await same(`SELECT p.region, COUNT(*) AS n, AVG(i.inc) AS mean_income FROM population p
                JOIN (SELECT person_id, income AS inc FROM income WHERE year = 2023) i ON i.person_id = p.person_id GROUP BY p.region`);
    await same(`WITH inc23 AS (SELECT person_id, income_quintile FROM income WHERE year = 2023)
                SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN inc23 q ON q.person_id = p.person_id WHERE q.person_id IS NULL GROUP BY p.sex`);
  });

  it('edges: a subquery selecting no one, and everyone', async () => {
    await same("SELECT region, COUNT(*) AS n FROM population WHERE person_id NOT IN (SELECT person_id FROM contacts WHERE diagnosis LIKE 'E11%' AND length_of_stay > 100000) GROUP BY region");
    await same('SELECT region, COUNT(*) AS n FROM population WHERE person_id IN (SELECT person_id FROM population) GROUP BY region');
  });

  it('two columns compared, in one register and across joined ones, with a shift', async () => {
    await same('SELECT education, COUNT(*) AS n FROM income WHERE income_quintile >= year - 2020 GROUP BY education');
    await same(
      'SELECT p.region, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.admission_date <= p.birth_date + 18262 GROUP BY p.region',
      'n',
      "SELECT p.region, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.admission_date <= date(p.birth_date, '+18262 days') GROUP BY p.region",
    );
    await same(`SELECT p.sex, COUNT(*) AS n, AVG(c.length_of_stay) AS los FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023
                JOIN contacts c ON c.person_id = p.person_id WHERE c.age_band <> i.age_band AND c.length_of_stay > i.income_quintile GROUP BY p.sex`);
    await same(`SELECT p.sex, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023
                JOIN contacts c ON c.person_id = p.person_id WHERE c.age_band = i.age_band GROUP BY p.sex`);
  });

  it('GROUP BY over the whole ICD-10 list (hundreds of codes: cells formed by sorting), alone and joined', async () => {
    const icd = f.regs.codeLists.get(f.regs.all.find((r) => r.schema.name === 'contacts')!.schema.columns.find((c) => c.name === 'diagnosis')!.codeList!)!;
    assert.ok(icd.codes.length > 256, `the ICD-10 list has ${icd.codes.length} codes`);
    await same('SELECT diagnosis, COUNT(*) AS n, AVG(length_of_stay) AS los FROM contacts GROUP BY diagnosis');
    await same("SELECT c.diagnosis, p.sex, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.diagnosis LIKE 'I%' OR c.diagnosis LIKE 'E%' GROUP BY c.diagnosis, p.sex");
  });

  it('ORDER BY COUNT/SUM LIMIT k inside MPC: only the top k cells are released, in order', async () => {
    const run = f.check.run;
    const db = f.check.db;
    const all = new Map(db.query('SELECT diagnosis, COUNT(*) AS n, SUM(length_of_stay) AS days FROM contacts GROUP BY diagnosis').rows.map((r) => [String(r[0]), r]));
    for (const [order, lim] of [['n DESC', 10], ['days DESC', 3], ['n ASC', 4]] as const) {
      const sql = `SELECT diagnosis, COUNT(*) AS n, SUM(length_of_stay) AS days FROM contacts GROUP BY diagnosis ORDER BY ${order} LIMIT ${lim}`;
      const r = await run(sql);
      assert.equal(r.ranked, lim, sql);
      assert.deepEqual([r.suppressed, r.suppressedCount], [[], 0], 'nothing is said about the other cells');
      assert.equal(r.rows!.length, lim);
      for (const row of r.rows!) assert.deepEqual(row, all.get(String(row[0])), `${sql}: ${row[0]}`);
      // The same values in the same order as SQLite's among cells of at least K rows.
      const want = db.query(`SELECT diagnosis, COUNT(*) AS n, SUM(length_of_stay) AS days FROM contacts GROUP BY diagnosis HAVING n >= ${K} ORDER BY ${order} LIMIT ${lim}`);
      const col = order.startsWith('n') ? 1 : 2;
      assert.deepEqual(r.rows!.map((x) => x[col]), want.rows.map((x) => x[col]), sql);
    }
    // Fewer visible cells than k: the visible ones only.
    const few = await run("SELECT sex, COUNT(*) AS n FROM population WHERE region = 'Nordjylland' GROUP BY sex ORDER BY n DESC LIMIT 1");
    assert.equal(few.rows!.length, 1);
    const r = await run(`SELECT c.diagnosis, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE p.sex = 'F' GROUP BY c.diagnosis HAVING COUNT(*) > 20 ORDER BY n DESC LIMIT 5`);
    const want = db.query(`SELECT c.diagnosis, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE p.sex = 'F' GROUP BY c.diagnosis HAVING COUNT(*) > 20 ORDER BY n DESC LIMIT 5`);
    assert.deepEqual(r.rows!.map((x) => x[1]), want.rows.map((x) => x[1]));
  });

  it('a comparison of columns declares both as filter uses (what a policy checks)', async () => {
    const { usesOfJoinPlan } = await import('../src/governance/plan-uses.js');
    const datasets = new Map(f.regs.all.map((r) => [r.schema.name, r.schema]));
    const jp = planJoinSql('SELECT p.region, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.admission_date <= p.birth_date + 18262 GROUP BY p.region', datasets, f.regs.codeLists);
    const uses = usesOfJoinPlan(jp).map((u) => `${u.dataset}.${u.column}:${u.role}`);
    for (const u of ['contacts.admission_date:filter', 'population.birth_date:filter']) assert.ok(uses.includes(u), `${u} in ${uses.join(', ')}`);
  });

  it('the rewrite is EXISTS on the person id', () => {
    const q = parseQuery(`SELECT region, COUNT(*) AS n FROM population WHERE person_id IN (${T2D}) GROUP BY region`);
    assert.equal(show(q.where!), "EXISTS (SELECT 1 FROM contacts contacts WHERE (contacts.person_id = population.person_id AND contacts.diagnosis LIKE 'E11%'))");
  });

  it('refusals name the construct', () => {
    const refused = (sql: string, re: RegExp) => assert.throws(() => parseQuery(sql), (e: unknown) => e instanceof QueryError && re.test(e.message));
    refused('WITH RECURSIVE t AS (SELECT person_id FROM population) SELECT COUNT(*) FROM t', /WITH RECURSIVE/);
    refused('SELECT COUNT(*) FROM (SELECT region, COUNT(*) AS c FROM population GROUP BY region) x', /GROUP BY, HAVING, DISTINCT, ORDER BY, LIMIT or UNION in subquery x/);
    refused('SELECT COUNT(*) FROM population WHERE person_id IN (SELECT person_id, region FROM population)', /selects anything but one column/);
    refused('SELECT x.sex, COUNT(*) FROM (SELECT region, person_id FROM population) x GROUP BY x.sex', /subquery x in FROM does not select sex/);
    refused('SELECT COUNT(*) FROM population p LEFT JOIN income i ON i.person_id = p.person_id WHERE i.person_id NOT IN (SELECT person_id FROM contacts)', /NOT IN on a LEFT JOIN's column/);
    refused('SELECT COUNT(*) FROM (SELECT p.region FROM population p JOIN income i ON i.person_id = p.person_id) x', /over anything but one table/);
    const datasets = new Map(f.regs.all.map((r) => [r.schema.name, r.schema]));
    const planRefused = (sql: string, re: RegExp) => assert.throws(() => planJoinSql(sql, datasets, f.regs.codeLists, { personKey: true }), (e: unknown) => e instanceof QueryError && re.test(e.message));
    planRefused("SELECT COUNT(*) FROM contacts WHERE admission_date < length_of_stay", /'admission_date' is date and 'length_of_stay' is int: only columns of one type compare/);
    planRefused('SELECT COUNT(*) FROM contacts WHERE sex = region', /code \(sex\) and 'region' is code \(region\)/);
    planRefused('SELECT COUNT(*) FROM contacts WHERE diagnosis < hospital', /only columns of one type|compare with = and <> only/);
    planRefused('SELECT COUNT(*) FROM income i JOIN population p ON p.person_id = i.person_id WHERE i.person_id < p.person_id', /person identifiers are compared only to link registers|besides the person-id equality/);
  });
});
