// Errors of the governance layer (studies, approvals, policies, consent, privacy budget).
//
// Every refusal is a GovernanceError whose `code` names the failing check (stable, for programs
// and tests) and whose message says in plain words what failed and for whom (for people). A node
// that refuses a job passes the message on unchanged, so the researcher sees the same reason at
// every node that refused.

export type GovernanceCode =
  | 'malformed' // a document does not have the required shape
  | 'unsigned' // a signature is missing
  | 'bad-signature' // a signature does not verify (document altered after signing, or wrong key)
  | 'wrong-signer' // signed by someone other than the party who must sign
  | 'unknown-member' // a name that is not in the consortium configuration
  | 'wrong-role' // a member acting in a role it does not have
  | 'missing-approval' // a custodian whose data the study touches has not approved it
  | 'approval-mismatch' // an approval is for another study or another version of it
  | 'rejected' // a custodian rejected the study
  | 'not-yet-valid' // before the study's validity period
  | 'expired' // after the study's validity period
  | 'unknown-purpose' // a purpose not declared by the consortium
  | 'purpose-not-allowed' // a custodian's policy does not allow the study's purpose
  | 'missing-policy' // no (or more than one) policy for a dataset the study touches
  | 'unknown-dataset' // a dataset no custodian in the consortium owns
  | 'dataset-not-in-study' // the query reads a dataset the study does not declare
  | 'column-not-in-study' // the query reads a column the study does not declare
  | 'column-forbidden' // the custodian's policy forbids the column
  | 'column-role' // the column is used in a role the policy does not allow
  | 'aggregate-not-allowed' // the column is aggregated with a function the policy does not allow
  | 'query-not-allowed' // the query is not in the study's list of allowed queries
  | 'min-cell-size' // the requested smallest cell is below the policy's
  | 'dp-required' // the policy requires differential privacy and the query has none
  | 'dp-unsupported' // the query cannot be released with differential privacy as it stands
  | 'budget-over-policy' // the study's privacy budget is larger than a policy allows
  | 'budget-exceeded' // the query would exceed the study's remaining privacy budget
  | 'request' // a researcher's query request is unsigned, stale or not for this study/query
  | 'attestation' // a node's attestation of an authorization is missing or does not verify
  | 'consent' // a consent event is invalid, or the consent register cannot be applied
  | 'unregistered' // the study version a request names is not registered (and logged) at the node
  | 'governed' // the node runs in governed mode and the job names no study
  | 'grant'; // a doctor's request for a patient's record: no grant, expired, revoked, forged, another doctor or patient (src/governance/grants.ts)

export class GovernanceError extends Error {
  constructor(
    readonly code: GovernanceCode,
    message: string,
  ) {
    super(message);
    this.name = 'GovernanceError';
  }
}

/** Throws GovernanceError(code, message). */
export function refuse(code: GovernanceCode, message: string): never {
  throw new GovernanceError(code, message);
}
