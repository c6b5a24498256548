// What a protocol needs from the network: ordered, reliable frames to and from each peer.
// Protocols are written once against this interface (SPMD); tests plug in memory channels,
// production plugs in mutually authenticated TLS (src/net/tls.ts).

export type PartyId = 0 | 1 | 2;
export const PARTIES: readonly PartyId[] = [0, 1, 2];

/** Raised at every party when the computation cannot go on (peer closed, timed out, sent garbage, aborted). */
export class ChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelError';
  }
}

export interface Channel {
  readonly me: PartyId;
  /** Queues one frame for `to`. Never blocks; the frame's bytes may be retained until written. */
  send(to: PartyId, data: Uint8Array): void;
  /**
   * The next frame from `from`, in order. Rejects with ChannelError on failure. With `into`, the
   * frame may be decoded straight into that buffer (then the result is `into` itself): a channel
   * does so when the frame has not started arriving and its length is into's. Otherwise the result
   * is a frame of its own, which the caller copies; `into` is never written then.
   */
  recv(from: PartyId, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * Optional: hands a received frame's buffer back for reuse once the protocol has copied what it
   * needed. The caller must not touch `frame` afterwards.
   */
  release?(frame: Uint8Array): void;
  /** Tells every peer the computation failed (so nobody waits), then closes. */
  abort(reason: string): void;
  /** Orderly close once all queued frames are written. */
  close(): Promise<void>;
  /** Bytes of payload sent to / received from peers so far (frame headers excluded). */
  readonly stats: { sent: number; received: number; frames: number };
}

/**
 * Receives `out` as consecutive frames of `sliceBytes` (the last one shorter) from `from`. Every
 * slice's receive is posted at once with its place in `out`, so a channel that can (TLS) decodes the
 * slices straight into place; a slice that had already arrived is copied and its frame released. A
 * slice of another length rejects with the error `wrong(got, want)` makes (lengths in bytes). Post it before computing and
 * sending the round's own slices; the returned promise is already guarded against an unhandled
 * rejection (await it for the error).
 */
export function recvSlices(net: Channel, from: PartyId, out: Uint8Array, sliceBytes: number, wrong: (got: number, want: number) => Error): Promise<void> {
  const slices: Promise<void>[] = [];
  for (let off = 0; off < out.byteLength; off += sliceBytes) {
    const into = out.subarray(off, Math.min(out.byteLength, off + sliceBytes));
    slices.push(
      net.recv(from, into).then((frame) => {
        if (frame === into) return;
        if (frame.byteLength !== into.byteLength) throw wrong(frame.byteLength, into.byteLength);
        into.set(frame);
        net.release?.(frame);
      }),
    );
  }
  const all = Promise.all(slices).then(() => {});
  all.catch(() => {});
  return all;
}

/** Per-peer FIFO of frames with waiting receivers; shared by the memory and TLS channels. */
export class Inbox {
  private readonly frames: Uint8Array[] = [];
  private readonly waiters: { resolve: (d: Uint8Array) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout }[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly describe: string,
    private readonly timeoutMs: number,
    /** When it says the peer is alive, a receive that timed out waits another timeout instead of failing. */
    private readonly alive: () => boolean = () => false,
  ) {}

  push(frame: Uint8Array): void {
    if (this.failure) return;
    const w = this.waiters.shift();
    if (w) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve(frame);
    } else this.frames.push(frame);
  }

  take(): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const w: (typeof this.waiters)[number] = { resolve, reject };
      if (this.timeoutMs > 0 && Number.isFinite(this.timeoutMs)) {
        const arm = () => {
          w.timer = setTimeout(() => {
            if (this.alive()) return arm();
            this.fail(new ChannelError(`timed out after ${this.timeoutMs} ms waiting for ${this.describe}`));
          }, this.timeoutMs);
        };
        arm();
      }
      this.waiters.push(w);
    });
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.frames.length = 0;
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
  }

  get failed(): Error | null {
    return this.failure;
  }
}
