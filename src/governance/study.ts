// Studies and approvals: the signed documents that let a computation run.
//
// A study (JSON) names its researcher, its purpose (one of the consortium's declared purposes),
// the datasets and columns it reads, the queries or statistics it may run (each optionally with
// a differential-privacy epsilon), its validity period and optionally a total privacy budget.
// The researcher signs it (Ed25519 over the canonical JSON: ./identity.ts, ./canonical.ts); its
// hash (SHA-256 of the canonical JSON) names this exact version. Every custodian that owns a
// dataset the study reads signs an approval of that hash: { study, studyHash, custodian,
// decision, time, datasets }. Changing anything in the study changes its hash, so every approval
// must be given again.
//
// The checks here are the study-level ones (signatures, signers, approvals, validity period);
// ./policy.ts `authorize` adds the custodians' policies and the query at hand. Each node runs all
// of them on its own copy of the documents, so no single node (nor a forged document) can make a
// study run: an approval is a custodian's signature, which no node can produce.
//
// Times are ISO 8601 strings (UTC 'Z' recommended; 'YYYY-MM-DD' means midnight UTC). A study is
// valid on [validFrom, validUntil): from the first instant, up to but excluding the last.
import { randomUUID, type KeyObject } from 'node:crypto';
import { hashJson, sha256Hex } from './canonical.js';
import { isDatasetName } from '../ingest/schema.js';
import type { Consortium } from './consortium.js';
import { GovernanceError, refuse } from './errors.js';
import { checkName, isSignature, signDocument, verifyDocument, type Signature, type Signer } from './identity.js';
import { isoTime, parseTime, timeOf } from './times.js';
import { APPROVAL_FORMAT, checkApprovalShape, checkTerms, type Approval, type ApprovalBody } from './approval-shape.js';

// The approval document (its types and shape check, licence terms included) is ./approval-shape.ts,
// browser-safe for the web app, which signs approvals with WebCrypto.
export { APPROVAL_FORMAT, checkApprovalShape, checkTerms, MAX_TERMS_CHARS, type Approval, type ApprovalBody } from './approval-shape.js';

export const STUDY_FORMAT = 'mosaik-study/1';
export const REQUEST_FORMAT = 'mosaik-query-request/2';

export interface StudyDataset {
  name: string;
  /** Columns the study may read (the query's use of each is checked against the custodian's policy). */
  columns: string[];
}

export interface StudyQuery {
  /** Identifier within the study, e.g. 'q1'. */
  id: string;
  /** Exactly one of sql (Mosaik's SQL subset) and statistic (a statistics call, e.g. "mean(income.income)"). */
  sql?: string;
  statistic?: string;
  /** Differential privacy: epsilon spent by each run of this query (the noise is calibrated to it). */
  epsilon?: number;
  /** Discrete Gaussian only: the delta of this query's (epsilon, delta) guarantee. */
  delta?: number;
  description?: string;
}

export type DpMechanism = 'laplace' | 'gaussian';

export interface StudyPrivacy {
  /** Total epsilon over all runs of all queries (sequential composition). */
  epsilon: number;
  /** Total delta (default 1e-9: covers the truncation of the discrete Laplace, ≈ 1e-12 per query). */
  delta?: number;
  /** Noise distribution (default 'laplace': the geometric mechanism). */
  mechanism?: DpMechanism;
}

export interface Study {
  format: typeof STUDY_FORMAT;
  id: string;
  title: string;
  /** Name of a researcher in the consortium configuration: the only one who can sign the study. */
  researcher: string;
  /** A purpose code declared by the consortium. */
  purpose: string;
  description?: string;
  datasets: StudyDataset[];
  queries: StudyQuery[];
  validFrom: string;
  validUntil: string;
  /** Smallest released cell the study asks for (never below any custodian's policy). */
  minCellSize?: number;
  privacy?: StudyPrivacy;
  createdAt: string;
}

export interface SignedStudy {
  study: Study;
  signature?: Signature;
}

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a study document's shape and internal consistency; returns it typed. Throws 'malformed'. */
export function checkStudyShape(x: unknown): Study {
  const bad = (m: string): never => refuse('malformed', `study: ${m}`);
  const s = x as Study;
  if (!s || typeof s !== 'object' || Array.isArray(s)) bad('not a JSON object');
  if (s.format !== STUDY_FORMAT) bad(`format must be '${STUDY_FORMAT}', got ${JSON.stringify(s.format)}`);
  if (typeof s.id !== 'string' || !ID_RE.test(s.id)) bad(`id ${JSON.stringify(s.id)} must be 1-64 lower-case letters, digits, '.', '_' or '-'`);
  const where = `study '${s.id}'`;
  const badIn = (m: string): never => refuse('malformed', `${where}: ${m}`);
  if (typeof s.title !== 'string' || !s.title.trim()) badIn('title is required');
  if (typeof s.researcher !== 'string') badIn('researcher is required');
  checkName(s.researcher, `${where}: researcher`);
  if (typeof s.purpose !== 'string' || !s.purpose) badIn('purpose is required');
  if (!Array.isArray(s.datasets) || s.datasets.length === 0) badIn('datasets must list at least one dataset');
  const names = new Set<string>();
  for (const d of s.datasets) {
    if (!d || !isDatasetName(d.name)) badIn(`dataset name ${JSON.stringify(d?.name)} is not valid`);
    if (names.has(d.name)) badIn(`dataset '${d.name}' is listed twice`);
    names.add(d.name);
    if (!Array.isArray(d.columns) || d.columns.length === 0 || !d.columns.every((c) => isDatasetName(c))) badIn(`dataset '${d.name}' must list the columns it reads`);
    if (new Set(d.columns).size !== d.columns.length) badIn(`dataset '${d.name}' lists a column twice`);
  }
  if (!Array.isArray(s.queries) || s.queries.length === 0) badIn('queries must list at least one query or statistic');
  const qids = new Set<string>();
  for (const q of s.queries) {
    if (!q || typeof q.id !== 'string' || !ID_RE.test(q.id)) badIn(`query id ${JSON.stringify(q?.id)} is not valid`);
    if (qids.has(q.id)) badIn(`query '${q.id}' is listed twice`);
    qids.add(q.id);
    const texts = [q.sql, q.statistic].filter((t) => t !== undefined);
    if (texts.length !== 1 || typeof texts[0] !== 'string' || !texts[0].trim()) badIn(`query '${q.id}' needs exactly one of sql and statistic`);
    if (q.epsilon !== undefined && !(typeof q.epsilon === 'number' && q.epsilon > 0 && Number.isFinite(q.epsilon))) badIn(`query '${q.id}': epsilon must be a positive number`);
    if (q.delta !== undefined && !(typeof q.delta === 'number' && q.delta > 0 && q.delta < 1)) badIn(`query '${q.id}': delta must be in (0, 1)`);
    if (q.epsilon !== undefined && !s.privacy) badIn(`query '${q.id}' has an epsilon but the study declares no privacy budget`);
  }
  const from = parseTime(s.validFrom, `${where}: validFrom`);
  const until = parseTime(s.validUntil, `${where}: validUntil`);
  if (!(from < until)) badIn(`validFrom (${s.validFrom}) must be before validUntil (${s.validUntil})`);
  parseTime(s.createdAt, `${where}: createdAt`);
  if (s.minCellSize !== undefined && !(Number.isInteger(s.minCellSize) && s.minCellSize >= 1)) badIn('minCellSize must be a positive integer');
  if (s.privacy !== undefined) {
    const p = s.privacy;
    if (!p || typeof p.epsilon !== 'number' || !(p.epsilon > 0) || !Number.isFinite(p.epsilon)) badIn('privacy.epsilon must be a positive number');
    if (p.delta !== undefined && !(typeof p.delta === 'number' && p.delta >= 0 && p.delta < 1)) badIn('privacy.delta must be in [0, 1)');
    if (p.mechanism !== undefined && p.mechanism !== 'laplace' && p.mechanism !== 'gaussian') badIn(`privacy.mechanism must be 'laplace' or 'gaussian'`);
    if (p.mechanism === 'gaussian') for (const q of s.queries) if (q.epsilon !== undefined && q.delta === undefined) badIn(`query '${q.id}': the discrete Gaussian needs a per-query delta`);
  }
  return s;
}

/** SHA-256 (hex) of the study's canonical JSON: the name of this exact version. */
export function studyHash(s: Study): string {
  return hashJson(s);
}

/** A study as its researcher writes it: the format is added, createdAt defaults to now. */
export type NewStudy = Omit<Study, 'format' | 'createdAt'> & { createdAt?: string };

/** A new (unsigned) study document, shape-checked. */
export function createStudy(n: NewStudy): Study {
  const s: Study = {
    format: STUDY_FORMAT,
    id: n.id,
    title: n.title,
    researcher: n.researcher,
    purpose: n.purpose,
    ...(n.description ? { description: n.description } : {}),
    datasets: n.datasets.map((d) => ({ name: d.name, columns: [...d.columns] })),
    queries: n.queries.map((q) => ({ ...q })),
    validFrom: n.validFrom,
    validUntil: n.validUntil,
    ...(n.minCellSize !== undefined ? { minCellSize: n.minCellSize } : {}),
    ...(n.privacy ? { privacy: { ...n.privacy } } : {}),
    createdAt: n.createdAt ?? new Date().toISOString(),
  };
  return checkStudyShape(s);
}

/** The researcher's signature. The signer's name must be the study's researcher. */
export function signStudy(study: Study, signer: Signer): SignedStudy {
  checkStudyShape(study);
  if (signer.name !== study.researcher) refuse('wrong-signer', `study '${study.id}' names researcher '${study.researcher}'; '${signer.name}' cannot sign it`);
  return { study, signature: signDocument('study', study, signer) };
}

/** Parses a signed-study file's JSON (a bare study is accepted as an unsigned one). */
export function parseSignedStudy(x: unknown): SignedStudy {
  const o = x as SignedStudy & { format?: string };
  if (o && typeof o === 'object' && o.format === STUDY_FORMAT) return { study: checkStudyShape(o) };
  if (!o || typeof o !== 'object' || !('study' in o)) refuse('malformed', 'not a study document ({study, signature})');
  const study = checkStudyShape(o.study);
  if (o.signature !== undefined && !isSignature(o.signature)) refuse('malformed', `study '${study.id}': the signature field is not a signature`);
  return { study, ...(o.signature ? { signature: o.signature } : {}) };
}

/**
 * Checks the researcher's signature: present, by the study's researcher, who is a researcher of
 * the consortium, with that member's registered key, valid over this exact document.
 */
export function verifyStudySignature(ss: SignedStudy, consortium: Consortium): string {
  const s = checkStudyShape(ss.study);
  const where = `study '${s.id}'`;
  const m = consortium.member(s.researcher);
  if (!m) refuse('unknown-member', `${where}: researcher '${s.researcher}' is not a member of consortium '${consortium.name}'`);
  if (m.role !== 'researcher') refuse('wrong-role', `${where}: '${s.researcher}' is a ${m.role}, not a researcher`);
  const sig = ss.signature;
  if (!sig) refuse('unsigned', `${where} is not signed by its researcher '${s.researcher}'`);
  if (sig.signer !== s.researcher) refuse('wrong-signer', `${where} is signed by '${sig.signer}', but its researcher is '${s.researcher}'`);
  if (sig.keyId !== m.keyId) refuse('wrong-signer', `${where} is signed with key ${sig.keyId.slice(0, 16)}…, which is not researcher '${s.researcher}'s registered key ${m.keyId.slice(0, 16)}…`);
  if (!verifyDocument('study', s, sig, m.publicKey)) refuse('bad-signature', `${where}: the researcher's signature does not verify (the study was changed after signing, or the signature is corrupt)`);
  return studyHash(s);
}

/** Custodian → the study's datasets it owns. Throws 'unknown-dataset' for a dataset nobody owns. */
export function studyCustodians(s: Study, consortium: Consortium): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of s.datasets) {
    const c = consortium.custodianOf(d.name);
    if (!c) refuse('unknown-dataset', `study '${s.id}' reads dataset '${d.name}', which no custodian of consortium '${consortium.name}' owns`);
    out.set(c, [...(out.get(c) ?? []), d.name]);
  }
  return out;
}

const body0 = (study: string, custodian: string) => `approval of study '${study}' by '${custodian}'`;

/**
 * A custodian's approval (or rejection) of a signed study. An approval may carry licence terms
 * (`terms`: plain text, signed with it and committed to in the transparency log). The custodian first checks the study
 * itself (researcher's signature, declared purpose) and that it owns data the study reads.
 */
export function approveStudy(ss: SignedStudy, consortium: Consortium, signer: Signer, opts: { time?: string; decision?: 'approve' | 'reject'; reason?: string; terms?: string } = {}): Approval {
  const hash = verifyStudySignature(ss, consortium);
  const s = ss.study;
  if (!consortium.purpose(s.purpose)) refuse('unknown-purpose', `study '${s.id}': purpose '${s.purpose}' is not declared by consortium '${consortium.name}' (declared: ${consortium.purposes.map((p) => p.code).join(', ')})`);
  const m = consortium.member(signer.name);
  if (!m) refuse('unknown-member', `'${signer.name}' is not a member of consortium '${consortium.name}'`);
  if (m.role !== 'custodian') refuse('wrong-role', `'${signer.name}' is a ${m.role}; only custodians approve studies`);
  const mine = studyCustodians(s, consortium).get(signer.name);
  if (!mine) refuse('wrong-signer', `study '${s.id}' reads no dataset of custodian '${signer.name}' (it reads ${s.datasets.map((d) => d.name).join(', ')})`);
  const body: ApprovalBody = {
    format: APPROVAL_FORMAT,
    study: s.id,
    studyHash: hash,
    custodian: signer.name,
    decision: opts.decision ?? 'approve',
    datasets: mine,
    time: opts.time ?? new Date().toISOString(),
    ...(opts.reason ? { reason: opts.reason } : {}),
    ...(opts.terms !== undefined ? { terms: checkTerms(opts.terms, body0(s.id, signer.name), opts.decision ?? 'approve') } : {}),
  };
  return { approval: body, signature: signDocument('approval', body, signer) };
}

export function parseApproval(x: unknown): Approval {
  return checkApprovalShape(x);
}

/** Checks one approval's signature and signer (not which study it is for). */
export function verifyApproval(ap: Approval, consortium: Consortium): void {
  const a = parseApproval(ap).approval;
  const where = `approval of study '${a.study}' by '${a.custodian}'`;
  const m = consortium.member(a.custodian);
  if (!m) refuse('unknown-member', `${where}: '${a.custodian}' is not a member of consortium '${consortium.name}'`);
  if (m.role !== 'custodian') refuse('wrong-role', `${where}: '${a.custodian}' is a ${m.role}, not a custodian`);
  const sig = ap.signature;
  if (!sig) refuse('unsigned', `${where} is not signed`);
  if (sig.signer !== a.custodian) refuse('wrong-signer', `${where} is signed by '${sig.signer}', not by the custodian`);
  if (sig.keyId !== m.keyId) refuse('wrong-signer', `${where} is signed with a key that is not custodian '${a.custodian}'s registered key`);
  if (!verifyDocument('approval', a, sig, m.publicKey)) refuse('bad-signature', `${where}: the signature does not verify (the approval was changed after signing, or the signature is corrupt)`);
}

/** Refuses unless `now` lies in [validFrom, validUntil). */
export function checkValidity(s: Study, now: Date | string | number): void {
  const t = timeOf(now);
  if (t < parseTime(s.validFrom, 'validFrom')) refuse('not-yet-valid', `study '${s.id}' is not valid yet: its period starts ${s.validFrom} (now ${isoTime(t)})`);
  if (t >= parseTime(s.validUntil, 'validUntil')) refuse('expired', `study '${s.id}' expired at ${s.validUntil} (now ${isoTime(t)})`);
}

export interface StudyCheck {
  study: Study;
  hash: string;
  /** Custodian → its datasets the study reads, each custodian with the approval that counts. */
  custodians: { name: string; datasets: string[]; approvedAt: string; keyId: string }[];
}

/**
 * Everything about a study that does not depend on the query: the researcher's signature, the
 * declared purpose, the validity period at `now`, and an approval of this exact version by every
 * custodian whose data it reads. Approvals of other studies are ignored; an approval of this study
 * that does not verify, or for an older version, or a rejection, is refused with its reason.
 */
export function checkStudy(ss: SignedStudy, approvals: Approval[], consortium: Consortium, now: Date | string | number): StudyCheck {
  const hash = verifyStudySignature(ss, consortium);
  const s = ss.study;
  if (!consortium.purpose(s.purpose)) refuse('unknown-purpose', `study '${s.id}': purpose '${s.purpose}' is not declared by consortium '${consortium.name}' (declared: ${consortium.purposes.map((p) => p.code).join(', ')})`);
  checkValidity(s, now);
  const needed = studyCustodians(s, consortium);
  const got = new Map<string, Approval>();
  for (const ap of approvals) {
    const a = parseApproval(ap).approval;
    if (a.study !== s.id) continue;
    if (!needed.has(a.custodian)) continue; // not a custodian of this study's data: irrelevant
    verifyApproval(ap, consortium);
    if (a.studyHash !== hash) refuse('approval-mismatch', `the approval by '${a.custodian}' is for another version of study '${s.id}' (hash ${a.studyHash.slice(0, 16)}…, this version ${hash.slice(0, 16)}…); the custodian must approve the current version`);
    if (a.decision === 'reject') refuse('rejected', `study '${s.id}' was rejected by custodian '${a.custodian}'${a.reason ? `: ${a.reason}` : ''}`);
    const prev = got.get(a.custodian);
    if (!prev || parseTime(prev.approval.time, 'time') < parseTime(a.time, 'time')) got.set(a.custodian, ap);
  }
  const missing = [...needed].filter(([c]) => !got.has(c));
  if (missing.length) {
    const list = missing.map(([c, ds]) => `'${c}' (${ds.join(', ')})`).join(', ');
    refuse('missing-approval', `study '${s.id}' lacks the approval of custodian${missing.length > 1 ? 's' : ''} ${list}; it runs only when every custodian whose data it reads has approved it`);
  }
  return {
    study: s,
    hash,
    custodians: [...needed].map(([name, datasets]) => {
      const ap = got.get(name)!;
      return { name, datasets, approvedAt: ap.approval.time, keyId: ap.signature!.keyId };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Query requests: a researcher asks for one run now, signed, so that every node can check for
// itself who asked and for exactly what (node 0, which schedules, is not trusted with any of it).
// Everything that shapes the computation and is the researcher's to choose is in the signed body:
//   governed (a study):  study, studyHash, query (the study's query; its SQL and epsilon come from
//                        the study, which the custodians approved)
//   ad hoc (no study):   sql, and optionally epsilon (this run's privacy cost)
//   both:                versions (the registers read; omitted: the latest at every node, which
//                        each node checks), minCellSize (may only raise the nodes' smallest cell),
//                        resultKey (the X25519 public key each node encrypts its result shares to:
//                        only the holder of its private key can read the result), cluster, nonce, time.
// What the nodes choose themselves, each on its own and compared: the consent register's version
// (the one in force at the submission), the smallest cell and privacy settings of their policies.

export interface QueryRequestBody {
  format: typeof REQUEST_FORMAT;
  /** The cluster (cluster.json's name) the request is for. */
  cluster: string;
  /** The identity that signs (a researcher). */
  researcher: string;
  /** Unique per request (each node refuses a nonce it has seen). */
  nonce: string;
  time: string;
  /** X25519 public key (32 raw bytes, base64url) the nodes encrypt their result shares to. */
  resultKey: string;
  /** Governed: the study, the hash of its version, the id of the query in it. */
  study?: string;
  studyHash?: string;
  query?: string;
  /** Ad hoc: the SQL. */
  sql?: string;
  /**
   * Ad hoc: a statistics call instead of SQL (src/stats: JSON {fn, data, formula, family?, bin?,
   * breaks?, probs?}; the analysis table's SQL is its `data`).
   */
  statistic?: string;
  /** Ad hoc: epsilon of this run (default: the nodes' default). */
  epsilon?: number;
  /** The version of each register read (default: the latest at every node). */
  versions?: Record<string, string>;
  /** A smallest released cell above the nodes' policy. */
  minCellSize?: number;
}

export interface QueryRequest {
  request: QueryRequestBody;
  signature?: Signature;
}

/** What a researcher asks for besides the study (or the SQL). */
export interface RequestOptions {
  cluster: string;
  resultKey: string;
  versions?: Record<string, string>;
  minCellSize?: number;
  time?: string;
  nonce?: string;
}

const RESULT_KEY_RE = /^[A-Za-z0-9_-]{43}$/;

function newRequestBody(researcher: string, o: RequestOptions, what: Pick<QueryRequestBody, 'study' | 'studyHash' | 'query' | 'sql' | 'statistic' | 'epsilon'>): QueryRequestBody {
  return {
    format: REQUEST_FORMAT,
    cluster: o.cluster,
    researcher,
    nonce: o.nonce ?? randomUUID(),
    time: o.time ?? new Date().toISOString(),
    resultKey: o.resultKey,
    ...Object.fromEntries(Object.entries(what).filter(([, v]) => v !== undefined)),
    ...(o.versions ? { versions: { ...o.versions } } : {}),
    ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}),
  };
}

/** A signed request to run query `queryId` of a study. */
export function signQueryRequest(ss: SignedStudy, queryId: string, signer: Signer, opts: RequestOptions): QueryRequest {
  const s = checkStudyShape(ss.study);
  if (!s.queries.some((q) => q.id === queryId)) refuse('query-not-allowed', `study '${s.id}' has no query '${queryId}' (it has ${s.queries.map((q) => q.id).join(', ')})`);
  const body = newRequestBody(signer.name, opts, { study: s.id, studyHash: studyHash(s), query: queryId });
  checkRequestShape({ request: body });
  return { request: body, signature: signDocument('query-request', body, signer) };
}

/** A signed request to run ad-hoc SQL, or a statistics call (src/stats), on clusters without a consortium. */
export function signAdhocRequest(text: string, signer: Signer, opts: RequestOptions & { epsilon?: number }, kind: 'sql' | 'statistic' = 'sql'): QueryRequest {
  const body = newRequestBody(signer.name, opts, { [kind]: text, ...(opts.epsilon !== undefined ? { epsilon: opts.epsilon } : {}) });
  checkRequestShape({ request: body });
  return { request: body, signature: signDocument('query-request', body, signer) };
}

/** Checks a request's shape (not its signature); returns it typed. Throws 'request'. */
export function checkRequestShape(x: unknown): QueryRequest {
  const rq = x as QueryRequest;
  const bad = (m: string): never => refuse('request', `query request: ${m}`);
  const r = rq?.request;
  if (!r || typeof r !== 'object' || r.format !== REQUEST_FORMAT) bad(`not a query request (format '${REQUEST_FORMAT}'; sign a new one with this version of mosaik)`);
  for (const k of ['cluster', 'researcher', 'nonce', 'time', 'resultKey'] as const) if (typeof r[k] !== 'string' || !r[k]) bad(`${k} is required`);
  if (r.nonce.length < 8) bad('nonce must be a string of at least 8 characters');
  if (!RESULT_KEY_RE.test(r.resultKey)) bad('resultKey must be an X25519 public key: 32 bytes, base64url');
  parseTime(r.time, 'query request time');
  const governed = r.study !== undefined || r.studyHash !== undefined || r.query !== undefined;
  if (governed) {
    if (typeof r.study !== 'string' || typeof r.query !== 'string' || typeof r.studyHash !== 'string' || !HEX64.test(r.studyHash)) bad('a study request names study, studyHash (64 hex digits) and query');
    if (r.sql !== undefined || r.statistic !== undefined || r.epsilon !== undefined) bad('a study request takes its SQL and epsilon from the study; leave sql and epsilon out');
  } else {
    const text = r.sql ?? r.statistic;
    if ((r.sql !== undefined && r.statistic !== undefined) || typeof text !== 'string' || !text.trim()) bad('an ad-hoc request needs sql or a statistic (or study, studyHash and query)');
    if (r.epsilon !== undefined && !(typeof r.epsilon === 'number' && r.epsilon > 0 && Number.isFinite(r.epsilon))) bad('epsilon must be a positive number');
  }
  if (r.versions !== undefined && (!r.versions || typeof r.versions !== 'object' || Array.isArray(r.versions) || Object.values(r.versions).some((v) => typeof v !== 'string'))) bad('versions must map register names to version strings');
  if (r.minCellSize !== undefined && !(Number.isInteger(r.minCellSize) && r.minCellSize >= 1)) bad('minCellSize must be a positive integer');
  if (rq.signature !== undefined && !isSignature(rq.signature)) bad('the signature field is not a signature');
  return rq;
}

/** Default freshness window of a query request (either side of `now`, for clock skew). */
export const REQUEST_MAX_AGE_MS = 15 * 60_000;

/**
 * Checks a request's signature and freshness against the identity that must have signed it
 * (`publicKey`, `keyId`: the researcher as the node knows them) and the cluster it is for.
 */
export function verifyRequestSignature(rq: QueryRequest, who: { name: string; keyId: string; publicKey: KeyObject }, cluster: string, now: Date | string | number, maxAgeMs = REQUEST_MAX_AGE_MS): QueryRequestBody {
  const r = checkRequestShape(rq).request;
  const bad = (m: string): never => refuse('request', `query request of '${r.researcher}': ${m}`);
  if (r.researcher !== who.name) bad(`it is signed in the name of '${r.researcher}', not '${who.name}'`);
  if (r.cluster !== cluster) bad(`it is for cluster '${r.cluster}', not this cluster '${cluster}'`);
  const age = timeOf(now) - parseTime(r.time, 'query request time');
  if (Math.abs(age) > maxAgeMs) bad(`it was made at ${r.time}, outside ±${Math.round(maxAgeMs / 60000)} minutes of now (${isoTime(timeOf(now))})`);
  const sig = rq.signature;
  if (!sig) return bad('it is not signed');
  if (sig.signer !== who.name || sig.keyId !== who.keyId) bad(`it is not signed with '${who.name}'s registered key`);
  if (!verifyDocument('query-request', r, sig, who.publicKey)) bad('the signature does not verify');
  return r;
}

/** Checks a study request against the study: signed by its researcher, for this version and query, fresh. */
export function verifyQueryRequest(rq: QueryRequest, ss: SignedStudy, hash: string, queryId: string, consortium: Consortium, now: Date | string | number, maxAgeMs = REQUEST_MAX_AGE_MS): void {
  const s = ss.study;
  const r = checkRequestShape(rq).request;
  const bad = (m: string): never => refuse('request', `query request for study '${s.id}': ${m}`);
  if (r.study !== s.id) bad(`it is for study '${String(r.study)}'`);
  if (r.studyHash !== hash) bad('it is for another version of the study');
  if (r.query !== queryId) bad(`it asks for query '${String(r.query)}', not '${queryId}'`);
  if (r.researcher !== s.researcher) bad(`it comes from '${r.researcher}', not the study's researcher '${s.researcher}'`);
  const m = consortium.member(s.researcher)!;
  verifyRequestSignature(rq, m, r.cluster, now, maxAgeMs);
}

// ---------------------------------------------------------------------------------------------
// Bodies for the transparency log (src/ledger: 'study-submitted' and 'study-approved' entries).
// Public metadata and hashes only.

export function studyLedgerBody(ss: SignedStudy): Record<string, string | number | string[]> {
  const s = ss.study;
  return {
    study: s.id,
    studyHash: studyHash(s),
    researcher: s.researcher,
    purpose: s.purpose,
    datasets: s.datasets.map((d) => d.name),
    queries: s.queries.length,
    validFrom: s.validFrom,
    validUntil: s.validUntil,
    signatureKeyId: ss.signature?.keyId ?? '',
  };
}

export function approvalLedgerBody(ap: Approval): Record<string, string | string[]> {
  const a = ap.approval;
  return {
    study: a.study, studyHash: a.studyHash, custodian: a.custodian, decision: a.decision, datasets: a.datasets, time: a.time, signatureKeyId: ap.signature?.keyId ?? '',
    // Licence terms: their SHA-256 (the text is in the signed approval the nodes serve).
    ...(a.terms !== undefined ? { termsSha256: sha256Hex(a.terms) } : {}),
  };
}

export { GovernanceError };
export { isoTime, parseTime, timeOf } from './times.js';
