// The error the output protection adds to each released estimate, for the requester: the noise of
// every released lane is public in its distribution (discrete Laplace of a known scale), so the
// standard deviation of each final value follows by the delta method, with the partial
// derivatives of the function that turns released lanes into estimates taken numerically at the
// released (noisy) values. Bound used by the tests and shown to users: 95 % half-width 1.96·sd
// (normal approximation), and 10·sd as the "stated error" a protected value stays within (for a
// linear function of one Laplace lane P(|error| > 10·sd) = e^{−10√2} ≈ 7·10⁻⁷). Plaintext; reveals
// nothing.
import { finishStat, laneVariances, type FinishOptions, type StatNoise, type StatPlan } from './functions.js';

export function errorsOf(plan: StatPlan, values: number[], noise: StatNoise, o: FinishOptions): Record<string, { sd: number; half95: number }> {
  const vars = laneVariances(noise);
  const base = finishStat(plan, values, o).values;
  const acc: Record<string, number> = {};
  // A value not reported (NaN: withheld) has no error to state.
  for (const k of Object.keys(base)) if (!Number.isNaN(base[k])) acc[k] = 0;
  values.forEach((v, l) => {
    const sd = Math.sqrt(vars[l]!);
    const h = Math.max(1e-6, sd * 1e-3);
    let up: Record<string, number>, dn: Record<string, number>;
    try {
      up = finishStat(plan, values.map((x, i) => (i === l ? v + h : x)), o).values;
      dn = finishStat(plan, values.map((x, i) => (i === l ? v - h : x)), o).values;
    } catch {
      return;
    }
    for (const k of Object.keys(acc)) {
      const d = (up[k]! - dn[k]!) / (2 * h);
      if (Number.isFinite(d)) acc[k]! += d * d * vars[l]!;
    }
  });
  const out: Record<string, { sd: number; half95: number }> = {};
  for (const [k, v] of Object.entries(acc)) out[k] = { sd: Math.sqrt(v), half95: 1.96 * Math.sqrt(v) };
  return out;
}
