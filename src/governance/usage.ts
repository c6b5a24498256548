// Usage of each custodian's data per study, recorded at each node for licensing: which jobs ran
// under which study and query, which datasets they read, and how many rows (the dataset version's
// size, public anyway: DESIGN.md, "Data model"). The summary gives, per custodian and study, the
// number of queries run and rows touched, the noisy-query epsilon spent, and the first and last
// use.
//
// One JSON file per node (<nodeDir>/governance/usage.json), replaced atomically after each record.
// Recording is idempotent per (job, dataset), so a retried job is not billed twice. Records hold
// public metadata only (no data values, no person identifiers). The three nodes record the same
// jobs, so a custodian can compare their files (or the transparency log's job entries).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from './budget.js';
import { refuse } from './errors.js';
import type { Authorization } from './policy.js';
import type { UsageSummary } from './usage-summary.js';

export type { UsageSummary } from './usage-summary.js';

export const USAGE_FILE = join('governance', 'usage.json');

export interface UsageRecord {
  job: string;
  time: string;
  study: string;
  studyHash: string;
  query: string;
  purpose: string;
  researcher: string;
  custodian: string;
  dataset: string;
  /** Rows of the dataset version the job read. */
  rows: number;
  /** Epsilon the job spent (0 without noise). */
  epsilon: number;
}

interface UsageFile {
  format: 'mosaik-usage/1';
  records: UsageRecord[];
}


export class UsageLog {
  private data: UsageFile;

  private constructor(readonly path: string) {
    if (!existsSync(path)) this.data = { format: 'mosaik-usage/1', records: [] };
    else {
      try {
        this.data = JSON.parse(readFileSync(path, 'utf8')) as UsageFile;
      } catch (e) {
        this.data = refuse('malformed', `usage log ${path} cannot be read: ${(e as Error).message}`);
      }
      if (this.data?.format !== 'mosaik-usage/1' || !Array.isArray(this.data.records)) refuse('malformed', `usage log ${path} is not a mosaik-usage/1 file`);
    }
  }

  static open(nodeDir: string): UsageLog {
    return new UsageLog(join(nodeDir, USAGE_FILE));
  }

  static at(path: string): UsageLog {
    return new UsageLog(path);
  }

  records(): UsageRecord[] {
    return this.data.records.map((r) => ({ ...r }));
  }

  /**
   * Records that job `job.id` ran under `auth`, reading `rows[dataset]` rows of each dataset the
   * query read (auth.read). Returns the records added (none if the job was already recorded).
   */
  record(auth: Authorization, job: { id: string; time?: string; rows: Record<string, number>; epsilon?: number }): UsageRecord[] {
    if (typeof job.id !== 'string' || !job.id) refuse('malformed', 'a usage record needs a job id');
    const time = job.time ?? new Date().toISOString();
    const added: UsageRecord[] = [];
    for (const name of auth.read) {
      const d = auth.datasets.find((x) => x.name === name);
      if (!d) refuse('malformed', `usage: dataset '${name}' is not in the authorization`);
      const rows = job.rows[name];
      if (!Number.isSafeInteger(rows) || rows! < 0) refuse('malformed', `usage: rows of dataset '${name}' must be a non-negative integer, got ${rows}`);
      if (this.data.records.some((r) => r.job === job.id && r.dataset === name)) continue;
      added.push({ job: job.id, time, study: auth.study, studyHash: auth.studyHash, query: auth.query.id, purpose: auth.purpose, researcher: auth.researcher, custodian: d.custodian, dataset: name, rows: rows!, epsilon: job.epsilon ?? 0 });
    }
    if (added.length) {
      const data: UsageFile = { format: 'mosaik-usage/1', records: [...this.data.records, ...added] };
      writeAtomic(this.path, data);
      this.data = data;
    }
    return added;
  }

  summary(filter: { custodian?: string; study?: string } = {}): UsageSummary[] {
    return summarizeUsage(this.data.records, filter);
  }
}

/** Per custodian and study: queries run, rows touched, datasets, epsilon, first and last use. */
export function summarizeUsage(records: UsageRecord[], filter: { custodian?: string; study?: string } = {}): UsageSummary[] {
  const groups = new Map<string, { s: UsageSummary; jobs: Map<string, number> }>();
  for (const r of records) {
    if (filter.custodian !== undefined && r.custodian !== filter.custodian) continue;
    if (filter.study !== undefined && r.study !== filter.study) continue;
    const k = `${r.custodian}\u0000${r.study}`;
    let g = groups.get(k);
    if (!g) {
      g = { s: { custodian: r.custodian, study: r.study, queries: 0, rowsTouched: 0, datasets: [], epsilon: 0, firstAt: r.time, lastAt: r.time }, jobs: new Map() };
      groups.set(k, g);
    }
    const s = g.s;
    s.rowsTouched += r.rows;
    if (!s.datasets.includes(r.dataset)) s.datasets.push(r.dataset);
    // A job's epsilon is counted once per custodian even when it read several of its datasets.
    if (!g.jobs.has(r.job)) {
      g.jobs.set(r.job, r.epsilon);
      s.epsilon += r.epsilon;
    }
    if (r.time < s.firstAt) s.firstAt = r.time;
    if (r.time > s.lastAt) s.lastAt = r.time;
  }
  return [...groups.values()]
    .map(({ s, jobs }) => ({ ...s, queries: jobs.size, datasets: s.datasets.sort() }))
    .sort((a, b) => a.custodian.localeCompare(b.custodian) || a.study.localeCompare(b.study));
}
