// One worker thread of a party's core pool (src/mpc/core-pool.ts): listens on a port of its own
// until the workers of the same number at the two other parties are connected over mutually
// authenticated TLS (the node's pinned keys, its own channel name), draws its own PRG seeds with
// them (Party.setup), then multiplies the row ranges it is given, in place in shared memory.
// Reveals: nothing (the products of Araki et al. CCS 2016, §2.2, on its ranges).
import { parentPort, workerData } from 'node:worker_threads';
import { type Channel } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import { connectTls, MpcListener } from '../net/tls.js';
import type { Col } from '../ring/ring64.js';
import { mul, mulMany } from './arith.js';
import { andExchange } from './boolean.js';
import type { CoreWorkerData, FromWorker, Piece, Range, ToWorker } from './core-pool.js';
import { Party } from './party.js';
import { AShare } from './share.js';

const { tls } = workerData as CoreWorkerData;
const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const col = (r: Range): Col => new BigUint64Array(r.buf, r.at * 8, r.len);
const share = (rs: [Range, Range]) => new AShare(col(rs[0]), col(rs[1]));
const words = (r: Range) => new Uint32Array(r.buf, r.at * 4, r.len);

// A thread may be started ahead of its job (CoreSpares): it listens only once told its channel.
let cluster = '';
let listener: MpcListener | null = null;
let net: Channel | null = null;
let party: Party | null = null;
const listenOn = (at: number) =>
  MpcListener.open({
    config: { ...tls.config, nodes: tls.config.nodes.map((n) => (n.id === tls.me ? { ...n, port: at } : n)) as ClusterConfig['nodes'] },
    me: tls.me,
    key: tls.key,
    cert: tls.cert,
    ...(tls.listenHost ? { listenHost: tls.listenHost } : {}),
  });
async function listen(name: string): Promise<void> {
  cluster = name;
  const range = tls.ports;
  if (!range) listener = await listenOn(0);
  else {
    // The first free port of the range (this node's other workers and jobs hold some of them).
    for (let at = range.from; at <= range.to && !listener; at++) {
      try {
        listener = await listenOn(at);
      } catch (e) {
        if (!/EADDRINUSE/.test((e as Error).message)) throw e;
      }
    }
    if (!listener) throw new Error(`no free port in ${range.from}-${range.to} for a worker thread (--worker-ports): each job with workers holds one port per worker until its counterparts have connected; give a wider range, or fewer --workers`);
  }
  post({ type: 'port', port: listener.port });
}
/** Stops accepting connections (resolves once the accepted ones have ended too). */
let unlisten: Promise<void> | null = null;
const stopListening = () => (unlisten ??= listener?.close() ?? Promise.resolve());

/** Operations run one after the other, in the order the party's thread sent them (SPMD). */
let queue: Promise<void> = Promise.resolve();

async function multiply(pieces: Piece[]): Promise<void> {
  const p = party!;
  if (pieces.length === 1) {
    const [q] = pieces;
    await mul(p, share(q!.x), share(q!.y), share(q!.out));
    return;
  }
  const z = await mulMany(p, pieces.map((q) => [share(q.x), share(q.y)]));
  pieces.forEach((q, k) => {
    col(q.out[0]).set(z[k]!.a);
    col(q.out[1]).set(z[k]!.b);
  });
}

async function finish(how: 'close' | { abort: string }): Promise<void> {
  if (net) {
    if (how === 'close') await net.close().catch(() => {});
    else net.abort(how.abort);
  }
  await stopListening();
  post({ type: 'closed' });
  port.close();
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'listen') listen(m.cluster).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
  else if (m.type === 'connect') {
    const config = { ...tls.config, cluster, nodes: tls.config.nodes.map((n) => ({ ...n, port: m.ports[n.id] })) as ClusterConfig['nodes'] };
    connectTls({ config, me: tls.me, key: tls.key, cert: tls.cert, listener: listener!, ...(tls.connectTimeoutMs !== undefined ? { connectTimeoutMs: tls.connectTimeoutMs } : {}), ...(tls.recvTimeoutMs !== undefined ? { recvTimeoutMs: tls.recvTimeoutMs } : {}) })
      .then(async (c) => {
        net = c;
        // Both counterparts are connected: nobody else may connect to this port from now on.
        void stopListening();
        party = await Party.setup(c);
        post({ type: 'ready' });
      })
      .catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
  } else if (m.type === 'mul' || m.type === 'xchg') {
    const work = () => (m.type === 'mul' ? multiply(m.pieces) : andExchange(party!, words(m.z), words(m.into)));
    queue = queue.then(() =>
      work().then(
        () => post({ type: 'done', id: m.id }),
        (e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          net?.abort(message);
          post({ type: 'error', id: m.id, message });
        },
      ),
    );
  } else if (m.type === 'close') void queue.then(() => finish('close'));
  else void finish({ abort: m.reason });
});
