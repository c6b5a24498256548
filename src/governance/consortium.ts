// The consortium configuration: who may sign what, and for which research purposes. It is public
// and the same file at every node (like cluster.json for the nodes' TLS keys), e.g.
//
//   { "consortium": "mosaik-demo",
//     "purposes": [ { "code": "public-health", "label": "public-health research", "consent": "opt-out" },
//                   { "code": "commercial-pharma", "label": "commercial pharma research", "consent": "opt-in" } ],
//     "members": [ { "name": "alice", "role": "researcher", "publicKey": "-----BEGIN PUBLIC KEY-----\n…" },
//                  { "name": "sundhedsdatastyrelsen", "role": "custodian", "publicKey": "keys/sds.ed25519.pub.pem",
//                    "datasets": ["contacts", "prescriptions"] } ],
//     "nodes": [ { "name": "node-a", "publicKey": "…" } ],                    // optional: attestations
//     "consent": { "dataset": "consent", "custodian": "consent-register" } } // optional
//
// - purposes: the declared list a study's purpose must come from. `consent` is the default for a
//   person who never expressed a choice: 'opt-out' (usable unless withdrawn: purposes the law
//   allows without consent, e.g. public-health research under GDPR art. 9(2)(j)) or 'opt-in'
//   (usable only after an explicit grant, e.g. commercial research).
// - members: researchers and custodians with their Ed25519 public keys (PEM text, or a PEM file
//   relative to the configuration file). A custodian lists the datasets it owns; each dataset has
//   exactly one owner, whose approval every study touching it needs and whose policy governs it.
// - nodes: the compute nodes' Ed25519 attestation keys (./policy.ts, attestAuthorization).
// - consent: the consent register (./consent.ts) and its custodian. `{ "dataset": "consent" }`
//   alone (`mosaik consortium init --consent-dataset`) names the register before its custodian
//   joins: there is no consent register until a custodian owning that dataset is added (addMember
//   then completes the entry).
import type { KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { refuse } from './errors.js';
import { isDatasetName } from '../ingest/schema.js';
import { checkName, keyId, MEMBER_ROLES, publicKeyFromPem, type MemberRole } from './identity.js';

export type ConsentDefault = 'opt-in' | 'opt-out';

export interface Purpose {
  /** Short code, also the consent register's code value: lower-case letters, digits and '-'. */
  code: string;
  label: string;
  consent: ConsentDefault;
  description?: string;
}

export interface MemberEntry {
  name: string;
  role: MemberRole;
  /** SPKI PEM text, or a path (relative to the configuration file) of a PEM file. */
  publicKey: string;
  /** Custodians: the datasets they own. */
  datasets?: string[];
  organisation?: string;
}

export interface NodeKeyEntry {
  name: string;
  publicKey: string;
}

export interface ConsortiumConfig {
  consortium: string;
  purposes: Purpose[];
  members: MemberEntry[];
  nodes?: NodeKeyEntry[];
  /** The consent register; without `custodian` it is named but not yet in force (see above). */
  consent?: { dataset: string; custodian?: string };
}

export interface Member {
  name: string;
  role: MemberRole;
  publicKey: KeyObject;
  keyId: string;
  datasets: string[];
  organisation?: string;
}

export interface NodeKey {
  name: string;
  publicKey: KeyObject;
  keyId: string;
}

export const PURPOSE_CODE_RE = /^[a-z][a-z0-9-]{0,47}$/;

/** A loaded, validated consortium configuration. */
export class Consortium {
  readonly name: string;
  readonly purposes: readonly Purpose[];
  readonly members: ReadonlyMap<string, Member>;
  readonly nodes: ReadonlyMap<string, NodeKey>;
  readonly consent: { dataset: string; custodian: string } | null;
  private readonly owners: Map<string, string>;

  private constructor(c: ConsortiumConfig, members: Map<string, Member>, nodes: Map<string, NodeKey>, owners: Map<string, string>) {
    this.name = c.consortium;
    this.purposes = c.purposes.map((p) => ({ ...p }));
    this.members = members;
    this.nodes = nodes;
    this.consent = c.consent?.custodian ? { dataset: c.consent.dataset, custodian: c.consent.custodian } : null;
    this.owners = owners;
  }

  /** Validates a configuration object; `baseDir` resolves public-key file paths. */
  static fromConfig(c: ConsortiumConfig, baseDir = '.'): Consortium {
    const bad = (m: string): never => refuse('malformed', `consortium configuration: ${m}`);
    if (!c || typeof c !== 'object') bad('not a JSON object');
    if (typeof c.consortium !== 'string' || !c.consortium) bad('"consortium" (its name) is required');
    if (!Array.isArray(c.purposes) || c.purposes.length === 0) bad('"purposes" must be a non-empty list');
    const codes = new Set<string>();
    for (const p of c.purposes) {
      if (!p || typeof p.code !== 'string' || !PURPOSE_CODE_RE.test(p.code)) bad(`purpose code ${JSON.stringify(p?.code)} must be lower-case letters, digits and '-' (at most 48)`);
      if (codes.has(p.code)) bad(`purpose '${p.code}' is declared twice`);
      codes.add(p.code);
      if (typeof p.label !== 'string' || !p.label) bad(`purpose '${p.code}' needs a label`);
      if (p.consent !== 'opt-in' && p.consent !== 'opt-out') bad(`purpose '${p.code}': consent must be 'opt-in' or 'opt-out', got ${JSON.stringify(p.consent)}`);
    }
    if (!Array.isArray(c.members)) bad('"members" must be a list');
    const { members, owners } = parseMembers(c.members, baseDir, bad);
    const nodes = new Map<string, NodeKey>();
    for (const n of c.nodes ?? []) {
      if (!n || typeof n.name !== 'string') bad('every node needs a name');
      checkName(n.name, 'node name');
      if (nodes.has(n.name)) bad(`node '${n.name}' is listed twice`);
      const pk = publicKeyOf(n.publicKey, `node '${n.name}'`, baseDir, bad);
      nodes.set(n.name, { name: n.name, publicKey: pk, keyId: keyId(pk) });
    }
    if (c.consent) {
      if (typeof c.consent.dataset !== 'string' || !isDatasetName(c.consent.dataset)) bad('consent.dataset must be a dataset name');
    }
    if (c.consent?.custodian !== undefined) {
      const cu = members.get(c.consent.custodian);
      if (!cu || cu.role !== 'custodian') bad(`consent.custodian '${c.consent.custodian}' is not a custodian of the consortium`);
      if (owners.get(c.consent.dataset) !== undefined && owners.get(c.consent.dataset) !== c.consent.custodian) bad(`consent dataset '${c.consent.dataset}' is owned by '${owners.get(c.consent.dataset)}', not by its custodian '${c.consent.custodian}'`);
      owners.set(c.consent.dataset, c.consent.custodian);
    } else if (c.consent && owners.has(c.consent.dataset)) bad(`consent dataset '${c.consent.dataset}' is owned by '${owners.get(c.consent.dataset)}': name it as consent.custodian`);
    return new Consortium(c, members, nodes, owners);
  }

  static load(path: string): Consortium {
    let c: ConsortiumConfig;
    try {
      c = JSON.parse(readFileSync(path, 'utf8')) as ConsortiumConfig;
    } catch (e) {
      return refuse('malformed', `cannot read consortium configuration ${path}: ${(e as Error).message}`);
    }
    return Consortium.fromConfig(c, dirname(resolve(path)));
  }

  member(name: string): Member | undefined {
    return this.members.get(name);
  }

  purpose(code: string): Purpose | undefined {
    return this.purposes.find((p) => p.code === code);
  }

  /** The custodian that owns a dataset, or undefined. */
  custodianOf(dataset: string): string | undefined {
    return this.owners.get(dataset);
  }

  /** The member with this key id, if any (to find who a private key file belongs to). */
  memberByKeyId(id: string): Member | undefined {
    for (const m of this.members.values()) if (m.keyId === id) return m;
    return undefined;
  }
}

/** A public key given as PEM text or as a PEM file path (relative to baseDir). */
function publicKeyOf(pk: unknown, who: string, baseDir: string, bad: (m: string) => never): KeyObject {
  if (typeof pk !== 'string' || !pk) return bad(`${who} has no publicKey`);
  if (pk.includes('-----BEGIN')) return publicKeyFromPem(pk, `${who}'s public key`);
  const path = isAbsolute(pk) ? pk : resolve(baseDir, pk);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    return bad(`${who}'s public key file ${path}: ${(e as Error).message}`);
  }
  return publicKeyFromPem(pem, `${who}'s public key (${path})`);
}

/**
 * Validates member entries (a consortium's, or a cluster's identities.json: ./identities.ts):
 * names, roles, keys, and the datasets custodians own (each dataset one owner). `bad` throws.
 */
export function parseMembers(entries: MemberEntry[], baseDir: string, bad: (m: string) => never): { members: Map<string, Member>; owners: Map<string, string> } {
  const members = new Map<string, Member>();
  const owners = new Map<string, string>();
  for (const m of entries) {
    if (!m || typeof m.name !== 'string') bad('every member needs a name');
    checkName(m.name, 'member name');
    if (members.has(m.name)) bad(`member '${m.name}' is listed twice (use one name per role)`);
    if (!MEMBER_ROLES.includes(m.role)) bad(`member '${m.name}': role must be one of ${MEMBER_ROLES.join(', ')}, got ${JSON.stringify(m.role)}`);
    const datasets = m.datasets ?? [];
    if (!Array.isArray(datasets) || !datasets.every((d) => isDatasetName(d))) bad(`member '${m.name}': datasets must be a list of dataset names`);
    if (datasets.length && m.role !== 'custodian') bad(`member '${m.name}' is a ${m.role}; only custodians own datasets`);
    for (const d of datasets) {
      if (owners.has(d)) bad(`dataset '${d}' is owned by both '${owners.get(d)}' and '${m.name}'`);
      owners.set(d, m.name);
    }
    const pk = publicKeyOf(m.publicKey, `member '${m.name}'`, baseDir, bad);
    members.set(m.name, { name: m.name, role: m.role, publicKey: pk, keyId: keyId(pk), datasets: [...datasets], ...(m.organisation ? { organisation: m.organisation } : {}) });
  }
  return { members, owners };
}

/** The purposes a new consortium starts with (editable in the file). */
export const DEFAULT_PURPOSES: Purpose[] = [
  { code: 'public-health', label: 'public-health research', consent: 'opt-out', description: 'research in the public interest in the area of public health (GDPR art. 9(2)(i)/(j))' },
  { code: 'quality-improvement', label: 'quality improvement of health services', consent: 'opt-out' },
  { code: 'academic-research', label: 'non-commercial scientific research', consent: 'opt-out' },
  { code: 'commercial-pharma', label: 'commercial pharma research', consent: 'opt-in' },
];

/** Reads a configuration file as plain JSON (for editing), or a fresh one if `path` does not exist. */
export function readConfigFile(path: string, name = 'mosaik'): ConsortiumConfig {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ConsortiumConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { consortium: name, purposes: DEFAULT_PURPOSES.map((p) => ({ ...p })), members: [] };
    return refuse('malformed', `cannot read consortium configuration ${path}: ${(e as Error).message}`);
  }
}

/** Adds (or replaces, with replace) a member entry and writes the file; validates the result first. */
export function addMember(path: string, entry: MemberEntry, opts: { replace?: boolean } = {}): ConsortiumConfig {
  const c = readConfigFile(path);
  const i = c.members.findIndex((m) => m.name === entry.name);
  if (i >= 0 && !opts.replace) refuse('malformed', `member '${entry.name}' is already in ${path}`);
  if (i >= 0) c.members[i] = entry;
  else c.members.push(entry);
  // The custodian of a consent register named at init: the register is in force from now on.
  if (c.consent && !c.consent.custodian && entry.role === 'custodian' && entry.datasets?.includes(c.consent.dataset)) c.consent = { dataset: c.consent.dataset, custodian: entry.name };
  Consortium.fromConfig(c, dirname(resolve(path))); // refuse to write an invalid file
  writeFileSync(path, JSON.stringify(c, null, 2) + '\n');
  return c;
}
