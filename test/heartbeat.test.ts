// The heartbeat worker (src/net/heartbeat.ts) on loopback, without MPC: a node's probes arm the
// links of its peers from their start, even for a link on which it never beats (a node stopped
// before its first beat on a fresh link, e.g. at a daemon's first job); a node without probes leaves
// such a link unarmed (receive timeout only) until a beat gets through; a peer's first beat that
// arrives before the node has registered the link still arms it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Heartbeats } from '../src/net/heartbeat.js';

const freePort = () =>
  new Promise<number>((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((ok) => setTimeout(ok, 20));
};

const started: Heartbeats[] = [];
after(async () => {
  for (const h of started) await h.close();
});

describe('heartbeat probes', () => {
  it("a peer's probe arms a new link from its start; without probes the link waits for a first beat", async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const peers = [
      { party: 0, host: '127.0.0.1', port: pa },
      { party: 1, host: '127.0.0.1', port: pb },
    ];
    // Node 0 and node 1 probe each other; node 2 runs without probes.
    const a = Heartbeats.start('127.0.0.1', pa, () => {}, { me: 0, peers });
    const b = Heartbeats.start('127.0.0.1', pb, () => {}, { me: 1, peers });
    const c = Heartbeats.start('127.0.0.1', pc);
    started.push(a, b, c);
    await until(() => a.reached(1) && b.reached(0));
    // A link of node 0 with node 1 on which node 1 never beats (it registers no link): armed from its start.
    const link = { id: randomBytes(8), key: randomBytes(32), host: '127.0.0.1', port: pb, peer: 1, me: 0 };
    const before = Date.now();
    const armed = a.register(link)!;
    assert.ok(armed.lastHeard() >= before, 'the link is armed from its start');
    armed.stop();
    // Node 2 has heard nothing from node 1: its link with it stays unarmed.
    const unarmed = c.register({ ...link, me: 2 })!;
    assert.equal(unarmed.lastHeard(), 0);
    assert.equal(c.reached(1), false);
    unarmed.stop();
  });

  it("until a link's first beat, the peer's probes keep it alive (a busy peer is not hung); they stop with the peer", async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const peers = [
      { party: 0, host: '127.0.0.1', port: pa },
      { party: 1, host: '127.0.0.1', port: pb },
    ];
    const a = Heartbeats.start('127.0.0.1', pa, () => {}, { me: 0, peers });
    const b = Heartbeats.start('127.0.0.1', pb, () => {}, { me: 1, peers });
    started.push(a, b);
    await until(() => a.reached(1));
    // Node 1 never registers this link (as if its main thread were still busy before its handshake).
    const link = a.register({ id: randomBytes(8), key: randomBytes(32), host: '127.0.0.1', port: pb, peer: 1, me: 0 })!;
    const start = link.lastHeard();
    await until(() => link.lastHeard() > start); // a later probe of node 1 refreshed it
    // Node 1's process goes (its worker with it): the link's last sign of life stops moving.
    await b.close();
    await new Promise((ok) => setTimeout(ok, 1500));
    const last = link.lastHeard();
    await new Promise((ok) => setTimeout(ok, 2500)); // more than two probe intervals
    assert.equal(link.lastHeard(), last, 'no sign of life from a peer that is gone');
    link.stop();
  });

  it("a peer's first beat that arrives before this node registers the link arms it; a forged one does not", async () => {
    // No probes: only beats can arm the link. Node 1 registers the link first (its first beat goes
    // out at once, as when its handshake finishes first) and then stops before its next beat.
    const [pa, pb, pc, pw] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // Node 0 probes with a witness (party 3) only, so that the test knows its socket is up.
    const a = Heartbeats.start('127.0.0.1', pa, () => {}, { me: 0, peers: [{ party: 3, host: '127.0.0.1', port: pw }] });
    const w = Heartbeats.start('127.0.0.1', pw, () => {}, { me: 3, peers: [{ party: 0, host: '127.0.0.1', port: pa }] });
    const b = Heartbeats.start('127.0.0.1', pb);
    const forger = Heartbeats.start('127.0.0.1', pc);
    started.push(a, w, b, forger);
    await until(() => a.reached(3) && w.reached(0));
    const id = randomBytes(8);
    const key = randomBytes(32);
    const sent = Date.now();
    b.register({ id, key, host: '127.0.0.1', port: pa, peer: 0, me: 1 });
    // The forger beats on another link id towards node 0 with a key node 0 will not have for it.
    const id2 = randomBytes(8);
    forger.register({ id: id2, key: randomBytes(32), host: '127.0.0.1', port: pa, peer: 0, me: 1 });
    await new Promise((ok) => setTimeout(ok, 200)); // both first beats have arrived; no second one yet
    await b.close();
    await forger.close();
    const link = a.register({ id, key, host: '127.0.0.1', port: pb, peer: 1, me: 0 })!;
    const forged = a.register({ id: id2, key: randomBytes(32), host: '127.0.0.1', port: pc, peer: 2, me: 0 })!;
    await new Promise((ok) => setTimeout(ok, 300)); // the worker has taken both links
    assert.ok(link.lastHeard() >= sent && link.lastHeard() < sent + 1000, `armed at the early beat (last heard ${link.lastHeard()})`);
    assert.equal(forged.lastHeard(), 0, 'a beat with the wrong key does not arm a link');
    link.stop();
    forged.stop();
  });

  it('a probe claiming an unknown party or the node itself is ignored', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    // Node 0 expects only party 1 as a peer; node 1 says it is party 2 (a stranger) and node 0's own party.
    const a = Heartbeats.start('127.0.0.1', pa, () => {}, { me: 0, peers: [{ party: 1, host: '127.0.0.1', port: pb }] });
    const x = Heartbeats.start('127.0.0.1', pb, () => {}, { me: 2, peers: [{ party: 0, host: '127.0.0.1', port: pa }] });
    const y = Heartbeats.start('127.0.0.1', await freePort(), () => {}, { me: 0, peers: [{ party: 0, host: '127.0.0.1', port: pa }] });
    started.push(a, x, y);
    // x hears node 0's probes (node 0 probes party 1's address, where x listens), so x's own probes to node 0 went out too.
    await until(() => x.reached(0));
    await new Promise((ok) => setTimeout(ok, 1500)); // at least one more probe interval of x's and y's
    assert.equal(a.reached(2), false);
    assert.equal(a.reached(0), false);
  });
});
