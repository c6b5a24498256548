// `mosaik query --dir <cluster> "<sql>"`: the researcher's side of a query (over one register, or
// several joined on the person id: the registers read and their versions come from the SQL).
// Submits the query to node 0 (the scheduler), follows the job at all three nodes, fetches each
// node's share pair of the result and combines them here (src/node/jobs.ts assembleResult), so the
// aggregates exist in the clear only on this machine. Every node's certificate is pinned from
// cluster.json. Prints the result as a table; cells suppressed by the small-cell rule are listed
// and marked. With --save <file> it also writes the result file (ResultFile below): the combined
// result plus the three share pairs and commitment salts, which `mosaik audit verify --result`
// checks against the transparency log.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PartyId } from '../net/channel.js';
import { loadClusterConfig, type ClusterConfig } from '../net/keys.js';
import { parseQuery, planAnyQuery, type Display } from '../query/index.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { apiRequest } from '../node/api.js';
import { assembleResult, type CombinedResult, type Job, type JobResult } from '../node/jobs.js';

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
}

export class QueryFailed extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'QueryFailed';
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Submits a query and waits for the combined result. Throws QueryFailed with the nodes' error. */
export async function runRemoteQuery(o: QueryOptions): Promise<CombinedResult & { job: string; dataset: string; version: string; versions: Record<string, string>; parts: [JobResult, JobResult, JobResult]; schema: DatasetSchema; codeLists: CodeList[]; registers: Registers }> {
  const config = o.config ?? loadClusterConfig(join(o.dir ?? '.', 'cluster.json'));
  const sub = await apiRequest<{ job?: string; dataset?: string; version?: string; versions?: Record<string, string>; error?: string }>(config, 0, '/v1/queries', {
    body: { sql: o.sql, ...(o.dataset ? { dataset: o.dataset } : {}), ...(o.version ? { version: o.version } : {}), ...(o.versions ? { versions: o.versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}) },
  });
  if (sub.status !== 202 || !sub.body.job) throw new QueryFailed(sub.body?.error ?? `node 0 answered HTTP ${sub.status}`, sub.status);
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
  const { plan } = planAnyQuery(parseQuery(o.sql), new Map(Object.entries(registers)));
  const three = parts as [JobResult, JobResult, JobResult];
  return { ...assembleResult(plan, three), job: id, dataset, version, versions, parts: three, schema: registers[dataset]!.schema, codeLists: registers[dataset]!.codeLists, registers };
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
export async function queryCommand(o: { dir: string; dataset?: string; sql: string; version?: string; minCellSize?: number; json?: boolean; timeoutMs?: number; save?: string }): Promise<void> {
  const t0 = performance.now();
  const r = await runRemoteQuery({
    dir: o.dir,
    ...(o.dataset ? { dataset: o.dataset } : {}),
    sql: o.sql,
    ...(o.version ? { version: o.version } : {}),
    ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onProgress: (m) => console.error(`  ${m}`),
  });
  if (o.save) {
    writeFileSync(o.save, JSON.stringify(resultFileOf(loadClusterConfig(join(o.dir, 'cluster.json')), o, r), null, 1) + '\n');
    console.error(`result, share pairs and commitment salts saved to ${o.save} (check with: mosaik audit verify --dir ${o.dir} --result ${o.save})`);
  }
  const { parts: _p, schema: _s, codeLists: _c, ...shown } = r;
  if (o.json) console.log(JSON.stringify(shown, null, 2));
  else {
    console.log(formatTable(r));
    console.error(`job ${r.job} on ${Object.entries(r.versions).map(([n, v]) => `${n}@${v}`).join(', ')}: ${((performance.now() - t0) / 1000).toFixed(2)} s; result combined from the three nodes' shares (consistent)`);
  }
}
