// The main job's example statistics (issue 13) on the demo registers: the analysis table that
// links the CPR register, income, the patient register (type-2 diabetes: any E11 contact), and the
// causes-of-death and emigration registers (follow-up from 2024-12-31 to death, emigration or
// 2026-12-31), and that same table in plaintext straight from the generated registers (what the SQL
// means, independently of the SQL planner and MPC), for the comparison with R. Plaintext only: the
// custodians' and the checker's side, never a node's.
import { daysFromCivil } from '../ingest/schema.js';
import { civilFromDays, type Registers } from './registers.js';

/** The analysis table of the example statistics. */
export const ANALYSIS_SQL = `SELECT EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') AS t2d,
  age(p.birth_date, '2024-12-31') AS age, age_band(p.birth_date, '2024-12-31', 10, 90) AS age10, p.sex, p.region, i.income_quintile AS q,
  LEAST(d.death_date, e.emigration_date, DATE '2026-12-31') - DATE '2024-12-31' AS days,
  d.person_id IS NOT NULL AS died
 FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2023
 LEFT JOIN deaths d ON d.person_id = p.person_id LEFT JOIN emigrations e ON e.person_id = p.person_id`;

export interface AnalysisRow { t2d: boolean; age: number; age10: number; sex: string; region: string; q: number; days: number; died: boolean }

/** The example statistics: a logistic regression, and survival by diabetes status. */
export const EXAMPLE_STATISTICS = {
  logistic: { fn: 'glm', formula: 't2d ~ age10 + sex + factor(q)', family: 'binomial', epsilon: 0.4 },
  survival: { fn: 'survfit', formula: 'Surv(days, died) ~ t2d', bin: 91, epsilon: 0.3 },
  cox: { fn: 'coxph', formula: 'Surv(days, died) ~ t2d + age10 + sex', bin: 91, epsilon: 0.3 },
} as const;

/** The analysis table in plaintext from the registers themselves (what ANALYSIS_SQL means). */
/** `excluded`: persons left out (e.g. those the consent filter removes inside MPC). */
export function analysisRows(regs: Registers, excluded?: ReadonlySet<number>): AnalysisRow[] {
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
  const rows: AnalysisRow[] = [];
  for (let i = 0; i < regs.population.length; i++) {
    const id = pop.get('person_id')![i]!;
    if (!q.has(id) || excluded?.has(id)) continue;
    const [by, bm, bd] = civilFromDays(pop.get('birth_date')![i]!);
    const age = 2024 - by - (bm * 100 + bd > 1231 ? 1 : 0);
    const stop = Math.min(died.get(id) ?? Infinity, left.get(id) ?? Infinity, end);
    rows.push({ t2d: e11.has(id), age, age10: age < 0 ? 0 : Math.min(90, Math.floor(age / 10) * 10), sex: sexes[pop.get('sex')![i]!]!, region: regions[pop.get('region')![i]!]!, q: q.get(id)!, days: stop - base, died: died.has(id) });
  }
  return rows;
}
