// The main job's plaintext reference, the answer every MPC result is checked against: DuckDB
// (src/query/plaintext-duckdb.ts) where its native library loads, SQLite in WebAssembly (sql.js,
// src/query/plaintext.ts) where it does not: a platform the npm registry has no DuckDB binary for,
// or a library that fails to load. Both answer the same SQL on the same decoded rows
// (test/plaintext-duckdb.test.ts). MOSAIK_REFERENCE=sqlite chooses SQLite outright. Never used on a
// node: it needs the plaintext.
import type { CodeList } from '../ingest/schema.js';
import { DuckReference } from './plaintext-duckdb.js';
import { PlainDatabase, type PlainResult, type PlainTable } from './plaintext.js';

export interface PlainReference {
  /** Which engine answers: for the main job's output. */
  readonly engine: 'DuckDB' | 'SQLite';
  query(sql: string): Promise<PlainResult>;
  excludePersons(ids: Iterable<number>): Promise<void>;
  close(): void;
}

export interface OpenedReference {
  ref: PlainReference;
  /** Why DuckDB was not used, when it was wanted and failed to load. */
  fallback?: string;
}

type Create<T> = (tables: PlainTable[], codeLists: Map<string, CodeList>, only?: Map<string, Set<string>>) => Promise<T>;

/**
 * Loads the reference: DuckDB unless `prefer` (default MOSAIK_REFERENCE) is 'sqlite'; if DuckDB
 * cannot be loaded, SQLite, with the reason in `fallback`. `duck` replaces DuckReference.create in
 * tests.
 */
export async function openPlainReference(
  tables: PlainTable[],
  codeLists: Map<string, CodeList>,
  only?: Map<string, Set<string>>,
  { prefer = process.env.MOSAIK_REFERENCE, duck = DuckReference.create }: { prefer?: string; duck?: Create<DuckReference> } = {},
): Promise<OpenedReference> {
  const choice = (prefer ?? 'duckdb').toLowerCase();
  if (choice !== 'duckdb' && choice !== 'sqlite') throw new RangeError(`MOSAIK_REFERENCE is '${prefer}': use duckdb (the default) or sqlite`);
  let fallback: string | undefined;
  if (choice === 'duckdb') {
    try {
      const d = await duck(tables, codeLists, only);
      return { ref: { engine: 'DuckDB', query: (sql) => d.query(sql), excludePersons: (ids) => d.excludePersons(ids), close: () => d.close() } };
    } catch (e) {
      fallback = `DuckDB could not be loaded (${(e as Error).message.split('\n')[0]}); the plaintext reference runs in SQLite (sql.js) instead`;
    }
  }
  const db = await PlainDatabase.create(tables, codeLists, only);
  return {
    ref: {
      engine: 'SQLite',
      query: async (sql) => db.query(sql),
      excludePersons: async (ids) => db.excludePersons(ids),
      close: () => db.close(),
    },
    ...(fallback ? { fallback } : {}),
  };
}
