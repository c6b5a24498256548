// The upload half of `mosaik ingest`, for one file (./ingest.ts) and for the registers of a hospital
// export (./ingest-hospital.ts): the settings checked before any input is read (cluster, version,
// signing identity), then per dataset the custodian's share key, the signed upload to the three
// nodes (src/ingest/upload.ts) and its one-line report; and the progress lines both print while
// validating. Exit codes as `mosaik ingest`'s: 1 for bad settings, 2 for an upload that failed.
import { dirname, join, resolve } from 'node:path';
import { loadClusterConfig, type ClusterConfig } from '../net/keys.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import type { IngestProgress } from '../ingest/validate.js';
import { inPersonOrder } from '../ingest/person-order.js';
import { apiAddress, checkVersion, defaultVersion, loadCustodianKey, uploadDataset, UploadError, type UploadProgress } from '../ingest/upload.js';
import type { Signer } from '../governance/identity.js';
import { cliSigner } from './identity-defaults.js';

export interface UploadOptions {
  /** Cluster directory (with cluster.json) or the path of cluster.json; not needed for a dry run. */
  dir?: string;
  version?: string;
  /** Custodian share key file; default <dir>/custodians/<custodian>.key (created if absent). */
  key?: string;
  /** The custodian's Ed25519 private key (PEM): sign the upload (governed nodes require it). */
  signKey?: string;
  /** Name to sign as (default: the schema's custodian). */
  signer?: string;
  timeoutMs?: number;
  quiet?: boolean;
}

export interface UploadSettings {
  config: ClusterConfig;
  version: string;
  /** The identity that signs the uploads of a custodian's datasets. */
  signerFor(custodian: string): Signer;
}

/** Progress lines on stderr: quiet for the first 0.9 s, then at most about once a second. */
export function progressPrinter(o: { quiet?: boolean }, err: (l: string) => void): ((p: IngestProgress) => void) | undefined {
  if (o.quiet) return undefined;
  let lastPrint = -Infinity;
  return (p: IngestProgress) => {
    if (p.elapsedMs < 900 || p.elapsedMs - lastPrint < 900) return;
    lastPrint = p.elapsedMs;
    if (p.rowGroup !== undefined) {
      const pct = p.totalRows ? ` ${Math.floor((100 * p.rows) / p.totalRows)}%,` : '';
      err(`  validating: row group ${p.rowGroup} of ${p.rowGroups},${pct} ${thousands(p.rows)} rows, ${thousands(p.rowsPerSecond)} rows/s`);
      return;
    }
    const pct = p.totalBytes ? ` ${Math.floor((100 * p.bytes) / p.totalBytes)}%,` : '';
    err(`  validating:${pct} ${thousands(p.rows)} rows, ${thousands(p.rowsPerSecond)} rows/s`);
  };
}

export const mb = (n: number) => (n / 1e6).toFixed(n < 1e7 ? 2 : 1);
/** 1234567 → "1,234,567" (toLocaleString would start ICU's number formatting: ≈ 20 ms per ingest process). */
export const thousands = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Checks the upload settings before a large input is read; `custodians` are the schemas' (checked now). Null after reporting. */
export function uploadSettings(o: UploadOptions, custodians: string[], err: (l: string) => void): UploadSettings | null {
  if (!o.dir) {
    err('ingest: --dir <cluster dir> is required (or use --dry-run to validate only)');
    return null;
  }
  try {
    const version = checkVersion(o.version ?? defaultVersion());
    const d = resolve(o.dir);
    const dir = d.endsWith('.json') ? dirname(d) : d;
    // The custodian identity that signs: --sign-key, else this cluster's local custodian identity.
    const signerFor = (custodian: string) =>
      cliSigner({ dir, ...(o.signKey !== undefined ? { key: resolve(o.signKey) } : {}), role: 'custodian', flag: '--sign-key', ...(o.signer !== undefined ? { name: o.signer } : o.signKey !== undefined ? { name: custodian } : {}) });
    for (const c of new Set(custodians)) signerFor(c);
    const config = loadClusterConfig(d.endsWith('.json') ? d : join(d, 'cluster.json'));
    return { config, version, signerFor };
  } catch (e) {
    err(`ingest: ${(e as Error).message}`);
    return null;
  }
}

/** Shares one validated dataset and uploads it; returns the exit code (0, 1 bad key, 2 upload failed). */
export async function uploadValidated(
  o: UploadOptions,
  s: UploadSettings,
  dataset: { schema: DatasetSchema; codeLists: Map<string, CodeList>; rows: number; columns: Map<string, BigUint64Array> },
  out: (l: string) => void,
  err: (l: string) => void,
): Promise<0 | 1 | 2> {
  const { schema } = dataset;
  // Rows in person-id order, so that the nodes merge instead of sort for joins (src/ingest/person-order.ts).
  dataset = inPersonOrder(dataset);
  const cfg = s.config;
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
  const signer = s.signerFor(schema.custodian);
  const targets = cfg.nodes.map((n) => {
    const a = apiAddress(cfg, n.id);
    return `${n.name} (${a.host}:${a.port})`;
  });
  if (!o.quiet) err(`sharing ${schema.name} version ${s.version}, signed as '${signer.name}', and uploading to ${targets.join(', ')}`);
  try {
    const r = await uploadDataset({
      config: cfg,
      dataset,
      version: s.version,
      key,
      signer,
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
        `${mb(r.bytes.reduce((a, b) => a + b, 0))} MB sent (${r.nodes.map((n) => `${n.node} ${mb(n.bytes)}`).join(', ')}) in ${(r.elapsedMs / 1000).toFixed(2)} s`,
    );
    return 0;
  } catch (e) {
    err(`ingest: ${e instanceof UploadError ? e.message : `upload failed: ${(e as Error).message}`}`);
    return 2;
  }
}
