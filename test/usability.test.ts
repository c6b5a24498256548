// What a new user meets (issue 12): re-running `mosaik local-cluster` keeps every node's port (and
// API port), so running nodes stay reachable; `mosaik query --save` into a missing folder is
// refused before anything runs (no request or budget spent); `--json` prints the result, not the
// schemas and code lists; the README's examples query registers that exist.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkSavePath, jsonResult, queryCommand, QueryFailed, type RemoteResult } from '../src/cli/query.js';
import { generateRegisters } from '../src/demo/registers.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { parseQuery, tablesOf } from '../src/query/index.js';

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
