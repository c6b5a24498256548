// A doctor's request for a patient's record, and the record the doctor reconstructs (issue 15).
// Browser-safe (no Node built-in): the doctor's browser and the CLI build requests and read
// results with it; the nodes check requests with ./record-request.ts and run src/node/records.ts.
//
//   request  {format, cluster, doctor, grant: <the citizen's signed grant>, registers, resultKey,
//             person: [sealed₀, sealed₁, sealed₂], time, nonce}, signed by the doctor (kind
//             'record-request'). person[i] is node i's replicated share pair (x_i, x_{i+1}) of the
//             patient's person id, 16 bytes sealed to node i's X25519 upload key (HPKE, the
//             sealed-upload format of src/ingest/sealed-upload-format.ts, bound to cluster, node,
//             '~record-person' and the request's nonce): no node, relay or log sees the person id.
//   layout   each register's columns (but the person id) packed into 64-bit words, from the public
//             schema: field = value − least value, at a fixed bit offset; bit 2 of word 0 is 1 on a
//             real row (0 on the dummies that pad the selection to the register's bound; bits 0-1
//             carry the nodes' shares of the selection bit: ignored)
//   result   each node's share pair of every register's B kept rows (words), sealed to resultKey;
//             the doctor combines the three (x = x_i + x_{i+1} + x_{i+2}), drops dummies and decodes
import { combineLanes } from '../query/assemble.js';
import { decodeValue, parseDate, DECIMAL_FRAC_BITS, type CodeList, type ColumnSpec, type DatasetSchema } from '../ingest/schema.js';
import { refuse } from './errors.js';
import { accessCommitmentText, checkGrantShape, type SignedGrant } from './grant-format.js';
import type { LedgerEntry } from '../ledger/entry.js';
import type { Signature } from './signature.js';
import { docShape } from './doc-shape.js';
import { parseTime } from './times.js';

export const RECORD_REQUEST_FORMAT = 'mosaik-record-request/1';
/** The registers a patient's record is read from (each node refuses others): health data, not e.g. income. */
export const RECORD_REGISTERS = ['population', 'contacts', 'prescriptions', 'deaths', 'patient_reported'] as const;
/** The sealed-upload binding of a person-id share (never a dataset name: those start with a letter). */
export const PERSON_SEAL_DATASET = '~record-person';

export interface RecordRequestBody {
  format: typeof RECORD_REQUEST_FORMAT;
  cluster: string;
  doctor: string;
  grant: SignedGrant;
  registers: string[];
  /** X25519 public key (base64url) the nodes seal their parts to. */
  resultKey: string;
  /** Per node, its share pair of the person id sealed to its upload key (base64url). */
  person: [string, string, string];
  time: string;
  nonce: string;
}

export interface SignedRecordRequest {
  request: RecordRequestBody;
  signature?: Signature;
}

export function checkRecordRequestShape(x: unknown): SignedRecordRequest {
  const { doc: o, body: r, bad } = docShape<SignedRecordRequest, RecordRequestBody>(x, 'request', RECORD_REQUEST_FORMAT, 'record request');
  for (const k of ['cluster', 'doctor', 'resultKey', 'nonce'] as const) if (typeof r[k] !== 'string' || !r[k]) bad(`${k} is required`);
  if (!/^[A-Za-z0-9_-]{43}$/.test(r.resultKey)) bad('resultKey must be an X25519 public key (base64url, 32 bytes)');
  if (!/^[A-Za-z0-9-]{8,64}$/.test(r.nonce)) bad('nonce must be 8-64 letters, digits or -');
  if (!Array.isArray(r.registers) || !r.registers.length || r.registers.some((n) => typeof n !== 'string')) bad('registers must be a non-empty list of dataset names');
  if (!Array.isArray(r.person) || r.person.length !== 3 || r.person.some((s) => typeof s !== 'string' || !/^[A-Za-z0-9_-]{40,400}$/.test(s))) bad('person must be three sealed shares (base64url), one per node');
  if (r.grant === undefined || r.grant === null) refuse('grant', 'the request carries no grant: a doctor reads a record only under the citizen\'s signed grant');
  checkGrantShape(r.grant);
  parseTime(r.time, 'record request: time');
  return o;
}

/** A share pair (x_i, x_{i+1}) of one value as 16 bytes (u64 LE, then u64 LE). */
export function pairBytes(a: bigint, b: bigint): Uint8Array {
  const v = new BigUint64Array([a, b]);
  return new Uint8Array(v.buffer);
}

export function pairOf(bytes: Uint8Array, what: string): { a: bigint; b: bigint } {
  if (bytes.length !== 16) refuse('malformed', `${what}: a share pair has 16 bytes, not ${bytes.length}`);
  const v = new BigUint64Array(new Uint8Array(bytes).buffer);
  return { a: v[0]!, b: v[1]! };
}

// ---------------------------------------------------------------------------------------------
// Layout: how a register's row is packed into words (the same at the nodes and the doctor).

export interface RecordField {
  column: string;
  word: number;
  shift: number;
  /** The column's least encoded value (decimal string of a signed integer). */
  offset: string;
  bits: number;
}

export interface RecordLayout {
  dataset: string;
  /** Most rows one person has here (public): the number of rows kept. */
  bound: number;
  words: number;
  fields: RecordField[];
}

/** The least and greatest encoded value of a column, or null when it declares none. */
function encodedRange(c: ColumnSpec, codeLists: Map<string, CodeList>): [bigint, bigint] | null {
  let r: [bigint, bigint] | null = null;
  if (c.type === 'bool') r = [0n, 1n];
  else if (c.type === 'code') r = [0n, BigInt(Math.max(0, (codeLists.get(c.codeList ?? '')?.codes.length ?? 1) - 1))];
  else if (c.min !== undefined && c.max !== undefined) {
    const enc = (v: number | string) => (c.type === 'date' ? BigInt(parseDate(String(v)) ?? 0) : c.type === 'decimal' ? BigInt(Math.round(Number(v) * 2 ** DECIMAL_FRAC_BITS)) : BigInt(v));
    r = [enc(c.min), enc(c.max)];
  }
  if (r && c.required === false) r = [r[0] < 0n ? r[0] : 0n, r[1] > 0n ? r[1] : 0n]; // missing values are stored as 0
  return r;
}

/** At most this many rows of one person in a register (from its schema), or null when nothing bounds it. */
export function recordBound(s: DatasetSchema): number | null {
  const pid = s.columns.find((c) => c.type === 'person_id');
  if (!pid) return null;
  if (pid.unique) return 1;
  if (pid.maxRowsPerPerson) return pid.maxRowsPerPerson;
  return null;
}

/** The packing of a register's row (every column but the person id), or null when the register has no bound. */
export function recordLayout(s: DatasetSchema, codeLists: Map<string, CodeList>): RecordLayout | null {
  const bound = recordBound(s);
  if (bound === null) return null;
  const fields: RecordField[] = [];
  let word = 0, used = 3; // bits 0-1 of word 0: the selection; bit 2: the real-row flag (src/mpc/select.ts)
  let words = 1;
  for (const c of s.columns) {
    if (c.type === 'person_id') continue;
    const r = encodedRange(c, codeLists);
    if (!r) {
      fields.push({ column: c.name, word: words, shift: 0, offset: '0', bits: 64 });
      words++;
      continue;
    }
    const bits = Math.max(1, (r[1] - r[0]).toString(2).length);
    if (used + bits > 64) {
      word = words++;
      used = 0;
    }
    fields.push({ column: c.name, word, shift: used, offset: r[0].toString(), bits });
    used += bits;
  }
  return { dataset: s.name, bound, words, fields };
}

// ---------------------------------------------------------------------------------------------
// The result: each node's part, and the record the doctor combines.

export interface RecordRegisterPart {
  dataset: string;
  version: string;
  /** Rows of the register version read (public). */
  rows: number;
  layout: RecordLayout;
  /** Per word, this node's share pair at the kept rows (u64 decimal strings). */
  words: { a: string[]; b: string[] }[];
}

export interface RecordPart {
  job: string;
  party: number;
  grant: string;
  registers: RecordRegisterPart[];
}

export type RecordValue = string | number | boolean;

export interface RecordRegister {
  dataset: string;
  version: string;
  rows: number;
  bound: number;
  records: Record<string, RecordValue>[];
}

/** Combines the three nodes' parts (checking that they fit together) and decodes each register's rows. */
export function assembleRecord(parts: RecordPart[], schemas: Map<string, { schema: DatasetSchema; codeLists: Map<string, CodeList> }>): RecordRegister[] {
  if (parts.length !== 3) throw new Error('a record is combined from the parts of all three nodes');
  const meta = (p: RecordPart) => JSON.stringify([p.job, p.grant, p.registers.map((r) => [r.dataset, r.version, r.rows, r.layout, r.words.map((w) => w.a.length)])]);
  parts.forEach((p, i) => {
    if (p.party !== i) throw new Error(`part ${i} comes from node ${p.party}`);
    if (meta(p) !== meta(parts[0]!)) throw new Error(`node ${i}'s part differs from node 0's in what was read: the nodes did not run the same job`);
  });
  return parts[0]!.registers.map((reg, r) => {
    const s = schemas.get(reg.dataset);
    if (!s) throw new Error(`no schema of ${reg.dataset}`);
    const mine = recordLayout(s.schema, s.codeLists);
    if (JSON.stringify(mine) !== JSON.stringify(reg.layout)) throw new Error(`the nodes packed ${reg.dataset} otherwise than its public schema says`);
    const words = Array.from({ length: reg.layout.words }, (_, w) => combineLanes([0, 1, 2].map((i) => ({ shares: parts[i]!.registers[r]!.words[w]! })) as Parameters<typeof combineLanes>[0]));
    const records: Record<string, RecordValue>[] = [];
    for (let k = 0; k < reg.layout.bound; k++) {
      if (((words[0]![k]! >> 2n) & 1n) !== 1n) continue; // a dummy
      const row: Record<string, RecordValue> = {};
      for (const f of reg.layout.fields) {
        const spec = s.schema.columns.find((c) => c.name === f.column)!;
        const w = words[f.word]![k]!;
        const v = f.bits === 64 ? w : ((w >> BigInt(f.shift)) & ((1n << BigInt(f.bits)) - 1n)) + BigInt(f.offset);
        row[f.column] = decodeValue(spec, BigInt.asUintN(64, v), s.codeLists);
      }
      records.push(row);
    }
    return { dataset: reg.dataset, version: reg.version, rows: reg.rows, bound: reg.layout.bound, records };
  });
}

/** One entry of a record's timeline. */
export interface TimelineEvent {
  date: string;
  dataset: string;
  title: string;
  details: string;
  values: Record<string, RecordValue>;
}

const TITLES: Record<string, string> = { population: 'Resident (CPR register)', contacts: 'Hospital contact', prescriptions: 'Prescription dispensed', deaths: 'Death', patient_reported: 'Patient-reported' };

/** A code with its label from the code list ("E11.9 Type 2 diabetes …"). */
function labelled(spec: ColumnSpec | undefined, v: RecordValue, codeLists: Map<string, CodeList>): string {
  if (!spec || spec.type !== 'code' || typeof v !== 'string') return String(v);
  const list = codeLists.get(spec.codeList ?? '');
  const i = list?.codes.indexOf(v) ?? -1;
  const l = i >= 0 ? list?.labels?.[i] : undefined;
  return l && l !== v ? `${v} ${l}` : v;
}

/** The record as a timeline, newest first: each row dated by its first date column. */
export function recordTimeline(registers: RecordRegister[], schemas: Map<string, { schema: DatasetSchema; codeLists: Map<string, CodeList> }>): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const reg of registers) {
    const s = schemas.get(reg.dataset)!;
    const dateCol = s.schema.columns.find((c) => c.type === 'date');
    for (const values of reg.records) {
      const details = s.schema.columns
        .filter((c) => c.type !== 'person_id' && c !== dateCol && !['age_band', 'first_in_category'].includes(c.name))
        .map((c) => `${c.name.replace(/_/g, ' ')}: ${labelled(c, values[c.name]!, s.codeLists)}`)
        .join(' · ');
      out.push({ date: dateCol ? String(values[dateCol.name]) : '', dataset: reg.dataset, title: `${TITLES[reg.dataset] ?? reg.dataset}${dateCol && reg.dataset === 'population' ? ' (born)' : ''}`, details, values });
    }
  }
  return out.sort((a, b) => b.date.localeCompare(a.date) || a.dataset.localeCompare(b.dataset));
}

// ---------------------------------------------------------------------------------------------
// The citizen's side: their grants as the nodes list them, and their accesses in the public log.

/** A grant as GET /v1/grants lists it (a citizen also gets the salt). */
export interface ListedGrant {
  grant: SignedGrant;
  salt?: string;
  revoked?: string;
}

/** An access to the citizen's record found in the log. */
export interface Access {
  seq: number;
  time: string;
  job: string;
  grant: string;
  doctor: string;
  registers: Record<string, string>;
}

/** The citizen's accesses, newest first: each record-accessed entry whose commitment one of the citizen's grants opens. */
export async function findAccesses(entries: LedgerEntry[], grants: ListedGrant[], sha256Hex: (text: string) => string | Promise<string>): Promise<Access[]> {
  const out: Access[] = [];
  for (const e of entries) {
    if (e.kind !== 'record-accessed') continue;
    const job = String(e.body.job);
    for (const g of grants) {
      if (!g.salt || (await sha256Hex(accessCommitmentText(g.salt, g.grant.grant.id, job))) !== e.body.commitment) continue;
      out.push({ seq: e.seq, time: e.time, job, grant: g.grant.grant.id, doctor: g.grant.grant.doctor, registers: e.body.registers as Record<string, string> });
      break;
    }
  }
  return out.reverse();
}
