// A helper thread of the audit worker (./audit-worker.ts): checks the three Ed25519 signatures of a
// batch of tree-head lines (headSignatureChecks, the audit's own check) and posts the results back.
// Several run at once, one per core: signatures are most of an audit's work.
import { headSignatureChecks, type TrustAnchor } from '../../../src/ledger/verify.js';

const ctx = self as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent<{ anchor: TrustAnchor; lines: string[] }>) => void) | null };

ctx.onmessage = (e) => ctx.postMessage(headSignatureChecks(e.data.lines, e.data.anchor));
