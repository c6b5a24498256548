// Output protection inside the query engine (src/query/dp.ts, contribution.ts, execute.ts), against
// SQLite on the same synthetic registers (src/query/plaintext.ts):
//   - clamped aggregates (LEAST/GREATEST) are exact in MPC without noise: one register, decimals,
//     variances, a join, and the sort-based GROUP BY over many cells; bad clamps fail at plan time;
//   - contribution bounds (rows per person) from the schemas: unique person ids, maxRowsPerPerson,
//     composite keys fixed by a filter, joins (many side, LEFT JOIN, EXISTS), and the refusals:
//     no person id, nothing declared, a one-row-per-person test in MPC, MIN/MAX, unbounded sums;
//   - what is noised and how: the ε split, sensitivities, lattices, costs (Laplace and Gaussian);
//   - protected runs in 3-party MPC: the released values differ from the exact ones by noise of
//     the stated spread (many cells with known counts and sums), AVG/VARIANCE/STDDEV are computed
//     from the noisy sums (checked from the released row), suppression and HAVING see noisy values,
//     joins and the Gaussian run;
//   - what the requester reads: protectionErrors (exact for COUNT/SUM, delta method checked by
//     simulation for AVG) and protectionText.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { type DatasetSchema, encodeValue } from '../src/ingest/schema.js';
import { geometricSd, type GeometricTable } from '../src/mpc/geometric-noise.js';
import { splitShares } from '../src/mpc/share.js';
import {
  contributionBound, noiseForPlan, parseQuery, planAnyQuery, planSql, protectionErrors, protectionText, QueryError, runJoinQuery, runQuery,
  type PlanNoise, type QueryResult,
} from '../src/query/index.js';
import { PlainDatabase } from '../src/query/plaintext.js';
import { usesOfJoinPlan, usesOfPlan } from '../src/governance/plan-uses.js';
import { run3 } from './harness.js';
import { RegisterShares } from './register-shares.js';

const K = 5;
let regs: Registers;
let db: PlainDatabase;
const shares = new RegisterShares(() => regs);
const shareOf = (table: string, col: string) => shares.of(table, col);

before(async () => {
  regs = generateRegisters({ citizens: 2500, seed: 5, incomeYears: [2022, 2023] });
  db = await PlainDatabase.create(regs.all, regs.codeLists);
});

const datasets = () => new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }]));
const planned = (sql: string) => planAnyQuery(parseQuery(sql), datasets());


/** Runs a query over the registers in 3-party MPC (optionally protected); every party gets the same result. */
async function mpc(sql: string, opts: { noise?: PlanNoise; minCellSize?: number } = {}): Promise<{ plan: ReturnType<typeof planned>['plan']; result: QueryResult }> {
  const { plan, join } = planned(sql);
  const [r0, r1, r2] = await run3((p) => {
    const o = { minCellSize: opts.minCellSize ?? K, ...(opts.noise ? { noise: opts.noise } : {}) };
    if (!join) return runQuery(p, plan, new Map(plan.columns.map((c) => [c, shareOf(plan.dataset.name, c)[p.id]!])), o);
    const tables = shares.tables(join, p.id);
    return runJoinQuery(p, join, tables, o);
  });
  assert.deepEqual(r1, r0);
  assert.deepEqual(r2, r0);
  return { plan, result: r0 };
}

/** Without noise: MPC equals SQLite on every cell with at least K rows (the count is output `countCol`). */
async function same(sql: string, countCol = 'n'): Promise<void> {
  const { plan, result } = await mpc(sql);
  const want = db.query(sql);
  const nKeys = plan.keys.length;
  const ci = want.columns.indexOf(countCol);
  assert.ok(ci >= 0, `the test query names its count ${countCol}`);
  const key = (row: unknown[]) => row.slice(0, nKeys).map(String).join('|');
  const visible = want.rows.filter((r) => Number(r[ci]) >= K);
  assert.ok(visible.length > 0, `${sql}: the test data gives visible cells`);
  assert.equal(result.rows!.length, visible.length, `${sql}: visible cells`);
  const got = new Map(result.rows!.map((r) => [key(r), r]));
  for (const w of visible) {
    const g = got.get(key(w));
    assert.ok(g, `${sql}: cell ${key(w)} missing`);
    w.forEach((v, i) => {
      if (typeof v === 'number' && (!Number.isInteger(v) || !Number.isInteger(Number(g![i])))) assert.ok(Math.abs(Number(g![i]) - v) <= 1e-3 + 1e-4 * Math.abs(v), `${sql}: ${key(w)} col ${i}: ${g![i]} vs ${v}`);
      else assert.equal(String(g![i]), String(v), `${sql}: cell ${key(w)} column ${want.columns[i]}`);
    });
  }
}

const refused = (sql: string, re: RegExp, dp: { mechanism: 'laplace' | 'gaussian'; epsilon: number; delta?: number } = { mechanism: 'laplace', epsilon: 1 }) => {
  const { plan, join } = planned(sql);
  assert.throws(() => noiseForPlan(plan, join, dp), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
};

describe('clamped aggregates (LEAST/GREATEST): exact in MPC, as SQLite', () => {
  it('int column, both sides and one side, either argument order', () =>
    same(`SELECT education, COUNT(*) AS n, SUM(LEAST(income, 400000)) AS s, AVG(GREATEST(LEAST(income, 400000), 100000)) AS a,
          SUM(LEAST(2000000, GREATEST(0, income))) AS s2, AVG(GREATEST(income, 250000)) AS a2 FROM income WHERE year = 2023 GROUP BY education`));

  it('decimal column (fixed point) and a bool column', () =>
    same(`SELECT region, COUNT(*) AS n, SUM(LEAST(amount, 90.5)) AS s, AVG(GREATEST(amount, 20.25)) AS a FROM prescriptions GROUP BY region`));

  it('variance and standard deviation of a clamped column', () =>
    same(`SELECT sex, COUNT(*) AS n, VARIANCE(LEAST(length_of_stay, 10)) AS v, STDDEV_POP(LEAST(length_of_stay, 10)) AS sd,
          SUM(LEAST(first_in_category, 0)) AS z FROM contacts GROUP BY sex`));

  it('variance of a wide int column (income: scaled to x/2^k inside MPC, issue 12), clamped and not', () =>
    same(`SELECT education, COUNT(*) AS n, VARIANCE(LEAST(GREATEST(income, 0), 2000000)) AS v, STDDEV(income) AS sd, VAR_POP(income) AS vp
          FROM income WHERE year = 2023 GROUP BY education`));

  it('over joined registers', () =>
    same(`SELECT p.region, COUNT(*) AS n, AVG(LEAST(i.income, 500000)) AS a, SUM(GREATEST(c.length_of_stay, 2)) AS d FROM population p
          JOIN income i ON i.person_id = p.person_id AND i.year = 2023 JOIN contacts c ON c.person_id = p.person_id GROUP BY p.region`));

  it('many cells (grouped by sorting)', () =>
    same(`SELECT age_band, region, education, COUNT(*) AS n, SUM(LEAST(income, 300000)) AS s FROM income WHERE year = 2023
          GROUP BY age_band, region, education`));

  it('bad clamps fail at plan time, before any MPC', () => {
    const bad: [string, RegExp][] = [
      ['SELECT SUM(LEAST(region, 2)) FROM income', /LEAST\/GREATEST clamp numeric columns; 'region' is code/],
      ['SELECT SUM(LEAST(income, 2.5)) FROM income', /'income' is int, so its clamp bounds must be integers, not 2\.5/],
      ['SELECT COUNT(LEAST(income, 2)) FROM income', /COUNT counts rows; LEAST and GREATEST apply inside SUM, AVG, VARIANCE and STDDEV/],
      ['SELECT MAX(LEAST(income, 2)) FROM income', /MAX of LEAST\/GREATEST is not supported/],
      ['SELECT SUM(LEAST(income, year)) FROM income', /needs a number literal on one side and the column on the other/],
      ['SELECT SUM(LEAST(income, 1, 2)) FROM income', /two arguments/],
    ];
    for (const [sql, re] of bad) assert.throws(() => planned(sql), (e: unknown) => e instanceof QueryError && re.test(e.message), sql);
    // Policies see the column a clamp reads (src/governance/plan-uses.ts).
    const one = planned('SELECT SUM(LEAST(income, 9)) FROM income');
    assert.deepEqual(usesOfPlan(one.plan).filter((u) => u.role === 'aggregate'), [{ dataset: 'income', column: 'income', role: 'aggregate', aggregate: 'sum' }]);
    const joined = planned('SELECT p.sex, AVG(LEAST(i.income, 9)) FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY p.sex');
    assert.ok(usesOfJoinPlan(joined.join!).some((u) => u.dataset === 'income' && u.column === 'income' && u.role === 'aggregate' && u.aggregate === 'avg'));
    // A clamp tight enough makes the variance possible.
    assert.ok(planned('SELECT VARIANCE(LEAST(GREATEST(income, 0), 30000)) FROM income').plan.clamps.length === 1);
  });
});

describe('contribution bounds: rows per person from the schemas', () => {
  const R = (sql: string) => {
    const { plan, join } = planned(sql);
    return contributionBound(plan, join);
  };
  it('one register: unique person id, maxRowsPerPerson, a key the filter fixes, a key whose free columns have a bounded domain', () => {
    assert.equal(R('SELECT sex, COUNT(*) FROM population GROUP BY sex'), 1);
    assert.equal(R('SELECT sex, COUNT(*) FROM contacts GROUP BY sex'), 64);
    assert.equal(R('SELECT sex, COUNT(*) FROM prescriptions GROUP BY sex'), 128);
    assert.equal(R('SELECT sex, COUNT(*) FROM income GROUP BY sex'), 3, 'keys (person_id, year), year in 2022..2024');
    assert.equal(R('SELECT sex, COUNT(*) FROM income WHERE year = 2023 GROUP BY sex'), 1);
    assert.equal(R("SELECT sex, COUNT(*) FROM income WHERE year IN (2023) AND sex = 'F' GROUP BY sex"), 1);
    assert.equal(R('SELECT sex, COUNT(*) FROM income WHERE year = 2023 OR year = 2022 GROUP BY sex'), 3, 'an OR fixes nothing');
  });
  it('joins: the many side bounds the joined rows; EXISTS and date windows add nothing; a key fixed in ON makes a table one row per person without a test in MPC', () => {
    assert.equal(R('SELECT p.sex, COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex'), 64);
    assert.equal(R('SELECT p.sex, COUNT(*) FROM population p LEFT JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex'), 64);
    assert.equal(R("SELECT p.sex, COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.sex"), 1);
    assert.equal(R(`SELECT p.sex, COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id
      WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%' AND r.atc LIKE 'A10%' AND r.date BETWEEN c.admission_date AND c.admission_date + 365) GROUP BY p.sex`), 1);
    const { join } = planned('SELECT p.sex, COUNT(*) FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY p.sex');
    assert.equal(join!.tables[1]!.unique, true, 'declared by the key, no MPC check');
    assert.equal(R('SELECT p.sex, COUNT(*) FROM population p JOIN income i ON i.person_id = p.person_id WHERE i.year = 2022 GROUP BY p.sex'), 1);
    assert.equal(R('SELECT p.sex, COUNT(*) FROM population p JOIN income i ON i.person_id = p.person_id GROUP BY p.sex'), 3, 'income the many side, 3 years');
  });
  it('a table made one row per person by a filter that fixes no key column is checked in MPC: exact without noise, refused with noise (plan and run)', async () => {
    const sql = `SELECT p.sex, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id
      JOIN income i ON i.person_id = p.person_id AND i.year >= 2023 GROUP BY p.sex`;
    assert.equal(planned(sql).join!.tables[2]!.unique, 'check');
    await same(sql);
    refused(sql, /income must have one row per person to be joined, which would be tested inside MPC/);
    const other = planned('SELECT p.sex, COUNT(*) AS n FROM population p GROUP BY p.sex');
    await assert.rejects(mpc(sql, { noise: noiseForPlan(other.plan, other.join, { mechanism: 'laplace', epsilon: 1 }) }), /income would be tested for one row per person inside MPC/);
  });

  it('refuses, saying what to declare: no person id, nothing declared, a one-row-per-person test in MPC', () => {
    const lists = [...regs.codeLists.values()];
    const custom = (schema: DatasetSchema, sql: string, re: RegExp) => {
      const { plan, join } = planAnyQuery(parseQuery(sql), new Map([[schema.name, { schema, codeLists: lists }]]));
      assert.throws(() => contributionBound(plan, join), (e: unknown) => e instanceof QueryError && re.test(e.message));
    };
    custom({ name: 'labs', custodian: 'x', columns: [{ name: 'value', type: 'int', min: 0, max: 9 }] }, 'SELECT COUNT(*) FROM labs', /labs has no person_id column, so its rows cannot be attributed to persons .* add the person id/);
    custom({ name: 'labs', custodian: 'x', columns: [{ name: 'person_id', type: 'person_id' }, { name: 'value', type: 'int', min: 0, max: 9 }] }, 'SELECT COUNT(*) FROM labs',
      /labs may have any number of rows per person.* declare in the schema of labs either maxRowsPerPerson on person_id .* or a key such as keys: \[\['person_id', 'year'\]\]/);
    // Two registers with many rows per person: refused while planning, before any MPC (sql-many.test.ts); income's MPC check: above.
    assert.throws(() => planned('SELECT p.sex, COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id JOIN prescriptions r ON r.person_id = p.person_id GROUP BY p.sex'),
      /contacts c and prescriptions r both have many rows per person .* declared with ROW_NUMBER/);
  });
});

describe('what is noised, and how', () => {
  it('COUNT plus each distinct SUM(x) plus each SUM(x²), ε split evenly; sensitivities R, R·B, R·B²; the cost is ε and a tiny δ', () => {
    const { plan, join } = planned(`SELECT sex, COUNT(*) AS n, SUM(LEAST(length_of_stay, 10)) AS s, AVG(LEAST(length_of_stay, 10)) AS a,
      VARIANCE(LEAST(length_of_stay, 10)) AS v, STDDEV(LEAST(length_of_stay, 10)) AS sd FROM contacts GROUP BY sex`);
    const n = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 0.9 });
    assert.deepEqual(n.sums.map((s) => s.text), ['count(*)', 'sum(least(length_of_stay, 10))', 'sum(least(length_of_stay, 10)²)']);
    assert.deepEqual(n.sums.map((s) => s.sensitivity), [64, 640, 6400]);
    assert.equal(n.rowsPerPerson, 64);
    assert.equal(n.cellsPerPerson, 2, 'two cells (sex)');
    for (const s of n.sums) {
      assert.ok(Math.abs(s.epsilon - 0.3) < 1e-12);
      // Lattice: Δ/2^j ≥ 64·(2m − 1) and Δ′ = ⌈Δ/2^j⌉ + 2m − 1 (or Δ without rounding).
      assert.equal(s.latticeSensitivity, s.latticeBits ? Math.ceil(s.sensitivity / 2 ** s.latticeBits) + 3 : s.sensitivity);
      assert.ok(s.sensitivity / 2 ** s.latticeBits >= 64 * 3 || s.latticeBits === 0);
      assert.ok(Math.abs((s.sampler as GeometricTable).scale / (s.latticeSensitivity / 0.3) - 1) < 1e-9, 'scale Δ′/ε_k');
    }
    assert.equal(n.sums[2]!.latticeBits, 5, '6400 / 2^5 = 200 ≥ 192');
    assert.ok(Math.abs(n.cost.epsilon - 0.9) < 1e-12);
    assert.ok(n.cost.delta > 0 && n.cost.delta < 1e-14, `δ ${n.cost.delta}`);
  });
  it('decimals: the sum of 2^16-scaled values on a coarser lattice; the cells one person reaches are min(R, cells)', () => {
    const { plan, join } = planned('SELECT region, age_band, COUNT(*) AS n, SUM(amount) AS s FROM prescriptions GROUP BY region, age_band');
    const n = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 1 });
    assert.equal(n.cellsPerPerson, 90);
    const s = n.sums[1]!;
    assert.equal(s.sensitivity, 128 * 1000 * 2 ** 16);
    assert.ok(s.latticeBits > 0 && s.sensitivity / 2 ** s.latticeBits >= 64 * 179 && s.sensitivity / 2 ** s.latticeBits < 128 * 179);
  });
  it('refuses MIN/MAX (with the histogram alternative) and unbounded sums (with the clamp to write); the Gaussian needs a delta', () => {
    refused('SELECT region, COUNT(*), MAX(birth_date) FROM population GROUP BY region', /max\(birth_date\) releases one person's exact value .* noisy histogram instead, e\.g\. COUNT\(\*\) … GROUP BY a range of birth_date/);
    refused('SELECT MIN(income) FROM income WHERE year = 2023', /min\(income\) releases one person's exact value/);
    const schema: DatasetSchema = { name: 'labs', custodian: 'x', columns: [{ name: 'person_id', type: 'person_id', unique: true }, { name: 'value', type: 'int' }, { name: 'low', type: 'int', max: 5 }] };
    const plan = (sql: string) => planAnyQuery(parseQuery(sql), new Map([['labs', { schema, codeLists: [] }]]));
    const q = plan('SELECT SUM(value) FROM labs');
    assert.throws(() => noiseForPlan(q.plan, q.join, { mechanism: 'laplace', epsilon: 1 }), /SUM, AVG, VARIANCE and STDDEV of value need bounds .* no declared min and max: clamp it in the query, e\.g\. SUM\(LEAST\(GREATEST\(value, 0\), 1000000\)\)/);
    const q2 = plan('SELECT AVG(LEAST(low, 3)) FROM labs');
    assert.throws(() => noiseForPlan(q2.plan, q2.join, { mechanism: 'laplace', epsilon: 1 }), /low has no declared min/);
    const q3 = plan('SELECT AVG(LEAST(GREATEST(value, -5), 7)) FROM labs');
    assert.equal(noiseForPlan(q3.plan, q3.join, { mechanism: 'laplace', epsilon: 1 }).sums[1]!.sensitivity, 7);
    refused('SELECT sex, COUNT(*) FROM population GROUP BY sex', /needs a per-query delta/, { mechanism: 'gaussian', epsilon: 1 });
    refused('SELECT sex, SUM(amount) FROM prescriptions GROUP BY sex', /cannot be sampled .*use a larger epsilon or narrower bounds/, { mechanism: 'laplace', epsilon: 1e-12 });
  });
  it('the Gaussian: lattice keeps the inverse-CDF sampler small; the cost is the zCDP target plus the table\'s distance', () => {
    const { plan, join } = planned('SELECT education, COUNT(*) AS n, SUM(LEAST(income, 1000000)) AS s FROM income WHERE year = 2023 GROUP BY education');
    const n = noiseForPlan(plan, join, { mechanism: 'gaussian', epsilon: 1, delta: 1e-6 });
    const t = n.sums[1]!.sampler as { K: number };
    assert.ok(t.K <= 1100, `K = ${t.K}`);
    assert.ok(n.sums[1]!.latticeBits > 10);
    assert.ok(n.cost.delta <= 1e-6 && Math.abs(n.cost.epsilon - 1) < 1e-12, `${JSON.stringify(n.cost)}`);
    const c = planned('SELECT sex, COUNT(*) FROM contacts GROUP BY sex');
    const nc = noiseForPlan(c.plan, c.join, { mechanism: 'gaussian', epsilon: 1, delta: 1e-6 });
    assert.ok(nc.cost.delta > 1e-6 && nc.cost.delta < 1.01e-6, 'two cells per person: the target plus the truncation');
  });
});

describe('protected runs (3-party MPC)', () => {
  it('AVG, VARIANCE and STDDEV are computed from the noisy sums (checked on the released row); suppression sees noisy counts', async () => {
    const sql = `SELECT age_band, COUNT(*) AS n, SUM(LEAST(length_of_stay, 20)) AS s, AVG(LEAST(length_of_stay, 20)) AS a,
      VAR_POP(LEAST(length_of_stay, 20)) AS vp, VAR_SAMP(LEAST(length_of_stay, 20)) AS vs, STDDEV_POP(LEAST(length_of_stay, 20)) AS sp FROM contacts GROUP BY age_band`;
    const { plan, join } = planned(sql);
    const noise = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 2 });
    const { result } = await mpc(sql, { noise });
    const exact = new Map(db.query(sql).rows.map((r) => [String(r[0]), r]));
    let differs = 0;
    for (const [band, n, s, a, vp, vs, sp] of result.rows! as [string, number, number, number, number, number, number][]) {
      const w = exact.get(band)!;
      assert.ok(n >= K, 'visible cells have a noisy count ≥ K');
      assert.ok(Number.isInteger(n) && Math.abs(n - Number(w[1])) <= 12 * noise.sums[0]!.half95, `count ${n} vs ${w[1]}`);
      if (n !== Number(w[1])) differs++;
      assert.ok(Math.abs(a - s / n) <= 1e-3 + 1e-5 * Math.abs(s / n), `AVG ${a} = noisy SUM / noisy COUNT ${s / n}`);
      assert.ok(vp >= 0, 'a variance is clamped at 0');
      assert.ok(Math.abs(vs - (vp * n) / (n - 1)) <= 2e-3 + 1e-4 * vs, `VAR_SAMP ${vs} = VAR_POP·N/(N−1)`);
      assert.ok(Math.abs(sp - Math.sqrt(vp)) <= 2e-3 + 1e-4 * sp, `STDDEV ${sp} = √VAR_POP`);
    }
    assert.ok(differs > 0, 'counts are noisy');
    const errors = protectionErrors(plan, noise, result.rows![0]!);
    assert.equal(errors[0]!.sd, 0, 'group key');
    assert.equal(errors[1]!.sd, noise.sums[0]!.sd);
    assert.ok(errors.slice(3).every((e) => Number.isFinite(e.sd) && e.sd > 0), JSON.stringify(errors));
  });

  it('HAVING compares noisy values; released sums lie on their lattice', async () => {
    const sql = 'SELECT region, COUNT(*) AS n, SUM(amount) AS s FROM prescriptions GROUP BY region HAVING COUNT(*) > 3000';
    const { plan, join } = planned(sql);
    const noise = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 1 });
    const { result } = await mpc(sql, { noise });
    const j = noise.sums[1]!.latticeBits;
    assert.ok(j > 0);
    for (const [, n, s] of result.rows! as [string, number, number][]) {
      assert.ok(n > 3000);
      assert.ok((s * 2 ** 16) % 2 ** j === 0, `sum ${s} is a multiple of 2^${j - 16}`);
    }
  });

  it('joined registers, protected: the error of each count and clamped sum is of the stated size', async () => {
    const sql = `SELECT p.region, COUNT(*) AS n, SUM(LEAST(i.income, 600000)) AS s, AVG(LEAST(i.income, 600000)) AS a FROM population p
      JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY p.region`;
    const { plan, join } = planned(sql);
    const noise = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 0.5 });
    assert.equal(noise.rowsPerPerson, 1);
    const { result } = await mpc(sql, { noise });
    const exact = new Map(db.query(sql).rows.map((r) => [String(r[0]), r]));
    for (const [region, n, s, a] of result.rows! as [string, number, number, number][]) {
      const w = exact.get(region)!;
      assert.ok(Math.abs(n - Number(w[1])) <= 12 * noise.sums[0]!.half95);
      assert.ok(Math.abs(s - Number(w[2])) <= 12 * noise.sums[1]!.half95, `sum ${s} vs ${w[2]} (± ${noise.sums[1]!.half95})`);
      assert.ok(Math.abs(a - s / n) <= 1e-3 + 1e-5 * Math.abs(a));
    }
  });

  it('many cells with known counts and sums: the errors have mean 0 and the stated standard deviation (sort-based grouping)', async () => {
    // 1 024 cells, 40 rows each, one row per person; x = a decimal in [0, 100].
    const schema: DatasetSchema = {
      name: 'cells', custodian: 'test', columns: [
        { name: 'person_id', type: 'person_id', unique: true }, { name: 'cell', type: 'int', min: 0, max: 255 }, { name: 'g', type: 'int', min: 0, max: 3 }, { name: 'x', type: 'decimal', min: 0, max: 100 },
      ],
    };
    const G = 1024, per = 40, n = G * per;
    const x = Array.from({ length: n }, (_, i) => ((i * 7919) % 10000) / 100);
    const cols = new Map([
      ['person_id', Array.from({ length: n }, (_, i) => String(1000000 + i))],
      ['cell', Array.from({ length: n }, (_, i) => String(Math.floor(i / per) % 256))],
      ['g', Array.from({ length: n }, (_, i) => String(Math.floor(i / per / 256)))],
      ['x', x.map(String)],
    ]);
    const enc = new Map([...cols].map(([c, v]) => [c, splitShares(BigUint64Array.from(v.map((t) => encodeValue(schema.columns.find((s) => s.name === c)!, t, new Map()))))]));
    const exactSum = new Float64Array(G);
    x.forEach((v, i) => (exactSum[Math.floor(i / per)]! += Math.round(v * 2 ** 16) / 2 ** 16));
    const plan = planSql('SELECT g, cell, COUNT(*) AS n, SUM(x) AS s FROM cells GROUP BY g, cell', schema, new Map());
    const noise = noiseForPlan(plan, null, { mechanism: 'laplace', epsilon: 1 });
    const [r] = await run3((p) => runQuery(p, plan, new Map([...enc].map(([c, s]) => [c, s[p.id]!])), { minCellSize: 1, noise }));
    assert.equal(r.rows!.length, G, 'no cell suppressed');
    const stats = (v: number[]) => ({ mean: v.reduce((a, b) => a + b, 0) / v.length, sd: Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length) });
    const dc = stats(r.rows!.map((row) => Number(row[2]) - per));
    const ds = stats(r.rows!.map((row) => Number(row[3]) - exactSum[Number(row[0]) * 256 + Number(row[1])]!));
    const sdCount = geometricSd(noise.sums[0]!.sampler as GeometricTable), sdSum = noise.sums[1]!.sd / 2 ** 16;
    assert.equal(noise.sums[0]!.sd, sdCount);
    assert.ok(Math.abs(dc.sd / sdCount - 1) < 0.15, `count errors: sd ${dc.sd} vs ${sdCount}`);
    assert.ok(Math.abs(dc.mean) < (5 * sdCount) / Math.sqrt(G), `count errors: mean ${dc.mean}`);
    assert.ok(Math.abs(ds.sd / sdSum - 1) < 0.15, `sum errors: sd ${ds.sd} vs ${sdSum}`);
    assert.ok(Math.abs(ds.mean) < (5 * sdSum) / Math.sqrt(G), `sum errors: mean ${ds.mean}`);
  });

  it('the discrete Gaussian, and no noise without the option (exact as SQLite)', async () => {
    const sql = 'SELECT sex, COUNT(*) AS n, SUM(LEAST(income, 300000)) AS s FROM income WHERE year = 2022 GROUP BY sex';
    const { plan, join } = planned(sql);
    const noise = noiseForPlan(plan, join, { mechanism: 'gaussian', epsilon: 1, delta: 1e-6 });
    const { result } = await mpc(sql, { noise });
    const exact = new Map(db.query(sql).rows.map((r) => [String(r[0]), r]));
    for (const [sex, n, s] of result.rows! as [string, number, number][]) {
      assert.ok(Math.abs(n - Number(exact.get(sex)![1])) <= 12 * noise.sums[0]!.half95);
      assert.ok(Math.abs(s - Number(exact.get(sex)![2])) <= 12 * noise.sums[1]!.half95);
    }
    await same(sql);
  });

  it('a noise description for another query is refused before any MPC', async () => {
    const a = planned('SELECT sex, COUNT(*) AS n FROM population GROUP BY sex');
    const b = planned('SELECT sex, COUNT(*) AS n, SUM(LEAST(income, 5)) FROM income GROUP BY sex');
    const noise = noiseForPlan(a.plan, a.join, { mechanism: 'laplace', epsilon: 1 });
    await assert.rejects(run3((p) => runQuery(p, b.plan, new Map(b.plan.columns.map((c) => [c, shareOf('income', c)[p.id]!])), { noise })), /the noise description is for the sums count\(\*\), but this query has count\(\*\), sum\(least\(income, 5\)\)/);
  });
});

describe('what the requester reads', () => {
  it('protectionErrors: exact for COUNT and SUM; the delta method for AVG agrees with a simulation; NaN without the cell size', () => {
    const sql = 'SELECT region, COUNT(*) AS n, SUM(LEAST(income, 500000)) AS s, AVG(LEAST(income, 500000)) AS a FROM income WHERE year = 2023 GROUP BY region';
    const { plan, join } = planned(sql);
    const noise = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 0.2 });
    const row = ['Hovedstaden', 2000, 5e8, 2.5e5];
    const e = protectionErrors(plan, noise, row);
    assert.deepEqual(e[0], { sd: 0, half95: 0 });
    assert.deepEqual(e[1], { sd: noise.sums[0]!.sd, half95: noise.sums[0]!.half95 });
    assert.deepEqual(e[2], { sd: noise.sums[1]!.sd, half95: noise.sums[1]!.half95 });
    // Simulate AVG = (S + Z_S)/(N + Z_N) around the row's values, with the noises' own spreads.
    const sdN = noise.sums[0]!.sd, sdS = noise.sums[1]!.sd;
    const lap = (sd: number) => {
      const u = Math.random() - 0.5;
      return (-sd / Math.SQRT2) * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    };
    const sims: number[] = [];
    for (let i = 0; i < 200_000; i++) sims.push((5e8 + lap(sdS)) / (2000 + lap(sdN)));
    const m = sims.reduce((a, b) => a + b, 0) / sims.length;
    const sd = Math.sqrt(sims.reduce((a, b) => a + (b - m) ** 2, 0) / sims.length);
    assert.ok(Math.abs(e[3]!.sd / sd - 1) < 0.1, `delta method ${e[3]!.sd} vs simulated ${sd}`);
    assert.ok(Math.abs(e[3]!.half95 - 1.96 * e[3]!.sd) < 1e-9);
    const noCount = planned('SELECT region, AVG(LEAST(income, 500000)) AS a FROM income WHERE year = 2023 GROUP BY region');
    assert.ok(Number.isNaN(protectionErrors(noCount.plan, noiseForPlan(noCount.plan, noCount.join, { mechanism: 'laplace', epsilon: 1 }), ['Sjælland', 2e5])[1]!.sd));
  });
  it('protectionText says what was added and why', () => {
    const { plan, join } = planned('SELECT region, COUNT(*) AS n, AVG(LEAST(income, 500000)) AS a FROM income WHERE year = 2023 GROUP BY region');
    const text = protectionText(plan, noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 1 }));
    assert.match(text, /^Protected result \(differential privacy ε = 1\): each count ± \d+; each SUM\(least\(income, 500000\)\) ± [\d.]+ \(95 %\)\./);
    assert.match(text, /Discrete Laplace noise was drawn jointly by the three nodes inside MPC .* each person counts with up to 1 row\./);
    assert.match(text, /Averages, variances and standard deviations are computed from the noisy sums/);
    assert.match(text, /Why: so that no query, and no combination of queries .* reveals anything about one person\./);
  });
});
