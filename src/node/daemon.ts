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
import type { PartyId } from '../net/channel.js';
import { freePorts, loadClusterConfig, loadNodeIdentity, loadSigningIdentity, type ClusterConfig } from '../net/keys.js';
import { apiPorts, buildApi } from './api.js';
import { JobRunner } from './jobs.js';
import { NodeLedger } from './ledger.js';
import { ShareStore } from './store.js';
import { installConsortium, NodeGovernance } from './governance.js';
import { NodeAccess } from './access.js';
import { checkPrivacySettings, DEFAULT_PRIVACY, type PrivacySettings } from './privacy.js';
import { loadUploadIdentity } from '../net/upload-keys.js';

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
  /** A consortium configuration to install (governed mode; see src/node/governance.ts). */
  consortium?: string;
  /** Output protection (default: differential privacy with DEFAULT_PRIVACY; src/node/privacy.ts). */
  privacy?: Partial<PrivacySettings>;
}

export interface Daemon {
  config: ClusterConfig;
  governance: NodeGovernance;
  party: PartyId;
  url: string;
  store: ShareStore;
  ledger: NodeLedger;
  close(): Promise<void>;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const { config, me, nodeDir, key } = loadNodeIdentity(o.dir, o.party, o.keyDir);
  const log = o.log ?? ((m: string) => console.error(`[${me.name}] ${m}`));
  const signing = loadSigningIdentity(config, o.party, o.keyDir ?? nodeDir);
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
  const access = new NodeAccess({ config, me: o.party, governance, log });
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
    onFinished: (job) => ledger.onJobFinished(job),
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
  const app = buildApi({ config, me: o.party, keyPem: key.keyPem, certPem: key.certPem, store, runner, log, ledger, governance, access, uploadKey });
  const port = apiPorts(config)[o.party];
  const host = o.listenHost ?? me.host;
  await app.listen({ port, host });
  const url = `https://${host}:${port}`;
  log(`party ${o.party} (${me.name}) serving ${url}; MPC port ${me.port}; store ${store.root}; transparency log ${ledger.replica.dir} (${ledger.replica.size} entries); ${governance.consortium ? `governed by consortium '${governance.consortium.name}'` : 'un-governed (no consortium configuration)'}`);
  ledger.start();
  return {
    config,
    party: o.party,
    url,
    store,
    ledger,
    governance,
    close: async () => {
      await app.close();
      ledger.close();
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
