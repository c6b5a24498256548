// The plaintext reference: the same SQL run by an independent engine (SQLite, compiled to
// WebAssembly by sql.js) on the decoded rows, so a custodian or a test can check that the MPC
// answer is the right one. Never used on a node: it needs the plaintext.
//
// Dates are stored as 'YYYY-MM-DD' text and codes as their code text, so comparisons and LIKE
// prefixes mean what they mean in Mosaik's SQL (ISO dates and code lists both sort as text).
// Mosaik's extra functions are registered with the same definitions as src/query/plan.ts:
// age(birth, ref) in completed years and age_band(birth, ref[, width = 10[, top = 90]]), and
// standard SQL's LEAST(a, b) and GREATEST(a, b) (SQLite spells them as the scalar min(a, b) and
// max(a, b)), so a clamped aggregate SUM(LEAST(GREATEST(x, 0), 100)) runs as written.
import initSqlJs, { type Database } from 'sql.js';
import { formatDate, type CodeList, type DatasetSchema } from '../ingest/schema.js';

/** A table as plain numbers: dates as days since 1970-01-01, codes as list indices, bools as 0/1. */
export interface PlainTable {
  schema: DatasetSchema;
  length: number;
  plain: Map<string, ArrayLike<number>>;
}

export interface PlainResult {
  columns: string[];
  rows: (number | string | null)[][];
}

function ageYears(birth: string, ref: string): number {
  const [yb, mdb] = [Number(birth.slice(0, 4)), birth.slice(5)];
  const [yr, mdr] = [Number(ref.slice(0, 4)), ref.slice(5)];
  return yr - yb - (mdb > mdr ? 1 : 0);
}

/** Registers Mosaik's SQL functions and aggregates on a SQLite database (sql.js). */
export function registerMosaikFunctions(db: Database): void {
  db.create_function('age', (b: string, ref: string) => ageYears(b, ref));
  db.create_function('least', (a: number, b: number) => Math.min(a, b));
  db.create_function('greatest', (a: number, b: number) => Math.max(a, b));
  const band = (b: string, ref: string, w: number, top: number) => {
    const a = ageYears(b, ref);
    return a < 0 ? 0 : Math.min(top, Math.floor(a / w) * w);
  };
  // One registration per arity (sql.js takes the arity from the JS function).
  db.create_function('age_band', (b: string, ref: string) => band(b, ref, 10, 90));
  db.create_function('age_band', (b: string, ref: string, w: number) => band(b, ref, w, 90));
  db.create_function('age_band', (b: string, ref: string, w: number, top: number) => band(b, ref, w, top));
  const agg = (name: string, fin: (n: number, s: number, q: number) => number | null) =>
    (db as unknown as { create_aggregate: (n: string, a: object) => void }).create_aggregate(name, {
      init: () => [0, 0, 0],
      step: (st: number[], x: number) => [st[0]! + 1, st[1]! + x, st[2]! + x * x],
      finalize: (st: number[]) => fin(st[0]!, st[1]!, st[2]!),
    });
  const vs = (n: number, s: number, q: number) => (n > 1 ? (q - (s * s) / n) / (n - 1) : null);
  const vp = (n: number, s: number, q: number) => (n > 0 ? q / n - (s / n) ** 2 : null);
  agg('variance', vs);
  agg('var_samp', vs);
  agg('var_pop', vp);
  agg('stddev', (n, s, q) => (n > 1 ? Math.sqrt(vs(n, s, q)!) : null));
  agg('stddev_samp', (n, s, q) => (n > 1 ? Math.sqrt(vs(n, s, q)!) : null));
  agg('stddev_pop', (n, s, q) => (n > 0 ? Math.sqrt(vp(n, s, q)!) : null));
}

const SQL_TYPE = { int: 'INTEGER', person_id: 'INTEGER', bool: 'INTEGER', decimal: 'REAL', date: 'TEXT', code: 'TEXT' } as const;

/** Mosaik SQL for a reference that stores dates as 'YYYY-MM-DD' text: DATE 'x' literals become plain text. */
export const textDates = (sql: string): string => sql.replace(/DATE\s+'/gi, "'");

/** The columns of `t` a reference loads (`only`: per table, the columns to keep); undefined: none. */
export function referenceColumns(t: PlainTable, only?: Map<string, Set<string>>): DatasetSchema['columns'] | undefined {
  const keep = only?.get(t.schema.name);
  if (only && !keep) return undefined;
  return t.schema.columns.filter((c) => !keep || keep.has(c.name));
}

/**
 * Row i of column c as a reference engine stores it: dates as 'YYYY-MM-DD' text, codes as their
 * code text, everything else as the number.
 */
export function columnDecoder(t: PlainTable, c: DatasetSchema['columns'][number], codeLists: Map<string, CodeList>): (i: number) => number | string {
  const v = t.plain.get(c.name);
  if (!v) throw new Error(`plaintext table ${t.schema.name} has no column ${c.name}`);
  if (c.type === 'date') {
    // Few distinct days: each formatted once (Date's ISO text was a third of the load).
    const text = new Map<number, string>();
    return (i: number) => {
      const d = v[i]!;
      let s = text.get(d);
      if (s === undefined) text.set(d, (s = formatDate(d)));
      return s;
    };
  }
  if (c.type === 'code') {
    const codes = codeLists.get(c.codeList ?? '')?.codes;
    if (!codes) throw new Error(`code list ${c.codeList} is not known`);
    return (i: number) => codes[v[i]!]!;
  }
  return (i: number) => v[i]!;
}

export class PlainDatabase {
  private constructor(private readonly db: Database) {}

  /** `only`: per table, the columns to load (default all) — a reference for a few queries needs few. */
  static async create(tables: PlainTable[], codeLists: Map<string, CodeList>, only?: Map<string, Set<string>>): Promise<PlainDatabase> {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    // The tables are TEMP tables kept in SQLite's own memory: sql.js keeps its main database as a file
    // of its in-memory file system, which grows by 1/8 at a time once past 1 MiB, copying the whole
    // file each time (4 s of the 5 s that loading the main job's registers took).
    db.run('PRAGMA case_sensitive_like = ON; PRAGMA temp_store = MEMORY');
    for (const t of tables) {
      const cols = referenceColumns(t, only);
      if (!cols) continue;
      db.run(`CREATE TEMP TABLE ${t.schema.name} (${cols.map((c) => `${c.name} ${SQL_TYPE[c.type]}`).join(', ')})`);
      const decode = cols.map((c) => columnDecoder(t, c, codeLists));
      // Many rows per statement: sql.js crosses into WebAssembly once per statement step.
      const BATCH = 256;
      const stmtFor = (rows: number) => db.prepare(`INSERT INTO ${t.schema.name} VALUES ${new Array(rows).fill(`(${cols.map(() => '?').join(',')})`).join(',')}`);
      db.run('BEGIN');
      const full = stmtFor(BATCH);
      const values: (number | string)[] = new Array(BATCH * cols.length);
      for (let start = 0; start < t.length; start += BATCH) {
        const m = Math.min(BATCH, t.length - start);
        const stmt = m === BATCH ? full : stmtFor(m);
        const vals = m === BATCH ? values : new Array(m * cols.length);
        for (let r = 0; r < m; r++) for (let k = 0; k < cols.length; k++) vals[r * cols.length + k] = decode[k]!(start + r);
        stmt.run(vals);
        if (stmt !== full) stmt.free();
      }
      full.free();
      db.run('COMMIT');
      // The studies look a register's rows up by person (EXISTS, JOIN … ON person_id): without an
      // index SQLite builds an automatic one for every statement. A register with several rows per
      // person gets one index, once: the main job's reference 2.5 → 1.5 s with building it.
      for (const c of cols) if (c.type === 'person_id' && !c.unique) db.run(`CREATE INDEX ${t.schema.name}_${c.name} ON ${t.schema.name} (${c.name})`);
    }
    registerMosaikFunctions(db);
    return new PlainDatabase(db);
  }

  /** Runs Mosaik SQL (DATE 'x' literals become plain text dates). */
  query(sql: string): PlainResult {
    const res = this.db.exec(textDates(sql))[0];
    return { columns: res?.columns ?? [], rows: (res?.values ?? []) as (number | string | null)[][] };
  }

  /**
   * Removes every row of these persons from every table with a person_id column: the plaintext
   * mirror of a consent filter (persons whose consent does not cover the purpose count nowhere).
   */
  excludePersons(ids: Iterable<number>): void {
    this.db.run('CREATE TEMP TABLE IF NOT EXISTS excluded_persons (person_id INTEGER PRIMARY KEY)');
    this.db.run('BEGIN');
    const ins = this.db.prepare('INSERT OR IGNORE INTO excluded_persons VALUES (?)');
    for (const id of ids) ins.run([id]);
    ins.free();
    const tables = (this.db.exec("SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name <> 'excluded_persons'")[0]?.values ?? []).map((r) => String(r[0]));
    for (const t of tables) {
      const cols = (this.db.exec(`PRAGMA table_info(${t})`)[0]?.values ?? []).map((r) => String(r[1]));
      if (cols.includes('person_id')) this.db.run(`DELETE FROM ${t} WHERE person_id IN (SELECT person_id FROM excluded_persons)`);
    }
    this.db.run('COMMIT');
  }

  close(): void {
    this.db.close();
  }
}
