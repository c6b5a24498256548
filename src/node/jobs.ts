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
// Who asked, and for what (issue 11). Every job carries its requester's signed request
// (src/governance/study.ts QueryRequest): governed or ad hoc, every node checks for itself that a
// researcher it knows signed it (src/node/access.ts), for this cluster, fresh, never used before
// (nonce), and that the job is exactly what the request says: its SQL (ad hoc) or the registered
// study's query (governed), the register versions it names (or, where it names none, this node's
// latest), a smallest cell at least the request's. What the request does not fix, the nodes decide,
// each on its own, and compare: the consent register in force (governed), the smallest cell of
// their policies and the output protection (src/node/privacy.ts): differential-privacy noise on
// every released aggregate by default, its cost charged to the researcher's budget (and the
// study's) at every node before anything is computed.
//
// Results are sealed to the requester: when its part is done, this node encrypts it (share pair,
// public metadata, commitment salt) to the X25519 key in the signed request (src/governance/sealed.ts);
// the API serves only that ciphertext, and only to the requester (src/node/api.ts).
//
// For the transparency log (src/node/ledger.ts) each result also carries this node's salted
// commitment to the share pair it returns and a hash of the public result metadata
// (src/ledger/commit.ts); the salt goes only to the requester, with the shares.
//
// Governed mode (a consortium configuration at the node: src/node/governance.ts): the request must
// name a registered study; each node authorizes it on its own (src/node/job-governance.ts) when it
// is offered and again before it connects to the peers; a refusal is recorded as the job's error at
// this node ("refused: …"). The run then applies the study's consent filter inside MPC and records
// the usage per custodian afterwards; the result carries this node's signed attestation of what it
// authorized.
import { randomUUID } from 'node:crypto';
import { CorePool, CoreSpares, type CoreTls, type PortRange } from '../mpc/core-pool.js';
import { Party } from '../mpc/party.js';
import { AShare } from '../mpc/share.js';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import { availableParallelism, totalmem } from 'node:os';
import { connectTls, type MpcListener } from '../net/tls.js';
import type { Heartbeats } from '../net/heartbeat.js';
import { noiseForPlan, parseQuery, planAnyQuery, QueryError, runJoinQuery, runQuery, tablesOf, type Display, type JoinPlan, type PlanNoise, type QueryPlan, type QueryResult, type RunOptions } from '../query/index.js';
import { newSalt, resultMetaHash, shareCommitment } from '../ledger/commit.js';
import { studyAccount, type BudgetAccount } from '../governance/budget.js';
import { GovernanceError, refuse } from '../governance/errors.js';
import { canonicalJson } from '../governance/canonical.js';
import { sealJson, type Sealed } from '../governance/sealed.js';
import { checkRequestShape, verifyRequestSignature, type QueryRequestBody } from '../governance/study.js';
import type { ShareStore } from './store.js';
import type { JobStore } from './job-store.js';
import type { NodeGovernance } from './governance.js';
import type { Identity } from '../governance/identities.js';
import { JobError } from './errors.js';
import { authorizeJob, consentRestriction, type GovernedSpecLike, consentVersionFor, registeredStudy, requiredMinCellSize, resultGovernance, type JobAuthorization, type JobGovernanceSpec, type ResultGovernance } from './job-governance.js';
import { decideProtection, DEFAULT_PRIVACY, PrivacyRefusal, researcherBudget, type PrivacySettings, type Protection } from './privacy.js';
import { parseStatistic, planStatistic, runStatisticOn, statisticNoise } from '../stats/service.js';
import { IndicatorCache, agreedIndicators } from './indicator-cache.js';
import { JoinedCache, LineupCache, agreedLineup } from './lineup-cache.js';
import { ExistsCache, agreedExists } from './exists-cache.js';
import { AnalysisCache, statisticTable } from './analysis-cache.js';
import type { StatNoise, StatPlan } from '../stats/functions.js';

/** A job as node 0 scheduled it: what to run (GovernedSpecLike: SQL, registers, smallest cell, submission time, the signed request, the study), its id and place in node 0's order, and the output protection. */
export interface JobSpec extends GovernedSpecLike {
  id: string;
  /** Position in node 0's order. */
  seq: number;
  /** Output protection as node 0 decided it; every node decides again and compares. */
  protection: Protection;
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
  /** ORDER BY COUNT/SUM LIMIT k inside MPC: k ranked lanes instead of visible cells (src/query/top-k.ts). */
  ranked?: number;
  /** A statistics job: the call; `shares` then holds its released lanes (src/stats/service.ts). */
  statistic?: string;
  /** This node's pair (x_i, x_{i+1}) of the output aggregates, lane = outAgg-major then visible cell; u64 decimal strings. */
  shares: { a: string[]; b: string[] };
  /**
   * For the transparency log: resultMeta = hash of the public metadata (the same at every node),
   * shareCommitment = SHA-256 commitment to this pair under `salt` (src/ledger/commit.ts). The
   * log carries both hashes; the salt only the requester gets.
   */
  ledger: { resultMeta: string; shareCommitment: string; salt: string };
  /** workers: the threads its long columns ran on at this node (1: its own; src/mpc/core-pool.ts). */
  timings: { connectMs: number; computeMs: number; workers?: number };
  /** What this node sent to and received from its peers for the job (bytes, frames). */
  traffic?: { sent: number; received: number; frames: number };
  /** The output protection applied (the requester derives each cell's error from it: src/query/dp.ts). */
  protection: Protection;
  /** What this run cost (epsilon, delta), and what remains of the researcher's budget at this node. */
  privacy?: { cost: { epsilon: number; delta: number }; remaining: { epsilon: number; delta: number } };
  /** Governed jobs: the study and query run, the consent filter and noise applied, and this node's signed authorization. */
  governance?: ResultGovernance;
}

export interface Job {
  id: string;
  status: JobStatus;
  progress?: string;
  error?: string;
  result?: JobResult;
  /** The result sealed to the requester's key (what the API serves). */
  sealed?: Sealed;
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
  ranked?: number;
}

export { isClientError, JobError } from './errors.js';

export interface JobRunnerOptions {
  store: ShareStore;
  config: ClusterConfig;
  me: PartyId;
  keyPem: string;
  certPem: string;
  /** Smallest cell size this node allows (its disclosure policy; default 5). */
  policyMinCellSize?: number;
  /** Output protection (default: differential privacy, src/node/privacy.ts DEFAULT_PRIVACY). */
  privacy?: PrivacySettings;
  /** The identities this node knows (src/node/access.ts): who may have signed a request. */
  identities: (name: string) => Identity | undefined;
  recvTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Finished jobs kept in memory (default 1000). */
  keep?: number;
  log?: (msg: string) => void;
  /** Tests only: wait this long after Party.setup (to kill a node mid-job). */
  pauseMs?: number;
  /** Tests only: then block the main thread this long (long synchronous local work). */
  busyMs?: number;
  /** Called when a job has finished (done or failed); the daemon logs the release (src/node/ledger.ts). */
  onFinished?: (job: Job) => void;
  /** Governance state (the request nonces, and with a consortium configuration governed mode). */
  governance: NodeGovernance;
  /** Where jobs are kept across restarts (src/node/job-store.ts); without it, in memory only. */
  jobStore?: JobStore;
  /** The node's listener on its MPC port: the channels of concurrent jobs arrive there (src/net/tls.ts MpcListener). */
  listener?: MpcListener;
  /** The node's heartbeat worker: a peer silent for silenceMs fails the job within seconds (src/net/heartbeat.ts). */
  heartbeats?: Heartbeats;
  silenceMs?: number;
  /** Node 0: jobs running at once in the cluster (default defaultParallelism()); it starts every job at every node. */
  maxParallel?: number;
  /** Worker threads this node offers each job for long columns (src/mpc/core-pool.ts; default 1: none). */
  workers?: number;
  /** Ports the worker threads listen on (default: any free port; see CoreTls.ports). */
  workerPorts?: PortRange;
  /** Address the workers listen on (default: this node's host in cluster.json). */
  listenHost?: string;
  /** Node 0: tells nodes 1 and 2 to start a job (POST /v1/internal/jobs/:id/start). */
  startPeers?: (spec: JobSpec) => Promise<void>;
}

/** What admitting a job decided at this node (src/node/jobs.ts admit). */
interface Admission {
  /** The plan to run (governed with a consent register: a join on the person id). */
  run: { plan: QueryPlan; join: JoinPlan | null };
  ja: JobAuthorization | null;
  noise: PlanNoise | null;
  accounts: BudgetAccount[];
  /** Statistics jobs: the plan and its noise. */
  stat?: { plan: StatPlan; noise: StatNoise | null };
}

/**
 * Where a job's progress figure starts: a join whose EXISTS flags are made first (not kept from an
 * earlier job) reports them as the first EXISTS_SHARE of the run and the query as the rest.
 */
interface JobProgress {
  from: number;
}
/** About the EXISTS's share of the main job's linked studies (the merge with its register). */
const EXISTS_SHARE = 0.6;

/** A refusal of this node's: the job's error here is "refused: …" (403). */
const isRefusal = (e: unknown): e is GovernanceError | PrivacyRefusal => e instanceof GovernanceError || e instanceof PrivacyRefusal;
/** The failed check of a refusal, for the transparency log's job-refused entries. */
const refusalCode = (e: GovernanceError | PrivacyRefusal): string => (e instanceof GovernanceError ? e.code : 'privacy');

/** The longest a GET /v1/jobs/:id?wait=… is held (JobRunner.nextChange); the CLI gives such a request its wait and 10 s more. */
export const MAX_JOB_WAIT_MS = 5000;

export class JobRunner {
  private readonly jobs = new Map<string, Job>();
  /** Admitted jobs not started yet, in admission (node 0's) order. */
  private readonly queue: Job[] = [];
  /** Jobs running now, each with its estimated memory and, once connected, its channel. */
  private readonly running = new Map<string, { job: Job; bytes: number; net?: { abort(reason: string): void } }>();
  private seq = 0;
  /** Analysis tables kept between statistics jobs (in memory only): a quarter of the jobs' memory budget. */
  readonly analysisCache = new AnalysisCache({ bytes: memoryBudget() / 4 });
  /** One-hot indicators of registers' small-domain columns kept between queries (in memory only): a quarter of the jobs' memory budget. */
  readonly indicatorCache = new IndicatorCache({ bytes: memoryBudget() / 4 });
  /** Joins' line-ups (the sort by person id) kept for the next join over the same registers (in memory only): a quarter of the jobs' memory budget. */
  readonly lineupCache = new LineupCache({ bytes: memoryBudget() / 4 });
  /** EXISTS flags per row of FROM, kept for the next query or analysis table with the same EXISTS (./exists-cache.ts). */
  readonly existsCache = new ExistsCache({ bytes: memoryBudget() / 16 });
  /** Joined rows kept for the next query over the same join under the same conditions (./lineup-cache.ts): an eighth of the budget. */
  readonly joinedCache = new JoinedCache({ bytes: memoryBudget() / 8 });
  readonly policyMinCellSize: number;
  readonly privacy: PrivacySettings;

  /** Worker threads started ahead of the jobs that take them (with `workers` of 2 or more). */
  private readonly spares: CoreSpares | null;

  constructor(private readonly o: JobRunnerOptions) {
    this.spares = (o.workers ?? 1) >= 2 ? new CoreSpares(this.coreTls(o.config), o.workers!) : null;
    this.policyMinCellSize = o.policyMinCellSize ?? 5;
    this.privacy = o.privacy ?? DEFAULT_PRIVACY;
    if (o.jobStore) this.restore(o.jobStore);
  }

  /**
   * The jobs of before a restart: finished ones as they were (status, sealed result, release), and
   * a job that was queued or running reported failed (its MPC session died with the process).
   */
  private restore(js: JobStore): void {
    const loaded = js.load().map((r) => r.record as Job).filter((j) => j && typeof j.id === 'string' && j.spec);
    for (const w of js.damaged) this.o.log?.(`WARNING: job record not read back: ${w}`);
    loaded.sort((a, b) => a.spec.seq - b.spec.seq);
    for (const job of loaded) {
      if (job.status === 'queued' || job.status === 'running') {
        job.error = `this node restarted while the job was ${job.status}; it did not finish (submit it again)`;
        job.status = 'failed';
        job.finishedAt = new Date().toISOString();
        delete job.progress;
        this.save(job);
      }
      this.jobs.set(job.id, job);
      this.seq = Math.max(this.seq, job.spec.seq);
    }
    if (loaded.length) this.o.log?.(`${loaded.length} job${loaded.length > 1 ? 's' : ''} of before the restart restored from ${js.dir}`);
  }

  /** Writes a job's record (after every change of its status, result or release) and wakes whoever waits for that change. */
  save(job: Job): void {
    this.changed(job.id);
    if (!this.o.jobStore || this.closed) return; // after close(), a restarted node's records are not ours to write
    const { authorization: _inMemoryOnly, ...record } = job;
    try {
      this.o.jobStore.save(job.id, record);
    } catch (e) {
      this.o.log?.(`WARNING: job ${job.id} not saved: ${(e as Error).message}`);
    }
  }

  /** Governed mode: every job must name a study (src/node/governance.ts). */
  get governed(): boolean {
    return this.o.governance.governed;
  }

  /**
   * Checks a job against this node's store, schemas and policy; returns its plan (and the join
   * plan of a query over several registers). Throws JobError/QueryError/StoreError.
   */
  validate(spec: Pick<JobSpec, 'sql' | 'statistic' | 'dataset' | 'version' | 'versions' | 'minCellSize'>): { plan: QueryPlan; join: JoinPlan | null; stat?: StatPlan } {
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
    const stored = new Map(names.map((n) => [n, this.o.store.get(n, versions[n]!)]));
    if (spec.statistic !== undefined) {
      if (parseStatistic(spec.statistic).data !== spec.sql) throw new JobError('the job\'s SQL is not its statistic\'s analysis table');
      const stat = planStatistic(spec.statistic, stored, spec.minCellSize);
      return { plan: stat.analysis.join.plan, join: stat.analysis.join, stat };
    }
    return planAnyQuery(q, stored);
  }

  /**
   * Node 0: a job spec for a researcher's signed request ({request}), sent by `caller`. The SQL is
   * the request's (ad hoc) or the registered study's query it names (governed); the registers and
   * their versions come from the request or are this node's latest; the consent register is the
   * version in force now. Not yet admitted (preadmit).
   */
  create(body: { request?: unknown; sql?: unknown }, caller: Identity): JobSpec {
    if (body.request === undefined) {
      throw new JobError(body.sql !== undefined
        ? 'a query must carry its researcher\'s signed request ({request}), which covers the SQL, the versions read and the key the result is sealed to; `mosaik query` signs it'
        : 'the body must be {request: <signed query request>}', 400);
    }
    const rq = checkRequestShape(body.request);
    const r = rq.request;
    if (r.researcher !== caller.name) throw new JobError(`the request is signed in the name of '${r.researcher}', but '${caller.name}' sent it`, 403, { code: 'request' });
    if (r.cluster !== this.o.config.cluster) throw new JobError(`the request is for cluster '${r.cluster}', this is cluster '${this.o.config.cluster}'`, 403, { code: 'request' });
    let sql: string;
    let statistic: string | undefined;
    let governance: JobGovernanceSpec | undefined;
    if (this.governed) {
      if (r.study === undefined) throw new JobError(`this cluster runs in governed mode (consortium '${this.o.governance.need().name}'): a query must name a registered study of the researcher's (mosaik query --study <file> --key <researcher key>); ad-hoc SQL is refused`, 403, { code: 'governed' });
      let study;
      try {
        study = registeredStudy(this.o.governance, { request: rq } as JobSpec);
      } catch (e) {
        if (e instanceof GovernanceError) throw new JobError(e.message, 404, { code: e.code });
        throw e;
      }
      const q = study.study.queries.find((x) => x.id === r.query);
      if (!q) throw new GovernanceError('query-not-allowed', `study '${study.study.id}' has no query '${String(r.query)}' (it has ${study.study.queries.map((x) => x.id).join(', ')})`);
      if (q.statistic !== undefined) {
        statistic = q.statistic;
        sql = parseStatistic(q.statistic).data;
      } else sql = q.sql!;
      governance = { study };
    } else {
      if (r.study !== undefined) throw new JobError(`this cluster runs without a consortium configuration (un-governed): studies cannot be checked here; send an ad-hoc request, or start the nodes with --consortium <file>`, 409);
      if (r.statistic !== undefined) {
        statistic = r.statistic;
        sql = parseStatistic(r.statistic).data;
      } else sql = r.sql!;
    }
    const names = tablesOf(parseQuery(sql));
    const stored = new Set(this.o.store.list().map((m) => m.name));
    for (const n of names) if (!stored.has(n)) throw new QueryError(`unknown table '${n}' (stored at this node: ${[...stored].join(', ') || 'none'})`);
    const extra = Object.keys(r.versions ?? {}).filter((n) => !names.includes(n));
    if (extra.length) throw new JobError(`the request names versions of ${extra.join(', ')}, which the query does not read${this.governed ? ' (the consent register\'s version is the nodes\' choice)' : ''}`);
    const versions = Object.fromEntries(names.map((n) => [n, r.versions?.[n] ?? this.o.store.get(n).version]));
    for (const [n, v] of Object.entries(versions)) this.o.store.get(n, v); // 404 for an unknown version
    const submittedAt = new Date().toISOString();
    const consentVersion = this.governed ? consentVersionFor(this.o.governance, this.o.store, submittedAt) : null;
    const reg = this.o.governance.consortium?.consent;
    const allVersions = { ...versions, ...(reg && consentVersion ? { [reg.dataset]: consentVersion } : {}) };
    const dataset = names[0]!;
    const draft: JobSpec = {
      id: randomUUID(),
      // Increasing across restarts of node 0 too (the other nodes refuse a sequence number going back).
      seq: Math.max(this.seq + 1, Date.now()),
      sql,
      ...(statistic !== undefined ? { statistic } : {}),
      dataset,
      version: versions[dataset]!,
      ...(Object.keys(allVersions).length > 1 ? { versions: allVersions } : {}),
      minCellSize: Math.max(this.policyMinCellSize, r.minCellSize ?? 0),
      submittedAt,
      request: rq,
      protection: { kind: 'none' },
      ...(governance ? { governance } : {}),
    };
    const planned = this.validate(draft);
    if (governance && r.minCellSize === undefined) {
      // The smallest cell: what this node's authorization requires (every node checks it is enough).
      try {
        draft.minCellSize = Math.max(draft.minCellSize, requiredMinCellSize(this.o.governance, draft, planned));
      } catch {
        /* refused: reported by preadmit */
      }
    }
    try {
      draft.protection = this.protectionOf(draft, governance ? authorizeJob(this.o.governance, this.o.store, draft, planned).auth.dp : null);
    } catch (e) {
      if (!isRefusal(e)) throw e; // reported by preadmit
    }
    return draft;
  }

  /** This node's decision about a job's output protection. */
  private protectionOf(spec: JobSpec, studyDp: { mechanism: 'laplace' | 'gaussian'; epsilon: number; delta?: number } | null): Protection {
    const r = spec.request.request;
    return decideProtection(this.privacy, studyDp ? { ...studyDp, adhoc: false } : { ...(r.epsilon !== undefined ? { epsilon: r.epsilon } : {}), adhoc: !spec.governance });
  }

  /**
   * Every check this node makes before it takes part in a job (see the module comment), for the
   * job as offered (`atRun` false: the request's freshness, its nonce recorded when `recordNonce`)
   * or just before it runs (`atRun`: the queue may have held it for a while; everything that can
   * change is checked again). Returns what it decided. Throws a refusal (GovernanceError,
   * PrivacyRefusal) or JobError/QueryError/StoreError.
   */
  private admit(spec: JobSpec, opts: { atRun?: boolean; recordNonce?: boolean } = {}): Admission {
    const planned = this.validate(spec);
    const rq = spec.request;
    let r: QueryRequestBody;
    try {
      r = checkRequestShape(rq).request;
    } catch (e) {
      throw e instanceof GovernanceError ? e : new GovernanceError('request', (e as Error).message);
    }
    const who = this.o.identities(r.researcher);
    if (!who) refuse('request', `the request is signed by '${r.researcher}', an identity this node does not know`);
    if (who.role !== 'researcher') refuse('request', `'${r.researcher}' is a ${who.role}; only researchers run queries`);
    verifyRequestSignature(rq, who, this.o.config.cluster, opts.atRun ? Date.parse(r.time) : new Date(), undefined);
    // What the request fixes.
    const names = tablesOf(parseQuery(spec.sql));
    const versions = spec.versions ?? { [spec.dataset]: spec.version };
    for (const n of names) {
      const want = r.versions?.[n];
      if (want !== undefined && versions[n] !== want) refuse('request', `the job reads ${n}@${versions[n]}, but the request asks for ${n}@${want}`);
      if (want === undefined && !opts.atRun && versions[n] !== this.o.store.get(n).version) refuse('request', `the job reads ${n}@${versions[n]}, but the latest version at this node is ${this.o.store.get(n).version} and the request names none`);
    }
    const reg = this.o.governance.consortium?.consent;
    const others = Object.keys(versions).filter((n) => !names.includes(n) && n !== reg?.dataset);
    if (others.length) refuse('request', `the job reads ${others.join(', ')}, which the query does not`);
    if (r.minCellSize !== undefined && spec.minCellSize < r.minCellSize) refuse('min-cell-size', `the job's smallest cell ${spec.minCellSize} is below the ${r.minCellSize} the request asks for`);
    let ja: JobAuthorization | null = null;
    if (this.governed) {
      ja = authorizeJob(this.o.governance, this.o.store, spec, planned, { ...(opts.atRun ? { atRun: true } : {}) });
    } else {
      if (spec.governance) throw new JobError(`this node runs without a consortium configuration, but the job names study '${String(spec.governance.study?.study?.id)}'; all three nodes must run governed (mosaik node --consortium <file>)`, 409);
      if (r.statistic !== undefined ? spec.statistic !== r.statistic : r.sql === undefined || spec.sql !== r.sql || spec.statistic !== undefined) refuse('request', 'the job\'s SQL (or statistic) is not the one of the request');
    }
    // Output protection: this node's own decision, which must be node 0's.
    const mine = this.protectionOf(spec, ja?.auth.dp ?? null);
    if (canonicalJson(mine) !== canonicalJson(spec.protection)) {
      throw new PrivacyRefusal(`node 0 decided this job's output protection as ${canonicalJson(spec.protection)}, this node as ${canonicalJson(mine)}: the nodes' privacy settings differ`);
    }
    const run = ja?.run ?? planned;
    let noise: PlanNoise | null = null;
    const accounts: BudgetAccount[] = [];
    let stat: Admission['stat'];
    if (planned.stat) stat = { plan: planned.stat, noise: null };
    if (mine.kind === 'dp') {
      let cost: { epsilon: number; delta: number };
      try {
        if (stat) {
          stat.noise = statisticNoise(stat.plan, mine.mechanism, mine.epsilon);
          cost = { epsilon: mine.epsilon, delta: 0 };
        } else {
          noise = noiseForPlan(run.plan, run.join, { mechanism: mine.mechanism, epsilon: mine.epsilon, ...(mine.delta !== undefined ? { delta: mine.delta } : {}) });
          cost = noise.cost;
        }
      } catch (e) {
        if (e instanceof QueryError) throw new QueryError(`under output protection (differential privacy, epsilon ${mine.epsilon}): ${e.message.replace(/^differential privacy: /, '')}`);
        throw e;
      }
      accounts.push(researcherBudget(this.privacy, r.researcher));
      if (ja?.auth.budget) accounts.push(studyAccount(ja.auth));
      this.o.governance.budget.checkAll(accounts, cost, ja?.auth.query.id ?? 'ad hoc', spec.id);
    }
    if (opts.recordNonce) this.o.governance.useNonce(r.nonce, spec.id);
    return { run, ja, noise, accounts, ...(stat ? { stat } : {}) };
  }

  /**
   * Node 0: admits a job at this node (recording the request's nonce) without queueing it.
   * Returns null, or the refusal's message.
   */
  preadmit(spec: JobSpec): { error: string; code: string } | null {
    try {
      const a = this.admit(spec, { recordNonce: true });
      if (a.ja) spec.governance!.circuit ??= a.ja.circuit;
      this.admitted.set(spec.id, a);
      return null;
    } catch (e) {
      if (isRefusal(e)) return { error: e.message, code: refusalCode(e) };
      throw e;
    }
  }

  /** Records a job this node refused (or that was called off) as failed, so its status says why. */
  refuse(spec: JobSpec, error: string): Job {
    this.admitted.delete(spec.id);
    const had = this.jobs.get(spec.id);
    if (had) {
      if (had.status === 'queued') this.cancel(spec.id, error.replace(/^cancelled: /, ''));
      return had;
    }
    const job: Job = { id: spec.id, status: 'failed', spec, error, finishedAt: new Date().toISOString() };
    this.jobs.set(job.id, job);
    this.save(job);
    this.trim();
    return job;
  }

  private readonly admitted = new Map<string, Admission>();

  /**
   * Queues a job; jobs run in arrival order, which is node 0's order. Admits it first (unless
   * preadmit did); a refusal is recorded as the job's error here and thrown as a 403 JobError
   * with details {refused: true}.
   */
  enqueue(spec: JobSpec): Job {
    if (this.jobs.has(spec.id)) throw new JobError(`job ${spec.id} already exists`, 409);
    if (spec.seq <= this.seq) throw new JobError(`job ${spec.id} has sequence number ${spec.seq}, but job ${this.seq} was already scheduled here (out of order)`, 409);
    let a = this.admitted.get(spec.id);
    this.admitted.delete(spec.id);
    if (!a) {
      try {
        a = this.admit(spec, { recordNonce: true });
      } catch (e) {
        if (!isRefusal(e)) throw e;
        this.refuse(spec, `refused: ${e.message}`);
        this.o.log?.(`job ${spec.id} refused: ${e.message}`);
        throw new JobError(`refused: ${e.message}`, 403, { refused: true, code: refusalCode(e) });
      }
    }
    this.seq = spec.seq;
    const job: Job = { id: spec.id, status: 'queued', spec, ...(a.ja ? { authorization: a.ja } : {}) };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.save(job); // before node 0 hears that this node took it (and logs its job-run entry)
    this.trim();
    queueMicrotask(() => this.pump());
    return job;
  }

  /** Governed: usage per custodian (every dataset the query read) and this node's attestation. */
  private afterGoverned(spec: JobSpec, ja: JobAuthorization, epsilon: number): ResultGovernance {
    const gov = this.o.governance;
    const versions = spec.versions ?? { [spec.dataset]: spec.version };
    const rows = Object.fromEntries(ja.auth.read.map((d) => [d, this.o.store.get(d, versions[d]!).rows]));
    // The consent register the filter read is a read of the consent custodian's data.
    const reg = ja.auth.consent.register;
    if (ja.consent && reg) rows[ja.consent.dataset] = this.o.store.get(ja.consent.dataset, ja.consent.version).rows;
    try {
      gov.usage.record(ja.auth, { id: spec.id, rows, epsilon, ...(ja.consent && reg ? { consent: { dataset: ja.consent.dataset, custodian: reg.custodian } } : {}) });
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
    this.save(job!);
    return true;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  private trim(): void {
    const keep = this.o.keep ?? 1000;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= keep) break;
      if (j.status === 'done' || j.status === 'failed') {
        this.jobs.delete(id);
        this.o.jobStore?.remove(id);
      }
    }
  }

  private closed = false;
  /** Requests waiting for a job's next change (GET /v1/jobs/:id?wait=…), by job. */
  private readonly waiters = new Map<string, Set<() => void>>();

  /**
   * Resolves at the job's next change of status, result or release (every save()), or after `ms`
   * at the latest, or when the node shuts down: a requester learns that a job finished when it
   * does instead of at its next poll.
   */
  nextChange(id: string, ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((ok) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        ok();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  private changed(id: string): void {
    const set = this.waiters.get(id);
    if (set) for (const wake of [...set]) wake();
  }

  /**
   * The node is shutting down: no further job starts, the running ones are aborted (their peers
   * fail at once instead of waiting), and queued jobs stay queued on disk (a restart reports them failed).
   */
  close(): void {
    this.closed = true;
    void this.spares?.close();
    this.analysisCache.clear();
    this.indicatorCache.clear();
    this.lineupCache.clear();
    this.existsCache.clear();
    this.joinedCache.clear();
    for (const r of this.running.values()) r.net?.abort(`node ${this.o.me} (${this.o.config.nodes[this.o.me].name}) is shutting down`);
    for (const id of [...this.waiters.keys()]) this.changed(id);
  }

  /** How this node's core workers reach their counterparts (its identity; `config` names the channel). */
  private coreTls(config: ClusterConfig): CoreTls {
    const o = this.o;
    return { config, me: o.me, key: o.keyPem, cert: o.certPem, ...(o.listenHost ? { listenHost: o.listenHost } : {}), ...(o.workerPorts ? { ports: o.workerPorts } : {}), recvTimeoutMs: o.recvTimeoutMs ?? 120_000, connectTimeoutMs: o.connectTimeoutMs ?? 30_000 };
  }

  /** How many jobs may run at once at this node (node 0's decides for the cluster: it starts every job). */
  get maxParallel(): number {
    return this.o.maxParallel ?? defaultParallelism();
  }

  /** What a job may hold in memory at this node (public sizes: rows × columns read × working factor). */
  private estimate(job: Job): number {
    const versions = job.spec.versions ?? { [job.spec.dataset]: job.spec.version };
    let bytes = 0;
    for (const [n, v] of Object.entries(versions)) {
      try {
        const m = this.o.store.get(n, v);
        bytes += m.rows * m.columns.length * BYTES_PER_CELL;
      } catch {
        /* refused at run */
      }
    }
    return bytes;
  }

  /**
   * The order node 0 starts queued jobs in: fair between requesters (the requester with the fewest
   * jobs running and started goes first; among its jobs, the oldest), each requester's jobs in
   * submission order. Deterministic: the same queue gives the same order.
   */
  private fairOrder(): Job[] {
    const load = new Map<string, number>();
    for (const r of this.running.values()) load.set(requesterOf(r.job), (load.get(requesterOf(r.job)) ?? 0) + 1);
    const byWho = new Map<string, Job[]>();
    for (const j of this.queue) byWho.set(requesterOf(j), [...(byWho.get(requesterOf(j)) ?? []), j]);
    const out: Job[] = [];
    while (byWho.size) {
      let best: string | null = null;
      for (const [who, js] of byWho) {
        if (best === null) best = who;
        const lb = load.get(best) ?? 0;
        const lw = load.get(who) ?? 0;
        if (lw < lb || (lw === lb && js[0]!.spec.seq < byWho.get(best)![0]!.spec.seq)) best = who;
      }
      const js = byWho.get(best!)!;
      out.push(js.shift()!);
      load.set(best!, (load.get(best!) ?? 0) + 1);
      if (!js.length) byWho.delete(best!);
    }
    return out;
  }

  /** Where a queued job stands (node 0: its place in the fair order; nodes 1, 2: waiting for node 0's start). */
  queuePosition(id: string): { position: number; queued: number; running: number } | null {
    const job = this.jobs.get(id);
    if (!job || job.status !== 'queued') return null;
    const order = this.o.me === 0 ? this.fairOrder() : this.queue;
    return { position: order.findIndex((j) => j.id === id) + 1, queued: this.queue.length, running: this.running.size };
  }

  /** Node 0: starts what fits, fairly; tells nodes 1 and 2 to start each job with it (startPeers). */
  private pump(): void {
    if (this.closed || this.o.me !== 0) return;
    for (const job of this.fairOrder()) {
      const bytes = this.estimate(job);
      const used = [...this.running.values()].reduce((t, r) => t + r.bytes, 0);
      if (this.running.size >= this.maxParallel || (this.running.size > 0 && used + bytes > memoryBudget())) break;
      this.startJob(job, bytes);
      void this.o.startPeers?.(job.spec).catch((e: Error) => this.o.log?.(`WARNING: job ${job.id}: could not tell the other nodes to start: ${e.message}`));
    }
    this.refreshQueued();
  }

  /** Nodes 1, 2: node 0 started a job (POST /v1/internal/jobs/:id/start). */
  start(id: string): 'started' | 'running' | 'finished' | 'unknown' {
    const job = this.jobs.get(id);
    if (!job) return 'unknown';
    if (job.status !== 'queued') return job.status === 'running' ? 'running' : 'finished';
    if (this.closed) return 'unknown';
    this.startJob(job, this.estimate(job));
    return 'started';
  }

  /** Queued jobs say where they stand. */
  private refreshQueued(): void {
    for (const j of this.queue) {
      const q = this.queuePosition(j.id);
      if (q) j.progress = this.o.me === 0 ? `queued: position ${q.position} of ${q.queued} (${q.running} running; at most ${this.maxParallel} at once)` : 'queued: waiting for the scheduler (node 0) to start it';
    }
  }

  private startJob(job: Job, bytes: number): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    const slot: { job: Job; bytes: number; net?: { abort(reason: string): void } } = { job, bytes };
    this.running.set(job.id, slot);
    void this.execute(job, slot).finally(() => {
      this.running.delete(job.id);
      this.pump();
    });
  }

  private async execute(job: Job, slot: { net?: { abort(reason: string): void } }): Promise<void> {
    job.status = 'running';
    job.startedAt = new Date().toISOString();
    this.save(job);
    try {
      job.result = await this.run(job, (net) => (slot.net = net));
      job.sealed = await sealJson(job.result, job.spec.request.request.resultKey, { cluster: this.o.config.cluster, job: job.id, party: this.o.me });
      job.status = 'done';
      job.progress = 'done';
      this.o.log?.(`job ${job.id} done`);
    } catch (e) {
      job.status = 'failed';
      job.error = e instanceof Error ? e.message : String(e);
      this.o.log?.(`job ${job.id} failed: ${job.error}`);
    }
    job.finishedAt = new Date().toISOString();
    if (!this.closed) this.o.onFinished?.(job);
    this.save(job);
  }

  /**
   * A join plan's registers as stored, with each EXISTS whose flag can be kept taken from the nodes'
   * cache or made now and kept (src/node/exists-cache.ts); the job's progress says so while it is made.
   */
  private keptExists(p: Party, job: Job, join: JoinPlan, versions: Record<string, string>, rows: number, progress: JobProgress): Promise<{ jp: JoinPlan; tables: Map<string, Map<string, AShare>> }> {
    return agreedExists(p, { exists: this.existsCache, lineups: this.lineupCache }, this.o.store, join, versions, {
      report: (f, what) => {
        progress.from = EXISTS_SHARE; // the query after it starts there
        job.progress = `computing over ${rows} rows: ${what}, ${Math.floor(100 * EXISTS_SHARE * f)} %`;
      },
    });
  }

  /**
   * This party's share of a statistic's released lanes: its analysis table (kept from an earlier
   * job or built now, src/node/analysis-cache.ts), then the function on it.
   */
  private async statistic(p: Party, job: Job, stat: NonNullable<Admission['stat']>, ja: JobAuthorization | null): Promise<AShare> {
    // Governed: the statistics the study declares are the ones that may follow; ad hoc: any.
    const also = ja ? registeredStudy(this.o.governance, job.spec).study.queries.flatMap((q) => (q.statistic !== undefined ? [q.statistic] : [])) : null;
    const versions = job.spec.versions ?? { [job.spec.dataset]: job.spec.version };
    const t = await statisticTable(p, this.analysisCache, { store: this.o.store, plan: stat.plan, versions, also, consent: ja?.consent ?? null, lineups: this.lineupCache, exists: this.existsCache });
    this.o.log?.(`job ${job.id}: analysis table ${t.cached ? 'kept from an earlier job (all three nodes hold it)' : `built (${t.columns} columns)`}`);
    return runStatisticOn(p, stat.plan, t.table, stat.noise);
  }

  private async run(job: Job, connected: (net: { abort(reason: string): void }) => void): Promise<JobResult> {
    const { spec } = job;
    const { store, config, me } = this.o;
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
      ...(this.o.listener ? { listener: this.o.listener } : {}),
      ...(this.o.heartbeats ? { heartbeats: this.o.heartbeats } : {}),
      ...(this.o.silenceMs !== undefined ? { silenceMs: this.o.silenceMs } : {}),
    });
    // Admit again at this node's clock, and charge the privacy budgets, BEFORE any MPC.
    let a: Admission;
    try {
      job.progress = 'authorizing';
      a = this.admit(spec, { atRun: true });
      const charge = a.noise?.cost ?? (a.stat?.noise ? { epsilon: a.stat.noise.epsilon, delta: 0 } : null);
      if (charge) this.o.governance.budget.chargeAll(a.accounts, charge, { id: spec.id, query: a.ja?.auth.query.id ?? 'ad hoc' });
    } catch (e) {
      if (!isRefusal(e)) throw e;
      // Tell the peers at once (they are waiting for this node), then fail with the refusal.
      const why = `refused: ${e.message}`;
      await connect().then((n) => (n.abort(`node ${me} (${config.nodes[me].name}) ${why}`), Promise.race([n.whenClosed(), new Promise((ok) => setTimeout(ok, 1000).unref())])), () => {});
      throw new JobError(why, 403);
    }
    const ja = a.ja;
    if (ja) job.authorization = ja;
    const { plan, join } = a.run;
    job.progress = 'connecting to the other nodes';
    if (this.closed) throw new JobError(`node ${me} is shutting down`, 503);
    const net = await connect();
    connected(net);
    if (this.closed) net.abort(`node ${me} (${config.nodes[me].name}) is shutting down`);
    const t1 = performance.now();
    let pool: CorePool | null = null;
    try {
      const p = await Party.setup(net);
      // Worker threads for long columns when every node offers two or more (one small round to agree).
      pool = await CorePool.attach(p, net, { workers: this.o.workers ?? 1, tls: this.coreTls(jobConfig), channel: 'cores', ...(this.spares ? { spares: this.spares } : {}) });
      if (this.o.pauseMs) {
        job.progress = `paused ${this.o.pauseMs} ms (test)`;
        await new Promise((ok) => setTimeout(ok, this.o.pauseMs));
      }
      if (this.o.busyMs) {
        job.progress = `busy ${this.o.busyMs} ms (test)`;
        for (const end = Date.now() + this.o.busyMs; Date.now() < end; );
      }
      job.progress = 'decrypting shares';
      // Progress for the requester (GET /v1/jobs/:id): the step just done and how far the run is.
      // A join's EXISTS flags made first take the first EXISTS_SHARE of it, so the figure only grows.
      const steps: JobProgress = { from: 0 };
      const pct = (f: number) => Math.floor(100 * (steps.from + (1 - steps.from) * f));
      const progress = (f: number, phase: string) => (job.progress = `computing over ${rows} rows: ${pct(f)} % (${phase})`);
      const opts = { minCellSize: spec.minCellSize, revealTo: 'none', progress, ...(a.noise ? { noise: a.noise } : {}) } as unknown as RunOptions;
      let r: QueryResult & { shared?: SharedOutputs };
      if (a.stat) {
        // A statistic: its analysis table (a join on the person id; kept for the next statistics
        // over it, src/node/analysis-cache.ts), then the function inside MPC; the released lanes
        // stay secret-shared here (src/stats).
        job.progress = `computing ${JSON.parse(spec.statistic!).fn} over ${rows} rows`;
        const lanes = await this.statistic(p, job, a.stat, ja);
        r = { columns: [], rows: null, suppressed: [], cells: 0, suppressedCount: 0, havingHidden: 0, minCellSize: spec.minCellSize, shared: { visibleCells: [], outAggs: [], shares: lanes } };
      } else if (ja?.consent) {
        // The study's consent filter: the register's rows in force at T, joined on the person id.
        // An EXISTS's flag kept or made now as without the filter (per person: the filter drops the
        // person's joined rows either way; src/query/exists-flags.ts).
        const kept = await this.keptExists(p, job, join!, versions, rows, steps);
        job.progress = `computing over ${rows} rows with the consent filter of '${ja.auth.consent.purpose}': ${pct(0)} %`;
        const restrict = await consentRestriction(p, store, ja.consent);
        r = (await runJoinQuery(p, kept.jp, kept.tables, { ...opts, restrict })) as typeof r;
      } else if (join) {
        // Every register the query reads, by its alias in the SQL; an EXISTS's flag kept from an
        // earlier query (or made now and kept) instead of its register (src/node/exists-cache.ts).
        const kept = await this.keptExists(p, job, join, versions, rows, steps);
        // The sort by person id of an earlier join over the same registers, and the joined rows of
        // an earlier join under the same conditions, kept (src/node/lineup-cache.ts).
        const lineup = await agreedLineup(p, this.lineupCache, store, kept.jp, versions, {}, this.joinedCache);
        job.progress = `computing over ${rows} rows of ${Object.keys(versions).length} registers: ${pct(0)} %`;
        r = (await runJoinQuery(p, kept.jp, kept.tables, { ...opts, ...lineup })) as typeof r;
      } else {
        const cols = store.load(spec.dataset, spec.version, plan.columns.length ? plan.columns : [meta.columns[0]!]);
        // One-hot indicators of the columns its WHERE and GROUP BY read, kept from an earlier query
        // on this register version or made now (src/node/indicator-cache.ts).
        const indicators = await agreedIndicators(p, this.indicatorCache, store, { dataset: spec.dataset, version: spec.version, plan, rows: meta.rows, cols, progress: (what) => (job.progress = what) });
        job.progress = `computing over ${meta.rows} rows: 0 %`;
        r = (await runQuery(p, plan, cols, { ...opts, ...(indicators ? { indicators } : {}) })) as typeof r;
      }
      if (!r.shared) {
        throw new JobError('this build of src/query/execute.ts cannot keep query results secret-shared (runQuery needs the revealTo: "none" mode); refusing to reveal results to a node', 500);
      }
      await pool?.close();
      await net.close();
      const s = r.shared;
      const shares = { a: Array.from(s.shares.a, String), b: Array.from(s.shares.b, String) };
      const salt = newSalt();
      // The result's public metadata: returned to the requester and committed to in the log.
      const released = { columns: r.columns, cells: r.cells, suppressed: r.suppressed, suppressedCount: r.suppressedCount, havingHidden: r.havingHidden, minCellSize: r.minCellSize, visibleCells: s.visibleCells, outAggs: s.outAggs, ...(s.ranked !== undefined ? { ranked: s.ranked } : {}) };
      const resultMeta = resultMetaHash({
        job: spec.id,
        dataset: spec.dataset,
        version: spec.version,
        sql: spec.sql,
        ...released,
        lanes: shares.a.length,
      });
      const cost = a.noise?.cost ?? (a.stat?.noise ? { epsilon: a.stat.noise.epsilon, delta: 0 } : { epsilon: 0, delta: 0 });
      const researcher = a.accounts.find((x) => x.key.startsWith('researcher:'));
      return {
        party: me,
        dataset: spec.dataset,
        version: spec.version,
        sql: spec.sql,
        ...(spec.statistic !== undefined ? { statistic: spec.statistic } : {}),
        datasetRows: rows,
        ...(spec.versions ? { versions: spec.versions } : {}),
        ...released,
        shares,
        ledger: { resultMeta, shareCommitment: shareCommitment({ job: spec.id, party: me, ...shares }, salt), salt },
        timings: { connectMs: t1 - t0, computeMs: performance.now() - t1, workers: pool?.workers ?? 1 },
        traffic: { ...net.stats },
        protection: spec.protection,
        ...(researcher ? { privacy: { cost, remaining: this.o.governance.budget.remainingIn(researcher.key, researcher.total) } } : {}),
        ...(ja ? { governance: this.afterGoverned(spec, ja, cost.epsilon) } : {}),
      };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      await pool?.abort(msg);
      net.abort(msg);
      await Promise.race([net.whenClosed(), new Promise((ok) => setTimeout(ok, 1000).unref())]);
      throw e;
    }
  }
}

/** Memory a job may use per cell of its input at one node (share pair, copies in the protocols). */
const BYTES_PER_CELL = 16 * 12;
/** How much memory the jobs of one node may take together: a sixth of the machine (three nodes may share it). */
const memoryBudget = () => totalmem() / 6;
/** Jobs at once by default: twice the cores (MPC jobs wait on their peers a good part of the time), at least 2, at most 8. */
export const defaultParallelism = () => Math.min(8, Math.max(2, 2 * availableParallelism()));
const requesterOf = (j: Job) => String(j.spec.request?.request?.researcher);

// The requester's side (combining the three nodes' share pairs) is src/query/assemble.ts.
export { assembleResult, assembleRows, type CombinedResult } from '../query/assemble.js';
