// Hospital data in (issue 15): the synthetic registers exported as a hospital would (FHIR R4 Bulk
// Data NDJSON and OMOP CDM 5.4 tables, src/demo/hospital-export.ts), read back by `mosaik ingest
// --format fhir | omop` into exactly the registers' columns (the CSV path's), also with
// MedicationStatement and with codes of another system through the custodian's code map; every kind
// of bad input reported with its file and line and nothing kept; then a real cluster of three node
// daemons: the CSV, FHIR and OMOP versions of the registers stored (the FHIR ones byte-identical to
// the CSV's at every node), the same queries equal on all three, and bad exports storing nothing.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runIngest } from '../src/cli/ingest.js';
import { runRemoteQuery, type RemoteResult } from '../src/cli/query.js';
import { writeRegistersCsv } from '../src/demo/csv.js';
import { writeFhirExport, writeOmopExport } from '../src/demo/hospital-export.js';
import { hospitalRegisters, type HospitalRegisters } from '../src/demo/hospital-registers.js';
import { generateRegisters, type Register } from '../src/demo/registers.js';
import { STUDIES } from '../src/demo/studies.js';
import { parseCodeMap } from '../src/ingest/code-map.js';
import { readFhirExport } from '../src/ingest/fhir.js';
import type { HospitalRecords } from '../src/ingest/hospital-records.js';
import { readOmopExport } from '../src/ingest/omop.js';
import { formatProblems } from '../src/ingest/validate.js';
import type { PartyId } from '../src/net/channel.js';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { apiRequest } from '../src/node/api.js';
import { writeApiPorts } from '../src/node/daemon.js';
import { POP_SQL, T2D_SQL, LOS_SQL } from './governance-fixture.js';
import { localSigners, type LocalSigners } from './identities.js';
import { NodeProcs } from './node-procs.js';

const regs = generateRegisters({ citizens: 1500, seed: 15 });
const root = mkdtempSync(join(tmpdir(), 'mosaik-fhir-omop-'));
after(() => rmSync(root, { recursive: true, force: true }));
const FHIR = join(root, 'fhir');
const OMOP = join(root, 'omop');
writeFhirExport(regs, FHIR);
writeOmopExport(regs, OMOP);
const NAMES = ['population', 'contacts', 'prescriptions'] as const;
const byName = (n: string): Register => regs[n as (typeof NAMES)[number]];

/** Every register of the mapping is exactly the generator's (the same encoded columns as its CSV). */
function assertRegisters(h: HospitalRegisters, records: HospitalRecords, names: readonly string[] = NAMES): void {
  assert.ok(h.ok, formatProblems(records.problems, 10).join('\n'));
  assert.deepEqual(h.registers.map((r) => r.schema.name), names);
  for (const r of h.registers) {
    const reg = byName(r.schema.name);
    assert.equal(r.validation.rows, reg.length, r.schema.name);
    for (const [c, col] of reg.columns) assert.deepEqual(r.validation.columns!.get(c), col, `${r.schema.name}.${c}`);
  }
}

/** A copy of an export with file `file`'s line `line` (1-based) edited; returns its directory. */
let copies = 0;
function edited(src: string, edits: [file: string, line: number, edit: (s: string) => string][]): string {
  const dir = join(root, `edit-${++copies}`);
  cpSync(src, dir, { recursive: true });
  for (const [file, line, edit] of edits) {
    const path = join(dir, file);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[line - 1] = edit(lines[line - 1]!);
    writeFileSync(path, lines.join('\n'));
  }
  return dir;
}

const SNOMED = 'http://snomed.info/sct';
/** E11.9 written in SNOMED CT (FHIR) and as its OMOP concept (201826: type 2 diabetes mellitus). */
const RECODE = new Map([['E11.9', { system: SNOMED, code: '44054006', concept: '201826' }]]);
const e119 = regs.codeLists.get('icd10')!.codes.indexOf('E11.9');
const e119Rows = [...regs.contacts.plain.get('diagnosis')!].filter((d) => d === e119).length;

/** `mosaik ingest` as a function: exit code and everything it printed. */
async function ingest(o: Partial<Parameters<typeof runIngest>[0]> & { file: string }): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runIngest({ dryRun: true, quiet: true, out: (l) => lines.push(l), err: (l) => lines.push(l), ...o });
  return { code, out: lines.join('\n') };
}

describe('FHIR and OMOP exports: exactly the registers', () => {
  it('a FHIR Bulk Data export gives population, contacts and prescriptions as the CSV path does', async () => {
    const records = await readFhirExport([FHIR]);
    assert.equal(records.patients.length, regs.people.count, 'every person, emigrants included, is a Patient');
    assertRegisters(hospitalRegisters(records), records);
    assert.match(records.notes.join('\n'), /^\d+ Observation resources checked \(patient, date\); no register holds observations$/m);
  });

  it('MedicationStatement instead of MedicationRequest gives the same prescriptions', async () => {
    const dir = join(root, 'fhir-statements');
    writeFhirExport(regs, dir, { medication: 'MedicationStatement' });
    const records = await readFhirExport([join(dir, 'Patient.ndjson'), join(dir, 'MedicationStatement.ndjson')]);
    assertRegisters(hospitalRegisters(records), records, ['population', 'prescriptions']);
  });

  it('OMOP CDM tables give the same registers; --schema picks some', async () => {
    const records = await readOmopExport([OMOP]);
    assertRegisters(hospitalRegisters(records), records);
    assertRegisters(hospitalRegisters(records, { registers: ['contacts'] }), records, ['contacts']);
    assert.match(records.notes.join('\n'), /measurement rows checked/);
    // Tab-separated, upper-case table and column names, columns in another order.
    const tsv = join(root, 'omop-tsv');
    cpSync(OMOP, tsv, { recursive: true });
    const lines = readFileSync(join(OMOP, 'person.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split(','));
    const order = lines[0]!.map((_, i) => i).reverse();
    writeFileSync(join(tsv, 'PERSON.csv'), lines.map((f, k) => order.map((i) => (k === 0 ? f[i]!.toUpperCase() : f[i])).join('\t')).join('\n') + '\n');
    rmSync(join(tsv, 'person.csv'));
    const again = await readOmopExport([tsv]);
    assertRegisters(hospitalRegisters(again), again);
  });

  it('codes of another system: an error at every such line without a code map, the same registers through one', async () => {
    const fhir = join(root, 'fhir-snomed');
    const omop = join(root, 'omop-snomed');
    writeFhirExport(regs, fhir, { recode: RECODE });
    writeOmopExport(regs, omop, { recode: RECODE });
    assert.ok(e119Rows > 1);
    for (const [format, dir, file] of [['fhir', fhir, 'Condition.ndjson'], ['omop', omop, 'condition_occurrence.csv']] as const) {
      const bad = await ingest({ file: dir, format });
      assert.equal(bad.code, 1, bad.out);
      assert.match(bad.out, new RegExp(`^${format}-snomed: ${e119Rows} problems in ${e119Rows} lines`));
      assert.match(bad.out, format === 'fhir'
        ? /\n {2}Condition\.ndjson line \d+: Condition\/c\d+: code: no ICD-10 coding \(system http:\/\/hl7\.org\/fhir\/sid\/icd-10\) and no code map \(--code-map\) to translate 'http:\/\/snomed\.info\/sct' '44054006'\n/
        : /\n {2}condition_occurrence\.csv line \d+: condition_source_value '44054006' is not an ICD-10 code, and there is no code map \(--code-map\) to translate OMOP concept 201826 \(condition_concept_id\)\n/);
      assert.ok(bad.out.includes(`\n  ${file} line `));
      assert.match(bad.out, /nothing was uploaded$/);
      const map = join(root, `${format}-map.csv`);
      writeFileSync(map, `source_system,source_code,target_system,target_code,label\n${SNOMED},44054006,ICD-10,E11.9,type 2 diabetes\nOMOP,201826,ICD-10,E11.9,type 2 diabetes\n`);
      const good = await ingest({ file: dir, format, codeMap: map });
      assert.equal(good.code, 0, good.out);
      const records = await (format === 'fhir' ? readFhirExport : readOmopExport)([dir], { codeMap: parseCodeMap(readFileSync(map, 'utf8')).map });
      assertRegisters(hospitalRegisters(records), records);
    }
  });

  it('a code map with bad rows: each reported with its line, nothing read', async () => {
    const lists = { icd10: regs.codeLists.get('icd10')!, atc: regs.codeLists.get('atc')! };
    const m = parseCodeMap(
      ['source_system,source_code,target_system,target_code', `${SNOMED},1,ICD-10,E11.9`, `${SNOMED},2,ICD-9,250`, `${SNOMED},3,ICD-10,X99.9`, `${SNOMED},1,ICD-10,E10.9`, `${SNOMED},4,,`, `OMOP,5,ATC,A10BA02`].join('\n'),
      lists,
      'map.csv',
    );
    assert.deepEqual(formatProblems(m.problems), [
      "  map.csv line 3: target_system 'ICD-9' is not ICD-10 or ATC (the code systems of the registers)",
      "  map.csv line 4: target_code 'X99.9' is not in the registers' ICD-10 code list",
      "  map.csv line 5: 'http://snomed.info/sct' '1' is mapped to ICD-10 'E10.9' here and to ICD-10 E11.9 on an earlier line",
      '  map.csv line 6: every row needs source_system, source_code, target_system, target_code; target_system, target_code empty',
    ]);
    assert.equal(m.map.lookup('OMOP', '5', 'atc'), 'A10BA02');
    const file = join(root, 'bad-map.csv');
    writeFileSync(file, 'system,code\nx,y\n');
    const r = await ingest({ file: FHIR, format: 'fhir', codeMap: file });
    assert.equal(r.code, 1);
    assert.match(r.out, /^bad-map\.csv: 1 problem in 1 line:\n {2}bad-map\.csv line 1: missing columns source_system, source_code, target_system, target_code/);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad input: each case with its file and line, no columns

/** FHIR: one bad line each; the expected report line. */
const FHIR_CASES: [what: string, edits: Parameters<typeof edited>[1], expect: RegExp][] = [
  ['missing resourceType', [['Encounter.ndjson', 5, (s) => s.replace('"resourceType":"Encounter",', '')]], /^ {2}Encounter\.ndjson line 5: the resource has no resourceType \(every line of a Bulk Data export is one FHIR resource/m],
  ['unknown code system, no map', [['Condition.ndjson', 6, (s) => s.replace('http://hl7.org/fhir/sid/icd-10', 'http://example.org/local-codes')]], /^ {2}Condition\.ndjson line 6: Condition\/c5: code: no ICD-10 coding \(system http:\/\/hl7\.org\/fhir\/sid\/icd-10\) and no code map \(--code-map\) to translate 'http:\/\/example\.org\/local-codes' '[A-Z]\d\d[.\d]*'$/m],
  ['bad date', [['Encounter.ndjson', 4, (s) => s.replace(/"period":\{"start":"[^"]+"/, '"period":{"start":"2023-02-30"')]], /^ {2}Encounter\.ndjson line 4: Encounter\/e3: period\.start '2023-02-30' is not a date \(YYYY-MM-DD, or a date-time\)$/m],
  ['reference to a missing Patient', [['Encounter.ndjson', 3, (s) => s.replace(/"subject":\{"reference":"Patient\/p\d+"\}/, '"subject":{"reference":"Patient/nobody"}')]], /^ {2}Encounter\.ndjson line 3: Encounter\/e2 refers to 'Patient\/nobody', which is not in the export \(no Patient resource with that id\)$/m],
  ['malformed JSON line', [['MedicationRequest.ndjson', 2, (s) => s.slice(0, 40)]], /^ {2}MedicationRequest\.ndjson line 2: malformed JSON: .+$/m],
  ['a partial birth date', [['Patient.ndjson', 7, (s) => s.replace(/"birthDate":"(\d{4})-\d\d-\d\d"/, '"birthDate":"$1"')]], /^ {2}Patient\.ndjson line 7: Patient\/p6: birthDate '\d{4}' is not a full date \(the registers need the day: YYYY-MM-DD\)$/m],
  ['no national person id', [['Patient.ndjson', 8, (s) => s.replace('urn:oid:1.2.208.176.1.2', 'urn:oid:1.2.3')]], /^ {2}Patient\.ndjson line 8: Patient\/p7 has no identifier of the national person-id system urn:oid:1\.2\.208\.176\.1\.2 \(--person-system names another\)$/m],
  ['a line over 1 MiB', [['Observation.ndjson', 2, (s) => s.replace('"status":"final"', `"status":"final","note":[{"text":"${'x'.repeat(1 << 20)}"}]`)]], /^ {2}Observation\.ndjson line 2: line 2 is longer than 1 MiB/m],
];

/** OMOP: one bad line (or table) each; the expected report line. */
const OMOP_CASES: [what: string, edits: Parameters<typeof edited>[1], expect: RegExp][] = [
  ['a required column missing', [['visit_occurrence.csv', 1, (s) => s.replace(',care_site_id,', ',care_site,')]], /^ {2}visit_occurrence\.csv line 1: visit_occurrence: missing column care_site_id \(OMOP CDM 5\.4; the first line names the columns\)$/m],
  ['unknown code system, no map', [['condition_occurrence.csv', 6, (s) => s.split(',').map((f, i) => (i === 2 ? '4329847' : i === 13 ? '22298006' : f)).join(',')]], /^ {2}condition_occurrence\.csv line 6: condition_source_value '22298006' is not an ICD-10 code, and there is no code map \(--code-map\) to translate OMOP concept 4329847 \(condition_concept_id\)$/m],
  ['bad date', [['drug_exposure.csv', 3, (s) => s.replace(/^(\d+,\d+,0,)\d{4}-\d\d-\d\d/, '$12024-13-01')]], /^ {2}drug_exposure\.csv line 3: drug_exposure_start_date '2024-13-01' is not a date \(YYYY-MM-DD, or a date-time\)$/m],
  ['reference to a missing person', [['visit_occurrence.csv', 4, (s) => s.replace(/^(\d+),\d+,/, '$1,999999,')]], /^ {2}visit_occurrence\.csv line 4: visit_occurrence_id 3 refers to 'person_id 999999', which is not in the export \(no row of person with that person_id\)$/m],
  ['malformed CSV line', [['person.csv', 5, (s) => s.replace(',M,', ',"M,').replace(',F,', ',"F,')]], /^ {2}person\.csv line 5: malformed CSV: .+$/m],
  ['a line over 1 MiB', [['measurement.csv', 3, (s) => s.replace(',4548-4,', `,${'4'.repeat(1 << 20)},`)]], /^ {2}measurement\.csv line 3: line 3 is longer than 1 MiB/m],
];

describe('FHIR and OMOP exports: bad input', () => {
  for (const [format, src, cases] of [['fhir', FHIR, FHIR_CASES], ['omop', OMOP, OMOP_CASES]] as const) {
    for (const [what, edits, expect] of cases) {
      it(`${format}: ${what}: the file and line, nothing kept`, async () => {
        const dir = edited(src, edits);
        const r = await ingest({ file: dir, format });
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, expect);
        assert.match(r.out, /\ningest: edit-\d+ is not valid for [a-z, ]+; nothing was uploaded$/);
        const records = await (format === 'fhir' ? readFhirExport : readOmopExport)([dir]);
        const h = hospitalRegisters(records);
        assert.equal(h.ok, false);
        for (const reg of h.registers) assert.equal(reg.validation.columns, null);
      });
    }
  }

  it('omop: no person table', async () => {
    const dir = join(root, 'omop-no-person');
    cpSync(OMOP, dir, { recursive: true });
    rmSync(join(dir, 'person.csv'));
    const r = await ingest({ file: dir, format: 'omop' });
    assert.equal(r.code, 1);
    assert.match(r.out, /^ {2}person: the export has no person table \(person\.csv\): it holds the persons every other table refers to$/m);
  });

  it('other resource types are skipped with a note; --schema names only hospital registers; one file at a time for CSV', async () => {
    const dir = edited(FHIR, [['Organization.ndjson', 1, (s) => `${s}\n{"resourceType":"Practitioner","id":"x"}\n{"resourceType":"Practitioner","id":"y"}`]]);
    const r = await ingest({ file: dir, format: 'fhir' });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /note: skipped 2 Practitioner resources \(no register holds them\)/);
    const income = await ingest({ file: dir, format: 'fhir', schema: 'demo:income' });
    assert.equal(income.code, 1);
    assert.match(income.out, /--format fhir fills the registers demo:population, demo:contacts, demo:prescriptions; --schema "income" is not one of them/);
    const two = await ingest({ file: join(dir, 'Patient.ndjson'), files: [join(dir, 'Encounter.ndjson')], schema: 'demo:population' });
    assert.equal(two.code, 1);
    assert.match(two.out, /one file at a time for CSV, JSON Lines or Parquet/);
  });
});

// ---------------------------------------------------------------------------------------------
// A real cluster: the CSV, FHIR and OMOP versions, queried alike

const QUERIES = [POP_SQL, T2D_SQL, LOS_SQL, STUDIES.find((s) => s.id === 't2d-prevalence')!.sql, "SELECT region, COUNT(*) AS dispensings, SUM(amount) AS ddd FROM prescriptions WHERE atc LIKE 'A10B%' GROUP BY region"];

describe('FHIR and OMOP exports: a cluster of three node daemons', () => {
  let cluster: LocalCluster;
  let nodes: NodeProcs;
  let ids: LocalSigners;
  const P: PartyId[] = [0, 1, 2];

  before(async () => {
    cluster = await createLocalCluster(join(root, 'cluster'));
    await writeApiPorts(cluster.dir);
    ids = localSigners(cluster.dir); // runIngest signs with the local custodian identity
    nodes = new NodeProcs(cluster, ['--exact-results']);
    await Promise.all(P.map((p) => nodes.start(p)));
  });
  after(() => nodes.stopAll());

  /** The rows every node stores for a version of a register (null where it has none). */
  const stored = (name: string, version: string) =>
    Promise.all(
      P.map(async (p) => {
        const r = await apiRequest<{ version?: string; rows?: number }>(cluster.config, p, `/v1/datasets/${name}?version=${version}`, { signer: ids.researcher });
        return r.status === 200 && r.body.version === version ? r.body.rows! : null;
      }),
    );
  const upload = (o: Partial<Parameters<typeof runIngest>[0]> & { file: string }) => ingest({ dir: cluster.dir, dryRun: false, ...o });

  it('stores the CSV, FHIR and OMOP versions; the FHIR registers are byte-identical to the CSV ones at every node', async () => {
    const csv = await writeRegistersCsv(regs, join(root, 'csv'));
    for (const name of NAMES) {
      const r = await upload({ file: csv.get(name)!, schema: `demo:${name}`, version: 'csv' });
      assert.equal(r.code, 0, r.out);
    }
    for (const [format, dir] of [['fhir', FHIR], ['omop', OMOP]] as const) {
      const r = await upload({ file: dir, format, version: format });
      assert.equal(r.code, 0, r.out + nodes.logs.join('\n'));
      for (const name of NAMES) {
        assert.match(r.out, new RegExp(`^ingest: ${name} version ${format}: ${byName(name).length.toLocaleString('en-US')} rows × \\d+ columns shared; node-a stored, node-b stored, node-c stored`, 'm'));
        assert.deepEqual(await stored(name, format), [byName(name).length, byName(name).length, byName(name).length]);
      }
    }
    // The same shares as the CSV's (derived from the key, the version and the values): nothing new to store.
    const same = await upload({ file: FHIR, format: 'fhir', version: 'csv' });
    assert.equal(same.code, 0, same.out);
    for (const name of NAMES) assert.match(same.out, new RegExp(`^ingest: ${name} version csv: .* node-a already had it, node-b already had it, node-c already had it`, 'm'));
  });

  it('the same queries give the same results on the CSV, FHIR and OMOP versions', async () => {
    for (const sql of QUERIES) {
      const results: Pick<RemoteResult, 'columns' | 'rows' | 'suppressed'>[] = [];
      for (const v of ['csv', 'fhir', 'omop']) {
        const versions = Object.fromEntries(NAMES.filter((n) => new RegExp(`\\b${n}\\b`).test(sql)).map((n) => [n, v]));
        const r = await runRemoteQuery({ config: cluster.config, sql, signer: ids.researcher, versions, timeoutMs: 120_000 });
        for (const n of Object.keys(versions)) assert.equal(r.versions[n], v, `${n} in ${sql}`);
        results.push({ columns: r.columns, rows: r.rows, suppressed: r.suppressed });
      }
      assert.ok(results[0]!.rows.length > 0, sql);
      // Groups and counts exactly; a mean (fixed point, divided in MPC with probabilistic truncation) to a few of its last bits.
      const same = (a: (typeof results)[number], b: (typeof results)[number], what: string): void => {
        assert.deepEqual([a.columns, a.suppressed, a.rows.length], [b.columns, b.suppressed, b.rows.length], what);
        a.rows.forEach((r, i) =>
          r.forEach((x, j) => {
            const y = b.rows[i]![j];
            if (typeof x === 'number' && typeof y === 'number' && !Number.isInteger(x + y)) assert.ok(Math.abs(x - y) < 1e-3, `${what}: row ${i}, ${x} vs ${y}`);
            else assert.equal(x, y, `${what}: row ${i} column ${j}`);
          }),
        );
      };
      same(results[1]!, results[0]!, `FHIR vs CSV: ${sql}`);
      same(results[2]!, results[0]!, `OMOP vs CSV: ${sql}`);
    }
  });

  it('a bad FHIR or OMOP export uploads nothing to any node', async () => {
    for (const [format, dir] of [['fhir', edited(FHIR, FHIR_CASES.slice(0, 5).flatMap(([, e]) => e))], ['omop', edited(OMOP, OMOP_CASES.slice(1, 4).flatMap(([, e]) => e))]] as const) {
      const r = await upload({ file: dir, format, version: `bad-${format}` });
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /nothing was uploaded$/);
      for (const name of NAMES) assert.deepEqual(await stored(name, `bad-${format}`), [null, null, null]);
    }
  });
});
