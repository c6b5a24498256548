// Reads a FHIR R4 Bulk Data export (`$export`: NDJSON, one resource per line, a file per resource
// type) into hospital records (./hospital-records.ts), which src/demo/hospital-registers.ts maps
// onto the registers. `mosaik ingest --format fhir <dir | files…>`: a directory means its *.ndjson
// files (the export's manifest and other files are left alone), read in name order.
//
// What is read (field names from the R4 types of @types/fhir):
//   Patient            the national person id: identifier[system = personSystem].value (default
//                      urn:oid:1.2.208.176.1.2, the Danish CPR system of HL7 Denmark's DK Core;
//                      --person-system names another); gender; birthDate; the Danish address
//                      (country DK or none, the current one before ended ones): district =
//                      municipality, state = region (names or official numbers), period.end = the
//                      day the person left; deceasedDateTime / deceasedBoolean
//   Encounter          subject; period.start and period.end (days; length of stay = end − start);
//                      serviceProvider (display, or a reference to an Organization: its name) = the
//                      hospital; diagnosis[] (condition, rank): the action diagnosis is rank 1
//   Condition          subject; encounter; code: the ICD-10 coding (http://hl7.org/fhir/sid/icd-10),
//                      or a coding the code map translates (./code-map.ts)
//   MedicationRequest  subject; authoredOn; medicationCodeableConcept or medicationReference (a
//                      Medication resource's code): ATC (http://www.whocc.no/atc) or mapped;
//                      dispenseRequest.quantity = the amount in defined daily doses (unit DDD, or none)
//   MedicationStatement  subject; effectiveDateTime, effectivePeriod.start or dateAsserted; the
//                      medication as above; dosage[0].doseAndRate[0].doseQuantity = the amount (DDD)
//   Observation        subject and effective[x] or issued, checked; no register holds observations
//   Organization, Medication  read for the references above
// Resources of other types are skipped and counted in a note; so is anything entered-in-error.
// Dates are the calendar day as written (a date-time's own day, whatever its offset); a partial date
// ('1980', '1980-04') is an error, as the registers need the day.
//
// Every problem is reported with its file and line: a line that is not JSON or not an object, a
// resource without resourceType or id, a missing or malformed field, a code in a system neither
// ICD-10/ATC nor in the code map, a reference to a resource that is not in the export. Lines are
// bounded (1 MiB, as `mosaik ingest` bounds CSV and JSON Lines lines), and text from the input is
// quoted as a short escaped excerpt.
import type { CodeableConcept, Coding as FhirCoding, Encounter, Medication, MedicationRequest, MedicationStatement, Observation, Organization, Patient, Quantity, Reference } from 'fhir/r4.js';
import { codeIn, type TargetSystem } from './code-map.js';
import { dayOf, exportFiles, HospitalRecordsBuilder, readExportFiles, type HospitalRecords, type Position, type ReadExportOptions } from './hospital-records.js';
import { DEFAULT_PERSON_SYSTEM } from './person-system.js';
import { excerpt } from './schema.js';
import { LineSplitter } from './lines.js';
import { lineTooLong, MAX_LINE_CHARS } from './validate.js';

/** Countries that count as the registers' own (Patient.address.country). */
const HOME_COUNTRIES = new Set(['DK', 'DNK', 'DENMARK', 'DANMARK']);

/** The files of an export directory that are read: the NDJSON files. */
export const FHIR_FILES = { wanted: (name: string) => /\.ndjson$/i.test(name), what: 'FHIR NDJSON files (*.ndjson)' };

/** Reads the NDJSON files of a FHIR Bulk Data export (files or directories). */
export async function readFhirExport(paths: string[], opts: ReadExportOptions = {}): Promise<HospitalRecords> {
  const files = exportFiles(paths, FHIR_FILES.wanted, FHIR_FILES.what);
  const r = new FhirReader(opts);
  await readExportFiles(files, opts, () => r.resources, (f, source, onBytes) => r.readFile(f.name, source, onBytes));
  return r.finish();
}

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => x !== null && typeof x === 'object' && !Array.isArray(x);
const array = <T>(x: T[] | undefined): unknown[] => (Array.isArray(x) ? x : []);
const REF_RE = /(?:^|\/)([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/;
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

class FhirReader {
  readonly b: HospitalRecordsBuilder;
  resources = 0;
  private readonly personSystem: string;
  private readonly skipped = new Map<string, number>();
  private inError = 0;
  /** Medication resources by key, and the medication statements that refer to them. */
  private readonly medications = new Map<string, FhirCoding[]>();
  private readonly pendingMeds: { at: Position; name: string; ref: string; rest: { patient: string; date: number; amount: number } }[] = [];

  constructor(private readonly opts: ReadExportOptions) {
    this.personSystem = opts.personSystem ?? DEFAULT_PERSON_SYSTEM;
    this.b = new HospitalRecordsBuilder('fhir', opts.keepProblems);
  }

  /** Reads one file's lines; `read` is told the bytes of every chunk. */
  async readFile(name: string, source: AsyncIterable<Buffer>, read: (bytes: number) => void): Promise<void> {
    this.b.files.push(name);
    this.b.problems.file = name;
    let line = 0;
    let stop = false;
    const split = new LineSplitter(
      (s) => this.line(s, { file: name, line: ++line }),
      () => false,
      {
        chars: MAX_LINE_CHARS,
        tooLong: () => {
          this.b.problems.add(lineTooLong(line + 1));
          this.b.unreadable.push(name);
          stop = true;
        },
      },
    );
    for await (const chunk of source) {
      split.write(chunk);
      read(chunk.length);
      if (stop) break;
    }
    if (!stop) split.end();
    if (line === 0) this.b.problem({ file: name, line: 1 }, 'the file is empty (a Bulk Data file holds one resource per line)', 'format');
  }

  line(s: string, at: Position): void {
    if (s.charCodeAt(0) !== 123 /* { */ && s.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      this.b.problem(at, `malformed JSON: ${e.message.replace(/\s*in JSON at position (\d+)(?:\s*\(line \d+ column \d+\))?/, (_m, p: string) => ` at column ${Number(p) + 1}`)}`, 'format');
      return;
    }
    this.resources++;
    if (!isObject(o)) {
      this.b.problem(at, `expected a FHIR resource (a JSON object with a resourceType), found ${Array.isArray(o) ? 'an array' : o === null ? 'null' : typeof o}`, 'format');
      return;
    }
    const type = o.resourceType;
    if (typeof type !== 'string' || type === '') {
      this.b.problem(at, `the resource has no resourceType (every line of a Bulk Data export is one FHIR resource: "resourceType": "Patient", …)`, 'format');
      return;
    }
    const status = o.status ?? (isObject(o.verificationStatus) ? array((o.verificationStatus as CodeableConcept).coding).map((c) => (c as FhirCoding).code)[0] : undefined);
    if (status === 'entered-in-error') {
      this.inError++;
      return;
    }
    switch (type) {
      case 'Patient':
        return this.patient(o as unknown as Patient, at);
      case 'Encounter':
        return this.encounter(o as unknown as Encounter, at);
      case 'Condition':
        return this.condition(o, at);
      case 'MedicationRequest':
      case 'MedicationStatement':
        return this.medication(o as unknown as MedicationRequest | MedicationStatement, at);
      case 'Observation':
        return this.observation(o as unknown as Observation, at);
      case 'Organization': {
        const org = o as unknown as Organization;
        if (typeof org.id === 'string' && typeof org.name === 'string') this.b.addName(`Organization/${org.id}`, org.name);
        return;
      }
      case 'Medication': {
        const m = o as unknown as Medication;
        if (typeof m.id === 'string') this.medications.set(`Medication/${m.id}`, array(m.code?.coding) as FhirCoding[]);
        return;
      }
      default:
        this.skipped.set(type, (this.skipped.get(type) ?? 0) + 1);
    }
  }

  finish(): HospitalRecords {
    for (const m of this.pendingMeds) {
      const codings = this.medications.get(m.ref);
      if (!codings) {
        this.b.problem(m.at, `${m.name}: medicationReference ${excerpt(m.ref, 60)} is not in the export`);
        continue;
      }
      const atc = this.code(codings, 'atc', m.at, `${m.name}: the medication ${m.ref}`);
      if (atc !== undefined) this.b.addMedication({ at: m.at, atc, ...m.rest });
    }
    if (this.skipped.size > 0) this.b.note(`skipped ${[...this.skipped].map(([t, n]) => `${n.toLocaleString('en-US')} ${excerpt(t, 40, '')}`).join(', ')} resource${this.resources > 1 ? 's' : ''} (no register holds them)`);
    if (this.inError > 0) this.b.note(`skipped ${this.inError.toLocaleString('en-US')} resource${this.inError > 1 ? 's' : ''} entered-in-error`);
    if (this.b.observations > 0) this.b.note(`${this.b.observations.toLocaleString('en-US')} Observation resource${this.b.observations > 1 ? 's' : ''} checked (patient, date); no register holds observations`);
    return this.b.finish();
  }

  // -------------------------------------------------------------------------------------------

  /** The resource's id ('Type/id' as references name it), or a problem. */
  private keyOf(o: { resourceType?: string; id?: unknown }, at: Position): string | undefined {
    if (typeof o.id !== 'string' || !ID_RE.test(o.id)) {
      this.b.problem(at, `${o.resourceType}: ${o.id === undefined ? 'the id is missing' : `the id ${excerpt(o.id)} is not a FHIR id`} (other resources refer to it)`);
      return undefined;
    }
    return `${o.resourceType}/${o.id}`;
  }

  /** A reference to a resource of type `type`, as 'Type/id'; or a problem. */
  private ref(x: Reference | undefined, type: string, field: string, name: string, at: Position): string | undefined {
    const r = x?.reference;
    if (typeof r !== 'string') {
      this.b.problem(at, `${name}: ${field} ${x === undefined ? 'is missing' : 'has no reference'} (a ${type} reference, "${type}/<id>")`);
      return undefined;
    }
    // The usual relative reference "Type/id" is its own key; anything else through REF_RE.
    if (r.length > type.length + 1 && r.charCodeAt(type.length) === 47 /* / */ && r.startsWith(type) && ID_RE.test(r.slice(type.length + 1))) return r;
    const m = REF_RE.exec(r);
    if (!m || m[1] !== type) {
      this.b.problem(at, `${name}: ${field} ${excerpt(r, 60)} is not a reference to a ${type} ("${type}/<id>")`);
      return undefined;
    }
    return `${type}/${m[2]}`;
  }

  /** A day, or a problem naming the field. */
  private day(x: unknown, field: string, name: string, at: Position): number | undefined {
    const d = dayOf(x);
    if (typeof d === 'number') return d;
    this.b.problem(at, `${name}: ${field} ${d.error}`);
    return undefined;
  }

  private code(codings: unknown[], target: TargetSystem, at: Position, what: string): string | undefined {
    const r = codeIn(codings.filter(isObject), target, this.opts.codeMap);
    if ('code' in r) return r.code;
    this.b.problem(at, `${what}: ${r.error}`);
    return undefined;
  }

  /** An amount in defined daily doses, or a problem. */
  private amount(q: Quantity | undefined, field: string, name: string, at: Position): number | undefined {
    if (!isObject(q) || typeof q.value !== 'number' || !Number.isFinite(q.value) || q.value < 0) {
      this.b.problem(at, `${name}: ${field} ${q === undefined ? 'is missing' : 'has no value ≥ 0'} (the amount dispensed, in defined daily doses)`);
      return undefined;
    }
    const unit = q.code ?? q.unit;
    if (unit !== undefined && unit !== 'DDD' && unit !== '{DDD}') {
      this.b.problem(at, `${name}: ${field} is in ${excerpt(unit)}; the register holds defined daily doses (unit DDD)`);
      return undefined;
    }
    return q.value;
  }

  private patient(p: Patient, at: Position): void {
    const key = this.keyOf(p, at);
    if (key === undefined) return;
    const ids = new Set(array(p.identifier).filter(isObject).filter((i) => i.system === this.personSystem).map((i) => i.value));
    if (ids.size !== 1) {
      this.b.problem(at, ids.size === 0 ? `${key} has no identifier of the national person-id system ${this.personSystem} (--person-system names another)` : `${key} has ${ids.size} different identifiers of the national person-id system ${this.personSystem}`);
      return this.b.reject(key);
    }
    const personId = [...ids][0];
    if (typeof personId !== 'string') {
      this.b.problem(at, `${key}: the national person id ${excerpt(personId)} is not text`);
      return this.b.reject(key);
    }
    if (typeof p.gender !== 'string') {
      this.b.problem(at, `${key}: gender is missing`);
      return this.b.reject(key);
    }
    const birthDate = this.day(p.birthDate, 'birthDate', key, at);
    if (birthDate === undefined) return this.b.reject(key);
    const rec: Parameters<HospitalRecordsBuilder['addPatient']>[0] = { at, key, personId, gender: p.gender, birthDate };
    const home = array(p.address)
      .filter(isObject)
      .filter((a) => a.country === undefined || (typeof a.country === 'string' && HOME_COUNTRIES.has(a.country.toUpperCase())))
      .map((a) => ({ a, end: isObject(a.period) ? a.period.end : undefined }))
      .sort((x, y) => (x.end === undefined ? -1 : y.end === undefined ? 1 : String(y.end).localeCompare(String(x.end))))[0];
    if (home) {
      if (typeof home.a.district === 'string') rec.municipality = home.a.district;
      if (typeof home.a.state === 'string') rec.region = home.a.state;
      if (home.end !== undefined) {
        const left = this.day(home.end, 'address.period.end', key, at);
        if (left === undefined) return this.b.reject(key);
        rec.leftOn = left + 1; // period.end is the last day at the address
      }
    }
    if (p.deceasedDateTime !== undefined) {
      const died = this.day(p.deceasedDateTime, 'deceasedDateTime', key, at);
      if (died === undefined) return this.b.reject(key);
      rec.diedOn = died;
    } else if (p.deceasedBoolean === true) rec.diedOn = NaN;
    this.b.addPatient(rec);
  }

  private encounter(e: Encounter, at: Position): void {
    const key = this.keyOf(e, at);
    if (key === undefined) return;
    const patient = this.ref(e.subject, 'Patient', 'subject', key, at);
    const start = this.day(e.period?.start, 'period.start', key, at);
    const end = this.day(e.period?.end, 'period.end', key, at);
    const sp = e.serviceProvider;
    const hospital = isObject(sp) && typeof sp.display === 'string' ? sp.display : undefined;
    const hospitalRef = hospital === undefined && isObject(sp) ? this.ref(sp, 'Organization', 'serviceProvider', key, at) : undefined;
    if (hospital === undefined && hospitalRef === undefined && !isObject(sp)) this.b.problem(at, `${key}: serviceProvider (the hospital) is missing`);
    const diagnoses = array(e.diagnosis)
      .filter(isObject)
      .map((d, i) => ({ ref: this.ref(d.condition as Reference, 'Condition', `diagnosis[${i}].condition`, key, at), rank: typeof d.rank === 'number' ? d.rank : Infinity }));
    if (patient === undefined || start === undefined || end === undefined || diagnoses.some((d) => d.ref === undefined)) return this.b.reject(key);
    if (hospital === undefined && hospitalRef === undefined) return this.b.reject(key);
    const sorted = diagnoses.map((d, i) => ({ ...d, i })).sort((x, y) => x.rank - y.rank || x.i - y.i);
    this.b.addEncounter({
      at, key, patient, start, end,
      ...(hospital !== undefined ? { hospital } : { hospitalRef: hospitalRef! }),
      ...(sorted.length > 0 ? { ranked: { keys: sorted.map((d) => d.ref!), firstUnique: sorted.length === 1 || sorted[0]!.rank < sorted[1]!.rank } } : {}),
    });
  }

  private condition(c: Json, at: Position): void {
    const key = this.keyOf(c, at);
    if (key === undefined) return;
    const patient = this.ref(c.subject as Reference, 'Patient', 'subject', key, at);
    const encounter = c.encounter === undefined ? undefined : this.ref(c.encounter as Reference, 'Encounter', 'encounter', key, at);
    const code = this.code(array((c.code as CodeableConcept | undefined)?.coding), 'icd10', at, `${key}: code`);
    if (patient === undefined || code === undefined || (c.encounter !== undefined && encounter === undefined)) return this.b.reject(key, encounter);
    this.b.addDiagnosis({ at, key, patient, ...(encounter !== undefined ? { encounter } : {}), code, primary: false });
  }

  private medication(m: MedicationRequest | MedicationStatement, at: Position): void {
    const name = typeof m.id === 'string' ? `${m.resourceType}/${excerpt(m.id, 64, '')}` : m.resourceType;
    const patient = this.ref(m.subject, 'Patient', 'subject', name, at);
    let date: number | undefined;
    let amount: number | undefined;
    if (m.resourceType === 'MedicationRequest') {
      date = this.day(m.authoredOn, 'authoredOn', name, at);
      amount = this.amount(m.dispenseRequest?.quantity, 'dispenseRequest.quantity', name, at);
    } else {
      const [field, value] = m.effectiveDateTime !== undefined ? ['effectiveDateTime', m.effectiveDateTime] : m.effectivePeriod?.start !== undefined ? ['effectivePeriod.start', m.effectivePeriod.start] : ['dateAsserted', m.dateAsserted];
      date = this.day(value, field, name, at);
      amount = this.amount(array(m.dosage).filter(isObject).map((d) => array((d as { doseAndRate?: [] }).doseAndRate).filter(isObject)[0]?.doseQuantity as Quantity | undefined)[0], 'dosage[0].doseAndRate[0].doseQuantity', name, at);
    }
    if (m.medicationReference !== undefined) {
      const ref = this.ref(m.medicationReference, 'Medication', 'medicationReference', name, at);
      if (ref !== undefined && patient !== undefined && date !== undefined && amount !== undefined) this.pendingMeds.push({ at, name, ref, rest: { patient, date, amount } });
      return;
    }
    const atc = this.code(array(m.medicationCodeableConcept?.coding), 'atc', at, `${name}: medicationCodeableConcept`);
    if (patient !== undefined && date !== undefined && amount !== undefined && atc !== undefined) this.b.addMedication({ at, patient, date, atc, amount });
  }

  private observation(o: Observation, at: Position): void {
    const name = typeof o.id === 'string' ? `Observation/${excerpt(o.id, 64, '')}` : 'Observation';
    const patient = this.ref(o.subject, 'Patient', 'subject', name, at);
    const [field, value] = o.effectiveDateTime !== undefined ? ['effectiveDateTime', o.effectiveDateTime] : o.effectiveInstant !== undefined ? ['effectiveInstant', o.effectiveInstant] : o.effectivePeriod?.start !== undefined ? ['effectivePeriod.start', o.effectivePeriod.start] : ['issued', o.issued];
    const date = this.day(value, field, name, at);
    if (o.valueQuantity !== undefined && (!isObject(o.valueQuantity) || typeof o.valueQuantity.value !== 'number')) this.b.problem(at, `${name}: valueQuantity has no numeric value`);
    if (patient !== undefined && date !== undefined) this.b.addObservation(at, patient, name);
  }
}
