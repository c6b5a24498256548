// `mosaik demo`: the whole flow on one machine, with real processes and real TLS.
//
//  1. a local three-node cluster in ./.mosaik/demo (keys kept between runs, fresh ports);
//  2. a custodian makes a synthetic patient table (age, systolic blood pressure, BMI), splits
//     each column into replicated shares (splitShares) and writes node i's shares into node i's
//     directory (upload to the nodes over TLS comes with the ingest work; here the custodian and
//     the nodes share a disk);
//  3. three node processes connect over mutually authenticated TLS 1.3 and run src/cli/demo-job.ts;
//  4. each node sends its result shares to the requester (this process), which combines them,
//     checks that the replicated halves agree, and compares with the plaintext computed directly.
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { combineShares, splitShares, AShare } from '../mpc/share.js';
import type { PartyId } from '../net/channel.js';
import { runOnLocalCluster } from '../net/cluster.js';
import { createLocalCluster } from '../net/keys.js';
import { writeShareFile } from '../node/shares.js';
import type { DemoArgs } from './demo-job.js';

export interface DemoOptions {
  dir: string;
  rows: number;
  seed: number;
  timeoutMs: number;
  verbose: boolean;
  log: (line: string) => void;
}

/** Deterministic synthetic patients (mulberry32), integers only. */
export function syntheticPatients(rows: number, seed: number): { age: BigUint64Array; sbp: BigUint64Array; bmi: BigUint64Array } {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const age = new BigUint64Array(rows);
  const sbp = new BigUint64Array(rows);
  const bmi = new BigUint64Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = Math.min(100, Math.max(18, Math.round(50 + 17 * normal())));
    age[i] = BigInt(a);
    sbp[i] = BigInt(Math.min(220, Math.max(85, Math.round(105 + 0.45 * a + 14 * normal()))));
    bmi[i] = BigInt(Math.min(55, Math.max(15, Math.round(26.5 + 4.5 * normal()))));
  }
  return { age, sbp, bmi };
}

const fmtBytes = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function table(head: string[], rows: string[][], right: boolean[]): string {
  const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (r: string[]) => '  ' + r.map((c, k) => (right[k] ? c.padStart(w[k]!) : c.padEnd(w[k]!))).join('   ');
  return [line(head), '  ' + w.map((x) => '─'.repeat(x)).join('   '), ...rows.map(line)].join('\n');
}

export async function runDemo(o: DemoOptions): Promise<boolean> {
  const log = o.log;
  const t0 = performance.now();
  log(`mosaik demo: three compute nodes on this machine, secret-shared data, TLS 1.3 with pinned keys`);
  const lc = await createLocalCluster(o.dir, { cluster: 'demo' });
  log(`• cluster ready in ${lc.dir} (${lc.config.nodes.map((n) => `${n.name} :${n.port}`).join(', ')})`);

  // Custodian side.
  log(`• custodian: generating ${o.rows.toLocaleString('en-US')} synthetic patients (age, systolic BP, BMI)`);
  const data = syntheticPatients(o.rows, o.seed);
  const columns = ['age', 'sbp', 'bmi'] as const;
  let perNode = 0;
  for (const c of columns) {
    const triple = splitShares(data[c]);
    for (const i of [0, 1, 2]) {
      const path = join(lc.nodeDirs[i]!, 'shares', `${c}.share`);
      writeShareFile(path, triple[i]!);
      if (i === 0) perNode += statSync(path).size;
    }
  }
  log(`• custodian: split ${columns.length} columns into replicated shares; each node got ${fmtBytes(perNode)} of uniformly random-looking shares`);

  // Nodes.
  log(`• starting 3 node processes; they authenticate each other by pinned certificate and compute on shares`);
  const args: DemoArgs = { columns: [...columns], ageAtLeast: 65 };
  const res = await runOnLocalCluster({
    dir: lc.dir,
    job: { module: new URL('./demo-job.js', import.meta.url).href, export: 'demo', args },
    timeoutMs: o.timeoutMs,
    verbose: o.verbose,
    onProgress: (p: PartyId, msg) => log(`  ${lc.config.nodes[p].name}: ${msg}`),
  });

  // Requester side: combine result shares (x_i, x_{i+1}) from the nodes.
  const parsed = res.map((r) => {
    const v = r.result as { rows: number; shares: Record<string, { a: string[]; b: string[] }> };
    const shares: Record<string, AShare> = {};
    for (const [k, s] of Object.entries(v.shares)) shares[k] = new AShare(BigUint64Array.from(s.a.map(BigInt)), BigUint64Array.from(s.b.map(BigInt)));
    return { rows: v.rows, shares };
  });
  const open = (k: string): { value: bigint; consistent: boolean } => {
    const s = parsed.map((x) => x.shares[k]!);
    // Party i's second half is party i+1's first half: all three must agree.
    const consistent = [0, 1, 2].every((i) => s[i]!.b[0] === s[(i + 1) % 3]!.a[0]);
    return { value: BigInt.asIntN(64, combineShares(s[0]!, s[1]!)[0]!), consistent };
  };
  const plainSum = (c: BigUint64Array) => c.reduce((s, v) => s + v, 0n);
  const plainDot = (x: BigUint64Array, y: BigUint64Array) => x.reduce((s, v, i) => s + v * y[i]!, 0n);
  const n = BigInt(o.rows);

  const results: { what: string; mpc: string; plain: string; ok: boolean }[] = [];
  let allConsistent = true;
  const exact = (what: string, key: string, plain: bigint) => {
    const r = open(key);
    allConsistent &&= r.consistent;
    results.push({ what, mpc: r.value.toString(), plain: plain.toString(), ok: r.value === plain });
    return r.value;
  };
  const ratio = (what: string, mpcNum: bigint, plainNum: bigint, den: bigint, digits = 2) => {
    const m = Number(mpcNum) / Number(den);
    const p = Number(plainNum) / Number(den);
    results.push({ what, mpc: m.toFixed(digits), plain: p.toFixed(digits), ok: m.toFixed(digits) === p.toFixed(digits) });
  };
  const rowsAgree = parsed.every((x) => x.rows === o.rows);
  results.push({ what: 'count of patients (public row count)', mpc: String(parsed[0]!.rows), plain: String(o.rows), ok: rowsAgree });
  const sAge = exact('Σ age', 'sum_age', plainSum(data.age));
  const sSbp = exact('Σ systolic BP', 'sum_sbp', plainSum(data.sbp));
  const sBmi = exact('Σ BMI', 'sum_bmi', plainSum(data.bmi));
  ratio('mean age = Σ age / count', sAge, plainSum(data.age), n);
  ratio('mean systolic BP', sSbp, plainSum(data.sbp), n);
  ratio('mean BMI', sBmi, plainSum(data.bmi), n);
  const sAgeBmi = exact('Σ age·BMI (dot product)', 'sum_age_bmi', plainDot(data.age, data.bmi));
  const sSbpSq = exact('Σ systolic BP² (dot product)', 'sum_sbp_sq', plainDot(data.sbp, data.sbp));
  const cov = (sab: bigint, sa: bigint, sb: bigint) => (Number(sab) - (Number(sa) * Number(sb)) / o.rows) / (o.rows - 1);
  {
    const m = cov(sAgeBmi, sAge, sBmi);
    const p = cov(plainDot(data.age, data.bmi), plainSum(data.age), plainSum(data.bmi));
    results.push({ what: 'covariance(age, BMI)', mpc: m.toFixed(3), plain: p.toFixed(3), ok: m.toFixed(3) === p.toFixed(3) });
    const sd = Math.sqrt(cov(sSbpSq, sSbp, sSbp));
    const sdp = Math.sqrt(cov(plainDot(data.sbp, data.sbp), plainSum(data.sbp), plainSum(data.sbp)));
    results.push({ what: 'standard deviation of systolic BP', mpc: sd.toFixed(3), plain: sdp.toFixed(3), ok: sd.toFixed(3) === sdp.toFixed(3) });
  }
  if (parsed[0]!.shares.count_age_ge) {
    exact(`patients aged ≥ ${args.ageAtLeast} (secure comparison)`, 'count_age_ge', BigInt(data.age.filter((a) => a >= BigInt(args.ageAtLeast!)).length));
  }

  log('');
  log('Results (revealed to the requester only; plaintext computed directly from the custodian’s data):');
  log(table(['computed', 'MPC result', 'plaintext', 'agree'], results.map((r) => [r.what, r.mpc, r.plain, r.ok ? 'yes' : 'NO']), [false, true, true, false]));
  log('');
  log('Per node (job = on shares, after TLS setup and PRG seed exchange):');
  log(
    table(
      ['node', 'TLS setup', 'job', 'total', 'sent', 'received', 'frames sent'],
      res.map((r) => [`${r.party} ${r.name}`, fmtMs(r.timings.connectMs + r.timings.setupMs), fmtMs(r.timings.jobMs), fmtMs(r.timings.totalMs), fmtBytes(r.stats.sent), fmtBytes(r.stats.received), String(r.stats.frames)]),
      [false, true, true, true, true, true, true],
    ),
  );
  log('');
  const ok = results.every((r) => r.ok) && allConsistent;
  log(`${ok ? '✔ all results agree with the plaintext' : '✘ MISMATCH'}; replicated result shares ${allConsistent ? 'consistent across nodes' : 'INCONSISTENT'}; total ${fmtMs(performance.now() - t0)}`);
  return ok;
}
