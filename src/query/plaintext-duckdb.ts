// The main job's plaintext reference in DuckDB (@duckdb/node-api: in this process, in memory, one
// thread): the same SQL that src/query/plaintext.ts runs in SQLite, on the same decoded rows (dates
// as 'YYYY-MM-DD' text, codes as their code text, through columnDecoder), with Mosaik's functions
// defined as SQL macros by the definitions of src/query/plan.ts: age(birth, ref) in completed years
// and age_band(birth, ref[, width = 10[, top = 90]]); LEAST, GREATEST and the variances are DuckDB's
// own. Loading the main job's registers and answering its queries costs ≈ 1.4 CPU-s here against
// ≈ 3.9 in sql.js (bench/RESULTS.md). SQLite stays the tests' reference for every SQL form;
// test/plaintext-duckdb.test.ts checks that the two engines agree. Never used on a node: it needs
// the plaintext.
import type { CodeList } from '../ingest/schema.js';
import { columnDecoder, referenceColumns, textDates, type PlainResult, type PlainTable } from './plaintext.js';

type Duck = typeof import('@duckdb/node-api');
type Connection = Awaited<ReturnType<Awaited<ReturnType<Duck['DuckDBInstance']['create']>>['connect']>>;

const DUCK_TYPE = { int: 'BIGINT', person_id: 'BIGINT', bool: 'BIGINT', decimal: 'DOUBLE', date: 'VARCHAR', code: 'VARCHAR' } as const;

/** Mosaik's SQL functions as DuckDB macros (they shadow DuckDB's own age(), which returns an interval). */
const MACROS = [
  `CREATE MACRO age(b, r) AS CAST(substr(r, 1, 4) AS BIGINT) - CAST(substr(b, 1, 4) AS BIGINT) - CASE WHEN substr(b, 6) > substr(r, 6) THEN 1 ELSE 0 END`,
  `CREATE MACRO mosaik_band(a, w, top) AS CASE WHEN a < 0 THEN 0 ELSE least(top, CAST(floor(a / w) * w AS BIGINT)) END`,
  `CREATE MACRO age_band(b, r) AS mosaik_band(age(b, r), 10, 90), (b, r, w) AS mosaik_band(age(b, r), w, 90), (b, r, w, top) AS mosaik_band(age(b, r), w, top)`,
];

export class DuckReference {
  private constructor(
    private readonly close_: () => void,
    private readonly conn: Connection,
  ) {}

  /** `only`: per table, the columns to load (default all), as PlainDatabase.create. */
  static async create(tables: PlainTable[], codeLists: Map<string, CodeList>, only?: Map<string, Set<string>>): Promise<DuckReference> {
    const duck = await import('@duckdb/node-api');
    // One thread: the reference runs beside the nodes' MPC on the same cores.
    const instance = await duck.DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    const ref = new DuckReference(() => {
      conn.closeSync();
      instance.closeSync();
    }, conn);
    try {
      for (const m of MACROS) await conn.run(m);
      for (const t of tables) {
        const cols = referenceColumns(t, only);
        if (!cols) continue;
        await conn.run(`CREATE TABLE ${t.schema.name} (${cols.map((c) => `${c.name} ${DUCK_TYPE[c.type]}`).join(', ')})`);
        const appender = await conn.createAppender(t.schema.name);
        const put = cols.map((c): ((i: number) => void) => {
          const decode = columnDecoder(t, c, codeLists);
          if (c.type === 'date' || c.type === 'code') return (i) => appender.appendVarchar(decode(i) as string);
          if (c.type === 'decimal') return (i) => appender.appendDouble(decode(i) as number);
          return (i) => appender.appendBigInt(BigInt(decode(i)));
        });
        for (let i = 0; i < t.length; i++) {
          for (const p of put) p(i);
          appender.endRow();
        }
        appender.closeSync();
      }
    } catch (e) {
      ref.close();
      throw e;
    }
    return ref;
  }

  /** Runs Mosaik SQL (DATE 'x' literals become plain text dates, as the dates are text here). */
  async query(sql: string): Promise<PlainResult> {
    const reader = await this.conn.runAndReadAll(textDates(sql));
    // Integers as numbers and truth values as 1/0, as SQLite gives them.
    const rows = reader.getRows().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) : v === null || typeof v === 'number' || typeof v === 'string' ? v : String(v))));
    return { columns: reader.columnNames(), rows };
  }

  /** Removes every row of these persons from every table with a person_id column (PlainDatabase.excludePersons). */
  async excludePersons(ids: Iterable<number>): Promise<void> {
    await this.conn.run('CREATE TABLE IF NOT EXISTS excluded_persons (person_id BIGINT)');
    const appender = await this.conn.createAppender('excluded_persons');
    const seen = new Set<number>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      appender.appendBigInt(BigInt(id));
      appender.endRow();
    }
    appender.closeSync();
    const tables = (await this.conn.runAndReadAll("SELECT table_name FROM duckdb_columns() WHERE column_name = 'person_id' AND database_name = 'memory' AND schema_name = 'main' AND table_name <> 'excluded_persons'")).getRows().map((r) => String(r[0]));
    for (const t of tables) await this.conn.run(`DELETE FROM ${t} WHERE person_id IN (SELECT person_id FROM excluded_persons)`);
  }

  close(): void {
    this.close_();
  }
}
