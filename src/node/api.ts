// The compute node's HTTPS API (fastify over TLS 1.3 with the node's own certificate; clients pin
// it from cluster.json) and a small pinned client for it. The contract is in src/node/openapi.ts
// (served at GET /v1/openapi.json):
//
//   GET  /v1/health                               → {node, party, cluster}
//   GET  /v1/datasets                             → [{name, custodian, version, rows, columns}]  (latest version each)
//   GET  /v1/datasets/:name[?version=v]           → {schema, codeLists, version, rows, versions}
//   PUT  /v1/datasets/:name/versions/:version     application/octet-stream upload of this node's shares
//                                                 → 201 {name, version, rows} | 200 same content | 409 | 400
//                                                 | 403 governed mode: not signed by the dataset's custodian
//   PUT  /v1/datasets/:name/versions/:version/sealed   the same body sealed to this node's upload key
//                                                 (browsers; src/node/sealed-upload.ts), then the same path
//   POST /v1/queries {request}                    node 0 only → 202 {job}; `request` is the researcher's signed
//                                                 query request (src/governance/study.ts): ad-hoc SQL, or a registered
//                                                 study's query on governed clusters; every node admits the job on its
//                                                 own (src/node/jobs.ts); 403 {error, job, refusals} when any refused
//   /v1/studies, /v1/approvals, /v1/policies, /v1/consent/updates, /v1/usage, /v1/governance
//                                                 governance documents and records (src/node/governance-api.ts)
//   GET  /v1/jobs/:id[?wait=ms]                   the job's requester only → {id, status, progress?, error?, sealed?}:
//                                                 this node's part of the result, sealed to the request's resultKey;
//                                                 with wait, answered at the job's next change (at most ms later)
//                                                 unless it has already ended for the requester
//   GET  /v1/privacy                              this node's output protection and the caller's budget left
//   POST /v1/internal/jobs, /v1/internal/jobs/:id/cancel      node 0 → nodes 1, 2; mutual TLS: the
//                                                 client certificate must be node 0's pinned one, else 403
//   /v1/ledger/…, /v1/internal/ledger/…           the transparency log (src/node/ledger-api.ts)
//
// Who may call what: src/node/access.ts (ROUTE_ACCESS, one hook for every request; signed requests
// from known identities, node-to-node routes by pinned client certificate, public metadata open).
// A job's sealed result is served only once its result-released entry is in this node's
// transparency-log replica (src/node/ledger.ts); until then the job shows as done without result.
//
// Upload body: [u32 LE header length][header JSON {schema, codeLists, rows, columns, party}]
// [for each column in order: share half a (rows × u64 LE), then half b]. Streamed to the store
// (encrypted, atomic); bodies of several GiB are fine. Errors are {error: "..."}.
// Governed mode: the header must carry the custodian's signature (header.signature, checked by
// src/ingest/upload-auth.ts verifyUploadHeader against the consortium), and the share bytes must
// hash to the signed sharesSha256; otherwise 403 and nothing is stored. Un-governed nodes ignore it.
import type { UploadHeader } from '../ingest/schema.js';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { checkSchema, MAX_ID_LENGTH, SchemaError } from '../ingest/schema.js';
import { checkId, StoreError } from './store.js';
import { JobError } from './errors.js';
import { MAX_JOB_WAIT_MS, type JobSpec, type Job, type JobRunner } from './jobs.js';
import { openApiDocument } from './openapi.js';
import { registerLedgerRoutes } from './ledger-api.js';
import { registerGovernanceRoutes } from './governance-api.js';
import type { Identity } from './access.js';
import type { ApiContext } from './context.js';
import { createJob, scheduleJob } from './schedule.js';
import { AuthError } from '../governance/request-auth.js';
import { publicSettings, researcherBudget } from './privacy.js';
import { UploadAuthError, verifyUploadHeader, type UploadStatement } from '../ingest/upload-auth.js';
import { requireParty, sendError } from './http.js';

// The shared HTTP helpers and the routes' context, where they were before (src/node/http.ts, context.ts).
export { apiPorts, apiRequest, sendError, type ApiRequestOptions, type ApiResponse } from './http.js';
export type { ApiContext } from './context.js';
import { registerSealedUploadRoute, type UploadReceiver } from './sealed-upload.js';
import { registerCitizenRoutes } from './citizen-api.js';
import { NO_SCHEMA_COMPILERS } from './fastify-options.js';
import { SEED_BYTES, seededHalves, shareBodyLength } from '../ingest/upload-body.js';
import { Prg } from '../ring/prg.js';
import { registerRecordRoutes } from './record-api.js';

/** Largest upload header (schema + code lists). */
const MAX_HEADER_BYTES = 64 << 20;

// ---------------------------------------------------------------------------------------------
// Server

/** Passes rows × 8 bytes of the random stream of `seed` (src/ring/prg.ts) to sink, 1 MiB at a time. */
function drawSeeded(seed: Uint8Array, rows: number, sink: (b: Uint8Array) => void): void {
  const prg = new Prg(Uint8Array.from(seed));
  const block = new Uint8Array(Math.min(8 * rows, 1 << 20));
  for (let left = 8 * rows; left > 0; left -= block.length) sink(prg.fill(left >= block.length ? block : block.subarray(0, left)));
}

/** Pulls exact byte counts out of a stream. */
class StreamReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private done = false;
  consumed = 0;
  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  private async more(): Promise<boolean> {
    if (this.done) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      // The client went away or stalled past the idle timeout: the upload fails, nothing is stored.
      throw new StoreError(`upload connection lost after ${this.consumed + this.buf.length} bytes: ${(e as Error).message}`);
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    return true;
  }
  async take(n: number, what: string): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.more())) throw new StoreError(`upload body ended after ${this.consumed + this.buf.length} bytes, inside ${what}`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
    return out;
  }
  /** Passes exactly n bytes to sink, chunk by chunk. */
  async forward(n: number, what: string, sink: (b: Buffer) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw new StoreError(`upload body ended after ${this.consumed} bytes, inside ${what} (${left} bytes missing)`);
      const k = Math.min(left, this.buf.length);
      sink(this.buf.subarray(0, k));
      this.buf = this.buf.subarray(k);
      left -= k;
      this.consumed += k;
    }
  }
  async atEnd(): Promise<boolean> {
    while (this.buf.length === 0) if (!(await this.more())) return true;
    return false;
  }
  /**
   * After a refusal: reads and drops the rest of the body in the background, so that the client,
   * still sending, is not cut off (EPIPE) before it reads the answer; it stops sending once it has
   * read it, and a client that goes away or stalls ends this too (the idle timeout).
   */
  discard(): void {
    void (async () => {
      try {
        while (await this.more()) this.buf = Buffer.alloc(0);
      } catch {
        /* the client went away: nothing left to read */
      }
    })();
  }
}

function checkHeader(ctx: ApiContext, name: string, h: UploadHeader): void {
  const bad = (m: string): never => {
    throw new StoreError(`upload header: ${m}`);
  };
  if (!h || typeof h !== 'object') bad('not a JSON object');
  if (h.party !== ctx.me) bad(`these are shares for party ${JSON.stringify(h.party)}, but this node is party ${ctx.me} (${ctx.config.nodes[ctx.me].name})`);
  if (!h.schema || typeof h.schema !== 'object' || !Array.isArray(h.schema.columns)) bad('schema missing or without columns');
  if (h.schema.name !== name) bad(`schema.name '${h.schema.name}' does not match the dataset in the URL, '${name}'`);
  if (typeof h.schema.custodian !== 'string' || !h.schema.custodian) bad('schema.custodian missing');
  if (!Array.isArray(h.codeLists) || h.codeLists.some((c) => !c || typeof c.name !== 'string' || !Array.isArray(c.codes))) bad('codeLists must be an array of {name, codes}');
  try {
    checkSchema(h.schema, new Map(h.codeLists.map((c) => [c.name, c])));
  } catch (e) {
    if (e instanceof SchemaError) bad(e.message);
    throw e;
  }
  if (!Number.isSafeInteger(h.rows) || h.rows < 0 || h.rows > 2 ** 32) bad(`rows must be an integer 0..2^32, got ${JSON.stringify(h.rows)}`);
  if (!Array.isArray(h.columns)) bad('columns must be an array of column names');
  const want = h.schema.columns.map((c) => c.name);
  const unknown = h.columns.filter((c) => !want.includes(c));
  if (unknown.length) bad(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `'${c}'`).join(', ')} (not in schema ${name})`);
  const missing = want.filter((c) => !h.columns.includes(c));
  if (missing.length) bad(`missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} of schema ${name}`);
  if (h.columns.length !== want.length || h.columns.some((c, i) => c !== want[i])) bad(`columns must be exactly the schema's, in its order: ${want.join(', ')}`);
  if (h.seeded !== undefined && typeof h.seeded !== 'boolean') bad(`seeded must be true or false, got ${JSON.stringify(h.seeded)}`);
  if (h.sortedBy !== undefined && h.schema.columns.find((c) => c.name === h.sortedBy)?.type !== 'person_id') bad(`sortedBy must name a person_id column of schema ${name}, got ${JSON.stringify(h.sortedBy)}`);
}

/**
 * Governed mode: the custodian's signature on the header (src/ingest/upload-auth.ts); returns the
 * signed statement, whose sharesSha256 the streamed bytes must match. Un-governed: null (a
 * signature, if any, is ignored: there is no consortium to check its key against).
 */
function authenticateUpload(ctx: ApiContext, name: string, version: string, h: UploadHeader): UploadStatement | null {
  const consortium = ctx.governance?.consortium;
  if (!consortium) return null;
  return verifyUploadHeader(h, { consortium, cluster: ctx.config.cluster, dataset: name, version, party: ctx.me });
}

/**
 * The signed-in custodian may upload this dataset: governed, it must be the dataset's custodian
 * in the consortium (the header's own signature is checked too); un-governed, an identity that
 * lists its datasets may upload only those.
 */
function checkUploader(ctx: ApiContext, who: Identity | undefined, name: string, h: UploadHeader): void {
  if (!who) throw new AuthError('uploads need a custodian identity', 401);
  const owner = ctx.governance.consortium?.custodianOf(name);
  if (owner !== undefined && owner !== who.name) throw new AuthError(`dataset '${name}' is custodian '${owner}'s; '${who.name}' cannot upload it`, 403);
  if (owner === undefined && who.datasets.length && !who.datasets.includes(name)) throw new AuthError(`custodian '${who.name}' may upload ${who.datasets.join(', ')}, not '${name}'`, 403);
  if (h.schema.custodian !== who.name && ctx.governance.governed) throw new AuthError(`the schema names custodian '${h.schema.custodian}', but '${who.name}' signed the upload`, 403);
}

/** Whether the requester may read a job's sealed part once it is done: always, or where results are gated, once its release is logged here. */
const releasedFor = (j: Job, gated: boolean): boolean => !gated || j.released !== undefined;

/** Whether a job has nothing more to tell its requester: failed, or done with its sealed part readable. */
const endedFor = (j: Job, gated: boolean): boolean => j.status === 'failed' || (j.status === 'done' && releasedFor(j, gated));

/** A job as its requester sees it: status, and this node's part of the result sealed to the requester's key. */
const jobView = (j: Job, gated: boolean, queue: ReturnType<JobRunner['queuePosition']>) => ({
  id: j.id,
  status: j.status,
  ...(queue ? { queue } : {}),
  seq: j.spec.seq,
  dataset: j.spec.dataset,
  version: j.spec.version,
  ...(j.spec.versions ? { versions: j.spec.versions } : {}),
  sql: j.spec.sql,
  minCellSize: j.spec.minCellSize,
  protection: j.spec.protection,
  request: j.spec.request,
  submittedAt: j.spec.submittedAt,
  ...(j.startedAt ? { startedAt: j.startedAt } : {}),
  ...(j.finishedAt ? { finishedAt: j.finishedAt } : {}),
  ...(j.progress ? { progress: j.status === 'done' && !releasedFor(j, gated) ? 'done; the result is held until its release is in the transparency log' : j.progress } : {}),
  ...(j.error ? { error: j.error } : {}),
  ...(j.released !== undefined ? { released: j.released } : {}),
  ...(j.spec.governance ? { study: j.spec.governance.study?.study?.id, query: j.spec.request.request.query } : {}),
  ...(j.sealed && releasedFor(j, gated) ? { sealed: j.sealed } : {}),
});

/** Whether `who` is the identity that signed the job's request (name and registered key). */
export function isRequester(j: Job, who: Identity | undefined): boolean {
  const sig = j.spec.request?.signature;
  return !!who && !!sig && sig.signer === who.name && sig.keyId === who.keyId;
}

/** Builds the node's HTTPS server (not yet listening). */
export function buildApi(ctx: ApiContext): FastifyInstance {
  const { config, me, store, runner, log } = ctx;
  const self = config.nodes[me];
  const app = Fastify({
    https: {
      key: ctx.keyPem,
      cert: ctx.certPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // Anyone may connect (custodians, researchers); node-to-node routes check the client certificate.
      requestCert: true,
      rejectUnauthorized: false,
    },
    logger: false,
    bodyLimit: 16 << 20, // JSON bodies; uploads are streamed by their own parser
    // Path parameters longer than any valid name still reach the routes, which refuse them (400) by
    // the one rule for names (src/ingest/schema.ts), instead of HTTP 414.
    routerOptions: { maxParamLength: 4 * MAX_ID_LENGTH },
    // No limit on a whole request (an upload of several GiB takes its time), but a connection that
    // sends nothing for idleTimeoutMs is closed: a stalled upload then fails and leaves nothing.
    requestTimeout: 0,
    connectionTimeout: ctx.idleTimeoutMs ?? 60_000,
    schemaController: NO_SCHEMA_COMPILERS,
  });
  // Uploads: hand the raw stream to the route (no buffering, no size limit here).
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  // JSON bodies keep their bytes (request signatures cover them); every route's access rule.
  app.removeContentTypeParser('application/json');
  ctx.access.register(app);

  const requireNode0 = (req: { raw: { socket: unknown } }) => requireParty(config, req, [0]);

  app.setErrorHandler((e, _req, reply) => {
    const status = (e as { statusCode?: number }).statusCode;
    if (status && status < 500) return reply.code(status).send({ error: (e as Error).message });
    return sendError(reply, e, log);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

  app.get('/v1/health', async () => ({ node: self.name, party: me, cluster: config.cluster }));
  app.get('/v1/openapi.json', async () => openApiDocument());

  app.get('/v1/datasets', async () =>
    store.list().map((m) => ({ name: m.name, custodian: m.custodian, version: m.version, rows: m.rows, columns: m.columns })),
  );

  app.get<{ Params: { name: string }; Querystring: { version?: string } }>('/v1/datasets/:name', async (req, reply) => {
    try {
      const m = store.get(req.params.name, req.query.version);
      return { name: m.name, custodian: m.custodian, schema: m.schema, codeLists: m.codeLists, version: m.version, rows: m.rows, versions: store.versions(m.name).map((v) => ({ version: v.version, rows: v.rows, createdAt: v.createdAt })) };
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  // The upload path: the plain route below and the sealed one (src/node/sealed-upload.ts) feed it.
  const receiveUpload: UploadReceiver = async (req, reply) => {
    const stream = req.body as Readable | undefined;
    if (!stream || typeof (stream as Readable).pipe !== 'function') {
      return reply.code(400).send({ error: 'upload must have Content-Type application/octet-stream' });
    }
    const { name, version } = req.params;
    const rd = new StreamReader(stream);
    try {
      checkId('dataset name', name);
      checkId('version', version);
      const hlen = (await rd.take(4, 'the header length')).readUInt32LE(0);
      if (hlen < 2 || hlen > MAX_HEADER_BYTES) throw new StoreError(`upload header length ${hlen} is not in 2..${MAX_HEADER_BYTES}`);
      let header: UploadHeader;
      try {
        header = JSON.parse((await rd.take(hlen, 'the header')).toString('utf8')) as UploadHeader;
      } catch (e) {
        if (e instanceof StoreError) throw e;
        throw new StoreError(`upload header is not valid JSON: ${(e as Error).message}`);
      }
      checkHeader(ctx, name, header);
      const signed = authenticateUpload(ctx, name, version, header);
      checkUploader(ctx, req.identity, name, header);
      const expected = 4 + hlen + shareBodyLength(header);
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== expected) {
        throw new StoreError(
          header.seeded
            ? `body is ${declared} bytes, but ${header.columns.length} columns of ${header.rows} rows with party ${header.party}'s seeded halves + header make ${expected}`
            : `body is ${declared} bytes, but ${header.columns.length} columns × ${header.rows} rows × 16 bytes + header make ${expected}`,
        );
      }
      const seeded = header.seeded ? seededHalves(header.party) : [false, false];
      const r = await store.write(
        { name, version, schema: header.schema, codeLists: header.codeLists, rows: header.rows, columns: header.columns, party: header.party, ...(header.sortedBy ? { sortedBy: header.sortedBy } : {}) },
        async (next, hash) => {
          for (const col of header.columns) {
            const w = next();
            const put = (b: Uint8Array) => {
              hash(b);
              w.write(b);
            };
            for (const half of [0, 1] as const) {
              // A seeded half is drawn here from its 16-byte seed: the bytes the custodian hashed and signed.
              if (seeded[half]) drawSeeded(await rd.take(SEED_BYTES, `the seed of a half of column '${col}'`), header.rows, put);
              else await rd.forward(8 * header.rows, `the shares of column '${col}'`, put);
            }
            w.end();
          }
          if (!(await rd.atEnd())) throw new StoreError(`upload body is longer than the ${expected} bytes its header describes`);
          req.raw?.socket?.setTimeout?.(0); // all received: storing may take longer than the idle timeout
        },
        // Before anything is committed: the bytes must be the ones the custodian signed for.
        signed
          ? (got) => {
              if (got !== signed.sharesSha256) throw new UploadAuthError(`the share bytes of ${name}@${version} (SHA-256 ${got.slice(0, 16)}…) are not the ones custodian '${header.schema.custodian}' signed for (${signed.sharesSha256.slice(0, 16)}…); nothing stored`);
            }
          : undefined,
      );
      log(`${r.status === 'created' ? 'stored' : 'already had'} ${name}@${version} (${header.rows} rows, ${header.columns.length} columns${signed ? `, signed by custodian '${header.schema.custodian}'` : ''})`);
      return reply.code(r.status === 'created' ? 201 : 200).send({ name, version, rows: r.meta.rows });
    } catch (e) {
      rd.discard(); // drain what the client still sends, so it reads our answer
      if (e instanceof UploadAuthError) {
        log(`refused an upload of ${name}@${version}: ${e.message}`);
        return reply.code(403).send({ error: e.message });
      }
      return sendError(reply, e, log);
    }
  };
  app.put<{ Params: { name: string; version: string } }>('/v1/datasets/:name/versions/:version', (req, reply) => receiveUpload(req, reply));
  registerSealedUploadRoute(app, ctx, receiveUpload);

  // Queries: node 0 schedules; one submission at a time so every node sees the same order.
  let submitting: Promise<unknown> = Promise.resolve();
  app.post<{ Body: { request?: unknown; sql?: unknown } }>('/v1/queries', async (req, reply) => {
    if (me !== 0) return reply.code(409).send({ error: `submit queries to the scheduler, node 0 (${config.nodes[0].name}); this is node ${me} (${self.name})` });
    const body = (req.body ?? {}) as { request?: unknown; sql?: unknown };
    const run = async () => scheduleJob(ctx, await createJob(ctx, body, req.identity!));
    const p = submitting.then(run, run);
    submitting = p.catch(() => {});
    try {
      const spec = await p;
      const queue = runner.queuePosition(spec.id);
      return reply.code(202).send({ job: spec.id, seq: spec.seq, dataset: spec.dataset, version: spec.version, ...(spec.versions ? { versions: spec.versions } : {}), protection: spec.protection, minCellSize: spec.minCellSize, ...(queue ? { queue } : {}) });
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.get<{ Params: { id: string }; Querystring: { wait?: string } }>('/v1/jobs/:id', async (req, reply) => {
    const j = runner.get(req.params.id);
    if (!j) return reply.code(404).send({ error: `no job ${req.params.id} at node ${me} (${self.name})` });
    if (!isRequester(j, req.identity)) return reply.code(403).send({ error: `job ${j.id} is not '${req.identity?.name}'s: only the researcher who signed its request can follow it and read its result` });
    const wait = req.query?.wait;
    if (wait !== undefined) {
      const ms = /^\d{1,6}$/.test(wait) ? Number(wait) : NaN;
      if (!(ms <= MAX_JOB_WAIT_MS)) return reply.code(400).send({ error: `wait must be a whole number of milliseconds from 0 to ${MAX_JOB_WAIT_MS}, not ${JSON.stringify(wait)}` });
      // Long poll: a requester learns that the job ended (or its result was released) when it
      // happens, with one request instead of one per poll interval.
      if (ms > 0 && !endedFor(j, !!ctx.ledger)) await runner.nextChange(j.id, ms);
    }
    return jobView(j, !!ctx.ledger, runner.queuePosition(j.id));
  });

  // Who the signed caller is to this node (a browser checks a key it imported or made).
  app.get('/v1/whoami', async (req) => {
    const who = req.identity!;
    return { node: self.name, name: who.name, role: who.role, keyId: who.keyId, datasets: who.datasets };
  });

  app.get('/v1/privacy', async (req) => {
    const who = req.identity!;
    const settings = publicSettings(runner.privacy);
    if (who.role !== 'researcher' || runner.privacy.exact) return { node: self.name, ...settings };
    const acct = researcherBudget(runner.privacy, who.name);
    const st = ctx.governance.budget.account(acct.key);
    return { node: self.name, ...settings, researcher: who.name, spent: st?.spent ?? { epsilon: 0, delta: 0 }, remaining: ctx.governance.budget.remainingIn(acct.key, acct.total), runs: st?.charges.length ?? 0 };
  });

  app.post<{ Body: JobSpec }>('/v1/internal/jobs', async (req, reply) => {
    try {
      requireNode0(req);
      try {
        ctx.ledger?.assertWritable();
      } catch (e) {
        throw new JobError((e as Error).message, 503);
      }
      const s = req.body;
      if (!s || typeof s.id !== 'string' || !/^[0-9a-f-]{36}$/.test(s.id) || !Number.isSafeInteger(s.seq)) throw new JobError('malformed job');
      const spec: JobSpec = { id: s.id, seq: s.seq, sql: s.sql, ...(s.statistic !== undefined ? { statistic: String(s.statistic) } : {}), dataset: s.dataset, version: s.version, ...(s.versions !== undefined ? { versions: s.versions } : {}), minCellSize: s.minCellSize, submittedAt: String(s.submittedAt ?? new Date().toISOString()), request: s.request, protection: s.protection, ...(s.governance !== undefined ? { governance: s.governance } : {}) };
      runner.enqueue(spec); // validates against this node's own store and policy
      log(`job ${spec.id} accepted from the scheduler: ${spec.dataset}@${spec.version}: ${spec.statistic !== undefined ? `statistic ${JSON.parse(spec.statistic).fn} on ` : ''}${spec.sql}`);
      return reply.code(201).send({ job: spec.id });
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.post<{ Params: { id: string } }>('/v1/internal/jobs/:id/start', async (req, reply) => {
    try {
      requireNode0(req);
      const r = runner.start(req.params.id);
      if (r === 'unknown') return reply.code(404).send({ error: `no job ${req.params.id} queued at node ${me} (${self.name})` });
      return reply.code(200).send({ job: req.params.id, status: r });
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.post<{ Params: { id: string }; Body: { reason?: string } }>('/v1/internal/jobs/:id/cancel', async (req, reply) => {
    try {
      requireNode0(req);
      const done = runner.cancel(req.params.id, String(req.body?.reason ?? 'cancelled by the scheduler'));
      return reply.code(200).send({ cancelled: done });
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  if (ctx.ledger) registerLedgerRoutes(app, ctx.ledger, config, me, log);
  registerGovernanceRoutes(app, ctx);
  registerCitizenRoutes(app, ctx);
  registerRecordRoutes(app, ctx);

  return app;
}
