// Queries over several registers joined on the person id ("virtual registers"): the parsed SQL
// (parse.ts) is checked against every table's public schema and turned into
//   - one join on the person id (src/mpc/join.ts), with the conditions that concern one table
//     alone applied to that table before the join (ON … AND …, and WHERE conjuncts on an inner
//     table), and
//   - a single-register plan (plan.ts) over the joined rows: a virtual table whose columns are
//     `alias.column`, plus `__row` (the row is a row of the join's result) and, per LEFT JOINed
//     table, `alias.__has` (the row has a match there). Everything after the join, WHERE, GROUP BY,
//     aggregates, small-cell suppression, HAVING, runs exactly as for one register.
//
// What is supported, in SQL terms:
//   FROM t0 [a0] { [INNER] JOIN | LEFT JOIN } t1 [a1] ON a1.person_id = a0.person_id [AND <t1 only>] …
//   All joins are on person_id columns (one key per table; a star around the person). Every
//   table but one must have at most one row per person: declared (a `unique` person_id, or a
//   composite key of the schema whose other columns the table's own conditions fix with
//   col = literal, e.g. keys [['person_id', 'year']] and ON … AND i.year = 2023; both validated at
//   ingest, contribution.ts), or checked inside MPC after its filters (one revealed bit, join.ts).
//   The one table that may have many rows per person is the first table in FROM order that is
//   not declared one row per person. A second one takes part with its first b rows per person,
//   declared by ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY …) <= b in a subquery (a
//   many-to-many join, padded to b: join-execute.ts); without such a bound the join is refused.
//   A table read through a subquery with window functions (parse.ts WindowTable) is such a table
//   with many rows: its subquery's WHERE filters it before the join, the outer WHERE after.
//   LEFT JOIN follows SQL: a person without a match appears once with the joined table's columns
//   NULL; a comparison with NULL is unknown (Kleene logic: the WHERE clause is put in negation
//   normal form and each comparison on such a column is ANDed with its table's match flag), and
//   `x IS [NOT] NULL` tests the match. Aggregates and GROUP BY over a LEFT JOINed table's columns
//   are refused (their NULL handling is not implemented); COUNT(*) counts the joined rows.
// The small-cell rule counts joined rows (e.g. contacts), as COUNT(*) does.
// With { personKey: true } (planAnyQuery, planJoinQuery) even a query over one register is
// planned as a (one-table) join on its person id, so that a restricting table on the person id —
// the consent filter of a governed study — can be joined in at execution (join-execute.ts).
import { type CodeList, type ColumnSpec, type DatasetSchema, formatDate, parseDate } from '../ingest/schema.js';
import { type Expr, parseQuery, type ParsedQuery, QueryError, show, type WindowColumn } from './parse.js';
import { Builder, fixedColumns, FRAC, planQuery, type QueryPlan } from './plan.js';
import { HAS, planRowQuery, ROW } from './row-plan.js';

/**
 * How a table takes part: FROM, [INNER] JOIN, LEFT JOIN, [NOT] EXISTS (semi-join: its match flag
 * only), or the second register of an EXISTS with a date window (read by its partner's window).
 */
/**
 * Whether rows of `d` with the columns `fixed` fixed are at most one per value of `key` (a person
 * id): its key column is unique, or a declared key ⊆ {key} ∪ fixed.
 */
export function oneRowPerPerson(d: DatasetSchema, key: string, fixed: Set<string>): boolean {
  if (d.columns.find((c) => c.name === key)?.unique === true) return true;
  return (d.keys ?? []).some((k) => k.every((c) => c === key || fixed.has(c)));
}

export type TableKind = 'from' | 'inner' | 'left' | 'semi' | 'window';

/**
 * EXISTS (… FROM a JOIN b ON … WHERE b.date BETWEEN a.date + lo AND a.date + hi …): a person
 * matches when some row of a (after its filter) is followed by a row of b (after its filter)
 * with lo ≤ b.date − a.date ≤ hi (0 ≤ lo ≤ hi; src/mpc/cohort.ts).
 */
export interface DateWindow {
  /** Index (in JoinPlan.tables) of the second register, b. */
  partner: number;
  aDate: string;
  bDate: string;
  lo: number;
  /** null: no upper bound. */
  hi: number | null;
  /** Signed width that holds every shifted date and their differences. */
  timeBits: number;
}

export interface JoinTablePlan {
  alias: string;
  dataset: DatasetSchema;
  kind: TableKind;
  /** The person-id column it is joined on. */
  key: string;
  /** One row per person: declared in the schema (true) or checked inside MPC ('check'); false: the many side. */
  unique: boolean | 'check';
  /** Conditions on this table alone, applied before the join (a plan over the table: COUNT(*) … WHERE …). */
  filter: QueryPlan | null;
  filterText: string | null;
  /** Columns of this table the joined plan reads (unqualified), not including the key. */
  columns: string[];
  /** Every column whose shares the execution needs: key, filter and joined columns. */
  reads: string[];
  /** For an EXISTS over two registers with a date window: the window (this table is its `a`). */
  window?: DateWindow;
  /** Window functions over this table's rows per person (a subquery with OVER in FROM or JOIN). */
  over?: OverPlan;
  /**
   * ROW_NUMBER() OVER (PARTITION BY its person id …) <= rows, as a top-level condition: at most
   * this many rows per person count (contribution.ts).
   */
  bound?: { column: string; rows: number };
  /**
   * Many-to-many: this table's first `bound.rows` rows per person are set beside every row of the
   * table with many rows per person (join-execute.ts): rows × bound.rows joined rows, padded.
   */
  expand?: true;
  /**
   * EXISTS over the many side's own register and person id: not joined; its condition is evaluated
   * on the many side's rows and OR-ed over each person's rows (join-execute.ts).
   */
  fold?: true;
  /** Its stored rows are in ascending order of `key` (JoinPlanOptions.sortedBy): the join merges instead of sorting. */
  sorted?: true;
  /**
   * Columns of this table (0/1) that must all be 1 for a row to take part, as its filter: the match
   * flags of inner joins carried onto its rows (carried-join.ts).
   */
  requires?: string[];
  /** What the joins carried onto its rows depend on (carried-join.ts CarriedJoin.signature): part of a kept join's signature. */
  carried?: string[];
}

/**
 * Window functions of one table (parse.ts WindowColumn), per person (PARTITION BY its person id),
 * in one order: its rows are sorted by `order` inside MPC before the join (join-execute.ts), whose
 * stable sort by person keeps that order within each person.
 */
export interface OverPlan {
  /** ORDER BY column and its encoded range (lo..hi), or null (COUNT(*) per person only). */
  order: { column: string; desc: boolean; lo: number; hi: number } | null;
  columns: {
    /** The window column's name: alias.name in the joined plan. */
    name: string;
    fn: WindowColumn['fn'];
    /** LAG/LEAD: the column read (a column of this table). */
    arg: string | null;
    /** LAG/LEAD: the encoded value where there is no previous / next row; null: NULL (flag alias.name.__has). */
    fallback: bigint | null;
    /** COUNT(*): rows so far (ROWS frame) instead of rows up to the row's order value (RANGE). */
    rows: boolean;
  }[];
  /** Dataset columns each window column reads (what a policy checks). */
  sources: Record<string, string[]>;
}

export interface JoinPlan {
  sql: string;
  tables: JoinTablePlan[];
  /** The join's input order: unique tables first, the many table (if any) last. */
  order: number[];
  /** The plan over the joined rows. */
  plan: QueryPlan;
}

const err = (m: string): never => {
  throw new QueryError(m);
};

export { HAS, ROW } from './row-plan.js';

/** Whether a parsed query needs the join planner (JOIN or EXISTS). */
export function needsJoinPlan(q: ParsedQuery): boolean {
  const has = (e: Expr | null): boolean => !!e && (e.kind === 'exists' || ((e.kind === 'and' || e.kind === 'or') && (has(e.left) || has(e.right))) || (e.kind === 'not' && has(e.arg)));
  return q.joins.length > 0 || has(q.where) || !!q.windows?.length;
}

/** The plan without the tables at `drop` (its order renumbered), the table at `at` replaced by `by`. Local. */
export function withoutTables(jp: JoinPlan, drop: ReadonlySet<number>, at: number, by: JoinTablePlan): JoinPlan {
  const kept = [...jp.tables.keys()].filter((i) => !drop.has(i));
  const to = new Map(kept.map((i, n) => [i, n]));
  return { ...jp, order: jp.order.filter((i) => !drop.has(i)).map((i) => to.get(i)!), tables: kept.map((i) => (i === at ? by : jp.tables[i]!)) };
}

/** Parses and plans a query over several tables. */
export function planJoinSql(sql: string, datasets: Map<string, DatasetSchema>, codeLists: Map<string, CodeList>, opts: JoinPlanOptions = {}): JoinPlan {
  return planJoinQuery(parseQuery(sql), datasets, codeLists, opts);
}

export interface JoinPlanOptions {
  /**
   * Plan as a join on the person id even a query over one register (a one-table join plan), so
   * that a restricting table on the person id can be joined in at execution (join-execute.ts
   * RowRestriction; the consent filter of governed studies). The FROM table's person id is then
   * its join key: the column it is joined on, else its `person_id` column, else its only
   * person_id-typed column.
   */
  personKey?: boolean;
  /**
   * Plan an analysis table (src/query/rows.ts): the SELECT list holds row expressions (columns,
   * conditions, EXISTS, age(), LEAST/GREATEST/COALESCE over LEFT JOINed dates, date differences)
   * instead of aggregates; the rows never leave MPC.
   */
  rows?: boolean;
  /**
   * Registers (by name) whose stored rows are in ascending order of this person_id column (the
   * upload's `sortedBy`, src/ingest/person-order.ts): a table joined on it is marked `sorted`.
   */
  sortedBy?: Map<string, string>;
}

export function planJoinQuery(q: ParsedQuery, datasets: Map<string, DatasetSchema>, codeLists: Map<string, CodeList>, opts: JoinPlanOptions = {}): JoinPlan {
  const dataset = (name: string) => datasets.get(name) ?? err(`unknown table '${name}' (known: ${[...datasets.keys()].join(', ')})`);
  // [NOT] EXISTS subqueries become semi-joined tables; in WHERE they read the table's match flag.
  const semis: Extract<Expr, { kind: 'exists' }>[] = [];
  const where0 = q.where ? extractExists(q.where, semis) : null;
  // Analysis tables (rows): EXISTS may stand in the SELECT list too (a 0/1 column).
  const select0 = opts.rows ? q.select.map((s) => ({ ...s, expr: extractExists(s.expr, semis) })) : q.select;
  const clauses: { table: string; alias: string; kind: TableKind }[] = [
    { table: q.table, alias: q.alias, kind: 'from' },
    ...q.joins,
    ...semis.map((e) => ({ table: e.table, alias: e.alias, kind: 'semi' as const })),
    ...semis.flatMap((e) => (e.join ? [{ table: e.join.table, alias: e.join.alias, kind: 'window' as const }] : [])),
  ];
  const tables = clauses.map((c) => ({ alias: c.alias, dataset: dataset(c.table), kind: c.kind }));
  const byAlias = new Map(tables.map((t) => [t.alias, t]));
  const overOf = new Map((q.windows ?? []).map((w) => [w.alias, w]));
  if (tables.length === 1 && !opts.personKey && !overOf.size) err('planJoinQuery: a query over one table is planned by planQuery');
  if (overOf.size && opts.rows) err('window functions (OVER) in an analysis table are not supported; use them in a query whose aggregates they feed');
  for (const j of q.joins) if (j.kind === 'left' && overOf.has(j.alias)) err(`LEFT JOIN ${j.alias}: a subquery with window functions is joined with JOIN (inner), not LEFT JOIN`);
  // The window columns of each table (name → spec), visible like its own columns.
  const overSpecs = new Map([...overOf].map(([a, w]) => [a, overSpecsOf(w.columns, byAlias.get(a)!.dataset, codeLists, a)]));
  const hasColumn = (t: (typeof tables)[number], c: string) => t.dataset.columns.some((s) => s.name === c) || !!overSpecs.get(t.alias)?.has(c);

  // Column names → alias.column, with clear errors for unknown and ambiguous names. A semi-joined
  // table's columns are visible inside its EXISTS only (where they come first, as in SQL).
  const visible = tables.filter((t) => t.kind !== 'semi' && t.kind !== 'window');
  const resolveIn = (inner: (typeof tables)[number] | null, innerB: (typeof tables)[number] | null = null) => (name: string, must = true): string | null => {
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const a = name.slice(0, dot), c = name.slice(dot + 1);
      const t = byAlias.get(a)!;
      if (c === HAS && t.kind === 'semi') return name;
      if ((t.kind === 'semi' || t.kind === 'window') && t !== inner && t !== innerB) err(`${name}: the columns of ${a} are visible inside its EXISTS only`);
      if (!hasColumn(t, c) && !(c.endsWith(`.${HAS}`) && overSpecs.get(a)?.has(c))) err(`unknown column '${c}' in ${t.dataset.name} (columns: ${[...t.dataset.columns.map((s) => s.name), ...(overSpecs.get(a)?.keys() ?? [])].join(', ')})`);
      return name;
    }
    const mine = [inner, innerB].filter((t) => t && hasColumn(t, name));
    if (mine.length > 1) err(`column '${name}' is ambiguous inside EXISTS: it is in ${inner!.alias} and ${innerB!.alias}`);
    if (mine.length === 1) return `${mine[0]!.alias}.${name}`;
    const owners = visible.filter((t) => hasColumn(t, name));
    if (owners.length > 1) err(`column '${name}' is ambiguous: it is in ${owners.map((t) => t.alias).join(' and ')}; write ${owners[0]!.alias}.${name}`);
    if (owners.length === 0) return must ? err(`unknown column '${name}' (in none of ${visible.map((t) => t.dataset.name).join(', ')})`) : null;
    return `${owners[0]!.alias}.${name}`;
  };
  const resolve = resolveIn(null);
  const rewrite = (e: Expr, must = true): Expr => mapColumns(e, (n) => resolve(n, must) ?? n);
  const aliasOf = (col: string) => col.slice(0, col.indexOf('.'));
  const specOf = (col: string): ColumnSpec => {
    const [a, c] = [aliasOf(col), col.slice(col.indexOf('.') + 1)];
    return byAlias.get(a)!.dataset.columns.find((s) => s.name === c) ?? overSpecs.get(a)!.get(c)!;
  };

  // ON (and an EXISTS's WHERE): one person-id equality with an earlier table, the rest about the
  // joined table alone.
  const keys = new Map<string, string>();
  const pushed = new Map<string, Expr[]>(tables.map((t) => [t.alias, []]));
  // Conditions after the join (and after window functions): ON conditions on a table read through
  // window functions, WHERE conjuncts over several tables or NULL tests.
  const rest: Expr[] = [];
  const link = (alias: string, cond: Expr | null, earlier: Set<string>, what: string) => {
    let linked = false;
    for (const c of cond ? conjuncts(cond) : []) {
      const refs = new Set(columnsOf(c).map(aliasOf));
      if (c.kind === 'cmp' && c.op === '=' && c.left.kind === 'column' && c.right.kind === 'column' && refs.size === 2 && refs.has(alias)) {
        const [mine, other] = aliasOf(c.left.name) === alias ? [c.left.name, c.right.name] : [c.right.name, c.left.name];
        if (!earlier.has(aliasOf(other))) err(`${what}: ${show(c)} must refer to a table joined before it`);
        for (const col of [mine, other]) if (specOf(col).type !== 'person_id') err(`${what}: ${show(c)}: joins are on person_id columns, and ${col} is ${specOf(col).type}`);
        if (linked) err(`${what} has two join conditions; a join links on one person id`);
        linked = true;
        for (const col of [mine, other]) {
          const a = aliasOf(col), k = keys.get(a);
          if (k !== undefined && k !== col) err(`table ${a} is joined on ${k} and on ${col}; all joins are on one person id per table`);
          keys.set(a, col);
        }
        continue;
      }
      if (refs.size !== 1 || !refs.has(alias)) err(`${what}: ${show(c)}: besides the person-id equality, conditions here may refer to ${alias} only (others belong in the outer WHERE)`);
      (overOf.has(alias) ? rest : pushed.get(alias)!).push(c);
    }
    if (!linked) err(`${what} needs ${alias}.<person_id> = <earlier table>.<person_id>`);
  };
  q.joins.forEach((j, i) => link(j.alias, rewrite(j.on), new Set(tables.slice(0, i + 1).map((t) => t.alias)), `JOIN ${j.alias}: ON`));
  const outer = new Set(visible.map((t) => t.alias));
  const windows = new Map<string, Omit<DateWindow, 'partner'> & { partner: string }>();
  for (const e of semis) {
    const what = `EXISTS (… FROM ${e.table} ${e.alias}${e.join ? ` JOIN ${e.join.table} ${e.join.alias}` : ''} …)`;
    if (!e.join) {
      link(e.alias, e.where ? mapColumns(e.where, (n) => resolveIn(byAlias.get(e.alias)!)(n)!) : null, outer, what);
      continue;
    }
    // Two registers: the person-id link between them, the correlation with the outer query, the
    // date window, and conditions on each alone.
    const A = byAlias.get(e.alias)!, B = byAlias.get(e.join.alias)!;
    const res = (x: Expr) => mapColumns(x, (n) => resolveIn(A, B)(n)!);
    const all = [...conjuncts(res(e.join.on)), ...(e.where ? conjuncts(res(e.where)) : [])];
    const win: Expr[] = [];
    const rest: Expr[] = [];
    for (const c of all) {
      const refs = new Set(columnsOf(c).map(aliasOf));
      if (refs.has(A.alias) && refs.has(B.alias) && !isPidEquality(c, specOf)) win.push(c);
      else rest.push(c);
    }
    // A–B person-id link first (it is not a link to the outer query), then the rest as for one table.
    const abLink = rest.findIndex((c) => isPidEquality(c, specOf) && new Set(columnsOf(c).map(aliasOf)).size === 2 && columnsOf(c).every((n) => [A.alias, B.alias].includes(aliasOf(n))));
    if (abLink < 0) err(`${what}: the two registers must be joined on their person ids (ON ${B.alias}.person_id = ${A.alias}.person_id)`);
    const [ab] = rest.splice(abLink, 1);
    const abCols = columnsOf(ab!);
    const aKey = abCols.find((n) => aliasOf(n) === A.alias)!, bKey = abCols.find((n) => aliasOf(n) === B.alias)!;
    keys.set(A.alias, aKey);
    keys.set(B.alias, bKey);
    // The correlation may name either register's person id: read it as A's.
    const asA = (c: Expr) => mapColumns(c, (n) => (n === bKey ? aKey : n));
    link(A.alias, [...rest.filter((c) => !columnsOf(c).every((n) => aliasOf(n) === B.alias)).map(asA)].reduce<Expr | null>((x, y) => (x ? { kind: 'and', left: x, right: y } : y), null), outer, what);
    for (const c of rest.filter((c) => columnsOf(c).length > 0 && columnsOf(c).every((n) => aliasOf(n) === B.alias))) pushed.get(B.alias)!.push(c);
    windows.set(A.alias, { partner: B.alias, ...dateWindow(win, A.alias, B.alias, specOf, what) });
  }


  // A table read through window functions: its subquery's WHERE comes before them; PARTITION BY
  // its person id, which is its key.
  for (const [a, w] of overOf) {
    if (w.where) pushed.get(a)!.push(...conjuncts(rewrite(w.where)));
    const d = byAlias.get(a)!.dataset;
    for (const c of w.columns) {
      const pid = c.partition.length === 1 ? d.columns.find((s) => s.name === c.partition[0]) : undefined;
      if (pid?.type !== 'person_id') err(`${c.fn.toUpperCase()}() OVER (…) AS ${c.name}: window functions are computed per person: PARTITION BY the person id of ${d.name} (${d.columns.filter((s) => s.type === 'person_id').map((s) => s.name).join(', ') || 'none'}) alone`);
      const k = keys.get(a);
      if (k !== undefined && k !== `${a}.${pid!.name}`) err(`${a} is joined on ${k} but its window functions are partitioned by ${pid!.name}`);
      keys.set(a, `${a}.${pid!.name}`);
    }
  }

  if (opts.personKey && !keys.has(q.alias)) {
    const from = byAlias.get(q.alias)!.dataset;
    const pids = from.columns.filter((c) => c.type === 'person_id');
    const k = pids.find((c) => c.name === 'person_id') ?? (pids.length === 1 ? pids[0] : undefined);
    if (!k) err(`${from.name} has ${pids.length ? `several person_id columns (${pids.map((c) => c.name).join(', ')}) and none named person_id` : 'no person_id column'}: rows cannot be linked to persons (needed for the consent filter)`);
    keys.set(q.alias, `${q.alias}.${k!.name}`);
  }

  // WHERE: conjuncts about one inner table alone are applied to it before the join.
  const left = new Set(tables.filter((t) => t.kind === 'left').map((t) => t.alias));
  // NULL flags: a LEFT JOINed table's match, and a LAG/LEAD without default (alias.name.__has).
  const nullFlag = (col: string): string | null => (left.has(aliasOf(col)) ? `${aliasOf(col)}.${HAS}` : overSpecs.get(aliasOf(col))?.has(`${col.slice(col.indexOf('.') + 1)}.${HAS}`) ? `${col}.${HAS}` : null);
  if (where0) {
    for (const c of conjuncts(rewrite(where0))) {
      const refs = new Set(columnsOf(c).map(aliasOf));
      const [only] = refs;
      const kind = byAlias.get(only!)?.kind;
      if (refs.size === 1 && (kind === 'from' || kind === 'inner') && !hasNullTest(c) && !overOf.has(only!)) pushed.get(only!)!.push(c);
      else rest.push(c);
    }
  }

  // Aggregates and group keys over LEFT JOINed tables' columns are refused (NULL semantics).
  const select = select0.map((s) => {
    const e0 = rewrite(s.expr);
    // Conditions in an analysis table's SELECT list: SQL's three-valued logic over LEFT JOIN misses.
    const e = opts.rows && isCondition(e0) ? kleene(e0, false, nullFlag) : e0;
    // A bare column is named like SQL names it: without its qualifier.
    const alias = s.alias ?? (e.kind === 'column' && s.expr.kind === 'column' ? e.name.slice(e.name.indexOf('.') + 1) : null);
    return { expr: e, alias };
  });
  const groupBy = q.groupBy.map((g) => rewrite(g, false));
  // …and over a LAG/LEAD without default unless the WHERE clause drops its NULLs (a comparison or
  // IS NOT NULL on it, as a top-level conjunct): then SQL's SUM/AVG skip exactly the rows WHERE drops.
  const guarded = new Set(rest.filter((c) => !hasNullTest(c) || (c.kind === 'isnull' && c.negated)).filter((c) => ['cmp', 'between', 'in', 'like', 'isnull'].includes(c.kind)).flatMap(columnsOf));
  for (const e of [...(opts.rows ? [] : select.map((s) => s.expr)), ...groupBy, ...(q.having ? [rewrite(q.having, false)] : [])]) {
    for (const c of columnsOf(e)) {
      if (byAlias.has(aliasOf(c)) && left.has(aliasOf(c))) err(`${show(e)}: aggregates and GROUP BY over a LEFT JOINed table's columns (${c}) are not supported; use JOIN, or COUNT(*) with WHERE … IS NOT NULL`);
      if (nullFlag(c) && !left.has(aliasOf(c)) && !guarded.has(c)) err(`${show(e)}: ${c} is NULL where a person has no previous/next row; add WHERE ${c} IS NOT NULL (or a comparison on it), or give ${c.slice(c.indexOf('.') + 1)}'s LAG/LEAD a default`);
    }
  }

  // Each table's own conditions, as a plan over the table alone (COUNT(*) … WHERE …).
  const filters = new Map(tables.map((t) => {
    const conds = pushed.get(t.alias)!;
    const unqualified = conds.map((c) => mapColumns(c, (n) => n.slice(n.indexOf('.') + 1)));
    const where = unqualified.length ? unqualified.reduce((a, b) => ({ kind: 'and', left: a, right: b })) : null;
    const plan = where
      ? planQuery({ sql: '', table: t.dataset.name, alias: t.dataset.name, joins: [], select: [{ expr: { kind: 'agg', fn: 'count', arg: null, text: 'count(*)' }, alias: null }], where, groupBy: [], having: null, orderBy: [], limit: null }, t.dataset, codeLists)
      : null;
    return [t.alias, { plan, where }] as const;
  }));

  // Which table may have many rows per person (semi-joined tables may too: only their match flag
  // is used). A table has one row per person when its person id is unique, or when its filter
  // fixes the other columns of a declared key (contribution.ts). Join order: one-row-per-person
  // tables, then semi-joined ones, then the many side.
  const declared = (t: (typeof tables)[number]) => {
    const f = filters.get(t.alias)!.plan;
    // A table read through window functions is the side with many rows per person.
    return !overOf.has(t.alias) && oneRowPerPerson(t.dataset, keys.get(t.alias)!.slice(t.alias.length + 1), f ? fixedColumns(f) : new Set());
  };
  // Many-to-many: a second table with many rows per person takes part with its first b rows per
  // person, b declared as ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY …) <= b (boundOf).
  const multi = [...tables.keys()].filter((i) => tables[i]!.kind !== 'semi' && tables[i]!.kind !== 'window' && !declared(tables[i]!));
  const bounds = new Map(multi.flatMap((i) => {
    const t = tables[i]!;
    const b = boundOf(t.alias, overOf.get(t.alias)?.columns ?? [], rest);
    if (b && b.rows < 1) err(`${t.alias}.${b.column} <= ${b.rows}: the bound on rows per person must be at least 1`);
    // No person has more rows than declared: a larger bound is that.
    return b ? [[i, { ...b, rows: Math.min(b.rows, maxRowsOf(t.dataset, keys.get(t.alias)!.slice(t.alias.length + 1))) }] as const] : [];
  }));
  const many = multi.find((i) => !bounds.has(i)) ?? multi[0] ?? -1;
  const boundedIdx = multi.filter((i) => i !== many && bounds.has(i));
  if (boundedIdx.length > 1) err(`${boundedIdx.map((i) => tables[i]!.alias).join(' and ')} are both bounded by ROW_NUMBER: a join keeps all rows of one table with many rows per person and the first rows of at most one other`);
  const bounded = boundedIdx[0] ?? -1;
  if (bounded >= 0 && tables[many]!.kind === 'left') err(`a many-to-many join with ${tables[bounded]!.alias} keeps the rows of ${tables[many]!.alias}, which is LEFT JOINed; use JOIN`);
  for (const i of multi) {
    if (i === many || i === bounded) continue;
    const t = tables[i]!, m = tables[many]!;
    const most = (d: DatasetSchema, k: string) => d.columns.find((c) => c.name === k)?.maxRowsPerPerson;
    const mostT = most(t.dataset, keys.get(t.alias)!.slice(t.alias.length + 1));
    // Declared to have many rows per person (or read through window functions): the advice, before any MPC.
    if (overOf.has(t.alias) || (mostT ?? 1) > 1) err(manyToManyAdvice(m, t, mostT, keys.get(t.alias)!.slice(t.alias.length + 1), overOf.get(t.alias)?.columns));
  }
  for (const a of overOf.keys()) if (![many, bounded].includes(tables.findIndex((t) => t.alias === a))) err(`window functions over ${a}: it has to be a table with many rows per person`);
  const idx = [...tables.keys()];
  // EXISTS over the register of the many side, on its person id (a cohort from the same register:
  // c.person_id IN (SELECT person_id FROM contacts WHERE …)): its condition is evaluated on the many
  // side's own rows and OR-ed over each person's rows after the join, instead of joining the register
  // twice (join-execute.ts).
  const keyOf = (i: number) => keys.get(tables[i]!.alias)!.slice(tables[i]!.alias.length + 1);
  const folded = new Set(many < 0 || bounded >= 0 || tables[many]!.kind === 'left' || overOf.has(tables[many]!.alias) ? [] : idx.filter((i) =>
    tables[i]!.kind === 'semi' && tables[i]!.dataset.name === tables[many]!.dataset.name && keyOf(i) === keyOf(many) && !windows.has(tables[i]!.alias)));
  const order = [...idx.filter((i) => i !== many && i !== bounded && tables[i]!.kind !== 'semi' && tables[i]!.kind !== 'window'), ...idx.filter((i) => tables[i]!.kind === 'semi' && !folded.has(i)), ...(bounded >= 0 ? [bounded] : []), ...(many >= 0 ? [many] : [])];

  // The plan over the joined rows.
  const virtual: DatasetSchema = {
    name: tables.map((t) => t.dataset.name).join(' ⋈ '),
    custodian: [...new Set(tables.map((t) => t.dataset.custodian))].join(', '),
    columns: [
      ...tables.flatMap((t) => [...t.dataset.columns, ...(overSpecs.get(t.alias)?.values() ?? [])].map((c) => ({ ...c, name: `${t.alias}.${c.name}`, unique: false }))),
      { name: ROW, type: 'bool' },
      ...tables.filter((t) => t.kind === 'left' || t.kind === 'semi').map((t) => ({ name: `${t.alias}.${HAS}`, type: 'bool' as const })),
    ],
  };
  const isTrue = (col: string): Expr => ({ kind: 'cmp', op: '=', left: { kind: 'column', name: col }, right: { kind: 'bool', value: true } });
  const where = [...rest.map((c) => kleene(c, false, nullFlag)), isTrue(ROW)].reduce((a, b) => ({ kind: 'and', left: a, right: b }));
  const planVirtual = opts.rows ? (pq: ParsedQuery, d: DatasetSchema, cl: Map<string, CodeList>) => planRowQuery(pq, d, cl, left) : planQuery;
  const plan = planVirtual(
    {
      ...q,
      table: virtual.name,
      alias: virtual.name,
      joins: [],
      select,
      where,
      groupBy,
      having: q.having ? rewrite(q.having, false) : null,
      orderBy: q.orderBy.map((o) => ({ ...o, expr: rewrite(o.expr, false) })),
    },
    virtual,
    codeLists,
  );
  plan.filterText = q.where ? show(q.where) : null;
  // COUNT(DISTINCT) of a FROM or inner-joined table's person id counts persons (every such key is the person's).
  const personKeys = new Set(tables.filter((t) => t.kind === 'from' || t.kind === 'inner').flatMap((t) => (keys.has(t.alias) ? [keys.get(t.alias)!] : [])));
  for (const a of plan.aggregates) if (a.fn === 'count_distinct' && personKeys.has(a.column!)) a.persons = true;

  return {
    sql: q.sql,
    order,
    plan,
    tables: tables.map((t, i) => {
      const { plan: filter, where: filterWhere } = filters.get(t.alias)!;
      const key = keys.get(t.alias)!;
      const prefix = `${t.alias}.`;
      const over = overOf.has(t.alias) ? overPlan(overOf.get(t.alias)!.columns, t.dataset, overSpecs.get(t.alias)!, key.slice(prefix.length), codeLists) : undefined;
      // The table's columns the joined plan reads, and those its window functions read (not the window columns themselves).
      const columns = [...new Set([...plan.columns.filter((c) => c.startsWith(prefix) && !c.endsWith(`.${HAS}`)).map((c) => c.slice(prefix.length)).filter((c) => !overSpecs.get(t.alias)?.has(c)), ...(over ? overReads(over) : [])])];
      const w = windows.get(t.alias);
      const dateOf = (a: string) => [...windows.values()].flatMap((x) => (x.partner === a ? [x.bDate] : [])).concat(w ? [w.aDate] : []);
      return {
        alias: t.alias,
        dataset: t.dataset,
        kind: t.kind,
        key: key.slice(prefix.length),
        unique: i === many || i === bounded || t.kind === 'semi' || t.kind === 'window' ? false : declared(t) ? true : 'check',
        filter,
        filterText: filterWhere ? show(filterWhere) : null,
        columns,
        reads: [...new Set([key.slice(prefix.length), ...(filter?.columns ?? []), ...columns, ...dateOf(t.alias)])],
        ...(w ? { window: { ...w, partner: tables.findIndex((x) => x.alias === w.partner) } } : {}),
        ...(over ? { over } : {}),
        ...(bounds.has(i) ? { bound: bounds.get(i)!, ...(i === bounded ? { expand: true } : {}) } : {}),
        ...(folded.has(i) ? { fold: true } : {}),
        ...(opts.sortedBy?.get(t.dataset.name) === key.slice(prefix.length) ? { sorted: true as const } : {}),
      };
    }),
  };
}

/** A boolean condition (comparison, logic, IN, BETWEEN, LIKE, IS NULL), not a value. */
function isCondition(e: Expr): boolean {
  return ['cmp', 'and', 'or', 'not', 'in', 'between', 'like', 'isnull', 'bool'].includes(e.kind);
}

/** The WHERE clause with every [NOT] EXISTS replaced by its table's match flag (collected in `out`). */
function extractExists(e: Expr, out: Extract<Expr, { kind: 'exists' }>[]): Expr {
  switch (e.kind) {
    case 'exists':
      out.push(e);
      return { kind: 'cmp', op: '=', left: { kind: 'column', name: `${e.alias}.${HAS}` }, right: { kind: 'bool', value: !e.negated } };
    case 'and':
    case 'or':
      return { ...e, left: extractExists(e.left, out), right: extractExists(e.right, out) };
    case 'not':
      return { ...e, arg: extractExists(e.arg, out) };
    default:
      return e;
  }
}

/** a.person_id = b.person_id (both columns person ids). */
function isPidEquality(c: Expr, specOf: (col: string) => ColumnSpec): boolean {
  return c.kind === 'cmp' && c.op === '=' && c.left.kind === 'column' && c.right.kind === 'column' && specOf(c.left.name).type === 'person_id' && specOf(c.right.name).type === 'person_id';
}

/**
 * The window lo ≤ b.d − a.d ≤ hi from comparisons between one date (or int) column of each
 * register, each side possibly shifted by whole days: b.d BETWEEN a.d + x AND a.d + y,
 * b.d >= a.d, b.d < a.d + 365, a.d <= b.d, …
 */
function dateWindow(conds: Expr[], A: string, B: string, specOf: (col: string) => ColumnSpec, what: string): Omit<DateWindow, 'partner'> {
  let lo = -Infinity, hi = Infinity;
  const d: { a: string | null; b: string | null } = { a: null, b: null };
  const term = (x: Expr): { col: string; by: number } | null => (x.kind === 'column' ? { col: x.name, by: 0 } : x.kind === 'shift' && x.arg.kind === 'column' ? { col: x.arg.name, by: x.by } : null);
  // One comparison  l op r  with l, r terms of different registers → bound on D = b − a.
  const bound = (l: Expr, op: string, r: Expr, text: string) => {
    const L = term(l), R = term(r);
    if (!L || !R) err(`${what}: ${text}: a date window compares a column of each register, each ± whole days`);
    let [x, y, o] = [L!, R!, op];
    if (x.col.startsWith(`${A}.`)) [x, y, o] = [R!, L!, ({ '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=' } as Record<string, string>)[op] ?? op];
    if (!x.col.startsWith(`${B}.`) || !y.col.startsWith(`${A}.`)) err(`${what}: ${text}: compare a column of ${B} with a column of ${A}`);
    for (const [c, s] of [[x.col, 'b'], [y.col, 'a']] as const) {
      const t = specOf(c).type;
      if (t !== 'date' && t !== 'int') err(`${what}: ${text}: ${c} is ${t}; a window compares dates (or ints)`);
      if (s === 'b') d.b = d.b && d.b !== c ? err(`${what}: the window must use one column of ${B}`) : c;
      else d.a = d.a && d.a !== c ? err(`${what}: the window must use one column of ${A}`) : c;
    }
    // x.col + x.by  o  y.col + y.by  ⇔  D  o  y.by − x.by
    const k = y.by - x.by;
    if (o === '>=' || o === '=') lo = Math.max(lo, k);
    if (o === '>') lo = Math.max(lo, k + 1);
    if (o === '<=' || o === '=') hi = Math.min(hi, k);
    if (o === '<') hi = Math.min(hi, k - 1);
    if (o === '<>') err(`${what}: ${text}: <> is not a window`);
  };
  for (const c of conds) {
    if (c.kind === 'cmp') bound(c.left, c.op, c.right, show(c));
    else if (c.kind === 'between' && !c.negated) {
      bound(c.arg, '>=', c.lo, show(c));
      bound(c.arg, '<=', c.hi, show(c));
    } else err(`${what}: ${show(c)}: conditions between the two registers must be comparisons forming a date window`);
  }
  if (!d.a || !d.b) err(`${what}: a date window between the registers is needed (e.g. ${B}.date BETWEEN ${A}.date AND ${A}.date + 365)`);
  if (lo < 0) err(`${what}: the window must put ${B} on or after ${A} (lo ≥ 0); write the EXISTS with the registers the other way round`);
  if (hi < lo) err(`${what}: the window is empty (${lo} > ${hi} days)`);
  const span = (c: string) => {
    const s = specOf(c);
    const v = (x: number | string | undefined) => (typeof x === 'string' ? Math.abs(Date.parse(x) / 86_400_000) : Math.abs(Number(x ?? 2 ** 40)));
    return Math.max(v(s.min), v(s.max));
  };
  const [ad, bd] = [d.a!, d.b!];
  const m = Math.max(span(ad), span(bd)) + lo + (Number.isFinite(hi) ? hi : 0);
  return { aDate: ad.slice(A.length + 1), bDate: bd.slice(B.length + 1), lo, hi: Number.isFinite(hi) ? hi : null, timeBits: Math.ceil(Math.log2(m + 2)) + 2 };
}

/** The top-level AND conjuncts. */
function conjuncts(e: Expr): Expr[] {
  return e.kind === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

function hasNullTest(e: Expr): boolean {
  switch (e.kind) {
    case 'isnull':
      return true;
    case 'and':
    case 'or':
      return hasNullTest(e.left) || hasNullTest(e.right);
    case 'not':
      return hasNullTest(e.arg);
    default:
      return false;
  }
}

/** Column names an expression refers to. */
function columnsOf(e: Expr): string[] {
  const out: string[] = [];
  mapColumns(e, (n) => (out.push(n), n));
  return out;
}

/** The expression with every column name mapped. */
function mapColumns(e: Expr, f: (name: string) => string): Expr {
  const m = (x: Expr) => mapColumns(x, f);
  switch (e.kind) {
    case 'column':
      return { kind: 'column', name: f(e.name) };
    case 'call':
      return { ...e, args: e.args.map(m) };
    case 'agg':
      return e.arg ? { ...e, arg: m(e.arg) } : e; // keeps the text the user wrote (the output's name)
    case 'cmp':
    case 'arith':
      return { ...e, left: m(e.left), right: m(e.right) };
    case 'and':
    case 'or':
      return { ...e, left: m(e.left), right: m(e.right) };
    case 'not':
      return { ...e, arg: m(e.arg) };
    case 'in':
      return { ...e, arg: m(e.arg), list: e.list.map(m) };
    case 'between':
      return { ...e, arg: m(e.arg), lo: m(e.lo), hi: m(e.hi) };
    case 'like':
    case 'isnull':
    case 'shift':
      return { ...e, arg: m(e.arg) };
    default:
      return e;
  }
}

const FLIP = { '=': '<>', '<>': '=', '<': '>=', '>=': '<', '>': '<=', '<=': '>' } as const;

/**
 * Kleene (three-valued) WHERE over LEFT JOIN misses: negation normal form, then every comparison
 * that reads a LEFT JOINed table's column holds only where that table matched; IS [NOT] NULL
 * becomes the match flag. The result is true exactly where SQL's WHERE is true.
 */
function kleene(e: Expr, neg: boolean, nullFlag: (col: string) => string | null): Expr {
  const and = (a: Expr, b: Expr): Expr => ({ kind: 'and', left: a, right: b });
  const guard = (x: Expr): Expr => {
    const flags = [...new Set(columnsOf(x).flatMap((c) => nullFlag(c) ?? []))];
    return flags.reduce<Expr>((acc, f) => and(acc, { kind: 'cmp', op: '=', left: { kind: 'column', name: f }, right: { kind: 'bool', value: true } }), x);
  };
  switch (e.kind) {
    case 'and':
    case 'or': {
      const kind = (e.kind === 'and') !== neg ? 'and' : 'or';
      return { kind, left: kleene(e.left, neg, nullFlag), right: kleene(e.right, neg, nullFlag) };
    }
    case 'not':
      return kleene(e.arg, !neg, nullFlag);
    case 'bool':
      return { kind: 'bool', value: e.value !== neg };
    case 'isnull': {
      if (e.arg.kind !== 'column') return err(`${show(e)}: IS NULL applies to a column`);
      const isNull = !e.negated !== neg;
      // Columns of FROM and inner-joined tables are never NULL.
      const flag = nullFlag(e.arg.name);
      if (!flag) return { kind: 'bool', value: !isNull };
      return { kind: 'cmp', op: '=', left: { kind: 'column', name: flag }, right: { kind: 'bool', value: !isNull } };
    }
    case 'cmp':
      return guard(neg ? { ...e, op: FLIP[e.op] } : e);
    case 'in':
    case 'between':
    case 'like':
      return guard(neg ? { ...e, negated: !e.negated } : e);
    case 'column':
      return guard({ kind: 'cmp', op: '=', left: e, right: { kind: 'bool', value: !neg } });
    default:
      return neg ? { kind: 'not', arg: e } : e;
  }
}

/** The registers a query reads (FROM, JOINs, EXISTS subqueries), each once, in order. */
export function tablesOf(q: ParsedQuery): string[] {
  const out = [q.table, ...q.joins.map((j) => j.table)];
  const walk = (e: Expr | null): void => {
    if (!e) return;
    if (e.kind === 'exists') out.push(e.table, ...(e.join ? [e.join.table] : []));
    else if (e.kind === 'and' || e.kind === 'or') (walk(e.left), walk(e.right));
    else if (e.kind === 'not') walk(e.arg);
  };
  walk(q.where);
  // Analysis tables (src/query/rows.ts) may have EXISTS in the SELECT list.
  const inSelect = (e: Expr): void => {
    if (e.kind === 'exists') walk(e);
    else if (e.kind === 'and' || e.kind === 'or' || e.kind === 'cmp') (inSelect(e.left), inSelect(e.right));
    else if (e.kind === 'not') inSelect(e.arg);
    else if (e.kind === 'call') e.args.forEach(inSelect);
  };
  q.select.forEach((s) => inSelect(s.expr));
  return [...new Set(out)];
}

/** The registers whose stored rows are in person order (VersionMeta.sortedBy), by name. */
export function sortedByOf(datasets: Map<string, { sortedBy?: string }>): Map<string, string> {
  return new Map([...datasets].flatMap(([n, d]) => (d.sortedBy ? [[n, d.sortedBy] as [string, string]] : [])));
}

/**
 * Plans any supported query: over one register (plan.ts) or several (this module). `datasets`
 * has the schema and code lists of every table the query reads; code lists of the same name must
 * agree. `plan` is what the aggregates are decoded with (execute.ts resultRows).
 */
export function planAnyQuery(q: ParsedQuery, datasets: Map<string, { schema: DatasetSchema; codeLists: CodeList[]; sortedBy?: string }>, opts: JoinPlanOptions = {}): { plan: QueryPlan; join: JoinPlan | null } {
  const lists = new Map<string, CodeList>();
  for (const name of tablesOf(q)) {
    const d = datasets.get(name) ?? err(`unknown table '${name}' (known: ${[...datasets.keys()].join(', ')})`);
    for (const l of d.codeLists) {
      const had = lists.get(l.name);
      if (had && had.codes.join('\n') !== l.codes.join('\n')) err(`code list '${l.name}' differs between the registers this query reads`);
      lists.set(l.name, l);
    }
  }
  if (!needsJoinPlan(q) && !opts.personKey) return { plan: planQuery(q, datasets.get(q.table)!.schema, lists), join: null };
  const join = planJoinQuery(q, new Map([...datasets].map(([n, d]) => [n, d.schema])), lists, { sortedBy: sortedByOf(datasets), ...opts });
  return { plan: join.plan, join };
}

/**
 * The bound b of a table read through window functions: a top-level condition `alias.rn <= b`
 * (or < b + 1, = b, BETWEEN 1 AND b) on one of its ROW_NUMBER() (or COUNT(*) … ROWS) columns.
 */
function boundOf(alias: string, cols: WindowColumn[], conds: Expr[]): { column: string; rows: number } | null {
  const numbered = new Set(cols.filter((c) => c.fn === 'row_number' || (c.fn === 'count' && c.rows && c.order)).map((c) => `${alias}.${c.name}`));
  let best: { column: string; rows: number } | null = null;
  for (const c of conds) {
    let col: string | null = null, rows = Infinity;
    if (c.kind === 'cmp' && c.left.kind === 'column' && c.right.kind === 'number' && Number.isInteger(c.right.value)) {
      col = c.left.name;
      rows = c.op === '<=' || c.op === '=' ? c.right.value : c.op === '<' ? c.right.value - 1 : Infinity;
    } else if (c.kind === 'cmp' && c.right.kind === 'column' && c.left.kind === 'number' && Number.isInteger(c.left.value)) {
      col = c.right.name;
      rows = c.op === '>=' || c.op === '=' ? c.left.value : c.op === '>' ? c.left.value - 1 : Infinity;
    } else if (c.kind === 'between' && !c.negated && c.arg.kind === 'column' && c.hi.kind === 'number' && Number.isInteger(c.hi.value)) {
      col = c.arg.name;
      rows = c.hi.value;
    }
    if (col && numbered.has(col) && Number.isFinite(rows) && (!best || rows < best.rows)) best = { column: col.slice(alias.length + 1), rows: Math.max(0, rows) };
  }
  return best;
}

/** The refusal of a join of two tables with many rows per person, with the syntax that bounds one side. */
function manyToManyAdvice(m: { alias: string; dataset: DatasetSchema }, t: { alias: string; dataset: DatasetSchema }, most: number | undefined, key: string, over?: WindowColumn[]): string {
  const date = t.dataset.columns.find((c) => c.type === 'date')?.name ?? 'date';
  const b = Math.min(8, most ?? 8);
  return `${m.dataset.name} ${m.alias} and ${t.dataset.name} ${t.alias} both have many rows per person${most ? ` (${t.dataset.name}: up to ${most})` : ''}${over ? ` (${t.alias} is read through window functions)` : ''}: a many-to-many join needs the most rows per person it takes from one side, declared with ROW_NUMBER: `
    + `JOIN (SELECT …, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${date}) AS k FROM ${t.dataset.name}) ${t.alias} ON ${t.alias}.${key} = ${m.alias}.${key} AND ${t.alias}.k <= ${b} `
    + `(each row of ${m.alias} is paired with the person's first ${b} rows of ${t.dataset.name} by ${date}, padded to ${b}; later rows are dropped inside MPC and their number is not revealed)`;
}

/** The largest number of rows one person can have in `d` (its person id's maxRowsPerPerson), else 2^31 − 1. */
const maxRowsOf = (d: DatasetSchema, pid: string | undefined): number => {
  const s = d.columns.find((c) => c.name === pid);
  return s?.unique ? 1 : (s?.maxRowsPerPerson ?? 2 ** 31 - 1);
};

/** A literal (a LAG/LEAD default) in the encoding of column `s`. */
function encodeLiteral(s: ColumnSpec, e: Expr, codeLists: Map<string, CodeList>, what: string): bigint {
  const bad = (): never => err(`${what}: the default ${show(e)} is not a value of ${s.name} (${s.type})`);
  switch (s.type) {
    case 'date':
      return e.kind === 'string' ? BigInt(parseDate(e.value) ?? bad()) : bad();
    case 'code': {
      const i = e.kind === 'string' ? (codeLists.get(s.codeList ?? '')?.codes.indexOf(e.value) ?? -1) : -1;
      return i >= 0 ? BigInt(i) : bad();
    }
    case 'bool':
      return e.kind === 'bool' ? (e.value ? 1n : 0n) : e.kind === 'number' && (e.value === 0 || e.value === 1) ? BigInt(e.value) : bad();
    case 'int':
      return e.kind === 'number' && Number.isInteger(e.value) ? BigInt(e.value) : bad();
    case 'decimal':
      return e.kind === 'number' ? BigInt(Math.round(e.value * 2 ** FRAC)) : bad();
    default:
      return bad();
  }
}

/**
 * The window columns of a table as column specs (name → spec): ROW_NUMBER and COUNT(*) ints from 1
 * to the person's most rows, LAG/LEAD the spec of the column they read (widened to their default),
 * and for a LAG/LEAD without default a 0/1 flag `name.__has` (0 where it is NULL).
 */
function overSpecsOf(cols: WindowColumn[], d: DatasetSchema, codeLists: Map<string, CodeList>, alias: string): Map<string, ColumnSpec> {
  const out = new Map<string, ColumnSpec>();
  const b = new Builder(d, codeLists);
  for (const c of cols) {
    const what = `${c.fn.toUpperCase()}() OVER (…) AS ${c.name} in ${alias}`;
    if (d.columns.some((s) => s.name === c.name) || out.has(c.name)) err(`${what}: the name ${c.name} is taken (by a column of ${d.name} or another window function)`);
    if (!c.order && c.fn !== 'count') err(`${what}: needs ORDER BY a column (the order of a person's rows, e.g. a date)`);
    const description = `${c.fn}() over ${alias}'s rows per person`;
    if (c.fn === 'row_number' || c.fn === 'count') {
      out.set(c.name, { name: c.name, type: 'int', min: 1, max: maxRowsOf(d, c.partition[0]), description });
      continue;
    }
    const s = d.columns.find((x) => x.name === c.arg) ?? err(`${what}: unknown column '${c.arg}' in ${d.name}`);
    if (s.type === 'person_id') err(`${what}: ${s.name} is a person identifier`);
    const spec: ColumnSpec = { name: c.name, type: s.type, ...(s.codeList ? { codeList: s.codeList } : {}), ...(s.min !== undefined ? { min: s.min } : {}), ...(s.max !== undefined ? { max: s.max } : {}), description };
    if (c.fallback) {
      // The declared range widened to the default.
      const v = encodeLiteral(s, c.fallback, codeLists, what);
      const [lo, hi] = b.bounds(s);
      const real = (x: bigint) => (s.type === 'date' ? formatDate(Number(x)) : s.type === 'decimal' ? Number(x) / 2 ** FRAC : Number(x));
      if (lo !== null && v < lo) spec.min = real(v);
      if (hi !== null && v > hi) spec.max = real(v);
    } else out.set(`${c.name}.${HAS}`, { name: `${c.name}.${HAS}`, type: 'bool', description: `${c.name} is not NULL` });
    out.set(c.name, spec);
  }
  return out;
}

/** The plan of a table's window functions (see OverPlan): one ORDER BY, bounded, for all of them. */
function overPlan(cols: WindowColumn[], d: DatasetSchema, specs: Map<string, ColumnSpec>, key: string, codeLists: Map<string, CodeList>): OverPlan {
  const ordered = cols.filter((c) => c.order);
  const o = ordered[0]?.order ?? null;
  for (const c of ordered) if (c.order!.column !== o!.column || c.order!.desc !== o!.desc) err(`window functions of one subquery use one ORDER BY (${o!.column}${o!.desc ? ' DESC' : ''} and ${c.order!.column}${c.order!.desc ? ' DESC' : ''})`);
  let order: OverPlan['order'] = null;
  if (o) {
    const s = d.columns.find((x) => x.name === o.column) ?? err(`ORDER BY ${o.column}: unknown column in ${d.name}`);
    if (s.type === 'person_id') err(`ORDER BY ${o.column}: a person identifier does not order a person's rows`);
    const [lo, hi] = new Builder(d, codeLists).bounds(s);
    if (lo === null || hi === null || hi - lo >= 1n << 40n) err(`ORDER BY ${o.column} in a window: ${o.column} needs a declared min and max (at most 2^40 values apart): a person's rows are sorted by it inside MPC`);
    order = { column: o.column, desc: o.desc, lo: Number(lo), hi: Number(hi) };
  }
  const columns = cols.map((c) => ({ name: c.name, fn: c.fn, arg: c.arg, fallback: c.fallback ? encodeLiteral(d.columns.find((x) => x.name === c.arg)!, c.fallback, codeLists, c.name) : null, rows: c.rows }));
  const sources = Object.fromEntries(cols.flatMap((c) => [c.name, `${c.name}.${HAS}`].filter((n) => specs.has(n)).map((n) => [n, [...new Set([key, ...(c.arg ? [c.arg] : []), ...(c.order ? [c.order.column] : [])])]])));
  return { order, columns, sources };
}

/** The table's columns its window functions read at the joined rows: LAG/LEAD's columns and the ORDER BY column. */
const overReads = (over: OverPlan): string[] => [...over.columns.flatMap((c) => (c.arg ? [c.arg] : [])), ...(over.order ? [over.order.column] : [])];
