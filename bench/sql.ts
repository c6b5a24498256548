// `npm run bench:sql`: the SQL forms of issue 17 at scale, on three node processes over mutually
// authenticated TLS on loopback (bench/sql-jobs.ts): the cohort comorbidity top 10 and the
// recurrent-contact query at 100 k, 1 M and 2 M hospital contacts. Prints a markdown table (and
// with --phases where each query's time goes) with the machine, the date and the load average.
//
//   npm run bench:sql                                   # both queries at 100 k, 1 M, 2 M contacts
//   npm run bench:sql -- --sizes 100000 --only recurrent --phases
//   npm run bench:sql -- --sizes 450000 --only t2d --again   # a second query over the same join
//   npm run bench:sql -- --sizes 450000 --only t2d-income --kept-exists   # its EXISTS's flag made first
//   npm run bench:sql -- --sizes 450000 --only t2d --in-order --flag-again   # … and again from its kept line-up
//   npm run bench:sql -- --sizes 450000 --only t2d --in-order   # registers in person order: the join merges
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnLocalCluster } from '../src/net/cluster.js';
import { createLocalCluster } from '../src/net/keys.js';
import { SQL_BENCH, type SqlJobResult } from './sql-jobs.js';

const arg = (name: string) => process.argv.find((_, i) => process.argv[i - 1] === name);
const sizes = (arg('--sizes') ?? '100000,1000000,2000000').split(',').map(Number);
const only = (arg('--only') ?? Object.keys(SQL_BENCH).join(',')).split(',');
const phases = process.argv.includes('--phases');
/** `--again`: time a second run of each query over the first one's line-up (the sort by person kept, src/node/lineup-cache.ts). */
const again = process.argv.includes('--again');
/** `--kept-exists`: make each query's EXISTS flags first (timed apart), then time the query joined without their registers (src/query/exists-flags.ts). */
const keptExists = process.argv.includes('--kept-exists') || process.argv.includes('--flag-again');
/** `--flag-again`: with --kept-exists, each flag made a second time from the first making's kept line-up (src/mpc/semi-merge.ts semiJoinAgain where the registers are in person order), timed apart. */
const flagAgain = process.argv.includes('--flag-again');
/** `--in-order`: the registers in person order, as `mosaik ingest` uploads them, so that their joins merge (src/mpc/merge.ts). */
const inOrder = process.argv.includes('--in-order');
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const { dir } = await createLocalCluster(join(tmpdir(), 'mosaik-bench-sql'));
  const jobs = new URL('./sql-jobs.js', import.meta.url).href;
  console.log(`# Mosaik SQL forms (issue 17) — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`Three node processes on 127.0.0.1, mutually authenticated TLS 1.3; time = slowest node, one run each${again ? ', the second run of each query (its join\'s line-up kept from the first)' : ''}${keptExists ? ', each query with its EXISTS flags made first (their making timed apart)' : ''}${inOrder ? ', registers in person order (joins merged)' : ''}. Load average at the start: ${load()}.\n`);
  for (const q of only) console.log(`- **${q}**: ${SQL_BENCH[q]!.what}`);
  console.log('\n| query | contacts | rows joined | time | sent per node (max) | load average (1/5/15 min) after | released |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- | --- |');
  for (const contacts of sizes) {
    for (const query of only) {
      const res = await runOnLocalCluster({ dir, job: { module: jobs, export: 'sqlQuery', args: { contacts, query, again, keptExists, flagAgain, inOrder } }, timeoutMs: 3_600_000, recvTimeoutMs: 1_200_000 });
      const parts = res.map((x) => x.result as unknown as SqlJobResult);
      const slowest = parts.reduce((a, b) => (b.ms > a.ms ? b : a));
      const sent = Math.max(...parts.map((x) => x.sent));
      const released = (parts[0]!.rows ?? []).map((r) => r.join(' ')).join('; ');
      console.log(`| ${query} | ${fmt(contacts)} | ${fmt(parts[0]!.n)} | ${(slowest.ms / 1000).toFixed(1)} s${slowest.flagsMs !== undefined ? ` (flags made first: ${(Math.max(...parts.map((x) => x.flagsMs!)) / 1000).toFixed(1)} s${slowest.flagsAgainMs !== undefined ? `; again from their kept line-up: ${(Math.max(...parts.map((x) => x.flagsAgainMs!)) / 1000).toFixed(2)} s` : ''})` : ''} | ${(sent / 2 ** 20).toFixed(0)} MiB | ${load()} | ${released.length > 120 ? `${released.slice(0, 120)}…` : released} |`);
      if (phases) console.error(`${query} at ${fmt(contacts)} contacts (node ${slowest.party}): ${slowest.steps.map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`).join('; ')}`);
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
