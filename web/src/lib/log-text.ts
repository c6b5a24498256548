// The transparency log in plain language, for the auditor's page: a one-line summary of each entry,
// its fields as a readable list (labels, not JSON keys; hashes as hashes; protection and versions as
// words), the study an entry belongs to (a release belongs to its job's study), and what each kind of
// verification finding means. Bodies are those src/governance and src/node/ledger.ts write
// (studyLedgerBody, approvalLedgerBody, policyLedgerBody, consentUpdateLedgerBody, jobRunBody, the
// release entry and jobRefusedBody); anything else is still shown, field by field.
import type { EntryKind, JsonValue, LedgerEntry } from '../../../src/ledger/entry.js';
import type { Check, Finding } from '../../../src/ledger/verify.js';

export const KIND_LABEL: Record<EntryKind, string> = {
  'study-submitted': 'Study registered',
  'study-approved': 'Approval decision',
  'policy-published': 'Policy published',
  'consent-changed': 'Consent change',
  'job-run': 'Run',
  'result-released': 'Result released',
  'job-refused': 'Refused attempt',
  'record-accessed': "A patient's record read",
};

type Body = { [k: string]: JsonValue };
const str = (x: JsonValue | undefined): string | undefined => (typeof x === 'string' && x ? x : undefined);
const strs = (x: JsonValue | undefined): string[] => (Array.isArray(x) ? x.filter((y): y is string => typeof y === 'string') : []);
const num = (x: JsonValue | undefined): number | undefined => (typeof x === 'number' ? x : undefined);
const HASH = /^[0-9a-f]{64}$/;

/** "a, b and c". */
export function words(xs: string[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** A time as people read it, in UTC so that everyone sees the same: "2025-06-10 12:00:05 UTC". */
export function when(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The date part of an ISO time (for validity periods). */
const day = (iso: string | undefined) => (iso ? iso.slice(0, 10) : '?');

export const shortHash = (h: string) => (HASH.test(h) ? `${h.slice(0, 8)}…${h.slice(-4)}` : h);
export const shortJob = (j: string) => (j.length > 8 ? j.slice(0, 8) : j);

/** A run's output protection: as a field ("none (exact results)") or in a sentence ("without output protection …"). */
function protectionText(p: JsonValue | undefined, field = false): string {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return field ? 'not stated' : 'protection not stated';
  if (p.kind === 'none') return field ? 'none (exact results)' : 'without output protection (exact results)';
  const what =
    p.kind === 'dp'
      ? `differential privacy (${str(p.mechanism) ?? 'noise'}${num(p.epsilon) !== undefined ? `, ε = ${p.epsilon}` : ''}${num(p.delta) !== undefined ? `, δ = ${p.delta}` : ''})`
      : `protection ${String(p.kind)}`;
  return field ? what : `with ${what}`;
}

function versionsText(b: Body): string {
  const v = b.versions;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const parts = Object.entries(v).map(([d, ver]) => `${d} (${String(ver)})`);
    if (parts.length) return words(parts);
  }
  return `${str(b.dataset) ?? 'a register'}${str(b.version) ? ` (${str(b.version)})` : ''}`;
}

/** What the log says about jobs, to tie a release to its run (and its study). */
export interface LogIndex {
  /** job id → seq of its job-run entry. */
  runOf: Map<string, number>;
  /** seq → the study the entry belongs to (if any). */
  studyOf: Map<number, string>;
  /** Studies in order of first appearance. */
  studies: string[];
}

export function indexLog(entries: readonly LedgerEntry[]): LogIndex {
  const runOf = new Map<string, number>();
  const studyOfJob = new Map<string, string>();
  const studyOf = new Map<number, string>();
  const studies: string[] = [];
  const note = (seq: number, s: string | undefined) => {
    if (!s) return;
    studyOf.set(seq, s);
    if (!studies.includes(s)) studies.push(s);
  };
  for (const e of entries) {
    const b = e.body;
    const job = str(b.job);
    if (e.kind === 'job-run' && job) {
      runOf.set(job, e.seq);
      if (str(b.study)) studyOfJob.set(job, str(b.study)!);
    }
    if (e.kind === 'study-submitted' || e.kind === 'study-approved' || e.kind === 'job-run' || e.kind === 'job-refused') note(e.seq, str(b.study));
    else if (e.kind === 'result-released' && job) note(e.seq, studyOfJob.get(job));
  }
  return { runOf, studyOf, studies };
}

/** One line saying what an entry records. */
export function summary(e: LedgerEntry, ix?: LogIndex): string {
  const b: Body = e.body;
  switch (e.kind) {
    case 'study-submitted': {
      const ds = strs(b.datasets);
      return `${str(b.researcher) ?? 'A researcher'} registered study “${str(b.study) ?? '?'}”${str(b.purpose) ? ` for ${str(b.purpose)} research` : ''}${ds.length ? ` on ${words(ds)}` : ''}${b.validFrom || b.validUntil ? `, valid ${day(str(b.validFrom))} to ${day(str(b.validUntil))}` : ''}`;
    }
    case 'study-approved': {
      const ds = strs(b.datasets);
      const d = str(b.decision);
      const verb = d === 'approve' ? 'approved' : d === 'reject' ? 'rejected' : `decided “${d ?? '?'}” on`;
      return `${str(b.custodian) ?? 'A custodian'} ${verb} study “${str(b.study) ?? '?'}”${ds.length ? ` for ${words(ds)}` : ''}`;
    }
    case 'policy-published': {
      const ds = strs(b.datasets);
      return `${str(b.custodian) ?? 'A custodian'} published its data policy${ds.length ? ` for ${words(ds)}` : ''}`;
    }
    case 'consent-changed': {
      if (str(b.dataset) && str(b.version)) {
        const w = num(b.withdrawn);
        const g = num(b.granted);
        const ps = strs(b.purposes);
        const counts = [w !== undefined ? `${w} withdrawn` : '', g !== undefined ? `${g} given` : ''].filter(Boolean);
        return `Consent register ${str(b.dataset)} moved to version ${str(b.version)}${counts.length ? `: ${words(counts)}` : ''}${ps.length ? ` (${words(ps)})` : ''}`;
      }
      const counts = Object.entries(b)
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => `${label(k).toLowerCase()} ${v}`);
      return `Consent changes recorded${str(b.purpose) ? ` for ${str(b.purpose)}` : ''}${counts.length ? `: ${counts.join(', ')}` : ''}`;
    }
    case 'job-run': {
      const who = str(b.requester) ?? 'Someone';
      const what = str(b.study) ? `study “${str(b.study)}”${str(b.query) ? ` (query ${str(b.query)})` : ''}` : 'a query';
      return `${who} ran ${what} on ${versionsText(b)}, ${protectionText(b.protection)}`;
    }
    case 'result-released': {
      const job = str(b.job) ?? '?';
      const run = ix?.runOf.get(job);
      return `The result of job ${shortJob(job)} was released to its requester${run !== undefined ? ` (run in entry ${run})` : ''}; the nodes committed to their shares`;
    }
    case 'job-refused': {
      const who = str(b.requester) ?? 'Someone';
      const what = str(b.study) ? `study “${str(b.study)}”${str(b.query) ? ` (query ${str(b.query)})` : ''}` : 'a query';
      const by = Array.isArray(b.refusedBy) ? b.refusedBy.filter((p): p is number => typeof p === 'number') : [];
      const codes = [...new Set((Array.isArray(b.reasons) ? b.reasons : []).map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? str(r.code) : undefined)).filter((c): c is string => !!c))];
      return `${who} tried to run ${what}; refused by ${by.length === 1 ? 'node' : 'nodes'} ${words(by.map(String))}${codes.length ? ` (${words(codes)})` : ''}, nothing was computed`;
    }
    case 'record-accessed': {
      const regs = b.registers && typeof b.registers === 'object' && !Array.isArray(b.registers) ? Object.keys(b.registers) : [];
      return `A doctor read a patient's record under the patient's grant${regs.length ? ` (${words(regs)})` : ''}; only the patient can tell it was theirs`;
    }
    default:
      return `${String((e as { kind: unknown }).kind)} entry`;
  }
}

const LABELS: Record<string, string> = {
  study: 'Study', studyHash: 'Study version (SHA-256)', researcher: 'Researcher', purpose: 'Purpose', datasets: 'Registers',
  queries: 'Queries', validFrom: 'Valid from', validUntil: 'Valid until', signatureKeyId: 'Signed with key', custodian: 'Custodian',
  decision: 'Decision', time: 'Signed at', issuedAt: 'Issued at', policyHash: 'Policy (SHA-256)', dataset: 'Register', version: 'Version',
  versions: 'Register versions read', rows: 'Rows in the register', changes: 'Changes', granted: 'Consents given', withdrawn: 'Consents withdrawn',
  purposes: 'Purposes', commitments: 'Commitments (one per change)', job: 'Job', jobSeq: 'Job number', sqlSha256: 'Query text (SHA-256)',
  minCellSize: 'Smallest cell shown', requester: 'Requested by', requestSha256: 'Signed request (SHA-256)', protection: 'Output protection',
  query: 'Query of the study', request: 'Request nonce', resultMeta: 'Result metadata (SHA-256)', shareCommitments: 'Share commitments (nodes 0, 1, 2)',
  optedOut: 'Opted out', optedIn: 'Opted in', register: 'Register (commitment)', commitment: 'Commitment',
  refusedBy: 'Refused by nodes', reasons: 'Reasons',
};

/** A field name as a label ("minCellSize" → "Smallest cell shown"; unknown ones de-camel-cased). */
export function label(k: string): string {
  return LABELS[k] ?? k.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

/** A field's value as text pieces; `hash` marks SHA-256 values (shown in full, in monospace). */
export interface FieldValue {
  text: string;
  hash?: boolean;
}

export function fieldValue(k: string, v: JsonValue): FieldValue[] {
  if (k === 'protection') return [{ text: protectionText(v, true) }];
  if (k === 'jobSeq' && typeof v === 'number') return [{ text: String(v) }];
  if ((k === 'time' || k === 'issuedAt' || k === 'validFrom' || k === 'validUntil') && typeof v === 'string') return [{ text: when(v) }];
  if (k === 'decision' && typeof v === 'string') return [{ text: v === 'approve' ? 'approved' : v === 'reject' ? 'rejected' : v }];
  if (v === null) return [{ text: '—' }];
  if (typeof v === 'string') return [{ text: v, ...(HASH.test(v) ? { hash: true } : {}) }];
  if (typeof v === 'number') return [{ text: v.toLocaleString('en-US') }];
  if (typeof v === 'boolean') return [{ text: v ? 'yes' : 'no' }];
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string' && HASH.test(x))) return (v as string[]).map((x) => ({ text: x, hash: true }));
    return [{ text: v.length ? v.map((x) => (typeof x === 'object' && x !== null ? Object.entries(x).map(([a, b]) => `${label(a)}: ${String(b)}`).join(', ') : String(x))).join(', ') : 'none' }];
  }
  return [{ text: Object.entries(v).map(([a, b]) => `${a}: ${typeof b === 'object' && b !== null ? JSON.stringify(b) : String(b)}`).join(', ') }];
}

/** The order in which a reader wants an entry's fields: what, who, on what, how; hashes and ids last. */
const FIELD_ORDER = [
  'study', 'query', 'researcher', 'requester', 'custodian', 'decision', 'purpose', 'purposes', 'datasets', 'dataset', 'version', 'versions', 'rows',
  'granted', 'withdrawn', 'changes', 'protection', 'minCellSize', 'queries', 'validFrom', 'validUntil', 'time', 'issuedAt', 'job', 'jobSeq',
  'refusedBy', 'reasons', 'studyHash', 'policyHash', 'sqlSha256', 'request', 'requestSha256', 'resultMeta', 'shareCommitments', 'commitments', 'signatureKeyId',
];
const rank = (k: string) => {
  const i = FIELD_ORDER.indexOf(k);
  return i < 0 ? FIELD_ORDER.length : i;
};

/** An entry's fields, labelled, in FIELD_ORDER (other keys after them, as written). */
export function fields(e: LedgerEntry): { key: string; label: string; value: FieldValue[] }[] {
  return Object.entries(e.body)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([k, v]) => ({ key: k, label: label(k), value: fieldValue(k, v) }));
}

// ---------------------------------------------------------------------------------------------
// Verification findings in plain language

export const CHECK_TITLE: Record<Check, string> = {
  partial: 'A half-written line at the end of a log file',
  entry: 'An entry that is not in the form the nodes write',
  sequence: 'Entries missing or out of order',
  head: 'An unreadable tree head',
  cluster: 'A tree head of another cluster',
  signature: 'A signature that does not verify',
  'head-order': 'Tree heads out of order',
  root: 'Entries changed after the nodes signed them',
  truncated: 'Entries removed from the end of a log',
  consistency: 'A consistency proof that fails',
  fork: 'The log forked: the nodes signed two different histories',
  diverge: 'The nodes’ copies differ',
  fetch: 'A node could not be reached',
  rules: 'A run the log does not allow',
  more: 'More of the same',
};

const range = (f: Finding) => (f.seq === undefined ? '' : f.seqTo !== undefined && f.seqTo !== f.seq ? `entries ${f.seq} to ${f.seqTo}` : `entry ${f.seq}`);

/** One plain sentence for a finding (the exact report sentence is shown beside it). */
export function plain(f: Finding, names: readonly string[]): string {
  const node = f.replica ?? 'a node';
  const whose = f.party !== undefined ? (names[f.party] ?? `node ${f.party}`) : undefined;
  const head = f.head !== undefined ? `tree head #${f.head}${f.size !== undefined ? ` (the first ${f.size} entries)` : ''}` : 'a tree head';
  switch (f.check) {
    case 'root':
      return `${node}’s copy of ${range(f)} is not what all three nodes signed in ${head}: it was changed, removed or reordered after signing.`;
    case 'signature':
      return `${head.charAt(0).toUpperCase()}${head.slice(1)} at ${node}: ${whose ? `${whose}’s signature` : 'a signature'} ${/missing/.test(f.message) ? 'is missing' : /two signatures/.test(f.message) ? 'appears twice' : 'does not verify under its public key (forged, or the head was altered)'}.`;
    case 'truncated':
      return `${node}’s log lacks ${range(f)}, which the three nodes had signed.`;
    case 'sequence':
      return `${node}’s log: ${f.seq !== undefined ? `${range(f)} ${/out of order/.test(f.message) ? 'out of order' : 'missing'}` : 'entries out of order'}.`;
    case 'entry':
      return `${node}’s ${range(f) || 'entry'} is not a well-formed entry in the nodes’ exact form (edited by hand?).`;
    case 'partial':
      return `${node}’s log file ends in a half-written line (a crash, or a cut-off copy).`;
    case 'diverge':
      return `${words(f.replicas ?? [])} hold different versions of entry ${f.seq}.`;
    case 'fork':
      return f.replicas?.length
        ? `${words(f.replicas)} hold tree heads of ${f.size} entries that were both signed by all three nodes but differ: two histories.`
        : `${node} holds two tree heads of ${f.size} entries, both signed by all three nodes, that differ: two histories.`;
    case 'cluster':
      return `${node} holds ${head} of another cluster.`;
    case 'head-order':
      return `${node}’s ${head} comes after a larger or newer one.`;
    case 'head':
      return `${node} holds ${head} that cannot be read.`;
    case 'consistency':
      return `${node} could not prove that its history is a prefix of the latest signed head.`;
    case 'fetch':
      return `${node} did not answer; its copy of the log was not checked.`;
    case 'rules':
      return `${f.seq !== undefined ? `Entry ${f.seq}` : 'An entry'} records a run or release that the entries before it do not allow.`;
    case 'more':
      return f.message;
  }
}
