// Three parties in one process: frames are copied between inboxes, so no party can alias
// another's buffers. Used by the tests; the protocols cannot tell it from TLS.
import { Channel, ChannelError, Inbox, PartyId } from './channel.js';

export interface MemoryNetworkOptions {
  /** Receive timeout per frame, ms (0 = none). */
  timeoutMs?: number;
  /** Hook to observe (or tamper with) every frame: return the bytes to deliver. */
  tap?: (from: PartyId, to: PartyId, data: Uint8Array) => Uint8Array;
}

class MemoryChannel implements Channel {
  readonly stats = { sent: 0, received: 0, frames: 0 };
  inboxes = new Map<PartyId, Inbox>();
  peers: MemoryChannel[] = [];
  private closed = false;

  constructor(readonly me: PartyId, private readonly opts: MemoryNetworkOptions) {
    for (const p of [0, 1, 2] as PartyId[]) if (p !== me) this.inboxes.set(p, new Inbox(`party ${p}`, opts.timeoutMs ?? 0));
  }

  send(to: PartyId, data: Uint8Array): void {
    if (to === this.me) throw new RangeError('a party does not send to itself');
    if (this.closed) throw new ChannelError(`party ${this.me} channel is closed`);
    const copy = data.slice();
    const delivered = this.opts.tap ? this.opts.tap(this.me, to, copy) : copy;
    this.stats.sent += data.byteLength;
    this.stats.frames++;
    const peer = this.peers[to]!;
    peer.stats.received += delivered.byteLength;
    queueMicrotask(() => peer.inboxes.get(this.me)!.push(delivered));
  }

  recv(from: PartyId): Promise<Uint8Array> {
    const box = this.inboxes.get(from);
    if (!box) throw new RangeError(`no channel from ${from} at party ${this.me}`);
    return box.take();
  }

  abort(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const err = new ChannelError(`party ${this.me} aborted: ${reason}`);
    for (const box of this.inboxes.values()) box.fail(err);
    for (const p of this.peers) if (p !== this) p.inboxes.get(this.me)!.fail(err);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Three connected in-memory channels, index = party id. */
export function memoryNetwork(opts: MemoryNetworkOptions = {}): [Channel, Channel, Channel] {
  const chans = [0, 1, 2].map((i) => new MemoryChannel(i as PartyId, opts));
  for (const c of chans) c.peers = chans;
  return chans as [MemoryChannel, MemoryChannel, MemoryChannel];
}
