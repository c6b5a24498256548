// Usage and licensing per study, for a custodian (hospitals license the use of their data rather
// than sell it): what each node recorded of the runs that read this custodian's data
// (GET /v1/usage: queries run, rows touched, epsilon spent, first and last use; src/governance/usage.ts),
// checked to be the same at all three nodes, with the study's privacy budget (GET
// /v1/studies/:id/budget) and the licence terms of this custodian's approval (from the signed
// approvals the nodes hold). Exported as CSV. Public metadata and counts only: no data values.
import type { UsageSummary } from '../../../src/governance/usage-summary.js';
import { call, cluster, PARTIES } from './api.js';
import type { BrowserIdentity } from './keys.js';
import { latestDecision } from './custodian-studies.js';
import { listStudies, studyRoute, type StudyRoute } from './studies.js';

export interface LicensedUsage {
  study: string;
  title: string;
  researcher: string;
  purpose: string;
  queries: number;
  rowsTouched: number;
  datasets: string[];
  epsilonSpent: number;
  /** The study's whole privacy budget (its declared epsilon), when it has one. */
  budgetEpsilon: number | null;
  firstAt: string;
  lastAt: string;
  approvedAt: string | null;
  terms: string | null;
}

export interface UsageReport {
  rows: LicensedUsage[];
  /** Nodes whose records differ from node 0's (they record the same runs; a difference needs looking into). */
  disagreements: string[];
}

export async function usageReport(id: BrowserIdentity): Promise<UsageReport> {
  const info = await cluster();
  const perNode = await Promise.all(PARTIES.map((p) => call<{ node: string; summary: UsageSummary[] }>(p, `/v1/usage?custodian=${encodeURIComponent(id.name)}`, { as: id })));
  const key = (s: UsageSummary) => `${s.study}|${s.queries}|${s.rowsTouched}|${s.datasets.join(',')}`;
  const want = perNode[0]!.summary.map(key).sort().join('\n');
  const disagreements = PARTIES.slice(1)
    .filter((p) => perNode[p]!.summary.map(key).sort().join('\n') !== want)
    .map((p) => `${info.nodes[p]!.name} recorded different usage than ${info.nodes[0]!.name}`);
  const listings = await listStudies(id);
  const rows: LicensedUsage[] = [];
  for (const u of perNode[0]!.summary) {
    const versions = await studyRoute(u.study, id).catch((): Pick<StudyRoute, 'versions'> => ({ versions: [] }));
    const approvals = versions.versions.flatMap((v) => v.approvals);
    const ap = latestDecision(approvals.filter((a) => a.approval.decision === 'approve'), id.name);
    const listing = listings.find((l) => l.id === u.study && (!ap || l.hash === ap.approval.studyHash)) ?? listings.find((l) => l.id === u.study);
    rows.push({
      study: u.study,
      title: listing?.title ?? '',
      researcher: listing?.researcher ?? '',
      purpose: listing?.purpose ?? '',
      queries: u.queries,
      rowsTouched: u.rowsTouched,
      datasets: u.datasets,
      epsilonSpent: u.epsilon,
      budgetEpsilon: listing?.privacy?.epsilon ?? null,
      firstAt: u.firstAt,
      lastAt: u.lastAt,
      approvedAt: ap?.approval.time ?? null,
      terms: ap?.approval.terms ?? null,
    });
  }
  return { rows, disagreements };
}

export const USAGE_CSV_HEADER = ['study', 'title', 'researcher', 'purpose', 'queries_run', 'rows_touched', 'datasets', 'epsilon_spent', 'study_budget_epsilon', 'first_use', 'last_use', 'approved_at', 'licence_terms'];

export const usageCsvRows = (r: UsageReport): unknown[][] =>
  r.rows.map((u) => [u.study, u.title, u.researcher, u.purpose, u.queries, u.rowsTouched, u.datasets.join(' '), u.epsilonSpent, u.budgetEpsilon ?? '', u.firstAt, u.lastAt, u.approvedAt ?? '', u.terms ?? '']);
