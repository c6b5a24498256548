// How a query uses a column (the vocabulary of policies and of ./plan-uses.ts): which dataset and
// column, in which role, with which aggregate function. Plain types and constants, browser-safe.

export type ColumnRole = 'join-key' | 'filter' | 'group' | 'aggregate' | 'model';
export const COLUMN_ROLES: readonly ColumnRole[] = ['join-key', 'filter', 'group', 'aggregate', 'model'];

export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'variance' | 'stddev';
export const AGGREGATE_FNS: readonly AggregateFn[] = ['count', 'sum', 'avg', 'min', 'max', 'variance', 'stddev'];

export interface ColumnUse {
  dataset: string;
  column: string;
  role: ColumnRole;
  /** With role 'aggregate': the function. */
  aggregate?: AggregateFn;
}

/** What the node is about to run. */
export interface QueryUse {
  /** The query's text; must be one of the study's allowed queries (compared by normalizeQueryText). */
  sql?: string;
  statistic?: string;
  /** Datasets the query reads (also those it reads no column of, e.g. COUNT(*) FROM contacts). */
  datasets: string[];
  /** Every column the plan reads and in what role (./plan-uses.ts builds this from a QueryPlan). */
  uses: ColumnUse[];
  /** Smallest cell the requester asked for; refused if below a policy's. */
  minCellSize?: number;
}
