// SQL joins across registers (src/query/join-plan.ts, join-execute.ts) against SQLite on the same
// generated registers: inner and left joins, one-to-many, three registers, persons present on one
// side only (emigrants have contacts but no population row), anti-joins with IS NULL, Kleene
// logic over LEFT JOIN misses, a unique side checked in MPC; and the errors raised before any MPC.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { JoinError } from '../src/mpc/join.js';
import { planJoinSql, QueryError, runJoinQuery } from '../src/query/index.js';
import { keptJoinInputs, type KeptJoin } from '../src/query/join-execute.js';
import { PlainDatabase } from '../src/query/plaintext.js';
import { run3 } from './harness.js';
import { inPersonOrderRegisters, RegisterShares } from './register-shares.js';
import { assertVisibleCellsEqual } from './sqlite-cells.js';

const K = 5;
let regs: Registers;
let db: PlainDatabase;
const shares = new RegisterShares(() => regs);

before(async () => {
  regs = generateRegisters({ citizens: 1500, seed: 11, incomeYears: [2022, 2023] });
  db = await PlainDatabase.create(regs.all, regs.codeLists);
});

const datasets = () => new Map(regs.all.map((r) => [r.schema.name, r.schema]));

// The same registers as their custodians upload them: rows in person-id order (src/ingest/person-order.ts).
let ordered: Registers;
const orderedShares = new RegisterShares(() => ordered);
const sortedBy = new Map<string, string>();
before(() => (ordered = inPersonOrderRegisters(regs, sortedBy)));


async function mpc(sql: string, inOrder = false) {
  const jp = planJoinSql(sql, datasets(), regs.codeLists, inOrder ? { sortedBy } : {});
  if (inOrder) assert.ok(jp.tables.some((t) => t.sorted), `${sql}: some table is marked in person order`);
  const [r0, r1, r2] = await run3((p) => {
    const tables = (inOrder ? orderedShares : shares).tables(jp, p.id);
    return runJoinQuery(p, jp, tables, { minCellSize: K });
  });
  assert.deepEqual(r1, r0);
  assert.deepEqual(r2, r0);
  return { jp, result: r0 };
}

/** MPC equals SQLite on every cell with at least K rows; the smaller ones are suppressed. */
async function same(sql: string, countCol = 'n', plainSql = sql, inOrder = false): Promise<void> {
  const { jp, result } = await mpc(sql, inOrder);
  const want = db.query(plainSql);
  assertVisibleCellsEqual(sql, jp.plan.keys.length, result.rows!, want, countCol, K);
  const ci = want.columns.indexOf(countCol);
  const small = want.rows.filter((r) => Number(r[ci]) < K).length;
  assert.ok(result.suppressedCount >= small, `${sql}: ${small} small cells, ${result.suppressedCount} suppressed`);
}

describe('SQL joins across registers: MPC equals SQLite', () => {
  it('one-to-many inner join with filters on both sides, GROUP BY the one side', () =>
    same(`SELECT p.region, p.sex, COUNT(*) AS n, AVG(c.length_of_stay) AS los FROM population p JOIN contacts c ON c.person_id = p.person_id
          WHERE c.diagnosis LIKE 'E11%' AND p.birth_date < '1970-01-01' GROUP BY p.region, p.sex`));

  it('three registers, the income register made one row per person by ON … AND year', () =>
    same(`SELECT i.education, COUNT(*) AS n, SUM(c.length_of_stay) AS days FROM population p
          JOIN contacts c ON c.person_id = p.person_id
          JOIN income i ON i.person_id = p.person_id AND i.year = 2023
          WHERE c.admission_date >= '2024-01-01' GROUP BY i.education`));

  it('FROM a register with one row per person only after its filter (income of one year), joined', async () => {
    await same(`SELECT p.region, COUNT(*) AS n FROM income i JOIN population p ON p.person_id = i.person_id WHERE i.year = 2022 GROUP BY p.region`);
    await same(`SELECT i.income_quintile, COUNT(*) AS n, AVG(i.income) AS mean_income FROM income i JOIN population p ON p.person_id = i.person_id AND p.sex = 'F' WHERE i.year = 2023 GROUP BY i.income_quintile`);
  });

  it('one-to-one (both sides one row per person) with a WHERE filter on the joined table', () =>
    same(`SELECT p.region, COUNT(*) AS n, AVG(i.income) AS mean_income, MAX(i.income) AS top FROM population p JOIN income i ON p.person_id = i.person_id
          WHERE i.year = 2022 GROUP BY p.region`));

  it('LEFT JOIN: persons without a matching contact count once', () =>
    same(`SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id AND c.diagnosis LIKE 'J44%' GROUP BY p.sex`));

  it('anti-join: persons with no COPD contact (IS NULL), and IS NOT NULL', async () => {
    await same(`SELECT p.region, COUNT(*) AS n FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id AND c.diagnosis LIKE 'J44%' WHERE c.person_id IS NULL GROUP BY p.region`);
    await same(`SELECT p.region, COUNT(*) AS n FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id WHERE c.person_id IS NOT NULL AND p.sex = 'F' GROUP BY p.region`);
  });

  it('Kleene logic: comparisons on a LEFT JOIN miss are unknown, also under NOT and OR', async () => {
    await same(`SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id WHERE c.length_of_stay > 3 OR p.region = 'Hovedstaden' GROUP BY p.sex`);
    await same(`SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE NOT (i.income < 250000) GROUP BY p.sex`);
  });

  it('persons on the many side only: contacts LEFT JOIN population keeps emigrants', () =>
    same(`SELECT c.sex, COUNT(*) AS n FROM contacts c LEFT JOIN population p ON p.person_id = c.person_id WHERE p.person_id IS NULL OR c.hospital IS NOT NULL GROUP BY c.sex`));

  it('EXISTS and NOT EXISTS (semi- and anti-joins) with conditions inside and out', async () => {
    await same(`SELECT p.region, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.region`);
    await same(`SELECT p.sex, COUNT(*) AS n FROM population p WHERE p.birth_date < '1960-01-01' AND NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'N02%') GROUP BY p.sex`);
    // Both registers with many rows per person, one of them only through EXISTS.
    await same(`SELECT c.hospital, COUNT(*) AS n FROM contacts c JOIN population p ON p.person_id = c.person_id
                WHERE EXISTS (SELECT * FROM prescriptions r WHERE r.person_id = p.person_id AND atc LIKE 'A10%') OR p.sex = 'M' GROUP BY c.hospital`);
  });

  it('a cohort over two registers with a date window: E11 contact, then an A10 prescription within 365 days', async () => {
    const cohort = (upper: string) => `SELECT p.region, COUNT(*) AS n FROM population p WHERE EXISTS (
        SELECT 1 FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id
        WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%' AND r.atc LIKE 'A10%'
          AND r.date BETWEEN c.admission_date AND ${upper}) GROUP BY p.region`;
    // SQLite stores dates as text: date(x, '+365 days') is its spelling of x + 365.
    await same(cohort('c.admission_date + 365'), 'n', cohort(`date(c.admission_date, '+365 days')`));
    // A window starting later, one side written as a comparison, NOT EXISTS.
    const later = (shift: string) => `SELECT p.sex, COUNT(*) AS n FROM population p WHERE NOT EXISTS (
        SELECT 1 FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id
        WHERE r.person_id = p.person_id AND c.diagnosis LIKE 'I%' AND r.date > ${shift}) GROUP BY p.sex`;
    await same(later('c.admission_date + 30'), 'n', later(`date(c.admission_date, '+30 days')`));
  });

  it('a side filtered to nothing: every cell is empty and suppressed, as SQLite has no rows', async () => {
    const sql = `SELECT p.sex, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.income < 0 GROUP BY p.sex`;
    const { result } = await mpc(sql);
    assert.deepEqual(db.query(sql).rows, []);
    assert.deepEqual(result.rows, []);
    assert.equal(result.suppressedCount, result.cells);
  });

  it('income with two years per person, unfiltered, beside contacts (the many side) is refused inside MPC', async () => {
    await assert.rejects(() => mpc(`SELECT COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id JOIN income i ON i.person_id = p.person_id`), (e: unknown) => e instanceof JoinError && /income has more than one row/.test(e.message));
  });
});

describe('registers uploaded in person order: joins merge instead of sort, MPC equals SQLite', () => {
  it('one-to-many, three registers, LEFT JOIN, EXISTS and NOT EXISTS', async () => {
    await same(`SELECT p.region, p.sex, COUNT(*) AS n, AVG(c.length_of_stay) AS los FROM population p JOIN contacts c ON c.person_id = p.person_id
          WHERE c.diagnosis LIKE 'E11%' AND p.birth_date < '1970-01-01' GROUP BY p.region, p.sex`, 'n', undefined, true);
    await same(`SELECT i.education, COUNT(*) AS n, SUM(c.length_of_stay) AS days FROM population p
          JOIN contacts c ON c.person_id = p.person_id
          JOIN income i ON i.person_id = p.person_id AND i.year = 2023
          WHERE c.admission_date >= '2024-01-01' GROUP BY i.education`, 'n', undefined, true);
    await same(`SELECT p.sex, COUNT(*) AS n FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id AND c.diagnosis LIKE 'J44%' GROUP BY p.sex`, 'n', undefined, true);
    await same(`SELECT p.sex, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.sex`, 'n', undefined, true);
    await same(`SELECT p.region, COUNT(*) AS n FROM population p WHERE NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'A10%') GROUP BY p.region`, 'n', undefined, true);
  });
});

describe('GROUP BY with many cells (sort-based grouping)', () => {
  it('municipality × 5-year age band on one register: counts and means', async () => {
    const { jp } = await mpc(`SELECT p.municipality, age_band(p.birth_date, '2024-12-31', 5, 90) AS band, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY 1, 2`);
    assert.ok(jp.plan.keys.reduce((m, k) => m * k.labels.length, 1) >= 1000);
    await same(`SELECT p.municipality, age_band(p.birth_date, '2024-12-31', 5, 90) AS band, COUNT(*) AS n, AVG(i.income) AS mean FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY 1, 2`);
  });

  it('a join grouped by municipality × hospital with a variance', () =>
    same(`SELECT p.municipality, c.hospital, COUNT(*) AS n, VARIANCE(c.length_of_stay) AS v FROM contacts c JOIN population p ON p.person_id = c.person_id WHERE c.admission_date >= '2023-01-01' GROUP BY p.municipality, c.hospital`));
});

describe('join errors, raised before any MPC', () => {
  const bad: [string, RegExp][] = [
    [`SELECT COUNT(*) FROM population p JOIN contacts c ON c.sex = p.sex`, /joins are on person_id columns/],
    [`SELECT COUNT(*) FROM population p JOIN contacts c ON c.length_of_stay > 3`, /ON needs c\.<person_id>/],
    [`SELECT sex, COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY sex`, /ambiguous: it is in p and c/],
    [`SELECT COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.nope = 1`, /unknown column 'nope' in contacts/],
    [`SELECT AVG(c.length_of_stay) FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id`, /LEFT JOINed table's columns/],
    [`SELECT COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id AND p.sex = 'F'`, /may refer to c only/],
    [`SELECT COUNT(*) FROM population p JOIN nosuch n ON n.person_id = p.person_id`, /unknown table 'nosuch'/],
    [`SELECT COUNT(*) FROM population p RIGHT JOIN contacts c ON c.person_id = p.person_id`, /RIGHT JOIN/],
    [`SELECT COUNT(*) FROM population p JOIN contacts p ON p.person_id = p.person_id`, /appears twice/],
    [`SELECT COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.diagnosis LIKE 'E11%')`, /needs c\.<person_id> = <earlier table>/],
    [`SELECT c.hospital, COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id) GROUP BY c.hospital`, /unknown table 'c'/],
    [`SELECT COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c JOIN income i ON i.person_id = c.person_id WHERE c.person_id = p.person_id)`, /a date window between the registers is needed/],
    [`SELECT COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id WHERE c.person_id = p.person_id AND r.date < c.admission_date)`, /on or after c/],
    [`SELECT COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c LEFT JOIN prescriptions r ON r.person_id = c.person_id WHERE c.person_id = p.person_id)`, /EXISTS over anything but one table/],
    [`SELECT COUNT(*) FROM population p JOIN income i ON i.person_id = p.person_id WHERE p.birth_date * 2 > '2000-01-01'`, /a date cannot be multiplied/], // date ± days: sql-arith.test.ts
  ];
  for (const [sql, re] of bad) {
    it(sql.replace(/\s+/g, ' ').slice(0, 90), () => {
      assert.throws(() => planJoinSql(sql, datasets(), regs.codeLists), (e: unknown) => e instanceof QueryError && re.test(e.message));
    });
  }
});

describe('progress of a linked query (issue 12: the main job shows phase and percentage)', () => {
  it('reports increasing fractions up to 1, with the join\'s sort in between, the same at every party', async () => {
    const sql = "SELECT p.region, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.region";
    const jp = planJoinSql(sql, datasets(), regs.codeLists);
    const seen: [number, string][][] = [[], [], []];
    await run3((p) => {
      const tables = shares.tables(jp, p.id);
      return runJoinQuery(p, jp, tables, { minCellSize: K, progress: (f, phase) => void seen[p.id]!.push([f, phase]) });
    });
    for (const s of seen) {
      const f = s.map(([x]) => x);
      assert.ok(f.every((x, i) => i === 0 || x >= f[i - 1]!), 'increasing');
      assert.equal(f.at(-1), 1);
      const sorting = s.filter(([, ph]) => ph === 'join: sorting').map(([x]) => x);
      assert.ok(sorting.length >= 5 && sorting[0]! >= 0.08 && sorting.at(-1)! <= 0.6, `the sort reports its levels: ${sorting.join(', ')}`);
      assert.ok(s.some(([, ph]) => /disclosure/.test(ph)));
    }
    assert.deepEqual(seen[1], seen[0]);
  });
});

describe('joined rows kept for the next query over the same join (JoinRunOptions.joined)', () => {
  const PREFIX = 'FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023';
  const NUM = `SELECT p.region, i.income_quintile, COUNT(*) AS n ${PREFIX} GROUP BY p.region, i.income_quintile`;
  /** Runs `sql` at three parties with each party's kept join (if any); returns the result, frames sent per party and what each kept. */
  async function runKept(sql: string, kept: (KeptJoin | undefined)[]) {
    const jp = planJoinSql(sql, datasets(), regs.codeLists);
    const made: (KeptJoin | undefined)[] = [undefined, undefined, undefined];
    const out = await run3(async (p) => {
      const f0 = p.net.stats.frames;
      const r = await runJoinQuery(p, jp, shares.tables(jp, p.id), { minCellSize: K, ...(kept[p.id] ? { joined: kept[p.id]! } : {}), onJoined: (k) => (made[p.id] = k) });
      return { r, frames: p.net.stats.frames - f0 };
    });
    assert.deepEqual(out[1]!.r, out[0]!.r);
    assert.deepEqual(out[2]!.r, out[0]!.r);
    return { jp, result: out[0]!.r, frames: out.map((o) => o.frames), made };
  }

  it('the same join and conditions with other groups, aggregates or fewer columns take them (no filter, no join), with the rows of joining again; other conditions or a column not kept join again', async () => {
    const first = await runKept(NUM, []);
    assert.ok(first.made.every((k) => k && k.columns.has('p.region') && k.columns.has('i.income_quintile')), 'each party keeps the joined rows it made');
    assert.equal(first.made[0]!.signature, keptJoinInputs(first.jp));
    // The denominator and a one-column query: the kept rows, the rows SQLite gives, fewer messages.
    for (const sql of [`SELECT p.region, i.income_quintile, COUNT(*) AS n ${PREFIX} GROUP BY p.region, i.income_quintile HAVING COUNT(*) >= 8`, `SELECT i.income_quintile, COUNT(*) AS n ${PREFIX} GROUP BY i.income_quintile`]) {
      const fresh = await runKept(sql, []);
      const reused = await runKept(sql, first.made);
      assert.deepEqual(reused.result.rows, fresh.result.rows, sql);
      assert.deepEqual(reused.made, [undefined, undefined, undefined], 'nothing joined, nothing kept anew');
      assert.ok(reused.frames.every((f, i) => f < fresh.frames[i]!), `${sql}: ${reused.frames} frames with the kept rows, ${fresh.frames} joining`);
      assertVisibleCellsEqual(sql, reused.jp.plan.keys.length, reused.result.rows!, db.query(sql), 'n', K);
    }
    // Another condition (another year) and a column the first query did not read: joined again, kept anew.
    for (const sql of [`SELECT p.region, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2022 GROUP BY p.region`, `SELECT p.region, COUNT(*) AS n, SUM(i.income) AS total ${PREFIX} GROUP BY p.region`]) {
      assert.equal(keptJoinInputs(planJoinSql(sql, datasets(), regs.codeLists)) === first.made[0]!.signature, sql.includes('2023'), sql);
      const again = await runKept(sql, first.made);
      assert.ok(again.made.every(Boolean), `${sql}: joined again and kept`);
      assertVisibleCellsEqual(sql, again.jp.plan.keys.length, again.result.rows!, db.query(sql), 'n', K);
    }
  });

  it('is not kept where the joined rows depend on more than the registers and conditions (window functions, a row restriction)', () => {
    const jp = planJoinSql(`WITH s AS (SELECT person_id, region, admission_date, LAG(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date) AS prev FROM contacts)
      SELECT s.region, COUNT(*) AS n FROM population p JOIN s ON s.person_id = p.person_id GROUP BY s.region`, datasets(), regs.codeLists);
    assert.equal(keptJoinInputs(jp), null);
    const plain = planJoinSql(NUM, datasets(), regs.codeLists);
    assert.equal(keptJoinInputs(plain, { restrict: { input: null as never, usable: null as never } }), null);
  });
});
