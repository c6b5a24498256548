// EXISTS flags kept per FROM row (src/query/exists-flags.ts): a query run with its EXISTS's flag
// made by the join of the two registers alone, then riding as a column of FROM, equals the same
// query joined as written and SQLite; which EXISTS qualify.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { keptExistsOf, withExistsFlags } from '../src/query/exists-flags.js';
import { planJoinSql, runJoinQuery } from '../src/query/index.js';
import { PlainDatabase } from '../src/query/plaintext.js';
import { run3 } from './harness.js';
import { inPersonOrderRegisters, RegisterShares } from './register-shares.js';
import { assertVisibleCellsEqual } from './sqlite-cells.js';

const K = 5;
let regs: Registers;
let db: PlainDatabase;
const shares = new RegisterShares(() => regs);

before(async () => {
  regs = generateRegisters({ citizens: 1500, seed: 23, incomeYears: [2022, 2023] });
  db = await PlainDatabase.create(regs.all, regs.codeLists);
});

const datasets = () => new Map(regs.all.map((r) => [r.schema.name, r.schema]));

// The same registers as their custodians upload them: rows in person-id order, so that the flags
// are made by the merge network alone (src/mpc/semi-merge.ts).
let ordered: Registers;
const orderedShares = new RegisterShares(() => ordered);
const sortedBy = new Map<string, string>();
before(() => (ordered = inPersonOrderRegisters(regs, sortedBy)));

/** The query at three parties: as written, and with every EXISTS whose flag can be kept made first and kept. */
async function both(sql: string) {
  const jp = planJoinSql(sql, datasets(), regs.codeLists);
  const ks = keptExistsOf(jp);
  const out = await run3(async (p) => {
    const tables = shares.tables(jp, p.id);
    const asWritten = await runJoinQuery(p, jp, tables, { minCellSize: K });
    const kept = await withExistsFlags(p, jp, tables);
    const withFlags = await runJoinQuery(p, kept.jp, kept.tables, { minCellSize: K });
    return { asWritten, withFlags, tables: kept.jp.tables.length };
  });
  assert.deepEqual(out[1], out[0]);
  assert.deepEqual(out[2], out[0]);
  return { jp, ks, ...out[0] };
}

describe('EXISTS flags kept per FROM row', () => {
  const queries = [
    // The main job's prevalence study: after the flag, a query over population alone.
    "SELECT p.region, p.sex, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.region, p.sex",
    // Beside an inner join with one row per person after its filter (income of one year).
    "SELECT i.income_quintile, COUNT(*) AS n FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY i.income_quintile",
    // NOT EXISTS with FROM's own condition, and two EXISTS (one kept per register and condition).
    "SELECT p.sex, COUNT(*) AS n FROM population p WHERE p.birth_date < '1960-01-01' AND NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'N02%') GROUP BY p.sex",
    "SELECT p.region, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') OR NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id) GROUP BY p.region",
    // Beside the many side (contacts joined for its rows) and a LEFT JOIN.
    "SELECT c.hospital, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id LEFT JOIN deaths d ON d.person_id = p.person_id WHERE d.person_id IS NULL AND EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'A10%') GROUP BY c.hospital",
  ];
  for (const sql of queries.slice(0, 4)) {
    it(`registers in person order, flags by the merge network alone: equals the join as written and SQLite: ${sql.slice(70, 170)}…`, async () => {
      const jp = planJoinSql(sql, datasets(), regs.codeLists);
      const inOrder = planJoinSql(sql, datasets(), regs.codeLists, { sortedBy });
      const steps: string[] = [];
      const out = await run3(async (p) => {
        const asWritten = await runJoinQuery(p, jp, shares.tables(jp, p.id), { minCellSize: K });
        const kept = await withExistsFlags(p, inOrder, orderedShares.tables(inOrder, p.id), { trace: (what) => p.id === 0 && steps.push(what) });
        return { asWritten, withFlags: await runJoinQuery(p, kept.jp, kept.tables, { minCellSize: K }) };
      });
      assert.ok(steps.includes('join: the EXISTS by the merge network'), `made by the merge network: ${steps.join('; ')}`);
      assert.ok(!steps.some((s) => s.startsWith('join: before')), 'no permutation (no line-up)');
      for (const o of out) {
        assert.deepEqual(o.withFlags.rows, out[0].asWritten.rows);
        assert.deepEqual(o.withFlags.suppressed, out[0].asWritten.suppressed);
      }
      assertVisibleCellsEqual(sql, jp.plan.keys.length, out[0].withFlags.rows!, db.query(sql), 'n', K);
    });
  }

  for (const sql of queries) {
    it(`equals the join as written and SQLite: ${sql.slice(0, 110)}…`, async () => {
      const { jp, ks, asWritten, withFlags, tables } = await both(sql);
      const semis = jp.tables.filter((t) => t.kind === 'semi').length;
      assert.equal(ks.length, semis, 'every EXISTS here can be kept');
      assert.equal(tables, jp.tables.length - semis, 'the EXISTS registers are no longer joined');
      assert.deepEqual(withFlags.rows, asWritten.rows);
      assert.deepEqual(withFlags.suppressed, asWritten.suppressed);
      assertVisibleCellsEqual(sql, jp.plan.keys.length, withFlags.rows!, db.query(sql), 'n', K);
    });
  }

  it('only where the flag is per person and FROM row: not with a date window, a folded EXISTS, or FROM without a unique person id', () => {
    const plan = (sql: string) => planJoinSql(sql, datasets(), regs.codeLists);
    const simple = plan("SELECT COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%')");
    assert.equal(keptExistsOf(simple).length, 1);
    assert.match(keptExistsOf(simple)[0]!.signature, /^population\.person_id ⋉ contacts\.person_id WHERE diagnosis LIKE 'E11%'$/);
    // FROM contacts: many rows per person (and the EXISTS over the same register is folded).
    assert.equal(keptExistsOf(plan("SELECT COUNT(*) FROM contacts c WHERE EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = c.person_id)")).length, 0);
    assert.equal(keptExistsOf(plan("SELECT COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE c.person_id IN (SELECT person_id FROM contacts WHERE diagnosis LIKE 'E11%')")).length, 0);
    // FROM income: one row per person only after its filter.
    assert.equal(keptExistsOf(plan("SELECT COUNT(*) FROM income i WHERE i.year = 2023 AND EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = i.person_id)")).length, 0);
    assert.equal(keptExistsOf(plan(`SELECT COUNT(*) FROM population p WHERE EXISTS (SELECT 1 FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id
      WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%' AND r.atc LIKE 'A10%' AND r.date BETWEEN c.admission_date AND c.admission_date + 365)`)).length, 0);
  });
});
