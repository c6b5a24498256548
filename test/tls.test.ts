// The TLS channel: in one process (three channels over real TLS sockets) and across three real
// node processes (runOnLocalCluster). Timeouts in configs are short so failures surface fast;
// no assertion depends on wall-clock time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { combineShares, splitShares, AShare } from '../src/mpc/share.js';
import { ChannelError, type PartyId } from '../src/net/channel.js';
import { runOnLocalCluster, runOnLocalClusterSettled, ClusterJobError, type PartyOutcome } from '../src/net/cluster.js';
import { encodeFrame, encodeHeader, Kind } from '../src/net/frame.js';
import { createLocalCluster, generateNodeKey, normalizeFingerprint, readNodeKey, resolveClusterConfig, writeNodeKey, type LocalCluster, type ClusterConfig } from '../src/net/keys.js';
import { connectTls, type TlsChannel } from '../src/net/tls.js';
import { writeShareFile } from '../src/node/shares.js';
import { col, EDGES, randomInts, runOn, u64 } from './harness.js';

const JOBS = new URL('./tls-jobs.js', import.meta.url).href;
const root = mkdtempSync(join(tmpdir(), 'mosaik-tls-'));
after(() => rmSync(root, { recursive: true, force: true }));

let cluster: LocalCluster;
let keys: ReturnType<typeof readNodeKey>[];
before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
  keys = cluster.config.nodes.map((n, i) => readNodeKey(cluster.nodeDirs[i]!, n.name));
});

/** Fresh ports for each in-process test (the OS may not free them at once). */
async function freshConfig(): Promise<ClusterConfig> {
  return (await createLocalCluster(cluster.dir)).config;
}

function open(config: ClusterConfig, opts: { recvTimeoutMs?: number; connectTimeoutMs?: number } = {}, who: PartyId[] = [0, 1, 2]) {
  return who.map((me) => connectTls({ config, me, key: keys[me]!.keyPem, cert: keys[me]!.certPem, connectTimeoutMs: 5000, ...opts }));
}

/** The hello frame a party `me` sends first on a connection (src/net/tls.ts). */
const helloFrame = (config: ClusterConfig, me: PartyId) => encodeFrame(Kind.Hello, new TextEncoder().encode(JSON.stringify({ mosaik: 1, cluster: config.cluster, party: me })), 0);

/** A hand-driven party `me` (right key, so it authenticates) connected to `to`, past the hello. */
function fakeParty(config: ClusterConfig, me: PartyId, to: PartyId) {
  return new Promise<ReturnType<typeof tlsConnect>>((ok, fail) => {
    const peer = config.nodes[to];
    const connectOnce = () => {
      const s = tlsConnect({ host: peer.host, port: peer.port, key: keys[me]!.keyPem, cert: keys[me]!.certPem, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
      s.on('error', () => {
        s.destroy();
        setTimeout(connectOnce, 20);
      });
      s.once('secureConnect', () => {
        s.write(helloFrame(config, me));
        s.once('data', () => ok(s));
      });
    };
    connectOnce();
    setTimeout(() => fail(new Error(`fake party ${me} could not connect`)), 5000).unref();
  });
}

/**
 * A party `me` on its own port that accepts its predecessor `from` (the peer dials it: the channel
 * connects around the ring) and answers its hello, without running a channel.
 */
function fakeListener(config: ClusterConfig, me: PartyId, from: PartyId) {
  return new Promise<ReturnType<typeof tlsConnect>>((ok, fail) => {
    const self = config.nodes[me];
    const server = createTlsServer({ key: keys[me]!.keyPem, cert: keys[me]!.certPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, (s) => {
      s.once('data', () => {
        s.write(helloFrame(config, me));
        server.close();
        ok(s);
      });
    });
    server.listen(self.port, self.host);
    setTimeout(() => fail(new Error(`fake party ${me} was not reached by party ${from}`)), 5000).unref();
  });
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<ChannelError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ChannelError, `expected a ChannelError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected rejection matching ${pattern}`);
}

describe('node keys and cluster config', () => {
  it('keygen writes a 0600 private key and a certificate, and will not overwrite them', async () => {
    const dir = join(root, 'keygen');
    const k = await writeNodeKey(dir, 'registry-node');
    assert.equal(statSync(k.keyPath).mode & 0o777, 0o600);
    assert.match(readFileSync(k.certPath, 'utf8'), /^-----BEGIN CERTIFICATE-----\n/);
    assert.equal(readNodeKey(dir, 'registry-node').fingerprint, k.fingerprint);
    await assert.rejects(writeNodeKey(dir, 'registry-node'), /already exists/);
    await assert.rejects(generateNodeKey('no spaces allowed'), /node name/);
  });

  it('pins certificates by PEM or fingerprint and rejects bad configs', () => {
    const fp = keys[0]!.fingerprint;
    assert.equal(normalizeFingerprint(`sha256:${fp.replace(/:/g, '').toLowerCase()}`), fp);
    const nodes = cluster.config.nodes.map((n) => ({ id: n.id, name: n.name, host: n.host, port: n.port, fingerprint: n.fingerprint }));
    assert.equal(resolveClusterConfig({ nodes }, root).nodes[2].fingerprint, cluster.config.nodes[2].fingerprint);
    assert.throws(() => resolveClusterConfig({ nodes: nodes.slice(0, 2) }, root), /exactly three nodes/);
    assert.throws(() => resolveClusterConfig({ nodes: nodes.map((n) => ({ ...n, id: 0 as PartyId })) }, root), /ids must be 0, 1 and 2/);
    assert.throws(() => resolveClusterConfig({ nodes: nodes.map((n, i) => (i === 1 ? { ...n, port: 0 } : n)) }, root), /port must be/);
    assert.throws(() => resolveClusterConfig({ nodes: nodes.map((n, i) => (i === 1 ? { ...n, fingerprint: 'abc' } : n)) }, root), /not a SHA-256 fingerprint/);
    assert.throws(() => resolveClusterConfig({ nodes: nodes.map((n, i) => (i === 1 ? { id: n.id, name: n.name, host: n.host, port: n.port } : n)) }, root), /needs a pinned/);
  });
});

describe('TLS channel, three parties in one process', () => {
  it('connects in any start order and runs share/mul/reveal/dot', async () => {
    const config = await freshConfig();
    const [c2] = open(config, {}, [2]);
    await new Promise((ok) => setTimeout(ok, 100)); // party 2 first, the others later: order must not matter
    const [c0, c1] = open(config, {}, [0, 1]);
    const nets = (await Promise.all([c0!, c1!, c2!])) as TlsChannel[];
    const xv = randomInts(500);
    const yv = randomInts(500).reverse();
    const sx = splitShares(col(xv));
    const sy = splitShares(col(yv));
    const out = await runOn(nets, async (p) => {
      const z = await A.mul(p, sx[p.id]!, sy[p.id]!);
      return A.revealMany(p, [z, await A.dot(p, sx[p.id]!, sy[p.id]!)]);
    });
    for (const [z, d] of out) {
      assert.deepEqual(z, col(xv.map((v, i) => v * yv[i]!)));
      assert.deepEqual(d, col([xv.reduce((s, v, i) => s + v * yv[i]!, 0n)]));
    }
    for (const n of nets) {
      for (const info of Object.values(n.tlsInfo())) assert.equal(info, 'TLSv1.3 TLS_AES_128_GCM_SHA256');
      // setup seed (16 B) + mul (4000 B) + dot (8 B) + reveal of 501 lanes (4008 B) to one peer
      assert.equal(n.stats.sent, 16 + 4000 + 8 + 4008);
      assert.equal(n.stats.frames, 4);
      assert.equal(n.stats.received, n.stats.sent);
    }
    await Promise.all(nets.map((n) => n.close()));
  });

  it('delivers large frames whole, in order and 8-byte aligned', async () => {
    const nets = (await Promise.all(open(await freshConfig()))) as TlsChannel[];
    // Large frames queued between small ones (written one by one, the small ones between them together).
    const sizes = [0, 1, 7, 8, 65_537, 3 << 20, 5, (2 << 20) + 3, (1 << 20) + 1, 1 << 20, 16_384, 3 << 20, 9];
    const frame = (s: number, k: number) => Uint8Array.from({ length: s }, (_, i) => (i * 31 + k * 7 + (i >> 16)) & 0xff);
    for (const n of nets) sizes.forEach((s, k) => n.send(((n.me + 1) % 3) as PartyId, frame(s, k)));
    for (const n of nets) {
      for (const [k, s] of sizes.entries()) {
        const f = await n.recv(((n.me + 2) % 3) as PartyId);
        assert.equal(f.byteLength, s);
        assert.equal(f.byteOffset, 0);
        assert.equal(f.buffer.byteLength, s);
        assert.ok(Buffer.from(f).equals(frame(s, k)), `frame ${k} (${s} bytes) arrived with other bytes`);
      }
    }
    await Promise.all(nets.map((n) => n.close()));
  });

  it('decrypts large payloads from a successor straight into the buffer recv was given', async () => {
    const nets = (await Promise.all(open(await freshConfig()))) as TlsChannel[];
    // Each party reads its successor on a socket it dialled itself: those reads land in place.
    const sizes = [3 << 20, 100, (1 << 20) + 5, 8, 2 << 20];
    const frame = (s: number, k: number) => Uint8Array.from({ length: s }, (_, i) => (i * 13 + k * 5 + (i >> 12)) & 0xff);
    const into = nets.map(() => sizes.map((s, k) => (k % 2 === 0 ? new Uint8Array(s) : undefined)));
    const got = nets.map((n) => sizes.map((_, k) => n.recv(((n.me + 1) % 3) as PartyId, into[n.me]![k])));
    for (const n of nets) sizes.forEach((s, k) => n.send(((n.me + 2) % 3) as PartyId, frame(s, k)));
    for (const n of nets) {
      for (const [k, s] of sizes.entries()) {
        const f = await got[n.me]![k]!;
        assert.ok(Buffer.from(f).equals(frame(s, k)), `frame ${k} (${s} bytes) arrived with other bytes`);
        if (into[n.me]![k]) assert.equal(f, into[n.me]![k]);
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      // All but what arrived in a read together with a frame's header (at most 16 KiB per frame).
      assert.ok(n.stats.bytesReadInPlace >= total - sizes.length * 16384, `${n.stats.bytesReadInPlace} of ${total} bytes in place`);
    }
    await Promise.all(nets.map((n) => n.close()));
  });

  it('after an orderly close, queued frames stay readable and the next recv fails', async () => {
    const nets = (await Promise.all(open(await freshConfig()))) as TlsChannel[];
    nets[0]!.send(1, new Uint8Array([1]));
    nets[0]!.send(1, new Uint8Array([2]));
    await nets[0]!.close();
    assert.deepEqual(await nets[1]!.recv(0), new Uint8Array([1]));
    assert.deepEqual(await nets[1]!.recv(0), new Uint8Array([2]));
    await rejectsWith(nets[1]!.recv(0), /party 0 \(node-a\) has closed its channel/);
    nets[2]!.abort('test over');
    await Promise.all(nets.map((n) => n.whenClosed()));
  });

  it('close() flushes everything queued before the goodbye, even to a slow reader', async () => {
    const config = await freshConfig();
    const nets = (await Promise.all([0, 1, 2].map((me) => connectTls({ config, me: me as PartyId, key: keys[me]!.keyPem, cert: keys[me]!.certPem, closeTimeoutMs: 300 })))) as TlsChannel[];
    const frame = new Uint8Array(8 << 20).fill(7);
    for (let i = 0; i < 12; i++) nets[0]!.send(1, frame);
    const closing = nets[0]!.close(); // 96 MiB still queued: close must wait for it, not drop it
    let got = 0;
    for (let i = 0; i < 12; i++) {
      const f = await nets[1]!.recv(0);
      assert.equal(f.byteLength, 8 << 20);
      got += f[f.length - 1]!;
    }
    assert.equal(got, 12 * 7);
    await closing;
    await Promise.all([nets[1]!.close(), nets[2]!.close()]);
  });

  it('refuses a node whose certificate is not the pinned one, naming it', async () => {
    const good = await freshConfig();
    const impostor = await generateNodeKey('node-b');
    // The config pins the real node-b; party 1 starts with another key pair.
    const nets = [0, 1, 2].map((me) =>
      connectTls({
        config: good,
        me: me as PartyId,
        key: me === 1 ? impostor.keyPem : keys[me]!.keyPem,
        cert: me === 1 ? impostor.certPem : keys[me]!.certPem,
        connectTimeoutMs: 5000,
      }),
    );
    const errs = await Promise.allSettled(nets);
    for (const r of errs) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof ChannelError);
    }
    assert.match((errs[0] as PromiseRejectedResult).reason.message, /authentication of party 1 \(node-b at 127\.0\.0\.1:\d+\) failed/);
    assert.match((errs[2] as PromiseRejectedResult).reason.message, /authentication of party 1 \(node-b\) failed/);
    assert.match((errs[1] as PromiseRejectedResult).reason.message, /party 1|refused/);
  });

  it('fails every party when a peer sends a malformed frame', async () => {
    const config = await freshConfig();
    const [c1, c2] = open(config, {}, [1, 2]);
    // A misbehaving party 0 (it holds the right key, so it authenticates) that sends garbage to party 1:
    // it dials its successor, party 1, and is dialled by its predecessor, party 2.
    const [s1, s2] = await Promise.all([fakeParty(config, 0, 1), fakeListener(config, 0, 2)]);
    const [n1, n2] = (await Promise.all([c1!, c2!])) as TlsChannel[];
    const pending1 = n1!.recv(2);
    const pending2 = n2!.recv(1);
    s1.write(new Uint8Array([0x4d, 1, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0])); // kind 9 does not exist
    await rejectsWith(pending1, /party 0 \(node-a\).*malformed frame from party 0 \(node-a\): unknown frame kind 9/);
    await rejectsWith(n1!.recv(0), /malformed frame from party 0/);
    await rejectsWith(pending2, /party 1 \(node-b\) aborted: .*malformed frame from party 0/);
    s1.destroy();
    s2.destroy();
    await Promise.all([n1!.whenClosed(), n2!.whenClosed()]);
  });

  it('drops a stranger\'s connection (unpinned key, oversized frame) and still sets up', async () => {
    const config = await freshConfig();
    const stranger = await generateNodeKey('stranger');
    const [c2] = open(config, {}, [2]);
    const peer = config.nodes[2];
    const closed = await new Promise<boolean>((ok) => {
      const tryOnce = () => {
        const s = tlsConnect({ host: peer.host, port: peer.port, key: stranger.keyPem, cert: stranger.certPem, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
        s.on('error', () => setTimeout(tryOnce, 20));
        s.once('secureConnect', () => {
          s.write(encodeHeader(Kind.Data, 100 << 20, 0)); // 100 MiB before any hello: refused
          s.once('close', () => ok(true));
        });
      };
      tryOnce();
    });
    assert.ok(closed);
    const [c0, c1] = open(config, {}, [0, 1]);
    const nets = (await Promise.all([c0!, c1!, c2!])) as TlsChannel[];
    nets[0]!.send(2, new Uint8Array([42]));
    assert.deepEqual(await nets[2]!.recv(0), new Uint8Array([42]));
    await Promise.all(nets.map((n) => n.close()));
  });

  it('fails the setup at once when a connected peer is lost while waiting for the other', async () => {
    const config = await freshConfig();
    const [c2] = open(config, { connectTimeoutMs: 20_000 }, [2]);
    const s1 = await fakeParty(config, 1, 2); // party 1 connects, then dies; party 0 never comes
    s1.destroy();
    await rejectsWith(c2!, /connection to party 1 \(node-b\) lost/);
  });

  it('times out a silent peer and fails the others too', async () => {
    const nets = (await Promise.all(open(await freshConfig(), { recvTimeoutMs: 300 }))) as TlsChannel[];
    // party 0 never sends; parties 1 and 2 wait on it
    const waiting = [rejectsWith(nets[1]!.recv(0), /timed out after 300 ms waiting for party 0 \(node-a\)/), rejectsWith(nets[2]!.recv(0), /timed out after 300 ms waiting for party 0 \(node-a\)|aborted/)];
    await Promise.all(waiting);
    await rejectsWith(nets[0]!.recv(1), /aborted: timed out/);
    await Promise.all(nets.map((n) => n.whenClosed()));
  });

  it('rejects sends above the maximum frame size', async () => {
    const config = await freshConfig();
    const nets = (await Promise.all([0, 1, 2].map((me) => connectTls({ config, me: me as PartyId, key: keys[me]!.keyPem, cert: keys[me]!.certPem, maxFrameBytes: 1024 })))) as TlsChannel[];
    assert.throws(() => nets[0]!.send(1, new Uint8Array(1025)), (e: Error) => e instanceof ChannelError && /maximum frame size of 1024/.test(e.message));
    await rejectsWith(nets[1]!.recv(0), /party 0 \(node-a\) aborted: .*maximum frame size/);
    await Promise.all(nets.map((n) => n.whenClosed()));
  });
});

describe('TLS channel, three node processes', () => {
  it('computes share/mul/reveal/dot/input over TLS and matches plaintext', async () => {
    const n = 3000;
    const xv = randomInts(n);
    const yv = randomInts(n).reverse();
    const sx = splitShares(col(xv));
    const sy = splitShares(col(yv));
    for (const i of [0, 1, 2]) {
      writeShareFile(join(cluster.nodeDirs[i]!, 'shares', 'x.share'), sx[i]!);
      writeShareFile(join(cluster.nodeDirs[i]!, 'shares', 'y.share'), sy[i]!);
    }
    const progress: string[] = [];
    const res = await runOnLocalCluster({ dir: cluster.dir, job: { module: JOBS, export: 'arith', args: { n } }, timeoutMs: 60_000, recvTimeoutMs: 10_000, onProgress: (p, m) => progress.push(`${p}:${m}`) });
    const strs = (c: bigint[]) => c.map((v) => u64(v).toString());
    const z = xv.map((v, i) => v * yv[i]!);
    for (const r of res) {
      const out = r.result as Record<string, string[] | null>;
      assert.deepEqual(out.x, strs(xv));
      assert.deepEqual(out.z, strs(z));
      assert.deepEqual(out.dot, strs([xv.reduce((s, v, i) => s + v * yv[i]!, 0n)]));
      assert.deepEqual(out.owned, strs(Array.from(sx[1]!.a.slice(0, 10))));
      assert.deepEqual(out.sumTo2, r.party === 2 ? strs(xv.map((v, i) => v + yv[i]!)) : null);
      assert.ok(r.stats.sent > 8 * n && r.stats.frames > 0, 'bytes are counted');
    }
    // The requester can also combine result shares itself (reveal to nobody but the requester).
    const zs = res.map((r) => {
      const s = (r.result as { zShare: { a: string[]; b: string[] } }).zShare;
      return new AShare(BigUint64Array.from(s.a.map(BigInt)), BigUint64Array.from(s.b.map(BigInt)));
    });
    assert.deepEqual(combineShares(zs[0]!, zs[1]!), col(z));
    assert.deepEqual(progress.sort(), ['0:loaded shares', '1:loaded shares', '2:loaded shares']);
  });

  it('runs comparisons, bit decomposition, select, fixed point, shuffle and sort over TLS against plaintext', async () => {
    const f = 16;
    const small = (k: number) => BigInt(Math.round(Math.sin(k * 12.9898) * 100 * 2 ** f)); // |v| ≤ 100.0 in fixed point
    const xv = [...EDGES, ...Array.from({ length: 150 }, (_, k) => small(k))];
    const yv = [-(2n ** 31n), 2n ** 31n - 1n, 0n, -1n, 1n, ...Array.from({ length: xv.length - 5 }, (_, k) => (k % 7 === 0 && k + 5 >= EDGES.length ? xv[k + 5]! : small(k + 1000)))];
    const res = await runOnLocalCluster({
      dir: cluster.dir,
      job: { module: JOBS, export: 'protocols', args: { x: xv.map(String), y: yv.map(String), f } },
      timeoutMs: 120_000,
      recvTimeoutMs: 30_000,
    });
    const fits32 = (v: bigint) => v >= -(2n ** 31n) && v < 2n ** 31n;
    const isSmall = (v: bigint) => v >= -(2n ** 23n) && v <= 2n ** 23n;
    for (const r of res) {
      const o = r.result as Record<string, (string | number)[]>;
      const big = (k: string) => o[k]!.map((v) => BigInt(v));
      assert.deepEqual(o.ltFull, xv.map((v, i) => +(v < yv[i]!)));
      xv.forEach((v, i) => fits32(v) && assert.equal(o.lt32![i], +(v < yv[i]!), `lt32 lane ${i}`));
      assert.deepEqual(o.eqs, xv.map((v, i) => +(v === yv[i]!)));
      assert.deepEqual(big('dec'), xv);
      assert.deepEqual(big('mins'), xv.map((v, i) => (v < yv[i]! ? v : yv[i]!)));
      xv.forEach((v, i) => {
        if (!isSmall(v) || !isSmall(yv[i]!)) return;
        const exact = Number(v * yv[i]!) / 2 ** f;
        assert.ok(Math.abs(Number(big('prod')[i]) - exact) <= 1, `mulFixed lane ${i}`);
        assert.ok(Math.abs(Number(big('quo')[i]) - Number(v) / 3) <= 5, `div lane ${i}`);
      });
      const pairs = (a: bigint[], b: bigint[]) => a.map((v, i) => `${v},${b[i]}`).sort();
      assert.deepEqual(pairs(big('sx'), big('sy')), pairs(xv, yv), 'shuffle keeps rows together');
      const order = yv.map((_, i) => i).sort((a, b) => (yv[a]! < yv[b]! ? -1 : yv[a]! > yv[b]! ? 1 : a - b));
      assert.deepEqual(big('sk'), order.map((i) => yv[i]!));
      assert.deepEqual(big('sp'), order.map((i) => xv[i]!));
    }
  });

  it('fails every other party with a ChannelError when a peer is killed mid-job', async () => {
    const out = await runOnLocalClusterSettled({ dir: cluster.dir, job: { module: JOBS, export: 'die', args: { victim: 1, after: 3, rounds: 50, n: 1000 } }, timeoutMs: 60_000, recvTimeoutMs: 20_000 });
    assert.equal(out[1].ok, false);
    assert.match((out[1] as { error: { message: string } }).error.message, /party 1 \(node-b\) exited with signal SIGKILL/);
    for (const p of [0, 2] as const) {
      const o = out[p];
      assert.equal(o.ok, false, `party ${p} must fail`);
      if (o.ok) continue;
      assert.equal(o.error.name, 'ChannelError');
      assert.match(o.error.message, /party 1 \(node-b\)/);
    }
  });

  it('an abort reaches every party with its reason, and runOnLocalCluster rejects', async () => {
    const reason = 'custodian withdrew the dataset';
    const run = runOnLocalCluster({ dir: cluster.dir, job: { module: JOBS, export: 'abort', args: { who: 2, reason } }, timeoutMs: 60_000, recvTimeoutMs: 20_000 });
    await assert.rejects(run, (e: Error) => {
      assert.ok(e instanceof ClusterJobError);
      for (const p of [0, 1] as const) {
        const o: PartyOutcome = e.outcomes[p]!;
        assert.equal(o.ok, false);
        if (!o.ok) {
          assert.equal(o.error.name, 'ChannelError');
          assert.match(o.error.message, new RegExp(`party 2 \\(node-c\\) aborted: ${reason}`));
        }
      }
      return true;
    });
  });

  it('times out a stalled party instead of hanging', async () => {
    const out = await runOnLocalClusterSettled({ dir: cluster.dir, job: { module: JOBS, export: 'stall', args: { who: 0, ms: 900 } }, timeoutMs: 60_000, recvTimeoutMs: 400 });
    for (const o of out) assert.equal(o.ok, false, `party ${o.party} must fail`);
    const messages = out.map((o) => (o.ok ? '' : `${o.error.name}: ${o.error.message}`));
    assert.ok(messages.some((m) => /^ChannelError: timed out after 400 ms waiting for party 0 \(node-a\)/.test(m)), messages.join('\n'));
    for (const m of messages) assert.match(m, /^ChannelError: .*(timed out|aborted)/);
  });

  it('refuses to start a node whose key is not the pinned one', async () => {
    const dir = join(root, 'bad');
    const lc = await createLocalCluster(dir);
    const other = await generateNodeKey('node-c');
    // The loader catches a config whose fingerprint and certificate disagree.
    const file = JSON.parse(readFileSync(lc.configPath, 'utf8'));
    file.nodes[2].fingerprint = other.fingerprint;
    assert.throws(() => resolveClusterConfig(file, lc.dir), /fingerprint .* does not match its certificate/);
    // Replace node-c's key pair on disk: the config still pins the old certificate.
    writeFileSync(join(lc.nodeDirs[2], 'node-c.key.pem'), other.keyPem);
    writeFileSync(join(lc.nodeDirs[2], 'node-c.cert.pem'), other.certPem);
    const out = await runOnLocalClusterSettled({ dir, job: { module: JOBS, export: 'stall', args: { who: 9, ms: 0 } }, timeoutMs: 60_000, connectTimeoutMs: 1000 });
    assert.ok(out.every((o) => !o.ok));
    assert.match((out[2] as { error: { message: string } }).error.message, /not the one pinned for party 2 \(node-c\)/);
  });
});

describe('mosaik command', () => {
  const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const mosaik = (...args: string[]) =>
    new Promise<{ code: number; out: string }>((ok) => {
      execFile(process.execPath, [MAIN, ...args], { timeout: 120_000 }, (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    });

  it('keygen prints the fingerprint and refuses to overwrite', async () => {
    const dir = join(root, 'cli-keys');
    const first = await mosaik('keygen', '--out', dir, '--name', 'node-x');
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /SHA-256 fingerprint[^\n]*\n\s+([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    const again = await mosaik('keygen', '--out', dir, '--name', 'node-x');
    assert.notEqual(again.code, 0);
    assert.match(again.out, /already exists/);
  });

  it('demo runs end to end over TLS and agrees with the plaintext', async () => {
    const r = await mosaik('demo-engine', '--rows', '3000', '--dir', join(root, 'demo'));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /all results agree with the plaintext; replicated result shares consistent/);
  });
});
