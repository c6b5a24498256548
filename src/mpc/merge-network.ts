// Batcher's bitonic merger on bit-sliced boolean shares (K. E. Batcher, "Sorting networks and their
// applications", AFIPS SJCC 1968, §2): the network that merge.ts sorts runs with and semi-merge.ts
// makes EXISTS flags with. Two ascending runs, the first as is and the second reversed above it, pad
// words (+∞) between, are merged by log2 N layers of compare-exchanges; a compare-exchange with a pad
// has a public outcome, so only pairs of real rows are compared (the carry out of x + ¬y over the
// compared planes, convert.ts carryInto) and swapped (one AND per plane). Planes above the compared
// ones ride along uncompared (one AND per plane and pair, no comparison).
//
// A network can be recorded: per layer its pairs, the pad words moved and the shared swap bits.
// Batcher's network is data-oblivious, so planes can be taken through it again, forward or back,
// at one AND per pair and plane (applyNetwork): e.g. a bit computed in merged order returns to its
// row's place in the runs.
// Reveals nothing: the layers, pairs and pad moves depend only on the runs' lengths; the swap bits
// stay shared.
import { andOuter, BShare, not, xor } from './boolean.js';
import { carryInto } from './convert.js';
import type { Party } from './party.js';
import { MoveArena } from '../ring/moves.js';

/**
 * A run in bit-sliced boolean shares: the merge's planes of `words` words each (32 lanes a word),
 * plane-major, this party's two halves; its first `rows` lanes are rows in ascending order, the
 * lanes after them (up to the word's end) pads that compare as +∞.
 */
export interface Run {
  a: Uint32Array;
  b: Uint32Array;
  words: number;
  rows: number;
}

/** Words [from, from + count) of each of P planes of `stride` words (plane-major), as P planes of `count` words. */
export function planeWords(h: Uint32Array, P: number, stride: number, from: number, count: number): Uint32Array {
  const out = new Uint32Array(P * count);
  for (let k = 0; k < P; k++) out.set(h.subarray(k * stride + from, k * stride + from + count), k * count);
  return out;
}

/** Bit-reversal of a 32-bit word (lane order within the word reversed). */
function rev32(w: number): number {
  w = ((w >>> 1) & 0x55555555) | ((w & 0x55555555) << 1);
  w = ((w >>> 2) & 0x33333333) | ((w & 0x33333333) << 2);
  w = ((w >>> 4) & 0x0f0f0f0f) | ((w & 0x0f0f0f0f) << 4);
  w = ((w >>> 8) & 0x00ff00ff) | ((w & 0x00ff00ff) << 8);
  return ((w >>> 16) | (w << 16)) >>> 0;
}

const NO_MOVES = new Uint32Array(0);

/** Lanes with bit d of their position clear, within a word (the lower end of a pair at distance d < 32). */
const LOWER = new Uint32Array(33);
[LOWER[1], LOWER[2], LOWER[4], LOWER[8], LOWER[16], LOWER[32]] = [0x55555555, 0x33333333, 0x0f0f0f0f, 0x00ff00ff, 0x0000ffff, 0xffffffff];

/** Lanes with bit d of their position set, within a word (the upper end of a pair at distance d < 32). */
const UPPER = LOWER.map((m) => ~m >>> 0);

/**
 * A merge's arrays: the planes, a layer's gathered pairs, its Δ and its ranges. In a MoveArena
 * (`arena`) when one can hold them, else ordinary typed arrays (see networkOf).
 */
interface Network {
  arena: MoveArena | null;
  /** The network's planes, this party's two halves: P planes of WN words each. */
  A: Uint32Array;
  B: Uint32Array;
  /** Per half: a layer's lower and upper words of its pairs (gathered). */
  X: [Uint32Array, Uint32Array];
  Y: [Uint32Array, Uint32Array];
  /** Per half: Δ, in the arena only (elsewhere the AND's own result is used). */
  D: [Uint32Array, Uint32Array] | null;
  /** A layer's pairs of real words as ranges of lower words (start, length). */
  rStart: Uint32Array;
  rLen: Uint32Array;
  /** A layer's public moves of a real word onto a pad word (pairs: to, from). */
  moves: Uint32Array;
}

/** Bytes of a merge's arena: P planes of WN words in two halves, then six arrays of `most` words, then three of WN. */
const networkBytes = (P: number, WN: number, most: number): number => 4 * (2 * P * WN + 6 * most + 3 * WN) + 8 * 12;

/**
 * The network's arrays: in a MoveArena, whose moves run in WebAssembly, when one can hold them
 * (below 4 GiB: ≈ 130 M rows of 34-bit keys at least) and they are within `arenaBytes`; else typed arrays
 * with the moves in JavaScript (the same moves; tests take this path with a small `arenaBytes`).
 */
function networkOf(P: number, WN: number, words: number, arenaBytes: number): Network {
  // A layer compares at most half the real words' lanes (each real word is in at most one pair;
  // below 32 lanes two words' lower lanes make one gathered word).
  const most = P * Math.ceil(words / 2);
  const bytes = networkBytes(P, WN, most);
  const arena = bytes <= arenaBytes ? MoveArena.take(bytes) : null;
  const u32 = arena ? (n: number) => arena.u32(n) : (n: number) => new Uint32Array(n);
  return {
    arena,
    A: u32(P * WN),
    B: u32(P * WN),
    X: [u32(most), u32(most)],
    Y: [u32(most), u32(most)],
    D: arena ? [u32(most), u32(most)] : null,
    rStart: u32(WN),
    rLen: u32(WN),
    moves: u32(WN),
  };
}

/**
 * Merges the two shortest of `pending` by the bitonic merger (see the module comment): `lo` first,
 * `hi` reversed at the top, pad words between; rows compare by their planes 0..P−1 as unsigned
 * numbers, and `o.carried` planes above those move with them uncompared. `step` reports each layer
 * done; `o.record` gets the layers (for applyNetwork). Not an async function: the two runs are copied
 * into the network's planes here and not held while it runs (V8 keeps an async function's arguments).
 */
export function mergeTwo(p: Party, pending: Run[], P: number, arenaBytes: number, step: () => void, o: { carried?: number; record?: (r: NetworkRecord) => void } = {}): Promise<Run> {
  pending.sort((a, b) => a.rows - b.rows);
  const [lo, hi] = pending.splice(0, 2) as [Run, Run];
  if (lo.rows === 0) return Promise.resolve(hi);
  if (hi.rows === 0) return Promise.resolve(lo);
  const mw = lo.words, nw = hi.words, words = mw + nw;
  const T = P + (o.carried ?? 0);
  let WN = 1;
  while (WN < words) WN *= 2;
  const net = networkOf(T, WN, words, arenaBytes);
  const real = new Uint8Array(WN);
  real.fill(1, 0, mw);
  real.fill(1, WN - nw);
  // The pad words between the runs are left as they are (an arena from the pool is not cleared):
  // no layer reads a pad word, and left untouched their pages are never faulted in.
  placeRuns(net.A, T, WN, lo.a, mw, hi.a, nw);
  placeRuns(net.B, T, WN, lo.b, mw, hi.b, nw);
  // An arena goes back to the pool only after a merge that finished: after a failure a send may
  // still hold a reference into it, so it is dropped instead.
  const layers: LayerRecord[] | null = o.record ? [] : null;
  return bitonicMerge(p, net, real, WN, words, lo.rows + hi.rows, T, P, step, layers).then((run) => {
    net.arena?.release();
    o.record?.({ WN, lo: { words: mw, rows: lo.rows }, hi: { words: nw, rows: hi.rows }, words, layers: layers! });
    return run;
  });
}

/** A layer's moves on the network's planes: pad moves, gathering its pairs, scattering them back with Δ. */
interface Moves {
  pads(h: Uint32Array, count: number): void;
  gather(h: 0 | 1, D: number, d: number, ranges: number, G: number): void;
  scatter(h: 0 | 1, D: number, d: number, ranges: number, G: number, dh: Uint32Array): void;
}

/** The moves in WebAssembly (moves.wasm) on a network in a MoveArena. */
function wasmMoves(net: Network, arena: MoveArena, P: number, WN: number): Moves {
  const k = arena.k, at = (a: Uint32Array) => arena.at(a);
  const planes = [net.A, net.B] as const;
  const rs = at(net.rStart), rl = at(net.rLen);
  return {
    pads: (h, count) => k.padmoves(at(h), WN, P, at(net.moves), count),
    gather: (h, D, d, ranges, G) => {
      const src = at(planes[h]), xs = at(net.X[h]), ys = at(net.Y[h]);
      if (D > 0) k.wgather(src, WN, P, rs, rl, ranges, D, xs, ys, G);
      else k.bgather(src, WN, P, rs, rl, ranges, d, LOWER[d]! | 0, xs, ys, G);
    },
    scatter: (h, D, d, ranges, G, dh) => {
      const dst = at(planes[h]);
      if (D > 0) k.wscatter(dst, WN, P, rs, rl, ranges, D, at(net.X[h]), at(net.Y[h]), at(dh), G);
      else k.bscatter(dst, WN, P, rs, rl, ranges, d, LOWER[d]! | 0, at(dh), G);
    },
  };
}

/** The same moves in JavaScript, for networks no arena can hold. */
function jsMoves(net: Network, P: number, WN: number): Moves {
  const { rStart, rLen, moves } = net;
  const planes = [net.A, net.B] as const;
  return {
    pads: (h, count) => {
      for (let k = 0; k < P; k++) for (let c = 0; c < count; c++) h[k * WN + moves[2 * c]!] = h[k * WN + moves[2 * c + 1]!]!;
    },
    gather: (h, D, d, ranges, G) => {
      const src = planes[h], xs = net.X[h], ys = net.Y[h];
      const lo = LOWER[d]!, up = UPPER[d]!;
      for (let k = 0; k < P; k++) {
        const base = k * WN;
        if (D > 0) {
          for (let g = 0, q = k * G; g < ranges; q += rLen[g++]!) {
            const s0 = base + rStart[g]!, len = rLen[g]!;
            if (len >= 64) {
              xs.set(src.subarray(s0, s0 + len), q);
              ys.set(src.subarray(s0 + D, s0 + D + len), q);
            } else {
              for (let t = 0; t < len; t++) {
                xs[q + t] = src[s0 + t]!;
                ys[q + t] = src[s0 + D + t]!;
              }
            }
          }
          continue;
        }
        let q = 2 * k * G; // real words gathered so far (two per gathered word)
        for (let g = 0; g < ranges; g++) {
          const e = base + rStart[g]! + rLen[g]!;
          for (let i = base + rStart[g]!; i < e; i++, q++) {
            const w = src[i]!, o = q >>> 1;
            if (!(q & 1)) {
              xs[o] = w & lo;
              ys[o] = (w >>> d) & lo;
            } else {
              xs[o]! |= (w & lo) << d;
              ys[o]! |= w & up;
            }
          }
        }
      }
    },
    scatter: (h, D, d, ranges, G, dh) => {
      const dst = planes[h], xh = net.X[h], yh = net.Y[h];
      const lo = LOWER[d]!;
      for (let k = 0; k < P; k++) {
        const base = k * WN;
        let q = D > 0 ? k * G : 2 * k * G;
        for (let g = 0; g < ranges; g++) {
          const e = base + rStart[g]! + rLen[g]!;
          if (D > 0) {
            for (let i = base + rStart[g]!; i < e; i++, q++) {
              const dq = dh[q]!;
              dst[i] = xh[q]! ^ dq;
              dst[i + D] = yh[q]! ^ dq;
            }
            continue;
          }
          for (let i = base + rStart[g]!; i < e; i++, q++) {
            // The pair at lanes (j, j + d) of this word: its Δ at lane j (first word) or j + d (second).
            const m = (q & 1 ? dh[q >>> 1]! >>> d : dh[q >>> 1]!) & lo;
            dst[i] = dst[i]! ^ m ^ (m << d);
          }
        }
      }
    },
  };
}

/** A layer's pairs as bitonicMerge finds them and applyNetwork replays them. */
type LayerPairs = Pick<LayerRecord, 'D' | 'd' | 'ranges' | 'G'>;

/** The layer's pairs (its ranges in net.rStart / net.rLen) gathered: the lower and the upper words, T planes of G words each. */
function gathered(net: Network, mv: Moves, T: number, { D, d, ranges, G }: LayerPairs): [BShare, BShare] {
  mv.gather(0, D, d, ranges, G);
  mv.gather(1, D, d, ranges, G);
  const part = (c: [Uint32Array, Uint32Array]) => new BShare(32 * G, T, c[0].subarray(0, T * G), c[1].subarray(0, T * G));
  return [part(net.X), part(net.Y)];
}

/**
 * Swaps the gathered pairs where b is 1, in every plane, and scatters them back: Δ = b·(x ⊕ y),
 * lower = x ⊕ Δ, upper = y ⊕ Δ (one AND round). A swap undoes itself, as x ⊕ y is the same after
 * it. In an arena the peer's half of Δ is received into it and this party's own (sent, so not
 * reused) is copied there.
 */
async function swapPairs(p: Party, net: Network, mv: Moves, T: number, L: LayerPairs, b: BShare, xs: BShare, ys: BShare): Promise<void> {
  const { D, d, ranges, G } = L;
  const delta = await andOuter(p, b, xor(xs, ys), net.D?.[1].subarray(0, T * G));
  if (net.D) net.D[0].set(delta.a);
  const dh = net.D ?? [delta.a, delta.b];
  mv.scatter(0, D, d, ranges, G, dh[0]);
  mv.scatter(1, D, d, ranges, G, dh[1]);
}

/**
 * Writes T planes of two runs (T planes of `mw` and of `nw` words, plane-major; null: left as they
 * are) into `dst` (T planes of WN words) as the merge places them: `lo` from word 0 up, `hi`
 * reversed (words and lanes) from word WN − 1 down. The words between are not touched.
 */
function placeRuns(dst: Uint32Array, T: number, WN: number, lo: Uint32Array | null, mw: number, hi: Uint32Array | null, nw: number): void {
  for (let k = 0; k < T; k++) {
    if (lo) dst.set(lo.subarray(k * mw, (k + 1) * mw), k * WN);
    if (hi) for (let w = 0; w < nw; w++) dst[k * WN + WN - 1 - w] = rev32(hi[k * nw + w]!);
  }
}

/**
 * One layer's pairs at distance D words (0: lanes inside words): the lower words of the pairs of
 * real words as ranges (rStart, rLen), and, for D > 0, each pad word at i below a real word at
 * i + D swapped with it in `real` and listed in `moves` (a pad is +∞ in every lane: the real word
 * moves down, publicly). Returns [ranges, words per gathered plane, moves]. A function of its own,
 * so that TurboFan compiles this loop and not the whole of bitonicMerge around it.
 */
function layerPairs(real: Uint8Array, WN: number, D: number, rStart: Uint32Array, rLen: Uint32Array, moves: Uint32Array): [ranges: number, R: number, moved: number] {
  let ranges = 0, R = 0, moved = 0;
  if (D > 0) {
    for (let blk = 0; blk < WN; blk += 2 * D) {
      let open = false;
      for (let i = blk; i < blk + D; i++) {
        const j = i + D;
        if (real[i] && real[j]) {
          if (open) rLen[ranges - 1]!++;
          else {
            rStart[ranges] = i;
            rLen[ranges++] = 1;
            open = true;
          }
          R++;
          continue;
        }
        open = false;
        if (!real[j]) continue;
        real[i] = 1;
        real[j] = 0;
        moves[2 * moved] = i;
        moves[2 * moved++ + 1] = j;
      }
    }
  } else {
    // Pairs inside words: every real word, its lanes with bit d clear against those with it set.
    for (let i = 0; i < WN; i++) {
      if (!real[i]) continue;
      if (ranges > 0 && rStart[ranges - 1]! + rLen[ranges - 1]! === i) rLen[ranges - 1]!++;
      else {
        rStart[ranges] = i;
        rLen[ranges++] = 1;
      }
      R++;
    }
  }
  return [ranges, R, moved];
}

/**
 * The bitonic merger's layers over the network's T planes (WN words each, `words` of them real:
 * `real`), comparing planes 0..P−1; each layer's pairs, pad moves and swaps pushed to `layers`.
 */
async function bitonicMerge(p: Party, net: Network, real: Uint8Array, WN: number, words: number, rows: number, T: number, P: number, step: () => void, layers: LayerRecord[] | null): Promise<Run> {
  const { rStart, rLen, moves } = net;
  const mv = net.arena ? wasmMoves(net, net.arena, T, WN) : jsMoves(net, T, WN);
  for (let d = (32 * WN) >>> 1; d >= 1; d >>>= 1) {
    const D = d >>> 5; // distance in words (0 below 32 lanes)
    let padMoves = NO_MOVES;
    const [ranges, R, moved] = layerPairs(real, WN, D, rStart, rLen, moves); // R: words per gathered plane
    if (moved) (mv.pads(net.A, moved), mv.pads(net.B, moved));
    if (layers && D > 0) padMoves = moves.slice(0, 2 * moved);
    if (R === 0) {
      if (layers && padMoves.length) layers.push({ D, d, ranges: 0, rStart: new Uint32Array(0), rLen: new Uint32Array(0), G: 0, padMoves, swap: null });
      continue;
    }
    // Below 32 lanes the pairs are inside words: the lower lanes of two words make one gathered word.
    const L = { D, d, ranges, G: D > 0 ? R : Math.ceil(R / 2) }; // G: gathered words per plane
    const [xs, ys] = gathered(net, mv, T, L);
    // b = [y < x] = the carry out of x + ¬y over the compared planes (0 in lanes left empty: 0 + ¬0).
    const b = await carryInto(p, xs, not(p, T > P ? ys.planes(0, P) : ys), P);
    if (layers) layers.push({ ...L, rStart: rStart.slice(0, ranges), rLen: rLen.slice(0, ranges), padMoves, swap: b });
    await swapPairs(p, net, mv, T, L, b, xs, ys);
    step();
  }
  // The pads ended above every real row: the first `words` words hold them all.
  return { a: planeWords(net.A, T, WN, 0, words), b: planeWords(net.B, T, WN, 0, words), words, rows };
}

/** One layer of a recorded merge (mergeTwo's o.record): its pairs, the pad words moved down before them, its swap bits. */
export interface LayerRecord {
  /** Pair distance in words (0 below 32 lanes) and in lanes. */
  D: number;
  d: number;
  /** The pairs' lower words as ranges (start, length), and the words gathered per plane. */
  ranges: number;
  rStart: Uint32Array;
  rLen: Uint32Array;
  G: number;
  /** (to, from) word pairs: a real word moved down onto a pad word before the layer's pairs. */
  padMoves: Uint32Array;
  /** 1 in a gathered lane whose pair was swapped (null: the layer had no pairs). */
  swap: BShare | null;
}

/** A recorded merge of two runs (see the module comment). */
export interface NetworkRecord {
  /** Words per plane in the network, and the real words (the two runs'). */
  WN: number;
  words: number;
  /** The runs as placed: `lo` from word 0 up, `hi` reversed from word WN − 1 down. */
  lo: { words: number; rows: number };
  hi: { words: number; rows: number };
  layers: LayerRecord[];
}


/**
 * Takes T planes (this party's halves `h`, T planes of rec.WN words each, plane-major) through a
 * recorded network: 'back' from the merged order (rows in words 0..rec.words − 1) to the runs'
 * places (inputLanes), 'forward' the other way. Each layer with pairs is one AND round of one bit
 * per pair and plane, with the recorded swap bits. Returns the planes in new arrays. Reveals nothing.
 */
export async function applyNetwork(p: Party, rec: NetworkRecord, h: { a: Uint32Array; b: Uint32Array }, T: number, dir: 'forward' | 'back', arenaBytes = Infinity): Promise<{ a: Uint32Array; b: Uint32Array }> {
  const { WN } = rec;
  if (h.a.length !== T * WN || h.b.length !== T * WN) throw new RangeError(`applyNetwork: ${T} planes of ${WN} words need ${T * WN} words, got ${h.a.length}/${h.b.length}`);
  const net = networkOf(T, WN, rec.words, arenaBytes);
  net.A.set(h.a);
  net.B.set(h.b);
  const mv = net.arena ? wasmMoves(net, net.arena, T, WN) : jsMoves(net, T, WN);
  const pads = (L: LayerRecord) => {
    const m = L.padMoves.length >>> 1;
    if (!m) return;
    if (dir === 'forward') net.moves.set(L.padMoves);
    else for (let c = 0; c < m; c++) (net.moves[2 * c] = L.padMoves[2 * c + 1]!, net.moves[2 * c + 1] = L.padMoves[2 * c]!);
    mv.pads(net.A, m);
    mv.pads(net.B, m);
  };
  const pairs = async (L: LayerRecord) => {
    if (!L.swap) return;
    net.rStart.set(L.rStart);
    net.rLen.set(L.rLen);
    await swapPairs(p, net, mv, T, L, L.swap, ...gathered(net, mv, T, L));
  };
  if (dir === 'forward') for (const L of rec.layers) (pads(L), await pairs(L));
  else for (let i = rec.layers.length - 1; i >= 0; i--) (await pairs(rec.layers[i]!), pads(rec.layers[i]!));
  const out = { a: net.A.slice(), b: net.B.slice() };
  // As in mergeTwo: the arena goes back to the pool only after a run that finished.
  net.arena?.release();
  return out;
}

/**
 * The lanes of one run ('lo' or 'hi', as rec placed them) from T planes of rec.WN words in the
 * network's input layout (applyNetwork 'back'): T planes of that run's words, its rows first.
 */
export function inputLanes(rec: NetworkRecord, h: Uint32Array, T: number, which: 'lo' | 'hi'): Uint32Array {
  const { WN } = rec;
  if (which === 'lo') return planeWords(h, T, WN, 0, rec.lo.words);
  const nw = rec.hi.words;
  const out = new Uint32Array(T * nw);
  for (let k = 0; k < T; k++) for (let w = 0; w < nw; w++) out[k * nw + w] = rev32(h[k * WN + WN - 1 - w]!);
  return out;
}

/**
 * T planes of rec.WN words in the network's input layout (applyNetwork 'forward') from the runs'
 * planes (T planes of each run's words, its rows first; null: zeros): the inverse of inputLanes.
 */
export function inputLayout(rec: NetworkRecord, T: number, lo: Uint32Array | null, hi: Uint32Array | null): Uint32Array {
  const out = new Uint32Array(T * rec.WN);
  placeRuns(out, T, rec.WN, lo, rec.lo.words, hi, rec.hi.words);
  return out;
}
