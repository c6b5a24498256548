// Ingest throughput of hospital exports (issue 15): the synthetic registers of N citizens (default
// 100 000) written as CSV, as a FHIR R4 Bulk Data export and as OMOP CDM 5.4 tables
// (src/demo/hospital-export.ts), then each read and validated as `mosaik ingest --dry-run` does
// (CSV: the three registers' files; FHIR and OMOP: the whole export, linked and mapped onto
// population, contacts and prescriptions), each in a process of its own so that its peak memory is
// its own. Every run checks that it gave exactly the generator's columns.
//
//   npm run bench:hospital [-- --citizens N] [--runs R]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRegistersCsv } from '../src/demo/csv.js';
import { writeFhirExport, writeOmopExport } from '../src/demo/hospital-export.js';
import { hospitalRegisters } from '../src/demo/hospital-registers.js';
import { demoCodeLists } from '../src/demo/codelists.js';
import { generateRegisters } from '../src/demo/registers.js';
import { demoSchemas } from '../src/demo/schemas.js';
import { readCsvFile } from '../src/ingest/csv.js';
import { readFhirExport } from '../src/ingest/fhir.js';
import { readOmopExport } from '../src/ingest/omop.js';

const SELF = fileURLToPath(import.meta.url);
const NAMES = ['population', 'contacts', 'prescriptions'] as const;

interface Run {
  ms: number;
  /** CPU time (user + system) of the read: what the machine's other load does not inflate. */
  cpuMs: number;
  records: number;
  rows: number;
  maxRssMiB: number;
  identical: boolean;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** One format, read in this process: the child's side. */
async function readOnce(format: string, dir: string, citizens: number): Promise<Run> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let records = 0;
  let cols: Map<string, Map<string, BigUint64Array> | null>;
  if (format === 'csv') {
    cols = new Map();
    const lists = demoCodeLists();
    for (const schema of demoSchemas().filter((d) => (NAMES as readonly string[]).includes(d.name))) {
      const v = await readCsvFile(join(dir, `${schema.name}.csv`), schema, lists);
      records += v.rows;
      cols.set(schema.name, v.columns);
    }
  } else {
    const rec = await (format === 'fhir' ? readFhirExport : readOmopExport)([dir]);
    const h = hospitalRegisters(rec);
    records = rec.patients.length + rec.contacts.length + rec.medications.length + rec.observations;
    cols = new Map(h.registers.map((r) => [r.schema.name, r.validation.columns]));
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024); // before the registers are made to compare with
  const regs = generateRegisters({ citizens, seed: 1 });
  const identical = NAMES.every((n) => {
    const got = cols.get(n);
    return !!got && [...regs[n].columns].every(([c, col]) => {
      const g = got.get(c)!;
      return g.length === col.length && g.every((x, i) => x === col[i]);
    });
  });
  return { ms, cpuMs, records, rows: NAMES.reduce((s, n) => s + regs[n].length, 0), maxRssMiB, identical };
}

const size = (dir: string) => readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);

async function main(): Promise<void> {
  if (process.argv[2] === '--read') {
    process.stdout.write(JSON.stringify(await readOnce(process.argv[3]!, process.argv[4]!, Number(process.argv[5]))));
    return;
  }
  const citizens = arg('--citizens', 100_000);
  const runs = arg('--runs', 2);
  const root = mkdtempSync(join(tmpdir(), 'mosaik-bench-hospital-'));
  try {
    const regs = generateRegisters({ citizens, seed: 1 });
    const dirs = { csv: join(root, 'csv'), fhir: join(root, 'fhir'), omop: join(root, 'omop') };
    let t = performance.now();
    await writeRegistersCsv({ ...regs, all: NAMES.map((n) => regs[n]) }, dirs.csv);
    const writeCsv = performance.now() - t;
    t = performance.now();
    writeFhirExport(regs, dirs.fhir);
    const writeFhir = performance.now() - t;
    t = performance.now();
    writeOmopExport(regs, dirs.omop);
    const writeOmop = performance.now() - t;
    console.log(`${citizens.toLocaleString('en-US')} citizens: ${NAMES.map((n) => `${regs[n].length.toLocaleString('en-US')} ${n}`).join(', ')}`);
    console.log(`written: CSV ${(size(dirs.csv) / 1e6).toFixed(1)} MB (${(writeCsv / 1000).toFixed(1)} s), FHIR ${(size(dirs.fhir) / 1e6).toFixed(1)} MB (${(writeFhir / 1000).toFixed(1)} s), OMOP ${(size(dirs.omop) / 1e6).toFixed(1)} MB (${(writeOmop / 1000).toFixed(1)} s)`);
    console.log(`load average when reading: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (2 cores); rates from CPU time, wall time beside it`);
    console.log('| input | MB | records read | CPU time (best of runs) | wall time | records/s | MB/s | register rows/s | peak RSS | identical to the CSV path |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const [format, dir] of Object.entries(dirs)) {
      let best: Run | null = null;
      for (let r = 0; r < runs; r++) {
        const c = spawnSync(process.execPath, [SELF, '--read', format, dir, String(citizens)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (c.status !== 0) throw new Error(`${format}: ${c.stderr}`);
        const run = JSON.parse(c.stdout) as Run;
        if (!best || run.cpuMs < best.cpuMs) best = run;
      }
      const b = best!;
      const mbytes = size(dir) / 1e6;
      const t = b.cpuMs;
      console.log(`| ${format} | ${mbytes.toFixed(1)} | ${b.records.toLocaleString('en-US')} | ${(t / 1000).toFixed(2)} s | ${(b.ms / 1000).toFixed(2)} s | ${Math.round((b.records * 1000) / t).toLocaleString('en-US')} | ${((mbytes * 1000) / t).toFixed(1)} | ${Math.round((b.rows * 1000) / t).toLocaleString('en-US')} | ${b.maxRssMiB} MiB | ${b.identical ? 'yes' : '**no**'} |`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
