// A stalled upload (issue 12): a custodian's client sends half of an upload and then nothing. The
// node (one daemon in this process, default settings: idle timeout 60 s) must close the connection
// and remove the upload's temporary files. Reports the time from the last byte to the close and to
// the temporary directory being empty.
//
//   npm run build && node dist/bench/stall.js [--idle <ms, default: the daemon's default>]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateRegisters } from '../src/demo/registers.js';
import { ensureLocalIdentities } from '../src/governance/identities.js';
import { audienceOf, signRequest, UNSIGNED_BODY } from '../src/governance/request-auth.js';
import { cliSigner } from '../src/cli/identity-defaults.js';
import { buildUploadBodies, shareColumn, type ShareableDataset } from '../src/ingest/upload.js';
import { pinnedTlsOptions } from '../src/net/https.js';
import { createLocalCluster } from '../src/net/keys.js';
import { apiPorts } from '../src/node/http.js';
import { startDaemon, writeApiPorts } from '../src/node/daemon.js';

const i = process.argv.indexOf('--idle');
const idle = i > 0 ? Number(process.argv[i + 1]) : undefined;
const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-stall-'));
try {
  const cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  const keys = ensureLocalIdentities(cluster.dir);
  const custodian = cliSigner({ dir: cluster.dir, key: keys.get('custodian')!, role: 'custodian' });
  const node = await startDaemon({ dir: cluster.dir, party: 0, log: () => {}, ...(idle !== undefined ? { idleTimeoutMs: idle } : {}) });
  const tmp = join(cluster.dir, cluster.config.nodes[0].name, 'store', 'tmp');
  const regs = generateRegisters({ citizens: 20_000, seed: 1 });
  const pop: ShareableDataset = { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns };
  const body = buildUploadBodies(pop, pop.schema.columns.map((c) => shareColumn(pop, c.name, undefined, { cluster: cluster.config.cluster, version: 'v1' })))[0];
  const n = cluster.config.nodes[0];
  const path = '/v1/datasets/population/versions/stalled';
  const authorization = signRequest({ method: 'PUT', path, audience: audienceOf(cluster.config.cluster, n.name) }, UNSIGNED_BODY, custodian);
  let stalledAt = 0;
  const closed = new Promise<number>((ok) => {
    const req = request({ host: n.host, port: apiPorts(cluster.config)[0], path, method: 'PUT', ...pinnedTlsOptions(n), agent: false, headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => ok(Date.now()));
      res.on('error', () => ok(Date.now()));
    });
    req.on('error', () => ok(Date.now()));
    req.write(body.subarray(0, Math.floor(body.length / 2)), () => (stalledAt = Date.now())); // and then nothing
  });
  const closedAt = await closed;
  let cleanAt = 0;
  for (;;) {
    if (readdirSync(tmp).length === 0) {
      cleanAt = Date.now();
      break;
    }
    await sleep(50);
  }
  console.log(`stalled upload (${(body.length / 2 / 1e6).toFixed(1)} MB of ${(body.length / 1e6).toFixed(1)} MB sent, then nothing; idle timeout ${idle ?? 'default'}): connection closed ${((closedAt - stalledAt) / 1000).toFixed(1)} s after the last byte, temporary files gone after ${((cleanAt - stalledAt) / 1000).toFixed(1)} s`);
  await node.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
