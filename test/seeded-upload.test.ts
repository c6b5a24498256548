// Seeded uploads: the halves of x₀ and x₁ travel as their 16-byte seeds (src/ingest/upload-body.ts).
// The browser draws them with WebCrypto (src/ingest/seeded-shares.ts), the CLI and the nodes with
// OpenSSL (src/ring/prg.ts): the streams must be the same bytes, and a seeded body must read back
// (src/ingest/upload.ts parseUploadBody, as a node draws it) to the very shares it was made from.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { drawHalf, parseUploadBody } from '../src/ingest/upload.js';
import { freshSeeds, seedStream, splitSharesFromSeeds } from '../src/ingest/seeded-shares.js';
import { partySeededBytes, shareBodyLength, uploadBodyBytes, uploadHeader, type ShareableDataset } from '../src/ingest/upload-body.js';
import { combineShares } from '../src/mpc/share.js';
import { Prg } from '../src/ring/prg.js';

describe('seeded uploads', () => {
  it("WebCrypto's AES-CTR stream of a seed is OpenSSL's (the browser's shares are the nodes' draws)", async () => {
    for (const n of [0, 1, 2, 3, 1000, 100_003]) {
      const seed = randomBytes(16);
      const web = await seedStream(seed, n);
      const node = drawHalf(seed, n);
      assert.deepEqual(web, node, `n = ${n}`);
      const direct = new Uint8Array(8 * n);
      new Prg(seed).fill(direct);
      assert.deepEqual(new Uint8Array(web.buffer), direct);
    }
  });

  it("a browser's seeded bodies read back to its shares, with seeds where the node can draw and bytes for x₂", async () => {
    const rows = 1234;
    const cols = [0, 1, 2].map((c) => BigUint64Array.from({ length: rows }, (_, i) => BigInt(i * 7919 + c) ** 3n & 0xffff_ffff_ffff_ffffn));
    const ds: ShareableDataset = {
      schema: { name: 't', custodian: 'c', columns: [0, 1, 2].map((c) => ({ name: `x${c}`, type: 'int' as const })) },
      codeLists: new Map(),
      rows,
      columns: new Map(cols.map((c, k) => [`x${k}`, c])),
    };
    const seeds = cols.map(() => freshSeeds());
    const shares = await Promise.all(cols.map((c, k) => splitSharesFromSeeds(c, seeds[k]!)));
    const parsed = ([0, 1, 2] as const).map((p) => {
      const header = { ...uploadHeader(ds, p), seeded: true };
      const part = partySeededBytes(shares.map((t) => t[p]), seeds, p);
      assert.equal(part.length, shareBodyLength(header));
      return parseUploadBody(uploadBodyBytes(header, part));
    });
    assert.deepEqual(parsed.map((b) => b.header.party), [0, 1, 2]);
    assert.deepEqual(parsed.map((b) => shareBodyLength(b.header)), [3 * 32, 3 * (16 + 8 * rows), 3 * (16 + 8 * rows)]);
    cols.forEach((c, k) => {
      for (const p of [0, 1, 2] as const) {
        assert.deepEqual(parsed[p]!.shares[k]!.a, shares[k]![p].a, `party ${p} column ${k} half a`);
        assert.deepEqual(parsed[p]!.shares[k]!.b, shares[k]![p].b, `party ${p} column ${k} half b`);
      }
      assert.deepEqual(combineShares(parsed[0]!.shares[k]!, parsed[1]!.shares[k]!), c);
      assert.deepEqual(combineShares(parsed[2]!.shares[k]!, parsed[0]!.shares[k]!), c);
    });
  });
});
