// A patient's own record for a doctor, at one node (issue 15; services layer). Node 0 receives the
// doctor's signed request (src/governance/record-format.ts), offers it to nodes 1 and 2, and each
// node admits it ON ITS OWN (admit): the request is the doctor's, fresh and not replayed; the grant
// it carries is signed with the citizen's registered key, names this doctor, is in its period, is
// registered here (with the salt its accesses are logged under) and not revoked; the registers are
// record registers stored here in the versions node 0 chose. A refusal is the job's error at that
// node ("refused: …"). Once all three admitted it, node 0 logs the access ('record-accessed': a
// commitment only the citizen can open, ./ledger validator below), then the three run the MPC:
//
//   the person id: this node's share pair, sealed to its upload key in the request (opened here;
//     checked consistent with the neighbours' copies: src/mpc/select.ts checkConsistent)
//   the key check: inside MPC, whether the person id owns the grant's citizen key (citizen_keys);
//     one revealed bit — a request for another patient is refused by every node here
//   the selection: that person's rows of every register, padded to its public bound, shuffled,
//     kept (src/mpc/select.ts); this node seals its share pairs of the kept words to the doctor's
//     key (src/governance/sealed.ts) and serves them to the doctor once the access is in its log.
//
// What this node learns: the doctor, the grant (the citizen's pseudonymous name and key ref, the
// period), the time; the registers' sizes and bounds (public); whether the person id is the grant's
// citizen's (one bit). Never the person id, whose rows were read, or how many rows the person has.
// Record jobs run at once, each on its own MPC channel, beside query jobs; they are kept in memory
// (a restarted node reports them unknown; the log keeps every access). A register version is
// decrypted and packed once per node, and its person ids' bits are made by the three nodes at its
// first read and kept in memory for the later ones (src/node/record-cache.ts); the key→person
// table (a new version at every registration) is compared through the differences at each read.
import { randomUUID } from 'node:crypto';
import { AShare } from '../mpc/share.js';
import type { Party } from '../mpc/party.js';
import { checkConsistent, packWords, selectRecord, type SelectTable } from '../mpc/select.js';
import { CITIZEN_KEYS_DATASET } from '../governance/citizens.js';
import { GovernanceError, refuse } from '../governance/errors.js';
import { accessCommitment, grantInForce, verifyGrant } from '../governance/grants.js';
import type { Identity } from '../governance/identities.js';
import { checkRecordRequestShape, pairOf, RECORD_REGISTERS, recordLayout, type RecordLayout, type RecordPart, type SignedRecordRequest } from '../governance/record-format.js';
import { grantForDoctor, verifyRecordRequest } from '../governance/record-request.js';
import { sealJson, type Sealed } from '../governance/sealed.js';
import { canonicalJson } from '../governance/canonical.js';
import { MAX_SKEW_MS } from '../governance/request-auth.js';
import type { JsonValue, LedgerEntry } from '../ledger/entry.js';
import type { CitizenRegistry, RegisteredCitizen, RegisteredGrant } from './citizens.js';
import { JobError } from './errors.js';
import type { ShareStore } from './store.js';
import { mpcSession, type SessionOptions } from './mpc-session.js';
import { agreedBits, type CachedVersion, RecordCache } from './record-cache.js';

/** A record job as node 0 made it: the signed request, when node 0 received it, and the register versions it chose. */
export interface RecordSpec {
  id: string;
  request: SignedRecordRequest;
  submittedAt: string;
  /** Version of each register read and of citizen_keys. */
  versions: Record<string, string>;
}

export type RecordStatus = 'admitted' | 'running' | 'done' | 'failed';

/** What this node decided when it admitted a job (kept in memory only). */
interface Admission {
  grant: RegisteredGrant;
  citizen: RegisteredCitizen;
  person: { a: bigint; b: bigint };
  layouts: RecordLayout[];
  commitment: string;
}

export interface RecordJob {
  id: string;
  spec: RecordSpec;
  status: RecordStatus;
  progress?: string;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  /** This node's part, sealed to the doctor's key. */
  sealed?: Sealed;
  /** Seq of this job's record-accessed entry in this node's log (set when it was validated here). */
  loggedSeq?: number;
  timings?: { connectMs: number; computeMs: number; phases: string[] };
  admission?: Admission;
}

export interface RecordServiceOptions extends SessionOptions {
  store: ShareStore;
  citizens: CitizenRegistry;
  /** Opens this node's sealed share of a person id (src/node/sealed-upload.ts, bound to the request's nonce); throws when it does not open. */
  openPerson: (sealed: Uint8Array, nonce: string) => Promise<Uint8Array>;
  /** Whether an entry at seq is in this node's log replica (results are served only after). */
  logged: (seq: number, job: string) => boolean;
  log: (m: string) => void;
}

export class RecordService {
  private readonly jobs = new Map<string, RecordJob>();
  private readonly nonces = new Map<string, number>();
  private readonly cache: RecordCache;

  constructor(private readonly o: RecordServiceOptions) {
    this.cache = new RecordCache(o.store);
  }

  get(id: string): RecordJob | undefined {
    return this.jobs.get(id);
  }

  /** Node 0: the job for a doctor's request (not yet admitted): the latest stored version of each register. */
  create(body: { request?: unknown }, caller: Identity): RecordSpec {
    const rq = checkRecordRequestShape(body?.request);
    if (rq.request.doctor !== caller.name) throw new JobError(`the request is signed in the name of '${rq.request.doctor}', but '${caller.name}' sent it`, 403);
    const versions: Record<string, string> = {};
    for (const n of [...rq.request.registers, CITIZEN_KEYS_DATASET]) {
      try {
        versions[n] = this.o.store.get(n).version;
      } catch {
        throw new JobError(n === CITIZEN_KEYS_DATASET ? 'no citizen is registered at node 0 (no key→person table): nothing to read' : `register '${n}' is not stored at node 0`, 404);
      }
    }
    return { id: randomUUID(), request: rq, submittedAt: new Date().toISOString(), versions };
  }

  /** Every check this node makes before it takes part (module comment); throws a GovernanceError 'grant' refusal or a JobError. */
  private async admit(spec: RecordSpec): Promise<Admission> {
    const c = this.o.citizens.need();
    const r = verifyRecordRequest(spec.request, c, this.o.config.cluster);
    const g = verifyGrant(r.grant, c, (n) => {
      const k = this.o.citizens.citizen(n);
      return k ? { keyId: k.keyId, publicKey: k.publicKeyObject } : undefined;
    });
    grantForDoctor(g, r, c);
    const reg = this.o.citizens.grant(g.id);
    if (!reg) refuse('grant', `grant ${g.id} is not registered at this node: the citizen registers a grant before it is used`);
    if (canonicalJson(reg.signed) !== canonicalJson(r.grant)) refuse('grant', `grant ${g.id} differs from the one its citizen registered here`);
    const rev = this.o.citizens.revocationOf(g.id);
    grantInForce(g, rev ? [rev] : []);
    for (const [n, t] of this.nonces) if (Date.now() - t > 2 * MAX_SKEW_MS) this.nonces.delete(n);
    if (this.nonces.has(r.nonce)) refuse('grant', 'this record request was received before (replayed): sign a new one');
    const names = [...r.registers, CITIZEN_KEYS_DATASET];
    if (canonicalJson(Object.keys(spec.versions).sort()) !== canonicalJson([...new Set(names)].sort())) throw new JobError('the job reads other registers than the request names');
    const layouts = r.registers.map((n) => {
      if (!(RECORD_REGISTERS as readonly string[]).includes(n)) refuse('grant', `'${n}' is not a register of the patient's record (${RECORD_REGISTERS.join(', ')})`);
      const m = this.o.store.get(n, spec.versions[n]);
      const l = recordLayout(m.schema, new Map(m.codeLists.map((x) => [x.name, x])));
      if (!l) refuse('grant', `register '${n}' declares no bound of rows per person: it cannot be read obliviously`);
      return l;
    });
    this.o.store.get(CITIZEN_KEYS_DATASET, spec.versions[CITIZEN_KEYS_DATASET]);
    let bytes: Uint8Array;
    try {
      bytes = await this.o.openPerson(new Uint8Array(Buffer.from(r.person[this.o.me]!, 'base64url')), r.nonce);
    } catch (e) {
      if (e instanceof JobError) throw e;
      return refuse('grant', `the person id share for node ${this.o.me} does not open with its key (sealed for another node or request)`);
    }
    this.nonces.set(r.nonce, Date.now());
    return { grant: reg, citizen: this.o.citizens.citizen(g.citizen)!, person: pairOf(bytes, 'the person id'), layouts, commitment: accessCommitment(reg.salt, g.id, spec.id) };
  }

  /** Admits (or refuses) a job at this node and keeps it; returns the refusal, if any. */
  async offer(spec: RecordSpec): Promise<{ error: string; code: string } | null> {
    if (this.jobs.has(spec.id)) throw new JobError(`record job ${spec.id} already exists`, 409);
    const job: RecordJob = { id: spec.id, spec, status: 'admitted' };
    this.jobs.set(spec.id, job);
    try {
      job.admission = await this.admit(spec);
      return null;
    } catch (e) {
      job.status = 'failed';
      job.finishedAt = new Date().toISOString();
      if (!(e instanceof GovernanceError)) {
        job.error = (e as Error).message;
        throw e;
      }
      job.error = `refused: ${e.message}`;
      this.o.log(`record job ${spec.id} refused: ${e.message}`);
      return { error: e.message, code: e.code };
    }
  }

  cancel(id: string, why: string): void {
    const j = this.jobs.get(id);
    if (!j || j.status !== 'admitted') return;
    j.status = 'failed';
    j.error = `cancelled: ${why}`;
    j.finishedAt = new Date().toISOString();
    delete j.admission;
  }

  /** The record-accessed entry's body for an admitted job (node 0 logs it; every node checks it). */
  ledgerBody(id: string): { [k: string]: JsonValue } {
    const j = this.jobs.get(id)!;
    const a = j.admission!;
    return { job: id, commitment: a.commitment, registers: Object.fromEntries(a.layouts.map((l) => [l.dataset, j.spec.versions[l.dataset]!])), bounds: Object.fromEntries(a.layouts.map((l) => [l.dataset, l.bound])) };
  }

  /** The ledger's check of a record-accessed entry at this node: the job was admitted here and the commitment is its own. */
  checkEntry(e: LedgerEntry): void {
    const j = this.jobs.get(String(e.body.job));
    if (!j?.admission) throw new Error(`this node admitted no record job ${e.body.job}`);
    if (canonicalJson(e.body) !== canonicalJson(this.ledgerBody(j.id))) throw new Error(`it differs from record job ${j.id} as this node admitted it`);
    j.loggedSeq = e.seq;
  }

  /** Starts an admitted job (node 0 tells nodes 1 and 2 when it starts its own). */
  start(id: string): 'started' | 'unknown' | 'not admitted' {
    const j = this.jobs.get(id);
    if (!j) return 'unknown';
    if (j.status !== 'admitted') return 'not admitted';
    j.status = 'running';
    j.startedAt = new Date().toISOString();
    void this.run(j).then(
      () => {
        j.status = 'done';
        j.progress = 'done';
      },
      (e: Error) => {
        j.status = 'failed';
        j.error = e instanceof GovernanceError ? `refused: ${e.message}` : e.message;
        this.o.log(`record job ${j.id} failed: ${j.error}`);
      },
    ).finally(() => {
      j.finishedAt = new Date().toISOString();
      delete j.admission;
    });
    return 'started';
  }

  /** A register version's entry with its person column and packed words (decrypted and packed once, then reused). */
  private prepare(p: Party, name: string, version: string, layout: RecordLayout): { entry: CachedVersion; pid: string } {
    const pid = this.o.store.get(name, version).schema.columns.find((c) => c.type === 'person_id')!.name;
    const e = this.cache.version(name, version, [pid, ...layout.fields.map((f) => f.column)]);
    e.words ??= packWords(p, layout.fields.map((f) => e.cols.get(f.column)!), layout.fields.map((f, k) => ({ column: k, word: f.word, shift: f.shift, offset: BigInt(f.offset) })), layout.words);
    return { entry: e, pid };
  }

  /** Whether this node holds the id bits of a register version (tests). */
  hasIdBits(name: string, version: string): boolean {
    const m = this.o.store.get(name, version);
    return this.cache.hasBits(name, version, m.schema.columns.find((c) => c.type === 'person_id')!.name);
  }

  private async run(j: RecordJob): Promise<void> {
    const a = j.admission!;
    const { config, me } = this.o;
    const t0 = performance.now();
    j.progress = 'connecting to the other nodes';
    const phases: string[] = [];
    let last = 0;
    const step = (phase: string) => {
      const now = performance.now();
      phases.push(`${phase} ${Math.round(now - last)} ms`);
      last = now;
      j.progress = `reading the record: ${phase} done`;
    };
    const { value: out, connectMs } = await mpcSession(this.o, `record/${j.id}`, async (p) => {
      last = performance.now();
      const person = new AShare(BigUint64Array.of(a.person.a), BigUint64Array.of(a.person.b));
      await checkConsistent(p, person, 'the person id');
      const keys = this.cache.version(CITIZEN_KEYS_DATASET, j.spec.versions[CITIZEN_KEYS_DATASET]!, ['key_ref', 'person_id']);
      const prepared = a.layouts.map((l) => this.prepare(p, l.dataset, j.spec.versions[l.dataset]!, l));
      step('loading');
      // The registers' id bits (made at a version's first read); not the key table's: citizen_keys
      // gets a new version at every registration, so its rows go through the differences each read.
      const bits = await agreedBits(p, prepared.map((x) => ({ entry: x.entry, column: x.pid })));
      step('id bits');
      const tables: SelectTable[] = prepared.map((x, k) => ({ person: x.entry.cols.get(x.pid)!, bits: bits[k]!, words: x.entry.words!, bound: a.layouts[k]!.bound }));
      const table = { ref: keys.cols.get('key_ref')!, person: keys.cols.get('person_id')! };
      return selectRecord(p, { person, key: { table, ref: BigInt(a.citizen.ref) }, tables, progress: step });
    });
    // Every node saw the same revealed bit and refuses on its own (after an orderly close).
    if (out.match !== 1) refuse('grant', `the person id in the request is not that of grant ${a.grant.grant.id}'s citizen (checked inside MPC)`);
    const part: RecordPart = {
      job: j.id,
      party: me,
      grant: a.grant.grant.id,
      registers: a.layouts.map((l, r) => ({
        dataset: l.dataset,
        version: j.spec.versions[l.dataset]!,
        rows: this.o.store.get(l.dataset, j.spec.versions[l.dataset]).rows,
        layout: l,
        words: out.rows[r]!.map((w) => ({ a: Array.from(w.a, String), b: Array.from(w.b, String) })),
      })),
    };
    j.sealed = await sealJson(part, j.spec.request.request.resultKey, { cluster: config.cluster, job: j.id, party: me });
    j.timings = { connectMs, computeMs: performance.now() - t0 - connectMs, phases };
    this.o.log(`record job ${j.id} done in ${Math.round(performance.now() - t0)} ms (${phases.join(', ')})`);
  }

  /** The job as its doctor sees it: status, and this node's sealed part once the access is in this node's log. */
  view(j: RecordJob): Record<string, unknown> {
    const logged = j.loggedSeq !== undefined && this.o.logged(j.loggedSeq, j.id);
    return {
      id: j.id,
      status: j.status,
      submittedAt: j.spec.submittedAt,
      grant: j.spec.request.request.grant.grant.id,
      registers: j.spec.versions,
      ...(j.progress ? { progress: j.progress } : {}),
      ...(j.error ? { error: j.error } : {}),
      ...(j.loggedSeq !== undefined ? { logged: j.loggedSeq } : {}),
      ...(j.timings ? { timings: j.timings } : {}),
      ...(j.sealed && logged ? { sealed: j.sealed } : {}),
    };
  }
}
