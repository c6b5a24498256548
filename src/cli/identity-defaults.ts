// Which identity a CLI command signs its requests with: --key <file> when given, else the identity
// of the needed role that `mosaik local-cluster` made in <cluster dir>/identities/ (a researcher
// for queries, a custodian for uploads). The identity's name is the one registered for that key
// in the cluster's identities.json, else the key file's name (<name>.ed25519.key.pem).
import { existsSync } from 'node:fs';
import { loadIdentities, localKeyPath } from '../governance/identities.js';
import { keyId, loadPrivateKey, type MemberRole, type Signer } from '../governance/identity.js';

export class IdentityMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityMissing';
  }
}

/** The signer for a command run against the cluster in `dir`. */
export function cliSigner(o: { dir?: string; key?: string; role: MemberRole; name?: string; flag?: string }): Signer {
  const file = o.key ?? (o.dir ? localKeyPath(o.dir, o.name ?? o.role) : undefined);
  if (!file || !existsSync(file)) {
    throw new IdentityMissing(
      o.key
        ? `key file ${o.key} does not exist`
        : `no ${o.role} identity to sign with: pass ${o.flag ?? '--key'} <your Ed25519 private key> (mosaik identity keygen makes one; an operator registers it in the cluster's identities.json or the consortium), or run \`mosaik local-cluster ${o.dir ?? '<dir>'}\`, which creates a ${o.role} identity in ${o.dir ?? '<dir>'}/identities/`,
    );
  }
  const privateKey = loadPrivateKey(file);
  const id = keyId(privateKey);
  let name: string | undefined;
  if (o.dir) {
    try {
      name = [...loadIdentities(o.dir).values()].find((m) => m.keyId === id)?.name;
    } catch {
      /* unreadable identities.json: fall back to the file name */
    }
  }
  const base = file.replace(/^.*[\\/]/, '');
  name ??= o.name ?? (base.endsWith('.ed25519.key.pem') ? base.slice(0, -'.ed25519.key.pem'.length) : undefined);
  if (!name) throw new IdentityMissing(`cannot tell whose key ${file} is: name it <identity>.ed25519.key.pem or register it in the cluster's identities.json`);
  return { name, privateKey };
}
