// Reads a custodian's Parquet file with hyparquet and validates it against a dataset schema with the
// same core as CSV (./validate.ts): every bad row reported as "row N" (the first row is row 1),
// encoded columns produced only when the whole file is valid.
//
// - The footer gives the columns and the row groups. Columns are matched to the schema by name, in
//   any order; a column that is not in the schema is an error unless ignoreExtra (`--ignore-extra`),
//   and is then not read at all. Before any row is read, each schema column's Parquet type is
//   checked against the column type (ACCEPTS below): a STRING column for an int column, a DOUBLE for
//   a code column, a nested (group/list) column, … is one problem for the whole column, not one per
//   row. Those problems, and a missing required column, stand at position 0 ("file: …").
// - Rows are read one row group at a time, and of each row group only the column chunks needed (byte
//   ranges of the file, so a large file is never in memory at once: memory is bounded by a row
//   group's decoded columns plus the encoded output). Progress is reported after every row group.
// - Values come typed from hyparquet: numbers (INT32, FLOAT, DOUBLE, DECIMAL scaled to a number),
//   bigints (INT64), strings (BYTE_ARRAY/STRING), Dates (DATE, TIMESTAMP, INT96), booleans, and null
//   for a missing value. typedText() (./validate.ts) maps each to the text the CSV path checks, so
//   ranges, code lists, required values and duplicates follow exactly the CSV rules; a per-value
//   mismatch is reported on its row (a fraction in an int column read from a DOUBLE or DECIMAL, a
//   TIMESTAMP with a time of day in a date column, a 2 in a bool column read from integers, …).
// - A file that is not Parquet, or a row group that cannot be decoded (e.g. a compression codec
//   hyparquet does not support without extra packages: only uncompressed and SNAPPY are), stops
//   reading with a problem naming the rows concerned.
import { statSync } from 'node:fs';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type ColumnData, type FileMetaData, type SchemaElement, type SchemaTree } from 'hyparquet';
import type { CodeList, ColumnType, DatasetSchema } from './schema.js';
import { progressReporter, RowValidator, validationResult, type IngestProgress, type IngestValidation, type RowProblem } from './validate.js';

export interface ReadParquetOptions {
  /** Parquet columns that are not in the schema are skipped (not read) instead of being an error. */
  ignoreExtra?: boolean;
  /** Called after every row group. */
  onProgress?: (p: IngestProgress) => void;
  /** How many problems to keep for the report (all are counted). Default 1000. */
  keepProblems?: number;
}

/** What a Parquet column holds, as far as the column types of a dataset are concerned. */
export type ParquetKind = 'integer' | 'float' | 'decimal' | 'boolean' | 'string' | 'date' | 'timestamp' | 'other';

/** The Parquet kinds each column type takes (the values are then checked one by one). */
const ACCEPTS: Record<ColumnType, ParquetKind[]> = {
  int: ['integer', 'decimal', 'float'],
  decimal: ['decimal', 'float', 'integer'],
  date: ['date', 'timestamp', 'string'],
  code: ['string'],
  bool: ['boolean', 'integer'],
  person_id: ['integer', 'string'],
};

const WANTED: Record<ColumnType, string> = {
  int: 'INT32 or INT64 (or DOUBLE / DECIMAL holding whole numbers)',
  decimal: 'DOUBLE, FLOAT, DECIMAL, INT32 or INT64',
  date: "DATE, a TIMESTAMP at midnight UTC, or STRING 'YYYY-MM-DD'",
  code: 'STRING (BYTE_ARRAY)',
  bool: 'BOOLEAN (or integers 0/1)',
  person_id: 'INT64 or INT32 (or STRING of digits)',
};

const DAY_MS = 86_400_000;

/** The kind of a leaf column and how to name it in a report ("INT32 (DATE)", "BYTE_ARRAY (STRING)"). */
export function parquetKind(el: SchemaElement): { kind: ParquetKind; label: string; adapt?: (x: unknown) => unknown } {
  const t = el.type ?? 'group';
  const ct = el.converted_type;
  const lt = el.logical_type;
  const note = lt ? (lt.type === 'DECIMAL' ? `DECIMAL(${lt.precision},${lt.scale})` : lt.type === 'TIMESTAMP' ? `TIMESTAMP(${lt.unit})` : lt.type) : ct === 'DECIMAL' ? `DECIMAL(${el.precision},${el.scale ?? 0})` : ct;
  const label = note && note !== t ? `${t} (${note})` : t;
  if (ct === 'DECIMAL') {
    // hyparquet gives unscaled × 10^-scale, a product that can miss the decimal by an ulp (70 × 0.1 =
    // 7.000000000000001): round to the scale's digits, which is the double a CSV field "7.0" gives.
    const s = el.scale ?? 0;
    return { kind: 'decimal', label, adapt: s > 0 && s <= 100 ? (x) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(s)) : x) : undefined };
  }
  if (lt?.type === 'DECIMAL') {
    // hyparquet scales a DECIMAL only when the converted type says so; scale it here otherwise.
    if (t !== 'INT32' && t !== 'INT64') return { kind: 'other', label };
    const s = lt.scale;
    return { kind: 'decimal', label, adapt: (x) => (x === null || x === undefined ? x : Number(`${x}e-${s}`)) };
  }
  if (ct === 'DATE') return { kind: 'date', label };
  if (lt?.type === 'DATE') return { kind: 'date', label, adapt: (x) => (typeof x === 'number' ? new Date(x * DAY_MS) : x) };
  if (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS' || lt?.type === 'TIMESTAMP' || t === 'INT96') return { kind: 'timestamp', label };
  if (ct === 'UTF8' || ct === 'ENUM' || lt?.type === 'STRING' || lt?.type === 'ENUM') return { kind: 'string', label };
  if (ct || (lt && lt.type !== 'INTEGER' && lt.type !== 'FLOAT16')) {
    // INT_8 … UINT_64 are plain integers; everything else (TIME, JSON, BSON, UUID, INTERVAL, …) fits no column type.
    if (ct && /^U?INT_\d+$/.test(ct)) return { kind: 'integer', label };
    return { kind: 'other', label };
  }
  switch (t) {
    case 'BOOLEAN':
      return { kind: 'boolean', label };
    case 'INT32':
    case 'INT64':
      return { kind: 'integer', label };
    case 'FLOAT':
    case 'DOUBLE':
      return { kind: 'float', label };
    case 'BYTE_ARRAY':
      return { kind: 'string', label }; // hyparquet decodes unannotated byte arrays as UTF-8 text
    default:
      return { kind: lt?.type === 'FLOAT16' ? 'float' : 'other', label };
  }
}

/** Counts the bytes hyparquet reads from the file. */
function counting(file: AsyncBuffer): { file: AsyncBuffer; read: () => number } {
  let read = 0;
  return {
    file: {
      byteLength: file.byteLength,
      slice(start: number, end?: number) {
        read += (end ?? file.byteLength) - start;
        return file.slice(start, end);
      },
    },
    read: () => read,
  };
}

/** Validates a Parquet file against a schema, one row group at a time. */
export async function readParquetFile(path: string, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadParquetOptions = {}): Promise<IngestValidation> {
  statSync(path); // a clear ENOENT before hyparquet's own
  return readParquet(await asyncBufferFromFile(path), schema, codeLists, opts);
}

/** Validates Parquet data (a file opened with hyparquet's asyncBufferFromFile, or bytes in memory). */
export async function readParquet(input: AsyncBuffer | ArrayBuffer, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadParquetOptions = {}): Promise<IngestValidation> {
  const t0 = performance.now();
  const { file, read } = counting(input instanceof ArrayBuffer ? { byteLength: input.byteLength, slice: (s: number, e?: number) => input.slice(s, e) } : input);
  const validator = (expectedRows?: number) => new RowValidator(schema, codeLists, { ignoreExtra: opts.ignoreExtra, keepProblems: opts.keepProblems, unit: 'row', expectedRows });

  let metadata: FileMetaData;
  let tree: SchemaTree;
  try {
    metadata = await parquetMetadataAsync(file);
    tree = parquetSchema(metadata);
  } catch (e) {
    const msg = (e as Error).message.replace(/^parquet /, '');
    const v = validator();
    v.fail({ line: 0, kind: 'format', message: `not a readable Parquet file: ${/footer != PAR1|too short/.test(msg) ? 'it does not end with the Parquet marker PAR1' : msg}` });
    return validationResult(v, { format: 'parquet', bytes: read(), t0 });
  }
  // The footer says how many rows there are: the encoded columns are allocated once.
  const v = validator(Math.min(1 << 24, Number(metadata.num_rows)));
  const done = (rowGroups?: number) => validationResult(v, { format: 'parquet', bytes: read(), t0, rowGroups });
  const leaves = tree.children;
  const names = leaves.map((c) => c.element.name);
  v.setHeader(names, 0, 'the Parquet file must have');
  if (v.fatal) return done(metadata.row_groups.length);

  // Each schema column's Parquet type, before any row is read.
  const fieldOf = v.mapping!.fieldOf;
  const adapt: (((x: unknown) => unknown) | undefined)[] = [];
  const typeProblems: RowProblem[] = [];
  schema.columns.forEach((spec, c) => {
    const f = fieldOf[c]!;
    if (f < 0) return;
    const node = leaves[f]!;
    const nested = node.children.length > 0 || node.element.repetition_type === 'REPEATED';
    const k = nested ? { kind: 'other' as const, label: `a nested ${node.element.repetition_type === 'REPEATED' ? 'repeated' : 'group'} column` } : parquetKind(node.element);
    adapt[c] = k.adapt;
    if (!ACCEPTS[spec.type].includes(k.kind)) {
      typeProblems.push({
        line: 0,
        kind: 'header',
        column: spec.name,
        message: `${spec.name}: the Parquet column is ${k.label}, which does not fit ${spec.type === 'int' ? 'an' : 'a'} ${spec.type} column (expected ${WANTED[spec.type]})`,
      });
    }
  });
  if (typeProblems.length > 0) {
    for (const p of typeProblems) v.fail(p);
    return done(metadata.row_groups.length);
  }

  const readCols = schema.columns.map((_, c) => fieldOf[c]!).filter((f) => f >= 0).map((f) => names[f]!);
  const groups = metadata.row_groups;
  const totalRows = Number(metadata.num_rows);
  const report = progressReporter(opts.onProgress, t0, 0);
  const vals = new Array<unknown>(schema.columns.length);
  let start = 0;
  for (let g = 0; g < groups.length && !v.fatal; g++) {
    const n = Number(groups[g]!.num_rows);
    if (n === 0) continue;
    const chunks = new Map<string, ColumnData[]>();
    try {
      if (readCols.length > 0) {
        await parquetRead({
          file,
          metadata,
          columns: readCols,
          rowStart: start,
          rowEnd: start + n,
          onChunk: (ch) => {
            const l = chunks.get(ch.columnName);
            if (l) l.push(ch);
            else chunks.set(ch.columnName, [ch]);
          },
        });
      }
    } catch (e) {
      const msg = (e as Error).message.replace(/^parquet /, '');
      const hint = /compression codec/.test(msg) ? ' (hyparquet reads uncompressed and SNAPPY Parquet; write the file with one of those)' : ' (the file is damaged or uses a Parquet feature hyparquet cannot read)';
      v.fail({ line: start + 1, kind: 'format', message: `cannot read row group ${g + 1} of ${groups.length} (rows ${start + 1}–${start + n}): ${msg}${hint}` });
      break;
    }
    // The row group's values per schema column (null: the column is absent, every value missing).
    const data = schema.columns.map((_, c) => {
      const f = fieldOf[c]!;
      return f < 0 ? null : rowsOf(chunks.get(names[f]!) ?? [], start, n, adapt[c]);
    });
    const k = data.length;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        const d = data[c];
        vals[c] = d === null ? undefined : d[r];
      }
      v.values(vals, start + r + 1);
    }
    start += n;
    report(v.rows, read(), file.byteLength, true, { rowGroup: g + 1, rowGroups: groups.length, totalRows });
  }
  if (!v.fatal && v.rows === 0) v.fail({ line: 0, kind: 'format', message: 'the file has no rows' });
  return done(groups.length);
}

/** Rows [start, start + n) of one column from its chunks, adapted (see parquetKind). */
function rowsOf(chunks: ColumnData[], start: number, n: number, adapt?: (x: unknown) => unknown): ArrayLike<unknown> {
  const one = chunks.length === 1 ? chunks[0]! : null;
  let out: ArrayLike<unknown>;
  if (one && one.rowStart === start && one.columnData.length === n) out = one.columnData as ArrayLike<unknown>;
  else {
    const a = new Array<unknown>(n);
    for (const ch of chunks) {
      const d = ch.columnData as ArrayLike<unknown>;
      for (let i = Math.max(0, start - ch.rowStart); i < d.length; i++) {
        const r = ch.rowStart + i - start;
        if (r >= n) break;
        a[r] = d[i];
      }
    }
    out = a;
  }
  if (!adapt) return out;
  return Array.from(out, adapt);
}
