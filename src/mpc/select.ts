// One person's rows out of whole registers, without any node learning whose: oblivious selection
// on a secret-shared person id, and compaction of the selected rows to a public bound per register
// (issue 15: a patient's own record for a doctor; a citizen's own submission checked against the
// key→person table). For a record among 1 M persons and 5 M contacts: one batched equality over
// every row, one bit injection, one shuffle per register, one reveal.
//
// Follows the shuffle-then-reveal filter of Araki et al., "Secure graph analysis at scale" (CCS
// 2021, as src/mpc/shuffle.ts), with the selection padded to a public bound: each register r gets
// B_r dummy rows, of which exactly B_r − k_r are marked selected (k_r = the person's rows there,
// k_r ≤ B_r by the register's declared maxRowsPerPerson), so after the oblivious shuffle exactly
// B_r rows are selected at uniformly random positions whatever k_r is. Reveals: each register's
// size n_r and bound B_r (public), the key check's one bit (does the person id belong to the key),
// and, only if a register breaks its declared bound, that it does (the run then fails).
//
//   1. eq:      [person_r[i] = p] for every row of every register, [ref[i] = K] and
//               [keyPerson[i] = p] for the key→person table: one batched equality (34-bit
//               person ids, 35 planes, boolean results). With the ids' bits kept per version
//               (src/mpc/id-bits.ts): p's bits (one lane), XOR (local), the AND tree; without:
//               the differences split into two terms' bit planes (src/mpc/compare.ts eq)
//   2. key:     match = Σ_i [ref[i] = K] ∧ [keyPerson[i] = p] (one AND round), revealed
//   3. pad:     k_r = Σ sel_r (sumBits: no bit injection of every row, one input and one inner-
//               product round for all registers); dummy_r[j] = [j < B_r − k_r] (one comparison)
//   4. shuffle: per register, its words with its B_r dummies (words 0), 3 rounds; the selection
//               bit travels in bits 0-1 of word 0, as an arithmetic sharing whose lowest bit is the
//               bit (lowBitShare: local), so no column is shuffled for it
//   5. reveal:  the lowest bit of word 0 of every shuffled row (one round, one bit per row); keep
//               the B_r rows marked, their words still shared
// The caller packs a register's columns into 64-bit words (packWords: local, linear), word 0
// carrying a 1 in bit 2 for a real row, so whoever combines the output tells real rows from dummies
// (bits 0-1 of a kept row's word 0 hold the nodes' random shares of its selection bit: ignore them).
import { createHash } from 'node:crypto';
import { add, addPublic, AShare, concatShares, dotMany, fromPair, input, mulPublic, revealMany, splitShare, sub, sum } from './arith.js';
import * as R from '../ring/ring64.js';
import { and, andAllPlanes, BShare, not, xor } from './boolean.js';
import { lt } from './compare.js';
import { twoTermBits } from './convert.js';
import { planeToCol, wordsFor } from '../ring/bits.js';
import type { Party } from './party.js';
import { shuffle } from './shuffle.js';
import { eqPlanes, ID_BITS, padded, placeLanes, targetBits } from './id-bits.js';

/** One register: this party's shares of its person id column and of its packed words. */
export interface SelectTable {
  person: AShare;
  /** The person ids' bits (src/mpc/id-bits.ts idBits), if this node keeps them: the equality is then XOR and the AND tree. */
  bits?: BShare;
  /** Payload words (each as long as `person`); word 0 must be 0 in bits 0-1 and 1 in bit 2 on every real row (packWords). */
  words: AShare[];
  /** Public bound: at most this many rows per person (the register's maxRowsPerPerson, 1 if unique). */
  bound: number;
}

/** The key→person table: pseudonymous key references and the person each belongs to. */
export interface KeyTable {
  ref: AShare;
  person: AShare;
  /** Both columns' bits (idBits), if kept (each segment of the equality uses its bits when it has them). */
  bits?: { ref: BShare; person: BShare };
}

export interface SelectInput {
  /** The person id, one lane (shared by the requester, never known to a node). */
  person: AShare;
  /** Check first that `person` owns the key with reference `ref` (public) in `table`. */
  key?: { table: KeyTable; ref: bigint };
  tables: SelectTable[];
  /** Called after each step (phase name, and the share of the work done so far). */
  progress?: (phase: string) => void;
}

export interface SelectOutput {
  /** The key check's revealed count of matching rows (1: the person owns the key; 0: not); null without a key. */
  match: number | null;
  /** Per table, its words at the B rows kept (B lanes each); empty when the key check failed. */
  rows: AShare[][];
}

/** A one-lane share repeated over n lanes (local: every lane holds the same share pair). */
export function broadcast(x: AShare, n: number): AShare {
  if (x.length !== 1) throw new RangeError(`broadcast: one lane expected, got ${x.length}`);
  return new AShare(new BigUint64Array(n).fill(x.a[0]!), new BigUint64Array(n).fill(x.b[0]!));
}

/**
 * Checks that a value shared by an outsider (a doctor's person id, a citizen's answers) is a
 * consistent replicated sharing: party i's second half x_{i+1} must be party i+1's first half.
 * Party i sends a hash of its second half to i+1, which already holds that half: nothing new is
 * learnt. One round. Throws at the party that finds a mismatch (its peers then fail with it).
 */
export async function checkConsistent(p: Party, x: AShare, what: string): Promise<void> {
  const h = (c: BigUint64Array) => createHash('sha256').update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)).digest();
  p.net.send(p.next, h(x.b));
  const got = Buffer.from(await p.net.recv(p.prev));
  if (!got.equals(h(x.a))) throw new Error(`${what}: the shares sent to the nodes do not fit together (party ${p.prev}'s copy of this node's first share differs); refused`);
}

/** How one column goes into a word: word += (value − offset) · 2^shift. */
export interface PackField {
  column: number;
  word: number;
  shift: number;
  offset: bigint;
}

/** Bits of word 0 the selection travels in (bits 0-1), and the real-row flag (bit 2): payload fields start at bit 3. */
export const WORD0_RESERVED = 3;

/**
 * Packs columns into words: word w = [w = 0]·4 + Σ_{fields in w} (column − offset)·2^shift. Local
 * (public constants only). With offsets at each column's least value and shifts that leave every
 * field its declared width (word 0's from bit WORD0_RESERVED), the words are exact (no carry
 * between fields), bits 0-1 of word 0 are free for the selection and bit 2 is 1 (a real row).
 */
export function packWords(p: Party, columns: AShare[], fields: PackField[], words: number): AShare[] {
  const n = columns[0]?.length ?? 0;
  const out: AShare[] = Array.from({ length: words }, (_, w) => addPublic(p, new AShare(new BigUint64Array(n), new BigUint64Array(n)), w === 0 ? 4n : 0n));
  for (const f of fields) {
    const c = columns[f.column]!;
    out[f.word] = add(out[f.word]!, mulPublic(addPublic(p, c, -f.offset), 1n << BigInt(f.shift)));
  }
  return out;
}

/** Segment k of a one-plane result whose segments start on words (see `padded`). */
function segment(b: BShare, starts: number[], lens: number[], k: number): BShare {
  const w0 = starts[k]! >>> 5, w1 = w0 + wordsFor(lens[k]!);
  return new BShare(lens[k]!, 1, b.a.subarray(w0, w1), b.b.subarray(w0, w1));
}

/**
 * A one-plane boolean sharing b = s_0 ⊕ s_1 ⊕ s_2 read as the arithmetic sharing x = s_0 + s_1 + s_2
 * (local: each party's pair of bits as integers). x is not b, but its lowest bit is: what the
 * shuffle moves and revealLowBits opens. No communication.
 */
export function lowBitShare(b: BShare): AShare {
  return new AShare(planeToCol(b.a, b.n), planeToCol(b.b, b.n));
}

/**
 * dst[i] = src[i] + bit i of plane (mod 2^64), for i < src.length: lowBitShare of a one-plane
 * sharing added into a column, without making the column of bits. Local.
 */
function addBitsInto(src: BigUint64Array, plane: Uint32Array, dst: BigUint64Array): void {
  const s = new Uint32Array(src.buffer, src.byteOffset, 2 * src.length);
  const d = new Uint32Array(dst.buffer, dst.byteOffset, 2 * src.length);
  for (let i = 0; i < src.length; i++) {
    const lo = s[2 * i]!, sum = (lo + ((plane[i >>> 5]! >>> (i & 31)) & 1)) >>> 0;
    d[2 * i] = sum;
    d[2 * i + 1] = s[2 * i + 1]! + (sum < lo ? 1 : 0);
  }
}

/**
 * Opens only the lowest bit of every lane of xs (one after the other): each party sends the lowest
 * bits of its first halves to the next (one bit per lane, one round). For x from lowBitShare
 * (after any arithmetic re-sharing, e.g. a shuffle) this reveals exactly the boolean value b and
 * nothing of the rest of x. Reads the columns in place (no concatenated copy).
 */
export async function revealLowBits(p: Party, xs: AShare[]): Promise<Uint8Array> {
  const n = xs.reduce((t, x) => t + x.length, 0);
  const bits = (half: (x: AShare) => BigUint64Array) => {
    const out = new Uint32Array(wordsFor(n));
    let k = 0;
    for (const x of xs) {
      const c = half(x);
      const v = new Uint32Array(c.buffer, c.byteOffset, 2 * c.length);
      for (let i = 0; i < c.length; i++, k++) out[k >>> 5]! |= (v[2 * i]! & 1) << (k & 31);
    }
    return out;
  };
  const mine = bits((x) => x.a);
  p.net.send(p.next, new Uint8Array(mine.buffer));
  const got = new Uint32Array((await p.net.recv(p.prev)).slice().buffer);
  if (got.length !== mine.length) throw new Error(`revealLowBits: party ${p.prev} sent ${got.length} words, expected ${mine.length}`);
  const second = bits((x) => x.b);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((mine[i >>> 5]! ^ second[i >>> 5]! ^ got[i >>> 5]!) >>> (i & 31)) & 1;
  return out;
}

/**
 * Σ b over each segment of a one-plane sharing, as arithmetic shares (one lane per segment), without
 * injecting every bit: with e = s_0 ⊕ s_1 (party 0 knows it) and s_2 (parties 1 and 2),
 * Σ b = Σ e + Σ s_2 − 2·Σ e·s_2: party 0 inputs e (one round), s_2 is shared by the pair that holds
 * it, and the Σ e·s_2 of every segment are inner products re-shared in one round (src/mpc/arith.ts
 * dotMany). Reveals nothing.
 */
export async function sumBits(p: Party, segs: BShare[]): Promise<AShare[]> {
  const lens = segs.map((b) => b.n);
  const n = lens.reduce((a, b) => a + b, 0);
  const col = (f: (b: BShare) => Uint32Array) => {
    const out = new BigUint64Array(n);
    let off = 0;
    for (const b of segs) {
      planeToCol(f(b), b.n, out.subarray(off, off + b.n));
      off += b.n;
    }
    return out;
  };
  const e = p.id === 0 ? col((b) => b.a.map((w, i) => w ^ b.b[i]!)) : null;
  const s2 = p.id === 1 ? col((b) => b.b) : p.id === 2 ? col((b) => b.a) : null;
  const E = splitShare(await input(p, 0, e, n, { consume: true }), lens);
  const S = splitShare(fromPair(p, 1, s2, n), lens);
  const dots = splitShare(await dotMany(p, E.map((x, k): [AShare, AShare] => [x, S[k]!])), lens.map(() => 1));
  return dots.map((d, k) => sub(add(sum(E[k]!), sum(S[k]!)), mulPublic(d, 2n)));
}

/**
 * Step 1: [person = p] for every row of every table, then [keyPerson = p] and [ref = K]: one plane,
 * segments at `starts`. A segment with its id bits kept (src/mpc/id-bits.ts) gives its 35 planes by
 * a local XOR with the target's bits; one without, by splitting its differences into two terms'
 * bit planes (diffPlanes); one AND tree over all of them.
 */
async function equalities(p: Party, o: SelectInput): Promise<{ all: BShare; starts: number[]; lens: number[] }> {
  if (o.key && o.key.table.ref.length !== o.key.table.person.length) throw new RangeError('selectRecord: key table columns differ in length');
  const kb = o.key?.table.bits;
  const minusPerson: [bigint, bigint] = [-o.person.a[0]!, -o.person.b[0]!];
  const segs: Seg[] = [
    ...o.tables.map((t) => ({ x: t.person, bits: t.bits, minus: minusPerson })),
    ...(o.key ? [{ x: o.key.table.person, bits: kb?.person, minus: minusPerson }, { x: o.key.table.ref, bits: kb?.ref, minus: pub(p, -o.key.ref), ref: o.key.ref }] : []),
  ];
  const lens = segs.map((g) => g.x.length);
  const starts = lens.map((_, k) => lens.slice(0, k).reduce((a, l) => a + padded(l), 0));
  const total = lens.reduce((a, l) => a + padded(l), 0);
  const kept = segs.flatMap((g, k) => (g.bits ? [k] : []));
  const plain = segs.flatMap((g, k) => (g.bits ? [] : [k]));
  const t = kept.some((k) => segs[k]!.ref === undefined) ? await targetBits(p, o.person) : null;
  const planes = eqPlanes(p, kept.map((k) => ({ bits: segs[k]!.bits!, target: segs[k]!.ref ?? t! })), kept.map((k) => starts[k]!), total);
  if (plain.length) {
    const d = await diffPlanes(p, plain.map((k) => segs[k]!));
    plain.forEach((k, i) => placeLanes(planes, starts[k]!, d.planes, d.starts[i]!, lens[k]!));
  }
  return { all: await andAllPlanes(p, planes), starts, lens };
}

/** One segment of the equality: its column, its id bits if kept, what to add for x − p (or ref − K), and K for a ref. */
interface Seg {
  x: AShare;
  bits?: BShare | undefined;
  minus: [bigint, bigint];
  ref?: bigint;
}

/** This party's halves of a public constant (in x_0, held by parties 0 and 2). */
const pub = (p: Party, c: bigint): [bigint, bigint] => [p.id === 0 ? c : 0n, p.id === 2 ? c : 0n];

/**
 * The ID_BITS + 1 planes whose AND is [d = 0] for the differences d = x + minus of each segment
 * (segments padded to whole words): d written straight into one buffer (a pad lane is the public
 * 1), then as src/mpc/compare.ts eq: all bits of a ⊕ (−b) zero for the two terms of d (one round).
 */
async function diffPlanes(p: Party, segs: Seg[]): Promise<{ planes: BShare; starts: number[] }> {
  const starts = segs.map((_, k) => segs.slice(0, k).reduce((a, g) => a + padded(g.x.length), 0));
  const total = segs.reduce((a, g) => a + padded(g.x.length), 0);
  const d = new AShare(new BigUint64Array(total), new BigUint64Array(total));
  const [one0, one1] = pub(p, 1n);
  segs.forEach(({ x, minus: [c0, c1] }, k) => {
    const s = starts[k]!, e = s + x.length;
    R.addConst(x.a, c0, d.a.subarray(s, e));
    R.addConst(x.b, c1, d.b.subarray(s, e));
    d.a.fill(one0, e, s + padded(x.length));
    d.b.fill(one1, e, s + padded(x.length));
  });
  const [A, NB] = await twoTermBits(p, d, ID_BITS + 1, true);
  return { planes: not(p, xor(A, NB)), starts };
}

/** The selection and compaction (see the module comment). */
export async function selectRecord(p: Party, o: SelectInput): Promise<SelectOutput> {
  const step = o.progress ?? (() => {});
  if (o.person.length !== 1) throw new RangeError('selectRecord: the person id is one lane');
  const { all, starts, lens } = await equalities(p, o);
  const hits = lens.map((_, k) => segment(all, starts, lens, k));
  step('equality');
  // 2. The key check: does the person own the key? The count of rows matching both, revealed.
  let match: number | null = null;
  const [regHits, [ownerHit, refHit]] = [hits.slice(0, o.tables.length), hits.slice(o.tables.length)];
  const both = ownerHit && refHit ? await and(p, ownerHit, refHit) : null;
  const counts = await sumBits(p, [...regHits, ...(both ? [both] : [])]);
  if (both) {
    const [m] = (await revealMany(p, [counts.pop()!])) as [BigUint64Array];
    match = Number(BigInt.asIntN(64, m[0]!));
    step('key check');
    if (match === 0) return { match, rows: [] };
  }
  if (!o.tables.length) return { match, rows: [] };
  // 3. Dummies: for register r, lane j < B_r is selected iff k_r + j − B_r < 0.
  const dummyDiffs = o.tables.map((t, r) => {
    if (!Number.isSafeInteger(t.bound) || t.bound < 1 || t.bound > 1 << 20) throw new RangeError(`selectRecord: bound ${t.bound} out of range`);
    return addPublic(p, broadcast(counts[r]!, t.bound), BigUint64Array.from({ length: t.bound }, (_, j) => BigInt.asUintN(64, BigInt(j - t.bound))));
  });
  const dummies = splitShare(lowBitShare(await lt(p, concatShares(dummyDiffs), 0n, { bits: ID_BITS })), o.tables.map((t) => t.bound));
  step('padding');
  // 4. Per register: its words with its dummies (words 0), the selection added into bits 0-1 of
  //    word 0 (as an arithmetic sharing whose lowest bit is the selection bit), obliviously shuffled.
  const shuffled: AShare[][] = [];
  for (const [r, t] of o.tables.entries()) {
    const n = t.person.length;
    const cols = t.words.map((w, k) => {
      const out = new AShare(new BigUint64Array(n + t.bound), new BigUint64Array(n + t.bound));
      if (k > 0) return (out.a.set(w.a), out.b.set(w.b), out);
      addBitsInto(w.a, regHits[r]!.a, out.a);
      addBitsInto(w.b, regHits[r]!.b, out.b);
      out.a.set(dummies[r]!.a, n);
      out.b.set(dummies[r]!.b, n);
      return out;
    });
    shuffled.push((await shuffle(p, cols)).cols);
    step(`shuffle ${r + 1} of ${o.tables.length}`);
  }
  // 5. Open the lowest bit of word 0 of every shuffled row (one round, one bit per row): exactly B_r ones per register.
  const sel = await revealLowBits(p, shuffled.map((c) => c[0]!));
  let off = 0;
  const rows = o.tables.map((t, r) => {
    const at: number[] = [];
    const n = shuffled[r]![0]!.length;
    for (let i = 0; i < n; i++) if (sel[off + i]) at.push(i);
    off += n;
    if (at.length !== t.bound) throw new Error(`register ${r + 1} holds more rows for this person than its declared bound of ${t.bound}; refused`);
    return shuffled[r]!.map((w) => new AShare(BigUint64Array.from(at, (i) => w.a[i]!), BigUint64Array.from(at, (i) => w.b[i]!)));
  });
  step('reveal');
  return { match, rows };
}
