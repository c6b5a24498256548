// Output privacy under attack (issue 11): the attacks that read one person out of ordinary query
// results, mounted over many targets against real node daemons, on an un-governed cluster with the
// default output protection, on a control cluster started with --exact-results (to show each
// attack works when nothing protects the output), and on a governed cluster.
//
//   attack 2  differencing: two counts that differ by one person reveal that person's diagnosis
//             (`… AND NOT (birth_date = … AND municipality = … AND sex = 'M')`), padded with
//             `p.sex = 'F' OR …` so the cells are never small; one query pair attacks one target
//             per municipality at once. Also SUM differencing of a person's income.
//   averaging repeating the two queries with small epsilons and averaging: the budget ends it.
//   attack 3  MIN/MAX of one person's value, directly and padded past the small-cell rule.
//
// The attacker's guess is scored against the truth. The bound asserted is the success of the best
// guess from the released numbers, computed exactly from the noise distribution the nodes
// announce (for the defaults: 56.5 % for a membership guess whose prior is 50 %; the differential
// privacy guarantee alone, e^ε/(1 + e^ε) at ε = 1, allows at most 73 %), plus four standard
// errors of the observed rate.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { formatDate } from '../src/ingest/schema.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { approveStudy, signStudy } from '../src/governance/study.js';
import { POLICY_FORMAT, signPolicy, type CustodianPolicy } from '../src/governance/policy.js';
import type { Signer } from '../src/governance/identity.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import type { PrivacySettings } from '../src/node/privacy.js';
import { QueryFailed, runRemoteQuery, type RemoteResult } from '../src/cli/query.js';
import { submitDocument } from '../src/cli/governance-remote.js';
import { noiseForPlan, parseQuery, planAnyQuery } from '../src/query/index.js';
import { fixture, signer } from './governance-fixture.js';
import { localSigners, type LocalSigners } from './identities.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-attacks-'));
const regs = generateRegisters({ citizens: 20_000, seed: 23 });
const P: PartyId[] = [0, 1, 2];

// ---------------------------------------------------------------------------------------------
// The targets: per municipality one man whom the attacker can single out by birth date,
// municipality and sex (as 95 % of a real population can be), half of them with type-2 diabetes.

const col = (r: Register, c: string) => r.columns.get(c)!;
const codes = (name: string) => regs.codeLists.get(name)!.codes;
const pop = regs.population;
const t2d = new Set<bigint>();
{
  const dx = col(regs.contacts, 'diagnosis'), pid = col(regs.contacts, 'person_id');
  const icd = codes('icd10');
  for (let i = 0; i < regs.contacts.length; i++) if (icd[Number(dx[i])]!.startsWith('E11')) t2d.add(pid[i]!);
}
const income = new Map<bigint, number>();
{
  const pid = col(regs.income, 'person_id'), inc = col(regs.income, 'income'), yr = col(regs.income, 'year');
  for (let i = 0; i < regs.income.length; i++) if (Number(yr[i]) === 2023) income.set(pid[i]!, Number(BigInt.asIntN(64, inc[i]!)));
}

interface Target {
  municipality: string;
  birth: string;
  diabetic: boolean;
  /** Income 2023 clamped to 2 million (undefined: no income row), and as it is. */
  income?: number;
  rawIncome?: number;
}

function pickTargets(wantIncome: boolean): Target[] {
  const key = new Map<string, number>();
  const mun = col(pop, 'municipality'), sex = col(pop, 'sex'), birth = col(pop, 'birth_date'), pid = col(pop, 'person_id');
  const men = codes('sex').indexOf('M');
  for (let i = 0; i < pop.length; i++) {
    const k = `${mun[i]}|${birth[i]}|${sex[i]}`;
    key.set(k, (key.get(k) ?? 0) + 1);
  }
  const out: Target[] = [];
  const names = codes('municipality');
  for (let m = 0; m < names.length; m++) {
    const wantDiabetic = m % 2 === 0;
    for (let i = 0; i < pop.length; i++) {
      if (Number(mun[i]) !== m || Number(sex[i]) !== men || key.get(`${mun[i]}|${birth[i]}|${sex[i]}`) !== 1) continue;
      const inc = income.get(pid[i]!);
      if (wantIncome ? inc === undefined || inc <= 0 : t2d.has(pid[i]!) !== wantDiabetic) continue;
      out.push({ municipality: names[m]!, birth: formatDate(Number(BigInt.asIntN(64, birth[i]!))), diabetic: t2d.has(pid[i]!), ...(inc !== undefined ? { income: Math.min(inc, 2_000_000), rawIncome: inc } : {}) });
      break;
    }
  }
  return out;
}

const exclude = (ts: Target[], alias = 'p') => ts.map((t) => ` AND NOT (${alias}.birth_date = '${t.birth}' AND ${alias}.municipality = '${t.municipality}' AND ${alias}.sex = 'M')`).join('');
const T2D = "EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%')";
/** Attack 2: diabetic men plus every woman, by municipality; the second query without the targets. */
const countSql = (ts: Target[] | null) => `SELECT p.municipality, COUNT(*) AS n FROM population p WHERE (p.sex = 'F' OR ${T2D})${ts ? exclude(ts) : ''} GROUP BY p.municipality`;
/** SUM differencing: everyone's clamped income by municipality; the second query without the targets. */
const incomeSql = (ts: Target[] | null) => `SELECT p.municipality, SUM(LEAST(i.income, 2000000)) AS total FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023${ts ? ` WHERE TRUE${exclude(ts)}` : ''} GROUP BY p.municipality`;

/** Value of column 1 per municipality (suppressed cells absent). */
const byMunicipality = (r: RemoteResult) => new Map(r.rows.map((row) => [String(row[0]), Number(row[1])]));

/** The attacker's membership guesses from two released tables: D = with − without ≥ threshold. */
function membershipGuesses(ts: Target[], withT: Map<string, number>, without: Map<string, number>, threshold: number): { right: number; n: number; visible: number } {
  let right = 0, visible = 0;
  for (const t of ts) {
    const a = withT.get(t.municipality), b = without.get(t.municipality);
    const seen = a !== undefined && b !== undefined;
    if (seen) visible++;
    const guess = seen ? a! - b! >= threshold : false;
    if (guess === t.diabetic) right++;
  }
  return { right, n: ts.length, visible };
}

/**
 * The success of the best guess at a 50 % prior when the attacker sees D = shift·member + W, W the
 * sum of the given symmetric noises, and guesses "member" iff D ≥ shift/2: (P(D ≥ shift/2 | member)
 * + P(D < shift/2 | not)) / 2, by exact convolution of the noise distributions (tails beyond
 * ±support dropped: below 1e-15 at the scales used).
 */
function bestGuessRate(pmfs: ((z: number) => number)[], support: number, shift = 1): number {
  let w = new Map<number, number>([[0, 1]]);
  for (const pmf of pmfs) {
    const next = new Map<number, number>();
    for (const [x, px] of w) for (let z = -support; z <= support; z++) {
      const q = px * pmf(z);
      if (q > 1e-300) next.set(x + z, (next.get(x + z) ?? 0) + q);
    }
    w = next;
  }
  let member = 0, non = 0;
  for (const [x, p] of w) {
    if (shift + x >= shift / 2) member += p;
    if (x < shift / 2) non += p;
  }
  return (member + non) / 2;
}
const laplacePmf = (scale: number) => {
  const a = Math.exp(-1 / scale);
  return (z: number) => ((1 - a) / (1 + a)) * a ** Math.abs(z);
};

/** The noise scale the nodes use for a count-only query at epsilon (public: noiseForPlan). */
function countScale(sql: string, epsilon: number): number {
  const { plan, join } = planAnyQuery(parseQuery(sql), new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }])));
  const s = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon }).sums[0]!;
  assert.equal(s.latticeBits, 0);
  return (s.sampler as { scale: number }).scale;
}

/** observed ≤ bound + 4 standard errors of a rate over n trials (a false alarm: < 1 in 30 000). */
function atMost(right: number, n: number, bound: number, what: string): void {
  const rate = right / n;
  const slack = 4 * Math.sqrt((bound * (1 - bound)) / n);
  assert.ok(rate <= bound + slack, `${what}: the attacker was right ${right} of ${n} times (${(100 * rate).toFixed(1)} %), above the bound ${(100 * bound).toFixed(1)} % + ${(100 * slack).toFixed(1)} %`);
}

// ---------------------------------------------------------------------------------------------
// Clusters

interface Cluster {
  lc: LocalCluster;
  daemons: Daemon[];
  ids: LocalSigners;
}

async function cluster(name: string, privacy: Partial<PrivacySettings>, consortium?: string): Promise<Cluster> {
  const lc = await createLocalCluster(join(root, name));
  await writeApiPorts(lc.dir);
  const ids = localSigners(lc.dir, [{ name: 'mallory', role: 'researcher' }, { name: 'eve', role: 'researcher' }, { name: 'trudy', role: 'researcher' }]);
  const daemons: Daemon[] = [];
  for (const p of P) daemons.push(await startDaemon({ dir: lc.dir, party: p, privacy, log: () => {}, ...(consortium ? { consortium } : {}) }));
  return { lc, daemons, ids };
}

async function upload(c: Cluster, by: (r: Register) => Signer): Promise<void> {
  for (const r of [regs.population, regs.contacts, regs.income]) {
    await uploadDataset({ config: c.lc.config, dataset: { schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns }, version: 'v1', signer: by(r) });
  }
}

const q = (c: Cluster, who: Signer, sql: string, epsilon?: number) => runRemoteQuery({ config: c.lc.config, sql, signer: who, ...(epsilon !== undefined ? { epsilon } : {}) });

let guarded: Cluster;
let control: Cluster;

before(async () => {
  guarded = await cluster('guarded', {});
  control = await cluster('control', { exact: true });
  await upload(guarded, () => guarded.ids.custodian);
  await upload(control, () => control.ids.custodian);
});

after(async () => {
  for (const c of [guarded, control]) for (const d of c?.daemons ?? []) await d.close();
  rmSync(root, { recursive: true, force: true });
});

describe('attacks on the output (un-governed cluster, default protection)', () => {
  const targets = pickTargets(false);

  it('the targets: one man per municipality, singled out by birth date, municipality and sex; about half with type-2 diabetes', () => {
    assert.ok(targets.length >= 60, `${targets.length} targets`);
    const share = targets.filter((t) => t.diabetic).length / targets.length;
    assert.ok(share > 0.3 && share < 0.7, `diabetic share ${share}`);
  });

  it('attack 2 (differencing) works without protection: every visible target\'s diagnosis, exactly', async () => {
    const a = byMunicipality(await q(control, control.ids.by('mallory'), countSql(null)));
    const b = byMunicipality(await q(control, control.ids.by('mallory'), countSql(targets)));
    const g = membershipGuesses(targets, a, b, 1);
    assert.ok(g.visible >= targets.length - 3, `${g.visible} of ${targets.length} visible`);
    assert.ok(g.right >= g.visible, `exact results: right ${g.right} of ${g.n}`);
  });

  it('attack 2 under protection: the whole budget spent on two counts, right about as often as a coin', async () => {
    let right = 0, n = 0;
    // Two researchers, each spending their whole budget (epsilon 1) on one query pair.
    for (const who of [guarded.ids.by('mallory'), guarded.ids.by('eve')]) {
      const a = await q(guarded, who, countSql(null), 0.5);
      const b = await q(guarded, who, countSql(targets), 0.5);
      assert.equal(a.protection.kind, 'dp');
      const g = membershipGuesses(targets, byMunicipality(a), byMunicipality(b), 1);
      right += g.right;
      n += g.n;
      // The budget is spent: a third query is refused at every node before anything runs.
      await assert.rejects(q(guarded, who, countSql(null), 0.1), (e: unknown) => {
        assert.ok(e instanceof QueryFailed);
        assert.equal(e.status, 403);
        for (const node of ['node-a', 'node-b', 'node-c']) assert.match(e.message, new RegExp(`${node}\\): researcher '${who.name}': query 'ad hoc' needs epsilon 0\\.1, but only 0 of researcher '${who.name}''s 1 remain`));
        return true;
      });
    }
    const s = countScale(countSql(null), 0.5);
    const bound = bestGuessRate([laplacePmf(s), laplacePmf(s)], 80);
    assert.ok(Math.abs(bound - 0.5649) < 0.001, `best guess rate ${bound}`);
    atMost(right, n, bound, 'differencing');
  });

  it('averaging: ten runs at epsilon 0.1 (the whole budget), summed, then refused; still about a coin', async () => {
    const who = guarded.ids.by('trudy');
    // Per municipality: the sum of the five released values, and in how many runs it was released.
    const sums = [new Map<string, number>(), new Map<string, number>()];
    const seen = [new Map<string, number>(), new Map<string, number>()];
    for (let i = 0; i < 5; i++) {
      for (const k of [0, 1]) {
        for (const [m, v] of byMunicipality(await q(guarded, who, countSql(k === 0 ? null : targets), 0.1))) {
          sums[k]!.set(m, (sums[k]!.get(m) ?? 0) + v);
          seen[k]!.set(m, (seen[k]!.get(m) ?? 0) + 1);
        }
      }
    }
    await assert.rejects(q(guarded, who, countSql(null), 0.1), /needs epsilon 0\.1, but only 0 of researcher 'trudy''s 1 remain/);
    // Cells released in all five runs of both queries count; the others are guessed "no".
    const full = (k: number) => new Map([...sums[k]!].filter(([m]) => seen[k]!.get(m) === 5));
    const g = membershipGuesses(targets, full(0), full(1), 2.5);
    const s = countScale(countSql(null), 0.1);
    // The best guess from the sum of the five differences: D = 5·member + the sum of ten noises.
    const bound = bestGuessRate(Array.from({ length: 10 }, () => laplacePmf(s)), 200, 5);
    assert.ok(bound > 0.5 && bound < 0.54, `best guess rate ${bound}`);
    atMost(g.right, g.n, bound, 'averaging');
  });

  it('SUM differencing: one person\'s income is lost in the noise (exact without protection)', async () => {
    const rich = pickTargets(true);
    assert.ok(rich.length >= 60);
    const exact = [byMunicipality(await q(control, control.ids.by('eve'), incomeSql(null))), byMunicipality(await q(control, control.ids.by('eve'), incomeSql(rich)))];
    const protectedRuns = [byMunicipality(await q(guarded, guarded.ids.researcher, incomeSql(null), 0.5)), byMunicipality(await q(guarded, guarded.ids.researcher, incomeSql(rich), 0.5))];
    const close = (runs: Map<string, number>[]) => rich.filter((t) => {
      const a = runs[0]!.get(t.municipality), b = runs[1]!.get(t.municipality);
      return a !== undefined && b !== undefined && Math.abs(a - b - t.income!) <= 0.1 * t.income!;
    }).length;
    assert.ok(close(exact) >= rich.length - 3, `exact: ${close(exact)} of ${rich.length} incomes read to within 10 %`);
    // Protected: noise of sd ≈ 11 million DKK on each sum; an income within ±10 % by chance only.
    atMost(close(protectedRuns), rich.length, 0.01, 'income within 10 %');
  });

  it('attack 3: MIN and MAX, direct or padded past the small-cell rule, are refused at submission', async () => {
    const t = pickTargets(true).find((x) => x.rawIncome! > 100_000)!;
    for (const sql of [
      'SELECT MAX(income), MIN(income) FROM income',
      `SELECT MAX(i.income) FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE (p.birth_date = '${t!.birth}' AND p.municipality = '${t!.municipality}') OR i.income < 20000`,
    ]) {
      await assert.rejects(q(guarded, guarded.ids.researcher, sql), (e: unknown) => {
        assert.ok(e instanceof QueryFailed);
        assert.equal(e.status, 400);
        assert.match(e.message, /releases one person's exact value .* noisy histogram/);
        return true;
      });
    }
    // Without protection the padded MAX is the target's income: the attack is real.
    const r = await q(control, control.ids.researcher, `SELECT MAX(i.income) FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE (p.sex = 'M' AND p.birth_date = '${t.birth}' AND p.municipality = '${t.municipality}') OR i.income < 20000`);
    assert.deepEqual(r.rows, [[t.rawIncome]]);
  });
});

describe('attacks on the output (governed cluster, a permissive custodian)', () => {
  const F = fixture();
  let gov: Cluster;
  const targets = pickTargets(false);

  before(async () => {
    const file = join(root, 'consortium.json');
    writeFileSync(file, JSON.stringify(F.config, null, 2));
    gov = await cluster('governed', {}, file);
    await upload(gov, (r) => signer(r.schema.custodian === 'cpr' ? F.cpr : r.schema.custodian === 'dst' ? F.dst : F.sds));
    // Policies that allow everything the attack needs: the output protection must hold anyway.
    const open = (custodian: string, dataset: string, cols: string[]): CustodianPolicy => ({
      format: POLICY_FORMAT, custodian, issuedAt: '2024-01-01T00:00:00Z',
      datasets: [{ dataset, purposes: ['public-health'], minCellSize: 5, columns: Object.fromEntries(cols.map((c) => [c, { roles: ['join-key', 'filter', 'group', 'aggregate'] }])) }],
    });
    await submitDocument(gov.lc.config, 'policy', signPolicy(open('cpr', 'population', ['person_id', 'sex', 'birth_date', 'municipality', 'region']), F.consortium, signer(F.cpr)), signer(F.cpr));
    await submitDocument(gov.lc.config, 'policy', signPolicy(open('sundhedsdatastyrelsen', 'contacts', ['person_id', 'diagnosis']), F.consortium, signer(F.sds)), signer(F.sds));
    await submitDocument(gov.lc.config, 'policy', signPolicy(open('dst', 'income', ['person_id', 'year', 'income']), F.consortium, signer(F.dst)), signer(F.dst));
  });

  after(async () => {
    for (const d of gov?.daemons ?? []) await d.close();
  });

  it('attack 2 as an approved study: the differencing pair runs, and guesses no better than the bound', async () => {
    const now = Date.now();
    const study = signStudy(F.study({
      id: 'differencing',
      datasets: [{ name: 'population', columns: ['person_id', 'sex', 'birth_date', 'municipality'] }, { name: 'contacts', columns: ['person_id', 'diagnosis'] }, { name: 'income', columns: ['income'] }],
      queries: [{ id: 'with', sql: countSql(null), epsilon: 0.5 }, { id: 'without', sql: countSql(targets), epsilon: 0.5 }, { id: 'max', sql: 'SELECT MAX(income) FROM income', epsilon: 0.5 }],
      privacy: { epsilon: 5 },
      validFrom: new Date(now - 86_400_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(), createdAt: new Date(now - 86_400_000).toISOString(),
    }), signer(F.alice));
    const alice = signer(F.alice);
    await submitDocument(gov.lc.config, 'study', study, alice);
    for (const c of [F.cpr, F.sds, F.dst]) await submitDocument(gov.lc.config, 'approval', approveStudy(study, F.consortium, signer(c)), signer(c));
    const run = (id: string) => runRemoteQuery({ config: gov.lc.config, sql: study.study.queries.find((x) => x.id === id)!.sql!, signer: alice, study, queryId: id });
    const a = await run('with');
    const b = await run('without');
    assert.equal(a.protection.kind, 'dp');
    const g = membershipGuesses(targets, byMunicipality(a), byMunicipality(b), 1);
    const s = countScale(countSql(null), 0.5);
    atMost(g.right, g.n, bestGuessRate([laplacePmf(s), laplacePmf(s)], 80), 'governed differencing');
    // The researcher's own budget (1) is spent, whatever the study's (5) says.
    await assert.rejects(run('with'), /researcher 'alice': query 'with' needs epsilon 0\.5, but only 0 of researcher 'alice''s 1 remain/);
    // Attack 3 in a study: MAX is refused before anything runs (and charges nothing).
    await assert.rejects(run('max'), (e: unknown) => {
      assert.ok(e instanceof QueryFailed);
      assert.equal(e.status, 400);
      assert.match(e.message, /releases one person's exact value/);
      return true;
    });
  });
});
