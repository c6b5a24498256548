// A single party's view must not depend on the secret inputs: for every protocol we record the
// frames each party receives, together with linear combinations of each received ring column with
// the party's own input shares (m, m ± x_i, m + x_i + x_{i+1}, likewise for y) — a forgotten mask
// shows up there as a constant — and compare their byte distributions for very different inputs
// (all zeros vs all −1 vs random) and against uniform, with a two-sample chi-square test over many
// runs. The threshold is for p ≈ 1e-9 at 255 degrees of freedom, so a correct protocol does not
// fail it; the last test shows that an opened value is caught. Non-linear leaks are out of reach
// of this test; the protocols' one-line security arguments cover them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import * as C from '../src/mpc/compare.js';
import { bitDecompose, bitInject } from '../src/mpc/convert.js';
import { countAndSum } from '../src/mpc/count.js';
import type { Party } from '../src/mpc/party.js';
import type { AShare } from '../src/mpc/share.js';
import type { PartyId } from '../src/net/channel.js';
import * as R from '../src/ring/ring64.js';
import { chiSquare, col, run3, shareAll } from './harness.js';

type Proto = (p: Party, x: AShare, y: AShare) => Promise<unknown>;
const PROTOCOLS: Record<string, Proto> = {
  mul: (p, x, y) => A.mul(p, x, y),
  dot: (p, x, y) => A.dot(p, x, y),
  'lt (full range)': (p, x, y) => C.lt(p, x, y),
  'lt (32 bits)': (p, x, y) => C.lt(p, x, y, { bits: 32 }),
  eq: (p, x, y) => C.eq(p, x, y),
  bitDecompose: (p, x) => bitDecompose(p, x),
  'bitInject∘lt': async (p, x, y) => bitInject(p, await C.lt(p, x, y)),
  select: async (p, x, y) => C.select(p, await C.eq(p, x, y), x, y),
  'countAndSum∘lt': async (p, x, y) => countAndSum(p, await C.lt(p, x, y), [x, y]),
};

const N = 64;
const RUNS = 40;
const inputs: Record<string, () => bigint[]> = {
  zeros: () => new Array(N).fill(0n),
  minusOne: () => new Array(N).fill(-1n),
  random: () => Array.from({ length: N }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n),
};

/** Byte histogram of everything `viewer` receives during the protocol (seed exchange excluded). */
async function view(proto: Proto, xv: bigint[], viewer: PartyId, hist: Float64Array): Promise<void> {
  const [sx, sy] = shareAll(col(xv), col(xv.map((v) => v + 1n)));
  let recording = false;
  const own = [sx![viewer]!, sy![viewer]!];
  const count = (bytes: Uint8Array) => {
    for (const b of bytes) hist[b]!++;
  };
  await run3(
    async (p) => {
      recording = true;
      await proto(p, sx![p.id]!, sy![p.id]!);
    },
    {
      tap: (_from, to, data) => {
        if (!recording || to !== viewer) return data;
        count(data);
        if (data.byteLength === 8 * N) {
          const m = R.colOf(data.slice());
          for (const s of own) for (const c of [R.add(m, R.add(s.a, s.b)), R.sub(m, s.a), R.sub(m, s.b), R.add(m, s.a), R.add(m, s.b)]) count(R.bytesOf(c));
        }
        return data;
      },
    },
  );
}


const LIMIT = 420;

/** The largest chi² statistic over viewers and input pairs (and against uniform). */
async function worstChi(proto: Proto): Promise<{ chi: number; where: string }> {
  let worst = { chi: 0, where: '' };
  for (const viewer of [0, 1, 2] as PartyId[]) {
    const hists: Record<string, Float64Array> = {};
    for (const [label, gen] of Object.entries(inputs)) {
      const h = new Float64Array(256);
      for (let r = 0; r < RUNS; r++) await view(proto, gen(), viewer, h);
      hists[label] = h;
    }
    const total = hists.zeros!.reduce((s, v) => s + v, 0);
    assert.ok(total > 0, `party ${viewer} received nothing`);
    const uniform = new Float64Array(256).fill(total / 256);
    const pairs: [string, Float64Array, Float64Array][] = [
      ['zeros vs minusOne', hists.zeros!, hists.minusOne!],
      ['zeros vs random', hists.zeros!, hists.random!],
      ['minusOne vs random', hists.minusOne!, hists.random!],
      ['zeros vs uniform', hists.zeros!, uniform],
    ];
    for (const [what, h1, h2] of pairs) {
      const chi = chiSquare(h1, h2);
      if (chi > worst.chi) worst = { chi, where: `party ${viewer}, ${what}` };
    }
  }
  return worst;
}

describe('privacy: a single party’s received messages do not depend on the input', () => {
  for (const [name, proto] of Object.entries(PROTOCOLS)) {
    it(name, async () => {
      const { chi, where } = await worstChi(proto);
      assert.ok(chi < LIMIT, `${name}: view depends on the input (${where}: chi² = ${chi.toFixed(0)})`);
    });
  }
  it('the test has power: an opened input (reveal) is flagged', async () => {
    const { chi } = await worstChi((p, x) => A.reveal(p, x));
    assert.ok(chi > LIMIT, `reveal of x went undetected (chi² = ${chi.toFixed(0)})`);
  });
});
