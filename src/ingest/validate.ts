// Row validation and encoding for `mosaik ingest`: every value of every row is checked against its
// ColumnSpec with exactly the rules of encodeValue() (./schema.ts: types, ranges, code lists,
// required fields), `unique` columns are checked for duplicate keys, and every problem is recorded
// with its line number. The encoded columns (BigUint64Array, one ring element per value) are handed
// out only when the whole input was valid, so nothing partial can be shared.
//
// Speed (the CSV reader calls push() for millions of rows): encodeValue() allocates a BigInt and a
// few closures per value, so each column has a fast path that gives the same result for the
// common, well-formed case without a BigInt: a Map from code to index for code columns, a memo of
// raw text → encoding for dates, bools and decimals (few distinct values), and a digit loop for
// person ids and integers. Anything the fast path does not recognise goes through encodeValue()
// itself, which either encodes it (e.g. surrounding blanks, a '+' sign) or throws the SchemaError
// whose message ends up in the report. Values are stored as two 32-bit halves, not as BigInts.
import { encodeValue, SchemaError, type CodeList, type ColumnSpec, type DatasetSchema } from './schema.js';

export type ProblemKind = 'format' | 'header' | 'fields' | 'value' | 'duplicate';

/** One problem found in the input; `line` is 1-based (the header is line 1 in a usual CSV). */
export interface RowProblem {
  line: number;
  kind: ProblemKind;
  /** The column concerned, when there is one. */
  column?: string;
  message: string;
}

/** Collects problems: counts all of them, keeps the first `keep` for the report. */
export class ProblemLog {
  count = 0;
  /** Distinct lines (rows) with at least one problem. */
  badRows = 0;
  readonly list: RowProblem[] = [];
  private lastBadLine = -1;

  constructor(readonly keep = 1000) {}

  add(p: RowProblem): void {
    this.count++;
    if (p.line !== this.lastBadLine) {
      this.badRows++;
      this.lastBadLine = p.line;
    }
    if (this.list.length < this.keep) this.list.push(p);
  }
}

const TWO32 = 4294967296;

/** A growable column of ring elements kept as little-endian 32-bit halves. */
export class ColumnBuilder {
  private w: Uint32Array;
  length = 0;

  constructor(capacity = 1 << 14) {
    this.w = new Uint32Array(2 * Math.max(16, capacity));
  }

  private grow(): void {
    const nu = new Uint32Array(this.w.length * 2);
    nu.set(this.w);
    this.w = nu;
  }

  /** A signed safe integer (the ring element is its value mod 2^64). */
  pushNumber(v: number): void {
    if (2 * this.length + 2 > this.w.length) this.grow();
    const i = 2 * this.length++;
    this.w[i] = v >>> 0;
    this.w[i + 1] = Math.floor(v / TWO32) >>> 0;
  }

  pushBigInt(x: bigint): void {
    const u = BigInt.asUintN(64, x);
    if (2 * this.length + 2 > this.w.length) this.grow();
    const i = 2 * this.length++;
    this.w[i] = Number(u & 0xffffffffn);
    this.w[i + 1] = Number(u >> 32n);
  }

  /** The column, trimmed to its length (copies). */
  finish(): BigUint64Array {
    return new BigUint64Array(this.w.buffer.slice(0, 8 * this.length));
  }
}

/** The ring element as a number when it is a safe integer (signed view), else the bigint. */
function compact(x: bigint): number | bigint {
  const s = BigInt.asIntN(64, x);
  return s >= -9007199254740991n && s <= 9007199254740991n ? Number(s) : x;
}

const MEMO_LIMIT = 200_000;
const PERSON_ID_LIMIT = 2 ** 34;

type Kind = 'code' | 'memo' | 'person' | 'int' | 'slow';

/** Validates and encodes the values of one column, one row at a time. */
export class ColumnEncoder {
  readonly out: ColumnBuilder;
  private readonly kind: Kind;
  private readonly codes: Map<string, number> | null = null;
  private readonly memo = new Map<string, number | bigint>();
  private readonly seen: Map<number | bigint, number> | null;
  private readonly lo: number;
  private readonly hi: number;
  /** Set false once the input is known to be invalid: values are then only checked, not kept. */
  keep = true;

  constructor(
    readonly spec: ColumnSpec,
    private readonly codeLists: Map<string, CodeList>,
    capacity?: number,
  ) {
    this.out = new ColumnBuilder(capacity);
    this.seen = spec.unique ? new Map() : null;
    this.lo = typeof spec.min === 'number' ? spec.min : -Infinity;
    this.hi = typeof spec.max === 'number' ? spec.max : Infinity;
    const numericBounds = (spec.min === undefined || typeof spec.min === 'number') && (spec.max === undefined || typeof spec.max === 'number');
    switch (spec.type) {
      case 'code': {
        const list = codeLists.get(spec.codeList ?? '');
        if (list) {
          this.codes = new Map(list.codes.map((c, i) => [c, i]));
          this.kind = 'code';
        } else this.kind = 'slow';
        break;
      }
      case 'date':
      case 'bool':
      case 'decimal':
        this.kind = 'memo';
        break;
      case 'person_id':
        this.kind = 'person';
        break;
      case 'int':
        this.kind = numericBounds ? 'int' : 'slow';
        break;
    }
  }

  /** Checks and stores one raw value; returns the problem, or null when it is valid. */
  push(raw: string, line: number): RowProblem | null {
    let v: number | bigint | undefined;
    switch (this.kind) {
      case 'code':
        v = this.codes!.get(raw);
        break;
      case 'memo':
        v = this.memo.get(raw);
        break;
      case 'person':
        v = parseDigits(raw, 11);
        if (v !== undefined && v >= PERSON_ID_LIMIT) v = undefined;
        break;
      case 'int': {
        let n: number | undefined;
        if (raw.charCodeAt(0) === 45 /* - */) {
          n = parseDigits(raw.slice(1), 15);
          if (n !== undefined) n = -n;
        } else n = parseDigits(raw, 15);
        if (n !== undefined && n >= this.lo && n <= this.hi) v = n;
        break;
      }
    }
    if (v === undefined) {
      try {
        v = compact(encodeValue(this.spec, raw, this.codeLists));
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        return { line, kind: 'value', column: this.spec.name, message: e.message };
      }
      if (this.kind === 'memo' && this.memo.size < MEMO_LIMIT) this.memo.set(raw, v);
    }
    if (this.seen) {
      const first = this.seen.get(v);
      if (first !== undefined) {
        return { line, kind: 'duplicate', column: this.spec.name, message: `${this.spec.name}: duplicate value ${raw.trim()} (also on line ${first})` };
      }
      this.seen.set(v, line);
    }
    if (this.keep) {
      if (typeof v === 'number') this.out.pushNumber(v);
      else this.out.pushBigInt(v);
    }
    return null;
  }
}

/** A string of 1…maxLen ASCII digits as a number, else undefined. */
function parseDigits(s: string, maxLen: number): number | undefined {
  const n = s.length;
  if (n === 0 || n > maxLen) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return v;
}

export interface HeaderMapping {
  /** For each schema column, the index of its field in a record, or −1 (optional column absent: every value missing). */
  fieldOf: number[];
  /** Header fields that are not schema columns (ignored with ignoreExtra). */
  extra: string[];
  /** Optional schema columns (required: false) absent from the header. */
  absent: string[];
  problems: RowProblem[];
}

/** Matches a header row to the schema: columns by name in any order. */
export function mapHeader(schema: DatasetSchema, header: string[], line: number, opts: { ignoreExtra?: boolean } = {}): HeaderMapping {
  const names = header.map((h) => h.trim());
  const problems: RowProblem[] = [];
  const index = new Map<string, number>();
  const dup = new Set<string>();
  names.forEach((n, i) => {
    if (index.has(n)) dup.add(n);
    else index.set(n, i);
  });
  if (dup.size > 0) problems.push({ line, kind: 'header', message: `the header names ${[...dup].map((d) => `'${d}'`).join(', ')} more than once` });
  const known = new Set(schema.columns.map((c) => c.name));
  const fieldOf: number[] = [];
  const missing: string[] = [];
  const absent: string[] = [];
  for (const c of schema.columns) {
    const i = index.get(c.name);
    if (i !== undefined) fieldOf.push(i);
    else {
      fieldOf.push(-1);
      if (c.required === false) absent.push(c.name);
      else missing.push(c.name);
    }
  }
  const extra = names.filter((n) => !known.has(n));
  if (missing.length > 0) {
    const lower = new Map(names.map((n) => [n.toLowerCase(), n]));
    const hints = missing.filter((m) => lower.has(m)).map((m) => `'${lower.get(m)}' should be '${m}'`);
    problems.push({
      line,
      kind: 'header',
      message:
        `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the first line must be a header naming the columns of ${schema.name}: ${schema.columns.map((c) => c.name).join(', ')})` +
        (hints.length ? `; names are case-sensitive: ${hints.join(', ')}` : ''),
    });
  }
  if (extra.length > 0 && !opts.ignoreExtra) {
    problems.push({
      line,
      kind: 'header',
      message: `column${extra.length > 1 ? 's' : ''} ${extra.map((e) => `'${e}'`).join(', ')} ${extra.length > 1 ? 'are' : 'is'} not in the schema of ${schema.name} (use --ignore-extra to skip ${extra.length > 1 ? 'them' : 'it'})`,
    });
  }
  return { fieldOf, extra, absent, problems };
}

/**
 * Validates rows (arrays of raw field texts) against a schema. Feed the header first (setHeader),
 * then every record with its line number; finish() gives the columns only when nothing was wrong.
 */
export class RowValidator {
  readonly problems: ProblemLog;
  rows = 0;
  header: string[] | null = null;
  mapping: HeaderMapping | null = null;
  private encoders: ColumnEncoder[] = [];
  private width = 0;
  /** Set when the input cannot be read on (malformed CSV, bad header): no more rows are accepted. */
  fatal = false;

  constructor(
    readonly schema: DatasetSchema,
    readonly codeLists: Map<string, CodeList>,
    private readonly opts: { ignoreExtra?: boolean; keepProblems?: number; expectedRows?: number } = {},
  ) {
    this.problems = new ProblemLog(opts.keepProblems ?? 1000);
  }

  setHeader(fields: string[], line: number): void {
    this.header = fields.map((f) => f.trim());
    this.width = fields.length;
    this.mapping = mapHeader(this.schema, fields, line, this.opts);
    for (const p of this.mapping.problems) this.problems.add(p);
    if (this.mapping.problems.length > 0) {
      this.fatal = true;
      return;
    }
    this.encoders = this.schema.columns.map((c) => new ColumnEncoder(c, this.codeLists, this.opts.expectedRows));
  }

  /** A problem that stops reading (malformed CSV). */
  fail(p: RowProblem): void {
    this.problems.add(p);
    this.fatal = true;
  }

  row(fields: string[], line: number): void {
    if (this.fatal) return;
    this.rows++;
    if (fields.length !== this.width) {
      this.bad({ line, kind: 'fields', message: `${fields.length} field${fields.length === 1 ? '' : 's'}, but the header has ${this.width}` });
      return;
    }
    const enc = this.encoders;
    const fieldOf = this.mapping!.fieldOf;
    for (let c = 0; c < enc.length; c++) {
      const f = fieldOf[c]!;
      const p = enc[c]!.push(f < 0 ? '' : fields[f]!, line);
      if (p !== null) this.bad(p);
    }
  }

  private bad(p: RowProblem): void {
    if (this.problems.count === 0) for (const e of this.encoders) e.keep = false; // nothing will be kept
    this.problems.add(p);
  }

  /** Ends the input; adds a problem when there was no header or no data row. */
  end(lastLine: number): void {
    if (this.fatal) return;
    if (this.header === null) this.fail({ line: 1, kind: 'format', message: 'the file is empty (a header row naming the columns is required)' });
    else if (this.rows === 0) this.fail({ line: lastLine + 1, kind: 'format', message: 'no data rows after the header' });
  }

  get ok(): boolean {
    return this.problems.count === 0 && this.header !== null && this.rows > 0;
  }

  /** The encoded columns in schema order, or null if anything was wrong. */
  finish(): Map<string, BigUint64Array> | null {
    if (!this.ok) return null;
    const out = new Map<string, BigUint64Array>();
    for (const e of this.encoders) out.set(e.spec.name, e.out.finish());
    return out;
  }
}

/** The problems as report lines, at most `cap` of them, then a line counting the rest. */
export function formatProblems(log: { list: RowProblem[]; count: number; badRows: number }, cap = 50): string[] {
  const lines = log.list.slice(0, cap).map((p) => `  line ${p.line}: ${p.message}`);
  const rest = log.count - Math.min(cap, log.list.length);
  if (rest > 0) lines.push(`  … and ${rest} more problem${rest > 1 ? 's' : ''} (${log.count} in ${log.badRows} line${log.badRows > 1 ? 's' : ''} in all)`);
  return lines;
}
