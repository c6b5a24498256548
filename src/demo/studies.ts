// The example studies the main job runs on the synthetic registers: what a health researcher
// would ask first. Each is plain Mosaik SQL, over one register or several linked on the person id
// inside MPC, answered in MPC with output protection (differential-privacy noise drawn inside MPC;
// src/query/dp.ts) and, for comparison, exactly by DuckDB on the same rows (the tests: SQLite).
//
// Person-level questions (persons from the population register, linked to the event registers
// with EXISTS) cost little noise: one person changes a count by at most 1. Event-level counts
// (hospital contacts) are noisier, since one person may have many rows (maxRowsPerPerson of the
// register); the last study shows that. Every query names the epsilon it spends of the researcher's
// privacy budget (default total: 1); all of them together spend 0.7.

export interface Study {
  id: string;
  title: string;
  /** The register (dataset) the query reads first (FROM); joins and EXISTS name the others. */
  dataset: string;
  sql: string;
  /** Differential privacy: what this query spends of the researcher's budget. */
  epsilon: number;
  /** Optional: a second query whose counts are the denominator of the first (same group keys). */
  denominator?: { dataset: string; sql: string; label: string; epsilon: number };
}

export const STUDIES: Study[] = [
  {
    id: 't2d-prevalence',
    title: 'Type-2 diabetes (E11) prevalence by region and sex: persons with an E11 contact (population linked with the patient register inside MPC)',
    dataset: 'population',
    sql: "SELECT p.region, p.sex, COUNT(*) AS persons FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.region, p.sex",
    epsilon: 0.1,
    denominator: { dataset: 'population', sql: 'SELECT region, sex, COUNT(*) AS population FROM population GROUP BY region, sex', label: 'prevalence %', epsilon: 0.05 },
  },
  {
    id: 'statins',
    title: 'Statin users (ATC C10AA) by region: persons with a dispensing (population linked with the prescription register)',
    dataset: 'population',
    sql: "SELECT p.region, COUNT(*) AS persons FROM population p WHERE EXISTS (SELECT 1 FROM prescriptions r WHERE r.person_id = p.person_id AND r.atc LIKE 'C10AA%') GROUP BY p.region",
    epsilon: 0.1,
    denominator: { dataset: 'population', sql: 'SELECT region, COUNT(*) AS population FROM population GROUP BY region', label: 'users %', epsilon: 0.05 },
  },
  {
    id: 't2d-by-income',
    title: 'Type-2 diabetes prevalence by income quintile: population ⋈ income, linked with the patient register (EXISTS) inside MPC',
    dataset: 'population',
    sql: "SELECT i.income_quintile, COUNT(*) AS persons FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY i.income_quintile",
    epsilon: 0.1,
    denominator: { dataset: 'population', sql: 'SELECT i.income_quintile, COUNT(*) AS population FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY i.income_quintile', label: 'prevalence %', epsilon: 0.05 },
  },
  {
    id: 'income-by-education',
    title: 'Mean income 2023 (DKK, each person counted up to 2 million) by highest education',
    dataset: 'population',
    sql: 'SELECT i.education, COUNT(*) AS persons, AVG(LEAST(i.income, 2000000)) AS mean_income FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY i.education',
    epsilon: 0.15,
  },
  {
    id: 'contacts-by-region',
    title: 'Hospital contacts by region (an event count: one person may have up to 64 contacts, so the noise is 64 times a person count\'s)',
    dataset: 'contacts',
    sql: 'SELECT region, COUNT(*) AS contacts FROM contacts GROUP BY region',
    epsilon: 0.1,
  },
];
