// Segmented scans and the sort-based join, against plaintext on random and edge inputs; and what
// a single node sees of a join: the same messages, of the same sizes, with the same byte
// distribution whichever identifiers match.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { JoinError, joinOnKey, type JoinInput, type JoinLineup } from '../src/mpc/join.js';
import type { Party } from '../src/mpc/party.js';
import { prefixSum, propagate, propagateWithin } from '../src/mpc/scan.js';
import { propagateBits } from '../src/mpc/scan-bits.js';
import * as B from '../src/mpc/boolean.js';
import { AShare } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import { chiSquare, col, LENGTHS, randomInts, run3, shareAll, signed } from './harness.js';

const big = (xs: number[]) => xs.map(BigInt);

/** Flags of n rows in segments of 1..window rows, each starting with a set flag; other flags random. */
function windowFlags(n: number, window: number): number[] {
  const flag: number[] = [];
  while (flag.length < n) {
    const len = 1 + randomInt(window);
    for (let r = 0; r < len && flag.length < n; r++) flag.push(r === 0 ? 1 : randomInt(2));
  }
  return flag;
}

describe('segmented scan (copy the last set value forward)', () => {
  it('matches a plaintext scan for several groups at edge lengths', async () => {
    // 300 001 rows: the first levels' products span two message slices (STREAM_LANES), split inside a column.
    for (const n of [...LENGTHS, 777, 300_001]) {
      const flags = [0, 1].map(() => Array.from({ length: n }, () => (randomInt(4) === 0 ? 1 : 0)));
      const vals = [randomInts(n), randomInts(n), randomInts(n)].map((v, i) => v.map((x, r) => (flags[i === 2 ? 1 : 0]![r] ? x : 0n)));
      const sh = shareAll(...flags.map((f) => col(big(f))), ...vals.map(col));
      const out = await run3(async (p) => {
        const res = await propagate(p, [
          { flag: sh[0]![p.id]!, values: [sh[2]![p.id]!, sh[3]![p.id]!] },
          { flag: sh[1]![p.id]!, values: [sh[4]![p.id]!] },
        ]);
        // Again with value columns given up (written over), without the scanned flags: the same
        // values; the columns not given up are left as they were.
        const copy = (x: AShare) => new AShare(x.a.slice(), x.b.slice());
        const kept = copy(sh[2]![p.id]!);
        const given = await propagate(p, [
          { flag: sh[0]![p.id]!, values: [kept, copy(sh[3]![p.id]!)], consume: [1] },
          { flag: sh[1]![p.id]!, values: [copy(sh[4]![p.id]!)], consume: [0] },
        ], { flags: false });
        assert.deepEqual([kept.a, kept.b], [sh[2]![p.id]!.a, sh[2]![p.id]!.b], `a column not given up is unchanged, n = ${n}`);
        assert.equal(given[0]![0], sh[0]![p.id]!, 'without flags, the flag slot holds the input flag');
        const values = await A.revealMany(p, [given[0]![1]!, given[0]![2]!, given[1]![1]!]);
        return [...(await A.revealMany(p, res.flat())), ...values];
      });
      const want = (f: number[], v: bigint[]) => {
        let cf = 0n, cv = 0n;
        return f.map((fl, i) => {
          if (fl) [cf, cv] = [1n, v[i]!];
          return [cf, cv] as const;
        });
      };
      const g0a = want(flags[0]!, vals[0]!), g0b = want(flags[0]!, vals[1]!), g1 = want(flags[1]!, vals[2]!);
      for (const r of out) {
        assert.deepEqual(signed(r[0]!), g0a.map((x) => x[0]), `flags, n = ${n}`);
        assert.deepEqual(signed(r[1]!), g0a.map((x) => x[1]), `values, n = ${n}`);
        assert.deepEqual(signed(r[2]!), g0b.map((x) => x[1]));
        assert.deepEqual(signed(r[3]!), g1.map((x) => x[0]));
        assert.deepEqual(signed(r[4]!), g1.map((x) => x[1]));
        assert.deepEqual(r.slice(5).map((c) => signed(c!)), [g0a, g0b, g1].map((g) => g.map((x) => x[1])), `values, columns given up, n = ${n}`);
      }
    }
  });

  it('looks back only a window where every row has a set flag that near (equals the full scan)', async () => {
    for (const window of [1, 2, 3, 4, 7]) {
      for (const n of [...LENGTHS, 1000]) {
        const flag = windowFlags(n, window);
        const vals = [randomInts(n), randomInts(n)].map((v) => v.map((x, r) => (flag[r] ? x : 0n)));
        const sh = shareAll(col(big(flag)), ...vals.map(col));
        const [within, full] = await run3(async (p) => {
          const g = [{ flag: sh[0]![p.id]!, values: [sh[1]![p.id]!, sh[2]![p.id]!] }];
          const [w, nf, f, fnf] = [await propagateWithin(p, g, window), await propagateWithin(p, g, window, { flags: false }), await propagate(p, g), await propagate(p, g, { flags: false })];
          return A.revealMany(p, [...w[0]!.slice(1), ...nf[0]!.slice(1), ...fnf[0]!.slice(1), ...f[0]!.slice(1)]);
        }).then((rs) => [rs[0]!.slice(0, 6), rs[0]!.slice(6)]);
        assert.deepEqual(within!.map((c) => signed(c!)), [...full!, ...full!, ...full!].map((c) => signed(c!)), `window ${window}, n = ${n}`);
      }
    }
  });

  it('the windowed scan writes over the columns given up, and only those (equals the full scan)', async () => {
    for (const window of [2, 3, 4, 7]) {
      for (const n of [1, 2, 5, 33, 1000, 300_001]) {
        const flag = windowFlags(n, window);
        const vals = [randomInts(n), randomInts(n), randomInts(n)].map((v) => v.map((x, r) => (flag[r] ? x : 0n)));
        const sh = shareAll(col(big(flag)), ...vals.map(col));
        const [within, full] = await run3(async (p) => {
          const copy = (x: AShare) => new AShare(x.a.slice(), x.b.slice());
          const [f0, k1] = [copy(sh[0]![p.id]!), copy(sh[1]![p.id]!)];
          // Two groups sharing the flag column (as a join's `first`); value columns 2 and 3 given up.
          const given = await propagateWithin(p, [
            { flag: f0, values: [k1, copy(sh[2]![p.id]!)], consume: [1] },
            { flag: f0, values: [copy(sh[3]![p.id]!)], consume: [0] },
          ], window, { flags: false });
          assert.deepEqual([f0.a, f0.b, k1.a, k1.b], [sh[0]![p.id]!.a, sh[0]![p.id]!.b, sh[1]![p.id]!.a, sh[1]![p.id]!.b], `the shared flag and a column not given up are unchanged, window ${window}, n = ${n}`);
          const g = [{ flag: sh[0]![p.id]!, values: [sh[1]![p.id]!, sh[2]![p.id]!, sh[3]![p.id]!] }];
          const f = await propagate(p, g, { flags: false });
          return A.revealMany(p, [given[0]![1]!, given[0]![2]!, given[1]![1]!, ...f[0]!.slice(1)]);
        }).then((rs) => [rs[0]!.slice(0, 3), rs[0]!.slice(3)]);
        assert.deepEqual(within!.map((c) => signed(c!)), full!.map((c) => signed(c!)), `window ${window}, n = ${n}`);
      }
    }
  });

  it('one-bit values on boolean shares (propagateBits): the plaintext scan, three planes at once, full and windowed', async () => {
    for (const n of [...LENGTHS, 777, 4097]) {
      for (const window of [n, 2, 3, 4, 40]) {
        // Three scans; in the windowed ones every row has a set flag at most window − 1 rows back.
        const flags = [0, 1, 2].map(() => {
          const f: number[] = [];
          while (f.length < n) {
            const len = window >= n ? 1 + randomInt(n + 1) : 1 + randomInt(window);
            for (let r = 0; r < len && f.length < n; r++) f.push((r === 0 && window < n) || randomInt(4) === 0 ? 1 : 0);
          }
          return f;
        });
        const vals = flags.map((f) => f.map((x) => (x ? randomInt(2) : 0)));
        const planes = (rows: number[][]) => {
          const W = (n + 31) >>> 5, out = new Uint32Array(3 * W);
          rows.forEach((r, k) => r.forEach((x, i) => (out[k * W + (i >>> 5)]! |= x << (i & 31))));
          return out;
        };
        const out = await run3(async (p) => {
          const f = await B.inputBits(p, 0, p.id === 0 ? planes(flags) : null, n, 3);
          const v = await B.inputBits(p, 1, p.id === 1 ? planes(vals) : null, n, 3);
          return B.revealBits(p, await propagateBits(p, f, v, window));
        });
        const want = planes(flags.map((f, k) => {
          let cv = 0;
          return f.map((fl, i) => (fl ? (cv = vals[k]![i]!) : cv));
        }));
        const W = (n + 31) >>> 5, tail = n & 31 ? (1 << (n & 31)) - 1 : 0xffffffff;
        for (const r of out) {
          for (let k = 0; k < 3 && W > 0; k++) r![k * W + W - 1]! &= tail; // lanes past n are not rows
          assert.deepEqual(r, want, `n = ${n}, window ${window}`);
        }
      }
    }
  });

  it('prefix sums wrap mod 2^64 like the ring', async () => {
    const v = randomInts(300);
    const [s] = shareAll(col(v));
    const [got] = await run3(async (p) => A.reveal(p, prefixSum(s![p.id]!)));
    let acc = 0n;
    assert.deepEqual(signed(got!), v.map((x) => (acc = BigInt.asIntN(64, acc + x))));
  });
});

interface Table {
  keys: number[];
  cols: bigint[][];
  present?: number[];
  unique: boolean | 'check';
  /** Per row a value that with the key identifies it (e.g. the year's offset), its bits, and how many values it takes. */
  tie?: { vals: number[]; bits: number; values?: number };
}

/** Plaintext of what joinOnKey returns, row by row in (key, table, original row) order. */
function plainJoin(tables: Table[]) {
  const rows = tables.flatMap((t, ti) => t.keys.map((key, r) => ({ key, ti, r })));
  rows.sort((x, y) => x.key - y.key || x.ti - y.ti || x.r - y.r);
  return rows.map((row, i) => {
    const group = rows.filter((o) => o.key === row.key);
    const upTo = group.filter((o) => rows.indexOf(o) <= i);
    const per = tables.map((t, ti) => {
      const isHere = row.ti === ti && (t.present?.[row.r] ?? 1) === 1;
      const mine = upTo.filter((o) => o.ti === ti && (t.present?.[o.r] ?? 1) === 1);
      const src = t.unique === false ? (isHere ? row : null) : (mine.at(-1) ?? null);
      return {
        here: isHere ? 1n : 0n,
        has: mine.length ? 1n : 0n,
        columns: t.cols.map((c) => (src ? c[src.r]! : 0n)),
      };
    });
    return { per, first: group[0] === row ? 1n : 0n, last: group.at(-1) === row ? 1n : 0n };
  });
}

/**
 * With `reuse`, a first join over the same keys (other columns, no filters) hands its line-up to
 * the checked one, which must then not sort and give the same rows. Returns the frames party 0 sent
 * in the checked join.
 */
async function checkJoin(tables: Table[], keyBits = 34, lastHas = true, reuse = false, sorted = false): Promise<number> {
  if (sorted) tables = tables.map(byKey);
  const shares = tables.map((t) => ({
    key: shareAll(col(big(t.keys)))[0]!,
    cols: t.cols.map((c) => shareAll(col(c))[0]!),
    present: t.present ? shareAll(col(big(t.present)))[0]! : null,
    tie: t.tie ? shareAll(col(big(t.tie.vals)))[0]! : null,
  }));
  const out = await run3(async (p) => {
    const inputs: JoinInput[] = tables.map((t, i) => ({
      key: shares[i]!.key[p.id]!,
      columns: shares[i]!.cols.map((c) => c[p.id]!),
      ...(shares[i]!.present ? { present: shares[i]!.present![p.id]! } : {}),
      ...(t.tie ? { tie: { column: shares[i]!.tie![p.id]!, bits: t.tie.bits, ...(t.tie.values !== undefined ? { values: t.tie.values } : {}) } } : {}),
      unique: t.unique,
      ...(sorted ? { sorted } : {}),
    }));
    let lineup: JoinLineup | undefined;
    if (reuse) {
      const other = inputs.map((t) => ({ key: t.key, columns: [A.random(p, t.key.length)], unique: t.unique, ...(sorted ? { sorted } : {}) }));
      lineup = (await joinOnKey(p, other, { keyBits, lastHas: !lastHas })).lineup;
      assert.ok(lineup, 'the first join hands its line-up over');
    }
    const phases: string[] = [];
    const before = p.net.stats.frames;
    const j = await joinOnKey(p, inputs, { keyBits, lastHas, ...(lineup ? { lineup } : {}), onPhase: (ph) => phases.push(ph) });
    const frames = p.net.stats.frames - before;
    // Without a row index in the sort exactly where every table's rows are unique, or told apart by a tie column.
    if (sorted) assert.ok(j.lineup.shape.endsWith('merged'), 'sorted tables are merged');
    else if (!reuse) assert.equal(j.lineup.shape.includes('distinct'), tables.every((t) => t.unique === true && (!t.present || !!t.tie)), 'tie-break by row index only where needed');
    else assert.equal(j.lineup, lineup, 'the line-up given is the one used');
    assert.equal(phases.includes('sort'), !reuse, 'a join given a line-up does not sort');
    return { frames, cols: await A.revealMany(p, [j.first, j.last, ...j.tables.flatMap((t) => [t.here, t.has, ...t.columns])]) };
  });
  const want = plainJoin(tables);
  for (const { cols: got } of out) {
    const [first, last, ...rest] = got.map((c) => signed(c!));
    assert.deepEqual(first, want.map((w) => w.first), 'group starts');
    assert.deepEqual(last, want.map((w) => w.last), 'group ends');
    let k = 0;
    tables.forEach((t, ti) => {
      assert.deepEqual(rest[k++], want.map((w) => w.per[ti]!.here), `here, table ${ti}`);
      const hasOf = (w: (typeof want)[number]) => (!lastHas && ti === tables.length - 1 ? w.per[ti]!.here : w.per[ti]!.has);
      assert.deepEqual(rest[k++], want.map(hasOf), `has, table ${ti}`);
      t.cols.forEach((_, c) => assert.deepEqual(rest[k++], want.map((w) => w.per[ti]!.columns[c]!), `column ${c} of table ${ti}`));
    });
  }
  return out[0].frames;
}

/** The table's rows in ascending key order (stable), as its custodian would upload them. */
function byKey(t: Table): Table {
  const o = t.keys.map((_, i) => i).sort((i, j) => t.keys[i]! - t.keys[j]! || i - j);
  const pick = <T>(xs: T[]) => o.map((i) => xs[i]!);
  return { ...t, keys: pick(t.keys), cols: t.cols.map(pick), ...(t.present ? { present: pick(t.present) } : {}), ...(t.tie ? { tie: { ...t.tie, vals: pick(t.tie.vals) } } : {}) };
}

/**
 * Population-, income- and contacts-like tables of n1, n2, n3 rows: one row per key; one per key,
 * half filtered out and checked in MPC; several per key, a third filtered out.
 */
function threeTables(n1: number, n2: number, n3: number, popCols = 1, conCols = 1): Table[] {
  const pop = distinct(n1, 120);
  const inc = distinct(n2, 120);
  const con = Array.from({ length: n3 }, () => randomInt(130));
  return [
    { keys: pop, cols: Array.from({ length: popCols }, (_, c) => randomInts(n1, c ? 8 : 20)), unique: true },
    { keys: inc, cols: [randomInts(n2, 30)], present: inc.map(() => randomInt(2)), unique: 'check' },
    { keys: con, cols: Array.from({ length: conCols }, () => randomInts(n3, 16)), present: con.map(() => (randomInt(3) ? 1 : 0)), unique: false },
  ];
}

const distinct = (n: number, max: number) => {
  const s = new Set<number>();
  while (s.size < n) s.add(randomInt(max));
  return [...s];
};

describe('join on a shared key (sort, group boundaries, segmented scan)', () => {
  it('one-to-many: persons on one side only, several rows per person, keys at the bounds', async () => {
    const persons = [0, 5, 9, 2 ** 34 - 1, 17, 3];
    const contacts = [5, 5, 5, 9, 42, 2 ** 34 - 1, 0, 42, 7];
    await checkJoin([
      { keys: persons, cols: [big([1, 2, 3, 4, 5, 6]), randomInts(6)], unique: true },
      { keys: contacts, cols: [randomInts(9)], unique: false },
    ]);
    await checkJoin([
      { keys: persons, cols: [randomInts(6)], unique: 'check' },
      { keys: contacts, cols: [randomInts(9)], present: [1, 0, 1, 1, 1, 0, 1, 1, 1], unique: false },
    ], 34, false);
  });

  it('a later join over the same keys reuses the first one\'s line-up (no sort) and gives the same rows', async () => {
    const persons = [0, 5, 9, 2 ** 34 - 1, 17, 3];
    const contacts = [5, 5, 5, 9, 42, 2 ** 34 - 1, 0, 42, 7];
    await checkJoin([
      { keys: persons, cols: [randomInts(6)], unique: true },
      { keys: contacts, cols: [randomInts(9), randomInts(9)], present: [1, 0, 1, 1, 1, 0, 1, 1, 1], unique: false },
    ], 34, true, true);
    for (const [n1, n2, n3] of [[50, 40, 200], [1, 1, 1], [0, 20, 20]] as const) await checkJoin(threeTables(n1, n2, n3), 34, true, true);
    const a = distinct(300, 1000), b = distinct(250, 1000);
    await checkJoin([{ keys: a, cols: [randomInts(300)], unique: true }, { keys: b, cols: [randomInts(250)], unique: true }], 34, true, true);
  });

  it('refuses a line-up made for other tables, or for the same rows sorted another way', async () => {
    const [k1] = shareAll(col(big([1, 2, 3])));
    const [k2] = shareAll(col(big([1, 2])));
    await run3(async (p) => {
      const { lineup } = await joinOnKey(p, [{ key: k1![p.id]!, columns: [], unique: true }], { keyBits: 8 });
      await assert.rejects(joinOnKey(p, [{ key: k2![p.id]!, columns: [], unique: true }], { keyBits: 8, lineup }), /line-up was made for 3 rows/);
      // The same rows, but filtered: unique only after the filter, so its sort would break ties by row index.
      const [f] = shareAll(col(big([1, 0, 1])));
      await assert.rejects(joinOnKey(p, [{ key: k1![p.id]!, columns: [], present: f![p.id]!, unique: true }], { keyBits: 8, lineup }), /line-up was made for 3 rows \(3 rows, distinct, 0 tie bits\), these tables have 3 \(3 rows, row index\)/);
    });
  });

  it('a first table unique only after its filter (several rows per key, one present): its row is found wherever it sits in the group', async () => {
    // Income-like: three rows per person (years), one present; declared unique (of its present rows).
    const ids = distinct(40, 200);
    const years = ids.flatMap((k) => [k, k, k]);
    const present = ids.flatMap(() => { const y = randomInt(3); return [0, 1, 2].map((j) => (j === y ? 1 : 0)); });
    await checkJoin([
      { keys: years, cols: [randomInts(120, 20)], present, unique: true },
      { keys: distinct(50, 200), cols: [randomInts(50, 20)], unique: true },
    ]);
    // Told apart by the year (0..2 in 2 bits) instead of the row index; also as the second table.
    const tie = { vals: ids.flatMap(() => [0, 1, 2]), bits: 2 };
    await checkJoin([
      { keys: years, cols: [randomInts(120, 20)], present, unique: true, tie },
      { keys: distinct(50, 200), cols: [randomInts(50, 20)], unique: true },
    ]);
    await checkJoin([
      { keys: distinct(50, 200), cols: [randomInts(50, 20)], unique: true },
      { keys: years, cols: [randomInts(120, 20)], present, unique: true, tie },
    ]);
  });

  it('a tie column of fewer values than its bits allow: at most that many rows per key, so the scan looks back over the group only (fewer rounds), with the same rows', async () => {
    // Income-like: three years in 2 bits, one present; with the second table's row, groups of at
    // most 4 rows (3 + 1) instead of 5 (4 + 1): the windowed scan instead of the full one.
    const ids = distinct(40, 200);
    const years = ids.flatMap((k) => [k, k, k]);
    const present = ids.flatMap(() => { const y = randomInt(3); return [0, 1, 2].map((j) => (j === y ? 1 : 0)); });
    const vals = ids.flatMap(() => [0, 1, 2]);
    const other: Table = { keys: distinct(50, 200), cols: [randomInts(50, 20)], unique: true };
    const tables = (values?: number): Table[] => [{ keys: years, cols: [randomInts(120, 20)], present, unique: true, tie: { vals, bits: 2, ...(values ? { values } : {}) } }, other];
    // Sorted in MPC (its rounds depend on the shuffled comparisons: only the rows are checked), then
    // merged (the same rounds whatever the data): fewer frames with the bound.
    await checkJoin(tables(3));
    const bounded = await checkJoin(tables(3), 34, true, false, true);
    const byBits = await checkJoin(tables(), 34, true, false, true);
    assert.ok(bounded < byBits, `${bounded} frames with 3 values, ${byBits} with 2 bits`);
    // A bound the bits cannot hold is refused.
    await assert.rejects(checkJoin([{ keys: years, cols: [], present, unique: true, tie: { vals, bits: 2, values: 5 } }, other]), /a tie column of 2 bits takes 1\.\.4 values, not 5/);
  });

  it('three tables, with filters on a unique and on the many side, random sizes', async () => {
    for (const [n1, n2, n3] of [[50, 40, 200], [1, 1, 1], [30, 0, 100], [0, 20, 20], [64, 64, 0]] as const) await checkJoin(threeTables(n1, n2, n3, 2, 3));
  });

  it('one-to-one of two unique tables, and a single table', async () => {
    const a = distinct(300, 1000), b = distinct(250, 1000);
    await checkJoin([
      { keys: a, cols: [randomInts(300)], unique: true },
      { keys: b, cols: [randomInts(250)], unique: true },
    ]);
    await checkJoin([{ keys: [3, 1, 3], cols: [big([1, 2, 3])], unique: false }]);
  });

  it('tables sorted by their custodians are merged instead of sorted, with the same rows', async () => {
    const persons = [0, 5, 9, 2 ** 34 - 1, 17, 3];
    const contacts = [5, 5, 5, 9, 42, 2 ** 34 - 1, 0, 42, 7];
    await checkJoin([
      { keys: persons, cols: [big([1, 2, 3, 4, 5, 6]), randomInts(6)], unique: true },
      { keys: contacts, cols: [randomInts(9)], present: [1, 0, 1, 1, 1, 0, 1, 1, 1], unique: false },
    ], 34, true, false, true);
    for (const [n1, n2, n3] of [[50, 40, 200], [1, 1, 1], [30, 0, 100], [0, 20, 20], [64, 64, 0]] as const) await checkJoin(threeTables(n1, n2, n3, 1, 2), 34, true, false, true);
    // A line-up made by merging is reused; several rows per key on the first side, one present.
    const ids = distinct(40, 200);
    const years = ids.flatMap((k) => [k, k, k]);
    const present = ids.flatMap(() => { const y = randomInt(3); return [0, 1, 2].map((j) => (j === y ? 1 : 0)); });
    await checkJoin([
      { keys: years, cols: [randomInts(120, 20)], present, unique: true },
      { keys: Array.from({ length: 300 }, () => randomInt(210)), cols: [randomInts(300, 20)], unique: false },
    ], 34, true, true, true);
  });

  it('a first table with several rows per key, some filtered out', async () => {
    await checkJoin([
      { keys: [5, 5, 7, 9, 9], cols: [big([111, 222, 3, 4, 5])], present: [0, 1, 1, 1, 0], unique: 'check' },
      { keys: [5, 9, 9, 7], cols: [], unique: false },
    ]);
    await checkJoin([{ keys: [5, 5, 6], cols: [big([1, 2, 3])], present: [0, 1, 1], unique: false }, { keys: [5, 6], cols: [], unique: true }]);
  });

  it('a unique side checked in MPC: duplicates refused, duplicates filtered out accepted', async () => {
    const t = (present?: number[]): Table[] => [
      { keys: [1, 2, 3], cols: [big([10, 20, 30])], unique: true },
      { keys: [2, 2, 3], cols: [big([7, 8, 9])], ...(present ? { present } : {}), unique: 'check' },
      { keys: [1, 2], cols: [], unique: false },
    ];
    await assert.rejects(() => checkJoin(t()), (e: unknown) => e instanceof JoinError && /more than one row for some key/.test(e.message));
    await checkJoin(t([1, 0, 1]));
  });
});

describe('what one node sees of a join', () => {
  // The same table sizes, very different matches: everything matches one person, nothing matches,
  // a random pattern. Every node must receive the same messages after the sort (count and sizes), and their bytes
  // must have the same distribution (two-sample chi-square over many runs, p ≈ 1e-9 threshold).
  const N1 = 24, N2 = 40, RUNS = 25;
  const scenarios: Record<string, () => [number[], number[]]> = {
    allOnePerson: () => {
      const pop = distinct(N1, 1 << 20);
      return [pop, Array(N2).fill(pop[0]!)];
    },
    noneMatch: () => [distinct(N1, 1 << 20), Array.from({ length: N2 }, (_, i) => (1 << 21) + i)],
    random: () => [distinct(N1, 64), Array.from({ length: N2 }, () => randomInt(64))],
  };

  async function view(name: string, viewer: PartyId, hist: Float64Array, sorted = false): Promise<string[]> {
    const [pop, con] = scenarios[name]!().map((k) => (sorted ? [...k].sort((a, b) => a - b) : k)) as [number[], number[]];
    const [pk, pc, ck, cc] = shareAll(col(big(pop)), col(randomInts(N1, 16)), col(big(con)), col(randomInts(N2, 16)));
    const shape: string[] = [];
    let recording = false;
    const phase = ['', '', '']; // each sender's phase
    await run3(
      async (p: Party) => {
        recording = true;
        const j = await joinOnKey(p, [
          { key: pk![p.id]!, columns: [pc![p.id]!], unique: true, sorted },
          { key: ck![p.id]!, columns: [cc![p.id]!], unique: false, sorted },
        ], { keyBits: 34, onPhase: (ph) => (phase[p.id] = ph) });
        return j.n;
      },
      {
        tap: (from, to, data) => {
          if (recording && to === viewer) {
            // The sort's number of levels is random (a function of the random shuffle only, see
            // sort.ts and its tests); every message after it has a fixed size. Merging sorted
            // tables (merge.ts) is a fixed network: all its messages count.
            if (sorted || phase[from] !== 'sort') shape.push(`${from}:${data.byteLength}`);
            for (const b of data) hist[b]!++;
          }
          return data;
        },
      },
    );
    return shape;
  }

  it('receives the same messages with the same byte distribution whichever identifiers match', async () => {
    for (const sorted of [false, true]) {
      for (const viewer of [0, 1, 2] as PartyId[]) {
        const hists: Record<string, Float64Array> = {};
        let shape: string | null = null;
        for (const name of Object.keys(scenarios)) {
          const h = new Float64Array(256);
          for (let r = 0; r < RUNS; r++) {
            const s = (await view(name, viewer, h, sorted)).join(',');
            if (shape === null) shape = s;
            assert.equal(s, shape, `node ${viewer}${sorted ? ', merged' : ''}: message sizes differ for '${name}'`);
          }
          hists[name] = h;
        }
        const names = Object.keys(hists);
        for (let i = 0; i < names.length; i++) {
          for (let j = i + 1; j < names.length; j++) {
            const chi = chiSquare(hists[names[i]!]!, hists[names[j]!]!);
            assert.ok(chi < 420, `node ${viewer}${sorted ? ', merged' : ''}: ${names[i]} vs ${names[j]}: chi² = ${chi.toFixed(1)}`);
          }
        }
      }
    }
  });
});


describe('group sums by sorting (many groups)', () => {
  it('matches plaintext sums per group, with empty groups, one group, one row and no rows', async () => {
    const { groupSums } = await import('../src/mpc/group.js');
    for (const [n, G] of [[500, 37], [1, 1], [0, 4], [64, 1], [300, 1000]] as const) {
      const g = Array.from({ length: n }, () => randomInt(G));
      const v = [randomInts(n), randomInts(n, 20)];
      const [sg, ...sv] = shareAll(col(big(g)), ...v.map(col));
      const out = await run3(async (p) => A.revealMany(p, await groupSums(p, sg![p.id]!, G, sv.map((s) => s[p.id]!))));
      const want = v.map((c) => {
        const acc = new Array<bigint>(G).fill(0n);
        c.forEach((x, i) => (acc[g[i]!] = BigInt.asIntN(64, acc[g[i]!]! + x)));
        return acc;
      });
      for (const r of out) r.forEach((c, k) => assert.deepEqual(signed(c!), want[k], `n = ${n}, G = ${G}, column ${k}`));
    }
  });
});

describe('date-window cohorts (an A event followed by a B event within lo..hi days)', () => {
  it('matches brute force per person, including same-day events and the window edges', async () => {
    const { eventTable, followedWithin } = await import('../src/mpc/cohort.js');
    type Ev = { k: number; d: number; on: number };
    for (const [lo, hi] of [[0, 365], [30, 90], [0, null], [7, 7]] as const) {
      const persons = distinct(40, 100);
      const ev = (n: number): Ev[] => Array.from({ length: n }, () => ({ k: randomInt(110), d: 19000 + randomInt(400), on: randomInt(4) ? 1 : 0 }));
      const evA = ev(120), evB = ev(150);
      // Edges: B exactly lo days after A (a match), and B hi + 1 days after A (none).
      evA.push({ k: persons[0]!, d: 19100, on: 1 });
      evB.push({ k: persons[0]!, d: 19100 + lo, on: 1 });
      if (hi !== null) evA.push({ k: persons[1]!, d: 19100, on: 1 }), evB.push({ k: persons[1]!, d: 19100 + hi + 1, on: 1 });
      const sh = (xs: Ev[]) => shareAll(col(big(xs.map((x) => x.k))), col(big(xs.map((x) => x.d))), col(big(xs.map((x) => x.on))));
      const [sp] = shareAll(col(big(persons)));
      const sa = sh(evA), sb = sh(evB);
      const out = await run3(async (p) => {
        const src = (s: typeof sa) => ({ key: s[0]![p.id]!, time: s[1]![p.id]!, present: s[2]![p.id]! });
        const events = await eventTable(p, src(sa), src(sb), lo, 20);
        // The person's id as a column of the first table: copied to the group's later rows.
        const j = await joinOnKey(p, [{ key: sp![p.id]!, columns: [sp![p.id]!], unique: true }, events], { keyBits: 34 });
        const any = await followedWithin(p, j.tables[1]!, j.first, hi === null ? null : hi - lo, 20);
        return A.revealMany(p, [j.last, j.tables[0]!.has, j.tables[0]!.columns[0]!, any]);
      });
      const want = new Map(persons.map((k) => [k, evA.some((a) => a.k === k && a.on && evB.some((b) => b.k === k && b.on && b.d - a.d >= lo && (hi === null || b.d - a.d <= hi)))]));
      for (const [last, has, key, any] of out) {
        const got = new Map<number, boolean>();
        for (let i = 0; i < last!.length; i++) if (last![i] === 1n && has![i] === 1n) got.set(Number(key![i]), any![i] === 1n);
        assert.deepEqual(got, want, `window [${lo}, ${hi}]`);
      }
    }
  });
});
