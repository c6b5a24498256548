// What every part of a node shares about HTTP: the API ports of the cluster, the pinned client for
// node APIs (node-to-node calls and the CLI), who the TLS client is (by its pinned certificate),
// and how an error becomes an answer. The bottom of src/node's layers, with errors.ts:
//
//   routes    api.ts (server, datasets, queries, jobs), sealed-upload.ts (uploads sealed by
//             browsers), governance-api.ts, ledger-api.ts, access.ts (the one access hook),
//             openapi.ts, context.ts (what routes get)
//   services  jobs.ts, job-governance.ts, schedule.ts (node 0 offers jobs and documents to all),
//             ledger.ts, governance.ts, privacy.ts
//   store     store.ts (encrypted shares), job-store.ts (job specs and outcomes), shares.ts
//   shared    http.ts, errors.ts
//
// Imports point down only (routes → services → store; every layer may use shared); no circles.
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { AuthError, audienceOf, signRequest, UNSIGNED_BODY } from '../governance/request-auth.js';
import { GovernanceError } from '../governance/errors.js';
import type { Signer } from '../governance/identity.js';
import { SchemaError } from '../ingest/schema.js';
import { LedgerError } from '../ledger/entry.js';
import { pinnedTlsOptions, readJsonAnswer } from '../net/https.js';
import type { PartyId } from '../net/channel.js';
import { clusterFileField, type ClusterConfig, type ResolvedNode } from '../net/keys.js';
import { QueryError } from '../query/index.js';
import { HttpError, isClientError, LedgerConflict } from './errors.js';

/**
 * The HTTPS API port of each node: `apiPort` of its entry in cluster.json when present, else its
 * MPC port + 1000. (resolveClusterConfig ignores the extra field.)
 */
export function apiPorts(config: ClusterConfig): [number, number, number] {
  const ports = clusterFileField(config, 'apiPort');
  return config.nodes.map((n, i) => {
    const p = ports[i] as number | undefined;
    if (p !== undefined) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`cluster config node ${n.id} (${n.name}): apiPort must be 1-65535, got ${p}`);
      return p;
    }
    if (n.port + 1000 > 65535) throw new Error(`cluster config node ${n.id} (${n.name}): no apiPort, and port + 1000 is not a port`);
    return n.port + 1000;
  }) as [number, number, number];
}

// ---------------------------------------------------------------------------------------------
// Client: HTTPS with the server's certificate pinned (and optionally our node certificate)

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export interface ApiRequestOptions {
  method?: string;
  /** JSON (object) or raw bytes / stream (sent as application/octet-stream). */
  body?: unknown;
  /** Client certificate (node-to-node calls). */
  key?: string;
  cert?: string;
  timeoutMs?: number;
  port?: number;
  /** Signs the request as this identity (src/governance/request-auth.ts): needed by every route that is not public. */
  signer?: Signer;
}

/**
 * Connections to the nodes' APIs, kept open between requests. A requester polls each node's job status
 * about ten times a second while a job runs; each poll on a new connection cost a TLS handshake on
 * both sides (a node's handshakes took CPU from the MPC it was running), a new TLS context and a
 * certificate check: ≈ 2 s of the main job's CPU in the requester alone. A connection is verified
 * (pinned certificate) when it is made; idle ones do not keep a process alive and are closed by the
 * server after its keep-alive time. One pool per pinned certificate (a connection is only reused
 * for the identity it was checked against), and no TLS sessions cached: a new connection always
 * checks the certificate in full.
 */
const API_AGENTS = new Map<string, HttpsAgent>();
const apiAgent = (n: ResolvedNode): HttpsAgent => {
  let a = API_AGENTS.get(n.fingerprint);
  if (!a) API_AGENTS.set(n.fingerprint, (a = new HttpsAgent({ keepAlive: true, maxCachedSessions: 0, scheduling: 'lifo' })));
  return a;
};

/**
 * One request to a node's API. The server must present exactly the certificate pinned for it in
 * cluster.json (SHA-256 fingerprint), checked during the handshake before any byte is sent.
 */
export function apiRequest<T = unknown>(config: ClusterConfig, node: PartyId, path: string, o: ApiRequestOptions = {}): Promise<ApiResponse<T>> {
  const n: ResolvedNode = config.nodes[node];
  const port = o.port ?? apiPorts(config)[node];
  const raw = o.body instanceof Uint8Array || (typeof o.body === 'object' && o.body !== null && typeof (o.body as Readable).pipe === 'function');
  const payload = o.body === undefined ? undefined : raw ? o.body : Buffer.from(JSON.stringify(o.body));
  const method = o.method ?? (o.body === undefined ? 'GET' : 'POST');
  const authorization = o.signer
    ? signRequest({ method, path, audience: audienceOf(config.cluster, n.name) }, payload === undefined ? undefined : raw ? UNSIGNED_BODY : (payload as Uint8Array), o.signer)
    : undefined;
  const opts: RequestOptions = {
    host: n.host,
    port,
    path,
    method,
    // Trust exactly the pinned certificate (when cluster.json carries it), then check its fingerprint.
    ...pinnedTlsOptions(n),
    ...(o.key && o.cert ? { key: o.key, cert: o.cert } : {}),
    agent: apiAgent(n),
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(payload === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }),
      ...(payload instanceof Uint8Array ? { 'content-length': String(payload.byteLength) } : {}),
    },
  };
  const resendable = payload === undefined || payload instanceof Uint8Array;
  const send = (): Promise<ApiResponse<T>> => new Promise((ok, fail) => {
    let answered = false;
    const req = httpsRequest(opts, (res) => {
      answered = true;
      readJsonAnswer<T>(res).then(ok, fail);
    });
    // Without a pinned certificate in cluster.json, only the fingerprint check stands: do it before sending.
    // A kept connection was checked when it was made (a failed check destroys it).
    if (!n.certPem) {
      req.on('socket', (s) => {
        const check = () => {
          const fp = (s as TLSSocket).getPeerX509Certificate()?.fingerprint256;
          if (fp !== n.fingerprint) req.destroy(new Error(`node ${n.id} (${n.name}) presented a certificate with fingerprint ${fp}, but cluster.json pins ${n.fingerprint}`));
        };
        if ((s as TLSSocket).getPeerX509Certificate()) check();
        else (s as TLSSocket).once('secureConnect', check);
      });
    }
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer from node ${n.id} (${n.name}) at ${n.host}:${port} within ${o.timeoutMs ?? 30_000} ms`)));
    req.on('error', (e) => {
      // A kept connection the server had closed (it restarted, or its keep-alive time ran out as the
      // request went out) fails the request before any answer: it is sent again on another
      // connection, once per stale connection (RFC 9112 §9.3.1). It reached no handler; had it
      // reached one, the copy is refused, not run twice (a job's id and a signed request's nonce
      // are taken once). A body that was a stream cannot be sent again; a new connection's error
      // is the node's answer.
      if (req.reusedSocket && !answered && resendable && STALE.has((e as NodeJS.ErrnoException).code ?? '')) send().then(ok, fail);
      else fail(new Error(`node ${n.id} (${n.name}) at https://${n.host}:${port}${path}: ${e.message}`));
    });
    if (payload === undefined) req.end();
    else if (payload instanceof Uint8Array) req.end(payload);
    else (payload as Readable).pipe(req);
  });
  return send();
}

/** How a kept connection the server has closed fails a request written to it. */
const STALE = new Set(['ECONNRESET', 'EPIPE']);

// ---------------------------------------------------------------------------------------------
// Server side

/** The SHA-256 fingerprint of the TLS client's certificate, or null. */
export function peerFingerprint(req: { raw: { socket: unknown } }): string | null {
  return (req.raw.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256 ?? null;
}

/**
 * Node-to-node routes: the client certificate must be the pinned certificate of one of the
 * `allowed` parties (403 otherwise); returns which party called.
 */
export function requireParty(config: ClusterConfig, req: { raw: { socket: unknown } }, allowed: readonly PartyId[]): PartyId {
  const fp = peerFingerprint(req);
  const p = fp ? config.nodes.findIndex((n) => n.fingerprint === fp) : -1;
  if (p < 0 || !allowed.includes(p as PartyId)) {
    const who = allowed.map((a) => `node ${a} (${config.nodes[a].name})`).join(' and ');
    throw new HttpError(fp ? `forbidden: this route is for ${who} only; the client certificate (SHA-256 ${fp}) is not ${allowed.length > 1 ? 'one of their' : 'its'} pinned certificate${allowed.length > 1 ? 's' : ''}` : `forbidden: this route needs the client certificate of ${who}`, 403);
  }
  return p as PartyId;
}

/** Answers an error: 4xx with its message for what the client can fix, else 500 (and logged). */
export function sendError(reply: FastifyReply, e: unknown, log: (m: string) => void): FastifyReply {
  if (e instanceof AuthError) return reply.code(e.status).send({ error: e.message });
  if (e instanceof GovernanceError) return reply.code(e.code === 'malformed' ? 400 : 403).send({ error: e.message, code: e.code });
  if (e instanceof LedgerConflict) return reply.code(e.status).send({ error: e.message, ...(e.size !== undefined ? { size: e.size } : {}) });
  if (e instanceof LedgerError) return reply.code(400).send({ error: e.message });
  if (isClientError(e) || e instanceof SchemaError) {
    const status = e instanceof QueryError || e instanceof SchemaError ? 400 : ((e as { status?: number }).status ?? 400);
    return reply.code(status).send({ error: e.message, ...(e instanceof HttpError ? e.details : {}) });
  }
  log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
  return reply.code(500).send({ error: (e as Error)?.message ?? String(e) });
}
