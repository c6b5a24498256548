import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkSchema, decodeValue, encodeValue, prefixRange, valueBits } from '../src/ingest/schema.js';
import { AGE_BANDS, HOSPITALS, icd10List, MUNICIPALITIES, REGIONS, atcList, demoCodeLists } from '../src/demo/codelists.js';
import { registerCsv, writeRegisterCsv } from '../src/demo/csv.js';
import { CONDITION, civilFromDays, generateRegisters, valueText, type Register } from '../src/demo/registers.js';
import { daysFromCivil } from '../src/ingest/schema.js';

const N = 2000;
const regs = generateRegisters({ citizens: N, seed: 7 });
const lists = regs.codeLists;
const col = (r: Register, name: string) => r.plain.get(name)!;

/** Minimal CSV reader for our output (fields are quoted only when they must be). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const out: string[] = [];
    let i = 0;
    while (i <= line.length) {
      if (line[i] === '"') {
        let s = '';
        i++;
        while (i < line.length) {
          if (line[i] === '"' && line[i + 1] === '"') (s += '"'), (i += 2);
          else if (line[i] === '"') break;
          else s += line[i++];
        }
        out.push(s);
        i += 2;
      } else {
        const j = line.indexOf(',', i);
        const end = j < 0 ? line.length : j;
        out.push(line.slice(i, end));
        i = end + 1;
      }
    }
    rows.push(out);
  }
  return rows;
}

describe('demo code lists', () => {
  it('have the real Danish structure and a realistic ICD-10 / ATC subset', () => {
    assert.equal(MUNICIPALITIES.length, 98);
    assert.equal(new Set(MUNICIPALITIES.map((m) => m.name)).size, 98);
    assert.equal(new Set(MUNICIPALITIES.map((m) => m.number)).size, 98);
    assert.equal(REGIONS.length, 5);
    const perRegion = new Map<string, number>();
    for (const m of MUNICIPALITIES) perRegion.set(m.region, (perRegion.get(m.region) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(perRegion), { Hovedstaden: 29, Sjælland: 17, Syddanmark: 22, Midtjylland: 19, Nordjylland: 11 });
    for (const h of HOSPITALS) assert.ok(REGIONS.some((r) => r.code === h.region), h.name);
    assert.ok(icd10List.codes.length >= 300, `${icd10List.codes.length} ICD-10 codes`);
    for (const c of icd10List.codes) assert.match(c, /^[A-Z]\d\d(\.\d)?$/);
    for (const c of atcList.codes) assert.match(c, /^[A-Z]\d\d[A-Z]{2}(\d\d)?$/);
    const [lo, hi] = prefixRange(icd10List, 'E11');
    assert.deepEqual(icd10List.codes.slice(lo, hi), ['E11', ...Array.from({ length: 10 }, (_, i) => `E11.${i}`)]);
    assert.deepEqual(lists.get('age_band')!.codes, [...AGE_BANDS]);
  });
});

describe('synthetic registers', () => {
  it('are deterministic for a seed and differ across seeds', () => {
    const again = generateRegisters({ citizens: N, seed: 7 });
    const other = generateRegisters({ citizens: N, seed: 8 });
    for (let k = 0; k < regs.all.length; k++) {
      const a = regs.all[k]!, b = again.all[k]!;
      assert.equal(a.length, b.length, a.schema.name);
      for (const [name, c] of a.columns) assert.deepEqual(b.columns.get(name), c, `${a.schema.name}.${name}`);
    }
    assert.notDeepEqual(other.population.columns.get('person_id'), regs.population.columns.get('person_id'));
  });

  it('encode every value exactly as encodeValue does, within valueBits of its column', () => {
    for (const reg of regs.all) {
      checkSchema(reg.schema, lists);
      assert.ok(reg.length > 0, reg.schema.name);
      for (const spec of reg.schema.columns) {
        const enc = reg.columns.get(spec.name)!;
        assert.equal(enc.length, reg.length);
        const bits = valueBits(spec, lists);
        const lim = 1n << BigInt(bits - 1);
        for (let i = 0; i < reg.length; i++) {
          const text = valueText(reg, spec.name, i, lists);
          const e = encodeValue(spec, text, lists); // throws on a bound or code-list violation
          if (e !== enc[i]) assert.fail(`${reg.schema.name}.${spec.name} row ${i}: '${text}' encodes to ${e}, column has ${enc[i]}`);
          const s = BigInt.asIntN(64, e);
          assert.ok(s >= -lim && s < lim, `${reg.schema.name}.${spec.name}: ${text} exceeds ${bits} bits`);
          const back = decodeValue(spec, e, lists);
          if (spec.type === 'date' || spec.type === 'code') assert.equal(back, text);
          else if (spec.type === 'bool') assert.equal(back, text === 'true');
          else assert.equal(back, Number(text));
        }
      }
    }
  });

  it('give each resident a unique CPR-like number matching birth date and sex', () => {
    const { people } = regs;
    const ids = col(regs.population, 'person_id');
    const all = new Set(people.id);
    assert.equal(all.size, people.count);
    assert.equal(regs.population.length, N);
    for (let i = 0; i < N; i++) {
      const id = ids[i]!;
      assert.ok(Number.isInteger(id) && id < 2 ** 34 && id >= 0);
      const t = String(id).padStart(10, '0');
      const [y, m, d] = civilFromDays(col(regs.population, 'birth_date')[i]!);
      assert.equal(t.slice(0, 6), `${String(d).padStart(2, '0')}${String(m).padStart(2, '0')}${String(y % 100).padStart(2, '0')}`);
      assert.equal(Number(t[9]) % 2 === 1 ? 'M' : 'F', lists.get('sex')!.codes[col(regs.population, 'sex')[i]!]);
      assert.ok(y < 2000 ? Number(t[6]) <= 3 : Number(t[6]) >= 4, `century digit of ${t}`);
    }
  });

  it('link contacts, prescriptions and income to persons (emigrants only in the health registers)', () => {
    const { people } = regs;
    const resident = new Set(col(regs.population, 'person_id'));
    const emigratedOn = new Map<number, number>();
    for (let i = people.residents; i < people.count; i++) emigratedOn.set(people.id[i]!, people.emigrated[i]!);
    assert.equal(emigratedOn.size, Math.round(N * regs.options.emigrantShare));
    let emigrantRows = 0;
    for (const [reg, dateCol] of [[regs.contacts, 'admission_date'], [regs.prescriptions, 'date']] as const) {
      const pid = col(reg, 'person_id'), date = col(reg, dateCol);
      for (let i = 0; i < reg.length; i++) {
        if (resident.has(pid[i]!)) continue;
        const em = emigratedOn.get(pid[i]!);
        assert.ok(em !== undefined, `${reg.schema.name} row ${i}: unknown person ${pid[i]}`);
        assert.ok(date[i]! <= em, `${reg.schema.name} row ${i}: event after emigration`);
        emigrantRows++;
      }
    }
    assert.ok(emigrantRows > 0, 'some emigrants have health records');
    const inc = col(regs.income, 'person_id');
    const withIncome = new Set(inc);
    assert.equal(withIncome.size, regs.income.length, 'one income row per person and year');
    for (const id of inc) assert.ok(resident.has(id), `income for non-resident ${id}`);
    const year = regs.options.incomeYears[0]!;
    let expected = 0;
    for (let i = 0; i < people.residents; i++) if (year - civilFromDays(people.birth[i]!)[0] >= 15 && !people.noIncome[i]) expected++;
    assert.equal(regs.income.length, expected);
    assert.ok(expected < resident.size, 'some residents (children, missing) have no income row');
  });

  it('have type-2 diabetes rising with age and marked once per person by first_in_category', () => {
    const c = regs.contacts;
    const [lo, hi] = prefixRange(icd10List, 'E11');
    const dx = col(c, 'diagnosis'), first = col(c, 'first_in_category'), pid = col(c, 'person_id');
    const withE11 = new Set<number>();
    let firsts = 0;
    for (let i = 0; i < c.length; i++) {
      if (dx[i]! >= lo && dx[i]! < hi) {
        withE11.add(pid[i]!);
        firsts += first[i]!;
      }
    }
    assert.equal(firsts, withE11.size);
    // The register shows exactly the persons with type-2 diabetes.
    const truth = new Set<number>();
    for (let i = 0; i < regs.people.count; i++) if (regs.people.conditions[i]! & CONDITION.T2D) truth.add(regs.people.id[i]!);
    assert.deepEqual([...withE11].sort(), [...truth].sort());
    // Prevalence among residents by coarse age group (from the population register's age bands).
    const band = col(regs.population, 'age_band'), ids = col(regs.population, 'person_id');
    const groups = [[0, 8], [8, 12], [12, 18]]; // <40, 40–59, 60+
    const prev = groups.map(([a, b]) => {
      let n = 0, d = 0;
      for (let i = 0; i < N; i++) if (band[i]! >= a! && band[i]! < b!) (n++, (d += withE11.has(ids[i]!) ? 1 : 0));
      return d / n;
    });
    assert.ok(prev[0]! < 0.02 && prev[0]! < prev[1]! && prev[1]! < prev[2]!, `prevalence by age ${prev.map((x) => x.toFixed(3))}`);
    assert.ok(prev[2]! > 0.08 && prev[2]! < 0.2);
  });

  it('look plausible: sex ratio, contact rate, length of stay, prescriptions, income', () => {
    const sex = col(regs.population, 'sex');
    let men = 0;
    for (let i = 0; i < N; i++) men += sex[i]!;
    men /= N;
    assert.ok(men > 0.46 && men < 0.54, `share of men ${men}`);
    const years = regs.options.toYear - regs.options.fromYear + 1;
    const rate = regs.contacts.length / N / years;
    assert.ok(rate > 1 && rate < 2.2, `contacts per person-year ${rate}`);
    const los = col(regs.contacts, 'length_of_stay');
    const short = los.filter((x) => x <= 3).length / los.length;
    assert.ok(short > 0.75, `share of stays ≤ 3 days ${short}`);
    // Most type-2 diabetics get oral antidiabetics (A10B).
    const [lo, hi] = prefixRange(atcList, 'A10B');
    const onA10B = new Set<number>();
    const atc = col(regs.prescriptions, 'atc'), rxPid = col(regs.prescriptions, 'person_id');
    for (let i = 0; i < regs.prescriptions.length; i++) if (atc[i]! >= lo && atc[i]! < hi) onA10B.add(rxPid[i]!);
    let t2d = 0, treated = 0;
    for (let i = 0; i < regs.people.count; i++) {
      if (regs.people.conditions[i]! & CONDITION.T2D) {
        t2d++;
        if (onA10B.has(regs.people.id[i]!)) treated++;
      }
    }
    assert.ok(treated / t2d > 0.6, `A10B among type-2 diabetics ${treated}/${t2d}`);
    const income = Float64Array.from(col(regs.income, 'income')).sort();
    const median = income[income.length >> 1]!;
    assert.ok(median > 150_000 && median < 450_000, `median income ${median}`);
  });

  it('write CSV that re-encodes to the same columns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mosaik-registers-'));
    try {
      for (const reg of regs.all) {
        let text: string;
        if (reg === regs.contacts) {
          const path = join(dir, 'contacts.csv');
          assert.equal(await writeRegisterCsv(reg, lists, path), reg.length);
          text = await readFile(path, 'utf8');
        } else text = registerCsv(reg, lists);
        const rows = parseCsv(text);
        assert.deepEqual(rows[0], reg.schema.columns.map((c) => c.name));
        assert.equal(rows.length - 1, reg.length);
        reg.schema.columns.forEach((spec, k) => {
          const enc = reg.columns.get(spec.name)!;
          for (let i = 0; i < reg.length; i++) {
            const e = encodeValue(spec, rows[i + 1]![k]!, lists);
            if (e !== enc[i]) assert.fail(`${reg.schema.name}.${spec.name} line ${i + 2}: '${rows[i + 1]![k]}'`);
          }
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('respect the period options', () => {
    const r = generateRegisters({ citizens: 300, seed: 3, fromYear: 2019, toYear: 2020, incomeYears: [2019, 2020], prescriptionFromYear: 2019 });
    const start = daysFromCivil(2019, 1, 1), end = daysFromCivil(2020, 12, 31);
    for (const d of col(r.contacts, 'admission_date')) assert.ok(d >= start && d <= end);
    for (const d of col(r.prescriptions, 'date')) assert.ok(d >= start && d <= end);
    assert.deepEqual(new Set(col(r.income, 'year')), new Set([2019, 2020]));
    assert.equal(demoCodeLists().size, 8);
    assert.throws(() => generateRegisters({ citizens: 10, incomeYears: [1999] }), RangeError);
  });
});
