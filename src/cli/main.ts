#!/usr/bin/env node
// The `mosaik` command.
//
//   mosaik keygen --out <dir> --name <node>      key pair + self-signed certificate for a node
//   mosaik local-cluster <dir>                    three nodes on 127.0.0.1: keys, free ports, cluster.json
//   mosaik node --dir <cluster> --party <i> --job <module>#<export> [--args <json>]
//                                                 run one job as node i and print its result (for now the
//                                                 node runs a single job and exits; the long-running
//                                                 daemon with share store and HTTP API comes later)
//   mosaik demo [--rows 100000]                   the end-to-end demo (see src/cli/demo.ts)
import { Command, InvalidArgumentError } from 'commander';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PartyId } from '../net/channel.js';
import { createLocalCluster, writeNodeKey } from '../net/keys.js';
import { runNodeJob } from '../node/worker.js';
import { DEFAULT_DEMO_DIR, runDemo } from './demo.js';

const int = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be an integer in ${min}..${max}`);
  return n;
};

const program = new Command();
program.name('mosaik').description('Privacy-preserving health-data research: three-party secret sharing over TLS').showHelpAfterError();

program
  .command('keygen')
  .description('create a node key pair (ECDSA P-256) and a self-signed certificate; the key file gets mode 0600')
  .requiredOption('--out <dir>', 'directory for <name>.key.pem and <name>.cert.pem')
  .requiredOption('--name <nodeName>', 'node name (certificate CN)')
  .option('--force', 'replace existing files')
  .action(async (o: { out: string; name: string; force?: boolean }) => {
    const k = await writeNodeKey(resolve(o.out), o.name, { overwrite: !!o.force });
    console.log(`private key:  ${k.keyPath}  (mode 0600; never leaves this node)`);
    console.log(`certificate:  ${k.certPath}`);
    console.log(`SHA-256 fingerprint (pin this in cluster.json at every node):\n  ${k.fingerprint}`);
  });

program
  .command('local-cluster')
  .description('create (or refresh) a three-node cluster on 127.0.0.1: keys (kept if present), free ports, cluster.json')
  .argument('<dir>', 'cluster directory')
  .action(async (dir: string) => {
    const lc = await createLocalCluster(dir);
    console.log(`cluster config: ${lc.configPath}`);
    for (const n of lc.config.nodes) console.log(`  party ${n.id}  ${n.name.padEnd(8)} 127.0.0.1:${n.port}  ${n.fingerprint}`);
  });

program
  .command('node')
  .description('run one job as one compute node over TLS and print its result as JSON (a single job for now; the long-running daemon comes later)')
  .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json and <dir>/<name>/ for this node')
  .requiredOption('--party <id>', 'this node\'s party id (0, 1 or 2)', int('party', 0, 2))
  .requiredOption('--job <module#export>', 'compiled ES module and exported job function, e.g. dist/src/cli/demo-job.js#demo')
  .option('--args <json>', 'JSON arguments for the job', '{}')
  .option('--key-dir <dir>', 'where this node\'s key and certificate are (default <dir>/<name>)')
  .option('--listen-host <addr>', 'address to listen on for the other nodes (default: this node\'s host in cluster.json)')
  .option('--recv-timeout <ms>', 'per-message receive timeout', int('recv timeout', 0), 120_000)
  .option('--connect-timeout <ms>', 'how long to wait for the other nodes', int('connect timeout', 1), 30_000)
  .action(async (o: { dir: string; party: number; job: string; args: string; keyDir?: string; listenHost?: string; recvTimeout: number; connectTimeout: number }) => {
    const hash = o.job.lastIndexOf('#');
    if (hash < 1) throw new InvalidArgumentError('--job must look like <module>#<export>');
    const mod = o.job.slice(0, hash);
    let args: unknown;
    try {
      args = JSON.parse(o.args);
    } catch {
      throw new InvalidArgumentError('--args must be JSON');
    }
    const r = await runNodeJob({
      dir: resolve(o.dir),
      party: o.party as PartyId,
      job: { module: mod.startsWith('file:') ? mod : pathToFileURL(isAbsolute(mod) ? mod : resolve(mod)).href, export: o.job.slice(hash + 1), args },
      ...(o.keyDir ? { keyDir: resolve(o.keyDir) } : {}),
      ...(o.listenHost ? { listenHost: o.listenHost } : {}),
      recvTimeoutMs: o.recvTimeout,
      connectTimeoutMs: o.connectTimeout,
      onProgress: (msg) => console.error(`party ${o.party}: ${msg}`),
    });
    console.log(JSON.stringify(r, null, 2));
  });

program
  .command('demo')
  .description('end-to-end demo: synthetic patients shared by a custodian, statistics computed by three TLS nodes')
  .option('--rows <n>', 'number of synthetic patients', int('rows', 1, 50_000_000), 100_000)
  .option('--dir <dir>', 'cluster directory', DEFAULT_DEMO_DIR)
  .option('--seed <n>', 'seed of the synthetic data', int('seed', 0, 2 ** 32 - 1), 2026)
  .option('--timeout <ms>', 'give up after this long', int('timeout', 1), 600_000)
  .option('--verbose', 'show the node processes\' output')
  .action(async (o: { rows: number; dir: string; seed: number; timeout: number; verbose?: boolean }) => {
    const ok = await runDemo({ dir: o.dir, rows: o.rows, seed: o.seed, timeoutMs: o.timeout, verbose: !!o.verbose, log: (l) => console.log(l) });
    if (!ok) process.exitCode = 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`mosaik: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
