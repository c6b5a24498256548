// The browser's `mosaik audit verify`: fetch the three nodes' replicas through the relay and run
// the audit of src/ledger/audit.ts on them — the very functions the CLI runs, so the verdict (every
// problem and warning, in order) is the CLI's for the same replicas. Returns a plain, cloneable
// verdict (it crosses from the worker, ./audit-worker.ts, to the page), with per-node summaries and
// where the nodes' copies of an entry differ.
import { auditLog, disagreements, fetchReplica, type AuditLogOptions, type AuditProgress, type Disagreement, type NodeGet, type Party } from '../../../src/ledger/audit.js';
import type { SignatureProblem, SignedHead } from '../../../src/ledger/heads.js';
import type { Finding, ReplicaInput, TrustAnchor } from '../../../src/ledger/verify.js';

export interface ReplicaSummary {
  label: string;
  party?: Party;
  size: number;
  heads: number;
  latest?: SignedHead;
  problems: string[];
  warnings: string[];
  /** Entries per kind. */
  kinds: Record<string, number>;
}

export interface Verdict {
  ok: boolean;
  /** Exactly `mosaik audit verify`'s problems and warnings for these replicas (online, no --result). */
  problems: string[];
  warnings: string[];
  findings: Finding[];
  replicas: ReplicaSummary[];
  /** The latest head signed by all three nodes that a replica's entries match. */
  top?: SignedHead;
  /** The replica the content rules read. */
  ref?: string;
  rulesChecked: string;
  rules?: { jobRuns: number; problems: string[]; warnings: string[] };
  disagreements: Disagreement[];
  /** Milliseconds the whole audit took. */
  took: number;
}

export interface VerifyRequest {
  anchor: TrustAnchor;
  nodes: { party: Party; label: string }[];
}

/** Checks heads' signatures ahead of the audit (e.g. on several threads), by head line. */
export type SignatureChecker = (headLines: string[], anchor: TrustAnchor, onProgress: (p: AuditProgress) => void) => Promise<Map<string, SignatureProblem[]>>;

/** The whole audit (fetch, verify, compare, proofs, rules) of the cluster's log. */
export async function verifyLog(req: VerifyRequest, get: NodeGet, onProgress: (p: AuditProgress) => void = () => {}, checkSignatures?: SignatureChecker): Promise<Verdict> {
  const t0 = performance.now();
  const got = await Promise.allSettled(req.nodes.map((n) => fetchReplica(get, n.party, n.label, onProgress)));
  const inputs: (ReplicaInput & { party: Party })[] = [];
  const unreachable: NonNullable<AuditLogOptions['unreachable']> = [];
  const selfReports: NonNullable<AuditLogOptions['selfReports']> = [];
  got.forEach((g, i) => {
    const n = req.nodes[i]!;
    if (g.status === 'rejected') unreachable.push({ label: n.label, party: n.party, error: (g.reason as Error).message });
    else {
      inputs.push(g.value.input);
      if (g.value.selfReport) selfReports.push({ label: n.label, report: g.value.selfReport });
    }
  });
  const signatures = checkSignatures ? await checkSignatures(inputs.flatMap((i) => i.headLines), req.anchor, onProgress) : undefined;
  const audit = await auditLog(inputs, req.anchor, { unreachable, selfReports, get, onProgress, ...(signatures ? { signatures } : {}) });
  const replicas = audit.reports.map((r): ReplicaSummary => {
    const kinds: Record<string, number> = {};
    for (const e of r.entries) if (e) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    return { label: r.label, ...(r.party !== undefined ? { party: r.party } : {}), size: r.size, heads: r.heads.length, ...(r.latest ? { latest: r.latest } : {}), problems: r.problems, warnings: r.warnings, kinds };
  });
  return {
    ok: audit.problems.length === 0,
    problems: audit.problems,
    warnings: audit.warnings,
    findings: audit.findings,
    replicas,
    ...(audit.top ? { top: audit.top } : {}),
    ...(audit.ref ? { ref: audit.ref.label } : {}),
    rulesChecked: audit.rulesChecked,
    ...(audit.rules ? { rules: { jobRuns: audit.rules.jobRuns, problems: audit.rules.problems, warnings: audit.rules.warnings } } : {}),
    disagreements: disagreements(audit.reports, inputs),
    took: performance.now() - t0,
  };
}
