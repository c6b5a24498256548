// The error of a query Mosaik cannot run as written (its own module: the SQL rewrites and the
// parser both raise it).

/** A query that Mosaik cannot run as written: syntax, unsupported construct, unknown name, type error. */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}
