// Small building blocks shared by the pages: messages people can act on, never raw JSON.
import type { ComponentChildren } from 'preact';
import { ApiError } from '../lib/api.js';

/** A problem in plain words, with what to do when we know it. */
export function explain(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return `The nodes do not recognise this key (${e.message}). Sign in again with a key the operators registered.`;
    if (e.status === 403) return e.message;
    if (e.status === 0) return e.message;
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

export function Problem({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div class="problem" role="alert">
      {explain(error)}
    </div>
  );
}

export function Note({ children }: { children: ComponentChildren }) {
  return <p class="note">{children}</p>;
}

export function Progress({ text, done, of }: { text: string; done?: number; of?: number }) {
  return (
    <div class="progress" role="status" aria-live="polite">
      {of ? <progress max={of} value={done ?? 0} aria-label="nodes done" /> : <span class="spinner" aria-hidden="true" />}
      <span>{text}</span>
    </div>
  );
}

/** Formats a number for people: integers with thousands separators, others with 2–3 significant decimals. */
export function fmt(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '—';
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 3 });
  }
  if (v === null || v === undefined) return '—';
  return String(v);
}

export const margin = (h: number | undefined) => (h && Number.isFinite(h) && h > 0 ? `± ${Number(h.toPrecision(2)).toLocaleString('en-US')}` : '');

/** Triggers a download of text made here (CSV of a result). */
export function download(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** RFC 4180 CSV. */
export function toCsv(header: string[], rows: unknown[][]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
