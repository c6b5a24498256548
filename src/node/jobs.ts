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
//
// Governed mode (a consortium configuration at the node: src/node/governance.ts): a job must name
// a study and carry the researcher's signed request (JobSpec.governance). Each node authorizes it
// on its own (src/node/job-governance.ts) when it is offered and again before it connects to the
// peers; a refusal is recorded as the job's error at this node ("refused: …"). The run then
// applies the study's consent filter inside MPC, adds differential-privacy noise (charged to the
// study's privacy budget before the run), and records the usage per custodian afterwards; the
// result carries this node's signed attestation of what it authorized.
import { randomUUID } from 'node:crypto';
import { Party } from '../mpc/party.js';
import { AShare } from '../mpc/share.js';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import { connectTls } from '../net/tls.js';
import { parseQuery, planAnyQuery, QueryError, runJoinQuery, runQuery, tablesOf, type Display, type JoinPlan, type QueryPlan, type QueryResult, type RunOptions } from '../query/index.js';
import { resultRows } from '../query/execute.js';
import { newSalt, resultMetaHash, shareCommitment } from '../ledger/commit.js';
import { GovernanceError } from '../governance/errors.js';
import { normalizeQueryText } from '../governance/policy.js';
import { parseSignedStudy, type QueryRequest, type SignedStudy } from '../governance/study.js';
import { type ShareStore, StoreError } from './store.js';
import type { NodeGovernance } from './governance.js';
import { authorizeJob, consentRestriction, requiredMinCellSize, resultGovernance, type JobAuthorization, type JobGovernanceSpec, type ResultGovernance } from './job-governance.js';

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
  /** Governed mode: the study, approvals sent along and the researcher's signed request. */
  governance?: JobGovernanceSpec;
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
  /** Governed jobs: the study and query run, the consent filter and noise applied, and this node's signed authorization. */
  governance?: ResultGovernance;
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
  /** Governed: this node's authorization (kept in memory only). */
  authorization?: JobAuthorization;
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
    /** Extra fields of the error answer (e.g. {job, refusals}). */
    readonly details?: Record<string, unknown>,
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
  /** Governance state; with a consortium configuration the node runs in governed mode. */
  governance?: NodeGovernance;
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

  /** Governed mode: every job must name a study (src/node/governance.ts). */
  get governed(): boolean {
    return !!this.o.governance?.governed;
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

  /**
   * Governed mode, node 0: a job spec for a researcher's request {study, request, approvals?,
   * sql?, versions?, minCellSize?}. `study` is the signed study document or its id (then the
   * registered version the request names). The SQL is the study's query the request names. The
   * consent register's latest version joins the job's versions. Not yet authorized (preauthorize).
   */
  createGoverned(req: { study?: unknown; request?: unknown; approvals?: unknown; sql?: unknown; versions?: unknown; minCellSize?: unknown }): JobSpec {
    const gov = this.o.governance!;
    const consortium = gov.need();
    const rq = req.request as QueryRequest | undefined;
    if (!rq || typeof rq !== 'object' || !rq.request || typeof rq.request !== 'object') {
      throw new JobError(`this cluster runs in governed mode (consortium '${consortium.name}'): a query must name a study and carry the researcher's signed request: {study, request, …} (mosaik query --study <file> --key <researcher key>); ad-hoc SQL is refused`, 403);
    }
    let study: SignedStudy | undefined;
    if (typeof req.study === 'string') {
      study = gov.studyByHash(String(rq.request.studyHash));
      if (!study || study.study.id !== req.study) throw new JobError(`study '${req.study}' (version ${String(rq.request.studyHash).slice(0, 16)}… named by the request) is not registered at this node; submit it (mosaik study submit) or send the signed study with the query`, 404);
    } else if (req.study && typeof req.study === 'object') study = parseSignedStudy(req.study);
    else throw new JobError('study must be the signed study document or the id of a registered study');
    if (req.approvals !== undefined && !Array.isArray(req.approvals)) throw new JobError('approvals must be a list of signed approvals');
    const q = study.study.queries.find((x) => x.id === rq.request.query);
    if (!q) throw new GovernanceError('query-not-allowed', `study '${study.study.id}' has no query '${String(rq.request.query)}' (it has ${study.study.queries.map((x) => x.id).join(', ')})`);
    if (q.sql === undefined) throw new JobError(`query '${q.id}' of study '${study.study.id}' is a statistic; the nodes run SQL queries only`);
    if (req.sql !== undefined && (typeof req.sql !== 'string' || normalizeQueryText(req.sql) !== normalizeQueryText(q.sql))) throw new JobError(`the SQL sent is not query '${q.id}' of study '${study.study.id}' (omit sql: the nodes take it from the study)`);
    const reg = consortium.consent;
    const given = (req.versions as Record<string, string> | undefined) ?? {};
    const spec = this.create({ sql: q.sql, versions: req.versions, ...(req.minCellSize !== undefined ? { minCellSize: req.minCellSize } : {}) });
    const versions = { ...(spec.versions ?? { [spec.dataset]: spec.version }) };
    if (reg) {
      try {
        versions[reg.dataset] = given[reg.dataset] ?? this.o.store.get(reg.dataset).version;
      } catch {
        throw new GovernanceError('consent', `the consent register '${reg.dataset}' is not stored at node 0; studies run only with their consent filter (the consent custodian uploads it: mosaik consent set --dir …)`);
      }
    }
    const governance: JobGovernanceSpec = { study, ...(req.approvals ? { approvals: req.approvals as JobGovernanceSpec['approvals'] } : {}), request: rq };
    const draft: JobSpec = { ...spec, versions, governance };
    // The smallest cell: what this node's authorization requires (every node checks it is enough).
    if (req.minCellSize === undefined) {
      try {
        draft.minCellSize = Math.max(draft.minCellSize, requiredMinCellSize(gov, draft, this.validate(draft)));
      } catch {
        /* refused: reported by preauthorize */
      }
    }
    return draft;
  }

  /**
   * Governed mode: authorizes a job at this node (remembering the request's nonce) without queueing
   * it. Returns null, or the refusal's message (a governance check failed).
   */
  preauthorize(spec: JobSpec): string | null {
    try {
      const ja = authorizeJob(this.o.governance!, this.o.store, spec, this.validate(spec), { recordNonce: true });
      spec.governance!.circuit ??= ja.circuit;
      this.authorized.set(spec.id, ja);
      return null;
    } catch (e) {
      if (e instanceof GovernanceError) return e.message;
      throw e;
    }
  }

  /** Records a job this node refused (or that was called off) as failed, so its status says why. */
  refuse(spec: JobSpec, error: string): Job {
    this.authorized.delete(spec.id);
    const had = this.jobs.get(spec.id);
    if (had) {
      if (had.status === 'queued') this.cancel(spec.id, error.replace(/^cancelled: /, ''));
      return had;
    }
    const job: Job = { id: spec.id, status: 'failed', spec, error, finishedAt: new Date().toISOString() };
    this.jobs.set(job.id, job);
    this.trim();
    return job;
  }

  private readonly authorized = new Map<string, JobAuthorization>();

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

  /**
   * Queues a job (after validate); jobs run in arrival order, which is node 0's order. Governed:
   * authorizes it first (unless preauthorize did); a refusal is recorded as the job's error here
   * and thrown as a 403 JobError with details {refused: true}.
   */
  enqueue(spec: JobSpec): Job {
    if (this.jobs.has(spec.id)) throw new JobError(`job ${spec.id} already exists`, 409);
    if (spec.seq <= this.seq) throw new JobError(`job ${spec.id} has sequence number ${spec.seq}, but job ${this.seq} was already scheduled here (out of order)`, 409);
    const planned = this.validate(spec);
    let ja: JobAuthorization | undefined;
    if (this.governed) {
      ja = this.authorized.get(spec.id);
      this.authorized.delete(spec.id);
      if (!ja) {
        try {
          ja = authorizeJob(this.o.governance!, this.o.store, spec, planned, { recordNonce: true });
        } catch (e) {
          if (!(e instanceof GovernanceError)) throw e;
          this.refuse(spec, `refused: ${e.message}`);
          this.o.log?.(`job ${spec.id} refused: ${e.message}`);
          throw new JobError(`refused: ${e.message}`, 403, { refused: true, code: e.code });
        }
      }
    } else if (spec.governance) {
      throw new JobError(`this node runs without a consortium configuration, but the job names study '${String(spec.governance.study?.study?.id)}'; all three nodes must run governed (mosaik node --consortium <file>)`, 409);
    }
    this.seq = spec.seq;
    const job: Job = { id: spec.id, status: 'queued', spec, ...(ja ? { authorization: ja } : {}) };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.trim();
    queueMicrotask(() => void this.pump());
    return job;
  }

  /** Governed: usage per custodian (every dataset the query read) and this node's attestation. */
  private afterGoverned(spec: JobSpec, ja: JobAuthorization): ResultGovernance {
    const gov = this.o.governance!;
    const versions = spec.versions ?? { [spec.dataset]: spec.version };
    const rows = Object.fromEntries(ja.auth.read.map((d) => [d, this.o.store.get(d, versions[d]!).rows]));
    try {
      gov.usage.record(ja.auth, { id: spec.id, rows, epsilon: ja.noise?.cost.epsilon ?? 0 });
    } catch (e) {
      this.o.log?.(`WARNING: job ${spec.id}: usage not recorded: ${(e as Error).message}`);
    }
    return resultGovernance(gov, ja);
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
    let { plan, join } = this.validate(spec); // again: the store may have changed since it was queued
    const meta = store.get(spec.dataset, spec.version);
    const versions = spec.versions ?? { [spec.dataset]: spec.version };
    const rows = Object.entries(versions).reduce((s, [n, v]) => s + store.get(n, v).rows, 0);
    const t0 = performance.now();
    // The job id in the cluster name binds the channel to this job (the hello checks it).
    const jobConfig: ClusterConfig = { ...config, cluster: `${config.cluster}/job/${spec.id}` };
    const connect = () => connectTls({
      config: jobConfig,
      me,
      key: this.o.keyPem,
      cert: this.o.certPem,
      recvTimeoutMs: this.o.recvTimeoutMs ?? 120_000,
      connectTimeoutMs: this.o.connectTimeoutMs ?? 30_000,
    });
    // Governed: authorize again at this node's clock, and charge the privacy budget, BEFORE any MPC.
    let ja: JobAuthorization | null = null;
    if (this.governed) {
      try {
        job.progress = 'authorizing';
        ja = authorizeJob(this.o.governance!, store, spec, { plan, join }, { atRun: true });
        if (ja.noise) this.o.governance!.budget.charge(ja.auth, ja.noise.cost, { id: spec.id });
      } catch (e) {
        if (!(e instanceof GovernanceError)) throw e;
        // Tell the peers at once (they are waiting for this node), then fail with the refusal.
        const why = `refused: ${e.message}`;
        await connect().then((n) => (n.abort(`node ${me} (${config.nodes[me].name}) ${why}`), Promise.race([n.whenClosed(), new Promise((ok) => setTimeout(ok, 1000).unref())])), () => {});
        throw new JobError(why, 403);
      }
      job.authorization = ja;
      ({ plan, join } = ja.run);
    }
    job.progress = 'connecting to the other nodes';
    const net = await connect();
    const t1 = performance.now();
    try {
      const p = await Party.setup(net);
      if (this.o.pauseMs) {
        job.progress = `paused ${this.o.pauseMs} ms (test)`;
        await new Promise((ok) => setTimeout(ok, this.o.pauseMs));
      }
      job.progress = 'decrypting shares';
      const opts = { minCellSize: spec.minCellSize, revealTo: 'none', trace: (phase: string) => (job.progress = `computing over ${rows} rows: ${phase} done`), ...(ja?.noise ? { noise: ja.noise } : {}) } as unknown as RunOptions;
      let r: QueryResult & { shared?: SharedOutputs };
      if (ja?.consent) {
        // The study's consent filter: the register's rows in force at T, joined on the person id.
        const tables = new Map(join!.tables.map((t) => [t.alias, store.load(t.dataset.name, versions[t.dataset.name]!, t.reads)]));
        job.progress = `computing over ${rows} rows with the consent filter of '${ja.auth.consent.purpose}'`;
        const restrict = await consentRestriction(p, store, ja.consent);
        r = (await runJoinQuery(p, join!, tables, { ...opts, restrict })) as typeof r;
      } else if (join) {
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
      // The result's public metadata: returned to the requester and committed to in the log.
      const released = { columns: r.columns, cells: r.cells, suppressed: r.suppressed, suppressedCount: r.suppressedCount, havingHidden: r.havingHidden, minCellSize: r.minCellSize, visibleCells: s.visibleCells, outAggs: s.outAggs };
      const resultMeta = resultMetaHash({
        job: spec.id,
        dataset: spec.dataset,
        version: spec.version,
        sql: spec.sql,
        ...released,
        lanes: shares.a.length,
      });
      return {
        party: me,
        dataset: spec.dataset,
        version: spec.version,
        sql: spec.sql,
        datasetRows: rows,
        ...(spec.versions ? { versions: spec.versions } : {}),
        ...released,
        shares,
        ledger: { resultMeta, shareCommitment: shareCommitment({ job: spec.id, party: me, ...shares }, salt), salt },
        timings: { connectMs: t1 - t0, computeMs: performance.now() - t1 },
        ...(ja ? { governance: this.afterGoverned(spec, ja) } : {}),
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
  return e instanceof QueryError || e instanceof JobError || e instanceof StoreError || e instanceof GovernanceError;
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
