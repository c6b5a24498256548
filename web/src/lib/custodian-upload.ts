// A custodian's upload from the browser, as `mosaik ingest` does it (src/cli/ingest.ts) but with the
// key and the plaintext never leaving this browser:
//   1. the file is validated here by the CLI's own reading and validation cores (src/ingest/csv-read.ts,
//      jsonl-read.ts, validate.ts): every problem with its line number; nothing is sent when one is found;
//   2. every column is split into 3-party replicated shares here, x₀ and x₁ drawn from two fresh seeds
//      (crypto.getRandomValues) by AES-CTR (src/ingest/seeded-shares.ts), so that a node gets the seed
//      of each half it can draw instead of its bytes (src/ingest/upload-body.ts seededHalves);
//   3. each node's header is signed here by the custodian (the UploadStatement of src/ingest/upload-statement.ts,
//      Ed25519 with the non-extractable WebCrypto key), committing to exactly that node's share bytes;
//   4. each node's body (src/ingest/upload-body.ts) is sealed to that node's X25519 upload key
//      (src/ingest/sealed-upload.ts, HPKE) and sent through the relay to PUT …/versions/:version/sealed.
// What the web relay sees: three signed calls with ciphertext bodies and the nodes' answers. What a node
// sees: its own share pair and the public header. Small files only (UPLOAD_LIMIT_BYTES); larger ones go
// through `mosaik ingest`, which streams.
import { readCsvChunks } from '../../../src/ingest/csv-read.js';
import { readJsonlChunks } from '../../../src/ingest/jsonl-read.js';
import type { CodeList, DatasetSchema, UploadHeader } from '../../../src/ingest/schema.js';
import { sealUpload } from '../../../src/ingest/sealed-upload.js';
import { sealedUploadPath } from '../../../src/ingest/sealed-upload-format.js';
import { checkVersion, encodeUploadHeaderBytes, partySeededBytes, partyShareBytes, shareBodyLength, uploadBodyBytes, uploadHeader, type ShareableDataset } from '../../../src/ingest/upload-body.js';
import { freshSeeds, splitSharesFromSeeds, type ColumnSeeds } from '../../../src/ingest/seeded-shares.js';
import { uploadStatementOf, type UploadSignature } from '../../../src/ingest/upload-statement.js';
import type { IngestProgress, IngestValidation } from '../../../src/ingest/validate.js';
import type { ShareTriple } from '../../../src/mpc/share-split.js';
import { call, cluster, PARTIES, type Party } from './api.js';
import { sha256Hex, utf8 } from './bytes.js';
import type { BrowserIdentity } from './keys.js';
import { canonicalJson, signDocument } from './sign.js';

/** Largest file the browser reads (it holds the file, its encoding and the shares in memory). */
export const UPLOAD_LIMIT_BYTES = 50 * 1000 * 1000;
/** Largest sealed body per node (the web relay takes at most 64 MiB per call). */
export const NODE_BODY_LIMIT_BYTES = 60 * 1000 * 1000;

export type FileFormat = 'csv' | 'jsonl';

export function formatOf(fileName: string): FileFormat | null {
  const n = fileName.toLowerCase();
  if (n.endsWith('.jsonl') || n.endsWith('.ndjson')) return 'jsonl';
  if (n.endsWith('.csv') || n.endsWith('.txt') || n.endsWith('.tsv')) return n.endsWith('.tsv') ? null : 'csv';
  return null;
}

export const sizeText = (n: number): string => (n < 1e5 ? `${Math.max(1, Math.round(n / 1e3))} kB` : `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`);

/** Progress of one upload, for the bar: a phase, a sentence, and how far (0..1) overall. */
export interface UploadProgress {
  phase: 'reading' | 'splitting' | 'signing' | 'sealing' | 'sending' | 'done';
  text: string;
  fraction: number;
}

/** Validates a picked file against the dataset's schema, in this browser, with the CLI's own code. */
export async function validateFile(file: Blob, format: FileFormat, schema: DatasetSchema, codeLists: Map<string, CodeList>, o: { ignoreExtra?: boolean; onProgress?: (p: UploadProgress) => void } = {}): Promise<IngestValidation> {
  if (file.size > UPLOAD_LIMIT_BYTES) throw new Error(`This file has ${sizeText(file.size)}; the web app takes files up to ${sizeText(UPLOAD_LIMIT_BYTES)}. Upload larger files with \`mosaik ingest\`, which streams them.`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const CHUNK = 1 << 20;
  // Chunks with a pause between them, so the page stays responsive and the bar moves.
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < bytes.length; off += CHUNK) {
      yield bytes.subarray(off, Math.min(bytes.length, off + CHUNK));
      await new Promise((ok) => setTimeout(ok, 0));
    }
  }
  const onProgress = (p: IngestProgress) => o.onProgress?.({ phase: 'reading', text: `checking the file: ${p.rows.toLocaleString('en-US')} rows read`, fraction: 0.3 * (p.bytes / Math.max(1, file.size)) });
  const opts = { totalBytes: file.size, progressIntervalMs: 100, onProgress, ...(o.ignoreExtra ? { ignoreExtra: true } : {}) };
  return format === 'csv' ? readCsvChunks(chunks(), schema, codeLists, opts) : readJsonlChunks(chunks(), schema, codeLists, opts);
}

/** What the upload leaves behind at each node. */
export interface NodeOutcome {
  party: Party;
  node: string;
  /** Stored (or the same content was already there); otherwise the node's refusal or why it could not be reached. */
  ok: boolean;
  rows?: number;
  error?: string;
}

export class UploadFailed extends Error {
  constructor(
    message: string,
    readonly outcomes: NodeOutcome[],
  ) {
    super(message);
    this.name = 'UploadFailed';
  }
}

/** The most bytes a node will receive (header and shares: nodes 1 and 2 get x₂'s bytes), to check against the limit before any work. */
export function bodySize(ds: ShareableDataset): number {
  return encodeUploadHeaderBytes(uploadHeader(ds, 1)).length + 512 + shareBodyLength({ rows: ds.rows, columns: ds.schema.columns.map((c) => c.name), party: 1, seeded: true });
}

const pause = () => new Promise((ok) => setTimeout(ok, 0));

/** Every column's shares and the seeds of x₀ and x₁ they were drawn from. */
export interface SplitColumns {
  shares: ShareTriple[];
  seeds: ColumnSeeds[];
}

/** Shares of every column (fresh seeds). Kept by the page so that a retry sends the same shares. */
export async function splitDataset(ds: ShareableDataset, onProgress?: (p: UploadProgress) => void): Promise<SplitColumns> {
  const out: SplitColumns = { shares: [], seeds: [] };
  for (const [k, c] of ds.schema.columns.entries()) {
    onProgress?.({ phase: 'splitting', text: `splitting column ${c.name} into three shares`, fraction: 0.3 + (0.2 * k) / ds.schema.columns.length });
    await pause();
    const seeds = freshSeeds();
    out.seeds.push(seeds);
    out.shares.push(await splitSharesFromSeeds(ds.columns.get(c.name)!, seeds));
  }
  return out;
}

/**
 * Before any share is made: every node reachable, with an upload key; the version not taken at any
 * node; the schema's custodian the signed-in identity.
 */
export async function preflight(id: BrowserIdentity, ds: ShareableDataset, version: string): Promise<void> {
  checkVersion(version);
  if (ds.schema.custodian !== id.name) throw new Error(`The schema of ${ds.schema.name} names custodian '${ds.schema.custodian}', and you are signed in as '${id.name}': only its custodian can upload it.`);
  if (bodySize(ds) > NODE_BODY_LIMIT_BYTES) {
    throw new Error(`These ${ds.rows.toLocaleString('en-US')} rows make about ${sizeText(bodySize(ds))} of shares for each node; the web app sends at most ${sizeText(NODE_BODY_LIMIT_BYTES)} to a node. Upload this file with \`mosaik ingest\`, or split it into smaller versions.`);
  }
  const info = await cluster();
  const noKey = info.nodes.filter((n) => !n.uploadKey);
  if (noKey.length) throw new Error(`${noKey.map((n) => n.name).join(', ')} ${noKey.length > 1 ? 'have' : 'has'} no upload key in cluster.json, so this browser cannot seal shares for ${noKey.length > 1 ? 'them' : 'it'}. Ask the operators to run \`mosaik keygen\` (or \`mosaik local-cluster\`) again and restart \`mosaik web\`; meanwhile use \`mosaik ingest\`.`);
  // Asked without a 404 (a browser reports every failed fetch as an error): the listing first.
  const taken = await Promise.all(
    PARTIES.map(async (p) => {
      try {
        const listed = await call<{ name: string }[]>(p, '/v1/datasets');
        if (!listed.some((d) => d.name === ds.schema.name)) return null;
        const d = await call<{ versions: { version: string }[] }>(p, `/v1/datasets/${encodeURIComponent(ds.schema.name)}`);
        return d.versions.some((v) => v.version === version) ? info.nodes[p]!.name : null;
      } catch (e) {
        throw new Error(`${info.nodes[p]!.name} cannot be asked about version ${version}: ${(e as Error).message}`);
      }
    }),
  );
  const at = taken.filter((n): n is string => n !== null);
  if (at.length === 3) throw new Error(`Version ${version} of ${ds.schema.name} is already stored at every node. Versions never change: choose a new version name.`);
}

/** SHA-256 of a value's canonical JSON, as src/governance/canonical.ts hashJson computes it. */
const hashJson = async (v: unknown): Promise<string> => sha256Hex(utf8(canonicalJson(v)));

/** Signs, seals and sends each node its share pair; resolves when all three stored it. */
export async function sendShares(id: BrowserIdentity, ds: ShareableDataset, split: SplitColumns, version: string, onProgress?: (p: UploadProgress) => void): Promise<NodeOutcome[]> {
  const { shares, seeds } = split;
  const info = await cluster();
  const time = new Date().toISOString();
  const bodies: Uint8Array[] = [];
  for (const p of PARTIES) {
    onProgress?.({ phase: 'signing', text: `signing ${info.nodes[p]!.name}'s upload with your key`, fraction: 0.5 + 0.05 * p });
    const header: UploadHeader = { ...uploadHeader(ds, p), seeded: true };
    // The statement commits to the node's share bytes; the body carries seeds where the node can draw them.
    const shareBytes = partyShareBytes(shares.map((t) => t[p]));
    const statement = uploadStatementOf(header, { cluster: info.cluster, version, sharesSha256: await sha256Hex(shareBytes), time }, { schemaSha256: await hashJson(header.schema), codeListsSha256: await hashJson(header.codeLists) });
    const signature: UploadSignature = { ...(await signDocument('upload', statement, id)), statement };
    onProgress?.({ phase: 'sealing', text: `sealing ${info.nodes[p]!.name}'s shares so that only it can open them`, fraction: 0.55 + 0.05 * p });
    bodies.push(await sealUpload(uploadBodyBytes({ ...header, signature }, partySeededBytes(shares.map((t) => t[p]), seeds, p)), info.nodes[p]!.uploadKey!, { cluster: info.cluster, node: info.nodes[p]!.name, party: p, dataset: ds.schema.name, version }));
    await pause();
  }
  let done = 0;
  onProgress?.({ phase: 'sending', text: `sending each node its sealed shares (0 of 3 stored)`, fraction: 0.7 });
  const outcomes = await Promise.all(
    PARTIES.map(async (p): Promise<NodeOutcome> => {
      const node = info.nodes[p]!.name;
      try {
        const r = await call<{ rows: number }>(p, sealedUploadPath(ds.schema.name, version), { method: 'PUT', raw: bodies[p]!, as: id });
        done++;
        onProgress?.({ phase: 'sending', text: `sending each node its sealed shares (${done} of 3 stored)`, fraction: 0.7 + 0.1 * done });
        return { party: p, node, ok: true, rows: r.rows };
      } catch (e) {
        return { party: p, node, ok: false, error: (e as Error).message };
      }
    }),
  );
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) {
    const stored = outcomes.filter((o) => o.ok).map((o) => o.node);
    const lines = failed.map((o) => `${o.node}: ${o.error}`).join('\n');
    const note = stored.length
      ? `Stored at ${stored.join(', ')} only. Press “Try again” on this page: it sends the very same shares, which the nodes that have them accept again, so the version is completed everywhere.`
      : 'No node stored anything.';
    throw new UploadFailed(`The upload of ${ds.schema.name} version ${version} did not reach every node:\n${lines}\n${note}`, outcomes);
  }
  onProgress?.({ phase: 'done', text: 'stored at all three nodes', fraction: 1 });
  return outcomes;
}
