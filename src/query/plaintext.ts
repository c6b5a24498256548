// The plaintext reference: the same SQL run by an independent engine (SQLite, compiled to
// WebAssembly by sql.js) on the decoded rows, so a custodian or a test can check that the MPC
// answer is the right one. Never used on a node: it needs the plaintext.
//
// Dates are stored as 'YYYY-MM-DD' text and codes as their code text, so comparisons and LIKE
// prefixes mean what they mean in Mosaik's SQL (ISO dates and code lists both sort as text).
// Mosaik's extra functions are registered with the same definitions as src/query/plan.ts:
// age(birth, ref) in completed years and age_band(birth, ref[, width = 10[, top = 90]]).
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

const SQL_TYPE = { int: 'INTEGER', person_id: 'INTEGER', bool: 'INTEGER', decimal: 'REAL', date: 'TEXT', code: 'TEXT' } as const;

export class PlainDatabase {
  private constructor(private readonly db: Database) {}

  static async create(tables: PlainTable[], codeLists: Map<string, CodeList>): Promise<PlainDatabase> {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    db.run('PRAGMA case_sensitive_like = ON');
    for (const t of tables) {
      const cols = t.schema.columns;
      db.run(`CREATE TABLE ${t.schema.name} (${cols.map((c) => `${c.name} ${SQL_TYPE[c.type]}`).join(', ')})`);
      const decode = cols.map((c) => {
        const v = t.plain.get(c.name);
        if (!v) throw new Error(`plaintext table ${t.schema.name} has no column ${c.name}`);
        if (c.type === 'date') return (i: number) => formatDate(v[i]!);
        if (c.type === 'code') {
          const codes = codeLists.get(c.codeList ?? '')?.codes;
          if (!codes) throw new Error(`code list ${c.codeList} is not known`);
          return (i: number) => codes[v[i]!]!;
        }
        return (i: number) => v[i]!;
      });
      db.run('BEGIN');
      const ins = db.prepare(`INSERT INTO ${t.schema.name} VALUES (${cols.map(() => '?').join(',')})`);
      const row: (number | string)[] = new Array(cols.length);
      for (let i = 0; i < t.length; i++) {
        for (let k = 0; k < cols.length; k++) row[k] = decode[k]!(i);
        ins.run(row);
      }
      ins.free();
      db.run('COMMIT');
    }
    db.create_function('age', (b: string, ref: string) => ageYears(b, ref));
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
    return new PlainDatabase(db);
  }

  /** Runs Mosaik SQL (DATE 'x' literals become plain text dates). */
  query(sql: string): PlainResult {
    const res = this.db.exec(sql.replace(/DATE\s+'/gi, "'"))[0];
    return { columns: res?.columns ?? [], rows: (res?.values ?? []) as (number | string | null)[][] };
  }

  close(): void {
    this.db.close();
  }
}
