// The plaintext baseline of the side-by-side benchmark: the same statistics as SQL in DuckDB
// (@duckdb/node-api, in-process, in-memory database, DuckDB's default thread count) on the same
// generated rows. Loading the table is not timed; each query runs once untimed, then `reps` times.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGroupSums, checkMeanVar, type Expected, generateData, type Measurement, Skip, type WorkloadId } from './common.js';

export const DUCKDB_SQL = {
  meanvar: 'SELECT AVG(x), VAR_POP(x) FROM bench',
  groupsum: 'SELECT k, SUM(x) FROM bench GROUP BY k ORDER BY k',
};

export async function runDuckdb(workDir: string, workload: WorkloadId, n: number, reps: number, seed: number, expected: (n: number) => Expected): Promise<Measurement> {
  if (workload !== 'meanvar' && workload !== 'groupsum') throw new Skip('the plaintext baseline runs the statistics only');
  let duck: typeof import('@duckdb/node-api');
  try {
    duck = await import('@duckdb/node-api');
  } catch (e) {
    throw new Skip(`@duckdb/node-api cannot be loaded: ${e instanceof Error ? e.message : e}`);
  }
  const { x, key } = generateData(n, seed);
  const csv = join(workDir, `duckdb-${n}.csv`);
  const lines: string[] = ['x,k'];
  for (let i = 0; i < n; i++) lines.push(`${x[i]},${key[i]}`);
  writeFileSync(csv, lines.join('\n') + '\n');

  const instance = await duck.DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`CREATE TABLE bench AS SELECT * FROM read_csv('${csv}', header = true, columns = {'x': 'INTEGER', 'k': 'INTEGER'})`);
    const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0]![0];
    const query = async () => (await conn.runAndReadAll(DUCKDB_SQL[workload])).getRows();
    let rows = await query();
    const runs: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      rows = await query();
      runs.push((performance.now() - t0) / 1000);
    }
    const seconds = Math.min(...runs);
    const correct = workload === 'meanvar'
      ? checkMeanVar([Number(rows[0]![0]), Number(rows[0]![1])], expected(n))
      : checkGroupSums(rows.map((r) => Number(r[1])), expected(n));
    return { system: 'duckdb', workload, n, seconds, runs, rate: n / seconds, correct, note: `${threads} threads` };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
