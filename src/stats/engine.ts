// The in-process engine: a statistic run by three parties in one process over in-memory channels
// (src/net/memory.ts), on registers shared here as a custodian would share them. For tests and
// profiling; the node daemons run the same party-local code over TLS (src/node/jobs.ts). Without
// `epsilon` the run is exact (as nodes with --exact-results). Reveals the released lanes to the
// caller (a test harness holding every party, not a deployment).
import { reveal } from '../mpc/arith.js';
import { Party } from '../mpc/party.js';
import { splitShares, type AShare } from '../mpc/share.js';
import { memoryNetwork } from '../net/memory.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import type { StatPlan, StatRequest, StatResult } from './functions.js';
import { runStat } from './run.js';
import { finishStatistic, planStatistic, statisticNoise, statisticText } from './statistic.js';

export interface LocalRegister {
  schema: DatasetSchema;
  /** Encoded columns (as ingest encodes them). */
  columns: Map<string, BigUint64Array>;
}

export interface LocalRunOptions {
  /** Differential privacy at this epsilon; omitted: exact results. */
  epsilon?: number;
  minCellSize?: number;
  trace?: (phase: string, ms: number) => void;
}

export interface LocalRun {
  plan: StatPlan;
  result: StatResult;
  /** The revealed vector (what a requester combines from the nodes' shares). */
  released: bigint[];
  ms: number;
}

export async function runLocal(registers: LocalRegister[], codeLists: Map<string, CodeList>, req: StatRequest, o: LocalRunOptions = {}): Promise<LocalRun> {
  const lists = [...codeLists.values()];
  const datasets = new Map(registers.map((r) => [r.schema.name, { schema: r.schema, codeLists: lists }]));
  const minCellSize = o.minCellSize ?? 5;
  const plan = planStatistic(statisticText(req), datasets, minCellSize);
  const noise = o.epsilon === undefined ? null : statisticNoise(plan, 'laplace', o.epsilon);
  const shares = new Map<string, Map<string, [AShare, AShare, AShare]>>();
  for (const t of plan.analysis.join.tables) {
    const reg = registers.find((r) => r.schema.name === t.dataset.name)!;
    const m = new Map<string, [AShare, AShare, AShare]>();
    for (const c of t.reads) m.set(c, splitShares(reg.columns.get(c)!));
    shares.set(t.alias, m);
  }
  const nets = memoryNetwork();
  const t0 = performance.now();
  const res = await Promise.all(nets.map(async (net) => {
    const p = await Party.setup(net);
    try {
      const tables = new Map([...shares].map(([a, m]) => [a, new Map([...m].map(([c, s]) => [c, s[p.id]]))]));
      const out = await runStat(p, plan, tables, { statNoise: noise, ...(o.trace ? { trace: o.trace } : {}) });
      return reveal(p, out, 0);
    } catch (e) {
      net.abort(e instanceof Error ? e.message : String(e));
      throw e;
    }
  }));
  const ms = performance.now() - t0;
  const released = Array.from(res[0]!, (v) => BigInt.asIntN(64, v));
  const result = finishStatistic(plan, released, minCellSize, noise);
  return { plan, result, released, ms };
}
