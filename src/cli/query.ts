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
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PartyId } from '../net/channel.js';
import { loadClusterConfig, type ClusterConfig } from '../net/keys.js';
import { parseQuery, planAnyQuery, type Display } from '../query/index.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { apiRequest } from '../node/api.js';
import { assembleResult, type CombinedResult, type Job, type JobResult } from '../node/jobs.js';
import type { ResultGovernance } from '../node/job-governance.js';
import { signingPublicKey } from '../net/keys.js';
import { verifyAttestations } from '../governance/policy.js';
import { loadPrivateKey } from '../governance/identity.js';
import { parseApproval, parseSignedStudy, signQueryRequest, type Approval, type QueryRequest, type SignedStudy } from '../governance/study.js';
import { normalizeQueryText } from '../governance/policy.js';

export interface QueryOptions {
  /** Cluster directory (cluster.json) or the config itself. */
  dir?: string;
  config?: ClusterConfig;
  /** The FROM table (default: from the SQL). */
  dataset?: string;
  sql: string;
  /** The FROM table's version (default: the latest at node 0). */
  version?: string;
  /** Versions of the registers read (default: the latest of each at node 0). */
  versions?: Record<string, string>;
  minCellSize?: number;
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  onProgress?: (msg: string) => void;
  /** Governed clusters: the signed study (or its id, registered at the nodes), the signed request, approvals to send along. */
  study?: SignedStudy | string;
  request?: QueryRequest;
  approvals?: Approval[];
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

/** Submits a query and waits for the combined result. Throws QueryFailed with the nodes' error. */
export async function runRemoteQuery(o: QueryOptions): Promise<CombinedResult & { job: string; dataset: string; version: string; versions: Record<string, string>; parts: [JobResult, JobResult, JobResult]; schema: DatasetSchema; codeLists: CodeList[]; registers: Registers; governance?: ResultGovernance }> {
  const config = o.config ?? loadClusterConfig(join(o.dir ?? '.', 'cluster.json'));
  const governed = o.request !== undefined;
  const body = governed
    ? { study: o.study, request: o.request, ...(o.approvals?.length ? { approvals: o.approvals } : {}), ...(o.versions ? { versions: o.versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}) }
    : { sql: o.sql, ...(o.dataset ? { dataset: o.dataset } : {}), ...(o.version ? { version: o.version } : {}), ...(o.versions ? { versions: o.versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}) };
  const sub = await apiRequest<{ job?: string; dataset?: string; version?: string; versions?: Record<string, string>; error?: string }>(config, 0, '/v1/queries', { body });
  if (sub.status !== 202 || !sub.body.job) throw new QueryFailed(sub.body?.error ?? `node 0 answered HTTP ${sub.status}`, sub.status, (sub.body as { job?: string })?.job);
  const id = sub.body.job;
  const dataset = sub.body.dataset!;
  const version = sub.body.version!;
  const versions = sub.body.versions ?? { [dataset]: version };
  o.onProgress?.(`job ${id} on ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(', ')}`);
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  const parts: (JobResult | undefined)[] = [undefined, undefined, undefined];
  let lastMsg = '';
  let delay = 50;
  /** When a node has failed: report once every node has settled (or after a grace period), so the
   *  message carries the root cause and not only the first node's view of it. */
  let settleBy = 0;
  for (;;) {
    const views = await Promise.all(
      ([0, 1, 2] as PartyId[]).map(async (p) => {
        if (parts[p]) return { status: 'done' } as Job;
        try {
          const r = await apiRequest<Job & { error?: string }>(config, p, `/v1/jobs/${id}`, { timeoutMs: 10_000 });
          if (r.status !== 200) return { status: 'failed', error: r.body?.error ?? `HTTP ${r.status}` } as Job;
          if (r.body.status === 'done') parts[p] = r.body.result;
          return r.body;
        } catch (e) {
          return { status: 'unreachable', error: (e as Error).message } as unknown as Job;
        }
      }),
    );
    const failed = views.map((v, p) => [v, p] as const).filter(([v]) => v.status === 'failed');
    const settled = views.every((v) => ['failed', 'done', 'unreachable'].includes(v.status as string));
    if (failed.length && !settleBy) settleBy = Date.now() + 3000;
    if (failed.length && (settled || Date.now() > settleBy)) {
      throw new QueryFailed(`job ${id} failed: ${failed.map(([v, p]) => `node ${p} (${config.nodes[p as PartyId].name}): ${v.error}`).join('; ')}`);
    }
    if (parts.every(Boolean)) break;
    const msg = views.map((v, p) => `${config.nodes[p as PartyId].name}: ${v.status}${v.progress && v.status !== 'done' ? ` (${v.progress})` : ''}`).join(', ');
    if (msg !== lastMsg) o.onProgress?.(msg);
    lastMsg = msg;
    if (Date.now() > deadline) throw new QueryFailed(`job ${id} did not finish within ${o.timeoutMs ?? 600_000} ms (${msg})`);
    await sleep(delay);
    delay = Math.min(delay * 2, 100); // a status poll is one small HTTPS request
  }
  // The schemas of the versions queried (public), to decode the aggregates the same way the nodes planned them.
  const registers: Registers = {};
  for (const [name, v] of Object.entries(versions)) {
    const ds = await apiRequest<{ schema: DatasetSchema; codeLists: CodeList[]; error?: string }>(config, 0, `/v1/datasets/${encodeURIComponent(name)}?version=${encodeURIComponent(v)}`);
    if (ds.status !== 200) throw new QueryFailed(ds.body?.error ?? `cannot read the schema of ${name}@${v}`);
    registers[name] = { version: v, schema: ds.body.schema, codeLists: ds.body.codeLists };
  }
  const three = parts as [JobResult, JobResult, JobResult];
  const governance = governed ? checkAttestations(config, three) : undefined;
  // Registers the SQL reads (a governed job also reads the consent register, which is no output).
  const read = new Map(Object.entries(registers));
  const { plan } = planAnyQuery(parseQuery(o.sql), read);
  return { ...assembleResult(plan, three), job: id, dataset, version, versions, parts: three, schema: registers[dataset]!.schema, codeLists: registers[dataset]!.codeLists, registers, ...(governance ? { governance } : {}) };
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

/** The researcher's side of a governed query: the study file, a signed request for one of its queries. */
export function governedRequest(o: { studyFile: string; keyFile: string; queryId?: string; sql?: string; approvals?: string[] }): { study: SignedStudy; request: QueryRequest; sql: string; approvals: Approval[] } {
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
  const request = signQueryRequest(study, q.id, { name: study.study.researcher, privateKey: loadPrivateKey(o.keyFile) });
  return { study, request, sql: q.sql, approvals: (o.approvals ?? []).map((f) => parseApproval(read(f))) };
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
  const { columns, rows, suppressed, suppressedCount, havingHidden, minCellSize, cells } = r;
  return {
    format: 'mosaik-result/1', cluster: config.cluster, job: r.job, dataset: r.dataset, version: r.version, sql: o.sql, schema: r.schema, codeLists: r.codeLists,
    result: { columns, rows, suppressed, suppressedCount, havingHidden, minCellSize, cells }, parts: r.parts,
    ...(Object.keys(r.registers).length > 1 ? { registers: r.registers } : {}),
  };
}

/** A plain-text table; suppressed cells get a row of '<suppressed>' markers. */
export function formatTable(r: CombinedResult): string {
  const fmt = (v: Display) => (typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v));
  const body: string[][] = r.rows.map((row) => row.map(fmt));
  const keyCols = r.suppressed.length ? Object.keys(r.suppressed[0]!) : [];
  for (const s of r.suppressed) body.push(r.columns.map((c) => (keyCols.includes(c) ? fmt(s[c]!) : '<suppressed>')));
  const w = r.columns.map((c, i) => Math.max(c.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  const out = [line(r.columns), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line)];
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'}; ${r.suppressedCount} of ${r.cells} cell${r.cells === 1 ? '' : 's'} <suppressed>: fewer than ${r.minCellSize} rows${r.havingHidden ? `; ${r.havingHidden} hidden by HAVING` : ''})`);
  return out.join('\n');
}

/** The `mosaik query` action. */
export async function queryCommand(o: { dir: string; dataset?: string; sql?: string; version?: string; minCellSize?: number; json?: boolean; timeoutMs?: number; save?: string; study?: string; key?: string; queryId?: string; approvals?: string[] }): Promise<void> {
  const t0 = performance.now();
  if (!o.study && o.key) throw new QueryFailed('--key signs a request for a study: pass --study <study.json> too');
  if (o.study && !o.key) throw new QueryFailed('--study needs --key <researcher key> to sign the request');
  const g = o.study ? governedRequest({ studyFile: o.study, keyFile: o.key!, ...(o.queryId ? { queryId: o.queryId } : {}), ...(o.sql ? { sql: o.sql } : {}), approvals: o.approvals ?? [] }) : null;
  const sql = g?.sql ?? o.sql;
  if (!sql) throw new QueryFailed('give the SQL, or --study <study.json> --key <researcher key> [--query-id <id>]');
  o = { ...o, sql };
  const r = await runRemoteQuery({
    dir: o.dir,
    ...(o.dataset ? { dataset: o.dataset } : {}),
    sql,
    ...(g ? { study: g.study, request: g.request, approvals: g.approvals } : {}),
    ...(o.version ? { version: o.version } : {}),
    ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onProgress: (m) => console.error(`  ${m}`),
  });
  if (o.save) {
    writeFileSync(o.save, JSON.stringify(resultFileOf(loadClusterConfig(join(o.dir, 'cluster.json')), { sql }, r), null, 1) + '\n');
    console.error(`result, share pairs and commitment salts saved to ${o.save} (check with: mosaik audit verify --dir ${o.dir} --result ${o.save})`);
  }
  const { parts: _p, schema: _s, codeLists: _c, ...shown } = r;
  if (o.json) console.log(JSON.stringify(shown, null, 2));
  else {
    console.log(formatTable(r));
    if (r.governance) {
      const gv = r.governance;
      console.error(`study '${gv.study}' query '${gv.query}': authorized by all three nodes (attestations verified); consent filter '${gv.consent.purpose}' (${gv.consent.default})${gv.consent.register ? ` from ${gv.consent.register} at ${new Date(gv.consent.at! * 1000).toISOString()}` : ''}${gv.epsilon !== null ? `; differential privacy, epsilon ${gv.epsilon}` : ''}`);
    }
    console.error(`job ${r.job} on ${Object.entries(r.versions).map(([n, v]) => `${n}@${v}`).join(', ')}: ${((performance.now() - t0) / 1000).toFixed(2)} s; result combined from the three nodes' shares (consistent)`);
  }
}
