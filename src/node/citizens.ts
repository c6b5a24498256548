// What a node holds about citizens (issue 15; services layer, see src/node/http.ts): the registered
// citizen keys (src/governance/citizens.ts), each verified by this node against the consortium's
// registering custodian, kept in <nodeDir>/governance/citizens/<kind>/ as JSON files and loaded at
// start. The same folder holds the citizens' other signed documents (grants, revocations: ./grants
// registry, src/governance/grants.ts), each kind with its own check; every node checks every document
// itself, so node 0 cannot register one the others would refuse.
//
// What a node learns here: a key, its pseudonymous name and ref; never the person (the key→person
// table is secret-shared: src/governance/citizens.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { writeAtomic } from '../governance/budget.js';
import { canonicalJson } from '../governance/canonical.js';
import { verifyCitizenKey, type CitizenKeyBody } from '../governance/citizens.js';
import type { Consortium } from '../governance/consortium.js';
import { refuse } from '../governance/errors.js';
import type { Identity } from '../governance/identities.js';
import { keyId, publicKeyFromPem } from '../governance/identity.js';
import { verifyRegistration, verifyRevocation, type GrantBody, type RevocationBody, type SignedGrant } from '../governance/grants.js';
import { verifyConsentEnvelope, verifyInboxKey, verifyProSubmission, type ConsentEnvelope, type ProSubmission, type SignedInboxKey } from '../governance/citizen-inbox.js';
import { hashJson } from '../governance/canonical.js';
import { GOVERNANCE_DIR } from './governance.js';

/** A kind of citizen document: how a node checks it and files it. */
export interface CitizenDocKind<T> {
  /** Sub-folder under governance/citizens/. */
  dir: string;
  /** Verifies the raw document at this node; returns its file name (stable per document) and what to keep. */
  check(raw: unknown, c: Consortium): { file: string; value: T; summary: string };
}

/** Documents of one kind, verified and stored by this node. */
export class DocFolder<T> {
  readonly items = new Map<string, T>();
  private readonly path: string;

  constructor(root: string, readonly kind: CitizenDocKind<T>, private readonly consortium: () => Consortium, log: (m: string) => void) {
    this.path = join(root, kind.dir);
    if (!existsSync(this.path)) return;
    for (const f of readdirSync(this.path).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        const raw = JSON.parse(readFileSync(join(this.path, f), 'utf8')) as unknown;
        this.items.set(f, this.kind.check(raw, this.consortium()).value);
      } catch (e) {
        log(`WARNING: not using ${kind.dir}/${f}: ${(e as Error).message}`);
      }
    }
  }

  /** Verifies and stores a document (again: nothing changes; another document under the same file: refused). */
  accept(raw: unknown): { isNew: boolean; summary: string; value: T } {
    const c = this.kind.check(raw, this.consortium());
    const path = join(this.path, c.file);
    if (existsSync(path)) {
      if (canonicalJson(JSON.parse(readFileSync(path, 'utf8'))) === canonicalJson(raw)) return { isNew: false, summary: c.summary, value: c.value };
      refuse('malformed', `${this.kind.dir}/${c.file} exists with other content at this node`);
    }
    writeAtomic(path, raw);
    this.items.set(c.file, c.value);
    return { isNew: true, summary: c.summary, value: c.value };
  }

  values(): T[] {
    return [...this.items.values()];
  }
}

/** A registered citizen key at this node. */
export interface RegisteredCitizen extends CitizenKeyBody {
  keyId: string;
  publicKeyObject: KeyObject;
}

export const CITIZEN_KEYS: CitizenDocKind<RegisteredCitizen> = {
  dir: 'keys',
  check(raw, c) {
    const k = verifyCitizenKey(raw, c);
    const pk = publicKeyFromPem(k.publicKey);
    return { file: `${k.name}.json`, value: { ...k, keyId: keyId(pk), publicKeyObject: pk }, summary: `citizen key ${k.name}` };
  },
};

/** A grant registered at this node, with the salt its accesses are logged under. */
export interface RegisteredGrant {
  grant: GrantBody;
  signed: SignedGrant;
  salt: string;
}

export interface CitizenRegistryOptions {
  nodeDir: string;
  consortium: Consortium | null;
  log: (m: string) => void;
}

/** The citizen documents this node verified: keys now; grants and the consent inbox register their kinds (folder()). */
export class CitizenRegistry {
  readonly root: string;
  readonly keys: DocFolder<RegisteredCitizen>;
  /** Grants (src/governance/grants.ts) and their revocations, each verified with the citizen's registered key. */
  readonly grants: DocFolder<RegisteredGrant>;
  readonly revocations: DocFolder<RevocationBody>;
  /** The consent custodian's inbox keys, citizens' sealed consent changes, citizens' questionnaires (src/governance/citizen-inbox.ts). */
  readonly inboxKeys: DocFolder<SignedInboxKey>;
  readonly consentInbox: DocFolder<ConsentEnvelope>;
  readonly submissions: DocFolder<ProSubmission>;
  private readonly folders = new Map<string, DocFolder<unknown>>();

  constructor(private readonly o: CitizenRegistryOptions) {
    this.root = join(o.nodeDir, GOVERNANCE_DIR, 'citizens');
    this.keys = this.folder(CITIZEN_KEYS);
    const keyOf = (name: string) => {
      const k = this.citizen(name);
      return k ? { keyId: k.keyId, publicKey: k.publicKeyObject } : undefined;
    };
    this.grants = this.folder<RegisteredGrant>({
      dir: 'grants',
      check: (raw, c) => {
        const { grant, reg } = verifyRegistration(raw, c, keyOf);
        return { file: `${grant.id}.json`, value: { grant, signed: reg.grant, salt: reg.salt }, summary: `grant ${grant.id} of ${grant.citizen} for ${grant.doctor}` };
      },
    });
    this.revocations = this.folder<RevocationBody>({
      dir: 'revocations',
      check: (raw) => {
        const r = verifyRevocation(raw, keyOf);
        const g = this.grant(r.grant);
        if (!g || g.grant.citizen !== r.citizen) refuse('grant', `${r.citizen} registered no grant ${r.grant}`);
        return { file: `${r.grant}.json`, value: r, summary: `revocation of grant ${r.grant}` };
      },
    });
    this.inboxKeys = this.folder<SignedInboxKey>({
      dir: 'inbox-keys',
      check: (raw, c) => {
        const k = verifyInboxKey(raw, c);
        return { file: `${k.time.replace(/[^0-9A-Za-z]/g, '')}-${hashJson(raw).slice(0, 12)}.json`, value: raw as SignedInboxKey, summary: `the consent custodian's inbox key of ${k.time}` };
      },
    });
    this.consentInbox = this.folder<ConsentEnvelope>({
      dir: 'consent-inbox',
      check: (raw) => {
        const e = verifyConsentEnvelope(raw, keyOf);
        return { file: `${e.change.nonce}.json`, value: e, summary: `a sealed consent change of ${e.change.citizen}` };
      },
    });
    this.submissions = this.folder<ProSubmission>({
      dir: 'pro-submissions',
      check: (raw) => {
        const s = verifyProSubmission(raw, keyOf);
        return { file: `${s.submission.nonce}.json`, value: s, summary: `a questionnaire of ${s.submission.citizen}` };
      },
    });
  }

  /** The consent custodian's latest inbox key. */
  inboxKey(): SignedInboxKey | undefined {
    return this.inboxKeys.values().sort((a, b) => a.key.time.localeCompare(b.key.time)).pop();
  }

  grant(id: string): RegisteredGrant | undefined {
    return this.grants.items.get(`${id}.json`);
  }

  revocationOf(id: string): RevocationBody | undefined {
    return this.revocations.items.get(`${id}.json`);
  }

  /** Governed nodes only: the consortium names who registers citizens. */
  need(): Consortium {
    if (!this.o.consortium) refuse('governed', 'citizens and doctors need a governed cluster (mosaik node --consortium <file>): the consortium names who registers citizens');
    return this.o.consortium;
  }

  /** The folder of a document kind (made on first use; loads what is on disk). */
  folder<T>(kind: CitizenDocKind<T>): DocFolder<T> {
    let f = this.folders.get(kind.dir) as DocFolder<T> | undefined;
    if (!f) {
      f = new DocFolder(this.root, kind, () => this.need(), this.o.log);
      this.folders.set(kind.dir, f as DocFolder<unknown>);
    }
    return f;
  }

  /** The folder that takes documents of `kind` (the name node 0 passes to the others). */
  folderNamed(kind: string): DocFolder<unknown> {
    const f = this.folders.get(kind);
    if (!f) refuse('malformed', `unknown citizen document kind ${JSON.stringify(kind)}`);
    return f;
  }

  citizen(name: string): RegisteredCitizen | undefined {
    return this.keys.items.get(`${name}.json`);
  }

  /** A citizen as an identity of the access layer (src/node/access.ts). */
  lookup(name: string): Identity | undefined {
    const c = this.o.consortium ? this.citizen(name) : undefined;
    return c ? { name: c.name, role: 'citizen', keyId: c.keyId, publicKey: c.publicKeyObject, datasets: [] } : undefined;
  }
}
