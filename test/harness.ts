// Runs a protocol at three parties in one process over in-memory channels.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Party } from '../src/mpc/party.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { memoryNetwork, type MemoryNetworkOptions } from '../src/net/memory.js';
import type { Channel } from '../src/net/channel.js';

export async function run3<T>(fn: (p: Party) => Promise<T>, opts: MemoryNetworkOptions = {}): Promise<[T, T, T]> {
  const nets = memoryNetwork(opts);
  return runOn(nets, fn);
}

/**
 * The first of `width` consecutive ports for a test's fixed port range (e.g. --worker-ports), at
 * random between 10000 and the kernel's ephemeral range (Linux ip_local_port_range, by default from
 * 32768): ports in that range are also handed to other tests' connections and port-0 listeners
 * running at the same time, which could hold one of the range's ports when the test needs it.
 */
export function portRangeStart(width: number): number {
  let ephemeral = 32768;
  try {
    ephemeral = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeral;
  } catch {
    /* not Linux: the usual default */
  }
  return 10000 + Math.floor(Math.random() * Math.max(1, ephemeral - 10000 - width));
}

export async function runOn<T>(nets: Channel[], fn: (p: Party) => Promise<T>): Promise<[T, T, T]> {
  const results = await Promise.all(
    nets.map(async (net) => {
      const p = await Party.setup(net);
      try {
        return await fn(p);
      } catch (e) {
        net.abort(e instanceof Error ? e.message : String(e));
        throw e;
      }
    }),
  );
  return results as [T, T, T];
}

/** Custodian-style sharing of plaintext columns: shares[k][party]. */
export function shareAll(...cols: BigUint64Array[]): AShare[][] {
  return cols.map((c) => splitShares(c));
}

export const EDGES: bigint[] = [0n, 1n, -1n, 2n, -2n, (1n << 63n) - 1n, -(1n << 63n), (1n << 62n), -(1n << 62n), 12345n];

/** n signed 64-bit values: the edge cases first, then uniformly random. */
export function randomInts(n: number, bits = 64): bigint[] {
  const out: bigint[] = [];
  const b = randomBytes(8 * Math.max(n, 1));
  const view = new BigInt64Array(b.buffer, b.byteOffset, Math.max(n, 1));
  for (let i = 0; i < n; i++) {
    if (bits === 64 && i < EDGES.length) out.push(EDGES[i]!);
    else out.push(BigInt.asIntN(bits, view[i]!));
  }
  return out;
}

export function col(vals: bigint[]): BigUint64Array {
  return BigUint64Array.from(vals.map((v) => BigInt.asUintN(64, v)));
}
export const signed = (c: ArrayLike<bigint>): bigint[] => Array.from(c, (v) => BigInt.asIntN(64, v));
export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
/** Column lengths that exercise empty columns, single elements and partial machine words. */
export const LENGTHS = [0, 1, 2, 31, 32, 33, 63, 65, 1000];

/**
 * Two-sample chi-square statistic of two 256-bin byte histograms (privacy tests). With 255 degrees
 * of freedom, 420 is the threshold for p ≈ 1e-9.
 */
export function chiSquare(h1: Float64Array, h2: Float64Array): number {
  const n1 = h1.reduce((s, v) => s + v, 0), n2 = h2.reduce((s, v) => s + v, 0);
  let chi = 0;
  for (let i = 0; i < 256; i++) {
    const a = h1[i]!, b = h2[i]!;
    if (a + b === 0) continue;
    const t = Math.sqrt(n2 / n1) * a - Math.sqrt(n1 / n2) * b;
    chi += (t * t) / (a + b);
  }
  return chi;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32), so that failures reproduce. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
