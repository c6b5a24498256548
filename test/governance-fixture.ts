// A small consortium for the governance tests: two researchers, four custodians (CPR register,
// health data authority, statistics office, consent register), three nodes; signed policies for
// the demo registers; a study of type-2 diabetes prevalence reading contacts and population.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Consortium, type ConsortiumConfig, DEFAULT_PURPOSES } from '../src/governance/consortium.js';
import type { Signer } from '../src/governance/identity.js';
import { POLICY_FORMAT, signPolicy, type CustodianPolicy, type SignedPolicy } from '../src/governance/policy.js';
import { approveStudy, createStudy, signStudy, type Approval, type NewStudy, type SignedStudy, type Study } from '../src/governance/study.js';

export interface Party {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  pem: string;
}

function party(name: string): Party {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name, privateKey, publicKey, pem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

export const signer = (p: Party): Signer => ({ name: p.name, privateKey: p.privateKey });

/** The consent custodian's own files in a test's folder: key→person table, register, inbox key. */
export const consentCustodianFiles = (root: string) => ({ table: join(root, 'citizen-keys.csv'), register: join(root, 'consent.csv'), inboxKey: join(root, 'inbox.key.pem') });

export const T2D_SQL = "SELECT region, sex, COUNT(*) AS persons FROM contacts WHERE diagnosis LIKE 'E11%' AND first_in_category GROUP BY region, sex";
export const POP_SQL = 'SELECT region, sex, COUNT(*) AS population FROM population GROUP BY region, sex';
export const LOS_SQL = 'SELECT age_band, COUNT(*) AS contacts, AVG(length_of_stay) AS mean_stay FROM contacts GROUP BY age_band';

export interface Fixture {
  alice: Party; // researcher
  bob: Party; // researcher
  cpr: Party; // custodian: population
  sds: Party; // custodian: contacts, prescriptions
  dst: Party; // custodian: income
  consentCustodian: Party; // custodian: consent, citizen_keys (registers citizens)
  proCustodian: Party; // custodian: patient_reported (the citizens' questionnaires)
  doctor: Party; // doctor (Denmark)
  doctor2: Party; // doctor (abroad)
  nodes: Party[];
  config: ConsortiumConfig;
  consortium: Consortium;
  policies: SignedPolicy[];
  policyOf: { cpr: CustodianPolicy; sds: CustodianPolicy };
  baseStudy: NewStudy;
  /** The study signed by alice, approved by both custodians. */
  signed: SignedStudy;
  approvals: Approval[];
  now: string;
  study(overrides?: Partial<NewStudy>): Study;
}

export function fixture(): Fixture {
  const [alice, bob, cpr, sds, dst, consentCustodian] = ['alice', 'bob', 'cpr', 'sundhedsdatastyrelsen', 'dst', 'consent-register'].map(party) as [Party, Party, Party, Party, Party, Party];
  const [proCustodian, doctor, doctor2] = ['patient-reported', 'dr-hansen', 'dr-weber'].map(party) as [Party, Party, Party];
  const nodes = ['node-a', 'node-b', 'node-c'].map(party);
  const config: ConsortiumConfig = {
    consortium: 'test',
    purposes: DEFAULT_PURPOSES.map((p) => ({ ...p })),
    members: [
      { name: 'alice', role: 'researcher', publicKey: alice.pem },
      { name: 'bob', role: 'researcher', publicKey: bob.pem },
      { name: 'cpr', role: 'custodian', publicKey: cpr.pem, datasets: ['population'] },
      { name: 'sundhedsdatastyrelsen', role: 'custodian', publicKey: sds.pem, datasets: ['contacts', 'prescriptions'] },
      { name: 'dst', role: 'custodian', publicKey: dst.pem, datasets: ['income'] },
      { name: 'consent-register', role: 'custodian', publicKey: consentCustodian.pem, datasets: ['consent', 'citizen_keys'] },
      { name: 'patient-reported', role: 'custodian', publicKey: proCustodian.pem, datasets: ['patient_reported'] },
      { name: 'dr-hansen', role: 'doctor', publicKey: doctor.pem, organisation: 'Rigshospitalet, Copenhagen, DK' },
      { name: 'dr-weber', role: 'doctor', publicKey: doctor2.pem, organisation: 'Universitätsklinikum Hamburg-Eppendorf, DE' },
    ],
    nodes: nodes.map((n) => ({ name: n.name, publicKey: n.pem })),
    consent: { dataset: 'consent', custodian: 'consent-register' },
  };
  const consortium = Consortium.fromConfig(config);
  const sdsPolicy: CustodianPolicy = {
    format: POLICY_FORMAT,
    custodian: 'sundhedsdatastyrelsen',
    issuedAt: '2024-01-01T00:00:00Z',
    datasets: [
      {
        dataset: 'contacts',
        purposes: ['public-health', 'academic-research', 'quality-improvement'],
        minCellSize: 5,
        columns: {
          person_id: { roles: ['join-key'] },
          admission_date: { roles: ['filter'] },
          diagnosis: { roles: ['filter', 'group'] },
          hospital: 'forbidden',
          length_of_stay: { roles: ['aggregate', 'filter'], aggregates: ['count', 'sum', 'avg'] },
          sex: { roles: ['filter', 'group'] },
          age_band: { roles: ['filter', 'group'] },
          region: { roles: ['filter', 'group'] },
          first_in_category: { roles: ['filter'] },
        },
        dp: { maxEpsilon: 5 },
      },
      { dataset: 'prescriptions', purposes: ['public-health', 'commercial-pharma'], minCellSize: 5, columns: { atc: { roles: ['filter', 'group'] }, region: { roles: ['group'] } } },
    ],
  };
  const cprPolicy: CustodianPolicy = {
    format: POLICY_FORMAT,
    custodian: 'cpr',
    issuedAt: '2024-01-01T00:00:00Z',
    datasets: [
      {
        dataset: 'population',
        purposes: ['public-health', 'academic-research'],
        minCellSize: 10,
        columns: { person_id: { roles: ['join-key'] }, sex: { roles: ['group', 'filter'] }, region: { roles: ['group', 'filter'] }, birth_date: { roles: ['filter', 'group'] }, municipality: 'forbidden' },
      },
    ],
  };
  const policies = [signPolicy(sdsPolicy, consortium, signer(sds)), signPolicy(cprPolicy, consortium, signer(cpr))];
  const baseStudy: NewStudy = {
    id: 't2d-2024',
    title: 'Type-2 diabetes prevalence by region and sex',
    researcher: 'alice',
    purpose: 'public-health',
    datasets: [
      { name: 'contacts', columns: ['diagnosis', 'first_in_category', 'region', 'sex', 'age_band', 'length_of_stay', 'hospital'] },
      { name: 'population', columns: ['region', 'sex'] },
    ],
    queries: [
      { id: 'cases', sql: T2D_SQL },
      { id: 'population', sql: POP_SQL },
      { id: 'stay', sql: LOS_SQL },
    ],
    validFrom: '2025-01-01T00:00:00Z',
    validUntil: '2026-01-01T00:00:00Z',
    createdAt: '2024-12-01T00:00:00Z',
  };
  const study = (o: Partial<NewStudy> = {}) => createStudy({ ...baseStudy, ...o });
  const signed = signStudy(study(), signer(alice));
  const approvals = [approveStudy(signed, consortium, signer(sds), { time: '2024-12-10T00:00:00Z' }), approveStudy(signed, consortium, signer(cpr), { time: '2024-12-11T00:00:00Z' })];
  return { alice, bob, cpr, sds, dst, consentCustodian, proCustodian, doctor, doctor2, nodes, config, consortium, policies, policyOf: { cpr: cprPolicy, sds: sdsPolicy }, baseStudy, signed, approvals, now: '2025-06-01T12:00:00Z', study };
}
