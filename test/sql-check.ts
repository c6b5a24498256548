// Running SQL in MPC (three parties in one process, every query through the join path on the
// person id, as the nodes run it) beside SQLite on the same generated registers: the SQL tests'
// shared harness (test/sql-*.test.ts).
import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { CodeList } from '../src/ingest/schema.js';
import { generateRegisters, type GenerateOptions, type Register, type Registers } from '../src/demo/registers.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { planJoinSql, runJoinQuery, type JoinPlan, type JoinRunOptions, type QueryResult } from '../src/query/index.js';
import { PlainDatabase, type PlainResult } from '../src/query/plaintext.js';
import { run3 } from './harness.js';
import { assertVisibleCellsEqual } from './sqlite-cells.js';

export interface SqlCheck {
  db: PlainDatabase;
  plan(sql: string): JoinPlan;
  /** Runs in MPC at three parties; the three results must agree. */
  run(sql: string, opts?: JoinRunOptions): Promise<QueryResult>;
  /** MPC equals SQLite (`plainSql`, default the same text) on every cell counting at least K in `countCol`. */
  same(sql: string, countCol?: string, plainSql?: string): Promise<QueryResult>;
  /** SQLite's answer. */
  plain(sql: string): PlainResult;
}

/** A checker over these registers; cells of fewer than `K` rows (or persons) are suppressed. */
export async function sqlCheck(registers: Register[], codeLists: Map<string, CodeList>, K = 5): Promise<SqlCheck> {
  const db = await PlainDatabase.create(registers, codeLists);
  const shares = new Map<string, [AShare, AShare, AShare]>();
  const shareOf = (table: string, col: string): [AShare, AShare, AShare] => {
    const k = `${table}.${col}`;
    if (!shares.has(k)) shares.set(k, splitShares(registers.find((r) => r.schema.name === table)!.columns.get(col)!));
    return shares.get(k)!;
  };
  const datasets = new Map(registers.map((r) => [r.schema.name, r.schema]));
  const plan = (sql: string) => planJoinSql(sql, datasets, codeLists, { personKey: true });
  const run = async (sql: string, opts: JoinRunOptions = {}) => {
    const jp = plan(sql);
    const rs = await run3((p) => {
      const tables = new Map(jp.tables.map((t) => [t.alias, new Map(t.reads.map((c) => [c, shareOf(t.dataset.name, c)[p.id]!]))]));
      return runJoinQuery(p, jp, tables, { minCellSize: K, ...opts });
    });
    assert.deepEqual(rs[1], rs[0]);
    assert.deepEqual(rs[2], rs[0]);
    return rs[0];
  };
  return {
    db,
    plan,
    run,
    plain: (sql) => db.query(sql),
    async same(sql, countCol = 'n', plainSql = sql) {
      const r = await run(sql);
      assertVisibleCellsEqual(sql, plan(sql).plan.keys.length, r.rows!, db.query(plainSql), countCol, K);
      return r;
    },
  };
}

/** A register cut down to the rows `idx` (empty, one row, …), for edge cases. */
export function subset(r: Register, idx: number[]): Register {
  const pick = <T extends { length: number; [i: number]: unknown }>(c: T, make: (n: number) => T): T => {
    const out = make(idx.length);
    idx.forEach((i, k) => (out[k] = c[i]));
    return out;
  };
  return {
    schema: r.schema,
    length: idx.length,
    columns: new Map([...r.columns].map(([k, c]) => [k, pick(c, (n) => new BigUint64Array(n))])),
    plain: new Map([...r.plain].map(([k, c]) => [k, c instanceof Int32Array ? pick(c, (n) => new Int32Array(n)) : pick(c, (n) => new Float64Array(n))])),
  };
}

/** Generated registers and a checker over them, made in a `before` hook of the calling test file. */
export function sqlFixture(opts: GenerateOptions, K = 5): { regs: Registers; check: SqlCheck } {
  const f = {} as { regs: Registers; check: SqlCheck };
  before(async () => {
    f.regs = generateRegisters(opts);
    f.check = await sqlCheck(f.regs.all, f.regs.codeLists, K);
  });
  return f;
}

/** The rows of `r` that are the first of their (person, `day`): same-day ties removed. */
export function firstPerDay(r: Register, day: string): Register {
  const pid = r.plain.get('person_id')!, d = r.plain.get(day)!;
  const seen = new Set<string>();
  const keep: number[] = [];
  for (let i = 0; i < r.length; i++) if (!seen.has(`${pid[i]}|${d[i]}`)) (seen.add(`${pid[i]}|${d[i]}`), keep.push(i));
  return subset(r, keep);
}
