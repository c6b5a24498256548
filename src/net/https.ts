// What every HTTPS client of a node shares (custodian uploads, requesters, node-to-node calls):
// TLS 1.3, trust in exactly the certificate pinned for that node in cluster.json, and reading a
// JSON answer. Below src/ingest and src/node so both import it and neither imports the other.
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import type { ResolvedNode } from './keys.js';

/** TLS options that accept only `node`'s pinned certificate (by PEM when known, by fingerprint always). */
export function pinnedTlsOptions(node: ResolvedNode): {
  minVersion: 'TLSv1.3';
  ca?: string;
  rejectUnauthorized: boolean;
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
} {
  return {
    minVersion: 'TLSv1.3',
    ...(node.certPem ? { ca: node.certPem } : {}),
    rejectUnauthorized: !!node.certPem,
    checkServerIdentity: (_host, cert) =>
      cert.fingerprint256 === node.fingerprint ? undefined : new Error(`node ${node.id} (${node.name}) presented a certificate with SHA-256 fingerprint ${cert.fingerprint256}, but cluster.json pins ${node.fingerprint}`),
  };
}

export interface JsonAnswer<T = unknown> {
  status: number;
  body: T;
}

/** Reads a response body (at most `limit` bytes kept) and parses it as JSON when it is JSON. */
export function readJsonAnswer<T = unknown>(res: IncomingMessage, limit = 64 << 20): Promise<JsonAnswer<T>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) parts.push(c);
    });
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      resolve({ status: res.statusCode ?? 0, body: body as T });
    });
  });
}
