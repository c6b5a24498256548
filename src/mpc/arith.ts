// Arithmetic protocols on replicated shares over Z_2^64, each on whole columns.
// Araki, Furukawa, Lindell, Nof, Ohara, "High-throughput semi-honest secure three-party
// computation with an honest majority", CCS 2016 (§2: sharing, reveal, multiplication);
// ABY3, Mohassel–Rindal CCS 2018 §2.2 (input by one party, public constants).
import { recvSlices, type PartyId } from '../net/channel.js';
import * as R from '../ring/ring64.js';
import type { Col } from '../ring/ring64.js';
import type { Party } from './party.js';
import { AShare } from './share.js';

export { AShare };

/** Sharing of a public column: x_0 = c, x_1 = x_2 = 0. No communication. */
export function fromPublic(p: Party, c: Col): AShare {
  const z = new BigUint64Array(c.length);
  if (p.id === 0) return new AShare(c.slice(), z);
  if (p.id === 2) return new AShare(z, c.slice());
  return new AShare(z, new BigUint64Array(c.length));
}

/**
 * Sharing of a column known to parties j and j+1 (no communication): x_{j+1} = v, others 0.
 * Reveals nothing new: only the two who already know v hold it. Party j+2 passes v = null.
 */
export function fromPair(p: Party, j: PartyId, v: Col | null, n: number): AShare {
  const z = () => new BigUint64Array(n);
  if (p.id === j || p.id === (j + 1) % 3) {
    if (!v || v.length !== n) throw new RangeError(`party ${p.id} must supply the ${n} values it knows`);
    return p.id === j ? new AShare(z(), v) : new AShare(v, z());
  }
  return new AShare(z(), z());
}

/**
 * Party `owner` inputs a column; the others pass null and learn only its length n.
 * Owner sets x_owner from the PRG it shares with its predecessor, x_{owner−1} = 0 and
 * sends x_{owner+1} = v − x_owner to its successor: one message of n elements, one round.
 * With `{ consume: true }`, the owner's v (a temporary of the caller's) becomes x_{owner+1} in place
 * instead of a new column: the owner holds one column fewer.
 */
export async function input(p: Party, owner: PartyId, v: Col | null, n: number, { consume = false }: { consume?: boolean } = {}): Promise<AShare> {
  const zeros = () => new BigUint64Array(n);
  if (p.id === owner) {
    if (!v || v.length !== n) throw new RangeError(`input owner must supply ${n} values`);
    const mine = p.prgPrev.ring(n);
    const theirs = consume ? R.sub(v, mine, v) : R.sub(v, mine);
    p.net.send(p.next, R.bytesOf(theirs));
    return new AShare(mine, theirs);
  }
  if (p.id === (owner + 1) % 3) {
    const got = R.colOf(await p.net.recv(owner));
    if (got.length !== n) throw new Error(`input from party ${owner}: got ${got.length} values, expected ${n}`);
    return new AShare(got, zeros());
  }
  // party owner−1 shares k_{owner−1} with the owner, so it draws x_owner too.
  return new AShare(zeros(), p.prgNext.ring(n));
}

/**
 * Reveals x to every party (to = 'all') or to one party only. Party i sends x_i to i+1, which
 * completes its (x_{i+1}, x_{i+2}) pair. To a single party j only x_{j−1} is sent, by party j−1.
 * Returns the plaintext at receiving parties and null elsewhere.
 */
export async function reveal(p: Party, x: AShare, to: PartyId | 'all' = 'all'): Promise<Col | null> {
  const n = x.length;
  if (to === 'all' || p.next === to) p.net.send(p.next, R.bytesOf(x.a));
  if (to !== 'all' && p.id !== to) return null;
  const missing = await recvWhole(p, p.prev, n, 'reveal');
  return R.add(R.add(x.a, x.b), missing);
}

/** Reveal several columns in one round (one frame per peer). */
export async function revealMany(p: Party, xs: AShare[], to: PartyId | 'all' = 'all'): Promise<(Col | null)[]> {
  const lens = xs.map((x) => x.length);
  const all = await reveal(p, concatShares(xs), to);
  return all ? R.split(all, lens) : xs.map(() => null);
}

export function add(x: AShare, y: AShare): AShare {
  return new AShare(R.add(x.a, y.a), R.add(x.b, y.b));
}
export function sub(x: AShare, y: AShare): AShare {
  return new AShare(R.sub(x.a, y.a), R.sub(x.b, y.b));
}
export function neg(x: AShare): AShare {
  return new AShare(R.neg(x.a), R.neg(x.b));
}
/** x + c for a public constant or column c: c is added to x_0 (held by parties 0 and 2). */
export function addPublic(p: Party, x: AShare, c: bigint | Col): AShare {
  const plus = (col: Col) => (typeof c === 'bigint' ? R.addConst(col, c) : R.add(col, c));
  if (p.id === 0) return new AShare(plus(x.a), x.b.slice());
  if (p.id === 2) return new AShare(x.a.slice(), plus(x.b));
  return new AShare(x.a.slice(), x.b.slice());
}
/** c − x for public c. */
export function subFromPublic(p: Party, c: bigint | Col, x: AShare): AShare {
  return addPublic(p, neg(x), c);
}
/** x · c for a public constant or column c. Local. */
export function mulPublic(x: AShare, c: bigint | Col): AShare {
  if (typeof c === 'bigint') return new AShare(R.mulConst(x.a, c), R.mulConst(x.b, c));
  return new AShare(R.mul(x.a, c), R.mul(x.b, c));
}

/**
 * x · y lane by lane (Araki et al. CCS 2016, §2.2): party i computes
 * z_i = x_i y_i + x_i y_{i+1} + x_{i+1} y_i + α_i with a zero sharing α and sends z_i to i−1.
 * One round; one ring element sent per party per product. Reveals nothing (z_i is masked by α_i).
 *
 * With `into`, the product is written into its two halves (z_i into `into.a`, the successor's
 * z_{i+1} received straight into `into.b`) and `into` is returned: a caller that multiplies round
 * after round reuses one output instead of two fresh columns each time (a fresh column of 32 MiB
 * is mapped and zeroed by the kernel page by page). `into` must not share memory with x or y.
 */
export async function mul(p: Party, x: AShare, y: AShare, into?: AShare): Promise<AShare> {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`mul: lengths differ (${n} vs ${y.length})`);
  if (into) {
    if (into.length !== n) throw new RangeError(`mul: output has ${into.length} lanes, expected ${n}`);
    if (R.sharesMemory(into.a, into.b) || [into.a, into.b].some((o) => [x.a, x.b, y.a, y.b].some((c) => R.sharesMemory(o, c)))) throw new RangeError('mul: the output halves share memory with each other or with an input');
  }
  if (p.cores && n >= p.cores.minLanes) return (await p.cores.mulMany([[x, y]], into ? [into] : undefined))[0]!;
  const r = (len: number) => p.prgNext.raw(len);
  const s = (len: number) => p.prgPrev.raw(len);
  if (n <= STREAM_LANES) {
    const z = R.rssMulZero(x.a, x.b, y.a, y.b, r, s, into?.a);
    p.net.send(p.prev, R.bytesOf(z));
    const got = await recvWhole(p, p.next, n, 'mul');
    if (!into) return new AShare(z, got);
    into.b.set(got);
    return into;
  }
  // A long column is still one round, streamed in slices: each slice is sent as soon as it is
  // computed, so this node's arithmetic, the encryption and the peers' work overlap. The receive is
  // posted first, so the peer's slices are decoded straight into place.
  const got = recvStreamed(p, p.next, n, 'mul', into?.b);
  const z = into?.a ?? R.uninit(n);
  for (let off = 0; off < n; off += STREAM_LANES) {
    const end = Math.min(n, off + STREAM_LANES);
    const zs = z.subarray(off, end);
    R.rssMulZero(x.a.subarray(off, end), x.b.subarray(off, end), y.a.subarray(off, end), y.b.subarray(off, end), r, s, zs);
    p.net.send(p.prev, R.bytesOf(zs));
  }
  const b = await got;
  return into ?? new AShare(z, b);
}

/** Lanes per slice when a round's message is streamed (4 MiB frames). */
export const STREAM_LANES = 1 << 19;

/** Receives a column sent as one frame (a view of the frame, no copy). */
export async function recvWhole(p: Party, from: PartyId, n: number, what: string): Promise<Col> {
  const got = R.colOf(await p.net.recv(from));
  if (got.length !== n) throw new Error(`${what}: party ${from} sent ${got.length} values, expected ${n}`);
  return got;
}

/**
 * Receives a column sent in STREAM_LANES slices, each decoded straight into its place where the
 * channel can (recvSlices), into `out` when given. Call it before computing and sending this
 * round's own slices.
 */
export function recvStreamed(p: Party, from: PartyId, n: number, what: string, out: Col = R.uninit(n)): Promise<Col> {
  const wrong = (got: number, want: number) =>
    got % 8 ? new RangeError(`frame of ${got} bytes is not a whole number of 64-bit lanes`) : new Error(`${what}: party ${from} sent a slice of ${got / 8} values, expected ${want / 8}`);
  return recvSlices(p.net, from, R.bytesOf(out), STREAM_LANES * 8, wrong).then(() => out);
}

/** Σ_k x_k y_k as one shared value: the local sums are re-shared, so it costs one element per party. */
export async function dot(p: Party, x: AShare, y: AShare): Promise<AShare> {
  if (y.length !== x.length) throw new RangeError(`dot: lengths differ (${x.length} vs ${y.length})`);
  const z = new BigUint64Array([BigInt.asUintN(64, R.rssDotLocal(x.a, x.b, y.a, y.b) + p.zeroShare(1)[0]!)]);
  p.net.send(p.prev, R.bytesOf(z));
  return new AShare(z, await recvWhole(p, p.next, 1, 'dot'));
}

/** Σ x as a one-lane share. Local. */
export function sum(x: AShare): AShare {
  return new AShare(new BigUint64Array([R.sum(x.a)]), new BigUint64Array([R.sum(x.b)]));
}

/** Lane-wise concatenation, to batch independent work into one round. */
export function concatShares(xs: AShare[]): AShare {
  return new AShare(R.concat(xs.map((x) => x.a)), R.concat(xs.map((x) => x.b)));
}
/** Inverse of concatShares (views). */
export function splitShare(x: AShare, lengths: number[]): AShare[] {
  const as = R.split(x.a, lengths);
  const bs = R.split(x.b, lengths);
  return as.map((a, k) => new AShare(a, bs[k]!));
}

/**
 * Several independent products in one round: mul on their concatenation, without building it. The
 * local products are written straight into one outgoing column and sent in STREAM_LANES slices as
 * they fill (the inputs are read in place, never copied into a concatenated temporary).
 */
export async function mulMany(p: Party, pairs: [AShare, AShare][]): Promise<AShare[]> {
  const lens = pairs.map(([x, y]) => {
    if (y.length !== x.length) throw new RangeError(`mulMany: lengths differ (${x.length} vs ${y.length})`);
    return x.length;
  });
  const n = lens.reduce((s, l) => s + l, 0);
  if (n === 0) return pairs.map(() => new AShare(new BigUint64Array(0), new BigUint64Array(0)));
  if (p.cores && n >= p.cores.minLanes) return p.cores.mulMany(pairs);
  const r = (len: number) => p.prgNext.raw(len);
  const s = (len: number) => p.prgPrev.raw(len);
  const got = n > STREAM_LANES ? recvStreamed(p, p.next, n, 'mulMany') : null;
  const z = new BigUint64Array(n);
  let at = 0, sent = 0;
  for (const [x, y] of pairs) {
    for (let off = 0; off < x.length; ) {
      // Up to the end of this pair or of the current slice, whichever comes first.
      const end = Math.min(x.length, off + STREAM_LANES - (at % STREAM_LANES));
      R.rssMulZero(x.a.subarray(off, end), x.b.subarray(off, end), y.a.subarray(off, end), y.b.subarray(off, end), r, s, z.subarray(at, at + end - off));
      at += end - off;
      off = end;
      if (at - sent === STREAM_LANES) (p.net.send(p.prev, R.bytesOf(z.subarray(sent, at))), (sent = at));
    }
  }
  if (sent < n) p.net.send(p.prev, R.bytesOf(z.subarray(sent, n)));
  return splitShare(new AShare(z, got ? await got : await recvWhole(p, p.next, n, 'mulMany')), lens);
}

/**
 * A uniformly random shared column nobody knows, with no communication: x_i is drawn from k_{i−1},
 * which parties i−1 and i share (Araki et al. CCS 2016, §2.1).
 */
export function random(p: Party, n: number): AShare {
  const a = p.prgPrev.ring(n);
  const b = p.prgNext.ring(n);
  return new AShare(a, b);
}

/**
 * Several inner products Σ_k x_k y_k in ONE round: the local cross terms of each pair are summed
 * and re-shared with one zero sharing, so it costs one ring element per product and party,
 * whatever the length (Araki et al. CCS 2016 §2.2, as dot). Reveals nothing.
 */
export async function dotMany(p: Party, pairs: [AShare, AShare][]): Promise<AShare> {
  return (await dotManyAndSums(p, pairs, [])).dots;
}

/**
 * dotMany, and Σx of every column in `summed` (local, as sum) taken in the same pass over the
 * columns: a column that is both summed and in a pair is read once (mean and variance: Σx and Σx²
 * from one read of x). Reveals nothing.
 */
export async function dotManyAndSums(p: Party, pairs: [AShare, AShare][], summed: AShare[]): Promise<{ dots: AShare; sums: AShare[] }> {
  const m = pairs.length;
  const z = p.zeroShare(m);
  // Columns shared by several pairs (a Gram matrix) are read once per chunk (R.rssDotMany).
  const index = new Map<AShare['a'], number>();
  const cols: [R.Col, R.Col][] = [];
  const id = (x: AShare) => index.get(x.a) ?? (cols.push([x.a, x.b]), index.set(x.a, cols.length - 1), cols.length - 1);
  const ij = pairs.map(([x, y]): [number, number] => {
    if (x.length !== y.length) throw new RangeError(`dotMany: lengths differ (${x.length} vs ${y.length})`);
    return [id(x), id(y)];
  });
  const summedAt = summed.map(id);
  const sameLength = cols.every(([a]) => a.length === cols[0]![0].length);
  const colSums: [bigint, bigint][] = [];
  const dots = sameLength ? R.rssDotMany(cols, ij, summed.length ? colSums : undefined) : pairs.map(([x, y]) => R.rssDotLocal(x.a, x.b, y.a, y.b));
  const sums = summed.map((x, k) => {
    const s = sameLength ? colSums[summedAt[k]!]! : [R.sum(x.a), R.sum(x.b)];
    return new AShare(new BigUint64Array([s[0]!]), new BigUint64Array([s[1]!]));
  });
  dots.forEach((d, k) => (z[k] = BigInt.asUintN(64, z[k]! + d)));
  p.net.send(p.prev, R.bytesOf(z));
  return { dots: new AShare(z, await recvWhole(p, p.next, m, 'dotMany')), sums };
}
