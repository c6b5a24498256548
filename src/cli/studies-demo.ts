// `mosaik demo` (what `npm start` runs): Mosaik's main job on one machine, every step for real.
//
//  1. a local three-node cluster in ./.mosaik/demo (keys kept between runs), three node daemons
//     as separate processes (share store on disk, encrypted; HTTPS API; MPC over TLS 1.3);
//  2. the custodians (CPR register, the health data authority, Statistics Denmark) each generate
//     their synthetic register as a CSV file, validate it against its schema, split it into shares
//     on their own machine and upload each node only its share over pinned TLS;
//  3. a researcher runs the example studies (src/demo/studies.ts): node 0 schedules each query,
//     every node checks it, the nodes compute in MPC, small cells are suppressed inside MPC, and
//     each node sends its share of the aggregates to the researcher, who combines them;
//  4. next to every MPC answer, the plaintext answer computed by DuckDB (SQLite where DuckDB cannot
//     load: src/query/plaintext-reference.ts) directly on the generated data, so the user sees that
//     they agree;
//  5. a second researcher (`statistician`) runs the example statistics of its own signed study
//     (src/cli/stats-demo.ts): a logistic regression, Kaplan–Meier with the log-rank test, and a Cox
//     regression, each beside R.
// Governed throughout (setUpGovernance: the consortium, each custodian's signed policy, optionally
// the consent register, the researchers' signed studies approved by their custodians); afterwards the
// web app runs on the cluster. `mosaik demo --governed` (./governed-demo.ts) walks through the same
// governed flow step by step, each step with the command that does it by hand.
import { COLOCATED_NODE_FLAGS, withColumnMemory } from '../ring/column-memory.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartyId } from '../net/channel.js';
import { createLocalCluster, loadClusterConfig, setNodeHosts, type ClusterConfig } from '../net/keys.js';
import { apiRequest } from '../node/http.js';
import { writeApiPorts } from '../node/daemon.js';
import { generateRegisters } from '../demo/registers.js';
import { writeRegisterCsv } from '../demo/csv.js';
import { STUDIES, type Study } from '../demo/studies.js';
import { openPlainReference, type PlainReference } from '../query/plaintext-reference.js';
import { parseQuery, planAnyQuery, tablesOf, type Display } from '../query/index.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { afterSubmit, messagesPerNode, runRemoteQuery, type RemoteResult } from './query.js';
import { startWebServer } from './web.js';
import { cliSigner } from './identity-defaults.js';
import { ensureLocalIdentities, LOCAL_IDENTITIES, type LocalIdentity } from '../governance/identities.js';
import type { Signer } from '../governance/identity.js';
import { CUSTODIANS } from '../demo/schemas.js';
import { CONSENT_CUSTODIAN, CONSENT_DATASET, DEMO_PURPOSE, demoConsortium, demoPolicies, denominatorId, exampleStudy, statisticsStudy, webStudies } from '../demo/governance.js';
import { Consortium } from '../governance/consortium.js';
import { generateConsentEvents } from '../demo/consent-events.js';
import { rowsInForce, unixSeconds, withUntil } from '../governance/consent.js';
import { signPolicy } from '../governance/policy.js';
import { approveStudy, createStudy, signStudy, studyCustodians, type NewStudy, type SignedStudy } from '../governance/study.js';
import { IDENTITIES_FILE, type IdentitiesFile } from '../governance/identities.js';
import { publishConsent, submitDocument } from './governance-remote.js';
import { runStatisticsExamples, statisticCalls } from './stats-demo.js';
import { startR } from './r-reference.js';
import { CITIZEN_SIDE, CONSENT_CUSTODIAN_DATASETS, setUpCitizens, type DemoCitizens } from './citizens-demo.js';
import { planAnalysis } from '../query/analysis-plan.js';
import { ANALYSIS_SQL } from '../demo/analyses.js';

/** The demo's custodians, each owning its registers. */
export const DEMO_CUSTODIANS: LocalIdentity[] = [
  { name: CUSTODIANS.cpr, role: 'custodian', datasets: ['population', 'emigrations'] },
  { name: CUSTODIANS.health, role: 'custodian', datasets: ['contacts', 'prescriptions', 'deaths'] },
  { name: CUSTODIANS.statistics, role: 'custodian', datasets: ['income'] },
  { name: CONSENT_CUSTODIAN, role: 'custodian', datasets: [CONSENT_DATASET, ...CONSENT_CUSTODIAN_DATASETS] },
];

export interface StudiesDemoOptions {
  dir: string;
  citizens: number;
  seed: number;
  minCellSize: number;
  verbose: boolean;
  log: (line: string) => void;
  /**
   * After the studies, keep the cluster running and serve the web app on this port (0: a free
   * one) until SIGINT/SIGTERM; undefined: stop when the studies are done.
   */
  webPort?: number;
  /**
   * Also the consent register (synthetic citizens' choices): every study run then joins it on the
   * person id inside MPC, which costs a join per query (README, "Governance").
   */
  consent?: boolean;
  /** The nodes on other hosts instead of 127.0.0.1 (bench/netns.ts: each in its own network namespace). */
  network?: DemoNetwork;
}

/**
 * Where the demo's nodes run when not on this host's loopback: the address each is reached at
 * (written into cluster.json), the address it listens on, and the command it is started under.
 */
export interface DemoNetwork {
  hosts: readonly [string, string, string];
  listen: readonly [string, string, string];
  /** Command words before `node …`, e.g. ['ip', 'netns', 'exec', 'n0']. */
  prefix: (party: PartyId) => string[];
  /** Called once cluster.json holds the nodes' addresses and ports, before the nodes start. */
  ready?: (config: ClusterConfig) => Promise<void>;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** The demo consortium's configuration, written into the cluster directory on every run. */
const CONSORTIUM_FILE = 'consortium.json';
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const fmtInt = (n: number) => n.toLocaleString('en-US');

/** Starts the three daemons (with `extra` arguments, e.g. --consortium); `waitUntilUp` resolves once each answers /v1/health. */
export function startNodes(dir: string, config: ClusterConfig, o: Pick<StudiesDemoOptions, 'minCellSize' | 'verbose' | 'log' | 'network'>, extra: string[] = []): { kids: ChildProcess[]; waitUntilUp: () => Promise<void> } {
  const kids = ([0, 1, 2] as PartyId[]).map((p) => {
    const net = o.network;
    const words = [...(net ? net.prefix(p) : []), process.execPath, ...COLOCATED_NODE_FLAGS, MAIN, 'node', '--dir', dir, '--party', String(p), '--min-cell-size', String(o.minCellSize), ...(net ? ['--listen-host', net.listen[p]] : []), ...extra];
    const child = spawn(words[0]!, words.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: withColumnMemory(),
    });
    const name = config.nodes[p].name;
    const forward = (b: Buffer) => {
      if (o.verbose) for (const line of b.toString().split('\n')) if (line.trim()) o.log(`  [${name}] ${line}`);
    };
    child.stdout!.on('data', forward);
    child.stderr!.on('data', (b: Buffer) => {
      const text = b.toString();
      (child as ChildProcess & { errText?: string }).errText = ((child as ChildProcess & { errText?: string }).errText ?? '') + text;
      forward(b);
    });
    return child;
  });
  return { kids, waitUntilUp: () => waitHealthy(kids, config) };
}

async function waitHealthy(kids: ChildProcess[], config: ClusterConfig): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const p of [0, 1, 2] as PartyId[]) {
    for (;;) {
      const kid = kids[p]! as ChildProcess & { errText?: string };
      if (kid.exitCode !== null) throw new Error(`node ${config.nodes[p].name} exited at start-up: ${kid.errText?.trim() ?? ''}`);
      try {
        const r = await apiRequest(config, p, '/v1/health', { timeoutMs: 2000 });
        if (r.status === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`node ${config.nodes[p].name} did not come up within 30 s`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
}

/**
 * One custodian's `mosaik ingest` in its own process (custodians are separate organisations), signed
 * with its own key; with the column memory settings, as README "Running the nodes" advises for ingests
 * (fresh pages cost a fault each on small pages; the file's columns are written once, row by row).
 */
export function ingestProcess(dir: string, register: string, csv: string, version: string, signKey: string): Promise<{ code: number; out: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((ok) => {
    const child = spawn(process.execPath, [MAIN, 'ingest', '--dir', dir, '--schema', `demo:${register}`, '--version', version, '--sign-key', signKey, '--quiet', csv], { stdio: ['ignore', 'pipe', 'pipe'], env: withColumnMemory() });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (code) => ok({ code: code ?? 1, out: out.trim(), ms: performance.now() - t0 }));
  });
}

/**
 * Fresh nodes for a demo run (their keys are kept): no stored versions, log, spent budgets or jobs
 * from before. The old folders are moved into <node>/.trash at once and deleted in the background
 * (the last run's shares are ≈ 430 MB: 0.2 s of unlinking before the nodes could start); the
 * promise settles when they are gone, and a run that stopped before that leaves them to the next.
 */
export function freshNodes(nodeDirs: string[]): Promise<void> {
  const trashes = nodeDirs.map((d) => {
    const trash = join(d, '.trash');
    mkdirSync(trash, { recursive: true });
    for (const sub of ['store', 'ledger', 'governance', 'jobs']) {
      try {
        renameSync(join(d, sub), join(trash, `${sub}-${process.pid}-${Date.now()}`));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return trash;
  });
  return Promise.all(trashes.map((t) => rm(t, { recursive: true, force: true }))).then(() => undefined);
}

export function stopNodes(kids: ChildProcess[]): Promise<void> {
  return Promise.all(
    kids.map(
      (k) =>
        new Promise<void>((ok) => {
          if (k.exitCode !== null || k.signalCode !== null) return ok();
          const t = setTimeout(() => k.kill('SIGKILL'), 5000);
          k.once('exit', () => {
            clearTimeout(t);
            ok();
          });
          k.kill('SIGTERM');
        }),
    ),
  ).then(() => undefined);
}

/** A text table: the first `left` columns (group keys, labels) left-aligned, the rest right-aligned. */
function table(header: string[], rows: string[][], left: number): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (i < left ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('   ');
  return [line(header), '  ' + w.map((n) => '─'.repeat(n)).join('   '), ...rows.map(line)];
}

const show = (v: Display | number | string | null | undefined): string => {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v);
};

/**
 * A protected value agrees with the plaintext when it is within AGREE_SD standard deviations of
 * the protection's noise (for the discrete Laplace, a larger deviation has probability < 1e-6;
 * averages use the delta method). Exact values (no protection, or group keys) must be equal.
 */
const AGREE_SD = 10;
const agrees = (mpc: unknown, plain: unknown, sd: number | undefined) => {
  if (typeof mpc !== 'number' || typeof plain !== 'number') return String(mpc) === String(plain);
  const tol = sd && Number.isFinite(sd) ? AGREE_SD * sd : 0;
  return Math.abs(mpc - plain) <= tol + 1e-3 + 1e-4 * Math.abs(plain);
};
const margin = (h: number | undefined) => (h && Number.isFinite(h) && h > 0 ? `±${Number(h.toPrecision(2)).toLocaleString('en-US')}` : '');

/** A study query's plan (over one register or several), from the public schemas. */
export function planOf(sql: string, schemas: Map<string, DatasetSchema>, codeLists: Map<string, CodeList>) {
  return planAnyQuery(parseQuery(sql), new Map([...schemas].map(([n, schema]) => [n, { schema, codeLists: [...codeLists.values()] }])));
}

/**
 * Progress of a query that takes longer than a second: node 0's phase and percentage, a line when
 * the phase changes or every few seconds, never in the first second (short queries print nothing).
 */
export function progressLine(o: Pick<StudiesDemoOptions, 'log'>, everyMs = 3000, clock: () => number = () => performance.now()): (nodes: { node: string; status: string; progress?: string }[]) => void {
  const t0 = clock();
  let last = 0, lastPhase = '';
  return (nodes) => {
    const n = nodes[0];
    if (!n?.progress || n.status !== 'running') return;
    const now = clock();
    const phase = n.progress.replace(/\d+ %/, '');
    if (now - t0 < 1000 || (phase === lastPhase && now - last < everyMs) || now - last < 1000) return;
    last = now;
    lastPhase = phase;
    o.log(`  … ${secs(now - t0)}: ${n.progress}`);
  };
}

interface StudyOutcome {
  agree: boolean;
  ms: number;
  epsilon: number;
  /** Largest |protected − plaintext| relative to the plaintext, over the study's released counts and means. */
  worstRelative: number;
}

async function runStudy(
  study: Study,
  config: ClusterConfig,
  signer: Signer,
  signed: SignedStudy,
  version: string,
  db: PlainReference,
  schemas: Map<string, DatasetSchema>,
  codeLists: Map<string, CodeList>,
  o: StudiesDemoOptions,
): Promise<StudyOutcome> {
  o.log('');
  o.log(`▸ ${study.title}`);
  o.log(`  ${study.sql}`);
  const t0 = performance.now();
  // Every register was uploaded as `version`; a query over several reads each one's.
  const at = (sql: string) => Object.fromEntries(tablesOf(parseQuery(sql)).map((n) => [n, version]));
  // Each query's plaintext reference (DuckDB or SQLite, in this process) runs once the nodes have the job, so
  // that they compute while it does instead of waiting for it; its time is measured on its own.
  let plainMs = 0;
  const alongside = async <T>(queryId: string, sql: string, reference: () => Promise<T>): Promise<[RemoteResult, T]> => {
    const { result: mpc } = await afterSubmit((onSubmitted) => runRemoteQuery({ config, sql, signer, versions: at(sql), minCellSize: o.minCellSize, study: signed, queryId, onSubmitted, onNodes: progressLine(o) }));
    const tp = performance.now();
    const plain = await reference();
    plainMs += performance.now() - tp;
    return [await mpc, plain];
  };
  const [res, plain] = await alongside(study.id, study.sql, () => db.query(study.sql));
  const [den, plainDen] = study.denominator ? await alongside(denominatorId(study.id), study.denominator.sql, () => db.query(study.denominator!.sql)) : [null, null];
  const ms = performance.now() - t0;
  // Group keys lead the output columns in both engines (the schema is public: plan it here too).
  const keyCount = planOf(study.sql, schemas, codeLists).plan.keys.length;
  const keyOf = (r: readonly unknown[]) => r.slice(0, keyCount).map(String).join('|');
  const plainByKey = new Map(plain.rows.map((r) => [keyOf(r), r]));
  const denIdx = new Map((den?.rows ?? []).map((r, i) => [keyOf(r), i]));
  const plainDenByKey = new Map((plainDen?.rows ?? []).map((r) => [keyOf(r), r]));
  let agree = true;
  let worst = 0;
  const rows: string[][] = [];
  res.rows.forEach((r, ri) => {
    const p = plainByKey.get(keyOf(r));
    const err = res.errors?.[ri];
    const ok = !!p && r.every((v, i) => agrees(v, p[i], err?.[i]?.sd));
    const cells: string[] = r.slice(0, keyCount).map(show);
    r.slice(keyCount).forEach((v, k) => {
      const i = keyCount + k;
      cells.push(show(v), show((p?.[i] as number | string | null | undefined) ?? null), margin(err?.[i]?.half95));
      if (p && typeof v === 'number' && typeof p[i] === 'number' && p[i] !== 0) worst = Math.max(worst, Math.abs(v - Number(p[i])) / Math.abs(Number(p[i])));
    });
    if (study.denominator) {
      const di = denIdx.get(keyOf(r));
      const d = di === undefined ? undefined : den!.rows[di];
      const pd = plainDenByKey.get(keyOf(r));
      const pct = d ? (100 * Number(r[keyCount])) / Number(d[keyCount]) : NaN;
      const ppct = pd && p ? (100 * Number(p[keyCount])) / Number(pd[keyCount]) : NaN;
      cells.push(Number.isFinite(pct) ? pct.toFixed(2) : '—', Number.isFinite(ppct) ? ppct.toFixed(2) : '—');
      // A denominator cell withheld inside MPC (its noisy count below the minimum) is judged as a
      // withheld study cell is below: wrong only if the plaintext count is far above the minimum.
      if (di === undefined && pd) agree &&= Number(pd[keyCount]) < den!.minCellSize + AGREE_SD * (den!.errors?.[0]?.[keyCount]?.sd ?? 0);
      else agree &&= agrees(d?.[keyCount], pd?.[keyCount], di === undefined ? undefined : den!.errors?.[di]?.[keyCount]?.sd);
    }
    agree &&= ok;
    cells.push(ok ? 'yes' : 'NO');
    rows.push(cells);
  });
  const aggNames = res.columns.slice(keyCount);
  const protectedRun = res.protection.kind === 'dp';
  const header = [
    ...res.columns.slice(0, keyCount),
    ...aggNames.flatMap((c) => [`${c} (MPC${protectedRun ? ', protected' : ''})`, `${c} (plaintext)`, protectedRun ? '95 %' : '']),
    ...(study.denominator ? [`${study.denominator.label} (MPC)`, `${study.denominator.label} (plaintext)`] : []),
    'agree',
  ];
  for (const l of table(header, rows, keyCount)) o.log(l);
  // Cells the plaintext has but MPC withheld must all be small (suppressed inside MPC, on the noisy count).
  const shown = new Set(res.rows.map(keyOf));
  const withheld = plain.rows.filter((r) => !shown.has(keyOf(r)));
  const countIdx = keyCount; // every study's first aggregate is its COUNT
  const countSd = res.errors?.[0]?.[countIdx]?.sd ?? 0;
  const wronglyHidden = withheld.filter((r) => Number(r[countIdx]) >= res.minCellSize + AGREE_SD * countSd);
  if (wronglyHidden.length) agree = false;
  if (res.suppressedCount) o.log(`  ${res.suppressedCount} cell(s) counting fewer than ${res.minCellSize} persons${protectedRun ? ' (after noise)' : ''} suppressed inside MPC: ${res.suppressed.map((s) => Object.values(s).join('/')).join(', ')}`);
  if (res.protectionText) o.log(`  ${res.protectionText.split('. ')[0]}.`);
  const spent = study.epsilon + (study.denominator?.epsilon ?? 0);
  o.log(`  MPC ${secs(ms)}, ${fmtInt(messagesPerNode(res.parts) + (den ? messagesPerNode(den.parts) : 0))} messages per node (${db.engine} on the plaintext: ${plainMs.toFixed(0)} ms, ×${(ms / Math.max(plainMs, 0.1)).toFixed(0)}) · ${res.rows.length} cells released · epsilon spent ${Number(spent.toPrecision(3))}${res.privacy ? `, ${Number(res.privacy.remaining.epsilon.toPrecision(3))} left` : ''} · ${agree ? `all agree with the plaintext${protectedRun ? ` within the protection's noise (largest deviation ${(100 * worst).toFixed(2)} %)` : ''}` : 'DISAGREES with the plaintext'}`);
  return { agree, ms, epsilon: spent, worstRelative: worst };
}

/**
 * The custodians' part: each register written as CSV in its custodian's folder, then (once the
 * nodes are up) validated, shared and uploaded by `mosaik ingest` in one process per register, all
 * at once, each signed with its custodian's key (`keyOf`). Resolves when the nodes are up and the
 * uploads started; `done` settles when every upload is done (and throws for one that failed).
 */
export async function ingestRegisters(dir: string, regs: ReturnType<typeof generateRegisters>, version: string, keyOf: (register: string) => string, waitUntilUp: () => Promise<void>, o: Pick<StudiesDemoOptions, 'minCellSize' | 'log'>): Promise<{ done: Promise<void> }> {
  let t = performance.now();
  const files: [string, string][] = [];
  for (const reg of regs.all) {
    const cdir = join(dir, 'custodians', reg.schema.custodian);
    mkdirSync(cdir, { recursive: true });
    const csv = join(cdir, `${reg.schema.name}.csv`);
    await writeRegisterCsv(reg, regs.codeLists, csv);
    files.push([reg.schema.name, csv]);
  }
  o.log(`• custodians: wrote ${files.length} CSV files in ${secs(performance.now() - t)} (${files.map(([, f]) => f.slice(dir.length + 1)).join(', ')})`);
  await waitUntilUp();
  o.log(`• three node daemons up (share store on disk, encrypted; HTTPS API; policy: cells < ${o.minCellSize} suppressed)`);
  t = performance.now();
  const ingests = Promise.all(files.map(([name, csv]) => ingestProcess(dir, name, csv, version, keyOf(name))));
  const done = ingests.then((results) => {
    for (const [k, r] of results.entries()) {
      const summary = r.out.split('\n').filter((l) => l.startsWith('ingest:')).pop() ?? r.out;
      o.log(`• ${regs.all[k]!.schema.custodian}: ${summary.replace(/^ingest: /, '')} — ${secs(r.ms)} with validation`);
      if (r.code !== 0) throw new Error(`ingest of ${files[k]![0]} failed (exit ${r.code}):\n${r.out}`);
    }
    o.log(`• custodians done in ${secs(performance.now() - t)} (in parallel, each signed with its own key)`);
  });
  done.catch(() => {}); // the caller awaits it later (an early failure is not an unhandled rejection)
  return { done };
}

/**
 * The consortium's documents, as its members would submit them: each custodian's signed policy,
 * the consent register (synthetic citizens' choices) with its signed update, the example study
 * signed by the epidemiologist and approved by every custodian whose register it reads, and two
 * studies of the web app's `researcher` (one approved by the CPR register, one waiting for the
 * health data authority). Returns the persons the consent filter leaves out now (for the reference).
 */
async function setUpGovernance(g: {
  config: ClusterConfig;
  consortium: Consortium;
  signerOf: (name: string) => Signer;
  persons: ArrayLike<number>;
  seed: number;
  version: string;
  declared: Map<string, Set<string>>;
  /** What the statistics study's analysis table reads. */
  statsReads: Map<string, Set<string>>;
  minCellSize: number;
  /** Publish the consent register now (mosaik demo --consent): every run then joins it. */
  publishConsent: boolean;
}): Promise<{ study: SignedStudy; stats: SignedStudy; approvedBy: string[]; consent: { events: number; excluded: number[] } | null }> {
  const now = new Date();
  for (const p of demoPolicies(g.minCellSize)) await submitDocument(g.config, 'policy', signPolicy(p, g.consortium, g.signerOf(p.custodian)), g.signerOf(p.custodian));
  let consent: { events: number; excluded: number[] } | null = null;
  if (g.consortium.consent && g.publishConsent) {
    const events = generateConsentEvents(g.persons, g.consortium.purposes, { seed: g.seed });
    await publishConsent({ config: g.config, consortium: g.consortium, events, changes: [], signer: g.signerOf(CONSENT_CUSTODIAN), version: `consent-${g.version}` });
    const excluded = rowsInForce(withUntil(events), DEMO_PURPOSE, unixSeconds(now))
      .filter((r) => !r.granted)
      .map((r) => r.person);
    consent = { events: events.length, excluded };
  }
  const register = async (n: NewStudy, approvers: 'all' | string[]): Promise<{ signed: SignedStudy; by: string[] }> => {
    const signed = signStudy(createStudy(n), g.signerOf(n.researcher));
    await submitDocument(g.config, 'study', signed, g.signerOf(n.researcher));
    const by = approvers === 'all' ? [...studyCustodians(signed.study, g.consortium).keys()] : approvers;
    for (const c of by) await submitDocument(g.config, 'approval', approveStudy(signed, g.consortium, g.signerOf(c), { reason: 'within the consortium’s public-health purpose and this register’s policy' }), g.signerOf(c));
    return { signed, by };
  };
  const main = await register(exampleStudy('epidemiologist', STUDIES, g.declared, now), 'all');
  const stats = await register(statisticsStudy('statistician', statisticCalls(), g.statsReads, now), 'all');
  const web = webStudies('researcher', now);
  await register(web.approved, 'all');
  await register(web.waiting, []);
  return { study: main.signed, stats: stats.signed, approvedBy: main.by, consent };
}

/** The web app on the demo cluster, until Ctrl-C (SIGINT) or SIGTERM. */
async function serveUntilStopped(dir: string, o: StudiesDemoOptions, citizens: DemoCitizens): Promise<void> {
  const web = await startWebServer({ dir, port: o.webPort, log: o.verbose ? o.log : () => {} });
  o.log('');
  o.log(`▶ the web app runs on the demo cluster: ${web.url}`);
  o.log(`  sign in with a key file from ${join(dir, 'identities')}: researcher.ed25519.key.pem (a researcher with its whole budget),`);
  o.log(`  cpr / sundhedsdatastyrelsen / dst.ed25519.key.pem (the custodians), auditor.ed25519.key.pem (an auditor; the log needs no key)`);
  for (const l of citizens.lines) o.log(l);
  for (const l of await citizens.serveEidLogin(web)) o.log(l);
  o.log('  Ctrl-C stops the app and the three nodes.');
  await new Promise<void>((ok) => {
    const stop = () => ok();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  o.log('stopping the web app and the nodes …');
  await citizens.stop();
  await web.close();
}

export async function runStudiesDemo(o: StudiesDemoOptions): Promise<boolean> {
  const t0 = performance.now();
  // R (the statistics' reference) starts now, in the background: loading its survival package takes
  // ≈ 2 CPU-seconds, and that it loaded is also whether R is available here.
  const r = startR();
  o.log('mosaik demo: three compute nodes, three custodians, one researcher — secret-shared registers, TLS 1.3 with pinned keys');
  const { dir, nodeDirs } = await createLocalCluster(o.dir);
  await writeApiPorts(dir);
  if (o.network) setNodeHosts(dir, o.network.hosts);
  const emptied = freshNodes(nodeDirs);
  // Who acts: each custodian with its own key (it may upload its own registers only), and the
  // epidemiologist who runs the example studies. The cluster's own 'researcher' identity is left for
  // you to query with afterwards (mosaik query --dir …), with its whole privacy budget.
  const keys = ensureLocalIdentities(dir, [...LOCAL_IDENTITIES, ...DEMO_CUSTODIANS, { name: 'epidemiologist', role: 'researcher' }, { name: 'statistician', role: 'researcher' }, ...CITIZEN_SIDE]);
  const signerOf = (name: string) => cliSigner({ dir, key: keys.get(name)!, role: 'researcher', name });
  const researcher = signerOf('epidemiologist');
  // The consortium: its purposes, the cluster's identities as its members, the consent register.
  const members = (JSON.parse(readFileSync(join(dir, IDENTITIES_FILE), 'utf8')) as IdentitiesFile).members;
  // The consent register is named always (citizens change their consent in the web app); without
  // --consent it is published only after the studies (src/cli/citizens-demo.ts), so they run without its join.
  writeFileSync(join(dir, CONSORTIUM_FILE), JSON.stringify(demoConsortium(members, true), null, 2) + '\n');
  const consortium = Consortium.load(join(dir, CONSORTIUM_FILE));
  const config = loadClusterConfig(join(dir, 'cluster.json'));
  o.log(`• cluster in ${dir}: ${config.nodes.map((n) => `${n.name} ${o.network ? n.host : ''}:${n.port}`).join(', ')}`);
  await o.network?.ready?.(config);
  const { kids, waitUntilUp } = startNodes(dir, config, o, ['--consortium', join(dir, CONSORTIUM_FILE)]);
  try {
    let t = performance.now();
    const regs = generateRegisters({ citizens: o.citizens, seed: o.seed });
    o.log(`• custodians: generated synthetic registers for ${fmtInt(o.citizens)} citizens in ${secs(performance.now() - t)} (${regs.all.map((r) => `${r.schema.name} ${fmtInt(r.length)}`).join(', ')} rows)`);
    const version = `demo-${o.citizens}-${o.seed}`;
    const keyOf = (register: string) => keys.get(DEMO_CUSTODIANS.find((c) => c.datasets!.includes(register))!.name)!;
    // Each custodian validates, shares and uploads in its own process, all at once; meanwhile this
    // process (standing in for the check against plaintext) loads the reference database.
    const ingests = (await ingestRegisters(dir, regs, version, keyOf, waitUntilUp, o)).done;
    t = performance.now();
    const schemas = new Map(regs.all.map((r) => [r.schema.name, r.schema]));
    const used = new Map<string, Set<string>>();
    for (const q of STUDIES.flatMap((st) => [st, ...(st.denominator ? [st.denominator] : [])])) {
      const { plan, join } = planOf(q.sql, schemas, regs.codeLists);
      const reads: [string, string[]][] = join ? join.tables.map((t) => [t.dataset.name, t.reads]) : [[q.dataset, plan.columns]];
      for (const [name, cols] of reads) used.set(name, new Set([...(used.get(name) ?? []), ...cols]));
    }
    const declared = new Map([...used].map(([n, cols]) => [n, new Set(cols)])); // what the study declares it reads
    for (const cols of used.values()) cols.add('person_id'); // the reference applies consent by person
    const { ref: db, fallback } = await openPlainReference(regs.all, regs.codeLists, used);
    const dbMs = performance.now() - t;
    await ingests;
    if (fallback) o.log(`• ${fallback}`);
    o.log(`• plaintext reference loaded into ${db.engine} meanwhile in ${secs(dbMs)} (for comparison only; never on a node)`);
    t = performance.now();
    // What the statistics' analysis table reads (one table for all three calls), planned on the public schemas.
    const registers = new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }]));
    const statsReads = new Map(planAnalysis(ANALYSIS_SQL, registers).join.tables.map((tb) => [tb.dataset.name, new Set(tb.reads)]));
    const gov = await setUpGovernance({ config, consortium, signerOf, persons: regs.people.id.subarray(0, regs.people.count), seed: o.seed, version, declared, statsReads, minCellSize: o.minCellSize, publishConsent: !!o.consent });
    if (gov.consent) await db.excludePersons(gov.consent.excluded);
    const consentNote = gov.consent
      ? `consent register: ${fmtInt(gov.consent.events)} events, ${fmtInt(gov.consent.excluded.length)} citizens withdrew from ${DEMO_PURPOSE} research (left out inside MPC; the reference leaves them out too)`
      : `no consent register (${DEMO_PURPOSE} research is opt-out; mosaik demo --consent adds one)`;
    o.log(`• consortium '${consortium.name}' (${consortium.members.size} members, ${consortium.purposes.length} purposes): each custodian's policy signed and registered; ${consentNote}`);
    o.log(`• study '${gov.study.study.id}' (${gov.study.study.queries.length} queries, epsilon ${gov.study.study.privacy!.epsilon}) signed by ${researcher.name}, approved by ${gov.approvedBy.join(', ')} — ${secs(performance.now() - t)}`);
    let all = true;
    const times: [string, number][] = [];
    let spent = 0;
    for (const s of STUDIES) {
      const r = await runStudy(s, config, researcher, gov.study, version, db, schemas, regs.codeLists, o);
      all &&= r.agree;
      spent += r.epsilon;
      times.push([s.id, r.ms]);
    }
    db.close();
    // The statistics (issue 13): another researcher, its own study and budget.
    o.log('');
    o.log(`• study '${gov.stats.study.id}' (${gov.stats.study.queries.length} statistics, epsilon ${gov.stats.study.privacy!.epsilon}) signed by statistician, approved by every custodian whose register it reads`);
    const statsOk = await runStatisticsExamples({ r, config, signer: signerOf('statistician'), version, regs, minCellSize: o.minCellSize, log: o.log, study: gov.stats, ...(gov.consent ? { excluded: new Set(gov.consent.excluded) } : {}) });
    all &&= statsOk;
    o.log('');
    o.log(`${all ? '✔ every released cell agrees with the plaintext within the noise the protection added' : '✘ some results disagree with the plaintext'}; studies: ${times.map(([id, ms]) => `${id} ${secs(ms)}`).join(', ')}; total ${secs(performance.now() - t0)}`);
    o.log(`  output protection: every number above carries differential-privacy noise drawn inside MPC; researcher 'epidemiologist' spent epsilon ${Number(spent.toPrecision(3))} of 1 (README, "Security model").`);
    if (o.webPort !== undefined && all) await serveUntilStopped(dir, o, await setUpCitizens({ dir, config, consortium, regs, custodian: signerOf(CONSENT_CUSTODIAN), consentPublished: !!gov.consent, seed: o.seed, log: o.log }));
    return all;
  } finally {
    r.close();
    await stopNodes(kids);
    await emptied.catch(() => {}); // a folder that could not be deleted is tried again next run
  }
}
