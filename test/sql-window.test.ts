// Window functions over a person's rows ordered by time (issue 17), in subqueries and WITH that
// feed an aggregate: ROW_NUMBER, LAG/LEAD (with and without default), COUNT(*) OVER (PARTITION BY
// … [ORDER BY …]) with SQL's peers (RANGE) and with ROWS frames; the recurrent-contact query. In MPC
// against SQLite on generated registers, with the edges: an empty register, one row, ties (same-day
// contacts), persons in one register only; refusals name the construct.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parseQuery, QueryError } from '../src/query/index.js';
import { firstPerDay, sqlCheck, sqlFixture, subset, type SqlCheck } from './sql-check.js';

const K = 5;
const f = sqlFixture({ citizens: 1200, seed: 53, incomeYears: [2023] }, K);
/** The same registers with at most one contact per person and day: row-level results do not depend on how ties are ordered. */
let untied: SqlCheck;
before(async () => {
  const c = f.regs.contacts;
  untied = await sqlCheck(f.regs.all.map((r) => (r === c ? firstPerDay(r, 'admission_date') : r)), f.regs.codeLists, K);
  assert.ok(Number(untied.plain('SELECT COUNT(*) FROM contacts').rows[0]![0]) < c.length, 'the generated contacts have same-day ties');
});

const NEXT = 'LEAD(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date) AS next_adm';
/** The recurrent-contact query: contacts followed by another contact of the same person within 30 days. */
const RECURRENT = `WITH seq AS (SELECT person_id, admission_date, region, ${NEXT} FROM contacts)
  SELECT region, COUNT(*) AS n, COUNT(DISTINCT person_id) AS persons FROM seq WHERE next_adm - admission_date <= 30 GROUP BY region`;
const julian = (sql: string) => sql.replace('next_adm - admission_date', 'julianday(next_adm) - julianday(admission_date)');

describe('window functions in MPC equal SQLite', () => {
  it('the recurrent-contact query: LEAD over each person\'s contacts in date order, ties included', async () => {
    await f.check.same(RECURRENT, 'persons', julian(RECURRENT));
  });

  it('LAG with a default, DESC order, the subquery\'s WHERE before the window and the outer WHERE after it', async () => {
    const sql = `SELECT s.sex, COUNT(*) AS n FROM (SELECT person_id, sex, admission_date, hospital, LAG(admission_date, 1, DATE '2000-01-01') OVER (PARTITION BY person_id ORDER BY admission_date) AS prev
                 FROM contacts WHERE diagnosis LIKE 'I%' OR diagnosis LIKE 'J%') s WHERE s.admission_date - s.prev > 90 AND s.hospital <> 'Rigshospitalet' GROUP BY s.sex`;
    await f.check.same(sql, 'n', sql.replace("DATE '2000-01-01'", "'2000-01-01'").replace('s.admission_date - s.prev', 'julianday(s.admission_date) - julianday(s.prev)'));
    const desc = `SELECT region, COUNT(*) AS n FROM (SELECT person_id, region, admission_date, LEAD(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date DESC) AS earlier FROM contacts) s
                  WHERE admission_date - earlier BETWEEN 1 AND 60 GROUP BY region`;
    await f.check.same(desc, 'n', desc.replace('admission_date - earlier', 'julianday(admission_date) - julianday(earlier)'));
  });

  it('ROW_NUMBER: each person\'s first contacts; a row-level attribute of the first contact (no ties)', async () => {
    await f.check.same('SELECT region, COUNT(*) AS n FROM (SELECT person_id, region, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS rn FROM contacts) s WHERE rn <= 2 GROUP BY region');
    await untied.same("SELECT hospital, COUNT(*) AS n, AVG(length_of_stay) AS los FROM (SELECT person_id, hospital, length_of_stay, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS rn FROM contacts WHERE diagnosis LIKE 'E1%') s WHERE rn = 1 GROUP BY hospital");
  });

  it('COUNT(*) OVER (PARTITION BY person_id): persons with three contacts or more; running counts with peers (RANGE) and ROWS', async () => {
    await f.check.same('SELECT region, COUNT(DISTINCT person_id) AS persons FROM (SELECT person_id, region, COUNT(*) OVER (PARTITION BY person_id) AS k FROM contacts) s WHERE k >= 3 GROUP BY region', 'persons');
    // Same-day contacts are peers: each counts all of that day's contacts (SQL's default frame).
    await f.check.same('SELECT k, COUNT(*) AS n FROM (SELECT person_id, COUNT(*) OVER (PARTITION BY person_id ORDER BY admission_date) AS k FROM contacts) s GROUP BY k');
    await f.check.same('SELECT k, COUNT(*) AS n FROM (SELECT person_id, COUNT(*) OVER (PARTITION BY person_id ORDER BY admission_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS k FROM contacts) s GROUP BY k');
  });

  it('joined with another register (persons in one register only drop out), and an average over LEAD where it is not NULL', async () => {
    const sql = `SELECT p.sex, COUNT(*) AS n, AVG(s.next_adm - s.admission_date) AS gap FROM population p
                 JOIN (SELECT person_id, admission_date, ${NEXT} FROM contacts) s ON s.person_id = p.person_id WHERE s.next_adm IS NOT NULL GROUP BY p.sex`;
    await f.check.same(sql, 'n', sql.replace('s.next_adm - s.admission_date', 'julianday(s.next_adm) - julianday(s.admission_date)'));
    const miss = `SELECT COUNT(*) AS n FROM (SELECT person_id, admission_date, ${NEXT} FROM contacts) s WHERE s.next_adm IS NULL`;
    await f.check.same(miss);
  });

  it('an empty register and a register of one row', async () => {
    for (const rows of [[], [0]]) {
      const c = await sqlCheck(f.regs.all.map((r) => (r === f.regs.contacts ? subset(r, rows) : r)), f.regs.codeLists, 1);
      const sql = `SELECT COUNT(*) AS n FROM (SELECT person_id, admission_date, ${NEXT}, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS rn FROM contacts) s WHERE s.next_adm IS NULL AND s.rn = 1`;
      const r = await c.run(sql, { minCellSize: 1 });
      assert.deepEqual(r.rows, rows.length ? [[1]] : []);
      assert.deepEqual(c.plain(sql).rows, [[rows.length]]);
      c.db.close();
    }
  });
});

describe('window functions: what they read, and refusals', () => {
  it('a window column is a use of the columns it reads (what a policy checks)', async () => {
    const { usesOfJoinPlan } = await import('../src/governance/plan-uses.js');
    const uses = usesOfJoinPlan(f.check.plan(RECURRENT)).map((u) => `${u.dataset}.${u.column}:${u.role}`);
    for (const u of ['contacts.person_id:join-key', 'contacts.admission_date:filter', 'contacts.region:group']) assert.ok(uses.includes(u), `${u} in ${uses.join(', ')}`);
    assert.ok(!uses.some((u) => u.includes('next_adm')));
  });

  it('refusals name the construct', () => {
    const parsed = (sql: string, re: RegExp) => assert.throws(() => parseQuery(sql), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
    const planned = (sql: string, re: RegExp) => assert.throws(() => f.check.plan(sql), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
    const sub = (w: string, where = '') => `SELECT COUNT(*) AS n FROM (SELECT person_id, admission_date, ${w} FROM contacts) s ${where}`;
    parsed('SELECT COUNT(*) OVER (PARTITION BY person_id) FROM contacts', /window functions \(OVER\) are computed in a subquery over one register/);
    parsed('SELECT ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) FROM contacts', /window function ROW_NUMBER here/);
    parsed(sub('RANK() OVER (PARTITION BY person_id ORDER BY admission_date) AS r'), /window function RANK \(supported: ROW_NUMBER\(\), LAG\(col\), LEAD\(col\), COUNT\(\*\)\)/);
    parsed(sub('LAG(admission_date, 2) OVER (PARTITION BY person_id ORDER BY admission_date) AS p'), /an offset other than 1/);
    parsed(sub('COUNT(*) OVER (PARTITION BY person_id ORDER BY admission_date ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS k'), /a window frame other than ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW/);
    parsed(sub('ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date)'), /a window function without a name/);
    parsed(`SELECT COUNT(*) FROM population WHERE person_id IN (SELECT person_id FROM (SELECT person_id, ${NEXT} FROM contacts) s)`, /IN over a subquery with window functions/);
    planned(sub('ROW_NUMBER() OVER (PARTITION BY region ORDER BY admission_date) AS rn'), /PARTITION BY the person id of contacts/);
    planned(sub('LAG(admission_date) OVER (PARTITION BY person_id) AS p'), /needs ORDER BY a column/);
    planned(sub('ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY admission_date) AS rn, LAG(diagnosis) OVER (PARTITION BY person_id ORDER BY length_of_stay) AS d'), /use one ORDER BY/);
    planned(sub(NEXT, 'GROUP BY s.next_adm'), /next_adm is NULL where a person has no previous\/next row/);
    planned(`SELECT AVG(s.next_adm - s.admission_date) FROM (SELECT person_id, admission_date, ${NEXT} FROM contacts) s`, /add WHERE s\.next_adm IS NOT NULL/);
    planned(`SELECT COUNT(*) FROM population p LEFT JOIN (SELECT person_id, ${NEXT} FROM contacts) s ON s.person_id = p.person_id`, /LEFT JOIN s: a subquery with window functions is joined with JOIN/);
    planned(`SELECT COUNT(*) FROM prescriptions r JOIN (SELECT person_id, ${NEXT} FROM contacts) s ON s.person_id = r.person_id`, /both have many rows per person/);
  });
});
