// The data model (DESIGN.md, "Data model"): a dataset is a table of typed columns owned by one
// custodian. Schemas and code lists are public metadata; values are never public. Every value is
// encoded as one element of Z_2^64 before it is shared:
//   int        64-bit signed integer
//   decimal    fixed point with DECIMAL_FRAC_BITS fractional bits (round to nearest)
//   date       days since 1970-01-01 (negative before)
//   code       index in the lexicographically sorted code list, so `code LIKE 'E11%'` is the index
//              range [first code ≥ 'E11', first code > every 'E11…') — two comparisons in MPC
//   bool       0 or 1
//   person_id  a CPR-like identifier < 2^34, shared like any value
import type { UploadSignature } from './upload-statement.js';

export type ColumnType = 'int' | 'decimal' | 'date' | 'code' | 'bool' | 'person_id';

export const DECIMAL_FRAC_BITS = 16;
export const PERSON_ID_LIMIT = 2n ** 34n;

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Missing values are an error unless false (then they are stored as `missingAs`, default 0). */
  required?: boolean;
  /** Inclusive bounds in the column's own units (numbers; dates as 'YYYY-MM-DD'). */
  min?: number | string;
  max?: number | string;
  /** For type 'code': the code list's name. */
  codeList?: string;
  /** No two rows may share a value (e.g. person_id in a population register). */
  unique?: boolean;
  /**
   * On a person_id column: the most rows one person may have (e.g. 64 hospital contacts), declared
   * by the custodian and checked at ingest. It bounds what one person can contribute to a query
   * result, which differential privacy needs (src/query/dp.ts).
   */
  maxRowsPerPerson?: number;
  description?: string;
}

export interface DatasetSchema {
  name: string;
  custodian: string;
  description?: string;
  columns: ColumnSpec[];
  /**
   * Composite keys: each a set of columns whose values identify at most one row (e.g.
   * ['person_id', 'year'] in a register with one row per person and year), checked at ingest like
   * `unique`. A query that fixes every other column of a key with `col = literal` (WHERE, or ON …
   * AND i.year = 2023) reads at most one row per person of the register (src/query/contribution.ts).
   */
  keys?: string[][];
}

/**
 * The JSON header of a custodian's upload to node `party` (PUT /v1/datasets/:name/versions/:v):
 * [u32 LE header length][this header][per column, in `columns` order: share half a, then half b,
 * rows × 8 bytes each, u64 LE]. Written by src/ingest/upload.ts, checked by src/node/api.ts.
 */
export interface UploadHeader {
  schema: DatasetSchema;
  codeLists: CodeList[];
  rows: number;
  columns: string[];
  party: 0 | 1 | 2;
  /**
   * The rows are in ascending order of this person_id column: the custodian's tool sorted them
   * before sharing (src/ingest/person-order.ts), so joins on it merge instead of sort. A promise:
   * if false, joins over the register are wrong, nothing more is revealed (src/mpc/merge.ts).
   */
  sortedBy?: string;
  /**
   * The share halves this node can draw itself come as the 16-byte seed of their random stream
   * (src/ring/prg.ts: AES-128-CTR) instead of rows × 8 bytes (src/ingest/upload-body.ts
   * seededHalves): node 0 both of its halves (x₀, x₁), node 1 its first (x₁), node 2 its second
   * (x₀); x₂ = x − x₀ − x₁ comes as bytes. The node draws them before it hashes and stores them,
   * so the signed statement, the content hash and the store are those of the bytes.
   */
  seeded?: boolean;
  /**
   * The custodian's Ed25519 signature over this upload (src/ingest/upload-auth.ts): required by
   * governed nodes, ignored by un-governed ones. Not part of the stored content.
   */
  signature?: UploadSignature;
}

/** A public code list, sorted lexicographically (the index is the encoding). */
export interface CodeList {
  name: string;
  description?: string;
  codes: string[];
  /** Optional human-readable labels, same order as codes. */
  labels?: string[];
}

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** Sorts and de-duplicates a code list's codes (labels follow their codes). */
export function makeCodeList(name: string, entries: [code: string, label?: string][], description?: string): CodeList {
  const byCode = new Map<string, string>();
  for (const [c, l] of entries) byCode.set(c, l ?? '');
  const codes = [...byCode.keys()].sort(compareCodes);
  return { name, description, codes, labels: codes.map((c) => byCode.get(c)!) };
}

/** Plain code-unit order (what "lexicographic" means for ASCII code lists such as ICD-10 and ATC). */
export function compareCodes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** First index whose code is ≥ s (binary search). */
function lowerBound(codes: string[], s: string): number {
  let lo = 0, hi = codes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (codes[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index range [lo, hi) of codes starting with `prefix` (empty when lo === hi). */
export function prefixRange(list: CodeList, prefix: string): [number, number] {
  const lo = lowerBound(list.codes, prefix);
  // Sorted codes with the prefix are contiguous from lo: "< prefix or has prefix" is monotone.
  let l = lo, h = list.codes.length;
  while (l < h) {
    const mid = (l + h) >>> 1;
    if (list.codes[mid]!.startsWith(prefix)) l = mid + 1;
    else h = mid;
  }
  return [lo, l];
}

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Days since 1970-01-01 of a 'YYYY-MM-DD' date of the proleptic Gregorian calendar, or null when
 * the text is not one. Years 0000–0099 are refused (as Date.UTC, which read them as 1900–1999,
 * always did here).
 */
export function parseDate(s: string): number | null {
  const m = DATE_RE.exec(s);
  if (!m) return null;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  return daysFromCivil(y, mo, d);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (y: number, m: number): number => (m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : MONTH_DAYS[m - 1]!);

/** H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil: days since 1970-01-01 (no Date object). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function formatDate(days: number): string {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}

/** Encodes one raw text value of a column; throws SchemaError with a message fit for a row report. */
export function encodeValue(spec: ColumnSpec, raw: string, codeLists: Map<string, CodeList>): bigint {
  const v = raw.trim();
  if (v === '') {
    if (spec.required === false) return 0n;
    throw new SchemaError(`${spec.name}: value is required`);
  }
  const bound = (x: number) => {
    const lo = spec.min === undefined ? undefined : typeof spec.min === 'string' ? parseDate(spec.min) : spec.min;
    const hi = spec.max === undefined ? undefined : typeof spec.max === 'string' ? parseDate(spec.max) : spec.max;
    if (lo !== undefined && lo !== null && x < lo) throw new SchemaError(`${spec.name}: ${v} is below the minimum ${spec.min}`);
    if (hi !== undefined && hi !== null && x > hi) throw new SchemaError(`${spec.name}: ${v} is above the maximum ${spec.max}`);
  };
  switch (spec.type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(v)) throw new SchemaError(`${spec.name}: ${excerpt(v)} is not an integer`);
      const b = BigInt(v);
      if (b < -(2n ** 63n) || b >= 2n ** 63n) throw new SchemaError(`${spec.name}: ${v} does not fit in 64 bits`);
      bound(Number(b));
      return BigInt.asUintN(64, b);
    }
    case 'decimal': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw new SchemaError(`${spec.name}: ${excerpt(v)} is not a number`);
      const x = Number(v);
      bound(x);
      const scaled = Math.round(x * 2 ** DECIMAL_FRAC_BITS);
      if (!Number.isSafeInteger(scaled)) throw new SchemaError(`${spec.name}: ${v} is too large for a decimal (|x| < 2^${53 - DECIMAL_FRAC_BITS})`);
      return BigInt.asUintN(64, BigInt(scaled));
    }
    case 'date': {
      const d = parseDate(v);
      if (d === null) throw new SchemaError(`${spec.name}: ${excerpt(v)} is not a date (YYYY-MM-DD)`);
      bound(d);
      return BigInt.asUintN(64, BigInt(d));
    }
    case 'code': {
      const list = codeLists.get(spec.codeList ?? '');
      if (!list) throw new SchemaError(`${spec.name}: code list '${spec.codeList}' is not known`);
      const i = lowerBound(list.codes, v);
      if (list.codes[i] !== v) throw new SchemaError(`${spec.name}: ${excerpt(v)} is not in code list ${list.name}`);
      return BigInt(i);
    }
    case 'bool': {
      const t = v.toLowerCase();
      if (['1', 'true', 't', 'yes', 'y'].includes(t)) return 1n;
      if (['0', 'false', 'f', 'no', 'n'].includes(t)) return 0n;
      throw new SchemaError(`${spec.name}: ${excerpt(v)} is not a boolean`);
    }
    case 'person_id': {
      if (!/^\d{1,11}$/.test(v)) throw new SchemaError(`${spec.name}: ${excerpt(v)} is not a person identifier (digits only)`);
      const b = BigInt(v);
      if (b >= PERSON_ID_LIMIT) throw new SchemaError(`${spec.name}: ${v} is not below 2^34`);
      return b;
    }
  }
}

/** Decodes a revealed ring element of a column back to a display value. */
export function decodeValue(spec: ColumnSpec, x: bigint, codeLists: Map<string, CodeList>): string | number | boolean {
  const s = BigInt.asIntN(64, x);
  switch (spec.type) {
    case 'int':
    case 'person_id':
      return Number(s);
    case 'decimal':
      return Number(s) / 2 ** DECIMAL_FRAC_BITS;
    case 'date':
      return formatDate(Number(s));
    case 'bool':
      return s !== 0n;
    case 'code':
      return codeLists.get(spec.codeList ?? '')?.codes[Number(s)] ?? `#${s}`;
  }
}

/** Signed bit width that holds every value of a column (used to size comparisons in MPC). */
export function valueBits(spec: ColumnSpec, codeLists: Map<string, CodeList>): number {
  switch (spec.type) {
    case 'bool':
      return 2;
    case 'person_id':
      return 36;
    case 'date':
      return 24; // ±2^23 days ≈ ±22 900 years
    case 'code':
      return Math.max(2, Math.ceil(Math.log2((codeLists.get(spec.codeList ?? '')?.codes.length ?? 1) + 1)) + 1);
    case 'int':
    case 'decimal': {
      if (typeof spec.min === 'number' && typeof spec.max === 'number') {
        const scale = spec.type === 'decimal' ? 2 ** DECIMAL_FRAC_BITS : 1;
        const m = Math.max(Math.abs(spec.min), Math.abs(spec.max)) * scale;
        return Math.min(64, Math.ceil(Math.log2(m + 1)) + 1);
      }
      return 64;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Names: the one rule for dataset names and version ids, checked here only (ingest, the share
// store, every node route, studies, the consortium configuration and consent updates call these).
// Both fit in a URL path segment of every node route (src/node/api.ts allows path parameters of
// MAX_ID_LENGTH characters and more), so a name ingest accepts never meets HTTP 414 at a node.

/** The longest dataset name or version id. */
export const MAX_ID_LENGTH = 64;
/** Dataset (and column) names: lower-case letters, digits and _, starting with a letter, at most 64. */
export const DATASET_NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
/** Version ids: letters, digits, . _ -, starting with a letter or digit, at most 64. */
export const VERSION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const isDatasetName = (s: unknown): s is string => typeof s === 'string' && DATASET_NAME_RE.test(s);

/**
 * Untrusted text (a value, a header name, a name in a URL) as a message may quote it: short
 * printable text as it is, in `quote`s ('E11', or bare with quote ''); anything longer than `max`
 * characters cut to `max` with its length said, and anything with control or invisible characters
 * escaped as a JSON string. A message never echoes more than about `max` characters of input.
 */
export function excerpt(s: unknown, max = 40, quote = "'"): string {
  const t = String(s);
  if (t.length <= max && /^[^\p{C}]*$/u.test(t) && (quote === '' || !t.includes(quote))) return `${quote}${t}${quote}`;
  const cut = t.length > max ? t.slice(0, max) : t;
  return `${JSON.stringify(cut).replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}${t.length > max ? `… (${t.length} characters)` : ''}`;
}

/** A dataset name by the one rule, or SchemaError (`make` another error class for other callers). */
export function checkDatasetName(name: unknown, what = 'dataset name', make: (m: string) => Error = (m) => new SchemaError(m)): string {
  if (!isDatasetName(name)) throw make(`${what} ${excerpt(name)} must be 1-${MAX_ID_LENGTH} characters: lower-case letters, digits and _, starting with a letter`);
  return name;
}

/** A version id by the one rule, or SchemaError (or `make`'s error). */
export function checkVersionId(version: unknown, what = 'version', make: (m: string) => Error = (m) => new SchemaError(m)): string {
  if (typeof version !== 'string' || !VERSION_ID_RE.test(version)) throw make(`${what} ${excerpt(version)} must be 1-${MAX_ID_LENGTH} characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  return version;
}

/** Checks a schema for internal consistency (names, types, code lists); throws SchemaError. */
export function checkSchema(schema: DatasetSchema, codeLists: Map<string, CodeList>): void {
  checkDatasetName(schema.name);
  const seen = new Set<string>();
  for (const c of schema.columns) {
    checkDatasetName(c.name, `${schema.name}: column name`);
    if (seen.has(c.name)) throw new SchemaError(`${schema.name}: column '${c.name}' appears twice`);
    seen.add(c.name);
    if (c.type === 'code' && !codeLists.has(c.codeList ?? '')) throw new SchemaError(`${schema.name}.${c.name}: code list '${c.codeList}' is not known`);
    if (c.maxRowsPerPerson !== undefined) {
      if (c.type !== 'person_id') throw new SchemaError(`${schema.name}.${c.name}: maxRowsPerPerson applies to person_id columns only (this column is ${c.type})`);
      if (!Number.isInteger(c.maxRowsPerPerson) || c.maxRowsPerPerson < 1) throw new SchemaError(`${schema.name}.${c.name}: maxRowsPerPerson must be a positive integer, got ${c.maxRowsPerPerson}`);
    }
  }
  for (const key of schema.keys ?? []) {
    if (!Array.isArray(key) || key.length === 0) throw new SchemaError(`${schema.name}: every key must be a non-empty list of column names, got ${JSON.stringify(key)}`);
    for (const c of key) if (!seen.has(c)) throw new SchemaError(`${schema.name}: key ${JSON.stringify(key)} names '${c}', which is not a column`);
    if (new Set(key).size !== key.length) throw new SchemaError(`${schema.name}: key ${JSON.stringify(key)} names a column twice`);
  }
}
