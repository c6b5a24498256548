// The custodian's input file, whatever its format: CSV (./csv.ts), JSON Lines (./jsonl.ts) or Parquet
// (./parquet.ts). The format follows from the file name's extension (.csv; .jsonl or .ndjson;
// .parquet or .pq; any other extension is read as CSV, as `mosaik ingest` always did) unless given
// (`mosaik ingest --format`). Every reader validates with the same core (./validate.ts) and returns
// the same IngestValidation; positions are lines for CSV and JSON Lines, rows for Parquet.
// A hospital export (--format fhir: FHIR R4 Bulk Data NDJSON, ./fhir.ts; --format omop: OMOP CDM
// 5.4 tables, ./omop.ts) is several files that fill several registers: never guessed from an
// extension, read by readHospitalExport (./hospital-export.ts), not by readInputFile.
import { extname } from 'node:path';
import { readCsvFile } from './csv.js';
import { readJsonlFile } from './jsonl.js';
import type { CodeList, DatasetSchema } from './schema.js';
import type { IngestProgress, IngestValidation, InputFormat } from './validate.js';

export type { InputFormat } from './validate.js';

export const INPUT_FORMATS: readonly InputFormat[] = ['csv', 'jsonl', 'parquet', 'fhir', 'omop'];

/** The formats of hospital exports: several files, several registers. */
export const HOSPITAL_FORMATS: readonly InputFormat[] = ['fhir', 'omop'];

export const FORMAT_NAMES: Record<InputFormat, string> = { csv: 'CSV', jsonl: 'JSON Lines', parquet: 'Parquet', fhir: 'FHIR R4 Bulk Data NDJSON', omop: 'OMOP CDM 5.4 tables' };

/** A --format argument; throws with the accepted values. */
export function parseFormat(s: string): InputFormat {
  const f = s.toLowerCase() === 'ndjson' ? 'jsonl' : s.toLowerCase();
  if (!(INPUT_FORMATS as string[]).includes(f)) throw new Error(`unknown format '${s}' (choose one of ${INPUT_FORMATS.join(', ')})`);
  return f as InputFormat;
}

/** The format of a file from its extension; throws for .json, which is ambiguous. */
export function formatFromPath(path: string): InputFormat {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    case '.parquet':
    case '.pq':
      return 'parquet';
    case '.json':
      throw new Error(`cannot tell the format of ${path} from its extension: JSON Lines files (one object per line) end in .jsonl or .ndjson; use --format jsonl if it is one`);
    default:
      return 'csv';
  }
}

export interface ReadInputOptions {
  /** Default: from the file's extension (formatFromPath). */
  format?: InputFormat;
  /** Input columns (CSV header fields, JSON keys, Parquet columns) not in the schema are skipped instead of being an error. */
  ignoreExtra?: boolean;
  /** CSV and JSON Lines: about every progressIntervalMs (default 1000); Parquet: after every row group. */
  onProgress?: (p: IngestProgress) => void;
  progressIntervalMs?: number;
  /** How many problems to keep for the report (all are counted). Default 1000. */
  keepProblems?: number;
}

/** Validates a file of any supported format against a schema. */
export async function readInputFile(path: string, schema: DatasetSchema, codeLists: Map<string, CodeList>, opts: ReadInputOptions = {}): Promise<IngestValidation> {
  const format = opts.format ?? formatFromPath(path);
  const common = { ignoreExtra: opts.ignoreExtra, onProgress: opts.onProgress, keepProblems: opts.keepProblems };
  switch (format) {
    case 'csv':
      return readCsvFile(path, schema, codeLists, { ...common, progressIntervalMs: opts.progressIntervalMs });
    case 'jsonl':
      return readJsonlFile(path, schema, codeLists, { ...common, progressIntervalMs: opts.progressIntervalMs });
    case 'parquet':
      // Loaded only for a Parquet file: hyparquet is a third of what a CSV ingest would load.
      return (await import('./parquet.js')).readParquetFile(path, schema, codeLists, common);
    case 'fhir':
    case 'omop':
      throw new Error(`${FORMAT_NAMES[format]} is a hospital export of several files and registers: read it with readHospitalExport`);
  }
}
