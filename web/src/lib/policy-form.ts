// The policy editor's model: a custodian's policy document (src/governance/policy-shape.ts) as form
// fields and back. The document built from the form is checked with the nodes' own shape check
// (checkPolicyShape) before it is signed here with the custodian's key and submitted to node 0,
// which has every node verify and store it and logs it ('policy-published'), as `mosaik policy
// submit` does. Nothing secret: policies are public to every identity of the cluster.
import { AGGREGATE_FNS, checkPolicyShape, COLUMN_ROLES, POLICY_FORMAT, type AggregateFn, type ColumnRole, type CustodianPolicy, type DatasetPolicy, type SignedPolicy } from '../../../src/governance/policy-shape.js';
import type { DatasetSchema } from '../../../src/ingest/schema.js';
import { call } from './api.js';
import type { BrowserIdentity } from './keys.js';
import { signDocument } from './sign.js';

export { AGGREGATE_FNS, COLUMN_ROLES, type AggregateFn, type ColumnRole };

/** What each role lets a query do, in words. */
export const ROLE_TEXT: Record<ColumnRole, string> = {
  'join-key': 'link rows with other registers (on the person id, inside MPC)',
  filter: 'compare in WHERE',
  group: 'group results by it',
  aggregate: 'count, sum or average it',
  model: 'use it as a variable of a statistic (regression, survival; only estimates released)',
};

export const AGGREGATE_TEXT: Record<AggregateFn, string> = { count: 'COUNT', sum: 'SUM', avg: 'AVG', min: 'MIN', max: 'MAX', variance: 'VARIANCE', stddev: 'STDDEV' };

export interface ColumnForm {
  name: string;
  type: string;
  /** Allowed roles; none: the column cannot be used at all. */
  roles: ColumnRole[];
  /** With 'aggregate': every function, or only the ticked ones. */
  allAggregates: boolean;
  aggregates: AggregateFn[];
  note: string;
}

export interface DatasetForm {
  dataset: string;
  purposes: string[];
  minCellSize: string;
  dpRequired: boolean;
  maxEpsilon: string;
  maxDelta: string;
  columns: ColumnForm[];
}

export interface PolicyForm {
  datasets: DatasetForm[];
}

/** The newest policy of `custodian` in effect now (GET /v1/policies lists every version). */
export function currentPolicy(all: SignedPolicy[], custodian: string, now = Date.now()): SignedPolicy | null {
  const mine = all.filter((p) => p.policy.custodian === custodian && Date.parse(p.policy.issuedAt) <= now);
  mine.sort((a, b) => Date.parse(a.policy.issuedAt) - Date.parse(b.policy.issuedAt));
  return mine[mine.length - 1] ?? null;
}

/** The form for the custodian's datasets, filled from its current policy (new datasets: nothing allowed yet, smallest cell 5). */
export function formOf(policy: CustodianPolicy | null, schemas: DatasetSchema[]): PolicyForm {
  return {
    datasets: schemas.map((s): DatasetForm => {
      const d = policy?.datasets.find((x) => x.dataset === s.name);
      return {
        dataset: s.name,
        purposes: [...(d?.purposes ?? [])],
        minCellSize: String(d?.minCellSize ?? 5),
        dpRequired: !!d?.dp?.required,
        maxEpsilon: d?.dp?.maxEpsilon !== undefined ? String(d.dp.maxEpsilon) : '',
        maxDelta: d?.dp?.maxDelta !== undefined ? String(d.dp.maxDelta) : '',
        columns: s.columns.map((c): ColumnForm => {
          const r = d?.columns[c.name];
          const rule = r === undefined || r === 'forbidden' ? null : r;
          return { name: c.name, type: c.type, roles: [...(rule?.roles ?? [])], allAggregates: rule?.aggregates === undefined, aggregates: [...(rule?.aggregates ?? [])], note: rule?.note ?? '' };
        }),
      };
    }),
  };
}

/** A number field, or a message that says what to type. */
function num(text: string, what: string, o: { integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean }): number {
  const t = text.trim().replace(',', '.');
  const v = Number(t);
  if (!t || !Number.isFinite(v)) throw new Error(`${what}: type a number.`);
  if (o.integer && !Number.isInteger(v)) throw new Error(`${what}: type a whole number.`);
  if (o.min !== undefined && (o.exclusiveMin ? v <= o.min : v < o.min)) throw new Error(`${what}: must be ${o.exclusiveMin ? 'more than' : 'at least'} ${o.min}.`);
  if (o.max !== undefined && v >= o.max) throw new Error(`${what}: must be less than ${o.max}.`);
  return v;
}

/** The policy document of a filled form, checked with the nodes' rules; throws a message saying what to fix. */
export function policyOf(form: PolicyForm, custodian: string, issuedAt = new Date().toISOString()): CustodianPolicy {
  const datasets = form.datasets.map((d): DatasetPolicy => {
    const at = `Dataset ${d.dataset}`;
    const columns: DatasetPolicy['columns'] = {};
    for (const c of d.columns) {
      if (c.roles.length === 0) {
        columns[c.name] = 'forbidden';
        continue;
      }
      if (c.roles.includes('aggregate') && !c.allAggregates && c.aggregates.length === 0) throw new Error(`${at}, column ${c.name}: tick the functions it may be aggregated with, or “all functions”.`);
      columns[c.name] = {
        roles: COLUMN_ROLES.filter((r) => c.roles.includes(r)),
        ...(c.roles.includes('aggregate') && !c.allAggregates ? { aggregates: AGGREGATE_FNS.filter((f) => c.aggregates.includes(f)) } : {}),
        ...(c.note.trim() ? { note: c.note.trim() } : {}),
      };
    }
    const dp: NonNullable<DatasetPolicy['dp']> = {
      ...(d.dpRequired ? { required: true } : {}),
      ...(d.maxEpsilon.trim() ? { maxEpsilon: num(d.maxEpsilon, `${at}, largest privacy budget (epsilon) of a study`, { min: 0, exclusiveMin: true }) } : {}),
      ...(d.maxDelta.trim() ? { maxDelta: num(d.maxDelta, `${at}, largest delta of a study`, { min: 0, max: 1 }) } : {}),
    };
    return {
      dataset: d.dataset,
      purposes: [...d.purposes],
      minCellSize: num(d.minCellSize, `${at}, smallest cell`, { integer: true, min: 1 }),
      columns,
      ...(Object.keys(dp).length ? { dp } : {}),
    };
  });
  const policy: CustodianPolicy = { format: POLICY_FORMAT, custodian, issuedAt, datasets };
  checkPolicyShape(policy);
  return policy;
}

/** Signs the policy in this browser and submits it to node 0 (registered at every node, logged). */
export async function signAndSubmitPolicy(policy: CustodianPolicy, id: BrowserIdentity): Promise<{ registered: string; ledgerSeq?: number }> {
  const signed: SignedPolicy = { policy, signature: await signDocument('policy', policy, id) };
  return call<{ registered: string; ledgerSeq?: number }>(0, '/v1/policies', { body: signed, as: id });
}
