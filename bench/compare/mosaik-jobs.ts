// Party-local jobs of the side-by-side benchmark (issue 7): each runs at every node (SPMD), on three
// TLS node processes started by bench/compare/mosaik.ts through runOnLocalCluster. Inputs are made
// first (not timed); then one untimed warm-up run and `reps` timed runs, each between two barriers.
// The result carries every timed run (ms) and, for the statistics, the revealed answer.
import * as A from '../../src/mpc/arith.js';
import { andMany, type BShare, not, stackPlanes } from '../../src/mpc/boolean.js';
import * as C from '../../src/mpc/compare.js';
import { bitDecompose } from '../../src/mpc/convert.js';
import { countAndSum } from '../../src/mpc/count.js';
import type { Party } from '../../src/mpc/party.js';
import type { DatasetSchema } from '../../src/ingest/schema.js';
import { oneHot } from '../../src/mpc/one-hot.js';
import { planSql, runQuery } from '../../src/query/index.js';
import type { Indicators } from '../../src/query/one-hot-cells.js';
import { CHAIN_LENGTH, generateData, GROUPS, X_MAX } from './common.js';

export interface CompareJobResult {
  party: number;
  n: number;
  /** Timed runs, ms. */
  ms: number[];
  /** Bytes this party sent during the last timed run. */
  sent: number;
  /** CPU time (user + system) of this node process per timed run, ms (mean over the runs). */
  cpuMs: number;
  /** Revealed answer of the last run (statistics): [mean, variance] or the ten group sums. */
  answer?: number[];
  /** Multiplication: the timed runs again, each product into a new output share (ms). */
  freshMs?: number[];
  /** SQL mode: ms to make the key's one-hot indicators (once per register version at the nodes; not in `ms`). */
  setupMs?: number;
}

async function timedRuns<T>(p: Party, n: number, reps: number, work: () => Promise<T>, warmup = 1): Promise<{ res: CompareJobResult; last: T }> {
  await p.barrier();
  let last = await work(); // warm-up: JIT and WebAssembly tier-up, first touch of memory
  for (let w = 1; w < warmup; w++) {
    await p.barrier();
    last = await work();
  }
  const ms: number[] = [];
  let sent = 0, cpu = 0;
  for (let r = 0; r < reps; r++) {
    await p.barrier();
    const s0 = p.net.stats.sent;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = await work();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1000;
    sent = p.net.stats.sent - s0;
  }
  await p.barrier();
  return { res: { party: p.id, n, ms, sent, cpuMs: cpu / Math.max(1, reps) }, last };
}

export interface OpArgs {
  n: number;
  reps: number;
  /** Untimed runs before the timed ones (default 1). */
  warmup?: number;
  /** chain: CHAIN_LENGTH dependent products (one round each). */
  op: 'mul' | 'lt' | 'chain';
  /** For lt: declared signed input width (64 = full range). */
  bits?: number;
}

/**
 * Multiplication or comparison of two random shared columns (made without communication). The
 * products are written into one output share allocated before the runs, as MP-SPDZ's program writes
 * into its register file (allocated once); then `reps` more runs with a new output each time are
 * timed too (`freshMs`), what a caller that keeps every product pays.
 */
export async function op(p: Party, { n, reps, warmup = 1, op, bits = 64 }: OpArgs): Promise<CompareJobResult> {
  const x = A.random(p, n), y = A.random(p, n);
  if (op === 'chain') {
    // Each product waits for the last (its output is the next input): one round after another.
    const chain = async () => {
      let t = x;
      for (let k = 0; k < CHAIN_LENGTH; k++) t = await A.mul(p, t, y);
      return t;
    };
    return (await timedRuns(p, n, reps, chain, warmup)).res;
  }
  if (op !== 'mul') return (await timedRuns(p, n, reps, () => C.lt(p, x, y, { bits }), warmup)).res;
  const out = A.random(p, n);
  const { res } = await timedRuns(p, n, reps, () => A.mul(p, x, y, out), warmup);
  const fresh = await timedRuns(p, n, reps, () => A.mul(p, x, y), warmup);
  return { ...res, freshMs: fresh.res.ms };
}

export interface StatsArgs {
  n: number;
  reps: number;
  /** Untimed runs before the timed ones (default 1). */
  warmup?: number;
  workload: 'meanvar' | 'groupsum';
  /** 'direct': protocol calls (what the peers run); 'sql': the query engine (runQuery) on the same columns. */
  mode: 'direct' | 'sql';
  seed: number;
}

const SCHEMA: DatasetSchema = {
  name: 'bench',
  custodian: 'bench',
  columns: [
    { name: 'x', type: 'int', min: 0, max: X_MAX - 1 },
    { name: 'k', type: 'int', min: 0, max: GROUPS - 1 },
  ],
};

export const SQL = {
  meanvar: 'SELECT AVG(x), VAR_POP(x) FROM bench',
  groupsum: 'SELECT k, SUM(x) FROM bench GROUP BY k',
};

/**
 * The statistics task on a column x and a 10-value key, input by node 0 (generated from `seed`,
 * the same rows every other system gets). Direct mode (engine calls, what the peers run) reveals
 * Σx and Σx² (n is public, so that is what mean and variance reveal) or the ten group sums; SQL
 * mode runs the query engine, which also counts, divides inside MPC and applies small-cell
 * suppression before it reveals.
 */
export async function stats(p: Party, { n, reps, warmup = 1, workload, mode, seed }: StatsArgs): Promise<CompareJobResult> {
  let xv: BigUint64Array | null = null, kv: BigUint64Array | null = null;
  if (p.id === 0) {
    const d = generateData(n, seed);
    xv = BigUint64Array.from(d.x, (v) => BigInt(v));
    kv = BigUint64Array.from(d.key, (v) => BigInt(v));
  }
  const x = await A.input(p, 0, xv, n);
  const key = await A.input(p, 0, kv, n);

  let work: () => Promise<number[]>;
  let setupMs: number | undefined;
  if (mode === 'sql') {
    const plan = planSql(SQL[workload], SCHEMA, new Map());
    const cols = new Map([['x', x], ['k', key]]);
    // The key's one-hot indicators, as the nodes make them at the first query on a register version
    // and keep (src/node/indicator-cache.ts); timed apart. MOSAIK_CMP_INDICATORS=off: without them
    // (cells from comparisons and boolean indicators).
    let indicators: Map<string, Indicators> | undefined;
    if (workload === 'groupsum' && process.env.MOSAIK_CMP_INDICATORS !== 'off') {
      await p.barrier();
      const t0 = performance.now();
      indicators = new Map([['k', { lo: 0n, cols: await oneHot(p, key, 0n, GROUPS) }]]);
      setupMs = performance.now() - t0;
    }
    work = async () => {
      const r = await runQuery(p, plan, cols, indicators ? { indicators } : {});
      if (!r.rows) throw new Error('query revealed nothing to this node');
      if (workload === 'meanvar') return (r.rows[0] as number[]).map(Number);
      // Cells of fewer than 5 rows are suppressed (the engine's default policy): NaN there.
      const sums = new Array<number>(GROUPS).fill(NaN);
      for (const row of r.rows) sums[Number(row[0])] = Number(row[1]);
      return sums;
    };
  } else if (workload === 'meanvar') {
    work = async () => {
      // Σx (local) and Σx² (one round) from one read of x.
      const { dots: q, sums: [s] } = await A.dotManyAndSums(p, [[x, x]], [x]);
      const [sv, qv] = await A.revealMany(p, [s!, q]);
      const S = Number(BigInt.asIntN(64, sv![0]!)), Q = Number(BigInt.asIntN(64, qv![0]!));
      const mean = S / n;
      return [mean, Q / n - mean * mean];
    };
  } else {
    // Bits 0..3 of the key (0..9 < 16) by one bit decomposition (ABY3 §5.3); the indicators
    // [key = g] for g = 0..8 as ANDs of bit literals (NOTs are free): 7 products of bit pairs, then 9;
    // Σ [key = g]·x from the boolean indicators (count.ts, which also yields the counts); the last
    // group's sum is Σx minus the others (local).
    work = async () => {
      const bits = await bitDecompose(p, key, 4);
      const lit = (j: number, one: number) => (one ? bits.planes(j) : not(p, bits.planes(j)));
      const G1 = GROUPS - 1;
      const pairs: [BShare, BShare][] = [];
      for (let c = 0; c < 4; c++) pairs.push([lit(0, c & 1), lit(1, (c >> 1) & 1)]);
      for (let c = 0; c <= (G1 - 1) >> 2; c++) pairs.push([lit(2, c & 1), lit(3, (c >> 1) & 1)]);
      const l1 = await andMany(p, pairs);
      const cells = await andMany(p, Array.from({ length: G1 }, (_, g) => [l1[g & 3]!, l1[4 + (g >> 2)]!] as [BShare, BShare]));
      const cs = await countAndSum(p, stackPlanes(cells), [x]); // lane 2g: count, 2g + 1: sum of cell g
      const lanes = (s: BigUint64Array) => BigUint64Array.from({ length: G1 }, (_, g) => s[2 * g + 1]!);
      const part = new A.AShare(lanes(cs.a), lanes(cs.b));
      const last = A.sub(A.sum(x), A.sum(part));
      const open = await A.reveal(p, A.concatShares([part, last]));
      return Array.from(open!, (v) => Number(BigInt.asIntN(64, v)));
    };
  }
  const { res, last } = await timedRuns(p, n, reps, work, warmup);
  return { ...res, answer: last, ...(setupMs !== undefined ? { setupMs } : {}) };
}
