// The governance commands that talk to the nodes (src/node/governance-api.ts), for
// `mosaik study submit|list`, `mosaik policy submit`, `mosaik consent set --dir` and
// `mosaik usage --cluster` (src/cli/governance.ts registers them). Every node's certificate is
// pinned from cluster.json; documents go to node 0, which has each node verify and store them.
//
// Consent changes reach the nodes the way the design requires (no person identifier at any node):
// the consent custodian adds the citizen's event to its register (a CSV it keeps), shares the new
// register version and uploads it like any dataset (src/ingest/upload.ts; the upload is signed with
// the same consent custodian key, as governed nodes require), then signs a consent
// update {dataset, version, rows, changes: [{purpose, granted, commitment}]} and posts it; node 0
// logs it as a 'consent-changed' entry (counts and commitments only). The citizen keeps the salt
// of the commitment as a receipt. The next study run (its consent time is its submission time)
// applies the new register.
import { join, resolve } from 'node:path';
import { consentCommitment, consentReceipt, consentSchema, encodeConsentRows, purposeCodeList, withUntil, type ConsentEvent } from '../governance/consent.js';
import { consentVersion, signConsentUpdate, type ConsentUpdateBody } from '../governance/consent-update.js';
import type { Consortium } from '../governance/consortium.js';
import { GovernanceError } from '../governance/errors.js';
import { parseApproval, parseSignedStudy, type SignedStudy } from '../governance/study.js';
import { parseSignedPolicy } from '../governance/policy.js';
import type { Signer } from '../governance/identity.js';
import { loadCustodianKey, uploadDataset } from '../ingest/upload.js';
import type { PartyId } from '../net/channel.js';
import { loadClusterConfig, signingPublicKey, type ClusterConfig } from '../net/keys.js';
import { DEFAULT_PURPOSES, type ConsortiumConfig } from '../governance/consortium.js';
import { loadIdentities } from '../governance/identities.js';
import { apiRequest } from '../node/http.js';
import type { StudyListing } from '../node/governance.js';
import type { DatasetSchema } from '../ingest/schema.js';
import type { UsageSummary } from '../governance/usage.js';

export type RemoteDocKind = 'study' | 'approval' | 'policy' | 'consent-update';

const ROUTE: Record<RemoteDocKind, string> = { study: '/v1/studies', approval: '/v1/approvals', policy: '/v1/policies', 'consent-update': '/v1/consent/updates' };

export function clusterConfig(dir: string): ClusterConfig {
  const d = resolve(dir);
  return loadClusterConfig(d.endsWith('.json') ? d : join(d, 'cluster.json'));
}

/** Which governance document a parsed JSON file holds (checked for shape). */
export function documentKind(x: unknown): RemoteDocKind {
  const o = x as Record<string, unknown>;
  if (o && typeof o === 'object') {
    if ('approval' in o) return (parseApproval(o), 'approval');
    if ('policy' in o) return (parseSignedPolicy(o), 'policy');
    if ('update' in o) return 'consent-update';
    if ('study' in o || o.format === 'mosaik-study/1') return (parseSignedStudy(o), 'study');
  }
  throw new GovernanceError('malformed', 'not a study, approval, policy or consent update document');
}

/** Posts a document to node 0, which registers it at every node. Throws with the nodes' reason. */
export async function submitDocument(config: ClusterConfig, kind: RemoteDocKind, doc: unknown, signer: Signer): Promise<{ registered: string; new: boolean; ledgerSeq?: number; warnings: string[] }> {
  const r = await apiRequest<{ registered?: string; new?: boolean; ledgerSeq?: number; warnings?: string[]; error?: string }>(config, 0, ROUTE[kind], { body: doc, signer });
  if (r.status !== 200 && r.status !== 201) throw new GovernanceError('malformed', r.body?.error ?? `node 0 answered HTTP ${r.status}`);
  return { registered: r.body.registered!, new: !!r.body.new, ...(r.body.ledgerSeq !== undefined ? { ledgerSeq: r.body.ledgerSeq } : {}), warnings: Array.isArray(r.body.warnings) ? r.body.warnings.map(String) : [] };
}

export async function listStudies(config: ClusterConfig, signer: Signer, node: PartyId = 0): Promise<StudyListing[]> {
  const r = await apiRequest<StudyListing[] & { error?: string }>(config, node, '/v1/studies', { signer });
  if (r.status !== 200) throw new Error((r.body as { error?: string })?.error ?? `HTTP ${r.status}`);
  return r.body;
}

/** The signed documents of every registered study (for `mosaik consent studies --dir`). */
export async function fetchStudies(config: ClusterConfig, signer: Signer, node: PartyId = 0): Promise<SignedStudy[]> {
  const out: SignedStudy[] = [];
  for (const id of new Set((await listStudies(config, signer, node)).map((s) => s.id))) {
    const r = await apiRequest<{ versions: { document: SignedStudy }[]; error?: string }>(config, node, `/v1/studies/${encodeURIComponent(id)}`, { signer });
    if (r.status !== 200) throw new Error(r.body?.error ?? `HTTP ${r.status}`);
    for (const v of r.body.versions) out.push(parseSignedStudy(v.document));
  }
  return out;
}

export interface PublishedConsent {
  version: string;
  rows: number;
  receipts: { purpose: string; granted: boolean; commitment: string; salt: string }[];
  ledgerSeq?: number;
}

/**
 * The consent custodian publishes its register with new `changes` (already in `events`): uploads
 * the register as a new version to every node and posts the signed update (see the module comment).
 */
export async function publishConsent(o: { config: ClusterConfig; consortium: Consortium; events: ConsentEvent[]; changes: ConsentEvent[]; signer: Signer; version?: string; shareKeyPath?: string; salts?: (string | undefined)[] }): Promise<PublishedConsent> {
  const reg = o.consortium.consent;
  if (!reg) throw new GovernanceError('consent', `consortium '${o.consortium.name}' names no consent register ("consent": {"dataset", "custodian"})`);
  const rows = withUntil(o.events);
  const schema = consentSchema(reg.custodian, reg.dataset);
  const list = purposeCodeList(o.consortium.purposes);
  const version = o.version ?? consentVersion();
  const { key } = loadCustodianKey(o.shareKeyPath ?? join(o.config.dir, 'custodians', `${reg.custodian}.key`), { create: !o.shareKeyPath });
  await uploadDataset({ config: o.config, dataset: { schema, codeLists: new Map([[list.name, list]]), rows: rows.length, columns: encodeConsentRows(rows, o.consortium.purposes) }, version, key, signer: o.signer });
  // A citizen who chose the salt (a change sealed in their browser: src/governance/citizen-docs.ts) finds it with theirs.
  const receipts = o.changes.map((e, i) => {
    const salt = o.salts?.[i];
    if (salt) return { purpose: e.purpose, granted: e.granted, commitment: consentCommitment(e, salt), salt };
    const r = consentReceipt(e);
    return { ...r.body, salt: r.salt };
  });
  const body: ConsentUpdateBody = {
    format: 'mosaik-consent-update/1',
    custodian: reg.custodian,
    dataset: reg.dataset,
    version,
    rows: rows.length,
    changes: receipts.map(({ purpose, granted, commitment }) => ({ purpose, granted, commitment })),
    time: new Date().toISOString(),
  };
  const r = await submitDocument(o.config, 'consent-update', signConsentUpdate(body, o.consortium, o.signer), o.signer);
  return { version, rows: rows.length, receipts, ...(r.ledgerSeq !== undefined ? { ledgerSeq: r.ledgerSeq } : {}) };
}

/** The schemas of datasets stored at node 0 (public metadata). */
export async function fetchSchemas(config: ClusterConfig, names: string[], signer: Signer): Promise<DatasetSchema[]> {
  return Promise.all(names.map(async (n) => {
    const r = await apiRequest<{ schema?: DatasetSchema; error?: string }>(config, 0, `/v1/datasets/${encodeURIComponent(n)}`, { signer });
    if (r.status !== 200 || !r.body.schema) throw new GovernanceError('unknown-dataset', `dataset '${n}' at node 0: ${r.body?.error ?? `HTTP ${r.status}`}`);
    return r.body.schema;
  }));
}

/** Usage per custodian and study as one node recorded it. */
export async function fetchUsage(config: ClusterConfig, node: PartyId, filter: { custodian?: string; study?: string }, signer: Signer): Promise<{ node: string; summary: UsageSummary[] }> {
  const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v) as [string, string][]).toString();
  const r = await apiRequest<{ node: string; summary: UsageSummary[]; error?: string }>(config, node, `/v1/usage${q ? `?${q}` : ''}`, { signer });
  if (r.status !== 200) throw new Error(r.body?.error ?? `HTTP ${r.status}`);
  return r.body;
}

/**
 * Where three nodes' usage records disagree (each node records usage on its own; the times differ
 * by the moment each finished, the counts must not): one line per custodian and study that differs.
 */
export function compareUsage(perNode: { node: string; summary: UsageSummary[] }[]): string[] {
  const key = (u: UsageSummary) => `${u.custodian} / ${u.study}`;
  const what = (u: UsageSummary | undefined) => (u ? `${u.queries} queries, ${u.rowsTouched} rows, epsilon ${u.epsilon}, ${u.datasets.join('+')}` : 'nothing');
  const keys = [...new Set(perNode.flatMap((n) => n.summary.map(key)))].sort();
  const out: string[] = [];
  for (const k of keys) {
    const seen = perNode.map((n) => ({ node: n.node, u: n.summary.find((u) => key(u) === k) }));
    if (new Set(seen.map((x) => what(x.u))).size > 1) out.push(`${k}: ${seen.map((x) => `${x.node} records ${what(x.u)}`).join('; ')}`);
  }
  return out;
}

/** Usage as all three nodes recorded it, cross-checked: node 0's summary and where the nodes disagree. */
export async function fetchUsageAll(config: ClusterConfig, filter: { custodian?: string; study?: string }, signer: Signer): Promise<{ summary: UsageSummary[]; differences: string[] }> {
  const all = await Promise.all(([0, 1, 2] as PartyId[]).map((p) => fetchUsage(config, p, filter, signer)));
  return { summary: all[0]!.summary, differences: compareUsage(all) };
}

/**
 * A new consortium configuration: the default purposes and the consent register's dataset; with a
 * cluster, its identities (identities.json) as the members and its nodes' Ed25519 keys (cluster.json)
 * as the nodes, so that nothing is copied by hand. The consent register is in force once a
 * custodian owns its dataset (now, or when one is added: src/governance/consortium.ts addMember).
 */
export function newConsortiumConfig(o: { name: string; consentDataset: string; cluster?: ClusterConfig }): ConsortiumConfig {
  const pem = (k: import('node:crypto').KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
  const members = o.cluster ? [...loadIdentities(o.cluster.dir).values()].map((m) => ({ name: m.name, role: m.role, publicKey: pem(m.publicKey), ...(m.datasets.length ? { datasets: m.datasets } : {}) })) : [];
  const nodes = o.cluster ? o.cluster.nodes.filter((n) => n.signingKey).map((n) => ({ name: n.name, publicKey: pem(signingPublicKey(n.signingKey!)) })) : [];
  const owner = members.find((m) => m.datasets?.includes(o.consentDataset));
  return { consortium: o.name, purposes: DEFAULT_PURPOSES.map((p) => ({ ...p })), members, ...(nodes.length ? { nodes } : {}), consent: { dataset: o.consentDataset, ...(owner ? { custodian: owner.name } : {}) } };
}
