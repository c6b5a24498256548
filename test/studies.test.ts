// The main job's example studies, on generated registers: MPC (three parties in one process)
// against SQLite on the same rows, cell by cell, with small-cell suppression applied to the
// plaintext answer. Also covers src/query/plaintext.ts on the real register schemas.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { STUDIES } from '../src/demo/studies.js';
import { parseQuery, planAnyQuery, runJoinQuery, runQuery } from '../src/query/index.js';
import { PlainDatabase } from '../src/query/plaintext.js';
import { run3 } from './harness.js';

const K = 5;
let regs: Registers;
let db: PlainDatabase;

before(async () => {
  regs = generateRegisters({ citizens: 3000, seed: 7 });
  db = await PlainDatabase.create(regs.all, regs.codeLists);
});

function sharesOf(dataset: string, columns: string[]): AShare[][] {
  const reg = regs.all.find((r) => r.schema.name === dataset)!;
  return columns.map((c) => splitShares(reg.columns.get(c)!));
}

async function mpc(dataset: string, sql: string) {
  const { plan, join } = planAnyQuery(parseQuery(sql), new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }])));
  // Over one register, or several joined on the person id (every table's columns by its alias).
  const reads = join ? join.tables.map((t) => [t.alias, t.dataset.name, t.reads] as const) : [[dataset, dataset, plan.columns] as const];
  const shares = reads.map(([, name, cols]) => sharesOf(name, [...cols]));
  const [r0, r1, r2] = await run3((p) => {
    const cols = reads.map(([, , names], k) => new Map(names.map((c, i) => [c, shares[k]![i]![p.id]!])));
    return join ? runJoinQuery(p, join, new Map(reads.map(([alias], k) => [alias, cols[k]!])), { minCellSize: K }) : runQuery(p, plan, cols[0]!, { minCellSize: K });
  });
  assert.deepEqual(r1, r0);
  assert.deepEqual(r2, r0);
  return { plan, result: r0 };
}

describe('example studies on generated registers: MPC equals SQLite', () => {
  for (const study of STUDIES) {
    it(study.title, async () => {
      const queries = [{ dataset: study.dataset, sql: study.sql }, ...(study.denominator ? [study.denominator] : [])];
      for (const q of queries) {
        const { plan, result } = await mpc(q.dataset, q.sql);
        const want = db.query(q.sql);
        const nKeys = plan.keys.length;
        const countCol = want.columns.findIndex((c) => /count/i.test(c) || ['persons', 'contacts', 'prescriptions', 'population'].includes(c));
        const key = (row: unknown[]) => row.slice(0, nKeys).map(String).join('|');
        const visible = want.rows.filter((r) => Number(r[countCol]) >= K);
        const got = new Map(result.rows!.map((r) => [key(r), r]));
        assert.equal(result.rows!.length, visible.length, `${q.sql}: visible cells`);
        for (const w of visible) {
          const g = got.get(key(w));
          assert.ok(g, `${q.sql}: cell ${key(w)} missing`);
          w.forEach((v, i) => {
            if (typeof v === 'number' && !Number.isInteger(v)) assert.ok(Math.abs(Number(g![i]) - v) <= 1e-3 + 1e-4 * Math.abs(v), `${key(w)} col ${i}: ${g![i]} vs ${v}`);
            else assert.equal(String(g![i]), String(v), `${key(w)} col ${i}`);
          });
        }
        // Every cell the plaintext has below the threshold is reported suppressed, not shown.
        const small = want.rows.filter((r) => Number(r[countCol]) < K).length;
        assert.ok(result.suppressedCount >= small, `${q.sql}: ${small} small cells, ${result.suppressedCount} suppressed`);
      }
    });
  }
});
