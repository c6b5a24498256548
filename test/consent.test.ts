// Consent: the plaintext rule (latest event at or before the run wins; defaults per purpose), the
// register layout with `until`, files, the citizen API, the demo generator, and the filter inside
// MPC — alone (rows in force) and through the join engine with a data table, against the rule.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import * as A from '../src/mpc/arith.js';
import { joinOnKey } from '../src/mpc/join.js';
import { checkSchema } from '../src/ingest/schema.js';
import { readCsvText } from '../src/ingest/csv.js';
import {
  checkEvent, consentChange, consentCommitment, consentCsv, consentDecision, consentReceipt, consentSchema, encodeConsentRows, eventsCsv, OPEN_UNTIL, parseConsentCsv,
  purposeCodeList, purposeIndex, rowsInForce, studiesForCitizen, unixSeconds, withUntil, type ConsentEvent,
} from '../src/governance/consent.js';
import { demoPersonIds, generateConsentEvents } from '../src/demo/consent-events.js';
import { consentInForce, consentJoinInput, consentUsable } from '../src/governance/consent-mpc.js';
import { DEFAULT_PURPOSES } from '../src/governance/consortium.js';
import { GovernanceError } from '../src/governance/errors.js';
import { signStudy, verifyStudySignature } from '../src/governance/study.js';
import { col, run3, shareAll, signed } from './harness.js';
import { fixture, signer } from './governance-fixture.js';

const P = DEFAULT_PURPOSES;
const ev = (person: number, purpose: string, granted: boolean, time: number): ConsentEvent => ({ person, purpose, granted, time });

describe('the consent rule (plaintext reference)', () => {
  it('defaults: opt-out purposes are usable without an event, opt-in purposes are not', () => {
    assert.deepEqual(consentDecision([], 7, 'public-health', 100, 'opt-out'), { usable: true, basis: 'default', default: 'opt-out' });
    assert.deepEqual(consentDecision([], 7, 'commercial-pharma', 100, 'opt-in'), { usable: false, basis: 'default', default: 'opt-in' });
  });

  it('withdraw then re-grant: the latest event at or before the run time wins', () => {
    const es = [ev(7, 'public-health', false, 100), ev(7, 'public-health', true, 200), ev(7, 'public-health', false, 300)];
    const at = (t: number) => consentDecision(es, 7, 'public-health', t, 'opt-out');
    assert.equal(at(99).usable, true);
    assert.equal(at(99).basis, 'default');
    assert.deepEqual(at(100), { usable: false, basis: 'withdrawn', default: 'opt-out', since: 100 }, 'an event at exactly the run time counts');
    assert.equal(at(199).usable, false);
    assert.deepEqual(at(250), { usable: true, basis: 'granted', default: 'opt-out', since: 200 });
    assert.equal(at(300).usable, false);
    assert.equal(at(1e9).usable, false);
  });

  it('events after the study run do not count; other persons and purposes do not count', () => {
    const es = [ev(7, 'commercial-pharma', true, 500), ev(8, 'commercial-pharma', true, 10), ev(7, 'public-health', true, 10)];
    assert.equal(consentDecision(es, 7, 'commercial-pharma', 499, 'opt-in').usable, false);
    assert.equal(consentDecision(es, 7, 'commercial-pharma', 500, 'opt-in').usable, true);
  });

  it('a grant and a withdrawal at the same second: the withdrawal wins, whatever the order', () => {
    for (const es of [[ev(1, 'public-health', true, 50), ev(1, 'public-health', false, 50)], [ev(1, 'public-health', false, 50), ev(1, 'public-health', true, 50)]]) {
      assert.equal(consentDecision(es, 1, 'public-health', 50, 'opt-out').usable, false);
      assert.equal(consentDecision(es, 1, 'public-health', 60, 'opt-out').usable, false);
    }
  });

  it('the register rows with `until` give the same answer as the rule, for random logs and times', () => {
    for (let trial = 0; trial < 20; trial++) {
      const es: ConsentEvent[] = [];
      for (let person = 1; person <= 15; person++) for (const p of P) for (let k = randomInt(4); k > 0; k--) es.push(ev(person, p.code, randomInt(2) === 1, 1000 + randomInt(40)));
      const rows = withUntil(es);
      assert.equal(rows.length, es.length);
      for (const p of P) {
        for (const t of [999, 1000, 1010, 1020, 1039, 1040, 5000]) {
          const inForce = rowsInForce(rows, p.code, t);
          const persons = inForce.map((r) => r.person);
          assert.equal(new Set(persons).size, persons.length, 'at most one row in force per person');
          for (let person = 1; person <= 15; person++) {
            const d = consentDecision(es, person, p.code, t, p.consent);
            const row = inForce.find((r) => r.person === person);
            assert.equal(row ? row.granted : p.consent === 'opt-out', d.usable, `person ${person}, ${p.code}, t = ${t}`);
          }
        }
      }
      // The latest event of each person and purpose stays in force.
      assert.ok(rows.some((r) => r.until === OPEN_UNTIL) || rows.length === 0);
    }
  });
});

describe('the consent register dataset and files', () => {
  it('its schema is a valid dataset schema and the CSV validates against it', async () => {
    const schema = consentSchema('consent-register');
    const lists = new Map([['purpose', purposeCodeList(P)]]);
    checkSchema(schema, lists);
    const rows = withUntil([ev(123456789, 'public-health', false, 1_700_000_000), ev(123456789, 'public-health', true, 1_710_000_000), ev(42, 'commercial-pharma', true, 1_700_000_500)]);
    const v = await readCsvText(consentCsv(rows), schema, lists);
    assert.equal(v.ok, true, JSON.stringify(v.ok ? '' : v.problems));
    if (v.ok) {
      const enc = encodeConsentRows(rows, P);
      for (const c of schema.columns) assert.deepEqual([...v.columns!.get(c.name)!], [...enc.get(c.name)!], `column ${c.name} encodes as ingest does`);
    }
    assert.deepEqual(rows.map((r) => r.until), [1_710_000_000, OPEN_UNTIL, OPEN_UNTIL]);
  });

  it('round-trips through CSV; bad rows are refused with their line', () => {
    const es = [ev(5, 'public-health', false, 10), ev(6, 'commercial-pharma', true, 20)];
    assert.deepEqual(parseConsentCsv(eventsCsv(es)), es);
    assert.deepEqual(parseConsentCsv(consentCsv(withUntil(es))), es);
    assert.throws(() => parseConsentCsv('person_id,purpose,granted,time\n0000000005,public-health,maybe,10\n'), /line 2: granted 'maybe' must be true or false/);
    assert.throws(() => parseConsentCsv('person_id,purpose,time\n'), /no 'granted' column/);
    assert.throws(() => parseConsentCsv('person_id,purpose,granted,time\n99999999999,public-health,true,10\n'), /line 2: .*person id/);
  });

  it('purpose codes encode as their index in the sorted code list', () => {
    const list = purposeCodeList(P);
    assert.deepEqual(list.codes, [...P.map((p) => p.code)].sort());
    assert.equal(purposeIndex(P, 'public-health'), list.codes.indexOf('public-health'));
    assert.throws(() => purposeIndex(P, 'marketing'), /purpose 'marketing' is not declared/);
  });
});

describe('citizens', () => {
  const F = fixture();
  it('a consent change is a validated event row', () => {
    const e = consentChange(F.consortium, '0101701234', 'commercial-pharma', true, '2025-03-01T10:00:00Z');
    assert.deepEqual(e, { person: 101701234, purpose: 'commercial-pharma', granted: true, time: Date.UTC(2025, 2, 1, 10) / 1000 });
    assert.throws(() => consentChange(F.consortium, '12ab', 'public-health', false), (x: unknown) => x instanceof GovernanceError && x.code === 'consent' && /not a person identifier/.test(x.message));
    assert.throws(() => consentChange(F.consortium, 5, 'marketing', false), (x: unknown) => x instanceof GovernanceError && x.code === 'unknown-purpose');
    assert.throws(() => checkEvent(ev(2 ** 34, 'public-health', true, 1)), /0\.\.2\^34−1/);
  });

  it('lists the studies in force and whether the citizen’s consent covers their purpose', () => {
    const pharmaStudy = signStudy(F.study({ id: 'statins-pharma', title: 'Statin use (industry)', purpose: 'commercial-pharma' }), signer(F.alice));
    const expired = signStudy(F.study({ id: 'old', validFrom: '2020-01-01', validUntil: '2021-01-01' }), signer(F.alice));
    const unsigned = { study: F.study({ id: 'unsigned' }) };
    const studies = [F.signed, pharmaStudy, expired, unsigned];
    const verify = (s: typeof F.signed) => verifyStudySignature(s, F.consortium);
    const at = '2025-06-01T00:00:00Z';
    const none = studiesForCitizen(F.consortium, [], 42, studies, at, verify);
    assert.deepEqual(none.map((s) => [s.study, s.covered, s.basis]), [['t2d-2024', true, 'default'], ['statins-pharma', false, 'default']]);
    const events = [ev(42, 'public-health', false, unixSeconds('2025-02-01')), ev(42, 'commercial-pharma', true, unixSeconds('2025-03-01'))];
    const mine = studiesForCitizen(F.consortium, events, 42, studies, at, verify);
    assert.deepEqual(mine.map((s) => [s.study, s.covered, s.basis]), [['statins-pharma', true, 'granted'], ['t2d-2024', false, 'withdrawn']]);
    assert.equal(mine[0]!.purposeLabel, 'commercial pharma research');
    // Without verification the unsigned study is listed too.
    assert.equal(studiesForCitizen(F.consortium, [], 42, studies, at).length, 3);
  });

  it('a receipt commits to the change without naming the person', () => {
    const e = ev(101701234, 'public-health', false, 1_700_000_000);
    const { body, salt } = consentReceipt(e);
    assert.deepEqual(Object.keys(body).sort(), ['commitment', 'granted', 'purpose']);
    assert.equal(body.commitment, consentCommitment(e, salt));
    assert.notEqual(body.commitment, consentCommitment({ ...e, person: 101701235 }, salt));
    assert.ok(!JSON.stringify(body).includes('101701234'));
  });
});

describe('synthetic consent events for the demo population', () => {
  it('are deterministic, for the demo person ids, at the configured rates', () => {
    const ids = demoPersonIds({ citizens: 2000, seed: 3 });
    assert.ok(ids.length >= 2000);
    const a = generateConsentEvents(ids, P, { seed: 9 });
    assert.deepEqual(a, generateConsentEvents(ids, P, { seed: 9 }));
    assert.notDeepEqual(a, generateConsentEvents(ids, P, { seed: 10 }));
    const idSet = new Set(Array.from(ids));
    const from = Date.UTC(2022, 0, 1) / 1000, to = Date.UTC(2025, 0, 1) / 1000;
    for (const e of a) {
      checkEvent(e, P);
      assert.ok(idSet.has(e.person) && e.time >= from && e.time < to);
    }
    for (let i = 1; i < a.length; i++) assert.ok(a[i - 1]!.time <= a[i]!.time, 'time order');
    const end = to;
    const withdrawn = ids.length - Array.from(ids).filter((id) => consentDecision(a, id, 'public-health', end, 'opt-out').usable).length;
    const granted = Array.from(ids).filter((id) => consentDecision(a, id, 'commercial-pharma', end, 'opt-in').usable).length;
    // 4 % withdraw, a quarter of them re-grant: ≈ 3 %; 15 % grant, a quarter withdraw again: ≈ 11 %.
    assert.ok(withdrawn > 0.015 * ids.length && withdrawn < 0.05 * ids.length, `withdrawn ${withdrawn}`);
    assert.ok(granted > 0.07 * ids.length && granted < 0.16 * ids.length, `granted ${granted}`);
  });
});

describe('the consent filter inside MPC', () => {
  // A register with re-grants, withdrawals, ties and persons with no events; and a data table with
  // one to three rows per person, including persons absent from the register.
  const persons = Array.from({ length: 40 }, (_, i) => 1_000_000 + i * 7919);
  const events: ConsentEvent[] = [];
  for (const person of persons.slice(0, 30)) for (const p of P) for (let k = randomInt(4); k > 0; k--) events.push(ev(person, p.code, randomInt(2) === 1, 5000 + randomInt(30)));
  const rows = withUntil(events);
  const enc = encodeConsentRows(rows, P);
  const shares = shareAll(...['person_id', 'purpose', 'granted', 'time', 'until'].map((c) => enc.get(c)!));
  const cShares = (id: number) => ({ person: shares[0]![id]!, purpose: shares[1]![id]!, granted: shares[2]![id]!, time: shares[3]![id]!, until: shares[4]![id]! });

  it('rows in force: [purpose = P] ∧ [time ≤ T] ∧ [T < until], equal to the plaintext', async () => {
    for (const purpose of ['public-health', 'commercial-pharma']) {
      for (const at of [4999, 5000, 5013, 5029, 5030, 2 ** 33 - 2]) {
        const [got] = await run3(async (p) => A.reveal(p, await consentInForce(p, cShares(p.id), purposeIndex(P, purpose), at)));
        const want = rows.map((r) => (r.purpose === purpose && r.time <= at && at < r.until ? 1n : 0n));
        assert.deepEqual(signed(got!), want, `${purpose} at ${at}`);
      }
    }
  });

  it('joined (population ⋈ consent ⋈ data) on person_id, the usable flag of every data row equals the rule (opt-out and opt-in)', async () => {
    const dataPersons = persons.flatMap((id, i) => Array.from({ length: 1 + (i % 3) }, () => id));
    const population = [...persons, 99_999_999].map(BigInt);
    const [dk, dv, pk] = shareAll(col(dataPersons.map(BigInt)), col(dataPersons.map(BigInt)), col(population));
    for (const purpose of ['public-health', 'commercial-pharma']) {
      const dflt = P.find((x) => x.code === purpose)!.consent;
      for (const at of [4999, 5015, 6000]) {
        const out = await run3(async (p) => {
          const consent = await consentJoinInput(p, cShares(p.id), purposeIndex(P, purpose), at, 'check');
          // The consent table has several rows per person (one in force): not the join's first
          // table, whose scan assumes one row per key whatever `present` says (see consent-mpc.ts).
          const j = await joinOnKey(p, [{ key: pk![p.id]!, columns: [], unique: true, name: 'population' }, consent, { key: dk![p.id]!, columns: [dv![p.id]!], unique: false, name: 'data' }], { keyBits: 34 });
          const usable = consentUsable(p, j.tables[1]!, dflt);
          return A.revealMany(p, [usable, j.tables[2]!.here, j.tables[2]!.columns[0]!]);
        });
        const [usable, here, who] = out[0].map((c) => signed(c!));
        let dataRows = 0;
        for (let r = 0; r < here!.length; r++) {
          if (here![r] !== 1n) continue;
          dataRows++;
          const person = Number(who![r]);
          const want = consentDecision(events, person, purpose, at, dflt).usable ? 1n : 0n;
          assert.equal(usable![r], want, `${purpose} at ${at}: person ${person}`);
        }
        assert.equal(dataRows, dataPersons.length);
        // All three parties computed the same.
        assert.deepEqual(out[1].map((c) => signed(c!)), out[0].map((c) => signed(c!)));
      }
    }
  });

  it('the join refuses a malformed register (two rows in force for one person) when asked to check', async () => {
    const bad = [
      { person: 5, purpose: 'public-health', granted: true, time: 10, until: OPEN_UNTIL },
      { person: 5, purpose: 'public-health', granted: false, time: 20, until: OPEN_UNTIL },
    ];
    const e = encodeConsentRows(bad, P);
    const s = shareAll(...['person_id', 'purpose', 'granted', 'time', 'until'].map((c) => e.get(c)!));
    const [dk] = shareAll(col([5n]));
    await assert.rejects(
      run3(async (p) => {
        const c = await consentJoinInput(p, { person: s[0]![p.id]!, purpose: s[1]![p.id]!, granted: s[2]![p.id]!, time: s[3]![p.id]!, until: s[4]![p.id]! }, purposeIndex(P, 'public-health'), 30, 'check');
        return joinOnKey(p, [{ key: dk![p.id]!, columns: [], unique: true }, c, { key: dk![p.id]!, columns: [], unique: false }], { keyBits: 34 });
      }),
      /consent register has more than one row for some key/,
    );
  });
});
