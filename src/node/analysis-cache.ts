// Reveals: nothing new beyond that a node learns whether the other two hold the entry (./cache-agreement.ts).
//
// The analysis tables a node built for statistics jobs (services layer), kept in memory for the next
// statistics over the same table (never written to disk, like the decrypted shares they come from):
// this node's shares of the rows' validity and of the columns built. Building the table is the joins
// (oblivious sorts) of every register the SQL reads; the demo's study runs three statistics on one
// table, which is then built once instead of three times. Each statistic still draws its own noise
// and spends its own epsilon: only the table's shares are reused, never a released value. Follows
// no paper (as the record cache, ./record-cache.ts, whose agreement round it shares).
//
// An entry's key (analysisKey) is everything the table's rows and values depend on: the SQL as
// signed and the tables its plan joins, every register it reads as stored now (name, version,
// commit seq and content hash: a new version or a re-ingested one is another key), and the consent
// filter when one applies (the register as stored now, the study's purpose, its default and the
// run time the rows in force are taken at: those rows may change at any event time in the register,
// which no node sees, so a consent-filtered table serves only jobs submitted in the same second).
// The columns built are not in the key: an entry serves every statistic whose columns it holds.
// Before a job uses an entry the three nodes agree that all of them hold it with the same tag
// (agreedTable; the record cache's round, ./cache-agreement.ts); otherwise all three build the
// table again together and keep it under node 0's fresh tag.
//
// Bounded: least recently used entries go first once the entries' shares exceed the byte budget
// (the job runner gives a quarter of its jobs' memory budget, src/node/jobs.ts: a 24th of the
// machine's memory, 1 GiB on a 24 GiB machine; the demo's table at 100 000 citizens, 637 000 joined
// rows × (6 columns and the validity) × 16 bytes, takes 71 MB), and an entry is dropped 10 minutes
// after it was built whether used or not.
import { createHash } from 'node:crypto';
import type { Party } from '../mpc/party.js';
import { parseQuery, tablesOf } from '../query/index.js';
import type { StatPlan } from '../stats/functions.js';
import { buildAnalysis, sharedAnalysis, type AnalysisPlan, type AnalysisTable } from '../stats/service.js';
import { ByteLru } from './byte-lru.js';
import { agreeOnTags, storedVersionKey } from './cache-agreement.js';
import { consentRestriction, type ConsentFilter } from './job-governance.js';
import { agreedLineup, type LineupCache } from './lineup-cache.js';
import { agreedExists, type ExistsCache } from './exists-cache.js';
import type { ShareStore } from './store.js';

/** How long an entry is kept after it was built. */
export const ANALYSIS_TTL_MS = 10 * 60_000;

interface Entry {
  tag: string;
  table: AnalysisTable;
  /** When it was built (ms; the clock of the cache). */
  made: number;
}

/**
 * The key of an analysis table: its SQL, every register it reads as stored now at this node, and
 * the consent filter applied (see the module comment). Node-local (the content hashes are of this
 * node's shares): the nodes compare tags, never keys.
 */
export function analysisKey(store: ShareStore, sql: string, reads: Record<string, string>, consent: ConsentFilter | null): string {
  const registers = Object.keys(reads).sort().map((n) => storedVersionKey(store, n, reads[n]!));
  const filter = consent ? { ...consent, stored: storedVersionKey(store, consent.dataset, consent.version) } : null;
  return createHash('sha256').update(JSON.stringify({ sql, registers, consent: filter })).digest('hex');
}

/** Bytes of a table's shares: a pair of 64-bit words per row of the validity and of each column. */
const sizeOf = (t: AnalysisTable) => (t.columns.size + 1) * t.n * 16;

export class AnalysisCache {
  private readonly entries: ByteLru<Entry>;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: { bytes: number; ttlMs?: number; now?: () => number }) {
    this.now = o.now ?? Date.now;
    this.entries = new ByteLru(o.bytes);
  }

  private get ttl(): number {
    return this.o.ttlMs ?? ANALYSIS_TTL_MS;
  }

  /** The entry of `key` if it holds every column of `need` and has not expired; marks it used. */
  find(key: string, need: readonly string[]): { tag: string; table: AnalysisTable } | undefined {
    this.expire();
    const e = this.entries.peek(key);
    if (!e || !need.every((c) => e.table.columns.has(c))) return undefined;
    this.entries.get(key);
    return { tag: e.tag, table: e.table };
  }

  /** Keeps `table` under `key` (replacing what was there); evicts the least recently used beyond the budget. */
  put(key: string, tag: string, table: AnalysisTable): void {
    this.entries.set(key, { tag, table, made: this.now() }, sizeOf(table));
    // Expired entries go within a minute even when no job comes.
    this.sweeper ??= setInterval(() => this.expire(), Math.min(60_000, this.ttl)).unref();
  }

  /** Drops every entry (the node is closing). */
  clear(): void {
    this.entries.clear();
    this.expire();
  }

  /** Entries and their bytes (for tests and status). */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.entries.bytes };
  }

  private expire(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (t - e.made >= this.ttl) this.entries.delete(k);
    if (!this.entries.size && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}

/**
 * The analysis table of `key` with at least the columns `need`: this node's entry if all three nodes
 * hold it alike (one round, ./cache-agreement.ts), else built by all three now (`build`) and kept.
 * `plan`: public text of what `build` makes (its columns); all three must send the same.
 */
export async function agreedTable(p: Party, cache: AnalysisCache, key: string, need: readonly string[], plan: string, build: () => Promise<AnalysisTable>): Promise<{ table: AnalysisTable; cached: boolean }> {
  const mine = cache.find(key, need);
  const { held, fresh } = await agreeOnTags(p, [mine?.tag ?? null], 'analysis table', plan);
  if (mine && held[0]) return { table: mine.table, cached: true };
  const table = await build();
  cache.put(key, fresh, table);
  return { table, cached: false };
}

/** The tables an analysis plan joins (an EXISTS column not kept drops its table, and its rows). */
const joinedTables = (ap: AnalysisPlan) => ap.join.tables.map((t) => `${t.alias}:${t.dataset.name}:${t.kind}`).join(',');

/**
 * A statistic's analysis table at this party: kept from an earlier job when all three nodes hold it
 * alike, else built now and kept. Built with the columns the next statistics over the same SQL may
 * read (`also`: the study's statistics; null: every column of the SQL, src/stats/service.ts
 * sharedAnalysis), provided that joins the same tables as the statistic's own plan (else its own).
 * Measured on the demo's three statistics at 20 000 citizens (CPU of the three parties): the table
 * with their columns 3.7 s, with every column of the SQL 4.0 s, their three own tables 8.7 s together.
 */
export async function statisticTable(p: Party, cache: AnalysisCache, o: { store: ShareStore; plan: StatPlan; versions: Record<string, string>; also: readonly string[] | null; consent: ConsentFilter | null; lineups?: LineupCache; exists?: ExistsCache }): Promise<{ table: AnalysisTable; cached: boolean; columns: number }> {
  const { store, plan, versions, consent } = o;
  const datasets = new Map(tablesOf(parseQuery(plan.request.data)).map((n) => [n, store.get(n, versions[n]!)]));
  const shared = sharedAnalysis(plan, o.also, datasets);
  const built = joinedTables(shared) === joinedTables(plan.analysis) ? shared : plan.analysis;
  const reads = Object.fromEntries(built.join.tables.map((t) => [t.dataset.name, versions[t.dataset.name]!]));
  const key = analysisKey(store, `${plan.request.data}\n${joinedTables(built)}`, reads, consent);
  const made = `${joinedTables(built)}|${built.columns.map((c) => c.name).join(',')}`;
  const r = await agreedTable(p, cache, key, plan.analysis.columns.map((c) => c.name), made, async () => {
    // An EXISTS column's flag kept from an earlier query or table (src/node/exists-cache.ts; per
    // person, so also under the consent filter, which drops the person's rows either way), then the
    // join's sort by person kept from an earlier join of the same registers (src/node/lineup-cache.ts).
    const kept = o.exists
      ? await agreedExists(p, { exists: o.exists, ...(o.lineups ? { lineups: o.lineups } : {}) }, store, built.join, versions)
      : { jp: built.join, tables: new Map(built.join.tables.map((t) => [t.alias, store.load(t.dataset.name, versions[t.dataset.name]!, t.reads)])) };
    const table = { ...built, join: kept.jp };
    if (consent) return buildAnalysis(p, table, kept.tables, await consentRestriction(p, store, consent));
    return buildAnalysis(p, table, kept.tables, undefined, o.lineups ? await agreedLineup(p, o.lineups, store, kept.jp, versions, { fromRows: true }) : {});
  });
  return { ...r, columns: built.columns.length };
}
