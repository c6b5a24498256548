// Several researchers at once (issue 12): independent jobs run concurrently at all three nodes
// (node 0 starts each job everywhere, at most maxParallel at once, each on its own channel through
// the node's one MPC listener), fairly between requesters, with the queue position shown to the
// requester; every result is correct, and the privacy budget is charged once per job at each node.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateRegisters } from '../src/demo/registers.js';
import { uploadDataset } from '../src/ingest/upload.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { runRemoteQuery } from '../src/cli/query.js';
import type { Job } from '../src/node/jobs.js';
import { adhocBody, localSigners, type LocalSigners } from './identities.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-concurrency-'));
const regs = generateRegisters({ citizens: 300, seed: 5 });
const SQL = ['SELECT region, COUNT(*) AS n FROM population GROUP BY region', 'SELECT sex, COUNT(*) AS n FROM population GROUP BY sex', 'SELECT region, sex, COUNT(*) AS n FROM population GROUP BY region, sex'];
let cluster: LocalCluster;
let ids: LocalSigners;
const daemons: Daemon[] = [];

before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  ids = localSigners(cluster.dir, [{ name: 'ann', role: 'researcher' }]);
  for (const p of [0, 1, 2] as PartyId[]) daemons.push(await startDaemon({ dir: cluster.dir, party: p, log: () => {}, maxParallel: 3, privacy: { exact: true } }));
  await uploadDataset({ config: cluster.config, dataset: { schema: regs.population.schema, codeLists: regs.codeLists, rows: regs.population.length, columns: regs.population.columns }, version: 'v1', signer: ids.custodian });
});
after(async () => {
  for (const d of daemons) await d.close();
  rmSync(root, { recursive: true, force: true });
});

const overlaps = (a: Job, b: Job) => Date.parse(a.startedAt!) < Date.parse(b.finishedAt!) && Date.parse(b.startedAt!) < Date.parse(a.finishedAt!);

describe('following a job (GET /v1/jobs/:id?wait=)', () => {
  it('a long poll is answered at the job\'s next change at the node (or when its wait is up), and a job that has ended at once; a bad wait is refused', async () => {
    const r = await runRemoteQuery({ config: cluster.config, sql: SQL[0]!, signer: ids.researcher, timeoutMs: 300_000 });
    for (const p of [0, 1, 2] as PartyId[]) {
      // Ended (done, its part readable): answered with the sealed part, whatever the wait.
      const v = await apiRequest<{ status: string; sealed?: unknown }>(cluster.config, p, `/v1/jobs/${r.job}?wait=5000`, { signer: ids.researcher });
      assert.equal(v.status, 200);
      assert.equal(v.body.status, 'done');
      assert.ok(v.body.sealed, `node ${p} answers with its sealed part`);
      for (const bad of ['-1', '5001', 'soon', '1.5', '']) {
        const b = await apiRequest<{ error: string }>(cluster.config, p, `/v1/jobs/${r.job}?wait=${encodeURIComponent(bad)}`, { signer: ids.researcher });
        assert.equal(b.status, 400, `wait=${bad}`);
        assert.match(b.body.error, /^wait must be a whole number of milliseconds from 0 to 5000/);
      }
      // Someone else's job: 403 before any waiting.
      const other = await apiRequest<{ error: string }>(cluster.config, p, `/v1/jobs/${r.job}?wait=5000`, { signer: ids.by('ann') });
      assert.equal(other.status, 403);
    }
    // The runner wakes a waiter when the job changes (every save of its record) ...
    const runner = daemons[1]!.runner;
    const job = runner.get(r.job)!;
    let woken = false;
    const waiting = runner.nextChange(job.id, 120_000).then(() => (woken = true));
    await new Promise((ok) => setImmediate(ok));
    assert.equal(woken, false, 'nothing changed yet');
    runner.save(job);
    await new Promise((ok) => setImmediate(ok));
    assert.equal(woken, true, 'woken by the change');
    await waiting;
    // ... and when its wait is up.
    await runner.nextChange(job.id, 1);
  });
});

describe('concurrent jobs', () => {
  it('ten queries of two researchers submitted together all finish correctly, several at a time at every node', async () => {
    const alone = await Promise.all(SQL.map((sql) => runRemoteQuery({ config: cluster.config, sql, signer: ids.researcher, timeoutMs: 300_000 })));
    const who = [ids.researcher, ids.by('ann')];
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => runRemoteQuery({ config: cluster.config, sql: SQL[i % 3]!, signer: who[i % 2]!, timeoutMs: 300_000 })));
    runs.forEach((r, i) => assert.deepEqual(r.rows, alone[i % 3]!.rows, `query ${i}`));
    for (const d of daemons) {
      const jobs = runs.map((r) => d.runner.get(r.job)!);
      assert.ok(jobs.every((j) => j.status === 'done'));
      const pairs = jobs.flatMap((a, i) => jobs.slice(i + 1).filter((b) => overlaps(a, b)));
      assert.ok(pairs.length > 0, `node ${d.party}: no two jobs ran at the same time`);
      // Never more at once than node 0 allows.
      for (const j of jobs) assert.ok(jobs.filter((k) => Date.parse(k.startedAt!) <= Date.parse(j.startedAt!) && Date.parse(k.finishedAt!) > Date.parse(j.startedAt!)).length <= 3);
    }
  });

  it('fair between requesters, and the requester sees its place in the queue', async () => {
    // The researcher fills the queue; ann's one job goes ahead of the researcher's later ones.
    const subs: { job: string; who: string; queue?: { position: number } }[] = [];
    for (let i = 0; i < 7; i++) {
      const { body } = adhocBody(cluster.config, ids.researcher, SQL[0]!);
      const r = await apiRequest<{ job: string; queue?: { position: number } }>(cluster.config, 0, '/v1/queries', { body, signer: ids.researcher });
      assert.equal(r.status, 202);
      subs.push({ job: r.body.job, who: 'researcher', ...(r.body.queue ? { queue: r.body.queue } : {}) });
    }
    const { body } = adhocBody(cluster.config, ids.by('ann'), SQL[1]!);
    const ann = await apiRequest<{ job: string; queue?: { position: number; queued: number } }>(cluster.config, 0, '/v1/queries', { body, signer: ids.by('ann') });
    assert.equal(ann.status, 202);
    const queuedBefore = subs.filter((s) => daemons[0]!.runner.get(s.job)!.status === 'queued').length;
    if (ann.body.queue) assert.equal(ann.body.queue.position, 1, `ann's job is next (${queuedBefore} of the researcher's jobs queued before it)`);
    // Its status says where it stands while it waits.
    const view = await apiRequest<{ status: string; progress?: string; queue?: { position: number } }>(cluster.config, 0, `/v1/jobs/${ann.body.job}`, { signer: ids.by('ann') });
    if (view.body.status === 'queued') assert.match(view.body.progress!, /^queued: position \d+ of \d+/);
    // Every job finishes; ann's started before the researcher's last ones.
    const done = async (id: string) => {
      for (let i = 0; i < 3000; i++) {
        const j = daemons[0]!.runner.get(id)!;
        if (j.status === 'done' || j.status === 'failed') return j;
        await new Promise((ok) => setTimeout(ok, 100));
      }
      throw new Error(`job ${id} did not finish`);
    };
    const jobs = await Promise.all(subs.map((s) => done(s.job)));
    const annJob = await done(ann.body.job);
    assert.ok([...jobs, annJob].every((j) => j.status === 'done'), [...jobs, annJob].map((j) => j.error).join('; '));
    const later = jobs.filter((j) => Date.parse(j.startedAt!) > Date.parse(annJob.startedAt!));
    assert.ok(later.length >= Math.min(queuedBefore, 3) - 1, `ann's job waited behind ${jobs.length - later.length} of the researcher's jobs`);
  });
});
