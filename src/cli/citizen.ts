// `mosaik citizen …`: the custodian that registers citizens (the owner of citizen_keys, the demo's
// consent register) issues citizen identities (src/governance/citizens.ts).
//
//   mosaik citizen register --dir <cluster> --key <custodian key> --person <id> [--out <dir>]
//                           [--public-key <pem>] [--table citizen-keys.csv] [--consortium <file>]
//       a new key pair for the citizen (or the public key the citizen's browser made), registered:
//       one more row (ref, person) in the secret-shared key→person table (a new version of
//       citizen_keys, uploaded like any register), then the signed key at every node
//   mosaik citizen enrol --dir … --key … --id-token <jwt file> --jwks <file> --issuer <url>
//                        --audience <client id> --public-key <pem> [--claim <name>]
//       the same for a key an OpenID Connect login proved whose it is (src/governance/citizen-oidc.ts)
//   mosaik consent inbox-key --dir … --key <consent custodian key> [--out consent-inbox.key.pem]
//   mosaik consent inbox --dir … --key … [--inbox-key …] [--table citizen-keys.csv] [--register consent.csv]
//       the consent custodian's inbox for citizens' sealed consent changes: publishes them as the next
//       register version (src/governance/citizen-docs.ts)
import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addCitizenKey, citizenKeysSchema, citizenName, citizenRegistrar, CITIZEN_KEY_FORMAT, encodeCitizenKeys, readCitizenKeys, signCitizenKey, writeCitizenKeys } from '../governance/citizens.js';
import { enrolFromIdToken } from '../governance/citizen-oidc.js';
import { Consortium } from '../governance/consortium.js';
import { GovernanceError } from '../governance/errors.js';
import { generateKeyPair, identityPaths, keyId, publicKeyFromPem, rawPublicKey, type Signer } from '../governance/identity.js';
import { uploadDataset } from '../ingest/upload.js';
import { INBOX_KEY_FORMAT, signInboxKey } from '../governance/citizen-inbox.js';
import { consentChange, readConsentFile, writeConsentFile, type ConsentEvent } from '../governance/consent.js';
import { generateUploadKey } from '../net/upload-keys.js';
import { openConsentInbox, readInboxDone, writeInboxDone } from './consent-inbox-open.js';
import { publishConsent } from './governance-remote.js';
import type { ClusterConfig } from '../net/keys.js';
import { apiRequest } from '../node/http.js';
import { clusterConfig } from './governance-remote.js';
import { cliSigner } from './identity-defaults.js';

export interface RegisteredCitizenFiles {
  name: string;
  ref: number;
  /** The citizen's key file (when made here). */
  keyPath?: string;
  /** <name>.citizen.json: the citizen's card (name at the nodes, person id) for signing in. */
  cardPath?: string;
}

/** The citizen's card: what their browser or CLI needs besides the key. */
export interface CitizenCard {
  format: 'mosaik-citizen-card/1';
  name: string;
  person: number;
}

/** Posts a document to node 0 (which has every node verify it); throws with the nodes' reason. */
export async function postToNode0(config: ClusterConfig, path: string, doc: unknown, signer: Signer): Promise<{ registered: string; new: boolean }> {
  const r = await apiRequest<{ registered?: string; new?: boolean; error?: string }>(config, 0, path, { body: doc, signer });
  if (r.status !== 200 && r.status !== 201) throw new GovernanceError('malformed', r.body?.error ?? `node 0 answered HTTP ${r.status}`);
  return { registered: r.body.registered ?? '', new: !!r.body.new };
}

/**
 * Registers a citizen (see the module comment). The custodian's plaintext table `table` gains a
 * row; the new version of citizen_keys goes to every node; then the signed key. Without
 * `publicKeyPem` a key pair is made and written to `outDir` with the citizen's card.
 */
export async function registerCitizen(o: { config: ClusterConfig; consortium: Consortium; signer: Signer; person: number; publicKeyPem?: string; outDir?: string; table: string; at?: Date }): Promise<RegisteredCitizenFiles> {
  const registrar = citizenRegistrar(o.consortium);
  if (o.signer.name !== registrar) throw new GovernanceError('wrong-signer', `citizens are registered by '${registrar}' (the custodian of citizen_keys), not '${o.signer.name}'`);
  const made = o.publicKeyPem ? null : generateKeyPair();
  const publicKey = o.publicKeyPem ?? made!.publicKeyPem;
  const name = citizenName(keyId(publicKeyFromPem(publicKey, 'the citizen\'s public key')));
  const at = o.at ?? new Date();
  const { rows, row } = addCitizenKey(readCitizenKeys(o.table), o.person, name, at);
  const version = `keys-${at.toISOString().replace(/[-:.]/g, '')}-${rows.length}`;
  await uploadDataset({ config: o.config, dataset: { schema: citizenKeysSchema(registrar), codeLists: new Map(), rows: rows.length, columns: encodeCitizenKeys(rows) }, version, signer: o.signer });
  writeCitizenKeys(o.table, rows);
  const doc = signCitizenKey({ format: CITIZEN_KEY_FORMAT, custodian: registrar, name, ref: row.ref, publicKey, registeredAt: row.registeredAt }, o.signer);
  await postToNode0(o.config, '/v1/citizens', doc, o.signer);
  if (!made) return { name, ref: row.ref };
  const dir = resolve(o.outDir ?? '.');
  mkdirSync(dir, { recursive: true });
  const { keyPath } = identityPaths(dir, name);
  writeFileSync(keyPath, made.privateKeyPem, { mode: 0o600 });
  const cardPath = join(dir, `${name}.citizen.json`);
  const card: CitizenCard = { format: 'mosaik-citizen-card/1', name, person: o.person };
  writeFileSync(cardPath, JSON.stringify(card, null, 2) + '\n', { mode: 0o600 });
  return { name, ref: row.ref, keyPath, cardPath };
}

/** The consent custodian publishes an X25519 inbox key (its private half written to `out`, mode 0600). */
export async function publishInboxKey(o: { config: ClusterConfig; signer: Signer; out: string }): Promise<string> {
  const k = generateUploadKey();
  writeFileSync(o.out, k.privateKeyPem, { mode: 0o600 });
  const doc = signInboxKey({ format: INBOX_KEY_FORMAT, custodian: o.signer.name, publicKey: k.publicKey, custodianKey: rawPublicKey(o.signer.privateKey).toString('base64url'), time: new Date().toISOString() }, o.signer);
  await postToNode0(o.config, '/v1/consent/inbox-key', doc, o.signer);
  return k.publicKey;
}

/**
 * The consent custodian's side of citizens' consent changes (src/governance/citizen-docs.ts): the
 * sealed changes not yet processed, each checked (the citizen's signature with the key the nodes
 * registered, the sealed change's hash) and opened with the inbox key, the citizen's key mapped to
 * the person in the custodian's own table, then published as one new register version (as `mosaik
 * consent set --dir` does) with the citizens' own salts in the commitments. Returns what was done.
 */
export async function processConsentInbox(o: { config: ClusterConfig; consortium: Consortium; signer: Signer; inboxKeyPem: string; table: string; register: string; version?: string }): Promise<{ changes: ConsentEvent[]; version?: string; skipped: string[] }> {
  const done = readInboxDone(o.register);
  const persons = new Map(readCitizenKeys(o.table).map((r) => [r.name, r.person]));
  const changes: ConsentEvent[] = [], salts: string[] = [], skipped: string[] = [];
  for (const c of await openConsentInbox({ ...o, done })) {
    try {
      if ('error' in c) throw new GovernanceError('consent', c.error);
      const person = persons.get(c.plain.citizen);
      if (person === undefined) throw new GovernanceError('consent', `${c.plain.citizen} is not in your key→person table`);
      changes.push(consentChange(o.consortium, person, c.plain.purpose, c.plain.granted, c.plain.time));
      salts.push(c.plain.salt);
    } catch (e) {
      skipped.push(`${c.nonce}: ${(e as Error).message}`);
    }
    done.add(c.nonce);
  }
  if (!changes.length) {
    writeInboxDone(o.register, done);
    return { changes, skipped };
  }
  const events = [...readConsentFile(o.register), ...changes];
  const pub = await publishConsent({ config: o.config, consortium: o.consortium, events, changes, salts, signer: o.signer, ...(o.version ? { version: o.version } : {}) });
  writeConsentFile(o.register, events);
  writeInboxDone(o.register, done);
  return { changes, version: pub.version, skipped };
}

export function consortiumFor(dir: string, file?: string): Consortium {
  const path = resolve(file ?? join(dir, 'consortium.json'));
  if (!existsSync(path)) throw new GovernanceError('malformed', `no consortium configuration at ${path}: pass --consortium <file>`);
  return Consortium.load(path);
}

const personOf = (s: string): number => {
  if (!/^\d{1,11}$/.test(s.trim())) throw new GovernanceError('malformed', `--person ${s} is not a person id (digits)`);
  return Number(s.trim());
};

export function registerCitizenCommands(program: Command): void {
  const citizen = program.command('citizen').description('citizen identities: keys registered by the custodian of the key→person table (issue 15)');
  const common = (c: Command) =>
    c
      .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
      .requiredOption('--key <file>', 'the registering custodian\'s Ed25519 private key (owner of citizen_keys)')
      .option('--consortium <file>', 'the consortium configuration (default <dir>/consortium.json)')
      .option('--table <file>', 'your plaintext key→person table (kept by you; created if absent)', 'citizen-keys.csv');
  const report = (r: RegisteredCitizenFiles) => {
    console.log(`registered ${r.name} (pseudonymous ref ${r.ref}) at every node; the key→person link is in the secret-shared table citizen_keys`);
    if (r.keyPath) console.log(`  the citizen's key: ${r.keyPath} (mode 0600: hand it to the citizen)\n  the citizen's card: ${r.cardPath} (name and person id, for signing in)`);
  };
  common(citizen.command('register').description('issue a citizen identity: a key pair for the citizen (or the public key their browser made), registered at every node'))
    .requiredOption('--person <id>', "the citizen's person id (CPR number)")
    .option('--out <dir>', 'where the citizen\'s key file and card go', '.')
    .option('--public-key <file>', 'register this public key (SPKI PEM, made in the citizen\'s browser) instead of making a key pair')
    .action(async (o: { dir: string; key: string; consortium?: string; table: string; person: string; out: string; publicKey?: string }) => {
      const dir = resolve(o.dir);
      const r = await registerCitizen({ config: clusterConfig(dir), consortium: consortiumFor(dir, o.consortium), signer: cliSigner({ dir, key: resolve(o.key), role: 'custodian' }), person: personOf(o.person), ...(o.publicKey ? { publicKeyPem: readFileSync(o.publicKey, 'utf8') } : {}), outDir: o.out, table: resolve(o.table) });
      report(r);
    });
  common(citizen.command('enrol').description('register a key whose owner an OpenID Connect login proved (the production seam: src/governance/citizen-oidc.ts)'))
    .requiredOption('--id-token <file>', 'the ID token (compact JWS) the broker issued for the login')
    .requiredOption('--jwks <file>', "the broker's published keys (JWKS JSON)")
    .requiredOption('--issuer <url>', "the broker's issuer identifier")
    .requiredOption('--audience <id>', 'your client id at the broker')
    .requiredOption('--public-key <file>', "the citizen's public key (SPKI PEM) the login's nonce is bound to")
    .option('--claim <name>', 'the claim holding the person id (default: the Danish broker\'s CPR claim)')
    .action(async (o: { dir: string; key: string; consortium?: string; table: string; idToken: string; jwks: string; issuer: string; audience: string; publicKey: string; claim?: string }) => {
      const dir = resolve(o.dir);
      const publicKeyPem = readFileSync(o.publicKey, 'utf8');
      const { person } = enrolFromIdToken(readFileSync(o.idToken, 'utf8'), publicKeyPem, { issuer: o.issuer, audience: o.audience, jwks: JSON.parse(readFileSync(o.jwks, 'utf8')), ...(o.claim ? { claim: o.claim } : {}) });
      report(await registerCitizen({ config: clusterConfig(dir), consortium: consortiumFor(dir, o.consortium), signer: cliSigner({ dir, key: resolve(o.key), role: 'custodian' }), person, publicKeyPem, table: resolve(o.table) }));
    });

  // The consent custodian's inbox for citizens' sealed changes (src/governance/citizen-docs.ts).
  const consent = program.commands.find((c) => c.name() === 'consent') ?? program.command('consent');
  consent
    .command('inbox-key')
    .description('the consent custodian publishes an X25519 key citizens seal their consent changes to (the private half stays in --out)')
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', "the consent custodian's Ed25519 key")
    .option('--out <file>', 'the inbox private key (mode 0600)', 'consent-inbox.key.pem')
    .action(async (o: { dir: string; key: string; out: string }) => {
      const dir = resolve(o.dir);
      console.log(`inbox key ${await publishInboxKey({ config: clusterConfig(dir), signer: cliSigner({ dir, key: resolve(o.key), role: 'custodian' }), out: resolve(o.out) })} registered at every node; its private half: ${o.out}`);
    });
  consent
    .command('inbox')
    .description("the consent custodian opens citizens' sealed consent changes and publishes them as the next register version")
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', "the consent custodian's Ed25519 key")
    .option('--inbox-key <file>', 'the inbox private key', 'consent-inbox.key.pem')
    .option('--consortium <file>', 'the consortium configuration (default <dir>/consortium.json)')
    .option('--table <file>', 'your key→person table', 'citizen-keys.csv')
    .option('--register <file>', 'your consent register CSV', 'consent.csv')
    .action(async (o: { dir: string; key: string; inboxKey: string; consortium?: string; table: string; register: string }) => {
      const dir = resolve(o.dir);
      const r = await processConsentInbox({ config: clusterConfig(dir), consortium: consortiumFor(dir, o.consortium), signer: cliSigner({ dir, key: resolve(o.key), role: 'custodian' }), inboxKeyPem: readFileSync(o.inboxKey, 'utf8'), table: resolve(o.table), register: resolve(o.register) });
      console.log(r.version ? `${r.changes.length} consent change(s) published as version ${r.version} at every node` : 'no new consent change');
      for (const s of r.skipped) console.log(`  skipped ${s}`);
    });
}
