// Throughput check of the TLS channel (not a test): three node processes pass frames around a
// ring (each sends to its successor and receives from its predecessor at the same time) and
// report payload MB/s per party and direction.
//
//   node dist/bench/throughput.js [MiB per frame = 8] [rounds = 40] [--both]
//
// --both: every party sends to both peers each round (two directions per link at once).
// --pair: only party 0 sends, only party 1 receives (one link, one direction; per-byte CPU cost).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Party } from '../src/mpc/party.js';
import type { PartyId } from '../src/net/channel.js';
import { runOnLocalCluster } from '../src/net/cluster.js';
import { createLocalCluster } from '../src/net/keys.js';

/** The job: `rounds` frames of `mib` MiB to the next party (and the previous one with `both`). */
export async function ring(p: Party, args: { mib: number; rounds: number; both?: boolean; pair?: boolean }) {
  const frame = new Uint8Array(args.mib * 1024 * 1024).fill(p.id + 1);
  let peers: PartyId[] = args.both ? [p.next, p.prev] : [p.next];
  let from: PartyId[] = args.both ? [p.prev, p.next] : [p.prev];
  if (args.pair) {
    // one link, one direction: party 0 sends to party 1; party 2 idles
    peers = p.id === 0 ? [1] : [];
    from = p.id === 1 ? [0] : [];
  }
  // warm-up round, also a barrier
  for (const q of peers) p.net.send(q, frame);
  for (const q of from) await p.net.recv(q);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < args.rounds; r++) {
    for (const q of peers) p.net.send(q, frame);
    for (const q of from) await p.net.recv(q);
  }
  if (args.pair) {
    // the receiver acknowledges the last frame, so both ends time the same transfer
    if (p.id === 1) p.net.send(0, new Uint8Array(1));
    if (p.id === 0) await p.net.recv(1);
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const bytes = args.rounds * frame.byteLength * Math.max(peers.length, from.length);
  return { seconds: s, mbPerSecSent: bytes / s / 1e6, mbPerSecPerDirection: args.rounds * frame.byteLength / s / 1e6, cpuPercent: ((cpu.user + cpu.system) / 1e6 / s) * 100, userPercent: (cpu.user / 1e6 / s) * 100 };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const nums = process.argv.slice(2).filter((a) => !a.startsWith('--')).map(Number);
  const mib = nums[0] ?? 8;
  const rounds = nums[1] ?? 40;
  const both = process.argv.includes('--both');
  const pair = process.argv.includes('--pair');
  const dir = mkdtempSync(join(tmpdir(), 'mosaik-tput-'));
  try {
    await createLocalCluster(dir);
    const res = await runOnLocalCluster({ dir, job: { module: import.meta.url, export: 'ring', args: { mib, rounds, both, pair } }, timeoutMs: 300_000 });
    console.log(`TLS 1.3 ring, ${mib} MiB frames, ${rounds} rounds${both ? ', both directions' : ''}${pair ? ', party 0 → party 1 only' : ''}:`);
    for (const r of res) {
      if (pair && r.party === 2) continue;
      const o = r.result as { mbPerSecSent: number; mbPerSecPerDirection: number; cpuPercent: number; userPercent: number };
      console.log(`  party ${r.party}: ${o.mbPerSecPerDirection.toFixed(0)} MB/s per direction, ${o.mbPerSecSent.toFixed(0)} MB/s sent in total, CPU ${o.cpuPercent.toFixed(0)}% of one core (user ${o.userPercent.toFixed(0)}%)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
