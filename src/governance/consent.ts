// The consent register: per person and research purpose, a log of consent granted or withdrawn,
// each with its time. It is a custodian dataset like any other (its custodian is named in the
// consortium configuration), shared with the nodes as secret shares, so that every study's
// computation can apply its purpose's consent filter inside MPC without any node learning who was
// excluded (DESIGN.md, "Consent").
//
// The rule (plaintext reference, consentDecision): person X's data may be used for purpose P by a
// computation run at time T iff the latest consent event of X for P at or before T is a grant, or,
// if X has no such event, iff P's default is 'opt-out' (the consortium configuration declares per
// purpose 'opt-out': usable unless withdrawn, or 'opt-in': usable only after a grant). Events after
// T do not count (a run at T uses the state at T, so re-running an old study is reproducible and a
// withdrawal takes effect at the first run after it). Two events of one person and purpose with the
// same time: the withdrawal wins (conservative).
//
// Dataset layout (consentSchema): one row per event, with the time the event was superseded:
//   person_id  person_id   the citizen
//   purpose    code        index in the purpose code list (the consortium's purpose codes, sorted)
//   granted    bool        1 = consent given, 0 = withdrawn
//   time       int         Unix time (seconds) of the event
//   until      int         time of the next event of the same person and purpose, or OPEN_UNTIL
// `until` is computed by the custodian from its own (plaintext) log when it prepares an upload
// (withUntil). With it, the state of person X for P at T is the one row with purpose = P and
// time ≤ T < until, so inside MPC the filter needs only comparisons with public constants per row
// (./consent-mpc.ts) and ONE join on person_id with the study's data, with the consent rows as the
// join's unique side — no sort or group-by over the consent log. The consent custodian knows its
// register in plaintext anyway (it is its data); what MPC hides is the link to the health data
// and which persons a study excluded.
//
// Citizens: consentChange() turns a citizen's choice into an event row for the custodian to add
// to its register (CLI: `mosaik consent set`); studiesForCitizen() lists the studies whose purpose
// the citizen's consent covers (`mosaik consent studies`).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { excerpt, makeCodeList, PERSON_ID_LIMIT, type CodeList, type DatasetSchema } from '../ingest/schema.js';
import { sha256Hex } from './canonical.js';
import type { ConsentDefault, Consortium, Purpose } from './consortium.js';
import { GovernanceError, refuse } from './errors.js';
import { checkValidity, parseTime, type SignedStudy } from './study.js';
import { consentCommitmentText } from './citizen-docs.js';

/** Default dataset name of the consent register. */
export const CONSENT_DATASET = 'consent';
/** Name of the purpose code list. */
export const PURPOSE_CODE_LIST = 'purpose';
/** `until` of an event still in force; also the bound of event times (year 2242). */
export const OPEN_UNTIL = 2 ** 33 - 1;
/** Signed bit width that holds any time, until and their differences with a run time (for comparisons in MPC). */
export const CONSENT_TIME_BITS = 35;

export interface ConsentEvent {
  /** CPR-like person id (< 2^34). */
  person: number;
  /** Purpose code. */
  purpose: string;
  granted: boolean;
  /** Unix time in seconds. */
  time: number;
}

export interface ConsentRow extends ConsentEvent {
  /** Time of the next event of this person and purpose (exclusive end of this state), or OPEN_UNTIL. */
  until: number;
}

/** The consent register's schema (custodian: the consortium's consent custodian). */
export function consentSchema(custodian: string, name = CONSENT_DATASET): DatasetSchema {
  return {
    name,
    custodian,
    description: 'Consent register: per person and research purpose, consent granted or withdrawn, with the time it took effect and the time it was superseded',
    columns: [
      { name: 'person_id', type: 'person_id', description: 'the citizen' },
      { name: 'purpose', type: 'code', codeList: PURPOSE_CODE_LIST, description: 'research purpose (consortium purpose code)' },
      { name: 'granted', type: 'bool', description: 'true: consent given; false: withdrawn' },
      { name: 'time', type: 'int', min: 0, max: OPEN_UNTIL - 1, description: 'Unix time (s) the choice took effect' },
      { name: 'until', type: 'int', min: 0, max: OPEN_UNTIL, description: `Unix time (s) of the next choice for the same purpose; ${OPEN_UNTIL} while in force` },
    ],
  };
}

/** The purpose code list (codes = the consortium's purpose codes, labels = their labels). */
export function purposeCodeList(purposes: readonly Purpose[]): CodeList {
  return makeCodeList(PURPOSE_CODE_LIST, purposes.map((p): [string, string] => [p.code, p.label]), 'Research purposes declared by the consortium');
}

/** Index of a purpose code in the code list (its encoding in the register). */
export function purposeIndex(purposes: readonly Purpose[], code: string): number {
  const i = purposeCodeList(purposes).codes.indexOf(code);
  if (i < 0) refuse('unknown-purpose', `purpose '${code}' is not declared (declared: ${purposes.map((p) => p.code).join(', ')})`);
  return i;
}

export function checkEvent(e: ConsentEvent, purposes?: readonly Purpose[]): ConsentEvent {
  const bad = (m: string): never => refuse('consent', `consent event: ${m}`);
  if (!Number.isSafeInteger(e.person) || e.person < 0 || BigInt(e.person) >= PERSON_ID_LIMIT) bad(`person id ${e.person} must be an integer in 0..2^34−1`);
  if (typeof e.purpose !== 'string' || !e.purpose) bad('purpose is required');
  if (purposes && !purposes.some((p) => p.code === e.purpose)) refuse('unknown-purpose', `consent event: purpose '${e.purpose}' is not declared (declared: ${purposes.map((p) => p.code).join(', ')})`);
  if (typeof e.granted !== 'boolean') bad('granted must be true or false');
  if (!Number.isSafeInteger(e.time) || e.time < 0 || e.time >= OPEN_UNTIL) bad(`time ${e.time} must be a Unix time in seconds (0..${OPEN_UNTIL - 1})`);
  return e;
}

/** Chronological order for one person and purpose; at equal times a withdrawal comes last (it wins). */
function eventOrder(a: ConsentEvent, b: ConsentEvent): number {
  return a.time - b.time || Number(b.granted) - Number(a.granted);
}

export interface ConsentDecision {
  usable: boolean;
  /** 'default': no event at or before the time; else the deciding event's kind. */
  basis: 'default' | 'granted' | 'withdrawn';
  default: ConsentDefault;
  /** The deciding event's time (Unix s), when basis is not 'default'. */
  since?: number;
}

/**
 * The plaintext rule: may person's data serve `purpose` in a computation run at `at` (Unix s)?
 * `events` may contain anyone's events (others are ignored).
 */
export function consentDecision(events: Iterable<ConsentEvent>, person: number, purpose: string, at: number, dflt: ConsentDefault): ConsentDecision {
  let last: ConsentEvent | null = null;
  for (const e of events) {
    if (e.person !== person || e.purpose !== purpose || e.time > at) continue;
    if (!last || eventOrder(last, e) < 0) last = e;
  }
  if (!last) return { usable: dflt === 'opt-out', basis: 'default', default: dflt };
  return { usable: last.granted, basis: last.granted ? 'granted' : 'withdrawn', default: dflt, since: last.time };
}

/** Unix seconds of a Date / ISO string / number of seconds. */
export function unixSeconds(t: Date | string | number): number {
  if (typeof t === 'number') return t;
  const ms = t instanceof Date ? t.getTime() : parseTime(t, 'time');
  return Math.floor(ms / 1000);
}

/**
 * The register's rows from its event log: each event with the time it was superseded by the next
 * event of the same person and purpose (OPEN_UNTIL for the latest). Rows keep the events' order.
 * A row whose event is superseded at the same second gets until = time: it is never in force.
 */
export function withUntil(events: ConsentEvent[]): ConsentRow[] {
  const groups = new Map<string, number[]>();
  events.forEach((e, i) => {
    checkEvent(e);
    const k = `${e.person}\u0000${e.purpose}`;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const until = new Array<number>(events.length).fill(OPEN_UNTIL);
  for (const g of groups.values()) {
    g.sort((i, j) => eventOrder(events[i]!, events[j]!) || i - j);
    for (let k = 0; k + 1 < g.length; k++) until[g[k]!] = events[g[k + 1]!]!.time;
  }
  return events.map((e, i) => ({ person: e.person, purpose: e.purpose, granted: e.granted, time: e.time, until: until[i]! }));
}

/** The state of `rows` at `at` for one purpose: the row in force per person (plaintext mirror of the MPC filter). */
export function rowsInForce(rows: ConsentRow[], purpose: string, at: number): ConsentRow[] {
  return rows.filter((r) => r.purpose === purpose && r.time <= at && at < r.until);
}

// ---------------------------------------------------------------------------------------------
// Files: the register as CSV (the custodian's input to `mosaik ingest`).

const HEADER = 'person_id,purpose,granted,time,until';
const EVENT_HEADER = 'person_id,purpose,granted,time';

const pid = (n: number) => String(n).padStart(10, '0');

export function consentCsv(rows: ConsentRow[]): string {
  return [HEADER, ...rows.map((r) => `${pid(r.person)},${r.purpose},${r.granted},${r.time},${r.until}`)].join('\n') + '\n';
}

/** Event rows (no `until`): what a citizen's change produces. */
export function eventsCsv(events: ConsentEvent[]): string {
  return [EVENT_HEADER, ...events.map((e) => `${pid(e.person)},${e.purpose},${e.granted},${e.time}`)].join('\n') + '\n';
}

/** Parses a register or event CSV (header required; `until` is ignored: it is recomputed). */
export function parseConsentCsv(text: string, where = 'consent register', o: { changes?: { purposes: readonly Purpose[]; at: number } } = {}): ConsentEvent[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0]?.trim() ?? '';
  const cols = header.split(',').map((c) => c.trim());
  const at = (name: string, optional = false) => {
    const i = cols.indexOf(name);
    if (i < 0 && !optional) refuse('consent', `${where}: the header has no '${name}' column (expected ${o.changes ? 'person_id,purpose,granted[,time]' : `${EVENT_HEADER}[,until]`})`);
    return i;
  };
  const [ip, iu, ig, it] = [at('person_id'), at('purpose'), at('granted'), at('time', !!o.changes)];
  // A file of changes (consent set --from) also says granted/withdrawn, and times in ISO 8601.
  const yes = o.changes ? ['true', '1', 'granted', 'yes'] : ['true', '1'];
  const no = o.changes ? ['false', '0', 'withdrawn', 'no'] : ['false', '0'];
  const out: ConsentEvent[] = [];
  for (let l = 1; l < lines.length; l++) {
    const line = lines[l]!.trim();
    if (!line) continue;
    const f = line.split(',').map((x) => x.trim());
    const bad = (m: string): never => refuse('consent', `${where}, line ${l + 1}: ${m}`);
    if (f.length !== cols.length) bad(`${f.length} fields, expected ${cols.length}`);
    const g = f[ig]!.toLowerCase();
    if (![...yes, ...no].includes(g)) bad(`granted ${excerpt(f[ig]!)} must be ${o.changes ? 'granted or withdrawn (true or false)' : 'true or false'}`);
    if (!/^\d{1,11}$/.test(f[ip]!)) bad(`person_id ${excerpt(f[ip]!)} is not a person identifier`);
    let time = o.changes?.at ?? 0;
    if (it >= 0 && f[it] !== '') {
      if (/^\d+$/.test(f[it]!)) time = Number(f[it]);
      else if (o.changes) {
        try {
          time = unixSeconds(f[it]!);
        } catch {
          bad(`time ${excerpt(f[it]!)} is neither a Unix time in seconds nor an ISO 8601 time`);
        }
      } else bad(`time ${excerpt(f[it]!)} is not a Unix time in seconds`);
    }
    const e = { person: Number(f[ip]), purpose: f[iu]!, granted: yes.includes(g), time };
    try {
      out.push(checkEvent(e, o.changes?.purposes));
    } catch (err) {
      bad((err as Error).message);
    }
  }
  return out;
}

/**
 * A file of consent changes for `mosaik consent set --from` (many persons at once, published as
 * one register version): CSV with person_id, purpose, granted (granted/withdrawn or true/false)
 * and optionally time (Unix s or ISO 8601; default `at`). Every purpose must be declared.
 */
export function readConsentChanges(path: string, purposes: readonly Purpose[], at: Date | string | number = new Date()): ConsentEvent[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return refuse('consent', `cannot read ${path}: ${(e as Error).message}`);
  }
  const changes = parseConsentCsv(text, path, { changes: { purposes, at: unixSeconds(at) } });
  if (!changes.length) refuse('consent', `${path} lists no consent change`);
  return changes;
}

export function readConsentFile(path: string): ConsentEvent[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return refuse('consent', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConsentCsv(text, path);
}

/** Writes the register (events with `until`) as CSV. */
export function writeConsentFile(path: string, events: ConsentEvent[]): ConsentRow[] {
  const rows = withUntil(events);
  writeFileSync(path, consentCsv(rows));
  return rows;
}

/** Encoded columns (ring elements, as ingest encodes the CSV) of the register, for sharing. */
export function encodeConsentRows(rows: ConsentRow[], purposes: readonly Purpose[]): Map<string, BigUint64Array> {
  const codes = purposeCodeList(purposes).codes;
  const idx = new Map(codes.map((c, i) => [c, i]));
  const col = (f: (r: ConsentRow) => number) => BigUint64Array.from(rows, (r) => BigInt(f(r)));
  return new Map([
    ['person_id', col((r) => r.person)],
    ['purpose', col((r) => {
      const i = idx.get(r.purpose);
      if (i === undefined) refuse('unknown-purpose', `consent row: purpose '${r.purpose}' is not declared`);
      return i;
    })],
    ['granted', col((r) => (r.granted ? 1 : 0))],
    ['time', col((r) => r.time)],
    ['until', col((r) => r.until)],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Citizen side.

/** A citizen's consent change as an event row (validated against the consortium's purposes). */
export function consentChange(consortium: Consortium, person: number | string, purpose: string, granted: boolean, time: Date | string | number = new Date()): ConsentEvent {
  const id = typeof person === 'string' ? (/^\d{1,11}$/.test(person.trim()) ? Number(person.trim()) : NaN) : person;
  if (!Number.isSafeInteger(id)) refuse('consent', `person '${person}' is not a person identifier (digits only)`);
  return checkEvent({ person: id, purpose, granted, time: unixSeconds(time) }, consortium.purposes);
}

export interface CitizenStudy {
  study: string;
  title: string;
  purpose: string;
  purposeLabel: string;
  validUntil: string;
  /** The citizen's consent covers the study's purpose now. */
  covered: boolean;
  basis: ConsentDecision['basis'];
  /** Unix s of the deciding event (basis granted/withdrawn). */
  since?: number;
}

/**
 * The studies in force at `at` and, for each, whether the citizen's consent covers its purpose
 * (so that its future runs could use the citizen's data). Only studies with a valid researcher
 * signature count when `verify` is given (a function that throws for a bad one, e.g.
 * (s) => verifyStudySignature(s, consortium)).
 */
export function studiesForCitizen(consortium: Consortium, events: ConsentEvent[], person: number, studies: SignedStudy[], at: Date | string | number = new Date(), verify?: (s: SignedStudy) => unknown): CitizenStudy[] {
  const t = unixSeconds(at);
  const out: CitizenStudy[] = [];
  for (const ss of studies) {
    const s = ss.study;
    try {
      checkValidity(s, t * 1000);
      verify?.(ss);
    } catch (e) {
      if (e instanceof GovernanceError) continue;
      throw e;
    }
    const p = consortium.purpose(s.purpose);
    if (!p) continue;
    const d = consentDecision(events, person, s.purpose, t, p.consent);
    out.push({ study: s.id, title: s.title, purpose: s.purpose, purposeLabel: p.label, validUntil: s.validUntil, covered: d.usable, basis: d.basis, ...(d.since !== undefined ? { since: d.since } : {}) });
  }
  return out.sort((a, b) => Number(b.covered) - Number(a.covered) || a.study.localeCompare(b.study));
}

/**
 * A transparency-log body for one consent change ('consent-changed' entries accept only labels,
 * counts and commitments): the purpose, the choice and a salted SHA-256 commitment to
 * (person, purpose, choice, time). The salt goes to the citizen as a receipt; with it (and only
 * with it) the citizen can show that the log contains their change.
 */
export function consentReceipt(e: ConsentEvent): { body: { purpose: string; granted: boolean; commitment: string }; salt: string } {
  checkEvent(e);
  const salt = randomBytes(32).toString('hex');
  return { body: { purpose: e.purpose, granted: e.granted, commitment: consentCommitment(e, salt) }, salt };
}

export function consentCommitment(e: ConsentEvent, salt: string): string {
  return sha256Hex(consentCommitmentText(e, salt));
}
