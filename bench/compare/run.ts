// Side-by-side benchmark (issue 7): the same workloads in Mosaik, MP-SPDZ, MPyC, JIFF and, for the
// statistics, plaintext DuckDB, each with three parties on this machine's loopback, in one run.
//
//   npm run build && node dist/bench/compare/run.js [options]
//     --sizes 16,18,20,22         log2 sizes of the main table (the issue's 2^16 .. 2^22)
//     --small-sizes 8,10,12,14    log2 sizes also run by every system but JIFF, so that MPyC has
//                                 a Mosaik figure at the same n
//     --jiff-sizes 6,8,10,12,14   log2 sizes for JIFF (Mosaik runs them too)
//     --systems mosaik,mosaik-sql,mpspdz,mpyc,jiff,jiff-24,duckdb
//     --workloads mul,lt63,lt64,lt32,meanvar,groupsum,chain
//                                 (chain: CHAIN_LENGTH = 200 dependent products, one round each, at the small
//                                 sizes only: what a round costs; Mosaik and MP-SPDZ)
//     --reps 3                    timed runs per cell after the warm-up (best is reported)
//     --warmup 5                  untimed runs before them in Mosaik and MP-SPDZ, in the same
//                                 processes (a Node process reaches its steady speed over the first
//                                 few runs: JIT, heap growth; MP-SPDZ's runs are flat from the first);
//                                 1 with --quick
//     --rounds 1                  every cell measured this many times, the systems in turn and in
//                                 alternating order (A B, B A, …), so that a machine whose speed
//                                 drifts over minutes favours no system; best of all rounds reported,
//                                 each round's ratio to Mosaik listed
//     --slow-reps 1               the same for MPyC and JIFF (their warm-up is on <= 64 / 8 elements)
//     --budget 120                seconds: a system stops growing n once one timed run of the next
//                                 size is estimated (linear in n) to take longer than this
//     --quick                     small sizes, one timed run, budget 20 s: checks that all runs
//     --out <file.json>           all measurements (default <tmp>/mosaik-compare/results.json)
//     --md <file.md>              also write the markdown tables there
//   Peers not in this repository are found through MPSPDZ_PATH and MPYC_PATH (bench/README.md);
//   when unset, that peer is skipped with a message saying so. MOSAIK_CMP_GROUPSUM=eq makes MPyC and
//   MP-SPDZ compute the grouped sum with 10 secure equality tests per row instead of their faster
//   one-hot constructions (Lagrange polynomials in MPyC, one bit decomposition in MP-SPDZ).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { runDuckdb } from './duckdb.js';
import { CHAIN_LENGTH, expectedAnswers, type Expected, generateData, log, type Measurement, SEED, Skip, SYSTEMS, type SystemId, WORKLOADS, type WorkloadId } from './common.js';
import { runJiff, jiffAvailable } from './jiff.js';
import { runMosaik } from './mosaik.js';
import { compileFlags, mpspdzAvailable, runMpspdz } from './mpspdz.js';
import { mpycAvailable, runMpyc } from './mpyc.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const list = (s: string | undefined, dflt: string) => (s ?? dflt).split(',').map((v) => v.trim()).filter(Boolean);
const mainSizes = list(opt('sizes'), quick ? '10,12' : '16,18,20,22').map(Number);
const smallSizes = list(opt('small-sizes'), quick ? '6,8' : '8,10,12,14').map(Number);
const jiffSizes = list(opt('jiff-sizes'), quick ? '6,8' : '6,8,10,12,14').map(Number);
const systems = list(opt('systems'), SYSTEMS.join(',')) as SystemId[];
const workloads = list(opt('workloads'), WORKLOADS.map((w) => w.id).join(',')) as WorkloadId[];
const reps = Number(opt('reps') ?? (quick ? 1 : 3));
const warmup = Number(opt('warmup') ?? (quick ? 1 : 5));
if (!Number.isInteger(warmup) || warmup < 1) throw new Error(`--warmup must be a whole number ≥ 1, got ${opt('warmup')}`);
const rounds = Number(opt('rounds') ?? 1);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1, got ${opt('rounds')}`);
const slowReps = Number(opt('slow-reps') ?? 1);
const repsOf = (s: SystemId) => (s === 'mpyc' || s.startsWith('jiff') ? slowReps : reps);
const budget = Number(opt('budget') ?? (quick ? 20 : 120));
const workDir = join(tmpdir(), 'mosaik-compare');
const outJson = opt('out') ?? join(workDir, 'results.json');
const outMd = opt('md');

for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`unknown system '${s}' (known: ${SYSTEMS.join(', ')})`);
for (const w of workloads) if (!WORKLOADS.some((x) => x.id === w)) throw new Error(`unknown workload '${w}'`);

const uniq = (ks: number[]) => [...new Set(ks)].sort((a, b) => a - b).map((k) => 2 ** k);
const SIZES = uniq([...smallSizes, ...mainSizes, ...(systems.some((s) => s.startsWith('jiff')) ? jiffSizes : [])]);
const MAIN = new Set(uniq(mainSizes));
/** Sizes each system runs (ascending; the budget may stop it early); the chain (round latency) at the small sizes only. */
const sizesOf = (s: SystemId, w?: WorkloadId): number[] =>
  w === 'chain' ? uniq(smallSizes) : s.startsWith('jiff') ? uniq(jiffSizes) : s === 'mosaik' ? SIZES : uniq([...smallSizes, ...mainSizes]);

const LABEL: Record<SystemId, string> = {
  mosaik: 'Mosaik',
  'mosaik-sql': 'Mosaik SQL',
  mpspdz: 'MP-SPDZ',
  mpyc: 'MPyC',
  jiff: 'JIFF (64-bit field)',
  'jiff-24': 'JIFF (24-bit field)',
  duckdb: 'DuckDB (plaintext)',
};

const SECURITY: Record<SystemId, string> = {
  mosaik: 'three-party replicated secret sharing over Z_2^64 (Araki et al. CCS 2016; ABY3), semi-honest, honest majority (any one party corrupt); randomness from pairwise AES-CTR PRGs, no dealer; TLS 1.3 between the three node processes (TLS_AES_128_GCM_SHA256, src/net/tls.ts); protocol calls (engine API)',
  'mosaik-sql': 'as Mosaik, through the SQL engine (runQuery): also COUNT, division and variance inside MPC, small-cell suppression, then reveal',
  mpspdz: 'replicated-ring-party.x: three-party replicated secret sharing over Z_2^64, semi-honest, honest majority; TLS between parties (MP-SPDZ default: OpenSSL through Boost.Asio, version and cipher its build negotiates); compiled with compile.py FLAGS',
  mpyc: 'Shamir secret sharing over a prime field (SecInt(64): 96-bit prime; SecInt(32): 64-bit prime), threshold t = 1 of 3, semi-honest, honest majority; PRSS randomness; comparisons statistically secure (k = 30); TLS (--ssl: Python\'s ssl defaults, TLS 1.3 with TLS_AES_256_GCM_SHA384 on this machine\'s OpenSSL); Python, vectorised with secure NumPy arrays',
  jiff: 'jiff-mpc (npm), bignumber extension, Shamir over the prime 2^64 − 59, threshold 3 of 3, semi-honest; all messages relayed by the JIFF server (libsodium end-to-end encryption); the server is the crypto provider (deals Beaver triples and random bits), so it must not collude with a party; one promise chain per element (no vectorisation)',
  'jiff-24': 'as JIFF, with its default prime 16777729 (24 bits, JS numbers): its fastest configuration; comparisons of values below 2^23',
  duckdb: 'plaintext, no security: one process reading the whole table (reference for the cost of MPC)',
};

/** Which Mosaik workload a peer's row is compared with. */
const MOSAIK_BASE: Record<WorkloadId, WorkloadId> = { mul: 'mul', lt63: 'lt63', lt64: 'lt64', lt32: 'lt32', meanvar: 'meanvar', groupsum: 'groupsum', chain: 'chain' };

const expectedCache = new Map<number, Expected>();
const expected = (n: number): Expected => {
  let e = expectedCache.get(n);
  if (!e) {
    const d = generateData(n, SEED);
    e = expectedAnswers(d.x, d.key);
    expectedCache.set(n, e);
  }
  return e;
};
const dataFiles = new Map<number, string>();
function dataFile(n: number): string {
  let f = dataFiles.get(n);
  if (!f) {
    const { x, key } = generateData(n, SEED);
    const all = new BigInt64Array(2 * n);
    for (let i = 0; i < n; i++) {
      all[i] = BigInt(x[i]!);
      all[n + i] = BigInt(key[i]!);
    }
    f = join(workDir, `data-${n}.bin`);
    writeFileSync(f, new Uint8Array(all.buffer));
    dataFiles.set(n, f);
  }
  return f;
}

const fmtRate = (r: number) => (r >= 1e9 ? `${(r / 1e9).toFixed(2)} G/s` : r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k/s` : `${r.toPrecision(3)}/s`);
const fmtTime = (s: number) => (s >= 100 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toFixed(2)} s` : s >= 0.01 ? `${(s * 1000).toFixed(0)} ms` : `${(s * 1000).toFixed(2)} ms`);
const fmtRatio = (r: number): string =>
  r >= 100 ? `${Math.round(r).toLocaleString('en-US')}×` : r >= 10 ? `${r.toFixed(0)}×` : r >= 0.1 ? `${r.toFixed(2)}×` : `1/${fmtRatio(1 / r).replace('×', '')}`;
const pow2 = (n: number) => `2^${Math.log2(n)}`;

async function measure(system: SystemId, w: WorkloadId, n: number, timeoutMs: number): Promise<Measurement> {
  const reps = repsOf(system);
  if (w === 'chain' && (system === 'mpyc' || system.startsWith('jiff'))) throw new Skip('the round-latency chain is compared with MP-SPDZ only');
  switch (system) {
    case 'mosaik':
    case 'mosaik-sql':
      if (system === 'mosaik-sql' && w !== 'meanvar' && w !== 'groupsum') throw new Skip('SQL engine row: statistics only');
      return runMosaik(workDir, system, w, n, reps, warmup, SEED, expected, timeoutMs);
    case 'mpspdz':
      return runMpspdz(workDir, w, n, reps, warmup, SEED, expected, timeoutMs);
    case 'mpyc':
      return runMpyc(workDir, w, n, reps, w === 'meanvar' || w === 'groupsum' ? dataFile(n) : null, expected, timeoutMs, process.env.MOSAIK_CMP_GROUPSUM === 'eq' ? 'eq' : 'poly');
    case 'jiff':
    case 'jiff-24':
      return runJiff(system, w, n, reps, w === 'meanvar' || w === 'groupsum' ? dataFile(n) : null, expected, timeoutMs);
    case 'duckdb':
      return runDuckdb(workDir, w, n, reps, SEED, expected);
  }
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const started = new Date();
  const skipped = new Map<string, string>(); // "system|workload" or "system" → reason
  const versions: Record<string, string> = {};

  // Availability of the peers, once, with the reason when absent.
  const unavailable = new Map<SystemId, string>();
  const check = async (s: SystemId, f: () => Promise<string> | string) => {
    if (!systems.includes(s)) return;
    try {
      versions[s] = await f();
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      unavailable.set(s, e.message);
      log(`[${s}] skipped: ${e.message}`);
    }
  };
  await check('mpspdz', async () => {
    const path = await mpspdzAvailable();
    return `MP-SPDZ at ${path}`;
  });
  await check('mpyc', async () => {
    const i = await mpycAvailable();
    return `${i.version} at ${i.path}`;
  });
  await check('jiff', () => `jiff-mpc ${jiffAvailable()}`);
  await check('jiff-24', () => `jiff-mpc ${jiffAvailable()}`);
  for (const [s, why] of unavailable) skipped.set(s, why);

  const timeoutMs = Math.max(600_000, budget * 6 * 1000);
  const all: (Measurement & { round: number })[] = [];
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) log(`round ${round + 1} of ${rounds}`);
    const results: Measurement[] = [];
    for (const w of workloads) await measureWorkload(w, round % 2 ? [...systems].reverse() : systems, results, unavailable, skipped, timeoutMs);
    all.push(...results.map((m) => ({ ...m, round })));
  }
  const results = bestOfRounds(all);

  const minutes = (Date.now() - started.getTime()) / 60_000;
  const md = report(results, skipped, versions, started) + roundsReport(all, results) + `\n\nWhole run: ${minutes.toFixed(1)} min.`;
  console.log(md);
  writeFileSync(outJson, JSON.stringify({ started: started.toISOString(), minutes, machine: machine(), command: commandLine(), sizes: SIZES, reps, warmup, rounds, slowReps, budget, versions, skipped: Object.fromEntries(skipped), results, ...(rounds > 1 ? { perRound: all } : {}) }, null, 1));
  if (outMd) writeFileSync(outMd, md + '\n');
  log(`results: ${outJson}${outMd ? `, ${outMd}` : ''}`);
}

/** One workload's cells: every system in `order`, each growing n until the budget. */
async function measureWorkload(w: WorkloadId, order: SystemId[], results: Measurement[], unavailable: Map<SystemId, string>, skipped: Map<string, string>, timeoutMs: number): Promise<void> {
  for (const s of order) {
    if (unavailable.has(s)) continue;
    let prev: Measurement | null = null;
    for (const n of sizesOf(s, w)) {
      if (prev?.seconds && prev.seconds * (n / prev.n) > budget) {
        const est = prev.seconds * (n / prev.n);
        results.push({ system: s, workload: w, n, seconds: null, note: `not run: estimated ${fmtTime(est)} > budget ${budget} s` });
        continue;
      }
      try {
        const t0 = performance.now();
        const m = await measure(s, w, n, timeoutMs);
        if (w === 'chain' && m.seconds) {
          // Products per second, and what one round took.
          m.rate = (CHAIN_LENGTH * n) / m.seconds;
          m.note = [`${((m.seconds / CHAIN_LENGTH) * 1e6).toFixed(0)} µs per round`, m.note].filter(Boolean).join('; ');
        }
        m.wallSeconds = (performance.now() - t0) / 1000;
        results.push(m);
        prev = m;
        log(`[${s}] ${w} n=${pow2(n)}: ${fmtTime(m.seconds!)} (${fmtRate(m.rate!)})${m.correct === false ? ' WRONG ANSWER' : m.correct ? ' answer ok' : ''}${m.note ? `; ${m.note}` : ''}`);
      } catch (e) {
        if (e instanceof Skip) {
          skipped.set(`${s}|${w}`, e.message);
          break;
        }
        const msg = e instanceof Error ? e.message : String(e);
        log(`[${s}] ${w} n=${pow2(n)} FAILED: ${msg}`);
        results.push({ system: s, workload: w, n, seconds: null, note: `failed: ${msg.split('\n')[0]}` });
        break;
      }
    }
  }
}

/** Per system, workload and n: the round with the fastest timed run (a failed or unrun cell only where no round ran it). */
function bestOfRounds(all: (Measurement & { round: number })[]): Measurement[] {
  const best = new Map<string, Measurement>();
  for (const { round: _, ...m } of all) {
    const k = `${m.system}|${m.workload}|${m.n}`;
    const b = best.get(k);
    if (!b || (m.seconds !== null && (b.seconds === null || m.seconds < b.seconds))) best.set(k, m);
  }
  return [...best.values()];
}

/** With several rounds: each round's Mosaik ÷ peer ratio at every n both ran in it, and that of the best runs (`merged`: bestOfRounds). */
function roundsReport(all: (Measurement & { round: number })[], merged: Measurement[]): string {
  if (rounds < 2) return '';
  const out = ['', '', `Each round (${rounds}, the systems' order alternating), Mosaik ÷ system at equal n:`, '', '| workload | system | n | per round | best of rounds |', '| --- | --- | ---: | --- | ---: |'];
  const at = (s: SystemId, w: WorkloadId, n: number, r: number) => all.find((m) => m.system === s && m.workload === w && m.n === n && m.round === r && m.seconds !== null);
  for (const w of workloads) {
    for (const s of systems) {
      if (s === 'mosaik') continue;
      for (const n of SIZES) {
        const per = Array.from({ length: rounds }, (_, r) => {
          const mine = at('mosaik', MOSAIK_BASE[w], n, r), peer = at(s, w, n, r);
          return mine && peer ? fmtRatio(peer.seconds! / mine.seconds!) : '—';
        });
        if (per.every((x) => x === '—')) continue;
        const bm = merged.find((m) => m.system === 'mosaik' && m.workload === MOSAIK_BASE[w] && m.n === n && m.seconds !== null);
        const bp = merged.find((m) => m.system === s && m.workload === w && m.n === n && m.seconds !== null);
        out.push(`| ${w} | ${LABEL[s]} | ${pow2(n)} | ${per.join(', ')} | ${bm && bp ? fmtRatio(bp.seconds! / bm.seconds!) : '—'} |`);
      }
    }
  }
  return out.length > 6 ? out.join('\n') : '';
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
}

function commandLine(): string {
  return `node dist/bench/compare/run.js${argv.length ? ' ' + argv.join(' ') : ''}`;
}

function report(results: Measurement[], skipped: Map<string, string>, versions: Record<string, string>, started: Date): string {
  const out: string[] = [];
  const get = (s: SystemId, w: WorkloadId, n: number) => results.find((r) => r.system === s && r.workload === w && r.n === n && r.seconds !== null);
  const mosaikAt = (w: WorkloadId, n: number) => get('mosaik', MOSAIK_BASE[w], n);
  out.push(`Side-by-side run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine()}`);
  out.push(`Command: \`${commandLine()}\`; ${reps} timed run(s) after ${warmup === 1 ? 'one warm-up' : `${warmup} warm-ups`} (MPyC, JIFF: ${slowReps} after one on a small batch)${rounds > 1 ? `, in each of ${rounds} rounds (systems in alternating order)` : ''}, best reported; time = slowest party; budget ${budget} s per run.`);
  out.push('');

  // Summary: per workload and system, the largest n that system ran.
  out.push('| workload | system | n | time | throughput | Mosaik at this n | Mosaik ÷ system | answer |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const wl of WORKLOADS) {
    if (!workloads.includes(wl.id)) continue;
    for (const s of systems) {
      const mine = results.filter((r) => r.system === s && r.workload === wl.id && r.seconds !== null);
      if (!mine.length) continue;
      const m = mine.reduce((a, b) => (b.n > a.n ? b : a));
      const base = mosaikAt(wl.id, m.n);
      const ratio = base && s !== 'mosaik' ? fmtRatio(base.rate! / m.rate!) : s === 'mosaik' ? '1' : '—';
      const ans = m.correct === true ? 'ok' : m.correct === false ? '**wrong**' : '';
      out.push(`| ${wl.what} | ${LABEL[s]} | ${pow2(m.n)} | ${fmtTime(m.seconds!)} | ${fmtRate(m.rate!)} | ${base ? fmtRate(base.rate!) : '—'} | ${ratio} | ${ans} |`);
    }
  }
  out.push('');
  out.push('Throughput is elements (multiplication, comparison; chain: products) or table rows (statistics) per second. "Mosaik ÷ system" is');
  out.push("Mosaik's throughput divided by the system's at the same n (> 1: Mosaik is faster); for the statistics, Mosaik's");
  out.push('row is the direct protocol (what the peers run), and Mosaik SQL is the full query engine.');
  out.push('');

  // All sizes.
  const cols = systems;
  out.push(`| workload | n | ${cols.map((s) => LABEL[s]).join(' | ')} |`);
  out.push(`| --- | ---: | ${cols.map(() => '---:').join(' | ')} |`);
  for (const wl of WORKLOADS) {
    if (!workloads.includes(wl.id)) continue;
    for (const n of SIZES) {
      const cells = cols.map((s) => {
        const m = get(s, wl.id, n);
        if (!m) return '';
        const base = mosaikAt(wl.id, n);
        const r = base && s !== 'mosaik' ? ` (${fmtRatio(base.rate! / m.rate!)})` : '';
        return `${fmtRate(m.rate!)}${r}${m.correct === false ? ' **wrong**' : ''}`;
      });
      if (cells.every((c) => !c)) continue;
      out.push(`| ${wl.id} | ${pow2(n)} | ${cells.join(' | ')} |`);
    }
  }
  out.push('');
  out.push('Cells: throughput (Mosaik ÷ system at that n). Empty: not run (see below).');
  out.push('');

  // Targets (issues 7 and 16). The headline is the ratio at equal n: Mosaik's throughput over the
  // peer's at the same size (at the sizes issue 16 names, or the largest size both ran); best against
  // best (a peer's best may come from a much smaller n) is shown beside it for reference only.
  const targets: [string, SystemId, WorkloadId, number, number[]][] = [
    ['≥ 1000× JIFF, multiplication', 'jiff', 'mul', 1000, []],
    ['≥ 1000× JIFF, multiplication (24-bit field)', 'jiff-24', 'mul', 1000, []],
    ['≥ 1000× JIFF, comparison (64-bit field, lt63)', 'jiff', 'lt63', 1000, []],
    ['≥ 1000× JIFF, comparison (24-bit field, vs Mosaik lt32)', 'jiff-24', 'lt32', 1000, []],
    ['≥ 100× MPyC, multiplication', 'mpyc', 'mul', 100, []],
    ['≥ 100× MPyC, comparison (lt63)', 'mpyc', 'lt63', 100, []],
    ['≥ 100× MPyC, comparison (lt32)', 'mpyc', 'lt32', 100, []],
    ['≥ 1.0× MP-SPDZ, multiplication (issue 16)', 'mpspdz', 'mul', 1, [2 ** 20, 2 ** 22]],
    ['≥ 1.0× MP-SPDZ, mean and variance (issue 16)', 'mpspdz', 'meanvar', 1, []],
    [`≥ 1.0× MP-SPDZ, a round at small sizes (${CHAIN_LENGTH} dependent products; issue 16)`, 'mpspdz', 'chain', 1, []],
    ['no loss on comparisons against MP-SPDZ (lt63)', 'mpspdz', 'lt63', 1, []],
    ['no loss on comparisons against MP-SPDZ (lt32)', 'mpspdz', 'lt32', 1, []],
  ];
  const rows: string[] = [];
  const bestOf = (s: SystemId, w: WorkloadId, onlyMain = false) =>
    results.filter((r) => r.system === s && r.workload === w && r.seconds !== null && (!onlyMain || MAIN.has(r.n))).reduce<Measurement | null>((a, b) => (!a || b.rate! > a.rate! ? b : a), null);
  for (const [what, s, w, goal, at] of targets) {
    const peer = bestOf(s, w);
    const mos = bestOf('mosaik', w, true) ?? bestOf('mosaik', w);
    if (!peer || !mos) continue;
    // Sizes both ran: the named ones, else the largest common one.
    const common = results.filter((x) => x.system === s && x.workload === w && x.seconds !== null && mosaikAt(w, x.n)).sort((a, b) => a.n - b.n);
    const named = at.length ? common.filter((x) => at.includes(x.n)) : common.slice(-1);
    const ratios = named.map((x) => [x.n, mosaikAt(w, x.n)!.rate! / x.rate!] as const);
    const eqText = ratios.length ? ratios.map(([n, r]) => `**${fmtRatio(r)}** at ${pow2(n)}`).join(', ') : `— (no common size${at.length ? ` among ${at.map(pow2).join(', ')}` : ''})`;
    const met = ratios.length > 0 && ratios.every(([, r]) => r >= goal) && (!at.length || ratios.length === at.length);
    rows.push(`| ${what} | ${eqText} | ${fmtRatio(mos.rate! / peer.rate!)}: ${fmtRate(mos.rate!)} (${pow2(mos.n)}) vs ${fmtRate(peer.rate!)} (${pow2(peer.n)}) | ${met ? 'met' : '**not met**'} |`);
  }
  if (rows.length) {
    out.push('| target | Mosaik ÷ system at equal n (headline) | best vs best, for reference | |');
    out.push('| --- | ---: | ---: | --- |');
    out.push(...rows, '');
    out.push("The headline compares like with like: both systems' throughput at the same n. Best against best is shown only");
    out.push("for reference: a peer's best rate may come from a smaller n than Mosaik's (no extrapolation anywhere).");
    out.push('');
  }

  out.push('Systems and security models:');
  for (const s of systems) {
    const v = versions[s] ? ` [${versions[s]}]` : '';
    out.push(`- **${LABEL[s]}**: ${SECURITY[s].replace('FLAGS', compileFlags().join(' '))}${v}`);
  }
  const notes = results.filter((r) => r.seconds === null && r.note);
  if (skipped.size || notes.length) {
    out.push('');
    out.push('Not run:');
    // One line per reason, naming the systems and workloads it applies to.
    const byReason = new Map<string, string[]>();
    for (const [k, why] of skipped) {
      const [s, w] = k.split('|') as [SystemId, WorkloadId | undefined];
      const key = `${LABEL[s]}|${why}`;
      byReason.set(key, [...(byReason.get(key) ?? []), ...(w ? [w] : [])]);
    }
    for (const [key, ws] of byReason) {
      const [label, why] = key.split(/\|(.*)/s) as [string, string];
      out.push(`- ${label}${ws.length ? ` (${ws.join(', ')})` : ''}: ${why}`);
    }
    const bySeries = new Map<string, Measurement[]>();
    for (const r of notes) {
      const k = `${r.system}|${r.workload}`;
      bySeries.set(k, [...(bySeries.get(k) ?? []), r]);
    }
    for (const [k, ms] of bySeries) {
      const [s, w] = k.split('|') as [SystemId, WorkloadId];
      out.push(`- ${LABEL[s]}, ${w}, n = ${ms.map((m) => pow2(m.n)).join(', ')}: ${ms[0]!.note}`);
    }
  }
  return out.join('\n');
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
