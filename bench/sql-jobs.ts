// Party-local job of `npm run bench:sql` (bench/sql.ts): one query of issue 17, written with its new
// SQL forms, over generated registers with about `contacts` hospital contacts, timed at each of three
// TLS node processes. Every party generates the same seeded registers to learn the table sizes;
// party 0 inputs the values (set-up, not timed). Timed: the whole query (joins, sorts, window
// functions, aggregates, disclosure control), nothing revealed but its released cells.
import * as A from '../src/mpc/arith.js';
import type { Party } from '../src/mpc/party.js';
import type { JobResult } from './jobs.js';

/** The queries: the cohort comorbidity top 10 and recurrent infections (Secrecy, NSDI 2023; Orq, SOSP 2025). */
export const SQL_BENCH: Record<string, { what: string; sql: string }> = {
  comorbidity: {
    what: 'cohort comorbidity top 10: persons with type-2 diabetes by their other diagnoses (IN subquery, COUNT(DISTINCT), GROUP BY all ICD-10 codes, ORDER BY … LIMIT 10 in MPC)',
    sql: `WITH cohort AS (SELECT person_id FROM contacts WHERE diagnosis LIKE 'E11%')
      SELECT c.diagnosis, COUNT(DISTINCT c.person_id) AS persons FROM contacts c
      WHERE c.person_id IN (SELECT person_id FROM cohort) AND c.diagnosis NOT LIKE 'E11%'
      GROUP BY c.diagnosis ORDER BY persons DESC LIMIT 10`,
  },
  t2d: {
    what: 'main job: type-2 diabetes prevalence by region and sex (population EXISTS contacts)',
    sql: "SELECT p.region, p.sex, COUNT(*) AS persons FROM population p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY p.region, p.sex",
  },
  income: {
    what: 'main job: persons by income quintile (population ⋈ income of one year; the year breaks ties in the sort)',
    sql: 'SELECT i.income_quintile, COUNT(*) AS persons FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2024 GROUP BY i.income_quintile',
  },
  't2d-income': {
    what: 'main job: type-2 diabetes prevalence by income quintile (population ⋈ income ⋈ EXISTS contacts)',
    sql: "SELECT i.income_quintile, COUNT(*) AS persons FROM population p JOIN income i ON i.person_id = p.person_id AND i.year = 2024 WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.person_id AND c.diagnosis LIKE 'E11%') GROUP BY i.income_quintile",
  },
  recurrent: {
    what: 'recurrent respiratory contacts: the next contact of the same person within 15–56 days (WITH, LEAD … OVER (PARTITION BY person_id ORDER BY admission_date), a difference of dates, COUNT(DISTINCT))',
    sql: `WITH resp AS (SELECT person_id, admission_date, LEAD(admission_date) OVER (PARTITION BY person_id ORDER BY admission_date) AS next_adm
        FROM contacts WHERE diagnosis LIKE 'J%')
      SELECT COUNT(*) AS recurrences, COUNT(DISTINCT person_id) AS persons FROM resp WHERE next_adm - admission_date BETWEEN 15 AND 56`,
  },
};

/** Contacts per citizen of the generated registers at their default rates (registers.ts: ≈ 4.5). */
export const CONTACTS_PER_CITIZEN = 4.5;

export interface SqlJobResult extends JobResult {
  /** The released rows (party 0's view). */
  rows: unknown[][] | null;
  /** Wall time of each step (trace), ms. */
  steps: [string, number][];
  /** `keptExists`: the time to make the EXISTS flags first (not in ms), ms. */
  flagsMs?: number;
  /** `flagAgain`: the time to make them once more from the first making's kept line-ups, ms. */
  flagsAgainMs?: number;
}

export async function sqlQuery(p: Party, { contacts, query, again = false, keptExists = false, flagAgain = false, inOrder = false }: { contacts: number; query: string; again?: boolean; keptExists?: boolean; flagAgain?: boolean; inOrder?: boolean }): Promise<SqlJobResult> {
  const { generateRegisters } = await import('../src/demo/registers.js');
  const { planJoinSql, runJoinQuery } = await import('../src/query/index.js');
  const { existsFlag, keptExistsOf, withExistsFlags, withKeptExists } = await import('../src/query/exists-flags.js');
  const q = SQL_BENCH[query] ?? (() => { throw new Error(`unknown query ${query} (${Object.keys(SQL_BENCH).join(', ')})`); })();
  const { inPersonOrder } = await import('../src/ingest/person-order.js');
  const generated = generateRegisters({ citizens: Math.max(100, Math.round(contacts / CONTACTS_PER_CITIZEN)), seed: 17, incomeYears: [2024] });
  // `inOrder`: the registers as `mosaik ingest` uploads them, in person order (their joins merge).
  const regs = { ...generated, all: generated.all.map((r) => (inOrder ? { ...r, ...inPersonOrder({ schema: r.schema, codeLists: generated.codeLists, rows: r.length, columns: r.columns }) } : { ...r, sortedBy: undefined })) };
  const sortedBy = new Map(regs.all.flatMap((r) => (r.sortedBy ? [[r.schema.name, r.sortedBy] as [string, string]] : [])));
  const jp = planJoinSql(q.sql, new Map(regs.all.map((r) => [r.schema.name, r.schema])), regs.codeLists, { sortedBy });
  const shares = new Map<string, Map<string, A.AShare>>();
  for (const t of jp.tables) {
    const reg = regs.all.find((r) => r.schema.name === t.dataset.name)!;
    const m = new Map<string, A.AShare>();
    for (const c of t.reads) m.set(c, await A.input(p, 0, p.id === 0 ? reg.columns.get(c)! : null, reg.length));
    shares.set(t.alias, m);
  }
  // `keptExists`: every EXISTS's flag made first, as the nodes keep it (src/node/exists-cache.ts),
  // timed apart; the query then joins without the EXISTS's register.
  let flagsMs: number | undefined, flagsAgainMs: number | undefined;
  const flagSteps: [string, number][] = [];
  let q0 = { jp, tables: shares };
  if (keptExists) {
    if (!keptExistsOf(jp).length) throw new Error(`${query} has no EXISTS whose flag can be kept`);
    await p.barrier();
    const tf = performance.now();
    const trace = (phase: string, ms: number) => flagSteps.push([`flag: ${phase}`, ms]);
    if (!flagAgain) q0 = await withExistsFlags(p, jp, shares, { trace });
    else {
      // `flagAgain`: each flag made, its line-up kept, then made once more from that line-up (as a
      // node does for another condition over the same two registers), timed apart.
      const ks = keptExistsOf(jp);
      const kept: import('../src/query/exists-flags.js').FlagLineup[] = [];
      for (const k of ks) await existsFlag(p, jp, k, shares, { trace, onLineup: (l) => kept.push(l) });
      flagsMs = performance.now() - tf;
      if (kept.length !== ks.length) throw new Error('an EXISTS flag kept no line-up');
      await p.barrier();
      const ta = performance.now();
      const flags = [];
      for (const [i, k] of ks.entries()) flags.push({ k, flag: await existsFlag(p, jp, k, shares, { trace: (phase, ms) => flagSteps.push([`flag again: ${phase}`, ms]), lineup: kept[i]! }) });
      flagsAgainMs = performance.now() - ta;
      q0 = withKeptExists(jp, shares, flags);
    }
    flagsMs ??= performance.now() - tf;
  }
  // Rows joined (a cohort folded into its own register is not joined again).
  const rows = q0.jp.order.reduce((s, i) => s + regs.all.find((r) => r.schema.name === q0.jp.tables[i]!.dataset.name)!.length, 0);
  await p.barrier();
  let s0 = { ...p.net.stats };
  const steps: [string, number][] = [];
  const t0 = performance.now();
  let lineup: import('../src/mpc/join.js').JoinLineup | undefined;
  const r = await runJoinQuery(p, q0.jp, q0.tables, { minCellSize: 5, trace: (phase, ms) => steps.push([phase, ms]), onLineup: (l) => (lineup = l) });
  let ms = performance.now() - t0;
  if (again) {
    // `--again`: the same query once more with the first run's line-up (as the nodes keep it, src/node/lineup-cache.ts); timed alone.
    if (!lineup) throw new Error('the query made no line-up (it joins nothing, or something derived)');
    await p.barrier();
    steps.length = 0;
    s0 = { ...p.net.stats };
    const t1 = performance.now();
    await runJoinQuery(p, q0.jp, q0.tables, { minCellSize: 5, trace: (phase, ms) => steps.push([phase, ms]), lineup });
    ms = performance.now() - t1;
  }
  const s1 = { ...p.net.stats };
  await p.barrier();
  return { party: p.id, n: rows, ms, sent: s1.sent - s0.sent, received: s1.received - s0.received, frames: s1.frames - s0.frames, rows: r.rows, steps: [...flagSteps, ...steps], ...(flagsMs !== undefined ? { flagsMs } : {}), ...(flagsAgainMs !== undefined ? { flagsAgainMs } : {}) };
}
