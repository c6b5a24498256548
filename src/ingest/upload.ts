// Custodian side of sharing a dataset: split every encoded column into 3-party replicated shares on
// the custodian's machine (x = x_0 + x_1 + x_2 over Z_2^64, ../mpc/share.ts) and send node i only its
// pair (x_i, x_{i+1}) over HTTPS, with the node's certificate pinned from cluster.json. The
// plaintext never leaves this process; each node sees one share pair, which is uniformly random and
// independent of the data.
//
// Wire contract (node API, src/node/api.ts): PUT /v1/datasets/:name/versions/:version,
// application/octet-stream, body = [u32 LE header length][header JSON {schema, codeLists, rows,
// columns, party, seeded}][for each column in schema order: half a (rows × u64 LE), then half b],
// where each half that is x_0 or x_1 goes as the 16-byte seed it is drawn from (./upload-body.ts:
// node 0 two seeds per column, nodes 1 and 2 one seed and x_2's bytes; 16 instead of 48 bytes per
// value in all). A seed tells its node exactly the half it stands for, no more: the node draws it
// (the same AES-128-CTR stream) before it hashes and stores it.
// 201 created, 200 identical content already stored, 409 other content under that version, 400 bad,
// 403 refused by a governed node (not signed by the dataset's custodian).
//
// Authentication: every upload request is signed by the custodian's identity (Ed25519,
// src/governance/request-auth.ts; nodes accept uploads from custodian identities only). Governed
// nodes (./upload-auth.ts) also need, in each header, `signature`, the custodian's signed statement of cluster, dataset, version,
// party, rows, columns, schema and code-list hashes, time, and the SHA-256 of exactly the share
// bytes that node receives. Computing that commitment takes a first pass over the shares (they
// are derived, so the second pass sends the same bytes); the node re-hashes the bytes as it stores
// them and keeps nothing if they differ. TLS with the pinned node certificates protects them in transit.
//
// Idempotent re-runs: the same version must carry byte-identical shares to every node, otherwise a
// re-run after a partial failure would complete the upload with shares that do not fit together.
// So the share randomness is derived, not drawn afresh: per column, two AES-128-CTR streams (x_0 and
// x_1) keyed by HMAC-SHA256(custodian key, cluster, dataset, version, column, SHA-256 of the column).
// The custodian key is 32 random bytes kept on the custodian's machine (never sent). Different
// content or a different version gives unrelated shares, so a node that sees two uploads learns
// nothing from comparing them. Without a key, uploadDataset draws a fresh one (a re-run is then not
// idempotent); shareColumn without a key draws fresh shares (splitShares).
//
// Flow: (1) GET /v1/datasets at all three nodes (reachable? pinned certificate?) before any share
// byte is sent; (2) three PUTs streamed concurrently, column by column, in bounded memory (one
// column's shares at a time); (3) if one node fails, the uploads still in flight to the others are
// aborted so that, as far as possible, no node stores the version; the error names each node and why.
import { pinnedTlsOptions, readJsonAnswer, type JsonAnswer } from '../net/https.js';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig, ResolvedNode } from '../net/keys.js';
import { AShare, sharesOf, splitShares, type ShareTriple } from '../mpc/share.js';
import { Prg } from '../ring/prg.js';
import { sub } from '../ring/ring64.js';
import type { UploadHeader } from './schema.js';
import { checkVersion, encodeUploadHeaderBytes, halfSeeds, partySeededBytes, partyShareBytes, SEED_BYTES, seededHalves, shareBodyLength, uploadHeader, type ShareableDataset } from './upload-body.js';
import { sharesHasher, signUploadHeader, type UploadSignature } from './upload-auth.js';
import type { Signer } from '../governance/identity.js';
import { audienceOf, signRequest, UNSIGNED_BODY } from '../governance/request-auth.js';

export { checkVersion, defaultVersion, referencedCodeLists, uploadHeader, type ShareableDataset } from './upload-body.js';

const PARTIES: readonly PartyId[] = [0, 1, 2];

// ---------------------------------------------------------------------------------------------
// Where a node's API is. Adapt here if the node's port scheme changes.

/** The HTTPS API address of a node: `apiPort` of its cluster.json entry if present, else its cluster port + 1000. */
export function apiAddress(config: ClusterConfig, party: PartyId): { host: string; port: number } {
  const n = config.nodes[party];
  let apiPort: unknown;
  try {
    const raw = JSON.parse(readFileSync(join(config.dir, 'cluster.json'), 'utf8')) as { nodes?: { id: number; apiPort?: unknown }[] };
    apiPort = raw.nodes?.find((x) => x.id === party)?.apiPort;
  } catch {
    /* no file: defaults */
  }
  if (apiPort !== undefined) {
    if (!Number.isInteger(apiPort) || (apiPort as number) < 1 || (apiPort as number) > 65535) throw new Error(`cluster config node ${party} (${n.name}): apiPort must be 1-65535`);
    return { host: n.host, port: apiPort as number };
  }
  return { host: n.host, port: n.port + 1000 };
}

// ---------------------------------------------------------------------------------------------
// Body layout

/** [u32 LE header length][header JSON] of a header (the layout is ./upload-body.ts). */
export function encodeUploadHeader(header: UploadHeader): Buffer {
  const b = encodeUploadHeaderBytes(header);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** [u32 LE header length][header JSON] for one party, with the custodian's signature when given; `seeded`: the body sends seeds for the halves it can (./upload-body.ts). */
export function uploadHeaderBytes(ds: ShareableDataset, party: PartyId, signature?: UploadSignature, seeded = false): Buffer {
  return encodeUploadHeader({ ...uploadHeader(ds, party), ...(seeded ? { seeded: true } : {}), ...(signature ? { signature } : {}) });
}

/** What signing an upload needs besides the dataset: who signs, for which cluster and version. */
export interface UploadAuth {
  signer: Signer;
  cluster: string;
  version: string;
  /** Signing time (default now). */
  time?: string;
}

/** The three parties' signatures given the SHA-256 of each party's share bytes. */
export function signUploadHeaders(ds: ShareableDataset, auth: UploadAuth, sharesSha256: string[]): UploadSignature[] {
  const time = auth.time ?? new Date().toISOString();
  return PARTIES.map((p) => signUploadHeader(uploadHeader(ds, p), { cluster: auth.cluster, version: auth.version, sharesSha256: sharesSha256[p]!, time }, auth.signer));
}

function checkDataset(ds: ShareableDataset): void {
  for (const c of ds.schema.columns) {
    const col = ds.columns.get(c.name);
    if (!col) throw new Error(`${ds.schema.name}: no data for column ${c.name}`);
    if (col.length !== ds.rows) throw new Error(`${ds.schema.name}.${c.name}: ${col.length} values for ${ds.rows} rows`);
  }
}

/** The byte view of a column (no copy). */
function bytesOf(c: BigUint64Array): Buffer {
  return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Sharing

/** Identifies the upload a share belongs to (input to the derivation of its randomness). */
export interface ShareContext {
  cluster: string;
  version: string;
}

/** The two 16-byte PRG seeds of x_0 and x_1 for one column. */
export function columnSeeds(key: Uint8Array, ctx: ShareContext, ds: ShareableDataset, column: string): [Uint8Array, Uint8Array] {
  if (key.length < 16) throw new Error('custodian key must be at least 16 bytes');
  const col = ds.columns.get(column)!;
  const digest = createHash('sha256').update(bytesOf(col)).digest('hex');
  const mac = createHmac('sha256', key)
    .update(JSON.stringify(['mosaik/ingest/share-seeds/v1', ctx.cluster, ds.schema.custodian, ds.schema.name, ctx.version, column, ds.rows, digest]))
    .digest();
  return [mac.subarray(0, 16), mac.subarray(16, 32)];
}

/** A share half of `rows` ring elements drawn from its seed (AES-128-CTR, src/ring/prg.ts), as a node expands it. */
export function drawHalf(seed: Uint8Array, rows: number): BigUint64Array {
  const h = new BigUint64Array(rows);
  new Prg(seed).fill(new Uint8Array(h.buffer));
  return h;
}

/** Replicated shares of x with x_0, x_1 drawn from the given seeds (x_2 = x − x_0 − x_1). */
export function splitSharesSeeded(x: BigUint64Array, seeds: [Uint8Array, Uint8Array]): ShareTriple {
  return sharesOf(x, drawHalf(seeds[0], x.length), drawHalf(seeds[1], x.length), sub);
}

/** Shares of one column: derived from the custodian key when given, else fresh (splitShares). */
export function shareColumn(ds: ShareableDataset, column: string, key: Uint8Array | undefined, ctx: ShareContext): ShareTriple {
  const x = ds.columns.get(column);
  if (!x) throw new Error(`${ds.schema.name}: no data for column ${column}`);
  return key ? splitSharesSeeded(x, columnSeeds(key, ctx, ds, column)) : splitShares(x);
}

/**
 * The three bodies in memory (tests and small datasets; uploadDataset streams instead); signed when
 * `auth` is given; with `seeds` (each column's seeds of x_0 and x_1, the ones its shares were drawn
 * from: splitSharesSeeded), seeded bodies.
 */
export function buildUploadBodies(ds: ShareableDataset, shares: ShareTriple[], auth?: UploadAuth, seeds?: [Uint8Array, Uint8Array][]): [Buffer, Buffer, Buffer] {
  checkDataset(ds);
  if (shares.length !== ds.schema.columns.length) throw new Error(`${shares.length} shared columns for ${ds.schema.columns.length} schema columns`);
  let sigs: UploadSignature[] | undefined;
  if (auth) {
    const hashes = PARTIES.map((p) => {
      const h = sharesHasher();
      for (const t of shares) (h.update(bytesOf(t[p].a)), h.update(bytesOf(t[p].b)));
      return h.digest();
    });
    sigs = signUploadHeaders(ds, auth, hashes);
  }
  return PARTIES.map((p) => {
    const mine = shares.map((t) => t[p]);
    return Buffer.concat([uploadHeaderBytes(ds, p, sigs?.[p], seeds !== undefined), seeds ? partySeededBytes(mine, seeds, p) : partyShareBytes(mine)]);
  }) as [Buffer, Buffer, Buffer];
}

/** Reads a body back: header and one share per column, seeded halves drawn (tests, diagnostics). */
export function parseUploadBody(body: Uint8Array): { header: UploadHeader; shares: AShare[] } {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const hlen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8')) as UploadHeader;
  const n = header.rows;
  let off = 4 + hlen;
  if (buf.length !== off + shareBodyLength(header)) throw new Error(`body has ${buf.length} bytes, expected ${off + shareBodyLength(header)}`);
  const seeded = header.seeded ? seededHalves(header.party) : [false, false];
  const take = (half: 0 | 1) => {
    if (seeded[half]) {
      off += SEED_BYTES;
      return drawHalf(buf.subarray(off - SEED_BYTES, off), n);
    }
    const c = new BigUint64Array(n);
    new Uint8Array(c.buffer).set(buf.subarray(off, off + 8 * n));
    off += 8 * n;
    return c;
  };
  const shares = header.columns.map(() => {
    const a = take(0);
    return new AShare(a, take(1));
  });
  return { header, shares };
}

// ---------------------------------------------------------------------------------------------
// Custodian key and versions

/**
 * Reads the custodian's share key (64 hex digits), creating it (mode 0600) if absent and `create`.
 * Several uploads of one custodian may start at once (e.g. two registers in parallel): the key is
 * written whole to a file of this process's own and linked into place (atomic; EEXIST when another
 * process was first), so every process ends up with the one key and none reads a half-written file.
 */
export function loadCustodianKey(path: string, opts: { create?: boolean } = {}): { key: Uint8Array; created: boolean } {
  if (existsSync(path)) {
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${path}: not a custodian key (expected 64 hex digits)`);
    return { key: Buffer.from(hex, 'hex'), created: false };
  }
  if (!opts.create) throw new Error(`custodian key ${path} does not exist`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return loadCustodianKey(path); // another upload of this custodian made it first
  } finally {
    unlinkSync(tmp);
  }
  return { key, created: true };
}

// ---------------------------------------------------------------------------------------------
// Pinned HTTPS

export interface NodeFailure {
  party: PartyId;
  node: string;
  address: string;
  reason: string;
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly failures: NodeFailure[],
    /** Nodes that answered 201/200 (they store the version). */
    readonly stored: PartyId[],
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

const CERT_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeConnectError(e: NodeJS.ErrnoException, node: ResolvedNode): string {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused (is the node running, and is its API on this port?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host ${node.host} not found`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'ECONNRESET') return 'connection reset by the node';
  if (code === 'CERT_HAS_EXPIRED') return 'its TLS certificate has expired';
  if (CERT_ERRORS.has(code)) return `TLS authentication failed: the node did not present the certificate pinned for it in cluster.json (${code}; pinned SHA-256 ${node.fingerprint})`;
  if (/pins|fingerprint/.test(e.message)) return `TLS authentication failed: ${e.message}`;
  if (/SSL|TLS|protocol/i.test(code + e.message)) return `TLS handshake failed (TLS 1.3 required): ${e.message}`;
  return e.message;
}

/** A TLS 1.3 connection to a node's API that presents exactly its pinned certificate. */
function connectPinned(config: ClusterConfig, p: PartyId, timeoutMs: number): Promise<TLSSocket> {
  const node = config.nodes[p];
  const { host, port } = apiAddress(config, p);
  const mismatch = (fp: string | undefined) => new Error(`it presented a certificate with SHA-256 fingerprint ${fp ?? '(none)'}, but cluster.json pins ${node.fingerprint}`);
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['http/1.1'],
      // Trust exactly the pinned certificate when cluster.json carries it; the fingerprint decides in any case.
      ...pinnedTlsOptions(node),
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TLS connection within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const fp = sock.getPeerX509Certificate()?.fingerprint256;
      if (fp !== node.fingerprint) {
        sock.destroy();
        reject(new Error(`TLS authentication failed: ${mismatch(fp).message}`));
        return;
      }
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(describeConnectError(e, node)));
    });
  });
}

type Answer = JsonAnswer;

const readAnswer = (res: IncomingMessage): Promise<Answer> => readJsonAnswer(res, 1 << 20);

function errorText(a: Answer): string {
  const e = a.body && typeof a.body === 'object' && 'error' in a.body ? String((a.body as { error: unknown }).error) : typeof a.body === 'string' ? a.body.slice(0, 300) : JSON.stringify(a.body);
  const what = a.status === 409 ? 'HTTP 409 (other content under this version)' : `HTTP ${a.status}`;
  return `${what}${e ? `: ${e}` : ''}`;
}

/** One small JSON request over a pinned connection. */
async function getJson(config: ClusterConfig, p: PartyId, path: string, timeoutMs: number): Promise<Answer> {
  const sock = await connectPinned(config, p, timeoutMs);
  const { host, port } = apiAddress(config, p);
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port, path, method: 'GET', headers: { accept: 'application/json' }, createConnection: () => sock });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Upload

export interface UploadProgress {
  /** Bytes handed to the three connections so far, and in all. */
  sent: number;
  total: number;
  elapsedMs: number;
  bytesPerSecond: number;
}

export interface UploadOptions {
  config: ClusterConfig;
  dataset: ShareableDataset;
  version: string;
  /** Custodian key for derived (idempotent) shares; without it shares are fresh random. */
  key?: Uint8Array;
  /**
   * The custodian's Ed25519 signer: it signs every upload request (each node accepts uploads from
   * custodian identities only: src/node/access.ts), and for governed nodes each node's header also
   * carries a signed statement of the upload (src/ingest/upload-auth.ts). Its name must then be the
   * schema's custodian in the consortium. The statement needs a first pass over the shares (to
   * commit to each node's share bytes); without `key` the shares come from a random one-off key.
   */
  signer: Signer;
  onProgress?: (p: UploadProgress) => void;
  progressIntervalMs?: number;
  /** Connect timeout per node (and idle timeout of the uploads, at least 120 s). Default 30 000 ms. */
  timeoutMs?: number;
}

export interface NodeOutcome {
  party: PartyId;
  node: string;
  /** 201: stored now; 200: the node already held exactly this content. */
  status: 200 | 201;
  bytes: number;
}

export interface UploadResult {
  name: string;
  version: string;
  rows: number;
  nodes: NodeOutcome[];
  /** Bytes sent to each node. */
  bytes: number[];
  elapsedMs: number;
}

const SLICE = 4 << 20;

/** One streaming PUT. */
class Put {
  readonly req: ClientRequest;
  failure: string | null = null;
  answer: Answer | null = null;
  readonly done: Promise<void>;
  sent = 0;
  ended = false;
  aborted = false;
  /** The node answered (perhaps before the whole body was sent: a refusal at the header). */
  responded = false;

  constructor(private readonly sock: TLSSocket, host: string, port: number, path: string, length: number, timeoutMs: number, authorization: string) {
    this.req = httpsRequest({
      host,
      port,
      path,
      method: 'PUT',
      // keep-alive: a node that refuses the upload at its header answers at once and keeps reading
      // (dropping) the rest until this client stops; with "Connection: close" it would close the
      // connection after answering, and the bytes still in flight would reset it before this client
      // read the answer (EPIPE instead of the node's reason).
      headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(length), accept: 'application/json', connection: 'keep-alive' },
      createConnection: () => sock,
    });
    this.req.setTimeout(timeoutMs, () => this.req.destroy(new Error(`no progress for ${timeoutMs / 1000} s`)));
    this.done = new Promise((resolve) => {
      this.req.on('response', (res) => {
        this.responded = true; // stop sending: the node has decided
        readAnswer(res).then(
          (a) => {
            this.answer = a;
            // The node's reason, even if the connection broke while the rest of the body was in flight.
            if (a.status !== 200 && a.status !== 201) this.failure = errorText(a);
            // Answered: nothing more to send (the node drops what is in flight). The socket too:
            // kept alive, it would hold this process open until the node's keep-alive timeout.
            this.req.destroy();
            this.sock.destroy();
            resolve();
          },
          (e: Error) => {
            this.failure ??= `reading the answer failed: ${e.message}`;
            resolve();
          },
        );
      });
      this.req.on('error', (e: NodeJS.ErrnoException) => {
        if (this.responded) return; // the answer (being read) says why
        if (!this.aborted) this.failure ??= e.code === 'ECONNRESET' || e.code === 'EPIPE' ? `the node closed the connection (${e.code})` : e.message;
        resolve();
      });
      this.req.on('close', () => {
        if (this.responded) return; // the answer is being read
        if (!this.answer && !this.aborted) this.failure ??= 'the connection closed without an answer';
        resolve();
      });
    });
  }

  get stopped(): boolean {
    return this.failure !== null || this.answer !== null || this.aborted || this.responded;
  }

  /** Writes a buffer, waiting for the socket to drain (or the request to end). */
  async write(buf: Buffer): Promise<void> {
    if (this.stopped) return;
    this.sent += buf.length;
    if (this.req.write(buf)) return;
    await new Promise<void>((resolve) => {
      const go = () => {
        this.req.off('drain', go);
        this.req.off('close', go);
        resolve();
      };
      this.req.on('drain', go);
      this.req.on('close', go);
    });
  }

  end(): void {
    if (this.failure !== null || this.answer !== null || this.aborted || this.ended) return;
    this.ended = true;
    this.req.end();
  }

  abort(): void {
    if (this.answer || this.failure) return;
    this.aborted = true;
    this.req.destroy();
  }
}

/** Shares a validated dataset and uploads each node's share pair; throws UploadError naming every failed node. */
export async function uploadDataset(o: UploadOptions): Promise<UploadResult> {
  const { config, dataset: ds } = o;
  checkDataset(ds);
  const version = checkVersion(o.version);
  const timeoutMs = o.timeoutMs ?? 30_000;
  const t0 = performance.now();
  const name = ds.schema.name;
  const path = `/v1/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;

  // (1) Every node reachable, with its pinned certificate, before any share byte leaves; whether
  // it is governed (then each header carries the custodian's signed statement).
  let governed = false;
  const pre = await Promise.all(
    PARTIES.map(async (p): Promise<NodeFailure | null> => {
      try {
        const a = await getJson(config, p, '/v1/governance', timeoutMs);
        if (a.status === 200 && (a.body as { governed?: boolean })?.governed) governed = true;
        return a.status === 200 ? null : failure(config, p, errorText(a));
      } catch (e) {
        return failure(config, p, (e as Error).message);
      }
    }),
  );
  const down = pre.filter((f): f is NodeFailure => f !== null);
  if (down.length > 0) throw new UploadError(uploadErrorMessage(name, version, down, [], 'nothing was uploaded'), down, []);

  const ctx: ShareContext = { cluster: config.cluster, version };
  // Shares derived from a key (the custodian's, else a fresh one): reproducible for the signing pass
  // below, and each node's halves of x_0 and x_1 go as their seeds (./upload-body.ts).
  const key = o.key ?? randomBytes(32);
  let sigs: UploadSignature[] | undefined;
  if (governed) {
    const hashers = PARTIES.map(() => sharesHasher());
    for (const spec of ds.schema.columns) {
      const t = shareColumn(ds, spec.name, key, ctx);
      for (const p of PARTIES) (hashers[p]!.update(bytesOf(t[p].a)), hashers[p]!.update(bytesOf(t[p].b)));
    }
    sigs = signUploadHeaders(ds, { signer: o.signer, cluster: config.cluster, version }, hashers.map((h) => h.digest()));
  }

  // (2) Three concurrent streaming PUTs, one column's shares in memory at a time.
  const headers = PARTIES.map((p) => uploadHeaderBytes(ds, p, sigs?.[p], true));
  const columnNames = ds.schema.columns.map((c) => c.name);
  const lengths = headers.map((h, p) => h.length + shareBodyLength({ rows: ds.rows, columns: columnNames, party: p as PartyId, seeded: true }));
  const total = lengths.reduce((a, b) => a + b, 0);
  const socks = await Promise.allSettled(PARTIES.map((p) => connectPinned(config, p, timeoutMs)));
  const connectFailures = socks.flatMap((s, p) => (s.status === 'rejected' ? [failure(config, p as PartyId, (s.reason as Error).message)] : []));
  if (connectFailures.length > 0) {
    for (const s of socks) if (s.status === 'fulfilled') s.value.destroy();
    throw new UploadError(uploadErrorMessage(name, version, connectFailures, [], 'nothing was uploaded'), connectFailures, []);
  }
  const puts = PARTIES.map((p) => {
    const { host, port } = apiAddress(config, p);
    // A node may be busy for a while after the last byte (storing, fsync): allow it at least 2 minutes of silence.
    const authorization = signRequest({ method: 'PUT', path, audience: audienceOf(config.cluster, config.nodes[p].name) }, UNSIGNED_BODY, o.signer);
    return new Put((socks[p] as PromiseFulfilledResult<TLSSocket>).value, host, port, path, lengths[p]!, Math.max(timeoutMs, 120_000), authorization);
  });
  let lastReport = t0;
  const interval = o.progressIntervalMs ?? 1000;
  const report = (force = false) => {
    if (!o.onProgress) return;
    const now = performance.now();
    if (!force && now - lastReport < interval) return;
    lastReport = now;
    const sent = puts.reduce((a, q) => a + q.sent, 0);
    o.onProgress({ sent, total, elapsedMs: now - t0, bytesPerSecond: (sent * 1000) / Math.max(1, now - t0) });
  };
  const anyFailed = () => puts.some((q) => q.failure !== null);
  const writeAll = async (bufs: (Buffer | null)[]) => {
    await Promise.all(puts.map((q, p) => (bufs[p] ? q.write(bufs[p]!) : undefined)));
    report();
  };
  // As soon as one node fails, abort the uploads still in flight to the others.
  for (const q of puts) void q.done.then(() => {
    if (anyFailed()) for (const r of puts) if (!r.ended) r.abort();
  });
  await writeAll(headers);
  for (const spec of ds.schema.columns) {
    if (anyFailed()) break;
    const seeds = columnSeeds(key, ctx, ds, spec.name);
    const t = splitSharesSeeded(ds.columns.get(spec.name)!, seeds);
    for (const [h, half] of (['a', 'b'] as const).entries()) {
      // A node's half that is x_0 or x_1 goes as its seed; x_2 as its bytes, in slices.
      const asSeed = PARTIES.map((p) => halfSeeds(seeds, p)[h]);
      await writeAll(asSeed.map((s) => (s ? Buffer.from(s) : null)));
      const views = PARTIES.map((p) => (asSeed[p] ? null : bytesOf(t[p][half])));
      for (let off = 0; off < 8 * ds.rows && !anyFailed(); off += SLICE) {
        await writeAll(views.map((v) => v && v.subarray(off, Math.min(v.length, off + SLICE))));
      }
    }
  }
  if (!anyFailed()) for (const q of puts) q.end();
  else for (const q of puts) if (q.failure === null && !q.ended) q.abort();
  await Promise.all(puts.map((q) => q.done));
  report(true);

  const stored = PARTIES.filter((p) => puts[p]!.answer && (puts[p]!.answer!.status === 200 || puts[p]!.answer!.status === 201));
  const failures = PARTIES.flatMap((p) => (puts[p]!.failure !== null ? [failure(config, p, puts[p]!.failure!)] : []));
  const aborted = PARTIES.filter((p) => puts[p]!.aborted && !stored.includes(p));
  if (failures.length > 0 || stored.length < 3) {
    for (const p of aborted) failures.push(failure(config, p, 'upload aborted because another node failed (nothing stored there)'));
    const note =
      stored.length === 0
        ? 'no node stored this version'
        : `stored at ${stored.map((p) => config.nodes[p].name).join(', ')}; re-run with --version ${version} to complete (identical content is accepted again)`;
    throw new UploadError(uploadErrorMessage(name, version, failures, stored, note), failures, stored);
  }
  return {
    name,
    version,
    rows: ds.rows,
    nodes: PARTIES.map((p) => ({ party: p, node: config.nodes[p].name, status: puts[p]!.answer!.status as 200 | 201, bytes: lengths[p]! })),
    bytes: lengths,
    elapsedMs: performance.now() - t0,
  };
}

function failure(config: ClusterConfig, p: PartyId, reason: string): NodeFailure {
  const a = apiAddress(config, p);
  return { party: p, node: config.nodes[p].name, address: `https://${a.host}:${a.port}`, reason };
}

function uploadErrorMessage(name: string, version: string, failures: NodeFailure[], _stored: PartyId[], note: string): string {
  const lines = failures.map((f) => `  node ${f.party} (${f.node}, ${f.address}): ${f.reason}`);
  return `upload of ${name} version ${version} failed at ${failures.length} node${failures.length > 1 ? 's' : ''}:\n${lines.join('\n')}\n${note}`;
}
