// `npm run bench:record`: one patient's record among 1 M persons and 5 M hospital contacts (issue 15:
// target ≤ 3 s), on three node processes over mutually authenticated TLS on loopback, as the nodes
// run it (bench/record-job.ts). Prints one markdown table row per workload, with where the time goes.
//
//   npm run bench:record                                   # 1 M persons × 5 M contacts, 1 M keys; then + 5 M prescriptions
//   npm run bench:record -- --persons 100000 --contacts 500000 --prescriptions 0 --keys 1000
//   npm run bench:record -- --quick
//   npm run bench:record -- --uncached ...                 # without the id bits kept per version (as before)
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { runOnLocalCluster } from '../src/net/cluster.js';
import { createLocalCluster } from '../src/net/keys.js';
import type { RecordArgs, RecordResult } from './record-job.js';

const arg = (name: string) => process.argv.find((_, i) => process.argv[i - 1] === `--${name}`);
const quick = process.argv.includes('--quick');
const uncached = process.argv.includes('--uncached');
const given = ['persons', 'contacts', 'prescriptions', 'keys'].some((k) => arg(k) !== undefined);
const num = (name: string, dflt: number) => Number(arg(name) ?? dflt);
const workloads: RecordArgs[] = quick
  ? [{ persons: 20_000, contacts: 100_000, prescriptions: 0, keys: 20_000 }]
  : given
    ? [{ persons: num('persons', 1e6), contacts: num('contacts', 5e6), prescriptions: num('prescriptions', 0), keys: num('keys', 1e6) }]
    : [
        { persons: 1e6, contacts: 5e6, prescriptions: 0, keys: 1000 },
        { persons: 1e6, contacts: 5e6, prescriptions: 0, keys: 1e6 },
        { persons: 1e6, contacts: 5e6, prescriptions: 5e6, keys: 1e6 },
      ];
const M = (n: number) => (n >= 1e6 ? `${n / 1e6} M` : n >= 1e3 ? `${n / 1e3} k` : String(n));

async function main(): Promise<void> {
  const { dir } = await createLocalCluster(join(tmpdir(), 'mosaik-bench-record'));
  console.log(`# one patient's record — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('Three node processes on 127.0.0.1, TLS 1.3; time = slowest node; population, contacts (and prescriptions) with the demo schemas\' bounds and packing.\n');
  console.log('| persons | contacts | prescriptions | registered keys | time | CPU per node (max) | sent per node | where the time goes (wall time per step at each node) | id bits, once per version (wall, CPU per node) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const w of workloads) {
    const res = await runOnLocalCluster({ dir, job: { module: new URL('./record-job.js', import.meta.url).href, export: 'record', args: { ...w, uncached } }, timeoutMs: 900_000, recvTimeoutMs: 300_000 });
    const parts = res.map((r) => r.result as unknown as RecordResult);
    if (parts.some((x) => x.match !== 1)) throw new Error('the key check failed');
    const ms = Math.max(...parts.map((x) => x.ms));
    const sent = Math.max(...parts.map((x) => x.sent));
    const cpu = Math.max(...parts.map((x) => x.cpuMs));
    const steps = parts[0]!.phases.map((ph, k) => `${ph.replace(/ \d+ ms$/, '')} ${parts.map((x) => x.phases[k]!.match(/(\d+) ms$/)![1]).join('/')} ms`);
    const off = parts.every((x) => x.offline) ? `${(Math.max(...parts.map((x) => x.offline!.ms)) / 1000).toFixed(2)} s (CPU ${(Math.max(...parts.map((x) => x.offline!.cpuMs)) / 1000).toFixed(2)} s)` : 'none (uncached)';
    console.log(`| ${M(w.persons)} | ${M(w.contacts)} | ${M(w.prescriptions)} | ${M(w.keys)} | ${(ms / 1000).toFixed(2)} s | ${(cpu / 1000).toFixed(2)} s | ${(sent / 1e6).toFixed(0)} MB | ${steps.join(', ')} (rows kept: ${parts[0]!.kept.join(', ')}) | ${off} |`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
