// Reads the tables of an OMOP CDM 5.4 database, as CSV files with a header row (comma-separated, or
// tab-separated as some OMOP tools write them; column names in any case and order, extra columns
// ignored), into hospital records (./hospital-records.ts), which src/demo/hospital-registers.ts maps
// onto the registers. `mosaik ingest --format omop <dir | files…>`: a file's table is its name
// (person.csv, PERSON.csv, visit_occurrence.tsv); files of other tables (concept, provider, …) are
// listed in a note and not read.
//
//   person                person_id; person_source_value = the national person id; gender_concept_id
//                         (8507 male, 8532 female; else gender_source_value); birth_datetime, or
//                         year_of_birth, month_of_birth and day_of_birth; location_id
//   location              location_id; county = municipality, state = region (names or official
//                         numbers); rows with another country_source_value than DK give no residence
//   observation_period    person_id; observation_period_end_date: the last day observed; a person
//                         whose last period ends before the census date no longer lives in the country
//   death                 person_id; death_date
//   visit_occurrence      visit_occurrence_id, person_id, visit_start_date, visit_end_date (length of
//                         stay = end − start), care_site_id → care_site.care_site_name = the hospital
//   condition_occurrence  condition_occurrence_id, person_id, visit_occurrence_id (empty: not a
//                         contact's), the code (below); condition_status_concept_id 32902 (primary
//                         diagnosis) marks the action diagnosis of a visit with several
//   drug_exposure         drug_exposure_id, person_id, drug_exposure_start_date, quantity (defined
//                         daily doses), the code (below)
//   measurement           measurement_id, person_id, measurement_date, value_as_number: checked; no
//                         register holds measurements
// Codes: the custodian's code map (./code-map.ts) for the row's OMOP concept ids (the source
// concept, then the standard concept: source_system OMOP), else the source value itself when it is
// an ICD-10 (conditions) or ATC (drugs) code; anything else is an error at its line.
//
// Validation as for every input: each problem with its file and line (a missing table or column, a
// malformed CSV line, a bad date or number, a reference to a person, visit or care site that is not
// there, an unmapped code), lines bounded at 1 MiB, input quoted as short escaped excerpts.
import { FastReader } from './csv-read.js';
import { OMOP_CONCEPT_SYSTEM, TARGET_SYSTEMS, type TargetSystem } from './code-map.js';
import { dayOf, exportFiles, HospitalRecordsBuilder, readExportFiles, type HospitalRecords, type Position, type ReadExportOptions } from './hospital-records.js';
import { excerpt } from './schema.js';
import type { RowProblem } from './validate.js';

/** The tables read, with the columns each needs (a missing one is an error) and may have. */
export const OMOP_TABLES = {
  person: { required: ['person_id', 'gender_concept_id', 'year_of_birth', 'person_source_value'], optional: ['month_of_birth', 'day_of_birth', 'birth_datetime', 'location_id', 'gender_source_value'] },
  location: { required: ['location_id'], optional: ['county', 'state', 'country_source_value'] },
  observation_period: { required: ['person_id', 'observation_period_end_date'], optional: [] },
  death: { required: ['person_id', 'death_date'], optional: [] },
  care_site: { required: ['care_site_id', 'care_site_name'], optional: [] },
  visit_occurrence: { required: ['visit_occurrence_id', 'person_id', 'visit_start_date', 'visit_end_date', 'care_site_id'], optional: [] },
  condition_occurrence: { required: ['condition_occurrence_id', 'person_id', 'condition_concept_id', 'visit_occurrence_id', 'condition_source_value'], optional: ['condition_source_concept_id', 'condition_status_concept_id'] },
  drug_exposure: { required: ['drug_exposure_id', 'person_id', 'drug_concept_id', 'drug_exposure_start_date', 'quantity', 'drug_source_value'], optional: ['drug_source_concept_id'] },
  measurement: { required: ['measurement_id', 'person_id', 'measurement_date'], optional: ['value_as_number'] },
} as const;

export type OmopTable = keyof typeof OMOP_TABLES;

/** OMOP concept ids the reader knows. */
export const OMOP_CONCEPTS = { male: '8507', female: '8532', primaryDiagnosis: '32902' } as const;

const isTable = (s: string): s is OmopTable => Object.hasOwn(OMOP_TABLES, s);
const tableOf = (file: string) => file.replace(/^.*[\\/]/, '').replace(/\.(csv|tsv|txt)$/i, '').toLowerCase();

/** A row's values by column name ('' when empty or absent), and where it is. */
type Row = (column: string) => string;

/** The files of an export directory that are read: CSV (or TSV) files, each a table. */
export const OMOP_FILES = { wanted: (name: string) => /\.(csv|tsv|txt)$/i.test(name), what: 'OMOP tables (*.csv)' };

/** Reads the CSV tables of an OMOP CDM export (files or directories). */
export async function readOmopExport(paths: string[], opts: ReadExportOptions = {}): Promise<HospitalRecords> {
  const files = exportFiles(paths, OMOP_FILES.wanted, OMOP_FILES.what);
  const r = new OmopReader(opts);
  const tables = files.filter((f) => isTable(tableOf(f.name)));
  const other = files.filter((f) => !isTable(tableOf(f.name)));
  if (other.length > 0) r.b.note(`not read: ${other.map((f) => excerpt(f.name, 60, '')).join(', ')} (no register holds ${other.length > 1 ? 'these tables' : 'this table'})`);
  await readExportFiles(tables, opts, () => r.rows, (f, source, onBytes) => r.readTable(tableOf(f.name) as OmopTable, f.name, source, onBytes));
  return r.finish();
}

class OmopReader {
  readonly b: HospitalRecordsBuilder;
  rows = 0;
  private readonly seen = new Set<OmopTable>();

  constructor(private readonly opts: ReadExportOptions) {
    this.b = new HospitalRecordsBuilder('omop', opts.keepProblems);
  }

  /** Reads one table's CSV; `read` is told the bytes of every chunk. */
  async readTable(table: OmopTable, file: string, source: AsyncIterable<Buffer>, read: (bytes: number) => void): Promise<void> {
    this.b.files.push(file);
    this.b.problems.file = file;
    this.seen.add(table);
    const spec = OMOP_TABLES[table];
    let index: Map<string, number> | null = null;
    let width = 0;
    const host = {
      fatal: false,
      fail: (p: RowProblem) => {
        this.b.problems.add(p);
        this.b.unreadable.push(file);
        host.fatal = true;
      },
    };
    const sink = (fields: string[], line: number) => {
      if (index === null) {
        index = new Map(fields.map((f, i) => [f.trim().toLowerCase(), i]));
        width = fields.length;
        const missing = spec.required.filter((c) => !index!.has(c));
        if (missing.length > 0) host.fail({ line, kind: 'header', message: `${table}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (OMOP CDM 5.4; the first line names the columns)` });
        return;
      }
      this.rows++;
      if (fields.length !== width) {
        this.b.problem({ file, line }, `${fields.length} field${fields.length === 1 ? '' : 's'}, but the header has ${width}`, 'fields');
        return;
      }
      const ix = index;
      this.row(table, (c) => {
        const i = ix.get(c);
        return i === undefined ? '' : fields[i]!.trim();
      }, { file, line });
    };
    let reader: FastReader | null = null;
    for await (const chunk of source) {
      if (reader === null) {
        // Tab-separated when the header line has tabs and no comma.
        const head = chunk.subarray(0, 4096).toString('utf8').split('\n')[0]!;
        reader = new FastReader(sink, host, head.includes('\t') && !head.includes(',') ? '\t' : ',');
      }
      reader.write(chunk);
      read(chunk.length);
      if (host.fatal) break;
    }
    if (reader && !host.fatal) reader.end();
    if (index === null && !host.fatal) this.b.problem({ file, line: 1 }, `${table}: the file is empty (a header row naming the columns is required)`, 'format');
  }

  finish(): HospitalRecords {
    if (!this.seen.has('person')) this.b.problems.add({ line: 0, kind: 'format', file: 'person', message: 'the export has no person table (person.csv): it holds the persons every other table refers to' });
    if (this.seen.has('visit_occurrence') && !this.seen.has('care_site')) this.b.problems.add({ line: 0, kind: 'format', file: 'care_site', message: 'the export has visits but no care_site table (care_site.csv): it names the hospitals' });
    if (this.b.observations > 0) this.b.note(`${this.b.observations.toLocaleString('en-US')} measurement row${this.b.observations > 1 ? 's' : ''} checked (person, date); no register holds measurements`);
    return this.b.finish();
  }

  // -------------------------------------------------------------------------------------------

  private day(row: Row, column: string, at: Position): number | undefined {
    const d = dayOf(row(column) || undefined);
    if (typeof d === 'number') return d;
    this.b.problem(at, `${column} ${d.error}`);
    return undefined;
  }

  /** An id column (digits); a problem when it is missing or not one. */
  private id(row: Row, column: string, at: Position): string | undefined {
    const v = row(column);
    if (/^\d{1,19}$/.test(v)) return v;
    this.b.problem(at, v === '' ? `${column} is missing` : `${column} ${excerpt(v)} is not an id (digits)`);
    return undefined;
  }

  private number(row: Row, column: string, at: Position): number | undefined {
    const v = row(column);
    const x = v === '' ? NaN : Number(v);
    if (Number.isFinite(x) && x >= 0) return x;
    this.b.problem(at, v === '' ? `${column} is missing` : `${column} ${excerpt(v)} is not a number ≥ 0`);
    return undefined;
  }

  /** The row's code in `target`: the code map for its concept ids, else the source value when it is one. */
  private code(row: Row, prefix: 'condition' | 'drug', target: TargetSystem, at: Position): string | undefined {
    const t = TARGET_SYSTEMS[target];
    const concepts = [`${prefix}_source_concept_id`, `${prefix}_concept_id`].map((c) => [c, row(c)] as const).filter(([, v]) => v !== '' && v !== '0');
    for (const [, id] of concepts) {
      const mapped = this.opts.codeMap?.lookup(OMOP_CONCEPT_SYSTEM, id, target);
      if (mapped !== undefined) return mapped;
    }
    const value = row(`${prefix}_source_value`);
    if (t.shape.test(value)) return value;
    const ids = concepts.map(([c, id]) => `${excerpt(id, 20, '')} (${c})`).join(' or ');
    this.b.problem(at, `${prefix}_source_value ${excerpt(value)} is not an ${t.name} code, and ${this.opts.codeMap ? `the code map (--code-map) has no row for OMOP concept ${ids || '(none given)'}` : `there is no code map (--code-map) to translate OMOP concept ${ids || '(none given)'}`}`);
    return undefined;
  }

  private row(table: OmopTable, row: Row, at: Position): void {
    const person = () => this.id(row, 'person_id', at);
    switch (table) {
      case 'person': {
        const id = person();
        const personId = row('person_source_value');
        if (personId === '') this.b.problem(at, 'person_source_value (the national person id) is missing');
        const g = row('gender_concept_id');
        const src = row('gender_source_value').toLowerCase();
        const gender = g === OMOP_CONCEPTS.male || (g !== OMOP_CONCEPTS.female && (src === 'm' || src === 'male')) ? 'male' : g === OMOP_CONCEPTS.female || src === 'f' || src === 'female' ? 'female' : `gender_concept_id ${g}`;
        let birthDate: number | undefined;
        if (row('birth_datetime') !== '') birthDate = this.day(row, 'birth_datetime', at);
        else {
          const [y, m, d] = ['year_of_birth', 'month_of_birth', 'day_of_birth'].map(row) as [string, string, string];
          const text = m === '' || d === '' ? y : `${y.padStart(4, '0')}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
          const day = dayOf(text);
          if (typeof day === 'number') birthDate = day;
          else this.b.problem(at, `the birth date (year_of_birth, month_of_birth, day_of_birth) ${day.error}`);
        }
        const location = row('location_id');
        if (id !== undefined && (personId === '' || birthDate === undefined)) this.b.reject(`person_id ${id}`);
        if (id === undefined || personId === '' || birthDate === undefined) return;
        this.b.addPatient({ at, key: `person_id ${id}`, personId, gender, birthDate, ...(location !== '' ? { locationRef: `location_id ${location}` } : {}) });
        return;
      }
      case 'location': {
        const id = this.id(row, 'location_id', at);
        const country = row('country_source_value').toUpperCase();
        if (id === undefined) return;
        const home = country === '' || country === 'DK' || country === 'DNK' || country === 'DENMARK' || country === 'DANMARK';
        const [county, state] = [row('county'), row('state')];
        this.b.addLocation(`location_id ${id}`, home ? { ...(county !== '' ? { municipality: county } : {}), ...(state !== '' ? { region: state } : {}) } : {});
        return;
      }
      case 'observation_period': {
        const id = person();
        const end = this.day(row, 'observation_period_end_date', at);
        if (id !== undefined && end !== undefined) this.b.addLeft(`person_id ${id}`, end + 1);
        return;
      }
      case 'death': {
        const id = person();
        const day = this.day(row, 'death_date', at);
        if (id !== undefined && day !== undefined) this.b.addDeath(at, `person_id ${id}`, day);
        return;
      }
      case 'care_site': {
        const id = this.id(row, 'care_site_id', at);
        const name = row('care_site_name');
        if (name === '') this.b.problem(at, 'care_site_name is missing');
        if (id !== undefined && name !== '') this.b.addName(`care_site_id ${id}`, name);
        else if (id !== undefined) this.b.reject(`care_site_id ${id}`);
        return;
      }
      case 'visit_occurrence': {
        const id = this.id(row, 'visit_occurrence_id', at);
        const p = person();
        const start = this.day(row, 'visit_start_date', at);
        const end = this.day(row, 'visit_end_date', at);
        const site = this.id(row, 'care_site_id', at);
        if (id !== undefined && (p === undefined || start === undefined || end === undefined || site === undefined)) this.b.reject(`visit_occurrence_id ${id}`);
        if (id === undefined || p === undefined || start === undefined || end === undefined || site === undefined) return;
        this.b.addEncounter({ at, key: `visit_occurrence_id ${id}`, patient: `person_id ${p}`, start, end, hospitalRef: `care_site_id ${site}` });
        return;
      }
      case 'condition_occurrence': {
        const id = this.id(row, 'condition_occurrence_id', at);
        const p = person();
        const visit = row('visit_occurrence_id');
        if (visit !== '' && !/^\d{1,19}$/.test(visit)) this.b.problem(at, `visit_occurrence_id ${excerpt(visit)} is not an id (digits)`);
        const code = this.code(row, 'condition', 'icd10', at);
        if (id !== undefined && (p === undefined || code === undefined)) this.b.reject(`condition_occurrence_id ${id}`, visit !== '' ? `visit_occurrence_id ${visit}` : undefined);
        if (id === undefined || p === undefined || code === undefined) return;
        this.b.addDiagnosis({ at, key: `condition_occurrence_id ${id}`, patient: `person_id ${p}`, ...(visit !== '' ? { encounter: `visit_occurrence_id ${visit}` } : {}), code, primary: row('condition_status_concept_id') === OMOP_CONCEPTS.primaryDiagnosis });
        return;
      }
      case 'drug_exposure': {
        this.id(row, 'drug_exposure_id', at);
        const p = person();
        const date = this.day(row, 'drug_exposure_start_date', at);
        const amount = this.number(row, 'quantity', at);
        const atc = this.code(row, 'drug', 'atc', at);
        if (p !== undefined && date !== undefined && amount !== undefined && atc !== undefined) this.b.addMedication({ at, patient: `person_id ${p}`, date, atc, amount });
        return;
      }
      case 'measurement': {
        const p = person();
        const date = this.day(row, 'measurement_date', at);
        const v = row('value_as_number');
        if (v !== '' && !Number.isFinite(Number(v))) this.b.problem(at, `value_as_number ${excerpt(v)} is not a number`);
        if (p !== undefined && date !== undefined) this.b.addObservation(at, `person_id ${p}`, 'the measurement');
        return;
      }
    }
  }
}
