// The statistics tests' data: synthetic registers, the example analysis table computed in
// plaintext straight from the registers (independently of the SQL planner and MPC), and R run on
// it (Rscript; no test is skipped for a missing R: scripts/test-tools.sh installs it).
import { generateRegisters, type Registers } from '../src/demo/registers.js';
import { analysisRows, type AnalysisRow } from '../src/demo/analyses.js';
import { runR as runRscript } from '../src/cli/r-reference.js';

/** The example analysis table (baseline 2024-12-31, follow-up to 2026-12-31). */
export const EXAMPLE_SQL = `SELECT EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') AS t2d,
  age(p.birth_date, '2024-12-31') AS age, p.sex, p.region, i.income_quintile AS q,
  LEAST(d.death_date, e.emigration_date, DATE '2026-12-31') - DATE '2024-12-31' AS days,
  d.person_id IS NOT NULL AS died
 FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023
 LEFT JOIN deaths d ON d.person_id = p.person_id LEFT JOIN emigrations e ON e.person_id = p.person_id`;

export type ExampleRow = AnalysisRow;

/** The example table in plaintext from the registers themselves (what the SQL means; age10 extra). */
export const exampleTable = (regs: Registers): ExampleRow[] => analysisRows(regs);

export function makeRegisters(citizens: number, seed = 11): Registers {
  return generateRegisters({ citizens, seed });
}

/** Runs an R script with the table as `d` (factors with Mosaik's level order); returns key → value. */
export const runR = (rows: ExampleRow[], regs: Registers, script: string): Map<string, number> => runRscript(rows, regs.codeLists, script);
