// Synthetic consent events for the demo population (person ids of src/demo/registers.ts), for the
// consent register (src/governance/consent.ts): a few per cent of citizens withdraw from the opt-out purposes,
// a minority grant the opt-in ones, and some of them change their mind again later. Seeded and
// deterministic, like the registers.
import { generateRegisters, Rng, type GenerateOptions } from './registers.js';
import type { Purpose } from '../governance/consortium.js';
import type { ConsentEvent } from '../governance/consent.js';

export interface ConsentGenOptions {
  seed?: number;
  /** Events fall in [from, to) (Unix s). Default: 2022-01-01 … 2025-01-01. */
  from?: number;
  to?: number;
  /** Share of persons who withdraw from an opt-out purpose. Default 0.04. */
  withdrawRate?: number;
  /** Share of persons who grant an opt-in purpose. Default 0.15. */
  grantRate?: number;
  /** Share of those who later change their mind again (re-grant / withdraw). Default 0.25. */
  changeAgainRate?: number;
}

/** Seeded, deterministic consent events for the given persons and purposes, in time order. */
export function generateConsentEvents(persons: ArrayLike<number>, purposes: readonly Purpose[], opts: ConsentGenOptions = {}): ConsentEvent[] {
  const from = opts.from ?? Date.UTC(2022, 0, 1) / 1000;
  const to = opts.to ?? Date.UTC(2025, 0, 1) / 1000;
  if (!(from < to)) throw new RangeError('consent generator: need from < to');
  const rng = new Rng(opts.seed ?? 1, 0xc0115e47);
  const withdraw = opts.withdrawRate ?? 0.04, grant = opts.grantRate ?? 0.15, again = opts.changeAgainRate ?? 0.25;
  const span = to - from;
  const out: ConsentEvent[] = [];
  for (let i = 0; i < persons.length; i++) {
    const person = persons[i]!;
    for (const p of purposes) {
      const first = p.consent === 'opt-out' ? false : true; // the first choice departs from the default
      if (rng.float() >= (p.consent === 'opt-out' ? withdraw : grant)) continue;
      const t1 = from + Math.floor(rng.float() * span);
      out.push({ person, purpose: p.code, granted: first, time: t1 });
      if (rng.float() < again) {
        const t2 = t1 + 1 + Math.floor(rng.float() * (to - t1 - 1));
        if (t2 < to) out.push({ person, purpose: p.code, granted: !first, time: t2 });
      }
    }
  }
  out.sort((a, b) => a.time - b.time);
  return out;
}

/** The person ids of the demo population (residents and emigrants) for `opts` (same seed, same ids). */
export function demoPersonIds(opts: GenerateOptions = {}): Float64Array {
  const r = generateRegisters(opts);
  return r.people.id.slice(0, r.people.count);
}
