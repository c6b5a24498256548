// Counts per cell of a table of discrete keys, for 0/1 weights (life tables of survfit/survdiff,
// contingency tables), straight from the keys' bits: no arithmetic cell number (cellIndex) that
// is then decomposed again into bits for its one-hot planes (secure.ts cellSums).
//   keys     each key's one-hot planes [key = level] from the thermometer of its thresholds
//            (bucket.ts geThresholds: o_0 = ¬c_1, o_k = c_k ⊕ c_{k+1}, o_K = c_K, free XORs); a
//            two-level factor from its low bit (convert.lowBit, free)
//   cells    [cell = g] ∧ w as the ANDs of the keys' planes and the weights' bits, one AND round
//            per key, smallest key first; a weight known to be 1 on every row needs no AND of its own
//   counts   the ones of every plane by count.ts's carry-save tree (countOnes), in row chunks
// Reveals nothing (n and G are public); the caller decides what to open, and to whom.
import { AShare, add } from '../mpc/arith.js';
import { andOuter, BShare, not, stackPlanes } from '../mpc/boolean.js';
import { geThresholds, oneHot } from '../mpc/bucket.js';
import { lowBit } from '../mpc/convert.js';
import { countOnes } from '../mpc/count.js';
import type { Party } from '../mpc/party.js';
import type { AnalysisTable } from '../query/rows.js';
import { keySize, keyThresholds, type CellKey } from './cells.js';
import { CHUNK_BITS, COUNT_PLANES, cellIndex, cellSums, widthOf } from './secure.js';

export interface CellCountOptions {
  /** ones[v]: weight v is the public constant 1 (every row valid), so it needs no AND. */
  ones?: boolean[];
  /** Rows per chunk (default: CHUNK_BITS over the planes; tests use small ones). */
  chunkRows?: number;
}

/**
 * Σ w_v over the rows of every cell g ∈ [0, G) of `keys` (last key fastest, as cellIndex), for
 * 0/1 weights w_v (zero on rows outside the table: their keys may hold anything). G-lane share
 * per weight. No keys, or more than COUNT_PLANES cells × weights: cellIndex and cellSums. Reveals nothing.
 */
export async function cellCounts(p: Party, t: AnalysisTable, keys: CellKey[], weights: AShare[], o: CellCountOptions = {}): Promise<AShare[]> {
  const G = keys.reduce((m, k) => m * keySize(k), 1), V = weights.length, n = t.n;
  if (G * V > COUNT_PLANES || keys.length === 0) return cellSums(p, await cellIndex(p, t, keys), G, weights, true);
  if (n === 0) return weights.map(() => new AShare(new BigUint64Array(G), new BigUint64Array(G)));
  const chunk = o.chunkRows ?? Math.max(32, Math.floor(CHUNK_BITS / (G * (V + 1)) / 32) * 32);
  // Keys smallest first (fewest planes ANDed with the weights); plane q of a product is the cell
  // numbered in that order, and `cellOf[q]` its number in the keys' order.
  const order = keys.map((_, i) => i).sort((a, b) => keySize(keys[a]!) - keySize(keys[b]!) || a - b);
  const cellOf = new Int32Array(G);
  {
    const stride = new Array<number>(keys.length);
    for (let i = keys.length - 1, s = 1; i >= 0; i--) ((stride[i] = s), (s *= keySize(keys[i]!)));
    for (let q = 0; q < G; q++) {
      let rest = q, g = 0;
      for (let j = order.length - 1; j >= 0; j--) {
        const size = keySize(keys[order[j]!]!);
        g += (rest % size) * stride[order[j]!]!;
        rest = Math.floor(rest / size);
      }
      cellOf[q] = g;
    }
  }
  let acc = new AShare(new BigUint64Array(G * V), new BigUint64Array(G * V));
  for (let lo = 0; lo < n; lo += chunk) {
    const hi = Math.min(n, lo + chunk);
    // cur[v]: the planes of weight v so far (null: the constant 1); `all`: every cur[v] in order,
    // when one AND produced them all.
    let cur: (BShare | null)[] = weights.map((w, v) => (o.ones?.[v] ? null : lowBit(w.slice(lo, hi))));
    let all: BShare | null = null;
    for (const i of order) {
      const key = keys[i]!;
      const meta = t.meta.find((c) => c.name === key.column)!;
      const oh = await keyPlanes(p, t.columns.get(key.column)!.slice(lo, hi), key, widthOf(meta));
      const known = cur.filter((c): c is BShare => c !== null);
      const z = known.length ? await andOuter(p, known.length === 1 ? known[0]! : stackPlanes(known), oh) : null;
      all = known.length === V ? z : null;
      let off = 0;
      cur = cur.map((c) => (c ? z!.planes(off, (off += c.bits * oh.bits)) : oh));
    }
    const planes = all ?? stackPlanes(cur.map((c) => c!));
    const got = await countOnes(p, planes);
    const a = new BigUint64Array(G * V), b = new BigUint64Array(G * V);
    for (let v = 0; v < V; v++) {
      for (let q = 0; q < G; q++) {
        a[v * G + cellOf[q]!] = got.a[v * G + q]!;
        b[v * G + cellOf[q]!] = got.b[v * G + q]!;
      }
    }
    acc = add(acc, new AShare(a, b));
  }
  return weights.map((_, v) => acc.slice(v * G, (v + 1) * G));
}

/** One-hot planes [key index = l], l ∈ [0, keySize): x holds signed `bits`-bit values. */
async function keyPlanes(p: Party, x: AShare, key: CellKey, bits: number): Promise<BShare> {
  const n = x.length, size = keySize(key);
  if (key.kind === 'factor' && size === 2 && (key.step ?? 1) % 2 === 1) {
    // x ∈ {min, min + step}, step odd: [x = min + step] is bit 0 of x, or its negation.
    const b = lowBit(x);
    const top = (key.min + (key.step ?? 1)) & 1 ? b : not(p, b);
    return stackPlanes([not(p, top), top]);
  }
  const th = keyThresholds(key).map((v) => BigInt(v));
  return oneHot(p, th.length ? await geThresholds(p, x, th, bits) : [], n);
}
