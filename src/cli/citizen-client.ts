// A citizen's requests from the command line (issue 15; the browser's citizen portal does the same
// with WebCrypto, web/src/lib/citizen.ts): a consent change sealed to the consent custodian's inbox
// key, and a questionnaire split into shares sealed per node (src/governance/citizen-docs.ts).
//
//   mosaik consent change --dir <cluster> --key <citizen key> --purpose <code> (--granted | --withdrawn)
//   mosaik questionnaire submit --dir <cluster> --key <citizen key> --person <id> --answers 1,2,1,3,1 --vas 80 [--date d]
import type { Command } from 'commander';
import { createHash, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { sha256Hex } from '../governance/canonical.js';
import { CONSENT_CHANGE_FORMAT, CONSENT_SEAL, PRO_SUBMISSION_FORMAT, signConsentEnvelope, signProSubmission, submissionSealVersion, type ConsentChangePlain, type SignedInboxKey } from '../governance/citizen-inbox.js';
import { GovernanceError } from '../governance/errors.js';
import { verifyDocument, type Signer } from '../governance/identity.js';
import { EQ5D_DIMENSIONS, eq5dRow, PRO_DATASET, type Eq5dAnswers } from '../governance/patient-reported.js';
import { pairBytes } from '../governance/record-format.js';
import { sealUpload } from '../ingest/sealed-upload.js';
import { splitShares } from '../mpc/share.js';
import { PARTIES } from '../net/channel.js';
import { clusterUploadKeys, type ClusterConfig } from '../net/keys.js';
import { apiRequest } from '../node/http.js';
import { postToNode0 } from './citizen.js';
import { clusterConfig } from './governance-remote.js';
import { cliSigner } from './identity-defaults.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** The consent custodian's inbox key, checked against the custodian's key id in the consortium. */
export async function inboxKey(config: ClusterConfig): Promise<SignedInboxKey> {
  const g = (await apiRequest<{ consent?: { custodian: string } | null; members?: { name: string; keyId: string }[] }>(config, 0, '/v1/governance')).body;
  const custodian = g.members?.find((m) => m.name === g.consent?.custodian);
  if (!custodian) throw new GovernanceError('consent', 'the consortium names no consent register: consent changes cannot be sent');
  const r = await apiRequest<SignedInboxKey & { error?: string }>(config, 0, '/v1/consent/inbox-key');
  if (r.status !== 200) throw new GovernanceError('consent', r.body?.error ?? `HTTP ${r.status}`);
  const raw = Buffer.from(r.body.key.custodianKey, 'base64url');
  const pk = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: r.body.key.custodianKey }, format: 'jwk' });
  if (createHash('sha256').update(raw).digest('hex') !== custodian.keyId || !r.body.signature || !verifyDocument('inbox-key', r.body.key, r.body.signature, pk)) {
    throw new GovernanceError('bad-signature', `the inbox key is not signed by the consent custodian '${custodian.name}'`);
  }
  return r.body;
}

/** A citizen's consent change, sealed to the consent custodian; returns what the citizen keeps (the salt is their receipt). */
export async function sendConsentChange(o: { config: ClusterConfig; signer: Signer; purpose: string; granted: boolean; time?: Date }): Promise<ConsentChangePlain> {
  const key = await inboxKey(o.config);
  const plain: ConsentChangePlain = { citizen: o.signer.name, nonce: randomUUID(), purpose: o.purpose, granted: o.granted, time: (o.time ?? new Date()).toISOString(), salt: randomBytes(32).toString('hex') };
  const sealed = await sealUpload(new TextEncoder().encode(JSON.stringify(plain)), key.key.publicKey, { cluster: o.config.cluster, ...CONSENT_SEAL, version: plain.nonce });
  await postToNode0(o.config, '/v1/consent/changes', signConsentEnvelope({ format: CONSENT_CHANGE_FORMAT, citizen: plain.citizen, nonce: plain.nonce, time: plain.time, sealedSha256: sha256Hex(sealed) }, b64(sealed), o.signer), o.signer);
  return plain;
}

/** A questionnaire: the row split into shares here, each node's pairs sealed to it; resolves with what the nodes did with it. */
export async function submitQuestionnaire(o: { config: ClusterConfig; signer: Signer; person: number; answers: Eq5dAnswers; onSealed?: (bodies: Uint8Array[]) => void }): Promise<{ nonce: string; status: string; version?: string; error?: string }> {
  const row = eq5dRow(o.person, o.answers);
  const shares = row.map((v) => splitShares(BigUint64Array.of(v)));
  const nonce = randomUUID();
  const keys = clusterUploadKeys(o.config);
  const sealed = await Promise.all(PARTIES.map(async (p) => {
    const bytes = new Uint8Array(16 * row.length);
    shares.forEach((t, k) => bytes.set(pairBytes(t[p]!.a[0]!, t[p]!.b[0]!), 16 * k));
    if (!keys[p]) throw new Error(`${o.config.nodes[p].name} has no upload key in cluster.json`);
    return sealUpload(bytes, keys[p]!, { cluster: o.config.cluster, node: o.config.nodes[p].name, party: p, dataset: PRO_DATASET, version: submissionSealVersion(nonce) });
  }));
  o.onSealed?.(sealed);
  const sub = signProSubmission({ format: PRO_SUBMISSION_FORMAT, citizen: o.signer.name, nonce, time: new Date().toISOString(), dataset: PRO_DATASET, sealedSha256: sealed.map((s) => sha256Hex(s)) as [string, string, string] }, sealed.map(b64) as [string, string, string], o.signer);
  const r = await apiRequest<{ status?: string; version?: string; error?: string }>(o.config, 0, '/v1/pro/submissions', { body: sub, signer: o.signer });
  if (r.status !== 201 && r.status !== 403) throw new GovernanceError('malformed', r.body?.error ?? `HTTP ${r.status}`);
  return { nonce, status: r.body.status ?? 'failed', ...(r.body.version ? { version: r.body.version } : {}), ...(r.body.error ? { error: r.body.error } : {}) };
}

export function registerCitizenClientCommands(program: Command): void {
  const signerOf = (o: { dir: string; key: string }) => cliSigner({ dir: resolve(o.dir), key: resolve(o.key), role: 'citizen' });
  const consent = program.commands.find((c) => c.name() === 'consent') ?? program.command('consent');
  consent
    .command('change')
    .description('a citizen changes their consent for a purpose: sealed to the consent custodian, who publishes it in the next register version')
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', 'your citizen key')
    .requiredOption('--purpose <code>', 'the research purpose')
    .option('--granted', 'consent given')
    .option('--withdrawn', 'consent withdrawn')
    .action(async (o: { dir: string; key: string; purpose: string; granted?: boolean; withdrawn?: boolean }) => {
      if (!!o.granted === !!o.withdrawn) throw new GovernanceError('consent', 'pass exactly one of --granted and --withdrawn');
      const p = await sendConsentChange({ config: clusterConfig(resolve(o.dir)), signer: signerOf(o), purpose: o.purpose, granted: !!o.granted });
      console.log(`${p.granted ? 'consent given' : 'consent withdrawn'} for ${p.purpose}, sealed to the consent custodian (change ${p.nonce}); your receipt's salt: ${p.salt}`);
    });
  program
    .command('questionnaire')
    .description('patient-reported data: submit an EQ-5D-5L questionnaire (split into shares here, sealed per node)')
    .command('submit')
    .requiredOption('--dir <clusterDir>', 'cluster directory')
    .requiredOption('--key <file>', 'your citizen key')
    .requiredOption('--person <id>', 'your person id')
    .requiredOption('--answers <levels>', `five levels 1-5: ${EQ5D_DIMENSIONS.map((d) => d.column).join(',')}`)
    .requiredOption('--vas <n>', 'your health today, 0-100')
    .option('--date <day>', 'the day (default today)')
    .action(async (o: { dir: string; key: string; person: string; answers: string; vas: string; date?: string }) => {
      const lv = o.answers.split(',').map(Number);
      const answers = { ...Object.fromEntries(EQ5D_DIMENSIONS.map((d, k) => [d.column, lv[k]])), vas: Number(o.vas), date: o.date ?? new Date().toISOString().slice(0, 10) } as Eq5dAnswers;
      const r = await submitQuestionnaire({ config: clusterConfig(resolve(o.dir)), signer: signerOf(o), person: Number(o.person), answers });
      console.log(r.status === 'added' ? `added to ${PRO_DATASET} (version ${r.version})` : `not added: ${r.error ?? r.status}`);
      if (r.status !== 'added') process.exitCode = 1;
    });
}
