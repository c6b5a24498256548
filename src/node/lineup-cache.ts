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
//
// Beside it, the joined rows themselves (JoinedCache, src/query/join-execute.ts KeptJoin): a
// prevalence's denominator joins the same registers under the same conditions as its numerator
// and reads the same columns or fewer, so it takes the numerator's joined rows (the shares the
// join made: its validity, the registers' columns at the joined rows) and runs no filter, line-up
// or scan. Keyed by the line-up's key and the join's conditions (keptJoinInputs); agreed in the
// same round as the line-up, under their own tag: a node whose join did not finish holds another
// tag, and all three join again. 16 bytes per joined row and column; an eighth of the budget.
import { lineupBytes, type JoinLineup } from '../mpc/join.js';
import type { Party } from '../mpc/party.js';
import { semiLineupBytes, type SemiLineup } from '../mpc/semi-merge.js';
import type { AShare } from '../mpc/share.js';
import { isSemiLineup, type ExistsFlagOptions } from '../query/exists-flags.js';
import { keptJoinInputs, lineupInputs, type JoinRunOptions, type KeptJoin } from '../query/join-execute.js';
import type { JoinPlan } from '../query/join-plan.js';
import { TaggedCache } from './byte-lru.js';
import { agreeOnTags, storedVersionKey } from './cache-agreement.js';
import type { ShareStore } from './store.js';

/** A node's kept line-ups (see the module comment): joins' (join.ts) and EXISTS flags' semi-joins (semi-merge.ts). */
export class LineupCache extends TaggedCache<JoinLineup | SemiLineup> {
  constructor(o: { bytes: number }) {
    super(o, (l) => (isSemiLineup(l) ? semiLineupBytes(l) : lineupBytes(l)));
  }
}

/** A node's kept joined rows (see the module comment). */
export class JoinedCache extends TaggedCache<KeptJoin> {
  constructor(o: { bytes: number }) {
    super(o, (k) => [...k.columns.values()].reduce((s, x: AShare) => s + 16 * x.length, 0));
  }
}

/**
 * The join options that use a kept line-up for this join (all three nodes hold it alike), or that
 * keep the one the join will make; {} where the join's sort is of something derived (lineupInputs).
 * With `joined`, also the joined rows kept from an earlier join under the same conditions where all
 * three hold them alike, and a callback that keeps the rows this join makes. One round of tags
 * when the join can use one. A semi-join's line-up kept under the same inputs is not a join's: the
 * join sorts and keeps its own in its place.
 */
export async function agreedLineup(p: Party, cache: LineupCache, store: ShareStore, jp: JoinPlan, versions: Record<string, string>, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'> = {}, joined?: JoinedCache): Promise<Pick<JoinRunOptions, 'lineup' | 'onLineup' | 'joined' | 'onJoined'>> {
  return agreed(p, cache, store, jp, versions, opts, joined, (l): l is JoinLineup => !isSemiLineup(l));
}

/** agreedLineup for an EXISTS flag's join (src/query/exists-flags.ts): a join's line-up or a semi-join's. */
export function agreedFlagLineup(p: Party, cache: LineupCache, store: ShareStore, jp: JoinPlan, versions: Record<string, string>): Promise<Pick<ExistsFlagOptions, 'lineup' | 'onLineup'>> {
  return agreed(p, cache, store, jp, versions, { fromRows: true }, undefined, (l): l is JoinLineup | SemiLineup => true);
}

async function agreed<L extends JoinLineup | SemiLineup>(p: Party, cache: LineupCache, store: ShareStore, jp: JoinPlan, versions: Record<string, string>, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'>, joined: JoinedCache | undefined, usable: (l: JoinLineup | SemiLineup) => l is L): Promise<{ lineup?: L; onLineup?: (l: JoinLineup | SemiLineup) => void } & Pick<JoinRunOptions, 'joined' | 'onJoined'>> {
  const inputs = lineupInputs(jp, opts);
  if (!inputs) return {};
  const key = `${inputs.signature} @ ${inputs.datasets.map((d) => storedVersionKey(store, d, versions[d]!)).join(' ')}`;
  const kept = joined ? keptJoinInputs(jp, opts) : null;
  const joinedKey = kept ? `${key} | ${kept}` : null;
  // Taken before waiting for the peers: another job may replace the entries meanwhile.
  const found = cache.find(key);
  const mine = found && usable(found.value) ? found : undefined;
  const mineJoined = joinedKey ? joined!.find(joinedKey) : undefined;
  const { held, fresh } = await agreeOnTags(p, [mine?.tag ?? null, ...(joinedKey ? [mineJoined?.tag ?? null] : [])], 'join line-up', `${inputs.signature}${joinedKey ? ' (and its joined rows)' : ''}`);
  const out: { lineup?: L; onLineup?: (l: JoinLineup | SemiLineup) => void } & Pick<JoinRunOptions, 'joined' | 'onJoined'> = {};
  if (joinedKey) {
    if (held[1] && mineJoined) (joined!.used++, (out.joined = mineJoined.value));
    else joined!.delete(joinedKey);
    // Replaced by the rows of every join that runs (the last query's columns), under this round's tag.
    out.onJoined = (k) => joined!.put(joinedKey, fresh, k);
  }
  if (held[0] && mine) {
    cache.used++;
    out.lineup = mine.value as L;
  } else {
    cache.delete(key);
    out.onLineup = (lineup) => cache.put(key, fresh, lineup);
  }
  return out;
}
