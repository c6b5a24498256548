// Values computed per row inside MPC (plan.ts Computed): arithmetic between columns and numbers in
// comparisons and aggregates, evaluated at the start of a run as extra columns. Sums, differences
// and products with public whole numbers are local; all products of two shared values at one depth
// of the expressions go in one multiplication round, then all truncations of fixed-point products
// (fixed.ts truncRound, Mohassel–Zhang S&P 2017 §4.1 as fixed.ts implements it) in one more.
// Reveals nothing.
import * as R from '../ring/ring64.js';
import { add, fromPublic, mulMany, mulPublic, sub } from '../mpc/arith.js';
import { truncRound } from '../mpc/fixed.js';
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import type { Arith, Computed } from './plan.js';

/** The plan's computed values as columns (name → share), from the columns they read. */
export async function computeColumns(p: Party, computed: readonly Computed[], col: (name: string) => AShare, n: number): Promise<Map<string, AShare>> {
  // Depth of a node: how many multiplication steps lie below it (products of two shared values,
  // or with truncation).
  const depth = new Map<Arith, number>();
  const secret = (e: Arith): boolean => e.op !== 'const';
  const needsMpc = (e: Arith): boolean => e.op === 'mul' && ((secret(e.a) && secret(e.b)) || e.shift > 0);
  const walk = (e: Arith): number => {
    let d = depth.get(e);
    if (d !== undefined) return d;
    d = e.op === 'add' || e.op === 'sub' || e.op === 'mul' ? Math.max(walk(e.a), walk(e.b)) + (needsMpc(e) ? 1 : 0) : 0;
    depth.set(e, d);
    return d;
  };
  computed.forEach((c) => walk(c.expr));
  const done = new Map<Arith, AShare>();
  // Local evaluation; products that need MPC are read from `done`.
  const local = (e: Arith): AShare => {
    const had = done.get(e);
    if (had) return had;
    switch (e.op) {
      case 'col':
        return col(e.column);
      case 'const':
        return fromPublic(p, R.constant(n, BigInt.asUintN(64, e.value)));
      case 'add':
        return add(local(e.a), local(e.b));
      case 'sub':
        return sub(local(e.a), local(e.b));
      case 'mul':
        if (needsMpc(e)) throw new Error('internal: a product evaluated before its round');
        return publicProduct(e);
    }
  };
  // x·c for a public constant c on one side: local.
  const publicProduct = (e: Extract<Arith, { op: 'mul' }>): AShare =>
    e.a.op === 'const' ? mulPublic(local(e.b), BigInt.asUintN(64, e.a.value)) : mulPublic(local(e.a), BigInt.asUintN(64, (e.b as { value: bigint }).value));
  const max = Math.max(0, ...depth.values());
  for (let d = 1; d <= max; d++) {
    const level = [...depth].filter(([e, k]) => k === d && needsMpc(e)).map(([e]) => e as Extract<Arith, { op: 'mul' }>);
    const both = level.filter((e) => secret(e.a) && secret(e.b));
    const prods = await mulMany(p, both.map((e) => [local(e.a), local(e.b)] as [AShare, AShare]));
    const product = (e: Extract<Arith, { op: 'mul' }>) => (both.includes(e) ? prods[both.indexOf(e)]! : publicProduct(e));
    const shifted = level.filter((e) => e.shift > 0);
    const t = shifted.length ? await truncRound(p, shifted.map((e) => [product(e), e.shift] as [AShare, number])) : [];
    level.forEach((e) => done.set(e, e.shift > 0 ? t[shifted.indexOf(e)]! : product(e)));
  }
  return new Map(computed.map((c) => [c.name, local(c.expr)]));
}
