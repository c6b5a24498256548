// The three nodes on separate hosts (issue 16, "Real networks"): each node in a network namespace of
// its own, joined to a router namespace by a veth pair that the benchmark makes (root and iproute2
// needed; nothing but the addresses it creates is used, and it removes them at the end).
//
//   mzb-n0 10.77.0.2 ─veth─ 10.77.0.1 ┐
//   mzb-n1 10.77.1.2 ─veth─ 10.77.1.1 ├ mzb-wan: relay (bench/netns-relay.ts), requester, custodians
//   mzb-n2 10.77.2.2 ─veth─ 10.77.2.1 ┘
//
// Every node's link is limited by the kernel (tbf on both ends of its veth: its uplink and its
// downlink). LAN (1 Gbit/s): the router namespace's kernel forwards between the links, nothing is
// added (the round trip is the two veth hops', measured by the 16-lane product). Between
// institutions (200 Mbit/s, 10 ms round trip): every connection and heartbeat between two nodes,
// and from the requester to a node, goes through the relay, which adds 5 ms in each direction
// (this kernel has no netem qdisc to delay packets).
// Workloads: multiplication and comparison throughput, the time of one round (a 16-lane product),
// the 1 M × 1 M join (bench/jobs.ts; join-sorted: both tables in id order, merged), and the main job's studies and statistics (`mosaik demo
// --no-web`, run in the router namespace).
//
//   node dist/bench/netns.js [--settings lan,wan] [--workloads round,mul,lt,join,join-sorted,studies] [--sizes 20]
//                            [--reps 5] [--citizens 100000]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withColumnMemory } from '../src/ring/column-memory.js';
import { createLocalCluster, setNodeHosts, type ClusterConfig } from '../src/net/keys.js';
import { apiPorts } from '../src/node/http.js';
import type { PartyId } from '../src/net/channel.js';
import type { CompareJobResult } from './compare/mosaik-jobs.js';
import type { JobResult as EngineJobResult } from './jobs.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};

interface Setting {
  id: 'lan' | 'wan';
  label: string;
  rate: string;
  burst: string;
  delayMs: number;
}
const SETTINGS: Record<string, Setting> = {
  lan: { id: 'lan', label: 'LAN: 1 Gbit/s, routed by the kernel, nothing added', rate: '1gbit', burst: '512kb', delayMs: 0 },
  wan: { id: 'wan', label: 'between institutions: 200 Mbit/s, 10 ms round trip (5 ms each way)', rate: '200mbit', burst: '256kb', delayMs: 5 },
};

const WAN = 'mzb-wan';
const nodeNs = (p: number) => `mzb-n${p}`;
const nodeAddr = (p: number) => `10.77.${p}.2`;
const routerAddr = (p: number) => `10.77.${p}.1`;
const PARTIES = [0, 1, 2] as const;
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./netns-relay.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const JOBS = fileURLToPath(new URL('./compare/mosaik-jobs.js', import.meta.url));
const ENGINE_JOBS = fileURLToPath(new URL('./jobs.js', import.meta.url));

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });

function removeTopology(): void {
  for (const ns of [WAN, ...PARTIES.map(nodeNs)]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* not there */
    }
  }
}

function makeTopology(): void {
  removeTopology();
  ip('netns', 'add', WAN);
  ip('-n', WAN, 'link', 'set', 'lo', 'up');
  execFileSync('ip', ['netns', 'exec', WAN, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  for (const p of PARTIES) {
    const ns = nodeNs(p), vn = `mzb-v${p}n`, vw = `mzb-v${p}w`;
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('link', 'add', vn, 'type', 'veth', 'peer', 'name', vw);
    ip('link', 'set', vn, 'netns', ns);
    ip('link', 'set', vw, 'netns', WAN);
    ip('-n', ns, 'addr', 'add', `${nodeAddr(p)}/24`, 'dev', vn);
    ip('-n', WAN, 'addr', 'add', `${routerAddr(p)}/24`, 'dev', vw);
    ip('-n', ns, 'link', 'set', vn, 'up');
    ip('-n', WAN, 'link', 'set', vw, 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', routerAddr(p));
  }
}

/** The setting's rate on both ends of every node's link. */
function shape(s: Setting): void {
  for (const p of PARTIES) {
    for (const [ns, dev] of [[nodeNs(p), `mzb-v${p}n`], [WAN, `mzb-v${p}w`]] as const) {
      execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', s.rate, 'burst', s.burst, 'latency', '100ms']);
    }
  }
}

/** Starts the relay (in the current namespace, or under `prefix`) for the nodes' MPC ports (TCP and UDP) and API ports `api` (TCP). */
function startRelay(config: ClusterConfig, delayMs: number, prefix: string[], api: number[] = []): Promise<ChildProcess> {
  const routes: string[] = [];
  for (const n of config.nodes) {
    routes.push('--tcp', `${n.port}=${nodeAddr(n.id)}:${n.port}`, '--udp', `${n.port}=${nodeAddr(n.id)}:${n.port}`);
    if (api[n.id]) routes.push('--tcp', `${api[n.id]}=${nodeAddr(n.id)}:${api[n.id]}`);
  }
  const words = [...prefix, process.execPath, RELAY, '--delay-ms', String(delayMs), ...routes];
  const child = spawn(words[0]!, words.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('relay ready')) ok(child);
    });
    child.once('exit', (code) => fail(new Error(`relay exited (${code})`)));
  });
}

/** The address a node is reached at: its own (routed by the kernel), or the relay's for it. */
const reachAt = (s: Setting, p: number) => (s.delayMs > 0 ? routerAddr(p) : nodeAddr(p));

/** A job (`mosaik node --job`) on the three namespaced nodes: each node's result. */
async function runJob<T>(dir: string, job: string, args: unknown): Promise<T[]> {
  const settled = await Promise.allSettled(PARTIES.map((p) => new Promise<string>((ok, fail) => {
    const child = spawn('ip', ['netns', 'exec', nodeNs(p), process.execPath, MAIN, 'node', '--dir', dir, '--party', String(p), '--job', job, '--args', JSON.stringify(args), '--listen-host', nodeAddr(p), '--recv-timeout', '600000', '--connect-timeout', '60000'], { stdio: ['ignore', 'pipe', 'pipe'], env: withColumnMemory() });
    let out = '', err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`node ${p} exited ${code}: ${err.trim()}`))));
  })));
  const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) throw new Error(failed.map((r) => (r.reason as Error).message).join('\n'));
  return settled.map((r) => (JSON.parse((r as PromiseFulfilledResult<string>).value) as { result: T }).result);
}

/** One op job (bench/compare/mosaik-jobs.ts `op`) on the three namespaced nodes; each run's time is its slowest node's. */
async function runOp(dir: string, op: 'mul' | 'lt', n: number, reps: number, bits: number): Promise<{ best: number; median: number; sent: number }> {
  const parts = await runJob<CompareJobResult>(dir, `${JOBS}#op`, { n, reps, op, bits });
  const runs = parts[0]!.ms.map((_, r) => Math.max(...parts.map((q) => q.ms[r]!)));
  const sorted = [...runs].sort((a, b) => a - b);
  return { best: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, sent: Math.max(...parts.map((q) => q.sent)) };
}

const fmtRate = (r: number) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(1)} k/s`);
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`);

/** Inside the router namespace: the main job with its nodes in theirs (started by runStudiesDemo under `ip netns exec`). */
async function innerStudies(): Promise<void> {
  const { runStudiesDemo } = await import('../src/cli/studies-demo.js');
  const setting = SETTINGS[arg('setting', 'lan')]!;
  const delayMs = setting.delayMs;
  let relay: ChildProcess | null = null;
  const dir = arg('dir', '');
  try {
    const ok = await runStudiesDemo({
      dir, citizens: Number(arg('citizens', '100000')), seed: 1, minCellSize: 5, verbose: false, log: (l) => console.log(l),
      network: {
        hosts: [reachAt(setting, 0), reachAt(setting, 1), reachAt(setting, 2)],
        listen: [nodeAddr(0), nodeAddr(1), nodeAddr(2)],
        prefix: (p: PartyId) => ['ip', 'netns', 'exec', nodeNs(p)],
        ready: async (config) => {
          if (delayMs > 0) relay = await startRelay(config, delayMs, [], apiPorts(config));
        },
      },
    });
    process.exitCode = ok ? 0 : 1;
  } finally {
    (relay as ChildProcess | null)?.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--inner-studies')) return innerStudies();
  if (process.getuid?.() !== 0) throw new Error('bench:netns makes network namespaces: run it as root (it needs `ip` from iproute2)');
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('bench:netns needs `ip` and `tc` from iproute2: apt-get install iproute2');
  }
  const settings = arg('settings', 'lan,wan').split(',').map((s) => {
    const x = SETTINGS[s];
    if (!x) throw new Error(`unknown setting ${s} (lan, wan)`);
    return x;
  });
  const workloads = arg('workloads', 'round,mul,lt,join,join-sorted,studies').split(',');
  const sizes = arg('sizes', '20').split(',').map((s) => 2 ** Number(s));
  const reps = Number(arg('reps', '5'));
  const citizens = Number(arg('citizens', '100000'));
  const work = mkdtempSync(join(tmpdir(), 'mosaik-netns-'));
  const stop = () => {
    removeTopology();
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => (stop(), process.exit(130)));
  process.once('SIGTERM', () => (stop(), process.exit(143)));
  console.log(`# Mosaik on three namespaced hosts — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`command: node dist/bench/netns.js ${process.argv.slice(2).join(' ')}`);
  try {
    makeTopology();
    const { dir, config } = await createLocalCluster(join(work, 'ops'));
    for (const s of settings) {
      shape(s);
      setNodeHosts(dir, PARTIES.map((p) => reachAt(s, p)));
      console.log(`\n## ${s.label}\n`);
      const relay = s.delayMs > 0 ? await startRelay(config, s.delayMs, ['ip', 'netns', 'exec', WAN]) : null;
      try {
        if (workloads.some((w) => w !== 'studies')) {
          console.log('| workload | n | best | median | throughput (best) | sent per node per element |');
          console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
        }
        if (workloads.includes('round')) {
          const r = await runOp(dir, 'mul', 16, Math.max(reps, 50), 64);
          console.log(`| one round (product of 16 lanes) | 16 | ${fmtMs(r.best)} | ${fmtMs(r.median)} | | |`);
        }
        for (const n of sizes) {
          for (const op of ['mul', 'lt'] as const) {
            if (!workloads.includes(op)) continue;
            const r = await runOp(dir, op, n, reps, op === 'lt' ? 63 : 64);
            console.log(`| ${op === 'mul' ? 'multiplication' : 'comparison (63-bit)'} | 2^${Math.log2(n)} | ${fmtMs(r.best)} | ${fmtMs(r.median)} | ${fmtRate(n / (r.best / 1000))} | ${(r.sent / n).toFixed(1)} B |`);
          }
        }
        for (const [w, sorted] of [['join', false], ['join-sorted', true]] as const) {
          if (!workloads.includes(w)) continue;
          // bench/jobs.ts join: two tables of 1 M rows on a shared key, one-to-one (80 % match), as `npm run bench -- --only join`
          // (join-sorted: both in id order, as custodians upload them, so merged: `--only join-sorted`).
          const parts = await runJob<EngineJobResult>(dir, `${ENGINE_JOBS}#join`, { n: 1e6, m: 1e6, sorted });
          const ms = Math.max(...parts.map((x) => x.ms));
          console.log(`| join 1 M × 1 M, one-to-one (80 % match)${sorted ? ', tables in id order (merged)' : ''} | 2 M rows | ${fmtMs(ms)} | | ${fmtRate(2e6 / (ms / 1000))} rows | ${(Math.max(...parts.map((x) => x.sent)) / 2e6).toFixed(0)} B per row (${Math.max(...parts.map((x) => x.frames))} messages) |`);
        }
      } finally {
        relay?.kill('SIGTERM');
      }
      if (workloads.includes('studies')) {
        console.log(`\nThe main job (\`mosaik demo --no-web\`, ${citizens.toLocaleString('en-US')} citizens; requester and custodians in the router namespace):\n`);
        const code = await new Promise<number>((ok) => {
          const child = spawn('ip', ['netns', 'exec', WAN, process.execPath, SELF, '--inner-studies', '--setting', s.id, '--citizens', String(citizens), '--dir', join(work, `demo-${s.id}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
          child.stdout!.on('data', (b: Buffer) => {
            for (const line of b.toString().split('\n')) if (/^(✔|✘|•|▸|  MPC |  .*converged|  .*Newton|  .*log-rank|  [\d.]+ s, )/.test(line)) console.log(line.slice(0, 400));
          });
          child.once('exit', (c) => ok(c ?? 1));
        });
        if (code !== 0) console.log(`(the main job exited with ${code})`);
      }
    }
  } finally {
    stop();
  }
}

await main();
