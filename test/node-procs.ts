// Test helper: the three `mosaik node` daemons of a cluster as separate processes (started with
// the CLI, as an operator would), their recent output kept for failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runRemoteQuery } from '../src/cli/query.js';
import type { Signer } from '../src/governance/identity.js';
import type { PartyId } from '../src/net/channel.js';
import type { ClusterConfig } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';
import type { Job } from '../src/node/jobs.js';
import { withColumnMemory } from '../src/ring/column-memory.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export class NodeProcs {
  readonly procs: (ChildProcess | null)[] = [null, null, null];
  readonly logs = ['', '', ''];

  /** `args`: options after `node --dir <dir> --party <p>` (e.g. --exact-results). */
  constructor(
    private readonly cluster: { dir: string; config: ClusterConfig },
    private readonly args: string[] = [],
  ) {}

  /** Starts node p and waits until its API answers. */
  async start(p: PartyId, env: Record<string, string> = {}): Promise<void> {
    const child = spawn(process.execPath, [MAIN, 'node', '--dir', this.cluster.dir, '--party', String(p), ...this.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...withColumnMemory(), ...env } });
    this.procs[p] = child;
    const keep = (c: Buffer) => (this.logs[p] = (this.logs[p] + c.toString()).slice(-20000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    for (let t = 0; ; t++) {
      if (child.exitCode !== null) throw new Error(`node ${p} exited: ${this.logs[p]}`);
      try {
        const r = await apiRequest<{ party: number }>(this.cluster.config, p, '/v1/health', { timeoutMs: 1000 });
        if (r.status === 200 && r.body.party === p) return;
      } catch {
        /* not up yet */
      }
      if (t > 300) throw new Error(`node ${p} did not start: ${this.logs[p]}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }

  /** Stops node p (a stopped process is continued first, so that the signal ends it). */
  async stop(p: PartyId, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.procs[p];
    this.procs[p] = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((ok) => c.once('exit', ok));
    c.kill('SIGCONT');
    c.kill(signal);
    await gone;
  }

  async stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(([0, 1, 2] as PartyId[]).map((p) => this.stop(p, signal)));
  }
}

/** A job as node p reports it to `signer`. */
export async function jobAt(config: ClusterConfig, signer: Signer, p: PartyId, id: string): Promise<Job> {
  return (await apiRequest<Job>(config, p, `/v1/jobs/${id}`, { signer, timeoutMs: 2000 })).body;
}

/**
 * Submits `sql` and stops node `party` (`proc`) with SIGSTOP once it is in the job, paused after its
 * channel setup (its daemon started with MOSAIK_TEST_JOB_PAUSE_MS). Returns the job's id, when it
 * was stopped (Date.now) and the client's run, which a caller expects to reject (already guarded
 * against an unhandled rejection).
 */
export async function stopInPausedJob(o: { config: ClusterConfig; signer: Signer; sql: string; timeoutMs: number; party: PartyId; proc: ChildProcess }): Promise<{ job: string; stopped: number; client: ReturnType<typeof runRemoteQuery> }> {
  let job = '';
  const client = runRemoteQuery({ config: o.config, sql: o.sql, signer: o.signer, timeoutMs: o.timeoutMs, onProgress: (m) => (job ||= /job ([0-9a-f-]{36})/.exec(m)?.[1] ?? '') });
  client.catch(() => {});
  for (let t = 0; !job || !(await jobAt(o.config, o.signer, o.party, job)).progress?.startsWith('paused'); t++) {
    if (t >= 400) throw new Error('the job did not start');
    await new Promise((ok) => setTimeout(ok, 25));
  }
  o.proc.kill('SIGSTOP');
  return { job, stopped: Date.now(), client };
}
