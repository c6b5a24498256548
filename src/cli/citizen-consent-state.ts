// The consent custodian's consent-state service (issue 15): a citizen's device, signed in with any
// of the person's registered keys, asks what the consent register holds for them
// (src/governance/consent-state.ts checks the signed request: registered key, fresh time, unused
// nonce). The service maps the key to the person in the custodian's plaintext key→person table
// (citizen-keys.csv), reads the custodian's consent register (consent.csv: the events it
// published, including citizens' changes from the inbox) and answers that person's state per
// purpose, plus their changes waiting in the inbox. It runs on the custodian's side (served by the
// web app process for the custodian, like ./citizen-enrolment.ts), never at a compute node: it sees
// the person id and the register in the clear. The asking browser learns its own person's state
// only; the nodes learn nothing (node 0 is asked for the citizen's registered key and the sealed
// inbox, as the custodian).
import { readCitizenKeys } from '../governance/citizens.js';
import { readConsentFile } from '../governance/consent.js';
import { consentStateOf, SeenNonces, verifyConsentStateRequest, type ConsentStateAnswer, type PendingConsentChange } from '../governance/consent-state.js';
import type { Consortium } from '../governance/consortium.js';
import { refuse } from '../governance/errors.js';
import type { Signer } from '../governance/identity.js';
import type { ClusterConfig } from '../net/keys.js';
import { openConsentInbox, readInboxDone, registeredCitizenKey } from './consent-inbox-open.js';

export interface CitizenConsentState {
  /** Answers a signed request (see the module comment); refuses (GovernanceError) with what is wrong. */
  answer(raw: unknown, now?: Date): Promise<ConsentStateAnswer>;
}

export function citizenConsentState(o: {
  config: ClusterConfig;
  consortium: Consortium;
  /** The consent custodian (it reads the citizens' keys and the inbox at node 0). */
  signer: Signer;
  /** The custodian's key→person table (citizen-keys.csv). */
  table: string;
  /** The custodian's consent register (consent.csv). */
  register: string;
  /** The inbox's private key, to list changes not yet published (none listed without it). */
  inboxKeyPem?: string;
}): CitizenConsentState {
  const seen = new SeenNonces();
  return {
    answer: async (raw, now = new Date()) => {
      const name = (raw as { request?: { citizen?: unknown } } | null)?.request?.citizen;
      const rows = readCitizenKeys(o.table);
      const row = typeof name === 'string' ? rows.find((r) => r.name === name) : undefined;
      if (!row) refuse('wrong-signer', `${typeof name === 'string' ? `'${name}'` : 'this key'} is not a citizen key registered with the consent register`);
      const key = await registeredCitizenKey(o.config, o.signer, row.name);
      verifyConsentStateRequest(raw, (n) => (n === row.name ? key : undefined), seen, now.getTime());
      const purposes = consentStateOf(o.consortium.purposes, readConsentFile(o.register), row.person, now);
      return { at: now.toISOString(), purposes, pending: o.inboxKeyPem ? await pendingFor(rows.filter((r) => r.person === row.person).map((r) => r.name)) : [] };
    },
  };

  /** The person's changes in the inbox not yet published (any of their keys, by name). */
  async function pendingFor(names: string[]): Promise<PendingConsentChange[]> {
    const keys = new Set(names);
    const opened = await openConsentInbox({ config: o.config, signer: o.signer, inboxKeyPem: o.inboxKeyPem!, done: readInboxDone(o.register) });
    return opened.flatMap((c) => ('plain' in c && keys.has(c.plain.citizen) ? [{ purpose: c.plain.purpose, granted: c.plain.granted, time: c.plain.time }] : []));
  }
}
