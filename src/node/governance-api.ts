// The governance routes of a node's HTTPS API (issue 6; contract in src/node/openapi.ts) and the
// scheduling of governed queries.
//
//   GET  /v1/governance                 this node's mode and consortium (public configuration)
//   POST /v1/studies        {study}     node 0: register a signed study          → 201 | 200 (known) | 400 | 403 | 409
//   POST /v1/approvals      {approval}  node 0: register a custodian's approval  (same answers)
//   POST /v1/policies       {policy}    node 0: register a custodian's signed policy
//   POST /v1/consent/updates {update}   node 0: the consent custodian's signed notice of a new register version
//   GET  /v1/studies                    registered studies: public metadata and each custodian's decision
//   GET  /v1/studies/:id                its versions: the signed documents and approvals (public)
//   GET  /v1/studies/:id/budget         the study's privacy budget at this node: total, spent, charges
//   GET  /v1/usage?custodian=&study=    usage per custodian and study recorded at this node
//   POST /v1/internal/governance {kind, doc}   node 0 → nodes 1, 2 (mutual TLS, node 0's certificate)
//
// A document is registered at every node or refused: node 0 verifies it, hands it to nodes 1 and 2,
// each of which verifies it ON ITS OWN (signatures against its own consortium configuration) and
// stores it; then node 0 stores it and logs it in the transparency log (study-submitted,
// study-approved, policy-published, consent-changed); nodes 1 and 2 append the entry only if they
// hold a document with exactly that log body. Submitting a document again changes nothing.
//
// Governed queries (scheduleGoverned, for POST /v1/queries): node 0 builds the job from the study
// and the researcher's signed request, authorizes it itself, and offers it to nodes 1 and 2 even
// when it refused itself, so that every node decides on its own and records its decision; if any
// node refused, the job is called off everywhere and the answer (403) lists each node's reason.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GovernanceError } from '../governance/errors.js';
import { studyHash } from '../governance/study.js';
import type { PartyId } from '../net/channel.js';
import { apiRequest, sendError, type ApiContext } from './api.js';
import type { DocKind } from './governance.js';
import { JobError, type JobSpec } from './jobs.js';

const PEERS: PartyId[] = [1, 2];

/** Node 0: verify, hand to nodes 1 and 2, store, log. Returns the summary and whether it is new. */
async function distribute(ctx: ApiContext, kind: DocKind, doc: unknown): Promise<{ summary: string; isNew: boolean; seq?: number }> {
  const gov = ctx.governance!;
  try {
    ctx.ledger?.assertWritable();
  } catch (e) {
    throw new JobError((e as Error).message, 503);
  }
  gov.check(kind, doc); // refuse here first, with this node's reason
  const answers = await Promise.allSettled(PEERS.map((p) => apiRequest<{ error?: string }>(ctx.config, p, '/v1/internal/governance', { body: { kind, doc }, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 10_000 })));
  const problems: string[] = [];
  answers.forEach((a, i) => {
    const n = ctx.config.nodes[PEERS[i]!];
    if (a.status === 'rejected') problems.push(`node ${n.id} (${n.name}) is unreachable: ${(a.reason as Error).message}`);
    else if (a.value.status !== 200 && a.value.status !== 201) problems.push(`node ${n.id} (${n.name}) refused it: ${a.value.body?.error ?? `HTTP ${a.value.status}`}`);
  });
  if (problems.length) throw new JobError(`${kind} not registered: ${problems.join('; ')}`, answers.some((a) => a.status === 'rejected') ? 503 : 409);
  const r = gov.accept(kind, doc);
  if (!r.isNew || !ctx.ledger) return { summary: r.summary, isNew: r.isNew };
  try {
    const { entry } = await ctx.ledger.append(r.ledgerKind, r.ledgerBody);
    return { summary: r.summary, isNew: true, seq: entry.seq };
  } catch (e) {
    ctx.log(`WARNING: ${r.summary} registered but not logged: ${(e as Error).message}`);
    return { summary: r.summary, isNew: true };
  }
}

/** POST /v1/queries in governed mode (node 0): see the module comment. Returns the queued spec. */
export async function scheduleGoverned(ctx: ApiContext, body: Record<string, unknown>): Promise<JobSpec> {
  const { runner, config } = ctx;
  const spec = runner.createGoverned(body);
  const mine = runner.preauthorize(spec);
  const answers = await Promise.allSettled(PEERS.map((p) => apiRequest<{ error?: string; refused?: boolean }>(config, p, '/v1/internal/jobs', { body: spec, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 10_000 })));
  const refusals: { party: PartyId; node: string; error: string }[] = mine ? [{ party: 0, node: config.nodes[0].name, error: mine }] : [];
  const problems: string[] = [];
  answers.forEach((a, i) => {
    const n = config.nodes[PEERS[i]!];
    if (a.status === 'rejected') problems.push(`node ${n.id} (${n.name}) is unreachable: ${(a.reason as Error).message}`);
    else if (a.value.status === 403 && a.value.body?.refused) refusals.push({ party: n.id, node: n.name, error: String(a.value.body.error).replace(/^refused: /, '') });
    else if (a.value.status !== 201) problems.push(`node ${n.id} (${n.name}) refused the job: ${a.value.body?.error ?? `HTTP ${a.value.status}`}`);
  });
  if (!refusals.length && !problems.length) {
    runner.enqueue(spec);
    ctx.log(`job ${spec.id} scheduled for study '${spec.governance!.study.study.id}' query '${spec.governance!.request.request.query}': ${spec.sql}`);
    await ctx.ledger?.logJobRun(spec).catch((e: Error) => ctx.log(`WARNING: job ${spec.id} not logged as run: ${e.message}`));
    return spec;
  }
  const why = [...refusals.map((r) => `node ${r.party} (${r.node}): ${r.error}`), ...problems].join('; ');
  runner.refuse(spec, mine ? `refused: ${mine}` : `cancelled: ${why}`);
  await Promise.allSettled(
    answers.map((a, i) =>
      a.status === 'fulfilled' && a.value.status === 201
        ? apiRequest(config, PEERS[i]!, `/v1/internal/jobs/${spec.id}/cancel`, { body: { reason: why }, key: ctx.keyPem, cert: ctx.certPem, timeoutMs: 5000 })
        : Promise.resolve(),
    ),
  );
  ctx.log(`job ${spec.id} not scheduled: ${why}`);
  const status = refusals.length ? 403 : answers.some((a) => a.status === 'rejected') ? 503 : 409;
  throw new JobError(refusals.length ? `job ${spec.id} refused: ${why}` : `job not scheduled: ${why}`, status, { job: spec.id, refusals });
}

export function registerGovernanceRoutes(app: FastifyInstance, ctx: ApiContext, requireNode0: (req: FastifyRequest) => void): void {
  const { config, me, log } = ctx;
  const gov = ctx.governance;
  const self = config.nodes[me];
  const needGov = () => {
    if (!gov) throw new GovernanceError('governed', 'this node has no governance state');
    return gov.need();
  };

  app.get('/v1/governance', async () => {
    const c = gov?.consortium;
    if (!c) return { governed: false, node: self.name };
    return {
      governed: true,
      node: self.name,
      consortium: c.name,
      purposes: c.purposes,
      members: [...c.members.values()].map((m) => ({ name: m.name, role: m.role, keyId: m.keyId, datasets: m.datasets })),
      consent: c.consent,
    };
  });

  // Submissions (node 0), one at a time so every node registers them in the same order.
  let chain: Promise<unknown> = Promise.resolve();
  const submit = (kind: DocKind, field: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      needGov();
      if (me !== 0) return reply.code(409).send({ error: `submit to the scheduler, node 0 (${config.nodes[0].name}); this is node ${me} (${self.name})` });
      const b = req.body as Record<string, unknown> | undefined;
      // The document itself ({<field>, signature}), or wrapped once more as {<field>: document}.
      const inner = b?.[field] as Record<string, unknown> | undefined;
      const doc = inner && typeof inner === 'object' && field in inner ? inner : b;
      const p = chain.then(() => distribute(ctx, kind, doc));
      chain = p.catch(() => {});
      const r = await p;
      return reply.code(r.isNew ? 201 : 200).send({ registered: r.summary, new: r.isNew, ...(r.seq !== undefined ? { ledgerSeq: r.seq } : {}) });
    } catch (e) {
      return sendError(reply, e, log);
    }
  };
  app.post('/v1/studies', submit('study', 'study'));
  app.post('/v1/approvals', submit('approval', 'approval'));
  app.post('/v1/policies', submit('policy', 'policy'));
  app.post('/v1/consent/updates', submit('consent-update', 'update'));

  app.post<{ Body: { kind?: string; doc?: unknown } }>('/v1/internal/governance', async (req, reply) => {
    try {
      requireNode0(req);
      needGov();
      const kind = req.body?.kind as DocKind;
      if (!['study', 'approval', 'policy', 'consent-update'].includes(kind)) throw new JobError(`unknown document kind ${JSON.stringify(kind)}`);
      const r = gov!.accept(kind, req.body!.doc);
      return reply.code(r.isNew ? 201 : 200).send({ registered: r.summary, new: r.isNew });
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.get('/v1/studies', async (_req, reply) => {
    try {
      needGov();
      return gov!.listStudies();
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.get<{ Params: { id: string } }>('/v1/studies/:id', async (req, reply) => {
    try {
      needGov();
      const versions = gov!.studyVersions(req.params.id);
      if (!versions.length) return reply.code(404).send({ error: `no study '${req.params.id}' is registered at node ${me} (${self.name})` });
      const listing = new Map(gov!.listStudies().map((l) => [l.hash, l]));
      return {
        id: req.params.id,
        versions: versions.map((ss) => {
          const hash = studyHash(ss.study);
          return { ...listing.get(hash), document: ss, approvals: gov!.allApprovals().filter((a) => a.approval.studyHash === hash) };
        }),
      };
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.get<{ Params: { id: string } }>('/v1/studies/:id/budget', async (req, reply) => {
    try {
      needGov();
      const st = gov!.budget.state(req.params.id);
      return st ? { ...st, remaining: gov!.budget.remaining(req.params.id, st.total) } : { study: req.params.id, spent: { epsilon: 0, delta: 0 }, charges: [] };
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.get<{ Querystring: { custodian?: string; study?: string; records?: string } }>('/v1/usage', async (req, reply) => {
    try {
      needGov();
      const f = { ...(req.query.custodian ? { custodian: req.query.custodian } : {}), ...(req.query.study ? { study: req.query.study } : {}) };
      return {
        node: self.name,
        summary: gov!.usage.summary(f),
        ...(req.query.records ? { records: gov!.usage.records().filter((r) => (!f.custodian || r.custodian === f.custodian) && (!f.study || r.study === f.study)) } : {}),
      };
    } catch (e) {
      return sendError(reply, e, log);
    }
  });
}
