// Who may call which route of a node's API: one table (ROUTE_ACCESS), enforced for every request
// by one hook, and published in the OpenAPI document (src/node/openapi.ts) so that clients and the
// route test (test/access.test.ts) read the same rules.
//
//   public    anyone who reaches the node over TLS: health, the OpenAPI document, schemas, code
//             lists and sizes of datasets (public metadata, DESIGN.md), the consortium's public
//             configuration, and the transparency log (heads, entries, proofs)
//   node      node-to-node routes: mutual TLS, the client certificate must be a pinned cluster
//             node's (checked here; the routes check which node: api.ts requireNode0, ledger-api.ts)
//   roles     a request signed by a known identity (src/governance/request-auth.ts) with one of
//             the roles; the route then checks what that identity may see (e.g. GET /v1/jobs/:id
//             answers only the job's requester)
// A route missing from the table is refused (500): nothing is open by accident.
//
// Identities are the consortium's members (governed mode) and the cluster's identities.json
// (src/governance/identities.ts), re-read when the file changes; the node holds public keys only.
import { existsSync, statSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { identitiesPath, loadIdentities, type Identity } from '../governance/identities.js';
import type { Member } from '../governance/consortium.js';
import type { MemberRole } from '../governance/identity.js';
import { audienceOf, AuthError, RequestNonces, UNSIGNED_BODY, verifyRequest } from '../governance/request-auth.js';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import type { NodeGovernance } from './governance.js';

export type RouteAccess = { kind: 'public' } | { kind: 'node' } | { kind: 'identity'; roles: readonly MemberRole[] };

const PUBLIC: RouteAccess = { kind: 'public' };
const NODE: RouteAccess = { kind: 'node' };
const roles = (...r: MemberRole[]): RouteAccess => ({ kind: 'identity', roles: r });
const ANY_ROLE = roles('researcher', 'custodian', 'auditor', 'citizen', 'doctor');

/** Access rule of every route, keyed '<METHOD> <fastify path>'. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /v1/health': PUBLIC,
  'GET /v1/openapi.json': PUBLIC,
  'GET /v1/datasets': PUBLIC,
  'GET /v1/datasets/:name': PUBLIC,
  'PUT /v1/datasets/:name/versions/:version': roles('custodian'),
  'PUT /v1/datasets/:name/versions/:version/sealed': roles('custodian'),
  'POST /v1/queries': roles('researcher'),
  'GET /v1/jobs/:id': roles('researcher'),
  'GET /v1/privacy': roles('researcher', 'auditor'),
  'GET /v1/whoami': ANY_ROLE,
  'GET /v1/governance': PUBLIC,
  'POST /v1/studies': roles('researcher', 'custodian'),
  'POST /v1/approvals': roles('researcher', 'custodian'),
  'POST /v1/policies': roles('researcher', 'custodian'),
  'POST /v1/consent/updates': roles('researcher', 'custodian'),
  'GET /v1/studies': ANY_ROLE,
  'GET /v1/policies': ANY_ROLE,
  'GET /v1/studies/:id': ANY_ROLE,
  'GET /v1/studies/:id/budget': roles('researcher', 'custodian', 'auditor'),
  'GET /v1/usage': roles('custodian', 'auditor'),
  'GET /v1/ledger/head': PUBLIC,
  'GET /v1/ledger/heads': PUBLIC,
  'GET /v1/ledger/entries': PUBLIC,
  'GET /v1/ledger/proof/inclusion': PUBLIC,
  'GET /v1/ledger/proof/consistency': PUBLIC,
  'GET /v1/ledger/status': PUBLIC,
  'POST /v1/internal/jobs': NODE,
  'POST /v1/internal/jobs/:id/cancel': NODE,
  'POST /v1/internal/jobs/:id/start': NODE,
  'GET /v1/internal/jobs/:id/commitment': NODE,
  'POST /v1/internal/governance': NODE,
  'POST /v1/internal/ledger/entries': NODE,
  'POST /v1/internal/ledger/sign': NODE,
  'POST /v1/internal/ledger/heads': NODE,
  'POST /v1/internal/ledger/submit': NODE,
  // Citizens and doctors (issue 15: src/node/citizen-api.ts)
  'POST /v1/citizens': roles('custodian'),
  'POST /v1/internal/citizens': NODE,
  'POST /v1/grants': roles('citizen'),
  'POST /v1/grants/revocations': roles('citizen'),
  'GET /v1/grants': roles('citizen', 'doctor'),
  'POST /v1/records': roles('doctor'),
  'GET /v1/records/:id': roles('doctor'),
  'POST /v1/internal/records': NODE,
  'POST /v1/internal/records/:id/start': NODE,
  'POST /v1/internal/records/:id/cancel': NODE,
  'GET /v1/citizens/:name': roles('custodian'),
  'POST /v1/consent/inbox-key': roles('custodian'),
  'GET /v1/consent/inbox-key': PUBLIC,
  'POST /v1/consent/changes': roles('citizen'),
  'GET /v1/consent/inbox': roles('custodian'),
  'POST /v1/pro/submissions': roles('citizen'),
  'GET /v1/pro/submissions': roles('citizen'),
  'POST /v1/internal/pro/appends': NODE,
  'POST /v1/internal/pro/appends/status': NODE,
};

export type { Identity } from '../governance/identities.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in identity (routes with role access). */
    identity?: Identity;
    /** The exact JSON body bytes (the request signature covers them). */
    rawBody?: Buffer;
  }
}

export interface NodeAccessOptions {
  config: ClusterConfig;
  me: PartyId;
  governance?: NodeGovernance;
  log: (msg: string) => void;
  /** Identities known besides the consortium's and identities.json (registered citizens: src/node/citizens.ts). */
  more?: (name: string) => Identity | undefined;
}

/** The identities a node knows and the hook that checks every request against ROUTE_ACCESS. */
export class NodeAccess {
  private readonly nonces = new RequestNonces();
  private fileStamp = '';
  private fromFile = new Map<string, Member>();

  constructor(private readonly o: NodeAccessOptions) {}

  get audience(): string {
    return audienceOf(this.o.config.cluster, this.o.config.nodes[this.o.me].name);
  }

  /** identities.json, re-read when it changed (an operator added someone). */
  private fileIdentities(): Map<string, Member> {
    const path = identitiesPath(this.o.config.dir);
    const stamp = existsSync(path) ? (() => { const s = statSync(path); return `${s.mtimeMs}:${s.size}`; })() : 'none';
    if (stamp !== this.fileStamp) {
      try {
        this.fromFile = loadIdentities(this.o.config.dir);
      } catch (e) {
        this.o.log(`WARNING: ${path}: ${(e as Error).message}; keeping the identities read before`);
      }
      this.fileStamp = stamp;
    }
    return this.fromFile;
  }

  /** A known identity by name: the consortium's member first, else identities.json's. */
  lookup(name: string): Identity | undefined {
    const m = this.o.governance?.consortium?.member(name) ?? this.fileIdentities().get(name);
    return m ? { name: m.name, role: m.role, keyId: m.keyId, publicKey: m.publicKey, datasets: m.datasets } : this.o.more?.(name);
  }

  /** Checks a request's signature (any known identity); AuthError otherwise. */
  authenticate(req: FastifyRequest): Identity {
    const body = req.rawBody ?? (req.headers['content-type']?.startsWith('application/octet-stream') ? UNSIGNED_BODY : undefined);
    return verifyRequest(req.headers.authorization, { method: req.method, path: req.url, audience: this.audience }, body, (n) => this.lookup(n), this.nonces) as Identity;
  }

  /** Installs the JSON parser that keeps the raw body, and the access hook; a route registered without a rule fails the start. */
  register(app: FastifyInstance): void {
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) {
        const key = `${m === 'HEAD' ? 'GET' : m} ${r.url}`;
        if (!ROUTE_ACCESS[key]) throw new Error(`route ${key} has no access rule in src/node/access.ts ROUTE_ACCESS`);
      }
    });
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
      req.rawBody = body as Buffer;
      if ((body as Buffer).length === 0) return done(null, undefined);
      try {
        done(null, JSON.parse((body as Buffer).toString('utf8')));
      } catch (e) {
        const err = new Error(`the body is not valid JSON: ${(e as Error).message}`) as Error & { statusCode: number };
        err.statusCode = 400;
        done(err, undefined);
      }
    });
    app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const key = `${req.method === 'HEAD' ? 'GET' : req.method} ${req.routeOptions.url ?? ''}`;
      const rule = ROUTE_ACCESS[key];
      if (!rule) {
        if (!req.routeOptions.url) return; // the not-found handler
        this.o.log(`internal error: route ${key} has no access rule`);
        return reply.code(500).send({ error: `route ${key} has no access rule (refused)` });
      }
      if (rule.kind === 'public') return;
      if (rule.kind === 'node') {
        // Any pinned node certificate gets past this point; the route checks which node it must be.
        const fp = (req.raw.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256;
        if (!fp || !this.o.config.nodes.some((n) => n.fingerprint === fp)) return reply.code(403).send({ error: `forbidden: ${req.method} ${req.routeOptions.url} is a node-to-node route; the client certificate must be a cluster node's pinned certificate` });
        return;
      }
      try {
        const who = this.authenticate(req);
        if (!rule.roles.includes(who.role)) throw new AuthError(`'${who.name}' is a ${who.role}; ${req.method} ${req.routeOptions.url} is for ${rule.roles.join(' or ')} identities`, 403);
        req.identity = who;
      } catch (e) {
        if (!(e instanceof AuthError)) throw e;
        return reply.code(e.status).send({ error: e.message });
      }
    });
  }
}
