// How long verifying a large transparency log takes: `mosaik audit verify` offline on three
// replicas of a generated log (job-run and result-released entries with a few study, approval and
// consent entries, realistic bodies), and a node re-opening its own replica (LedgerLog.open, which
// checks every root but only the latest head's signatures).
//
//   npm run bench:audit [-- --entries 100000 --head-every 1]
//
// --head-every K: a co-signed head after every K entries (the nodes co-sign after each append, so 1
// is what a busy cluster writes; its heads dominate the audit: 3 Ed25519 signatures each).
import { randomUUID, sign, createHash, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditVerify } from '../src/cli/audit.js';
import { canonicalJson, type EntryKind, type JsonValue, type LedgerEntry } from '../src/ledger/entry.js';
import { headMessage, type SignedHead, type TreeHead } from '../src/ledger/heads.js';
import { LedgerLog } from '../src/ledger/log.js';
import { MerkleTree, toHex } from '../src/ledger/merkle.js';
import { createLocalCluster, readSigningKey, LOCAL_NODE_NAMES } from '../src/net/keys.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('entries', 100_000);
const EVERY = arg('head-every', 1);
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-audit-'));
try {
  const c = await createLocalCluster(root, { cluster: 'bench' });
  const keys = c.nodeDirs.map((d, i) => createPrivateKey(readSigningKey(d, LOCAL_NODE_NAMES[i]!).privateKeyPem));

  let t = performance.now();
  const entryLines: string[] = [];
  const headLines: string[] = [];
  const tree = new MerkleTree();
  let job = '';
  const start = Date.parse('2025-01-01T00:00:00.000Z');
  for (let seq = 0; seq < N; seq++) {
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
    if ((seq + 1) % EVERY === 0 || seq === N - 1) {
      const h: TreeHead = { cluster: 'bench', size: seq + 1, rootHash: toHex(tree.root()), timestamp: time };
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
  console.log(`generated ${N} entries and ${headLines.length} co-signed heads in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const l = LedgerLog.open(dirs[0]!, { cluster: 'bench', keys: c.config.nodes.map((n) => n.signingKey!) as [string, string, string], names: LOCAL_NODE_NAMES, signatures: 'latest' });
  console.log(`node re-opens its replica (every root, the latest head's signatures): ${((performance.now() - t) / 1000).toFixed(2)} s (${l.problems.length} problems)`);
  l.close();

  t = performance.now();
  const one = await auditVerify({ dir: root, logs: [c.nodeDirs[0]] });
  console.log(`audit verify, one replica: ${((performance.now() - t) / 1000).toFixed(2)} s (${one.ok ? 'ok' : one.problems.slice(0, 3).join('; ')})`);

  t = performance.now();
  const all = await auditVerify({ dir: root, logs: [...c.nodeDirs] });
  console.log(`audit verify, three replicas: ${((performance.now() - t) / 1000).toFixed(2)} s (${all.ok ? 'ok' : all.problems.slice(0, 3).join('; ')})`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
