// The main job's statistics (issue 13), after the SQL studies of `mosaik demo`: a researcher with
// its own privacy budget runs, on the linked demo registers (src/demo/analyses.ts),
//   1. type-2 diabetes ~ age + sex + income quintile (logistic regression, glm binomial), and
//   2. survival by diabetes status: Kaplan–Meier curves, the log-rank test (from the same released
//      life table: no second run) and a Cox regression,
// each as a job on the three node daemons (src/cli/stats.ts), and prints every estimate beside R's
// (Rscript, package survival) on the same data computed in plaintext from the generated registers,
// with the 95 % margin of the protection's noise. Where R is not installed it says so and prints
// the MPC results alone.
import type { Signer } from '../governance/identity.js';
import type { ClusterConfig } from '../net/keys.js';
import type { Registers } from '../demo/registers.js';
import { ANALYSIS_SQL, analysisRows, EXAMPLE_STATISTICS } from '../demo/analyses.js';
import type { StatRequest, StatResult } from '../stats/shapes.js';
import { statisticText } from '../stats/service.js';
import type { SignedStudy } from '../governance/study.js';
import { parseQuery, tablesOf } from '../query/index.js';
import { startR, type RSession } from './r-reference.js';
import { reread, runRemoteStat, type RemoteStat } from './stats.js';
import { afterSubmit, messagesPerNode } from './query.js';

export interface StatsDemoOptions {
  config: ClusterConfig;
  signer: Signer;
  /** The version every demo register was uploaded as. */
  version: string;
  regs: Registers;
  minCellSize: number;
  log: (line: string) => void;
  /** Governed cluster: the signed, approved study whose statistics (statisticCalls) these runs are. */
  study?: SignedStudy;
  /** Persons the consent filter leaves out (the reference leaves them out too). */
  excluded?: ReadonlySet<number>;
  /** R, started early by the caller (loading survival takes ≈ 2 CPU-seconds); started now if not given. */
  r?: RSession;
}

/** The example statistics as a study's calls: id, the call's text (as signed), epsilon, description. */
export function statisticCalls(): { id: string; statistic: string; epsilon: number; description: string }[] {
  const S = EXAMPLE_STATISTICS;
  const text = ({ epsilon: _e, ...req }: { epsilon: number } & Omit<StatRequest, 'data'>) => statisticText({ data: ANALYSIS_SQL, ...req } as StatRequest);
  return [
    { id: 'logistic', statistic: text(S.logistic), epsilon: S.logistic.epsilon, description: 'type-2 diabetes ~ age band + sex + income quintile (logistic regression)' },
    { id: 'survival', statistic: text(S.survival), epsilon: S.survival.epsilon, description: 'Kaplan–Meier by diabetes status (the log-rank test from the same life table)' },
    { id: 'cox', statistic: text(S.cox), epsilon: S.cox.epsilon, description: 'Cox regression: diabetes, age band, sex' },
  ];
}

/** A protected estimate agrees with R when within 10 standard deviations of the noise (+ 1e-3 relative). */
const AGREE_SD = 10;
const num = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? '—' : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(d - 1) : x.toPrecision(d));

function table(header: string[], rows: string[][]): string[] {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => '  ' + c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('   ');
  return [line(header), '  ' + w.map((n) => '─'.repeat(n)).join('   '), ...rows.map(line)];
}

/**
 * Rows "name | MPC ± margin | R | agree" for the keys given; returns whether all compared agree and
 * how many could not be compared: a protected estimate without a stated noise margin (a fit that
 * did not converge under the noise, e.g. with few persons and events) is shown, not compared.
 */
function beside(r: StatResult, keys: [label: string, key: string, rKey: string][], R: Map<string, number> | null, log: (l: string) => void, transform: (x: number) => number = (x) => x): { agree: boolean; uncompared: number } {
  let all = true;
  let uncompared = 0;
  const rows = keys.map(([label, key, rKey]) => {
    const v = r.values[key], e = r.errors?.[key], want = R?.get(rKey);
    // Not released (NaN): withheld for a stated reason (e.g. separation of the noisy table), not a disagreement.
    if (v !== undefined && Number.isNaN(v)) return [label, 'withheld', '', want === undefined ? '—' : num(transform(want)), '(see note)'];
    if (r.errors && !(e && Number.isFinite(e.sd)) && v !== undefined && want !== undefined) {
      uncompared++;
      return [label, num(transform(v)), '±—', num(transform(want)), 'not compared'];
    }
    const sd = e?.sd ?? 0;
    const ok = want === undefined || v === undefined ? null : Math.abs(v - want) <= AGREE_SD * sd + 1e-3 * Math.abs(want) + 1e-9;
    if (ok === false) all = false;
    return [label, num(v === undefined ? v : transform(v)), e ? `±${num(e.half95, 2)}` : '', want === undefined ? '—' : num(transform(want)), ok === null ? '' : ok ? 'yes' : 'NO'];
  });
  for (const l of table(['', `MPC${r.errors ? ' (protected)' : ''}`, '95 % (noise)', 'R', 'agree'], rows)) log(l);
  return { agree: all, uncompared };
}

export async function runStatisticsExamples(o: StatsDemoOptions): Promise<boolean> {
  const { log } = o;
  const session = o.r ?? startR();
  const withR = await session.available;
  log('');
  log(`▸ Statistics in MPC on the linked registers (src/stats): every iteration of every fit inside MPC, only the estimates released${withR ? '; beside each, R on the same data' : ' (R is not installed here: scripts/test-tools.sh installs it)'}`);
  log(`  analysis table (never leaves MPC): ${ANALYSIS_SQL.replace(/\s+/g, ' ')}`);
  const versions = Object.fromEntries(tablesOf(parseQuery(ANALYSIS_SQL)).map((n) => [n, o.version]));
  const S = EXAMPLE_STATISTICS;
  const run = async (req: Omit<StatRequest, 'data'>, epsilon: number, queryId: string, onSubmitted?: () => void): Promise<RemoteStat> => {
    const common = { config: o.config, signer: o.signer, versions, minCellSize: o.minCellSize, timeoutMs: 1_800_000, ...(onSubmitted ? { onSubmitted } : {}) };
    const r = o.study
      ? await runRemoteStat({ ...common, study: o.study, queryId })
      : await runRemoteStat({ ...common, request: { data: ANALYSIS_SQL, ...req } as StatRequest, epsilon });
    for (const n of r.result.notes) log(`  note: ${n}`);
    return r;
  };
  const { epsilon: e1, ...logistic } = S.logistic;
  log('');
  log(`▸ Type-2 diabetes ~ age (10-year bands) + sex + income quintile: logistic regression (glm, binomial), epsilon ${e1}`);
  // R's data are made once node 0 has accepted the first statistic, so that the nodes start at once.
  const { result: pendingG } = await afterSubmit((onSubmitted) => run(logistic, e1, 'logistic', onSubmitted));
  const rows = analysisRows(o.regs, o.excluded);
  // R runs beside the statistics in MPC (its result is awaited where the first estimate is compared).
  const pendingR = withR
    ? session.run(rows, o.regs.codeLists, `
m <- glm(t2d ~ age10 + sex + factor(q), family = binomial, data = d); cf <- coef(summary(m))
for (n in rownames(cf)) out(paste0("glm:", n), cf[n, 1])
d$m <- 1 + floor((d$days - 1) / ${S.survival.bin}) * ${S.survival.bin}
s <- summary(survfit(Surv(m, died) ~ t2d, data = d)); for (i in seq_along(s$time)) out(paste0("surv:", as.character(s$strata[i]), ":", s$time[i]), s$surv[i])
out("logrank", survdiff(Surv(m, died) ~ t2d, data = d)$chisq)
cf <- coef(coxph(Surv(m, died) ~ t2d + age10 + sex, data = d, ties = "breslow")); for (n in names(cf)) out(paste0("cox:", n), cf[[n]])
`)
    : Promise.resolve(null);
  pendingR.catch(() => {}); // awaited below (a failure is reported there, not as an unhandled rejection)
  let agree = true;
  let uncompared = 0;
  const tally = (b: { agree: boolean; uncompared: number }) => {
    agree &&= b.agree;
    uncompared += b.uncompared;
  };
  const g = await pendingG;
  const R = await pendingR;
  const names = Object.keys(g.result.values).filter((k) => k.startsWith('coef:')).map((k) => k.slice(5));
  tally(beside(g.result, names.map((n) => [n, `coef:${n}`, `glm:${n}`]), R, log));
  const or = (n: string) => g.result.values[`coef:${n}`];
  log(`  odds ratios: ${names.filter((n) => n !== '(Intercept)').map((n) => `${n} ${num(Math.exp(or(n)!), 3)}`).join(', ')}; ${g.result.values.converged ? 'converged' : 'NOT converged'} in ${g.result.values.iterations} Newton iterations inside MPC · ${g.seconds.toFixed(1)} s, ${messagesPerNode(g.parts).toLocaleString('en-US')} messages per node`);

  const { epsilon: e2, ...survival } = S.survival;
  log('');
  log(`▸ Survival by diabetes status: Kaplan–Meier (${survival.bin}-day intervals) and the log-rank test, epsilon ${e2} (the test reads the same released life table)`);
  const s = await run(survival, e2, 'survival');
  const curves = s.result.series?.curves ?? [];
  const at = [...new Set(curves.flatMap((c) => c.points.map((pt) => pt.time)))].sort((a, b) => a - b);
  const keys: [string, string, string][] = [];
  for (const c of curves) for (const t of at.filter((_, i) => i % 2 === 1 || i === at.length - 1)) keys.push([`${c.label} day ${t}`, `surv:${c.label}:${t}`, `surv:${c.label}:${t}`]);
  tally(beside(s.result, keys, R, log));
  const lr = reread(s, 'survdiff');
  for (const n of lr.notes) log(`  note: ${n}`);
  tally(beside(lr, [['log-rank χ²', 'chisq', 'logrank']], R, log));
  log(`  ${s.seconds.toFixed(1)} s, ${messagesPerNode(s.parts).toLocaleString('en-US')} messages per node`);

  const { epsilon: e3, ...cox } = S.cox;
  log('');
  log(`▸ Cox regression (Breslow ties, ${cox.bin}-day intervals): ${cox.formula}, epsilon ${e3}`);
  const c = await run(cox, e3, 'cox');
  const cn = Object.keys(c.result.values).filter((k) => k.startsWith('hr:')).map((k) => k.slice(3));
  tally(beside(c.result, cn.map((n) => [`hazard ratio ${n}`, `coef:${n}`, `cox:${n}`]), R, log, Math.exp));
  log(`  ${c.result.values.converged ? 'converged' : 'NOT converged'} · ${c.seconds.toFixed(1)} s, ${messagesPerNode(c.parts).toLocaleString('en-US')} messages per node`);
  const spent = e1 + e2 + e3;
  log('');
  const notCompared = uncompared ? ` (${uncompared} estimate${uncompared > 1 ? 's' : ''} of fits that did not converge under the noise not compared: too few persons or events for this epsilon)` : '';
  log(`${agree ? '✔' : '✘'} statistics: ${agree ? 'every estimate agrees with R within the noise the protection added' : 'some estimates disagree with R'}${R ? notCompared : ' (not compared: no R)'}; epsilon spent ${spent.toFixed(2)}`);
  return agree;
}
