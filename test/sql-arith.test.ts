// Arithmetic between columns and inside aggregates (issue 17): + − × in one register and across
// joined ones, in WHERE and in SUM/AVG/VARIANCE (also clamped), in MPC against SQLite, with the
// edges, the fixed-point and range rules, output protection and refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noiseForPlan, QueryError } from '../src/query/index.js';
import { sqlCheck, sqlFixture, subset } from './sql-check.js';

const K = 5;
const f = sqlFixture({ citizens: 1200, seed: 41, incomeYears: [2023] }, K);

/** SQLite spells a difference of dates in days with julianday(). */
const days = (sql: string) => sql.replace(/(\w+\.\w+_date|\w+\.date)\s*-\s*(\w+\.\w+_date)/g, 'julianday($1) - julianday($2)');

describe('arithmetic in MPC equals SQLite', () => {
  it('inside aggregates over one register: ints, fixed-point decimals (× a fraction, × a column)', async () => {
    await f.check.same('SELECT region, SUM(length_of_stay * 2 + 1) AS x, AVG(length_of_stay - 3) AS y, VARIANCE(3 * length_of_stay) AS v, COUNT(*) AS n FROM contacts GROUP BY region');
    await f.check.same("SELECT sex, SUM(amount * 0.5) AS half, AVG(amount * amount) AS sq, SUM(amount - 1) AS less, COUNT(*) AS n FROM prescriptions WHERE atc LIKE 'A10%' GROUP BY sex");
  });

  it('across joined registers: differences of dates (days), products and sums of two registers\' columns', async () => {
    const sql = 'SELECT p.sex, AVG(c.admission_date - p.birth_date) AS age_days, SUM(c.length_of_stay - i.income_quintile) AS d, SUM(c.length_of_stay * i.income_quintile) AS prod, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex';
    await f.check.same(sql, 'n', days(sql));
  });

  it('in WHERE: a difference of dates against a number, a product, a sum of columns against a column', async () => {
    const sql = 'SELECT p.region, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.admission_date - p.birth_date < 365 * 18 GROUP BY p.region';
    await f.check.same(sql, 'n', days(sql));
    await f.check.same('SELECT hospital, COUNT(*) AS n FROM contacts WHERE length_of_stay * 2 > 10 GROUP BY hospital');
    await f.check.same('SELECT i.education, COUNT(*) AS n FROM income i JOIN contacts c ON c.person_id = i.person_id WHERE i.year = 2023 AND c.length_of_stay + i.income_quintile >= 2 * i.income_quintile + 1 GROUP BY i.education');
  });

  it('clamped arithmetic: SUM(LEAST(GREATEST(a − b, 0), 20))', async () => {
    await f.check.same('SELECT p.sex, SUM(LEAST(GREATEST(c.length_of_stay - i.income_quintile, 0), 20)) AS s, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex');
  });

  it('an empty register and a register of one row', async () => {
    const contacts = f.regs.all.findIndex((r) => r.schema.name === 'contacts');
    for (const rows of [[], [3]]) {
      const c = await sqlCheck(f.regs.all.map((r, i) => (i === contacts ? subset(r, rows) : r)), f.regs.codeLists, 1);
      const r = await c.run('SELECT COUNT(*) AS n, SUM(length_of_stay * 3 - 1) AS s FROM contacts WHERE length_of_stay - 1 >= -1', { minCellSize: 1 });
      const want = c.plain('SELECT COUNT(*) AS n, SUM(length_of_stay * 3 - 1) AS s FROM contacts WHERE length_of_stay - 1 >= -1').rows[0]!;
      assert.deepEqual(r.rows, rows.length ? [want] : []);
      c.db.close();
    }
  });
});

describe('arithmetic: bounds, protection, policies and refusals', () => {
  it('a computed value has the range of its columns (what output protection calibrates to)', () => {
    const jp = f.check.plan('SELECT SUM(c.length_of_stay - i.income_quintile) AS d FROM income i JOIN contacts c ON c.person_id = i.person_id WHERE i.year = 2023');
    const c = jp.plan.computed.find((x) => x.name === 'c.length_of_stay - i.income_quintile')!;
    assert.deepEqual([c.spec.type, c.spec.min, c.spec.max], ['int', 0 - 5, 60 - 1]);
    const noise = noiseForPlan(jp.plan, jp, { mechanism: 'laplace', epsilon: 1 });
    assert.equal(noise.sums[1]!.rowBound, 59);
    assert.equal(noise.sums[1]!.sensitivity, 59 * noise.rowsPerPerson);
  });

  it('an aggregate of arithmetic declares every column it reads (what a policy checks)', async () => {
    const { usesOfJoinPlan } = await import('../src/governance/plan-uses.js');
    const uses = usesOfJoinPlan(f.check.plan('SELECT p.sex, AVG(c.admission_date - p.birth_date) AS a FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.length_of_stay * 2 > 3 GROUP BY p.sex'));
    const got = uses.map((u) => `${u.dataset}.${u.column}:${u.role}${u.aggregate ? `:${u.aggregate}` : ''}`);
    for (const u of ['contacts.admission_date:aggregate:avg', 'population.birth_date:aggregate:avg', 'contacts.length_of_stay:filter']) assert.ok(got.includes(u), `${u} in ${got.join(', ')}`);
  });

  it('refusals name the construct', () => {
    const refused = (sql: string, re: RegExp) => assert.throws(() => f.check.plan(sql), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
    refused('SELECT SUM(length_of_stay / 2) FROM contacts', /arithmetic operator \/ \(division inside MPC/);
    refused('SELECT COUNT(*) FROM contacts WHERE admission_date * 2 > 3', /a date cannot be multiplied/);
    refused('SELECT COUNT(*) FROM contacts WHERE diagnosis + 1 > 3', /'diagnosis' is code: arithmetic applies to numbers and dates/);
    refused('SELECT SUM(amount * amount * amount * amount) FROM prescriptions', /beyond ±2\^62: narrow the columns' declared ranges/);
    refused('SELECT COUNT(*) FROM contacts WHERE admission_date + 1 > length_of_stay * 2', /is a date and .* a number: compare dates with dates/);
    refused('SELECT COUNT(*) FROM contacts c JOIN population p ON p.person_id = c.person_id WHERE c.admission_date + p.birth_date > 3', /two dates cannot be added/);
    refused('SELECT SUM(length_of_stay - admission_date) FROM contacts', /a number minus a date/);
    refused('SELECT COUNT(*) FROM contacts WHERE person_id * 2 > 3', /is a person identifier: arithmetic applies to numbers and dates/);
  });
});
