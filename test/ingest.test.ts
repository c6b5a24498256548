import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerCsv } from '../src/demo/csv.js';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { readCsvText, type CsvValidation, type ReadCsvOptions } from '../src/ingest/csv.js';
import { formatProblems } from '../src/ingest/validate.js';
import { checkSchema, type DatasetSchema } from '../src/ingest/schema.js';
import {
  apiAddress, buildUploadBodies, parseUploadBody, referencedCodeLists, shareColumn, uploadDataset, uploadHeader, UploadError, type ShareableDataset,
} from '../src/ingest/upload.js';
import { inPersonOrder } from '../src/ingest/person-order.js';
import { runIngest } from '../src/cli/ingest.js';
import { combineShares } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, freePorts, generateNodeKey, loadClusterConfig, readNodeKey, type ClusterConfig, type LocalCluster } from '../src/net/keys.js';
import { generateKeyPairSync } from 'node:crypto';
import { ensureLocalIdentities } from '../src/governance/identities.js';
/** The custodian identity the uploads are signed with (the fake nodes do not check it). */
const UPLOADER = { name: 'custodian', privateKey: generateKeyPairSync('ed25519').privateKey };

const regs = generateRegisters({ citizens: 300, seed: 11 });
const lists = regs.codeLists;

function csvOf(reg: Register): string {
  return registerCsv(reg, lists);
}

async function check(reg: Register, text: string, opts: ReadCsvOptions = {}): Promise<CsvValidation> {
  return readCsvText(text, reg.schema, lists, opts);
}

/** Splits a CSV into lines (without the trailing empty one). */
const linesOf = (text: string) => text.replace(/\n$/, '').split('\n');
const joinLines = (ls: string[]) => ls.join('\n') + '\n';

/** Replaces field `col` (by name) of CSV line `line` (1-based). */
function setField(text: string, line: number, col: string, value: string): string {
  const ls = linesOf(text);
  const i = ls[0]!.split(',').indexOf(col);
  assert.ok(i >= 0, col);
  const f = ls[line - 1]!.split(',');
  f[i] = value;
  ls[line - 1] = f.join(',');
  return joinLines(ls);
}

function assertSameColumns(v: CsvValidation, reg: Register): void {
  assert.ok(v.ok, JSON.stringify(v.problems.slice(0, 5)));
  assert.equal(v.rows, reg.length);
  assert.deepEqual([...v.columns!.keys()], reg.schema.columns.map((c) => c.name));
  for (const [name, col] of reg.columns) assert.deepEqual(v.columns!.get(name), col, `${reg.schema.name}.${name}`);
}

function assertBad(v: CsvValidation, expected: { line: number; match: RegExp }[]): void {
  assert.equal(v.ok, false);
  assert.equal(v.columns, null);
  assert.equal(v.problemCount, expected.length, JSON.stringify(v.problems));
  expected.forEach((e, k) => {
    assert.equal(v.problems[k]!.line, e.line, JSON.stringify(v.problems[k]));
    assert.match(v.problems[k]!.message, e.match);
  });
}

describe('ingest: CSV validation', () => {
  it('round-trips every demo register to exactly the generator\'s encoded columns (both parsers)', async () => {
    for (const reg of regs.all) {
      const text = csvOf(reg);
      assertSameColumns(await check(reg, text), reg);
      assertSameColumns(await check(reg, text, { parser: 'csv-parse' }), reg);
    }
  });

  it('accepts columns in any order, quoted fields, CRLF line ends, a BOM and empty lines', async () => {
    const reg = regs.contacts;
    const ls = linesOf(csvOf(reg)).map((l) => l.split(','));
    const order = ls[0]!.map((_, i) => i).reverse();
    const reordered = joinLines(ls.map((f) => order.map((i) => f[i]!).join(',')));
    assertSameColumns(await check(reg, reordered), reg);
    // Every field quoted (as some exporters write), CRLF, BOM, an empty line in the middle.
    const quoted = ls.map((f) => f.map((x) => `"${x}"`).join(','));
    quoted.splice(3, 0, '');
    const text = '\ufeff' + quoted.join('\r\n') + '\r\n';
    for (const parser of ['fast', 'csv-parse'] as const) assertSameColumns(await check(reg, text, { parser }), reg);
    const sexAt = ls[0]!.indexOf('sex');
    quoted[10] = quoted[10]!.split(',').map((x, i) => (i === sexAt ? '"X"' : x)).join(','); // file line 11
    for (const parser of ['fast', 'csv-parse'] as const) {
      assertBad(await check(reg, '\ufeff' + quoted.join('\r\n') + '\r\n', { parser }), [{ line: 11, match: /^sex: 'X' is not in code list sex$/ }]);
    }
    // A chunked stream cutting through lines and multi-byte characters gives the same result.
    const { readCsv } = await import('../src/ingest/csv.js');
    const bytes = Buffer.from(text, 'utf8');
    async function* pieces() {
      for (let o = 0; o < bytes.length; o += 97) yield bytes.subarray(o, o + 97);
    }
    assertSameColumns(await readCsv(pieces(), reg.schema, lists), reg);
  });

  it('malformed quotes: an unclosed quoted field is reported at the line where it opens', async () => {
    const reg = regs.contacts;
    const ls = linesOf(csvOf(reg));
    ls[3] = ls[3]!.replace(',', ',"'); // line 4: a quote that is never closed
    for (const parser of ['fast', 'csv-parse'] as const) {
      assertBad(await check(reg, joinLines(ls), { parser }), [{ line: 4, match: /malformed CSV: a quoted field opened on this line is never closed/ }]);
    }
    const ls2 = linesOf(csvOf(reg));
    const f = ls2[5]!.split(',');
    f[2] = `"${f[2]}"x`; // line 6: text after a closing quote
    ls2[5] = f.join(',');
    for (const parser of ['fast', 'csv-parse'] as const) {
      assertBad(await check(reg, joinLines(ls2), { parser }), [{ line: 6, match: /malformed CSV: a closing quote is followed by other characters/ }]);
    }
    const ls3 = linesOf(csvOf(reg));
    ls3[6] = ls3[6]!.replace(',', ',ab"c'); // line 7: quote inside an unquoted field
    assertBad(await check(reg, joinLines(ls3)), [{ line: 7, match: /malformed CSV: a quote in the middle of an unquoted field/ }]);
  });

  it('wrong field count: every such row, with its line number', async () => {
    const reg = regs.contacts;
    const ls = linesOf(csvOf(reg));
    ls[4] = ls[4]!.split(',').slice(0, 8).join(','); // line 5: 8 fields
    ls[9] = ls[9]! + ',extra'; // line 10: 10 fields
    for (const parser of ['fast', 'csv-parse'] as const) {
      assertBad(await check(reg, joinLines(ls), { parser }), [
        { line: 5, match: /^8 fields, but the header has 9$/ },
        { line: 10, match: /^10 fields, but the header has 9$/ },
      ]);
    }
  });

  it('bad date, out-of-range int, unknown code, missing required value: each reported with line and column', async () => {
    const reg = regs.contacts;
    let text = csvOf(reg);
    text = setField(text, 3, 'admission_date', '2023-02-30');
    text = setField(text, 4, 'length_of_stay', '61');
    text = setField(text, 5, 'diagnosis', 'X99.9');
    text = setField(text, 6, 'hospital', '');
    text = setField(text, 8, 'admission_date', '1999-12-31'); // a real date below the minimum
    text = setField(text, 8, 'first_in_category', 'maybe'); // a second problem on the same line
    const v = await check(reg, text);
    assertBad(v, [
      { line: 3, match: /^admission_date: '2023-02-30' is not a date \(YYYY-MM-DD\)$/ },
      { line: 4, match: /^length_of_stay: 61 is above the maximum 60$/ },
      { line: 5, match: /^diagnosis: 'X99.9' is not in code list icd10$/ },
      { line: 6, match: /^hospital: value is required$/ },
      { line: 8, match: /^admission_date: 1999-12-31 is below the minimum 2022-01-01$/ },
      { line: 8, match: /^first_in_category: 'maybe' is not a boolean$/ },
    ]);
    assert.deepEqual(v.problems.map((p) => p.column), ['admission_date', 'length_of_stay', 'diagnosis', 'hospital', 'admission_date', 'first_in_category']);
    assert.equal(v.badRows, 5);
    assert.equal(v.rows, reg.length, 'the whole file is read');
  });

  it('duplicate unique key: reports both line numbers', async () => {
    const reg = regs.population;
    let text = csvOf(reg);
    const id3 = linesOf(text)[2]!.split(',')[0]!;
    text = setField(text, 7, 'person_id', id3);
    assertBad(await check(reg, text), [{ line: 7, match: new RegExp(`^person_id: duplicate value ${id3} \\(also on line 3\\)$`) }]);
  });

  it('maxRowsPerPerson: every row of a person beyond the bound is a problem on its line; nothing is stored', async () => {
    const reg = regs.contacts;
    const schema = { ...reg.schema, columns: reg.schema.columns.map((c) => (c.name === 'person_id' ? { ...c, maxRowsPerPerson: 2 } : c)) };
    const text = csvOf(reg);
    const ids = linesOf(text).slice(1).map((l) => l.split(',')[0]!);
    const counts = new Map<string, number[]>();
    ids.forEach((id, i) => counts.set(id, [...(counts.get(id) ?? []), i + 2]));
    const over = [...counts].flatMap(([id, lines]) => lines.slice(2).map((line) => ({ id, line, k: lines.indexOf(line) + 1 }))).sort((a, b) => a.line - b.line);
    assert.ok(over.length > 0, 'the test data has persons with more than 2 contacts');
    const v = await readCsvText(text, schema, lists, { keepProblems: 5000 });
    assertBad(v, over.map((o) => ({ line: o.line, match: new RegExp(`^person_id: person ${o.id} has more than 2 rows \\(the schema declares maxRowsPerPerson 2; this is row ${o.k} of the person\\)$`) })));
    assert.equal(v.problems[0]!.kind, 'rows-per-person');
    // The demo schema's bound holds for the generated register.
    assertSameColumns(await check(reg, text), reg);
  });

  it('maxRowsPerPerson counts a person\'s rows wherever they are: rows out of person order, runs broken and resumed', async () => {
    const reg = regs.contacts;
    const schema = { ...reg.schema, columns: reg.schema.columns.map((c) => (c.name === 'person_id' ? { ...c, maxRowsPerPerson: 2 } : c)) };
    const [head, ...rows] = linesOf(csvOf(reg));
    // Every other row moved to the end: each person's rows split into two runs far apart, in another order.
    const moved = [...rows.filter((_, i) => i % 2 === 0), ...rows.filter((_, i) => i % 2 === 1).reverse()];
    const text = [head, ...moved].join('\n') + '\n';
    const ids = moved.map((l) => l.split(',')[0]!);
    const seen = new Map<string, number>();
    const over: { id: string; line: number; k: number }[] = [];
    ids.forEach((id, i) => {
      const k = (seen.get(id) ?? 0) + 1;
      seen.set(id, k);
      if (k > 2) over.push({ id, line: i + 2, k });
    });
    assert.ok(over.some((o) => o.k > 3), 'some person has more than 3 rows');
    const v = await readCsvText(text, schema, lists, { keepProblems: 5000 });
    assertBad(v, over.map((o) => ({ line: o.line, match: new RegExp(`^person_id: person ${o.id} has more than 2 rows \\(the schema declares maxRowsPerPerson 2; this is row ${o.k} of the person\\)$`) })));
  });

  it('composite keys: a repeated (person_id, year) is a duplicate with both lines; the demo income register passes', async () => {
    const reg = regs.income;
    assert.deepEqual(reg.schema.keys, [['person_id', 'year']]);
    const text = csvOf(reg);
    assertSameColumns(await check(reg, text), reg);
    const l3 = linesOf(text)[2]!.split(',');
    const ls = linesOf(text);
    ls.splice(6, 0, l3.join(','));
    const v = await check(reg, joinLines(ls));
    assertBad(v, [{ line: 7, match: new RegExp(`^\\(person_id, year\\): duplicate key \\(${l3[0]}, ${l3[1]}\\) \\(also on line 3; the schema declares these columns a key\\)$`) }]);
    // Same person, another year: not a duplicate.
    const other = ls.slice();
    other[6] = [l3[0], String(Number(l3[1]) === 2023 ? 2024 : 2023), ...l3.slice(2)].join(',');
    assert.ok((await check(reg, joinLines(other))).ok);
  });

  it('schemas: maxRowsPerPerson only on person ids, keys name columns', () => {
    const base = regs.contacts.schema;
    const bad: [unknown, RegExp][] = [
      [{ ...base, columns: base.columns.map((c) => (c.name === 'hospital' ? { ...c, maxRowsPerPerson: 3 } : c)) }, /contacts\.hospital: maxRowsPerPerson applies to person_id columns only/],
      [{ ...base, columns: base.columns.map((c) => (c.name === 'person_id' ? { ...c, maxRowsPerPerson: 0 } : c)) }, /maxRowsPerPerson must be a positive integer, got 0/],
      [{ ...base, keys: [['person_id', 'nope']] }, /key \["person_id","nope"\] names 'nope', which is not a column/],
      [{ ...base, keys: [[]] }, /every key must be a non-empty list/],
      [{ ...base, keys: [['sex', 'sex']] }, /names a column twice/],
    ];
    for (const [schema, re] of bad) assert.throws(() => checkSchema(schema as DatasetSchema, lists), re);
    checkSchema(base, lists);
  });

  it('missing and extra columns are named; --ignore-extra skips extra ones', async () => {
    const reg = regs.population;
    const ls = linesOf(csvOf(reg)).map((l) => l.split(','));
    const drop = (name: string) => {
      const i = ls[0]!.indexOf(name);
      return joinLines(ls.map((f) => f.filter((_, k) => k !== i).join(',')));
    };
    const v = await check(reg, drop('sex'));
    assertBad(v, [{ line: 1, match: /^missing required column sex \(the first line must be a header/ }]);
    assert.equal(v.rows, 0, 'rows are not read after a bad header');
    const extra = joinLines(ls.map((f, r) => [...f, r === 0 ? 'note' : 'x'].join(',')));
    assertBad(await check(reg, extra), [{ line: 1, match: /^column 'note' is not in the schema of population \(use --ignore-extra/ }]);
    const ok = await check(reg, extra, { ignoreExtra: true });
    assertSameColumns(ok, reg);
    assert.deepEqual(ok.ignoredColumns, ['note']);
  });

  it('a multi-line quoted record is reported at its first line and later lines keep their numbers', async () => {
    const reg = regs.contacts;
    let text = setField(csvOf(reg), 3, 'diagnosis', '"E11\n.9"'); // lines 3–4 hold one record
    text = setField(text, 6, 'admission_date', 'soon'); // file line 6 (the 5th record)
    for (const parser of ['fast', 'csv-parse'] as const) {
      assertBad(await check(reg, text, { parser }), [
        { line: 3, match: /^diagnosis: "E11\\n\.9" is not in code list icd10$/ }, // the line break quoted escaped
        { line: 6, match: /^admission_date: 'soon' is not a date/ },
      ]);
    }
  });

  it('counts every problem but prints at most the cap', async () => {
    const reg = regs.contacts;
    let text = csvOf(reg);
    for (let line = 2; line < 122; line++) text = setField(text, line, 'sex', 'X');
    const v = await check(reg, text, { keepProblems: 100 });
    assert.equal(v.problemCount, 120);
    assert.equal(v.badRows, 120);
    assert.equal(v.problems.length, 100);
    const out = formatProblems({ list: v.problems, count: v.problemCount, badRows: v.badRows }, 50);
    assert.equal(out.length, 51);
    assert.match(out[0]!, /^ {2}line 2: sex: 'X' is not in code list sex$/);
    assert.match(out[50]!, /… and 70 more problems \(120 in 120 lines in all\)/);
  });

  it('empty file and header-only file', async () => {
    const reg = regs.income;
    assertBad(await check(reg, ''), [{ line: 1, match: /the file is empty/ }]);
    assertBad(await check(reg, linesOf(csvOf(reg))[0]! + '\n'), [{ line: 2, match: /no data rows/ }]);
  });
});

// ---------------------------------------------------------------------------------------------

function datasetOf(reg: Register): ShareableDataset {
  return { schema: reg.schema, codeLists: lists, rows: reg.length, columns: reg.columns };
}

const KEY = Buffer.alloc(32, 7);

describe('ingest: share bodies', () => {
  it('builds exactly the bytes of the contract, and the three bodies recombine to the plaintext', () => {
    const reg = regs.income;
    const ds = datasetOf(reg);
    const ctx = { cluster: 'test', version: 'v1' };
    const shares = reg.schema.columns.map((c) => shareColumn(ds, c.name, KEY, ctx));
    const bodies = buildUploadBodies(ds, shares);
    for (const p of [0, 1, 2] as PartyId[]) {
      const header = JSON.stringify({ schema: reg.schema, codeLists: referencedCodeLists(reg.schema, lists), rows: reg.length, columns: reg.schema.columns.map((c) => c.name), party: p });
      const hb = Buffer.from(header, 'utf8');
      const parts: Buffer[] = [Buffer.alloc(4), hb];
      parts[0]!.writeUInt32LE(hb.length);
      for (const t of shares) parts.push(Buffer.from(t[p].a.buffer), Buffer.from(t[p].b.buffer));
      assert.ok(Buffer.concat(parts).equals(bodies[p]), `body of party ${p}`);
      assert.equal(bodies[p].length, 4 + hb.length + reg.schema.columns.length * 16 * reg.length);
    }
    assert.deepEqual(referencedCodeLists(reg.schema, lists).map((l) => l.name), ['education', 'sex', 'age_band', 'region']);
    const parsed = bodies.map((b) => parseUploadBody(b));
    reg.schema.columns.forEach((c, k) => {
      for (const p of [0, 1, 2] as PartyId[]) {
        const q = ((p + 1) % 3) as PartyId;
        assert.deepEqual(combineShares(parsed[p]!.shares[k]!, parsed[q]!.shares[k]!), reg.columns.get(c.name), `${c.name} from parties ${p}, ${q}`);
        assert.deepEqual(parsed[p]!.shares[k]!.b, parsed[q]!.shares[k]!.a, 'replication: x_{i+1} is held by i and i+1');
      }
      // No single party's pair is the plaintext.
      assert.notDeepEqual(parsed[0]!.shares[k]!.a, reg.columns.get(c.name));
    });
  });

  it('puts the rows in person-id order before sharing: stable, whole rows, said in the header', () => {
    const reg = regs.contacts;
    const n = reg.length;
    // The rows in a scrambled order first, as a hospital's export might list them.
    const perm = Array.from({ length: n }, (_, i) => i).sort(() => Math.random() - 0.5);
    const scrambled = new Map([...reg.columns].map(([c, v]) => [c, BigUint64Array.from(perm, (i) => v[i]!)]));
    scrambled.set('__pos', BigUint64Array.from(perm, (_, k) => BigInt(k))); // each row's place in the input
    const ds = inPersonOrder({ ...datasetOf(reg), columns: scrambled });
    assert.equal(ds.sortedBy, 'person_id');
    assert.equal(uploadHeader(ds, 1).sortedBy, 'person_id');
    const ids = ds.columns.get('person_id')!;
    const names = [...reg.columns.keys()];
    const row = (cols: Map<string, BigUint64Array>, i: number) => names.map((c) => cols.get(c)![i]).join(',');
    for (let i = 1; i < n; i++) {
      assert.ok(ids[i - 1]! <= ids[i]!, `ascending at row ${i}`);
      // Stable: a person's rows keep the order they had in the input.
      if (ids[i - 1] === ids[i]) assert.ok(ds.columns.get('__pos')![i - 1]! < ds.columns.get('__pos')![i]!, `stable at row ${i}`);
    }
    assert.deepEqual(Array.from({ length: n }, (_, i) => row(ds.columns, i)).sort(), Array.from({ length: n }, (_, i) => row(reg.columns, i)).sort(), 'the same rows, whole');
    // Already in order: kept as it is; no person id column: unchanged and not marked.
    const again = inPersonOrder(ds);
    assert.equal(again.columns, ds.columns);
    const noPid = { ...datasetOf(reg), schema: { ...reg.schema, columns: reg.schema.columns.filter((c) => c.type !== 'person_id') } };
    assert.equal(inPersonOrder(noPid), noPid);
    // Ids across the whole range below 2^34 (the high word's bits too), ties among them.
    const edge = [2 ** 34 - 1, 0, 2 ** 32, 2 ** 32 - 1, 3, 2 ** 33 + 5, 2 ** 32, 0, 2 ** 34 - 1, 2 ** 31, 2 ** 33 + 4, 1];
    const m = edge.length;
    const cols = new Map([...reg.columns].map(([c, v]) => [c, v.slice(0, m)]));
    cols.set('person_id', BigUint64Array.from(edge, BigInt));
    cols.set('__pos', BigUint64Array.from(edge, (_, k) => BigInt(k)));
    const big = inPersonOrder({ ...datasetOf(reg), rows: m, columns: cols });
    const want = edge.map((id, k) => [id, k] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(Array.from(big.columns.get('person_id')!, Number), want.map(([id]) => id));
    assert.deepEqual(Array.from(big.columns.get('__pos')!, Number), want.map(([, k]) => k), 'stable across the high word');
  });

  it('derived shares are deterministic per (key, version, content) and unrelated otherwise', () => {
    const ds = datasetOf(regs.income);
    const col = 'income';
    const a = shareColumn(ds, col, KEY, { cluster: 'c', version: 'v1' });
    const b = shareColumn(ds, col, KEY, { cluster: 'c', version: 'v1' });
    const c = shareColumn(ds, col, KEY, { cluster: 'c', version: 'v2' });
    const d = shareColumn(ds, col, Buffer.alloc(32, 8), { cluster: 'c', version: 'v1' });
    const changed = new Map(ds.columns);
    const x = ds.columns.get(col)!.slice();
    x[0]! += 1n;
    changed.set(col, x);
    const e = shareColumn({ ...ds, columns: changed }, col, KEY, { cluster: 'c', version: 'v1' });
    assert.deepEqual(a[0].a, b[0].a);
    assert.deepEqual(a[2].a, b[2].a);
    for (const other of [c, d, e]) assert.notDeepEqual(other[0].a, a[0].a);
    // Fresh randomness without a key still recombines.
    const f = shareColumn(ds, col, undefined, { cluster: 'c', version: 'v1' });
    assert.deepEqual(combineShares(f[1], f[2]), ds.columns.get(col));
  });
});

// ---------------------------------------------------------------------------------------------

interface FakeNode {
  server: Server;
  /** version → sha256 of the stored body */
  stored: Map<string, string>;
  bodies: Map<string, Buffer>;
  puts: number;
  /** Answer every PUT with this (status, error) instead of storing. */
  reject?: [number, string];
  /** Answer before reading the body (then discard it). */
  early?: boolean;
  /** PUTs whose body ended early (the client aborted). */
  cut: number;
}

async function startFake(key: string, cert: string, port: number): Promise<FakeNode> {
  const node: FakeNode = { server: undefined as unknown as Server, stored: new Map(), bodies: new Map(), puts: 0, cut: 0 };
  node.server = createServer({ key, cert, minVersion: 'TLSv1.3' }, (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/datasets') return send(200, []);
    if (req.method === 'GET' && req.url === '/v1/governance') return send(200, { governed: false });
    const m = /^\/v1\/datasets\/([^/]+)\/versions\/([^/]+)$/.exec(req.url ?? '');
    if (req.method !== 'PUT' || !m) return send(404, { error: 'not found' });
    node.puts++;
    if (node.early && node.reject) {
      send(node.reject[0], { error: node.reject[1] });
      req.resume();
      return;
    }
    req.on('aborted', () => node.cut++);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      if (req.headers['content-type'] !== 'application/octet-stream' || Number(req.headers['content-length']) !== body.length) return send(400, { error: 'bad request' });
      if (node.reject) return send(node.reject[0], { error: node.reject[1] });
      const h = createHash('sha256').update(body).digest('hex');
      const old = node.stored.get(m[2]!);
      if (old === h) return send(200, { name: m[1], version: m[2], rows: parseUploadBody(body).header.rows });
      if (old) return send(409, { error: `version ${m[2]} already holds other content` });
      node.stored.set(m[2]!, h);
      node.bodies.set(m[2]!, body);
      return send(201, { name: m[1], version: m[2], rows: parseUploadBody(body).header.rows });
    });
  });
  await new Promise<void>((ok) => node.server.listen(port, '127.0.0.1', ok));
  return node;
}

describe('ingest: upload over pinned HTTPS', () => {
  let dir: string;
  let lc: LocalCluster;
  let config: ClusterConfig;
  let nodes: FakeNode[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaik-ingest-'));
    lc = await createLocalCluster(join(dir, 'cluster'));
    ensureLocalIdentities(lc.dir); // runIngest signs with the local custodian identity
    // Give the fake API servers free ports of their own (cluster.json's apiPort).
    const ports = await freePorts(3);
    const raw = JSON.parse(await readFile(lc.configPath, 'utf8')) as { nodes: { id: number; apiPort?: number }[] };
    for (const n of raw.nodes) n.apiPort = ports[n.id]!;
    await writeFile(lc.configPath, JSON.stringify(raw, null, 2));
    config = loadClusterConfig(lc.configPath);
    nodes = await Promise.all(
      config.nodes.map((n, i) => {
        const k = readNodeKey(lc.nodeDirs[i]!, n.name);
        return startFake(k.keyPem, k.certPem, apiAddress(config, n.id).port);
      }),
    );
  });

  after(async () => {
    await Promise.all(nodes.map((n) => new Promise((ok) => n.server.close(ok))));
    await rm(dir, { recursive: true, force: true });
  });

  const reset = () => {
    for (const n of nodes) {
      n.stored.clear();
      n.bodies.clear();
      n.puts = 0;
      n.cut = 0;
      delete n.reject;
      delete n.early;
    }
  };

  it('uploads each node its share pair; the bodies recombine; a re-run is idempotent (200)', async () => {
    reset();
    const reg = regs.prescriptions;
    const ds = datasetOf(reg);
    const r = await uploadDataset({ signer: UPLOADER, config, dataset: ds, version: 'v1', key: KEY });
    assert.deepEqual(r.nodes.map((n) => n.status), [201, 201, 201]);
    const parsed = nodes.map((n) => parseUploadBody(n.bodies.get('v1')!));
    assert.deepEqual(parsed.map((p) => p.header.party), [0, 1, 2]);
    reg.schema.columns.forEach((c, k) => {
      assert.deepEqual(combineShares(parsed[0]!.shares[k]!, parsed[1]!.shares[k]!), reg.columns.get(c.name));
      assert.deepEqual(combineShares(parsed[1]!.shares[k]!, parsed[2]!.shares[k]!), reg.columns.get(c.name));
    });
    // Seeded bodies: node 0 gets two 16-byte seeds per column, nodes 1 and 2 a seed and x_2's bytes.
    const cols = reg.schema.columns.length;
    assert.ok(parsed.every((p) => p.header.seeded === true));
    const shareBytes = nodes.map((n) => n.bodies.get('v1')!.length - 4 - n.bodies.get('v1')!.readUInt32LE(0));
    assert.deepEqual(shareBytes, [cols * 32, cols * (16 + 8 * reg.length), cols * (16 + 8 * reg.length)]);
    assert.deepEqual(r.bytes, nodes.map((n) => n.bodies.get('v1')!.length));
    const again = await uploadDataset({ signer: UPLOADER, config, dataset: ds, version: 'v1', key: KEY });
    assert.deepEqual(again.nodes.map((n) => n.status), [200, 200, 200]);
  });

  it('refuses a node that presents another certificate than the pinned one, before sending any share', async () => {
    reset();
    const impostor = await generateNodeKey('node-b');
    const port = apiAddress(config, 1).port;
    await new Promise((ok) => nodes[1]!.server.close(ok));
    const fake = await startFake(impostor.keyPem, impostor.certPem, port);
    try {
      await assert.rejects(uploadDataset({ signer: UPLOADER, config, dataset: datasetOf(regs.income), version: 'v1', key: KEY }), (e: unknown) => {
        assert.ok(e instanceof UploadError);
        assert.deepEqual(e.failures.map((f) => f.party), [1]);
        assert.match(e.message, /node 1 \(node-b, https:\/\/127\.0\.0\.1:\d+\): TLS authentication failed/);
        assert.match(e.message, /nothing was uploaded/);
        return true;
      });
      assert.deepEqual([nodes[0]!.puts, fake.puts, nodes[2]!.puts], [0, 0, 0]);
    } finally {
      await new Promise((ok) => fake.server.close(ok));
      const k = readNodeKey(lc.nodeDirs[1]!, 'node-b');
      nodes[1] = await startFake(k.keyPem, k.certPem, port);
    }
  });

  it('names the node that rejects the upload and why', async () => {
    reset();
    nodes[2]!.reject = [400, 'column diagnosis: code list icd10 differs from the registered one'];
    await assert.rejects(uploadDataset({ signer: UPLOADER, config, dataset: datasetOf(regs.contacts), version: 'v7', key: KEY }), (e: unknown) => {
      assert.ok(e instanceof UploadError);
      assert.equal(e.failures.length, 1);
      assert.equal(e.failures[0]!.party, 2);
      assert.match(e.message, /node 2 \(node-c, https:\/\/127\.0\.0\.1:\d+\): HTTP 400: column diagnosis: code list icd10 differs/);
      assert.match(e.message, /stored at node-a, node-b; re-run with --version v7/);
      return true;
    });
    // The re-run once the node accepts completes the version: identical bytes at the two others.
    delete nodes[2]!.reject;
    const r = await uploadDataset({ signer: UPLOADER, config, dataset: datasetOf(regs.contacts), version: 'v7', key: KEY });
    assert.deepEqual(r.nodes.map((n) => n.status), [200, 200, 201]);
  });

  it('aborts the uploads to the other nodes when one node fails mid-way, so none stores the version', async () => {
    reset();
    const rows = 2_000_000; // 32 MB per node: far more than the socket buffers
    const x = new BigUint64Array(rows);
    for (let i = 0; i < rows; i++) x[i] = BigInt(i);
    const ds: ShareableDataset = { schema: { name: 'big', custodian: 'test', columns: [{ name: 'x', type: 'int' }] }, codeLists: new Map(), rows, columns: new Map([['x', x]]) };
    nodes[2]!.reject = [400, 'no room'];
    nodes[2]!.early = true;
    await assert.rejects(uploadDataset({ signer: UPLOADER, config, dataset: ds, version: 'v1', key: KEY }), (e: unknown) => {
      assert.ok(e instanceof UploadError);
      assert.deepEqual(e.failures.map((f) => f.party).sort(), [0, 1, 2]);
      assert.deepEqual(e.stored, []);
      assert.match(e.message, /node 2 \(node-c, [^)]*\): HTTP 400: no room/);
      assert.match(e.message, /node 0 \(node-a, [^)]*\): upload aborted because another node failed/);
      assert.match(e.message, /no node stored this version/);
      return true;
    });
    await new Promise((ok) => setTimeout(ok, 50));
    assert.deepEqual(nodes.map((n) => n.stored.size), [0, 0, 0]);
  });

  it('reports a node that is down', async () => {
    reset();
    const port = apiAddress(config, 0).port;
    await new Promise((ok) => nodes[0]!.server.close(ok));
    try {
      await assert.rejects(uploadDataset({ signer: UPLOADER, config, dataset: datasetOf(regs.income), version: 'v1', key: KEY, timeoutMs: 5000 }), /node 0 \(node-a, https:\/\/127\.0\.0\.1:\d+\): connection refused[\s\S]*nothing was uploaded/);
    } finally {
      const k = readNodeKey(lc.nodeDirs[0]!, 'node-a');
      nodes[0] = await startFake(k.keyPem, k.certPem, port);
    }
  });

  it('mosaik ingest: exit 0 after upload, 1 for an invalid file (nothing sent), 2 when a node rejects', async () => {
    reset();
    const csv = join(dir, 'income.csv');
    await writeFile(csv, csvOf(regs.income));
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), quiet: true };
    const base = { file: csv, dir: lc.dir, schema: 'demo:income', ...io };
    assert.equal(await runIngest({ ...base, version: 'r1' }), 0, out.join('\n'));
    assert.match(out.at(-1)!, /^ingest: income version r1: [\d,]+ rows × 8 columns shared; node-a stored, node-b stored, node-c stored/);
    assert.equal(await runIngest({ ...base, version: 'r1' }), 0);
    assert.match(out.at(-1)!, /node-a already had it/);
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, setField(csvOf(regs.income), 4, 'year', '2031'));
    out.length = 0;
    const puts = nodes.map((n) => n.puts);
    assert.equal(await runIngest({ ...base, file: bad, version: 'r2' }), 1);
    assert.deepEqual(nodes.map((n) => n.puts), puts);
    assert.match(out.join('\n'), /line 4: year: 2031 is above the maximum 2024[\s\S]*nothing was uploaded/);
    nodes[1]!.reject = [507, 'disk full'];
    out.length = 0;
    assert.equal(await runIngest({ ...base, version: 'r3' }), 2);
    assert.match(out.join('\n'), /node 1 \(node-b, [^)]*\): HTTP 507: disk full/);
    out.length = 0;
    assert.equal(await runIngest({ ...base, dir: undefined, dryRun: true }), 0);
    assert.match(out.at(-1)!, /ingest --dry-run: income.csv is valid for income; nothing was uploaded/);
  });
});
