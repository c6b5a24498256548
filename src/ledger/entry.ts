// Entries of the transparency log and their canonical encoding.
//
// An entry is {seq, time, kind, body}; its Merkle leaf (src/ledger/merkle.ts) is the UTF-8 of its
// canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
// JSON.stringify writes them — the JSON Canonicalization Scheme of RFC 8785 for the values used
// here (integers, strings, booleans, null, arrays, objects). The same entry therefore hashes the
// same at every node and at every verifier.
//
// Kinds and what their bodies hold. The log is public: bodies carry counts, public metadata and
// hash commitments, never person identifiers or data values.
//   study-submitted, study-approved,  governance events (bodies defined by src/governance:
//   policy-published                  studyLedgerBody, approvalLedgerBody, policyLedgerBody)
//   consent-changed                   counts or hash commitments only (checked: see checkBody), and
//                                     the update's signed time (ISO 8601 UTC) as body.time
//   job-run                           {job, jobSeq, dataset, version, [versions,] sqlSha256, [statisticSha256 (a
//                                     statistics call: its text; sqlSha256 is then its analysis table's),] minCellSize, requester,
//                                     requestSha256, protection, [study, studyHash, query, request]}
//                                     (src/node/ledger.ts jobRunBody); time = the job spec's submittedAt, so
//                                     every replica writes the same bytes
//   result-released                   {job, resultMeta, shareCommitments: [c0, c1, c2]}
//                                     (salted SHA-256 commitments: src/ledger/commit.ts)
//   job-refused                       a refused attempt: {[job,] requester, [study, studyHash, query,]
//                                     [sqlSha256,] refusedBy: [parties], reasons: [{code, reason, nodes}]}
//                                     (src/node/ledger.ts jobRefusedBody): who tried what, which nodes
//                                     refused and why (each reason with the count of nodes that gave it)
//   record-accessed                   a doctor's read of a patient's record under a citizen's grant:
//                                     {job, commitment, registers: {name: version}, bounds: {name: rows
//                                     kept}}; the commitment (SHA-256 of the grant's salt, grant id and
//                                     job: src/governance/grant-format.ts) only the citizen can open;
//                                     no doctor, citizen or grant in the clear (src/node/records.ts)
//
// What the entries say, checked against each other: src/ledger/rules.ts (the audit's content rules).
// This module runs unchanged in the browser (the auditor's page): no Node built-ins.
export const ENTRY_KINDS = ['study-submitted', 'study-approved', 'policy-published', 'consent-changed', 'job-run', 'result-released', 'job-refused', 'record-accessed'] as const;

/** Longest refusal reason a job-refused entry carries (longer ones are cut, ending in …). */
export const MAX_REASON_LENGTH = 400;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface LedgerEntry {
  /** Position in the log, from 0 (= the Merkle leaf index). */
  seq: number;
  /** ISO 8601 UTC time, e.g. 2025-01-31T12:00:00.000Z. */
  time: string;
  kind: EntryKind;
  body: { [k: string]: JsonValue };
}

import { canonicalJsonWith } from './canonical.js';
import { utf8 } from './bytes.js';

export class LedgerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerError';
  }
}

/** RFC 8785-style canonical JSON (sorted keys, no whitespace). Refuses values JSON cannot carry exactly. */
export function canonicalJson(v: unknown): string {
  return canonicalJsonWith(v, { root: 'value', skipUndefined: false, verb: 'logged', fail: (m) => { throw new LedgerError(m); } });
}

export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Keys that name a person, not allowed anywhere in a consent-changed body. */
const PERSON_KEY = /person|cpr|patient|citizen|ssn|social.?security|national.?id|identity/i;
/** A label in a consent-changed body: starts with a letter, so no identifier-like digit strings. */
const LABEL = /^[A-Za-z][A-Za-z0-9 ._:/-]{0,63}$/;

/** Checks the body of an entry of a kind this module defines; throws LedgerError naming the problem. */
export function checkBody(kind: EntryKind, body: unknown): void {
  const bad = (m: string): never => {
    throw new LedgerError(`${kind} entry: ${m}`);
  };
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const str = (k: string, re?: RegExp) => {
    if (typeof b[k] !== 'string' || !(b[k] as string) || (re && !re.test(b[k] as string))) bad(`${k} must be ${re === HEX64 ? '64 lower-case hex digits' : re === UUID ? 'a job id (UUID)' : 'a non-empty string'}, got ${JSON.stringify(b[k])}`);
  };
  const int = (k: string) => {
    if (!Number.isSafeInteger(b[k]) || (b[k] as number) < 0) bad(`${k} must be a non-negative integer, got ${JSON.stringify(b[k])}`);
  };
  switch (kind) {
    case 'job-run':
      str('job', UUID);
      int('jobSeq');
      str('dataset');
      str('version');
      str('sqlSha256', HEX64);
      int('minCellSize');
      break;
    case 'result-released':
      str('job', UUID);
      str('resultMeta', HEX64);
      if (!Array.isArray(b.shareCommitments) || b.shareCommitments.length !== 3 || !b.shareCommitments.every((c) => typeof c === 'string' && HEX64.test(c))) {
        bad('shareCommitments must be three SHA-256 commitments (64 hex digits), one per node');
      }
      break;
    case 'job-refused': {
      if (b.job !== undefined) str('job', UUID);
      str('requester');
      if (!Array.isArray(b.refusedBy) || !b.refusedBy.length || !b.refusedBy.every((p, i, a) => (p === 0 || p === 1 || p === 2) && (i === 0 || (a[i - 1] as number) < p))) bad('refusedBy must list the refusing parties (0, 1, 2), ascending');
      const reasons = b.reasons;
      if (!Array.isArray(reasons) || !reasons.length) bad('reasons must be a non-empty list');
      for (const r of reasons as unknown[]) {
        const x = r as Record<string, unknown>;
        if (!x || typeof x !== 'object' || typeof x.code !== 'string' || !LABEL.test(x.code) || typeof x.reason !== 'string' || !x.reason || x.reason.length > MAX_REASON_LENGTH || !Number.isSafeInteger(x.nodes) || (x.nodes as number) < 1 || (x.nodes as number) > 3) {
          bad(`each reason must be {code: label, reason: text of 1-${MAX_REASON_LENGTH} characters, nodes: 1-3}`);
        }
      }
      break;
    }
    case 'record-accessed': {
      str('job', UUID);
      str('commitment', HEX64);
      const extra = Object.keys(b).filter((k) => !['job', 'commitment', 'registers', 'bounds'].includes(k));
      if (extra.length) bad(`only job, commitment, registers and bounds (nothing that names a citizen or doctor), not ${extra.join(', ')}`);
      for (const k of ['registers', 'bounds'] as const) {
        const m = b[k] as Record<string, unknown>;
        if (!m || typeof m !== 'object' || Array.isArray(m) || !Object.values(m).every((v) => (k === 'bounds' ? Number.isSafeInteger(v) : typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v)))) bad(`${k} must map register names to ${k === 'bounds' ? 'row counts' : 'versions'}`);
      }
      break;
    }
    case 'consent-changed': {
      // Counts (non-negative integers), commitments (64 hex digits), booleans and short labels
      // (purpose, dataset, register names) only: no person identifiers in a public log. The one
      // exception is body.time, the update's signed time, as an ISO 8601 UTC time (never an id).
      const walk = (x: unknown, at: string): void => {
        if (typeof x === 'boolean' || x === null) return;
        if (typeof x === 'number') {
          if (!Number.isSafeInteger(x) || x < 0) bad(`${at} must be a count (non-negative integer), got ${x}`);
          return;
        }
        if (typeof x === 'string') {
          if (at === 'body.time' && ISO_TIME.test(x)) return;
          if (!HEX64.test(x) && !LABEL.test(x)) bad(`${at} must be a label starting with a letter or a SHA-256 commitment, got ${JSON.stringify(x.slice(0, 40))} (no person identifiers in the log)`);
          return;
        }
        if (Array.isArray(x)) return x.forEach((y, i) => walk(y, `${at}[${i}]`));
        if (typeof x === 'object') {
          for (const [k, y] of Object.entries(x as object)) {
            if (PERSON_KEY.test(k)) bad(`${at}.${k}: consent changes are logged as counts or commitments, never per person`);
            walk(y, `${at}.${k}`);
          }
          return;
        }
        bad(`${at} has an unsupported type`);
      };
      walk(b, 'body');
      break;
    }
    default:
      break; // study-submitted, study-approved, policy-published: any JSON object (src/governance defines them)
  }
}

/** Checks an entry's shape (and its body, per kind). `where` prefixes the message. */
export function checkEntry(e: unknown, where = 'entry'): LedgerEntry {
  const bad = (m: string): never => {
    throw new LedgerError(`${where}: ${m}`);
  };
  if (!e || typeof e !== 'object' || Array.isArray(e)) bad('not a JSON object');
  const x = e as Record<string, unknown>;
  const extra = Object.keys(x).filter((k) => !['seq', 'time', 'kind', 'body'].includes(k));
  if (extra.length) bad(`unexpected field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
  if (!Number.isSafeInteger(x.seq) || (x.seq as number) < 0) bad(`seq must be a non-negative integer, got ${JSON.stringify(x.seq)}`);
  if (typeof x.time !== 'string' || !ISO_TIME.test(x.time) || Number.isNaN(Date.parse(x.time))) bad(`time must be an ISO 8601 UTC time, got ${JSON.stringify(x.time)}`);
  if (!ENTRY_KINDS.includes(x.kind as EntryKind)) bad(`unknown kind ${JSON.stringify(x.kind)} (known: ${ENTRY_KINDS.join(', ')})`);
  try {
    checkBody(x.kind as EntryKind, x.body);
  } catch (err) {
    bad((err as Error).message);
  }
  return x as unknown as LedgerEntry;
}

/** The bytes the Merkle tree hashes for an entry. */
export function entryBytes(e: LedgerEntry): Uint8Array {
  return utf8(canonicalJson(e));
}
