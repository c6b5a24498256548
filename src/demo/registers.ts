// Synthetic Danish-style registers for N citizens (default 100 000; scales to 6 000 000), seeded and
// deterministic, for the demo, tests and benchmarks. Four registers (schemas in ./schemas.ts):
//   population (CPR), contacts (patient register), prescriptions, income/education (Statistics DK).
// Every column is kept twice: encoded exactly as ingest's encodeValue() would encode its CSV text
// (BigUint64Array, ready to be split into shares) and as plain numbers (Int32Array / Float64Array:
// days, code indices, integers, decimals) for computing reference answers without BigInt.
//
// The model, in short (all rates and shares are rough Danish figures, chosen so results look real):
// - Age pyramid of Denmark 2024, birth years toYear−99 … toYear; men ≈ 51 % at birth, women the
//   majority above 70. Municipality by population (young adults drawn to the four big cities),
//   region from municipality.
// - A latent socio-economic score z ~ N(0,1) (slightly higher in Hovedstaden) drives education,
//   income, and the odds of type-2 diabetes, COPD, heart disease, depression.
// - Chronic conditions per person (bit flags, CONDITION): type-2 diabetes ≈ 0.4 % under 30, 1 % in
//   the 30s, rising to ≈ 15 % from 75, higher for men and lower education/income; hypertension,
//   ischaemic heart disease, heart failure, atrial fibrillation, COPD, asthma, depression, cancer, …
// - Hospital contacts: Poisson per person over the exposure window, about 1.5 a year on average,
//   more for infants, the old and the chronically ill; each contact is acute (age/sex-specific
//   diagnosis table) or a follow-up of one of the person's conditions. Every person with diabetes
//   has at least one contact with a diabetes diagnosis (E10/E11) in the period. Length of stay 0 for
//   outpatient contacts (most), otherwise log-normal by diagnosis and age, capped at 60 days.
// - Prescriptions consistent with conditions (A10B for most type-2 diabetics, insulin for type-1,
//   statins for many over 50, …) dispensed about every 3 months, plus acute drugs (antibiotics,
//   analgesics, …). Default period: the last year only (option prescriptionFromYear).
// - Income log-normal by age, sex, education and z; one row per resident aged 15+ per income year.
// - Not every person is in every register: EMIGRANTS (emigrantShare of N, extra persons beyond the N
//   citizens) emigrated during the period: they have contacts and prescriptions before their
//   emigration date but no row in population or income. A further incomeMissingShare of residents
//   aged 15+ have no income row (no Danish tax assessment). Children under 15 have no income row.
// Rows of the event registers are grouped by person (persons in random order), dated in order
// within a person. A person has at most MAX_CONTACTS_PER_PERSON contacts and
// MAX_PRESCRIPTIONS_PER_PERSON dispensings (the schemas' maxRowsPerPerson; never reached with the
// default rates up to 6 M citizens, so the cap only matters for larger contactRate/prescriptionRate
// or a longer prescription period).
//
// - Follow-up after the census (option followUpYears, default 2: 1 January toYear+1 to 31 December
//   toYear+2): every resident either dies (DEATHS: date and ICD-10 underlying cause), emigrates
//   (EMIGRATIONS: date) or is alive and resident at the end of follow-up. Mortality is Gompertz in
//   age (about 0.2 % a year at 45, 2 % at 70, 9 % at 85; Danish life tables, rounded), 1.45 times
//   higher for men and raised by chronic conditions: type-2 diabetes 1.9, heart failure 2.2, COPD
//   1.9, cancer 3, dementia 2.5, CKD 1.6, ischaemic heart disease 1.4, and by low socio-economic
//   score; the cause of death follows the person's conditions. Emigration about 0.5 % a year, more
//   at 20–34. Drawn from their own random stream: the other registers do not change with them.
//
// Scale (defaults, 3-year period): per citizen ≈ 4.5 contacts, 5.7 prescriptions, 0.82 income rows.
// Measured (Node 20, one thread, shared 2-core VM), all registers with plain and encoded columns
// (the encoded ones are made when first read):
// 1 M citizens ≈ 4 s CPU (4–5.5 s wall), 1.2 GiB; 6 M citizens ≈ 24 s CPU (29–50 s wall under
// load), peak RSS 7.2 GiB (27 M contacts, 34 M prescriptions). Linear in N. No BigInt per value:
// ring elements are written as 32-bit halves.

import { daysFromCivil, DECIMAL_FRAC_BITS, type CodeList, type ColumnSpec, type DatasetSchema } from '../ingest/schema.js';
import {
  ageBandIndex, ageBandList, atcList, codeIndex, demoCodeLists, educationList, HOSPITALS, hospitalList, icd10List,
  MUNICIPALITIES, municipalityList, regionList, sexList,
} from './codelists.js';
import {
  contactsSchema, deathsSchema, DEFAULT_PERIOD, emigrationsSchema, incomeSchema, MAX_AGE, MAX_AMOUNT, MAX_CONTACTS_PER_PERSON, MAX_INCOME, MAX_LENGTH_OF_STAY,
  MAX_PRESCRIPTIONS_PER_PERSON, populationSchema, prescriptionsSchema,
} from './schemas.js';

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit variant).

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  /** A stream per (seed, stream): the registers draw from separate streams so each is reproducible alone. */
  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9 ^ (seed >>> 0);
    this.b = 0x243f6a88 ^ Math.floor(seed / 4294967296);
    this.c = 0xb7e15162 ^ Math.imul(stream >>> 0, 0x85ebca6b);
    this.d = 1;
    for (let i = 0; i < 20; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits. */
  float(): number {
    return this.u32() * 2.3283064365386963e-10;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal (polar Box–Muller, one spare kept). */
  normal(): number {
    const s0 = this.spare;
    if (s0 === s0) {
      this.spare = NaN;
      return s0;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 40) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = this.float();
    while (p > l) {
      k++;
      p *= this.float();
    }
    return k;
  }
}

/** Draws an index (or a mapped value) with given weights: cumulative table + binary search. */
export class Sampler {
  private readonly cum: Float64Array;
  readonly values: Int32Array;

  constructor(weights: ArrayLike<number>, values?: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error('Sampler needs at least one weight');
    this.cum = new Float64Array(n);
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += weights[i]!;
      this.cum[i] = s;
    }
    for (let i = 0; i < n; i++) this.cum[i]! /= s;
    this.cum[n - 1] = 1;
    this.values = new Int32Array(n);
    for (let i = 0; i < n; i++) this.values[i] = values ? values[i]! : i;
  }

  sample(rng: Rng): number {
    const u = rng.float();
    const cum = this.cum;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! <= u) lo = mid + 1;
      else hi = mid;
    }
    return this.values[lo]!;
  }
}

/** Sampler over codes of a list from [code, weight] pairs. */
function codeSampler(list: CodeList, entries: [string, number][]): Sampler {
  return new Sampler(entries.map((e) => e[1]), entries.map((e) => codeIndex(list, e[0])));
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic on day numbers (days since 1970-01-01), without Date objects (H. Hinnant);
// daysFromCivil is src/ingest/schema.ts's, which parses dates with it.

/** [year, month, day] of a day number. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Age in whole years at day `at` of a person born on day `birth` (365.25-day years; exact at year ends). */
export function ageAt(birth: number, at: number): number {
  return Math.floor((at - birth + 0.5) / 365.25);
}

// ---------------------------------------------------------------------------------------------
// Output types.

/** Plain values of a column: person ids and decimals as Float64Array; dates (days), code indices,
 *  ints and bools (0/1) as Int32Array. */
export type PlainColumn = Int32Array | Float64Array;

export interface Register {
  schema: DatasetSchema;
  length: number;
  /** Encoded exactly as encodeValue(spec, csvText) would: ring elements ready to share. */
  columns: Map<string, BigUint64Array>;
  /** The same values as plain numbers (see PlainColumn). */
  plain: Map<string, PlainColumn>;
}

/** Chronic conditions (bit flags in People.conditions). */
export const CONDITION = {
  T2D: 1 << 0,
  T1D: 1 << 1,
  HYPERTENSION: 1 << 2,
  IHD: 1 << 3,
  HEART_FAILURE: 1 << 4,
  AF: 1 << 5,
  COPD: 1 << 6,
  ASTHMA: 1 << 7,
  DEPRESSION: 1 << 8,
  CANCER: 1 << 9,
  HYPOTHYROID: 1 << 10,
  CKD: 1 << 11,
  DEMENTIA: 1 << 12,
  EPILEPSY: 1 << 13,
  SCHIZOPHRENIA: 1 << 14,
  ADHD: 1 << 15,
} as const;

/** Every generated person (ground truth): residents 0 … citizens−1, then the emigrants. */
export interface People {
  count: number;
  /** Persons 0 … residents−1 are the population register's rows, in that order. */
  residents: number;
  id: Float64Array;
  sex: Int32Array; // sex code index (F = 0, M = 1)
  birth: Int32Array; // days since 1970-01-01
  municipality: Int32Array; // municipality code index
  region: Int32Array; // region code index
  education: Int32Array; // education code index (highest completed, at the census date)
  ses: Float32Array; // latent socio-economic score
  conditions: Int32Array; // CONDITION flags
  /** Emigration day (days since 1970-01-01), or −1 for residents. */
  emigrated: Int32Array;
  /** 1 if the person (resident, 15+) has no income row. */
  noIncome: Uint8Array;
  /** Residents: day of death during follow-up, or −1; cause of death (ICD-10 code index) or −1. */
  died: Int32Array;
  cause: Int32Array;
  /** Residents: day of emigration during follow-up (before any death), or −1. */
  left: Int32Array;
}

export interface GenerateOptions {
  /** Residents at the census date (rows of the population register). Default 100 000. */
  citizens?: number;
  seed?: number;
  /** Period of the event registers; census date = toYear-12-31. Default 2022–2024. */
  fromYear?: number;
  toYear?: number;
  /** Prescriptions are generated from 1 January of this year. Default toYear (one year). */
  prescriptionFromYear?: number;
  /** Income years (each within the period). Default [toYear − 1] (or fromYear for a one-year period). */
  incomeYears?: number[];
  /** Extra persons who emigrated during the period, as a share of citizens. Default 0.01. */
  emigrantShare?: number;
  /** Share of residents aged 15+ without an income row. Default 0.01. */
  incomeMissingShare?: number;
  /** Multipliers of the contact and prescription rates. Default 1. */
  contactRate?: number;
  prescriptionRate?: number;
  /** Years of follow-up after the census for deaths and emigrations (1 January toYear+1 on). Default 2. */
  followUpYears?: number;
}

export interface Registers {
  options: Required<GenerateOptions>;
  codeLists: Map<string, CodeList>;
  people: People;
  population: Register;
  contacts: Register;
  prescriptions: Register;
  income: Register;
  /** Follow-up after the census: deaths (date, cause) and emigrations of residents. */
  deaths: Register;
  emigrations: Register;
  /** The six registers in the order above. */
  all: Register[];
  /** Milliseconds spent per phase (people, population, contacts, prescriptions, income; each incl. encoding). */
  timings: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------
// Encoding plain columns to ring elements without a BigInt per element: write the 64-bit words
// as two little-endian 32-bit halves.

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TWO32 = 4294967296;

export function encodePlain(spec: ColumnSpec, plain: PlainColumn, length = plain.length): BigUint64Array {
  if (!LITTLE_ENDIAN) throw new Error('encodePlain assumes a little-endian machine');
  const out = new BigUint64Array(length);
  const w = new Uint32Array(out.buffer);
  if (plain instanceof Int32Array) {
    if (spec.type === 'decimal') throw new Error(`${spec.name}: decimal columns are kept as Float64Array`);
    encodeI32(plain, w, length);
  } else encodeF64(plain, w, length, spec.type === 'decimal' ? 2 ** DECIMAL_FRAC_BITS : 1);
  return out;
}

// Separate monomorphic loops (one typed-array kind each).
function encodeI32(plain: Int32Array, w: Uint32Array, length: number): void {
  for (let i = 0; i < length; i++) {
    const v = plain[i]!;
    w[2 * i] = v;
    w[2 * i + 1] = v >> 31;
  }
}

function encodeF64(plain: Float64Array, w: Uint32Array, length: number, scale: number): void {
  for (let i = 0; i < length; i++) {
    const s = Math.round(plain[i]! * scale);
    w[2 * i] = s >>> 0;
    w[2 * i + 1] = Math.floor(s / TWO32);
  }
}

/**
 * A register over its plain columns; the encoded columns are made on first use (the demo's
 * custodians write CSV from the plain values, and only in-process engines read ring elements).
 */
function makeRegister(schema: DatasetSchema, length: number, plain: Map<string, PlainColumn>): Register {
  for (const spec of schema.columns) {
    const p = plain.get(spec.name);
    if (!p) throw new Error(`${schema.name}: no data for column ${spec.name}`);
    if (p.length !== length) throw new Error(`${schema.name}.${spec.name}: ${p.length} values for ${length} rows`);
  }
  let columns: Map<string, BigUint64Array> | null = null;
  return {
    schema,
    length,
    plain,
    get columns() {
      return (columns ??= new Map(schema.columns.map((spec) => [spec.name, encodePlain(spec, plain.get(spec.name)!, length)])));
    },
  };
}

/** Growable set of columns for an event register: reserve room for a person's rows, then write. */
class TableBuilder {
  length = 0;
  private cap: number;
  readonly cols: PlainColumn[];

  constructor(private readonly kinds: ('i32' | 'f64')[], estimate: number) {
    this.cap = Math.max(1024, Math.ceil(estimate));
    this.cols = kinds.map((k) => (k === 'i32' ? new Int32Array(this.cap) : new Float64Array(this.cap)));
  }

  reserve(extra: number): void {
    if (this.length + extra <= this.cap) return;
    const cap = Math.max(this.length + extra, Math.ceil(this.cap * 1.5));
    for (let c = 0; c < this.cols.length; c++) {
      const old = this.cols[c]!;
      const nu = this.kinds[c] === 'i32' ? new Int32Array(cap) : new Float64Array(cap);
      nu.set(old.subarray(0, this.length));
      this.cols[c] = nu;
    }
    this.cap = cap;
  }

  /** The columns trimmed to length (copied when more than 10 % would be wasted). */
  finish(): PlainColumn[] {
    const n = this.length;
    return this.cols.map((c) => (c.length > n * 1.1 + 16 ? c.slice(0, n) : c.subarray(0, n)));
  }
}

// ---------------------------------------------------------------------------------------------
// Model tables.

/** Thousands of residents per five-year band 0-4 … 95-99 (Denmark, 2024, rounded). */
const PYRAMID = [300, 305, 335, 340, 375, 400, 375, 345, 345, 385, 405, 395, 360, 330, 320, 280, 185, 95, 38, 9];

/** Piecewise-constant lookup by age: [[fromAge, value], …] ascending. */
function byAge(table: [number, number][], age: number): number {
  let v = table[0]![1];
  for (const [a, x] of table) {
    if (age >= a) v = x;
    else break;
  }
  return v;
}

/** Piecewise-linear interpolation by age. */
function lerpAge(table: [number, number][], age: number): number {
  if (age <= table[0]![0]) return table[0]![1];
  for (let i = 1; i < table.length; i++) {
    const [a1, v1] = table[i]!;
    if (age <= a1) {
      const [a0, v0] = table[i - 1]!;
      return v0 + ((v1 - v0) * (age - a0)) / (a1 - a0);
    }
  }
  return table[table.length - 1]![1];
}

/** A piecewise-constant age table expanded to one value per age 0 … MAX_AGE + 1 (for hot loops). */
function ageTable(table: [number, number][]): Float64Array {
  return Float64Array.from({ length: MAX_AGE + 2 }, (_, a) => byAge(table, a));
}

function withOdds(p: number, mult: number): number {
  if (p <= 0) return 0;
  const o = (p / (1 - p)) * mult;
  return o / (1 + o);
}

const T2D_PREV: [number, number][] = [[0, 0.0005], [20, 0.004], [30, 0.01], [40, 0.03], [50, 0.065], [60, 0.11], [70, 0.14], [75, 0.155]];
const HTN_PREV: [number, number][] = [[0, 0], [20, 0.005], [30, 0.02], [40, 0.07], [50, 0.17], [60, 0.3], [70, 0.42], [80, 0.5]];
const IHD_PREV: [number, number][] = [[0, 0], [40, 0.005], [50, 0.02], [60, 0.05], [70, 0.09], [80, 0.13]];
const HF_PREV: [number, number][] = [[0, 0], [50, 0.004], [60, 0.012], [70, 0.03], [80, 0.07]];
const AF_PREV: [number, number][] = [[0, 0], [40, 0.003], [50, 0.01], [60, 0.03], [70, 0.07], [80, 0.12]];
const COPD_PREV: [number, number][] = [[0, 0], [40, 0.008], [50, 0.02], [60, 0.045], [70, 0.075], [80, 0.08]];
const CANCER_PREV: [number, number][] = [[0, 0.0003], [20, 0.001], [40, 0.006], [50, 0.012], [60, 0.025], [70, 0.04], [80, 0.045]];
const CKD_PREV: [number, number][] = [[0, 0], [40, 0.003], [60, 0.015], [70, 0.03], [80, 0.06]];
const DEMENTIA_PREV: [number, number][] = [[0, 0], [65, 0.01], [70, 0.02], [80, 0.07], [90, 0.15]];

/** Education groups in level order and their shares by age group (H10,H30,H20,H35,H40,H50,H60,H70,H80). */
const EDU_ORDER = ['H10', 'H30', 'H20', 'H35', 'H40', 'H50', 'H60', 'H70', 'H80'];
const EDU_SHARES: [number, number[]][] = [
  [15, [0.92, 0.02, 0.06, 0, 0, 0, 0, 0, 0]],
  [20, [0.25, 0.1, 0.55, 0.01, 0.02, 0.03, 0.04, 0, 0]],
  [25, [0.15, 0.18, 0.22, 0.01, 0.05, 0.15, 0.09, 0.15, 0]],
  [30, [0.14, 0.25, 0.07, 0.01, 0.06, 0.21, 0.03, 0.21, 0.02]],
  [45, [0.18, 0.36, 0.05, 0.01, 0.06, 0.2, 0.02, 0.11, 0.01]],
  [65, [0.26, 0.36, 0.04, 0.01, 0.05, 0.18, 0.01, 0.08, 0.01]],
  [80, [0.4, 0.3, 0.04, 0.005, 0.04, 0.15, 0.005, 0.05, 0.005]],
];
/** Income multipliers by education code (H10 … H90). */
const EDU_INCOME: Record<string, number> = { H10: 0.72, H20: 0.85, H30: 1.0, H35: 1.0, H40: 1.1, H50: 1.15, H60: 1.05, H70: 1.5, H80: 1.6, H90: 0.7 };
/** Median personal income (DKK) by age. */
const INCOME_MEDIAN: [number, number][] = [
  [15, 25_000], [17, 45_000], [19, 110_000], [22, 170_000], [25, 260_000], [30, 360_000], [35, 410_000], [40, 440_000],
  [45, 460_000], [50, 465_000], [55, 450_000], [60, 420_000], [64, 370_000], [67, 260_000], [70, 240_000], [80, 210_000], [90, 200_000],
];
const REGION_SES: Record<string, number> = { Hovedstaden: 0.2, Midtjylland: 0.05, Syddanmark: -0.08, Sjælland: -0.1, Nordjylland: -0.15 };
const BIG_CITIES = new Set(['København', 'Frederiksberg', 'Aarhus', 'Odense', 'Aalborg']);

// ---------------------------------------------------------------------------------------------
// Persons.

function generatePeople(o: Required<GenerateOptions>, emigrants: number): People {
  const rng = new Rng(o.seed, 1);
  const residents = o.citizens;
  const count = residents + emigrants;
  const census = daysFromCivil(o.toYear, 12, 31);
  const periodStart = daysFromCivil(o.fromYear, 1, 1);

  const ageWeights = Array.from({ length: MAX_AGE + 1 }, (_, a) => PYRAMID[Math.floor(a / 5)]!);
  const ageSampler = new Sampler(ageWeights);
  const muniWeights = MUNICIPALITIES.map((m) => m.population);
  const muniValues = MUNICIPALITIES.map((m) => codeIndex(municipalityList, m.name));
  const muniSampler = new Sampler(muniWeights, muniValues);
  const youngMuniSampler = new Sampler(MUNICIPALITIES.map((m) => m.population * (BIG_CITIES.has(m.name) ? 1.8 : 1)), muniValues);
  const muniRegion = new Int32Array(municipalityList.codes.length);
  for (const m of MUNICIPALITIES) muniRegion[codeIndex(municipalityList, m.name)] = codeIndex(regionList, m.region);
  const regionSes = new Float64Array(regionList.codes.length);
  for (const [r, v] of Object.entries(REGION_SES)) regionSes[codeIndex(regionList, r)] = v;
  const eduIdx = EDU_ORDER.map((c) => codeIndex(educationList, c));
  const eduH10 = codeIndex(educationList, 'H10');
  const eduH90 = codeIndex(educationList, 'H90');
  const eduCum = EDU_SHARES.map(([a, s]): [number, Float64Array] => {
    const c = new Float64Array(s.length);
    const tot = s.reduce((x, y) => x + y, 0);
    let acc = 0;
    s.forEach((x, i) => (c[i] = acc += x / tot));
    c[s.length - 1] = 1;
    return [a, c];
  });
  const F = codeIndex(sexList, 'F');
  const Mx = codeIndex(sexList, 'M');
  const [prevT2D, prevHTN, prevIHD, prevHF, prevAF, prevCOPD, prevCANCER, prevCKD, prevDEMENTIA] = [
    T2D_PREV, HTN_PREV, IHD_PREV, HF_PREV, AF_PREV, COPD_PREV, CANCER_PREV, CKD_PREV, DEMENTIA_PREV,
  ].map(ageTable) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];

  const p: People = {
    count,
    residents,
    id: new Float64Array(count),
    sex: new Int32Array(count),
    birth: new Int32Array(count),
    municipality: new Int32Array(count),
    region: new Int32Array(count),
    education: new Int32Array(count),
    ses: new Float32Array(count),
    conditions: new Int32Array(count),
    emigrated: new Int32Array(count).fill(-1),
    noIncome: new Uint8Array(count),
    died: new Int32Array(count).fill(-1),
    cause: new Int32Array(count).fill(-1),
    left: new Int32Array(count).fill(-1),
  };

  // CPR numbers: ddmmyy + 4-digit serial whose last digit is odd for men; the serial's first digit
  // follows the CPR century rule (0–3 for 1900–1999, 4–9 for 2000–2036). Within a birth day and sex
  // the k-th person gets an affine permutation of k, so numbers are unique and look scattered.
  const firstDay = daysFromCivil(o.toYear - MAX_AGE, 1, 1);
  const counters = new Int32Array((census - firstDay + 1) * 2);
  const yearStart = new Int32Array(MAX_AGE + 2);
  for (let a = 0; a <= MAX_AGE + 1; a++) yearStart[a] = daysFromCivil(o.toYear - a, 1, 1);

  for (let i = 0; i < count; i++) {
    const age = ageSampler.sample(rng);
    const y0 = yearStart[age]!;
    const len = (age === 0 ? census + 1 : yearStart[age - 1]!) - y0;
    const birth = y0 + rng.int(len);
    const pMale = age < 60 ? 0.514 - 0.0002 * age : Math.max(0.3, 0.502 - 0.004 * (age - 60));
    const male = rng.float() < pMale;
    const sex = male ? Mx : F;
    const muni = (age >= 20 && age < 35 ? youngMuniSampler : muniSampler).sample(rng);
    const region = muniRegion[muni]!;
    const z = rng.normal() + regionSes[region]!;

    // Education (highest completed) from the age group's distribution, ranked by z plus noise.
    let edu = eduH10;
    if (age >= 15) {
      let cum = eduCum[0]![1];
      for (let e = 1; e < eduCum.length && age >= eduCum[e]![0]; e++) cum = eduCum[e]![1];
      const u = normCdf(0.8 * z + 0.6 * rng.normal());
      let k = 0;
      while (k < cum.length - 1 && u > cum[k]!) k++;
      edu = eduIdx[k]!;
      if (rng.float() < 0.02) edu = eduH90;
    }

    // Chronic conditions.
    let cond = 0;
    const m = male ? 1 : 0;
    if (rng.float() < withOdds(prevT2D[age]!, (Math.exp(-0.4 * z) * (male ? 1.3 : 1)) / 1.2)) cond |= CONDITION.T2D;
    else if (age >= 3 && rng.float() < 0.005) cond |= CONDITION.T1D;
    if (rng.float() < withOdds(prevHTN[age]!, Math.exp(-0.2 * z) * (cond & CONDITION.T2D ? 2 : 1))) cond |= CONDITION.HYPERTENSION;
    if (rng.float() < withOdds(prevIHD[age]!, Math.exp(-0.3 * z) * (m ? 1.6 : 0.6) * (cond & CONDITION.T2D ? 2 : 1))) cond |= CONDITION.IHD;
    if (rng.float() < withOdds(prevHF[age]!, (cond & CONDITION.IHD ? 3 : 0.9) * (cond & CONDITION.T2D ? 1.8 : 1))) cond |= CONDITION.HEART_FAILURE;
    if (rng.float() < withOdds(prevAF[age]!, m ? 1.2 : 0.8)) cond |= CONDITION.AF;
    if (rng.float() < withOdds(prevCOPD[age]!, Math.exp(-0.5 * z))) cond |= CONDITION.COPD;
    if (age >= 3 && rng.float() < (age < 18 ? 0.06 : 0.04)) cond |= CONDITION.ASTHMA;
    if (age >= 15 && rng.float() < withOdds(age < 65 ? (m ? 0.03 : 0.05) : m ? 0.025 : 0.04, Math.exp(-0.3 * z))) cond |= CONDITION.DEPRESSION;
    if (rng.float() < prevCANCER[age]!) cond |= CONDITION.CANCER;
    if (age >= 20 && rng.float() < (m ? 0.01 : 0.035) * (age >= 60 ? 1.6 : 1)) cond |= CONDITION.HYPOTHYROID;
    if (rng.float() < withOdds(prevCKD[age]!, cond & CONDITION.T2D ? 3 : 1)) cond |= CONDITION.CKD;
    if (rng.float() < prevDEMENTIA[age]!) cond |= CONDITION.DEMENTIA;
    if (rng.float() < 0.007) cond |= CONDITION.EPILEPSY;
    if (age >= 18 && age < 75 && rng.float() < withOdds(0.004, Math.exp(-0.5 * z))) cond |= CONDITION.SCHIZOPHRENIA;
    if (age >= 6 && age < 35 && rng.float() < (m ? 0.04 : 0.02)) cond |= CONDITION.ADHD;

    // CPR-like identifier.
    const [by, bm, bd] = civilFromDays(birth);
    const slot = 2 * (birth - firstDay) + m;
    const k = counters[slot]!++;
    const range = by < 2000 ? 2000 : 3000;
    if (k >= range) throw new Error(`more than ${range} ${male ? 'men' : 'women'} born on one day: too many citizens for CPR-like numbers`);
    const off = hash32(birth * 2 + m, o.seed) % range;
    const serial = (by < 2000 ? 0 : 4000) + 2 * ((k * 1237 + off) % range) + m;
    p.id[i] = ((bd * 100 + bm) * 100 + (by % 100)) * 10000 + serial;

    p.sex[i] = sex;
    p.birth[i] = birth;
    p.municipality[i] = muni;
    p.region[i] = region;
    p.education[i] = edu;
    p.ses[i] = z;
    p.conditions[i] = cond;
    if (i >= residents) {
      const from = Math.max(periodStart, birth);
      p.emigrated[i] = from + rng.int(census - from + 1);
    } else if (age >= 15 && rng.float() < o.incomeMissingShare) p.noIncome[i] = 1;
  }
  return p;
}

function hash32(x: number, seed: number): number {
  let h = Math.imul(x ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(seed | 0, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Standard normal CDF (Abramowitz–Stegun 26.2.17, |error| < 7.5e-8). */
function normCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const d = 0.3989422804014327 * Math.exp((-x * x) / 2);
  const q = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return x > 0 ? 1 - q : q;
}

// ---------------------------------------------------------------------------------------------
// Hospital contacts.

/** Diagnosis tables per chronic condition (in CONDITION bit order) and their contact rates a year. */
const CHRONIC: { bit: number; rate: number; codes: [string, number][] }[] = [
  { bit: CONDITION.T2D, rate: 1.2, codes: [['E11.9', 40], ['E11.6', 8], ['E11.2', 6], ['E11.3', 6], ['E11.4', 5], ['E11.5', 3], ['E11.7', 4], ['E11.8', 3], ['E11.1', 0.5], ['E11.0', 0.3]] },
  { bit: CONDITION.T1D, rate: 2.0, codes: [['E10.9', 40], ['E10.1', 4], ['E10.2', 5], ['E10.3', 6], ['E10.4', 4], ['E10.5', 2], ['E10.6', 4], ['E10.7', 3], ['E10.8', 2], ['E10.0', 0.3]] },
  { bit: CONDITION.HYPERTENSION, rate: 0.08, codes: [['I10', 8], ['I11', 1]] },
  { bit: CONDITION.IHD, rate: 0.6, codes: [['I25.1', 6], ['I25.9', 3], ['I20.9', 2], ['I20.0', 1], ['I21.4', 1.2], ['I21.9', 0.5], ['I21.0', 0.4], ['I21.1', 0.4], ['I25.2', 1], ['R07.4', 1]] },
  { bit: CONDITION.HEART_FAILURE, rate: 1.2, codes: [['I50.0', 3], ['I50.9', 5], ['I50.1', 1]] },
  { bit: CONDITION.AF, rate: 0.5, codes: [['I48.0', 3], ['I48.9', 4], ['I48.1', 1], ['I48.2', 1.5]] },
  { bit: CONDITION.COPD, rate: 0.8, codes: [['J44.9', 4], ['J44.1', 4], ['J44.0', 2], ['J44.8', 0.5], ['J96', 0.5]] },
  { bit: CONDITION.ASTHMA, rate: 0.2, codes: [['J45.9', 4], ['J45.0', 2], ['J45.1', 0.5], ['J45.8', 0.5]] },
  { bit: CONDITION.DEPRESSION, rate: 0.6, codes: [['F32.1', 3], ['F32.0', 1], ['F32.2', 1.5], ['F32.9', 2], ['F33.1', 2], ['F33.0', 1], ['F33.2', 1], ['F33.4', 0.5], ['F33.9', 1], ['F41.2', 0.5]] },
  { bit: CONDITION.CANCER, rate: 4.0, codes: [] }, // site-specific, see cancerCode()
  { bit: CONDITION.HYPOTHYROID, rate: 0.1, codes: [['E03', 1]] },
  { bit: CONDITION.CKD, rate: 0.8, codes: [['N18.3', 3], ['N18.4', 1.5], ['N18.5', 0.7], ['N18.9', 1], ['Z49', 0.5]] },
  { bit: CONDITION.DEMENTIA, rate: 0.4, codes: [['F03', 3], ['G30', 2], ['F01', 1]] },
  { bit: CONDITION.EPILEPSY, rate: 0.5, codes: [['G40.9', 3], ['G40.3', 1]] },
  { bit: CONDITION.SCHIZOPHRENIA, rate: 1.5, codes: [['F20.0', 3], ['F20.9', 1]] },
  { bit: CONDITION.ADHD, rate: 0.4, codes: [['F90', 1]] },
];

const CANCER_SITES_F: [string, number][] = [['C50', 45], ['C18', 12], ['C34', 12], ['C43', 8], ['C54', 6], ['C56', 4], ['C25', 4], ['C85', 3], ['C83', 2], ['C92', 2], ['C91', 2], ['C73', 1], ['C53', 2]];
const CANCER_SITES_M: [string, number][] = [['C61', 35], ['C18', 12], ['C34', 14], ['C67', 7], ['C43', 7], ['C20', 6], ['C25', 4], ['C64', 4], ['C85', 3], ['C83', 2], ['C90', 3], ['C16', 2], ['C15', 2], ['C71', 1], ['C92', 2], ['C22', 1]];

const ACUTE_INFANT: [string, number][] = [['P59', 6], ['P07', 2], ['Q21', 1], ['Q65', 1], ['J06', 5], ['A08', 2], ['R50', 3], ['Z03.9', 4], ['H66', 2], ['J18.9', 1], ['R11', 1]];
const ACUTE_CHILD: [string, number][] = [
  ['J06', 8], ['J18.9', 3], ['J03', 3], ['H66', 5], ['A09', 5], ['A08', 3], ['R50', 4], ['S00', 4], ['S01', 4], ['S52.5', 4], ['S62', 3], ['S93.4', 3],
  ['S06.0', 3], ['T14', 3], ['L20', 2], ['K35.8', 2], ['R10.4', 4], ['Z03.9', 5], ['Z00.0', 2], ['B34', 4], ['F84', 1], ['N39.0', 1], ['R11', 2], ['B01', 1],
  ['T78', 1], ['J35', 1.5], ['H10', 1], ['S42.0', 1], ['R51', 1], ['G43', 0.5], ['F50', 0.3], ['K59', 1.5], ['U07.1', 0.5],
];
const ACUTE_ADULT: [string, number][] = [
  ['Z03.9', 5], ['Z03.8', 3], ['R10.4', 5], ['R10.1', 1.5], ['R07.4', 5], ['R07.3', 2], ['R51', 2], ['R55', 2], ['R42', 1.5], ['R11', 1], ['R06', 0.7], ['R00', 0.8],
  ['S52.5', 2], ['S62', 2.5], ['S61', 2], ['S93.4', 2.5], ['S83', 2], ['S82.6', 1], ['S06.0', 1.5], ['S01', 1.5], ['T14', 2], ['S42.2', 0.5], ['S80', 0.7],
  ['M54', 4], ['M51', 2], ['M75', 2], ['M79', 1.5], ['M25', 2], ['M17.1', 1], ['M16.1', 0.6], ['M06', 0.4], ['M10', 0.4], ['M47', 0.5],
  ['K80.2', 1.5], ['K80.1', 0.4], ['K35.8', 1], ['K35.3', 0.3], ['K40', 1.5], ['K21', 1], ['K29', 1], ['K57', 1], ['K64', 1], ['K85', 0.3], ['K50', 0.3], ['K51', 0.3], ['K70', 0.3],
  ['N20', 1.5], ['N39.0', 1], ['N10', 0.3], ['J18.9', 1.5], ['J06', 1], ['J03', 1], ['J02', 0.5], ['J20', 0.5], ['J10', 0.4], ['U07.1', 1],
  ['L02', 1.5], ['L03', 1], ['A46', 0.5], ['A09', 1], ['B02', 0.3], ['B00', 0.2],
  ['G43', 1], ['G47', 1], ['G56', 1], ['G35', 0.2], ['F43', 1.5], ['F41.1', 1], ['F41.0', 0.5], ['F10.1', 1], ['F10.2', 0.5], ['F10.0', 0.3], ['F60', 0.3], ['F31', 0.3], ['F17', 0.2],
  ['T51', 0.5], ['T42', 0.3], ['D22', 1], ['D12', 0.7], ['H10', 0.5], ['H81', 0.5], ['I80', 0.3], ['I26.9', 0.3], ['I83', 0.5],
  ['E66', 0.5], ['E04', 0.5], ['E05', 0.3], ['E55', 0.2], ['D50', 0.5], ['L40', 0.4], ['C44', 0.5], ['Z00.0', 1], ['Z01', 1], ['Z76', 1], ['B18', 0.1], ['B20', 0.05], ['A15', 0.03],
];
const ACUTE_FEMALE_FERTILE: [string, number][] = [['O80', 4], ['O82', 1], ['Z34', 3], ['O03', 1], ['O04', 1.2], ['N80', 0.6], ['N92', 1], ['Z30', 0.6], ['O24', 0.2], ['D25', 0.4], ['D06', 0.3], ['D05', 0.1]];
const ACUTE_OLD: [string, number][] = [
  ['Z03.9', 3], ['R07.4', 3], ['R55', 2.5], ['R42', 2], ['R10.4', 2], ['R06', 1.5], ['R00', 1.5], ['R69', 0.5],
  ['J18.9', 4], ['J18.0', 1], ['J18.1', 0.3], ['J96', 0.7], ['N39.0', 3], ['A41', 1.5], ['A46', 1], ['L03', 1], ['A49', 0.5], ['A04', 0.3], ['B37', 0.2],
  ['E86', 1.5], ['E87', 1], ['D64', 1], ['D50', 0.7], ['D69', 0.2],
  ['S72.0', 2], ['S72.1', 1.5], ['S72.2', 0.3], ['S72.3', 0.2], ['S72.4', 0.1], ['S42.2', 1], ['S52.5', 1.5], ['S06.0', 1], ['S00', 1.5], ['T14', 1], ['S82.5', 0.3], ['S82.8', 0.3], ['S06.9', 0.3],
  ['M16.1', 1.5], ['M16.0', 0.3], ['M16.9', 0.3], ['M17.1', 2], ['M17.0', 0.4], ['M17.9', 0.3], ['M19', 0.5], ['M81', 0.7], ['M80', 0.3], ['M54', 1.5], ['M47', 0.7], ['M10', 0.4],
  ['H25', 3], ['H26', 0.5], ['H35', 1], ['H40', 1], ['H90', 1], ['H36', 0.3],
  ['K57', 1.2], ['K80.0', 0.8], ['K80.5', 0.3], ['K56', 0.7], ['K92', 0.7], ['K25', 0.4], ['K29', 0.6], ['K74', 0.2],
  ['I26.0', 0.1], ['I26.9', 0.5], ['I63.9', 1.2], ['I63.5', 0.5], ['I63.4', 0.3], ['I63.3', 0.2], ['I63.0', 0.1], ['I63.8', 0.1], ['I64', 0.2], ['I61', 0.3], ['G45', 0.8],
  ['I70', 0.7], ['I73', 0.5], ['I35', 0.7], ['I21.4', 0.3], ['I21.9', 0.2], ['L89', 0.3], ['L97', 0.5], ['G20', 0.3], ['G62', 0.4],
  ['C44', 1], ['D12', 0.5], ['U07.1', 1], ['Z00.0', 0.5], ['Z09', 1], ['Z47', 0.7], ['B02', 0.5], ['T78', 0.3], ['F10.2', 0.2],
];
const ACUTE_OLD_MALE: [string, number][] = [['N40', 1.5]];

/** Inpatient probability and log-median length of stay by code prefix (longest prefix wins). */
const LOS_RULES: [prefix: string, pIn: number, median: number][] = [
  ['', 0.25, 2.5], ['A', 0.6, 4], ['A41', 0.98, 8], ['A46', 0.5, 4], ['A08', 0.2, 2], ['A09', 0.25, 2], ['B', 0.15, 3],
  ['C', 0.35, 5], ['C44', 0.02, 1], ['D', 0.1, 2], ['D64', 0.3, 3],
  ['E', 0.1, 3], ['E1', 0.07, 3], ['E86', 0.7, 3], ['E87', 0.6, 3],
  ['F', 0.15, 12], ['F20', 0.3, 20], ['F10', 0.3, 5], ['F0', 0.2, 8], ['G30', 0.2, 8], ['G', 0.1, 3], ['G45', 0.6, 1.5],
  ['H', 0.02, 1], ['I', 0.3, 3], ['I10', 0.05, 2], ['I25', 0.15, 3], ['I20.0', 0.9, 3], ['I21', 0.95, 4], ['I26', 0.8, 3], ['I48', 0.35, 2],
  ['I50', 0.6, 5], ['I6', 0.95, 7], ['J', 0.3, 3], ['J0', 0.05, 1.5], ['J18', 0.8, 4], ['J44.0', 0.85, 5], ['J44.1', 0.85, 5], ['J44.9', 0.15, 3],
  ['J96', 0.95, 6], ['K', 0.3, 3], ['K35', 0.95, 2], ['K56', 0.9, 5], ['K80.0', 0.8, 3], ['K85', 0.9, 5], ['L', 0.1, 3], ['L03', 0.4, 4],
  ['M', 0.08, 3], ['M16', 0.25, 3], ['M17', 0.2, 3], ['M80', 0.5, 6], ['N', 0.15, 2], ['N39.0', 0.4, 3], ['N18', 0.1, 4],
  ['O', 0.3, 1.5], ['O80', 0.85, 1.2], ['O82', 0.98, 3], ['O04', 0.05, 1], ['P07', 0.9, 10], ['P59', 0.5, 2], ['Q', 0.2, 3],
  ['R', 0.2, 1.3], ['S', 0.05, 2], ['S06', 0.4, 1.5], ['S72', 0.98, 8], ['S42.2', 0.3, 4], ['T', 0.3, 1.5],
  ['U07', 0.4, 5], ['Z', 0.02, 1.5], ['Z38', 0.95, 2], ['Z51', 0.15, 2],
];

interface ContactTables {
  chronic: Sampler[];
  cancerF: Sampler;
  cancerM: Sampler;
  subcodes: Int32Array[]; // by category code index: its subcode indices (empty if none)
  category: Int32Array; // code index → index of its 3-character category
  infant: Sampler;
  child: Sampler;
  adult: Sampler;
  adultF: Sampler;
  old: Sampler;
  oldM: Sampler;
  pIn: Float64Array;
  logMedian: Float64Array;
  z51: number;
  z08: number;
  c78: number;
  c79: number;
  z38: number;
  hospitalsByRegion: Sampler[];
  anyHospital: Sampler;
}

function contactTables(): ContactTables {
  const L = icd10List;
  const n = L.codes.length;
  const category = new Int32Array(n);
  const subcodes: Int32Array[] = Array.from({ length: n }, () => new Int32Array(0));
  for (let i = 0; i < n; i++) {
    const c = L.codes[i]!;
    category[i] = codeIndex(L, c.slice(0, 3));
  }
  for (let i = 0; i < n; i++) if (L.codes[i]!.length === 3) subcodes[i] = Int32Array.from(L.codes.flatMap((c, j) => (c.length > 3 && c.startsWith(L.codes[i]!) ? [j] : [])));
  const pIn = new Float64Array(n);
  const logMedian = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (const [pre, p, med] of LOS_RULES) {
      if (L.codes[i]!.startsWith(pre) && pre.length > best) {
        best = pre.length;
        pIn[i] = p;
        logMedian[i] = Math.log(med);
      }
    }
  }
  const S = (e: [string, number][]) => codeSampler(L, e);
  const hospitalsByRegion = regionList.codes.map((r) => {
    const hs = HOSPITALS.filter((h) => h.region === r);
    return new Sampler(hs.map((h) => h.weight), hs.map((h) => codeIndex(hospitalList, h.name)));
  });
  const anyHospital = new Sampler(HOSPITALS.map((h) => h.weight * (h.university ? 3 : 1)), HOSPITALS.map((h) => codeIndex(hospitalList, h.name)));
  return {
    chronic: CHRONIC.map((c) => S(c.codes.length ? c.codes : [['C50', 1]])), // cancer: unused placeholder
    cancerF: S(CANCER_SITES_F),
    cancerM: S(CANCER_SITES_M),
    subcodes,
    category,
    infant: S(ACUTE_INFANT),
    child: S(ACUTE_CHILD),
    adult: S(ACUTE_ADULT),
    adultF: S([...ACUTE_ADULT, ...ACUTE_FEMALE_FERTILE.map(([c, w]): [string, number] => [c, w * 3])]),
    old: S(ACUTE_OLD),
    oldM: S([...ACUTE_OLD, ...ACUTE_OLD_MALE]),
    pIn,
    logMedian,
    z51: codeIndex(L, 'Z51'),
    z08: codeIndex(L, 'Z08'),
    c78: codeIndex(L, 'C78'),
    c79: codeIndex(L, 'C79'),
    z38: codeIndex(L, 'Z38.0'),
    hospitalsByRegion,
    anyHospital,
  };
}

/** Acute contacts a year by age (before the contactRate multiplier). */
const ACUTE_RATE: [number, number][] = [[0, 2.0], [1, 1.0], [5, 0.65], [15, 0.8], [25, 0.9], [45, 1.25], [65, 1.8], [75, 2.4], [85, 2.8]];

/** Scratch rows per person (above either cap). */
const SCRATCH_ROWS = 4096;

function generateContacts(o: Required<GenerateOptions>, p: People, t: ContactTables): Register {
  const rng = new Rng(o.seed, 2);
  const start = daysFromCivil(o.fromYear, 1, 1);
  const end = daysFromCivil(o.toYear, 12, 31);
  const years = (end - start + 1) / 365.25;
  const F = codeIndex(sexList, 'F');
  const cols = ['person_id', 'admission_date', 'diagnosis', 'hospital', 'length_of_stay', 'sex', 'age_band', 'region', 'first_in_category'];
  const b = new TableBuilder(['f64', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], p.count * 1.6 * years * o.contactRate);
  const rates = new Float64Array(CHRONIC.length + 1);
  const dDate = new Int32Array(SCRATCH_ROWS);
  const dCode = new Int32Array(SCRATCH_ROWS);
  const order = new Int32Array(SCRATCH_ROWS);
  const seen = new Int32Array(SCRATCH_ROWS);
  const t2dIdx = CHRONIC.findIndex((c) => c.bit === CONDITION.T2D);
  const t1dIdx = CHRONIC.findIndex((c) => c.bit === CONDITION.T1D);
  const cancerIdx = CHRONIC.findIndex((c) => c.bit === CONDITION.CANCER);
  const ageSpan = MAX_AGE + 1;
  const acuteByAge = new Float64Array(ageSpan + 1);
  for (let a = 0; a <= ageSpan; a++) acuteByAge[a] = byAge(ACUTE_RATE, a);

  // Per-person state shared with draw() (one closure for the whole run, no allocation per person).
  let birth = 0, from = 0, span = 1, female = false, site = 0, m = 0, hadT2D = false, hadT1D = false;
  const draw = (k: number) => {
    // k = −1 acute, else chronic condition index.
    const date = from + rng.int(span);
    let code: number;
    if (k < 0) {
      const a = ageAt(birth, date);
      // Adult and old-age case mixes blend between 50 and 80 (no jump in severity at one age).
      const old = a >= 50 && (a >= 80 || rng.float() * 30 < a - 50);
      code = (a < 1 ? t.infant : a < 15 ? t.child : old ? (female ? t.old : t.oldM) : female && a < 50 ? t.adultF : t.adult).sample(rng);
    } else if (k === cancerIdx) {
      const u = rng.float();
      if (u < 0.7) {
        const s = t.subcodes[site]!;
        code = s.length ? s[rng.int(s.length)]! : site;
      } else code = u < 0.85 ? t.z51 : u < 0.95 ? t.z08 : u < 0.98 ? t.c78 : t.c79;
    } else code = t.chronic[k]!.sample(rng);
    if (k === t2dIdx) hadT2D = true;
    if (k === t1dIdx) hadT1D = true;
    dCode[m] = code;
    dDate[m] = date;
    m++;
  };

  for (let i = 0; i < p.count; i++) {
    birth = p.birth[i]!;
    from = Math.max(start, birth);
    const to = p.emigrated[i]! >= 0 ? p.emigrated[i]! : end;
    if (to < from) continue;
    span = to - from + 1;
    const expYears = span / 365.25;
    const ageMid = ageAt(birth, from + (span >> 1));
    const cond = p.conditions[i]!;
    female = p.sex[i] === F;
    const z = p.ses[i]!;
    // Rates: [0] acute, [1 + k] chronic condition k.
    let total = acuteByAge[Math.min(ageMid, ageSpan)]! * Math.exp(-0.1 * z) * (female && ageMid >= 18 && ageMid < 45 ? 1.35 : 1);
    rates[0] = total;
    for (let k = 0; k < CHRONIC.length; k++) {
      const r = cond & CHRONIC[k]!.bit ? CHRONIC[k]!.rate : 0;
      rates[k + 1] = r;
      total += r;
    }
    if (cond & CONDITION.CANCER) site = (female ? t.cancerF : t.cancerM).sample(rng); // one primary site per person
    // At most MAX_CONTACTS_PER_PERSON rows (the schema's maxRowsPerPerson): up to 3 are added below.
    let n = Math.min(rng.poisson(total * expYears * o.contactRate), MAX_CONTACTS_PER_PERSON - 3);
    hadT2D = hadT1D = false;
    m = 0;
    for (let c = 0; c < n; c++) {
      let u = rng.float() * total;
      let k = 0;
      while (k < CHRONIC.length && u >= rates[k]!) u -= rates[k++]!;
      draw(k - 1);
    }
    if (cond & CONDITION.T2D && !hadT2D) draw(t2dIdx);
    if (cond & CONDITION.T1D && !hadT1D) draw(t1dIdx);
    if (birth >= start && birth <= to) {
      dCode[m] = t.z38;
      dDate[m] = birth;
      m++;
    }
    n = m;
    if (n === 0) continue;

    // Date order within the person (insertion sort: few rows), first contact per ICD-10 category.
    for (let c = 0; c < n; c++) {
      const d = dDate[c]!;
      let j = c - 1;
      while (j >= 0 && dDate[order[j]!]! > d) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = c;
    }
    b.reserve(n);
    const cs = b.cols;
    const pid = cs[0] as Float64Array, adm = cs[1] as Int32Array, dx = cs[2] as Int32Array, hosp = cs[3] as Int32Array, los = cs[4] as Int32Array;
    const sex = cs[5] as Int32Array, band = cs[6] as Int32Array, reg = cs[7] as Int32Array, first = cs[8] as Int32Array;
    const region = p.region[i]!;
    let nSeen = 0;
    for (let c = 0; c < n; c++) {
      const r = b.length++;
      const s = order[c]!;
      const code = dCode[s]!;
      const date = dDate[s]!;
      const age = ageAt(birth, date);
      pid[r] = p.id[i]!;
      adm[r] = date;
      dx[r] = code;
      hosp[r] = (rng.float() < 0.9 ? t.hospitalsByRegion[region]! : t.anyHospital).sample(rng);
      const pIn = Math.min(0.99, t.pIn[code]! * (age > 60 ? 1 + 0.01 * (age - 60) : 1));
      let stay = 0;
      if (rng.float() < pIn) {
        const mu = t.logMedian[code]! + (age > 50 ? 0.01 * (age - 50) : 0);
        stay = Math.max(1, Math.round(Math.exp(mu + 0.7 * rng.normal())));
        if (stay > MAX_LENGTH_OF_STAY) stay = MAX_LENGTH_OF_STAY;
      }
      los[r] = stay;
      sex[r] = p.sex[i]!;
      band[r] = ageBandIndex(age);
      reg[r] = region;
      const cat = t.category[code]!;
      let isFirst = 1;
      for (let j = 0; j < nSeen; j++) if (seen[j] === cat) { isFirst = 0; break; }
      if (isFirst) seen[nSeen++] = cat;
      first[r] = isFirst;
    }
  }
  const out = b.finish();
  return makeRegister(contactsSchema(o), b.length, new Map(cols.map((c, k) => [c, out[k]!])));
}

// ---------------------------------------------------------------------------------------------
// Prescriptions.

type Regimen = [atc: string, weight: number][];

/** Chronic treatment per condition: probability of being treated and the drug choices (one of each group). */
const TREATMENT: { bit: number; groups: [p: number, choices: Regimen][] }[] = [
  {
    bit: CONDITION.T2D,
    groups: [
      [0.8, [['A10BA02', 1]]],
      [0.3, [['A10BK01', 1], ['A10BK03', 1.5]]],
      [0.3, [['A10BJ06', 4], ['A10BJ02', 1], ['A10BJ05', 1]]],
      [0.1, [['A10BH01', 2], ['A10BH05', 1], ['A10BD07', 1]]],
      [0.06, [['A10BB12', 1], ['A10BB09', 1]]],
      [0.2, [['A10AE04', 2], ['A10AE06', 2], ['A10AE05', 1], ['A10AD05', 1]]],
      [0.7, [['C10AA05', 3], ['C10AA01', 2], ['C10AA07', 1]]],
      [0.5, [['C09AA05', 2], ['C09CA01', 2], ['C09AA02', 1]]],
    ],
  },
  {
    bit: CONDITION.T1D,
    groups: [
      [1, [['A10AE06', 2], ['A10AE04', 2], ['A10AE05', 1]]],
      [0.95, [['A10AB05', 3], ['A10AB04', 1], ['A10AB01', 0.3]]],
      [0.4, [['C10AA05', 2], ['C10AA01', 1]]],
    ],
  },
  {
    bit: CONDITION.HYPERTENSION,
    groups: [
      [0.65, [['C09AA05', 2], ['C09CA01', 2], ['C09AA02', 1], ['C09CA03', 0.5], ['C09CA06', 0.5]]],
      [0.45, [['C08CA01', 3], ['C08CA13', 0.5]]],
      [0.25, [['C03AB01', 1]]],
      [0.35, [['C10AA05', 2], ['C10AA01', 2], ['C10AA07', 0.5]]],
    ],
  },
  {
    bit: CONDITION.IHD,
    groups: [
      [0.8, [['B01AC06', 4], ['B01AC04', 1], ['B01AC24', 0.5]]],
      [0.9, [['C10AA05', 3], ['C10AA07', 1], ['C10AA01', 1]]],
      [0.6, [['C07AB02', 2], ['C07AB07', 1]]],
      [0.15, [['C01DA02', 1]]],
      [0.1, [['C10AX09', 1]]],
    ],
  },
  {
    bit: CONDITION.HEART_FAILURE,
    groups: [
      [0.8, [['C07AB07', 2], ['C07AB02', 1], ['C07AG02', 0.5]]],
      [0.7, [['C03CA01', 1]]],
      [0.6, [['C09AA05', 1], ['C09DX04', 0.6], ['C09CA01', 0.5]]],
      [0.35, [['C03DA01', 1]]],
      [0.3, [['A10BK01', 1], ['A10BK03', 1]]],
    ],
  },
  {
    bit: CONDITION.AF,
    groups: [
      [0.75, [['B01AF02', 3], ['B01AF01', 1.5], ['B01AE07', 0.5], ['B01AA03', 0.5]]],
      [0.6, [['C07AB02', 2], ['C07AB07', 1]]],
      [0.1, [['C01AA05', 1]]],
    ],
  },
  {
    bit: CONDITION.COPD,
    groups: [
      [0.8, [['R03AC02', 1]]],
      [0.6, [['R03BB04', 2], ['R03AL03', 1]]],
      [0.45, [['R03AK07', 2], ['R03AK06', 1]]],
    ],
  },
  {
    bit: CONDITION.ASTHMA,
    groups: [
      [0.9, [['R03AC02', 1]]],
      [0.5, [['R03BA02', 1], ['R03AK07', 1]]],
      [0.1, [['R03DC03', 1]]],
    ],
  },
  {
    bit: CONDITION.DEPRESSION,
    groups: [[0.75, [['N06AB06', 3.5], ['N06AB10', 2.5], ['N06AB04', 1.5], ['N06AX11', 1.5], ['N06AX16', 1], ['N06AX21', 0.5]]]],
  },
  { bit: CONDITION.CANCER, groups: [[0.3, [['N02AA05', 1], ['N02AA01', 1]]], [0.2, [['L02BA01', 1], ['L02BG04', 1], ['L02AE02', 1]]]] },
  { bit: CONDITION.HYPOTHYROID, groups: [[0.95, [['H03AA01', 1]]]] },
  { bit: CONDITION.CKD, groups: [[0.4, [['C03CA01', 1]]], [0.3, [['B03AA07', 1]]]] },
  { bit: CONDITION.DEMENTIA, groups: [[0.5, [['N06DA02', 2], ['N06DX01', 1]]], [0.2, [['N05AH04', 1]]]] },
  { bit: CONDITION.EPILEPSY, groups: [[0.85, [['N03AX14', 2], ['N03AX09', 2], ['N03AG01', 1]]]] },
  { bit: CONDITION.SCHIZOPHRENIA, groups: [[0.85, [['N05AH04', 1], ['N05AH03', 1.5], ['N05AX08', 1]]]] },
  { bit: CONDITION.ADHD, groups: [[0.6, [['N06BA04', 3], ['N06BA12', 1]]]] },
];

/** Background chronic drugs by age and sex: [fromAge, toAge, sex ('F'|'M'|''), probability, choices]. */
const BACKGROUND: [number, number, string, number, Regimen][] = [
  [40, 50, '', 0.03, [['C10AA05', 2], ['C10AA01', 2], ['C10AA07', 0.5]]],
  [50, 60, '', 0.09, [['C10AA05', 2], ['C10AA01', 2], ['C10AA07', 0.5]]],
  [60, 70, '', 0.18, [['C10AA05', 2], ['C10AA01', 2], ['C10AA07', 0.5]]],
  [70, 200, '', 0.27, [['C10AA05', 2], ['C10AA01', 2], ['C10AA07', 0.5]]],
  [15, 45, 'F', 0.25, [['G03AA07', 3], ['G03AC03', 1]]],
  [50, 70, 'F', 0.06, [['G03CA03', 1]]],
  [55, 200, '', 0.12, [['A02BC02', 2], ['A02BC01', 1], ['A02BC05', 1]]],
  [70, 200, '', 0.2, [['N02BE01', 1]]],
  [65, 200, 'F', 0.1, [['M05BA04', 1]]],
  [65, 200, '', 0.12, [['A12AX', 2], ['A11CC05', 1]]],
  [60, 200, 'M', 0.12, [['G04CA02', 1]]],
  [65, 200, '', 0.03, [['N02AX02', 1], ['N02AA05', 0.5]]],
  [40, 200, '', 0.02, [['M04AA01', 1]]],
  [60, 200, '', 0.05, [['N03AX12', 1], ['N03AX16', 1]]],
  [60, 200, '', 0.04, [['S01EE01', 2], ['S01ED01', 1]]],
  [70, 200, '', 0.06, [['A06AD65', 2], ['A06AD11', 1]]],
  [50, 200, '', 0.02, [['L04AX03', 1]]],
  [25, 200, '', 0.02, [['N05CH01', 1], ['N05CF01', 1]]],
];

/** Acute prescriptions a year by age, and the drugs with [weight, min DDD, max DDD]. */
const ACUTE_RX_RATE: [number, number][] = [[0, 0.9], [5, 0.5], [15, 0.6], [45, 0.7], [65, 1.0], [80, 1.3]];
const ACUTE_RX: [atc: string, weight: number, minDdd: number, maxDdd: number, fromAge: number, sex: string][] = [
  ['J01CE02', 10, 5, 10, 0, ''], ['J01CA04', 3, 5, 10, 0, ''], ['J01CR02', 2, 5, 10, 0, ''], ['J01CA08', 3, 3, 5, 12, 'F'],
  ['J01XE01', 1.5, 3, 5, 12, 'F'], ['J01EA01', 1.5, 3, 7, 12, ''], ['J01FA09', 1, 5, 7, 0, ''], ['J01FA10', 0.8, 3, 5, 0, ''],
  ['J01AA02', 1, 7, 14, 12, ''], ['J01MA02', 0.7, 3, 10, 18, ''], ['J01CF05', 1, 5, 10, 0, ''], ['J05AB11', 0.5, 3, 7, 12, ''],
  ['N02BE01', 3, 10, 50, 0, ''], ['M01AE01', 3, 10, 30, 12, ''], ['M01AE02', 1, 10, 30, 15, ''], ['M01AB05', 1, 10, 20, 15, ''],
  ['N02AX02', 1, 5, 20, 18, ''], ['N02CC01', 0.7, 3, 12, 15, ''], ['R05DA04', 0.5, 5, 10, 18, ''], ['H02AB06', 1, 5, 30, 5, ''],
  ['R06AE07', 1.5, 10, 60, 2, ''], ['R06AX27', 1.2, 10, 60, 2, ''], ['R06AX13', 0.8, 10, 60, 2, ''], ['D07AC01', 1.2, 5, 30, 0, ''],
  ['D07AB02', 1, 5, 30, 0, ''], ['S01AA01', 1, 3, 10, 0, ''], ['N05CF01', 0.8, 5, 30, 18, ''], ['N05BA04', 0.6, 5, 30, 18, ''],
  ['A02BC02', 1, 14, 56, 18, ''], ['N07BA01', 0.4, 10, 60, 18, ''],
];

interface RxTables {
  treatment: { bit: number; groups: [number, Sampler][] }[];
  background: [number, number, number, number, Sampler][]; // sex as code index or −1
  acuteBands: Sampler[]; // by (age band 0..17) × sex: index band*2+sex
  acuteMin: Float64Array; // by atc index
  acuteMax: Float64Array;
}

function rxTables(): RxTables {
  const S = (r: Regimen) => codeSampler(atcList, r);
  const sexIdx = (s: string) => (s === '' ? -1 : codeIndex(sexList, s));
  const acuteMin = new Float64Array(atcList.codes.length);
  const acuteMax = new Float64Array(atcList.codes.length);
  for (const [c, , lo, hi] of ACUTE_RX) {
    acuteMin[codeIndex(atcList, c)] = lo;
    acuteMax[codeIndex(atcList, c)] = hi;
  }
  const acuteBands: Sampler[] = [];
  for (let band = 0; band < 18; band++) {
    for (let s = 0; s < sexList.codes.length; s++) {
      const age = band * 5 + 2;
      const ok = ACUTE_RX.filter(([, , , , from, sx]) => age >= from && (sx === '' || codeIndex(sexList, sx) === s));
      acuteBands.push(codeSampler(atcList, ok.map(([c, w]) => [c, w])));
    }
  }
  return {
    treatment: TREATMENT.map((t) => ({ bit: t.bit, groups: t.groups.map(([pr, r]): [number, Sampler] => [pr, S(r)]) })),
    background: BACKGROUND.map(([a, b, s, pr, r]): [number, number, number, number, Sampler] => [a, b, sexIdx(s), pr, S(r)]),
    acuteBands,
    acuteMin,
    acuteMax,
  };
}

/** Appends atc to drugs[0 … nd) unless present; returns the new count. */
function addDistinct(drugs: Int32Array, nd: number, atc: number): number {
  for (let j = 0; j < nd; j++) if (drugs[j] === atc) return nd;
  if (nd < drugs.length) drugs[nd++] = atc;
  return nd;
}

/** Common chronic pack sizes in DDD; a dispensing lasts about that many days (with 0.9–1.3 adherence). */
const PACKS = [30, 50, 90, 98, 100, 100, 100, 120];

function generatePrescriptions(o: Required<GenerateOptions>, p: People, t: RxTables): Register {
  const rng = new Rng(o.seed, 3);
  const start = daysFromCivil(o.prescriptionFromYear, 1, 1);
  const end = daysFromCivil(o.toYear, 12, 31);
  const years = (end - start + 1) / 365.25;
  const cols = ['person_id', 'date', 'atc', 'amount', 'sex', 'age_band', 'region'];
  const b = new TableBuilder(['f64', 'i32', 'i32', 'f64', 'i32', 'i32', 'i32'], p.count * 6 * years * o.prescriptionRate);
  const drugs = new Int32Array(64);
  const rDate = new Int32Array(SCRATCH_ROWS);
  const rAtc = new Int32Array(SCRATCH_ROWS);
  const rAmt = new Float64Array(SCRATCH_ROWS);
  const order = new Int32Array(SCRATCH_ROWS);
  const acuteRate = Array.from({ length: MAX_AGE + 2 }, (_, a) => byAge(ACUTE_RX_RATE, a));

  for (let i = 0; i < p.count; i++) {
    const birth = p.birth[i]!;
    const from = Math.max(start, birth);
    const to = p.emigrated[i]! >= 0 ? p.emigrated[i]! : end;
    if (to < from) continue;
    const span = to - from + 1;
    const age = ageAt(birth, from + (span >> 1));
    const cond = p.conditions[i]!;
    const sex = p.sex[i]!;

    // The person's chronic drugs (distinct ATC codes).
    let nd = 0;
    if (cond) {
      for (let k = 0; k < t.treatment.length; k++) {
        const tr = t.treatment[k]!;
        if (!(cond & tr.bit)) continue;
        for (let g = 0; g < tr.groups.length; g++) if (rng.float() < tr.groups[g]![0]) nd = addDistinct(drugs, nd, tr.groups[g]![1].sample(rng));
      }
    }
    for (let k = 0; k < t.background.length; k++) {
      const bg = t.background[k]!;
      if (age >= bg[0] && age < bg[1] && (bg[2] < 0 || bg[2] === sex) && rng.float() < bg[3] * o.prescriptionRate) nd = addDistinct(drugs, nd, bg[4].sample(rng));
    }

    let m = 0;
    for (let j = 0; j < nd; j++) {
      const pack = PACKS[rng.int(PACKS.length)]!;
      const every = pack * (0.9 + 0.4 * rng.float());
      let d = from + rng.float() * every;
      while (d <= to && m < MAX_PRESCRIPTIONS_PER_PERSON) {
        rDate[m] = Math.floor(d);
        rAtc[m] = drugs[j]!;
        rAmt[m] = pack;
        m++;
        d += every * (0.95 + 0.1 * rng.float());
      }
    }
    const nAcute = rng.poisson(acuteRate[Math.min(age, MAX_AGE + 1)]! * (span / 365.25) * o.prescriptionRate * (cond ? 1.3 : 1));
    const sampler = t.acuteBands[ageBandIndex(age) * 2 + sex]!;
    for (let j = 0; j < nAcute && m < MAX_PRESCRIPTIONS_PER_PERSON; j++) {
      const atc = sampler.sample(rng);
      const lo = t.acuteMin[atc]!, hi = t.acuteMax[atc]!;
      rDate[m] = from + rng.int(span);
      rAtc[m] = atc;
      rAmt[m] = Math.round((lo + (hi - lo) * rng.float()) * 2) / 2; // half DDDs
      m++;
    }
    if (m === 0) continue;
    for (let c = 0; c < m; c++) {
      const d = rDate[c]!;
      let j = c - 1;
      while (j >= 0 && rDate[order[j]!]! > d) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = c;
    }
    b.reserve(m);
    const cs = b.cols;
    const pid = cs[0] as Float64Array, date = cs[1] as Int32Array, atc = cs[2] as Int32Array, amount = cs[3] as Float64Array;
    const sx = cs[4] as Int32Array, band = cs[5] as Int32Array, reg = cs[6] as Int32Array;
    for (let c = 0; c < m; c++) {
      const r = b.length++;
      const s = order[c]!;
      pid[r] = p.id[i]!;
      date[r] = rDate[s]!;
      atc[r] = rAtc[s]!;
      amount[r] = Math.min(rAmt[s]!, MAX_AMOUNT);
      sx[r] = sex;
      band[r] = ageBandIndex(ageAt(birth, rDate[s]!));
      reg[r] = p.region[i]!;
    }
  }
  const out = b.finish();
  return makeRegister(prescriptionsSchema(o), b.length, new Map(cols.map((c, k) => [c, out[k]!])));
}

// ---------------------------------------------------------------------------------------------
// Follow-up: deaths and emigrations of residents after the census.

/** Mortality hazard ratios of chronic conditions (proportional hazards). */
const DEATH_HR: [number, number][] = [
  [CONDITION.T2D, 1.9], [CONDITION.HEART_FAILURE, 2.2], [CONDITION.COPD, 1.9], [CONDITION.CANCER, 3],
  [CONDITION.DEMENTIA, 2.5], [CONDITION.CKD, 1.6], [CONDITION.IHD, 1.4],
];
/** Causes of death: [condition flag (0 = anyone), ICD-10 code, weight]. */
const DEATH_CAUSES: [number, string, number][] = [
  [0, 'I21', 1.2], [0, 'I64', 1.2], [0, 'J18.9', 1], [0, 'C34', 1], [0, 'C18', 0.5], [0, 'I48', 0.3], [0, 'K70', 0.2], [0, 'C25', 0.3],
  [CONDITION.IHD, 'I25', 3], [CONDITION.HEART_FAILURE, 'I50', 4], [CONDITION.COPD, 'J44', 4], [CONDITION.CANCER, 'C34', 3],
  [CONDITION.CANCER, 'C50', 1.5], [CONDITION.CANCER, 'C61', 1.5], [CONDITION.DEMENTIA, 'F03', 3], [CONDITION.DEMENTIA, 'G30', 1.5],
  [CONDITION.T2D, 'E11', 1.5], [CONDITION.CKD, 'N18', 1.5],
];

/** Yearly mortality of a person aged `age` without conditions (women; Gompertz). */
const gompertz = (age: number): number => Math.exp(-10.85 + 0.094 * age);

function generateFollowUp(o: Required<GenerateOptions>, p: People): void {
  const rng = new Rng(o.seed, 5);
  const census = daysFromCivil(o.toYear, 12, 31);
  const end = daysFromCivil(o.toYear + o.followUpYears, 12, 31);
  const M = codeIndex(sexList, 'M');
  const causes = DEATH_CAUSES.map(([bit, code, w]) => [bit, codeIndex(icd10List, code), w] as const);
  for (let i = 0; i < p.residents; i++) {
    const cond = p.conditions[i]!;
    let rel = (p.sex[i] === M ? 1.45 : 1) * Math.exp(-0.15 * p.ses[i]!);
    for (const [bit, hr] of DEATH_HR) if (cond & bit) rel *= hr;
    const age0 = ageAt(p.birth[i]!, census);
    const emig = 0.005 * (age0 >= 20 && age0 < 35 ? 3 : age0 >= 60 ? 0.3 : 1);
    // Year by year (the hazard at the age reached), exponential waiting times within a year.
    for (let t = census + 1, a = age0; t <= end; t += 365, a++) {
      const hd = rel * gompertz(a), len = Math.min(365, end - t + 1);
      const td = (-Math.log(1 - rng.float()) / hd) * 365.25, te = (-Math.log(1 - rng.float()) / emig) * 365.25;
      if (td < len && td <= te) {
        p.died[i] = t + Math.floor(td);
        let tot = 0;
        for (const [bit, , w] of causes) if (bit === 0 || cond & bit) tot += w;
        let u = rng.float() * tot;
        for (const [bit, code, w] of causes) {
          if (bit !== 0 && !(cond & bit)) continue;
          if ((u -= w) < 0) {
            p.cause[i] = code;
            break;
          }
        }
        if (p.cause[i]! < 0) p.cause[i] = causes[0]![1];
        break;
      }
      if (te < len) {
        p.left[i] = t + Math.floor(te);
        break;
      }
    }
  }
}

/** One row per resident with an event date (≥ 0): the person id, the date, and further columns. */
function eventRegister(schema: DatasetSchema, p: People, date: [string, Int32Array], more: [string, Int32Array][] = []): Register {
  const rows: number[] = [];
  for (let i = 0; i < p.residents; i++) if (date[1][i]! >= 0) rows.push(i);
  const plain = new Map<string, PlainColumn>([
    ['person_id', Float64Array.from(rows, (i) => p.id[i]!)],
    ...[date, ...more].map(([name, col]) => [name, Int32Array.from(rows, (i) => col[i]!)] as [string, PlainColumn]),
  ]);
  return makeRegister(schema, rows.length, plain);
}

const deathsRegister = (o: Required<GenerateOptions>, p: People): Register => eventRegister(deathsSchema(o), p, ['death_date', p.died], [['cause', p.cause]]);
const emigrationsRegister = (o: Required<GenerateOptions>, p: People): Register => eventRegister(emigrationsSchema(o), p, ['emigration_date', p.left]);

// ---------------------------------------------------------------------------------------------
// Population and income.

function populationRegister(o: Required<GenerateOptions>, p: People): Register {
  const n = p.residents;
  const band = new Int32Array(n); // age on toYear-12-31 = toYear − birth year
  for (let i = 0; i < n; i++) band[i] = ageBandIndex(o.toYear - civilFromDays(p.birth[i]!)[0]);
  const plain = new Map<string, PlainColumn>([
    ['person_id', p.id.slice(0, n)],
    ['sex', p.sex.slice(0, n)],
    ['birth_date', p.birth.slice(0, n)],
    ['region', p.region.slice(0, n)],
    ['municipality', p.municipality.slice(0, n)],
    ['age_band', band],
  ]);
  return makeRegister(populationSchema(o), n, plain);
}

function generateIncome(o: Required<GenerateOptions>, p: People): Register {
  const rng = new Rng(o.seed, 4);
  const years = [...o.incomeYears].sort((a, b) => a - b);
  const cols = ['person_id', 'year', 'income', 'education', 'sex', 'age_band', 'region'];
  const b = new TableBuilder(['f64', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], p.residents * years.length * 0.9);
  const eduMult = new Float64Array(educationList.codes.length);
  for (const [c, v] of Object.entries(EDU_INCOME)) eduMult[codeIndex(educationList, c)] = Math.log(v);
  const logMedian = Array.from({ length: MAX_AGE + 20 }, (_, a) => Math.log(lerpAge(INCOME_MEDIAN, a)));
  const F = codeIndex(sexList, 'F');
  for (let i = 0; i < p.residents; i++) {
    if (p.noIncome[i]) continue;
    const birthYear = civilFromDays(p.birth[i]!)[0];
    if (years[years.length - 1]! - birthYear < 15) continue;
    const z = p.ses[i]!;
    const female = p.sex[i] === F;
    const personal = rng.normal();
    const lowSpell = rng.float();
    b.reserve(years.length);
    const cs = b.cols;
    const pid = cs[0] as Float64Array, yr = cs[1] as Int32Array, inc = cs[2] as Int32Array, edu = cs[3] as Int32Array;
    const sx = cs[4] as Int32Array, band = cs[5] as Int32Array, reg = cs[6] as Int32Array;
    for (const y of years) {
      const age = y - birthYear;
      if (age < 15) continue;
      const working = age >= 25 && age < 67;
      const sexMult = female ? (working ? 0.82 : age >= 67 ? 0.9 : 0.95) : 1;
      const sigma = working ? 0.45 : age >= 67 ? 0.3 : 0.7;
      const mu = logMedian[age]! + Math.log(sexMult) + (working ? 1 : 0.5) * eduMult[p.education[i]!]! + 0.12 * z + Math.log(1.03) * (y - 2023);
      let x = Math.exp(mu + sigma * (0.8 * personal + 0.6 * rng.normal()));
      if (working && lowSpell < 0.03) x *= 0.15 + 0.3 * rng.float(); // students, unemployed, leave
      const income = Math.min(MAX_INCOME, Math.max(0, Math.round(x)));
      const r = b.length++;
      pid[r] = p.id[i]!;
      yr[r] = y;
      inc[r] = income;
      edu[r] = p.education[i]!;
      sx[r] = p.sex[i]!;
      band[r] = ageBandIndex(age);
      reg[r] = p.region[i]!;
    }
  }
  const out = b.finish();
  const plain = new Map(cols.map((c, k) => [c, out[k]!]));
  plain.set('income_quintile', incomeQuintiles(out[1] as Int32Array, out[2] as Int32Array, b.length));
  return makeRegister(incomeSchema({ fromYear: o.fromYear, toYear: o.toYear }), b.length, plain);
}

/** Quintile (1–5) of each row's income among the rows of its year, as the statistics office publishes it. */
function incomeQuintiles(year: Int32Array, income: Int32Array, n: number): Int32Array {
  const q = new Int32Array(n);
  for (const y of new Set(year.subarray(0, n))) {
    const rows: number[] = [];
    for (let r = 0; r < n; r++) if (year[r] === y) rows.push(r);
    rows.sort((a, b) => income[a]! - income[b]! || a - b);
    rows.forEach((r, k) => (q[r] = 1 + Math.floor((5 * k) / rows.length)));
  }
  return q;
}

// ---------------------------------------------------------------------------------------------

export function resolveOptions(opts: GenerateOptions = {}): Required<GenerateOptions> {
  const toYear = opts.toYear ?? DEFAULT_PERIOD.toYear;
  const fromYear = opts.fromYear ?? (opts.toYear === undefined ? DEFAULT_PERIOD.fromYear : toYear - 2);
  const o: Required<GenerateOptions> = {
    citizens: opts.citizens ?? 100_000,
    seed: opts.seed ?? 1,
    fromYear,
    toYear,
    prescriptionFromYear: opts.prescriptionFromYear ?? toYear,
    incomeYears: opts.incomeYears ?? [Math.max(fromYear, toYear - 1)],
    emigrantShare: opts.emigrantShare ?? 0.01,
    incomeMissingShare: opts.incomeMissingShare ?? 0.01,
    contactRate: opts.contactRate ?? 1,
    prescriptionRate: opts.prescriptionRate ?? 1,
    followUpYears: opts.followUpYears ?? 2,
  };
  if (!Number.isInteger(o.followUpYears) || o.followUpYears < 1 || o.followUpYears > 30) throw new RangeError('followUpYears must be an integer in 1..30');
  if (!Number.isInteger(o.citizens) || o.citizens < 1) throw new RangeError('citizens must be a positive integer');
  if (!(fromYear <= toYear) || fromYear < 1901 || toYear > 2100) throw new RangeError('need 1901 ≤ fromYear ≤ toYear ≤ 2100');
  if (o.prescriptionFromYear < fromYear || o.prescriptionFromYear > toYear) throw new RangeError('prescriptionFromYear must lie in the period');
  for (const y of o.incomeYears) if (!Number.isInteger(y) || y < fromYear || y > toYear) throw new RangeError(`income year ${y} is outside the period`);
  if (new Set(o.incomeYears).size !== o.incomeYears.length || o.incomeYears.length === 0) throw new RangeError('incomeYears must be distinct and non-empty');
  return o;
}

/** Generates the four registers for `citizens` residents (plus emigrants), deterministically from `seed`. */
export function generateRegisters(opts: GenerateOptions = {}): Registers {
  const o = resolveOptions(opts);
  const timings: Record<string, number> = {};
  const timed = <T>(name: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    timings[name] = Math.round(performance.now() - t0);
    return r;
  };
  const people = timed('people', () => generatePeople(o, Math.round(o.citizens * o.emigrantShare)));
  const population = timed('population', () => populationRegister(o, people));
  const contacts = timed('contacts', () => generateContacts(o, people, contactTables()));
  const prescriptions = timed('prescriptions', () => generatePrescriptions(o, people, rxTables()));
  const income = timed('income', () => generateIncome(o, people));
  timed('follow-up', () => generateFollowUp(o, people));
  const deaths = deathsRegister(o, people);
  const emigrations = emigrationsRegister(o, people);
  return {
    options: o, codeLists: demoCodeLists(), people, population, contacts, prescriptions, income, deaths, emigrations,
    all: [population, contacts, prescriptions, income, deaths, emigrations], timings,
  };
}

/** The text of one value as the CSV holds it (dates YYYY-MM-DD, codes as codes, CPR numbers as 10 digits). */
export function valueText(reg: Register, column: string, row: number, codeLists: Map<string, CodeList>): string {
  const spec = reg.schema.columns.find((c) => c.name === column);
  const plain = reg.plain.get(column);
  if (!spec || !plain) throw new Error(`${reg.schema.name} has no column ${column}`);
  const v = plain[row]!;
  switch (spec.type) {
    case 'person_id':
      return String(v).padStart(10, '0');
    case 'date': {
      const [y, m, d] = civilFromDays(v);
      return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    }
    case 'code':
      return codeLists.get(spec.codeList ?? '')!.codes[v]!;
    case 'bool':
      return v ? 'true' : 'false';
    default:
      return String(v);
  }
}

export { MAX_AGE, MAX_AMOUNT, MAX_INCOME, MAX_LENGTH_OF_STAY, ageBandList };
