// A large transparency log for the audit benchmarks (bench/audit.ts: the CLI; bench/audit-web.ts:
// the browser): mostly job-run and result-released entries with realistic bodies, a consent update
// every 1000 entries, and a head co-signed by the three nodes of a local cluster after every K
// entries; written as identical replicas into the three node directories.
import { randomUUID, sign, createHash, createPrivateKey } from 'node:crypto';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, type EntryKind, type JsonValue, type LedgerEntry } from '../src/ledger/entry.js';
import { headMessage, type SignedHead, type TreeHead } from '../src/ledger/heads.js';
import { MerkleTree, toHex } from '../src/ledger/merkle.js';
import { readSigningKey, LOCAL_NODE_NAMES, type LocalCluster } from '../src/net/keys.js';

/** A numeric command-line flag `--name value`. */
export const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Writes a log of `n` entries (a head after every `every`) into each node's ledger/; returns the number of heads. */
export function writeBenchLog(c: LocalCluster, n: number, every: number): number {
  const keys = c.nodeDirs.map((d, i) => createPrivateKey(readSigningKey(d, LOCAL_NODE_NAMES[i]!).privateKeyPem));
  const cluster = c.config.cluster;
  const entryLines: string[] = [];
  const headLines: string[] = [];
  const tree = new MerkleTree();
  let job = '';
  const start = Date.parse('2025-01-01T00:00:00.000Z');
  for (let seq = 0; seq < n; seq++) {
    const time = new Date(start + seq * 1000).toISOString();
    let kind: EntryKind;
    let body: { [k: string]: JsonValue };
    if (seq % 1000 === 0) {
      kind = 'consent-changed';
      body = { dataset: 'consent', version: `consent-v${seq}`, rows: 100_000, changes: [{ purpose: 'public-health', granted: false, commitment: hex(`c${seq}`) }], time };
    } else if (seq % 2 === 1) {
      job = randomUUID();
      kind = 'job-run';
      body = {
        job, jobSeq: seq, dataset: 'population', version: 'v1', versions: { population: 'v1', contacts: 'v3' }, sqlSha256: hex(`sql ${seq}`), minCellSize: 5,
        requester: 'epidemiologist', requestSha256: hex(`req ${seq}`), protection: { kind: 'dp', mechanism: 'laplace', epsilon: 0.1 },
      };
    } else {
      kind = 'result-released';
      body = { job: job || randomUUID(), resultMeta: hex(`meta ${seq}`), shareCommitments: [hex(`a${seq}`), hex(`b${seq}`), hex(`c${seq}`)] };
    }
    const e: LedgerEntry = { seq, time, kind, body };
    const line = canonicalJson(e);
    entryLines.push(line);
    tree.append(line);
    if ((seq + 1) % every === 0 || seq === n - 1) {
      const h: TreeHead = { cluster, size: seq + 1, rootHash: toHex(tree.root()), timestamp: time };
      const msg = headMessage(h);
      const head: SignedHead = { ...h, signatures: ([0, 1, 2] as const).map((p) => ({ party: p, signature: sign(null, msg, keys[p]!).toString('base64') })) };
      headLines.push(canonicalJson(head));
    }
  }
  const dirs = c.nodeDirs.map((d) => join(d, 'ledger'));
  mkdirSync(dirs[0]!, { recursive: true });
  writeFileSync(join(dirs[0]!, 'entries.jsonl'), entryLines.join('\n') + '\n');
  writeFileSync(join(dirs[0]!, 'heads.jsonl'), headLines.join('\n') + '\n');
  for (const d of dirs.slice(1)) cpSync(dirs[0]!, d, { recursive: true });
  return headLines.length;
}
