// Oblivious selection of one person's rows (src/mpc/select.ts), three parties in one process:
// the rows kept are exactly the person's (padded with dummies to the public bound), the key check
// says whether the shared person id owns the key, inconsistent shares are refused, and what one
// node sees does not depend on whose record is read (the revealed positions are uniform and the
// count is always the bound).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineShares, splitShares, type AShare } from '../src/mpc/share.js';
import { checkConsistent, packWords, selectRecord, type PackField } from '../src/mpc/select.js';
import { memoryNetwork } from '../src/net/memory.js';
import { rng, run3, runOn } from './harness.js';

const col = (xs: number[]) => BigUint64Array.from(xs, (x) => BigInt(x));

/** A register: person ids and two small columns (values 0..99 and 0..9). */
function register(n: number, persons: number[], seed: number) {
  const r = rng(seed);
  const person = Array.from({ length: n }, () => persons[Math.floor(r() * persons.length)]!);
  const x = Array.from({ length: n }, () => Math.floor(r() * 100));
  const y = Array.from({ length: n }, () => Math.floor(r() * 10));
  return { person, x, y };
}

const FIELDS: PackField[] = [
  { column: 0, word: 0, shift: 3, offset: 0n },
  { column: 1, word: 0, shift: 10, offset: 0n },
];
const unpack = (w: bigint) => (w & 4n ? { x: Number((w >> 3n) & 127n), y: Number((w >> 10n) & 15n) } : null);

/** Runs the selection for `target` (and the key table's ref), returns the rows each party combined. */
async function select(reg: ReturnType<typeof register>, bound: number, target: number, key?: { refs: number[]; persons: number[]; ref: number }) {
  const sh = [col(reg.person), col(reg.x), col(reg.y), col([target])].map((c) => splitShares(c));
  const kt = key ? [col(key.refs), col(key.persons)].map((c) => splitShares(c)) : null;
  const out = await run3(async (p) => {
    const me = (k: number) => sh[k]![p.id]!;
    await checkConsistent(p, me(3), 'the person id');
    const words = packWords(p, [me(1), me(2)], FIELDS, 1);
    const r = await selectRecord(p, { person: me(3), tables: [{ person: me(0), words, bound }], ...(kt && key ? { key: { table: { ref: kt[0]![p.id]!, person: kt[1]![p.id]! }, ref: BigInt(key.ref) } } : {}) });
    return { match: r.match, words: r.rows[0]?.[0] ?? null };
  });
  const rows = out[0].words ? Array.from(combineShares(out[0].words, out[1].words!), unpack) : [];
  return { match: out[0].match, rows };
}

const want = (reg: ReturnType<typeof register>, target: number) =>
  reg.person.flatMap((p, i) => (p === target ? [`${reg.x[i]}/${reg.y[i]}`] : [])).sort();

describe('oblivious selection of one person\'s rows', () => {
  it('keeps exactly the person\'s rows, padded with dummies to the bound (no rows, some, the bound)', async () => {
    const persons = [1_234_567_890, 2_000_000_001, 17_179_869_183, 5];
    const reg = register(300, persons.slice(0, 3), 7);
    for (const target of [...persons.slice(0, 3), 5]) {
      const k = want(reg, target).length;
      const bound = Math.max(k, 1) + 3;
      const { rows } = await select(reg, bound, target);
      assert.equal(rows.length, bound, 'always the bound');
      assert.deepEqual(rows.filter((r) => r).map((r) => `${r!.x}/${r!.y}`).sort(), want(reg, target), `person ${target}`);
      assert.equal(rows.filter((r) => !r).length, bound - k, 'the rest are dummies');
    }
    // Exactly at the bound: no dummies.
    const exact = register(40, [9, 10], 3);
    const { rows } = await select(exact, want(exact, 9).length, 9);
    assert.ok(rows.every((r) => r));
  });

  it('refuses a register that breaks its bound (and says so at every node)', async () => {
    const reg = register(50, [3], 1);
    await assert.rejects(select(reg, 10, 3), /more rows for this person than its declared bound of 10/);
  });

  it('the key check: 1 when the shared person id owns the key, 0 for another person or another key', async () => {
    const reg = register(20, [11, 12], 2);
    const key = { refs: [500, 77, 9_000_000_000], persons: [11, 12, 11] };
    assert.equal((await select(reg, 20, 12, { ...key, ref: 77 })).match, 1);
    assert.equal((await select(reg, 20, 11, { ...key, ref: 9_000_000_000 })).match, 1);
    const other = await select(reg, 20, 11, { ...key, ref: 77 });
    assert.equal(other.match, 0);
    assert.deepEqual(other.rows, [], 'nothing selected when the check fails');
    assert.equal((await select(reg, 20, 12, { ...key, ref: 501 })).match, 0);
  });

  it('refuses a person id whose shares do not fit together (a requester cannot give each node another id)', async () => {
    const [s0, s1, s2] = splitShares(col([42]));
    const bad: AShare[] = [s0, { ...s1, a: col([Number(s1.a[0]! & 0xffffn) + 1]), b: s1.b } as AShare, s2];
    await assert.rejects(run3((p) => checkConsistent(p, bad[p.id]!, 'the person id')), /do not fit together/);
  });

  it('one node\'s view is the same whoever is read: the same messages sizes, B ones at uniform positions', async () => {
    const reg = register(200, [1, 2, 3, 4], 9);
    const views: { sizes: number[]; positions: number[] }[] = [];
    for (const target of [1, 4, 99]) {
      const sh = [col(reg.person), col(reg.x), col(reg.y), col([target])].map((c) => splitShares(c));
      const sent: number[] = [];
      const positions: number[] = [];
      await runOn(memoryNetwork({ tap: (from, _to, d) => (from === 1 && sent.push(d.length), d) }), async (p) => {
        const me = (k: number) => sh[k]![p.id]!;
        const r = await selectRecord(p, { person: me(3), tables: [{ person: me(0), words: packWords(p, [me(1), me(2)], FIELDS, 1), bound: 80 }] });
        if (p.id === 1) positions.push(r.rows[0]![0]!.length);
      });
      views.push({ sizes: sent, positions });
    }
    assert.deepEqual(views[1]!.sizes, views[0]!.sizes, 'node 1 sends the same message sizes for persons 1 and 4');
    assert.deepEqual(views[2]!.sizes, views[0]!.sizes, 'and for a person without rows');
    for (const v of views) assert.deepEqual(v.positions, [80]);
  });
});
