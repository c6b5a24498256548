// A compute node's governance state (issue 6): the consortium configuration, custodians' signed
// policies, registered studies and approvals, consent-register updates, the researchers' request
// nonces already used, and (src/governance) the privacy budget and usage files. All of it lives in
// <nodeDir>/governance/ as JSON files, loaded at start and extended through the API
// (src/node/governance-api.ts); a document is stored only after this node verified it itself.
//
//   governance/consortium.json              the consortium configuration (keys inlined); its presence
//                                           puts the node in GOVERNED mode: every query must name a
//                                           study and carry its researcher's signed request
//   governance/policies/*.json              signed custodian policies (several versions allowed)
//   governance/studies/<id>-<hash16>.json   signed studies, one file per version
//   governance/approvals/*.json             custodians' signed approvals and rejections
//   governance/consent-updates/*.json       the consent custodian's signed notices of new register versions
//   governance/requests.json                request nonces used (replay protection), with their job
//   governance/budget.json, usage.json      privacy budget per study, usage per custodian (src/governance)
//
// Without governance/consortium.json the node runs as before (un-governed: ad-hoc SQL from anyone
// who reaches the API; for trusted networks and the engine demo only). `mosaik node --consortium
// <file>` installs the file (public keys given as paths are inlined, so the copy stands alone).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeAtomic, PrivacyBudget } from '../governance/budget.js';
import { canonicalJson, hashJson } from '../governance/canonical.js';
import { consentUpdateLedgerBody, verifyConsentUpdate, type ConsentUpdate } from '../governance/consent-update.js';
import { Consortium, readConfigFile } from '../governance/consortium.js';
import { GovernanceError, refuse } from '../governance/errors.js';
import type { Signer } from '../governance/identity.js';
import { parseSignedPolicy, policyLedgerBody, verifyPolicy, type SignedPolicy } from '../governance/policy.js';
import {
  approvalLedgerBody, parseApproval, parseSignedStudy, studyCustodians, studyHash, studyLedgerBody, verifyApproval, verifyStudySignature, type Approval, type SignedStudy,
} from '../governance/study.js';
import { UsageLog } from '../governance/usage.js';
import type { EntryKind, JsonValue } from '../ledger/entry.js';

export const GOVERNANCE_DIR = 'governance';

/** Kinds of documents a node registers (API: POST /v1/studies, /v1/approvals, /v1/policies, /v1/consent/updates). */
export type DocKind = 'study' | 'approval' | 'policy' | 'consent-update';
export const DOC_KINDS: readonly DocKind[] = ['study', 'approval', 'policy', 'consent-update'];

const LEDGER_KIND: Record<DocKind, EntryKind> = { study: 'study-submitted', approval: 'study-approved', policy: 'policy-published', 'consent-update': 'consent-changed' };
const SUBDIR: Record<DocKind, string> = { study: 'studies', approval: 'approvals', policy: 'policies', 'consent-update': 'consent-updates' };

/** A verified document, ready to store and log. */
export interface Checked {
  kind: DocKind;
  doc: SignedStudy | Approval | SignedPolicy | ConsentUpdate;
  /** File name under its directory (stable per document: the same document → the same file). */
  file: string;
  ledgerKind: EntryKind;
  ledgerBody: { [k: string]: JsonValue };
  /** One line for logs and answers. */
  summary: string;
}

/** How long used request nonces are kept: well past the ±15 min a request is fresh for. */
const NONCE_KEEP_MS = 2 * 60 * 60_000;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * Installs a consortium configuration into a node directory (governance/consortium.json), with
 * every public key given as a file path replaced by the PEM text; validates it first.
 */
export function installConsortium(nodeDir: string, file: string): Consortium {
  const path = resolve(file);
  if (!existsSync(path)) refuse('malformed', `consortium configuration ${path} does not exist`);
  const c = readConfigFile(path);
  const base = dirname(path);
  const inline = (pk: string) => (typeof pk === 'string' && !pk.includes('-----BEGIN') ? readFileSync(resolve(base, pk), 'utf8') : pk);
  c.members = (c.members ?? []).map((m) => ({ ...m, publicKey: inline(m.publicKey) }));
  if (c.nodes) c.nodes = c.nodes.map((n) => ({ ...n, publicKey: inline(n.publicKey) }));
  const consortium = Consortium.fromConfig(c, base);
  const dest = join(nodeDir, GOVERNANCE_DIR, 'consortium.json');
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, JSON.stringify(c, null, 2) + '\n');
  return consortium;
}

export interface NodeGovernanceOptions {
  nodeDir: string;
  log: (msg: string) => void;
  /** Rows of a stored dataset version, or undefined (to check consent updates against the store). */
  datasetRows: (name: string, version: string) => number | undefined;
  /** This node's Ed25519 signer (its transparency-log key) for attesting authorizations. */
  signer?: Signer;
}

export class NodeGovernance {
  readonly dir: string;
  readonly consortium: Consortium | null;
  readonly budget: PrivacyBudget;
  readonly usage: UsageLog;
  readonly signer: Signer | undefined;
  private readonly studies = new Map<string, SignedStudy>(); // by hash
  private readonly approvals = new Map<string, Approval>(); // by file name
  private readonly policies = new Map<string, SignedPolicy>();
  private readonly consentUpdates = new Map<string, ConsentUpdate>();
  private nonces: Record<string, { job: string; at: string }> = {};

  constructor(private readonly o: NodeGovernanceOptions) {
    this.dir = join(o.nodeDir, GOVERNANCE_DIR);
    this.signer = o.signer;
    const cpath = join(this.dir, 'consortium.json');
    this.consortium = existsSync(cpath) ? Consortium.load(cpath) : null;
    this.budget = PrivacyBudget.open(o.nodeDir);
    this.usage = UsageLog.open(o.nodeDir);
    if (this.consortium) for (const kind of DOC_KINDS) this.loadDir(kind);
    // Request nonces guard governed and ad-hoc requests alike.
    const npath = join(this.dir, 'requests.json');
    if (existsSync(npath)) {
      try {
        this.nonces = (JSON.parse(readFileSync(npath, 'utf8')) as { used?: Record<string, { job: string; at: string }> }).used ?? {};
      } catch (e) {
        // Without it a replay could pass: refuse to start rather than forget.
        throw new Error(`${npath} cannot be read (${(e as Error).message}); it guards against replayed query requests`);
      }
    }
  }

  /** Governed mode: a consortium configuration is installed. */
  get governed(): boolean {
    return this.consortium !== null;
  }

  /** The consortium, or a refusal for a node without one. */
  need(): Consortium {
    if (!this.consortium) refuse('governed', 'this node runs without a consortium configuration (un-governed); start it with `mosaik node --consortium <file>` to register studies, approvals, policies and consent updates');
    return this.consortium;
  }

  private loadDir(kind: DocKind): void {
    const d = join(this.dir, SUBDIR[kind]);
    if (!existsSync(d)) return;
    for (const f of readdirSync(d).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        const c = this.check(kind, JSON.parse(readFileSync(join(d, f), 'utf8')));
        this.put(c, f);
      } catch (e) {
        this.o.log(`WARNING: governance: not using ${SUBDIR[kind]}/${f}: ${(e as Error).message}`);
      }
    }
    this.o.log(`governance: ${this.count(kind)} ${SUBDIR[kind]} loaded`);
  }

  private count(kind: DocKind): number {
    return { study: this.studies, approval: this.approvals, policy: this.policies, 'consent-update': this.consentUpdates }[kind].size;
  }

  /** Verifies a document at this node (signatures, signers, what it refers to); stores nothing. */
  check(kind: DocKind, raw: unknown): Checked {
    const c = this.need();
    switch (kind) {
      case 'study': {
        const ss = parseSignedStudy(raw);
        const h = verifyStudySignature(ss, c);
        const s = ss.study;
        if (!c.purpose(s.purpose)) refuse('unknown-purpose', `study '${s.id}': purpose '${s.purpose}' is not declared by consortium '${c.name}' (declared: ${c.purposes.map((p) => p.code).join(', ')})`);
        studyCustodians(s, c); // every dataset has an owner
        return { kind, doc: ss, file: `${safe(s.id)}-${h.slice(0, 16)}.json`, ledgerKind: LEDGER_KIND[kind], ledgerBody: studyLedgerBody(ss), summary: `study '${s.id}' (${h.slice(0, 16)}…) by '${s.researcher}' for ${s.purpose}` };
      }
      case 'approval': {
        const ap = parseApproval(raw);
        verifyApproval(ap, c);
        const a = ap.approval;
        const ss = this.studies.get(a.studyHash);
        if (!ss || ss.study.id !== a.study) refuse('approval-mismatch', `the approval by '${a.custodian}' is for study '${a.study}' version ${a.studyHash.slice(0, 16)}…, which is not registered at this node: submit the study first`);
        if (!studyCustodians(ss.study, c).has(a.custodian)) refuse('wrong-signer', `study '${a.study}' reads no dataset of custodian '${a.custodian}'`);
        return { kind, doc: ap, file: `${safe(a.study)}-${safe(a.custodian)}-${hashJson(ap).slice(0, 16)}.json`, ledgerKind: LEDGER_KIND[kind], ledgerBody: approvalLedgerBody(ap), summary: `${a.decision === 'approve' ? 'approval' : 'rejection'} of study '${a.study}' by '${a.custodian}'` };
      }
      case 'policy': {
        const sp = parseSignedPolicy(raw);
        const p = verifyPolicy(sp, c);
        return { kind, doc: sp, file: `${safe(p.custodian)}-${safe(p.issuedAt)}-${hashJson(p).slice(0, 12)}.json`, ledgerKind: LEDGER_KIND[kind], ledgerBody: policyLedgerBody(sp), summary: `policy of '${p.custodian}' issued ${p.issuedAt} for ${p.datasets.map((d) => d.dataset).join(', ')}` };
      }
      case 'consent-update': {
        const cu = raw as ConsentUpdate;
        const u = verifyConsentUpdate(cu, c);
        const rows = this.o.datasetRows(u.dataset, u.version);
        if (rows === undefined) refuse('consent', `consent update: this node stores no version ${u.version} of '${u.dataset}'; upload the register version first`);
        if (rows !== u.rows) refuse('consent', `consent update: '${u.dataset}' version ${u.version} has ${rows} rows here, the update says ${u.rows}`);
        return { kind, doc: cu, file: `${safe(u.dataset)}-${safe(u.version)}.json`, ledgerKind: LEDGER_KIND[kind], ledgerBody: consentUpdateLedgerBody(cu), summary: `consent register ${u.dataset}@${u.version}: ${u.changes.length} change(s)` };
      }
    }
  }

  private put(c: Checked, file: string): void {
    const key = file;
    if (c.kind === 'study') this.studies.set(studyHash((c.doc as SignedStudy).study), c.doc as SignedStudy);
    else if (c.kind === 'approval') this.approvals.set(key, c.doc as Approval);
    else if (c.kind === 'policy') this.policies.set(key, c.doc as SignedPolicy);
    else this.consentUpdates.set(key, c.doc as ConsentUpdate);
  }

  /** Verifies and stores a document; `isNew` false when this node already had it (nothing changes). */
  accept(kind: DocKind, raw: unknown): Checked & { isNew: boolean } {
    const c = this.check(kind, raw);
    const path = join(this.dir, SUBDIR[kind], c.file);
    if (existsSync(path)) {
      if (canonicalJson(JSON.parse(readFileSync(path, 'utf8'))) === canonicalJson(c.doc)) return { ...c, isNew: false };
      // A consent update for a version that already has another notice (the version is immutable).
      refuse('malformed', `${SUBDIR[kind]}/${c.file} exists with other content at this node`);
    }
    writeAtomic(path, c.doc);
    this.put(c, c.file);
    this.o.log(`governance: registered ${c.summary}`);
    return { ...c, isNew: true };
  }

  /** Whether this node holds a document whose log body is exactly `body` (ledger validators). */
  holds(ledgerKind: EntryKind, body: unknown): boolean {
    const want = canonicalJson(body);
    const docs: [DocKind, unknown][] = [
      ...[...this.studies.values()].map((d): [DocKind, unknown] => ['study', d]),
      ...[...this.approvals.values()].map((d): [DocKind, unknown] => ['approval', d]),
      ...[...this.policies.values()].map((d): [DocKind, unknown] => ['policy', d]),
      ...[...this.consentUpdates.values()].map((d): [DocKind, unknown] => ['consent-update', d]),
    ];
    return docs.some(([k, d]) => {
      if (LEDGER_KIND[k] !== ledgerKind) return false;
      const b = k === 'study' ? studyLedgerBody(d as SignedStudy) : k === 'approval' ? approvalLedgerBody(d as Approval) : k === 'policy' ? policyLedgerBody(d as SignedPolicy) : consentUpdateLedgerBody(d as ConsentUpdate);
      return canonicalJson(b) === want;
    });
  }

  allPolicies(): SignedPolicy[] {
    return [...this.policies.values()];
  }

  allApprovals(): Approval[] {
    return [...this.approvals.values()];
  }

  studyByHash(hash: string): SignedStudy | undefined {
    return this.studies.get(hash);
  }

  /** Every registered version of a study, oldest first (by createdAt). */
  studyVersions(id: string): SignedStudy[] {
    return [...this.studies.values()].filter((s) => s.study.id === id).sort((a, b) => a.study.createdAt.localeCompare(b.study.createdAt));
  }

  allStudies(): SignedStudy[] {
    return [...this.studies.values()];
  }

  /**
   * The consent register version in force at time `at` (a job's submission): the one named by the
   * newest registered consent update of `dataset` signed at or before `at`; null when none is. Every
   * node decides this itself from the updates it verified and registered, so node 0 cannot pick an
   * older register (one without recent withdrawals) for a job.
   */
  consentInForce(dataset: string, at: string): { version: string; rows: number; time: string } | null {
    const t = Date.parse(at);
    let best: ConsentUpdate['update'] | null = null;
    for (const cu of this.consentUpdates.values()) {
      const u = cu.update;
      if (u.dataset !== dataset || !(Date.parse(u.time) <= t)) continue;
      if (!best || u.time > best.time || (u.time === best.time && u.version > best.version)) best = u;
    }
    return best ? { version: best.version, rows: best.rows, time: best.time } : null;
  }

  /** Refuses a request nonce seen before (a replayed request); records it for `job` otherwise. */
  useNonce(nonce: string, job: string): void {
    const seen = this.nonces[nonce];
    if (seen && seen.job !== job) refuse('request', `this query request (nonce ${nonce}) was already used for job ${seen.job} at ${seen.at}; the researcher must sign a new request for each run`);
    if (seen) return;
    const now = Date.now();
    const kept = Object.fromEntries(Object.entries(this.nonces).filter(([, v]) => now - Date.parse(v.at) < NONCE_KEEP_MS));
    kept[nonce] = { job, at: new Date(now).toISOString() };
    writeAtomic(join(this.dir, 'requests.json'), { format: 'mosaik-request-nonces/1', used: kept });
    this.nonces = kept;
  }

  /** Public metadata of the registered studies, with each custodian's decision (GET /v1/studies). */
  listStudies(now = new Date()): StudyListing[] {
    const c = this.need();
    return this.allStudies()
      .map((ss) => {
        const s = ss.study;
        const h = studyHash(s);
        const owners = [...studyCustodians(s, c).keys()];
        const aps = this.allApprovals().filter((a) => a.approval.studyHash === h);
        const decided = owners.map((o) => {
          const mine = aps.filter((a) => a.approval.custodian === o).sort((x, y) => x.approval.time.localeCompare(y.approval.time));
          const last = mine[mine.length - 1];
          return { custodian: o, decision: last ? last.approval.decision : ('pending' as const), ...(last ? { time: last.approval.time } : {}) };
        });
        const t = now.getTime();
        const period = t < Date.parse(s.validFrom) ? 'not yet valid' : t >= Date.parse(s.validUntil) ? 'expired' : 'valid';
        return {
          id: s.id, hash: h, title: s.title, researcher: s.researcher, purpose: s.purpose, datasets: s.datasets.map((d) => d.name), queries: s.queries.map((q) => q.id),
          validFrom: s.validFrom, validUntil: s.validUntil, period, approvals: decided,
          approved: decided.every((d) => d.decision === 'approve'),
          ...(s.privacy ? { privacy: { epsilon: s.privacy.epsilon, ...(s.privacy.delta !== undefined ? { delta: s.privacy.delta } : {}) } } : {}),
        };
      })
      .sort((a, b) => a.id.localeCompare(b.id) || a.validFrom.localeCompare(b.validFrom));
  }
}

export interface StudyListing {
  id: string;
  hash: string;
  title: string;
  researcher: string;
  purpose: string;
  datasets: string[];
  queries: string[];
  validFrom: string;
  validUntil: string;
  period: string;
  approvals: { custodian: string; decision: 'approve' | 'reject' | 'pending'; time?: string }[];
  approved: boolean;
  privacy?: { epsilon: number; delta?: number };
}

export { GovernanceError };
