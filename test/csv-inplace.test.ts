// The CSV reader's in-place path (RowValidator.rowText: quote-free lines valued without a string
// per field) against csv-parse's streaming parser, on demo registers with random damage: every
// kind of value the fast path must refuse (blanks, signs, unknown codes, malformed dates, quotes),
// wrong field counts, duplicate keys, persons with too many rows, empty lines, a BOM, and the
// bytes cut into chunks at random places (lines and characters split across chunks). Both modes
// must give the same verdict, the same problems in the same words at the same lines, and the same
// encoded columns. Not generated: a lone CR inside a line, where the two modes have always counted
// lines differently (csv-parse takes it for a line break; the fast reader only drops a CR that
// ends a line), before and after the in-place path alike.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { registerCsv } from '../src/demo/csv.js';
import { generateRegisters } from '../src/demo/registers.js';
import { readCsv, type CsvValidation } from '../src/ingest/csv.js';
import { DECODE_BYTES, LineSplitter } from '../src/ingest/lines.js';
import { parseDate, type CodeList, type DatasetSchema } from '../src/ingest/schema.js';
import { CodeLookup } from '../src/ingest/validate.js';

const regs = generateRegisters({ citizens: 40, seed: 5 });
const NAMES = ['population', 'contacts', 'income', 'prescriptions'] as const;
const texts = new Map(NAMES.map((n) => [n, registerCsv(regs[n], regs.codeLists)]));

/** Values the fast path must not take as they are (or must take exactly as encodeValue does). */
const ODD = ['', ' ', ' 5', '5 ', '+7', '-', '-3', '-0', '00', '007', '99999999999999999', '1e3', '0x1f', 'ø', 'Sjælland', 'E11', 'E119', 'E11 ', ' E11',
  '"E11"', '"a,b"', '"two\nlines"', 'x"y', '""', '2024-02-30', '2024-1-1', '2024-01-01 ', '1899-12-31', 'TRUE', 'true', 'false', '1', '0', '5.5', '5.50', '.5', '5.', 'NaN',
  'Infinity', '-1.25', 'F', 'M', 'K', '20-24', 'Syddanmark', 'H10', '2023', '2022'];

type Edit =
  | { kind: 'value'; line: number; field: number; value: string }
  | { kind: 'copy'; line: number; field: number; from: number }
  | { kind: 'repeat'; line: number }
  | { kind: 'fields'; line: number; more: boolean }
  | { kind: 'empty'; line: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('value' as const), line: fc.nat(), field: fc.nat(), value: fc.constantFrom(...ODD) }),
  fc.record({ kind: fc.constant('copy' as const), line: fc.nat(), field: fc.nat(), from: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('fields' as const), line: fc.nat(), more: fc.boolean() }),
  fc.record({ kind: fc.constant('empty' as const), line: fc.nat() }),
);

function damaged(text: string, edits: Edit[], crlf: boolean, bom: boolean): string {
  const lines = text.replace(/\n$/, '').split('\n');
  for (const e of edits) {
    const at = 1 + (e.line % (lines.length - 1)); // never the header
    const f = lines[at]!.split(',');
    switch (e.kind) {
      case 'value':
        f[e.field % f.length] = e.value;
        lines[at] = f.join(',');
        break;
      case 'copy': {
        const other = lines[1 + (e.from % (lines.length - 1))]!.split(',');
        f[e.field % f.length] = other[e.field % f.length] ?? '';
        lines[at] = f.join(',');
        break;
      }
      case 'repeat':
        lines.splice(at, 0, lines[at]!);
        break;
      case 'fields':
        if (e.more) f.push('1');
        else f.pop();
        lines[at] = f.join(',');
        break;
      case 'empty':
        lines.splice(at, 0, ''); // '\r\n' in a CRLF file
        break;
    }
  }
  return (bom ? '\ufeff' : '') + lines.join(crlf ? '\r\n' : '\n') + '\n';
}

/** The bytes cut at the given places (any byte: a character may be split across chunks). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    if (c > from) out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

const sameOutcome = (a: CsvValidation, b: CsvValidation): void => {
  assert.equal(a.ok, b.ok);
  assert.equal(a.rows, b.rows);
  assert.deepEqual(a.problems, b.problems);
  assert.equal(a.problemCount, b.problemCount);
  assert.equal(a.badRows, b.badRows);
  assert.deepEqual(a.columns, b.columns);
};

describe('ingest: CSV values read in place', () => {
  it('gives what csv-parse gives on damaged registers cut into random chunks', async () => {
    const schemaOf = (n: (typeof NAMES)[number]) => regs[n].schema;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...NAMES),
        fc.array(edit, { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (name, edits, crlf, bom, cuts) => {
          const bytes = Buffer.from(damaged(texts.get(name)!, edits, crlf, bom), 'utf8');
          const read = (parser: 'fast' | 'csv-parse') =>
            readCsv(Readable.from(chunks(bytes, cuts)), schemaOf(name), regs.codeLists, { parser, keepProblems: 50, totalBytes: bytes.length });
          sameOutcome(await read('fast'), await read('csv-parse'));
        },
      ),
      { numRuns: 300, seed: 20261206 },
    );
  });

  it('gives what csv-parse gives on every column type, in range and out, with fields missing or extra', async () => {
    // Every type the in-place path knows, bounds on the int columns, an int column last (so a
    // field too many cannot hide in a code), a composite key and at most two rows per person.
    const schema: DatasetSchema = {
      name: 't',
      custodian: 'c',
      keys: [['id', 'k']],
      columns: [
        { name: 'id', type: 'person_id', maxRowsPerPerson: 2 },
        { name: 'c', type: 'code', codeList: 'L' },
        { name: 'd', type: 'date', min: '2000-01-01', max: '2030-12-31' },
        { name: 'b', type: 'bool', required: false },
        { name: 'x', type: 'decimal' },
        { name: 'k', type: 'int', min: -5, max: 100 },
      ],
    };
    const lists = new Map<string, CodeList>([['L', { name: 'L', codes: ['a', 'b', 'cc', 'E11'] }]]);
    // Per column: values it takes, then values it refuses (or takes only through encodeValue). Rows
    // are mostly valid, so that many files are valid as a whole and their columns are compared too.
    const good = [
      fc.integer({ min: 0, max: 2 ** 34 - 1 }).map(String),
      fc.constantFrom('a', 'b', 'cc', 'E11'),
      fc.constantFrom('2000-01-01', '2030-12-31', '2024-02-29', '2012-07-15', '2019-11-30'),
      fc.constantFrom('true', 'false', '1', '0', ''),
      fc.constantFrom('0', '1.5', '-2.25', '17', '3.125'),
      fc.integer({ min: -5, max: 100 }).map(String),
    ];
    const bad = [
      ['007', String(2 ** 34), '99999999999', '-1', ' 3', '3 ', '', 'x', '1.0'],
      ['A', ' a', 'a ', '', 'd', 'ø'],
      ['1999-12-31', '2031-01-01', '2023-02-29', '2024-1-1', '', 'x'],
      ['TRUE', 'yes', ' 1'],
      ['1e3', '.5', '', 'x', '12345678901234567890'],
      ['-6', '101', '-0', '+1', '', ' 7', '1.0', '99999999999999999'],
    ].map((v) => fc.constantFrom(...v));
    const field = (c: number) => fc.oneof({ arbitrary: good[c]!, weight: 300 }, { arbitrary: bad[c]!, weight: 1 });
    const row = fc.tuple(...good.map((_, c) => field(c)), fc.oneof({ arbitrary: fc.constant(0), weight: 400 }, { arbitrary: fc.constantFrom(-1, 1), weight: 1 }));
    // The header names the columns in any order: a record's fields follow the header's order.
    const names = schema.columns.map((c) => c.name);
    const order = fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 });
    const line = (t: (string | number)[], at: number[]) => {
      const f = at.map((c) => t[c] as string);
      const more = t[t.length - 1] as number;
      if (more < 0) f.pop();
      if (more > 0) f.push('7');
      return f.join(',');
    };
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), order, fc.array(fc.nat(), { maxLength: 4 }), async (rows, at, cuts) => {
        const bytes = Buffer.from(`${at.map((c) => names[c]).join(',')}\n${rows.map((r) => line(r, at)).join('\n')}\n`, 'utf8');
        const read = (parser: 'fast' | 'csv-parse') => readCsv(Readable.from(chunks(bytes, cuts)), schema, lists, { parser, totalBytes: bytes.length });
        const fast = await read('fast');
        sameOutcome(fast, await read('csv-parse'));
        if (fast.ok) valid++;
      }),
      { numRuns: 400, seed: 61206 },
    );
    assert.ok(valid >= 100, `only ${valid} of 400 files valid: the columns were hardly compared`);
  });

  it('reads undamaged registers in place to the generator\'s columns, chunked anywhere', async () => {
    for (const name of NAMES) {
      const reg = regs[name];
      const bytes = Buffer.from(texts.get(name)!, 'utf8');
      for (const cuts of [[], [1], [7, 8, 9, 10, 11], [Math.floor(bytes.length / 2)]]) {
        const v = await readCsv(Readable.from(chunks(bytes, cuts)), reg.schema, regs.codeLists, { totalBytes: bytes.length });
        assert.ok(v.ok, JSON.stringify(v.problems.slice(0, 3)));
        assert.equal(v.rows, reg.length);
        for (const [col, values] of reg.columns) assert.deepEqual(v.columns!.get(col), values, `${name}.${col}`);
      }
    }
  });
});

describe('ingest: chunks larger than a decoded piece', () => {
  it('a chunk is taken in pieces of DECODE_BYTES: characters and lines cut at a piece\'s end come out whole', () => {
    // 'ø' is two bytes: its first byte at the last place of the first piece; a line across the
    // second piece's end; a three-byte '€' across the third's.
    const pad = (n: number) => 'x'.repeat(n);
    const text = `${pad(DECODE_BYTES - 1)}ø,1\nab${pad(DECODE_BYTES - 10)}cd\n${pad(DECODE_BYTES - 9)}€\nlast`;
    const bytes = Buffer.from(text, 'utf8');
    assert.equal(bytes[DECODE_BYTES - 1], 0xc3, 'ø starts at the first piece\'s last byte');
    for (const cut of [[], [5], [DECODE_BYTES + 3, 2 * DECODE_BYTES + 1]]) {
      const lines: string[] = [];
      const split = new LineSplitter((l) => lines.push(l));
      for (const c of chunks(bytes, cut)) split.write(c);
      split.end();
      assert.deepEqual(lines, text.split('\n'), `cut at ${cut.join(', ') || 'nothing'}`);
    }
  });

  it('gives the text\'s lines for any text over several pieces, cut anywhere (property)', () => {
    const char = fc.constantFrom('a', 'Z', '0', ',', ' ', 'ø', '€', '𝄞', '\r');
    fc.assert(
      fc.property(fc.array(fc.array(char, { maxLength: 60 }).map((c) => c.join('')), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(6), (lines, cuts, repeat) => {
        // Repeated until the text spans at least three pieces, so that pieces end inside lines and characters.
        let text = lines.join('\n');
        while (Buffer.byteLength(text) < 3 * DECODE_BYTES + repeat) text = `${text}\n${text}`;
        const bytes = Buffer.from(text, 'utf8');
        const got: string[] = [];
        const split = new LineSplitter((l) => got.push(l));
        for (const c of chunks(bytes, cuts.map((k) => k * 7919))) split.write(c);
        split.end();
        const want = text.split('\n');
        if (want[want.length - 1] === '') want.pop(); // a last '\n' ends the last line
        assert.deepEqual(got, want);
      }),
      { numRuns: 25 },
    );
  });

  it('stops at the piece where the reader is told to, and reads no further piece', () => {
    const text = Array.from({ length: 3 * DECODE_BYTES / 8 }, (_, i) => String(i % 1000).padStart(7, '0')).join('\n');
    let seen = 0;
    const split = new LineSplitter(() => seen++, () => seen === 20_000);
    split.write(Buffer.from(text, 'utf8'));
    assert.equal(seen, 20_000);
  });

  it('a register of several MB in one chunk and in 1 MiB chunks gives the generator\'s columns', async () => {
    const big = generateRegisters({ citizens: 5000, seed: 9 });
    const reg = big.contacts;
    const bytes = Buffer.from(registerCsv(reg, big.codeLists), 'utf8');
    assert.ok(bytes.length > 8 * DECODE_BYTES, `${bytes.length} bytes`);
    for (const cuts of [[], Array.from({ length: Math.floor(bytes.length / (1 << 20)) }, (_, k) => (k + 1) << 20)]) {
      const v = await readCsv(Readable.from(chunks(bytes, cuts)), reg.schema, big.codeLists, { totalBytes: bytes.length });
      assert.ok(v.ok, JSON.stringify(v.problems.slice(0, 3)));
      assert.equal(v.rows, reg.length);
      for (const [col, values] of reg.columns) assert.deepEqual(v.columns!.get(col), values, `contacts.${col}`);
    }
  });
});

describe('ingest: code lists looked up in place', () => {
  const char = fc.constantFrom('A', 'B', 'E', '1', '9', '-', ' ', 'ø', 'æ', '€', '\u0000');
  const str = (max: number) => fc.array(char, { maxLength: max }).map((c) => c.join(''));
  it('CodeLookup finds exactly what the map finds: codes, their prefixes and extensions, other text (property)', () => {
    fc.assert(
      fc.property(fc.array(str(6), { maxLength: 40 }), fc.array(str(8), { maxLength: 40 }), str(3), str(3), (codes, others, before, after) => {
        const map = new Map(codes.map((c, i) => [c, i]));
        const lookup = new CodeLookup(map);
        const probes = [...codes, ...others, ...codes.flatMap((c) => [c.slice(0, -1), `${c}1`, `${c}ø`])];
        for (const p of probes) {
          // The value inside a longer text, as a reader sees it.
          const text = `${before}${p}${after}`;
          assert.equal(lookup.get(text, before.length, before.length + p.length), map.get(p), JSON.stringify(p));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a code list too large for a trie is looked up in its map', () => {
    const codes = Array.from({ length: 40_000 }, (_, i) => `C${String(i).padStart(6, '0')}`);
    const map = new Map(codes.map((c, i) => [c, i]));
    const lookup = new CodeLookup(map);
    for (const i of [0, 1, 39_999, 12_345]) assert.equal(lookup.get(`x${codes[i]}y`, 1, 8), i);
    assert.equal(lookup.get('C040000', 0, 7), undefined);
  });
});

describe('ingest: dates by arithmetic', () => {
  it('parseDate gives what Date.UTC gave, for every YYYY-MM-DD with months 00–13 and days 00–32', () => {
    // The reference: the Date-object parse parseDate replaced (years 0000–0099 were read as 19xx, so refused).
    const RE = /^(\d{4})-(\d{2})-(\d{2})$/;
    const byDate = (s: string): number | null => {
      const m = RE.exec(s);
      if (!m) return null;
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const t = Date.UTC(y, mo - 1, d);
      const back = new Date(t);
      if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
      return Math.round(t / 86_400_000);
    };
    const two = (x: number) => String(x).padStart(2, '0');
    let checked = 0;
    for (let y = 0; y <= 9999; y += y < 2200 ? 1 : 7) {
      for (let m = 0; m <= 13; m++) {
        for (let d = 0; d <= 32; d++) {
          const s = `${String(y).padStart(4, '0')}-${two(m)}-${two(d)}`;
          const want = byDate(s);
          if (parseDate(s) !== want) assert.fail(`${s}: ${parseDate(s)}, want ${want}`);
          checked++;
        }
      }
    }
    for (const s of ['2024-2-29', '2024-02-29 ', ' 2024-02-29', '20240229', '2024-02-29T00:00', '', '+2024-01-01']) assert.equal(parseDate(s), byDate(s), s);
    assert.ok(checked > 1_000_000);
  });
});
