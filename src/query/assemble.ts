// The requester's side of a result: each node returns its replicated share pair (x_i, x_{i+1}) of
// the released aggregates with the result's public metadata; the requester checks that the three
// pairs are consistent (node i's second half is node i+1's first) and that the metadata agree, adds
// the shares and decodes the cells. Pure: the CLI (src/cli/query.ts) and the browser app use it.
import type { Display, QueryPlan } from './plan.js';
import { resultRows } from './result.js';
import { rankedCells } from './top-k-cells.js';

/** What the requester needs of one node's part (src/node/jobs.ts JobResult has these fields). */
export interface ResultPart {
  party: number;
  columns: string[];
  cells: number;
  suppressed: Record<string, Display>[];
  suppressedCount: number;
  havingHidden: number;
  minCellSize: number;
  visibleCells: number[];
  outAggs: number[];
  /** ORDER BY COUNT/SUM LIMIT k inside MPC: the shares are k ranked lanes (./top-k.ts). */
  ranked?: number;
  shares: { a: string[]; b: string[] };
}


export interface CombinedResult {
  columns: string[];
  rows: Display[][];
  suppressed: Record<string, Display>[];
  suppressedCount: number;
  havingHidden: number;
  minCellSize: number;
  cells: number;
  /** Only the first `ranked` cells were released (ORDER BY … LIMIT inside MPC). */
  ranked?: number;
}

const u64 = (s: string) => BigInt.asUintN(64, BigInt(s));

/**
 * Combines the results of nodes 0, 1, 2 of one job: x = x_i + x_{i+1} (node i) + x_{i+2} (node
 * i+1), for each i, and checks that every node's second half equals the next node's first half
 * and that the public metadata agree. `plan` is planSql of the job's SQL against the schema.
 */
export function assembleResult(plan: QueryPlan, parts: [ResultPart, ResultPart, ResultPart]): CombinedResult {
  const [r0] = parts;
  const meta = (r: ResultPart) => JSON.stringify([r.columns, r.cells, r.suppressed, r.visibleCells, r.outAggs, r.minCellSize, r.havingHidden, r.ranked ?? null, r.shares.a.length, r.shares.b.length]);
  parts.forEach((r, i) => {
    if (r.party !== i) throw new Error(`result ${i} comes from party ${r.party}`);
    if (meta(r) !== meta(r0)) throw new Error(`node ${i}'s result metadata differ from node 0's: the nodes did not run the same job`);
  });
  const values = combineLanes(parts);
  return {
    columns: r0.columns,
    rows: r0.ranked !== undefined ? rankedRows(plan, r0.ranked, r0.outAggs, values) : assembleRows(plan, r0.visibleCells, r0.outAggs, values),
    suppressed: r0.suppressed,
    suppressedCount: r0.suppressedCount,
    havingHidden: r0.havingHidden,
    minCellSize: r0.minCellSize,
    cells: r0.cells,
    ...(r0.ranked !== undefined ? { ranked: r0.ranked } : {}),
  };
}

/**
 * x = x_i + x_{i+1} (node i) + x_{i+2} (node i+1) for every lane of the three nodes' parts, checking
 * that every node's second half equals the next node's first half (results and statistics alike).
 */
export function combineLanes(parts: [Pick<ResultPart, 'shares'>, Pick<ResultPart, 'shares'>, Pick<ResultPart, 'shares'>]): bigint[] {
  const L = parts[0].shares.a.length;
  const a = parts.map((r) => r.shares.a.map(u64));
  const b = parts.map((r) => r.shares.b.map(u64));
  const values: bigint[] = new Array(L);
  for (let t = 0; t < L; t++) {
    for (let i = 0; i < 3; i++) {
      if (b[i]![t] !== a[(i + 1) % 3]![t]) throw new Error(`result shares inconsistent: node ${i}'s second half differs from node ${(i + 1) % 3}'s first half at lane ${t}`);
    }
    values[t] = BigInt.asUintN(64, a[0]![t]! + a[1]![t]! + a[2]![t]!);
  }
  return values;
}

/** Rows of a ranked release: the visible ones among its k lanes, in their order. */
export function rankedRows(plan: QueryPlan, k: number, outAggs: number[], values: bigint[]): Display[][] {
  const c = rankedCells(k, outAggs, values);
  return resultRows(plan, c.cells, outAggs, c.value);
}

/** Rows of the visible cells from the combined aggregates (outAgg-major lanes), as a node would show them. */
export function assembleRows(plan: QueryPlan, visibleCells: number[], outAggs: number[], values: bigint[]): Display[][] {
  const V = visibleCells.length;
  if (values.length !== V * outAggs.length) throw new Error(`expected ${V * outAggs.length} aggregate values, got ${values.length}`);
  return resultRows(plan, visibleCells, outAggs, (k, v) => values[k * V + v]!);
}
