// The statistics tests' data: synthetic registers, the example analysis table computed in
// plaintext straight from the registers (independently of the SQL planner and MPC), and R run on
// it (Rscript; no test is skipped for a missing R: scripts/test-tools.sh installs it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { civilFromDays, daysFromCivil, generateRegisters, type Registers } from '../src/demo/registers.js';

/** The example analysis table (baseline 2024-12-31, follow-up to 2026-12-31). */
export const EXAMPLE_SQL = `SELECT EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') AS t2d,
  age(p.birth_date, '2024-12-31') AS age, p.sex, p.region, i.income_quintile AS q,
  LEAST(d.death_date, e.emigration_date, DATE '2026-12-31') - DATE '2024-12-31' AS days,
  d.person_id IS NOT NULL AS died
 FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023
 LEFT JOIN deaths d ON d.person_id = p.person_id LEFT JOIN emigrations e ON e.person_id = p.person_id`;

export interface ExampleRow { t2d: boolean; age: number; sex: string; region: string; q: number; days: number; died: boolean }

/** The example table in plaintext from the registers themselves (what the SQL means). */
export function exampleTable(regs: Registers): ExampleRow[] {
  const codes = regs.codeLists.get('icd10')!.codes;
  const e11 = new Set<number>();
  const dx = regs.contacts.plain.get('diagnosis')!, cp = regs.contacts.plain.get('person_id')!;
  for (let i = 0; i < regs.contacts.length; i++) if (codes[dx[i]!]!.startsWith('E11')) e11.add(cp[i]!);
  const q = new Map<number, number>();
  const ip = regs.income.plain.get('person_id')!, iq = regs.income.plain.get('income_quintile')!, iy = regs.income.plain.get('year')!;
  for (let i = 0; i < regs.income.length; i++) if (iy[i] === 2023) q.set(ip[i]!, iq[i]!);
  const died = new Map<number, number>(), left = new Map<number, number>();
  regs.deaths.plain.get('person_id')!.forEach((id, i) => died.set(id, regs.deaths.plain.get('death_date')![i]!));
  regs.emigrations.plain.get('person_id')!.forEach((id, i) => left.set(id, regs.emigrations.plain.get('emigration_date')![i]!));
  const base = daysFromCivil(2024, 12, 31), end = daysFromCivil(2026, 12, 31);
  const pop = regs.population.plain;
  const sexes = regs.codeLists.get('sex')!.codes, regions = regs.codeLists.get('region')!.codes;
  const rows: ExampleRow[] = [];
  for (let i = 0; i < regs.population.length; i++) {
    const id = pop.get('person_id')![i]!;
    if (!q.has(id)) continue;
    const [by, bm, bd] = civilFromDays(pop.get('birth_date')![i]!);
    const age = 2024 - by - (bm * 100 + bd > 1231 ? 1 : 0);
    const stop = Math.min(died.get(id) ?? Infinity, left.get(id) ?? Infinity, end);
    rows.push({ t2d: e11.has(id), age, sex: sexes[pop.get('sex')![i]!]!, region: regions[pop.get('region')![i]!]!, q: q.get(id)!, days: stop - base, died: died.has(id) });
  }
  return rows;
}

export function makeRegisters(citizens: number, seed = 11): Registers {
  return generateRegisters({ citizens, seed });
}

/** Runs an R script with the table as `d` (factors with Mosaik's level order); returns key → value. */
export function runR(rows: ExampleRow[], regs: Registers, script: string): Map<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'mosaik-r-'));
  const csv = join(dir, 'd.csv');
  const head = 't2d,age,sex,region,q,days,died';
  writeFileSync(csv, [head, ...rows.map((r) => `${r.t2d ? 'TRUE' : 'FALSE'},${r.age},${r.sex},${r.region},${r.q},${r.days},${r.died ? 'TRUE' : 'FALSE'}`)].join('\n') + '\n');
  const lv = (name: string) => `c(${regs.codeLists.get(name)!.codes.map((c) => JSON.stringify(c)).join(', ')})`;
  const prelude = `suppressMessages(library(survival))
d <- read.csv(${JSON.stringify(csv)}, stringsAsFactors = FALSE, encoding = "UTF-8")
d$t2d <- as.logical(d$t2d); d$died <- as.logical(d$died)
d$sex <- factor(d$sex, levels = ${lv('sex')}); d$region <- factor(d$region, levels = ${lv('region')})
out <- function(k, v) for (i in seq_along(v)) cat(sprintf("%s\\t%.17g\\n", if (length(v) > 1) paste0(k, i) else k, v[i]), sep = "")
`;
  writeFileSync(join(dir, 's.R'), prelude + script);
  const text = execFileSync('Rscript', ['--vanilla', join(dir, 's.R')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split('\t');
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}
