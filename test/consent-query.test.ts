// The consent filter inside a query (three parties in one process): the example studies planned
// as joins on the person id with the consent register joined in as a row restriction
// (src/query/join-execute.ts, src/governance/consent-mpc.ts), against SQLite on the registers
// with every person whose consent does not cover the purpose removed (src/governance/consent.ts
// rule). Covers a many-side table first (contacts), a person-level table (population), a join
// with a checked one-row-per-person side (income) and EXISTS; an opt-out and an opt-in purpose.
// Then differential-privacy noise in execute.ts: refused where it cannot apply, and present.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateRegisters, type Register, type Registers } from '../src/demo/registers.js';
import { STUDIES } from '../src/demo/studies.js';
import { consentDecision, encodeConsentRows, purposeIndex, withUntil, type ConsentEvent } from '../src/governance/consent.js';
import { generateConsentEvents } from '../src/demo/consent-events.js';
import { consentJoinInput, consentUsable } from '../src/governance/consent-mpc.js';
import { DEFAULT_PURPOSES } from '../src/governance/consortium.js';
import { splitShares, type AShare } from '../src/mpc/share.js';
import { noiseForPlan, parseQuery, planAnyQuery, QueryError, runJoinQuery } from '../src/query/index.js';
import { PlainDatabase, type PlainTable } from '../src/query/plaintext.js';
import { run3 } from './harness.js';
import { withExistsFlags } from '../src/query/exists-flags.js';
import { inPersonOrder } from '../src/ingest/person-order.js';

const K = 5;
const T = Date.UTC(2024, 6, 1) / 1000;
let regs: Registers;
let events: ConsentEvent[];
let consentShares: AShare[][];
let consentInOrder: AShare[][];

before(() => {
  regs = generateRegisters({ citizens: 1200, seed: 3 });
  const ids = Array.from(regs.population.columns.get('person_id')!, Number);
  // Many withdrawals, so that the filter changes most cells.
  events = generateConsentEvents(ids, DEFAULT_PURPOSES, { seed: 5, withdrawRate: 0.3, grantRate: 0.4, changeAgainRate: 0.3 });
  const enc = encodeConsentRows(withUntil(events), DEFAULT_PURPOSES);
  const names = ['person_id', 'purpose', 'granted', 'time', 'until'];
  consentShares = names.map((c) => splitShares(enc.get(c)!));
  const schema = { name: 'consent', custodian: 'test', columns: names.map((name) => ({ name, type: name === 'person_id' ? ('person_id' as const) : ('int' as const) })) };
  const ordered = inPersonOrder({ schema, codeLists: new Map(), rows: enc.get('person_id')!.length, columns: new Map(names.map((c) => [c, enc.get(c)!])) });
  consentInOrder = names.map((c) => splitShares(ordered.columns.get(c)!));
});

/** Every register without the rows of persons whose consent does not cover `purpose` at T. */
function filtered(purpose: string): PlainTable[] {
  const dflt = DEFAULT_PURPOSES.find((p) => p.code === purpose)!.consent;
  const cache = new Map<number, boolean>();
  const usable = (id: number) => cache.get(id) ?? (cache.set(id, consentDecision(events, id, purpose, T, dflt).usable), cache.get(id)!);
  return regs.all.map((r: Register) => {
    const pid = r.plain.get('person_id')!;
    const keep = Array.from({ length: r.length }, (_, i) => i).filter((i) => usable(Number(pid[i])));
    return { schema: r.schema, length: keep.length, plain: new Map([...r.plain].map(([c, v]) => [c, Float64Array.from(keep, (i) => v[i]!)])) };
  });
}

/**
 * `inOrder`: every register and the consent register uploaded in person order (as `mosaik ingest`
 * does, src/ingest/person-order.ts), so that the join merges instead of sorting.
 */
async function withConsent(sql: string, purpose: string, noise?: ReturnType<typeof noiseForPlan>, fromRows = false, keepExists = false, inOrder = false) {
  const order = (schema: Register['schema'], rows: number, columns: Map<string, BigUint64Array>) => (inOrder ? inPersonOrder({ schema, codeLists: regs.codeLists, rows, columns }) : { columns, sortedBy: undefined });
  const stored = regs.all.map((r) => ({ r, ...order(r.schema, r.length, r.columns) }));
  const { plan, join } = planAnyQuery(parseQuery(sql), new Map(stored.map(({ r, sortedBy }) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()], ...(sortedBy ? { sortedBy } : {}) }])), { personKey: true });
  const jp = join!;
  const shares = jp.tables.map((t) => {
    const reg = stored.find(({ r }) => r.schema.name === t.dataset.name)!;
    return t.reads.map((c) => [c, splitShares(reg.columns.get(c)!)] as const);
  });
  const dflt = DEFAULT_PURPOSES.find((p) => p.code === purpose)!.consent;
  const steps: string[] = [];
  const [r0, r1, r2] = await run3(async (p) => {
    const tables = new Map(jp.tables.map((t, k) => [t.alias, new Map(shares[k]!.map(([c, s]) => [c, s[p.id]!]))]));
    const c = (inOrder ? consentInOrder : consentShares).map((s) => s[p.id]!);
    const input = await consentJoinInput(p, { person: c[0]!, purpose: c[1]!, granted: c[2]!, time: c[3]!, until: c[4]! }, purposeIndex(DEFAULT_PURPOSES, purpose), T, 'check');
    if (inOrder) input.sorted = true;
    // keepExists: each EXISTS's flag made first without the filter, as the nodes keep it (src/query/exists-flags.ts).
    const kept = keepExists ? await withExistsFlags(p, jp, tables) : { jp, tables };
    return runJoinQuery(p, kept.jp, kept.tables, { minCellSize: K, restrict: { input, usable: (q, jt) => consentUsable(q, jt, dflt) }, ...(noise ? { noise } : {}), fromRows, trace: (what) => steps.push(what) });
  });
  if (inOrder) assert.ok(jp.tables.every((t) => t.sorted || t.kind === 'semi'), 'the registers are marked in person order');
  if (fromRows) assert.ok(steps.some((s) => /^the rows of population only$/.test(s)), `FROM's rows kept: ${steps.join('; ')}`);
  assert.deepEqual(r1, r0);
  assert.deepEqual(r2, r0);
  return { plan, result: r0 };
}

describe('the consent filter in queries over one register and joined registers', () => {
  const cases: [string, string][] = [
    ["SELECT region, sex, COUNT(*) AS persons FROM contacts WHERE diagnosis LIKE 'E11%' AND first_in_category GROUP BY region, sex", 'public-health'], // contacts: many rows per person; the consent table comes first
    ['SELECT region, sex, COUNT(*) AS population FROM population GROUP BY region, sex', 'public-health'], // population: one row per person
    [STUDIES.find((s) => s.id === 't2d-by-income')!.sql, 'public-health'], // population ⋈ income (keyed by year) ⋈ EXISTS contacts
    ['SELECT age_band, COUNT(*) AS contacts, AVG(length_of_stay) AS mean_stay FROM contacts GROUP BY age_band', 'commercial-pharma'], // an opt-in purpose: only those who granted
  ];
  for (const [sql, purpose] of cases) {
    it(`${purpose}: ${sql.slice(0, 90)}…`, async () => {
      const { plan, result } = await withConsent(sql, purpose);
      const db = await PlainDatabase.create(filtered(purpose), regs.codeLists);
      const want = db.query(sql);
      db.close();
      const nKeys = plan.keys.length;
      const key = (row: unknown[]) => row.slice(0, nKeys).map(String).join('|');
      const visible = want.rows.filter((r) => Number(r[nKeys]) >= K);
      assert.ok(visible.length > 0, 'some cells are shown');
      assert.equal(result.rows!.length, visible.length, 'visible cells');
      const got = new Map(result.rows!.map((r) => [key(r), r]));
      for (const w of visible) {
        const g = got.get(key(w));
        assert.ok(g, `cell ${key(w)} missing`);
        w.forEach((v, i) => (typeof v === 'number' && !Number.isInteger(v) ? assert.ok(Math.abs(Number(g![i]) - v) <= 1e-3 + 1e-4 * Math.abs(v)) : assert.equal(String(g![i]), String(v), `${key(w)} column ${i}`)));
      }
    });
  }
});

describe('the consent filter with only the FROM register\'s rows kept after the join (as analysis tables are built)', () => {
  it('population ⋈ income ⋈ EXISTS contacts: the same cells as over every joined row', async () => {
    const sql = STUDIES.find((s) => s.id === 't2d-by-income')!.sql;
    const all = await withConsent(sql, 'public-health');
    const from = await withConsent(sql, 'public-health', undefined, true);
    assert.deepEqual(from.result.rows, all.result.rows);
  });
});

describe('the consent filter with an EXISTS flag made without it and kept (as the nodes do)', () => {
  it('population ⋈ income ⋈ EXISTS contacts: the same cells as with contacts joined under the filter', async () => {
    const sql = STUDIES.find((s) => s.id === 't2d-by-income')!.sql;
    const joined = await withConsent(sql, 'public-health');
    const kept = await withConsent(sql, 'public-health', undefined, false, true);
    assert.deepEqual(kept.result.rows, joined.result.rows);
    const keptRows = await withConsent(sql, 'public-health', undefined, true, true);
    assert.deepEqual(keptRows.result.rows, joined.result.rows);
  });
});

describe('the consent filter over registers and a consent register uploaded in person order (merged)', () => {
  it('the same cells as with rows in any order: contacts first, and population ⋈ income ⋈ EXISTS contacts', async () => {
    for (const sql of ["SELECT region, sex, COUNT(*) AS persons FROM contacts WHERE diagnosis LIKE 'E11%' AND first_in_category GROUP BY region, sex", STUDIES.find((s) => s.id === 't2d-by-income')!.sql]) {
      const any = await withConsent(sql, 'public-health');
      const ordered = await withConsent(sql, 'public-health', undefined, false, false, true);
      assert.deepEqual(ordered.result.rows, any.result.rows, sql);
    }
  });
});

describe('differential privacy in a query with the consent filter', () => {
  const plans = (sql: string) => planAnyQuery(parseQuery(sql), new Map(regs.all.map((r) => [r.schema.name, { schema: r.schema, codeLists: [...regs.codeLists.values()] }])), { personKey: true });
  it('bounds each person\'s rows from the schemas; refuses what cannot be protected: MAX, a one-row-per-person test in MPC', () => {
    // Contacts: the many side, bounded by the schema's maxRowsPerPerson.
    const contacts = plans("SELECT region, sex, COUNT(*) AS contacts FROM contacts WHERE diagnosis LIKE 'E11%' GROUP BY region, sex");
    assert.equal(noiseForPlan(contacts.plan, contacts.join, { mechanism: 'laplace', epsilon: 1 }).rowsPerPerson, 64);
    // Income is keyed by (person_id, year): one row per person once the year is fixed, no test in MPC.
    const income = plans('SELECT p.sex, COUNT(*) FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023 GROUP BY p.sex');
    assert.equal(income.join!.tables.find((t) => t.alias === 'i')!.unique, true);
    assert.equal(noiseForPlan(income.plan, income.join, { mechanism: 'laplace', epsilon: 1 }).rowsPerPerson, 1);
    const max = plans('SELECT region, COUNT(*), MAX(birth_date) FROM population GROUP BY region');
    assert.throws(() => noiseForPlan(max.plan, max.join, { mechanism: 'laplace', epsilon: 1 }), (e: unknown) => e instanceof QueryError && /max\(birth_date\) releases one person's exact value/.test(e.message));
    const two = plans('SELECT p.sex, COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id JOIN income i ON i.person_id = p.person_id AND i.year >= 2023 GROUP BY p.sex');
    assert.throws(() => noiseForPlan(two.plan, two.join, { mechanism: 'laplace', epsilon: 1 }), /income must have one row per person to be joined, which would be tested inside MPC, revealing one data-dependent bit/);
    // Two registers declared to have many rows per person: refused while planning (sql-many.test.ts).
    assert.throws(() => plans('SELECT p.sex, COUNT(*) FROM population p JOIN contacts c ON c.person_id = p.person_id JOIN prescriptions r ON r.person_id = p.person_id GROUP BY p.sex'), /both have many rows per person .* declared with ROW_NUMBER/);
  });

  it('adds noise to every count (suppression sees the noisy count); the cost is the query epsilon', async () => {
    const sql = 'SELECT region, COUNT(*) AS n FROM population GROUP BY region';
    const { plan, join } = plans(sql);
    const n = noiseForPlan(plan, join, { mechanism: 'laplace', epsilon: 0.1 });
    assert.deepEqual(n.sums.map((s) => s.sensitivity), [1]);
    assert.ok(Math.abs(n.cost.epsilon - 0.1) < 1e-12 && n.cost.delta > 0 && n.cost.delta < 1e-12);
    const exact = await withConsent(sql, 'public-health');
    const noisy = await withConsent(sql, 'public-health', n);
    const byRegion = new Map(exact.result.rows!.map((r) => [r[0], Number(r[1])]));
    let differs = 0;
    for (const r of noisy.result.rows!) {
      const d = Number(r[1]) - byRegion.get(r[0])!;
      assert.ok(Math.abs(d) <= 10 * n.sums[0]!.half95, `noise ${d} within 10 × the 95 % half-width`);
      if (d) differs++;
    }
    assert.ok(differs > 0, 'some count is noisy');
  });
});
