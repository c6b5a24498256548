// The citizens' routes of a node's API (issue 15; contract in src/node/openapi.ts, access rules in
// src/node/access.ts):
//
//   POST /v1/citizens {key, signature}       node 0: register a citizen key (the registering
//                                            custodian, src/governance/citizens.ts) at every node
//   POST /v1/internal/citizens {kind, doc}   node 0 → nodes 1, 2: each verifies and stores it on its own
//   GET  /v1/citizens/:name                  the registering custodian: a citizen's key and ref
//   POST /v1/grants, /v1/grants/revocations  a citizen registers a grant (with its salt) or revokes one
//   GET  /v1/grants                          a citizen's grants (with salts), a doctor's (without)
//   POST /v1/consent/inbox-key, GET …        the consent custodian's X25519 key for sealed consent changes
//   POST /v1/consent/changes                 a citizen's sealed consent change (src/governance/citizen-docs.ts)
//   GET  /v1/consent/inbox                   the consent custodian: the sealed changes
//   POST /v1/pro/submissions, GET …          a citizen's questionnaire (sealed per node), appended in MPC
//   POST /v1/internal/pro/appends            node 0 → nodes 1, 2: append a questionnaire (src/node/pro.ts)
//   POST /v1/internal/pro/appends/status     node 0 → nodes 1, 2: how that append ended here (answered once it has)
//
// Node 0 checks a document, hands it to nodes 1 and 2, each of which verifies it against its own
// consortium configuration and stores it; then node 0 stores it (distributeCitizenDoc). Submitting a
// document again changes nothing. Grants and the consent inbox add their routes in their modules.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CITIZEN_KEYS_DATASET } from '../governance/citizens.js';
import { AuthError } from '../governance/request-auth.js';
import type { ApiContext } from './context.js';
import type { CitizenRegistry, DocFolder } from './citizens.js';
import { JobError } from './errors.js';
import { requireParty, sendError } from './http.js';
import { PEERS, peerProblem, toPeers } from './schedule.js';
import type { AppendSpec, ProService, SubmissionStatus } from './pro.js';

/** The registry of a governed node, or a refusal. */
export function registryOf(ctx: ApiContext): CitizenRegistry {
  if (!ctx.citizens) throw new JobError('this node keeps no citizen documents', 409);
  ctx.citizens.need();
  return ctx.citizens;
}

/** The questionnaire service of a node that takes questionnaires, or a refusal. */
function proOf(ctx: ApiContext): ProService {
  if (!ctx.pro) throw new JobError('this node takes no questionnaires', 409);
  return ctx.pro;
}

/** Node 0: verify a citizen document, have nodes 1 and 2 verify and store it, store it. One at a time. */
let chain: Promise<unknown> = Promise.resolve();
export function distributeCitizenDoc<T>(ctx: ApiContext, folder: DocFolder<T>, doc: unknown): Promise<{ isNew: boolean; summary: string; value: T }> {
  const run = async () => {
    if (ctx.me !== 0) throw new JobError(`submit to the scheduler, node 0 (${ctx.config.nodes[0].name}); this is node ${ctx.me}`, 409);
    folder.kind.check(doc, registryOf(ctx).need()); // this node's reason first
    const answers = await toPeers<{ error?: string }>(ctx, '/v1/internal/citizens', { kind: folder.kind.dir, doc }, 10_000);
    const problems = answers.map((a, i) => peerProblem(ctx, i, a, [200, 201], 'refused it')).filter((p): p is string => p !== null);
    if (problems.length) throw new JobError(`not registered: ${problems.join('; ')}`, answers.some((a) => a.status === 'rejected') ? 503 : 409);
    const r = folder.accept(doc);
    if (r.isNew) ctx.log(`registered ${r.summary}`);
    return r;
  };
  const p = chain.then(run, run);
  chain = p.catch(() => {});
  return p;
}

/** A route handler that submits the body as a document of `folder`, checked by `allowed` first. */
export function submitRoute<T>(ctx: ApiContext, folder: () => DocFolder<T>, allowed: (req: FastifyRequest, doc: unknown) => void = () => {}) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      allowed(req, req.body);
      const r = await distributeCitizenDoc(ctx, folder(), req.body);
      return reply.code(r.isNew ? 201 : 200).send({ registered: r.summary, new: r.isNew });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  };
}

/** The signed-in citizen must be the one who signed the document (`who` names them). */
const ownDocument = (who: (doc: unknown) => unknown) => (req: FastifyRequest, doc: unknown) => {
  const name = who(doc);
  if (name !== req.identity!.name) throw new AuthError(`'${req.identity!.name}' cannot submit a document of '${String(name)}'`, 403);
};

export function registerCitizenRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/grants', submitRoute(ctx, () => registryOf(ctx).grants, ownDocument((d) => (d as { grant?: { grant?: { citizen?: string } } })?.grant?.grant?.citizen)));
  app.post('/v1/grants/revocations', submitRoute(ctx, () => registryOf(ctx).revocations, ownDocument((d) => (d as { revocation?: { citizen?: string } })?.revocation?.citizen)));

  // The consent custodian's inbox (src/governance/citizen-docs.ts): its key, citizens' sealed changes.
  const consentCustodian = (req: FastifyRequest) => {
    const c = registryOf(ctx).need().consent;
    if (req.identity!.name !== c?.custodian) throw new AuthError(`the consent inbox is the consent custodian's ('${c?.custodian ?? 'none'}'), not '${req.identity!.name}'s`, 403);
  };
  app.post('/v1/consent/inbox-key', submitRoute(ctx, () => registryOf(ctx).inboxKeys, consentCustodian));
  app.get('/v1/consent/inbox-key', async (_req, reply) => {
    try {
      const k = registryOf(ctx).inboxKey();
      return k ?? reply.code(404).send({ error: 'the consent custodian has published no inbox key yet' });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
  app.post('/v1/consent/changes', submitRoute(ctx, () => registryOf(ctx).consentInbox, ownDocument((d) => (d as { change?: { citizen?: string } })?.change?.citizen)));
  app.get('/v1/consent/inbox', async (req, reply) => {
    try {
      consentCustodian(req);
      return registryOf(ctx).consentInbox.values().sort((a, b) => a.change.time.localeCompare(b.change.time));
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
  // The registering custodian checks citizens' signatures itself (it knows names and persons, not keys).
  app.get<{ Params: { name: string } }>('/v1/citizens/:name', async (req, reply) => {
    try {
      const reg = registryOf(ctx);
      if (req.identity!.name !== reg.need().custodianOf(CITIZEN_KEYS_DATASET)) throw new AuthError('citizen keys are listed to their registering custodian only', 403);
      const k = reg.citizen(req.params.name);
      return k ? { name: k.name, ref: k.ref, publicKey: k.publicKey, registeredAt: k.registeredAt } : reply.code(404).send({ error: `no citizen ${req.params.name}` });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  // Questionnaires (src/node/pro.ts): registered at every node, then appended in one MPC session.
  const ownSubmission = ownDocument((d) => (d as { submission?: { citizen?: string } })?.submission?.citizen);
  let appends: Promise<unknown> = Promise.resolve();
  app.post('/v1/pro/submissions', async (req, reply) => {
    try {
      const pro = proOf(ctx);
      ownSubmission(req, req.body);
      const r = await distributeCitizenDoc(ctx, registryOf(ctx).submissions, req.body);
      const nonce = r.value.submission.nonce;
      const run = async () => {
        const spec = pro.plan(nonce);
        pro.check(spec);
        const answers = await toPeers<{ error?: string }>(ctx, '/v1/internal/pro/appends', spec, 10_000);
        const problems = answers.map((a, i) => peerProblem(ctx, i, a, [202], 'did not take it')).filter((p): p is string => p !== null);
        if (problems.length) throw new JobError(`questionnaire not added: ${problems.join('; ')}`, 503);
        const s = await pro.append(spec);
        if (s.status !== 'added') return s;
        // Added here; the citizen hears 'added' (and the next append is planned) once every node has written it.
        const theirs = await toPeers<SubmissionStatus & { error?: string }>(ctx, '/v1/internal/pro/appends/status', { nonce }, 60_000);
        const missing = theirs.map((a, i) => {
          const problem = peerProblem(ctx, i, a, [200], 'did not report it');
          if (problem || a.status !== 'fulfilled' || a.value.body.status === 'added') return problem;
          const n = ctx.config.nodes[PEERS[i]!];
          return `node ${n.id} (${n.name}) did not add it: ${a.value.body.status}${a.value.body.error ? ` (${a.value.body.error})` : ''}`;
        }).filter((p): p is string => p !== null);
        if (missing.length) return { status: 'failed' as const, error: `questionnaire added at node 0 but not at every node: ${missing.join('; ')}`, at: new Date().toISOString() };
        return s;
      };
      const p = appends.then(run, run);
      appends = p.catch(() => {});
      const s = await p;
      return reply.code(s.status === 'added' ? 201 : s.status === 'rejected' ? 403 : 500).send({ nonce, ...s });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
  app.post<{ Body: AppendSpec }>('/v1/internal/pro/appends', async (req, reply) => {
    try {
      requireParty(ctx.config, req, [0]);
      const pro = proOf(ctx);
      await pro.settled();
      pro.check(req.body);
      void pro.append(req.body);
      return reply.code(202).send({ accepted: req.body.nonce });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
  app.post<{ Body: { nonce?: unknown } }>('/v1/internal/pro/appends/status', async (req, reply) => {
    try {
      requireParty(ctx.config, req, [0]);
      const pro = proOf(ctx);
      await pro.settled();
      const s = typeof req.body?.nonce === 'string' ? pro.status(req.body.nonce) : undefined;
      return s ?? reply.code(404).send({ error: `no append of questionnaire ${String(req.body?.nonce)} at this node` });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
  app.get('/v1/pro/submissions', async (req, reply) => {
    try {
      const reg = registryOf(ctx);
      return reg.submissions.values()
        .filter((s) => s.submission.citizen === req.identity!.name)
        .sort((a, b) => b.submission.time.localeCompare(a.submission.time))
        .map((s) => ({ nonce: s.submission.nonce, time: s.submission.time, dataset: s.submission.dataset, ...(ctx.pro?.status(s.submission.nonce) ?? { status: 'pending' }) }));
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  // A citizen's own grants (with their salts and revocations); a doctor's grants (without salts).
  app.get('/v1/grants', async (req, reply) => {
    try {
      const reg = registryOf(ctx);
      const who = req.identity!;
      const mine = reg.grants.values().filter((g) => (who.role === 'citizen' ? g.grant.citizen === who.name : g.grant.doctor === who.name));
      return mine
        .sort((a, b) => b.grant.createdAt.localeCompare(a.grant.createdAt))
        .map((g) => ({ grant: g.signed, ...(who.role === 'citizen' ? { salt: g.salt } : {}), ...(reg.revocationOf(g.grant.id) ? { revoked: reg.revocationOf(g.grant.id)!.time } : {}) }));
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });

  app.post('/v1/citizens', submitRoute(ctx, () => registryOf(ctx).keys, (req) => {
    const owner = ctx.citizens?.need().custodianOf(CITIZEN_KEYS_DATASET);
    if (req.identity!.name !== owner) throw new AuthError(`citizens are registered by '${owner ?? 'the custodian of citizen_keys'}', not '${req.identity!.name}'`, 403);
  }));

  app.post<{ Body: { kind?: string; doc?: unknown } }>('/v1/internal/citizens', async (req, reply) => {
    try {
      requireParty(ctx.config, req, [0]);
      const r = registryOf(ctx).folderNamed(String(req.body?.kind)).accept(req.body?.doc);
      if (r.isNew) ctx.log(`registered ${r.summary}`);
      return reply.code(r.isNew ? 201 : 200).send({ registered: r.summary, new: r.isNew });
    } catch (e) {
      return sendError(reply, e, ctx.log);
    }
  });
}
