// Mosaik in the side-by-side benchmark: three node processes on 127.0.0.1 with mutually
// authenticated TLS 1.3 (the production transport), started by runOnLocalCluster for each workload
// and size; the jobs are in mosaik-jobs.ts.
import { join } from 'node:path';
import { runOnLocalCluster } from '../../src/net/cluster.js';
import { createLocalCluster } from '../../src/net/keys.js';
import { checkGroupSums, checkMeanVar, type Expected, type Measurement, type WorkloadId } from './common.js';
import type { CompareJobResult, OpArgs, StatsArgs } from './mosaik-jobs.js';

const fmtCpu = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);

const JOBS = new URL('./mosaik-jobs.js', import.meta.url).href;

let clusterDir: string | null = null;

async function cluster(workDir: string): Promise<string> {
  if (!clusterDir) clusterDir = (await createLocalCluster(join(workDir, 'mosaik-cluster'))).dir;
  return clusterDir;
}

export async function runMosaik(
  workDir: string,
  system: 'mosaik' | 'mosaik-sql',
  workload: WorkloadId,
  n: number,
  reps: number,
  /** Untimed runs before the timed ones, in the same processes. */
  warmup: number,
  seed: number,
  expected: (n: number) => Expected,
  timeoutMs: number,
): Promise<Measurement> {
  const dir = await cluster(workDir);
  let job: { export: string; args: OpArgs | StatsArgs };
  if (workload === 'meanvar' || workload === 'groupsum') {
    job = { export: 'stats', args: { n, reps, warmup, workload, mode: system === 'mosaik-sql' ? 'sql' : 'direct', seed } };
  } else {
    if (system === 'mosaik-sql') throw new Error('mosaik-sql runs the statistics workloads only');
    const bits = { mul: 64, chain: 64, lt63: 63, lt64: 64, lt32: 32 }[workload];
    job = { export: 'op', args: { n, reps, warmup, op: workload === 'mul' || workload === 'chain' ? workload : 'lt', bits } };
  }
  const res = await runOnLocalCluster({ dir, job: { module: JOBS, ...job }, timeoutMs, recvTimeoutMs: timeoutMs });
  const parts = res.map((r) => r.result as unknown as CompareJobResult);
  // Run r took as long as its slowest node (seconds).
  const slowest = (of: (q: CompareJobResult) => number[]) => of(parts[0]!).map((_, r) => Math.max(...parts.map((q) => of(q)[r]!)) / 1000);
  const runs = slowest((q) => q.ms);
  const seconds = Math.min(...runs);
  let correct: boolean | null = null;
  const ans = parts[0]!.answer;
  if (workload === 'meanvar') correct = checkMeanVar(ans as [number, number], expected(n));
  // Suppressed cells come back as NaN, which JSON (the workers' result channel) turns into null.
  const gone = (v: number | null) => v === null || Number.isNaN(v);
  const suppressed = workload === 'groupsum' ? (ans?.filter(gone).length ?? 0) : 0;
  if (workload === 'groupsum') {
    const e = expected(n);
    correct = checkGroupSums(ans!.map((v, g) => (gone(v) ? e.groupSums[g]! : v)), e); // visible cells must match
  }
  const sent = Math.max(...parts.map((q) => q.sent));
  const cpu = parts.reduce((t, q) => t + q.cpuMs, 0) / 1000;
  const setup = Math.max(...parts.map((q) => q.setupMs ?? NaN));
  const made = Number.isFinite(setup) ? `; the key's one-hot indicators made once (kept by the nodes per register version) in ${fmtCpu(setup / 1000)}` : '';
  const fresh = parts[0]!.freshMs ? Math.min(...slowest((q) => q.freshMs!)) : NaN;
  const freshNote = Number.isFinite(fresh) ? `; products into one output share allocated before the runs (a new output share each run: best ${fmtCpu(fresh)}, ${(n / fresh / 1e6).toFixed(2)} M/s)` : '';
  const note = `${(sent / n).toFixed(1)} B sent per node per element (max node); CPU of the three nodes ${fmtCpu(cpu)} per run${freshNote}${suppressed ? `; ${suppressed} cells suppressed (< 5 rows; the others checked)` : ''}${made}`;
  return { system, workload, n, seconds, runs, rate: n / seconds, correct, note };
}
