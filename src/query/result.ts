// A released result as its requester reads it: the group-key labels of each cell and the decoded
// output values, then ORDER BY and LIMIT (which are applied after reveal, in plaintext). Pure: no
// MPC, no node; used by a node that received values, by a requester that combined the nodes'
// shares (src/query/assemble.ts) and by the browser app.
import { decodeValue } from '../ingest/schema.js';
import type { Display, QueryPlan } from './plan.js';

/** Group-key labels of cell j (cells are numbered row-major over the keys' label lists). */
export function cellLabels(plan: QueryPlan, j: number): Display[] {
  const out: Display[] = [];
  let r = j;
  for (let i = plan.keys.length - 1; i >= 0; i--) {
    const key = plan.keys[i]!;
    out[i] = key.labels[r % key.labels.length]!;
    r = Math.floor(r / key.labels.length);
  }
  return out;
}

/**
 * The result rows of the visible cells from the opened output aggregates, then ORDER BY and LIMIT.
 * value(k, v) is output aggregate outAggs[k] of visible cell v. Used by a node that received the
 * values and by a requester that combined the nodes' shares.
 */
export function resultRows(plan: QueryPlan, visibleCells: number[], outAggs: number[], value: (k: number, v: number) => bigint): Display[][] {
  let rows = visibleCells.map((j, v) => {
    const labels = cellLabels(plan, j);
    return plan.outputs.map((o) => (o.kind === 'key' ? labels[o.key]! : decodeAgg(plan, o.agg, value(outAggs.indexOf(o.agg), v))));
  });
  if (plan.orderBy.length) {
    const cmp = (a: Display, b: Display) => (a < b ? -1 : a > b ? 1 : 0);
    rows.sort((x, y) => {
      for (const { output, desc } of plan.orderBy) {
        const c = cmp(x[output]!, y[output]!);
        if (c) return desc ? -c : c;
      }
      return 0;
    });
  }
  if (plan.limit !== null) rows = rows.slice(0, plan.limit);
  return rows;
}

function decodeAgg(plan: QueryPlan, i: number, raw: bigint): Display {
  const a = plan.aggregates[i]!;
  const s = BigInt.asIntN(64, raw);
  switch (a.result) {
    case 'count':
    case 'int':
      return Number(s);
    case 'fixed':
      return Number(s) / a.scale; // 2^FRAC, or for a scaled variance 2^FRAC/4^k (plan.ts VAR_WIDE_BITS)
    case 'value': {
      const spec = plan.dataset.columns.find((c) => c.name === a.column)!;
      return decodeValue(spec, raw, plan.codeLists);
    }
  }
}
