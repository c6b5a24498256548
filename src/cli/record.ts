// The doctor's and the citizen's commands (issue 15):
//
//   mosaik grant create --dir <cluster> --key <citizen key> --doctor <name> [--days 30] [--from <time>]
//                       [--person <id>] [--out grant.json]
//       the citizen signs a grant for the doctor, registers it at every node (with the salt its
//       accesses are logged under) and writes grant.json for the doctor (with --person: the
//       citizen's person id beside the signed grant, as the citizen tells their doctor)
//   mosaik grant revoke --dir … --key <citizen key> --grant <id>
//   mosaik grant list --dir … --key <citizen or doctor key>
//   mosaik record --dir <cluster> --key <doctor key> --grant grant.json [--person <id>] [--json]
//       the patient's record under the grant: the person id split into shares here and sealed per
//       node; every node checks the grant; the record comes back sealed to a key made for this
//       request and is printed as a timeline
//   mosaik accesses --dir … --key <citizen key> [--json]
//       the citizen's accesses, found in the public transparency log by their commitments
import type { Command } from 'commander';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha256Hex } from '../governance/canonical.js';
import { GovernanceError } from '../governance/errors.js';
import { GRANT_FORMAT, REVOCATION_FORMAT, signGrant, signRevocation, type SignedGrant } from '../governance/grants.js';
import { keyId, type Signer } from '../governance/identity.js';
import { assembleRecord, findAccesses, PERSON_SEAL_DATASET, RECORD_REGISTERS, recordTimeline, pairBytes, type ListedGrant, type RecordPart, type RecordRegister, type SignedRecordRequest, type TimelineEvent } from '../governance/record-format.js';
import { fetchAll } from '../ledger/audit.js';
import { signRecordRequest } from '../governance/record-request.js';
import { newResultKeyPair, openJson, type Sealed } from '../governance/sealed.js';
import { sealUpload } from '../ingest/sealed-upload.js';
import type { CodeList, DatasetSchema } from '../ingest/schema.js';
import { splitShares } from '../mpc/share.js';
import { PARTIES, type PartyId } from '../net/channel.js';
import { clusterUploadKeys, type ClusterConfig } from '../net/keys.js';
import { apiRequest } from '../node/http.js';
import type { LedgerEntry } from '../ledger/entry.js';
import { clusterConfig } from './governance-remote.js';
import { cliSigner } from './identity-defaults.js';
import { postToNode0 } from './citizen.js';

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const DAY = 86_400_000;

/** GET on a node, or a clear error. */
async function getJson<T>(config: ClusterConfig, p: PartyId, path: string, signer?: Signer): Promise<T> {
  const r = await apiRequest<T & { error?: string }>(config, p, path, signer ? { signer } : {});
  if (r.status !== 200) throw new Error(`${config.nodes[p].name}: ${r.body?.error ?? `HTTP ${r.status}`} (${path})`);
  return r.body;
}

/** The consortium's public member list (any node's GET /v1/governance). */
async function members(config: ClusterConfig): Promise<{ consortium: string; members: { name: string; role: string; keyId: string }[] }> {
  const g = await getJson<{ governed: boolean; consortium?: string; members?: { name: string; role: string; keyId: string }[] }>(config, 0, '/v1/governance');
  if (!g.governed) throw new GovernanceError('governed', 'grants need a governed cluster (a consortium names the doctors)');
  return { consortium: g.consortium!, members: g.members ?? [] };
}

/** The citizen signs a grant for a doctor and registers it at every node; returns the signed grant and its salt. */
export async function createGrant(o: { config: ClusterConfig; signer: Signer; doctor: string; from?: Date; days?: number; id?: string }): Promise<{ grant: SignedGrant; salt: string }> {
  const m = await members(o.config);
  const doctor = m.members.find((x) => x.name === o.doctor && x.role === 'doctor');
  if (!doctor) throw new GovernanceError('grant', `'${o.doctor}' is not a doctor of consortium '${m.consortium}' (doctors: ${m.members.filter((x) => x.role === 'doctor').map((x) => x.name).join(', ') || 'none'})`);
  const from = o.from ?? new Date();
  const salt = randomBytes(32).toString('hex');
  const grant = signGrant({
    format: GRANT_FORMAT, id: o.id ?? randomUUID(), consortium: m.consortium, citizen: o.signer.name, citizenKeyId: keyId(o.signer.privateKey), doctor: doctor.name, doctorKeyId: doctor.keyId,
    validFrom: from.toISOString(), validUntil: new Date(from.getTime() + (o.days ?? 30) * DAY).toISOString(), createdAt: new Date().toISOString(), saltSha256: sha256Hex(salt),
  }, o.signer);
  await postToNode0(o.config, '/v1/grants', { grant, salt }, o.signer);
  return { grant, salt };
}

export async function revokeGrant(o: { config: ClusterConfig; signer: Signer; grant: string; at?: Date }): Promise<void> {
  await postToNode0(o.config, '/v1/grants/revocations', signRevocation({ format: REVOCATION_FORMAT, grant: o.grant, citizen: o.signer.name, time: (o.at ?? new Date()).toISOString() }, o.signer), o.signer);
}

/** Every entry of node 0's log replica (page by page). */
export const allEntries = (config: ClusterConfig): Promise<LedgerEntry[]> =>
  fetchAll<LedgerEntry>(async (p, path) => {
    const r = await apiRequest(config, p, path);
    return { status: r.status, body: r.body };
  }, 0, 'entries');

export const listGrants = (config: ClusterConfig, signer: Signer): Promise<ListedGrant[]> => getJson<ListedGrant[]>(config, 0, '/v1/grants', signer);

export class RecordRefused extends Error {
  constructor(
    message: string,
    readonly refusals: { party: number; error: string }[],
    readonly job?: string,
  ) {
    super(message);
    this.name = 'RecordRefused';
  }
}

export interface ReadRecord {
  job: string;
  registers: RecordRegister[];
  timeline: TimelineEvent[];
  /** Node 0's timings (connect, compute and its phases). */
  timings?: { connectMs: number; computeMs: number; phases: string[] };
  ms: number;
}

/** The public schemas and code lists of the registers read (for decoding). */
async function schemasOf(config: ClusterConfig, names: string[]): Promise<Map<string, { schema: DatasetSchema; codeLists: Map<string, CodeList> }>> {
  const out = new Map<string, { schema: DatasetSchema; codeLists: Map<string, CodeList> }>();
  for (const n of names) {
    const d = await getJson<{ schema: DatasetSchema; codeLists: CodeList[] }>(config, 0, `/v1/datasets/${encodeURIComponent(n)}`);
    out.set(n, { schema: d.schema, codeLists: new Map(d.codeLists.map((c) => [c.name, c])) });
  }
  return out;
}

/** Each node's error of a failed record job, once each has finished it (the others fail soon after the first). */
async function outcomes(config: ClusterConfig, job: string, signer: Signer, deadline: number): Promise<{ party: number; error: string }[]> {
  return Promise.all(PARTIES.map(async (q) => {
    for (;;) {
      try {
        const x = await getJson<{ status: string; error?: string }>(config, q, `/v1/records/${job}`, signer);
        if (x.status === 'failed' || x.status === 'done' || Date.now() > deadline) return { party: q, error: x.error ?? x.status };
      } catch (e) {
        return { party: q, error: (e as Error).message };
      }
      await sleep(50);
    }
  }));
}

/** The doctor reads a patient's record under a grant (see the module comment). */
export async function readRecord(o: { config: ClusterConfig; signer: Signer; grant: SignedGrant; person: number; registers?: string[]; timeoutMs?: number; onRequest?: (r: SignedRecordRequest) => void }): Promise<ReadRecord> {
  const t0 = performance.now();
  const { config } = o;
  const keys = clusterUploadKeys(config);
  const registers = o.registers ?? (await getJson<{ name: string }[]>(config, 0, '/v1/datasets')).map((d) => d.name).filter((n) => (RECORD_REGISTERS as readonly string[]).includes(n));
  const nonce = randomUUID();
  const shares = splitShares(BigUint64Array.of(BigInt(o.person)));
  const person = (await Promise.all(PARTIES.map(async (p) => {
    const key = keys[p];
    if (!key) throw new Error(`${config.nodes[p].name} has no upload key in cluster.json: the person id cannot be sealed for it`);
    const sealed = await sealUpload(pairBytes(shares[p]!.a[0]!, shares[p]!.b[0]!), key, { cluster: config.cluster, node: config.nodes[p].name, party: p, dataset: PERSON_SEAL_DATASET, version: nonce });
    return Buffer.from(sealed).toString('base64url');
  }))) as [string, string, string];
  const resultKeys = newResultKeyPair();
  const request = signRecordRequest({ cluster: config.cluster, doctor: o.signer.name, grant: o.grant, registers, resultKey: resultKeys.publicKey, person, nonce }, o.signer);
  o.onRequest?.(request);
  const r = await apiRequest<{ job?: string; error?: string; refusals?: { party: number; error: string }[] }>(config, 0, '/v1/records', { body: { request }, signer: o.signer });
  if (r.status !== 202 || !r.body.job) throw new RecordRefused(r.body?.error ?? `node 0 answered HTTP ${r.status}`, r.body?.refusals ?? [], r.body?.job);
  const job = r.body.job;
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  const parts: RecordPart[] = [];
  let timings: ReadRecord['timings'];
  for (const p of PARTIES) {
    for (let wait = 20; ; wait = Math.min(2 * wait, 250)) {
      const v = await getJson<{ status: string; error?: string; sealed?: Sealed; timings?: ReadRecord['timings'] }>(config, p, `/v1/records/${job}`, o.signer);
      if (v.status === 'failed') throw new RecordRefused(`record job ${job} failed at ${config.nodes[p].name}: ${v.error}`, await outcomes(config, job, o.signer, deadline), job);
      if (v.status === 'done' && v.sealed) {
        parts.push(await openJson<RecordPart>(v.sealed, resultKeys.privateKey, { cluster: config.cluster, job, party: p }));
        if (p === 0) timings = v.timings;
        break;
      }
      if (Date.now() > deadline) throw new Error(`record job ${job}: no result from ${config.nodes[p].name} in time (${v.status})`);
      await sleep(wait);
    }
  }
  const schemas = await schemasOf(config, registers);
  const regs = assembleRecord(parts, schemas);
  return { job, registers: regs, timeline: recordTimeline(regs, schemas), ...(timings ? { timings } : {}), ms: performance.now() - t0 };
}

/** A grant file: the signed grant, with the citizen's person id beside it when the citizen put it there. */
function readGrantFile(path: string): { grant: SignedGrant; person?: number } {
  const o = JSON.parse(readFileSync(path, 'utf8')) as SignedGrant & { person?: number };
  return { grant: { grant: o.grant, ...(o.signature ? { signature: o.signature } : {}) }, ...(o.person !== undefined ? { person: Number(o.person) } : {}) };
}

export function printTimeline(rec: ReadRecord, log: (l: string) => void = console.log): void {
  log(`record read under job ${rec.job} in ${(rec.ms / 1000).toFixed(2)} s: ${rec.registers.map((r) => `${r.dataset} ${r.records.length} of ${r.rows.toLocaleString('en-US')} rows (bound ${r.bound})`).join(', ')}`);
  for (const e of rec.timeline) log(`  ${e.date.padEnd(10)}  ${e.title.padEnd(24)} ${e.details}`);
}

export function registerRecordCommands(program: Command): void {
  const signerOf = (o: { dir: string; key: string }) => cliSigner({ dir: resolve(o.dir), key: resolve(o.key), role: 'citizen' });
  const grant = program.command('grant').description("a citizen's grants of access to their own record for a named doctor (issue 15)");
  grant
    .command('create')
    .description('sign a grant for a doctor and register it at every node')
    .requiredOption('--dir <clusterDir>', 'cluster directory with cluster.json')
    .requiredOption('--key <file>', 'your citizen key (citizen-….ed25519.key.pem)')
    .requiredOption('--doctor <name>', "the doctor's name in the consortium")
    .option('--days <n>', 'how long the grant lasts', '30')
    .option('--from <time>', 'from when (default now)')
    .option('--person <id>', 'write your person id beside the grant, for your doctor')
    .option('--out <file>', 'the grant file for the doctor', 'grant.json')
    .action(async (o: { dir: string; key: string; doctor: string; days: string; from?: string; person?: string; out: string }) => {
      const g = await createGrant({ config: clusterConfig(resolve(o.dir)), signer: signerOf(o), doctor: o.doctor, days: Number(o.days), ...(o.from ? { from: new Date(o.from) } : {}) });
      writeFileSync(o.out, JSON.stringify({ ...g.grant, ...(o.person ? { person: Number(o.person) } : {}) }, null, 2) + '\n');
      console.log(`grant ${g.grant.grant.id} for ${o.doctor}, valid ${g.grant.grant.validFrom} to ${g.grant.grant.validUntil}, registered at every node; give ${o.out} to the doctor`);
    });
  grant
    .command('revoke')
    .description('revoke a grant (signed; at every node from now on)')
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', 'your citizen key')
    .requiredOption('--grant <id>', 'the grant id')
    .action(async (o: { dir: string; key: string; grant: string }) => {
      await revokeGrant({ config: clusterConfig(resolve(o.dir)), signer: signerOf(o), grant: o.grant });
      console.log(`grant ${o.grant} revoked at every node`);
    });
  grant
    .command('list')
    .description('your grants (a citizen: given; a doctor: received)')
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', 'your key')
    .action(async (o: { dir: string; key: string }) => {
      for (const g of await listGrants(clusterConfig(resolve(o.dir)), signerOf(o))) console.log(`${g.grant.grant.id}  ${g.grant.grant.citizen} → ${g.grant.grant.doctor}  ${g.grant.grant.validFrom} – ${g.grant.grant.validUntil}${g.revoked ? `  revoked ${g.revoked}` : ''}`);
    });

  program
    .command('record')
    .description("a patient's record under the citizen's grant, read obliviously in MPC and printed as a timeline (a doctor)")
    .option('--dir <clusterDir>', 'cluster directory with cluster.json')
    .option('--key <file>', 'your doctor key')
    .option('--grant <file>', "the citizen's grant (grant.json)")
    .option('--person <id>', "the patient's person id (default: the one in the grant file)")
    .option('--json', 'print the record as JSON')
    .action(async (o: { dir?: string; key?: string; grant?: string; person?: string; json?: boolean }) => {
      if (!o.dir || !o.key || !o.grant) throw new Error('mosaik record: pass --dir <cluster> --key <doctor key> --grant <grant.json>');
      const g = readGrantFile(o.grant);
      const person = o.person !== undefined ? Number(o.person) : g.person;
      if (person === undefined || !Number.isSafeInteger(person)) throw new Error('the grant file has no person id beside the grant: pass --person <the patient\'s person id>');
      const rec = await readRecord({ config: clusterConfig(resolve(o.dir)), signer: cliSigner({ dir: resolve(o.dir), key: resolve(o.key), role: 'doctor' }), grant: g.grant, person });
      if (o.json) console.log(JSON.stringify(rec, null, 2));
      else printTimeline(rec);
    });
  program
    .command('accesses')
    .description('the accesses to your record (a citizen), found in the transparency log by their commitments')
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', 'your citizen key')
    .option('--json', 'as JSON')
    .action(async (o: { dir: string; key: string; json?: boolean }) => {
      const config = clusterConfig(resolve(o.dir));
      const found = await findAccesses(await allEntries(config), await listGrants(config, signerOf(o)), sha256Hex);
      if (o.json) return console.log(JSON.stringify(found, null, 2));
      if (!found.length) console.log('no access to your record is in the log');
      for (const a of found) console.log(`${a.time}  ${a.doctor} read your record under grant ${a.grant} (log entry ${a.seq}; ${Object.keys(a.registers).join(', ')})`);
    });
}
