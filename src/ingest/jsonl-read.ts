// Reads a custodian's JSON Lines file (.jsonl / .ndjson), streaming, and validates it against a
// dataset schema with the same core as CSV (./validate.ts): one JSON object per line, its keys the
// column names (any order), every bad line reported with its line number, encoded columns produced
// only when the whole file is valid.
//
// - A schema column missing from an object, or null, is a missing value (an error for a required
//   column, as an empty CSV field). A key that is not a schema column is a problem, reported once
//   at the first line that has it (as an unknown CSV header column), unless ignoreExtra
//   (`--ignore-extra`) skips it.
// - Values come typed: typedText() (./validate.ts) maps each JSON value to the text the CSV path
//   checks (ranges, code lists, required values, duplicates), and rejects a value whose JSON type
//   does not fit its column with a clear message: a string in an int column, a number with a
//   fraction in an int column, a number in a code column, … Dates are 'YYYY-MM-DD' strings.
// - A line that is not valid JSON, or not an object, is a problem reported with its line number.
//   Lines are independent, so reading goes on and every bad line is listed (unlike malformed CSV,
//   after which the rest of the file cannot be trusted).
// - Lines are counted from 1; blank (whitespace-only) lines are skipped but counted; a UTF-8 BOM
//   and a CR before the LF are ignored. Memory: one line at a time plus the encoded columns; a line
//   longer than MAX_LINE_CHARS (1 MiB, ./validate.ts) stops the reading with a problem at that line.
//
// This module is the reading core, browser-safe (no Node built-in; the web app's upload uses it);
// ./jsonl.ts adds reading files and streams in Node.
import { LineSplitter } from './lines.js';
import { excerpt, type CodeList, type DatasetSchema } from './schema.js';
import { describeValue, lineTooLong, MAX_LINE_CHARS, progressReporter, RowValidator, validationResult, type IngestProgress, type IngestValidation, type RowProblem } from './validate.js';

export interface ReadJsonlOptions {
  /** Keys that are not schema columns are skipped instead of being an error. */
  ignoreExtra?: boolean;
  /** Called about every progressIntervalMs (default 1000) while reading. */
  onProgress?: (p: IngestProgress) => void;
  progressIntervalMs?: number;
  /** How many problems to keep for the report (all are counted). Default 1000. */
  keepProblems?: number;
  /** File size, for progress (set by readJsonlFile). */
  totalBytes?: number;
}

export type JsonlSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

const encoder = new TextEncoder();

/** Validates JSON Lines bytes from any stream of chunks. */
export async function readJsonlChunks(source: JsonlSource, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadJsonlOptions = {}): Promise<IngestValidation> {
  const t0 = performance.now();
  const v = new RowValidator(schema, codeLists, {
    ignoreExtra: opts.ignoreExtra,
    keepProblems: opts.keepProblems,
    // JSON lines repeat the keys: about twice the bytes of a CSV row.
    expectedRows: opts.totalBytes ? Math.min(1 << 24, Math.ceil(opts.totalBytes / 128)) : undefined,
    unit: 'line',
  });
  v.startRecords();
  const reader = new JsonlReader(v, schema, !!opts.ignoreExtra);
  let bytes = 0;
  const report = progressReporter(opts.onProgress, t0, opts.progressIntervalMs);
  for await (const chunk of source) {
    bytes += typeof chunk === 'string' ? encoder.encode(chunk).length : chunk.length;
    reader.write(chunk);
    report(v.rows, bytes, opts.totalBytes, false);
  }
  reader.end();
  if (v.rows === 0) v.fail({ line: 1, kind: 'format', message: 'the file has no records (one JSON object per line is expected, its keys naming the columns)' });
  report(v.rows, bytes, opts.totalBytes, true);
  return validationResult(v, { format: 'jsonl', bytes, t0, header: reader.header(), ignoredColumns: reader.ignored, absentColumns: reader.absent() });
}

/** A clear message for a JSON.parse error; V8's "at position N" (0-based) becomes "at column N+1". */
function jsonProblem(e: unknown, line: number): RowProblem {
  if (!(e instanceof SyntaxError)) throw e;
  const msg = e.message
    .replace(/\s*in JSON at position (\d+)(?:\s*\(line \d+ column \d+\))?/, (_m, p: string) => ` at column ${Number(p) + 1}`)
    .replace(/^JSON\.parse: /, '');
  return { line, kind: 'format', message: `malformed JSON: ${msg}` };
}

class JsonlReader {
  lines = 0;
  /** Keys outside the schema, in order of first appearance. */
  readonly ignored: string[] = [];
  private readonly split = new LineSplitter(
    (s) => this.line(s),
    () => this.v.fatal,
    { chars: MAX_LINE_CHARS, tooLong: () => this.v.fail(lineTooLong(this.lines + 1)) },
  );
  private readonly names: string[];
  private readonly known: Set<string>;
  private readonly extraSeen = new Set<string>();
  private readonly vals: unknown[];
  private readonly present: boolean[];

  constructor(
    private readonly v: RowValidator,
    private readonly schema: DatasetSchema,
    private readonly ignoreExtra: boolean,
  ) {
    this.names = schema.columns.map((c) => c.name);
    this.known = new Set(this.names);
    this.vals = new Array<unknown>(this.names.length);
    this.present = this.names.map(() => false);
  }

  write(chunk: Uint8Array | string): void {
    this.split.write(chunk);
  }

  end(): void {
    this.split.end();
  }

  /** Schema columns that occurred, then the other keys, in order of first appearance. */
  header(): string[] {
    return [...this.names.filter((_, c) => this.present[c]), ...this.extraSeen];
  }

  /** Optional schema columns that no record had. */
  absent(): string[] {
    return this.schema.columns.filter((c, i) => c.required === false && !this.present[i]).map((c) => c.name);
  }

  private line(s: string): void {
    const n = ++this.lines;
    const c0 = s.charCodeAt(0);
    if (c0 !== 123 /* { */ && s.trim() === '') return; // blank line (also a lone CR)
    let o: unknown;
    try {
      o = JSON.parse(s); // JSON whitespace includes the CR of a CRLF line end
    } catch (e) {
      this.v.badRecord(jsonProblem(e, n));
      return;
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) {
      this.v.badRecord({ line: n, kind: 'format', message: `expected a JSON object {"column": value, …}, found ${o === null ? 'null' : describeValue(o)}` });
      return;
    }
    const rec = o as Record<string, unknown>;
    for (const k in rec) if (!this.known.has(k)) this.unknownKey(k, n);
    const names = this.names;
    const vals = this.vals;
    for (let c = 0; c < names.length; c++) {
      let x = rec[names[c]!];
      if (typeof x === 'function') x = undefined; // an Object.prototype member such as 'constructor', not a key of the record
      vals[c] = x;
      if (x !== undefined) this.present[c] = true;
    }
    this.v.values(vals, n);
  }

  private unknownKey(k: string, line: number): void {
    if (this.extraSeen.has(k)) return;
    this.extraSeen.add(k);
    if (this.ignoreExtra) {
      this.ignored.push(k);
      return;
    }
    const same = this.names.find((n) => n.toLowerCase() === k.toLowerCase());
    const hint = same ? `; names are case-sensitive: '${k}' should be '${same}'` : '';
    this.v.note({ line, kind: 'header', column: k, message: `column ${excerpt(k)} is not in the schema of ${this.schema.name} (use --ignore-extra to skip it${hint})` });
  }
}
