// Joins of secret-shared tables on a secret-shared key (the person id), e.g. the population
// register with hospital contacts and the income register: record linkage inside MPC, with no
// identifier, hash or pseudonym of one in the clear at any node. Scale: 1 M × 5 M rows.
//
// Sort-based join (in the line of Jónsson, Kreitz, Uddin, "Secure multi-party sorting and
// applications", ePrint 2011/122, and the sort-merge joins of Secrecy, Liagouris et al., NSDI
// 2023): all tables are stacked into one column set, each row tagged with its table's position,
// and obliviously sorted by (key, tag) (sort.ts), or merged where every table arrives in key order
// (JoinInput.sorted; merge.ts). Rows of one key are then adjacent ("the key's group"), the tables
// in the caller's order. Group starts come from one equality test per row
// with the row before; the rows of every table but the last are copied onto the rows after them in
// the group by one segmented scan (scan.ts: 2·log2 n rounds, ~2n multiplications per column; where
// every table has at most one row per key a group has at most k rows, and the scan looks back
// only k − 1 rows: ⌈log2 k⌉ rounds of n multiplications per column). A last table with at most one
// row per key is not scanned at all (its row ends its group: nothing of it reaches another row).
// Where the scanned tables carry no columns (an EXISTS's flag: only presence is copied), the scan
// copies one bit and runs on boolean shares (scan-bits.ts: log2 n rounds of 2 bits per row).
// No row is removed or revealed, so the output has as many rows as the inputs together, and
// every row carries, per table, a 0/1 flag "this key group has a row of that table" and that
// row's values: the caller (the query planner) builds inner, left and semi-join validity from the
// flags, and aggregates under it.
//
// A "unique" table has at most one row per key: declared by the caller (e.g. a `unique`
// person_id column, validated at ingest) or checked here inside MPC; its values are copied onto
// the rows after it in the key's group, i.e. onto the rows of the tables after it. A table with
// many rows per key (one citizen, many contacts) keeps its values on its own rows; the caller
// puts it last when other tables' values must reach its rows, or uses only its match flag
// (semi-joins: EXISTS).
//
// The line-up (the sort's secret permutation and where a key repeats the row before's) depends
// only on the key columns and the tables' order and uniqueness: a later join over the same key
// columns applies it to its own columns (3 rounds of a shuffle) instead of sorting again
// (JoinOptions.lineup; the nodes keep it between queries, src/node/lineup-cache.ts). Applying a
// sort's permutation again reveals nothing (sort.ts applySortPermutation).
//
// What a node learns: the number of rows of each table (public anyway: DESIGN.md, "Data model")
// and, for each table whose uniqueness is checked here, ONE bit: whether some key has more than
// one of its rows (the join then stops with an error instead of computing a wrong answer).
// The sort reveals only a uniformly random permutation (keys made distinct by the row index,
// sort.ts); the scan, the equality tests and the multiplications reveal nothing.
import { add, addPublic, concatShares, fromPublic, mulMany, mulPublic, sub, subFromPublic, sum } from './arith.js';
import { revealBits, stackPlanes } from './boolean.js';
import { eq } from './compare.js';
import { bitInject, lowBit } from './convert.js';
import type { Party } from './party.js';
import { mergeRuns } from './merge.js';
import { propagate, propagateWithin, shiftDown, shiftUp } from './scan.js';
import { presenceInGroups } from './scan-bits.js';
import { AShare } from './share.js';
import { applySortPermutation, indexBits, sort, type SortPermutation } from './sort.js';

export interface JoinInput {
  /** The join key, 0 ≤ key < 2^keyBits (e.g. a person_id < 2^34). Validated at ingest, not here. */
  key: AShare;
  columns: AShare[];
  /** 0/1 per row: the row takes part (a filter on this table alone, applied before the join). Default: every row. */
  present?: AShare;
  /**
   * At most one (present) row per key: true = declared by the caller, 'check' = checked in MPC
   * (reveals one bit), false = many rows per key allowed (its values stay on its own rows).
   */
  unique: boolean | 'check';
  /**
   * At most one row per key among ALL rows, present or not (e.g. a key column declared unique), not
   * only after the filter (income with one row per person and year, filtered to one year, is unique
   * but not this). Lets the join skip the row index in the sort and take the group start as the
   * table's row. Default false where `present` is given.
   */
  allRowsUnique?: boolean;
  /**
   * Rows are unique per (key, tie) among all rows, e.g. a declared key (person_id, year) with the
   * year less its lower bound: the sort breaks ties between the table's rows by these `bits` bits
   * (0 ≤ tie < 2^bits, a promise validated at ingest) instead of by the row index. `values`: the tie
   * takes fewer values than 2^bits (0 ≤ tie < values, e.g. 3 years in 2 bits), so a key has at most
   * that many rows of the table (default 2^bits); a smaller bound can let the join's scan look back
   * over fewer rows (joinLinedUp).
   */
  tie?: { column: AShare; bits: number; values?: number };
  /**
   * The rows are in ascending key order (e.g. a register its custodian sorted by person id before
   * sharing it, src/ingest). When every input is, the rows are lined up by merging the tables
   * (merge.ts: ≈ 10 comparisons per row on the key and the table's number instead of the sort's
   * ≈ 20 on the key with the row index) and `tie` is not needed. A promise: if it is false the join is wrong,
   * but nothing more is revealed.
   */
  sorted?: boolean;
  /** Table name, for error messages. */
  name?: string;
}

export interface JoinedTable {
  /** 1 at this table's present rows. */
  here: AShare;
  /**
   * 1 where the row's key group has a present row of this table at or before the row. Complete
   * (= "the key has a row of this table") at every row of a later table and at the group's last row.
   */
  has: AShare;
  /**
   * The table's columns at every row: for a unique table the values of the key's row (copied to
   * the rows after it in the group; 0 where the key has none); for the last table the row's own
   * values where the row is a present row of it, else 0.
   */
  columns: AShare[];
}

export interface Joined {
  /** Rows: the sum of the inputs' row counts. */
  n: number;
  /** One entry per input, in input order. */
  tables: JoinedTable[];
  /** 1 at the last row of every key group (made when first read: a local shift of `first`). */
  readonly last: AShare;
  /** 1 at the first row of every key group. */
  first: AShare;
  /** The line-up given (JoinOptions.lineup), or the one this join made by sorting. */
  lineup: JoinLineup;
}

export class JoinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinError';
  }
}

function constant(p: Party, n: number, v: bigint): AShare {
  return fromPublic(p, new BigUint64Array(n).fill(BigInt.asUintN(64, v)));
}
const zeros = (n: number) => new AShare(new BigUint64Array(n), new BigUint64Array(n));

/**
 * Lines up the tables' rows by key (see the module comment). Every input but the last must be
 * unique per key. `keyBits`: keys are below 2^keyBits.
 */
export interface JoinOptions {
  /** Keys are below 2^keyBits. */
  keyBits: number;
  /** Compute the last table's `has` (default true; an inner join on a many-side table does not need it). */
  lastHas?: boolean;
  onPhase?: (phase: string) => void;
  /** The sort's progress: comparisons done over the expected number (≈ n·log2 n), 0..1. */
  onSortProgress?: (fraction: number) => void;
  /** The line-up of an earlier join over the same key columns (same tables, order, uniqueness): no sort. */
  lineup?: JoinLineup;
}

/** The rows' order by (key, table) of one join's inputs, for a later join over the same key columns. */
export interface JoinLineup {
  /** Rows: the sum of the inputs' row counts. */
  n: number;
  /** What the sort key was made of: each input's rows, whether without the row index, the tie column's bits. */
  shape: string;
  permutation: SortPermutation;
  /** 1 where the key equals the row before's (arithmetic 0/1). */
  same: AShare;
}

/** Bytes of a line-up held at one node (shares, and the shuffle's and rank's permutations). */
export function lineupBytes(l: JoinLineup): number {
  return 16 * l.n + 4 * l.n + l.permutation.shuffle.perms.reduce((s, x) => s + (x ? 4 * x.length : 0), 0);
}

/** What a join needs of an input once its columns are stacked (joinOnKey holds no input column past its start). */
interface InputShape {
  unique: JoinInput['unique'];
  /** At most one row per key among all its rows (no filter, or a key declared unique). */
  rowsUnique: boolean;
  /** Most rows of one key (1, the tie's values, or Infinity). */
  rowsPerKey: number;
  columns: number;
  name?: string;
}

/** The rows lined up by key: the stacked columns moved, the group starts, the line-up. */
interface LinedUp {
  here: AShare[];
  slot: AShare[];
  same: AShare;
  lineup: JoinLineup;
}

/**
 * Not an async function: the inputs' columns are stacked (and the key's handed to the merge or
 * sort) here, so neither this function nor the rest of the join holds them (V8 keeps an async
 * function's arguments until it returns); a caller that drops its own references frees them.
 */
export function joinOnKey(p: Party, inputs: JoinInput[], opts: JoinOptions): Promise<Joined> {
  try {
    const [shapes, n, lined] = lineUp(p, inputs, opts);
    return lined.then((l) => joinLinedUp(p, shapes, n, l, opts));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The inputs' shapes, their rows' count, and their rows lined up by key (under way). */
function lineUp(p: Party, inputs: JoinInput[], opts: JoinOptions): [InputShape[], number, Promise<LinedUp>] {
  const k = inputs.length;
  if (k === 0) throw new RangeError('joinOnKey: no tables');
  inputs.forEach((t) => {
    if (t.present && t.present.length !== t.key.length) throw new RangeError('joinOnKey: present flag and key lengths differ');
    if (t.columns.some((c) => c.length !== t.key.length)) throw new RangeError('joinOnKey: column and key lengths differ');
    if (t.tie && (t.tie.column.length !== t.key.length || !Number.isInteger(t.tie.bits) || t.tie.bits < 1 || t.tie.bits > 16)) throw new RangeError('joinOnKey: a tie column must have the key\'s length and 1..16 bits');
    if (t.tie?.values !== undefined && (!Number.isInteger(t.tie.values) || t.tie.values < 1 || t.tie.values > 2 ** t.tie.bits)) throw new RangeError(`joinOnKey: a tie column of ${t.tie.bits} bits takes 1..${2 ** t.tie.bits} values, not ${t.tie.values}`);
  });
  const { keyBits } = opts;
  const phase = opts.onPhase ?? (() => {});
  const tb = Math.max(1, indexBits(k));
  const lens = inputs.map((t) => t.key.length);
  const n = lens.reduce((s, l) => s + l, 0);
  // Stack the tables: composite sort key = key·2^tb + tag; slot j holds column j of whichever
  // table the row belongs to (tables share slots: fewer columns to shuffle); here_t marks rows of t.
  const slots = Math.max(0, ...inputs.map((t) => t.columns.length));
  const stacked: AShare[] = [
    ...inputs.map((_, i) => concatShares(inputs.map((t, u) => (u === i ? (t.present ?? constant(p, t.key.length, 1n)) : zeros(t.key.length))))),
    ...Array.from({ length: slots }, (_, j) => concatShares(inputs.map((t) => t.columns[j] ?? zeros(t.key.length)))),
  ];
  // No row index in the sort key where the (key, tag) pairs are distinct: every table's rows are
  // unique, filtered out or not (two rows of one key and table would tie), or told apart by a tie column.
  const rowsUnique = (t: JoinInput) => t.unique === true && (!t.present || t.allRowsUnique === true);
  const shapes: InputShape[] = inputs.map((t) => ({
    unique: t.unique,
    rowsUnique: rowsUnique(t),
    rowsPerKey: rowsUnique(t) ? 1 : t.unique === true && t.tie ? (t.tie.values ?? 2 ** t.tie.bits) : Infinity,
    columns: t.columns.length,
    ...(t.name !== undefined ? { name: t.name } : {}),
  }));
  const distinct = inputs.every((t) => rowsUnique(t) || (t.unique === true && t.tie));
  const tieBits = distinct ? Math.max(0, ...inputs.map((t) => t.tie?.bits ?? 0)) : 0;
  const merge = inputs.every((t) => t.sorted);
  const shape = `${lens.join(',')} rows, ${merge ? 'merged' : distinct ? `distinct, ${tieBits} tie bits` : 'row index'}`;
  const lineup = opts.lineup;
  if (lineup) {
    if (lineup.shape !== shape) throw new RangeError(`joinOnKey: the line-up was made for ${lineup.n} rows (${lineup.shape}), these tables have ${n} (${shape})`);
    phase('line-up reused');
    return [shapes, n, applySortPermutation(p, lineup.permutation, stacked).then((moved) => ({ here: moved.slice(0, k), slot: moved.slice(k), same: lineup.same, lineup }))];
  }
  phase('sort');
  if (merge) {
    // Sorted tables: merged by key; equal keys stay in table order (the merge breaks ties by run)
    // and the group starts come from the merged key bits (no sorted key needed).
    const merged = mergeRuns(p, concatShares(inputs.map((t) => t.key)), lens, stacked, { keyBits, unsigned: true, ...(opts.onSortProgress ? { onProgress: (f: number) => opts.onSortProgress!(Math.min(0.99, f)) } : {}) });
    return [shapes, n, merged.then((m) => ({ here: m.payloads.slice(0, k), slot: m.payloads.slice(k), same: m.same, lineup: { n, shape, permutation: m.permutation, same: m.same } }))];
  }
  // Progress by comparisons: about n·log2 n (quicksort ~1.39, with the sample sort ~1.0 per row and level).
  let compared = 0;
  const expected = Math.max(1, 1.2 * n * Math.log2(n + 1));
  const onReveal = opts.onSortProgress ? (_: Uint32Array, m: number) => opts.onSortProgress!(Math.min(0.99, (compared += m) / expected)) : undefined;
  // Sorted by the composite key (key·2^tb + tag)·2^tieBits + tie, with the key itself as the first payload.
  const sorted = sort(
    p,
    concatShares(inputs.map((t, i) => {
      const c = mulPublic(addPublic(p, mulPublic(t.key, 1n << BigInt(tb)), BigInt(i)), 1n << BigInt(tieBits));
      return tieBits && t.tie ? add(c, t.tie.column) : c;
    })),
    [concatShares(inputs.map((t) => t.key)), ...stacked],
    { keyBits: keyBits + tb + tieBits + 1, distinct, ...(onReveal ? { onReveal } : {}) },
  );
  return [shapes, n, sorted.then(async (s) => {
    const [sKey, ...rest] = s.payloads;
    // Group starts: the key differs from the row before's (row 0: compared with −1).
    phase('group boundaries');
    const same = await bitInject(p, await eq(p, sKey!, shiftDown(p, sKey!, -1n), { bits: keyBits + 1 }));
    return { here: rest.slice(0, k), slot: rest.slice(k), same, lineup: { n, shape, permutation: s.permutation, same } };
  })];
}

/**
 * The segmented scans of presence flags alone, on boolean shares: per table, at each row, `here` at
 * the last row at or before it that starts a group or has the table (flag first ∨ here), as
 * propagate(…, { flags: false }) returns it ([flag, has]; the flag slot holds `first`, unused).
 * 0/1 arithmetic shares become boolean ones locally (lowBit); one AND round for the flags, the
 * scan's levels, two rounds to inject the results back.
 */
async function presenceScan(p: Party, first: AShare, here: AShare[], window: number): Promise<AShare[][]> {
  const k = here.length, n = first.length;
  const has = await bitInject(p, await presenceInGroups(p, lowBit(first), stackPlanes(here.map(lowBit)), window));
  return Array.from({ length: k }, (_, q) => [first, has.slice(q * n, (q + 1) * n)]);
}

/**
 * The join after the line-up: group starts and ends, the segmented scan, the uniqueness checks.
 * Takes the moved columns out of `l` (the line-up's promise holds it) so they go once used.
 */
async function joinLinedUp(p: Party, inputs: InputShape[], n: number, l: LinedUp, opts: JoinOptions): Promise<Joined> {
  const k = inputs.length;
  const phase = opts.onPhase ?? (() => {});
  const { here, same, lineup } = l;
  let slot = l.slot;
  l.slot = [];
  const first = subFromPublic(p, 1n, same);

  // Flags (group start or a row of t) and, per table, its columns where it is present.
  phase('segmented scan');
  // A first table with at most one row per key (all rows) has it at its group's start: its flag is
  // the group start itself. Otherwise (several rows, some filtered out) the flag is first ∨ here.
  const lastHas = opts.lastHas ?? true;
  // The last table's rows come last in their group: where it has at most one row per key, nothing
  // is copied onto other rows (its has = here, its values = its own), so it is not scanned.
  const scans = inputs.map((t, i) => i < k - 1 || (!t.rowsUnique && (t.unique !== false || lastHas)));
  // Where no scanned table carries columns (e.g. an EXISTS's flag: only presence is copied), every
  // scan copies one bit: run on boolean shares (scan-bits.ts), its flags first ∨ here made there.
  const bitScan = scans.some(Boolean) && inputs.every((t, i) => !scans[i] || t.unique === false || t.columns === 0);
  let prods: AShare[] | null = await mulMany(p, inputs.flatMap((t, i) => [
    ...(!bitScan && (i > 0 || !t.rowsUnique) && scans[i] ? [[first, here[i]!] as [AShare, AShare]] : []),
    ...Array.from({ length: t.columns }, (_, j) => [here[i]!, slot[j]!] as [AShare, AShare]),
  ]));
  let q = 0;
  const flags: AShare[] = [];
  const own: AShare[][] = [];
  inputs.forEach((t, i) => {
    if (i === 0 && t.rowsUnique) flags.push(first);
    else if (scans[i] && !bitScan) flags.push(sub(add(first, here[i]!), prods![q++]!)); // first ∨ here = first + here − first·here
    else flags.push(first); // unused (not scanned, or made by presenceScan)
    own.push(Array.from({ length: t.columns }, () => prods![q++]!));
  });
  [prods, slot] = [null, []]; // not needed past here (V8 keeps an async function's locals across its awaits)
  // One scan per table: presence for all, values only for the unique (non-last) tables.
  const scanIdx = inputs.flatMap((_, i) => (scans[i] ? [i] : []));
  // Every flag is set at its key group's start, so where a group has at most G rows (every table at
  // most one row per key, or as many as a tie column's values) the scan need look back only G − 1 rows:
  // ⌈log2 G⌉ rounds instead of 2·log2 n, and no more multiplications while G ≤ 4.
  const groupRows = inputs.reduce((s, t) => s + t.rowsPerKey, 0);
  // A unique table's own columns are given up to the scan (its output replaces them): written over.
  const groups = () => scanIdx.map((i) => (inputs[i]!.unique === false ? { flag: flags[i]!, values: [here[i]!] } : { flag: flags[i]!, values: [here[i]!, ...own[i]!], consume: own[i]!.map((_, j) => j + 1) }));
  const scannedSome = bitScan
    ? await presenceScan(p, first, scanIdx.map((i) => here[i]!), groupRows <= 4 ? groupRows : n)
    : groupRows <= 4 ? await propagateWithin(p, groups(), groupRows, { flags: false }) : await propagate(p, groups(), { flags: false });
  const scanned = inputs.map((_, i) => (scans[i] ? scannedSome[scanIdx.indexOf(i)]! : null));
  const tables: JoinedTable[] = inputs.map((t, i) => ({
    here: here[i]!,
    // Without the scan (lastHas false) `has` of the last table is not computed: its rows' own flag stands in.
    has: scanned[i] ? scanned[i]![1]! : here[i]!,
    columns: t.unique === false || !scanned[i] ? own[i]! : scanned[i]!.slice(2),
  }));

  // Uniqueness checks: a present row of t with an earlier present row of t in its group.
  const checked = inputs.flatMap((t, i) => (t.unique === 'check' ? [i] : []));
  if (checked.length) {
    phase('uniqueness check');
    const notFirst = same;
    const a = await mulMany(p, checked.map((i) => [here[i]!, shiftDown(p, tables[i]!.has, 0n)] as [AShare, AShare]));
    const dup = await mulMany(p, a.map((x) => [x, notFirst] as [AShare, AShare]));
    const counts = concatShares(dup.map((d) => sum(d)));
    // Counts are < 2^keyBits rows… at most n; only whether each is zero is revealed.
    const isZero = await revealBits(p, await eq(p, counts, 0n, { bits: indexBits(n + 1) + 2 }));
    checked.forEach((i, c) => {
      if (((isZero![c >>> 5]! >>> (c & 31)) & 1) === 0) {
        const name = inputs[i]!.name ?? `table ${i}`;
        throw new JoinError(`${name} has more than one row for some key after its filters; a join needs one row per key on that side (filter it, e.g. to one year)`);
      }
    });
  }
  let last: AShare | null = null;
  return { n, tables, get last() { return (last ??= shiftUp(p, first, 1n)); }, first, lineup };
}
