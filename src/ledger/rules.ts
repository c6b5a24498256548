// The content rules of the transparency log: every job-run must be one the entries before it
// allow. src/ledger/verify.ts checks that the log is intact (hashes, roots, co-signatures, forks);
// these rules check what an intact log says, so that a log forged by colluding nodes, or written by
// older software, cannot show a job the nodes should have refused. Pure functions over parsed
// entries, run in log order by `mosaik audit verify` (src/cli/audit.ts); this module reads only
// the log (no consortium, no documents), so it imports nothing from src/node or src/governance.
//
// Reference: the nodes' own checks, re-derived from the log alone (src/node/job-governance.ts,
// NodeGovernance.consentInForce in src/node/governance.ts), over the bodies src/governance and
// src/node/ledger.ts write (studyLedgerBody, approvalLedgerBody, consentUpdateLedgerBody,
// jobRunBody); auditing a log's content as RFC 9162 §8.3 asks of monitors. For every job-run:
//   1 study     a governed job (body.study): an earlier study-submitted of that version
//               (studyHash); each of its datasets covered by an earlier study-approved of that
//               version whose custodian's latest decision (by its signed time) is 'approve'; the
//               job's time (= its submission) in [validFrom, validUntil); requester = researcher.
//   2 consent   a governed job reads, of every consent register D (the dataset of consent-changed
//               entries), the version of the newest consent-changed entry logged before it whose
//               signed time (the entry's log time for entries without one) is ≤ the job's time;
//               none when no such entry exists.
//   3 protection  protection.kind 'none' is a warning (exact results), not a failure.
// And every result-released entry follows a job-run of its job (4 release). Refused attempts
// (job-refused entries) are counted by the check that failed, for the audit's report.
//
// Each finding is a sentence naming the entry seq, the job and what is wrong.
import type { JsonValue, LedgerEntry } from './entry.js';

/** What a study-submitted entry says (studyLedgerBody). */
export interface LoggedStudy {
  seq: number;
  study: string;
  studyHash: string;
  researcher?: string;
  datasets: string[];
  validFrom?: string;
  validUntil?: string;
}

/** What a study-approved entry says (approvalLedgerBody). */
export interface LoggedApproval {
  seq: number;
  studyHash: string;
  custodian: string;
  decision: string;
  datasets: string[];
  time: string;
  /** The signed time, ms (NaN when unreadable: then it counts only when its custodian has no other decision). */
  at: number;
}

/** What a consent-changed entry says (consentUpdateLedgerBody). */
export interface LoggedConsent {
  seq: number;
  dataset: string;
  version: string;
  /** The signed time of the update; the entry's log time for entries written before it was logged. */
  time: string;
  at: number;
}

/** What a job-run entry says (jobRunBody); time = the job's submission. */
export interface LoggedJobRun {
  seq: number;
  job: string;
  time: string;
  at: number;
  dataset: string;
  version: string;
  versions?: Record<string, string>;
  requester?: string;
  protection?: string;
  /** Governed jobs. */
  study?: string;
  studyHash?: string;
}

/** What the log held before the entry under check. */
export interface LogState {
  /** The first study-submitted entry of each version (by studyHash). */
  studies: Map<string, LoggedStudy>;
  /** study-approved entries by studyHash, in log order. */
  approvals: Map<string, LoggedApproval[]>;
  /** consent-changed entries by consent register, sorted by (time, version): see consentInForceAt. */
  consent: Map<string, LoggedConsent[]>;
  /** Jobs with a job-run entry. */
  jobRuns: Set<string>;
}

export interface RulesReport {
  problems: string[];
  warnings: string[];
  /** job-run entries checked. */
  jobRuns: number;
  /** Refused attempts (job-refused entries) by the failed check, as the nodes logged them. */
  refused: Map<string, number>;
}

type Body = { [k: string]: JsonValue };
const str = (x: JsonValue | undefined): string | undefined => (typeof x === 'string' ? x : undefined);
const strs = (x: JsonValue | undefined): string[] => (Array.isArray(x) ? x.filter((y): y is string => typeof y === 'string') : []);
const short = (hex: string) => `${hex.slice(0, 16)}…`;
const list = (xs: string[]) => xs.map((x) => `'${x}'`).join(', ');

export function parseJobRun(e: LedgerEntry): LoggedJobRun {
  const b: Body = e.body;
  const versions = b.versions && typeof b.versions === 'object' && !Array.isArray(b.versions) ? (Object.fromEntries(Object.entries(b.versions).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : undefined;
  const protection = b.protection && typeof b.protection === 'object' && !Array.isArray(b.protection) ? str(b.protection.kind) : undefined;
  return {
    seq: e.seq, job: String(b.job), time: e.time, at: Date.parse(e.time), dataset: String(b.dataset), version: String(b.version),
    versions, requester: str(b.requester), protection, study: str(b.study), studyHash: str(b.studyHash),
  };
}

export function emptyState(): LogState {
  return { studies: new Map(), approvals: new Map(), consent: new Map(), jobRuns: new Set() };
}

/** The list stored under k, created empty if there is none. */
const listOf = <T>(m: Map<string, T[]>, k: string): T[] => m.get(k) ?? m.set(k, []).get(k)!;

/** How many leading elements of `sorted` satisfy `before` (which holds for a prefix): a binary search. */
function prefixLength<T>(sorted: readonly T[], before: (x: T) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(sorted[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds an entry to what the log holds (after the rules checked it). */
export function remember(s: LogState, e: LedgerEntry): void {
  const b: Body = e.body;
  const hash = str(b.studyHash);
  switch (e.kind) {
    case 'study-submitted':
      if (hash && !s.studies.has(hash)) {
        s.studies.set(hash, { seq: e.seq, study: String(b.study), studyHash: hash, datasets: strs(b.datasets), researcher: str(b.researcher), validFrom: str(b.validFrom), validUntil: str(b.validUntil) });
      }
      break;
    case 'study-approved':
      if (hash) {
        const time = String(b.time);
        listOf(s.approvals, hash).push({ seq: e.seq, studyHash: hash, custodian: String(b.custodian), decision: String(b.decision), datasets: strs(b.datasets), time, at: Date.parse(time) });
      }
      break;
    case 'consent-changed': {
      const dataset = str(b.dataset);
      const version = str(b.version);
      if (!dataset || !version) break; // not a consent update's body (no register named)
      const time = str(b.time) ?? e.time;
      const u = { seq: e.seq, dataset, version, time, at: Date.parse(time) };
      if (Number.isNaN(u.at)) break; // never in force
      const sorted = listOf(s.consent, dataset);
      sorted.splice(prefixLength(sorted, (x) => x.at < u.at || (x.at === u.at && x.version <= u.version)), 0, u);
      break;
    }
    case 'job-run':
      s.jobRuns.add(String(b.job));
      break;
    default:
      break;
  }
}

const jobAt = (r: LoggedJobRun) => `entry ${r.seq}: job ${r.job}`;

/** Rule 1: a governed job's study is registered, approved for every dataset, valid at the job's time and the requester's. */
export function studyRule(r: LoggedJobRun, s: LogState): string[] {
  if (r.study === undefined) return [];
  const study = r.studyHash !== undefined ? s.studies.get(r.studyHash) : undefined;
  if (!study || study.study !== r.study) {
    return [`${jobAt(r)} ran study '${r.study}' version ${r.studyHash ? short(r.studyHash) : '(none named)'}, which was never registered: no study-submitted entry of that version before the job`];
  }
  return [...approvalProblems(r, study, s.approvals.get(study.studyHash) ?? []), ...validityProblems(r, study), ...requesterProblems(r, study)];
}

/** Each dataset of the study needs approving custodians, and none whose latest decision is a rejection. */
export function approvalProblems(r: LoggedJobRun, study: LoggedStudy, approvals: readonly LoggedApproval[]): string[] {
  const latest = new Map<string, LoggedApproval>();
  const covers = new Map<string, Set<string>>(); // custodian → datasets its decisions name
  for (const a of approvals) {
    const prev = latest.get(a.custodian);
    if (!prev || a.at >= prev.at || Number.isNaN(prev.at)) latest.set(a.custodian, a); // the later entry wins a tie
    for (const d of a.datasets) (covers.get(a.custodian) ?? covers.set(a.custodian, new Set()).get(a.custodian)!).add(d);
  }
  const out: string[] = [];
  const missing: string[] = [];
  for (const [c, a] of latest) {
    const ds = study.datasets.filter((d) => covers.get(c)!.has(d));
    if (a.decision !== 'approve' && ds.length) {
      out.push(`${jobAt(r)} ran study '${study.study}' although custodian '${c}' rejected it: its latest decision before the job (study-approved entry ${a.seq}, ${a.time}) is '${a.decision}', for dataset${ds.length > 1 ? 's' : ''} ${list(ds)}`);
    }
  }
  for (const d of study.datasets) if (![...covers.values()].some((ds) => ds.has(d))) missing.push(d);
  if (missing.length) {
    out.push(`${jobAt(r)} ran study '${study.study}' without an approval of dataset${missing.length > 1 ? 's' : ''} ${list(missing)}: no study-approved entry of version ${short(study.studyHash)} covers ${missing.length > 1 ? 'them' : 'it'} before the job`);
  }
  return out;
}

/** The job's time (its submission) is inside the study's [validFrom, validUntil). */
export function validityProblems(r: LoggedJobRun, study: LoggedStudy): string[] {
  const from = Date.parse(study.validFrom ?? '');
  const until = Date.parse(study.validUntil ?? '');
  const where = `study '${study.study}' (study-submitted entry ${study.seq})`;
  if (Number.isNaN(from) || Number.isNaN(until)) return [`${jobAt(r)} ran ${where}, whose validity period is unreadable (validFrom ${JSON.stringify(study.validFrom)}, validUntil ${JSON.stringify(study.validUntil)})`];
  if (r.at < from) return [`${jobAt(r)} ran ${where} at ${r.time}, before its validity period starts at ${study.validFrom}`];
  if (r.at >= until) return [`${jobAt(r)} ran ${where} at ${r.time}, after it expired at ${study.validUntil}`];
  return [];
}

/** The job was requested by the study's researcher. */
export function requesterProblems(r: LoggedJobRun, study: LoggedStudy): string[] {
  if (study.researcher !== undefined && r.requester === study.researcher) return [];
  return [`${jobAt(r)} was requested by '${r.requester ?? '(nobody named)'}', but study '${study.study}' (study-submitted entry ${study.seq}) names researcher '${study.researcher ?? '(none)'}'`];
}

/**
 * The consent update in force at `at` among updates sorted by (time, version): the newest signed at
 * or before it, ties to the greater version, as the nodes decide (NodeGovernance.consentInForce).
 */
export function consentInForceAt(sorted: readonly LoggedConsent[], at: number): LoggedConsent | undefined {
  return sorted[prefixLength(sorted, (u) => u.at <= at) - 1];
}

/** Rule 2: a governed job reads, of every consent register, the version in force at its submission. */
export function consentRule(r: LoggedJobRun, s: LogState): string[] {
  if (r.study === undefined) return [];
  const out: string[] = [];
  for (const [register, updates] of s.consent) {
    const read = r.versions?.[register] ?? (r.dataset === register ? r.version : undefined);
    const want = consentInForceAt(updates, r.at);
    if (!want) {
      if (read !== undefined) out.push(`${jobAt(r)} read consent register '${register}' version ${read}, but no consent update of '${register}' logged before the job was in force at ${r.time}`);
      continue;
    }
    if (read === want.version) continue;
    const inForce = `version ${want.version} was in force at ${r.time} (consent-changed entry ${want.seq}, signed ${want.time})`;
    if (read === undefined) out.push(`${jobAt(r)} read no version of consent register '${register}', but ${inForce}`);
    else {
      const old = updates.find((u) => u.version === read);
      out.push(`${jobAt(r)} read consent register '${register}' version ${read}${old ? ` (consent-changed entry ${old.seq}, signed ${old.time})` : ''}, but ${inForce}: changes since then, withdrawals included, were not applied`);
    }
  }
  return out;
}

/** Rule 3 (a warning): a job ran without output protection. */
export function protectionWarnings(r: LoggedJobRun): string[] {
  return r.protection === 'none' ? [`${jobAt(r)} ran without output protection (nodes started with --exact-results)`] : [];
}

/** Rule 4: a result-released entry follows a job-run of its job. */
export function releaseRule(e: LedgerEntry, s: LogState): string[] {
  const job = String(e.body.job);
  return s.jobRuns.has(job) ? [] : [`entry ${e.seq}: job ${job}'s result was released, but no job-run entry of that job comes before it`];
}

/** Runs every rule over a log's entries in order (unreadable lines, undefined, are skipped). */
export function checkRules(entries: readonly (LedgerEntry | undefined)[]): RulesReport {
  const s = emptyState();
  const problems: string[] = [];
  const warnings: string[] = [];
  let jobRuns = 0;
  const refused = new Map<string, number>();
  for (const e of entries) {
    if (!e) continue;
    if (e.kind === 'job-refused') {
      // One attempt, counted once under each distinct check that refused it.
      const codes = new Set(Array.isArray(e.body.reasons) ? e.body.reasons.map((r) => String((r as Body).code)) : []);
      for (const c of codes) refused.set(c, (refused.get(c) ?? 0) + 1);
    }
    if (e.kind === 'job-run') {
      const r = parseJobRun(e);
      jobRuns++;
      problems.push(...studyRule(r, s), ...consentRule(r, s));
      warnings.push(...protectionWarnings(r));
    } else if (e.kind === 'result-released') problems.push(...releaseRule(e, s));
    remember(s, e);
  }
  return { problems, warnings, jobRuns, refused };
}
