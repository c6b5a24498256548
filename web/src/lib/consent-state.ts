// The citizen's consent as the register holds it (issue 15): asks the consent custodian's
// consent-state service (src/cli/citizen-consent-state.ts, served by the web app for the custodian)
// with a request signed here with the citizen's key (src/governance/consent-state-format.ts:
// the key's pseudonymous name, the time, a fresh nonce; never the person number). The answer is
// this person's state per purpose and their changes the custodian has not published yet; the web
// relay and the nodes learn nothing from it (the relay sees the request and the answer pass).
import { CONSENT_STATE_REQUEST_FORMAT, type ConsentStateAnswer, type ConsentStateRequest } from '../../../src/governance/consent-state-format.js';
import type { BrowserIdentity } from './keys.js';
import { signDocument } from './sign.js';

export type { ConsentStateAnswer, PurposeConsentState } from '../../../src/governance/consent-state-format.js';

/** Thrown when no consent-state service runs beside this web app (the page then shows this browser's changes only). */
export class NoConsentStateService extends Error {}
const NO_SERVICE = 'The consent register does not answer here, so this page cannot show what the register holds for you: it shows the choices made in this browser only.';

export async function registerConsentState(id: BrowserIdentity): Promise<ConsentStateAnswer> {
  const here = (await (await fetch('/api/citizen-consent')).json().catch(() => ({}))) as { service?: boolean };
  if (!here.service) throw new NoConsentStateService(NO_SERVICE);
  const request: ConsentStateRequest = { format: CONSENT_STATE_REQUEST_FORMAT, citizen: id.name, time: new Date().toISOString(), nonce: crypto.randomUUID() };
  const r = await fetch('/api/citizen-consent', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request, signature: await signDocument('consent-state-request', request, id) }) });
  const body = (await r.json().catch(() => ({}))) as ConsentStateAnswer & { error?: string };
  if (r.status === 404) throw new NoConsentStateService(NO_SERVICE);
  if (!r.ok || !Array.isArray(body.purposes)) throw new Error(`The consent register did not tell your consent: ${body.error ?? `HTTP ${r.status}`}`);
  return body;
}
