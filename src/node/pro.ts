// Patient-reported data at one node (issue 15; services layer): citizens' questionnaires
// (src/governance/patient-reported.ts, sealed per node in the browser: src/governance/citizen-docs.ts)
// become rows of the register patient_reported. Node 0 registers a submission at every node (each
// checks the citizen's signature and the hashes of the sealed parts), then the three append it in
// one MPC session (append):
//   - this node opens its own sealed part: its share pairs of the row (person id, date, answers);
//   - checkConsistent: the three nodes' pairs fit together (a citizen cannot give each node another row);
//   - the key check inside MPC (src/mpc/select.ts): the row's person id owns the citizen's key in
//     citizen_keys — a citizen adds rows for themself only; one revealed bit;
//   - each node writes the next version of patient_reported: the previous version's rows and the
//     new one (its shares), under the version name node 0 chose.
// What a node learns: that this pseudonymous citizen submitted a questionnaire, when, and the bit;
// never an answer or the person. The register is owned by the consortium's custodian of
// patient_reported (its policy and approvals govern studies on it; consent applies as to any).
// Appends are serialised by node 0; the register's versions are immutable like every dataset's.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { concatShares } from '../mpc/arith.js';
import { AShare } from '../mpc/share.js';
import { checkConsistent, selectRecord } from '../mpc/select.js';
import { writeAtomic } from '../governance/budget.js';
import { CITIZEN_KEYS_DATASET } from '../governance/citizens.js';
import { refuse } from '../governance/errors.js';
import { PRO_DATASET, proCodeLists, proSchema } from '../governance/patient-reported.js';
import { pairOf } from '../governance/record-format.js';
import type { CitizenRegistry } from './citizens.js';
import { JobError } from './errors.js';
import { mpcSession, type SessionOptions } from './mpc-session.js';
import { shareColumns, type ShareStore } from './store.js';

/** Node 0's plan for one append, the same at every node. */
export interface AppendSpec {
  id: string;
  /** The submission (its nonce). */
  nonce: string;
  /** The version it extends (null: the first), and the version it makes. */
  previous: string | null;
  version: string;
  /** The citizen_keys version the key check reads. */
  keys: string;
}

export interface SubmissionStatus {
  status: 'pending' | 'added' | 'rejected' | 'failed';
  version?: string;
  error?: string;
  at: string;
}

export interface ProServiceOptions extends SessionOptions {
  store: ShareStore;
  citizens: CitizenRegistry;
  nodeDir: string;
  /** Opens this node's sealed part of a questionnaire (bound to the dataset and '~submission-<nonce>'). */
  openShares: (sealed: Uint8Array, nonce: string) => Promise<Uint8Array>;
  log: (m: string) => void;
}

export class ProService {
  private readonly statusFile: string;
  private readonly statuses: Record<string, SubmissionStatus>;
  /** This node's latest append: the next one is checked only after it has written its version. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ProServiceOptions) {
    this.statusFile = join(o.nodeDir, 'governance', 'citizens', 'pro-status.json');
    this.statuses = existsSync(this.statusFile) ? (JSON.parse(readFileSync(this.statusFile, 'utf8')) as Record<string, SubmissionStatus>) : {};
  }

  status(nonce: string): SubmissionStatus | undefined {
    return this.statuses[nonce];
  }

  private setStatus(nonce: string, s: Omit<SubmissionStatus, 'at'>): void {
    this.statuses[nonce] = { ...s, at: new Date().toISOString() };
    writeAtomic(this.statusFile, this.statuses);
  }

  private latest(name: string): string | null {
    try {
      return this.o.store.get(name).version;
    } catch {
      return null;
    }
  }

  /** Node 0: the append of a registered submission. */
  plan(nonce: string): AppendSpec {
    const keys = this.latest(CITIZEN_KEYS_DATASET);
    if (!keys) throw new JobError('no citizen is registered (no key→person table)', 409);
    const previous = this.latest(PRO_DATASET);
    const rows = previous ? this.o.store.get(PRO_DATASET, previous).rows : 0;
    return { id: randomUUID(), nonce, previous, version: `pro-${String(rows + 1).padStart(6, '0')}-${nonce.slice(0, 8)}`, keys };
  }

  /** Every node: the plan fits what it holds (the submission, the previous version, the key table). */
  check(spec: AppendSpec): void {
    if (!this.o.citizens.submissions.items.has(`${spec.nonce}.json`)) throw new JobError(`no questionnaire ${spec.nonce} is registered at this node`, 409);
    if (this.latest(PRO_DATASET) !== spec.previous) throw new JobError(`${PRO_DATASET} is at version ${this.latest(PRO_DATASET)} here, not ${spec.previous}`, 409);
    this.o.store.get(CITIZEN_KEYS_DATASET, spec.keys);
    if (this.statuses[spec.nonce]?.status === 'added') throw new JobError(`questionnaire ${spec.nonce} was added already`, 409);
  }

  /** Resolves once this node's latest append has finished here (its version written, or its failure recorded). */
  settled(): Promise<void> {
    return this.last.then(() => {}, () => {});
  }

  /** The MPC session and the new version (module comment). Resolves with the submission's status here. */
  append(spec: AppendSpec): Promise<SubmissionStatus> {
    const done = this.appendNow(spec);
    this.last = done;
    return done;
  }

  private async appendNow(spec: AppendSpec): Promise<SubmissionStatus> {
    try {
      this.check(spec);
      const sub = this.o.citizens.submissions.items.get(`${spec.nonce}.json`)!;
      const c = this.o.citizens.need();
      const custodian = c.custodianOf(PRO_DATASET);
      if (!custodian) refuse('unknown-dataset', `consortium '${c.name}' names no custodian of ${PRO_DATASET}`);
      const schema = proSchema(custodian);
      const width = schema.columns.length;
      const citizen = this.o.citizens.citizen(sub.submission.citizen);
      if (!citizen) refuse('wrong-signer', `${sub.submission.citizen} is not a registered citizen`);
      const bytes = await this.o.openShares(new Uint8Array(Buffer.from(sub.sealed[this.o.me]!, 'base64url')), spec.nonce);
      if (bytes.length !== 16 * width) throw new JobError(`questionnaire ${spec.nonce}: ${bytes.length} bytes of shares, expected ${16 * width}`, 400);
      const pairs = Array.from({ length: width }, (_, k) => pairOf(bytes.subarray(16 * k, 16 * k + 16), 'a questionnaire value'));
      const row = new AShare(BigUint64Array.from(pairs, (x) => x.a), BigUint64Array.from(pairs, (x) => x.b));
      const { value: match } = await mpcSession(this.o, `pro/${spec.id}`, async (p) => {
        await checkConsistent(p, row, `questionnaire ${spec.nonce}`);
        const keys = this.o.store.load(CITIZEN_KEYS_DATASET, spec.keys, ['key_ref', 'person_id']);
        return (await selectRecord(p, { person: row.slice(0, 1), key: { table: { ref: keys.get('key_ref')!, person: keys.get('person_id')! }, ref: BigInt(citizen.ref) }, tables: [] })).match;
      });
      if (match !== 1) {
        this.setStatus(spec.nonce, { status: 'rejected', error: 'the person id in the questionnaire is not the citizen\'s (checked inside MPC)' });
        return this.statuses[spec.nonce]!;
      }
      const old = spec.previous ? this.o.store.load(PRO_DATASET, spec.previous) : null;
      const columns = schema.columns.map((col) => col.name);
      const full = columns.map((name, k) => concatShares([...(old ? [old.get(name)!] : []), row.slice(k, k + 1)]));
      const rows = full[0]!.length;
      await this.o.store.write({ name: PRO_DATASET, version: spec.version, schema, codeLists: [...proCodeLists().values()], rows, columns, party: this.o.me }, shareColumns(full));
      this.o.log(`questionnaire ${spec.nonce} of ${sub.submission.citizen} added: ${PRO_DATASET}@${spec.version} (${rows} rows)`);
      this.setStatus(spec.nonce, { status: 'added', version: spec.version });
    } catch (e) {
      this.setStatus(spec.nonce, { status: 'failed', error: (e as Error).message });
    }
    return this.statuses[spec.nonce]!;
  }
}
