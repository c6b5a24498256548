// Node daemons with worker threads (`mosaik node --workers`, src/mpc/core-pool.ts): three daemon
// processes offering different worker counts agree on the smallest; a grouped sum and a product of
// two columns over more rows than the pool's threshold run on the workers and equal the plaintext,
// also as two jobs at once (one node's workers on a port range, --worker-ports); the same query on
// daemons without workers gives the same answer; a port range that is not one is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runRemoteQuery } from '../src/cli/query.js';
import type { CodeList, DatasetSchema } from '../src/ingest/schema.js';
import { CORE_MIN_LANES } from '../src/mpc/core-pool.js';
import { splitShares } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/api.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { localSigners, type LocalSigners } from './identities.js';
import { portRangeStart } from './harness.js';
import { jobAt, NodeProcs, stopInPausedJob } from './node-procs.js';

const SCHEMA: DatasetSchema = {
  name: 'stays',
  custodian: 'test-hospital',
  columns: [
    { name: 'sex', type: 'code', codeList: 'sex' },
    { name: 'stay', type: 'int', min: 0, max: 60 },
    { name: 'cost', type: 'int', min: 0, max: 1000 },
  ],
};
const CODES: CodeList[] = [{ name: 'sex', codes: ['F', 'M'] }];
const N = CORE_MIN_LANES + 4321; // above the threshold, and not a multiple of two workers' slices
const rows = (() => {
  let s = 777;
  const rnd = (m: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % m);
  return Array.from({ length: N }, () => ({ sex: rnd(2), stay: rnd(61), cost: rnd(1001) }));
})();

function uploadBody(party: number): Buffer {
  const header = Buffer.from(JSON.stringify({ schema: SCHEMA, codeLists: CODES, rows: N, columns: SCHEMA.columns.map((c) => c.name), party }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const parts: Buffer[] = [len, header];
  for (const c of SCHEMA.columns) {
    const sh = shares.get(c.name)![party]!;
    parts.push(Buffer.from(sh.a.buffer, sh.a.byteOffset, sh.a.byteLength), Buffer.from(sh.b.buffer, sh.b.byteOffset, sh.b.byteLength));
  }
  return Buffer.concat(parts);
}
const shares = new Map(SCHEMA.columns.map((c) => [c.name, splitShares(BigUint64Array.from(rows, (r) => BigInt((r as Record<string, number>)[c.name]!)))]));

const root = mkdtempSync(join(tmpdir(), 'mosaik-cores-node-'));
const BIN = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin', 'mosaik.js');
const P: PartyId[] = [0, 1, 2];
let cluster: LocalCluster;
let ids: LocalSigners;
let nodes: NodeProcs[] = [];

/** Three daemons, node p with `--workers workers[p]` (none for 0) and `extra[p]`. */
async function startCluster(workers: number[], env: Record<string, string> = {}, extra: string[][] = []): Promise<void> {
  await Promise.all(nodes.map((n) => n.stopAll()));
  // A receive timeout longer than the tests' waits: a failure must come from the heartbeats.
  nodes = P.map((p) => new NodeProcs(cluster, ['--connect-timeout', '4000', '--recv-timeout', '100000', '--exact-results', ...(workers[p] ? ['--workers', String(workers[p])] : []), ...(extra[p] ?? [])]));
  await Promise.all(P.map((p) => nodes[p]!.start(p, env)));
}

const SQL = 'SELECT sex, COUNT(*) AS n, SUM(stay) AS days, SUM(stay * cost) AS spent FROM stays GROUP BY sex';
const want = [0, 1].map((sex) => {
  const mine = rows.filter((r) => r.sex === sex);
  return [['F', 'M'][sex], mine.length, mine.reduce((t, r) => t + r.stay, 0), mine.reduce((t, r) => t + r.stay * r.cost, 0)];
});
const run = () =>
  runRemoteQuery({ config: cluster.config, sql: SQL, signer: ids.researcher, timeoutMs: 120_000 }).catch((e: Error) => {
    e.message += `\n--- node logs ---\n${nodes.map((n, p) => `[node ${p}] ${n.logs[p]!.slice(-3000)}`).join('\n')}`;
    throw e;
  });

before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  ids = localSigners(cluster.dir);
  await startCluster([0, 0, 0]);
  for (const p of P) {
    const r = await apiRequest<{ error?: string }>(cluster.config, p, `/v1/datasets/stays/versions/v1`, { method: 'PUT', body: uploadBody(p), signer: ids.custodian });
    assert.equal(r.status, 201, r.body.error);
  }
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stopAll()));
  rmSync(root, { recursive: true, force: true });
});

describe('node daemons with worker threads', () => {
  it('refuses a port range that is not one, saying what to give', () => {
    const r = spawnSync(process.execPath, [BIN, 'node', '--dir', cluster.dir, '--party', '0', '--workers', '2', '--worker-ports', '7200-7100'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--worker-ports <from-to>.*'7200-7100' is invalid\. give from-to, e\.g\. 7100-7131 \(ports 1\.\.65535, from ≤ to\)/);
  });

  it('a grouped sum and a product of columns on two workers per node equal the plaintext, as on one thread', async () => {
    const one = await run();
    assert.deepEqual(one.rows, want);
    assert.deepEqual(one.parts.map((x) => x.timings.workers), [1, 1, 1]);
    // Node 1 listens for its workers' counterparts on a range of ports only (a firewall's opening).
    const from = portRangeStart(16);
    await startCluster([2, 3, 2], {}, [[], ['--worker-ports', `${from}-${from + 15}`]]);
    const two = await run();
    assert.deepEqual(two.rows, want);
    assert.deepEqual(two.parts.map((x) => x.timings.workers), [2, 2, 2], 'the smallest count offered');
    // Two jobs at once: each with its own workers and channels (one takes the threads started ahead).
    const both = await Promise.all([run(), run()]);
    for (const r of both) {
      assert.deepEqual(r.rows, want);
      assert.deepEqual(r.parts.map((x) => x.timings.workers), [2, 2, 2]);
    }
    // One node without workers: every node runs on its own thread. (Its port range has no use: said.)
    await startCluster([2, 0, 2], {}, [[], ['--worker-ports', `${from}-${from + 15}`]]);
    assert.match(nodes[1]!.logs[1]!, /note: --worker-ports has no effect without --workers 2 or more/);
    const mixed = await run();
    assert.deepEqual(mixed.rows, want);
    assert.deepEqual(mixed.parts.map((x) => x.timings.workers), [1, 1, 1]);
  });

  it('a node stopped (SIGSTOP) in a job with workers fails the job at its peers by its silence', async () => {
    await startCluster([2, 2, 2], { MOSAIK_TEST_JOB_PAUSE_MS: '2000' });
    // Node 2 is in the job, its workers connected, paused before its first round: stop it there.
    // (Its peers then wait on the job's own channel; a peer waiting in its workers' round is
    // stopped by the same silence through the pool's abort: test/core-pool.test.ts.)
    const { job, client } = await stopInPausedJob({ config: cluster.config, signer: ids.researcher, sql: 'SELECT SUM(stay * cost) AS spent FROM stays', timeoutMs: 90_000, party: 2, proc: nodes[2]!.procs[2]! });
    await assert.rejects(client, (e: Error) => /no sign of life from party 2 \(node-c\)/.test(e.message));
    for (const p of [0, 1] as PartyId[]) {
      const j = await jobAt(cluster.config, ids.researcher, p, job);
      assert.equal(j.status, 'failed');
      assert.match(j.error!, /no sign of life from party 2 \(node-c\)/);
    }
    nodes[2]!.procs[2]!.kill('SIGCONT');
  });
});
