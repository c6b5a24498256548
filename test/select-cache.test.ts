// Record reads with the person ids' bits kept per register version (src/mpc/id-bits.ts,
// src/node/record-cache.ts): the same rows as the selection without them (or with only some of
// them), on random and edge inputs
// (person absent, no rows in one register, rows at the bound, the first and the last row, ids 0 and
// 2^34 − 1, a target out of the ids' range); the three nodes remake the bits when one of them lacks
// them; a new version, or a version re-ingested after damage, gets new bits; the store holds no
// plaintext person id.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { combineShares, splitShares } from '../src/mpc/share.js';
import { packWords, selectRecord, type SelectTable } from '../src/mpc/select.js';
import { idBits } from '../src/mpc/id-bits.js';
import type { BShare } from '../src/mpc/boolean.js';
import type { Party } from '../src/mpc/party.js';
import { agreedBits, RecordCache, type CachedVersion } from '../src/node/record-cache.js';
import { ShareStore } from '../src/node/store.js';
import { generateNodeKey } from '../src/net/keys.js';
import { rng, run3 } from './harness.js';
import { filesUnder, writeVersion } from './store-fixture.js';

const col = (xs: number[]) => BigUint64Array.from(xs, (x) => BigInt(x));
const MAX_ID = 2 ** 34 - 1;
const root = mkdtempSync(join(tmpdir(), 'mosaik-select-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Reg {
  person: number[];
  x: number[];
  bound: number;
}

const unpack = (w: bigint) => (w & 4n ? Number((w >> 3n) & 1023n) : null);
const want = (r: Reg, t: number) => r.person.flatMap((p, i) => (p === t ? [r.x[i]!] : [])).sort((a, b) => a - b);

/** Party p's tables for registers `regs` (shares from `sh`), with their bits if given. */
const tablesOf = (p: Party, regs: Reg[], sh: ReturnType<typeof splitShares>[][], bits?: BShare[]): SelectTable[] =>
  regs.map((r, k) => ({ person: sh[k]![0]![p.id]!, words: packWords(p, [sh[k]![1]![p.id]!], [{ column: 0, word: 0, shift: 3, offset: 0n }], 1), bound: r.bound, ...(bits ? { bits: bits[k]! } : {}) }));

/** Which segments have their id bits: all, none, only the registers', only the key table's. */
type Kept = boolean | 'registers' | 'key';

/** Reads `target` from every register, with or without id bits; the key table maps ref 1000 + i to keys[i]. */
async function read(regs: Reg[], target: number, keys: number[], ref: number, cached: Kept) {
  const sh = regs.map((r) => [splitShares(col(r.person)), splitShares(col(r.x))]);
  const [kRef, kPerson, t] = [col(keys.map((_, i) => 1000 + i)), col(keys), col([target])].map((c) => splitShares(c));
  const out = await run3(async (p) => {
    const key = { ref: kRef![p.id]!, person: kPerson![p.id]! };
    const bits = cached ? await idBits(p, [...sh.map((s) => s[0]![p.id]!), key.person, key.ref]) : undefined;
    const n = regs.length;
    const table = bits && cached !== 'registers' ? { ...key, bits: { person: bits[n]!, ref: bits[n + 1]! } } : key;
    const r = await selectRecord(p, { person: t![p.id]!, key: { table, ref: BigInt(ref) }, tables: tablesOf(p, regs, sh, cached === 'key' ? undefined : bits) });
    return { match: r.match, rows: r.rows.map((w) => w[0]!) };
  });
  const rows = out[0].rows.map((w, k) => Array.from(combineShares(w, out[1].rows[k]!), unpack));
  return { match: out[0].match, rows };
}

/** What a read must give: every register's rows of the target, padded with dummies to its bound. */
function check(got: Awaited<ReturnType<typeof read>>, regs: Reg[], target: number, what: string) {
  got.rows.forEach((rows, k) => {
    assert.equal(rows.length, regs[k]!.bound, `${what}: register ${k} keeps its bound`);
    assert.deepEqual(rows.filter((x) => x !== null).sort((a, b) => a! - b!), want(regs[k]!, target), `${what}: register ${k}`);
  });
}

function randomReg(n: number, ids: number[], bound: number, seed: number): Reg {
  const r = rng(seed);
  const person = Array.from({ length: n }, () => ids[Math.floor(r() * ids.length)]!);
  return { person, x: Array.from({ length: n }, () => Math.floor(r() * 1000)), bound };
}

describe('record reads with the person ids\' bits kept', () => {
  it('the same record as without them, on random and edge inputs', async () => {
    const ids = [0, 7, 1_234_567_890, 17_000_000_000, MAX_ID];
    const regs: Reg[] = [randomReg(97, ids.slice(1), 40, 1), randomReg(64, [7, 1_234_567_890], 50, 2)];
    // Edge rows: the target (0 or MAX_ID) in the first and the last row of register 0; none in register 1.
    regs[0]!.person[0] = MAX_ID;
    regs[0]!.person[96] = MAX_ID;
    const keys = [...ids, 99];
    for (const [i, target] of ids.entries()) {
      const cached = await read(regs, target, keys, 1000 + i, true);
      assert.equal(cached.match, 1, `key check for ${target}`);
      check(cached, regs, target, `cached, person ${target}`);
      for (const kept of [false, 'registers', 'key'] as const) {
        const other = await read(regs, target, keys, 1000 + i, kept);
        assert.equal(other.match, 1, `key check for ${target}, id bits kept: ${kept}`);
        assert.deepEqual(other.rows.map((r) => r.filter((x) => x !== null).sort()), cached.rows.map((r) => r.filter((x) => x !== null).sort()), `same rows for ${target}, id bits kept: ${kept}`);
      }
    }
    // Absent person (its key exists): dummies only.
    const absent = await read(regs, 99, keys, 1005, true);
    assert.equal(absent.match, 1);
    check(absent, regs, 99, 'absent');
    // Another person's key: refused inside MPC, with or without the key table's bits.
    assert.equal((await read(regs, 7, keys, 1002, true)).match, 0);
    assert.equal((await read(regs, 7, keys, 1002, 'registers')).match, 0);
  });

  it('rows exactly at the bound, and a register over it refused', async () => {
    const reg: Reg = { person: [5, 6, 5, 5, 6, 5], x: [1, 2, 3, 4, 5, 6], bound: 4 };
    const got = await read([reg], 5, [5], 1000, true);
    check(got, [reg], 5, 'at the bound');
    assert.ok(got.rows[0]!.every((x) => x !== null), 'no dummies');
    await assert.rejects(read([{ ...reg, bound: 3 }], 5, [5], 1000, true), /more rows for this person than its declared bound of 3/);
  });

  it('a target outside the ids\' range matches no row and owns no key', async () => {
    const reg: Reg = { person: [3, 4, 3], x: [1, 2, 3], bound: 2 };
    const got = await read([reg], 3 + 2 ** 34, [3], 1000, true);
    assert.equal(got.match, 0);
    // Not even a key table row holding the same out-of-range value (ids are below 2^34 by validation).
    assert.equal((await read([reg], 3 + 2 ** 40, [3 + 2 ** 40], 1000, true)).match, 0);
  });
});

describe('the nodes\' cache of id bits', () => {
  it('made once and agreed by all three; remade when one node lacks them, for a new version and a version re-ingested after damage', async () => {
    const keys = await Promise.all([0, 1, 2].map((i) => generateNodeKey(`n${i}`)));
    const dirs = [0, 1, 2].map((i) => join(root, `node${i}`));
    const stores = dirs.map((d, i) => new ShareStore(d, keys[i]!.keyPem, i));
    const caches = stores.map((s) => new RecordCache(s));
    const v1 = { person: [11, 12, 11, 13, 4_000_000_001], x: [1, 2, 3, 4, 5] };
    const split = (r: typeof v1) => [splitShares(col(r.person)), splitShares(col(r.x))];
    let sh = split(v1);
    for (const [i, st] of stores.entries()) await writeVersion(st, 'v1', [sh[0]![i]!, sh[1]![i]!], i);
    /** One read of person `t` of version v at every node through the caches; returns the rows and whether the bits were (re)made. */
    const readVia = async (v: string, t: number, drop?: number) => {
      const ts = splitShares(col([t]));
      const out = await run3(async (p) => {
        const e = caches[p.id]!.version('reg', v, ['person_id', 'x']);
        if (drop === p.id) e.bits.clear();
        const before = e.bits.get('person_id');
        const [bits] = await agreedBits(p, [{ entry: e, column: 'person_id' }]);
        const words = packWords(p, [e.cols.get('x')!], [{ column: 0, word: 0, shift: 3, offset: 0n }], 1);
        const r = await selectRecord(p, { person: ts[p.id]!, tables: [{ person: e.cols.get('person_id')!, bits: bits!, words, bound: 3 }] });
        return { rows: r.rows[0]![0]!, remade: before?.bits !== bits, e: e as CachedVersion };
      });
      return { rows: Array.from(combineShares(out[0].rows, out[1].rows), unpack).filter((x) => x !== null).sort(), remade: out.map((o) => o.remade) };
    };
    const first = await readVia('v1', 11);
    assert.deepEqual(first.rows, [1, 3]);
    assert.deepEqual(first.remade, [true, true, true], 'made at the first read');
    assert.ok(caches.every((c) => c.hasBits('reg', 'v1', 'person_id')));
    const second = await readVia('v1', 4_000_000_001);
    assert.deepEqual(second.rows, [5]);
    assert.deepEqual(second.remade, [false, false, false], 'reused');
    const lost = await readVia('v1', 12, 1);
    assert.deepEqual(lost.rows, [2]);
    assert.deepEqual(lost.remade, [true, true, true], 'remade by all three when node 1 lacks them');
    // A new version: its own bits; the old ones are dropped.
    const v2 = { person: [12, 12, 14], x: [7, 8, 9] };
    sh = split(v2);
    for (const [i, st] of stores.entries()) await writeVersion(st, 'v2', [sh[0]![i]!, sh[1]![i]!], i);
    assert.ok(!caches[0]!.hasBits('reg', 'v2', 'person_id'));
    const r2 = await readVia('v2', 12);
    assert.deepEqual(r2.rows, [7, 8]);
    assert.deepEqual(r2.remade, [true, true, true]);
    // v1 found damaged at every node and re-ingested with other rows: new bits, the new rows.
    const v1b = { person: [11, 20, 20], x: [30, 31, 32] };
    sh = split(v1b);
    for (const [i, d] of dirs.entries()) {
      const meta = join(d, 'store', 'datasets', 'reg', 'v1', 'meta.json');
      writeFileSync(meta, readFileSync(meta, 'utf8').replace('"rows": 5', '"rows": 6'));
      const st = new ShareStore(d, keys[i]!.keyPem, i);
      assert.equal(st.damaged.length, 1);
      stores[i] = st;
      (caches[i] as unknown as { store: ShareStore }).store = st;
      await writeVersion(st, 'v1', [sh[0]![i]!, sh[1]![i]!], i);
      assert.ok(!caches[i]!.hasBits('reg', 'v1', 'person_id'), 'the re-ingested version has no bits yet');
    }
    const r1b = await readVia('v1', 20);
    assert.deepEqual(r1b.rows, [31, 32]);
    assert.deepEqual(r1b.remade, [true, true, true]);
    // No plaintext person id in any node's files (8 bytes little-endian, or in decimal).
    for (const d of dirs) {
      for (const f of filesUnder(d)) {
        const raw = readFileSync(f);
        for (const id of [...v1.person, ...v2.person, ...v1b.person]) {
          const le = Buffer.alloc(8);
          le.writeBigUInt64LE(BigInt(id));
          assert.equal(raw.indexOf(le), -1, `${f} holds person ${id}`);
          if (id > 1e6) assert.equal(raw.indexOf(String(id)), -1, `${f} holds person ${id} in decimal`);
        }
      }
    }
  });
});
