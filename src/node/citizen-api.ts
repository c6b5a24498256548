// The citizens' routes of a node's API (issue 15; contract in src/node/openapi.ts, access rules in
// src/node/access.ts):
//
//   POST /v1/citizens {key, signature}       node 0: register a citizen key (the registering
//                                            custodian, src/governance/citizens.ts) at every node
//   POST /v1/internal/citizens {kind, doc}   node 0 → nodes 1, 2: each verifies and stores it on its own
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
import { peerProblem, toPeers } from './schedule.js';

/** The registry of a governed node, or a refusal. */
export function registryOf(ctx: ApiContext): CitizenRegistry {
  if (!ctx.citizens) throw new JobError('this node keeps no citizen documents', 409);
  ctx.citizens.need();
  return ctx.citizens;
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
