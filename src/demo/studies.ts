// The example studies the main job runs on the synthetic registers: what a health researcher
// would ask first. Each is plain Mosaik SQL, over one register or several linked on the person id
// inside MPC, answered in MPC and, for comparison, in plaintext by SQLite on the same rows.

export interface Study {
  id: string;
  title: string;
  /** The register (dataset) the query reads first (FROM); joins and EXISTS name the others. */
  dataset: string;
  sql: string;
  /** Optional: a second query whose counts are the denominator of the first (same group keys). */
  denominator?: { dataset: string; sql: string; label: string };
}

export const STUDIES: Study[] = [
  {
    id: 't2d-prevalence',
    title: 'Type-2 diabetes (E11) prevalence by region and sex',
    dataset: 'contacts',
    sql: "SELECT region, sex, COUNT(*) AS persons FROM contacts WHERE diagnosis LIKE 'E11%' AND first_in_category GROUP BY region, sex",
    denominator: { dataset: 'population', sql: 'SELECT region, sex, COUNT(*) AS population FROM population GROUP BY region, sex', label: 'prevalence %' },
  },
  {
    id: 'los-by-age',
    title: 'Mean length of stay (days) by age band',
    dataset: 'contacts',
    sql: 'SELECT age_band, COUNT(*) AS contacts, AVG(length_of_stay) AS mean_stay FROM contacts GROUP BY age_band',
  },
  {
    id: 'statins',
    title: 'Statin prescriptions (ATC C10AA) by region: count and mean amount (DDD)',
    dataset: 'prescriptions',
    sql: "SELECT region, COUNT(*) AS prescriptions, AVG(amount) AS mean_ddd FROM prescriptions WHERE atc LIKE 'C10AA%' GROUP BY region",
  },
  {
    id: 't2d-by-income',
    title: 'Type-2 diabetes prevalence by income quintile: population ⋈ income, linked with the patient register (EXISTS) inside MPC',
    dataset: 'population',
    sql: "SELECT i.income_quintile, COUNT(*) AS persons FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY i.income_quintile",
    denominator: { dataset: 'population', sql: 'SELECT i.income_quintile, COUNT(*) AS population FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY i.income_quintile', label: 'prevalence %' },
  },
  {
    id: 'income-by-education',
    title: 'Mean income (DKK) by highest education',
    dataset: 'income',
    sql: 'SELECT education, COUNT(*) AS persons, AVG(income) AS mean_income FROM income GROUP BY education',
  },
];
