// Authenticated uploads at governed nodes (src/ingest/upload-auth.ts, src/node/api.ts): three
// `mosaik node --consortium` processes store a dataset version only when each node's upload header
// carries the signature of the dataset's custodian (the consortium member with role custodian
// named by schema.custodian, owning the dataset) over exactly this upload: cluster, dataset,
// version, party, rows, columns, schema and code lists, a fresh time, and the SHA-256 of the share
// bytes. Anything else is 403 at every node and nothing is stored.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { registerCsv } from '../src/demo/csv.js';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { runIngest } from '../src/cli/ingest.js';
import type { UploadHeader } from '../src/ingest/schema.js';
import { buildUploadBodies, columnSeeds, encodeUploadHeader, parseUploadBody, shareColumn, splitSharesSeeded, uploadDataset, UploadError, type ShareableDataset, type UploadAuth } from '../src/ingest/upload.js';
import type { AShare } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { localSigners } from './identities.js';
import { apiRequest } from '../src/node/api.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { fixture, signer, type Party } from './governance-fixture.js';
import { withColumnMemory } from '../src/ring/column-memory.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-upload-auth-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const procs: (ChildProcess | null)[] = [null, null, null];
const logs = ['', '', ''];
let cluster: LocalCluster;
const consortiumFile = join(root, 'consortium.json');
const keyFile = (p: Party) => join(root, `${p.name}.ed25519.key.pem`);

const regs = generateRegisters({ citizens: 200, seed: 5 });
const datasetOf = (reg: Register): ShareableDataset => ({ schema: reg.schema, codeLists: regs.codeLists, rows: reg.length, columns: reg.columns });
const pop = datasetOf(regs.population); // custodian 'cpr'

async function startNode(p: PartyId): Promise<void> {
  const child = spawn(process.execPath, [MAIN, 'node', '--dir', cluster.dir, '--party', String(p), '--consortium', consortiumFile], { stdio: ['ignore', 'pipe', 'pipe'], env: withColumnMemory() });
  procs[p] = child;
  const keep = (c: Buffer) => (logs[p] = (logs[p] + c.toString()).slice(-20000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  for (const t0 = Date.now(); ; ) {
    if (child.exitCode !== null) throw new Error(`node ${p} exited: ${logs[p]}`);
    try {
      if ((await apiRequest(cluster.config, p, '/v1/health', { timeoutMs: 1000 })).status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() - t0 > 15_000) throw new Error(`node ${p} did not start: ${logs[p]}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

before(async () => {
  writeFileSync(consortiumFile, JSON.stringify(F.config, null, 2));
  for (const p of [F.cpr, F.dst, F.alice]) writeFileSync(keyFile(p), p.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  await Promise.all(P.map((p) => startNode(p)));
});

after(async () => {
  for (const c of procs) if (c && c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const auth = (by: { name: string; privateKey: Party['privateKey'] }, version: string, o: Partial<UploadAuth> = {}): UploadAuth => ({ signer: { name: by.name, privateKey: by.privateKey }, cluster: cluster.config.cluster, version, ...o });

/** The three bodies of `ds` (fresh shares), signed when `a` is given. */
function bodies(ds: ShareableDataset, a?: UploadAuth): [Buffer, Buffer, Buffer] {
  const shares = ds.schema.columns.map((c) => shareColumn(ds, c.name, undefined, { cluster: cluster.config.cluster, version: a?.version ?? 'x' }));
  return buildUploadBodies(ds, shares, a);
}

function encodeBody(header: UploadHeader, shares: AShare[]): Buffer {
  const parts: Buffer[] = [encodeUploadHeader(header)];
  for (const s of shares) for (const half of [s.a, s.b]) parts.push(Buffer.from(half.buffer, half.byteOffset, half.byteLength));
  return Buffer.concat(parts);
}

/** A PUT signed by custodian cpr's identity (the request); the header's own signature varies per test. */
const put = (p: PartyId, name: string, version: string, body: Buffer, as: Party = F.cpr) =>
  apiRequest<{ error?: string; rows?: number }>(cluster.config, p, `/v1/datasets/${name}/versions/${encodeURIComponent(version)}`, { method: 'PUT', body, signer: signer(as) });

/** Every node answers 403 with a message matching `re`, and none stores the version. */
async function refusedEverywhere(name: string, version: string, b: Buffer[], re: RegExp): Promise<void> {
  for (const p of P) {
    const r = await put(p, name, version, b[p]!);
    assert.equal(r.status, 403, `node ${p}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error!, /^upload refused: /, `node ${p}`);
    assert.match(r.body.error!, re, `node ${p}: ${r.body.error}`);
  }
  await nothingStored(name, version);
}

async function nothingStored(name: string, version: string): Promise<void> {
  for (const p of P) {
    const r = await apiRequest<{ versions?: { version: string }[] }>(cluster.config, p, `/v1/datasets/${name}`);
    const versions = r.status === 200 ? r.body.versions!.map((v) => v.version) : [];
    assert.ok(!versions.includes(version), `node ${p} stored ${name}@${version}`);
  }
}

describe('governed nodes authenticate uploads', () => {
  it('refuse an unsigned upload at every node (403), nothing stored', async () => {
    await refusedEverywhere('population', 'u1', bodies(pop), /this node is governed \(consortium 'test'\): the upload of population@u1 must be signed by its custodian 'cpr'/);
    // A request without an identity is refused before its body is read (401); another custodian's identity (403).
    for (const p of P) {
      const r = await apiRequest<{ error?: string }>(cluster.config, p, '/v1/datasets/population/versions/u1', { method: 'PUT', body: bodies(pop, auth(F.cpr, 'u1'))[p]! });
      assert.equal(r.status, 401, JSON.stringify(r.body));
      const other = await put(p, 'population', 'u1', bodies(pop, auth(F.cpr, 'u1'))[p]!, F.sds);
      assert.equal(other.status, 403, JSON.stringify(other.body));
      assert.match(other.body.error!, /dataset 'population' is custodian 'cpr's; 'sundhedsdatastyrelsen' cannot upload it/);
    }
    // The custodian's client signed by a researcher: refused at every node, naming the reason.
    await assert.rejects(uploadDataset({ config: cluster.config, dataset: pop, version: 'u1', signer: signer(F.alice) }), (e: unknown) => {
      assert.ok(e instanceof UploadError);
      assert.equal(e.stored.length, 0);
      assert.match(e.message, /HTTP 403: 'alice' is a researcher; PUT \/v1\/datasets\/:name\/versions\/:version is for custodian identities/);
      return true;
    });
    await nothingStored('population', 'u1');
  });

  it('a large upload refused at its header: the custodian gets the node\'s reason, not a closed connection (issue 12)', async () => {
    // 40 MB per node: the node answers 403 long before the body is sent.
    const big = generateRegisters({ citizens: 400_000, seed: 6 }).population;
    const ds: ShareableDataset = { schema: big.schema, codeLists: regs.codeLists, rows: big.length, columns: big.columns };
    await assert.rejects(uploadDataset({ config: cluster.config, dataset: ds, version: 'big1', signer: signer(F.sds) }), (e: unknown) => {
      assert.ok(e instanceof UploadError);
      assert.equal(e.stored.length, 0);
      // The first node to answer gives its reason; the client then stops the other uploads.
      assert.match(e.message, /node-[abc], [^)]*\): HTTP 403: upload refused: population@big1 is signed by 'sundhedsdatastyrelsen', but only its custodian 'cpr' may upload it/, e.message);
      assert.doesNotMatch(e.message, /EPIPE|ECONNRESET|closed the connection/, e.message);
      return true;
    });
    await nothingStored('population', 'big1');
  });

  it('refuse an upload signed by a researcher, by another custodian, or with another custodian\'s key under the right name', async () => {
    await refusedEverywhere('population', 'u2', bodies(pop, auth(F.alice, 'u2')), /population@u2 is signed by 'alice', but only its custodian 'cpr' may upload it/);
    await refusedEverywhere('population', 'u2', bodies(pop, auth(F.sds, 'u2')), /signed by 'sundhedsdatastyrelsen', but only its custodian 'cpr' may upload it/);
    await refusedEverywhere('population', 'u2', bodies(pop, auth({ name: 'cpr', privateKey: F.sds.privateKey }, 'u2')), /not with custodian 'cpr's registered key/);
    // A custodian naming itself in the schema of a dataset it does not own.
    const stolen = { ...pop, schema: { ...pop.schema, custodian: 'sundhedsdatastyrelsen' } };
    await refusedEverywhere('population', 'u2', bodies(stolen, auth(F.sds, 'u2')), /dataset 'population' is owned by custodian 'cpr', not by 'sundhedsdatastyrelsen'/);
    // A researcher named as custodian.
    const byResearcher = { ...pop, schema: { ...pop.schema, custodian: 'alice' } };
    await refusedEverywhere('population', 'u2', bodies(byResearcher, auth(F.alice, 'u2')), /names 'alice' as custodian, but 'alice' is a researcher/);
  });

  it('refuse a tampered header (rows changed, or an order claimed, after signing), tampered shares, another version, a stale signature', async () => {
    const signed = bodies(pop, auth(F.cpr, 'u3'));
    // One row dropped from the header and from every share: consistent lengths, but not what was signed.
    const fewer = signed.map((b) => {
      const { header, shares } = parseUploadBody(b);
      const n = header.rows - 1;
      return encodeBody({ ...header, rows: n }, shares.map((s) => ({ a: s.a.subarray(0, n), b: s.b.subarray(0, n) }) as AShare));
    });
    await refusedEverywhere('population', 'u3', fewer, new RegExp(`does not match this upload of population@u3: rows \\(signed ${pop.rows}, this upload ${pop.rows - 1}\\)`));
    // The signed statement edited to match: the signature no longer verifies.
    const edited = signed.map((b) => {
      const { header, shares } = parseUploadBody(b);
      const n = header.rows - 1;
      const sig = { ...header.signature!, statement: { ...header.signature!.statement, rows: n } };
      return encodeBody({ ...header, rows: n, signature: sig }, shares.map((s) => ({ a: s.a.subarray(0, n), b: s.b.subarray(0, n) }) as AShare));
    });
    await refusedEverywhere('population', 'u3', edited, /population@u3: the custodian's signature does not verify/);
    // The rows claimed in person order after signing (the nodes would merge them unsorted): refused.
    const reordered = signed.map((b) => {
      const { header, shares } = parseUploadBody(b);
      return encodeBody({ ...header, sortedBy: 'person_id' }, shares);
    });
    assert.equal(parseUploadBody(signed[0]!).header.sortedBy, undefined, 'the generated population is not uploaded in person order here');
    await refusedEverywhere('population', 'u3', reordered, /does not match this upload of population@u3: sortedBy \(signed null, this upload "person_id"\)/);
    // The header as signed, one share byte flipped: refused after the bytes, before anything is stored.
    const flipped = signed.map((b) => {
      const c = Buffer.from(b);
      c[c.length - 1]! ^= 1;
      return c;
    });
    await refusedEverywhere('population', 'u3', flipped, /the share bytes of population@u3 .* are not the ones custodian 'cpr' signed for/);
    // Signed for version u3, sent as u4.
    await refusedEverywhere('population', 'u4', signed, /version \(signed "u3", this upload "u4"\)/);
    // Signed 20 minutes ago.
    await refusedEverywhere('population', 'u3', bodies(pop, auth(F.cpr, 'u3', { time: new Date(Date.now() - 20 * 60_000).toISOString() })), /more than 15 minutes from this node's clock/);
    // Unchanged, it is accepted.
    for (const p of P) assert.equal((await put(p, 'population', 'u3', signed[p]!)).status, 201, `node ${p}`);
  });

  it('take seeded bodies (seeds for x_0 and x_1): a seed other than the signed one is refused; the same content as bytes is "already stored"', async () => {
    const ctx = { cluster: cluster.config.cluster, version: 'u7' };
    const seeds = pop.schema.columns.map((c) => columnSeeds(new Uint8Array(32).fill(9), ctx, pop, c.name));
    const shares = pop.schema.columns.map((c, k) => splitSharesSeeded(pop.columns.get(c.name)!, seeds[k]!));
    const a = auth(F.cpr, 'u7');
    const seeded = buildUploadBodies(pop, shares, a, seeds);
    const plain = buildUploadBodies(pop, shares, a);
    const shareBytes = (b: Buffer) => b.length - 4 - b.readUInt32LE(0);
    const cols = pop.schema.columns.length;
    assert.deepEqual(seeded.map(shareBytes), [32 * cols, (16 + 8 * pop.rows) * cols, (16 + 8 * pop.rows) * cols]);
    // The first half of the first column flipped in one byte: a seed at nodes 0 and 1, x_2's bytes at node 2.
    const flipped = seeded.map((b) => {
      const c = Buffer.from(b);
      c[4 + c.readUInt32LE(0)]! ^= 1;
      return c;
    });
    await refusedEverywhere('population', 'u7', flipped, /the share bytes of population@u7 .* are not the ones custodian 'cpr' signed for/);
    await nothingStored('population', 'u7');
    for (const p of P) assert.equal((await put(p, 'population', 'u7', seeded[p]!)).status, 201, `node ${p}`);
    for (const p of P) assert.equal((await put(p, 'population', 'u7', plain[p]!)).status, 200, `node ${p}: the same content`);
  });

  it('store an upload signed by the dataset\'s custodian at every node; the same content signed again is "already stored"', async () => {
    const r = await uploadDataset({ config: cluster.config, dataset: pop, version: 'v1', signer: signer(F.cpr), key: new Uint8Array(32).fill(7) });
    assert.deepEqual(r.nodes.map((n) => n.status), [201, 201, 201]);
    const again = await uploadDataset({ config: cluster.config, dataset: pop, version: 'v1', signer: signer(F.cpr), key: new Uint8Array(32).fill(7) });
    assert.deepEqual(again.nodes.map((n) => n.status), [200, 200, 200]);
    for (const p of P) {
      const l = await apiRequest<{ name: string; version: string; rows: number; custodian: string }[]>(cluster.config, p, '/v1/datasets');
      assert.ok(l.body.some((d) => d.name === 'population' && d.version === 'v1' && d.rows === pop.rows && d.custodian === 'cpr'), `node ${p}: ${JSON.stringify(l.body)}`);
    }
    // Without a share key the shares come from a one-off key: still signed, still stored.
    const fresh = await uploadDataset({ config: cluster.config, dataset: pop, version: 'v2', signer: signer(F.cpr) });
    assert.deepEqual(fresh.nodes.map((n) => n.status), [201, 201, 201]);
  });

  it('mosaik ingest --sign-key signs as the schema\'s custodian; without it a governed cluster refuses (exit 2)', async () => {
    const csv = join(root, 'income.csv');
    writeFileSync(csv, registerCsv(regs.income, regs.codeLists));
    const out: string[] = [];
    const base = { file: csv, dir: cluster.dir, schema: 'demo:income', quiet: true, out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    assert.equal(await runIngest({ ...base, version: 'i1' }), 1);
    assert.match(out.join('\n'), /no custodian identity to sign with: pass --sign-key/);
    await nothingStored('income', 'i1');
    out.length = 0;
    assert.equal(await runIngest({ ...base, version: 'i1', signKey: keyFile(F.alice) }), 2, 'a researcher\'s key under the custodian\'s name');
    assert.match(out.join('\n'), /HTTP 401: the request is signed with key .*, which is not dst's registered key/);
    out.length = 0;
    assert.equal(await runIngest({ ...base, version: 'i1', signKey: keyFile(F.dst) }), 0, out.join('\n'));
    assert.match(out.at(-1)!, /^ingest: income version i1: [\d,]+ rows × \d+ columns shared; node-a stored, node-b stored, node-c stored/);
    out.length = 0;
    assert.equal(await runIngest({ ...base, version: 'i1', signKey: keyFile(F.dst), signer: 'dst' }), 0, out.join('\n'));
    assert.match(out.at(-1)!, /node-a already had it/);
    out.length = 0;
    assert.equal(await runIngest({ ...base, version: 'i2', signer: 'dst' }), 1);
    // The command as a process: it exits by itself once the nodes answered. A connection left open
    // would hold it until the nodes' keep-alive timeout (72 s), and spawnSync would kill it at 60 s
    // (a signal instead of an exit code).
    const child = spawnSync(process.execPath, [MAIN, 'ingest', '--dir', cluster.dir, '--schema', 'demo:income', '--version', 'i3', '--sign-key', keyFile(F.dst), '--quiet', csv], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.signal, null, 'mosaik ingest did not exit by itself');
    assert.equal(child.status, 0, child.stderr);
    assert.match(out.join('\n'), /no custodian identity to sign with/);
  });
});

describe('un-governed nodes', () => {
  let plain: LocalCluster;
  const daemons: Daemon[] = [];
  before(async () => {
    plain = await createLocalCluster(join(root, 'plain'));
    await writeApiPorts(plain.dir);
    for (const p of P) daemons.push(await startDaemon({ dir: plain.dir, party: p, log: () => {} }));
  });
  after(async () => {
    for (const d of daemons) await d.close();
  });

  it('accept uploads from custodian identities of the cluster only (the header signature is not needed)', async () => {
    const ids = localSigners(plain.dir, [{ name: 'cpr', role: 'custodian', datasets: ['population'] }]);
    const a = await uploadDataset({ config: plain.config, dataset: pop, version: 'v1', signer: ids.custodian });
    assert.deepEqual(a.nodes.map((n) => n.status), [201, 201, 201]);
    const b = await uploadDataset({ config: plain.config, dataset: pop, version: 'v2', signer: ids.by('cpr') });
    assert.deepEqual(b.nodes.map((n) => n.status), [201, 201, 201]);
    // A researcher, an unknown key, a custodian of other datasets: refused, nothing stored.
    await assert.rejects(uploadDataset({ config: plain.config, dataset: pop, version: 'v3', signer: ids.researcher }), /HTTP 403: 'researcher' is a researcher/);
    await assert.rejects(uploadDataset({ config: plain.config, dataset: pop, version: 'v3', signer: signer(F.cpr) }), /HTTP 401: the request is signed with key .* which is not cpr's registered key/);
    const inc = datasetOf(regs.income);
    await assert.rejects(uploadDataset({ config: plain.config, dataset: inc, version: 'v3', signer: ids.by('cpr') }), /HTTP 403: custodian 'cpr' may upload population, not 'income'/);
    for (const d of daemons) assert.deepEqual(d.store.versions('population').map((v) => v.version), ['v1', 'v2']);
  });
});
