// The doctor's side in the browser (issue 15): the grants citizens made to this doctor, and a
// patient's record read under one of them. The person id is split into shares here and each share
// sealed to its node; the request is signed with the doctor's non-extractable key; each node's part
// comes back sealed to a key made here for this request, and the record is combined and decoded
// here (src/governance/record-format.ts). The relay sees signed calls and ciphertext.
import { assembleRecord, pairBytes, PERSON_SEAL_DATASET, RECORD_REGISTERS, RECORD_REQUEST_FORMAT, recordTimeline, type ListedGrant, type RecordPart, type RecordRegister, type TimelineEvent } from '../../../src/governance/record-format.js';
import type { SignedGrant } from '../../../src/governance/grant-format.js';
import type { Sealed } from '../../../src/governance/sealed-format.js';
import type { CodeList, DatasetSchema } from '../../../src/ingest/schema.js';
import { sealUpload } from '../../../src/ingest/sealed-upload.js';
import { splitSharesWith } from '../../../src/mpc/share-split.js';
import { ApiError, call, cluster, PARTIES } from './api.js';
import { toBase64Url } from './bytes.js';
import type { BrowserIdentity } from './keys.js';
import { newResultKeys, openSealed } from './sealed.js';
import { signDocument } from './sign.js';

export const receivedGrants = (id: BrowserIdentity): Promise<ListedGrant[]> => call<ListedGrant[]>(0, '/v1/grants', { as: id });

export interface ReadRecord {
  job: string;
  registers: RecordRegister[];
  timeline: TimelineEvent[];
  ms: number;
}

/** Why a read was refused: each node's reason. */
export class Refused extends Error {
  constructor(
    message: string,
    readonly reasons: { party: number; error: string }[],
  ) {
    super(message);
    this.name = 'Refused';
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

export async function readRecord(id: BrowserIdentity, grant: SignedGrant, person: number, onProgress: (text: string) => void = () => {}): Promise<ReadRecord> {
  const t0 = performance.now();
  const info = await cluster();
  const registers = (await call<{ name: string }[]>(0, '/v1/datasets')).map((d) => d.name).filter((n) => (RECORD_REGISTERS as readonly string[]).includes(n));
  const nonce = crypto.randomUUID();
  onProgress('splitting the person number into three shares and sealing each for its node');
  const shares = splitSharesWith(BigUint64Array.of(BigInt(person)), (b) => void crypto.getRandomValues(b));
  const sealed = await Promise.all(PARTIES.map(async (p) => {
    const n = info.nodes[p]!;
    if (!n.uploadKey) throw new Error(`${n.name} has no upload key: the person number cannot be sealed for it`);
    return toBase64Url(await sealUpload(pairBytes(shares[p]!.a[0]!, shares[p]!.b[0]!), n.uploadKey, { cluster: info.cluster, node: n.name, party: p, dataset: PERSON_SEAL_DATASET, version: nonce }));
  }));
  const keys = await newResultKeys();
  const request = { format: RECORD_REQUEST_FORMAT, cluster: info.cluster, doctor: id.name, grant, registers, resultKey: keys.publicKey, person: sealed, time: new Date().toISOString(), nonce };
  onProgress('asking the three nodes (each checks the grant itself)');
  let job: string;
  try {
    job = (await call<{ job: string }>(0, '/v1/records', { body: { request: { request, signature: await signDocument('record-request', request, id) } }, as: id })).job;
  } catch (e) {
    const b = e instanceof ApiError ? (e.body as { refusals?: { party: number; error: string }[] } | null) : null;
    if (b?.refusals?.length) throw new Refused((e as Error).message, b.refusals);
    throw e;
  }
  const parts: RecordPart[] = [];
  for (const p of PARTIES) {
    for (let wait = 50; ; wait = Math.min(wait * 2, 400)) {
      const v = await call<{ status: string; error?: string; sealed?: Sealed; progress?: string }>(p, `/v1/records/${job}`, { as: id });
      if (v.status === 'failed') throw new Refused(`${info.nodes[p]!.name}: ${v.error}`, [{ party: p, error: v.error ?? 'failed' }]);
      if (v.status === 'done' && v.sealed) {
        parts.push(await openSealed<RecordPart>(v.sealed, keys.privateKey, { cluster: info.cluster, job, party: p }));
        break;
      }
      onProgress(`${info.nodes[p]!.name}: ${v.progress ?? v.status}`);
      await sleep(wait);
    }
  }
  onProgress('combining the three sealed parts in this browser');
  const schemas = new Map<string, { schema: DatasetSchema; codeLists: Map<string, CodeList> }>();
  for (const n of registers) {
    const d = await call<{ schema: DatasetSchema; codeLists: CodeList[] }>(0, `/v1/datasets/${encodeURIComponent(n)}`);
    schemas.set(n, { schema: d.schema, codeLists: new Map(d.codeLists.map((c) => [c.name, c])) });
  }
  const regs = assembleRecord(parts, schemas);
  return { job, registers: regs, timeline: recordTimeline(regs, schemas), ms: performance.now() - t0 };
}
