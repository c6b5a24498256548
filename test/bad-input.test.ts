// Bad input of every kind (issue 12): a single huge CSV or JSON Lines line is refused after at most
// MAX_LINE_CHARS with memory bounded and a short message; random bytes and long values are quoted
// as short escaped excerpts; a WHERE of thousands of ORs is a clear refusal (400), never HTTP 500;
// dataset names follow one rule, checked in one place, so no name that ingest accepts meets HTTP 414.
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { readCsvFile, readCsvText } from '../src/ingest/csv.js';
import { readJsonlText } from '../src/ingest/jsonl.js';
import { checkSchema, excerpt, MAX_ID_LENGTH, SchemaError, type CodeList, type DatasetSchema } from '../src/ingest/schema.js';
import { MAX_LINE_CHARS } from '../src/ingest/validate.js';
import { parseQuery, QueryError } from '../src/query/index.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { apiRequest } from '../src/node/http.js';
import { adhocBody, localSigners, type LocalSigners } from './identities.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-bad-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SCHEMA: DatasetSchema = { name: 'visits', custodian: 'h', columns: [{ name: 'age', type: 'int', min: 0, max: 120 }, { name: 'sex', type: 'code', codeList: 'sex' }] };
const CODES = new Map<string, CodeList>([['sex', { name: 'sex', codes: ['F', 'M'] }]]);
const ors = (n: number) => `SELECT COUNT(*) FROM visits WHERE ${Array.from({ length: n }, (_, i) => `age = ${i}`).join(' OR ')}`;
/** No message of a report may carry much of the input, nor any control character. */
const assertShort = (msgs: string[]) => {
  for (const m of msgs) {
    assert.ok(m.length < 600, `a message of ${m.length} characters: ${m.slice(0, 200)}…`);
    assert.doesNotMatch(m, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'a control character in a message');
  }
};

describe('bad input', () => {
  it('a 64 MB CSV line without a line break is refused after 1 MiB, reading stops, the message is short', async () => {
    const path = join(root, 'one-line.csv');
    const w = createWriteStream(path);
    const block = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < 64; i++) if (!w.write(block)) await once(w, 'drain');
    w.end();
    await once(w, 'finish');
    const r = await readCsvFile(path, SCHEMA, CODES);
    assert.equal(r.ok, false);
    assert.match(r.problems[0]!.message, /line 1 is longer than 1 MiB/);
    assert.ok(r.bytes <= 4 * MAX_LINE_CHARS, `read ${r.bytes} bytes of a 64 MiB line`);
    assertShort(r.problems.map((p) => p.message));
    assert.ok(r.header.join(',').length <= MAX_LINE_CHARS);
  });

  it('the same for JSON Lines, and for a quoted CSV field that never ends', async () => {
    const j = await readJsonlText('{"age": 1, "sex": "F"}\n' + 'y'.repeat(MAX_LINE_CHARS + 10), SCHEMA, CODES);
    assert.match(j.problems[0]!.message, /line 2 is longer than 1 MiB/);
    const q = await readCsvText(`age,sex\n1,"${'z'.repeat(MAX_LINE_CHARS + 10)}`, SCHEMA, CODES, { parser: 'csv-parse' });
    assert.equal(q.ok, false);
    assertShort(q.problems.map((p) => p.message));
  });

  it('random bytes in the header and long values are quoted as short escaped excerpts', async () => {
    const junk = Array.from({ length: 3000 }, (_, i) => String.fromCharCode((i * 7919) % 256)).join('').replace(/[\n\r,"]/g, 'q');
    const r = await readCsvText(`age,sex,${junk}\n1,F,x\n${'9'.repeat(5000)},${'M'.repeat(5000)},x\n`, SCHEMA, CODES);
    assert.equal(r.ok, false);
    assertShort(r.problems.map((p) => p.message));
    assert.ok(r.problems.some((p) => /not in the schema/.test(p.message)));
    assert.equal(excerpt('E11'), "'E11'");
    assert.equal(excerpt('a\u0007b'), '"a\\u0007b"');
    assert.match(excerpt('x'.repeat(1000)), /^"x{40}"… \(1000 characters\)$/);
  });

  it('a WHERE of 3 000 ORs, or nested 3 000 deep, is a clear refusal', () => {
    assert.throws(() => parseQuery(ors(3000)), (e: Error) => e instanceof QueryError && /at most/.test(e.message) && e.message.length < 300);
    assert.throws(() => parseQuery(`SELECT COUNT(*) FROM visits WHERE ${'('.repeat(3000)}age = 1${')'.repeat(3000)}`), (e: Error) => e instanceof QueryError && /nests parentheses 3000 deep/.test(e.message));
    assert.throws(() => parseQuery(`SELECT COUNT(*) FROM visits WHERE ${Array.from({ length: 3000 }, () => 'age').join(' = ')}`), QueryError);
    assert.ok(parseQuery(ors(400)), 'a long but reasonable OR list still parses');
  });

  it('a query parsed before is not parsed again, and each caller gets its own copy', () => {
    const sql = "SELECT region, COUNT(*) AS n FROM visits WHERE code LIKE 'E11%' GROUP BY region";
    const first = parseQuery(sql);
    const fresh = structuredClone(first);
    first.select.length = 0;
    first.groupBy.push({ kind: 'column', name: 'mutated' });
    const again = parseQuery(sql);
    assert.deepEqual(again, fresh, 'a caller changing its copy does not change what the next caller gets');
    assert.notEqual(again.select, parseQuery(sql).select);
    assert.throws(() => parseQuery('SELECT FROM WHERE'), QueryError, 'a syntax error is thrown every time');
    assert.throws(() => parseQuery('SELECT FROM WHERE'), QueryError);
  });

  it('dataset names: one rule (1-64 characters), the same at ingest and at the nodes', () => {
    const named = (name: string) => () => checkSchema({ ...SCHEMA, name }, CODES);
    assert.doesNotThrow(named('a'.repeat(MAX_ID_LENGTH)));
    for (const n of [101, 128]) assert.throws(named('a'.repeat(n)), (e: Error) => e instanceof SchemaError && /1-64 characters/.test(e.message) && e.message.length < 200);
    assert.throws(named('Visits'), SchemaError);
  });
});

describe('bad input at a node', () => {
  let cluster: LocalCluster;
  let ids: LocalSigners;
  let node: Daemon;
  before(async () => {
    cluster = await createLocalCluster(join(root, 'c'));
    await writeApiPorts(cluster.dir);
    ids = localSigners(cluster.dir);
    node = await startDaemon({ dir: cluster.dir, party: 0, log: () => {} });
  });
  after(async () => node?.close());

  it('a query of 3 000 ORs gets 400 with the reason', async () => {
    const { body } = adhocBody(cluster.config, ids.researcher, ors(3000));
    const r = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/queries', { body, signer: ids.researcher });
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    assert.match(r.body.error, /at most \d+ are accepted/);
  });

  it('a dataset name of 101-128 characters gets 400 (the rule), not 414', async () => {
    for (const n of [65, 101, 128]) {
      const name = 'a'.repeat(n);
      const put = await apiRequest<{ error: string }>(cluster.config, 0, `/v1/datasets/${name}/versions/v1`, { method: 'PUT', body: Buffer.alloc(8), signer: ids.custodian });
      assert.equal(put.status, 400, `PUT with a ${n}-character name: ${JSON.stringify(put.body)}`);
      assert.match(put.body.error, /1-64 characters/);
      const get = await apiRequest<{ error: string }>(cluster.config, 0, `/v1/datasets/${name}`);
      assert.ok(get.status === 400 || get.status === 404, `GET with a ${n}-character name: ${get.status}`);
    }
  });
});
