// placeholder, replaced below
import type { Party } from '../mpc/party.js';
import type { AShare } from '../mpc/share.js';
import type { AnalysisTable } from '../query/rows.js';
import type { FinishOptions, StatNoise, StatPlan, StatResult } from './functions.js';
export type ModelJob = { kind: 'glm' | 'cox' };
export function modelJob(_plan: StatPlan): ModelJob { throw new Error('not yet'); }
export function modelNoise(_plan: StatPlan, _e: number): StatNoise { throw new Error('not yet'); }
export async function fitModel(_p: Party, _plan: StatPlan, _t: AnalysisTable, _n: StatNoise | null): Promise<AShare> { throw new Error('not yet'); }
export function finishModel(_plan: StatPlan, _v: bigint[], _o: FinishOptions, _n: StatNoise | null): StatResult { throw new Error('not yet'); }
