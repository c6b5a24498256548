// Times in governance documents: ISO 8601 strings (UTC 'Z' recommended; 'YYYY-MM-DD' means
// midnight UTC), parsed strictly with a refusal that says what is expected. Browser-safe (the web
// app checks the documents it signs with the same rules the nodes apply).
import { refuse } from './errors.js';

/** Milliseconds since the epoch of an ISO 8601 time or 'YYYY-MM-DD' (UTC); throws 'malformed'. */
export function parseTime(s: unknown, what: string): number {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) refuse('malformed', `${what} must be an ISO 8601 time (e.g. 2025-01-31T12:00:00Z), got ${JSON.stringify(s)}`);
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(t)) refuse('malformed', `${what}: ${JSON.stringify(s)} is not a real time`);
  return t;
}

export const timeOf = (t: Date | string | number): number => (t instanceof Date ? t.getTime() : typeof t === 'number' ? t : parseTime(t, 'time'));
export const isoTime = (ms: number): string => new Date(ms).toISOString();
