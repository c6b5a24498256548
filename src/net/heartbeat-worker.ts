// The heartbeat worker thread of src/net/heartbeat.ts: one UDP socket on the node's MPC address,
// a beat to every registered link's peer each interval, and each authentic beat received stamped
// into shared memory (slot of its link). Runs apart from the node's main thread on purpose: long
// local work there does not stop the beats.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

interface LinkEntry {
  slot: number;
  id: Buffer;
  key: Buffer;
  host: string;
  port: number;
  me: number;
  sent: bigint;
  /** Highest counter received from the peer. */
  got: bigint;
}

const MAGIC = Buffer.from('MKHB');
/** A node's probe to its peers, [magic "MKHP" | sender party (1)], sent each interval from the start: see heartbeat.ts. */
const PROBE = Buffer.from('MKHP');
const LEN = 4 + 8 + 1 + 8 + 16;
const { host, port, shared, slots, intervalMs, me, peers } = workerData as { host: string; port: number; shared: SharedArrayBuffer; slots: number; intervalMs: number; me?: number; peers?: { party: number; host: string; port: number }[] };
const heard = new Float64Array(shared);
const links = new Map<number, LinkEntry>();
const byId = new Map<string, LinkEntry>();

const mac = (key: Buffer, body: Buffer) => createHmac('sha256', key).update(body).digest().subarray(0, 16);

const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
sock.on('error', (e) => parentPort?.postMessage({ error: `heartbeats off: UDP ${host}:${port}: ${e.message}` }));
/** Peers whose probes have reached this node (reported to the main thread once each). */
const probed = new Set<number>();
sock.on('message', (msg) => {
  if (msg.length === 5 && msg.subarray(0, 4).equals(PROBE)) {
    const from = msg[4]!;
    if (from === me || !peers?.some((p) => p.party === from)) return;
    heard[slots + from] = Date.now(); // the peer's process runs (its worker probes), whatever its main thread does
    if (!probed.has(from)) {
      probed.add(from);
      parentPort?.postMessage({ reached: from });
    }
    return;
  }
  if (msg.length !== LEN || !msg.subarray(0, 4).equals(MAGIC)) return;
  const id = msg.subarray(4, 12).toString('hex');
  const l = byId.get(id);
  if (l) accept(l, msg, Date.now());
  else early(id, msg);
});

/** Stamps an authentic, fresh beat from the link's peer (arrived at `at`); drops any other. */
function accept(l: LinkEntry, msg: Buffer, at: number): void {
  if (msg[12] === l.me) return;
  if (!timingSafeEqual(mac(l.key, msg.subarray(0, LEN - 16)), msg.subarray(LEN - 16))) return;
  const n = msg.readBigUInt64LE(13);
  if (n <= l.got) return;
  l.got = n;
  heard[l.slot] = Math.max(heard[l.slot]!, at);
}

/**
 * Beats for links not registered here yet, kept a few seconds: a peer's first beat, sent the
 * moment its TLS handshake is done, often arrives before this node's main thread has registered
 * the same link. Dropping it would leave the link unarmed until the peer's next beat (up to an
 * interval later), so a peer stopped in between would never be found silent. Bounded: at most
 * EARLY_MAX datagrams, each kept EARLY_MS; they are checked (MAC, counter) only when their link is
 * added, and unknown ones are simply forgotten.
 */
const EARLY_MAX = 256;
const EARLY_MS = 10_000;
const pending: { id: string; msg: Buffer; at: number }[] = [];
function early(id: string, msg: Buffer): void {
  const now = Date.now();
  while (pending.length && (pending.length >= EARLY_MAX || now - pending[0]!.at > EARLY_MS)) pending.shift();
  pending.push({ id, msg: Buffer.from(msg), at: now });
}
sock.bind(port, host);

function beat(l: LinkEntry): void {
  const b = Buffer.alloc(LEN);
  MAGIC.copy(b, 0);
  l.id.copy(b, 4);
  b[12] = l.me;
  b.writeBigUInt64LE(++l.sent, 13);
  mac(l.key, b.subarray(0, LEN - 16)).copy(b, LEN - 16);
  sock.send(b, l.port, l.host, () => {});
}

function probe(): void {
  if (me === undefined) return;
  const b = Buffer.from([...PROBE, me]);
  for (const p of peers ?? []) sock.send(b, p.port, p.host, () => {});
}
sock.once('listening', probe);

setInterval(() => {
  for (const l of links.values()) beat(l);
  probe();
}, intervalMs);

parentPort?.on('message', (m: { add?: { slot: number; id: string; key: string; host: string; port: number; me: number }; remove?: number }) => {
  if (m.add) {
    const l: LinkEntry = { ...m.add, id: Buffer.from(m.add.id, 'hex'), key: Buffer.from(m.add.key, 'hex'), sent: BigInt(Date.now()) * 1000n, got: 0n };
    links.set(l.slot, l);
    byId.set(m.add.id, l);
    for (let i = 0; i < pending.length; ) {
      const e = pending[i]!;
      if (e.id !== m.add.id) i++;
      else {
        pending.splice(i, 1);
        if (Date.now() - e.at <= EARLY_MS) accept(l, e.msg, e.at);
      }
    }
    beat(l); // at once: the peer arms its check with the first beat
  }
  if (m.remove !== undefined) {
    const l = links.get(m.remove);
    if (l) byId.delete(l.id.toString('hex'));
    links.delete(m.remove);
  }
});
