// MPyC in the side-by-side benchmark: three `python3 mpyc_bench.py -M3 -I<i>` processes on
// localhost, connected over TLS (MPyC's --ssl, with certificates made here by openssl), the MPyC
// package taken from MPYC_PATH (a directory holding the `mpyc` package; not part of this repo).
//   MPYC_PATH=/work/peers/mpyc            required, else MPyC is skipped
//   MPYC_PYTHON=python3                   interpreter (needs numpy; gmpy2 is used if present: MPyC 0.11 needs
//                                         gmpy2 >= 2.1.3, MPyC 0.10 any 2.x, e.g. Debian bookworm's 2.1.2)
//   MPYC_PYTHONPATH=/work/peers/gmpy2     more directories, searched after MPYC_PATH and before the
//                                         interpreter's own packages (e.g. a gmpy2 built from its source
//                                         with `pip install --target`, where the distribution's is older)
//   MPYC_SSL=0                            plain TCP instead of TLS
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkGroupSums, checkMeanVar, describeFailure, type Expected, freePorts, type Measurement, runParties, runProcess, Skip, type WorkloadId } from './common.js';

/** The party program is committed next to the TypeScript sources (bench/compare/mpyc_bench.py). */
const PROGRAM = fileURLToPath(new URL('../../../bench/compare/mpyc_bench.py', import.meta.url));

export interface MpycInfo {
  path: string;
  python: string;
  version: string;
}

let checked: MpycInfo | null = null;

/** MPyC's PYTHONPATH: MPYC_PATH, then MPYC_PYTHONPATH's directories. */
const pythonPath = (path: string): string => [path, process.env.MPYC_PYTHONPATH].filter(Boolean).join(':');

export async function mpycAvailable(): Promise<MpycInfo> {
  if (checked) return checked;
  const path = process.env.MPYC_PATH;
  if (!path) throw new Skip('MPYC_PATH is not set (directory holding the mpyc package, e.g. a checkout of github.com/lschoe/mpyc)');
  if (!existsSync(join(path, 'mpyc', '__init__.py'))) throw new Skip(`MPYC_PATH=${path} has no mpyc/__init__.py`);
  if (!existsSync(PROGRAM)) throw new Skip(`${PROGRAM} not found (run from the repository's dist/)`);
  const python = process.env.MPYC_PYTHON ?? 'python3';
  const r = await runProcess(python, ['-c', "import sys, numpy, mpyc, mpyc.gmpy; print('VERSION', mpyc.__version__, numpy.__version__, sys.version.split()[0], getattr(mpyc.gmpy, 'version', lambda: 'MPyC stubs')())"], {
    env: { ...process.env, PYTHONPATH: pythonPath(path) },
    timeoutMs: 60_000,
  }).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
  if (r.code !== 0) throw new Skip(`${python} cannot import mpyc and numpy from MPYC_PATH=${path}: ${r.stderr.trim().split('\n').pop()}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('VERSION ')) ?? '';
  const [, mpyc, numpy, py, ...gmpy] = line.trim().split(' ');
  const g = gmpy.join(' ');
  checked = { path, python, version: `MPyC ${mpyc}, Python ${py}, NumPy ${numpy}, gmpy2 ${g === 'MPyC stubs' ? 'not used (MPyC runs its pure-Python stubs)' : g}` };
  return checked;
}

/** CA and party certificates where MPyC's --ssl looks for them: <dir>/.config/. */
async function makeCertificates(dir: string): Promise<void> {
  const cfg = join(dir, '.config');
  if (existsSync(join(cfg, 'party_2.key'))) return;
  mkdirSync(cfg, { recursive: true });
  const ossl = async (args: string[]) => {
    const r = await runProcess('openssl', args, { cwd: cfg, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Skip(`openssl ${args[0]} failed (needed for MPyC --ssl; set MPYC_SSL=0 to run without): ${r.stderr.trim()}`);
  };
  await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=MPyC benchmark CA', '-keyout', 'mpyc_ca.key', '-out', 'mpyc_ca.crt']);
  for (const i of [0, 1, 2]) {
    await ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=MPyC party ${i}`, '-keyout', `party_${i}.key`, '-out', `party_${i}.csr`]);
    writeFileSync(join(cfg, `party_${i}.ext`), `subjectAltName=DNS:MPyC party ${i}\n`);
    await ossl(['x509', '-req', '-in', `party_${i}.csr`, '-CA', 'mpyc_ca.crt', '-CAkey', 'mpyc_ca.key', '-CAcreateserial', '-days', '30', '-extfile', `party_${i}.ext`, '-out', `party_${i}.crt`]);
  }
}

export async function runMpyc(
  workDir: string,
  workload: WorkloadId,
  n: number,
  reps: number,
  dataFile: string | null,
  expected: (n: number) => Expected,
  timeoutMs: number,
  variant: 'poly' | 'eq' = 'poly',
): Promise<Measurement> {
  const info = await mpycAvailable();
  const w = { mul: 'mul', lt63: 'lt', lt32: 'lt32', meanvar: 'meanvar', groupsum: 'groupsum' }[workload as string];
  if (!w) throw new Skip('MPyC SecInt(64) comparisons are measured in the lt63 row (63-bit inputs)');
  const dir = join(workDir, 'mpyc');
  mkdirSync(dir, { recursive: true });
  const ssl = process.env.MPYC_SSL !== '0';
  if (ssl) await makeCertificates(dir);
  const port = await freePorts(3);
  const env = {
    ...process.env,
    PYTHONPATH: pythonPath(info.path),
    MOSAIK_CMP_WORKLOAD: w,
    MOSAIK_CMP_N: String(n),
    MOSAIK_CMP_REPS: String(reps),
    MOSAIK_CMP_VARIANT: variant,
    ...(dataFile ? { MOSAIK_CMP_DATA: dataFile } : {}),
  };
  const specs = [0, 1, 2].map((i) => ({
    cmd: info.python,
    args: [PROGRAM, '-M3', `-I${i}`, '-B', String(port), '--no-log', ...(ssl ? ['--ssl'] : [])],
    opts: { cwd: dir, env },
  }));
  const res = await runParties(specs, timeoutMs);
  const parsed = res.map((r, i) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (r.code !== 0 || !line) throw new Error(describeFailure(`MPyC party ${i}`, r));
    return JSON.parse(line.slice(7)) as { seconds: number[]; result: number[]; ssl: boolean };
  });
  const runs = parsed[0]!.seconds.map((_, k) => Math.max(...parsed.map((q) => q.seconds[k]!)));
  const seconds = Math.min(...runs);
  let correct: boolean | null = null;
  if (workload === 'meanvar') correct = checkMeanVar(parsed[0]!.result as [number, number], expected(n));
  if (workload === 'groupsum') correct = checkGroupSums(parsed[0]!.result, expected(n));
  return { system: 'mpyc', workload, n, seconds, runs, rate: n / seconds, correct, note: `${parsed[0]!.ssl ? 'TLS' : 'TCP'}${workload === 'groupsum' ? `, ${variant === 'eq' ? 'secure equality' : 'Lagrange one-hot'}` : ''}` };
}
