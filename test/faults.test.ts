// Faults a node operator meets (issue 12), with daemons in this process:
//   - a second daemon for a running party is refused and touches nothing (the node directory is locked);
//   - a client that stops sending mid-upload is cut off after the idle timeout and its temporary
//     files are removed;
//   - a version hidden as damaged (one byte of its meta.json changed) is replaced by re-ingesting it;
//   - job state survives a restart: a restarted node answers for its past jobs, reports the job it
//     had accepted as failed, and takes the transparency-log entries node 0 still had for that job,
//     so that later results are released at every node again.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateRegisters } from '../src/demo/registers.js';
import { audienceOf, signRequest, UNSIGNED_BODY } from '../src/governance/request-auth.js';
import { buildUploadBodies, shareColumn, uploadDataset, type ShareableDataset } from '../src/ingest/upload.js';
import type { PartyId } from '../src/net/channel.js';
import { pinnedTlsOptions } from '../src/net/https.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiPorts, apiRequest } from '../src/node/http.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { adhocBody, localSigners, type LocalSigners } from './identities.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-faults-'));
after(() => rmSync(root, { recursive: true, force: true }));
const regs = generateRegisters({ citizens: 200, seed: 7 });
const population: ShareableDataset = { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns };
const SQL = 'SELECT region, COUNT(*) AS n FROM population GROUP BY region';
const quiet = process.env.FAULTS_LOG ? (m: string) => console.error(m) : () => {};

/** Polls `f` until it returns a value (not undefined), at most `tries` × `ms`. */
async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, tries = 200, ms = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(ms);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('one node alone: lock, stalled upload, repair', () => {
  let cluster: LocalCluster;
  let ids: LocalSigners;
  let node: Daemon;
  let nodeDir = '';
  const bodies = () => buildUploadBodies(population, population.schema.columns.map((c) => shareColumn(population, c.name, undefined, { cluster: cluster.config.cluster, version: 'v1' })));

  before(async () => {
    cluster = await createLocalCluster(join(root, 'alone'));
    await writeApiPorts(cluster.dir);
    ids = localSigners(cluster.dir);
    node = await startDaemon({ dir: cluster.dir, party: 0, log: quiet, idleTimeoutMs: 1500 });
    nodeDir = join(cluster.dir, cluster.config.nodes[0].name);
  });
  after(async () => node?.close());

  const put = (version: string, body: Buffer) => {
    const path = `/v1/datasets/population/versions/${version}`;
    return apiRequest<{ error?: string; rows?: number }>(cluster.config, 0, path, { method: 'PUT', body, signer: ids.custodian });
  };

  it('a second daemon for a running party is refused and touches nothing', async () => {
    const inFlight = join(nodeDir, 'store', 'tmp', 'upload-in-progress');
    mkdirSync(inFlight, { recursive: true });
    writeFileSync(join(inFlight, '0.share'), 'bytes of an upload in progress');
    await assert.rejects(startDaemon({ dir: cluster.dir, party: 0, log: quiet }), /already running: .* is locked by process \d+/);
    assert.ok(existsSync(join(inFlight, '0.share')), 'the running node\'s upload in progress is still there');
    const h = await apiRequest<{ party: number }>(cluster.config, 0, '/v1/health');
    assert.equal(h.status, 200, 'the running node still serves');
    rmSync(inFlight, { recursive: true, force: true });
  });

  it('a stalled upload is cut off after the idle timeout and leaves no temporary files', async () => {
    const n = cluster.config.nodes[0];
    const path = '/v1/datasets/population/versions/stalled';
    const body = bodies()[0];
    const authorization = signRequest({ method: 'PUT', path, audience: audienceOf(cluster.config.cluster, n.name) }, UNSIGNED_BODY, ids.custodian);
    const closed = new Promise<string>((ok) => {
      const req = request({ host: n.host, port: apiPorts(cluster.config)[0], path, method: 'PUT', ...pinnedTlsOptions(n), agent: false, headers: { authorization, 'content-type': 'application/octet-stream', 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => ok(`answered ${res.statusCode}`));
        res.on('error', () => ok('answer cut'));
      });
      req.on('error', (e) => ok(`connection closed: ${e.message}`));
      req.write(body.subarray(0, Math.floor(body.length / 2))); // and then nothing: the client hangs
    });
    // While it stalls, the upload's temporary directory exists.
    await until('the upload in progress', () => (readdirSync(join(nodeDir, 'store', 'tmp')).length > 0 ? true : undefined));
    const how = await until('the node to drop the stalled upload', () => Promise.race([closed, sleep(100).then(() => undefined)]), 600);
    assert.match(how, /connection closed|answer cut|answered 4/);
    await until('the temporary files to go', () => (readdirSync(join(nodeDir, 'store', 'tmp')).length === 0 ? true : undefined));
    assert.equal((await apiRequest<{ versions?: unknown[] }>(cluster.config, 0, '/v1/datasets/population')).status, 404, 'nothing stored');
  });

  it('re-ingesting a version hidden as damaged replaces it', async () => {
    const body = bodies()[0];
    assert.equal((await put('v1', body)).status, 201);
    await node.close();
    const meta = join(nodeDir, 'store', 'datasets', 'population', 'v1', 'meta.json');
    const text = readFileSync(meta, 'utf8');
    const changed = text.replace(/"createdAt": "2/, '"createdAt": "3'); // one byte: the MAC fails
    assert.notEqual(changed, text);
    writeFileSync(meta, changed);
    const warnings: string[] = [];
    node = await startDaemon({ dir: cluster.dir, party: 0, log: (m) => warnings.push(m), idleTimeoutMs: 1500 });
    assert.ok(warnings.some((w) => /damaged dataset version: population@v1/.test(w)));
    assert.equal((await apiRequest(cluster.config, 0, '/v1/datasets/population')).status, 404, 'the damaged version is not served');
    const again = await put('v1', body);
    assert.equal(again.status, 201, `re-ingest: ${JSON.stringify(again.body)}`);
    const got = await apiRequest<{ rows: number; version: string }>(cluster.config, 0, '/v1/datasets/population');
    assert.equal(got.status, 200);
    assert.equal(got.body.rows, population.rows);
    assert.equal(readdirSync(join(nodeDir, 'store', 'damaged')).length, 1, 'the damaged copy is kept aside');
    assert.deepEqual(node.store.damaged, []);
  });
});

describe('job state survives a node restart', () => {
  let cluster: LocalCluster;
  let ids: LocalSigners;
  const daemons: Daemon[] = [];
  const start = (p: PartyId) => startDaemon({ dir: cluster.dir, party: p, log: quiet, connectTimeoutMs: 3000, privacy: { exact: true } });

  before(async () => {
    cluster = await createLocalCluster(join(root, 'restart'));
    await writeApiPorts(cluster.dir);
    ids = localSigners(cluster.dir);
    for (const p of [0, 1, 2] as PartyId[]) daemons.push(await start(p));
    await uploadDataset({ config: cluster.config, dataset: population, version: 'v1', signer: ids.custodian });
  });
  after(async () => {
    for (const d of daemons) await d?.close();
  });

  it('a node restarted before it logged a job answers for it, reports it failed, and syncs the log again', async () => {
    const first = await runRemoteQuery({ config: cluster.config, sql: SQL, signer: ids.researcher, timeoutMs: 120_000 });
    // Node 2 accepts the next job and goes down at once, before node 0 has replicated its job-run entry.
    const r2 = daemons[2]!.runner;
    const enqueue = r2.enqueue.bind(r2);
    let down: Promise<void> = Promise.resolve();
    r2.enqueue = (spec) => {
      const job = enqueue(spec);
      r2.enqueue = enqueue;
      down = new Promise((ok) => setImmediate(() => void daemons[2]!.close().then(ok)));
      return job;
    };
    const { body } = adhocBody(cluster.config, ids.researcher, SQL);
    const sub = await apiRequest<{ job?: string; error?: string }>(cluster.config, 0, '/v1/queries', { body, signer: ids.researcher });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    const lost = sub.body.job!;
    await down;
    daemons[2] = await start(2);

    // The restarted node knows the job: failed, not lost.
    const view = await apiRequest<{ status: string; error?: string }>(cluster.config, 2, `/v1/jobs/${lost}`, { signer: ids.researcher });
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.equal(view.body.status, 'failed');
    assert.match(view.body.error!, /restarted while the job was (queued|running)|shutting down/);
    // And its past job, with its sealed result.
    const past = await apiRequest<{ status: string; sealed?: unknown }>(cluster.config, 2, `/v1/jobs/${first.job}`, { signer: ids.researcher });
    assert.equal(past.body.status, 'done');
    assert.ok(past.body.sealed, 'the past result is still served');

    // Node 0's pending entries reach it, and a later result is released at every node.
    const later = await runRemoteQuery({ config: cluster.config, sql: SQL, signer: ids.researcher, timeoutMs: 120_000 });
    assert.deepEqual(later.rows, first.rows);
    const sizes = await until('the replicas to agree', async () => {
      const s = await Promise.all(([0, 1, 2] as PartyId[]).map(async (p) => (await apiRequest<{ size: number }>(cluster.config, p, '/v1/ledger/status')).body.size));
      return s[0] === s[1] && s[1] === s[2] ? s : undefined;
    });
    assert.ok(sizes[0]! >= 5, `job-run and release entries of three jobs: ${sizes}`);
  });
});
