// `mosaik ingest`: the custodian's command. Validates a CSV, JSON Lines or Parquet file against a
// dataset schema (src/ingest/input.ts: csv.ts, jsonl.ts, parquet.ts, all checked by validate.ts),
// splits every column into replicated secret shares on this machine and sends each of the three
// nodes only its share pair over pinned TLS (src/ingest/upload.ts).
//
//   mosaik ingest --dir <cluster dir> --schema <schema.json | demo:<register>> [--codelists <file.json>]
//                 [--format csv|jsonl|parquet] [--version v] [--dry-run] [--ignore-extra] [--key <file>]
//                 [--sign-key <custodian Ed25519 key> [--signer <name>]]
//                 <file.csv | file.jsonl | file.ndjson | file.parquet>
//
// Every upload is signed by a custodian identity (nodes accept uploads from custodians only):
// --sign-key <key> (`mosaik identity keygen`), else the cluster's local custodian identity
// (<dir>/identities/custodian.ed25519.key.pem, made by `mosaik local-cluster`). Governed nodes
// (`mosaik node --consortium`) also need each node's header signed by the dataset's custodian
// (src/ingest/upload-auth.ts); with --sign-key the signer's name defaults to the schema's custodian.
//
// The format follows from the extension unless --format is given (other extensions: CSV).
// Exit codes: 0 ok, 1 invalid input (every problem is listed with its line number, or "row N" in a
// Parquet file; nothing is uploaded), 2 upload failure (each failing node named with the reason).
// Progress goes to stderr about once a second (Parquet: after a row group, at most once a second);
// the result and the summary line to stdout.
import { InvalidArgumentError, type Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { demoCodeLists } from '../demo/codelists.js';
import { demoSchemas } from '../demo/schemas.js';
import { loadClusterConfig } from '../net/keys.js';
import { FORMAT_NAMES, formatFromPath, INPUT_FORMATS, parseFormat, readInputFile, type InputFormat } from '../ingest/input.js';
import { checkSchema, SchemaError, type CodeList, type DatasetSchema } from '../ingest/schema.js';
import { parseCodeLists, parseSchemaDocument } from '../ingest/schema-document.js';
import { apiAddress, checkVersion, defaultVersion, loadCustodianKey, uploadDataset, UploadError, type UploadProgress } from '../ingest/upload.js';
import { formatProblems, type IngestProgress } from '../ingest/validate.js';
import type { Signer } from '../governance/identity.js';
import { cliSigner } from './identity-defaults.js';

export interface IngestOptions {
  file: string;
  /** Cluster directory (with cluster.json) or the path of cluster.json; not needed for a dry run. */
  dir?: string;
  schema: string;
  codelists?: string;
  /** csv, jsonl or parquet; default from the file's extension. */
  format?: InputFormat | string;
  version?: string;
  dryRun?: boolean;
  ignoreExtra?: boolean;
  /** Custodian share key file; default <dir>/custodians/<custodian>.key (created if absent). */
  key?: string;
  /** The custodian's Ed25519 private key (PEM): sign the upload (governed nodes require it). */
  signKey?: string;
  /** Name to sign as (default: the schema's custodian). */
  signer?: string;
  timeoutMs?: number;
  quiet?: boolean;
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

const mb = (n: number) => (n / 1e6).toFixed(n < 1e7 ? 2 : 1);
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

/** Runs `mosaik ingest`; returns the exit code. */
export async function runIngest(o: IngestOptions): Promise<0 | 1 | 2> {
  const out = o.out ?? ((l: string) => console.log(l));
  const err = o.err ?? ((l: string) => console.error(l));
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
  let format: InputFormat;
  try {
    format = o.format !== undefined ? parseFormat(o.format) : formatFromPath(file);
  } catch (e) {
    err(`ingest: ${(e as Error).message}`);
    return 1;
  }
  // Check the upload settings before spending time on a large file.
  let version: string | undefined;
  let config: ReturnType<typeof loadClusterConfig> | undefined;
  let signer: Signer | undefined;
  if (!o.dryRun) {
    if (!o.dir) {
      err('ingest: --dir <cluster dir> is required (or use --dry-run to validate only)');
      return 1;
    }
    try {
      version = checkVersion(o.version ?? defaultVersion());
      const d = resolve(o.dir);
      // The custodian identity that signs: --sign-key, else this cluster's local custodian identity.
      signer = cliSigner({ dir: d.endsWith('.json') ? dirname(d) : d, ...(o.signKey !== undefined ? { key: resolve(o.signKey) } : {}), role: 'custodian', flag: '--sign-key', ...(o.signer !== undefined ? { name: o.signer } : o.signKey !== undefined ? { name: schema.custodian } : {}) });
      config = loadClusterConfig(d.endsWith('.json') ? d : join(d, 'cluster.json'));
    } catch (e) {
      err(`ingest: ${(e as Error).message}`);
      return 1;
    }
  }

  const size = statSync(file).size;
  if (!o.quiet) err(`reading ${name} (${mb(size)} MB, ${FORMAT_NAMES[format]}) as ${schema.name} (custodian ${schema.custodian}, ${schema.columns.length} columns)`);
  let lastPrint = -Infinity;
  const v = await readInputFile(file, schema, codeLists, {
    format,
    ignoreExtra: o.ignoreExtra,
    onProgress: o.quiet
      ? undefined
      : (p: IngestProgress) => {
          // Quiet for the first 0.9 s, then at most about once a second.
          if (p.elapsedMs < 900 || p.elapsedMs - lastPrint < 900) return;
          lastPrint = p.elapsedMs;
          if (p.rowGroup !== undefined) {
            const pct = p.totalRows ? ` ${Math.floor((100 * p.rows) / p.totalRows)}%,` : '';
            err(`  validating: row group ${p.rowGroup} of ${p.rowGroups},${pct} ${thousands(p.rows)} rows, ${thousands(p.rowsPerSecond)} rows/s`);
            return;
          }
          const pct = p.totalBytes ? ` ${Math.floor((100 * p.bytes) / p.totalBytes)}%,` : '';
          err(`  validating:${pct} ${thousands(p.rows)} rows, ${thousands(p.rowsPerSecond)} rows/s`);
        },
  });
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

  const cfg = config!;
  let key: Uint8Array;
  try {
    const keyPath = o.key ? resolve(o.key) : join(cfg.dir, 'custodians', `${schema.custodian}.key`);
    const k = loadCustodianKey(keyPath, { create: !o.key });
    key = k.key;
    if (k.created && !o.quiet) err(`created custodian share key ${keyPath} (mode 0600; keep it to re-run uploads idempotently)`);
  } catch (e) {
    err(`ingest: ${(e as Error).message}`);
    return 1;
  }
  const targets = cfg.nodes.map((n) => {
    const a = apiAddress(cfg, n.id);
    return `${n.name} (${a.host}:${a.port})`;
  });
  if (!o.quiet) err(`sharing ${schema.name} version ${version}${signer ? `, signed as '${signer.name}',` : ''} and uploading to ${targets.join(', ')}`);
  try {
    const r = await uploadDataset({
      config: cfg,
      dataset: { schema, codeLists, rows: v.rows, columns: v.columns! },
      version: version!,
      key,
      signer: signer!,
      timeoutMs: o.timeoutMs,
      onProgress: o.quiet
        ? undefined
        : (p: UploadProgress) => {
            if (p.elapsedMs < 900) return;
            err(`  uploading: ${Math.floor((100 * p.sent) / p.total)}% (${mb(p.sent)} of ${mb(p.total)} MB), ${mb(p.bytesPerSecond)} MB/s`);
          },
    });
    const status = r.nodes.map((n) => `${n.node} ${n.status === 201 ? 'stored' : 'already had it'}`).join(', ');
    out(
      `ingest: ${schema.name} version ${r.version}: ${thousands(r.rows)} rows × ${schema.columns.length} columns shared; ${status}; ` +
        `${mb(r.bytes[0]!)} MB per node in ${(r.elapsedMs / 1000).toFixed(2)} s`,
    );
    return 0;
  } catch (e) {
    if (e instanceof UploadError) {
      err(`ingest: ${e.message}`);
      return 2;
    }
    err(`ingest: upload failed: ${(e as Error).message}`);
    return 2;
  }
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
    .description('validate a CSV, JSON Lines or Parquet file against a dataset schema, split it into secret shares here and send each node only its share over pinned TLS (exit 0 ok, 1 invalid input, 2 upload failure)')
    .argument('<file>', 'CSV with a header row naming the columns (any order); JSON Lines (.jsonl, .ndjson): one object per line, keys naming the columns; or Parquet (.parquet, .pq): columns named as in the schema')
    .option('--dir <clusterDir>', 'cluster directory with cluster.json (or the path of cluster.json); required unless --dry-run')
    .requiredOption('--schema <schema>', 'dataset schema: a JSON file ({name, custodian, columns} or {schema, codeLists}), or demo:<register> (population, contacts, prescriptions, income)')
    .option('--codelists <file>', 'code lists as JSON: [{name, codes, labels?}, …]')
    .option('--format <format>', `input format, one of ${INPUT_FORMATS.join(', ')} (default: from the extension: .jsonl/.ndjson JSON Lines, .parquet/.pq Parquet, otherwise CSV)`, (s: string) => {
      try {
        return parseFormat(s);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    })
    .option('--version <version>', 'dataset version id, the same at every node (default: a UTC timestamp); re-running with the same version and content is idempotent')
    .option('--dry-run', 'validate only; upload nothing')
    .option('--ignore-extra', 'skip input columns (CSV header fields, JSON keys, Parquet columns) that are not in the schema instead of failing')
    .option('--key <file>', 'custodian share key (default <dir>/custodians/<custodian>.key, created on first use)')
    .option('--sign-key <file>', "the custodian's Ed25519 private key (PEM, from `mosaik identity keygen`) that signs the upload (default: <dir>/identities/custodian.ed25519.key.pem, made by mosaik local-cluster); nodes refuse unsigned uploads")
    .option('--signer <name>', 'the identity to sign as (default: the one registered for the key in identities.json; with --sign-key, the schema\'s custodian)')
    .option('--timeout <ms>', 'connect / idle timeout per node', int('timeout', 1), 30_000)
    .option('--max-problems <n>', 'problems to print (all are counted)', int('max problems', 1), 50)
    .option('--quiet', 'no progress output')
    .action(async (file: string, o: { dir?: string; schema: string; codelists?: string; format?: InputFormat; version?: string; dryRun?: boolean; ignoreExtra?: boolean; key?: string; signKey?: string; signer?: string; timeout: number; maxProblems: number; quiet?: boolean }) => {
      process.exitCode = await runIngest({
        file,
        dir: o.dir,
        schema: o.schema,
        codelists: o.codelists,
        format: o.format,
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
