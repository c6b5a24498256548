// The log as a timeline: one line per entry in plain language, filters by kind, study and date,
// whose copy to read (any of the three nodes), details on demand (./EntryDetail.tsx), and the marks
// of a verification (entries the nodes disagree about, or a finding names).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Party } from '../../../../src/ledger/audit.js';
import { ENTRY_KINDS, type EntryKind, type LedgerEntry } from '../../../../src/ledger/entry.js';
import type { Verdict } from '../../lib/log-audit.js';
import type { Anchor } from '../../lib/log-keys.js';
import type { Check } from '../../../../src/ledger/verify.js';
import { CHECK_TITLE, indexLog, KIND_LABEL, summary, when, words } from '../../lib/log-text.js';
import { disagreementText } from './Verdict.js';
import { EntryDetail } from './EntryDetail.js';

interface Props {
  entries: LedgerEntry[] | null;
  source: Party;
  onSource: (p: Party) => void;
  names: string[];
  verdict: Verdict | null;
  anchor: Anchor | null;
  selected: { seq: number; prove?: boolean; n: number } | null;
  onShow: (seq: number, prove?: boolean) => void;
}

const PAGE = 50;

/** How a finding marks the entries it names, in a few words. */
const MARK: Partial<Record<Check, string>> = {
  root: 'changed after the nodes signed it',
  truncated: 'missing (removed after signing)',
  sequence: 'missing or out of order',
  entry: 'not in the form the nodes write',
  partial: 'half-written',
  fork: 'part of a second, forked history',
};

/** Marks per seq from a verdict: what is wrong with that entry (at any node). */
function marksOf(v: Verdict | null): Map<number, string[]> {
  const m = new Map<number, string[]>();
  if (!v) return m;
  const add = (seq: number, text: string) => {
    const l = m.get(seq) ?? m.set(seq, []).get(seq)!;
    if (!l.includes(text)) l.push(text);
  };
  for (const d of v.disagreements) add(d.seq, disagreementText(d));
  for (const f of v.findings) {
    // Divergences are the disagreements above; 'more' names no entry.
    if (f.seq === undefined || f.check === 'more' || f.check === 'diverge') continue;
    const what = f.check === 'rules' ? 'a content rule is broken' : `at ${f.replica ?? (f.replicas?.length ? words(f.replicas) : 'a node')}: ${MARK[f.check] ?? CHECK_TITLE[f.check].toLowerCase()}`;
    const to = Math.min(f.seqTo ?? f.seq, f.seq + 1000);
    for (let s = f.seq; s <= to; s++) add(s, what);
  }
  return m;
}

export function Timeline({ entries, source, onSource, names, verdict, anchor, selected, onShow }: Props) {
  const [kind, setKind] = useState<'' | EntryKind>('');
  const [study, setStudy] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [newest, setNewest] = useState(true);
  const [shown, setShown] = useState(PAGE);
  const [open, setOpen] = useState<number | null>(null);
  const buttons = useRef(new Map<number, HTMLButtonElement>());

  const ix = useMemo(() => indexLog(entries ?? []), [entries]);
  const marks = useMemo(() => marksOf(verdict), [verdict]);
  const counts = useMemo(() => {
    const c = new Map<string, number>();
    for (const e of entries ?? []) c.set(e.kind, (c.get(e.kind) ?? 0) + 1);
    return c;
  }, [entries]);
  const filtered = useMemo(() => {
    const lo = from ? Date.parse(`${from}T00:00:00Z`) : -Infinity;
    const hi = to ? Date.parse(`${to}T00:00:00Z`) + 86_400_000 : Infinity;
    const out = (entries ?? []).filter((e) => {
      if (kind && e.kind !== kind) return false;
      if (study && ix.studyOf.get(e.seq) !== study) return false;
      const t = Date.parse(e.time);
      return !(t < lo || t >= hi);
    });
    return newest ? out.reverse() : out;
  }, [entries, kind, study, from, to, newest, ix]);

  // Showing an entry asked for elsewhere (a finding, a result): clear filters that hide it, open it, focus it.
  useEffect(() => {
    if (!selected || !entries) return;
    const e = entries.find((x) => x.seq === selected.seq);
    if (!e) return;
    setKind('');
    setStudy('');
    setFrom('');
    setTo('');
    const pos = newest ? entries.length - 1 - entries.indexOf(e) : entries.indexOf(e);
    setShown((s) => Math.max(s, pos + 1));
    setOpen(selected.seq);
    requestAnimationFrame(() => {
      const b = buttons.current.get(selected.seq);
      b?.scrollIntoView({ block: 'start' });
      b?.focus();
    });
  }, [selected?.n, entries]);

  const reset = () => {
    setKind('');
    setStudy('');
    setFrom('');
    setTo('');
  };

  return (
    <div class="timeline-wrap">
      <form class="filters" role="search" aria-label="Filter the log" onSubmit={(e) => e.preventDefault()}>
        <label class="field">
          <span>Kind</span>
          <select id="f-kind" value={kind} onChange={(e) => { setKind((e.currentTarget as HTMLSelectElement).value as EntryKind | ''); setShown(PAGE); }}>
            <option value="">All kinds ({(entries?.length ?? 0).toLocaleString('en-US')})</option>
            {ENTRY_KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]} ({(counts.get(k) ?? 0).toLocaleString('en-US')})
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Study</span>
          <select id="f-study" value={study} onChange={(e) => { setStudy((e.currentTarget as HTMLSelectElement).value); setShown(PAGE); }}>
            <option value="">All entries</option>
            {ix.studies.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>From</span>
          <input id="f-from" type="date" value={from} onChange={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>To</span>
          <input id="f-to" type="date" value={to} onChange={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>Order</span>
          <select id="f-order" value={newest ? 'newest' : 'oldest'} onChange={(e) => setNewest((e.currentTarget as HTMLSelectElement).value === 'newest')}>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
          </select>
        </label>
        <label class="field">
          <span>Read the copy of</span>
          <select id="f-source" value={String(source)} onChange={(e) => onSource(Number((e.currentTarget as HTMLSelectElement).value) as Party)}>
            {names.map((nm, p) => (
              <option key={nm} value={String(p)}>
                {nm}
              </option>
            ))}
          </select>
        </label>
        {kind || study || from || to ? (
          <button type="button" onClick={reset}>
            Clear filters
          </button>
        ) : null}
      </form>
      {entries ? (
        <p class="small" aria-live="polite">
          {filtered.length === entries.length ? `${entries.length.toLocaleString('en-US')} entries` : `${filtered.length.toLocaleString('en-US')} of ${entries.length.toLocaleString('en-US')} entries match`}, as {names[source]} holds them
          {verdict ? (marks.size ? `; ${marks.size.toLocaleString('en-US')} marked by the verification` : '; the verification found nothing wrong with any entry') : ''}.
        </p>
      ) : null}
      {entries && entries.length === 0 ? <p>The log is empty: nothing has been registered or run yet.</p> : null}
      <ol class="timeline" aria-labelledby="timeline-h">
        {filtered.slice(0, shown).map((e) => {
          const m = marks.get(e.seq);
          const isOpen = open === e.seq;
          return (
            <li key={e.seq} class={`entry${m ? ' marked' : ''}`} data-seq={e.seq} data-kind={e.kind}>
              <button
                type="button"
                class="entry-line"
                aria-expanded={isOpen}
                aria-controls={`entry-${e.seq}-detail`}
                ref={(b) => {
                  if (b) buttons.current.set(e.seq, b);
                  else buttons.current.delete(e.seq);
                }}
                onClick={() => setOpen(isOpen ? null : e.seq)}
              >
                <span class="when">
                  <span class="seq">#{e.seq}</span> {when(e.time)}
                </span>
                <span class={`kind kind-${e.kind}`}>{KIND_LABEL[e.kind] ?? e.kind}</span>
                <span class="summary">{summary(e, ix)}</span>
                {m ? <span class="flag">⚠ {m.join('; ')}</span> : null}
              </button>
              {isOpen ? (
                <EntryDetail
                  entry={e}
                  ix={ix}
                  names={names}
                  source={source}
                  verdict={verdict}
                  anchor={anchor}
                  prove={selected?.seq === e.seq && !!selected.prove}
                  proveKey={selected?.seq === e.seq ? selected.n : 0}
                  onShow={onShow}
                />
              ) : null}
            </li>
          );
        })}
      </ol>
      {filtered.length > shown ? (
        <button type="button" onClick={() => setShown(shown + PAGE)}>
          Show {Math.min(PAGE, filtered.length - shown)} more ({(filtered.length - shown).toLocaleString('en-US')} left)
        </button>
      ) : null}
    </div>
  );
}
