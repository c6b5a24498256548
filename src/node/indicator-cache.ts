// Reveals: nothing new beyond whether each of the other two nodes holds, or was asked before for, a
// column's indicators (./cache-agreement.ts).
//
// One-hot indicators of a register's small-domain columns (src/mpc/one-hot.ts: [x = v] per value v
// of a code list, a bool or an int column of at most 64 declared values), kept by a node in memory
// (services layer; never written to disk, like the decrypted shares they come from) for the next
// queries over the same register version. The second query whose WHERE and GROUP BY read only such
// columns makes them (one bit decomposition, the minterms, one bit injection per value; the first
// runs with comparisons and notes that it could have used them), and every later one forms its
// cells from them without any comparison (src/query/one-hot-cells.ts): a
// grouped SUM is then one round of inner products. Follows no paper (as the record cache,
// ./record-cache.ts, whose agreement round it shares).
//
// An entry's key is the register version as stored now (name, version, commit seq and content hash:
// a re-ingested version is another key) and the column. Before a query uses entries the three nodes
// agree that all of them hold each with the same tag; the ones not held alike are made again by all
// three together under node 0's fresh tag. Whether a query uses indicators follows from its plan, the
// schema and the row count alone, so all three nodes decide alike.
//
// Bounded: D·n·16 bytes per column of D values and n rows; a column of more than 2^24 lanes (D·n) is
// never made; least recently used entries go first once the entries exceed the byte budget (the job
// runner gives a quarter of its jobs' memory budget, src/node/jobs.ts).
import { oneHot } from '../mpc/one-hot.js';
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import { groupsBySorting } from '../query/execute.js';
import { oneHotCellPlan, oneHotDomain, type IndicatorMap, type Indicators } from '../query/one-hot-cells.js';
import type { QueryPlan } from '../query/plan.js';
import { ByteLru } from './byte-lru.js';
import { agreeOnTags, storedVersionKey } from './cache-agreement.js';
import type { ShareStore } from './store.js';

/** The most lanes (values × rows) of one column's indicators. */
export const INDICATOR_MAX_LANES = 1 << 24;
/** Keys remembered as wanted (a few bytes each). */
const SEEN_MAX = 4096;

interface Entry {
  tag: string;
  ind: Indicators;
}

export class IndicatorCache {
  private readonly entries: ByteLru<Entry>;
  /** Keys a query could have used that were not made then (the most recent SEEN_MAX). */
  private readonly seen = new Set<string>();
  /** Columns whose indicators this node made (for tests and status). */
  made = 0;

  constructor(o: { bytes: number }) {
    this.entries = new ByteLru(o.bytes);
  }

  /** The entry of `key`, marked used. */
  find(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** Keeps `ind` under `key`; evicts the least recently used beyond the budget (one larger than the budget is not kept). */
  put(key: string, tag: string, ind: Indicators): void {
    this.entries.set(key, { tag, ind }, ind.cols.reduce((s, c) => s + c.length * 16, 0));
  }

  /** Whether a query could have used the indicators of `key` before. */
  wasWanted(key: string): boolean {
    return this.seen.has(key);
  }

  /** Notes that a query could have used the indicators of `key`. */
  want(key: string): void {
    this.seen.delete(key);
    this.seen.add(key);
    for (const k of this.seen) {
      if (this.seen.size <= SEEN_MAX) break;
      this.seen.delete(k);
    }
  }

  clear(): void {
    this.entries.clear();
    this.seen.clear();
  }

  /** Entries and their bytes (for tests and status). */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.entries.bytes };
  }
}

/**
 * The columns whose indicators would form the cells of `plan` over `rows` rows: every column its
 * WHERE and GROUP BY compare, when each has a small domain and the plan fits (one-hot-cells.ts);
 * else none. The same at every node (plan, schema and row count only).
 */
export function indicatorColumns(plan: QueryPlan, rows: number): { column: string; lo: bigint; values: number }[] {
  if (groupsBySorting(plan)) return [];
  const columns = [...new Set(plan.atoms.map((a) => a.column))];
  const want: { column: string; lo: bigint; values: number }[] = [];
  for (const column of columns) {
    const spec = plan.dataset.columns.find((c) => c.name === column);
    const d = spec ? oneHotDomain(spec, plan.codeLists) : null;
    if (!d || d.values * rows > INDICATOR_MAX_LANES) return [];
    want.push({ column, ...d });
  }
  const shape = new Map(want.map((w) => [w.column, { lo: w.lo, cols: new Array(w.values) }]));
  return want.length && oneHotCellPlan(plan, shape) ? want : [];
}

/**
 * The indicators `plan` can use at this party, or null when it uses none: the kept ones where all
 * three nodes hold them alike (one round of tags), the others made now by all three and kept —
 * from the second query that could use them on, so that a register version queried once pays no
 * more than the comparisons (making them costs several such queries: ≈ 1 s per value at 2^22 rows
 * on this machine, bench/RESULTS.md). `cols`: this party's shares of the columns the plan reads.
 */
export async function agreedIndicators(p: Party, cache: IndicatorCache, store: ShareStore, o: { dataset: string; version: string; plan: QueryPlan; rows: number; cols: ReadonlyMap<string, AShare>; progress?: (what: string) => void }): Promise<IndicatorMap | null> {
  const want = indicatorColumns(o.plan, o.rows);
  if (!want.length) return null;
  const stored = storedVersionKey(store, o.dataset, o.version);
  const keys = want.map((w) => `${stored}\u0000${w.column}`);
  // The tags this node holds, then whether an earlier query could have used each (all three must say so).
  // Entries taken now: another job may replace one while this one waits for the peers' tags.
  const entries = keys.map((k) => cache.find(k));
  const mine = [...entries.map((e) => e?.tag ?? null), ...keys.map((k) => (cache.wasWanted(k) ? 'wanted' : null))];
  const agreed = await agreeOnTags(p, mine, 'one-hot indicators', want.map((w) => `${w.column}:${w.lo}:${w.values}`).join(','));
  const held = agreed.held.slice(0, keys.length), wantedBefore = agreed.held.slice(keys.length), fresh = agreed.fresh;
  if (!keys.every((_, i) => held[i] || wantedBefore[i])) {
    for (const k of keys) cache.want(k);
    return null;
  }
  const out = new Map<string, Indicators>();
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    let ind = held[i] ? entries[i]!.ind : undefined;
    if (!ind) {
      o.progress?.(`making the one-hot indicators of ${w.column} (${w.values} values; once per register version)`);
      ind = { lo: w.lo, cols: await oneHot(p, o.cols.get(w.column)!, w.lo, w.values) };
      cache.made++;
      cache.put(keys[i]!, `${fresh}/${i}`, ind);
    }
    out.set(w.column, ind);
  }
  return out;
}
