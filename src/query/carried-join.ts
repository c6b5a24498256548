// Joined columns carried onto FROM's rows by the merge network: `FROM population p JOIN income i ON
// i.person_id = p.person_id AND i.year = 2023 LEFT JOIN deaths d ON d.person_id = p.person_id` needs,
// per person, the one income row of 2023 and the one death row, if any. Where FROM and the joined
// register are both stored in person order, FROM has one row per person and the joined register at
// most one (present) row per person after its ON conditions, the register's columns ride through the
// bitonic merger as bit planes (their encoded range is public: a date between its declared bounds
// is a few bits), are OR-ed over each person's rows and go back through the network to FROM's rows
// (src/mpc/semi-merge.ts carryMerged): no permutation of the rows, no segmented scan of ring
// elements, and FROM's rows only, in their stored order. The table then leaves the join: its
// columns and match flag are columns of FROM (`__carried:<alias>.<column>`, read as
// `<alias>.<column>` in the joined rows); an INNER JOIN's match flag is a condition on FROM's rows
// (JoinTablePlan.requires). Follows no paper (a semi-join in the line of ./exists-flags.ts, the
// values carried). Reveals the two registers' sizes, as the join it replaces; everything else stays
// shared.
//
// Applies to a LEFT or INNER JOIN of a register with at most one row per person after its ON
// conditions (a unique person id, or a declared key such as (person_id, year) with the year fixed:
// at most as many rows per person as the year takes values), both registers in person order, FROM's
// person id declared unique, every column read of a public range of at most MAX_CARRIED_BITS bits
// and at most MAX_CARRIED_PLANES planes in all; not to window functions, date windows or a
// many-to-many expansion.
import { add, addPublic, mulPublic } from '../mpc/arith.js';
import { bitsToValues } from '../mpc/bits-to-values.js';
import { andOuter, BShare, stackPlanes } from '../mpc/boolean.js';
import { publicBit } from '../mpc/compare.js';
import { bitDecompose, lowBit } from '../mpc/convert.js';
import type { Party } from '../mpc/party.js';
import { carryAgain, carryMergedMany, type SemiLineup } from '../mpc/semi-merge.js';
import { AShare } from '../mpc/share.js';
import { type CodeList, type ColumnSpec, DECIMAL_FRAC_BITS, parseDate, PERSON_ID_LIMIT } from '../ingest/schema.js';
import { lapTimer, rowFilter } from './execute.js';
import { CARRIED, type JoinRunOptions, KEY_BITS, keyColumnUnique, sharesOf, tieOf } from './join-execute.js';
import { HAS, type JoinPlan, type JoinTablePlan, withoutTables } from './join-plan.js';

/** The widest column carried (bits of its encoded range). */
export const MAX_CARRIED_BITS = 40;
/**
 * The most planes one carried join takes through the network (its columns' bits and the match flag).
 * Each plane rides through every layer (one AND per pair, forward and back) beside the comparison's
 * ≈ 4 per key bit. Measured in the main job: income and education (31 planes) carried 0.55 s at
 * each node against 1.6 s joined; wider joins are joined as before, not measured.
 */
export const MAX_CARRIED_PLANES = 64;

/** A joined table whose columns can be carried onto FROM's rows. */
export interface CarriedJoin {
  /** Index in JoinPlan.tables of the joined table, and of FROM. */
  table: number;
  anchor: number;
  /** The two registers (FROM's, the joined one). */
  datasets: [string, string];
  /** Each column read: its encoded range lo .. lo + 2^bits − 1. */
  columns: { name: string; lo: bigint; bits: number }[];
  /** The most rows the joined table has per person (before its ON conditions). */
  rows: number;
  /** What the carried columns depend on besides the registers' stored versions. */
  signature: string;
}

/** The encoded range [lo, hi] of a column's values (and 0 for a missing value), or null if not bounded. */
export function encodedRange(spec: ColumnSpec, codeLists: Map<string, CodeList>): [bigint, bigint] | null {
  let r: [bigint, bigint] | null = null;
  const num = (x: number | string | undefined, scale = 1): number | null => (x === undefined ? null : typeof x === 'string' ? parseDate(x) : Math.round(x * scale));
  switch (spec.type) {
    case 'bool':
      r = [0n, 1n];
      break;
    case 'person_id':
      r = [0n, PERSON_ID_LIMIT - 1n];
      break;
    case 'code': {
      const n = codeLists.get(spec.codeList ?? '')?.codes.length;
      r = n ? [0n, BigInt(n - 1)] : null;
      break;
    }
    case 'int':
    case 'date':
    case 'decimal': {
      const scale = spec.type === 'decimal' ? 2 ** DECIMAL_FRAC_BITS : 1;
      const lo = num(spec.min, scale), hi = num(spec.max, scale);
      r = lo !== null && hi !== null && Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo <= hi ? [BigInt(lo), BigInt(hi)] : null;
      break;
    }
  }
  if (r && spec.required === false) r = [r[0] < 0n ? r[0] : 0n, r[1] > 0n ? r[1] : 0n]; // a missing value is stored as 0
  return r;
}

const bitsFor = (span: bigint): number => (span <= 0n ? 0 : span.toString(2).length);

/** The joins of a plan whose columns can be carried onto FROM's rows (see the module comment). */
export function carriedJoinsOf(jp: JoinPlan): CarriedJoin[] {
  if (jp.tables.some((t) => t.window)) return [];
  const anchor = jp.tables.findIndex((t) => t.kind === 'from');
  const A = jp.tables[anchor];
  if (!A || !keyColumnUnique(A) || A.over || !A.sorted) return [];
  return jp.tables.flatMap((S, table): CarriedJoin[] => {
    if ((S.kind !== 'left' && S.kind !== 'inner') || S.unique !== true || !S.sorted || S.over || S.fold || S.expand || S.bound || !jp.order.includes(table)) return [];
    const rows = keyColumnUnique(S) ? 1 : tieOf(S)?.values;
    if (!rows) return [];
    const columns: CarriedJoin['columns'] = [];
    for (const name of S.columns) {
      const spec = S.dataset.columns.find((c) => c.name === name);
      const r = spec && encodedRange(spec, jp.plan.codeLists);
      if (!r) return [];
      const bits = bitsFor(r[1] - r[0]);
      if (bits > MAX_CARRIED_BITS) return [];
      columns.push({ name, lo: r[0], bits });
    }
    if (1 + columns.reduce((s, c) => s + c.bits, 0) > MAX_CARRIED_PLANES) return [];
    return [{ table, anchor, datasets: [A.dataset.name, S.dataset.name], columns, rows, signature: carriedSignature(A, S) }];
  });
}

/** What a carried join's columns depend on: the registers' person-id columns and the ON conditions. */
const carriedSignature = (A: JoinTablePlan, S: JoinTablePlan): string => `${A.dataset.name}.${A.key} ⟕ ${S.dataset.name}.${S.key} ON ${S.filterText ?? 'TRUE'}`;

/** The name of one carried column (or the match flag, HAS) of table `alias` among FROM's columns. */
export const carriedName = (alias: string, column: string): string => `${CARRIED}${alias}.${column}`;

/**
 * The join that makes a carried join's line-up (src/node/lineup-cache.ts keeps it): FROM (all its
 * rows, no conditions) and the joined table, as an EXISTS flag's is made (./exists-flags.ts).
 */
export function carriedLineupJoin(jp: JoinPlan, k: CarriedJoin): JoinPlan {
  const A = jp.tables[k.anchor]!, S = jp.tables[k.table]!;
  return { sql: '', plan: jp.plan, order: [0, 1], tables: [{ ...A, unique: true, filter: null, filterText: null, columns: [], reads: [A.key] }, { ...S, kind: 'semi', unique: false, filter: null, filterText: null, columns: [], reads: [S.key] }] };
}

export interface CarryOptions extends Pick<JoinRunOptions, 'trace'> {
  /** The line-up of an earlier merge of the same two registers (one join only; all three nodes hold it alike). */
  lineup?: SemiLineup;
  /** Gets the line-up this merge made (one join only), to keep. */
  onLineup?: (l: SemiLineup) => void;
}

/**
 * The carried columns of joins onto the same FROM, on FROM's rows as stored, one map per join: HAS
 * (1 where the person has a present row of the table) and each column (that row's value, 0 where
 * none), of `only` where given. All the joins' registers go through one network (carryMergedMany).
 * `tables` holds the registers' keys, the joined tables' conditions and columns. Reveals the
 * registers' sizes.
 */
export async function carriedColumns(p: Party, jp: JoinPlan, joins: { k: CarriedJoin; only?: string[] }[], tables: Map<string, Map<string, AShare>>, opts: CarryOptions = {}): Promise<Map<string, AShare>[]> {
  const lap = lapTimer(opts.trace);
  const A = jp.tables[joins[0]!.k.anchor]!;
  const aKey = sharesOf(tables, A, A.key);
  const ss: { key: AShare; carried: BShare }[] = [];
  const wideOf: CarriedJoin['columns'][] = [];
  for (const { k, only } of joins) {
    const S = jp.tables[k.table]!;
    const sKey = sharesOf(tables, S, S.key);
    const nS = sKey.length;
    const sCols = tables.get(S.alias) ?? new Map<string, AShare>();
    const present = S.filter ? await rowFilter(p, S.filter, sCols, nS) : null;
    // The values' bits above their range's low end, 0 where the row is not present (its ON conditions).
    const wide = k.columns.filter((c) => c.bits > 0 && (!only || only.includes(c.name)));
    const width = wide.reduce((t, c) => t + c.bits, 0);
    let values: BShare | null = width && !nS ? new BShare(0, width, new Uint32Array(0), new Uint32Array(0)) : null;
    if (width && nS) {
      const planes: BShare[] = [];
      for (const c of wide) planes.push(await bitDecompose(p, addPublic(p, sharesOf(tables, S, c.name), -c.lo), c.bits));
      values = stackPlanes(planes);
      if (present) values = await andOuter(p, values, lowBit(present));
    }
    const flag = present ? lowBit(present) : publicBit(p, nS, true); // its pad lanes are cleared where it is carried
    ss.push({ key: sKey, carried: values ? stackPlanes([flag, values]) : flag });
    wideOf.push(wide);
  }
  const names = joins.map(({ k }) => jp.tables[k.table]!.dataset.name).join(' and ');
  lap(`${names}: columns as bits`);
  const window = joins.reduce((t, { k }) => t + k.rows, 0) + 1;
  const one = joins.length === 1 ? ss[0]! : null;
  const kept = one && opts.lineup && opts.lineup.rows[0] === one.key.length && opts.lineup.rows[1] === aKey.length ? opts.lineup : null;
  const planes = kept
    ? await carryAgain(p, kept, one!.carried, { window })
    : await carryMergedMany(p, ss, aKey, { keyBits: KEY_BITS, window }).then(({ planes, lineup }) => {
        if (lineup && one) opts.onLineup?.(lineup);
        return planes;
      });
  lap(kept ? `${names} carried by a kept merge network` : `${names} carried by the merge network`);
  // Back to arithmetic shares: per join its flag and each column's value from its bits (bitsToValues),
  // a column's low end added where there is a row.
  const nA = aKey.length;
  const groups = wideOf.flatMap((wide) => [1, ...wide.map((c) => c.bits)]);
  const values = await bitsToValues(p, planes, groups);
  let g = 0;
  const out = joins.map(({ k, only }, i) => {
    const has = values[g++]!;
    const cols = new Map<string, AShare>([[HAS, has]]);
    const wide = wideOf[i]!;
    for (const c of k.columns) {
      if (only && !only.includes(c.name)) continue;
      const v = wide.includes(c) ? values[g++]! : new AShare(new BigUint64Array(nA), new BigUint64Array(nA));
      cols.set(c.name, c.lo !== 0n ? add(v, mulPublic(has, c.lo)) : v);
    }
    return cols;
  });
  lap(`${names}: columns on the rows of ${A.dataset.name}`);
  return out;
}

/**
 * The join plan without the carried tables, their columns (and match flags) columns of FROM, an
 * inner join's flag a condition on FROM's rows (requires), and the tables' shares to match. Local.
 */
export function withCarriedJoins(jp: JoinPlan, tables: Map<string, Map<string, AShare>>, made: { k: CarriedJoin; columns: Map<string, AShare> }[]): { jp: JoinPlan; tables: Map<string, Map<string, AShare>> } {
  if (!made.length) return { jp, tables };
  const anchor = made[0]!.k.anchor;
  if (made.some((m) => m.k.anchor !== anchor)) throw new Error('withCarriedJoins: joins carried onto different tables');
  const A = jp.tables[anchor]!;
  const cols: string[] = [], requires: string[] = [];
  const fromCols = new Map(tables.get(A.alias) ?? []);
  for (const { k, columns } of made) {
    const S = jp.tables[k.table]!;
    for (const c of S.columns) {
      const v = columns.get(c);
      if (!v) throw new Error(`withCarriedJoins: column ${S.alias}.${c} was not carried`);
      fromCols.set(carriedName(S.alias, c), v);
      cols.push(carriedName(S.alias, c));
    }
    fromCols.set(carriedName(S.alias, HAS), columns.get(HAS)!);
    if (S.kind === 'left') cols.push(carriedName(S.alias, HAS));
    else requires.push(carriedName(S.alias, HAS));
  }
  const dropped = new Set(made.map((m) => jp.tables[m.k.table]!.alias));
  const out = new Map([...tables].filter(([alias]) => !dropped.has(alias)));
  out.set(A.alias, fromCols);
  const from: JoinTablePlan = {
    ...A,
    columns: [...A.columns, ...cols],
    ...(A.requires || requires.length ? { requires: [...(A.requires ?? []), ...requires] } : {}),
    carried: [...(A.carried ?? []), ...made.map((m) => m.k.signature)],
  };
  return { jp: withoutTables(jp, new Set(made.map((m) => m.k.table)), anchor, from), tables: out };
}

/**
 * Every join whose columns can be carried made now, in process (no cache: tests, benchmarks), and
 * the plan without those tables (withCarriedJoins). Reveals what carriedColumns reveals.
 */
export async function withCarriedColumns(p: Party, jp: JoinPlan, tables: Map<string, Map<string, AShare>>, opts: Pick<JoinRunOptions, 'trace'> = {}): Promise<{ jp: JoinPlan; tables: Map<string, Map<string, AShare>> }> {
  const ks = carriedJoinsOf(jp);
  if (!ks.length) return { jp, tables };
  const made = await carriedColumns(p, jp, ks.map((k) => ({ k })), tables, opts);
  return withCarriedJoins(jp, tables, ks.map((k, i) => ({ k, columns: made[i]! })));
}
