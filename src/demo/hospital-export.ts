// The synthetic registers (./registers.ts) as a hospital would export them, for tests and benchmarks
// of `mosaik ingest --format fhir | omop`: the same persons, contacts and prescriptions as the
// registers' CSV, so that src/demo/hospital-registers.ts must give back exactly the registers.
//   FHIR R4 Bulk Data  Patient, Organization (the hospitals), Encounter, Condition (the action
//                      diagnosis, rank 1), MedicationRequest (or MedicationStatement), Observation
//                      (an HbA1c per diabetes contact, LOINC 4548-4), one NDJSON file per type
//   OMOP CDM 5.4       person, location (the municipalities), observation_period, death (empty:
//                      the registers have no deaths), care_site, visit_occurrence,
//                      condition_occurrence, drug_exposure, measurement, as CSV with a header
// Every person of the registers is a patient, emigrants included: their Danish address ends (FHIR
// address.period.end) or their observation ends (OMOP) the day before they left, so they are in
// contacts and prescriptions but not in population. Files are written with synchronous 1 MiB
// writes; a million rows take a few seconds.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PERSON_SYSTEM } from '../ingest/person-system.js';
import { TARGET_SYSTEMS } from '../ingest/code-map.js';
import { OMOP_CONCEPTS } from '../ingest/omop.js';
import { dayText } from '../ingest/hospital-records.js';
import { daysFromCivil } from '../ingest/schema.js';
import { MUNICIPALITIES } from './codelists.js';
import type { Registers } from './registers.js';

export interface HospitalExportOptions {
  /** FHIR: write medication as MedicationRequest (default) or MedicationStatement. */
  medication?: 'MedicationRequest' | 'MedicationStatement';
  /** Write these ICD-10 diagnoses in another code system (FHIR: its system URI; OMOP: the source value and concept id). */
  recode?: Map<string, { system: string; code: string; concept: string }>;
}

/** Appends lines to a file in 1 MiB writes. */
class LineFile {
  private readonly fd: number;
  private buf: string[] = [];
  private size = 0;
  lines = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  add(line: string): void {
    this.buf.push(line);
    this.size += line.length + 1;
    this.lines++;
    if (this.size > 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** What both exports need of the registers: each row's person (index into people), names of codes. */
function prepare(regs: Registers) {
  const p = regs.people;
  const index = new Map<number, number>();
  for (let i = 0; i < p.count; i++) index.set(p.id[i]!, i);
  const list = (name: string) => regs.codeLists.get(name)!.codes;
  const [sex, region, muni, icd, atc, hospital] = ['sex', 'region', 'municipality', 'icd10', 'atc', 'hospital'].map(list) as string[][];
  const c = regs.contacts.plain, rx = regs.prescriptions.plain;
  return {
    p, sex: sex!, region: region!, muni: muni!, icd: icd!, atc: atc!, hospital: hospital!,
    cpr: (i: number) => String(p.id[i]).padStart(10, '0'),
    contact: (r: number) => ({ person: index.get(c.get('person_id')![r]!)!, start: c.get('admission_date')![r]!, stay: c.get('length_of_stay')![r]!, dx: icd![c.get('diagnosis')![r]!]!, hospital: c.get('hospital')![r]! }),
    prescription: (r: number) => ({ person: index.get(rx.get('person_id')![r]!)!, date: rx.get('date')![r]!, atc: atc![rx.get('atc')![r]!]!, amount: rx.get('amount')![r]! }),
    census: daysFromCivil(regs.options.toYear, 12, 31),
    periodStart: daysFromCivil(regs.options.fromYear, 1, 1),
  };
}

/** An HbA1c for contacts with a diabetes diagnosis (deterministic, mmol/mol). */
const hba1c = (dx: string, r: number): number | null => (dx.startsWith('E10') || dx.startsWith('E11') ? 42 + (r % 40) : null);

/** Writes a FHIR Bulk Data export of the registers into `dir`; returns the files written. */
export function writeFhirExport(regs: Registers, dir: string, opts: HospitalExportOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const x = prepare(regs);
  const { p } = x;
  const files: LineFile[] = [];
  const file = (name: string) => {
    const f = new LineFile(join(dir, `${name}.ndjson`));
    files.push(f);
    return f;
  };
  const patients = file('Patient');
  for (let i = 0; i < p.count; i++) {
    const gone = p.emigrated[i]! >= 0;
    const home = { use: 'home', district: x.muni[p.municipality[i]!], state: x.region[p.region[i]!], country: 'DK', ...(gone ? { period: { end: dayText(p.emigrated[i]! - 1) } } : {}) };
    patients.add(JSON.stringify({
      resourceType: 'Patient', id: `p${i}`,
      identifier: [{ system: DEFAULT_PERSON_SYSTEM, value: x.cpr(i) }],
      gender: x.sex[p.sex[i]!] === 'F' ? 'female' : 'male', birthDate: dayText(p.birth[i]!),
      address: gone ? [home, { use: 'home', country: 'SE', period: { start: dayText(p.emigrated[i]!) } }] : [home],
    }));
  }
  const orgs = file('Organization');
  x.hospital.forEach((name, k) => orgs.add(JSON.stringify({ resourceType: 'Organization', id: `h${k}`, name })));
  const encounters = file('Encounter');
  const conditions = file('Condition');
  const observations = file('Observation');
  for (let r = 0; r < regs.contacts.length; r++) {
    const c = x.contact(r);
    const subject = { reference: `Patient/p${c.person}` };
    const start = dayText(c.start);
    encounters.add(JSON.stringify({
      resourceType: 'Encounter', id: `e${r}`, status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: c.stay > 0 ? 'IMP' : 'AMB' },
      subject, period: { start, end: dayText(c.start + c.stay) },
      serviceProvider: { reference: `Organization/h${c.hospital}` },
      diagnosis: [{ condition: { reference: `Condition/c${r}` }, rank: 1 }],
    }));
    const other = opts.recode?.get(c.dx);
    conditions.add(JSON.stringify({
      resourceType: 'Condition', id: `c${r}`, subject, encounter: { reference: `Encounter/e${r}` }, recordedDate: start,
      code: { coding: [other ? { system: other.system, code: other.code } : { system: TARGET_SYSTEMS.icd10.uri, code: c.dx }] },
    }));
    const v = hba1c(c.dx, r);
    if (v !== null) {
      observations.add(JSON.stringify({
        resourceType: 'Observation', id: `o${r}`, status: 'final', subject, effectiveDateTime: `${start}T09:00:00+01:00`,
        code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] }, valueQuantity: { value: v, unit: 'mmol/mol', system: 'http://unitsofmeasure.org', code: 'mmol/mol' },
      }));
    }
  }
  const type = opts.medication ?? 'MedicationRequest';
  const meds = file(type);
  for (let r = 0; r < regs.prescriptions.length; r++) {
    const m = x.prescription(r);
    const base = { resourceType: type, id: `m${r}`, subject: { reference: `Patient/p${m.person}` }, medicationCodeableConcept: { coding: [{ system: TARGET_SYSTEMS.atc.uri, code: m.atc }] } };
    const dose = { value: m.amount, unit: 'DDD' };
    meds.add(JSON.stringify(type === 'MedicationRequest'
      ? { ...base, status: 'completed', intent: 'order', authoredOn: dayText(m.date), dispenseRequest: { quantity: dose } }
      : { ...base, status: 'completed', effectiveDateTime: dayText(m.date), dosage: [{ doseAndRate: [{ doseQuantity: dose }] }] }));
  }
  for (const f of files) f.close();
  return files.map((f) => f.path);
}

/** CSV fields (quoted only when needed). */
const csv = (fields: (string | number)[]) => fields.map((f) => (typeof f === 'string' && /[",\n\r]/.test(f) ? `"${f.replace(/"/g, '""')}"` : String(f))).join(',');

/** The OMOP CDM 5.4 columns written for each table (those a CDM database has; unused ones empty). */
const COLUMNS = {
  person: ['person_id', 'gender_concept_id', 'year_of_birth', 'month_of_birth', 'day_of_birth', 'birth_datetime', 'race_concept_id', 'ethnicity_concept_id', 'location_id', 'provider_id', 'care_site_id', 'person_source_value', 'gender_source_value', 'gender_source_concept_id', 'race_source_value', 'race_source_concept_id', 'ethnicity_source_value', 'ethnicity_source_concept_id'],
  location: ['location_id', 'address_1', 'address_2', 'city', 'state', 'zip', 'county', 'location_source_value', 'country_concept_id', 'country_source_value', 'latitude', 'longitude'],
  observation_period: ['observation_period_id', 'person_id', 'observation_period_start_date', 'observation_period_end_date', 'period_type_concept_id'],
  death: ['person_id', 'death_date', 'death_datetime', 'death_type_concept_id', 'cause_concept_id', 'cause_source_value', 'cause_source_concept_id'],
  care_site: ['care_site_id', 'care_site_name', 'place_of_service_concept_id', 'location_id', 'care_site_source_value', 'place_of_service_source_value'],
  visit_occurrence: ['visit_occurrence_id', 'person_id', 'visit_concept_id', 'visit_start_date', 'visit_start_datetime', 'visit_end_date', 'visit_end_datetime', 'visit_type_concept_id', 'provider_id', 'care_site_id', 'visit_source_value', 'visit_source_concept_id', 'admitted_from_concept_id', 'admitted_from_source_value', 'discharged_to_concept_id', 'discharged_to_source_value', 'preceding_visit_occurrence_id'],
  condition_occurrence: ['condition_occurrence_id', 'person_id', 'condition_concept_id', 'condition_start_date', 'condition_start_datetime', 'condition_end_date', 'condition_end_datetime', 'condition_type_concept_id', 'condition_status_concept_id', 'stop_reason', 'provider_id', 'visit_occurrence_id', 'visit_detail_id', 'condition_source_value', 'condition_source_concept_id', 'condition_status_source_value'],
  drug_exposure: ['drug_exposure_id', 'person_id', 'drug_concept_id', 'drug_exposure_start_date', 'drug_exposure_start_datetime', 'drug_exposure_end_date', 'drug_exposure_end_datetime', 'verbatim_end_date', 'drug_type_concept_id', 'stop_reason', 'refills', 'quantity', 'days_supply', 'sig', 'route_concept_id', 'lot_number', 'provider_id', 'visit_occurrence_id', 'visit_detail_id', 'drug_source_value', 'drug_source_concept_id', 'route_source_value', 'dose_unit_source_value'],
  measurement: ['measurement_id', 'person_id', 'measurement_concept_id', 'measurement_date', 'measurement_datetime', 'measurement_time', 'measurement_type_concept_id', 'operator_concept_id', 'value_as_number', 'value_as_concept_id', 'unit_concept_id', 'range_low', 'range_high', 'provider_id', 'visit_occurrence_id', 'visit_detail_id', 'measurement_source_value', 'measurement_source_concept_id', 'unit_source_value', 'unit_source_concept_id', 'value_source_value', 'measurement_event_id', 'meas_event_field_concept_id'],
} as const;

/** EHR as the source of a record (OMOP type concept). */
const EHR = 32817;

/** Writes the registers as OMOP CDM 5.4 tables (CSV) into `dir`; returns the files written. */
export function writeOmopExport(regs: Registers, dir: string, opts: HospitalExportOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const x = prepare(regs);
  const { p } = x;
  const files: LineFile[] = [];
  const table = <T extends keyof typeof COLUMNS>(name: T) => {
    const f = new LineFile(join(dir, `${name}.csv`));
    f.add(COLUMNS[name].join(','));
    files.push(f);
    return (row: Partial<Record<(typeof COLUMNS)[T][number], string | number>>) => f.add(csv(COLUMNS[name].map((c) => (row as Record<string, string | number>)[c] ?? '')));
  };
  const muniNumber = new Map(MUNICIPALITIES.map((m) => [m.name, m.number]));
  const location = table('location');
  for (const m of MUNICIPALITIES) location({ location_id: m.number, county: m.name, state: m.region, country_source_value: 'DK' });
  const person = table('person');
  const period = table('observation_period');
  for (let i = 0; i < p.count; i++) {
    const birth = dayText(p.birth[i]!);
    const male = x.sex[p.sex[i]!] === 'M';
    person({
      person_id: i + 1, gender_concept_id: male ? OMOP_CONCEPTS.male : OMOP_CONCEPTS.female,
      year_of_birth: Number(birth.slice(0, 4)), month_of_birth: Number(birth.slice(5, 7)), day_of_birth: Number(birth.slice(8, 10)), birth_datetime: `${birth} 00:00:00`,
      race_concept_id: 0, ethnicity_concept_id: 0, location_id: muniNumber.get(x.muni[p.municipality[i]!]!)!,
      person_source_value: x.cpr(i), gender_source_value: male ? 'M' : 'F',
    });
    const gone = p.emigrated[i]! >= 0;
    period({ observation_period_id: i + 1, person_id: i + 1, observation_period_start_date: dayText(Math.max(x.periodStart, p.birth[i]!)), observation_period_end_date: dayText(gone ? p.emigrated[i]! - 1 : x.census), period_type_concept_id: EHR });
  }
  table('death');
  const site = table('care_site');
  x.hospital.forEach((name, k) => site({ care_site_id: k + 1, care_site_name: name }));
  const visit = table('visit_occurrence');
  const condition = table('condition_occurrence');
  const measurement = table('measurement');
  for (let r = 0; r < regs.contacts.length; r++) {
    const c = x.contact(r);
    const [start, end] = [dayText(c.start), dayText(c.start + c.stay)];
    visit({ visit_occurrence_id: r + 1, person_id: c.person + 1, visit_concept_id: c.stay > 0 ? 9201 : 9202, visit_start_date: start, visit_end_date: end, visit_type_concept_id: EHR, care_site_id: c.hospital + 1 });
    const other = opts.recode?.get(c.dx);
    condition({
      condition_occurrence_id: r + 1, person_id: c.person + 1, condition_concept_id: other ? other.concept : 0, condition_start_date: start, condition_type_concept_id: EHR,
      condition_status_concept_id: OMOP_CONCEPTS.primaryDiagnosis, visit_occurrence_id: r + 1, condition_source_value: other ? other.code : c.dx, condition_source_concept_id: 0,
    });
    const v = hba1c(c.dx, r);
    if (v !== null) measurement({ measurement_id: r + 1, person_id: c.person + 1, measurement_concept_id: 3004410, measurement_date: start, measurement_type_concept_id: EHR, value_as_number: v, visit_occurrence_id: r + 1, measurement_source_value: '4548-4', unit_source_value: 'mmol/mol' });
  }
  const drug = table('drug_exposure');
  for (let r = 0; r < regs.prescriptions.length; r++) {
    const m = x.prescription(r);
    drug({ drug_exposure_id: r + 1, person_id: m.person + 1, drug_concept_id: 0, drug_exposure_start_date: dayText(m.date), drug_exposure_end_date: dayText(m.date), drug_type_concept_id: EHR, quantity: m.amount, drug_source_value: m.atc, drug_source_concept_id: 0 });
  }
  for (const f of files) f.close();
  return files.map((f) => f.path);
}
