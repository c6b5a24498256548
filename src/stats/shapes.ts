// What a statistic's result looks like once the requester has combined the nodes' shares: the call,
// R's printed table, named values, and typed series for display — coefficient tables, forest plots
// of ratios with 95 % CIs, Kaplan–Meier curves with numbers at risk, histograms. Browser-safe: no
// imports at all (a web page can show a result it received as JSON, or draw it with
// src/stats/plot-spec.ts). Computes nothing from data; reveals nothing.

export const STAT_NAMES = ['t.test', 'cor', 'lm', 'chisq.test', 'oddsratio', 'quantile', 'median', 'hist', 'survfit', 'survdiff', 'glm', 'coxph'] as const;
export type StatName = (typeof STAT_NAMES)[number];

/** A statistics call (what is signed, sent to the nodes and matched against a study). */
export interface StatRequest {
  fn: StatName;
  /** The analysis table: SQL without aggregation. */
  data: string;
  /** R formula over the table's columns. */
  formula: string;
  family?: 'binomial' | 'poisson';
  /** quantile: probabilities (default R's 0, .25, .5, .75, 1). */
  probs?: number[];
  /** hist (and quantile under protection): bin edges covering the column's domain. */
  breaks?: number[];
  /** survfit/survdiff/coxph: width of a time bin in the time column's units (default 1). */
  bin?: number;
}

/** One row of a regression table (lm: t statistic; glm, coxph: z). NaN where R prints NA. */
export interface CoefficientRow {
  name: string;
  estimate: number;
  se: number;
  statistic: number;
  p: number;
  /** 95 % confidence interval of the estimate (lm: t quantiles; glm, coxph: Wald). */
  lower: number;
  upper: number;
}

/** A ratio with its 95 % CI, for a forest plot (odds, risk, rate and hazard ratios). */
export interface RatioRow {
  label: string;
  ratio: number;
  lower: number;
  upper: number;
}

export interface Ratios {
  measure: 'odds ratio' | 'hazard ratio' | 'rate ratio' | 'coefficient';
  /** true: plot on a log scale with a reference line at 1 (otherwise at 0). */
  log: boolean;
  rows: RatioRow[];
}

/** A Kaplan–Meier step: at `time`, nRisk at risk, nEvent events, survival with its log 95 % CI. */
export interface SurvivalPoint {
  time: number;
  nRisk: number;
  nEvent: number;
  surv: number;
  lower: number;
  upper: number;
}

export interface SurvivalCurve {
  label: string;
  points: SurvivalPoint[];
}

/** Bins [breaks_i, breaks_i+1); null: suppressed (fewer than the smallest cell). */
export interface HistogramBins {
  breaks: number[];
  counts: (number | null)[];
}

export interface StatSeries {
  coefficients?: CoefficientRow[];
  ratios?: Ratios;
  curves?: SurvivalCurve[];
  histogram?: HistogramBins;
}

export interface StatResult {
  fn: StatName;
  call: string;
  /** The printed result, as R prints it. */
  text: string;
  /** Named estimates (for JSON, tests and plots). */
  values: Record<string, number>;
  /** Under protection: the error the noise adds to each value (sd, 95 % half-width). */
  errors?: Record<string, { sd: number; half95: number }>;
  /** Typed series for display. */
  series?: StatSeries;
  notes: string[];
}

/** Ratios exp(β) with their CIs from a coefficient table (the intercept left out). */
export function ratiosOf(rows: CoefficientRow[], measure: Ratios['measure']): Ratios {
  const log = measure !== 'coefficient';
  const f = log ? Math.exp : (x: number) => x;
  return {
    measure,
    log,
    rows: rows.filter((r) => r.name !== '(Intercept)' && Number.isFinite(r.estimate)).map((r) => ({ label: r.name, ratio: f(r.estimate), lower: f(r.lower), upper: f(r.upper) })),
  };
}
