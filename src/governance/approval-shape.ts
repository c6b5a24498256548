// A custodian's approval (or rejection) of one exact version of a study: the document's types and
// its shape check, browser-safe (the web app builds, checks and signs approvals with WebCrypto; the
// nodes verify them with ./study.ts). An approval may carry licence terms: plain text under which
// the custodian licenses the use of its data to this study (hospitals license rather than sell
// data). The terms are part of the signed approval body, so they cannot be changed after signing;
// the transparency log records their SHA-256 (./study.ts approvalLedgerBody), the approval itself
// (served by the nodes to identities) their text.
import { refuse } from './errors.js';
import { isSignature, type Signature } from './signature.js';
import { parseTime } from './times.js';

export const APPROVAL_FORMAT = 'mosaik-approval/1';

/** Longest licence terms, in characters. */
export const MAX_TERMS_CHARS = 4000;

export interface ApprovalBody {
  format: typeof APPROVAL_FORMAT;
  /** The study's id and the hash of the exact version approved. */
  study: string;
  studyHash: string;
  custodian: string;
  decision: 'approve' | 'reject';
  /** The custodian's datasets the study reads (informative; the check recomputes them). */
  datasets: string[];
  time: string;
  reason?: string;
  /** Licence terms attached to an approval (plain text, at most MAX_TERMS_CHARS characters). */
  terms?: string;
}

export interface Approval {
  approval: ApprovalBody;
  signature?: Signature;
}

const HEX64 = /^[0-9a-f]{64}$/;
// Control characters other than tab, line feed and carriage return.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Checks licence terms (returns them unchanged); `where` names the approval in the refusal. */
export function checkTerms(terms: unknown, where: string, decision: 'approve' | 'reject'): string {
  const bad = (m: string): never => refuse('malformed', `${where}: licence terms ${m}`);
  if (typeof terms !== 'string') return bad('must be text');
  if (!terms.trim()) bad('are empty (leave them out instead)');
  if (terms.length > MAX_TERMS_CHARS) bad(`have ${terms.length} characters; at most ${MAX_TERMS_CHARS} are allowed (refer to a longer contract by its name or number)`);
  if (CONTROL.test(terms)) bad('contain a control character (only text, tabs and line breaks are allowed)');
  if (decision !== 'approve') bad('go with an approval, not a rejection (a rejection gives a reason)');
  return terms;
}

/** Checks an approval document's shape (not its signature); returns it typed. Throws 'malformed'. */
export function checkApprovalShape(x: unknown): Approval {
  const o = x as Approval;
  const bad = (m: string): never => refuse('malformed', `approval: ${m}`);
  if (!o || typeof o !== 'object' || !o.approval || typeof o.approval !== 'object') bad('not an approval document ({approval, signature})');
  const a = o.approval;
  if (a.format !== APPROVAL_FORMAT) bad(`format must be '${APPROVAL_FORMAT}'`);
  if (typeof a.study !== 'string' || typeof a.custodian !== 'string') bad('study and custodian are required');
  if (typeof a.studyHash !== 'string' || !HEX64.test(a.studyHash)) bad('studyHash must be 64 lower-case hex digits');
  if (a.decision !== 'approve' && a.decision !== 'reject') bad(`decision must be 'approve' or 'reject'`);
  if (!Array.isArray(a.datasets)) bad('datasets must be a list');
  parseTime(a.time, `approval by '${a.custodian}': time`);
  if (a.reason !== undefined && typeof a.reason !== 'string') bad(`by '${a.custodian}': reason must be text`);
  if (a.terms !== undefined) checkTerms(a.terms, `approval of study '${a.study}' by '${a.custodian}'`, a.decision);
  if (o.signature !== undefined && !isSignature(o.signature)) bad(`by '${a.custodian}': the signature field is not a signature`);
  return o;
}
