// A party's products on worker threads (src/mpc/core-pool.ts): each worker with its own TLS channel
// (the cluster's pinned keys) and PRG streams. Products equal the plaintext's on random and edge
// values at sizes around the pool's threshold, a worker's slice and a streamed round; the three
// parties agree on the worker count; a party whose pool fails makes the others fail, not wait;
// workers listen only on the ports given (--worker-ports) and say so when none is free.
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { and, andMany, BShare, revealBits } from '../src/mpc/boolean.js';
import * as C from '../src/mpc/compare.js';
import { CORE_MIN_LANES, CorePool, CoreSpares } from '../src/mpc/core-pool.js';
import type { Party } from '../src/mpc/party.js';
import { AShare, combineShares, splitShares } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, readNodeKey, type ClusterConfig, type LocalCluster } from '../src/net/keys.js';
import * as R from '../src/ring/ring64.js';
import { EDGES, portRangeStart, run3 } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-cores-'));
after(() => rmSync(root, { recursive: true, force: true }));

let cluster: LocalCluster;
let keys: ReturnType<typeof readNodeKey>[];
before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  keys = cluster.config.nodes.map((n, i) => readNodeKey(cluster.nodeDirs[i]!, n.name));
});

let sessions = 0;
const tlsOf = (p: Party, config: ClusterConfig) => ({ config, me: p.id, key: keys[p.id]!.keyPem, cert: keys[p.id]!.certPem, connectTimeoutMs: 10_000, recvTimeoutMs: 30_000 });

/** n values: edge cases first, then random 64-bit words. */
function values(n: number): BigUint64Array {
  const c = new BigUint64Array(n);
  randomFillSync(c);
  for (let i = 0; i < Math.min(n, EDGES.length); i++) c[i] = BigInt.asUintN(64, EDGES[i]!);
  return c;
}

const open = (p: Party, workers: number, minLanes?: number) => CorePool.open(p, { workers, tls: tlsOf(p, cluster.config), channel: `test-${sessions}`, ...(minLanes !== undefined ? { minLanes } : {}) });

/** As a job does: two more products, and on a failure the pool aborted (so the others stop too). */
async function twoProductsAsAJob(p: Party, pool: CorePool, x: AShare, y: AShare): Promise<string> {
  try {
    for (let k = 0; k < 2; k++) await A.mul(p, x, y);
    await pool.close();
    return 'finished';
  } catch (e) {
    await pool.abort((e as Error).message);
    return `failed: ${(e as Error).message}`;
  }
}

/**
 * Three parties with pools of two workers, each past one product of 2^17 lanes on them and a
 * barrier; then `then` at each party (with its shares of two columns).
 */
function afterOneProduct(then: (p: Party, pool: CorePool, x: AShare, y: AShare) => Promise<string>): Promise<[string, string, string]> {
  sessions++;
  const n = 1 << 17;
  const sx = splitShares(values(n)), sy = splitShares(values(n));
  return run3(async (p) => {
    const pool = (await open(p, 2))!;
    p.cores = pool;
    await A.mul(p, sx[p.id]!, sy[p.id]!);
    await p.barrier();
    return then(p, pool, sx[p.id]!, sy[p.id]!);
  });
}

describe('core pool: products on worker threads', () => {
  it('multiplies like the plaintext around the threshold, a worker slice and a streamed round', async () => {
    sessions++;
    const sizes = [1023, 1024, 1025, 4099, (1 << 20) + 5];
    const xs = sizes.map(values), ys = sizes.map(values);
    const sx = xs.map(splitShares), sy = ys.map(splitShares);
    const got = await run3(async (p) => {
      const pool = await open(p, 2, 1024);
      assert.ok(pool, 'every party offered two workers');
      assert.equal(pool.workers, 2);
      p.cores = pool;
      const out: AShare[] = [];
      try {
        for (let k = 0; k < sizes.length; k++) out.push(await A.mul(p, sx[k]![p.id]!, sy[k]![p.id]!));
        // several pairs in one call, and a product into a given output (shared and not)
        out.push(...(await A.mulMany(p, [[sx[0]![p.id]!, sy[0]![p.id]!], [sx[3]![p.id]!, sy[3]![p.id]!]])));
        const n = sizes[2]!;
        out.push(await A.mul(p, sx[2]![p.id]!, sy[2]![p.id]!, new AShare(R.sharedCol(n), R.sharedCol(n))));
        out.push(await A.mul(p, sx[2]![p.id]!, sy[2]![p.id]!, new AShare(R.uninit(n), R.uninit(n))));
      } finally {
        await pool.close();
      }
      return out;
    });
    const want = [...sizes.map((_, k) => R.mul(xs[k]!, ys[k]!)), R.mul(xs[0]!, ys[0]!), R.mul(xs[3]!, ys[3]!), R.mul(xs[2]!, ys[2]!), R.mul(xs[2]!, ys[2]!)];
    want.forEach((w, k) => {
      const z = combineShares(got[0][k]!, got[1][k]!);
      assert.deepEqual(z, w, `product ${k} (${w.length} lanes)`);
      assert.deepEqual(combineShares(got[1][k]!, got[2][k]!), w, `product ${k}: parties 1 and 2 agree`);
    });
    // Shorter than the threshold: this thread's own product (a column not in shared memory).
    assert.ok(!(got[0][0]!.a.buffer instanceof SharedArrayBuffer));
    assert.ok(got[0][1]!.a.buffer instanceof SharedArrayBuffer);
  });

  it('ANDs (one pair, several, and a comparison\'s rounds) like the plaintext', async () => {
    sessions++;
    const words = [1023, 1024, 5000, (1 << 20) + 3];
    const rand = (n: number) => randomFillSync(new Uint32Array(n));
    const xs = words.map(rand), ys = words.map(rand);
    /** XOR shares of v: party i holds (v_i, v_{i+1}). */
    const split = (v: Uint32Array) => {
      const s0 = rand(v.length), s1 = rand(v.length), s2 = v.map((w, i) => w ^ s0[i]! ^ s1[i]!);
      const s = [s0, s1, s2];
      return [0, 1, 2].map((i) => new BShare(v.length * 32, 1, s[i]!, s[(i + 1) % 3]!));
    };
    const bx = xs.map(split), by = ys.map(split);
    const n = (1 << 17) + 9;
    const cx = values(n).map((v) => v >> 2n), cy = values(n).map((v) => v >> 2n);
    const scx = splitShares(cx), scy = splitShares(cy);
    const got = await run3(async (p) => {
      const pool = (await open(p, 2, 1024))!;
      p.cores = pool;
      try {
        const out: (Uint32Array | null)[] = [];
        for (let k = 0; k < words.length; k++) out.push(await revealBits(p, await and(p, bx[k]![p.id]!, by[k]![p.id]!)));
        for (const z of await andMany(p, [[bx[1]![p.id]!, by[1]![p.id]!], [bx[2]![p.id]!, by[2]![p.id]!]])) out.push(await revealBits(p, z));
        out.push(await revealBits(p, await C.lt(p, scx[p.id]!, scy[p.id]!, { bits: 63 })));
        return out;
      } finally {
        await pool.close();
      }
    });
    const want = [...words.map((_, k) => xs[k]!.map((w, i) => w & ys[k]![i]!)), xs[1]!.map((w, i) => w & ys[1]![i]!), xs[2]!.map((w, i) => w & ys[2]![i]!)];
    want.forEach((w, k) => assert.deepEqual(got[0][k], w, `AND ${k} (${w.length} words)`));
    const lt = got[0][want.length]!;
    for (let i = 0; i < n; i++) assert.equal((lt[i >>> 5]! >>> (i & 31)) & 1, BigInt.asIntN(64, cx[i]!) < BigInt.asIntN(64, cy[i]!) ? 1 : 0, `x < y at lane ${i}`);
  });

  it('a worker\'s port accepts no connection once its counterparts are connected', async () => {
    sessions++;
    const refused = await run3(async (p) => {
      const pool = (await open(p, 2))!;
      try {
        return await Promise.all(
          pool.ports.map(
            (port) =>
              new Promise<string>((ok) => {
                const s = netConnect(port, cluster.config.nodes[p.id].host);
                s.once('connect', () => (s.destroy(), ok('accepted')));
                s.once('error', (e: NodeJS.ErrnoException) => ok(e.code ?? e.message));
              }),
          ),
        );
      } finally {
        await pool.close();
      }
    });
    assert.deepEqual(refused, [['ECONNREFUSED', 'ECONNREFUSED'], ['ECONNREFUSED', 'ECONNREFUSED'], ['ECONNREFUSED', 'ECONNREFUSED']]);
  });

  it('takes threads started ahead (a daemon\'s spares), one job after another', async () => {
    const spares = [0, 1, 2].map((i) => new CoreSpares({ config: cluster.config, me: i as PartyId, key: keys[i]!.keyPem, cert: keys[i]!.certPem }, 2));
    try {
      const n = CORE_MIN_LANES + 77;
      for (let job = 0; job < 2; job++) {
        sessions++;
        const x = values(n), y = values(n);
        const sx = splitShares(x), sy = splitShares(y);
        const got = await run3(async (p) => {
          const pool = (await CorePool.open(p, { workers: 2, tls: tlsOf(p, cluster.config), channel: `test-${sessions}`, spares: spares[p.id]! }))!;
          p.cores = pool;
          try {
            return await A.mul(p, sx[p.id]!, sy[p.id]!);
          } finally {
            await pool.close();
          }
        });
        assert.deepEqual(combineShares(got[0], got[1]), R.mul(x, y), `job ${job}`);
      }
    } finally {
      await Promise.all(spares.map((s) => s.close()));
    }
  });

  it('uses the fewest workers any party offers, and none when one offers a single core', async () => {
    sessions++;
    const counts = await run3(async (p) => {
      const pool = await open(p, p.id === 1 ? 3 : p.id === 2 ? 2 : 4);
      const w = pool?.workers ?? 0;
      await pool?.close();
      return w;
    });
    assert.deepEqual(counts, [2, 2, 2]);
    sessions++;
    const none = await run3(async (p) => {
      const pool = await open(p, p.id === 0 ? 1 : 2);
      return pool === null;
    });
    assert.deepEqual(none, [true, true, true]);
  });

  it('a pool aborted while its round waits for a silent party rejects that round at once', async () => {
    sessions++;
    const n = 1 << 17;
    const sx = splitShares(values(n)), sy = splitShares(values(n));
    const outcomes = await run3(async (p) => {
      const pool = (await open(p, 2))!;
      p.cores = pool;
      let r = 'silent';
      if (p.id !== 2) {
        // Party 2 never takes part in the round (as a stopped node). Party 0 needs only party 1's
        // part and finishes; party 1 waits for party 2's until its job gives up: what a job does when
        // its own channel finds a peer silent (jobs.ts: net.onFail → pool.abort).
        const round = A.mul(p, sx[p.id]!, sy[p.id]!).then(() => 'finished', (e: Error) => `failed: ${e.message}`);
        if (p.id === 1) setTimeout(() => void pool.abort('no sign of life from party 2 (test)'), 200);
        r = await round;
      }
      await p.barrier(); // before anyone closes its pool
      await pool.abort('done');
      return r;
    });
    assert.deepEqual(outcomes.map((o) => o.replace(/:.*/, '')), ['finished', 'failed', 'silent']);
    assert.match(outcomes[1], /no sign of life from party 2 \(test\)/);
  });

  it('a worker thread that dies fails its party\'s round and, through the job\'s abort, the others\'', async () => {
    const outcomes = await afterOneProduct(async (p, pool, x, y) => {
      // Party 1's second worker thread ends as a crash would (its sockets go with it).
      if (p.id === 1) await (pool as unknown as { threads: { thread: { terminate(): Promise<number> } }[] }).threads[1]!.thread.terminate();
      return twoProductsAsAJob(p, pool, x, y);
    });
    assert.match(outcomes[1], /^failed: core worker 1 exited/);
    for (const o of [outcomes[0], outcomes[2]]) assert.match(o, /^failed: /, o);
  });

  it('listens only on the ports it is given (--worker-ports), and says so when they are all taken', async () => {
    // One range for all three parties (one host here): each worker takes the first port still free.
    const from = portRangeStart(16), to = from + 15;
    sessions++;
    const n = (1 << 16) + 3;
    const xs = values(n), ys = values(n);
    const sx = splitShares(xs), sy = splitShares(ys);
    const got = await run3(async (p) => {
      const pool = (await CorePool.open(p, { workers: 2, tls: { ...tlsOf(p, cluster.config), ports: { from, to } }, channel: `test-${sessions}` }))!;
      p.cores = pool;
      try {
        return { z: await A.mul(p, sx[p.id]!, sy[p.id]!), ports: pool.ports };
      } finally {
        await pool.close();
      }
    });
    const ports = got.flatMap((g) => g.ports);
    assert.equal(new Set(ports).size, 6, `six workers, six ports: ${ports}`);
    for (const port of ports) assert.ok(port >= from && port <= to, `port ${port} in ${from}-${to}`);
    assert.deepEqual(combineShares(got[0].z, got[1].z), R.mul(xs, ys));

    // Two ports per party for two workers: a second pool opens on the same ports while the first is
    // still in use (a worker gives its port up once its counterparts are connected).
    const own = (p: Party) => ({ from: from + 2 * p.id, to: from + 2 * p.id + 1 });
    const session = ++sessions;
    const twice = await run3(async (p) => {
      const pools: CorePool[] = [];
      try {
        for (let k = 0; k < 2; k++) pools.push((await CorePool.open(p, { workers: 2, tls: { ...tlsOf(p, cluster.config), ports: own(p) }, channel: `test-${session}-${k}` }))!);
        const z: AShare[] = [];
        for (const pool of pools) {
          p.cores = pool;
          z.push(await A.mul(p, sx[p.id]!, sy[p.id]!));
        }
        return { z, ports: pools.map((q) => [...q.ports].sort()) };
      } finally {
        for (const pool of pools) await pool.close();
      }
    });
    for (const [id, t] of twice.entries()) assert.deepEqual(t.ports, [[from + 2 * id, from + 2 * id + 1], [from + 2 * id, from + 2 * id + 1]]);
    for (const k of [0, 1]) assert.deepEqual(combineShares(twice[0].z[k]!, twice[1].z[k]!), R.mul(xs, ys));

    // Party 1 gets one port for two workers: its pool fails with what to do, and the others fail too.
    sessions++;
    const outcomes = await run3(async (p) => {
      const ports = p.id === 1 ? { from: to + 1, to: to + 1 } : { from, to };
      try {
        await CorePool.open(p, { workers: 2, tls: { ...tlsOf(p, cluster.config), ports }, channel: `test-${sessions}` });
        return 'opened';
      } catch (e) {
        p.net.abort((e as Error).message); // as a job does when it fails
        return `failed: ${(e as Error).message}`;
      }
    });
    assert.equal(outcomes[1], `failed: no free port in ${to + 1}-${to + 1} for a worker thread (--worker-ports): each job with workers holds one port per worker until its counterparts have connected; give a wider range, or fewer --workers`);
    for (const o of [outcomes[0], outcomes[2]]) assert.match(o, /^failed: /, o);
  });

  it('a party whose workers fail makes the others fail instead of waiting', async () => {
    const outcomes = await afterOneProduct(async (p, pool, x, y) => {
      if (p.id === 2) {
        await pool.abort('party 2 stops its workers (test)');
        return 'aborted';
      }
      // Party 0 may still get the next product (it needs only party 1's part), never the one after.
      return twoProductsAsAJob(p, pool, x, y);
    });
    assert.equal(outcomes[2], 'aborted');
    for (const o of outcomes.slice(0, 2)) assert.match(o, /^failed: .*(party 2|closed|aborted|stops)/, o);
  });
});
