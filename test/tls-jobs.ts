// Party-local jobs for test/tls.test.ts, run at three node processes over TLS by
// runOnLocalCluster. (Not a test file itself: the worker imports it.)
import { join } from 'node:path';
import * as A from '../src/mpc/arith.js';
import * as B from '../src/mpc/boolean.js';
import { wordsFor } from '../src/ring/bits.js';
import type { Party } from '../src/mpc/party.js';
import type { JobContext } from '../src/node/worker.js';
import { readShareFile } from '../src/node/shares.js';

const load = (ctx: JobContext, name: string) => readShareFile(join(ctx.nodeDir, 'shares', `${name}.share`));

/** share (custodian files) → reveal, mul, dot, input; results revealed to all, plus z's shares for the requester. */
export async function arith(p: Party, args: { n: number }, ctx: JobContext) {
  const x = load(ctx, 'x');
  const y = load(ctx, 'y');
  if (x.length !== args.n || y.length !== args.n) throw new Error(`expected ${args.n} lanes`);
  ctx.progress('loaded shares');
  const z = await A.mul(p, x, y);
  const d = await A.dot(p, x, y);
  const owned = await A.input(p, 1, p.id === 1 ? x.a.slice(0, 10) : null, 10); // party 1 inputs 10 of its share values
  const [xr, zr, dr] = await A.revealMany(p, [x, z, d]);
  const onlyTo2 = await A.reveal(p, A.add(x, y), 2);
  const ownedAll = await A.reveal(p, owned);
  return { x: xr, z: zr, dot: dr, sumTo2: onlyTo2, owned: ownedAll, zShare: z };
}

/** Rounds of multiplications; party `victim` kills its own process after `after` rounds. */
export async function die(p: Party, args: { victim: number; after: number; rounds: number; n: number }) {
  let x = A.fromPublic(p, new BigUint64Array(args.n).fill(3n));
  for (let r = 0; r < args.rounds; r++) {
    if (r === args.after && p.id === args.victim) process.kill(process.pid, 'SIGKILL');
    x = await A.mul(p, x, x);
  }
  return 'finished';
}

/** Party `who` aborts with `reason` after one round; the others keep multiplying. */
export async function abort(p: Party, args: { who: number; reason: string }) {
  let x = A.fromPublic(p, new BigUint64Array(100).fill(2n));
  x = await A.mul(p, x, x);
  if (p.id === args.who) {
    p.net.abort(args.reason);
    throw new Error(args.reason);
  }
  for (let r = 0; r < 5; r++) x = await A.mul(p, x, x);
  return 'finished';
}

/** Party `who` stops talking for `ms`; the others' recv timeout must fire. */
export async function stall(p: Party, args: { who: number; ms: number }) {
  let x = A.fromPublic(p, new BigUint64Array(10).fill(2n));
  if (p.id === args.who) await new Promise((ok) => setTimeout(ok, args.ms));
  x = await A.mul(p, x, x);
  await A.reveal(p, x);
  return 'finished';
}

/**
 * The boolean, fixed-point, shuffle and sort protocols over TLS: party 0 inputs x and y (decimal
 * strings in args), every result is revealed to all and returned as decimal strings / bit arrays.
 */
export async function protocols(p: Party, args: { x: string[]; y: string[]; f: number }) {
  const { lt, eq, select } = await import('../src/mpc/compare.js');
  const { revealBits } = await import('../src/mpc/boolean.js');
  const { bitDecompose } = await import('../src/mpc/convert.js');
  const { div, mulFixed } = await import('../src/mpc/fixed.js');
  const { shuffle } = await import('../src/mpc/shuffle.js');
  const { sort } = await import('../src/mpc/sort.js');
  const { unpackBits, fromPlanes } = await import('../src/ring/bits.js');
  const n = args.x.length;
  const col = (v: string[]) => BigUint64Array.from(v.map((s) => BigInt.asUintN(64, BigInt(s))));
  const x = await A.input(p, 0, p.id === 0 ? col(args.x) : null, n);
  const y = await A.input(p, 0, p.id === 0 ? col(args.y) : null, n);
  const bits = async (b: Awaited<ReturnType<typeof lt>>) => Array.from(unpackBits((await revealBits(p, b))!, n));
  const ltFull = await bits(await lt(p, x, y));
  const lt32 = await bits(await lt(p, x, y, { bits: 32 }));
  const eqs = await bits(await eq(p, x, y));
  const dec = fromPlanes((await revealBits(p, await bitDecompose(p, x)))!, n, 64);
  const mins = await A.reveal(p, await select(p, await lt(p, x, y), x, y));
  const prod = await A.reveal(p, await mulFixed(p, x, y, args.f));
  const quo = await A.reveal(p, await div(p, x, A.addPublic(p, A.mulPublic(y, 0n), BigInt(3) << BigInt(args.f)), args.f));
  const shuffled = await shuffle(p, [x, y]);
  const [sx, sy] = await A.revealMany(p, shuffled.cols);
  const sorted = await sort(p, y, [x], { keyBits: 32 });
  const [sk, sp] = await A.revealMany(p, [sorted.key, sorted.payloads[0]!]);
  const str = (c: BigUint64Array | null) => Array.from(c!, (v) => BigInt.asIntN(64, v).toString());
  return { ltFull, lt32, eqs, dec: str(dec), mins: str(mins), prod: str(prod), quo: str(quo), sx: str(sx), sy: str(sy), sk: str(sk), sp: str(sp) };
}

/** What a job worker's process got: the allocator settings, and products of streamed columns (fresh, uninitialised outputs). */
export async function columnMemory(p: Party, args: { n: number; seed: number }) {
  const gen = (k: number) => {
    const v = new BigUint64Array(args.n);
    let s = BigInt(args.seed + k);
    for (let i = 0; i < args.n; i++) v[i] = s = BigInt.asUintN(64, s * 6364136223846793005n + 1442695040888963407n);
    return v;
  };
  const [xv, yv] = [gen(1), gen(2)];
  const x = await A.input(p, 0, p.id === 0 ? xv : null, args.n);
  const y = await A.input(p, 1, p.id === 1 ? yv : null, args.n);
  const z1 = await A.reveal(p, await A.mul(p, x, y));
  const z2 = await A.reveal(p, await A.mul(p, y, y)); // a second round reuses the freed memory of the first
  const stats = p.net.stats as { framesInPlace?: number };
  const inPlace = stats.framesInPlace ?? 0;
  // Party 1 starts this product 400 ms late: party 0, which receives from it, has posted its
  // receives long before (all three slices land in place); party 1 posts its own after party 2's
  // slices have arrived (copied into place).
  if (p.id === 1) await new Promise((r) => setTimeout(r, 400));
  const z3 = await A.reveal(p, await A.mul(p, x, x));
  const late = (stats.framesInPlace ?? 0) - inPlace;
  // A streamed AND layer (64 planes of n lanes: several 4 MiB slices), received in place too.
  const bits = 64, W = wordsFor(args.n), words = W * bits;
  const bx = new Uint32Array(words).map((_, w) => Number(xv[w % args.n]! & 0xffffffffn));
  const by = new Uint32Array(words).map((_, w) => Number(yv[(w * 7) % args.n]! >> 32n));
  const tail = args.n % 32 ? (1 << (args.n % 32)) - 1 : -1; // lanes past n in a plane's last word are not compared
  const X = await B.inputBits(p, 0, p.id === 0 ? bx : null, args.n, bits);
  const Y = await B.inputBits(p, 2, p.id === 2 ? by : null, args.n, bits);
  const Z = await B.revealBits(p, await B.and(p, X, Y));
  let wrong = 0;
  for (let i = 0; i < args.n; i++) {
    if (z1![i] !== BigInt.asUintN(64, xv[i]! * yv[i]!)) wrong++;
    if (z2![i] !== BigInt.asUintN(64, yv[i]! * yv[i]!)) wrong++;
    if (z3![i] !== BigInt.asUintN(64, xv[i]! * xv[i]!)) wrong++;
  }
  for (let w = 0; w < words; w++) {
    const m = w % W === W - 1 ? tail : -1;
    if (((Z![w]! ^ bx[w]! & by[w]!) & m) !== 0) wrong++;
  }
  return { party: p.id, mmapMax: process.env.MALLOC_MMAP_MAX_ ?? null, trim: process.env.MALLOC_TRIM_THRESHOLD_ ?? null, tunables: process.env.GLIBC_TUNABLES ?? null, wrong, inPlace, late };
}
