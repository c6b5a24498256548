// Proof that one entry is in the log all three nodes signed (RFC 9162 §2.1.3, inclusion proof), in
// the browser: the entry's leaf hash computed here from its canonical JSON; a tree head covering it
// whose three Ed25519 signatures verify here under the nodes' keys (the audit's latest, or each
// node's latest head); and each node's audit path from that leaf to the head's root, checked here.
// Nothing is taken on a node's word: a node that lies about the path, or a copy of the entry that
// was changed, fails the check.
import type { Party } from '../../../src/ledger/audit.js';
import { canonicalJson, type LedgerEntry } from '../../../src/ledger/entry.js';
import { coSignatureFindings, type SignedHead } from '../../../src/ledger/heads.js';
import { fromHex, leafHash, toHex, verifyInclusion } from '../../../src/ledger/merkle.js';
import type { TrustAnchor } from '../../../src/ledger/verify.js';
import { inclusionProof, latestHead } from './log-source.js';
import { words } from './log-text.js';

export interface NodeProof {
  party: Party;
  name: string;
  ok: boolean;
  /** The audit path, sibling hashes from the leaf up. */
  path?: string[];
  error?: string;
}

export interface InclusionCheck {
  seq: number;
  leafHash: string;
  head?: SignedHead;
  /** Each node's signature on the head. */
  signatures: { party: Party; name: string; ok: boolean; problem?: string }[];
  proofs: NodeProof[];
  /** Included in a head all three nodes signed, proved by every node that answered, and no node's proof failed. */
  ok: boolean;
  /** What went wrong, in plain words, when not ok. */
  problem?: string;
}

/** Heads all three nodes signed, from the audit (if any) or from each node's latest head; the largest covering `seq`. */
async function signedHeadCovering(seq: number, anchor: TrustAnchor, top?: SignedHead): Promise<SignedHead | undefined> {
  const candidates: SignedHead[] = top ? [top] : [];
  const latest = await Promise.allSettled(([0, 1, 2] as Party[]).map((p) => latestHead(p)));
  for (const l of latest) if (l.status === 'fulfilled' && l.value) candidates.push(l.value);
  const good = candidates.filter((h) => h.size > seq && h.cluster === anchor.cluster && coSignatureFindings(h, anchor.keys, anchor.names).length === 0);
  return good.sort((a, b) => b.size - a.size)[0];
}

export async function checkInclusion(entry: LedgerEntry, anchor: TrustAnchor, top?: SignedHead): Promise<InclusionCheck> {
  const seq = entry.seq;
  const leaf = leafHash(canonicalJson(entry));
  const out: InclusionCheck = { seq, leafHash: toHex(leaf), signatures: [], proofs: [], ok: false };
  const head = await signedHeadCovering(seq, anchor, top);
  if (!head) {
    out.problem = `No tree head signed by all three nodes covers entry ${seq} yet (or no node answered with one).`;
    return out;
  }
  out.head = head;
  const sig = coSignatureFindings(head, anchor.keys, anchor.names);
  out.signatures = ([0, 1, 2] as Party[]).map((p) => {
    const bad = sig.find((s) => s.party === p);
    return { party: p, name: anchor.names[p], ok: !bad, ...(bad ? { problem: bad.message } : {}) };
  });
  out.proofs = await Promise.all(
    ([0, 1, 2] as Party[]).map(async (p): Promise<NodeProof> => {
      const name = anchor.names[p];
      try {
        const r = await inclusionProof(p, seq, head.size);
        const path = r.path.map((h) => fromHex(h, 'a proof hash'));
        return { party: p, name, path: r.path, ok: verifyInclusion(leaf, seq, head.size, path, fromHex(head.rootHash)) };
      } catch (e) {
        return { party: p, name, ok: false, error: (e as Error).message };
      }
    }),
  );
  const failed = out.proofs.filter((x) => !x.ok);
  out.ok = failed.length === 0;
  if (!out.ok) {
    const silent = failed.filter((f) => f.error).map((f) => `${f.name} gave no proof (${f.error}).`);
    const wrong = failed.filter((f) => !f.error).map((f) => f.name);
    const all = wrong.length === out.proofs.length;
    const lead = all
      ? 'No node’s proof leads'
      : `${words(wrong.map((w) => `${w}’s proof`))} ${wrong.length === 1 ? 'does' : 'do'} not lead`;
    const why = all ? 'this copy is not the entry the three nodes signed' : `this copy is not the entry the nodes signed, or ${words(wrong)} ${wrong.length === 1 ? 'holds' : 'hold'} another`;
    out.problem = [...(wrong.length ? [`${lead} from this copy of entry ${seq} to the signed root: ${why}.`] : []), ...silent].join(' ');
  }
  return out;
}
