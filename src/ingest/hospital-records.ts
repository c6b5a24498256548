// What a hospital export says about patients, contacts and medication, whatever its format: the
// FHIR reader (./fhir.ts) and the OMOP reader (./omop.ts) both fill a HospitalRecordsBuilder, which
// links the records (every reference to a patient, an encounter, a hospital, a location) and picks
// each contact's action diagnosis. src/demo/hospital-registers.ts maps the result onto the
// registers. Every record keeps its file and line, so that each problem, found while reading or
// while linking, is reported where the custodian can find it; one ProblemLog collects them all.
//
// A contact is an encounter (FHIR Encounter, OMOP visit_occurrence) with its action diagnosis: the
// diagnosis ranked first (FHIR Encounter.diagnosis rank 1; OMOP condition_status_concept_id 32902,
// primary diagnosis), or the only diagnosis recorded for it. An encounter with no diagnosis, or with
// several and none ranked first, is an error: the contacts register holds one diagnosis per contact.
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { CodeMap } from './code-map.js';
import { excerpt, formatDate } from './schema.js';
import { ProblemLog, progressReporter, type IngestProgress, type RowProblem } from './validate.js';

/** Where a record is: the file's name as reported, and its line (1-based). */
export interface Position {
  file: string;
  line: number;
}

export interface PatientRecord {
  at: Position;
  /** What other records name it by: 'Patient/<id>' (FHIR), the person_id (OMOP). */
  key: string;
  /** The national person id (FHIR identifier of the national system, OMOP person_source_value). */
  personId: string;
  /** 'female', 'male', or the other value the export gives. */
  gender: string;
  /** Days since 1970-01-01. */
  birthDate: number;
  /** Residence as the export gives it (names or official codes); either may be absent. */
  municipality?: string;
  region?: string;
  /** The first day the person no longer lived in the country (the day after the Danish address or the last observation period ended), if any. */
  leftOn?: number;
  /** The day of death, if any; NaN: deceased on a day not given. */
  diedOn?: number;
}

export interface ContactRecord {
  at: Position;
  key: string;
  patient: PatientRecord;
  start: number;
  end: number;
  hospital: string;
  /** The action diagnosis, ICD-10, and where it was read. */
  diagnosis: { at: Position; code: string };
}

export interface MedicationRecord {
  at: Position;
  patient: PatientRecord;
  date: number;
  atc: string;
  /** Defined daily doses. */
  amount: number;
}

export interface HospitalRecords {
  format: 'fhir' | 'omop';
  /** Patients in the order read. */
  patients: PatientRecord[];
  contacts: ContactRecord[];
  medications: MedicationRecord[];
  /** Observations (FHIR) and measurements (OMOP): read and checked, held by no register. */
  observations: number;
  /** Whether the export had encounters and medication at all (which registers it can fill). */
  has: { patients: boolean; contacts: boolean; medications: boolean };
  /** What was read but not used, in words (skipped resource types, tables, entered-in-error). */
  notes: string[];
  problems: ProblemLog;
  /** Files in the order read, for sorting the problems. */
  files: string[];
  /** False when a file could not be read to its end: then nothing is linked, and the records are empty. */
  complete: boolean;
}

/** An encounter before linking: its patient, hospital and diagnoses are names of other records. */
export interface PendingEncounter {
  at: Position;
  key: string;
  patient: string;
  start: number;
  end: number;
  /** The hospital's name, or the key of the record that names it (`hospitalRef`). */
  hospital?: string;
  hospitalRef?: string;
  /** FHIR Encounter.diagnosis: the keys of its conditions, lowest rank first, and whether that rank is unique. */
  ranked?: { keys: string[]; firstUnique: boolean };
}

export interface PendingDiagnosis {
  at: Position;
  key: string;
  /** The patient, when the record names one (checked against the encounter's). */
  patient?: string;
  encounter?: string;
  code: string;
  /** Marked as the primary (action) diagnosis (OMOP condition_status_concept_id 32902). */
  primary: boolean;
}

export interface PendingPatient extends Omit<PatientRecord, 'municipality' | 'region'> {
  municipality?: string;
  region?: string;
  /** The key of the record that holds the residence (OMOP location_id). */
  locationRef?: string;
}

/** Collects the records of one export, then links them (finish). */
export class HospitalRecordsBuilder {
  readonly problems: ProblemLog;
  readonly notes: string[] = [];
  readonly files: string[] = [];
  /** Files whose reading stopped (malformed CSV, a line over the limit): their records are incomplete. */
  readonly unreadable: string[] = [];
  observations = 0;
  private readonly patients = new Map<string, PendingPatient>();
  private readonly encounters: PendingEncounter[] = [];
  private readonly encounterKeys = new Map<string, Position>();
  private readonly diagnoses: PendingDiagnosis[] = [];
  private readonly diagnosisKeys = new Map<string, Position>();
  private readonly medications: (Omit<MedicationRecord, 'patient'> & { patient: string })[] = [];
  private readonly names = new Map<string, string>();
  private readonly locations = new Map<string, { municipality?: string; region?: string }>();
  private readonly patientRefs: { at: Position; patient: string; what: string }[] = [];
  private readonly leftOn = new Map<string, number>();
  private readonly diedOn = new Map<string, { at: Position; day: number }>();
  /** Records found but not kept for their problems: references to them are not reported again. */
  private readonly rejected = new Set<string>();
  private hasEncounters = false;
  private hasMedications = false;

  constructor(
    readonly format: 'fhir' | 'omop',
    keepProblems = 1000,
  ) {
    this.problems = new ProblemLog(keepProblems);
  }

  /**
   * A record that was found (its key is known) but not kept, its problems reported: references to it
   * are not reported again. `diagnosisOf`: it was the diagnosis of that encounter.
   */
  reject(key: string, diagnosisOf?: string): void {
    this.rejected.add(key);
    if (diagnosisOf !== undefined) this.rejected.add(`diagnosis of ${diagnosisOf}`);
  }

  problem(at: Position, message: string, kind: RowProblem['kind'] = 'value'): void {
    this.problems.add({ file: at.file, line: at.line, kind, message });
  }

  /** Whether `key` was seen before in `seen`; reports the duplicate. */
  private duplicate(seen: Map<string, Position>, key: string, at: Position): boolean {
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, at);
      return false;
    }
    this.problem(at, `${excerpt(key, 60)} appears twice (also ${first.file} line ${first.line})`, 'duplicate');
    return true;
  }

  private readonly patientAt = new Map<string, Position>();

  addPatient(p: PendingPatient): void {
    if (this.duplicate(this.patientAt, p.key, p.at)) return;
    this.patients.set(p.key, p);
  }

  addEncounter(e: PendingEncounter): void {
    this.hasEncounters = true;
    if (this.duplicate(this.encounterKeys, e.key, e.at)) return;
    if (e.end < e.start) this.problem(e.at, `${excerpt(e.key, 60)} ends before it starts`);
    this.encounters.push(e);
  }

  addDiagnosis(d: PendingDiagnosis): void {
    if (this.duplicate(this.diagnosisKeys, d.key, d.at)) return;
    this.diagnoses.push(d);
  }

  addMedication(m: Omit<MedicationRecord, 'patient'> & { patient: string }): void {
    this.hasMedications = true;
    this.medications.push(m);
  }

  /** A record that only needs its patient to exist (FHIR Observation, OMOP measurement). */
  addObservation(at: Position, patient: string, what: string): void {
    this.observations++;
    this.patientRefs.push({ at, patient, what });
  }

  /** A name other records refer to (FHIR Organization, OMOP care_site). */
  addName(key: string, name: string): void {
    this.names.set(key, name);
  }

  /** A residence other records refer to (OMOP location). */
  addLocation(key: string, l: { municipality?: string; region?: string }): void {
    this.locations.set(key, l);
  }

  /** The first day after a patient's presence (OMOP observation_period end + 1): the latest one counts. */
  addLeft(patient: string, day: number): void {
    this.leftOn.set(patient, Math.max(day, this.leftOn.get(patient) ?? -Infinity));
  }

  /** A death (OMOP death). */
  addDeath(at: Position, patient: string, day: number): void {
    this.diedOn.set(patient, { at, day });
    this.patientRefs.push({ at, patient, what: 'the death' });
  }

  note(s: string): void {
    this.notes.push(s);
  }

  /** The patient a record names, or a problem at the record (`what` names the record). */
  private patientOf(at: Position, key: string, what: string, patients: Map<string, PatientRecord>): PatientRecord | undefined {
    const p = patients.get(key);
    if (!p && !this.rejected.has(key)) this.problem(at, `${excerpt(what, 60, '')} refers to ${excerpt(key, 60)}, which is not in the export (${this.format === 'fhir' ? 'no Patient resource with that id' : 'no row of person with that person_id'})`);
    return p;
  }

  /**
   * Links every record; problems found here join the reading's, sorted by file and line. When a file
   * could not be read to its end, nothing is linked: every reference into it would be reported.
   */
  finish(): HospitalRecords {
    if (this.unreadable.length > 0) {
      this.note(`records not linked: ${this.unreadable.join(', ')} could not be read to the end`);
      sortProblems(this.problems, this.files);
      return { format: this.format, patients: [], contacts: [], medications: [], observations: this.observations, has: { patients: false, contacts: false, medications: false }, notes: this.notes, problems: this.problems, files: this.files, complete: false };
    }
    const patients = new Map<string, PatientRecord>();
    for (const [key, p] of this.patients) {
      const locationRef = p.locationRef;
      const rec: PatientRecord = p; // locationRef stays on it, unused (deleting it would slow every later read of the record)
      if (locationRef !== undefined) {
        const l = this.locations.get(locationRef);
        if (!l) {
          this.problem(p.at, `${excerpt(locationRef, 60, '')} is not in the location table`);
          this.rejected.add(key); // what refers to the person is not reported again
          continue;
        }
        Object.assign(rec, l.municipality !== undefined ? { municipality: l.municipality } : {}, l.region !== undefined ? { region: l.region } : {});
      }
      const left = this.leftOn.get(key);
      if (left !== undefined) rec.leftOn = left;
      const died = this.diedOn.get(key);
      if (died) rec.diedOn = died.day;
      patients.set(key, rec);
    }
    for (const r of this.patientRefs) this.patientOf(r.at, r.patient, r.what, patients);

    // Diagnoses by encounter, in the order read.
    const byEncounter = new Map<string, PendingDiagnosis[]>();
    const byKey = new Map<string, PendingDiagnosis>();
    for (const d of this.diagnoses) {
      byKey.set(d.key, d);
      if (d.encounter === undefined) continue;
      if (!this.encounterKeys.has(d.encounter)) {
        if (!this.rejected.has(d.encounter)) this.problem(d.at, `${excerpt(d.key, 60)} names the encounter ${excerpt(d.encounter, 60)}, which is not in the export`);
        continue;
      }
      const list = byEncounter.get(d.encounter);
      if (list) list.push(d);
      else byEncounter.set(d.encounter, [d]);
    }
    const contacts: ContactRecord[] = [];
    for (const e of this.encounters) {
      const patient = this.patientOf(e.at, e.patient, e.key, patients);
      const hospital = e.hospital ?? (e.hospitalRef !== undefined ? this.names.get(e.hospitalRef) : undefined);
      if (hospital === undefined && !(e.hospitalRef !== undefined && this.rejected.has(e.hospitalRef))) {
        this.problem(e.at, e.hospitalRef !== undefined ? `${excerpt(e.key, 60)}: the hospital ${excerpt(e.hospitalRef, 60)} is not in the export` : `${excerpt(e.key, 60)} names no hospital`);
      }
      const d = this.actionDiagnosis(e, byEncounter.get(e.key) ?? [], byKey);
      if (d && patient && d.patient !== undefined && d.patient !== e.patient) {
        this.problem(d.at, `${excerpt(d.key, 60)} is about ${excerpt(d.patient, 60)}, but its encounter ${excerpt(e.key, 60)} is about ${excerpt(e.patient, 60)}`);
        continue;
      }
      if (patient && hospital !== undefined && d) contacts.push({ at: e.at, key: e.key, patient, start: e.start, end: e.end, hospital, diagnosis: { at: d.at, code: d.code } });
    }
    const medications: MedicationRecord[] = [];
    for (const m of this.medications) {
      const patient = this.patientOf(m.at, m.patient, 'the medication', patients);
      if (patient) medications.push({ at: m.at, patient, date: m.date, atc: m.atc, amount: m.amount });
    }
    sortProblems(this.problems, this.files);
    return {
      format: this.format,
      patients: [...patients.values()],
      contacts,
      medications,
      observations: this.observations,
      has: { patients: this.patients.size > 0, contacts: this.hasEncounters, medications: this.hasMedications },
      notes: this.notes,
      problems: this.problems,
      files: this.files,
      complete: true,
    };
  }

  /** The encounter's action diagnosis (see the module comment), or a problem at the encounter. */
  private actionDiagnosis(e: PendingEncounter, linked: PendingDiagnosis[], byKey: Map<string, PendingDiagnosis>): PendingDiagnosis | undefined {
    const name = () => excerpt(e.key, 60);
    if (e.ranked && e.ranked.keys.length > 0) {
      const d = byKey.get(e.ranked.keys[0]!);
      if (!d && this.rejected.has(e.ranked.keys[0]!)) return undefined;
      if (!d) this.problem(e.at, `${name()}: its diagnosis ${excerpt(e.ranked.keys[0], 60)} is not in the export`);
      else if (!e.ranked.firstUnique) this.problem(e.at, `${name()} ranks several diagnoses first: which is the action diagnosis?`);
      else return d;
      return undefined;
    }
    if (linked.length === 1) return linked[0];
    const primary = linked.filter((d) => d.primary);
    if (primary.length === 1) return primary[0];
    if (linked.length === 0 && this.rejected.has(`diagnosis of ${e.key}`)) return undefined;
    if (linked.length === 0) this.problem(e.at, `${name()} has no diagnosis (a contact needs its action diagnosis: ${this.format === 'fhir' ? 'Encounter.diagnosis, or a Condition whose encounter it is' : 'a condition_occurrence row with its visit_occurrence_id'})`);
    else this.problem(e.at, `${name()} has ${linked.length} diagnoses and ${primary.length ? 'several are' : 'none is'} marked as the primary one (${this.format === 'fhir' ? 'Encounter.diagnosis with rank 1' : 'condition_status_concept_id 32902'})`);
    return undefined;
  }
}

/** Sorts the kept problems by file (in the order read) and line. */
export function sortProblems(log: ProblemLog, files: readonly string[]): void {
  const order = new Map(files.map((f, i) => [f, i]));
  log.list.sort((a, b) => (order.get(a.file ?? '') ?? -1) - (order.get(b.file ?? '') ?? -1) || a.line - b.line);
}

// ---------------------------------------------------------------------------------------------
// Inputs

export interface ReadExportOptions {
  /** FHIR: the national person-id system (Patient.identifier.system). Default DEFAULT_PERSON_SYSTEM (./fhir.ts). */
  personSystem?: string;
  /** Codes outside ICD-10 and ATC: the custodian's mapping table. */
  codeMap?: CodeMap;
  keepProblems?: number;
  onProgress?: (p: IngestProgress) => void;
  progressIntervalMs?: number;
}

/** An input file of an export: its path and the name problems give it. */
export interface ExportFile {
  path: string;
  name: string;
}

/**
 * The files of an export: every file given, and the files of every directory given whose names
 * `wanted` accepts (in name order). Reported names are base names, or paths where two files share one.
 */
export function exportFiles(paths: string[], wanted: (name: string) => boolean, what: string): ExportFile[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`${p} does not exist`);
    if (statSync(p).isDirectory()) {
      const inDir = readdirSync(p).filter(wanted).sort().map((f) => join(p, f));
      if (inDir.length === 0) throw new Error(`${p} holds no ${what}`);
      files.push(...inDir);
    } else files.push(p);
  }
  const count = new Map<string, number>();
  for (const f of files) count.set(basename(f), (count.get(basename(f)) ?? 0) + 1);
  return files.map((f) => ({ path: resolve(f), name: count.get(basename(f))! > 1 ? relative(process.cwd(), f) || f : basename(f) }));
}

/**
 * Streams the files of an export to `read` in 1 MiB chunks, reporting progress over all of them
 * (`count`: the records read so far).
 */
export async function readExportFiles(
  files: ExportFile[],
  opts: ReadExportOptions,
  count: () => number,
  read: (f: ExportFile, source: AsyncIterable<Buffer>, onBytes: (n: number) => void) => Promise<void>,
): Promise<void> {
  const totalBytes = files.reduce((s, f) => s + statSync(f.path).size, 0);
  const report = progressReporter(opts.onProgress, performance.now(), opts.progressIntervalMs);
  let bytes = 0;
  for (const f of files) {
    await read(f, createReadStream(f.path, { highWaterMark: 1 << 20 }), (n) => {
      bytes += n;
      report(count(), bytes, totalBytes, false);
    });
  }
  report(count(), bytes, totalBytes, true);
}

// ---------------------------------------------------------------------------------------------
// Dates as exports write them

const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const PARTIAL_RE = /^\d{4}(-\d{2})?$/;

/**
 * The calendar day of a date or date-time as written ('2023-02-01', '2023-02-01T10:30:00+01:00',
 * OMOP's '2023-02-01 10:30:00'): days since 1970-01-01, or why it is not one.
 */
export function dayOf(x: unknown): number | { error: string } {
  if (typeof x === 'string') {
    const d = DAYS.get(x);
    if (d !== undefined) return d;
  }
  const d = parseDay(x);
  if (typeof d === 'number' && DAYS.size < 200_000) DAYS.set(x as string, d);
  return d;
}

/** Date texts seen → days (an export has few distinct days). */
const DAYS = new Map<string, number>();

/** 'YYYY-MM-DD' of a day (formatDate, memoized: registers have few distinct days). */
export function dayText(day: number): string {
  let t = TEXTS.get(day);
  if (t === undefined) {
    t = formatDate(day);
    if (TEXTS.size < 200_000) TEXTS.set(day, t);
  }
  return t;
}

const TEXTS = new Map<number, string>();

function parseDay(x: unknown): number | { error: string } {
  if (typeof x !== 'string') return { error: x === undefined || x === null ? 'is missing' : `is not a date (found ${typeof x})` };
  const m = DATE_TIME_RE.exec(x);
  if (!m) return { error: PARTIAL_RE.test(x) ? `${excerpt(x)} is not a full date (the registers need the day: YYYY-MM-DD)` : `${excerpt(x)} is not a date (YYYY-MM-DD, or a date-time)` };
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const back = new Date(0);
  const t = back.setUTCFullYear(y, mo - 1, d);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 60))) {
    return { error: `${excerpt(x)} is not a date (YYYY-MM-DD, or a date-time)` };
  }
  return Math.round(t / 86_400_000);
}
