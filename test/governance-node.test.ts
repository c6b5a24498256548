// Governance at the nodes, end to end (issue 6): three `mosaik node` processes run governed (a
// consortium configuration), custodians register their signed policies, a researcher's study and
// the custodians' approvals are registered at every node, and queries run only with a signed
// request for a registered, approved, valid study whose use of every column the custodians'
// policies allow. Each refusal (an approval missing, expired, purpose not allowed, forbidden
// column, replayed request) is the job's error at EVERY node, each of which checked on its own;
// unsigned or tampered studies are not even registered, and a study that was signed and approved
// but never registered does not run. The nodes run with --exact-results so that the consent filter
// can be checked cell by cell (output protection and budgets: test/output-privacy.test.ts). The consent filter runs inside MPC: a citizen's
// withdrawal, published by the consent custodian as a new register version, changes the next run
// exactly as the plaintext rule (src/governance/consent.ts) says. Usage and budget are recorded
// per node; studies, approvals, policies and consent updates are in the transparency log.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { generateRegisters } from '../src/demo/registers.js';
import { decodeValue } from '../src/ingest/schema.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { consentDecision, unixSeconds, writeConsentFile, type ConsentEvent } from '../src/governance/consent.js';
import { approveStudy, signQueryRequest, signStudy, type Approval, type NewStudy, type SignedStudy } from '../src/governance/study.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/api.js';
import { writeApiPorts } from '../src/node/daemon.js';
import type { Job } from '../src/node/jobs.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { newResultKeyPair } from '../src/governance/sealed.js';
import type { QueryRequest } from '../src/governance/study.js';
import { adhocBody } from './identities.js';
import { fetchUsageAll, publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import { registerGovernanceCommands } from '../src/cli/governance.js';
import type { LedgerEntry } from '../src/ledger/entry.js';
import { fixture, POP_SQL, signer, type Party } from './governance-fixture.js';
import { runRemoteStat } from '../src/cli/stats.js';
import { parseStatistic, statisticText } from '../src/stats/service.js';
import { signPolicy, type CustodianPolicy } from '../src/governance/policy.js';
import { withColumnMemory } from '../src/ring/column-memory.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-govnode-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const procs: (ChildProcess | null)[] = [null, null, null];
const logs = ['', '', ''];
let cluster: LocalCluster;

const DAY = 86_400_000;
const NOW = Date.now();
const iso = (t: number) => new Date(t).toISOString();
const regs = generateRegisters({ citizens: 400, seed: 11 });
const pop = regs.population;

// Files the CLI reads: the consortium (public keys inline), the researcher's and the consent custodian's keys.
const consortiumFile = join(root, 'consortium.json');
const keyFile = (p: Party) => join(root, `${p.name}.ed25519.key.pem`);

/** A study of the fixture's kind, valid now, signed by alice. */
function study(o: Partial<NewStudy> = {}): SignedStudy {
  return signStudy(F.study({ validFrom: iso(NOW - DAY), validUntil: iso(NOW + 30 * DAY), createdAt: iso(NOW - DAY), ...o }), signer(F.alice));
}
const approvals = (ss: SignedStudy, ...by: Party[]): Approval[] => by.map((c) => approveStudy(ss, F.consortium, signer(c), { time: iso(Date.now() - 1000) }));
const request = (ss: SignedStudy, query: string) => signQueryRequest(ss, query, signer(F.alice), { cluster: cluster.config.cluster, resultKey: newResultKeyPair().publicKey });
const alice = signer(F.alice);
/** A call signed by alice (a researcher of the consortium) unless another member is named. */
const api = <T>(p: PartyId, path: string, o: { body?: unknown; as?: Party } = {}) => apiRequest<T>(cluster.config, p, path, { ...(o.body !== undefined ? { body: o.body } : {}), signer: signer(o.as ?? F.alice) });

async function startNode(p: PartyId): Promise<void> {
  const child = spawn(process.execPath, [MAIN, 'node', '--dir', cluster.dir, '--party', String(p), '--connect-timeout', '4000', '--recv-timeout', '8000', '--consortium', consortiumFile, '--exact-results'], { stdio: ['ignore', 'pipe', 'pipe'], env: withColumnMemory() });
  procs[p] = child;
  const keep = (c: Buffer) => (logs[p] = (logs[p] + c.toString()).slice(-20000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  for (const t0 = Date.now(); ; ) {
    if (child.exitCode !== null) throw new Error(`node ${p} exited: ${logs[p]}`);
    try {
      if ((await apiRequest<{ party: number }>(cluster.config, p, '/v1/health', { timeoutMs: 1000 })).status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() - t0 > 15_000) throw new Error(`node ${p} did not start: ${logs[p]}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

// The consent register: a few residents withdrew from public-health research in 2023 (one
// re-granted later), one granted commercial research; the custodian keeps it as a CSV.
const ids = Array.from(pop.columns.get('person_id')!.slice(0, 12), Number);
const events: ConsentEvent[] = [
  ...ids.slice(0, 4).map((person, k) => ({ person, purpose: 'public-health', granted: false, time: 1_680_000_000 + k })),
  { person: ids[3]!, purpose: 'public-health', granted: true, time: 1_690_000_000 },
  { person: ids[5]!, purpose: 'commercial-pharma', granted: true, time: 1_690_000_000 },
];
const registerFile = join(root, 'consent.csv');
/** Rows of the first register version (what a run's consent filter reads). */
let consentRows = 0;
/** The register's events as the nodes have them now. */
let current = events;

before(async () => {
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  for (const p of [F.alice, F.consentCustodian]) writeFileSync(keyFile(p), p.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  await Promise.all(P.map((p) => startNode(p)));
  for (const reg of [regs.population, regs.contacts]) {
    // Governed nodes take only uploads signed by the dataset's custodian (src/ingest/upload-auth.ts).
    const custodian = reg.schema.custodian === F.cpr.name ? F.cpr : F.sds;
    await uploadDataset({ config: cluster.config, dataset: { schema: reg.schema, codeLists: regs.codeLists, rows: reg.length, columns: reg.columns }, version: 'v1', signer: signer(custodian) });
  }
  for (const sp of F.policies) await submitDocument(cluster.config, 'policy', sp, signer(F.cpr));
  consentRows = (await publishConsent({ config: cluster.config, consortium: F.consortium, events, changes: events, signer: signer(F.consentCustodian), version: 'consent-v1' })).rows;
  writeConsentFile(registerFile, events);
});

after(async () => {
  for (const c of procs) if (c && c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** POP_SQL in plaintext over the residents usable for public-health research at T (Unix s). */
function populationReference(evs: ConsentEvent[], T: number): Map<string, number> {
  const col = (c: string) => pop.columns.get(c)!;
  const spec = (c: string) => pop.schema.columns.find((s) => s.name === c)!;
  const out = new Map<string, number>();
  for (let i = 0; i < pop.length; i++) {
    if (!consentDecision(evs, Number(col('person_id')[i]), 'public-health', T, 'opt-out').usable) continue;
    const k = `${decodeValue(spec('region'), col('region')[i]!, regs.codeLists)}|${decodeValue(spec('sex'), col('sex')[i]!, regs.codeLists)}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const jobAt = async (p: PartyId, id: string) => (await api<Job & { error?: string; submittedAt: string }>(p, `/v1/jobs/${id}`)).body;

/** Result cells against the reference: every cell of ≥ 10 (the population policy) shown and equal, smaller ones suppressed. */
function checkCells(rows: (string | number | boolean)[][], suppressed: Record<string, unknown>[], want: Map<string, number>, tolerance = 0): void {
  const seen = new Set<string>();
  for (const r of rows) {
    const k = `${r[0]}|${r[1]}`;
    const w = want.get(k) ?? 0;
    assert.ok(Math.abs(Number(r[2]) - w) <= tolerance, `cell ${k}: ${r[2]}, plaintext ${w}`);
    if (!tolerance) assert.ok(w >= 10, `cell ${k} of ${w} should be suppressed`);
    seen.add(k);
  }
  for (const s of suppressed) seen.add(`${s.region}|${s.sex}`);
  if (!tolerance) for (const [k, n] of want) if (n >= 10) assert.ok(rows.some((r) => `${r[0]}|${r[1]}` === k), `cell ${k} (${n}) missing`);
  assert.ok(seen.size >= want.size);
}

/** Submits a governed query that must be refused; checks every node's job says why. */
async function refusedEverywhere(body: Record<string, unknown>, re: RegExp): Promise<void> {
  const r = await api<{ error: string; job?: string; refusals?: { party: number; error: string }[] }>(0, '/v1/queries', { body });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.match(r.body.error, re);
  assert.ok(r.body.job, 'the answer names the job');
  assert.deepEqual(r.body.refusals!.map((x) => x.party).sort(), [0, 1, 2], `every node refused: ${r.body.error}`);
  for (const p of P) {
    const j = await jobAt(p, r.body.job!);
    assert.equal(j.status, 'failed', `node ${p}`);
    assert.match(j.error!, /^refused: /, `node ${p}: ${j.error}`);
    assert.match(j.error!, re, `node ${p}`);
  }
}

// The study the happy path runs: registered at the nodes (study and approvals by API).
const main = study();

describe('governed nodes', () => {
  let firstJob = '';
  let firstRequest: QueryRequest;

  it('refuse ad-hoc SQL, and documents that do not verify (unsigned, tampered)', async () => {
    const bare = await api<{ error: string }>(0, '/v1/queries', { body: { sql: POP_SQL } });
    assert.equal(bare.status, 400);
    assert.match(bare.body.error, /signed request/);
    const r = await api<{ error: string }>(0, '/v1/queries', { body: adhocBody(cluster.config, alice, POP_SQL).body });
    assert.equal(r.status, 403);
    assert.match(r.body.error, /governed mode .*registered study.*ad-hoc SQL is refused/);
    const unsigned = await api<{ error: string }>(0, '/v1/studies', { body: { study: main.study } });
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.body.error, /is not signed by its researcher 'alice'/);
    const orig = study({ id: 'tampered' });
    const tampered = await api<{ error: string }>(0, '/v1/studies', { body: { study: { ...orig.study, title: 'Something else entirely' }, signature: orig.signature } });
    assert.equal(tampered.status, 403);
    assert.match(tampered.body.error, /study 'tampered': the researcher's signature does not verify/);
    const early = await api<{ error: string }>(0, '/v1/approvals', { body: approvals(main, F.cpr)[0] });
    assert.equal(early.status, 403);
    assert.match(early.body.error, /not registered at this node: submit the study first/);
    const notScheduler = await api<{ error: string }>(2, '/v1/studies', { body: main });
    assert.equal(notScheduler.status, 409);
    const anonymous = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/studies', { body: main });
    assert.equal(anonymous.status, 401);
  });

  it('a study signed and approved but never registered does not run (and is not logged)', async () => {
    const secret = study({ id: 'never-registered' });
    const r = await api<{ error: string }>(0, '/v1/queries', { body: { request: request(secret, 'population') } });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.match(r.body.error, /study 'never-registered' .* is not registered at this node: a study runs only after it is registered and logged/);
    // Approvals sent along change nothing: only registered approvals count.
    const withApprovals = await api<{ error: string }>(0, '/v1/queries', { body: { request: request(secret, 'population'), approvals: approvals(secret, F.sds, F.cpr) } });
    assert.equal(withApprovals.status, 404);
    // Not registered, so not logged as a study; the two attempts are logged as refused (issue 12).
    const entries = (await apiRequest<{ entries: LedgerEntry[] }>(cluster.config, 0, '/v1/ledger/entries')).body.entries;
    const about = entries.filter((e) => JSON.stringify(e.body).includes('never-registered'));
    assert.deepEqual(about.map((e) => e.kind), ['job-refused', 'job-refused']);
    assert.deepEqual(about[0]!.body.refusedBy, [0]);
    assert.equal((about[0]!.body.reasons as { code: string }[])[0]!.code, 'unregistered');
    assert.equal(about[0]!.body.requester, 'alice');
  });

  it('register a study and its approvals at every node, logged; run it with the consent filter inside MPC', async () => {
    assert.equal((await submitDocument(cluster.config, 'study', main, alice)).new, true);
    assert.equal((await submitDocument(cluster.config, 'study', main, alice)).new, false, 'again: nothing changes');
    for (const ap of approvals(main, F.sds, F.cpr)) await submitDocument(cluster.config, 'approval', ap, signer(F.sds));
    for (const p of P) {
      const l = await api<{ id: string; approved: boolean; period: string }[]>(p, '/v1/studies');
      assert.deepEqual(l.body.map((s) => [s.id, s.approved, s.period]), [['t2d-2024', true, 'valid']], `node ${p}`);
    }
    const r = await runRemoteQuery({ config: cluster.config, sql: POP_SQL, signer: alice, study: main, queryId: 'population' });
    firstJob = r.job;
    // The signed request the CLI made (the job shows it to its requester): replayed below.
    firstRequest = (await api<{ request: QueryRequest }>(0, `/v1/jobs/${r.job}`)).body.request;
    const T = unixSeconds((await jobAt(0, r.job)).submittedAt);
    checkCells(r.rows, r.suppressed, populationReference(events, T));
    assert.equal(r.governance!.consent.register, 'consent@consent-v1');
    assert.equal(r.governance!.consent.at, T);
    // Three of the residents withdrew (one re-granted): the consent filter removed exactly them.
    const all = [...populationReference([], T).values()].reduce((a, b) => a + b, 0);
    const usable = [...populationReference(events, T).values()].reduce((a, b) => a + b, 0);
    assert.equal(all - usable, 3);
    // Usage per custodian at every node; the log holds the documents (no person in it).
    for (const p of P) {
      const u = await api<{ summary: { custodian: string; study: string; queries: number; rowsTouched: number }[] }>(p, '/v1/usage?study=t2d-2024', { as: F.cpr });
      assert.deepEqual(u.body.summary.map((s) => [s.custodian, s.queries, s.rowsTouched]), [['cpr', 1, pop.length]], `node ${p}`);
      // The consent filter read the consent register: the consent custodian sees that read (issue 12).
      const c = await api<{ summary: { custodian: string; datasets: string[]; queries: number; rowsTouched: number }[] }>(p, '/v1/usage?study=t2d-2024', { as: F.consentCustodian });
      assert.deepEqual(c.body.summary.map((s) => [s.custodian, s.datasets, s.queries, s.rowsTouched]), [['consent-register', ['consent'], 1, consentRows]], `node ${p}`);
    }
    // `mosaik usage --cluster` reads all three nodes and compares them.
    const usage = await fetchUsageAll(cluster.config, { study: 't2d-2024' }, signer(F.cpr));
    assert.deepEqual(usage.differences, []);
    assert.equal(usage.summary.length, 1);
    const entries = (await apiRequest<{ entries: LedgerEntry[] }>(cluster.config, 1, '/v1/ledger/entries')).body.entries;
    const kinds = entries.map((e) => e.kind);
    for (const k of ['policy-published', 'consent-changed', 'study-submitted', 'study-approved', 'job-run']) assert.ok(kinds.includes(k as LedgerEntry['kind']), `${k} logged`);
    const consentEntry = entries.find((e) => e.kind === 'consent-changed')!;
    assert.equal(consentEntry.body.changes, events.length);
    for (const id of ids) assert.ok(!JSON.stringify(consentEntry.body).includes(String(id)), 'no person id in the log');
    assert.equal(entries.find((e) => e.kind === 'job-run' && e.body.job === r.job)!.body.study, 't2d-2024');
  });

  it('refuse a replayed request at every node', async () => {
    await refusedEverywhere({ request: firstRequest }, new RegExp(`was already used for job ${firstJob}`));
  });

  it('refuse, at every node: one approval of two, an expired study, a purpose not allowed, a forbidden column', async () => {
    /** Registers the study and the approvals; the warnings node 0 gave each approving custodian. */
    const register = async (ss: SignedStudy, ...by: Party[]) => {
      await submitDocument(cluster.config, 'study', ss, alice);
      const warnings = new Map<string, string[]>();
      for (const ap of approvals(ss, ...by)) warnings.set(ap.approval.custodian, (await submitDocument(cluster.config, 'approval', ap, signer(by[0]!))).warnings);
      return warnings;
    };
    const half = study({ id: 'half-approved' });
    await register(half, F.sds);
    await refusedEverywhere({ request: request(half, 'population') }, /study 'half-approved' lacks the approval of custodian 'cpr' \(population\)/);

    const expired = study({ id: 'expired', validFrom: iso(NOW - 60 * DAY), validUntil: iso(NOW - DAY) });
    await register(expired, F.sds, F.cpr);
    await refusedEverywhere({ request: request(expired, 'population') }, /study 'expired' expired at/);

    // An approval of what the custodian's own policy refuses is registered, with a warning (issue 12).
    const pharma = study({ id: 'pharma', purpose: 'commercial-pharma' });
    const pw = await register(pharma, F.sds, F.cpr);
    assert.ok(pw.get('cpr')!.some((w) => /custodian 'cpr' does not allow its dataset 'population' to be used for commercial pharma .*every query of study 'pharma' will be refused/.test(w)), pw.get('cpr')!.join('\n'));
    await refusedEverywhere({ request: request(pharma, 'population') }, /does not allow its dataset '(contacts|population)' to be used for commercial pharma research/);

    const hosp = study({ id: 'hospitals', queries: [{ id: 'by-hospital', sql: 'SELECT hospital, COUNT(*) AS contacts FROM contacts GROUP BY hospital' }, { id: 'by-stay', sql: 'SELECT region, MAX(length_of_stay) AS longest FROM contacts GROUP BY region' }] });
    const hw = await register(hosp, F.sds, F.cpr);
    assert.deepEqual(hw.get('sundhedsdatastyrelsen'), [
      "study 'hospitals' declares column contacts.hospital, which your policy does not allow: a query reading it will be refused",
      "query 'by-stay' will be refused: column contacts.length_of_stay may not be aggregated with MAX (custodian 'sundhedsdatastyrelsen' allows: COUNT, SUM, AVG)",
    ]);
    assert.deepEqual(hw.get('cpr'), [], 'cpr\'s policy allows what the study reads of population');
    await refusedEverywhere({ request: request(hosp, 'by-hospital') }, /column contacts\.hospital may not be used: custodian 'sundhedsdatastyrelsen's policy forbids it/);

    // Every refused attempt is in the transparency log: who, which study and query, which nodes
    // refused and why (issue 12), and the audit counts them by the check that failed.
    const entries = (await apiRequest<{ entries: LedgerEntry[] }>(cluster.config, 2, '/v1/ledger/entries')).body.entries;
    const refused = entries.filter((e) => e.kind === 'job-refused' && e.body.job);
    const byStudy = new Map(refused.map((e) => [`${e.body.study}`, e.body as { refusedBy: number[]; reasons: { code: string; reason: string; nodes: number }[]; requester: string }]));
    for (const [id, code, re] of [['t2d-2024', 'request', /already used for job/], ['half-approved', 'missing-approval', /lacks the approval of custodian 'cpr'/], ['expired', 'expired', /expired at/], ['pharma', 'purpose-not-allowed', /commercial pharma/], ['hospitals', 'column-forbidden', /policy forbids it/]] as const) {
      const b = byStudy.get(id);
      assert.ok(b, `refused attempt on '${id}' logged`);
      assert.deepEqual(b.refusedBy, [0, 1, 2], id);
      assert.equal(b.requester, 'alice');
      // Each distinct reason with the number of nodes that gave it (a replay names when each node saw the request).
      assert.deepEqual([...new Set(b.reasons.map((r) => r.code))], [code], id);
      assert.equal(b.reasons.reduce((n, r) => n + r.nodes, 0), 3, id);
      for (const r of b.reasons) assert.match(r.reason, re);
    }
    const audit = await new Promise<string>((ok) => execFile(process.execPath, [MAIN, 'audit', 'verify', '--dir', cluster.dir], (_e, out) => ok(out)));
    assert.match(audit, /refused attempts logged, by the check that failed: .*column-forbidden 1/);
    assert.match(audit, /unregistered 2/);
  });

  it('a citizen withdraws (mosaik consent set --dir): the next run excludes them, as the plaintext rule says', async () => {
    // A resident of a cell that is shown, with no earlier event.
    const person = ids[8]!;
    const at = iso(Date.now() - 60_000);
    const program = new Command().exitOverride();
    registerGovernanceCommands(program);
    const log = console.log;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      await program.parseAsync(['node', 'mosaik', 'consent', 'set', '--person', String(person), '--purpose', 'public-health', '--withdrawn', '--at', at, '--consortium', consortiumFile, '--register', registerFile, '--dir', cluster.dir, '--key', keyFile(F.consentCustodian), '--version', 'consent-v2']);
    } finally {
      console.log = log;
    }
    assert.match(lines.join('\n'), /withdrew consent for public-health research .* version consent-v2 .* at every node/);
    assert.match(lines.join('\n'), /receipt .*commitment [0-9a-f]{64} salt [0-9a-f]{64}/);
    const after = [...events, { person, purpose: 'public-health', granted: false, time: unixSeconds(at) }];
    current = after;

    // The researcher's CLI: a fresh signed request, the study as a file; the result as JSON.
    const studyFile = join(root, 'study.json');
    writeFileSync(studyFile, JSON.stringify(main));
    const mosaik = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((ok) => {
      execFile(process.execPath, [MAIN, ...args], (err, stdout, stderr) => ok({ code: err ? 1 : 0, stdout, stderr }));
    });
    const saved = join(root, 'result.json');
    const out = await mosaik('query', '--dir', cluster.dir, '--study', studyFile, '--key', keyFile(F.alice), '--query-id', 'population', '--json', '--save', saved);
    assert.equal(out.code, 0, out.stderr);
    // The result is in the transparency log like any other (job-run with the study, release co-signed).
    const audit = await mosaik('audit', 'verify', '--dir', cluster.dir, '--result', saved);
    assert.equal(audit.code, 0, audit.stdout + audit.stderr);
    const r = JSON.parse(out.stdout) as { job: string; rows: (string | number)[][]; suppressed: Record<string, unknown>[]; governance: { consent: { register: string } } };
    assert.equal(r.governance.consent.register, 'consent@consent-v2');
    const T = unixSeconds((await jobAt(0, r.job)).submittedAt);
    const want = populationReference(after, T);
    checkCells(r.rows, r.suppressed, want);
    const before = populationReference(events, T);
    const changed = [...want].filter(([k, n]) => before.get(k) !== n);
    assert.equal(changed.length, 1, 'exactly one cell changed');
    assert.equal(before.get(changed[0]![0])! - changed[0]![1], 1);
  });

  it('attack 4: nobody can run a study on an older consent register (counting citizens who withdrew)', async () => {
    // The researcher names the old version: refused at node 0, the consent version is the nodes' choice.
    const rq = signQueryRequest(main, 'population', alice, { cluster: cluster.config.cluster, resultKey: newResultKeyPair().publicKey, versions: { consent: 'consent-v1' } });
    const r = await api<{ error: string }>(0, '/v1/queries', { body: { request: rq } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error, /names versions of consent, which the query does not read \(the consent register's version is the nodes' choice\)/);
    // A malicious node 0 offers nodes 1 and 2 the job on the old version: each refuses on its own.
    const nodeA = { key: readFileSync(join(cluster.nodeDirs[0], 'node-a.key.pem'), 'utf8'), cert: readFileSync(join(cluster.nodeDirs[0], 'node-a.cert.pem'), 'utf8') };
    const request = signQueryRequest(main, 'population', alice, { cluster: cluster.config.cluster, resultKey: newResultKeyPair().publicKey });
    const spec = {
      id: randomUUID(), seq: Date.now() * 2, sql: POP_SQL, dataset: 'population', version: 'v1', versions: { population: 'v1', consent: 'consent-v1' },
      minCellSize: 10, submittedAt: new Date().toISOString(), request, protection: { kind: 'none' }, governance: { study: main },
    };
    for (const p of [1, 2] as PartyId[]) {
      const x = await apiRequest<{ error: string }>(cluster.config, p, '/v1/internal/jobs', { body: spec, ...nodeA });
      assert.equal(x.status, 403, JSON.stringify(x.body));
      assert.match(x.body.error, /refused: the job reads consent register version consent-v1, but the version in force at .* is consent-v2/);
    }
  });

  it('a study\'s statistic runs only as declared, with the model role granted, under the consent filter, authorized by every node', async () => {
    const data = "SELECT p.sex, EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') AS t2d FROM population p";
    const call = statisticText({ fn: 'glm', data, formula: 't2d ~ sex', family: 'binomial' });
    const ss = study({ id: 't2d-model', queries: [{ id: 'odds-by-sex', statistic: call }], datasets: [{ name: 'contacts', columns: ['person_id', 'diagnosis'] }, { name: 'population', columns: ['person_id', 'sex'] }] });
    await submitDocument(cluster.config, 'study', ss, alice);
    for (const ap of approvals(ss, F.sds, F.cpr)) await submitDocument(cluster.config, 'approval', ap, signer(F.sds));
    const run = () => runRemoteStat({ config: cluster.config, signer: alice, study: ss, queryId: 'odds-by-sex' });
    // The CPR register's policy lets sex be grouped and filtered on, not enter a model.
    await assert.rejects(run(), /column population\.sex may not be used as model/);
    // An ad-hoc call, even of the declared statistic, is refused on a governed cluster.
    await assert.rejects(runRemoteStat({ config: cluster.config, signer: alice, request: parseStatistic(call) }), /ad-hoc/);
    // The custodian grants the role (a newer signed policy), and the statistic runs.
    const policy: CustodianPolicy = JSON.parse(JSON.stringify(F.policyOf.cpr));
    policy.issuedAt = iso(Date.now() - 60_000);
    (policy.datasets[0]!.columns.sex as { roles: string[] }).roles.push('model');
    await submitDocument(cluster.config, 'policy', signPolicy(policy, F.consortium, signer(F.cpr)), signer(F.cpr));
    const r = await run();
    assert.equal(r.governance!.study, 't2d-model');
    assert.equal(r.governance!.query, 'odds-by-sex');
    assert.ok(Number.isFinite(r.result.values['coef:sexM']!), r.result.text);
    // The consent filter applies to the analysis table: N = the residents usable at the job's time.
    const T = unixSeconds((await jobAt(0, r.job)).submittedAt);
    const usable = [...populationReference(current, T).values()].reduce((a, b) => a + b, 0);
    assert.equal(r.result.values.N, usable);
    const entries = (await apiRequest<{ entries: LedgerEntry[] }>(cluster.config, 1, '/v1/ledger/entries')).body.entries;
    assert.ok(entries.find((e) => e.kind === 'job-run' && e.body.job === r.job)?.body.statisticSha256, 'the call is in the log');
  });
});
