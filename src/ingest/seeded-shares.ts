// Replicated shares whose first two shares are drawn from seeds, in any JavaScript with WebCrypto
// (the browser's custodian upload, web/src/lib/custodian-upload.ts): x₀ and x₁ are the AES-128-CTR
// streams of two random 16-byte seeds from a zero counter block, the same streams as src/ring/prg.ts
// draws in Node (OpenSSL's CTR increments the whole 128-bit block, WebCrypto's with length 128), and
// x₂ = x − x₀ − x₁. The upload then sends a node the seed of each half it can draw
// (./upload-body.ts seededHalves) instead of its bytes. What the shares reveal: nothing; x₀ and x₁
// are pseudo-random and independent of the data, x₂ is x masked by them.
import { sharesOf, type ShareTriple } from '../mpc/share-split.js';

/** A column's two seeds: those of x₀ and x₁. */
export type ColumnSeeds = [Uint8Array, Uint8Array];

/** n ring elements of the AES-128-CTR stream of `seed` (bytes in stream order, little-endian words). */
export async function seedStream(seed: Uint8Array, n: number): Promise<BigUint64Array> {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(seed), { name: 'AES-CTR' }, false, ['encrypt']);
  const out = new BigUint64Array(n);
  const stream = await crypto.subtle.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 128 }, key, new Uint8Array(8 * n));
  new Uint8Array(out.buffer).set(new Uint8Array(stream));
  return out;
}

/** Fresh seeds for a column (crypto.getRandomValues). */
export function freshSeeds(): ColumnSeeds {
  return [crypto.getRandomValues(new Uint8Array(16)), crypto.getRandomValues(new Uint8Array(16))];
}

/** The replicated shares of x with x₀, x₁ drawn from the seeds. */
export async function splitSharesFromSeeds(x: BigUint64Array, seeds: ColumnSeeds): Promise<ShareTriple> {
  return sharesOf(x, await seedStream(seeds[0], x.length), await seedStream(seeds[1], x.length));
}
