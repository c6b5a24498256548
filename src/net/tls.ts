// The production Channel: three node processes connected pairwise by mutually authenticated
// TLS 1.3 (node:tls), one length-prefixed frame per message (src/net/frame.ts).
//
// Authentication: nodes trust no CA. Each side presents its self-signed node certificate and
// checks, after the handshake, that the peer's certificate has exactly the SHA-256 fingerprint
// pinned for the party it expects in the cluster config (src/net/keys.ts). TLS 1.3's
// CertificateVerify proves the peer holds the matching private key.
//
// Setup: around the ring, each party connects to its successor (i + 1 mod 3) and accepts its
// predecessor, retrying with backoff until `connectTimeoutMs`, so start order does not matter.
// So every party reads its successor's messages (a product's, an AND's: most rounds) on a socket
// it created itself, the only kind Node lets read into one reused buffer (readIntoOwnBuffer).
// The connecting side sends a hello frame naming its party; the listening side checks that
// party's pinned certificate and answers with its own hello, or with an abort frame saying why it
// refused (then both sides fail at once; a pinning mismatch is a configuration error, not
// something to retry).
//
// Failure semantics: when a peer closes its connection without saying goodbye, dies, sends a
// malformed frame, sends an abort frame, or a recv waits longer than `recvTimeoutMs`, the whole
// channel fails: every pending and future recv rejects with one ChannelError that names the peer
// and the cause, and the other peer is sent an abort frame so it fails fast too. A peer that
// closed orderly (close(): bye frame) leaves its already received frames readable; only a recv
// beyond them fails. No socket 'error' event is left unhandled.
//
// Data path: a frame of up to 1 MiB is copied with its header into one buffer; a larger payload is
// never concatenated with its header (see Link.write), so the socket may hold a reference to it
// until it is written: do not modify a buffer after sending it (the Channel contract). A link hands
// the socket one buffer at a time (Link.put), so that no payload is copied again on its way to TLS.
// A receive lands in a buffer of the frame's length (src/net/frame.ts): the column recv was given,
// or a fresh or released one; on a socket of our own TLS decrypts the payload straight into it
// (readIntoOwnBuffer). send() never blocks; close() waits until everything
// queued has been written (dropping a socket only when it stops making progress).
import type { OnReadOpts } from 'node:net';
import { connect as tlsConnect, createServer, type TLSSocket, type Server, type ConnectionOptions } from 'node:tls';
import { Channel, ChannelError, Inbox, PartyId, PARTIES } from './channel.js';
import { BufferPool, encodeHeader, FrameDecoder, Kind, kindName, MAX_CONTROL_BYTES, MAX_FRAME_BYTES, type Frame } from './frame.js';
import type { ClusterConfig, ResolvedNode } from './keys.js';
import type { Heartbeats } from './heartbeat.js';

export interface TlsChannelOptions {
  config: ClusterConfig;
  me: PartyId;
  /** This node's private key and certificate (PEM). The certificate must be the one pinned for `me`. */
  key: string;
  cert: string;
  /** Per-recv timeout in ms (0 = wait forever). Default 120 000. */
  recvTimeoutMs?: number;
  /** Give up connecting to the peers after this long. Default 30 000. */
  connectTimeoutMs?: number;
  /** Largest data frame accepted. Default 1 GiB. */
  maxFrameBytes?: number;
  /** close() drops a socket that stops making progress (see TlsChannel.shutdown) after this long. Default 10 000. */
  closeTimeoutMs?: number;
  /** Address to listen on; default: this node's host in the config. */
  listenHost?: string;
  /** The node's long-lived listener on its MPC port (concurrent jobs); without it, connectTls listens itself for this one channel. */
  listener?: MpcListener;
  /** The node's heartbeat worker (src/net/heartbeat.ts): a peer silent for silenceMs fails the channel. */
  heartbeats?: Heartbeats;
  /** Neither a frame nor a heartbeat from a peer for this long fails the channel (default 10 000 ms; heartbeats only). */
  silenceMs?: number;
}

/** Ciphers: AES-128-GCM first (AES-NI makes it the fastest); TLS 1.3 only. */
const TLS_BASE = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
} as const;

interface Hello {
  mosaik: 1;
  cluster: string;
  party: PartyId;
}

const describeNode = (n: ResolvedNode) => `party ${n.id} (${n.name} at ${n.host}:${n.port})`;
const shortNode = (n: ResolvedNode) => `party ${n.id} (${n.name})`;

/** Payloads above this are written in two parts (see Link.write); one TLS record holds 16 KiB. */
const SPLIT_AT = 16384 - 12;
/** Payloads up to this go out in one write with their header (see Link.write). */
const ONE_WRITE_MAX = 1 << 20;
/** Queued writes up to this size are coalesced into one (see Link.put); larger ones go alone. */
const COALESCE_MAX = 1 << 16;

/** One authenticated TLS connection to one peer. */
class Link {
  sendSeq = 0;
  /** Peer said goodbye: no more frames will come from it. */
  bye = false;
  /** We are shutting this link down on purpose; its close is not a failure. */
  closing = false;
  lastError: Error | null = null;
  readonly closed: Promise<void>;
  /** Frames handed to the inbox / recv calls made, to fail only once a closed peer's frames are used up. */
  pushed = 0;
  taken = 0;
  /** Data frames whose decoding has started, and buffers recv was given for frames not yet started (by index). */
  started = 0;
  readonly targets = new Map<number, Uint8Array>();
  /** Data frames decoded straight into a buffer recv was given. */
  inPlace = 0;
  /** Payload bytes TLS decrypted straight into their frame's buffer (a socket of our own: readIntoOwnBuffer). */
  readInPlace = 0;
  /** Frames that arrived while nobody was listening (e.g. right behind the hello, in the same TLS record). */
  readonly early: Frame[] = [];
  onFrame: (f: Frame) => void = this.hold();
  onClose: () => void = () => {};
  /** When bytes last arrived from the peer (Date.now). */
  lastData = Date.now();
  /** The link's heartbeat (src/net/heartbeat.ts), once attached to a channel of a node that has them. */
  heartbeat: { lastHeard(): number; stop(): void } | null = null;

  /** Keeps frames in `early` until a handler is installed (attach replays them). */
  hold(): (f: Frame) => void {
    return (f) => this.early.push(f);
  }

  constructor(
    /** Mutable: a listening node learns who connected from the hello. */
    public peer: ResolvedNode,
    readonly socket: TLSSocket,
    readonly decoder: FrameDecoder,
  ) {
    this.closed = new Promise((ok) => socket.once('close', () => ok()));
  }

  /** Buffers waiting for the socket's writes in progress to complete (see put). */
  private readonly queue: Uint8Array[] = [];
  /** end() was called: the socket ends once the queue is written; later writes are dropped. */
  private ending = false;

  write(kind: Kind, payload: Uint8Array, maxFrameBytes: number): void {
    const h = encodeHeader(kind, payload.byteLength, this.sendSeq, maxFrameBytes);
    this.sendSeq = (this.sendSeq + 1) >>> 0;
    const s = this.socket;
    if (s.destroyed || s.writableEnded || this.ending) return;
    if (payload.byteLength > ONE_WRITE_MAX) {
      // Large frame: the header and the first bytes of the payload in one small copy, then the
      // rest as one write of the caller's bytes, not copied. (Corked writes reach TLS as a writev,
      // which copies the whole payload into one buffer first; a lone 12-byte write would cost its
      // own TLS record and syscall.)
      // The queue keeps a reference to `payload` until it is written.
      const first = new Uint8Array(h.byteLength + SPLIT_AT);
      first.set(h);
      first.set(payload.subarray(0, SPLIT_AT), h.byteLength);
      this.put(first);
      this.put(payload.subarray(SPLIT_AT));
      return;
    }
    // Up to 1 MiB (an empty payload too): header and payload copied into one buffer, one write.
    // Two writes of one frame cost more than the copy: the second waits in the queue until the
    // first's completion reaches the event loop, which a node busy with the next round's incoming
    // data reached late.
    // A ring of 128 KiB frames (a 2^20-lane AND) paid about 4 ms every third round: 1.4 → 1.0 ms per
    // round, and a 2^20-lane 53-bit ripple adder 90 → 64 ms (bench/RESULTS.md, "One write per
    // frame"). (Corked, the two writes reach TLS as a writev, which copies as well but cost more CPU.)
    const one = Buffer.allocUnsafe(h.byteLength + payload.byteLength);
    one.set(h);
    one.set(payload, h.byteLength);
    this.put(one);
  }

  /**
   * Hands the socket one buffer at a time; what is sent while a write is in progress waits here.
   * Left to the socket, buffers written while one is in progress wait in its stream and then go to
   * TLS as one writev, which copies them all into one new buffer: a streamed round's 4 MiB slices,
   * up to 28 MiB per product of 2^22 lanes (bench/RESULTS.md, "Writes one at a time"). A buffer goes
   * straight to TLS when the socket holds nothing (its last write completed, as a write that fits
   * the kernel's socket buffer does at once), so a round's first slices are encrypted and sent
   * while the next ones are computed. Queued, a part above COALESCE_MAX goes alone and unchanged;
   * smaller ones waiting behind each other go as one write (one TLS record, one syscall).
   */
  private put(buf: Uint8Array): void {
    if (this.queue.length === 0 && this.socket.writableLength === 0) {
      this.socket.write(buf, this.wrote);
      return;
    }
    this.queue.push(buf);
  }

  private readonly wrote = (err?: Error | null): void => {
    const s = this.socket;
    if (err || s.destroyed) {
      this.queue.length = 0;
      return;
    }
    // Writes that complete at once leave the socket empty again: keep going until one is pending.
    while (this.queue.length > 0 && s.writableLength === 0) s.write(this.next(), this.wrote);
    if (this.queue.length === 0 && this.ending && !s.writableEnded) s.end();
  };

  /** The next write: a large part alone, or the small parts at the head of the queue as one buffer. */
  private next(): Uint8Array {
    const q = this.queue;
    let k = 0, bytes = 0;
    while (k < q.length && q[k]!.byteLength <= COALESCE_MAX && bytes + q[k]!.byteLength <= ONE_WRITE_MAX) bytes += q[k++]!.byteLength;
    if (k <= 1) return q.shift()!;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const b of q.splice(0, k)) {
      out.set(b, at);
      at += b.byteLength;
    }
    return out;
  }

  /** Bytes sent on this link and not yet written to the network (queued here or in the socket). */
  get unsent(): number {
    return this.queue.reduce((n, b) => n + b.byteLength, 0) + (this.socket.writableFinished ? 0 : this.socket.writableLength);
  }

  /** Ends the socket once everything queued is written. */
  end(): void {
    if (this.ending) return;
    this.ending = true;
    if (this.queue.length === 0) this.socket.end();
  }
}

/** A Channel over three mutually authenticated TLS 1.3 connections. Build with connectTls(). */
export class TlsChannel implements Channel {
  private readonly inboxes = new Map<PartyId, Inbox>();
  private readonly links = new Map<PartyId, Link>();
  readonly stats = ((links) => {
    const total = (of: (l: Link) => number) => [...links.values()].reduce((n, l) => n + of(l), 0);
    return {
      sent: 0, received: 0, frames: 0, framesReceived: 0,
      /** Data frames decoded straight into a buffer recv was given (counted by each link). */
      get framesInPlace(): number {
        return total((l) => l.inPlace);
      },
      /** Payload bytes decrypted straight into their frame's buffer, with no copy of ours. */
      get bytesReadInPlace(): number {
        return total((l) => l.readInPlace);
      },
    };
  })(this.links);
  private failure: ChannelError | null = null;
  private closing = false;
  private readonly maxFrameBytes: number;
  private readonly closeTimeoutMs: number;
  /** connectTls listens here so that a peer lost during setup fails the setup at once. */
  onFail?: (err: ChannelError) => void;

  private readonly heartbeats: Heartbeats | undefined;
  private readonly silenceMs: number;
  private silenceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly me: PartyId,
    readonly config: ClusterConfig,
    opts: { recvTimeoutMs?: number; maxFrameBytes?: number; closeTimeoutMs?: number; heartbeats?: Heartbeats; silenceMs?: number },
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
    this.heartbeats = opts.heartbeats;
    this.silenceMs = opts.silenceMs ?? 10_000;
    // With heartbeats, a receive waits as long as the peer is alive (long local work at a peer is
    // not silence); the timeout then only ends the wait for a peer that is alive but never sends.
    for (const p of PARTIES) if (p !== me) this.inboxes.set(p, new Inbox(shortNode(config.nodes[p]), opts.recvTimeoutMs ?? 120_000, () => this.beating(p)));
  }

  /** Whether peer p's heartbeat is armed and fresh. */
  private beating(p: PartyId): boolean {
    const hb = this.links.get(p)?.heartbeat;
    const t = hb?.lastHeard() ?? 0;
    return t > 0 && Date.now() - t < this.silenceMs;
  }

  /** Starts a link's heartbeat and the channel's silence check (once). */
  private watch(link: Link): void {
    if (!this.heartbeats) return;
    let km: Buffer;
    try {
      km = link.socket.exportKeyingMaterial(40, 'EXPORTER-mosaik-heartbeat-v1', Buffer.from(this.config.cluster));
    } catch {
      return;
    }
    link.heartbeat = this.heartbeats.register({ id: km.subarray(0, 8), key: km.subarray(8), host: link.peer.host, port: link.peer.port, me: this.me, peer: link.peer.id });
    if (this.silenceTimer) return;
    this.silenceTimer = setInterval(() => {
      const now = Date.now();
      for (const l of this.links.values()) {
        const beat = l.heartbeat?.lastHeard() ?? 0;
        if (beat === 0 || l.bye || l.closing) continue; // not armed (no beat yet from this peer), or going away
        const silent = now - Math.max(beat, l.lastData);
        if (silent > this.silenceMs) {
          this.fail(new ChannelError(`no sign of life from ${shortNode(l.peer)} for ${Math.round(silent / 1000)} s: neither data nor heartbeats (the node is stopped, hung or cut off)`), l);
          return;
        }
      }
    }, Math.min(1000, this.silenceMs / 4));
    this.silenceTimer.unref();
  }

  /** Stops heartbeats and the silence check (channel closed or failed). */
  private unwatch(): void {
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = undefined;
    for (const l of this.links.values()) l.heartbeat?.stop();
  }

  has(link: Link): boolean {
    return this.links.get(link.peer.id) === link;
  }

  /** Negotiated protocol and cipher per peer, e.g. { 1: 'TLSv1.3 TLS_AES_128_GCM_SHA256' }. */
  tlsInfo(): Record<number, string> {
    const out: Record<number, string> = {};
    for (const [p, l] of this.links) out[p] = `${l.socket.getProtocol()} ${l.socket.getCipher()?.standardName ?? '?'}`;
    return out;
  }

  /** Why the channel failed, if it did. */
  get failed(): ChannelError | null {
    return this.failure;
  }

  /** Called by connectTls once a peer is authenticated: from here on its frames go to its inbox. */
  attach(link: Link): void {
    const p = link.peer.id;
    this.links.set(p, link);
    const box = this.inboxes.get(p)!;
    link.onFrame = (f) => {
      switch (f.kind) {
        case Kind.Data:
          this.stats.received += f.payload.byteLength;
          this.stats.framesReceived++;
          link.pushed++;
          box.push(f.payload);
          return;
        case Kind.Abort:
          this.fail(new ChannelError(`${shortNode(link.peer)} aborted: ${new TextDecoder().decode(f.payload)}`), link);
          return;
        case Kind.Bye:
          link.bye = true;
          // Frames still queued stay readable; a recv beyond them (or one already waiting) fails.
          if (link.taken >= link.pushed) box.fail(this.closedError(link));
          return;
        default:
          this.fail(new ChannelError(`malformed frame from ${shortNode(link.peer)}: unexpected ${kindName(f.kind)} frame after setup`), link);
      }
    };
    link.onClose = () => {
      if (link.bye || link.closing || this.closing) return;
      const why = link.lastError ? link.lastError.message : 'the connection was closed without a goodbye (peer process ended or network failure)';
      this.fail(new ChannelError(`connection to ${shortNode(link.peer)} lost: ${why}`), link);
    };
    for (const f of link.early.splice(0)) link.onFrame(f);
    if (link.socket.destroyed) link.onClose();
    else this.watch(link);
  }

  private closedError(link: Link): ChannelError {
    return new ChannelError(`${shortNode(link.peer)} has closed its channel: no more frames will come from it`);
  }

  send(to: PartyId, data: Uint8Array): void {
    if (to === this.me) throw new RangeError('a party does not send to itself');
    const link = this.links.get(to);
    if (!link) throw new RangeError(`no channel to ${to} at party ${this.me}`);
    if (this.failure) throw this.failure;
    if (this.closing) throw new ChannelError(`party ${this.me} channel is closed`);
    if (link.bye) throw this.fail(this.closedError(link));
    if (data.byteLength > this.maxFrameBytes) {
      throw this.fail(new ChannelError(`party ${this.me} tried to send a frame of ${data.byteLength} bytes to ${shortNode(link.peer)}, above the maximum frame size of ${this.maxFrameBytes} bytes`));
    }
    link.write(Kind.Data, data, this.maxFrameBytes);
    this.stats.sent += data.byteLength;
    this.stats.frames++;
  }

  release(frame: Uint8Array): void {
    if (frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength) RECV_POOL.give(frame.buffer as ArrayBuffer);
  }

  recv(from: PartyId, into?: Uint8Array): Promise<Uint8Array> {
    const box = this.inboxes.get(from);
    const link = this.links.get(from);
    if (!box || !link) throw new RangeError(`no channel from ${from} at party ${this.me}`);
    if (link.bye && link.taken >= link.pushed) box.fail(this.closedError(link));
    // This call gets data frame number `taken` (the inbox is FIFO): if it has not started arriving,
    // the decoder writes it into `into`.
    if (into && into.byteLength > 0 && link.taken >= link.started) link.targets.set(link.taken, into);
    link.taken++;
    return box.take().catch((e: Error) => {
      if (this.closing) throw e;
      // A timeout or a closed peer: the computation cannot go on, so tell everyone.
      throw this.fail(e instanceof ChannelError ? e : new ChannelError(e.message));
    });
  }

  abort(reason: string): void {
    this.fail(new ChannelError(`party ${this.me} aborted: ${reason}`), undefined, reason);
  }

  /**
   * Fails the channel once (the first cause wins): every inbox rejects, and every peer still
   * connected (except `culprit`, whose link is broken) gets an abort frame carrying the cause.
   */
  fail(err: ChannelError, culprit?: Link, reason: string = err.message): ChannelError {
    if (this.failure) return this.failure;
    this.failure = err;
    this.unwatch();
    this.onFail?.(err);
    for (const box of this.inboxes.values()) box.fail(err);
    const payload = new TextEncoder().encode(reason.slice(0, 4000));
    for (const link of this.links.values()) {
      link.closing = true;
      if (link !== culprit && !link.socket.destroyed) {
        try {
          link.write(Kind.Abort, payload, this.maxFrameBytes);
        } catch {
          /* the socket is going away anyway */
        }
      }
      this.shutdown(link, link === culprit);
    }
    return err;
  }

  /**
   * Ends a link after everything queued on it is written. Frames still queued may be large and
   * the peer slow, so the socket is dropped only when it stops making progress: no queued write
   * completes for closeTimeoutMs plus the time the pending bytes take at 10 MB/s, or, once all is
   * written, the peer does not close within closeTimeoutMs.
   */
  private shutdown(link: Link, now: boolean): void {
    const s = link.socket;
    if (now) {
      s.destroy();
      return;
    }
    link.end();
    let last = -1;
    let since = performance.now();
    const t = setInterval(() => {
      const pending = s.writableFinished ? 0 : link.unsent + 1;
      const at = performance.now();
      if (pending !== last) {
        last = pending;
        since = at;
      } else if (at - since > this.closeTimeoutMs + pending / 1e4) s.destroy();
    }, Math.min(this.closeTimeoutMs, 1000) / 2);
    t.unref();
    s.once('close', () => clearInterval(t));
  }

  /** Orderly close: a bye frame to each peer after everything queued, then wait (bounded) for the sockets to close. */
  async close(): Promise<void> {
    if (!this.closing && !this.failure) {
      this.closing = true;
      this.unwatch();
      for (const link of this.links.values()) {
        link.closing = true;
        link.write(Kind.Bye, new Uint8Array(0), this.maxFrameBytes);
        this.shutdown(link, false);
      }
      const err = new ChannelError(`party ${this.me} closed its channel`);
      for (const box of this.inboxes.values()) box.fail(err);
    }
    this.closing = true;
    await this.whenClosed();
  }

  /** Resolves when every socket has closed (after close() or a failure; a stalled socket is dropped after closeTimeoutMs without progress). */
  async whenClosed(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.closed));
  }
}

class SetupError extends ChannelError {
  constructor(
    message: string,
    /** Retrying cannot help (authentication or configuration). */
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

function onceFrame(link: Link, timeoutMs: number, what: string): Promise<Frame> {
  return new Promise((ok, fail) => {
    const s = link.socket;
    const t = setTimeout(() => done(new SetupError(`timed out after ${timeoutMs} ms waiting for ${what}`, false)), Math.max(1, timeoutMs));
    const onClose = () => done(new SetupError(`${what}: connection closed${link.lastError ? ` (${link.lastError.message})` : ''}`, false));
    function done(e: Error | null, f?: Frame) {
      clearTimeout(t);
      s.off('close', onClose);
      link.onFrame = link.hold();
      if (e) fail(e);
      else ok(f!);
    }
    const first = link.early.shift();
    if (first) return done(null, first);
    link.onFrame = (f) => done(null, f);
    s.once('close', onClose);
  });
}

/** Received payload buffers released by protocols (Channel.release), reused by every link's decoder. */
const RECV_POOL = new BufferPool(8);

/** Bytes of a connecting socket's receive buffer (`onread`): TLS hands over at most a 16 KiB record at a time. */
const READ_BUFFER_BYTES = 1 << 16;

/** Where a connecting socket's decrypted bytes go (set once its link is wired: wireLink's `fromOnread`). */
interface OwnReads {
  /** Bytes read into the socket's own buffer (frame headers and what follows them in a read). */
  to(chunk: Uint8Array): void;
  /** The rest of the payload being received, to be written in place; null between frames. */
  direct(): Uint8Array | null;
  /** n bytes were written at the start of what `direct` returned. */
  filled(n: number): void;
}

/**
 * TLS options that deliver a connecting socket's decrypted bytes without a Buffer and a 'data' event
 * per 16 KiB record (net.Socket's `onread`, which `tls.connect` takes). Before every read Node asks
 * where the bytes should go: inside a frame's payload, straight into that payload (the column a
 * protocol's recv gave, or the frame's own buffer), so TLS's one copy of the decrypted record is
 * the only one; between frames, one buffer of the socket's own, reused for every read, which the
 * decoder copies from before the callback returns. Node offers this only to sockets it creates
 * itself, so accepted sockets keep their 'data' events. The callback returns true: keep reading
 * (false would pause the socket).
 */
function readIntoOwnBuffer(): { onread: OnReadOpts; receive: OwnReads } {
  const receive: OwnReads = { to: () => {}, direct: () => null, filled: () => {} };
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return {
    onread: {
      buffer: () => receive.direct() ?? buffer,
      callback: (n: number, buf: Uint8Array) => (buf === buffer ? receive.to(buf.subarray(0, n)) : receive.filled(n), true),
    },
    receive,
  };
}

function wireLink(peer: ResolvedNode, socket: TLSSocket, maxFrameBytes: number, fromOnread?: OwnReads): Link {
  let link: Link;
  // Until the peer is authenticated it may only send small frames (no 1 GiB allocation on behalf of a stranger).
  const decoder = new FrameDecoder(shortNode(peer), (f) => link.onFrame(f), Math.min(maxFrameBytes, MAX_CONTROL_BYTES), RECV_POOL);
  link = new Link(peer, socket, decoder);
  decoder.into = (len) => {
    const k = link.started++;
    const t = link.targets.get(k);
    if (!t) return undefined;
    link.targets.delete(k);
    if (t.byteLength === len) link.inPlace++;
    return t;
  };
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 10_000);
  const decode = (step: () => void) => {
    link.lastData = Date.now();
    try {
      step();
    } catch (e) {
      link.lastError = e as Error;
      socket.destroy();
    }
  };
  const receive = (chunk: Uint8Array) => decode(() => decoder.push(chunk));
  if (fromOnread) {
    fromOnread.to = receive;
    fromOnread.direct = () => decoder.pending;
    fromOnread.filled = (n) => decode(() => ((link.readInPlace += n), decoder.filled(n)));
  } else socket.on('data', receive);
  socket.on('end', () => {
    try {
      decoder.end();
    } catch (e) {
      link.lastError = e as Error;
    }
  });
  socket.on('error', (e) => {
    link.lastError ??= e;
  });
  socket.once('close', () => link.onClose());
  return link;
}

const helloBytes = (h: Hello) => new TextEncoder().encode(JSON.stringify(h));

function parseHello(f: Frame, from: string): Hello {
  if (f.kind === Kind.Abort) {
    const why = new TextDecoder().decode(f.payload);
    // "Not open yet" (the peer's job has not reached its channel setup): retry, do not fail.
    throw new SetupError(`${from} refused the connection: ${why}`, !why.startsWith(NOT_OPEN));
  }
  if (f.kind !== Kind.Hello) throw new SetupError(`${from} sent a ${kindName(f.kind)} frame instead of hello`, true);
  let h: Hello;
  try {
    h = JSON.parse(new TextDecoder().decode(f.payload)) as Hello;
  } catch {
    throw new SetupError(`${from} sent a malformed hello`, true);
  }
  if (h?.mosaik !== 1 || ![0, 1, 2].includes(h.party)) throw new SetupError(`${from} sent a malformed hello`, true);
  return h;
}

function peerFingerprint(socket: TLSSocket): string | null {
  const c = socket.getPeerX509Certificate();
  return c ? c.fingerprint256 : null;
}

/** How a listener's refusal of a channel it has not opened (yet) begins: the connecting peer retries. */
const NOT_OPEN = 'not open yet: ';

/** A link for a socket that connected to us; who it is, its hello tells. */
function acceptLink(socket: TLSSocket, maxFrameBytes: number): Link {
  const who: ResolvedNode = { id: -1 as PartyId, name: 'unidentified client', host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0, fingerprint: '' };
  return wireLink(who, socket, maxFrameBytes);
}

/** The first frame of an accepted link as a hello, or why it is not one. */
function readHello(link: Link, timeoutMs: number): Promise<Hello | string> {
  const from = `client at ${link.peer.host}:${link.peer.port}`;
  return onceFrame(link, timeoutMs, `hello from a ${from}`).then((f) => {
    try {
      return parseHello(f, from);
    } catch (e) {
      return (e as Error).message;
    }
  });
}

/** Refuses an accepted link with an abort frame carrying the reason, then closes it. */
function refuseLink(link: Link, msg: string, maxFrameBytes: number): void {
  link.write(Kind.Abort, new TextEncoder().encode(msg), maxFrameBytes);
  link.end();
  setTimeout(() => link.socket.destroy(), 1000).unref();
}

/**
 * A node's one listener on its MPC port, for all of its jobs at once: each job's channel
 * (connectTls with `listener`) registers the cluster name that binds it to the job, and the
 * listener hands it the links whose hello names that channel. A hello for a channel nobody here
 * opens (yet) is refused without failing anything: the peer retries until this node's job opens
 * it or the peer's connect timeout passes.
 */
export class MpcListener {
  private readonly server: Server;
  private readonly channels = new Map<string, (link: Link, h: Hello, refuse: (msg: string) => void) => void>();

  private constructor(
    private readonly config: ClusterConfig,
    private readonly me: PartyId,
    key: string,
    cert: string,
    private readonly maxFrameBytes: number,
  ) {
    this.server = createServer({ ...TLS_BASE, key, cert, requestCert: true, rejectUnauthorized: false, honorCipherOrder: true }, (socket) => {
      const link = acceptLink(socket, this.maxFrameBytes);
      readHello(link, 10_000).then(
        (r) => {
          const refuse = (msg: string) => refuseLink(link, msg, this.maxFrameBytes);
          if (typeof r === 'string') return refuse(r);
          const take = this.channels.get(r.cluster);
          if (!take) return refuse(`${NOT_OPEN}${shortNode(this.config.nodes[this.me])} has not opened channel "${r.cluster}" (yet)`);
          take(link, r, refuse);
        },
        () => link.socket.destroy(),
      );
    });
    this.server.on('tlsClientError', () => {});
  }

  /** Listens on this node's MPC port (all of its jobs' channels arrive here). */
  static open(o: { config: ClusterConfig; me: PartyId; key: string; cert: string; listenHost?: string; maxFrameBytes?: number }): Promise<MpcListener> {
    const l = new MpcListener(o.config, o.me, o.key, o.cert, o.maxFrameBytes ?? MAX_FRAME_BYTES);
    const self = o.config.nodes[o.me];
    return new Promise((ok, fail) => {
      l.server.once('error', (e) => fail(new ChannelError(`${shortNode(self)} cannot listen on ${o.listenHost ?? self.host}:${self.port}: ${e.message}`)));
      l.server.listen(self.port, o.listenHost ?? self.host, () => ok(l));
    });
  }

  /** Routes the links of channel `cluster` to `take` until the returned function is called. */
  expect(cluster: string, take: (link: Link, h: Hello, refuse: (msg: string) => void) => void): () => void {
    if (this.channels.has(cluster)) throw new ChannelError(`channel "${cluster}" is already open at ${shortNode(this.config.nodes[this.me])}`);
    this.channels.set(cluster, take);
    return () => {
      if (this.channels.get(cluster) === take) this.channels.delete(cluster);
    };
  }

  /** The port it listens on (the one the OS chose when the config says 0). */
  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  close(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Opens this party's channel: listens for its predecessor, connects to its successor,
 * authenticates each by its pinned certificate, and resolves when both peers are connected.
 * Rejects with a ChannelError naming the party that could not be reached or authenticated.
 */
export async function connectTls(opts: TlsChannelOptions): Promise<TlsChannel> {
  const { config, me } = opts;
  const self = config.nodes[me];
  const maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  const deadline = Date.now() + connectTimeoutMs;
  const chan = new TlsChannel(me, config, opts);
  const tlsCommon = { ...TLS_BASE, key: opts.key, cert: opts.cert };
  const pending: Link[] = [];
  let server: Server | null = null;
  let acceptedCleanup = () => {};
  let setupFailed: SetupError | null = null;

  const predecessor = PARTIES[(me + 2) % 3]!;
  const successor = PARTIES[(me + 1) % 3]!;

  // Listening side: accept exactly the predecessor, with its pinned certificate.
  const accepted = new Promise<void>((resolveAll, rejectAll) => {
    let connected = false;
    /** The predecessor's hello for this channel: check it is expected and pinned, then attach. */
    const onHello = (link: Link, h: Hello, refuse: (msg: string, fatal: boolean) => void) => {
      const peer = config.nodes[h.party];
      const fp = peerFingerprint(link.socket);
      if (h.cluster !== config.cluster) return refuse(`${shortNode(peer)} belongs to cluster "${h.cluster}", expected "${config.cluster}"`, true);
      if (h.party !== predecessor || connected) return refuse(`${shortNode(peer)} is not expected to connect to ${shortNode(self)} (or is already connected)`, false);
      if (fp !== peer.fingerprint) {
        return refuse(`authentication of ${shortNode(peer)} failed: its certificate has SHA-256 fingerprint ${fp ?? '(no certificate)'}, but the cluster config pins ${peer.fingerprint}`, true);
      }
      connected = true;
      link.peer = peer;
      link.decoder.peer = shortNode(peer);
      link.decoder.maxFrameBytes = maxFrameBytes;
      chan.attach(link);
      link.write(Kind.Hello, helloBytes({ mosaik: 1, cluster: config.cluster, party: me }), maxFrameBytes);
      resolveAll();
    };
    const fatal = (msg: string) => rejectAll(new SetupError(`${shortNode(self)}: ${msg}`, true));
    if (opts.listener) {
      // The node's one MPC listener hands over the links that name this channel.
      acceptedCleanup = opts.listener.expect(config.cluster, (link, h, refuse) => {
        pending.push(link);
        onHello(link, h, (msg, isFatal) => {
          refuse(msg);
          if (isFatal) fatal(msg);
        });
      });
    } else {
      server = createServer({ ...tlsCommon, requestCert: true, rejectUnauthorized: false, honorCipherOrder: true }, (socket) => {
        const link = acceptLink(socket, maxFrameBytes);
        pending.push(link);
        readHello(link, deadline - Date.now()).then(
          (r) => {
            if (typeof r === 'string') return refuseLink(link, r, maxFrameBytes);
            onHello(link, r, (msg, isFatal) => {
              refuseLink(link, msg, maxFrameBytes);
              if (isFatal) fatal(msg);
            });
          },
          () => link.socket.destroy(),
        );
      });
      server.on('tlsClientError', () => {
        /* a failed handshake from someone: not a party we know; keep listening */
      });
      server.on('error', (e) => rejectAll(new SetupError(`${shortNode(self)} cannot listen on ${opts.listenHost ?? self.host}:${self.port}: ${e.message}`, true)));
      server.listen(self.port, opts.listenHost ?? self.host);
    }
    const t = setTimeout(() => {
      rejectAll(new SetupError(`${shortNode(self)}: ${describeNode(config.nodes[predecessor])} did not connect within ${connectTimeoutMs} ms`, false));
    }, Math.max(1, deadline - Date.now()));
    t.unref();
    const stopListening = acceptedCleanup;
    acceptedCleanup = () => {
      clearTimeout(t);
      stopListening();
    };
  });

  // Connecting side: one attempt after another until the peer answers or the deadline passes.
  const connectTo = async (p: PartyId): Promise<void> => {
    const peer = config.nodes[p];
    let delay = 25;
    let last = '';
    for (;;) {
      if (setupFailed) throw setupFailed;
      const left = deadline - Date.now();
      if (left <= 0) throw new SetupError(`${shortNode(self)} could not connect to ${describeNode(peer)} within ${connectTimeoutMs} ms${last ? `: ${last}` : ''}`, false);
      try {
        await attempt(peer, left);
        return;
      } catch (e) {
        if (e instanceof SetupError && e.fatal) throw e;
        last = (e as Error).message;
      }
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
      delay = Math.min(delay * 2, 100); // a refused connect is cheap; waiting long only delays the job
    }
  };

  const attempt = (peer: ResolvedNode, left: number) =>
    new Promise<void>((ok, fail) => {
      const own = readIntoOwnBuffer();
      // tls.connect takes every socket.connect() option, `onread` among them (Node's documentation).
      const connOpts: ConnectionOptions & { onread: OnReadOpts } = { ...tlsCommon, host: peer.host, port: peer.port, rejectUnauthorized: false, onread: own.onread };
      const socket = tlsConnect(connOpts);
      const link = wireLink(peer, socket, maxFrameBytes, own.receive);
      pending.push(link);
      let settled = false;
      const settle = (e: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        socket.off('close', onEarlyClose);
        if (e) {
          socket.destroy();
          fail(e);
        } else ok();
      };
      const onEarlyClose = () => settle(new SetupError(link.lastError?.message ?? 'connection closed during the TLS handshake', false));
      const t = setTimeout(() => settle(new SetupError(`TLS handshake with ${describeNode(peer)} timed out`, false)), left);
      socket.once('close', onEarlyClose);
      socket.once('secureConnect', () => {
        socket.off('close', onEarlyClose);
        const fp = peerFingerprint(socket);
        if (fp !== peer.fingerprint) {
          return settle(
            new SetupError(
              `authentication of ${describeNode(peer)} failed: it presented a certificate with SHA-256 fingerprint ${fp ?? '(none)'}, but the cluster config pins ${peer.fingerprint}`,
              true,
            ),
          );
        }
        link.decoder.maxFrameBytes = maxFrameBytes; // the server is authenticated: its frames may be large
        link.write(Kind.Hello, helloBytes({ mosaik: 1, cluster: config.cluster, party: me }), maxFrameBytes);
        onceFrame(link, deadline - Date.now(), `hello from ${shortNode(peer)}`).then(
          (f) => {
            try {
              const h = parseHello(f, shortNode(peer));
              if (h.party !== peer.id) throw new SetupError(`${describeNode(peer)} says it is party ${h.party}`, true);
            } catch (e) {
              return settle(e as Error);
            }
            chan.attach(link);
            settle(null);
          },
          (e: Error) => settle(e),
        );
      });
    });

  const outgoing = connectTo(successor).catch((e: SetupError) => {
    setupFailed ??= e;
    throw e;
  });
  const lost = new Promise<never>((_, reject) => {
    chan.onFail = (e) => reject(e);
  });
  lost.catch(() => {});
  try {
    await Promise.race([Promise.all([accepted, outgoing]), lost]);
  } catch (e) {
    const err = e instanceof ChannelError ? e : new ChannelError((e as Error).message);
    setupFailed ??= err instanceof SetupError ? err : new SetupError(err.message, true);
    // Tell the peers already connected, so they stop waiting too.
    chan.fail(new ChannelError(`setup failed at ${shortNode(self)}: ${err.message}`));
    for (const l of pending) if (!chan.has(l)) l.socket.destroy();
    await Promise.allSettled([outgoing]);
    throw new ChannelError(err.message);
  } finally {
    acceptedCleanup();
    (server as Server | null)?.close();
    chan.onFail = undefined;
  }
  return chan;
}
