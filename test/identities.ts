// Test helpers for the identities every API call needs (src/node/access.ts): the local cluster's
// researcher, custodian and auditor, and signed ad-hoc query bodies.
import { ensureLocalIdentities, type LocalIdentity } from '../src/governance/identities.js';
import type { Signer } from '../src/governance/identity.js';
import { newResultKeyPair, type ResultKeyPair } from '../src/governance/sealed.js';
import { signAdhocRequest, type QueryRequest } from '../src/governance/study.js';
import { cliSigner } from '../src/cli/identity-defaults.js';
import type { ClusterConfig } from '../src/net/keys.js';

export interface LocalSigners {
  researcher: Signer;
  custodian: Signer;
  auditor: Signer;
  /** Any further identity made with `extra`. */
  by: (name: string) => Signer;
}

/** Makes (or keeps) the local identities of a cluster directory and returns their signers. */
export function localSigners(dir: string, extra: LocalIdentity[] = []): LocalSigners {
  const keys = ensureLocalIdentities(dir, [{ name: 'researcher', role: 'researcher' }, { name: 'custodian', role: 'custodian' }, { name: 'auditor', role: 'auditor' }, ...extra]);
  const by = (name: string) => cliSigner({ dir, key: keys.get(name)!, role: 'researcher' });
  return { researcher: by('researcher'), custodian: by('custodian'), auditor: by('auditor'), by };
}

/** A signed ad-hoc request body for POST /v1/queries, and the key pair its result is sealed to. */
export function adhocBody(config: ClusterConfig, signer: Signer, sql: string, o: { versions?: Record<string, string>; minCellSize?: number; epsilon?: number; keys?: ResultKeyPair } = {}): { body: { request: QueryRequest }; keys: ResultKeyPair } {
  const keys = o.keys ?? newResultKeyPair();
  const request = signAdhocRequest(sql, signer, { cluster: config.cluster, resultKey: keys.publicKey, ...(o.versions ? { versions: o.versions } : {}), ...(o.minCellSize !== undefined ? { minCellSize: o.minCellSize } : {}), ...(o.epsilon !== undefined ? { epsilon: o.epsilon } : {}) });
  return { body: { request }, keys };
}
