// The main job's governance: the demo consortium (its purposes, its members — the cluster's
// identities — and its consent register), each custodian's policy for its registers, the example
// studies as one signed study, and two small studies of the cluster's own `researcher` identity
// for the web app (one approved, ready to run; one waiting for a custodian's approval). Everything
// here is what a consortium's members would write; the nodes check all of it on their own.
import type { ConsortiumConfig, MemberEntry } from '../governance/consortium.js';
import { DEFAULT_PURPOSES } from '../governance/consortium.js';
import { POLICY_FORMAT, type ColumnRule, type CustodianPolicy } from '../governance/policy.js';
import type { NewStudy, StudyQuery } from '../governance/study.js';
import { CUSTODIANS } from './schemas.js';
import type { Study as ExampleStudy } from './studies.js';

/** The purpose every demo study serves (opt-out: usable unless the citizen withdrew). */
export const DEMO_PURPOSE = 'public-health';
/** The consent register's custodian and dataset. */
export const CONSENT_CUSTODIAN = 'consent-register';
export const CONSENT_DATASET = 'consent';

/** The demo consortium: the default purposes, the cluster's identities as members, with `consent` the consent register. */
export function demoConsortium(members: MemberEntry[], consent: boolean): ConsortiumConfig {
  return {
    consortium: 'mosaik-demo',
    purposes: DEFAULT_PURPOSES.map((p) => ({ ...p })),
    members: members.map((m) => ({ ...m })),
    ...(consent ? { consent: { dataset: CONSENT_DATASET, custodian: CONSENT_CUSTODIAN } } : {}),
  };
}

// 'model': a variable of a statistic (src/stats); its values enter the fit inside MPC, only estimates are released.
const group = (): ColumnRule => ({ roles: ['group', 'filter', 'model'] });
const filter = (): ColumnRule => ({ roles: ['filter'] });
const event = (): ColumnRule => ({ roles: ['filter', 'model'] });
const join = (): ColumnRule => ({ roles: ['join-key'] });
const amount = (): ColumnRule => ({ roles: ['aggregate', 'filter', 'model'], aggregates: ['count', 'sum', 'avg', 'variance', 'stddev'] });

/**
 * Each custodian's policy: what its columns may be used for (person ids only to link registers;
 * codes, regions and bands to group and filter; amounts to aggregate; these and the dates of death
 * and emigration as variables of a statistic), for which purposes, the
 * smallest cell, and the most epsilon a study may declare.
 */
export function demoPolicies(minCellSize: number, issuedAt = '2024-01-01T00:00:00Z'): CustodianPolicy[] {
  const purposes = ['public-health', 'academic-research', 'quality-improvement'];
  const dp = { maxEpsilon: 2 };
  return [
    {
      format: POLICY_FORMAT,
      custodian: CUSTODIANS.cpr,
      issuedAt,
      datasets: [
        {
          dataset: 'population',
          purposes,
          minCellSize,
          dp,
          columns: { person_id: join(), sex: group(), birth_date: group(), region: group(), municipality: group(), age_band: group() },
        },
        { dataset: 'emigrations', purposes, minCellSize, dp, columns: { person_id: join(), emigration_date: event() } },
      ],
    },
    {
      format: POLICY_FORMAT,
      custodian: CUSTODIANS.health,
      issuedAt,
      datasets: [
        {
          dataset: 'contacts',
          purposes,
          minCellSize,
          dp,
          columns: {
            person_id: join(),
            admission_date: filter(),
            diagnosis: group(),
            hospital: group(),
            length_of_stay: amount(),
            sex: group(),
            age_band: group(),
            region: group(),
            first_in_category: filter(),
          },
        },
        {
          dataset: 'prescriptions',
          purposes,
          minCellSize,
          dp,
          columns: {
            person_id: join(),
            date: filter(),
            atc: group(),
            amount: amount(),
            sex: group(),
            age_band: group(),
            region: group(),
          },
        },
        { dataset: 'deaths', purposes, minCellSize, dp, columns: { person_id: join(), death_date: event(), cause: group() } },
      ],
    },
    {
      format: POLICY_FORMAT,
      custodian: CUSTODIANS.statistics,
      issuedAt,
      datasets: [
        {
          dataset: 'income',
          purposes,
          minCellSize,
          dp,
          columns: {
            person_id: join(),
            year: filter(),
            income: amount(),
            income_quintile: group(),
            education: group(),
            sex: group(),
            age_band: group(),
            region: group(),
          },
        },
      ],
    },
  ];
}

/** The query id of an example study's denominator. */
export const denominatorId = (id: string) => `${id}-denominator`;

/**
 * The example studies as one study of `researcher`'s: every query with its epsilon, the columns
 * they read (`reads`, from their plans), valid for a year from `now`, with a budget of `epsilon`.
 */
export function exampleStudy(researcher: string, studies: ExampleStudy[], reads: Map<string, Set<string>>, now: Date, epsilon = 1): NewStudy {
  const queries: StudyQuery[] = studies.flatMap((s) => [
    { id: s.id, sql: s.sql, epsilon: s.epsilon, description: s.title },
    ...(s.denominator ? [{ id: denominatorId(s.id), sql: s.denominator.sql, epsilon: s.denominator.epsilon, description: `denominator of ${s.id}` }] : []),
  ]);
  return {
    id: 'registers-overview',
    title: 'Diabetes, statins, income and hospital use across the registers',
    researcher,
    purpose: DEMO_PURPOSE,
    description: 'The example studies of the main job: type-2 diabetes prevalence by region, sex and income quintile, statin users by region, mean income by education, hospital contacts by region.',
    datasets: [...reads].map(([name, cols]) => ({ name, columns: [...cols].sort() })),
    queries,
    validFrom: new Date(now.getTime() - 3600_000).toISOString(),
    validUntil: new Date(now.getTime() + 365 * 86400_000).toISOString(),
    privacy: { epsilon },
    createdAt: new Date(now.getTime() - 3600_000).toISOString(),
  };
}

/**
 * The example statistics (src/demo/analyses.ts) as one study of `researcher`'s: each call with its
 * epsilon, the columns its analysis table reads (`reads`), valid for a year, a budget of `epsilon`.
 */
export function statisticsStudy(researcher: string, calls: { id: string; statistic: string; epsilon: number; description: string }[], reads: Map<string, Set<string>>, now: Date, epsilon = 1): NewStudy {
  return {
    id: 'diabetes-survival',
    title: 'Type-2 diabetes: who has it, and survival with it',
    researcher,
    purpose: DEMO_PURPOSE,
    description: 'A logistic regression of type-2 diabetes on age, sex and income quintile; Kaplan–Meier curves and the log-rank test by diabetes status; a Cox regression.',
    datasets: [...reads].map(([name, cols]) => ({ name, columns: [...cols].sort() })),
    queries: calls.map((c) => ({ id: c.id, statistic: c.statistic, epsilon: c.epsilon, description: c.description })),
    validFrom: new Date(now.getTime() - 3600_000).toISOString(),
    validUntil: new Date(now.getTime() + 365 * 86400_000).toISOString(),
    privacy: { epsilon },
    createdAt: new Date(now.getTime() - 3600_000).toISOString(),
  };
}

/** Two studies of the web app's `researcher`: one the custodian approves at once, one left waiting. */
export function webStudies(researcher: string, now: Date): { approved: NewStudy; waiting: NewStudy } {
  const period = { validFrom: new Date(now.getTime() - 3600_000).toISOString(), validUntil: new Date(now.getTime() + 365 * 86400_000).toISOString(), createdAt: new Date(now.getTime() - 3600_000).toISOString() };
  return {
    approved: {
      id: 'population-overview',
      title: 'The population by region, sex and age band',
      researcher,
      purpose: DEMO_PURPOSE,
      description: 'Denominators for rates: residents by region and sex, and by age band.',
      datasets: [{ name: 'population', columns: ['age_band', 'region', 'sex'] }],
      queries: [
        { id: 'by-region-sex', sql: 'SELECT region, sex, COUNT(*) AS persons FROM population GROUP BY region, sex', epsilon: 0.1, description: 'residents by region and sex' },
        { id: 'by-age', sql: 'SELECT age_band, COUNT(*) AS persons FROM population GROUP BY age_band', epsilon: 0.1, description: 'residents by age band' },
      ],
      privacy: { epsilon: 0.5 },
      ...period,
    },
    waiting: {
      id: 'stay-by-age',
      title: 'Length of hospital stay by age band',
      researcher,
      purpose: DEMO_PURPOSE,
      description: 'How long contacts last at each age: waiting for the health data authority.',
      datasets: [{ name: 'contacts', columns: ['age_band', 'length_of_stay'] }],
      queries: [{ id: 'mean-stay', sql: 'SELECT age_band, COUNT(*) AS contacts, AVG(length_of_stay) AS mean_stay FROM contacts GROUP BY age_band', epsilon: 0.2, description: 'mean length of stay per age band' }],
      privacy: { epsilon: 0.5 },
      ...period,
    },
  };
}
