// The main job's plaintext reference in DuckDB (@duckdb/node-api: in this process, in memory, one
// thread): the same SQL that src/query/plaintext.ts runs in SQLite, on the same decoded rows (dates
// as 'YYYY-MM-DD' text, codes as their code text, through columnDecoder), with Mosaik's functions
// defined as SQL macros by the definitions of src/query/plan.ts: age(birth, ref) in completed years
// and age_band(birth, ref[, width = 10[, top = 90]]); LEAST, GREATEST and the variances are DuckDB's
// own. Loading the main job's registers and answering its queries costs ≈ 1.4 CPU-s here against
// ≈ 3.9 in sql.js (bench/RESULTS.md); the rows go in as numbers a data chunk at a time and DuckDB
// gives codes and dates their text (every register of 100 000 citizens 1.8–2.3 → 1.5–1.8 CPU-s), each
// column of a chunk copied into its vector as one typed array (1.84–2.25 → 0.92–1.63 CPU-s, bench/RESULTS.md,
// "MPyC's head with gmpy2 2.2.1; the DuckDB reference by typed arrays"). SQLite stays the tests' reference for every SQL form;
// test/plaintext-duckdb.test.ts checks that the two engines agree. Never used on a node: it needs
// the plaintext.
import type { CodeList } from '../ingest/schema.js';
import { referenceColumns, textDates, type PlainResult, type PlainTable } from './plaintext.js';

type Duck = typeof import('@duckdb/node-api');
type Connection = Awaited<ReturnType<Awaited<ReturnType<Duck['DuckDBInstance']['create']>>['connect']>>;

const DUCK_TYPE = { int: 'BIGINT', person_id: 'BIGINT', bool: 'BIGINT', decimal: 'DOUBLE', date: 'VARCHAR', code: 'VARCHAR' } as const;

/** Mosaik's SQL functions as DuckDB macros (they shadow DuckDB's own age(), which returns an interval). */
const MACROS = [
  `CREATE MACRO age(b, r) AS CAST(substr(r, 1, 4) AS BIGINT) - CAST(substr(b, 1, 4) AS BIGINT) - CASE WHEN substr(b, 6) > substr(r, 6) THEN 1 ELSE 0 END`,
  `CREATE MACRO mosaik_band(a, w, top) AS CASE WHEN a < 0 THEN 0 ELSE least(top, CAST(floor(a / w) * w AS BIGINT)) END`,
  `CREATE MACRO age_band(b, r) AS mosaik_band(age(b, r), 10, 90), (b, r, w) AS mosaik_band(age(b, r), w, 90), (b, r, w, top) AS mosaik_band(age(b, r), w, top)`,
];

/** Rows per appended data chunk (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/** Every one of the first n values is an integer of 32 bits (signed). */
function fitsInt32(v: ArrayLike<number>, n: number): boolean {
  for (let i = 0; i < n; i++) if (!Number.isInteger(v[i]) || v[i]! < -0x8000_0000 || v[i]! > 0x7fff_ffff) return false;
  return true;
}

export class DuckReference {
  private constructor(
    private readonly close_: () => void,
    private readonly conn: Connection,
  ) {}

  /** `only`: per table, the columns to load (default all), as PlainDatabase.create. */
  static async create(tables: PlainTable[], codeLists: Map<string, CodeList>, only?: Map<string, Set<string>>): Promise<DuckReference> {
    const duck = await import('@duckdb/node-api');
    // node-api's own native layer: copies a typed array into a vector of node-api's chunk. Both are
    // pinned to one version in package.json, so that they are one native library.
    const bindings = (await import('@duckdb/node-bindings')).default;
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
        // The rows as numbers (a code's index, a date's day), appended without a string or BigInt per
        // value where they fit 32 bits; then each table made from them in one statement, DuckDB giving
        // codes and dates their text (columnDecoder's: the code list's code, 'YYYY-MM-DD').
        const raw = `${t.schema.name}__numbers`;
        const plain = cols.map((c) => t.plain.get(c.name) ?? (() => { throw new Error(`plaintext table ${t.schema.name} has no column ${c.name}`); })());
        // INTEGER where every value fits 32 bits, else DOUBLE: exact for these integers (below 2^53),
        // made BIGINT by the statement below. No BigInt per value.
        const narrow = plain.map((v, k) => cols[k]!.type !== 'decimal' && fitsInt32(v, t.length));
        await conn.run(`CREATE TABLE ${raw} (${cols.map((c, k) => `${c.name} ${narrow[k] ? 'INTEGER' : 'DOUBLE'}`).join(', ')})`);
        // Appended a data chunk at a time, each column's values copied into the chunk's vector as
        // one typed array (one native call per column and chunk, no JavaScript value per row).
        const types = narrow.map((nw) => (nw ? duck.INTEGER : duck.DOUBLE));
        const scratch = narrow.map((nw) => (nw ? new Int32Array(CHUNK_ROWS) : new Float64Array(CHUNK_ROWS)));
        const appender = await conn.createAppender(raw);
        for (let off = 0; off < t.length; off += CHUNK_ROWS) {
          const n = Math.min(CHUNK_ROWS, t.length - off);
          const chunk = duck.DuckDBDataChunk.create(types, n);
          plain.forEach((v, k) => {
            const s = scratch[k]!.subarray(0, n);
            if (v instanceof Int32Array || v instanceof Float64Array) s.set(v.subarray(off, off + n));
            else for (let i = 0; i < n; i++) s[i] = v[off + i]!;
            bindings.copy_data_to_vector(bindings.data_chunk_get_vector(chunk.chunk, k), 0, s.buffer, s.byteOffset, s.byteLength);
          });
          appender.appendDataChunk(chunk);
        }
        appender.closeSync();
        const expr = (c: (typeof cols)[number]): string => {
          if (c.type === 'date') return `strftime(DATE '1970-01-01' + CAST(${c.name} AS INTEGER), '%Y-%m-%d')`;
          if (c.type !== 'code') return c.name;
          const codes = codeLists.get(c.codeList ?? '')?.codes;
          if (!codes) throw new Error(`code list ${c.codeList} is not known`);
          return `[${codes.map((x) => `'${x.replaceAll("'", "''")}'`).join(', ')}][CAST(${c.name} AS INTEGER) + 1]`;
        };
        await conn.run(`CREATE TABLE ${t.schema.name} AS SELECT ${cols.map((c) => `CAST(${expr(c)} AS ${DUCK_TYPE[c.type]}) AS ${c.name}`).join(', ')} FROM ${raw}`);
        await conn.run(`DROP TABLE ${raw}`);
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
