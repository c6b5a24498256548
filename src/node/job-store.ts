// A node's jobs on disk (store layer, see src/node/http.ts): each job's record (its spec as the
// node received it, status, error, times, and when done its part of the result and the sealed copy
// for the requester) in <nodeDir>/jobs/<id>.job, so that a restarted node still answers for its
// past jobs, still recognises them in the transparency log (src/node/ledger.ts checks job-run and
// result-released entries against them), and reports a job it was running as failed instead of
// forgetting it. Records hold this node's share pair of a result: encrypted at rest like the share
// store (AES-256-GCM under a key derived from the node's private key, the job id bound), written
// atomically (temp file, fsync, rename).
import { createCipheriv, createDecipheriv, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const MAGIC = Buffer.from('MKJB');
const ID_RE = /^[0-9a-f-]{36}$/;

export class JobStore {
  readonly dir: string;
  private readonly key: Buffer;
  /** Records that could not be read back (damaged or from another key), by file. */
  readonly damaged: string[] = [];

  constructor(nodeDir: string, privateKeyPem: string) {
    this.dir = join(nodeDir, 'jobs');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ikm = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
    this.key = Buffer.from(hkdfSync('sha256', ikm, 'mosaik job store', 'AES-256-GCM job records v1', 32));
  }

  /** Writes (or replaces) the record of job `id`. */
  save(id: string, record: unknown): void {
    if (!ID_RE.test(id)) throw new Error(`not a job id: ${id}`);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(`mosaik-job-v1:${id}`));
    const body = Buffer.concat([c.update(JSON.stringify(record), 'utf8'), c.final()]);
    const path = join(this.dir, `${id}.job`);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, Buffer.concat([MAGIC, iv, body, c.getAuthTag()]));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  remove(id: string): void {
    if (ID_RE.test(id)) rmSync(join(this.dir, `${id}.job`), { force: true });
  }

  /** Every record that reads back, with its id. */
  load(): { id: string; record: unknown }[] {
    const out: { id: string; record: unknown }[] = [];
    for (const f of readdirSync(this.dir)) {
      if (f.endsWith('.tmp')) {
        rmSync(join(this.dir, f), { force: true }); // a write cut short
        continue;
      }
      const id = f.replace(/\.job$/, '');
      if (!f.endsWith('.job') || !ID_RE.test(id)) continue;
      try {
        const b = readFileSync(join(this.dir, f));
        if (b.length < 4 + 12 + 16 || !b.subarray(0, 4).equals(MAGIC)) throw new Error('not a job record');
        const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(4, 16));
        d.setAAD(Buffer.from(`mosaik-job-v1:${id}`));
        d.setAuthTag(b.subarray(b.length - 16));
        out.push({ id, record: JSON.parse(Buffer.concat([d.update(b.subarray(16, b.length - 16)), d.final()]).toString('utf8')) });
      } catch (e) {
        this.damaged.push(`${f}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  has(id: string): boolean {
    return existsSync(join(this.dir, `${id}.job`));
  }
}

/**
 * Locks a node directory for this process: <dir>/node.lock holds the pid of the daemon using it.
 * A second daemon for the same directory (the same party started twice) is refused before it
 * touches anything (the share store's temporary uploads included); a lock left by a process that
 * is gone is taken over. Returns the release function.
 */
const held = new Set<string>();
export function lockNodeDir(dir: string, what: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'node.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }) + '\n');
      closeSync(fd);
      held.add(path);
      return () => {
        if (!held.delete(path)) return;
        rmSync(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    let pid = 0;
    try {
      pid = Number((JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown }).pid) || 0;
    } catch {
      /* unreadable: a write cut short, stale */
    }
    const alive = pid > 0 && (pid === process.pid ? held.has(path) : processAlive(pid));
    if (alive) throw new Error(`${what} is already running: ${dir} is locked by process ${pid} (${path}); stop that daemon first, or remove the lock file if no such process runs`);
    rmSync(path, { force: true }); // stale lock of a process that is gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
