// Writes the synthetic registers (./registers.ts) as CSV files, the custodian's input to
// `mosaik ingest`: a header of column names, then one line per row with values as text (dates
// YYYY-MM-DD, codes as their codes, CPR-like numbers as 10 digits, bools true/false, decimals in
// JavaScript's shortest round-trip form). encodeValue() of each field gives back the encoded column.
// Rows are written as bytes straight into 1 MiB chunks (no string per row) and streamed with
// back-pressure: millions of rows in bounded memory.

import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CodeList, ColumnSpec } from '../ingest/schema.js';
import { civilFromDays, type Register, type Registers } from './registers.js';

/** RFC 4180 quoting, only when needed. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes one field of row `r` into `buf` at `pos`; returns the position after it. */
type FieldWriter = (buf: Uint8Array, pos: number, r: number) => number;

const enc = new TextEncoder();
const TRUE = enc.encode('true');
const FALSE = enc.encode('false');

function copyBytes(buf: Uint8Array, pos: number, src: Uint8Array): number {
  for (let i = 0; i < src.length; i++) buf[pos + i] = src[i]!;
  return pos + src.length;
}

/** Decimal digits of a non-negative integer (exact for safe integers), at least `width` of them. */
function writeDigits(buf: Uint8Array, pos: number, v: number, width: number): number {
  let n = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
  if (n < width) n = width;
  for (let k = n - 1; k >= 0; k--) {
    buf[pos + k] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + n;
}

function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

function fieldWriter(spec: ColumnSpec, reg: Register, codeLists: Map<string, CodeList>): [FieldWriter, number] {
  const plain = reg.plain.get(spec.name);
  if (!plain) throw new Error(`${reg.schema.name}: no data for column ${spec.name}`);
  switch (spec.type) {
    case 'person_id':
      return [(buf, pos, r) => writeDigits(buf, pos, plain[r]!, 10), 12];
    case 'date': {
      // Dates repeat a lot: format each distinct day once, as 10 bytes.
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < reg.length; i++) {
        const v = plain[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (reg.length === 0) return [(_b, pos) => pos, 0];
      const table = new Uint8Array((hi - lo + 1) * 10);
      for (let d = lo; d <= hi; d++) {
        const [y, m, dd] = civilFromDays(d);
        const t = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(dd).padStart(2, '0')}`;
        if (t.length !== 10) throw new Error(`${spec.name}: year of day ${d} is outside 0000–9999`);
        writeAscii(table, (d - lo) * 10, t);
      }
      return [
        (buf, pos, r) => {
          const o = (plain[r]! - lo) * 10;
          for (let k = 0; k < 10; k++) buf[pos + k] = table[o + k]!;
          return pos + 10;
        },
        10,
      ];
    }
    case 'code': {
      const list = codeLists.get(spec.codeList ?? '');
      if (!list) throw new Error(`${reg.schema.name}.${spec.name}: code list '${spec.codeList}' is not known`);
      const bytes = list.codes.map((c) => enc.encode(csvField(c)));
      return [(buf, pos, r) => copyBytes(buf, pos, bytes[plain[r]!]!), Math.max(1, ...bytes.map((b) => b.length))];
    }
    case 'bool':
      return [(buf, pos, r) => copyBytes(buf, pos, plain[r] ? TRUE : FALSE), 5];
    case 'int':
      return [
        (buf, pos, r) => {
          const v = plain[r]!;
          if (v < 0) {
            buf[pos++] = 45; // '-'
            return writeDigits(buf, pos, -v, 1);
          }
          return writeDigits(buf, pos, v, 1);
        },
        21,
      ];
    case 'decimal':
      return [(buf, pos, r) => writeAscii(buf, pos, String(plain[r])), 32];
  }
}

const CHUNK = 1 << 20;

/** The CSV bytes of a register (UTF-8) in chunks of about 1 MiB: the header line first. */
export function* registerCsvChunks(reg: Register, codeLists: Map<string, CodeList>): Generator<Uint8Array> {
  const ws = reg.schema.columns.map((c) => fieldWriter(c, reg, codeLists));
  const f = ws.map((w) => w[0]);
  const maxRow = ws.reduce((a, w) => a + w[1] + 1, 0);
  const k = f.length;
  yield enc.encode(reg.schema.columns.map((c) => csvField(c.name)).join(',') + '\n');
  let buf = new Uint8Array(CHUNK + maxRow);
  let pos = 0;
  for (let r = 0; r < reg.length; r++) {
    pos = f[0]!(buf, pos, r);
    for (let c = 1; c < k; c++) {
      buf[pos++] = 44; // ','
      pos = f[c]!(buf, pos, r);
    }
    buf[pos++] = 10; // '\n'
    if (pos >= CHUNK) {
      yield buf.subarray(0, pos);
      buf = new Uint8Array(CHUNK + maxRow);
      pos = 0;
    }
  }
  if (pos > 0) yield buf.subarray(0, pos);
}

/** The whole register as one CSV string (small registers and tests only). */
export function registerCsv(reg: Register, codeLists: Map<string, CodeList>): string {
  return Buffer.concat([...registerCsvChunks(reg, codeLists)]).toString('utf8');
}

/** Streams a register to a CSV file; resolves with the number of data rows written. */
export async function writeRegisterCsv(reg: Register, codeLists: Map<string, CodeList>, path: string): Promise<number> {
  await pipeline(Readable.from(registerCsvChunks(reg, codeLists), { objectMode: false }), createWriteStream(path, { encoding: 'utf8' }));
  return reg.length;
}

/** Writes every register to `dir/<schema name>.csv`; returns the paths by register name. */
export async function writeRegistersCsv(regs: Registers, dir: string): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const paths = new Map<string, string>();
  for (const reg of regs.all) {
    const path = join(dir, `${reg.schema.name}.csv`);
    await writeRegisterCsv(reg, regs.codeLists, path);
    paths.set(reg.schema.name, path);
  }
  return paths;
}
