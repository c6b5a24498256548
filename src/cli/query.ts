// `mosaik query --dir <cluster> "<sql>"`: the researcher's side of a query (over one register, or
// several joined on the person id: the registers read and their versions come from the SQL).
// Submits the query to node 0 (the scheduler), follows the job at all three nodes, fetches each
// node's share pair of the result and combines them here (src/node/jobs.ts assembleResult), so the
// aggregates exist in the clear only on this machine. Every node's certificate is pinned from
// cluster.json. Prints the result as a table; cells suppressed by the small-cell rule are listed
// and marked. With --save <file> it also writes the result file (ResultFile below): the combined
// result plus the three share pairs and commitment salts, which `mosaik audit verify --result`
// checks against the transparency log.
//
// Governed clusters (src/node/governance.ts): `mosaik query --study <study.json> --key <researcher
// key> [--query-id <id>]` signs a request for one of the study's queries with the researcher's key
// and sends it with the signed study; the nodes take the SQL from the study. Each node returns its
// signed attestation of what it authorized; the three are verified here against the nodes' keys in
// cluster.json (all three must have authorized exactly the same thing).
import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PartyId } from '../net/channel.js';
import { loadClusterConfig, type ClusterConfig } from '../net/keys.js';
import { emptyByFilter, noiseForPlan, parseQuery, planAnyQuery, protectionErrors, protectionText, tablesOf, type Display, type ProtectionError } from '../query/index.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { apiRequest } from '../node/http.js';
import { assembleResult, type CombinedResult, type Job, type JobResult } from '../node/jobs.js';
import type { Protection } from '../node/privacy.js';
import { newResultKeyPair, openJson, type Sealed } from '../governance/sealed.js';
import type { Signer } from '../governance/identity.js';
import { cliSigner } from './identity-defaults.js';
import type { ResultGovernance } from '../node/job-governance.js';
import { signingPublicKey } from '../net/keys.js';
import { verifyAttestations } from '../governance/policy.js';
import { parseSignedStudy, signAdhocRequest, signQueryRequest, type QueryRequest, type SignedStudy } from '../governance/study.js';
import { normalizeQueryText } from '../governance/policy.js';

/** What every signed request to the cluster takes (queries here, statistics in ./stats.ts). */
export interface RequestCommon {
  /** Cluster directory (cluster.json) or the config itself. */
  dir?: string;
  config?: ClusterConfig;
  /** The researcher identity that signs the request and every call. */
  signer: Signer;
  /** Versions of the registers read (default: the latest of each at every node). */
  versions?: Record<string, string>;
  minCellSize?: number;
  /** Ad hoc: epsilon of this run (default: the nodes' default). */
  epsilon?: number;
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  onProgress?: (msg: string) => void;
  /** Node 0 accepted the job (it is queued or running at the nodes from now on). */
  onSubmitted?: (job: string) => void;
  /** Each node's status and progress (e.g. "computing over 100000 rows: 45 % (join: sorting)"), as they change. */
  onNodes?: (nodes: { node: string; status: string; progress?: string }[]) => void;
  /** Governed clusters: the registered study and the id of its query to run. */
  study?: SignedStudy;
  queryId?: string;
}

export interface QueryOptions extends RequestCommon {
  /** The SQL (governed: the study query's, for decoding; the nodes take it from the study). */
  sql: string;
}

export class QueryFailed extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** The job id, when the nodes made one (e.g. a governed job every node refused). */
    readonly job?: string,
  ) {
    super(message);
    this.name = 'QueryFailed';
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** What a node answers for GET /v1/jobs/:id (its requester only). */
type JobView = Pick<Job, 'id' | 'status' | 'progress' | 'error'> & { sealed?: Sealed; released?: number; error?: string };

export type RemoteResult = CombinedResult & {
  job: string;
  dataset: string;
  version: string;
  versions: Record<string, string>;
  parts: [JobResult, JobResult, JobResult];
  schema: DatasetSchema;
  codeLists: CodeList[];
  registers: Registers;
  protection: Protection;
  /** Protected results: per row, per output column, the error the protection added (sd, 95 % half-width). */
  errors?: ProtectionError[][];
  /** Protected results: what was added and why, in words. */
  protectionText?: string;
  /** Per suppressed cell: the WHERE clause alone empties it (plan.ts emptyByFilter), so saying so reveals nothing. */
  publiclyEmpty: boolean[];
  /** What the run cost and what remains of the researcher's budget (node 0's account). */
  privacy?: JobResult['privacy'];
  governance?: ResultGovernance;
};

/**
 * The most messages one node sent to the other nodes for a job (its `traffic.frames`): about its
 * rounds of communication (each round sends one message to each peer that needs it), which is what
 * a job costs on a network with a long round trip.
 */
export function messagesPerNode(parts: readonly { traffic?: { frames: number } }[]): number {
  return Math.max(0, ...parts.map((p) => p.traffic?.frames ?? 0));
}

/**
 * Starts a job (`start` passes `onSubmitted` on, e.g. to runRemoteQuery) and resolves once node 0
 * has accepted it, or it has settled: the caller's own work (a plaintext reference, R's data) then
 * runs while the nodes compute. `result` is the job's outcome, its rejection handled here.
 */
export async function afterSubmit<T>(start: (onSubmitted: () => void) => Promise<T>): Promise<{ result: Promise<T> }> {
  let accepted!: () => void;
  const submitted = new Promise<void>((ok) => (accepted = ok));
  const result = start(() => accepted());
  await Promise.race([submitted, result.then(() => {}, () => {})]);
  return { result };
}

/**
 * Signs a request, submits it to node 0, follows the job at all three nodes, opens each node's
 * sealed part with the request's private result key and combines them. Throws QueryFailed with the
 * nodes' error.
 */
export async function runRemoteQuery(o: QueryOptions): Promise<RemoteResult> {
  const config = o.config ?? loadClusterConfig(join(o.dir ?? '.', 'cluster.json'));
  const keys = newResultKeyPair();
  const ro = { cluster: config.cluster, resultKey: keys.publicKey, ...(o.versions ? { versions: o.versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}) };
  const request = o.study
    ? signQueryRequest(o.study, o.queryId ?? '', o.signer, ro)
    : signAdhocRequest(o.sql, o.signer, { ...ro, ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}) });
  const { id, dataset, version, versions, parts } = await submitAndCollect(config, request, keys.privateKey, o);
  // The schemas of the versions queried (public), to decode the aggregates the same way the nodes planned them.
  const registers = await fetchRegisters(config, versions);
  const three = parts as [JobResult, JobResult, JobResult];
  const governance = o.study ? checkAttestations(config, three) : undefined;
  // Registers the SQL reads (a governed job also reads the consent register, which is no output).
  const read = new Map(Object.entries(registers));
  const planned = planAnyQuery(parseQuery(o.sql), read);
  const plan = planned.plan;
  const combined = assembleResult(plan, three);
  const publiclyEmpty = combined.suppressed.map((c) => emptyByFilter(plan, c));
  // The noise the nodes added is public in its distribution: each cell's expected error, derived here.
  const p = three[0].protection;
  const noise = p.kind === 'dp' ? noiseForPlan(plan, planned.join, { mechanism: p.mechanism, epsilon: p.epsilon, ...(p.delta !== undefined ? { delta: p.delta } : {}) }) : null;
  return {
    ...combined, publiclyEmpty, job: id, dataset, version, versions, parts: three, schema: registers[dataset]!.schema, codeLists: registers[dataset]!.codeLists, registers,
    protection: p, ...(noise ? { errors: combined.rows.map((row) => protectionErrors(plan, noise, row)), protectionText: protectionText(plan, noise) } : {}),
    ...(three[0].privacy ? { privacy: three[0].privacy } : {}),
    ...(governance ? { governance } : {}),
  };
}

/** The public schema and code lists of each register version read (from node 0). */
export async function fetchRegisters(config: ClusterConfig, versions: Record<string, string>): Promise<Registers> {
  const registers: Registers = {};
  // Asked at once, not one after the other.
  const answers = await Promise.all(Object.entries(versions).map(async ([name, v]) => [name, v, await apiRequest<{ schema: DatasetSchema; codeLists: CodeList[]; error?: string }>(config, 0, `/v1/datasets/${encodeURIComponent(name)}?version=${encodeURIComponent(v)}`)] as const));
  for (const [name, v, ds] of answers) {
    if (ds.status !== 200) throw new QueryFailed(ds.body?.error ?? `cannot read the schema of ${name}@${v}`);
    registers[name] = { version: v, schema: ds.body.schema, codeLists: ds.body.codeLists };
  }
  return registers;
}

/** How long a node may hold a request for a job's status (GET /v1/jobs/:id?wait=): the progress shown is at most this old. */
const JOB_WAIT_MS = 1000;
/** The shortest time between two requests for a job's status at one node, when it answers at once. */
const MIN_POLL_MS = 100;

/**
 * Submits a signed request to node 0, follows the job at all three nodes and opens each node's
 * sealed part with the request's private result key. Throws QueryFailed with the nodes' error.
 */
export async function submitAndCollect(config: ClusterConfig, request: QueryRequest, privateKey: Parameters<typeof openJson>[1], o: Pick<QueryOptions, 'signer' | 'timeoutMs' | 'onProgress' | 'onSubmitted' | 'onNodes'>): Promise<{ id: string; dataset: string; version: string; versions: Record<string, string>; parts: [JobResult, JobResult, JobResult] }> {
  const sub = await apiRequest<{ job?: string; dataset?: string; version?: string; versions?: Record<string, string>; error?: string }>(config, 0, '/v1/queries', { body: { request }, signer: o.signer });
  if (sub.status !== 202 || !sub.body.job) throw new QueryFailed(sub.body?.error ?? `node 0 answered HTTP ${sub.status}`, sub.status, (sub.body as { job?: string })?.job);
  const id = sub.body.job;
  const dataset = sub.body.dataset!;
  const version = sub.body.version!;
  const versions = sub.body.versions ?? { [dataset]: version };
  o.onSubmitted?.(id);
  o.onProgress?.(`job ${id} on ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(', ')}`);
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  const parts: (JobResult | undefined)[] = [undefined, undefined, undefined];
  let lastMsg = '';
  /** When a node has failed: report once every node has settled (or after a grace period), so the
   *  message carries the root cause and not only the first node's view of it. */
  let settleBy = 0;
  // One status request in flight per node, each a long poll (?wait=): the node answers when the job
  // changes there (it ends, or its result is released) or after JOB_WAIT_MS with its progress, so the
  // end of a job is seen when it happens. A node that answers at once (a job not yet ended, and a
  // node that does not hold requests) is asked again MIN_POLL_MS after the last time at the earliest.
  // A node that does not answer (stopped, hung) does not hold up what the others report: the loop
  // goes on with the latest answer of each.
  type View = JobView | { status: 'unreachable'; error: string };
  const latest: View[] = [0, 1, 2].map(() => ({ status: 'queued' }) as JobView);
  const inFlight: (Promise<void> | null)[] = [null, null, null];
  const asked = [0, 0, 0];
  const ask = async (p: PartyId): Promise<void> => {
    const since = Date.now() - asked[p]!;
    if (since < MIN_POLL_MS) await sleep(MIN_POLL_MS - since);
    asked[p] = Date.now();
    return apiRequest<JobView>(config, p, `/v1/jobs/${id}?wait=${JOB_WAIT_MS}`, { timeoutMs: JOB_WAIT_MS + 10_000, signer: o.signer })
      .then(async (r): Promise<View> => {
        if (r.status !== 200) return { status: 'failed', error: r.body?.error ?? `HTTP ${r.status}` } as JobView;
        if (r.body.status === 'done' && r.body.sealed) parts[p] = await openJson<JobResult>(r.body.sealed, privateKey, { cluster: config.cluster, job: id, party: p });
        return r.body;
      })
      .catch((e: Error): View => ({ status: 'unreachable', error: e.message }))
      .then((v) => {
        latest[p] = v;
        inFlight[p] = null;
      });
  };
  for (;;) {
    for (const p of [0, 1, 2] as PartyId[]) if (!parts[p] && !inFlight[p]) inFlight[p] = ask(p);
    const waiting = inFlight.filter((x): x is Promise<void> => x !== null);
    await Promise.race([...waiting, sleep(250)]);
    const views = latest.map((v, p) => (parts[p] ? ({ status: 'done' } as JobView) : v));
    const failed = views.map((v, p) => [v, p] as const).filter(([v]) => v.status === 'failed');
    // Settled: every node has said how it ended, or does not answer (a stopped node is not waited
    // for: no answer a second after its long poll should have ended).
    const settled = views.every((v, p) => ['failed', 'done', 'unreachable'].includes(v.status as string) || (inFlight[p] !== null && Date.now() - asked[p]! > JOB_WAIT_MS + 1000));
    if (failed.length && !settleBy) settleBy = Date.now() + 3000;
    if (failed.length && (settled || Date.now() > settleBy)) {
      throw new QueryFailed(`job ${id} failed: ${failed.map(([v, p]) => `node ${p} (${config.nodes[p as PartyId].name}): ${v.error}`).join('; ')}`);
    }
    if (parts.every(Boolean)) break;
    const msg = views.map((v, p) => `${config.nodes[p as PartyId].name}: ${v.status}${'progress' in v && v.progress && (v.status !== 'done' || !parts[p]) && v.progress !== 'done' ? ` (${v.progress})` : ''}`).join(', ');
    if (msg !== lastMsg) {
      o.onProgress?.(msg);
      o.onNodes?.(views.map((v, p) => ({ node: config.nodes[p as PartyId].name, status: String(v.status), ...('progress' in v && v.progress ? { progress: v.progress } : {}) })));
    }
    lastMsg = msg;
    if (Date.now() > deadline) throw new QueryFailed(`job ${id} did not finish within ${o.timeoutMs ?? 600_000} ms (${msg})`);
  }
  return { id, dataset, version, versions, parts: parts as [JobResult, JobResult, JobResult] };
}

/**
 * A governed result: every node attested (with its Ed25519 key from cluster.json) that it
 * authorized exactly the same thing. Throws QueryFailed otherwise.
 */
export function checkAttestations(config: ClusterConfig, parts: [JobResult, JobResult, JobResult]): ResultGovernance {
  const g = parts.map((r, i) => r.governance ?? (() => { throw new QueryFailed(`node ${i} (${config.nodes[i as PartyId].name}) returned no governance record for a governed job`); })());
  const nodes = config.nodes.map((n) => {
    if (!n.signingKey) throw new QueryFailed(`cluster.json has no signingKey for node ${n.id} (${n.name}): its attestation cannot be checked`);
    return { name: n.name, publicKey: signingPublicKey(n.signingKey) };
  });
  try {
    verifyAttestations(g[0]!.authorization, g.map((x) => x.attestation!).filter(Boolean), nodes);
  } catch (e) {
    throw new QueryFailed(`the nodes' authorizations do not agree: ${(e as Error).message}`);
  }
  return g[0]!;
}

/** The researcher's side of a governed query: the study file and which of its queries to run. */
export function governedQuery(o: { studyFile: string; queryId?: string; sql?: string }): { study: SignedStudy; queryId: string; sql: string } {
  const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as unknown;
  const study = parseSignedStudy(read(o.studyFile));
  const qs = study.study.queries.filter((q) => q.sql !== undefined);
  const q = o.queryId
    ? study.study.queries.find((x) => x.id === o.queryId)
    : o.sql
      ? qs.find((x) => normalizeQueryText(x.sql!) === normalizeQueryText(o.sql!))
      : qs.length === 1
        ? qs[0]
        : undefined;
  if (!q) throw new QueryFailed(o.queryId ? `study '${study.study.id}' has no query '${o.queryId}' (it has ${study.study.queries.map((x) => x.id).join(', ')})` : o.sql ? `the SQL given is none of study '${study.study.id}'s queries (${qs.map((x) => x.id).join(', ')}); pass --query-id` : `study '${study.study.id}' has ${qs.length} queries (${qs.map((x) => x.id).join(', ')}): pass --query-id`);
  if (q.sql === undefined) throw new QueryFailed(`query '${q.id}' is a statistic; the nodes run SQL queries only`);
  return { study, queryId: q.id, sql: q.sql };
}

/** Per register read: its version, public schema and code lists. */
export type Registers = Record<string, { version: string; schema: DatasetSchema; codeLists: CodeList[] }>;


/** What `mosaik query --save` writes and `mosaik audit verify --result` reads. */
export interface ResultFile {
  format: 'mosaik-result/1';
  cluster: string;
  job: string;
  dataset: string;
  version: string;
  sql: string;
  /** The dataset version's public schema and code lists, to decode the aggregates as the nodes planned them. */
  schema: DatasetSchema;
  codeLists: CodeList[];
  /** The result as combined by the requester. */
  result: CombinedResult;
  /** Each node's part as it returned it: share pair, public metadata, commitment salt. */
  parts: [JobResult, JobResult, JobResult];
  /** Queries over several registers: each one's version, schema and code lists. */
  registers?: Registers;
}

export function resultFileOf(config: ClusterConfig, o: { sql: string }, r: Awaited<ReturnType<typeof runRemoteQuery>>): ResultFile {
  const { columns, rows, suppressed, suppressedCount, havingHidden, minCellSize, cells, ranked } = r;
  return {
    format: 'mosaik-result/1', cluster: config.cluster, job: r.job, dataset: r.dataset, version: r.version, sql: o.sql, schema: r.schema, codeLists: r.codeLists,
    result: { columns, rows, suppressed, suppressedCount, havingHidden, minCellSize, cells, ...(ranked !== undefined ? { ranked } : {}) }, parts: r.parts,
    ...(Object.keys(r.registers).length > 1 ? { registers: r.registers } : {}),
  };
}

/** A plain-text table; suppressed cells get a row of '<suppressed>' markers; protected values their 95 % margin (± …). */
export function formatTable(r: CombinedResult & { errors?: ProtectionError[][]; publiclyEmpty?: boolean[] }): string {
  const fmt = (v: Display) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v));
  const margin = (e: ProtectionError | undefined) => (!e || !(e.half95 > 0) ? '' : ` ± ${Number(e.half95.toPrecision(2)).toLocaleString('en-US')}`);
  const body: string[][] = r.rows.map((row, i) => row.map((v, k) => fmt(v) + margin(r.errors?.[i]?.[k])));
  const keyCols = r.suppressed.length ? Object.keys(r.suppressed[0]!) : [];
  // Cells the (public) WHERE clause empties are said to be empty; the others are small or empty by
  // the data, which is never told apart. Many of them are listed on one line, not as rows.
  const small = r.suppressed.filter((_, i) => !r.publiclyEmpty?.[i]);
  const byWhere = r.suppressed.length - small.length;
  const cellText = (c: Record<string, Display>) => keyCols.map((k) => fmt(c[k]!)).join('/');
  if (small.length <= SUPPRESSED_ROWS) for (const c of small) body.push(r.columns.map((col) => (keyCols.includes(col) ? fmt(c[col]!) : '<suppressed>')));
  const w = r.columns.map((c, i) => Math.max(c.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  const out = [line(r.columns), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)];
  if (r.ranked !== undefined) {
    out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'}: the first ${r.ranked} of ${r.cells} cells in this order, chosen inside MPC among cells of at least ${r.minCellSize} rows${r.errors ? ' (after noise)' : ''}; nothing about the other cells was revealed${r.errors ? '; ± is the 95 % margin of the protection\'s noise' : ''})`);
    return out.join('\n');
  }
  if (small.length > SUPPRESSED_ROWS) out.push(`<suppressed> ${small.length} cells: ${small.slice(0, 2 * SUPPRESSED_ROWS).map(cellText).join(', ')}${small.length > 2 * SUPPRESSED_ROWS ? `, … (${small.length - 2 * SUPPRESSED_ROWS} more)` : ''}`);
  const smallText = small.length ? `${small.length} of ${r.cells} cell${r.cells === 1 ? '' : 's'} <suppressed>: fewer than ${r.minCellSize} rows${r.errors ? ' (after noise)' : ''}, whether empty or small is not said` : `no cell suppressed (of ${r.cells})`;
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'}; ${smallText}${byWhere ? `; ${byWhere} cell${byWhere === 1 ? '' : 's'} empty by the WHERE clause, not shown` : ''}${r.havingHidden ? `; ${r.havingHidden} hidden by HAVING` : ''}${r.errors ? '; ± is the 95 % margin of the protection\'s noise' : ''})`);
  return out.join('\n');
}

/** More suppressed cells than this are listed on one line instead of one row each. */
const SUPPRESSED_ROWS = 10;

/** Where --save writes: the folder must exist and be writable (checked before the job runs). */
export function checkSavePath(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new QueryFailed(`--save ${path}: the folder ${dir} does not exist; nothing was run (create it, or save elsewhere)`);
  try {
    accessSync(existsSync(path) ? path : dir, fsConstants.W_OK);
  } catch {
    throw new QueryFailed(`--save ${path}: not writable; nothing was run`);
  }
}

/** What `mosaik query --json` prints: the result (rows, suppressed cells, margins, protection, cost), not the schemas and code lists. */
export function jsonResult(r: RemoteResult): Record<string, unknown> {
  return {
    job: r.job,
    versions: r.versions,
    columns: r.columns,
    rows: r.rows,
    suppressed: r.suppressed,
    ...(r.publiclyEmpty?.some(Boolean) ? { emptyByWhere: r.suppressed.filter((_, i) => r.publiclyEmpty[i]) } : {}),
    suppressedCount: r.suppressedCount,
    havingHidden: r.havingHidden,
    minCellSize: r.minCellSize,
    cells: r.cells,
    ...(r.ranked !== undefined ? { ranked: r.ranked } : {}),
    protection: r.protection,
    ...(r.errors ? { margins95: r.errors.map((row) => row.map((e) => (e && e.half95 > 0 ? e.half95 : null))) } : {}),
    ...(r.privacy ? { privacy: r.privacy } : {}),
    ...(r.governance ? { governance: { study: r.governance.study, query: r.governance.query, consent: r.governance.consent } } : {}),
  };
}

/** The `mosaik query` action. */
export async function queryCommand(o: { dir: string; dataset?: string; sql?: string; version?: string; minCellSize?: number; epsilon?: number; json?: boolean; timeoutMs?: number; save?: string; study?: string; key?: string; queryId?: string; approvals?: string[] }): Promise<void> {
  const t0 = performance.now();
  if (o.approvals?.length) throw new QueryFailed('--approvals: approvals are no longer sent with a query; the nodes use the registered ones only (each custodian submits its approval: mosaik study submit <study.json> <approval.json> --dir …)');
  const g = o.study ? governedQuery({ studyFile: o.study, ...(o.queryId ? { queryId: o.queryId } : {}), ...(o.sql ? { sql: o.sql } : {}) }) : null;
  const sql = g?.sql ?? o.sql;
  if (!sql) throw new QueryFailed('give the SQL, or --study <study.json> [--query-id <id>]');
  const from = tablesOf(parseQuery(sql))[0]!;
  if (o.dataset && o.dataset !== from) throw new QueryFailed(`--dataset ${o.dataset} is not the query's FROM table '${from}'`);
  const signer = cliSigner({ dir: o.dir, ...(o.key ? { key: o.key } : {}), role: 'researcher' });
  if (o.save) checkSavePath(o.save); // before the job runs and spends the request and the budget
  const r = await runRemoteQuery({
    dir: o.dir,
    sql,
    signer,
    ...(g ? { study: g.study, queryId: g.queryId } : {}),
    ...(o.version ? { versions: { [from]: o.version } } : {}),
    ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}),
    ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onProgress: (m) => console.error(`  ${m}`),
  });
  if (o.save) {
    writeFileSync(o.save, JSON.stringify(resultFileOf(loadClusterConfig(join(o.dir, 'cluster.json')), { sql }, r), null, 1) + '\n');
    console.error(`result, share pairs and commitment salts saved to ${o.save} (check with: mosaik audit verify --dir ${o.dir} --result ${o.save})`);
  }
  if (o.json) console.log(JSON.stringify(jsonResult(r), null, 2));
  else {
    console.log(formatTable(r));
    console.error(protectionLine(r));
    if (r.protectionText) console.error(r.protectionText);
    if (r.governance) {
      const gv = r.governance;
      console.error(`study '${gv.study}' query '${gv.query}': authorized by all three nodes (attestations verified); consent filter '${gv.consent.purpose}' (${gv.consent.default})${gv.consent.register ? ` from ${gv.consent.register} at ${new Date(gv.consent.at! * 1000).toISOString()}` : ''}`);
    }
    console.error(`job ${r.job} on ${Object.entries(r.versions).map(([n, v]) => `${n}@${v}`).join(', ')}: ${((performance.now() - t0) / 1000).toFixed(2)} s; result combined here from the three nodes' sealed shares (consistent)`);
  }
}

/** One line on how the result is protected and what it cost. */
export function protectionLine(r: Pick<RemoteResult, 'protection' | 'privacy'>): string {
  const p = r.protection;
  if (p.kind === 'none') return 'output protection: NONE (the nodes run with --exact-results: exact aggregates, for synthetic data and tests only)';
  const left = r.privacy ? `; your budget left: epsilon ${fmtEps(r.privacy.remaining.epsilon)}` : '';
  return `output protection: differential privacy (${p.mechanism} noise added inside MPC, epsilon ${fmtEps(p.epsilon)} for this run${left})`;
}

const fmtEps = (x: number) => String(Number(x.toPrecision(4)));
