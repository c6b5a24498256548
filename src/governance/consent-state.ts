// The consent custodian's side of "my consent as the register holds it" (issue 15; formats in
// ./consent-state-format.ts): checks a citizen's signed request (their registered key, a time
// within five minutes of now, a nonce not seen before) and computes, from the custodian's plaintext
// consent register, the state in force for ONE person per purpose of the consortium. Runs only
// where the register is in the clear (the custodian), never at a compute node; it reveals to the
// asking citizen their own state and nothing about anyone else.
import { citizenEnvelope } from './citizen-inbox.js';
import { consentDecision, unixSeconds, type ConsentEvent } from './consent.js';
import { CONSENT_STATE_MAX_SKEW_MS, CONSENT_STATE_REQUEST_FORMAT, type ConsentStateRequest, type PurposeConsentState, type SignedConsentStateRequest } from './consent-state-format.js';
import type { Purpose } from './consortium.js';
import { refuse } from './errors.js';
import type { CitizenKeyOf } from './grants.js';

export * from './consent-state-format.js';

/** Nonces seen within the time window (older ones are refused by their time anyway). */
export class SeenNonces {
  private readonly until = new Map<string, number>();
  /** Records `nonce`; false if it was seen already. */
  add(nonce: string, now: number): boolean {
    for (const [n, t] of this.until) if (t < now) this.until.delete(n);
    if (this.until.has(nonce)) return false;
    this.until.set(nonce, now + 2 * CONSENT_STATE_MAX_SKEW_MS);
    return true;
  }
}

function checkShape(raw: unknown): SignedConsentStateRequest {
  const o = raw as Partial<SignedConsentStateRequest> | null;
  const r = o?.request as Partial<ConsentStateRequest> | undefined;
  const ok = !!r && typeof r === 'object' && r.format === CONSENT_STATE_REQUEST_FORMAT && typeof r.citizen === 'string' && typeof r.time === 'string' && typeof r.nonce === 'string' && r.nonce.length >= 16 && r.nonce.length <= 128 && Object.keys(r).length === 4;
  if (!ok) refuse('malformed', `send {"request": {"format": "${CONSENT_STATE_REQUEST_FORMAT}", "citizen", "time", "nonce"}, "signature"} signed with your key`);
  return o as SignedConsentStateRequest;
}

/** The request, checked: signed with the citizen's registered key, fresh, not a replay. Refuses (GovernanceError) with why. */
export function verifyConsentStateRequest(raw: unknown, keyOf: CitizenKeyOf, seen: SeenNonces, now = Date.now()): ConsentStateRequest {
  const { request, signature } = checkShape(raw);
  citizenEnvelope('consent-state-request', request, signature, keyOf, 'the consent state request');
  const t = Date.parse(request.time);
  if (!Number.isFinite(t) || Math.abs(now - t) > CONSENT_STATE_MAX_SKEW_MS) refuse('request', `the request's time ${request.time} is more than ${CONSENT_STATE_MAX_SKEW_MS / 60_000} minutes from the consent register's clock (${new Date(now).toISOString()}): check this device's clock and ask again`);
  if (!seen.add(request.nonce, now)) refuse('request', 'this request was already answered (its nonce was used): ask again with a new one');
  return request;
}

/** The register's state for one person at `at`, per purpose (the plaintext rule of ./consent.ts). */
export function consentStateOf(purposes: readonly Purpose[], events: ConsentEvent[], person: number, at: Date): PurposeConsentState[] {
  const mine = events.filter((e) => e.person === person);
  return purposes.map((p) => {
    const d = consentDecision(mine, person, p.code, unixSeconds(at), p.consent);
    return { purpose: p.code, label: p.label, default: p.consent, granted: d.usable, basis: d.basis, ...(d.since !== undefined ? { since: new Date(d.since * 1000).toISOString() } : {}) };
  });
}
