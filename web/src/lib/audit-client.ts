// Starts the audit for the page in a Web Worker (./audit-worker.ts), so the page stays responsive
// while it hashes and checks signatures. Resolves with the verdict; `stop()` ends a running audit.
import type { AuditProgress } from '../../../src/ledger/audit.js';
import type { Verdict, VerifyRequest } from './log-audit.js';

export interface RunningAudit {
  done: Promise<Verdict>;
  stop(): void;
}

export function startAudit(req: VerifyRequest, onProgress: (p: AuditProgress) => void): RunningAudit {
  const w = new Worker(new URL('./audit-worker.ts', import.meta.url), { type: 'module' });
  let fail: (e: Error) => void = () => {};
  const done = new Promise<Verdict>((ok, no) => {
    fail = no;
    w.onmessage = (e: MessageEvent<{ type: string; p?: AuditProgress; verdict?: Verdict; message?: string }>) => {
      const m = e.data;
      if (m.type === 'progress' && m.p) onProgress(m.p);
      else if (m.type === 'done' && m.verdict) {
        w.terminate();
        ok(m.verdict);
      } else if (m.type === 'error') {
        w.terminate();
        no(new Error(m.message ?? 'the verification stopped'));
      }
    };
    w.onerror = (e) => {
      w.terminate();
      no(new Error(`the verification worker failed: ${e.message || 'unknown error'}`));
    };
  });
  w.postMessage(req);
  return {
    done,
    stop: () => {
      w.terminate();
      fail(new Error('stopped'));
    },
  };
}
