// What a new user meets (issue 12): re-running `mosaik local-cluster` keeps every node's port (and
// API port), so running nodes stay reachable; `mosaik query --save` into a missing folder is
// refused before anything runs (no request or budget spent); `--json` prints the result, not the
// schemas and code lists; the README's examples query registers that exist; GROUP BY a code column
// with more values than one key's indicators allow plans its cells from the WHERE clause (LIKE 'E11%':
// the E11 codes), or groups by sorting; suppressed cells are said to be empty only where the WHERE
// clause alone empties them, and many small ones are listed on one line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkSavePath, jsonResult, queryCommand, QueryFailed, type RemoteResult } from '../src/cli/query.js';
import { generateRegisters } from '../src/demo/registers.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { parseQuery, tablesOf } from '../src/query/index.js';
import { emptyByFilter, MAX_GROUP_VALUES, planSql } from '../src/query/plan.js';
import { runQuery } from '../src/query/execute.js';
import { formatTable } from '../src/cli/query.js';
import { freshNodes, progressLine } from '../src/cli/studies-demo.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { decodeValue } from '../src/ingest/schema.js';
import { run3 } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'mosaik.js');
const root = mkdtempSync(join(tmpdir(), 'mosaik-use-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('as a new user meets it', () => {
  it('re-running local-cluster keeps the ports of a cluster', async () => {
    const dir = join(root, 'c');
    execFileSync(process.execPath, [BIN, 'local-cluster', dir], { encoding: 'utf8' });
    await writeApiPorts(dir);
    const before = readFileSync(join(dir, 'cluster.json'), 'utf8');
    execFileSync(process.execPath, [BIN, 'local-cluster', dir], { encoding: 'utf8' });
    const after = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    const was = JSON.parse(before);
    assert.deepEqual(after.nodes.map((n: { port: number; apiPort?: number }) => [n.port, n.apiPort]), was.nodes.map((n: { port: number; apiPort?: number }) => [n.port, n.apiPort]));
    assert.ok(was.nodes.every((n: { apiPort?: number }) => Number.isInteger(n.apiPort)));
  });

  it("re-running the demo empties each node's folders at once and deletes them behind it, keeping its keys", async () => {
    const nodes = ['a', 'b'].map((n) => join(root, `fresh-${n}`));
    for (const d of nodes) {
      for (const sub of ['store/v1', 'ledger', 'governance', 'jobs']) mkdirSync(join(d, sub), { recursive: true });
      writeFileSync(join(d, 'store', 'v1', 'col.bin'), Buffer.alloc(1 << 20));
      writeFileSync(join(d, 'jobs', 'x.job'), '{}');
      writeFileSync(join(d, 'node.key.pem'), 'key');
      mkdirSync(join(d, '.trash', 'store-1-2'), { recursive: true }); // left by a run stopped before its deletion ended
    }
    const emptied = freshNodes([...nodes, join(root, 'fresh-never-used')]);
    for (const d of nodes) assert.deepEqual(readdirSync(d).sort(), ['.trash', 'node.key.pem'], 'old folders gone from the node at once');
    await emptied;
    for (const d of nodes) {
      assert.equal(existsSync(join(d, '.trash')), false, 'deleted in the background, with what an earlier run left');
      assert.equal(readFileSync(join(d, 'node.key.pem'), 'utf8'), 'key');
    }
  });

  it('query --save into a missing folder is refused before the job runs', async () => {
    assert.throws(() => checkSavePath(join(root, 'no-such-folder', 'r.json')), /folder .* does not exist; nothing was run/);
    assert.doesNotThrow(() => checkSavePath(join(root, 'r.json')));
    // The whole command: refused before it contacts any node (there is none at this address).
    await assert.rejects(queryCommand({ dir: join(root, 'c'), sql: 'SELECT COUNT(*) FROM population', save: join(root, 'missing', 'r.json') }), (e: Error) => e instanceof QueryFailed && /nothing was run/.test(e.message));
  });

  it('--json prints the result without the schemas and code lists', () => {
    const r = { job: 'j', versions: { population: 'v1' }, columns: ['region', 'n'], rows: [['1081', 10]], suppressed: [], suppressedCount: 0, havingHidden: 0, minCellSize: 5, cells: 5, protection: { kind: 'none' }, schema: { name: 'population' }, codeLists: [{ name: 'region', codes: ['1081'] }], registers: { population: { schema: {}, codeLists: [] } }, parts: [] } as unknown as RemoteResult;
    const j = jsonResult(r);
    assert.deepEqual(j.rows, [['1081', 10]]);
    for (const k of ['schema', 'codeLists', 'registers', 'parts']) assert.ok(!(k in j), `${k} is printed`);
  });

  it("the README's example queries read registers that exist", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const regs = generateRegisters({ citizens: 50, seed: 1 });
    const known = new Set(['population', 'contacts', 'prescriptions', 'income', 'consent', regs.population.schema.name]);
    const sqls = [...readme.matchAll(/mosaik query [^\n]*?"(SELECT [^"]+)"/g)].map((m) => m[1]!);
    assert.ok(sqls.length >= 2);
    for (const sql of sqls) for (const t of tablesOf(parseQuery(sql))) assert.ok(known.has(t), `the README queries '${t}', which the demo does not have: ${sql}`);
  });
});

describe('GROUP BY a code column with many codes (issue 12)', () => {
  const regs = generateRegisters({ citizens: 400, seed: 3 });
  const contacts = regs.contacts;
  const diag = contacts.schema.columns.find((c) => c.name === 'diagnosis')!;
  const codes = regs.codeLists.get(diag.codeList!)!.codes;
  const shares = new Map([...contacts.columns].map(([k, v]) => [k, splitShares(v)]));
  const mpc = async (sql: string) => {
    const plan = planSql(sql, contacts.schema, regs.codeLists);
    const [r] = await run3((p) => runQuery(p, plan, new Map<string, AShare>(plan.columns.map((c) => [c, shares.get(c)![p.id]!])), { minCellSize: 1 }));
    return { plan, r };
  };
  /** Plaintext counts per diagnosis code of the rows `keep` lets through. */
  const counts = (keep: (code: string) => boolean) => {
    const out = new Map<string, number>();
    for (const v of contacts.columns.get('diagnosis')!) {
      const c = String(decodeValue(diag, v, regs.codeLists));
      if (keep(c)) out.set(c, (out.get(c) ?? 0) + 1);
    }
    return out;
  };

  it("WHERE diagnosis LIKE 'E11%': the cells are the E11 codes, planned from the filter, and the counts are right", async () => {
    assert.ok(codes.length > MAX_GROUP_VALUES, `the demo's ICD-10 list has ${codes.length} codes`);
    const { plan, r } = await mpc("SELECT diagnosis, COUNT(*) AS n FROM contacts WHERE diagnosis LIKE 'E11%' GROUP BY diagnosis");
    assert.deepEqual(plan.keys[0]!.labels, codes.filter((c) => c.startsWith('E11')));
    const want = counts((c) => c.startsWith('E11'));
    assert.deepEqual(new Map(r.rows!.map((row) => [String(row[0]), Number(row[1])])), want);
  });

  it(`all ${'>'}${MAX_GROUP_VALUES} codes at once: grouped by sorting, counts right`, async () => {
    const { plan, r } = await mpc('SELECT diagnosis, COUNT(*) AS n FROM contacts GROUP BY diagnosis');
    assert.equal(plan.keys[0]!.labels.length, codes.length);
    assert.equal(plan.keys[0]!.indicators.length, 0, 'no indicator per cell: sorted');
    assert.deepEqual(new Map(r.rows!.map((row) => [String(row[0]), Number(row[1])])), counts(() => true));
  });

  it('suppressed cells: empty by the WHERE clause said so, small ones never told apart from empty, many on one line', async () => {
    const sql = "SELECT diagnosis, COUNT(*) AS n FROM contacts WHERE diagnosis IN ('E10', 'E11') GROUP BY diagnosis";
    const { plan } = await mpc(sql);
    const between = codes.filter((c) => c > 'E10' && c < 'E11');
    assert.deepEqual(plan.keys[0]!.labels, ['E10', ...between, 'E11'], 'the cells span E10..E11');
    assert.ok(between.every((c) => emptyByFilter(plan, { diagnosis: c })));
    assert.ok(!emptyByFilter(plan, { diagnosis: 'E10' }));
    const result = { columns: ['diagnosis', 'n'], rows: [['E11', 12]], suppressed: ['E10', ...between].map((c) => ({ diagnosis: c })), suppressedCount: between.length + 1, havingHidden: 0, minCellSize: 5, cells: between.length + 2 };
    const text = formatTable({ ...result, publiclyEmpty: result.suppressed.map((c) => emptyByFilter(plan, c)) });
    assert.match(text, /E10 +<suppressed>/);
    assert.doesNotMatch(text, /E10\.0 +<suppressed>/);
    assert.match(text, new RegExp(`1 of ${between.length + 2} cells <suppressed>: fewer than 5 rows, whether empty or small is not said; ${between.length} cells empty by the WHERE clause, not shown`));
    // 127 small cells (a column of all-zero cells): one line, not 127 rows.
    const many = { columns: ['diagnosis', 'n'], rows: [] as (string | number)[][], suppressed: codes.slice(0, 127).map((c) => ({ diagnosis: c })), suppressedCount: 127, havingHidden: 0, minCellSize: 5, cells: 127 };
    const t = formatTable({ ...many, publiclyEmpty: many.suppressed.map(() => false) });
    assert.ok(t.split('\n').length < 6, t);
    assert.match(t, /<suppressed> 127 cells: A04, A08, .*… \(107 more\)/);
  });
});

describe('progress of the main job (issue 12)', () => {
  it('a query longer than a second shows node 0\'s phase and percentage: on a new phase, else every 3 s', () => {
    let t = 0;
    const lines: string[] = [];
    const show = progressLine({ log: (l) => lines.push(l) }, 3000, () => t);
    const at = (ms: number, progress: string) => {
      t = ms;
      show([{ node: 'node-a', status: 'running', progress }, { node: 'node-b', status: 'running', progress: 'x' }]);
    };
    at(200, 'computing over 1000 rows: 5 % (filters before the join)');
    at(900, 'computing over 1000 rows: 8 % (join: sorting)');
    assert.deepEqual(lines, [], 'nothing in the first second');
    at(1100, 'computing over 1000 rows: 12 % (join: sorting)');
    at(2500, 'computing over 1000 rows: 30 % (join: sorting)');
    at(4200, 'computing over 1000 rows: 50 % (join: sorting)');
    at(4600, 'computing over 1000 rows: 70 % (join)');
    assert.deepEqual(lines, ['  … 1.10 s: computing over 1000 rows: 12 % (join: sorting)', '  … 4.20 s: computing over 1000 rows: 50 % (join: sorting)']);
    at(5700, 'computing over 1000 rows: 78 % (validity of joined rows)');
    assert.equal(lines.at(-1), '  … 5.70 s: computing over 1000 rows: 78 % (validity of joined rows)');
  });
});
