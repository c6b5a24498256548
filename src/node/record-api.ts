// The doctors' routes of a node's API (issue 15; the service: src/node/records.ts):
//
//   POST /v1/records {request}            node 0, a doctor: a patient's record under the citizen's grant.
//                                         Every node admits it on its own; 202 {job}, or 403 {error,
//                                         job, refusals} with each refusing node's reason
//   GET  /v1/records/:id                  the requesting doctor only: status, and this node's part
//                                         sealed to the request's key once the access is logged here
//   POST /v1/internal/records {spec}      node 0 → nodes 1, 2: admit (201) or refuse (403 {refused})
//   POST /v1/internal/records/:id/start   node 0 → nodes 1, 2: run it (after the access is logged)
//   POST /v1/internal/records/:id/cancel  node 0 → nodes 1, 2: another node refused
import type { FastifyInstance } from 'fastify';
import { AuthError } from '../governance/request-auth.js';
import type { ApiContext } from './context.js';
import { JobError } from './errors.js';
import { apiRequest, requireParty, sendError } from './http.js';
import type { RecordService, RecordSpec } from './records.js';
import { PEERS, peerProblem, toPeers } from './schedule.js';

function serviceOf(ctx: ApiContext): RecordService {
  if (!ctx.records) throw new JobError('this node reads no records (it runs without a consortium)', 409);
  ctx.citizens?.need();
  return ctx.records;
}

/** Node 0: offer a record job to every node, log the access, start it everywhere. */
async function scheduleRecord(ctx: ApiContext, svc: RecordService, spec: RecordSpec): Promise<void> {
  const node = (p: number) => ctx.config.nodes[p]!;
  const mine = await svc.offer(spec);
  const answers = await toPeers<{ error?: string; refused?: boolean; code?: string }>(ctx, '/v1/internal/records', spec, 10_000);
  const refusals = mine ? [{ party: 0, node: node(0).name, ...mine }] : [];
  const problems: string[] = [];
  answers.forEach((a, i) => {
    if (a.status === 'fulfilled' && a.value.status === 403 && a.value.body?.refused) refusals.push({ party: PEERS[i]!, node: node(PEERS[i]!).name, error: String(a.value.body.error), code: String(a.value.body.code ?? 'grant') });
    else {
      const p = peerProblem(ctx, i, a, [201], 'did not take the record job');
      if (p) problems.push(p);
    }
  });
  const callOff = async (why: string) => {
    svc.cancel(spec.id, why);
    await Promise.allSettled(PEERS.map((p) => apiRequest(ctx.config, p, `/v1/internal/records/${spec.id}/cancel`, { body: { reason: why }, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 5000 })));
  };
  if (refusals.length || problems.length) {
    const why = [...refusals.map((r) => `node ${r.party} (${r.node}): ${r.error}`), ...problems].join('; ');
    await callOff(why);
    throw new JobError(refusals.length ? `record request refused: ${why}` : `record job not scheduled: ${why}`, refusals.length ? 403 : 503, { job: spec.id, refusals });
  }
  // The access is logged before anything is read (every node checks the entry against its own admission).
  try {
    if (ctx.ledger) await ctx.ledger.append('record-accessed', svc.ledgerBody(spec.id), { time: spec.submittedAt });
  } catch (e) {
    await callOff(`the access could not be logged: ${(e as Error).message}`);
    throw new JobError(`record job not run: the access could not be logged (${(e as Error).message})`, 503);
  }
  svc.start(spec.id);
  const started = await Promise.allSettled(PEERS.map((p) => apiRequest<{ error?: string }>(ctx.config, p, `/v1/internal/records/${spec.id}/start`, { body: {}, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 10_000 })));
  const notStarted = started.map((a, i) => peerProblem(ctx, i, a, [200], 'did not start it')).filter((p) => p);
  if (notStarted.length) ctx.log(`WARNING: record job ${spec.id}: ${notStarted.join('; ')}`);
}

export function registerRecordRoutes(app: FastifyInstance, ctx: ApiContext): void {
  let chain: Promise<unknown> = Promise.resolve();
  app.post<{ Body: { request?: unknown } }>('/v1/records', async (req, reply) => {
    try {
      const svc = serviceOf(ctx);
      if (ctx.me !== 0) return reply.code(409).send({ error: `ask the scheduler, node 0 (${ctx.config.nodes[0].name}); this is node ${ctx.me}` });
      const spec = svc.create(req.body ?? {}, req.identity!);
      const run = () => scheduleRecord(ctx, svc, spec);
      const p = chain.then(run, run);
      chain = p.catch(() => {});
      await p;
      return reply.code(202).send({ job: spec.id });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  app.get<{ Params: { id: string } }>('/v1/records/:id', async (req, reply) => {
    try {
      const svc = serviceOf(ctx);
      const j = svc.get(req.params.id);
      if (!j) return reply.code(404).send({ error: `no record job ${req.params.id} at node ${ctx.me}` });
      const sig = j.spec.request.signature;
      const who = req.identity!;
      if (!sig || sig.signer !== who.name || sig.keyId !== who.keyId) throw new AuthError(`record job ${j.id} is not '${who.name}'s: only the doctor who asked reads it`, 403);
      return svc.view(j);
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  app.post<{ Body: RecordSpec }>('/v1/internal/records', async (req, reply) => {
    try {
      requireParty(ctx.config, req, [0]);
      const s = req.body;
      if (!s || typeof s.id !== 'string' || !/^[0-9a-f-]{36}$/.test(s.id) || typeof s.submittedAt !== 'string' || !s.versions || typeof s.versions !== 'object') throw new JobError('malformed record job');
      const refused = await serviceOf(ctx).offer({ id: s.id, request: s.request, submittedAt: s.submittedAt, versions: s.versions });
      if (refused) return reply.code(403).send({ refused: true, ...refused });
      return reply.code(201).send({ job: s.id });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  app.post<{ Params: { id: string } }>('/v1/internal/records/:id/start', async (req, reply) => {
    try {
      requireParty(ctx.config, req, [0]);
      const r = serviceOf(ctx).start(req.params.id);
      if (r !== 'started') return reply.code(r === 'unknown' ? 404 : 409).send({ error: `record job ${req.params.id}: ${r}` });
      return { job: req.params.id, status: r };
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  app.post<{ Params: { id: string }; Body: { reason?: string } }>('/v1/internal/records/:id/cancel', async (req, reply) => {
    try {
      requireParty(ctx.config, req, [0]);
      serviceOf(ctx).cancel(req.params.id, String(req.body?.reason ?? 'cancelled by the scheduler'));
      return { cancelled: true };
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
}
