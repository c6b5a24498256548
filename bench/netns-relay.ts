// The "wide-area" hop of the network benchmark (bench/netns.ts): a relay inside the benchmark's
// router namespace that forwards TCP connections and UDP datagrams to the nodes, holding every byte
// for a fixed one-way delay in each direction. This kernel has no netem qdisc, so the delay is added
// here in user space; the bandwidth limit is the kernel's (tbf on every node's veth, bench/netns.ts).
// What it cannot emulate: packet-level effects (loss, reordering, TCP's window growth over the
// delayed path; each TCP hop here has a sub-millisecond RTT). Bytes pass through unchanged (the
// nodes' TLS is end to end), so the relay sees only ciphertext.
//
//   node dist/bench/netns-relay.js --delay-ms 5 --tcp 4100=10.77.0.2:4100 --udp 4100=10.77.0.2:4100 …
// Prints "relay ready" once every listener is bound.
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';

interface Route {
  port: number;
  host: string;
  to: number;
}

function parseRoute(s: string): Route {
  const m = /^(\d+)=([^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`route '${s}': write <listen port>=<host>:<port>`);
  return { port: Number(m[1]), host: m[2]!, to: Number(m[3]) };
}

const args = process.argv.slice(2);
let delayMs = 0;
const tcp: Route[] = [], udp: Route[] = [];
for (let i = 0; i < args.length; i += 2) {
  const [k, v] = [args[i], args[i + 1]];
  if (v === undefined) throw new Error(`${k} needs a value`);
  if (k === '--delay-ms') delayMs = Number(v);
  else if (k === '--tcp') tcp.push(parseRoute(v));
  else if (k === '--udp') udp.push(parseRoute(v));
  else throw new Error(`unknown option ${k}`);
}
if (!(delayMs >= 0)) throw new Error('--delay-ms must be ≥ 0');

/** Bytes held for one direction before its source is paused (back pressure). */
const HIGH_WATER = 32 << 20;

/**
 * Forwards a → b, each chunk written `delayMs` after it arrived (in order). Without a delay the
 * chunk is written at once.
 */
function forward(a: Socket, b: Socket): void {
  const queue: { chunk: Buffer; due: number }[] = [];
  let held = 0, timer: NodeJS.Timeout | null = null, ended = false;
  const pressure = () => {
    if (held + b.writableLength > HIGH_WATER) a.pause();
    else if (a.isPaused()) a.resume();
  };
  const flush = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0]!.due <= now + 0.5) {
      const { chunk } = queue.shift()!;
      held -= chunk.length;
      b.write(chunk);
    }
    if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0]!.due - now));
    else if (ended) b.end();
    pressure();
  };
  b.on('drain', pressure);
  a.on('data', (chunk: Buffer) => {
    if (delayMs === 0) {
      b.write(chunk);
      pressure();
      return;
    }
    queue.push({ chunk, due: performance.now() + delayMs });
    held += chunk.length;
    if (!timer) timer = setTimeout(flush, delayMs);
    pressure();
  });
  a.on('end', () => {
    ended = true;
    if (!queue.length) b.end();
  });
}

let pending = tcp.length + udp.length;
const ready = () => {
  if (--pending === 0) console.log('relay ready');
};

for (const r of tcp) {
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: r.host, port: r.to, noDelay: true });
    // An error drops both sides; an orderly end is passed on after the bytes still held (forward).
    const kill = () => (client.destroy(), upstream.destroy());
    client.on('error', kill);
    upstream.on('error', kill);
    forward(client, upstream);
    forward(upstream, client);
  });
  server.listen(r.port, '0.0.0.0', ready);
}

for (const r of udp) {
  const sock = createSocket('udp4');
  sock.on('message', (msg) => {
    const send = () => sock.send(msg, r.to, r.host, () => {});
    if (delayMs === 0) send();
    else setTimeout(send, delayMs);
  });
  sock.bind(r.port, '0.0.0.0', ready);
}
if (pending === 0) console.log('relay ready');

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
