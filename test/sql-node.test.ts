// The SQL forms of issue 17 through the nodes' API, as `mosaik query` runs them: three node daemons
// with generated registers uploaded, each query signed by the researcher, run in MPC at the nodes
// (results kept secret-shared there) and combined by the requester; the rows equal the in-process
// run, which test/sql-*.test.ts check against SQLite.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runRemoteQuery } from '../src/cli/query.js';
import { generateRegisters } from '../src/demo/registers.js';
import { inPersonOrder } from '../src/ingest/person-order.js';
import { uploadDataset } from '../src/ingest/upload.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { localSigners, type LocalSigners } from './identities.js';
import { sqlCheck, type SqlCheck } from './sql-check.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-sql-node-'));
const regs = generateRegisters({ citizens: 600, seed: 71, incomeYears: [2024] });
let cluster: LocalCluster;
let ids: LocalSigners;
let check: SqlCheck;
const daemons: Daemon[] = [];

before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  ids = localSigners(cluster.dir);
  for (const p of [0, 1, 2] as PartyId[]) daemons.push(await startDaemon({ dir: cluster.dir, party: p, log: () => {}, privacy: { exact: true } }));
  for (const r of [regs.population, regs.contacts, regs.prescriptions]) {
    await uploadDataset({ config: cluster.config, dataset: { schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns }, version: 'v1', signer: ids.custodian });
  }
  check = await sqlCheck(regs.all, regs.codeLists, 5);
});
after(async () => {
  for (const d of daemons) await d.close();
  rmSync(root, { recursive: true, force: true });
});

const QUERIES = {
  'COUNT(DISTINCT) ranked inside MPC (the cohort comorbidity top 10)': `WITH cohort AS (SELECT person_id FROM contacts WHERE diagnosis LIKE 'E11%')
    SELECT c.diagnosis, COUNT(DISTINCT c.person_id) AS persons FROM contacts c WHERE c.person_id IN (SELECT person_id FROM cohort) GROUP BY c.diagnosis ORDER BY persons DESC LIMIT 5`,
  'SELECT DISTINCT': 'SELECT DISTINCT region, sex FROM contacts',
  'arithmetic across registers': 'SELECT p.sex, COUNT(*) AS n, AVG(c.admission_date - p.birth_date) AS age_days, SUM(c.length_of_stay * 2) AS d FROM population p JOIN contacts c ON c.person_id = p.person_id GROUP BY p.sex',
  'a window function (recurrent contacts)': `WITH s AS (SELECT person_id, region, admission_date, LEAD(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date) AS next_adm FROM contacts)
    SELECT region, COUNT(*) AS n FROM s WHERE next_adm - admission_date <= 60 GROUP BY region`,
  'a many-to-many join with a declared bound': `SELECT c.region, COUNT(*) AS n FROM contacts c
    JOIN (SELECT person_id, date, ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY date) AS k FROM prescriptions) r ON r.person_id = c.person_id AND r.k <= 3 GROUP BY c.region`,
};

/** Runs each query (remoteEqualsLocal) and returns, per query, how much each node's counters (`count`) grew. */
async function countersPerQuery(queries: string[], count: () => number[][]): Promise<number[][][]> {
  const steps: number[][][] = [];
  let last = count();
  for (const sql of queries) {
    await remoteEqualsLocal(sql);
    const now = count();
    steps.push(now.map((c, i) => c.map((x, k) => x - last[i]![k]!)));
    last = now;
  }
  return steps;
}

/** Runs `sql` at the nodes as `mosaik query` does and checks its rows against the in-process run. */
async function remoteEqualsLocal(sql: string) {
  const remote = await runRemoteQuery({ config: cluster.config, sql, signer: ids.researcher, timeoutMs: 300_000 });
  const local = await check.run(sql);
  assert.ok(remote.rows.length > 0, 'some cells are released');
  // Equal, fixed-point results (AVG) within their rounding: each run draws its own randomness.
  assert.equal(remote.rows.length, local.rows!.length);
  remote.rows.forEach((row, i) => row.forEach((v, k) => {
    const w = local.rows![i]![k]!;
    if (typeof v === 'number' && !Number.isInteger(v)) assert.ok(Math.abs(v - Number(w)) <= 1e-3, `${v} vs ${w}`);
    else assert.equal(v, w);
  }));
  return { remote, local };
}

describe('the SQL forms of issue 17 at the node daemons', () => {
  for (const [what, sql] of Object.entries(QUERIES)) {
    it(what, async () => {
      const { remote, local } = await remoteEqualsLocal(sql);
      assert.deepEqual([remote.suppressedCount, remote.ranked], [local.suppressedCount, local.ranked]);
    });
  }

  it('grouped queries on one register: the nodes make one-hot indicators at the second query that can use them, later queries use them, same rows', async () => {
    const made = () => daemons.map((d) => d.runner.indicatorCache.made);
    const queries = [
      'SELECT age_band, COUNT(*) AS n, AVG(amount) AS ddd FROM prescriptions GROUP BY age_band',
      "SELECT age_band, COUNT(*) AS n, SUM(amount) AS ddd FROM prescriptions WHERE age_band <> '00-04' GROUP BY age_band",
      'SELECT age_band, COUNT(*) AS n FROM prescriptions GROUP BY age_band HAVING COUNT(*) > 20',
    ];
    const before = made();
    const added: number[][] = [];
    for (const sql of queries) {
      await remoteEqualsLocal(sql);
      added.push(made().map((m, i) => m - before[i]!));
    }
    // First query: comparisons (and noted); second: age_band's indicators made at every node; third: kept ones used.
    assert.deepEqual(added, [[0, 0, 0], [1, 1, 1], [1, 1, 1]]);
    for (const d of daemons) assert.ok(d.runner.indicatorCache.stats.entries >= 1);
  });

  it('joins of the same registers: the first sorts by person and the nodes keep its line-up, the next ones (other conditions, groups, aggregates) reuse it, same rows', async () => {
    const count = () => daemons.map((d) => [d.runner.lineupCache.made, d.runner.lineupCache.used]);
    const queries = [
      "SELECT p.region, COUNT(*) AS n FROM population p JOIN prescriptions r ON r.person_id = p.person_id WHERE r.atc LIKE 'C10%' GROUP BY p.region",
      "SELECT p.sex, COUNT(*) AS n, SUM(r.amount) AS ddd FROM population p JOIN prescriptions r ON r.person_id = p.person_id WHERE r.atc LIKE 'A10%' GROUP BY p.sex",
      "SELECT p.region, COUNT(*) AS n FROM population p JOIN prescriptions r ON r.person_id = p.person_id WHERE p.sex = 'F' GROUP BY p.region",
    ];
    const steps = await countersPerQuery(queries, count);
    // Made at every node by the first join; used by the second and the third.
    assert.deepEqual(steps, [[[1, 0], [1, 0], [1, 0]], [[0, 1], [0, 1], [0, 1]], [[0, 1], [0, 1], [0, 1]]]);
  });

  it('a join under the same conditions as the one before (other groups or aggregates, columns it read): the nodes take its kept joined rows; a node that lost them makes all three join again, same rows', async () => {
    const count = () => daemons.map((d) => [d.runner.joinedCache.made, d.runner.joinedCache.used]);
    const on = "FROM population p JOIN prescriptions r ON r.person_id = p.person_id WHERE r.atc LIKE 'N02%'";
    const queries = [`SELECT p.region, p.sex, COUNT(*) AS n ${on} GROUP BY p.region, p.sex`, `SELECT p.region, COUNT(*) AS n ${on} GROUP BY p.region`, `SELECT p.sex, COUNT(*) AS n ${on} GROUP BY p.sex`];
    const steps = await countersPerQuery(queries, count);
    // [joined rows made, used] at each node: made by the first join, taken by the second and third.
    assert.deepEqual(steps, [[[1, 0], [1, 0], [1, 0]], [[0, 1], [0, 1], [0, 1]], [[0, 1], [0, 1], [0, 1]]]);
    // Node 1 lost them (e.g. restarted): the three agree that not all hold them, join again and keep the rows anew.
    daemons[1]!.runner.joinedCache.clear();
    assert.deepEqual(await countersPerQuery([queries[2]!], count), [[[1, 0], [1, 0], [1, 0]]]);
  });

  it('an EXISTS is made once per register pair and condition, kept as a flag per population row, and later queries with it do not join its register again, same rows', async () => {
    const count = () => daemons.map((d) => [d.runner.existsCache.made, d.runner.existsCache.used, d.runner.lineupCache.made, d.runner.lineupCache.used]);
    const queries = [
      "SELECT p.region, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'C10%') GROUP BY p.region",
      // The same EXISTS beside a join of contacts: population ⋈ contacts only.
      "SELECT c.hospital, COUNT(*) AS n FROM population p JOIN contacts c ON c.person_id = p.person_id WHERE EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'C10%') GROUP BY c.hospital",
      // Another condition: another flag, made by a join of the same two registers (its line-up kept).
      "SELECT p.region, COUNT(*) AS n FROM population p WHERE NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id) GROUP BY p.region",
    ];
    const steps = await countersPerQuery(queries, count);
    // [flags made, flags used, line-ups made, line-ups used] at each node, per query. The second
    // query's population ⋈ contacts sorts, or uses the line-up of an earlier test's join of the two.
    const q2 = steps[1]!.map(([m, u, lm, lu]) => [m, u, lm! + lu!]);
    assert.deepEqual([steps[0], q2, steps[2]], [
      [[1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 1, 0]],
      [[0, 1, 1], [0, 1, 1], [0, 1, 1]],
      [[1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]],
    ]);
  });

  it('registers uploaded in person order: an EXISTS flag made by the merge network alone, its network kept, and another condition over the same two registers takes it again, same rows', async () => {
    // Last in this file: new versions of the two registers, as `mosaik ingest` uploads them.
    for (const r of [regs.population, regs.prescriptions]) {
      const dataset = inPersonOrder({ schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns });
      assert.ok(dataset.sortedBy);
      await uploadDataset({ config: cluster.config, dataset, version: 'v2-in-person-order', signer: ids.custodian });
    }
    const count = () => daemons.map((d) => [d.runner.existsCache.made, d.runner.existsCache.used, d.runner.lineupCache.made, d.runner.lineupCache.used]);
    const steps = await countersPerQuery([
      "SELECT p.region, COUNT(*) AS n FROM population p WHERE EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'C10%') GROUP BY p.region",
      "SELECT p.sex, COUNT(*) AS n FROM population p WHERE NOT EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'N02%') GROUP BY p.sex",
    ], count);
    // [flags made, flags used, line-ups made, line-ups used]: the first keeps its network, the second takes it.
    assert.deepEqual(steps, [[[1, 0, 1, 0], [1, 0, 1, 0], [1, 0, 1, 0]], [[1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]]]);
  });

  it('a many-to-many join without a bound is refused before any MPC, naming the syntax', async () => {
    await assert.rejects(
      runRemoteQuery({ config: cluster.config, sql: 'SELECT COUNT(*) FROM contacts c JOIN prescriptions r ON r.person_id = c.person_id', signer: ids.researcher, timeoutMs: 60_000 }),
      /both have many rows per person .*ROW_NUMBER\(\) OVER \(PARTITION BY person_id ORDER BY date\) AS k FROM prescriptions/,
    );
  });
});
