// A synthetic cohort register for the statistics benchmark (bench/stats.ts): one row per person
// with the covariates, a blood pressure, type-2 diabetes, and ten years of follow-up (months of 30
// days, 120 of them) with death or censoring; effects of the size epidemiology finds, so that every
// estimate is clearly non-zero. Seeded; plaintext only (the custodian's side).
import { Rng } from '../src/demo/registers.js';
import type { CodeList, DatasetSchema } from '../src/ingest/schema.js';

export const COHORT_SCHEMA: DatasetSchema = {
  name: 'cohort',
  custodian: 'custodian',
  columns: [
    { name: 'person_id', type: 'person_id', unique: true },
    { name: 'age', type: 'int', min: 30, max: 89 },
    { name: 'sex', type: 'code', codeList: 'sex' },
    { name: 'smoker', type: 'bool' },
    { name: 'bmi', type: 'int', min: 18, max: 45 },
    { name: 'edu', type: 'int', min: 1, max: 3 },
    { name: 'q', type: 'int', min: 1, max: 5 },
    { name: 'region', type: 'code', codeList: 'region' },
    { name: 'chol', type: 'int', min: 100, max: 400 },
    { name: 'sbp', type: 'int', min: 80, max: 220 },
    { name: 't2d', type: 'bool' },
    { name: 'days', type: 'int', min: 1, max: 3600 },
    { name: 'died', type: 'bool' },
  ],
} as DatasetSchema;

export const COHORT_CODES: Map<string, CodeList> = new Map([
  ['sex', { name: 'sex', codes: ['F', 'M'] }],
  ['region', { name: 'region', codes: ['Hovedstaden', 'Midtjylland', 'Nordjylland', 'Sjælland', 'Syddanmark'] }],
]);

export interface Cohort {
  n: number;
  /** Plain values per column (codes as indices). */
  plain: Map<string, Int32Array>;
  /** Encoded as ingest encodes them (one ring element per row). */
  columns: Map<string, BigUint64Array>;
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(x)));

export function makeCohort(n: number, seed = 7): Cohort {
  const r = new Rng(seed, 41);
  const cols = COHORT_SCHEMA.columns.map((c) => c.name);
  const plain = new Map(cols.map((c) => [c, new Int32Array(n)]));
  const set = (c: string, i: number, v: number) => (plain.get(c)![i] = v);
  const ids = new Set<number>();
  for (let i = 0; i < n; i++) {
    let id: number;
    do id = 1_000_000 + r.int(2_000_000_000); while (ids.has(id));
    ids.add(id);
    const age = 30 + r.int(60), male = r.int(2), smoker = r.float() < 0.25 ? 1 : 0;
    const bmi = clamp(27 + 4.5 * r.normal() + 0.04 * (age - 60), 18, 45);
    const edu = 1 + r.int(3), q = 1 + clamp(Math.floor(r.float() * 5 + 0.3 * (edu - 2)), 0, 4), region = r.int(5);
    const chol = clamp(200 + 0.6 * (age - 60) + 35 * r.normal(), 100, 400);
    const eta = -6.6 + 0.055 * age + 0.35 * male + 0.3 * smoker + 0.12 * (bmi - 27) - 0.15 * (edu - 1) - 0.08 * (q - 3);
    const t2d = r.float() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    const sbp = clamp(100 + 0.55 * age + 4 * male + 3 * t2d + 2 * smoker + 0.8 * (bmi - 27) + 0.05 * (chol - 200) - 1.5 * (q - 3) + 12 * r.normal(), 80, 220);
    // Gompertz-like hazard per day; emigration 1 % a year; administrative end at 3600 days.
    const h = (0.01 / 365) * Math.exp(0.085 * (age - 60) + 0.35 * male + 0.55 * t2d + 0.5 * smoker + 0.03 * (bmi - 27));
    const tDeath = -Math.log(1 - r.float()) / h, tCens = -Math.log(1 - r.float()) / (0.01 / 365);
    const t = Math.min(tDeath, tCens, 3600);
    set('person_id', i, id); set('age', i, age); set('sex', i, male); set('smoker', i, smoker); set('bmi', i, bmi); set('edu', i, edu);
    set('q', i, q); set('region', i, region); set('chol', i, chol); set('sbp', i, sbp); set('t2d', i, t2d);
    set('days', i, Math.max(1, Math.ceil(t))); set('died', i, tDeath <= t ? 1 : 0);
  }
  const columns = new Map([...plain].map(([c, v]) => [c, BigUint64Array.from(v, (x) => BigInt.asUintN(64, BigInt(x)))]));
  return { n, plain, columns };
}

/** The cohort as CSV for R (codes as labels, bools as TRUE/FALSE). */
export function cohortCsv(c: Cohort): string {
  const names = COHORT_SCHEMA.columns.map((x) => x.name);
  const lines = [names.join(',')];
  const sex = COHORT_CODES.get('sex')!.codes, region = COHORT_CODES.get('region')!.codes;
  for (let i = 0; i < c.n; i++) {
    lines.push(names.map((nm) => {
      const v = c.plain.get(nm)![i]!;
      const spec = COHORT_SCHEMA.columns.find((x) => x.name === nm)!;
      return spec.type === 'bool' ? (v ? 'TRUE' : 'FALSE') : nm === 'sex' ? sex[v] : nm === 'region' ? region[v] : String(v);
    }).join(','));
  }
  return lines.join('\n') + '\n';
}

export const COHORT_SQL = 'SELECT age, sex, smoker, bmi, edu, q, region, chol, sbp, t2d, days, died FROM cohort';

/** The four analyses of the performance table, as Mosaik calls and as R code on `d`. */
export const ANALYSES = [
  {
    id: 'logistic', what: 'logistic regression, 6 covariates', target: 60,
    call: { fn: 'glm', formula: 't2d ~ age + sex + smoker + bmi + factor(edu)', family: 'binomial' },
    r: 'glm(t2d ~ age + sex + smoker + bmi + factor(edu), family = binomial, data = d)',
  },
  {
    id: 'km', what: 'Kaplan–Meier, 2 groups × 120 monthly intervals + log-rank', target: 20,
    call: { fn: 'survfit', formula: 'Surv(days, died) ~ t2d', bin: 30 },
    /** The log-rank test reads the same released life table (src/cli/stats.ts reread): no second run. */
    also: 'survdiff',
    r: 'd$m <- 1 + floor((d$days - 1) / 30) * 30; survfit(Surv(m, died) ~ t2d, data = d); survdiff(Surv(m, died) ~ t2d, data = d)',
  },
  {
    id: 'cox', what: 'Cox regression, 4 covariates', target: 120,
    call: { fn: 'coxph', formula: 'Surv(days, died) ~ t2d + age + sex + smoker', bin: 30 },
    r: 'd$m <- 1 + floor((d$days - 1) / 30) * 30; coxph(Surv(m, died) ~ t2d + age + sex + smoker, data = d, ties = "breslow")',
  },
  {
    id: 'lm', what: 'linear regression, 10 covariates', target: 10,
    call: { fn: 'lm', formula: 'sbp ~ age + sex + smoker + bmi + chol + t2d + factor(q)' },
    r: 'summary(lm(sbp ~ age + sex + smoker + bmi + chol + t2d + factor(q), data = d))',
  },
] as const;
