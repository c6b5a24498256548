// Masked sums of products Σ_i valid_i·Π_{r ∈ m} r_i, party-local (SPMD): the sufficient statistics
// of t.test, cor and lm (for lm the cross-product matrix X'X, X'y, y'y). Araki et al. CCS 2016 §2.2
// (products; inner products re-shared as one element each), ABY3 §5.4.1 (bit injection). Reveals
// nothing (the caller decides what to open, and to whom).
//   affine refs   a shifted column x − c, and [x = v] of a column with at most two values (x − lo,
//                 hi − x, 0 or 1), are affine in x: the sums are taken over the bare columns and
//                 combined with public coefficients afterwards (exact mod 2^64), no column is shifted
//   indicators    of a column with more levels: one bucketing (src/mpc/bucket.ts), the planes ANDed
//                 with valid's bit (one bit per row) before one injection, so valid·[x = v] needs no
//                 product; [x = a]·[x = b] = 0 for a ≠ b and [x = a]² = [x = a] need no work at all
//   the rest      valid·x once per column and b·c for three-factor monomials (one mulMany), then
//                 one dotManyAndSums for every sum (the Gram matrix kernel, ring64.rssDotMany;
//                 the plain sums are taken in the same pass over the columns)
import { AShare, dotManyAndSums, mulMany, sum } from '../mpc/arith.js';
import { and, stackPlanes, type BShare } from '../mpc/boolean.js';
import { geThresholds, oneHot } from '../mpc/bucket.js';
import { bitInject, lowBit } from '../mpc/convert.js';
import type { Party } from '../mpc/party.js';
import type { AnalysisTable } from '../query/rows.js';
import type { ColRef } from './cells.js';
import { widthOf } from './secure.js';

/** A factor of a base monomial: a bare column, or the indicator [column = level] of a column with more than two values. */
type Base = { key: string; column: string; level?: number };
/** A ColRef as coef·base + add (base null: the constant add). */
type Affine = { base: Base | null; coef: bigint; add: bigint };

const M64 = (1n << 64n) - 1n;

function affineOf(t: AnalysisTable, r: ColRef): Affine {
  if (r.level === undefined) return { base: { key: r.column, column: r.column }, coef: 1n, add: -BigInt(r.shift ?? 0) };
  const meta = t.meta.find((c) => c.name === r.column)!;
  const lo = meta.min, hi = meta.max, v = r.level;
  const col: Base = { key: r.column, column: r.column };
  if (v < lo || v > hi) return { base: null, coef: 0n, add: 0n };
  if (lo === hi) return { base: null, coef: 0n, add: 1n };
  if (hi === lo + 1) return v === hi ? { base: col, coef: 1n, add: -BigInt(lo) } : { base: col, coef: -1n, add: BigInt(hi) };
  return { base: { key: `${r.column}=${v}`, column: r.column, level: v }, coef: 1n, add: 0n };
}

/**
 * m as Σ coef·Π base over base monomials (indicator rules applied: a product of two levels of one
 * column vanishes, a repeated level counts once).
 */
function expand(t: AnalysisTable, m: ColRef[]): { coef: bigint; bases: Base[] }[] {
  let terms: { coef: bigint; bases: Base[] }[] = [{ coef: 1n, bases: [] }];
  for (const r of m) {
    const f = affineOf(t, r);
    const next: typeof terms = [];
    for (const tm of terms) {
      if (f.add !== 0n) next.push({ coef: tm.coef * f.add, bases: tm.bases });
      if (f.base && f.coef !== 0n) next.push({ coef: tm.coef * f.coef, bases: [...tm.bases, f.base] });
    }
    terms = next;
  }
  const out: typeof terms = [];
  for (const tm of terms) {
    const bases: Base[] = [];
    let zero = false;
    for (const b of tm.bases) {
      if (b.level === undefined) bases.push(b);
      else {
        const same = bases.find((c) => c.level !== undefined && c.column === b.column);
        if (!same) bases.push(b);
        else if (same.level !== b.level) zero = true;
      }
    }
    if (!zero) out.push({ coef: tm.coef, bases: bases.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) });
  }
  return out;
}

/** Σ_i valid_i·Π_{r ∈ m} r_i for every monomial m (≤ 3 factors), one lane each. Reveals nothing. */
export async function maskedSums(p: Party, t: AnalysisTable, monomials: ColRef[][]): Promise<AShare> {
  for (const m of monomials) if (m.length > 3) throw new RangeError('maskedSums: at most three factors per monomial');
  const expanded = monomials.map((m) => expand(t, m));
  // The distinct base monomials, each with the factor that carries valid (an indicator if any).
  const base = new Map<string, { masked: Base | null; rest: Base[] }>();
  for (const terms of expanded) {
    for (const { bases } of terms) {
      const key = bases.map((b) => b.key).join('*');
      if (base.has(key)) continue;
      const k = Math.max(0, bases.findIndex((b) => b.level !== undefined));
      base.set(key, { masked: bases[k] ?? null, rest: bases.filter((_, i) => i !== k) });
    }
  }
  // What each base column is needed as: valid·x (masked) and/or x itself (plain).
  const maskedNeed = new Map<string, Base>(), plainNeed = new Map<string, Base>();
  for (const { masked, rest } of base.values()) {
    if (masked && (rest.length > 0 || masked.level !== undefined)) maskedNeed.set(masked.key, masked);
    if (masked && rest.length === 0 && masked.level === undefined) plainNeed.set(masked.key, masked); // Σ x or valid·x
    for (const b of rest) plainNeed.set(b.key, b);
  }
  const masked = new Map<string, AShare>(), plain = new Map<string, AShare>();
  // Indicator planes (one bucketing per column), valid ANDed in, then one injection for all.
  await indicators(p, t, [...maskedNeed.values()].filter((b) => b.level !== undefined), [...plainNeed.values()].filter((b) => b.level !== undefined), masked, plain);
  for (const b of [...maskedNeed.values(), ...plainNeed.values()]) if (b.level === undefined) plain.set(b.key, t.columns.get(b.column)!);
  // One round of products: valid·x for bare columns, b·c for the second and third factors.
  const prodKeys: string[] = [];
  const prodPairs: [AShare, AShare][] = [];
  for (const b of maskedNeed.values()) {
    if (b.level !== undefined) continue;
    if (t.allValid) masked.set(b.key, plain.get(b.key)!);
    else (prodKeys.push(`v*${b.key}`), prodPairs.push([t.valid, plain.get(b.key)!]));
  }
  for (const { rest } of base.values()) {
    if (rest.length !== 2) continue;
    const k = `${rest[0]!.key}*${rest[1]!.key}`;
    if (!prodKeys.includes(k)) (prodKeys.push(k), prodPairs.push([plain.get(rest[0]!.key)!, plain.get(rest[1]!.key)!]));
  }
  const prods = prodPairs.length ? await mulMany(p, prodPairs) : [];
  prodKeys.forEach((k, i) => (k.startsWith('v*') ? masked.set(k.slice(2), prods[i]!) : null));
  const prod = new Map(prodKeys.map((k, i) => [k, prods[i]!]));
  // Every base sum: local where one column carries valid already, else one inner product.
  const sums = new Map<string, AShare>();
  const pairs: [AShare, AShare][] = [];
  const pairKeys: string[] = [];
  const summed: AShare[] = [];
  const summedKeys: string[] = [];
  for (const [key, { masked: mb, rest }] of base) {
    if (!mb) (summed.push(t.valid), summedKeys.push(key));
    else if (rest.length === 0 && (masked.has(mb.key) || t.allValid)) (summed.push(masked.get(mb.key) ?? plain.get(mb.key)!), summedKeys.push(key));
    else {
      const other = rest.length === 0 ? plain.get(mb.key)! : rest.length === 1 ? plain.get(rest[0]!.key)! : prod.get(`${rest[0]!.key}*${rest[1]!.key}`)!;
      pairs.push([rest.length === 0 ? t.valid : masked.get(mb.key)!, other]);
      pairKeys.push(key);
    }
  }
  if (pairs.length) {
    // The plain sums come from the same pass over the columns as the inner products.
    const { dots: d, sums: s } = await dotManyAndSums(p, pairs, summed);
    pairKeys.forEach((k, i) => sums.set(k, d.slice(i, i + 1)));
    summedKeys.forEach((k, i) => sums.set(k, s[i]!));
  } else summedKeys.forEach((k, i) => sums.set(k, sum(summed[i]!)));
  // The monomials: public combinations of the base sums (mod 2^64).
  const a = new BigUint64Array(monomials.length), b = new BigUint64Array(monomials.length);
  expanded.forEach((terms, i) => {
    let sa = 0n, sb = 0n;
    for (const { coef, bases } of terms) {
      const s = sums.get(bases.map((x) => x.key).join('*'))!;
      sa += coef * s.a[0]!;
      sb += coef * s.b[0]!;
    }
    a[i] = sa & M64;
    b[i] = sb & M64;
  });
  return new AShare(a, b);
}

/**
 * [x = v] for the indicator bases, as shares: `maskedNeed` ANDed with valid's bit first (valid is
 * 0/1, so its low bit is a free boolean sharing of it), `plainNeed` as they are; one bucketing per
 * column (its one-hot planes: bucket.ts oneHot) and one injection.
 */
async function indicators(p: Party, t: AnalysisTable, maskedNeed: Base[], plainNeed: Base[], masked: Map<string, AShare>, plain: Map<string, AShare>): Promise<void> {
  if (!maskedNeed.length && !plainNeed.length) return;
  const n = t.n;
  // Every row valid (public): the masked planes are the planes.
  if (t.allValid) {
    plainNeed = [...new Map([...maskedNeed, ...plainNeed].map((b) => [b.key, b])).values()];
    maskedNeed = [];
  }
  const planeOf = new Map<string, BShare>();
  for (const column of new Set([...maskedNeed, ...plainNeed].map((b) => b.column))) {
    const meta = t.meta.find((c) => c.name === column)!;
    const lo = meta.min, hi = meta.max;
    const th: bigint[] = [];
    for (let v = lo + 1; v <= hi; v++) th.push(BigInt(v));
    const oh = oneHot(p, await geThresholds(p, t.columns.get(column)!, th, widthOf(meta)), n);
    for (const b of [...maskedNeed, ...plainNeed]) if (b.column === column && !planeOf.has(b.key)) planeOf.set(b.key, oh.planes(b.level! - lo));
  }
  let mPlanes = maskedNeed.map((b) => planeOf.get(b.key)!);
  if (mPlanes.length && !t.allValid) {
    const v = lowBit(t.valid);
    mPlanes = [await and(p, stackPlanes(mPlanes), stackPlanes(mPlanes.map(() => v)))];
  }
  const planes = [...mPlanes, ...plainNeed.map((b) => planeOf.get(b.key)!)];
  const inj = await bitInject(p, stackPlanes(planes));
  [...maskedNeed, ...plainNeed].forEach((b, i) => (i < maskedNeed.length ? masked : plain).set(b.key, inj.slice(i * n, (i + 1) * n)));
  if (t.allValid) for (const b of plainNeed) masked.set(b.key, plain.get(b.key)!);
}
