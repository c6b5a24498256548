// What a node keeps of a register version for record reads (issue 15; services layer), in memory
// only (never written to disk, like the decrypted shares it comes from): the columns it read
// (decrypted once), the packed words, and this node's boolean shares of the person ids' bits
// (src/mpc/id-bits.ts), which the three nodes make together at the first read of the version and
// reuse, so that each later read's equality over every row is a local XOR and the AND tree.
// An entry is keyed by dataset, version, commit seq and content hash: a new version, or a version
// re-ingested after it was found damaged, replaces it; one entry per dataset (the version last read).
//
// agreedBits: the three nodes must use the bits of one and the same decomposition, so before a
// read they agree on the tags of the bits each holds (./cache-agreement.ts) and make the bits again
// together unless all three hold the same. One round of a few bytes; reveals only whether each
// node holds the bits of a version (nothing of the data or the person).
import type { AShare } from '../mpc/share.js';
import type { BShare } from '../mpc/boolean.js';
import { idBits } from '../mpc/id-bits.js';
import type { Party } from '../mpc/party.js';
import { agreeOnTags, storedVersionKey } from './cache-agreement.js';
import type { ShareStore } from './store.js';

/** A version's columns as this node read them, what is derived from them, and the id bits. */
export interface CachedVersion {
  key: string;
  cols: Map<string, AShare>;
  /** Packed words of a record register (src/mpc/select.ts packWords), once packed. */
  words?: AShare[];
  /** Per id column: its bits and the tag of the decomposition they came from. */
  bits: Map<string, { tag: string; bits: BShare }>;
}

export class RecordCache {
  private readonly entries = new Map<string, CachedVersion>();

  constructor(private readonly store: ShareStore) {}

  /** The entry key of `name@version` as stored now (a re-ingested version gets another seq and hash). */
  private keyOf(name: string, version: string): string {
    return storedVersionKey(this.store, name, version);
  }

  /** The entry of `name@version` with columns `which` loaded (decrypted once); replaces the dataset's entry of another version. */
  version(name: string, version: string, which: string[]): CachedVersion {
    const key = this.keyOf(name, version);
    let e = this.entries.get(name);
    if (e?.key !== key) {
      e = { key, cols: new Map(), bits: new Map() };
      this.entries.set(name, e);
    }
    const missing = which.filter((c) => !e.cols.has(c));
    if (missing.length) for (const [c, v] of this.store.load(name, version, missing)) e.cols.set(c, v);
    return e;
  }

  /** Whether this node holds the id bits of `column` for `name@version` as stored now (for tests and status). */
  hasBits(name: string, version: string, column: string): boolean {
    const e = this.entries.get(name);
    return e?.key === this.keyOf(name, version) && e.bits.has(column);
  }
}

/**
 * The id bits of each (entry, column), the same decomposition at all three nodes (module comment):
 * one round of tags, then one batched decomposition of the columns not held by all three alike.
 */
export async function agreedBits(p: Party, need: { entry: CachedVersion; column: string }[]): Promise<BShare[]> {
  const held = need.map(({ entry, column }) => entry.bits.get(column));
  const { held: alike, fresh } = await agreeOnTags(p, held.map((h) => h?.tag ?? null), 'id bits');
  const todo = need.map((_, i) => i).filter((i) => !alike[i]);
  const made = todo.length ? await idBits(p, todo.map((i) => need[i]!.entry.cols.get(need[i]!.column)!)) : [];
  const out = held.map((h) => h?.bits);
  todo.forEach((i, k) => {
    out[i] = made[k]!;
    need[i]!.entry.bits.set(need[i]!.column, { tag: `${fresh}/${i}`, bits: made[k]! });
  });
  return out as BShare[];
}
