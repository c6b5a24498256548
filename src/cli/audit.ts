// `mosaik audit verify`: the auditor's check of the transparency log (src/ledger), from genesis.
//
//   mosaik audit verify --dir <cluster dir> [--result <result.json>]
//       fetches every entry and every co-signed head from all three nodes' APIs (TLS pinned from
//       cluster.json), recomputes the Merkle tree (RFC 9162 §2.1) of each replica, checks every
//       head's three Ed25519 signatures against cluster.json, each head against the entries, the
//       replicas against each other (prefixes, forks), and asks each node for a consistency proof
//       (§2.1.4) from its first co-signed head to the cluster's latest one.
//   mosaik audit verify --log <nodeDir> [--log <nodeDir>]… [--dir <cluster dir>] [--result …]
//       the same offline on replica directories (<nodeDir>/ledger), e.g. copies taken from the
//       nodes; cluster.json comes from --dir or the node directory's parent.
//   --result <file>  (written by `mosaik query --save`): the result's release entry is in the log
//       and covered by a co-signed head (inclusion proof, §2.1.3, also from each node online), its
//       job-run entry names the same dataset, version and SQL, every node's share pair opens that
//       node's commitment in the entry, and the pairs combine to the rows the file states.
//
// The checks themselves are src/ledger/audit.ts (auditLog, fetchReplica), the same functions the
// browser's auditor page runs; this command reads the replicas (disk or pinned TLS) and --result.
//
// Every audit also checks the log's content (src/ledger/rules.ts) on a replica that verifies
// intact: every job-run is one the entries before it allow (a registered, approved, valid study of
// its requester; the consent register version in force), every release follows its job-run; a job
// without output protection is a warning.
//
// Prints a report; exit code 0 when everything holds, 1 when anything does not (each problem a
// sentence naming the node, entry or head), 2 when the audit itself cannot run (bad arguments).
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { PartyId } from '../net/channel.js';
import { clusterSigningKeys, loadClusterConfig, type ClusterConfig } from '../net/keys.js';
import { apiRequest } from '../node/api.js';
import { assembleResult, type JobResult } from '../node/jobs.js';
import { parseQuery, planAnyQuery, planSql } from '../query/index.js';
import { canonicalJson, type LedgerEntry } from '../ledger/entry.js';
import type { SignedHead } from '../ledger/heads.js';
import { readReplicaDir, ENTRIES_FILE } from '../ledger/log.js';
import { fromHex, verifyInclusion } from '../ledger/merkle.js';
import { resultMetaHash, shareCommitment, sqlSha256 } from '../ledger/commit.js';
import type { ReplicaInput, ReplicaReport, TrustAnchor } from '../ledger/verify.js';
import { auditLog, bestReplica, fetchReplica, type AuditLogOptions, type NodeGet } from '../ledger/audit.js';
import type { ResultFile } from './query.js';

export interface AuditOptions {
  /** Cluster directory (cluster.json). Needed online; offline it defaults to the parent of the first --log. */
  dir?: string;
  /** Node directories (or their ledger/ directories) to verify offline instead of asking the nodes. */
  logs?: string[];
  /** A result file of `mosaik query --save`. */
  result?: string;
  timeoutMs?: number;
}

export interface AuditReport {
  ok: boolean;
  problems: string[];
  warnings: string[];
  /** The printed report. */
  lines: string[];
}

const short = (hex: string) => `${hex.slice(0, 16)}…`;

/** Runs the audit and builds the report (no printing, no exit code). */
export async function auditVerify(o: AuditOptions): Promise<AuditReport> {
  const lines: string[] = [];
  const timeoutMs = o.timeoutMs ?? 30_000;
  const offline = !!o.logs?.length;
  const clusterDir = o.dir ?? (offline ? dirname(resolve(ledgerDirOf(o.logs![0]!), '..')) : undefined);
  if (!clusterDir) throw new Error('give --dir <cluster dir> (cluster.json), or --log <nodeDir> to verify replicas offline');
  const config = loadClusterConfig(join(clusterDir, 'cluster.json'));
  const anchor: TrustAnchor = { cluster: config.cluster, keys: clusterSigningKeys(config), names: config.nodes.map((n) => n.name) as [string, string, string] };

  // 1. The replicas: read from disk, or fetched from the nodes' public APIs (pinned TLS).
  const inputs: (ReplicaInput & { party?: PartyId })[] = [];
  const unreachable: AuditLogOptions['unreachable'] = [];
  const selfReports: AuditLogOptions['selfReports'] = [];
  const get: NodeGet = async (p, path) => apiRequest<unknown>(config, p, path, { timeoutMs });
  if (offline) {
    for (const d of o.logs!) {
      const dir = ledgerDirOf(d);
      if (!existsSync(join(dir, ENTRIES_FILE))) throw new Error(`${d} holds no transparency log (no ${join(dir, ENTRIES_FILE)})`);
      const nodeName = basename(dir) === 'ledger' ? basename(dirname(dir)) : basename(dir);
      const party = config.nodes.findIndex((n) => n.name === nodeName);
      inputs.push({ ...readReplicaDir(dir, nodeName), ...(party >= 0 ? { party: party as PartyId } : {}) });
    }
  } else {
    const got = await Promise.allSettled(([0, 1, 2] as PartyId[]).map((p) => fetchReplica(get, p, config.nodes[p].name)));
    got.forEach((g, p) => {
      const n = config.nodes[p as PartyId];
      if (g.status === 'rejected') unreachable.push({ label: n.name, party: p as PartyId, error: (g.reason as Error).message });
      else {
        inputs.push(g.value.input);
        if (g.value.selfReport) selfReports.push({ label: n.name, report: g.value.selfReport });
      }
    });
  }
  // 2. Every replica from genesis, the replicas against each other, each node's consistency proof
  // (online), the content rules: src/ledger/audit.ts, the same function as the browser's.
  const audit = await auditLog(inputs, anchor, { unreachable, selfReports, ...(offline ? {} : { get }) });
  const { reports, top } = audit;
  const problems = [...audit.problems];
  const warnings = [...audit.warnings];

  // 3. The report per replica.
  lines.push(`mosaik audit verify: cluster '${config.cluster}', ${offline ? `${reports.length} replica director${reports.length === 1 ? 'y' : 'ies'} (offline)` : 'replicas fetched from the three nodes'}`);
  for (const r of reports) {
    const kinds = new Map<string, number>();
    for (const e of r.entries) if (e) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    const kindText = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    const head = r.latest ? `latest co-signed head: size ${r.latest.size}, root ${short(r.latest.rootHash)}, ${r.latest.timestamp}` : 'no co-signed head';
    lines.push(`  ${r.label}: ${r.size} entr${r.size === 1 ? 'y' : 'ies'}${kindText ? ` (${kindText})` : ''}; ${r.heads.length} head${r.heads.length === 1 ? '' : 's'}; ${head}: ${r.problems.length ? `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}` : 'ok'}`);
  }

  // 4. The content rules (checked above, on the best intact replica).
  const checked = audit.rulesChecked;
  if (audit.rules && audit.ref) {
    const v = audit.rules.problems.length;
    lines.push(`  content rules on ${audit.ref.label}'s replica: ${checked} (study registered, approved, valid and the requester's; consent version in force; releases after their job-run): ${v ? `${v} violation${v === 1 ? '' : 's'}` : 'ok'}`);
  } else lines.push(`  ${checked}`);

  // 5. A released result.
  if (o.result) {
    const res = checkResultFile(o.result, config, reports, top);
    problems.push(...res.problems);
    lines.push(...res.lines);
    if (!offline && res.seq !== undefined && top && top.size > res.seq) {
      const before = problems.length;
      await Promise.all(
        reports.map(async (r) => {
          if (r.party === undefined || r.size < top!.size) return;
          const name = config.nodes[r.party].name;
          try {
            const a = await apiRequest<{ path?: string[]; leafHash?: string; error?: string }>(config, r.party, `/v1/ledger/proof/inclusion?seq=${res.seq}&size=${top!.size}`, { timeoutMs });
            if (a.status !== 200 || !Array.isArray(a.body.path)) throw new Error(a.body?.error ?? `HTTP ${a.status}`);
            if (!verifyInclusion(res.leaf!, res.seq!, top!.size, a.body.path.map((h) => fromHex(h)), fromHex(top!.rootHash))) {
              problems.push(`${name}: its inclusion proof of the result's entry ${res.seq} in the co-signed head of size ${top!.size} does not verify`);
            }
          } catch (e) {
            problems.push(`${name}: no inclusion proof for entry ${res.seq}: ${(e as Error).message}`);
          }
        }),
      );
      if (problems.length === before) lines.push(`    every node proved the entry's inclusion in the co-signed head of size ${top.size} (RFC 9162 §2.1.3)`);
    }
  }

  if (problems.length) {
    lines.push(`PROBLEMS (${problems.length}):`);
    for (const p of problems) lines.push(`  ✗ ${p}`);
  }
  if (warnings.length) {
    lines.push(`warnings (${warnings.length}):`);
    for (const w of warnings) lines.push(`  ! ${w}`);
  }
  if (!problems.length) {
    lines.push(
      top
        ? `OK: the log verifies from genesis to the co-signed head of size ${top.size} (root ${short(top.rootHash)}), signed by ${config.nodes.map((n) => n.name).join(', ')}${reports.length > 1 ? '; the replicas agree' : ''}; ${checked}`
        : `OK: ${reports.some((r) => r.size) ? `no problems found, but no co-signed head yet; ${checked}` : 'the log is empty'}`,
    );
  }
  return { ok: problems.length === 0, problems, warnings, lines };
}

/** <nodeDir>/ledger when it exists, else the directory itself (a ledger directory). */
function ledgerDirOf(d: string): string {
  const abs = resolve(d);
  return existsSync(join(abs, 'ledger', ENTRIES_FILE)) || !existsSync(join(abs, ENTRIES_FILE)) ? join(abs, 'ledger') : abs;
}

/** The checks of --result against the verified replicas. */
function checkResultFile(path: string, config: ClusterConfig, reports: ReplicaReport[], top: SignedHead | undefined): { problems: string[]; lines: string[]; seq?: number; leaf?: Uint8Array } {
  const problems: string[] = [];
  const lines: string[] = [];
  const P = (m: string) => problems.push(`result ${basename(path)}: ${m}`);
  let f: ResultFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as ResultFile;
  } catch (e) {
    P(`cannot read it: ${(e as Error).message}`);
    return { problems, lines };
  }
  if (f?.format !== 'mosaik-result/1' || typeof f.job !== 'string' || !Array.isArray(f.parts) || f.parts.length !== 3) {
    P('not a result file of `mosaik query --save` (format mosaik-result/1 with three parts)');
    return { problems, lines };
  }
  lines.push(`  result ${path}: job ${f.job} on ${f.dataset}@${f.version}`);
  if (f.cluster !== config.cluster) P(`it is from cluster '${f.cluster}', not '${config.cluster}'`);
  // The entries, from the best replica (no problems, longest).
  const ref = bestReplica(reports);
  if (!ref) {
    P('no replica to check it against');
    return { problems, lines };
  }
  const find = (kind: string) => ref.entries.findIndex((e) => e?.kind === kind && e.body.job === f.job);
  const seq = find('result-released');
  const runSeq = find('job-run');
  if (seq < 0) {
    P(`job ${f.job} has no result-released entry in ${ref.label}'s log: this result was not released by the nodes (or not logged)`);
    return { problems, lines };
  }
  const entry = ref.entries[seq] as LedgerEntry;
  if (runSeq < 0) P(`job ${f.job} has no job-run entry in the log`);
  else {
    const run = ref.entries[runSeq]!.body;
    if (run.dataset !== f.dataset || run.version !== f.version || run.sqlSha256 !== sqlSha256(f.sql)) {
      P(`the job-run entry ${runSeq} names ${run.dataset}@${run.version} with SQL hash ${short(String(run.sqlSha256))}, but the file says ${f.dataset}@${f.version} with SQL hash ${short(sqlSha256(f.sql))}`);
    } else if (runSeq > seq) P(`the job-run entry ${runSeq} comes after the release entry ${seq}`);
  }
  // Each node's pair opens its commitment.
  const commits = entry.body.shareCommitments as string[];
  const parts = f.parts as JobResult[];
  let opened = 0;
  parts.forEach((part, i) => {
    const name = config.nodes[i as PartyId].name;
    if (part?.party !== i) return P(`part ${i} is from party ${part?.party}, expected ${i}`);
    let c = '';
    try {
      c = shareCommitment({ job: f.job, party: i, a: part.shares.a, b: part.shares.b }, part.ledger?.salt ?? '');
    } catch (e) {
      return P(`${name}'s part has no valid commitment salt (${(e as Error).message})`);
    }
    if (c !== commits[i]) P(`${name}'s share pair does not open its commitment in log entry ${seq}: the shares (or salt) in the file are not the ones ${name} released`);
    else opened++;
  });
  const p0 = parts[0]!;
  const meta = resultMetaHash({
    job: f.job,
    dataset: f.dataset,
    version: f.version,
    sql: f.sql,
    columns: p0.columns,
    cells: p0.cells,
    suppressed: p0.suppressed,
    suppressedCount: p0.suppressedCount,
    havingHidden: p0.havingHidden,
    minCellSize: p0.minCellSize,
    visibleCells: p0.visibleCells,
    outAggs: p0.outAggs,
    ...(p0.ranked !== undefined ? { ranked: p0.ranked } : {}),
    lanes: p0.shares?.a?.length ?? 0,
  });
  if (meta !== entry.body.resultMeta) P(`its public metadata (columns, cells, suppressed cells, dataset, version or SQL) do not match the hash in log entry ${seq}`);
  // The pairs combine to the stated rows.
  try {
    const plan = f.registers ? planAnyQuery(parseQuery(f.sql), new Map(Object.entries(f.registers))).plan : planSql(f.sql, f.schema, new Map(f.codeLists.map((c) => [c.name, c])));
    const combined = assembleResult(plan, parts as [JobResult, JobResult, JobResult]);
    const want = canonicalJson({ ...combined });
    const stated = canonicalJson({ columns: f.result.columns, rows: f.result.rows, suppressed: f.result.suppressed, suppressedCount: f.result.suppressedCount, havingHidden: f.result.havingHidden, minCellSize: f.result.minCellSize, cells: f.result.cells, ...(f.result.ranked !== undefined ? { ranked: f.result.ranked } : {}) });
    if (want !== stated) {
      const k = combined.rows.findIndex((row, i) => canonicalJson(row) !== canonicalJson(f.result.rows?.[i] ?? null));
      P(`the result it states differs from what the shares combine to${k >= 0 ? ` (first at row ${k + 1}: stated ${JSON.stringify(f.result.rows?.[k])}, shares give ${JSON.stringify(combined.rows[k])})` : ''}`);
    } else lines.push(`    the three share pairs are consistent and combine to the ${combined.rows.length} row${combined.rows.length === 1 ? '' : 's'} the file states`);
  } catch (e) {
    P(`its shares do not combine: ${(e as Error).message}`);
  }
  if (opened === 3) lines.push(`    released in log entry ${seq} (${entry.time}); the share pairs of ${config.nodes.map((n) => n.name).join(', ')} open their commitments`);
  // Inclusion in a co-signed head (RFC 9162 §2.1.3), from the verified tree.
  const leaf = ref.tree.leafHash(seq);
  if (!top || top.size <= seq) P(`its release entry ${seq} is not yet covered by a co-signed head`);
  else if (ref.size < top.size || !verifyInclusion(leaf, seq, top.size, ref.tree.inclusionProof(seq, top.size), fromHex(top.rootHash))) {
    P(`its release entry ${seq} is not provably included in the co-signed head of size ${top.size} (per ${ref.label}'s replica)`);
  } else lines.push(`    entry ${seq} is included in the co-signed head of size ${top.size} (inclusion proof verified)`);
  return { problems, lines, seq, leaf };
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the transparency log: verify it end to end');
  audit
    .command('verify')
    .description('verify the transparency log from genesis: every entry, every co-signed head, consistency between heads and between the three nodes\' replicas; optionally a released result')
    .option('--dir <clusterDir>', 'cluster directory with cluster.json (pins the nodes\' TLS certificates and signing keys)')
    .option('--log <nodeDir>', 'verify this replica directory offline instead of asking the nodes (repeat for several)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--result <file>', 'also check a result saved by `mosaik query --save`: included in the log, shares match the commitments and combine to the stated rows')
    .option('--timeout <ms>', 'per request to a node', (v: string) => Number(v), 30_000)
    .action(async (o: { dir?: string; log?: string[]; result?: string; timeout: number }) => {
      let r: AuditReport;
      try {
        r = await auditVerify({ ...(o.dir ? { dir: resolve(o.dir) } : {}), ...(o.log ? { logs: o.log } : {}), ...(o.result ? { result: resolve(o.result) } : {}), timeoutMs: o.timeout });
      } catch (e) {
        console.error(`mosaik audit verify: ${(e as Error).message}`);
        process.exitCode = 2;
        return;
      }
      console.log(r.lines.join('\n'));
      process.exitCode = r.ok ? 0 : 1;
    });
}
