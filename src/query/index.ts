// The query path for one register (and for several joined on the person id: join-plan.ts, join-execute.ts): SQL subset (parse.ts) → checked logical plan (plan.ts) →
// party-local MPC execution with disclosure control (execute.ts).
export { parseQuery, QueryError, show, type Expr, type ParsedQuery } from './parse.js';
export { emptyByFilter, explainPlan, planQuery, planSql, type QueryPlan, type GroupKey, type AggSpec, type Display } from './plan.js';
export { runQuery, type QueryResult, type RunOptions } from './execute.js';
export { needsJoinPlan, planAnyQuery, planJoinQuery, planJoinSql, tablesOf, type JoinPlan, type JoinPlanOptions, type JoinTablePlan } from './join-plan.js';
export { runJoinQuery, type JoinRunOptions, type RowRestriction } from './join-execute.js';
export { noiseForPlan, protectionErrors, protectionText, type DpRequest, type NoisySum, type PlanNoise, type ProtectionError } from './dp.js';
export { contributionBound } from './contribution.js';
