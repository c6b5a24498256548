// Checking a query's released cells against SQLite's answer on the same rows (the SQL tests).
import assert from 'node:assert/strict';
import type { Display } from '../src/query/index.js';

/**
 * Every cell of SQLite's answer `want` counting at least k (column `countCol`) is released with the
 * same values (fixed-point results within 1e-3 + 1e-4·|v|); no other cell is released.
 */
export function assertVisibleCellsEqual(sql: string, nKeys: number, rows: Display[][], want: { columns: string[]; rows: unknown[][] }, countCol: string, k: number): void {
  const ci = want.columns.indexOf(countCol);
  assert.ok(ci >= 0, `the test query names its count ${countCol}`);
  const key = (row: unknown[]) => row.slice(0, nKeys).map(String).join('|');
  const visible = want.rows.filter((r) => Number(r[ci]) >= k);
  assert.ok(visible.length > 0, `${sql}: the test data gives visible cells`);
  const got = new Map(rows.map((r) => [key(r), r]));
  assert.equal(rows.length, visible.length, `${sql}: visible cells`);
  for (const w of visible) {
    const g = got.get(key(w));
    assert.ok(g, `${sql}: cell ${key(w)} missing`);
    w.forEach((v, i) => {
      if (typeof v === 'number' && (!Number.isInteger(v) || !Number.isInteger(Number(g![i])))) assert.ok(Math.abs(Number(g![i]) - v) <= 1e-3 + 1e-4 * Math.abs(v), `${key(w)} col ${i}: ${g![i]} vs ${v}`);
      else assert.equal(String(g![i]), String(v), `${sql}: cell ${key(w)} column ${want.columns[i]}`);
    });
  }
}
