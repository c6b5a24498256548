// Builds the Z_2^64 column kernels (src/ring/ring64.ts loads them) and the row moves of the sort's
// quicksort and the bitonic merger (src/ring/moves.ts) from WebAssembly text.
// Most kernels loop over n 64-bit lanes at byte offsets inside the module's own memory (the word
// kernels ripple, ripplesum and andl over 32-bit words of bit planes); the TypeScript side copies
// columns in and out in chunks. i64 arithmetic wraps mod 2^64, which is exactly the ring Z_2^64.
import { mkdirSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

/** Lane i of a column parameter, loaded once per lane into a local at the top of the loop (see loads). */
const v = (p) => `(local.get $v_${p})`;
/**
 * The loop's loads: each column parameter's lane into its local, once. V8's WebAssembly compiler
 * does not merge repeated loads of one address, and x0·(y0 + y1) + x1·y0 reads y0 twice.
 */
const cols = (params) => params.filter(([, t]) => t === 'i32').map(([n]) => n);
const loadLocals = (params) => cols(params).map((n) => `(local $v_${n} i64)`).join(' ');
const loads = (params) => cols(params).map((n) => `(local.set $v_${n} (i64.load (i32.add (local.get $${n}) (local.get $i))))`).join('\n    ');

/**
 * The loop of a lane kernel over n 64-bit lanes: `params`, then `tail` (more parameters), each
 * column parameter's lane loaded once into its local, `body` per lane, `end` after the loop.
 */
function laneKernel(name, params, { tail = '', result = '', locals = '', body, end = '' }) {
  const ps = params.map(([n, t]) => `(param $${n} ${t})`).join(' ');
  return `(func (export "${name}") ${ps} ${tail}(param $n i32)${result} (local $i i32) (local $e i32)${locals} ${loadLocals(params)}
  (local.set $e (i32.shl (local.get $n) (i32.const 3)))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
    ${loads(params)}
    ${body}
    (local.set $i (i32.add (local.get $i) (i32.const 8)))
    (br $next)))${end})`;
}

/** A kernel that writes one lane of `o` per lane from the expression `expr` (lanes read with v). */
function lanewise(name, params, expr) {
  return laneKernel(name, params, { tail: '(param $o i32) ', body: `(i64.store (i32.add (local.get $o) (local.get $i)) ${expr})` });
}

/** A kernel that folds lanes into one i64 accumulator (lanes read with v). */
function fold(name, params, expr) {
  return laneKernel(name, params, { result: ' (result i64)', locals: ' (local $acc i64)', body: `(local.set $acc (i64.add (local.get $acc) ${expr}))`, end: '\n  (local.get $acc)' });
}

/**
 * A fold of `term` over the lanes, with Σ x0 and Σ x1 added at byte offset o and o + 8 in the same
 * pass (rssdotsum, rsssqsum: a column's sum and its inner products from one read).
 */
function rssFoldSum(name, params, term) {
  return laneKernel(name, params, {
    tail: '(param $o i32) ',
    result: ' (result i64)',
    locals: ' (local $acc i64) (local $s0 i64) (local $s1 i64)',
    body: `(local.set $acc (i64.add (local.get $acc) ${term}))
    (local.set $s0 (i64.add (local.get $s0) ${v('x0')}))
    (local.set $s1 (i64.add (local.get $s1) ${v('x1')}))`,
    end: `
  (i64.store (local.get $o) (i64.add (i64.load (local.get $o)) (local.get $s0)))
  (i64.store (i32.add (local.get $o) (i32.const 8)) (i64.add (i64.load (i32.add (local.get $o) (i32.const 8))) (local.get $s1)))
  (local.get $acc)`,
  });
}

/**
 * planes: bit planes of 64-bit lanes (the transposition behind bits.ts toPlanes). $x holds g groups
 * of 16 lanes; for every byte b < $nb of the lanes and every bit r of it, plane 8b + r gets the 16
 * bits of a group (bit i = lane i of the group) as one 16-bit store at $o + (8b + r)·$s + 2·group.
 * Per group: the 16 lanes' bytes are regrouped by three layers of byte shuffles (8 per layer) into
 * one vector per byte position, then i8x16.bitmask takes the top bit of its 16 bytes eight times,
 * doubling the bytes in between (Warren, Hacker's Delight §7-3 does the same with 32 swaps).
 */
function planesKernel() {
  const sh = (a, b, idx) => `(i8x16.shuffle ${idx.join(' ')} ${a} ${b})`;
  const body = [];
  // V_j = lanes 2j, 2j+1 (byte l·8 + b of the pair: lane l, byte b).
  for (let j = 0; j < 8; j++) body.push(`(local.set $v${j} (v128.load offset=${16 * j} (local.get $p)))`);
  // Layer A: lanes 4m..4m+3, bytes 0..3 (w) and 4..7 (W): position 4·(b mod 4) + l ← index 8l + b.
  for (let m = 0; m < 4; m++) {
    for (const [name, b0] of [['w', 0], ['W', 4]]) {
      const idx = [];
      for (let b = 0; b < 4; b++) for (let l = 0; l < 4; l++) idx.push(8 * l + b0 + b);
      body.push(`(local.set $${name}${m} ${sh(`(local.get $v${2 * m})`, `(local.get $v${2 * m + 1})`, idx)})`);
    }
  }
  // Layer B: lanes 8q..8q+7, byte pairs c ∈ {0,1} and {2,3} of each half: position 8c + l ← 4c + l (l < 4) or 16 + 4c + l − 4.
  for (let q = 0; q < 2; q++) {
    for (const [src, base] of [['w', 0], ['W', 2]]) {
      for (const pair of [0, 1]) {
        const idx = [];
        for (let c = 0; c < 2; c++) for (let l = 0; l < 8; l++) { const bb = 2 * pair + c; idx.push(l < 4 ? 4 * bb + l : 16 + 4 * bb + l - 4); }
        body.push(`(local.set $x${q}_${base + pair} ${sh(`(local.get $${src}${2 * q})`, `(local.get $${src}${2 * q + 1})`, idx)})`);
      }
    }
  }
  // Layer C: the 16 lanes of byte b: position l ← 8c + l (l < 8) or 16 + 8c + l − 8, c = b mod 2.
  for (let b = 0; b < 8; b++) {
    const pr = b >> 1, c = b & 1, idx = [];
    for (let l = 0; l < 16; l++) idx.push(l < 8 ? 8 * c + l : 16 + 8 * c + l - 8);
    const bits = [];
    bits.push(`(local.set $t ${sh(`(local.get $x0_${pr})`, `(local.get $x1_${pr})`, idx)})`);
    for (let r = 7; r >= 0; r--) {
      bits.push(`(i32.store16 (i32.add (local.get $q) (i32.mul (local.get $s) (i32.const ${8 * b + r}))) (i8x16.bitmask (local.get $t)))`);
      if (r) bits.push(`(local.set $t (i8x16.add (local.get $t) (local.get $t)))`);
    }
    body.push(`(if (i32.gt_u (local.get $nb) (i32.const ${b})) (then ${bits.join(' ')}))`);
  }
  const v128 = (names) => names.map((n) => `(local $${n} v128)`).join(' ');
  const locals = v128([...Array.from({ length: 8 }, (_, j) => `v${j}`), ...[0, 1, 2, 3].flatMap((m) => [`w${m}`, `W${m}`]), ...[0, 1].flatMap((q) => [0, 1, 2, 3].map((k) => `x${q}_${k}`)), 't']);
  return `(func (export "planes") (param $x i32) (param $o i32) (param $g i32) (param $nb i32) (param $s i32)
  (local $k i32) (local $p i32) (local $q i32) ${locals}
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $k) (local.get $g)))
    (local.set $p (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 7))))
    (local.set $q (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 1))))
    ${body.join('\n    ')}
    (local.set $k (i32.add (local.get $k) (i32.const 1)))
    (br $next))))`;
}
/**
 * ripple / ripplesum: one step of a ripple-carry adder on XOR-shared bit planes (convert.ts
 * rippleCarry), 4 words of 32 lanes per vector, over ceil(n/4)·4 words at byte offsets. The running
 * carry's halves (ca, cb) take the last AND's result (ta, tb): c ^= t, written back; with `sum`,
 * c is also XORed into the sum plane's halves (sa, sb). Then the local share of (a ⊕ c) ∧ (b ⊕ c)
 * for the next plane goes to z: ((aa ⊕ c0) ∧ (ba ⊕ c0 ⊕ bb ⊕ c1)) ⊕ ((ab ⊕ c1) ∧ (ba ⊕ c0)), as
 * boolean.ts and() computes a product's local share.
 */
function rippleKernel(sum) {
  const at = (p) => `(i32.add (local.get $${p}) (local.get $i))`;
  const ld = (p) => `(v128.load ${at(p)})`;
  const sums = sum
    ? `(v128.store ${at('sa')} (v128.xor ${ld('sa')} (local.get $c0)))
    (v128.store ${at('sb')} (v128.xor ${ld('sb')} (local.get $c1)))`
    : '';
  return `(func (export "${sum ? 'ripplesum' : 'ripple'}") (param $ca i32) (param $cb i32) (param $ta i32) (param $tb i32) (param $aa i32) (param $ab i32) (param $ba i32) (param $bb i32)${sum ? ' (param $sa i32) (param $sb i32)' : ''} (param $z i32) (param $n i32)
  (local $i i32) (local $e i32) (local $c0 v128) (local $c1 v128) (local $ya v128)
  (local.set $e (i32.shl (local.get $n) (i32.const 2)))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
    (local.set $c0 (v128.xor ${ld('ca')} ${ld('ta')}))
    (local.set $c1 (v128.xor ${ld('cb')} ${ld('tb')}))
    (v128.store ${at('ca')} (local.get $c0))
    (v128.store ${at('cb')} (local.get $c1))
    ${sums}
    (local.set $ya (v128.xor ${ld('ba')} (local.get $c0)))
    (v128.store ${at('z')} (v128.xor
      (v128.and (v128.xor ${ld('aa')} (local.get $c0)) (v128.xor (local.get $ya) (v128.xor ${ld('bb')} (local.get $c1))))
      (v128.and (v128.xor ${ld('ab')} (local.get $c1)) (local.get $ya))))
    (local.set $i (i32.add (local.get $i) (i32.const 16)))
    (br $next))))`;
}
/**
 * search: one level of the sort's splitter search (sort.ts sampleSortOrder) over n rows. Row q's
 * gap index g (u32 at $gap + 4q) first takes the last level's outcome: with $has, g = 2g + 1 − bit q
 * of the words at $less. Then, with $sh ≥ 0, the 8-byte splitter entry (2g + 1)·2^$sh − 1 of $sa
 * and $sb is copied to row q of $ya and $yb.
 */
function searchKernel() {
  return `(func (export "search") (param $gap i32) (param $less i32) (param $has i32) (param $sh i32) (param $sa i32) (param $sb i32) (param $ya i32) (param $yb i32) (param $n i32)
  (local $q i32) (local $g i32) (local $at i32) (local $i i32)
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $q) (local.get $n)))
    (local.set $at (i32.add (local.get $gap) (i32.shl (local.get $q) (i32.const 2))))
    (local.set $g (i32.load (local.get $at)))
    (if (local.get $has) (then
      (local.set $g (i32.or (i32.shl (local.get $g) (i32.const 1))
        (i32.xor (i32.and (i32.shr_u (i32.load (i32.add (local.get $less) (i32.shl (i32.shr_u (local.get $q) (i32.const 5)) (i32.const 2)))) (i32.and (local.get $q) (i32.const 31))) (i32.const 1)) (i32.const 1))))
      (i32.store (local.get $at) (local.get $g))))
    (if (i32.ge_s (local.get $sh) (i32.const 0)) (then
      (local.set $i (i32.shl (i32.sub (i32.shl (i32.or (i32.shl (local.get $g) (i32.const 1)) (i32.const 1)) (local.get $sh)) (i32.const 1)) (i32.const 3)))
      (i64.store (i32.add (local.get $ya) (i32.shl (local.get $q) (i32.const 3))) (i64.load (i32.add (local.get $sa) (local.get $i))))
      (i64.store (i32.add (local.get $yb) (i32.shl (local.get $q) (i32.const 3))) (i64.load (i32.add (local.get $sb) (local.get $i))))))
    (local.set $q (i32.add (local.get $q) (i32.const 1)))
    (br $next))))`;
}
/**
 * andl: the local share of an AND on XOR-shared words (boolean.ts and(); Araki et al. CCS 2016,
 * §2.2 over GF(2)): z = (xa ∧ (ya ⊕ yb)) ⊕ (xb ∧ ya), 4 words per vector, over ceil(n/4)·4 words.
 */
function andKernel() {
  const ld = (p) => `(v128.load (i32.add (local.get $${p}) (local.get $i)))`;
  return `(func (export "andl") (param $xa i32) (param $xb i32) (param $ya i32) (param $yb i32) (param $z i32) (param $n i32)
  (local $i i32) (local $e i32) (local $y v128)
  (local.set $e (i32.shl (local.get $n) (i32.const 2)))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
    (local.set $y ${ld('ya')})
    (v128.store (i32.add (local.get $z) (local.get $i))
      (v128.xor (v128.and ${ld('xa')} (v128.xor (local.get $y) ${ld('yb')})) (v128.and ${ld('xb')} (local.get $y))))
    (local.set $i (i32.add (local.get $i) (i32.const 16)))
    (br $next))))`;
}
const P = (...names) => names.map((n) => [n, 'i32']);
// x0*(y0+y1) + x1*y0: the local part of a replicated-sharing product (Araki et al. CCS 2016, §2.2).
const rssTerm = `(i64.add (i64.mul ${v('x0')} (i64.add ${v('y0')} ${v('y1')})) (i64.mul ${v('x1')} ${v('y0')}))`;
// The same with y = x: x0·(x0 + x1) + x1·x0 = x0·(x0 + 2·x1), one product per lane (Σx² of a column).
const rssSqTerm = `(i64.mul ${v('x0')} (i64.add ${v('x0')} (i64.shl ${v('x1')} (i64.const 1))))`;
const kernels = [
  lanewise('add', P('a', 'b'), `(i64.add ${v('a')} ${v('b')})`),
  lanewise('sub', P('a', 'b'), `(i64.sub ${v('a')} ${v('b')})`),
  lanewise('mul', P('a', 'b'), `(i64.mul ${v('a')} ${v('b')})`),
  lanewise('neg', P('a'), `(i64.sub (i64.const 0) ${v('a')})`),
  lanewise('addc', [['a', 'i32'], ['c', 'i64']], `(i64.add ${v('a')} (local.get $c))`),
  lanewise('mulc', [['a', 'i32'], ['c', 'i64']], `(i64.mul ${v('a')} (local.get $c))`),
  lanewise('shrs', [['a', 'i32'], ['c', 'i64']], `(i64.shr_s ${v('a')} (local.get $c))`),
  lanewise('shru', [['a', 'i32'], ['c', 'i64']], `(i64.shr_u ${v('a')} (local.get $c))`),
  lanewise('rssmul', P('x0', 'x1', 'y0', 'y1', 'r'), `(i64.add ${rssTerm} ${v('r')})`),
  // ... + r − s: the zero-share α_i = F(k_i) − F(k_{i−1}) folded in.
  lanewise('rssmulz', P('x0', 'x1', 'y0', 'y1', 'r', 's'), `(i64.sub (i64.add ${rssTerm} ${v('r')}) ${v('s')})`),
  // a + b − 2c: for bits e, s and c = e·s, the arithmetic form of e ⊕ s (bit injection, ABY3 §5.4.1).
  lanewise('xorlift', P('a', 'b', 'c'), `(i64.sub (i64.add ${v('a')} ${v('b')}) (i64.shl ${v('c')} (i64.const 1)))`),
  fold('sum', P('a'), v('a')),
  fold('rssdot', P('x0', 'x1', 'y0', 'y1'), rssTerm),
  rssFoldSum('rssdotsum', P('x0', 'x1', 'y0', 'y1'), rssTerm),
  fold('rsssq', P('x0', 'x1'), rssSqTerm),
  rssFoldSum('rsssqsum', P('x0', 'x1'), rssSqTerm),
  planesKernel(),
  rippleKernel(false),
  rippleKernel(true),
  searchKernel(),
  andKernel(),
];

/*
 * moves.wasm (src/ring/moves.ts): the quicksort's row moves (sort.ts quicksortLevels) on arrays
 * that live in a memory the caller gives (imported: one per sort, sized to its rows). Pointers are
 * byte offsets; rows' shares are 8-byte lanes, row numbers and segment bounds 4-byte words.
 */
const u32at = (base, idx) => `(i32.add (local.get $${base}) (i32.shl ${idx} (i32.const 2)))`;
const u64at = (base, idx) => `(i32.add (local.get $${base}) (i32.shl ${idx} (i32.const 3)))`;
const get = (n) => `(local.get $${n})`;
/**
 * The head of operands' and partition's loop over segments: stop after $count, read segment $s's
 * bounds [$st, $e) and its pivot's shares ($pa, $pb).
 */
const segmentStart = `(br_if $segs (i32.ge_u ${get('s')} ${get('count')}))
    (local.set $st (i32.load ${u32at('seg', `(i32.shl ${get('s')} (i32.const 1))`)}))
    (local.set $e (i32.load offset=4 ${u32at('seg', `(i32.shl ${get('s')} (i32.const 1))`)}))
    (local.set $pa (i64.load ${u64at('ca', get('st'))}))
    (local.set $pb (i64.load ${u64at('cb', get('st'))}))`;
/** gather: row q of (oa, ob) = row idx[q] of (sa, sb), q < n. */
const gatherMove = `(func (export "gather") (param $sa i32) (param $sb i32) (param $idx i32) (param $n i32) (param $oa i32) (param $ob i32)
  (local $q i32) (local $k i32)
  (block $done (loop $next
    (br_if $done (i32.ge_u ${get('q')} ${get('n')}))
    (local.set $k (i32.load ${u32at('idx', get('q'))}))
    (i64.store ${u64at('oa', get('q'))} (i64.load ${u64at('sa', get('k'))}))
    (i64.store ${u64at('ob', get('q'))} (i64.load ${u64at('sb', get('k'))}))
    (local.set $q (i32.add ${get('q')} (i32.const 1)))
    (br $next))))`;
/**
 * operands: for each of `count` segments [st, e) (pairs of words at $seg), every non-pivot row k
 * in st+1..e−1 is listed: its row number (order[k]) to xidx, its shares (c[k]) to x, its segment's
 * pivot's shares (c[st]) to y. Returns how many rows were listed.
 */
const operandsMove = `(func (export "operands") (param $order i32) (param $seg i32) (param $count i32) (param $ca i32) (param $cb i32) (param $xidx i32) (param $xa i32) (param $xb i32) (param $ya i32) (param $yb i32) (result i32)
  (local $s i32) (local $st i32) (local $e i32) (local $k i32) (local $m i32) (local $pa i64) (local $pb i64)
  (block $segs (loop $seg_next
    ${segmentStart}
    (local.set $k (i32.add ${get('st')} (i32.const 1)))
    (block $rows (loop $row_next
      (br_if $rows (i32.ge_u ${get('k')} ${get('e')}))
      (i32.store ${u32at('xidx', get('m'))} (i32.load ${u32at('order', get('k'))}))
      (i64.store ${u64at('xa', get('m'))} (i64.load ${u64at('ca', get('k'))}))
      (i64.store ${u64at('xb', get('m'))} (i64.load ${u64at('cb', get('k'))}))
      (i64.store ${u64at('ya', get('m'))} ${get('pa')})
      (i64.store ${u64at('yb', get('m'))} ${get('pb')})
      (local.set $k (i32.add ${get('k')} (i32.const 1)))
      (local.set $m (i32.add ${get('m')} (i32.const 1)))
      (br $row_next)))
    (local.set $s (i32.add ${get('s')} (i32.const 1)))
    (br $seg_next)))
  ${get('m')})`;
/**
 * partition: each segment [st, e) in place by the outcome bits at $less (bit q for the q-th listed
 * row): rows with bit 1 from the left, the others from the right, the pivot between; row numbers
 * (order) and shares (c) move together, taken from xidx and x. The next level's segments of two
 * rows or more go to $nseg; returns their count.
 */
const partitionMove = `(func (export "partition") (param $order i32) (param $seg i32) (param $count i32) (param $ca i32) (param $cb i32) (param $xidx i32) (param $xa i32) (param $xb i32) (param $less i32) (param $nseg i32) (result i32)
  (local $s i32) (local $st i32) (local $e i32) (local $k i32) (local $q i32) (local $cnt i32) (local $lo i32) (local $hi i32) (local $bit i32) (local $d i32) (local $piv i32) (local $pa i64) (local $pb i64)
  (block $segs (loop $seg_next
    ${segmentStart}
    (local.set $piv (i32.load ${u32at('order', get('st'))}))
    (local.set $lo ${get('st')})
    (local.set $hi (i32.sub ${get('e')} (i32.const 1)))
    (local.set $k (i32.add ${get('st')} (i32.const 1)))
    (block $rows (loop $row_next
      (br_if $rows (i32.ge_u ${get('k')} ${get('e')}))
      (local.set $bit (i32.and (i32.shr_u (i32.load ${u32at('less', `(i32.shr_u ${get('q')} (i32.const 5))`)}) (i32.and ${get('q')} (i32.const 31))) (i32.const 1)))
      (local.set $d (select ${get('lo')} ${get('hi')} ${get('bit')}))
      (local.set $lo (i32.add ${get('lo')} ${get('bit')}))
      (local.set $hi (i32.sub ${get('hi')} (i32.xor ${get('bit')} (i32.const 1))))
      (i32.store ${u32at('order', get('d'))} (i32.load ${u32at('xidx', get('q'))}))
      (i64.store ${u64at('ca', get('d'))} (i64.load ${u64at('xa', get('q'))}))
      (i64.store ${u64at('cb', get('d'))} (i64.load ${u64at('xb', get('q'))}))
      (local.set $k (i32.add ${get('k')} (i32.const 1)))
      (local.set $q (i32.add ${get('q')} (i32.const 1)))
      (br $row_next)))
    (i32.store ${u32at('order', get('lo'))} ${get('piv')})
    (i64.store ${u64at('ca', get('lo'))} ${get('pa')})
    (i64.store ${u64at('cb', get('lo'))} ${get('pb')})
    (if (i32.gt_s (i32.sub ${get('lo')} ${get('st')}) (i32.const 1)) (then
      (i32.store ${u32at('nseg', `(i32.shl ${get('cnt')} (i32.const 1))`)} ${get('st')})
      (i32.store offset=4 ${u32at('nseg', `(i32.shl ${get('cnt')} (i32.const 1))`)} ${get('lo')})
      (local.set $cnt (i32.add ${get('cnt')} (i32.const 1)))))
    (if (i32.gt_s (i32.sub (i32.sub ${get('e')} ${get('lo')}) (i32.const 1)) (i32.const 1)) (then
      (i32.store ${u32at('nseg', `(i32.shl ${get('cnt')} (i32.const 1))`)} (i32.add ${get('lo')} (i32.const 1)))
      (i32.store offset=4 ${u32at('nseg', `(i32.shl ${get('cnt')} (i32.const 1))`)} ${get('e')})
      (local.set $cnt (i32.add ${get('cnt')} (i32.const 1)))))
    (local.set $s (i32.add ${get('s')} (i32.const 1)))
    (br $seg_next)))
  ${get('cnt')})`;

/*
 * The bitonic merger's moves (src/mpc/merge.ts bitonicMerge) on its planes in a MoveArena: $P
 * planes of $stride words each (plane-major) at $h; a layer's compared pairs of words as ranges of
 * their lower words (word rs[g], rl[g] words, g < $ranges); the gathered planes $G words each.
 * Word layers (pairs D ≥ 1 words apart) gather and scatter whole words; bit layers (pairs d < 32
 * lanes apart inside a word) pack two words' pairs into one word, as merge.ts describes.
 */
const ld32 = (a) => `(i32.load ${a})`;
const add = (a, b) => `(i32.add ${a} ${b})`;
/** The loop over planes k < $P of $stride words at $h: `body` with $base at plane k's first word. */
const planeLoop = (body) => `(block $planes (loop $plane
    (br_if $planes (i32.ge_u ${get('k')} ${get('P')}))
    (local.set $base ${add(get('h'), `(i32.shl (i32.mul ${get('k')} ${get('stride')}) (i32.const 2))`)})
    ${body}
    (local.set $k (i32.add ${get('k')} (i32.const 1)))
    (br $plane)))`;
/** The loop over planes k and ranges g: `perPlane` after $base (plane k's first word) is set, `body` per range with $s (its first word's address) and $len (words). */
function planeRanges(name, params, locals, perPlane, body) {
  return `(func (export "${name}") (param $h i32) (param $stride i32) (param $P i32) (param $rs i32) (param $rl i32) (param $ranges i32) ${params}
  (local $k i32) (local $g i32) (local $base i32) (local $q i32) (local $s i32) (local $len i32) (local $e i32) ${locals}
  ${planeLoop(`${perPlane}
    (local.set $g (i32.const 0))
    (block $rgs (loop $rg
      (br_if $rgs (i32.ge_u ${get('g')} ${get('ranges')}))
      (local.set $s ${add(get('base'), `(i32.shl ${ld32(u32at('rs', get('g')))} (i32.const 2))`)})
      (local.set $len ${ld32(u32at('rl', get('g')))})
      ${body}
      (local.set $g (i32.add ${get('g')} (i32.const 1)))
      (br $rg)))`)})`;
}
/** Over the range's words, 4 at a time while 4 are left, then one at a time: `step(width)` with $s and $q (bytes) at the current word. */
const wordRun = (step) => `(local.set $e ${add(get('s'), `(i32.shl ${get('len')} (i32.const 2))`)})
      (block $vd (loop $v
        (br_if $vd (i32.gt_u ${add(get('s'), '(i32.const 16)')} ${get('e')}))
        ${step('v128')}
        (local.set $s ${add(get('s'), '(i32.const 16)')})
        (local.set $q ${add(get('q'), '(i32.const 16)')})
        (br $v)))
      (block $td (loop $t
        (br_if $td (i32.ge_u ${get('s')} ${get('e')}))
        ${step('i32')}
        (local.set $s ${add(get('s'), '(i32.const 4)')})
        (local.set $q ${add(get('q'), '(i32.const 4)')})
        (br $t)))`;
const planeBytes = `(local.set $q (i32.shl (i32.mul ${get('k')} ${get('G')}) (i32.const 2)))`;
const planeBits = `(local.set $q (i32.shl (i32.mul ${get('k')} ${get('G')}) (i32.const 1)))`;
/** wgather: a word layer's pairs, lower words to $xs, upper words ($D words on) to $ys. */
const wgatherMove = planeRanges('wgather', '(param $D i32) (param $xs i32) (param $ys i32) (param $G i32)', '(local $Db i32)', `(local.set $Db (i32.shl ${get('D')} (i32.const 2)))
    ${planeBytes}`, wordRun((t) => `(${t}.store ${add(get('xs'), get('q'))} (${t}.load ${get('s')}))
        (${t}.store ${add(get('ys'), get('q'))} (${t}.load ${add(get('s'), get('Db'))}))`));
/** wscatter: a word layer's pairs back, lower words x ⊕ Δ, upper words y ⊕ Δ. */
const wscatterMove = planeRanges('wscatter', '(param $D i32) (param $xs i32) (param $ys i32) (param $ds i32) (param $G i32)', '(local $Db i32)', `(local.set $Db (i32.shl ${get('D')} (i32.const 2)))
    ${planeBytes}`, wordRun((t) => `(${t}.store ${get('s')} (${t}.xor (${t}.load ${add(get('xs'), get('q'))}) (${t}.load ${add(get('ds'), get('q'))})))
        (${t}.store ${add(get('s'), get('Db'))} (${t}.xor (${t}.load ${add(get('ys'), get('q'))}) (${t}.load ${add(get('ds'), get('q'))})))`));
/** A bit layer's loop over the range's words: $w the word, $o the gathered word's address offset ($q counts real words, two per gathered word). */
const bitRun = (step) => `(local.set $e ${add(get('s'), `(i32.shl ${get('len')} (i32.const 2))`)})
      (block $td (loop $t
        (br_if $td (i32.ge_u ${get('s')} ${get('e')}))
        (local.set $o (i32.shl (i32.shr_u ${get('q')} (i32.const 1)) (i32.const 2)))
        ${step}
        (local.set $s ${add(get('s'), '(i32.const 4)')})
        (local.set $q ${add(get('q'), '(i32.const 1)')})
        (br $t)))`;
/**
 * bgather: a bit layer's pairs (lanes j and j + d, j's bit d clear): the first of two words' pairs
 * at lane j, the second's at lane j + d ($lo: the lanes with bit d clear).
 */
const bgatherMove = planeRanges('bgather', '(param $d i32) (param $lo i32) (param $xs i32) (param $ys i32) (param $G i32)', '(local $o i32) (local $w i32) (local $up i32)', `(local.set $up (i32.xor ${get('lo')} (i32.const -1)))
    ${planeBits}`, bitRun(`(local.set $w (i32.load ${get('s')}))
        (if (i32.and ${get('q')} (i32.const 1))
          (then
            (i32.store ${add(get('xs'), get('o'))} (i32.or (i32.load ${add(get('xs'), get('o'))}) (i32.shl (i32.and ${get('w')} ${get('lo')}) ${get('d')})))
            (i32.store ${add(get('ys'), get('o'))} (i32.or (i32.load ${add(get('ys'), get('o'))}) (i32.and ${get('w')} ${get('up')}))))
          (else
            (i32.store ${add(get('xs'), get('o'))} (i32.and ${get('w')} ${get('lo')}))
            (i32.store ${add(get('ys'), get('o'))} (i32.and (i32.shr_u ${get('w')} ${get('d')}) ${get('lo')}))))`));
/** bscatter: a bit layer's Δ back into each pair's two lanes, from lane j (first word) or j + d (second). */
const bscatterMove = planeRanges('bscatter', '(param $d i32) (param $lo i32) (param $ds i32) (param $G i32)', '(local $o i32) (local $m i32)', planeBits, bitRun(`(local.set $m (i32.load ${add(get('ds'), get('o'))}))
        (local.set $m (i32.and (select (i32.shr_u ${get('m')} ${get('d')}) ${get('m')} (i32.and ${get('q')} (i32.const 1))) ${get('lo')}))
        (i32.store ${get('s')} (i32.xor (i32.load ${get('s')}) (i32.xor ${get('m')} (i32.shl ${get('m')} ${get('d')}))))`));
/** padmoves: for each of $count pairs (i, j) at $list, word j of every plane to word i. */
const padMoves = `(func (export "padmoves") (param $h i32) (param $stride i32) (param $P i32) (param $list i32) (param $count i32)
  (local $k i32) (local $c i32) (local $base i32) (local $pair i32)
  ${planeLoop(`(local.set $c (i32.const 0))
    (block $moved (loop $move
      (br_if $moved (i32.ge_u ${get('c')} ${get('count')}))
      (local.set $pair ${u64at('list', get('c'))})
      (i32.store ${add(get('base'), `(i32.shl (i32.load ${get('pair')}) (i32.const 2))`)} (i32.load ${add(get('base'), `(i32.shl (i32.load offset=4 ${get('pair')}) (i32.const 2))`)}))
      (local.set $c (i32.add ${get('c')} (i32.const 1)))
      (br $move)))`)})`;

const wabt = await wabtInit();
const out = new URL('../dist/src/ring/', import.meta.url);
mkdirSync(out, { recursive: true });
for (const [file, wat] of [
  ['kernels', `(module (memory (export "mem") 64)\n${kernels.join('\n')}\n)`],
  ['moves', `(module (import "env" "mem" (memory 1))\n${[gatherMove, operandsMove, partitionMove, wgatherMove, wscatterMove, bgatherMove, bscatterMove, padMoves].join('\n')}\n)`],
]) {
  const mod = wabt.parseWat(`${file}.wat`, wat, { simd: true });
  mod.validate();
  writeFileSync(new URL(`${file}.wasm`, out), mod.toBinary({}).buffer);
}
