// Custodian policies and the authorization check every node runs before it takes part in a job.
//
// A policy is data, signed by the custodian that owns the datasets it covers, and checked before a
// plan runs (not conditions scattered through protocols) — in the spirit of SCQL's column control
// lists (CCL; SecretFlow SCQL documentation, "CCL"): per dataset it states the purposes the data may
// serve, the smallest cell that may be released, whether differential privacy is required and the
// largest privacy budget a study may have, and for each column the roles it may play:
//
//   role        what a query may do with the column            SCQL CCL counterpart
//   join-key    link rows across registers (equality, inside MPC)  PLAINTEXT_AFTER_JOIN
//   filter      compare it in WHERE                                PLAINTEXT_AFTER_COMPARE
//   group       GROUP BY it (its public code values label cells)   PLAINTEXT_AFTER_GROUP_BY
//   aggregate   COUNT/SUM/AVG/… it (optionally: which functions)   PLAINTEXT_AFTER_AGGREGATE
//   model       a variable of a statistic (src/stats: t.test, lm,     PLAINTEXT_AFTER_AGGREGATE
//               glm, coxph, survfit…): its values enter the fit or
//               table inside MPC, only the estimates are released
//   (absent)    a column not listed, or listed as 'forbidden', cannot be used at all (SCQL: UNKNOWN)
//
// There is no role that reveals a column's values: Mosaik never opens per-row data, so SCQL's
// PLAINTEXT has no counterpart. MIN/MAX open one row's value; a custodian that wants to avoid that
// lists the allowed aggregate functions without them.
//
// `authorize` is a pure function of the signed documents, the consortium configuration, the time
// and the query's use of columns (which the query planner reports as {dataset, column, role}
// triples: ./plan-uses.ts). It returns an Authorization or throws a GovernanceError whose code and
// message name the failing check. Each node calls it on its own copies; a node that refuses makes
// the job fail at every node (the MPC needs all three), and no node can fake a custodian's
// approval or policy. `attestAuthorization` lets a node sign what it authorized, so the requester
// and the transparency log can check that all three nodes checked the same thing.
import type { KeyObject } from 'node:crypto';
import { hashJson } from './canonical.js';
import type { Consortium, ConsentDefault } from './consortium.js';
import { refuse } from './errors.js';
import { isSignature, keyId, signDocument, verifyDocument, type Signature, type Signer } from './identity.js';
import { checkStudy, isoTime, parseTime, timeOf, verifyQueryRequest, type Approval, type DpMechanism, type QueryRequest, type SignedStudy, type Study, type StudyQuery } from './study.js';
import { COLUMN_ROLES, type ColumnUse, type QueryUse } from './column-use.js';
import { checkPolicyShape, columnUseRefusal, type ColumnRule, type CustodianPolicy, type DatasetPolicy, type SignedPolicy } from './policy-shape.js';

// The policy document (its types and shape check) is ./policy-shape.ts, browser-safe for the web
// app's policy editor; the vocabulary of column uses is ./column-use.ts.
export { AGGREGATE_FNS, COLUMN_ROLES, type AggregateFn, type ColumnRole, type ColumnUse, type QueryUse } from './column-use.js';
export { checkPolicyShape, columnUseRefusal, POLICY_FORMAT, type ColumnRule, type CustodianPolicy, type DatasetPolicy, type SignedPolicy } from './policy-shape.js';

export const AUTHORIZATION_FORMAT = 'mosaik-authorization/1';

export interface AuthorizeInput {
  study: SignedStudy;
  approvals: Approval[];
  consortium: Consortium;
  /** The custodians' signed policies this node holds (several versions per custodian allowed). */
  policies: SignedPolicy[];
  now: Date | string | number;
  query: QueryUse;
  /** The researcher's signed request for this run; checked when given (the daemon should require it). */
  request?: QueryRequest;
}

export interface Authorization {
  format: typeof AUTHORIZATION_FORMAT;
  study: string;
  studyHash: string;
  researcher: string;
  purpose: string;
  /**
   * The consent filter the computation must apply inside MPC (./consent.ts): persons whose consent
   * for `purpose` at the time of the run does not cover it are excluded. `register` is null when
   * the consortium has no consent register configured (then the lead must decide: refuse, or
   * apply the default only).
   */
  consent: { purpose: string; default: ConsentDefault; register: { dataset: string; custodian: string } | null };
  query: { id: string; sql?: string; statistic?: string };
  /** Every dataset of the study, with its custodian, approval and policy. */
  datasets: { name: string; custodian: string; approvedAt: string; policyIssuedAt: string; minCellSize: number }[];
  /** The datasets this query reads (usage is recorded for their custodians: ./usage.ts). */
  read: string[];
  uses: ColumnUse[];
  /** Cells with fewer rows must be suppressed: max(requested, study, every policy). */
  minCellSize: number;
  /** Differential privacy for this run, or null (no noise). */
  dp: { mechanism: DpMechanism; epsilon: number; delta?: number } | null;
  /** The study's total privacy budget (./budget.ts enforces it across runs), or null. */
  budget: { epsilon: number; delta: number } | null;
  /** The request's nonce when a request was checked. */
  request?: string;
  checkedAt: string;
}

/** Default total delta of a study that declares only an epsilon (covers the noise's truncation). */
export const DEFAULT_STUDY_DELTA = 1e-9;

// ---------------------------------------------------------------------------------------------
// Policy documents.

/** The custodian signs its policy; it may only cover datasets it owns. */
export function signPolicy(policy: CustodianPolicy, consortium: Consortium, signer: Signer): SignedPolicy {
  checkPolicyShape(policy);
  if (signer.name !== policy.custodian) refuse('wrong-signer', `the policy is custodian '${policy.custodian}'s; '${signer.name}' cannot sign it`);
  checkPolicyOwner(policy, consortium);
  return { policy, signature: signDocument('policy', policy, signer) };
}

function checkPolicyOwner(p: CustodianPolicy, consortium: Consortium): void {
  const m = consortium.member(p.custodian);
  if (!m) refuse('unknown-member', `policy: '${p.custodian}' is not a member of consortium '${consortium.name}'`);
  if (m.role !== 'custodian') refuse('wrong-role', `policy: '${p.custodian}' is a ${m.role}, not a custodian`);
  for (const d of p.datasets) {
    const owner = consortium.custodianOf(d.dataset);
    if (owner !== p.custodian) refuse('wrong-signer', `policy of '${p.custodian}' covers dataset '${d.dataset}', which ${owner ? `custodian '${owner}' owns` : 'no custodian owns'}`);
  }
}

export function parseSignedPolicy(x: unknown): SignedPolicy {
  const o = x as SignedPolicy;
  if (!o || typeof o !== 'object' || !('policy' in o)) refuse('malformed', 'not a policy document ({policy, signature})');
  checkPolicyShape(o.policy);
  if (o.signature !== undefined && !isSignature(o.signature)) refuse('malformed', `policy of '${o.policy.custodian}': the signature field is not a signature`);
  return o;
}

/** Checks a policy's signature by its custodian and that it covers only that custodian's datasets. */
export function verifyPolicy(sp: SignedPolicy, consortium: Consortium): CustodianPolicy {
  const p = parseSignedPolicy(sp).policy;
  checkPolicyOwner(p, consortium);
  const m = consortium.member(p.custodian)!;
  const where = `policy of custodian '${p.custodian}' (issued ${p.issuedAt})`;
  if (!sp.signature) refuse('unsigned', `${where} is not signed`);
  if (sp.signature.signer !== p.custodian || sp.signature.keyId !== m.keyId) refuse('wrong-signer', `${where} is not signed with the custodian's registered key`);
  if (!verifyDocument('policy', p, sp.signature, m.publicKey)) refuse('bad-signature', `${where}: the signature does not verify (the policy was changed after signing, or the signature is corrupt)`);
  return p;
}

/** The dataset's policy in effect at `now`: the newest verified policy of its owner issued at or before now. */
export function policyFor(dataset: string, policies: SignedPolicy[], consortium: Consortium, now: Date | string | number): { policy: DatasetPolicy; issuedAt: string } {
  const owner = consortium.custodianOf(dataset);
  if (!owner) refuse('unknown-dataset', `dataset '${dataset}' is owned by no custodian of consortium '${consortium.name}'`);
  const t = timeOf(now);
  let best: { policy: DatasetPolicy; issuedAt: string; t: number } | null = null;
  for (const sp of policies) {
    if (sp?.policy?.custodian !== owner || !Array.isArray(sp.policy.datasets) || !sp.policy.datasets.some((d) => d?.dataset === dataset)) continue;
    const p = verifyPolicy(sp, consortium);
    const ti = parseTime(p.issuedAt, 'issuedAt');
    if (ti > t) continue; // not in effect yet
    if (best && ti === best.t) refuse('missing-policy', `custodian '${owner}' has two policies for dataset '${dataset}' issued at the same time (${p.issuedAt}); which governs is ambiguous`);
    if (!best || ti > best.t) best = { policy: p.datasets.find((d) => d.dataset === dataset)!, issuedAt: p.issuedAt, t: ti };
  }
  if (!best) refuse('missing-policy', `custodian '${owner}' has no policy in effect for dataset '${dataset}' at this node; without one its data cannot be used`);
  return { policy: best.policy, issuedAt: best.issuedAt };
}

/** The transparency-log body of a published policy ('policy-published'): public metadata and its hash. */
export function policyLedgerBody(sp: SignedPolicy): Record<string, string | string[]> {
  const p = sp.policy;
  return { custodian: p.custodian, issuedAt: p.issuedAt, policyHash: hashJson(p), datasets: p.datasets.map((d) => d.dataset), signatureKeyId: sp.signature?.keyId ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Query text matching.

/**
 * The form in which a query's text is compared with the study's list: outside quoted strings and
 * quoted identifiers, letters are lower-cased, runs of white space become one space, spaces next
 * to ( ) , ; = < > * are dropped and a trailing ';' is removed. Quoted text is compared exactly.
 */
export function normalizeQueryText(q: string): string {
  let out = '';
  let i = 0;
  const n = q.length;
  while (i < n) {
    const c = q[i]!;
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n) {
        if (q[j] === c) {
          if (q[j + 1] === c) j += 2; // '' escape
          else break;
        } else j++;
      }
      out += q.slice(i, Math.min(j + 1, n));
      i = j + 1;
      continue;
    }
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(q[i]!)) i++;
      out += ' ';
      continue;
    }
    out += c.toLowerCase();
    i++;
  }
  // Spaces around punctuation (outside quotes only: the pattern cannot match inside them because
  // quoted segments were copied verbatim — re-scan segment-wise to be exact).
  const parts = splitQuoted(out);
  return parts
    .map(([text, quoted]) => (quoted ? text : text.replace(/ ?([(),;=<>*]) ?/g, '$1')))
    .join('')
    .trim()
    .replace(/;+$/, '')
    .trim();
}

function splitQuoted(s: string): [string, boolean][] {
  const out: [string, boolean][] = [];
  let i = 0, start = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'" || c === '"') {
      if (i > start) out.push([s.slice(start, i), false]);
      let j = i + 1;
      while (j < s.length) {
        if (s[j] === c) {
          if (s[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out.push([s.slice(i, j + 1), true]);
      i = start = j + 1;
    } else i++;
  }
  if (start < s.length) out.push([s.slice(start), false]);
  return out;
}

/** The study query that `q` is, or a 'query-not-allowed' refusal. */
export function matchQuery(queries: StudyQuery[], q: { sql?: string; statistic?: string }, studyId: string): StudyQuery {
  const kind = q.sql !== undefined ? 'sql' : q.statistic !== undefined ? 'statistic' : null;
  if (!kind) refuse('query-not-allowed', `study '${studyId}': the job names no query (sql or statistic)`);
  const text = normalizeQueryText((q.sql ?? q.statistic)!);
  const hit = queries.find((sq) => sq[kind] !== undefined && normalizeQueryText(sq[kind]!) === text);
  if (!hit) {
    const shown = (q.sql ?? q.statistic)!.trim();
    refuse('query-not-allowed', `study '${studyId}' does not allow this ${kind === 'sql' ? 'query' : 'statistic'}: ${shown.length > 160 ? shown.slice(0, 160) + '…' : shown} (allowed: ${queries.map((x) => x.id).join(', ')})`);
  }
  return hit;
}

// ---------------------------------------------------------------------------------------------
// The check.

/**
 * Everything a node checks before it takes part in a job, in this order: the study (researcher's
 * signature, declared purpose, validity period, every owning custodian's approval of this exact
 * version), the custodians' policies (present, signed, purpose allowed, privacy budget within
 * bounds), the query (in the study's list; the researcher's request when given), each column use
 * (dataset and column declared by the study, allowed by the policy in that role and with that
 * aggregate), the smallest cell and differential privacy. Pure: no I/O, no clock.
 */
export function authorize(input: AuthorizeInput): Authorization {
  const { consortium, now } = input;
  const chk = checkStudy(input.study, input.approvals, consortium, now);
  const s = chk.study;

  // Policies of every dataset the study reads.
  const owners = new Map(chk.custodians.flatMap((c) => c.datasets.map((d) => [d, c] as const)));
  const pol = new Map<string, { policy: DatasetPolicy; issuedAt: string }>();
  for (const d of s.datasets) {
    const p = policyFor(d.name, input.policies, consortium, now);
    const problem = studyPolicyProblems(s, d.name, p.policy, owners.get(d.name)!.name, consortium)[0];
    if (problem) refuse(problem.code, problem.message);
    pol.set(d.name, p);
  }
  const budget: Authorization['budget'] = s.privacy ? { epsilon: s.privacy.epsilon, delta: s.privacy.delta ?? DEFAULT_STUDY_DELTA } : null;

  // The query.
  const q = matchQuery(s.queries, input.query, s.id);
  if (input.request) verifyQueryRequest(input.request, input.study, chk.hash, q.id, consortium, now);

  // Column uses.
  if (!Array.isArray(input.query.uses)) refuse('malformed', 'query.uses must be a list of {dataset, column, role}');
  if (!Array.isArray(input.query.datasets) || input.query.datasets.length === 0) refuse('malformed', 'query.datasets must list the datasets the query reads');
  const declared = new Map(s.datasets.map((d) => [d.name, new Set(d.columns)]));
  const touched = new Set<string>();
  for (const d of input.query.datasets) {
    if (!declared.has(d)) refuse('dataset-not-in-study', `the query reads dataset '${d}', which study '${s.id}' does not declare (it declares ${[...declared.keys()].join(', ')})`);
    touched.add(d);
  }
  for (const u of input.query.uses) {
    if (!u || typeof u.dataset !== 'string' || typeof u.column !== 'string' || !COLUMN_ROLES.includes(u.role)) refuse('malformed', `column use ${JSON.stringify(u)} must be {dataset, column, role: ${COLUMN_ROLES.join(' | ')}}`);
    const cols = declared.get(u.dataset);
    if (!cols) refuse('dataset-not-in-study', `the query reads dataset '${u.dataset}', which study '${s.id}' does not declare (it declares ${[...declared.keys()].join(', ')})`);
    if (!cols.has(u.column)) refuse('column-not-in-study', `the query reads column ${u.dataset}.${u.column}, which study '${s.id}' does not declare`);
    touched.add(u.dataset);
    const refusal = columnUseRefusal(pol.get(u.dataset)!.policy, u, owners.get(u.dataset)!.name);
    if (refusal) refuse(refusal.code, refusal.message);
  }

  // Smallest cell: never below the policy of any dataset the query reads.
  let policyMin = 1, strictest = '';
  for (const [name, { policy }] of pol) if (touched.has(name) && policy.minCellSize > policyMin) [policyMin, strictest] = [policy.minCellSize, name];
  const requested = input.query.minCellSize;
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) refuse('malformed', `minCellSize must be a positive integer, got ${requested}`);
    if (requested < policyMin) refuse('min-cell-size', `the job asks for a smallest cell of ${requested}, below the ${policyMin} that custodian '${owners.get(strictest)!.name}' requires for dataset '${strictest}'`);
  }
  const minCellSize = Math.max(policyMin, s.minCellSize ?? 1, requested ?? 1);

  // Differential privacy.
  let dp: Authorization['dp'] = null;
  if (q.epsilon !== undefined) {
    dp = { mechanism: s.privacy?.mechanism ?? 'laplace', epsilon: q.epsilon, ...(q.delta !== undefined ? { delta: q.delta } : {}) };
  } else {
    for (const [name, { policy }] of pol) {
      if (policy.dp?.required && touched.has(name)) refuse('dp-required', dpRequiredText(owners.get(name)!.name, name, q.id, s.id));
    }
  }

  return {
    format: AUTHORIZATION_FORMAT,
    study: s.id,
    studyHash: chk.hash,
    researcher: s.researcher,
    purpose: s.purpose,
    consent: { purpose: s.purpose, default: consortium.purpose(s.purpose)!.consent, register: consortium.consent },
    query: { id: q.id, ...(q.sql !== undefined ? { sql: q.sql } : {}), ...(q.statistic !== undefined ? { statistic: q.statistic } : {}) },
    datasets: s.datasets.map((d) => ({ name: d.name, custodian: owners.get(d.name)!.name, approvedAt: owners.get(d.name)!.approvedAt, policyIssuedAt: pol.get(d.name)!.issuedAt, minCellSize: pol.get(d.name)!.policy.minCellSize })),
    read: [...touched],
    uses: input.query.uses.map((u) => ({ dataset: u.dataset, column: u.column, role: u.role, ...(u.aggregate ? { aggregate: u.aggregate } : {}) })),
    minCellSize,
    dp,
    budget,
    ...(input.request ? { request: input.request.request.nonce } : {}),
    checkedAt: isoTime(timeOf(now)),
  };
}

/**
 * A starting policy for one dataset, from its public schema (`mosaik policy template`): every
 * column listed with the roles its type suits — the person id as join key only; codes, booleans
 * and dates to filter and group by; numbers to filter and aggregate with COUNT, SUM, AVG, VARIANCE
 * and STDDEV (never MIN or MAX: they release one person's value), and to group by when their range
 * is small (≤ 256 values, e.g. a year); the consortium's opt-out purposes (those opt-in need each
 * person's grant: add them deliberately); the smallest cell 5; a study's privacy budget at most
 * epsilon 1 (the nodes add noise to every run anyway). The custodian edits what it wants and signs it.
 */
export function policyTemplate(schema: { name: string; columns: readonly { name: string; type: string; min?: number | string; max?: number | string }[] }, purposes: readonly { code: string; consent: ConsentDefault }[]): DatasetPolicy {
  const columns: Record<string, ColumnRule> = {};
  for (const c of schema.columns) {
    const small = typeof c.min === 'number' && typeof c.max === 'number' && c.max - c.min < 256;
    if (c.type === 'person_id') columns[c.name] = { roles: ['join-key'] };
    else if (c.type === 'int' || c.type === 'decimal') columns[c.name] = { roles: small && c.type === 'int' ? ['filter', 'group', 'aggregate'] : ['filter', 'aggregate'], aggregates: ['count', 'sum', 'avg', 'variance', 'stddev'] };
    else columns[c.name] = { roles: ['filter', 'group'] };
  }
  return { dataset: schema.name, purposes: purposes.filter((p) => p.consent === 'opt-out').map((p) => p.code), minCellSize: 5, columns, dp: { maxEpsilon: 1 } };
}

const dpRequiredText = (owner: string, dataset: string, query: string, study: string) => `custodian '${owner}' requires differential privacy for dataset '${dataset}', but query '${query}' of study '${study}' declares no epsilon`;

/** What in a study as a whole (purpose, privacy budget) the policy of one of its datasets refuses. */
function studyPolicyProblems(s: Study, dataset: string, policy: DatasetPolicy, owner: string, consortium: Consortium): { code: 'purpose-not-allowed' | 'budget-over-policy'; message: string }[] {
  const out: { code: 'purpose-not-allowed' | 'budget-over-policy'; message: string }[] = [];
  if (!policy.purposes.includes(s.purpose)) {
    out.push({ code: 'purpose-not-allowed', message: `custodian '${owner}' does not allow its dataset '${dataset}' to be used for ${consortium.purpose(s.purpose)?.label ?? s.purpose} ('${s.purpose}'); allowed purposes: ${policy.purposes.join(', ') || 'none'}` });
  }
  if (s.privacy) {
    const delta = s.privacy.delta ?? DEFAULT_STUDY_DELTA;
    if (policy.dp?.maxEpsilon !== undefined && s.privacy.epsilon > policy.dp.maxEpsilon) out.push({ code: 'budget-over-policy', message: `study '${s.id}' declares a privacy budget of epsilon ${s.privacy.epsilon}, above the ${policy.dp.maxEpsilon} custodian '${owner}' allows for dataset '${dataset}'` });
    if (policy.dp?.maxDelta !== undefined && delta > policy.dp.maxDelta) out.push({ code: 'budget-over-policy', message: `study '${s.id}' declares delta ${delta}, above the ${policy.dp.maxDelta} custodian '${owner}' allows for dataset '${dataset}'` });
  }
  return out;
}

/**
 * What a custodian's approval of a study will not make runnable: everything its own policies in
 * effect at `now` refuse at run time, for each of its datasets the study reads — no policy, the
 * purpose, the privacy budget, declared columns the policy forbids or does not list, and, for each
 * query whose column uses are known (`uses`, from the query planner; null when it could not be
 * planned here), every use the policy does not allow and a missing epsilon where noise is
 * required. Approving is still allowed (the custodian may change its policy later); these are
 * warnings, one sentence each, naming the query where one is concerned.
 */
export function approvalWarnings(o: { study: Study; custodian: string; policies: SignedPolicy[]; consortium: Consortium; now: Date | string | number; uses?: ReadonlyMap<string, QueryUse | null> }): string[] {
  const { study: s, custodian, consortium } = o;
  const out: string[] = [];
  for (const d of s.datasets) {
    if (consortium.custodianOf(d.name) !== custodian) continue;
    let policy: DatasetPolicy;
    try {
      policy = policyFor(d.name, o.policies, consortium, o.now).policy;
    } catch (e) {
      out.push(`${(e as Error).message}: no query of study '${s.id}' reading it can run`);
      continue;
    }
    for (const p of studyPolicyProblems(s, d.name, policy, custodian, consortium)) out.push(`${p.message}: every query of study '${s.id}' will be refused`);
    const barred = d.columns.filter((c) => columnUseRefusal(policy, { dataset: d.name, column: c, role: 'filter' }, custodian)?.code === 'column-forbidden');
    if (barred.length) out.push(`study '${s.id}' declares column${barred.length > 1 ? 's' : ''} ${barred.map((c) => `${d.name}.${c}`).join(', ')}, which your policy does not allow: a query reading ${barred.length > 1 ? 'them' : 'it'} will be refused`);
    for (const q of s.queries) {
      const use = o.uses?.get(q.id);
      if (!use) continue;
      const problems = use.uses.filter((u) => u.dataset === d.name && !barred.includes(u.column)).map((u) => columnUseRefusal(policy, u, custodian)?.message).filter((m): m is string => !!m);
      if (policy.dp?.required && q.epsilon === undefined && use.datasets.includes(d.name)) problems.push(dpRequiredText(custodian, d.name, q.id, s.id));
      for (const m of [...new Set(problems)]) out.push(`query '${q.id}' will be refused: ${m}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Node attestations: "node X authorized exactly this".

export interface Attestation {
  node: string;
  /** SHA-256 of the authorization's canonical JSON without checkedAt (the same at every node). */
  digest: string;
  signature: Signature;
}

/** The part of an authorization every node computes identically (checkedAt is each node's clock). */
export function authorizationDigest(a: Authorization): string {
  const { checkedAt: _t, ...core } = a;
  return hashJson(core);
}

export function attestAuthorization(a: Authorization, node: Signer): Attestation {
  const digest = authorizationDigest(a);
  return { node: node.name, digest, signature: signDocument('authorization', { digest, node: node.name }, node) };
}

/**
 * Checks that every listed node attested this authorization with its registered key (all of them
 * by default: one node alone cannot authorize anything). `nodes` from the consortium (nodes) or
 * from the cluster configuration.
 */
export function verifyAttestations(a: Authorization, attestations: Attestation[], nodes: Iterable<{ name: string; publicKey: KeyObject }>, opts: { required?: number } = {}): string[] {
  const digest = authorizationDigest(a);
  const list = [...nodes];
  const required = opts.required ?? list.length;
  const ok: string[] = [];
  for (const n of list) {
    const at = attestations.find((x) => x?.node === n.name);
    if (!at) continue;
    if (at.digest !== digest) refuse('attestation', `node '${n.name}' attested a different authorization (digest ${String(at.digest).slice(0, 16)}…)`);
    if (!isSignature(at.signature) || at.signature.signer !== n.name || at.signature.keyId !== keyId(n.publicKey) || !verifyDocument('authorization', { digest, node: n.name }, at.signature, n.publicKey)) {
      refuse('attestation', `node '${n.name}'s attestation does not verify with its registered key`);
    }
    ok.push(n.name);
  }
  if (ok.length < required) {
    const missing = list.map((n) => n.name).filter((x) => !ok.includes(x));
    refuse('attestation', `${ok.length} of ${list.length} nodes attested the authorization (${required} required); missing: ${missing.join(', ')}`);
  }
  return ok;
}
