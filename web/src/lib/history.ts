// The researcher's own results, kept in this browser only (IndexedDB): what was asked, when, and
// the combined result (a query's table or a statistic's). Nothing of it is stored at the web server.
import { get, set } from 'idb-keyval';
import type { BrowserResult } from './run.js';
import type { BrowserStat } from './stats.js';

export interface HistoryItem {
  at: string;
  identity: string;
  title: string;
  result: Omit<BrowserResult, 'parts'> | BrowserStat;
}

const KEY = 'mosaik-history';

export async function history(identity: string): Promise<HistoryItem[]> {
  return (((await get(KEY)) as HistoryItem[] | undefined) ?? []).filter((h) => h.identity === identity);
}

export async function remember(identity: string, title: string, r: BrowserResult | BrowserStat): Promise<void> {
  const result = 'parts' in r ? (({ parts: _p, ...rest }: BrowserResult) => rest)(r) : r;
  const all = ((await get(KEY)) as HistoryItem[] | undefined) ?? [];
  await set(KEY, [{ at: new Date().toISOString(), identity, title, result }, ...all].slice(0, 200));
}
