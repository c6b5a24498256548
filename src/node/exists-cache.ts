// Reveals: nothing new beyond whether each of the other two nodes holds an EXISTS's flag or a
// carried column (./cache-agreement.ts); making one reveals the registers' sizes, as the join it replaces.
//
// EXISTS flags kept by a node in memory (services layer; never written to disk) for the next
// query or analysis table with the same EXISTS (src/query/exists-flags.ts: per row of the FROM
// register, whether the person has a row of the EXISTS's register meeting its condition; shared
// 0/1, 16 bytes per row). The query then joins without the EXISTS's register: the main job's
// diabetes-by-income study and its statistics' analysis table no longer sort the 451 k contacts
// that the diabetes prevalence study already linked. Follows no paper (as ./lineup-cache.ts).
//
// An entry's key is the flag's signature (the two registers, their person-id columns, the EXISTS's
// condition as written after planning) with each register's version as stored now (a re-ingest is
// another key). Before a job uses entries the three nodes agree that all three hold them with the
// same tag; the others all three make now (the join of the two registers, with a kept line-up of
// that join where there is one) and keep under node 0's fresh tag.
//
// The columns of a join carried onto FROM's rows (src/query/carried-join.ts: a LEFT or INNER JOIN
// of a register with one row per person) are kept the same way, one entry per column and its match
// flag, keyed by the join's signature (the two registers, their person-id columns, the ON conditions)
// and the stored versions: the income studies' denominator and the statistics' analysis table take
// the income quintile the numerator carried.
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import { carriedColumns, carriedJoinsOf, carriedLineupJoin, type CarriedJoin, withCarriedJoins } from '../query/carried-join.js';
import { existsFlag, existsJoin, isSemiLineup, keptExistsOf, withKeptExists } from '../query/exists-flags.js';
import type { JoinRunOptions } from '../query/join-execute.js';
import { HAS, type JoinPlan } from '../query/join-plan.js';
import { TaggedCache } from './byte-lru.js';
import { agreeOnTags, storedVersionKey } from './cache-agreement.js';
import { agreedFlagLineup, type LineupCache } from './lineup-cache.js';
import type { ShareStore } from './store.js';

/** A node's kept EXISTS flags (see the module comment). */
export class ExistsCache extends TaggedCache<AShare> {
  constructor(o: { bytes: number }) {
    super(o, (flag) => 16 * flag.length);
  }
}

/**
 * The join plan to run and its tables' shares as stored (every column each reads), with every
 * EXISTS whose flag can be kept taken from the cache (all three nodes hold it alike) or made now and
 * kept; an EXISTS's register is read only to make its flag. One round of tags where the plan has
 * such an EXISTS, plus the making.
 */
export async function agreedExists(
  p: Party,
  caches: { exists: ExistsCache; lineups?: LineupCache },
  store: ShareStore,
  jp: JoinPlan,
  versions: Record<string, string>,
  opts: Pick<JoinRunOptions, 'trace'> & { report?: (f: number, what: string) => void } = {},
): Promise<{ jp: JoinPlan; tables: Map<string, Map<string, AShare>> }> {
  const ks = keptExistsOf(jp);
  const loaded = new Map<string, Map<string, AShare>>();
  const load = (alias: string) => {
    const t = jp.tables.find((x) => x.alias === alias)!;
    return store.load(t.dataset.name, versions[t.dataset.name]!, t.reads);
  };
  const get = (alias: string) => loaded.get(alias) ?? loaded.set(alias, load(alias)).get(alias)!;
  const all = () => new Map(jp.tables.map((t) => [t.alias, get(t.alias)]));
  if (!ks.length) return agreedCarried(p, caches, store, jp, all(), versions, opts);
  const cache = caches.exists;
  const keys = ks.map((k) => `${k.signature} @ ${k.datasets.map((d) => storedVersionKey(store, d, versions[d]!)).join(' ')}`);
  // Taken before waiting for the peers: another job may replace an entry meanwhile.
  const mine = keys.map((key) => cache.find(key));
  const { held, fresh } = await agreeOnTags(p, mine.map((m) => m?.tag ?? null), 'EXISTS flag', ks.map((k) => k.signature).join('\n'));
  const flags: { k: (typeof ks)[number]; flag: AShare }[] = [];
  for (const [i, k] of ks.entries()) {
    if (held[i] && mine[i]) {
      cache.used++;
      flags.push({ k, flag: mine[i]!.value });
      continue;
    }
    cache.delete(keys[i]!);
    const sub = existsJoin(jp, k);
    const lineup = caches.lineups ? await agreedFlagLineup(p, caches.lineups, store, sub, versions) : {};
    const report = opts.report ? (f: number, what: string) => opts.report!(f, `the EXISTS over ${sub.tables[1]!.dataset.name} (${what})`) : undefined;
    // The EXISTS's register is read for its flag only and held by the join alone (not by `loaded`),
    // so its columns go once the join has stacked them.
    const semi = sub.tables[1]!.alias;
    const flag = await existsFlag(p, jp, k, new Map(sub.tables.map((t) => [t.alias, t.alias === semi ? load(t.alias) : get(t.alias)])), { ...lineup, ...(opts.trace ? { trace: opts.trace } : {}) }, report);
    cache.put(keys[i]!, fresh, flag);
    flags.push({ k, flag });
  }
  const semis = new Set(ks.map((k) => jp.tables[k.semi]!.alias));
  const kept = withKeptExists(jp, new Map(jp.tables.filter((t) => !semis.has(t.alias)).map((t) => [t.alias, get(t.alias)])), flags);
  return agreedCarried(p, caches, store, kept.jp, kept.tables, versions, opts);
}

/**
 * The join plan with every join whose columns can be carried onto FROM's rows carried
 * (src/query/carried-join.ts): each column taken from the cache where all three nodes hold it
 * alike, the others made now (one merge per joined register, its network kept with the line-ups)
 * and kept. One round of tags where the plan has such a join, plus the making.
 */
async function agreedCarried(
  p: Party,
  caches: { exists: ExistsCache; lineups?: LineupCache },
  store: ShareStore,
  jp: JoinPlan,
  tables: Map<string, Map<string, AShare>>,
  versions: Record<string, string>,
  opts: Pick<JoinRunOptions, 'trace'>,
): Promise<{ jp: JoinPlan; tables: Map<string, Map<string, AShare>> }> {
  const ks = carriedJoinsOf(jp);
  if (!ks.length) return { jp, tables };
  const cache = caches.exists;
  const wanted = ks.flatMap((k) => [HAS, ...k.columns.map((c) => c.name)].map((column) => ({ k, column, key: `${k.signature} :: ${column} @ ${k.datasets.map((d) => storedVersionKey(store, d, versions[d]!)).join(' ')}` })));
  const mine = wanted.map((w) => cache.find(w.key));
  const { held, fresh } = await agreeOnTags(p, mine.map((m) => m?.tag ?? null), 'carried join column', wanted.map((w) => `${w.k.signature} :: ${w.column}`).join('\n'));
  // Per join, the columns all three hold; the others made now, every such join through one network
  // (a join alone through its kept network where there is one).
  const have = ks.map(() => new Map<string, AShare>());
  const missing = ks.map(() => [] as string[]);
  wanted.forEach((w, i) => {
    const j = ks.indexOf(w.k);
    if (held[i] && mine[i]) (cache.used++, have[j]!.set(w.column, mine[i]!.value));
    else (cache.delete(w.key), missing[j]!.push(w.column));
  });
  const todo = ks.flatMap((k, j) => (missing[j]!.length ? [{ k, only: missing[j]! }] : []));
  if (todo.length) {
    const flagLineup = todo.length === 1 && caches.lineups ? await agreedFlagLineup(p, caches.lineups, store, carriedLineupJoin(jp, todo[0]!.k), versions) : {};
    const lineup = flagLineup.lineup && isSemiLineup(flagLineup.lineup) ? flagLineup.lineup : undefined;
    const got = await carriedColumns(p, jp, todo, tables, { ...(lineup ? { lineup } : {}), ...(flagLineup.onLineup ? { onLineup: flagLineup.onLineup } : {}), ...(opts.trace ? { trace: opts.trace } : {}) });
    todo.forEach(({ k, only }, t) => {
      const j = ks.indexOf(k);
      for (const column of only) {
        const v = got[t]!.get(column)!;
        have[j]!.set(column, v);
        cache.put(wanted.find((w) => w.k === k && w.column === column)!.key, fresh, v);
      }
    });
  }
  const made: { k: CarriedJoin; columns: Map<string, AShare> }[] = ks.map((k, j) => ({ k, columns: have[j]! }));
  return withCarriedJoins(jp, tables, made);
}
