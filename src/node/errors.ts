// The errors of a node that carry an HTTP status, and which errors are the client's fault (4xx)
// rather than the node's (500). Below every other module of src/node: the routes answer with them
// (src/node/http.ts sendError), the services throw them.
import { GovernanceError } from '../governance/errors.js';
import { LedgerError } from '../ledger/entry.js';
import { QueryError } from '../query/parse-error.js';
import { StoreError } from './store.js';

/** An error answered with `status` and extra fields `details` (e.g. {job, refusals}). */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    /** Extra fields of the error answer. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A job that cannot be created, admitted or followed (src/node/jobs.ts). */
export class JobError extends HttpError {
  constructor(message: string, status = 400, details?: Record<string, unknown>) {
    super(message, status, details);
    this.name = 'JobError';
  }
}

/** A log entry or head this node refuses (409: conflict with this replica; `size`: where it stands). */
export class LedgerConflict extends LedgerError {
  constructor(
    message: string,
    readonly status: number,
    readonly size?: number,
  ) {
    super(message);
  }
}

/** A run this node's privacy settings do not allow (HTTP 403). */
export class PrivacyRefusal extends Error {
  readonly status = 403;
  constructor(message: string) {
    super(message);
    this.name = 'PrivacyRefusal';
  }
}

export function isClientError(e: unknown): e is Error & { status?: number } {
  return e instanceof QueryError || e instanceof HttpError || e instanceof StoreError || e instanceof GovernanceError || e instanceof PrivacyRefusal;
}
