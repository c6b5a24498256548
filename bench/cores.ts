// One node's kernel throughput with 1 and 2 worker threads (issue 16, "More cores per node"): the
// local step of a replicated-share product (src/ring/ring64.ts rssMulZero: x0·(y0 + y1) + x1·y0 plus
// the zero sharing r − s drawn from two AES-CTR streams), over a column split into one contiguous
// slice per worker. Each worker has its own WebAssembly instance and its own pair of PRG streams
// (a party's worker w would share its seeds with worker w of its neighbours); the columns live in
// SharedArrayBuffers, so nothing is copied between threads. The other two parties are idle: this
// measures what more cores give one node's compute, not the network. Prints one markdown row per size.
//
//
// Then the same products between three node processes on loopback TLS (runOnLocalCluster), each
// node on its own thread or on a core pool of k workers (src/mpc/core-pool.ts: each worker with its
// own TLS channel to its counterparts and its own PRG streams). On a machine with fewer cores than
// the three nodes' threads this measures the pool's cost more than its gain; one node per host is
// what it is for.
//
//   node dist/bench/cores.js [--sizes 20,22] [--workers 1,2] [--reps 10] [--no-protocol]
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runOnLocalCluster } from '../src/net/cluster.js';
import { createLocalCluster } from '../src/net/keys.js';
import { Prg } from '../src/ring/prg.js';
import { rssMulZero } from '../src/ring/ring64.js';
import type { TimedResult } from './cores-jobs.js';

interface Slice {
  cols: SharedArrayBuffer[]; // x0, x1, y0, y1, out
  from: number;
  to: number;
}

if (!isMainThread) {
  // A worker: its own PRG streams; runs its slice whenever the main thread says so.
  const { cols, from, to } = workerData as Slice;
  const view = (b: SharedArrayBuffer) => new BigUint64Array(b).subarray(from, to);
  const [x0, x1, y0, y1, out] = cols.map(view) as [BigUint64Array, BigUint64Array, BigUint64Array, BigUint64Array, BigUint64Array];
  const next = Prg.fresh(), prev = Prg.fresh();
  parentPort!.on('message', () => {
    rssMulZero(x0, x1, y0, y1, (n) => next.raw(n), (n) => prev.raw(n), out);
    parentPort!.postMessage(0);
  });
} else {
  const arg = (name: string) => process.argv.find((_, i) => process.argv[i - 1] === `--${name}`);
  const sizes = (arg('sizes') ?? '20,22').split(',').map(Number);
  const counts = (arg('workers') ?? '1,2').split(',').map(Number);
  const reps = Number(arg('reps') ?? 10);
  const self = fileURLToPath(import.meta.url);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; best of ${reps} warm runs`);
  console.log('| lanes | threads | time | throughput | ÷ 1 thread |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const log2 of sizes) {
    const n = 2 ** log2;
    const cols = Array.from({ length: 5 }, () => new SharedArrayBuffer(n * 8));
    for (const c of cols.slice(0, 4)) randomFillSync(new Uint8Array(c));
    let base = 0;
    // The main thread alone (what a node does today), then 1..k workers.
    const runs: [string, () => Promise<number>][] = [];
    {
      const [x0, x1, y0, y1, out] = cols.map((b) => new BigUint64Array(b)) as BigUint64Array[];
      const next = Prg.fresh(), prev = Prg.fresh();
      runs.push(['main thread', async () => time(async () => void rssMulZero(x0!, x1!, y0!, y1!, (m) => next.raw(m), (m) => prev.raw(m), out))]);
    }
    const pools: Worker[][] = [];
    for (const k of counts) {
      const per = Math.ceil(n / k);
      const pool = Array.from({ length: k }, (_, w) => new Worker(self, { workerData: { cols, from: Math.min(n, w * per), to: Math.min(n, (w + 1) * per) } satisfies Slice }));
      pools.push(pool);
      const once = () => Promise.all(pool.map((wk) => new Promise<void>((ok) => (wk.once('message', () => ok()), wk.postMessage(0))))).then(() => {});
      runs.push([`${k} worker${k > 1 ? 's' : ''}`, async () => time(once)]);
    }
    for (const [what, run] of runs) {
      await run(); // warm-up: JIT, WebAssembly tier-up, first touch of the output
      await run();
      let best = Infinity;
      for (let r = 0; r < reps; r++) best = Math.min(best, await run());
      if (what === 'main thread') base = best;
      console.log(`| 2^${log2} | ${what} | ${best.toFixed(1)} ms | ${(n / best / 1e3).toFixed(1)} M/s | ${(base / best).toFixed(2)}× |`);
    }
    for (const pool of pools) await Promise.all(pool.map((w) => w.terminate()));
  }
  if (!process.argv.includes('--no-protocol')) await protocol(sizes, counts, reps);
}

/** Products between three node processes, each on its own thread or on a pool of k workers. */
async function protocol(sizes: number[], counts: number[], reps: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'mosaik-cores-'));
  try {
    const { dir } = await createLocalCluster(join(root, 'cluster'));
    const job = new URL('./cores-jobs.js', import.meta.url).href;
    console.log('');
    console.log(`Products and 63-bit comparisons between three node processes (loopback TLS 1.3), median and best of ${reps} after 3 untimed:`);
    console.log('| op | lanes | each node | median | best | throughput (best) | CPU per node per run | ÷ own thread (median) |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const op of ['mul', 'lt63'] as const) for (const log2 of sizes) {
      let base = 0;
      for (const k of [1, ...counts.filter((c) => c > 1)]) {
        const res = await runOnLocalCluster({ dir, job: { module: job, export: 'timedRuns', args: { n: 2 ** log2, reps, warm: 3, op } }, ...(k > 1 ? { workers: k } : {}), timeoutMs: 600_000 });
        const parts = res.map((r) => r.result as TimedResult);
        if (parts.some((x) => x.workers !== k)) throw new Error(`asked for ${k} workers, the nodes used ${parts.map((x) => x.workers).join('/')}`);
        const per = parts[0]!.ms.map((_, i) => Math.max(...parts.map((x) => x.ms[i]!)));
        const sorted = [...per].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)]!;
        if (k === 1) base = median;
        const cpu = parts.reduce((t, x) => t + x.cpuMs, 0) / 3;
        console.log(`| ${op === 'mul' ? 'x · y' : 'x < y (63 bits)'} | 2^${log2} | ${k === 1 ? 'own thread' : `${k} workers`} | ${median.toFixed(1)} ms | ${sorted[0]!.toFixed(1)} ms | ${((2 ** log2) / sorted[0]! / 1e3).toFixed(1)} M/s | ${cpu.toFixed(1)} ms | ${(base / median).toFixed(2)}× |`);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function time(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}
