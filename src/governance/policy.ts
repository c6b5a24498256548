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
import { checkStudy, isoTime, parseTime, timeOf, verifyQueryRequest, type Approval, type DpMechanism, type QueryRequest, type SignedStudy, type StudyQuery } from './study.js';

export const POLICY_FORMAT = 'mosaik-policy/1';
export const AUTHORIZATION_FORMAT = 'mosaik-authorization/1';

export type ColumnRole = 'join-key' | 'filter' | 'group' | 'aggregate' | 'model';
export const COLUMN_ROLES: readonly ColumnRole[] = ['join-key', 'filter', 'group', 'aggregate', 'model'];

export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'variance' | 'stddev';
export const AGGREGATE_FNS: readonly AggregateFn[] = ['count', 'sum', 'avg', 'min', 'max', 'variance', 'stddev'];

export interface ColumnRule {
  /** Roles the column may play; an empty list forbids it. */
  roles: ColumnRole[];
  /** With role 'aggregate': the functions allowed (default: all). */
  aggregates?: AggregateFn[];
  note?: string;
}

export interface DatasetPolicy {
  dataset: string;
  /** Purpose codes the data may serve. */
  purposes: string[];
  /** Smallest cell (rows) that may be released; the node suppresses smaller ones inside MPC. */
  minCellSize: number;
  /** Per column: its rule, or 'forbidden'. Columns not listed are forbidden. */
  columns: Record<string, ColumnRule | 'forbidden'>;
  dp?: {
    /** Every query on this dataset must add differential-privacy noise. */
    required?: boolean;
    /** Largest total epsilon (and delta) a study reading this dataset may declare. */
    maxEpsilon?: number;
    maxDelta?: number;
  };
}

export interface CustodianPolicy {
  format: typeof POLICY_FORMAT;
  custodian: string;
  /** When the policy takes effect; the newest one in effect at the time of the check governs. */
  issuedAt: string;
  datasets: DatasetPolicy[];
}

export interface SignedPolicy {
  policy: CustodianPolicy;
  signature?: Signature;
}

/** One use of one column by a query, as the planner reports it. */
export interface ColumnUse {
  dataset: string;
  column: string;
  role: ColumnRole;
  /** With role 'aggregate': the function. */
  aggregate?: AggregateFn;
}

/** What the node is about to run. */
export interface QueryUse {
  /** The query's text; must be one of the study's allowed queries (compared by normalizeQueryText). */
  sql?: string;
  statistic?: string;
  /** Datasets the query reads (also those it reads no column of, e.g. COUNT(*) FROM contacts). */
  datasets: string[];
  /** Every column the plan reads and in what role (./plan-uses.ts builds this from a QueryPlan). */
  uses: ColumnUse[];
  /** Smallest cell the requester asked for; refused if below a policy's. */
  minCellSize?: number;
}

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

export function checkPolicyShape(x: unknown): CustodianPolicy {
  const p = x as CustodianPolicy;
  const bad = (m: string): never => refuse('malformed', `policy${p && typeof p.custodian === 'string' ? ` of '${p.custodian}'` : ''}: ${m}`);
  if (!p || typeof p !== 'object') bad('not a JSON object');
  if (p.format !== POLICY_FORMAT) bad(`format must be '${POLICY_FORMAT}'`);
  if (typeof p.custodian !== 'string' || !p.custodian) bad('custodian is required');
  parseTime(p.issuedAt, `policy of '${p.custodian}': issuedAt`);
  if (!Array.isArray(p.datasets) || p.datasets.length === 0) bad('datasets must list at least one dataset policy');
  const seen = new Set<string>();
  for (const d of p.datasets) {
    if (!d || typeof d.dataset !== 'string') bad('every dataset policy needs a dataset name');
    if (seen.has(d.dataset)) bad(`dataset '${d.dataset}' appears twice`);
    seen.add(d.dataset);
    const at = `dataset '${d.dataset}'`;
    if (!Array.isArray(d.purposes) || !d.purposes.every((c) => typeof c === 'string')) bad(`${at}: purposes must be a list of purpose codes`);
    if (!Number.isInteger(d.minCellSize) || d.minCellSize < 1) bad(`${at}: minCellSize must be a positive integer`);
    if (!d.columns || typeof d.columns !== 'object' || Array.isArray(d.columns)) bad(`${at}: columns must map column names to rules`);
    for (const [c, r] of Object.entries(d.columns)) {
      if (r === 'forbidden') continue;
      if (!r || !Array.isArray(r.roles) || !r.roles.every((x) => COLUMN_ROLES.includes(x))) bad(`${at}, column '${c}': roles must be a list of ${COLUMN_ROLES.join(', ')} (or the rule 'forbidden')`);
      if (r.aggregates !== undefined && (!Array.isArray(r.aggregates) || !r.aggregates.every((f) => AGGREGATE_FNS.includes(f)))) bad(`${at}, column '${c}': aggregates must be a list of ${AGGREGATE_FNS.join(', ')}`);
    }
    if (d.dp !== undefined) {
      const { maxEpsilon, maxDelta } = d.dp;
      if (maxEpsilon !== undefined && !(typeof maxEpsilon === 'number' && maxEpsilon > 0)) bad(`${at}: dp.maxEpsilon must be a positive number`);
      if (maxDelta !== undefined && !(typeof maxDelta === 'number' && maxDelta >= 0 && maxDelta < 1)) bad(`${at}: dp.maxDelta must be in [0, 1)`);
    }
  }
  return p;
}

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
  const purpose = consortium.purpose(s.purpose)!;

  // Policies of every dataset the study reads.
  const owners = new Map(chk.custodians.flatMap((c) => c.datasets.map((d) => [d, c] as const)));
  const pol = new Map<string, { policy: DatasetPolicy; issuedAt: string }>();
  for (const d of s.datasets) {
    const p = policyFor(d.name, input.policies, consortium, now);
    const owner = owners.get(d.name)!.name;
    if (!p.policy.purposes.includes(s.purpose)) {
      refuse('purpose-not-allowed', `custodian '${owner}' does not allow its dataset '${d.name}' to be used for ${purpose.label} ('${s.purpose}'); allowed purposes: ${p.policy.purposes.join(', ') || 'none'}`);
    }
    pol.set(d.name, p);
  }

  // Privacy budget against the policies.
  let budget: Authorization['budget'] = null;
  if (s.privacy) {
    budget = { epsilon: s.privacy.epsilon, delta: s.privacy.delta ?? DEFAULT_STUDY_DELTA };
    for (const [name, { policy }] of pol) {
      const owner = owners.get(name)!.name;
      if (policy.dp?.maxEpsilon !== undefined && budget.epsilon > policy.dp.maxEpsilon) refuse('budget-over-policy', `study '${s.id}' declares a privacy budget of epsilon ${budget.epsilon}, above the ${policy.dp.maxEpsilon} custodian '${owner}' allows for dataset '${name}'`);
      if (policy.dp?.maxDelta !== undefined && budget.delta > policy.dp.maxDelta) refuse('budget-over-policy', `study '${s.id}' declares delta ${budget.delta}, above the ${policy.dp.maxDelta} custodian '${owner}' allows for dataset '${name}'`);
    }
  }

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
    const { policy } = pol.get(u.dataset)!;
    const owner = owners.get(u.dataset)!.name;
    const rule = policy.columns[u.column];
    if (rule === undefined || rule === 'forbidden' || rule.roles.length === 0) refuse('column-forbidden', `column ${u.dataset}.${u.column} may not be used: custodian '${owner}'s policy ${rule === undefined ? 'does not list it' : 'forbids it'}`);
    if (!rule.roles.includes(u.role)) refuse('column-role', `column ${u.dataset}.${u.column} may not be used as ${u.role} (custodian '${owner}' allows: ${rule.roles.join(', ')})`);
    if (u.role === 'aggregate' && u.aggregate !== undefined && rule.aggregates !== undefined && !rule.aggregates.includes(u.aggregate)) {
      refuse('aggregate-not-allowed', `column ${u.dataset}.${u.column} may not be aggregated with ${u.aggregate.toUpperCase()} (custodian '${owner}' allows: ${rule.aggregates.join(', ').toUpperCase() || 'none'})`);
    }
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
      if (policy.dp?.required && touched.has(name)) refuse('dp-required', `custodian '${owners.get(name)!.name}' requires differential privacy for dataset '${name}', but query '${q.id}' of study '${s.id}' declares no epsilon`);
    }
  }

  return {
    format: AUTHORIZATION_FORMAT,
    study: s.id,
    studyHash: chk.hash,
    researcher: s.researcher,
    purpose: s.purpose,
    consent: { purpose: s.purpose, default: purpose.consent, register: consortium.consent },
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
