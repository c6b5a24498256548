// Contribution bounds: at most how many rows of a query's input one person can have, from public
// metadata only: the registers' schemas (src/ingest/schema.ts: a unique person id, the person id's
// maxRowsPerPerson, composite keys, all validated at ingest) and the query's own filters. The
// privacy unit of differential privacy (dp.ts) is a person, so the released vector's sensitivity
// is what one person's rows can change: R rows per person change a count by at most R.
//
//   one register      person id `unique` → R = 1; a composite key whose other columns the WHERE
//                     clause fixes (`year = 2023` with keys [['person_id', 'year']]) → R = 1; else
//                     the smallest of maxRowsPerPerson and, per key, the number of value
//                     combinations of its columns left free (year in 2022..2024 → 3); else unbounded
//   joins             EXISTS (semi-joined) and date-window tables add only a match flag: nothing;
//                     the many side (join-plan.ts) → its R (LEFT JOIN: max(1, R)); otherwise 1.
//                     A table whose one-row-per-person property would be tested in MPC ('check')
//                     cannot run protected: the test reveals one data-dependent bit.
// Reveals nothing (public metadata).
import { parseDate, type CodeList, type ColumnSpec, type DatasetSchema } from '../ingest/schema.js';
import { oneRowPerPerson, type JoinPlan } from './join-plan.js';

export { oneRowPerPerson } from './join-plan.js';
import { fixedColumns, personColumn, QueryError, type QueryPlan } from './plan.js';

export { personColumn } from './plan.js';


/** How many values a column can take (from its type and declared bounds), or null when unbounded. */
function domainSize(s: ColumnSpec, codeLists: Map<string, CodeList>): number | null {
  switch (s.type) {
    case 'bool':
      return 2;
    case 'code':
      return codeLists.get(s.codeList ?? '')?.codes.length ?? null;
    case 'int':
      return typeof s.min === 'number' && typeof s.max === 'number' ? Math.max(0, Math.floor(s.max) - Math.ceil(s.min) + 1) : null;
    case 'date': {
      const lo = typeof s.min === 'string' ? parseDate(s.min) : null, hi = typeof s.max === 'string' ? parseDate(s.max) : null;
      return lo !== null && hi !== null ? Math.max(0, hi - lo + 1) : null;
    }
    default:
      return null;
  }
}

/**
 * At most how many rows of `d` one person (value of `key`) has among the rows whose columns
 * `fixed` are fixed: 1 when one row per person, else the smallest of the person id's
 * maxRowsPerPerson and, per composite key, the product of the domain sizes of its columns other
 * than the person id that are not fixed (a key identifies a row). null when nothing bounds it.
 */
export function rowsPerPerson(d: DatasetSchema, key: string, fixed: Set<string>, codeLists: Map<string, CodeList>): number | null {
  if (oneRowPerPerson(d, key, fixed)) return 1;
  const bounds: number[] = [];
  const declared = d.columns.find((c) => c.name === key)?.maxRowsPerPerson;
  if (declared !== undefined) bounds.push(declared);
  for (const k of d.keys ?? []) {
    let n = 1;
    for (const c of k) {
      if (c === key || fixed.has(c)) continue;
      const s = d.columns.find((x) => x.name === c);
      const m = s ? domainSize(s, codeLists) : null;
      n = m === null ? Infinity : n * m;
    }
    if (Number.isFinite(n)) bounds.push(n);
  }
  return bounds.length ? Math.max(1, Math.min(...bounds)) : null;
}

const err = (m: string): never => {
  throw new QueryError(`differential privacy: ${m}`);
};

const declareHint = (name: string, key: string) =>
  `its custodian must declare in the schema of ${name} either maxRowsPerPerson on ${key} (the most rows one person has; ingest checks it) or a key such as keys: [['${key}', 'year']] whose other columns the query fixes with col = value`;

/**
 * R: at most how many rows of the query's input (the joined rows, for a join) belong to one
 * person, for `plan` (over one register) or `join`. Throws QueryError saying what to declare or
 * change when nothing bounds it.
 */
export function contributionBound(plan: QueryPlan, join: JoinPlan | null): number {
  if (!join) {
    const d = plan.dataset;
    const pid = personColumn(d);
    if (!pid) {
      const pids = d.columns.filter((c) => c.type === 'person_id').map((c) => c.name);
      return err(`${d.name} ${pids.length ? `has several person id columns (${pids.join(', ')}) and none named person_id` : 'has no person_id column'}, so its rows cannot be attributed to persons and what one person contributes is unbounded; its custodian must add the person id (one column named person_id) to the schema`);
    }
    return rowsPerPerson(d, pid.name, fixedColumns(plan), plan.codeLists) ?? err(`${d.name} may have any number of rows per person, so one person could change a result by any amount; ${declareHint(d.name, pid.name)}`);
  }
  for (const t of join.tables) {
    if (t.unique === 'check') {
      err(`${t.dataset.name} must have one row per person to be joined, which would be tested inside MPC, revealing one data-dependent bit outside the privacy guarantee; ${declareHint(t.dataset.name, t.key)} (e.g. ON … AND ${t.alias}.year = 2023)`);
    }
  }
  const many = join.tables.find((t) => t.unique === false && !t.expand && (t.kind === 'from' || t.kind === 'inner' || t.kind === 'left'));
  if (!many) return 1;
  const fixed = many.filter ? fixedColumns(many.filter) : new Set<string>();
  const r0 = rowsPerPerson(many.dataset, many.key, fixed, join.plan.codeLists) ?? err(`${many.dataset.name} may have any number of rows per person, so one person could change a result by any amount; ${declareHint(many.dataset.name, many.key)}`);
  // A ROW_NUMBER bound on it caps its rows; a many-to-many join pairs each with up to b rows of the other side.
  const r = Math.min(r0, many.bound?.rows ?? Infinity) * (join.tables.find((t) => t.expand)?.bound!.rows ?? 1);
  return many.kind === 'left' ? Math.max(1, r) : r;
}
