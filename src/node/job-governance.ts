// Governed jobs at one node (issue 6): what a node checks before it takes part in a query, and
// what the check decides about the computation. Every node runs this on its OWN copies of the
// consortium configuration, policies and approvals (src/node/governance.ts) and its own clock;
// node 0's word counts for nothing. A refusal is a GovernanceError whose message names the failed
// check; the job then fails at this node with "refused: <message>" (src/node/jobs.ts), and since
// the MPC needs all three nodes, one node that refuses stops the job everywhere.
//
// Checked, in order: the job's signed request names a study version REGISTERED at this node (a
// study runs only after it was registered and logged; approvals count only when registered too,
// never when merely sent along); its submission time is within ±5 min of this node's clock (it
// fixes the consent time T of the run); authorize() (src/governance/policy.ts): the researcher's signature,
// the purpose, the validity period, every owning custodian's approval of this exact version, each
// custodian's policy (purpose, column roles, smallest cell, differential privacy, budget bounds),
// the query is one of the study's and the request is the researcher's, fresh and for this query;
// the smallest cell the job asks for is at least the authorization's; the request was not used
// before (nonce; src/node/governance.ts); the circuit node 0 announced equals this node's own
// decision; the consent register in force at T — chosen by this node itself from the consent
// updates it registered (NodeGovernance.consentInForce), never taken from node 0 — is the one the
// job reads, is stored here and can be applied. Output protection and the privacy budgets are
// checked for every job, governed or not, by src/node/jobs.ts.
//
// Decided for the computation (identical at the three nodes, or the job is refused):
//   consent  the consent filter of the study's purpose at T = the job's submission time, applied
//            inside MPC as a restricting table on the person id (src/governance/consent-mpc.ts,
//            src/query/join-execute.ts RowRestriction): the query is planned as a join on the
//            person id even over one register. Without a consent register in the consortium an
//            opt-out purpose runs unfiltered (nobody withdrew) and an opt-in purpose is refused.
//   dp       the study query's epsilon (else the node's default: src/node/privacy.ts).
import type { ConsentDefault } from '../governance/consortium.js';
import { consentSchema, purposeCodeList, purposeIndex, unixSeconds } from '../governance/consent.js';
import { consentJoinInput, consentUsable } from '../governance/consent-mpc.js';
import { refuse } from '../governance/errors.js';
import { queryUseOfJoinPlan, queryUseOfPlan } from '../governance/plan-uses.js';
import { approvalWarnings, attestAuthorization, authorize, type Attestation, type Authorization, type QueryUse } from '../governance/policy.js';
import { parseSignedStudy, type Approval, type SignedStudy } from '../governance/study.js';
import { canonicalJson } from '../governance/canonical.js';
import type { Party } from '../mpc/party.js';
import { parseQuery, planAnyQuery, tablesOf, type JoinPlan, type QueryPlan, type RowRestriction } from '../query/index.js';
import type { NodeGovernance } from './governance.js';
import type { ShareStore } from './store.js';
import type { QueryRequest } from '../governance/study.js';

/** What a governed job spec carries (src/node/jobs.ts JobSpec.governance; the signed request is JobSpec.request). */
export interface JobGovernanceSpec {
  /** The registered study version the request names (for display; every node uses its own registered copy). */
  study: SignedStudy;
  /** Node 0's decision about the circuit; every node checks that its own is the same. */
  circuit?: CircuitParams;
}

/** What an authorization decides about the computation. */
export interface CircuitParams {
  query: string;
  consent: { purpose: string; default: ConsentDefault; dataset: string | null };
  dp: Authorization['dp'];
  minCellSize: number;
}

export interface ConsentFilter {
  dataset: string;
  version: string;
  /** The purpose's index in the register's purpose code list, and the run time T (Unix s). */
  purposeIndex: number;
  at: number;
  default: ConsentDefault;
}

export interface JobAuthorization {
  auth: Authorization;
  circuit: CircuitParams;
  /** The plan to run: with a consent filter, a join on the person id (also over one register). */
  run: { plan: QueryPlan; join: JoinPlan | null };
  consent: ConsentFilter | null;
}

/** Largest difference between a job's submission time and this node's clock. */
export const MAX_SKEW_MS = 5 * 60_000;

/** What a job is about (src/node/jobs.ts JobSpec adds its id, place in node 0's order and output protection); what this module reads. */
export interface GovernedSpecLike {
  sql: string;
  /** A statistics call (src/stats/service.ts): `sql` is then its analysis table's SQL. */
  statistic?: string;
  dataset: string;
  version: string;
  /** Queries over several registers (JOIN, EXISTS): the version of every register read, FROM's included. */
  versions?: Record<string, string>;
  minCellSize: number;
  submittedAt: string;
  /** The requester's signed request (every mode): who asked, for exactly what, and the key results are sealed to. */
  request: QueryRequest;
  /** Governed mode: the registered study and node 0's decision about the circuit. */
  governance?: JobGovernanceSpec;
}

/** The smallest cell this node's documents require for the job (node 0 picks the job's from it). */
export function requiredMinCellSize(gov: NodeGovernance, spec: GovernedSpecLike, planned: { plan: QueryPlan; join: JoinPlan | null }): number {
  return checkDocuments(gov, spec, planned, { requested: undefined }).minCellSize;
}

/** The registered study version a governed job's request names (refused when it is not registered here). */
export function registeredStudy(gov: NodeGovernance, spec: GovernedSpecLike): SignedStudy {
  const r = spec.request?.request;
  const found = r?.studyHash ? gov.studyByHash(r.studyHash) : undefined;
  if (!found || found.study.id !== r?.study) {
    refuse('unregistered', `study '${String(r?.study)}' (version ${String(r?.studyHash).slice(0, 16)}…) is not registered at this node: a study runs only after it is registered and logged (mosaik study submit), with every approval registered too`);
  }
  return parseSignedStudy(found);
}

/** The skew check and authorize() (src/governance/policy.ts) on this node's registered documents. */
function checkDocuments(gov: NodeGovernance, spec: GovernedSpecLike, planned: { plan: QueryPlan; join: JoinPlan | null }, opts: { now?: Date; atRun?: boolean; requested: number | undefined }): Authorization {
  const consortium = gov.need();
  if (!spec.governance || !spec.request?.request?.study) {
    refuse('governed', `this node runs in governed mode (consortium '${consortium.name}'): every query must name a registered study in the researcher's signed request; ad-hoc SQL is refused`);
  }
  const now = opts.now ?? new Date();
  const submitted = Date.parse(spec.submittedAt);
  if (!Number.isFinite(submitted) || (!opts.atRun && Math.abs(submitted - now.getTime()) > MAX_SKEW_MS)) {
    refuse('request', `the job's submission time ${spec.submittedAt} is more than ${MAX_SKEW_MS / 60_000} minutes from this node's clock (${now.toISOString()}); it fixes the consent time of the run, so it must be current`);
  }
  const study = registeredStudy(gov, spec);
  const use = planned.join ? queryUseOfJoinPlan(planned.join, opts.requested) : queryUseOfPlan(planned.plan, opts.requested);
  // A statistic is matched as its call (a study's `statistic` query), its columns as its analysis table's.
  const { sql: _sql, ...uses } = use;
  const query = spec.statistic !== undefined ? { ...uses, statistic: spec.statistic } : { ...uses, sql: spec.sql };
  const checked = authorize({ study, approvals: gov.allApprovals(), consortium, policies: gov.allPolicies(), now, query, ...(opts.atRun ? {} : { request: spec.request }) });
  return opts.atRun ? { ...checked, request: String(spec.request.request.nonce) } : checked;
}

/** The consent register version in force for a job (this node's own decision), or null. */
export function consentVersionFor(gov: NodeGovernance, store: ShareStore, submittedAt: string): string | null {
  const reg = gov.consortium?.consent;
  if (!reg) return null;
  const u = gov.consentInForce(reg.dataset, submittedAt);
  if (u) return u.version;
  let stored = false;
  try {
    store.get(reg.dataset);
    stored = true;
  } catch {
    /* none */
  }
  if (stored) refuse('consent', `the consent register '${reg.dataset}' has versions at this node but no signed consent update in force at ${submittedAt}; the consent custodian publishes versions with one (mosaik consent set --dir …)`);
  return null;
}

/**
 * Authorizes a job at this node (see the module comment). `planned` is this node's own plan of
 * the job's SQL. The request's nonce is recorded by src/node/jobs.ts (every mode). `atRun`:
 * the check again just before the run: the request's freshness and the submission time were
 * checked when the job was accepted (it may have waited in the queue since); everything else,
 * the study's validity period included, is checked again now.
 * Throws GovernanceError (the refusal) or QueryError.
 */
export function authorizeJob(gov: NodeGovernance, store: ShareStore, spec: GovernedSpecLike, planned: { plan: QueryPlan; join: JoinPlan | null }, opts: { now?: Date; atRun?: boolean } = {}): JobAuthorization {
  const consortium = gov.need();
  const g = spec.governance!;
  const auth = checkDocuments(gov, spec, planned, { ...opts, requested: spec.minCellSize });
  if (spec.minCellSize < auth.minCellSize) refuse('min-cell-size', `the job asks for a smallest cell of ${spec.minCellSize}, below the ${auth.minCellSize} that study '${auth.study}' and its custodians' policies require`);

  // The consent filter.
  const reg = auth.consent.register;
  if (!reg && auth.consent.default === 'opt-in') refuse('consent', `purpose '${auth.purpose}' needs each person's explicit consent (opt-in), but consortium '${consortium.name}' names no consent register`);
  const circuit: CircuitParams = { query: auth.query.id, consent: { purpose: auth.consent.purpose, default: auth.consent.default, dataset: reg?.dataset ?? null }, dp: auth.dp, minCellSize: spec.minCellSize };
  if (g.circuit && canonicalJson(g.circuit) !== canonicalJson(circuit)) {
    refuse('attestation', `node 0 decided this job's computation differently (${canonicalJson(g.circuit)}) from this node (${canonicalJson(circuit)}): the nodes' consortium configurations or policies differ`);
  }
  let consent: ConsentFilter | null = null;
  let run = planned;
  const inForce = consentVersionFor(gov, store, spec.submittedAt);
  const named = reg ? spec.versions?.[reg.dataset] : undefined;
  if (reg && (named ?? null) !== inForce) {
    refuse('consent', inForce === null
      ? `the job reads consent register version ${named}, but no consent update of '${reg.dataset}' is in force at ${spec.submittedAt} at this node`
      : `the job reads consent register version ${named ?? '(none)'}, but the version in force at ${spec.submittedAt} is ${inForce} (the latest signed consent update this node registered); the nodes choose it, not the request`);
  }
  if (reg && inForce !== null) {
    const version = inForce;
    let meta;
    try {
      meta = store.get(reg.dataset, version);
    } catch (e) {
      return refuse('consent', `the consent register ${reg.dataset}@${version} is not stored at this node: ${(e as Error).message}`);
    }
    const want = consentSchema(reg.custodian, reg.dataset).columns;
    const shape = (cs: typeof want) => canonicalJson(cs.map((c) => [c.name, c.type, c.min ?? null, c.max ?? null, c.codeList ?? null]));
    if (shape(meta.schema.columns) !== shape(want)) refuse('consent', `the stored consent register ${reg.dataset}@${version} does not have the consent register's schema (person_id, purpose, granted, time, until)`);
    const codes = meta.codeLists.find((l) => l.name === 'purpose')?.codes ?? [];
    if (codes.join('\n') !== purposeCodeList(consortium.purposes).codes.join('\n')) refuse('consent', `the purpose code list of ${reg.dataset}@${version} is not the consortium's purposes (${purposeCodeList(consortium.purposes).codes.join(', ')})`);
    if (meta.rows === 0 && auth.consent.default === 'opt-in') refuse('consent', `nobody has consented to purpose '${auth.purpose}' (opt-in): the consent register ${reg.dataset}@${version} is empty`);
    // An empty register: nobody expressed a choice, so an opt-out purpose's default holds for all.
    if (meta.rows > 0) {
      consent = { dataset: reg.dataset, version, purposeIndex: purposeIndex(consortium.purposes, auth.consent.purpose), at: unixSeconds(spec.submittedAt), default: auth.consent.default };
      // Statistics' analysis tables are already planned as joins on the person id.
      if (spec.statistic !== undefined) return { auth, circuit, run, consent };
      const names = tablesOf(parseQuery(spec.sql));
      const versions = spec.versions ?? { [spec.dataset]: spec.version };
      run = planAnyQuery(parseQuery(spec.sql), new Map(names.map((n) => [n, store.get(n, versions[n]!)])), { personKey: true });
    }
  }

  return { auth, circuit, run, consent };
}

/**
 * What a custodian's approval will not make runnable at this node (src/governance/policy.ts
 * approvalWarnings): its policies registered here checked against the study, each SQL query
 * planned on the registers stored here (a query over a register not stored yet is checked by its
 * declared columns only). Empty for a rejection or a study not registered here.
 */
export function approvalWarningsAt(gov: NodeGovernance, store: ShareStore, ap: Approval, now: Date = new Date()): string[] {
  const ss = gov.studyByHash(ap.approval.studyHash);
  if (!ss || ap.approval.decision !== 'approve') return [];
  const uses = new Map<string, QueryUse | null>();
  for (const q of ss.study.queries) {
    if (q.sql === undefined) continue;
    try {
      const parsed = parseQuery(q.sql);
      const planned = planAnyQuery(parsed, new Map(tablesOf(parsed).map((n) => [n, store.get(n)])));
      uses.set(q.id, planned.join ? queryUseOfJoinPlan(planned.join) : queryUseOfPlan(planned.plan));
    } catch {
      uses.set(q.id, null);
    }
  }
  return approvalWarnings({ study: ss.study, custodian: ap.approval.custodian, policies: gov.allPolicies(), consortium: gov.need(), now, uses });
}

/** The consent filter as a row restriction for join-execute (loads the register's shares here). */
export async function consentRestriction(p: Party, store: ShareStore, f: ConsentFilter): Promise<RowRestriction> {
  const cols = store.load(f.dataset, f.version, ['person_id', 'purpose', 'granted', 'time', 'until']);
  const c = { person: cols.get('person_id')!, purpose: cols.get('purpose')!, granted: cols.get('granted')!, time: cols.get('time')!, until: cols.get('until')! };
  // 'check': the register's rows in force must be one per person; the join verifies it (one bit).
  const input = await consentJoinInput(p, c, f.purposeIndex, f.at, 'check');
  // Uploaded in person order (src/ingest/person-order.ts): with registers in person order the join merges.
  if (store.get(f.dataset, f.version).sortedBy === 'person_id') input.sorted = true;
  return { input, usable: (q, jt) => consentUsable(q, jt, f.default) };
}

/** What a node returns with a governed result: what it authorized, signed with its key. */
export interface ResultGovernance {
  study: string;
  studyHash: string;
  query: string;
  consent: { purpose: string; default: ConsentDefault; register: string | null; at: number | null };
  epsilon: number | null;
  authorization: Authorization;
  attestation: Attestation | null;
}

export function resultGovernance(gov: NodeGovernance, ja: JobAuthorization): ResultGovernance {
  const a = ja.auth;
  return {
    study: a.study,
    studyHash: a.studyHash,
    query: a.query.id,
    consent: { purpose: a.consent.purpose, default: a.consent.default, register: ja.consent ? `${ja.consent.dataset}@${ja.consent.version}` : null, at: ja.consent?.at ?? null },
    epsilon: a.dp?.epsilon ?? null,
    authorization: a,
    attestation: gov.signer ? attestAuthorization(a, gov.signer) : null,
  };
}
