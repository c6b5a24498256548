// The transparency-log routes of a node's HTTPS API (src/node/api.ts registers them; contract in
// src/node/openapi.ts). Public, read-only, for auditors:
//
//   GET /v1/ledger/head                              latest co-signed tree head (404 before the first)
//   GET /v1/ledger/heads?from=&to=                   stored co-signed heads, oldest first
//   GET /v1/ledger/entries?from=&to=                 entries [from, to) (at most 5000 per call)
//   GET /v1/ledger/proof/inclusion?seq=&size=        RFC 9162 §2.1.3 audit path of entry seq in the tree of `size`
//   GET /v1/ledger/proof/consistency?from=&to=       RFC 9162 §2.1.4 proof between tree sizes
//   GET /v1/ledger/status                            this replica's size, latest head and any damage found
//
// Node-to-node (mutual TLS; the client certificate must be a pinned cluster node's, see below):
//
//   POST /v1/internal/ledger/entries {entries}       node 0 → 1, 2: append these (each node checks them)
//   POST /v1/internal/ledger/sign {head}             node 0 → 1, 2: sign this head if it is your root
//   POST /v1/internal/ledger/heads {head}            node 0 → 1, 2: store this co-signed head
//   POST /v1/internal/ledger/submit {kind, body}     1, 2 → node 0: log this event (NodeLedger.append)
//   GET  /v1/internal/jobs/:id/commitment            node 0 → 1, 2: your share commitment of a finished job
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterConfig } from '../net/keys.js';
import type { PartyId } from '../net/channel.js';
import { ENTRY_KINDS, type EntryKind, type JsonValue } from '../ledger/entry.js';
import { HttpError } from './errors.js';
import { requireParty as requirePartyOf, sendError } from './http.js';
import type { NodeLedger } from './ledger.js';

const MAX_PAGE = 5000;

function intParam(q: Record<string, string | undefined>, name: string, dflt: number | undefined, min: number, max: number): number {
  const v = q[name];
  if (v === undefined || v === '') {
    if (dflt === undefined) throw new HttpError(`query parameter ${name} is required`, 400);
    return dflt;
  }
  if (!/^\d+$/.test(v)) throw new HttpError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`, 400);
  const n = Number(v);
  if (n < min || n > max) throw new HttpError(`${name} must be in ${min}..${max}, got ${n}`, 400);
  return n;
}

export function registerLedgerRoutes(app: FastifyInstance, ledger: NodeLedger, config: ClusterConfig, me: number, log: (msg: string) => void = () => {}): void {
  // A proof asked for outside the tree (RangeError from src/ledger/merkle.ts) is the client's error too.
  const fail = (reply: FastifyReply, e: unknown) => sendError(reply, e instanceof RangeError ? new HttpError(e.message, 400) : e, log);
  /** Only the listed parties' pinned certificates may call. */
  const requireParty = (req: FastifyRequest, allowed: PartyId[]) => requirePartyOf(config, req, allowed);
  type Q = { Querystring: Record<string, string | undefined> };

  app.get('/v1/ledger/head', async (_req, reply) => {
    const h = ledger.replica.latest;
    if (!h) return reply.code(404).send({ error: 'no co-signed tree head yet (the log is empty or not co-signed yet)' });
    return h;
  });

  app.get<Q>('/v1/ledger/heads', async (req, reply) => {
    try {
      const l = ledger.replica;
      const from = intParam(req.query, 'from', 0, 0, l.headCount);
      const to = intParam(req.query, 'to', Math.min(l.headCount, from + MAX_PAGE), from, Math.min(l.headCount, from + MAX_PAGE));
      return { count: l.headCount, from, to, heads: l.heads(from, to) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get<Q>('/v1/ledger/entries', async (req, reply) => {
    try {
      const l = ledger.replica;
      const from = intParam(req.query, 'from', 0, 0, l.size);
      const to = intParam(req.query, 'to', Math.min(l.size, from + MAX_PAGE), from, Math.min(l.size, from + MAX_PAGE));
      return { size: l.size, from, to, entries: l.entries(from, to) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get<Q>('/v1/ledger/proof/inclusion', async (req, reply) => {
    try {
      const l = ledger.replica;
      const size = intParam(req.query, 'size', l.latest?.size ?? l.size, 1, l.size);
      const seq = intParam(req.query, 'seq', undefined, 0, size - 1);
      return { seq, size, leafHash: l.leafHash(seq), rootHash: l.rootHash(size), path: l.inclusionProof(seq, size) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get<Q>('/v1/ledger/proof/consistency', async (req, reply) => {
    try {
      const l = ledger.replica;
      const to = intParam(req.query, 'to', l.latest?.size ?? l.size, 0, l.size);
      const from = intParam(req.query, 'from', undefined, 0, to);
      return { from, to, firstRoot: l.rootHash(from), secondRoot: l.rootHash(to), path: l.consistencyProof(from, to) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get('/v1/ledger/status', async () => {
    const l = ledger.replica;
    return { node: config.nodes[me as 0 | 1 | 2].name, party: me, size: l.size, heads: l.headCount, latest: l.latest ?? null, damaged: l.damaged, problems: l.problems, warnings: l.warnings };
  });

  // Node-to-node.
  app.post<{ Body: { entries?: unknown } }>('/v1/internal/ledger/entries', async (req, reply) => {
    try {
      requireParty(req, [0]);
      return ledger.acceptEntries(req.body?.entries);
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.post<{ Body: { head?: unknown } }>('/v1/internal/ledger/sign', async (req, reply) => {
    try {
      requireParty(req, [0]);
      return { signature: ledger.signProposedHead(req.body?.head) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.post<{ Body: { head?: unknown } }>('/v1/internal/ledger/heads', async (req, reply) => {
    try {
      requireParty(req, [0]);
      return { stored: ledger.storeHead(req.body?.head) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.post<{ Body: { kind?: unknown; body?: unknown; time?: unknown; requireCosigned?: unknown } }>('/v1/internal/ledger/submit', async (req, reply) => {
    try {
      if (me !== 0) throw new HttpError('events are logged through node 0', 409);
      requireParty(req, [1, 2]);
      const { kind, body, time, requireCosigned } = req.body ?? {};
      if (!ENTRY_KINDS.includes(kind as EntryKind)) throw new HttpError(`unknown entry kind ${JSON.stringify(kind)}`, 400);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError('body must be a JSON object', 400);
      if (time !== undefined && typeof time !== 'string') throw new HttpError('time must be a string', 400);
      return await ledger.append(kind as EntryKind, body as { [k: string]: JsonValue }, { ...(time ? { time } : {}), requireCosigned: !!requireCosigned });
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get<{ Params: { id: string } }>('/v1/internal/jobs/:id/commitment', async (req, reply) => {
    try {
      requireParty(req, [0]);
      const c = ledger.commitmentOf(req.params.id);
      if (!c) return reply.code(404).send({ error: `no job ${req.params.id} at node ${me}` });
      return c;
    } catch (e) {
      return fail(reply, e);
    }
  });
}
