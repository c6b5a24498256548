// The transparency log as the auditor's page reads it: each node's public log routes through
// `mosaik web`'s relay (GET /api/nodes/:party/v1/ledger/…), with no identity (the log is public).
// Plain fetch, so the verification worker (./audit-worker.ts) uses it too. The relay pins the nodes'
// TLS certificates; the page checks what comes back against the nodes' signing keys itself.
import { fetchAll, getOk, type NodeGet, type Party } from '../../../src/ledger/audit.js';
import type { LedgerEntry } from '../../../src/ledger/entry.js';
import type { SignedHead } from '../../../src/ledger/heads.js';

/** One GET to node `party` through the relay: its status and JSON body. Throws when the relay is unreachable. */
export const relayGet: NodeGet = async (party, path) => {
  let r: Response;
  try {
    r = await fetch(`/api/nodes/${party}${path}`, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new Error(`the web server cannot be reached (${(e as Error).message})`);
  }
  const text = await r.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: `not JSON: ${text.slice(0, 80)}` };
  }
  return { status: r.status, body };
};

/** All entries of node `party`'s replica, page by page (for the timeline). */
export const fetchEntries = (party: Party, onProgress?: (done: number, total: number) => void): Promise<LedgerEntry[]> => fetchAll<LedgerEntry>(relayGet, party, 'entries', onProgress);

/** Node `party`'s latest co-signed head (undefined before the first). */
export async function latestHead(party: Party): Promise<SignedHead | undefined> {
  const r = await relayGet(party, '/v1/ledger/head');
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error((r.body as { error?: string } | null)?.error ?? `HTTP ${r.status}`);
  return r.body as SignedHead;
}

/** Node `party`'s inclusion proof of entry `seq` in the tree of `size` entries (RFC 9162 §2.1.3). */
export async function inclusionProof(party: Party, seq: number, size: number): Promise<{ leafHash: string; rootHash: string; path: string[] }> {
  return getOk(relayGet, party, `/v1/ledger/proof/inclusion?seq=${seq}&size=${size}`);
}
