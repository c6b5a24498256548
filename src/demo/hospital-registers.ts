// A hospital export (FHIR R4 Bulk Data or OMOP CDM 5.4, read into hospital records by
// src/ingest/fhir.ts and src/ingest/omop.ts) as the registers of ./schemas.ts, validated row by row
// with the core every input format shares (src/ingest/validate.ts), so the same data gives the
// same encoded columns as the registers' CSV:
//   population     every patient living in the country on the census date (toYear-12-31): not
//                  left before it (FHIR: the Danish address ended; OMOP: observation ended) and not
//                  dead; sex from gender (female F, male M), birth date, municipality and region of
//                  residence (names or official numbers; the region follows from the municipality
//                  when not given), age band on the census date (toYear − birth year)
//   contacts       one row per encounter: admission date, action diagnosis (ICD-10), hospital,
//                  length of stay (end − start, days), the patient's sex, age band at admission and
//                  region, and first_in_category: the patient's first contact (by date, then as read)
//                  in the diagnosis' 3-character ICD-10 category
//   prescriptions  one row per MedicationRequest / MedicationStatement / drug_exposure: date, ATC,
//                  amount (DDD), the patient's sex, age band on the date and region
// Ages are in whole years as the registers count them (ageAt in ./registers.ts). A patient's
// problems (a gender without a code, no Danish residence, an unknown municipality) are reported once
// at the patient's line; a diagnosis outside the registers' ICD-10 list at the diagnosis' own line;
// everything else at the row's encounter, medication or patient line, by the shared validator.
import { dayText, sortProblems, type HospitalRecords, type PatientRecord, type Position } from '../ingest/hospital-records.js';
import { excerpt, type CodeList, type DatasetSchema } from '../ingest/schema.js';
import { RowValidator, validationResult, type IngestValidation } from '../ingest/validate.js';
import { AGE_BANDS, ageBandIndex, demoCodeLists, MUNICIPALITIES, REGIONS } from './codelists.js';
import { daysFromCivil } from '../ingest/schema.js';
import { ageAt, civilFromDays } from './registers.js';
import { contactsSchema, DEFAULT_PERIOD, populationSchema, prescriptionsSchema, type RegisterPeriod } from './schemas.js';

/** The registers a hospital export fills. */
export const HOSPITAL_REGISTERS = ['population', 'contacts', 'prescriptions'] as const;
export type HospitalRegister = (typeof HOSPITAL_REGISTERS)[number];

export interface HospitalRegisterData {
  schema: DatasetSchema;
  validation: IngestValidation;
}

export interface HospitalRegisters {
  /** True when no problem was found anywhere in the export: only then do the registers have columns. */
  ok: boolean;
  registers: HospitalRegisterData[];
  codeLists: Map<string, CodeList>;
}

/** Whether the export has what a register is made of. */
function available(r: HospitalRecords, name: HospitalRegister): boolean {
  return name === 'population' ? r.has.patients : name === 'contacts' ? r.has.contacts : r.has.medications;
}

const SOURCES: Record<'fhir' | 'omop', Record<HospitalRegister, string>> = {
  fhir: { population: 'Patient resources', contacts: 'Encounter resources', prescriptions: 'MedicationRequest or MedicationStatement resources' },
  omop: { population: 'person rows', contacts: 'visit_occurrence rows', prescriptions: 'drug_exposure rows' },
};

interface Residence {
  sex: 'F' | 'M';
  region: string;
  municipality?: string;
}

const MUNICIPALITY_BY = new Map<string, (typeof MUNICIPALITIES)[number]>(MUNICIPALITIES.flatMap((m) => [[m.name.toLowerCase(), m], [String(m.number), m]]));
const REGION_BY = new Map<string, string>(REGIONS.flatMap((r) => [[r.code.toLowerCase(), r.code], [r.name.toLowerCase(), r.code], [String(r.number), r.code], [`dk-${r.number - 1000}`, r.code]]));

/**
 * Maps an export's records onto the registers (default: every one the export has data for).
 * Problems go to the records' problem log; nothing has columns unless the whole export is valid.
 */
export function hospitalRegisters(records: HospitalRecords, opts: { registers?: readonly HospitalRegister[]; period?: RegisterPeriod; bytes?: number } = {}): HospitalRegisters {
  const t0 = performance.now();
  const period = opts.period ?? DEFAULT_PERIOD;
  const codeLists = demoCodeLists();
  const log = records.problems;
  if (!records.complete) return { ok: false, registers: [], codeLists };
  const wanted = opts.registers ?? HOSPITAL_REGISTERS.filter((n) => available(records, n));
  if (wanted.length === 0) log.add({ line: 0, kind: 'format', file: records.files[0] ?? 'the export', message: `the export has none of ${Object.values(SOURCES[records.format]).join(', ')}` });
  const census = daysFromCivil(period.toYear, 12, 31);
  const icd10 = new Set(codeLists.get('icd10')!.codes);
  const residence = new Map<PatientRecord, Residence | null>();
  const where = records.format === 'fhir' ? 'Danish address (district and state)' : 'location (county and state)';

  /** The patient's sex and residence, or null after reporting why at the patient's line. */
  const resolve = (p: PatientRecord): Residence | null => {
    let r = residence.get(p);
    if (r !== undefined) return r;
    r = null;
    const sex = p.gender === 'female' ? 'F' : p.gender === 'male' ? 'M' : null;
    const muni = p.municipality !== undefined ? MUNICIPALITY_BY.get(p.municipality.trim().toLowerCase()) : undefined;
    const region = p.region !== undefined ? REGION_BY.get(p.region.trim().toLowerCase().replace(/^region /, '')) : undefined;
    if (sex === null) problem(p.at, `${excerpt(p.key, 60)}: gender ${excerpt(p.gender)} has no code in the registers' sex code list (F female, M male)`);
    else if (p.municipality === undefined && p.region === undefined) problem(p.at, `${excerpt(p.key, 60)} has no ${where}: the registers need the region of residence`);
    else if (p.municipality !== undefined && !muni) problem(p.at, `${excerpt(p.key, 60)}: ${excerpt(p.municipality)} is not a Danish municipality (a name of code list municipality, or its official number)`);
    else if (p.region !== undefined && !region) problem(p.at, `${excerpt(p.key, 60)}: ${excerpt(p.region)} is not a Danish region (a name of code list region, or its official number 1081–1085)`);
    else if (muni && region && muni.region !== region) problem(p.at, `${excerpt(p.key, 60)}: the municipality ${muni.name} lies in region ${muni.region}, not ${region}`);
    else r = { sex, region: region ?? muni!.region, ...(muni ? { municipality: muni.name } : {}) };
    residence.set(p, r);
    return r;
  };
  function problem(at: Position, message: string): void {
    log.add({ file: at.file, line: at.line, kind: 'value', message });
  }

  const registers: HospitalRegisterData[] = [];
  for (const name of wanted) {
    const schema = name === 'population' ? populationSchema(period) : name === 'contacts' ? contactsSchema(period) : prescriptionsSchema(period);
    if (!available(records, name)) {
      log.add({ line: 0, kind: 'format', file: records.files[0] ?? 'the export', message: `the export has no ${SOURCES[records.format][name]}: it cannot fill the register ${name}` });
      continue;
    }
    const v = new RowValidator(schema, codeLists, { problems: log, unit: 'line', expectedRows: name === 'population' ? records.patients.length : name === 'contacts' ? records.contacts.length : records.medications.length });
    v.startRecords();
    const position = new Map(schema.columns.map((c, i) => [c.name, i]));
    const vals: unknown[] = new Array(schema.columns.length);
    const put = (column: string, x: unknown) => (vals[position.get(column)!] = x);
    const row = (at: Position) => {
      log.file = at.file;
      v.values(vals, at.line);
    };
    if (name === 'population') {
      for (const p of records.patients) {
        if ((p.leftOn !== undefined && p.leftOn <= census) || (p.diedOn !== undefined && !(p.diedOn > census))) continue;
        const r = resolve(p);
        if (!r) continue;
        if (r.municipality === undefined) {
          problem(p.at, `${excerpt(p.key, 60)} has no municipality (${records.format === 'fhir' ? 'address.district' : 'location.county'}): the population register holds it`);
          continue;
        }
        put('person_id', p.personId);
        put('sex', r.sex);
        put('birth_date', dayText(p.birthDate));
        put('region', r.region);
        put('municipality', r.municipality);
        put('age_band', AGE_BANDS[ageBandIndex(period.toYear - civilFromDays(p.birthDate)[0])]);
        row(p.at);
      }
    } else if (name === 'contacts') {
      const first = firstInCategory(records);
      records.contacts.forEach((c, i) => {
        const r = resolve(c.patient);
        if (!icd10.has(c.diagnosis.code)) {
          problem(c.diagnosis.at, `the diagnosis ${excerpt(c.diagnosis.code)} (ICD-10) is not in the registers' code list icd10`);
          return;
        }
        if (!r) return;
        put('person_id', c.patient.personId);
        put('admission_date', dayText(c.start));
        put('diagnosis', c.diagnosis.code);
        put('hospital', c.hospital);
        put('length_of_stay', c.end - c.start);
        put('sex', r.sex);
        put('age_band', AGE_BANDS[ageBandIndex(ageAt(c.patient.birthDate, c.start))]);
        put('region', r.region);
        put('first_in_category', first[i] === 1);
        row(c.at);
      });
    } else {
      for (const m of records.medications) {
        const r = resolve(m.patient);
        if (!r) continue;
        put('person_id', m.patient.personId);
        put('date', dayText(m.date));
        put('atc', m.atc);
        put('amount', m.amount);
        put('sex', r.sex);
        put('age_band', AGE_BANDS[ageBandIndex(ageAt(m.patient.birthDate, m.date))]);
        put('region', r.region);
        row(m.at);
      }
    }
    log.file = undefined;
    if (v.rows === 0 && log.count === 0) log.add({ line: 0, kind: 'format', file: records.files[0] ?? 'the export', message: `no rows for the register ${name}${name === 'population' ? ` (no patient lived in the country on ${dayText(census)})` : ''}` });
    registers.push({ schema, validation: validationResult(v, { format: records.format, bytes: opts.bytes ?? 0, t0 }) });
  }
  sortProblems(log, records.files);
  return { ok: log.count === 0 && registers.length > 0, registers, codeLists };
}

/** Per contact: 1 when it is its patient's first (by date, then as read) in its 3-character ICD-10 category. */
function firstInCategory(records: HospitalRecords): Uint8Array {
  const byPatient = new Map<PatientRecord, number[]>();
  records.contacts.forEach((c, i) => {
    const l = byPatient.get(c.patient);
    if (l) l.push(i);
    else byPatient.set(c.patient, [i]);
  });
  const first = new Uint8Array(records.contacts.length);
  for (const list of byPatient.values()) {
    list.sort((a, b) => records.contacts[a]!.start - records.contacts[b]!.start || a - b);
    const seen = new Set<string>();
    for (const i of list) {
      const cat = records.contacts[i]!.diagnosis.code.slice(0, 3);
      if (!seen.has(cat)) {
        seen.add(cat);
        first[i] = 1;
      }
    }
  }
  return first;
}
