// MP-SPDZ in the side-by-side benchmark: our program bench/compare/mpspdz/mosaik_cmp.mpc compiled
// inside an installed MP-SPDZ (MPSPDZ_PATH, built by the user: not part of this repo) and run as
// three replicated-ring-party.x processes on localhost (semi-honest three-party replicated secret
// sharing over Z_2^64, TLS between the parties: MP-SPDZ's default).
//   MPSPDZ_PATH=/work/peers/MP-SPDZ        required, else MP-SPDZ is skipped
//   MPSPDZ_COMPILE_FLAGS="-E ring"          compile.py flags (default; "-R 64" for the plain ring)
// Writes into MPSPDZ_PATH what MP-SPDZ itself writes there: Programs/{Bytecode,Schedules}/mosaik_cmp-*
// and, if absent, the TLS certificates of three parties in Player-Data/ (Scripts/setup-ssl.sh 3).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAIN_LENGTH, checkGroupSums, checkMeanVar, describeFailure, type Expected, freePorts, generateData, meanVarFromSums, type Measurement, runParties, runProcess, Skip, type WorkloadId } from './common.js';

const PROGRAM = fileURLToPath(new URL('../../../bench/compare/mpspdz/mosaik_cmp.mpc', import.meta.url));
const PARTY = 'replicated-ring-party.x';

let checkedPath: string | null = null;

export async function mpspdzAvailable(): Promise<string> {
  if (checkedPath) return checkedPath;
  const path = process.env.MPSPDZ_PATH;
  if (!path) throw new Skip('MPSPDZ_PATH is not set (an MP-SPDZ directory with replicated-ring-party.x built; see bench/README.md)');
  if (!existsSync(join(path, 'compile.py'))) throw new Skip(`MPSPDZ_PATH=${path} has no compile.py`);
  if (!existsSync(join(path, PARTY))) throw new Skip(`${join(path, PARTY)} is not built (make replicated-ring-party.x; see bench/README.md)`);
  if (!existsSync(PROGRAM)) throw new Skip(`${PROGRAM} not found`);
  if (!existsSync(join(path, 'Player-Data', 'P2.pem'))) {
    const r = await runProcess('bash', ['Scripts/setup-ssl.sh', '3'], { cwd: path, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Skip(`MP-SPDZ Scripts/setup-ssl.sh 3 failed: ${r.stderr.trim()}`);
  }
  checkedPath = path;
  return path;
}

export const compileFlags = () => (process.env.MPSPDZ_COMPILE_FLAGS ?? '-E ring').split(/\s+/).filter(Boolean);

export async function runMpspdz(
  workDir: string,
  workload: WorkloadId,
  n: number,
  reps: number,
  /** Untimed runs before the timed ones (timers 1..warmup). */
  warmup: number,
  seed: number,
  expected: (n: number) => Expected,
  timeoutMs: number,
): Promise<Measurement> {
  const path = await mpspdzAvailable();
  const w = { mul: 'mul', chain: 'chain', lt63: 'lt', lt32: 'lt32', meanvar: 'meanvar', groupsum: 'groupsum' }[workload as string];
  if (!w) throw new Skip('sint < in Z_2^64 is defined for 63-bit inputs (measured in the lt63 row)');

  // groupsum: 'bits' (one bit decomposition of the key, default) or 'eq' (10 equality tests per row);
  // chain: its length.
  const variant = w === 'groupsum' ? [process.env.MOSAIK_CMP_GROUPSUM === 'eq' ? 'eq' : 'bits'] : w === 'chain' ? [String(CHAIN_LENGTH)] : [];
  // The program runs reps + 1 times (timer 1 its warm-up); more warm-ups are its first timed runs, not counted.
  const runsInProgram = reps + warmup - 1;
  const comp = await runProcess('python3', ['compile.py', ...compileFlags(), PROGRAM, w, String(n), String(runsInProgram), ...variant], { cwd: path, timeoutMs: 600_000 });
  if (comp.code !== 0) throw new Error(describeFailure('MP-SPDZ compile.py', comp));
  const progName = ['mosaik_cmp', w, n, runsInProgram, ...variant].join('-');

  const extra: string[] = [];
  if (w === 'meanvar' || w === 'groupsum') {
    const dir = join(workDir, 'mpspdz');
    mkdirSync(dir, { recursive: true });
    const { x, key } = generateData(n, seed);
    writeFileSync(join(dir, 'Input-P0-0'), `${x.join(' ')}\n${key.join(' ')}\n`);
    extra.push('-IF', join(dir, 'Input'));
  }
  const port = await freePorts(3);
  const specs = [0, 1, 2].map((i) => ({
    cmd: join(path, PARTY),
    args: ['-p', String(i), '-pn', String(port), '-h', 'localhost', ...extra, progName],
    opts: { cwd: path },
  }));
  const res = await runParties(specs, timeoutMs);
  // Timer t (t > warmup are the timed runs; 1..warmup the warm-ups), per party: "Time<t> = <s> seconds (<MB> MB, <r> rounds)".
  const timers = res.map((r, i) => {
    if (r.code !== 0) throw new Error(describeFailure(`MP-SPDZ party ${i}`, r));
    const m = new Map<number, number>();
    for (const [, t, s] of (r.stdout + r.stderr).matchAll(/^Time(\d+) = ([\d.e+-]+) seconds/gm)) m.set(Number(t), Number(s));
    return m;
  });
  const runs: number[] = [];
  for (let t = warmup + 1; t <= warmup + reps; t++) {
    const ts = timers.map((m) => m.get(t));
    if (ts.some((v) => v === undefined)) throw new Error(`MP-SPDZ: timer ${t} missing in a party's output`);
    runs.push(Math.max(...(ts as number[])));
  }
  const seconds = Math.min(...runs);
  let correct: boolean | null = null;
  const results = [...res[0]!.stdout.matchAll(/^result (.*)$/gm)].map((m) => m[1]!.trim().split(/\s+/).map(Number));
  const last = results[results.length - 1];
  if (workload === 'meanvar') correct = !!last && checkMeanVar(meanVarFromSums(n, last[0]!, last[1]!), expected(n));
  if (workload === 'groupsum') correct = !!last && checkGroupSums(last, expected(n));
  const mb = new RegExp(`Time${warmup + 1} = [\\d.e+-]+ seconds \\(([\\d.e+-]+) MB, (\\d+) rounds\\)`).exec(res[0]!.stdout + res[0]!.stderr);
  const sent = mb ? `${((Number(mb[1]) * 1e6) / n).toFixed(1)} B sent per party per element (party 0), ${mb[2]} rounds` : '';
  return { system: 'mpspdz', workload, n, seconds, runs, rate: n / seconds, correct, note: [sent, ...(w === 'groupsum' ? [variant[0] === 'eq' ? 'equality tests' : 'bit decomposition one-hot'] : [])].filter(Boolean).join(', ') };
}
