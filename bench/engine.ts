// `npm run bench`: the MPC engine on three node processes over mutually authenticated TLS on
// loopback. Prints one markdown table (paste into bench/RESULTS.md with machine and date).
//
//   npm run bench                       # the figures of issue 3 (minutes)
//   npm run bench -- --quick            # small sizes, to check that everything runs
//   npm run bench -- --only mul,lt63    # a subset of workloads
//   npm run bench -- --only join --phases   # also print where a join's time goes (stderr)
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnLocalCluster } from '../src/net/cluster.js';
import { createLocalCluster } from '../src/net/keys.js';
import type { JobResult, OpArgs } from './jobs.js';

interface Workload {
  id: string;
  what: string;
  op: string;
  args: OpArgs;
  /** Unit of the rate column. */
  unit: 'ops/s' | 'rows/s';
  target?: string;
}

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a, i) => process.argv[i - 1] === '--only');
const only = onlyArg ? new Set(onlyArg.split(',')) : null;
/** `--citizens 1000000,3000000`: the national study's sizes (default 100 k and 1 M). */
const citizensArg = process.argv.find((a, i) => process.argv[i - 1] === '--citizens');
/** `--warm 5`: untimed calls before each timed one in the same node processes (default 1), as a long-running node would be. */
const WARM = Number(process.argv.find((a, i) => process.argv[i - 1] === '--warm') ?? 1);

const sizes = (full: number[], small: number[]) => (quick ? small : full);
const fmtRows = (n: number) => (n >= 1e6 ? `${n / 1e6} M` : n >= 1e3 ? `${n / 1e3} k` : String(n));
const workloads: Workload[] = [
  ...sizes([20, 22, 24], [14]).map((k) => ({ id: 'mul', what: `64-bit multiplication, n = 2^${k}`, op: 'mul', args: { n: 2 ** k }, unit: 'ops/s' as const, target: '≥ 20 M/s' })),
  ...sizes([20, 22], [14]).map((k) => ({ id: 'transfer', what: `a product's round without its arithmetic (8 B per lane to one peer), n = 2^${k}`, op: 'transfer', args: { n: 2 ** k }, unit: 'ops/s' as const })),
  ...sizes([20, 22], [14]).map((k) => ({ id: 'lt63', what: `< (inputs < 2^63 apart, MP-SPDZ semantics), n = 2^${k}`, op: 'lt', args: { n: 2 ** k, bits: 63 }, unit: 'ops/s' as const, target: '≥ 2 M/s' })),
  ...sizes([20], [14]).map((k) => ({ id: 'lt64', what: `< (full signed 64-bit range, exact), n = 2^${k}`, op: 'lt', args: { n: 2 ** k, bits: 64 }, unit: 'ops/s' as const })),
  ...sizes([20, 22], [14]).map((k) => ({ id: 'lt32', what: `< (32-bit inputs), n = 2^${k}`, op: 'lt', args: { n: 2 ** k, bits: 32 }, unit: 'ops/s' as const })),
  ...sizes([6, 15, 20], [6]).map((k) => ({ id: 'and-rounds', what: `200 dependent ANDs of 2^${k} lanes (one frame of ${k >= 13 ? `${2 ** (k - 13)} KiB` : `${2 ** (k - 3)} B`} per round)`, op: 'andChain', args: { n: 200 * 2 ** k, rounds: 200 }, unit: 'ops/s' as const })),
  ...sizes([20], [14]).map((k) => ({ id: 'eq', what: `== (64-bit), n = 2^${k}`, op: 'eq', args: { n: 2 ** k }, unit: 'ops/s' as const })),
  ...sizes([20], [14]).map((k) => ({ id: 'shuffle', what: `shuffle 2^${k} rows × 4 columns`, op: 'shuffle', args: { n: 2 ** k, cols: 4 }, unit: 'rows/s' as const, target: '< 1 s at 1 M rows' })),
  ...sizes([20], [12]).map((k) => ({ id: 'sort', what: `sort 2^${k} 32-bit keys + 1 payload`, op: 'sort', args: { n: 2 ** k, bits: 32 }, unit: 'rows/s' as const, target: '< 30 s at 1 M rows' })),
  ...(quick ? [[1 << 12, 1 << 12]] : [[1e5, 1e5], [1e6, 1e6]]).map(([n, m]) => ({ id: 'join', what: `join ${fmtRows(n!)} × ${fmtRows(m!)} rows, one-to-one (80 % match)`, op: 'join', args: { n: n!, m: m! }, unit: 'rows/s' as const, target: '< 60 s at 1 M × 1 M' })),
  ...(quick ? [[1 << 12, 5 << 12]] : [[1e5, 5e5], [1e6, 5e6]]).map(([n, m]) => ({ id: 'join1n', what: `join ${fmtRows(n!)} persons × ${fmtRows(m!)} contacts, one-to-many`, op: 'join', args: { n: n!, m: m! }, unit: 'rows/s' as const, target: '< 5 min at 1 M × 5 M' })),
  ...(quick ? [[1 << 12, 1 << 12]] : [[1e5, 1e5], [1e6, 1e6]]).map(([n, m]) => ({ id: 'join-sorted', what: `join ${fmtRows(n!)} × ${fmtRows(m!)} rows, one-to-one, tables sorted by their custodians (merged)`, op: 'join', args: { n: n!, m: m!, sorted: true }, unit: 'rows/s' as const, target: '≤ 10 s at 1 M × 1 M' })),
  ...(quick ? [[1 << 12, 5 << 12]] : [[1e5, 5e5], [1e6, 5e6]]).map(([n, m]) => ({ id: 'join1n-sorted', what: `join ${fmtRows(n!)} persons × ${fmtRows(m!)} contacts, one-to-many, sorted by their custodians (merged)`, op: 'join', args: { n: n!, m: m!, sorted: true }, unit: 'rows/s' as const, target: '≤ 45 s at 1 M × 5 M' })),
  // Opt-in (long): the national-scale study of issue 5 at n citizens (`--citizens` to choose).
  // `national`: as the nodes run it (the EXISTS's flag made on population's rows, src/query/exists-flags.ts;
  // the second query reusing the first's line-up, src/node/lineup-cache.ts); `national-one-join`: each
  // query as one join of all its registers.
  ...(['national', 'national-one-join'] as const).flatMap((id) => (only?.has(id) ? (quick ? [2e4] : citizensArg ? citizensArg.split(',').map(Number) : [1e5, 1e6]).map((n) => ({ id, what: `T2D prevalence by income quintile × region, ${fmtRows(n)} citizens (population ⋈ income ⋈ EXISTS contacts, 2 queries${id === 'national' ? ', as the nodes run them' : ', each one join'})`, op: 'national', args: { n, oneJoin: id === 'national-one-join' }, unit: 'rows/s' as const, target: '< 5 min at 6 M citizens' })) : [])),
].filter((w) => !only || only.has(w.id));

const REPS = quick ? 1 : 3;
/** Joins are long: one run each (after a small warm-up inside the job). */
const repsOf = (w: Workload) => (w.op === 'join' || w.op === 'national' ? 1 : REPS);
const fmtCpu = (ms: number) => (Number.isNaN(ms) ? '' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const fmtRate = (r: number) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${(r / 1e3).toFixed(1)} k`);

async function main(): Promise<void> {
  const { dir } = await createLocalCluster(join(tmpdir(), 'mosaik-bench-cluster'));
  const jobs = new URL('./jobs.js', import.meta.url).href;
  console.log(`# Mosaik engine benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log('Three node processes on 127.0.0.1, mutually authenticated TLS 1.3 (AES-128-GCM); time = slowest node, best of', REPS, `runs, each after ${WARM} untimed call${WARM > 1 ? 's' : ''} in the same processes.\n`);
  console.log('| workload | time | rate | sent per node per element (max node) | frames sent (max node) | CPU per node (mean) | target |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const w of workloads) {
    let best: { ms: number; sent: number; frames: number; rows: number; cpuMs: number } | null = null;
    for (let r = 0; r < repsOf(w); r++) {
      const res = await runOnLocalCluster({
        dir,
        job: { module: jobs, export: w.op, args: { ...w.args, warm: WARM } },
        timeoutMs: 600_000,
        recvTimeoutMs: 300_000,
      });
      const parts = res.map((x) => x.result as unknown as JobResult);
      const ms = Math.max(...parts.map((x) => x.ms));
      const sent = Math.max(...parts.map((x) => x.sent));
      const frames = Math.max(...parts.map((x) => x.frames));
      const cpuMs = parts.every((x) => x.cpuMs !== undefined) ? parts.reduce((t, x) => t + x.cpuMs!, 0) / parts.length : NaN;
      if (!best || ms < best.ms) best = { ms, sent, frames, rows: parts[0]!.n, cpuMs };
      if (w.op === 'national' && process.argv.includes('--phases')) console.error((parts[0] as unknown as { cells: string[] }).cells.join('; '));
      if (w.op === 'national') {
        const rss = parts.map((x) => x as unknown as { party: number; peakRssMiB: number; setupPeakRssMiB: number }).sort((a, b) => a.party - b.party);
        console.error(`${w.what}: peak RSS per node ${rss.map((x) => `${x.party}: ${x.peakRssMiB.toFixed(0)} MiB`).join(', ')} (by the end of set-up: ${rss.map((x) => x.setupPeakRssMiB.toFixed(0)).join(' / ')} MiB; the custodians generated and uploaded the registers in a process of their own)`);
      }
      if (parts[0]?.phases && process.argv.includes('--phases')) console.error(`${w.what}: ${parts[0].phases.join(', ')}`);
    }
    const n = w.op === 'national' ? best!.rows : w.args.n + (w.op === 'join' ? (w.args.m ?? w.args.n) : 0);
    const rate = n / (best!.ms / 1000);
    console.log(`| ${w.what} | ${(best!.ms / 1000).toFixed(3)} s | ${fmtRate(rate)} ${w.unit} | ${(best!.sent / n).toFixed(1)} B | ${best!.frames} | ${fmtCpu(best!.cpuMs)} | ${w.target ?? ''} |`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
