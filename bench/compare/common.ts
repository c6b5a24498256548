// Shared pieces of the side-by-side benchmark (issue 7): workloads, the generated data set, the
// expected answers, child-process and port helpers. Used by run.ts, the per-system drivers and
// the Mosaik jobs (which regenerate the data at node 0 from the same seed).
import { spawn, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

export type WorkloadId = 'mul' | 'lt63' | 'lt64' | 'lt32' | 'meanvar' | 'groupsum' | 'chain';

/** Dependent multiplications in the chain workload (one round each): what a round costs at small n. */
export const CHAIN_LENGTH = 200;

export const WORKLOADS: { id: WorkloadId; what: string; unit: 'ops/s' | 'rows/s' }[] = [
  { id: 'mul', what: '64-bit multiplication (secret × secret)', unit: 'ops/s' },
  { id: 'lt63', what: 'comparison <, inputs 63-bit signed (MP-SPDZ default range)', unit: 'ops/s' },
  { id: 'lt64', what: 'comparison <, full signed 64-bit range (exact)', unit: 'ops/s' },
  { id: 'lt32', what: 'comparison <, inputs 32-bit signed', unit: 'ops/s' },
  { id: 'meanvar', what: 'mean and variance of a column (x in [0, 1000))', unit: 'rows/s' },
  { id: 'groupsum', what: 'SUM(x) GROUP BY a 10-value key', unit: 'rows/s' },
  { id: 'chain', what: `${CHAIN_LENGTH} dependent multiplications (one round each; small sizes only)`, unit: 'ops/s' },
];

export const SYSTEMS = ['mosaik', 'mosaik-sql', 'mpspdz', 'mpyc', 'jiff', 'jiff-24', 'duckdb'] as const;
export type SystemId = (typeof SYSTEMS)[number];

/** One measured (or skipped) cell of the result table. */
export interface Measurement {
  system: SystemId;
  workload: WorkloadId;
  /** Elements (mul/lt) or rows (statistics). */
  n: number;
  /** Best timed run, seconds (slowest party of that run); null when not run. */
  seconds: number | null;
  /** All timed runs, seconds. */
  runs?: number[];
  /** n / seconds. */
  rate?: number;
  /** Wall time of the whole cell: processes, input sharing, warm-up and timed runs, seconds. */
  wallSeconds?: number;
  /** Answer matched the plaintext reference (statistics workloads), or null if not checked. */
  correct?: boolean | null;
  note?: string;
}

/** Peer/system not available: the run goes on and the table says why. */
export class Skip extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Skip';
  }
}

// ---------------------------------------------------------------------------------------------
// The statistics data set: a column x of integers in [0, 1000) and a key in [0, 10), from a seeded
// generator, so that every system (and Mosaik's node 0) works on the very same rows.

export const X_MAX = 1000;
export const GROUPS = 10;
export const SEED = 0x5eed_2026;

/** xorshift32-based generator: small, fast, identical everywhere. */
export function generateData(n: number, seed: number = SEED): { x: Int32Array; key: Int32Array } {
  const x = new Int32Array(n), key = new Int32Array(n);
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  for (let i = 0; i < n; i++) {
    x[i] = next() % X_MAX;
    key[i] = next() % GROUPS;
  }
  return { x, key };
}

export interface Expected {
  mean: number;
  variance: number; // population variance
  sum: number;
  sumSq: number;
  groupSums: number[];
}

export function expectedAnswers(x: Int32Array, key: Int32Array): Expected {
  let sum = 0, sumSq = 0;
  const groupSums = new Array<number>(GROUPS).fill(0);
  for (let i = 0; i < x.length; i++) {
    sum += x[i]!;
    sumSq += x[i]! * x[i]!;
    groupSums[key[i]!] += x[i]!;
  }
  const n = x.length;
  const mean = sum / n;
  return { mean, variance: sumSq / n - mean * mean, sum, sumSq, groupSums };
}

/** Mean and population variance from Σx and Σx² with n public (what the peers reveal). */
export function meanVarFromSums(n: number, sum: number, sumSq: number): [number, number] {
  const mean = sum / n;
  return [mean, sumSq / n - mean * mean];
}

/** Agreement of a reported [mean, variance] with the exact answer (fixed point f = 16 allows ~1e-3). */
export function checkMeanVar(got: [number, number], e: Expected): boolean {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));
  return close(got[0], e.mean) && close(got[1], e.variance);
}

export function checkGroupSums(got: number[], e: Expected): boolean {
  return got.length === GROUPS && got.every((v, k) => v === e.groupSums[k]);
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command, collecting its output; kills it (the child we started, by its pid) after timeoutMs. */
export function runProcess(cmd: string, args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-20_000)));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Three processes that must all succeed: if one fails or the time runs out, the others are killed. */
export async function runParties(specs: { cmd: string; args: string[]; opts?: SpawnOptions }[], timeoutMs: number): Promise<ProcResult[]> {
  const children: ReturnType<typeof spawn>[] = [];
  let timedOut = false;
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const results = specs.map(
    (s) =>
      new Promise<ProcResult>((resolve, reject) => {
        const child = spawn(s.cmd, s.args, { ...s.opts, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let stdout = '', stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-20_000)));
        child.on('error', reject);
        child.on('close', (code, signal) => {
          if (code !== 0) killAll();
          resolve({ code, signal, stdout, stderr, timedOut });
        });
      }),
  );
  const timer = setTimeout(() => {
    timedOut = true;
    killAll();
  }, timeoutMs);
  try {
    return await Promise.all(results);
  } finally {
    clearTimeout(timer);
    killAll();
  }
}

/** Explains a failed party run in one message (exit status and the tail of its output). */
export function describeFailure(who: string, r: ProcResult): string {
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-12).join('\n    ');
  return `${who}: ${r.timedOut ? 'timed out and was killed' : `exited with ${r.signal ? `signal ${r.signal}` : `code ${r.code}`}`}${tail ? `; output ended with:\n    ${tail}` : ''}`;
}

/** `count` consecutive free TCP ports on 127.0.0.1 (checked by binding each), starting at a random base. */
export async function freePorts(count: number): Promise<number> {
  const tryBind = (port: number) =>
    new Promise<boolean>((ok) => {
      const s = createServer();
      s.once('error', () => ok(false));
      s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let all = true;
    for (let i = 0; i < count && all; i++) all = await tryBind(base + i);
    if (all) return base;
  }
  throw new Error('no free port range found');
}

/** Best (smallest) of the timed runs, or null. */
export function best(runs: number[]): number | null {
  return runs.length ? Math.min(...runs) : null;
}

export const log = (msg: string) => process.stderr.write(`${msg}\n`);
