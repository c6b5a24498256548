// Statistics from the browser, as `mosaik stats` runs them (src/cli/stats.ts): the call built from
// the page's fields, checked here on the registers' public schemas before anything is signed (the
// nodes' own planner, src/stats/statistic.ts: unknown columns, too many parameters, forms the nodes
// refuse, what the output protection adds), then signed here, computed by the three nodes in MPC,
// each node's share of the released numbers sealed to a key made for this run in this browser,
// combined here (src/query/assemble.ts combineLanes) and decoded into R's table with the CLI's
// code (decodeStatistic). No server sees a key, a share or a released number.
import { ANALYSIS_SQL, EXAMPLE_STATISTICS } from '../../../src/demo/analyses.js';
import type { ColumnUse } from '../../../src/governance/column-use.js';
import { queryUseOfJoinPlan } from '../../../src/governance/plan-uses.js';
import { formatDate } from '../../../src/ingest/schema.js';
import { planAnalysis } from '../../../src/query/analysis-plan.js';
import { combineLanes } from '../../../src/query/assemble.js';
import { FRAC } from '../../../src/query/plan.js';
import type { RowColumn } from '../../../src/query/row-plan.js';
import { keySize } from '../../../src/stats/cells.js';
import type { StatNoise } from '../../../src/stats/functions.js';
import type { StatName, StatRequest, StatResult } from '../../../src/stats/shapes.js';
import { decodeStatistic, parseStatistic, planStatistic, rereadStatistic, statisticNoise, statisticText } from '../../../src/stats/statistic.js';
import { call } from './api.js';
import type { BrowserIdentity } from './keys.js';
import { registerAt, registersAt, registersOf, submitAndCollect, type JobRequest, type OpenedPart, type Protection, type Registers } from './run.js';

/** The page's fields of a statistics call (text as typed; requestOf turns them into the call). */
export interface StatFields {
  fn: StatName;
  data: string;
  formula: string;
  family: 'binomial' | 'poisson';
  /** survfit, survdiff: Surv(time, event) ~ group from these. */
  time: string;
  event: string;
  group: string;
  /** survfit, survdiff, coxph: time interval width (empty: 1). */
  bin: string;
  /** hist: bin edges; quantile: probabilities (comma-separated). */
  breaks: string;
  probs: string;
}

/** The functions in the order an epidemiologist reaches for them, with what each is. */
export const FUNCTIONS: { fn: StatName; label: string; example: string }[] = [
  { fn: 'glm', label: 'glm: logistic or Poisson regression', example: 't2d ~ age + sex + factor(q)' },
  { fn: 'coxph', label: 'coxph: Cox regression (Breslow ties)', example: 'Surv(days, died) ~ t2d + age + sex' },
  { fn: 'survfit', label: 'survfit: Kaplan–Meier curves', example: 'Surv(days, died) ~ t2d' },
  { fn: 'survdiff', label: 'survdiff: log-rank test', example: 'Surv(days, died) ~ t2d' },
  { fn: 'lm', label: 'lm: linear regression', example: 'days ~ age + sex + t2d' },
  { fn: 'oddsratio', label: 'oddsratio: odds and risk ratios (Mantel–Haenszel)', example: 't2d ~ sex + strata(region)' },
  { fn: 'chisq.test', label: 'chisq.test: test of independence', example: '~ region + q' },
  { fn: 't.test', label: 't.test: Welch two-sample t-test', example: 'age ~ t2d' },
  { fn: 'cor', label: 'cor: Pearson correlation', example: '~ age + days' },
  { fn: 'hist', label: 'hist: histogram', example: '~ age' },
  { fn: 'quantile', label: 'quantile', example: '~ age' },
  { fn: 'median', label: 'median', example: '~ age' },
];

/** survfit and survdiff take time, event and group; coxph writes its Surv() in the formula. */
export const survivalFields = (fn: StatName): boolean => fn === 'survfit' || fn === 'survdiff';
/** Functions on binned event times. */
export const takesBin = (fn: StatName): boolean => survivalFields(fn) || fn === 'coxph';

/** The demo's example statistics (src/demo/analyses.ts): type-2 diabetes, age, sex, region, income quintile and survival over 2025–2026. */
export const EXAMPLE_FIELDS: StatFields = {
  fn: 'glm', data: ANALYSIS_SQL, formula: EXAMPLE_STATISTICS.logistic.formula, family: 'binomial',
  time: 'days', event: 'died', group: 't2d', bin: String(EXAMPLE_STATISTICS.survival.bin), breaks: '', probs: '',
};

const bad = (m: string): never => {
  throw new Error(m);
};

/** The call from the page's fields, or an error that says what to fill in. */
export function requestOf(f: StatFields): StatRequest {
  if (!f.data.trim()) bad('Write the analysis table: SQL without aggregation (one row per person, the columns the formula uses).');
  let formula = f.formula.trim();
  if (survivalFields(f.fn)) {
    if (!f.time.trim() || !f.event.trim()) bad(`${f.fn} needs the time column and the event column of the analysis table.`);
    formula = `Surv(${f.time.trim()}, ${f.event.trim()}) ~ ${f.group.trim() || '1'}`;
  } else if (!formula) bad(`Write the formula, e.g. ${FUNCTIONS.find((x) => x.fn === f.fn)!.example}.`);
  const nums = (s: string, what: string, eg: string): number[] | undefined => {
    if (!s.trim()) return undefined;
    const v = s.split(/[\s,;]+/).filter(Boolean).map(Number);
    return v.some((x) => !Number.isFinite(x)) ? bad(`${what}: numbers separated by commas, e.g. ${eg}.`) : v;
  };
  let bin: number | undefined;
  if (takesBin(f.fn) && f.bin.trim()) {
    bin = Number(f.bin);
    if (!Number.isInteger(bin) || bin < 1) bad('The time interval must be a whole number of the time column’s units, at least 1 (e.g. 30 days).');
  }
  const breaks = f.fn === 'hist' ? nums(f.breaks, 'Breaks', '0, 20, 40, 60, 80, 120') : undefined;
  const probs = f.fn === 'quantile' ? nums(f.probs, 'Probabilities', '0.1, 0.5, 0.9') : undefined;
  return parseStatistic(statisticText({ fn: f.fn, data: f.data.trim(), formula, ...(f.fn === 'glm' ? { family: f.family } : {}), ...(bin ? { bin } : {}), ...(breaks ? { breaks } : {}), ...(probs ? { probs } : {}) }));
}

/** Session storage key of a statistics call carried from the Statistics page into a new study (read once). */
export const STUDY_STAT_KEY = 'mosaik-new-study-statistic';

/** Every register's latest public schema and code lists, and its rows (public sizes). */
export async function loadRegisters(): Promise<{ regs: Registers; rows: Record<string, number> }> {
  const list = await call<{ name: string; rows: number }[]>(0, '/v1/datasets');
  const regs: Registers = new Map();
  for (const d of list) regs.set(d.name, await registerAt(d.name));
  return { regs, rows: Object.fromEntries(list.map((d) => [d.name, d.rows])) };
}

/** The page's fields of a call (to edit one again, e.g. carried into a study). */
export function fieldsOf(r: StatRequest): StatFields {
  const m = survivalFields(r.fn) ? /^\s*Surv\(\s*([\w.]+)\s*,\s*([\w.]+)\s*\)\s*~\s*(.*?)\s*$/.exec(r.formula) : null;
  return {
    fn: r.fn, data: r.data, formula: r.formula, family: r.family ?? 'binomial',
    time: m?.[1] ?? '', event: m?.[2] ?? '', group: m && m[3] !== '1' ? m[3]! : '',
    bin: r.bin ? String(r.bin) : '', breaks: r.breaks?.join(', ') ?? '', probs: r.probs?.join(', ') ?? '',
  };
}

/** R's call for a statistic text, as a person reads it: glm(t2d ~ age, family = binomial), bin 30. */
export function callText(r: StatRequest): string {
  const extra = [r.family ? `family = ${r.family}` : '', r.bin ? `time interval ${r.bin}` : '', r.breaks ? `breaks ${r.breaks.join(', ')}` : '', r.probs ? `probs ${r.probs.join(', ')}` : ''].filter(Boolean);
  return `${r.fn}(${r.formula}${extra.length ? `, ${extra.join(', ')}` : ''})`;
}

export interface TableColumn {
  name: string;
  /** As R's str() would say it: logical, integer 0–110, factor with 5 levels, date. */
  kind: string;
}

const describe = (c: RowColumn, levels: (c: RowColumn) => string[]): string => {
  switch (c.type) {
    case 'bool':
      return 'logical';
    case 'code': {
      const l = levels(c);
      return `factor, ${l.length} levels (${l.slice(0, 3).join(', ')}${l.length > 3 ? ', …' : ''})`;
    }
    case 'date':
      return `date ${formatDate(c.min)} – ${formatDate(c.max)}`;
    case 'decimal':
      return `decimal ${c.min / 2 ** FRAC} – ${c.max / 2 ** FRAC}`;
    default:
      return `integer ${c.min} – ${c.max}`;
  }
};

/** The analysis table's columns (planned here on the public schemas; throws the planner's message). */
export function tableColumns(sql: string, regs: Registers): TableColumn[] {
  const a = planAnalysis(sql, regs);
  return a.columns.map((c) => ({ name: c.name, kind: describe(c, (x) => a.codeLists.get(x.codeList ?? '')?.codes ?? []) }));
}

export interface StatCheck {
  /** What the nodes will compute, in a sentence. */
  summary: string;
  /** The model's or table's columns (R's names: sexM, factor(q)2, …). */
  parameters: string[];
  /** What the output protection adds (or that the nodes release exact numbers). */
  protection: string;
}

const round = (x: number) => Number(x.toPrecision(3));

/** What the noise of a protected run is, in words. */
export function noiseText(noise: StatNoise): string {
  const lanes = noise.blocks.reduce((s, b) => s + b.lanes, 0);
  const blocks = noise.blocks.map((b) => `${b.label}${b.lanes > 1 ? ` (${b.lanes} numbers)` : ''}: scale ${round(b.scale)}`);
  return `Differential privacy at epsilon ${noise.epsilon}: discrete Laplace noise drawn inside MPC on the ${lanes} released number${lanes === 1 ? '' : 's'} before anything depends on them (${blocks.slice(0, 6).join('; ')}${blocks.length > 6 ? `; and ${blocks.length - 6} more` : ''}). Each estimate is shown with the 95 % margin of its error from the noise.`;
}

/**
 * Plans the call here as every node will (refusals: unknown columns, forms the nodes do not run,
 * more parameters than covariate patterns or than 0.33·N allows with N at most the rows of the
 * table's first register, public). `epsilon` undefined: the nodes release exact numbers.
 */
export function checkStatistic(req: StatRequest, regs: Registers, rows: Record<string, number>, epsilon: number | undefined): StatCheck {
  const plan = planStatistic(statisticText(req), regs, 5);
  const j = plan.job;
  let summary: string;
  let parameters: string[] = plan.design?.columns.map((c) => c.name) ?? [];
  if (j.kind === 'model') {
    const m = j.model;
    parameters = m.names;
    const first = plan.analysis.join.tables[0]!.dataset.name;
    const N = rows[first];
    if (N !== undefined && m.names.length > 0.33 * N) bad(`${req.fn}: ${m.names.length} parameters, but ${first} has ${N} rows: at most 0.33·N parameters (disclosure rule); drop terms`);
    summary = `${m.family === 'cox' ? 'Cox regression' : m.family === 'poisson' ? 'Poisson regression' : 'Logistic regression'} with ${m.names.length} parameter${m.names.length === 1 ? '' : 's'} on ${m.G} covariate pattern${m.G === 1 ? '' : 's'}${m.T > 1 ? ` × ${m.T} time intervals` : ''}, fitted inside MPC by ${m.iterations} Newton iterations; only the estimates are released.`;
  } else if (j.kind === 'cells') {
    const G = j.keys.reduce((s, k) => s * keySize(k), 1);
    summary = `${req.fn} from a table of ${G} cell${G === 1 ? '' : 's'} (${j.keys.map((k) => `${k.column}: ${keySize(k)}`).join(' × ')})${j.weights.length > 1 ? ', persons and events per cell' : ''}, summed inside MPC; only the table is released.`;
  } else summary = `${req.fn} from ${j.monomials.length} sums over the analysis table, computed inside MPC; only the sums are released.`;
  const protection = epsilon === undefined ? 'These nodes release exact results (no output protection).' : noiseText(statisticNoise(plan, 'laplace', epsilon));
  return { summary: `${summary} The table reads ${[...new Set(plan.analysis.join.tables.map((t) => t.dataset.name))].join(', ')}.`, parameters, protection };
}

/** A statistic's result as this browser keeps it. */
export interface BrowserStat {
  result: StatResult;
  /** survfit with groups: the log-rank test read from the same released life table (no second run, no further privacy cost). */
  logrank?: StatResult;
  /** The call as signed and run (canonical JSON). */
  statistic: string;
  job: string;
  versions: Record<string, string>;
  protection: Protection;
  minCellSize: number;
  privacy?: OpenedPart['privacy'];
  /** Governed: the study and its query. */
  study?: { id: string; query: string };
  finishedAt: string;
}

/** What to run: an ad-hoc call (statistic), or a registered study's statistic query (study, studyHash, queryId). */
export type StatRun = Omit<JobRequest, 'sql'>;

export async function runStatistic(id: BrowserIdentity, input: StatRun, onProgress: (msg: string, parts: number) => void): Promise<BrowserStat> {
  const text = input.study ? input.study.study.queries.find((q) => q.id === input.queryId)?.statistic ?? bad(`query '${input.queryId}' of study '${input.study.study.id}' is not a statistic`) : input.statistic ?? bad('give the statistics call');
  const { job, versions, parts } = await submitAndCollect(id, input, onProgress);
  parts.forEach((r, i) => {
    if (r.statistic !== text) bad(`node ${i} ran ${r.statistic === undefined ? 'a query, not a statistic' : `another statistic: ${r.statistic}`}`);
  });
  // The nodes planned the call on these register versions' public schemas: plan it here to decode.
  const regs = await registersAt(versions);
  const minCellSize = parts[0].minCellSize;
  const p = parts[0].protection;
  const under = p.kind === 'dp' ? p : null;
  const lanes = combineLanes(parts);
  const result = decodeStatistic(text, regs, minCellSize, lanes, under);
  let logrank: StatResult | undefined;
  if (result.fn === 'survfit' && (result.series?.curves?.length ?? 0) > 1) {
    try {
      logrank = rereadStatistic(text, 'survdiff', regs, minCellSize, lanes, under);
    } catch {
      /* the test needs two groups with rows */
    }
  }
  return {
    result, ...(logrank ? { logrank } : {}), statistic: text, job, versions, protection: p, minCellSize,
    ...(parts[0].privacy ? { privacy: parts[0].privacy } : {}),
    ...(input.study ? { study: { id: input.study.study.id, query: input.queryId! } } : {}),
    finishedAt: new Date().toISOString(),
  };
}

/** The registers and columns a statistic reads and how (every column of its analysis table: 'model'), as the nodes derive them. */
export async function statisticUses(text: string): Promise<{ datasets: string[]; uses: ColumnUse[] }> {
  const req = parseStatistic(text);
  const plan = planStatistic(text, await registersOf(req.data), 5);
  const u = queryUseOfJoinPlan(plan.analysis.join);
  return { datasets: u.datasets, uses: u.uses };
}

const MODEL_KEY = /^(coef|se|z|t|p|lower|upper|hr):/;

/** Estimates beyond the coefficient table (deviance, N, t, p-value, …); survival curves and histograms are in their series. */
export function otherValues(r: StatResult): [string, number][] {
  if (r.fn === 'survfit' || r.fn === 'hist') return [];
  return Object.entries(r.values).filter(([k]) => !(r.series?.coefficients && MODEL_KEY.test(k)));
}

/** The result as a table for CSV: coefficients (with ratios), curves, bins, or named values; each with its noise margin where protected. */
export function csvTable(r: StatResult): { header: string[]; rows: unknown[][] } {
  const s = r.series ?? {};
  const m = (k: string) => r.errors?.[k]?.half95 ?? '';
  const withMargin = r.errors ? ['95 % noise margin'] : [];
  if (s.coefficients) {
    return {
      header: ['term', 'estimate', 'std.error', 'statistic', 'p.value', 'conf.low', 'conf.high', ...withMargin],
      rows: s.coefficients.map((c) => [c.name, c.estimate, c.se, c.statistic, c.p, c.lower, c.upper, ...(r.errors ? [m(`coef:${c.name}`)] : [])]),
    };
  }
  if (s.curves) return { header: ['strata', 'time', 'n.risk', 'n.event', 'surv', 'lower', 'upper', ...withMargin], rows: s.curves.flatMap((c) => c.points.map((p) => [c.label, p.time, p.nRisk, p.nEvent, p.surv, p.lower, p.upper, ...(r.errors ? [m(`surv:${c.label}:${p.time}`)] : [])])) };
  if (s.histogram) {
    const h = s.histogram;
    return { header: ['from', 'to', 'count'], rows: h.counts.map((c, i) => [h.breaks[i], h.breaks[i + 1], c === null ? 'suppressed' : c]) };
  }
  return { header: ['name', 'value', ...withMargin], rows: Object.entries(r.values).map(([k, v]) => [k, v, ...(r.errors ? [m(k)] : [])]) };
}

/** JSON of a result (NaN and infinities as strings, as `mosaik stats --json` writes them). */
export const statJson = (r: BrowserStat): string => JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
