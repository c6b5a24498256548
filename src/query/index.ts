// The query path for one register: SQL subset (parse.ts) → checked logical plan (plan.ts) →
// party-local MPC execution with disclosure control (execute.ts).
export { parseQuery, QueryError, show, type Expr, type ParsedQuery } from './parse.js';
export { explainPlan, planQuery, planSql, type QueryPlan, type GroupKey, type AggSpec, type Display } from './plan.js';
export { runQuery, type QueryResult, type RunOptions } from './execute.js';
