// The governance routes of a node's HTTPS API (issue 6; contract in src/node/openapi.ts) and the
// scheduling of governed queries.
//
//   GET  /v1/governance                 this node's mode and consortium (public configuration)
//   POST /v1/studies        {study}     node 0: register a signed study          → 201 | 200 (known) | 400 | 403 | 409
//   POST /v1/approvals      {approval}  node 0: register a custodian's approval  (same answers, and
//                                       warnings: what the custodian's own policies will refuse)
//   POST /v1/policies       {policy}    node 0: register a custodian's signed policy
//   POST /v1/consent/updates {update}   node 0: the consent custodian's signed notice of a new register version
//   GET  /v1/studies                    registered studies: public metadata and each custodian's decision
//   GET  /v1/studies/:id                its versions: the signed documents and approvals (public)
//   GET  /v1/studies/:id/budget         the study's privacy budget at this node: total, spent, charges
//   GET  /v1/usage?custodian=&study=    usage per custodian and study recorded at this node
//   POST /v1/internal/governance {kind, doc}   node 0 → nodes 1, 2 (mutual TLS, node 0's certificate)
//
// A document is registered at every node or refused (src/node/schedule.ts distributeDocument):
// node 0 verifies it, hands it to nodes 1 and 2, each of which verifies it ON ITS OWN (signatures against its own consortium configuration) and
// stores it; then node 0 stores it and logs it in the transparency log (study-submitted,
// study-approved, policy-published, consent-changed); nodes 1 and 2 append the entry only if they
// hold a document with exactly that log body. Submitting a document again changes nothing.
//
// Access (src/node/access.ts): documents are submitted by researcher and custodian identities (a
// document proves its author by its own signature, which every node verifies); studies are listed
// to any identity; budgets to their study's researcher, custodians and auditors; usage to
// custodians (their own) and auditors.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GovernanceError } from '../governance/errors.js';
import { studyHash } from '../governance/study.js';
import { DEFAULT_STUDY_DELTA } from '../governance/policy.js';
import { AuthError } from '../governance/request-auth.js';
import type { ApiContext } from './context.js';
import { JobError } from './errors.js';
import type { DocKind } from './governance.js';
import { requireParty, sendError } from './http.js';
import { distributeDocument } from './schedule.js';
import { approvalWarningsAt } from './job-governance.js';
import type { Approval } from '../governance/study.js';

export function registerGovernanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
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

      const p = chain.then(() => distributeDocument(ctx, kind, doc));
      chain = p.catch(() => {});
      const r = await p;
      // An approval of what the custodian's own policy refuses: registered, with a warning back (issue 12).
      const warnings = kind === 'approval' ? approvalWarningsAt(gov!, ctx.store, doc as unknown as Approval) : [];
      return reply.code(r.isNew ? 201 : 200).send({ registered: r.summary, new: r.isNew, ...(r.seq !== undefined ? { ledgerSeq: r.seq } : {}), ...(warnings.length ? { warnings } : {}) });
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
      requireParty(config, req, [0]);
      needGov();
      const kind = req.body?.kind as DocKind;
      if (!['study', 'approval', 'policy', 'consent-update'].includes(kind)) throw new JobError(`unknown document kind ${JSON.stringify(kind)}`);
      const r = gov!.accept(kind, req.body!.doc);
      return reply.code(r.isNew ? 201 : 200).send({ registered: r.summary, new: r.isNew });
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  // The custodians' signed policies this node holds (what each column may be used for).
  app.get('/v1/policies', async (_req, reply) => {
    try {
      needGov();
      return gov!.allPolicies().sort((a, b) => a.policy.custodian.localeCompare(b.policy.custodian) || a.policy.issuedAt.localeCompare(b.policy.issuedAt));
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
      const who = req.identity!;
      if (who.role === 'researcher' && !gov!.studyVersions(req.params.id).some((v) => v.study.researcher === who.name)) throw new AuthError(`study '${req.params.id}' is not '${who.name}'s; researchers see their own studies' budgets`, 403);
      const st = gov!.budget.state(req.params.id);
      if (st) return { ...st, remaining: gov!.budget.remaining(req.params.id, st.total) };
      // Nothing charged yet: the total the latest registered version declares, all of it remaining.
      const versions = gov!.studyVersions(req.params.id);
      if (!versions.length) return reply.code(404).send({ error: `no study '${req.params.id}' is registered at node ${me} (${self.name})` });
      const p = versions[versions.length - 1]!.study.privacy;
      const total = p ? { epsilon: p.epsilon, delta: p.delta ?? DEFAULT_STUDY_DELTA } : null;
      return { study: req.params.id, total, spent: { epsilon: 0, delta: 0 }, remaining: total, charges: [], ...(total ? {} : { note: 'the study declares no privacy budget: it cannot run protected queries' }) };
    } catch (e) {
      return sendError(reply, e, log);
    }
  });

  app.get<{ Querystring: { custodian?: string; study?: string; records?: string } }>('/v1/usage', async (req, reply) => {
    try {
      needGov();
      const who = req.identity!;
      // A custodian sees the usage of its own data; an auditor everyone's.
      if (who.role === 'custodian' && req.query.custodian !== undefined && req.query.custodian !== who.name) throw new AuthError(`'${who.name}' sees its own usage only (custodian=${who.name})`, 403);
      const custodian = who.role === 'custodian' ? who.name : req.query.custodian;
      const f = { ...(custodian ? { custodian } : {}), ...(req.query.study ? { study: req.query.study } : {}) };
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
