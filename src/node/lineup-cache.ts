// Reveals: nothing new beyond whether each of the other two nodes holds a join's line-up
// (./cache-agreement.ts); applying a sort's permutation again reveals nothing (src/mpc/sort.ts).
//
// Joins' line-ups kept by a node in memory (services layer; never written to disk) for the next
// query joining the same registers: the oblivious sort by person id (src/mpc/join.ts JoinLineup:
// the sort's (or merge's) secret permutation and where a key repeats) depends only on the
// registers' person-id columns, so a researcher's second query over population ⋈ contacts, with
// other conditions, groups or aggregates, moves its own columns by the kept permutation (one
// shuffle, 3 rounds) instead of sorting again (≈ 65 % of a join). Made by the first join (it costs
// nothing more than the sort), follows no paper (as the indicator cache, ./indicator-cache.ts).
//
// An entry's key is the join's inputs (src/query/join-execute.ts lineupInputs: registers in join
// order, person-id column, uniqueness) with each register's version as stored now (a re-ingest is
// another key). Before a join uses an entry the three nodes agree that all three hold it with the
// same tag; otherwise all three sort and keep the new line-up under node 0's fresh tag.
//
// Bounded: ≈ 28 bytes per joined row; least recently used entries go first once the entries exceed
// the byte budget (the job runner gives a quarter of its jobs' memory budget, src/node/jobs.ts).
import { lineupBytes, type JoinLineup } from '../mpc/join.js';
import type { Party } from '../mpc/party.js';
import { lineupInputs, type JoinRunOptions } from '../query/join-execute.js';
import type { JoinPlan } from '../query/join-plan.js';
import { TaggedCache } from './byte-lru.js';
import { agreeOnTags, storedVersionKey } from './cache-agreement.js';
import type { ShareStore } from './store.js';

/** A node's kept line-ups (see the module comment). */
export class LineupCache extends TaggedCache<JoinLineup> {
  constructor(o: { bytes: number }) {
    super(o, lineupBytes);
  }
}

/**
 * The join options that use a kept line-up for this join (all three nodes hold it alike), or that
 * keep the one the join will make; {} where the join's sort is of something derived (lineupInputs).
 * One round of tags when the join can use one.
 */
export async function agreedLineup(p: Party, cache: LineupCache, store: ShareStore, jp: JoinPlan, versions: Record<string, string>, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'> = {}): Promise<Pick<JoinRunOptions, 'lineup' | 'onLineup'>> {
  const inputs = lineupInputs(jp, opts);
  if (!inputs) return {};
  const key = `${inputs.signature} @ ${inputs.datasets.map((d) => storedVersionKey(store, d, versions[d]!)).join(' ')}`;
  // Taken before waiting for the peers: another job may replace the entry meanwhile.
  const mine = cache.find(key);
  const { held, fresh } = await agreeOnTags(p, [mine?.tag ?? null], 'join line-up', inputs.signature);
  if (held[0] && mine) {
    cache.used++;
    return { lineup: mine.value };
  }
  cache.delete(key);
  return { onLineup: (lineup) => cache.put(key, fresh, lineup) };
}
