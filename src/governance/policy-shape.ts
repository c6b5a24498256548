// A custodian's policy document (signed by ./policy.ts signPolicy, enforced by ./policy.ts
// authorize at every node): its types and its shape check, browser-safe so that the web app's
// policy editor checks what it is about to sign with exactly the nodes' rules. What each field
// means is in ./policy.ts's header (column roles after SCQL's column control lists).
import { refuse, type GovernanceCode } from './errors.js';
import type { Signature } from './signature.js';
import { parseTime } from './times.js';
import { AGGREGATE_FNS, COLUMN_ROLES, type AggregateFn, type ColumnRole, type ColumnUse } from './column-use.js';

export { AGGREGATE_FNS, COLUMN_ROLES, type AggregateFn, type ColumnRole, type ColumnUse } from './column-use.js';

export const POLICY_FORMAT = 'mosaik-policy/1';

export interface ColumnRule {
  /** Roles the column may play; an empty list forbids it. */
  roles: ColumnRole[];
  /** With role 'aggregate': the functions allowed (default: all). */
  aggregates?: AggregateFn[];
  note?: string;
}

export interface DatasetPolicy {
  dataset: string;
  /** Purpose codes the data may serve. */
  purposes: string[];
  /** Smallest cell (rows) that may be released; the node suppresses smaller ones inside MPC. */
  minCellSize: number;
  /** Per column: its rule, or 'forbidden'. Columns not listed are forbidden. */
  columns: Record<string, ColumnRule | 'forbidden'>;
  dp?: {
    /** Every query on this dataset must add differential-privacy noise. */
    required?: boolean;
    /** Largest total epsilon (and delta) a study reading this dataset may declare. */
    maxEpsilon?: number;
    maxDelta?: number;
  };
}

export interface CustodianPolicy {
  format: typeof POLICY_FORMAT;
  custodian: string;
  /** When the policy takes effect; the newest one in effect at the time of the check governs. */
  issuedAt: string;
  datasets: DatasetPolicy[];
}

export interface SignedPolicy {
  policy: CustodianPolicy;
  signature?: Signature;
}

/**
 * Why a dataset's policy does not allow one column use (null: it does), with the refusal code
 * ./policy.ts authorize raises; `owner` names the custodian in the message.
 */
export function columnUseRefusal(policy: DatasetPolicy, u: ColumnUse, owner: string): { code: GovernanceCode; message: string } | null {
  const rule = policy.columns[u.column];
  if (rule === undefined || rule === 'forbidden' || rule.roles.length === 0) return { code: 'column-forbidden', message: `column ${u.dataset}.${u.column} may not be used: custodian '${owner}'s policy ${rule === undefined ? 'does not list it' : 'forbids it'}` };
  if (!rule.roles.includes(u.role)) return { code: 'column-role', message: `column ${u.dataset}.${u.column} may not be used as ${u.role} (custodian '${owner}' allows: ${rule.roles.join(', ')})` };
  if (u.role === 'aggregate' && u.aggregate !== undefined && rule.aggregates !== undefined && !rule.aggregates.includes(u.aggregate)) {
    return { code: 'aggregate-not-allowed', message: `column ${u.dataset}.${u.column} may not be aggregated with ${u.aggregate.toUpperCase()} (custodian '${owner}' allows: ${rule.aggregates.join(', ').toUpperCase() || 'none'})` };
  }
  return null;
}

export function checkPolicyShape(x: unknown): CustodianPolicy {
  const p = x as CustodianPolicy;
  const bad = (m: string): never => refuse('malformed', `policy${p && typeof p.custodian === 'string' ? ` of '${p.custodian}'` : ''}: ${m}`);
  if (!p || typeof p !== 'object') bad('not a JSON object');
  if (p.format !== POLICY_FORMAT) bad(`format must be '${POLICY_FORMAT}'`);
  if (typeof p.custodian !== 'string' || !p.custodian) bad('custodian is required');
  parseTime(p.issuedAt, `policy of '${p.custodian}': issuedAt`);
  if (!Array.isArray(p.datasets) || p.datasets.length === 0) bad('datasets must list at least one dataset policy');
  const seen = new Set<string>();
  for (const d of p.datasets) {
    if (!d || typeof d.dataset !== 'string') bad('every dataset policy needs a dataset name');
    if (seen.has(d.dataset)) bad(`dataset '${d.dataset}' appears twice`);
    seen.add(d.dataset);
    const at = `dataset '${d.dataset}'`;
    if (!Array.isArray(d.purposes) || !d.purposes.every((c) => typeof c === 'string')) bad(`${at}: purposes must be a list of purpose codes`);
    if (!Number.isInteger(d.minCellSize) || d.minCellSize < 1) bad(`${at}: minCellSize must be a positive integer`);
    if (!d.columns || typeof d.columns !== 'object' || Array.isArray(d.columns)) bad(`${at}: columns must map column names to rules`);
    for (const [c, r] of Object.entries(d.columns)) {
      if (r === 'forbidden') continue;
      if (!r || !Array.isArray(r.roles) || !r.roles.every((x) => COLUMN_ROLES.includes(x))) bad(`${at}, column '${c}': roles must be a list of ${COLUMN_ROLES.join(', ')} (or the rule 'forbidden')`);
      if (r.aggregates !== undefined && (!Array.isArray(r.aggregates) || !r.aggregates.every((f) => AGGREGATE_FNS.includes(f)))) bad(`${at}, column '${c}': aggregates must be a list of ${AGGREGATE_FNS.join(', ')}`);
    }
    if (d.dp !== undefined) {
      const { maxEpsilon, maxDelta } = d.dp;
      if (maxEpsilon !== undefined && !(typeof maxEpsilon === 'number' && maxEpsilon > 0)) bad(`${at}: dp.maxEpsilon must be a positive number`);
      if (maxDelta !== undefined && !(typeof maxDelta === 'number' && maxDelta >= 0 && maxDelta < 1)) bad(`${at}: dp.maxDelta must be in [0, 1)`);
    }
  }
  return p;
}
