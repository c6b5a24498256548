// What a citizen does besides grants (issue 15, steps 5 and 6), with three `mosaik node` processes of
// a governed cluster (exact results, so that cells can be compared with the plaintext):
//   - a consent change, sealed to the consent custodian's inbox key: no node can read its purpose or
//     choice; the custodian opens it, publishes the next register version, and the next run of a
//     study leaves the citizen out exactly as the plaintext rule says; the citizen finds the
//     change's commitment in the log with their own salt;
//   - questionnaires (EQ-5D-5L), split into shares and sealed per node by the citizen: appended to
//     patient_reported once the nodes checked inside MPC that the person id is the citizen's (a
//     questionnaire in another person's name is rejected at every node); a study links the register
//     on the person id and the citizen's consent governs it; the doctor's record shows the rows.
//   Leak test: no node's files or output, and no sealed body on the way, hold a submitted answer.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateRegisters } from '../src/demo/registers.js';
import { decodeValue } from '../src/ingest/schema.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { consentCommitment, consentDecision, unixSeconds, type ConsentEvent } from '../src/governance/consent.js';
import { loadPrivateKey, type Signer } from '../src/governance/identity.js';
import { POLICY_FORMAT, signPolicy, type CustodianPolicy } from '../src/governance/policy.js';
import { approveStudy, signStudy, type SignedStudy } from '../src/governance/study.js';
import { PRO_DATASET, type Eq5dAnswers } from '../src/governance/patient-reported.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { processConsentInbox, publishInboxKey, registerCitizen } from '../src/cli/citizen.js';
import { sendConsentChange, submitQuestionnaire } from '../src/cli/citizen-client.js';
import { allEntries, createGrant, readRecord } from '../src/cli/record.js';
import { publishConsent, submitDocument } from '../src/cli/governance-remote.js';
import { runRemoteQuery } from '../src/cli/query.js';
import { fixture, POP_SQL, signer } from './governance-fixture.js';
import { NodeProcs } from './node-procs.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-portal-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();
const regs = generateRegisters({ citizens: 300, seed: 8 });
const pop = regs.population;
const ids = Array.from(pop.columns.get('person_id')!, Number);
let cluster: LocalCluster;
let nodes: NodeProcs;
const custodian = signer(F.consentCustodian);
const table = join(root, 'citizen-keys.csv');
const register = join(root, 'consent.csv');
const inboxKeyFile = join(root, 'inbox.key.pem');
const alice = signer(F.alice);
let citizen: Signer, other: Signer;
// Two residents of the same sex (so that the study's cell shows whether the first one's answers are counted).
const sexOf = (i: number) => pop.columns.get('sex')![i];
const PERSON = ids[7]!, OTHER = ids[ids.findIndex((_, i) => i > 7 && sexOf(i) === sexOf(7))]!;
let study: SignedStudy;
const PRO_SQL = 'SELECT p.sex, COUNT(*) AS answers, AVG(q.vas) AS mean_vas FROM population p JOIN patient_reported q ON q.person_id = p.person_id GROUP BY p.sex';
// Distinctive answers (the leak test looks for them).
const ANSWERS: Eq5dAnswers = { mobility: 2, self_care: 1, usual_activities: 3, pain_discomfort: 4, anxiety_depression: 2, vas: 73, date: '2025-03-03' };

/** Every file under a directory. */
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

before(async () => {
  const consortiumFile = join(root, 'consortium.json');
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  nodes = new NodeProcs(cluster, ['--consortium', consortiumFile, '--exact-results', '--connect-timeout', '8000', '--recv-timeout', '20000']);
  await Promise.all(P.map((p) => nodes.start(p)));
  await uploadDataset({ config: cluster.config, dataset: { schema: pop.schema, codeLists: regs.codeLists, rows: pop.length, columns: pop.columns }, version: 'v1', signer: signer(F.cpr) });
  await publishConsent({ config: cluster.config, consortium: F.consortium, events: [], changes: [], signer: custodian, version: 'consent-v0' });
  writeFileSync(register, 'person_id,purpose,granted,time,until\n');
  const reg = async (person: number) => {
    const r = await registerCitizen({ config: cluster.config, consortium: F.consortium, signer: custodian, person, outDir: join(root, 'wallet'), table });
    return { name: r.name, privateKey: loadPrivateKey(r.keyPath!) };
  };
  citizen = await reg(PERSON);
  other = await reg(OTHER);
  await publishInboxKey({ config: cluster.config, signer: custodian, out: inboxKeyFile });
  // Policies of the population register and of the questionnaires' custodian; a study of both.
  const cprPolicy = F.policies.find((p) => p.policy.custodian === 'cpr')!;
  await submitDocument(cluster.config, 'policy', cprPolicy, signer(F.cpr));
  const proPolicy: CustodianPolicy = { format: POLICY_FORMAT, custodian: 'patient-reported', issuedAt: '2024-01-01T00:00:00Z', datasets: [{ dataset: PRO_DATASET, purposes: ['public-health'], minCellSize: 1, columns: { person_id: { roles: ['join-key'] }, vas: { roles: ['aggregate'], aggregates: ['count', 'sum', 'avg'] } } }] };
  await submitDocument(cluster.config, 'policy', signPolicy(proPolicy, F.consortium, signer(F.proCustodian)), signer(F.proCustodian));
  study = signStudy(F.study({ id: 'pro-and-population', datasets: [{ name: 'population', columns: ['person_id', 'region', 'sex'] }, { name: PRO_DATASET, columns: ['person_id', 'vas'] }], queries: [{ id: 'population', sql: POP_SQL }, { id: 'pro', sql: PRO_SQL }], validFrom: iso(Date.now() - DAY), validUntil: iso(Date.now() + DAY), createdAt: iso(Date.now() - DAY) }), alice);
  await submitDocument(cluster.config, 'study', study, alice);
  for (const c of [F.cpr, F.proCustodian]) await submitDocument(cluster.config, 'approval', approveStudy(study, F.consortium, signer(c)), signer(c));
});

after(async () => {
  await nodes?.stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** POP_SQL's cells in plaintext over the residents usable for public-health research at T. */
function reference(events: ConsentEvent[], T: number): Map<string, number> {
  const spec = (c: string) => pop.schema.columns.find((s) => s.name === c)!;
  const out = new Map<string, number>();
  ids.forEach((id, i) => {
    if (!consentDecision(events, id, 'public-health', T, 'opt-out').usable) return;
    const k = `${decodeValue(spec('region'), pop.columns.get('region')![i]!, regs.codeLists)}|${decodeValue(spec('sex'), pop.columns.get('sex')![i]!, regs.codeLists)}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  });
  return out;
}

const runPop = async () => {
  const r = await runRemoteQuery({ config: cluster.config, sql: POP_SQL, signer: alice, study, queryId: 'population' });
  const job = (await apiRequest<{ submittedAt: string }>(cluster.config, 0, `/v1/jobs/${r.job}`, { signer: alice })).body;
  const cells = new Map(r.rows.map((row) => [`${row[0]}|${row[1]}`, Number(row[2])]));
  for (const s of r.suppressed) cells.set(`${s.region}|${s.sex}`, -1);
  return { cells, T: unixSeconds(job.submittedAt) };
};

describe("a citizen's consent change from their own device", () => {
  it('sealed to the consent custodian; the next run leaves the citizen out exactly as the plaintext rule says; the citizen finds it in the log', async () => {
    const before = await runPop();
    const plain = await sendConsentChange({ config: cluster.config, signer: citizen, purpose: 'public-health', granted: false, time: new Date(Date.now() - 1000) });
    // The nodes keep the envelope only: no purpose or choice in their files.
    for (const d of cluster.nodeDirs) {
      const inbox = files(join(d, 'governance', 'citizens', 'consent-inbox'));
      assert.equal(inbox.length, 1);
      const text = readFileSync(inbox[0]!, 'utf8');
      for (const s of ['public-health', 'granted', plain.salt, String(PERSON)]) assert.ok(!text.includes(s), `${inbox[0]} holds ${s}`);
    }
    const r = await processConsentInbox({ config: cluster.config, consortium: F.consortium, signer: custodian, inboxKeyPem: readFileSync(inboxKeyFile, 'utf8'), table, register, version: 'consent-v1' });
    assert.deepEqual(r.skipped, []);
    assert.equal(r.changes.length, 1);
    assert.equal(r.changes[0]!.person, PERSON);
    assert.deepEqual((await processConsentInbox({ config: cluster.config, consortium: F.consortium, signer: custodian, inboxKeyPem: readFileSync(inboxKeyFile, 'utf8'), table, register })).changes, [], 'processed once');
    const after = await runPop();
    const events: ConsentEvent[] = [{ person: PERSON, purpose: 'public-health', granted: false, time: unixSeconds(plain.time) }];
    const want = reference(events, after.T);
    for (const [k, n] of want) assert.equal(after.cells.get(k) ?? -1, n >= 10 ? n : -1, `cell ${k}`);
    const changed = [...want].filter(([k, n]) => reference([], before.T).get(k) !== n);
    assert.equal(changed.length, 1, 'exactly one cell lost the citizen');
    // The citizen's receipt: the commitment with their own salt is in the log's consent-changed entry.
    const c = consentCommitment({ person: PERSON, purpose: 'public-health', granted: false, time: unixSeconds(plain.time) }, plain.salt);
    const entry = (await allEntries(cluster.config)).find((e) => e.kind === 'consent-changed' && e.body.version === 'consent-v1')!;
    assert.ok((entry.body.commitments as string[]).includes(c));
  });
});

describe('patient-reported data', () => {
  let version = '';
  let sealedBodies: Uint8Array[] = [];

  it('a questionnaire split in the citizen\'s device becomes a row of patient_reported after the key check in MPC', async () => {
    const r = await submitQuestionnaire({ config: cluster.config, signer: citizen, person: PERSON, answers: ANSWERS, onSealed: (b) => (sealedBodies = b) });
    assert.equal(r.status, 'added', r.error);
    version = r.version!;
    for (const p of P) {
      const d = await apiRequest<{ version: string; rows: number; custodian: string }>(cluster.config, p, `/v1/datasets/${PRO_DATASET}`);
      assert.deepEqual([d.body.version, d.body.rows, d.body.custodian], [version, 1, 'patient-reported'], `node ${p}`);
    }
    const mine = await apiRequest<{ status: string; version: string }[]>(cluster.config, 1, '/v1/pro/submissions', { signer: citizen });
    assert.deepEqual(mine.body.map((s) => [s.status, s.version]), [['added', version]]);
  });

  it('a questionnaire in another person\'s name is rejected by every node (the key check inside MPC)', async () => {
    const r = await submitQuestionnaire({ config: cluster.config, signer: other, person: PERSON, answers: ANSWERS });
    assert.equal(r.status, 'rejected');
    assert.match(r.error!, /not the citizen's \(checked inside MPC\)/);
    for (const p of P) {
      const d = await apiRequest<{ version: string; rows: number }>(cluster.config, p, `/v1/datasets/${PRO_DATASET}`);
      assert.equal(d.body.rows, 1, `node ${p}: nothing added`);
      const s = await apiRequest<{ status: string }[]>(cluster.config, p, '/v1/pro/submissions', { signer: other });
      for (let t = 0; s.body[0]?.status === 'pending' && t < 100; t++) await new Promise((ok) => setTimeout(ok, 50));
      const again = await apiRequest<{ status: string }[]>(cluster.config, p, '/v1/pro/submissions', { signer: other });
      assert.equal(again.body[0]!.status, 'rejected', `node ${p}`);
    }
  });

  it('a study links it on the person id, under the citizen\'s consent; the doctor\'s record shows it', async () => {
    // Ten weekly answers from the second citizen (who did not withdraw): counted; the first one's are not
    // (same sex: one cell; the population policy's smallest cell is 10).
    // 'added' means added at every node: each holds that version when the citizen hears it, and the
    // next questionnaire, sent at once, extends it (CI once saw node 2 still writing the previous one).
    for (let w = 0; w < 10; w++) {
      const s = await submitQuestionnaire({ config: cluster.config, signer: other, person: OTHER, answers: { ...ANSWERS, vas: 50 + w, date: `2025-03-${String(3 + w).padStart(2, '0')}` } });
      assert.equal(s.status, 'added', s.error);
      const held = await Promise.all(P.map(async (p) => (await apiRequest<{ version: string }>(cluster.config, p, `/v1/datasets/${PRO_DATASET}`)).body.version));
      assert.deepEqual(held, [s.version, s.version, s.version], `questionnaire ${w + 1}`);
    }
    const r = await runRemoteQuery({ config: cluster.config, sql: PRO_SQL, signer: alice, study, queryId: 'pro' });
    assert.deepEqual(r.rows.map((row) => row[1]), [10], 'the withdrawn citizen\'s questionnaire is left out');
    assert.ok(Math.abs(Number(r.rows[0]![2]) - 54.5) < 1e-3, `mean VAS ${r.rows[0]![2]} (fixed point)`);
    const g = (await createGrant({ config: cluster.config, signer: citizen, doctor: 'dr-hansen' })).grant;
    const rec = await readRecord({ config: cluster.config, signer: signer(F.doctor), grant: g, person: PERSON, registers: ['population', PRO_DATASET] });
    const rows = rec.registers.find((x) => x.dataset === PRO_DATASET)!.records;
    assert.deepEqual(rows, [{ date: '2025-03-03', instrument: 'EQ-5D-5L', mobility: 2, self_care: 1, usual_activities: 3, pain_discomfort: 4, anxiety_depression: 2, vas: 73 }]);
  });

  it('leak test: no node\'s files or output, and no sealed body, hold a submitted answer', () => {
    const u64s = (xs: number[]) => Buffer.concat(xs.map((x) => Buffer.from(new BigUint64Array([BigInt(x)]).buffer)));
    const needles = [
      u64s([ANSWERS.mobility, ANSWERS.self_care, ANSWERS.usual_activities, ANSWERS.pain_discomfort, ANSWERS.anxiety_depression, ANSWERS.vas]),
      u64s([PERSON]),
      Buffer.from(String(PERSON)),
      Buffer.from('"vas":73'),
      Buffer.from('"mobility":2'),
    ];
    for (const d of cluster.nodeDirs) for (const f of files(d)) {
      const bytes = readFileSync(f);
      for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${f} holds a submitted answer`);
    }
    for (const [p, out] of nodes.logs.entries()) for (const n of needles) assert.ok(!out.includes(n.toString('latin1')), `node ${p}'s output`);
    assert.equal(sealedBodies.length, 3);
    for (const b of sealedBodies) for (const n of needles) assert.equal(Buffer.from(b).indexOf(n), -1, 'a sealed body');
    assert.ok(version);
  });
});
