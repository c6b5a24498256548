// A patient's own record for a doctor (issue 15, steps 2-4), with three `mosaik node` processes of a
// governed cluster: a citizen registered by the custodian of citizen_keys signs a grant for a doctor
// of the consortium; the doctor's request carries the patient's person id as one sealed share per
// node; every node checks the request and the grant on its own, the nodes check inside MPC that
// the person id is the grant's citizen's and select that person's rows of every record register
// obliviously; the doctor combines the three sealed parts into exactly the plaintext rows. Refused
// at every node, each on its own: no grant, expired, revoked, forged, another doctor, another
// patient, a replayed request. Each access is in the transparency log as a commitment only the
// citizen can open: the citizen finds it, nobody else can link it; the log and the nodes' output
// hold no person id, citizen, doctor or grant in the clear.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { decodeValue } from '../src/ingest/schema.js';
import { uploadDataset } from '../src/ingest/upload.js';
import { loadPrivateKey, type Signer } from '../src/governance/identity.js';
import { sha256Hex } from '../src/governance/canonical.js';
import { findAccesses, type RecordValue } from '../src/governance/record-format.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { registerCitizen } from '../src/cli/citizen.js';
import { allEntries, createGrant, listGrants, readRecord, RecordRefused, revokeGrant } from '../src/cli/record.js';
import { signGrant, type SignedGrant } from '../src/governance/grants.js';
import { fixture, signer } from './governance-fixture.js';
import { NodeProcs } from './node-procs.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-records-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const DAY = 86_400_000;
const regs = generateRegisters({ citizens: 400, seed: 5 });
const REGISTERS = [regs.population, regs.contacts, regs.prescriptions];
let cluster: LocalCluster;
let nodes: NodeProcs;
const doctor = signer(F.doctor);
const abroad = signer(F.doctor2);

/** The person of the population with the most contacts and prescriptions, and another one. */
const pidCol = (r: Register) => r.columns.get('person_id')!;
const countOf = (r: Register, p: bigint) => pidCol(r).filter((x) => x === p).length;
const persons = Array.from(pidCol(regs.population));
const A = persons.reduce((best, p) => (countOf(regs.contacts, p) + countOf(regs.prescriptions, p) > countOf(regs.contacts, best) + countOf(regs.prescriptions, best) ? p : best));
const B = persons.find((p) => p !== A && countOf(regs.contacts, p) > 0)!;

/** A person's rows of a register in plaintext, decoded as the record shows them. */
function plainRows(r: Register, person: bigint): string[] {
  const out: string[] = [];
  pidCol(r).forEach((p, i) => {
    if (p !== person) return;
    const row: Record<string, RecordValue> = {};
    for (const c of r.schema.columns) if (c.type !== 'person_id') row[c.name] = decodeValue(c, r.columns.get(c.name)![i]!, regs.codeLists);
    out.push(JSON.stringify(row));
  });
  return out.sort();
}

let citizenA: Signer, citizenB: Signer;
let grant: SignedGrant;

before(async () => {
  const consortiumFile = join(root, 'consortium.json');
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  nodes = new NodeProcs(cluster, ['--consortium', consortiumFile, '--connect-timeout', '8000', '--recv-timeout', '20000']);
  await Promise.all(P.map((p) => nodes.start(p)));
  for (const reg of REGISTERS) {
    const custodian = reg.schema.custodian === F.cpr.name ? F.cpr : F.sds;
    await uploadDataset({ config: cluster.config, dataset: { schema: reg.schema, codeLists: regs.codeLists, rows: reg.length, columns: reg.columns }, version: 'v1', signer: signer(custodian) });
  }
  const table = join(root, 'citizen-keys.csv');
  const reg = async (person: bigint) => {
    const r = await registerCitizen({ config: cluster.config, consortium: F.consortium, signer: signer(F.consentCustodian), person: Number(person), outDir: join(root, 'wallet'), table });
    return { name: r.name, privateKey: loadPrivateKey(r.keyPath!) };
  };
  citizenA = await reg(A);
  citizenB = await reg(B);
  grant = (await createGrant({ config: cluster.config, signer: citizenA, doctor: 'dr-hansen', days: 30 })).grant;
});

after(async () => {
  await nodes?.stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** The doctor's request must be refused by every node, each giving `re`; every node's job says so. */
async function refusedEverywhere(read: Promise<unknown>, re: RegExp): Promise<void> {
  const e = await read.then(() => null, (x: unknown) => x);
  assert.ok(e instanceof RecordRefused, `refused, got ${e instanceof Error ? e.message : 'a record'}`);
  assert.deepEqual(e.refusals.map((r) => r.party).sort(), [0, 1, 2], e.message);
  for (const r of e.refusals) assert.match(r.error, re, `node ${r.party}: ${r.error}`);
  if (!e.job) return;
  for (const p of P) {
    const r: { status: number; body: { status: string; error: string } } = await apiRequest(cluster.config, p, `/v1/records/${e.job}`, { signer: doctor });
    if (r.status === 403) continue; // another doctor's job: not this doctor's to read
    assert.equal(r.body.status, 'failed', `node ${p}`);
    assert.match(r.body.error, /^(refused|cancelled): /, `node ${p}`);
  }
}

describe("a patient's record for a chosen doctor", () => {
  let firstJob = '';

  it('the doctor reads exactly the patient\'s rows of every register, combined from three sealed parts', async () => {
    const rec = await readRecord({ config: cluster.config, signer: doctor, grant, person: Number(A) });
    firstJob = rec.job;
    for (const reg of REGISTERS) {
      const got = rec.registers.find((r) => r.dataset === reg.schema.name)!;
      assert.ok(got, reg.schema.name);
      assert.deepEqual(got.records.map((x) => JSON.stringify(x)).sort(), plainRows(reg, A), reg.schema.name);
      assert.equal(got.rows, reg.length);
    }
    assert.ok(rec.timeline.length >= 3);
    assert.ok(rec.timeline.some((e) => e.title === 'Hospital contact' && /diagnosis: [A-Z]\d\d/.test(e.details)), rec.timeline.map((e) => e.details).join('\n'));
  });

  it('refused at every node: no grant, expired, revoked, forged, another doctor, a replay', async () => {
    // A grant the citizen signed but never registered.
    const unregistered = signGrant({ ...grant.grant, id: randomUUID() }, citizenA);
    await refusedEverywhere(readRecord({ config: cluster.config, signer: doctor, grant: unregistered, person: Number(A) }), /is not registered at this node/);
    const expired = (await createGrant({ config: cluster.config, signer: citizenA, doctor: 'dr-hansen', from: new Date(Date.now() - 40 * DAY), days: 30 })).grant;
    await refusedEverywhere(readRecord({ config: cluster.config, signer: doctor, grant: expired, person: Number(A) }), /expired at/);
    const revoked = (await createGrant({ config: cluster.config, signer: citizenA, doctor: 'dr-hansen', days: 30 })).grant;
    await readRecord({ config: cluster.config, signer: doctor, grant: revoked, person: Number(A) }); // works before the revocation
    await revokeGrant({ config: cluster.config, signer: citizenA, grant: revoked.grant.id });
    await refusedEverywhere(readRecord({ config: cluster.config, signer: doctor, grant: revoked, person: Number(A) }), /was revoked by its citizen/);
    const forged = { ...grant, grant: { ...grant.grant, validUntil: new Date(Date.now() + 300 * DAY).toISOString() } };
    await refusedEverywhere(readRecord({ config: cluster.config, signer: doctor, grant: forged, person: Number(A) }), /is forged: it is not signed with the registered key of citizen/);
    const byOtherCitizen = signGrant({ ...grant.grant, citizen: citizenB.name }, citizenB);
    await refusedEverywhere(readRecord({ config: cluster.config, signer: doctor, grant: byOtherCitizen, person: Number(A) }), /forged|differs from the one its citizen registered/);
    await refusedEverywhere(readRecord({ config: cluster.config, signer: abroad, grant, person: Number(A) }), /is for doctor 'dr-hansen', not for 'dr-weber'/);
    // The same signed request again (e.g. replayed by a relay): every node has seen its nonce.
    let sent: unknown;
    await readRecord({ config: cluster.config, signer: doctor, grant, person: Number(A), onRequest: (r) => (sent = r) });
    const again = await apiRequest<{ error: string; refusals: { party: number; error: string }[] }>(cluster.config, 0, '/v1/records', { body: { request: sent }, signer: doctor });
    assert.equal(again.status, 403);
    assert.deepEqual(again.body.refusals.map((r) => r.party).sort(), [0, 1, 2]);
    for (const r of again.body.refusals) assert.match(r.error, /received before \(replayed\)/);
    // A malicious node 0 offers nodes 1 and 2 a request it altered (another register): each checks
    // the doctor's signature itself and refuses.
    const nodeA = { key: readFileSync(join(cluster.nodeDirs[0], 'node-a.key.pem'), 'utf8'), cert: readFileSync(join(cluster.nodeDirs[0], 'node-a.cert.pem'), 'utf8') };
    let fresh: { request: { registers: string[] } } | undefined;
    await readRecord({ config: cluster.config, signer: doctor, grant, person: Number(A), onRequest: (r) => (fresh = r as typeof fresh) });
    const altered = { ...fresh!, request: { ...fresh!.request, registers: ['population'] } };
    for (const p of [1, 2] as PartyId[]) {
      const x = await apiRequest<{ error: string; refused?: boolean }>(cluster.config, p, '/v1/internal/records', { body: { id: randomUUID(), request: altered, submittedAt: new Date().toISOString(), versions: { population: 'v1', citizen_keys: 'x' } }, ...nodeA });
      assert.equal(x.status, 403, JSON.stringify(x.body));
      assert.match(x.body.error, /not signed with doctor 'dr-hansen's registered key/);
    }
  });

  it('refused at every node, inside MPC: another patient under the grant', async () => {
    await refusedEverywhere(readRecord({ config: cluster.config, signer: doctor, grant, person: Number(B) }), /the person id in the request is not that of grant .*'s citizen \(checked inside MPC\)/);
  });

  it('a doctor abroad reads the record under a grant for them', async () => {
    const g = (await createGrant({ config: cluster.config, signer: citizenA, doctor: 'dr-weber', days: 7 })).grant;
    const rec = await readRecord({ config: cluster.config, signer: abroad, grant: g, person: Number(A) });
    assert.deepEqual(rec.registers.find((r) => r.dataset === 'contacts')!.records.map((x) => JSON.stringify(x)).sort(), plainRows(regs.contacts, A));
    // Dr. Weber lists the grants made to them (no salts); the citizen lists theirs (with salts).
    const theirs = await listGrants(cluster.config, abroad);
    assert.deepEqual(theirs.map((x) => [x.grant.grant.id, x.salt]), [[g.grant.id, undefined]]);
    assert.ok((await listGrants(cluster.config, citizenA)).every((x) => x.salt));
  });

  it('each access is in the log as a commitment only the citizen opens; nothing in the log or the nodes\' output names the patient', async () => {
    const entries = await allEntries(cluster.config);
    const accessed = entries.filter((e) => e.kind === 'record-accessed');
    // Every run that was admitted by all three is logged (the first read, the revoked grant's read before its revocation, the
    // reads before the replay and before the altered offer, the other patient's attempt, Dr. Weber's read).
    assert.equal(accessed.length, 6);
    const mine = await findAccesses(entries, await listGrants(cluster.config, citizenA), sha256Hex);
    assert.equal(mine.length, 6);
    assert.deepEqual(mine.map((a) => a.doctor).sort(), ['dr-hansen', 'dr-hansen', 'dr-hansen', 'dr-hansen', 'dr-hansen', 'dr-weber']);
    assert.ok(mine.some((a) => a.job === firstJob && a.grant === grant.grant.id));
    assert.deepEqual(await findAccesses(entries, await listGrants(cluster.config, citizenB), sha256Hex), [], 'another citizen finds none');
    const text = JSON.stringify(accessed);
    for (const s of [citizenA.name, citizenB.name, 'dr-hansen', 'dr-weber', grant.grant.id, String(A), String(B)]) assert.ok(!text.includes(s), `the log names ${s}`);
    for (const [p, out] of nodes.logs.entries()) for (const s of [String(A), String(B), String(A).padStart(10, '0')]) assert.ok(!out.includes(s), `node ${p}'s output names a person id`);
  });

  it('no node\'s files hold a plaintext person id (shares at rest and the id bits kept for later reads)', () => {
    const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
    const all = files(cluster.dir);
    assert.ok(all.some((f) => f.endsWith('.share')), 'the nodes\' stores are under the cluster directory');
    const ids = [A, B, ...persons];
    for (const f of all) {
      const raw = readFileSync(f);
      for (const id of ids) {
        const le = Buffer.alloc(8);
        le.writeBigUInt64LE(id);
        assert.equal(raw.indexOf(le), -1, `${f} holds person ${id} (8 bytes)`);
        assert.equal(raw.indexOf(String(id)), -1, `${f} holds person ${id} in decimal`);
      }
    }
  });
});
