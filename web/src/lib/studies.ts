// Studies from the browser (src/governance/study.ts, src/node/governance-api.ts): the registered
// studies and their approvals, a study's budget at the three nodes, a new study composed, checked
// here (each query planned against the registers' public schemas; the columns each query reads,
// and how, within what the study declares), signed with the researcher's key in this browser and
// submitted to node 0, which has every node verify and store it. The nodes check everything again.
import type { Approval } from '../../../src/governance/approval-shape.js';
import type { ColumnUse } from '../../../src/governance/column-use.js';
import { usesOfJoinPlan, usesOfPlan } from '../../../src/governance/plan-uses.js';
import { planAnyQuery } from '../../../src/query/join-plan.js';
import { parseQuery } from '../../../src/query/parse.js';
import { call, callAll, type Party } from './api.js';
import type { BrowserIdentity } from './keys.js';
import { registersOf } from './run.js';
import { statisticUses } from './stats.js';
import { signDocument, type Signature } from './sign.js';


/** Session storage key of SQL carried from the Query page into a new study (read once). */
export const STUDY_SQL_KEY = 'mosaik-new-study-sql';
export interface StudyQuery {
  id: string;
  sql?: string;
  statistic?: string;
  epsilon?: number;
  delta?: number;
  description?: string;
}

export interface StudyDoc {
  format: 'mosaik-study/1';
  id: string;
  title: string;
  researcher: string;
  purpose: string;
  description?: string;
  datasets: { name: string; columns: string[] }[];
  queries: StudyQuery[];
  validFrom: string;
  validUntil: string;
  minCellSize?: number;
  privacy?: { epsilon: number; delta?: number; mechanism?: 'laplace' | 'gaussian' };
  createdAt: string;
}

export interface SignedStudyDoc {
  study: StudyDoc;
  signature?: Signature;
}

export interface Decision {
  custodian: string;
  decision: 'approve' | 'reject' | 'pending';
  time?: string;
}

/** GET /v1/studies: one line per registered version (src/node/governance.ts StudyListing). */
export interface StudyListing {
  id: string;
  hash: string;
  title: string;
  researcher: string;
  purpose: string;
  datasets: string[];
  queries: string[];
  validFrom: string;
  validUntil: string;
  period: string;
  approvals: Decision[];
  approved: boolean;
  privacy?: { epsilon: number; delta?: number };
}

/** A custodian's signed decision (src/governance/approval-shape.ts). */
export type ApprovalDoc = Approval;

/** GET /v1/studies/:id: every registered version with its document and the signed decisions on it. */
export interface StudyRoute {
  id: string;
  versions: (Omit<StudyListing, 'approvals'> & { document: SignedStudyDoc; approvals: ApprovalDoc[] })[];
}

export interface StudyVersion extends StudyListing {
  document: SignedStudyDoc;
  approvals: Decision[];
}

export interface StudyDetail {
  id: string;
  versions: (StudyVersion & { approvalDocs: ApprovalDoc[] })[];
}

export interface NodeBudget {
  node: string;
  total?: { epsilon: number; delta: number };
  spent: { epsilon: number; delta: number };
  remaining?: { epsilon: number; delta: number };
  charges: { job: string; query: string; epsilon: number; delta: number; time: string }[];
}

export const listStudies = (as: BrowserIdentity) => call<StudyListing[]>(0, '/v1/studies', { as });
export const studyRoute = (id: string, as: BrowserIdentity) => call<StudyRoute>(0, `/v1/studies/${encodeURIComponent(id)}`, { as });

export async function studyDetail(id: string, as: BrowserIdentity): Promise<StudyDetail> {
  // The route gives each version's signed approval documents; the listing gives every custodian's
  // decision, 'pending' included.
  const [r, list] = await Promise.all([studyRoute(id, as), listStudies(as)]);
  const decisions = new Map(list.map((l) => [l.hash, l.approvals]));
  return {
    id: r.id,
    versions: r.versions.map((v) => {
      const docs = v.approvals;
      const given: Decision[] = docs.map((a) => ({ custodian: a.approval.custodian, decision: a.approval.decision, time: a.approval.time }));
      return { ...v, approvals: decisions.get(v.hash) ?? given, approvalDocs: docs };
    }),
  };
}

/** The study's privacy budget as each node keeps it (each node enforces its own copy). */
export async function studyBudgets(id: string, as: BrowserIdentity, nodes: { name: string }[]): Promise<NodeBudget[]> {
  const all = await callAll<Omit<NodeBudget, 'node'>>(`/v1/studies/${encodeURIComponent(id)}/budget`, { as });
  return all.map((b, p) => ({ ...b, node: nodes[p as Party]?.name ?? `node ${p}` }));
}

/** The latest registered version of each study, newest first. */
export function latestVersions(list: StudyListing[]): StudyListing[] {
  const byId = new Map<string, StudyListing>();
  for (const s of list) byId.set(s.id, s); // the listing is in registration order
  return [...byId.values()].reverse();
}

/** One plain-language state for a study version: approved, rejected by whom, or waiting for whom. */
export function studyState(s: Pick<StudyListing, 'approvals' | 'approved' | 'validFrom' | 'validUntil'>, now = Date.now()): { state: 'approved' | 'rejected' | 'pending' | 'expired' | 'not-yet'; text: string } {
  const rejected = s.approvals.filter((a) => a.decision === 'reject').map((a) => a.custodian);
  const waiting = s.approvals.filter((a) => a.decision === 'pending').map((a) => a.custodian);
  if (rejected.length) return { state: 'rejected', text: `rejected by ${rejected.join(', ')}` };
  if (waiting.length) return { state: 'pending', text: `waiting for ${waiting.join(', ')}` };
  if (Date.parse(s.validUntil) <= now) return { state: 'expired', text: `approved; its period ended ${s.validUntil.slice(0, 10)}` };
  if (Date.parse(s.validFrom) > now) return { state: 'not-yet', text: `approved; runs from ${s.validFrom.slice(0, 10)}` };
  return { state: 'approved', text: `approved by ${s.approvals.map((a) => a.custodian).join(', ')}` };
}

export interface QueryCheck {
  id: string;
  /** Which column each query reads and how (the same derivation the nodes use, src/governance/plan-uses.ts). */
  uses: ColumnUse[];
  problems: string[];
}

/**
 * Checks each query of a draft here: it parses and plans against the registers' public schemas
 * (SQL, or a statistics call: its analysis table), reads only registers and columns the study
 * declares. (Policies, approvals and the consortium's rules are checked by every node.)
 */
export async function checkDraftQueries(draft: Pick<StudyDoc, 'datasets' | 'queries'>): Promise<QueryCheck[]> {
  const declared = new Map(draft.datasets.map((d) => [d.name, new Set(d.columns)]));
  const out: QueryCheck[] = [];
  for (const q of draft.queries) {
    const problems: string[] = [];
    let uses: ColumnUse[] = [];
    try {
      if (q.statistic !== undefined) uses = (await statisticUses(q.statistic)).uses;
      else if (q.sql) {
        const regs = await registersOf(q.sql);
        const { plan, join } = planAnyQuery(parseQuery(q.sql), regs);
        uses = join ? usesOfJoinPlan(join) : usesOfPlan(plan);
      } else problems.push('write the SQL of this query');
      for (const u of uses) {
        const cols = declared.get(u.dataset);
        if (!cols) problems.push(`it reads register '${u.dataset}', which the study does not list`);
        else if (!cols.has(u.column)) problems.push(`it reads ${u.dataset}.${u.column} (${u.role}), which the study does not list`);
      }
    } catch (e) {
      problems.push((e as Error).message);
    }
    out.push({ id: q.id, uses, problems: [...new Set(problems)] });
  }
  return out;
}

/** Signs the study in this browser and submits it; resolves with node 0's summary. */
export async function submitStudy(study: StudyDoc, as: BrowserIdentity): Promise<{ registered: string; new: boolean; ledgerSeq?: number }> {
  const signature = await signDocument('study', study, as);
  return call(0, '/v1/studies', { body: { study, signature }, as });
}

/** Words for a column use: "filter", "group by", "sum of", … */
export function useText(u: ColumnUse): string {
  if (u.role === 'aggregate') return `${u.aggregate ?? 'aggregate'} of`;
  return ({ 'join-key': 'joins on', filter: 'filters on', group: 'groups by', model: 'models' } as Record<string, string>)[u.role] ?? u.role;
}
