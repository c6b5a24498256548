// What a citizen's device asks the consent custodian about their own consent, and the answer
// (issue 15). Shared by the browser (web/src/lib/consent-state.ts) and the custodian's service
// (src/cli/citizen-consent-state.ts); no Node import here.
//
// The request is a document signed with the citizen's registered key (kind
// 'consent-state-request', ./identity.ts signDocument): {format, citizen, time, nonce}. It names
// only the key's pseudonymous name, never the person: the custodian maps the key to the person in
// its own key→person table. The time must be within CONSENT_STATE_MAX_SKEW_MS of the custodian's
// clock and the nonce is refused a second time, so a captured request cannot be replayed later.
// The answer goes to that browser only: the register's state for that one person, per purpose
// of the consortium, and the changes received in the custodian's inbox but not yet published.
import type { ConsentDefault } from './consortium.js';
import type { Signature } from './signature.js';

export const CONSENT_STATE_REQUEST_FORMAT = 'mosaik-consent-state-request/1';
/** How far a request's time may be from the custodian's clock (either way). */
export const CONSENT_STATE_MAX_SKEW_MS = 5 * 60_000;

export interface ConsentStateRequest {
  format: typeof CONSENT_STATE_REQUEST_FORMAT;
  /** The key's pseudonymous name at the nodes (citizen-<16 hex>). */
  citizen: string;
  /** ISO time the request was signed. */
  time: string;
  /** Random, once. */
  nonce: string;
}

export interface SignedConsentStateRequest {
  request: ConsentStateRequest;
  signature: Signature;
}

/** One purpose as the register holds it for the asking person. */
export interface PurposeConsentState {
  purpose: string;
  label: string;
  default: ConsentDefault;
  /** May the person's data serve this purpose now. */
  granted: boolean;
  /** 'default': no choice in the register; else the choice in force. */
  basis: 'default' | 'granted' | 'withdrawn';
  /** ISO time the choice in force took effect (absent for the default). */
  since?: string;
}

/** A change the custodian received (sealed, in its inbox) but has not yet published. */
export interface PendingConsentChange {
  purpose: string;
  granted: boolean;
  /** ISO time the citizen made it. */
  time: string;
}

export interface ConsentStateAnswer {
  /** ISO time of the answer (the register's state at that time). */
  at: string;
  /** The register version last published by the custodian, when known. */
  version?: string;
  purposes: PurposeConsentState[];
  pending: PendingConsentChange[];
}
