// The layout of one node's upload body (node API: PUT /v1/datasets/:name/versions/:version), in one
// place for the CLI (./upload.ts streams it) and the browser app (which builds it in memory and
// seals it for the node, ./sealed-upload-format.ts):
//
//   [u32 LE header length][header JSON {schema, codeLists, rows, columns, party, seeded?, signature?}]
//   [for each column in schema order: share half a (rows × u64 LE), then half b]
//
// With `seeded` (`mosaik ingest` and the browser), a half that is a stream of the column's seeds
// (x₀, x₁; the third share x₂ = x − x₀ − x₁ is not) is sent as its 16-byte seed instead
// (seededHalves): node 0 gets two seeds per column, nodes 1 and 2 one seed and x₂'s bytes, 16
// instead of 48 bytes per value in all. A node learns nothing more: a seed gives exactly the half it stands for.
//
// Browser-safe (Uint8Array, TextEncoder; no Node built-in). What a body reveals: the public
// metadata in its header (schema, code lists, row count, DESIGN.md) and one node's share pair,
// which is uniformly random and independent of the data.
import type { AShare } from '../mpc/share-split.js';
import { checkVersionId, type CodeList, type DatasetSchema, type UploadHeader } from './schema.js';

export interface ShareableDataset {
  schema: DatasetSchema;
  /** Code lists by name (at least those the schema references). */
  codeLists: Map<string, CodeList>;
  rows: number;
  /** Encoded columns (one ring element per row), every schema column. */
  columns: Map<string, BigUint64Array>;
  /** The rows are in ascending order of this person_id column (./person-order.ts). */
  sortedBy?: string;
}

/** A version id by the one rule (./schema.ts checkVersionId). */
export function checkVersion(v: string): string {
  return checkVersionId(v, 'version', (m) => new Error(m));
}

/** A timestamp version id, e.g. 20261123T171958.123Z (UTC, sorts in time order). */
export function defaultVersion(at = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '');
}

/** The code lists a schema references, in order of first reference. */
export function referencedCodeLists(schema: DatasetSchema, codeLists: Map<string, CodeList>): CodeList[] {
  const out: CodeList[] = [];
  const seen = new Set<string>();
  for (const c of schema.columns) {
    if (c.type !== 'code' || seen.has(c.codeList ?? '')) continue;
    const l = codeLists.get(c.codeList ?? '');
    if (!l) throw new Error(`${schema.name}.${c.name}: code list '${c.codeList}' is not known`);
    seen.add(l.name);
    out.push(l);
  }
  return out;
}

/** The header for one party (without signature). */
export function uploadHeader(ds: ShareableDataset, party: 0 | 1 | 2): UploadHeader {
  return {
    schema: ds.schema,
    codeLists: referencedCodeLists(ds.schema, ds.codeLists),
    rows: ds.rows,
    columns: ds.schema.columns.map((c) => c.name),
    party,
    ...(ds.sortedBy ? { sortedBy: ds.sortedBy } : {}),
  };
}

/**
 * Which of a party's two halves (a, b) a seeded body carries as a seed: the halves that are x₀ or
 * x₁ (party p holds x_p and x_{p+1}, src/mpc/share-split.ts).
 */
export function seededHalves(party: 0 | 1 | 2): [boolean, boolean] {
  return party === 0 ? [true, true] : party === 1 ? [true, false] : [false, true];
}

/**
 * The seed each of a party's halves is sent as in a seeded body (null: sent as bytes), given the
 * column's seeds of x₀ and x₁. Party p holds (x_p, x_{p+1}): 0 (x₀, x₁), 1 (x₁, x₂), 2 (x₂, x₀).
 */
export function halfSeeds(seeds: [Uint8Array, Uint8Array], party: 0 | 1 | 2): [Uint8Array | null, Uint8Array | null] {
  const [a, b] = seededHalves(party);
  const seedOf = [seeds[0], seeds[1], null];
  return [a ? seedOf[party]! : null, b ? seedOf[(party + 1) % 3]! : null];
}

/** One party's share part of a seeded body: per column, half a then half b, each its seed or its bytes. */
export function partySeededBytes(shares: AShare[], seeds: [Uint8Array, Uint8Array][], party: 0 | 1 | 2): Uint8Array {
  const parts = shares.flatMap((s, k) => {
    const [a, b] = halfSeeds(seeds[k]!, party);
    return [a ?? columnBytes(s.a), b ?? columnBytes(s.b)];
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Bytes of a body's share part (after the header): per column, each half's seed (16) or its bytes (rows × 8). */
export function shareBodyLength(h: Pick<UploadHeader, 'rows' | 'columns' | 'party' | 'seeded'>): number {
  const halves = h.seeded ? seededHalves(h.party).map((s) => (s ? SEED_BYTES : 8 * h.rows)) : [8 * h.rows, 8 * h.rows];
  return h.columns.length * (halves[0]! + halves[1]!);
}

/** A seed's bytes (an AES-128 key, src/ring/prg.ts). */
export const SEED_BYTES = 16;

/** [u32 LE header length][header JSON] of a header. */
export function encodeUploadHeaderBytes(header: UploadHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  return out;
}

/** The byte view of a column (no copy). */
export const columnBytes = (c: BigUint64Array): Uint8Array => new Uint8Array(c.buffer, c.byteOffset, c.byteLength);

/** One party's share bytes in body order (each column: half a, then half b): what sharesSha256 covers. */
export function partyShareBytes(shares: AShare[]): Uint8Array {
  const out = new Uint8Array(shares.reduce((n, s) => n + 16 * s.length, 0));
  let off = 0;
  for (const s of shares) {
    for (const half of [s.a, s.b]) {
      out.set(columnBytes(half), off);
      off += half.byteLength;
    }
  }
  return out;
}

/** A whole body: the encoded header followed by the party's share bytes. */
export function uploadBodyBytes(header: UploadHeader, shareBytes: Uint8Array): Uint8Array {
  const h = encodeUploadHeaderBytes(header);
  const out = new Uint8Array(h.length + shareBytes.length);
  out.set(h);
  out.set(shareBytes, h.length);
  return out;
}
