// The party-local jobs of `npm run bench:cores`'s protocol part: products of n lanes, or 63-bit
// comparisons, between three node processes, on this node's own thread or on its core pool
// (RunNodeOptions.workers). Inputs and output are made first (in shared memory when there is a pool,
// as a pooled product's output is), then `warm` untimed and `reps` timed runs, each between two
// barriers.
import * as A from '../src/mpc/arith.js';
import * as C from '../src/mpc/compare.js';
import type { Party } from '../src/mpc/party.js';
import { AShare } from '../src/mpc/share.js';
import * as R from '../src/ring/ring64.js';

export interface TimedResult {
  workers: number;
  /** Timed products, ms. */
  ms: number[];
  /** CPU (user + system, every thread of this process) per timed product, ms (mean). */
  cpuMs: number;
}

export async function timedRuns(p: Party, args: { n: number; reps: number; warm: number; op?: 'mul' | 'lt63' }): Promise<TimedResult> {
  const { n, reps, warm } = args;
  const col = (c?: R.Col) => {
    const s = p.cores ? R.sharedCol(n) : R.uninit(n);
    if (c) s.set(c);
    return s;
  };
  const rx = A.random(p, n), ry = A.random(p, n);
  const x = new AShare(col(rx.a), col(rx.b)), y = new AShare(col(ry.a), col(ry.b));
  const into = new AShare(col(), col());
  const work = args.op === 'lt63' ? () => C.lt(p, x, y, { bits: 63 }) : () => A.mul(p, x, y, into);
  for (let w = 0; w < warm; w++) {
    await p.barrier();
    await work();
  }
  const ms: number[] = [];
  let cpu = 0;
  for (let r = 0; r < reps; r++) {
    await p.barrier();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await work();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1000;
  }
  return { workers: p.cores?.workers ?? 1, ms, cpuMs: cpu / reps };
}
