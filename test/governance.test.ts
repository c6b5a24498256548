// Governance: identities, the consortium configuration, signed studies and approvals, custodian
// policies and the node's authorization check (every refusal with its code and message), node
// attestations, usage records and the privacy budget.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { demoCodeLists } from '../src/demo/codelists.js';
import { demoSchemas } from '../src/demo/schemas.js';
import { PrivacyBudget } from '../src/governance/budget.js';
import { newResultKeyPair } from '../src/governance/sealed.js';
import { canonicalJson } from '../src/governance/canonical.js';
import { addMember, Consortium, readConfigFile, type ConsortiumConfig } from '../src/governance/consortium.js';
import { GovernanceError, type GovernanceCode } from '../src/governance/errors.js';
import { keyId, loadPrivateKey, loadPublicKey, signDocument, verifyDocument, writeIdentity } from '../src/governance/identity.js';
import { queryUseOfPlan, usesOfPlan } from '../src/governance/plan-uses.js';
import {
  attestAuthorization, authorize, normalizeQueryText, signPolicy, verifyAttestations, type AuthorizeInput, type CustodianPolicy, type QueryUse,
} from '../src/governance/policy.js';
import {
  approveStudy, checkStudy, parseSignedStudy, signQueryRequest, signStudy, studyHash, studyLedgerBody, verifyStudySignature, type Approval, type SignedStudy,
} from '../src/governance/study.js';
import { summarizeUsage, UsageLog } from '../src/governance/usage.js';
import { noiseTable, laplaceFor, runCost } from '../src/mpc/noise.js';
import { planSql } from '../src/query/plan.js';
import { fixture, LOS_SQL, POP_SQL, signer, T2D_SQL, type Fixture } from './governance-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'mosaik-gov-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const schemas = new Map(demoSchemas().map((s) => [s.name, s]));
const codeLists = demoCodeLists();
const planned = (sql: string, dataset: string, minCellSize?: number): QueryUse => queryUseOfPlan(planSql(sql, schemas.get(dataset)!, codeLists), minCellSize);

/** Asserts that f throws a GovernanceError with this code and a message matching re. */
function refused(f: () => unknown, code: GovernanceCode, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof GovernanceError, `expected a GovernanceError, got ${e}`);
    assert.equal(e.code, code, `code (message: ${e.message})`);
    assert.match(e.message, re);
    return true;
  });
}

const F = fixture();
const input = (o: Partial<AuthorizeInput> = {}, f: Fixture = F): AuthorizeInput => ({
  study: f.signed,
  approvals: f.approvals,
  consortium: f.consortium,
  policies: f.policies,
  now: f.now,
  query: planned(T2D_SQL, 'contacts'),
  ...o,
});

describe('identities and signatures', () => {
  it('keygen writes a private key readable only by its owner, a public key and a member entry', () => {
    const id = writeIdentity(join(tmp, 'keys'), 'carol', 'researcher');
    assert.equal(statSync(id.keyPath).mode & 0o777, 0o600);
    const priv = loadPrivateKey(id.keyPath), pub = loadPublicKey(id.publicKeyPath);
    assert.equal(keyId(priv), keyId(pub));
    assert.equal(id.keyId, keyId(pub));
    const member = JSON.parse(readFileSync(id.memberPath, 'utf8'));
    assert.deepEqual([member.name, member.role, member.publicKey], ['carol', 'researcher', id.publicKeyPem]);
    refused(() => writeIdentity(join(tmp, 'keys'), 'carol', 'researcher'), 'malformed', /exists; pass overwrite/);
    refused(() => writeIdentity(join(tmp, 'keys'), 'bad name', 'researcher'), 'malformed', /must be 1-64 characters/);
    refused(() => writeIdentity(join(tmp, 'keys'), 'x', 'admin' as 'researcher'), 'malformed', /role 'admin'/);
    refused(() => loadPrivateKey(id.publicKeyPath), 'malformed', /not a PEM private key/);
  });

  it('signatures cover the canonical JSON (key order and spacing do not matter) and the document kind', () => {
    const body = { b: [1, 'x', { d: null, c: true }], a: 'é' };
    assert.equal(canonicalJson(body), '{"a":"é","b":[1,"x",{"c":true,"d":null}]}');
    const s = signDocument('study', body, signer(F.alice));
    assert.ok(verifyDocument('study', JSON.parse(JSON.stringify({ a: 'é', b: [1, 'x', { c: true, d: null }] })), s, F.alice.publicKey));
    assert.ok(!verifyDocument('approval', body, s, F.alice.publicKey), 'a study signature is not an approval signature');
    assert.ok(!verifyDocument('study', { ...body, a: 'e' }, s, F.alice.publicKey));
    assert.ok(!verifyDocument('study', body, s, F.bob.publicKey));
    assert.ok(!verifyDocument('study', body, { ...s, sig: 'AAAA' }, F.alice.publicKey));
  });
});

describe('consortium configuration', () => {
  it('refuses inconsistent configurations with a clear message', () => {
    const c = F.config;
    const bad = (o: Partial<ConsortiumConfig>, re: RegExp) => refused(() => Consortium.fromConfig({ ...c, ...o }), 'malformed', re);
    bad({ purposes: [] }, /purposes/);
    bad({ purposes: [{ code: 'x', label: 'x', consent: 'maybe' as 'opt-in' }] }, /consent must be 'opt-in' or 'opt-out'/);
    bad({ purposes: [c.purposes[0]!, c.purposes[0]!] }, /declared twice/);
    bad({ members: [...c.members, { ...c.members[2]!, name: 'cpr2' }] }, /dataset 'population' is owned by both 'cpr' and 'cpr2'/);
    bad({ members: [...c.members, { ...c.members[0]! }] }, /listed twice/);
    bad({ members: [{ ...c.members[0]!, datasets: ['x'] }] }, /only custodians own datasets/);
    bad({ members: [{ ...c.members[0]!, publicKey: 'nope.pem' }] }, /public key file/);
    bad({ consent: { dataset: 'consent', custodian: 'alice' } }, /not a custodian/);
  });

  it('loads public keys from files relative to the configuration, and adds members', () => {
    const dir = join(tmp, 'consortium');
    const id = writeIdentity(dir, 'dana', 'custodian');
    const path = join(dir, 'consortium.json');
    addMember(path, { name: 'dana', role: 'custodian', publicKey: 'dana.ed25519.pub.pem', datasets: ['registry'] });
    const c = Consortium.load(path);
    assert.equal(c.member('dana')!.keyId, id.keyId);
    assert.equal(c.custodianOf('registry'), 'dana');
    assert.equal(c.purpose('commercial-pharma')!.consent, 'opt-in');
    assert.equal(c.purpose('public-health')!.consent, 'opt-out');
    refused(() => addMember(path, { name: 'dana', role: 'custodian', publicKey: id.publicKeyPem }), 'malformed', /already in/);
    assert.equal(readConfigFile(path).members.length, 1);
  });
});

describe('authorization: the happy path', () => {
  it('a signed, approved, valid study with an allowed query and column uses is authorized', () => {
    const a = authorize(input());
    assert.equal(a.study, 't2d-2024');
    assert.equal(a.studyHash, studyHash(F.signed.study));
    assert.deepEqual(a.query, { id: 'cases', sql: T2D_SQL });
    assert.deepEqual(a.read, ['contacts']);
    assert.deepEqual(
      a.uses.map((u) => `${u.column}:${u.role}`).sort(),
      ['diagnosis:filter', 'first_in_category:filter', 'region:group', 'sex:group'],
    );
    assert.equal(a.minCellSize, 5, 'the policy of the dataset read (contacts: 5)');
    assert.deepEqual(a.consent, { purpose: 'public-health', default: 'opt-out', register: { dataset: 'consent', custodian: 'consent-register' } });
    assert.equal(a.dp, null);
    assert.equal(a.budget, null);
    assert.deepEqual(a.datasets.map((d) => [d.name, d.custodian, d.minCellSize]), [['contacts', 'sundhedsdatastyrelsen', 5], ['population', 'cpr', 10]]);
    assert.equal(a.checkedAt, '2025-06-01T12:00:00.000Z');
  });

  it('the population query gets the stricter policy of its dataset; requested sizes above it are kept', () => {
    assert.equal(authorize(input({ query: planned(POP_SQL, 'population') })).minCellSize, 10);
    assert.equal(authorize(input({ query: planned(POP_SQL, 'population', 20) })).minCellSize, 20);
    assert.equal(authorize(input({ study: signStudy(F.study({ minCellSize: 12 }), signer(F.alice)), approvals: reapprove(F.study({ minCellSize: 12 })) })).minCellSize, 12);
  });

  it('the query text is compared modulo case, white space and a trailing semicolon (not inside quotes)', () => {
    const variant = "select region,sex, count(*)  AS persons\n FROM contacts WHERE diagnosis LIKE 'E11%'  and first_in_category GROUP BY region , sex ;";
    assert.equal(normalizeQueryText(variant), normalizeQueryText(T2D_SQL));
    assert.equal(authorize(input({ query: { ...planned(T2D_SQL, 'contacts'), sql: variant } })).query.id, 'cases');
    assert.notEqual(normalizeQueryText(T2D_SQL.replace("'E11%'", "'e11%'")), normalizeQueryText(T2D_SQL));
  });

  it('a study file with keys in another order still verifies (canonical encoding)', () => {
    const shuffled = JSON.parse(JSON.stringify(F.signed, (k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)));
    assert.equal(verifyStudySignature(parseSignedStudy(shuffled), F.consortium), studyHash(F.signed.study));
  });

  it('uses derived from the plan: filter, group (age_band → birth_date) and aggregates', () => {
    const plan = planSql("SELECT age_band(birth_date, '2024-12-31') AS band, COUNT(*) FROM population WHERE region = 'Hovedstaden' GROUP BY band", schemas.get('population')!, codeLists);
    assert.deepEqual(usesOfPlan(plan), [
      { dataset: 'population', column: 'region', role: 'filter' },
      { dataset: 'population', column: 'birth_date', role: 'group' },
    ]);
    const los = usesOfPlan(planSql(LOS_SQL, schemas.get('contacts')!, codeLists));
    assert.deepEqual(los, [
      { dataset: 'contacts', column: 'age_band', role: 'group' },
      { dataset: 'contacts', column: 'length_of_stay', role: 'aggregate', aggregate: 'avg' },
    ]);
  });
});

/** Approvals of a changed study by both custodians. */
function reapprove(study: ReturnType<Fixture['study']>, f: Fixture = F): Approval[] {
  const ss = signStudy(study, signer(f.alice));
  return [approveStudy(ss, f.consortium, signer(f.sds)), approveStudy(ss, f.consortium, signer(f.cpr))];
}

describe('authorization: refusals (each names the failing check)', () => {
  it('unsigned study', () => {
    refused(() => authorize(input({ study: { study: F.signed.study } })), 'unsigned', /study 't2d-2024' is not signed by its researcher 'alice'/);
  });

  it('study signed by someone other than its researcher', () => {
    const byBob = { study: F.signed.study, signature: signDocument('study', F.signed.study, signer(F.bob)) };
    refused(() => authorize(input({ study: byBob })), 'wrong-signer', /signed by 'bob', but its researcher is 'alice'/);
    // Bob's key under Alice's name.
    const forged = { study: F.signed.study, signature: signDocument('study', F.signed.study, { name: 'alice', privateKey: F.bob.privateKey }) };
    refused(() => authorize(input({ study: forged })), 'wrong-signer', /not researcher 'alice's registered key/);
    refused(() => signStudy(F.signed.study, signer(F.bob)), 'wrong-signer', /'bob' cannot sign it/);
  });

  it('researcher that is not a researcher, or not a member', () => {
    const s = F.study({ researcher: 'cpr' });
    refused(() => authorize(input({ study: signStudy(s, signer(F.cpr)) })), 'wrong-role', /'cpr' is a custodian, not a researcher/);
    const m = F.study({ researcher: 'mallory' });
    refused(() => authorize(input({ study: { study: m } })), 'unknown-member', /researcher 'mallory' is not a member of consortium 'test'/);
  });

  it('tampered study (changed after signing) and tampered signature', () => {
    const changed: SignedStudy = { study: { ...F.signed.study, queries: [...F.signed.study.queries, { id: 'all', sql: 'SELECT COUNT(*) FROM contacts' }] }, signature: F.signed.signature! };
    refused(() => authorize(input({ study: changed })), 'bad-signature', /researcher's signature does not verify \(the study was changed after signing/);
    const sig = Buffer.from(F.signed.signature!.sig, 'base64');
    sig[7]! ^= 1;
    refused(() => authorize(input({ study: { study: F.signed.study, signature: { ...F.signed.signature!, sig: sig.toString('base64') } } })), 'bad-signature', /signature does not verify/);
  });

  it('study approved by only one of its two custodians', () => {
    refused(() => authorize(input({ approvals: [F.approvals[0]!] })), 'missing-approval', /lacks the approval of custodian 'cpr' \(population\)/);
    refused(() => authorize(input({ approvals: [F.approvals[1]!] })), 'missing-approval', /lacks the approval of custodian 'sundhedsdatastyrelsen' \(contacts\)/);
    refused(() => authorize(input({ approvals: [] })), 'missing-approval', /custodians 'sundhedsdatastyrelsen' \(contacts\), 'cpr' \(population\)/);
  });

  it('approvals of another version, rejected, forged or tampered', () => {
    const v2 = F.study({ title: 'Type-2 diabetes prevalence (v2)' });
    const s2 = signStudy(v2, signer(F.alice));
    refused(() => authorize(input({ study: s2 })), 'approval-mismatch', /approval by 'sundhedsdatastyrelsen' is for another version of study 't2d-2024'/);
    const rej = approveStudy(F.signed, F.consortium, signer(F.cpr), { decision: 'reject', reason: 'purpose too broad' });
    refused(() => authorize(input({ approvals: [F.approvals[0]!, rej] })), 'rejected', /rejected by custodian 'cpr': purpose too broad/);
    // CPR signs an approval in the name of the health data authority.
    const forged: Approval = { approval: { ...F.approvals[0]!.approval }, signature: signDocument('approval', F.approvals[0]!.approval, { name: 'sundhedsdatastyrelsen', privateKey: F.cpr.privateKey }) };
    refused(() => authorize(input({ approvals: [forged, F.approvals[1]!] })), 'wrong-signer', /not custodian 'sundhedsdatastyrelsen's registered key/);
    const tampered: Approval = { approval: { ...F.approvals[1]!.approval, datasets: ['population', 'income'] }, signature: F.approvals[1]!.signature! };
    refused(() => authorize(input({ approvals: [F.approvals[0]!, tampered] })), 'bad-signature', /approval of study 't2d-2024' by 'cpr': the signature does not verify/);
    refused(() => authorize(input({ approvals: [F.approvals[0]!, { approval: F.approvals[1]!.approval }] })), 'unsigned', /approval of study 't2d-2024' by 'cpr' is not signed/);
  });

  it('one node alone cannot approve: a node key is no custodian key', () => {
    const node = F.nodes[0]!;
    const fake: Approval = { approval: { ...F.approvals[1]!.approval }, signature: signDocument('approval', F.approvals[1]!.approval, { name: 'cpr', privateKey: node.privateKey }) };
    refused(() => authorize(input({ approvals: [F.approvals[0]!, fake] })), 'wrong-signer', /not custodian 'cpr's registered key/);
    refused(() => approveStudy(F.signed, F.consortium, { name: 'node-a', privateKey: node.privateKey }), 'unknown-member', /'node-a' is not a member/);
    refused(() => approveStudy(F.signed, F.consortium, signer(F.dst)), 'wrong-signer', /reads no dataset of custodian 'dst'/);
    refused(() => approveStudy(F.signed, F.consortium, signer(F.alice)), 'wrong-role', /only custodians approve/);
  });

  it('expired and not yet valid', () => {
    refused(() => authorize(input({ now: '2026-01-01T00:00:00Z' })), 'expired', /study 't2d-2024' expired at 2026-01-01T00:00:00Z/);
    refused(() => authorize(input({ now: new Date('2024-12-31T23:59:59Z') })), 'not-yet-valid', /not valid yet: its period starts 2025-01-01/);
    assert.ok(authorize(input({ now: '2025-01-01T00:00:00Z' })), 'valid from its first instant');
    assert.ok(authorize(input({ now: Date.parse('2025-12-31T23:59:59.999Z') })), 'valid up to its last instant');
  });

  it('wrong purpose: not declared, or not allowed by a custodian', () => {
    const pharma = F.study({ purpose: 'commercial-pharma' });
    refused(() => authorize(input({ study: signStudy(pharma, signer(F.alice)), approvals: reapprove(pharma) })), 'purpose-not-allowed', /custodian 'sundhedsdatastyrelsen' does not allow its dataset 'contacts' to be used for commercial pharma research \('commercial-pharma'\)/);
    const qi = F.study({ purpose: 'quality-improvement' });
    refused(() => authorize(input({ study: signStudy(qi, signer(F.alice)), approvals: reapprove(qi) })), 'purpose-not-allowed', /custodian 'cpr' does not allow its dataset 'population'/);
    const marketing = F.study({ purpose: 'marketing' });
    const sm = signStudy(marketing, signer(F.alice));
    refused(() => authorize(input({ study: sm })), 'unknown-purpose', /purpose 'marketing' is not declared by consortium 'test'/);
    refused(() => approveStudy(sm, F.consortium, signer(F.sds)), 'unknown-purpose', /'marketing' is not declared/);
  });

  it('forbidden column (listed as forbidden, or not listed at all)', () => {
    const q = (uses: QueryUse['uses']): QueryUse => ({ sql: T2D_SQL, datasets: ['contacts'], uses });
    refused(() => authorize(input({ query: q([{ dataset: 'contacts', column: 'hospital', role: 'group' }]) })), 'column-forbidden', /column contacts.hospital may not be used: custodian 'sundhedsdatastyrelsen's policy forbids it/);
    const s = F.study({ datasets: [{ name: 'contacts', columns: ['diagnosis', 'first_in_category', 'region', 'sex', 'hospital', 'person_id', 'secret'] }, { name: 'population', columns: ['region', 'sex'] }] });
    refused(() => authorize(input({ study: signStudy(s, signer(F.alice)), approvals: reapprove(s), query: q([{ dataset: 'contacts', column: 'secret', role: 'filter' }]) })), 'column-forbidden', /contacts.secret may not be used: custodian 'sundhedsdatastyrelsen's policy does not list it/);
  });

  it('column used in a role or with an aggregate the policy does not allow', () => {
    const q = (uses: QueryUse['uses']): QueryUse => ({ sql: T2D_SQL, datasets: ['contacts'], uses });
    refused(() => authorize(input({ query: q([{ dataset: 'contacts', column: 'length_of_stay', role: 'group' }]) })), 'column-role', /contacts.length_of_stay may not be used as group \(custodian 'sundhedsdatastyrelsen' allows: aggregate, filter\)/);
    refused(() => authorize(input({ query: q([{ dataset: 'contacts', column: 'first_in_category', role: 'aggregate', aggregate: 'sum' }]) })), 'column-role', /first_in_category may not be used as aggregate/);
    refused(() => authorize(input({ query: q([{ dataset: 'contacts', column: 'length_of_stay', role: 'aggregate', aggregate: 'max' }]) })), 'aggregate-not-allowed', /may not be aggregated with MAX \(custodian 'sundhedsdatastyrelsen' allows: COUNT, SUM, AVG\)/);
    // Through the planner: MAX(length_of_stay) on an allowed query text.
    const maxSql = 'SELECT age_band, MAX(length_of_stay) FROM contacts GROUP BY age_band';
    const s = F.study({ queries: [{ id: 'max', sql: maxSql }] });
    refused(() => authorize(input({ study: signStudy(s, signer(F.alice)), approvals: reapprove(s), query: planned(maxSql, 'contacts') })), 'aggregate-not-allowed', /MAX/);
  });

  it('dataset or column the study does not declare', () => {
    refused(() => authorize(input({ query: { sql: T2D_SQL, datasets: ['income'], uses: [] } })), 'dataset-not-in-study', /reads dataset 'income', which study 't2d-2024' does not declare \(it declares contacts, population\)/);
    refused(() => authorize(input({ query: { sql: T2D_SQL, datasets: ['contacts'], uses: [{ dataset: 'contacts', column: 'admission_date', role: 'filter' }] } })), 'column-not-in-study', /column contacts.admission_date, which study 't2d-2024' does not declare/);
  });

  it('query not in the study’s list', () => {
    const sql = 'SELECT region, COUNT(*) FROM contacts GROUP BY region';
    refused(() => authorize(input({ query: planned(sql, 'contacts') })), 'query-not-allowed', /study 't2d-2024' does not allow this query: SELECT region, COUNT\(\*\) FROM contacts GROUP BY region \(allowed: cases, population, stay\)/);
    refused(() => authorize(input({ query: { statistic: 'mean(contacts.length_of_stay)', datasets: ['contacts'], uses: [] } })), 'query-not-allowed', /does not allow this statistic/);
  });

  it('smallest cell below the policy', () => {
    refused(() => authorize(input({ query: planned(T2D_SQL, 'contacts', 3) })), 'min-cell-size', /smallest cell of 3, below the 5 that custodian 'sundhedsdatastyrelsen' requires for dataset 'contacts'/);
    refused(() => authorize(input({ query: planned(POP_SQL, 'population', 9) })), 'min-cell-size', /below the 10 that custodian 'cpr' requires for dataset 'population'/);
  });

  it('missing, tampered, misattributed and superseded policies', () => {
    refused(() => authorize(input({ policies: [F.policies[0]!] })), 'missing-policy', /custodian 'cpr' has no policy in effect for dataset 'population'/);
    const tampered = { policy: { ...F.policies[1]!.policy, datasets: [{ ...F.policies[1]!.policy.datasets[0]!, minCellSize: 1 }] }, signature: F.policies[1]!.signature! };
    refused(() => authorize(input({ policies: [F.policies[0]!, tampered] })), 'bad-signature', /policy of custodian 'cpr' .*does not verify/);
    const bySds = { policy: F.policies[1]!.policy, signature: signDocument('policy', F.policies[1]!.policy, { name: 'cpr', privateKey: F.sds.privateKey }) };
    refused(() => authorize(input({ policies: [F.policies[0]!, bySds] })), 'wrong-signer', /not signed with the custodian's registered key/);
    refused(() => signPolicy({ ...F.policyOf.cpr, datasets: [{ ...F.policyOf.cpr.datasets[0]!, dataset: 'contacts' }] }, F.consortium, signer(F.cpr)), 'wrong-signer', /covers dataset 'contacts', which custodian 'sundhedsdatastyrelsen' owns/);
    // A newer policy takes over; one issued in the future does not yet.
    const newer: CustodianPolicy = { ...F.policyOf.cpr, issuedAt: '2025-03-01T00:00:00Z', datasets: [{ ...F.policyOf.cpr.datasets[0]!, minCellSize: 15 }] };
    const future: CustodianPolicy = { ...F.policyOf.cpr, issuedAt: '2025-09-01T00:00:00Z', datasets: [{ ...F.policyOf.cpr.datasets[0]!, minCellSize: 50 }] };
    const ps = [...F.policies, signPolicy(newer, F.consortium, signer(F.cpr)), signPolicy(future, F.consortium, signer(F.cpr))];
    assert.equal(authorize(input({ policies: ps, query: planned(POP_SQL, 'population') })).minCellSize, 15);
    assert.equal(authorize(input({ policies: ps, query: planned(POP_SQL, 'population'), now: '2025-10-01T00:00:00Z' })).minCellSize, 50);
  });

  it('differential privacy required by policy, and a budget larger than a policy allows', () => {
    const strict: CustodianPolicy = { ...F.policyOf.cpr, issuedAt: '2025-02-01T00:00:00Z', datasets: [{ ...F.policyOf.cpr.datasets[0]!, dp: { required: true, maxEpsilon: 2 } }] };
    const ps = [...F.policies, signPolicy(strict, F.consortium, signer(F.cpr))];
    refused(() => authorize(input({ policies: ps, query: planned(POP_SQL, 'population') })), 'dp-required', /custodian 'cpr' requires differential privacy for dataset 'population', but query 'population' of study 't2d-2024' declares no epsilon/);
    // The contacts query reads no population data: no noise needed there.
    assert.equal(authorize(input({ policies: ps })).dp, null);
    const big = F.study({ privacy: { epsilon: 3 }, queries: F.baseStudy.queries.map((q) => ({ ...q, epsilon: 0.5 })) });
    refused(() => authorize(input({ policies: ps, study: signStudy(big, signer(F.alice)), approvals: reapprove(big) })), 'budget-over-policy', /privacy budget of epsilon 3, above the 2 custodian 'cpr' allows for dataset 'population'/);
    const ok = F.study({ privacy: { epsilon: 1.5 }, queries: F.baseStudy.queries.map((q) => ({ ...q, epsilon: 0.5 })) });
    const a = authorize(input({ policies: ps, study: signStudy(ok, signer(F.alice)), approvals: reapprove(ok), query: planned(POP_SQL, 'population') }));
    assert.deepEqual(a.dp, { mechanism: 'laplace', epsilon: 0.5 });
    assert.deepEqual(a.budget, { epsilon: 1.5, delta: 1e-9 });
  });

  it('researcher’s query request: accepted when right, refused when stale, foreign or for another query', () => {
    const RQ = { cluster: 'test', resultKey: newResultKeyPair().publicKey };
    const rq = signQueryRequest(F.signed, 'cases', signer(F.alice), { ...RQ, time: '2025-06-01T11:58:00Z' });
    assert.equal(authorize(input({ request: rq })).request, rq.request.nonce);
    refused(() => authorize(input({ request: signQueryRequest(F.signed, 'cases', signer(F.alice), { ...RQ, time: '2025-06-01T10:00:00Z' }) })), 'request', /outside ±15 minutes of now/);
    refused(() => authorize(input({ request: signQueryRequest(F.signed, 'stay', signer(F.alice), { ...RQ, time: F.now }) })), 'request', /asks for query 'stay', not 'cases'/);
    refused(() => authorize(input({ request: signQueryRequest(F.signed, 'cases', signer(F.bob), { ...RQ, time: F.now }) })), 'request', /comes from 'bob', not the study's researcher 'alice'/);
    const forged = { request: { ...rq.request, researcher: 'alice' }, signature: signDocument('query-request', rq.request, { name: 'alice', privateKey: F.bob.privateKey }) };
    refused(() => authorize(input({ request: forged })), 'request', /not signed with 'alice's registered key/);
    refused(() => authorize(input({ request: { request: rq.request } })), 'request', /not signed/);
  });

  it('each check runs at each node on its own: the same inputs give the same authorization digest; all three must attest', () => {
    const auths = F.nodes.map((_, i) => authorize(input({ now: `2025-06-01T12:00:0${i}Z` })));
    const atts = F.nodes.map((n, i) => attestAuthorization(auths[i]!, signer(n)));
    assert.equal(new Set(atts.map((a) => a.digest)).size, 1, 'checkedAt does not enter the digest');
    const keys = [...F.consortium.nodes.values()];
    assert.deepEqual(verifyAttestations(auths[0]!, atts, keys), ['node-a', 'node-b', 'node-c']);
    refused(() => verifyAttestations(auths[0]!, atts.slice(0, 2), keys), 'attestation', /2 of 3 nodes attested the authorization \(3 required\); missing: node-c/);
    const other = authorize(input({ query: planned(LOS_SQL, 'contacts') }));
    refused(() => verifyAttestations(other, atts, keys), 'attestation', /node 'node-a' attested a different authorization/);
    const fake = { ...atts[2]!, signature: signDocument('authorization', { digest: atts[2]!.digest, node: 'node-c' }, { name: 'node-c', privateKey: F.nodes[0]!.privateKey }) };
    refused(() => verifyAttestations(auths[0]!, [atts[0]!, atts[1]!, fake], keys), 'attestation', /node 'node-c's attestation does not verify/);
  });

  it('checkStudy ignores approvals of other studies and keeps the latest approval per custodian', () => {
    const other = F.study({ id: 'other-study' });
    const so = signStudy(other, signer(F.alice));
    const extra = approveStudy(so, F.consortium, signer(F.cpr));
    const later = approveStudy(F.signed, F.consortium, signer(F.cpr), { time: '2025-01-15T00:00:00Z' });
    const chk = checkStudy(F.signed, [extra, ...F.approvals, later], F.consortium, F.now);
    assert.equal(chk.custodians.find((c) => c.name === 'cpr')!.approvedAt, '2025-01-15T00:00:00Z');
    const body = studyLedgerBody(F.signed);
    assert.equal(body.studyHash, chk.hash);
    assert.deepEqual(body.datasets, ['contacts', 'population']);
  });

  it('malformed documents are refused with what is wrong', () => {
    refused(() => F.study({ id: 'Bad Id' }), 'malformed', /id "Bad Id" must be/);
    refused(() => F.study({ validFrom: '2026-01-01', validUntil: '2025-01-01' }), 'malformed', /validFrom \(2026-01-01\) must be before validUntil/);
    refused(() => F.study({ validUntil: 'next year' }), 'malformed', /validUntil must be an ISO 8601 time/);
    refused(() => F.study({ queries: [{ id: 'q', sql: 'x', statistic: 'y' }] }), 'malformed', /needs exactly one of sql and statistic/);
    refused(() => F.study({ queries: [{ id: 'q', sql: 'x', epsilon: 1 }] }), 'malformed', /has an epsilon but the study declares no privacy budget/);
    refused(() => F.study({ datasets: [] }), 'malformed', /at least one dataset/);
    refused(() => parseSignedStudy({ hello: 1 }), 'malformed', /not a study document/);
    refused(() => authorize(input({ query: { sql: T2D_SQL, datasets: ['contacts'], uses: [{ dataset: 'contacts', column: 'sex', role: 'reveal' as 'group' }] } })), 'malformed', /must be \{dataset, column, role/);
  });
});

describe('privacy budget (per study, across queries, persisted)', () => {
  const study = F.study({ privacy: { epsilon: 1 }, queries: [{ id: 'cases', sql: T2D_SQL, epsilon: 0.3 }, { id: 'population', sql: POP_SQL, epsilon: 0.1 }] });
  const ss = signStudy(study, signer(F.alice));
  const auth = authorize(input({ study: ss, approvals: reapprove(study) }));

  it('charges the realised cost of each run and refuses the run that would exceed the budget', () => {
    const dir = join(tmp, 'node-budget');
    const b = PrivacyBudget.open(dir);
    const t = noiseTable(laplaceFor(auth.dp!.epsilon, 1));
    const cost = runCost(t, 1, auth.dp!.epsilon);
    assert.ok(cost.delta > 0 && cost.delta < 1e-11);
    for (let i = 0; i < 3; i++) b.charge(auth, cost, { id: `job-${i}`, time: `2025-06-0${i + 1}T00:00:00Z` });
    assert.ok(Math.abs(b.remaining('t2d-2024', auth.budget!).epsilon - 0.1) < 1e-12);
    refused(() => b.charge(auth, cost, { id: 'job-3' }), 'budget-exceeded', /study 't2d-2024': query 'cases' needs epsilon 0.3, but only 0.1 of the study's 1 remain \(3 noisy runs so far\)/);
    // A retried job is not charged twice.
    assert.equal(b.charge(auth, cost, { id: 'job-1' }).charges.length, 3);
    // Persisted: a fresh instance (a restarted node) refuses too, and the file holds every charge.
    const again = PrivacyBudget.open(dir);
    refused(() => again.charge(auth, cost, { id: 'job-4' }), 'budget-exceeded', /only 0.1 of the study's 1 remain/);
    const st = again.state('t2d-2024')!;
    assert.deepEqual(st.charges.map((c) => c.job), ['job-0', 'job-1', 'job-2']);
    assert.equal(st.studyHash, auth.studyHash);
    // What remains can still be spent, exactly (floating-point sums of 0.1 and 0.3 fit a budget of 1).
    again.charge({ ...auth, query: { id: 'population' } }, { epsilon: 0.1, delta: cost.delta }, { id: 'job-5' });
    refused(() => again.charge(auth, { epsilon: 1e-6, delta: 0 }, { id: 'job-6' }), 'budget-exceeded', /only 0 of/);
  });

  it('delta is enforced too, and a study without a budget cannot run noisy queries', () => {
    const b = PrivacyBudget.open(join(tmp, 'node-budget-2'));
    refused(() => b.charge(auth, { epsilon: 0.1, delta: 2e-9 }, { id: 'j' }), 'budget-exceeded', /needs delta 2\.000e-9, but only 1\.000e-9 of the study's 1\.000e-9 remain/);
    refused(() => b.charge({ ...auth, budget: null }, { epsilon: 0.1, delta: 0 }, { id: 'j' }), 'budget-exceeded', /declares no privacy budget/);
    refused(() => b.charge(auth, { epsilon: -1, delta: 0 }, { id: 'j' }), 'malformed', /non-negative/);
  });

  it('a corrupt ledger file stops noisy queries instead of resetting the budget', () => {
    const p = join(tmp, 'bad-budget.json');
    writeFileSync(p, '{ not json');
    refused(() => PrivacyBudget.at(p), 'malformed', /cannot be read/);
  });
});

describe('usage per custodian per study (licensing)', () => {
  it('records rows touched and queries run, idempotently, persisted, and summarises them', () => {
    const dir = join(tmp, 'node-usage');
    const log = UsageLog.open(dir);
    const cases = authorize(input());
    const pop = authorize(input({ query: planned(POP_SQL, 'population') }));
    assert.equal(log.record(cases, { id: 'j1', time: '2025-06-01T12:00:00Z', rows: { contacts: 450_000 } }).length, 1);
    log.record(cases, { id: 'j2', time: '2025-06-02T12:00:00Z', rows: { contacts: 450_000 } });
    log.record(pop, { id: 'j3', time: '2025-06-03T12:00:00Z', rows: { population: 100_000 }, epsilon: 0.2 });
    assert.equal(log.record(cases, { id: 'j1', rows: { contacts: 450_000 } }).length, 0, 'the same job is recorded once');
    refused(() => log.record(cases, { id: 'j9', rows: {} }), 'malformed', /rows of dataset 'contacts' must be a non-negative integer/);
    const again = UsageLog.open(dir);
    assert.equal(again.records().length, 3);
    assert.deepEqual(again.summary(), [
      { custodian: 'cpr', study: 't2d-2024', queries: 1, rowsTouched: 100_000, datasets: ['population'], epsilon: 0.2, firstAt: '2025-06-03T12:00:00Z', lastAt: '2025-06-03T12:00:00Z' },
      { custodian: 'sundhedsdatastyrelsen', study: 't2d-2024', queries: 2, rowsTouched: 900_000, datasets: ['contacts'], epsilon: 0, firstAt: '2025-06-01T12:00:00Z', lastAt: '2025-06-02T12:00:00Z' },
    ]);
    assert.equal(again.summary({ custodian: 'cpr' }).length, 1);
    assert.equal(summarizeUsage(again.records(), { study: 'nothing' }).length, 0);
    const rec = again.records()[0]!;
    assert.deepEqual([rec.purpose, rec.researcher, rec.query, rec.custodian], ['public-health', 'alice', 'cases', 'sundhedsdatastyrelsen']);
  });
});
