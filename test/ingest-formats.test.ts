// `mosaik ingest` for JSON Lines and Parquet input: the same validation core as CSV (identical
// encoded columns and shares for the same data in the three formats), every kind of bad value
// reported with its line (JSON Lines) or row (Parquet), malformed JSON lines, Parquet columns of the
// wrong type, a 200 000-row Parquet file in several row groups, the CLI entry (dry run, --format),
// and real uploads of a JSON Lines and a Parquet file to a local cluster of three node daemons.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { registerCsv } from '../src/demo/csv.js';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { runIngest } from '../src/cli/ingest.js';
import { readCsvText } from '../src/ingest/csv.js';
import { formatFromPath, readInputFile } from '../src/ingest/input.js';
import { readJsonlText } from '../src/ingest/jsonl.js';
import { readParquet, readParquetFile } from '../src/ingest/parquet.js';
import { DECIMAL_FRAC_BITS, formatDate, makeCodeList, type CodeList, type ColumnSpec, type DatasetSchema } from '../src/ingest/schema.js';
import { buildUploadBodies, shareColumn, type ShareableDataset } from '../src/ingest/upload.js';
import { formatProblems, type IngestProgress, type IngestValidation } from '../src/ingest/validate.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { ensureLocalIdentities } from '../src/governance/identities.js';
import { apiRequest } from '../src/node/api.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { withColumnMemory } from '../src/ring/column-memory.js';

const regs = generateRegisters({ citizens: 300, seed: 11 });
const lists = regs.codeLists;
const root = mkdtempSync(join(tmpdir(), 'mosaik-ingest-formats-'));
after(() => rmSync(root, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// The demo registers as typed values, JSON Lines and Parquet

/** Row r of a column as the typed value a JSON writer (or, with parquet, a Parquet writer) would produce. */
function typedValue(reg: Register, spec: ColumnSpec, r: number, parquet = false): unknown {
  const x = reg.plain.get(spec.name)![r]!;
  switch (spec.type) {
    case 'int':
    case 'decimal':
      return x;
    case 'person_id':
      return parquet ? BigInt(x) : x;
    case 'date':
      return parquet ? new Date(x * 86_400_000) : formatDate(x);
    case 'code':
      return lists.get(spec.codeList!)!.codes[x]!;
    case 'bool':
      return x !== 0;
  }
}

type Obj = Record<string, unknown>;

/** The register as JSON Lines; `edit` may change the object of data row i (file line i + 1) or return a whole line. */
function jsonlOf(reg: Register, edit?: (o: Obj, i: number) => Obj | string | void): string {
  const out: string[] = [];
  for (let i = 0; i < reg.length; i++) {
    const o: Obj = {};
    for (const c of reg.schema.columns) o[c.name] = typedValue(reg, c, i);
    const e = edit?.(o, i);
    out.push(typeof e === 'string' ? e : JSON.stringify(e ?? o));
  }
  return out.join('\n') + '\n';
}

interface PqColumn {
  name: string;
  el: Omit<SchemaElement, 'name'>;
  data: unknown[];
}

/** A Parquet file (bytes) from explicit columns. */
function writeParquet(cols: PqColumn[], rowGroupSize?: number): ArrayBuffer {
  const schema: SchemaElement[] = [{ name: 'root', num_children: cols.length }, ...cols.map((c) => ({ name: c.name, repetition_type: 'OPTIONAL' as const, ...c.el }))];
  return parquetWriteBuffer({ columnData: cols.map((c) => ({ name: c.name, data: c.data })), schema, ...(rowGroupSize ? { rowGroupSize } : {}) });
}

const PQ_TYPE: Record<ColumnSpec['type'], Omit<SchemaElement, 'name'>> = {
  int: { type: 'INT32' },
  decimal: { type: 'DOUBLE' },
  date: { type: 'INT32', converted_type: 'DATE' },
  code: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  bool: { type: 'BOOLEAN' },
  person_id: { type: 'INT64' },
};

/** The register as Parquet, columns in schema order with their natural Parquet types. */
function parquetOf(reg: Register, rowGroupSize?: number): ArrayBuffer {
  return writeParquet(
    reg.schema.columns.map((c) => ({ name: c.name, el: PQ_TYPE[c.type], data: Array.from({ length: reg.length }, (_, r) => typedValue(reg, c, r, true)) })),
    rowGroupSize,
  );
}

function assertSameColumns(v: IngestValidation, reg: Register): void {
  assert.ok(v.ok, JSON.stringify(v.problems.slice(0, 5)));
  assert.equal(v.rows, reg.length);
  assert.deepEqual([...v.columns!.keys()], reg.schema.columns.map((c) => c.name));
  for (const [name, col] of reg.columns) assert.deepEqual(v.columns!.get(name), col, `${reg.schema.name}.${name}`);
}

function assertBad(v: IngestValidation, expected: { line: number; match: RegExp }[]): void {
  assert.equal(v.ok, false);
  assert.equal(v.columns, null);
  assert.equal(v.problemCount, expected.length, JSON.stringify(v.problems, null, 1));
  expected.forEach((e, k) => {
    assert.equal(v.problems[k]!.line, e.line, JSON.stringify(v.problems[k]));
    assert.match(v.problems[k]!.message, e.match);
  });
}

const KEY = Buffer.alloc(32, 7);

/** The three upload bodies of a validated input (derived shares: deterministic for the same key, version and content). */
function bodiesOf(v: IngestValidation, schema: DatasetSchema): [Buffer, Buffer, Buffer] {
  const ds: ShareableDataset = { schema, codeLists: lists, rows: v.rows, columns: v.columns! };
  const shares = schema.columns.map((c) => shareColumn(ds, c.name, KEY, { cluster: 'test', version: 'v1' }));
  return buildUploadBodies(ds, shares);
}

describe('ingest formats: one validation core', () => {
  it('the same registers in CSV, JSON Lines and Parquet give identical encoded columns and identical shares', async () => {
    for (const reg of regs.all) {
      const csv = await readCsvText(registerCsv(reg, lists), reg.schema, lists);
      const jsonl = await readJsonlText(jsonlOf(reg), reg.schema, lists);
      const pq = await readParquet(parquetOf(reg, 100), reg.schema, lists);
      for (const v of [csv, jsonl, pq]) assertSameColumns(v, reg);
      assert.deepEqual([csv.format, jsonl.format, pq.format], ['csv', 'jsonl', 'parquet']);
      assert.equal(pq.rowGroups, Math.ceil(reg.length / 100));
      const [a, b, c] = [csv, jsonl, pq].map((v) => bodiesOf(v, reg.schema));
      for (const p of [0, 1, 2] as PartyId[]) {
        assert.ok(b![p].equals(a![p]), `${reg.schema.name}: JSON Lines body of party ${p}`);
        assert.ok(c![p].equals(a![p]), `${reg.schema.name}: Parquet body of party ${p}`);
      }
    }
  });

  it('JSON Lines: keys in any order, person ids as text with leading zeros, CRLF, BOM, blank lines, null in an optional column', async () => {
    const reg = regs.contacts;
    const names = reg.schema.columns.map((c) => c.name).reverse();
    const lines = jsonlOf(reg, (o) => {
      const r: Obj = {};
      for (const n of names) r[n] = n === 'person_id' ? String(o[n]).padStart(10, '0') : o[n];
      return r;
    }).split('\n');
    lines.splice(5, 0, '', '   ');
    assertSameColumns(await readJsonlText('\ufeff' + lines.join('\r\n'), reg.schema, lists), reg);
    // An optional column: an absent key or null is a missing value (stored as 0); a key no line has is listed as absent.
    const schema: DatasetSchema = { ...reg.schema, columns: [...reg.schema.columns, { name: 'weight', type: 'int', required: false }] };
    const none = await readJsonlText(jsonlOf(reg), schema, lists);
    assert.ok(none.ok);
    assert.deepEqual(none.absentColumns, ['weight']);
    assert.deepEqual(none.columns!.get('weight'), new BigUint64Array(reg.length));
    const some = await readJsonlText(jsonlOf(reg, (o, i) => (i === 2 ? { ...o, weight: null } : i === 3 ? { ...o, weight: 70 } : o)), schema, lists);
    assert.ok(some.ok);
    assert.deepEqual(some.absentColumns, []);
    assert.deepEqual([...some.columns!.get('weight')!.slice(0, 5)], [0n, 0n, 0n, 70n, 0n]);
  });

  it('JSON Lines: every kind of bad value, a malformed line, a non-object and an unknown key, each with its line number', async () => {
    const reg = regs.contacts;
    const text = jsonlOf(reg, (o, i) => {
      switch (i + 1) {
        case 2: return { ...o, length_of_stay: '12' };
        case 3: return { ...o, length_of_stay: 2.5 };
        case 4: return { ...o, length_of_stay: 61 };
        case 5: return { ...o, diagnosis: 'X99.9' };
        case 6: { const { hospital: _h, ...rest } = o; return rest; }
        case 7: return { ...o, sex: null };
        case 8: return { ...o, admission_date: '2023-02-30' };
        case 9: return { ...o, admission_date: 19000 };
        case 10: return { ...o, region: 1081 };
        case 11: return { ...o, first_in_category: 'yes' };
        case 12: return { ...o, length_of_stay: true };
        case 13: return '[1, 2]';
        case 14: return '{"person_id": 101, "sex": "F",';
        case 15: return '   ';
        case 16: return { ...o, note: 'x' };
        case 17: return { ...o, note: 'again' }; // reported once, at its first line
        case 18: return { ...o, admission_date: '1999-12-31', diagnosis: { code: 'E11' } };
        case 19: return { ...o, person_id: 12.5 };
        case 20: return { ...o, person_id: 2 ** 34 };
      }
    });
    const v = await readJsonlText(text, reg.schema, lists);
    assertBad(v, [
      { line: 2, match: /^length_of_stay: expected an integer number \(int column\), found the string "12"$/ },
      { line: 3, match: /^length_of_stay: 2\.5 is not an integer \(a number with a fraction in an int column\)$/ },
      { line: 4, match: /^length_of_stay: 61 is above the maximum 60$/ },
      { line: 5, match: /^diagnosis: 'X99\.9' is not in code list icd10$/ },
      { line: 6, match: /^hospital: value is required$/ },
      { line: 7, match: /^sex: value is required$/ },
      { line: 8, match: /^admission_date: '2023-02-30' is not a date \(YYYY-MM-DD\)$/ },
      { line: 9, match: /^admission_date: expected a date \('YYYY-MM-DD' text, or a Parquet DATE\) \(date column\), found the number 19000$/ },
      { line: 10, match: /^region: expected a code as text \(code column\), found the number 1081$/ },
      { line: 11, match: /^first_in_category: expected a boolean \(true\/false\) \(bool column\), found the string "yes"$/ },
      { line: 12, match: /^length_of_stay: expected an integer number \(int column\), found the boolean true$/ },
      { line: 13, match: /^expected a JSON object \{"column": value, …\}, found an array$/ },
      { line: 14, match: /^malformed JSON: .*(end of JSON input|at column \d+)/ },
      { line: 16, match: /^column 'note' is not in the schema of contacts \(use --ignore-extra to skip it\)$/ },
      { line: 18, match: /^admission_date: 1999-12-31 is below the minimum 2022-01-01$/ },
      { line: 18, match: /^diagnosis: expected a code as text \(code column\), found an object$/ },
      { line: 19, match: /^person_id: 12\.5 is not an integer \(a number with a fraction in a person_id column\)$/ },
      { line: 20, match: /^person_id: 17179869184 is not below 2\^34$/ },
    ]);
    assert.equal(v.rows, reg.length - 1, 'every line is read (the blank one is not a record)');
    assert.equal(v.badRows, 17);
    assert.equal(v.unit, 'line');
    const out = formatProblems({ list: v.problems, count: v.problemCount, badRows: v.badRows }, 3, v.unit);
    assert.deepEqual(out, [
      '  line 2: length_of_stay: expected an integer number (int column), found the string "12"',
      '  line 3: length_of_stay: 2.5 is not an integer (a number with a fraction in an int column)',
      '  line 4: length_of_stay: 61 is above the maximum 60',
      '  … and 15 more problems (18 in 17 lines in all)',
    ]);
    // --ignore-extra skips the unknown key and nothing else changes.
    const extra = jsonlOf(reg, (o, i) => (i === 4 ? { ...o, note: 'x', source: 1 } : o));
    assertBad(await readJsonlText(extra, reg.schema, lists), [
      { line: 5, match: /^column 'note' is not in the schema/ },
      { line: 5, match: /^column 'source' is not in the schema/ },
    ]);
    const ok = await readJsonlText(extra, reg.schema, lists, { ignoreExtra: true });
    assertSameColumns(ok, reg);
    assert.deepEqual(ok.ignoredColumns, ['note', 'source']);
    // A key that differs from a column only in case: both the unknown key and the missing value, with a hint.
    const cased = await readJsonlText(jsonlOf(reg, (o, i) => (i === 1 ? { ...o, sex: undefined, Sex: o.sex } : o)), reg.schema, lists);
    assertBad(cased, [
      { line: 2, match: /^column 'Sex' is not in the schema of contacts \(use --ignore-extra to skip it; names are case-sensitive: 'Sex' should be 'sex'\)$/ },
      { line: 2, match: /^sex: value is required$/ },
    ]);
  });

  it('JSON Lines: a duplicate key (as a number and as text) names both lines; empty input', async () => {
    const reg = regs.population;
    const id3 = reg.plain.get('person_id')![2]!;
    const text = jsonlOf(reg, (o, i) => (i === 6 ? { ...o, person_id: String(id3).padStart(10, '0') } : o));
    assertBad(await readJsonlText(text, reg.schema, lists), [{ line: 7, match: new RegExp(`^person_id: duplicate value 0*${id3} \\(also on line 3\\)$`) }]);
    assertBad(await readJsonlText('', reg.schema, lists), [{ line: 1, match: /the file has no records/ }]);
    assertBad(await readJsonlText('\n\n', reg.schema, lists), [{ line: 1, match: /the file has no records/ }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Parquet

const dx = makeCodeList('dx', [['E11'], ['E10'], ['I21'], ['J45']]);
const LISTS = new Map<string, CodeList>([['dx', dx]]);
const VISITS: DatasetSchema = {
  name: 'visits',
  custodian: 'test-hospital',
  columns: [
    { name: 'pid', type: 'person_id', unique: true },
    { name: 'day', type: 'date', min: '2022-01-01', max: '2024-12-31' },
    { name: 'stay', type: 'int', min: 0, max: 60 },
    { name: 'cost', type: 'decimal', min: 0 },
    { name: 'dx', type: 'code', codeList: 'dx' },
    { name: 'urgent', type: 'bool' },
  ],
};
const DAY0 = Date.UTC(2022, 0, 1);

/** n rows of VISITS with the given Parquet types (default: INT64, TIMESTAMP_MILLIS, DOUBLE, DECIMAL(12,2), STRING, INT32 0/1). */
function visits(n: number, o: { types?: Partial<Record<string, Omit<SchemaElement, 'name'>>>; set?: [row: number, column: string, value: unknown][]; drop?: string[]; extra?: PqColumn[]; rowGroupSize?: number } = {}): ArrayBuffer {
  const types: Record<string, Omit<SchemaElement, 'name'>> = {
    pid: { type: 'INT64' },
    day: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
    stay: { type: 'DOUBLE' },
    cost: { type: 'INT64', converted_type: 'DECIMAL', precision: 12, scale: 2 },
    dx: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    urgent: { type: 'INT32' },
    ...o.types,
  };
  const data: Record<string, unknown[]> = {
    pid: Array.from({ length: n }, (_, i) => BigInt(1_000_000 + i)),
    day: Array.from({ length: n }, (_, i) => new Date(DAY0 + (i % 1000) * 86_400_000)),
    stay: Array.from({ length: n }, (_, i) => i % 61),
    cost: Array.from({ length: n }, (_, i) => (i % 1000) / 4),
    dx: Array.from({ length: n }, (_, i) => dx.codes[i % dx.codes.length]!),
    urgent: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 1 : 0)),
  };
  for (const [row, col, value] of o.set ?? []) data[col]![row - 1] = value;
  const cols = VISITS.columns.filter((c) => !o.drop?.includes(c.name)).map((c) => ({ name: c.name, el: types[c.name]!, data: data[c.name]! }));
  return writeParquet([...cols, ...(o.extra ?? [])], o.rowGroupSize);
}

/** The encoded VISITS columns of visits(n) without changes, computed directly. */
function visitsExpected(n: number): Map<string, BigUint64Array> {
  const m = new Map<string, BigUint64Array>();
  const col = (f: (i: number) => number) => BigUint64Array.from({ length: n }, (_, i) => BigInt(f(i)));
  m.set('pid', col((i) => 1_000_000 + i));
  m.set('day', col((i) => DAY0 / 86_400_000 + (i % 1000)));
  m.set('stay', col((i) => i % 61));
  m.set('cost', col((i) => ((i % 1000) / 4) * 2 ** DECIMAL_FRAC_BITS));
  m.set('dx', col((i) => dx.codes.indexOf(dx.codes[i % dx.codes.length]!)));
  m.set('urgent', col((i) => (i % 7 === 0 ? 1 : 0)));
  return m;
}

describe('ingest formats: Parquet', () => {
  it('reads typed columns (INT64, TIMESTAMP at midnight, DOUBLE, DECIMAL, STRING, 0/1 integers) to the CSV encodings', async () => {
    const v = await readParquet(visits(40, { rowGroupSize: 16 }), VISITS, LISTS);
    assert.ok(v.ok, JSON.stringify(v.problems));
    assert.equal(v.rowGroups, 3);
    assert.equal(v.unit, 'row');
    assert.deepEqual(v.columns, visitsExpected(40));
    // The same values through the CSV path.
    const csv = ['pid,day,stay,cost,dx,urgent', ...Array.from({ length: 40 }, (_, i) => [1_000_000 + i, formatDate(DAY0 / 86_400_000 + (i % 1000)), i % 61, (i % 1000) / 4, dx.codes[i % 4], i % 7 === 0 ? 1 : 0].join(','))].join('\n');
    assert.deepEqual((await readCsvText(csv, VISITS, LISTS)).columns, v.columns);
    // DATE, INT32 stay, DOUBLE cost, BOOLEAN, person ids as text: the same encodings.
    const other = visits(40, {
      types: { day: { type: 'INT32', converted_type: 'DATE' }, stay: { type: 'INT32' }, cost: { type: 'DOUBLE' }, urgent: { type: 'BOOLEAN' }, pid: { type: 'BYTE_ARRAY', converted_type: 'UTF8' } },
      set: Array.from({ length: 40 }, (_, i): [number, string, unknown][] => [[i + 1, 'urgent', i % 7 === 0], [i + 1, 'pid', String(1_000_000 + i)]]).flat(),
    });
    assert.deepEqual((await readParquet(other, VISITS, LISTS)).columns, v.columns);
  });

  it('every kind of bad value is reported with its row number ("row N")', async () => {
    const v = await readParquet(
      visits(12, {
        rowGroupSize: 5,
        set: [
          [2, 'stay', 2.5],
          [3, 'day', new Date(Date.UTC(2023, 2, 1, 12))],
          [4, 'dx', 'Z00'],
          [5, 'pid', null],
          [6, 'urgent', 2],
          [7, 'pid', 1_000_000n],
          [8, 'day', new Date(Date.UTC(2021, 11, 31))],
          [9, 'cost', -1.5],
          [10, 'stay', Number.NaN],
          [11, 'stay', 61],
          [12, 'cost', 12.345], // DECIMAL(12,2) rounds it to 12.35 when writing: valid
        ],
      }),
      VISITS,
      LISTS,
    );
    assertBad(v, [
      { line: 2, match: /^stay: 2\.5 is not an integer \(a number with a fraction in an int column\)$/ },
      { line: 3, match: /^day: the timestamp 2023-03-01T12:00:00\.000Z has a time of day \(date column: a Parquet DATE, or a TIMESTAMP at midnight UTC\)$/ },
      { line: 4, match: /^dx: 'Z00' is not in code list dx$/ },
      { line: 5, match: /^pid: value is required$/ },
      { line: 6, match: /^urgent: 2 is not a boolean \(true\/false, or 0\/1\)$/ },
      { line: 7, match: /^pid: duplicate value 1000000 \(also on row 1\)$/ },
      { line: 8, match: /^day: 2021-12-31 is below the minimum 2022-01-01$/ },
      { line: 9, match: /^cost: -1\.5 is below the minimum 0$/ },
      { line: 10, match: /^stay: NaN is not a number$/ },
      { line: 11, match: /^stay: 61 is above the maximum 60$/ },
    ]);
    assert.equal(v.rows, 12);
    const out = formatProblems({ list: v.problems, count: v.problemCount, badRows: v.badRows }, 2, v.unit);
    assert.deepEqual(out, [
      '  row 2: stay: 2.5 is not an integer (a number with a fraction in an int column)',
      '  row 3: day: the timestamp 2023-03-01T12:00:00.000Z has a time of day (date column: a Parquet DATE, or a TIMESTAMP at midnight UTC)',
      '  … and 8 more problems (10 in 10 rows in all)',
    ]);
    // A DECIMAL into an int column: whole values are fine (70 × 0.1 is read as 7, not 7.000000000000001), a fraction is reported.
    const dec = await readParquet(visits(61, { types: { stay: { type: 'INT32', converted_type: 'DECIMAL', precision: 5, scale: 1 } }, set: [[2, 'stay', 7.5]] }), VISITS, LISTS);
    assertBad(dec, [{ line: 2, match: /^stay: 7\.5 is not an integer/ }]);
  });

  it('a column of the wrong Parquet type, a missing or extra column: one problem per column, before any row is read', async () => {
    const v = await readParquet(
      visits(10, { types: { stay: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, dx: { type: 'DOUBLE' }, day: { type: 'INT32' }, urgent: { type: 'DOUBLE' } }, set: Array.from({ length: 10 }, (_, i): [number, string, unknown] => [i + 1, 'stay', String(i)]).concat(Array.from({ length: 10 }, (_, i) => [i + 1, 'dx', i] as [number, string, unknown])).concat(Array.from({ length: 10 }, (_, i) => [i + 1, 'day', 19000 + i] as [number, string, unknown])) }),
      VISITS,
      LISTS,
    );
    assertBad(v, [
      { line: 0, match: /^day: the Parquet column is INT32, which does not fit a date column \(expected DATE, a TIMESTAMP at midnight UTC, or STRING 'YYYY-MM-DD'\)$/ },
      { line: 0, match: /^stay: the Parquet column is BYTE_ARRAY \(UTF8\), which does not fit an int column \(expected INT32 or INT64/ },
      { line: 0, match: /^dx: the Parquet column is DOUBLE, which does not fit a code column \(expected STRING/ },
      { line: 0, match: /^urgent: the Parquet column is DOUBLE, which does not fit a bool column \(expected BOOLEAN/ },
    ]);
    assert.equal(v.rows, 0);
    assert.equal(v.badRows, 0, 'problems with the file as a whole are on no row');
    assert.match(formatProblems({ list: v.problems, count: v.problemCount, badRows: v.badRows }, 50, 'row')[0]!, /^ {2}file: day: the Parquet column is INT32/);

    assertBad(await readParquet(visits(5, { drop: ['dx'] }), VISITS, LISTS), [{ line: 0, match: /^missing required column dx \(the Parquet file must have the columns of visits: pid, day, stay, cost, dx, urgent\)$/ }]);
    const extra = visits(5, { extra: [{ name: 'note', el: { type: 'BYTE_ARRAY', converted_type: 'UTF8' }, data: ['a', 'b', 'c', 'd', 'e'] }] });
    assertBad(await readParquet(extra, VISITS, LISTS), [{ line: 0, match: /^column 'note' is not in the schema of visits \(use --ignore-extra to skip it\)$/ }]);
    const ok = await readParquet(extra, VISITS, LISTS, { ignoreExtra: true });
    assert.deepEqual(ok.columns, visitsExpected(5));
    assert.deepEqual(ok.ignoredColumns, ['note']);
    // Not Parquet at all.
    const csv = new TextEncoder().encode('pid,day\n1,2023-01-01\n');
    assertBad(await readParquet(csv.buffer.slice(0) as ArrayBuffer, VISITS, LISTS), [{ line: 0, match: /^not a readable Parquet file: it does not end with the Parquet marker PAR1$/ }]);
  });

  it('a 200 000-row file in 4 row groups: read row group by row group from disk, progress per row group, late rows numbered right', async () => {
    const n = 200_000;
    const path = join(root, 'visits.parquet');
    writeFileSync(path, Buffer.from(visits(n, { rowGroupSize: 50_000 })));
    const progress: IngestProgress[] = [];
    const v = await readParquetFile(path, VISITS, LISTS, { onProgress: (p) => progress.push(p) });
    assert.ok(v.ok, JSON.stringify(v.problems.slice(0, 3)));
    assert.equal(v.rows, n);
    assert.equal(v.rowGroups, 4);
    assert.deepEqual(v.columns, visitsExpected(n));
    assert.deepEqual(progress.map((p) => [p.rowGroup, p.rowGroups, p.rows, p.totalRows]), [1, 2, 3, 4].map((g) => [g, 4, g * 50_000, n]));
    assert.ok(progress.every((p, i) => i === 0 || p.bytes > progress[i - 1]!.bytes), 'bytes are read as row groups go');

    const bad = join(root, 'visits-bad.parquet');
    writeFileSync(bad, Buffer.from(visits(n, { rowGroupSize: 50_000, set: [[187_654, 'pid', 1_000_003n], [199_999, 'dx', 'E1']] })));
    assertBad(await readInputFile(bad, VISITS, LISTS), [
      { line: 187_654, match: /^pid: duplicate value 1000003 \(also on row 4\)$/ },
      { line: 199_999, match: /^dx: 'E1' is not in code list dx$/ },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI entry

describe('ingest formats: mosaik ingest', () => {
  const reg = regs.income;
  const run = async (o: Partial<Parameters<typeof runIngest>[0]> & { file: string }) => {
    const out: string[] = [];
    const code = await runIngest({ schema: 'demo:income', dryRun: true, quiet: true, out: (l) => out.push(l), err: (l) => out.push(l), ...o });
    return { code, out: out.join('\n') };
  };

  it('dry run of JSON Lines and Parquet files; the format from the extension or --format', async () => {
    const jsonl = join(root, 'income.jsonl');
    const ndjson = join(root, 'income.ndjson');
    const parquet = join(root, 'income.parquet');
    const txt = join(root, 'income-lines.txt');
    writeFileSync(jsonl, jsonlOf(reg));
    writeFileSync(ndjson, jsonlOf(reg));
    writeFileSync(txt, jsonlOf(reg));
    writeFileSync(parquet, Buffer.from(parquetOf(reg, 64)));
    assert.deepEqual([jsonl, ndjson, parquet, txt, 'x.CSV'].map(formatFromPath), ['jsonl', 'jsonl', 'parquet', 'csv', 'csv']);
    for (const f of [jsonl, ndjson, parquet]) {
      const r = await run({ file: f });
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`${f.split('/').pop()!.replace('.', '\\.')}: ${reg.length.toLocaleString('en-US')} rows × ${reg.schema.columns.length} columns valid`));
      assert.match(r.out, /ingest --dry-run: income\.\w+ is valid for income; nothing was uploaded$/);
    }
    // Not quiet: the format is named.
    const loud: string[] = [];
    assert.equal(await runIngest({ file: parquet, schema: 'demo:income', dryRun: true, out: (l) => loud.push(l), err: (l) => loud.push(l) }), 0);
    assert.match(loud[0]!, /^reading income\.parquet \([\d.]+ MB, Parquet\) as income/);
    // A .txt file is read as CSV unless --format says otherwise.
    assert.equal((await run({ file: txt })).code, 1);
    assert.equal((await run({ file: txt, format: 'jsonl' })).code, 0);
    const asCsv = await run({ file: jsonl, format: 'csv' });
    assert.equal(asCsv.code, 1);
    assert.match(asCsv.out, /line 1: malformed CSV/);
    const bogus = await run({ file: jsonl, format: 'xml' });
    assert.equal(bogus.code, 1);
    assert.match(bogus.out, /unknown format 'xml' \(choose one of csv, jsonl, parquet, fhir, omop\)/);
    const json = join(root, 'income.json');
    writeFileSync(json, '[]');
    const j = await run({ file: json });
    assert.equal(j.code, 1);
    assert.match(j.out, /cannot tell the format of .*income\.json.*use --format jsonl/);
  });

  it('an invalid JSON Lines or Parquet file: exit 1, problems by line or row', async () => {
    const jsonl = join(root, 'income-bad.jsonl');
    writeFileSync(jsonl, jsonlOf(reg, (o, i) => (i === 3 ? { ...o, year: 2031 } : i === 9 ? '{"year": 2023' : o)));
    const a = await run({ file: jsonl });
    assert.equal(a.code, 1);
    assert.match(a.out, /^income-bad\.jsonl: 2 problems in 2 lines/);
    assert.match(a.out, /line 4: year: 2031 is above the maximum 2024\n {2}line 10: malformed JSON: [^\n]+\ningest: income-bad\.jsonl is not valid for income; nothing was uploaded/);
    const pq = join(root, 'income-bad.parquet');
    const cols = reg.schema.columns.map((c) => ({ name: c.name, el: c.name === 'income' ? { type: 'DOUBLE' as const } : PQ_TYPE[c.type], data: Array.from({ length: reg.length }, (_, r) => (c.name === 'income' && r === 41 ? 1234.5 : typedValue(reg, c, r, true))) }));
    writeFileSync(pq, Buffer.from(writeParquet(cols, 50)));
    const b = await run({ file: pq });
    assert.equal(b.code, 1);
    assert.match(b.out, /^income-bad\.parquet: 1 problem in 1 row/);
    assert.match(b.out, / {2}row 42: income: 1234\.5 is not an integer \(a number with a fraction in an int column\)/);
    // A column of the wrong type: one problem for the file, no row read.
    const typed = join(root, 'income-types.parquet');
    writeFileSync(typed, Buffer.from(writeParquet(reg.schema.columns.map((c) => ({ name: c.name, el: c.name === 'year' ? PQ_TYPE.code : PQ_TYPE[c.type], data: Array.from({ length: reg.length }, (_, r) => (c.name === 'year' ? String(typedValue(reg, c, r)) : typedValue(reg, c, r, true))) })))));
    const t = await run({ file: typed });
    assert.equal(t.code, 1);
    assert.match(t.out, /^income-types\.parquet: 1 problem:\n {2}file: year: the Parquet column is BYTE_ARRAY \(UTF8\), which does not fit an int column/);
  });
});

// ---------------------------------------------------------------------------------------------
// Real uploads to a local cluster of three `mosaik node` daemons

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

describe('ingest formats: upload to a local cluster', () => {
  let cluster: LocalCluster;
  const procs: ChildProcess[] = [];
  const logs = ['', '', ''];
  const P: PartyId[] = [0, 1, 2];

  async function startNode(p: PartyId): Promise<void> {
    const child = spawn(process.execPath, [MAIN, 'node', '--dir', cluster.dir, '--party', String(p)], { stdio: ['ignore', 'pipe', 'pipe'], env: withColumnMemory() });
    procs.push(child);
    const keep = (c: Buffer) => (logs[p] = (logs[p] + c.toString()).slice(-20000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let gone: string | null = null;
    child.once('exit', (code, signal) => (gone = `exit ${code ?? signal}`));
    child.once('error', (e) => (gone = e.message));
    for (;;) {
      if (gone !== null) throw new Error(`node ${p} did not start (${gone}): ${logs[p]}`);
      try {
        const r = await apiRequest<{ party: number }>(cluster.config, p, '/v1/health', { timeoutMs: 1000 });
        if (r.status === 200 && r.body.party === p) return;
      } catch {
        /* not up yet */
      }
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }

  before(async () => {
    cluster = await createLocalCluster(join(root, 'cluster'));
    await writeApiPorts(cluster.dir);
    ensureLocalIdentities(cluster.dir); // runIngest signs with the local custodian identity
    await Promise.all(P.map((p) => startNode(p)));
  });

  after(async () => {
    await Promise.all(
      procs.map((c) => {
        if (c.exitCode !== null || c.signalCode !== null) return undefined;
        const gone = new Promise((ok) => c.once('exit', ok));
        c.kill('SIGKILL');
        return gone;
      }),
    );
  });

  /** The version as every node stores it (null where the node does not have it). */
  const stored = (name: string, version: string) =>
    Promise.all(
      P.map(async (p) => {
        const r = await apiRequest<{ version?: string; rows?: number; versions?: { version: string }[] }>(cluster.config, p, `/v1/datasets/${name}?version=${version}`);
        return r.status === 200 && r.body.version === version ? r.body.rows! : null;
      }),
    );

  it('uploads a JSON Lines file and a Parquet file: every node stores them, with exactly the shares of the same data as CSV', async () => {
    const reg = regs.income;
    const files = { jsonl: join(root, 'up-income.jsonl'), parquet: join(root, 'up-income.parquet'), csv: join(root, 'up-income.csv') };
    writeFileSync(files.jsonl, jsonlOf(reg));
    writeFileSync(files.parquet, Buffer.from(parquetOf(reg, 100)));
    writeFileSync(files.csv, registerCsv(reg, lists));
    const out: string[] = [];
    const base = { dir: cluster.dir, schema: 'demo:income', quiet: true, out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    for (const [f, version] of [[files.jsonl, 'j1'], [files.parquet, 'p1']] as const) {
      out.length = 0;
      assert.equal(await runIngest({ ...base, file: f, version }), 0, out.join('\n') + logs.join('\n'));
      assert.match(out.at(-1)!, new RegExp(`^ingest: income version ${version}: ${reg.length.toLocaleString('en-US')} rows × ${reg.schema.columns.length} columns shared; node-a stored, node-b stored, node-c stored`));
      assert.deepEqual(await stored('income', version), [reg.length, reg.length, reg.length]);
      // The CSV of the same rows under the same version is byte-identical at every node (derived shares): 200, not 409.
      out.length = 0;
      assert.equal(await runIngest({ ...base, file: files.csv, version }), 0, out.join('\n'));
      assert.match(out.at(-1)!, /node-a already had it, node-b already had it, node-c already had it/);
    }
  });

  it('a failing JSON Lines or Parquet file stores nothing at any node', async () => {
    const reg = regs.income;
    const jsonl = join(root, 'up-bad.jsonl');
    writeFileSync(jsonl, jsonlOf(reg, (o, i) => (i === reg.length - 1 ? { ...o, education: 'PhD?' } : o)));
    const pq = join(root, 'up-bad.parquet');
    const cols = reg.schema.columns.map((c) => ({ name: c.name, el: PQ_TYPE[c.type], data: Array.from({ length: reg.length }, (_, r) => (c.name === 'year' && r === reg.length - 1 ? 1999 : typedValue(reg, c, r, true))) }));
    writeFileSync(pq, Buffer.from(writeParquet(cols, 100)));
    const out: string[] = [];
    const base = { dir: cluster.dir, schema: 'demo:income', quiet: true, out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    assert.equal(await runIngest({ ...base, file: jsonl, version: 'bad-j' }), 1);
    assert.match(out.join('\n'), new RegExp(`line ${reg.length}: education: 'PhD\\?' is not in code list education[\\s\\S]*nothing was uploaded`));
    assert.equal(await runIngest({ ...base, file: pq, version: 'bad-p' }), 1);
    assert.match(out.join('\n'), new RegExp(`row ${reg.length}: year: 1999 is below the minimum 2022[\\s\\S]*nothing was uploaded`));
    assert.deepEqual(await stored('income', 'bad-j'), [null, null, null]);
    assert.deepEqual(await stored('income', 'bad-p'), [null, null, null]);
    const list = await apiRequest<{ version: string }[]>(cluster.config, 0, '/v1/datasets/income');
    const versions = (list.body as unknown as { versions: { version: string }[] }).versions.map((v) => v.version).sort();
    assert.deepEqual(versions, ['j1', 'p1']);
  });
});
