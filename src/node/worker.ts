// A compute node running one job: load the cluster config and this node's key, open the TLS
// channel to the two other nodes, agree on PRG seeds (Party.setup), run a party-local program
// (an exported async function of a compiled JS module) and report its JSON-safe result, the
// channel's byte counts and timings.
//
// Two ways in:
//  - runNodeJob(opts): used by `mosaik node --job` (one job, then exit; without --job the node runs
//    as the long-running daemon of src/node/daemon.ts) and by tests;
//  - as a forked child (src/net/cluster.ts): `node dist/src/node/worker.js` waits for one
//    { type: 'run', ... } message on its IPC channel and answers with { type: 'result' | 'error' }.
//
// A job is `export async function name(party: Party, args: any, ctx: JobContext): Promise<T>`.
// Every node runs the same function on its own shares (SPMD). T may contain bigints, typed arrays
// and AShare objects; they are converted for JSON (bigint → decimal string, typed array → array).
import { pathToFileURL } from 'node:url';
import { CorePool } from '../mpc/core-pool.js';
import { Party } from '../mpc/party.js';
import { growHeapForColumns } from '../ring/column-memory.js';
import type { PartyId } from '../net/channel.js';
import { loadNodeIdentity, type ClusterConfig } from '../net/keys.js';
import { connectTls, type TlsChannel } from '../net/tls.js';
import type { NodeResult, RunNodeOptions, WorkerMessage, WorkerRunMessage } from '../net/cluster.js';

export type { JobSpec, NodeResult, NodeStats, NodeTimings, RunNodeOptions, WorkerMessage, WorkerRunMessage } from '../net/cluster.js';

export interface JobContext {
  party: PartyId;
  name: string;
  /** This node's own directory: its key and its data (e.g. shares/). */
  nodeDir: string;
  clusterDir: string;
  config: ClusterConfig;
  /** A progress line for whoever started the job. */
  progress(msg: string): void;
}


/** bigint → decimal string, BigInt typed arrays → string[], other typed arrays → number[], recursively. */
export function toJsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof BigUint64Array || v instanceof BigInt64Array) return Array.from(v, (x) => x.toString());
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJsonSafe(x)]));
  if (v && typeof v === 'object') {
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonSafe(x);
    return out;
  }
  return v;
}

/** Runs one job at one node. On failure the channel is aborted (peers fail fast) and the error rethrown. */
export async function runNodeJob(opts: RunNodeOptions): Promise<NodeResult> {
  const t0 = performance.now();
  const { config, me, nodeDir, key } = loadNodeIdentity(opts.dir, opts.party, opts.keyDir);
  const net: TlsChannel = await connectTls({
    config,
    me: opts.party,
    key: key.keyPem,
    cert: key.certPem,
    ...(opts.recvTimeoutMs !== undefined ? { recvTimeoutMs: opts.recvTimeoutMs } : {}),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    ...(opts.listenHost !== undefined ? { listenHost: opts.listenHost } : {}),
  });
  const t1 = performance.now();
  let t2 = t1;
  let t3 = t1;
  let pool: CorePool | null = null;
  try {
    const party = await Party.setup(net);
    if (opts.workers !== undefined) {
      const tls = { config, me: opts.party, key: key.keyPem, cert: key.certPem, ...(opts.listenHost !== undefined ? { listenHost: opts.listenHost } : {}), ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}), ...(opts.recvTimeoutMs !== undefined ? { recvTimeoutMs: opts.recvTimeoutMs } : {}) };
      pool = await CorePool.attach(party, net, { workers: opts.workers, tls, channel: `job-${opts.job.export}` });
    }
    t2 = performance.now();
    const url = opts.job.module.startsWith('file:') ? opts.job.module : pathToFileURL(opts.job.module).href;
    const mod = (await import(url)) as Record<string, unknown>;
    const fn = mod[opts.job.export];
    if (typeof fn !== 'function') throw new Error(`${opts.job.module} has no exported function "${opts.job.export}"`);
    const ctx: JobContext = {
      party: opts.party,
      name: me.name,
      nodeDir,
      clusterDir: config.dir,
      config,
      progress: (msg) => opts.onProgress?.(msg),
    };
    const result = toJsonSafe(await (fn as (p: Party, a: unknown, c: JobContext) => Promise<unknown>)(party, opts.job.args, ctx));
    t3 = performance.now();
    await pool?.close();
    await net.close();
    const t4 = performance.now();
    return {
      party: opts.party,
      name: me.name,
      result,
      stats: { ...net.stats },
      timings: { connectMs: t1 - t0, setupMs: t2 - t1, jobMs: t3 - t2, closeMs: t4 - t3, totalMs: t4 - t0 },
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await pool?.abort(msg);
    net.abort(msg);
    // Give the abort frames a moment to leave before the caller (maybe) exits the process.
    await Promise.race([net.whenClosed(), new Promise((ok) => setTimeout(ok, 1000).unref())]);
    throw e;
  }
}

function serializeError(e: unknown): { name: string; message: string; stack?: string } {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: 'Error', message: String(e) };
}

async function childMain(): Promise<void> {
  let party: PartyId = 0;
  let done = false;
  const send = (m: WorkerMessage) =>
    new Promise<void>((ok) => {
      if (!process.send || !process.connected) return ok();
      process.send(m, undefined, {}, () => ok());
    });
  const die = async (e: unknown) => {
    if (done) return;
    done = true;
    await send({ type: 'error', party, error: serializeError(e) });
    process.exit(1);
  };
  process.on('uncaughtException', (e) => void die(e));
  process.on('unhandledRejection', (e) => void die(e));
  // The parent went away: nobody can take the result any more (not even one being sent), and no
  // node process may linger. Three workers whose parent died while they finished a job were found
  // alive 1.5 h later with their IPC channel closed; the check below also covers a 'disconnect'
  // that came while a result was on its way.
  const orphaned = () => process.exit(done ? 0 : 2);
  process.on('disconnect', orphaned);
  // Stay alive until the result is sent (the IPC channel alone does not hold the event loop).
  setInterval(() => {
    if (!process.connected) orphaned();
  }, 1000);
  process.once('message', (m: WorkerRunMessage) => {
    if (m?.type !== 'run') return void die(new Error('worker expected a run message'));
    party = m.options.party;
    runNodeJob({ ...m.options, onProgress: (msg) => void send({ type: 'progress', party, msg }) }).then(
      async (value) => {
        done = true;
        await send({ type: 'result', party, value });
        process.exit(0);
      },
      die,
    );
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.send) {
  growHeapForColumns();
  void childMain();
}
