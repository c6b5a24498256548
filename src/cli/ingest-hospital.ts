// `mosaik ingest --format fhir | omop`: a hospital's export (FHIR R4 Bulk Data NDJSON,
// src/ingest/fhir.ts; OMOP CDM 5.4 tables, src/ingest/omop.ts) read, linked and mapped onto the
// registers it fills (src/demo/hospital-registers.ts: population, contacts, prescriptions; --schema
// picks some), with codes outside ICD-10 and ATC through the custodian's --code-map
// (src/ingest/code-map.ts). As for a single file, every problem is listed with its file and line
// and nothing is uploaded unless the whole export is valid; then each register is shared and
// uploaded as its own dataset, all under one version (./ingest-upload.ts).
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { HOSPITAL_REGISTERS, hospitalRegisters, type HospitalRegister } from '../demo/hospital-registers.js';
import { contactsSchema, populationSchema, prescriptionsSchema } from '../demo/schemas.js';
import { demoCodeLists } from '../demo/codelists.js';
import { readCodeMapFile, type CodeMap } from '../ingest/code-map.js';
import { exportFiles } from '../ingest/hospital-records.js';
import { FHIR_FILES, readFhirExport } from '../ingest/fhir.js';
import { FORMAT_NAMES } from '../ingest/input.js';
import { OMOP_FILES, readOmopExport } from '../ingest/omop.js';
import { formatProblems, type ProblemLog } from '../ingest/validate.js';
import { mb, progressPrinter, thousands, uploadSettings, uploadValidated, type UploadOptions } from './ingest-upload.js';

export interface HospitalIngestOptions extends UploadOptions {
  format: 'fhir' | 'omop';
  /** The first file or directory of the export, then the others. */
  file: string;
  files?: string[];
  /** demo:<register>[,demo:<register>…] (or bare names); default: every register the export fills. */
  schema?: string;
  codeMap?: string;
  personSystem?: string;
  dryRun?: boolean;
  maxProblems?: number;
}

const SCHEMAS = { population: populationSchema, contacts: contactsSchema, prescriptions: prescriptionsSchema };

/** The registers named by --schema; throws with the accepted names. */
export function parseRegisters(arg: string, format: string): HospitalRegister[] {
  const names = arg.split(',').map((s) => s.trim().replace(/^demo:/, '')).filter(Boolean);
  for (const n of names) {
    if (!(HOSPITAL_REGISTERS as readonly string[]).includes(n)) throw new Error(`--format ${format} fills the registers ${HOSPITAL_REGISTERS.map((r) => `demo:${r}`).join(', ')}; --schema ${JSON.stringify(n)} is not one of them`);
  }
  if (names.length === 0) throw new Error('--schema names no register');
  return [...new Set(names)] as HospitalRegister[];
}

function printProblems(what: string, log: ProblemLog, read: string, max: number, out: (l: string) => void): void {
  out(`${what}: ${log.count} problem${log.count === 1 ? '' : 's'}${log.badRows > 0 ? ` in ${log.badRows} line${log.badRows === 1 ? '' : 's'}` : ''}${read}:`);
  for (const l of formatProblems(log, max, 'line')) out(l);
}

/** Runs `mosaik ingest --format fhir | omop`; returns the exit code. */
export async function runHospitalIngest(o: HospitalIngestOptions, out: (l: string) => void, err: (l: string) => void): Promise<0 | 1 | 2> {
  const inputs = [o.file, ...(o.files ?? [])].map((p) => resolve(p));
  const label = inputs.length === 1 ? basename(inputs[0]!) : 'the export';
  let registers: HospitalRegister[] | undefined;
  let files: ReturnType<typeof exportFiles>;
  try {
    registers = o.schema === undefined ? undefined : parseRegisters(o.schema, o.format);
    const kind = o.format === 'fhir' ? FHIR_FILES : OMOP_FILES;
    files = exportFiles(inputs, kind.wanted, kind.what);
  } catch (e) {
    err(`ingest: ${(e as Error).message}`);
    return 1;
  }
  const lists = demoCodeLists();
  let codeMap: CodeMap | undefined;
  if (o.codeMap !== undefined) {
    try {
      const m = readCodeMapFile(resolve(o.codeMap), { icd10: lists.get('icd10')!, atc: lists.get('atc')! });
      if (m.problems.count > 0) {
        printProblems(basename(o.codeMap), m.problems, '', o.maxProblems ?? 50, out);
        out(`ingest: the code map ${basename(o.codeMap)} is not valid; nothing was uploaded`);
        return 1;
      }
      codeMap = m.map;
    } catch (e) {
      err(`ingest: cannot read the code map ${o.codeMap}: ${(e as Error).message}`);
      return 1;
    }
  }
  // Check the upload settings before spending time on a large export.
  const custodians = (registers ?? HOSPITAL_REGISTERS).map((r) => SCHEMAS[r]().custodian);
  const settings = o.dryRun ? null : uploadSettings(o, custodians, err);
  if (!o.dryRun && !settings) return 1;

  const bytes = files.reduce((s, f) => s + statSync(f.path).size, 0);
  if (!o.quiet) err(`reading ${label} (${files.length} file${files.length === 1 ? '' : 's'}, ${mb(bytes)} MB, ${FORMAT_NAMES[o.format]})${registers ? ` for ${registers.join(', ')}` : ''}`);
  const t0 = performance.now();
  const read = o.format === 'fhir' ? readFhirExport : readOmopExport;
  const records = await read(files.map((f) => f.path), { codeMap, ...(o.personSystem !== undefined ? { personSystem: o.personSystem } : {}), onProgress: progressPrinter(o, err) });
  const mapped = hospitalRegisters(records, { ...(registers ? { registers } : {}), bytes });
  const s = (performance.now() - t0) / 1000;
  const counts = `${thousands(records.patients.length)} patients, ${thousands(records.contacts.length)} contacts, ${thousands(records.medications.length)} prescriptions`;
  if (!mapped.ok) {
    printProblems(label, records.problems, ` (${counts} read)`, o.maxProblems ?? 50, out);
    out(`ingest: ${label} is not valid for ${(registers ?? HOSPITAL_REGISTERS.filter((r) => mapped.registers.some((m) => m.schema.name === r))).join(', ') || 'any register'}; nothing was uploaded`);
    return 1;
  }
  out(`${label}: ${counts} (${s.toFixed(2)} s, ${mb(bytes / s)} MB/s)`);
  for (const r of mapped.registers) out(`  ${r.schema.name}: ${thousands(r.validation.rows)} rows × ${r.schema.columns.length} columns valid`);
  for (const n of records.notes) out(`  note: ${n}`);
  if (o.dryRun) {
    out(`ingest --dry-run: ${label} is valid for ${mapped.registers.map((r) => r.schema.name).join(', ')}; nothing was uploaded`);
    return 0;
  }
  for (const r of mapped.registers) {
    const code = await uploadValidated(o, settings!, { schema: r.schema, codeLists: mapped.codeLists, rows: r.validation.rows, columns: r.validation.columns! }, out, err);
    if (code !== 0) {
      const done = mapped.registers.slice(0, mapped.registers.indexOf(r)).map((d) => d.schema.name);
      if (done.length) err(`ingest: ${done.join(', ')} ${done.length > 1 ? 'were' : 'was'} uploaded as version ${settings!.version} before this failure; re-run with --version ${settings!.version} to complete`);
      return code;
    }
  }
  return 0;
}
