// Running a query from the browser, as `mosaik query` does (src/cli/query.ts): a request signed
// here (SQL or a registered study's query, versions, epsilon, and the public half of a fresh
// result key), submitted to node 0, followed at all three nodes, each node's part opened here with
// the private half, the three combined (src/query/assemble.ts) and decoded; each cell's error from
// the output protection derived from the public plan (src/query/dp.ts). Statistics are submitted
// and collected the same way (submitAndCollect) and decoded by ./stats.ts.
import { assembleResult, type CombinedResult, type ResultPart } from '../../../src/query/assemble.js';
import { noiseForPlan, protectionErrors, protectionText, type ProtectionError } from '../../../src/query/dp.js';
import { planAnyQuery, tablesOf } from '../../../src/query/join-plan.js';
import { parseQuery } from '../../../src/query/parse.js';
import type { CodeList, DatasetSchema } from '../../../src/ingest/schema.js';
import type { Sealed } from '../../../src/governance/sealed-format.js';
import { call, cluster, PARTIES, type Party } from './api.js';
import type { BrowserIdentity } from './keys.js';
import { newResultKeys, openSealed } from './sealed.js';
import { signDocument } from './sign.js';

export type Protection = { kind: 'none' } | { kind: 'dp'; mechanism: 'laplace' | 'gaussian'; epsilon: number; delta?: number };

/** One node's part, opened (src/node/jobs.ts JobResult). */
export interface OpenedPart extends ResultPart {
  /** A statistics job: the call it ran (src/stats/statistic.ts). */
  statistic?: string;
  protection: Protection;
  privacy?: { cost: { epsilon: number; delta: number }; remaining: { epsilon: number; delta: number } };
  datasetRows: number;
  ledger: { resultMeta: string; shareCommitment: string; salt: string };
}

export interface BrowserResult extends CombinedResult {
  /** Per output column: a group key or an aggregate. */
  kinds: ('key' | 'agg')[];
  job: string;
  sql: string;
  versions: Record<string, string>;
  protection: Protection;
  errors?: ProtectionError[][];
  protectionText?: string;
  privacy?: OpenedPart['privacy'];
  parts: OpenedPart[];
  finishedAt: string;
}

/** What to ask the nodes for: ad-hoc SQL or a statistics call (src/stats/statistic.ts), or a registered study's query. */
export interface JobRequest {
  sql?: string;
  statistic?: string;
  epsilon?: number;
  minCellSize?: number;
  /** Governed: the registered study (its document) and the id of its query. */
  study?: { study: { id: string; queries: { id: string; sql?: string; statistic?: string }[] } };
  studyHash?: string;
  queryId?: string;
}

export interface RunInput extends JobRequest {
  sql: string;
}

/** A job's three parts, each opened here with the request's private result key. */
export interface CollectedJob {
  job: string;
  versions: Record<string, string>;
  parts: [OpenedPart, OpenedPart, OpenedPart];
}

type Register = { schema: DatasetSchema; codeLists: CodeList[] };
export type Registers = Map<string, Register>;

/** One register's public schema and code lists (its latest version, or the one given). */
export async function registerAt(name: string, version?: string): Promise<Register> {
  const q = version ? `?version=${encodeURIComponent(version)}` : '';
  const d = await call<Register>(0, `/v1/datasets/${encodeURIComponent(name)}${q}`);
  return { schema: d.schema, codeLists: d.codeLists };
}

/** The public schemas of the registers a query reads (latest versions, or the ones given). */
export async function registersOf(sql: string, versions?: Record<string, string>): Promise<Registers> {
  const out: Registers = new Map();
  for (const n of tablesOf(parseQuery(sql))) out.set(n, await registerAt(n, versions?.[n]));
  return out;
}

/** The public schemas of the register versions a job read (as the nodes report them). */
export async function registersAt(versions: Record<string, string>): Promise<Registers> {
  const out: Registers = new Map();
  for (const [n, v] of Object.entries(versions)) out.set(n, await registerAt(n, v));
  return out;
}

/** Plans a query here, before anything runs (refusals: unknown column, unsupported form, not protectable). */
/** Checks a query here, before anything is signed; `epsilon` undefined: the nodes give exact results. */
export async function checkQuery(sql: string, epsilon: number | undefined): Promise<{ cells: number; text: string }> {
  const regs = await registersOf(sql);
  const { plan, join } = planAnyQuery(parseQuery(sql), regs);
  const cells = plan.keys.reduce((n, k) => n * k.labels.length, 1);
  if (epsilon === undefined) return { cells, text: 'These nodes release exact results (no output protection).' };
  const noise = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon });
  return { cells, text: protectionText(plan, noise) };
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Signs the request here (with the public half of a fresh result key), submits it to node 0,
 * follows the job at the three nodes and opens each node's sealed part (queries and statistics alike).
 */
export async function submitAndCollect(id: BrowserIdentity, input: JobRequest, onProgress: (msg: string, parts: number) => void): Promise<CollectedJob> {
  const info = await cluster();
  const keys = await newResultKeys();
  const base = { format: 'mosaik-query-request/2', cluster: info.cluster, researcher: id.name, nonce: crypto.randomUUID(), time: new Date().toISOString(), resultKey: keys.publicKey, ...(input.minCellSize !== undefined ? { minCellSize: input.minCellSize } : {}) };
  const body = input.study
    ? { ...base, study: input.study.study.id, studyHash: input.studyHash!, query: input.queryId! }
    : { ...base, ...(input.statistic !== undefined ? { statistic: input.statistic } : { sql: input.sql }), ...(input.epsilon !== undefined ? { epsilon: input.epsilon } : {}) };
  const request = { request: body, signature: await signDocument('query-request', body, id) };
  onProgress('submitting the signed request to node 0', 0);
  const sub = await call<{ job: string; dataset: string; version: string; versions?: Record<string, string> }>(0, '/v1/queries', { body: { request }, as: id });
  const versions = sub.versions ?? { [sub.dataset]: sub.version };
  const parts: (OpenedPart | undefined)[] = [undefined, undefined, undefined];
  // Each node holds a status request until the job changes there (it ends, or its result is
  // released) or a second has passed (GET /v1/jobs/:id?wait=): the end is seen when it happens.
  for (;;) {
    const asked = Date.now();
    const views = await Promise.all(
      PARTIES.map(async (p: Party) => {
        if (parts[p]) return { status: 'done', progress: 'done' };
        const v = await call<{ status: string; progress?: string; error?: string; sealed?: Sealed }>(p, `/v1/jobs/${sub.job}?wait=1000`, { as: id });
        if (v.status === 'done' && v.sealed) parts[p] = await openSealed<OpenedPart>(v.sealed, keys.privateKey, { cluster: info.cluster, job: sub.job, party: p });
        return v;
      }),
    );
    const failed = views.map((v, p) => [v, p] as const).filter(([v]) => v.status === 'failed');
    if (failed.length) throw new Error(failed.map(([v, p]) => `${info.nodes[p]!.name}: ${(v as { error?: string }).error ?? 'failed'}`).join('; '));
    const done = parts.filter(Boolean).length;
    if (done === 3) break;
    onProgress(views.map((v, p) => `${info.nodes[p]!.name}: ${v.status === 'done' && !parts[p] ? 'done, waiting for the release to be logged' : (v.progress ?? v.status)}`).join(' · '), done);
    await sleep(100 - (Date.now() - asked)); // at most ten rounds a second, when the nodes answer at once
  }
  return { job: sub.job, versions, parts: parts as [OpenedPart, OpenedPart, OpenedPart] };
}

export async function runQuery(id: BrowserIdentity, input: RunInput, onProgress: (msg: string, parts: number) => void): Promise<BrowserResult> {
  const { job, versions, parts: three } = await submitAndCollect(id, input, onProgress);
  const sql = input.study ? input.study.study.queries.find((q) => q.id === input.queryId)!.sql! : input.sql;
  const read = await registersOf(sql, versions);
  const { plan, join } = planAnyQuery(parseQuery(sql), read);
  const combined = assembleResult(plan, three);
  const p = three[0].protection;
  const noise = p.kind === 'dp' ? noiseForPlan(plan, join, { mechanism: p.mechanism, epsilon: p.epsilon, ...(p.delta !== undefined ? { delta: p.delta } : {}) }) : null;
  return {
    ...combined,
    kinds: plan.outputs.map((o) => o.kind),
    job,
    sql,
    versions,
    protection: p,
    ...(noise ? { errors: combined.rows.map((row) => protectionErrors(plan, noise, row)), protectionText: protectionText(plan, noise) } : {}),
    ...(three[0].privacy ? { privacy: three[0].privacy } : {}),
    parts: three,
    finishedAt: new Date().toISOString(),
  };
}
