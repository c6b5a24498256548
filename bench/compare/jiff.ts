// JIFF in the side-by-side benchmark: a JIFF server and three JIFF parties, each its own node
// process on 127.0.0.1 (jiff-server.ts, jiff-party.ts). jiff-mpc comes from npm (devDependency).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { checkGroupSums, checkMeanVar, describeFailure, type Expected, freePorts, type Measurement, runParties, Skip, type WorkloadId } from './common.js';
import type { PartyArgs } from './jiff-party.js';

/** 2^64 − 59, the largest prime below 2^64: JIFF's closest field to Z_2^64 (bignumber extension). */
export const JIFF_P64 = '18446744073709551557';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

export function jiffAvailable(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require('jiff-mpc/package.json') as { version: string };
    return pkg.version;
  } catch {
    throw new Skip('jiff-mpc is not installed (npm install: it is a devDependency)');
  }
}

/** Starts the server, waits until it listens; returns it and its URL. */
async function startServer(bignumber: boolean): Promise<{ stop: () => void; url: string }> {
  const port = await freePorts(1);
  const child = spawn(process.execPath, [here('./jiff-server.js'), String(port), ...(bignumber ? ['bignumber'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`JIFF server did not start within 20 s: ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(t);
        ok();
      }
    });
    child.once('exit', (code) => fail(new Error(`JIFF server exited with code ${code}: ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

let runCounter = 0;

export async function runJiff(
  system: 'jiff' | 'jiff-24',
  workload: WorkloadId,
  n: number,
  reps: number,
  dataFile: string | null,
  expected: (n: number) => Expected,
  timeoutMs: number,
): Promise<Measurement> {
  jiffAvailable();
  const bignumber = system === 'jiff';
  let w: PartyArgs['workload'];
  if (workload === 'mul') w = 'mul';
  else if (workload === 'meanvar' || workload === 'groupsum') {
    if (!bignumber) throw new Skip('statistics need the 64-bit field (Σx² does not fit in 24 bits)');
    w = workload;
  } else if ((workload === 'lt63' && bignumber) || (workload === 'lt32' && !bignumber)) w = 'lt';
  else throw new Skip(bignumber ? 'the 64-bit field configuration is measured in the lt63 row' : 'the 24-bit field holds 23-bit values; measured in the lt32 row');

  const server = await startServer(bignumber);
  try {
    const computation = `mosaik-cmp-${process.pid}-${++runCounter}`;
    const specs = ([1, 2, 3] as const).map((party) => {
      const a: PartyArgs = { url: server.url, computation, party, workload: w, n, reps, warm: Math.min(n, 8), ...(bignumber ? { zp: JIFF_P64 } : {}), ...(dataFile ? { data: dataFile } : {}) };
      return { cmd: process.execPath, args: ['--max-old-space-size=8192', here('./jiff-party.js'), JSON.stringify(a)] };
    });
    const res = await runParties(specs, timeoutMs);
    const parsed = res.map((r, i) => {
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (r.code !== 0 || !line) throw new Error(describeFailure(`JIFF party ${i + 1}`, r));
      return JSON.parse(line.slice(7)) as { seconds: number[]; answer?: number[]; field: string };
    });
    const runs = parsed[0]!.seconds.map((_, k) => Math.max(...parsed.map((q) => q.seconds[k]!)));
    const seconds = Math.min(...runs);
    let correct: boolean | null = null;
    const ans = parsed[0]!.answer!;
    if (workload === 'meanvar') correct = checkMeanVar(ans as [number, number], expected(n));
    if (workload === 'groupsum') correct = checkGroupSums(ans, expected(n));
    return { system, workload, n, seconds, runs, rate: n / seconds, correct, note: `field p = ${parsed[0]!.field}` };
  } finally {
    server.stop();
  }
}
