// Several researchers at once (issue 12): three `mosaik node` processes on loopback, the population
// register of the demo at N citizens, and Q queries submitted together by R researchers (each its
// own identity, so that no one's privacy budget runs out). Reports the total time (first submission
// to the last result combined), each query's wait (submission to its start at node 0) and time to
// result, and how many ran at once.
//
//   npm run build && node dist/bench/concurrent.js [--citizens 100000] [--queries 20] [--researchers 10]
//                                                  [--max-parallel <n>] [--cli <path to a built dist/src/cli/main.js>]
//
// --cli runs the nodes of another build (e.g. a checkout of main, for the figures before);
// --max-parallel 1 runs one job at a time, as before concurrent jobs (issue 12).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRegisters } from '../src/demo/registers.js';
import { ensureLocalIdentities } from '../src/governance/identities.js';
import { cliSigner } from '../src/cli/identity-defaults.js';
import { uploadDataset } from '../src/ingest/upload.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { withColumnMemory } from '../src/ring/column-memory.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const citizens = Number(arg('citizens', '100000'));
const Q = Number(arg('queries', '20'));
const R = Number(arg('researchers', '10'));
const cli = arg('cli', fileURLToPath(new URL('../src/cli/main.js', import.meta.url)));
const maxParallel = arg('max-parallel', '');
const SQL = [
  'SELECT region, sex, COUNT(*) AS n FROM population GROUP BY region, sex',
  'SELECT region, COUNT(*) AS n FROM population GROUP BY region',
  'SELECT sex, COUNT(*) AS n FROM population GROUP BY sex',
  "SELECT region, COUNT(*) AS n FROM population WHERE birth_date < '1960-01-01' GROUP BY region",
];

const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-conc-'));
const procs: ChildProcess[] = [];
try {
  const cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  const names = Array.from({ length: R }, (_, i) => `researcher-${i + 1}`);
  const keys = ensureLocalIdentities(cluster.dir, [{ name: 'custodian', role: 'custodian' }, ...names.map((name) => ({ name, role: 'researcher' as const }))]);
  const signer = (name: string) => cliSigner({ dir: cluster.dir, key: keys.get(name)!, role: 'researcher' });
  for (const p of [0, 1, 2] as PartyId[]) {
    const child = spawn(process.execPath, [cli, 'node', '--dir', cluster.dir, '--party', String(p), ...(maxParallel && p === 0 ? ['--max-parallel', maxParallel] : [])], { stdio: ['ignore', 'ignore', 'pipe'], env: withColumnMemory() });
    child.stderr!.on('data', () => {});
    procs.push(child);
  }
  for (const p of [0, 1, 2] as PartyId[]) {
    for (let t = 0; ; t++) {
      try {
        if ((await apiRequest(cluster.config, p, '/v1/health', { timeoutMs: 1000 })).status === 200) break;
      } catch {
        /* starting */
      }
      if (t > 600) throw new Error(`node ${p} did not start`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  const regs = generateRegisters({ citizens, seed: 1 });
  await uploadDataset({ config: cluster.config, dataset: { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns }, version: 'v1', signer: signer('custodian') });
  console.log(`${Q} queries by ${R} researchers over the population register of ${citizens} citizens${maxParallel ? `, at most ${maxParallel} at once` : ''}; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: Q }, async (_, i) => {
      const who = signer(names[i % R]!);
      const s = performance.now();
      const r = await runRemoteQuery({ config: cluster.config, sql: SQL[i % SQL.length]!, signer: who, timeoutMs: 3_600_000 });
      const done = performance.now();
      const view = await apiRequest<{ startedAt?: string; submittedAt?: string; finishedAt?: string }>(cluster.config, 0, `/v1/jobs/${r.job}`, { signer: who });
      const waitMs = Date.parse(view.body.startedAt!) - Date.parse(view.body.submittedAt!);
      return { i, ms: done - s, waitMs, start: Date.parse(view.body.startedAt!), end: Date.parse(view.body.finishedAt!) };
    }),
  );
  const total = performance.now() - t0;
  const most = Math.max(...runs.map((r) => runs.filter((o) => o.start <= r.start && o.end > r.start).length));
  const slowest = runs.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`total ${(total / 1000).toFixed(1)} s; slowest wait before start ${(Math.max(...runs.map((r) => r.waitMs)) / 1000).toFixed(1)} s; slowest query ${(slowest.ms / 1000).toFixed(1)} s from submission to result; median ${(runs.map((r) => r.ms).sort((a, b) => a - b)[Q >> 1]! / 1000).toFixed(1)} s; at most ${most} running at once at node 0`);
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  for (const c of procs) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}
