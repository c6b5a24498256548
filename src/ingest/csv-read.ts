// The CSV reading core of `mosaik ingest`, shared by the CLI (./csv.ts reads files and streams)
// and the browser app (web/src/lib/custodian-upload.ts reads a picked file): header row required,
// columns matched by name in any order, every bad row reported with its line number, encoded
// columns produced only when the whole file is valid (./validate.ts). Malformed CSV (unbalanced
// quotes, a stray quote, a wrong number of fields) is reported with its line number.
//
// Parsing is RFC 4180 as implemented by csv-parse. A line without any '"' character is a record
// whose fields are exactly its comma-separated pieces under RFC 4180, so such lines, the
// overwhelming majority in register extracts, are split directly (measured ≈ 5× faster than
// csv-parse on the demo registers), and their values are read in place from the decoded text
// (RowValidator.rowText: no string per line or field unless a value needs one); every record that
// contains a quote, including multi-line quoted fields, goes through csv-parse's synchronous
// parser (consecutive quoted records in one call; the browser build aliases 'csv-parse/sync' to
// csv-parse's own browser build). Lines are counted from 1 (the header); a record spanning several
// lines is reported at its first line.
// Empty lines are skipped; a UTF-8 BOM is ignored; a line longer than 1 MiB stops the reading
// (MAX_LINE_CHARS, ./validate.ts). Bytes are decoded with TextDecoder (invalid UTF-8 becomes U+FFFD,
// which no column type accepts).
//
// Browser-safe: no Node built-in. What it reveals: nothing leaves this module; problems quote the
// offending values back to the custodian who owns them.
import { parse as parseSync, CsvError } from 'csv-parse/sync';
import { LineSplitter } from './lines.js';
import type { CodeList, DatasetSchema } from './schema.js';
import { lineTooLong, MAX_LINE_CHARS, progressReporter, RowValidator, validationResult, type IngestProgress, type IngestValidation, type RowProblem } from './validate.js';

export type CsvProgress = IngestProgress;

export interface ReadCsvOptions {
  /** Header columns that are not in the schema are skipped instead of being an error. */
  ignoreExtra?: boolean;
  /** Called about every progressIntervalMs (default 1000) while reading. */
  onProgress?: (p: CsvProgress) => void;
  progressIntervalMs?: number;
  /** How many problems to keep for the report (all are counted). Default 1000. */
  keepProblems?: number;
  /** 'fast' (default): quote-free lines split directly, the rest by csv-parse; 'csv-parse': everything by csv-parse's streaming parser (Node only: ./csv.ts). */
  parser?: 'fast' | 'csv-parse';
  /** File size, for progress (set by readCsvFile). */
  totalBytes?: number;
}

/** The result of validating a CSV file (the same shape for every input format). */
export type CsvValidation = IngestValidation;

export type CsvSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** A record reader: FastReader here, or csv-parse's streaming parser in Node (./csv.ts). */
export interface CsvReader {
  /** Lines consumed so far. */
  readonly lines: number;
  write(chunk: Uint8Array | string): void | Promise<void>;
  end(): void | Promise<void>;
  dispose(): void;
}

export type CsvSink = (fields: string[], line: number) => void;
type Reader = CsvReader;
type Sink = CsvSink;

const encoder = new TextEncoder();
/** UTF-8 length of a chunk. */
const byteLength = (chunk: Uint8Array | string): number => (typeof chunk === 'string' ? encoder.encode(chunk).length : chunk.length);

/**
 * Validates CSV bytes from any stream of chunks. `makeReader` replaces the fast reader (./csv.ts
 * passes csv-parse's streaming parser for { parser: 'csv-parse' }).
 */
export async function readCsvChunks(
  source: CsvSource,
  schema: DatasetSchema,
  codeLists: Map<string, CodeList>,
  opts: ReadCsvOptions = {},
  makeReader?: (sink: CsvSink, v: RowValidator) => CsvReader,
): Promise<CsvValidation> {
  const t0 = performance.now();
  const v = new RowValidator(schema, codeLists, {
    ignoreExtra: opts.ignoreExtra,
    keepProblems: opts.keepProblems,
    // Pre-size the columns from the file size (demo register rows are 38–85 bytes) to save regrowth.
    expectedRows: opts.totalBytes ? Math.min(1 << 24, Math.ceil(opts.totalBytes / 64)) : undefined,
  });
  const sink = (fields: string[], line: number) => {
    if (v.header === null) v.setHeader(fields, line);
    else v.row(fields, line);
  };
  let bytes = 0;
  const report = progressReporter(opts.onProgress, t0, opts.progressIntervalMs);
  const progress = (force: boolean) => report(v.rows, bytes, opts.totalBytes, force);
  // Quote-free data lines are parsed in place (RowValidator.rowText); the header and quoted records as fields.
  const textSink: CsvTextSink = (text, start, end, line) => {
    if (v.header !== null) v.rowText(text, start, end, line);
    else {
      if (opts.totalBytes) v.expectedRows = rowsExpected(text, opts.totalBytes) ?? v.expectedRows;
      v.setHeader(text.slice(start, end).split(','), line);
    }
  };
  const reader = makeReader ? makeReader(sink, v) : new FastReader(sink, v, ',', textSink);
  try {
    for await (const chunk of source) {
      bytes += byteLength(chunk);
      await reader.write(chunk);
      if (v.fatal) break; // stops (and destroys) the stream
      progress(false);
    }
    if (!v.fatal) await reader.end();
  } finally {
    reader.dispose();
  }
  v.end(reader.lines);
  progress(true);
  return validationResult(v, { format: 'csv', bytes, t0 });
}

/**
 * The rows a file of `totalBytes` holds, from the lines in its first chunk of text (so that the
 * encoded columns are sized once), or undefined when the chunk holds too few lines to tell.
 */
function rowsExpected(text: string, totalBytes: number): number | undefined {
  const sample = Math.min(text.length, 1 << 20);
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < sample; i = text.indexOf('\n', i + 1)) lines++;
  if (lines < 16) return undefined;
  // Characters stand in for bytes (a little fewer where text is not ASCII: the estimate errs high).
  return Math.min(1 << 24, Math.ceil((totalBytes * lines * 1.02) / sample) + 16);
}

/** A clear message for a csv-parse error, at the absolute line `line`. */
export function formatProblem(e: unknown, line: number, recordStart: number): RowProblem {
  if (!(e instanceof CsvError)) throw e;
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return { line: recordStart, kind: 'format', message: 'malformed CSV: a quoted field opened on this line is never closed (unbalanced quotes)' };
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return { line, kind: 'format', message: 'malformed CSV: a closing quote is followed by other characters instead of a comma or the end of the line (a quote inside a quoted field must be doubled: "")' };
    case 'INVALID_OPENING_QUOTE':
      return { line, kind: 'format', message: 'malformed CSV: a quote in the middle of an unquoted field (quote the whole field and double the quote: "a""b")' };
    default:
      return { line, kind: 'format', message: `malformed CSV: ${e.message.replace(/\s*at line \d+/, '')}` };
  }
}

/** What a record reader reports to: RowValidator, or the table reader of an OMOP export (./omop.ts). */
export interface RecordHost {
  /** Set once reading cannot go on. */
  readonly fatal: boolean;
  /** A problem that stops reading (malformed CSV, a line over MAX_LINE_CHARS). */
  fail(p: RowProblem): void;
}

/**
 * A quote-free record as a range of the decoded text (the line without its '\r'), for a sink that
 * parses fields in place (RowValidator.rowText); it splits the range itself when it needs strings.
 */
export type CsvTextSink = (text: string, start: number, end: number, line: number) => void;

/**
 * Quote-free lines split directly (or handed over as ranges of the text, with `textSink`); quoted
 * records parsed by csv-parse (see the module comment). `delimiter` ',' (CSV), or '\t' for the
 * tab-separated tables some OMOP tools write. A line over MAX_LINE_CHARS stops the reading.
 */
export class FastReader implements Reader {
  lines = 0;
  private readonly split = new LineSplitter(
    { range: (text, start, end) => this.line(text, start, end) },
    () => this.v.fatal,
    { chars: MAX_LINE_CHARS, tooLong: () => this.v.fail(lineTooLong(this.lines + 1)) },
  );
  /** Pending lines of consecutive quoted records (each line followed by '\n'). */
  private batch: string[] = [];
  private batchBytes = 0;
  private batchStart = 0;
  /** Odd while inside a quoted field. */
  private parity = 0;
  /** First line of the record being collected. */
  private recordStart = 0;
  /** Whether a record in the batch spans lines (then csv-parse reports where each ends). */
  private multiline = false;
  /** The next '"' at or after the current line of the current text (Infinity: none), so that a line is never searched past its end. */
  private quoteAt = Infinity;
  /** Where the last line started: a line that starts no later is the first of a new text. */
  private lastStart = Infinity;

  constructor(
    private readonly sink: Sink,
    private readonly v: RecordHost,
    private readonly delimiter = ',',
    private readonly textSink?: CsvTextSink,
  ) {}

  write(chunk: Uint8Array | string): void {
    this.split.write(chunk);
  }

  end(): void {
    this.split.end();
    if (this.v.fatal) return;
    // An open quote at the end: csv-parse names the first thing wrong (a stray quote, or the unclosed field).
    if (this.batch.length > 0) this.flush();
  }

  dispose(): void {}

  /** The quotes in text[start, end) (lines come in order within a text). */
  private quotes(text: string, start: number, end: number): number {
    if (start <= this.lastStart) this.quoteAt = nextQuote(text, start);
    this.lastStart = start;
    let q = 0;
    while (this.quoteAt < end) {
      q++;
      this.quoteAt = nextQuote(text, this.quoteAt + 1);
    }
    return q;
  }

  private line(text: string, start: number, end: number): void {
    const n = ++this.lines;
    if (this.parity) {
      // Inside a quoted field that started on an earlier line.
      this.multiline = true;
      this.batch.push(text.slice(start, end), '\n');
      this.batchBytes += end - start + 1;
      this.parity ^= this.quotes(text, start, end) & 1;
      if (this.parity && this.batchBytes > 4 << 20) this.flush(); // let csv-parse say what is wrong
      return;
    }
    const q = this.quotes(text, start, end);
    if (q === 0) {
      if (this.batch.length > 0) this.flush();
      if (this.v.fatal) return;
      const last = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      if (last === start) return; // empty line
      if (this.textSink) this.textSink(text, start, last, n);
      else this.sink(text.slice(start, last).split(this.delimiter), n);
      return;
    }
    if (this.batch.length === 0) this.batchStart = n;
    this.recordStart = n;
    this.batch.push(text.slice(start, end), '\n');
    this.batchBytes += end - start + 1;
    this.parity = q & 1;
    if (!this.parity && this.batchBytes > 1 << 20) this.flush();
  }

  /** Parses the pending quoted records with csv-parse. */
  private flush(): void {
    const text = this.batch.join('');
    const base = this.batchStart;
    const info = this.multiline;
    this.batch = [];
    this.batchBytes = 0;
    this.multiline = false;
    let records: unknown[];
    try {
      // Line numbers from csv-parse (info) only when needed: it costs ~40 % of the parse.
      records = parseSync(text, { relax_column_count: true, skip_empty_lines: true, info, delimiter: this.delimiter });
    } catch (e) {
      const rel = e instanceof CsvError && typeof (e as CsvError & { lines?: number }).lines === 'number' ? (e as CsvError & { lines: number }).lines : 1;
      this.v.fail(formatProblem(e, base + rel - 1, this.recordStart));
      return;
    }
    if (!info) {
      // One record per line.
      for (let k = 0; k < records.length && !this.v.fatal; k++) this.sink(records[k] as string[], base + k);
      return;
    }
    let prevEnd = 0;
    for (const r of records as { info: { lines: number }; record: string[] }[]) {
      this.sink(r.record, base + prevEnd);
      if (this.v.fatal) return;
      prevEnd = r.info.lines;
    }
  }
}

function nextQuote(text: string, from: number): number {
  const i = text.indexOf('"', from);
  return i < 0 ? Infinity : i;
}
