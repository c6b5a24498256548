// Party-local benchmark jobs: each runs at every node (SPMD) on random shared columns made with
// no communication, times one operation between two barriers, and returns its timing and the
// bytes this party sent. bench/engine.ts runs them on three TLS node processes.
import * as A from '../src/mpc/arith.js';
import * as B from '../src/mpc/boolean.js';
import * as C from '../src/mpc/compare.js';
import type { Party } from '../src/mpc/party.js';
import { wordsFor } from '../src/ring/bits.js';
import * as R from '../src/ring/ring64.js';

export interface JobResult {
  party: number;
  n: number;
  ms: number;
  sent: number;
  received: number;
  /** Frames this party sent (a streamed round sends one frame per 4 MiB slice). */
  frames: number;
  /** CPU time of this party's process (every thread: GC, TLS) during the timed part. */
  cpuMs?: number;
  /** Wall time per phase, for long composite operations (joins). */
  phases?: string[];
}

/** Milliseconds of CPU (user and system, every thread) in a process.cpuUsage(since) difference. */
const cpuMsOf = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

/**
 * Runs `work` `warm` times untimed (JIT and WebAssembly tier-up, first-touch of memory; 1 unless
 * `--warm`), then once timed.
 */
async function timed(p: Party, n: number, work: () => Promise<unknown>, warm = 1): Promise<JobResult> {
  await p.barrier();
  for (let i = 0; i < warm; i++) await work();
  await p.barrier();
  const s0 = { ...p.net.stats };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const s1 = { ...p.net.stats };
  await p.barrier();
  return { party: p.id, n, ms, sent: s1.sent - s0.sent, received: s1.received - s0.received, frames: s1.frames - s0.frames, cpuMs: cpuMsOf(c1) };
}

export interface OpArgs {
  n: number;
  /** For comparisons: declared signed input width (64 = full range). */
  bits?: number;
  /** For tables: number of columns. */
  cols?: number;
  /** For joins: rows of the many (right) side; n is the one (left) side. */
  m?: number;
  /** For joins: both tables arrive sorted by id (their custodians sorted them), so they are merged. */
  sorted?: boolean;
  /** For the national study: each query as one join of all its registers, not as the nodes run it. */
  oneJoin?: boolean;
  /** For a chain of ANDs: how many rounds (n counts every round's lanes). */
  rounds?: number;
  /** Untimed calls before the timed one, in the same processes (default 1). */
  warm?: number;
}

export async function mul(p: Party, { n, warm }: OpArgs): Promise<JobResult> {
  const x = A.random(p, n), y = A.random(p, n);
  return timed(p, n, () => A.mul(p, x, y), warm);
}

/**
 * A product's round without its arithmetic: each party sends n lanes to its predecessor in the
 * product's slices (arith.ts STREAM_LANES) and receives n from its successor, as mul does. What
 * the channel (TLS, Node's streams, the kernel's TCP) costs a product.
 */
export async function transfer(p: Party, { n, warm }: OpArgs): Promise<JobResult> {
  const x = A.random(p, n);
  return timed(p, n, async () => {
    const got = A.recvStreamed(p, p.next, n, 'transfer');
    for (let off = 0; off < n; off += A.STREAM_LANES) p.net.send(p.prev, R.bytesOf(x.a.subarray(off, Math.min(n, off + A.STREAM_LANES))));
    await got;
  }, warm);
}

export async function lt(p: Party, { n, bits = 64, warm }: OpArgs): Promise<JobResult> {
  const x = A.random(p, n), y = A.random(p, n);
  return timed(p, n, () => C.lt(p, x, y, { bits }), warm);
}

/**
 * `rounds` dependent ANDs over n / rounds lanes each (one bit plane, so one frame of n / (8·rounds)
 * bytes per round): what one round costs by its frame's size, as the ripple adders pay it.
 */
export async function andChain(p: Party, { n, rounds = 200, warm }: OpArgs): Promise<JobResult> {
  const lanes = n / rounds, W = wordsFor(lanes);
  const x = new B.BShare(lanes, 1, new Uint32Array(W), new Uint32Array(W));
  return timed(p, n, async () => {
    let t = x;
    for (let r = 0; r < rounds; r++) t = await B.and(p, t, x);
  }, warm);
}

export async function eq(p: Party, { n, warm }: OpArgs): Promise<JobResult> {
  const x = A.random(p, n), y = A.random(p, n);
  return timed(p, n, () => C.eq(p, x, y), warm);
}

export async function shuffle(p: Party, { n, cols = 4, warm }: OpArgs): Promise<JobResult> {
  const { shuffle: run } = await import('../src/mpc/shuffle.js');
  const table = Array.from({ length: cols }, () => A.random(p, n));
  return timed(p, n, () => run(p, table), warm);
}

export async function sort(p: Party, { n, bits = 32, warm }: OpArgs): Promise<JobResult> {
  const { sort: run } = await import('../src/mpc/sort.js');
  const bounded = await boundedRandom(p, n, bits);
  const payload = A.random(p, n);
  return timed(p, n, () => run(p, bounded, [payload], { keyBits: bits }), warm);
}

/** Random signed `bits`-bit shared values: party 0 inputs them (benchmark set-up, not timed). */
async function boundedRandom(p: Party, n: number, bits: number): Promise<A.AShare> {
  let v: BigUint64Array | null = null;
  if (p.id === 0) {
    v = p.prgOwn.ring(n);
    const w = new Uint32Array(v.buffer);
    for (let i = 0; i < n; i++) {
      // sign-extend the low `bits` bits (bits <= 32 here)
      const lo = bits >= 32 ? w[2 * i]! | 0 : (w[2 * i]! << (32 - bits)) >> (32 - bits);
      w[2 * i] = lo;
      w[2 * i + 1] = lo < 0 ? 0xffffffff : 0;
    }
  }
  return A.input(p, 0, v, n);
}

/**
 * Join of n persons (unique ids, one payload column) with m rows of a second register (one payload
 * column): m = n is one-to-one (80 % of the ids match), m > n one-to-many (ids drawn from the
 * persons, 5 % from nobody). Ids are < 2^34 like CPR numbers; party 0 inputs them (set-up, not
 * timed). With `sorted`, both tables are in id order, as their custodians sorted them, and are
 * merged instead of sorted. Warm-up on a small join, then the full one, once.
 */
export async function join(p: Party, { n, m = n, sorted = false }: OpArgs): Promise<JobResult> {
  const { joinOnKey } = await import('../src/mpc/join.js');
  const make = async (n: number, m: number) => {
    let left: BigUint64Array | null = null, right: BigUint64Array | null = null;
    if (p.id === 0) {
      const r = p.prgOwn.ring(n + m);
      const w = new Uint32Array(r.buffer);
      left = new BigUint64Array(n);
      right = new BigUint64Array(m);
      // Distinct ids: i·2^13 + 13 random bits (< 2^34 for n < 2^21).
      for (let i = 0; i < n; i++) left[i] = (BigInt(i) << 13n) | BigInt(w[2 * i]! & 0x1fff);
      for (let j = 0; j < m; j++) {
        const u = w[2 * (n + j)]!, v = w[2 * (n + j) + 1]!;
        if (m === n) right[j] = u % 5 === 0 ? (BigInt(n + j) << 13n) : left[j]!; // one-to-one, 80 % match
        else right[j] = v % 20 === 0 ? (BigInt(n + (u % n)) << 13n) : left[u % n]!;
      }
      // As custodians who sort their own rows by id before sharing them (left is sorted already).
      if (sorted) right.sort();
    }
    const [lk, rk] = [await A.input(p, 0, left, n), await A.input(p, 0, right, m)];
    const tables = [
      { key: lk, columns: [A.random(p, n)], unique: true as const, sorted },
      { key: rk, columns: [A.random(p, m)], unique: m === n, sorted },
    ];
    return (onPhase?: (ph: string) => void) => joinOnKey(p, tables, { keyBits: 34, ...(onPhase ? { onPhase } : {}) });
  };
  await (await make(Math.min(n, 1 << 14), Math.min(m, 1 << 14)))();
  const run = await make(n, m);
  await p.barrier();
  const s0 = { ...p.net.stats };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const phases: string[] = [];
  let tp = t0, last = 'set-up';
  await run((ph) => {
    const t = performance.now();
    phases.push(`${last} ${((t - tp) / 1000).toFixed(2)} s`);
    [tp, last] = [t, ph];
  });
  const ms = performance.now() - t0;
  phases.push(`${last} ${((performance.now() - tp) / 1000).toFixed(2)} s`);
  const s1 = { ...p.net.stats };
  const c1 = process.cpuUsage(c0);
  await p.barrier();
  return { party: p.id, n: n + m, ms, sent: s1.sent - s0.sent, received: s1.received - s0.received, frames: s1.frames - s0.frames, phases, cpuMs: cpuMsOf(c1) };
}

/** The national-scale study's two queries (bench/engine.ts `national`): prevalence = first / second, per cell. */
export const NATIONAL_STUDY = [
  `SELECT p.region, i.income_quintile, COUNT(*) AS with_t2d FROM population p
     JOIN income i ON i.person_id = p.person_id AND i.year = 2023
     WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%')
     GROUP BY p.region, i.income_quintile`,
  `SELECT p.region, i.income_quintile, COUNT(*) AS persons FROM population p
     JOIN income i ON i.person_id = p.person_id AND i.year = 2023
     GROUP BY p.region, i.income_quintile`,
];

/**
 * Type-2 diabetes prevalence by income quintile and region over n generated citizens: population
 * ⋈ income (2023) with EXISTS over the patient register, and the denominator query. The custodians
 * run in a process of their own (bench/national-custodians.ts, started by party 0, set-up, not
 * timed): they generate the seeded registers, put each in person-id order as `mosaik ingest` does
 * (so the joins merge, src/mpc/merge.ts) and write each party's shares into that party's encrypted
 * store. No party's process holds plaintext, so each one's peak RSS is a node's. Timed: both
 * queries, joins included, nothing revealed but the aggregates; as the nodes run them (each
 * register read from the store when a step needs it; the EXISTS's flag made first on population's
 * rows, the first query's line-up reused by the second), or with `oneJoin` each query as one join
 * of all its registers, held in memory.
 */
export async function national(p: Party, { n, oneJoin = false }: OpArgs): Promise<JobResult & { cells: string[]; peakRssMiB: number; setupPeakRssMiB: number }> {
  const { generateRegisters } = await import('../src/demo/registers.js');
  const { planJoinSql, runJoinQuery } = await import('../src/query/index.js');
  const { agreedExists, ExistsCache } = await import('../src/node/exists-cache.js');
  const { personOrderColumn } = await import('../src/ingest/person-order.js');
  const tiny = generateRegisters({ citizens: 100, seed: 1 }); // the schemas and code lists only
  const datasets = new Map(tiny.all.map((r) => [r.schema.name, r.schema]));
  // As `mosaik ingest` uploads them: each register's rows in person-id order (src/ingest/person-order.ts).
  const sortedBy = new Map(tiny.all.flatMap((r) => { const c = personOrderColumn(r.schema); return c ? [[r.schema.name, c] as const] : []; }));
  const plans = NATIONAL_STUDY.map((sql) => planJoinSql(sql, datasets, tiny.codeLists, { sortedBy }));
  const store = await custodiansUpload(p, n, plans);
  const versions = Object.fromEntries([...store.sizes.keys()].map((name) => [name, 'v1']));
  // With `oneJoin`, every column the plans read, in memory (per table alias).
  const shares = oneJoin ? new Map(plans.flatMap((jp) => jp.tables).map((t) => [t.alias, store.store.load(t.dataset.name, 'v1', t.reads)])) : null;
  try {
    const rows = plans[0]!.tables.reduce((s, t) => s + store.sizes.get(t.dataset.name)!, 0);
    const setupPeakRssMiB = process.resourceUsage().maxRSS / 1024;
    await p.barrier();
    const s0 = { ...p.net.stats };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const phases: string[] = [];
    const results = [];
    let lineup: import('../src/mpc/join.js').JoinLineup | undefined;
    let kept: import('../src/query/join-execute.js').KeptJoin | undefined;
    const exists = new ExistsCache({ bytes: 2 ** 30 });
    for (const jp of plans) {
      const q0 = performance.now();
      if (shares) results.push(await runJoinQuery(p, jp, shares, { minCellSize: 5 }));
      else {
        // As a node runs it (src/node/jobs.ts): the registers read from the store; the EXISTS's flag
        // made on population's rows and kept (src/node/exists-cache.ts), the rest joined with it; the
        // line-up of population ⋈ income kept for the second query (src/node/lineup-cache.ts: same
        // registers, keys and order), and its joined rows, which the second query (the same join and
        // conditions, fewer columns) takes as they are (src/node/lineup-cache.ts JoinedCache).
        const made = exists.made;
        const q = await agreedExists(p, { exists }, store.store, jp, versions);
        if (exists.made > made) phases.push(`EXISTS flag (population ⋉ contacts) ${((performance.now() - q0) / 1000).toFixed(1)} s`);
        results.push(await runJoinQuery(p, q.jp, q.tables, { minCellSize: 5, ...(lineup ? { lineup } : {}), onLineup: (l) => (lineup = l), ...(kept ? { joined: kept } : {}), onJoined: (k) => (kept = k) }));
      }
      phases.push(`${jp.tables.map((t) => t.dataset.name).join(' ⋈ ')} ${((performance.now() - q0) / 1000).toFixed(1)} s`);
    }
    const ms = performance.now() - t0;
    const s1 = { ...p.net.stats };
    const c1 = process.cpuUsage(c0);
    await p.barrier();
    const [num, den] = results;
    const denOf = new Map(den!.rows!.map((r) => [`${r[0]}|${r[1]}`, Number(r[2])]));
    const cells = num!.rows!.map((r) => `${r[0]} Q${r[1]}: ${((100 * Number(r[2])) / denOf.get(`${r[0]}|${r[1]}`)!).toFixed(1)} %`);
    return { party: p.id, n: rows, ms, sent: s1.sent - s0.sent, received: s1.received - s0.received, frames: s1.frames - s0.frames, cpuMs: cpuMsOf(c1), phases, cells, peakRssMiB: process.resourceUsage().maxRSS / 1024, setupPeakRssMiB };
  } finally {
    store.remove();
  }
}

/**
 * Each party's encrypted share store (src/node/store.ts) in a temporary directory, with the
 * registers the plans read uploaded by the custodians (bench/national-custodians.ts, a process
 * party 0 starts once every party's store exists): one version per register, the columns the plans
 * read, in person order. Resolves with the rows per register.
 */
async function custodiansUpload(p: Party, n: number, plans: import('../src/query/join-plan.js').JoinPlan[]) {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const { generateKeyPairSync } = await import('node:crypto');
  const { ShareStore } = await import('../src/node/store.js');
  const dir = mkdtempSync(join(tmpdir(), `mosaik-bench-store-${p.id}-`));
  const keyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const key = join(dir, 'store-key.pem');
  writeFileSync(key, keyPem, { mode: 0o600 });
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const encode = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  const decode = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;
  let outcome: { rows: Record<string, number> } | { error: string };
  if (p.id === 0) {
    const nodes = [{ dir, key }];
    for (const q of [1, 2] as const) nodes.push(decode(await p.net.recv(q)) as { dir: string; key: string });
    const reads: Record<string, string[]> = {};
    for (const t of plans.flatMap((jp) => jp.tables)) reads[t.dataset.name] = [...new Set([...(reads[t.dataset.name] ?? []), ...t.reads])];
    const script = new URL('./national-custodians.js', import.meta.url).pathname;
    outcome = await new Promise((resolve) =>
      execFile(process.execPath, [...process.execArgv, script, String(n), JSON.stringify(reads), JSON.stringify(nodes)], (e, stdout, stderr) =>
        resolve(e ? { error: `the custodians' upload failed: ${stderr.trim() || e.message}` } : { rows: JSON.parse(stdout) as Record<string, number> }),
      ),
    );
    for (const q of [1, 2] as const) p.net.send(q, encode(outcome));
  } else {
    p.net.send(0, encode({ dir, key }));
    outcome = decode(await p.net.recv(0)) as typeof outcome;
  }
  if ('error' in outcome) {
    remove();
    throw new Error(outcome.error);
  }
  return { store: new ShareStore(dir, keyPem, p.id), sizes: new Map(Object.entries(outcome.rows)), remove };
}
