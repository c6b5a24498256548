// SQL subset → a small, untyped query tree. The SQL text is parsed by node-sql-parser (PostgreSQL
// dialect); this module only walks its AST, keeps what Mosaik supports and rejects everything else
// with a QueryError naming the construct. Types, tables and columns are checked by plan.ts.
//
// Supported (one table; joins on the person id are planned by join-plan.ts):
//   SELECT <group key | aggregate> [AS alias], ...
//     aggregates: COUNT(*), COUNT(col), COUNT(DISTINCT col), SUM, AVG, MIN, MAX, VARIANCE/VAR_SAMP,
//                 VAR_POP, STDDEV/STDDEV_SAMP, STDDEV_POP; SUM, AVG, VARIANCE and STDDEV also of
//                 arithmetic (a.x - b.y, x * 2) and of a clamped column or arithmetic: LEAST(col, hi),
//                 GREATEST(col, lo), nested (LEAST(GREATEST(x, 0), 2000000))
//   SELECT DISTINCT a, b (the cells of GROUP BY a, b that pass the small-cell rule)
//   FROM <table> [alias] [[INNER | LEFT] JOIN <table> [alias] ON a.person_id = b.person_id [AND …]] …
//   (with joins, column references may be qualified: alias.column; IS [NOT] NULL tests LEFT JOIN misses)
//   WHERE … [NOT] EXISTS (SELECT 1 FROM <table> [alias] WHERE alias.person_id = outer.person_id [AND …])
//   WHERE person_id [NOT] IN (SELECT person_id FROM <table or WITH name> WHERE …), WITH name AS
//   (SELECT …), subqueries over one table in FROM: rewritten into the forms above (./desugar.ts);
//   a subquery over one table in FROM/JOIN may compute window functions per person: ROW_NUMBER(),
//   LAG/LEAD(col [, 1 [, default]]), COUNT(*) OVER (PARTITION BY person_id [ORDER BY col [ROWS …]])
//   (WindowTable; join-plan.ts plans them, also as the bound of a many-to-many join)
//   WHERE  =, <>, !=, <, <=, >, >=, AND, OR, NOT, IN (...), NOT IN, BETWEEN, NOT BETWEEN, + − ×,
//          LIKE 'prefix%' / NOT LIKE on code columns, age(birth_col, 'YYYY-MM-DD') in comparisons
//   GROUP BY <column | age_band(birth_col, 'YYYY-MM-DD' [, width [, top]]) | alias | ordinal>, ...
//   HAVING  comparisons of aggregates with literals, AND/OR/NOT
//   ORDER BY <output column | alias | ordinal> [ASC|DESC], ...   LIMIT n   (plaintext, after reveal)
//
// Age helpers (Mosaik functions, evaluated inside MPC as date comparisons):
//   age(birth_date, 'YYYY-MM-DD')      completed years on that date (calendar: a Feb 29 birthday
//                                      turns a year older on Mar 1 in non-leap years); WHERE only
//   age_band(birth_date, 'YYYY-MM-DD' [, width = 10 [, top = 90]])
//                                      the band's lower bound 0, width, 2·width, …, top, where top
//                                      means "top and over"; people born after the date count in 0.
//                                      GROUP BY (and SELECT) only. Same as
//                                      LEAST(top, FLOOR(age/width)·width) for ages ≥ 0.
// Literals: numbers; 'YYYY-MM-DD' or DATE 'YYYY-MM-DD' for date columns; codes as strings for code
// columns ('E11'); TRUE/FALSE (or 1/0) for bool columns.
// The PostgreSQL build alone (300 KB instead of every dialect's 5 MB: the browser app bundles it).
import nodeSqlParser from 'node-sql-parser/build/postgresql.js';
import { desugar } from './desugar.js';
import { QueryError } from './parse-error.js';

const { Parser } = nodeSqlParser as unknown as { Parser: new () => { astify(sql: string, opt?: object): unknown } };

export { QueryError };

export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type AggName = 'count' | 'count_distinct' | 'sum' | 'avg' | 'min' | 'max' | 'var_samp' | 'var_pop' | 'stddev_samp' | 'stddev_pop';

export type Expr =
  | { kind: 'column'; name: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'string'; value: string; date: boolean } // date: written as DATE '…'
  | { kind: 'bool'; value: boolean }
  | { kind: 'call'; name: string; args: Expr[] }
  | { kind: 'agg'; fn: AggName; arg: Expr | null; text: string }
  | { kind: 'cmp'; op: CmpOp; left: Expr; right: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; arg: Expr }
  | { kind: 'in'; arg: Expr; list: Expr[]; negated: boolean }
  | { kind: 'between'; arg: Expr; lo: Expr; hi: Expr; negated: boolean }
  | { kind: 'like'; arg: Expr; pattern: string; negated: boolean }
  | { kind: 'isnull'; arg: Expr; negated: boolean }
  /** column ± days (date windows between two registers inside EXISTS, e.g. c.admission_date + 365). */
  | { kind: 'shift'; arg: Expr; by: number }
  /** Arithmetic between columns and numbers, computed per row inside MPC (plan.ts Computed). */
  | { kind: 'arith'; op: '+' | '-' | '*'; left: Expr; right: Expr }
  /**
   * [NOT] EXISTS (SELECT … FROM table alias [JOIN table2 alias2 ON …] WHERE …): a semi-join,
   * planned by join-plan.ts.
   */
  | { kind: 'exists'; table: string; alias: string; join: { table: string; alias: string; on: Expr } | null; where: Expr | null; negated: boolean };

export interface SelectItem {
  expr: Expr;
  alias: string | null;
}

/** `[INNER | LEFT] JOIN table [alias] ON ...` (join.ts plans it). */
export interface JoinClause {
  table: string;
  alias: string;
  kind: 'inner' | 'left';
  on: Expr;
}

/**
 * A window function of a subquery over one table (./desugar.ts): computed inside MPC over the
 * table's rows that pass the subquery's WHERE, per person (join-plan.ts, join-execute.ts).
 */
export interface WindowColumn {
  /** Its name in the subquery (AS name). */
  name: string;
  fn: 'row_number' | 'lag' | 'lead' | 'count';
  /** LAG/LEAD: the column read from the previous / next row. */
  arg: string | null;
  /** LAG/LEAD: the value where there is no previous / next row (a literal; else NULL). */
  fallback: Expr | null;
  /** PARTITION BY and ORDER BY columns of the table (unqualified). */
  partition: string[];
  order: { column: string; desc: boolean } | null;
  /** COUNT(*) with ROWS … CURRENT ROW counts rows so far; without, rows up to the row's ORDER BY value (SQL's RANGE frame). */
  rows: boolean;
}

/** A table of FROM or JOIN read through a subquery with window functions. */
export interface WindowTable {
  alias: string;
  /** The subquery's WHERE (qualified by the alias): the rows the window functions see. */
  where: Expr | null;
  columns: WindowColumn[];
}

export interface ParsedQuery {
  sql: string;
  table: string;
  /** The FROM table's alias (its name when none is given). With joins, column names are qualified: `alias.column`. */
  alias: string;
  joins: JoinClause[];
  select: SelectItem[];
  where: Expr | null;
  groupBy: Expr[];
  having: Expr | null;
  orderBy: { expr: Expr; desc: boolean }[];
  limit: number | null;
  /** SELECT DISTINCT: the SELECT list is the grouping (plan.ts); its cells are the output. */
  distinct?: boolean;
  /** Tables read through a subquery with window functions (by alias). */
  windows?: WindowTable[];
}

const AGGS: Record<string, AggName> = {
  COUNT: 'count', SUM: 'sum', AVG: 'avg', MIN: 'min', MAX: 'max',
  VARIANCE: 'var_samp', VAR_SAMP: 'var_samp', VAR_POP: 'var_pop',
  STDDEV: 'stddev_samp', STDDEV_SAMP: 'stddev_samp', STDDEV_POP: 'stddev_pop',
};

// node-sql-parser's AST is loosely typed JSON; we walk it defensively.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

const WINDOW_WHERE = 'window functions (OVER) are computed in a subquery over one register in FROM or WITH, e.g. FROM (SELECT person_id, LEAD(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date) AS next FROM contacts) s';

const unsupported = (what: string): never => {
  throw new QueryError(`unsupported SQL: ${what}`);
};

/** Limits on a query's text, checked before it is parsed (the parser and the planner recurse over the expression tree). */
export const SQL_LIMITS = { chars: 20_000, operators: 1024, depth: 32 } as const;

/**
 * Refuses a query too large to parse safely: more than SQL_LIMITS.chars characters, more than
 * SQL_LIMITS.operators operators (AND, OR, NOT, comparisons, arithmetic), or parentheses nested
 * deeper than SQL_LIMITS.depth
 * (string literals and quoted names aside). A clear QueryError, never a stack overflow.
 */
export function checkSqlSize(sql: string): void {
  if (typeof sql !== 'string') throw new QueryError('the query must be SQL text');
  if (sql.length > SQL_LIMITS.chars) throw new QueryError(`the query is ${sql.length} characters long; at most ${SQL_LIMITS.chars} are accepted (use IN (…) for lists of values, LIKE 'E11%' for code ranges)`);
  let depth = 0;
  let deepest = 0;
  let ops = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end;
    } else if (c === '(') deepest = Math.max(deepest, ++depth);
    else if (c === ')') depth--;
    else if ('=<>!+-*/%|'.includes(c)) {
      if (i === 0 || !'=<>!+-*/%|'.includes(sql[i - 1]!)) ops++;
    } else if ((c === 'a' || c === 'A' || c === 'o' || c === 'O' || c === 'n' || c === 'N') && (i === 0 || !/[A-Za-z0-9_]/.test(sql[i - 1]!))) {
      const w = /^(and|or|not)(?![A-Za-z0-9_])/i.exec(sql.slice(i, i + 4));
      if (w) ops++;
    }
  }
  if (deepest > SQL_LIMITS.depth) throw new QueryError(`the query nests parentheses ${deepest} deep; at most ${SQL_LIMITS.depth} are accepted`);
  if (ops > SQL_LIMITS.operators) throw new QueryError(`the query has ${ops} operators (AND, OR, NOT, comparisons, arithmetic); at most ${SQL_LIMITS.operators} are accepted (use IN (…) for lists of values, LIKE 'E11%' for code ranges)`);
}

/**
 * Queries parsed before, by their text. The parser takes 1–50 ms a query and a node reads each
 * query several times (admitting, planning and running a job, an analysis table for every
 * statistic); the result depends on the text alone. Callers get their own copy.
 */
const PARSED = new Map<string, ParsedQuery>();
const PARSED_MAX = 256;

/** Parses one SELECT statement of the supported subset. Throws QueryError. */
export function parseQuery(sql: string): ParsedQuery {
  checkSqlSize(sql);
  const known = PARSED.get(sql);
  if (known) return structuredClone(known);
  try {
    const q = parseChecked(sql);
    if (PARSED.size >= PARSED_MAX) PARSED.delete(PARSED.keys().next().value!);
    PARSED.set(sql, q);
    return structuredClone(q);
  } catch (e) {
    // Within the limits above this does not happen; should it, it is the query's size, not a node error.
    if (e instanceof RangeError) throw new QueryError('the query is nested too deeply; write it with fewer conditions (IN (…) for lists of values)');
    throw e;
  }
}

function parseChecked(sql: string): ParsedQuery {
  let ast: Node;
  try {
    ast = new Parser().astify(sql, { database: 'PostgresQL' });
  } catch (e) {
    if (e instanceof RangeError) throw new QueryError(`the query is nested too deeply to parse; write it with fewer conditions (IN (…) for lists of values)`);
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    throw new QueryError(`SQL syntax error: ${msg.length > 300 ? `${msg.slice(0, 300)}…` : msg}`);
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) unsupported('more than one statement');
    ast = ast[0];
  }
  if (!ast || ast.type !== 'select') unsupported(`${String(ast?.type ?? 'empty').toUpperCase()} statements (only SELECT)`);
  ast = desugar(ast);
  if (ast._next || ast.set_op) unsupported(`${String(ast.set_op ?? 'UNION').toUpperCase()}`);
  if (ast.window) unsupported('WINDOW clauses');
  if (ast.into && ast.into.position) unsupported('SELECT INTO');
  if (ast.for_update || ast.locking_read) unsupported('locking clauses');
  const from: Node[] = ast.from ?? [];
  if (from.length === 0) throw new QueryError('a query needs FROM <table>');
  for (const f of from) {
    if (f.expr) unsupported('subqueries in FROM');
    if (typeof f.table !== 'string') unsupported('this FROM clause');
    if (f.db) unsupported('qualified table names');
  }
  if (from.slice(1).some((f) => !f.join)) unsupported('comma joins (write JOIN … ON …)');
  const table = from[0].table as string;
  const alias = typeof from[0].as === 'string' ? from[0].as : table;
  // Qualifiers (table names and aliases) → alias; with joins (or EXISTS) column names keep their qualifier.
  const hasExists = /"(operator|value)":"(NOT )?EXISTS"/i.test(JSON.stringify(ast.where ?? null));
  const scope: Scope = { joined: from.length > 1 || hasExists || from.some((f) => f.window), names: new Map([[table, alias], [alias, alias]]) };
  const joins: JoinClause[] = [];
  for (const f of from.slice(1)) {
    const kind = String(f.join).toUpperCase();
    if (kind !== 'JOIN' && kind !== 'INNER JOIN' && kind !== 'LEFT JOIN' && kind !== 'LEFT OUTER JOIN') unsupported(`${kind} (supported: JOIN, INNER JOIN, LEFT JOIN)`);
    if (f.using) unsupported('JOIN … USING (write ON a.person_id = b.person_id)');
    if (!f.on) throw new QueryError(`JOIN ${f.table} needs ON <condition>`);
    const a = typeof f.as === 'string' ? f.as : f.table;
    if (scope.names.has(a)) throw new QueryError(`table or alias '${a}' appears twice in FROM; give each table its own alias`);
    scope.names.set(a, a);
    if (!scope.names.has(f.table)) scope.names.set(f.table, a);
    joins.push({ table: f.table, alias: a, kind: kind.startsWith('LEFT') ? 'left' : 'inner', on: null as unknown as Expr });
  }
  // ON conditions may refer to any table in FROM (checked by the join planner).
  from.slice(1).forEach((f, i) => (joins[i]!.on = expr(f.on, scope)));
  const tableScope = scope;
  const windows: WindowTable[] = from.filter((f) => f.window).map((f) => ({
    alias: typeof f.as === 'string' ? f.as : f.table,
    where: f.window.where ? expr(f.window.where, scope) : null,
    columns: (f.window.columns as Node[]).map((c) => ({ ...c, fallback: c.fallback ? expr(c.fallback, scope) : null }) as WindowColumn),
  }));

  const columns: Node[] = ast.columns === '*' ? unsupported('SELECT * (name group keys and aggregates)') : ast.columns;
  const select: SelectItem[] = columns.map((c) => {
    const e = c.expr ?? c;
    if (e.type === 'column_ref' && colName(e) === '*') unsupported('SELECT * (name group keys and aggregates)');
    return { expr: expr(e, tableScope), alias: typeof c.as === 'string' ? c.as : c.as ? unsupported('this alias') : null };
  });
  const groupCols: Node[] = ast.groupby ? (Array.isArray(ast.groupby) ? ast.groupby : ast.groupby.columns ?? []) : [];
  const orderBy = (ast.orderby ?? []).map((o: Node) => ({ expr: expr(o.expr, tableScope), desc: String(o.type ?? '').toUpperCase() === 'DESC' }));
  let limit: number | null = null;
  if (ast.limit && ast.limit.value && ast.limit.value.length) {
    if (ast.limit.value.length > 1 || ast.limit.seperator) unsupported('OFFSET');
    const v = ast.limit.value[0];
    if (v.type !== 'number' || !Number.isInteger(Number(v.value)) || Number(v.value) < 0) throw new QueryError('LIMIT takes a non-negative integer');
    limit = Number(v.value);
  }
  return {
    sql,
    table,
    alias,
    joins,
    select,
    where: ast.where ? expr(ast.where, tableScope) : null,
    groupBy: groupCols.map((g) => expr(g, tableScope)),
    having: ast.having ? expr(ast.having, tableScope) : null,
    orderBy,
    limit,
    ...(ast.distinct && ast.distinct.type ? { distinct: true } : {}),
    ...(windows.length ? { windows } : {}),
  };
}

function colName(e: Node): string {
  const c = e.column;
  if (typeof c === 'string') return c;
  if (c && c.expr && typeof c.expr.value === 'string') return c.expr.value;
  return unsupported('this column reference');
}

/** Table names and aliases in FROM (→ alias); `joined`: keep qualifiers in column names. */
interface Scope {
  joined: boolean;
  names: Map<string, string>;
}

function expr(e: Node, table: Scope): Expr {
  if (e === null || e === undefined) unsupported('an empty expression');
  if (e.ast || e.type === 'select') unsupported('subqueries');
  switch (e.type) {
    case 'column_ref': {
      if (!e.table) return { kind: 'column', name: colName(e) };
      const a = table.names.get(e.table);
      if (a === undefined) throw new QueryError(`unknown table '${e.table}' in column reference ${e.table}.${colName(e)}`);
      return { kind: 'column', name: table.joined ? `${a}.${colName(e)}` : colName(e) };
    }
    case 'number':
    case 'bigint': {
      const v = Number(e.value);
      if (!Number.isFinite(v)) throw new QueryError(`bad number literal ${e.value}`);
      return { kind: 'number', value: v, text: String(e.value) };
    }
    case 'single_quote_string':
    case 'string':
      return { kind: 'string', value: String(e.value), date: false };
    case 'double_quote_string':
      return { kind: 'column', name: String(e.value) };
    case 'date':
      return { kind: 'string', value: String(e.value), date: true };
    case 'bool':
    case 'boolean':
      return { kind: 'bool', value: Boolean(e.value) };
    case 'null':
      return unsupported('NULL (the data model has no missing values)');
    case 'star':
      return unsupported('* outside COUNT(*)');
    case 'aggr_func': {
      const name = String(e.name).toUpperCase();
      const fn = AGGS[name] ?? unsupported(`aggregate ${name}`);
      if (e.over) unsupported(WINDOW_WHERE);
      const a = e.args?.expr;
      if (e.args?.distinct) {
        if (fn !== 'count') unsupported(`${name}(DISTINCT …) (only COUNT(DISTINCT column))`);
        if (!a || a.type === 'star') throw new QueryError('COUNT(DISTINCT …) needs a column');
        const arg = expr(a, table);
        return { kind: 'agg', fn: 'count_distinct', arg, text: `count(distinct ${show(arg)})` };
      }
      if (a && a.type === 'star') {
        if (fn !== 'count') throw new QueryError(`${name}(*) is not valid; only COUNT(*)`);
        return { kind: 'agg', fn, arg: null, text: 'count(*)' };
      }
      if (!a) throw new QueryError(`${name} needs an argument`);
      const arg = expr(a, table);
      return { kind: 'agg', fn, arg, text: `${name.toLowerCase()}(${show(arg)})` };
    }
    case 'function': {
      const name = fnName(e).toUpperCase();
      if (e.over) unsupported(WINDOW_WHERE);
      const args: Node[] = e.args?.value ?? (e.args ? [e.args] : []);
      if (name === 'EXISTS') {
        if (args.length !== 1) unsupported('EXISTS with several arguments');
        return exists(args[0]?.ast ?? args[0], table, false);
      }
      if (name === 'NOT') {
        if (args.length !== 1) unsupported('NOT with several arguments');
        return { kind: 'not', arg: expr(args[0], table) };
      }
      if (AGGS[name]) {
        // Some dialect paths report aggregates as plain functions.
        const a = args[0];
        if (args.length !== 1) throw new QueryError(`${name} takes one argument`);
        if (a.type === 'star') {
          if (name !== 'COUNT') throw new QueryError(`${name}(*) is not valid; only COUNT(*)`);
          return { kind: 'agg', fn: 'count', arg: null, text: 'count(*)' };
        }
        const arg = expr(a, table);
        return { kind: 'agg', fn: AGGS[name]!, arg, text: `${name.toLowerCase()}(${show(arg)})` };
      }
      if (name === 'AGE' || name === 'AGE_BAND' || name === 'LEAST' || name === 'GREATEST' || name === 'COALESCE') return { kind: 'call', name: name.toLowerCase(), args: args.map((a) => expr(a, table)) };
      if (['ROW_NUMBER', 'RANK', 'DENSE_RANK', 'LAG', 'LEAD', 'NTILE'].includes(name)) unsupported(`window function ${name} here (${WINDOW_WHERE})`);
      return unsupported(`function ${name}() (supported: aggregates, age(), age_band(), LEAST() and GREATEST() inside SUM/AVG/VARIANCE/STDDEV)`);
    }
    case 'unary_expr': {
      const op = String(e.operator).toUpperCase();
      if (op === 'EXISTS' || op === 'NOT EXISTS') return exists(e.expr?.ast ?? e.expr, table, op === 'NOT EXISTS');
      if (op === 'NOT' || op === '!') return { kind: 'not', arg: expr(e.expr, table) };
      if (op === '-' && e.expr?.type === 'number') return { kind: 'number', value: -Number(e.expr.value), text: `-${e.expr.value}` };
      return unsupported(`unary operator ${op}`);
    }
    case 'binary_expr':
      return binary(e, table);
    case 'window_func':
      return unsupported(`window function ${String(e.name).toUpperCase()} here (${WINDOW_WHERE})`);
    case 'case':
      return unsupported('CASE expressions');
    case 'cast':
      return unsupported('CAST');
    case 'interval':
      return unsupported('INTERVAL');
    case 'expr_list':
      return unsupported('a list of values outside IN (...)');
    case 'param':
    case 'var':
      return unsupported('parameters and variables');
    default:
      return unsupported(`expression of type ${String(e.type)}`);
  }
}

/** The subquery of [NOT] EXISTS: one table, a WHERE clause; its SELECT list does not matter. */
function exists(sub: Node, outer: Scope, negated: boolean): Expr {
  if (!sub || sub.type !== 'select') unsupported('EXISTS without a SELECT subquery');
  const from: Node[] = sub.from ?? [];
  const plain = (f: Node) => f && !f.expr && typeof f.table === 'string' && !f.db;
  const innerJoin = (f: Node) => ['JOIN', 'INNER JOIN'].includes(String(f.join).toUpperCase()) && f.on && !f.using;
  if (!(from.length === 1 && plain(from[0]) && !from[0].join) && !(from.length === 2 && plain(from[0]) && plain(from[1]) && innerJoin(from[1]))) {
    unsupported('EXISTS over anything but one table, or two tables joined with JOIN … ON (a date window between two registers)');
  }
  if (sub.groupby || sub.having || sub.with || sub._next) unsupported('GROUP BY, HAVING, WITH or UNION inside EXISTS');
  if (from.some((f) => f.window)) unsupported('EXISTS over a subquery with window functions (join it instead: JOIN (…) s ON s.person_id = …)');
  const names = new Map(outer.names);
  const refs = from.map((f) => {
    const alias = typeof f.as === 'string' ? f.as : (f.table as string);
    if (names.has(alias)) throw new QueryError(`table or alias '${alias}' appears twice; give the EXISTS subquery's tables their own aliases`);
    // An aliased table's own name does not hide an outer table of that name (as in SQL).
    if (typeof f.as !== 'string' || !names.has(f.table)) names.set(f.table, alias);
    names.set(alias, alias);
    return { table: f.table as string, alias };
  });
  const scope: Scope = { joined: true, names };
  const join = from.length === 2 ? { ...refs[1]!, on: expr(from[1].on, scope) } : null;
  return { kind: 'exists', table: refs[0]!.table, alias: refs[0]!.alias, join, where: sub.where ? expr(sub.where, scope) : null, negated };
}

function fnName(e: Node): string {
  const n = e.name;
  if (typeof n === 'string') return n;
  if (n && Array.isArray(n.name)) return n.name.map((x: Node) => x.value).join('.');
  return String(n?.name ?? '?');
}

function binary(e: Node, table: Scope): Expr {
  const op = String(e.operator).toUpperCase();
  const sub = (x: Node) => expr(x, table);
  switch (op) {
    case 'AND':
    case 'OR':
      return { kind: op === 'AND' ? 'and' : 'or', left: sub(e.left), right: sub(e.right) };
    case '=':
    case '<>':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
      if (e.right?.type === 'expr_list' || e.right?.ast) unsupported('subqueries');
      return { kind: 'cmp', op: op === '!=' ? '<>' : (op as CmpOp), left: sub(e.left), right: sub(e.right) };
    case 'IN':
    case 'NOT IN': {
      if (e.right?.type !== 'expr_list') unsupported('IN with a subquery');
      const list: Node[] = e.right.value;
      if (list.some((x) => x.ast || x.type === 'select')) unsupported('IN with a subquery');
      return { kind: 'in', arg: sub(e.left), list: list.map(sub), negated: op === 'NOT IN' };
    }
    case 'BETWEEN':
    case 'NOT BETWEEN': {
      const [lo, hi] = e.right.value as Node[];
      return { kind: 'between', arg: sub(e.left), lo: sub(lo), hi: sub(hi), negated: op === 'NOT BETWEEN' };
    }
    case 'LIKE':
    case 'NOT LIKE': {
      const r = e.right;
      if (!r || (r.type !== 'single_quote_string' && r.type !== 'string')) throw new QueryError('LIKE needs a string literal pattern such as \'E11%\'');
      return { kind: 'like', arg: sub(e.left), pattern: String(r.value), negated: op === 'NOT LIKE' };
    }
    case 'ILIKE':
    case 'NOT ILIKE':
      return unsupported('ILIKE (codes are case-sensitive; use LIKE)');
    case 'IS':
    case 'IS NOT':
      // NULLs arise only from LEFT JOIN (stored data has none); the planner checks where.
      if (e.right?.type !== 'null') unsupported(`${op} other than IS [NOT] NULL`);
      return { kind: 'isnull', arg: sub(e.left), negated: op === 'IS NOT' };
    case '+':
    case '-': {
      // Only column ± a whole number of days (date windows); other arithmetic is not supported.
      const r = e.right;
      if (e.left?.type === 'column_ref' && (r?.type === 'number' || r?.type === 'bigint') && Number.isInteger(Number(r.value))) {
        return { kind: 'shift', arg: sub(e.left), by: (op === '-' ? -1 : 1) * Number(r.value) };
      }
      // A difference of dates (days), for analysis tables: date − DATE 'YYYY-MM-DD', date − date,
      // LEAST(…) − DATE '…' (src/query/rows.ts). Planned there only.
      const dateLike = (x: Node) => x?.type === 'date' || x?.type === 'single_quote_string' || x?.type === 'column_ref' || x?.type === 'function';
      if (op === '-' && dateLike(r) && (e.left?.type === 'column_ref' || e.left?.type === 'function')) {
        return { kind: 'call', name: 'minus', args: [sub(e.left), sub(r)] };
      }
      return { kind: 'arith', op: op as '+' | '-', left: sub(e.left), right: sub(e.right) };
    }
    case '*':
      return { kind: 'arith', op: '*', left: sub(e.left), right: sub(e.right) };
    case '/':
      return unsupported('arithmetic operator / (division inside MPC; divide the released value, or use AVG)');
    case '%':
    case '||':
      return unsupported(`arithmetic operator ${op}`);
    default:
      return unsupported(`operator ${op}`);
  }
}

/** Canonical text of an expression (for default output names and matching GROUP BY to SELECT). */
export function show(e: Expr): string {
  switch (e.kind) {
    case 'column':
      return e.name;
    case 'number':
      return e.text;
    case 'string':
      return e.date ? `DATE '${e.value}'` : `'${e.value}'`;
    case 'bool':
      return e.value ? 'TRUE' : 'FALSE';
    case 'call':
      return e.name === 'minus' ? `${show(e.args[0]!)} - ${show(e.args[1]!)}` : `${e.name}(${e.args.map(show).join(', ')})`;
    case 'agg':
      return e.text;
    case 'cmp':
      return `${show(e.left)} ${e.op} ${show(e.right)}`;
    case 'and':
    case 'or':
      return `(${show(e.left)} ${e.kind.toUpperCase()} ${show(e.right)})`;
    case 'not':
      return `NOT ${show(e.arg)}`;
    case 'in':
      return `${show(e.arg)}${e.negated ? ' NOT' : ''} IN (${e.list.map(show).join(', ')})`;
    case 'between':
      return `${show(e.arg)}${e.negated ? ' NOT' : ''} BETWEEN ${show(e.lo)} AND ${show(e.hi)}`;
    case 'like':
      return `${show(e.arg)}${e.negated ? ' NOT' : ''} LIKE '${e.pattern}'`;
    case 'isnull':
      return `${show(e.arg)} IS${e.negated ? ' NOT' : ''} NULL`;
    case 'shift':
      return `${show(e.arg)} ${e.by < 0 ? '-' : '+'} ${Math.abs(e.by)}`;
    case 'arith': {
      const inner = (x: Expr) => (x.kind === 'arith' || x.kind === 'shift' || (x.kind === 'call' && x.name === 'minus') ? `(${show(x)})` : show(x));
      return `${inner(e.left)} ${e.op} ${inner(e.right)}`;
    }
    case 'exists':
      return `${e.negated ? 'NOT ' : ''}EXISTS (SELECT 1 FROM ${e.table} ${e.alias}${e.join ? ` JOIN ${e.join.table} ${e.join.alias} ON ${show(e.join.on)}` : ''}${e.where ? ` WHERE ${show(e.where)}` : ''})`;
  }
}
