// Query jobs at one compute node: validated, queued and run strictly one at a time, in the order
// node 0 (the scheduler) assigned. Each job opens its own MPC channel to the two other nodes
// (connectTls on the cluster ports, bound to the job: the channel's cluster name carries the job
// id, so a node still in another job refuses the connection instead of mixing two jobs), runs
// Party.setup, decrypts the dataset version's shares and runs the query with nothing revealed to
// any node but the small-cell suppression bits (src/query/execute.ts). The output aggregates stay
// secret-shared: this node keeps its replicated pair (x_i, x_{i+1}) for the requester, who combines
// the pairs of all three nodes (assembleResult below). A peer that dies or aborts fails the job
// here through the channel's failure semantics and timeouts; the queue then moves on.
//
// For the transparency log (src/node/ledger.ts) each result also carries this node's salted
// commitment to the share pair it returns and a hash of the public result metadata
// (src/ledger/commit.ts); the salt goes only to the requester, with the shares.
//
// Every node checks a job itself (dataset version present, SQL plans against its own copy of the
// schema, minCellSize not below its own policy) before it computes; node 0 is not trusted blindly.
import { randomUUID } from 'node:crypto';
import { Party } from '../mpc/party.js';
import { AShare } from '../mpc/share.js';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import { connectTls } from '../net/tls.js';
import { parseQuery, planAnyQuery, QueryError, runJoinQuery, runQuery, tablesOf, type Display, type JoinPlan, type QueryPlan, type QueryResult, type RunOptions } from '../query/index.js';
import { resultRows } from '../query/execute.js';
import { newSalt, resultMetaHash, shareCommitment } from '../ledger/commit.js';
import { type ShareStore, StoreError } from './store.js';

export interface JobSpec {
  id: string;
  /** Position in node 0's order. */
  seq: number;
  sql: string;
  dataset: string;
  version: string;
  /** Queries over several registers (JOIN, EXISTS): the version of every register read, FROM's included. */
  versions?: Record<string, string>;
  minCellSize: number;
  submittedAt: string;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

/** This node's part of a job's result: public metadata plus its share pair of the visible aggregates. */
export interface JobResult {
  party: PartyId;
  dataset: string;
  version: string;
  sql: string;
  /** Output column names. */
  columns: string[];
  /** Rows in the dataset version(s) read (public). */
  datasetRows: number;
  /** Queries over several registers: the version of each. */
  versions?: Record<string, string>;
  cells: number;
  /** Group-key values of the suppressed cells (known to every node). */
  suppressed: Record<string, Display>[];
  suppressedCount: number;
  havingHidden: number;
  minCellSize: number;
  /** Indices of the visible cells (group-key combinations) and of the output aggregates shared. */
  visibleCells: number[];
  outAggs: number[];
  /** This node's pair (x_i, x_{i+1}) of the output aggregates, lane = outAgg-major then visible cell; u64 decimal strings. */
  shares: { a: string[]; b: string[] };
  /**
   * For the transparency log: resultMeta = hash of the public metadata (the same at every node),
   * shareCommitment = SHA-256 commitment to this pair under `salt` (src/ledger/commit.ts). The
   * log carries both hashes; the salt only the requester gets.
   */
  ledger: { resultMeta: string; shareCommitment: string; salt: string };
  timings: { connectMs: number; computeMs: number };
}

export interface Job {
  id: string;
  status: JobStatus;
  progress?: string;
  error?: string;
  result?: JobResult;
  spec: JobSpec;
  startedAt?: string;
  finishedAt?: string;
  /** Seq of this job's result-released entry in this node's transparency-log replica. */
  released?: number;
}

/** What src/query/execute.ts returns with revealTo 'none' (see the report / execute.ts). */
export interface SharedOutputs {
  visibleCells: number[];
  outAggs: number[];
  shares: AShare;
}

export class JobError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'JobError';
  }
}

export interface JobRunnerOptions {
  store: ShareStore;
  config: ClusterConfig;
  me: PartyId;
  keyPem: string;
  certPem: string;
  /** Smallest cell size this node allows (its disclosure policy; default 5). */
  policyMinCellSize?: number;
  recvTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Finished jobs kept in memory (default 1000). */
  keep?: number;
  log?: (msg: string) => void;
  /** Tests only: wait this long after Party.setup (to kill a node mid-job). */
  pauseMs?: number;
  /** Called when a job has finished (done or failed); the daemon logs the release (src/node/ledger.ts). */
  onFinished?: (job: Job) => void;
}

export class JobRunner {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running = false;
  private seq = 0;
  readonly policyMinCellSize: number;

  constructor(private readonly o: JobRunnerOptions) {
    this.policyMinCellSize = o.policyMinCellSize ?? 5;
  }

  /**
   * Checks a job against this node's store, schemas and policy; returns its plan (and the join
   * plan of a query over several registers). Throws JobError/QueryError/StoreError.
   */
  validate(spec: Pick<JobSpec, 'sql' | 'dataset' | 'version' | 'versions' | 'minCellSize'>): { plan: QueryPlan; join: JoinPlan | null } {
    if (typeof spec.sql !== 'string' || !spec.sql.trim()) throw new JobError('sql must be a non-empty string');
    if (!Number.isInteger(spec.minCellSize) || spec.minCellSize < this.policyMinCellSize) {
      throw new JobError(`minCellSize must be an integer ≥ ${this.policyMinCellSize} (this node's disclosure policy), got ${spec.minCellSize}`);
    }
    const q = parseQuery(spec.sql);
    const names = tablesOf(q);
    if (names[0] !== spec.dataset) throw new JobError(`dataset '${spec.dataset}' is not the query's FROM table '${names[0]}'`);
    const versions = spec.versions ?? { [spec.dataset]: spec.version };
    if (versions[spec.dataset] !== spec.version) throw new JobError(`versions.${spec.dataset} differs from version`);
    const missing = names.filter((n) => versions[n] === undefined);
    if (missing.length) throw new JobError(`no version given for ${missing.join(', ')}`);
    return planAnyQuery(q, new Map(names.map((n) => [n, this.o.store.get(n, versions[n]!)])));
  }

  /** Node 0: a new job spec for a request (validates it first). The registers and their latest versions come from the SQL unless given. */
  create(req: { sql?: unknown; dataset?: unknown; version?: unknown; versions?: unknown; minCellSize?: unknown }): JobSpec {
    if (typeof req.sql !== 'string' || !req.sql.trim()) throw new JobError('sql must be a non-empty string');
    if (req.dataset !== undefined && typeof req.dataset !== 'string') throw new JobError('dataset must be a string');
    if (req.version !== undefined && typeof req.version !== 'string') throw new JobError('version must be a string');
    if (req.versions !== undefined && (typeof req.versions !== 'object' || req.versions === null || Object.values(req.versions).some((v) => typeof v !== 'string'))) throw new JobError('versions must map register names to version strings');
    if (req.dataset !== undefined) this.o.store.get(req.dataset); // 404 for an unknown dataset
    const names = tablesOf(parseQuery(req.sql));
    if (req.dataset !== undefined && names[0] !== req.dataset) throw new QueryError(`unknown table '${names[0]}' (the query was submitted for dataset '${req.dataset}', its FROM table)`);
    const stored = new Set(this.o.store.list().map((m) => m.name));
    for (const n of names) if (!stored.has(n)) throw new QueryError(`unknown table '${n}' (stored at this node: ${[...stored].join(', ') || 'none'})`);
    const dataset = (req.dataset as string | undefined) ?? names[0]!;
    const given = { ...(req.versions as Record<string, string> | undefined), ...(req.version !== undefined ? { [dataset]: req.version as string } : {}) };
    const versions = Object.fromEntries(names.map((n) => [n, given[n] ?? this.o.store.get(n).version]));
    const spec = {
      sql: req.sql,
      dataset,
      version: versions[dataset] ?? this.o.store.get(dataset).version,
      ...(names.length > 1 ? { versions } : {}),
      minCellSize: req.minCellSize === undefined ? this.policyMinCellSize : (req.minCellSize as number),
    };
    this.validate(spec);
    // Increasing across restarts of node 0 too (the other nodes refuse a sequence number going back).
    return { ...spec, id: randomUUID(), seq: Math.max(this.seq + 1, Date.now()), submittedAt: new Date().toISOString() };
  }

  /** Queues a job (after validate); jobs run in arrival order, which is node 0's order. */
  enqueue(spec: JobSpec): Job {
    if (this.jobs.has(spec.id)) throw new JobError(`job ${spec.id} already exists`, 409);
    if (spec.seq <= this.seq) throw new JobError(`job ${spec.id} has sequence number ${spec.seq}, but job ${this.seq} was already scheduled here (out of order)`, 409);
    this.validate(spec);
    this.seq = spec.seq;
    const job: Job = { id: spec.id, status: 'queued', spec };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.trim();
    queueMicrotask(() => void this.pump());
    return job;
  }

  /** Drops a queued job (node 0 cancels when another node refused it). */
  cancel(id: string, why: string): boolean {
    const i = this.queue.findIndex((j) => j.id === id);
    if (i < 0) return false;
    const [job] = this.queue.splice(i, 1);
    job!.status = 'failed';
    job!.error = `cancelled: ${why}`;
    job!.finishedAt = new Date().toISOString();
    return true;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  private trim(): void {
    const keep = this.o.keep ?? 1000;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= keep) break;
      if (j.status === 'done' || j.status === 'failed') this.jobs.delete(id);
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        job.status = 'running';
        job.startedAt = new Date().toISOString();
        try {
          job.result = await this.run(job);
          job.status = 'done';
          job.progress = 'done';
          this.o.log?.(`job ${job.id} done`);
        } catch (e) {
          job.status = 'failed';
          job.error = e instanceof Error ? e.message : String(e);
          this.o.log?.(`job ${job.id} failed: ${job.error}`);
        }
        job.finishedAt = new Date().toISOString();
        this.o.onFinished?.(job);
      }
    } finally {
      this.running = false;
    }
  }

  private async run(job: Job): Promise<JobResult> {
    const { spec } = job;
    const { store, config, me } = this.o;
    const { plan, join } = this.validate(spec); // again: the store may have changed since it was queued
    const meta = store.get(spec.dataset, spec.version);
    const versions = spec.versions ?? { [spec.dataset]: spec.version };
    const rows = Object.entries(versions).reduce((s, [n, v]) => s + store.get(n, v).rows, 0);
    const t0 = performance.now();
    job.progress = 'connecting to the other nodes';
    // The job id in the cluster name binds the channel to this job (the hello checks it).
    const jobConfig: ClusterConfig = { ...config, cluster: `${config.cluster}/job/${spec.id}` };
    const net = await connectTls({
      config: jobConfig,
      me,
      key: this.o.keyPem,
      cert: this.o.certPem,
      recvTimeoutMs: this.o.recvTimeoutMs ?? 120_000,
      connectTimeoutMs: this.o.connectTimeoutMs ?? 30_000,
    });
    const t1 = performance.now();
    try {
      const p = await Party.setup(net);
      if (this.o.pauseMs) {
        job.progress = `paused ${this.o.pauseMs} ms (test)`;
        await new Promise((ok) => setTimeout(ok, this.o.pauseMs));
      }
      job.progress = 'decrypting shares';
      const opts = { minCellSize: spec.minCellSize, revealTo: 'none', trace: (phase: string) => (job.progress = `computing over ${rows} rows: ${phase} done`) } as unknown as RunOptions;
      let r: QueryResult & { shared?: SharedOutputs };
      if (join) {
        // Every register the query reads, by its alias in the SQL.
        const tables = new Map(join.tables.map((t) => [t.alias, store.load(t.dataset.name, versions[t.dataset.name]!, t.reads)]));
        job.progress = `computing over ${rows} rows of ${Object.keys(versions).length} registers`;
        r = (await runJoinQuery(p, join, tables, opts)) as typeof r;
      } else {
        const cols = store.load(spec.dataset, spec.version, plan.columns.length ? plan.columns : [meta.columns[0]!]);
        job.progress = `computing over ${meta.rows} rows`;
        r = (await runQuery(p, plan, cols, opts)) as typeof r;
      }
      if (!r.shared) {
        throw new JobError('this build of src/query/execute.ts cannot keep query results secret-shared (runQuery needs the revealTo: "none" mode); refusing to reveal results to a node', 500);
      }
      await net.close();
      const s = r.shared;
      const shares = { a: Array.from(s.shares.a, String), b: Array.from(s.shares.b, String) };
      const salt = newSalt();
      const resultMeta = resultMetaHash({
        job: spec.id,
        dataset: spec.dataset,
        version: spec.version,
        sql: spec.sql,
        columns: r.columns,
        cells: r.cells,
        suppressed: r.suppressed,
        suppressedCount: r.suppressedCount,
        havingHidden: r.havingHidden,
        minCellSize: r.minCellSize,
        visibleCells: s.visibleCells,
        outAggs: s.outAggs,
        lanes: shares.a.length,
      });
      return {
        party: me,
        dataset: spec.dataset,
        version: spec.version,
        sql: spec.sql,
        columns: r.columns,
        datasetRows: rows,
        ...(spec.versions ? { versions: spec.versions } : {}),
        cells: r.cells,
        suppressed: r.suppressed,
        suppressedCount: r.suppressedCount,
        havingHidden: r.havingHidden,
        minCellSize: r.minCellSize,
        visibleCells: s.visibleCells,
        outAggs: s.outAggs,
        shares,
        ledger: { resultMeta, shareCommitment: shareCommitment({ job: spec.id, party: me, ...shares }, salt), salt },
        timings: { connectMs: t1 - t0, computeMs: performance.now() - t1 },
      };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      net.abort(msg);
      await Promise.race([net.whenClosed(), new Promise((ok) => setTimeout(ok, 1000).unref())]);
      throw e;
    }
  }
}

export function isClientError(e: unknown): e is Error & { status?: number } {
  return e instanceof QueryError || e instanceof JobError || e instanceof StoreError;
}

// ---------------------------------------------------------------------------------------------
// The requester's side: combining the three nodes' share pairs into the result table.

export interface CombinedResult {
  columns: string[];
  rows: Display[][];
  suppressed: Record<string, Display>[];
  suppressedCount: number;
  havingHidden: number;
  minCellSize: number;
  cells: number;
}

const u64 = (s: string) => BigInt.asUintN(64, BigInt(s));

/**
 * Combines the results of nodes 0, 1, 2 of one job: x = x_i + x_{i+1} (node i) + x_{i+2} (node
 * i+1), for each i, and checks that every node's second half equals the next node's first half
 * and that the public metadata agree. `plan` is planSql of the job's SQL against the schema.
 */
export function assembleResult(plan: QueryPlan, parts: [JobResult, JobResult, JobResult]): CombinedResult {
  const [r0] = parts;
  const meta = (r: JobResult) => JSON.stringify([r.columns, r.cells, r.suppressed, r.visibleCells, r.outAggs, r.minCellSize, r.havingHidden, r.shares.a.length, r.shares.b.length]);
  parts.forEach((r, i) => {
    if (r.party !== i) throw new Error(`result ${i} comes from party ${r.party}`);
    if (meta(r) !== meta(r0)) throw new Error(`node ${i}'s result metadata differ from node 0's: the nodes did not run the same job`);
  });
  const L = r0.shares.a.length;
  const a = parts.map((r) => r.shares.a.map(u64));
  const b = parts.map((r) => r.shares.b.map(u64));
  const values: bigint[] = new Array(L);
  for (let t = 0; t < L; t++) {
    for (let i = 0; i < 3; i++) {
      if (b[i]![t] !== a[(i + 1) % 3]![t]) throw new Error(`result shares inconsistent: node ${i}'s second half differs from node ${(i + 1) % 3}'s first half at lane ${t}`);
    }
    values[t] = BigInt.asUintN(64, a[0]![t]! + a[1]![t]! + a[2]![t]!);
  }
  return {
    columns: r0.columns,
    rows: assembleRows(plan, r0.visibleCells, r0.outAggs, values),
    suppressed: r0.suppressed,
    suppressedCount: r0.suppressedCount,
    havingHidden: r0.havingHidden,
    minCellSize: r0.minCellSize,
    cells: r0.cells,
  };
}

/** Rows of the visible cells from the combined aggregates (outAgg-major lanes), as a node would show them. */
export function assembleRows(plan: QueryPlan, visibleCells: number[], outAggs: number[], values: bigint[]): Display[][] {
  const V = visibleCells.length;
  if (values.length !== V * outAggs.length) throw new Error(`expected ${V * outAggs.length} aggregate values, got ${values.length}`);
  return resultRows(plan, visibleCells, outAggs, (k, v) => values[k * V + v]!);
}
