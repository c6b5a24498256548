// A Web Worker that runs the whole audit (./log-audit.ts) off the page's thread: verifying a large
// log means hashing every entry and checking three Ed25519 signatures per tree head, minutes of
// work for 10^5 heads; here it never blocks the page, which shows the progress it posts (at most
// every 100 ms) and can stop it (terminate). The heads' signatures are checked first on one helper
// thread per core (./sig-worker.ts), then handed to the audit. Messages: in {anchor, nodes}; out
// {type: 'progress', p} | {type: 'done', verdict} | {type: 'error', message}.
import type { AuditProgress } from '../../../src/ledger/audit.js';
import type { SignatureProblem } from '../../../src/ledger/heads.js';
import type { TrustAnchor } from '../../../src/ledger/verify.js';
import { relayGet } from './log-source.js';
import { verifyLog, type VerifyRequest } from './log-audit.js';

const ctx = self as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent<VerifyRequest>) => void) | null };

/** Head lines per batch a helper checks at most (about a second of work). */
const BATCH = 1000;

/**
 * The signature checks of these head lines, on up to one helper thread per core. A one-core
 * machine, no nested workers, or a helper that fails: the lines left unchecked are checked by the
 * audit itself, on this thread, with the same function.
 */
async function checkSignatures(lines: string[], anchor: TrustAnchor, onProgress: (p: AuditProgress) => void): Promise<Map<string, SignatureProblem[]>> {
  const memo = new Map<string, SignatureProblem[]>();
  const unique = [...new Set(lines)];
  const threads = Math.min(8, navigator.hardwareConcurrency || 2, unique.length);
  if (threads < 2 || typeof Worker === 'undefined') return memo;
  const size = Math.min(BATCH, Math.ceil(unique.length / threads));
  const batches: string[][] = [];
  for (let i = 0; i < unique.length; i += size) batches.push(unique.slice(i, i + size));
  const helpers = Array.from({ length: threads }, () => new Worker(new URL('./sig-worker.ts', import.meta.url), { type: 'module' }));
  let done = 0;
  const run = async (w: Worker) => {
    for (let b = batches.shift(); b; b = batches.shift()) {
      const lines = b;
      const checked = await new Promise<[string, SignatureProblem[]][]>((ok, no) => {
        w.onmessage = (e: MessageEvent<[string, SignatureProblem[]][]>) => ok(e.data);
        w.onerror = (e) => no(new Error(e.message));
        w.postMessage({ anchor: { cluster: anchor.cluster, keys: anchor.keys, names: anchor.names }, lines });
      });
      for (const [line, problems] of checked) memo.set(line, problems);
      done += lines.length;
      onProgress({ phase: 'signatures', done, total: unique.length, threads });
    }
  };
  try {
    await Promise.allSettled(helpers.map(run));
  } finally {
    for (const w of helpers) w.terminate();
  }
  return memo;
}

ctx.onmessage = (e) => {
  let last = 0;
  const onProgress = (p: AuditProgress) => {
    const now = performance.now();
    const end = 'done' in p && p.done === p.total;
    if (now - last < 100 && !end && p.phase !== 'compare' && p.phase !== 'proofs' && p.phase !== 'rules') return;
    last = now;
    ctx.postMessage({ type: 'progress', p });
  };
  verifyLog(e.data, relayGet, onProgress, checkSignatures).then(
    (verdict) => ctx.postMessage({ type: 'done', verdict }),
    (err: unknown) => ctx.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
};
