// A node's output-protection settings and what they decide for one job (issue 11).
//
// By default every released aggregate carries differential-privacy noise drawn jointly inside MPC
// (src/query/dp.ts, src/mpc/noise.ts): ad-hoc and governed queries alike, un-governed clusters
// included. Each run costs its epsilon; each node keeps a budget per researcher (all of one
// identity's runs, over every study and ad-hoc query) and per study (when the study declares one)
// and refuses a run that does not fit (src/governance/budget.ts). With the defaults below a
// researcher spends at most epsilon 1 in all, so no sequence of that researcher's queries shifts
// the odds of any statement about one person by more than a factor e (≈ 2.72), and the best
// differencing attack on one person's membership succeeds about 56 % of the time against a prior of
// 50 % (README "Security model"; test/attacks.test.ts mounts it).
//
// `exact` turns protection off at this node: exact aggregates, MIN and MAX allowed, no budget.
// For synthetic data and the engine's own tests only; the node says so at start, in /v1/privacy
// and in every job's transparency-log entry (protection "none"), and `mosaik audit verify` flags
// such jobs. A job runs only if all three nodes decide the same protection (each decides for
// itself and compares with node 0's decision), so one node's setting cannot weaken the others'.
import { researcherAccount, type BudgetAccount } from '../governance/budget.js';
import { PrivacyRefusal } from './errors.js';

export interface PrivacySettings {
  /** No protection (exact results): tests and synthetic data only. */
  exact: boolean;
  /** Epsilon of a run that names none (an ad-hoc request without epsilon, a study query without one). */
  defaultEpsilon: number;
  /** Largest epsilon one ad-hoc run may ask for. */
  maxEpsilon: number;
  /** What one researcher may spend in all (every study and ad-hoc query together), at this node. */
  researcherEpsilon: number;
  researcherDelta: number;
}

export const DEFAULT_PRIVACY: Readonly<PrivacySettings> = {
  exact: false,
  defaultEpsilon: 0.1,
  maxEpsilon: 1,
  researcherEpsilon: 1,
  researcherDelta: 1e-6,
};

/** What protects one job's output: node 0 decides, every node decides again and compares. */
export type Protection = { kind: 'none' } | { kind: 'dp'; mechanism: 'laplace' | 'gaussian'; epsilon: number; delta?: number };

/** Checks settings given on the command line or in tests. */
export function checkPrivacySettings(p: PrivacySettings): PrivacySettings {
  const pos = (x: number, what: string) => {
    if (!(typeof x === 'number' && x > 0 && Number.isFinite(x))) throw new Error(`privacy settings: ${what} must be a positive number, got ${x}`);
  };
  pos(p.defaultEpsilon, 'defaultEpsilon');
  pos(p.maxEpsilon, 'maxEpsilon');
  pos(p.researcherEpsilon, 'researcherEpsilon');
  if (!(p.researcherDelta >= 0 && p.researcherDelta < 1)) throw new Error(`privacy settings: researcherDelta must be in [0, 1), got ${p.researcherDelta}`);
  if (p.defaultEpsilon > p.maxEpsilon) throw new Error(`privacy settings: defaultEpsilon ${p.defaultEpsilon} is above maxEpsilon ${p.maxEpsilon}`);
  return p;
}

/**
 * The protection of a run: none at an exact node; else differential privacy with the epsilon the
 * request or the study names (at most maxEpsilon for ad-hoc requests), or the node's default.
 */
export function decideProtection(p: PrivacySettings, asked: { epsilon?: number; mechanism?: 'laplace' | 'gaussian'; delta?: number; adhoc: boolean }): Protection {
  if (p.exact) return { kind: 'none' };
  const epsilon = asked.epsilon ?? p.defaultEpsilon;
  if (asked.adhoc && epsilon > p.maxEpsilon) throw new PrivacyRefusal(`this run asks for epsilon ${epsilon}, above the ${p.maxEpsilon} one ad-hoc run may spend at this node; ask for less (mosaik query --epsilon)`);
  return { kind: 'dp', mechanism: asked.mechanism ?? 'laplace', epsilon, ...(asked.delta !== undefined ? { delta: asked.delta } : {}) };
}

/** The researcher's budget account at this node. */
export function researcherBudget(p: PrivacySettings, name: string): BudgetAccount {
  return researcherAccount(name, { epsilon: p.researcherEpsilon, delta: p.researcherDelta });
}

export { PrivacyRefusal };

/** The public part of the settings (GET /v1/privacy). */
export function publicSettings(p: PrivacySettings) {
  return p.exact
    ? { protection: 'none', warning: 'this node releases exact aggregates (no output protection): for synthetic data and tests only' }
    : { protection: 'differential-privacy', mechanism: 'laplace', defaultEpsilon: p.defaultEpsilon, maxEpsilon: p.maxEpsilon, researcherEpsilon: p.researcherEpsilon, researcherDelta: p.researcherDelta };
}
