// The auditor's verification of the whole transparency log, as one function for `mosaik audit
// verify` (src/cli/audit.ts) and the browser's auditor page (web/src/lib/audit-worker.ts): read
// each node's replica over its public API, verify every replica from genesis (src/ledger/verify.ts:
// Merkle roots, RFC 9162 §2.1; every head's three Ed25519 signatures; consistency, §2.1.4),
// compare the replicas (prefixes, forks, lost entries), ask each node for a consistency proof from
// its first co-signed head to the latest (§2.1.4), and check what the intact log says (the content
// rules, src/ledger/rules.ts). How a node is reached is the caller's: the CLI over pinned TLS
// (src/node/api.ts), the browser through `mosaik web`'s relay. Findings come in the order the CLI
// prints them, so both report the same verdict for the same replicas.
//
// No Node built-ins: this module and everything it imports run in a browser as they are.
import { canonicalJson } from './entry.js';
import type { SignedHead } from './heads.js';
import type { SignatureProblem } from './heads.js';
import { equalBytes } from './bytes.js';
import { fromHex, toHex, verifyConsistency } from './merkle.js';
import { checkRules, type RulesReport } from './rules.js';
import { compareReplicas, verifyReplica, type Finding, type ReplicaInput, type ReplicaProgress, type ReplicaReport, type TrustAnchor } from './verify.js';

export type Party = 0 | 1 | 2;

/** One GET to a node's API: its status and parsed JSON body (thrown errors: the node is unreachable). */
export type NodeGet = (party: Party, path: string) => Promise<{ status: number; body: unknown }>;

/** What a node says about its own replica (GET /v1/ledger/status). */
export interface SelfReport {
  problems: string[];
  warnings: string[];
}

export interface FetchedReplica {
  input: ReplicaInput & { party: Party };
  selfReport?: SelfReport;
}

/** Progress of a whole audit: fetching a replica, verifying one, asking for proofs. */
export type AuditProgress =
  | { phase: 'fetch'; label: string; what: 'entries' | 'heads'; done: number; total: number }
  | (ReplicaProgress & { phase: 'entries' | 'heads' })
  | { phase: 'signatures'; done: number; total: number; threads: number }
  | { phase: 'compare' | 'proofs' | 'rules'; label?: string };

/** A GET that must answer 200: its body, else an Error with the node's message. */
export async function getOk<T>(get: NodeGet, party: Party, path: string): Promise<T> {
  const r = await get(party, path);
  if (r.status !== 200) throw new Error(`${path}: ${(r.body as { error?: string } | null)?.error ?? `HTTP ${r.status}`}`);
  return r.body as T;
}

/** Every entry or every head of node `party`'s replica, page by page (`onPage`: how many so far, of how many). */
export async function fetchAll<T>(get: NodeGet, party: Party, what: 'entries' | 'heads', onPage?: (done: number, total: number) => void): Promise<T[]> {
  const out: T[] = [];
  for (let from = 0; ; ) {
    const r = await getOk<{ size?: number; count?: number; to: number; entries?: T[]; heads?: T[] }>(get, party, `/v1/ledger/${what}?from=${from}`);
    const items = r[what] ?? [];
    const total = (what === 'entries' ? r.size : r.count) ?? 0;
    out.push(...items);
    from = r.to;
    onPage?.(Math.min(from, total), total);
    if (from >= total || !items.length) return out;
  }
}

/**
 * Reads node `party`'s replica over its public API: all entries (as canonical lines) and heads,
 * page by page, and its report about itself. Throws when the node does not answer.
 */
export async function fetchReplica(get: NodeGet, party: Party, label: string, onProgress?: (p: AuditProgress) => void): Promise<FetchedReplica> {
  const progress = (what: 'entries' | 'heads') => (done: number, total: number) => onProgress?.({ phase: 'fetch', label, what, done, total });
  const entries = await fetchAll<unknown>(get, party, 'entries', progress('entries'));
  const heads = await fetchAll<unknown>(get, party, 'heads', progress('heads'));
  const status = await getOk<SelfReport>(get, party, '/v1/ledger/status').catch(() => undefined);
  // The node serves parsed lines; the canonical form is what was hashed (a line that is not an
  // entry at all is kept as the node sent it, and fails verification).
  const line = (x: unknown) => {
    try {
      return canonicalJson(x);
    } catch {
      return JSON.stringify(x);
    }
  };
  return { input: { label, party, entryLines: entries.map(line), headLines: heads.map((h) => JSON.stringify(h)) }, ...(status ? { selfReport: status } : {}) };
}

export type AuditReplicaReport = ReplicaReport & { party?: Party };

export interface LogAudit {
  /** Every problem, as `mosaik audit verify` prints it (order included). */
  problems: string[];
  /** The same problems with where they are. */
  findings: Finding[];
  warnings: string[];
  reports: AuditReplicaReport[];
  /** The cluster's latest co-signed head that some replica's entries match. */
  top?: SignedHead;
  /** The replica the content rules read (best: fewest problems, then longest), if it verifies intact. */
  ref?: AuditReplicaReport;
  rules?: RulesReport;
  /** One line on what the content rules checked ("3 job-runs checked against the rules", or why not). */
  rulesChecked: string;
}

export interface AuditLogOptions {
  /** Nodes whose replica could not be fetched (online audits). */
  unreachable?: { label: string; party: Party; error: string }[];
  /** What each node said about its own replica (online audits): warnings in the report. */
  selfReports?: { label: string; report: SelfReport }[];
  /**
   * Heads' signatures already checked, by head line (verify.ts headSignatureChecks, e.g. on several
   * threads); the audit checks the rest itself.
   */
  signatures?: Map<string, SignatureProblem[]>;
  /** Online: asks the nodes for consistency proofs. Offline: leave out. */
  get?: NodeGet;
  onProgress?: (p: AuditProgress) => void;
}

/** The replica to read entries from: fewest problems, then longest. */
export function bestReplica<R extends ReplicaReport>(reports: R[]): R | undefined {
  return [...reports].sort((a, b) => a.problems.length - b.problems.length || b.size - a.size)[0];
}

/** The audit of the given replicas (see the module comment). */
export async function auditLog(inputs: (ReplicaInput & { party?: Party })[], anchor: TrustAnchor, o: AuditLogOptions = {}): Promise<LogAudit> {
  const findings: Finding[] = [];
  const warnings: string[] = [];
  for (const u of o.unreachable ?? []) findings.push({ check: 'fetch', replica: u.label, message: `${u.label}: cannot fetch its replica: ${u.error}` });

  // 1. Each replica from genesis; the heads' signatures checked once for all replicas.
  const memo = o.signatures ?? new Map<string, SignatureProblem[]>();
  const reports: AuditReplicaReport[] = [];
  for (const i of inputs) {
    const r = verifyReplica(i, anchor, { memo, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
    reports.push({ ...r, ...(i.party !== undefined ? { party: i.party } : {}) });
    findings.push(...r.findings);
    warnings.push(...r.warnings);
  }
  o.onProgress?.({ phase: 'compare' });
  const cross = compareReplicas(reports);
  findings.push(...cross.findings);
  warnings.push(...cross.warnings);
  for (const s of o.selfReports ?? []) for (const m of s.report.problems ?? []) warnings.push(`${s.label} reports about its own replica: ${m}`);

  let top: SignedHead | undefined;
  for (const r of reports) if (r.latest && (!top || r.latest.size > top.size)) top = r.latest;

  // 2. Online: each node proves its history consistent with the latest head (RFC 9162 §2.1.4).
  if (o.get && top) {
    o.onProgress?.({ phase: 'proofs' });
    const t = top;
    const proofs = await Promise.all(
      reports.map(async (r): Promise<Finding | undefined> => {
        const first = r.goodHeads[0];
        if (r.party === undefined || !first || r.size < t.size || r.problems.length) return undefined;
        try {
          const a = await o.get!(r.party, `/v1/ledger/proof/consistency?from=${first.size}&to=${t.size}`);
          const body = a.body as { path?: unknown; error?: string } | null;
          if (a.status !== 200 || !Array.isArray(body?.path)) throw new Error(body?.error ?? `HTTP ${a.status}`);
          if (!verifyConsistency(first.size, t.size, fromHex(first.rootHash), fromHex(t.rootHash), body.path.map((h) => fromHex(h)))) {
            return { check: 'consistency', replica: r.label, size: t.size, message: `${r.label}: its consistency proof from its first co-signed head (size ${first.size}) to the latest (size ${t.size}) does not verify` };
          }
        } catch (e) {
          return { check: 'consistency', replica: r.label, size: t.size, message: `${r.label}: no consistency proof from size ${first.size} to ${t.size}: ${(e as Error).message}` };
        }
        return undefined;
      }),
    );
    for (const f of proofs) if (f) findings.push(f);
  }

  // 3. The content rules, on the best intact replica (the others, if intact, are its prefixes).
  const ref = bestReplica(reports);
  let rules: RulesReport | undefined;
  let rulesChecked = 'the content rules were not checked (no replica verifies intact)';
  if (ref && !ref.problems.length) {
    o.onProgress?.({ phase: 'rules', label: ref.label });
    rules = checkRules(ref.entries);
    for (const m of rules.problems) findings.push({ check: 'rules', replica: ref.label, ...seqOf(m), message: m });
    warnings.push(...rules.warnings);
    rulesChecked = `${rules.jobRuns} job-run${rules.jobRuns === 1 ? '' : 's'} checked against the rules`;
  }
  return { problems: findings.map((f) => f.message), findings, warnings, reports, ...(top ? { top } : {}), ...(ref ? { ref } : {}), ...(rules ? { rules } : {}), rulesChecked };
}

/** The entry a content-rule finding names ("entry 12: job …"). */
function seqOf(m: string): { seq?: number } {
  const x = /^entry (\d+):/.exec(m);
  return x ? { seq: Number(x[1]) } : {};
}

/** One seq at which the replicas that hold it do not all hold the same entry. */
export interface Disagreement {
  seq: number;
  /** The replicas grouped by the entry they hold (largest group first), with the entry's line. */
  copies: { replicas: string[]; leafHash: string; line: string }[];
}

/**
 * Every seq (up to `max`) at which the replicas disagree: which node holds which version of the
 * entry. Where two of three agree, the third is the odd one out.
 */
export function disagreements(reports: ReplicaReport[], inputs: ReplicaInput[], max = 100): Disagreement[] {
  const out: Disagreement[] = [];
  const byLabel = new Map(inputs.map((i) => [i.label, i]));
  const n = Math.max(0, ...reports.map((r) => r.size));
  for (let seq = 0; seq < n && out.length < max; seq++) {
    const holding = reports.filter((r) => seq < r.size);
    if (holding.length < 2) continue;
    const first = holding[0]!.tree.leafHash(seq);
    if (holding.every((r) => equalBytes(r.tree.leafHash(seq), first))) continue;
    const groups: Disagreement['copies'] = [];
    for (const r of holding) {
      const h = toHex(r.tree.leafHash(seq));
      const g = groups.find((x) => x.leafHash === h);
      if (g) g.replicas.push(r.label);
      else groups.push({ replicas: [r.label], leafHash: h, line: byLabel.get(r.label)?.entryLines[seq] ?? '' });
    }
    groups.sort((a, b) => b.replicas.length - a.replicas.length);
    out.push({ seq, copies: groups });
  }
  return out;
}
