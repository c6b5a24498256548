// Whose signatures the auditor's page checks: the three nodes' public Ed25519 keys, from the web
// server (/api/cluster, which reads cluster.json) or — so that the web server is not trusted for
// them either — from the auditor's own copy of cluster.json, loaded from a file. A mismatch between
// the two is reported.
import { isSigningKey, signingKeyBytes } from '../../../src/ledger/ed25519.js';
import { toHex } from '../../../src/ledger/bytes.js';
import type { TrustAnchor } from '../../../src/ledger/verify.js';
import type { ClusterInfo } from './api.js';

export interface Anchor extends TrustAnchor {
  /** Where the keys come from, for the page. */
  source: 'server' | 'file';
}

/** The anchor from the web server's cluster info; an Error saying what is missing otherwise. */
export function anchorFromServer(info: ClusterInfo): Anchor | Error {
  const nodes = [...info.nodes].sort((a, b) => a.id - b.id);
  if (nodes.length !== 3) return new Error(`the web server lists ${nodes.length} nodes, not three`);
  const missing = nodes.filter((n) => !n.signingKey || !isSigningKey(n.signingKey));
  if (missing.length) return new Error(`the web server does not give a usable signing key for ${missing.map((n) => n.name).join(', ')} (cluster.json without "signingKey"?). Load your own copy of cluster.json below.`);
  return { source: 'server', cluster: info.cluster, keys: nodes.map((n) => n.signingKey!) as [string, string, string], names: nodes.map((n) => n.name) as [string, string, string] };
}

/** The anchor from a cluster.json file's text; throws with what is wrong. */
export function anchorFromFile(text: string): Anchor {
  let j: { cluster?: unknown; nodes?: { id?: unknown; name?: unknown; signingKey?: unknown }[] };
  try {
    j = JSON.parse(text) as typeof j;
  } catch {
    throw new Error('this file is not JSON: choose the cluster.json of the cluster');
  }
  if (!Array.isArray(j?.nodes) || j.nodes.length !== 3) throw new Error('this is not a cluster.json: it must list three nodes');
  const nodes = [...j.nodes].sort((a, b) => Number(a.id) - Number(b.id));
  const keys = nodes.map((n) => (typeof n.signingKey === 'string' ? n.signingKey.trim() : ''));
  const bad = nodes.filter((_, i) => !isSigningKey(keys[i]!));
  if (bad.length) throw new Error(`cluster.json has no usable "signingKey" for ${bad.map((n, i) => String(n.name ?? `node ${i}`)).join(', ')}`);
  return { source: 'file', cluster: typeof j.cluster === 'string' ? j.cluster : 'mosaik', keys: keys as [string, string, string], names: nodes.map((n, i) => String(n.name ?? `node ${i}`)) as [string, string, string] };
}

/** Differences between two anchors, in words (empty: the same keys and names). */
export function anchorDifferences(a: TrustAnchor, b: TrustAnchor): string[] {
  const out: string[] = [];
  if (a.cluster !== b.cluster) out.push(`the cluster is '${a.cluster}' at the web server, '${b.cluster}' in your file`);
  for (const p of [0, 1, 2] as const) {
    const [x, y] = [signingKeyBytes(a.keys[p]), signingKeyBytes(b.keys[p])];
    if (!x || !y || toHex(x) !== toHex(y)) out.push(`node ${p} (${b.names[p]}): the web server gives another signing key than your file`);
  }
  return out;
}
