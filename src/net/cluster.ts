// Runs a party-local program on three real node processes talking over mutually authenticated
// TLS: the seam between protocols written once (SPMD) and the production transport.
//
//   import { createLocalCluster } from './keys.js';
//   import { runOnLocalCluster } from './cluster.js';
//
//   const { dir } = await createLocalCluster('/tmp/c');            // keys (kept if present), free ports, cluster.json
//   const [r0, r1, r2] = await runOnLocalCluster({
//     dir,                                                          // the cluster directory
//     job: { module: new URL('./jobs.js', import.meta.url).href,    // absolute file: URL of a compiled ES module
//            export: 'mul',                                         // its exported async (party, args, ctx) => result
//            args: { n: 1000 } },                                   // JSON, the same at every node
//     timeoutMs: 60_000,                                            // whole run; children are killed after it
//     recvTimeoutMs: 30_000,                                        // per recv inside the job (optional)
//     onProgress: (party, msg) => console.log(party, msg),          // ctx.progress() lines (optional)
//   });
//   // r_i = { party, name, result (JSON: bigint → string), stats { sent, received, frames, framesReceived },
//   //         timings { connectMs, setupMs, jobMs, closeMs, totalMs } }
//
// Each party runs in its own `node dist/src/node/worker.js` (child_process.fork, result over IPC):
// it loads <dir>/cluster.json and its key from <dir>/<name>/, connects, runs Party.setup and then
// the job with ctx.nodeDir = <dir>/<name> (where its share files live). runOnLocalCluster rejects
// with a ClusterJobError carrying the first failing party's error (usually the root cause; the
// others then fail with ChannelErrors naming it) once every child has exited; no child outlives it.
// runOnLocalClusterSettled returns every party's outcome instead, for tests of failure handling.
// One run at a time per cluster directory (the nodes listen on the ports in its cluster.json);
// runs on different directories may overlap.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PartyId } from './channel.js';
import { loadClusterConfig } from './keys.js';
import { join } from 'node:path';
import { withColumnMemory } from '../ring/column-memory.js';

// What a node worker (src/node/worker.ts) runs and reports; the worker process imports these.
export interface JobSpec {
  /** Absolute file: URL (or absolute path) of a compiled ES module. */
  module: string;
  /** Name of the exported job function. */
  export: string;
  /** JSON arguments, the same at every node (e.g. names of share files inside the node's directory). */
  args?: unknown;
}

export interface RunNodeOptions {
  /** Cluster directory holding cluster.json and <dir>/<name>/ per node (see createLocalCluster). */
  dir: string;
  party: PartyId;
  job: JobSpec;
  /** Directory with this node's <name>.key.pem and <name>.cert.pem; default <dir>/<name>. */
  keyDir?: string;
  recvTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Address to listen on for the other nodes (default: this node's host in cluster.json). */
  listenHost?: string;
  /**
   * Worker threads this node offers for long columns (src/mpc/core-pool.ts); the three nodes must
   * all give it or all leave it out. Without it (or below 2 at some node) the job runs on one thread.
   */
  workers?: number;
  onProgress?: (msg: string) => void;
}

export interface NodeStats {
  sent: number;
  received: number;
  frames: number;
  framesReceived: number;
}
export interface NodeTimings {
  /** TLS connection setup to both peers. */
  connectMs: number;
  /** PRG seed exchange. */
  setupMs: number;
  /** The job itself. */
  jobMs: number;
  closeMs: number;
  totalMs: number;
}
export interface NodeResult<T = unknown> {
  party: PartyId;
  name: string;
  /** The job's return value after toJsonSafe. */
  result: T;
  stats: NodeStats;
  timings: NodeTimings;
}

/** What the forked worker sends to its parent. */
export type WorkerMessage =
  | { type: 'progress'; party: PartyId; msg: string }
  | { type: 'result'; party: PartyId; value: NodeResult }
  | { type: 'error'; party: PartyId; error: { name: string; message: string; stack?: string } };

export interface WorkerRunMessage {
  type: 'run';
  options: Omit<RunNodeOptions, 'onProgress'>;
}


export interface RunOnClusterOptions {
  dir: string;
  job: JobSpec;
  /** Whole run, ms (default 120 000). On expiry every child is killed. */
  timeoutMs?: number;
  /** Per-recv timeout inside the job, ms (default: the channel's, 120 000). */
  recvTimeoutMs?: number;
  /** Connection setup deadline per node, ms (default 30 000). */
  connectTimeoutMs?: number;
  onProgress?: (party: PartyId, msg: string) => void;
  /** Called with each child right after it is forked (tests use it to kill one). */
  onSpawn?: (party: PartyId, child: ChildProcess) => void;
  /** Copy the children's stdout/stderr to this process's stderr (default: only kept for error messages). */
  verbose?: boolean;
  /** Node flags for the children (default: this process's, minus --inspect/--test ones). */
  execArgv?: string[];
  /** Worker threads each node offers for long columns (RunNodeOptions.workers). */
  workers?: number;
}

export type PartyOutcome =
  | { party: PartyId; ok: true; value: NodeResult; at: number }
  | { party: PartyId; ok: false; error: { name: string; message: string; stack?: string }; at: number };

export class ClusterJobError extends Error {
  constructor(
    message: string,
    readonly party: PartyId,
    readonly outcomes: PartyOutcome[],
  ) {
    super(message);
    this.name = 'ClusterJobError';
  }
}

const WORKER = fileURLToPath(new URL('../node/worker.js', import.meta.url));

/** Runs the job at all three nodes and reports every party's outcome; never rejects for a party's failure. */
export async function runOnLocalClusterSettled(opts: RunOnClusterOptions): Promise<[PartyOutcome, PartyOutcome, PartyOutcome]> {
  const config = loadClusterConfig(join(opts.dir, 'cluster.json'));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const t0 = performance.now();
  const children: ChildProcess[] = [];
  const exited: Promise<void>[] = [];
  const outcomes: (PartyOutcome | undefined)[] = [undefined, undefined, undefined];
  let firstFailureAt = 0;
  let graceTimer: NodeJS.Timeout | undefined;
  let runTimer: NodeJS.Timeout | undefined;

  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };

  const settledAll = new Promise<void>((allDone) => {
    const settle = (o: PartyOutcome) => {
      if (outcomes[o.party]) return;
      outcomes[o.party] = o;
      if (!o.ok && !firstFailureAt) {
        firstFailureAt = o.at;
        // The others learn of the failure through their channels within moments; if one does not, stop it.
        graceTimer = setTimeout(() => {
          for (const p of [0, 1, 2] as PartyId[]) {
            if (!outcomes[p]) settle({ party: p, ok: false, error: { name: 'Error', message: `party ${p} (${config.nodes[p].name}) did not stop within 10 s after another party failed; killed` }, at: performance.now() - t0 });
          }
          killAll();
        }, 10_000);
      }
      if (outcomes.every(Boolean)) allDone();
    };

    runTimer = setTimeout(() => {
      for (const p of [0, 1, 2] as PartyId[]) {
        if (!outcomes[p]) settle({ party: p, ok: false, error: { name: 'TimeoutError', message: `party ${p} (${config.nodes[p].name}) did not finish within ${timeoutMs} ms; killed` }, at: performance.now() - t0 });
      }
      killAll();
    }, timeoutMs);

    for (const party of [0, 1, 2] as PartyId[]) {
      const child = fork(WORKER, [`--party=${party}`], {
        // Inherit flags such as --cpu-prof, but not ones that would clash between three children.
        execArgv: opts.execArgv ?? process.execArgv.filter((a) => !/^--(inspect|debug|test)/.test(a)),
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
        // Columns reuse freed memory instead of fresh pages every round (src/ring/column-memory.ts).
        env: withColumnMemory(),
      });
      children.push(child);
      let tail = '';
      const keep = (chunk: Buffer) => {
        tail = (tail + chunk.toString('utf8')).slice(-4000);
        if (opts.verbose) process.stderr.write(`[party ${party}] ${chunk.toString('utf8')}`);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      exited.push(new Promise<void>((ok) => child.once('close', () => ok())));
      child.on('error', (e) => settle({ party, ok: false, error: { name: e.name, message: `party ${party}: ${e.message}` }, at: performance.now() - t0 }));
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') opts.onProgress?.(party, m.msg);
        else if (m.type === 'result') settle({ party, ok: true, value: m.value, at: performance.now() - t0 });
        else if (m.type === 'error') settle({ party, ok: false, error: m.error, at: performance.now() - t0 });
      });
      // 'close' comes after the IPC channel and stdio are drained, so a result sent just before
      // exiting has been delivered by then.
      child.once('close', (code, signal) => {
        setImmediate(() =>
          settle({
            party,
            ok: false,
            error: {
              name: 'Error',
              message: `party ${party} (${config.nodes[party].name}) exited with ${signal ? `signal ${signal}` : `code ${code}`} before reporting a result${tail.trim() ? `; its output ended with:\n${tail.trim()}` : ''}`,
            },
            at: performance.now() - t0,
          }),
        );
      });
      const run: WorkerRunMessage = {
        type: 'run',
        options: {
          dir: config.dir,
          party,
          job: opts.job,
          ...(opts.recvTimeoutMs !== undefined ? { recvTimeoutMs: opts.recvTimeoutMs } : {}),
          ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        },
      };
      child.send(run, (e) => {
        if (e) settle({ party, ok: false, error: { name: e.name, message: `cannot start party ${party}: ${e.message}` }, at: performance.now() - t0 });
      });
      opts.onSpawn?.(party, child);
    }
  });

  try {
    await settledAll;
  } finally {
    clearTimeout(graceTimer);
    clearTimeout(runTimer);
    // Every child has reported (or been declared failed); make sure each one is gone.
    const late = setTimeout(killAll, 2000);
    await Promise.all(exited);
    clearTimeout(late);
  }
  return outcomes as [PartyOutcome, PartyOutcome, PartyOutcome];
}

/** Runs the job at all three nodes; resolves with the three results, or rejects with the first failure. */
export async function runOnLocalCluster(opts: RunOnClusterOptions): Promise<[NodeResult, NodeResult, NodeResult]> {
  const outcomes = await runOnLocalClusterSettled(opts);
  const failed = outcomes.filter((o) => !o.ok).sort((a, b) => a.at - b.at);
  if (failed.length) {
    const f = failed[0]!;
    const err = (f as Extract<PartyOutcome, { ok: false }>).error;
    const others = failed.slice(1).map((o) => `party ${o.party}: ${(o as Extract<PartyOutcome, { ok: false }>).error.message}`);
    throw new ClusterJobError(
      `party ${f.party} failed: ${err.name === 'Error' ? '' : `${err.name}: `}${err.message}${others.length ? `\n  then ${others.join('\n  then ')}` : ''}`,
      f.party,
      outcomes,
    );
  }
  return outcomes.map((o) => (o as Extract<PartyOutcome, { ok: true }>).value) as [NodeResult, NodeResult, NodeResult];
}
