// One JIFF party of the side-by-side benchmark (issue 7); bench/compare/jiff.ts starts three of them
// (party ids 1..3) next to a JIFF server (jiff-server.ts).
//   node dist/bench/compare/jiff-party.js '<json args>'      (see PartyArgs)
// Prints one line 'RESULT {json}' with its timed runs (seconds) and the revealed answer.
//
// JIFF (jiff-mpc 1.0, from npm): Shamir secret sharing with threshold = party count (all three
// shares are needed to open; any two parties learn nothing), semi-honest; every message goes
// through the server, end-to-end encrypted between parties with libsodium; the server is also the
// crypto provider (deals Beaver triples and the random bits of comparisons), so it must not collude
// with any party. Two fields: JIFF's default prime 16777729 (24 bits, plain JS numbers, its fastest
// configuration) and, with the bignumber extension, the prime 2^64 − 59 (closest to 64 bits).
// JIFF is not vectorised: every element is its own promise chain and its own messages.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { GROUPS } from './common.js';

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const jiffMpc = require('jiff-mpc') as { JIFFClient: new (url: string, comp: string, opts: object) => any; JIFFClientBigNumber: unknown };

export interface PartyArgs {
  url: string;
  computation: string;
  party: 1 | 2 | 3;
  workload: 'mul' | 'lt' | 'meanvar' | 'groupsum';
  n: number;
  reps: number;
  /** Prime modulus as a decimal string with the bignumber extension; omitted: JIFF's default field. */
  zp?: string;
  /** Statistics: file of n little-endian int64 x values, then n keys (read by party 1). */
  data?: string;
  /** Warm-up batch size (not timed). */
  warm: number;
}

const args = JSON.parse(process.argv[2]!) as PartyArgs;
const big = args.zp !== undefined;

function fail(msg: string): never {
  console.error(`jiff party ${args.party}: ${msg}`);
  process.exit(2);
}

const jiff = new jiffMpc.JIFFClient(args.url, args.computation, {
  party_count: 3,
  party_id: args.party,
  crypto_provider: true,
  autoConnect: false,
  onError: (label: string, err: unknown) => fail(`${label}: ${err instanceof Error ? err.message : String(err)}`),
});
if (big) jiff.apply_extension(jiffMpc.JIFFClientBigNumber, { Zp: args.zp, safemod: false });
jiff.connect();

const num = (v: number | bigint): any => (big ? jiff.helpers.BigNumber(v.toString()) : Number(v));
const ready = (s: any): Promise<void> => (s.ready ? Promise.resolve() : new Promise<void>((ok) => s.wThen(() => ok())));
const allReady = (xs: any[]) => Promise.all(xs.map(ready));
const toNumber = (v: any): number => Number(v.toString());

/** Party `sender` shares `values` (others pass null): an array of n shares at every party. */
async function shareFrom(sender: 1 | 2 | 3, values: (number | bigint)[] | null, n: number): Promise<any[]> {
  const res = await jiff.share_array(values ? values.map(num) : [], n, undefined, [1, 2, 3], [sender]);
  return res[sender] as any[];
}

/** Every party opens one share: a round trip through the server that all three must reach. */
async function sync(s: any): Promise<void> {
  await jiff.open(s);
}

/** Uniform pseudo-random values below 2^bits (inputs only; the protocols do not depend on them). */
function randomValues(n: number, bits: number, seed: number): bigint[] {
  let s = BigInt(seed) | 1n;
  const out: bigint[] = [];
  const mask = (1n << BigInt(bits)) - 1n;
  for (let i = 0; i < n; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    out.push((s >> 7n) & mask);
  }
  return out;
}

/** Coefficients c[g][j] (mod p) of the Lagrange polynomials L_g(t) = Π_{j≠g} (t − j)/(g − j). */
function lagrange(p: bigint, G: number): bigint[][] {
  const mod = (a: bigint) => ((a % p) + p) % p;
  const pow = (b: bigint, e: bigint) => {
    let r = 1n;
    b = mod(b);
    for (; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
    return r;
  };
  return Array.from({ length: G }, (_, g) => {
    let poly = [1n];
    let den = 1n;
    for (let j = 0; j < G; j++) {
      if (j === g) continue;
      const next = new Array<bigint>(poly.length + 1).fill(0n);
      poly.forEach((c, i) => {
        next[i + 1]! += c;
        next[i]! -= BigInt(j) * c;
      });
      poly = next;
      den *= BigInt(g - j);
    }
    const inv = pow(den, p - 2n);
    return poly.map((c) => mod(c * inv));
  });
}

async function main(): Promise<void> {
  await new Promise<void>((ok) => jiff.wait_for([1, 2, 3], () => ok()));
  const { workload, n, reps, party } = args;
  const seconds: number[] = [];
  let answer: number[] | undefined;

  if (workload === 'mul' || workload === 'lt') {
    // Values below Zp/2 (JIFF's comparison is on [0, Zp/2)): 23 bits in the 24-bit field, 62 in the 64-bit one.
    const bits = big ? 62 : 23;
    const input = async (m: number, seed: number) => {
      const xs = await shareFrom(1, party === 1 ? randomValues(m, bits, seed) : null, m);
      const ys = await shareFrom(2, party === 2 ? randomValues(m, bits, seed + 1) : null, m);
      return [xs, ys] as const;
    };
    const run = async (xs: any[], ys: any[]) => {
      await sync(xs[0]);
      const t0 = performance.now();
      const zs = xs.map((x, i) => (workload === 'mul' ? x.smult(ys[i]) : x.slt(ys[i])));
      await allReady(zs);
      return [(performance.now() - t0) / 1000, zs] as const;
    };
    const [wx, wy] = await input(args.warm, 7);
    await run(wx, wy);
    const [xs, ys] = await input(n, 11);
    let zs: any[] = [];
    for (let r = 0; r < reps; r++) {
      const [t, z] = await run(xs, ys);
      seconds.push(t);
      zs = z;
    }
    answer = (await Promise.all(zs.slice(0, 4).map((z) => jiff.open(z)))).map(toNumber);
  } else {
    if (!big) fail('the statistics need the 64-bit field (sums of squares do not fit in 24 bits)');
    let xv: bigint[] | null = null, kv: bigint[] | null = null;
    if (party === 1) {
      const buf = readFileSync(args.data!);
      const all = new BigInt64Array(new Uint8Array(buf).buffer); // copy: aligned
      if (all.length !== 2 * n) fail(`${args.data}: expected ${2 * n} values, found ${all.length}`);
      xv = Array.from(all.subarray(0, n));
      kv = Array.from(all.subarray(n));
    }
    const xs = await shareFrom(1, xv, n);
    const ks = await shareFrom(1, kv, n);
    const p = BigInt(args.zp!);
    const coeff = lagrange(p, GROUPS).map((row) => row.map(num));
    const sumOf = (v: any[]) => v.reduce((a, b) => a.sadd(b));

    const compute = async (x: any[], k: any[]): Promise<number[]> => {
      if (workload === 'meanvar') {
        const S = sumOf(x);
        const Q = sumOf(x.map((v) => v.smult(v)));
        const [s, q] = (await Promise.all([jiff.open(S), jiff.open(Q)])).map(toNumber);
        const m = x.length;
        const mean = s! / m;
        return [mean, q! / m - mean * mean];
      }
      // One-hot of a 10-value key through Lagrange polynomials over the prime field:
      // sum_g = Σ_j c[g][j]·T_j with T_j = Σ_i key_i^j·x_i (key powers by a depth-4 product tree).
      const P: any[][] = [[], k];
      P[2] = k.map((v) => v.smult(v));
      P[3] = P[2]!.map((v, i) => v.smult(k[i]));
      P[4] = P[2]!.map((v) => v.smult(v));
      P[5] = P[4]!.map((v, i) => v.smult(k[i]));
      P[6] = P[4]!.map((v, i) => v.smult(P[2]![i]));
      P[7] = P[4]!.map((v, i) => v.smult(P[3]![i]));
      P[8] = P[4]!.map((v) => v.smult(v));
      P[9] = P[8]!.map((v, i) => v.smult(k[i]));
      const T = [sumOf(x), ...Array.from({ length: GROUPS - 1 }, (_, j) => sumOf(P[j + 1]!.map((v, i) => v.smult(x[i]))))];
      const sums = coeff.map((row) => row.map((c, j) => T[j].cmult(c)).reduce((a: any, b: any) => a.sadd(b)));
      return (await Promise.all(sums.map((s) => jiff.open(s)))).map(toNumber);
    };
    const run = async (x: any[], k: any[]) => {
      await sync(x[0]);
      const t0 = performance.now();
      const out = await compute(x, k);
      return [(performance.now() - t0) / 1000, out] as const;
    };
    await run(xs.slice(0, args.warm), ks.slice(0, args.warm));
    for (let r = 0; r < reps; r++) {
      const [t, out] = await run(xs, ks);
      seconds.push(t);
      answer = out;
    }
  }
  console.log('RESULT ' + JSON.stringify({ party, workload, n, seconds, answer, field: big ? args.zp : String(jiff.Zp) }));
  jiff.disconnect(true, true, () => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}

main().catch((e) => fail(e instanceof Error ? (e.stack ?? e.message) : String(e)));
