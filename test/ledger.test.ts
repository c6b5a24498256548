// The transparency log: RFC 9162 Merkle proofs against a brute-force reference, the on-disk
// replica, every kind of tampering (changed, removed, reordered, truncated entries, half-written
// lines, forged or missing signatures, forks between replicas) detected with a specific message,
// signing keys in the cluster config, and end to end: three node daemons, one query saved with
// `mosaik query --save`, `mosaik audit verify` over the nodes' APIs with the result's inclusion,
// then one node's replica tampered on disk and reported.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { EMPTY_ROOT, leafHash, MerkleTree, nodeHash, verifyConsistency, verifyInclusion, fromHex, toHex } from '../src/ledger/merkle.js';
import { canonicalJson, LedgerError, type JsonValue, type LedgerEntry } from '../src/ledger/entry.js';
import type { SignedHead, TreeHead } from '../src/ledger/heads.js';
import { signHead } from '../src/ledger/heads-sign.js';
import { LedgerLog } from '../src/ledger/log.js';
import { auditVerify } from '../src/cli/audit.js';
import { clusterSigningKeys, createLocalCluster, generateSigningKey, loadClusterConfig, readSigningKey, writeNodeKey, signingKeyPath, type LocalCluster, type SigningKey } from '../src/net/keys.js';
import { splitShares } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { adhocBody, localSigners, type LocalSigners } from './identities.js';
import { apiRequest } from '../src/node/api.js';
import { writeApiPorts } from '../src/node/daemon.js';
import type { CodeList, DatasetSchema } from '../src/ingest/schema.js';
import { planSql, runQuery, type RunOptions } from '../src/query/index.js';
import { run3 } from './harness.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-ledger-'));
after(() => rmSync(root, { recursive: true, force: true }));

function mosaik(...args: string[]): Promise<{ code: number; out: string; stdout: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr, stdout });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Brute-force reference: the definitions of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1, literally
// (node:crypto's SHA-256; the tree uses @noble/hashes and returns plain Uint8Arrays, as H does).

const H = (...b: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(b)).digest());
function refMth(d: Buffer[]): Uint8Array {
  const n = d.length;
  if (n === 0) return H();
  if (n === 1) return H(Buffer.from([0]), d[0]!);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return H(Buffer.from([1]), refMth(d.slice(0, k)), refMth(d.slice(k)));
}
function refPath(m: number, d: Buffer[]): Uint8Array[] {
  const n = d.length;
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))] : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}
function refSubproof(m: number, d: Buffer[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [refMth(d)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))] : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}
const data = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`entry ${i} ${'x'.repeat(i % 7)}`));

describe('Merkle tree (RFC 9162 §2.1)', () => {
  it('roots, inclusion and consistency proofs equal the reference for every size 1..70, and verify', () => {
    assert.deepEqual(new MerkleTree().root(), EMPTY_ROOT);
    assert.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const all = data(70);
    const t = new MerkleTree();
    for (const d of all) t.append(d);
    for (let n = 1; n <= 70; n++) {
      const d = all.slice(0, n);
      const rootN = refMth(d);
      assert.deepEqual(t.root(n), rootN, `root of ${n}`);
      for (let m = 0; m < n; m++) {
        const proof = t.inclusionProof(m, n);
        assert.deepEqual(proof, refPath(m, d), `PATH(${m}, D[${n}])`);
        assert.ok(verifyInclusion(leafHash(d[m]!), m, n, proof, rootN), `inclusion ${m} in ${n}`);
        // Wrong index, wrong size, altered path, other leaf: refused.
        if (n > 1) assert.ok(!verifyInclusion(leafHash(d[m]!), (m + 1) % n, n, proof, rootN), `inclusion ${m} in ${n} at the wrong index`);
        assert.ok(!verifyInclusion(leafHash(Buffer.from('other')), m, n, proof, rootN));
        assert.ok(!verifyInclusion(leafHash(d[m]!), m, n + 1, proof, t.root(Math.min(n + 1, 70))) || n === 70);
        if (proof.length) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[bad.length - 1]![0]! ^= 1;
          assert.ok(!verifyInclusion(leafHash(d[m]!), m, n, bad, rootN));
          assert.ok(!verifyInclusion(leafHash(d[m]!), m, n, proof.slice(0, -1), rootN));
        }
      }
      for (let m = 1; m <= n; m++) {
        const proof = t.consistencyProof(m, n);
        assert.deepEqual(proof, m === n ? [] : refSubproof(m, d, true), `PROOF(${m}, D[${n}])`);
        assert.ok(verifyConsistency(m, n, refMth(all.slice(0, m)), rootN, proof), `consistency ${m} → ${n}`);
        if (m < n) {
          assert.ok(!verifyConsistency(m, n, refMth([...all.slice(0, m - 1), Buffer.from('changed')]), rootN, proof), `consistency ${m} → ${n} with a changed old tree`);
          const bad = proof.map((p) => Buffer.from(p));
          bad[0]![5]! ^= 1;
          assert.ok(!verifyConsistency(m, n, refMth(all.slice(0, m)), rootN, bad));
        }
      }
    }
    assert.ok(verifyConsistency(0, 5, EMPTY_ROOT, t.root(5), []));
  });

  it('agrees with the reference at random large sizes (up to 10^5 leaves)', () => {
    const N = 100_003;
    const t = new MerkleTree();
    const leaves: Buffer[] = [];
    for (let i = 0; i < N; i++) leaves.push(randomBytes(8));
    for (const l of leaves) t.append(l);
    for (const n of [1025, 4097, 16_385, 1 + Math.floor(Math.random() * 20_000), N]) {
      const d = leaves.slice(0, n);
      const rootN = refMth(d);
      assert.deepEqual(t.root(n), rootN);
      for (const m of n === N ? [Math.floor(Math.random() * n)] : [0, n - 1, Math.floor(Math.random() * n)]) {
        const proof = t.inclusionProof(m, n);
        assert.deepEqual(proof, refPath(m, d), `PATH(${m}, D[${n}])`);
        assert.ok(verifyInclusion(leafHash(d[m]!), m, n, proof, rootN));
      }
      const m = 1 + Math.floor(Math.random() * (n - 1));
      const proof = t.consistencyProof(m, n);
      assert.deepEqual(proof, refSubproof(m, d, true));
      assert.ok(verifyConsistency(m, n, t.root(m), rootN, proof));
    }
    // A proof at 10^5 is a handful of hashes, not a rebuild.
    assert.ok(t.inclusionProof(12_345, N).length <= 17);
    assert.deepEqual(nodeHash(t.leafHash(0), t.leafHash(1)), t.root(2));
  });
});

// ---------------------------------------------------------------------------------------------
// Replicas on disk, tampering

const NAMES = ['node-a', 'node-b', 'node-c'] as const;
let keys: SigningKey[];
let clusterDir: string;

/** A cluster directory with cluster.json carrying the three public signing keys (offline checks need no TLS). */
function fakeCluster(): string {
  const dir = join(root, 'fake-cluster');
  mkdirSync(dir, { recursive: true });
  const fp = (i: number) => Array.from({ length: 32 }, () => `0${i}`).join(':');
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ cluster: 'test', nodes: NAMES.map((name, i) => ({ id: i, name, host: '127.0.0.1', port: 9000 + i, fingerprint: fp(i), signingKey: keys[i]!.publicKey })) }));
  return dir;
}
const anchor = () => ({ cluster: 'test', keys: keys.map((k) => k.publicKey) as [string, string, string], names: NAMES });

function coSign(h: TreeHead, signers = [0, 1, 2]): SignedHead {
  return { ...h, signatures: signers.map((p) => signHead(h, p as 0 | 1 | 2, keys[p]!.privateKeyPem)) };
}

let clock = Date.parse('2025-03-01T10:00:00.000Z');
const tick = () => new Date((clock += 1000)).toISOString();

/** A replica in <dir>/ledger with n entries of all kinds and a co-signed head after each one. */
function buildReplica(nodeDir: string, n: number, variant = ''): LedgerLog {
  const log = LedgerLog.open(join(nodeDir, 'ledger'), anchor());
  for (let i = 0; i < n; i++) {
    const kind = (['study-submitted', 'study-approved', 'consent-changed', 'job-run', 'result-released'] as const)[i % 5];
    const h = (s: string) => createHash('sha256').update(s + variant).digest('hex');
    // A release is of the job run just before it (the audit's content rules check that).
    const job = `00000000-0000-4000-8000-${String(kind === 'result-released' ? i - 1 : i).padStart(12, '0')}`;
    const body =
      kind === 'job-run'
        ? { job, jobSeq: i, dataset: 'visits', version: 'v1', sqlSha256: h(`sql${i}`), minCellSize: 5 }
        : kind === 'result-released'
          ? { job, resultMeta: h(`m${i}`), shareCommitments: [h(`a${i}`), h(`b${i}`), h(`c${i}`)] }
          : kind === 'consent-changed'
            ? { purpose: 'diabetes research', optedOut: 12 + i, optedIn: 3, register: h('consent register') }
            : { study: `study-${i}${variant}`, purpose: 'prevalence' };
    log.append(kind, body as unknown as { [k: string]: JsonValue }, tick());
    log.addHead(coSign({ cluster: 'test', size: log.size, rootHash: log.rootHash(), timestamp: tick() }));
  }
  return log;
}

const entriesOf = (nodeDir: string) => join(nodeDir, 'ledger', 'entries.jsonl');
const headsOf = (nodeDir: string) => join(nodeDir, 'ledger', 'heads.jsonl');
const readLines = (f: string) => readFileSync(f, 'utf8').split('\n').slice(0, -1);
const writeLines = (f: string, l: string[]) => writeFileSync(f, l.map((x) => x + '\n').join(''));

/** A fresh copy of the pristine replica for one tampering case. */
let pristine: string;
let copies = 0;
function copy(): string {
  const d = join(clusterDir, `case-${++copies}`);
  cpSync(pristine, d, { recursive: true });
  return d;
}
async function audit(...dirs: string[]) {
  return auditVerify({ dir: clusterDir, logs: dirs });
}
async function expectProblem(dirs: string[], re: RegExp): Promise<string[]> {
  const r = await audit(...dirs);
  assert.equal(r.ok, false, `tampering not detected:\n${r.lines.join('\n')}`);
  assert.ok(r.problems.some((p) => re.test(p)), `expected a problem matching ${re}, got:\n${r.problems.join('\n')}`);
  return r.problems;
}

describe('transparency log replicas', () => {
  before(() => {
    keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()];
    clusterDir = fakeCluster();
    pristine = join(clusterDir, 'node-a');
    buildReplica(pristine, 12).close();
  });

  it('a replica verifies from genesis; reopening re-verifies it; entries are canonical JSON', async () => {
    const r = await audit(pristine);
    assert.equal(r.ok, true, r.lines.join('\n'));
    assert.match(r.lines.join('\n'), /node-a: 12 entries .*12 heads; latest co-signed head: size 12/);
    assert.match(r.lines.at(-1)!, /^OK: the log verifies from genesis to the co-signed head of size 12/);
    const log = LedgerLog.open(join(pristine, 'ledger'), anchor());
    assert.equal(log.size, 12);
    assert.equal(log.latest!.size, 12);
    assert.equal(log.damaged, false);
    const first = readLines(entriesOf(pristine))[0]!;
    assert.equal(first, canonicalJson(JSON.parse(first)));
    assert.match(first, /^\{"body":\{.*\},"kind":"study-submitted","seq":0,"time":"2025-03-01T10:00:01.000Z"\}$/);
    // Proofs from the stored replica verify against the co-signed root.
    const p = log.inclusionProof(7, 12).map((h) => fromHex(h));
    assert.ok(verifyInclusion(fromHex(log.leafHash(7)), 7, 12, p, fromHex(log.latest!.rootHash)));
    log.close();
  });

  it('detects a changed entry', async () => {
    const d = copy();
    const l = readLines(entriesOf(d));
    const was = l[2];
    l[2] = l[2]!.replace('"optedOut":14', '"optedOut":15');
    assert.notEqual(l[2], was);
    writeLines(entriesOf(d), l);
    const p = await expectProblem([d], /case-\d+: entries changed: the first 3 entries hash to root .* but head #3 \(size 3, .*\) co-signs .*; the first 2 match the earlier head of size 2, so entry 2 was changed, removed or reordered \(9 later heads fail the same way\)/);
    assert.equal(p.length, 1, p.join('\n'));
    assert.throws(() => LedgerLog.open(join(d, 'ledger'), anchor()), /fails verification:[\s\S]*entries changed/);
  });

  it('detects a removed entry', async () => {
    const d = copy();
    const l = readLines(entriesOf(d));
    l.splice(6, 1);
    writeLines(entriesOf(d), l);
    await expectProblem([d], /case-\d+: entry 6 is missing \(removed\): line 7 holds seq 7, expected 6/);
    await expectProblem([d], /log truncated: head #12 \(size 12, .*\) covers 12 entries, but the log holds only 11/);
  });

  it('detects reordered entries', async () => {
    const d = copy();
    const l = readLines(entriesOf(d));
    [l[3], l[8]] = [l[8]!, l[3]!];
    writeLines(entriesOf(d), l);
    await expectProblem([d], /entries out of order \(reordered or duplicated\): line \d+ holds seq \d+ after seq \d+/);
    await expectProblem([d], /entries changed/);
    // Reordered with the seq numbers rewritten to look sequential: the roots still catch it.
    const e = copy();
    const m = readLines(entriesOf(e)).map((x) => JSON.parse(x) as LedgerEntry);
    [m[3], m[8]] = [m[8]!, m[3]!];
    writeLines(entriesOf(e), m.map((x, i) => canonicalJson({ ...x, seq: i })));
    await expectProblem([e], /entries changed: .*entry 3 was changed, removed or reordered/);
  });

  it('detects a truncated log, and a replica shorter than a head the nodes co-signed', async () => {
    const d = copy();
    writeLines(entriesOf(d), readLines(entriesOf(d)).slice(0, 9));
    await expectProblem([d], /log truncated: head #10 \(size 10, .*\) covers 10 entries, but the log holds only 9 \(entry 9 removed\)/);
    // Entries and their heads cut off together: the replica alone looks fine, the others show the loss.
    const e = copy();
    writeLines(entriesOf(e), readLines(entriesOf(e)).slice(0, 9));
    writeLines(headsOf(e), readLines(headsOf(e)).slice(0, 9));
    assert.equal((await audit(e)).ok, true);
    await expectProblem([pristine, e], new RegExp(`case-${copies}'s log holds 9 entries, but the nodes co-signed a head of size 12 \\(seen at node-a\\): .* lost entries 9..11 \\(truncated\\)`));
  });

  it('detects a half-written last line: reported, never silently accepted; the daemon sets it aside', async () => {
    const d = copy();
    const half = '{"body":{"study":"study-12","purpose":"preval';
    writeFileSync(entriesOf(d), readFileSync(entriesOf(d), 'utf8') + half);
    await expectProblem([d], new RegExp(`entries.jsonl ends in a partial line \\(${half.length} bytes after the last newline\\): an append interrupted by a crash`));
    assert.throws(() => LedgerLog.open(join(d, 'ledger'), anchor()), /partial line/);
    const log = LedgerLog.open(join(d, 'ledger'), { ...anchor(), partialTail: 'set-aside' });
    assert.match(log.warnings[0]!, new RegExp(`entries.jsonl ended in a partial line of ${half.length} bytes .* set aside`));
    assert.equal(log.size, 12);
    assert.equal(log.damaged, false);
    log.append('study-submitted', { study: 'study-12' }, tick());
    log.close();
    assert.equal(readLines(entriesOf(d)).length, 13);
  });

  it('detects a forged, a missing and a foreign signature', async () => {
    const d = copy();
    const h = readLines(headsOf(d)).map((x) => JSON.parse(x) as SignedHead);
    const sig = Buffer.from(h[6]!.signatures[1]!.signature, 'base64');
    sig[10]! ^= 1;
    h[6]!.signatures[1]!.signature = sig.toString('base64');
    h[8]!.signatures = h[8]!.signatures.filter((s) => s.party !== 2);
    writeLines(headsOf(d), h.map((x) => JSON.stringify(x)));
    await expectProblem([d], /case-\d+: head #7 \(size 7, .*\) the signature of node-b \(party 1\) does not verify \(forged signature or altered head\)/);
    await expectProblem([d], /case-\d+: head #9 \(size 9, .*\) is missing the signature of node-c \(party 2\)/);
    // A head re-signed after changing its root, by a key that is not the node's.
    const e = copy();
    const g = readLines(headsOf(e)).map((x) => JSON.parse(x) as SignedHead);
    const forged: TreeHead = { ...g[11]!, rootHash: 'ab'.repeat(32) };
    const intruder = generateSigningKey();
    g[11] = { ...forged, signatures: [signHead(forged, 0, keys[0]!.privateKeyPem), signHead(forged, 1, intruder.privateKeyPem), signHead(forged, 2, keys[2]!.privateKeyPem)] };
    writeLines(headsOf(e), g.map((x) => JSON.stringify(x)));
    await expectProblem([e], /head #12 \(size 12, .*\) the signature of node-b \(party 1\) does not verify/);
    // A head whose signature was copied from another head.
    const f = copy();
    const k = readLines(headsOf(f)).map((x) => JSON.parse(x) as SignedHead);
    k[3]!.signatures[0] = k[2]!.signatures[0]!;
    writeLines(headsOf(f), k.map((x) => JSON.stringify(x)));
    await expectProblem([f], /head #4 \(size 4, .*\) the signature of node-a \(party 0\) does not verify/);
  });

  it('detects a fork: two replicas with different histories, each co-signed', async () => {
    // Someone made all three nodes sign two different histories (e.g. split views): each replica
    // on its own verifies; together they do not.
    const forkDir = join(clusterDir, 'fork-b');
    const other = LedgerLog.open(join(forkDir, 'ledger'), anchor());
    const base = LedgerLog.open(join(pristine, 'ledger'), anchor());
    for (let i = 0; i < 8; i++) {
      other.appendEntry(base.entry(i));
      if (i === 0 || i === 7) other.addHead(base.heads()[i]!);
    }
    base.close();
    other.append('study-approved', { study: 'study-8-forked', purpose: 'prevalence' }, tick());
    other.addHead(coSign({ cluster: 'test', size: 9, rootHash: other.rootHash(), timestamp: tick() }));
    other.close();
    assert.equal((await audit(forkDir)).ok, true);
    const p = await expectProblem([pristine, forkDir], /FORK: co-signed heads of size 9 disagree: node-a holds root [0-9a-f]{12}…, fork-b holds root [0-9a-f]{12}…/);
    assert.ok(p.some((x) => /replicas diverge: node-a and fork-b hold different entries at seq 8/.test(x)), p.join('\n'));
    // A head signed by only one node (not co-signed) does not make a fork, but is reported.
    const e = copy();
    const log = LedgerLog.open(join(e, 'ledger'), anchor());
    log.close();
    const lone = coSign({ cluster: 'test', size: 12, rootHash: 'cd'.repeat(32), timestamp: tick() }, [1]);
    writeFileSync(headsOf(e), readFileSync(headsOf(e), 'utf8') + JSON.stringify(lone) + '\n');
    await expectProblem([e], /head #13 \(size 12, .*\) is missing the signature of node-a \(party 0\)/);
  });

  it('detects hand-edited lines that are not canonical, and refuses person identifiers in consent entries', async () => {
    const d = copy();
    const l = readLines(entriesOf(d));
    l[2] = JSON.stringify(JSON.parse(l[2]!), null, 1).replace(/\n/g, ' ');
    writeLines(entriesOf(d), l);
    await expectProblem([d], /entry line 3 \(seq 2\) is not in canonical form/);
    const log = LedgerLog.open(join(root, 'consent-check'), anchor());
    assert.throws(() => log.append('consent-changed', { personId: 'A1', purpose: 'research' }), /consent changes are logged as counts or commitments, never per person/);
    assert.throws(() => log.append('consent-changed', { purpose: 'research', who: '0101701234' }), /no person identifiers/);
    assert.throws(() => log.append('consent-changed', { optedOut: -1 }), /count/);
    assert.throws(() => log.append('job-run', { job: 'x' }), LedgerError);
    assert.throws(() => log.appendEntry({ seq: 5, time: tick(), kind: 'study-submitted', body: {} }), /not the next one/);
    assert.equal(log.append('consent-changed', { purpose: 'research', optedOut: 41, optedIn: 2, commitment: 'ab'.repeat(32) }).seq, 0);
    log.close();
  });

  it('`mosaik audit verify --log` exits 0 on a good replica and 1 with the report on a tampered one', async () => {
    const ok = await mosaik('audit', 'verify', '--dir', clusterDir, '--log', pristine);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.stdout, /OK: the log verifies from genesis/);
    const d = copy();
    const l = readLines(entriesOf(d));
    l[0] = l[0]!.replace('study-0', 'study-X');
    writeLines(entriesOf(d), l);
    const bad = await mosaik('audit', 'verify', '--dir', clusterDir, '--log', d);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.stdout, /PROBLEMS \(\d+\):\n  ✗ case-\d+: entries changed: .* entry 0 was changed, removed or reordered/);
  });
});

// ---------------------------------------------------------------------------------------------
// Signing keys

describe('node signing keys', () => {
  it('keygen writes an Ed25519 signing key (0600); an older node gets just the missing one; cluster.json carries the public keys', async () => {
    const dir = join(root, 'keys');
    const k = await writeNodeKey(dir, 'n1');
    assert.match(k.signingKey, /^ed25519:[A-Za-z0-9_-]{43}$/);
    assert.equal(readSigningKey(dir, 'n1').publicKey, k.signingKey);
    await assert.rejects(writeNodeKey(dir, 'n1'), /already exists/);
    rmSync(signingKeyPath(dir, 'n1'));
    const again = await writeNodeKey(dir, 'n1');
    assert.equal(again.signingKeyAdded, true);
    assert.equal(again.fingerprint, k.fingerprint, 'the TLS key is kept');
    assert.notEqual(again.signingKey, k.signingKey);
    // A local cluster from before the transparency log: upgraded in place.
    const lc = await createLocalCluster(join(root, 'old-cluster'));
    const fp = lc.config.nodes.map((n) => n.fingerprint);
    const raw = JSON.parse(readFileSync(lc.configPath, 'utf8'));
    for (const n of raw.nodes) delete n.signingKey;
    writeFileSync(lc.configPath, JSON.stringify(raw));
    rmSync(signingKeyPath(lc.nodeDirs[1], 'node-b'));
    assert.throws(() => clusterSigningKeys(loadClusterConfig(lc.configPath)), /has no "signingKey" .* for node 0 \(node-a\), node 1 \(node-b\), node 2 \(node-c\): a local cluster is upgraded by running `mosaik local-cluster <dir>` again/);
    const up = await createLocalCluster(lc.dir);
    assert.deepEqual(up.config.nodes.map((n) => n.fingerprint), fp);
    assert.equal(clusterSigningKeys(up.config)[1], readSigningKey(lc.nodeDirs[1], 'node-b').publicKey);
    // A daemon refuses a cluster.json without signing keys, with the same message.
    writeFileSync(lc.configPath, JSON.stringify(raw));
    const r = await mosaik('node', '--dir', lc.dir, '--party', '0');
    assert.equal(r.code, 1);
    assert.match(r.out, /has no "signingKey"/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: three daemons, a query, the audit, tampering at one node

const SHARED_RESULTS = await (async () => {
  const one = splitShares(BigUint64Array.from([1n, 2n, 3n, 4n, 5n]));
  const plan = planSql('SELECT COUNT(*) FROM t', { name: 't', custodian: 'x', columns: [{ name: 'x', type: 'int', min: 0, max: 9 }] }, new Map());
  const r = await run3((p) => runQuery(p, plan, new Map([['x', one[p.id]!]]), { minCellSize: 1, revealTo: 'none' } as unknown as RunOptions));
  return r.every((x) => (x as { shared?: unknown }).shared !== undefined);
})();

describe('transparency log end to end (three node daemons)', { skip: SHARED_RESULTS ? false : 'src/query/execute.ts has no revealTo "none" mode yet' }, () => {
  let cluster: LocalCluster;
  const procs: (ChildProcess | null)[] = [null, null, null];
  const logs = ['', '', ''];
  const P: PartyId[] = [0, 1, 2];
  const SCHEMA: DatasetSchema = {
    name: 'visits',
    custodian: 'test-hospital',
    columns: [
      { name: 'region', type: 'code', codeList: 'region' },
      { name: 'stay', type: 'int', min: 0, max: 60 },
    ],
  };
  const CODES: CodeList[] = [{ name: 'region', codes: ['R1', 'R2', 'R3'] }];
  const N = 60;
  const regions = Array.from({ length: N }, (_, i) => (i % 10 === 0 ? 2 : i % 2));
  const stays = Array.from({ length: N }, (_, i) => (i * 7) % 31);

  async function startNode(p: PartyId): Promise<void> {
    // Exact results: the saved result is compared with known sums (output protection: test/attacks.test.ts).
    const child = spawn(process.execPath, [MAIN, 'node', '--dir', cluster.dir, '--party', String(p), '--connect-timeout', '4000', '--recv-timeout', '8000', '--exact-results'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs[p] = child;
    const keep = (c: Buffer) => (logs[p] = (logs[p] + c.toString()).slice(-20000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    for (let t = 0; ; t++) {
      if (child.exitCode !== null) throw new Error(`node ${p} exited: ${logs[p]}`);
      try {
        const r = await apiRequest<{ party: number }>(cluster.config, p, '/v1/health', { timeoutMs: 1000 });
        if (r.status === 200 && r.body.party === p) return;
      } catch {
        /* not up yet */
      }
      if (t > 300) throw new Error(`node ${p} did not start: ${logs[p]}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }

  before(async () => {
    cluster = await createLocalCluster(join(root, 'live'));
    await writeApiPorts(cluster.dir);
    ids = localSigners(cluster.dir);
    await Promise.all(P.map(startNode));
    const shares = [BigUint64Array.from(regions, BigInt), BigUint64Array.from(stays, BigInt)].map((c) => splitShares(c));
    await Promise.all(
      P.map(async (p) => {
        const header = Buffer.from(JSON.stringify({ schema: SCHEMA, codeLists: CODES, rows: N, columns: ['region', 'stay'], party: p }));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(header.length);
        const parts: Buffer[] = [len, header];
        for (const s of shares) for (const half of [s[p]!.a, s[p]!.b]) parts.push(Buffer.from(half.buffer, half.byteOffset, half.byteLength));
        const r = await apiRequest(cluster.config, p, '/v1/datasets/visits/versions/v1', { method: 'PUT', body: Buffer.concat(parts), signer: ids.custodian });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }),
    );
  });

  after(async () => {
    await Promise.all(
      procs.map(async (c) => {
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const gone = new Promise((ok) => c.once('exit', ok));
        c.kill('SIGKILL');
        await gone;
      }),
    );
  });

  const SQL = 'SELECT region, COUNT(*) AS n, SUM(stay) AS total FROM visits GROUP BY region';
  let resultFile: string;
  let ids: LocalSigners;

  it('a query is logged at every node (job-run, result-released), co-signed; `audit verify --result` checks it', async () => {
    resultFile = join(root, 'result.json');
    const q = await mosaik('query', '--dir', cluster.dir, '--dataset', 'visits', '--save', resultFile, SQL);
    assert.equal(q.code, 0, q.out + logs.join('\n'));
    assert.match(q.out, /saved to .*result\.json/);
    const saved = JSON.parse(readFileSync(resultFile, 'utf8'));
    assert.equal(saved.format, 'mosaik-result/1');
    assert.deepEqual(saved.result.rows.map((r: unknown[]) => r.slice(0, 2)), [['R1', 24], ['R2', 30], ['R3', 6]]);
    // Every node holds the same two entries and the same co-signed head.
    const heads = await Promise.all(P.map(async (p) => (await apiRequest<SignedHead>(cluster.config, p, '/v1/ledger/head')).body));
    for (const h of heads) assert.deepEqual(h, heads[0]);
    assert.equal(heads[0]!.size, 2);
    assert.deepEqual(heads[0]!.signatures.map((s) => s.party), [0, 1, 2]);
    const entries = await apiRequest<{ size: number; entries: LedgerEntry[] }>(cluster.config, 2, '/v1/ledger/entries?from=0');
    assert.deepEqual(entries.body.entries.map((e) => e.kind), ['job-run', 'result-released']);
    assert.equal(entries.body.entries[0]!.body.job, saved.job);
    const job = await apiRequest<{ submittedAt: string }>(cluster.config, 1, `/v1/jobs/${saved.job}`, { signer: ids.researcher });
    assert.equal(entries.body.entries[0]!.time, job.body.submittedAt, 'job-run time is the spec\'s, the same at every node');
    const out = await mosaik('audit', 'verify', '--dir', cluster.dir, '--result', resultFile);
    assert.equal(out.code, 0, out.out);
    assert.match(out.stdout, /node-a: 2 entries \(1 job-run, 1 result-released\); 2 heads; latest co-signed head: size 2/);
    assert.match(out.stdout, /released in log entry 1 .*open their commitments/);
    assert.match(out.stdout, /combine to the \d+ rows the file states/);
    assert.match(out.stdout, /every node proved the entry's inclusion in the co-signed head of size 2/);
    assert.match(out.stdout, /OK: the log verifies from genesis to the co-signed head of size 2 .* the replicas agree/);
    // Proof routes (RFC 9162): inclusion and consistency verify against the co-signed root.
    const inc = await apiRequest<{ leafHash: string; path: string[] }>(cluster.config, 1, '/v1/ledger/proof/inclusion?seq=0&size=2');
    assert.ok(verifyInclusion(fromHex(inc.body.leafHash), 0, 2, inc.body.path.map((h) => fromHex(h)), fromHex(heads[0]!.rootHash)));
    assert.equal(inc.body.leafHash, toHex(leafHash(canonicalJson(entries.body.entries[0]))));
    const con = await apiRequest<{ firstRoot: string; path: string[] }>(cluster.config, 1, '/v1/ledger/proof/consistency?from=1&to=2');
    assert.ok(verifyConsistency(1, 2, fromHex(con.body.firstRoot), fromHex(heads[0]!.rootHash), con.body.path.map((h) => fromHex(h))));
    assert.equal((await apiRequest(cluster.config, 1, '/v1/ledger/proof/inclusion?seq=5')).status, 400);
    const doc = await apiRequest<{ paths: object }>(cluster.config, 0, '/v1/openapi.json');
    for (const p of ['/v1/ledger/head', '/v1/ledger/entries', '/v1/ledger/proof/inclusion', '/v1/ledger/proof/consistency']) assert.ok(p in doc.body.paths, p);
  });

  it('a result file whose rows or shares were changed fails `audit verify --result`', async () => {
    const f = JSON.parse(readFileSync(resultFile, 'utf8'));
    f.result.rows[0][1] += 1;
    const rowsChanged = join(root, 'rows-changed.json');
    writeFileSync(rowsChanged, JSON.stringify(f));
    const a = await mosaik('audit', 'verify', '--dir', cluster.dir, '--result', rowsChanged);
    assert.equal(a.code, 1, a.out);
    assert.match(a.stdout, /the result it states differs from what the shares combine to \(first at row 1/);
    f.result.rows[0][1] -= 1;
    // Shift a value between two nodes' shares consistently: they still combine, but no longer open the commitments.
    const lanes = f.parts[0].shares.a.length;
    assert.ok(lanes > 0);
    const add = (s: string, d: bigint) => BigInt.asUintN(64, BigInt(s) + d).toString();
    f.parts[1].shares.a[0] = add(f.parts[1].shares.a[0], 5n); // x1 + 5 (held by node 1 as a, node 0 as b)
    f.parts[0].shares.b[0] = add(f.parts[0].shares.b[0], 5n);
    f.parts[2].shares.a[0] = add(f.parts[2].shares.a[0], -5n); // x2 − 5 (node 2's a, node 1's b)
    f.parts[1].shares.b[0] = add(f.parts[1].shares.b[0], -5n);
    const sharesChanged = join(root, 'shares-changed.json');
    writeFileSync(sharesChanged, JSON.stringify(f));
    const b = await mosaik('audit', 'verify', '--dir', cluster.dir, '--result', sharesChanged);
    assert.equal(b.code, 1, b.out);
    assert.match(b.stdout, /node-a's share pair does not open its commitment in log entry 1/);
    assert.match(b.stdout, /node-b's share pair does not open its commitment/);
  });

  it('node-to-node logging: node 1 or 2 submits an event through node 0 (generic append); others are refused', async () => {
    const nodeB = { key: readFileSync(join(cluster.nodeDirs[1], 'node-b.key.pem'), 'utf8'), cert: readFileSync(join(cluster.nodeDirs[1], 'node-b.cert.pem'), 'utf8') };
    const ok = await apiRequest<{ entry: LedgerEntry; cosigned: boolean }>(cluster.config, 0, '/v1/internal/ledger/submit', { body: { kind: 'consent-changed', body: { purpose: 'diabetes research', optedOut: 4, optedIn: 1 }, requireCosigned: true }, ...nodeB });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.entry.seq, 2);
    assert.equal(ok.body.cosigned, true);
    const person = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/internal/ledger/submit', { body: { kind: 'consent-changed', body: { cpr: 'x' } }, ...nodeB });
    assert.equal(person.status, 400);
    assert.match(person.body.error, /never per person/);
    const anon = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/internal/ledger/submit', { body: { kind: 'study-submitted', body: {} } });
    assert.equal(anon.status, 403);
    const sign = await apiRequest<{ error: string }>(cluster.config, 1, '/v1/internal/ledger/sign', { body: { head: {} }, ...nodeB });
    assert.equal(sign.status, 403);
    for (const p of P) assert.equal((await apiRequest<SignedHead>(cluster.config, p, '/v1/ledger/head')).body.size, 3);
    const v = await auditVerify({ dir: cluster.dir, result: resultFile });
    assert.equal(v.ok, true, v.lines.join('\n'));
  });

  it("one node's replica tampered on disk: `audit verify` reports the node, the entry and the divergence", async () => {
    const file = join(cluster.nodeDirs[2], 'ledger', 'entries.jsonl');
    const orig = readFileSync(file, 'utf8');
    assert.ok(existsSync(file));
    writeFileSync(file, orig.replace('"optedOut":4', '"optedOut":0'));
    const a = await mosaik('audit', 'verify', '--dir', cluster.dir, '--result', resultFile);
    assert.equal(a.code, 1, a.out);
    assert.match(a.stdout, /✗ node-c: entries changed: the first 3 entries hash to root .* but head #3 \(size 3, .*\) co-signs .*; the first 2 match the earlier head of size 2, so entry 2 was changed, removed or reordered/);
    assert.match(a.stdout, /✗ replicas diverge: node-a and node-c hold different entries at seq 2/);
    assert.match(a.stdout, /node-c reports about its own replica: node-c: entries changed/);
    // The tampered node refuses to append, sign or run jobs (nothing it computes could be logged).
    const st = await apiRequest<{ damaged: boolean }>(cluster.config, 2, '/v1/ledger/status');
    assert.equal(st.body.damaged, true);
    const refused = await apiRequest<{ error: string }>(cluster.config, 0, '/v1/queries', { body: adhocBody(cluster.config, ids.researcher, SQL).body, signer: ids.researcher });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.error, /node 2 \(node-c\) refused the job: this node's transparency-log replica is damaged \(node-c: entries changed/);
    // Removing an entry at node 1 is reported too.
    const fileB = join(cluster.nodeDirs[1], 'ledger', 'entries.jsonl');
    const origB = readFileSync(fileB, 'utf8');
    writeFileSync(fileB, origB.split('\n').filter((_, i) => i !== 1).join('\n'));
    const b = await auditVerify({ dir: cluster.dir });
    assert.equal(b.ok, false);
    assert.ok(b.problems.some((p) => /node-b: log truncated: head #3 \(size 3, .*\) covers 3 entries, but the log holds only 2/.test(p)), b.problems.join('\n'));
    assert.ok(b.problems.some((p) => /node-b: entry 1 is missing \(removed\): line 2 holds seq 2/.test(p)), b.problems.join('\n'));
    // Restored, both replicas verify again (the nodes re-read their files).
    writeFileSync(file, orig);
    writeFileSync(fileB, origB);
    const c = await auditVerify({ dir: cluster.dir, result: resultFile });
    assert.equal(c.ok, true, c.lines.join('\n'));
  });
});
