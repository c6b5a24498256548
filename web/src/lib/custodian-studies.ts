// Studies as a custodian reviews them: every registered study that reads one of its datasets, each
// query planned here against the registers' public schemas (src/query/join-plan.ts) and its column
// uses derived exactly as every node derives them before it authorizes a run
// (src/governance/plan-uses.ts), each use checked against the custodian's current policy with the
// nodes' own rule (columnUseRefusal). The decision is an approval document
// (src/governance/approval-shape.ts) built and signed here, with an optional reason and licence
// terms, bound to the hash of the study version shown on screen (recomputed here, so a relay that
// swapped the document would make the approval count for nothing), and submitted to node 0, which
// has every node verify and store it and logs it ('study-approved').
import { APPROVAL_FORMAT, checkApprovalShape, type Approval, type ApprovalBody } from '../../../src/governance/approval-shape.js';
import { queryUseOfJoinPlan, queryUseOfPlan } from '../../../src/governance/plan-uses.js';
import { columnUseRefusal, type ColumnUse, type CustodianPolicy } from '../../../src/governance/policy-shape.js';
import { parseQuery } from '../../../src/query/parse.js';
import { planAnyQuery } from '../../../src/query/join-plan.js';
import { call } from './api.js';
import { sha256Hex, utf8 } from './bytes.js';
import type { BrowserIdentity } from './keys.js';
import { registersOf } from './run.js';
import { statisticUses } from './stats.js';
import { canonicalJson, signDocument } from './sign.js';
import { listStudies, studyRoute, type SignedStudyDoc, type StudyDoc, type StudyListing } from './studies.js';

export type { StudyListing } from './studies.js';

/** One column use of one query, with what the custodian's current policy says of it. */
export interface UseCheck extends ColumnUse {
  /** Null: the policy allows it; else why the nodes would refuse the run. */
  refusal: string | null;
}

export interface QueryReview {
  id: string;
  sql?: string;
  statistic?: string;
  epsilon?: number;
  description?: string;
  /** This custodian's datasets the query reads. */
  reads: string[];
  /** Uses of this custodian's columns; null when the query could not be planned (then `problem`). */
  uses: UseCheck[] | null;
  problem?: string;
}

export interface StudyReview {
  listing: StudyListing;
  document: SignedStudyDoc;
  /** Recomputed here from the document shown. */
  hash: string;
  mine: string[];
  /** Columns the study declares for each of this custodian's datasets. */
  declared: { dataset: string; columns: string[] }[];
  queries: QueryReview[];
  /** Does the current policy allow the study's purpose for each of my datasets? */
  purposeRefusals: string[];
  myDecision: 'approve' | 'reject' | 'pending';
  approvals: Approval[];
}

/** The registered studies that read a dataset of `mine`. */
export async function studiesFor(id: BrowserIdentity, mine: string[]): Promise<StudyListing[]> {
  const all = await listStudies(id);
  return all.filter((s) => s.datasets.some((d) => mine.includes(d)));
}

async function sqlUses(sql: string): Promise<{ datasets: string[]; uses: ColumnUse[] }> {
  const planned = planAnyQuery(parseQuery(sql), await registersOf(sql));
  return planned.join ? queryUseOfJoinPlan(planned.join) : queryUseOfPlan(planned.plan);
}

export const studyHashOf = async (study: StudyDoc): Promise<string> => sha256Hex(utf8(canonicalJson(study)));

/** A study version as the custodian reviews it: declared columns, each query's uses of them, the policy's verdict. */
export async function reviewStudy(id: BrowserIdentity, listing: StudyListing, mine: string[], policy: CustodianPolicy | null): Promise<StudyReview> {
  const v = await studyRoute(listing.id, id);
  const version = v.versions.find((x) => x.hash === listing.hash);
  if (!version) throw new Error(`node 0 lists study ${listing.id} but has no document of its version ${listing.hash.slice(0, 12)}…; reload the page`);
  const doc = version.document;
  const hash = await studyHashOf(doc.study);
  if (hash !== listing.hash) throw new Error(`the study document received for ${listing.id} does not hash to the version the nodes registered: it was changed on the way. Do not decide on it; tell the operators.`);
  const s = doc.study;
  const myDatasets = s.datasets.filter((d) => mine.includes(d.name)).map((d) => d.name);
  const rule = (ds: string) => policy?.datasets.find((d) => d.dataset === ds) ?? null;
  const queries: QueryReview[] = [];
  for (const q of s.queries) {
    const base = { id: q.id, ...(q.sql ? { sql: q.sql } : {}), ...(q.statistic ? { statistic: q.statistic } : {}), ...(q.epsilon !== undefined ? { epsilon: q.epsilon } : {}), ...(q.description ? { description: q.description } : {}) };
    try {
      // A statistics call reads the columns of its analysis table (role 'model'), as the nodes derive them.
      const use = q.sql === undefined ? await statisticUses(q.statistic ?? '') : await sqlUses(q.sql);
      const uses = use.uses
        .filter((u) => mine.includes(u.dataset))
        .map((u): UseCheck => {
          const p = rule(u.dataset);
          return { ...u, refusal: p ? columnUseRefusal(p, u, id.name)?.message ?? null : `you have no policy for ${u.dataset} yet: no query can use it` };
        });
      queries.push({ ...base, reads: use.datasets.filter((d) => mine.includes(d)), uses });
    } catch (e) {
      queries.push({ ...base, reads: [], uses: null, problem: `it cannot be planned against the registers' schemas: ${(e as Error).message}` });
    }
  }
  const purposeRefusals = myDatasets.flatMap((d) => {
    const p = rule(d);
    if (!p) return [`you have no policy for ${d} yet`];
    return p.purposes.includes(s.purpose) ? [] : [`your policy for ${d} does not allow the purpose ${s.purpose}`];
  });
  const mineDecided = listing.approvals.find((a) => a.custodian === id.name);
  return {
    listing,
    document: doc,
    hash,
    mine: myDatasets,
    declared: s.datasets.filter((d) => mine.includes(d.name)).map((d) => ({ dataset: d.name, columns: d.columns })),
    queries,
    purposeRefusals,
    myDecision: mineDecided?.decision ?? 'pending',
    approvals: version.approvals,
  };
}

/** Signs this custodian's decision on the reviewed study version and registers it at the nodes. */
export async function decide(id: BrowserIdentity, r: StudyReview, d: { decision: 'approve' | 'reject'; reason?: string; terms?: string }): Promise<Approval> {
  const reason = d.reason?.trim();
  const terms = d.terms?.trim();
  if (d.decision === 'reject' && !reason) throw new Error('Give a reason for the rejection: the researcher sees it, and it is signed with your decision.');
  const body: ApprovalBody = {
    format: APPROVAL_FORMAT,
    study: r.document.study.id,
    studyHash: r.hash,
    custodian: id.name,
    decision: d.decision,
    datasets: r.mine,
    time: new Date().toISOString(),
    ...(reason ? { reason } : {}),
    ...(d.decision === 'approve' && terms ? { terms } : {}),
  };
  checkApprovalShape({ approval: body });
  const approval: Approval = { approval: body, signature: await signDocument('approval', body, id) };
  await call(0, '/v1/approvals', { body: approval, as: id });
  return approval;
}

/** This custodian's latest decision on a study version, from the approvals the nodes hold. */
export function latestDecision(approvals: Approval[], custodian: string, hash?: string): Approval | null {
  const mine = approvals.filter((a) => a.approval.custodian === custodian && (!hash || a.approval.studyHash === hash));
  mine.sort((a, b) => Date.parse(a.approval.time) - Date.parse(b.approval.time));
  return mine[mine.length - 1] ?? null;
}
