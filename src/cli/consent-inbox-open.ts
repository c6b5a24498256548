// The consent custodian reads its inbox (issue 15; formats in src/governance/citizen-docs.ts): the
// citizens' sealed consent changes at node 0 not yet processed, each checked (the citizen's
// signature with the key the nodes registered, the sealed change's hash) and opened with the inbox
// key. Runs on the custodian's side only: what it opens (purpose, choice, time, salt of a named
// key) is the custodian's to see; node 0 sees the sealed envelopes only. Used to publish the
// changes (./citizen.ts processConsentInbox) and to tell a citizen what is still waiting
// (./citizen-consent-state.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { checkConsentPlain, CONSENT_SEAL, verifyConsentEnvelope, type ConsentChangePlain, type ConsentEnvelope } from '../governance/citizen-inbox.js';
import { citizenName } from '../governance/citizens.js';
import { GovernanceError } from '../governance/errors.js';
import { keyId, publicKeyFromPem, type Signer } from '../governance/identity.js';
import type { CitizenKeyOf } from '../governance/grants.js';
import type { ClusterConfig } from '../net/keys.js';
import { apiRequest } from '../node/http.js';
import { openSealedUpload } from '../node/sealed-upload.js';

/** A GET at node 0 as the custodian; throws with node 0's reason. `missing` answers a 404 instead. */
async function getAtNode0<T>(config: ClusterConfig, signer: Signer, path: string, missing?: T): Promise<T> {
  const r = await apiRequest<T & { error?: string }>(config, 0, path, { signer });
  if (r.status === 404 && missing !== undefined) return missing;
  if (r.status !== 200) throw new GovernanceError('consent', `${path}: ${r.body?.error ?? `HTTP ${r.status}`}`);
  return r.body;
}

/**
 * A citizen's key as the nodes registered it (node 0's copy), or undefined if none. The key must
 * hash to the name (citizen-<16 hex of its key id>), so node 0 cannot substitute another key.
 */
export async function registeredCitizenKey(config: ClusterConfig, signer: Signer, name: string): Promise<ReturnType<CitizenKeyOf>> {
  const k = await getAtNode0<{ publicKey?: string }>(config, signer, `/v1/citizens/${encodeURIComponent(name)}`, {});
  if (!k.publicKey) return undefined;
  const pk = publicKeyFromPem(k.publicKey);
  if (citizenName(keyId(pk)) !== name) throw new GovernanceError('bad-signature', `node 0 answered a key for ${name} that is not that citizen's`);
  return { keyId: keyId(pk), publicKey: pk };
}

/** The nonces of the inbox's changes already processed (beside the register: <register>.inbox-done.json). */
export const inboxDoneFile = (register: string) => `${register}.inbox-done.json`;
export const readInboxDone = (register: string): Set<string> => new Set(existsSync(inboxDoneFile(register)) ? (JSON.parse(readFileSync(inboxDoneFile(register), 'utf8')) as string[]) : []);
export const writeInboxDone = (register: string, done: Set<string>) => writeFileSync(inboxDoneFile(register), JSON.stringify([...done]));

/** One change of the inbox: opened and checked, or why not. */
export type OpenedChange = { nonce: string; plain: ConsentChangePlain } | { nonce: string; error: string };

/** The inbox's changes whose nonce is not in `done`, each opened and checked. */
export async function openConsentInbox(o: { config: ClusterConfig; signer: Signer; inboxKeyPem: string; done: Set<string> }): Promise<OpenedChange[]> {
  const out: OpenedChange[] = [];
  for (const env of await getAtNode0<ConsentEnvelope[]>(o.config, o.signer, '/v1/consent/inbox')) {
    if (o.done.has(env.change.nonce)) continue;
    try {
      const key = await registeredCitizenKey(o.config, o.signer, env.change.citizen);
      verifyConsentEnvelope(env, (n) => (n === env.change.citizen ? key : undefined));
      const bytes = await openSealedUpload(new Uint8Array(Buffer.from(env.sealed, 'base64url')), { privateKeyPem: o.inboxKeyPem, publicKey: '' }, { cluster: o.config.cluster, ...CONSENT_SEAL, version: env.change.nonce });
      out.push({ nonce: env.change.nonce, plain: checkConsentPlain(JSON.parse(new TextDecoder().decode(bytes)), env.change) });
    } catch (e) {
      out.push({ nonce: env.change.nonce, error: (e as Error).message });
    }
  }
  return out;
}
