// The MPC building blocks of the statistics, party-local (SPMD), on an analysis table
// (src/query/rows.ts): factor indicators, masked sums of products (the sufficient statistics of
// t.test, cor, lm), sums per cell of discrete keys (contingency tables, life tables, the pattern
// tables of glm and coxph) and differential-privacy noise on them. Whole columns, one round per
// layer; nothing here reveals anything (the caller decides what to open, and to whom).
//   indicators   [x = v] for public v: x bucketed once among its own values (src/mpc/bucket.ts), the
//                one-hot planes are free XORs of the thermometer bits, one injection for all
//   sums         Σ valid·a·b·c: src/stats/sums.ts (maskedSums)
//   cells        Σ weight per cell g ∈ [0, G): for 0/1 weights, one-hot planes ANDed with the
//                weights' bits and counted by count.ts's carry-save tree (countOnes); else
//                indicators and countAndSum when G·n is small, or the sort-based group.ts
//                groupSums (reveals n and G only)
import { AShare, add, addPublic, fromPublic, mulMany, mulPublic } from '../mpc/arith.js';
import { and, fromPublicBits, stackPlanes, type BShare } from '../mpc/boolean.js';
import { wordsFor } from '../ring/bits.js';
import { bucketIndex, geThresholds, oneHot } from '../mpc/bucket.js';
import { bitInject, lowBit } from '../mpc/convert.js';
import { countAndSum, countOnes } from '../mpc/count.js';
import { sampleDiscreteLaplace, type GeometricTable } from '../mpc/geometric-noise.js';
import { groupSums } from '../mpc/group.js';
import type { Party } from '../mpc/party.js';
import type { AnalysisTable, RowColumn } from '../query/rows.js';
import * as R from '../ring/ring64.js';
import { keySize, keyThresholds, type CellKey, type ColRef } from './cells.js';

/** Signed width that holds every value of a column (from its public bounds). */
export const widthOf = (c: { min: number; max: number }): number => Math.ceil(Math.log2(Math.max(Math.abs(c.min), Math.abs(c.max)) + 1)) + 2;

const refKey = (r: ColRef) => (r.level === undefined ? `${r.column}${r.shift ? `-${r.shift}` : ''}` : `${r.column}=${r.level}`);

/** The shares of every ColRef in `refs` (indicators of one column from one bucketing). */
export async function resolveRefs(p: Party, t: AnalysisTable, refs: ColRef[]): Promise<Map<string, AShare>> {
  const out = new Map<string, AShare>();
  const byCol = new Map<string, Set<number>>();
  for (const r of refs) {
    if (r.level === undefined) out.set(refKey(r), r.shift ? addPublic(p, t.columns.get(r.column)!, BigInt(-r.shift)) : t.columns.get(r.column)!);
    else byCol.set(r.column, (byCol.get(r.column) ?? new Set()).add(r.level));
  }
  const planes: BShare[] = [];
  const keys: string[] = [];
  for (const [column, levels] of byCol) {
    const meta = t.meta.find((c) => c.name === column)!;
    const x = t.columns.get(column)!;
    const lv = [...levels].sort((a, b) => a - b);
    if (meta.type === 'bool' && lv.length === 1 && lv[0] === 1) {
      out.set(refKey({ column, level: 1 }), x);
      continue;
    }
    // [x = v] for v = lo … hi: the one-hot planes of the thermometer [x ≥ v] (bucket.ts oneHot); 0 outside.
    const lo = meta.min, hi = meta.max;
    const th: bigint[] = [];
    for (let v = lo + 1; v <= hi; v++) th.push(BigInt(v));
    const oh = oneHot(p, th.length ? await geThresholds(p, x, th, widthOf(meta)) : [], t.n);
    const zero = fromPublicBits(p, t.n, 1, new Uint32Array(wordsFor(t.n)));
    for (const v of lv) {
      planes.push(v < lo || v > hi ? zero : oh.planes(v - lo));
      keys.push(refKey({ column, level: v }));
    }
  }
  if (planes.length) {
    const n = t.n;
    const inj = await bitInject(p, stackPlanes(planes));
    keys.forEach((k, i) => out.set(k, inj.slice(i * n, (i + 1) * n)));
  }
  return out;
}


/** The cell number of every row: Σ_k index_k·stride_k (last key fastest). Reveals nothing. */
export async function cellIndex(p: Party, t: AnalysisTable, keys: CellKey[]): Promise<AShare> {
  let g = new AShare(new BigUint64Array(t.n), new BigUint64Array(t.n));
  let stride = 1;
  for (let k = keys.length - 1; k >= 0; k--) {
    const key = keys[k]!;
    const x = t.columns.get(key.column)!;
    const meta = t.meta.find((c) => c.name === key.column)! as RowColumn;
    // A factor of step 1 is its value less min; of every step-th value, its bucket like a binned key's.
    const idx = key.kind === 'factor' && (key.step ?? 1) === 1 ? addPublic(p, x, BigInt(-key.min)) : await bucketIndex(p, x, keyThresholds(key).map((v) => BigInt(v)), widthOf(meta));
    g = add(g, mulPublic(idx, BigInt(stride)));
    stride *= keySize(key);
  }
  // Rows outside the table (join misses, filtered rows) may hold any value: put them in cell 0
  // (their weights are masked by valid), so that every cell number is in range for the sort.
  return t.allValid ? g : (await mulMany(p, [[g, t.valid]]))[0]!;
}

/** Largest cells·rows·weights handled by indicators (count.ts) instead of sorting. */
const INDICATOR_LANES = 1 << 25;
/**
 * Most cells × 0/1 weights counted by the boolean adder tree (count.ts countOnes) instead of summed
 * after a sort by cell (group.ts). Counting's work grows with planes × rows, the sort's with the rows
 * only. Measured on this 2-core machine (2026-12-06, bench/RESULTS.md): at 100 k rows, counting
 * ≈ 0.5 ms per plane and the sort-based sums 0.83–0.89 s (910 and 3 276 cells, two weights);
 * at 1 M rows, a Kaplan–Meier table of 480 planes in 4.6–4.8 s counted against 10.6–11.0 s sorted.
 * The two cost the same at ≈ 1 500 planes (100 k rows) to ≈ 1 000 (1 M rows). The same numbers come
 * out either way; only the cost differs.
 */
export const COUNT_PLANES = 1024;
/** Planes × rows (bits) per chunk of the adder tree (memory: 2^27 bits = 16 MiB per share half). */
export const CHUNK_BITS = 1 << 27;

/**
 * Σ weight over the rows of every cell g ∈ [0, G) (G-lane share per weight). Reveals n and G only.
 * `binary`: every weight is 0 or 1 (counts, events), so the sums are counts of ones: one-hot cell
 * planes ANDed with the weights' bits (free from 0/1 shares: convert.lowBit), counted by count.ts's
 * carry-save tree, in row chunks (`chunkRows`: tests). Otherwise indicators with countAndSum (few
 * cells), or a sort. Cells of keys of the analysis table: cell-counts.ts cellCounts.
 */
export async function cellSums(p: Party, cell: AShare, G: number, weights: AShare[], binary = false, chunkRows?: number): Promise<AShare[]> {
  const n = cell.length;
  if (n === 0) return weights.map(() => new AShare(new BigUint64Array(G), new BigUint64Array(G)));
  const V = weights.length;
  if (binary && G * V <= COUNT_PLANES) {
    const chunk = chunkRows ?? Math.max(32, Math.floor(CHUNK_BITS / (G * (V + 1)) / 32) * 32);
    let acc = new AShare(new BigUint64Array(G * V), new BigUint64Array(G * V));
    for (let lo = 0; lo < n; lo += chunk) {
      const hi = Math.min(n, lo + chunk);
      const onehot = await cellPlanes(p, cell.slice(lo, hi), G);
      const w = weights.map((x) => lowBit(x.slice(lo, hi)));
      // Plane (v, g) = [cell = g] ∧ w_v: one AND round for all.
      const planes = await and(p, stackPlanes(w.map((b) => stackPlanes(Array.from({ length: G }, () => b)))), stackPlanes(w.map(() => onehot)));
      acc = add(acc, await countOnes(p, planes));
    }
    return weights.map((_, v) => acc.slice(v * G, (v + 1) * G));
  }
  if (G * n * (1 + V) <= INDICATOR_LANES && G <= 256) {
    const r = await countAndSum(p, await cellPlanes(p, cell, G), weights);
    return weights.map((_, w) => {
      const a = new BigUint64Array(G), b = new BigUint64Array(G);
      for (let j = 0; j < G; j++) {
        a[j] = r.a[j * (1 + V) + 1 + w]!;
        b[j] = r.b[j * (1 + V) + 1 + w]!;
      }
      return new AShare(a, b);
    });
  }
  return groupSums(p, cell, G, weights);
}

/** One-hot planes [cell = g], g ∈ [0, G), from the thermometer [cell ≥ g] (bucket.ts). */
async function cellPlanes(p: Party, cell: AShare, G: number): Promise<BShare> {
  const th: bigint[] = [];
  for (let v = 1; v < G; v++) th.push(BigInt(v));
  const bits = Math.ceil(Math.log2(G + 1)) + 2;
  return oneHot(p, th.length ? await geThresholds(p, cell, th, bits) : [], cell.length);
}

/** Products valid·w for the weights of cell sums (one round). */
export async function masked(p: Party, t: AnalysisTable, refs: ColRef[]): Promise<AShare[]> {
  const got = await resolveRefs(p, t, refs);
  const cols = refs.map((r) => got.get(refKey(r))!);
  return t.allValid ? cols : mulMany(p, cols.map((c) => [t.valid, c] as [AShare, AShare]));
}

/**
 * Discrete Laplace noise added to every lane (scales per lane group, in the lanes' ring units),
 * drawn jointly in one sampler call (src/mpc/geometric-noise.ts). Reveals nothing.
 */
export async function addLaplace(p: Party, x: AShare, groups: { table: GeometricTable; n: number }[]): Promise<AShare> {
  const total = groups.reduce((s, g) => s + g.n, 0);
  if (total !== x.length) throw new RangeError(`addLaplace: ${total} noise values for ${x.length} lanes`);
  if (total === 0) return x;
  const z = await sampleDiscreteLaplace(p, groups);
  return add(x, z);
}

/** A public constant column (helper). */
export const constantShare = (p: Party, n: number, c: bigint): AShare => fromPublic(p, R.constant(n, BigInt.asUintN(64, c)));
