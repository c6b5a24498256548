// A cluster's identities: who may use the nodes' API besides (or without) a consortium. Every
// route that accepts work or returns anything derived from data needs a signed request
// (./request-auth.ts) from a known identity, on governed and un-governed clusters alike: there is
// no anonymous query. The identities a node knows are
//   - the members of its consortium configuration (governed mode: ./consortium.ts), and
//   - the entries of <cluster dir>/identities.json, the operators' list (the same member format):
//       { "format": "mosaik-identities/1",
//         "members": [ { "name": "researcher", "role": "researcher", "publicKey": "-----BEGIN PUBLIC KEY-----…" },
//                      { "name": "cpr", "role": "custodian", "publicKey": "…", "datasets": ["population"] } ] }
// A name in both must have the same key (else the consortium's entry counts). Public keys only:
// private keys stay with their owners (<name>.ed25519.key.pem, mode 0600).
//
// `mosaik local-cluster <dir>` (and the main job) create a researcher, a custodian and an auditor
// identity in <dir>/identities/ and list them in <dir>/identities.json; the CLI signs with them by
// default when given --dir (src/cli/identity-defaults.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseMembers, type Member, type MemberEntry } from './consortium.js';
import { refuse } from './errors.js';
import type { KnownKey } from './request-auth.js';
import { identityPaths, loadPrivateKey, writeIdentity, type MemberRole, type Signer } from './identity.js';

/** An authenticated caller of a node: a known identity's key, role and datasets. */
export type Identity = KnownKey<MemberRole> & { datasets: string[] };

export const IDENTITIES_FORMAT = 'mosaik-identities/1';
export const IDENTITIES_FILE = 'identities.json';
/** Where local-cluster keeps the key files of the identities it creates. */
export const IDENTITIES_DIR = 'identities';

export interface IdentitiesFile {
  format: typeof IDENTITIES_FORMAT;
  members: MemberEntry[];
}

export function identitiesPath(clusterDir: string): string {
  return join(resolve(clusterDir), IDENTITIES_FILE);
}

function readFile(path: string): IdentitiesFile {
  let f: IdentitiesFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as IdentitiesFile;
  } catch (e) {
    return refuse('malformed', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (!f || f.format !== IDENTITIES_FORMAT || !Array.isArray(f.members)) refuse('malformed', `${path} is not a ${IDENTITIES_FORMAT} file ({format, members: [{name, role, publicKey, datasets?}]})`);
  return f;
}

/** The identities listed in a cluster's identities.json (none when there is no file). */
export function loadIdentities(clusterDir: string): Map<string, Member> {
  const path = identitiesPath(clusterDir);
  if (!existsSync(path)) return new Map();
  const f = readFile(path);
  return parseMembers(f.members, dirname(path), (m) => refuse('malformed', `${path}: ${m}`)).members;
}

/** Adds (or, with replace, replaces) an identity in a cluster's identities.json; validates the result first. */
export function addIdentity(clusterDir: string, entry: MemberEntry, opts: { replace?: boolean } = {}): void {
  const path = identitiesPath(clusterDir);
  const f: IdentitiesFile = existsSync(path) ? readFile(path) : { format: IDENTITIES_FORMAT, members: [] };
  const i = f.members.findIndex((m) => m.name === entry.name);
  if (i >= 0 && !opts.replace) refuse('malformed', `identity '${entry.name}' is already in ${path}`);
  if (i >= 0) f.members[i] = entry;
  else f.members.push(entry);
  parseMembers(f.members, dirname(path), (m) => refuse('malformed', `${path}: ${m}`));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(f, null, 2) + '\n');
}

export interface LocalIdentity {
  name: string;
  role: MemberRole;
  datasets?: string[];
}

/** The identities a local cluster starts with. */
export const LOCAL_IDENTITIES: LocalIdentity[] = [
  { name: 'researcher', role: 'researcher' },
  { name: 'custodian', role: 'custodian' },
  { name: 'auditor', role: 'auditor' },
];

/**
 * Makes sure each identity has a key in <clusterDir>/identities/ (kept if present) and an entry
 * with that key in identities.json. Returns the key file of each, by name.
 */
export function ensureLocalIdentities(clusterDir: string, ids: LocalIdentity[] = LOCAL_IDENTITIES): Map<string, string> {
  const dir = join(resolve(clusterDir), IDENTITIES_DIR);
  const out = new Map<string, string>();
  for (const id of ids) {
    const paths = identityPaths(dir, id.name);
    if (!existsSync(paths.keyPath)) writeIdentity(dir, id.name, id.role);
    const publicKey = readFileSync(paths.publicKeyPath, 'utf8');
    addIdentity(clusterDir, { name: id.name, role: id.role, publicKey, ...(id.datasets ? { datasets: id.datasets } : {}) }, { replace: true });
    out.set(id.name, paths.keyPath);
  }
  return out;
}

/** The key file local-cluster made for an identity of this cluster, if it exists. */
export function localKeyPath(clusterDir: string, name: string): string | undefined {
  const p = identityPaths(join(resolve(clusterDir), IDENTITIES_DIR), name).keyPath;
  return existsSync(p) ? p : undefined;
}

/** A signer from a key file; its name is the identity the key is registered as (file name <name>.ed25519.key.pem, or given). */
export function signerFromKeyFile(path: string, name?: string): Signer {
  const base = path.replace(/^.*[\\/]/, '');
  const n = name ?? (base.endsWith('.ed25519.key.pem') ? base.slice(0, -'.ed25519.key.pem'.length) : undefined);
  if (!n) refuse('malformed', `cannot tell whose key ${path} is (name it <identity>.ed25519.key.pem, or give the identity's name)`);
  return { name: n, privateKey: loadPrivateKey(path) };
}
