// Statistics for the node daemons and the CLI: the statistics call's public side (./statistic.ts:
// its text, plan, noise and the requester's finishing, browser-safe) and the party-local run. The
// one seam src/node uses. Reveals nothing itself: what each function releases is in functions.ts
// and glm.ts.
import type { AShare } from '../mpc/share.js';
import type { Party } from '../mpc/party.js';
import type { RowRestriction } from '../query/join-execute.js';
import type { StatNoise, StatPlan } from './functions.js';
import { runStat } from './run.js';

export { finishStatistic, parseStatistic, planStatistic, statisticNoise, statisticText } from './statistic.js';

/** This party's share of the released lanes. */
export function runStatistic(p: Party, plan: StatPlan, tables: Map<string, Map<string, AShare>>, noise: StatNoise | null, restrict?: RowRestriction): Promise<AShare> {
  return runStat(p, plan, tables, { statNoise: noise, ...(restrict ? { restrict } : {}) });
}
