// A party's products and AND rounds on more than one core (issue 16, "More cores per node"): worker
// threads over column chunks, each with its own TLS channel to the worker of the same number at the
// two other parties and its own PRG streams (Party.setup on that channel; Araki et al. CCS 2016,
// §2.1). A product of n lanes is split into W contiguous row ranges and worker w multiplies range w
// with its counterparts (§2.2 on each range), so the parties exchange the messages of W independent
// products, one round each, at the same time; an AND round's masking and exchange are split by
// words the same way (its local products stay on the party's thread). The columns live in
// SharedArrayBuffers, so a chunk is handed to a worker without a copy (a column that is not shared
// yet is copied once into one). A daemon keeps threads started ahead of its jobs (CoreSpares).
//
// Reveals: nothing more than the products themselves (nothing); each party learns the ports the
// others' workers listen on and how many workers they offer. All three parties must open their
// pools at the same point of their program (SPMD), as for any protocol step; they agree on the
// smallest worker count offered and the largest `minLanes`.
import { Worker } from 'node:worker_threads';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import { asShared, isShared, sharedCol, type Col } from '../ring/ring64.js';
import type { Cores, Party } from './party.js';
import { AShare } from './share.js';

/** Columns shorter than this stay on the party's own thread (a worker's round costs a message more). */
export const CORE_MIN_LANES = 1 << 16;

/** How a worker reaches its counterparts: the node's identity, as for its own channel. */
export interface CoreTls {
  config: ClusterConfig;
  me: PartyId;
  key: string;
  cert: string;
  /** Address the workers listen on (default: this node's host in the config). */
  listenHost?: string;
  /**
   * Ports the workers listen on, from–to (default: any the system gives): a worker takes the first
   * free one and gives it up once its counterparts are connected, so k workers take k ports per job
   * running at once. For firewalls between the nodes.
   */
  ports?: PortRange;
  connectTimeoutMs?: number;
  recvTimeoutMs?: number;
}

export interface CorePoolOptions {
  /** Workers this party offers (its cores); below 2 on any party, no pool is made. */
  workers: number;
  tls: CoreTls;
  /** Names the workers' channels '<cluster>/<channel>/core<k>' (unique per session, e.g. the job's id). */
  channel: string;
  minLanes?: number;
  /** Threads started ahead (a daemon's): taken from here instead of started when the pool opens. */
  spares?: CoreSpares;
}

/** Ports from–to, both included. */
export interface PortRange {
  from: number;
  to: number;
}

/** A range of a shared column's lanes (or words), as a worker receives it. */
export interface Range {
  buf: SharedArrayBuffer;
  /** Its first element's index in `buf`. */
  at: number;
  len: number;
}

/** One pair's rows for one worker: x's and y's halves, and where its product goes. */
export interface Piece {
  x: [Range, Range];
  y: [Range, Range];
  out: [Range, Range];
}

export type ToWorker = { type: 'listen'; cluster: string } | { type: 'connect'; ports: [number, number, number] } | { type: 'mul'; id: number; pieces: Piece[] } | { type: 'xchg'; id: number; z: Range; into: Range } | { type: 'close' } | { type: 'abort'; reason: string };
export type FromWorker = { type: 'port'; port: number } | { type: 'ready' } | { type: 'done'; id: number } | { type: 'error'; id?: number; message: string } | { type: 'closed' };

export interface CoreWorkerData {
  tls: CoreTls;
}

const startThread = (tls: CoreTls) => new Worker(new URL('./core-worker.js', import.meta.url), { workerData: { tls } satisfies CoreWorkerData });

/**
 * A node's worker threads started ahead of the jobs that take them (a thread loads its modules and
 * WebAssembly in ≈ 70 ms; bench/RESULTS.md, "Worker threads per node"): `count` idle threads, each
 * used by one job only, replaced in the background as soon as one is taken. They listen on no port
 * until a job names their channel; idle, they keep no process alive.
 */
export class CoreSpares {
  private readonly idle: Worker[] = [];
  private closed = false;

  constructor(
    private readonly tls: CoreTls,
    private readonly count: number,
  ) {
    this.refill();
  }

  /** k threads for one job: idle ones first, new ones for the rest. */
  take(k: number): Worker[] {
    const got = this.idle.splice(0, k);
    while (got.length < k) got.push(startThread(this.tls));
    for (const t of got) t.ref();
    this.refill();
    return got;
  }

  private refill(): void {
    while (!this.closed && this.idle.length < this.count) {
      const t = startThread(this.tls);
      t.unref();
      t.on('error', () => {}); // an idle thread that fails is dropped (below), never handed out
      t.once('exit', () => {
        const i = this.idle.indexOf(t);
        if (i >= 0) this.idle.splice(i, 1);
      });
      this.idle.push(t);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((t) => t.terminate()));
  }
}

/** Elements [from, to) of a shared view. */
const rangeOf = (v: Col | Uint32Array, from: number, to: number): Range => ({ buf: v.buffer as SharedArrayBuffer, at: v.byteOffset / v.BYTES_PER_ELEMENT + from, len: to - from });

/** n elements in w contiguous slices [from, to), one per worker (the last ones empty when n < w). */
function slices(n: number, w: number): [number, number][] {
  const per = Math.ceil(n / w);
  return Array.from({ length: w }, (_, t) => [Math.min(n, t * per), Math.min(n, (t + 1) * per)]);
}

/** The first failure among `threads` (a worker that failed or exited), or null. */
const firstFailure = (threads: CoreWorker[]): Error | null => threads.find((t) => t.failure)?.failure ?? null;

/** One worker thread: its messages, one operation at a time. */
class CoreWorker {
  private readonly waiting = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
  private nextId = 0;
  /** Why it can take no more work: it failed, or it exited (closed or not). */
  failure: Error | null = null;
  private onPort: ((port: number) => void) | null = null;
  private onReady: (() => void) | null = null;
  private onClosed: (() => void) | null = null;
  private onFail: ((e: Error) => void) | null = null;
  /** Stopped on purpose: its exit is no failure. */
  private stopping = false;
  private exited = false;

  constructor(
    readonly thread: Worker,
    readonly index: number,
  ) {
    thread.on('message', (m: FromWorker) => this.message(m));
    thread.on('error', (e) => this.fail(new Error(`core worker ${index}: ${e.message}`)));
    thread.on('exit', (code) => {
      this.exited = true;
      this.onClosed?.();
      // Work still waiting on a thread that is gone fails with it, closed on purpose or not.
      this.fail(new Error(this.stopping ? `core worker ${index} was closed` : `core worker ${index} exited (code ${code})`));
    });
  }

  private message(m: FromWorker): void {
    if (m.type === 'port') this.onPort?.(m.port);
    else if (m.type === 'ready') this.onReady?.();
    else if (m.type === 'closed') this.onClosed?.();
    else if (m.type === 'done') {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.ok();
    } else this.fail(new Error(m.message));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.onFail?.(e);
    for (const w of this.waiting.values()) w.fail(e);
    this.waiting.clear();
  }

  private until<T>(set: (ok: (v: T) => void) => void): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((ok, fail) => {
      set(ok);
      this.onFail = fail;
    });
  }

  /** Listens for its channel `cluster`; resolves with the port. */
  listen(cluster: string): Promise<number> {
    const port = this.until<number>((ok) => (this.onPort = ok));
    this.thread.postMessage({ type: 'listen', cluster } satisfies ToWorker);
    return port;
  }

  connect(ports: [number, number, number]): Promise<void> {
    const ready = this.until<void>((ok) => (this.onReady = ok));
    this.thread.postMessage({ type: 'connect', ports } satisfies ToWorker);
    return ready;
  }

  mul(pieces: Piece[]): Promise<void> {
    return this.op((id) => ({ type: 'mul', id, pieces }));
  }

  exchange(z: Range, into: Range): Promise<void> {
    return this.op((id) => ({ type: 'xchg', id, z, into }));
  }

  private op(m: (id: number) => ToWorker): Promise<void> {
    if (this.failure || this.stopping) return Promise.reject(this.failure ?? new Error(`core worker ${this.index} was closed`));
    const id = this.nextId++;
    return new Promise<void>((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.thread.postMessage(m(id));
    });
  }

  /** Ends the thread at once (not used, or after close). */
  stop(): Promise<number> {
    this.stopping = true;
    return this.thread.terminate();
  }

  /** Orderly close (its channel's queued frames written), or termination after `ms`. */
  async close(ms: number): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((ok) => {
      this.onClosed = ok;
      timer = setTimeout(ok, ms);
    });
    this.thread.postMessage({ type: 'close' } satisfies ToWorker);
    await closed;
    clearTimeout(timer);
    await this.stop();
  }

  abort(reason: string): void {
    this.thread.postMessage({ type: 'abort', reason } satisfies ToWorker);
  }
}

export class CorePool implements Cores {
  private constructor(
    private readonly threads: CoreWorker[],
    readonly minLanes: number,
    /** The ports this party's workers listened on until their counterparts connected. */
    readonly ports: readonly number[],
  ) {}

  get workers(): number {
    return this.threads.length;
  }

  /** The first of its workers' failures (a worker that failed or exited), if any. */
  private get failure(): Error | null {
    return firstFailure(this.threads);
  }

  /**
   * Opens a pool for the job on `net` (open below), puts it on the party, and aborts it when that
   * channel fails (e.g. a peer gone silent), so that no worker's round waits for a party that is gone.
   */
  static async attach(p: Party, net: { onFail?: (e: Error) => void }, o: CorePoolOptions): Promise<CorePool | null> {
    const pool = await CorePool.open(p, o);
    p.cores = pool;
    if (pool) net.onFail = (e) => void pool.abort(e.message);
    return pool;
  }

  /**
   * Agrees with the two other parties on how many workers to use (one message each way over
   * `p.net`: the smallest count offered), then, with two or more, starts them, exchanges their
   * ports (a second message each way) and connects each to its counterparts. Resolves with null
   * when some party offers fewer than two (all three then go on without a pool); a party that
   * offers one does not wait for the others' offers.
   */
  static async open(p: Party, o: CorePoolOptions): Promise<CorePool | null> {
    const peers = [p.next, p.prev];
    const send = (mine: unknown) => {
      const bytes = new TextEncoder().encode(JSON.stringify(mine));
      for (const q of peers) p.net.send(q, bytes);
    };
    const receive = async <T>(check: (m: T) => boolean): Promise<T[]> => {
      const got: T[] = [];
      for (const q of peers) {
        const m = JSON.parse(new TextDecoder().decode(await p.net.recv(q))) as T;
        if (!check(m)) throw new Error(`party ${q} sent a malformed worker offer`);
        got.push(m);
      }
      return got;
    };
    const offer = { workers: Math.max(1, Math.floor(o.workers)), minLanes: o.minLanes ?? CORE_MIN_LANES };
    send(offer);
    if (offer.workers < 2) {
      // One thread here means one thread everywhere, whatever the others offer: take theirs off the
      // channel without waiting for them (no round trip on the default path).
      for (const q of peers) p.net.recv(q).then(() => {}, () => {}); // a failed channel fails the job's next step
      return null;
    }
    const offers = await receive<typeof offer>((m) => Number.isInteger(m.workers) && m.workers >= 1 && Number.isInteger(m.minLanes) && m.minLanes >= 1);
    const w = Math.min(offer.workers, ...offers.map((m) => m.workers));
    if (w < 2) return null;
    const minLanes = Math.max(offer.minLanes, ...offers.map((m) => m.minLanes));
    const threads = (o.spares ? o.spares.take(w) : Array.from({ length: w }, () => startThread(o.tls))).map((t, k) => new CoreWorker(t, k));
    try {
      const ports = await Promise.all(threads.map((t, k) => t.listen(`${o.tls.config.cluster}/${o.channel}/core${k}`)));
      send(ports);
      const theirs = await receive<number[]>((m) => Array.isArray(m) && m.length === w && m.every((x) => Number.isInteger(x) && x > 0 && x < 65536));
      const portsOf = new Map<PartyId, number[]>([[p.id, ports], [p.next, theirs[0]!], [p.prev, theirs[1]!]]);
      await Promise.all(threads.map((t, k) => t.connect([portsOf.get(0)![k]!, portsOf.get(1)![k]!, portsOf.get(2)![k]!])));
      const failed = firstFailure(threads);
      if (failed) throw failed;
      return new CorePool(threads, minLanes, ports);
    } catch (e) {
      const failed = firstFailure(threads);
      for (const t of threads) t.abort(e instanceof Error ? e.message : String(e));
      await Promise.all(threads.map((t) => t.stop()));
      throw failed ?? e;
    }
  }

  /**
   * x · y of each pair: pair k's rows split into one contiguous range per worker, each range
   * multiplied by its worker with its counterparts (one round each, all at once). Each product goes
   * into into[k] when given (written in place when its halves are shared, else copied there).
   */
  async mulMany(pairs: [AShare, AShare][], into?: AShare[]): Promise<AShare[]> {
    if (this.failure) throw this.failure;
    const w = this.threads.length;
    const outs = pairs.map(([x, y], k) => {
      if (y.length !== x.length) throw new RangeError(`mulMany: lengths differ (${x.length} vs ${y.length})`);
      const o = into?.[k];
      if (o && o.length !== x.length) throw new RangeError(`mul: output has ${o.length} lanes, expected ${x.length}`);
      return o && isShared(o.a) && isShared(o.b) ? o : new AShare(sharedCol(x.length), sharedCol(x.length));
    });
    const cols = pairs.map(([x, y]) => [x.a, x.b, y.a, y.b].map(asShared) as [Col, Col, Col, Col]);
    const pieces: Piece[][] = this.threads.map(() => []);
    pairs.forEach(([x], k) => {
      const [xa, xb, ya, yb] = cols[k]!;
      slices(x.length, w).forEach(([from, to], t) => {
        const r = (c: Col) => rangeOf(c, from, to);
        if (to > from) pieces[t]!.push({ x: [r(xa), r(xb)], y: [r(ya), r(yb)], out: [r(outs[k]!.a), r(outs[k]!.b)] });
      });
    });
    await Promise.all(this.threads.map((t, k) => (pieces[k]!.length ? t.mul(pieces[k]!) : null)));
    if (!into) return outs;
    return into.map((o, k) => {
      if (o !== outs[k]) (o.a.set(outs[k]!.a), o.b.set(outs[k]!.b));
      return o;
    });
  }

  /** An AND round's exchange, by contiguous word ranges (one per worker). */
  async exchangeWords(z: Uint32Array, into: Uint32Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!isShared(z) || !isShared(into) || z.length !== into.length) throw new RangeError('exchangeWords: z and into must be shared and of one length');
    const parts = slices(z.length, this.threads.length);
    await Promise.all(this.threads.map((t, k) => {
      const [from, to] = parts[k]!;
      return to > from ? t.exchange(rangeOf(z, from, to), rangeOf(into, from, to)) : null;
    }));
  }

  /** Closes every worker's channel in order (the peers' workers close theirs too). */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close(10_000)));
  }

  /** Fails every worker's channel, so that the counterpart workers stop at once too. */
  async abort(reason: string): Promise<void> {
    for (const t of this.threads) t.abort(reason);
    await Promise.all(this.threads.map((t) => t.close(1_000)));
  }
}
