// `mosaik web --dir <cluster>`: serves the browser app (web/, built to web/dist) and relays its
// calls to the three nodes. The server is never a point of trust (DESIGN.md): it holds no key and
// sees no plaintext result. What it relays is either public (schemas, the transparency log) or
// signed and sealed by the browser and the nodes: every request to a node carries the user's
// signature made in the browser (src/governance/request-auth.ts: it binds method, path, node and
// body, so the relay cannot change or replay one), results come back sealed to a key that never
// leaves the browser (src/governance/sealed.ts), and uploads from the browser are sealed for each
// node. A browser cannot pin the nodes' self-signed certificates itself; the relay does (the same
// pinned TLS as the CLI), so the path browser → relay → node is as authenticated as the CLI's.
//
//   GET  /api/cluster                       {cluster, nodes: [{id, name, uploadKey?, signingKey?}]} (public:
//                                           cluster.json; uploadKey: the X25519 key the browser seals
//                                           uploads to; signingKey: the node's Ed25519 key for log
//                                           heads, which the auditor's page checks and shows so they
//                                           can be compared with one's own copy of cluster.json)
//   ANY  /api/nodes/:party/v1/…             forwarded to node `party` as /v1/… (method, query string,
//                                           Authorization, Content-Type and body unchanged; the
//                                           node's status, Content-Type and body back)
//   GET  /api/citizen-login                 {issuer, clientId, claim, label?} of the identity broker citizens
//                                           log in at, when the consent custodian's enrolment service runs
//                                           here ({} otherwise: the sign-in page then offers key files only)
//   POST /api/citizen-enrol                 {idToken, publicKey} → {name, ref}: that service
//                                           (./citizen-enrolment.ts), run in this process on the custodian's
//                                           behalf (the demo's); it sees the person id, the relay does not
//   GET  /api/citizen-consent               {service: true|false}: does that service run here (below)
//   POST /api/citizen-consent               {request, signature} → the asking citizen's consent as the register
//                                           holds it: the consent custodian's service (./citizen-consent-state.ts),
//                                           in this process on its behalf; 404 when it does not run here
//   GET  /…                                 the app (web/dist), index.html for unknown paths
// The relay logs one line per call: method, node, path, status, bytes. Never a header or a body.
import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { PartyId } from '../net/channel.js';
import { GovernanceError } from '../governance/errors.js';
import { pinnedTlsOptions } from '../net/https.js';
import { clusterUploadKeys, loadClusterConfig, type ClusterConfig } from '../net/keys.js';
import { apiPorts } from '../node/api.js';
import { NO_SCHEMA_COMPILERS } from '../node/fastify-options.js';
import type { CitizenConsentState } from './citizen-consent-state.js';
import type { CitizenEnrolment } from './citizen-enrolment.js';

/** Where the built app is: web/dist beside src (in the repository and in dist/). */
export function webDistDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [resolve(here, '../../web/dist'), resolve(here, '../../../web/dist')]) if (existsSync(join(c, 'index.html'))) return c;
  throw new Error('the web app is not built: run `npm run build` (it builds web/dist with Vite)');
}

export interface WebServerOptions {
  /** Cluster directory with cluster.json. */
  dir: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
  log?: (line: string) => void;
  /** Largest body relayed (uploads from the browser are small files). */
  bodyLimit?: number;
  /** The consent custodian's enrolment service for e-ID logins, when it runs in this process. */
  citizenEnrolment?: CitizenEnrolment;
  /** The consent custodian's consent-state service, when it runs in this process. */
  citizenConsentState?: CitizenConsentState;
}

export interface WebServer {
  url: string;
  app: FastifyInstance;
  /** Starts (or stops: undefined) serving the enrolment service, e.g. once the broker knows this server's URL. */
  setCitizenEnrolment(service: CitizenEnrolment | undefined): void;
  /** Starts (or stops: undefined) serving the consent-state service. */
  setCitizenConsentState(service: CitizenConsentState | undefined): void;
  close(): Promise<void>;
}

/** Forwards one call to a node over pinned TLS; resolves with its status, content type and body. */
function forward(config: ClusterConfig, party: PartyId, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<{ status: number; type: string; body: Buffer }> {
  const n = config.nodes[party];
  return new Promise((ok, fail) => {
    const req = httpsRequest(
      { host: n.host, port: apiPorts(config)[party], path, method, ...pinnedTlsOptions(n), agent: false, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', fail);
        res.on('end', () => ok({ status: res.statusCode ?? 502, type: String(res.headers['content-type'] ?? 'application/json'), body: Buffer.concat(parts) }));
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`no answer from node ${party} (${n.name}) within 60 s`)));
    req.on('error', fail);
    req.end(body);
  });
}

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const config = loadClusterConfig(join(resolve(o.dir), 'cluster.json'));
  const log = o.log ?? ((l: string) => console.error(l));
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimit ?? 64 << 20, schemaController: NO_SCHEMA_COMPILERS });
  // Bodies are relayed as the browser sent them (the signature covers their exact bytes).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const uploadKeys = clusterUploadKeys(config);
  app.get('/api/cluster', async () => ({
    cluster: config.cluster,
    nodes: config.nodes.map((n) => ({ id: n.id, name: n.name, ...(uploadKeys[n.id] ? { uploadKey: uploadKeys[n.id] } : {}), ...(n.signingKey ? { signingKey: n.signingKey } : {}) })),
  }));

  let enrolment = o.citizenEnrolment;
  let consentState = o.citizenConsentState;
  /** One of the custodian's services: JSON in, 400 with the reason when refused, 502 when it cannot answer. */
  const custodianService = (path: string, what: string, shape: string, run: (body: Record<string, unknown>) => Promise<{ code: number; body: object; line: string }> | undefined) =>
    app.post(path, async (req, reply) => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '') as Record<string, unknown>;
      } catch {
        body = null as unknown as Record<string, unknown>;
      }
      if (!body || typeof body !== 'object') return reply.code(400).send({ error: `send JSON: ${shape}` });
      const running = run(body);
      if (!running) return reply.code(404).send({ error: `no ${what} service here` });
      try {
        const r = await running;
        log(`${what} → ${r.code}${r.line}`);
        return reply.code(r.code).header('cache-control', 'no-store').send(r.body);
      } catch (e) {
        const refused = e instanceof GovernanceError;
        log(`${what} → ${refused ? 400 : 502}`);
        return reply.code(refused ? 400 : 502).send({ error: refused ? (e as Error).message : `the ${what} could not be completed: ${(e as Error).message}` });
      }
    });
  app.get('/api/citizen-login', async () => enrolment?.login ?? {});
  app.get('/api/citizen-consent', async () => ({ service: !!consentState }));
  custodianService('/api/citizen-enrol', 'enrolment', '{"idToken": …, "publicKey": …}', (b) => enrolment?.enrol(b.idToken, b.publicKey).then((r) => ({ code: 201, body: r, line: ` (${r.name})` })));
  custodianService('/api/citizen-consent', 'consent state', '{"request": …, "signature": …}', (b) => consentState?.answer(b).then((r) => ({ code: 200, body: r, line: '' })));

  app.all<{ Params: { party: string; '*': string } }>('/api/nodes/:party/*', async (req, reply) => {
    const party = Number(req.params.party);
    if (![0, 1, 2].includes(party)) return reply.code(404).send({ error: `no node ${req.params.party} (nodes are 0, 1, 2)` });
    const rest = req.url.slice(`/api/nodes/${req.params.party}`.length);
    if (!rest.startsWith('/v1/')) return reply.code(404).send({ error: 'only /v1/… routes of the nodes are relayed' });
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type', 'accept']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const body = Buffer.isBuffer(req.body) && req.body.length ? req.body : undefined;
    try {
      const r = await forward(config, party as PartyId, req.method, rest, headers, body);
      log(`relay ${req.method} node ${party} ${rest.split('?')[0]} → ${r.status} (${r.body.length} bytes)`);
      return reply.code(r.status).header('content-type', r.type).header('cache-control', 'no-store').send(r.body);
    } catch (e) {
      log(`relay ${req.method} node ${party} ${rest.split('?')[0]} → unreachable`);
      return reply.code(502).send({ error: `node ${party} (${config.nodes[party as PartyId].name}) is unreachable: ${(e as Error).message}` });
    }
  });

  const root = webDistDir();
  await app.register(fastifyStatic, { root, prefix: '/', index: ['index.html'] });
  // Paths of the app's own router load the app.
  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'GET' && !req.url.startsWith('/api/')) return reply.type('text/html').send(readFileSync(join(root, 'index.html')));
    return reply.code(404).send({ error: `no route ${req.method} ${req.url}` });
  });
  const host = o.host ?? '127.0.0.1';
  await app.listen({ host, port: o.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return { url: `http://${host}:${port}/`, app, setCitizenEnrolment: (s) => void (enrolment = s), setCitizenConsentState: (s) => void (consentState = s), close: () => app.close() };
}
