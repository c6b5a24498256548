// How long verifying a large transparency log takes: `mosaik audit verify` offline on three
// replicas of a generated log (job-run and result-released entries with a few study, approval and
// consent entries, realistic bodies), and a node re-opening its own replica (LedgerLog.open, which
// checks every root but only the latest head's signatures).
//
//   npm run bench:audit [-- --entries 100000 --head-every 1]
//
// The log: bench/audit-log.ts. The same audit in the browser's worker: bench/audit-web.ts.
//
// --head-every K: a co-signed head after every K entries (the nodes co-sign after each append, so 1
// is what a busy cluster writes; its heads dominate the audit: 3 Ed25519 signatures each).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditVerify } from '../src/cli/audit.js';
import { LedgerLog } from '../src/ledger/log.js';
import { createLocalCluster, LOCAL_NODE_NAMES } from '../src/net/keys.js';
import { arg, writeBenchLog } from './audit-log.js';

const N = arg('entries', 100_000);
const EVERY = arg('head-every', 1);

const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-audit-'));
try {
  const c = await createLocalCluster(root, { cluster: 'bench' });
  let t = performance.now();
  const heads = writeBenchLog(c, N, EVERY);
  const dirs = c.nodeDirs.map((d) => join(d, 'ledger'));
  console.log(`generated ${N} entries and ${heads} co-signed heads in ${((performance.now() - t) / 1000).toFixed(1)} s`);

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
