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
//               person ids, 35 planes), one bit injection (src/mpc/compare.ts, convert.ts)
//   2. key:     match = Σ_i [ref[i] = K]·[keyPerson[i] = p], revealed (one product round, one reveal)
//   3. pad:     k_r = Σ sel_r (local); dummy_r[j] = [j < B_r − k_r] for j < B_r (one comparison)
//   4. shuffle: per register, the table [sel | words] with its B_r dummies (words 0), 3 rounds
//   5. reveal:  the shuffled sel columns (one round); keep the B_r rows marked, their words shared
// The caller packs a register's columns into 64-bit words (packWords: local, linear), word 0
// carrying a 1 in bit 0 for a real row, so whoever combines the output tells real rows from dummies.
import { createHash } from 'node:crypto';
import { add, addPublic, AShare, concatShares, mul, mulPublic, neg, revealMany, splitShare, sum } from './arith.js';
import { eq, lt } from './compare.js';
import { bitInject } from './convert.js';
import type { Party } from './party.js';
import { shuffle } from './shuffle.js';

/** Signed width of a difference of two person ids (< 2^34) or key refs (< 2^34). */
const ID_BITS = 34;

/** One register: this party's shares of its person id column and of its packed words. */
export interface SelectTable {
  person: AShare;
  /** Payload words (each as long as `person`); word 0 must be 1 in bit 0 on every real row. */
  words: AShare[];
  /** Public bound: at most this many rows per person (the register's maxRowsPerPerson, 1 if unique). */
  bound: number;
}

/** The key→person table: pseudonymous key references and the person each belongs to. */
export interface KeyTable {
  ref: AShare;
  person: AShare;
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

/**
 * Packs columns into words: word w = [w = 0] + Σ_{fields in w} (column − offset)·2^shift. Local
 * (public constants only). With offsets at each column's least value and shifts that leave every
 * field its declared width, the words are exact (no carry between fields) and bit 0 of word 0 is 1.
 */
export function packWords(p: Party, columns: AShare[], fields: PackField[], words: number): AShare[] {
  const n = columns[0]?.length ?? 0;
  const out: AShare[] = Array.from({ length: words }, (_, w) => addPublic(p, new AShare(new BigUint64Array(n), new BigUint64Array(n)), w === 0 ? 1n : 0n));
  for (const f of fields) {
    const c = columns[f.column]!;
    out[f.word] = add(out[f.word]!, mulPublic(addPublic(p, c, -f.offset), 1n << BigInt(f.shift)));
  }
  return out;
}

const zeros = (n: number) => new AShare(new BigUint64Array(n), new BigUint64Array(n));

/** The selection and compaction (see the module comment). */
export async function selectRecord(p: Party, o: SelectInput): Promise<SelectOutput> {
  const step = o.progress ?? (() => {});
  if (o.person.length !== 1) throw new RangeError('selectRecord: the person id is one lane');
  // 1. One batched equality: every register row, then the key table's persons and refs.
  const diffs: AShare[] = o.tables.map((t) => add(t.person, broadcast(neg(o.person), t.person.length)));
  if (o.key) {
    const n = o.key.table.person.length;
    if (o.key.table.ref.length !== n) throw new RangeError('selectRecord: key table columns differ in length');
    diffs.push(add(o.key.table.person, broadcast(neg(o.person), n)), addPublic(p, o.key.table.ref, -o.key.ref));
  }
  const lens = diffs.map((d) => d.length);
  const hits = splitShare(await bitInject(p, await eq(p, concatShares(diffs), 0n, { bits: ID_BITS })), lens);
  step('equality');
  // 2. The key check: does the person own the key? One bit, revealed.
  let match: number | null = null;
  if (o.key) {
    const [ownerHit, refHit] = hits.slice(o.tables.length) as [AShare, AShare];
    const [m] = (await revealMany(p, [sum(await mul(p, ownerHit, refHit))])) as [BigUint64Array];
    match = Number(BigInt.asIntN(64, m[0]!));
    step('key check');
    if (match === 0) return { match, rows: [] };
  }
  if (!o.tables.length) return { match, rows: [] };
  // 3. Dummies: for register r, lane j < B_r is selected iff k_r + j − B_r < 0.
  const dummyDiffs = o.tables.map((t, r) => {
    if (!Number.isSafeInteger(t.bound) || t.bound < 1 || t.bound > 1 << 20) throw new RangeError(`selectRecord: bound ${t.bound} out of range`);
    const k = sum(hits[r]!);
    return addPublic(p, broadcast(k, t.bound), BigUint64Array.from({ length: t.bound }, (_, j) => BigInt.asUintN(64, BigInt(j - t.bound))));
  });
  const dummies = splitShare(await bitInject(p, await lt(p, concatShares(dummyDiffs), 0n, { bits: ID_BITS })), o.tables.map((t) => t.bound));
  step('padding');
  // 4. Per register: [sel | words] with its dummies, obliviously shuffled.
  const shuffled: AShare[][] = [];
  for (const [r, t] of o.tables.entries()) {
    const cols = [concatShares([hits[r]!, dummies[r]!]), ...t.words.map((w) => concatShares([w, zeros(t.bound)]))];
    shuffled.push((await shuffle(p, cols)).cols);
    step(`shuffle ${r + 1} of ${o.tables.length}`);
  }
  // 5. Reveal the shuffled selection bits (one round): exactly B_r ones per register.
  const sel = (await revealMany(p, shuffled.map((c) => c[0]!))) as BigUint64Array[];
  const rows = o.tables.map((t, r) => {
    const at: number[] = [];
    sel[r]!.forEach((v, i) => {
      if (v === 1n) at.push(i);
      else if (v !== 0n) throw new Error('selectRecord: a selection bit is not 0 or 1');
    });
    if (at.length !== t.bound) throw new Error(`register ${r + 1} holds more rows for this person than its declared bound of ${t.bound}; refused`);
    return shuffled[r]!.slice(1).map((w) => new AShare(BigUint64Array.from(at, (i) => w.a[i]!), BigUint64Array.from(at, (i) => w.b[i]!)));
  });
  step('reveal');
  return { match, rows };
}

