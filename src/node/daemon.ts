// The long-running compute node (`mosaik node --dir <cluster> --party <i>`): loads cluster.json and
// this node's key, opens its share store (<dir>/<name>/store), starts the job runner and serves the
// HTTPS API (src/node/api.ts) on its API port (apiPort in cluster.json, else MPC port + 1000).
// MPC between the nodes runs per job on the cluster ports of cluster.json (src/node/jobs.ts).
// The node keeps its replica of the transparency log in <dir>/<name>/ledger and co-signs its tree
// heads with its Ed25519 signing key (src/node/ledger.ts); a cluster.json without the nodes'
// signing keys is refused with a message saying how to add them.
// Governance (src/node/governance.ts): with <dir>/<name>/governance/consortium.json (installed by
// `--consortium <file>`) the node runs in governed mode: every query must name a study, and the
// node registers studies, approvals, policies and consent updates, each logged in the transparency log.
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { PartyId } from '../net/channel.js';
import { freePorts, loadClusterConfig, loadNodeIdentity, loadSigningIdentity, loadUploadIdentity, type ClusterConfig } from '../net/keys.js';
import { apiPorts, buildApi } from './api.js';
import type { PortRange } from '../mpc/core-pool.js';
import { JobRunner } from './jobs.js';
import { NodeLedger } from './ledger.js';
import { ShareStore } from './store.js';
import { JobStore, lockNodeDir } from './job-store.js';
import { installConsortium, NodeGovernance } from './governance.js';
import { startJobOnPeers } from './schedule.js';
import { MpcListener } from '../net/tls.js';
import { Heartbeats } from '../net/heartbeat.js';
import { NodeAccess } from './access.js';
import { checkPrivacySettings, DEFAULT_PRIVACY, type PrivacySettings } from './privacy.js';
import { CitizenRegistry } from './citizens.js';
import { RecordService } from './records.js';
import { openSealedUpload } from './sealed-upload.js';
import { JobError } from './errors.js';
import { PERSON_SEAL_DATASET } from '../governance/record-format.js';
import { ProService } from './pro.js';
import { PRO_DATASET } from '../governance/patient-reported.js';
import { submissionSealVersion } from '../governance/citizen-docs.js';
import { useOpenSslEd25519 } from '../ledger/ed25519-openssl.js';

export interface DaemonOptions {
  /** Cluster directory with cluster.json and <dir>/<name>/ for this node. */
  dir: string;
  party: PartyId;
  /** Where this node's key and certificate are (default <dir>/<name>). */
  keyDir?: string;
  /** Where the share store lives (default <dir>/<name>). */
  dataDir?: string;
  /** Address for the API (default: this node's host in cluster.json). */
  listenHost?: string;
  /** Smallest cell size this node allows (default 5). */
  minCellSize?: number;
  recvTimeoutMs?: number;
  connectTimeoutMs?: number;
  log?: (msg: string) => void;
  /** Tests only: pause inside each job after the MPC setup. */
  pauseMs?: number;
  /** Tests only: then block the main thread this long (long synchronous local work). */
  busyMs?: number;
  /** A consortium configuration to install (governed mode; see src/node/governance.ts). */
  consortium?: string;
  /** Output protection (default: differential privacy with DEFAULT_PRIVACY; src/node/privacy.ts). */
  privacy?: Partial<PrivacySettings>;
  /** A connection that sends nothing for this long is closed (a stalled upload, its temporary files removed). Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Node 0: jobs running at once (default: twice the cores, 2..8; src/node/jobs.ts). */
  maxParallel?: number;
  /** A peer silent this long (no data, no heartbeat) fails the job (default 10 000 ms). */
  silenceMs?: number;
  /** Worker threads offered to each job for long columns (default 1: the job's own thread only; src/mpc/core-pool.ts). */
  workers?: number;
  /** Ports the worker threads listen on (default: any free port; src/mpc/core-pool.ts CoreTls.ports). */
  workerPorts?: PortRange;
}

export interface Daemon {
  config: ClusterConfig;
  governance: NodeGovernance;
  party: PartyId;
  url: string;
  store: ShareStore;
  ledger: NodeLedger;
  runner: JobRunner;
  /** The HTTPS API (tests inject requests into it). */
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const { config, me, nodeDir, key } = loadNodeIdentity(o.dir, o.party, o.keyDir);
  const log = o.log ?? ((m: string) => console.error(`[${me.name}] ${m}`));
  const signing = loadSigningIdentity(config, o.party, o.keyDir ?? nodeDir);
  // One daemon per node directory: a second one for the same party touches nothing.
  const unlock = lockNodeDir(o.dataDir ?? nodeDir, `node ${o.party} (${me.name})`);
  try {
    return await startLocked(o, { config, me, nodeDir, key, log, signing }, unlock);
  } catch (e) {
    unlock();
    throw e;
  }
}

async function startLocked(o: DaemonOptions, id: { config: ClusterConfig; me: ClusterConfig['nodes'][number]; nodeDir: string; key: { keyPem: string; certPem: string }; log: (m: string) => void; signing: { privateKeyPem: string } }, unlock: () => void): Promise<Daemon> {
  const { config, me, nodeDir, key, log, signing } = id;
  useOpenSslEd25519(); // the log's co-signatures through OpenSSL (src/ledger/ed25519-openssl.ts)
  const store = new ShareStore(o.dataDir ?? nodeDir, key.keyPem, o.party);
  for (const d of store.damaged) log(`WARNING: not serving a damaged dataset version: ${d}`);
  const govDir = o.dataDir ?? nodeDir;
  if (o.consortium) installConsortium(govDir, o.consortium);
  const governance = new NodeGovernance({
    nodeDir: govDir,
    log,
    datasetRows: (name, version) => {
      try {
        return store.get(name, version).rows;
      } catch {
        return undefined;
      }
    },
    signer: { name: me.name, privateKey: createPrivateKey(signing.privateKeyPem) },
  });
  const privacy = checkPrivacySettings({ ...DEFAULT_PRIVACY, ...o.privacy });
  if (privacy.exact) log('WARNING: output protection is OFF at this node (--exact-results): it releases exact aggregates, MIN and MAX; for synthetic data and tests only');
  const citizens = new CitizenRegistry({ nodeDir: govDir, consortium: governance.consortium, log });
  const access = new NodeAccess({ config, me: o.party, governance, log, more: (n) => citizens.lookup(n) });
  // One listener on the MPC port for all jobs (they run concurrently, each on its own channel).
  const listener = await MpcListener.open({ config, me: o.party, key: key.keyPem, cert: key.certPem, ...(o.listenHost ? { listenHost: o.listenHost } : {}) });
  // Heartbeats on the node channels, from a worker thread: a stopped or hung peer fails a job within seconds.
  const heartbeats = Heartbeats.start(o.listenHost ?? me.host, me.port, log, {
    me: o.party,
    peers: config.nodes.filter((n) => n.id !== o.party).map((n) => ({ party: n.id, host: n.host, port: n.port })),
  });
  const runner = new JobRunner({
    privacy,
    identities: (n) => access.lookup(n),
    store,
    config,
    me: o.party,
    keyPem: key.keyPem,
    certPem: key.certPem,
    ...(o.minCellSize !== undefined ? { policyMinCellSize: o.minCellSize } : {}),
    ...(o.recvTimeoutMs !== undefined ? { recvTimeoutMs: o.recvTimeoutMs } : {}),
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    ...(o.pauseMs ? { pauseMs: o.pauseMs } : {}),
    ...(o.busyMs ? { busyMs: o.busyMs } : {}),
    onFinished: (job) => ledger.onJobFinished(job),
    jobStore: new JobStore(o.dataDir ?? nodeDir, key.keyPem),
    listener,
    heartbeats,
    ...(o.silenceMs !== undefined ? { silenceMs: o.silenceMs } : {}),
    ...(o.maxParallel !== undefined ? { maxParallel: o.maxParallel } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.workerPorts ? { workerPorts: o.workerPorts } : {}),
    ...(o.listenHost ? { listenHost: o.listenHost } : {}),
    ...(o.party === 0 ? { startPeers: (spec: { id: string }) => startJobOnPeers({ config, keyPem: key.keyPem, certPem: key.certPem }, spec.id) } : {}),
    governance,
    log,
  });
  const ledger = new NodeLedger({ config, me: o.party, dir: join(o.dataDir ?? nodeDir, 'ledger'), signingKeyPem: signing.privateKeyPem, keyPem: key.keyPem, certPem: key.certPem, runner, log });
  // Governed: a governance entry is appended only by a node that verified and holds its document.
  if (governance.governed) for (const kind of ['study-submitted', 'study-approved', 'policy-published', 'consent-changed'] as const) {
    ledger.setValidator(kind, (e) => {
      if (!governance.holds(kind, e.body)) throw new Error(`this node holds no verified document with this ${kind} body (it registers documents itself before it logs them)`);
    });
  }
  // Sealed uploads from browsers need this node's X25519 upload key (src/node/sealed-upload.ts).
  const uploadKey = loadUploadIdentity(config, o.party, o.keyDir ?? nodeDir);
  if (uploadKey.problem) log(`WARNING: ${uploadKey.problem}`);
  /** Opens what a browser or client sealed for this node (a person id's share, a questionnaire's shares). */
  const openWithUploadKey = (sealed: Uint8Array, dataset: string, version: string) => {
    if (!uploadKey.key) throw new JobError(`this node has no upload key to open sealed shares with: ${uploadKey.problem ?? 'none'}`, 503);
    return openSealedUpload(sealed, uploadKey.key, { cluster: config.cluster, node: me.name, party: o.party, dataset, version });
  };
  // Doctors' reads of a patient's record (issue 15): each access logged before anything is read.
  const records = new RecordService({
    config, me: o.party, keyPem: key.keyPem, certPem: key.certPem, store, citizens, listener, heartbeats, log,
    openPerson: (sealed, nonce) => openWithUploadKey(sealed, PERSON_SEAL_DATASET, nonce),
    ...(o.recvTimeoutMs !== undefined ? { recvTimeoutMs: o.recvTimeoutMs } : {}),
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    logged: (seq, job) => {
      const r = ledger.replica;
      return seq < r.size && r.entry(seq).kind === 'record-accessed' && r.entry(seq).body.job === job;
    },
  });
  ledger.setValidator('record-accessed', (e) => records.checkEntry(e));
  const pro = new ProService({
    config, me: o.party, keyPem: key.keyPem, certPem: key.certPem, store, citizens, listener, heartbeats, log, nodeDir: govDir,
    ...(o.recvTimeoutMs !== undefined ? { recvTimeoutMs: o.recvTimeoutMs } : {}),
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    openShares: (sealed, nonce) => openWithUploadKey(sealed, PRO_DATASET, submissionSealVersion(nonce)),
  });
  const app = buildApi({ config, me: o.party, keyPem: key.keyPem, certPem: key.certPem, store, runner, log, ledger, governance, access, uploadKey, citizens, records, pro, ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}) });
  const port = apiPorts(config)[o.party];
  const host = o.listenHost ?? me.host;
  try {
    await app.listen({ port, host });
  } catch (e) {
    ledger.close();
    await listener.close();
    await heartbeats.close();
    throw e;
  }
  const url = `https://${host}:${port}`;
  log(`party ${o.party} (${me.name}) serving ${url}; MPC port ${me.port}; store ${store.root}; transparency log ${ledger.replica.dir} (${ledger.replica.size} entries); ${governance.consortium ? `governed by consortium '${governance.consortium.name}'` : 'un-governed (no consortium configuration)'}`);
  ledger.start();
  return {
    config,
    party: o.party,
    url,
    store,
    ledger,
    runner,
    app,
    governance,
    close: async () => {
      runner.close();
      await app.close();
      await listener.close();
      await heartbeats.close();
      ledger.close();
      unlock();
    },
  };
}

/**
 * Gives every node of a cluster an API port: writes `apiPort` (free ports on this machine) into
 * each node entry of <dir>/cluster.json, keeping everything else. For local clusters (run after
 * createLocalCluster, which rewrites cluster.json without them).
 */
export async function writeApiPorts(dir: string): Promise<[number, number, number]> {
  const path = join(dir, 'cluster.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { nodes: { id: number; port: number; apiPort?: number }[] };
  const used = new Set(raw.nodes.map((n) => n.port));
  let ports: number[] = [];
  do ports = await freePorts(3);
  while (ports.some((p) => used.has(p)));
  for (const n of raw.nodes) n.apiPort = ports[n.id]!;
  writeFileSync(path, JSON.stringify(raw, null, 2) + '\n');
  return apiPorts(loadClusterConfig(path));
}
