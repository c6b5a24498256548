// EXISTS flags computed once and kept: `WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id =
// p.person_id AND c.diagnosis LIKE 'E11%')` is, per person, one bit that depends only on the two
// registers' person ids and the subquery's own condition, not on the rest of the query. Computed as
// a shared 0/1 column in the FROM register's stored row order (a join of FROM and the subquery's
// register with FROM's rows only, ./join-execute.ts fromRows), it rides along as one more column
// of FROM in this and any later join, which then no longer stacks and sorts the subquery's rows:
// population ⋈ income WHERE EXISTS contacts sorts the 182 k rows of population and income, not 633 k.
// Where both registers are stored in person order, the flag is made by the merge network alone
// (src/mpc/semi-merge.ts: the condition carried through it, an OR per person, the network back):
// no permutation, so no line-up to keep; where a line-up of the two registers is kept, the join
// reuses it. Follows no paper (a semi-join materialised per person). Reveals what the join of the
// two registers reveals (their sizes, already revealed by the join it replaces); the flag stays shared.
//
// Applies where FROM's person id is declared unique (one row per person before any filter: the flag
// is made for all its rows, FROM's own conditions still apply in the join) and the EXISTS reads one
// register without a date window, not folded into the many side's own rows. A row restriction on
// the person (a study's consent filter, join-execute.ts RowRestriction) is made without: it applies
// to the joined rows of the query that reads the flag, as it would to the EXISTS's rows (all of
// one person, whose joined rows it drops), so one flag serves runs under any consent state.
import { bitInject, lowBit } from '../mpc/convert.js';
import type { Party } from '../mpc/party.js';
import type { JoinLineup } from '../mpc/join.js';
import { semiJoinAgain, semiJoinMerged, type SemiLineup } from '../mpc/semi-merge.js';
import type { AShare } from '../mpc/share.js';
import { lapTimer, rowFilter } from './execute.js';
import { joinedRows, type JoinRunOptions, KEPT_EXISTS, KEY_BITS, keyColumnUnique, sharesOf } from './join-execute.js';
import { HAS, type JoinPlan, type JoinTablePlan, withoutTables } from './join-plan.js';

/** An EXISTS of a join plan whose flag can be kept on the FROM table's rows. */
export interface KeptExists {
  /** Index in JoinPlan.tables of the EXISTS's table, and of the FROM table whose rows carry its flag. */
  semi: number;
  anchor: number;
  /** The two registers (FROM's, the EXISTS's). */
  datasets: [string, string];
  /** What the flag depends on besides the registers' stored versions: person-id columns and condition. */
  signature: string;
}

/** The EXISTS subqueries of a join plan whose flags can be kept (see the module comment). */
export function keptExistsOf(jp: JoinPlan): KeptExists[] {
  if (jp.tables.some((t) => t.window)) return [];
  const anchor = jp.tables.findIndex((t) => t.kind === 'from');
  const A = jp.tables[anchor];
  if (!A || !keyColumnUnique(A) || A.over) return [];
  return jp.tables.flatMap((S, semi) =>
    S.kind === 'semi' && !S.fold && jp.order.includes(semi)
      ? [{ semi, anchor, datasets: [A.dataset.name, S.dataset.name] as [string, string], signature: `${A.dataset.name}.${A.key} ⋉ ${S.dataset.name}.${S.key} WHERE ${S.filterText ?? 'TRUE'}` }]
      : [],
  );
}

/** The join that makes an EXISTS's flag: FROM (all its rows, no conditions) and the EXISTS's table. */
export function existsJoin(jp: JoinPlan, k: KeptExists): JoinPlan {
  const A = jp.tables[k.anchor]!, S = jp.tables[k.semi]!;
  return { sql: '', plan: jp.plan, order: [0, 1], tables: [{ ...A, unique: true, filter: null, filterText: null, columns: [], reads: [A.key] }, S] };
}

/** A line-up an EXISTS flag's making can use or keep: a join's (join.ts) or a semi-join's (semi-merge.ts). */
export type FlagLineup = JoinLineup | SemiLineup;

export const isSemiLineup = (l: FlagLineup): l is SemiLineup => (l as SemiLineup).kind === 'semi-merge';

export interface ExistsFlagOptions extends Pick<JoinRunOptions, 'trace'> {
  /** The line-up of an earlier making over the same two registers (all three nodes hold it alike). */
  lineup?: FlagLineup;
  /** Gets the line-up this making made, to keep. */
  onLineup?: (l: FlagLineup) => void;
}

/**
 * The flag of one EXISTS: 0/1 per row of the FROM register as stored (shared). `tables` holds at
 * least the two registers' key and condition columns; `opts` may carry the line-up of an earlier
 * making. Both registers in person order: by the merge network alone (semi-merge.ts; with a kept
 * semi-join line-up, its network again); otherwise the join of the two (join-execute.ts). Reveals
 * the two registers' sizes.
 */
export function existsFlag(p: Party, jp: JoinPlan, k: KeptExists, tables: Map<string, Map<string, AShare>>, opts: ExistsFlagOptions = {}, report?: (f: number, what: string) => void): Promise<AShare> {
  // Not an async function: it would hold `tables` (the EXISTS's register) until the flag is made.
  const sub = existsJoin(jp, k);
  const l = opts.lineup;
  const merges = sub.tables.every((t) => t.sorted && !t.over);
  if (merges && (!l || isSemiLineup(l))) return flagByMerge(p, sub, tables, l ?? null, opts, report);
  const has = `${sub.tables[1]!.alias}.${HAS}`;
  const run: JoinRunOptions = { fromRows: true, only: [has], ...(l && !isSemiLineup(l) ? { lineup: l } : {}), ...(opts.onLineup ? { onLineup: opts.onLineup } : {}), ...(opts.trace ? { trace: opts.trace } : {}) };
  return joinedRows(p, sub, tables, run, report).then((virtual) => virtual.get(has)!);
}

/**
 * existsFlag by semi-merge.ts: the EXISTS's condition on its register's rows, the network (or that
 * of `lineup`, kept from an earlier making over the same registers, again), FROM's flags injected.
 */
function flagByMerge(p: Party, sub: JoinPlan, tables: Map<string, Map<string, AShare>>, lineup: SemiLineup | null, opts: ExistsFlagOptions, report?: (f: number, what: string) => void): Promise<AShare> {
  const [A, S] = sub.tables as [JoinTablePlan, JoinTablePlan];
  const lap = lapTimer(opts.trace);
  try {
    const sCols = tables.get(S.alias) ?? new Map<string, AShare>();
    const sKey = sharesOf(tables, S, S.key), aKey = sharesOf(tables, A, A.key);
    const kept = lineup && lineup.rows[0] === sKey.length && lineup.rows[1] === aKey.length ? lineup : null;
    const present = S.filter ? rowFilter(p, S.filter, sCols, sKey.length) : Promise.resolve(null);
    const onProgress = report ? { onProgress: (f: number) => report(0.05 + 0.7 * f, kept ? 'join: line-up reused' : 'join: merging') } : {};
    return present
      .then((c) => {
        lap('filters before the join');
        report?.(0.05, 'filters before the join');
        const bits = c && lowBit(c);
        if (kept) return semiJoinAgain(p, kept, bits, onProgress);
        return semiJoinMerged(p, { key: sKey, present: bits }, aKey, { keyBits: KEY_BITS, ...onProgress }).then(({ flags, lineup }) => {
          if (lineup) opts.onLineup?.(lineup);
          return flags;
        });
      })
      .then((bits) => {
        lap(kept ? 'join: the EXISTS by a kept merge network' : 'join: the EXISTS by the merge network');
        return bitInject(p, bits);
      })
      .then((flag) => {
        lap(`the rows of ${A.dataset.name} only`);
        return flag;
      });
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * The join plan without the EXISTS tables whose flags are given, each flag one more column of the
 * FROM table (read as `<alias>.__has` in the joined rows), and the tables' shares to match. Local.
 */
export function withKeptExists(jp: JoinPlan, tables: Map<string, Map<string, AShare>>, flags: { k: KeptExists; flag: AShare }[]): { jp: JoinPlan; tables: Map<string, Map<string, AShare>> } {
  if (!flags.length) return { jp, tables };
  const anchor = flags[0]!.k.anchor;
  if (flags.some((f) => f.k.anchor !== anchor)) throw new Error('withKeptExists: flags on different tables');
  const drop = new Set(flags.map((f) => f.k.semi));
  const A = jp.tables[anchor]!;
  const names = flags.map((f) => `${KEPT_EXISTS}${jp.tables[f.k.semi]!.alias}`);
  const out = new Map([...tables].filter(([alias]) => !flags.some((f) => jp.tables[f.k.semi]!.alias === alias)));
  out.set(A.alias, new Map([...(tables.get(A.alias) ?? []), ...flags.map((f, i) => [names[i]!, f.flag] as const)]));
  return { jp: withoutTables(jp, drop, anchor, { ...A, columns: [...A.columns, ...names] }), tables: out };
}

/**
 * Every EXISTS whose flag can be kept made now, in process (no cache: tests, benchmarks), and the
 * join plan without their registers (withKeptExists). Reveals what existsFlag reveals.
 */
export async function withExistsFlags(p: Party, jp: JoinPlan, tables: Map<string, Map<string, AShare>>, opts: Pick<JoinRunOptions, 'trace'> = {}): Promise<{ jp: JoinPlan; tables: Map<string, Map<string, AShare>> }> {
  const flags: { k: KeptExists; flag: AShare }[] = [];
  for (const k of keptExistsOf(jp)) flags.push({ k, flag: await existsFlag(p, jp, k, tables, opts) });
  return withKeptExists(jp, tables, flags);
}
