// Sealed uploads at the node (src/node/sealed-upload.ts): three governed node daemons with real TLS
// and stores; a custodian's upload bodies sealed to each node's X25519 upload key
// (src/ingest/sealed-upload.ts, the function the browser app uses). Each node opens only its own
// body, under the dataset and version it was sealed for, and stores it exactly as a plain upload
// (the custodian's signature still checked); a body sealed to another node's key, tampered with,
// replayed to another node or under another version, or unsigned, is refused and nothing is stored.
// Also: the portable ring arithmetic the browser splits shares with equals the WebAssembly kernels.
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateRegisters } from '../src/demo/registers.js';
import { buildUploadBodies, type ShareableDataset } from '../src/ingest/upload.js';
import { sealUpload } from '../src/ingest/sealed-upload.js';
import { sealedUploadPath } from '../src/ingest/sealed-upload-format.js';
import { combineShares, splitShares } from '../src/mpc/share.js';
import { splitSharesWith } from '../src/mpc/share-split.js';
import { addPortable, subPortable } from '../src/ring/ring64-portable.js';
import { add, sub } from '../src/ring/ring64.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { clusterUploadKeys, uploadKeyPath } from '../src/net/upload-keys.js';
import { apiRequest } from '../src/node/api.js';
import { startDaemon, writeApiPorts, type Daemon } from '../src/node/daemon.js';
import { fixture, signer } from './governance-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-sealed-'));
const F = fixture();
const P: PartyId[] = [0, 1, 2];
const regs = generateRegisters({ citizens: 300, seed: 17 });
const pop = regs.population;
const ds: ShareableDataset = { schema: pop.schema, codeLists: regs.codeLists, rows: pop.length, columns: pop.columns };
let cluster: LocalCluster;
let daemons: Daemon[] = [];
const logs: string[] = [];

/** Each node's plain body of `version`, signed by the custodian unless `signed` is false. */
function bodies(version: string, signed = true): Uint8Array[] {
  const shares = ds.schema.columns.map((c) => splitShares(ds.columns.get(c.name)!));
  return buildUploadBodies(ds, shares, signed ? { signer: signer(F.cpr), cluster: cluster.config.cluster, version } : undefined);
}

/** Seals `body` with node `keyOf`'s upload key, bound to node `bindTo` and `version`. */
function seal(body: Uint8Array, keyOf: PartyId, bindTo: PartyId, version: string): Promise<Uint8Array> {
  const n = cluster.config.nodes[bindTo];
  return sealUpload(body, clusterUploadKeys(cluster.config)[keyOf]!, { cluster: cluster.config.cluster, node: n.name, party: bindTo, dataset: 'population', version });
}

const put = (p: PartyId, body: Uint8Array, version: string, as = F.cpr) =>
  apiRequest<{ error?: string; rows?: number }>(cluster.config, p, sealedUploadPath('population', version), { method: 'PUT', body, signer: signer(as) });
const stored = (p: PartyId, version: string) => daemons[p]!.store.has('population', version);

before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  await writeApiPorts(cluster.dir);
  const consortium = join(root, 'consortium.json');
  writeFileSync(consortium, JSON.stringify(F.config));
  for (const p of P) daemons.push(await startDaemon({ dir: cluster.dir, party: p, consortium, log: (m) => logs.push(m) }));
});

after(async () => {
  for (const d of daemons) await d.close();
  rmSync(root, { recursive: true, force: true });
});

describe('sealed uploads at the node', () => {
  it('every node has an X25519 upload key (mode 0600) published in cluster.json', () => {
    const keys = clusterUploadKeys(cluster.config);
    assert.equal(new Set(keys).size, 3);
    for (const [i, n] of cluster.config.nodes.entries()) {
      assert.match(keys[i]!, /^x25519:[A-Za-z0-9_-]{43}$/);
      assert.equal(statSync(uploadKeyPath(cluster.nodeDirs[i]!, n.name)).mode & 0o777, 0o600);
    }
  });

  it('each node opens its own sealed body and stores it as a plain upload; the shares combine to the data', async () => {
    const plain = bodies('v1');
    for (const p of P) {
      const r = await put(p, await seal(plain[p]!, p, p, 'v1'), 'v1');
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.rows, pop.length);
    }
    // The same content again (sealed afresh) is "already stored".
    assert.equal((await put(0, await seal(plain[0]!, 0, 0, 'v1'), 'v1')).status, 200);
    const s0 = daemons[0]!.store.load('population', 'v1');
    const s1 = daemons[1]!.store.load('population', 'v1');
    for (const c of ['person_id', 'region', 'birth_date']) assert.deepEqual(combineShares(s0.get(c)!, s1.get(c)!), pop.columns.get(c));
    assert.ok(logs.some((l) => l.includes('opened a sealed upload of population@v1')));
  });

  it("a body sealed to another node's key does not open: refused, nothing stored", async () => {
    const plain = bodies('v2');
    const r = await put(1, await seal(plain[1]!, 0, 1, 'v2'), 'v2');
    assert.equal(r.status, 400);
    assert.match(r.body.error!, /does not open with the upload key of node 1/);
    assert.equal(stored(1, 'v2'), false);
  });

  it('a tampered ciphertext is refused, nothing stored', async () => {
    const plain = bodies('v2');
    const sealed = await seal(plain[2]!, 2, 2, 'v2');
    sealed[Math.floor(sealed.length / 2)]! ^= 0x01;
    const r = await put(2, sealed, 'v2');
    assert.equal(r.status, 400);
    assert.match(r.body.error!, /altered on the way; nothing stored/);
    assert.equal(stored(2, 'v2'), false);
  });

  it('a sealed body replayed to another node, or under another version, is refused, nothing stored', async () => {
    const plain = bodies('v2');
    const forNode0 = await seal(plain[0]!, 0, 0, 'v2');
    const toOther = await put(1, forNode0, 'v2');
    assert.equal(toOther.status, 400, JSON.stringify(toOther.body));
    const otherVersion = await put(0, forNode0, 'v3');
    assert.equal(otherVersion.status, 400, JSON.stringify(otherVersion.body));
    for (const p of P) for (const v of ['v2', 'v3']) assert.equal(stored(p, v), false, `node ${p} stored ${v}`);
    // Sealed for the right node and version, it is accepted.
    assert.equal((await put(0, forNode0, 'v2')).status, 201);
  });

  it("a sealed body still needs the custodian's signature on a governed node; only custodians may call the route", async () => {
    const unsigned = bodies('v4', false);
    const r = await put(1, await seal(unsigned[1]!, 1, 1, 'v4'), 'v4');
    assert.equal(r.status, 403);
    assert.match(r.body.error!, /must be signed by its custodian 'cpr'/);
    assert.equal(stored(1, 'v4'), false);
    const plainBody = await put(1, bodies('v4')[1]!, 'v4');
    assert.equal(plainBody.status, 400);
    assert.match(plainBody.body.error!, /not a sealed upload/);
    const researcher = await put(1, await seal(bodies('v4')[1]!, 1, 1, 'v4'), 'v4', F.alice);
    assert.equal(researcher.status, 403);
    assert.equal(stored(1, 'v4'), false);
  });
});

describe('portable ring arithmetic (the browser splits shares with it)', () => {
  it('equals the WebAssembly kernels, carries and borrows included', () => {
    const n = 10_000;
    const a = new BigUint64Array(n), b = new BigUint64Array(n);
    randomFillSync(new Uint8Array(a.buffer));
    randomFillSync(new Uint8Array(b.buffer));
    a.set([0n, 0xffffffffn, 0xffffffffffffffffn, 1n << 32n]);
    b.set([1n, 1n, 1n, 1n]);
    assert.deepEqual(subPortable(a, b), sub(a, b));
    assert.deepEqual(addPortable(a, b), add(a, b));
    const x = pop.columns.get('person_id')!;
    const [s0, s1] = splitSharesWith(x, (buf) => void randomFillSync(buf));
    assert.deepEqual(combineShares(s0, s1), x);
  });
});
