// Runs a join plan (join-plan.ts) at one party: each table's own filter, the join on the person
// id (src/mpc/join.ts), the joined rows' validity from the per-table match flags, then the
// single-register execution (execute.ts) over the joined rows. Issue 17 adds: a table read through
// window functions is sorted by their ORDER BY first and gets its window columns after the join
// (src/mpc/window.ts); an EXISTS over the many side's own register is folded into it (OR-ed per
// person, not joined again); a many-to-many join sets each row beside the person's first b rows of
// the bounded table (src/mpc/pairs.ts), b·n rows. None of them reveals anything more. Reveals what join.ts and
// execute.ts reveal: table sizes, one bit per uniqueness check, the suppression bits and the
// released aggregates; not which persons matched, nor how many.
//
// A row restriction (RowRestriction, e.g. the consent filter of a governed study,
// src/governance/consent-mpc.ts) is one more table on the person id, joined in after the
// one-row-per-person tables (never as the only thing before a many side that has rows of its
// own: its rows come before the rows it restricts in each key's group, where its joined view is
// complete); its per-row usable flag is multiplied into the joined rows' validity (one more
// multiplication round). Its present rows must be at most one per person: declared, or checked
// (one revealed bit, as for any checked table).
import { add, addPublic, fromPublic, mulMany, subFromPublic } from '../mpc/arith.js';
import * as R from '../ring/ring64.js';
import { eventTable, followedWithin } from '../mpc/cohort.js';
import { joinOnKey, type JoinedTable, type JoinInput, type JoinLineup } from '../mpc/join.js';
import { sort, unsortPermutation } from '../mpc/sort.js';
import { anyInGroup, type WindowFn, windowValues } from '../mpc/window.js';
import { firstRowsBeside } from '../mpc/pairs.js';
import type { Party } from '../mpc/party.js';
import { AShare } from '../mpc/share.js';
import { PERSON_ID_LIMIT } from '../ingest/schema.js';
import { lapTimer, progressPart, rowFilter, runQuery, type QueryResult, type RunOptions } from './execute.js';
import { HAS, type JoinPlan, type JoinTablePlan, ROW } from './join-plan.js';
import { QueryError } from './parse.js';

/** Bits of a person id (keys below PERSON_ID_LIMIT). */
export const KEY_BITS = PERSON_ID_LIMIT.toString(2).length - 1;
/** Most joined rows of a many-to-many join (rows × bound) held at once. */
export const MAX_EXPANDED_ROWS = 1 << 25;

/**
 * A column of the FROM table named `${KEPT_EXISTS}<alias>` is the kept flag of the EXISTS over
 * <alias> (./exists-flags.ts): in the joined rows it is `<alias>.__has`, as if that table were joined.
 */
export const KEPT_EXISTS = '__exists:';
/**
 * A column of the FROM table named `${CARRIED}<alias>.<column>` is that column of a joined table
 * carried onto FROM's rows (./carried-join.ts): in the joined rows it is `<alias>.<column>` (and
 * `<alias>.__has` its match flag), as if that table were joined.
 */
export const CARRIED = '__carried:';
/** A table's column as the joined rows name it. */
const joinedName = (alias: string, c: string): string => (c.startsWith(KEPT_EXISTS) ? `${c.slice(KEPT_EXISTS.length)}.${HAS}` : c.startsWith(CARRIED) ? c.slice(CARRIED.length) : `${alias}.${c}`);

/** Product of 0/1 columns, as a balanced tree (one round per level); null for none. */
async function productAll(p: Party, xs: AShare[]): Promise<AShare | null> {
  let level = xs;
  while (level.length > 1) {
    const pairs: [AShare, AShare][] = [];
    for (let i = 0; i + 1 < level.length; i += 2) pairs.push([level[i]!, level[i + 1]!]);
    const prods = await mulMany(p, pairs);
    level = level.length % 2 ? [...prods, level[level.length - 1]!] : prods;
  }
  return level[0] ?? null;
}

/** A table on the person id that restricts which joined rows count (see the module comment). */
export interface RowRestriction {
  /** Its rows as a join input keyed by the person id; `unique` must not be false. */
  input: JoinInput;
  /** 0/1 per joined row from the restriction's joined view: 1 = the row may be used. Local or cheap. */
  usable: (p: Party, joined: JoinedTable) => AShare;
}

export interface JoinRunOptions extends RunOptions {
  restrict?: RowRestriction;
  /** The line-up of an earlier join over the same key columns (see lineupInputs): the join does not sort. */
  lineup?: JoinLineup;
  /** Gets the line-up the join made, to keep for the next join over the same key columns. */
  onLineup?: (lineup: JoinLineup) => void;
  /**
   * Joined rows kept from an earlier join (keptJoinInputs): where its signature is this join's and
   * it has every column this join makes, they are the joined rows (no filter, no join, no MPC).
   * The caller must have agreed with the other nodes that all three hold these same shares.
   */
  joined?: KeptJoin;
  /** Gets the joined rows this join made (those keptJoinInputs allows), to keep for the next query. */
  onJoined?: (kept: KeptJoin) => void;
  /**
   * The joined rows only at the FROM register's rows, in its stored order (joinedRows), where the
   * result has at most one row per FROM row: FROM declared one row per person, no table joined for
   * its many rows, no window functions, no date windows. E.g. an analysis table of population ⋈
   * income ⋈ EXISTS contacts has 100 k rows instead of 630 k. Ignored where it does not apply.
   */
  fromRows?: boolean;
  /**
   * The joined rows' columns the caller reads (joinedRows; default all): only these are made and, with
   * fromRows, moved back to FROM's rows; without ROW among them the validity is not made.
   */
  only?: string[];
}

/**
 * The FROM table's index when joinedRows returns only its rows (JoinRunOptions.fromRows), else −1.
 * It is then joined last: at its row, the last of its person's group, every other table's values
 * and match flags are complete (join.ts).
 */
function fromRowsTable(jp: JoinPlan, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'>): number {
  if (!opts.fromRows || !joinsRows(jp, opts)) return -1;
  const f = jp.tables.findIndex((t) => t.kind === 'from');
  if (f < 0 || jp.tables[f]!.unique !== true || !jp.order.includes(f)) return -1;
  if (jp.tables.some((t) => t.window || t.over || t.expand || t.fold || (t.unique === false && (t.kind === 'from' || t.kind === 'inner' || t.kind === 'left')))) return -1;
  return f;
}

/** The tables in the order the join stacks them (jp.order, or FROM last: fromRowsTable). */
function joinOrder(jp: JoinPlan, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'>): number[] {
  const f = fromRowsTable(jp, opts);
  return f < 0 ? jp.order : [...jp.order.filter((i) => i !== f), f];
}

/**
 * What the join's line-up (the sort by person, join.ts JoinLineup) depends on, or null where the
 * join sorts something derived (a row restriction, events in time order, a table first put in its
 * window functions' order, or no join at all): the registers in join order with their person-id
 * column and uniqueness. A caller adds the registers' stored versions to make it a cache key.
 */
export function lineupInputs(jp: JoinPlan, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'> = {}): { datasets: string[]; signature: string } | null {
  if (!joinsRows(jp, opts) || opts.restrict) return null;
  const ts = joinOrder(jp, opts).map((i) => jp.tables[i]!);
  if (ts.some((t) => t.window || t.over?.order)) return null;
  // Uniqueness of its rows before the filter too decides whether the sort breaks ties by row (join.ts).
  const rows = (t: JoinTablePlan) => {
    if (t.unique === true && (!t.filter || keyColumnUnique(t))) return '';
    const tie = tieOf(t);
    return tie ? `+${tie.column}` : '+index';
  };
  return { datasets: ts.map((t) => t.dataset.name), signature: ts.map((t) => `${t.dataset.name}.${t.key}:${t.unique}${rows(t)}${t.sorted ? ' in order' : ''}`).join(' ') };
}

/**
 * Joined rows kept for the next query over the same join (JoinRunOptions.joined): a prevalence's
 * numerator and denominator, or a study's queries with other groups or aggregates, join the same
 * registers under the same conditions and read the same columns, or fewer.
 */
export interface KeptJoin {
  /** keptJoinInputs of the join that made them. */
  signature: string;
  /** ROW, `alias.column` of the registers' own columns and `alias.__has`, as joinedRows names them. */
  columns: Map<string, AShare>;
}

/**
 * What a join's rows depend on beside the registers' stored versions, or null where they are not
 * kept: the line-up's inputs (lineupInputs) and every table's alias, kind, uniqueness and own
 * conditions, and whether only FROM's rows are made. The columns read are not in it: a later query
 * with the same signature uses the kept columns it reads, or joins again where one is missing. A
 * kept EXISTS's flag (a column the plan adds, ./exists-flags.ts) is never kept with the rows: its
 * name does not say which EXISTS it is. Not kept either: a join with window functions, date
 * windows, folded EXISTS or a many-to-many expansion, and a row restriction (a consent filter).
 */
export function keptJoinInputs(jp: JoinPlan, opts: Pick<JoinRunOptions, 'restrict' | 'fromRows'> = {}): string | null {
  const lined = lineupInputs(jp, opts);
  if (!lined || jp.tables.some((t) => t.over || t.window || t.fold || t.expand)) return null;
  const cond = (t: JoinTablePlan) => JSON.stringify(t.filter, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) + (t.requires?.length ? ` and ${t.requires.join(' and ')}` : '') + (t.carried?.length ? ` carrying ${t.carried.join('; ')}` : '');
  const tables = joinOrder(jp, opts).map((i) => jp.tables[i]!).map((t) => `${t.alias}=${t.dataset.name}.${t.key} ${t.kind} ${t.unique} where ${cond(t)}`);
  return `${lined.signature} | ${tables.join(' | ')}${fromRowsTable(jp, opts) >= 0 ? ' | FROM rows' : ''}`;
}

/**
 * The tables' columns as the joined rows name them, in joinedRows' order: per table its columns
 * (`column`: their index) and, for a left or semi table, `alias.__has` (`column` null).
 */
function joinedNames(jp: JoinPlan): { name: string; table: number; column: number | null; keptFlag: boolean }[] {
  return jp.tables.flatMap((t, i) => [
    ...t.columns.map((c, k) => ({ name: joinedName(t.alias, c), table: i, column: k, keptFlag: c.startsWith(KEPT_EXISTS) })),
    ...(t.kind === 'left' || t.kind === 'semi' ? [{ name: `${t.alias}.${HAS}`, table: i, column: null, keptFlag: false }] : []),
  ]);
}

/**
 * The columns joinedRows makes for a join without window functions: ROW and joinedNames; without
 * `keptFlags`, not the kept EXISTS flags' (what a kept join may hold).
 */
function joinedColumns(jp: JoinPlan, keptFlags = true): string[] {
  return [ROW, ...joinedNames(jp).filter((c) => keptFlags || !c.keptFlag).map((c) => c.name)];
}

/**
 * `tables` maps each table's alias to its columns' shares (every column the plan names, and the
 * key); all columns of one table have the same length.
 */
export async function runJoinQuery(p: Party, jp: JoinPlan, tables: Map<string, Map<string, AShare>>, opts: JoinRunOptions = {}): Promise<QueryResult> {
  // A protected run must not reveal the uniqueness bit of a checked table (dp.ts refuses such plans).
  const checked = opts.noise ? jp.tables.find((t) => t.unique === 'check') : undefined;
  if (checked) throw new QueryError(`noise: ${checked.dataset.name} would be tested for one row per person inside MPC, revealing a bit outside the privacy guarantee (noiseForPlan refuses this plan)`);
  // Progress: the filters 5 %, the join 65 % (its sort by comparisons), date windows and
  // validity 8 %, then the aggregates over the joined rows (runQuery) the rest.
  const report = progressPart(opts.progress, 0, 1);
  const rows = await joinedRows(p, jp, tables, opts, report);
  // After the join the rows come in person order: where the filter keeps a row, every FROM or
  // inner-joined table's key is that person's id (COUNT(DISTINCT) of it needs no sort by value).
  const ordered = new Set(joinsRows(jp, opts) && fromRowsTable(jp, opts) < 0 ? jp.tables.filter((t) => t.kind === 'from' || t.kind === 'inner').map((t) => `${t.alias}.${t.key}`) : []);
  // A register's one-hot indicators do not fit the joined rows.
  return runQuery(p, jp.plan, rows, { ...opts, indicators: undefined, ordered, ...(report ? { progress: progressPart(report, 0.78, 1) } : {}) });
}

/** Its key column is declared unique: one row per person before any filter too. */
export const keyColumnUnique = (t: JoinTablePlan): boolean => t.dataset.columns.find((c) => c.name === t.key)?.unique === true;

/**
 * A one-row-per-person table (after its filter) whose rows are unique per person and one more
 * column, by a declared key such as (person_id, year) with that column an int or bool of a declared
 * range that the query reads: the join's sort breaks its ties by that column's few bits instead of
 * by the row index (join.ts JoinInput.tie). Null otherwise.
 */
export function tieOf(t: JoinTablePlan): { column: string; min: number; bits: number; values: number } | null {
  if (t.unique !== true || !t.filter || keyColumnUnique(t)) return null;
  for (const k of t.dataset.keys ?? []) {
    if (k.length !== 2 || !k.includes(t.key)) continue;
    const c = t.dataset.columns.find((x) => x.name === k.find((n) => n !== t.key));
    if (!c || !t.reads.includes(c.name)) continue;
    if (c.type === 'bool') return { column: c.name, min: 0, bits: 1, values: 2 };
    if (c.type === 'int' && typeof c.min === 'number' && typeof c.max === 'number' && c.max - c.min < 2 ** 16) {
      const values = c.max - c.min + 1;
      return { column: c.name, min: c.min, bits: Math.max(1, Math.ceil(Math.log2(values))), values };
    }
  }
  return null;
}

/** Whether joinedRows joins (sorts) the rows, or (one register, nothing to join in) passes them through. */
function joinsRows(jp: JoinPlan, opts: JoinRunOptions): boolean {
  return !(jp.tables.length === 1 && !opts.restrict && !jp.tables[0]!.window && !jp.tables[0]!.over);
}

/** The shares of column `c` of table `t` in `tables` (by alias); a clear error where this node has none. */
export function sharesOf(tables: Map<string, Map<string, AShare>>, t: JoinTablePlan, c: string): AShare {
  const s = tables.get(t.alias)?.get(c);
  if (!s) throw new QueryError(`column '${c}' of ${t.dataset.name} has no shares at this node`);
  return s;
}

/**
 * The joined rows of a join plan as one virtual register: `alias.column` for every column the plan
 * reads, ROW (0/1: the row is a row of the join's result) and `alias.__has` for LEFT JOINed and
 * semi-joined tables. Steps 1–4 of runJoinQuery; reveals what join.ts reveals. `report` gets the
 * fraction done (0 to 0.78 of a whole query) and the step.
 */
export function joinedRows(p: Party, jp: JoinPlan, tables: Map<string, Map<string, AShare>>, opts: JoinRunOptions = {}, report?: (f: number, what: string) => void): Promise<Map<string, AShare>> {
  // Not an async function: `tables` is read here only, so the join does not hold the registers'
  // columns once it has stacked them (V8 keeps an async function's arguments until it returns); a
  // caller that holds them no longer (e.g. an EXISTS's register, read for its flag) frees them then.
  try {
    return joinedRowsOf(p, jp, jp.tables.map((t) => {
      const m = tables.get(t.alias) ?? new Map<string, AShare>();
      const get = (c: string) => sharesOf(tables, t, c);
      const key = get(t.key);
      for (const c of t.columns) if (get(c).length !== key.length) throw new QueryError(`column '${c}' of ${t.dataset.name} has ${get(c).length} rows, its key ${key.length}`);
      return { key, m };
    }), opts, report);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** joinedRows from each table's key and columns; empties `colsOf` once the join has them. */
async function joinedRowsOf(p: Party, jp: JoinPlan, colsOf: { key: AShare; m: Map<string, AShare> }[], opts: JoinRunOptions, report?: (f: number, what: string) => void): Promise<Map<string, AShare>> {
  const steps = lapTimer(opts.trace);
  const lap = (what: string, at?: number) => {
    steps(what);
    if (at !== undefined) report?.(at, what);
  };

  // Joined rows kept from an earlier query over the same join, holding every column this one makes.
  const keptSig = opts.joined || opts.onJoined ? keptJoinInputs(jp, opts) : null;
  if (keptSig && opts.joined?.signature === keptSig) {
    const kept = opts.joined.columns;
    const made = joinedColumns(jp).filter((c) => !opts.only || opts.only.includes(c));
    if (made.every((c) => kept.has(c))) {
      colsOf.length = 0;
      lap('joined rows kept from an earlier query', 0.78);
      return new Map(made.map((c) => [c, kept.get(c)!]));
    }
  }

  // A many-to-many join has b times the rows of the join: bounded before any MPC (sizes are public).
  const paired = jp.tables.find((t) => t.expand);
  const joinRows = colsOf.reduce((s, c) => s + c.key.length, 0) + (opts.restrict?.input.key.length ?? 0);
  if (paired && joinRows * paired.bound!.rows > MAX_EXPANDED_ROWS) throw new QueryError(`the many-to-many join would have ${joinRows} × ${paired.bound!.rows} rows, more than ${MAX_EXPANDED_ROWS} (memory): declare a smaller bound (${paired.alias}.${paired.bound!.column} <= …) or filter the registers first`);

  // 1. Each table's own conditions.
  const present: (AShare | null)[] = [];
  for (const [i, t] of jp.tables.entries()) {
    const own = t.filter ? await rowFilter(p, t.filter, colsOf[i]!.m, colsOf[i]!.key.length) : null;
    // Inner joins carried onto the table's rows: their match flags too (one product round per level).
    const flags = (t.requires ?? []).map((c) => colsOf[i]!.m.get(c) ?? sharesOf(new Map(), t, c));
    present.push(flags.length ? await productAll(p, own ? [own, ...flags] : flags) : own);
  }
  lap('filters before the join', 0.05);

  // 1b. A table read through window functions: its rows sorted by the window's ORDER BY, the rows
  // its subquery's WHERE drops after all others; the join's stable sort by person keeps that order.
  for (const [i, t] of jp.tables.entries()) {
    const o = t.over?.order;
    if (!o) continue;
    const { key, m } = colsOf[i]!;
    const x = m.get(o.column)!;
    const span = BigInt(o.hi - o.lo);
    const pos = o.desc ? subFromPublic(p, BigInt(o.hi), x) : addPublic(p, x, -BigInt(o.lo)); // 0..span
    const sortKey = present[i] ? addPublic(p, (await mulMany(p, [[present[i]!, addPublic(p, pos, -(span + 1n))]]))[0]!, span + 1n) : pos;
    const names = [...m.keys()].filter((c) => c !== t.key);
    const s = await sort(p, sortKey, [key, ...names.map((c) => m.get(c)!), ...(present[i] ? [present[i]!] : [])], { keyBits: (span + 1n).toString(2).length + 1 });
    colsOf[i] = { key: s.payloads[0]!, m: new Map([[t.key, s.payloads[0]!], ...names.map((c, k) => [c, s.payloads[1 + k]!] as const)]) };
    if (present[i]) present[i] = s.payloads[1 + names.length]!;
    lap(`${t.dataset.name} in the order of its window functions (${o.column}${o.desc ? ' DESC' : ''})`);
  }

  // One register and no row restriction: its rows are the rows (no sort, nothing revealed).
  if (!joinsRows(jp, opts)) {
    const t = jp.tables[0]!;
    const n = colsOf[0]!.key.length;
    const virtual = new Map<string, AShare>([[ROW, present[0] ?? fromPublic(p, R.constant(n, 1n))]]);
    for (const c of t.columns) virtual.set(joinedName(t.alias, c), colsOf[0]!.m.get(c)!);
    return virtual;
  }

  // 2. The join. An EXISTS with a date window joins the two registers' events, sorted by time.
  // EXISTS folded into the many side (t.fold): the many side joins with all its rows, carrying its
  // own condition and each folded condition as 0/1 columns.
  const folded = [...jp.tables.keys()].filter((i) => jp.tables[i]!.fold);
  const target = folded.length ? jp.tables.findIndex((t) => t.unique === false && !t.expand && (t.kind === 'from' || t.kind === 'inner')) : -1;
  const ones = (i: number) => fromPublic(p, R.constant(colsOf[i]!.key.length, 1n));
  const order = joinOrder(jp, opts);
  const fromLast = fromRowsTable(jp, opts) >= 0;
  const inputs: JoinInput[] = [];
  for (const i of order) {
    const t = jp.tables[i]!;
    const w = t.window;
    if (w) {
      const src = (k: number, date: string) => ({ key: colsOf[k]!.key, time: colsOf[k]!.m.get(date)!, ...(present[k] ? { present: present[k]! } : {}) });
      inputs.push(await eventTable(p, src(i, w.aDate), src(w.partner, w.bDate), w.lo, w.timeBits));
      lap(`events of ${t.dataset.name} and ${jp.tables[w.partner]!.dataset.name} in time order`);
      continue;
    }
    const carry = i === target ? [present[i] ?? ones(i), ...folded.map((f) => present[f] ?? ones(f))] : [];
    const tie = tieOf(t);
    inputs.push({
      key: colsOf[i]!.key,
      columns: [...t.columns.map((c) => colsOf[i]!.m.get(c)!), ...carry],
      ...(present[i] && i !== target ? { present: present[i]! } : {}),
      unique: t.unique,
      // Its key column declared unique: one row per person before any filter too (join.ts).
      allRowsUnique: keyColumnUnique(t),
      ...(tie ? { tie: { column: addPublic(p, colsOf[i]!.m.get(tie.column)!, -BigInt(tie.min)), bits: tie.bits, values: tie.values } } : {}),
      // In person order as stored (not re-sorted for window functions): merged, not sorted (join.ts).
      ...(t.sorted && !t.over ? { sorted: true } : {}),
      name: t.dataset.name,
    });
  }
  // The restriction goes after the one-row-per-person tables, before semi-joined and many tables.
  const r = opts.restrict;
  if (r && r.input.unique === false) throw new QueryError('a row restriction needs at most one present row per person (unique true or check)');
  const at = r ? (() => {
    const k = order.findIndex((i) => ['semi', 'window'].includes(jp.tables[i]!.kind) || jp.tables[i]!.unique === false);
    // Before FROM where it goes last.
    return Math.min(k < 0 ? order.length : k, fromLast ? order.length - 1 : order.length);
  })() : -1;
  if (r) inputs.splice(at, 0, r.input);
  // A line-up is kept and reused only for a join of registers as stored (lineupInputs).
  const keepsLineup = lineupInputs(jp, opts) !== null;
  const nFrom = inputs[inputs.length - 1]!.key.length;
  const joining = joinOnKey(
    p,
    inputs,
    {
      keyBits: KEY_BITS,
      ...(keepsLineup && opts.lineup ? { lineup: opts.lineup } : {}),
      lastHas: !jp.tables.some((t) => t.unique === false && (t.kind === 'from' || t.kind === 'inner')), onPhase: (ph) => lap(`join: before ${ph}`, ph === 'sort' ? 0.08 : undefined),
      ...(report ? { onSortProgress: (f: number) => report(0.08 + 0.52 * f, 'join: sorting') } : {}),
    },
  );
  // The join has stacked the inputs: this function holds none of their columns from here on.
  inputs.length = 0;
  colsOf.length = 0;
  present.length = 0;
  const j0 = await joining;
  if (keepsLineup && j0.lineup !== opts.lineup) opts.onLineup?.(j0.lineup);
  lap('join', 0.7);
  const restricted = r ? j0.tables[at]! : null;
  const j = r ? { ...j0, tables: j0.tables.filter((_, k) => k !== at) } : j0;
  const joined = new Map<number, (typeof j.tables)[number]>(order.map((i, k) => [i, j.tables[k]!]));
  for (const [i, t] of jp.tables.entries()) {
    const w = t.window;
    if (!w) continue;
    const jt = joined.get(i)!;
    joined.set(i, { ...jt, has: await followedWithin(p, jt, j.first, w.hi === null ? null : w.hi - w.lo, w.timeBits) });
    lap(`date window ${t.dataset.name} → ${jp.tables[w.partner]!.dataset.name}`);
  }

  if (target >= 0) {
    // The many side's rows where its own condition holds; each folded EXISTS: some row of the person.
    const jt = joined.get(target)!;
    const k0 = jp.tables[target]!.columns.length;
    const [here] = await mulMany(p, [[jt.here, jt.columns[k0]!]]);
    const any = await anyInGroup(p, folded.map((_, m) => jt.columns[k0 + 1 + m]!), j.first);
    joined.set(target, { ...jt, here: here!, columns: jt.columns.slice(0, k0) });
    folded.forEach((f, m) => joined.set(f, { here: any[m]!, has: any[m]!, columns: [] }));
    lap(`EXISTS over ${jp.tables[target]!.dataset.name}'s own rows per person`);
  }

  // Window functions over each person's rows (src/mpc/window.ts).
  const overValues = new Map<string, AShare>();
  for (const [i, t] of jp.tables.entries()) {
    if (!t.over) continue;
    const jt = joined.get(i)!;
    const colOf = (c: string) => jt.columns[t.columns.indexOf(c)]!;
    const o = t.over.order;
    const bits = o ? Math.max(Math.abs(o.lo), Math.abs(o.hi)).toString(2).length + 2 : 1;
    const fns: WindowFn[] = t.over.columns.map((c) =>
      c.fn === 'row_number' || (c.fn === 'count' && c.rows) ? { fn: 'row_number' } : c.fn === 'count' ? { fn: 'count', order: o ? colOf(o.column) : null, bits } : { fn: c.fn, value: colOf(c.arg!), fallback: c.fallback },
    );
    const vals = await windowValues(p, jt.here, j.first, fns);
    t.over.columns.forEach((c, k) => {
      overValues.set(`${t.alias}.${c.name}`, vals[k]!.value);
      if (vals[k]!.has) overValues.set(`${t.alias}.${c.name}.${HAS}`, vals[k]!.has!);
    });
    lap(`window functions over ${t.dataset.name} (${t.over.columns.map((c) => c.name).join(', ')})`);
  }

  // 3. Validity of each joined row. With a many-side table M: M's rows where every FROM/inner
  // table matched, plus (M LEFT JOINed) each key's last row where M has no row. Without one: each
  // key's last row where every FROM/inner table matched.
  const many = jp.tables.findIndex((t) => t.unique === false && !t.expand && (t.kind === 'from' || t.kind === 'inner' || t.kind === 'left'));
  const inner = jp.tables.flatMap((t, i) => ((t.kind === 'from' || t.kind === 'inner') && i !== many ? [joined.get(i)!.has] : []));
  const wants = (c: string) => !opts.only || opts.only.includes(c);
  let valid: AShare | null = null;
  if (wants(ROW)) {
    const allInner = await productAll(p, inner);
    if (many >= 0) {
      const M = joined.get(many)!;
      const manyRows = allInner ? (await mulMany(p, [[M.here, allInner]]))[0]! : M.here;
      if (jp.tables[many]!.kind === 'left') {
        const lone = (await productAll(p, [j.last, subFromPublic(p, 1n, M.has), ...(allInner ? [allInner] : [])]))!;
        valid = add(manyRows, lone);
      } else valid = manyRows;
    } else valid = allInner ? (await mulMany(p, [[j.last, allInner]]))[0]! : j.last;
    if (r) valid = (await mulMany(p, [[valid, r.usable(p, restricted!)]]))[0]!;
  }
  lap('validity of joined rows', 0.78);

  // 4. The joined rows as one virtual register (the columns asked for: JoinRunOptions.only).
  const virtual = new Map<string, AShare>([...(valid ? [[ROW, valid] as const] : []), ...overValues]);
  for (const { name, table, column } of joinedNames(jp)) {
    const jt = joined.get(table)!;
    virtual.set(name, column !== null ? jt.columns[column]! : table === many ? jt.here : jt.has);
  }
  for (const c of virtual.keys()) if (!wants(c)) virtual.delete(c);
  const e = jp.tables.findIndex((t) => t.expand);
  if (e >= 0) return expandRows(p, virtual, jp.tables[e]!, joined.get(e)!, j.first, lap);
  let out = virtual;
  if (fromLast) {
    // 5. Only FROM's rows (JoinRunOptions.fromRows): every column back in stacked order by the sort's
    // permutation undone (3 rounds), then FROM's lanes, the last of the stack.
    const names = [...virtual.keys()];
    const back = await unsortPermutation(p, j0.lineup.permutation, names.map((c) => virtual.get(c)!));
    lap(`the rows of ${jp.tables[order[order.length - 1]!]!.dataset.name} only`);
    out = new Map(names.map((c, k) => [c, back[k]!.slice(j.n - nFrom, j.n)]));
  }
  if (keptSig) {
    const k = new Set(joinedColumns(jp, false));
    opts.onJoined?.({ signature: keptSig, columns: new Map([...out].filter(([c]) => k.has(c))) });
  }
  return out;
}

/**
 * Many-to-many (a table with `expand`, join-plan.ts): every joined row b times, copy k carrying
 * the person's (k+1)-th row of that table (src/mpc/pairs.ts) and valid only where it exists; the
 * other columns copied. b·n rows whatever the true multiplicities.
 */
async function expandRows(p: Party, virtual: Map<string, AShare>, t: JoinTablePlan, jt: JoinedTable, first: AShare, lap: (what: string) => void): Promise<Map<string, AShare>> {
  const b = t.bound!.rows;
  const mine = [...virtual.keys()].filter((c) => c.startsWith(`${t.alias}.`));
  const slots = await firstRowsBeside(p, jt.here, first, mine.map((c) => virtual.get(c)!), b);
  const valid = await mulMany(p, slots.has.map((h) => [virtual.get(ROW)!, h] as [AShare, AShare]));
  // Row-major (row i's copies at i·b … i·b + b − 1): the rows stay in person order.
  const out = new Map<string, AShare>([[ROW, interleave(valid)]]);
  for (const [c, x] of virtual) {
    if (c === ROW) continue;
    const k = mine.indexOf(c);
    out.set(c, interleave(k >= 0 ? slots.cols.map((s) => s[k]!) : Array.from({ length: b }, () => x)));
  }
  lap(`each row beside the first ${b} rows per person of ${t.dataset.name}`);
  return out;
}

/** Lane i·b + k of the result is lane i of xs[k] (b = xs.length), through 32-bit words. Local. */
function interleave(xs: AShare[]): AShare {
  const b = xs.length, n = xs[0]!.length;
  const out = new AShare(new BigUint64Array(n * b), new BigUint64Array(n * b));
  for (const h of ['a', 'b'] as const) {
    const d = new Uint32Array(out[h].buffer);
    xs.forEach((x, k) => {
      const s = new Uint32Array(x[h].buffer, x[h].byteOffset, 2 * n);
      for (let i = 0, o = 2 * k; i < n; i++, o += 2 * b) {
        d[o] = s[2 * i]!;
        d[o + 1] = s[2 * i + 1]!;
      }
    });
  }
  return out;
}
