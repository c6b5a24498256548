// A compute node's part in the transparency log: its replica (src/ledger/log.ts), replication and
// co-signing of tree heads, and the entries for query jobs.
//
// Who writes what. Node 0 (the scheduler, which already fixes the order of jobs) also fixes the
// order of log entries: it appends an entry to its own replica, sends it to nodes 1 and 2 over the
// node-to-node mutual-TLS routes, and each of them *checks the entry itself* before appending it —
// a job-run entry must equal the one it derives from its own copy of the job spec, a
// result-released entry must carry its own commitment to the shares it returned (validators, one
// per kind; other modules add theirs). Then node 0 proposes a tree head {cluster, size, root,
// timestamp}; each node signs it only if the root equals the root of its own replica at that size
// (Ed25519, src/ledger/heads.ts), node 0 adds its signature, stores the co-signed head and hands it
// to the others, who store it too (RFC 9162 §4.10-style signed tree heads, signed by all three).
// Entries a node missed (it was down) are sent again from where it stands; a node that holds a
// different entry at some seq refuses (a fork) and co-signing stops until an operator looks.
//
// Results and the log: each node serves a finished job's result share pair only after the
// result-released entry is in its own replica (api.ts gates it), so no result leaves a node
// unlogged. Node 0 gathers the three share commitments (src/ledger/commit.ts) once its own part is
// done and appends the entry.
//
// THE APPEND API for other modules (e.g. src/governance): `await ledger.append(kind, body)` at any
// node. At node 0 it appends, replicates and co-signs; at nodes 1 and 2 it forwards the event to
// node 0 (mutual TLS), which does the same. Resolves with the stored entry and whether a co-signed
// head covers it; pass {requireCosigned: true} to make a failed co-signing an error. Register a
// check every node runs before it appends an entry of your kind with `ledger.setValidator(kind, fn)`
// (throw to refuse). Bodies are public: counts, public metadata and commitments only.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson, checkEntry, LedgerError, MAX_REASON_LENGTH, type EntryKind, type JsonValue, type LedgerEntry } from '../ledger/entry.js';
import { verifyHeadSignature, checkTreeHead, type HeadSignature, type SignedHead, type TreeHead } from '../ledger/heads.js';
import { signHead } from '../ledger/heads-sign.js';
import { LedgerLog, writeAnchorFile } from '../ledger/log.js';
import type { TrustAnchor } from '../ledger/verify.js';
import { sqlSha256 } from '../ledger/commit.js';
import { hashJson } from '../governance/canonical.js';
import type { PartyId } from '../net/channel.js';
import { clusterSigningKeys, type ClusterConfig } from '../net/keys.js';
import { LedgerConflict } from './errors.js';
import { apiRequest } from './http.js';
import type { Job, JobRunner, JobSpec } from './jobs.js';
import type { QueryRequest } from '../governance/study.js';

export type EntryValidator = (entry: LedgerEntry) => void;

export interface NodeLedgerOptions {
  config: ClusterConfig;
  me: PartyId;
  /** The replica's directory (<nodeDir>/ledger). */
  dir: string;
  /** This node's Ed25519 signing key (PKCS#8 PEM). */
  signingKeyPem: string;
  /** TLS key and certificate for node-to-node calls. */
  keyPem: string;
  certPem: string;
  runner: JobRunner;
  log: (msg: string) => void;
  /** How long node 0 waits for the other nodes' share commitments of a finished job (default 120 s). */
  releaseTimeoutMs?: number;
}

export { LedgerConflict } from './errors.js';

const PEERS: PartyId[] = [1, 2];

/**
 * The job-run entry body every node derives from a job spec: what ran, for whom, on which register
 * versions (the consent register's included), with what protection. `request` is the SHA-256 of
 * the requester's signed request (which a requester can show to prove what it asked for).
 */
export function jobRunBody(spec: JobSpec): { [k: string]: JsonValue } {
  const r = spec.request?.request;
  const p = spec.protection;
  return {
    job: spec.id, jobSeq: spec.seq, dataset: spec.dataset, version: spec.version, ...(spec.versions ? { versions: spec.versions } : {}), sqlSha256: sqlSha256(spec.sql), ...(spec.statistic !== undefined ? { statisticSha256: sqlSha256(spec.statistic) } : {}), minCellSize: spec.minCellSize,
    requester: String(r?.researcher), requestSha256: hashJson(spec.request),
    protection: p?.kind === 'dp' ? { kind: 'dp', mechanism: p.mechanism, epsilon: p.epsilon, ...(p.delta !== undefined ? { delta: p.delta } : {}) } : { kind: 'none' },
    // Governed jobs: the study version and its query.
    ...(spec.governance ? { study: String(r?.study), studyHash: String(r?.studyHash), query: String(r?.query), request: String(r?.nonce) } : {}),
  };
}

/** One node's refusal of an attempt to run a query. */
export interface Refusal {
  party: PartyId;
  /** The failed check (GovernanceCode, 'privacy', or 'request'). */
  code: string;
  error: string;
}

const reasonText = (error: string) => {
  const t = error.replace(/^refused: /, '');
  return t.length > MAX_REASON_LENGTH ? `${t.slice(0, MAX_REASON_LENGTH - 1)}…` : t;
};

/**
 * The job-refused entry of a refused attempt (src/ledger/entry.ts): who asked for what (the study
 * and query, or the SQL's hash), which nodes refused, and each distinct reason with the number of
 * nodes that gave it. Public metadata only: no SQL text, no data.
 */
export function jobRefusedBody(o: { job?: string; request: QueryRequest; sql?: string; refusals: readonly Refusal[] }): { [k: string]: JsonValue } {
  const r = o.request.request;
  const reasons = new Map<string, { code: string; reason: string; nodes: number }>();
  for (const x of o.refusals) {
    const reason = reasonText(x.error);
    const k = `${x.code}\u0000${reason}`;
    const had = reasons.get(k);
    if (had) had.nodes++;
    else reasons.set(k, { code: x.code, reason, nodes: 1 });
  }
  return {
    ...(o.job ? { job: o.job } : {}),
    requester: String(r.researcher),
    ...(r.study !== undefined ? { study: String(r.study), studyHash: String(r.studyHash), query: String(r.query) } : {}),
    ...(o.sql !== undefined ? { sqlSha256: sqlSha256(o.sql) } : {}),
    refusedBy: [...new Set(o.refusals.map((x) => x.party))].sort(),
    reasons: [...reasons.values()],
  };
}

export class NodeLedger {
  private replicaLog: LedgerLog;
  readonly anchor: TrustAnchor;
  private readonly validators = new Map<EntryKind, EntryValidator>();
  private readonly signingKey: KeyObject;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly peerSize: (number | undefined)[] = [undefined, undefined, undefined];
  private lastFailure = '';
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  private closed = false;

  constructor(private readonly o: NodeLedgerOptions) {
    const { config } = o;
    this.anchor = { cluster: config.cluster, keys: clusterSigningKeys(config), names: config.nodes.map((n) => n.name) as [string, string, string] };
    this.signingKey = createPrivateKey(o.signingKeyPem);
    this.replicaLog = this.openReplica();
    writeAnchorFile(o.dir, this.anchor); // a copy of the replica directory can then be verified alone
    this.setValidator('job-run', (e) => this.checkJobRun(e));
    this.setValidator('result-released', (e) => this.checkRelease(e));
    this.setValidator('job-refused', (e) => this.checkRefusal(e));
  }

  private openReplica(): LedgerLog {
    const l = LedgerLog.open(this.o.dir, { ...this.anchor, signatures: 'latest', label: this.o.config.nodes[this.o.me].name, partialTail: 'set-aside', allowDamaged: true });
    for (const w of l.warnings) this.o.log(`transparency log: ${w}`);
    for (const p of l.problems) this.o.log(`WARNING: transparency log replica damaged: ${p}`);
    if (l.damaged) this.o.log('WARNING: this node serves its damaged log to auditors but appends and signs nothing until it is repaired');
    return l;
  }

  /** The replica, re-read and re-verified first if someone changed its files behind this process. */
  get replica(): LedgerLog {
    if (this.replicaLog.changedOnDisk()) {
      this.o.log('WARNING: the transparency-log files were changed outside this node process; re-reading and re-verifying them');
      this.replicaLog.close();
      this.replicaLog = this.openReplica();
    }
    return this.replicaLog;
  }

  /**
   * Registers the check every node runs on an entry of `kind` before appending it (at node 0 before
   * it proposes, at nodes 1 and 2 before they accept node 0's proposal). Throw to refuse.
   */
  setValidator(kind: EntryKind, fn: EntryValidator): void {
    this.validators.set(kind, fn);
  }

  private validate(e: LedgerEntry): void {
    checkEntry(e);
    try {
      this.validators.get(e.kind)?.(e);
    } catch (err) {
      throw new LedgerConflict(`node ${this.o.me} (${this.o.config.nodes[this.o.me].name}) refuses ${e.kind} entry ${e.seq}: ${(err as Error).message}`, 409);
    }
  }

  /** Throws when this replica cannot take new entries (damaged). */
  assertWritable(): void {
    const l = this.replica;
    if (l.damaged) throw new LedgerConflict(`this node's transparency-log replica is damaged (${l.problems[0]}); nothing is logged, so nothing runs, until it is repaired`, 503);
  }

  /**
   * THE generic append (see the module comment): logs `kind` + `body` (public data only) in the
   * cluster's transparency log. `time` defaults to now (ISO 8601 UTC); give one when every node
   * must be able to derive the same entry.
   */
  async append(kind: EntryKind, body: { [k: string]: JsonValue }, opts: { time?: string; requireCosigned?: boolean } = {}): Promise<{ entry: LedgerEntry; cosigned: boolean }> {
    if (this.o.me !== 0) return this.forward(kind, body, opts);
    const log = this.replica;
    const draft: LedgerEntry = { seq: log.size, time: opts.time ?? new Date().toISOString(), kind, body };
    this.assertWritable();
    this.validate(draft);
    const entry = log.appendEntry(draft);
    this.afterAppend(entry);
    const cosigned = await this.trySync();
    if (opts.requireCosigned && !cosigned) throw new LedgerError(`entry ${entry.seq} is stored at node 0 but no co-signed head covers it yet: ${this.lastFailure}`);
    return { entry, cosigned };
  }

  private async forward(kind: EntryKind, body: { [k: string]: JsonValue }, opts: { time?: string; requireCosigned?: boolean }): Promise<{ entry: LedgerEntry; cosigned: boolean }> {
    const r = await apiRequest<{ entry?: LedgerEntry; cosigned?: boolean; error?: string }>(this.o.config, 0, '/v1/internal/ledger/submit', {
      body: { kind, body, ...opts },
      key: this.o.keyPem,
      cert: this.o.certPem,
      timeoutMs: 30_000,
    });
    if (r.status !== 200 || !r.body.entry) throw new LedgerError(`node 0 did not log the ${kind} event: ${r.body?.error ?? `HTTP ${r.status}`}`);
    return { entry: r.body.entry, cosigned: !!r.body.cosigned };
  }

  private afterAppend(e: LedgerEntry): void {
    if (e.kind === 'result-released') {
      const job = this.o.runner.get(String(e.body.job));
      if (job) {
        job.released = e.seq;
        this.o.runner.save(job);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Node 0: replication and co-signing

  /** Replicates and co-signs everything appended so far; false (and a retry later) on failure. */
  private trySync(): Promise<boolean> {
    const p = this.chain.then(() => this.syncOnce());
    this.chain = p.catch(() => {});
    return p.then(
      () => {
        if (this.lastFailure) this.o.log('transparency log: co-signing works again');
        this.lastFailure = '';
        this.retryMs = 1000;
        return true;
      },
      (e: Error) => {
        this.peerSize.fill(undefined); // ask again where each node stands
        if (e.message !== this.lastFailure) this.o.log(`WARNING: transparency log not co-signed (will retry): ${e.message}`);
        this.lastFailure = e.message;
        this.scheduleRetry();
        return false;
      },
    );
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.trySync();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  /** Node 0 at start: co-sign what is not co-signed yet (e.g. after a crash). */
  start(): void {
    if (this.o.me !== 0) return;
    const l = this.replica;
    if (!l.damaged && l.size > (l.latest?.size ?? 0)) this.scheduleRetry();
  }

  private async syncOnce(): Promise<void> {
    const log = this.replica;
    const size = log.size;
    if (size === 0 || (log.latest?.size ?? 0) >= size) return;
    this.assertWritable();
    await Promise.all(PEERS.map((p) => this.push(p, size)));
    const last = log.latest;
    const now = new Date().toISOString();
    const head: TreeHead = { cluster: this.o.config.cluster, size, rootHash: log.rootHash(size), timestamp: last && last.timestamp > now ? last.timestamp : now };
    const theirs = await Promise.all(PEERS.map((p) => this.requestSignature(p, head)));
    const signed: SignedHead = { ...head, signatures: [signHead(head, 0, this.signingKey), ...theirs] };
    log.addHead(signed);
    const stored = await Promise.allSettled(PEERS.map((p) => this.internal(p, '/v1/internal/ledger/heads', { head: signed })));
    stored.forEach((s, i) => {
      if (s.status === 'rejected') this.o.log(`WARNING: transparency log: node ${PEERS[i]} did not store the co-signed head of size ${size}: ${(s.reason as Error).message}`);
    });
  }

  private async internal<T>(p: PartyId, path: string, body: unknown): Promise<T> {
    const n = this.o.config.nodes[p];
    const r = await apiRequest<T & { error?: string; size?: number }>(this.o.config, p, path, { body, key: this.o.keyPem, cert: this.o.certPem, timeoutMs: 15_000 });
    if (r.status !== 200) throw new LedgerConflict(`node ${p} (${n.name}): ${r.body?.error ?? `HTTP ${r.status}`}`, r.status, typeof r.body?.size === 'number' ? r.body.size : undefined);
    return r.body;
  }

  /** Sends peer `p` the entries it lacks, up to `size`, starting where it stands. */
  private async push(p: PartyId, size: number): Promise<void> {
    const log = this.replica;
    let from = Math.min(this.peerSize[p] ?? size - 1, size - 1);
    for (let rounds = 0; ; rounds++) {
      if ((this.peerSize[p] ?? -1) >= size) return;
      if (rounds > 10_000) throw new LedgerError(`node ${p} does not catch up`);
      const to = Math.min(size, from + 500);
      try {
        const r = await this.internal<{ size: number }>(p, '/v1/internal/ledger/entries', { entries: log.entries(from, to) });
        this.peerSize[p] = r.size;
        from = r.size;
      } catch (e) {
        // The node is behind the entries sent: start again where it stands.
        if (e instanceof LedgerConflict && e.size !== undefined && e.size < from) {
          this.peerSize[p] = e.size;
          from = e.size;
          continue;
        }
        this.peerSize[p] = undefined;
        throw e;
      }
    }
  }

  private async requestSignature(p: PartyId, head: TreeHead): Promise<HeadSignature> {
    const r = await this.internal<{ signature?: HeadSignature }>(p, '/v1/internal/ledger/sign', { head });
    const s = r.signature;
    if (!s || s.party !== p || !verifyHeadSignature(head, s.signature, this.anchor.keys[p])) throw new LedgerError(`node ${p} (${this.o.config.nodes[p].name}) returned a signature of the head of size ${head.size} that does not verify under its key in cluster.json`);
    return { party: p, signature: s.signature };
  }

  // -------------------------------------------------------------------------------------------
  // Nodes 1 and 2: what node 0 asks of them

  /** Takes node 0's entries in order: known ones must be identical, new ones are checked and appended. */
  acceptEntries(list: unknown): { size: number; rootHash: string } {
    const log = this.replica;
    if (!Array.isArray(list)) throw new LedgerConflict('entries must be an array', 400);
    for (const raw of list) {
      const e = checkEntry(raw, 'proposed entry');
      if (e.seq < log.size) {
        if (canonicalJson(e) !== log.line(e.seq)) throw new LedgerConflict(`FORK: node 0's entry ${e.seq} differs from the one this node logged; refusing`, 409);
        continue;
      }
      if (e.seq > log.size) throw new LedgerConflict(`this node has ${log.size} entries; expected entry ${log.size} next, got ${e.seq}`, 409, log.size);
      this.assertWritable();
      this.validate(e);
      this.afterAppend(log.appendEntry(e));
    }
    return { size: log.size, rootHash: log.rootHash() };
  }

  /** Signs node 0's proposed head if it describes this replica. */
  signProposedHead(raw: unknown): HeadSignature {
    const log = this.replica;
    this.assertWritable();
    const h = checkTreeHead(raw, 'proposed head');
    if (h.cluster !== this.o.config.cluster) throw new LedgerConflict(`proposed head is for cluster '${h.cluster}', this node is in '${this.o.config.cluster}'`, 409);
    if (h.size > log.size) throw new LedgerConflict(`proposed head covers ${h.size} entries, this node has ${log.size}`, 409, log.size);
    const root = log.rootHash(h.size);
    if (root !== h.rootHash) throw new LedgerConflict(`FORK: proposed head of size ${h.size} has root ${h.rootHash}, but this node's first ${h.size} entries hash to ${root}; not signing`, 409);
    const last = log.latest;
    if (last && (h.size < last.size || h.timestamp < last.timestamp)) throw new LedgerConflict(`proposed head (size ${h.size}, ${h.timestamp}) is older than the latest co-signed head (size ${last.size}, ${last.timestamp}); not signing`, 409);
    if (Date.parse(h.timestamp) > Date.now() + 5 * 60_000) throw new LedgerConflict(`proposed head timestamp ${h.timestamp} is in the future`, 409);
    return signHead(h, this.o.me as 0 | 1 | 2, this.signingKey);
  }

  /** Stores a co-signed head from node 0 (after all the checks of LedgerLog.addHead). */
  storeHead(raw: unknown): boolean {
    return this.replica.addHead(raw as SignedHead);
  }

  // -------------------------------------------------------------------------------------------
  // Jobs

  /** Node 0, once a job is scheduled at all three nodes: the job-run entry (time = the spec's). */
  async logJobRun(spec: JobSpec): Promise<void> {
    await this.append('job-run', jobRunBody(spec), { time: spec.submittedAt });
  }

  private checkJobRun(e: LedgerEntry): void {
    const job = this.o.runner.get(String(e.body.job));
    if (!job) throw new Error(`it has no job ${e.body.job}`);
    if (canonicalJson(e.body) !== canonicalJson(jobRunBody(job.spec)) || e.time !== job.spec.submittedAt) throw new Error(`it differs from job ${job.id} as this node received it`);
  }

  /**
   * Node 0, when an attempt was refused: the job-refused entry. Never throws: a refusal that
   * cannot be logged is still a refusal (the researcher gets it; the node's log says why not logged).
   */
  async logRefusal(o: { job?: string; request: QueryRequest; sql?: string; refusals: readonly Refusal[] }): Promise<void> {
    try {
      await this.append('job-refused', jobRefusedBody(o));
    } catch (e) {
      this.o.log(`WARNING: refused attempt${o.job ? ` (job ${o.job})` : ''} not logged: ${(e as Error).message}`);
    }
  }

  /** A job-refused entry must say what this node decided: its own reason if it refused, its absence if not. */
  private checkRefusal(e: LedgerEntry): void {
    const by = e.body.refusedBy as number[];
    if (e.body.job === undefined) {
      // Refused before any job existed: only node 0 (which received the request) can have refused it.
      if (by.length !== 1 || by[0] !== 0) throw new Error('an attempt refused before it became a job is refused by node 0 alone');
      return;
    }
    const job = this.o.runner.get(String(e.body.job));
    const mine = job?.error?.startsWith('refused: ') ? reasonText(job.error) : undefined;
    if (mine === undefined) {
      if (by.includes(this.o.me)) throw new Error(`it says this node refused${job ? ` job ${job.id}` : ' an attempt it never saw'}, which it did not`);
      return;
    }
    if (!by.includes(this.o.me)) throw new Error(`it omits this node's refusal of job ${job!.id}`);
    if (!(e.body.reasons as { reason: string }[]).some((r) => r.reason === mine)) throw new Error(`it does not carry this node's reason for refusing job ${job!.id} (${mine})`);
    if (e.body.requester !== String(job!.spec.request?.request?.researcher)) throw new Error(`its requester is not job ${job!.id}'s`);
  }

  private checkRelease(e: LedgerEntry): void {
    const job = this.o.runner.get(String(e.body.job));
    if (!job || job.status !== 'done' || !job.result) throw new Error(`job ${e.body.job} has no result at this node`);
    const mine = job.result.ledger;
    if (e.body.resultMeta !== mine.resultMeta) throw new Error(`its result metadata hash differs from this node's (${mine.resultMeta})`);
    if ((e.body.shareCommitments as string[])[this.o.me] !== mine.shareCommitment) throw new Error(`it does not carry this node's commitment to the shares it returned`);
  }

  /** Node 1/2, asked by node 0: where this node's part of a job stands, and its commitment when done. */
  commitmentOf(id: string): { status: string; error?: string; resultMeta?: string; shareCommitment?: string } | undefined {
    const job = this.o.runner.get(id);
    if (!job) return undefined;
    if (job.status === 'done' && job.result) return { status: 'done', resultMeta: job.result.ledger.resultMeta, shareCommitment: job.result.ledger.shareCommitment };
    return { status: job.status, ...(job.error ? { error: job.error } : {}) };
  }

  /**
   * Called when a job finishes here. A node whose replica is damaged withholds the result (it could
   * not log its release); node 0 logs the release once all three parts are done.
   */
  onJobFinished(job: Job): void {
    if (job.status !== 'done' || !job.result) return;
    if (this.replica.damaged) {
      job.status = 'failed';
      job.error = `result withheld: this node's transparency-log replica is damaged, so the release cannot be logged (${this.replica.problems[0]})`;
      return;
    }
    if (this.o.me === 0) void this.release(job);
  }

  private async release(job: Job): Promise<void> {
    const mine = job.result!.ledger;
    const deadline = Date.now() + (this.o.releaseTimeoutMs ?? 120_000);
    try {
      const theirs = await Promise.all(PEERS.map((p) => this.peerCommitment(p, job.id, mine.resultMeta, deadline)));
      await this.append('result-released', { job: job.id, resultMeta: mine.resultMeta, shareCommitments: [mine.shareCommitment, ...theirs] }, { time: job.finishedAt ?? new Date().toISOString() });
    } catch (e) {
      job.status = 'failed';
      job.error = `result not released: ${(e as Error).message}`;
      this.o.runner.save(job);
      this.o.log(`job ${job.id}: ${job.error}`);
    }
  }

  private async peerCommitment(p: PartyId, id: string, meta: string, deadline: number): Promise<string> {
    const n = this.o.config.nodes[p];
    let wait = 10;
    let last = '';
    for (;;) {
      try {
        const r = await apiRequest<{ status?: string; error?: string; resultMeta?: string; shareCommitment?: string }>(this.o.config, p, `/v1/internal/jobs/${id}/commitment`, { key: this.o.keyPem, cert: this.o.certPem, timeoutMs: 10_000 });
        if (r.status === 200 && r.body.status === 'done') {
          if (r.body.resultMeta !== meta) throw new LedgerError(`node ${p} (${n.name})'s result metadata differ from node 0's: the nodes did not compute the same job`);
          return r.body.shareCommitment!;
        }
        if (r.status !== 200 || r.body.status === 'failed') throw new LedgerError(`node ${p} (${n.name}): ${r.body?.error ?? `HTTP ${r.status}`}`);
        last = `node ${p} (${n.name}) still ${r.body.status}`;
      } catch (e) {
        if (e instanceof LedgerError) throw e;
        last = (e as Error).message;
      }
      if (Date.now() > deadline) throw new LedgerError(`no share commitment from node ${p} (${n.name}) in time (${last})`);
      await sleep(wait);
      wait = Math.min(wait * 2, 250);
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.replicaLog.close();
  }
}
