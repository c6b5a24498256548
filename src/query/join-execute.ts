// Runs a join plan (join-plan.ts) at one party: each table's own filter, the join on the person
// id (src/mpc/join.ts), the joined rows' validity from the per-table match flags, then the
// single-register execution (execute.ts) over the joined rows. Reveals what join.ts and
// execute.ts reveal: table sizes, one bit per uniqueness check, the suppression bits and the
// released aggregates; not which persons matched, nor how many.
import { add, mulMany, subFromPublic } from '../mpc/arith.js';
import { eventTable, followedWithin } from '../mpc/cohort.js';
import { joinOnKey, type JoinInput } from '../mpc/join.js';
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import { PERSON_ID_LIMIT } from '../ingest/schema.js';
import { lapTimer, rowFilter, runQuery, type QueryResult, type RunOptions } from './execute.js';
import { HAS, type JoinPlan, ROW } from './join-plan.js';
import { QueryError } from './parse.js';

const KEY_BITS = PERSON_ID_LIMIT.toString(2).length - 1;

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

/**
 * `tables` maps each table's alias to its columns' shares (every column the plan names, and the
 * key); all columns of one table have the same length.
 */
export async function runJoinQuery(p: Party, jp: JoinPlan, tables: Map<string, Map<string, AShare>>, opts: RunOptions = {}): Promise<QueryResult> {
  const lap = lapTimer(opts.trace);
  const colsOf = jp.tables.map((t) => {
    const m = tables.get(t.alias) ?? new Map<string, AShare>();
    const get = (c: string) => m.get(c) ?? (() => { throw new QueryError(`column '${c}' of ${t.dataset.name} has no shares at this node`); })();
    const key = get(t.key);
    for (const c of t.columns) if (get(c).length !== key.length) throw new QueryError(`column '${c}' of ${t.dataset.name} has ${get(c).length} rows, its key ${key.length}`);
    return { key, m };
  });

  // 1. Each table's own conditions.
  const present: (AShare | null)[] = [];
  for (const [i, t] of jp.tables.entries()) {
    present.push(t.filter ? await rowFilter(p, t.filter, colsOf[i]!.m, colsOf[i]!.key.length) : null);
  }
  lap('filters before the join');

  // 2. The join. An EXISTS with a date window joins the two registers' events, sorted by time.
  const inputs: JoinInput[] = [];
  for (const i of jp.order) {
    const t = jp.tables[i]!;
    const w = t.window;
    if (w) {
      const src = (k: number, date: string) => ({ key: colsOf[k]!.key, time: colsOf[k]!.m.get(date)!, ...(present[k] ? { present: present[k]! } : {}) });
      inputs.push(await eventTable(p, src(i, w.aDate), src(w.partner, w.bDate), w.lo, w.timeBits));
      lap(`events of ${t.dataset.name} and ${jp.tables[w.partner]!.dataset.name} in time order`);
      continue;
    }
    inputs.push({
      key: colsOf[i]!.key,
      columns: t.columns.map((c) => colsOf[i]!.m.get(c)!),
      ...(present[i] ? { present: present[i]! } : {}),
      unique: t.unique,
      name: t.dataset.name,
    });
  }
  const j = await joinOnKey(
    p,
    inputs,
    { keyBits: KEY_BITS, lastHas: !jp.tables.some((t) => t.unique === false && (t.kind === 'from' || t.kind === 'inner')), onPhase: (ph) => lap(`join: before ${ph}`) },
  );
  lap('join');
  const joined = new Map<number, (typeof j.tables)[number]>(jp.order.map((i, k) => [i, j.tables[k]!]));
  for (const [i, t] of jp.tables.entries()) {
    const w = t.window;
    if (!w) continue;
    const jt = joined.get(i)!;
    joined.set(i, { ...jt, has: await followedWithin(p, jt, j.first, w.hi === null ? null : w.hi - w.lo, w.timeBits) });
    lap(`date window ${t.dataset.name} → ${jp.tables[w.partner]!.dataset.name}`);
  }

  // 3. Validity of each joined row. With a many-side table M: M's rows where every FROM/inner
  // table matched, plus (M LEFT JOINed) each key's last row where M has no row. Without one: each
  // key's last row where every FROM/inner table matched.
  const many = jp.tables.findIndex((t) => t.unique === false && (t.kind === 'from' || t.kind === 'inner' || t.kind === 'left'));
  const inner = jp.tables.flatMap((t, i) => ((t.kind === 'from' || t.kind === 'inner') && i !== many ? [joined.get(i)!.has] : []));
  const allInner = await productAll(p, inner);
  let valid: AShare;
  if (many >= 0) {
    const M = joined.get(many)!;
    const manyRows = allInner ? (await mulMany(p, [[M.here, allInner]]))[0]! : M.here;
    if (jp.tables[many]!.kind === 'left') {
      const lone = (await productAll(p, [j.last, subFromPublic(p, 1n, M.has), ...(allInner ? [allInner] : [])]))!;
      valid = add(manyRows, lone);
    } else valid = manyRows;
  } else valid = allInner ? (await mulMany(p, [[j.last, allInner]]))[0]! : j.last;
  lap('validity of joined rows');

  // 4. The joined rows as one virtual register.
  const virtual = new Map<string, AShare>([[ROW, valid]]);
  jp.tables.forEach((t, i) => {
    const jt = joined.get(i)!;
    t.columns.forEach((c, k) => virtual.set(`${t.alias}.${c}`, jt.columns[k]!));
    if (t.kind === 'left' || t.kind === 'semi') virtual.set(`${t.alias}.${HAS}`, i === many ? jt.here : jt.has);
  });
  return runQuery(p, jp.plan, virtual, opts);
}
