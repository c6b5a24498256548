// SQL forms rewritten into the ones the planner runs, on node-sql-parser's AST before parse.ts walks
// it (issue 17). Each rewrite is the textbook equivalence (e.g. Garcia-Molina, Ullman, Widom,
// "Database Systems: The Complete Book", §16.3 on unnesting subqueries), so the plan, what runs in
// MPC and what it reveals are exactly those of the rewritten query:
//   WITH name AS (SELECT …) …          each reference to `name` becomes that subquery (non-recursive)
//   FROM (SELECT cols FROM t WHERE w) x  the table t as x, with w added to WHERE (FROM) or to ON (JOIN),
//                                        the subquery's columns (and their renames) the only ones x has
//   x IN (SELECT c FROM t WHERE w)       EXISTS (SELECT 1 FROM t WHERE t.c = x AND w)
//   x NOT IN (SELECT c FROM t WHERE w)   NOT EXISTS (…) — the same, as x and c are never NULL here
//                                        (a LEFT JOIN's column on the left is refused: SQL's NOT IN
//                                        is unknown for NULL, NOT EXISTS is true)
//   FROM (SELECT cols, f() OVER (PARTITION BY person_id ORDER BY d) AS w FROM t WHERE v) x
//                                        the table t as x with the window columns w computed over
//                                        its rows that pass v (kept as x's `window`: v is applied
//                                        before the window functions, the outer WHERE after them;
//                                        join-plan.ts plans them, join-execute.ts computes them)
// Reveals nothing beyond the rewritten query's result: the rewrite is on the query text only.
import { QueryError } from './parse-error.js';

// node-sql-parser's AST is loosely typed JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

const unsupported = (what: string): never => {
  throw new QueryError(`unsupported SQL: ${what}`);
};

const isSelect = (n: Node) => n && typeof n === 'object' && n.type === 'select';
/** The SELECT of a parenthesised subquery node (`{ast}` in expressions and FROM). */
const subSelect = (n: Node): Node | null => (n && isSelect(n.ast) ? n.ast : isSelect(n) ? n : null);

function colName(e: Node): string {
  const c = e.column;
  if (typeof c === 'string') return c;
  if (c && c.expr && typeof c.expr.value === 'string') return c.expr.value;
  return unsupported('this column reference');
}
const colRef = (table: string | null, column: string): Node => ({ type: 'column_ref', ...(table ? { table } : {}), column: { expr: { type: 'default', value: column } } });
const and = (a: Node | null | undefined, b: Node | null | undefined): Node | null => (a && b ? { type: 'binary_expr', operator: 'AND', left: a, right: b, parentheses: true } : (a ?? b ?? null));

/** Visits every node of an expression (not into subqueries unless `deep`), replacing where `f` returns a node. */
function mapExpr(e: Node, f: (n: Node) => Node | undefined): Node {
  if (e === null || typeof e !== 'object') return e;
  const r = f(e);
  if (r !== undefined) return r;
  if (Array.isArray(e)) return e.map((x) => mapExpr(x, f));
  if (e.ast) return e; // a subquery: its own scope
  const out: Node = {};
  for (const [k, v] of Object.entries(e)) out[k] = mapExpr(v, f);
  return out;
}

/** Every subquery node (`{ast}`) in an expression, for the rewrites that recurse into them. */
function mapSubqueries(e: Node, f: (sel: Node) => Node): Node {
  if (e === null || typeof e !== 'object') return e;
  if (Array.isArray(e)) return e.map((x) => mapSubqueries(x, f));
  if (isSelect(e.ast)) return { ...e, ast: f(e.ast) };
  const out: Node = {};
  for (const [k, v] of Object.entries(e)) out[k] = mapSubqueries(v, f);
  return out;
}

/** Rewrites one SELECT (and the subqueries in it): CTEs, derived tables, IN subqueries. */
export function desugar(ast: Node): Node {
  return rewrite(ast, new Map());
}

function rewrite(sel: Node, ctes: Map<string, Node>): Node {
  let scope = ctes;
  if (sel.with) {
    scope = new Map(ctes);
    for (const w of sel.with as Node[]) {
      if (w.recursive) unsupported('WITH RECURSIVE');
      if (w.columns && w.columns.length) unsupported(`a column list on WITH ${w.name?.value} (name the columns inside its SELECT with AS)`);
      const name = String(w.name?.value ?? w.name);
      const stmt = subSelect(w.stmt);
      if (!stmt) unsupported(`WITH ${name} AS (…) that is not a SELECT`);
      if (scope.has(name) && !ctes.has(name)) throw new QueryError(`WITH names ${name} twice`);
      scope.set(name, rewrite(stmt, scope)); // later CTEs may use earlier ones
    }
    sel = { ...sel, with: null };
  }
  // CTE references in FROM become derived tables.
  const from: Node[] = (sel.from ?? []).map((f: Node) =>
    typeof f.table === 'string' && !f.db && scope.has(f.table) ? { ...f, table: undefined, expr: { ast: structuredClone(scope.get(f.table)) }, as: f.as ?? f.table } : f,
  );
  sel = { ...sel, from };
  // Subqueries anywhere in expressions see the same CTEs.
  for (const k of ['where', 'having', 'columns']) if (sel[k]) sel[k] = mapSubqueries(sel[k], (s) => rewrite(s, scope));
  sel.from = sel.from.map((f: Node) => (f.expr?.ast ? { ...f, expr: { ...f.expr, ast: rewrite(f.expr.ast, scope) } } : f.on ? { ...f, on: mapSubqueries(f.on, (s) => rewrite(s, scope)) } : f));
  sel = flattenDerived(sel);
  return unnestIn(sel);
}

/** A subquery in FROM over one table, without aggregation: the table itself, its WHERE moved out. */
function flattenDerived(sel: Node): Node {
  let moved: Node | null = null; // the FROM subquery's WHERE, added after the outer names are fixed
  const movedOn = new Map<number, Node>(); // a joined subquery's WHERE, added to its ON
  const renames = new Map<string, Map<string, string>>(); // alias → output name → column
  const from = (sel.from as Node[]).map((f, i) => {
    const inner = f.expr ? subSelect(f.expr) : null;
    if (!f.expr) return f;
    if (!inner) unsupported('this subquery in FROM');
    const alias = typeof f.as === 'string' ? f.as : unsupported('a subquery in FROM without an alias (write (SELECT …) AS name)');
    const ifrom: Node[] = inner.from ?? [];
    if (ifrom.length !== 1 || ifrom[0].expr || ifrom[0].join || typeof ifrom[0].table !== 'string' || ifrom[0].db) {
      unsupported(`subquery ${alias} in FROM over anything but one table (join the tables in the outer query)`);
    }
    if (ifrom[0].window) unsupported(`subquery ${alias} in FROM over a subquery with window functions (select from that subquery directly)`);
    if (inner.groupby || inner.having || (inner.distinct && inner.distinct.type) || inner.orderby || inner.limit?.value?.length || inner._next || inner.set_op) {
      unsupported(`GROUP BY, HAVING, DISTINCT, ORDER BY, LIMIT or UNION in subquery ${alias} in FROM (it must pick rows and columns of one table)`);
    }
    const t = ifrom[0];
    const own = new Set([t.table as string, typeof t.as === 'string' ? t.as : t.table]);
    const map = new Map<string, string>();
    const windows: Node[] = [];
    if (inner.columns === '*') map.set('*', '*');
    else
      for (const c of inner.columns as Node[]) {
        const e = c.expr ?? c;
        if (isWindow(e)) {
          const name = typeof c.as === 'string' ? c.as : unsupported(`a window function without a name in subquery ${alias} (write … OVER (…) AS name)`);
          windows.push(windowColumn(e, name, own, alias));
          map.set(name, name);
          continue;
        }
        if (e.type !== 'column_ref' || (e.table && !own.has(e.table))) unsupported(`expressions in the SELECT list of subquery ${alias} in FROM (select columns; compute in the outer query)`);
        const col = colName(e);
        if (col === '*') map.set('*', '*');
        else map.set(typeof c.as === 'string' ? c.as : col, col);
      }
    renames.set(alias, map);
    // The subquery's WHERE, its references re-pointed at the alias; with window functions it stays
    // the table's own (applied before them).
    const w = inner.where ? requalify(inner.where, own, alias) : null;
    if (windows.length) return { table: t.table, as: alias, ...(f.join ? { join: f.join, on: f.on } : {}), window: { where: w, columns: windows } };
    if (w && i > 0) movedOn.set(i, w);
    else if (w) moved = w;
    return { table: t.table, as: alias, ...(f.join ? { join: f.join, on: f.on } : {}) };
  });
  if (!renames.size) return sel;
  // Outer references to a derived table's columns: only those it selects, under their real names.
  const fix = (e: Node) =>
    mapExpr(e, (n) => {
      if (n.type !== 'column_ref' || !n.table || !renames.has(n.table)) return undefined;
      const m = renames.get(n.table)!;
      const name = colName(n);
      const col = m.get(name) ?? (m.has('*') ? name : undefined);
      if (col === undefined) throw new QueryError(`subquery ${n.table} in FROM does not select ${name}`);
      return colRef(n.table, col);
    });
  // Unqualified outer names that a derived table renamed.
  const renamed = new Map<string, [string, string]>();
  for (const [a, m] of renames) for (const [out, col] of m) if (out !== col) renamed.set(out, [a, col]);
  const fixBare = (e: Node) =>
    mapExpr(e, (n) => {
      if (n.type !== 'column_ref' || n.table) return undefined;
      const r = renamed.get(colName(n));
      return r ? colRef(r[0], r[1]) : undefined;
    });
  const both = (e: Node) => (e ? fix(fixBare(e)) : e);
  return {
    ...sel,
    from: from.map((f, i) => (f.on ? { ...f, on: and(both(f.on), movedOn.get(i)) } : f)),
    where: and(both(sel.where), moved),
    columns: sel.columns === '*' ? sel.columns : (sel.columns as Node[]).map((c) => ({ ...c, expr: both(c.expr) })),
    groupby: sel.groupby ? { ...sel.groupby, columns: (sel.groupby.columns ?? []).map(both) } : sel.groupby,
    having: both(sel.having),
    orderby: sel.orderby ? (sel.orderby as Node[]).map((o) => ({ ...o, expr: both(o.expr) })) : sel.orderby,
  };
}

const isWindow = (e: Node): boolean => e && (e.type === 'window_func' || (e.type === 'aggr_func' && !!e.over));

/**
 * A window function of a subquery's SELECT list as plain data for parse.ts: the function, its
 * column (LAG/LEAD), offset and fallback, PARTITION BY and ORDER BY columns (the subquery's own),
 * and whether its frame is ROWS … CURRENT ROW (COUNT(*)).
 */
function windowColumn(e: Node, name: string, own: Set<string>, alias: string): Node {
  const fn = String(e.name).toUpperCase();
  const what = `${fn}() OVER (…) AS ${name} in subquery ${alias}`;
  const spec = e.over?.as_window_specification?.window_specification;
  if (!spec) unsupported(`${what}: a named window (write OVER (PARTITION BY … ORDER BY …))`);
  const ownCol = (x: Node, role: string): string => {
    if (!x || x.type !== 'column_ref' || (x.table && !own.has(x.table))) return unsupported(`${what}: ${role} must be a column of the subquery's table`);
    return colName(x);
  };
  const partition = (spec.partitionby ?? []).map((p: Node) => ownCol(p.expr ?? p, 'PARTITION BY'));
  const orders: Node[] = spec.orderby ?? [];
  if (orders.length > 1) unsupported(`${what}: ORDER BY more than one column`);
  const order = orders.length ? { column: ownCol(orders[0]!.expr, 'ORDER BY'), desc: String(orders[0]!.type ?? '').toUpperCase() === 'DESC' } : null;
  const frame = spec.window_frame_clause;
  const text = (x: Node) => String(x?.value ?? '').toUpperCase();
  const rowsToCurrent = frame && ((frame.type === 'rows' && text(frame.expr) === 'UNBOUNDED PRECEDING') || (frame.operator === 'BETWEEN' && text(frame.left) === 'ROWS' && text(frame.right?.value?.[0]) === 'UNBOUNDED PRECEDING' && text(frame.right?.value?.[1]) === 'CURRENT ROW'));
  if (frame && !rowsToCurrent) unsupported(`${what}: a window frame other than ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`);
  const args: Node[] = e.args?.type === 'expr_list' ? e.args.value : [];
  switch (fn) {
    case 'ROW_NUMBER':
      return { name, fn: 'row_number', arg: null, fallback: null, partition, order, rows: true };
    case 'COUNT':
      if (e.args?.expr?.type !== 'star' || e.args?.distinct) unsupported(`${what}: only COUNT(*) as a window function`);
      return { name, fn: 'count', arg: null, fallback: null, partition, order, rows: !!rowsToCurrent };
    case 'LAG':
    case 'LEAD': {
      if (args.length < 1 || args.length > 3) unsupported(`${what}: ${fn}(column [, 1 [, default]])`);
      if (args[1] && !(args[1].type === 'number' && Number(args[1].value) === 1)) unsupported(`${what}: an offset other than 1`);
      return { name, fn: fn.toLowerCase(), arg: ownCol(args[0], 'its argument'), fallback: args[2] ?? null, partition, order, rows: true };
    }
    default:
      return unsupported(`window function ${fn} (supported: ROW_NUMBER(), LAG(col), LEAD(col), COUNT(*))`);
  }
}

/** Column references of `own` tables (or unqualified) → qualified by `alias`. */
function requalify(e: Node, own: Set<string>, alias: string): Node {
  return mapExpr(e, (n) => {
    if (n.type !== 'column_ref') return undefined;
    if (n.table && !own.has(n.table)) return undefined; // an outer reference
    return colRef(alias, colName(n));
  });
}

/** `x [NOT] IN (SELECT c FROM t …)` → `[NOT] EXISTS (SELECT 1 FROM t WHERE t.c = x AND …)`. */
function unnestIn(sel: Node): Node {
  const taken = new Set<string>();
  for (const f of sel.from as Node[]) {
    taken.add(f.table);
    if (typeof f.as === 'string') taken.add(f.as);
  }
  const leftJoined = new Set((sel.from as Node[]).filter((f) => /^LEFT/i.test(String(f.join ?? ''))).flatMap((f) => [f.table, f.as].filter((x) => typeof x === 'string')));
  let fresh = 0;
  const rewriteIn = (n: Node): Node | undefined => {
    if (n.type !== 'binary_expr') return undefined;
    const op = String(n.operator).toUpperCase();
    if (op !== 'IN' && op !== 'NOT IN') return undefined;
    const list: Node[] = n.right?.type === 'expr_list' ? n.right.value : [];
    const inner = list.length === 1 ? subSelect(list[0]) : null;
    if (!inner) {
      if (list.some((x) => x?.ast)) unsupported('IN with a subquery among other values');
      return undefined;
    }
    const negated = op === 'NOT IN';
    let left = mapExpr(n.left, rewriteIn);
    // An unqualified outer column over one table: qualified, as the join planner matches person ids by table.
    if (left.type === 'column_ref' && !left.table && sel.from.length === 1) left = colRef(sel.from[0].as ?? sel.from[0].table, colName(left));
    if (negated && left.type === 'column_ref' && left.table && leftJoined.has(left.table)) {
      unsupported(`NOT IN on a LEFT JOIN's column ${left.table}.${colName(left)} (NOT IN is never true for its NULLs; write NOT EXISTS, or test IS NULL)`);
    }
    const ifrom: Node[] = inner.from ?? [];
    if (ifrom.length !== 1 || ifrom[0].expr || ifrom[0].join || typeof ifrom[0].table !== 'string' || ifrom[0].db) {
      unsupported('IN over a subquery of anything but one table (a WITH name or a register)');
    }
    if (ifrom[0].window) unsupported('IN over a subquery with window functions (join it instead: JOIN (…) s ON s.person_id = …)');
    if (inner.groupby || inner.having || inner.limit?.value?.length || inner._next || inner.set_op) unsupported('GROUP BY, HAVING, LIMIT or UNION in an IN subquery');
    const cols: Node[] = inner.columns === '*' ? [] : inner.columns;
    const c = cols.length === 1 ? (cols[0].expr ?? cols[0]) : null;
    if (!c || c.type !== 'column_ref') unsupported('an IN subquery that selects anything but one column');
    const t = ifrom[0];
    const own = new Set<string>([t.table, typeof t.as === 'string' ? t.as : t.table]);
    let alias = typeof t.as === 'string' ? t.as : (t.table as string);
    while (taken.has(alias)) alias = `${t.as ?? t.table}_in${++fresh}`;
    taken.add(alias);
    const match = { type: 'binary_expr', operator: '=', left: colRef(alias, colName(c)), right: left };
    const where = and(match, inner.where ? requalify(inner.where, own, alias) : null);
    const sub = { type: 'select', columns: [{ type: 'expr', expr: { type: 'number', value: 1 } }], from: [{ table: t.table, as: alias }], where };
    return { type: 'unary_expr', operator: negated ? 'NOT EXISTS' : 'EXISTS', expr: { ast: sub } };
  };
  return { ...sel, where: sel.where ? mapExpr(sel.where, rewriteIn) : sel.where, having: sel.having ? mapExpr(sel.having, rewriteIn) : sel.having };
}
