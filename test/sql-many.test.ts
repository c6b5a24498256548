// Many-to-many joins on the person id (issue 17): contacts × prescriptions with the most rows per
// person taken from one side declared by ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY …) <= b,
// padded to b inside MPC. In MPC against SQLite running the same text, with the edges (an empty
// register, one row, ties, persons in one register only), the privacy bound and the refusal.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { contributionBound, noiseForPlan, QueryError } from '../src/query/index.js';
import { firstPerDay, sqlCheck, sqlFixture, subset, type SqlCheck } from './sql-check.js';

const K = 5;
const f = sqlFixture({ citizens: 800, seed: 61, incomeYears: [2023] }, K);
/** At most one prescription per person and day: which rows are a person's first b does not depend on tie order. */
let untied: SqlCheck;
before(async () => {
  untied = await sqlCheck(f.regs.all.map((r) => (r === f.regs.prescriptions ? firstPerDay(r, 'date') : r)), f.regs.codeLists, K);
});

const FIRST = (b: number, cols = 'person_id, atc, date, amount') => `(SELECT ${cols}, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY date) AS k FROM prescriptions) r ON r.person_id = c.person_id AND r.k <= ${b}`;
/** SQLite spells date + days with date(…, '+N days'). */
const plus = (sql: string) => sql.replace(/c\.admission_date \+ (\d+)/g, "date(c.admission_date, '+$1 days')");

describe('many-to-many joins with a declared bound equal SQLite', () => {
  it('every contact beside the person\'s first b prescriptions: pairs per region (ties do not matter)', async () => {
    for (const b of [1, 4]) await f.check.same(`SELECT c.region, COUNT(*) AS n FROM contacts c JOIN ${FIRST(b)} GROUP BY c.region`);
  });

  it('drug after diagnosis: prescriptions within 90 days of a contact, by ATC code, with amounts', async () => {
    const sql = `SELECT r.atc, COUNT(*) AS n, SUM(r.amount) AS ddd FROM contacts c JOIN ${FIRST(6)}
                 WHERE c.diagnosis LIKE 'E1%' AND r.date BETWEEN c.admission_date AND c.admission_date + 90 GROUP BY r.atc`;
    await untied.same(sql, 'n', plus(sql));
  });

  it('three registers, both sides numbered, persons counted', async () => {
    const sql = `SELECT p.sex, COUNT(*) AS n, COUNT(DISTINCT p.person_id) AS persons FROM population p
                 JOIN (SELECT person_id, admission_date, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS j FROM contacts) c ON c.person_id = p.person_id
                 JOIN ${FIRST(3)} WHERE c.j <= 2 AND r.date >= c.admission_date GROUP BY p.sex`;
    await untied.same(sql, 'persons');
  });

  it('an empty register and a register of one row on either side', async () => {
    for (const [table, rows] of [['prescriptions', []], ['prescriptions', [0]], ['contacts', []]] as const) {
      const regs1 = f.regs.all.map((r) => (r.schema.name === table ? subset(r, [...rows]) : r));
      const c = await sqlCheck(regs1, f.regs.codeLists, 1);
      const sql = `SELECT COUNT(*) AS n FROM contacts c JOIN ${FIRST(2)}`;
      const want = Number(c.plain(sql).rows[0]![0]);
      const r = await c.run(sql, { minCellSize: 1 });
      assert.deepEqual(r.rows, want ? [[want]] : [], `${table} with ${rows.length} rows`);
      c.db.close();
    }
  });
});

describe('many-to-many: privacy bound and refusals', () => {
  it('one person adds at most (rows on the kept side) × b joined rows', () => {
    const R = (sql: string) => contributionBound(f.check.plan(sql).plan, f.check.plan(sql));
    assert.equal(R(`SELECT COUNT(*) AS n FROM contacts c JOIN ${FIRST(4)}`), 64 * 4);
    assert.equal(R(`SELECT COUNT(*) AS n FROM contacts c JOIN ${FIRST(1000)}`), 64 * 128, 'a bound above the declared most rows per person is that');
    assert.equal(R('SELECT COUNT(*) AS n FROM (SELECT person_id, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS j FROM contacts) c WHERE c.j = 1'), 1, "each person's first contact");
    assert.equal(R(`SELECT COUNT(*) AS n FROM (SELECT person_id, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS j FROM contacts) c JOIN ${FIRST(4)} WHERE c.j <= 2`), 2 * 4);
  });

  it('runs protected, the noise calibrated to that bound', async () => {
    const sql = `SELECT c.sex, COUNT(*) AS n FROM (SELECT person_id, sex, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS j FROM contacts) c JOIN ${FIRST(2)} WHERE c.j <= 3 GROUP BY c.sex`;
    const jp = f.check.plan(sql);
    const noise = noiseForPlan(jp.plan, jp, { mechanism: 'laplace', epsilon: 4 });
    assert.equal(noise.sums[0]!.sensitivity, 3 * 2);
    const r = await f.check.run(sql, { noise });
    const exact = new Map(f.check.plain(sql).rows.map((x) => [String(x[0]), Number(x[1])]));
    for (const row of r.rows!) assert.ok(Math.abs(Number(row[1]) - exact.get(String(row[0]))!) < 40, `${row} vs ${exact.get(String(row[0]))}`);
  });

  it('refused without a bound, naming the syntax; two bounded sides; the kept side LEFT JOINed', () => {
    const refused = (sql: string, re: RegExp) => assert.throws(() => f.check.plan(sql), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
    refused('SELECT COUNT(*) FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id', /both have many rows per person .* declared with ROW_NUMBER: JOIN \(SELECT …, ROW_NUMBER\(\) OVER \(PARTITION BY person_id ORDER BY date\) AS k FROM prescriptions\) r ON r\.person_id = c\.person_id AND r\.k <= 8/);
    refused(`SELECT COUNT(*) FROM population p JOIN (SELECT person_id, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS j FROM contacts) c ON c.person_id = p.person_id JOIN ${FIRST(2)} JOIN (SELECT person_id, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY date) AS k2 FROM prescriptions) r2 ON r2.person_id = p.person_id AND r2.k2 <= 2 WHERE c.j <= 1`, /are both bounded by ROW_NUMBER/);
    refused(`SELECT COUNT(*) FROM contacts c JOIN ${FIRST(0)}`, /r\.k <= 0: the bound on rows per person must be at least 1/);
    refused(`SELECT COUNT(*) FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id JOIN ${FIRST(2).replace('= c.person_id', '= p.person_id')}`, /which is LEFT JOINed; use JOIN/);
  });
});
