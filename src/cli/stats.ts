// `mosaik stats <function> --dir <cluster> --data "<SQL>" --formula "…"`: the researcher's side of a
// statistics call (src/stats). Signs the call (ad hoc, or one of a registered study's statistics on
// a governed cluster), submits it to node 0 like a query, follows the job at the three nodes, opens
// each node's sealed share pair of the released lanes with the request's private result key,
// combines them here and turns them into R's table (src/stats/service.ts finishStatistic). Only
// this machine ever sees the released numbers; no node sees any of them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadClusterConfig } from '../net/keys.js';
import type { JobResult } from '../node/jobs.js';
import { combineLanes } from '../query/assemble.js';
import type { Protection } from '../node/privacy.js';
import type { ResultGovernance } from '../node/job-governance.js';
import { newResultKeyPair } from '../governance/sealed.js';
import { parseSignedStudy, signAdhocRequest, signQueryRequest, type SignedStudy } from '../governance/study.js';
import { STAT_NAMES, type StatRequest, type StatResult } from '../stats/functions.js';
import { decodeStatistic, parseStatistic, rereadStatistic, statisticText } from '../stats/statistic.js';
import { cliSigner } from './identity-defaults.js';
import { checkAttestations, fetchRegisters, protectionLine, QueryFailed, submitAndCollect, type Registers, type RequestCommon } from './query.js';

export interface StatsOptions extends RequestCommon {
  /** The call (ad hoc); governed: taken from the study (RequestCommon.study, queryId). */
  request?: StatRequest;
}

export interface RemoteStat {
  result: StatResult;
  /** The call as signed and run (canonical JSON). */
  statistic: string;
  job: string;
  versions: Record<string, string>;
  registers: Registers;
  protection: Protection;
  minCellSize: number;
  privacy?: JobResult['privacy'];
  governance?: ResultGovernance;
  parts: [JobResult, JobResult, JobResult];
  /** Seconds from submission to the combined result. */
  seconds: number;
}

/** The statistic text of one of a study's queries. */
export function studyStatistic(study: SignedStudy, queryId?: string): { queryId: string; statistic: string } {
  const stats = study.study.queries.filter((q) => q.statistic !== undefined);
  const q = queryId ? study.study.queries.find((x) => x.id === queryId) : stats.length === 1 ? stats[0] : undefined;
  if (!q) throw new QueryFailed(queryId ? `study '${study.study.id}' has no query '${queryId}'` : `study '${study.study.id}' has ${stats.length} statistics (${stats.map((x) => x.id).join(', ')}): pass --query-id`);
  if (q.statistic === undefined) throw new QueryFailed(`query '${q.id}' of study '${study.study.id}' is SQL: run it with mosaik query`);
  return { queryId: q.id, statistic: q.statistic };
}

/** Signs and runs a statistic at the cluster; returns R's table combined from the nodes' shares. */
export async function runRemoteStat(o: StatsOptions): Promise<RemoteStat> {
  const t0 = performance.now();
  const config = o.config ?? loadClusterConfig(join(o.dir ?? '.', 'cluster.json'));
  const keys = newResultKeyPair();
  const ro = { cluster: config.cluster, resultKey: keys.publicKey, ...(o.versions ? { versions: o.versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}) };
  let text: string;
  let request;
  if (o.study) {
    const s = studyStatistic(o.study, o.queryId);
    text = s.statistic;
    request = signQueryRequest(o.study, s.queryId, o.signer, ro);
  } else {
    if (!o.request) throw new QueryFailed('give the statistics call (or a study)');
    text = statisticText(o.request);
    request = signAdhocRequest(text, o.signer, { ...ro, ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}) }, 'statistic');
  }
  const { id, versions, parts } = await submitAndCollect(config, request, keys.privateKey, o);
  parts.forEach((r, i) => {
    if (r.statistic !== text) throw new QueryFailed(`node ${i} ran ${r.statistic === undefined ? 'a query, not a statistic' : `another statistic: ${r.statistic}`}`);
  });
  const registers = await fetchRegisters(config, versions);
  const governance = o.study ? checkAttestations(config, parts) : undefined;
  const minCellSize = parts[0].minCellSize;
  // The nodes planned the call on the same public schemas: plan it here to decode the lanes.
  const p = parts[0].protection;
  const result = decodeStatistic(text, new Map(Object.entries(registers)), minCellSize, combineLanes(parts), p.kind === 'dp' ? p : null);
  return {
    result, statistic: text, job: id, versions, registers, protection: p, minCellSize, parts, seconds: (performance.now() - t0) / 1000,
    ...(parts[0].privacy ? { privacy: parts[0].privacy } : {}),
    ...(governance ? { governance } : {}),
  };
}

/**
 * The same released lanes read as another function whose job is identical (e.g. survdiff from a
 * survfit's life table): no second run, no further privacy cost. Throws if the jobs differ.
 */
export function reread(r: RemoteStat, fn: StatRequest['fn']): StatResult {
  const p = r.protection;
  return rereadStatistic(r.statistic, fn, new Map(Object.entries(r.registers)), r.minCellSize, combineLanes(r.parts), p.kind === 'dp' ? p : null);
}

/** What `mosaik stats --json` prints (the shares and schemas left out). */
export function statJson(r: RemoteStat): Record<string, unknown> {
  const { parts: _p, registers: _r, ...shown } = r;
  return shown;
}

/** The call from the command line: --formula, or Surv(time, event) ~ group from --time/--event/--group. */
export function requestFromArgs(fn: string, o: { data?: string; formula?: string; family?: string; time?: string; event?: string; group?: string; bin?: number; breaks?: string; probs?: string }): StatRequest {
  if (!(STAT_NAMES as readonly string[]).includes(fn)) throw new QueryFailed(`unknown statistic '${fn}' (${STAT_NAMES.join(', ')})`);
  if (!o.data) throw new QueryFailed('--data "<SQL>" (the analysis table: SQL without aggregation) is required');
  const data = o.data.startsWith('@') ? readFileSync(resolve(o.data.slice(1)), 'utf8') : o.data;
  let formula = o.formula;
  if (!formula) {
    if (o.time && o.event) formula = `Surv(${o.time}, ${o.event}) ~ ${o.group ?? '1'}`;
    else throw new QueryFailed('--formula "y ~ x1 + x2" is required (survival: or --time t --event e [--group g])');
  }
  const nums = (s: string | undefined, what: string) => {
    if (s === undefined) return undefined;
    const v = s.split(',').map((x) => Number(x.trim()));
    if (v.some((x) => !Number.isFinite(x))) throw new QueryFailed(`${what} must be numbers separated by commas`);
    return v;
  };
  const breaks = nums(o.breaks, '--breaks'), probs = nums(o.probs, '--probs');
  if (o.family !== undefined && o.family !== 'binomial' && o.family !== 'poisson') throw new QueryFailed('--family must be binomial or poisson');
  return parseStatistic(statisticText({
    fn: fn as StatRequest['fn'], data, formula,
    ...(o.family ? { family: o.family as 'binomial' | 'poisson' } : {}),
    ...(o.bin !== undefined ? { bin: o.bin } : {}),
    ...(breaks ? { breaks } : {}),
    ...(probs ? { probs } : {}),
  }));
}

/** Under protection: each released estimate with its 95 % margin from the noise, as lines. */
export function marginLines(r: StatResult): string[] {
  if (!r.errors) return [];
  const keys = Object.keys(r.errors).filter((k) => Number.isFinite(r.values[k]) && r.errors![k]!.half95 > 0);
  if (!keys.length) return [];
  const show = (x: number) => Number(x.toPrecision(4)).toString();
  return ['95 % margin of the protection\'s noise (delta method):', ...keys.slice(0, 40).map((k) => `  ${k.padEnd(28)} ${show(r.values[k]!)} ± ${show(r.errors![k]!.half95)}`), ...(keys.length > 40 ? [`  … and ${keys.length - 40} more (--json)`] : [])];
}

export function registerStatsCommand(program: Command, parse: { int: (what: string, min: number, max?: number) => (v: string) => number; num: (what: string) => (v: string) => number }): void {
  program
    .command('stats')
    .description(`run a statistic on an analysis table in MPC and print R's table: ${STAT_NAMES.join(', ')}`)
    .argument('[function]', 'the statistic (governed: omit it and give --study)')
    .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
    .option('--data <sql>', 'the analysis table: SQL without aggregation (joins, EXISTS, age(), date differences); @file reads it from a file')
    .option('--formula <formula>', 'R formula over its columns, e.g. "t2d ~ age + sex + factor(q)", "Surv(days, died) ~ t2d"')
    .option('--family <family>', 'glm: binomial (logistic) or poisson (rates: add offset(log(exposure)) to the formula)')
    .option('--time <column>', 'survival: the follow-up time column (with --event, instead of --formula)')
    .option('--event <column>', 'survival: the event column (bool)')
    .option('--group <column>', 'survival: the grouping column')
    .option('--bin <width>', 'survival: time interval width in the time column\'s units (e.g. 30 for months of days)', parse.int('bin', 1))
    .option('--breaks <list>', 'hist: bin edges, e.g. 0,20,40,60,80,120')
    .option('--probs <list>', 'quantile: probabilities, e.g. 0.1,0.5,0.9')
    .option('--epsilon <x>', 'differential privacy: epsilon this run spends of your budget (default: the nodes\' default)', parse.num('epsilon'))
    .option('--min-cell-size <n>', 'smallest cell released (not below the nodes\' policy)', parse.int('min cell size', 1))
    .option('--version <name=version...>', 'register versions, e.g. population=v1 (default: the latest of each)')
    .option('--study <file>', 'governed cluster: the registered study whose statistic to run')
    .option('--query-id <id>', 'governed cluster: which of the study\'s statistics')
    .option('--key <file>', 'the researcher\'s Ed25519 private key (default: <dir>/identities/researcher.ed25519.key.pem)')
    .option('--timeout <ms>', 'give up after this long', parse.int('timeout', 1), 1_800_000)
    .option('--json', 'print the result as JSON')
    .option('--plot <file.svg>', 'draw the result as SVG: Kaplan–Meier curves (survfit), forest plots (glm, coxph, oddsratio, lm), histograms (hist)')
    .action(async (fn: string | undefined, o: { dir: string; data?: string; formula?: string; family?: string; time?: string; event?: string; group?: string; bin?: number; breaks?: string; probs?: string; epsilon?: number; minCellSize?: number; version?: string[]; study?: string; queryId?: string; key?: string; timeout: number; json?: boolean; plot?: string }) => {
      const dir = resolve(o.dir);
      const study = o.study ? parseSignedStudy(JSON.parse(readFileSync(resolve(o.study), 'utf8'))) : undefined;
      const request = study ? undefined : requestFromArgs(fn ?? '', o);
      const versions = o.version ? Object.fromEntries(o.version.map((v) => {
        const [name, ver] = v.split('=');
        if (!name || !ver) throw new QueryFailed(`--version ${v}: write register=version`);
        return [name, ver];
      })) : undefined;
      const r = await runRemoteStat({
        dir, signer: cliSigner({ dir, ...(o.key ? { key: resolve(o.key) } : {}), role: 'researcher' }),
        ...(request ? { request } : {}), ...(study ? { study, ...(o.queryId ? { queryId: o.queryId } : {}) } : {}),
        ...(versions ? { versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}), ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}),
        timeoutMs: o.timeout, onProgress: (m) => console.error(`  ${m}`),
      });
      if (o.plot) {
        const { writePlot } = await import('./stats-plot.js');
        await writePlot(r.result, resolve(o.plot));
        console.error(`plot written to ${resolve(o.plot)}`);
      }
      if (o.json) {
        console.log(JSON.stringify(statJson(r), (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
        return;
      }
      console.log(r.result.text);
      for (const l of marginLines(r.result)) console.log(l);
      for (const n of r.result.notes) console.error(`note: ${n}`);
      console.error(protectionLine(r));
      if (r.governance) console.error(`study '${r.governance.study}' statistic '${r.governance.query}': authorized by all three nodes (attestations verified)`);
      console.error(`job ${r.job} on ${Object.entries(r.versions).map(([n, v]) => `${n}@${v}`).join(', ')}: ${r.seconds.toFixed(2)} s; result combined here from the three nodes' sealed shares`);
    });
}
