// What a node answers about the use of a custodian's data under a study (GET /v1/usage, built by
// ./usage.ts summarizeUsage): a plain type, browser-safe for the web app's usage page.

export interface UsageSummary {
  custodian: string;
  study: string;
  /** Distinct jobs that read this custodian's data under the study. */
  queries: number;
  /** Rows read, summed over jobs and datasets. */
  rowsTouched: number;
  datasets: string[];
  epsilon: number;
  firstAt: string;
  lastAt: string;
}
