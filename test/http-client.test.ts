// The nodes' API client (src/node/http.ts apiRequest) keeps connections open between requests. A
// server may close a kept connection just as a request goes out on it (it restarted, or its
// keep-alive time ran out): the request fails before any answer and reached no handler. This test
// mounts that race on purpose: a server with the node's pinned certificate drops, unanswered, the
// second request that arrives on a connection. The client must send it again on a new connection,
// once, and only when the body can be sent again.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/http.js';

const root = mkdtempSync(join(tmpdir(), 'mosaik-http-client-'));
let lc: LocalCluster;
let server: Server;
let port: number;
/** What the server saw: every request (method, path, body) and the connections it accepted. */
const seen: { path: string; body: string; dropped: boolean }[] = [];
let connections = 0;
/** Drop the second request on a connection (a kept connection the server closes as it arrives); or every first one. */
let drop: 'second' | 'first' = 'second';

before(async () => {
  lc = await createLocalCluster(join(root, 'c'));
  const dir = lc.nodeDirs[0];
  const perSocket = new WeakMap<Socket, number>();
  server = createServer({ key: readFileSync(join(dir, 'node-a.key.pem')), cert: readFileSync(join(dir, 'node-a.cert.pem')), keepAliveTimeout: 60_000 }, (req, res) => {
    const k = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, k);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const dropped = drop === 'second' ? k === 2 : k === 1;
      seen.push({ path: req.url!, body: Buffer.concat(chunks).toString(), dropped });
      if (dropped) req.socket.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, body: Buffer.concat(chunks).toString() }));
    });
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((ok) => server?.close(ok));
  rmSync(root, { recursive: true, force: true });
});

/** Each test from no kept connection (had the client not yet seen one close, the request on it would reach no server). */
const reset = async () => {
  server.closeAllConnections();
  await new Promise((ok) => setTimeout(ok, 50));
  seen.length = 0;
  connections = 0;
};

describe('the nodes’ API client on kept connections', () => {
  it('a request on a kept connection the server closes is sent again, once, on a new connection', async () => {
    await reset();
    drop = 'second';
    assert.equal((await apiRequest(lc.config, 0, '/a', { port })).status, 200);
    const r = await apiRequest<{ path: string }>(lc.config, 0, '/b', { port });
    assert.equal(r.status, 200);
    assert.equal(r.body.path, '/b');
    assert.deepEqual(seen.map((s) => [s.path, s.dropped]), [['/a', false], ['/b', true], ['/b', false]]);
    assert.equal(connections, 2, 'the copy went out on a new connection');
    // A body in bytes (JSON or raw) is sent again as it was.
    const p = await apiRequest<{ body: string }>(lc.config, 0, '/c', { port, body: { job: 'x' } });
    assert.equal(p.status, 200);
    assert.deepEqual(seen.slice(3).map((s) => [s.path, s.body, s.dropped]), [['/c', '{"job":"x"}', true], ['/c', '{"job":"x"}', false]]);
    assert.equal(JSON.parse(p.body.body).job, 'x');
  });

  it('a body that was a stream is not sent again: the request fails with the node’s name', async () => {
    await reset();
    drop = 'second';
    await apiRequest(lc.config, 0, '/a', { port });
    await assert.rejects(apiRequest(lc.config, 0, '/upload', { port, body: Readable.from([Buffer.from('shares')]) }), /node 0 \(node-a\) at https:\/\/.*\/upload: socket hang up/);
    assert.deepEqual(seen.map((s) => [s.path, s.dropped]), [['/a', false], ['/upload', true]]);
  });

  it('a new connection’s failure is the answer: no second try', async () => {
    await reset();
    drop = 'first';
    await assert.rejects(apiRequest(lc.config, 0, '/d', { port }), /node 0 \(node-a\).*\/d: socket hang up/);
    assert.deepEqual(seen.map((s) => [s.path, s.dropped]), [['/d', true]]);
  });
});
