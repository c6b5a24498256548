// One party's view of a 3-party computation: its id, its channel, and the pairwise PRGs that
// give correlated randomness without a dealer (Araki et al. CCS 2016, §2.1).
//
// Party i holds the replicated pair (x_i, x_{i+1}) of every shared value x = x_0 + x_1 + x_2.
// Seed k_i is known to parties i and i+1 only: party i draws it as `prgNext`, party i+1 as
// `prgPrev`. Both must draw the same amounts in the same order; every protocol here does.
import { randomBytes } from 'node:crypto';
import type { Channel, PartyId } from '../net/channel.js';
import { Prg } from '../ring/prg.js';
import { sub } from '../ring/ring64.js';
import type { AShare } from './share.js';

export const next = (i: PartyId): PartyId => ((i + 1) % 3) as PartyId;
export const prev = (i: PartyId): PartyId => ((i + 2) % 3) as PartyId;

/**
 * More cores for this party's products (src/mpc/core-pool.ts): columns of `minLanes` lanes and more
 * are split by rows among worker threads, each with its own channel and PRG streams. All three
 * parties hold one with the same number of workers and the same `minLanes`, or none.
 */
export interface Cores {
  readonly workers: number;
  readonly minLanes: number;
  /** x · y of each pair, one round per worker; into[k] when given receives pair k's product. */
  mulMany(pairs: [AShare, AShare][], into?: AShare[]): Promise<AShare[]>;
  /**
   * An AND round's exchange (boolean.ts andRound): z, this party's local products, masked with the
   * boolean zero sharing and sent to the predecessor; the successor's part received into `into`.
   * Both in shared memory; split by words among the workers.
   */
  exchangeWords(z: Uint32Array, into: Uint32Array): Promise<void>;
}

export class Party {
  readonly next: PartyId;
  readonly prev: PartyId;
  /** Worker threads for long columns, once the three parties have opened them (null: this thread only). */
  cores: Cores | null = null;

  private constructor(
    readonly id: PartyId,
    readonly net: Channel,
    /** Seeded with k_id, shared with party id+1. */
    readonly prgNext: Prg,
    /** Seeded with k_{id-1}, shared with party id-1. */
    readonly prgPrev: Prg,
    /** Private randomness. */
    readonly prgOwn: Prg,
  ) {
    this.next = next(id);
    this.prev = prev(id);
  }

  /** One round: every party sends a fresh seed to its successor. */
  static async setup(net: Channel): Promise<Party> {
    const mine = randomBytes(16);
    net.send(next(net.me), mine);
    const fromPrev = await net.recv(prev(net.me));
    if (fromPrev.length !== 16) throw new Error(`seed from party ${prev(net.me)} has ${fromPrev.length} bytes, expected 16`);
    return new Party(net.me, net, new Prg(mine), new Prg(fromPrev), Prg.fresh());
  }

  /** A pseudo-random 3-way zero sharing α_0 + α_1 + α_2 = 0: this party's α_i = F(k_i) − F(k_{i−1}). */
  zeroShare(n: number): BigUint64Array {
    const a = this.prgNext.ring(n);
    return sub(a, this.prgPrev.ring(n), a);
  }

  /** Boolean analogue: β_0 ⊕ β_1 ⊕ β_2 = 0, over 32-bit words. */
  zeroShareWords(n: number): Uint32Array {
    const a = new Uint32Array(n);
    this.maskWords(a);
    return a;
  }

  /** Every party has heard from both others (one empty message each way): a common start, e.g. for timing. */
  async barrier(): Promise<void> {
    const ping = new Uint8Array(1);
    for (const q of [this.next, this.prev]) this.net.send(q, ping);
    for (const q of [this.next, this.prev]) await this.net.recv(q);
  }

  /** XORs this party's boolean zero-share β_i into `out` (block by block, no temporaries). */
  maskWords(out: Uint32Array): void {
    this.prgNext.xorInto(out);
    this.prgPrev.xorInto(out);
  }
}
