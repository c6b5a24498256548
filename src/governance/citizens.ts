// Citizens' identities (issue 15). A citizen signs with an Ed25519 key of their own (a key file, or
// a non-extractable WebCrypto key made in their browser); the consent custodian registers it. The
// nodes must not learn whose key it is, so the registration is split in two:
//
//   - a signed citizen-key document {name, ref, publicKey}, registered at every node (each checks
//     the registering custodian's signature): the key, its pseudonymous name at the nodes
//     (citizen-<first 16 hex of the key id>) and a pseudonymous reference `ref`, a random number
//     below 2^34 the custodian draws. With it the nodes authenticate the citizen's requests (role
//     citizen) and know the key's ref — never the person;
//   - the key→person link as a secret-shared table, the dataset `citizen_keys` (key_ref, person_id),
//     uploaded by the same custodian like any register (signed, shares sealed per node). Whether a
//     person id someone gives (a doctor asking for a patient's record, a citizen submitting a
//     questionnaire) belongs to a key is decided inside MPC (src/mpc/select.ts: one revealed bit).
//
// The custodian keeps the plaintext table (citizen-keys.csv: key_ref, person_id, name, time), as it
// keeps the consent register: it registered the person, so it knows the link; what MPC hides is the
// link from the nodes and everyone else. Which custodian registers citizens: the owner of the
// dataset `citizen_keys` in the consortium (the demo's consent register custodian).
//
// Production: the custodian registers a key after an OpenID Connect login at the national e-ID
// broker proved whose it is (./citizen-oidc.ts); Mosaik keeps no password of its own.
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { PERSON_ID_LIMIT, type DatasetSchema } from '../ingest/schema.js';
import type { Consortium } from './consortium.js';
import { refuse } from './errors.js';
import { keyId, publicKeyFromPem, signDocument, verifyDocument, type Signature, type Signer } from './identity.js';
import { docShape } from './doc-shape.js';
import { isoTime, parseTime } from './study.js';

/** The dataset holding the key→person link (secret-shared). */
export const CITIZEN_KEYS_DATASET = 'citizen_keys';
export const CITIZEN_KEY_FORMAT = 'mosaik-citizen-key/1';
/** Key references are drawn below this (they are compared with 34-bit person ids in one circuit). */
export const KEY_REF_LIMIT = 2 ** 34;
/** The most keys one person may have registered (a lost phone, a new browser). */
export const MAX_KEYS_PER_PERSON = 16;

import { citizenName, isCitizenName } from './citizens-format.js';
export { citizenName, isCitizenName } from './citizens-format.js';

export function citizenKeysSchema(custodian: string): DatasetSchema {
  return {
    name: CITIZEN_KEYS_DATASET,
    custodian,
    description: 'Registered citizen keys: which person each pseudonymous key reference belongs to (the link stays secret-shared; checked inside MPC)',
    columns: [
      { name: 'key_ref', type: 'int', min: 0, max: KEY_REF_LIMIT - 1, description: 'pseudonymous reference of a registered key (random)' },
      { name: 'person_id', type: 'person_id', maxRowsPerPerson: MAX_KEYS_PER_PERSON, description: 'the citizen the key belongs to' },
    ],
  };
}

export interface CitizenKeyBody {
  format: typeof CITIZEN_KEY_FORMAT;
  /** The registering custodian (owner of citizen_keys). */
  custodian: string;
  /** citizen-<key id prefix>. */
  name: string;
  ref: number;
  /** SPKI PEM of the citizen's Ed25519 public key. */
  publicKey: string;
  registeredAt: string;
}

export interface CitizenKey {
  key: CitizenKeyBody;
  signature?: Signature;
}

/** Who registers citizens: the owner of citizen_keys. */
export function citizenRegistrar(c: Consortium): string {
  const owner = c.custodianOf(CITIZEN_KEYS_DATASET);
  if (!owner) refuse('unknown-dataset', `consortium '${c.name}' names no custodian of '${CITIZEN_KEYS_DATASET}' (the key→person table); citizens cannot be registered`);
  return owner;
}

export function checkCitizenKeyShape(x: unknown): CitizenKey {
  const { doc: o, body: k, bad } = docShape<CitizenKey, CitizenKeyBody>(x, 'key', CITIZEN_KEY_FORMAT, 'citizen key');
  if (typeof k.custodian !== 'string' || !k.custodian) bad('custodian is required');
  if (typeof k.name !== 'string' || !isCitizenName(k.name)) bad(`name ${JSON.stringify(k.name)} must be citizen-<16 hex digits of the key id>`);
  if (!Number.isSafeInteger(k.ref) || k.ref < 0 || k.ref >= KEY_REF_LIMIT) bad(`ref must be an integer in 0..2^34−1`);
  if (typeof k.publicKey !== 'string') bad('publicKey (SPKI PEM) is required');
  if (citizenName(keyId(publicKeyFromPem(k.publicKey, 'citizen key'))) !== k.name) bad(`name ${k.name} is not the name of this key (${citizenName(keyId(publicKeyFromPem(k.publicKey)))})`);
  parseTime(k.registeredAt, 'citizen key: registeredAt');
  return o;
}

export function signCitizenKey(body: CitizenKeyBody, signer: Signer): CitizenKey {
  checkCitizenKeyShape({ key: body });
  return { key: body, signature: signDocument('citizen-key', body, signer) };
}

/** Checks the registering custodian's signature; returns the body. */
export function verifyCitizenKey(doc: unknown, c: Consortium): CitizenKeyBody {
  const ck = checkCitizenKeyShape(doc);
  const k = ck.key;
  const owner = citizenRegistrar(c);
  if (k.custodian !== owner) refuse('wrong-signer', `citizen keys are registered by '${owner}' (the custodian of ${CITIZEN_KEYS_DATASET}), not '${k.custodian}'`);
  const m = c.member(owner)!;
  const sig = ck.signature;
  if (!sig) refuse('unsigned', `citizen key ${k.name} is not signed`);
  if (sig.signer !== owner || sig.keyId !== m.keyId) refuse('wrong-signer', `citizen key ${k.name} is not signed with the registered key of '${owner}'`);
  if (!verifyDocument('citizen-key', k, sig, m.publicKey)) refuse('bad-signature', `citizen key ${k.name}: the signature does not verify`);
  return k;
}

// ---------------------------------------------------------------------------------------------
// The custodian's plaintext table (citizen-keys.csv), from which each upload is made.

export interface CitizenKeyRow {
  ref: number;
  person: number;
  name: string;
  registeredAt: string;
}

const HEADER = 'key_ref,person_id,name,registered_at';

export function readCitizenKeys(path: string): CitizenKeyRow[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  if (lines[0]?.trim() !== HEADER) refuse('malformed', `${path}: the header must be ${HEADER}`);
  return lines.slice(1).map((l, i) => {
    const [ref, person, name, registeredAt] = l.split(',').map((x) => x.trim());
    const row = { ref: Number(ref), person: Number(person), name: name ?? '', registeredAt: registeredAt ?? '' };
    if (!Number.isSafeInteger(row.ref) || !Number.isSafeInteger(row.person) || !isCitizenName(row.name)) refuse('malformed', `${path}, line ${i + 2}: expected ${HEADER}`);
    return row;
  });
}

export function writeCitizenKeys(path: string, rows: CitizenKeyRow[]): void {
  writeFileSync(path, [HEADER, ...rows.map((r) => `${r.ref},${String(r.person).padStart(10, '0')},${r.name},${r.registeredAt}`)].join('\n') + '\n', { mode: 0o600 });
}

/** The table with one more key (a fresh random ref, unused so far); refuses a key already registered. */
export function addCitizenKey(rows: CitizenKeyRow[], person: number, name: string, at = new Date()): { rows: CitizenKeyRow[]; row: CitizenKeyRow } {
  if (!Number.isSafeInteger(person) || person < 0 || BigInt(person) >= PERSON_ID_LIMIT) refuse('malformed', `person id ${person} must be an integer in 0..2^34−1`);
  if (rows.some((r) => r.name === name)) refuse('malformed', `key ${name} is already registered`);
  if (rows.filter((r) => r.person === person).length >= MAX_KEYS_PER_PERSON) refuse('malformed', `this person has ${MAX_KEYS_PER_PERSON} keys registered already`);
  const used = new Set(rows.map((r) => r.ref));
  let ref: number;
  do ref = randomInt(0, 2 ** 24) * 2 ** 10 + randomInt(0, 2 ** 10);
  while (used.has(ref));
  const row = { ref, person, name, registeredAt: isoTime(at.getTime()) };
  return { rows: [...rows, row], row };
}

/** The table's columns as ring elements, for sharing. */
export function encodeCitizenKeys(rows: CitizenKeyRow[]): Map<string, BigUint64Array> {
  return new Map([
    ['key_ref', BigUint64Array.from(rows, (r) => BigInt(r.ref))],
    ['person_id', BigUint64Array.from(rows, (r) => BigInt(r.person))],
  ]);
}
