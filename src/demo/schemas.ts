// Dataset schemas of the synthetic Danish-style registers (src/demo/registers.ts), one per
// register, each owned by the custodian that holds the real one:
//   population     CPR (Det Centrale Personregister): one row per resident at the census date
//   contacts       Sundhedsdatastyrelsen, the national patient register (LPR): hospital contacts
//   prescriptions  Sundhedsdatastyrelsen, the national prescription register: dispensed drugs
//   income         Danmarks Statistik: income and highest completed education per person and year
//   deaths         Sundhedsdatastyrelsen, the cause of death register: date and underlying cause
//                  of residents who died during follow-up (after the census)
//   emigrations    CPR: residents who emigrated during follow-up (censoring in survival analyses)
// Bounds are tight so that valueBits() gives narrow comparisons in MPC.
//
// The event registers also carry the person's sex, age band (at the event) and region of
// residence. LPR records the residence municipality and age/sex are derivable from the CPR number;
// carrying them lets single-register queries GROUP BY sex, age band and region before joins exist.

import type { DatasetSchema } from '../ingest/schema.js';
import { CODE_LIST_NAMES as L } from './codelists.js';

export const CUSTODIANS = {
  cpr: 'cpr',
  health: 'sundhedsdatastyrelsen',
  statistics: 'dst',
} as const;

export interface RegisterPeriod {
  /** First calendar year of the event registers (contacts, prescriptions). */
  fromYear: number;
  /** Last calendar year; the census date of the population register is 31 December of it. */
  toYear: number;
  /** Years of follow-up after the census (deaths, emigrations); default 2. */
  followUpYears?: number;
}

export const DEFAULT_PERIOD: RegisterPeriod = { fromYear: 2022, toYear: 2024 };

/** Oldest citizens are 99 at the census date: birth years toYear − 99 … toYear. */
export const MAX_AGE = 99;
export const MAX_LENGTH_OF_STAY = 60;
export const MAX_INCOME = 50_000_000;
export const MAX_AMOUNT = 1000;
/**
 * Most hospital contacts (in the period) and dispensings (a year) one person has: declared on the
 * registers' person ids (maxRowsPerPerson, checked at ingest) and respected by the generator
 * (registers.ts caps a person's events). The synthetic registers stay below them at every size up
 * to 6 M citizens without the cap (largest seen at 6 M: 50 contacts, 116 dispensings); they bound
 * what one person can add to a count of contacts or prescriptions (src/query/dp.ts).
 */
export const MAX_CONTACTS_PER_PERSON = 64;
export const MAX_PRESCRIPTIONS_PER_PERSON = 128;

export function populationSchema(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema {
  return {
    name: 'population',
    custodian: CUSTODIANS.cpr,
    description: `Residents of Denmark on ${p.toYear}-12-31 (synthetic CPR extract)`,
    columns: [
      { name: 'person_id', type: 'person_id', unique: true, description: 'CPR-like number ddmmyy + 4 digits (last digit odd for men)' },
      { name: 'sex', type: 'code', codeList: L.sex },
      { name: 'birth_date', type: 'date', min: `${p.toYear - MAX_AGE}-01-01`, max: `${p.toYear}-12-31` },
      { name: 'region', type: 'code', codeList: L.region, description: 'region of residence' },
      { name: 'municipality', type: 'code', codeList: L.municipality, description: 'municipality of residence' },
      { name: 'age_band', type: 'code', codeList: L.ageBand, description: `age on ${p.toYear}-12-31 (derived from birth_date)` },
    ],
  };
}

export function contactsSchema(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema {
  return {
    name: 'contacts',
    custodian: CUSTODIANS.health,
    description: `Hospital contacts ${p.fromYear}–${p.toYear}, one row per contact with its action diagnosis (synthetic LPR)`,
    columns: [
      { name: 'person_id', type: 'person_id', maxRowsPerPerson: MAX_CONTACTS_PER_PERSON },
      { name: 'admission_date', type: 'date', min: `${p.fromYear}-01-01`, max: `${p.toYear}-12-31` },
      { name: 'diagnosis', type: 'code', codeList: L.icd10, description: 'action diagnosis, ICD-10 (WHO notation, e.g. E11.9)' },
      { name: 'hospital', type: 'code', codeList: L.hospital },
      { name: 'length_of_stay', type: 'int', min: 0, max: MAX_LENGTH_OF_STAY, description: 'days; 0 = outpatient or same-day contact' },
      { name: 'sex', type: 'code', codeList: L.sex },
      { name: 'age_band', type: 'code', codeList: L.ageBand, description: 'age at admission' },
      { name: 'region', type: 'code', codeList: L.region, description: 'region of residence' },
      {
        name: 'first_in_category',
        type: 'bool',
        description:
          "true on the person's first contact in the period whose diagnosis has this 3-character ICD-10 category, so COUNT(*) … WHERE diagnosis LIKE 'E11%' AND first_in_category counts persons",
      },
    ],
  };
}

export function prescriptionsSchema(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema {
  return {
    name: 'prescriptions',
    custodian: CUSTODIANS.health,
    description: 'Dispensed prescriptions, one row per dispensing (synthetic prescription register)',
    columns: [
      { name: 'person_id', type: 'person_id', maxRowsPerPerson: MAX_PRESCRIPTIONS_PER_PERSON },
      { name: 'date', type: 'date', min: `${p.fromYear}-01-01`, max: `${p.toYear}-12-31`, description: 'dispensing date' },
      { name: 'atc', type: 'code', codeList: L.atc },
      { name: 'amount', type: 'decimal', min: 0, max: MAX_AMOUNT, description: 'defined daily doses (DDD) dispensed' },
      { name: 'sex', type: 'code', codeList: L.sex },
      { name: 'age_band', type: 'code', codeList: L.ageBand, description: 'age at dispensing' },
      { name: 'region', type: 'code', codeList: L.region, description: 'region of residence' },
    ],
  };
}

export function incomeSchema(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema {
  return {
    name: 'income',
    custodian: CUSTODIANS.statistics,
    description: 'Personal income and highest completed education of residents aged 15+, per year (synthetic Statistics Denmark extract)',
    keys: [['person_id', 'year']],
    columns: [
      { name: 'person_id', type: 'person_id' },
      { name: 'year', type: 'int', min: p.fromYear, max: p.toYear },
      { name: 'income', type: 'int', min: 0, max: MAX_INCOME, description: 'total personal income before tax, DKK' },
      { name: 'income_quintile', type: 'int', min: 1, max: 5, description: "quintile of income among the year's rows, 1 = lowest (derived by the statistics office)" },
      { name: 'education', type: 'code', codeList: L.education, description: 'highest completed education at the end of the year' },
      { name: 'sex', type: 'code', codeList: L.sex },
      { name: 'age_band', type: 'code', codeList: L.ageBand, description: 'age at the end of the year' },
      { name: 'region', type: 'code', codeList: L.region, description: 'region of residence' },
    ],
  };
}

/** End of follow-up after the census (default two years). */
export const followUpEnd = (p: RegisterPeriod = DEFAULT_PERIOD): string => `${p.toYear + (p.followUpYears ?? 2)}-12-31`;

export function deathsSchema(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema {
  return {
    name: 'deaths',
    custodian: CUSTODIANS.health,
    description: `Deaths of residents from ${p.toYear + 1}-01-01 to ${followUpEnd(p)} with the underlying cause (synthetic cause of death register)`,
    columns: [
      { name: 'person_id', type: 'person_id', unique: true },
      { name: 'death_date', type: 'date', min: `${p.toYear + 1}-01-01`, max: followUpEnd(p) },
      { name: 'cause', type: 'code', codeList: L.icd10, description: 'underlying cause of death, ICD-10' },
    ],
  };
}

export function emigrationsSchema(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema {
  return {
    name: 'emigrations',
    custodian: CUSTODIANS.cpr,
    description: `Residents who emigrated from ${p.toYear + 1}-01-01 to ${followUpEnd(p)} (synthetic CPR extract; first emigration)`,
    columns: [
      { name: 'person_id', type: 'person_id', unique: true },
      { name: 'emigration_date', type: 'date', min: `${p.toYear + 1}-01-01`, max: followUpEnd(p) },
    ],
  };
}

/** All six schemas for a period. */
export function demoSchemas(p: RegisterPeriod = DEFAULT_PERIOD): DatasetSchema[] {
  return [populationSchema(p), contactsSchema(p), prescriptionsSchema(p), incomeSchema(p), deathsSchema(p), emigrationsSchema(p)];
}
