// Calls to the three nodes through the relay (src/cli/web.ts): public routes plainly, every other
// one signed in this browser for the node it goes to. The relay sees the signed call and the node's
// answer; results in those answers are sealed to keys that stay here (./run.ts).
import { utf8 } from './bytes.js';
import type { BrowserIdentity } from './keys.js';
import { authorization } from './sign.js';

export type Party = 0 | 1 | 2;
export const PARTIES: Party[] = [0, 1, 2];

export interface ClusterInfo {
  cluster: string;
  /** uploadKey: the node's X25519 key browsers seal uploads to ("x25519:…"; src/net/upload-keys.ts); signingKey: its public Ed25519 key for the transparency log's heads (cluster.json). */
  nodes: { id: Party; name: string; uploadKey?: string; signingKey?: string }[];
}

let clusterInfo: Promise<ClusterInfo> | null = null;
export function cluster(): Promise<ClusterInfo> {
  clusterInfo ??= fetch('/api/cluster').then(async (r) => {
    if (!r.ok) throw new Error(`the web server answered ${r.status} for /api/cluster`);
    return (await r.json()) as ClusterInfo;
  });
  return clusterInfo;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Sign as this identity (every route that is not public). */
  as?: BrowserIdentity;
  /** Raw bytes (uploads), sent as application/octet-stream with an unsigned body hash. */
  raw?: Uint8Array;
  contentType?: string;
}

/** One call to node `party`; resolves with the JSON answer, or throws ApiError with the node's message. */
export async function call<T>(party: Party, path: string, o: CallOptions = {}): Promise<T> {
  const info = await cluster();
  const method = o.method ?? (o.body !== undefined || o.raw ? 'POST' : 'GET');
  const bytes = o.raw ?? (o.body !== undefined ? utf8(JSON.stringify(o.body)) : undefined);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (bytes) headers['content-type'] = o.contentType ?? (o.raw ? 'application/octet-stream' : 'application/json');
  if (o.as) headers.authorization = await authorization(o.as, { method, path, audience: `${info.cluster}/${info.nodes[party]!.name}` }, o.raw ? 'unsigned' : bytes);
  let r: Response;
  try {
    r = await fetch(`/api/nodes/${party}${path}`, { method, headers, ...(bytes ? { body: bytes as BodyInit } : {}) });
  } catch (e) {
    throw new ApiError(`the web server cannot be reached (${(e as Error).message}); is \`mosaik web\` still running?`, 0, null);
  }
  const text = await r.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!r.ok) {
    const msg = body && typeof body === 'object' && 'error' in body ? String((body as { error: unknown }).error) : `HTTP ${r.status}`;
    throw new ApiError(msg, r.status, body);
  }
  return body as T;
}

/** The same call at every node (e.g. each node's own budget or usage records). */
export const callAll = <T>(path: string, o: CallOptions = {}): Promise<T[]> => Promise.all(PARTIES.map((p) => call<T>(p, path, o)));

export interface GovernanceInfo {
  governed: boolean;
  consortium?: string;
  purposes?: { code: string; label: string; consent: string }[];
  members?: { name: string; role: string; keyId: string; datasets: string[] }[];
  consent?: { dataset: string; custodian: string } | null;
}

let governanceInfo: Promise<GovernanceInfo> | null = null;
/** Whether the cluster is governed, and its consortium's public configuration (GET /v1/governance). */
export function governance(): Promise<GovernanceInfo> {
  governanceInfo ??= call<GovernanceInfo>(0, '/v1/governance');
  return governanceInfo;
}
