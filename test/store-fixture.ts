// A small register written straight into a node's share store (src/node/store.ts), for the tests of
// the nodes' in-memory caches (test/select-cache.test.ts, test/analysis-cache.test.ts), and every
// file under a node directory (for the checks that no plaintext reaches one).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetSchema } from '../src/ingest/schema.js';
import type { AShare } from '../src/mpc/share.js';
import { shareColumns, type ShareStore } from '../src/node/store.js';

export const SCHEMA: DatasetSchema = {
  name: 'reg',
  custodian: 'hospital',
  description: 'test register',
  columns: [
    { name: 'person_id', type: 'person_id' },
    { name: 'x', type: 'int', min: 0, max: 1000 },
  ],
};

/** Writes this party's shares of (person_id, x) as `name@version`. */
export async function writeVersion(st: ShareStore, version: string, shares: AShare[], party: number, name = 'reg') {
  return st.write({ name, version, schema: { ...SCHEMA, name }, codeLists: [], rows: shares[0]!.length, columns: ['person_id', 'x'], party }, shareColumns(shares));
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
}
