// What a node's in-memory caches of shares (services layer: ./record-cache.ts, the id bits of a
// register version; ./analysis-cache.ts, built analysis tables) have in common: the key of a stored
// register version as it is now, and the round in which the three nodes agree that each of them
// holds the same entry before a job uses it (shares of two different makings do not fit together).
//
// agreeOnTags follows no paper: each node sends the other two the tags of the entries it holds
// (random, drawn by node 0 when the entry was made) and node 0 a fresh tag for the entries made now;
// an entry is used where all three hold the same tag and made again by all three otherwise. One
// round of a few bytes; reveals only whether each node holds each entry (nothing of the data).
import { randomBytes } from 'node:crypto';
import type { Party } from '../mpc/party.js';
import { PARTIES } from '../net/channel.js';
import type { ShareStore } from './store.js';

/** The key of `name@version` as stored now: a re-ingested version gets another seq and content hash. */
export function storedVersionKey(store: ShareStore, name: string, version: string): string {
  const m = store.get(name, version);
  return `${name}@${version}#${m.seq}:${m.contentHash}`;
}

/**
 * One round: which of the entries whose tags this node holds (`mine`, null = not held) all three
 * hold alike, and node 0's fresh tag for those made again now. `same`: public text all three must
 * send alike (e.g. a digest of what they would make), else the job fails here, before any MPC on it.
 */
export async function agreeOnTags(p: Party, mine: (string | null)[], what: string, same = ''): Promise<{ held: boolean[]; fresh: string }> {
  const msg = Buffer.from(JSON.stringify({ tags: mine, same, fresh: p.id === 0 ? randomBytes(16).toString('hex') : null }));
  const peers = PARTIES.filter((q) => q !== p.id);
  for (const q of peers) p.net.send(q, new Uint8Array(msg));
  const got = new Map<number, { tags: (string | null)[]; fresh: string | null }>([[p.id, JSON.parse(msg.toString())]]);
  for (const q of peers) {
    const m = JSON.parse(Buffer.from(await p.net.recv(q)).toString()) as { tags?: unknown; same?: unknown; fresh?: unknown };
    if (!Array.isArray(m.tags) || m.tags.length !== mine.length || !m.tags.every((t) => t === null || typeof t === 'string')) throw new Error(`${what}: node ${q} sent a malformed list of tags`);
    if (m.same !== same) throw new Error(`${what}: node ${q} plans another ${what} than this node (${String(m.same)} ≠ ${same})`);
    got.set(q, { tags: m.tags as (string | null)[], fresh: typeof m.fresh === 'string' ? m.fresh : null });
  }
  const fresh = got.get(0)!.fresh;
  if (!fresh) throw new Error(`${what}: node 0 sent no tag for new entries`);
  return { held: mine.map((t, i) => t !== null && PARTIES.every((q) => got.get(q)!.tags[i] === t)), fresh };
}
