// Builds the Z_2^64 column kernels (src/ring/ring64.ts loads them) from WebAssembly text.
// Each kernel is a loop over n 64-bit lanes at byte offsets inside the module's own memory;
// the TypeScript side copies columns in and out in chunks. i64 arithmetic wraps mod 2^64,
// which is exactly the ring Z_2^64.
import { mkdirSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const ld = (p) => `(i64.load (i32.add (local.get $${p}) (local.get $i)))`;

/** A kernel that writes one lane of `o` per lane from the expression `expr`. */
function lanewise(name, params, expr) {
  const ps = params.map(([n, t]) => `(param $${n} ${t})`).join(' ');
  return `(func (export "${name}") ${ps} (param $o i32) (param $n i32) (local $i i32) (local $e i32)
  (local.set $e (i32.shl (local.get $n) (i32.const 3)))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
    (i64.store (i32.add (local.get $o) (local.get $i)) ${expr})
    (local.set $i (i32.add (local.get $i) (i32.const 8)))
    (br $next))))`;
}

/** A kernel that folds lanes into one i64 accumulator. */
function fold(name, params, expr) {
  const ps = params.map(([n, t]) => `(param $${n} ${t})`).join(' ');
  return `(func (export "${name}") ${ps} (param $n i32) (result i64) (local $i i32) (local $e i32) (local $acc i64)
  (local.set $e (i32.shl (local.get $n) (i32.const 3)))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
    (local.set $acc (i64.add (local.get $acc) ${expr}))
    (local.set $i (i32.add (local.get $i) (i32.const 8)))
    (br $next)))
  (local.get $acc))`;
}

/**
 * rssdot, and Σ x0 and Σ x1 stored at byte offset o and o + 8, in the same pass (a column's sum and
 * its inner products from one read).
 */
function rssDotSum() {
  return `(func (export "rssdotsum") (param $x0 i32) (param $x1 i32) (param $y0 i32) (param $y1 i32) (param $o i32) (param $n i32) (result i64)
  (local $i i32) (local $e i32) (local $acc i64) (local $s0 i64) (local $s1 i64)
  (local.set $e (i32.shl (local.get $n) (i32.const 3)))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
    (local.set $acc (i64.add (local.get $acc) ${rssTerm}))
    (local.set $s0 (i64.add (local.get $s0) ${ld('x0')}))
    (local.set $s1 (i64.add (local.get $s1) ${ld('x1')}))
    (local.set $i (i32.add (local.get $i) (i32.const 8)))
    (br $next)))
  (i64.store (local.get $o) (i64.add (i64.load (local.get $o)) (local.get $s0)))
  (i64.store (i32.add (local.get $o) (i32.const 8)) (i64.add (i64.load (i32.add (local.get $o) (i32.const 8))) (local.get $s1)))
  (local.get $acc))`;
}

const P = (...names) => names.map((n) => [n, 'i32']);
// x0*(y0+y1) + x1*y0: the local part of a replicated-sharing product (Araki et al. CCS 2016, §2.2).
const rssTerm = `(i64.add (i64.mul ${ld('x0')} (i64.add ${ld('y0')} ${ld('y1')})) (i64.mul ${ld('x1')} ${ld('y0')}))`;
const kernels = [
  lanewise('add', P('a', 'b'), `(i64.add ${ld('a')} ${ld('b')})`),
  lanewise('sub', P('a', 'b'), `(i64.sub ${ld('a')} ${ld('b')})`),
  lanewise('mul', P('a', 'b'), `(i64.mul ${ld('a')} ${ld('b')})`),
  lanewise('neg', P('a'), `(i64.sub (i64.const 0) ${ld('a')})`),
  lanewise('addc', [['a', 'i32'], ['c', 'i64']], `(i64.add ${ld('a')} (local.get $c))`),
  lanewise('mulc', [['a', 'i32'], ['c', 'i64']], `(i64.mul ${ld('a')} (local.get $c))`),
  lanewise('shrs', [['a', 'i32'], ['c', 'i64']], `(i64.shr_s ${ld('a')} (local.get $c))`),
  lanewise('shru', [['a', 'i32'], ['c', 'i64']], `(i64.shr_u ${ld('a')} (local.get $c))`),
  lanewise('rssmul', P('x0', 'x1', 'y0', 'y1', 'r'), `(i64.add ${rssTerm} ${ld('r')})`),
  // ... + r − s: the zero-share α_i = F(k_i) − F(k_{i−1}) folded in.
  lanewise('rssmulz', P('x0', 'x1', 'y0', 'y1', 'r', 's'), `(i64.sub (i64.add ${rssTerm} ${ld('r')}) ${ld('s')})`),
  // a + b − 2c: for bits e, s and c = e·s, the arithmetic form of e ⊕ s (bit injection, ABY3 §5.4.1).
  lanewise('xorlift', P('a', 'b', 'c'), `(i64.sub (i64.add ${ld('a')} ${ld('b')}) (i64.shl ${ld('c')} (i64.const 1)))`),
  fold('sum', P('a'), ld('a')),
  fold('rssdot', P('x0', 'x1', 'y0', 'y1'), rssTerm),
  rssDotSum(),
];

const wat = `(module (memory (export "mem") 64)\n${kernels.join('\n')}\n)`;
const wabt = await wabtInit();
const mod = wabt.parseWat('kernels.wat', wat);
mod.validate();
const { buffer } = mod.toBinary({});
const out = new URL('../dist/src/ring/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('kernels.wasm', out), buffer);
