// Party-local job of `npm run bench:record` (bench/record.ts): one patient's record among n persons,
// m hospital contacts and r prescriptions, with a key→person table of k registered keys, exactly as
// a node runs it (src/node/records.ts → src/mpc/select.ts): the consistency check of the person id,
// one batched equality over every row, the key check, padding, one shuffle per register, the reveal.
// The registers' words per row come from the demo schemas' packing (src/governance/record-format.ts).
// Set-up (party 0 inputs the plaintext ids; payload words random) is not timed; a small warm-up run first.
// The person ids' bits a node keeps per version (src/node/record-cache.ts) are made before the read
// and timed apart ("offline": once per version); --uncached reads without them.
import * as A from '../src/mpc/arith.js';
import type { Party } from '../src/mpc/party.js';
import { checkConsistent, selectRecord, type SelectTable } from '../src/mpc/select.js';
import { idBits } from '../src/mpc/id-bits.js';
import { recordLayout } from '../src/governance/record-format.js';
import { contactsSchema, populationSchema, prescriptionsSchema } from '../src/demo/schemas.js';
import { demoCodeLists } from '../src/demo/codelists.js';

export interface RecordArgs {
  persons: number;
  contacts: number;
  prescriptions: number;
  keys: number;
  /** Read without the person ids' bits kept (the equality splits every difference into bit planes), as before issue 15's cache. */
  uncached?: boolean;
}

export interface RecordResult {
  party: number;
  ms: number;
  /** CPU time of this node's process during the run (all its threads). */
  cpuMs: number;
  sent: number;
  phases: string[];
  /** Making the id bits of every register (once per version; not part of a read): wall and CPU ms. */
  offline: { ms: number; cpuMs: number } | null;
  kept: number[];
  match: number | null;
}

/** The target has these rows in the contacts and prescriptions registers. */
const TARGET_ROWS = 10;

async function setUp(p: Party, a: RecordArgs) {
  const lists = demoCodeLists();
  const layouts = [populationSchema(), contactsSchema(), prescriptionsSchema()].map((s) => recordLayout(s, lists)!);
  const sizes = [a.persons, a.contacts, a.prescriptions];
  // Party 0 makes the ids: persons i·2^13 + 13 random bits; other registers drawn from the persons
  // (never the target), then TARGET_ROWS rows of the target at random places; keys of the first k persons.
  const target = 123;
  let plain: BigUint64Array[] | null = null;
  if (p.id === 0) {
    const r = p.prgOwn.ring(a.persons + a.contacts + a.prescriptions + 64);
    const w = new Uint32Array(r.buffer);
    const persons = BigUint64Array.from({ length: a.persons }, (_, i) => (BigInt(i) << 13n) | BigInt(w[2 * i]! & 0x1fff));
    let off = a.persons;
    const drawn = (m: number) => {
      const c = BigUint64Array.from({ length: m }, (_, j) => {
        const u = w[2 * (off + j)]! % a.persons;
        return persons[u === target ? (u + 1) % a.persons : u]!;
      });
      for (let t = 0; t < Math.min(TARGET_ROWS, m); t++) c[(w[2 * (off + t) + 1]! >>> 0) % m] = persons[target]!;
      off += m;
      return c;
    };
    const refs = BigUint64Array.from({ length: a.keys }, (_, i) => BigInt(i * 7919 + 1));
    plain = [persons, drawn(a.contacts), drawn(a.prescriptions), refs, persons.slice(0, a.keys), BigUint64Array.of(persons[target]!)];
  }
  const lens = [...sizes, a.keys, a.keys, 1];
  const shared: A.AShare[] = [];
  for (const [k, n] of lens.entries()) shared.push(await A.input(p, 0, plain ? plain[k]! : null, n));
  // Random payload; word 0 as packWords leaves it: bits 0-1 free, bit 2 set (a real row).
  const word = (n: number, k: number) => (k === 0 ? A.addPublic(p, A.mulPublic(A.random(p, n), 8n), 4n) : A.random(p, n));
  const tables: SelectTable[] = layouts.map((l, r) => ({ person: shared[r]!, words: Array.from({ length: l.words }, (_, k) => word(sizes[r]!, k)), bound: l.bound }));
  return { tables, keyRef: shared[3]!, keyPerson: shared[4]!, person: shared[5]!, ref: BigInt(target * 7919 + 1) };
}

/** The id bits of every register, as a node keeps them (src/node/record-cache.ts; the key table is compared through the differences). */
async function withBits(p: Party, s: Awaited<ReturnType<typeof setUp>>): Promise<void> {
  const bits = await idBits(p, s.tables.map((t) => t.person));
  s.tables.forEach((t, k) => (t.bits = bits[k]!));
}

export async function record(p: Party, a: RecordArgs): Promise<RecordResult> {
  const small = await setUp(p, { persons: 4096, contacts: 8192, prescriptions: 8192, keys: 1024 });
  if (!a.uncached) await withBits(p, small);
  await selectRecord(p, { person: small.person, key: { table: { ref: small.keyRef, person: small.keyPerson }, ref: small.ref }, tables: small.tables });
  const s = await setUp(p, a);
  let offline: RecordResult['offline'] = null;
  if (!a.uncached) {
    // What a node does at the first read of a version (src/node/record-cache.ts): the registers' id bits, kept.
    await p.barrier();
    const [c0, t0] = [process.cpuUsage(), performance.now()];
    await withBits(p, s);
    const c1 = process.cpuUsage(c0);
    offline = { ms: performance.now() - t0, cpuMs: (c1.user + c1.system) / 1000 };
  }
  await p.barrier();
  const s0 = p.net.stats.sent;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const phases: string[] = [];
  let last = t0;
  const step = (ph: string) => {
    const t = performance.now();
    phases.push(`${ph} ${Math.round(t - last)} ms`);
    last = t;
  };
  await checkConsistent(p, s.person, 'the person id');
  step('consistency');
  const out = await selectRecord(p, { person: s.person, key: { table: { ref: s.keyRef, person: s.keyPerson }, ref: s.ref }, tables: s.tables, progress: step });
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const sent = p.net.stats.sent - s0;
  await p.barrier();
  return { party: p.id, ms, cpuMs: (c1.user + c1.system) / 1000, sent, phases, offline, kept: out.rows.map((r) => r[0]?.length ?? 0), match: out.match };
}
