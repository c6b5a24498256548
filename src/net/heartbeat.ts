// Heartbeats on the node channels: how a node tells a silent peer (stopped, hung, cut off) from a
// busy one within seconds, instead of after the 120 s receive timeout.
//
// Every link of a job's TLS channel (src/net/tls.ts) has a heartbeat: once a second each side sends
// its peer a small UDP datagram to the peer's MPC port number (UDP and TCP ports are apart), from a
// worker thread of its own. The worker keeps running while the node's main thread is busy with long
// local work (a sort, decrypting a register), so a busy peer still beats; a peer that is stopped
// (SIGSTOP), whose process hangs or whose network is cut, does not. The receiving worker writes the
// time of each authentic beat into shared memory, which the channel reads even after its own main
// thread was busy: no party blames a peer for its own pauses. A channel fails when neither a frame
// nor a beat came from a peer for `silenceMs` (default 10 s).
//
// Authenticity: each beat is [magic "MKHB" | link id (8) | sender party (1) | counter (8) |
// HMAC-SHA256 truncated to 16 bytes], keyed by 40 bytes exported from the link's TLS 1.3 session
// (RFC 8446 §7.5: an 8-byte link id and a 32-byte key only the two ends know). A beat with a wrong
// MAC, a counter not above the last one, or this node's own party as sender is dropped. A beat
// says only "alive": it carries no data, and forging one needs the session's secret.
//
// Heartbeats are armed per link by its first beat (one that arrives before this node has registered
// the link, as a peer's first beat often does, is kept a few seconds and counted once the link is
// registered): where datagrams do not get through (a firewall), the link keeps the receive timeout
// alone, and the node says so once. Once a peer's beats have got
// through on one link, the node's later links with that peer are armed from their start: a peer
// that stops before its first beat on a new link (a busy machine may take a second or more to
// send it) is still found silent after silenceMs. So that this holds for a daemon's first job too,
// each node also sends its peers a probe once a second from its start ([magic "MKHP" | sender
// party], no data): a peer whose probe got through counts as one whose beats get through. Until a
// link's first beat, the peer's probes also keep it alive: a peer whose main thread is busy (it
// registers a new link only when its TLS handshake is done) still probes from its worker, so it is
// not taken for hung; a stopped or hung process sends neither. A probe is not authenticated: a
// forged one can make a node arm its links from the start (fail a job after silenceMs where
// datagrams from that peer do not get through), or keep a link that never beat alive until the
// receive timeout; an attacker on the path could cause either by dropping or delaying traffic.

import { Worker } from 'node:worker_threads';

/** Slots of shared memory, one per link with a heartbeat (a node's concurrent jobs × 2 links). */
export const HEARTBEAT_SLOTS = 1024;
export const HEARTBEAT_INTERVAL_MS = 1000;

export interface HeartbeatLink {
  /** 8 bytes, the same at both ends (from the TLS exporter). */
  id: Uint8Array;
  /** 32 bytes, the same at both ends. */
  key: Uint8Array;
  /** Where the peer's heartbeats go: its host and MPC port (as a UDP port). */
  host: string;
  port: number;
  /** The peer's party (whose beats have got through before: see the module comment). */
  peer: number;
  /** This node's party (the sender byte of its beats). */
  me: number;
}

/** One node's heartbeat worker: sends and checks the beats of all its channels' links. */
export class Heartbeats {
  private readonly worker: Worker;
  private readonly heard: Float64Array;
  private readonly free: number[] = [];
  private closed = false;
  /** Peers whose beats have got through on some link (their new links are armed from the start). */
  private readonly heardFrom = new Set<number>();
  /** The worker could not bind its UDP port: no heartbeats at this node (receive timeouts only). */
  failure: string | null = null;

  private constructor(host: string, port: number, log: (msg: string) => void, probe?: { me: number; peers: { party: number; host: string; port: number }[] }) {
    // One slot per link (its last authentic beat), then one per party (its last probe).
    const shared = new SharedArrayBuffer((HEARTBEAT_SLOTS + 256) * 8);
    this.heard = new Float64Array(shared);
    for (let i = HEARTBEAT_SLOTS - 1; i >= 0; i--) this.free.push(i);
    this.worker = new Worker(new URL('./heartbeat-worker.js', import.meta.url), { workerData: { host, port, shared, slots: HEARTBEAT_SLOTS, intervalMs: HEARTBEAT_INTERVAL_MS, ...(probe ?? {}) } });
    this.worker.unref();
    const failed = (why: string) => {
      if (!this.failure) log(`WARNING: ${why}; a stopped or hung peer is detected by the receive timeout only`);
      this.failure = why;
    };
    this.worker.on('error', (e) => failed(`heartbeat worker: ${e.message}`));
    this.worker.on('message', (m: { error?: string; reached?: number }) => {
      if (m.error) failed(m.error);
      if (m.reached !== undefined) this.heardFrom.add(m.reached);
    });
  }

  /**
   * Starts the worker on this node's MPC address (UDP). With `probe` (this node's party and its
   * peers' MPC addresses) it probes the peers from the start, so that even the first job's links
   * are armed from their start once a peer's probe has got through.
   */
  static start(host: string, port: number, log: (msg: string) => void = () => {}, probe?: { me: number; peers: { party: number; host: string; port: number }[] }): Heartbeats {
    return new Heartbeats(host, port, log, probe);
  }

  /** Whether datagrams from this peer have reached this node (a probe or a beat). */
  reached(peer: number): boolean {
    return this.heardFrom.has(peer);
  }

  /**
   * Beats for a link until `stop`; `lastHeard()` is the time (ms, Date.now) of the peer's last
   * authentic beat, or before the first: if this peer's datagrams got through before, the later of
   * the link's start and the peer's last probe, else 0 (not armed).
   */
  register(link: HeartbeatLink): { lastHeard(): number; stop(): void } | null {
    if (this.closed || this.failure) return null;
    const slot = this.free.pop();
    if (slot === undefined) return null;
    this.heard[slot] = 0;
    const since = Date.now();
    this.worker.postMessage({ add: { slot, id: Buffer.from(link.id).toString('hex'), key: Buffer.from(link.key).toString('hex'), host: link.host, port: link.port, me: link.me } });
    let stopped = false;
    const lastHeard = () => {
      const t = this.heard[slot]!;
      if (t > 0) this.heardFrom.add(link.peer);
      if (t > 0) return t;
      // Before the link's first beat (the peer's main thread may be busy and not have registered
      // the link yet): armed from its start, and kept alive by the peer's probes, which its worker
      // sends whatever its main thread does; a stopped or hung process sends neither.
      return this.heardFrom.has(link.peer) ? Math.max(since, this.heard[HEARTBEAT_SLOTS + link.peer] ?? 0) : 0;
    };
    return {
      lastHeard: () => (stopped ? 0 : lastHeard()),
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.worker.postMessage({ remove: slot });
        this.free.push(slot);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
