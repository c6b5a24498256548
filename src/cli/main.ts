#!/usr/bin/env node
// The `mosaik` command.
//
//   mosaik keygen --out <dir> --name <node>      key pair + self-signed certificate for a node
//   mosaik local-cluster <dir>                    three nodes on 127.0.0.1: keys, free ports, cluster.json
//   mosaik node --dir <cluster> --party <i>        run node i as a long-running daemon: share store and
//                                                 HTTPS API (src/node/daemon.ts); with --job <module>#<export>
//                                                 [--args <json>] it runs that one job instead and exits
//   mosaik query --dir <cluster> [--dataset <name>] "<sql>"
//                                                 submit a query, follow it, print the combined result
//   mosaik query --dir <cluster> --study <study.json> [--key <researcher key>] [--query-id <id>]
//                                                 the same for a governed cluster (a registered study)
//   mosaik stats <function> --dir <cluster> --data "<SQL>" --formula "y ~ x" [--family binomial] [--plot f.svg]
//                                                 a statistic (t.test, lm, glm, coxph, survfit, …) in MPC, printed as R
//                                                 prints it (src/cli/stats.ts); governed: --study <file> --query-id <id>
//   mosaik audit verify --dir <cluster> [--result <file>] [--log <nodeDir>]…
//                                                 check the transparency log (src/cli/audit.ts)
//   mosaik identity|consortium|policy|study|consent|usage …
//                                                 governance: keys, studies, approvals, consent (src/cli/governance.ts)
//   mosaik demo [--citizens 100000] [--consent] [--web-port <p> | --no-web]
//                                                 the main job, governed, then the web app (src/cli/studies-demo.ts)
//   mosaik demo --governed [--citizens 20000]     the governed flow step by step, each step with its
//                                                 command (src/cli/governed-demo.ts)
//   mosaik demo-engine [--rows 100000]            the engine alone on a patient table (src/cli/demo.ts)
//   mosaik citizen register|enrol …               citizen identities (src/cli/citizen.ts)
//   mosaik grant create|revoke|list, mosaik record, mosaik accesses
//                                                 a citizen's grants for a doctor, a patient's record (src/cli/record.ts)
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PartyId } from '../net/channel.js';
import { createLocalCluster, writeNodeKey } from '../net/keys.js';
import { ensureLocalIdentities } from '../governance/identities.js';
import { DEFAULT_PRIVACY } from '../node/privacy.js';
import { importDaemon } from './bundled.js';
import { COLUMN_MALLOC_ENV, growHeapForColumns, hasColumnMemory } from '../ring/column-memory.js';
import { useOpenSslEd25519 } from '../ledger/ed25519-openssl.js';
// What a command runs is imported when it runs (the daemon, the query client, the demos), and the
// commands of other modules are registered only when the command line may need them (below): a
// custodian's `mosaik ingest` starts in 0.35 s instead of 0.71 s, a node without the demos and clients.

/** Where the demos keep their clusters (relative to where mosaik is started). */
const DEFAULT_DEMO_DIR = resolve('.mosaik', 'demo');

const int = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be an integer in ${min}..${max}`);
  return n;
};

/** `from-to` (or one port), both included: e.g. 7100-7131. */
const portRange = (v: string) => {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(v);
  const from = m ? Number(m[1]) : NaN, to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(from >= 1 && to <= 65535 && from <= to)) throw new InvalidArgumentError('give from-to, e.g. 7100-7131 (ports 1..65535, from ≤ to)');
  return { from, to };
};

const num = (what: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a positive number`);
  return n;
};

// The CLI checks the log's co-signatures (audit, record) with OpenSSL; the browser keeps @noble/curves.
useOpenSslEd25519();

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
    console.log(`${k.signingKeyAdded ? 'added the missing ' : ''}Ed25519 signing key: ${k.signingKeyPath}; its public key ("signingKey" in cluster.json):\n  ${k.signingKey}`);
    console.log(`${k.uploadKeyAdded ? 'added the missing ' : ''}X25519 upload key (browsers seal uploads to it): ${k.uploadKeyPath}; its public key ("uploadKey" in cluster.json):\n  ${k.uploadKey}`);
  });

program
  .command('local-cluster')
  .description('create (or refresh) a three-node cluster on 127.0.0.1: keys and ports (kept if present), cluster.json, and a researcher, custodian and auditor identity')
  .argument('<dir>', 'cluster directory')
  .action(async (dir: string) => {
    const lc = await createLocalCluster(dir, { keepPorts: true }); // running nodes stay reachable
    const ids = ensureLocalIdentities(lc.dir);
    console.log(`cluster config: ${lc.configPath}`);
    for (const n of lc.config.nodes) console.log(`  party ${n.id}  ${n.name.padEnd(8)} 127.0.0.1:${n.port}  ${n.fingerprint}`);
    console.log(`identities (${join(lc.dir, 'identities.json')}; the CLI signs with them by default, --key to use another):`);
    for (const [name, key] of ids) console.log(`  ${name.padEnd(10)} ${key}`);
  });

program
  .command('node')
  .description('run a compute node: the long-running daemon (share store, HTTPS API, MPC jobs); with --job, one job only, printed as JSON')
  .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json and <dir>/<name>/ for this node')
  .requiredOption('--party <id>', 'this node\'s party id (0, 1 or 2)', int('party', 0, 2))
  .option('--job <module#export>', 'run only this job and exit: compiled ES module and exported job function, e.g. dist/src/cli/demo-job.js#demo')
  .option('--args <json>', 'JSON arguments for --job', '{}')
  .option('--min-cell-size <n>', 'daemon: smallest result cell this node allows (disclosure policy)', int('min cell size', 1), 5)
  .option('--key-dir <dir>', 'where this node\'s key and certificate are (default <dir>/<name>)')
  .option('--listen-host <addr>', 'address to listen on (default: this node\'s host in cluster.json)')
  .option('--recv-timeout <ms>', 'per-message receive timeout', int('recv timeout', 0), 120_000)
  .option('--connect-timeout <ms>', 'how long to wait for the other nodes', int('connect timeout', 1), 30_000)
  .option('--consortium <file>', 'daemon: install this consortium configuration and run governed (every query must name an approved study; src/node/governance.ts)')
  .option('--default-epsilon <x>', `daemon: differential-privacy epsilon of a run that names none (default ${DEFAULT_PRIVACY.defaultEpsilon})`, num('epsilon'))
  .option('--max-epsilon <x>', `daemon: largest epsilon one ad-hoc run may spend (default ${DEFAULT_PRIVACY.maxEpsilon})`, num('epsilon'))
  .option('--researcher-epsilon <x>', `daemon: what one researcher may spend in all at this node (default ${DEFAULT_PRIVACY.researcherEpsilon}; raising it weakens what the README's security model promises)`, num('epsilon'))
  .option('--exact-results', 'daemon: NO output protection (exact aggregates, MIN/MAX, no budget): for synthetic data and tests only')
  .option('--max-parallel <n>', 'daemon, node 0: jobs running at once in the cluster (default twice the cores, 2..8)', int('max-parallel', 1, 64))
  .option('--workers <n>', `worker threads for each job's long columns, each with its own TLS channel to its counterparts at the other nodes (used when every node offers 2 or more; this host has ${availableParallelism()} cores; default 1: the job's own thread only)`, int('workers', 1, 64))
  .option('--worker-ports <from-to>', "ports the worker threads listen on for their counterparts, e.g. 7100-7131 for a firewall between the nodes (default: any free port); each job running with workers holds one per worker until its counterparts have connected", portRange)
  .action(async (o: { dir: string; party: number; job?: string; args: string; minCellSize: number; keyDir?: string; listenHost?: string; recvTimeout: number; connectTimeout: number; consortium?: string; defaultEpsilon?: number; maxEpsilon?: number; researcherEpsilon?: number; exactResults?: boolean; maxParallel?: number; workers?: number; workerPorts?: { from: number; to: number } }) => {
    growHeapForColumns();
    if (!o.job) {
      if (process.platform === 'linux' && !hasColumnMemory()) {
        const env = Object.entries(COLUMN_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
        process.stderr.write(`note: started without the column memory settings, so every round's columns start on fresh pages (multiplication 2–3× slower); start the node as \`env ${env} mosaik node …\` (README, "Running the nodes"; MOSAIK_COLUMN_MEMORY=off silences this)\n`);
      }
      if (o.workerPorts && (o.workers ?? 1) < 2) process.stderr.write('note: --worker-ports has no effect without --workers 2 or more (the job\'s own thread uses the MPC port only)\n');
      const pause = Number(process.env.MOSAIK_TEST_JOB_PAUSE_MS ?? 0); // tests: kill a node mid-job
      const busy = Number(process.env.MOSAIK_TEST_JOB_BUSY_MS ?? 0); // tests: long synchronous local work in a job
      const { startDaemon } = await importDaemon();
      const d = await startDaemon({
        dir: resolve(o.dir),
        party: o.party as PartyId,
        ...(o.keyDir ? { keyDir: resolve(o.keyDir) } : {}),
        ...(o.listenHost ? { listenHost: o.listenHost } : {}),
        minCellSize: o.minCellSize,
        recvTimeoutMs: o.recvTimeout,
        connectTimeoutMs: o.connectTimeout,
        ...(pause > 0 ? { pauseMs: pause } : {}),
        ...(busy > 0 ? { busyMs: busy } : {}),
        ...(o.maxParallel !== undefined ? { maxParallel: o.maxParallel } : {}),
        ...(o.workers !== undefined ? { workers: o.workers } : {}),
        ...(o.workerPorts ? { workerPorts: o.workerPorts } : {}),
        ...(o.consortium ? { consortium: resolve(o.consortium) } : {}),
        privacy: {
          ...(o.exactResults ? { exact: true } : {}),
          ...(o.defaultEpsilon !== undefined ? { defaultEpsilon: o.defaultEpsilon } : {}),
          ...(o.maxEpsilon !== undefined ? { maxEpsilon: o.maxEpsilon } : {}),
          ...(o.researcherEpsilon !== undefined ? { researcherEpsilon: o.researcherEpsilon } : {}),
        },
      });
      const stop = () => void d.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    const hash = o.job.lastIndexOf('#');
    if (hash < 1) throw new InvalidArgumentError('--job must look like <module>#<export>');
    const mod = o.job.slice(0, hash);
    let args: unknown;
    try {
      args = JSON.parse(o.args);
    } catch {
      throw new InvalidArgumentError('--args must be JSON');
    }
    const { runNodeJob } = await import('../node/worker.js');
    const r = await runNodeJob({
      dir: resolve(o.dir),
      party: o.party as PartyId,
      job: { module: mod.startsWith('file:') ? mod : pathToFileURL(isAbsolute(mod) ? mod : resolve(mod)).href, export: o.job.slice(hash + 1), args },
      ...(o.keyDir ? { keyDir: resolve(o.keyDir) } : {}),
      ...(o.listenHost ? { listenHost: o.listenHost } : {}),
      recvTimeoutMs: o.recvTimeout,
      connectTimeoutMs: o.connectTimeout,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      onProgress: (msg) => console.error(`party ${o.party}: ${msg}`),
    });
    console.log(JSON.stringify(r, null, 2));
  });

program
  .command('query')
  .description('submit a query to the cluster (node 0 schedules it), follow it and print the result combined from the three nodes\' shares')
  .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json (pins every node\'s certificate)')
  .option('--dataset <name>', 'the FROM table (default: from the SQL)')
  .argument('[sql]', 'the query, e.g. "SELECT region, COUNT(*) FROM population GROUP BY region"; JOIN and EXISTS on the person id read several registers (governed: one of the study\'s queries, or omit it and give --query-id)')
  .option('--version <id>', "the FROM table's version (default: the latest at node 0; other registers: their latest)")
  .option('--min-cell-size <n>', 'suppress cells with fewer rows (not below the nodes\' policy)', int('min cell size', 1))
  .option('--epsilon <x>', 'differential privacy: epsilon this run spends of your budget (default: the nodes\' default; more epsilon, less noise)', num('epsilon'))
  .option('--timeout <ms>', 'give up after this long', int('timeout', 1), 600_000)
  .option('--json', 'print the combined result as JSON')
  .option('--save <file>', 'also write the result with the share pairs and salts, for `mosaik audit verify --result`')
  .option('--key <file>', 'the researcher\'s Ed25519 private key that signs the request (default: <dir>/identities/researcher.ed25519.key.pem, made by mosaik local-cluster)')
  .option('--study <file>', 'governed cluster: the registered study the query belongs to')
  .option('--query-id <id>', 'governed cluster: which of the study\'s queries (default: the one matching the SQL, or the only one)')
  .option('--approvals <file>', 'no longer used: the nodes use registered approvals only (mosaik study submit)', (v: string, prev: string[] = []) => [...prev, v])
  .action(async (sql: string | undefined, o: { dir: string; dataset?: string; version?: string; minCellSize?: number; epsilon?: number; timeout: number; json?: boolean; save?: string; study?: string; key?: string; queryId?: string; approvals?: string[] }) => {
    const { queryCommand } = await import('./query.js');
    await queryCommand({
      dir: resolve(o.dir), ...(o.dataset ? { dataset: o.dataset } : {}), ...(sql ? { sql } : {}), ...(o.version ? { version: o.version } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}), ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}), timeoutMs: o.timeout, ...(o.json ? { json: true } : {}), ...(o.save ? { save: resolve(o.save) } : {}),
      ...(o.study ? { study: resolve(o.study) } : {}), ...(o.key ? { key: resolve(o.key) } : {}), ...(o.queryId ? { queryId: o.queryId } : {}), ...(o.approvals ? { approvals: o.approvals.map((f) => resolve(f)) } : {}),
    });
  });

program
  .command('demo')
  .description('the main job, governed: three node daemons, custodians upload synthetic registers as shares, a signed and approved study runs in MPC next to the plaintext answer, then the web app on the cluster (until Ctrl-C); --governed: the step-by-step walkthrough of the governed flow, each step with the command that does it by hand')
  .option('--citizens <n>', 'size of the synthetic population (default 100 000; with --governed 20 000)', int('citizens', 100, 6_000_000))
  .option('--dir <dir>', `cluster directory (default ${DEFAULT_DEMO_DIR}; with --governed ${DEFAULT_DEMO_DIR}-governed)`)
  .option('--seed <n>', 'seed of the synthetic registers', int('seed', 0, 2 ** 32 - 1), 1)
  .option('--min-cell-size <n>', 'node policy: smallest cell released', int('min cell size', 1), 5)
  .option('--governed', 'the step-by-step walkthrough of the governed flow, each step shown with the command that does it by hand: consortium, signed uploads, policies from the schemas, consent register, a signed study approved with its policies\' warnings, its runs with the consent filter, a refused query, usage and the audit (src/cli/governed-demo.ts; the plain demo is governed too, without the commands)')
  .option('--verbose', 'show the node daemons\' output')
  .option('--web-port <port>', 'port of the web app served after the studies (default: a free one)', int('port', 0, 65535), 0)
  .option('--no-web', 'stop when the studies are done (do not serve the web app)')
  .option('--consent', 'also a consent register of the citizens\' choices, applied inside MPC to every study (a join on the person id per query: slower)')
  .action(async (o: { citizens?: number; dir?: string; seed: number; minCellSize: number; governed?: boolean; verbose?: boolean; web: boolean; webPort: number; consent?: boolean }) => {
    const d = { dir: o.dir ?? (o.governed ? `${DEFAULT_DEMO_DIR}-governed` : DEFAULT_DEMO_DIR), citizens: o.citizens ?? (o.governed ? 20_000 : 100_000), seed: o.seed, minCellSize: o.minCellSize, verbose: !!o.verbose, log: (l: string) => console.log(l) };
    const ok = o.governed ? await (await import('./governed-demo.js')).runGovernedDemo(d) : await (await import('./studies-demo.js')).runStudiesDemo({ ...d, consent: !!o.consent, ...(o.web ? { webPort: o.webPort } : {}) });
    if (!ok) process.exitCode = 1;
  });

program
  .command('demo-engine')
  .description('the engine on its own: a custodian shares a synthetic patient table, three TLS nodes compute statistics on the shares')
  .option('--rows <n>', 'number of synthetic patients', int('rows', 1, 50_000_000), 100_000)
  .option('--dir <dir>', 'cluster directory', join(DEFAULT_DEMO_DIR, 'engine'))
  .option('--seed <n>', 'seed of the synthetic data', int('seed', 0, 2 ** 32 - 1), 2026)
  .option('--timeout <ms>', 'give up after this long', int('timeout', 1), 600_000)
  .option('--verbose', 'show the node processes\' output')
  .action(async (o: { rows: number; dir: string; seed: number; timeout: number; verbose?: boolean }) => {
    const { runDemo } = await import('./demo.js');
    const ok = await runDemo({ dir: o.dir, rows: o.rows, seed: o.seed, timeoutMs: o.timeout, verbose: !!o.verbose, log: (l) => console.log(l) });
    if (!ok) process.exitCode = 1;
  });

program
  .command('web')
  .description('serve the browser app for a cluster and relay its signed calls to the nodes (the server holds no key and sees no plaintext result)')
  .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port (0: a free one)', int('port', 0, 65535), 8080)
  .option('--citizen-login <file>', "the consent custodian's e-ID enrolment service runs here too: its broker (JSON {issuer, clientId, claim?, label?}: src/cli/citizen-enrolment.ts)")
  .option('--custodian-key <file>', "the consent custodian's Ed25519 key: its consent-state service runs here (citizens read their consent: src/cli/citizen-consent-state.ts), and with --citizen-login it registers citizens' keys")
  .option('--table <file>', "with --custodian-key: the custodian's key→person table", 'citizen-keys.csv')
  .option('--register <file>', "with --custodian-key: the custodian's consent register", 'consent.csv')
  .option('--inbox-key <file>', "with --custodian-key: the consent inbox's private key (to show citizens their changes not yet published)")
  .option('--consortium <file>', 'with --custodian-key: the consortium configuration (default <dir>/consortium.json)')
  .action(async (o: { dir: string; host: string; port: number; citizenLogin?: string; custodianKey?: string; table: string; register: string; inboxKey?: string; consortium?: string }) => {
    const { startWebServer } = await import('./web.js');
    const dir = resolve(o.dir);
    let services = {};
    if (o.citizenLogin && !o.custodianKey) throw new Error('--citizen-login needs --custodian-key (the consent custodian registers the keys)');
    if (o.custodianKey) {
      const { consortiumFor } = await import('./citizen.js');
      const { clusterConfig } = await import('./governance-remote.js');
      const { cliSigner } = await import('./identity-defaults.js');
      const custodian = { config: clusterConfig(dir), consortium: consortiumFor(dir, o.consortium), signer: cliSigner({ dir, key: resolve(o.custodianKey), role: 'custodian' }), table: resolve(o.table) };
      const { citizenConsentState } = await import('./citizen-consent-state.js');
      services = { citizenConsentState: citizenConsentState({ ...custodian, register: resolve(o.register), ...(o.inboxKey ? { inboxKeyPem: readFileSync(resolve(o.inboxKey), 'utf8') } : {}) }) };
      if (o.citizenLogin) {
        const e = await import('./citizen-enrolment.js');
        services = { ...services, citizenEnrolment: e.citizenEnrolment({ ...custodian, login: e.readCitizenLoginConfig(resolve(o.citizenLogin)), log: (l) => console.error(l) }) };
      }
    }
    const w = await startWebServer({ dir, host: o.host, port: o.port, log: (l) => console.error(l), ...services });
    console.log(`the web app: ${w.url}  (Ctrl-C stops it)`);
    await new Promise<void>((ok) => {
      process.once('SIGINT', ok);
      process.once('SIGTERM', ok);
    });
    await w.close();
  });

/** The other modules' commands: all of them, or only the module of a command it alone defines. */
const registrars: Record<string, () => Promise<void>> = {
  stats: async () => (await import('./stats.js')).registerStatsCommand(program, { int, num }),
  ingest: async () => (await import('./ingest.js')).registerIngestCommand(program),
  governance: async () => (await import('./governance.js')).registerGovernanceCommands(program),
  audit: async () => (await import('./audit.js')).registerAuditCommand(program),
  citizen: async () => (await import('./citizen.js')).registerCitizenCommands(program),
  record: async () => (await import('./record.js')).registerRecordCommands(program),
  citizenClient: async () => (await import('./citizen-client.js')).registerCitizenClientCommands(program),
};
/** Top-level commands defined by exactly one module (`consent` has subcommands from three). */
const ownedBy: Record<string, keyof typeof registrars> = { stats: 'stats', ingest: 'ingest', audit: 'audit' };
const invoked = process.argv[2] ?? '';
if (program.commands.some((c) => c.name() === invoked)) {
  // One of this file's commands: no other module needed.
} else if (ownedBy[invoked]) await registrars[ownedBy[invoked]]!();
else for (const register of Object.values(registrars)) await register();

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`mosaik: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
