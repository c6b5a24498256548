// `mosaik ingest`: the custodian's command. Validates a CSV, JSON Lines or Parquet file against a
// dataset schema (src/ingest/input.ts: csv.ts, jsonl.ts, parquet.ts, all checked by validate.ts),
// or a hospital's FHIR or OMOP export against the registers it fills (./ingest-hospital.ts), splits
// every column into replicated secret shares on this machine and sends each of the three nodes only
// its share pair over pinned TLS (./ingest-upload.ts, src/ingest/upload.ts).
//
//   mosaik ingest --dir <cluster dir> --schema <schema.json | demo:<register>> [--codelists <file.json>]
//                 [--format csv|jsonl|parquet] [--version v] [--dry-run] [--ignore-extra] [--key <file>]
//                 [--sign-key <custodian Ed25519 key> [--signer <name>]]
//                 <file.csv | file.jsonl | file.ndjson | file.parquet>
//   mosaik ingest --dir <cluster dir> --format fhir|omop [--schema demo:<register>[,…]] [--code-map <map.csv>]
//                 [--person-system <uri>] [--version v] [--dry-run] … <export dir | files…>
//
// Every upload is signed by a custodian identity (nodes accept uploads from custodians only):
// --sign-key <key> (`mosaik identity keygen`), else the cluster's local custodian identity
// (<dir>/identities/custodian.ed25519.key.pem, made by `mosaik local-cluster`). Governed nodes
// (`mosaik node --consortium`) also need each node's header signed by the dataset's custodian
// (src/ingest/upload-auth.ts); with --sign-key the signer's name defaults to the schema's custodian.
//
// The format follows from the extension unless --format is given (other extensions: CSV); FHIR and
// OMOP exports are never guessed. Exit codes: 0 ok, 1 invalid input (every problem is listed with
// its line number, or "row N" in a Parquet file, after the file's name in an export; nothing is
// uploaded), 2 upload failure (each failing node named with the reason). Progress goes to stderr
// about once a second (Parquet: after a row group, at most once a second); the result and the
// summary line to stdout.
import { InvalidArgumentError, type Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { demoCodeLists } from '../demo/codelists.js';
import { demoSchemas } from '../demo/schemas.js';
import { FORMAT_NAMES, formatFromPath, HOSPITAL_FORMATS, INPUT_FORMATS, parseFormat, readInputFile, type InputFormat } from '../ingest/input.js';
import { checkSchema, SchemaError, type CodeList, type DatasetSchema } from '../ingest/schema.js';
import { parseCodeLists, parseSchemaDocument } from '../ingest/schema-document.js';
import { DEFAULT_PERSON_SYSTEM } from '../ingest/person-system.js';
import { formatProblems } from '../ingest/validate.js';
import { mb, progressPrinter, thousands, uploadSettings, uploadValidated, type UploadOptions } from './ingest-upload.js';

export interface IngestOptions extends UploadOptions {
  /** The input file; for a FHIR or OMOP export, the first of its files or directories. */
  file: string;
  /** Further files or directories of a FHIR or OMOP export. */
  files?: string[];
  /** A schema JSON file or demo:<register>; FHIR and OMOP: demo registers, comma-separated (default: all the export fills). */
  schema?: string;
  codelists?: string;
  /** csv, jsonl, parquet, fhir or omop; default from the file's extension (csv, jsonl, parquet). */
  format?: InputFormat | string;
  dryRun?: boolean;
  ignoreExtra?: boolean;
  /** FHIR and OMOP: the custodian's code map CSV for code systems other than ICD-10 and ATC. */
  codeMap?: string;
  /** FHIR: the national person-id system of Patient.identifier. */
  personSystem?: string;
  /** Problems printed (all are counted). Default 50. */
  maxProblems?: number;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** The schema and code lists named on the command line (a file is read by src/ingest/schema-document.ts). */
export function loadSchemaArg(schemaArg: string, codelistsPath?: string): { schema: DatasetSchema; codeLists: Map<string, CodeList> } {
  const extra = codelistsPath ? parseCodeLists(readJson(codelistsPath, 'code lists'), codelistsPath) : [];
  if (!schemaArg.startsWith('demo:')) return parseSchemaDocument(readJson(schemaArg, 'schema'), schemaArg, extra);
  const name = schemaArg.slice(5);
  const schema = demoSchemas().find((d) => d.name === name);
  if (!schema) throw new Error(`no demo register '${name}' (choose one of ${demoSchemas().map((d) => d.name).join(', ')})`);
  const lists = new Map<string, CodeList>(demoCodeLists());
  for (const l of extra) lists.set(l.name, l);
  checkSchema(schema, lists);
  return { schema, codeLists: lists };
}

/** Runs `mosaik ingest`; returns the exit code. */
export async function runIngest(o: IngestOptions): Promise<0 | 1 | 2> {
  const out = o.out ?? ((l: string) => console.log(l));
  const err = o.err ?? ((l: string) => console.error(l));
  let format: InputFormat | undefined;
  try {
    format = o.format !== undefined ? parseFormat(o.format) : undefined;
  } catch (e) {
    err(`ingest: ${(e as Error).message}`);
    return 1;
  }
  if (format !== undefined && HOSPITAL_FORMATS.includes(format)) return (await import('./ingest-hospital.js')).runHospitalIngest({ ...o, format: format as 'fhir' | 'omop' }, out, err);
  if (o.files?.length) {
    err(`ingest: one file at a time for ${format ? FORMAT_NAMES[format] : 'CSV, JSON Lines or Parquet'} (several files are for --format fhir or omop)`);
    return 1;
  }
  if (o.schema === undefined) {
    err('ingest: --schema is required (a schema JSON file, or demo:<register>)');
    return 1;
  }
  const file = resolve(o.file);
  const name = basename(file);
  let loaded: ReturnType<typeof loadSchemaArg>;
  try {
    loaded = loadSchemaArg(o.schema, o.codelists);
  } catch (e) {
    err(`ingest: ${e instanceof SchemaError ? `schema: ${e.message}` : (e as Error).message}`);
    return 1;
  }
  const { schema, codeLists } = loaded;
  if (!existsSync(file)) {
    err(`ingest: ${file} does not exist`);
    return 1;
  }
  try {
    format ??= formatFromPath(file);
  } catch (e) {
    err(`ingest: ${(e as Error).message}`);
    return 1;
  }
  // Check the upload settings before spending time on a large file.
  const settings = o.dryRun ? null : uploadSettings(o, [schema.custodian], err);
  if (!o.dryRun && !settings) return 1;

  const size = statSync(file).size;
  if (!o.quiet) err(`reading ${name} (${mb(size)} MB, ${FORMAT_NAMES[format]}) as ${schema.name} (custodian ${schema.custodian}, ${schema.columns.length} columns)`);
  const v = await readInputFile(file, schema, codeLists, { format, ignoreExtra: o.ignoreExtra, onProgress: progressPrinter(o, err) });
  const rate = thousands((v.rows * 1000) / Math.max(1, v.elapsedMs));
  if (!v.ok) {
    const where = v.badRows > 0 ? ` in ${v.badRows} ${v.unit}${v.badRows === 1 ? '' : 's'}` : '';
    out(`${name}: ${v.problemCount} problem${v.problemCount === 1 ? '' : 's'}${where}${v.rows ? ` (${thousands(v.rows)} data rows read)` : ''}:`);
    for (const l of formatProblems({ list: v.problems, count: v.problemCount, badRows: v.badRows }, o.maxProblems ?? 50, v.unit)) out(l);
    out(`ingest: ${name} is not valid for ${schema.name}; nothing was uploaded`);
    return 1;
  }
  const notes = [
    v.ignoredColumns.length ? `ignored column${v.ignoredColumns.length > 1 ? 's' : ''} ${v.ignoredColumns.join(', ')}` : '',
    v.absentColumns.length ? `optional column${v.absentColumns.length > 1 ? 's' : ''} ${v.absentColumns.join(', ')} absent (stored as missing)` : '',
  ].filter(Boolean);
  out(`${name}: ${thousands(v.rows)} rows × ${schema.columns.length} columns valid (${(v.elapsedMs / 1000).toFixed(2)} s, ${rate} rows/s)${notes.length ? `; ${notes.join('; ')}` : ''}`);
  if (o.dryRun) {
    out(`ingest --dry-run: ${name} is valid for ${schema.name}; nothing was uploaded`);
    return 0;
  }
  return uploadValidated(o, settings!, { schema, codeLists, rows: v.rows, columns: v.columns! }, out, err);
}

const int = (what: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer ≥ ${min}`);
  return n;
};

/** Adds `mosaik ingest` to the CLI. */
export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('validate a CSV, JSON Lines or Parquet file against a dataset schema, or a FHIR or OMOP hospital export against the registers it fills, split it into secret shares here and send each node only its share over pinned TLS (exit 0 ok, 1 invalid input, 2 upload failure)')
    .argument(
      '<input...>',
      'CSV with a header row naming the columns (any order); JSON Lines (.jsonl, .ndjson): one object per line, keys naming the columns; Parquet (.parquet, .pq): columns named as in the schema; ' +
        'with --format fhir: a FHIR R4 Bulk Data export, its directory or its NDJSON files (Patient, Encounter, Condition, MedicationRequest or MedicationStatement, Observation, Organization, Medication); ' +
        'with --format omop: OMOP CDM 5.4 tables as CSV, their directory or files (person, location, observation_period, death, care_site, visit_occurrence, condition_occurrence, drug_exposure, measurement)',
    )
    .option('--dir <clusterDir>', 'cluster directory with cluster.json (or the path of cluster.json); required unless --dry-run')
    .option('--schema <schema>', 'dataset schema: a JSON file ({name, custodian, columns} or {schema, codeLists}), or demo:<register> (population, contacts, prescriptions, income); required except for --format fhir and omop, where it picks the registers to fill (demo:population, demo:contacts, demo:prescriptions, comma-separated; default: every one the export has data for)')
    .option('--codelists <file>', 'code lists as JSON: [{name, codes, labels?}, …]')
    .option('--format <format>', `input format, one of ${INPUT_FORMATS.join(', ')} (default: from the extension: .jsonl/.ndjson JSON Lines, .parquet/.pq Parquet, otherwise CSV; a FHIR or OMOP export is never guessed)`, (s: string) => {
      try {
        return parseFormat(s);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    })
    .option('--code-map <file>', 'FHIR and OMOP: the mapping of other code systems onto ICD-10 and ATC, CSV with the columns source_system,source_code,target_system,target_code (source_system: a FHIR Coding.system URI, or OMOP for OMOP concept ids; target_system: ICD-10 or ATC)')
    .option('--person-system <uri>', `FHIR: the identifier system of the national person id in Patient.identifier (default ${DEFAULT_PERSON_SYSTEM}, the Danish CPR number in HL7 Denmark's DK Core); OMOP reads person.person_source_value`)
    .option('--version <version>', 'dataset version id, the same at every node (default: a UTC timestamp); re-running with the same version and content is idempotent')
    .option('--dry-run', 'validate only; upload nothing')
    .option('--ignore-extra', 'skip input columns (CSV header fields, JSON keys, Parquet columns) that are not in the schema instead of failing')
    .option('--key <file>', 'custodian share key (default <dir>/custodians/<custodian>.key, created on first use)')
    .option('--sign-key <file>', "the custodian's Ed25519 private key (PEM, from `mosaik identity keygen`) that signs the upload (default: <dir>/identities/custodian.ed25519.key.pem, made by mosaik local-cluster); nodes refuse unsigned uploads")
    .option('--signer <name>', 'the identity to sign as (default: the one registered for the key in identities.json; with --sign-key, the schema\'s custodian)')
    .option('--timeout <ms>', 'connect / idle timeout per node', int('timeout', 1), 30_000)
    .option('--max-problems <n>', 'problems to print (all are counted)', int('max problems', 1), 50)
    .option('--quiet', 'no progress output')
    .action(async (inputs: string[], o: { dir?: string; schema?: string; codelists?: string; format?: InputFormat; codeMap?: string; personSystem?: string; version?: string; dryRun?: boolean; ignoreExtra?: boolean; key?: string; signKey?: string; signer?: string; timeout: number; maxProblems: number; quiet?: boolean }) => {
      process.exitCode = await runIngest({
        file: inputs[0]!,
        files: inputs.slice(1),
        dir: o.dir,
        schema: o.schema,
        codelists: o.codelists,
        format: o.format,
        codeMap: o.codeMap,
        personSystem: o.personSystem,
        version: o.version,
        dryRun: o.dryRun,
        ignoreExtra: o.ignoreExtra,
        key: o.key,
        signKey: o.signKey,
        signer: o.signer,
        timeoutMs: o.timeout,
        maxProblems: o.maxProblems,
        quiet: o.quiet,
      });
    });
}
