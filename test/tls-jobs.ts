// Party-local jobs for test/tls.test.ts, run at three node processes over TLS by
// runOnLocalCluster. (Not a test file itself: the worker imports it.)
import { join } from 'node:path';
import * as A from '../src/mpc/arith.js';
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
