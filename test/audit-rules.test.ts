// The content rules of the transparency log (src/ledger/rules.ts) through `mosaik audit verify`:
// co-signed logs built offline with valid signatures, so that integrity holds and only the rules
// can catch what is wrong. The bodies come from the functions the nodes use (studyLedgerBody,
// approvalLedgerBody, consentUpdateLedgerBody, jobRunBody) over real signed documents of the
// governance fixture. Each violation is reported with its entry seq and job; a clean governed log
// passes; a job without output protection is a warning only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { auditVerify, type AuditReport } from '../src/cli/audit.js';
import { consentUpdateLedgerBody, CONSENT_UPDATE_FORMAT, signConsentUpdate, type ConsentUpdateBody } from '../src/governance/consent-update.js';
import { approvalLedgerBody, approveStudy, studyHash, studyLedgerBody, type QueryRequest } from '../src/governance/study.js';
import type { EntryKind, JsonValue } from '../src/ledger/entry.js';
import { signHead } from '../src/ledger/heads-sign.js';
import { LedgerLog } from '../src/ledger/log.js';
import { generateSigningKey, type SigningKey } from '../src/net/keys.js';
import { jobRunBody } from '../src/node/ledger.js';
import type { Protection } from '../src/node/privacy.js';
import { fixture, signer, type Fixture } from './governance-fixture.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-audit-rules-'));
after(() => rmSync(root, { recursive: true, force: true }));

const NAMES = ['node-a', 'node-b', 'node-c'] as const;
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
type Body = { [k: string]: JsonValue };
interface Item {
  kind: EntryKind;
  body: Body;
  time: string;
}

let keys: SigningKey[];
let F: Fixture;
let logs = 0;

/** Writes the items as node-a's replica <root>/case-N/node-a/ledger under one head co-signed by the three nodes; returns the node dir. */
function writeLog(items: Item[]): string {
  const dir = join(root, `case-${++logs}`, 'node-a');
  const anchor = { cluster: 'test', keys: keys.map((k) => k.publicKey) as [string, string, string], names: NAMES };
  const log = LedgerLog.open(join(dir, 'ledger'), anchor);
  for (const x of items) log.append(x.kind, x.body, x.time);
  const head = { cluster: 'test', size: log.size, rootHash: log.rootHash(), timestamp: '2026-06-01T00:00:00.000Z' };
  log.addHead({ ...head, signatures: ([0, 1, 2] as const).map((p) => signHead(head, p, keys[p]!.privateKeyPem)) });
  log.close();
  return dir;
}

async function audit(items: Item[]): Promise<AuditReport> {
  return auditVerify({ dir: root, logs: [writeLog(items)] });
}

/** The log is intact (its replica line says ok) and the only problems are rule violations. */
function intact(r: AuditReport): void {
  assert.match(r.lines.join('\n'), /node-a: \d+ entries .*: ok$/m, r.lines.join('\n'));
  for (const p of r.problems) assert.match(p, /^entry \d+: job [0-9a-f-]{36}/);
}

/** Exactly one problem, matching `re` (which names the seq and the job). */
async function flags(items: Item[], re: RegExp): Promise<AuditReport> {
  const r = await audit(items);
  assert.equal(r.ok, false, `not flagged:\n${r.lines.join('\n')}`);
  intact(r);
  assert.equal(r.problems.length, 1, r.problems.join('\n'));
  assert.match(r.problems[0]!, re);
  assert.match(r.lines.join('\n'), /content rules on node-a's replica: \d+ job-runs? checked against the rules .*: 1 violation/);
  return r;
}

// ---------------------------------------------------------------------------------------------
// A governed log: study t2d-2024 (contacts of sundhedsdatastyrelsen, population of cpr; valid
// 2025-01-01 .. 2026-01-01; researcher alice), consent register versions v1 (signed 2025-05-01)
// and v2 (signed 2025-06-01), a job at 2025-06-10 on population and consent-v2, its release.

const SIGNED_V1 = '2025-05-01T00:00:00.000Z';
const SIGNED_V2 = '2025-06-01T00:00:00.000Z';
const RUN = '2025-06-10T12:00:00.000Z';

function consentEntry(version: string, signedAt: string, loggedAt: string): Item {
  const update: ConsentUpdateBody = { format: CONSENT_UPDATE_FORMAT, custodian: 'consent-register', dataset: 'consent', version, rows: 10, changes: [{ purpose: 'public-health', granted: false, commitment: hex(version) }], time: signedAt };
  return { kind: 'consent-changed', body: consentUpdateLedgerBody(signConsentUpdate(update, F.consortium, signer(F.consentCustodian))), time: loggedAt };
}

interface JobOptions {
  job?: string;
  at?: string;
  researcher?: string;
  versions?: Record<string, string>;
  protection?: Protection;
}

function jobRun(o: JobOptions = {}): Item {
  const hash = studyHash(F.signed.study);
  const request = { request: { researcher: o.researcher ?? 'alice', study: 't2d-2024', studyHash: hash, query: 'population', nonce: randomUUID() } } as unknown as QueryRequest;
  const body = jobRunBody({
    id: o.job ?? randomUUID(), seq: 0, sql: F.signed.study.queries[1]!.sql!, dataset: 'population', version: 'v1', versions: o.versions ?? { population: 'v1', consent: 'consent-v2' }, minCellSize: 10,
    submittedAt: o.at ?? RUN, request, protection: o.protection ?? { kind: 'dp', mechanism: 'laplace', epsilon: 1 }, governance: { study: F.signed },
  });
  return { kind: 'job-run', body, time: o.at ?? RUN };
}

const release = (job: string, time = '2025-06-10T12:01:00.000Z'): Item => ({ kind: 'result-released', body: { job, resultMeta: hex(`meta ${job}`), shareCommitments: [hex('a'), hex('b'), hex('c')] }, time });

const studyEntry = (): Item => ({ kind: 'study-submitted', body: studyLedgerBody(F.signed), time: '2024-12-05T00:00:00.000Z' });
const [SDS, CPR] = [0, 1];
const approvalEntry = (i: number): Item => ({ kind: 'study-approved', body: approvalLedgerBody(F.approvals[i]!), time: `2024-12-1${i}T00:00:00.000Z` });
const decision = (custodian: 'sds' | 'cpr', d: 'approve' | 'reject', time: string): Item => ({
  kind: 'study-approved', body: approvalLedgerBody(approveStudy(F.signed, F.consortium, signer(F[custodian]), { time, decision: d })), time,
});

/** The clean log: seq 0 study, 1-2 approvals, 3-4 consent v1 and v2, 5 the job, 6 its release. */
function governedLog(job: JobOptions & { job: string }): Item[] {
  return [studyEntry(), approvalEntry(SDS), approvalEntry(CPR), consentEntry('consent-v1', SIGNED_V1, SIGNED_V1), consentEntry('consent-v2', SIGNED_V2, SIGNED_V2), jobRun(job), release(job.job)];
}

describe('transparency log content rules (mosaik audit verify)', () => {
  before(() => {
    keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()];
    F = fixture();
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'cluster.json'), JSON.stringify({ cluster: 'test', nodes: NAMES.map((name, i) => ({ id: i, name, host: '127.0.0.1', port: 9000 + i, fingerprint: Array(32).fill(`0${i}`).join(':'), signingKey: keys[i]!.publicKey })) }));
  });

  it('a clean governed log passes: registered, approved, valid, the researcher\'s, consent in force, release after its job-run', async () => {
    const job = randomUUID();
    // A consent update signed before the job but logged after it was not in force for the nodes then.
    const r = await audit([...governedLog({ job }), consentEntry('consent-v3', '2025-06-09T00:00:00.000Z', '2025-06-11T00:00:00.000Z')]);
    assert.equal(r.ok, true, r.lines.join('\n'));
    assert.deepEqual(r.warnings, []);
    assert.match(r.lines.join('\n'), /content rules on node-a's replica: 1 job-run checked against the rules .*: ok/);
    assert.match(r.lines.at(-1)!, /^OK: the log verifies from genesis to the co-signed head of size 8 .*; 1 job-run checked against the rules$/);
  });

  it('flags a job of a study that was never registered (signed and approved, only its job-run logged)', async () => {
    const job = randomUUID();
    const log = governedLog({ job }).slice(1); // seq 4: the job
    await flags(log, new RegExp(`^entry 4: job ${job} ran study 't2d-2024' version [0-9a-f]{16}…, which was never registered: no study-submitted entry of that version before the job$`));
  });

  it('flags a job without one custodian\'s approval', async () => {
    const job = randomUUID();
    const log = governedLog({ job }).filter((_, i) => i !== 2); // cpr's approval missing; seq 4: the job
    await flags(log, new RegExp(`^entry 4: job ${job} ran study 't2d-2024' without an approval of dataset 'population': no study-approved entry of version [0-9a-f]{16}… covers it before the job$`));
  });

  it('flags a job whose custodian\'s latest decision is a rejection; a later approval clears it', async () => {
    const job = randomUUID();
    const log = governedLog({ job });
    log.splice(3, 0, decision('sds', 'reject', '2024-12-20T00:00:00.000Z')); // seq 3; the job moves to 6
    await flags(log, new RegExp(`^entry 6: job ${job} ran study 't2d-2024' although custodian 'sundhedsdatastyrelsen' rejected it: its latest decision before the job \\(study-approved entry 3, 2024-12-20T00:00:00.000Z\\) is 'reject', for dataset 'contacts'$`));
    // Rejected, then approved again later: the latest decision counts.
    const again = governedLog({ job });
    again.splice(3, 0, decision('sds', 'reject', '2024-12-20T00:00:00.000Z'), decision('sds', 'approve', '2024-12-21T00:00:00.000Z'));
    const ok = await audit(again);
    assert.equal(ok.ok, true, ok.lines.join('\n'));
    // A rejection logged after the job does not concern it.
    const late = governedLog({ job });
    late.push(decision('cpr', 'reject', '2025-06-11T00:00:00.000Z'));
    assert.equal((await audit(late)).ok, true);
  });

  it('flags a job outside the study\'s validity period', async () => {
    const job = randomUUID();
    await flags(governedLog({ job, at: '2026-02-01T00:00:00.000Z' }), new RegExp(`^entry 5: job ${job} ran study 't2d-2024' \\(study-submitted entry 0\\) at 2026-02-01T00:00:00.000Z, after it expired at 2026-01-01T00:00:00Z$`));
    const early = randomUUID();
    const log = [studyEntry(), approvalEntry(SDS), approvalEntry(CPR), jobRun({ job: early, at: '2024-12-31T23:59:59.000Z', versions: { population: 'v1' } })];
    await flags(log, new RegExp(`^entry 3: job ${early} ran study 't2d-2024' \\(study-submitted entry 0\\) at 2024-12-31T23:59:59.000Z, before its validity period starts at 2025-01-01T00:00:00Z$`));
  });

  it('flags a job requested by someone other than the study\'s researcher', async () => {
    const job = randomUUID();
    await flags(governedLog({ job, researcher: 'bob' }), new RegExp(`^entry 5: job ${job} was requested by 'bob', but study 't2d-2024' \\(study-submitted entry 0\\) names researcher 'alice'$`));
  });

  it('flags a job on an old consent register version, and one that reads no consent version while one is in force', async () => {
    const job = randomUUID();
    await flags(
      governedLog({ job, versions: { population: 'v1', consent: 'consent-v1' } }),
      new RegExp(`^entry 5: job ${job} read consent register 'consent' version consent-v1 \\(consent-changed entry 3, signed ${SIGNED_V1}\\), but version consent-v2 was in force at ${RUN} \\(consent-changed entry 4, signed ${SIGNED_V2}\\): changes since then, withdrawals included, were not applied$`),
    );
    const none = randomUUID();
    await flags(governedLog({ job: none, versions: { population: 'v1' } }), new RegExp(`^entry 5: job ${none} read no version of consent register 'consent', but version consent-v2 was in force at ${RUN} \\(consent-changed entry 4, signed ${SIGNED_V2}\\)$`));
    // Reading a register version when no update of it is in force yet (signed after the job).
    const early = randomUUID();
    const log = [studyEntry(), approvalEntry(SDS), approvalEntry(CPR), consentEntry('consent-v1', '2025-07-01T00:00:00.000Z', '2025-06-01T00:00:00.000Z'), jobRun({ job: early, versions: { population: 'v1', consent: 'consent-v1' } })];
    await flags(log, new RegExp(`^entry 4: job ${early} read consent register 'consent' version consent-v1, but no consent update of 'consent' logged before the job was in force at ${RUN}$`));
  });

  it('consent-changed entries without a signed time (older software) count from their log time', async () => {
    // v2 signed 2025-06-01 but logged 2025-06-20, after the job's submission (2025-06-10).
    const noTime = (x: Item): Item => ({ ...x, body: Object.fromEntries(Object.entries(x.body).filter(([k]) => k !== 'time')) });
    const job = randomUUID();
    const items = (withTime: boolean) => {
      const v2 = consentEntry('consent-v2', SIGNED_V2, '2025-06-20T00:00:00.000Z');
      return [studyEntry(), approvalEntry(SDS), approvalEntry(CPR), noTime(consentEntry('consent-v1', SIGNED_V1, SIGNED_V1)), withTime ? v2 : noTime(v2), jobRun({ job, versions: { population: 'v1', consent: 'consent-v1' } })];
    };
    const old = await audit(items(false));
    assert.equal(old.ok, true, old.lines.join('\n'));
    await flags(items(true), new RegExp(`^entry 5: job ${job} read consent register 'consent' version consent-v1 .*but version consent-v2 was in force at ${RUN} \\(consent-changed entry 4, signed ${SIGNED_V2}\\)`));
  });

  it('flags a release without a job-run before it', async () => {
    const job = randomUUID();
    const orphan = randomUUID();
    await flags([...governedLog({ job }), release(orphan)], new RegExp(`^entry 7: job ${orphan}'s result was released, but no job-run entry of that job comes before it$`));
    // A release before its job-run is flagged too.
    const log = governedLog({ job });
    [log[5], log[6]] = [log[6]!, log[5]!];
    await flags(log, new RegExp(`^entry 5: job ${job}'s result was released, but no job-run entry of that job comes before it$`));
  });

  it('warns, without failing, about a job run without output protection', async () => {
    const job = randomUUID();
    const r = await audit(governedLog({ job, protection: { kind: 'none' } }));
    assert.equal(r.ok, true, r.lines.join('\n'));
    assert.deepEqual(r.warnings, [`entry 5: job ${job} ran without output protection (nodes started with --exact-results)`]);
    assert.match(r.lines.join('\n'), /warnings \(1\):\n {2}! entry 5: job .* ran without output protection/);
  });

  it('consent-changed bodies carry the signed time (ISO 8601 UTC); the log takes no other string there', () => {
    const body = consentEntry('consent-v1', '2025-05-01T02:00:00+02:00', SIGNED_V1).body;
    assert.equal(body.time, SIGNED_V1);
    const log = LedgerLog.open(join(root, 'time-check', 'ledger'), { cluster: 'test', keys: keys.map((k) => k.publicKey) as [string, string, string], names: NAMES });
    assert.equal(log.append('consent-changed', body, SIGNED_V1).seq, 0);
    assert.throws(() => log.append('consent-changed', { ...body, time: '0101701234' }), /no person identifiers/);
    assert.throws(() => log.append('consent-changed', { ...body, at: SIGNED_V1 }), /body\.at must be a label/);
    log.close();
  });

  it('`mosaik audit verify --log` exits 1 and lists the violation', async () => {
    const job = randomUUID();
    const dir = writeLog(governedLog({ job, versions: { population: 'v1', consent: 'consent-v1' } }));
    const out = await new Promise<{ code: number; stdout: string }>((ok) => execFile(process.execPath, [MAIN, 'audit', 'verify', '--dir', root, '--log', dir], (err, stdout) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout })));
    assert.equal(out.code, 1, out.stdout);
    assert.match(out.stdout, new RegExp(`PROBLEMS \\(1\\):\n {2}✗ entry 5: job ${job} read consent register 'consent' version consent-v1`));
  });
});
